//! CRIU 4.2's page-server wire protocol, in one place for both directions (our client and our
//! server).
//!
//! Re-derived from `criu/page-xfer.c` and `criu/include/page-xfer.h` (behaviour, not code):
//!
//! * Every request is one fixed 32-byte header, CRIU's `struct page_server_iov` as x86-64 lays
//!   it out in memory: `u32 cmd`, 4 bytes of padding, `u64 nr_pages`, `u64 vaddr`, `u64 dst_id`,
//!   little-endian. The padding is sent as zeroes and ignored on receipt (CRIU sends whatever
//!   its stack held there).
//! * `cmd`: the low 16 bits are the command, the high 16 bits the pagemap flags of
//!   `PS_IOV_ADD_F` (`PE_PRESENT`, `PE_LAZY`, `PE_PARENT`). `PS_IOV_CLOSE` and
//!   `PS_IOV_FORCE_CLOSE` are compared as whole words.
//! * `dst_id`: which pagemap image the request is about: `id << 8 | type`, type 1 a task's
//!   `pagemap-<pid>.img`, type 2 `pagemap-shmem-<shmid>.img`. Older CRIUs used other type numbers
//!   (CRIU still decodes them): 10, 11, 16, 17 mean a task, 27–29 and 32–34 shared memory.
//!
//! A session, as CRIU's dump (client) and `criu page-server` (server) run it:
//!
//! ```text
//! client                                   server
//! PS_IOV_PARENT dst_id               →                          (optional; CRIU asks before a
//!                                    ←     i32 has_parent        pre-dump with --track-mem)
//! PS_IOV_OPEN2 dst_id                →     opens the pagemap image (and a pages image)
//!                                    ←     u8 has_parent
//! PS_IOV_ADD_F|flags<<16 vaddr n     →     one pagemap entry {vaddr, n, flags}
//! [n × 4096 bytes if PE_PRESENT]     →     appended to the pages image
//! ... more ADD_F, more OPEN2 for other tasks and shmem segments ...
//! PS_IOV_CLOSE                       →
//!                                    ←     i32 status (0: everything was received)
//! close()                            →     the server reads EOF and ends the session
//! ```
//!
//! `PS_IOV_OPEN` (no answer), `PS_IOV_ADD` (present pages) and `PS_IOV_HOLE` (parent pages) are
//! the older forms; `PS_IOV_GET` is the lazy-pages direction (restore asks a dump-side server
//! for pages), which neither side here implements.
//!
//! Decoding is total: any 32 bytes give a [`Request`] or a [`WireError`] that says which field
//! is wrong; sizes are checked for overflow before anyone allocates or reads data.

use std::fmt;

use crate::pagemap::{PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT};

/// Bytes of one request header (`sizeof(struct page_server_iov)` on x86-64).
pub const HEADER_LEN: usize = 32;

/// `PS_IOV_ADD`: present pages follow (pre-1.x form of `ADD_F`).
pub const PS_IOV_ADD: u32 = 1;
/// `PS_IOV_HOLE`: pages in the parent, no data (pre-`ADD_F` form).
pub const PS_IOV_HOLE: u32 = 2;
/// `PS_IOV_OPEN`: open a pagemap image, no answer.
pub const PS_IOV_OPEN: u32 = 3;
/// `PS_IOV_OPEN2`: open a pagemap image; the server answers one byte, whether it has a parent.
pub const PS_IOV_OPEN2: u32 = 4;
/// `PS_IOV_PARENT`: does the server have a parent image for `dst_id`? Answer: an `i32`.
pub const PS_IOV_PARENT: u32 = 5;
/// `PS_IOV_ADD_F`: one pagemap entry with flags in the high 16 bits of `cmd`.
pub const PS_IOV_ADD_F: u32 = 6;
/// `PS_IOV_GET`: lazy-pages request (restore side asks for pages).
pub const PS_IOV_GET: u32 = 7;
/// `PS_IOV_CLOSE`: end of the session; the server answers an `i32` status.
pub const PS_IOV_CLOSE: u32 = 0x1023;
/// `PS_IOV_FORCE_CLOSE`: the same, when the socket is shared with a parent process.
pub const PS_IOV_FORCE_CLOSE: u32 = 0x1024;

/// Bits of `cmd` that hold the command (`PS_CMD_BITS`).
const CMD_BITS: u32 = 16;
/// Bits of `dst_id` that hold the image type (`PS_TYPE_BITS`).
const TYPE_BITS: u32 = 8;
/// `PS_TYPE_PID`.
pub const TYPE_TASK: u8 = 1;
/// `PS_TYPE_SHMEM`.
pub const TYPE_SHMEM: u8 = 2;
/// Type numbers older CRIUs used for task pagemaps (`decode_pm`).
const LEGACY_TASK: [u8; 4] = [10, 11, 16, 17];
/// ... and for shared-memory pagemaps.
const LEGACY_SHMEM: [u8; 6] = [27, 28, 29, 32, 33, 34];

/// Which pagemap image a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageId {
    /// A task's `pagemap-<pid>.img` (the PID as the dump numbers it).
    Task(u64),
    /// A shared-memory segment's `pagemap-shmem-<shmid>.img`.
    Shmem(u64),
}

impl ImageId {
    /// `dst_id` as CRIU 4.2 encodes it (`encode_pm`).
    pub fn dst_id(self) -> u64 {
        match self {
            ImageId::Task(id) => id << TYPE_BITS | u64::from(TYPE_TASK),
            ImageId::Shmem(id) => id << TYPE_BITS | u64::from(TYPE_SHMEM),
        }
    }

    /// Decodes `dst_id` as CRIU's `decode_pm` does, legacy type numbers included.
    pub fn from_dst_id(dst_id: u64) -> Result<ImageId, WireError> {
        let ty = (dst_id & 0xff) as u8;
        let id = dst_id >> TYPE_BITS;
        if ty == TYPE_TASK || LEGACY_TASK.contains(&ty) {
            Ok(ImageId::Task(id))
        } else if ty == TYPE_SHMEM || LEGACY_SHMEM.contains(&ty) {
            Ok(ImageId::Shmem(id))
        } else {
            Err(WireError::ImageType { dst_id })
        }
    }

    /// The pagemap image's file name.
    pub fn pagemap_name(self) -> String {
        match self {
            ImageId::Task(pid) => format!("pagemap-{pid}.img"),
            ImageId::Shmem(id) => format!("pagemap-shmem-{id}.img"),
        }
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageId::Task(pid) => write!(f, "pid {pid}"),
            ImageId::Shmem(id) => write!(f, "shmem {id}"),
        }
    }
}

/// One header as it is on the wire, not yet interpreted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Command in the low 16 bits, `ADD_F` flags in the high 16.
    pub cmd: u32,
    /// Pages in the run (bytes 8..16).
    pub nr_pages: u64,
    /// The run's first address (bytes 16..24; an offset in the object for shared memory).
    pub vaddr: u64,
    /// The pagemap it is for: the image type in the low 8 bits, the pid or shmid above
    /// ([`ImageId::from_dst_id`]).
    pub dst_id: u64,
}

impl Header {
    /// The 32 bytes CRIU sends, padding zeroed.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&self.cmd.to_le_bytes());
        b[8..16].copy_from_slice(&self.nr_pages.to_le_bytes());
        b[16..24].copy_from_slice(&self.vaddr.to_le_bytes());
        b[24..32].copy_from_slice(&self.dst_id.to_le_bytes());
        b
    }

    /// Reads the fields; the padding (bytes 4..8) is ignored.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Header {
        let u64_at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        let mut c = [0u8; 4];
        c.copy_from_slice(&b[0..4]);
        Header { cmd: u32::from_le_bytes(c), nr_pages: u64_at(8), vaddr: u64_at(16), dst_id: u64_at(24) }
    }
}

/// A run of pages announced by `ADD_F` (or the older `ADD`/`HOLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pages {
    /// The pagemap the run belongs to.
    pub image: ImageId,
    /// Page-aligned start address.
    pub vaddr: u64,
    /// At least 1.
    pub nr_pages: u64,
    /// `PE_PRESENT` (optionally with `PE_LAZY`), `PE_PARENT`, or `PE_LAZY` alone.
    pub flags: u32,
}

impl Pages {
    /// Bytes of page data that follow the header: `nr_pages × 4096` when `PE_PRESENT`, else 0.
    /// Cannot overflow: [`Request::decode`] checked that the run fits the address space.
    pub fn data_len(&self) -> u64 {
        if self.flags & PE_PRESENT != 0 { self.nr_pages * PAGE_SIZE } else { 0 }
    }

    /// One past the last byte of the run.
    pub fn end(&self) -> u64 {
        self.vaddr + self.nr_pages * PAGE_SIZE
    }
}

/// A decoded request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `OPEN2` (`answer`: the server replies one byte) or `OPEN` (no reply).
    Open {
        /// The pagemap to open.
        image: ImageId,
        /// Whether the client waits for a one-byte reply (`OPEN2`).
        answer: bool,
    },
    /// `PARENT`: the server replies an `i32`, 1 when it has a parent image for `image`.
    Parent {
        /// The pagemap asked about.
        image: ImageId,
    },
    /// `ADD_F`, `ADD`, `HOLE`.
    Add(Pages),
    /// `GET` (lazy pages): decoded so a server can refuse it by name.
    Get {
        /// The pagemap.
        image: ImageId,
        /// The first address asked for.
        vaddr: u64,
        /// Pages asked for.
        nr_pages: u64,
    },
    /// `CLOSE` or `FORCE_CLOSE`: the server replies an `i32` status.
    Close {
        /// Whether it was `FORCE_CLOSE` (CRIU sends it when the socket is shared with a parent
        /// process); both end the session the same way.
        force: bool,
    },
}

/// Flag combinations CRIU writes: present (maybe lazy), parent, lazy only (`transfer_lazy`
/// off, the pages stay on a lazy-pages server).
fn flags_valid(flags: u32) -> bool {
    matches!(flags, PE_PRESENT | PE_PARENT | PE_LAZY) || flags == PE_PRESENT | PE_LAZY
}

impl Request {
    /// Interprets a header. Checks what a server must know before it reads data or writes an
    /// image: a known command and image type, flags CRIU can send, a page-aligned non-empty run
    /// that does not wrap the address space.
    pub fn decode(h: &Header) -> Result<Request, WireError> {
        if h.cmd == PS_IOV_CLOSE || h.cmd == PS_IOV_FORCE_CLOSE {
            return Ok(Request::Close { force: h.cmd == PS_IOV_FORCE_CLOSE });
        }
        let cmd = h.cmd & ((1 << CMD_BITS) - 1);
        let flags = h.cmd >> CMD_BITS;
        if cmd != PS_IOV_ADD_F && flags != 0 {
            return Err(WireError::Command { cmd: h.cmd });
        }
        let image = || ImageId::from_dst_id(h.dst_id);
        let pages = |flags: u32| -> Result<Request, WireError> {
            if !flags_valid(flags) {
                return Err(WireError::Flags { flags });
            }
            if !h.vaddr.is_multiple_of(PAGE_SIZE) {
                return Err(WireError::Unaligned { vaddr: h.vaddr });
            }
            if h.nr_pages == 0 {
                return Err(WireError::Empty { vaddr: h.vaddr });
            }
            if h.nr_pages.checked_mul(PAGE_SIZE).and_then(|b| h.vaddr.checked_add(b)).is_none() {
                return Err(WireError::Overflow { vaddr: h.vaddr, nr_pages: h.nr_pages });
            }
            Ok(Request::Add(Pages { image: image()?, vaddr: h.vaddr, nr_pages: h.nr_pages, flags }))
        };
        match cmd {
            PS_IOV_OPEN => Ok(Request::Open { image: image()?, answer: false }),
            PS_IOV_OPEN2 => Ok(Request::Open { image: image()?, answer: true }),
            PS_IOV_PARENT => Ok(Request::Parent { image: image()? }),
            PS_IOV_ADD_F => pages(flags),
            PS_IOV_ADD => pages(PE_PRESENT),
            PS_IOV_HOLE => pages(PE_PARENT),
            PS_IOV_GET => Ok(Request::Get { image: image()?, vaddr: h.vaddr, nr_pages: h.nr_pages }),
            _ => Err(WireError::Command { cmd: h.cmd }),
        }
    }

    /// The header CRIU 4.2 sends for this request (`ADD`/`HOLE`/`OPEN` become their current
    /// forms only if asked for by building the header by hand).
    pub fn encode(&self) -> Header {
        match *self {
            Request::Open { image, answer } => {
                Header { cmd: if answer { PS_IOV_OPEN2 } else { PS_IOV_OPEN }, dst_id: image.dst_id(), ..Header::default() }
            }
            Request::Parent { image } => Header { cmd: PS_IOV_PARENT, dst_id: image.dst_id(), ..Header::default() },
            Request::Add(p) => Header {
                cmd: p.flags << CMD_BITS | PS_IOV_ADD_F,
                nr_pages: p.nr_pages,
                vaddr: p.vaddr,
                dst_id: p.image.dst_id(),
            },
            Request::Get { image, vaddr, nr_pages } => Header { cmd: PS_IOV_GET, nr_pages, vaddr, dst_id: image.dst_id() },
            Request::Close { force } => {
                Header { cmd: if force { PS_IOV_FORCE_CLOSE } else { PS_IOV_CLOSE }, ..Header::default() }
            }
        }
    }
}

/// Why a header is not a request we can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Not a command CRIU sends (or flags on a command that takes none).
    Command {
        /// The header's `cmd` word.
        cmd: u32,
    },
    /// `dst_id`'s low byte is neither a task nor a shared-memory pagemap.
    ImageType {
        /// The header's `dst_id`.
        dst_id: u64,
    },
    /// Pagemap flags CRIU never combines.
    Flags {
        /// The `PE_*` flags of the `ADD_F` command.
        flags: u32,
    },
    /// `vaddr` is not page-aligned.
    Unaligned {
        /// The header's `vaddr`.
        vaddr: u64,
    },
    /// A run of zero pages.
    Empty {
        /// The header's `vaddr`.
        vaddr: u64,
    },
    /// `vaddr + nr_pages × 4096` does not fit in 64 bits.
    Overflow {
        /// The header's `vaddr`.
        vaddr: u64,
        /// The header's `nr_pages`.
        nr_pages: u64,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::Command { cmd } => write!(f, "field cmd: {cmd:#x} is not a page-server command of CRIU 4.2"),
            WireError::ImageType { dst_id } => {
                write!(f, "field dst_id: {dst_id:#x} names image type {}, neither a task (1) nor shmem (2)", dst_id & 0xff)
            }
            WireError::Flags { flags } => write!(f, "field cmd: pagemap flags {flags:#x} are not a combination CRIU sends"),
            WireError::Unaligned { vaddr } => write!(f, "field vaddr: {vaddr:#x} is not page-aligned"),
            WireError::Empty { vaddr } => write!(f, "field nr_pages: 0 pages at {vaddr:#x}"),
            WireError::Overflow { vaddr, nr_pages } => {
                write!(f, "field nr_pages: {nr_pages} pages from {vaddr:#x} run past the end of the address space")
            }
        }
    }
}

impl std::error::Error for WireError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_criu_layout() {
        let h = Request::Add(Pages { image: ImageId::Task(1234), vaddr: 0x7f00_0000_1000, nr_pages: 3, flags: PE_PRESENT | PE_LAZY })
            .encode();
        let b = h.encode();
        // cmd = (PE_LAZY|PE_PRESENT) << 16 | PS_IOV_ADD_F, then 4 bytes of padding.
        assert_eq!(&b[0..8], &[6, 0, 6, 0, 0, 0, 0, 0]);
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 3);
        assert_eq!(u64::from_le_bytes(b[24..32].try_into().unwrap()), 1234 << 8 | 1);
        // Padding garbage is ignored.
        let mut g = b;
        g[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(Request::decode(&Header::decode(&g)).unwrap(), Request::decode(&h).unwrap());
        assert_eq!(Request::Close { force: false }.encode().encode()[0..4], [0x23, 0x10, 0, 0]);
    }

    #[test]
    fn every_request_round_trips() {
        let img = ImageId::Shmem(77);
        for r in [
            Request::Open { image: img, answer: true },
            Request::Open { image: ImageId::Task(1), answer: false },
            Request::Parent { image: img },
            Request::Add(Pages { image: img, vaddr: 0x1000, nr_pages: 1, flags: PE_PARENT }),
            Request::Add(Pages { image: img, vaddr: 0x1000, nr_pages: 1, flags: PE_LAZY }),
            Request::Get { image: img, vaddr: 0x2000, nr_pages: 5 },
            Request::Close { force: true },
        ] {
            assert_eq!(Request::decode(&Header::decode(&r.encode().encode())).unwrap(), r);
        }
        // Legacy forms.
        let h = Header { cmd: PS_IOV_HOLE, nr_pages: 2, vaddr: 0x3000, dst_id: 5 << 8 | 11 };
        assert_eq!(
            Request::decode(&h).unwrap(),
            Request::Add(Pages { image: ImageId::Task(5), vaddr: 0x3000, nr_pages: 2, flags: PE_PARENT })
        );
    }

    #[test]
    fn hostile_headers_are_named_errors() {
        let ok = Header { cmd: PS_IOV_ADD_F | PE_PRESENT << 16, nr_pages: 1, vaddr: 0x1000, dst_id: 1 << 8 | 1 };
        assert!(Request::decode(&ok).is_ok());
        let cases = [
            (Header { cmd: 99, ..ok }, "cmd"),
            (Header { cmd: PS_IOV_OPEN2 | 4 << 16, ..ok }, "cmd"),
            (Header { cmd: PS_IOV_ADD_F | 3 << 16, ..ok }, "flags 0x3"),
            (Header { cmd: PS_IOV_ADD_F | 0x80 << 16, ..ok }, "flags 0x80"),
            (Header { dst_id: 1 << 8 | 9, ..ok }, "image type 9"),
            (Header { vaddr: 0x1001, ..ok }, "page-aligned"),
            (Header { nr_pages: 0, ..ok }, "0 pages"),
            (Header { nr_pages: u64::MAX, ..ok }, "past the end"),
            (Header { vaddr: u64::MAX - 4095, nr_pages: 1, ..ok }, "past the end"),
        ];
        for (h, want) in cases {
            let e = Request::decode(&h).unwrap_err().to_string();
            assert!(e.contains(want), "{h:?}: {e}");
        }
    }
}
