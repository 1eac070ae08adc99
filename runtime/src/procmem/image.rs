//! The two images a memory dump consists of, written and read back:
//!
//! * `pagemap-<pid>.img`: `IMG_COMMON`, `PAGEMAP` magics, `pagemap_head { pages_id }`, then one
//!   `pagemap_entry { vaddr, compat_nr_pages = 0, flags, nr_pages }` per run in address order,
//!   exactly the fields CRIU 4.2's `write_pagemap_loc` sets;
//! * `pages-<pages_id>.img`: the `PE_PRESENT` runs' pages back to back, no header.
//!
//! Reading goes through the crate's framing ([`crate::image::Image`]) and the generated views, and
//! applies CRIU's compat rules (`init_compat_pagemap_entry`): no `flags` means `PE_PARENT` when
//! `in_parent` is set and `PE_PRESENT` otherwise; no `nr_pages` means `compat_nr_pages`.
//! [`PageChain`] follows `parent` links to find which file holds a page, as restore does.

use std::fs::File;
use std::io::{self, BufWriter};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::image::{Image, ImageWriter, Kind};
use crate::proto::owned::{PagemapEntry, PagemapHead};
use crate::proto::view;

use super::PAGE_SIZE;
use super::layout::{PE_PARENT, PE_PRESENT, Run};

/// `pagemap-<pid>.img` in `dir`.
pub fn pagemap_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("pagemap-{pid}.img"))
}

/// `pages-<id>.img` in `dir`.
pub fn pages_path(dir: &Path, pages_id: u32) -> PathBuf {
    dir.join(format!("pages-{pages_id}.img"))
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and syncs nothing (CRIU does not fsync either); returns the entry count.
    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.entries)
    }
}

/// One entry of a pagemap read back, with where its pages are in `pages-<id>.img`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagemapRun {
    pub vaddr: u64,
    pub nr_pages: u64,
    /// Flags after CRIU's compat rules.
    pub flags: u32,
    /// Byte offset of the first page in the pages file (meaningful with `PE_PRESENT`).
    pub pages_offset: u64,
}

impl PagemapRun {
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.nr_pages.saturating_mul(PAGE_SIZE as u64))
    }
    pub fn is_present(&self) -> bool {
        self.flags & PE_PRESENT != 0
    }
    pub fn is_parent(&self) -> bool {
        self.flags & PE_PARENT != 0
    }
}

/// A `pagemap-*.img` read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagemapImage {
    pub pages_id: u32,
    pub runs: Vec<PagemapRun>,
}

/// Why a pagemap could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(PathBuf, io::Error),
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

impl PagemapImage {
    /// Reads and checks a pagemap image: entries sorted, not overlapping, sizes that fit.
    pub fn read(path: &Path) -> Result<PagemapImage, ReadError> {
        let data = std::fs::read(path).map_err(|e| ReadError::Io(path.to_path_buf(), e))?;
        Self::parse(&data).map_err(|m| ReadError::Format(path.to_path_buf(), m))
    }

    /// Parses pagemap image bytes.
    pub fn parse(data: &[u8]) -> Result<PagemapImage, String> {
        let img = Image::parse(data, None).map_err(|e| e.to_string())?;
        if img.kind != Kind::Pagemap {
            return Err(format!("not a pagemap image but {:?}", img.kind));
        }
        let mut pages_id = None;
        let mut runs: Vec<PagemapRun> = Vec::new();
        let mut offset = 0u64;
        for e in img.entries() {
            let e = e.map_err(|e| e.to_string())?;
            if e.index == 0 {
                pages_id = Some(view::PagemapHead::parse(e.message).map_err(|e| e.to_string())?.pages_id());
                continue;
            }
            let v = view::PagemapEntry::parse(e.message).map_err(|err| format!("entry {}: {err}", e.index))?;
            let flags = crate::pagemap::flags(&v);
            let nr_pages = crate::pagemap::nr_pages(&v);
            let run = PagemapRun { vaddr: v.vaddr(), nr_pages, flags, pages_offset: offset };
            let end = nr_pages.checked_mul(PAGE_SIZE as u64).and_then(|b| run.vaddr.checked_add(b));
            if run.vaddr & (PAGE_SIZE as u64 - 1) != 0 || end.is_none() {
                return Err(format!("entry {}: run {:#x} × {} pages is not page-aligned or overflows", e.index, run.vaddr, nr_pages));
            }
            if runs.last().is_some_and(|prev| run.vaddr < prev.end()) {
                return Err(format!("entry {}: run at {:#x} overlaps or precedes the previous one", e.index, run.vaddr));
            }
            if flags & PE_PRESENT != 0 {
                // Cannot overflow: the run's bytes fit in the address space, checked above, and
                // runs do not overlap.
                offset += nr_pages * PAGE_SIZE as u64;
            }
            runs.push(run);
        }
        let pages_id = pages_id.ok_or("no pagemap_head")?;
        Ok(PagemapImage { pages_id, runs })
    }

    /// Bytes the pages file must hold.
    pub fn pages_bytes(&self) -> u64 {
        self.runs.iter().filter(|r| r.is_present()).map(|r| r.nr_pages * PAGE_SIZE as u64).sum()
    }

    /// The run containing `addr`, or the index where the next run starts.
    pub fn find(&self, addr: u64) -> Result<usize, usize> {
        let i = self.runs.partition_point(|r| r.end() <= addr);
        match self.runs.get(i) {
            Some(r) if r.vaddr <= addr => Ok(i),
            _ => Err(i),
        }
    }
}

/// Where a page's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Located {
    /// In the pages file of dump `level` (0 = the first directory), at `offset`, and so are the
    /// following `pages - 1` pages.
    InFile { level: usize, offset: u64, pages: u64 },
    /// No dump in the chain has these `pages` pages (a restore maps zeroes there).
    Missing { pages: u64 },
}

/// A dump directory and its `parent` ancestors, for one task: the pagemaps and open pages files.
pub struct PageChain {
    levels: Vec<(PathBuf, PagemapImage, File)>,
}

/// Longest `parent` chain followed (CRIU has no limit; a loop of links must end somewhere).
const MAX_CHAIN: usize = 256;

impl PageChain {
    /// Opens `dir` and follows `parent` links as far as each level has `PE_PARENT` entries.
    pub fn open(dir: &Path, pid: u32) -> Result<PageChain, ReadError> {
        let mut levels = Vec::new();
        let mut d = dir.to_path_buf();
        loop {
            let pm = PagemapImage::read(&pagemap_path(&d, pid))?;
            let pp = pages_path(&d, pm.pages_id);
            let f = File::open(&pp).map_err(|e| ReadError::Io(pp.clone(), e))?;
            let len = f.metadata().map_err(|e| ReadError::Io(pp.clone(), e))?.len();
            if len < pm.pages_bytes() {
                return Err(ReadError::Format(pp, format!("holds {len} bytes but the pagemap needs {}", pm.pages_bytes())));
            }
            let wants_parent = pm.runs.iter().any(|r| r.is_parent() && !r.is_present());
            levels.push((d.clone(), pm, f));
            if !wants_parent {
                break;
            }
            if levels.len() >= MAX_CHAIN {
                return Err(ReadError::Format(d, format!("more than {MAX_CHAIN} parent links (a loop?)")));
            }
            d = d.join(PARENT_LINK);
        }
        Ok(PageChain { levels })
    }

    /// The directories of the chain, first the one opened.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.levels.iter().map(|l| l.0.as_path())
    }

    /// The pagemap of level `i`.
    pub fn pagemap(&self, i: usize) -> &PagemapImage {
        &self.levels[i].1
    }

    /// Where the bytes of `addr` are, for up to `max` pages from `addr` that resolve the same way.
    pub fn locate(&self, addr: u64, max: u64) -> Located {
        let mut max = max.max(1);
        for (level, (_, pm, _)) in self.levels.iter().enumerate() {
            match pm.find(addr) {
                Err(next) => {
                    let gap = pm.runs.get(next).map_or(u64::MAX, |r| (r.vaddr - addr) / PAGE_SIZE as u64);
                    return Located::Missing { pages: gap.min(max) };
                }
                Ok(i) => {
                    let r = &pm.runs[i];
                    let left = (r.end() - addr) / PAGE_SIZE as u64;
                    max = max.min(left);
                    if r.is_present() {
                        return Located::InFile { level, offset: r.pages_offset + (addr - r.vaddr), pages: max };
                    }
                    if !r.is_parent() {
                        // PE_LAZY alone: the data is on a page server, not in any file.
                        return Located::Missing { pages: max };
                    }
                }
            }
        }
        Located::Missing { pages: max }
    }

    /// Reads bytes from level `level`'s pages file.
    pub fn read_at(&self, level: usize, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.levels[level].2.read_exact_at(buf, offset)
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
    fn reads_criu_fixture_and_rewrites_it_identically() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let path = root.join("testdata/images/sleep/pagemap-20292.img");
        let data = std::fs::read(&path).unwrap();
        let pm = PagemapImage::parse(&data).unwrap();
        assert_eq!(pm.pages_id, 1);
        assert_eq!(pm.runs.len(), 12);
        assert_eq!(pm.runs[1], PagemapRun { vaddr: 0x55fc46dcb000, nr_pages: 2, flags: 4, pages_offset: 4096 });
        let pages = std::fs::metadata(root.join("testdata/images/sleep/pages-1.img")).unwrap().len();
        assert_eq!(pm.pages_bytes(), pages);
        let tmp = std::env::temp_dir().join(format!("procmem-image-test-{}", std::process::id()));
        let mut w = PagemapWriter::create(tmp.clone(), pm.pages_id).unwrap();
        for r in &pm.runs {
            w.write(Run { vaddr: r.vaddr, nr_pages: r.nr_pages, flags: r.flags }).unwrap();
        }
        w.finish().unwrap();
        let ours = std::fs::read(&tmp).unwrap();
        std::fs::remove_file(&tmp).unwrap();
        assert_eq!(ours, data, "our pagemap bytes differ from CRIU's for the same runs");
    }

    #[test]
    fn compat_rules_and_hostile_input() {
        // head {pages_id: 3}, entry {vaddr 0x1000, compat_nr_pages 2, in_parent true}
        let mut img = Vec::new();
        img.extend_from_slice(&0x54564319u32.to_le_bytes());
        img.extend_from_slice(&0x56084025u32.to_le_bytes());
        for msg in [&[0x08, 0x03][..], &[0x08, 0x80, 0x20, 0x10, 0x02, 0x18, 0x01][..]] {
            img.extend_from_slice(&(msg.len() as u32).to_le_bytes());
            img.extend_from_slice(msg);
        }
        let pm = PagemapImage::parse(&img).unwrap();
        assert_eq!(pm.runs, vec![PagemapRun { vaddr: 0x1000, nr_pages: 2, flags: PE_PARENT, pages_offset: 0 }]);
        // The same entry again overlaps the first.
        let dup = img[img.len() - 11..].to_vec();
        img.extend_from_slice(&dup);
        assert!(PagemapImage::parse(&img).unwrap_err().contains("overlaps"));
        // A run that wraps the address space.
        let mut bad = img[..8 + 6].to_vec();
        let msg = [0x08, 0x80, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0x00, 0x28, 0x10];
        bad.extend_from_slice(&(msg.len() as u32).to_le_bytes());
        bad.extend_from_slice(&msg);
        assert!(PagemapImage::parse(&bad).is_err());
    }
}
