//! Typed errors of decoding (bytes → view) and encoding (JSON → message).

use std::fmt;

/// What went wrong while reading a message's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The input ends inside a value.
    Truncated,
    /// A varint longer than 10 bytes or above `u64::MAX`.
    VarintOverflow,
    /// A field key with number 0 or beyond the protobuf range.
    BadFieldNumber(u64),
    /// Wire types 3, 4 (groups), 6 and 7 do not occur in CRIU images.
    BadWireType(u8),
    /// A known field arrived with another wire type than its schema type has.
    WrongWireType {
        /// The wire type of the field's schema type.
        expected: u8,
        /// The wire type in the input.
        found: u8,
    },
    /// A `required` field is absent.
    MissingRequired,
    /// Messages nested deeper than [`super::wire::MAX_DEPTH`].
    TooDeep,
    /// Anything found by the image layer (framing, payloads).
    Other(String),
}

/// A decoding error: where (byte offset from the start of the message, or of the image once the
/// image layer has placed it), in which field (a path like `thread_info.gpregs.r15`), and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// Field path from the outermost message, `""` when the error is not inside a field.
    pub path: String,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// An error at `offset`, in no field yet.
    pub fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError { offset, path: String::new(), kind }
    }
    /// Moves the offset by `base` (the position of the inner buffer in the outer one).
    pub fn shifted(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
    /// Prefixes the path with a field name (and the element index of a repeated field).
    pub fn in_field(mut self, name: &str, index: Option<u32>) -> Self {
        let mut p = String::with_capacity(name.len() + self.path.len() + 8);
        p.push_str(name);
        if let Some(i) = index {
            p.push('[');
            p.push_str(&i.to_string());
            p.push(']');
        }
        if !self.path.is_empty() {
            p.push('.');
            p.push_str(&self.path);
        }
        self.path = p;
        self
    }
    /// A required field is missing; `offset` is the end of the message.
    pub fn missing(offset: usize, field: &str) -> Self {
        DecodeError { offset, path: field.to_string(), kind: DecodeErrorKind::MissingRequired }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Truncated => f.write_str("truncated value"),
            DecodeErrorKind::VarintOverflow => f.write_str("varint overflows 64 bits"),
            DecodeErrorKind::BadFieldNumber(n) => write!(f, "invalid field number {n}"),
            DecodeErrorKind::BadWireType(t) => write!(f, "invalid wire type {t}"),
            DecodeErrorKind::WrongWireType { expected, found } => {
                write!(f, "wire type {found} where the schema needs {expected}")
            }
            DecodeErrorKind::MissingRequired => f.write_str("required field is missing"),
            DecodeErrorKind::TooDeep => f.write_str("messages nested too deeply"),
            DecodeErrorKind::Other(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}", self.offset)?;
        if !self.path.is_empty() {
            write!(f, ", field {}", self.path)?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for DecodeError {}

/// An error turning JSON into a message: the JSON path (`entries[2].thread_info.gpregs.r15`) and
/// what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    /// Where in the document: `entries[2].thread_info.gpregs.r15`, `""` for the whole document.
    pub path: String,
    /// What is wrong there.
    pub message: String,
    /// The path names an object key that is not a field of its message, refused under
    /// [`UnknownKeys::Refuse`](super::fields::UnknownKeys::Refuse): a caller may offer to ignore
    /// such keys, as CRIU's crit does.
    pub unknown_key: bool,
}

impl EncodeError {
    /// An error at `path`.
    pub fn new(path: &str, message: impl Into<String>) -> Self {
        EncodeError { path: path.to_string(), message: message.into(), unknown_key: false }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for EncodeError {}
