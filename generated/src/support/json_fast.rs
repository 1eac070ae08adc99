//! The fast lane of [`ReaderSource`](super::json_src::ReaderSource): a [`JsonSource`] over
//! bytes the reader has already buffered, that reads what a message's JSON usually is and gives
//! up at the first thing it does not read itself.
//!
//! The generated `from_json_src` of a message runs over it first. It reads objects, arrays and
//! keys of the message's schema, integers in crit's forms (a number, or a string its format
//! reads: hex, flags, a device number), and for other fields plain values: numbers without a
//! fraction or exponent, `true`, `false`, `null`, strings of ASCII text without escapes, and
//! arrays of those. Anything else, a key that is not a field (or `_unknown_fields`), a value that
//! does not fit its field, an error of any kind, or the end of the buffered bytes, makes it give
//! up ([`Bail`]); the general source then reads the same message from the same place, with its
//! errors. So the lane never decides anything: when it finishes, it has read what the general
//! source would have read (the same generated code over the same values), and when it does not,
//! nothing was consumed.
//!
//! What it saves is per token: no I/O buffer to ask, no position to keep beyond one index, no
//! error to build, no path strings for errors that cannot happen here.

use std::borrow::Cow;

use super::EncodeError;
use super::fields::{self, IntFmt, JsonInt, Message, UnknownKeys};
use super::json_in::{self, MAX_DEPTH, Value};
use super::json_src::{JsonSource, Key};

/// Why the fast lane stopped: it met something the general source must read. Nothing more is
/// said; the general source says it, if it is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

impl From<EncodeError> for Bail {
    fn from(_: EncodeError) -> Self {
        Bail
    }
}

/// How far a read went in the buffered bytes: what the reader consumes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Bytes read (all ASCII).
    pub bytes: usize,
    /// Newlines among them.
    pub lines: usize,
    /// Bytes after the last newline (the column on the last line), when there was one.
    pub tail: usize,
}

/// Containers the lane follows itself, at most; a deeper message goes to the general source.
const MAX_OPEN: usize = 16;

/// Bytes one try of the lane reads, at most. A message larger than this (a `mm` entry holds
/// every VMA) is read by the general source, whose nested messages each try the lane: giving up
/// at the end of the whole buffer instead would read a quarter-megabyte of VMAs for nothing.
const MAX_SPAN: usize = 64 * 1024;

/// The buffered bytes read as a [`JsonSource`]; see the module.
pub struct FastSource<'a> {
    b: &'a [u8],
    pos: usize,
    lines: usize,
    /// Where the line after the last newline read starts.
    line_start: usize,
    /// Containers the current value is nested inside (as the general source counts them).
    depth: usize,
    /// Closing brackets of the containers entered here, innermost last.
    open: [u8; MAX_OPEN],
    n_open: usize,
    /// The closing bracket of the container the first value is inside.
    outer: u8,
    /// The key list last matched in, and the index after the match (keys come in schema order).
    hint: (usize, usize),
}

impl<'a> FastSource<'a> {
    /// Reads message `M` from the start of `b`, a value nested inside `depth` containers, the
    /// innermost of which closes with `outer`: what `then` makes of the message (its bytes, or
    /// nothing once it is pushed where it goes: a message can be kilobytes, and is not moved
    /// about more than that) and how far it went, or `None` (also when it would read more than
    /// 64 KiB: a larger message is the general source's, see `MAX_SPAN`).
    pub fn read<M: Message, T>(b: &'a [u8], depth: usize, outer: u8, unknown: UnknownKeys, then: impl FnOnce(M) -> T) -> Option<(T, Span)> {
        let b = &b[..b.len().min(MAX_SPAN)];
        let mut s = FastSource { b, pos: 0, lines: 0, line_start: 0, depth, open: [0; MAX_OPEN], n_open: 0, outer, hint: (0, 0) };
        let t = match M::from_json_src(&mut s, "", unknown) {
            Ok(m) => then(m),
            Err(Bail) => return None,
        };
        let tail = if s.lines > 0 { s.pos - s.line_start } else { 0 };
        Some((t, Span { bytes: s.pos, lines: s.lines, tail }))
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline(always)]
    fn rest(&self) -> &'a [u8] {
        &self.b[self.pos..]
    }

    /// Whitespace: crit writes none, one space, or a newline and an indentation.
    #[inline(always)]
    fn ws(&mut self) {
        match self.b.get(self.pos..self.pos + 2) {
            // No whitespace: the next byte is a token's.
            Some(&[c, _]) if c > b' ' => return,
            // One space before a token.
            Some(&[b' ', c]) if c > b' ' => {
                self.pos += 1;
                return;
            }
            _ => {}
        }
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.lines += 1;
                    self.line_start = self.pos;
                    // The indentation in one step; the loop goes on for any other whitespace.
                    self.pos += json_in::leading_spaces(self.rest());
                }
                _ => return,
            }
        }
    }

    /// Enters the container `open` … `close` at the next value: `Ok(false)` when it is empty
    /// (and already left).
    #[inline(always)]
    fn enter(&mut self, open: u8, close: u8) -> Result<bool, Bail> {
        self.ws();
        if self.peek() != Some(open) || self.depth + 1 > MAX_DEPTH || self.n_open == MAX_OPEN {
            return Err(Bail);
        }
        self.pos += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.after_close()?;
            return Ok(false);
        }
        self.open[self.n_open] = close;
        self.n_open += 1;
        self.depth += 1;
        Ok(true)
    }

    /// After a member or element: `Ok(true)` for a `,`, `Ok(false)` for the innermost
    /// container's closing bracket (and the container is left).
    #[inline(always)]
    fn next(&mut self) -> Result<bool, Bail> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if self.n_open > 0 && c == self.open[self.n_open - 1] => {
                self.pos += 1;
                self.n_open -= 1;
                self.depth -= 1;
                self.after_close()?;
                Ok(false)
            }
            _ => Err(Bail),
        }
    }

    /// After a value closed: the enclosing container must go on or close (the general source's
    /// check, see [`super::json_src::ReaderSource`]).
    #[inline(always)]
    fn after_close(&mut self) -> Result<(), Bail> {
        self.ws();
        let close = if self.n_open > 0 { self.open[self.n_open - 1] } else { self.outer };
        match self.peek() {
            Some(c) if c == b',' || c == close => Ok(()),
            _ => Err(Bail),
        }
    }

    /// A plain value (see the module) at the next byte.
    fn plain_value(&mut self) -> Result<Value, Bail> {
        let rest = self.rest();
        match rest.first() {
            Some(b'"') => {
                let j = json_in::plain_string(rest).ok_or(Bail)?;
                let text = &rest[1..1 + j];
                if !text.is_ascii() {
                    return Err(Bail);
                }
                self.pos += j + 2;
                Ok(Value::String(text.to_vec()))
            }
            Some(b'-' | b'0'..=b'9') => {
                let (n, _) = json_in::plain_integer(rest).ok_or(Bail)?;
                // Digits and a sign: ASCII.
                let text = std::str::from_utf8(&rest[..n]).map_err(|_| Bail)?;
                self.pos += n;
                Ok(Value::Number(text.into()))
            }
            Some(b't') if rest.starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Bool(true))
            }
            Some(b'f') if rest.starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Bool(false))
            }
            Some(b'n') if rest.starts_with(b"null") => {
                self.pos += 4;
                Ok(Value::Null)
            }
            Some(b'[') => {
                // An array of plain values (a repeated scalar field): no nesting below it.
                if self.depth + 1 > MAX_DEPTH {
                    return Err(Bail);
                }
                self.pos += 1;
                self.ws();
                let mut out = Vec::new();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Array(out));
                }
                loop {
                    if matches!(self.peek(), Some(b'[' | b'{')) {
                        return Err(Bail);
                    }
                    out.push(self.plain_value()?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            self.ws();
                        }
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(out));
                        }
                        _ => return Err(Bail),
                    }
                }
            }
            _ => Err(Bail),
        }
    }
}

impl JsonSource for FastSource<'_> {
    type Error = Bail;
    const PATHS: bool = false;

    #[inline(always)]
    fn begin_object(&mut self, _path: &str) -> Result<bool, Bail> {
        self.enter(b'{', b'}')
    }

    #[inline(always)]
    fn key(&mut self, keys: &[&str]) -> Result<Key, Bail> {
        let rest = self.rest();
        let list = keys.as_ptr() as usize;
        let guess = if self.hint.0 == list { self.hint.1 } else { 0 };
        let (i, len) = match keys.get(guess) {
            Some(k) if json_in::quoted_at(rest, k.as_bytes()) => (guess, k.len()),
            _ => {
                let j = json_in::plain_string(rest).ok_or(Bail)?;
                let text = &rest[1..1 + j];
                (keys.iter().position(|k| json_in::same_bytes(k.as_bytes(), text)).ok_or(Bail)?, j)
            }
        };
        self.hint = (list, i + 1);
        let n = len + 2;
        // What crit writes after a key: `": "`.
        if rest.get(n) == Some(&b':') && rest.get(n + 1) == Some(&b' ') {
            self.pos += n + 2;
        } else {
            self.pos += n;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(Bail);
            }
            self.pos += 1;
        }
        self.ws();
        Ok(Key::Known(i))
    }

    fn value(&mut self) -> Result<Cow<'_, Value>, Bail> {
        Ok(Cow::Owned(self.plain_value()?))
    }

    #[inline(always)]
    fn int<T: JsonInt>(&mut self, _path: &str, _field: &str, fmt: &IntFmt) -> Result<T, Bail> {
        let rest = self.rest();
        match rest.first() {
            Some(b'-' | b'0'..=b'9') => {
                let (n, small) = json_in::plain_integer(rest).ok_or(Bail)?;
                let v = match small {
                    Some(v) => T::from_i64(v),
                    None => fields::int_of_wide_number(&rest[..n]),
                };
                self.pos += n;
                v.ok_or(Bail)
            }
            Some(b'"') => {
                let j = json_in::plain_string(rest).ok_or(Bail)?;
                let text = &rest[1..1 + j];
                if !text.is_ascii() {
                    return Err(Bail);
                }
                let v = fields::int_of_text(text, fmt).ok_or(Bail)?;
                self.pos += j + 2;
                Ok(v)
            }
            _ => Err(Bail),
        }
    }

    fn skip(&mut self) -> Result<(), Bail> {
        // Only a key that is not a field is skipped: the general source decides about those.
        Err(Bail)
    }

    #[inline(always)]
    fn next_member(&mut self) -> Result<bool, Bail> {
        self.next()
    }

    #[inline(always)]
    fn begin_array(&mut self, _path: &str, _field: &str) -> Result<bool, Bail> {
        self.enter(b'[', b']')
    }

    #[inline(always)]
    fn next_element(&mut self) -> Result<bool, Bail> {
        self.next()
    }
}
