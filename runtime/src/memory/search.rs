//! Searching a task's memory for a byte string or a regular expression.
//!
//! What is searched: every byte the checkpoint stores for the task, in address order (its own
//! pages files, parents' through `PE_PARENT`, shared memory). Pages that are not stored (zero
//! pages, file content, lazy pages) are not searched and end a run of contiguous bytes.
//!
//! Matches may cross page and pagemap-entry boundaries: pieces that are adjacent both in the
//! address space and in the same pages file are searched as one slice, in place; at any other
//! boundary between virtually contiguous pieces (a run from a parent, shared memory, or another
//! pages file) a literal search looks at the last `len - 1` bytes before it together with the
//! first `len - 1` after it, so nothing is copied but those. Regular expressions are run over
//! windows of [`REGEX_WINDOW`] bytes that overlap by [`REGEX_MAX_MATCH`] (copied only when a
//! window spans pieces); a match is reported from the window where it starts, so a regex match
//! longer than [`REGEX_MAX_MATCH`] may be cut short at a window's end.
//!
//! Matches are reported in address order and do not overlap (as `grep -o` reports them).

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;

use memchr::memmem;

use super::{Piece, Task};

/// Regex matches longer than this may be cut where windows meet.
pub const REGEX_MAX_MATCH: u64 = 64 << 10;
/// Bytes per regex window.
pub const REGEX_WINDOW: u64 = 16 << 20;
/// Literal searches report progress after each slice of this size.
const LITERAL_CHUNK: usize = 64 << 20;

/// A pattern that cannot be searched for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern is empty (it would match everywhere).
    Empty,
    /// The regular expression does not compile.
    Regex(regex::Error),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Empty => f.write_str("the pattern is empty"),
            PatternError::Regex(e) => write!(f, "bad regular expression: {e}"),
        }
    }
}

impl std::error::Error for PatternError {}

/// What to look for.
#[derive(Clone, Debug)]
pub enum Pattern {
    /// An exact byte string ([`Pattern::literal`]).
    Literal(Box<memmem::Finder<'static>>),
    /// A regular expression over bytes ([`Pattern::regex`]).
    Regex(regex::bytes::Regex),
}

impl Pattern {
    /// An exact byte string (not empty).
    pub fn literal(needle: &[u8]) -> Result<Pattern, PatternError> {
        if needle.is_empty() {
            return Err(PatternError::Empty);
        }
        Ok(Pattern::Literal(Box::new(memmem::Finder::new(needle).into_owned())))
    }

    /// A regular expression over bytes (`regex` crate syntax). Unicode is off unless the
    /// pattern turns it on with `(?u)`: `.` is any byte but `\n`, `\w` is ASCII, and `\xFF`
    /// is the byte 0xFF.
    pub fn regex(src: &str) -> Result<Pattern, PatternError> {
        let re = regex::bytes::RegexBuilder::new(src)
            .unicode(false)
            .build()
            .map_err(PatternError::Regex)?;
        Ok(Pattern::Regex(re))
    }
}

/// A match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// The virtual address of the match's first byte in the task.
    pub addr: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// Knobs of [`search_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchOptions {
    /// Bytes per regex window ([`REGEX_WINDOW`]).
    pub regex_window: u64,
    /// Overlap of regex windows, the longest match that is never cut ([`REGEX_MAX_MATCH`]).
    /// Must be less than `regex_window`.
    pub regex_max_match: u64,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { regex_window: REGEX_WINDOW, regex_max_match: REGEX_MAX_MATCH }
    }
}

/// Searches `task`'s stored memory. `on_match` gets every match in address order and may stop
/// the search; `progress` gets the number of bytes scanned so far, every few MiB (compare with
/// [`Task::stored_len`]).
pub fn search(
    task: &Task<'_>,
    pattern: &Pattern,
    on_match: &mut dyn FnMut(Match) -> ControlFlow<()>,
    progress: &mut dyn FnMut(u64),
) -> ControlFlow<()> {
    search_with(task, pattern, SearchOptions::default(), on_match, progress)
}

/// [`search`] with explicit [`SearchOptions`].
pub fn search_with(
    task: &Task<'_>,
    pattern: &Pattern,
    opts: SearchOptions,
    on_match: &mut dyn FnMut(Match) -> ControlFlow<()>,
    progress: &mut dyn FnMut(u64),
) -> ControlFlow<()> {
    let window = opts.regex_window.max(2);
    let opts = SearchOptions { regex_window: window, regex_max_match: opts.regex_max_match.clamp(1, window - 1) };
    let mut feeder = match pattern {
        Pattern::Literal(f) => Feeder::Literal(Literal::new(f)),
        Pattern::Regex(re) => Feeder::Regex(RegexRun { re, opts, slices: Vec::new() }),
    };
    let mut pending: Option<Pending<'_>> = None;
    let mut st = Progress { last_end: None, done: 0 };
    for (start, end) in task.regions() {
        task.walk(start, end - start, &mut |addr, len, _, piece| {
            if let Piece::Stored(s) = piece {
                if let Some(p) = &mut pending
                    && p.addr + (p.hi - p.lo) as u64 == addr
                    && std::ptr::eq(p.file, s.file)
                    && p.hi as u64 == s.offset
                {
                    p.hi += s.bytes.len();
                    return ControlFlow::Continue(());
                }
                // `s.offset` and `len` were checked against the file when the piece was made.
                let lo = s.offset as usize;
                let next = Pending { addr, file: s.file, lo, hi: lo + len as usize };
                match pending.replace(next) {
                    Some(p) => st.flush(p, &mut feeder, on_match, progress),
                    None => ControlFlow::Continue(()),
                }
            } else {
                if let Some(p) = pending.take() {
                    st.flush(p, &mut feeder, on_match, progress)?;
                }
                st.last_end = None;
                ControlFlow::Continue(())
            }
        })?;
    }
    if let Some(p) = pending.take() {
        st.flush(p, &mut feeder, on_match, progress)?;
    }
    feeder.finish(on_match)
}

struct Progress {
    /// Address just after the last byte fed, while the run of contiguous bytes goes on.
    last_end: Option<u64>,
    done: u64,
}

impl Progress {
    fn flush<'a>(
        &mut self,
        p: Pending<'a>,
        feeder: &mut Feeder<'_, 'a>,
        on_match: &mut dyn FnMut(Match) -> ControlFlow<()>,
        progress: &mut dyn FnMut(u64),
    ) -> ControlFlow<()> {
        let bytes = &p.file[p.lo..p.hi];
        let contiguous = self.last_end == Some(p.addr);
        self.last_end = Some(p.addr + bytes.len() as u64);
        let done = &mut self.done;
        feeder.feed(p.addr, bytes, contiguous, on_match, &mut |n| {
            *done += n;
            progress(*done)
        })
    }
}

/// A stored piece being extended while the next one continues it in the same file.
struct Pending<'a> {
    addr: u64,
    file: &'a [u8],
    lo: usize,
    hi: usize,
}

enum Feeder<'p, 'a> {
    Literal(Literal<'p>),
    Regex(RegexRun<'p, 'a>),
}

impl<'a> Feeder<'_, 'a> {
    fn feed(
        &mut self,
        addr: u64,
        bytes: &'a [u8],
        contiguous: bool,
        on_match: &mut dyn FnMut(Match) -> ControlFlow<()>,
        progress: &mut dyn FnMut(u64),
    ) -> ControlFlow<()> {
        match self {
            Feeder::Literal(l) => {
                let mut contiguous = contiguous;
                for (i, chunk) in bytes.chunks(LITERAL_CHUNK).enumerate() {
                    l.feed(addr + (i * LITERAL_CHUNK) as u64, chunk, contiguous, on_match)?;
                    contiguous = true;
                    progress(chunk.len() as u64);
                }
                ControlFlow::Continue(())
            }
            Feeder::Regex(r) => {
                if !contiguous {
                    r.run(on_match, progress)?;
                }
                r.slices.push((addr, bytes));
                ControlFlow::Continue(())
            }
        }
    }

    fn finish(&mut self, on_match: &mut dyn FnMut(Match) -> ControlFlow<()>) -> ControlFlow<()> {
        match self {
            Feeder::Literal(_) => ControlFlow::Continue(()),
            Feeder::Regex(r) => r.run(on_match, &mut |_| {}),
        }
    }
}

/// Literal search over a stream of slices, stitching boundaries with `len - 1` bytes.
struct Literal<'p> {
    finder: &'p memmem::Finder<'static>,
    m: usize,
    /// The last `m - 1` bytes fed (fewer at the start of a run).
    tail: Vec<u8>,
    /// Address just after `tail`.
    tail_end: u64,
    /// No match may start before this (matches do not overlap).
    next_allowed: u64,
    scratch: Vec<u8>,
}

impl<'p> Literal<'p> {
    fn new(finder: &'p memmem::Finder<'static>) -> Self {
        let m = finder.needle().len();
        Literal { finder, m, tail: Vec::with_capacity(m), tail_end: 0, next_allowed: 0, scratch: Vec::with_capacity(2 * m) }
    }

    fn feed(&mut self, addr: u64, bytes: &[u8], contiguous: bool, on_match: &mut dyn FnMut(Match) -> ControlFlow<()>) -> ControlFlow<()> {
        let m = self.m;
        if !contiguous || self.tail_end != addr {
            self.tail.clear();
        }
        if !self.tail.is_empty() {
            // Only matches that start in the tail can be here: the head is shorter than `m`.
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.tail);
            self.scratch.extend_from_slice(&bytes[..bytes.len().min(m - 1)]);
            let base = addr - self.tail.len() as u64;
            let mut from = self.next_allowed.saturating_sub(base) as usize;
            while from < self.tail.len() {
                let Some(i) = self.finder.find(&self.scratch[from..]) else { break };
                let at = from + i;
                if at >= self.tail.len() {
                    break;
                }
                on_match(Match { addr: base + at as u64, len: m as u64 })?;
                self.next_allowed = base + (at + m) as u64;
                from = at + m;
            }
        }
        let skip = self.next_allowed.saturating_sub(addr).min(bytes.len() as u64) as usize;
        for i in self.finder.find_iter(&bytes[skip..]) {
            let at = addr + (skip + i) as u64;
            on_match(Match { addr: at, len: m as u64 })?;
            self.next_allowed = at + m as u64;
        }
        let keep = m - 1;
        if bytes.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - keep..]);
        } else {
            self.tail.extend_from_slice(bytes);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
        self.tail_end = addr + bytes.len() as u64;
        ControlFlow::Continue(())
    }
}

/// A regex search over one run of virtually contiguous slices, collected until the run ends.
struct RegexRun<'p, 'a> {
    re: &'p regex::bytes::Regex,
    opts: SearchOptions,
    slices: Vec<(u64, &'a [u8])>,
}

impl RegexRun<'_, '_> {
    /// Bytes `[lo, hi)` of the run: borrowed when one slice holds them, else copied.
    fn window<'s>(&'s self, lo: u64, hi: u64, scratch: &'s mut Vec<u8>) -> Cow<'s, [u8]> {
        let i = self.slices.partition_point(|(a, b)| a + b.len() as u64 <= lo);
        let (a, b) = self.slices[i];
        if hi <= a + b.len() as u64 {
            return Cow::Borrowed(&b[(lo - a) as usize..(hi - a) as usize]);
        }
        scratch.clear();
        for &(a, b) in &self.slices[i..] {
            if a >= hi {
                break;
            }
            let s = lo.max(a) - a;
            let e = hi.min(a + b.len() as u64) - a;
            scratch.extend_from_slice(&b[s as usize..e as usize]);
        }
        Cow::Owned(std::mem::take(scratch))
    }

    fn run(&mut self, on_match: &mut dyn FnMut(Match) -> ControlFlow<()>, progress: &mut dyn FnMut(u64)) -> ControlFlow<()> {
        let Some(&(start, _)) = self.slices.first() else { return ControlFlow::Continue(()) };
        let end = self.slices.last().map_or(start, |(a, b)| a + b.len() as u64);
        // A few bytes before a window's start are given to the regex as context, so that `\b`
        // and the like see what precedes it.
        const LOOK_BEHIND: u64 = 16;
        let mut scratch = Vec::new();
        let mut pos = start;
        let mut result = ControlFlow::Continue(());
        'windows: while pos < end {
            let ctx = pos.saturating_sub(LOOK_BEHIND).max(start);
            let wend = pos.saturating_add(self.opts.regex_window).min(end);
            let last = wend == end;
            let accept_until = if last { end } else { wend - self.opts.regex_max_match };
            let window = self.window(ctx, wend, &mut scratch);
            let mut at = (pos - ctx) as usize;
            let mut next = accept_until;
            while at <= window.len() {
                let Some(m) = self.re.find_at(&window, at) else { break };
                let addr = ctx + m.start() as u64;
                if addr >= accept_until {
                    break;
                }
                if m.is_empty() {
                    at = m.end() + 1;
                    continue;
                }
                if let ControlFlow::Break(()) = on_match(Match { addr, len: m.len() as u64 }) {
                    result = ControlFlow::Break(());
                    break 'windows;
                }
                at = m.end();
                next = next.max(ctx + m.end() as u64);
            }
            if let Cow::Owned(v) = window {
                scratch = v;
            }
            progress(next.min(end) - pos);
            pos = next;
        }
        self.slices.clear();
        result
    }
}
