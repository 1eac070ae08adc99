//! `crit`: a drop-in for CRIU's crit (decode, encode, info, show, x) and more.
//!
//! Thin by design: argument parsing and output. Everything else is in the `criu-image` library.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use criu_image::crit::{self as doc, JsonOptions};
use criu_image::image::Image;
use criu_image::source::Source;

mod check;
mod cookie;
mod mem;
mod memdump;
mod page_server;
mod x;

/// CRIU image tool: decode, encode and explore checkpoint images.
///
/// Output of decode, encode, info, show and x is byte-identical to CRIU 4.2.1's crit, except where
/// crit is wrong (see the README).
#[derive(Parser)]
#[command(name = "crit", version = concat!(env!("CARGO_PKG_VERSION"), " (CRIU image format 4.2.1)"))]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Convert a binary image to JSON
    Decode {
        /// Input image (default: stdin)
        #[arg(short, long)]
        r#in: Option<PathBuf>,
        /// Output file (default: stdout)
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Multi-line output with crit's readable forms (hex, flags, devices, addresses)
        #[arg(long)]
        pretty: bool,
    },
    /// Convert JSON (plain or pretty) back to a binary image
    Encode {
        /// Input JSON (default: stdin)
        #[arg(short, long)]
        r#in: Option<PathBuf>,
        /// Output image (default: stdout)
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Show an image's kind and number of entries
    Info {
        /// Input image
        r#in: PathBuf,
    },
    /// Explore a checkpoint directory or archive
    X(x::XArgs),
    /// Check that a checkpoint's images are well-formed and agree with each other
    Check(check::CheckArgs),
    /// Print the bytes of a task's memory at an address (hexdump, raw or JSON)
    Mem(mem::MemArgs),
    /// Find bytes or a regex in the memory of a checkpoint's tasks
    Search(mem::SearchArgs),
    /// Dump a live process's memory into CRIU-format pagemap/pages images (bounded memory)
    MemDump(memdump::MemDumpArgs),
    /// Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)
    PageServer(page_server::PageServerArgs),
    BuildId(cookie::BuildIdArgs),
    Checksum(cookie::ChecksumArgs),
    /// Same as `check --files` (kept for scripts)
    #[command(hide = true)]
    CheckFiles(cookie::CheckFilesArgs),
    /// Decode an image with --pretty to stdout
    Show {
        /// Input image
        r#in: PathBuf,
        /// Do not show entry payloads (if any)
        #[arg(long)]
        nopl: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`crit show x | head`) is not an error worth a message.
            if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("crit: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Decode { r#in, out, pretty } => decode(r#in.as_deref(), out.as_deref(), JsonOptions { pretty, nopl: false }),
        Cmd::Show { r#in, nopl } => decode(Some(&r#in), None, JsonOptions { pretty: true, nopl }),
        Cmd::Info { r#in } => {
            let src = Source::open(&r#in).with_context(|| format!("{}", r#in.display()))?;
            let img = parse(&src, Some(&r#in))?;
            let (kind, n) = doc::info(&img).map_err(|e| anyhow!("{}: {e}", r#in.display()))?;
            let mut s = doc::info_json(kind, n);
            s.push('\n');
            io::stdout().write_all(s.as_bytes())?;
            Ok(())
        }
        Cmd::Encode { r#in, out } => {
            let src = match &r#in {
                Some(p) => Source::open(p).with_context(|| format!("{}", p.display()))?,
                None => Source::read(io::stdin().lock())?,
            };
            let name = r#in.as_deref().map_or("<stdin>".into(), |p| p.display().to_string());
            let mut bytes = Vec::new();
            doc::encode_json(&src, &mut bytes).map_err(|e| anyhow!("{name}: {e}"))?;
            write_out(out.as_deref(), &bytes)
        }
        Cmd::X(a) => x::run(a),
        Cmd::Check(a) => check::run(a),
        Cmd::Mem(a) => mem::mem(a),
        Cmd::Search(a) => mem::search(a),
        Cmd::MemDump(a) => memdump::run(a),
        Cmd::PageServer(a) => page_server::run(a),
        Cmd::BuildId(a) => cookie::build_id(a),
        Cmd::Checksum(a) => cookie::checksum(a),
        Cmd::CheckFiles(a) => cookie::run_check_files(a),
    }
}

fn parse<'a>(src: &'a Source, path: Option<&Path>) -> Result<Image<'a>> {
    let name = path.and_then(|p| p.file_name()).and_then(|n| n.to_str());
    Image::parse(src, name).map_err(|e| anyhow!("{}: {e}", path.map_or("<stdin>".into(), |p| p.display().to_string())))
}

fn decode(input: Option<&Path>, output: Option<&Path>, opts: JsonOptions) -> Result<()> {
    let src = match input {
        Some(p) => Source::open(p).with_context(|| format!("{}", p.display()))?,
        None => Source::read(io::stdin().lock())?,
    };
    let img = parse(&src, input)?;
    let name = input.map_or("<stdin>".into(), |p| p.display().to_string());
    match output {
        Some(o) => {
            let f = std::fs::File::create(o).with_context(|| format!("{}", o.display()))?;
            let mut w = io::BufWriter::new(f);
            doc::write_json(&img, &mut w, opts).map_err(|e| anyhow!("{name}: {e}"))?;
            w.flush()?;
        }
        None => {
            let stdout = io::stdout();
            let mut w = stdout.lock();
            match doc::write_json(&img, &mut w, opts) {
                Ok(()) => {}
                Err(doc::DecodeToError::Io(e)) => return Err(e.into()),
                Err(e) => return Err(anyhow!("{name}: {e}")),
            }
            // crit adds the newline only on stdout.
            w.write_all(b"\n")?;
            w.flush()?;
        }
    }
    Ok(())
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(o) => std::fs::write(o, bytes).with_context(|| format!("{}", o.display())),
        None => {
            let mut w = io::stdout().lock();
            w.write_all(bytes)?;
            w.flush()?;
            Ok(())
        }
    }
}
