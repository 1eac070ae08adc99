//! crit's image ↔ JSON document: `{"magic": NAME, "entries": [...]}`, plain or pretty, with each
//! payload's `extra` shape, `show --nopl` placeholders, `info`, and encode back to bytes.
//!
//! Output streams: the JSON writer spills its buffer to the destination whenever it passes 128 KiB
//! at the end of an object or array, once the image is known to be whole: each message is parsed
//! once, as it is written, and the first [`HOLD_UP_TO`] bytes of output wait in memory for that
//! (see [`write_json`]). A corrupt image gives an error and no partial document.
//!
//! Encode streams the other way: the document is read entry by entry ([`encode_json_with`]), so
//! memory is bounded by the largest entry, and an error leaves the entries before it written.

use std::io::{self, Write};

use criu_image_proto::support::fields::{self, Message};
pub use criu_image_proto::support::fields::UnknownKeys;
use criu_image_proto::support::json::{JsonWriter, human_readable};
use criu_image_proto::support::json_in::{self, Value};
use criu_image_proto::support::json_src;
use criu_image_proto::{EncodeError, owned, view};

use crate::image::{Entries, Entry, Error, Extra, Image, ImageWriter, Kind, Payload, Role, ipc_msgs};

/// How to render a document.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonOptions {
    /// crit's `--pretty` (and `show`): indent 4 and the `(criu)` option forms.
    pub pretty: bool,
    /// `show --nopl`: payloads replaced by `"... <SIZE>"`.
    pub nopl: bool,
}

/// Checks every entry of an image (framing, messages, payloads), stopping at the first error.
pub fn check(img: &Image<'_>) -> Result<usize, Error> {
    let mut n = 0;
    for e in img.entries() {
        e?;
        n += 1;
    }
    Ok(n)
}

/// Writes an image as crit's JSON document (without a trailing newline, as `json.dump`).
///
/// Each message is parsed once, as it is written: the output is held in memory until the image
/// is known to be whole, so a corrupt image gives its error and no output. Before an entry
/// whose JSON would take what is held past [`HOLD_UP_TO`] (as estimated from its size), the
/// rest of the image is checked first and the output streams from there on, so memory stays
/// near that bound whatever the image.
pub fn write_json(img: &Image<'_>, out: &mut dyn Write, opts: JsonOptions) -> Result<(), DecodeToError> {
    write_json_holding(img, out, opts, HOLD_UP_TO)
}

/// [`write_json`] holding at most about `hold` bytes of output before it checks the rest of the
/// image ahead of writing it (`0`: each entry is checked before it is written).
pub fn write_json_holding(img: &Image<'_>, out: &mut dyn Write, opts: JsonOptions, hold: usize) -> Result<(), DecodeToError> {
    {
        let mut w = JsonWriter::streaming(opts.pretty, out);
        w.hold(true);
        // Room at once for a document that will be held whole, rather than doubling from 64 KiB:
        // each doubling is a copy wherever the allocator cannot move pages instead (in a
        // long-running process whose malloc has raised its mmap threshold, a third of writing a
        // large mm image's JSON). One too large to hold streams through a small buffer.
        let per_byte = if opts.pretty { PRETTY_PER_BYTE } else { PLAIN_PER_BYTE };
        let estimate = img.bytes().len().saturating_mul(per_byte);
        if estimate <= hold {
            w.reserve(estimate);
        }
        let mut checked = false;
        let whole = write_document(img, &mut w, opts, |w, next| {
            if checked {
                return Ok(true);
            }
            if w.poisoned() {
                // A message did not parse: the error is what a full check finds first. When it
                // finds none, the writer was only unsure (a repeated singular message, or deep
                // nesting), and the document is written again from the checked image.
                check(img)?;
                return Ok(false);
            }
            if let Some((size, rest)) = next
                && w.buffer().len() + size * per_byte > hold
            {
                // What is held was checked by writing it; the rest is checked before it streams.
                rest.check_rest()?;
                checked = true;
                w.hold(false);
            }
            Ok(true)
        })?;
        if whole {
            return Ok(w.finish()?);
        }
    }
    write_json_checked_first(img, out, opts)
}

/// [`write_json`] that checks the whole image before it writes, then streams from the first
/// byte: each message is parsed twice, and memory stays at [`SPILL_AT`](criu_image_proto::support::json::SPILL_AT) whatever the size of
/// an entry (an mm image is one entry).
pub fn write_json_checked_first(img: &Image<'_>, out: &mut dyn Write, opts: JsonOptions) -> Result<(), DecodeToError> {
    check(img)?;
    let mut w = JsonWriter::streaming(opts.pretty, out);
    write_document(img, &mut w, opts, |_, _| Ok(true))?;
    Ok(w.finish()?)
}

/// Output [`write_json`] holds before it checks the rest of the image ahead of writing it.
pub const HOLD_UP_TO: usize = 8 << 20;

// Bytes of JSON per image byte, as estimated for `HOLD_UP_TO` (crit's JSON of an mm image is
// 4.1 times its size plain, 11 times pretty).
const PLAIN_PER_BYTE: usize = 5;
const PRETTY_PER_BYTE: usize = 12;

/// The document, with `step` called before each entry (with its size in the image, and the walk
/// from it on) and at the end (`None`): `Ok(false)` from it stops the walk, and the result is
/// then `Ok(false)`. A framing error is checked for the error a full check gives first.
fn write_document<'a>(
    img: &Image<'a>,
    w: &mut JsonWriter,
    opts: JsonOptions,
    mut step: impl FnMut(&mut JsonWriter, Option<(usize, &Entries<'a>)>) -> Result<bool, Error>,
) -> Result<bool, DecodeToError> {
    w.begin_object();
    w.key("magic");
    w.str(img.kind.name());
    w.key("entries");
    w.begin_array();
    let mut entries = img.entries_checked();
    loop {
        let from = entries.clone();
        let Some(e) = entries.next() else { break };
        let e = match e {
            Ok(e) => e,
            Err(e) => return Err(check(img).err().unwrap_or(e).into()),
        };
        if !step(w, Some((entries.offset() - from.offset(), &from)))? {
            return Ok(false);
        }
        write_entry(img.kind, &e, w, opts);
    }
    if !step(w, None)? {
        return Ok(false);
    }
    w.end_array();
    w.end_object();
    Ok(true)
}

/// An error of [`write_json`]: the image is bad, or the destination failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeToError {
    /// The image's framing or an entry is invalid (nothing was written: the image is checked
    /// before the first byte goes out); the error names the entry, byte offset and field.
    Image(Error),
    /// Writing to the destination failed.
    Io(io::Error),
}

impl From<Error> for DecodeToError {
    fn from(e: Error) -> Self {
        DecodeToError::Image(e)
    }
}

impl From<io::Error> for DecodeToError {
    fn from(e: io::Error) -> Self {
        DecodeToError::Io(e)
    }
}

impl std::fmt::Display for DecodeToError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeToError::Image(e) => e.fmt(f),
            DecodeToError::Io(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for DecodeToError {}

fn write_entry(kind: Kind, e: &Entry<'_>, w: &mut JsonWriter, opts: JsonOptions) {
    w.begin_object();
    // The views parse each message as they write it, and poison the writer when one fails.
    match e.role {
        Role::Entry => kind.write_entry_json(e.message, w),
        Role::PagemapHead => view::PagemapHead::trusted(e.message).write_json_fields(w, false),
        Role::GhostChunk => view::GhostChunkEntry::trusted(e.message).write_json_fields(w, false),
    }
    write_extra(kind, e, w, opts);
    w.end_object();
}

fn write_extra(kind: Kind, e: &Entry<'_>, w: &mut JsonWriter, opts: JsonOptions) {
    if matches!(e.extra, Extra::None) {
        return;
    }
    if opts.nopl {
        // crit shows no placeholder at all for ghost files.
        if kind.info().payload == Payload::GhostFile {
            return;
        }
        let size: u64 = match e.extra {
            Extra::None => return,
            Extra::Bytes(b) => b.len() as u64,
            Extra::Tcp { inq, outq } => (inq.len() + outq.len()) as u64,
            Extra::Sem { values, .. } => values.len() as u64,
            Extra::Msgs { records, .. } => ipc_msgs(records).map(|(m, d)| (m.as_bytes().len() + d.len()) as u64).sum(),
            Extra::Shm { size, .. } => size,
        };
        w.key("extra");
        w.str(&format!("... <{}>", human_readable(size)));
        return;
    }
    w.key("extra");
    match e.extra {
        Extra::None => {}
        Extra::Bytes(b) => w.base64(b),
        Extra::Tcp { inq, outq } => {
            w.begin_object();
            w.key("inq");
            w.base64(inq);
            w.key("outq");
            w.base64(outq);
            w.end_object();
        }
        Extra::Sem { values, .. } => {
            w.begin_array();
            for v in values.chunks_exact(2) {
                w.u64(u64::from(u16::from_le_bytes([v[0], v[1]])));
            }
            w.end_array();
        }
        Extra::Msgs { records, .. } => {
            w.begin_array();
            for (m, data) in ipc_msgs(records) {
                m.write_json(w, false);
                w.base64(data);
            }
            w.end_array();
        }
        // Modern images keep shm data in pagemap-shmem; crit prints "" for them.
        Extra::Shm { data, .. } => w.base64(data),
    }
}

/// `crit info`: the kind's name and the number of entries (the pagemap head is not counted).
pub fn info(img: &Image<'_>) -> Result<(Kind, usize), Error> {
    let n = check(img)?;
    let n = if img.kind.info().payload == Payload::Pagemap { n.saturating_sub(1) } else { n };
    Ok((img.kind, n))
}

/// `crit info`'s JSON (indent 4, no trailing newline).
pub fn info_json(kind: Kind, count: usize) -> String {
    let mut w = JsonWriter::new(true);
    w.begin_object();
    w.key("magic");
    w.str(kind.name());
    w.key("count");
    w.u64(count as u64);
    w.end_object();
    String::from_utf8_lossy(w.buffer()).into_owned()
}

// ---- encode ----

/// How [`encode_json_with`] reads a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Object keys that are not fields of their message (nor `_unknown_fields`), and document or
    /// `extra` keys that are not crit's. Refused by default, naming the JSON path and the closest
    /// known key: crit ignores them, so a misspelt key silently drops the value it was meant to
    /// set. [`UnknownKeys::Ignore`] reads such documents as crit does.
    pub unknown_keys: UnknownKeys,
}

/// `crit encode`: a JSON document (plain or pretty) → image bytes, streamed to `out`; keys that
/// are not fields are refused (see [`EncodeOptions`]).
pub fn encode_json(json: &[u8], out: &mut dyn Write) -> Result<(), EncodeJsonError> {
    encode_json_with(json, out, EncodeOptions::default())
}

/// [`encode_json`] from a reader, with options: the document is read as it is encoded, one entry
/// at a time, so memory is bounded by the largest entry (as a JSON tree and as a message), not
/// by the document.
///
/// The image header goes out when the `entries` array starts, each entry as soon as it is read;
/// on an error, what was written before it stays written (a caller writing a file should write
/// it beside the destination and rename it on success, as `crit encode -o` does). A document
/// whose `entries` come before its `magic` (crit never writes one) is read whole first.
/// A second `magic` or `entries` key after the entries is refused: crit would take the last.
pub fn encode_json_with(input: impl io::BufRead, out: &mut dyn Write, opts: EncodeOptions) -> Result<(), EncodeJsonError> {
    let mut r = json_in::Reader::new(input);
    r.refuse_bom()?;
    r.skip_ws()?;
    if r.peek()? != Some(b'{') {
        // Not an object (or not JSON): read it whole for the same error as a whole parse.
        let v = r.value(0)?;
        r.end()?;
        return Err(EncodeError::new("", format!("expected a JSON object with \"magic\" and \"entries\", found {}", v.type_name())).into());
    }
    r.eat(b'{')?;
    r.skip_ws()?;
    let mut out = io::BufWriter::with_capacity(256 * 1024, out);
    let mut magic: Option<Value> = None;
    // Entries read whole because they came before the magic.
    let mut early: Option<Value> = None;
    let mut streamed = false;
    if !r.eat(b'}')? {
        loop {
            let key = r.key()?;
            match key.as_str() {
                "magic" | "entries" if streamed => {
                    return Err(EncodeError::new(&key, "a second key of this name after the entries (crit would take the last)").into());
                }
                "magic" => magic = Some(r.value(1)?),
                "entries" if magic.is_some() && r.peek()? == Some(b'[') => {
                    let kind = kind_of(magic.as_ref())?;
                    let mut w = ImageWriter::new(&mut out, kind)?;
                    let mut enc = EntryEncoder { kind, unknown: opts.unknown_keys, ghost_chunked: false, path: String::new() };
                    r.eat(b'[')?;
                    r.skip_ws()?;
                    if !r.eat(b']')? {
                        let mut i = 0;
                        loop {
                            let more = if enc.streams() {
                                // Read as it is encoded: no JSON tree of the entry (a `mm`
                                // image's one entry is the whole document).
                                enc.entry_src(i, &mut json_src::ReaderSource::new(&mut r, 2, b']'), &mut w)?;
                                r.next(b']')?
                            } else {
                                let entry = r.value(2)?;
                                // What follows is checked first: a stray bracket can end an
                                // entry early, and the syntax error is the one to report, not a
                                // field the shortened entry lacks.
                                let more = r.next(b']')?;
                                enc.entry(i, entry, &mut w)?;
                                more
                            };
                            i += 1;
                            if !more {
                                break;
                            }
                        }
                    }
                    streamed = true;
                }
                "entries" => early = Some(r.value(1)?),
                other => {
                    fields::unknown_key("", "the document", other, &DOCUMENT_KEYS, opts.unknown_keys)?;
                    // Ignored, but it must be JSON.
                    r.value(1)?;
                }
            }
            if !r.next(b'}')? {
                break;
            }
        }
    }
    r.end()?;
    if !streamed {
        let kind = kind_of(magic.as_ref())?;
        let entries = match early {
            Some(Value::Array(a)) => a,
            Some(other) => return Err(EncodeError::new("entries", format!("expected an array, found {}", other.type_name())).into()),
            None => return Err(EncodeError::new("", "missing \"entries\"").into()),
        };
        let mut w = ImageWriter::new(&mut out, kind)?;
        let mut enc = EntryEncoder { kind, unknown: opts.unknown_keys, ghost_chunked: false, path: String::new() };
        for (i, entry) in entries.into_iter().enumerate() {
            enc.entry(i, entry, &mut w)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The image kind a document's `magic` names.
fn kind_of(magic: Option<&Value>) -> Result<Kind, EncodeError> {
    let magic = match magic {
        Some(Value::String(s)) => String::from_utf8_lossy(s),
        Some(other) => return Err(EncodeError::new("magic", format!("expected a string, found {}", other.type_name()))),
        None => return Err(EncodeError::new("", "missing \"magic\"")),
    };
    Kind::from_name(&magic).ok_or_else(|| EncodeError::new("magic", format!("unknown image kind {magic:?}")))
}

/// The keys of crit's document.
const DOCUMENT_KEYS: [&str; 2] = ["magic", "entries"];

/// Encodes a document's entries one by one: what an entry means depends on the kind and, for
/// ghost files, on the first entry.
struct EntryEncoder {
    kind: Kind,
    unknown: UnknownKeys,
    ghost_chunked: bool,
    /// `entries[i]` of the entry being read, for its errors (one buffer for all entries).
    path: String,
}

impl EntryEncoder {
    /// Whether this kind's entries are plain messages (no `extra` payload beside them), which
    /// [`EntryEncoder::entry_src`] reads straight from the document.
    fn streams(&self) -> bool {
        matches!(self.kind.info().payload, Payload::None | Payload::Pagemap)
    }

    /// Entry `i` of a kind that [`EntryEncoder::streams`], read from `src` as it is encoded.
    fn entry_src<S: json_src::JsonSource, W: Write>(&mut self, i: usize, src: &mut S, w: &mut ImageWriter<W>) -> Result<(), EncodeJsonError>
    where
        EncodeJsonError: From<S::Error>,
    {
        self.path.clear();
        self.path.push_str("entries");
        fields::push_index(&mut self.path, i);
        let path = &self.path;
        if self.kind.info().payload == Payload::Pagemap && i == 0 {
            w.write_message(&json_src::read::<_, owned::PagemapHead>(src, path, self.unknown)?)?;
        } else {
            let bytes = self.kind.entry_from_json_src(src, path, self.unknown)?;
            w.write_entry(&bytes)?;
        }
        Ok(())
    }

    fn entry<W: Write>(&mut self, i: usize, mut entry: Value, w: &mut ImageWriter<W>) -> Result<(), EncodeJsonError> {
        if self.streams() {
            return self.entry_src(i, &mut json_src::TreeSource::new(&entry), w);
        }
        let path = format!("entries[{i}]");
        let payload = self.kind.info().payload;
        let unknown = self.unknown;
        // `extra` is the payload's, not the message's: taken out here (kinds without a payload
        // went to `entry_src` above, whose message refuses it as an unknown key).
        let extra = match &mut entry {
            Value::Object(m) => {
                let mut extra = None;
                m.retain_mut(|(k, v)| {
                    if k != "extra" {
                        return true;
                    }
                    extra = Some(std::mem::replace(v, Value::Null));
                    false
                });
                extra
            }
            _ => None,
        };
        let extra = extra.as_ref();
        match (payload, i) {
            (Payload::GhostFile, 0) => {
                let g = owned::GhostFileEntry::from_json_with(&entry, &path, unknown)?;
                self.ghost_chunked = g.chunks == Some(true);
                w.write_message(&g)?;
                if let (false, Some(x)) = (self.ghost_chunked, truthy(extra)) {
                    w.write_raw(&b64(x, &path)?)?;
                }
            }
            (Payload::GhostFile, _) => {
                if !self.ghost_chunked {
                    return Err(EncodeError::new(&path, "a ghost file that is not chunked has one entry").into());
                }
                w.write_message(&owned::GhostChunkEntry::from_json_with(&entry, &path, unknown)?)?;
                let x = extra.ok_or_else(|| EncodeError::new(&path, "a ghost file chunk needs its \"extra\" data"))?;
                w.write_raw(&b64(x, &path)?)?;
            }
            _ => {
                let bytes = self.kind.entry_from_json(&entry, &path, unknown)?;
                w.write_entry(&bytes)?;
                write_extra_bytes(self.kind, &bytes, extra, &path, unknown, w)?;
            }
        }
        Ok(())
    }
}

/// crit writes an `extra` only when it is "truthy" (present, and not `""`, `[]` or `{}`).
fn truthy(v: Option<&Value>) -> Option<&Value> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Object(o)) if o.is_empty() => None,
        Some(v) => Some(v),
    }
}

fn b64(v: &Value, path: &str) -> Result<Vec<u8>, EncodeError> {
    match v {
        Value::String(s) => json_in::decode_base64(s).map_err(|e| EncodeError::new(&format!("{path}.extra"), e)),
        other => Err(EncodeError::new(&format!("{path}.extra"), format!("expected a base64 string, found {}", other.type_name()))),
    }
}

fn write_extra_bytes<W: Write>(
    kind: Kind,
    message: &[u8],
    extra: Option<&Value>,
    path: &str,
    unknown: UnknownKeys,
    w: &mut ImageWriter<W>,
) -> Result<(), EncodeJsonError> {
    let xpath = format!("{path}.extra");
    let bad = |m: String| EncodeJsonError::Encode(EncodeError::new(&xpath, m));
    match kind.info().payload {
        Payload::PipeData | Payload::SkQueue | Payload::BpfmapData => {
            if let Some(x) = truthy(extra) {
                w.write_raw(&b64(x, path)?)?;
            }
        }
        Payload::TcpStream => {
            if let Some(x) = truthy(extra) {
                if let Value::Object(m) = x {
                    for (k, _) in m {
                        if !TCP_QUEUES.contains(&k.as_str()) {
                            fields::unknown_key(&xpath, "a TCP stream's extra", k, &TCP_QUEUES, unknown)?;
                        }
                    }
                }
                for q in TCP_QUEUES {
                    if let Some(v) = x.get(q) {
                        w.write_raw(&b64(v, &format!("{path}.extra.{q}"))?)?;
                    }
                }
            }
        }
        Payload::IpcSem => {
            let e = view::IpcSemEntry::parse(message).map_err(|e| bad(e.to_string()))?;
            let values = match truthy(extra) {
                Some(Value::Array(a)) => a.as_slice(),
                Some(other) => return Err(bad(format!("expected a list of semaphore values, found {}", other.type_name()))),
                None => &[],
            };
            if values.len() != e.nsems() as usize {
                return Err(bad(format!("{} semaphore values for nsems = {}", values.len(), e.nsems())));
            }
            let mut raw = Vec::with_capacity((values.len() * 2).next_multiple_of(8));
            for (j, v) in values.iter().enumerate() {
                let n = match v {
                    Value::Number(t) => t.parse::<u16>().ok(),
                    _ => None,
                }
                .ok_or_else(|| EncodeJsonError::Encode(EncodeError::new(&format!("{xpath}[{j}]"), "expected a semaphore value 0..65535")))?;
                raw.extend_from_slice(&n.to_le_bytes());
            }
            raw.resize(raw.len().next_multiple_of(8), 0);
            w.write_raw(&raw)?;
        }
        Payload::IpcMsg => {
            let items = match truthy(extra) {
                Some(Value::Array(a)) => a.as_slice(),
                Some(other) => return Err(bad(format!("expected a list of [message, data, ...], found {}", other.type_name()))),
                None => &[],
            };
            if items.len() % 2 != 0 {
                return Err(bad("messages come in pairs of a message object and its base64 data".into()));
            }
            for (j, pair) in items.chunks_exact(2).enumerate() {
                let mpath = format!("{xpath}[{}]", 2 * j);
                let m = owned::IpcMsg::from_json_with(&pair[0], &mpath, unknown)?;
                let mut data = b64(&pair[1], &format!("{xpath}[{}]", 2 * j + 1))?;
                let body = m.to_bytes();
                w.write_raw(&(body.len() as u32).to_le_bytes())?;
                w.write_raw(&body)?;
                data.resize((m.msize as usize).next_multiple_of(8), 0);
                w.write_raw(&data)?;
            }
        }
        Payload::IpcShm => {
            let e = view::IpcShmEntry::parse(message).map_err(|e| bad(e.to_string()))?;
            // Modern images (in_pagemaps) carry no data here, whatever "extra" says.
            if let (false, Some(x)) = (e.in_pagemaps() == Some(true), truthy(extra)) {
                let mut data = b64(x, path)?;
                let size = usize::try_from(e.size()).map_err(|_| bad("segment size too large".into()))?;
                if data.len() < size {
                    return Err(bad(format!("{} bytes of data for a {size}-byte segment", data.len())));
                }
                data.truncate(size);
                data.resize(size.next_multiple_of(4), 0);
                w.write_raw(&data)?;
            }
        }
        Payload::None | Payload::Pagemap | Payload::GhostFile => {}
    }
    Ok(())
}

/// The queues of a TCP stream's `extra`.
const TCP_QUEUES: [&str; 2] = ["inq", "outq"];

/// An error of [`encode_json`].
#[derive(Debug)]
#[non_exhaustive]
pub enum EncodeJsonError {
    /// The input is not JSON; the error says where.
    Json(json_in::JsonError),
    /// Reading the input failed.
    Read(io::Error),
    /// The JSON is not a crit document of a known kind, or an entry does not fit its message;
    /// the error names the JSON path (`entries[3].vmas[0].start`).
    Encode(EncodeError),
    /// Writing to the destination failed.
    Io(io::Error),
}

impl From<EncodeError> for EncodeJsonError {
    fn from(e: EncodeError) -> Self {
        EncodeJsonError::Encode(e)
    }
}

impl From<json_src::SourceError> for EncodeJsonError {
    fn from(e: json_src::SourceError) -> Self {
        match e {
            json_src::SourceError::Read(e) => e.into(),
            json_src::SourceError::Encode(e) => EncodeJsonError::Encode(e),
        }
    }
}

impl From<json_in::ReadError> for EncodeJsonError {
    fn from(e: json_in::ReadError) -> Self {
        match e {
            json_in::ReadError::Json(e) => EncodeJsonError::Json(e),
            json_in::ReadError::Io(e) => EncodeJsonError::Read(e),
        }
    }
}

impl From<io::Error> for EncodeJsonError {
    fn from(e: io::Error) -> Self {
        EncodeJsonError::Io(e)
    }
}

impl std::fmt::Display for EncodeJsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeJsonError::Json(e) => write!(f, "invalid JSON: {e}"),
            EncodeJsonError::Read(e) => write!(f, "reading input: {e}"),
            EncodeJsonError::Encode(e) => e.fmt(f),
            EncodeJsonError::Io(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for EncodeJsonError {}
