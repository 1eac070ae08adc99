//! Protocol-buffer wire format: reading (bounds-checked, never panics) and writing.
//!
//! Every read takes the buffer and a cursor; a malformed or truncated input gives a
//! [`DecodeError`] with the byte offset, never a panic. Lengths from the input are checked against
//! what the input holds before anything is sliced, so nothing is allocated from an untrusted size.

use super::error::{DecodeError, DecodeErrorKind};
use super::json::JsonWriter;

/// Wire types of protobuf encoding (groups are not used by CRIU and are rejected): a varint.
pub const VARINT: u8 = 0;
/// 8 little-endian bytes.
pub const FIXED64: u8 = 1;
/// A varint length, then that many bytes.
pub const LEN: u8 = 2;
/// 4 little-endian bytes.
pub const FIXED32: u8 = 5;

/// Deepest nesting of messages a view accepts (CRIU's schema is recursive only through
/// `cgroup_dir_entry.children`; real images nest a handful of levels).
pub const MAX_DEPTH: u32 = 64;

/// A varint at `pos` (at most 10 bytes, at most `u64::MAX`).
///
/// Inlined: one byte (field keys, small numbers, most lengths), and with eight bytes left in
/// `buf` a varint of up to eight bytes (every address, offset and size CRIU writes), decoded
/// from one 64-bit load: the first byte without the continuation bit ends it, and three
/// mask-and-shift steps pack the 7-bit groups. Longer varints, and those near the end of `buf`,
/// go to `read_varint_slow`, out of line.
#[inline(always)]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let start = *pos;
    if let Some(&b) = buf.get(start)
        && b < 0x80
    {
        *pos = start + 1;
        return Ok(u64::from(b));
    }
    if let Some(bytes) = buf.get(start..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*bytes);
        let ends = !w & 0x8080_8080_8080_8080;
        if ends != 0 {
            let len = (ends.trailing_zeros() + 1) / 8;
            let keep = if len == 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 };
            let mut x = w & keep & 0x7f7f_7f7f_7f7f_7f7f;
            x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
            x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
            x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
            *pos = start + len as usize;
            return Ok(x);
        }
    }
    read_varint_slow(buf, pos)
}

/// [`read_varint`] one byte at a time: nine- and ten-byte varints, those near the end of the
/// buffer, and every malformed one.
#[cold]
#[inline(never)]
fn read_varint_slow(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let start = *pos;
    let mut v: u64 = 0;
    let mut shift = 0u32;
    loop {
        let Some(&b) = buf.get(*pos) else {
            return Err(DecodeError::new(start, DecodeErrorKind::Truncated));
        };
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(DecodeError::new(start, DecodeErrorKind::VarintOverflow));
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err(DecodeError::new(start, DecodeErrorKind::VarintOverflow));
        }
    }
}

/// Reads a field key: `(field number, wire type)`.
#[inline]
pub fn read_tag(buf: &[u8], pos: &mut usize) -> Result<(u32, u8), DecodeError> {
    let start = *pos;
    let key = read_varint(buf, pos)?;
    let wt = (key & 7) as u8;
    let num = key >> 3;
    if num == 0 || num > u64::from(u32::MAX >> 3) {
        return Err(DecodeError::new(start, DecodeErrorKind::BadFieldNumber(num)));
    }
    if !matches!(wt, VARINT | FIXED64 | LEN | FIXED32) {
        return Err(DecodeError::new(start, DecodeErrorKind::BadWireType(wt)));
    }
    Ok((num as u32, wt))
}

#[inline]
fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], DecodeError> {
    let start = *pos;
    match buf.get(start..).and_then(|rest| rest.get(..n)) {
        Some(s) => {
            *pos += n;
            Ok(s)
        }
        None => Err(DecodeError::new(start, DecodeErrorKind::Truncated)),
    }
}

/// Four little-endian bytes at `pos`.
#[inline]
pub fn read_fixed32(buf: &[u8], pos: &mut usize) -> Result<u32, DecodeError> {
    let s = take(buf, pos, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Eight little-endian bytes at `pos`.
#[inline]
pub fn read_fixed64(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let s = take(buf, pos, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

/// Reads a length-delimited value (the length prefix, then that many bytes).
#[inline]
pub fn read_len<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], DecodeError> {
    let start = *pos;
    let n = read_varint(buf, pos)?;
    let n = usize::try_from(n).map_err(|_| DecodeError::new(start, DecodeErrorKind::Truncated))?;
    if buf.len() - *pos < n {
        return Err(DecodeError::new(start, DecodeErrorKind::Truncated));
    }
    take(buf, pos, n)
}

/// Skips one value of wire type `wt`.
#[inline]
pub fn skip(buf: &[u8], pos: &mut usize, wt: u8) -> Result<(), DecodeError> {
    match wt {
        VARINT => read_varint(buf, pos).map(drop),
        FIXED64 => take(buf, pos, 8).map(drop),
        LEN => read_len(buf, pos).map(drop),
        FIXED32 => take(buf, pos, 4).map(drop),
        _ => Err(DecodeError::new(*pos, DecodeErrorKind::BadWireType(wt))),
    }
}

/// How a scalar field type sits on the wire and maps to Rust.
pub trait Scalar: Copy {
    /// The Rust type of a value.
    type Out: Copy;
    /// The wire type of one unpacked value.
    const WIRE: u8;
    /// One value at `pos` (its key already read).
    fn read(buf: &[u8], pos: &mut usize) -> Result<Self::Out, DecodeError>;
    /// Appends one value (without a key).
    fn write(v: Self::Out, out: &mut Vec<u8>);
    /// The length of [`Scalar::write`]'s output.
    fn len(v: Self::Out) -> usize;
    /// Writes field `num` holding `v`: its key, then the value.
    #[inline]
    fn write_field(num: u32, v: Self::Out, out: &mut Vec<u8>) {
        write_tag(num, Self::WIRE, out);
        Self::write(v, out)
    }
    /// A singular field's value at `pos` (its key read, wire type `wt`), for a view's slot; an
    /// error names `field`.
    #[inline(always)]
    fn read_field(buf: &[u8], pos: &mut usize, wt: u8, field: &str) -> Result<Option<Self::Out>, DecodeError> {
        read_scalar::<Self>(buf, pos, wt).map(Some).map_err(|e| e.in_field(field, None))
    }
    /// Field `num` (1 to 15: a one-byte key) read into `slot` when it is what comes next at
    /// `pos`, as a view's parse loop would read it; nothing otherwise. Views try their scalar
    /// fields this way first, in number order, the order protobuf-c writes them in.
    #[inline(always)]
    fn next_field(buf: &[u8], pos: &mut usize, num: u8, slot: &mut Option<Self::Out>, field: &str) -> Result<(), DecodeError> {
        if buf.get(*pos) == Some(&((num << 3) | Self::WIRE)) {
            *pos += 1;
            *slot = Self::read_field(buf, pos, Self::WIRE, field)?;
        }
        Ok(())
    }
    /// An occurrence of a repeated field at `pos` (its key read): one value, or a packed run of
    /// them when `wt` is [`LEN`]; how many values it holds. An error names `field`.
    #[inline(always)]
    fn count_field(buf: &[u8], pos: &mut usize, wt: u8, field: &str) -> Result<u32, DecodeError>
    where
        Self: Sized,
    {
        let at = |e: DecodeError| e.in_field(field, None);
        if wt == LEN {
            let b = read_bytes(buf, pos, wt).map_err(at)?;
            count_packed::<Self>(b, *pos - b.len()).map_err(at)
        } else {
            read_scalar::<Self>(buf, pos, wt).map_err(at)?;
            Ok(1)
        }
    }
    /// The length of [`Scalar::write_field`]'s output.
    #[inline]
    fn field_len(num: u32, v: Self::Out) -> usize {
        tag_len(num) + Self::len(v)
    }
}

macro_rules! varint_scalar {
    ($name:ident, $out:ty, |$r:ident| $from:expr, |$w:ident| $to:expr) => {
        #[doc = concat!("The `", stringify!($name), "` wire codec (a varint holding ", stringify!($out), ").")]
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl Scalar for $name {
            type Out = $out;
            const WIRE: u8 = VARINT;
            #[inline]
            fn read(buf: &[u8], pos: &mut usize) -> Result<$out, DecodeError> {
                let $r = read_varint(buf, pos)?;
                Ok($from)
            }
            #[inline]
            fn write($w: $out, out: &mut Vec<u8>) {
                write_varint($to, out)
            }
            #[inline]
            fn len($w: $out) -> usize {
                varint_len($to)
            }
        }
    };
}

varint_scalar!(Int32, i32, |v| v as i32, |v| v as i64 as u64);
varint_scalar!(Int64, i64, |v| v as i64, |v| v as u64);
varint_scalar!(UInt32, u32, |v| v as u32, |v| u64::from(v));
varint_scalar!(UInt64, u64, |v| v, |v| v);
varint_scalar!(SInt32, i32, |v| { let v = v as u32; ((v >> 1) as i32) ^ -((v & 1) as i32) }, |v| u64::from(((v << 1) ^ (v >> 31)) as u32));
varint_scalar!(SInt64, i64, |v| ((v >> 1) as i64) ^ -((v & 1) as i64), |v| ((v << 1) ^ (v >> 63)) as u64);
varint_scalar!(Bool, bool, |v| v != 0, |v| u64::from(v));
varint_scalar!(Enum, i32, |v| v as i32, |v| v as i64 as u64);

macro_rules! fixed_scalar {
    ($name:ident, $out:ty, $wire:expr, $read:ident, $n:expr, |$w:ident| $bytes:expr) => {
        #[doc = concat!("The `", stringify!($name), "` wire codec (", stringify!($n), " little-endian bytes holding ", stringify!($out), ").")]
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl Scalar for $name {
            type Out = $out;
            const WIRE: u8 = $wire;
            #[inline]
            fn read(buf: &[u8], pos: &mut usize) -> Result<$out, DecodeError> {
                $read(buf, pos).map(|v| v as $out)
            }
            #[inline]
            fn write($w: $out, out: &mut Vec<u8>) {
                out.extend_from_slice(&$bytes)
            }
            #[inline]
            fn len(_: $out) -> usize {
                $n
            }
        }
    };
}

fixed_scalar!(Fixed32, u32, FIXED32, read_fixed32, 4, |v| v.to_le_bytes());
fixed_scalar!(SFixed32, i32, FIXED32, read_fixed32, 4, |v| v.to_le_bytes());
fixed_scalar!(Fixed64, u64, FIXED64, read_fixed64, 8, |v| v.to_le_bytes());
fixed_scalar!(SFixed64, i64, FIXED64, read_fixed64, 8, |v| v.to_le_bytes());

/// Checks a packed run of scalars and returns how many values it holds.
pub fn count_packed<S: Scalar>(data: &[u8], base: usize) -> Result<u32, DecodeError> {
    let mut pos = 0;
    let mut n = 0u32;
    while pos < data.len() {
        S::read(data, &mut pos).map_err(|e| e.shifted(base))?;
        n = n.saturating_add(1);
    }
    Ok(n)
}

/// Reads one scalar field occurrence, checking its wire type. A length-delimited occurrence of a
/// repeated scalar is a packed run and is handled by the caller.
#[inline]
pub fn read_scalar<S: Scalar>(buf: &[u8], pos: &mut usize, wt: u8) -> Result<S::Out, DecodeError> {
    if wt != S::WIRE {
        return Err(DecodeError::new(*pos, DecodeErrorKind::WrongWireType { expected: S::WIRE, found: wt }));
    }
    S::read(buf, pos)
}

/// A singular `bytes`, `string` or message field's bytes at `pos`, for a view's slot; an error
/// names `field`.
#[inline(always)]
pub fn bytes_field<'a>(buf: &'a [u8], pos: &mut usize, wt: u8, field: &str) -> Result<Option<&'a [u8]>, DecodeError> {
    read_bytes(buf, pos, wt).map(Some).map_err(|e| e.in_field(field, None))
}

/// Reads one length-delimited field occurrence, checking its wire type.
#[inline]
pub fn read_bytes<'a>(buf: &'a [u8], pos: &mut usize, wt: u8) -> Result<&'a [u8], DecodeError> {
    if wt != LEN {
        return Err(DecodeError::new(*pos, DecodeErrorKind::WrongWireType { expected: LEN, found: wt }));
    }
    read_len(buf, pos)
}

// ---- writing ----

/// Appends `v` as a varint.
#[inline]
pub fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The length of `v` as a varint.
#[inline]
pub fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits; 0 takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends the key of field `num` with wire type `wt`.
#[inline]
pub fn write_tag(num: u32, wt: u8, out: &mut Vec<u8>) {
    write_varint((u64::from(num) << 3) | u64::from(wt), out)
}

/// The length of field `num`'s key.
#[inline]
pub fn tag_len(num: u32) -> usize {
    varint_len(u64::from(num) << 3)
}

/// Appends field `num` holding `data` (key, length, bytes).
#[inline]
pub fn write_len_prefixed(num: u32, data: &[u8], out: &mut Vec<u8>) {
    write_tag(num, LEN, out);
    write_varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// The length of field `num` holding `n` bytes.
#[inline]
pub fn len_prefixed_len(num: u32, n: usize) -> usize {
    tag_len(num) + varint_len(n as u64) + n
}

/// Zero-copy iteration over the occurrences of one repeated scalar field, packed or not.
#[derive(Clone, Copy)]
pub struct Repeated<'a, S: Scalar> {
    buf: &'a [u8],
    first: u32,
    count: u32,
    num: u32,
    _s: core::marker::PhantomData<S>,
}

impl<'a, S: Scalar> core::fmt::Debug for Repeated<'a, S>
where
    S::Out: core::fmt::Debug,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, S: Scalar> Repeated<'a, S> {
    /// `first` is the offset of the first occurrence's key in `buf` (a message already checked).
    #[doc(hidden)]
    pub fn new(buf: &'a [u8], num: u32, slot: RepSlot) -> Self {
        Repeated { buf, first: slot.first, count: slot.count, num, _s: core::marker::PhantomData }
    }
    /// The number of values.
    pub fn len(&self) -> usize {
        self.count as usize
    }
    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The values, in order (packed and unpacked occurrences alike).
    pub fn iter(&self) -> RepeatedIter<'a, S> {
        RepeatedIter { buf: self.buf, pos: self.first as usize, num: self.num, left: self.count, packed_end: 0, _s: core::marker::PhantomData }
    }
    /// The values, collected.
    pub fn to_vec(&self) -> Vec<S::Out> {
        self.iter().collect()
    }
}

impl<'a, S: Scalar> IntoIterator for Repeated<'a, S> {
    type Item = S::Out;
    type IntoIter = RepeatedIter<'a, S>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The iterator of [`Repeated`].
pub struct RepeatedIter<'a, S: Scalar> {
    buf: &'a [u8],
    pos: usize,
    num: u32,
    left: u32,
    packed_end: usize,
    _s: core::marker::PhantomData<S>,
}

impl<'a, S: Scalar> Iterator for RepeatedIter<'a, S> {
    type Item = S::Out;
    fn next(&mut self) -> Option<S::Out> {
        if self.left == 0 {
            return None;
        }
        loop {
            if self.pos < self.packed_end {
                let v = S::read(&self.buf[..self.packed_end], &mut self.pos).ok()?;
                self.left -= 1;
                return Some(v);
            }
            let (num, wt) = read_tag(self.buf, &mut self.pos).ok()?;
            if num == self.num {
                if wt == LEN && S::WIRE != LEN {
                    let start = self.pos;
                    let data = read_len(self.buf, &mut self.pos).ok()?;
                    self.packed_end = self.pos;
                    self.pos = self.packed_end - data.len();
                    let _ = start;
                    continue;
                }
                let v = S::read(self.buf, &mut self.pos).ok()?;
                self.left -= 1;
                return Some(v);
            }
            skip(self.buf, &mut self.pos, wt).ok()?;
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'a, S: Scalar> ExactSizeIterator for RepeatedIter<'a, S> {}

/// Where a repeated field's occurrences start and how many values it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepSlot {
    /// Offset of the first occurrence's key in the message.
    pub first: u32,
    /// Number of values.
    pub count: u32,
}

impl RepSlot {
    /// Counts `n` more values of an occurrence whose key is at `key_offset`.
    #[inline]
    pub fn add(&mut self, key_offset: usize, n: u32) {
        if self.count == 0 {
            self.first = key_offset as u32;
        }
        self.count = self.count.saturating_add(n);
    }
}

/// A message type whose views can be parsed from bytes.
pub trait View<'a>: Sized + Copy {
    /// Checks and views `buf`, nested `depth` messages deep.
    fn parse_at_depth(buf: &'a [u8], depth: u32) -> Result<Self, DecodeError>;
    /// Checks this message's own fields only: nested messages are framed but not checked. For a
    /// reader that checks each nested message as it reaches it ([`RepeatedLen::checked`]), so
    /// that a message of 30 000 VMAs is parsed once, not once to check and once to read.
    fn parse_level(buf: &'a [u8]) -> Result<Self, DecodeError>;
    /// A message to write, for a writer that checks the image as it writes it: this level
    /// parsed ([`View::parse_level`]; the writer parses each nested message as it reaches it).
    /// `None`, with the writer poisoned ([`JsonWriter::poison`]), when it does not parse or
    /// lies deeper than a full parse accepts (the writer's nesting is at least the messages').
    #[inline]
    fn for_writer(buf: &'a [u8], w: &mut JsonWriter<'_>) -> Option<Self> {
        if w.depth() > MAX_DEPTH as usize {
            w.poison();
            return None;
        }
        match Self::parse_level(buf) {
            Ok(v) => Some(v),
            Err(_) => {
                w.poison();
                None
            }
        }
    }
    /// A field of this message type at `pos` (its key read) in a message `depth` deep: its
    /// bytes, checked as this message when `deep`. An error names `field` (element `index` of
    /// a repeated one).
    #[inline(always)]
    fn read_field(buf: &'a [u8], pos: &mut usize, wt: u8, depth: u32, deep: bool, field: &str, index: Option<u32>) -> Result<&'a [u8], DecodeError> {
        let b = read_bytes(buf, pos, wt).map_err(|e| e.in_field(field, index))?;
        if deep {
            let body = *pos - b.len();
            Self::parse_at_depth(b, depth + 1).map_err(|e| e.shifted(body).in_field(field, index))?;
        }
        Ok(b)
    }
}

/// Zero-copy iteration over a repeated length-delimited field (messages, strings or bytes).
#[derive(Clone, Copy)]
pub struct RepeatedLen<'a, T> {
    buf: &'a [u8],
    first: u32,
    count: u32,
    num: u32,
    conv: fn(&'a [u8]) -> Option<T>,
}

impl<'a, T: core::fmt::Debug> core::fmt::Debug for RepeatedLen<'a, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, T> RepeatedLen<'a, T> {
    #[doc(hidden)]
    pub fn new(buf: &'a [u8], num: u32, slot: RepSlot, conv: fn(&'a [u8]) -> Option<T>) -> Self {
        RepeatedLen { buf, first: slot.first, count: slot.count, num, conv }
    }
    /// The number of values.
    pub fn len(&self) -> usize {
        self.count as usize
    }
    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The values, in order.
    pub fn iter(&self) -> RepeatedLenIter<'a, T> {
        RepeatedLenIter { buf: self.buf, pos: self.first as usize, num: self.num, left: self.count, conv: self.conv }
    }

    /// The messages, each checked as it is reached, for a view made with
    /// [`View::parse_level`]: an error is the one a full parse of the enclosing message would
    /// give for it (offset in the enclosing message, path `field[i]...`).
    pub fn checked<V: View<'a>>(&self, field: &'static str) -> impl ExactSizeIterator<Item = Result<V, DecodeError>> + 'a {
        let base = self.buf.as_ptr() as usize;
        let raw = RepeatedLenIter { buf: self.buf, pos: self.first as usize, num: self.num, left: self.count, conv: Some };
        raw.enumerate().map(move |(i, b)| {
            V::parse_at_depth(b, 1).map_err(|e| e.shifted(b.as_ptr() as usize - base).in_field(field, Some(i as u32)))
        })
    }
}

impl<'a, T> IntoIterator for RepeatedLen<'a, T> {
    type Item = T;
    type IntoIter = RepeatedLenIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The iterator of [`RepeatedLen`].
pub struct RepeatedLenIter<'a, T> {
    buf: &'a [u8],
    pos: usize,
    num: u32,
    left: u32,
    conv: fn(&'a [u8]) -> Option<T>,
}

impl<'a, T> Iterator for RepeatedLenIter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        loop {
            let (num, wt) = read_tag(self.buf, &mut self.pos).ok()?;
            if num == self.num && wt == LEN {
                let data = read_len(self.buf, &mut self.pos).ok()?;
                self.left -= 1;
                return (self.conv)(data);
            }
            skip(self.buf, &mut self.pos, wt).ok()?;
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'a, T> ExactSizeIterator for RepeatedLenIter<'a, T> {}

/// Fields the schema does not know, kept with their keys so that encode reproduces them in place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownFields {
    /// `(field number, raw bytes of the whole field: key and value)`, in input order.
    pub records: Vec<(u32, Vec<u8>)>,
}

impl UnknownFields {
    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// Collects the fields of `buf` (a checked message) for which `known` is false.
    pub fn collect(buf: &[u8], known: fn(u32) -> bool) -> Self {
        let mut records = Vec::new();
        let mut pos = 0;
        while pos < buf.len() {
            let start = pos;
            let Ok((num, wt)) = read_tag(buf, &mut pos) else { break };
            if skip(buf, &mut pos, wt).is_err() {
                break;
            }
            if !known(num) {
                records.push((num, buf[start..pos].to_vec()));
            }
        }
        UnknownFields { records }
    }
    /// Parses raw field records (as kept in JSON's `_unknown_fields`).
    pub fn from_raw(raw: &[u8]) -> Result<Self, DecodeError> {
        let mut records = Vec::new();
        let mut pos = 0;
        while pos < raw.len() {
            let start = pos;
            let (num, wt) = read_tag(raw, &mut pos)?;
            skip(raw, &mut pos, wt)?;
            records.push((num, raw[start..pos].to_vec()));
        }
        Ok(UnknownFields { records })
    }
    /// All records, concatenated.
    pub fn raw(&self) -> Vec<u8> {
        self.records.iter().flat_map(|(_, r)| r.iter().copied()).collect()
    }
    /// Writes the records numbered below `before` not yet written; `cursor` tracks progress. With
    /// records in field-number order (as protobuf-c writes them) this puts each back in place.
    #[inline]
    pub fn write_before(&self, before: u32, cursor: &mut usize, out: &mut Vec<u8>) {
        while let Some((num, raw)) = self.records.get(*cursor) {
            if *num >= before {
                break;
            }
            out.extend_from_slice(raw);
            *cursor += 1;
        }
    }
    /// The length of the raw fields together.
    pub fn encoded_len(&self) -> usize {
        self.records.iter().map(|(_, r)| r.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain byte-at-a-time reading of the protobuf spec, to hold the fast paths to.
    fn reference(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
        let start = *pos;
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = buf.get(start + i) else { return Err(DecodeError::new(start, DecodeErrorKind::Truncated)) };
            if i == 9 && b > 1 {
                return Err(DecodeError::new(start, DecodeErrorKind::VarintOverflow));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                *pos = start + i + 1;
                return Ok(v);
            }
        }
        Err(DecodeError::new(start, DecodeErrorKind::VarintOverflow))
    }

    #[test]
    fn varints_read_as_the_spec_says_near_the_end_and_far_from_it() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut cases: Vec<Vec<u8>> = vec![vec![0xff; 10], vec![0xff; 11], [[0x80; 9].as_slice(), &[2]].concat(), vec![0x80, 0x80], vec![]];
        for v in [0, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), 1 << 63, u64::MAX] {
            let mut b = Vec::new();
            write_varint(v, &mut b);
            cases.push(b);
        }
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize;
            // Mostly continuation bytes, so that long and malformed varints are common.
            cases.push((0..len).map(|i| ((x >> (i * 5)) as u8) | if i + 1 < len { 0x80 } else { (x >> 60) as u8 & 0x80 }).collect());
        }
        for c in &cases {
            for tail in [0usize, 16] {
                let mut buf = vec![0x55; 3];
                buf.extend_from_slice(c);
                buf.extend(std::iter::repeat_n(0x80, tail));
                let (mut a, mut b) = (3, 3);
                let got = read_varint(&buf, &mut a);
                let want = reference(&buf, &mut b);
                assert_eq!(got, want, "{c:02x?} + {tail} bytes");
                if got.is_ok() {
                    assert_eq!(a, b, "{c:02x?}");
                }
            }
        }
    }

    #[test]
    fn varints_write_as_the_spec_says_at_every_length() {
        // The spec, byte by byte.
        fn spec(mut v: u64) -> Vec<u8> {
            let mut b = Vec::new();
            loop {
                let low = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    b.push(low);
                    return b;
                }
                b.push(low | 0x80);
            }
        }
        let mut values = vec![0, u64::MAX];
        for bit in 0..64 {
            values.extend([(1u64 << bit) - 1, 1 << bit, (1 << bit) + 1]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for v in values {
            // After bytes already in the vector: a writer must append, never overwrite.
            let mut out = vec![0xaa, 0xbb];
            write_varint(v, &mut out);
            assert_eq!(&out[..2], [0xaa, 0xbb]);
            assert_eq!(out[2..], spec(v)[..], "{v:#x}");
            assert_eq!(out.len() - 2, varint_len(v), "{v:#x}");
        }
    }
}
