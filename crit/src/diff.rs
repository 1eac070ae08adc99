//! `crit diff A B [--json] [--section NAME]... [--no-memory]`: two checkpoints compared
//! (`criu_image::diff`).

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use criu_image::diff::{Options, Section, compare};

/// Compare two checkpoints: processes, fds, VMAs, memory, files, namespaces, mounts
///
/// Processes are matched by pid (CRIU restores pids, so two checkpoints of the same tree share
/// them). Memory is compared page by page as a restore would fill it: pages in a parent
/// checkpoint are read from it, pages not dumped of anonymous memory are zeros.
///
/// Output: `+` only in B, `-` only in A, `~` in both and different, grouped per process, then
/// files, namespaces, mounts; a summary line last. --json: one object, whose schema is
/// documented in the criu_image::diff module.
///
/// Exit status: 0 equal, 1 different, 2 error (an argument, a checkpoint that cannot be opened,
/// or images that cannot be read, listed under "problems", so that the comparison is incomplete).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct DiffArgs {
    /// The first checkpoint: a directory, or an archive (tar, tar.gz, tar.zst; `-` reads one
    /// from standard input)
    a: PathBuf,
    /// The second checkpoint (`-` for standard input, if A is not)
    b: PathBuf,
    /// One JSON object instead of text
    #[arg(long)]
    json: bool,
    /// Compare only this section (repeatable): processes, fds, vmas, memory, files,
    /// namespaces, mounts
    #[arg(long = "section", value_name = "NAME")]
    sections: Vec<String>,
    /// Do not compare memory contents (the costly part: every page of both checkpoints)
    #[arg(long)]
    no_memory: bool,
    /// Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes)
    #[arg(long, value_parser = crate::x::parse_size, default_value = "4G")]
    max_archive_size: u64,
}

pub fn run(a: DiffArgs) -> Result<crate::Status> {
    let mut sections = Vec::new();
    for s in &a.sections {
        let all: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
        sections.push(Section::from_name(s).ok_or_else(|| anyhow!("--section {s:?}: not a section; one of {}", all.join(", ")))?);
    }
    if a.a.as_os_str() == "-" && a.b.as_os_str() == "-" {
        bail!("A and B are both `-`: standard input can hold only one of them; give the other's path");
    }
    let mut opts = Options::only(&sections);
    if a.no_memory {
        opts = opts.without(Section::Memory);
    }
    if opts.sections.is_empty() {
        bail!("nothing to compare: --no-memory leaves out the only section asked for");
    }
    let ckpt_a = crate::x::open(&a.a, a.max_archive_size)?;
    let ckpt_b = crate::x::open(&a.b, a.max_archive_size)?;
    let diff = compare(&ckpt_a, &ckpt_b, &opts);
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    if a.json {
        diff.write_json(&mut out)?;
    } else {
        diff.write_text(&mut out)?;
    }
    out.flush()?;
    if !diff.is_complete() {
        let n = diff.problems.len();
        bail!("the comparison is incomplete: {n} problem{}, listed in the output (the files named cannot be read)", if n == 1 { "" } else { "s" });
    }
    Ok(diff.is_equal().into())
}

