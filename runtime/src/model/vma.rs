//! A task's memory map (`mm-<pid>.img`): VMAs with what they map resolved against the file table.

use std::sync::Arc;

use criu_image_proto::view;

use criu_image_proto::flags::{MapFlags, Prot, VmaStatus};

use super::files::{FileKind, FileTable};
use crate::pagemap::PAGE_SIZE;

/// One VMA, as CRIU recorded it, with the object it maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Offset of `start` in the mapped file or shared-memory object, in bytes.
    pub pgoff: u64,
    /// The image's `shmid`: the file id of a file mapping, the shared-memory id otherwise.
    pub shmid: u64,
    /// `PROT_*` bits.
    pub prot: Prot,
    /// `MAP_*` bits.
    pub flags: MapFlags,
    /// CRIU's `VMA_*` status bits (what kind of area it is).
    pub status: VmaStatus,
    /// `madvise` bits.
    pub madv: Option<u64>,
    /// The mapped object, resolved.
    pub mapping: Mapping,
}

/// What a VMA maps.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mapping {
    /// Private anonymous memory.
    Anonymous,
    /// The heap (`[heap]`).
    Heap,
    /// A stack (`VMA_AREA_STACK`, or `MAP_GROWSDOWN`, for which CRIU sets no status bit).
    Stack,
    /// The vDSO.
    Vdso,
    /// The vDSO's data page (`[vvar]`), provided by the kernel.
    Vvar,
    /// `[vsyscall]`, provided by the kernel.
    Vsyscall,
    /// `[uprobes]`, provided by the kernel.
    Uprobes,
    /// An AIO ring.
    AioRing,
    /// A file.
    File {
        /// The file's id in `files.img`.
        file_id: u32,
        /// Its path; `None` when `files.img` has no regular file with that id (the model reports
        /// it as a problem).
        path: Option<Arc<[u8]>>,
        /// Whether the mapping is shared (`VMA_FILE_SHARED`).
        shared: bool,
    },
    /// A memfd.
    Memfd {
        /// The memfd file's id in `files.img`.
        file_id: u32,
        /// Its name (without `memfd:`), when resolved.
        name: Option<Arc<[u8]>>,
        /// The shared-memory id of its contents, when resolved.
        shmid: Option<u64>,
        /// Whether the mapping is shared.
        shared: bool,
    },
    /// `MAP_SHARED|MAP_ANONYMOUS` memory (contents in `pagemap-shmem-<shmid>.img`).
    SharedAnonymous {
        /// The shared-memory id.
        shmid: u64,
    },
    /// A SysV shared memory segment (contents in `pagemap-shmem-<shmid>.img`).
    SysvShm {
        /// The segment's id.
        shmid: u64,
    },
    /// A packet socket's ring buffer.
    PacketRing {
        /// The socket's file id.
        file_id: u64,
    },
}

/// What supplies the pages of a VMA that its task's own pagemap does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Private anonymous memory (also stack, heap, vDSO, AIO rings): CRIU omits pages never
    /// touched (or the zero page), so a page not in the pagemap reads as zeros.
    Anon,
    /// A file: pages not in the pagemap are the file's (CRIU dumps only a private mapping's
    /// copied-on-write pages, nothing of a shared one).
    File {
        /// Whether the mapping is shared.
        shared: bool,
    },
    /// Shared memory whose contents are in `pagemap-shmem-<shmid>.img` at offset
    /// `pgoff + (addr - start)`: shared anonymous, SysV and memfd mappings (for a private memfd
    /// mapping, copied-on-write pages are in the task's pagemap first).
    Shmem {
        /// The shared-memory id.
        shmid: u64,
        /// Whether the mapping is private (copy-on-write over the shared contents).
        private: bool,
    },
    /// Provided by the kernel at restore, never dumped (unless the pagemap holds it).
    Kernel(&'static str),
}

impl Vma {
    /// Bytes mapped.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether it maps nothing.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Pages mapped.
    pub fn pages(&self) -> u64 {
        self.len() / PAGE_SIZE
    }

    /// Whether `addr` is inside.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Whether CRIU restores it as a regular VMA (`VMA_AREA_REGULAR`).
    pub fn is_regular(&self) -> bool {
        self.status.contains(VmaStatus::REGULAR)
    }

    /// Whether this is not a mapping but a guard region inside one (CRIU 4.2's
    /// `VMA_AREA_GUARD`: a `MADV_GUARD_INSTALL` range, appended after the mappings).
    pub fn is_guard(&self) -> bool {
        self.status.contains(VmaStatus::GUARD)
    }

    /// Whether the mapping is `MAP_SHARED`.
    pub fn is_shared(&self) -> bool {
        self.flags.contains(MapFlags::SHARED)
    }

    /// `rwxp` / `rw-s`, as `/proc/PID/maps` prints them.
    pub fn perms(&self) -> [u8; 4] {
        let b = |bit, c| if self.prot.contains(bit) { c } else { b'-' };
        [b(Prot::READ, b'r'), b(Prot::WRITE, b'w'), b(Prot::EXEC, b'x'), if self.is_shared() { b's' } else { b'p' }]
    }

    /// What supplies the pages its task's pagemap does not hold.
    pub fn backing(&self) -> Backing {
        match &self.mapping {
            Mapping::Anonymous | Mapping::Heap | Mapping::Stack | Mapping::Vdso | Mapping::AioRing => Backing::Anon,
            Mapping::Vvar => Backing::Kernel("[vvar]"),
            Mapping::Vsyscall => Backing::Kernel("[vsyscall]"),
            Mapping::Uprobes => Backing::Kernel("[uprobes]"),
            Mapping::PacketRing { .. } => Backing::Kernel("a packet socket's ring buffer"),
            Mapping::File { shared, .. } => Backing::File { shared: *shared },
            Mapping::Memfd { shmid: Some(shmid), shared, .. } => Backing::Shmem { shmid: *shmid, private: !shared },
            Mapping::Memfd { shmid: None, shared, .. } => Backing::File { shared: *shared },
            Mapping::SharedAnonymous { shmid } | Mapping::SysvShm { shmid } => Backing::Shmem { shmid: *shmid, private: false },
        }
    }

    /// A name for people, as `/proc/PID/maps` would show it: the path, `memfd:NAME`, `[stack]`,
    /// `[heap]`, `[vdso]`, ...; `SYSV shm id N`, `shared anon N` for shared memory; empty for
    /// private anonymous memory.
    pub fn name(&self) -> Vec<u8> {
        match &self.mapping {
            Mapping::Anonymous => Vec::new(),
            Mapping::Heap => b"[heap]".to_vec(),
            Mapping::Stack => b"[stack]".to_vec(),
            Mapping::Vdso => b"[vdso]".to_vec(),
            Mapping::Vvar => b"[vvar]".to_vec(),
            Mapping::Vsyscall => b"[vsyscall]".to_vec(),
            Mapping::Uprobes => b"[uprobes]".to_vec(),
            Mapping::AioRing => b"[aio]".to_vec(),
            Mapping::File { path: Some(p), .. } => p.to_vec(),
            Mapping::File { file_id, path: None, .. } => format!("file id {file_id}").into_bytes(),
            Mapping::Memfd { name: Some(n), .. } => [&b"memfd:"[..], n].concat(),
            Mapping::Memfd { file_id, name: None, .. } => format!("memfd (file id {file_id})").into_bytes(),
            Mapping::SharedAnonymous { shmid } => format!("shared anon {shmid}").into_bytes(),
            Mapping::SysvShm { shmid } => format!("SYSV shm id {shmid}").into_bytes(),
            Mapping::PacketRing { .. } => b"[packet ring]".to_vec(),
        }
    }

    /// [`Vma::name`], lossily as UTF-8.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name()).into_owned()
    }

    /// Builds a VMA from its image entry, resolving the mapped object against the file table.
    pub(crate) fn from_view(v: &view::VmaEntry<'_>, files: &FileTable) -> Vma {
        let (st, flags) = (VmaStatus(v.status()), MapFlags(v.flags()));
        let shmid = v.shmid();
        let file_id = u32::try_from(shmid).ok();
        let mapping = if st.contains(VmaStatus::VVAR) {
            Mapping::Vvar
        } else if st.contains(VmaStatus::VSYSCALL) {
            Mapping::Vsyscall
        } else if st.contains(VmaStatus::UPROBES) {
            Mapping::Uprobes
        } else if st.contains(VmaStatus::SOCKET) {
            Mapping::PacketRing { file_id: shmid }
        } else if st.contains(VmaStatus::MEMFD) {
            let memfd = match file_id.and_then(|id| files.get(id)).map(|f| &f.kind) {
                Some(FileKind::Memfd(m)) => Some(m),
                _ => None,
            };
            Mapping::Memfd {
                file_id: file_id.unwrap_or(u32::MAX),
                name: memfd.and_then(|m| m.name.clone()),
                shmid: memfd.and_then(|m| m.shmid).map(u64::from),
                shared: flags.contains(MapFlags::SHARED),
            }
        } else if st.contains(VmaStatus::SYSVIPC) {
            Mapping::SysvShm { shmid }
        } else if st.contains(VmaStatus::ANON_SHARED) {
            Mapping::SharedAnonymous { shmid }
        } else if st.intersects(VmaStatus::FILE_PRIVATE | VmaStatus::FILE_SHARED) {
            Mapping::File {
                file_id: file_id.unwrap_or(u32::MAX),
                path: file_id.and_then(|id| files.regular(id)).map(|r| r.path.clone()),
                shared: st.contains(VmaStatus::FILE_SHARED),
            }
        } else if st.contains(VmaStatus::HEAP) {
            Mapping::Heap
        } else if st.contains(VmaStatus::VDSO) {
            Mapping::Vdso
        } else if st.contains(VmaStatus::AIORING) {
            Mapping::AioRing
        } else if st.contains(VmaStatus::STACK) || flags.contains(MapFlags::GROWSDOWN) {
            Mapping::Stack
        } else {
            Mapping::Anonymous
        };
        Vma { start: v.start(), end: v.end(), pgoff: v.pgoff(), shmid, prot: Prot(v.prot()), flags, status: st, madv: v.madv(), mapping }
    }
}

/// The fields of `mm-<pid>.img` that locate things in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmInfo {
    /// Start of the code segment.
    pub start_code: u64,
    /// End of the code segment.
    pub end_code: u64,
    /// Start of the data segment.
    pub start_data: u64,
    /// End of the data segment.
    pub end_data: u64,
    /// Start of the command line (`argv` strings).
    pub arg_start: u64,
    /// End of the command line.
    pub arg_end: u64,
    /// Start of the environment strings.
    pub env_start: u64,
    /// End of the environment strings.
    pub env_end: u64,
    /// The stack's start.
    pub start_stack: u64,
    /// Start of the heap.
    pub start_brk: u64,
    /// Current end of the heap.
    pub brk: u64,
    /// The executable's file id.
    pub exe_file_id: u32,
    /// `PR_SET_DUMPABLE`.
    pub dumpable: Option<i32>,
}

/// A task's address space: its VMAs in image order and where things are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSpace {
    /// The mm image's fields.
    pub info: MmInfo,
    /// The executable's path, when `files.img` has it.
    pub exe: Option<Arc<[u8]>>,
    /// VMAs in image order (CRIU writes them in address order, then appends areas it collects
    /// separately, such as guard regions after `[vsyscall]`).
    pub vmas: Vec<Vma>,
    /// Indices into `vmas` by start address, for lookups; `None` when image order is already
    /// sorted.
    by_addr: Option<Vec<u32>>,
}

impl AddressSpace {
    pub(crate) fn new(info: MmInfo, exe: Option<Arc<[u8]>>, vmas: Vec<Vma>) -> AddressSpace {
        let by_addr = if vmas.is_sorted_by_key(|v| v.start) {
            None
        } else {
            let mut idx: Vec<u32> = (0..vmas.len() as u32).collect();
            idx.sort_by_key(|&i| vmas[i as usize].start);
            Some(idx)
        };
        AddressSpace { info, exe, vmas, by_addr }
    }

    /// The VMAs sorted by start address.
    pub fn sorted(&self) -> impl Iterator<Item = &Vma> + '_ {
        let n = self.vmas.len();
        (0..n).map(move |k| match &self.by_addr {
            Some(idx) => &self.vmas[idx[k] as usize],
            None => &self.vmas[k],
        })
    }

    /// The `k`-th VMA by address.
    pub(crate) fn nth_sorted(&self, k: usize) -> Option<&Vma> {
        match &self.by_addr {
            Some(idx) => idx.get(k).map(|&i| &self.vmas[i as usize]),
            None => self.vmas.get(k),
        }
    }

    /// How many VMAs end at or before `addr`, in address order (the VMAs must not overlap).
    pub(crate) fn partition(&self, addr: u64) -> usize {
        let n = self.vmas.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.nth_sorted(mid).is_some_and(|v| v.end <= addr) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The VMA covering `addr`, by binary search.
    pub fn vma_at(&self, addr: u64) -> Option<&Vma> {
        self.nth_sorted(self.partition(addr)).filter(|v| v.start <= addr)
    }

    /// The first two VMAs that overlap, in address order.
    pub fn overlap(&self) -> Option<(&Vma, &Vma)> {
        let mut it = self.sorted();
        let mut prev = it.next()?;
        for v in it {
            if v.start < prev.end {
                return Some((prev, v));
            }
            prev = v;
        }
        None
    }
}
