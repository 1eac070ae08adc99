//! Page-by-page comparison of two tasks' memory, as a restore would fill it.
//!
//! Both tasks are read through the memory model ([`crate::memory::Task::walk`]), which resolves
//! `PE_PARENT` runs through the parent chain, shared memory through its shmem pagemap, and knows
//! which pages are zeros (private anonymous memory CRIU did not dump). The addresses that both
//! tasks map are walked in windows of [`WINDOW`] bytes; each side's pieces of a window are
//! borrowed slices of the mapped pages files (nothing is copied), and once a window is compared
//! its ranges of the pages files are released from the process's resident memory
//! ([`Checkpoint::release`]), so what is held is one window per side, whatever the size of the
//! pages files.
//!
//! Equality of a page, piece by piece:
//! - stored bytes against stored bytes: the bytes;
//! - stored bytes against a known-zero page (not dumped): the bytes are all zero;
//! - a page that comes from a file (a clean page of a private file mapping, any page of a shared
//!   one: not in the checkpoint) against the same: equal when it is the same file at the same
//!   offset (the files section compares the files themselves); against anything else: differs;
//! - a page the kernel provides (`[vvar]`, `[vsyscall]`) against the same: equal;
//! - anything that cannot be read (a lazy page, a `PE_PARENT` page whose parent is missing, a
//!   truncated pages file): neither equal nor different — a problem that makes the comparison
//!   incomplete.

use std::ops::ControlFlow;

use crate::checkpoint::Checkpoint;
use crate::memory::{Piece, Stored, Task, Unreadable, Vma};
use crate::pagemap::PAGE_SIZE;

/// Bytes compared per step: 4 MiB (1 024 pages).
pub const WINDOW: u64 = 4 << 20;

/// How one VMA of B compares with the memory of A at the same addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaPages {
    /// The VMA of B: first address.
    pub start: u64,
    /// One past its last address.
    pub end: u64,
    /// `rw-p`.
    pub perms: String,
    /// What it maps, as `/proc/PID/maps` names it.
    pub name: Vec<u8>,
    /// Pages of it that A maps too (the ones compared).
    pub pages: u64,
    /// Of those, pages whose contents differ.
    pub pages_differ: u64,
    /// Pages that could not be compared (see the problems).
    pub pages_unknown: u64,
}

/// Something that kept pages from being compared: `(side, reason)`, side 0 for A and 1 for B.
pub(crate) type Unknown = (usize, Unreadable);

/// Compares the memory of `a` and `b` over the addresses both map, per VMA of `b` (those with at
/// least one page compared). Calls `unknown` for each piece that could not be read.
pub(crate) fn compare(a: Side<'_, '_>, b: Side<'_, '_>, unknown: &mut dyn FnMut(Unknown)) -> Vec<VmaPages> {
    let va: Vec<&Vma> = a.task.vmas().collect();
    let vb: Vec<&Vma> = b.task.vmas().collect();
    let mut out: Vec<VmaPages> = Vec::new();
    let mut scratch = Scratch::default();
    let (mut i, mut j) = (0usize, 0usize);
    while i < va.len() && j < vb.len() {
        let (x, y) = (va[i], vb[j]);
        let lo = x.start.max(y.start);
        let hi = x.end.min(y.end);
        if lo < hi {
            let entry = match out.last_mut() {
                Some(e) if e.start == y.start => e,
                _ => {
                    out.push(VmaPages {
                        start: y.start,
                        end: y.end,
                        perms: String::from_utf8_lossy(&y.perms()).into_owned(),
                        name: y.name(),
                        pages: 0,
                        pages_differ: 0,
                        pages_unknown: 0,
                    });
                    out.last_mut().expect("just pushed")
                }
            };
            let (differ, unk) = compare_range(a, b, lo, hi, &mut scratch, unknown);
            entry.pages += pages_in(lo, hi);
            entry.pages_differ += differ;
            entry.pages_unknown += unk;
        }
        if x.end <= y.end {
            i += 1;
        } else {
            j += 1;
        }
    }
    scratch.release_a.flush(a.ckpt);
    scratch.release_b.flush(b.ckpt);
    out
}

/// One side of the comparison: a task and the checkpoint its pages files are in.
#[derive(Clone, Copy)]
pub(crate) struct Side<'t, 'c> {
    pub ckpt: &'c Checkpoint,
    pub task: &'t Task<'c>,
}

/// Pages touched by `[lo, hi)`.
fn pages_in(lo: u64, hi: u64) -> u64 {
    if hi <= lo { 0 } else { (hi - 1) / PAGE_SIZE - lo / PAGE_SIZE + 1 }
}

/// What one side holds over part of a window.
#[derive(Debug)]
enum Content<'a> {
    Bytes(Stored<'a>),
    Zero,
    Absent(Unreadable),
}

#[derive(Debug)]
struct Seg<'a> {
    start: u64,
    end: u64,
    content: Content<'a>,
}

/// The two sides' pieces of the current window (reused between windows), and what of their
/// pages files is to be released.
#[derive(Default)]
struct Scratch<'a> {
    a: Vec<Seg<'a>>,
    b: Vec<Seg<'a>>,
    release_a: Releaser<'a>,
    release_b: Releaser<'a>,
}

fn collect<'a>(t: &Task<'a>, lo: u64, hi: u64, out: &mut Vec<Seg<'a>>) {
    out.clear();
    let _ = t.walk(lo, hi - lo, &mut |pos, len, _, piece| {
        let content = match piece {
            Piece::Stored(s) => Content::Bytes(s),
            Piece::Zero => Content::Zero,
            Piece::Absent(why) => Content::Absent(why),
        };
        out.push(Seg { start: pos, end: pos + len, content });
        ControlFlow::Continue(())
    });
}

/// Compares `[lo, hi)` window by window: `(pages that differ, pages that could not be compared)`.
fn compare_range<'a>(
    a: Side<'_, 'a>,
    b: Side<'_, 'a>,
    lo: u64,
    hi: u64,
    s: &mut Scratch<'a>,
    unknown: &mut dyn FnMut(Unknown),
) -> (u64, u64) {
    let (mut differ, mut unk) = (0u64, 0u64);
    let mut w = lo;
    while w < hi {
        let we = hi.min(w.saturating_add(WINDOW)).max(w + 1);
        collect(a.task, w, we, &mut s.a);
        collect(b.task, w, we, &mut s.b);
        let (d, u) = compare_window(&s.a, &s.b, w, we, unknown);
        s.release_a.add(a.ckpt, &s.a);
        s.release_b.add(b.ckpt, &s.b);
        differ += d;
        unk += u;
        w = we;
    }
    (differ, unk)
}

/// Ranges of pages files that have been compared, to release from the resident memory: the
/// pieces of a walk in address order are mostly consecutive in their pages file (CRIU writes it
/// in pagemap order), so they are merged and released in large ranges, one `madvise` each.
#[derive(Default)]
struct Releaser<'a> {
    /// `(depth, pages file, offset, len)` of the range being gathered.
    cur: Option<(usize, &'a str, u64, u64)>,
}

impl<'a> Releaser<'a> {
    const BATCH: u64 = WINDOW;

    fn add(&mut self, ckpt: &Checkpoint, segs: &[Seg<'a>]) {
        for seg in segs {
            let Content::Bytes(s) = &seg.content else { continue };
            let len = s.bytes.len() as u64;
            match &mut self.cur {
                Some((d, p, off, n)) if *d == s.depth && *p == s.pages && *off + *n == s.offset => *n += len,
                _ => {
                    self.flush(ckpt);
                    self.cur = Some((s.depth, s.pages, s.offset, len));
                }
            }
            if self.cur.is_some_and(|c| c.3 >= Self::BATCH) {
                self.flush(ckpt);
            }
        }
    }

    fn flush(&mut self, ckpt: &Checkpoint) {
        if let Some((depth, pages, off, len)) = self.cur.take()
            && let Some(layer) = ckpt.layer(depth)
        {
            layer.release(pages, off, len);
        }
    }
}

/// A page counter for ascending ranges: each page is counted once, even when several
/// sub-ranges of it are marked.
struct PageSet {
    next: u64,
    n: u64,
}

impl PageSet {
    fn mark(&mut self, lo: u64, hi: u64) {
        if hi <= lo {
            return;
        }
        let first = (lo / PAGE_SIZE).max(self.next);
        let last = (hi - 1) / PAGE_SIZE;
        if first <= last {
            self.n += last - first + 1;
            self.next = last + 1;
        }
    }
}

fn compare_window(a: &[Seg<'_>], b: &[Seg<'_>], lo: u64, hi: u64, unknown: &mut dyn FnMut(Unknown)) -> (u64, u64) {
    let mut differ = PageSet { next: 0, n: 0 };
    let mut unk = PageSet { next: 0, n: 0 };
    let (mut i, mut j) = (0usize, 0usize);
    let mut x = lo;
    // The walk covers every address of the range; a piece missing at the end would be a bug of
    // the walk, and is counted as unknown rather than looped on.
    while x < hi {
        while i < a.len() && a[i].end <= x {
            i += 1;
        }
        while j < b.len() && b[j].end <= x {
            j += 1;
        }
        let (Some(sa), Some(sb)) = (a.get(i).filter(|s| s.start <= x), b.get(j).filter(|s| s.start <= x)) else {
            unk.mark(x, hi);
            break;
        };
        let y = sa.end.min(sb.end).min(hi);
        if is_data(sa) && is_data(sb) {
            // Bytes are compared page by page: a page differs, not the run it is part of.
            let mut c = x;
            while c < y {
                let ce = (c / PAGE_SIZE + 1).saturating_mul(PAGE_SIZE).min(y);
                match same(sa, sb, c, ce) {
                    Same::Yes => {}
                    Same::No => differ.mark(c, ce),
                    Same::Unknown => unk.mark(c, ce),
                }
                c = ce;
            }
            x = y;
            continue;
        }
        match same(sa, sb, x, y) {
            Same::Yes => {}
            Same::No => differ.mark(x, y),
            Same::Unknown => {
                for (side, seg) in [(0, sa), (1, sb)] {
                    if let Content::Absent(why) = &seg.content
                        && !comparable(why)
                    {
                        unknown((side, why.clone()));
                    }
                }
                unk.mark(x, y);
            }
        }
        x = y;
    }
    (differ.n, unk.n)
}

/// Bytes or known zeros.
fn is_data(s: &Seg<'_>) -> bool {
    matches!(s.content, Content::Bytes(_) | Content::Zero)
}

enum Same {
    Yes,
    No,
    Unknown,
}

/// Whether an unreadable piece is still a definite content (a file's page, a kernel page), that
/// can be compared with the same on the other side.
fn comparable(why: &Unreadable) -> bool {
    matches!(why, Unreadable::FromFile { .. } | Unreadable::Kernel(_) | Unreadable::Unmapped)
}

fn same<'a>(sa: &Seg<'a>, sb: &Seg<'a>, x: u64, y: u64) -> Same {
    let bytes = |s: &Seg<'a>| -> Option<&'a [u8]> {
        match s.content {
            Content::Bytes(b) => b.bytes.get((x - s.start) as usize..(y - s.start) as usize),
            _ => None,
        }
    };
    match (&sa.content, &sb.content) {
        (Content::Absent(wa), _) if !comparable(wa) => Same::Unknown,
        (_, Content::Absent(wb)) if !comparable(wb) => Same::Unknown,
        (Content::Bytes(_), Content::Bytes(_)) => match (bytes(sa), bytes(sb)) {
            (Some(p), Some(q)) => {
                if p == q {
                    Same::Yes
                } else {
                    Same::No
                }
            }
            _ => Same::Unknown,
        },
        (Content::Bytes(_), Content::Zero) => zeros(bytes(sa)),
        (Content::Zero, Content::Bytes(_)) => zeros(bytes(sb)),
        (Content::Zero, Content::Zero) => Same::Yes,
        (Content::Absent(wa), Content::Absent(wb)) => {
            let same = match (wa, wb) {
                (Unreadable::FromFile { file: fa, offset: oa }, Unreadable::FromFile { file: fb, offset: ob }) => {
                    fa == fb && oa.wrapping_add(x - sa.start) == ob.wrapping_add(x - sb.start)
                }
                (Unreadable::Kernel(ka), Unreadable::Kernel(kb)) => ka == kb,
                (Unreadable::Unmapped, Unreadable::Unmapped) => true,
                _ => false,
            };
            if same { Same::Yes } else { Same::No }
        }
        // A page in the checkpoint against one that is not (a file's page, a kernel page).
        _ => Same::No,
    }
}

fn zeros(b: Option<&[u8]>) -> Same {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    match b {
        Some(b) if b.chunks(ZEROS.len()).all(|c| c == &ZEROS[..c.len()]) => Same::Yes,
        Some(_) => Same::No,
        None => Same::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_counted_once() {
        let mut s = PageSet { next: 0, n: 0 };
        s.mark(0, 10);
        s.mark(10, 4096);
        s.mark(4096, 4097);
        s.mark(3 * 4096, 5 * 4096);
        assert_eq!(s.n, 4);
        assert_eq!(pages_in(0, 4096), 1);
        assert_eq!(pages_in(4095, 4097), 2);
        assert_eq!(pages_in(5, 5), 0);
    }

    fn bytes(b: &[u8]) -> Content<'_> {
        Content::Bytes(Stored { bytes: b, file: b, offset: 0, pages: "pages-1.img", depth: 0 })
    }

    #[test]
    fn windows_compare_piece_by_piece() {
        let page = |b: u8| vec![b; 4096];
        let (p1, p0, p2) = (page(1), page(0), page(2));
        let a = vec![
            Seg { start: 0, end: 4096, content: bytes(&p1) },
            Seg { start: 4096, end: 8192, content: bytes(&p0) },
            Seg { start: 8192, end: 3 * 4096, content: Content::Zero },
            Seg { start: 3 * 4096, end: 4 * 4096, content: Content::Absent(Unreadable::FromFile { file: "f".into(), offset: 0 }) },
        ];
        let b = vec![
            Seg { start: 0, end: 4096, content: bytes(&p2) },
            Seg { start: 4096, end: 3 * 4096, content: Content::Zero },
            Seg { start: 3 * 4096, end: 4 * 4096, content: Content::Absent(Unreadable::FromFile { file: "f".into(), offset: 0 }) },
        ];
        let mut seen = Vec::new();
        assert_eq!(compare_window(&a, &b, 0, 4 * 4096, &mut |u| seen.push(u)), (1, 0));
        // The same file at another offset differs; a lazy page is unknown and reported.
        let c = vec![
            Seg { start: 0, end: 4096, content: Content::Absent(Unreadable::Lazy { pagemap: "pagemap-1.img".into(), entry: 3 }) },
            Seg { start: 4096, end: 3 * 4096, content: Content::Zero },
            Seg { start: 3 * 4096, end: 4 * 4096, content: Content::Absent(Unreadable::FromFile { file: "f".into(), offset: 4096 }) },
        ];
        assert_eq!(compare_window(&b, &c, 0, 4 * 4096, &mut |u| seen.push(u)), (1, 1));
        // One run of three pages against another: only the page that differs counts.
        let (mut x, mut y) = (vec![7u8; 3 * 4096], vec![7u8; 3 * 4096]);
        y[2 * 4096 + 5] = 8;
        x[4096] = 0;
        y[4096] = 0;
        let a = vec![Seg { start: 0, end: 3 * 4096, content: bytes(&x) }];
        let b = vec![Seg { start: 0, end: 3 * 4096, content: bytes(&y) }];
        assert_eq!(compare_window(&a, &b, 0, 3 * 4096, &mut |u| seen.push(u)), (1, 0));
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, 1);
    }
}
