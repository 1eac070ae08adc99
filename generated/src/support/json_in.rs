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
    Number(Box<str>),
    /// A string's bytes: UTF-8, except that `\udc80`..`\udcff` escapes decode to the single raw
    /// bytes 0x80..0xff (Python's `surrogateescape`).
    String(Vec<u8>),
    Array(Vec<Value>),
    /// Members in input order.
    Object(Vec<(String, Value)>),
}

/// A JSON syntax error, with the byte offset, line and column (1-based) where it was found.
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
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    todo!()
}

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        todo!()
    }
    /// A short name of the value's type for error messages: "null", "a boolean", "a number", ...
    pub fn type_name(&self) -> &'static str {
        todo!()
    }
}

/// Python's `int(s, 0)`: optional surrounding whitespace, optional sign, `0x`/`0o`/`0b` prefixes
/// (case-insensitive), decimal without leading zeros (except `0` itself), single underscores
/// between digits. Returns `None` when Python would raise `ValueError` or the value does not fit.
pub fn parse_int_str(s: &str) -> Option<i128> {
    todo!()
}

/// The reverse of [`super::json::format_dev_kernel`]: `"maj:min"` → `maj << 20 | min`.
pub fn parse_dev_kernel(s: &str) -> Option<u64> {
    todo!()
}

/// The reverse of [`super::json::format_dev_old`] (glibc `makedev`).
pub fn parse_dev_old(s: &str) -> Option<u64> {
    todo!()
}

/// The reverse of [`super::json::format_flags`]: split on `|`, trim, each token is a table name or
/// `parse_int_str`; the values are summed; `""` → 0.
pub fn parse_flags(s: &str, table: &super::json::FlagTable) -> Option<u64> {
    todo!()
}

/// The reverse of [`super::json::format_ipadd`]: an IPv4 address → one word, IPv6 → four words,
/// each `htonl` of the address's 32-bit groups.
pub fn parse_ipadd(s: &str) -> Option<Vec<u32>> {
    todo!()
}

/// `base64.decodebytes`: standard alphabet; characters outside it (newlines) are skipped, as
/// Python's non-strict `a2b_base64` does; wrong padding is an error.
pub fn decode_base64(s: &[u8]) -> Result<Vec<u8>, String> {
    todo!()
}

/// `quopri.decodestring`: `=XX` escapes (either case), soft line breaks `=\n`.
pub fn decode_quopri(s: &[u8]) -> Result<Vec<u8>, String> {
    todo!()
}
