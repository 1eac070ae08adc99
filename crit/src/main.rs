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
mod diff;
mod inspect;
mod mem;
mod memdump;
mod page_server;
mod shell;
mod x;

/// CRIU image tool: decode, encode and explore checkpoint images.
///
/// Output of decode, encode, info, show and x (ps, fds, mems, rss) is byte-identical to CRIU
/// 4.2.1's crit, except where crit is wrong (see the README).
#[derive(Parser)]
#[command(name = "crit", version = concat!(env!("CARGO_PKG_VERSION"), " (CRIU image format 4.2.1)"), after_help = CONVENTIONS)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// What every subcommand shares: `-` and exit statuses.
const CONVENTIONS: &str = "\
Files: `-` is standard input (for an image, JSON, or a checkpoint archive) or standard output.
Exit status: 0 success; 1 the command ran and its answer is no (check found problems, search
found nothing, diff found differences, a view could not show everything); 2 error (bad
arguments, an input that cannot be read, output that cannot be written).";

#[derive(Subcommand)]
enum Cmd {
    /// Convert a binary image to JSON
    Decode {
        /// Input image (default and `-`: stdin)
        #[arg(short, long)]
        r#in: Option<PathBuf>,
        /// The input image, as -i gives it (crit takes only -i)
        #[arg(value_name = "FILE", conflicts_with = "in")]
        file: Option<PathBuf>,
        /// Output file (default and `-`: stdout)
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Multi-line output with crit's readable forms (hex, flags, devices, addresses)
        #[arg(long)]
        pretty: bool,
    },
    /// Convert JSON (plain or pretty) back to a binary image
    ///
    /// A key that is not a field of its message is refused, with its JSON path and the closest
    /// field name (`entries[0].mm.vmas[7].flagz: ... did you mean `flags`?`): CRIU's crit
    /// ignores such keys, so a misspelt one silently drops the value it was meant to set and the
    /// image differs from the one intended. --ignore-unknown-keys reads them as crit does.
    Encode {
        /// Input JSON (default and `-`: stdin)
        #[arg(short, long)]
        r#in: Option<PathBuf>,
        /// Output image (default and `-`: stdout, which must not be a terminal)
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Ignore keys that are not fields of their message, as CRIU's crit does
        #[arg(long)]
        ignore_unknown_keys: bool,
    },
    /// Show an image's kind and number of entries
    Info {
        /// Input image
        r#in: PathBuf,
    },
    Inspect(inspect::InspectArgs),
    Diff(diff::DiffArgs),
    /// Explore a checkpoint directory or archive
    ///
    /// The views ps, fds, mems and rss print what CRIU's `crit x` prints, byte for byte; sockets,
    /// mounts, ns, cgroups, stats, net and container go further (they are the sections of `crit
    /// inspect`). --json gives each view as one JSON object with a `problems` array; exit status
    /// 1 when a view could not show everything (the problems say which image and why).
    X(x::XArgs),
    /// Check that a checkpoint's images are well-formed and agree with each other
    ///
    /// Every image is decoded, and what restore relies on is cross-checked: the process tree
    /// against the per-task images, fds against the file table, VMAs against the pagemaps and
    /// the pages files (parents followed), shared memory, namespaces, sockets. Each finding names
    /// the file, entry and field; errors are what makes `criu restore` fail, warnings what may,
    /// notices what is unusual. Exit status 1 when there is an error or a warning.
    ///
    /// --files checks the files the checkpoint refers to against a file system instead: size,
    /// mode, ELF build-id and checksum, as `criu restore` will.
    Check(check::CheckArgs),
    /// Print the bytes of a task's memory at an address (hexdump, raw or JSON)
    ///
    /// The memory is what a restore would map: pages from the pages files, from parent
    /// checkpoints for pages marked in-parent, zero pages, and file-backed pages that were not
    /// dumped reported as such.
    Mem(mem::MemArgs),
    /// Find bytes or a regex in the memory of a checkpoint's tasks
    ///
    /// Matches that cross page and pagemap-entry boundaries are found. Exit status 1 when
    /// nothing matches, as grep's.
    Search(mem::SearchArgs),
    /// Dump a live process's memory into CRIU-format pagemap/pages images (bounded memory)
    ///
    /// Reads with process_vm_readv through a fixed-size buffer; --prev makes an incremental
    /// dump whose unchanged pages (by content) point at the previous one; --page-server sends
    /// the pages to a page server instead (CRIU's or ours). CRIU restores from the result as
    /// from its own dump.
    MemDump(memdump::MemDumpArgs),
    /// Receive pages from `criu dump --page-server` into pagemap/pages images (bounded memory)
    ///
    /// Speaks CRIU's page-server protocol: `criu dump --page-server --address A --port P`
    /// sends its pages here instead of writing pages files. The images written are those CRIU
    /// would have written; --prev compares with a previous dump.
    PageServer(page_server::PageServerArgs),
    BuildId(cookie::BuildIdArgs),
    Checksum(cookie::ChecksumArgs),
    /// Same as `check --files` (kept for scripts)
    #[command(hide = true)]
    CheckFiles(cookie::CheckFilesArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(shell::CompletionsArgs),
    /// Write the man pages (crit.1 and one per subcommand)
    Man(shell::ManArgs),
    /// Decode an image with --pretty to stdout
    Show {
        /// Input image
        r#in: PathBuf,
        /// Do not show entry payloads (if any)
        #[arg(long)]
        nopl: bool,
    },
}

/// What a command found, for its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Success: exit 0.
    Yes,
    /// The command ran and its answer is no (problems, differences, no match): exit 1.
    No,
}

impl From<bool> for Status {
    fn from(yes: bool) -> Self {
        if yes { Status::Yes } else { Status::No }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Status::Yes) => ExitCode::SUCCESS,
        Ok(Status::No) => ExitCode::from(1),
        Err(e) => {
            // A closed pipe (`crit show x | head`) is not an error worth a message.
            if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("crit: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `None` and `-` are standard input/output.
pub fn std_stream(p: Option<&Path>) -> Option<&Path> {
    p.filter(|p| p.as_os_str() != "-")
}

fn run(cli: Cli) -> Result<Status> {
    Ok(match cli.cmd {
        Cmd::Decode { r#in, file, out, pretty } => {
            let input = r#in.or(file);
            decode(std_stream(input.as_deref()), std_stream(out.as_deref()), JsonOptions { pretty, nopl: false })?;
            Status::Yes
        }
        Cmd::Show { r#in, nopl } => {
            decode(std_stream(Some(&r#in)), None, JsonOptions { pretty: true, nopl })?;
            Status::Yes
        }
        Cmd::Info { r#in } => {
            let input = std_stream(Some(&r#in));
            let src = read_input(input)?;
            let img = parse(&src, input)?;
            let (kind, n) = doc::info(&img).map_err(|e| image_failure(input, &e))?;
            let mut s = doc::info_json(kind, n);
            s.push('\n');
            io::stdout().write_all(s.as_bytes())?;
            Status::Yes
        }
        Cmd::Encode { r#in, out, ignore_unknown_keys } => {
            let (input, out) = (std_stream(r#in.as_deref()), std_stream(out.as_deref()));
            refuse_binary_to_terminal(out, "an image")?;
            let unknown_keys = if ignore_unknown_keys { doc::UnknownKeys::Ignore } else { doc::UnknownKeys::Refuse };
            encode(input, out, doc::EncodeOptions { unknown_keys })?;
            Status::Yes
        }
        Cmd::Inspect(a) => inspect::run(a)?,
        Cmd::Diff(a) => diff::run(a)?,
        Cmd::Completions(a) => shell::completions(a)?,
        Cmd::Man(a) => shell::man(a)?,
        Cmd::X(a) => x::run(a)?,
        Cmd::Check(a) => check::run(a)?,
        Cmd::Mem(a) => mem::mem(a)?,
        Cmd::Search(a) => mem::search(a)?,
        Cmd::MemDump(a) => {
            memdump::run(a)?;
            Status::Yes
        }
        Cmd::PageServer(a) => {
            page_server::run(a)?;
            Status::Yes
        }
        Cmd::BuildId(a) => {
            cookie::build_id(a)?;
            Status::Yes
        }
        Cmd::Checksum(a) => {
            cookie::checksum(a)?;
            Status::Yes
        }
        Cmd::CheckFiles(a) => cookie::run_check_files(a)?,
    })
}

/// What names an input in messages.
fn label(p: Option<&Path>) -> String {
    p.map_or("<stdin>".into(), |p| p.display().to_string())
}

fn read_input(p: Option<&Path>) -> Result<Source> {
    Ok(match p {
        Some(p) => Source::open(p).with_context(|| format!("{}", p.display()))?,
        None => Source::read(io::stdin().lock()).context("reading standard input")?,
    })
}

/// Binary output on a terminal would garble it: refuse unless it is redirected or `-o` is given.
pub fn refuse_binary_to_terminal(out: Option<&Path>, what: &str) -> Result<()> {
    use std::io::IsTerminal;
    if out.is_none() && io::stdout().is_terminal() {
        anyhow::bail!("refusing to write {what} (binary) to a terminal: give -o FILE, or redirect standard output");
    }
    Ok(())
}

fn parse<'a>(src: &'a Source, path: Option<&Path>) -> Result<Image<'a>> {
    let name = path.and_then(|p| p.file_name()).and_then(|n| n.to_str());
    Image::parse(src, name).map_err(|e| image_failure(path, &e))
}

/// An image error with its hint on a second line.
fn image_failure(path: Option<&Path>, e: &criu_image::image::Error) -> anyhow::Error {
    anyhow!("{}: {e}\n  hint: {}", label(path), e.hint())
}

/// `crit encode`: the document is read and the image written entry by entry. A file is written
/// beside the destination and renamed over it only when the whole document was encoded, so an
/// error leaves no partial image under the name asked for; on standard output what was written
/// before the error stays written (the exit status says it failed).
fn encode(input: Option<&Path>, out: Option<&Path>, opts: doc::EncodeOptions) -> Result<()> {
    // The reader's type is concrete, not `dyn BufRead`: the JSON reader asks it for bytes a
    // few times per token (a virtual call each was a quarter of encoding a large mm image). A
    // regular file is mapped and read in place (`SourceReader`: no copy into a buffer); a FIFO
    // or a device given by -i streams through a buffer, as standard input does.
    enum Input {
        Mapped(Source),
        Stream(io::BufReader<std::fs::File>),
    }
    let file = match input {
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("{}", p.display()))?;
            Some(match Source::map_regular(&f).with_context(|| format!("{}", p.display()))? {
                Some(src) => Input::Mapped(src),
                None => Input::Stream(io::BufReader::with_capacity(256 * 1024, f)),
            })
        }
        None => None,
    };
    let run = |w: &mut dyn Write| {
        match file {
            Some(Input::Mapped(src)) => doc::encode_json_with(criu_image::source::SourceReader::new(&src), w, opts),
            Some(Input::Stream(f)) => doc::encode_json_with(f, w, opts),
            None => doc::encode_json_with(io::stdin().lock(), w, opts),
        }
        .map_err(|e| encode_failure(input, &e))
    };
    match out {
        Some(o) if !std::fs::metadata(o).is_ok_and(|m| !m.is_file()) => {
            let tmp = sibling_temp(o);
            let mut f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
            let written = run(&mut f);
            drop(f);
            match written.and_then(|()| std::fs::rename(&tmp, o).with_context(|| format!("{}", o.display()))) {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    Err(e)
                }
            }
        }
        // A device or a pipe named by -o (/dev/stdout, a FIFO) is written in place.
        Some(o) => run(&mut std::fs::OpenOptions::new().write(true).open(o).with_context(|| format!("{}", o.display()))?),
        None => {
            let mut w = io::stdout().lock();
            run(&mut w)?;
            w.flush()?;
            Ok(())
        }
    }
}

/// Standard output as a file of its own (a duplicate of descriptor 1), for output already
/// written in large buffered chunks: `io::stdout()` is line-buffered, and searched each chunk
/// for its last newline (a twentieth of `crit decode` of a large mm image).
fn raw_stdout() -> io::Result<std::fs::File> {
    use std::os::fd::AsFd;
    io::stdout().flush()?;
    Ok(std::fs::File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

/// `DIR/.NAME.crit-PID.tmp` for `DIR/NAME`: same file system, so the rename is atomic.
fn sibling_temp(o: &Path) -> PathBuf {
    let name = o.file_name().map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned());
    o.with_file_name(format!(".{name}.crit-{}.tmp", std::process::id()))
}

/// An encode error, with a hint for a key that is not a field.
fn encode_failure(input: Option<&Path>, e: &doc::EncodeJsonError) -> anyhow::Error {
    match e {
        doc::EncodeJsonError::Encode(inner) if inner.unknown_key => anyhow!(
            "{}: {e}\n  hint: fix the key, or give --ignore-unknown-keys to drop it as CRIU's crit does",
            label(input)
        ),
        _ => anyhow!("{}: {e}", label(input)),
    }
}

fn decode(input: Option<&Path>, output: Option<&Path>, opts: JsonOptions) -> Result<()> {
    let src = read_input(input)?;
    let img = parse(&src, input)?;
    let name = label(input);
    match output {
        Some(o) => {
            let f = std::fs::File::create(o).with_context(|| format!("{}", o.display()))?;
            let mut w = io::BufWriter::new(f);
            match doc::write_json(&img, &mut w, opts) {
                Err(doc::DecodeToError::Image(e)) => return Err(image_failure(input, &e)),
                other => other.map_err(|e| anyhow!("{name}: {e}"))?,
            }
            w.flush()?;
        }
        None => {
            let mut w = raw_stdout()?;
            match doc::write_json(&img, &mut w, opts) {
                Ok(()) => {}
                Err(doc::DecodeToError::Io(e)) => return Err(e.into()),
                Err(doc::DecodeToError::Image(e)) => return Err(image_failure(input, &e)),
                Err(e) => return Err(anyhow!("{}: {e}", label(input))),
            }
            // crit adds the newline only on stdout.
            w.write_all(b"\n")?;
            w.flush()?;
        }
    }
    Ok(())
}
