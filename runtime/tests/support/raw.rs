//! Reading images independently of the crate's framing, model and memory code: framing by
//! hand, messages through the generated views. Tests check the crate's reports against these.
#![allow(dead_code)]

use std::path::Path;

use criu_image::proto::kinds::{IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC};
use criu_image::proto::view;

pub const PAGE: u64 = 4096;
pub const PE_PARENT: u32 = 1;
pub const PE_LAZY: u32 = 2;
pub const PE_PRESENT: u32 = 4;

/// The message bytes of each entry of an image whose kind has no payloads:
/// `[head] magic {u32 size, message}*`.
pub fn messages(bytes: &[u8]) -> Vec<&[u8]> {
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut pos = if matches!(word(0), IMG_COMMON_MAGIC | IMG_SERVICE_MAGIC) { 8 } else { 4 };
    let mut out = Vec::new();
    while pos < bytes.len() {
        let size = word(pos) as usize;
        out.push(&bytes[pos + 4..pos + 4 + size]);
        pos += 4 + size;
    }
    out
}

pub fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

/// A pagemap entry as CRIU reads it.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub vaddr: u64,
    pub nr_pages: u64,
    pub flags: u32,
    /// Offset of its pages in the pages file, when present.
    pub offset: u64,
}

impl Run {
    pub fn end(&self) -> u64 {
        self.vaddr + self.nr_pages * PAGE
    }
}

/// `pagemap-<pid>.img`: `pages_id` and the entries in image order. `nr_pages` is field 5
/// since CRIU 4.2 (`compat_nr_pages` before), no `flags` means present, `in_parent` is the
/// old parent flag; present runs are stored back to back in the pages file, in this order.
pub fn pagemap(dir: &Path, pid: u32) -> (u32, Vec<Run>) {
    let bytes = read(dir, &format!("pagemap-{pid}.img"));
    let msgs = messages(&bytes);
    let pages_id = view::PagemapHead::parse(msgs[0]).unwrap().pages_id();
    let mut offset = 0;
    let runs = msgs[1..]
        .iter()
        .map(|m| {
            let e = view::PagemapEntry::parse(m).unwrap();
            let nr_pages = e.nr_pages().unwrap_or(u64::from(e.compat_nr_pages()));
            let flags = e.flags().unwrap_or(PE_PRESENT) | if e.in_parent() == Some(true) { PE_PARENT } else { 0 };
            let run = Run { vaddr: e.vaddr(), nr_pages, flags, offset };
            if flags & PE_PRESENT != 0 {
                offset += nr_pages * PAGE;
            }
            run
        })
        .collect();
    (pages_id, runs)
}

/// `len` bytes at `addr` of a task's private memory, from its pagemap and pages file, when
/// all of them are stored there.
pub fn private_bytes(dir: &Path, pid: u32, addr: u64, len: u64) -> Option<Vec<u8>> {
    let (pages_id, runs) = pagemap(dir, pid);
    let pages = read(dir, &format!("pages-{pages_id}.img"));
    let mut out = Vec::new();
    let mut at = addr;
    while at < addr + len {
        let r = runs.iter().find(|r| r.vaddr <= at && at < r.end() && r.flags & PE_PRESENT != 0)?;
        let n = (addr + len).min(r.end()) - at;
        let off = (r.offset + (at - r.vaddr)) as usize;
        out.extend_from_slice(pages.get(off..off + n as usize)?);
        at += n;
    }
    Some(out)
}

/// `pstree.img`: `(pid, ppid)` in image order.
pub fn pstree(dir: &Path) -> Vec<(u32, u32)> {
    let bytes = read(dir, "pstree.img");
    messages(&bytes)
        .iter()
        .map(|m| {
            let e = view::PstreeEntry::parse(m).unwrap();
            (e.pid(), e.ppid())
        })
        .collect()
}

/// `core-<pid>.img`'s task state and command name.
pub fn core(dir: &Path, pid: u32) -> (u32, Vec<u8>) {
    let bytes = read(dir, &format!("core-{pid}.img"));
    let core = view::CoreEntry::parse(messages(&bytes)[0]).unwrap();
    let tc = core.tc().unwrap();
    (tc.task_state(), tc.comm().to_vec())
}

/// A VMA: `(start, end, prot, flags)`.
pub type Vma = (u64, u64, u32, u32);

/// `mm-<pid>.img`'s argument area and VMAs.
pub fn mm(dir: &Path, pid: u32) -> ((u64, u64), Vec<Vma>) {
    let bytes = read(dir, &format!("mm-{pid}.img"));
    let mm = view::MmEntry::parse(messages(&bytes)[0]).unwrap();
    let vmas = mm.vmas().iter().map(|v| (v.start(), v.end(), v.prot(), v.flags())).collect();
    ((mm.mm_arg_start(), mm.mm_arg_end()), vmas)
}

/// A task's `argv`, from its memory.
pub fn argv(dir: &Path, pid: u32) -> Vec<Vec<u8>> {
    let ((start, end), _) = mm(dir, pid);
    let bytes = private_bytes(dir, pid, start, end - start).expect("argv is in the pagemap");
    bytes.strip_suffix(b"\0").unwrap_or(&bytes).split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

/// `pstree.img`: each entry's pid and threads, in image order.
pub fn pstree_threads(dir: &Path) -> Vec<(u32, Vec<u32>)> {
    let bytes = read(dir, "pstree.img");
    messages(&bytes)
        .iter()
        .map(|m| {
            let e = view::PstreeEntry::parse(m).unwrap();
            (e.pid(), e.threads().iter().collect())
        })
        .collect()
}

/// `ids-<pid>.img`'s `files_id`: the fd table, which names `fdinfo-<files_id>.img`.
pub fn files_id(dir: &Path, pid: u32) -> u32 {
    let bytes = read(dir, &format!("ids-{pid}.img"));
    view::TaskKobjIdsEntry::parse(messages(&bytes)[0]).unwrap().files_id()
}

/// The number of fds of task `pid`: the entries of its `fdinfo-<files_id>.img`.
pub fn fd_count(dir: &Path, pid: u32) -> usize {
    messages(&read(dir, &format!("fdinfo-{}.img", files_id(dir, pid)))).len()
}

/// `inventory.img`'s image version.
pub fn img_version(dir: &Path) -> u32 {
    let bytes = read(dir, "inventory.img");
    view::InventoryEntry::parse(messages(&bytes)[0]).unwrap().img_version()
}

/// `mm-<pid>.img`'s VMAs with their status words: `(start, end, status)`.
pub fn vma_status(dir: &Path, pid: u32) -> Vec<(u64, u64, u32)> {
    let bytes = read(dir, &format!("mm-{pid}.img"));
    let mm = view::MmEntry::parse(messages(&bytes)[0]).unwrap();
    mm.vmas().iter().map(|v| (v.start(), v.end(), v.status())).collect()
}

/// `pstree.img`: `(pid, pgid, sid)` in image order.
pub fn pstree_ids(dir: &Path) -> Vec<(u32, u32, u32)> {
    let bytes = read(dir, "pstree.img");
    messages(&bytes)
        .iter()
        .map(|m| {
            let e = view::PstreeEntry::parse(m).unwrap();
            (e.pid(), e.pgid(), e.sid())
        })
        .collect()
}
