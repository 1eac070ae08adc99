//! CRIU's image schema as Rust: zero-copy views, owned messages, crit-compatible JSON and validators.
//!
//! Everything under `src/gen/` (module [`schema`]) is written by `cargo xtask regen` from `proto/` and must not be edited by
//! hand; [`support`] is the small hand-written runtime that generated code calls (wire reading and
//! writing, JSON output and input, crit's value formats).

#![deny(missing_docs)]

pub mod support;

#[rustfmt::skip]
#[allow(clippy::all, unused_imports, non_camel_case_types)]
#[path = "gen/mod.rs"]
pub mod schema;

pub use schema::{flags, kernel, kinds, owned, view};
pub use support::files::FilePattern;
pub use support::flags::{FlagName, FlagNames};
pub use support::kind::KindEntry;
pub use support::{DecodeError, DecodeErrorKind, EncodeError, UnknownFields};
