//! Errors of the memory model: every message names the PID, the address, the VMA and the image
//! file involved, and says what would make the bytes readable when something can.

use std::fmt;

use crate::checkpoint::CheckpointError;
pub use crate::model::Unreadable;

/// A one-line description of a VMA for messages: `start-end perms file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmaSummary {
    /// First address.
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// `rwxp`.
    pub perms: String,
    /// The mapped object's name.
    pub name: String,
}

impl fmt::Display for VmaSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}-{:x} {}", self.start, self.end, self.perms)?;
        if !self.name.is_empty() {
            write!(f, " {}", self.name)?;
        }
        Ok(())
    }
}

/// An error of the memory model.
#[derive(Debug)]
#[non_exhaustive]
pub enum MemError {
    /// Opening or parsing an image of the checkpoint.
    Checkpoint(CheckpointError),
    /// An image whose entries are inconsistent in a way framing cannot see.
    Corrupt {
        /// The image.
        file: String,
        /// The entry, when one is to blame.
        entry: Option<usize>,
        /// What is inconsistent.
        reason: String,
    },
    /// The PID is neither a task nor a thread of the checkpoint.
    NoTask {
        /// The pid asked for.
        pid: u32,
        /// The pids the checkpoint has.
        pids: Vec<u32>,
    },
    /// The task has no memory images (a zombie, or an incomplete checkpoint).
    NoMemory {
        /// The task.
        pid: u32,
        /// The image that is missing.
        file: String,
    },
    /// The address is in no VMA.
    Unmapped {
        /// The task.
        pid: u32,
        /// The address.
        addr: u64,
        /// The nearest VMA below.
        below: Option<(u64, u64)>,
        /// The nearest VMA above.
        above: Option<(u64, u64)>,
    },
    /// The address is mapped but its bytes are not readable from the checkpoint.
    Unreadable {
        /// The task.
        pid: u32,
        /// The first unreadable address.
        addr: u64,
        /// Its VMA.
        vma: Box<VmaSummary>,
        /// Why.
        why: Unreadable,
    },
    /// `addr + len` wraps around the address space.
    BadRange {
        /// The task.
        pid: u32,
        /// The address.
        addr: u64,
        /// The length.
        len: u64,
    },
    /// The range is readable but too large to hold in memory at once.
    TooLarge {
        /// The task.
        pid: u32,
        /// The address.
        addr: u64,
        /// The length.
        len: u64,
    },
    /// `mm_arg_*`/`mm_env_*` do not describe a range.
    BadArgs {
        /// The task.
        pid: u32,
        /// "command line" or "environment".
        what: &'static str,
        /// The start the mm image gives.
        start: u64,
        /// The end it gives.
        end: u64,
    },
    /// The command line or environment splits into more strings than `execve` can pass
    /// ([`MAX_STRINGS`](super::MAX_STRINGS)): the mm image's range is corrupt, or not argv.
    TooManyStrings {
        /// The task.
        pid: u32,
        /// "command line" or "environment".
        what: &'static str,
        /// How many NUL-separated strings the range holds.
        count: usize,
    },
    /// A memory dump without an mm image (pagemap and pages only, as `crit mem-dump` writes
    /// them): the addresses of the command line and environment are in the mm image.
    NoMmImage {
        /// The task.
        pid: u32,
        /// "command line" or "environment".
        what: &'static str,
    },
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemError::Checkpoint(e) => write!(f, "{e}"),
            MemError::Corrupt { file, entry, reason } => match entry {
                Some(i) => write!(f, "{file}: entry {i}: {reason}"),
                None => write!(f, "{file}: {reason}"),
            },
            MemError::NoTask { pid, pids } => {
                write!(f, "pid {pid} is not in the checkpoint's pstree.img (tasks: ")?;
                for (i, p) in pids.iter().enumerate() {
                    write!(f, "{}{p}", if i == 0 { "" } else { ", " })?;
                }
                f.write_str(")")
            }
            MemError::NoMemory { pid, file } => {
                write!(f, "pid {pid} has no memory in the checkpoint: {file} is missing (a zombie?)")
            }
            MemError::Unmapped { pid, addr, below, above } => {
                write!(f, "pid {pid}: address {addr:#x} is not mapped (no VMA covers it)")?;
                match (below, above) {
                    (Some(b), Some(a)) => write!(f, "; nearest VMAs {:x}-{:x} below and {:x}-{:x} above", b.0, b.1, a.0, a.1),
                    (Some(b), None) => write!(f, "; nearest VMA {:x}-{:x} below", b.0, b.1),
                    (None, Some(a)) => write!(f, "; nearest VMA {:x}-{:x} above", a.0, a.1),
                    (None, None) => f.write_str("; the task has no VMAs (or, without its mm image, no pages)"),
                }
            }
            MemError::Unreadable { pid, addr, vma, why } => write!(f, "pid {pid}, address {addr:#x} (VMA {vma}): {why}"),
            MemError::BadRange { pid, addr, len } => {
                write!(f, "pid {pid}: {len} bytes at {addr:#x} run past the end of the address space")
            }
            MemError::TooLarge { pid, addr, len } => {
                write!(f, "pid {pid}: cannot hold {len} bytes at {addr:#x} in memory at once; read them in parts")
            }
            MemError::NoMmImage { pid, what } => write!(
                f,
                "pid {pid}: the {what} is found through mm-{pid}.img, and this memory dump has none (only pagemap-{pid}.img and its pages)"
            ),
            MemError::BadArgs { pid, what, start, end } => {
                write!(f, "pid {pid}: mm-{pid}.img gives the {what} as {start:#x}..{end:#x}, which is not a range")
            }
            MemError::TooManyStrings { pid, what, count } => write!(
                f,
                "pid {pid}: the {what} in memory splits into {count} strings, more than execve passes ({}); mm-{pid}.img's range is corrupt or not argv",
                super::MAX_STRINGS
            ),
        }
    }
}

/// Every message is complete on its own (it includes what a wrapped error said), so `source()`
/// is `None`: `{:#}` never prints a cause twice.
impl std::error::Error for MemError {}

impl From<CheckpointError> for MemError {
    fn from(e: CheckpointError) -> Self {
        MemError::Checkpoint(e)
    }
}

