//! JSON input for `crit encode`: a small DOM parser that keeps what encode needs exactly (64-bit
//! integers as text, string bytes including `surrogateescape` lone surrogates, key order, byte
//! offsets for errors), and the reverse of crit's value formats.
//!
//! Bounds: nesting depth is limited ([`MAX_DEPTH`]); every allocation is bounded by the input length.

use std::fmt;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value. Numbers keep their source text so that u64 and i64 values are exact.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number's text as written (e.g. `-12`, `18446744073709551615`, `1.5e3`).
    ///
    /// Like Python's `json.loads`, the parser also accepts `NaN`, `Infinity` and `-Infinity`
    /// (what `json.dump` prints for such doubles); they are kept as that text.
    Number(Box<str>),
    /// A string's bytes: UTF-8, except that `\udc80`..`\udcff` escapes decode to the single raw
    /// bytes 0x80..0xff (Python's `surrogateescape`).
    String(Vec<u8>),
    Array(Vec<Value>),
    /// Members in input order.
    Object(Vec<(String, Value)>),
}

/// A JSON syntax error, with the byte offset, line and column (1-based) where it was found.
///
/// The column counts characters (UTF-8 code points) from the start of the line, as Python does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}: {}", self.line, self.column, self.message)
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

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error_at(&self, offset: usize, message: &str) -> JsonError {
        let offset = offset.min(self.s.len());
        let before = self.s.get(..offset).unwrap_or_default();
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Characters, not bytes: continuation bytes do not start a column.
        let column = 1 + before.get(line_start..).unwrap_or_default().iter().filter(|&&b| b & 0xc0 != 0x80).count();
        JsonError { offset, line, column, message: message.to_string() }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
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
            return Err(self.error_at(self.pos, "arrays and objects nested too deeply (more than 128 levels)"));
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
                return Err(self.error_at(self.pos, "Expecting property name enclosed in double quotes"));
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
        let text: String = self.s.get(start..self.pos).unwrap_or_default().iter().map(|&b| char::from(b)).collect();
        Ok(Value::Number(text.into_boxed_str()))
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
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
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
                let u = self.hex4(at + 2)?;
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
                let low = if rest.starts_with(b"\\u") { self.hex4(self.pos + 2).ok() } else { None };
                match low {
                    Some(lo @ 0xdc00..=0xdfff) => {
                        self.pos += 6;
                        0x1_0000 + ((u - 0xd800) << 10) + (lo - 0xdc00)
                    }
                    _ => return Err(self.error_at(at, "lone surrogate escape (only \\udc80..\\udcff stand for bytes)")),
                }
            }
            0xdc80..=0xdcff => {
                // Python's surrogateescape: the raw byte 0x80..0xff.
                out.push((u & 0xff) as u8);
                return Ok(());
            }
            0xdc00..=0xdc7f => {
                return Err(self.error_at(at, "lone surrogate escape (only \\udc80..\\udcff stand for bytes)"));
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

    /// Four hex digits at `at`.
    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let digits = self.s.get(at..at + 4).ok_or_else(|| self.error_at(at, "Invalid \\uXXXX escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let Some(x) = char::from(d).to_digit(16) else {
                return Err(self.error_at(at, "Invalid \\uXXXX escape"));
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
    py_int(s, true)
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
        v = v.checked_mul(u128::from(radix))?.checked_add(u128::from(d))?;
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
    if negative { 0i128.checked_sub_unsigned(v) } else { i128::try_from(v).ok() }
}

/// Python's `str.isspace` for characters above ASCII (Unicode 14.0, CPython 3.11).
fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// Python's `str.strip()` whitespace: ASCII `\t\n\v\f\r`, `\x1c`..`\x1f`, space, and Unicode.
fn is_py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ') || is_unicode_space(c)
}

/// The first code points of the runs of ten Unicode decimal digits (category Nd) outside ASCII,
/// from CPython 3.11's `unicodedata` (Unicode 14.0): the digit value is the offset in the run.
const DECIMAL_ZEROS: [u32; 65] = [
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20,
    0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0,
    0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0,
    0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0,
    0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

fn unicode_decimal(c: char) -> Option<u8> {
    let c = u32::from(c);
    DECIMAL_ZEROS.iter().find_map(|&z| c.checked_sub(z).filter(|&d| d < 10).map(|d| d as u8))
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
    if s.is_empty() {
        return Some(0);
    }
    let mut sum: i128 = 0;
    for token in s.split('|') {
        let token = py_strip(token);
        // `dict(flags_map)`: with duplicate names the last entry wins.
        let v = match table.iter().rev().find(|(name, _)| *name == token) {
            Some(&(_, bits)) => i128::from(bits),
            None => parse_int_str(token)?,
        };
        sum = sum.checked_add(v)?;
    }
    u64::try_from(sum).ok()
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
        if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
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
