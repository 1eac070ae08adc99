//! Reading the entries of one image for the model: the image's kind checked against what the
//! file name says it holds, each message parsed exactly once.

use criu_image_proto::support::wire::View;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::image::{self, Head, Image, Kind, Payload};

pub(crate) fn image_error(file: &str, error: image::Error) -> CheckpointError {
    CheckpointError::Image { file: file.to_string(), error }
}

/// An error at `entry` of `file` that framing cannot see (an entry inconsistent with the image).
pub(crate) fn entry_error(file: &str, entry: Option<usize>, offset: usize, message: String) -> CheckpointError {
    image_error(file, image::Error { entry, offset, field: String::new(), kind: image::ErrorKind::Payload(message) })
}

/// Parses `name` and checks that it holds `kind`; `Ok(None)` when the file is absent.
pub(crate) fn typed_image<'a>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<Image<'a>>, CheckpointError> {
    let Some(img) = ckpt.image(name)? else { return Ok(None) };
    if img.kind != kind {
        return Err(entry_error(
            name,
            None,
            0,
            format!("holds a {} image where a {} image belongs", img.kind.info().name, kind.info().name),
        ));
    }
    Ok(Some(img))
}

/// One entry's message bytes and where they are.
#[derive(Clone, Copy)]
pub(crate) struct Message<'a> {
    pub index: usize,
    /// Offset of the message bytes in the image.
    pub offset: usize,
    pub bytes: &'a [u8],
}

impl<'a> Message<'a> {
    /// The view of this message, checked once; errors name the entry, byte and field.
    pub fn parse<V: View<'a>>(&self, file: &str) -> Result<V, CheckpointError> {
        V::parse_at_depth(self.bytes, 0).map_err(|e| self.error(file, e))
    }

    /// The view of this message with only its own fields checked ([`View::parse_level`]); the
    /// caller checks the nested messages it reads and reports them with [`Message::error`].
    pub fn parse_level<V: View<'a>>(&self, file: &str) -> Result<V, CheckpointError> {
        V::parse_level(self.bytes).map_err(|e| self.error(file, e))
    }

    /// A decoding error inside this message as an error of `file`'s entry.
    pub fn error(&self, file: &str, e: criu_image_proto::support::DecodeError) -> CheckpointError {
        image_error(file, image::Error { entry: Some(self.index), offset: self.offset + e.offset, field: e.path, kind: image::ErrorKind::Decode(e.kind) })
    }
}

/// The messages of an image whose entries carry no payload, framed without decoding them: each
/// view is then parsed exactly once, by the caller ([`Image::entries`] decodes every message to
/// check it, which would double the cost on an `mm` image of tens of thousands of VMAs).
pub(crate) fn messages<'a>(img: &Image<'a>, file: &str) -> Result<Vec<Message<'a>>, CheckpointError> {
    debug_assert!(matches!(img.kind.info().payload, Payload::None | Payload::Pagemap));
    let data = img.bytes();
    let mut pos = if img.head == Head::None { 4 } else { 8 };
    let mut out = Vec::new();
    while pos < data.len() {
        let index = out.len();
        let truncated = |at: usize, needed: u64| {
            image_error(
                file,
                image::Error {
                    entry: Some(index),
                    offset: at,
                    field: String::new(),
                    kind: image::ErrorKind::Truncated { needed, available: (data.len() - at) as u64 },
                },
            )
        };
        let Some(w) = data.get(pos..pos + 4) else { return Err(truncated(pos, 4)) };
        let size = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize;
        let Some(bytes) = data.get(pos + 4..).and_then(|rest| rest.get(..size)) else {
            return Err(truncated(pos + 4, size as u64));
        };
        out.push(Message { index, offset: pos + 4, bytes });
        pos += 4 + size;
    }
    Ok(out)
}

/// Every entry of an image of `kind` with its index, as views; `Ok(None)` when the file is absent.
pub(crate) fn all_entries<'a, V: View<'a>>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<Vec<(usize, V)>>, CheckpointError> {
    let Some(img) = typed_image(ckpt, name, kind)? else { return Ok(None) };
    let msgs = messages(&img, name)?;
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        out.push((m.index, m.parse(name)?));
    }
    Ok(Some(out))
}

/// The first entry of a one-entry image as message bytes; `Ok(None)` when the file is absent, an
/// error when it has no entry.
pub(crate) fn first_message<'a>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<Message<'a>>, CheckpointError> {
    let Some(img) = typed_image(ckpt, name, kind)? else { return Ok(None) };
    match messages(&img, name)?.first() {
        None => Err(entry_error(name, None, img.bytes().len(), "has no entry, and CRIU writes one".into())),
        Some(m) => Ok(Some(*m)),
    }
}

/// The first entry of a one-entry image; `Ok(None)` when the file is absent, an error when it has
/// no entry.
pub(crate) fn first_entry<'a, V: View<'a>>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<V>, CheckpointError> {
    first_message(ckpt, name, kind)?.map(|m| m.parse(name)).transpose()
}
