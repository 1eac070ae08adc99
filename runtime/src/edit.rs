//! Typed entries, and editing an image: decode it whole into owned messages with their payloads,
//! change what you need, encode it back — byte-identical where nothing changed.
//!
//! ```
//! use criu_image::edit::OwnedImage;
//! use criu_image::proto::owned;
//! # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images/sleep");
//! let bytes = std::fs::read(dir.join("core-20292.img"))?;
//! let mut core = OwnedImage::<owned::CoreEntry>::decode(&bytes, Some("core-20292.img"))?;
//! assert_eq!(core.encode()?, bytes); // nothing changed: the same bytes
//! let tc = core.entries[0].message.tc.as_mut().expect("a main thread's core has a task core");
//! tc.comm = b"renamed".to_vec();
//! let edited = core.encode()?;
//! let again = OwnedImage::<owned::CoreEntry>::decode(&edited, None)?;
//! assert_eq!(again.entries[0].message.tc.as_ref().unwrap().comm, b"renamed");
//! # Ok::<(), criu_image::Error>(())
//! ```
//!
//! An entry's payload (pipe data, a socket packet, TCP queues, SysV data, a chunked ghost file's
//! chunks, ...) is kept as the raw bytes that follow its message in the image; the payload rule
//! of the kind says what they are ([`crate::image::Extra`]), and [`OwnedImage::encode`] checks
//! that the result frames as the kind requires (a `pipe_data_entry` whose `bytes` no longer
//! matches its payload is an error, not a corrupt image).

use std::fmt;

use criu_image_proto::support::fields::Message;
use criu_image_proto::support::wire::View;
use criu_image_proto::{KindEntry, owned};

use crate::image::{self, Head, Image, ImageWriter, Kind, Role};

/// What went wrong typing or editing an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// The image's framing or an entry is invalid.
    Image(image::Error),
    /// The image holds another kind than the message type asked for.
    WrongKind {
        /// What the image is.
        kind: Kind,
        /// The message type asked for.
        message: &'static str,
        /// The kinds whose entries are that message.
        expected: &'static [Kind],
    },
    /// The edited entries do not frame as the kind requires (a payload whose length no longer
    /// matches its entry, a pagemap without its head).
    Inconsistent(image::Error),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Image(e) => e.fmt(f),
            EditError::WrongKind { kind, message, expected } => {
                let names: Vec<&str> = expected.iter().map(|k| k.name()).collect();
                write!(f, "this is a {} image; {message} is the entry of {}", kind.name(), names.join(", "))
            }
            EditError::Inconsistent(e) => write!(f, "the edited image would not read back: {e}"),
        }
    }
}

impl std::error::Error for EditError {}

impl From<image::Error> for EditError {
    fn from(e: image::Error) -> Self {
        EditError::Image(e)
    }
}

fn want_kind<M: KindEntry>(kind: Kind) -> Result<(), EditError> {
    if M::is_entry_of(kind) {
        Ok(())
    } else {
        Err(EditError::WrongKind { kind, message: std::any::type_name::<M>(), expected: M::KINDS })
    }
}

impl<'a> Image<'a> {
    /// The entries as views of `V`, after checking that `V` is this image's entry message.
    /// Each item is the entry (index, offsets, payload) and its view, or the first framing error.
    /// A pagemap's head and a ghost file's chunks (not `V`) are skipped.
    pub fn typed<V: View<'a> + KindEntry>(&self) -> Result<impl Iterator<Item = Result<(image::Entry<'a>, V), image::Error>> + 'a, EditError> {
        want_kind::<V>(self.kind)?;
        Ok(self.entries().filter_map(|e| match e {
            Err(err) => Some(Err(err)),
            Ok(e) if e.role != Role::Entry => None,
            Ok(e) => Some(V::parse_at_depth(e.message, 0).map(|v| (e, v)).map_err(|d| image::Error {
                entry: Some(e.index),
                offset: e.message_offset + d.offset,
                field: d.path,
                kind: image::ErrorKind::Decode(d.kind),
            })),
        }))
    }
}

/// One entry of an [`OwnedImage`]: its message and the raw bytes that follow it.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedEntry<M> {
    /// The message.
    pub message: M,
    /// The payload bytes after the message, as they were in the image (empty for kinds without
    /// a payload). For a chunked ghost file, entry 0's payload holds every chunk.
    pub payload: Vec<u8>,
    /// The message's bytes as decoded, to write them back unchanged when the message is.
    original: Vec<u8>,
}

impl<M> OwnedEntry<M> {
    /// A new entry (to append), with its payload.
    pub fn new(message: M, payload: Vec<u8>) -> OwnedEntry<M> {
        OwnedEntry { message, payload, original: Vec::new() }
    }
}

/// An image decoded whole into owned entries of message `M`, to change and encode back.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedImage<M> {
    /// The image's kind.
    pub kind: Kind,
    /// Its head word (kept, so that an image of the v1 format is written back as it was).
    pub head: Head,
    /// A pagemap image's entry 0.
    pub pagemap_head: Option<owned::PagemapHead>,
    /// The entries in order.
    pub entries: Vec<OwnedEntry<M>>,
}

impl<M: Message + KindEntry + PartialEq> OwnedImage<M> {
    /// Decodes an image whose entries are `M` (checked against its kind; `file_name`, when given,
    /// refuses raw images by name as [`Image::parse`] does).
    pub fn decode(bytes: &[u8], file_name: Option<&str>) -> Result<OwnedImage<M>, EditError> {
        let img = Image::parse(bytes, file_name)?;
        img.to_owned_image()
    }

    /// Encodes the image: entries whose message did not change are written with their original
    /// bytes, others as protobuf-c writes them. The result is checked to frame as the kind
    /// requires.
    pub fn encode(&self) -> Result<Vec<u8>, EditError> {
        let mut w = ImageWriter::with_head(Vec::new(), self.head, self.kind).map_err(io_never)?;
        if let Some(h) = &self.pagemap_head {
            w.write_message(h).map_err(io_never)?;
        }
        for e in &self.entries {
            let bytes = e.message.to_bytes();
            let unchanged = bytes == e.original || (!e.original.is_empty() && M::decode(&e.original).is_ok_and(|m| m == e.message));
            w.write_entry(if unchanged { &e.original } else { &bytes }).map_err(io_never)?;
            w.write_raw(&e.payload).map_err(io_never)?;
        }
        let out = w.into_inner();
        let check = Image::parse(&out, None).map_err(EditError::Inconsistent)?;
        for e in check.entries() {
            e.map_err(EditError::Inconsistent)?;
        }
        Ok(out)
    }
}

/// Writing into a `Vec` cannot fail; an entry over 4 GiB is the one error `ImageWriter` gives.
fn io_never(e: std::io::Error) -> EditError {
    EditError::Inconsistent(image::Error {
        entry: None,
        offset: 0,
        field: String::new(),
        kind: image::ErrorKind::Payload(e.to_string()),
    })
}

impl Image<'_> {
    /// Decodes every entry into an owned `M` with its payload (see [`OwnedImage`]).
    pub fn to_owned_image<M: Message + KindEntry>(&self) -> Result<OwnedImage<M>, EditError> {
        want_kind::<M>(self.kind)?;
        let data = self.bytes();
        let mut pagemap_head = None;
        let mut entries: Vec<OwnedEntry<M>> = Vec::new();
        let all: Vec<image::Entry<'_>> = self.entries().collect::<Result<_, _>>()?;
        for (k, e) in all.iter().enumerate() {
            // The payload runs from the end of the message to the next entry's size word.
            let next = all.get(k + 1).map_or(data.len(), |n| n.offset);
            let payload = data[e.message_offset + e.message.len()..next].to_vec();
            match e.role {
                Role::PagemapHead => pagemap_head = Some(decode(e)?),
                Role::Entry => entries.push(OwnedEntry { message: decode(e)?, payload, original: e.message.to_vec() }),
                // A chunk belongs to the ghost file entry before it.
                Role::GhostChunk => {
                    if let Some(last) = entries.last_mut() {
                        last.payload.extend_from_slice(&data[e.offset..next]);
                    }
                }
            }
        }
        Ok(OwnedImage { kind: self.kind, head: self.head, pagemap_head, entries })
    }
}

fn decode<T: Message>(e: &image::Entry<'_>) -> Result<T, EditError> {
    T::decode(e.message).map_err(|d| {
        EditError::Image(image::Error {
            entry: Some(e.index),
            offset: e.message_offset + d.offset,
            field: d.path,
            kind: image::ErrorKind::Decode(d.kind),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use criu_image_proto::view;

    fn fixture(set: &str, name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images").join(set).join(name)).unwrap()
    }

    #[test]
    fn every_fixture_image_round_trips_unchanged() {
        // Payload kinds included: pipes, FIFO and socket data, a ghost file, SysV IPC, a pagemap.
        for (set, name) in [
            ("fdzoo", "pipes-data.img"),
            ("fdzoo", "fifo-data.img"),
            ("fdzoo", "sk-queues.img"),
            ("fdzoo", "ghost-file-1.img"),
            ("fdzoo", "pagemap-20321.img"),
            ("ipcns", "ipcns-msg-11.img"),
            ("ipcns", "ipcns-sem-11.img"),
            ("ipcns", "ipcns-shm-11.img"),
            ("sleep", "mm-20292.img"),
        ] {
            let b = fixture(set, name);
            let img = Image::parse(&b, Some(name)).unwrap();
            let out = match img.kind {
                Kind::PipesData | Kind::FifoData => img.to_owned_image::<owned::PipeDataEntry>().unwrap().encode(),
                Kind::SkQueues => img.to_owned_image::<owned::SkPacketEntry>().unwrap().encode(),
                Kind::GhostFile => img.to_owned_image::<owned::GhostFileEntry>().unwrap().encode(),
                Kind::Pagemap => img.to_owned_image::<owned::PagemapEntry>().unwrap().encode(),
                Kind::IpcnsMsg => img.to_owned_image::<owned::IpcMsgEntry>().unwrap().encode(),
                Kind::IpcnsSem => img.to_owned_image::<owned::IpcSemEntry>().unwrap().encode(),
                Kind::IpcnsShm => img.to_owned_image::<owned::IpcShmEntry>().unwrap().encode(),
                Kind::Mm => img.to_owned_image::<owned::MmEntry>().unwrap().encode(),
                k => panic!("{k:?}"),
            }
            .unwrap();
            assert!(out == b, "{set}/{name} changed on a round trip");
        }
    }

    #[test]
    fn owned_messages_encode_to_their_length_and_bytes() {
        // Nested messages of every size: a core's thread_info and registers (over 128 bytes:
        // a two-byte length prefix), a mm's VMAs (under), files.img's nested file kinds.
        fn check<M: Message>(b: &[u8], name: &str) {
            let img = Image::parse(b, Some(name)).unwrap();
            for e in img.entries() {
                let e = e.unwrap();
                let m: M = decode(&e).unwrap();
                let out = m.to_bytes();
                assert_eq!(m.encoded_len(), out.len(), "{name} entry {}", e.index);
                assert!(out == e.message, "{name} entry {} changed on a round trip", e.index);
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images");
        let mut seen = 0;
        for set in std::fs::read_dir(&root).unwrap() {
            let set = set.unwrap().path();
            if !set.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&set).unwrap() {
                let f = f.unwrap().path();
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                let b = std::fs::read(&f).unwrap();
                match name.split('-').next().unwrap() {
                    "core" => check::<owned::CoreEntry>(&b, &name),
                    "mm" => check::<owned::MmEntry>(&b, &name),
                    "files.img" => check::<owned::FileEntry>(&b, &name),
                    _ => continue,
                }
                seen += 1;
            }
        }
        assert!(seen > 20, "{seen} images");
    }

    #[test]
    fn the_wrong_message_type_is_refused_by_name() {
        let b = fixture("sleep", "mm-20292.img");
        let img = Image::parse(&b, None).unwrap();
        let e = img.to_owned_image::<owned::CoreEntry>().unwrap_err();
        assert!(matches!(e, EditError::WrongKind { kind: Kind::Mm, .. }), "{e}");
        assert!(e.to_string().starts_with("this is a MM image; "), "{e}");
        assert!(img.typed::<view::PstreeEntry<'_>>().is_err());
        let vmas: usize = img.typed::<view::MmEntry<'_>>().unwrap().map(|e| e.unwrap().1.vmas().len()).sum();
        assert!(vmas > 10);
    }

    #[test]
    fn an_edit_that_breaks_framing_is_an_error() {
        let b = fixture("fdzoo", "pipes-data.img");
        let mut img = OwnedImage::<owned::PipeDataEntry>::decode(&b, Some("pipes-data.img")).unwrap();
        img.entries[0].message.bytes += 1;
        // One more byte claimed than the payload holds: the next entry's size word would be read
        // as data.
        assert!(matches!(img.encode(), Err(EditError::Inconsistent(_))));
        img.entries[0].payload.push(b'!');
        let out = img.encode().unwrap();
        let again = OwnedImage::<owned::PipeDataEntry>::decode(&out, None).unwrap();
        assert_eq!(again.entries[0].payload.last(), Some(&b'!'));
    }
}
