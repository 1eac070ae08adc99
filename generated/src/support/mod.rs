//! The hand-written runtime that generated code calls.

mod error;
pub mod fields;
pub mod files;
pub mod flags;
pub mod kind;
pub mod json;
pub mod json_fast;
pub mod json_in;
pub mod json_src;
pub(crate) mod open_enum;
pub mod wire;

pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use wire::UnknownFields;
