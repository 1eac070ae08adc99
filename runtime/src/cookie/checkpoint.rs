//! Every regular file of a checkpoint, checked against the filesystem a restore would open it
//! from: CRIU's restore-side file validation ([`check()`](super::check())), run before the
//! restore instead of half-way through it.
//!
//! [`check_files`] walks the `reg_file_entry`s of `files.img` (and of the legacy `reg-files.img`,
//! for ids `files.img` does not have), in image order, and gives one [`FileVerdict`] per entry:
//!
//! * **checked**: the entry's [`RegFileCookie`] compared with the file at `root` + its name,
//!   with CRIU's messages; `bad` when CRIU's restore would fail on it;
//! * **skipped**, with the reason ([`Skip`]), when the file a restore opens is not the one at
//!   that path, or when CRIU records nothing to compare:
//!   - external files (`ext`, CRIU takes them from `--inherit-fd`);
//!   - files unlinked at dump time: a `remap-fpath.img` entry (ghost file, link remap, or a dead
//!     process's `/proc` directory), or a name still ending in `" (deleted)"`;
//!   - entries without `size`: files open `O_WRONLY|O_APPEND`, and everything that was not a
//!     regular file at dump time (directories, devices, FIFOs). CRIU compares only their mode,
//!     which this check leaves out rather than open a device to look at it;
//!   - names that are not absolute paths (CRIU dumps none);
//!   - files under `/proc/<pid>`, which describe a process that only exists after the restore.
//!
//! # The root
//!
//! Names in `files.img` are absolute in the dumped tasks' mount namespace. For a process of the
//! host that is `/`. For a container, pass the directory that is the container's root (its
//! rootfs) as seen from here: names are then resolved *inside* it, as `chroot` would, with
//! `openat2(RESOLVE_IN_ROOT)`, so an absolute symlink in the rootfs leads to the rootfs' file and
//! not to the host's, and `..` cannot climb out. Files on the container's other mounts (volumes,
//! bind mounts) are looked up in the rootfs too, where they are usually missing.
//!
//! Paths in messages are `root` + name (CRIU prints the name without its leading `/`).

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use criu_image_proto::view;

use super::check::{CheckOptions, Note, Problem, ProblemKind, Verdict, check};
use super::{RegFileCookie, should_store_validation_data};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::model::{FileKind, FileTable, RegularFile, Remap};

/// The suffix the kernel gives the link of an unlinked file.
const DELETED_SUFFIX: &[u8] = b" (deleted)";

impl From<&view::RegFileEntry<'_>> for RegFileCookie {
    /// The validation fields of a decoded entry.
    fn from(e: &view::RegFileEntry<'_>) -> Self {
        RegFileCookie {
            size: e.size(),
            mode: e.mode(),
            build_id: e.build_id().to_vec(),
            checksum: e.checksum(),
            checksum_config: e.checksum_config(),
            checksum_parameter: e.checksum_parameter(),
        }
    }
}

impl From<&RegularFile> for RegFileCookie {
    /// The validation fields of a regular file of the model.
    fn from(e: &RegularFile) -> Self {
        RegFileCookie {
            size: e.size,
            mode: e.mode,
            build_id: e.build_id.clone(),
            checksum: e.checksum,
            checksum_config: e.checksum_config,
            checksum_parameter: e.checksum_parameter,
        }
    }
}

/// What became of one regular file of the checkpoint.
#[derive(Debug)]
pub struct FileVerdict {
    /// The file id (`reg_file_entry.id`).
    pub id: u32,
    /// The image the entry is in: `files.img` or `reg-files.img`.
    pub image: &'static str,
    /// The entry's `name` as stored: a path in the dumped tasks' mount namespace (not necessarily
    /// UTF-8).
    pub name: Vec<u8>,
    pub outcome: Outcome,
}

/// Checked or skipped.
#[derive(Debug)]
pub enum Outcome {
    /// Compared with the file at `root` + name.
    Checked(Verdict),
    /// Not compared, and why.
    Skipped(Skip),
}

/// The one-word summary of a [`FileVerdict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// CRIU's restore would accept the file.
    Ok,
    /// Not checked; see [`Skip`].
    Skipped,
    /// CRIU's restore would fail on the file.
    Bad,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Bad => "bad",
        })
    }
}

impl FileVerdict {
    pub fn status(&self) -> Status {
        match &self.outcome {
            Outcome::Checked(v) if v.is_ok() => Status::Ok,
            Outcome::Checked(_) => Status::Bad,
            Outcome::Skipped(_) => Status::Skipped,
        }
    }

    /// The path that was checked (`root` + name), if the file was checked.
    pub fn checked_path(&self) -> Option<&Path> {
        match &self.outcome {
            Outcome::Checked(v) => Some(&v.path),
            Outcome::Skipped(_) => None,
        }
    }

    /// Why CRIU's restore would fail, in CRIU's order (empty unless [`Status::Bad`]).
    pub fn problems(&self) -> &[Problem] {
        match &self.outcome {
            Outcome::Checked(v) => &v.problems,
            Outcome::Skipped(_) => &[],
        }
    }

    /// Findings that do not fail a restore.
    pub fn notes(&self) -> &[Note] {
        match &self.outcome {
            Outcome::Checked(v) => &v.notes,
            Outcome::Skipped(_) => &[],
        }
    }

    /// The reason the file was skipped.
    pub fn skip(&self) -> Option<&Skip> {
        match &self.outcome {
            Outcome::Skipped(s) => Some(s),
            Outcome::Checked(_) => None,
        }
    }
}

/// Why a file was not checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// `ext` is set: an external file (its name is `file[<mnt_id>:<inode>]`), which CRIU's
    /// restore takes from `--inherit-fd`.
    External,
    /// Unlinked at dump time; CRIU recreates it from `ghost-file-<ghost_id>.img`.
    Ghost { ghost_id: u32 },
    /// Unlinked at dump time but still reachable through another name, which CRIU dumped as the
    /// regular file `remap_id` (CRIU's link remap, normally `link_remap.<n>`).
    LinkRemap {
        remap_id: u32,
        remap_name: Option<Vec<u8>>,
    },
    /// A directory in `/proc` of a process that was gone at dump time; CRIU recreates a helper
    /// task with pid `pid` for the restore.
    DeadProcess { pid: u32 },
    /// A `remap-fpath.img` entry of a type this crate does not know.
    UnknownRemap { remap_type: i32, remap_id: u32 },
    /// The name ends with `" (deleted)"`: unlinked at dump time.
    Deleted,
    /// Open `O_WRONLY|O_APPEND`: CRIU records no size for files that are expected to grow, and
    /// compares only the mode.
    AppendOnly,
    /// No size recorded (`mode` is the stored `st_mode`): not a regular file at dump time, so CRIU
    /// compares only the mode.
    NoSize { mode: Option<u32> },
    /// The name is not an absolute path, which CRIU never dumps.
    NotAbsolute,
    /// Under `/proc/<pid>`: about a process that only exists once the restore has recreated it.
    ProcPid { pid: u32 },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::External => f.write_str(
                "an external file (ext): CRIU's restore takes it from --inherit-fd, not from a path",
            ),
            Skip::Ghost { ghost_id } => write!(
                f,
                "unlinked at dump time: CRIU recreates it from ghost-file-{ghost_id:x}.img"
            ),
            Skip::LinkRemap {
                remap_id,
                remap_name,
            } => {
                f.write_str("unlinked at dump time: CRIU reopens it through the link remap ")?;
                match remap_name {
                    Some(n) => write!(f, "{} (file id {remap_id})", n.as_slice().escape_ascii()),
                    None => write!(f, "file id {remap_id}, which is not a regular file entry"),
                }
            }
            Skip::DeadProcess { pid } => write!(
                f,
                "in /proc of process {pid}, gone at dump time: CRIU recreates a helper task for it"
            ),
            Skip::UnknownRemap {
                remap_type,
                remap_id,
            } => write!(
                f,
                "remapped by remap-fpath.img with unknown remap_type {remap_type} (remap_id {remap_id})"
            ),
            Skip::Deleted => f.write_str("the name ends with \" (deleted)\": unlinked at dump time"),
            Skip::AppendOnly => f.write_str(
                "no size recorded: open O_WRONLY|O_APPEND, so expected to grow; CRIU compares only \
                 the mode",
            ),
            Skip::NoSize { mode } => {
                f.write_str("no size recorded")?;
                if let Some(what) = mode.and_then(file_type_name) {
                    write!(f, ": a {what} at dump time, not a regular file")?;
                }
                f.write_str("; CRIU compares only the mode")
            }
            Skip::NotAbsolute => f.write_str("the name is not an absolute path"),
            Skip::ProcPid { pid } => write!(
                f,
                "in /proc/{pid}: describes a process, which exists only once restored"
            ),
        }
    }
}

fn file_type_name(mode: u32) -> Option<&'static str> {
    Some(match mode & libc::S_IFMT {
        libc::S_IFDIR => "directory",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFIFO => "FIFO",
        libc::S_IFSOCK => "socket",
        libc::S_IFLNK => "symbolic link",
        libc::S_IFREG => "regular file",
        _ => return None,
    })
}

/// Why [`check_files`] could not run. Problems with individual files are verdicts, not errors.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `files.img`, `reg-files.img` or `remap-fpath.img` is unreadable or corrupt.
    Checkpoint(CheckpointError),
    /// The root directory could not be opened.
    Root { path: PathBuf, source: io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Checkpoint(e) => write!(f, "{e}"),
            Error::Root { path, source } => {
                write!(
                    f,
                    "can't open the root directory {}: {source}",
                    path.display()
                )
            }
        }
    }
}

/// Every message includes what a wrapped error said, so `source()` is `None`: `{:#}` never
/// prints a cause twice.
impl std::error::Error for Error {}

impl From<CheckpointError> for Error {
    fn from(e: CheckpointError) -> Self {
        Error::Checkpoint(e)
    }
}

/// Checks every regular file of `ckpt` against the files under `root` (`/` for a checkpoint of
/// host processes), see the module docs. Verdicts are in image order (`files.img`, then the
/// legacy `reg-files.img` for ids `files.img` does not have).
pub fn check_files(
    ckpt: &Checkpoint,
    root: &Path,
    opts: &CheckOptions,
) -> Result<Vec<FileVerdict>, Error> {
    let files = ckpt.files()?;
    let resolver = Resolver::new(root)?;
    let mut out = Vec::new();
    for f in files.iter() {
        let FileKind::Regular(reg) = &f.kind else { continue };
        let outcome = match skip_reason(reg, files) {
            Some(s) => Outcome::Skipped(s),
            None => Outcome::Checked(resolver.check(&RegFileCookie::from(reg), &reg.path, opts)),
        };
        out.push(FileVerdict {
            id: f.id,
            image: f.source.file_name(),
            name: reg.path.to_vec(),
            outcome,
        });
    }
    Ok(out)
}

/// Why `reg` is not checked, if it is not; in the order of the module docs.
fn skip_reason(reg: &RegularFile, files: &FileTable) -> Option<Skip> {
    if reg.ext {
        return Some(Skip::External);
    }
    if let Some(r) = reg.remap {
        return Some(match r {
            Remap::Ghost { ghost_id, .. } => Skip::Ghost { ghost_id },
            Remap::Linked { link_id, .. } => Skip::LinkRemap {
                remap_id: link_id,
                remap_name: files.regular(link_id).map(|e| e.path.to_vec()),
            },
            Remap::Procfs { pid, .. } => Skip::DeadProcess { pid },
            Remap::Other { remap_type, remap_id, .. } => Skip::UnknownRemap { remap_type, remap_id },
        });
    }
    let name = &reg.path[..];
    if name.ends_with(DELETED_SUFFIX) {
        return Some(Skip::Deleted);
    }
    if reg.size.is_none() {
        return Some(if should_store_validation_data(reg.flags.0) {
            Skip::NoSize { mode: reg.mode }
        } else {
            Skip::AppendOnly
        });
    }
    if !name.starts_with(b"/") {
        return Some(Skip::NotAbsolute);
    }
    if let Some(pid) = proc_pid(name) {
        return Some(Skip::ProcPid { pid });
    }
    None
}

/// The pid of a `/proc/<pid>` or `/proc/<pid>/...` path.
fn proc_pid(name: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(b"/proc/")?;
    let digits = rest.split(|&b| b == b'/').next()?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Turns names into files under the root.
struct Resolver {
    root: PathBuf,
    /// `None` when the root is `/`: names are then opened as they are.
    root_fd: Option<OwnedFd>,
}

impl Resolver {
    fn new(root: &Path) -> Result<Resolver, Error> {
        let is_slash = root.components().all(|c| c == Component::RootDir) && root.has_root();
        if is_slash {
            return Ok(Resolver {
                root: PathBuf::from("/"),
                root_fd: None,
            });
        }
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(root)
            .map_err(|source| Error::Root {
                path: root.to_path_buf(),
                source,
            })?;
        Ok(Resolver {
            root: root.to_path_buf(),
            root_fd: Some(OwnedFd::from(dir)),
        })
    }

    /// [`check()`] of the file that `name` leads to inside the root.
    fn check(&self, cookie: &RegFileCookie, name: &[u8], opts: &CheckOptions) -> Verdict {
        let rel = Path::new(OsStr::from_bytes(trim_slashes(name)));
        let shown = self.root.join(rel);
        let Some(root_fd) = &self.root_fd else {
            return check(cookie, &shown, opts);
        };
        match open_in_root(root_fd, rel) {
            Ok(fd) => {
                // An O_PATH descriptor is reopened for reading through its /proc/self/fd link,
                // the standard way to open a file resolved once.
                let via = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
                let mut v = check(cookie, &via, opts);
                v.path.clone_from(&shown);
                for p in &mut v.problems {
                    p.path.clone_from(&shown);
                }
                for n in &mut v.notes {
                    n.path.clone_from(&shown);
                }
                v
            }
            // Kernels before 5.6 have no openat2: resolve lexically instead.
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => check(cookie, &shown, opts),
            Err(e) => Verdict {
                path: shown.clone(),
                problems: vec![Problem {
                    path: shown,
                    kind: ProblemKind::Open(e),
                }],
                notes: Vec::new(),
            },
        }
    }
}

fn trim_slashes(mut name: &[u8]) -> &[u8] {
    while let Some(rest) = name.strip_prefix(b"/") {
        name = rest;
    }
    name
}

/// `struct open_how` of `linux/openat2.h` (libc's is `non_exhaustive`, so it cannot be built).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// Resolves `rel` inside the directory `root` as if it were `/`, without opening the file itself
/// (`O_PATH`: no side effects even if the path has become a device).
fn open_in_root(root: &OwnedFd, rel: &Path) -> io::Result<OwnedFd> {
    let c = std::ffi::CString::new(rel.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // EAGAIN: a concurrent rename raced the in-root resolution; the kernel asks for a retry.
    let mut tries = 0;
    loop {
        tries += 1;
        // SAFETY: openat2 reads a NUL-terminated path and `size_of::<OpenHow>()` bytes of `how`,
        // both live for the call; it returns a new descriptor that nothing else owns, or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: `fd` was just returned by the kernel and is owned by no one else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        let e = io::Error::last_os_error();
        let again =
            e.kind() == io::ErrorKind::Interrupted || e.raw_os_error() == Some(libc::EAGAIN);
        if !again || tries >= 64 {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_pid_paths() {
        assert_eq!(proc_pid(b"/proc/12/maps"), Some(12));
        assert_eq!(proc_pid(b"/proc/12"), Some(12));
        assert_eq!(proc_pid(b"/proc/self/maps"), None);
        assert_eq!(proc_pid(b"/proc/sys/kernel/pid_max"), None);
        assert_eq!(proc_pid(b"/proc//x"), None);
        assert_eq!(proc_pid(b"/usr/proc/12"), None);
    }

    #[test]
    fn slashes_are_trimmed() {
        assert_eq!(trim_slashes(b"//usr/lib"), b"usr/lib");
        assert_eq!(trim_slashes(b"/"), b"");
    }
}
