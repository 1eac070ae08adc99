//! The restore-side comparison of a [`RegFileCookie`] with the file found at a path: CRIU's
//! `open_path` → `validate_file` → mode check, with CRIU's messages.
//!
//! CRIU's order and rules (`criu/files-reg.c`):
//!
//! 1. Nothing is checked unless the entry has `size` or `mode`.
//! 2. `size` present and different from `st_size`: "File %s has bad size %lu (expect %lu)", actual
//!    first. Restore fails.
//! 3. With `--file-validation buildid` (the default) and an entry that has `size`:
//!    * no `build_id` words stored, or the file's build-id cannot be computed (not ELF, no note,
//!      `mmap` failure): info "File %s could only be validated with file size"; OK;
//!    * `round_up(len, 4) != 4 * n_build_id`: "File %s has bad build-ID length %d (expect %d)";
//!    * the first `len` bytes of the stored words differ: "File %s has bad build-ID".
//!
//!    An entry without `size` skips the build-id check entirely (`validate_with_build_id` returns
//!    "validated" when `!has_size`).
//! 4. `mode` present and different from `st_mode`: "File %s has bad mode 0%o (expect 0%o)" followed
//!    by the hint line about `--skip-file-rwx-check`. With that option both modes are compared with
//!    the 0777 bits (`S_IRWXU | S_IRWXG | S_IRWXO`) cleared: file type, set-user-ID, set-group-ID
//!    and sticky bits are still compared, and the printed modes are the masked ones.
//!
//! This crate adds, between 3 and 4, the checksum: when the entry has `size`, `checksum` and
//! `checksum_config` (and the parameter its config needs), the file's checksum must match: "File
//! %s has bad checksum %x (expect %x)", the wording of CRIU's unmerged PR #1148. A checksum that
//! cannot be evaluated (unknown config, read error) is reported as a [`Note`] and passes, as PR
//! #1148 did.
//!
//! CRIU stops at the first failure. [`check`] runs every step and lists every problem, in CRIU's
//! order, so [`Verdict::first_problem`] is the one CRIU would print.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::build_id::{self, BuildId, NoBuildId};
use super::checksum::{self, ChecksumMode, ChecksumModeError};
use super::{CookieError, FileValidation, RegFileCookie};

/// The permission bits `--skip-file-rwx-check` ignores: `S_IRWXU | S_IRWXG | S_IRWXO`.
pub const RWX_BITS: u32 = 0o777;

/// Restore-side options that change the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// CRIU's `--file-validation`: with [`FileValidation::FileSize`] build-ids are not compared.
    pub file_validation: FileValidation,
    /// CRIU's `--skip-file-rwx-check`.
    pub skip_file_rwx_check: bool,
    /// Compare checksums when the entry carries them (CRIU never does; on by default).
    pub verify_checksum: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            file_validation: FileValidation::BuildId,
            skip_file_rwx_check: false,
            verify_checksum: true,
        }
    }
}

/// The outcome of [`check`]: CRIU's restore fails iff `problems` is not empty.
#[derive(Debug)]
pub struct Verdict {
    /// The path that was checked, as given.
    pub path: PathBuf,
    /// Mismatches, in the order CRIU evaluates them.
    pub problems: Vec<Problem>,
    /// Informational findings that do not fail a restore.
    pub notes: Vec<Note>,
}

impl Verdict {
    /// Whether CRIU would accept the file.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problem CRIU would report (it stops at the first).
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// One line per problem, then one per note; "File %s is valid" when there is neither.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() && self.notes.is_empty() {
            return write!(f, "File {} is valid", self.path.display());
        }
        let mut first = true;
        for line in self
            .problems
            .iter()
            .map(|p| p as &dyn fmt::Display)
            .chain(self.notes.iter().map(|n| n as &dyn fmt::Display))
        {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

/// A mismatch that makes CRIU's restore fail.
#[derive(Debug)]
pub struct Problem {
    /// The file as the restore would open it (the entry's path under the root given to
    /// [`check`](crate::cookie::check())).
    pub path: PathBuf,
    /// What differs, with both values.
    pub kind: ProblemKind,
}

/// What [`Problem`] is about.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The file could not be opened.
    Open(io::Error),
    /// `fstat` on the opened file failed.
    Stat(io::Error),
    /// `st_size` differs from the stored size.
    BadSize {
        /// The file's `st_size` now, in bytes.
        actual: u64,
        /// `reg_file_entry.size` at dump time, in bytes.
        expected: u64,
    },
    /// The file's build-id, rounded up to whole words, is not as long as the stored words.
    BadBuildIdLength {
        /// 32-bit words of the file's build-id now.
        actual: u64,
        /// Words of `reg_file_entry.build_id`.
        expected: u64,
    },
    /// The build-id bytes differ.
    BadBuildId {
        /// The file's build-id now.
        actual: BuildId,
        /// `reg_file_entry.build_id`, as CRIU stores it (host-endian 32-bit words).
        expected: Vec<u32>,
    },
    /// The checksum differs.
    BadChecksum {
        /// CRC32C of the file now.
        actual: u32,
        /// `reg_file_entry.checksum`.
        expected: u32,
        /// What part of the file the checksum covers (from `checksum_config` and
        /// `checksum_parameter`).
        mode: ChecksumMode,
    },
    /// The mode differs (both values already masked when `rwx_masked`).
    BadMode {
        /// The file's `st_mode` now.
        actual: u32,
        /// `reg_file_entry.mode` at dump time.
        expected: u32,
        /// Whether the permission bits ([`RWX_BITS`]) were left out of both values, as
        /// `--skip-file-rwx-check` asks ([`CheckOptions`]): then only the file type differs.
        rwx_masked: bool,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ProblemKind::Open(e) => write!(f, "Can't open file {path} on restore: {e}"),
            ProblemKind::Stat(e) => write!(f, "Can't fstat opened file {path}: {e}"),
            ProblemKind::BadSize { actual, expected } => {
                write!(f, "File {path} has bad size {actual} (expect {expected})")
            }
            ProblemKind::BadBuildIdLength { actual, expected } => {
                write!(
                    f,
                    "File {path} has bad build-ID length {actual} (expect {expected})"
                )
            }
            ProblemKind::BadBuildId { .. } => write!(f, "File {path} has bad build-ID"),
            ProblemKind::BadChecksum {
                actual, expected, ..
            } => {
                write!(
                    f,
                    "File {path} has bad checksum {actual:x} (expect {expected:x})"
                )
            }
            ProblemKind::BadMode {
                actual, expected, ..
            } => write!(
                f,
                "File {path} has bad mode 0{actual:o} (expect 0{expected:o})\n\
                 File r/w/x checks can be skipped with the --skip-file-rwx-check option"
            ),
        }
    }
}

/// The message includes the system's error, so `source()` is `None`.
impl std::error::Error for Problem {}

/// An informational finding; the restore proceeds.
#[derive(Debug)]
pub struct Note {
    /// The file as the restore would open it.
    pub path: PathBuf,
    /// What was noticed.
    pub kind: NoteKind,
}

/// What [`Note`] is about.
#[derive(Debug)]
#[non_exhaustive]
pub enum NoteKind {
    /// CRIU's "could only be validated with file size": the entry has no build-id, or the file's
    /// build-id cannot be computed (the reason, when there is one).
    SizeOnly(Option<SizeOnlyReason>),
    /// The entry has a checksum this crate cannot evaluate.
    ChecksumNotVerified(ChecksumModeError),
    /// Reading the file for its checksum failed.
    ChecksumUnreadable(CookieError),
}

/// Why a build-id could not be compared.
#[derive(Debug)]
pub enum SizeOnlyReason {
    /// The file has no build-id under CRIU's rules.
    NoBuildId(NoBuildId),
    /// Reading the file failed (CRIU: `mmap` failure).
    Unreadable(CookieError),
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            NoteKind::SizeOnly(None) => {
                write!(f, "File {path} could only be validated with file size")
            }
            NoteKind::SizeOnly(Some(SizeOnlyReason::NoBuildId(why))) => {
                write!(
                    f,
                    "File {path} could only be validated with file size ({why})"
                )
            }
            NoteKind::SizeOnly(Some(SizeOnlyReason::Unreadable(e))) => {
                write!(
                    f,
                    "File {path} could only be validated with file size ({e})"
                )
            }
            NoteKind::ChecksumNotVerified(why) => {
                write!(f, "Could not validate with checksum for file {path}: {why}")
            }
            NoteKind::ChecksumUnreadable(e) => {
                write!(f, "Could not validate with checksum for file {path}: {e}")
            }
        }
    }
}

/// Compares `cookie` with the file at `path`, the way CRIU's restore does (see the module docs).
pub fn check(cookie: &RegFileCookie, path: &Path, opts: &CheckOptions) -> Verdict {
    let mut v = Verdict {
        path: path.to_path_buf(),
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let problem = |kind| Problem {
        path: path.to_path_buf(),
        kind,
    };
    let note = |kind| Note {
        path: path.to_path_buf(),
        kind,
    };

    // O_NONBLOCK: if the path has become a FIFO, opening it for reading must not wait for a
    // writer; it is a no-op for regular files. O_NOCTTY: a terminal must not become ours.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            v.problems.push(problem(ProblemKind::Open(e)));
            return v;
        }
    };
    // CRIU validates only entries with a size or a mode.
    if cookie.size.is_none() && cookie.mode.is_none() {
        return v;
    }
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(problem(ProblemKind::Stat(e)));
            return v;
        }
    };

    if let Some(expected) = cookie.size
        && meta.size() != expected
    {
        v.problems.push(problem(ProblemKind::BadSize {
            actual: meta.size(),
            expected,
        }));
    }

    if opts.file_validation == FileValidation::BuildId && cookie.size.is_some() {
        match compare_build_id(&cookie.build_id, &file, meta.size()) {
            Ok(()) => {}
            Err(Compared::Problem(kind)) => v.problems.push(problem(kind)),
            Err(Compared::SizeOnly(reason)) => v.notes.push(note(NoteKind::SizeOnly(reason))),
        }
    }

    if opts.verify_checksum
        && cookie.size.is_some()
        && let (Some(expected), Some(config)) = (cookie.checksum, cookie.checksum_config)
    {
        match ChecksumMode::from_fields(config, cookie.checksum_parameter) {
            Err(why) => v.notes.push(note(NoteKind::ChecksumNotVerified(why))),
            Ok(mode) => match checksum::checksum_file(&file, mode) {
                Err(e) => v.notes.push(note(NoteKind::ChecksumUnreadable(e))),
                Ok(actual) if actual != expected => {
                    v.problems.push(problem(ProblemKind::BadChecksum {
                        actual,
                        expected,
                        mode,
                    }))
                }
                Ok(_) => {}
            },
        }
    }

    if let Some(saved) = cookie.mode {
        let (mut actual, mut expected) = (meta.mode(), saved);
        if opts.skip_file_rwx_check {
            actual &= !RWX_BITS;
            expected &= !RWX_BITS;
        }
        if actual != expected {
            v.problems.push(problem(ProblemKind::BadMode {
                actual,
                expected,
                rwx_masked: opts.skip_file_rwx_check,
            }));
        }
    }
    v
}

/// The mode comparison alone, of a path whose metadata was read without opening it (an entry
/// without `size`: a directory, device, socket or FIFO at dump time). A missing path is CRIU's
/// "Can't open file" failure.
pub fn check_mode_of(meta: io::Result<std::fs::Metadata>, saved: u32, path: &Path, opts: &CheckOptions) -> Verdict {
    let mut v = Verdict { path: path.to_path_buf(), problems: Vec::new(), notes: Vec::new() };
    let problem = |kind| Problem { path: path.to_path_buf(), kind };
    match meta {
        Err(e) => v.problems.push(problem(ProblemKind::Open(e))),
        Ok(meta) => {
            let (mut actual, mut expected) = (meta.mode(), saved);
            if opts.skip_file_rwx_check {
                actual &= !RWX_BITS;
                expected &= !RWX_BITS;
            }
            if actual != expected {
                v.problems.push(problem(ProblemKind::BadMode { actual, expected, rwx_masked: opts.skip_file_rwx_check }));
            }
        }
    }
    v
}

enum Compared {
    Problem(ProblemKind),
    SizeOnly(Option<SizeOnlyReason>),
}

/// CRIU's `validate_with_build_id`, after its `has_size` gate.
fn compare_build_id(words: &[u32], file: &File, st_size: u64) -> Result<(), Compared> {
    if words.is_empty() {
        return Err(Compared::SizeOnly(None));
    }
    let scan = build_id::scan_file_with_size(file, st_size)
        .map_err(|e| Compared::SizeOnly(Some(SizeOnlyReason::Unreadable(e))))?;
    let actual = scan
        .outcome
        .map_err(|why| Compared::SizeOnly(Some(SizeOnlyReason::NoBuildId(why))))?;
    let len = actual.as_bytes().len() as u64;
    let expected_len = words.len() as u64 * 4;
    if len.next_multiple_of(4) != expected_len {
        return Err(Compared::Problem(ProblemKind::BadBuildIdLength {
            actual: len.next_multiple_of(4),
            expected: expected_len,
        }));
    }
    // Only the id's own bytes are compared, not the padding of the last stored word (`memcmp`
    // over `build_id_size` bytes).
    let stored = build_id::from_words(words, actual.as_bytes().len());
    if stored.as_deref() != Some(actual.as_bytes()) {
        return Err(Compared::Problem(ProblemKind::BadBuildId {
            actual,
            expected: words.to_vec(),
        }));
    }
    Ok(())
}
