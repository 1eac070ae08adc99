//! The memory of checkpointed tasks: the bytes at any virtual address, searches, command lines.
//!
//! [`Memory::open`] takes a [`Checkpoint`] and follows its `parent` links (the previous dumps an
//! incremental dump refers to with `PE_PARENT`); [`Memory::task`] indexes one task:
//! its VMAs (`mm-<pid>.img`), its pagemap (`pagemap-<pid>.img`, see [`pagemap`]) and the
//! shared-memory pagemaps its shared VMAs use (`pagemap-shmem-<shmid>.img`). A lookup is a binary
//! search over VMAs and then over pagemap runs; bytes are slices of the mapped pages files.
//!
//! What a page that is not in the pagemap holds depends on its VMA ([`Backing`]):
//! - private anonymous memory: zeros (CRIU omits untouched and zero pages);
//! - shared memory (`MAP_SHARED|MAP_ANONYMOUS`, SysV, memfd): its shared-memory pagemap, at
//!   offset `pgoff + (addr - start)`, and zeros where that has no entry;
//! - a file mapping: the file's content, which is not in the checkpoint
//!   ([`Unreadable::FromFile`] names the file and the offset);
//! - `[vvar]`, `[vsyscall]`: provided by the kernel ([`Unreadable::Kernel`]).
//!
//! Pagemap entries that are `PE_LAZY` without `PE_PRESENT`, and `PE_PARENT` entries whose parent
//! is missing or lacks the page, are reported as [`Unreadable`] with the pagemap and entry.
//!
//! [`search`] finds literal byte strings or regular expressions in everything the checkpoint
//! stores of a task. [`cmdline`] and [`environ`] read `argv` and the environment from the stack.

mod error;
pub mod pagemap;
pub mod search;
mod vma;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use criu_image_proto::view;

pub use error::{MemError, Unreadable, VmaSummary};
pub use pagemap::{PE_LAZY, PE_PARENT, PE_PRESENT, PageIndex, Run, Stored};
pub use vma::{Backing, Vma};

use crate::checkpoint::Checkpoint;
use error::{decode_error, image_error};
use pagemap::IdxPiece;

pub use crate::pagemap::PAGE_SIZE;

/// How many `parent` links are followed at most (CRIU itself has no limit; a longer chain is
/// almost certainly a loop the path check did not catch).
const MAX_PARENTS: usize = 64;

/// A checkpoint and the chain of its parents, opened once.
pub struct Memory<'c> {
    top: &'c Checkpoint,
    parents: Vec<Checkpoint>,
    paths: Vec<PathBuf>,
    /// Why the chain stops after its last element, when a `parent` link exists but cannot be
    /// followed.
    end: Option<String>,
}

impl std::fmt::Debug for Memory<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory").field("paths", &self.paths).field("end", &self.end).finish()
    }
}

impl<'c> Memory<'c> {
    /// Opens the checkpoint's parent chain: each directory's `parent` symlink, as CRIU's
    /// `--prev-images-dir` leaves it. A broken link is remembered and reported only when a page
    /// needs it. Archives have no parents.
    pub fn open(ckpt: &'c Checkpoint) -> Memory<'c> {
        let mut m = Memory { top: ckpt, parents: Vec::new(), paths: vec![ckpt.path.clone()], end: None };
        let mut seen = vec![std::fs::canonicalize(&ckpt.path).unwrap_or_else(|_| ckpt.path.clone())];
        let mut dir = ckpt.path.clone();
        while dir.is_dir() {
            let link = dir.join("parent");
            if std::fs::symlink_metadata(&link).is_err() {
                break;
            }
            let target = match std::fs::canonicalize(&link) {
                Ok(t) => t,
                Err(e) => {
                    m.end = Some(format!("{}: {e}", link.display()));
                    break;
                }
            };
            if seen.contains(&target) {
                m.end = Some(format!("{} leads back to {}: the parent chain is a loop", link.display(), target.display()));
                break;
            }
            if m.parents.len() == MAX_PARENTS {
                m.end = Some(format!("{}: more than {MAX_PARENTS} parent checkpoints", link.display()));
                break;
            }
            match Checkpoint::open(&target) {
                Ok(p) => {
                    m.parents.push(p);
                    m.paths.push(target.clone());
                    seen.push(target.clone());
                    dir = target;
                }
                Err(e) => {
                    m.end = Some(format!("{}: {e}", link.display()));
                    break;
                }
            }
        }
        m
    }

    /// The checkpoint at `depth` (0: the opened one, 1: its parent, ...).
    pub fn layer(&self, depth: usize) -> Option<&Checkpoint> {
        match depth {
            0 => Some(self.top),
            d => self.parents.get(d - 1),
        }
    }

    /// How many checkpoints the chain has (1 without parents).
    pub fn depth(&self) -> usize {
        1 + self.parents.len()
    }

    pub(crate) fn get(&self, depth: usize) -> Option<&Checkpoint> {
        self.layer(depth)
    }

    pub(crate) fn path(&self, depth: usize) -> &Path {
        self.paths.get(depth).map_or(Path::new("?"), PathBuf::as_path)
    }

    pub(crate) fn problem(&self, depth: usize) -> Option<&str> {
        if depth == self.depth() { self.end.as_deref() } else { None }
    }

    /// Tasks of `pstree.img`: `(pid, threads)` in image order.
    pub fn tasks(&self) -> Result<Vec<(u32, Vec<u32>)>, MemError> {
        let img = self.top.require_image("pstree.img")?;
        let mut out = Vec::new();
        for e in img.entries() {
            let e = e.map_err(|err| image_error("pstree.img", err))?;
            let p = view::PstreeEntry::parse(e.message).map_err(|err| decode_error("pstree.img", e.index, e.message_offset, err))?;
            out.push((p.pid(), p.threads().iter().collect()));
        }
        Ok(out)
    }

    /// The task whose PID (or one of whose thread IDs) is `pid`, indexed.
    pub fn task(&self, pid: u32) -> Result<Task<'_>, MemError> {
        let tasks = self.tasks()?;
        let Some(&(leader, _)) = tasks.iter().find(|(p, threads)| *p == pid || threads.contains(&pid)) else {
            return Err(MemError::NoTask { pid, pids: tasks.iter().map(|t| t.0).collect() });
        };
        Task::open(self, leader)
    }
}

/// The fields of `mm-<pid>.img` that locate things in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmInfo {
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub start_stack: u64,
    pub start_brk: u64,
    pub brk: u64,
}

/// What a walk over an address range reports for each part of it.
#[derive(Debug)]
pub enum Piece<'a> {
    /// Bytes stored in a pages file (of this checkpoint or a parent).
    Stored(Stored<'a>),
    /// Not dumped, and known to be zeros.
    Zero,
    /// Not readable from the checkpoint.
    Absent(Unreadable),
}

/// One task's memory: VMAs and pagemaps, indexed.
#[derive(Debug)]
pub struct Task<'m> {
    pub pid: u32,
    /// Sorted by address, as in the image.
    pub vmas: Vec<Vma>,
    pub mm: MmInfo,
    private: PageIndex<'m>,
    shmem: BTreeMap<u64, Option<PageIndex<'m>>>,
}

/// The callback of [`Task::walk`]: `(address, length, VMA, piece)`.
pub type Visit<'a, 'f> = dyn FnMut(u64, u64, Option<&'a Vma>, Piece<'a>) -> ControlFlow<()> + 'f;

impl<'m> Task<'m> {
    fn open(mem: &'m Memory<'m>, pid: u32) -> Result<Task<'m>, MemError> {
        let ckpt = mem.top;
        let mm_name = format!("mm-{pid}.img");
        let Some(img) = ckpt.image(&mm_name)? else { return Err(MemError::NoMemory { pid, file: mm_name }) };
        let mut entries = img.entries();
        let e = match entries.next() {
            Some(e) => e.map_err(|err| image_error(&mm_name, err))?,
            None => return Err(MemError::Corrupt { file: mm_name, entry: None, reason: "has no entry".into() }),
        };
        let mm = view::MmEntry::parse(e.message).map_err(|err| decode_error(&mm_name, e.index, e.message_offset, err))?;
        let files = vma::FileTable::read(ckpt)?;
        // Guard regions (CRIU 4.2's VMA_AREA_GUARD entries, appended after the mappings) are
        // ranges inside mappings, not mappings: they would overlap the VMAs they guard.
        let mut vmas: Vec<Vma> = mm.vmas().iter().map(|v| files.vma(&v)).filter(|v| v.start < v.end && v.status & crate::explore::vma_status::GUARD == 0).collect();
        if !vmas.is_sorted_by_key(|v| v.start) {
            vmas.sort_by_key(|v| v.start);
        }
        for w in vmas.windows(2) {
            if w[1].start < w[0].end {
                return Err(MemError::Corrupt {
                    file: mm_name,
                    entry: Some(0),
                    reason: format!("VMA {:x}-{:x} overlaps VMA {:x}-{:x}", w[1].start, w[1].end, w[0].start, w[0].end),
                });
            }
        }
        let info = MmInfo {
            arg_start: mm.mm_arg_start(),
            arg_end: mm.mm_arg_end(),
            env_start: mm.mm_env_start(),
            env_end: mm.mm_env_end(),
            start_stack: mm.mm_start_stack(),
            start_brk: mm.mm_start_brk(),
            brk: mm.mm_brk(),
        };
        let pagemap = format!("pagemap-{pid}.img");
        let Some(private) = PageIndex::open(mem, 0, &pagemap)? else {
            return Err(MemError::NoMemory { pid, file: pagemap });
        };
        let mut shmem = BTreeMap::new();
        for v in &vmas {
            if let Backing::Shmem { shmid, .. } = v.backing
                && let std::collections::btree_map::Entry::Vacant(e) = shmem.entry(shmid)
            {
                e.insert(PageIndex::open(mem, 0, &format!("pagemap-shmem-{shmid}.img"))?);
            }
        }
        Ok(Task { pid, vmas, mm: info, private, shmem })
    }

    /// The task's private pagemap, indexed.
    pub fn pagemap(&self) -> &PageIndex<'m> {
        &self.private
    }

    /// The shared-memory pagemap of `shmid`, if the checkpoint has it.
    pub fn shmem(&self, shmid: u64) -> Option<&PageIndex<'m>> {
        self.shmem.get(&shmid).and_then(Option::as_ref)
    }

    /// The VMA covering `addr`, by binary search.
    pub fn vma_at(&self, addr: u64) -> Option<&Vma> {
        let i = self.vmas.partition_point(|v| v.end <= addr);
        self.vmas.get(i).filter(|v| v.start <= addr)
    }

    /// Reports `[addr, addr + len)` in address order as [`Piece`]s, each with its VMA (`None`
    /// for unmapped gaps). Stops early when `f` breaks.
    pub fn walk<'a>(&'a self, addr: u64, len: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        let hi = addr.saturating_add(len);
        let mut pos = addr;
        let mut vi = self.vmas.partition_point(|v| v.end <= pos);
        while pos < hi {
            let Some(v) = self.vmas.get(vi).filter(|v| v.start < hi) else {
                return f(pos, hi - pos, None, Piece::Absent(Unreadable::Unmapped));
            };
            if v.start > pos {
                f(pos, v.start - pos, None, Piece::Absent(Unreadable::Unmapped))?;
                pos = v.start;
            }
            let end = v.end.min(hi);
            self.walk_vma(v, pos, end, f)?;
            pos = end;
            vi += 1;
        }
        ControlFlow::Continue(())
    }

    fn walk_vma<'a>(&'a self, v: &'a Vma, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        match v.backing {
            Backing::Shmem { shmid, private: false } => self.walk_shmem(v, shmid, lo, hi, f),
            _ => self.private.walk(lo, hi, &mut |pos, len, piece| match piece {
                IdxPiece::Data(s) => f(pos, len, Some(v), Piece::Stored(s)),
                IdxPiece::Absent(why) => f(pos, len, Some(v), Piece::Absent(why)),
                IdxPiece::Hole => match &v.backing {
                    Backing::Anon => f(pos, len, Some(v), Piece::Zero),
                    Backing::File { .. } => {
                        let offset = v.pgoff.saturating_add(pos - v.start);
                        f(pos, len, Some(v), Piece::Absent(Unreadable::FromFile { file: v.name_lossy(), offset }))
                    }
                    Backing::Kernel(what) => f(pos, len, Some(v), Piece::Absent(Unreadable::Kernel(what))),
                    Backing::Shmem { shmid, .. } => self.walk_shmem(v, *shmid, pos, pos + len, f),
                },
            }),
        }
    }

    fn walk_shmem<'a>(&'a self, v: &'a Vma, shmid: u64, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        let Some(idx) = self.shmem(shmid) else {
            return f(lo, hi - lo, Some(v), Piece::Absent(Unreadable::NoShmemImage { shmid }));
        };
        // Shared memory is addressed by offset in the object: `pgoff + (addr - start)`.
        let (Some(slo), Some(shi)) = (v.pgoff.checked_add(lo - v.start), v.pgoff.checked_add(hi - v.start)) else {
            return f(lo, hi - lo, Some(v), Piece::Absent(Unreadable::NoShmemImage { shmid }));
        };
        idx.walk(slo, shi, &mut |pos, len, piece| {
            let addr = pos - v.pgoff + v.start;
            match piece {
                IdxPiece::Data(s) => f(addr, len, Some(v), Piece::Stored(s)),
                IdxPiece::Hole => f(addr, len, Some(v), Piece::Zero),
                IdxPiece::Absent(why) => f(addr, len, Some(v), Piece::Absent(why)),
            }
        })
    }

    fn error(&self, addr: u64, vma: Option<&Vma>, why: Unreadable) -> MemError {
        match (vma, why) {
            (Some(v), why) if why != Unreadable::Unmapped => {
                MemError::Unreadable { pid: self.pid, addr, vma: Box::new(v.summary()), why }
            }
            _ => {
                let i = self.vmas.partition_point(|v| v.end <= addr);
                let below = i.checked_sub(1).and_then(|j| self.vmas.get(j)).map(|v| (v.start, v.end));
                let above = self.vmas.get(i).map(|v| (v.start, v.end));
                MemError::Unmapped { pid: self.pid, addr, below, above }
            }
        }
    }

    /// Checks that all of `[addr, addr + len)` is readable, without touching page data.
    pub fn check(&self, addr: u64, len: u64) -> Result<(), MemError> {
        if addr.checked_add(len).is_none() {
            return Err(MemError::BadRange { pid: self.pid, addr, len });
        }
        let mut err = None;
        let _ = self.walk(addr, len, &mut |pos, _, v, piece| match piece {
            Piece::Absent(why) => {
                err = Some(self.error(pos, v, why));
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        });
        err.map_or(Ok(()), Err)
    }

    /// Streams the bytes of `[addr, addr + len)` to `f` in order (zeros in chunks of at most
    /// 64 KiB), after checking that the whole range is readable: either `f` sees every byte or
    /// it sees none and the error names the first unreadable address.
    pub fn read_with(&self, addr: u64, len: u64, f: &mut dyn FnMut(u64, &[u8]) -> ControlFlow<()>) -> Result<(), MemError> {
        self.check(addr, len)?;
        self.stream(addr, len, f);
        Ok(())
    }

    fn stream(&self, addr: u64, len: u64, f: &mut dyn FnMut(u64, &[u8]) -> ControlFlow<()>) {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let _ = self.walk(addr, len, &mut |pos, n, _, piece| match piece {
            Piece::Stored(s) => f(pos, s.bytes),
            Piece::Zero => {
                let mut done = 0u64;
                while done < n {
                    let k = (n - done).min(ZEROS.len() as u64);
                    f(pos + done, &ZEROS[..k as usize])?;
                    done += k;
                }
                ControlFlow::Continue(())
            }
            Piece::Absent(_) => ControlFlow::Break(()),
        });
    }

    /// The bytes of `[addr, addr + len)`, or an error naming the first unreadable address and
    /// why. Allocates `len` bytes once the range is known to be readable (use
    /// [`Task::read_with`] to stream large ranges instead).
    pub fn read(&self, addr: u64, len: u64) -> Result<Vec<u8>, MemError> {
        self.check(addr, len)?;
        let mut out = Vec::new();
        // Readable ranges can be huge (reserved address space reads as zeros): fail, not abort.
        usize::try_from(len)
            .ok()
            .and_then(|n| out.try_reserve_exact(n).ok())
            .ok_or(MemError::TooLarge { pid: self.pid, addr, len })?;
        self.stream(addr, len, &mut |_, b| {
            out.extend_from_slice(b);
            ControlFlow::Continue(())
        });
        Ok(out)
    }

    /// Reads into `buf` (its length is the length read).
    pub fn read_into(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let mut at = 0usize;
        self.read_with(addr, buf.len() as u64, &mut |_, b| {
            buf[at..at + b.len()].copy_from_slice(b);
            at += b.len();
            ControlFlow::Continue(())
        })
    }

    /// The readable bytes around `[addr, addr + len)`: up to `before` bytes that end at `addr`
    /// and up to `after` bytes from `addr + len`, each cut at the first unreadable byte.
    pub fn context(&self, addr: u64, len: u64, before: u64, after: u64) -> (Vec<u8>, Vec<u8>) {
        let lo = addr.saturating_sub(before);
        let mut pre = Vec::new();
        let _ = self.walk(lo, addr - lo, &mut |_, n, _, piece| {
            match piece {
                Piece::Stored(s) => pre.extend_from_slice(s.bytes),
                Piece::Zero => pre.resize(pre.len() + n as usize, 0),
                Piece::Absent(_) => pre.clear(),
            }
            ControlFlow::Continue(())
        });
        let mut post = Vec::new();
        let _ = self.walk(addr.saturating_add(len), after, &mut |_, n, _, piece| match piece {
            Piece::Stored(s) => {
                post.extend_from_slice(s.bytes);
                ControlFlow::Continue(())
            }
            Piece::Zero => {
                post.resize(post.len() + n as usize, 0);
                ControlFlow::Continue(())
            }
            Piece::Absent(_) => ControlFlow::Break(()),
        });
        (pre, post)
    }

    /// Bytes stored in the checkpoint for this task (what [`search`] scans).
    pub fn stored_len(&self) -> u64 {
        let mut n = 0;
        for v in &self.vmas {
            let _ = self.walk(v.start, v.end - v.start, &mut |_, len, _, piece| {
                if let Piece::Stored(_) = piece {
                    n += len;
                }
                ControlFlow::Continue(())
            });
        }
        n
    }

    /// `argv` (from `mm_arg_start..mm_arg_end`, in the stack VMA).
    pub fn cmdline(&self) -> Result<Vec<Vec<u8>>, MemError> {
        self.strings("command line", self.mm.arg_start, self.mm.arg_end)
    }

    /// The environment (from `mm_env_start..mm_env_end`).
    pub fn environ(&self) -> Result<Vec<Vec<u8>>, MemError> {
        self.strings("environment", self.mm.env_start, self.mm.env_end)
    }

    fn strings(&self, what: &'static str, start: u64, end: u64) -> Result<Vec<Vec<u8>>, MemError> {
        // The kernel caps argv + envp at a quarter of the stack limit; 64 MiB is far above any
        // real value and keeps a corrupted image from asking for gigabytes.
        if end < start || end - start > 64 << 20 {
            return Err(MemError::BadArgs { pid: self.pid, what, start, end });
        }
        let bytes = self.read(start, end - start)?;
        Ok(split_nul(&bytes))
    }
}

/// NUL-separated strings, as `/proc/PID/cmdline` splits them (a final NUL ends the last one).
pub fn split_nul(bytes: &[u8]) -> Vec<Vec<u8>> {
    let body = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if body.is_empty() && bytes.len() <= 1 {
        return Vec::new();
    }
    body.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

/// The command line of task `pid` (a PID or thread ID of `pstree.img`), read from its memory.
pub fn cmdline(ckpt: &Checkpoint, pid: u32) -> Result<Vec<Vec<u8>>, MemError> {
    Memory::open(ckpt).task(pid)?.cmdline()
}

/// The environment of task `pid`, read from its memory.
pub fn environ(ckpt: &Checkpoint, pid: u32) -> Result<Vec<Vec<u8>>, MemError> {
    Memory::open(ckpt).task(pid)?.environ()
}

/// Joins arguments for display the way a shell would accept them back: plain words as they are,
/// others in single quotes, bytes that are not printable UTF-8 as `$'\xNN'`.
pub fn quote_args(args: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let plain = !a.is_empty()
            && a.iter().all(|&b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
        if plain {
            out.push_str(std::str::from_utf8(a).unwrap_or_default());
            continue;
        }
        match std::str::from_utf8(a) {
            Ok(s) if !s.chars().any(char::is_control) => {
                out.push('\'');
                out.push_str(&s.replace('\'', r"'\''"));
                out.push('\'');
            }
            _ => {
                out.push_str("$'");
                for &b in a {
                    match b {
                        b'\'' | b'\\' => {
                            out.push('\\');
                            out.push(b as char);
                        }
                        0x20..=0x7e => out.push(b as char),
                        _ => out.push_str(&format!("\\x{b:02x}")),
                    }
                }
                out.push('\'');
            }
        }
    }
    out
}
