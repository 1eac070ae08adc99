//! `crit mem-dump -t PID -D DIR [--prev DIR] [--buffer SIZE] [--json]`: dump a live process's
//! memory into CRIU-format `pagemap-PID.img` + `pages-ID.img` through a bounded buffer.
//!
//! `crit mem-dump -t PID --page-server HOST:PORT -D RECORD [--prev-round] [--buffer SIZE]`: send
//! one round of it to a page server instead (`criu page-server` or `crit page-server`), keeping
//! in RECORD what the next `--prev-round` compares with.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use criu_image::procmem::{self, DumpOptions, Progress, RoundOptions};

#[derive(clap::Args)]
pub struct MemDumpArgs {
    /// PID of the process to dump (stop it first, e.g. with SIGSTOP, for a consistent image)
    #[arg(short = 't', long = "tree")]
    pid: i32,
    /// Directory to write pagemap-PID.img and pages-ID.img into (created if missing); with
    /// --page-server, where the round's record is kept (digests of what the server holds)
    #[arg(short = 'D', long = "images-dir")]
    dir: PathBuf,
    /// A previous dump: pages whose content equals the parent's become PE_PARENT runs, and DIR gets
    /// a `parent` link (as `criu dump --prev-images-dir`); relative paths are relative to DIR
    #[arg(long, conflicts_with = "page_server")]
    prev: Option<PathBuf>,
    /// Send the pages to the page server at HOST:PORT (`criu page-server` or `crit page-server`)
    /// instead of writing images
    #[arg(long, value_name = "HOST:PORT")]
    page_server: Option<String>,
    /// With --page-server: an incremental round; pages unchanged since the round recorded in DIR
    /// are sent as PE_PARENT (the server must have that round as its parent)
    #[arg(long, requires = "page_server")]
    prev_round: bool,
    /// With --page-server: seconds to wait for connecting and for each read or write
    #[arg(long, default_value_t = 60, requires = "page_server")]
    timeout: u64,
    /// Bytes of buffer between the process and the pages file or socket (K, M, G suffixes)
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
    let created = !a.dir.exists();
    std::fs::create_dir_all(&a.dir).map_err(|e| anyhow!("{}: {e}", a.dir.display()))?;
    let result = dump(&a, buffer_size);
    if result.is_err() && created {
        // Nothing was kept (the library removes partial images): leave nothing behind.
        let _ = std::fs::remove_dir(&a.dir);
    }
    result
}

fn dump(a: &MemDumpArgs, buffer_size: usize) -> Result<()> {
    let tty = std::io::stderr().is_terminal();
    let mut last = std::time::Instant::now();
    let mut progress = |p: &Progress| {
        if tty && last.elapsed().as_millis() >= 200 {
            last = std::time::Instant::now();
            let pct = if p.vm_bytes_total == 0 { 100.0 } else { 100.0 * p.vm_bytes_done as f64 / p.vm_bytes_total as f64 };
            eprint!("\r{pct:5.1}%  {} pages written, {} in parent, {:.1} s ", p.pages_written, p.pages_parent, p.elapsed.as_secs_f64());
        }
    };
    let text = match &a.page_server {
        None => {
            let opts = DumpOptions { buffer_size, pages_id: a.pages_id, parent: a.prev.clone(), ..DumpOptions::default() };
            let summary = procmem::dump(a.pid, &a.dir, &opts, &mut progress);
            if tty {
                eprint!("\r\x1b[K");
            }
            let summary = summary?;
            if a.json { summary.to_json() } else { summary.to_string() }
        }
        Some(server) => {
            if a.timeout == 0 {
                bail!("--timeout must be at least 1 second");
            }
            // Soft-dirty bits are cleared after each round, so that the next one can trust them
            // where the kernel tracks them (ignored where it does not).
            let dump = DumpOptions { buffer_size, track_mem: true, ..DumpOptions::default() };
            let opts = RoundOptions { dump, record_dir: a.dir.clone(), incremental: a.prev_round, timeout: Duration::from_secs(a.timeout) };
            let summary = procmem::dump_to_page_server(a.pid, server, &opts, &mut progress);
            if tty {
                eprint!("\r\x1b[K");
            }
            let summary = summary?;
            if a.json { summary.to_json() } else { summary.to_string() }
        }
    };
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}
