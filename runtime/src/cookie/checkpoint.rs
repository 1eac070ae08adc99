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
use std::io::{self, Write as _};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use criu_image_proto::support::json::JsonWriter;
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
    /// The entry's `mode` (file type and permissions at dump time), when recorded.
    pub mode: Option<u32>,
    /// Checked (with its verdict) or skipped (with why).
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
    /// Ok, skipped or bad.
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
    Ghost {
        /// The ghost file's id (`remap-fpath.img`'s `remap_id`; hex in the image's file name).
        ghost_id: u32,
    },
    /// Unlinked at dump time but still reachable through another name, which CRIU dumped as the
    /// regular file `remap_id` (CRIU's link remap, normally `link_remap.<n>`).
    LinkRemap {
        /// The file id of the link CRIU made (`remap-fpath.img`'s `remap_id`).
        remap_id: u32,
        /// The link's path, when `files.img` has that regular file.
        remap_name: Option<Vec<u8>>,
    },
    /// A directory in `/proc` of a process that was gone at dump time; CRIU recreates a helper
    /// task with pid `pid` for the restore.
    DeadProcess {
        /// The dead process's pid (`remap-fpath.img`'s `remap_id`).
        pid: u32,
    },
    /// A `remap-fpath.img` entry of a type this crate does not know.
    UnknownRemap {
        /// The entry's `remap_type` number.
        remap_type: i32,
        /// The entry's `remap_id`.
        remap_id: u32,
    },
    /// The name ends with `" (deleted)"`: unlinked at dump time.
    Deleted,
    /// Open `O_WRONLY|O_APPEND`: CRIU records no size for files that are expected to grow, and
    /// compares only the mode.
    AppendOnly,
    /// No size recorded (`mode` is the stored `st_mode`): not a regular file at dump time, so CRIU
    /// compares only the mode.
    NoSize {
        /// `reg_file_entry.mode`, when recorded.
        mode: Option<u32>,
    },
    /// The name is not an absolute path, which CRIU never dumps.
    NotAbsolute,
    /// Under `/proc/<pid>`: about a process that only exists once the restore has recreated it.
    ProcPid {
        /// The pid after `/proc/`.
        pid: u32,
    },
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
    Root {
        /// The root directory given.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
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
            // A directory, device, socket or FIFO: CRIU's restore opens it and compares its mode
            // only. It is looked at without being opened (a device's open can act).
            None if reg.size.is_none() => Outcome::Checked(resolver.check_mode(reg.mode.unwrap_or(0), &reg.path, opts)),
            None => Outcome::Checked(resolver.check(&RegFileCookie::from(reg), &reg.path, opts)),
        };
        out.push(FileVerdict {
            id: f.id,
            image: f.source.file_name(),
            name: reg.path.to_vec(),
            mode: reg.mode,
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
        if !should_store_validation_data(reg.flags.0) {
            return Some(Skip::AppendOnly);
        }
        if reg.mode.is_none() {
            return Some(Skip::NoSize { mode: None });
        }
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

    /// The mode check of what `name` leads to inside the root, through an `O_PATH` descriptor:
    /// it must exist, and its mode must be `mode` (the rwx bits masked as the options say).
    fn check_mode(&self, mode: u32, name: &[u8], opts: &CheckOptions) -> Verdict {
        let rel = Path::new(OsStr::from_bytes(trim_slashes(name)));
        let shown = self.root.join(rel);
        let opened = match &self.root_fd {
            Some(root_fd) => match open_in_root(root_fd, rel) {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => open_path(&shown),
                other => other,
            },
            None => open_path(&shown),
        };
        super::check::check_mode_of(opened.and_then(|fd| std::fs::File::from(fd).metadata()), mode, &shown, opts)
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

/// `path` opened `O_PATH` (resolved, not opened: no side effects on a device).
fn open_path(path: &Path) -> io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH | libc::O_CLOEXEC).open(path)?;
    Ok(OwnedFd::from(f))
}

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

/// What kind of file an entry was at dump time, by its mode's `S_IFMT`.
pub fn file_type(mode: Option<u32>) -> Option<&'static str> {
    Some(match mode? & libc::S_IFMT {
        libc::S_IFREG => "regular",
        libc::S_IFDIR => "directory",
        libc::S_IFCHR | libc::S_IFBLK => "device",
        libc::S_IFIFO => "fifo",
        libc::S_IFSOCK => "socket",
        libc::S_IFLNK => "symlink",
        _ => return None,
    })
}

/// Counts of a set of verdicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Verdicts in all.
    pub files: usize,
    /// Regular files among them.
    pub regular: usize,
    /// Directories among them.
    pub directories: usize,
    /// Neither (devices, sockets, FIFOs, or of unknown type).
    pub other: usize,
    /// Accepted.
    pub ok: usize,
    /// Not checked.
    pub skipped: usize,
    /// Refused.
    pub bad: usize,
}

/// Counts `verdicts` by type and by status.
pub fn counts(verdicts: &[FileVerdict]) -> Counts {
    let mut c = Counts { files: verdicts.len(), ..Counts::default() };
    for v in verdicts {
        match file_type(v.mode) {
            Some("regular") => c.regular += 1,
            Some("directory") => c.directories += 1,
            _ => c.other += 1,
        }
        match v.status() {
            Status::Ok => c.ok += 1,
            Status::Skipped => c.skipped += 1,
            Status::Bad => c.bad += 1,
        }
    }
    c
}

/// Writes verdicts as text: `<ok|skipped|bad> <file id> <path>` per file (a skipped file's reason
/// after a colon), its problems and notes indented below it, then
/// `PATH: ok|NOT OK: N files (R regular, D directories, O other), K ok, S skipped, B bad`.
/// `quiet` shows only bad files, and nothing at all when none is bad.
pub fn write_text(checkpoint: &Path, verdicts: &[FileVerdict], quiet: bool, out: &mut dyn io::Write) -> io::Result<()> {
    let mut buf = Vec::new();
    let c = counts(verdicts);
    for v in verdicts {
        let status = v.status();
        if quiet && status != Status::Bad {
            continue;
        }
        let _ = write!(buf, "{status} {} ", v.id);
        buf.extend_from_slice(&v.name);
        if let Some(skip) = v.skip() {
            let _ = write!(buf, ": {skip}");
        }
        buf.push(b'\n');
        let details = v.problems().iter().map(ToString::to_string).chain(v.notes().iter().map(ToString::to_string));
        for d in details {
            for line in d.lines() {
                let _ = writeln!(buf, "    {line}");
            }
        }
    }
    if !(quiet && c.bad == 0) {
        let _ = writeln!(
            buf,
            "{}: {}: {} files ({} regular, {} directories, {} other), {} ok, {} skipped, {} bad",
            checkpoint.display(),
            if c.bad == 0 { "ok" } else { "NOT OK" },
            c.files,
            c.regular,
            c.directories,
            c.other,
            c.ok,
            c.skipped,
            c.bad
        );
    }
    out.write_all(&buf)
}

/// Writes verdicts as one JSON object:
///
/// ```text
/// {"checkpoint": PATH, "root": ROOT, "files": N, "regular": N, "directories": N, "other": N,
///  "ok": N, "skipped": N, "bad": N, "clean": BOOL,
///  "verdicts": [{"id": 7, "image": "files.img", "path": "/lib/a.so", "type": "regular",
///                "checked": "/srv/root/lib/a.so", "verdict": "bad",
///                "problems": [{"check": "size", "expected": 8, "actual": 9,
///                              "message": "File /srv/root/lib/a.so has bad size 9 (expect 8)"}],
///                "notes": [{"message": "..."}],
///                "skip": null}, ...]}
/// ```
///
/// `type` is the entry's file type at dump time (`regular`, `directory`, `device`, `fifo`,
/// `socket`, `symlink`, or `null` when the image records no mode); `checked` is the path looked
/// at (`null` when skipped). A problem's `check` is `open`, `stat`, `size` (numbers),
/// `build_id_length` (bytes), `build_id` (hex strings), `checksum` (hex strings) or `mode`
/// (octal strings, as CRIU prints them), with `expected` (the image's value) and `actual` (the
/// file's), or neither for `open`/`stat`. `skip` is `{"reason": "external" | "ghost" |
/// "link_remap" | "dead_process" | "unknown_remap" | "deleted" | "append_only" | "no_size" |
/// "not_absolute" | "proc_pid", "message": "..."}` for a skipped file.
pub fn write_json(checkpoint: &Path, root: &Path, verdicts: &[FileVerdict], out: &mut dyn io::Write) -> io::Result<()> {
    use super::check::ProblemKind;
    let c = counts(verdicts);
    let mut j = JsonWriter::new(false);
    j.begin_object();
    j.key("checkpoint");
    j.str_bytes(checkpoint.as_os_str().as_encoded_bytes());
    j.key("root");
    j.str_bytes(root.as_os_str().as_encoded_bytes());
    for (k, n) in [
        ("files", c.files),
        ("regular", c.regular),
        ("directories", c.directories),
        ("other", c.other),
        ("ok", c.ok),
        ("skipped", c.skipped),
        ("bad", c.bad),
    ] {
        j.key(k);
        j.u64(n as u64);
    }
    j.key("clean");
    j.bool(c.bad == 0);
    j.key("verdicts");
    j.begin_array();
    for v in verdicts {
        j.begin_object();
        j.key("id");
        j.u64(u64::from(v.id));
        j.key("image");
        j.str(v.image);
        j.key("path");
        j.str_bytes(&v.name);
        j.key("type");
        match file_type(v.mode) {
            Some(t) => j.str(t),
            None => j.raw_value("null"),
        }
        j.key("checked");
        match v.checked_path() {
            Some(p) => j.str_bytes(p.as_os_str().as_encoded_bytes()),
            None => j.raw_value("null"),
        }
        j.key("verdict");
        j.str(&v.status().to_string());
        j.key("problems");
        j.begin_array();
        for p in v.problems() {
            j.begin_object();
            j.key("check");
            let ev = |j: &mut JsonWriter, e: &dyn Fn(&mut JsonWriter), a: &dyn Fn(&mut JsonWriter)| {
                j.key("expected");
                e(j);
                j.key("actual");
                a(j);
            };
            match &p.kind {
                ProblemKind::Open(_) => j.str("open"),
                ProblemKind::Stat(_) => j.str("stat"),
                ProblemKind::BadSize { actual, expected } => {
                    j.str("size");
                    ev(&mut j, &|j| j.u64(*expected), &|j| j.u64(*actual));
                }
                ProblemKind::BadBuildIdLength { actual, expected } => {
                    j.str("build_id_length");
                    ev(&mut j, &|j| j.u64(*expected), &|j| j.u64(*actual));
                }
                ProblemKind::BadBuildId { actual, expected } => {
                    j.str("build_id");
                    let stored = super::build_id::from_words(expected, actual.as_bytes().len()).unwrap_or_default();
                    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
                    ev(&mut j, &|j| j.str(&hex(&stored)), &|j| j.str(&actual.to_string()));
                }
                ProblemKind::BadChecksum { actual, expected, .. } => {
                    j.str("checksum");
                    ev(&mut j, &|j| j.str(&format!("{expected:08x}")), &|j| j.str(&format!("{actual:08x}")));
                }
                ProblemKind::BadMode { actual, expected, .. } => {
                    j.str("mode");
                    ev(&mut j, &|j| j.str(&format!("0{expected:o}")), &|j| j.str(&format!("0{actual:o}")));
                }
            }
            j.key("message");
            j.str(&p.to_string());
            j.end_object();
        }
        j.end_array();
        j.key("notes");
        j.begin_array();
        for n in v.notes() {
            j.begin_object();
            j.key("message");
            j.str(&n.to_string());
            j.end_object();
        }
        j.end_array();
        j.key("skip");
        match v.skip() {
            None => j.raw_value("null"),
            Some(s) => {
                j.begin_object();
                j.key("reason");
                j.str(match s {
                    Skip::External => "external",
                    Skip::Ghost { .. } => "ghost",
                    Skip::LinkRemap { .. } => "link_remap",
                    Skip::DeadProcess { .. } => "dead_process",
                    Skip::UnknownRemap { .. } => "unknown_remap",
                    Skip::Deleted => "deleted",
                    Skip::AppendOnly => "append_only",
                    Skip::NoSize { .. } => "no_size",
                    Skip::NotAbsolute => "not_absolute",
                    Skip::ProcPid { .. } => "proc_pid",
                });
                j.key("message");
                j.str(&s.to_string());
                j.end_object();
            }
        }
        j.end_object();
    }
    j.end_array();
    j.end_object();
    let mut buf = j.take();
    buf.push(b'\n');
    out.write_all(&buf)
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
