//! `crit page-server -D DIR [--address A] --port P [--prev DIR]`: receive one session from
//! `criu dump --page-server` (or `crit mem-dump --page-server`) and write its pagemap/pages
//! images into DIR, incremental by content against `--prev`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use criu_image::page_server::{Server, ServerOptions};
use criu_image::procmem;

#[derive(clap::Args)]
pub struct PageServerArgs {
    /// Directory to write the images into (created if missing)
    #[arg(short = 'D', long = "images-dir")]
    dir: PathBuf,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
    /// Port to listen on (0: any free port; the first line printed says which)
    #[arg(long)]
    port: u16,
    /// The previous dump (as `criu page-server --prev-images-dir`, relative to DIR or absolute):
    /// DIR gets a `parent` link, and received pages equal to the previous dump's are written as
    /// PE_PARENT runs instead of into the pages file
    #[arg(long)]
    prev: Option<PathBuf>,
    /// Bytes of page data held at a time (K, M, G suffixes)
    #[arg(long, default_value = "1M")]
    buffer: String,
    /// Give up when the client sends nothing for this many seconds (default: wait, as CRIU does)
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(a: PageServerArgs) -> Result<()> {
    let buffer_size = procmem::parse_size(&a.buffer).ok_or_else(|| anyhow!("--buffer {:?}: expected a size like 1M", a.buffer))?;
    std::fs::create_dir_all(&a.dir).map_err(|e| anyhow!("{}: {e}", a.dir.display()))?;
    let opts = ServerOptions {
        dir: a.dir.clone(),
        prev: a.prev.clone(),
        buffer_size,
        idle_timeout: a.idle_timeout.map(Duration::from_secs),
        ..ServerOptions::default()
    };
    let addr = if a.address.contains(':') { format!("[{}]:{}", a.address, a.port) } else { format!("{}:{}", a.address, a.port) };
    let server = Server::bind(&addr, opts)?;
    let local = server.local_addr().map_err(|e| anyhow!("{addr}: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local}")?;
        out.flush()?;
    }
    let summary = server.serve_one()?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", summary.to_json())?;
    } else {
        writeln!(out, "{summary}")?;
    }
    Ok(())
}
