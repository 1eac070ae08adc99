//! Read, check, explore and edit CRIU checkpoints: the images `criu dump` writes, the processes
//! they describe, and those processes' memory. Dump a live process's memory in CRIU's format;
//! compute and check the file cookies (ELF build-id, CRC32C) CRIU validates files with.
//!
//! This is the library under the `crit` command of this workspace (a byte-identical, faster
//! CRIU crit). The schema types it stands on — zero-copy views, owned messages, crit's JSON —
//! are generated from CRIU's `.proto` files and re-exported as [`proto`].
//!
//! ```
//! use criu_image::checkpoint::Checkpoint;
//! use criu_image::memory::quote_args;
//! use criu_image::model::TaskState;
//!
//! # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images/proctree");
//! // A real CRIU 4.2 dump of `bash tree.sh`: six processes on three levels.
//! let ckpt = Checkpoint::open(&dir)?;
//! for p in ckpt.processes()?.iter() {
//!     let state = p.state().map_or("?".to_string(), |s| s.to_string()); // core-<pid>.img
//!     let argv = p.cmdline()?; // read from the task's memory: pagemap + pages
//!     println!("{:>6} {:>6} {state:<7} {}", p.pid(), p.ppid(), quote_args(&argv));
//! }
//!
//! let root = ckpt.process(20374)?.expect("pstree.img has the root task");
//! assert_eq!(root.state(), Some(TaskState::ALIVE));
//! assert_eq!(root.comm(), Some(&b"bash"[..]));
//! assert_eq!(root.cmdline()?, [&b"/bin/bash"[..], b"/tmp/criu-fixture/bin/tree.sh"]);
//! assert_eq!(root.children().map(|c| c.pid()).collect::<Vec<_>>(), [20375, 20376, 20377, 20378]);
//!
//! // One VMA, and how many of its pages the dump holds.
//! let stack = root.vmas()?.iter().find(|v| v.name() == b"[stack]").expect("a stack");
//! let pagemap = root.pagemap()?.expect("pagemap-20374.img");
//! assert!(pagemap.pages_in(stack.start, stack.end) > 0);
//! # Ok::<(), criu_image::Error>(())
//! ```
//!
//! More in `runtime/examples/` (run with `cargo run -p criu-image --example NAME -- ARGS`):
//! `processes` (state and command line), `vmas` (names and resident pages), `fds` (typed file
//! descriptors), `read_memory` (bytes at an address), `edit_image` (change a field, write the
//! image back), `pagemap_loop` (a loop over pagemap entries that allocates nothing), `archive`
//! (the same listing on a `.tar.gz`), `errors` (telling a missing image from a corrupt one),
//! `cookies` (build-id and CRC32C) and `dump_live` (dump a running process and read it back).
//!
//! # Layers
//!
//! Each layer uses only the ones above it; pick the highest that answers your question.
//!
//! | layer | module | what it gives |
//! |---|---|---|
//! | schema | [`proto`] | `proto::view::X::parse(bytes)`: a message checked once, accessors that borrow and cannot fail; `proto::owned::X`: plain structs to build and encode; flags and kernel constants as open newtypes ([`proto::flags`], [`proto::kernel`]) |
//! | framing | [`image`] | one image file: [`image::Image::parse`] finds its kind by magic; [`Image::entries`](image::Image::entries) walks `u32 size, message, payload`; [`Image::typed`](image::Image::typed) gives the entries as views of the kind's message; [`image::ImageWriter`] writes |
//! | editing | [`edit`] | [`edit::OwnedImage`]: decode a whole image into owned messages with their payloads, change them, encode it back (byte-identical where nothing changed) |
//! | crit's document | [`crit`] | `crit decode`/`encode`/`info`/`show`: an image as crit's JSON and back |
//! | checkpoint | [`checkpoint`] | [`checkpoint::Checkpoint`]: a dump directory or a Podman/CRI-O/kubelet archive opened once, its files by name, `parent` links |
//! | model | [`model`] | the checkpoint as data: [`Checkpoint::processes`](checkpoint::Checkpoint::processes) → [`model::Process`] (core, ids, creds, fs, fds, mm, pagemap, memory, cmdline, environ), the [`model::FileTable`] of typed [`model::File`]s, [`model::Vma`]s with what they map, the one pagemap index ([`model::PageIndex`]) and parent chain; read lazily and cached in the checkpoint |
//! | views | [`explore`], [`check`], [`memory::render`], `cookie::checkpoint` | reports rendered in the library, as text (crit's bytes where crit has the view) and JSON: `crit x ps/fds/mems/rss/sockets`, `crit check`, memory dumps and search hits, `crit check --files` |
//! | memory | [`memory`] | [`memory::Task`]: the bytes at any address of a task, from its pagemap, shared memory and parent dumps, with a typed reason for every byte it cannot give; search with the `search` feature |
//! | live processes | `procmem`, `page_server` | dump a running process's memory through a bounded buffer into CRIU's `pagemap`/`pages` images (incremental by content), locally or to a page server; CRIU's page-server protocol, both sides |
//! | cookies | `cookie` | CRIU's ELF build-id, CRC32C checksums, and the verdicts of CRIU's restore-time file validation |
//!
//! One error type covers all of them: [`Error`] (with `From` for each module's error, so `?`
//! works in a function returning [`Result`]). Each module's error names the file, the entry, the
//! byte offset and the field when they are known; match on the variants to tell a missing image
//! ([`CheckpointError::Missing`](checkpoint::CheckpointError::Missing)) from a corrupt one
//! ([`CheckpointError::Image`](checkpoint::CheckpointError::Image)).
//!
//! # Features
//!
//! | feature | default | adds | pulls in |
//! |---|---|---|---|
//! | (none) | yes | framing, views, JSON, editing, checkpoint directories, the model, `explore`, `check`, memory reads; builds for any target | `criu-image-proto`, `memmap2` |
//! | `archive` | no | opening tar, tar.gz and tar.zst checkpoint archives (without it they are recognised and refused with a message) | `tar`, `libz-rs-sys` (zlib-rs, pure Rust), `crc32fast`, `ruzstd` |
//! | `search` | no | `memory::search`: literal and regex search of task memory | `memchr`, `regex` |
//! | `procmem` | no | `procmem` and `page_server` (Linux only: `process_vm_readv`, `PAGEMAP_SCAN`) | `libc`, `twox-hash` |
//! | `cookie` | no | `cookie` (Linux only: `openat2`) | `libc`, `crc32c` |
//! | `full` | no | all of the above (what `crit` uses) | |
//!
//! A module a feature adds is absent without it (and the Linux-only ones on other targets).
//!
//! # Trust model
//!
//! Images, archives and page-server peers are untrusted input. Every byte sequence gives a value
//! or a typed error, never a panic; every length read from the input is compared with what the
//! input holds before anything is sliced or allocated, so a hostile size word cannot make the
//! library allocate more than the input's own size (archives are decompressed into memory up to
//! [`OpenOptions::max_decompressed`](checkpoint::OpenOptions::max_decompressed), 4 GiB by
//! default). Recursive messages are refused past 64 levels. Unknown fields, unknown enum values
//! and non-UTF-8 strings are kept, not dropped. The workspace's tests decode every truncation
//! and every single-bit flip of every fixture image, and `fuzz/` has cargo-fuzz targets for
//! image decoding, crit's JSON and the page-server protocol.
//!
//! Image files are memory-mapped: a file truncated by another process while it is read can
//! fault (`SIGBUS`), as with every mmap-based reader. Do not point the library at images that
//! are being rewritten.
//!
//! # Debug builds of crates that depend on this one
//!
//! Parsing is fast only when optimised: unoptimised, the generated views and JSON writers of
//! `criu-image-proto` and the readers here are 4 to 8 times slower. Measured on a real CRIU dump
//! of a process with 30 020 VMAs and 4 004 fds (`cargo xtask big-checkpoint`), `crit` built in
//! the dev profile, median of 7 alternating runs: decoding the 933 KB `mm` image to JSON takes
//! 190 ms at `opt-level = 0` and 25 ms at 2; `crit x mems` 103 ms against 25 ms; `crit check` of
//! the whole checkpoint 222 ms against 40 ms. This workspace therefore optimises both crates
//! even in test builds, and a crate whose debug builds or tests read large checkpoints should do
//! the same in its `Cargo.toml` (the two crates compile in seconds, and the rest of the
//! dependency tree keeps its debug settings):
//!
//! ```toml
//! [profile.dev.package.criu-image-proto]
//! opt-level = 2
//!
//! [profile.dev.package.criu-image]
//! opt-level = 2
//! ```

#![deny(missing_docs)]

pub use criu_image_proto as proto;

pub mod check;
pub mod checkpoint;
#[cfg(all(feature = "cookie", target_os = "linux"))]
pub mod cookie;
mod conveniences;
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
