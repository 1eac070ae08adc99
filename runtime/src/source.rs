//! Bytes of an input: a memory-mapped file, or a buffer (stdin, an archive member).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;

/// An input's bytes, mapped when it is a regular file so nothing is copied.
pub enum Source {
    /// A regular file, mapped read-only.
    Mapped(memmap2::Mmap),
    /// Bytes read into memory (stdin, an empty or special file, a small decompressed archive).
    Owned(Vec<u8>),
    /// A large decompressed archive, in an anonymous mapping of its own (see [`Buffer`]).
    Buffer(Buffer),
}

/// Bytes written once into an anonymous mapping, then read-only: what a large archive
/// decompresses into. Unlike a growing `Vec`, nothing is zeroed twice or copied on growth, and
/// on Linux the mapping asks for transparent huge pages, so 60 MiB fault in as ~30 pages
/// instead of ~15 000 (page faults and page clearing were a third of `crit inspect` on a
/// large tar.gz).
pub struct Buffer {
    map: memmap2::Mmap,
    len: usize,
}

impl Buffer {
    /// Fills a new buffer from `r`: at most `limit` bytes, starting with room for `hint`.
    /// `Ok(None)`: `r` had more than `limit` bytes.
    ///
    /// While `r` fills the first mapping, a helper thread faults its pages in a little ahead of
    /// the writer (`MADV_POPULATE_WRITE`, Linux 5.14), so that the kernel's page clearing runs
    /// beside the decompression instead of in it. It stays at most [`POPULATE_AHEAD`] bytes ahead,
    /// so a hint that is too large (a hostile gzip ISIZE) costs no memory that is not written.
    pub fn read_from(r: &mut dyn Read, hint: usize, limit: u64) -> io::Result<Option<Buffer>> {
        let room = |n: usize| -> io::Result<memmap2::MmapMut> {
            let m = memmap2::MmapOptions::new().len(n.max(1)).map_anon()?;
            #[cfg(target_os = "linux")]
            let _ = m.advise(memmap2::Advice::HugePage);
            Ok(m)
        };
        // One byte past the limit shows that there is more.
        let cap_max = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
        // Room for one page more than the hint, so that an exact hint (a gzip ISIZE) ends with
        // a read of 0 bytes, not a doubling just to learn that nothing follows.
        let mut map = room(hint.saturating_add(4096).clamp(1, cap_max))?;
        let mut len = fill_populating(r, &mut map)?;
        // A hint too small: grow by doubling (no helper; this is the rare case).
        while len == map.len() {
            if len >= cap_max {
                return Ok(None);
            }
            let mut bigger = room(len.saturating_mul(2).min(cap_max))?;
            bigger[..len].copy_from_slice(&map[..len]);
            map = bigger;
            len += fill(r, &mut map[len..])?;
        }
        if len as u64 > limit {
            return Ok(None);
        }
        Ok(Some(Buffer { map: map.make_read_only()?, len }))
    }
}

/// How far ahead of the writer [`Buffer::read_from`]'s helper faults pages in.
pub const POPULATE_AHEAD: usize = 32 << 20;

/// Reads from `r` until `buf` is full or `r` ends; the number of bytes read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match r.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// [`fill`] of a whole anonymous mapping, with the helper thread of [`Buffer::read_from`]
/// (built with the `archive` feature, the one that decompresses into buffers and brings libc).
#[cfg(all(target_os = "linux", feature = "archive"))]
fn fill_populating(r: &mut dyn Read, map: &mut memmap2::MmapMut) -> io::Result<usize> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const STEP: usize = 2 << 20;
    if map.len() <= STEP {
        return fill(r, map);
    }
    let (base, cap) = (map.as_mut_ptr() as usize, map.len());
    let written = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let helper = s.spawn(|| {
            let mut done = 0usize;
            while done < cap && !stop.load(Ordering::Relaxed) {
                let until = written.load(Ordering::Relaxed).saturating_add(POPULATE_AHEAD).min(cap);
                if done >= until {
                    std::thread::park();
                    continue;
                }
                let end = (done + STEP).min(until);
                // SAFETY: [base + done, base + end) lies inside the mapping, which outlives this
                // scope and is not unmapped or remapped before the helper is joined. The call
                // only faults pages in (as a write would) and changes no byte, so it does not
                // race with the writer in any way that matters to the writer.
                let rc = unsafe { libc::madvise((base + done) as *mut libc::c_void, end - done, libc::MADV_POPULATE_WRITE) };
                if rc != 0 {
                    break; // Older kernels (EINVAL) or no memory: the writer faults pages itself.
                }
                done = end;
            }
        });
        let mut len = 0;
        let result = loop {
            if len == cap {
                break Ok(len);
            }
            match r.read(&mut map[len..]) {
                Ok(0) => break Ok(len),
                Ok(n) => {
                    len += n;
                    written.store(len, Ordering::Relaxed);
                    helper.thread().unpark();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        stop.store(true, Ordering::Relaxed);
        helper.thread().unpark();
        result
    })
}

#[cfg(not(all(target_os = "linux", feature = "archive")))]
fn fill_populating(r: &mut dyn Read, map: &mut memmap2::MmapMut) -> io::Result<usize> {
    fill(r, map)
}

impl Deref for Buffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl Source {
    /// Maps a file read-only (empty files and non-regular files are read instead).
    pub fn open(path: &Path) -> io::Result<Source> {
        let mut f = File::open(path)?;
        if let Some(map) = Source::map_regular(&f)? {
            return Ok(map);
        }
        let mut v = Vec::new();
        f.read_to_end(&mut v)?;
        Ok(Source::Owned(v))
    }

    /// An open file mapped read-only when it is a regular file with bytes in it; `None` for an
    /// empty or special file (a FIFO, a device), which the caller reads as a stream.
    pub fn map_regular(f: &File) -> io::Result<Option<Source>> {
        let meta = f.metadata()?;
        if !(meta.is_file() && meta.len() > 0) {
            return Ok(None);
        }
        // SAFETY: the map is read-only and private to us. If another process truncates the
        // file while we read it, accesses past the new end fault (SIGBUS); checkpoint images
        // are not modified while they are inspected, which is the accepted trade-off of every
        // mmap-based reader. Nothing here relies on the bytes staying unchanged for memory
        // safety: all parsing is bounds-checked against the mapping's length.
        let map = unsafe { memmap2::Mmap::map(f)? };
        Ok(Some(Source::Mapped(map)))
    }

    /// Drops `[offset, offset + len)` of a mapped file from this process's resident memory:
    /// the bytes stay readable (a later read faults them back in from the page cache), so a
    /// reader that has finished with a range keeps what it holds bounded however large the file
    /// is. A no-op for buffers, and on targets without `madvise`.
    pub fn release(&self, offset: usize, len: usize) {
        #[cfg(unix)]
        if let Source::Mapped(m) = self
            && offset < m.len()
        {
            let len = len.min(m.len() - offset);
            // SAFETY: the map is a read-only MAP_SHARED mapping of a file (`Mmap::map`).
            // MADV_DONTNEED drops this process's page-table entries for the range; the next
            // access faults the same bytes back in from the page cache, so nothing borrowed from
            // the map ever sees different bytes (the zero-fill that makes DONTNEED unsafe in
            // general concerns private and anonymous memory).
            let _ = unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
        }
        #[cfg(not(unix))]
        let _ = (offset, len);
    }

    /// Reads everything from a reader (stdin).
    pub fn read(mut r: impl Read) -> io::Result<Source> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(Source::Owned(v))
    }
}

impl Deref for Source {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Source::Mapped(m) => m,
            Source::Owned(v) => v,
            Source::Buffer(b) => b,
        }
    }
}

/// A [`Source`] read front to back as a [`io::BufRead`], what a streaming reader (`crit
/// encode`'s JSON reader) takes: [`io::BufRead::fill_buf`] gives the whole rest at once, so no
/// byte is copied into a buffer (that copy was a tenth of encoding a large `mm` image) and a
/// reader that looks at a run of tokens sees them in one slice; behind the reader, a mapped
/// file's pages are [released](Source::release) a mebibyte at a time, so what it holds resident
/// stays near that, whatever the file's size.
pub struct SourceReader<'a> {
    src: &'a Source,
    /// `src`'s bytes (looked up once, not at every call).
    bytes: &'a [u8],
    pos: usize,
    /// Everything before this was released.
    released: usize,
}

/// Bytes consumed between two releases (a multiple of any page size).
const RELEASE_STEP: usize = 1 << 20;

impl<'a> SourceReader<'a> {
    /// A reader at the start of `src`.
    pub fn new(src: &'a Source) -> Self {
        SourceReader { src, bytes: src, pos: 0, released: 0 }
    }
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.bytes[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl io::BufRead for SourceReader<'_> {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.bytes[self.pos..])
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.bytes.len());
        if self.pos - self.released >= RELEASE_STEP {
            let upto = self.pos / RELEASE_STEP * RELEASE_STEP;
            self.src.release(self.released, upto - self.released);
            self.released = upto;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(data: &[u8], hint: usize, limit: u64) -> Option<Vec<u8>> {
        let mut r = data;
        Buffer::read_from(&mut r, hint, limit).unwrap().map(|b| b.to_vec())
    }

    #[test]
    fn buffer_holds_exactly_what_was_read_whatever_the_hint() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        // Exact, short (grows by doubling, several times), long, and no hint at all.
        for hint in [data.len(), 1000, 10 * data.len(), 0] {
            assert_eq!(fill(&data, hint, 1 << 30).as_deref(), Some(&data[..]), "hint {hint}");
        }
        assert_eq!(fill(&[], 4096, 10).as_deref(), Some(&[][..]));
    }

    #[test]
    fn buffer_refuses_more_than_the_limit() {
        let data = vec![7u8; 10_000];
        assert_eq!(fill(&data, 100, 10_000).map(|v| v.len()), Some(10_000), "exactly the limit is allowed");
        assert_eq!(fill(&data, 100, 9_999), None);
        assert_eq!(fill(&data, 100_000, 9_999), None, "a hint beyond the limit does not lift it");
    }

    #[test]
    fn source_reader_reads_a_mapped_file_whole_across_releases() {
        use std::io::BufRead;
        let dir = std::env::temp_dir().join(format!("source-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data");
        let data: Vec<u8> = (0..3 * RELEASE_STEP as u32 + 12_345).map(|i| (i * 13 + i / 4093) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let src = Source::open(&path).unwrap();
        assert!(matches!(src, Source::Mapped(_)));
        let mut r = SourceReader::new(&src);
        let mut got = Vec::new();
        // Odd steps through fill_buf/consume and read, across every release point.
        let mut step = 1usize;
        loop {
            let chunk = r.fill_buf().unwrap();
            if chunk.is_empty() {
                break;
            }
            assert_eq!(chunk.len(), data.len() - got.len(), "fill_buf gives the whole rest");
            let n = step.min(chunk.len());
            got.extend_from_slice(&chunk[..n]);
            r.consume(n);
            let mut buf = [0u8; 1000];
            let m = r.read(&mut buf[..step % 1000]).unwrap();
            got.extend_from_slice(&buf[..m]);
            step = step * 3 % 700_001 + 1;
        }
        assert_eq!(got, data);
        assert!(r.released >= 3 * RELEASE_STEP, "released up to {}", r.released);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
