//! Tells apart the ways reading a checkpoint can fail, by matching on the crate's errors rather
//! than their messages: a checkpoint that is not there, an image that is missing, an image that
//! is corrupt, a process that is not in the checkpoint, memory that is not in it.
//!
//! ```text
//! cargo run -p criu-image --example errors -- testdata/images/sleep 20292
//! 20292 sleep: /bin/sleep 1000
//! cargo run -p criu-image --example errors -- /tmp/broken 20292    # after `rm /tmp/broken/mm-20292.img`
//! missing image mm-20292.img: the dump is incomplete; dump the process again
//! ```
//!
//! Every error of the crate converts into `criu_image::Error` with `?`, and every one's message
//! is complete on its own (file, entry, byte offset, field, what the system said), so printing
//! it is always enough for people. A program that reacts differently to different failures
//! matches on the variants; `Error::checkpoint_error` finds the checkpoint's own error however
//! deep it is wrapped. The exit status says which case it was (0 when everything reads).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use criu_image::Error;
use criu_image::checkpoint::{Checkpoint, CheckpointError};
use criu_image::memory::{MemError, Memory, quote_args};

/// What this program does when nothing goes wrong: a process's command name and command line.
fn describe(dir: &Path, pid: u32) -> criu_image::Result<String> {
    // Io: the path does not exist, or is not readable.
    let ckpt = Checkpoint::open(dir)?;
    // Missing or Image: pstree.img.
    let processes = ckpt.processes()?;
    // NoTask; NoMemory (its mm or pagemap image is missing); Checkpoint(Image) (its mm or
    // pagemap image is corrupt).
    let task = Memory::open(&ckpt).task(pid)?;
    // Unreadable: the pages holding argv are not in the checkpoint.
    let argv = task.cmdline()?;
    // The command name is in core-<pid>.img; `None` when that is missing or corrupt.
    let comm = processes.get(pid).and_then(|p| p.comm()).map(|c| String::from_utf8_lossy(c).into_owned());
    Ok(format!(
        "{pid} {}: {}",
        comm.as_deref().unwrap_or("?"),
        quote_args(&argv)
    ))
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(pid)) = (
        args.next().map(PathBuf::from),
        args.next().and_then(|p| p.to_str()?.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: errors CHECKPOINT_DIR PID");
        return ExitCode::from(2);
    };
    let e = match describe(&dir, pid) {
        Ok(line) => {
            println!("{line}");
            return ExitCode::SUCCESS;
        }
        Err(e) => e,
    };
    // The variants are `#[non_exhaustive]`: a catch-all arm is required, and newer versions of
    // the crate may add cases.
    let (status, what) = match (&e, e.checkpoint_error()) {
        (_, Some(CheckpointError::Io { path, error })) => {
            (10, format!("cannot read {}: {error}", path.display()))
        }
        (_, Some(CheckpointError::Missing { file }))
        | (Error::Memory(MemError::NoMemory { file, .. }), _) => (
            11,
            format!("missing image {file}: the dump is incomplete; dump the process again"),
        ),
        (_, Some(CheckpointError::Image { file, error })) => {
            // The message names the entry, byte offset and field; programs have them as
            // `error.entry` (`None`: the magic words at the start are bad), `error.offset`,
            // `error.field`, and what is wrong as `error.kind`.
            let part = if error.entry.is_none() { "header" } else { "entries" };
            (12, format!("corrupt image {file} ({part}): {error}"))
        }
        (Error::Memory(MemError::NoTask { pids, .. }), _) => (
            13,
            format!("no process {pid} in the checkpoint; it has {pids:?}"),
        ),
        (Error::Memory(MemError::Unreadable { why, .. }), _) => (
            14,
            format!("the command line is not in the checkpoint: {why}"),
        ),
        _ => (1, e.to_string()),
    };
    eprintln!("{what}");
    ExitCode::from(status)
}
