//! Copying the target's pages into our buffer: `process_vm_readv` with up to `IOV_MAX` remote
//! iovecs per call, and `/proc/PID/mem` for mappings without `PROT_READ`.
//!
//! The pages were chosen by a scan that may be stale by the time we read (the target may run, or
//! be killed). The kernel copies remote iovecs in order and stops at the first page it cannot
//! pin, returning the bytes copied so far, or `-1/EFAULT` when that was the very first page. So:
//!
//! * a short count: keep the whole pages copied, continue from the first page not copied;
//! * `EFAULT`: the first page we asked for is gone; drop it (it is not recorded anywhere, as in
//!   CRIU's read mode, so pagemap and pages stay consistent) and continue with the next page;
//! * `ESRCH`: the task exited; `EPERM`/`EACCES`: not allowed. Both end the dump.
//!
//! What was read is described by [`Got`] extents in buffer order; pages are packed back to back
//! in the buffer, with no gaps where a page was dropped.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::{Error, PAGE_SIZE};

/// What the consumer needs to know about a page besides its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    /// `PE_PRESENT`, or `PE_LAZY | PE_PRESENT`.
    pub flags: u32,
    /// Whether the page may be taken from the parent (CRIU never does for non-PROT_READ VMAs).
    pub may_parent: bool,
    /// Read through `/proc/PID/mem` (no `PROT_READ`).
    pub via_mem: bool,
}

/// A range to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Req {
    pub addr: u64,
    pub len: usize,
    pub tag: Tag,
}

/// A range that was read, at `buf_off` in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Got {
    pub addr: u64,
    pub pages: u64,
    pub buf_off: usize,
    pub tag: Tag,
}

impl Got {
    fn push(out: &mut Vec<Got>, g: Got) {
        if let Some(p) = out.last_mut() {
            let bytes = p.pages as usize * PAGE_SIZE;
            if p.tag == g.tag && p.addr + bytes as u64 == g.addr && p.buf_off + bytes == g.buf_off {
                p.pages += g.pages;
                return;
            }
        }
        out.push(g);
    }
}

/// Reads one target's memory.
pub(crate) struct Reader {
    pid: i32,
    iov_batch: usize,
    remote: Vec<libc::iovec>,
    mem: Option<File>,
    /// Pages dropped because they could not be read.
    pub faulted: u64,
    /// `process_vm_readv` and `pread` calls made.
    pub syscalls: u64,
}

// SAFETY: the iovecs are plain address/length pairs, only used as syscall arguments while the
// reader is borrowed; nothing points into memory shared between threads.
unsafe impl Send for Reader {}

impl Reader {
    pub fn new(pid: i32, iov_batch: usize) -> Reader {
        Reader { pid, iov_batch, remote: Vec::with_capacity(iov_batch), mem: None, faulted: 0, syscalls: 0 }
    }

    /// Bytes of bookkeeping held.
    pub fn held(&self) -> usize {
        self.remote.capacity() * std::mem::size_of::<libc::iovec>()
    }

    /// Reads `reqs` (whose lengths sum to at most `buf.len()`) into `buf` from offset 0, appending
    /// what was read to `out`. Returns the bytes used.
    pub fn read(&mut self, reqs: &[Req], buf: &mut [u8], out: &mut Vec<Got>) -> Result<usize, Error> {
        let mut fill = 0usize;
        let mut i = 0usize;
        while i < reqs.len() {
            // A group of requests read the same way.
            let via_mem = reqs[i].tag.via_mem;
            let j = reqs[i..].iter().position(|r| r.tag.via_mem != via_mem).map_or(reqs.len(), |k| i + k);
            if via_mem {
                for r in &reqs[i..j] {
                    self.read_mem(r, buf, &mut fill, out)?;
                }
            } else {
                self.read_vm(&reqs[i..j], buf, &mut fill, out)?;
            }
            i = j;
        }
        Ok(fill)
    }

    fn read_vm(&mut self, reqs: &[Req], buf: &mut [u8], fill: &mut usize, out: &mut Vec<Got>) -> Result<(), Error> {
        // (i, skip): the next byte to read is `skip` bytes into `reqs[i]`.
        let (mut i, mut skip) = (0usize, 0usize);
        while i < reqs.len() {
            self.remote.clear();
            let mut total = 0usize;
            for (k, r) in reqs[i..].iter().enumerate().take(self.iov_batch) {
                let s = if k == 0 { skip } else { 0 };
                self.remote.push(libc::iovec { iov_base: (r.addr + s as u64) as *mut libc::c_void, iov_len: r.len - s });
                total += r.len - s;
            }
            let room = buf.len() - *fill;
            if total > room {
                return Err(Error::Options(format!("internal: {total} bytes requested into {room} bytes of buffer")));
            }
            let local = libc::iovec { iov_base: buf[*fill..].as_mut_ptr().cast(), iov_len: total };
            self.syscalls += 1;
            // SAFETY: `local` covers `total` bytes inside `buf`, which we borrow mutably; the
            // remote iovecs are addresses in the target, which the kernel checks itself.
            let n = unsafe { libc::process_vm_readv(self.pid, &local, 1, self.remote.as_ptr(), self.remote.len() as libc::c_ulong, 0) };
            let at = reqs[i].addr + skip as u64;
            let n = if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EFAULT) => 0,
                    Some(libc::EINTR) => continue,
                    _ => return Err(Error::from_errno(self.pid, "process_vm_readv", Some(at), None, e)),
                }
            } else {
                n as usize
            };
            // Keep whole pages; a torn page is read again.
            let mut n = n - n % PAGE_SIZE;
            if n == 0 {
                // The first page cannot be read: drop it.
                self.faulted += 1;
                skip += PAGE_SIZE;
                if skip == reqs[i].len {
                    i += 1;
                    skip = 0;
                }
                continue;
            }
            while n > 0 {
                let r = &reqs[i];
                let take = (r.len - skip).min(n);
                Got::push(out, Got { addr: r.addr + skip as u64, pages: (take / PAGE_SIZE) as u64, buf_off: *fill, tag: r.tag });
                *fill += take;
                n -= take;
                skip += take;
                if skip == r.len {
                    i += 1;
                    skip = 0;
                }
            }
        }
        Ok(())
    }

    /// `/proc/PID/mem` reads with `FOLL_FORCE`, so it can read mappings without `PROT_READ`, as
    /// CRIU's parasite can after it `mprotect`s them readable for the dump.
    fn read_mem(&mut self, r: &Req, buf: &mut [u8], fill: &mut usize, out: &mut Vec<Got>) -> Result<(), Error> {
        if self.mem.is_none() {
            let path = format!("/proc/{}/mem", self.pid);
            self.mem = Some(File::open(&path).map_err(|e| Error::from_errno(self.pid, "open", Some(r.addr), Some(path.into()), e))?);
        }
        let mem = self.mem.as_ref().ok_or_else(|| Error::Options("internal: /proc/PID/mem not open".into()))?;
        let mut skip = 0usize;
        while skip < r.len {
            let at = r.addr + skip as u64;
            let dst = &mut buf[*fill..*fill + (r.len - skip)];
            self.syscalls += 1;
            let n = match mem.read_at(dst, at) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::EIO) || e.raw_os_error() == Some(libc::EFAULT) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from_errno(self.pid, "pread(/proc/PID/mem)", Some(at), None, e)),
            };
            let n = n - n % PAGE_SIZE;
            if n == 0 {
                // End of file means the mm is gone; otherwise the page is unreadable.
                if !task_alive(self.pid) {
                    return Err(Error::Vanished { pid: self.pid, syscall: "pread(/proc/PID/mem)", addr: Some(at) });
                }
                self.faulted += 1;
                skip += PAGE_SIZE;
                continue;
            }
            Got::push(out, Got { addr: at, pages: (n / PAGE_SIZE) as u64, buf_off: *fill, tag: r.tag });
            *fill += n;
            skip += n;
        }
        Ok(())
    }
}

/// False once the task is dead or a zombie (whose memory is gone).
pub(crate) fn task_alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // The state follows the last ')' (the command name may contain anything).
    match stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()) {
        Some("Z") | Some("X") | Some("x") => false,
        Some(_) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Map(*mut u8, usize);
    impl Map {
        fn new(pages: usize) -> Map {
            // SAFETY: fresh anonymous mapping.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    pages * PAGE_SIZE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(p, libc::MAP_FAILED);
            Map(p.cast(), pages * PAGE_SIZE)
        }
        fn page(&self, i: usize) -> u64 {
            self.0 as u64 + (i * PAGE_SIZE) as u64
        }
    }
    impl Drop for Map {
        fn drop(&mut self) {
            // SAFETY: unmapping our own mapping (holes punched in it are fine to unmap again).
            unsafe { libc::munmap(self.0.cast(), self.1) };
        }
    }

    const T: Tag = Tag { flags: 4, may_parent: true, via_mem: false };

    /// Unmapped and PROT_NONE pages in the middle of requests: a short read, then EFAULT page
    /// by page, and the buffer holds exactly the readable pages, packed, described by `Got`s.
    #[test]
    fn short_reads_and_efault_drop_exactly_the_bad_pages() {
        let m = Map::new(64);
        for i in 0..64 {
            // SAFETY: inside our mapping.
            unsafe { std::ptr::write_bytes(m.0.add(i * PAGE_SIZE), i as u8 + 1, PAGE_SIZE) };
        }
        // SAFETY: punching holes into our own mapping.
        unsafe {
            libc::munmap(m.0.add(10 * PAGE_SIZE).cast(), 3 * PAGE_SIZE);
            libc::mprotect(m.0.add(40 * PAGE_SIZE).cast(), PAGE_SIZE, libc::PROT_NONE);
        }
        let reqs = [
            Req { addr: m.page(0), len: 30 * PAGE_SIZE, tag: T },
            Req { addr: m.page(30), len: 20 * PAGE_SIZE, tag: T },
            Req { addr: m.page(50), len: 14 * PAGE_SIZE, tag: Tag { flags: 6, ..T } },
        ];
        for batch in [1, 2, 1024] {
            let mut r = Reader::new(std::process::id() as i32, batch);
            let mut buf = vec![0u8; 64 * PAGE_SIZE];
            let mut got = Vec::new();
            let used = r.read(&reqs, &mut buf, &mut got).unwrap();
            assert_eq!(r.faulted, 4, "iov batch {batch}");
            assert_eq!(used, 60 * PAGE_SIZE);
            let summary: Vec<(u64, u64, usize)> =
                got.iter().map(|g| ((g.addr - m.page(0)) / PAGE_SIZE as u64, g.pages, g.buf_off / PAGE_SIZE)).collect();
            assert_eq!(summary, vec![(0, 10, 0), (13, 27, 10), (41, 9, 37), (50, 14, 46)], "iov batch {batch}");
            for g in &got {
                for p in 0..g.pages as usize {
                    let page = (g.addr - m.page(0)) as usize / PAGE_SIZE + p;
                    let off = g.buf_off + p * PAGE_SIZE;
                    assert!(buf[off..off + PAGE_SIZE].iter().all(|&b| b == page as u8 + 1), "page {page}");
                }
            }
        }
    }

    #[test]
    fn proc_mem_reads_prot_none_pages() {
        let m = Map::new(4);
        // SAFETY: inside our mapping, then made inaccessible.
        unsafe {
            std::ptr::write_bytes(m.0, 0xab, 4 * PAGE_SIZE);
            libc::mprotect(m.0.cast(), 4 * PAGE_SIZE, libc::PROT_NONE);
        }
        let mut r = Reader::new(std::process::id() as i32, 1024);
        let mut buf = vec![0u8; 4 * PAGE_SIZE];
        let mut got = Vec::new();
        let tag = Tag { via_mem: true, ..T };
        let used = r.read(&[Req { addr: m.page(0), len: 4 * PAGE_SIZE, tag }], &mut buf, &mut got).unwrap();
        assert_eq!(used, 4 * PAGE_SIZE);
        assert!(buf.iter().all(|&b| b == 0xab));
        // process_vm_readv cannot.
        let mut got2 = Vec::new();
        r.read(&[Req { addr: m.page(0), len: 4 * PAGE_SIZE, tag: T }], &mut buf, &mut got2).unwrap();
        assert!(got2.is_empty());
        assert_eq!(r.faulted, 4);
    }

    #[test]
    fn vanished_task_is_esrch() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        let mut r = Reader::new(pid, 16);
        let mut buf = vec![0u8; PAGE_SIZE];
        let e = r.read(&[Req { addr: 0x10000, len: PAGE_SIZE, tag: T }], &mut buf, &mut Vec::new()).unwrap_err();
        assert!(e.is_vanished(), "{e}");
        assert!(e.to_string().contains(&format!("process {pid}")) && e.to_string().contains("process_vm_readv at 0x10000"), "{e}");
    }
}
