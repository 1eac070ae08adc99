//! Errors of the memory model: every message names the PID, the address, the VMA and the image
//! file involved, and says what would make the bytes readable when something can.

use std::fmt;

use crate::checkpoint::CheckpointError;
use crate::image;

/// Why a range of a task's address space cannot be read from the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// No VMA covers the address.
    Unmapped,
    /// A file-backed page that CRIU did not dump because it is the file's content (a clean
    /// private page, or any page of a shared file mapping).
    FromFile { file: String, offset: u64 },
    /// A mapping the kernel provides at restore (`[vvar]`, `[vsyscall]`, a packet ring), never
    /// dumped.
    Kernel(&'static str),
    /// `PE_LAZY` without `PE_PRESENT`: a lazy dump whose page server still holds the page.
    Lazy { pagemap: String, entry: usize },
    /// `PE_PARENT`, but the checkpoint (at `depth` in the chain) has no `parent` link.
    NoParent { pagemap: String, entry: usize, depth: usize },
    /// `PE_PARENT`, and the parent checkpoint cannot be used (missing, unreadable, a cycle).
    ParentUnavailable { pagemap: String, entry: usize, problem: String },
    /// `PE_PARENT`, but the parent's pagemap has no entry for the page.
    NotInParent { pagemap: String, depth: usize },
    /// The pages file is shorter than its pagemap says, or missing.
    Truncated { pages: String, depth: usize, needed: u64, len: u64 },
    /// The VMA's contents live in a shared-memory pagemap that the checkpoint does not have.
    NoShmemImage { shmid: u64 },
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |depth: usize| if depth == 0 { String::new() } else { format!(" (parent level {depth})") };
        match self {
            Unreadable::Unmapped => f.write_str("not mapped (no VMA covers it)"),
            Unreadable::FromFile { file, offset } => {
                write!(f, "not in the checkpoint: the page comes from file {file} at offset {offset:#x}")
            }
            Unreadable::Kernel(what) => write!(f, "not in the checkpoint: {what} is provided by the kernel at restore"),
            Unreadable::Lazy { pagemap, entry } => write!(
                f,
                "lazy page, held by the page server ({pagemap} entry {entry} is PE_LAZY without PE_PRESENT)"
            ),
            Unreadable::NoParent { pagemap, entry, depth } => write!(
                f,
                "{pagemap}{} entry {entry} says the page is in the parent checkpoint (PE_PARENT), but there is no `parent` link: open the checkpoint directory that holds its `parent` symlink to the previous dump",
                at(*depth)
            ),
            Unreadable::ParentUnavailable { pagemap, entry, problem } => write!(
                f,
                "{pagemap} entry {entry} says the page is in the parent checkpoint (PE_PARENT), which cannot be used: {problem}"
            ),
            Unreadable::NotInParent { pagemap, depth } => write!(
                f,
                "missing from the parent: {pagemap}{} has no entry for the page the child marks PE_PARENT",
                at(*depth)
            ),
            Unreadable::Truncated { pages, depth, needed, len } => {
                if *len == 0 && *needed > 0 {
                    write!(f, "{pages}{} is missing or empty, but its pagemap needs {needed} bytes of it", at(*depth))
                } else {
                    write!(f, "{pages}{} is truncated: the pagemap needs {needed} bytes, the file has {len}", at(*depth))
                }
            }
            Unreadable::NoShmemImage { shmid } => {
                write!(f, "shared memory {shmid} has no pagemap-shmem-{shmid}.img in the checkpoint")
            }
        }
    }
}

/// A one-line description of a VMA for messages: `start-end perms file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmaSummary {
    pub start: u64,
    pub end: u64,
    pub perms: String,
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
pub enum MemError {
    /// Opening or parsing an image of the checkpoint.
    Checkpoint(CheckpointError),
    /// An image whose entries are inconsistent in a way framing cannot see.
    Corrupt { file: String, entry: Option<usize>, reason: String },
    /// The PID is neither a task nor a thread of the checkpoint.
    NoTask { pid: u32, pids: Vec<u32> },
    /// The task has no memory images (a zombie, or an incomplete checkpoint).
    NoMemory { pid: u32, file: String },
    /// The address is in no VMA.
    Unmapped { pid: u32, addr: u64, below: Option<(u64, u64)>, above: Option<(u64, u64)> },
    /// The address is mapped but its bytes are not readable from the checkpoint.
    Unreadable { pid: u32, addr: u64, vma: Box<VmaSummary>, why: Unreadable },
    /// `addr + len` wraps around the address space.
    BadRange { pid: u32, addr: u64, len: u64 },
    /// The range is readable but too large to hold in memory at once.
    TooLarge { pid: u32, addr: u64, len: u64 },
    /// `mm_arg_*`/`mm_env_*` do not describe a range.
    BadArgs { pid: u32, what: &'static str, start: u64, end: u64 },
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
                    (None, None) => f.write_str("; the task has no VMAs"),
                }
            }
            MemError::Unreadable { pid, addr, vma, why } => write!(f, "pid {pid}, address {addr:#x} (VMA {vma}): {why}"),
            MemError::BadRange { pid, addr, len } => {
                write!(f, "pid {pid}: {len} bytes at {addr:#x} run past the end of the address space")
            }
            MemError::TooLarge { pid, addr, len } => {
                write!(f, "pid {pid}: cannot hold {len} bytes at {addr:#x} in memory at once; read them in parts")
            }
            MemError::BadArgs { pid, what, start, end } => {
                write!(f, "pid {pid}: mm-{pid}.img gives the {what} as {start:#x}..{end:#x}, which is not a range")
            }
        }
    }
}

impl std::error::Error for MemError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MemError::Checkpoint(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CheckpointError> for MemError {
    fn from(e: CheckpointError) -> Self {
        MemError::Checkpoint(e)
    }
}

pub(crate) fn image_error(file: &str, error: image::Error) -> MemError {
    MemError::Checkpoint(CheckpointError::Image { file: file.to_string(), error })
}

pub(crate) fn decode_error(file: &str, entry: usize, offset: usize, e: criu_image_proto::DecodeError) -> MemError {
    image_error(
        file,
        image::Error { entry: Some(entry), offset: offset + e.offset, field: e.path, kind: image::ErrorKind::Decode(e.kind) },
    )
}
