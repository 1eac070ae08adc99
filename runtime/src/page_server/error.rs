//! What can go wrong between a page-server client and server: every variant names the peer, and
//! where it makes sense the request (by index in the session) and the byte offset in the stream.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::wire::{ImageId, WireError};
use crate::procmem::image::ReadError;

/// An error of a page-server session, on either side.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The client could not connect (nothing listens there, refused, unreachable, timed out).
    Connect {
        /// The address connected to (`host:port`).
        addr: String,
        /// What the system said.
        source: io::Error,
    },
    /// The server could not listen.
    Bind {
        /// The address to listen on (`host:port`).
        addr: String,
        /// What the system said.
        source: io::Error,
    },
    /// Reading from or writing to the peer failed (reset, broken pipe, timeout).
    Io {
        /// The peer's address (`host:port`).
        peer: String,
        /// What the session was doing (`sending pages`, `reading request 3`).
        during: String,
        /// What the system said.
        source: io::Error,
    },
    /// The peer closed the connection while `during` was still going on.
    Closed {
        /// The peer's address (`host:port`).
        peer: String,
        /// What the session was doing.
        during: String,
    },
    /// The peer sent something that is not CRIU's protocol.
    Protocol {
        /// The peer's address (`host:port`).
        peer: String,
        /// The request's index in the session (0 is the first header).
        request: u64,
        /// The byte offset of that request's header in the stream.
        offset: u64,
        /// What was wrong with it.
        what: Violation,
    },
    /// The server has no parent images for `image`, so an incremental round cannot be sent to it.
    NoParent {
        /// The peer's address (`host:port`).
        peer: String,
        /// The pagemap the round is for.
        image: ImageId,
    },
    /// The server's close-handshake status was not 0: it did not keep what was sent.
    Status {
        /// The peer's address (`host:port`).
        peer: String,
        /// The status it answered (0 would have meant it keeps the round).
        status: i32,
    },
    /// Creating, writing or renaming an image failed.
    Output {
        /// The image file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The previous dump (`--prev`) or the previous round's record cannot be used.
    Parent {
        /// The previous dump's directory, or the record directory.
        path: PathBuf,
        /// Why its images cannot be used.
        source: ReadError,
    },
}

/// What was wrong with what the peer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The header itself (unknown command, flags, sizes).
    Header(WireError),
    /// Pages for an image that was not opened with `OPEN`/`OPEN2` first.
    NotOpen {
        /// The pagemap the pages were for.
        image: ImageId,
    },
    /// An image opened a second time in one session.
    Reopened {
        /// The pagemap.
        image: ImageId,
    },
    /// A run that starts below the end of the previous run of the same image.
    OutOfOrder {
        /// The pagemap.
        image: ImageId,
        /// The run's first address.
        vaddr: u64,
        /// One past the previous run's last address.
        previous_end: u64,
    },
    /// `PE_PARENT` pages, but this server has no parent image for them.
    ParentMissing {
        /// The pagemap.
        image: ImageId,
        /// The run's first address.
        vaddr: u64,
        /// Its length in pages.
        nr_pages: u64,
    },
    /// `PS_IOV_GET`: lazy-pages requests are for a dump-side server.
    LazyGet,
    /// A one-byte or `i32` answer other than CRIU sends.
    Answer {
        /// The value received.
        value: i64,
    },
    /// Bytes after the close handshake.
    TrailingData,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Header(e) => write!(f, "{e}"),
            Violation::NotOpen { image } => write!(f, "pages for {image} without PS_IOV_OPEN2 first"),
            Violation::Reopened { image } => write!(f, "{image} opened twice in one session"),
            Violation::OutOfOrder { image, vaddr, previous_end } => write!(
                f,
                "field vaddr: {image} run at {vaddr:#x} starts below the end of the previous run ({previous_end:#x}); runs must ascend"
            ),
            Violation::ParentMissing { image, vaddr, nr_pages } => write!(
                f,
                "{image}: {nr_pages} PE_PARENT pages at {vaddr:#x} but the parent images do not have them (start the server with --prev pointing at the previous dump)"
            ),
            Violation::LazyGet => write!(f, "PS_IOV_GET (lazy pages) is not served here"),
            Violation::Answer { value } => write!(f, "answer {value} is not one CRIU sends"),
            Violation::TrailingData => write!(f, "data after the close handshake"),
        }
    }
}

impl Error {
    /// True when the peer went away (closed, reset, broken pipe).
    pub fn is_disconnect(&self) -> bool {
        match self {
            Error::Closed { .. } => true,
            Error::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { addr, source } => {
                write!(f, "cannot connect to the page server at {addr}: {source}; is `criu page-server` (or `crit page-server`) listening there")
            }
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Io { peer, during, source } => write!(f, "page server session with {peer}: {during}: {source}"),
            Error::Closed { peer, during } => write!(f, "page server session with {peer}: the peer closed the connection while {during}"),
            Error::Protocol { peer, request, offset, what } => {
                write!(f, "page server session with {peer}: request {request} at byte {offset}: {what}")
            }
            Error::NoParent { peer, image } => write!(
                f,
                "the page server at {peer} has no parent images for {image}, so it cannot take an incremental round; start it with --prev-images-dir (criu) or --prev (crit) naming the previous round's directory, or send a full round"
            ),
            Error::Status { peer, status } => write!(f, "the page server at {peer} answered the close handshake with status {status}: the round is not complete there"),
            Error::Output { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            Error::Parent { path, source } => write!(f, "previous images {}: {source}", path.display()),
        }
    }
}

/// Every message includes what a wrapped error said, so `source()` is `None`: `{:#}` never
/// prints a cause twice.
impl std::error::Error for Error {}
