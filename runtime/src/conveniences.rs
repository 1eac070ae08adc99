//! Small conveniences found missing while writing `runtime/examples/`: each is a shortcut for
//! something the crate could already do in more lines.

use criu_image_proto::support::wire::View;

use crate::checkpoint::CheckpointError;
use crate::error::Error;
use crate::image::{self, Entry};
use crate::memory::MemError;

impl<'a> Entry<'a> {
    /// The entry's message as a view of `V` (`proto::view::PagemapHead`, ...). Errors name this
    /// entry, the byte offset in the image and the field, like [`image::Image::entries`]'s, and
    /// convert into [`Error`] with `?` (a view's own `parse` gives a `DecodeError` that knows
    /// neither the entry nor where the message is in the image).
    ///
    /// [`image::Image::typed`] does this for every entry of the kind's message; this is for an
    /// entry of another role (a pagemap's head) or a message chosen by hand.
    ///
    /// ```
    /// use criu_image::image::{Image, Role};
    /// use criu_image::proto::view;
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images/sleep");
    /// let bytes = std::fs::read(dir.join("pagemap-20292.img"))?;
    /// let img = Image::parse(&bytes, Some("pagemap-20292.img"))?;
    /// let head = img.entries().next().expect("a pagemap has a head")?;
    /// assert_eq!(head.role, Role::PagemapHead);
    /// assert_eq!(head.view::<view::PagemapHead<'_>>()?.pages_id(), 1);
    /// # Ok::<(), criu_image::Error>(())
    /// ```
    pub fn view<V: View<'a>>(&self) -> Result<V, image::Error> {
        V::parse_at_depth(self.message, 0).map_err(|d| image::Error {
            entry: Some(self.index),
            offset: self.message_offset + d.offset,
            field: d.path,
            kind: image::ErrorKind::Decode(d.kind),
        })
    }
}

impl Error {
    /// The checkpoint error inside, wherever it is wrapped: reading a task's memory
    /// ([`MemError::Checkpoint`]) or checking files (`cookie::checkpoint::Error`) fails
    /// with the checkpoint's own error when an image is missing or corrupt. Match on the result
    /// to tell [`CheckpointError::Missing`] from [`CheckpointError::Image`] without unwrapping
    /// each layer.
    ///
    /// ```
    /// use criu_image::checkpoint::{Checkpoint, CheckpointError};
    /// use criu_image::memory::Memory;
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images/sleep");
    /// let ckpt = Checkpoint::open(&dir)?;
    /// // Reading memory fails with a memory error that wraps the checkpoint's.
    /// let e = criu_image::Error::from(Memory::open(&ckpt).task(20292)?.read(0, 1).unwrap_err());
    /// assert!(e.checkpoint_error().is_none()); // address 0 is unmapped: not the checkpoint's fault
    /// let e = criu_image::Error::from(Checkpoint::open("/nonexistent".as_ref()).unwrap_err());
    /// assert!(matches!(e.checkpoint_error(), Some(CheckpointError::Io { .. })));
    /// # Ok::<(), criu_image::Error>(())
    /// ```
    pub fn checkpoint_error(&self) -> Option<&CheckpointError> {
        match self {
            Error::Checkpoint(e) | Error::Memory(MemError::Checkpoint(e)) => Some(e),
            #[cfg(all(feature = "cookie", target_os = "linux"))]
            Error::CheckFiles(crate::cookie::checkpoint::Error::Checkpoint(e)) => Some(e),
            _ => None,
        }
    }
}
