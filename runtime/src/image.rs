//! Image framing: `[head magic] magic {u32 size, message, [payload]}*`, for every kind.
//!
//! [`Image::parse`] recognises the kind from its magic words; [`Image::entries`] walks the entries
//! with each kind's payload rule (`proto/kinds.toml`), checking every length against what the
//! input holds before slicing, so a truncated or corrupted image gives an [`Error`] naming the
//! entry, byte offset and field, never a panic. Nothing is copied: entries and payloads borrow the
//! input (a mapped file, a tar member, a buffer).
//!
//! [`ImageWriter`] streams the reverse.

use std::fmt;
use std::io::{self, Write};

use criu_image_proto::DecodeError;
use criu_image_proto::schema::kinds::{IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, RAW_KINDS};
pub use criu_image_proto::schema::kinds::{Head, Kind, KindInfo, Payload};
use criu_image_proto::support::fields::Message;
use criu_image_proto::view;

/// What went wrong, with where: entry index (0-based, as in JSON `entries[i]`), byte offset in the
/// image, and the field path inside the entry's message when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The entry (0-based; a pagemap's head is entry 0), `None` for the image's magic words.
    pub entry: Option<usize>,
    /// The byte offset in the image where the problem is (of the size word, message byte or
    /// payload that does not fit or does not decode).
    pub offset: usize,
    /// The field path inside the entry's message (`vmas[3].start`), empty when the problem is
    /// the framing rather than a field.
    pub field: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with an image (see [`Error`] for where).
///
/// A truncated or decode error means the file is damaged (or was cut short while copied):
/// there is nothing to do but dump again or find a good copy. An unknown magic is either not an
/// image at all or one from a newer CRIU. A raw image is not an error of the file: it holds data
/// without framing (`pages-*.img`), which is read through the pagemap instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The image is shorter than its magic.
    NoMagic,
    /// The magic is not one CRIU writes (or it is a raw image).
    UnknownMagic(u32),
    /// The file's name says it is an image of this kind, but its magic is not that kind's.
    WrongMagic {
        /// The magic found.
        found: u32,
        /// The kind the file name says.
        expected: Kind,
    },
    /// A raw image (pages, ip dumps, ...) recognised by its file name.
    Raw(&'static str),
    /// A checkpoint archive (tar, tar.gz, tar.zst) rather than one image, recognised by its first
    /// bytes.
    Archive(crate::checkpoint::Format),
    /// An entry's size word or body, or a payload, runs past the end of the image.
    Truncated {
        /// Bytes the size word or payload rule asks for.
        needed: u64,
        /// Bytes the image still holds from that point.
        available: u64,
    },
    /// The message bytes are malformed.
    Decode(criu_image_proto::DecodeErrorKind),
    /// A payload is inconsistent with its entry.
    Payload(String),
}

impl Error {
    fn at(entry: Option<usize>, offset: usize, kind: ErrorKind) -> Self {
        Error { entry, offset, field: String::new(), kind }
    }
    fn decode(entry: usize, message_offset: usize, e: DecodeError) -> Self {
        Error { entry: Some(entry), offset: message_offset + e.offset, field: e.path, kind: ErrorKind::Decode(e.kind) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.entry {
            write!(f, "entry {i}, ")?;
        }
        write!(f, "byte {}", self.offset)?;
        if !self.field.is_empty() {
            write!(f, ", field {}", self.field)?;
        }
        f.write_str(": ")?;
        match &self.kind {
            ErrorKind::NoMagic => f.write_str("too short to hold an image magic"),
            ErrorKind::UnknownMagic(m) => write!(
                f,
                "unknown magic {m:#x}: not a CRIU image (or an image of raw data, like pages-*.img)"
            ),
            ErrorKind::WrongMagic { found, expected } => write!(
                f,
                "the magic is {found:#x}, but a file of this name is a {} image (magic {:#x}): the image is damaged, or renamed",
                expected.name(),
                expected.info().magic
            ),
            ErrorKind::Raw(name) => write!(
                f,
                "this is a raw {name} image (no magic, not protobuf); crit can only decode protobuf images"
            ),
            ErrorKind::Archive(format) => write!(f, "this is a {format} archive, not one image"),
            ErrorKind::Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} bytes, {available} remain (the image is cut short)")
            }
            ErrorKind::Decode(k) => write!(f, "corrupt: {k} (not valid protobuf)"),
            ErrorKind::Payload(m) => f.write_str(m),
        }
    }
}

impl Error {
    /// What it means for a restore and what to try, for people (one line).
    pub fn hint(&self) -> &'static str {
        match &self.kind {
            ErrorKind::NoMagic | ErrorKind::Truncated { .. } => {
                "CRIU's restore fails on a cut-short image; copy the checkpoint again, or dump again (dump.log says whether CRIU finished writing)"
            }
            ErrorKind::Decode(_) | ErrorKind::Payload(_) | ErrorKind::WrongMagic { .. } => {
                "CRIU's restore fails on a damaged image; copy the checkpoint again, or dump again"
            }
            ErrorKind::UnknownMagic(_) => "crit decodes CRIU's protobuf images (*.img with a magic); pages-*.img and the ip/nft dumps hold raw data",
            ErrorKind::Archive(_) => {
                "`crit inspect ARCHIVE` and `crit x ARCHIVE VIEW` read it as it is; to decode one image, unpack it (tar -xf) and decode the member"
            }
            ErrorKind::Raw(_) => "raw images have no entries to decode: `crit mem` and `crit search` read pages, `crit inspect` the ip dumps",
        }
    }
}

impl std::error::Error for Error {}

/// Checks a file name against the raw-image patterns of `proto/kinds.toml`.
pub fn raw_kind_by_name(file_name: &str) -> Option<&'static str> {
    RAW_KINDS.iter().find(|r| r.files.iter().any(|p| p.matches(file_name))).map(|r| r.name)
}

/// The kind whose file-name pattern matches `file_name`, if any.
pub fn kind_by_name(file_name: &str) -> Option<Kind> {
    Kind::from_file_name(file_name).map(|(k, _)| k)
}

/// Matches CRIU's printf-style file patterns: `%u %lu %d %ld` decimal (with `-` for `%d`), `%x`
/// lower-case hex; everything else literally (see [`criu_image_proto::FilePattern`]).
pub fn pattern_matches(pattern: &'static str, name: &str) -> bool {
    criu_image_proto::FilePattern::new(pattern).matches(name)
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// An image: its kind and entries over borrowed bytes.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// The kind its magic says it is (`proto/kinds.toml`: magic, file names, entry message,
    /// payload rule).
    pub kind: Kind,
    /// Its head word: [`Head::Common`] or [`Head::Service`] before the magic, or
    /// [`Head::None`] (`inventory.img`, and every image of the v1 format).
    pub head: Head,
    data: &'a [u8],
    /// Offset of the first entry.
    start: usize,
}

impl<'a> Image<'a> {
    /// Recognises an image by its magic. With `file_name`, raw images are refused by name first
    /// (page data can begin with anything, including a valid magic).
    pub fn parse(data: &'a [u8], file_name: Option<&str>) -> Result<Self, Error> {
        if let Some(raw) = file_name.and_then(raw_kind_by_name) {
            return Err(Error::at(None, 0, ErrorKind::Raw(raw)));
        }
        let first = u32_at(data, 0).ok_or(Error::at(None, 0, ErrorKind::NoMagic))?;
        let (head, magic, start) = match first {
            IMG_COMMON_MAGIC | IMG_SERVICE_MAGIC => {
                let head = if first == IMG_COMMON_MAGIC { Head::Common } else { Head::Service };
                (head, u32_at(data, 4).ok_or(Error::at(None, 4, ErrorKind::NoMagic))?, 8)
            }
            // inventory.img, and every image of the v1 format, have no head word.
            m => (Head::None, m, 4),
        };
        let named = file_name.and_then(kind_by_name);
        let kind = match Kind::from_magic(magic) {
            Some(k) => k,
            None => {
                let kind = match named {
                    Some(expected) => ErrorKind::WrongMagic { found: magic, expected },
                    None => match crate::checkpoint::detect_format(data) {
                        Some(format) => return Err(Error::at(None, 0, ErrorKind::Archive(format))),
                        None => ErrorKind::UnknownMagic(magic),
                    },
                };
                return Err(Error::at(None, start - 4, kind));
            }
        };
        Ok(Image { kind, head, data, start })
    }

    /// The whole image's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Entries in order, with their payloads.
    pub fn entries(&self) -> Entries<'a> {
        Entries { kind: self.kind, data: self.data, pos: self.start, index: 0, ghost_chunked: false, done: false, checked: false }
    }

    /// Entries again after a walk of [`Image::entries`] went to the end without an error: the
    /// framing is still checked, but messages without a payload rule are not validated a second
    /// time (their views are then read with `trusted`, which only scans). On an image that was
    /// not walked first, an invalid message gives wrong values, never a panic or an out-of-bounds
    /// read; callers that cannot promise the walk use [`Image::entries`].
    pub(crate) fn entries_checked(&self) -> Entries<'a> {
        Entries { checked: true, ..self.entries() }
    }
}

/// What an entry's message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The kind's entry message.
    Entry,
    /// `pagemap_head`, entry 0 of a pagemap image.
    PagemapHead,
    /// `ghost_chunk_entry`, after a chunked ghost file's `ghost_file_entry`.
    GhostChunk,
}

/// The raw data after an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra<'a> {
    /// The kind has no payload after its entries (most kinds).
    None,
    /// Pipe and FIFO data, a socket packet, a ghost file's content or chunk, BPF map keys and
    /// values: bytes shown as one base64 string.
    Bytes(&'a [u8]),
    /// A TCP stream's receive and send queues.
    Tcp {
        /// The receive queue (`inq_len` bytes).
        inq: &'a [u8],
        /// The send queue (`outq_len` bytes).
        outq: &'a [u8],
    },
    /// Semaphore values (host-endian u16, `nsems` of them) and the zero padding after them.
    Sem {
        /// `2 * nsems` bytes: the values.
        values: &'a [u8],
        /// The values and the padding to 8 bytes, as the image holds them.
        padded: &'a [u8],
    },
    /// `qnum` SysV messages: each `u32 size, ipc_msg, data padded to 8`.
    Msgs {
        /// The records, as the image holds them (iterate with [`ipc_msgs`]).
        records: &'a [u8],
        /// How many (`qnum`).
        count: u32,
    },
    /// A SysV shm segment's data (legacy images), or none when it lives in a pagemap.
    Shm {
        /// The segment's bytes (`size` of them), empty when `in_pagemaps`.
        data: &'a [u8],
        /// The segment's size in bytes (`ipc_shm_entry.size`).
        size: u64,
        /// Whether the data is in `pagemap-shmem-<shmid>.img` and its pages file instead
        /// (every CRIU since 3.x).
        in_pagemaps: bool,
    },
}

/// One entry: its message bytes and what follows them.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// Its index (0-based, as in crit's JSON `entries[i]`; a pagemap's head is entry 0).
    pub index: usize,
    /// Offset of the entry's size word in the image.
    pub offset: usize,
    /// Which message it is: the kind's entry, a pagemap's head, or a ghost file's chunk.
    pub role: Role,
    /// The protobuf message bytes (already checked to decode as the role's message; parse
    /// them with the view type, e.g. `proto::view::CoreEntry::parse`).
    pub message: &'a [u8],
    /// Offset of the message bytes in the image.
    pub message_offset: usize,
    /// The payload after the message, by the kind's payload rule.
    pub extra: Extra<'a>,
    /// Offset of the extra bytes.
    pub extra_offset: usize,
}

/// Iterator over an image's entries; stops after the first error.
#[derive(Clone)]
pub struct Entries<'a> {
    kind: Kind,
    data: &'a [u8],
    pos: usize,
    index: usize,
    ghost_chunked: bool,
    done: bool,
    /// See [`Image::entries_checked`].
    checked: bool,
}

impl<'a> Entries<'a> {
    /// Checks the entries this walk has not reached yet, every message validated (the walk
    /// itself is not moved): what [`Image::entries`] would find in them.
    pub(crate) fn check_rest(&self) -> Result<(), Error> {
        for e in (Entries { checked: false, ..self.clone() }) {
            e?;
        }
        Ok(())
    }

    /// The byte offset in the image of the next entry.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: u64, what: Option<usize>) -> Result<&'a [u8], Error> {
        let available = (self.data.len() - self.pos) as u64;
        if n > available {
            return Err(Error::at(what, self.pos, ErrorKind::Truncated { needed: n, available }));
        }
        let s = &self.data[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, Error> {
        if self.pos == self.data.len() {
            return Ok(None);
        }
        let i = self.index;
        let offset = self.pos;
        let size = self.take(4, Some(i))?;
        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
        let message_offset = self.pos;
        let message = self.take(u64::from(size), Some(i))?;
        let dec = |e: DecodeError| Error::decode(i, message_offset, e);
        let mut role = Role::Entry;
        let extra_offset = self.pos;
        let extra = match self.kind.info().payload {
            Payload::None => {
                if !self.checked {
                    self.kind.check_entry(message).map_err(dec)?;
                }
                Extra::None
            }
            Payload::Pagemap => {
                if i == 0 {
                    role = Role::PagemapHead;
                    view::PagemapHead::parse(message).map_err(dec)?;
                } else if !self.checked {
                    view::PagemapEntry::parse(message).map_err(dec)?;
                }
                Extra::None
            }
            Payload::PipeData => {
                let e = view::PipeDataEntry::parse(message).map_err(dec)?;
                Extra::Bytes(self.take(u64::from(e.bytes()), Some(i))?)
            }
            Payload::SkQueue => {
                let e = view::SkPacketEntry::parse(message).map_err(dec)?;
                Extra::Bytes(self.take(u64::from(e.length()), Some(i))?)
            }
            Payload::TcpStream => {
                let e = view::TcpStreamEntry::parse(message).map_err(dec)?;
                let inq = self.take(u64::from(e.inq_len()), Some(i))?;
                let outq = self.take(u64::from(e.outq_len()), Some(i))?;
                Extra::Tcp { inq, outq }
            }
            Payload::BpfmapData => {
                let e = view::BpfmapDataEntry::parse(message).map_err(dec)?;
                Extra::Bytes(self.take(u64::from(e.keys_bytes()) + u64::from(e.values_bytes()), Some(i))?)
            }
            Payload::IpcSem => {
                let e = view::IpcSemEntry::parse(message).map_err(dec)?;
                let n = 2 * u64::from(e.nsems());
                let padded = self.take(n.next_multiple_of(8), Some(i))?;
                Extra::Sem { values: &padded[..n as usize], padded }
            }
            Payload::IpcShm => {
                let e = view::IpcShmEntry::parse(message).map_err(dec)?;
                if e.in_pagemaps() == Some(true) {
                    Extra::Shm { data: &[], size: e.size(), in_pagemaps: true }
                } else {
                    let padded = self.take(e.size().checked_next_multiple_of(4).unwrap_or(u64::MAX), Some(i))?;
                    Extra::Shm { data: &padded[..e.size() as usize], size: e.size(), in_pagemaps: false }
                }
            }
            Payload::IpcMsg => {
                let e = view::IpcMsgEntry::parse(message).map_err(dec)?;
                let start = self.pos;
                for m in 0..e.qnum() {
                    let at = self.pos;
                    let len = self.take(4, Some(i))?;
                    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
                    let body_at = self.pos;
                    let body = self.take(u64::from(len), Some(i))?;
                    let msg = view::IpcMsg::parse(body).map_err(|e| {
                        let mut err = Error::decode(i, body_at, e);
                        err.field = format!("extra[{m}]{}{}", if err.field.is_empty() { "" } else { "." }, err.field);
                        err
                    })?;
                    let _ = at;
                    self.take(u64::from(msg.msize()).next_multiple_of(8), Some(i))?;
                }
                Extra::Msgs { records: &self.data[start..self.pos], count: e.qnum() }
            }
            Payload::GhostFile => {
                if i == 0 {
                    let e = view::GhostFileEntry::parse(message).map_err(dec)?;
                    if e.chunks() == Some(true) {
                        self.ghost_chunked = true;
                        Extra::None
                    } else {
                        // Not chunked: the file's content runs to the end of the image.
                        let rest = (self.data.len() - self.pos) as u64;
                        Extra::Bytes(self.take(rest, Some(i))?)
                    }
                } else if self.ghost_chunked {
                    role = Role::GhostChunk;
                    let c = view::GhostChunkEntry::parse(message).map_err(dec)?;
                    Extra::Bytes(self.take(c.len(), Some(i))?)
                } else {
                    return Err(Error::at(Some(i), offset, ErrorKind::Payload("a ghost file that is not chunked has one entry".into())));
                }
            }
        };
        self.index += 1;
        Ok(Some(Entry { index: i, offset, role, message, message_offset, extra, extra_offset }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Iterates the SysV messages of an [`Extra::Msgs`] (already checked by [`Entries`]).
pub fn ipc_msgs(records: &[u8]) -> impl Iterator<Item = (view::IpcMsg<'_>, &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let len = u32_at(records, pos)? as usize;
        let body = records.get(pos + 4..pos + 4 + len)?;
        let msg = view::IpcMsg::trusted(body);
        let data_at = pos + 4 + len;
        let size = msg.msize() as usize;
        let data = records.get(data_at..data_at + size)?;
        pos = data_at + size.next_multiple_of(8);
        Some((msg, data))
    })
}

/// Streams an image: head and magic words, then entries (`u32 size` + message) and raw payloads.
pub struct ImageWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> ImageWriter<W> {
    /// Writes the magic words of `kind` (the head word as CRIU writes it for that kind).
    pub fn new(out: W, kind: Kind) -> io::Result<Self> {
        let mut w = ImageWriter { out, buf: Vec::new() };
        w.write_magic(kind.info().head, kind)?;
        Ok(w)
    }

    /// Writes magic words with an explicit head word (to reproduce v1 images without one).
    pub fn with_head(out: W, head: Head, kind: Kind) -> io::Result<Self> {
        let mut w = ImageWriter { out, buf: Vec::new() };
        w.write_magic(head, kind)?;
        Ok(w)
    }

    fn write_magic(&mut self, head: Head, kind: Kind) -> io::Result<()> {
        match head {
            Head::None => {}
            Head::Common => self.out.write_all(&IMG_COMMON_MAGIC.to_le_bytes())?,
            Head::Service => self.out.write_all(&IMG_SERVICE_MAGIC.to_le_bytes())?,
        }
        self.out.write_all(&kind.info().magic.to_le_bytes())
    }

    /// Writes one entry from an owned message.
    pub fn write_message<M: Message>(&mut self, m: &M) -> io::Result<()> {
        self.buf.clear();
        m.encode(&mut self.buf);
        let n = u32::try_from(self.buf.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "entry larger than 4 GiB"))?;
        self.out.write_all(&n.to_le_bytes())?;
        self.out.write_all(&self.buf)
    }

    /// Writes one entry from already-encoded message bytes.
    pub fn write_entry(&mut self, message: &[u8]) -> io::Result<()> {
        let n = u32::try_from(message.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "entry larger than 4 GiB"))?;
        self.out.write_all(&n.to_le_bytes())?;
        self.out.write_all(message)
    }

    /// Writes payload bytes after an entry.
    pub fn write_raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)
    }

    /// Flushes the destination.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Gives the destination back. The writer keeps no bytes of its own (each entry goes to
    /// `W` as it is written), so nothing is lost; a buffering `W` still needs its own flush.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("core-%u.img", "core-123.img"));
        assert!(!pattern_matches("core-%u.img", "core-.img"));
        assert!(!pattern_matches("core-%u.img", "core-12a.img"));
        assert!(pattern_matches("pagemap-%lu.img", "pagemap-5.img"));
        assert!(!pattern_matches("pagemap-%lu.img", "pagemap-shmem-5.img"));
        assert!(pattern_matches("pagemap-shmem-%lu.img", "pagemap-shmem-5.img"));
        assert!(pattern_matches("ghost-file-%x.img", "ghost-file-1f.img"));
        assert!(pattern_matches("tmpfs-dev-%u.tar.gz.img", "tmpfs-dev-33.tar.gz.img"));
        assert!(pattern_matches("stats-dump", "stats-dump"));
        assert_eq!(raw_kind_by_name("pages-3.img"), Some("PAGES"));
        assert_eq!(raw_kind_by_name("pagemap-3.img"), None);
        assert_eq!(kind_by_name("pagemap-shmem-3.img"), Some(Kind::Pagemap));
        assert_eq!(kind_by_name("inventory.img"), Some(Kind::Inventory));
    }
}
