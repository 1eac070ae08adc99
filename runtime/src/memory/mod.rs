//! The memory of checkpointed tasks: the bytes at any virtual address, searches, command lines.
//!
//! [`Memory::open`] takes a [`Checkpoint`]; [`Memory::task`] gives one task's memory over the
//! checkpoint [model](crate::model): its VMAs (`mm-<pid>.img`), its pagemap index
//! (`pagemap-<pid>.img`, with the parent chain of an incremental dump), and the shared-memory
//! pagemaps its shared VMAs use (`pagemap-shmem-<shmid>.img`). A lookup is a binary search over
//! VMAs and then over pagemap runs; bytes are slices of the mapped pages files.
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
//! A directory that holds only `pagemap-<pid>.img` and its pages (what `crit mem-dump` and a page
//! server write) is readable too: without an mm image, the pagemap's runs are the task's only
//! known memory, and every other address is unmapped.
//!
//! `search` (with the `search` feature) finds literal byte strings or regular expressions in
//! everything the checkpoint stores of a task. [`Task::cmdline`] and [`Task::environ`] read `argv` and the environment
//! from the stack.

mod error;
pub mod render;
#[cfg(feature = "search")]
pub mod search;

use std::ops::ControlFlow;

pub use error::{MemError, Unreadable, VmaSummary};
pub use crate::model::{Backing, PageIndex, Run, Stored, Vma};
pub use crate::pagemap::{PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT};

use criu_image_proto::schema::kinds::files as names;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::model::pagemap::{IdxPiece, Visit as IdxVisit};
use crate::model::{MmInfo, PagemapDefect};

/// The memory of a checkpoint's tasks.
#[derive(Clone, Copy, Debug)]
pub struct Memory<'c> {
    ckpt: &'c Checkpoint,
}

impl<'c> Memory<'c> {
    /// The memory of `ckpt`'s tasks. The parent chain (each directory's `parent` symlink, as
    /// CRIU's `--prev-images-dir` leaves it) is followed when a page needs it; a broken link is
    /// reported only then.
    pub fn open(ckpt: &'c Checkpoint) -> Memory<'c> {
        Memory { ckpt }
    }

    /// The checkpoint at `depth` (0: the opened one, 1: its parent, ...).
    pub fn layer(&self, depth: usize) -> Option<&'c Checkpoint> {
        self.ckpt.layer(depth)
    }

    /// How many checkpoints the chain has (1 without parents).
    pub fn depth(&self) -> usize {
        1 + self.ckpt.parents().levels().len()
    }

    /// The tasks: `(pid, threads)` of `pstree.img` in image order; for a directory with no
    /// `pstree.img` (a memory dump alone), the pids of its `pagemap-<pid>.img` images.
    pub fn tasks(&self) -> Result<Vec<(u32, Vec<u32>)>, MemError> {
        if !self.ckpt.contains(names::PSTREE.pattern()) {
            let mut pids = pagemap_pids(self.ckpt);
            if !pids.is_empty() {
                pids.sort_unstable();
                return Ok(pids.into_iter().map(|p| (p, vec![p])).collect());
            }
        }
        Ok(self.ckpt.processes()?.iter().map(|p| (p.pid(), p.thread_ids().to_vec())).collect())
    }

    /// The task whose PID (or one of whose thread IDs) is `pid`, indexed.
    pub fn task(&self, pid: u32) -> Result<Task<'c>, MemError> {
        if !self.ckpt.contains(names::PSTREE.pattern()) && self.ckpt.contains(&names::PAGEMAP.name(pid.into())) {
            return Task::pagemap_only(self.ckpt, pid);
        }
        let procs = self.ckpt.processes()?;
        let Some(p) = procs.get(pid).or_else(|| procs.of_thread(pid)) else {
            return Err(MemError::NoTask { pid, pids: procs.iter().map(|p| p.pid()).collect() });
        };
        let pid = p.pid();
        let mm_name = names::MM.name(pid.into());
        let Some(space) = p.mm()? else { return Err(MemError::NoMemory { pid, file: mm_name }) };
        // By address (CRIU appends some areas out of order), without empty or inverted ones.
        // Guard regions (CRIU 4.2's VMA_AREA_GUARD entries) are ranges inside mappings, not
        // mappings: they hold no memory of their own.
        let mut vmas: Vec<&'c Vma> = space.sorted().filter(|v| !v.is_empty() && !v.is_guard()).collect();
        vmas.dedup_by(|b, a| std::ptr::eq(*a, *b));
        for w in vmas.windows(2) {
            if w[1].start < w[0].end {
                return Err(MemError::Corrupt {
                    file: mm_name,
                    entry: Some(0),
                    reason: format!("VMA {:x}-{:x} overlaps VMA {:x}-{:x}", w[1].start, w[1].end, w[0].start, w[0].end),
                });
            }
        }
        let Some(private) = p.pagemap()? else {
            return Err(MemError::NoMemory { pid, file: names::PAGEMAP.name(pid.into()) });
        };
        usable(private)?;
        Ok(Task { pid, ckpt: self.ckpt, info: Some(&space.info), vmas, private })
    }
}

/// The pids of a checkpoint's `pagemap-<pid>.img` images.
fn pagemap_pids(ckpt: &Checkpoint) -> Vec<u32> {
    ckpt.names().filter_map(|n| u32::try_from(names::PAGEMAP.id(n)?).ok()).collect()
}

/// A pagemap whose runs cannot be trusted to say where pages are is refused, not guessed at.
fn usable(idx: &PageIndex) -> Result<(), MemError> {
    let mut at = Some(idx);
    while let Some(i) = at {
        if let Some(d) = i.defect() {
            return Err(defect_error(i, d));
        }
        at = i.parent();
    }
    Ok(())
}

fn defect_error(idx: &PageIndex, d: &PagemapDefect) -> MemError {
    MemError::Corrupt { file: idx.pagemap.clone(), entry: Some(d.entry()), reason: d.to_string() }
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

/// The callback of [`Task::walk`]: `(address, length, VMA, piece)`.
pub type Visit<'a, 'f> = dyn FnMut(u64, u64, Option<&'a Vma>, Piece<'a>) -> ControlFlow<()> + 'f;

/// One task's memory: its VMAs and pagemaps, indexed.
#[derive(Clone, Debug)]
pub struct Task<'c> {
    /// Its pid.
    pub pid: u32,
    ckpt: &'c Checkpoint,
    /// The mm image's fields; `None` for a memory dump without an mm image, where the pagemap's
    /// runs are all that is known.
    info: Option<&'c MmInfo>,
    /// Its non-empty VMAs by address (empty without an mm image).
    vmas: Vec<&'c Vma>,
    private: &'c PageIndex,
}

static NO_MM: MmInfo = MmInfo {
    start_code: 0,
    end_code: 0,
    start_data: 0,
    end_data: 0,
    arg_start: 0,
    arg_end: 0,
    env_start: 0,
    env_end: 0,
    start_stack: 0,
    start_brk: 0,
    brk: 0,
    exe_file_id: 0,
    dumpable: None,
};

impl<'c> Task<'c> {
    fn pagemap_only(ckpt: &'c Checkpoint, pid: u32) -> Result<Task<'c>, MemError> {
        let name = names::PAGEMAP.name(pid.into());
        let private = ckpt.pagemap(&name)?.ok_or(MemError::NoMemory { pid, file: name })?;
        usable(private)?;
        Ok(Task { pid, ckpt, info: None, vmas: Vec::new(), private })
    }

    /// Its non-empty VMAs by address (none for a memory dump without an mm image).
    pub fn vmas(&self) -> impl Iterator<Item = &'c Vma> + '_ {
        self.vmas.iter().copied()
    }

    /// Whether the task's VMAs are known (it has an mm image).
    pub fn has_vmas(&self) -> bool {
        self.info.is_some()
    }

    /// The mm image's fields (all zero for a memory dump without one).
    pub fn mm(&self) -> &'c MmInfo {
        self.info.unwrap_or(&NO_MM)
    }

    /// The address ranges that may hold memory, by address: the VMAs, or without an mm image the
    /// pagemap's runs.
    pub fn regions(&self) -> Vec<(u64, u64)> {
        match self.info {
            Some(_) => self.vmas.iter().map(|v| (v.start, v.end)).collect(),
            None => self.private.runs().filter(|r| !r.is_empty()).map(|r| (r.start, r.end)).collect(),
        }
    }

    /// The task's private pagemap, indexed.
    pub fn pagemap(&self) -> &'c PageIndex {
        self.private
    }

    /// The shared-memory pagemap of `shmid`, if the checkpoint has it (and it is usable).
    pub fn shmem(&self, shmid: u64) -> Option<&'c PageIndex> {
        self.ckpt.shmem_pagemap(shmid).ok().flatten().filter(|i| i.defect().is_none())
    }

    /// The VMA covering `addr`, by binary search.
    pub fn vma_at(&self, addr: u64) -> Option<&'c Vma> {
        let i = self.vmas.partition_point(|v| v.end <= addr);
        self.vmas.get(i).copied().filter(|v| v.start <= addr)
    }

    /// Reports `[addr, addr + len)` in address order as [`Piece`]s, each with its VMA (`None`
    /// for unmapped gaps, and for everything in a memory dump without an mm image). Stops early
    /// when `f` breaks.
    pub fn walk<'t>(&'t self, addr: u64, len: u64, f: &mut Visit<'c, '_>) -> ControlFlow<()> {
        self.walk_in(addr, len, false, f)
    }

    /// Pages of index `idx` in `[lo, hi)`: with their bytes, or `located` (stored pieces with
    /// no bytes, checked against the pages file's size: for readers that fetch the bytes with
    /// [`Checkpoint::read_range`], so that no pages file is read whole).
    fn index_walk(&self, idx: &'c PageIndex, lo: u64, hi: u64, located: bool, f: &mut IdxVisit<'c, '_>) -> ControlFlow<()> {
        if located { idx.walk_located(self.ckpt, lo, hi, f) } else { idx.walk(self.ckpt, lo, hi, f) }
    }

    fn walk_in(&self, addr: u64, len: u64, located: bool, f: &mut Visit<'c, '_>) -> ControlFlow<()> {
        let hi = addr.saturating_add(len);
        if self.info.is_none() {
            return self.index_walk(self.private, addr, hi, located, &mut |pos, len, piece| match piece {
                IdxPiece::Data(s) => f(pos, len, None, Piece::Stored(s)),
                IdxPiece::Hole => f(pos, len, None, Piece::Absent(Unreadable::Unmapped)),
                IdxPiece::Absent(why) => f(pos, len, None, Piece::Absent(why)),
            });
        }
        let mut pos = addr;
        let mut vi = self.vmas.partition_point(|v| v.end <= pos);
        while pos < hi {
            let Some(v) = self.vmas.get(vi).copied().filter(|v| v.start < hi) else {
                return f(pos, hi - pos, None, Piece::Absent(Unreadable::Unmapped));
            };
            if v.start > pos {
                f(pos, v.start - pos, None, Piece::Absent(Unreadable::Unmapped))?;
                pos = v.start;
            }
            let end = v.end.min(hi);
            self.walk_vma(v, pos, end, located, f)?;
            pos = end;
            vi += 1;
        }
        ControlFlow::Continue(())
    }

    fn walk_vma(&self, v: &'c Vma, lo: u64, hi: u64, located: bool, f: &mut Visit<'c, '_>) -> ControlFlow<()> {
        let backing = v.backing();
        if let Backing::Shmem { shmid, private: false } = backing {
            return self.walk_shmem(v, shmid, lo, hi, located, f);
        }
        self.index_walk(self.private, lo, hi, located, &mut |pos, len, piece| match piece {
            IdxPiece::Data(s) => f(pos, len, Some(v), Piece::Stored(s)),
            IdxPiece::Absent(why) => f(pos, len, Some(v), Piece::Absent(why)),
            IdxPiece::Hole => match backing {
                Backing::Anon => f(pos, len, Some(v), Piece::Zero),
                Backing::File { .. } => {
                    let offset = v.pgoff.saturating_add(pos - v.start);
                    f(pos, len, Some(v), Piece::Absent(Unreadable::FromFile { file: v.name_lossy(), offset }))
                }
                Backing::Kernel(what) => f(pos, len, Some(v), Piece::Absent(Unreadable::Kernel(what))),
                Backing::Shmem { shmid, .. } => self.walk_shmem(v, shmid, pos, pos + len, located, f),
            },
        })
    }

    fn walk_shmem(&self, v: &'c Vma, shmid: u64, lo: u64, hi: u64, located: bool, f: &mut Visit<'c, '_>) -> ControlFlow<()> {
        let Some(idx) = self.shmem(shmid) else {
            return f(lo, hi - lo, Some(v), Piece::Absent(Unreadable::NoShmemImage { shmid }));
        };
        // Shared memory is addressed by offset in the object: `pgoff + (addr - start)`.
        let (Some(slo), Some(shi)) = (v.pgoff.checked_add(lo - v.start), v.pgoff.checked_add(hi - v.start)) else {
            return f(lo, hi - lo, Some(v), Piece::Absent(Unreadable::NoShmemImage { shmid }));
        };
        self.index_walk(idx, slo, shi, located, &mut |pos, len, piece| {
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
                MemError::Unreadable { pid: self.pid, addr, vma: Box::new(summary(v)), why }
            }
            (None, why) if why != Unreadable::Unmapped => MemError::Unreadable {
                pid: self.pid,
                addr,
                vma: Box::new(VmaSummary { start: addr, end: addr, perms: "----".into(), name: self.private.pagemap.clone() }),
                why,
            },
            _ => {
                let regions = self.regions();
                let i = regions.partition_point(|r| r.1 <= addr);
                let below = i.checked_sub(1).and_then(|j| regions.get(j)).copied();
                let above = regions.get(i).copied();
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
        let _ = self.walk_in(addr, len, true, &mut |pos, _, v, piece| match piece {
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
        self.stream(addr, len, f)
    }

    /// The bytes of a readable range to `f`, each stored piece fetched with
    /// [`Checkpoint::read_range`] (a tar.gz's pages file is not decompressed whole for a
    /// command line). An error only when a pages file cannot be read after all.
    fn stream(&self, addr: u64, len: u64, f: &mut dyn FnMut(u64, &[u8]) -> ControlFlow<()>) -> Result<(), MemError> {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let mut failed = None;
        let _ = self.walk_in(addr, len, true, &mut |pos, n, _, piece| match piece {
            Piece::Stored(s) => {
                let Some(layer) = self.ckpt.layer(s.depth) else {
                    failed = Some(CheckpointError::Missing { file: s.pages.to_string() });
                    return ControlFlow::Break(());
                };
                let mut at = pos;
                let mut flow = ControlFlow::Continue(());
                let read = layer.read_range(s.pages, s.offset, n, &mut |b| {
                    flow = f(at, b);
                    at += b.len() as u64;
                    flow
                });
                if let Err(e) = read {
                    failed = Some(e);
                    return ControlFlow::Break(());
                }
                flow
            }
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
        failed.map_or(Ok(()), |e| Err(MemError::Checkpoint(e)))
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
        })?;
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

    /// Bytes stored in the checkpoint for this task (what `search` scans).
    pub fn stored_len(&self) -> u64 {
        let mut n = 0;
        for (start, end) in self.regions() {
            let _ = self.walk_in(start, end - start, true, &mut |_, len, _, piece| {
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
        self.strings("command line", self.mm().arg_start, self.mm().arg_end)
    }

    /// The environment (from `mm_env_start..mm_env_end`).
    pub fn environ(&self) -> Result<Vec<Vec<u8>>, MemError> {
        self.strings("environment", self.mm().env_start, self.mm().env_end)
    }

    fn strings(&self, what: &'static str, start: u64, end: u64) -> Result<Vec<Vec<u8>>, MemError> {
        // The kernel caps argv + envp at a quarter of the stack limit; 64 MiB is far above any
        // real value and keeps a corrupted image from asking for gigabytes.
        if !self.has_vmas() {
            return Err(MemError::NoMmImage { pid: self.pid, what });
        }
        if end < start || end - start > 64 << 20 {
            return Err(MemError::BadArgs { pid: self.pid, what, start, end });
        }
        let bytes = self.read(start, end - start)?;
        // Each string costs a Vec (24 bytes) however short: 64 MiB of NULs would be 1.5 GB of
        // empty strings (found by the pagemap fuzzer). execve passes at most 6 MiB of strings,
        // each with its NUL and an 8-byte pointer, so far fewer than MAX_STRINGS.
        let count = bytes.iter().filter(|&&b| b == 0).count();
        if count > MAX_STRINGS {
            return Err(MemError::TooManyStrings { pid: self.pid, what, count });
        }
        Ok(split_nul(&bytes))
    }
}

/// The most strings [`Task::cmdline`] and [`Task::environ`] split a range into.
pub const MAX_STRINGS: usize = 1 << 20;

/// For messages: `start-end perms name`.
pub fn summary(v: &Vma) -> VmaSummary {
    VmaSummary { start: v.start, end: v.end, perms: String::from_utf8_lossy(&v.perms()).into_owned(), name: v.name_lossy() }
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
