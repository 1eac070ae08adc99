//! `crit mem-dump -t PID -D DIR [--prev DIR] [--buffer SIZE] [--json]`: dump a live process's
//! memory into CRIU-format `pagemap-PID.img` + `pages-ID.img` through a bounded buffer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use criu_image::procmem::{self, DumpOptions, Progress};

#[derive(clap::Args)]
pub struct MemDumpArgs {
    /// PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)
    #[arg(short = 't', long = "tree")]
    pid: i32,
    /// Directory to write pagemap-PID.img and pages-ID.img into (created if missing)
    #[arg(short = 'D', long = "images-dir")]
    dir: PathBuf,
    /// A previous dump: pages whose content equals the parent's become PE_PARENT runs, and DIR gets
    /// a `parent` link (as `criu dump --prev-images-dir`); relative paths are relative to DIR
    #[arg(long)]
    prev: Option<PathBuf>,
    /// Bytes of buffer between the process and the pages file (K, M, G suffixes)
    #[arg(long, default_value = "4M")]
    buffer: String,
    /// The pages image id (pages-ID.img), to drop the images into a CRIU dump
    #[arg(long, default_value_t = 1)]
    pages_id: u32,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(a: MemDumpArgs) -> Result<()> {
    let buffer_size = procmem::parse_size(&a.buffer).ok_or_else(|| anyhow!("--buffer {:?}: expected a size like 4M", a.buffer))?;
    std::fs::create_dir_all(&a.dir).map_err(|e| anyhow!("{}: {e}", a.dir.display()))?;
    let opts = DumpOptions { buffer_size, pages_id: a.pages_id, parent: a.prev.clone(), ..DumpOptions::default() };
    let tty = std::io::stderr().is_terminal();
    let mut last = std::time::Instant::now();
    let mut progress = |p: &Progress| {
        if tty && last.elapsed().as_millis() >= 200 {
            last = std::time::Instant::now();
            let pct = if p.vm_bytes_total == 0 { 100.0 } else { 100.0 * p.vm_bytes_done as f64 / p.vm_bytes_total as f64 };
            eprint!("\r{pct:5.1}%  {} pages written, {} in parent, {:.1} s ", p.pages_written, p.pages_parent, p.elapsed.as_secs_f64());
        }
    };
    let summary = procmem::dump(a.pid, &a.dir, &opts, &mut progress);
    if tty {
        eprint!("\r\x1b[K");
    }
    let summary = summary?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", summary.to_json())?;
    } else {
        writeln!(out, "{summary}")?;
    }
    Ok(())
}
