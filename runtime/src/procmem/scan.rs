//! Which pages of a VMA to dump: the `PAGEMAP_SCAN` ioctl where the kernel has it (6.7+), else
//! `/proc/PID/pagemap` entries.
//!
//! CRIU 4.2 makes the same choice (`criu/pagemap-cache.c`) and applies the same filter either
//! way: a page is dumped when it is present or swapped, is not the zero page, and is not still a
//! page-cache page of a private file mapping. The two paths differ in one detail that matters:
//! `PAGEMAP_SCAN` reports `PAGE_IS_PFNZERO` for the huge zero page as well and needs no
//! privilege, while the pagemap path can only compare PFNs, which the kernel hides from
//! processes without `CAP_SYS_ADMIN` (CRIU's `kdat.zero_page_pfn` has the same limitation). We
//! probe both zero PFNs once (see [`KernelFacts`]) so the fallback path matches too.
//!
//! `/proc/PID/pagemap` bits used (Documentation/admin-guide/mm/pagemap.rst): 63 present,
//! 62 swapped, 61 file-page or shared-anon, 58 guard region, 55 soft-dirty, 0-54 PFN.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

use super::maps::Vma;
use super::{Error, PAGE_SIZE};

const PM_PRESENT: u64 = 1 << 63;
const PM_SWAP: u64 = 1 << 62;
const PM_FILE: u64 = 1 << 61;
const PM_GUARD_REGION: u64 = 1 << 58;
const PM_SOFT_DIRTY: u64 = 1 << 55;
const PM_PFN_MASK: u64 = (1 << 55) - 1;

// include/uapi/linux/fs.h
const PAGE_IS_FILE: u64 = 1 << 2;
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PAGE_IS_PFNZERO: u64 = 1 << 5;
const PAGE_IS_SOFT_DIRTY: u64 = 1 << 7;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: libc::c_ulong = (3 << 30) | ((std::mem::size_of::<PmScanArg>() as libc::c_ulong) << 16) | (0x66 << 8) | 16;

/// How to find the pages to dump.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScanMode {
    /// `PAGEMAP_SCAN` when the kernel supports it, else the pagemap file.
    #[default]
    Auto,
    /// The `PAGEMAP_SCAN` ioctl (Linux 6.7+); an error where the kernel lacks it.
    PagemapScan,
    /// Read `/proc/PID/pagemap` entries (any kernel).
    Pagemap,
}

/// A run of pages to dump, found by the scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub addr: u64,
    pub pages: u64,
    /// The kernel's soft-dirty bit for all of these pages (always true where the kernel does not
    /// track soft-dirty pages, so nothing is ever taken from a parent on its word).
    pub soft_dirty: bool,
}

/// Facts about the running kernel, probed once per process in our own address space.
#[derive(Clone, Copy, Debug)]
pub struct KernelFacts {
    /// PFN of the shared zero page, when PFNs are visible to us.
    pub zero_pfn: Option<u64>,
    /// First PFN of the huge zero page, when THP maps it and PFNs are visible.
    pub huge_zero_pfn: Option<u64>,
    /// Whether the kernel tracks soft-dirty pages (`CONFIG_MEM_SOFT_DIRTY`): a freshly written
    /// page of ours shows bit 55.
    pub soft_dirty: bool,
    /// Whether `PAGEMAP_SCAN` works.
    pub pagemap_scan: bool,
}

impl KernelFacts {
    /// Probes (once) and returns the facts.
    pub fn get() -> KernelFacts {
        static FACTS: OnceLock<KernelFacts> = OnceLock::new();
        *FACTS.get_or_init(probe)
    }
}

/// An anonymous private mapping of our own, unmapped on drop.
struct Scratch {
    ptr: *mut u8,
    len: usize,
}

impl Scratch {
    fn new(len: usize) -> Option<Scratch> {
        // SAFETY: a fresh anonymous mapping; the kernel picks the address.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        (p != libc::MAP_FAILED).then_some(Scratch { ptr: p.cast(), len })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` created.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn own_pagemap_entry(f: &File, addr: usize) -> Option<u64> {
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, (addr / PAGE_SIZE * 8) as u64).ok()?;
    Some(u64::from_le_bytes(b))
}

fn probe() -> KernelFacts {
    let mut facts = KernelFacts { zero_pfn: None, huge_zero_pfn: None, soft_dirty: false, pagemap_scan: false };
    let Ok(pm) = File::open("/proc/self/pagemap") else { return facts };
    const HUGE: usize = 2 << 20;
    if let Some(s) = Scratch::new(3 * HUGE) {
        let base = s.ptr as usize;
        // Page 0: only read, so the kernel maps the shared zero page (CRIU's kerndat does this).
        // SAFETY: `base` is inside our fresh readable mapping.
        let _ = unsafe { std::ptr::read_volatile(base as *const u8) };
        if let Some(e) = own_pagemap_entry(&pm, base) {
            let pfn = e & PM_PFN_MASK;
            if e & PM_PRESENT != 0 && pfn != 0 {
                facts.zero_pfn = Some(pfn);
            }
        }
        // Page 1: written, so it is a private page: soft-dirty where the kernel tracks it.
        // SAFETY: `base + PAGE_SIZE` is inside the mapping, which is writable.
        unsafe { std::ptr::write_volatile((base + PAGE_SIZE) as *mut u8, 1) };
        if let Some(e) = own_pagemap_entry(&pm, base + PAGE_SIZE) {
            facts.soft_dirty = e & PM_SOFT_DIRTY != 0;
        }
        // A 2 MiB-aligned block, only read after MADV_HUGEPAGE: THP maps the huge zero page.
        let aligned = (base + HUGE).next_multiple_of(HUGE);
        // SAFETY: `aligned..aligned+HUGE` lies inside the 6 MiB mapping; madvise only sets a hint.
        unsafe { libc::madvise(aligned as *mut libc::c_void, HUGE, libc::MADV_HUGEPAGE) };
        // SAFETY: inside our readable mapping.
        let _ = unsafe { std::ptr::read_volatile(aligned as *const u8) };
        if let Some(e) = own_pagemap_entry(&pm, aligned) {
            let pfn = e & PM_PFN_MASK;
            if e & PM_PRESENT != 0 && pfn != 0 && Some(pfn) != facts.zero_pfn && pfn & 511 == 0 {
                facts.huge_zero_pfn = Some(pfn);
            }
        }
        let mut regions = [PageRegion::default(); 4];
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            start: base as u64,
            end: (base + PAGE_SIZE) as u64,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            category_anyof_mask: PAGE_IS_PRESENT,
            return_mask: PAGE_IS_PRESENT,
            ..Default::default()
        };
        // SAFETY: `arg` and `regions` outlive the call; the kernel writes at most `vec_len`
        // regions and the walk_end field.
        let r = unsafe { libc::ioctl(pm.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg as *mut PmScanArg) };
        facts.pagemap_scan = r >= 0;
    }
    facts
}

/// Page scanner over one target.
pub(crate) struct Scanner {
    pid: i32,
    pagemap: File,
    use_ioctl: bool,
    facts: KernelFacts,
    regions: Vec<PageRegion>,
    entries: Vec<u8>,
}

/// Regions per `PAGEMAP_SCAN` call, and pagemap entries per read: 24 KiB and 64 KiB, which covers
/// 32 MiB of address space per read in the fallback and any number of present pages per region.
const SCAN_REGIONS: usize = 1024;
const PAGEMAP_ENTRIES: usize = 8192;

impl Scanner {
    pub fn new(pid: i32, mode: ScanMode) -> Result<Scanner, Error> {
        let path = format!("/proc/{pid}/pagemap");
        let pagemap = File::open(&path).map_err(|e| Error::from_errno(pid, "open", None, Some(path.into()), e))?;
        let facts = KernelFacts::get();
        let use_ioctl = match mode {
            ScanMode::Auto => facts.pagemap_scan,
            ScanMode::PagemapScan if facts.pagemap_scan => true,
            ScanMode::PagemapScan => {
                return Err(Error::Options("this kernel has no PAGEMAP_SCAN ioctl (Linux 6.7+); use ScanMode::Pagemap".into()));
            }
            ScanMode::Pagemap => false,
        };
        let (regions, entries) = if use_ioctl {
            (vec![PageRegion::default(); SCAN_REGIONS], Vec::new())
        } else {
            (Vec::new(), vec![0u8; PAGEMAP_ENTRIES * 8])
        };
        Ok(Scanner { pid, pagemap, use_ioctl, facts, regions, entries })
    }

    /// Bytes this scanner holds.
    pub fn held(&self) -> usize {
        self.regions.capacity() * std::mem::size_of::<PageRegion>() + self.entries.capacity()
    }

    /// Which path is in use.
    pub fn mode(&self) -> ScanMode {
        if self.use_ioctl { ScanMode::PagemapScan } else { ScanMode::Pagemap }
    }

    /// Appends the spans to dump in `[from, vma.end)` to `out`, looking at a bounded window, and
    /// returns where the next call should continue (`vma.end` when done).
    pub fn scan(&mut self, vma: &Vma, from: u64, out: &mut Vec<Span>) -> Result<u64, Error> {
        if self.use_ioctl { self.scan_ioctl(vma, from, out) } else { self.scan_pagemap(vma, from, out) }
    }

    fn scan_ioctl(&mut self, vma: &Vma, from: u64, out: &mut Vec<Span>) -> Result<u64, Error> {
        // The same request as CRIU's pmc_fill: present or swapped, neither the zero page nor a
        // page-cache page.
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            start: from,
            end: vma.end,
            vec: self.regions.as_mut_ptr() as u64,
            vec_len: self.regions.len() as u64,
            category_inverted: PAGE_IS_PFNZERO | PAGE_IS_FILE,
            category_mask: PAGE_IS_PFNZERO | PAGE_IS_FILE,
            category_anyof_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            return_mask: PAGE_IS_SOFT_DIRTY,
            ..Default::default()
        };
        // SAFETY: `arg` and `self.regions` outlive the call, and `vec_len` is the length of
        // `self.regions`, so the kernel writes only memory we own.
        let r = unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg as *mut PmScanArg) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::from_errno(self.pid, "ioctl(PAGEMAP_SCAN)", Some(from), None, e));
        }
        let n = (r as usize).min(self.regions.len());
        for reg in &self.regions[..n] {
            out.push(Span {
                addr: reg.start,
                pages: (reg.end - reg.start) / PAGE_SIZE as u64,
                // Where soft-dirty is not tracked the bit is never set; report "dirty" so that
                // only content comparison can take a page from the parent.
                soft_dirty: !self.facts.soft_dirty || reg.categories & PAGE_IS_SOFT_DIRTY != 0,
            });
        }
        // A task whose mm is gone makes the walk stop at once; the readers report ESRCH later.
        Ok(if arg.walk_end <= from { vma.end } else { arg.walk_end.min(vma.end) })
    }

    fn scan_pagemap(&mut self, vma: &Vma, from: u64, out: &mut Vec<Span>) -> Result<u64, Error> {
        let page = PAGE_SIZE as u64;
        let n = (((vma.end - from) / page) as usize).min(PAGEMAP_ENTRIES);
        let buf = &mut self.entries[..n * 8];
        let off = from / page * 8;
        let mut got = 0;
        while got < buf.len() {
            match self.pagemap.read_at(&mut buf[got..], off + got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_errno(self.pid, "pread(/proc/PID/pagemap)", Some(from), None, e)),
            }
        }
        // An exited task reads as end of file; the readers then report ESRCH.
        let got = got / 8;
        let skip_file = vma.skips_file_pages();
        let mut cur: Option<Span> = None;
        for i in 0..got {
            let e = u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            let pfn = e & PM_PFN_MASK;
            let zero = e & PM_PRESENT != 0
                && pfn != 0
                && (Some(pfn) == self.facts.zero_pfn || self.facts.huge_zero_pfn.is_some_and(|h| pfn >= h && pfn < h + 512));
            let dump = e & (PM_PRESENT | PM_SWAP) != 0 && !zero && !(skip_file && e & PM_FILE != 0) && e & PM_GUARD_REGION == 0;
            let addr = from + i as u64 * page;
            if !dump {
                if let Some(s) = cur.take() {
                    out.push(s);
                }
                continue;
            }
            let sd = !self.facts.soft_dirty || e & PM_SOFT_DIRTY != 0;
            match &mut cur {
                Some(s) if s.soft_dirty == sd => s.pages += 1,
                _ => {
                    if let Some(s) = cur.take() {
                        out.push(s);
                    }
                    cur = Some(Span { addr, pages: 1, soft_dirty: sd });
                }
            }
        }
        if let Some(s) = cur {
            out.push(s);
        }
        Ok(if got < n { vma.end } else { from + n as u64 * page })
    }
}

/// The stack pointers of the target's threads, from `/proc/PID/task/*/syscall` (`nr args... sp pc`,
/// or `-1 sp pc`, or `running`). CRIU reads them from the seized registers; see
/// [`super::layout`] for why they matter.
pub(crate) fn thread_sps(pid: i32) -> Vec<u64> {
    let mut sps = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return sps };
    for t in dir.flatten() {
        let Ok(s) = std::fs::read_to_string(t.path().join("syscall")) else { continue };
        let f: Vec<&str> = s.split_whitespace().collect();
        let sp = f.len().checked_sub(2).filter(|_| f.len() >= 3).and_then(|i| f[i].strip_prefix("0x"));
        if let Some(sp) = sp.and_then(|h| u64::from_str_radix(h, 16).ok()) {
            sps.push(sp);
        }
    }
    sps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_number_matches_the_uapi_header() {
        // From `#include <linux/fs.h>`: printf("%lx", PAGEMAP_SCAN).
        assert_eq!(PAGEMAP_SCAN, 0xc060_6610);
        assert_eq!(std::mem::size_of::<PmScanArg>(), 96);
    }

    #[test]
    fn both_scanners_agree_on_our_own_memory() {
        let s = Scratch::new(64 * PAGE_SIZE).unwrap();
        let base = s.ptr as u64;
        // Pages 0..8 written, 8..16 only read (zero page), 16..20 written, rest untouched.
        for p in (0..8).chain(16..20) {
            // SAFETY: inside the writable scratch mapping.
            unsafe { std::ptr::write_volatile(s.ptr.add(p * PAGE_SIZE), 7) };
        }
        for p in 8..16 {
            // SAFETY: inside the readable scratch mapping.
            let _ = unsafe { std::ptr::read_volatile(s.ptr.add(p * PAGE_SIZE)) };
        }
        let vma = Vma {
            start: base,
            end: base + 64 * PAGE_SIZE as u64,
            read: true,
            write: true,
            exec: false,
            shared: false,
            offset: 0,
            inode: 0,
            path: Vec::new(),
            locked: false,
            hugetlb: false,
            droppable: false,
            io_pf: false,
            class: super::super::maps::VmaClass::AnonPrivate,
        };
        let pid = std::process::id() as i32;
        let mut results = Vec::new();
        for mode in [ScanMode::Pagemap, ScanMode::Auto] {
            let mut sc = Scanner::new(pid, mode).unwrap();
            let mut out = Vec::new();
            let mut at = vma.start;
            while at < vma.end {
                at = sc.scan(&vma, at, &mut out).unwrap();
            }
            let pages: Vec<(u64, u64)> = out.iter().map(|s| ((s.addr - base) / PAGE_SIZE as u64, s.pages)).collect();
            results.push(pages);
        }
        let facts = KernelFacts::get();
        // Without PFNs (not root) the fallback cannot recognise the zero page.
        if facts.zero_pfn.is_some() {
            assert_eq!(results[0], vec![(0, 8), (16, 4)]);
        }
        if facts.pagemap_scan {
            assert_eq!(results[1], vec![(0, 8), (16, 4)]);
        }
    }
}
