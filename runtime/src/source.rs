//! Bytes of an input: a memory-mapped file, or a buffer (stdin, an archive member).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;

/// An input's bytes, mapped when it is a regular file so nothing is copied.
pub enum Source {
    /// A regular file, mapped read-only.
    Mapped(memmap2::Mmap),
    /// Bytes read into memory (stdin, an empty or special file, a decompressed archive).
    Owned(Vec<u8>),
}

impl Source {
    /// Maps a file read-only (empty files and non-regular files are read instead).
    pub fn open(path: &Path) -> io::Result<Source> {
        let f = File::open(path)?;
        let meta = f.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and private to us. If another process truncates the
            // file while we read it, accesses past the new end fault (SIGBUS); checkpoint images
            // are not modified while they are inspected, which is the accepted trade-off of every
            // mmap-based reader. Nothing here relies on the bytes staying unchanged for memory
            // safety: all parsing is bounds-checked against the mapping's length.
            let map = unsafe { memmap2::Mmap::map(&f)? };
            Ok(Source::Mapped(map))
        } else {
            let mut v = Vec::new();
            let mut f = f;
            f.read_to_end(&mut v)?;
            Ok(Source::Owned(v))
        }
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
        }
    }
}
