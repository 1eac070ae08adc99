//! Read, write, validate and explore CRIU checkpoint images.
//!
//! `criu-image` is what downstream crates depend on: it re-exports the generated schema types
//! ([`proto`]) and adds image framing, checkpoint directories, exploration, memory access, the
//! live-process memory reader ([`procmem`]) and file-content cookies ([`cookie`]).

pub use criu_image_proto as proto;

pub mod check;
pub mod checkpoint;
#[cfg(all(feature = "cookie", target_os = "linux"))]
pub mod cookie;
pub mod crit;
pub mod diff;
pub mod edit;
mod error;
pub mod explore;
pub mod image;
pub mod inspect;
pub mod memory;
pub mod model;
pub mod pagemap;
#[cfg(all(feature = "procmem", target_os = "linux"))]
pub mod page_server;
#[cfg(all(feature = "procmem", target_os = "linux"))]
pub mod procmem;
pub mod source;
pub mod units;

pub use error::{Error, Result};
