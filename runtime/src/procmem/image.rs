//! The two images a memory dump consists of, written and read back:
//!
//! * `pagemap-<pid>.img`: `IMG_COMMON`, `PAGEMAP` magics, `pagemap_head { pages_id }`, then one
//!   `pagemap_entry { vaddr, compat_nr_pages = 0, flags, nr_pages }` per run in address order,
//!   exactly the fields CRIU 4.2's `write_pagemap_loc` sets;
//! * `pages-<pages_id>.img`: the `PE_PRESENT` runs' pages back to back, no header.
//!
//! Reading a previous dump back goes through the crate's one pagemap index
//! ([`crate::model::PageIndex`], with CRIU's compat rules); [`PageChain`] follows `parent` links to
//! find which file holds a page, as restore does.

use std::fs::File;
use std::io::{self, BufWriter};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use criu_image_proto::schema::kinds::files as names;

use crate::checkpoint::Checkpoint;
use crate::image::{ImageWriter, Kind};
use crate::model::PageIndex;
use crate::model::pagemap::IdxPiece;
use crate::proto::owned::{PagemapEntry, PagemapHead};

use super::PAGE_SIZE;
use super::layout::Run;

/// `pagemap-<pid>.img` in `dir`.
pub fn pagemap_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(names::PAGEMAP.name(pid.into()))
}

/// `pages-<id>.img` in `dir`.
pub fn pages_path(dir: &Path, pages_id: u32) -> PathBuf {
    dir.join(names::PAGES.name(pages_id.into()))
}

/// The name of the link to the previous dump inside a dump directory (`CR_PARENT_LINK`).
pub const PARENT_LINK: &str = "parent";

/// Streams `pagemap-<pid>.img`.
pub struct PagemapWriter {
    out: ImageWriter<BufWriter<File>>,
    path: PathBuf,
    entries: u64,
}

impl PagemapWriter {
    /// Creates (truncates) the file and writes the magics and `pagemap_head`.
    pub fn create(path: PathBuf, pages_id: u32) -> io::Result<PagemapWriter> {
        let f = File::create(&path)?;
        let mut out = ImageWriter::new(BufWriter::with_capacity(16 << 10, f), Kind::Pagemap)?;
        out.write_message(&PagemapHead { pages_id, ..Default::default() })?;
        Ok(PagemapWriter { out, path, entries: 0 })
    }

    /// Appends one entry.
    pub fn write(&mut self, r: Run) -> io::Result<()> {
        self.entries += 1;
        self.out.write_message(&PagemapEntry {
            vaddr: r.vaddr,
            compat_nr_pages: 0,
            in_parent: None,
            flags: Some(r.flags),
            nr_pages: Some(r.nr_pages),
            ..Default::default()
        })
    }

    /// Entries written so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The pagemap file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and syncs nothing (CRIU does not fsync either); returns the entry count.
    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.entries)
    }
}

/// Why a previous dump could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Opening the directory or a file of it failed.
    Io(PathBuf, io::Error),
    /// An image of it is missing, corrupt or inconsistent.
    Format(PathBuf, String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            ReadError::Format(p, m) => write!(f, "{}: {m}", p.display()),
        }
    }
}

impl std::error::Error for ReadError {}

/// Where a page's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Located {
    /// In the pages file of dump `level` (0 = the first directory), at `offset`, and so are the
    /// following `pages - 1` pages.
    InFile {
        /// The dump's depth in the chain.
        level: usize,
        /// Byte offset in its pages file.
        offset: u64,
        /// Pages that resolve the same way from here.
        pages: u64,
    },
    /// No dump in the chain has these `pages` pages (a restore maps zeroes there).
    Missing {
        /// Pages that resolve the same way from here.
        pages: u64,
    },
}

/// A previous dump and its `parent` ancestors, for one task: the crate's one pagemap index
/// ([`crate::model::PageIndex`]) over the mapped pages files, as a restore would read them.
pub struct PageChain {
    ckpt: Checkpoint,
    pagemap: String,
}

impl std::fmt::Debug for PageChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageChain").field("dir", &self.ckpt.path).field("pagemap", &self.pagemap).finish()
    }
}

impl PageChain {
    /// Opens `dir` and follows `parent` links as far as its pagemap needs; every pages file must
    /// hold what its pagemap says.
    pub fn open(dir: &Path, pid: u32) -> Result<PageChain, ReadError> {
        let ckpt = Checkpoint::open(dir).map_err(|e| ReadError::Format(dir.to_path_buf(), e.to_string()))?;
        let pagemap = names::PAGEMAP.name(pid.into());
        let chain = PageChain { ckpt, pagemap };
        let top = chain.index()?;
        let mut at = Some(top);
        while let Some(idx) = at {
            let layer = chain.ckpt.layer(idx.depth).unwrap_or(&chain.ckpt);
            if let Some(d) = idx.defect() {
                return Err(ReadError::Format(layer.path.join(&idx.pagemap), format!("entry {}: {d}", d.entry())));
            }
            let need = idx.present_pages().saturating_mul(PAGE_SIZE as u64);
            let len = layer.file_len(&idx.pages).unwrap_or(0);
            if len < need {
                return Err(ReadError::Format(layer.path.join(&idx.pages), format!("holds {len} bytes but the pagemap needs {need}")));
            }
            at = idx.parent();
        }
        Ok(chain)
    }

    /// The top dump's index (with its parents).
    pub fn index(&self) -> Result<&PageIndex, ReadError> {
        let path = || self.ckpt.path.join(&self.pagemap);
        match self.ckpt.pagemap(&self.pagemap) {
            Ok(Some(i)) => Ok(i),
            Ok(None) => Err(ReadError::Io(path(), io::Error::from(io::ErrorKind::NotFound))),
            Err(e) => Err(ReadError::Format(path(), e.to_string())),
        }
    }

    /// The directories of the chain, first the one opened.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        (0..).map_while(|d| self.ckpt.layer(d)).map(|c| c.path.as_path())
    }

    /// Where the bytes of `addr` are, for up to `max` pages from `addr` that resolve the same way.
    pub fn locate(&self, addr: u64, max: u64) -> Located {
        let max = max.max(1);
        let Ok(idx) = self.index() else { return Located::Missing { pages: max } };
        let hi = addr.saturating_add(max.saturating_mul(PAGE_SIZE as u64));
        let mut out = Located::Missing { pages: max };
        let _ = idx.walk(&self.ckpt, addr, hi, &mut |_, len, piece| {
            let pages = (len / PAGE_SIZE as u64).max(1);
            out = match piece {
                IdxPiece::Data(s) => Located::InFile { level: s.depth, offset: s.offset, pages },
                IdxPiece::Hole | IdxPiece::Absent(_) => Located::Missing { pages },
            };
            ControlFlow::Break(())
        });
        out
    }

    /// `len` bytes at `offset` of level `level`'s pages file, mapped.
    pub fn bytes(&self, level: usize, offset: u64, len: usize) -> Option<&[u8]> {
        let mut idx = self.index().ok()?;
        while idx.depth < level {
            idx = idx.parent()?;
        }
        let data = self.ckpt.layer(level)?.file(&idx.pages)?;
        let at = usize::try_from(offset).ok()?;
        data.get(at..at.checked_add(len)?)
    }

    /// Reads bytes from level `level`'s pages file, then lets go of the mapped range
    /// ([`Checkpoint::release`]): a comparison streams through the previous dump once, so its
    /// pages need not stay in this process's resident set (with a 1 GiB previous dump they
    /// would add 1 GiB of RSS to a server whose buffers are a few MiB).
    pub fn read_at(&self, level: usize, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let src = self.bytes(level, offset, buf.len()).ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        if let (Some(layer), Some(name)) = (self.ckpt.layer(level), self.pages_name(level)) {
            layer.release(name, offset, buf.len() as u64);
        }
        Ok(())
    }

    /// The pages file name of level `level`.
    fn pages_name(&self, level: usize) -> Option<&str> {
        let mut idx = self.index().ok()?;
        while idx.depth < level {
            idx = idx.parent()?;
        }
        Some(&idx.pages)
    }

    /// The bytes of the page at `addr`, if the chain has it.
    pub fn page(&self, addr: u64) -> io::Result<Option<Vec<u8>>> {
        match self.locate(addr, 1) {
            Located::InFile { level, offset, .. } => {
                let mut b = vec![0u8; PAGE_SIZE];
                self.read_at(level, offset, &mut b)?;
                Ok(Some(b))
            }
            Located::Missing { .. } => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_criu_fixture_runs_identically() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dir = root.join("testdata/images/sleep");
        let ckpt = Checkpoint::open(&dir).unwrap();
        let pm = ckpt.pagemap("pagemap-20292.img").unwrap().unwrap();
        assert_eq!(pm.pages_id, 1);
        assert_eq!(pm.entries().len(), 12);
        let r = pm.entries()[1];
        assert_eq!((r.start, r.nr_pages, r.flags, r.offset), (0x55fc46dcb000, 2, 4, 4096));
        let pages = std::fs::metadata(dir.join("pages-1.img")).unwrap().len();
        assert_eq!(pm.present_pages() * PAGE_SIZE as u64, pages);
        let tmp = std::env::temp_dir().join(format!("procmem-image-test-{}", std::process::id()));
        let mut w = PagemapWriter::create(tmp.clone(), pm.pages_id).unwrap();
        for r in pm.entries() {
            w.write(Run { vaddr: r.start, nr_pages: r.nr_pages, flags: r.flags }).unwrap();
        }
        w.finish().unwrap();
        let ours = std::fs::read(&tmp).unwrap();
        std::fs::remove_file(&tmp).unwrap();
        assert_eq!(ours, std::fs::read(dir.join("pagemap-20292.img")).unwrap(), "our pagemap bytes differ from CRIU's for the same runs");
        // The chain reads the fixture's pages where its pagemap says they are.
        let chain = PageChain::open(&dir, 20292).unwrap();
        let all = std::fs::read(dir.join("pages-1.img")).unwrap();
        assert_eq!(chain.page(0x55fc46dcb000).unwrap().unwrap(), &all[4096..8192]);
        assert_eq!(chain.locate(0x55fc46dcb000, 8), Located::InFile { level: 0, offset: 4096, pages: 2 });
    }
}
