//! What can go wrong while dumping a live process, with the PID, the address and the syscall.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// An error from [`dump`](super::dump): every variant names the PID, and where it makes sense the
/// syscall and the target address, so a failed dump says what to look at.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// There is no process of this pid (it never existed, exited before the dump started, or is
    /// not visible in this pid namespace). Nothing was written.
    NoProcess {
        /// The pid asked for.
        pid: i32,
    },
    /// The target exited (ESRCH, or its `/proc` entry disappeared) while we were reading it.
    /// Nothing is left behind: the partial images are removed.
    Vanished {
        /// The target's pid.
        pid: i32,
        /// The syscall (or `/proc` file read) that failed.
        syscall: &'static str,
        /// The target address it was about, when it was about one.
        addr: Option<u64>,
    },
    /// We may not read the target (EPERM/EACCES): reading another user's process needs
    /// `CAP_SYS_PTRACE` (or the same uid and a permissive `kernel.yama.ptrace_scope`).
    Permission {
        /// The target's pid.
        pid: i32,
        /// The syscall (or `/proc` file read) that failed.
        syscall: &'static str,
        /// The target address it was about, when it was about one.
        addr: Option<u64>,
        /// The `/proc/PID/...` file, when one was being opened.
        path: Option<PathBuf>,
    },
    /// A syscall on the target failed for another reason.
    Syscall {
        /// The target's pid.
        pid: i32,
        /// The syscall (or `/proc` file read) that failed.
        syscall: &'static str,
        /// The target address it was about, when it was about one.
        addr: Option<u64>,
        /// What the system said.
        source: io::Error,
    },
    /// A `/proc/PID/...` file did not have the shape the kernel documents.
    ProcFormat {
        /// The target's pid.
        pid: i32,
        /// The file (`/proc/PID/smaps`, ...).
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
        /// What was expected there.
        what: String,
    },
    /// Creating or writing an output image failed.
    Output {
        /// The image file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The previous dump (`parent`) cannot be used.
    Parent {
        /// The previous dump's directory.
        path: PathBuf,
        /// Why it cannot be used (a missing or corrupt pagemap, a pages file too short, ...).
        what: String,
    },
    /// The options cannot work together.
    Options(String),
    /// Talking to the page server failed, or the previous round's record is unusable
    /// ([`dump_to_page_server`](super::dump_to_page_server)).
    PageServer(crate::page_server::Error),
}

impl Error {
    /// Classifies an errno from a syscall on the target: ESRCH and ENOENT (a `/proc` file of a
    /// task that is gone) mean the task exited; EPERM and EACCES mean we may not read it.
    pub(crate) fn from_errno(pid: i32, syscall: &'static str, addr: Option<u64>, path: Option<PathBuf>, e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::ESRCH) | Some(libc::ENOENT) => Error::Vanished { pid, syscall, addr },
            Some(libc::EPERM) | Some(libc::EACCES) => Error::Permission { pid, syscall, addr, path },
            _ => Error::Syscall { pid, syscall, addr, source: e },
        }
    }

    /// The target's PID, when the error is about the target.
    pub fn pid(&self) -> Option<i32> {
        match self {
            Error::Vanished { pid, .. }
            | Error::Permission { pid, .. }
            | Error::Syscall { pid, .. }
            | Error::ProcFormat { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// True when the target exited during the dump.
    pub fn is_vanished(&self) -> bool {
        matches!(self, Error::Vanished { .. })
    }
}

fn at(addr: &Option<u64>) -> String {
    match addr {
        Some(a) => format!(" at {a:#x}"),
        None => String::new(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoProcess { pid } => {
                write!(f, "no process {pid}: it does not exist, or is not visible in this pid namespace (see `ps`)")
            }
            Error::Vanished { pid, syscall, addr } => {
                write!(f, "process {pid} exited while {syscall}{} was reading it; no images were kept", at(addr))
            }
            Error::Permission { pid, syscall, addr, path } => {
                write!(f, "process {pid}: {syscall}")?;
                if let Some(p) = path {
                    write!(f, " of {}", p.display())?;
                }
                write!(
                    f,
                    "{} is not permitted; run as root or with CAP_SYS_PTRACE (and CAP_SYS_ADMIN to see page frame numbers)",
                    at(addr)
                )
            }
            Error::Syscall { pid, syscall, addr, source } => write!(f, "process {pid}: {syscall}{} failed: {source}", at(addr)),
            Error::ProcFormat { pid, path, line, what } => {
                write!(f, "process {pid}: {} line {line}: {what}", path.display())
            }
            Error::Output { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            Error::Parent { path, what } => write!(f, "previous dump {}: {what}", path.display()),
            Error::Options(m) => f.write_str(m),
            Error::PageServer(e) => write!(f, "{e}"),
        }
    }
}

/// Every message includes what a wrapped error said, so `source()` is `None`: `{:#}` never
/// prints a cause twice.
impl std::error::Error for Error {}
