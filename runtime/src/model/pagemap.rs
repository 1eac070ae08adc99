//! The pagemap index — the one every reader uses (memory, `x rss`, `check`, `mem-dump --prev`):
//! a pagemap image (`pagemap-<pid>.img` or `pagemap-shmem-<shmid>.img`) as sorted runs of pages,
//! each with its flags and its offset in `pages-<pages_id>.img`, linked to the same pagemap of
//! the parent checkpoint when some run is `PE_PARENT`.
//!
//! Rules (CRIU's `criu/pagemap.c`):
//! - compat: an entry with `in_parent` set is `PE_PARENT`; one with neither `in_parent` nor
//!   `flags` is `PE_PRESENT`; the page count is `nr_pages` when present, else `compat_nr_pages`
//!   ([`crate::pagemap`]);
//! - the pages file is the concatenation of the `PE_PRESENT` runs in pagemap order, so a run's
//!   offset is the sum of the present runs before it, whatever their addresses;
//! - reading follows `PE_PARENT` first (as CRIU's `read_pagemap_page` does), then `PE_PRESENT`;
//!   `PE_LAZY` alone means the page server holds the page.
//!
//! Flag bits this reader does not know (a newer CRIU's, like compressed pages) make the index
//! refuse the image instead of guessing where the pages are. Lookups are binary searches over the
//! runs; reads slice the mapped pages file, never one system call per page. The index owns its
//! runs (it is cached in the [`Checkpoint`]); page bytes are looked up in the checkpoint of the
//! run's depth when read.

use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;

use criu_image_proto::view;

use super::read::{entry_error, messages, typed_image};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::image::Kind;
use crate::pagemap::{PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT};

const PE_KNOWN: u32 = PE_PARENT | PE_LAZY | PE_PRESENT;

/// One pagemap entry as a range of addresses (or shared-memory offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// First address (or offset).
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// `PE_*` after the compat rules.
    pub flags: u32,
    /// The entry's index in the image (as in crit's JSON `entries[i]`; 0 is the head).
    pub entry: usize,
    /// The entry's page count as written (`end - start` is this × 4096, saturated).
    pub nr_pages: u64,
    /// Offset of `start`'s page in the pages file (meaningful when `PE_PRESENT`).
    pub offset: u64,
}

impl Run {
    /// Bytes covered.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    /// Whether it covers nothing.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    /// Pages covered.
    pub fn pages(&self) -> u64 {
        self.len() / PAGE_SIZE
    }
    /// Whether its pages are in this dump's pages file.
    pub fn is_present(&self) -> bool {
        self.flags & PE_PRESENT != 0
    }
    /// Whether its pages are in the parent dump.
    pub fn is_parent(&self) -> bool {
        self.flags & PE_PARENT != 0
    }
    /// Whether its pages may be restored lazily.
    pub fn is_lazy(&self) -> bool {
        self.flags & PE_LAZY != 0
    }
}

/// Where a range's bytes are, as a walk reports them.
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

/// Why a range of pages cannot be read from the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unreadable {
    /// No VMA covers the address.
    Unmapped,
    /// A file-backed page that CRIU did not dump because it is the file's content (a clean
    /// private page, or any page of a shared file mapping).
    FromFile {
        /// The file's name.
        file: String,
        /// The offset in it.
        offset: u64,
    },
    /// A mapping the kernel provides at restore (`[vvar]`, `[vsyscall]`, a packet ring), never
    /// dumped.
    Kernel(&'static str),
    /// `PE_LAZY` without `PE_PRESENT`: a lazy dump whose page server still holds the page.
    Lazy {
        /// The pagemap image.
        pagemap: String,
        /// Its entry.
        entry: usize,
    },
    /// `PE_PARENT`, but the checkpoint (at `depth` in the chain) has no `parent` link.
    NoParent {
        /// The pagemap image.
        pagemap: String,
        /// Its entry.
        entry: usize,
        /// The depth of the checkpoint that lacks the link.
        depth: usize,
    },
    /// `PE_PARENT`, and the parent checkpoint cannot be used (missing, unreadable, a cycle).
    ParentUnavailable {
        /// The pagemap image.
        pagemap: String,
        /// Its entry.
        entry: usize,
        /// Why.
        problem: ParentProblem,
    },
    /// `PE_PARENT`, but the parent's pagemap has no entry for the page.
    NotInParent {
        /// The parent's pagemap image.
        pagemap: String,
        /// The parent's depth.
        depth: usize,
    },
    /// The pages file is shorter than its pagemap says, or missing.
    Truncated {
        /// The pages file.
        pages: String,
        /// Its checkpoint's depth.
        depth: usize,
        /// Bytes needed.
        needed: u64,
        /// Bytes it has.
        len: u64,
    },
    /// The VMA's contents live in a shared-memory pagemap that the checkpoint does not have.
    NoShmemImage {
        /// The shared-memory id.
        shmid: u64,
    },
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |depth: usize| if depth == 0 { String::new() } else { format!(" (parent level {depth})") };
        match self {
            Unreadable::Unmapped => f.write_str("not mapped (no VMA covers it)"),
            Unreadable::FromFile { file, offset } => {
                write!(f, "not in the checkpoint: the page comes from file {file} at offset {offset:#x}")
            }
            Unreadable::Kernel(what) => write!(f, "not in the checkpoint: {what} is provided by the kernel at restore"),
            Unreadable::Lazy { pagemap, entry } => {
                write!(f, "lazy page, held by the page server ({pagemap} entry {entry} is PE_LAZY without PE_PRESENT)")
            }
            Unreadable::NoParent { pagemap, entry, depth } => write!(
                f,
                "{pagemap}{} entry {entry} says the page is in the parent checkpoint (PE_PARENT), but there is no `parent` link: open the checkpoint directory that holds its `parent` symlink to the previous dump",
                at(*depth)
            ),
            Unreadable::ParentUnavailable { pagemap, entry, problem } => write!(
                f,
                "{pagemap} entry {entry} says the page is in the parent checkpoint (PE_PARENT), which cannot be used: {problem}"
            ),
            Unreadable::NotInParent { pagemap, depth } => {
                write!(f, "missing from the parent: {pagemap}{} has no entry for the page the child marks PE_PARENT", at(*depth))
            }
            Unreadable::Truncated { pages, depth, needed, len } => {
                if *len == 0 && *needed > 0 {
                    write!(f, "{pages}{} is missing or empty, but its pagemap needs {needed} bytes of it", at(*depth))
                } else {
                    write!(f, "{pages}{} is truncated: the pagemap needs {needed} bytes, the file has {len}", at(*depth))
                }
            }
            Unreadable::NoShmemImage { shmid } => {
                write!(f, "shared memory {shmid} has no pagemap-shmem-{shmid}.img in the checkpoint")
            }
        }
    }
}

/// Why the chain of parent checkpoints stops where it does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParentProblem {
    /// The `parent` link leads back to a checkpoint already in the chain.
    Loop {
        /// The link.
        link: PathBuf,
        /// Where it leads.
        target: PathBuf,
    },
    /// The chain is longer than [`MAX_PARENT_DEPTH`].
    TooDeep {
        /// The link that would go deeper.
        link: PathBuf,
    },
    /// The `parent` link cannot be followed or opened.
    Open {
        /// The link.
        link: PathBuf,
        /// What went wrong, as the system or the opener said it.
        reason: String,
    },
}

impl fmt::Display for ParentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParentProblem::Loop { link, target } => {
                write!(f, "{} leads back to {}: the parent chain is a loop", link.display(), target.display())
            }
            ParentProblem::TooDeep { link } => {
                write!(f, "{}: more than {MAX_PARENT_DEPTH} parent checkpoints (a loop the path check did not catch?)", link.display())
            }
            ParentProblem::Open { link, reason } => write!(f, "{}: {reason}", link.display()),
        }
    }
}

/// How many `parent` links are followed at most, everywhere (memory, `check`, `mem-dump
/// --prev`). CRIU itself has no limit; a pre-dump series this long is almost certainly a loop
/// that the path check did not catch.
pub const MAX_PARENT_DEPTH: usize = 256;

/// The chain of a checkpoint's parents: each directory's `parent` symlink, as CRIU's
/// `--prev-images-dir` leaves it. Archives have no parents.
#[derive(Debug, Default)]
pub struct ParentChain {
    levels: Vec<Checkpoint>,
    /// Why the chain stops after its last element, when a `parent` link exists but cannot be
    /// followed.
    end: Option<ParentProblem>,
}

impl ParentChain {
    pub(crate) fn open(ckpt: &Checkpoint) -> ParentChain {
        let mut chain = ParentChain::default();
        let mut seen = vec![std::fs::canonicalize(&ckpt.path).unwrap_or_else(|_| ckpt.path.clone())];
        let mut cur = ckpt;
        while let Some(link) = cur.parent_link() {
            let target = match std::fs::canonicalize(&link) {
                Ok(t) => t,
                Err(e) => {
                    chain.end = Some(ParentProblem::Open { link, reason: e.to_string() });
                    break;
                }
            };
            if seen.contains(&target) {
                chain.end = Some(ParentProblem::Loop { link, target });
                break;
            }
            if chain.levels.len() == MAX_PARENT_DEPTH {
                chain.end = Some(ParentProblem::TooDeep { link });
                break;
            }
            match Checkpoint::open(&target) {
                Ok(p) if p.format() == crate::checkpoint::Format::Directory => {
                    seen.push(target);
                    chain.levels.push(p);
                }
                Ok(_) => {
                    chain.end = Some(ParentProblem::Open { link, reason: "`parent` is not a directory".into() });
                    break;
                }
                Err(e) => {
                    chain.end = Some(ParentProblem::Open { link, reason: e.to_string() });
                    break;
                }
            }
            cur = chain.levels.last().expect("just pushed");
        }
        chain
    }

    /// The parent checkpoints, nearest first.
    pub fn levels(&self) -> &[Checkpoint] {
        &self.levels
    }

    /// Why the chain stops after its last element, when a `parent` link exists but cannot be
    /// followed.
    pub fn problem(&self) -> Option<&ParentProblem> {
        self.end.as_ref()
    }
}

/// The pages file of the layer at a depth, by name (`None` when it is missing).
type PagesFile<'a> = dyn Fn(usize, &str) -> Option<&'a [u8]> + 'a;

/// The size of the pages file of the layer at a depth, by name (`None` when it is missing).
type PagesLen<'a> = dyn Fn(usize, &str) -> Option<u64> + 'a;

/// What a walk reads of the pages files.
#[derive(Clone, Copy)]
enum Access<'a, 'd> {
    /// Nothing: present runs are reported with no bytes, the files unchecked.
    Runs,
    /// Their sizes: present runs are checked against them and reported with no bytes.
    Sizes(&'d PagesLen<'a>),
    /// Their bytes.
    Bytes(&'d PagesFile<'a>),
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

/// What makes a pagemap unusable for reading pages, though its entries decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagemapDefect {
    /// Entry `entry`'s flags have bits this reader does not know (a newer CRIU's, such as
    /// compressed pages): where its pages are cannot be known.
    UnknownFlags {
        /// The entry.
        entry: usize,
        /// Its flags.
        flags: u32,
    },
    /// Entry `entry`'s pages run past the end of the address space.
    Overflow {
        /// The entry.
        entry: usize,
        /// Its first address.
        vaddr: u64,
        /// Its page count.
        nr_pages: u64,
    },
    /// Entry `entry` overlaps entry `other`.
    Overlap {
        /// The later entry (by address).
        entry: usize,
        /// The entry it overlaps.
        other: usize,
        /// Its range.
        range: (u64, u64),
        /// The other's range.
        other_range: (u64, u64),
    },
}

impl PagemapDefect {
    /// The entry it is about.
    pub fn entry(&self) -> usize {
        match self {
            PagemapDefect::UnknownFlags { entry, .. } | PagemapDefect::Overflow { entry, .. } | PagemapDefect::Overlap { entry, .. } => *entry,
        }
    }
}

impl fmt::Display for PagemapDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PagemapDefect::UnknownFlags { flags, .. } => write!(
                f,
                "flags {flags:#x} include bits this reader does not know (PE_PARENT=1, PE_LAZY=2, PE_PRESENT=4); refusing to guess where the pages are (an image from a newer CRIU?)"
            ),
            PagemapDefect::Overflow { vaddr, nr_pages, .. } => {
                write!(f, "{nr_pages} pages at {vaddr:#x} run past the end of the address space")
            }
            PagemapDefect::Overlap { range, other, other_range, .. } => write!(
                f,
                "pages {:#x}-{:#x} overlap entry {other} ({:#x}-{:#x})",
                range.0, range.1, other_range.0, other_range.1
            ),
        }
    }
}

/// An indexed pagemap image of one checkpoint layer.
#[derive(Debug, Clone)]
pub struct PageIndex {
    /// The pagemap image's name (`pagemap-1.img`).
    pub pagemap: String,
    /// The pages file's name (`pages-3.img`).
    pub pages: String,
    /// `pagemap_head.pages_id`.
    pub pages_id: u32,
    /// 0 for the opened checkpoint, 1 for its parent, ...
    pub depth: usize,
    /// Every entry in image order (an overflowing one ends at `u64::MAX`).
    entries: Vec<Run>,
    /// The non-empty runs by address, when image order is not that.
    sorted: Option<Vec<u32>>,
    defect: Option<PagemapDefect>,
    parent: Parent,
}

#[derive(Debug, Clone)]
enum Parent {
    /// No run needs the parent.
    Unneeded,
    Index(Box<PageIndex>),
    /// The checkpoint has no parent link.
    None,
    /// The parent checkpoint cannot be used.
    Unavailable(ParentProblem),
    /// The parent checkpoint has no such pagemap.
    Missing,
}

impl PageIndex {
    /// Indexes `pagemap` of the checkpoint at `depth` of `top`'s chain, and the parent's same
    /// pagemap when a run needs it. `Ok(None)` when that checkpoint has no such image.
    pub(crate) fn open(top: &Checkpoint, depth: usize, pagemap: &str) -> Result<Option<PageIndex>, CheckpointError> {
        let Some(ckpt) = top.layer(depth) else { return Ok(None) };
        let Some((pages_id, entries)) = read_entries(ckpt, pagemap)? else { return Ok(None) };
        let parent = if entries.iter().any(|r| r.flags & PE_PARENT != 0) {
            match top.layer(depth + 1) {
                Some(_) => match PageIndex::open(top, depth + 1, pagemap)? {
                    Some(p) => Parent::Index(Box::new(p)),
                    None => Parent::Missing,
                },
                None => match top.parents().problem() {
                    Some(p) if depth + 1 == top.parents().levels().len() + 1 => Parent::Unavailable(p.clone()),
                    _ => Parent::None,
                },
            }
        } else {
            Parent::Unneeded
        };
        let pages = criu_image_proto::schema::kinds::files::PAGES.name(pages_id.into());
        let mut index = PageIndex { pagemap: pagemap.to_string(), pages, pages_id, depth, entries, sorted: None, defect: None, parent };
        index.sorted = index.sort_order();
        index.defect = index.find_defect();
        Ok(Some(index))
    }

    /// Indexes a pagemap image held in memory that belongs to no checkpoint (a file of another
    /// name, a network peer's), without parents: `name` names it in errors.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<PageIndex, CheckpointError> {
        let img = crate::image::Image::parse(bytes, None).map_err(|error| CheckpointError::Image { file: name.to_string(), error })?;
        if img.kind != Kind::Pagemap {
            return Err(entry_error(name, None, 0, format!("holds a {} image, not a pagemap", img.kind.name())));
        }
        let (pages_id, entries) = entries_of(&img, name)?;
        let pages = criu_image_proto::schema::kinds::files::PAGES.name(pages_id.into());
        let mut index = PageIndex { pagemap: name.to_string(), pages, pages_id, depth: 0, entries, sorted: None, defect: None, parent: Parent::None };
        index.sorted = index.sort_order();
        index.defect = index.find_defect();
        Ok(index)
    }

    fn sort_order(&self) -> Option<Vec<u32>> {
        (!self.entries.is_sorted_by_key(|r| r.start)).then(|| {
            let mut idx: Vec<u32> = (0..self.entries.len() as u32).collect();
            idx.sort_by_key(|&i| self.entries[i as usize].start);
            idx
        })
    }

    /// Bytes the index holds in memory (for bounded-memory accounting).
    pub fn held(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Run>()
            + self.sorted.as_ref().map_or(0, |s| s.capacity() * 4)
            + self.parent().map_or(0, PageIndex::held)
    }

    fn find_defect(&self) -> Option<PagemapDefect> {
        for r in &self.entries {
            if r.flags & !PE_KNOWN != 0 {
                return Some(PagemapDefect::UnknownFlags { entry: r.entry, flags: r.flags });
            }
            if r.nr_pages.checked_mul(PAGE_SIZE).and_then(|len| r.start.checked_add(len)).is_none() {
                return Some(PagemapDefect::Overflow { entry: r.entry, vaddr: r.start, nr_pages: r.nr_pages });
            }
        }
        let mut prev: Option<&Run> = None;
        for r in self.runs().filter(|r| !r.is_empty()) {
            if let Some(p) = prev.filter(|p| r.start < p.end) {
                return Some(PagemapDefect::Overlap { entry: r.entry, other: p.entry, range: (r.start, r.end), other_range: (p.start, p.end) });
            }
            prev = Some(r);
        }
        None
    }

    /// Every entry in image order, as runs (an empty entry is an empty run).
    pub fn entries(&self) -> &[Run] {
        &self.entries
    }

    /// What makes the pagemap unusable for reading pages, if anything; memory reads refuse such
    /// an index, views that list entries show them anyway.
    pub fn defect(&self) -> Option<&PagemapDefect> {
        self.defect.as_ref()
    }

    /// The `k`-th run by address.
    fn nth(&self, k: usize) -> Option<&Run> {
        match &self.sorted {
            Some(idx) => idx.get(k).map(|&i| &self.entries[i as usize]),
            None => self.entries.get(k),
        }
    }

    /// How many runs (by address) end at or before `pos`.
    fn partition(&self, pos: u64) -> usize {
        let (mut lo, mut hi) = (0usize, self.entries.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.nth(mid).is_some_and(|r| r.end <= pos) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The runs by address.
    pub fn runs(&self) -> impl Iterator<Item = &Run> + '_ {
        (0..self.entries.len()).filter_map(move |k| self.nth(k))
    }

    /// The run covering `pos`, by binary search.
    pub fn run_at(&self, pos: u64) -> Option<&Run> {
        self.nth(self.partition(pos)).filter(|r| r.start <= pos && !r.is_empty())
    }

    /// Pages of `[start, end)` that entries of this pagemap cover (whatever their flags): a
    /// VMA's dumped pages, for instance.
    pub fn pages_in(&self, start: u64, end: u64) -> u64 {
        let mut n = 0u64;
        let mut k = self.partition(start);
        while let Some(r) = self.nth(k).filter(|r| r.start < end) {
            n += (r.end.min(end).saturating_sub(r.start.max(start))) / PAGE_SIZE;
            k += 1;
        }
        n
    }

    /// [`pages_in`](Self::pages_in) of each range, in one walk over the runs when the ranges
    /// come in address order (a process's VMAs do), and by a search for each one that does not.
    pub fn pages_in_each<'a>(&'a self, ranges: impl IntoIterator<Item = (u64, u64)> + 'a) -> impl Iterator<Item = u64> + 'a {
        let (mut k, mut last) = (0usize, 0u64);
        ranges.into_iter().map(move |(start, end)| {
            if start < last {
                k = self.partition(start);
            } else {
                while self.nth(k).is_some_and(|r| r.end <= start) {
                    k += 1;
                }
            }
            last = start;
            let mut n = 0u64;
            let mut j = k;
            while let Some(r) = self.nth(j).filter(|r| r.start < end) {
                n += (r.end.min(end).saturating_sub(r.start.max(start))) / PAGE_SIZE;
                j += 1;
            }
            n
        })
    }

    /// Pages of all entries.
    pub fn total_pages(&self) -> u64 {
        self.entries.iter().map(|r| r.nr_pages).fold(0, u64::saturating_add)
    }

    /// Pages of the `PE_PRESENT` entries: what this dump's pages file holds.
    pub fn present_pages(&self) -> u64 {
        self.entries.iter().filter(|r| r.is_present()).map(|r| r.nr_pages).fold(0, u64::saturating_add)
    }

    /// The parent layer's index of the same pagemap, when some run needs it and it could be
    /// opened.
    pub fn parent(&self) -> Option<&PageIndex> {
        match &self.parent {
            Parent::Index(p) => Some(p),
            _ => None,
        }
    }

    /// Whether `[start, end)` is stored at this layer or in its parents (`PE_PRESENT` here, or
    /// `PE_PARENT` and stored in the parent), as far as the indexes tell; the first part that is
    /// not, and why.
    pub fn covers(&self, start: u64, end: u64) -> Result<(), (u64, u64, Unreadable)> {
        let mut out = Ok(());
        let _ = self.walk_runs(start, end, &mut |pos, len, piece| match piece {
            IdxPiece::Data(_) => ControlFlow::Continue(()),
            IdxPiece::Hole => {
                out = Err((pos, pos + len, Unreadable::NotInParent { pagemap: self.pagemap.clone(), depth: self.depth }));
                ControlFlow::Break(())
            }
            IdxPiece::Absent(why) => {
                out = Err((pos, pos + len, why));
                ControlFlow::Break(())
            }
        });
        out
    }

    /// Like [`PageIndex::walk`], but without page data: present runs are reported as data of
    /// an empty file, for checks that need no bytes.
    fn walk_runs<'a>(&'a self, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        self.walk_with(lo, hi, Access::Runs, f)
    }

    /// Like [`PageIndex::walk`], but present runs come without their bytes (`bytes` and `file`
    /// empty), checked against the pages file's size only: what a reader that fetches the
    /// bytes itself with [`Checkpoint::read_range`] walks, so that no pages file is read whole.
    pub(crate) fn walk_located<'a>(&'a self, top: &'a Checkpoint, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        let size = |depth: usize, pages: &str| top.layer(depth).and_then(|c| c.file_len(pages));
        self.walk_with(lo, hi, Access::Sizes(&size), f)
    }

    /// Reports `[lo, hi)` in order as pieces: stored bytes (through parents as needed), holes (no
    /// entry), and ranges that cannot be read with the reason.
    pub(crate) fn walk<'a>(&'a self, top: &'a Checkpoint, lo: u64, hi: u64, f: &mut Visit<'a, '_>) -> ControlFlow<()> {
        let data = |depth: usize, pages: &str| top.layer(depth).and_then(|c| c.file(pages));
        self.walk_with(lo, hi, Access::Bytes(&data), f)
    }

    /// The walk; without `data` (the pages files), present runs are reported with no bytes.
    fn walk_with<'a>(
        &'a self,
        lo: u64,
        hi: u64,
        data: Access<'a, '_>,
        f: &mut Visit<'a, '_>,
    ) -> ControlFlow<()> {
        let mut pos = lo;
        let mut i = self.partition(lo);
        let (file, size): (&[u8], u64) = match data {
            Access::Runs => (&[], 0),
            Access::Sizes(len) => (&[], len(self.depth, &self.pages).unwrap_or(0)),
            Access::Bytes(d) => {
                let file = d(self.depth, &self.pages).unwrap_or(&[]);
                (file, file.len() as u64)
            }
        };
        while pos < hi {
            let Some(r) = self.nth(i).filter(|r| r.start < hi) else {
                return f(pos, hi - pos, IdxPiece::Hole);
            };
            if r.is_empty() {
                i += 1;
                continue;
            }
            if r.start > pos {
                f(pos, r.start - pos, IdxPiece::Hole)?;
                pos = r.start;
            }
            let end = r.end.min(hi);
            if r.flags & PE_PARENT != 0 {
                self.walk_parent(r, pos, end, data, f)?;
            } else if r.flags & PE_PRESENT != 0 {
                let at = r.offset + (pos - r.start);
                let needed = at + (end - pos);
                let truncated = || {
                    IdxPiece::Absent(Unreadable::Truncated { pages: self.pages.clone(), depth: self.depth, needed, len: size })
                };
                let stored = |bytes| IdxPiece::Data(Stored { bytes, file, offset: at, pages: &self.pages, depth: self.depth });
                let piece = match data {
                    Access::Runs => stored(&[]),
                    Access::Sizes(_) if needed <= size => stored(&[]),
                    Access::Sizes(_) => truncated(),
                    Access::Bytes(_) => {
                        match usize::try_from(at).ok().zip(usize::try_from(needed).ok()).and_then(|(a, b)| file.get(a..b)) {
                            Some(bytes) => stored(bytes),
                            None => truncated(),
                        }
                    }
                };
                f(pos, end - pos, piece)?;
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

    fn walk_parent<'a>(
        &'a self,
        r: &Run,
        lo: u64,
        hi: u64,
        data: Access<'a, '_>,
        f: &mut Visit<'a, '_>,
    ) -> ControlFlow<()> {
        let absent = |why| IdxPiece::Absent(why);
        match &self.parent {
            Parent::Index(p) => p.walk_with(lo, hi, data, &mut |pos, len, piece| match piece {
                IdxPiece::Hole => f(pos, len, absent(Unreadable::NotInParent { pagemap: p.pagemap.clone(), depth: p.depth })),
                other => f(pos, len, other),
            }),
            Parent::None | Parent::Unneeded => {
                f(lo, hi - lo, absent(Unreadable::NoParent { pagemap: self.pagemap.clone(), entry: r.entry, depth: self.depth }))
            }
            Parent::Missing => f(lo, hi - lo, absent(Unreadable::NotInParent { pagemap: self.pagemap.clone(), depth: self.depth + 1 })),
            Parent::Unavailable(problem) => f(
                lo,
                hi - lo,
                absent(Unreadable::ParentUnavailable { pagemap: self.pagemap.clone(), entry: r.entry, problem: problem.clone() }),
            ),
        }
    }
}

/// Reads a pagemap image's entries as runs in image order, with their pages file offsets:
/// `(pages_id, runs)`. Only framing and decoding errors fail; what makes the runs unusable is a
/// [`PagemapDefect`].
fn read_entries(ckpt: &Checkpoint, name: &str) -> Result<Option<(u32, Vec<Run>)>, CheckpointError> {
    let Some(img) = typed_image(ckpt, name, Kind::Pagemap)? else { return Ok(None) };
    entries_of(&img, name).map(Some)
}

fn entries_of(img: &crate::image::Image<'_>, name: &str) -> Result<(u32, Vec<Run>), CheckpointError> {
    let msgs = messages(img, name)?;
    let Some(head) = msgs.first() else {
        return Err(entry_error(name, Some(0), img.bytes().len(), "a pagemap image needs a pagemap_head entry".into()));
    };
    let pages_id = head.parse::<view::PagemapHead>(name)?.pages_id();
    let mut runs = Vec::with_capacity(msgs.len() - 1);
    let mut offset = 0u64;
    for m in &msgs[1..] {
        let e = m.parse::<view::PagemapEntry>(name)?;
        let flags = crate::pagemap::flags(&e);
        let nr_pages = crate::pagemap::nr_pages(&e);
        let start = e.vaddr();
        let end = start.saturating_add(nr_pages.saturating_mul(PAGE_SIZE));
        runs.push(Run { start, end, nr_pages, flags, entry: m.index, offset });
        if flags & PE_PRESENT != 0 {
            offset = offset.saturating_add(end - start);
        }
    }
    Ok((pages_id, runs))
}
