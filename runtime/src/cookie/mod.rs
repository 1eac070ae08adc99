//! File-content cookies: the evidence CRIU keeps in a `reg_file_entry` to make sure that the file a
//! restore reopens is the file the dump saw.
//!
//! CRIU records, for every dumped regular file (open descriptors and file-backed mappings alike):
//!
//! * `size`: `st_size` at dump time (always, unless the file is open `O_WRONLY|O_APPEND`);
//! * `mode`: `st_mode`;
//! * `build_id`: the ELF `NT_GNU_BUILD_ID` descriptor, found by CRIU's own program-header walk over
//!   the first MiB of the file, stored as `repeated uint32` ([`build_id`]);
//! * `checksum`, `checksum_config`, `checksum_parameter`: defined in `regfile.proto` but never filled
//!   by any released CRIU. This crate gives them a precise meaning ([`checksum`]).
//!
//! On restore CRIU compares these against the file it opened and fails the restore on the first
//! mismatch (`validate_file` in `criu/files-reg.c`). [`check`] reproduces those verdicts and their
//! messages; [`RegFileCookie::for_dump`] computes a cookie the way the dump side does.
//!
//! # Entry points
//!
//! * [`build_id::build_id`], [`build_id::scan_file`], [`build_id::build_id_from_bytes`]: CRIU's
//!   build-id rules, reading only the bytes they need with positioned reads.
//! * [`checksum::checksum_file`], [`checksum::ChecksumMode`]: CRC32C of a whole file, of its first
//!   N bytes, or of every N-th 4 KiB page.
//! * [`check()`], [`Verdict`], [`Problem`]: the restore-side comparison.
//!
//! # Trust model
//!
//! Files are hostile input: every function here is total over arbitrary bytes (malformed headers,
//! offsets that overflow, files that shrink while being read). Malformed ELF data gives "no
//! build-id", exactly where CRIU gives no build-id; I/O failures give a [`CookieError`]; nothing
//! panics.

pub mod build_id;
mod check;
pub mod checkpoint;
pub mod checksum;

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

pub use build_id::{BuildId, NoBuildId};
pub use check::{
    CheckOptions, Note, NoteKind, Problem, ProblemKind, RWX_BITS, SizeOnlyReason, Verdict, check,
};
pub use checksum::ChecksumMode;

/// Which evidence CRIU stores and compares, as chosen by `criu --file-validation METHOD`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FileValidation {
    /// `--file-validation filesize`: size (and mode) only.
    FileSize,
    /// `--file-validation buildid`, CRIU's default: size, mode, and the ELF build-id when the file
    /// has one.
    #[default]
    BuildId,
}

/// The validation fields of one dumped regular file, as found in CRIU's `reg_file_entry`.
///
/// A plain mirror of the protobuf fields (`size` = 8, `mode` = 10, `build_id` = 11, `checksum` = 12,
/// `checksum_config` = 13, `checksum_parameter` = 14) so that this module does not depend on the
/// generated types; `None` means the field is absent on the wire (`has_*` false in CRIU's C).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegFileCookie {
    /// `st_size` at dump time.
    pub size: Option<u64>,
    /// `st_mode` at dump time (file type and permission bits).
    pub mode: Option<u32>,
    /// The build-id bytes packed into host-endian words, see [`build_id::to_words`].
    pub build_id: Vec<u32>,
    /// CRC32C of the part of the file selected by `checksum_config`/`checksum_parameter`.
    pub checksum: Option<u32>,
    /// Which part of the file `checksum` covers, see [`checksum::ChecksumConfig`].
    pub checksum_config: Option<u32>,
    /// The N of `checksum_config`.
    pub checksum_parameter: Option<u32>,
}

/// What the dump side should store, see [`RegFileCookie::for_dump`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// CRIU's `--file-validation`.
    pub file_validation: FileValidation,
    /// Also store a checksum of this kind (no released CRIU does).
    pub checksum: Option<ChecksumMode>,
}

/// Whether CRIU stores validation data (size, build-id) for a file opened with `flags`.
///
/// CRIU's `should_check_size`: files open `O_WRONLY|O_APPEND` (logs) are expected to grow while the
/// process is checkpointed, so their size is not recorded and nothing is validated on restore.
pub fn should_store_validation_data(flags: u32) -> bool {
    let accmode = flags & libc::O_ACCMODE as u32;
    !(accmode == libc::O_WRONLY as u32 && flags & libc::O_APPEND as u32 != 0)
}

/// Whether CRIU's dump side even tries to compute a build-id for a file of `st_size` bytes.
///
/// `store_validation_data_build_id` skips files smaller than `SELFMAG + 1` = 5 bytes (the ELF magic
/// plus the class byte). The restore side has no such gate, but any file that small has no
/// build-id there either, so the rule never changes a verdict; it only saves an `open`.
pub fn dump_computes_build_id(st_size: u64) -> bool {
    st_size >= build_id::MIN_DUMP_FILE_SIZE
}

impl RegFileCookie {
    /// Computes the cookie CRIU's dump side would store for `file`, opened with `open_flags`.
    ///
    /// Mirrors `dump_one_reg_file` → `store_validation_data`: `mode` is always set; `size` and the
    /// build-id only for regular files that [`should_store_validation_data`]; the build-id only with
    /// [`FileValidation::BuildId`], for files of at least 5 bytes that have one. The checksum, when
    /// requested, follows the same gates as the size.
    pub fn for_dump(file: &File, open_flags: u32, opts: &DumpOptions) -> Result<Self, CookieError> {
        let meta = file.metadata().map_err(CookieError::Stat)?;
        let mut cookie = RegFileCookie {
            mode: Some(meta.mode()),
            ..Default::default()
        };
        if !meta.file_type().is_file() || !should_store_validation_data(open_flags) {
            return Ok(cookie);
        }
        cookie.size = Some(meta.size());
        if opts.file_validation == FileValidation::BuildId && dump_computes_build_id(meta.size()) {
            // CRIU turns a failure to open the file into a dump error but treats "no build-id" as
            // normal ("Only file size could be stored for validation").
            let scan = build_id::scan_file_with_size(file, meta.size())?;
            if let Ok(id) = scan.outcome {
                cookie.build_id = id.to_words();
            }
        }
        if let Some(mode) = opts.checksum {
            cookie.checksum = Some(checksum::checksum_file(file, mode)?);
            cookie.checksum_config = Some(mode.config().0);
            cookie.checksum_parameter = Some(mode.parameter());
        }
        Ok(cookie)
    }
}

/// I/O failures while computing or checking a cookie. Malformed file contents are not errors.
#[derive(Debug)]
#[non_exhaustive]
pub enum CookieError {
    /// The file could not be opened.
    Open {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// `fstat` failed.
    Stat(io::Error),
    /// A positioned read failed.
    Read {
        /// The byte offset read at.
        offset: u64,
        /// What the system said.
        source: io::Error,
    },
    /// The file ended before `offset + len` although `st_size` promised those bytes: it shrank
    /// while being read. (CRIU's `mmap` would take a `SIGBUS` here.)
    Truncated {
        /// The byte offset of the read.
        offset: u64,
        /// Its length in bytes.
        len: u64,
    },
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::Open { path, source } => {
                write!(f, "can't open {}: {source}", path.display())
            }
            CookieError::Stat(source) => write!(f, "can't fstat the file: {source}"),
            CookieError::Read { offset, source } => {
                write!(f, "can't read the file at offset {offset}: {source}")
            }
            CookieError::Truncated { offset, len } => write!(
                f,
                "the file ended before byte {} (read of {len} bytes at offset {offset}); it was \
                 truncated while being read",
                offset.saturating_add(*len)
            ),
        }
    }
}

/// Every message includes what a wrapped error said, so `source()` is `None`: `{:#}` never
/// prints a cause twice.
impl std::error::Error for CookieError {}

/// Fills `buf` from `file` at `offset` with positioned reads (no shared file position is moved,
/// which is what CRIU's 2023 fix `a77185dae` was about).
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> Result<(), CookieError> {
    use std::os::unix::fs::FileExt;
    let mut done = 0usize;
    while done < buf.len() {
        // `done` fits in u64: it is bounded by a slice length.
        let at = offset
            .checked_add(done as u64)
            .ok_or(CookieError::Truncated {
                offset,
                len: buf.len() as u64,
            })?;
        match file.read_at(&mut buf[done..], at) {
            Ok(0) => {
                return Err(CookieError::Truncated {
                    offset,
                    len: buf.len() as u64,
                });
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(CookieError::Read { offset: at, source }),
        }
    }
    Ok(())
}

/// Reads up to `buf.len()` bytes at `offset`, stopping early only at end of file. Returns the
/// number of bytes read.
pub(crate) fn read_up_to_at(
    file: &File,
    buf: &mut [u8],
    offset: u64,
) -> Result<usize, CookieError> {
    use std::os::unix::fs::FileExt;
    let mut done = 0usize;
    while done < buf.len() {
        let Some(at) = offset.checked_add(done as u64) else {
            break;
        };
        match file.read_at(&mut buf[done..], at) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(CookieError::Read { offset: at, source }),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_only_writers_are_not_validated() {
        let wronly = libc::O_WRONLY as u32;
        let append = libc::O_APPEND as u32;
        assert!(!should_store_validation_data(wronly | append));
        assert!(should_store_validation_data(wronly));
        assert!(should_store_validation_data(libc::O_RDWR as u32 | append));
        assert!(should_store_validation_data(libc::O_RDONLY as u32));
    }

    #[test]
    fn dump_skips_files_below_five_bytes() {
        assert!(!dump_computes_build_id(0));
        assert!(!dump_computes_build_id(4));
        assert!(dump_computes_build_id(5));
    }
}
