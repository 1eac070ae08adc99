//! `crit build-id FILE...`, `crit checksum FILE...` and `crit check-files CHECKPOINT`: the file
//! cookies of `criu_image::cookie` (the evidence CRIU keeps to recognise a file on restore) from
//! the command line.
//!
//! `build-id` and `checksum` print one `<value> <path>` line per file, in argument order, like
//! `sha256sum`: the path is written as given, byte for byte. A file that cannot be read gets a
//! `crit: <path>: <error>` line on stderr; the others are still printed and the exit status is 1.

use std::fs::File;
use std::io::{self, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use criu_image::cookie::build_id::{self, BuildId, NoBuildId};
use criu_image::cookie::checkpoint::{self as files, Status};
use criu_image::cookie::checksum::{self, ChecksumMode};
use criu_image::cookie::{CheckOptions, CookieError};

/// Largest decompressed size of a checkpoint archive `check-files` reads (`crit x`'s default).
const MAX_ARCHIVE_SIZE: u64 = 4 << 30;

/// Print the ELF build-id of files, as CRIU computes it
///
/// One line per file: `<hex id> <path>`, or `- <path>` when the file has no build-id under CRIU's
/// rules (not ELF, no NT_GNU_BUILD_ID note in a PT_NOTE segment within the first MiB, or not a
/// regular file). The hex is the note's descriptor, as `readelf -n` prints it after "Build ID:".
/// CRIU stores it in reg_file_entry.build_id and compares it on restore (--file-validation
/// buildid, the default).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct BuildIdArgs {
    /// Files to read
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Say on stderr why a file has no build-id
    #[arg(short, long)]
    verbose: bool,
}

/// Print the CRC-32C of files (whole, first N bytes, or every N-th page)
///
/// One line per file: `<8 hex digits> <path>`. The CRC is CRC-32C (Castagnoli polynomial, as in
/// iSCSI and ext4; the check value of "123456789" is e3069283) of a byte string S taken from the
/// file:
///
///   (default)   S is every byte of the file.
///   --first N   S is the first N bytes, or the whole file if it is shorter (N = 0: S is empty
///               and the checksum 00000000).
///   --every N   The file is cut into 4096-byte pages from offset 0, the last one possibly short
///               (taken as is, not padded); S is pages 0, N, 2N, ... concatenated. N >= 1;
///               --every 1 is the whole file, --every 256 reads one page per MiB. The page size
///               is 4096 whatever the host's, so values are portable.
///
/// An empty file has checksum 00000000 in every mode. These are the three modes (checksum_config
/// 1, 2, 3 with checksum_parameter N) of the checksum fields of CRIU's reg_file_entry, which CRIU
/// defines but never fills; criu_image::cookie::checksum documents them.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ChecksumArgs {
    /// Only the first N bytes
    #[arg(long, value_name = "N", conflicts_with = "every")]
    first: Option<u32>,
    /// Only 4 KiB pages 0, N, 2N, ... (N >= 1)
    #[arg(long, value_name = "N")]
    every: Option<NonZeroU32>,
    /// Files to read
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Check a checkpoint's regular files against the filesystem, as CRIU's restore will
///
/// Every regular file of files.img (and reg-files.img) is compared with the file at its path:
/// size, ELF build-id, checksum (when recorded) and mode, with the messages of CRIU's restore.
/// Files whose path is not what the restore opens (external, unlinked, under /proc/<pid>) or for
/// which CRIU records no size (not regular, or open O_WRONLY|O_APPEND) are skipped, with the
/// reason.
///
/// Text: one `<ok|skipped|bad> <file id> <path>` line per file (a skipped file's reason after a
/// colon), its problems and notes indented below it, then a summary line.
///
/// --json: one object with counts and the verdicts, each with its problems' expected and actual
/// values (schema: criu_image::cookie::checkpoint::write_json).
///
/// Exit status 1 when a file is bad.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CheckFilesArgs {
    /// Checkpoint directory, or archive (tar, tar.gz, tar.zst)
    checkpoint: PathBuf,
    /// The dumped tasks' root directory as seen from here, e.g. a container's rootfs (default /);
    /// names are resolved inside it, as after chroot
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// JSON instead of lines
    #[arg(long)]
    json: bool,
    /// Ignore the rwx permission bits in the mode comparison, like CRIU's option of that name
    #[arg(long)]
    skip_file_rwx_check: bool,
}

/// Opens a file to read its contents, if it is a regular file. The `stat` first keeps `open`
/// from waiting on a FIFO or acquiring a terminal; the `fstat` after it catches a file replaced in
/// between.
fn open_regular(path: &Path) -> Result<Option<File>, CookieError> {
    let open_err = |source| CookieError::Open { path: path.to_path_buf(), source };
    if !std::fs::metadata(path).map_err(open_err)?.file_type().is_file() {
        return Ok(None);
    }
    let file = File::open(path).map_err(open_err)?;
    let meta = file.metadata().map_err(CookieError::Stat)?;
    Ok(meta.file_type().is_file().then_some(file))
}

/// The build-id of `path` under CRIU's rules, or why there is none.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Id(BuildId),
    None(NoBuildId),
    NotRegular,
}

fn find_build_id(path: &Path) -> Result<Found, CookieError> {
    let Some(file) = open_regular(path)? else { return Ok(Found::NotRegular) };
    Ok(match build_id::scan_file(&file)?.outcome {
        Ok(id) => Found::Id(id),
        Err(why) => Found::None(why),
    })
}

/// `<hex> <path>\n` or `- <path>\n`.
fn value_line(value: &str, path: &Path) -> Vec<u8> {
    let mut line = Vec::with_capacity(value.len() + path.as_os_str().len() + 2);
    line.extend_from_slice(value.as_bytes());
    line.push(b' ');
    line.extend_from_slice(path.as_os_str().as_encoded_bytes());
    line.push(b'\n');
    line
}

/// Runs `f` on each file, writing its line to stdout and its error to stderr; fails at the end
/// if any file failed.
fn each_file(files: &[PathBuf], mut f: impl FnMut(&Path) -> Result<(Vec<u8>, Option<String>), CookieError>) -> Result<()> {
    let mut stdout = io::stdout().lock();
    let mut failed = 0usize;
    for path in files {
        match f(path) {
            Ok((line, remark)) => {
                stdout.write_all(&line)?;
                if let Some(r) = remark {
                    // Flushed first so that the remark follows its line on a terminal.
                    stdout.flush()?;
                    eprintln!("crit: {}: {r}", path.display());
                }
            }
            Err(e) => {
                stdout.flush()?;
                match e {
                    // The message names the path already.
                    CookieError::Open { .. } => eprintln!("crit: {e}"),
                    e => eprintln!("crit: {}: {e}", path.display()),
                }
                failed += 1;
            }
        }
    }
    stdout.flush()?;
    if failed > 0 {
        return Err(anyhow!("{failed} of {} files could not be read", files.len()));
    }
    Ok(())
}

pub fn build_id(a: BuildIdArgs) -> Result<()> {
    each_file(&a.files, |path| {
        Ok(match find_build_id(path)? {
            Found::Id(id) => (value_line(&id.to_string(), path), None),
            Found::None(why) => (value_line("-", path), a.verbose.then(|| format!("no build-id: {why}"))),
            Found::NotRegular => (
                value_line("-", path),
                a.verbose.then(|| "no build-id: not a regular file (CRIU stores build-ids of regular files only)".to_string()),
            ),
        })
    })
}

pub fn checksum(a: ChecksumArgs) -> Result<()> {
    let mode = match (a.first, a.every) {
        (Some(n), _) => ChecksumMode::FirstBytes(n),
        (None, Some(n)) => ChecksumMode::EveryNthPage(n),
        (None, None) => ChecksumMode::WholeFile,
    };
    each_file(&a.files, |path| {
        let Some(file) = open_regular(path)? else {
            return Err(CookieError::Open {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            });
        };
        let crc = checksum::checksum_file(&file, mode)?;
        Ok((value_line(&format!("{crc:08x}"), path), None))
    })
}

/// `crit check-files`: exits with status 1 when a file is bad.
pub fn run_check_files(a: CheckFilesArgs) -> Result<crate::Status> {
    // Findings are the output, not a failure of crit: no "crit: error" line, just the status.
    Ok(check_files(&a.checkpoint, a.root.as_deref(), a.json, false, a.skip_file_rwx_check)?.into())
}

/// Checks the regular files of the checkpoint at `ckpt_path` against the files under `root`
/// (default `/`) and prints the verdicts to stdout, as text or JSON (see `crit check-files
/// --help`). Returns whether no file is bad. For `crit check --files`.
pub fn check_files(ckpt_path: &Path, root: Option<&Path>, json: bool, quiet: bool, skip_rwx: bool) -> Result<bool> {
    let ckpt = crate::x::open(ckpt_path, MAX_ARCHIVE_SIZE)?;
    let opts = CheckOptions { skip_file_rwx_check: skip_rwx, ..CheckOptions::default() };
    let root = root.unwrap_or(Path::new("/"));
    let verdicts = files::check_files(&ckpt, root, &opts).map_err(|e| anyhow!("{}: {e}", ckpt_path.display()))?;
    let mut out = Vec::new();
    if json {
        files::write_json(ckpt_path, root, &verdicts, &mut out)?;
    } else {
        files::write_text(ckpt_path, &verdicts, quiet, &mut out)?;
    }
    let mut stdout = io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(verdicts.iter().all(|v| v.status() != Status::Bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// `readelf -n`'s "Build ID:" value.
    fn readelf_build_id(path: &Path) -> Option<String> {
        let out = Command::new("readelf").arg("-n").arg(path).output().expect("readelf (binutils) is needed for this test");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
    }

    /// The line `crit build-id` prints for `path`.
    fn build_id_line(path: &Path) -> String {
        let line = match find_build_id(path).unwrap() {
            Found::Id(id) => value_line(&id.to_string(), path),
            _ => value_line("-", path),
        };
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn build_id_lines_match_readelf() {
        let candidates = ["/bin/sh", "/usr/bin/ls", "/usr/bin/readelf", "/usr/bin/python3.11"];
        let mut libs: Vec<PathBuf> = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"]
            .iter()
            .flat_map(|d| ["libc.so.6", "libz.so.1", "libm.so.6"].map(|l| Path::new(d).join(l)))
            .collect();
        libs.extend(candidates.iter().map(PathBuf::from));
        let mut compared = 0;
        for path in libs.iter().filter(|p| p.is_file()) {
            // Resolve symlinks as readelf does, so both read the same file.
            let path = path.canonicalize().unwrap();
            let Some(want) = readelf_build_id(&path) else { continue };
            assert_eq!(build_id_line(&path), format!("{want} {}\n", path.display()), "{}", path.display());
            compared += 1;
        }
        assert!(compared >= 2, "found only {compared} system ELF files with a build-id to compare with readelf");
    }

    #[test]
    fn files_without_build_id_get_a_dash() {
        let dir = std::env::temp_dir().join(format!("crit-cookie-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("text");
        std::fs::write(&text, b"not an ELF file at all").unwrap();
        assert_eq!(find_build_id(&text).unwrap(), Found::None(NoBuildId::NotElf));
        assert_eq!(build_id_line(&text), format!("- {}\n", text.display()));
        assert_eq!(find_build_id(&dir).unwrap(), Found::NotRegular);
        assert!(find_build_id(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
