//! Per-field glue that generated code calls: crit's pretty forms of integers, JSON input of each
//! field type (with JSON paths in errors), the owned-message trait, and validator findings.

use std::fmt as sfmt;

use super::flags::FlagSpec;
use super::json::{self, DictTable, JsonWriter};
use super::json_in::{self, Value};
use super::wire::{Repeated, UInt32};
use super::{DecodeError, EncodeError, UnknownFields};

/// An owned message: encode, decode, and JSON input.
pub trait Message: Sized + Default {
    /// The schema name, e.g. `pagemap_entry`.
    const NAME: &'static str;
    /// Length of [`Message::encode`]'s output.
    fn encoded_len(&self) -> usize;
    /// Appends the protobuf encoding, byte-identical to protobuf-c's for the same values.
    fn encode(&self, out: &mut Vec<u8>);
    /// Checks and decodes bytes (through the view).
    fn decode(buf: &[u8]) -> Result<Self, DecodeError>;
    /// Reads crit's JSON of this message (plain or pretty forms); `path` names it in errors.
    /// A key that is not a field is refused ([`UnknownKeys::Refuse`]).
    fn from_json(v: &Value, path: &str) -> Result<Self, EncodeError> {
        Self::from_json_with(v, path, UnknownKeys::Refuse)
    }
    /// [`Message::from_json`], with keys that are not fields (here and in nested messages)
    /// handled as `unknown` says.
    fn from_json_with(v: &Value, path: &str, unknown: UnknownKeys) -> Result<Self, EncodeError> {
        Self::from_json_src(&mut super::json_src::TreeSource::new(v), path, unknown)
    }
    /// Reads the message from the current value of `src` (a parsed tree, or a reader in the
    /// middle of a document: see [`super::json_src`]).
    fn from_json_src<S: super::json_src::JsonSource>(src: &mut S, path: &str, unknown: UnknownKeys) -> Result<Self, S::Error>;
    /// The encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        // Not sized first (a walk of the whole message): most entries fit, larger ones grow.
        let mut out = Vec::with_capacity(256);
        self.encode(&mut out);
        out
    }
}

/// How a device number is packed (`(criu).dev`, with `(criu).odev` for the glibc encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dev {
    /// Not a device number.
    None,
    /// The kernel's `dev_t` encoding (`new_encode_dev`).
    Kernel,
    /// glibc's old 16-bit encoding (`(criu).odev`).
    Old,
}

/// The `(criu)` options of an integer field that decide its pretty form (and which string forms
/// JSON input accepts for it). Generated code shares one per combination: those of [`fmt`], and
/// one per flag or dict table (`schema::tables::FMT_*`).
#[derive(Clone, Copy, Debug)]
pub struct IntFmt {
    /// `(criu).hex`: `"0x1f"`.
    pub hex: bool,
    /// `(criu).dev` / `(criu).odev`: `"8:1"`.
    pub dev: Dev,
    /// `(criu).flags`: `"PROT_READ | PROT_WRITE"`.
    pub flags: Option<&'static FlagSpec>,
    /// `(criu).dict`: a name for each value the table has.
    pub dict: Option<&'static DictTable>,
}

/// The integer formats without a table.
pub mod fmt {
    use super::{Dev, IntFmt};

    /// A number.
    pub const PLAIN: IntFmt = IntFmt { hex: false, dev: Dev::None, flags: None, dict: None };
    /// `(criu).hex`.
    pub const HEX: IntFmt = IntFmt { hex: true, ..PLAIN };
    /// `(criu).dev`: the kernel's encoding.
    pub const DEV: IntFmt = IntFmt { dev: Dev::Kernel, ..PLAIN };
    /// `(criu).dev` with `(criu).odev`: glibc's old encoding.
    pub const ODEV: IntFmt = IntFmt { dev: Dev::Old, ..PLAIN };
}

/// Writes field `num` holding the message `m` (length-delimited).
#[inline]
pub fn write_message<M: Message>(num: u32, m: &M, out: &mut Vec<u8>) {
    super::wire::write_tag(num, super::wire::LEN, out);
    // The message goes out after a one-byte length, which is then set; a longer length (128
    // bytes or more) moves the message up by the bytes it needs. Sizing it first instead would
    // walk every nested message once per level above it (a `mm` entry's VMAs twice).
    let at = out.len();
    out.push(0);
    m.encode(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        super::wire::write_varint(len as u64, &mut prefix);
        out.splice(at..at + 1, prefix);
    }
}

/// The length of [`write_message`]'s output.
#[inline]
pub fn message_len<M: Message>(num: u32, m: &M) -> usize {
    super::wire::len_prefixed_len(num, m.encoded_len())
}

/// An unsigned integer field. Pretty mode, in crit's order: hex (own or inherited), dev, flags,
/// dict (a value without a name stays a number), else the number.
#[inline]
pub fn write_uint(w: &mut JsonWriter, v: u64, fmt: &IntFmt, hex: bool) {
    if !w.pretty() {
        return w.u64(v);
    }
    pretty_int(w, i128::from(v), fmt, hex)
}

/// A signed integer field; see [`write_uint`].
#[inline]
pub fn write_int(w: &mut JsonWriter, v: i64, fmt: &IntFmt, hex: bool) {
    if !w.pretty() {
        return w.i64(v);
    }
    pretty_int(w, i128::from(v), fmt, hex)
}

fn pretty_int(w: &mut JsonWriter, v: i128, fmt: &IntFmt, hex: bool) {
    if hex || fmt.hex {
        return w.hex(v);
    }
    // Python's formatting of negative values through masks is not something CRIU images carry in
    // dev/flags/dict fields (all unsigned); fall back to the number for them.
    let Ok(u) = u64::try_from(v) else { return w.i64(v as i64) };
    match (fmt.dev, fmt.flags, fmt.dict) {
        (Dev::Kernel, _, _) => w.dev(u, false),
        (Dev::Old, _, _) => w.dev(u, true),
        (Dev::None, Some(spec), _) => w.flags(u, spec.table),
        (Dev::None, None, Some(dict)) => match dict.iter().find(|(k, _)| *k == u) {
            Some((_, name)) => w.str(name),
            None => w.u64(u),
        },
        _ => w.u64(u),
    }
}

/// An enum field: its name, or its number when the schema has no name for it (crit would have
/// dropped the field).
#[inline]
pub fn write_enum(w: &mut JsonWriter, v: i32, name: Option<&'static str>) {
    match name {
        Some(n) => w.str(n),
        None => w.i64(i64::from(v)),
    }
}

/// A repeated `(criu).ipadd` field: in pretty mode crit's one-element list of the address; the
/// raw words otherwise (and when the word count is neither 1 nor 4, where crit would crash).
pub fn write_ipadd(w: &mut JsonWriter, words: Repeated<'_, UInt32>) {
    if w.pretty() {
        let v: Vec<u32> = words.to_vec();
        if let Some(text) = json::format_ipadd(&v) {
            w.begin_array();
            w.str(&text);
            w.end_array();
            return;
        }
    }
    w.begin_array();
    for v in words {
        w.u64(u64::from(v));
    }
    w.end_array();
}

// ---- JSON input ----

/// A JSON path for error messages, formatted only when an error happens.
#[derive(Clone, Copy, Debug)]
pub struct Path<'p> {
    parent: &'p str,
    field: Option<&'p str>,
    index: Option<usize>,
}

impl<'p> Path<'p> {
    /// Field `field` (element `index` of it, for a repeated one) of the message at `parent`.
    pub fn new(parent: &'p str, field: &'p str, index: Option<usize>) -> Self {
        Path { parent, field: Some(field), index }
    }
    /// Field `field` of the message at `parent`.
    pub fn field(parent: &'p str, field: &'p str) -> Self {
        Path::new(parent, field, None)
    }
    /// A path already formatted.
    pub fn text(path: &'p str) -> Self {
        Path { parent: path, field: None, index: None }
    }
    pub(crate) fn err(&self, msg: impl Into<String>) -> EncodeError {
        EncodeError::new(&self.to_string(), msg)
    }
}

impl sfmt::Display for Path<'_> {
    fn fmt(&self, f: &mut sfmt::Formatter<'_>) -> sfmt::Result {
        f.write_str(self.parent)?;
        if let Some(field) = self.field {
            if !self.parent.is_empty() {
                f.write_str(".")?;
            }
            f.write_str(field)?;
        }
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

/// What JSON input does with an object key that is not a field of its message (nor
/// `_unknown_fields`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UnknownKeys {
    /// Refuse it with an error naming its JSON path and the closest field name. The default: a
    /// misspelt key would otherwise drop the value it was meant to set without a word, and the
    /// image written would differ from the one intended.
    #[default]
    Refuse,
    /// Ignore it, as CRIU's crit does (protobuf's `json_format.Parse(ignore_unknown_fields=True)`).
    Ignore,
}

/// A key of the object at `path` that is not a field of `message` (whose fields are `known`):
/// nothing under [`UnknownKeys::Ignore`], an error naming `path.key` otherwise, suggesting the
/// closest known key when one is close.
pub fn unknown_key(path: &str, message: &str, key: &str, known: &[&str], unknown: UnknownKeys) -> Result<(), EncodeError> {
    if unknown == UnknownKeys::Ignore {
        return Ok(());
    }
    let full = Path::new(path, key, None).to_string();
    let mut msg = format!("unknown key: {message} has no field `{key}`");
    if let Some(near) = closest(key, known) {
        msg.push_str(&format!("; did you mean `{near}`?"));
    }
    Err(EncodeError { path: full, message: msg, unknown_key: true })
}

/// The element of `known` closest to `key` in edit distance (adjacent transpositions count one),
/// when it is close enough to be a likely misspelling: at most one edit per four characters,
/// and at least one.
pub fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key: Vec<char> = key.chars().flat_map(char::to_lowercase).collect();
    let limit = 1 + key.len() / 4;
    let mut best: Option<(usize, &str)> = None;
    for &k in known {
        let cand: Vec<char> = k.chars().collect();
        // Lengths further apart than the limit cannot be within it (and a long hostile key costs
        // nothing).
        if cand.len().abs_diff(key.len()) > limit {
            continue;
        }
        let d = osa_distance(&key, &cand);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
/// adjacent characters, each one edit.
fn osa_distance(a: &[char], b: &[char]) -> usize {
    // Three rows of the dynamic-programming table: two back (for transpositions), one back, this.
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The error for a required field the object at `path` lacks.
pub fn missing(path: &str, message: &str, field: &str) -> EncodeError {
    EncodeError::new(path, format!("message {message} is missing required field `{field}`"))
}

/// The members of a JSON object (a message), or an error naming `path`.
pub fn json_object<'v>(v: &'v Value, path: &str) -> Result<&'v [(String, Value)], EncodeError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(EncodeError::new(path, format!("expected an object, found {}", other.type_name()))),
    }
}

/// A repeated field: a JSON array whose elements `f` converts (given each element's path).
pub fn json_array<T>(
    v: &Value,
    path: &str,
    field: &str,
    mut f: impl FnMut(&Value, &str) -> Result<T, EncodeError>,
) -> Result<Vec<T>, EncodeError> {
    let Value::Array(items) = v else {
        return Err(Path::new(path, field, None).err(format!("expected an array, found {}", v.type_name())));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = Path::new(path, field, Some(i)).to_string();
        out.push(f(item, &p)?);
    }
    Ok(out)
}

/// Integer types a JSON value can be converted into.
pub trait JsonInt: Sized {
    /// The schema's name of the type, for errors (`uint32`).
    const TYPE: &'static str;
    /// The value, when it fits.
    fn from_i128(v: i128) -> Option<Self>;
    /// The value, when it fits (the common case, without 128-bit arithmetic).
    fn from_i64(v: i64) -> Option<Self> {
        Self::from_i128(i128::from(v))
    }
}

macro_rules! json_int {
    ($t:ty, $name:expr) => {
        impl JsonInt for $t {
            const TYPE: &'static str = $name;
            fn from_i128(v: i128) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            #[inline]
            fn from_i64(v: i64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    };
}
json_int!(u32, "uint32");
json_int!(u64, "uint64");
json_int!(i32, "int32");
json_int!(i64, "int64");

/// An integer field: a JSON integer, or a string in any of crit's forms (dev `"maj:min"`, flags
/// `"A | B | 0x10"`, dict names, and Python `int(s, 0)` text such as `"0x1f"`).
pub fn json_int<T: JsonInt>(v: &Value, fmt: &IntFmt, path: &Path<'_>) -> Result<T, EncodeError> {
    match v {
        Value::Number(text) => int_of_number(text.as_bytes(), path),
        Value::String(bytes) => int_of_string(bytes, fmt, path),
        other => Err(path.err(format!("expected an integer, found {}", other.type_name()))),
    }
}

/// [`json_int`] of a JSON number's text.
pub fn int_of_number<T: JsonInt>(text: &[u8], path: &Path<'_>) -> Result<T, EncodeError> {
    let wide = parse_json_integer(text).ok_or_else(|| path.err(format!("{} is not an integer", String::from_utf8_lossy(text))))?;
    T::from_i128(wide).ok_or_else(|| path.err(format!("{wide} does not fit {}", T::TYPE)))
}

/// [`json_int`] of a JSON number already read as an `i64`.
#[inline]
pub fn int_of_small<T: JsonInt>(v: i64, path: &Path<'_>) -> Result<T, EncodeError> {
    T::from_i64(v).ok_or_else(|| path.err(format!("{v} does not fit {}", T::TYPE)))
}

/// [`json_int`] of a JSON string's bytes.
pub fn int_of_string<T: JsonInt>(bytes: &[u8], fmt: &IntFmt, path: &Path<'_>) -> Result<T, EncodeError> {
    let s = std::str::from_utf8(bytes).map_err(|_| path.err("integer text is not UTF-8"))?;
    int_of_str(s, fmt, path)
}

/// [`json_int`] of a JSON string's text.
pub fn int_of_str<T: JsonInt>(s: &str, fmt: &IntFmt, path: &Path<'_>) -> Result<T, EncodeError> {
    let wide = int_from_str(s, fmt).ok_or_else(|| path.err(format!("cannot read {s:?} as an integer")))?;
    T::from_i128(wide).ok_or_else(|| path.err(format!("{wide} does not fit {}", T::TYPE)))
}

/// [`int_of_number`] without an error: the value, when the text is an integer that fits.
pub(crate) fn int_of_wide_number<T: JsonInt>(text: &[u8]) -> Option<T> {
    T::from_i128(parse_json_integer(text)?)
}

/// [`int_of_str`] without an error: the value, when the format reads the text and it fits.
pub(crate) fn int_of_text<T: JsonInt>(s: &[u8], fmt: &IntFmt) -> Option<T> {
    T::from_i128(int_from_text(s, fmt)?)
}

/// [`json_int`] of field `field` of the message at `parent`.
#[inline]
pub fn int_at<T: JsonInt>(v: &Value, parent: &str, field: &str, fmt: &IntFmt) -> Result<T, EncodeError> {
    json_int(v, fmt, &Path::field(parent, field))
}

fn parse_json_integer(b: &[u8]) -> Option<i128> {
    // Up to 18 digits fit an i64 whatever they are: the common case, without i128 arithmetic.
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if !digits.is_empty() && digits.len() <= 18 {
        let mut v = 0i64;
        let mut all_digits = true;
        for &d in digits {
            let x = d.wrapping_sub(b'0');
            all_digits &= x <= 9;
            v = v * 10 + i64::from(x);
        }
        if all_digits {
            return Some(i128::from(if neg { -v } else { v }));
        }
    }
    std::str::from_utf8(b).ok()?.parse::<i128>().ok()
}

fn int_from_str(s: &str, fmt: &IntFmt) -> Option<i128> {
    int_from_text(s.as_bytes(), fmt)
}

/// [`int_from_str`] of UTF-8 text as bytes: crit's forms (flag names, a dict name, `0x` and hex
/// digits) are read from the bytes, anything else from the text as a `str`.
fn int_from_text(s: &[u8], fmt: &IntFmt) -> Option<i128> {
    match fmt.dev {
        Dev::Kernel => return json_in::parse_dev_kernel(std::str::from_utf8(s).ok()?).map(i128::from),
        Dev::Old => return json_in::parse_dev_old(std::str::from_utf8(s).ok()?).map(i128::from),
        Dev::None => {}
    }
    if let Some(spec) = fmt.flags {
        return json_in::parse_flags_text(s, spec.bits_of_name).map(i128::from);
    }
    if let Some(dict) = fmt.dict
        && let Some((v, _)) = dict.iter().find(|(_, n)| n.as_bytes() == s) {
            return Some(i128::from(*v));
        }
    json_in::parse_int_text(s)
}

/// A `bool` field: `true` or `false`.
pub fn json_bool(v: &Value, path: &Path<'_>) -> Result<bool, EncodeError> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(path.err(format!("expected true or false, found {}", other.type_name()))),
    }
}

/// A `string` field: the text's bytes (surrogate escapes give back non-UTF-8 bytes).
pub fn json_string(v: &Value, path: &Path<'_>) -> Result<Vec<u8>, EncodeError> {
    match v {
        Value::String(b) => Ok(b.clone()),
        other => Err(path.err(format!("expected a string, found {}", other.type_name()))),
    }
}

/// A `bytes` field: base64 (newlines ignored), or quoted-printable for `unix_name`.
pub fn json_bytes(v: &Value, unix_name: bool, path: &Path<'_>) -> Result<Vec<u8>, EncodeError> {
    let Value::String(b) = v else {
        return Err(path.err(format!("expected a string, found {}", v.type_name())));
    };
    let r = if unix_name { json_in::decode_quopri(b) } else { json_in::decode_base64(b) };
    r.map_err(|e| path.err(e))
}

/// An enum field: the value's name (crit's form) or its number.
pub fn json_enum(v: &Value, from_name: fn(&str) -> Option<i32>, path: &Path<'_>) -> Result<i32, EncodeError> {
    match v {
        Value::String(b) => {
            let s = std::str::from_utf8(b).unwrap_or("");
            from_name(s).ok_or_else(|| path.err(format!("{s:?} is not a value of this enum")))
        }
        Value::Number(text) => text.parse::<i32>().map_err(|_| path.err(format!("{text} is not an enum number"))),
        other => Err(path.err(format!("expected an enum name, found {}", other.type_name()))),
    }
}

/// A repeated `ipadd` field: address strings (pretty form) or raw words (plain form).
pub fn json_ipadd(v: &Value, path: &str, field: &str) -> Result<Vec<u32>, EncodeError> {
    let Value::Array(items) = v else {
        return Err(Path::new(path, field, None).err(format!("expected an array, found {}", v.type_name())));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = Path::new(path, field, Some(i));
        match item {
            Value::String(b) => {
                let s = std::str::from_utf8(b).unwrap_or("");
                out.extend(json_in::parse_ipadd(s).ok_or_else(|| p.err(format!("{s:?} is not an IP address")))?);
            }
            _ => out.push(json_int::<u32>(item, &fmt::PLAIN, &p)?),
        }
    }
    Ok(out)
}

/// `_unknown_fields`: base64 of raw protobuf fields.
pub fn json_unknown(v: &Value, path: &str) -> Result<UnknownFields, EncodeError> {
    let p = Path::new(path, "_unknown_fields", None);
    let raw = json_bytes(v, false, &p)?;
    UnknownFields::from_raw(&raw).map_err(|e| p.err(format!("not protobuf fields: {e}")))
}

// ---- validator findings ----

/// Appends `[i]` to a validator's field path, without a temporary string (validators run once
/// per element of every repeated message: 30 000 VMAs in a large mm image).
#[inline]
pub fn push_index(path: &mut String, i: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = i;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    path.push('[');
    path.extend(digits[at..].iter().map(|&d| char::from(d)));
    path.push(']');
}

/// How bad a finding is. `Error`: restore will fail or misbehave; `Warning`: suspicious;
/// `Notice`: worth knowing, not wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, not wrong.
    Notice,
    /// Suspicious: restore may misbehave.
    Warning,
    /// Restore will fail or misbehave.
    Error,
}

impl sfmt::Display for Severity {
    fn fmt(&self, f: &mut sfmt::Formatter<'_>) -> sfmt::Result {
        f.write_str(match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One thing a validator found: severity, field path (e.g. `entries[3].vmas[7].flags`), message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// Where: the field path from the entry.
    pub path: String,
    /// What was found.
    pub message: String,
}

impl Finding {
    /// A finding at `path`.
    pub fn new(severity: Severity, path: &str, message: String) -> Self {
        Finding { severity, path: path.to_string(), message }
    }
    /// A decoding error of the message at `path`, as an error finding.
    pub fn from_decode(path: &str, e: &DecodeError) -> Self {
        let mut p = path.to_string();
        if !e.path.is_empty() {
            p.push('.');
            p.push_str(&e.path);
        }
        Finding { severity: Severity::Error, path: p, message: format!("byte {}: {}", e.offset, e.kind) }
    }
}
