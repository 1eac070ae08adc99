//! JSON input for `crit encode`: a small DOM parser that keeps what encode needs exactly (64-bit
//! integers as text, string bytes including `surrogateescape` lone surrogates, key order, byte
//! offsets for errors), a pull [`Reader`] that hands a large document's inner values to it one
//! at a time, and the reverse of crit's value formats.
//!
//! Bounds: nesting depth is limited ([`MAX_DEPTH`]); every allocation is bounded by the input length.

use std::fmt;

use super::json_fast::Span;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value. Numbers keep their source text so that u64 and i64 values are exact.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// The number's text as written (e.g. `-12`, `18446744073709551615`, `1.5e3`).
    ///
    /// Like Python's `json.loads`, the parser also accepts `NaN`, `Infinity` and `-Infinity`
    /// (what `json.dump` prints for such doubles); they are kept as that text.
    Number(Box<str>),
    /// A string's bytes: UTF-8, except that `\udc80`..`\udcff` escapes decode to the single raw
    /// bytes 0x80..0xff (Python's `surrogateescape`).
    String(Vec<u8>),
    /// Elements in input order.
    Array(Vec<Value>),
    /// Members in input order.
    Object(Vec<(String, Value)>),
}

/// A JSON syntax error, with the byte offset, line and column (1-based) where it was found.
///
/// The column counts characters (UTF-8 code points) from the start of the line, as Python does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the document.
    pub offset: usize,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
    /// What is wrong (Python's `json` wording).
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
///
/// The grammar is Python's `json.loads` (strict mode): whitespace is space, tab, CR and LF; raw
/// control characters inside strings are errors; `NaN`, `Infinity`, `-Infinity` are accepted.
/// Raw bytes must be valid UTF-8 (crit reads its input as UTF-8 text). Lone surrogate escapes
/// other than `\udc80`..`\udcff` are errors: they have no byte form (Python's `surrogateescape`
/// cannot encode them either).
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    let mut p = Parser { s: input, pos: 0 };
    if input.starts_with(b"\xef\xbb\xbf") {
        return Err(p.error_at(0, "Unexpected UTF-8 BOM"));
    }
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < input.len() {
        return Err(p.error_at(p.pos, "Extra data"));
    }
    Ok(v)
}

/// A pull reader of one JSON document from a byte stream, for documents too large to hold: the
/// caller walks the outer structure (`{`, keys, `:`, `,`, `[`...) and takes each inner value as
/// a [`Value`] tree read by [`parse`]'s parser, so memory is bounded by the largest such value,
/// not by the document.
///
/// Errors are those [`parse`] would give for the whole document, at the same offset, line and
/// column: each value's bytes are taken whole (brackets matched outside strings) and parsed
/// alone, with positions shifted to the document's.
pub struct Reader<R> {
    r: R,
    /// Where the next byte is: offset in the document, line (1-based), characters since the
    /// line's start.
    offset: usize,
    line: usize,
    column: usize,
    /// The bytes of a value that crosses the source's chunks.
    buf: Vec<u8>,
    /// The key list [`Reader::key_in`] last matched in, and the index after its match: objects
    /// written by crit hold their keys in schema order, so that key is tried first.
    hint: (usize, usize),
}

/// A value [`Reader::simple_scalar`] reads in place.
#[derive(Debug, Clone, Copy)]
pub enum Simple<'a> {
    /// An integer of at most 18 digits (any such fits an `i64`), read as it was scanned.
    Small(i64),
    /// A longer integer's text (`-12345678901234567890`): ASCII digits after an optional `-`.
    Int(&'a [u8]),
    /// A string's text, which needs no unescaping.
    Str(&'a str),
}

/// What [`Reader::key_in`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// The key at this index of the list.
    Known(usize),
    /// A key not in the list.
    Other(String),
}

/// An error of a [`Reader`]: the document is not JSON, or reading it failed.
#[derive(Debug)]
pub enum ReadError {
    /// Not JSON: where and why.
    Json(JsonError),
    /// The source failed.
    Io(std::io::Error),
}

impl From<JsonError> for ReadError {
    fn from(e: JsonError) -> Self {
        ReadError::Json(e)
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Json(e) => e.fmt(f),
            ReadError::Io(e) => write!(f, "reading input: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl<R: std::io::BufRead> Reader<R> {
    /// A reader at the start of a document.
    pub fn new(r: R) -> Self {
        Reader { r, offset: 0, line: 1, column: 0, buf: Vec::new(), hint: (0, 0) }
    }

    /// The next byte, not consumed (`None` at the end).
    pub fn peek(&mut self) -> Result<Option<u8>, ReadError> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    /// The first bytes of the document are a UTF-8 byte-order mark ([`parse`] refuses it).
    pub fn refuse_bom(&mut self) -> Result<(), ReadError> {
        if self.r.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
            return Err(self.error("Unexpected UTF-8 BOM").into());
        }
        Ok(())
    }

    /// Skips JSON whitespace.
    pub fn skip_ws(&mut self) -> Result<(), ReadError> {
        loop {
            let chunk = self.r.fill_buf()?;
            match chunk.first() {
                // What crit writes between tokens: one space (plain JSON), taken in one step.
                Some(b' ') if chunk.get(1).is_some_and(|b| !is_ws(*b)) => {
                    self.step_ascii(1);
                    return Ok(());
                }
                // Pretty JSON: a newline and the next line's indentation, in one step.
                Some(b'\n') => {
                    if let Some(n) = line_break(chunk, 1) {
                        self.step_line(n, 1);
                        return Ok(());
                    }
                }
                _ => {}
            }
            // Any other whitespace, in one pass.
            let (mut n, mut lines, mut column) = (0, 0, self.column);
            for &b in chunk {
                match b {
                    b'\n' => {
                        lines += 1;
                        column = 0;
                    }
                    b' ' | b'\t' | b'\r' => column += 1,
                    _ => break,
                }
                n += 1;
            }
            if n == 0 {
                return Ok(());
            }
            self.offset += n;
            self.line += lines;
            self.column = column;
            self.r.consume(n);
        }
    }

    /// Consumes `n` buffered bytes: `lead` of them ending in the one newline, then the next
    /// line's spaces ([`line_break`]).
    #[inline]
    fn step_line(&mut self, n: usize, lead: usize) {
        self.offset += n;
        self.line += 1;
        self.column = n - lead;
        self.r.consume(n);
    }

    /// Consumes `n` buffered bytes known to hold no newline and only ASCII characters.
    #[inline]
    fn step_ascii(&mut self, n: usize) {
        self.offset += n;
        self.column += n;
        self.r.consume(n);
    }

    /// Consumes the next byte if it is `b` (whitespace is not skipped).
    pub fn eat(&mut self, b: u8) -> Result<bool, ReadError> {
        if self.peek()? != Some(b) {
            return Ok(false);
        }
        self.r.consume(1);
        self.offset += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
        Ok(true)
    }

    /// A syntax error at the next byte, as [`parse`] words it.
    pub fn error(&self, message: &str) -> JsonError {
        JsonError { offset: self.offset, line: self.line, column: self.column + 1, message: message.to_string() }
    }

    /// Whether nothing but whitespace is left; [`parse`]'s "Extra data" error otherwise.
    pub fn end(&mut self) -> Result<(), ReadError> {
        self.skip_ws()?;
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(self.error("Extra data").into()),
        }
    }

    /// An object key at the next byte, and the `:` after it (with the whitespace around).
    pub fn key(&mut self) -> Result<String, ReadError> {
        if self.peek()? != Some(b'"') {
            return Err(self.error("Expecting property name enclosed in double quotes").into());
        }
        let at = self.error("object key is not valid UTF-8");
        let Value::String(key) = self.value(0)? else {
            // A value that starts with a quote is a string or an error.
            return Err(at.into());
        };
        let key = String::from_utf8(key).map_err(|_| at)?;
        self.skip_ws()?;
        if !self.eat(b':')? {
            return Err(self.error("Expecting ':' delimiter").into());
        }
        self.skip_ws()?;
        Ok(key)
    }

    /// An object key at the next byte, as [`Reader::key`] reads it, matched against `keys`:
    /// its index there, or the key itself when it is not one of them. A key that lies whole in
    /// the buffered input, with no escape, is matched where it lies (no allocation). `keys`
    /// are plain text (no quote, backslash or control character), as field names are.
    #[inline]
    pub fn key_in(&mut self, keys: &[&str]) -> Result<KeyMatch, ReadError> {
        let chunk = self.r.fill_buf()?;
        let list = keys.as_ptr() as usize;
        let guess = if self.hint.0 == list { self.hint.1 } else { 0 };
        // The key expected next, quoted: a plain string that is that key (keys are ASCII
        // identifiers, free of quotes, backslashes and control characters).
        let expected = keys.get(guess).map(|x| x.as_bytes()).filter(|x| {
            chunk.len() > x.len() + 1 && chunk[0] == b'"' && chunk[1 + x.len()] == b'"' && same_bytes(&chunk[1..1 + x.len()], x)
        });
        let plain = match expected {
            Some(x) => Some(x.len()),
            None => plain_string(chunk),
        };
        if let Some(j) = plain
            && chunk[1..1 + j].is_ascii()
        {
            let k = &chunk[1..1 + j];
            let m = match expected {
                Some(_) => Some(guess),
                None => keys.iter().position(|x| x.len() == k.len() && same_bytes(x.as_bytes(), k)),
            };
            let m = match m {
                Some(i) => {
                    self.hint = (list, i + 1);
                    KeyMatch::Known(i)
                }
                // ASCII, so UTF-8.
                None => KeyMatch::Other(String::from_utf8_lossy(k).into_owned()),
            };
            let n = j + 2;
            // What crit writes after a key: `": "` and the value.
            if chunk.get(n) == Some(&b':') && chunk.get(n + 1) == Some(&b' ') && chunk.get(n + 2).is_some_and(|b| !is_ws(*b)) {
                self.step_ascii(n + 2);
                return Ok(m);
            }
            self.step_ascii(n);
            self.skip_ws()?;
            if !self.eat(b':')? {
                return Err(self.error("Expecting ':' delimiter").into());
            }
            self.skip_ws()?;
            return Ok(m);
        }
        let key = self.key()?;
        Ok(match keys.iter().position(|x| *x == key) {
            Some(i) => KeyMatch::Known(i),
            None => KeyMatch::Other(key),
        })
    }

    /// Gives `f` the integer or string at the next byte, when it lies whole in the buffered
    /// input in its simplest form (an integer without fraction or exponent, a string without
    /// escapes or control characters), and consumes it; `Ok(None)` (nothing consumed) for any
    /// other value, which [`Reader::value`] then reads (with its errors, if it is not JSON).
    #[inline]
    pub fn simple_scalar<T>(&mut self, f: impl FnOnce(Simple<'_>) -> T) -> Result<Option<T>, ReadError> {
        let Reader { r, offset, line, column, .. } = self;
        let chunk = r.fill_buf()?;
        let (n, simple) = match chunk.first() {
            Some(b'"') => {
                let Some(j) = plain_string(chunk) else { return Ok(None) };
                // Text that is not UTF-8 is a syntax error, which `value` reports.
                let Ok(text) = std::str::from_utf8(&chunk[1..1 + j]) else { return Ok(None) };
                (j + 2, Simple::Str(text))
            }
            Some(b'-' | b'0'..=b'9') => match plain_integer(chunk) {
                None => return Ok(None),
                Some((n, Some(v))) => (n, Simple::Small(v)),
                Some((n, None)) => (n, Simple::Int(&chunk[..n])),
            },
            _ => return Ok(None),
        };
        let ascii = match simple {
            Simple::Small(_) | Simple::Int(_) => true,
            Simple::Str(text) => text.is_ascii(),
        };
        let out = f(simple);
        // Neither holds a newline (a plain string has no control character).
        if ascii {
            *offset += n;
            *column += n;
        } else {
            advance(&chunk[..n], offset, line, column);
        }
        r.consume(n);
        Ok(Some(out))
    }

    /// The integer at the next byte when [`Reader::simple_scalar`] would read it as
    /// [`Simple::Small`] (at most 18 digits, no fraction or exponent, whole in the buffered
    /// input), consumed; `Ok(None)`, nothing consumed, for any other value. What `crit decode`
    /// writes for most fields, read without the closure and the wide integers of the general path.
    #[inline(always)]
    pub fn small_int(&mut self) -> Result<Option<i64>, ReadError> {
        let chunk = self.r.fill_buf()?;
        if !matches!(chunk.first(), Some(b'-' | b'0'..=b'9')) {
            return Ok(None);
        }
        let Some((n, Some(v))) = plain_integer(chunk) else { return Ok(None) };
        self.step_ascii(n);
        Ok(Some(v))
    }

    /// Gives `f` the buffered input, starting at the next byte; when it returns a value and how
    /// far it read ([`Span`]: ASCII bytes only), those bytes are consumed. The fast lane of
    /// [`super::json_src::ReaderSource`] reads through this.
    #[inline]
    pub fn read_buffered<T>(&mut self, f: impl FnOnce(&[u8]) -> Option<(T, Span)>) -> Result<Option<T>, ReadError> {
        let chunk = self.r.fill_buf()?;
        let Some((t, span)) = f(chunk) else { return Ok(None) };
        self.offset += span.bytes;
        if span.lines > 0 {
            self.line += span.lines;
            self.column = span.tail;
        } else {
            self.column += span.bytes;
        }
        self.r.consume(span.bytes);
        Ok(Some(t))
    }

    /// Enters the array or object (`open` is `[` or `{`) at the next byte, nested inside
    /// `depth` containers, and the whitespace after its bracket: `Ok(None)` when the next byte
    /// is not `open` (nothing consumed), `Ok(Some(false))` when it is empty (its closing bracket
    /// consumed too), `Ok(Some(true))` when something follows.
    pub fn enter(&mut self, open: u8, depth: usize) -> Result<Option<bool>, ReadError> {
        if self.peek()? != Some(open) {
            return Ok(None);
        }
        if depth + 1 > MAX_DEPTH {
            return Err(self.error("arrays and objects nested too deeply (more than 128 levels)").into());
        }
        self.eat(open)?;
        self.skip_ws()?;
        let close = if open == b'[' { b']' } else { b'}' };
        Ok(Some(!self.eat(close)?))
    }

    /// After a closed value inside a container whose closing bracket is `close`: the error a
    /// whole parse gives when the next byte (after whitespace) is neither `,` nor `close`.
    /// Nothing is consumed but whitespace.
    pub fn expect_more(&mut self, close: u8) -> Result<(), ReadError> {
        self.skip_ws()?;
        match self.peek()? {
            Some(b) if b == b',' || b == close => Ok(()),
            _ => Err(self.error("Expecting ',' delimiter").into()),
        }
    }

    /// After a member or element: `Ok(true)` for a `,` (and the whitespace after it),
    /// `Ok(false)` for `close`, the "Expecting ',' delimiter" error otherwise.
    #[inline]
    pub fn next(&mut self, close: u8) -> Result<bool, ReadError> {
        // What crit writes: `, ` and the next value, or the bracket.
        let chunk = self.r.fill_buf()?;
        match chunk.first() {
            Some(&b',') if chunk.get(1) == Some(&b' ') && chunk.get(2).is_some_and(|b| !is_ws(*b)) => {
                self.step_ascii(2);
                return Ok(true);
            }
            // Pretty JSON: `,`, a newline and the next line's indentation.
            Some(&b',') if chunk.get(1) == Some(&b'\n') => {
                if let Some(n) = line_break(chunk, 2) {
                    self.step_line(n, 2);
                    return Ok(true);
                }
            }
            Some(&b) if b == close => {
                self.step_ascii(1);
                return Ok(false);
            }
            _ => {}
        }
        self.skip_ws()?;
        if self.eat(b',')? {
            self.skip_ws()?;
            return Ok(true);
        }
        if self.eat(close)? {
            return Ok(false);
        }
        Err(self.error("Expecting ',' delimiter").into())
    }

    /// The value at the next byte, nested inside `depth` arrays and objects.
    pub fn value(&mut self, depth: usize) -> Result<Value, ReadError> {
        let Reader { r, offset, line, column, buf, .. } = self;
        let chunk = r.fill_buf()?;
        // A value inside what the source has buffered (a whole slice, or most entries of a
        // file read in large chunks) is parsed where it lies, in one pass. It is whole when the
        // parse ends before the chunk does: a value cut by the chunk's end fails to parse, or
        // (a number) parses up to that end. Those, and errors, take the second way: the value's
        // bytes are found and gathered across chunks, then parsed alone, so an error is the
        // same whatever the chunks.
        let mut p = Parser { s: chunk, pos: 0 };
        if let Ok(v) = p.value(depth)
            && p.pos < chunk.len()
            // A number or literal is whole when a delimiter follows it. Otherwise it may go on
            // past where it parsed (`3e` then `7` in the next chunk), and the scan below takes
            // its bytes to the delimiter, as it does across chunks (`9alse` is one bad token,
            // whatever the chunks).
            && (matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_)) || is_delimiter(chunk[p.pos]))
        {
            let n = p.pos;
            advance(&chunk[..n], offset, line, column);
            r.consume(n);
            return Ok(v);
        }
        let mut scan = Scan::new(chunk.first().copied());
        if let Some(n) = scan.feed(chunk) {
            let bytes = &chunk[..n];
            let v = parse_alone(bytes, depth).map_err(|e| shifted(e, *offset, *line, *column));
            advance(bytes, offset, line, column);
            r.consume(n);
            return Ok(v?);
        }
        buf.clear();
        buf.extend_from_slice(chunk);
        let n = chunk.len();
        r.consume(n);
        loop {
            let chunk = r.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            let end = scan.feed(chunk);
            let n = end.unwrap_or(chunk.len());
            buf.extend_from_slice(&chunk[..n]);
            r.consume(n);
            if end.is_some() {
                break;
            }
        }
        let v = parse_alone(buf, depth).map_err(|e| shifted(e, *offset, *line, *column));
        advance(buf, offset, line, column);
        buf.clear();
        Ok(v?)
    }
}

/// The ASCII digits at the start of `b`: how many, and (when there are at most 19) their value.
///
/// Eight bytes at a time (SWAR): each byte's distance from `'0'` is a digit when it is below
/// 10, the first that is not ends the run, and the run's digits are combined pairwise (two
/// digits, four, eight) with three multiplications instead of eight.
#[inline]
fn leading_digits(b: &[u8]) -> (usize, u64) {
    const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
    let (mut n, mut v) = (0usize, 0u64);
    while let Some(w) = b.get(n..n + 8) {
        let t = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ 0x3030_3030_3030_3030;
        // A byte's high bit is set when it is not a digit: t >= 10 overflows 0x76 past 0x7f, and
        // t >= 0x80 is set already. A carry out of a non-digit byte only reaches later bytes.
        let bad = (t.wrapping_add(0x7676_7676_7676_7676) | t) & 0x8080_8080_8080_8080;
        let k = if bad == 0 { 8 } else { (bad.trailing_zeros() / 8) as usize };
        if k > 0 {
            // The k digits moved to the top bytes: the bottom ones are leading zeros.
            v = v.wrapping_mul(POW10[k]).wrapping_add(eight_digits(t << (8 * (8 - k))));
            n += k;
        }
        if k < 8 {
            return (n, v);
        }
    }
    while let Some(&d) = b.get(n) {
        if !d.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        n += 1;
    }
    (n, v)
}

/// An integer at the start of `chunk` in its simplest form: an optional `-`, digits without a
/// leading zero before more digits (which a whole parse refuses after the `0`), no fraction or
/// exponent, and a delimiter after it in the buffer (so it is whole, and one token as
/// [`Reader::value`] reads it). Its length, and its value when it has at most 18 digits (below
/// 10^18: exact, and it fits an `i64`); `None` otherwise.
#[inline(always)]
pub(crate) fn plain_integer(chunk: &[u8]) -> Option<(usize, Option<i64>)> {
    let neg = usize::from(chunk.first() == Some(&b'-'));
    // One digit (`0`, `-1`, a flag or a count): most of the integers crit writes.
    if let (Some(d), Some(&after)) = (chunk.get(neg), chunk.get(neg + 1))
        && d.is_ascii_digit()
        && is_delimiter(after)
    {
        let v = i64::from(d - b'0');
        return Some((neg + 1, Some(if neg == 1 { -v } else { v })));
    }
    let (digits, value) = leading_digits(&chunk[neg..]);
    let n = neg + digits;
    let simple = digits > 0 && chunk.get(n).is_some_and(|&b| is_delimiter(b)) && !(digits > 1 && chunk[neg] == b'0');
    if !simple {
        return None;
    }
    if digits > 18 {
        return Some((n, None));
    }
    let v = value as i64;
    Some((n, Some(if neg == 1 { -v } else { v })))
}

/// Eight digit values (0..=9), the most significant in the lowest byte, as a number.
#[inline]
fn eight_digits(t: u64) -> u64 {
    // Each step joins neighbouring groups: 10·d0 + d1 in every 16-bit lane (at most 99), then
    // 100·p0 + p1 in every 32-bit lane (at most 9 999), then 10 000·q0 + q1. No lane overflows.
    let t = (t.wrapping_mul(10).wrapping_add(t >> 8)) & 0x00ff_00ff_00ff_00ff;
    let t = (t.wrapping_mul(100).wrapping_add(t >> 16)) & 0x0000_ffff_0000_ffff;
    (t.wrapping_mul(10_000).wrapping_add(t >> 32)) & 0xffff_ffff
}

/// `a == b` for slices of equal length, without a call to `memcmp` for the short ones that
/// keys are: two overlapping word loads.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        // The first, middle and last bytes are every byte.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

/// Whether `chunk` starts with `key` in quotes, and holds a byte after them.
#[inline(always)]
pub(crate) fn quoted_at(chunk: &[u8], key: &[u8]) -> bool {
    let n = key.len();
    chunk.len() > n + 2 && chunk[0] == b'"' && chunk[1 + n] == b'"' && same_bytes(&chunk[1..1 + n], key)
}

/// JSON whitespace.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// When `chunk` starts with a whole string that needs no unescaping (no backslash, no control
/// character before its closing quote): the length of its text (the closing quote is at
/// `1 + len`).
pub(crate) fn plain_string(chunk: &[u8]) -> Option<usize> {
    if chunk.first() != Some(&b'"') {
        return None;
    }
    let j = string_stop(&chunk[1..])?;
    (chunk[1 + j] == b'"').then_some(j)
}

/// The first quote, backslash or control character in `b`: where a plain string's text stops.
#[inline]
fn string_stop(b: &[u8]) -> Option<usize> {
    first_stop(
        b,
        |x| {
            // Bytes equal to 0 after the XOR, and bytes below 0x20.
            let quote = x ^ (ONES * u64::from(b'"'));
            let backslash = x ^ (ONES * u64::from(b'\\'));
            quote.wrapping_sub(ONES) & !quote | backslash.wrapping_sub(ONES) & !backslash | x.wrapping_sub(ONES * 0x20) & !x
        },
        |c| c == b'"' || c == b'\\' || c < 0x20,
    )
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The first byte of `b` that stops a scan, eight bytes at a time (SWAR), the tail one by one:
/// `word` of a little-endian word has the high bit set in (at least) its lowest stopping byte
/// and in none below it (a borrow only flags bytes above a true one); `byte` says it of a byte.
#[inline(always)]
fn first_stop(b: &[u8], word: impl Fn(u64) -> u64, byte: impl Fn(u8) -> bool) -> Option<usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8) {
        let hit = word(u64::from_le_bytes(w.try_into().expect("8 bytes"))) & HIGH;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| byte(c)).map(|j| i + j)
}

/// crit's pretty line break: when `chunk` holds `lead` bytes (the last a newline), spaces, and
/// then a token, the length of all but the token.
#[inline]
fn line_break(chunk: &[u8], lead: usize) -> Option<usize> {
    let n = lead + leading_spaces(&chunk[lead..]);
    chunk.get(n).is_some_and(|b| !is_ws(*b)).then_some(n)
}

/// The spaces at the start of `b` (an indentation), eight bytes at a time.
#[inline]
pub(crate) fn leading_spaces(b: &[u8]) -> usize {
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ 0x2020_2020_2020_2020;
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + b[i..].iter().take_while(|&&c| c == b' ').count()
}

/// `bytes`, one whole value nested inside `depth` containers, parsed.
fn parse_alone(bytes: &[u8], depth: usize) -> Result<Value, JsonError> {
    let mut p = Parser { s: bytes, pos: 0 };
    let v = p.value(depth)?;
    if p.pos != bytes.len() {
        // The value's bytes end at a bracket matching its first one; a parse that stops short
        // stops at a bracket of the other kind, where the enclosing container needs a comma.
        return Err(p.error_at(p.pos, "Expecting ',' delimiter"));
    }
    Ok(v)
}

/// `e`, found in a value that starts at `offset`, `line`, `column` (characters before it on its
/// line), in document coordinates.
fn shifted(mut e: JsonError, offset: usize, line: usize, column: usize) -> JsonError {
    e.offset += offset;
    if e.line == 1 {
        e.column += column;
    }
    e.line += line - 1;
    e
}

/// Moves a position past `bytes`.
fn advance(bytes: &[u8], offset: &mut usize, line: &mut usize, column: &mut usize) {
    *offset += bytes.len();
    match bytes.iter().rposition(|&b| b == b'\n') {
        Some(p) => {
            *line += bytes.iter().filter(|&&b| b == b'\n').count();
            *column = chars(&bytes[p + 1..]);
        }
        None => *column += chars(bytes),
    }
}

/// Where one value's bytes end, fed chunk by chunk: a string at its closing quote, an array or
/// object at its matching bracket (brackets counted outside strings), anything else at the next
/// delimiter; the end of the input ends any. The parser decides whether the bytes are JSON. The
/// scans between interesting bytes are plain searches, so this runs at memory speed.
struct Scan {
    scalar: bool,
    depth: u64,
    in_string: bool,
    escape: bool,
}

impl Scan {
    /// A scan of the value whose first byte is `first`.
    fn new(first: Option<u8>) -> Self {
        Scan { scalar: !matches!(first, Some(b'"' | b'{' | b'[')), depth: 0, in_string: false, escape: false }
    }

    /// The length of the value's bytes in `chunk` when it ends there.
    fn feed(&mut self, chunk: &[u8]) -> Option<usize> {
        if self.scalar {
            return chunk.iter().position(|&b| is_delimiter(b)).or(if chunk.is_empty() { Some(0) } else { None });
        }
        let mut i = 0;
        while i < chunk.len() {
            if self.escape {
                self.escape = false;
                i += 1;
                continue;
            }
            let rest = &chunk[i..];
            let found = if self.in_string {
                rest.iter().position(|&b| b == b'"' || b == b'\\')
            } else {
                rest.iter().position(|&b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'))
            };
            i += found?;
            match (self.in_string, chunk[i]) {
                (true, b'\\') => self.escape = true,
                (true, _) => self.in_string = false,
                (false, b'"') => self.in_string = true,
                (false, b'{' | b'[') => self.depth += 1,
                (false, _) => self.depth = self.depth.saturating_sub(1),
            }
            i += 1;
            if self.depth == 0 && !self.in_string {
                return Some(i);
            }
        }
        // An empty chunk is the end of the input.
        if chunk.is_empty() { Some(0) } else { None }
    }
}

/// Bytes that end a number or literal: whitespace and JSON punctuation.
#[inline(always)]
fn is_delimiter(b: u8) -> bool {
    DELIMITERS[usize::from(b)]
}

/// [`is_delimiter`] as a table (one load instead of eleven comparisons).
static DELIMITERS: [bool; 256] = {
    let mut t = [false; 256];
    let all = b" \t\n\r,:[]{}\"";
    let mut i = 0;
    while i < all.len() {
        t[all[i] as usize] = true;
        i += 1;
    }
    t
};

/// Characters (UTF-8 code points, as Python counts columns) in `bytes`.
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xc0 != 0x80).count()
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error_at(&self, offset: usize, message: &str) -> JsonError {
        let offset = offset.min(self.s.len());
        let before = self.s.get(..offset).unwrap_or_default();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Characters, not bytes: continuation bytes do not start a column.
        let column = 1 + before
            .get(line_start..)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b & 0xc0 != 0x80)
            .count();
        JsonError {
            offset,
            line,
            column,
            message: message.to_string(),
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        let rest = self.s.get(self.pos..).unwrap_or_default();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') if !rest.starts_with(b"-I") => self.number(),
            _ => {
                let (len, v) = if rest.starts_with(b"null") {
                    (4, Value::Null)
                } else if rest.starts_with(b"true") {
                    (4, Value::Bool(true))
                } else if rest.starts_with(b"false") {
                    (5, Value::Bool(false))
                } else if rest.starts_with(b"NaN") {
                    (3, Value::Number("NaN".into()))
                } else if rest.starts_with(b"Infinity") {
                    (8, Value::Number("Infinity".into()))
                } else if rest.starts_with(b"-Infinity") {
                    (9, Value::Number("-Infinity".into()))
                } else {
                    return Err(self.error_at(self.pos, "Expecting value"));
                };
                self.pos += len;
                Ok(v)
            }
        }
    }

    /// Enters one more level of nesting, or fails past [`MAX_DEPTH`].
    fn deeper(&self, depth: usize) -> Result<usize, JsonError> {
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return Err(self.error_at(
                self.pos,
                "arrays and objects nested too deeply (more than 128 levels)",
            ));
        }
        Ok(depth)
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        let depth = self.deeper(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error_at(self.pos, "Expecting ',' delimiter")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        let depth = self.deeper(depth)?;
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error_at(
                    self.pos,
                    "Expecting property name enclosed in double quotes",
                ));
            }
            let key_at = self.pos;
            let key = String::from_utf8(self.string()?)
                .map_err(|_| self.error_at(key_at, "object key is not valid UTF-8"))?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error_at(self.pos, "Expecting ':' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(depth)?;
            members.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error_at(self.pos, "Expecting ',' delimiter")),
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, Python's `NUMBER_RE`; whatever follows
    /// is left to the caller (so `01` and `1.` fail there, as in Python).
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error_at(start, "Expecting value")),
        }
        if self.peek() == Some(b'.') && self.s.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            let mut p = self.pos + 1;
            if let Some(b'+' | b'-') = self.s.get(p) {
                p += 1;
            }
            if self.s.get(p).is_some_and(u8::is_ascii_digit) {
                self.pos = p;
                self.skip_digits();
            }
        }
        // The matched text is ASCII, so the lossy conversion borrows and never replaces.
        let text = String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default());
        Ok(Value::Number(Box::from(text.as_ref())))
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<Vec<u8>, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            // Copy the longest run that needs no processing; it must be valid UTF-8 on its own,
            // since a multi-byte character cannot contain the ASCII bytes that end a run.
            let run_start = self.pos;
            while self
                .peek()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.pos += 1;
            }
            let run = self.s.get(run_start..self.pos).unwrap_or_default();
            if let Err(e) = std::str::from_utf8(run) {
                return Err(self.error_at(run_start + e.valid_up_to(), "invalid UTF-8"));
            }
            out.extend_from_slice(run);
            match self.peek() {
                None => return Err(self.error_at(start, "Unterminated string starting at")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out, start)?,
                Some(_) => return Err(self.error_at(self.pos, "Invalid control character at")),
            }
        }
    }

    /// One escape sequence at `self.pos` (the backslash).
    fn escape(&mut self, out: &mut Vec<u8>, start: usize) -> Result<(), JsonError> {
        let at = self.pos;
        let simple = match self.s.get(at + 1) {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let u = self.hex4(at + 1)?;
                self.pos = at + 6;
                return self.unicode_escape(u, at, out);
            }
            None => return Err(self.error_at(start, "Unterminated string starting at")),
            Some(_) => return Err(self.error_at(at, "Invalid \\escape")),
        };
        out.push(simple);
        self.pos = at + 2;
        Ok(())
    }

    /// The code unit of a `\uXXXX` escape (after the backslash) and what it stands for.
    fn unicode_escape(&mut self, u: u32, at: usize, out: &mut Vec<u8>) -> Result<(), JsonError> {
        let c = match u {
            0xd800..=0xdbff => {
                // A high surrogate combines with an immediately following low surrogate escape.
                let rest = self.s.get(self.pos..).unwrap_or_default();
                let low = if rest.starts_with(b"\\u") {
                    self.hex4(self.pos + 1).ok()
                } else {
                    None
                };
                match low {
                    Some(lo @ 0xdc00..=0xdfff) => {
                        self.pos += 6;
                        0x1_0000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
                    }
                    _ => {
                        return Err(self.error_at(
                            at,
                            "lone surrogate escape (only \\udc80..\\udcff stand for bytes)",
                        ));
                    }
                }
            }
            0xdc80..=0xdcff => {
                // Python's surrogateescape: the raw byte 0x80..0xff.
                out.push((u & 0xff) as u8);
                return Ok(());
            }
            0xdc00..=0xdc7f => {
                return Err(self.error_at(
                    at,
                    "lone surrogate escape (only \\udc80..\\udcff stand for bytes)",
                ));
            }
            _ => u,
        };
        let Some(ch) = char::from_u32(c) else {
            return Err(self.error_at(at, "Invalid \\uXXXX escape"));
        };
        let mut tmp = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
        Ok(())
    }

    /// The four hex digits after the `u` at `u_at` (where Python reports a bad escape).
    fn hex4(&self, u_at: usize) -> Result<u32, JsonError> {
        let digits = self
            .s
            .get(u_at + 1..u_at + 5)
            .ok_or_else(|| self.error_at(u_at, "Invalid \\uXXXX escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let Some(x) = char::from(d).to_digit(16) else {
                return Err(self.error_at(u_at, "Invalid \\uXXXX escape"));
            };
            v = v << 4 | x;
        }
        Ok(v)
    }
}

impl Value {
    /// The member `key` of an object.
    ///
    /// With duplicate keys the last one wins, as in the dict Python's `json.loads` builds.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// A short name of the value's type for error messages: "null", "a boolean", "a number", ...
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Python's `int(s, 0)`: optional surrounding whitespace, optional sign, `0x`/`0o`/`0b` prefixes
/// (case-insensitive), decimal without leading zeros (except `0` itself), single underscores
/// between digits. Returns `None` when Python would raise `ValueError` or the value does not fit.
///
/// Details that match CPython 3.11: one underscore may follow the prefix (`0x_1f`); zeros may
/// repeat (`00`, `0_0`); whitespace is ASCII `" \t\n\v\f\r"` plus Unicode whitespace (but not
/// `\x1c`..`\x1f`); non-ASCII decimal digits (e.g. fullwidth `１２`) count as digits.
pub fn parse_int_str(s: &str) -> Option<i128> {
    parse_int_text(s.as_bytes())
}

/// [`parse_int_str`] of UTF-8 text as bytes: crit's hex form read from the bytes, anything else
/// as a `str` by Python's rules (`None` if it is not UTF-8).
pub(crate) fn parse_int_text(s: &[u8]) -> Option<i128> {
    // crit's own form of a hexadecimal field (`0x7ffe0375af5a`), read without the general rules.
    if let Some(v) = plain_hex(s) {
        return Some(i128::from(v));
    }
    py_int(std::str::from_utf8(s).ok()?, true)
}

/// `0x` and 1 to 16 hexadecimal digits, nothing else: the value (what `int(s, 0)` gives).
#[inline]
fn plain_hex(b: &[u8]) -> Option<u64> {
    let digits = b.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = v << 4 | u64::from(d);
    }
    Some(v)
}

/// Python's `int(s)` (`base0 == false`, base 10, leading zeros allowed) or `int(s, 0)`.
fn py_int(s: &str, base0: bool) -> Option<i128> {
    if s.is_ascii() {
        return py_int_ascii(s.as_bytes(), base0);
    }
    // CPython first rewrites non-ASCII whitespace as ' ' and non-ASCII decimal digits as ASCII
    // digits; any other non-ASCII character makes the string invalid.
    let mut ascii = Vec::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            ascii.push(c as u8);
        } else if is_unicode_space(c) {
            ascii.push(b' ');
        } else if let Some(d) = unicode_decimal(c) {
            ascii.push(b'0' + d);
        } else {
            return None;
        }
    }
    py_int_ascii(&ascii, base0)
}

/// C `isspace` in the C locale, what CPython's `PyLong_FromString` skips.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn py_int_ascii(b: &[u8], base0: bool) -> Option<i128> {
    let mut i = 0;
    while b.get(i).copied().is_some_and(is_c_space) {
        i += 1;
    }
    let negative = match b.get(i) {
        Some(b'+') => {
            i += 1;
            false
        }
        Some(b'-') => {
            i += 1;
            true
        }
        _ => false,
    };
    let mut radix = 10u32;
    // `010` is an error (old octal), but a run of zeros is still zero.
    let mut only_zero = false;
    if base0 {
        match (b.get(i), b.get(i + 1)) {
            (Some(b'0'), Some(p @ (b'x' | b'X' | b'o' | b'O' | b'b' | b'B'))) => {
                radix = match p.to_ascii_lowercase() {
                    b'x' => 16,
                    b'o' => 8,
                    _ => 2,
                };
                i += 2;
                // One underscore may separate the prefix from the digits.
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            (Some(b'0'), _) => only_zero = true,
            _ => {}
        }
    }
    if b.get(i) == Some(&b'_') {
        return None;
    }
    let mut v: u128 = 0;
    let mut digits = 0usize;
    let mut after_underscore = false;
    while let Some(&c) = b.get(i) {
        if c == b'_' {
            if after_underscore {
                return None;
            }
            after_underscore = true;
            i += 1;
            continue;
        }
        let Some(d) = char::from(c).to_digit(36).filter(|&d| d < radix) else {
            break;
        };
        after_underscore = false;
        v = v
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
        digits += 1;
        i += 1;
    }
    if after_underscore || digits == 0 {
        return None;
    }
    while b.get(i).copied().is_some_and(is_c_space) {
        i += 1;
    }
    if i != b.len() || (only_zero && v != 0) {
        return None;
    }
    if negative {
        0i128.checked_sub_unsigned(v)
    } else {
        i128::try_from(v).ok()
    }
}

/// Python's `str.isspace` for characters above ASCII (Unicode 14.0, CPython 3.11).
fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// Python's `str.strip()` whitespace: ASCII `\t\n\v\f\r`, `\x1c`..`\x1f`, space, and Unicode.
fn is_py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ') || is_unicode_space(c)
}

/// The first code points of the runs of ten Unicode decimal digits (category Nd) outside ASCII,
/// from CPython 3.11's `unicodedata` (Unicode 14.0): the digit value is the offset in the run.
const DECIMAL_ZEROS: [u32; 65] = [
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6,
    0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50,
    0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

fn unicode_decimal(c: char) -> Option<u8> {
    let c = u32::from(c);
    DECIMAL_ZEROS
        .iter()
        .find_map(|&z| c.checked_sub(z).filter(|&d| d < 10).map(|d| d as u8))
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// crit's `[int(x) for x in value.split(':')]`, keeping the first two (crit ignores any further
/// parts once they convert; fewer than two parts fail there with `IndexError`).
fn dev_parts(s: &str) -> Option<(i128, i128)> {
    let mut maj_min = [0i128; 2];
    let mut n = 0usize;
    for part in s.split(':') {
        let v = py_int(part, false)?;
        if let Some(slot) = maj_min.get_mut(n) {
            *slot = v;
        }
        n += 1;
    }
    (n >= 2).then_some((maj_min[0], maj_min[1]))
}

/// The reverse of [`super::json::format_dev_kernel`]: `"maj:min"` → `maj << 20 | min`.
///
/// The parts are read with Python's `int()` (so ` 8`, `0_8` and `008` are 8); as in crit, parts
/// after the second are converted but ignored. `None` when the result is negative or above
/// `u64::MAX`.
pub fn parse_dev_kernel(s: &str) -> Option<u64> {
    let (maj, min) = dev_parts(s)?;
    // Python's `maj << 20 | min` on unbounded two's-complement integers.
    let v = maj.checked_mul(1 << 20)? | min;
    u64::try_from(v).ok()
}

/// The reverse of [`super::json::format_dev_old`] (glibc `makedev`).
///
/// Python 3.11's `os.makedev` takes C `int` arguments (values outside `i32` raise
/// `OverflowError`), passes them to glibc as `unsigned int`, and returns the `dev_t` as a signed
/// long: results with the top bit set come out negative, which no protobuf field accepts. Those
/// cases give `None`.
pub fn parse_dev_old(s: &str) -> Option<u64> {
    let (maj, min) = dev_parts(s)?;
    let maj = u64::from(i32::try_from(maj).ok()? as u32);
    let min = u64::from(i32::try_from(min).ok()? as u32);
    let dev = ((maj & 0x0000_0fff) << 8)
        | ((maj & 0xffff_f000) << 32)
        | (min & 0x0000_00ff)
        | ((min & 0xffff_ff00) << 12);
    (dev <= i64::MAX as u64).then_some(dev)
}

/// The reverse of [`super::json::format_flags`]: split on `|`, trim, each token is a table name or
/// `parse_int_str`; the values are summed; `""` → 0.
///
/// As crit does: only the exact empty string is 0 (`" "` is an error), trimming is Python's
/// `str.strip()`, values are added (not OR-ed, so a name given twice counts twice) and may be
/// negative; `None` when the sum is outside `0..=u64::MAX`.
pub fn parse_flags(s: &str, table: &super::json::FlagTable) -> Option<u64> {
    // `dict(flags_map)`: with duplicate names the last entry wins.
    parse_flags_text(s.as_bytes(), |token| table.iter().rev().find(|(name, _)| name.as_bytes() == token).map(|&(_, bits)| bits))
}

/// [`parse_flags`] of UTF-8 text as bytes (`None` if it is not UTF-8 where that matters): the
/// tokens between `|` are split and matched as bytes, and only a token that needs Python's
/// rules (stripping other whitespace, or a number) is read as a `str`. `bits_of_name` is the
/// table's lookup ([`super::flags::FlagSpec::bits_of_name`]).
pub(crate) fn parse_flags_text(s: &[u8], bits_of_name: impl Fn(&[u8]) -> Option<u64>) -> Option<u64> {
    if s.is_empty() {
        return Some(0);
    }
    let mut sum: i128 = 0;
    let mut rest = s;
    loop {
        let (token, more) = match find_bar(rest) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        // crit's own spacing (`A | B`) is stripped without the general (Unicode) rules.
        let token = token.strip_prefix(b" ").unwrap_or(token);
        let token = token.strip_suffix(b" ").unwrap_or(token);
        let token = match token {
            [first, .., last] if first.is_ascii() && last.is_ascii() && !is_py_space(char::from(*first)) && !is_py_space(char::from(*last)) => token,
            _ => py_strip(std::str::from_utf8(token).ok()?).as_bytes(),
        };
        let v = match bits_of_name(token) {
            Some(bits) => i128::from(bits),
            None => parse_int_text(token)?,
        };
        sum = sum.checked_add(v)?;
        match more {
            Some(m) => rest = m,
            None => break,
        }
    }
    u64::try_from(sum).ok()
}

/// The first `|` in `b`, a word at a time ([`first_stop`]): flag names are longer than a word,
/// so a byte loop spent more on finding them than on looking them up.
#[inline]
fn find_bar(b: &[u8]) -> Option<usize> {
    first_stop(
        b,
        |x| {
            let x = x ^ (ONES * u64::from(b'|'));
            x.wrapping_sub(ONES) & !x
        },
        |c| c == b'|',
    )
}

/// The reverse of [`super::json::format_ipadd`]: an IPv4 address → one word, IPv6 → four words,
/// each `htonl` of the address's 32-bit groups.
///
/// Accepts what Python 3.11's `ipaddress.ip_address` accepts: dotted quads without leading zeros;
/// IPv6 with at most one `::`, embedded IPv4 in the last group, and a `%scope` suffix (ignored,
/// as `int()` of the address ignores it). Words are little-endian reads of the address bytes (crit
/// runs `socket.htonl` on x86), whatever the host.
pub fn parse_ipadd(s: &str) -> Option<Vec<u32>> {
    if s.contains('/') {
        return None;
    }
    if let Some(octets) = parse_ipv4(s) {
        return Some(vec![u32::from_le_bytes(octets)]);
    }
    let (addr, scope) = match s.split_once('%') {
        Some((addr, scope)) => (addr, Some(scope)),
        None => (s, None),
    };
    if scope.is_some_and(|scope| scope.is_empty() || scope.contains('%')) {
        return None;
    }
    let h = parse_ipv6(addr)?;
    let mut words = Vec::with_capacity(4);
    for pair in h.chunks_exact(2) {
        let (hi, lo) = (pair[0].to_be_bytes(), pair[1].to_be_bytes());
        words.push(u32::from_le_bytes([hi[0], hi[1], lo[0], lo[1]]));
    }
    Some(words)
}

/// `IPv4Address`'s parser: four decimal octets, each 1–3 ASCII digits, no leading zero, ≤ 255.
fn parse_ipv4(s: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut n = 0usize;
    for part in s.split('.') {
        let slot = octets.get_mut(n)?;
        let b = part.as_bytes();
        if b.is_empty()
            || b.len() > 3
            || !b.iter().all(u8::is_ascii_digit)
            || (b.len() > 1 && b[0] == b'0')
        {
            return None;
        }
        let v = b.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
        *slot = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then_some(octets)
}

/// One group of an IPv6 address during parsing.
#[derive(Clone, Copy)]
enum Group<'a> {
    Text(&'a str),
    Value(u16),
}

impl Group<'_> {
    fn is_empty(self) -> bool {
        matches!(self, Group::Text(""))
    }
    /// `_parse_hextet`: 1–4 ASCII hex digits.
    fn value(self) -> Option<u16> {
        match self {
            Group::Value(v) => Some(v),
            Group::Text(t) => {
                if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                u16::from_str_radix(t, 16).ok()
            }
        }
    }
}

/// `IPv6Address._ip_int_from_string`, step for step.
fn parse_ipv6(s: &str) -> Option<[u16; 8]> {
    if s.is_empty() {
        return None;
    }
    // At most 9 groups survive the checks below, and an IPv4 tail adds one: more than 9 raw
    // groups always fail, so the list stays small whatever the input.
    if s.split(':').nth(9).is_some() {
        return None;
    }
    let mut groups: Vec<Group<'_>> = s.split(':').map(Group::Text).collect();
    if groups.len() < 3 {
        return None;
    }
    let ipv4_tail = match groups.last() {
        Some(&Group::Text(last)) if last.contains('.') => Some(parse_ipv4(last)?),
        _ => None,
    };
    if let Some(v4) = ipv4_tail {
        groups.pop();
        groups.push(Group::Value(u16::from_be_bytes([v4[0], v4[1]])));
        groups.push(Group::Value(u16::from_be_bytes([v4[2], v4[3]])));
    }
    let n = groups.len();
    if n > 9 {
        return None;
    }
    // An empty group strictly inside marks the `::`.
    let mut skip = None;
    for (k, g) in groups.iter().enumerate().take(n - 1).skip(1) {
        if g.is_empty() {
            if skip.is_some() {
                return None;
            }
            skip = Some(k);
        }
    }
    let first_empty = groups.first().is_some_and(|g| g.is_empty());
    let last_empty = groups.last().is_some_and(|g| g.is_empty());
    let (hi, lo) = match skip {
        Some(k) => {
            let (mut hi, mut lo) = (k, n - k - 1);
            if first_empty {
                hi -= 1;
                if hi != 0 {
                    return None;
                }
            }
            if last_empty {
                lo -= 1;
                if lo != 0 {
                    return None;
                }
            }
            if hi + lo >= 8 {
                return None;
            }
            (hi, lo)
        }
        None => {
            if n != 8 || first_empty || last_empty {
                return None;
            }
            (n, 0)
        }
    };
    let mut out = [0u16; 8];
    for (k, g) in groups.iter().take(hi).enumerate() {
        *out.get_mut(k)? = g.value()?;
    }
    for (k, g) in groups.iter().skip(n - lo).enumerate() {
        *out.get_mut(8 - lo + k)? = g.value()?;
    }
    Some(out)
}

/// The base64 alphabet's values; 64 marks bytes outside it.
static B64_DECODE: [u8; 256] = {
    let mut t = [64u8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// `base64.decodebytes`: standard alphabet; characters outside it (newlines) are skipped, as
/// Python's non-strict `a2b_base64` does; wrong padding is an error.
///
/// CPython 3.11's exact rules: decoding stops at the first `=` that completes a quantum (after
/// 2 data characters `==`, after 3 one `=`), and everything after it is ignored; `=` anywhere
/// else is skipped; leftover bits of a final partial quantum are dropped unchecked. A final
/// quantum of 1 data character is an error, of 2 or 3 without its padding "Incorrect padding".
pub fn decode_base64(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 3);
    let mut quad_pos = 0u8;
    let mut left = 0u8;
    let mut pads = 0u8;
    for &c in s {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let v = B64_DECODE[c as usize];
        if v >= 64 {
            continue;
        }
        pads = 0;
        match quad_pos {
            0 => {
                left = v;
                quad_pos = 1;
            }
            1 => {
                out.push(left << 2 | v >> 4);
                left = v & 0x0f;
                quad_pos = 2;
            }
            2 => {
                out.push(left << 4 | v >> 2);
                left = v & 0x03;
                quad_pos = 3;
            }
            _ => {
                out.push(left << 6 | v);
                quad_pos = 0;
            }
        }
    }
    match quad_pos {
        0 => Ok(out),
        1 => Err(format!(
            "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
            out.len() / 3 * 4 + 1
        )),
        _ => Err("Incorrect padding".to_string()),
    }
}

/// `quopri.decodestring`: `=XX` escapes (either case), soft line breaks `=\n`.
///
/// This is binascii's `a2b_qp` (header off), which never fails on bytes: `=\r...\n` is a soft
/// break too, `==` gives `=`, a `=` not followed by two hex digits stays, a final `=` is dropped.
/// crit hands it the JSON string itself (a `str`), for which Python accepts only ASCII: any byte
/// above 0x7f is the error Python raises.
pub fn decode_quopri(s: &[u8]) -> Result<Vec<u8>, String> {
    if !s.is_ascii() {
        return Err("string argument should contain only ASCII characters".to_string());
    }
    let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&c) = s.get(i) {
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        match s.get(i) {
            None => break,
            Some(b'\n' | b'\r') => {
                // Soft line break: skip to just past the next '\n'.
                while s.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
                if i < s.len() {
                    i += 1;
                }
            }
            Some(b'=') => {
                // "broken case from broken python qp"
                out.push(b'=');
                i += 1;
            }
            _ => match (hex(s.get(i)), hex(s.get(i + 1))) {
                (Some(h), Some(l)) => {
                    out.push((h << 4 | l) as u8);
                    i += 2;
                }
                _ => out.push(b'='),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Expected values come from CPython 3.11.7 (`json.loads`, `int(s, 0)`, `ipaddress`,
    //! `os.makedev`, `base64.decodebytes`, `quopri.decodestring`, crit's `encode_dev` and
    //! `unmap_flags`), unless a test says otherwise.

    use super::super::json::{
        FlagTable, JsonWriter, format_dev_kernel, format_dev_old, format_flags, format_ipadd,
    };
    use super::*;

    /// A small deterministic generator (xorshift64*) for property tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        /// Bytes biased towards what stresses the encoders: ASCII specials, UTF-8 fragments,
        /// whitespace before line ends, long lines.
        fn bytes(&mut self) -> Vec<u8> {
            const PIECES: &[&[u8]] = &[
                b"a",
                b" ",
                b"\t",
                b"\n",
                b"\r\n",
                b".",
                b"=",
                b"\"",
                b"\\",
                b"\x00",
                b"\x7f",
                b"\xff",
                b"\xc3\xa9",
                b"\xe2\x82\xac",
                b"\xf0\x9f\x98\x80",
                b"\xed\xa0\x80",
                b"\xc0\x80",
                b"\xe2\x82",
                b"abcdefghijklmnopqrstuvwxyz0123456789",
            ];
            let n = self.below(120);
            let mut v = Vec::new();
            for _ in 0..n {
                if self.below(4) == 0 {
                    v.push(self.next() as u8);
                } else {
                    v.extend_from_slice(PIECES[self.below(PIECES.len())]);
                }
            }
            v
        }
    }

    fn num(s: &str) -> Value {
        Value::Number(s.into())
    }

    fn string(s: &[u8]) -> Value {
        Value::String(s.to_vec())
    }

    #[test]
    fn parses_every_kind_of_value() {
        let doc = r#" {"n": null, "t": true, "f": false, "i": -12, "u": 18446744073709551615,
            "x": 1.5e3, "z": -0.0E+1, "s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "a": [1, [], {}],
            "o": {"k": "v"}, "nan": [NaN, Infinity, -Infinity], "raw": "é€"} "#;
        let v = parse(doc.as_bytes()).expect("valid");
        let expected = Value::Object(vec![
            ("n".into(), Value::Null),
            ("t".into(), Value::Bool(true)),
            ("f".into(), Value::Bool(false)),
            ("i".into(), num("-12")),
            ("u".into(), num("18446744073709551615")),
            ("x".into(), num("1.5e3")),
            ("z".into(), num("-0.0E+1")),
            ("s".into(), string("a\"\\/\u{8}\u{c}\n\r\té😀".as_bytes())),
            (
                "a".into(),
                Value::Array(vec![num("1"), Value::Array(vec![]), Value::Object(vec![])]),
            ),
            ("o".into(), Value::Object(vec![("k".into(), string(b"v"))])),
            (
                "nan".into(),
                Value::Array(vec![num("NaN"), num("Infinity"), num("-Infinity")]),
            ),
            ("raw".into(), string("é€".as_bytes())),
        ]);
        assert_eq!(v, expected);
        assert_eq!(v.get("i"), Some(&num("-12")));
        assert_eq!(v.get("missing"), None);
        assert_eq!(num("1").get("i"), None);
        assert_eq!(parse(b"0").expect("valid"), num("0"));
        assert_eq!(parse(b" \t\r\n\"\" \n").expect("valid"), string(b""));
    }

    #[test]
    fn duplicate_keys_last_wins_like_a_dict() {
        let v = parse(br#"{"a": 1, "b": 2, "a": 3}"#).expect("valid");
        assert_eq!(v.get("a"), Some(&num("3")));
        let Value::Object(members) = &v else {
            panic!("object")
        };
        assert_eq!(members.len(), 3, "all members are kept in input order");
    }

    #[test]
    fn type_names() {
        let names: Vec<_> = [
            Value::Null,
            Value::Bool(true),
            num("1"),
            string(b""),
            Value::Array(vec![]),
            Value::Object(vec![]),
        ]
        .iter()
        .map(Value::type_name)
        .collect();
        assert_eq!(
            names,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }

    #[test]
    fn surrogate_escapes() {
        let s = |doc: &[u8]| {
            parse(doc).map(|v| match v {
                Value::String(b) => b,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(s(br#""\udc80\udcff\udcAB""#), Ok(vec![0x80, 0xff, 0xab]));
        assert_eq!(
            s(br#""a\udce2\udc82\udcacb""#),
            Ok(b"a\xe2\x82\xacb".to_vec())
        );
        assert_eq!(s(br#""\uD83D\uDE00""#), Ok("😀".as_bytes().to_vec()));
        assert_eq!(
            s(br#""\ud800\udc80""#),
            Ok("\u{10080}".as_bytes().to_vec()),
            "a pair, not a byte"
        );
        // Lone surrogates that are not surrogateescape bytes have no byte form.
        for doc in [
            &br#""\ud800""#[..],
            br#""\ud800x""#,
            br#""\ud800\u0041""#,
            br#""\udc00""#,
            br#""\udc7f""#,
            br#""\ude00""#,
        ] {
            assert!(s(doc).is_err(), "{}", String::from_utf8_lossy(doc));
        }
        // Keys must be text.
        assert!(parse(br#"{"\udc80": 1}"#).is_err());
    }

    #[test]
    fn raw_bytes_must_be_utf8() {
        let e = parse(b"[\"ab\xff\"]").expect_err("invalid UTF-8");
        assert_eq!(e.offset, 4);
        assert!(parse(b"\"\xed\xa0\x80\"").is_err());
        assert!(parse(b"\"\xe2\x82\"").is_err());
        assert!(
            parse(b"\xef\xbb\xbf{}").is_err(),
            "a BOM is rejected as by json.loads"
        );
        assert!(parse(b"\xc3\xa9").is_err());
    }

    #[test]
    fn error_positions_like_python() {
        // json.loads(doc) raises JSONDecodeError with pos, lineno, colno
        let cases: &[(&str, usize, usize, usize)] = &[
            (r#""#, 0, 1, 1),
            (r#" "#, 1, 1, 2),
            (r#"[1,]"#, 3, 1, 4),
            (r#"{"a":1,}"#, 7, 1, 8),
            (r#"01"#, 1, 1, 2),
            (r#"[01]"#, 2, 1, 3),
            (r#"1."#, 1, 1, 2),
            (r#"-"#, 0, 1, 1),
            (r#"{"a" 1}"#, 5, 1, 6),
            (r#"[1 2]"#, 3, 1, 4),
            ("\u{22}a\u{9}b\u{22}", 2, 1, 3),
            (r#""\x""#, 1, 1, 2),
            (r#""\u12""#, 2, 1, 3),
            (r#""\u12g4""#, 2, 1, 3),
            ("[\u{a}\u{a}  x]", 5, 3, 3),
            (r#""abc"#, 0, 1, 1),
            (r#"nul"#, 0, 1, 1),
            (r#"1e"#, 1, 1, 2),
            (r#"[1] x"#, 4, 1, 5),
            (r#"{1:2}"#, 1, 1, 2),
            (r#"["#, 1, 1, 2),
            (r#"{"#, 1, 1, 2),
            (r#"{"a""#, 4, 1, 5),
            (r#"{"a":"#, 5, 1, 6),
            (r#"{"a":1"#, 6, 1, 7),
            (r#"[1,"#, 3, 1, 4),
            (r#""\"#, 0, 1, 1),
            (r#"tru"#, 0, 1, 1),
            (r#"-Infinit"#, 0, 1, 1),
            ("\u{a}\u{a}\u{22}\u{5c}q\u{22}", 3, 3, 2),
            ("[\u{a}  1,\u{a}  2\u{a}  3]", 13, 4, 3),
            ("\u{22}\u{1}\u{22}", 1, 1, 2),
            (r#"{"a":1 "b":2}"#, 7, 1, 8),
            (r#"+1"#, 0, 1, 1),
            (r#".5"#, 0, 1, 1),
            (r#"[.5]"#, 1, 1, 2),
            (r#"1.5e"#, 3, 1, 4),
            (r#"Nan"#, 0, 1, 1),
            (r#"infinity"#, 0, 1, 1),
        ];
        for &(doc, offset, line, column) in cases {
            let e = parse(doc.as_bytes()).expect_err(doc);
            assert_eq!(
                (e.offset, e.line, e.column),
                (offset, line, column),
                "{doc:?}: {e}"
            );
        }
        let e = parse(b"[1,]").expect_err("trailing comma");
        assert_eq!(e.to_string(), "line 1 column 4: Expecting value");
        // Columns count characters, offsets count bytes.
        let e = parse("[\"é\", \n\"é€\" x]".as_bytes()).expect_err("missing comma");
        assert_eq!((e.offset, e.line, e.column), (16, 2, 6));
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(nested(MAX_DEPTH).as_bytes()).is_ok());
        assert!(parse(nested(MAX_DEPTH + 1).as_bytes()).is_err());
        assert!(parse("[".repeat(10_000).as_bytes()).is_err());
        assert!(parse("{\"a\":".repeat(10_000).as_bytes()).is_err());
        assert!(parse(nested(100_000).as_bytes()).is_err());
        let objects = format!("{}1{}", "{\"a\": [".repeat(64), "]}".repeat(64));
        assert!(parse(objects.as_bytes()).is_ok());
    }

    const SAMPLE: &[u8] = br#"{"magic": "INVENTORY", "entries": [{"img_version": 2, "fdinfo_per_id": true, "root_ids": {"vm_id": 1, "files_id": 1}, "ns_per_id": true, "root_cg_set": 1, "lsmtype": "NO_LSM", "dump_uptime": "12345678", "name": "\u00e9\ud83d\ude00\udc80", "f": -1.5e-3, "n": null, "e": [[], {}]}]}"#;

    #[test]
    fn every_truncation_is_an_error() {
        assert!(parse(SAMPLE).is_ok());
        for n in 0..SAMPLE.len() {
            assert!(parse(&SAMPLE[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        const ALPHABET: &[u8] =
            b"[]{}\",:\\/ \n\t0123456789-+.eEnulltruefalseNaInfiy\\u00dcd8\xc3\xa9\xff\x00";
        for _ in 0..20_000 {
            let n = rng.below(40);
            let doc: Vec<u8> = (0..n)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect();
            let _ = parse(&doc);
        }
        // Mutations of a valid document.
        for _ in 0..20_000 {
            let mut doc = SAMPLE.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(doc.len());
                match rng.below(3) {
                    0 => doc[at] = rng.next() as u8,
                    1 => {
                        doc.remove(at);
                    }
                    _ => doc.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                }
            }
            let _ = parse(&doc);
        }
        for n in 0..=255u8 {
            let _ = parse(&[n]);
            let _ = parse(&[b'"', b'\\', n]);
            let _ = parse(&[b'"', b'\\', b'u', n]);
        }
    }

    #[test]
    fn writer_output_parses_back() {
        let mut rng = Rng(7);
        for pretty in [false, true] {
            for _ in 0..500 {
                let data = rng.bytes();
                let mut w = JsonWriter::new(pretty);
                w.begin_object();
                w.key("s");
                w.str_bytes(&data);
                w.key("list");
                w.begin_array();
                w.u64(rng.next());
                let signed = rng.next() as i64;
                w.i64(signed);
                w.hex(i128::from(signed));
                w.begin_object();
                w.end_object();
                w.end_array();
                w.end_object();
                let text = w.take();
                let v = parse(&text).expect("writer output is valid JSON");
                assert_eq!(v.get("s"), Some(&Value::String(data.clone())));
                let Some(Value::Array(list)) = v.get("list") else {
                    panic!("array")
                };
                let Value::String(hex) = &list[2] else {
                    panic!("hex string")
                };
                let hex = std::str::from_utf8(hex).expect("ASCII");
                let Value::Number(n) = &list[1] else {
                    panic!("number")
                };
                assert_eq!(parse_int_str(hex), n.parse::<i128>().ok());
            }
        }
    }

    /// `str_bytes` → `parse` gives the bytes back for arbitrary bytes (surrogateescape).
    #[test]
    fn str_bytes_round_trip() {
        let mut rng = Rng(1);
        let check = |data: &[u8]| {
            let mut w = JsonWriter::new(false);
            w.str_bytes(data);
            assert_eq!(
                parse(&w.take()),
                Ok(Value::String(data.to_vec())),
                "{data:x?}"
            );
        };
        for _ in 0..3000 {
            check(&rng.bytes());
        }
        for b in 0..=255u8 {
            check(&[b]);
            check(&[b'a', b, b'z']);
        }
    }

    #[test]
    fn base64_round_trip() {
        let mut rng = Rng(2);
        for _ in 0..2000 {
            let data = rng.bytes();
            let mut w = JsonWriter::new(false);
            w.base64(&data);
            let Ok(Value::String(text)) = parse(&w.take()) else {
                panic!("string")
            };
            assert_eq!(decode_base64(&text), Ok(data));
        }
    }

    /// quopri is lossless except for CR LF handling (see `quopri_line_ends_are_lossy`).
    #[test]
    fn quopri_round_trip() {
        let mut rng = Rng(3);
        for _ in 0..3000 {
            let data: Vec<u8> = rng.bytes().into_iter().filter(|&b| b != b'\r').collect();
            let mut w = JsonWriter::new(false);
            w.quopri(&data);
            let Ok(Value::String(text)) = parse(&w.take()) else {
                panic!("string")
            };
            assert_eq!(
                decode_quopri(&text),
                Ok(data.clone()),
                "{:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn quopri_line_ends_are_lossy() {
        // quopri.decodestring(quopri.encodestring(x)) in CPython: the first line end decides
        // whether every line end is written as LF or as CR LF.
        let round = |data: &[u8]| {
            let mut w = JsonWriter::new(false);
            w.quopri(data);
            let Ok(Value::String(text)) = parse(&w.take()) else {
                panic!("string")
            };
            decode_quopri(&text)
        };
        assert_eq!(round(b"a\r\nb\nc"), Ok(b"a\r\nb\r\nc".to_vec()));
        assert_eq!(round(b"a\nb\r\nc"), Ok(b"a\nb\nc".to_vec()));
        assert_eq!(round(b"a\rb"), Ok(b"a\rb".to_vec()));
    }

    #[test]
    fn leading_digits_as_a_loop_counts_them() {
        // Every length of digit run at every offset in a 24-byte window, ended by each kind of
        // byte that follows a number (and bytes either side of '0'..'9'), against a plain loop.
        let naive = |b: &[u8]| {
            let n = b.iter().take_while(|d| d.is_ascii_digit()).count();
            let v = b[..n].iter().fold(0u64, |v, &d| v.wrapping_mul(10).wrapping_add(u64::from(d - b'0')));
            (n, v)
        };
        let digits = b"98765432109876543210123";
        for ender in [b',', b'}', b']', b' ', b'.', b'e', b'/', b':', 0x00, 0xb0, 0xff] {
            for start in 0..digits.len() {
                for len in 0..=digits.len() - start {
                    let mut b = digits[start..start + len].to_vec();
                    b.push(ender);
                    b.extend_from_slice(b"1234567");
                    assert_eq!(leading_digits(&b), naive(&b), "{:?}", String::from_utf8_lossy(&b));
                    // And cut right after the run (nothing follows).
                    assert_eq!(leading_digits(&b[..len]), naive(&b[..len]));
                }
            }
        }
        assert_eq!(leading_digits(b"999999999999999999,"), (18, 999_999_999_999_999_999));
        assert_eq!(leading_digits(b"18446744073709551615]"), (20, u64::MAX));
        assert_eq!(leading_digits(b"00000000000000000000007 "), (23, 7));
    }

    #[test]
    fn small_int_reads_what_a_whole_parse_reads() {
        // Each text followed by what may come after a value: `small_int` takes it exactly when
        // it is an integer of at most 18 digits that a whole parse accepts, with the value that
        // parse gives, and consumes just its bytes; otherwise it consumes nothing.
        let texts: &[&str] = &[
            "0", "-0", "7", "-7", "10", "-10", "01", "-01", "00", "1.5", "1e3", "1E3", "-", "--1", "-a", "+1", "a", "\"1\"",
            "123456789012345678", "-123456789012345678", "1234567890123456789", "999999999999999999",
            "4294967296", "-9223372036854775808", "1.", "0.0", "0e0",
        ];
        for text in texts {
            for after in [",", "}", "]", " ", "\n", ".5", "x"] {
                let doc = format!("{text}{after}");
                let whole = parse(text.as_bytes()).ok();
                let mut r = Reader::new(doc.as_bytes());
                let got = r.small_int().unwrap();
                let want = match (&whole, after) {
                    // `.5` makes the number a float, `x` one bad token: neither is an integer.
                    (_, ".5" | "x") => None,
                    (Some(Value::Number(n)), _) if text.trim_start_matches('-').len() <= 18 => n.parse::<i64>().ok(),
                    _ => None,
                };
                assert_eq!(got, want, "{doc:?}");
                assert_eq!(r.offset, if got.is_some() { text.len() } else { 0 }, "{doc:?}");
            }
        }
        // Cut right after the digits (nothing buffered after them): not known to be whole.
        assert_eq!(Reader::new(&b"12"[..]).small_int().unwrap(), None);
        // Every one- to three-digit number, both signs, against the parse.
        for v in -1000i64..=1000 {
            let doc = format!("{v},");
            assert_eq!(Reader::new(doc.as_bytes()).small_int().unwrap(), Some(v), "{doc}");
        }
    }

    #[test]
    fn string_stop_and_leading_spaces_as_a_loop() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for len in 0..text.len() {
                for at in 0..=len {
                    let mut b = text[..len].to_vec();
                    if at < len {
                        b[at] = stop;
                    }
                    // Bytes either side of the stops never stop a string.
                    b.extend_from_slice(b" !#[]\x7f\x80\xff");
                    assert_eq!(string_stop(&b), naive(&b), "{b:?}");
                }
            }
        }
        for n in 0..40 {
            let mut b = vec![b' '; n];
            assert_eq!(leading_spaces(&b), n);
            b.push(b'"');
            b.extend_from_slice(b"        ");
            assert_eq!(leading_spaces(&b), n);
        }
        assert_eq!(leading_spaces(b" \t "), 1);
    }

    #[test]
    fn find_bar_as_a_loop() {
        let text = b"VMA_AREA_REGULAR VMA_FILE_PRIVATE";
        for len in 0..text.len() {
            for at in 0..=len {
                let mut b = text[..len].to_vec();
                if at < len {
                    b[at] = b'|';
                }
                // Bytes one bit away from `|` (0x7c) never match; a second bar after the first.
                b.extend_from_slice(b"\x7d\x7e\x3c\xfc|");
                assert_eq!(find_bar(&b), b.iter().position(|&c| c == b'|'), "{b:?}");
            }
        }
        assert_eq!(find_bar(b""), None);
        assert_eq!(find_bar(b"MAP_PRIVATE"), None);
    }

    #[test]
    fn plain_hex_is_int_base_0() {
        for s in ["0x0", "0x7ffe0375af5a", "0xFFFFFFFFFFFFFFFF", "0x00ff", "0xDeadBeef"] {
            assert_eq!(plain_hex(s.as_bytes()).map(i128::from), py_int(s, true), "{s}");
        }
        for s in ["0x", "0x10000000000000000", "0x_1", "0X1", " 0x1", "0x1 ", "0xg", "-0x1"] {
            assert_eq!(plain_hex(s.as_bytes()), None, "{s}");
        }
        assert_eq!(parse_int_str("0x10000000000000000"), Some(1 << 64));
        assert_eq!(parse_int_str("0X1_0"), Some(16));
    }

    #[test]
    fn delimiters_are_whitespace_and_punctuation() {
        for b in 0..=255u8 {
            assert_eq!(is_delimiter(b), b" \t\n\r,:[]{}\"".contains(&b), "{b:#x}");
        }
    }

    #[test]
    fn same_bytes_is_equality() {
        let a = b"fdflags_and_some_more_text_of_32";
        for n in 0..=a.len() {
            assert!(same_bytes(&a[..n], &a[..n]));
            for i in 0..n {
                let mut b = a[..n].to_vec();
                b[i] ^= 0x20;
                assert!(!same_bytes(&a[..n], &b), "{n} {i}");
            }
        }
        assert!(!same_bytes(b"start", b"star"));
    }

    #[test]
    fn int_str_like_python() {
        // int(s, 0), None where Python raises ValueError or the value is outside i128
        let cases: &[(&str, Option<i128>)] = &[
            (r#"0x10"#, Some(16)),
            (r#"0X1f"#, Some(31)),
            (r#"0o17"#, Some(15)),
            (r#"0b101"#, Some(5)),
            (r#"16"#, Some(16)),
            (r#"-5"#, Some(-5)),
            (r#" 7 "#, Some(7)),
            (r#"1_000"#, Some(1000)),
            (r#"010"#, None),
            (r#"0"#, Some(0)),
            (r#"00"#, Some(0)),
            (r#"_1"#, None),
            (r#"1__0"#, None),
            (r#"0x_1f"#, Some(31)),
            (r#"0_0"#, Some(0)),
            (r#"0x"#, None),
            (r#"0x_"#, None),
            (r#"1_"#, None),
            (r#"+5"#, Some(5)),
            (r#"- 5"#, None),
            ("\u{9}12\u{a}", Some(12)),
            (r#"0b_1"#, Some(1)),
            (r#"0B1"#, Some(1)),
            (r#"0O7"#, Some(7)),
            (r#"00_0"#, Some(0)),
            (r#"0_1"#, None),
            (r#"+0x10"#, Some(16)),
            (r#"-0x10"#, Some(-16)),
            ("\u{1c}5", None),
            ("\u{b}5\u{c}", Some(5)),
            ("\u{a0}5\u{3000}", Some(5)),
            ("\u{85}5", Some(5)),
            ("\u{200b}5", None),
            ("\u{ff10}x10", Some(16)),
            ("\u{ff11}\u{ff12}", Some(12)),
            ("\u{663}", Some(3)),
            (r#"0x1F_ab"#, Some(8107)),
            (r#"  "#, None),
            (r#""#, None),
            (r#"0o"#, None),
            (r#"0b2"#, None),
            (r#"0xg"#, None),
            (r#"12a"#, None),
            (r#"1 2"#, None),
            (r#"0x__1"#, None),
            (r#"-0"#, Some(0)),
            (r#"-00"#, Some(0)),
            (r#"0b"#, None),
            (r#"0xffffffffffffffff"#, Some(18446744073709551615)),
            (r#"18446744073709551615"#, Some(18446744073709551615)),
            (r#"-9223372036854775808"#, Some(-9223372036854775808)),
            (
                r#"170141183460469231731687303715884105727"#,
                Some(170141183460469231731687303715884105727),
            ),
            (
                r#"-170141183460469231731687303715884105728"#,
                Some(-170141183460469231731687303715884105728),
            ),
            (r#"170141183460469231731687303715884105728"#, None),
            (r#"-170141183460469231731687303715884105729"#, None),
            (r#"0xffffffffffffffffffffffffffffffff"#, None),
            (r#"0x_"#, None),
            (r#"1_2_3"#, Some(123)),
            (r#"0_"#, None),
            ("\u{663}_\u{663}", Some(33)),
            ("5\u{0}", None),
            ("0x1\u{a0}", Some(1)),
        ];
        for &(s, expected) in cases {
            assert_eq!(parse_int_str(s), expected, "{s:?}");
        }
    }

    #[test]
    fn dev_like_crit() {
        // crit's encode_dev: `dev[0] << 20 | dev[1]` of `[int(x) for x in value.split(':')]`
        let kernel: &[(&str, Option<u64>)] = &[
            (r#"8:3"#, Some(8388611)),
            (r#"0:0"#, Some(0)),
            (r#"1:1048575"#, Some(2097151)),
            (r#"0:1048576"#, Some(1048576)),
            (r#"1:1048576"#, Some(1048576)),
            (r#" 8 : 3 "#, Some(8388611)),
            (r#"08:003"#, Some(8388611)),
            (r#"1_0:2"#, Some(10485762)),
            (r#"-1:0"#, None),
            (r#"0:-1"#, None),
            (r#"1:2:3"#, Some(1048578)),
            (r#"8"#, None),
            (r#"8:"#, None),
            (r#":3"#, None),
            (r#"a:b"#, None),
            (r#"17592186044415:1048575"#, Some(18446744073709551615)),
            (r#"17592186044416:0"#, None),
            (r#"0x8:3"#, None),
        ];
        for &(s, expected) in kernel {
            assert_eq!(parse_dev_kernel(s), expected, "{s:?}");
        }
        // crit's encode_dev with odev: os.makedev(dev[0], dev[1])
        let old: &[(&str, Option<u64>)] = &[
            (r#"8:3"#, Some(2051)),
            (r#"0:0"#, Some(0)),
            (r#"4095:255"#, Some(1048575)),
            (r#"4096:256"#, Some(17592187092992)),
            (r#"2147483647:2147483647"#, Some(9223363240761753599)),
            (r#"-1:0"#, None),
            (r#"0:-1"#, Some(17592184996095)),
            (r#"-5:-7"#, None),
            (r#"2147483648:0"#, None),
            (r#"0:2147483648"#, None),
            (r#"1:2:3"#, Some(258)),
            (r#"8"#, None),
            (r#"x:1"#, None),
            (r#"305421807:1737145345"#, Some(1311768467750121217)),
        ];
        for &(s, expected) in old {
            assert_eq!(parse_dev_old(s), expected, "{s:?}");
        }
    }

    #[test]
    fn dev_round_trip() {
        let mut rng = Rng(4);
        for _ in 0..5000 {
            let v = rng.next();
            let mut s = String::new();
            format_dev_kernel(v, &mut s);
            assert_eq!(parse_dev_kernel(&s), Some(v), "{s}");
            // Python's os.makedev takes C ints: only majors and minors below 2^31 come back.
            let v = v & 0x7fff_f7ff_ffff_ffff;
            let mut s = String::new();
            format_dev_old(v, &mut s);
            assert_eq!(parse_dev_old(&s), Some(v), "{s}");
        }
    }

    const PROT: &FlagTable = &[("PROT_READ", 0x1), ("PROT_WRITE", 0x2), ("PROT_EXEC", 0x4)];

    #[test]
    fn flags_like_crit() {
        // crit's unmap_flags with mmap_prot_map
        let cases: &[(&str, Option<u64>)] = &[
            (r#""#, Some(0)),
            (r#" "#, None),
            (r#"PROT_READ"#, Some(1)),
            (r#"PROT_READ | PROT_WRITE"#, Some(3)),
            (r#"PROT_READ|PROT_EXEC"#, Some(5)),
            (r#" PROT_READ | 0x8 "#, Some(9)),
            (r#"PROT_READ | PROT_READ"#, Some(2)),
            (r#"0x10"#, Some(16)),
            (r#"8"#, Some(8)),
            (r#"prot_read"#, None),
            (r#"PROT_READ |"#, None),
            (r#"| PROT_READ"#, None),
            ("\u{1c}PROT_READ\u{1f}", Some(1)),
            (r#"-1"#, None),
            (r#"-1 | PROT_READ"#, Some(0)),
            (r#"0xffffffffffffffff"#, Some(18446744073709551615)),
            (r#"0xffffffffffffffff | 1"#, None),
            (r#"PROT_READ | 0b11 | 0o7"#, Some(11)),
        ];
        for &(s, expected) in cases {
            assert_eq!(parse_flags(s, PROT), expected, "{s:?}");
        }
        let mut rng = Rng(5);
        for _ in 0..2000 {
            let v = rng.next() >> rng.below(64);
            let mut s = String::new();
            format_flags(v, PROT, &mut s);
            assert_eq!(parse_flags(&s, PROT), Some(v), "{s}");
        }
    }

    #[test]
    fn ipadd_like_ipaddress() {
        // crit's dict2pb: socket.htonl of ipaddress.ip_address(s)'s 32-bit groups
        let cases: &[(&str, Option<&[u32]>)] = &[
            (r#"127.0.0.1"#, Some(&[0x100007f])),
            (r#"0.0.0.0"#, Some(&[0x0])),
            (r#"255.255.255.255"#, Some(&[0xffffffff])),
            (r#"256.0.0.1"#, None),
            (r#"1.2.3"#, None),
            (r#"1.2.3.4.5"#, None),
            (r#"01.2.3.4"#, None),
            (r#"1.2.3.04"#, None),
            (r#"0.0.0.00"#, None),
            (r#"1.2.3.4 "#, None),
            (r#" 1.2.3.4"#, None),
            (r#"1.2.3.4/32"#, None),
            ("\u{661}.2.3.4", None),
            (r#"::"#, Some(&[0x0, 0x0, 0x0, 0x0])),
            (r#"::1"#, Some(&[0x0, 0x0, 0x0, 0x1000000])),
            (r#"1::"#, Some(&[0x100, 0x0, 0x0, 0x0])),
            (r#"fe80::1"#, Some(&[0x80fe, 0x0, 0x0, 0x1000000])),
            (r#"fe80::1%eth0"#, Some(&[0x80fe, 0x0, 0x0, 0x1000000])),
            (r#"fe80::1%"#, None),
            (r#"fe80::1%a%b"#, None),
            (r#"1.2.3.4%x"#, None),
            (
                r#"::ffff:1.2.3.4"#,
                Some(&[0x0, 0x0, 0xffff0000, 0x4030201]),
            ),
            (r#"::1.2.3.4"#, Some(&[0x0, 0x0, 0x0, 0x4030201])),
            (
                r#"1:2:3:4:5:6:1.2.3.4"#,
                Some(&[0x2000100, 0x4000300, 0x6000500, 0x4030201]),
            ),
            (r#"1:2:3:4:5:6:7:1.2.3.4"#, None),
            (
                r#"1:2:3:4:5::1.2.3.4"#,
                Some(&[0x2000100, 0x4000300, 0x500, 0x4030201]),
            ),
            (
                r#"1:2:3:4:5:6:7:8"#,
                Some(&[0x2000100, 0x4000300, 0x6000500, 0x8000700]),
            ),
            (r#"1:2:3:4:5:6:7:8:9"#, None),
            (
                r#"1:2:3:4:5:6:7::"#,
                Some(&[0x2000100, 0x4000300, 0x6000500, 0x700]),
            ),
            (
                r#"::2:3:4:5:6:7:8"#,
                Some(&[0x2000000, 0x4000300, 0x6000500, 0x8000700]),
            ),
            (
                r#"1::3:4:5:6:7:8"#,
                Some(&[0x100, 0x4000300, 0x6000500, 0x8000700]),
            ),
            (r#"1:2:3:4:5:6:7"#, None),
            (r#":1:2:3:4:5:6:7"#, None),
            (r#"1:2:3:4:5:6:7:"#, None),
            (r#"1::2::3"#, None),
            (r#":::"#, None),
            (r#"1:::2"#, None),
            (r#"12345::"#, None),
            (r#"abcd:EF01::"#, Some(&[0x1efcdab, 0x0, 0x0, 0x0])),
            (r#"g::"#, None),
            (r#"::1.2.3"#, None),
            (r#"1.2.3.4::"#, None),
            (r#"::01.2.3.4"#, None),
            (r#""#, None),
            (r#":"#, None),
            (r#"::ffff:256.1.1.1"#, None),
            (
                r#"2001:db8:0:0:1:0:0:1"#,
                Some(&[0xb80d0120, 0x0, 0x100, 0x1000000]),
            ),
            (r#"0:0:0:0:0:0:0:0"#, Some(&[0x0, 0x0, 0x0, 0x0])),
            (r#"0000:0000::0000:0000"#, Some(&[0x0, 0x0, 0x0, 0x0])),
        ];
        for &(s, expected) in cases {
            assert_eq!(parse_ipadd(s).as_deref(), expected, "{s:?}");
        }
        assert_eq!(parse_ipadd(&"1:".repeat(10_000)), None);
    }

    #[test]
    fn ipadd_round_trip() {
        let mut rng = Rng(6);
        for _ in 0..5000 {
            // Zeros are likely, to exercise `::`.
            let mut word = || {
                if rng.below(2) == 0 {
                    0
                } else {
                    (rng.next() as u32) >> (8 * rng.below(4))
                }
            };
            let words = [word(), word(), word(), word()];
            let text = format_ipadd(&words).expect("four words");
            assert_eq!(parse_ipadd(&text).as_deref(), Some(&words[..]), "{text}");
            let text = format_ipadd(&words[..1]).expect("one word");
            assert_eq!(parse_ipadd(&text).as_deref(), Some(&words[..1]), "{text}");
        }
    }

    #[test]
    fn base64_like_decodebytes() {
        // base64.decodebytes(s), Err(str(binascii.Error))
        type Case<'a> = (&'a [u8], Result<Vec<u8>, String>);
        let cases: &[Case<'_>] = &[
            (&b""[..], Ok(b"".to_vec())),
            (&b"YQ=="[..], Ok(b"a".to_vec())),
            (&b"YQ"[..], Err(r#"Incorrect padding"#.to_string())),
            (&b"YWI"[..], Err(r#"Incorrect padding"#.to_string())),
            (&b"Y"[..], Err(r#"Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4"#.to_string())),
            (&b"YQ==YQ=="[..], Ok(b"a".to_vec())),
            (&b"Y=Q=="[..], Ok(b"a".to_vec())),
            (&b"YQ=\x0a="[..], Ok(b"a".to_vec())),
            (&b"YR=="[..], Ok(b"a".to_vec())),
            (&b"YWJj"[..], Ok(b"abc".to_vec())),
            (&b"=YWJj"[..], Ok(b"abc".to_vec())),
            (&b"YW=Jj"[..], Ok(b"abc".to_vec())),
            (&b"YWJjZ"[..], Err(r#"Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4"#.to_string())),
            (&b"!!YW Jj\x0a"[..], Ok(b"abc".to_vec())),
            (&b"YWI=x"[..], Ok(b"ab".to_vec())),
            (&b"YQ="[..], Err(r#"Incorrect padding"#.to_string())),
            (&b"YQ=a="[..], Ok(b"a\x06".to_vec())),
            (&b"YWJjZA==\x0a"[..], Ok(b"abcd".to_vec())),
            (&b"\xc3\xa9YWJj"[..], Ok(b"abc".to_vec())),
            (&b"YWJjZGVm\x0aZ2g=\x0a"[..], Ok(b"abcdefgh".to_vec())),
            (&b"===="[..], Ok(b"".to_vec())),
            (&b"A==="[..], Err(r#"Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4"#.to_string())),
            (&b"AB=C="[..], Ok(b"\x00\x10".to_vec())),
            (&b"-_-_"[..], Ok(b"".to_vec())),
        ];
        for (s, expected) in cases {
            assert_eq!(
                &decode_base64(s),
                expected,
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn quopri_like_decodestring() {
        // quopri.decodestring(s)
        let cases: &[(&[u8], &[u8])] = &[
            (&b""[..], b""),
            (&b"abc"[..], b"abc"),
            (&b"="[..], b""),
            (&b"a="[..], b"a"),
            (&b"=\x0d"[..], b""),
            (&b"=\x0dabc\x0ad"[..], b"d"),
            (&b"=="[..], b"="),
            (&b"=4"[..], b"=4"),
            (&b"=4g"[..], b"=4g"),
            (&b"=41"[..], b"A"),
            (&b"=4a"[..], b"J"),
            (&b"=\x0a"[..], b""),
            (&b"a =\x0d\x0a b"[..], b"a  b"),
            (&b"=G1"[..], b"=G1"),
            (&b"_"[..], b"_"),
            (&b"=3D=3d"[..], b"=="),
            (&b"a=20\x0ab"[..], b"a \x0ab"),
            (&b"=0"[..], b"=0"),
            (&b"=\x0a=\x0a"[..], b""),
            (&b"x=\x0d\x0a"[..], b"x"),
        ];
        for &(s, expected) in cases {
            assert_eq!(
                decode_quopri(s).as_deref(),
                Ok(expected),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        // crit passes a str: non-ASCII raises ValueError.
        assert_eq!(
            decode_quopri("é".as_bytes()),
            Err("string argument should contain only ASCII characters".to_string())
        );
    }
}
