//! The pagemap index: one pagemap image (`pagemap-<pid>.img` or `pagemap-shmem-<shmid>.img`) as
//! sorted runs of pages, each with its flags and its offset in `pages-<pages_id>.img`, linked to
//! the same pagemap of the parent checkpoint when some run is `PE_PARENT`.
//!
//! Rules (CRIU's `criu/pagemap.c`):
//! - compat: an entry with `in_parent` set is `PE_PARENT`; one with neither `in_parent` nor
//!   `flags` is `PE_PRESENT`; the page count is `nr_pages` when present, else `compat_nr_pages`;
//! - the pages file is the concatenation of the `PE_PRESENT` runs in pagemap order, so a run's
//!   offset is the sum of the present runs before it, whatever their addresses;
//! - reading follows `PE_PARENT` first (as CRIU's `read_pagemap_page` does), then `PE_PRESENT`;
//!   `PE_LAZY` alone means the page server holds the page.
//!
//! Flag bits this reader does not know (a newer CRIU's, like compressed pages) make the index
//! refuse the image instead of guessing where the pages are. Lookups are binary searches over the
//! runs; reads slice the mapped pages file, never one system call per page.

use std::ops::ControlFlow;

use criu_image_proto::view;

use super::error::{MemError, Unreadable, decode_error, image_error};
use super::{Memory, PAGE_SIZE};
use crate::checkpoint::Checkpoint;
use crate::image::{Payload, Role};

pub use crate::pagemap::{PE_LAZY, PE_PARENT, PE_PRESENT, flags as entry_flags, nr_pages as entry_nr_pages};
const PE_KNOWN: u32 = PE_PARENT | PE_LAZY | PE_PRESENT;

/// One pagemap entry as a range of addresses (or shared-memory offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub start: u64,
    /// Exclusive.
    pub end: u64,
    /// `PE_*` after the compat rules.
    pub flags: u32,
    /// The entry's index in the image (as in crit's JSON `entries[i]`; 0 is the head).
    pub entry: usize,
    /// Offset of `start`'s page in the pages file (meaningful when `PE_PRESENT`).
    pub offset: u64,
}

impl Run {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Where a run's bytes come from, as the walk reports them.
#[derive(Clone, Copy, Debug)]
pub struct Stored<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// The whole pages file they are part of (so that adjacent pieces can be merged).
    pub file: &'a [u8],
    /// Offset of `bytes` in `file`.
    pub offset: u64,
    /// The pages file's name.
    pub pages: &'a str,
    /// 0 for the opened checkpoint, 1 for its parent, ...
    pub depth: usize,
}

/// What the index says about a range.
#[derive(Debug)]
pub(crate) enum IdxPiece<'a> {
    Data(Stored<'a>),
    /// No entry covers the range.
    Hole,
    Absent(Unreadable),
}

/// The walk's callback: `(position, length, piece)`. A trait object, because following parents
/// nests callbacks to a depth only known at run time.
pub(crate) type Visit<'a, 'f> = dyn FnMut(u64, u64, IdxPiece<'a>) -> ControlFlow<()> + 'f;

/// An indexed pagemap image of one checkpoint layer.
#[derive(Debug)]
pub struct PageIndex<'m> {
    /// The pagemap image's name (`pagemap-1.img`).
    pub pagemap: String,
    /// The pages file's name (`pages-3.img`).
    pub pages: String,
    /// 0 for the opened checkpoint, 1 for its parent, ...
    pub depth: usize,
    runs: Vec<Run>,
    data: &'m [u8],
    parent: Parent<'m>,
}

#[derive(Debug)]
enum Parent<'m> {
    /// No run needs the parent.
    Unneeded,
    Index(Box<PageIndex<'m>>),
    /// The checkpoint has no parent link.
    None,
    Unavailable(String),
}

impl<'m> PageIndex<'m> {
    /// Indexes `pagemap` of the checkpoint at `depth` in `layers`, and the parent's same pagemap
    /// when a run needs it. `Ok(None)` when the checkpoint has no such image.
    pub(crate) fn open(layers: &'m Memory<'m>, depth: usize, pagemap: &str) -> Result<Option<PageIndex<'m>>, MemError> {
        let Some(ckpt) = layers.get(depth) else { return Ok(None) };
        let Some((pages_id, runs)) = read_runs(ckpt, pagemap)? else { return Ok(None) };
        let pages = format!("pages-{pages_id}.img");
        let data = ckpt.file(&pages).unwrap_or(&[]);
        let parent = if runs.iter().any(|r| r.flags & PE_PARENT != 0) {
            match layers.get(depth + 1) {
                Some(_) => match PageIndex::open(layers, depth + 1, pagemap)? {
                    Some(p) => Parent::Index(Box::new(p)),
                    None => Parent::Unavailable(format!(
                        "the parent checkpoint {} has no {pagemap}",
                        layers.path(depth + 1).display()
                    )),
                },
                None => match layers.problem(depth + 1) {
                    Some(p) => Parent::Unavailable(p.to_string()),
                    None => Parent::None,
                },
            }
        } else {
            Parent::Unneeded
        };
        Ok(Some(PageIndex { pagemap: pagemap.to_string(), pages, depth, runs, data, parent }))
    }

    /// The runs, sorted by address, not overlapping.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The run covering `pos`, by binary search.
    pub fn run_at(&self, pos: u64) -> Option<&Run> {
        let i = self.runs.partition_point(|r| r.end <= pos);
        self.runs.get(i).filter(|r| r.start <= pos)
    }

    /// The parent layer's index of the same pagemap, when some run needs it and it could be
    /// opened.
    pub fn parent(&self) -> Option<&PageIndex<'m>> {
        match &self.parent {
            Parent::Index(p) => Some(p),
            _ => None,
        }
    }

    /// Reports `[lo, hi)` in order as pieces: stored bytes (through parents as needed), holes (no
    /// entry), and ranges that cannot be read with the reason.
    pub(crate) fn walk<'a>(&'a self, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        let mut pos = lo;
        let mut i = self.runs.partition_point(|r| r.end <= lo);
        while pos < hi {
            let Some(r) = self.runs.get(i).filter(|r| r.start < hi) else {
                return f(pos, hi - pos, IdxPiece::Hole);
            };
            if r.start > pos {
                f(pos, r.start - pos, IdxPiece::Hole)?;
                pos = r.start;
            }
            let end = r.end.min(hi);
            if r.flags & PE_PARENT != 0 {
                self.walk_parent(r, pos, end, f)?;
            } else if r.flags & PE_PRESENT != 0 {
                let at = r.offset + (pos - r.start);
                let needed = at + (end - pos);
                match usize::try_from(at).ok().zip(usize::try_from(needed).ok()).and_then(|(a, b)| self.data.get(a..b)) {
                    Some(bytes) => f(
                        pos,
                        end - pos,
                        IdxPiece::Data(Stored { bytes, file: self.data, offset: at, pages: &self.pages, depth: self.depth }),
                    )?,
                    None => f(
                        pos,
                        end - pos,
                        IdxPiece::Absent(Unreadable::Truncated {
                            pages: self.pages.clone(),
                            depth: self.depth,
                            needed,
                            len: self.data.len() as u64,
                        }),
                    )?,
                }
            } else {
                // PE_LAZY without PE_PRESENT (or no flag at all, which CRIU never writes: the
                // page is nowhere, so it is reported the same way).
                f(pos, end - pos, IdxPiece::Absent(Unreadable::Lazy { pagemap: self.pagemap.clone(), entry: r.entry }))?;
            }
            pos = end;
            i += 1;
        }
        ControlFlow::Continue(())
    }

    fn walk_parent<'a>(&'a self, r: &Run, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        match &self.parent {
            Parent::Index(p) => p.walk(lo, hi, &mut |pos, len, piece| match piece {
                IdxPiece::Hole => f(
                    pos,
                    len,
                    IdxPiece::Absent(Unreadable::NotInParent { pagemap: p.pagemap.clone(), depth: p.depth }),
                ),
                other => f(pos, len, other),
            }),
            Parent::None | Parent::Unneeded => f(
                lo,
                hi - lo,
                IdxPiece::Absent(Unreadable::NoParent { pagemap: self.pagemap.clone(), entry: r.entry, depth: self.depth }),
            ),
            Parent::Unavailable(problem) => f(
                lo,
                hi - lo,
                IdxPiece::Absent(Unreadable::ParentUnavailable {
                    pagemap: self.pagemap.clone(),
                    entry: r.entry,
                    problem: problem.clone(),
                }),
            ),
        }
    }
}

/// Reads a pagemap image into sorted, checked runs: `(pages_id, runs)`.
fn read_runs(ckpt: &Checkpoint, name: &str) -> Result<Option<(u32, Vec<Run>)>, MemError> {
    let Some(img) = ckpt.image(name)? else { return Ok(None) };
    let corrupt = |entry: Option<usize>, reason: String| MemError::Corrupt { file: name.to_string(), entry, reason };
    if img.kind.info().payload != Payload::Pagemap {
        return Err(corrupt(None, format!("is a {} image, not a pagemap", img.kind.info().name)));
    }
    let mut pages_id = None;
    let mut runs = Vec::new();
    let mut offset = 0u64;
    for entry in img.entries() {
        let entry = entry.map_err(|e| image_error(name, e))?;
        let dec = |e| decode_error(name, entry.index, entry.message_offset, e);
        if entry.role == Role::PagemapHead {
            pages_id = Some(view::PagemapHead::parse(entry.message).map_err(dec)?.pages_id());
            continue;
        }
        let e = view::PagemapEntry::parse(entry.message).map_err(dec)?;
        let flags = entry_flags(&e);
        if flags & !PE_KNOWN != 0 {
            return Err(corrupt(
                Some(entry.index),
                format!(
                    "flags {flags:#x} include bits this reader does not know (PE_PARENT=1, PE_LAZY=2, PE_PRESENT=4); refusing to guess where the pages are (an image from a newer CRIU?)"
                ),
            ));
        }
        let nr = entry_nr_pages(&e);
        let start = e.vaddr();
        let end = nr.checked_mul(PAGE_SIZE).and_then(|len| start.checked_add(len)).ok_or_else(|| {
            corrupt(Some(entry.index), format!("{nr} pages at {start:#x} run past the end of the address space"))
        })?;
        if start == end {
            continue;
        }
        runs.push(Run { start, end, flags, entry: entry.index, offset });
        if flags & PE_PRESENT != 0 {
            offset = offset
                .checked_add(end - start)
                .ok_or_else(|| corrupt(Some(entry.index), "the pages file offset overflows".to_string()))?;
        }
    }
    let pages_id = pages_id.ok_or_else(|| corrupt(None, "has no pagemap_head".to_string()))?;
    // CRIU writes entries in address order; sort anyway (offsets are already fixed by file order).
    if !runs.is_sorted_by_key(|r| r.start) {
        runs.sort_by_key(|r| r.start);
    }
    for w in runs.windows(2) {
        if w[1].start < w[0].end {
            return Err(corrupt(
                Some(w[1].entry),
                format!(
                    "pages {:#x}-{:#x} overlap entry {} ({:#x}-{:#x})",
                    w[1].start, w[1].end, w[0].entry, w[0].start, w[0].end
                ),
            ));
        }
    }
    Ok(Some((pages_id, runs)))
}
