//! `crit check CHECKPOINT [--json]`: the diagnostics of `criu_image::check`, as lines or JSON.
//!
//! Exit status: 0 when the checkpoint is clean (notices allowed), 1 when there are errors or
//! warnings, 2 when it cannot be opened at all.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use criu_image::check::{self, CheckOptions};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Checkpoint directory, or archive (tar, tar.gz, tar.zst; `-` reads one from standard input)
    dir: PathBuf,
    /// JSON instead of lines
    #[arg(long)]
    json: bool,
    /// Do not follow `parent` links to check PE_PARENT pages
    #[arg(long)]
    no_parent: bool,
    /// Leave notices out
    #[arg(short, long)]
    quiet: bool,
    /// Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)
    #[arg(long, value_parser = crate::x::parse_size, default_value = "4G")]
    max_archive_size: u64,
    /// Check the checkpoint's regular files against the filesystem instead (size, mode, ELF
    /// build-id, checksum): will CRIU's restore accept them?
    #[arg(long)]
    files: bool,
    /// With --files: the root the checkpoint's paths are relative to (a container's rootfs)
    #[arg(long, requires = "files")]
    root: Option<PathBuf>,
    /// With --files: ignore the rwx permission bits, as `criu restore --skip-file-rwx-check`
    #[arg(long, requires = "files")]
    skip_file_rwx_check: bool,
}

pub fn run(a: CheckArgs) -> Result<crate::Status> {
    if a.files {
        return Ok(crate::cookie::check_files(&a.dir, a.root.as_deref(), a.json, a.quiet, a.skip_file_rwx_check)?.into());
    }
    let ckpt = crate::x::open(&a.dir, a.max_archive_size)?;
    let opts = CheckOptions::follow_parents(!a.no_parent);
    let report = check::check_with(&ckpt, &opts);
    let mut out = Vec::new();
    if a.json {
        report.write_json(&a.dir, ckpt.format(), a.quiet, &mut out)?;
    } else {
        report.write_text(&a.dir, a.quiet, &mut out)?;
    }
    let mut stdout = io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    // Findings are the output, not a failure of crit: no "crit: error" line, just the status.
    let status = report.is_clean().into();
    // The model goes with the process (see crit::inspect::run).
    std::mem::forget(report);
    std::mem::forget(ckpt);
    Ok(status)
}
