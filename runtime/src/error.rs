//! The crate's umbrella error: every error a function of this crate returns converts into
//! [`Error`] with `?`, so an application can use one type.
//!
//! Each error's message is complete on its own — it names the file, the entry, the byte offset
//! and the field when they are known, and includes what a wrapped system error said — so
//! `source()` returns `None` throughout and `{:#}` (anyhow's chain) never prints a cause twice.
//! Match on the variants to tell kinds of failure apart.

use std::fmt;
use std::io;

use crate::checkpoint::CheckpointError;
use crate::edit::EditError;
use crate::image;
use crate::memory::MemError;

/// Any error of this crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file outside a checkpoint (an image given by path, an output).
    Io(io::Error),
    /// An image's framing or an entry is invalid.
    Image(image::Error),
    /// Opening or reading a checkpoint, or one of its images.
    Checkpoint(CheckpointError),
    /// Typing or editing an image.
    Edit(EditError),
    /// Reading a task's memory.
    Memory(MemError),
    /// Writing an image as crit's JSON.
    Decode(crate::crit::DecodeToError),
    /// Encoding crit's JSON to an image.
    Encode(crate::crit::EncodeJsonError),
    /// A search pattern.
    #[cfg(feature = "search")]
    Pattern(crate::memory::search::PatternError),
    /// Dumping a live process's memory.
    #[cfg(all(feature = "procmem", target_os = "linux"))]
    Procmem(crate::procmem::Error),
    /// Computing a file's cookie (build-id, checksum).
    #[cfg(all(feature = "cookie", target_os = "linux"))]
    Cookie(crate::cookie::CookieError),
    /// Checking a checkpoint's files against a filesystem.
    #[cfg(all(feature = "cookie", target_os = "linux"))]
    CheckFiles(crate::cookie::checkpoint::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Image(e) => e.fmt(f),
            Error::Checkpoint(e) => e.fmt(f),
            Error::Edit(e) => e.fmt(f),
            Error::Memory(e) => e.fmt(f),
            Error::Decode(e) => e.fmt(f),
            Error::Encode(e) => e.fmt(f),
            #[cfg(feature = "search")]
            Error::Pattern(e) => e.fmt(f),
            #[cfg(all(feature = "procmem", target_os = "linux"))]
            Error::Procmem(e) => e.fmt(f),
            #[cfg(all(feature = "cookie", target_os = "linux"))]
            Error::Cookie(e) => e.fmt(f),
            #[cfg(all(feature = "cookie", target_os = "linux"))]
            Error::CheckFiles(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

macro_rules! from {
    ($($(#[$m:meta])* $variant:ident($t:ty)),* $(,)?) => {$(
        $(#[$m])*
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$variant(e)
            }
        }
    )*};
}

from! {
    Io(io::Error),
    Image(image::Error),
    Checkpoint(CheckpointError),
    Edit(EditError),
    Memory(MemError),
    Decode(crate::crit::DecodeToError),
    Encode(crate::crit::EncodeJsonError),
    #[cfg(feature = "search")]
    Pattern(crate::memory::search::PatternError),
    #[cfg(all(feature = "procmem", target_os = "linux"))]
    Procmem(crate::procmem::Error),
    #[cfg(all(feature = "cookie", target_os = "linux"))]
    Cookie(crate::cookie::CookieError),
    #[cfg(all(feature = "cookie", target_os = "linux"))]
    CheckFiles(crate::cookie::checkpoint::Error),
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
