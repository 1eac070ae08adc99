//! VMAs of `mm-<pid>.img` with what backs them: where a page that is not in the private pagemap
//! comes from.

use std::collections::BTreeMap;

use criu_image_proto::schema::enums::FdTypes;
use criu_image_proto::view;

use super::error::{MemError, decode_error, image_error};
use crate::checkpoint::Checkpoint;

pub const PROT_READ: u32 = 0x1;
pub const PROT_WRITE: u32 = 0x2;
pub const PROT_EXEC: u32 = 0x4;
pub const MAP_SHARED: u32 = 0x1;

pub const VMA_AREA_VSYSCALL: u32 = 0x4;
pub const VMA_FILE_PRIVATE: u32 = 0x40;
pub const VMA_FILE_SHARED: u32 = 0x80;
pub const VMA_ANON_SHARED: u32 = 0x100;
pub const VMA_AREA_SYSVIPC: u32 = 0x400;
pub const VMA_AREA_SOCKET: u32 = 0x800;
pub const VMA_AREA_VVAR: u32 = 0x1000;
pub const VMA_AREA_MEMFD: u32 = 0x4000;
pub const VMA_AREA_UPROBES: u32 = 0x20000;
pub const VMA_AREA_STACK: u32 = 0x2;
pub const VMA_AREA_VDSO: u32 = 0x8;
pub const VMA_AREA_HEAP: u32 = 0x20;
pub const VMA_AREA_AIORING: u32 = 0x2000;

/// What supplies the pages of a VMA that its task's pagemap does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Private anonymous memory (also stack, heap, vDSO, AIO rings): CRIU omits pages that were
    /// never touched (or are the zero page), so a page not in the pagemap reads as zeros.
    Anon,
    /// A file mapping: pages not in the pagemap are the file's (CRIU dumps only a private
    /// mapping's copied-on-write pages, and nothing of a shared one).
    File { shared: bool },
    /// Shared memory whose contents are in `pagemap-shmem-<shmid>.img`, at offset
    /// `pgoff + (addr - start)`: `MAP_SHARED|MAP_ANONYMOUS`, SysV shm, and memfd mappings (for a
    /// private memfd mapping, copied-on-write pages are in the task's pagemap first). Offsets
    /// with no entry read as zeros.
    Shmem { shmid: u64, private: bool },
    /// Provided by the kernel at restore, never dumped (unless the pagemap holds it).
    Kernel(&'static str),
}

/// A VMA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    /// Exclusive.
    pub end: u64,
    /// File (or shared memory) offset of `start`, in bytes.
    pub pgoff: u64,
    pub prot: u32,
    pub flags: u32,
    pub status: u32,
    /// The image's `shmid`: a file id for file mappings, a shared memory id otherwise.
    pub shmid: u64,
    /// The file's path (or `memfd:NAME`, `[stack]`, `[heap]`, `[vdso]`, ... ), empty for
    /// anonymous memory. Bytes, as Linux paths need not be UTF-8.
    pub name: Vec<u8>,
    pub backing: Backing,
}

impl Vma {
    /// `rwxp` / `rw-s`, as `/proc/PID/maps` prints them.
    pub fn perms(&self) -> String {
        let b = |bit, c| if self.prot & bit != 0 { c } else { '-' };
        let s = if self.flags & MAP_SHARED != 0 { 's' } else { 'p' };
        [b(PROT_READ, 'r'), b(PROT_WRITE, 'w'), b(PROT_EXEC, 'x'), s].iter().collect()
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// For messages: `start-end perms name`.
    pub fn summary(&self) -> super::VmaSummary {
        super::VmaSummary { start: self.start, end: self.end, perms: self.perms(), name: self.name_lossy() }
    }
}

/// Files of the checkpoint that VMAs name: regular files by id, memfds by id (to their inode's
/// shared memory id and name).
#[derive(Default)]
pub(crate) struct FileTable {
    reg: BTreeMap<u32, Vec<u8>>,
    /// memfd file id → inode id.
    memfd_file: BTreeMap<u32, u64>,
    /// memfd inode id → (shmid, name).
    memfd_inode: BTreeMap<u64, (u64, Vec<u8>)>,
}

impl FileTable {
    /// Reads `files.img` (or the legacy `reg-files.img`) and `memfd.img`.
    pub(crate) fn read(ckpt: &Checkpoint) -> Result<FileTable, MemError> {
        let mut t = FileTable::default();
        if let Some(img) = ckpt.image("files.img")? {
            for e in img.entries() {
                let e = e.map_err(|err| image_error("files.img", err))?;
                let f = view::FileEntry::parse(e.message).map_err(|err| decode_error("files.img", e.index, e.message_offset, err))?;
                if let Some(r) = f.reg().filter(|_| f.type_() == FdTypes::REG) {
                    t.reg.insert(f.id(), r.name().to_vec());
                } else if let Some(m) = f.memfd().filter(|_| f.type_() == FdTypes::MEMFD) {
                    t.memfd_file.insert(f.id(), u64::from(m.inode_id()));
                }
            }
        } else if let Some(img) = ckpt.image("reg-files.img")? {
            for e in img.entries() {
                let e = e.map_err(|err| image_error("reg-files.img", err))?;
                let r = view::RegFileEntry::parse(e.message)
                    .map_err(|err| decode_error("reg-files.img", e.index, e.message_offset, err))?;
                t.reg.insert(r.id(), r.name().to_vec());
            }
        }
        if let Some(img) = ckpt.image("memfd.img")? {
            for e in img.entries() {
                let e = e.map_err(|err| image_error("memfd.img", err))?;
                let m = view::MemfdInodeEntry::parse(e.message)
                    .map_err(|err| decode_error("memfd.img", e.index, e.message_offset, err))?;
                t.memfd_inode.insert(m.inode_id(), (u64::from(m.shmid()), m.name().to_vec()));
            }
        }
        Ok(t)
    }

    /// Builds a VMA from its image entry.
    pub(crate) fn vma(&self, v: &view::VmaEntry<'_>) -> Vma {
        let (start, end, status, flags) = (v.start(), v.end(), v.status(), v.flags());
        let shared = flags & MAP_SHARED != 0;
        let file_name = |id: u64| u32::try_from(id).ok().and_then(|id| self.reg.get(&id)).cloned();
        let (name, backing) = if status & VMA_AREA_VVAR != 0 {
            (b"[vvar]".to_vec(), Backing::Kernel("[vvar]"))
        } else if status & VMA_AREA_VSYSCALL != 0 {
            (b"[vsyscall]".to_vec(), Backing::Kernel("[vsyscall]"))
        } else if status & VMA_AREA_UPROBES != 0 {
            (b"[uprobes]".to_vec(), Backing::Kernel("[uprobes]"))
        } else if status & VMA_AREA_SOCKET != 0 {
            (b"[packet ring]".to_vec(), Backing::Kernel("a packet socket's ring buffer"))
        } else if status & VMA_AREA_MEMFD != 0 {
            let memfd = u32::try_from(v.shmid())
                .ok()
                .and_then(|id| self.memfd_file.get(&id))
                .and_then(|inode| self.memfd_inode.get(inode));
            match memfd {
                Some((shmid, n)) => {
                    let mut name = b"memfd:".to_vec();
                    name.extend_from_slice(n);
                    (name, Backing::Shmem { shmid: *shmid, private: !shared })
                }
                // Not resolvable: say what we know, the file's name if it has one.
                None => (file_name(v.shmid()).unwrap_or_else(|| format!("memfd (file id {})", v.shmid()).into_bytes()), Backing::File { shared }),
            }
        } else if status & VMA_ANON_SHARED != 0 {
            let name = if status & VMA_AREA_SYSVIPC != 0 {
                format!("SYSV shm id {}", v.shmid())
            } else {
                format!("shared anon {}", v.shmid())
            };
            (name.into_bytes(), Backing::Shmem { shmid: v.shmid(), private: false })
        } else if status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED) != 0 {
            let name = file_name(v.shmid()).unwrap_or_else(|| format!("file id {}", v.shmid()).into_bytes());
            (name, Backing::File { shared: status & VMA_FILE_SHARED != 0 })
        } else {
            let name: &[u8] = if status & VMA_AREA_HEAP != 0 {
                b"[heap]"
            } else if status & VMA_AREA_VDSO != 0 {
                b"[vdso]"
            } else if status & VMA_AREA_AIORING != 0 {
                b"[aio]"
            } else if status & VMA_AREA_STACK != 0 || flags & 0x100 != 0 {
                // VMA_AREA_STACK, or MAP_GROWSDOWN (CRIU does not set the status bit for it).
                b"[stack]"
            } else {
                b""
            };
            (name.to_vec(), Backing::Anon)
        };
        Vma { start, end, pgoff: v.pgoff(), prot: v.prot(), flags, status, shmid: v.shmid(), name, backing }
    }
}
