//! The generator behind `cargo xtask regen`: CRIU's `.proto` files and our TOML facts in, Rust
//! source out.
//!
//! Three stages, each testable on its own:
//! - [`load`]: protobuf-parse's pure parser (no `protoc`) → descriptors → [`model::Model`], with
//!   names resolved, fields in number order and the `(criu)` options merged;
//! - [`emit`]: the model → token streams → formatted source (prettyplease), deterministic;
//! - [`generate`]: both, returning `(path, contents)` pairs for `generated/src/gen/`.
//!
//! This crate does no I/O besides reading its inputs; writing and staleness checks are xtask's.

use std::fmt;
use std::path::{Path, PathBuf};

pub mod emit;
pub mod ident;
pub mod load;
pub mod model;

/// A generator error: which input or schema element, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Generates every file of `generated/src/gen/` from the schema directory `proto_dir`.
/// Paths are relative to `generated/src/gen/`, sorted.
pub fn generate(proto_dir: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let model = load::load(proto_dir)?;
    emit::emit(&model)
}
