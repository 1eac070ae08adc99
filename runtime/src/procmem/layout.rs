//! How CRIU cuts dumped pages into `pagemap_entry` runs, reproduced so our pagemap is the one
//! CRIU would write for the same memory.
//!
//! CRIU does not cut at VMA boundaries: contiguous pages of neighbouring VMAs share an entry when
//! their flags agree (in the `sleep` fixture, `0x55fc46dcb000` × 2 spans a read-only and a
//! read-write VMA of `/usr/bin/sleep`). What cuts a run is the page pipe (`criu/page-pipe.c`):
//!
//! * pages are added in address order to the last page-pipe buffer (`ppb`); a page whose flags
//!   (lazy or not) differ from the buffer's starts a new buffer;
//! * a buffer is one pipe, grown with `F_SETPIPE_SZ` by doubling from 16 pages up to
//!   `PIPE_MAX_SIZE` (819 pages on x86-64, `8 * PAGE_SIZE / sizeof(struct pipe_buffer)`, which the
//!   kernel rounds up to 1024). When growing fails the buffer is full and the next page starts a new
//!   one, so **a run never spans more pages than a buffer holds, counted from the start of its
//!   buffer**, and the count includes earlier runs of the same buffer. How far a pipe grows depends
//!   on the environment CRIU runs in: without `CAP_SYS_RESOURCE` the kernel refuses sizes above
//!   `/proc/sys/fs/pipe-max-size` (1 MiB by default: 256 pages, which is what the machine this was
//!   written on gives even to root); with it, 1024 pages. [`ppb_capacity`] works it out for our own
//!   credentials, assuming CRIU runs with the same;
//! * inside a buffer, a page contiguous with the last iovec extends it (`iov_grow_page`).
//!
//! Parent holes (`PE_PARENT`) live in a separate list, merged when contiguous, and are written in
//! address order between the buffers' iovecs; they do not count against a buffer.
//!
//! Flags are `PE_PRESENT`, or `PE_LAZY | PE_PRESENT` for pages of VMAs that
//! `vma_entry_can_be_lazy` accepts, unless `is_stack()` says the page holds a thread's stack
//! pointer. That test is `!((sp ^ vaddr) & ~PAGE_MASK)`, which compares the offsets *within* a
//! page, not the page numbers: for a page-aligned `vaddr` it is true exactly when some thread's
//! `sp` is itself page-aligned, and then for every lazy-eligible page. We reproduce it as is
//! ([`Layout::new`] takes the stack pointers), so that our pagemap matches CRIU's byte for byte.

use super::PAGE_SIZE;

pub use crate::pagemap::{PE_LAZY, PE_PARENT, PE_PRESENT};

/// Pages in a fully grown page-pipe buffer when nothing limits the pipe size:
/// `roundup_pow_of_two(PIPE_MAX_SIZE)`.
pub const PPB_MAX_PAGES: u64 = 1024;

/// How many pages CRIU's page-pipe buffers hold when CRIU has our credentials: it grows each
/// pipe 16 → 32 → … → 512 → 819 (rounded to 1024) pages and stops at the first size the kernel
/// refuses (`pipe_set_size`: above `pipe-max-size` without `CAP_SYS_RESOURCE`).
pub fn ppb_capacity() -> u64 {
    let max_bytes: u64 = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20);
    const CAP_SYS_RESOURCE: u32 = 24;
    let cap_resource = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("CapEff:")).and_then(|l| u64::from_str_radix(l[7..].trim(), 16).ok()))
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0);
    capacity_for(max_bytes, cap_resource)
}

fn capacity_for(pipe_max_size: u64, cap_sys_resource: bool) -> u64 {
    const PIPE_MAX_SIZE: u64 = 819;
    let allowed = |pages: u64| cap_sys_resource || pages * PAGE_SIZE as u64 <= pipe_max_size;
    let mut cap = 16u64;
    loop {
        let mut next = cap * 2;
        if next > PIPE_MAX_SIZE {
            if cap >= PIPE_MAX_SIZE {
                return cap;
            }
            next = PIPE_MAX_SIZE.next_power_of_two();
        }
        if !allowed(next) {
            return cap;
        }
        cap = next;
    }
}

/// One pagemap entry: `nr_pages` pages from `vaddr` with `flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// The first address (page-aligned).
    pub vaddr: u64,
    /// Pages in the run.
    pub nr_pages: u64,
    /// `PE_*` flags ([`PE_PRESENT`], [`PE_PARENT`], [`PE_LAZY`]).
    pub flags: u32,
}

impl Run {
    /// One past the last address of the run.
    pub fn end(&self) -> u64 {
        self.vaddr + self.nr_pages * PAGE_SIZE as u64
    }
}

/// Turns pages, fed in address order, into CRIU's runs.
#[derive(Debug)]
pub struct Layout {
    /// The flags of the current page-pipe buffer and how many pages it holds.
    ppb: Option<(u32, u64)>,
    open: Option<Run>,
    /// CRIU's `is_stack` is true for every page when some thread's sp is page-aligned.
    sp_page_aligned: bool,
    capacity: u64,
}

impl Layout {
    /// `thread_sps`: the stack pointers of the target's threads; `ppb_pages`: see
    /// [`ppb_capacity`].
    pub fn new(thread_sps: &[u64], ppb_pages: u64) -> Layout {
        Layout {
            ppb: None,
            open: None,
            sp_page_aligned: thread_sps.iter().any(|sp| sp % PAGE_SIZE as u64 == 0),
            capacity: ppb_pages.max(1),
        }
    }

    /// The flags CRIU gives a present page of a VMA that can (or cannot) be lazy.
    pub fn present_flags(&self, lazy_vma: bool) -> u32 {
        if lazy_vma && !self.sp_page_aligned { PE_LAZY | PE_PRESENT } else { PE_PRESENT }
    }

    /// Adds `n` present pages from `addr` with `flags`; completed runs go to `emit`.
    pub fn present(&mut self, mut addr: u64, mut n: u64, flags: u32, emit: &mut impl FnMut(Run)) {
        while n > 0 {
            let (pf, count) = match self.ppb {
                Some((f, c)) if f == flags && c < self.capacity => (f, c),
                _ => {
                    // A new buffer: no later page can join a run of the old one.
                    if let Some(r) = self.open.take_if(|r| r.flags & PE_PRESENT != 0) {
                        emit(r);
                    }
                    (flags, 0)
                }
            };
            let take = n.min(self.capacity - count);
            match &mut self.open {
                Some(r) if r.flags == flags && r.end() == addr => r.nr_pages += take,
                _ => {
                    if let Some(r) = self.open.take() {
                        emit(r);
                    }
                    self.open = Some(Run { vaddr: addr, nr_pages: take, flags });
                }
            }
            self.ppb = Some((pf, count + take));
            addr += take * PAGE_SIZE as u64;
            n -= take;
        }
    }

    /// Adds `n` pages from `addr` that are in the parent.
    pub fn parent(&mut self, addr: u64, n: u64, emit: &mut impl FnMut(Run)) {
        if n == 0 {
            return;
        }
        match &mut self.open {
            Some(r) if r.flags == PE_PARENT && r.end() == addr => r.nr_pages += n,
            _ => {
                if let Some(r) = self.open.take() {
                    emit(r);
                }
                self.open = Some(Run { vaddr: addr, nr_pages: n, flags: PE_PARENT });
            }
        }
    }

    /// Emits the last run.
    pub fn finish(&mut self, emit: &mut impl FnMut(Run)) {
        if let Some(r) = self.open.take() {
            emit(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PAGE_SIZE as u64;

    fn runs(l: &mut Layout, f: impl FnOnce(&mut Layout, &mut dyn FnMut(Run))) -> Vec<(u64, u64, u32)> {
        let mut out = Vec::new();
        let mut emit = |r: Run| out.push((r.vaddr / P, r.nr_pages, r.flags));
        f(l, &mut emit);
        l.finish(&mut emit);
        out
    }

    #[test]
    fn contiguous_pages_of_neighbouring_vmas_share_a_run() {
        let mut l = Layout::new(&[0x7ffc_fef9_9e18], 1024);
        let r = runs(&mut l, |l, e| {
            // sleep fixture: 0x55fc46dcb000 (ro VMA, 1 page) + 0x55fc46dcc000 (rw VMA, 1 page)
            l.present(0x55fc46dcb000, 1, PE_PRESENT, &mut |r| e(r));
            l.present(0x55fc46dcc000, 1, PE_PRESENT, &mut |r| e(r));
            l.present(0x55fc59d21000, 4, l.present_flags(true), &mut |r| e(r));
        });
        assert_eq!(r, vec![(0x55fc46dcb, 2, 4), (0x55fc59d21, 4, 6)]);
    }

    #[test]
    fn flag_changes_and_full_buffers_cut_runs() {
        let mut l = Layout::new(&[], 1024);
        let r = runs(&mut l, |l, e| {
            l.present(0, 1000, 6, &mut |r| e(r));
            // Same buffer (24 more pages fit), not contiguous: a new run in the same buffer.
            l.present(2000 * P, 30, 6, &mut |r| e(r));
            // 1024 reached after 24 pages of that call: the rest starts a new buffer.
            l.present(2030 * P, 3000, 6, &mut |r| e(r));
            l.present(9000 * P, 2, 4, &mut |r| e(r));
            l.present(9002 * P, 2, 6, &mut |r| e(r));
        });
        assert_eq!(
            r,
            vec![(0, 1000, 6), (2000, 24, 6), (2024, 1024, 6), (3048, 1024, 6), (4072, 958, 6), (9000, 2, 4), (9002, 2, 6)]
        );
    }

    #[test]
    fn parent_holes_interleave_and_do_not_count() {
        let mut l = Layout::new(&[], 1024);
        let r = runs(&mut l, |l, e| {
            l.present(0, 1020, 4, &mut |r| e(r));
            l.parent(1020 * P, 100, &mut |r| e(r));
            l.parent(1120 * P, 5, &mut |r| e(r));
            l.present(1125 * P, 10, 4, &mut |r| e(r));
        });
        assert_eq!(r, vec![(0, 1020, 4), (1020, 105, 1), (1125, 4, 4), (1129, 6, 4)]);
    }

    #[test]
    fn pipe_capacity_follows_pipe_max_size_and_cap_sys_resource() {
        assert_eq!(capacity_for(1 << 20, false), 256);
        assert_eq!(capacity_for(1 << 20, true), 1024);
        assert_eq!(capacity_for(3 << 20, false), 512);
        assert_eq!(capacity_for(4 << 20, false), 1024);
        assert_eq!(capacity_for(64 << 10, false), 16);
    }

    #[test]
    fn page_aligned_sp_makes_nothing_lazy_as_in_criu() {
        assert_eq!(Layout::new(&[0x7ffc_0000_1000], 1024).present_flags(true), PE_PRESENT);
        assert_eq!(Layout::new(&[0x7ffc_0000_1008], 1024).present_flags(true), PE_LAZY | PE_PRESENT);
        assert_eq!(Layout::new(&[], 1024).present_flags(false), PE_PRESENT);
    }
}
