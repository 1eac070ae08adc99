//! The client's record of a round: which pages the server's round directory resolves (through
//! its `parent` links) and a digest of each, so that the next round can compare contents without
//! the pages themselves, which are on the other host.
//!
//! Two files in the record directory, written under temporary names and renamed only after the
//! server acknowledged the round (the close handshake):
//!
//! * `round-<pid>.pagemap.img`: a CRIU-format pagemap (read back with the crate's reader), one
//!   `PE_PRESENT` entry per contiguous stretch of pages the round holds, whether sent in it or
//!   left to a parent;
//! * `round-<pid>.digests`: `CRITRND1`, `u32` version (1), `u32` round number, `u32` tag (random
//!   per round, also the pagemap's `pages_id`, so the two files are known to belong together),
//!   the 192-byte XXH3 secret of this chain, then one little-endian `u128` XXH3-128 digest per
//!   page, in pagemap order.
//!
//! A digest stands in for the page: two pages are taken as equal when their digests are. The
//! secret is drawn from the kernel's random source once per chain (the first round) and kept,
//! so a target cannot prepare pages that collide; accidental collisions are ~2⁻¹²⁸ per page.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::Error;
use crate::pagemap::{PAGE_SIZE, PE_PRESENT};
use crate::model::PageIndex;
use crate::procmem::image::{Located, PagemapWriter, ReadError};
use crate::procmem::layout::Run;

/// Bytes of XXH3 secret per chain (XXH3 needs at least 136).
pub const SECRET_LEN: usize = 192;
const MAGIC: &[u8; 8] = b"CRITRND1";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 4 + SECRET_LEN;
const DIGEST: usize = 16;

/// `round-<pid>.pagemap.img` in `dir`.
pub fn pagemap_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("round-{pid}.pagemap.img"))
}

/// `round-<pid>.digests` in `dir`.
pub fn digests_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("round-{pid}.digests"))
}

fn tmp(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// The digest of one page under a chain's secret.
pub fn digest(secret: &[u8; SECRET_LEN], page: &[u8]) -> u128 {
    // Cannot fail: the secret is longer than XXH3's minimum.
    twox_hash::XxHash3_128::oneshot_with_secret(secret, page).unwrap_or_default()
}

/// A fresh secret from `getrandom(2)`.
pub fn new_secret() -> io::Result<[u8; SECRET_LEN]> {
    let mut s = [0u8; SECRET_LEN];
    random(&mut s)?;
    Ok(s)
}

fn random(s: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < s.len() {
        // SAFETY: writes at most `s.len() - got` bytes into our own array.
        let r = unsafe { libc::getrandom(s[got..].as_mut_ptr().cast(), s.len() - got, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        got += r as usize;
    }
    Ok(())
}

/// A previous round's record, opened for the next round.
pub struct Record {
    pagemap: PageIndex,
    digests: File,
    path: PathBuf,
    secret: [u8; SECRET_LEN],
    round: u32,
}

impl std::fmt::Debug for Record {
    /// Everything but the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record").field("path", &self.path).field("round", &self.round).field("runs", &self.pagemap.entries().len()).finish()
    }
}

impl Record {
    /// Opens and checks the record of `pid` in `dir`.
    pub fn open(dir: &Path, pid: u32) -> Result<Record, Error> {
        let pm_path = pagemap_path(dir, pid);
        let pm_err = |e: ReadError| Error::Parent { path: pm_path.clone(), source: e };
        let bytes = std::fs::read(&pm_path).map_err(|e| pm_err(ReadError::Io(pm_path.clone(), e)))?;
        let pagemap = PageIndex::from_bytes(&pm_path.display().to_string(), &bytes)
            .map_err(|e| pm_err(ReadError::Format(pm_path.clone(), e.to_string())))?;
        if let Some(d) = pagemap.defect() {
            return Err(pm_err(ReadError::Format(pm_path.clone(), format!("entry {}: {d}", d.entry()))));
        }
        let path = digests_path(dir, pid);
        let bad = |m: String| Error::Parent { path: path.clone(), source: ReadError::Format(path.clone(), m) };
        let io = |e| Error::Parent { path: path.clone(), source: ReadError::Io(path.clone(), e) };
        let digests = File::open(&path).map_err(io)?;
        let mut head = [0u8; HEADER];
        digests.read_exact_at(&mut head, 0).map_err(io)?;
        if &head[..8] != MAGIC || head[8..12] != VERSION.to_le_bytes() {
            return Err(bad("not a crit round record (magic CRITRND1, version 1)".into()));
        }
        let round = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
        let tag = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
        if tag != pagemap.pages_id {
            return Err(bad(format!("belongs to round tag {tag:#x} but the pagemap to {:#x}: an interrupted update", pagemap.pages_id)));
        }
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&head[20..]);
        let len = digests.metadata().map_err(io)?.len();
        let pages: u64 = pagemap.total_pages();
        if pagemap.entries().iter().any(|r| r.flags != PE_PRESENT) {
            return Err(bad("the record's pagemap has entries other than PE_PRESENT".into()));
        }
        if len != HEADER as u64 + pages * DIGEST as u64 {
            return Err(bad(format!("holds {len} bytes but its pagemap needs {}", HEADER as u64 + pages * DIGEST as u64)));
        }
        Ok(Record { pagemap, digests, path, secret, round })
    }

    /// The chain's secret.
    pub fn secret(&self) -> &[u8; SECRET_LEN] {
        &self.secret
    }

    /// Which round this was (1 for the first).
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Where `addr` is, as [`PageChain::locate`](crate::procmem::image::PageChain::locate)
    /// says it: `InFile` with `offset` = page index × 4096 in the record, or `Missing`.
    pub fn locate(&self, addr: u64, max: u64) -> Located {
        let max = max.max(1);
        match self.pagemap.run_at(addr) {
            Some(r) => {
                let left = (r.end - addr) / PAGE_SIZE;
                Located::InFile { level: 0, offset: r.offset + (addr - r.start), pages: max.min(left) }
            }
            None => {
                let gap = self.pagemap.runs().find(|r| r.start > addr).map_or(u64::MAX, |r| (r.start - addr) / PAGE_SIZE);
                Located::Missing { pages: gap.min(max) }
            }
        }
    }

    /// Reads the digests of `out.len()` pages starting at page index `first`.
    pub fn read_digests(&self, first: u64, out: &mut [u128]) -> Result<(), Error> {
        let mut b = [0u8; 64 * DIGEST];
        let mut done = 0usize;
        while done < out.len() {
            let n = (out.len() - done).min(64);
            let off = HEADER as u64 + (first + done as u64) * DIGEST as u64;
            self.digests.read_exact_at(&mut b[..n * DIGEST], off).map_err(|e| Error::Parent {
                path: self.path.clone(),
                source: ReadError::Io(self.path.clone(), e),
            })?;
            for (k, d) in out[done..done + n].iter_mut().enumerate() {
                let mut w = [0u8; 16];
                w.copy_from_slice(&b[k * DIGEST..(k + 1) * DIGEST]);
                *d = u128::from_le_bytes(w);
            }
            done += n;
        }
        Ok(())
    }

    /// Bytes this record holds in memory.
    pub fn held(&self) -> usize {
        self.pagemap.held()
    }
}

/// Writes the record of the round being sent.
pub struct RecordWriter {
    pagemap: PagemapWriter,
    pagemap_path: PathBuf,
    digests: BufWriter<File>,
    digests_path: PathBuf,
    open: Option<Run>,
}

impl RecordWriter {
    /// Starts `dir`'s record of `pid` under temporary names.
    pub fn create(dir: &Path, pid: u32, secret: &[u8; SECRET_LEN], round: u32) -> Result<RecordWriter, Error> {
        let pagemap_path = pagemap_path(dir, pid);
        let digests_path = digests_path(dir, pid);
        let mut t = [0u8; 4];
        random(&mut t).map_err(|e| Error::Output { path: tmp(&digests_path), source: e })?;
        let tag = u32::from_le_bytes(t);
        let pagemap =
            PagemapWriter::create(tmp(&pagemap_path), tag).map_err(|e| Error::Output { path: tmp(&pagemap_path), source: e })?;
        let f = File::create(tmp(&digests_path)).map_err(|e| Error::Output { path: tmp(&digests_path), source: e })?;
        let mut digests = BufWriter::with_capacity(16 << 10, f);
        let mut head = Vec::with_capacity(HEADER);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&round.to_le_bytes());
        head.extend_from_slice(&tag.to_le_bytes());
        head.extend_from_slice(secret);
        digests.write_all(&head).map_err(|e| Error::Output { path: tmp(&digests_path), source: e })?;
        Ok(RecordWriter { pagemap, pagemap_path, digests, digests_path, open: None })
    }

    /// Appends pages from `addr` (above everything added before) with their digests.
    pub fn add(&mut self, addr: u64, digests: &[u128]) -> Result<(), Error> {
        if digests.is_empty() {
            return Ok(());
        }
        let n = digests.len() as u64;
        match &mut self.open {
            Some(r) if r.end() == addr => r.nr_pages += n,
            _ => {
                if let Some(r) = self.open.take() {
                    self.pagemap.write(r).map_err(|e| Error::Output { path: tmp(&self.pagemap_path), source: e })?;
                }
                self.open = Some(Run { vaddr: addr, nr_pages: n, flags: PE_PRESENT });
            }
        }
        for d in digests {
            self.digests.write_all(&d.to_le_bytes()).map_err(|e| Error::Output { path: tmp(&self.digests_path), source: e })?;
        }
        Ok(())
    }

    /// Appends `pages` pages from `addr` whose digests are the previous record's.
    pub fn copy(&mut self, addr: u64, pages: u64, prev: &Record) -> Result<(), Error> {
        let mut buf = [0u128; 64];
        let mut done = 0u64;
        while done < pages {
            let a = addr + done * PAGE_SIZE;
            let Located::InFile { offset, pages: n, .. } = prev.locate(a, pages - done) else {
                return Err(Error::Parent {
                    path: prev.path.clone(),
                    source: ReadError::Format(prev.path.clone(), format!("has no page at {a:#x}, which this round leaves to the parent")),
                });
            };
            let n = n.min(64);
            prev.read_digests(offset / PAGE_SIZE, &mut buf[..n as usize])?;
            self.add(a, &buf[..n as usize])?;
            done += n;
        }
        Ok(())
    }

    /// Finishes the files, still under their temporary names.
    pub fn finish(mut self) -> Result<PendingRecord, Error> {
        if let Some(r) = self.open.take() {
            self.pagemap.write(r).map_err(|e| Error::Output { path: tmp(&self.pagemap_path), source: e })?;
        }
        self.pagemap.finish().map_err(|e| Error::Output { path: tmp(&self.pagemap_path), source: e })?;
        self.digests.flush().map_err(|e| Error::Output { path: tmp(&self.digests_path), source: e })?;
        Ok(PendingRecord { pagemap_path: self.pagemap_path, digests_path: self.digests_path, done: false })
    }

    /// Removes the temporary files.
    pub fn discard(self) {
        let RecordWriter { pagemap_path, digests_path, .. } = self;
        let _ = std::fs::remove_file(tmp(&pagemap_path));
        let _ = std::fs::remove_file(tmp(&digests_path));
    }
}

/// A finished record not yet in place: [`commit`](Self::commit) renames it, dropping it removes it.
pub struct PendingRecord {
    pagemap_path: PathBuf,
    digests_path: PathBuf,
    done: bool,
}

impl PendingRecord {
    /// Puts the record in place (a crash between the two renames leaves files whose tags
    /// differ, which [`Record::open`] refuses).
    pub fn commit(mut self) -> Result<(), Error> {
        for p in [&self.digests_path, &self.pagemap_path] {
            std::fs::rename(tmp(p), p).map_err(|e| Error::Output { path: p.clone(), source: e })?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for PendingRecord {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(tmp(&self.pagemap_path));
            let _ = std::fs::remove_file(tmp(&self.digests_path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_copies() {
        let dir = std::env::temp_dir().join(format!("ps-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let secret = new_secret().unwrap();
        assert_ne!(secret, new_secret().unwrap());
        let page = |b: u8| vec![b; PAGE_SIZE as usize];
        let d: Vec<u128> = (0..6u8).map(|i| digest(&secret, &page(i))).collect();
        assert_ne!(d[0], d[1]);
        let mut w = RecordWriter::create(&dir, 7, &secret, 1).unwrap();
        w.add(0x10000, &d[0..2]).unwrap();
        w.add(0x12000, &d[2..3]).unwrap();
        w.add(0x20000, &d[3..6]).unwrap();
        // Not in place until committed.
        let pending = w.finish().unwrap();
        assert!(Record::open(&dir, 7).is_err());
        pending.commit().unwrap();
        let r = Record::open(&dir, 7).unwrap();
        assert_eq!(r.round(), 1);
        assert_eq!(r.pagemap.entries().len(), 2, "contiguous adds share a run");
        assert_eq!(r.locate(0x11000, 10), Located::InFile { level: 0, offset: PAGE_SIZE, pages: 2 });
        assert_eq!(r.locate(0x13000, 100), Located::Missing { pages: 13 });
        let mut got = [0u128; 2];
        r.read_digests(3, &mut got).unwrap();
        assert_eq!(got, [d[3], d[4]]);

        // The next round keeps some pages from this one.
        let mut w2 = RecordWriter::create(&dir, 7, r.secret(), 2).unwrap();
        w2.copy(0x11000, 2, &r).unwrap();
        w2.add(0x13000, &[5]).unwrap();
        w2.copy(0x21000, 2, &r).unwrap();
        assert!(w2.copy(0x30000, 1, &r).is_err(), "pages the previous round does not have");
        w2.finish().unwrap().commit().unwrap();
        let r2 = Record::open(&dir, 7).unwrap();
        let mut all = [0u128; 5];
        r2.read_digests(0, &mut all).unwrap();
        assert_eq!(all, [d[1], d[2], 5, d[4], d[5]]);

        // Files of different rounds do not pair.
        let keep = std::fs::read(digests_path(&dir, 7)).unwrap();
        let mut w3 = RecordWriter::create(&dir, 7, r2.secret(), 3).unwrap();
        w3.add(0x11000, &[1]).unwrap();
        w3.finish().unwrap().commit().unwrap();
        std::fs::write(digests_path(&dir, 7), &keep).unwrap();
        assert!(Record::open(&dir, 7).unwrap_err().to_string().contains("interrupted"));
        w3 = RecordWriter::create(&dir, 7, r2.secret(), 3).unwrap();
        w3.add(0x11000, &[1, 2, 3, 4, 5]).unwrap();
        w3.finish().unwrap().commit().unwrap();

        // A truncated digests file is refused.
        let p = digests_path(&dir, 7);
        let len = std::fs::metadata(&p).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 1).unwrap();
        assert!(Record::open(&dir, 7).unwrap_err().to_string().contains("needs"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
