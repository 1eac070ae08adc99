//! Where a message's JSON comes from, for the generated `from_json_src`: a parsed tree
//! ([`TreeSource`]), or a [`Reader`] in the middle of a document ([`ReaderSource`]), which
//! reads a message as it goes, without building its tree. A large entry (a `mm` image's one
//! entry holds every VMA) then costs the owned message, not the message and its JSON tree (ten
//! times the JSON text).
//!
//! The protocol, as the generated code drives it: [`JsonSource::begin_object`] on the current
//! value; then, while there are members, [`JsonSource::key`] and exactly one of
//! [`JsonSource::value`], [`JsonSource::skip`], a nested `begin_object` (a message field) or
//! [`JsonSource::begin_array`] (a repeated message field), then [`JsonSource::next_member`].

use std::borrow::Cow;
use std::fmt;

use super::EncodeError;
use super::fields::{self, IntFmt, JsonInt, Message, Path, UnknownKeys};
use super::json_fast::FastSource;
use super::json_in::{KeyMatch, ReadError, Reader, Simple, Value};

/// A key of a message's object, as the generated code matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The field at this index of the message's key list.
    Known(usize),
    /// `_unknown_fields`.
    UnknownFields,
    /// Not a field.
    Other(String),
}

const UNKNOWN_FIELDS: &str = "_unknown_fields";

/// A source of JSON values that messages read themselves from; see the module's protocol.
pub trait JsonSource {
    /// Its error: at least an [`EncodeError`] (a value that does not fit its field).
    type Error: From<EncodeError>;
    /// Whether its errors name the value (the generated code and [`messages`] then keep the
    /// path of each; a source whose errors say nothing, the fast lane, needs none).
    const PATHS: bool = true;
    /// What `then` makes of message `M` at the current value, read by a faster way when the
    /// source has one ([`ReaderSource`]: [`FastSource`] over the buffered bytes); `Ok(None)`,
    /// nothing read, when there is none or it gave up. [`read`] tries it, then
    /// `M::from_json_src`.
    fn fast<M: Message, T>(&mut self, unknown: UnknownKeys, then: impl FnOnce(M) -> T) -> Result<Option<T>, Self::Error> {
        let _ = (unknown, then);
        Ok(None)
    }
    /// Enters the current value as the object of a message at `path`: `Ok(true)` when it has
    /// members, `Ok(false)` when it is empty (and then already left); an error when it is not
    /// an object.
    fn begin_object(&mut self, path: &str) -> Result<bool, Self::Error>;
    /// The current member's key, matched against `keys`.
    fn key(&mut self, keys: &[&str]) -> Result<Key, Self::Error>;
    /// The current member's value (a scalar field, or a repeated scalar one).
    fn value(&mut self) -> Result<Cow<'_, Value>, Self::Error>;
    /// The current member's value as integer field `field` of the message at `path` (what
    /// [`fields::int_at`] reads from the value).
    fn int<T: JsonInt>(&mut self, path: &str, field: &str, fmt: &IntFmt) -> Result<T, Self::Error> {
        let v = self.value()?;
        Ok(fields::int_at(&v, path, field, fmt)?)
    }
    /// Passes over the current member's value (a key that is not a field, when allowed).
    fn skip(&mut self) -> Result<(), Self::Error>;
    /// Moves to the next member: `Ok(false)` when the object ends (and is left).
    fn next_member(&mut self) -> Result<bool, Self::Error>;
    /// Enters the current member's value as the array of repeated field `field` of the
    /// message at `path`: like [`JsonSource::begin_object`].
    fn begin_array(&mut self, path: &str, field: &str) -> Result<bool, Self::Error>;
    /// Moves to the next element: `Ok(false)` when the array ends (and is left).
    fn next_element(&mut self) -> Result<bool, Self::Error>;
}

/// Message `M` at the current value of `src`, the message at `path`: through the source's
/// fast lane when it has one and it reads the message, else the generated reader.
#[inline]
pub fn read<S: JsonSource, M: Message>(src: &mut S, path: &str, unknown: UnknownKeys) -> Result<M, S::Error> {
    match src.fast::<M, M>(unknown, |m| m)? {
        Some(m) => Ok(m),
        None => M::from_json_src(src, path, unknown),
    }
}

/// [`read`], encoded: the bytes of message `M` at the current value of `src` (an entry).
#[inline]
pub fn read_bytes<S: JsonSource, M: Message>(src: &mut S, path: &str, unknown: UnknownKeys) -> Result<Vec<u8>, S::Error> {
    match src.fast::<M, Vec<u8>>(unknown, |m| m.to_bytes())? {
        Some(b) => Ok(b),
        None => Ok(M::from_json_src(src, path, unknown)?.to_bytes()),
    }
}

/// Message field `field` of the message at `path`.
pub fn message<S: JsonSource, M: Message>(src: &mut S, path: &str, field: &str, unknown: UnknownKeys) -> Result<M, S::Error> {
    if let Some(m) = src.fast::<M, M>(unknown, |m| m)? {
        return Ok(m);
    }
    let p = if S::PATHS { Path::field(path, field).to_string() } else { String::new() };
    M::from_json_src(src, &p, unknown)
}

/// Repeated message field `field` of the message at `path`.
pub fn messages<S: JsonSource, M: Message>(src: &mut S, path: &str, field: &str, unknown: UnknownKeys) -> Result<Vec<M>, S::Error> {
    let mut out = Vec::new();
    if !src.begin_array(path, field)? {
        return Ok(out);
    }
    // One path buffer for every element, `path.field[i]`, written only for an element the
    // fast lane does not read (and not at all for a source without paths).
    let mut p = if S::PATHS { Path::field(path, field).to_string() } else { String::new() };
    let base = p.len();
    loop {
        // The lane pushes the element itself (it is not moved out through the source).
        if src.fast::<M, ()>(unknown, |m| out.push(m))?.is_none() {
            if S::PATHS {
                p.truncate(base);
                super::fields::push_index(&mut p, out.len());
            }
            out.push(M::from_json_src(src, &p, unknown)?);
        }
        if !src.next_element()? {
            return Ok(out);
        }
    }
}

/// An integer that is not in the range of field `field`'s type, as [`fields::int_of_small`] says it.
#[cold]
fn does_not_fit<T: JsonInt>(v: i64, path: &str, field: &str) -> SourceError {
    SourceError::Encode(Path::field(path, field).err(format!("{v} does not fit {}", T::TYPE)))
}

fn not_object(path: &str, v: &Value) -> EncodeError {
    EncodeError::new(path, format!("expected an object, found {}", v.type_name()))
}

fn not_array(path: &str, field: &str, v: &Value) -> EncodeError {
    Path::new(path, field, None).err(format!("expected an array, found {}", v.type_name()))
}

/// A parsed tree as a [`JsonSource`].
pub struct TreeSource<'v> {
    root: Option<&'v Value>,
    /// The objects and arrays entered, with the index of the current member or element.
    stack: Vec<Frame<'v>>,
}

enum Frame<'v> {
    Object(&'v [(String, Value)], usize),
    Array(&'v [Value], usize),
}

impl<'v> TreeSource<'v> {
    /// A source whose current value is `root`.
    pub fn new(root: &'v Value) -> Self {
        TreeSource { root: Some(root), stack: Vec::new() }
    }

    /// To the next member or element of the innermost container; `false` (and the container
    /// left) at its end.
    fn step(&mut self) -> bool {
        let (i, len) = match self.stack.last_mut() {
            Some(Frame::Object(m, i)) => (i, m.len()),
            Some(Frame::Array(a, i)) => (i, a.len()),
            None => return false,
        };
        if *i + 1 < len {
            *i += 1;
            return true;
        }
        self.stack.pop();
        false
    }

    fn current(&self) -> &'v Value {
        match self.stack.last() {
            None => self.root.expect("a tree source has a root"),
            Some(Frame::Object(m, i)) => &m[*i].1,
            Some(Frame::Array(a, i)) => &a[*i],
        }
    }
}

impl JsonSource for TreeSource<'_> {
    type Error = EncodeError;

    fn begin_object(&mut self, path: &str) -> Result<bool, EncodeError> {
        match self.current() {
            Value::Object(m) if m.is_empty() => Ok(false),
            Value::Object(m) => {
                self.stack.push(Frame::Object(m, 0));
                Ok(true)
            }
            other => Err(not_object(path, other)),
        }
    }

    fn key(&mut self, keys: &[&str]) -> Result<Key, EncodeError> {
        let Some(Frame::Object(m, i)) = self.stack.last() else { unreachable!("key outside an object") };
        let k = m[*i].0.as_str();
        Ok(match keys.iter().position(|x| *x == k) {
            Some(i) => Key::Known(i),
            None if k == UNKNOWN_FIELDS => Key::UnknownFields,
            None => Key::Other(k.to_string()),
        })
    }

    fn value(&mut self) -> Result<Cow<'_, Value>, EncodeError> {
        Ok(Cow::Borrowed(self.current()))
    }

    fn skip(&mut self) -> Result<(), EncodeError> {
        Ok(())
    }

    fn next_member(&mut self) -> Result<bool, EncodeError> {
        Ok(self.step())
    }

    fn begin_array(&mut self, path: &str, field: &str) -> Result<bool, EncodeError> {
        match self.current() {
            Value::Array(a) if a.is_empty() => Ok(false),
            Value::Array(a) => {
                self.stack.push(Frame::Array(a, 0));
                Ok(true)
            }
            other => Err(not_array(path, field, other)),
        }
    }

    fn next_element(&mut self) -> Result<bool, EncodeError> {
        Ok(self.step())
    }
}

/// An error of a [`ReaderSource`]: the document is not JSON (or cannot be read), or a value does
/// not fit its field.
#[derive(Debug)]
pub enum SourceError {
    /// From the reader.
    Read(ReadError),
    /// From a field.
    Encode(EncodeError),
}

impl From<EncodeError> for SourceError {
    fn from(e: EncodeError) -> Self {
        SourceError::Encode(e)
    }
}

impl From<ReadError> for SourceError {
    fn from(e: ReadError) -> Self {
        SourceError::Read(e)
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Read(e) => e.fmt(f),
            SourceError::Encode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SourceError {}

/// A [`Reader`] positioned at a value (an entry of a document's `entries`) as a [`JsonSource`].
///
/// Syntax errors are those a whole parse of the document gives, at the same place, and they
/// come in document order with the fields' errors. One more check keeps a stray bracket from
/// being reported as the fields it cut off: when an object or array closes, the byte after it
/// must be one that may follow it (`,` or the enclosing container's closing bracket), as a
/// whole parse would require there.
pub struct ReaderSource<'r, R> {
    r: &'r mut Reader<R>,
    /// Whether messages are tried in the fast lane first ([`ReaderSource::general_only`]).
    fast: bool,
    /// Containers the current value is nested inside.
    depth: usize,
    /// The closing brackets of the containers entered here, innermost last, after those of the
    /// containers the value started in (`outer`).
    open: Vec<u8>,
    outer: u8,
}

impl<'r, R: std::io::BufRead> ReaderSource<'r, R> {
    /// A source whose current value is the next value of `r`, nested inside `depth`
    /// containers, the innermost of which closes with `outer` (`]` for an entry).
    pub fn new(r: &'r mut Reader<R>, depth: usize, outer: u8) -> Self {
        ReaderSource { r, fast: true, depth, open: Vec::new(), outer }
    }

    /// The same source without its fast lane: every message read by the general reader (what
    /// the lane must agree with, for tests and measurements).
    pub fn general_only(mut self) -> Self {
        self.fast = false;
        self
    }

    /// Enters the container `open` … `close` at the next value; any other value is read and
    /// refused with `wrong`'s error.
    fn enter(&mut self, open: u8, close: u8, wrong: impl FnOnce(&Value) -> EncodeError) -> Result<bool, SourceError> {
        match self.r.enter(open, self.depth)? {
            Some(true) => {
                self.depth += 1;
                self.open.push(close);
                Ok(true)
            }
            Some(false) => {
                self.after_close()?;
                Ok(false)
            }
            None => {
                let v = self.r.value(self.depth)?;
                Err(wrong(&v).into())
            }
        }
    }

    /// After a value closed: the enclosing container must go on or close.
    fn after_close(&mut self) -> Result<(), SourceError> {
        let close = self.open.last().copied().unwrap_or(self.outer);
        Ok(self.r.expect_more(close)?)
    }

    fn next(&mut self, close: u8) -> Result<bool, SourceError> {
        if self.r.next(close)? {
            return Ok(true);
        }
        self.open.pop();
        self.depth -= 1;
        self.after_close()?;
        Ok(false)
    }
}

impl<R: std::io::BufRead> JsonSource for ReaderSource<'_, R> {
    type Error = SourceError;

    #[inline]
    fn fast<M: Message, T>(&mut self, unknown: UnknownKeys, then: impl FnOnce(M) -> T) -> Result<Option<T>, SourceError> {
        if !self.fast {
            return Ok(None);
        }
        let (depth, outer) = (self.depth, self.open.last().copied().unwrap_or(self.outer));
        Ok(self.r.read_buffered(|b| FastSource::read::<M, T>(b, depth, outer, unknown, then))?)
    }

    fn begin_object(&mut self, path: &str) -> Result<bool, SourceError> {
        self.enter(b'{', b'}', |v| not_object(path, v))
    }

    #[inline]
    fn key(&mut self, keys: &[&str]) -> Result<Key, SourceError> {
        Ok(match self.r.key_in(keys)? {
            KeyMatch::Known(i) => Key::Known(i),
            KeyMatch::Other(k) if k == UNKNOWN_FIELDS => Key::UnknownFields,
            KeyMatch::Other(k) => Key::Other(k),
        })
    }

    fn value(&mut self) -> Result<Cow<'_, Value>, SourceError> {
        Ok(Cow::Owned(self.r.value(self.depth)?))
    }

    #[inline(always)]
    fn int<T: JsonInt>(&mut self, path: &str, field: &str, fmt: &IntFmt) -> Result<T, SourceError> {
        // An integer in crit's form that fits: what nearly every field is.
        if let Some(v) = self.r.small_int()? {
            if let Some(t) = T::from_i64(v) {
                return Ok(t);
            }
            return Err(does_not_fit::<T>(v, path, field));
        }
        let p = Path::field(path, field);
        let read = self.r.simple_scalar(|s| match s {
            Simple::Small(v) => fields::int_of_small(v, &p),
            Simple::Int(text) => fields::int_of_number(text, &p),
            Simple::Str(text) => fields::int_of_str(text, fmt, &p),
        })?;
        match read {
            Some(v) => Ok(v?),
            None => {
                let v = self.r.value(self.depth)?;
                Ok(fields::int_at(&v, path, field, fmt)?)
            }
        }
    }

    fn skip(&mut self) -> Result<(), SourceError> {
        self.r.value(self.depth)?;
        Ok(())
    }

    #[inline]
    fn next_member(&mut self) -> Result<bool, SourceError> {
        self.next(b'}')
    }

    fn begin_array(&mut self, path: &str, field: &str) -> Result<bool, SourceError> {
        self.enter(b'[', b']', |v| not_array(path, field, v))
    }

    fn next_element(&mut self) -> Result<bool, SourceError> {
        self.next(b']')
    }
}
