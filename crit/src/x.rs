//! `crit x CHECKPOINT ps|fds|mems|rss|sockets [--json]`: explore a checkpoint directory or
//! archive. The views and their text and JSON forms are `criu_image::explore`; `ps --cmdline
//! --env` adds what `criu_image::memory` reads from each task's stack.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use criu_image::checkpoint::{Checkpoint, OpenOptions};
use criu_image::explore::{self, Index, Problem, PsRow, Report};
use criu_image::memory;
use criu_image::proto::support::json::JsonWriter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// The process tree (PID, PGID, SID, command)
    Ps,
    /// Each task's open files, cwd and root
    Fds,
    /// Each task's executable and memory mappings
    Mems,
    /// Each task's dumped pages and the mappings they belong to
    Rss,
    /// Each task's sockets with addresses, ports and state (not in CRIU's crit)
    Sockets,
}

#[derive(clap::Args)]
pub struct XArgs {
    /// Checkpoint directory, or archive (tar, tar.gz, tar.zst as Podman, CRI-O and the kubelet write)
    dir: PathBuf,
    /// What to show
    #[arg(value_enum)]
    what: What,
    /// JSON instead of crit's text (schema: the `criu_image::explore` docs and the README)
    #[arg(long)]
    json: bool,
    /// ps: add each task's command line, read from its memory
    #[arg(long)]
    cmdline: bool,
    /// ps: add each task's environment, read from its memory
    #[arg(long)]
    env: bool,
    /// Largest decompressed size of a compressed archive, in bytes (K, M, G suffixes: powers of 1024)
    #[arg(long, value_parser = parse_size, default_value = "4G")]
    max_archive_size: u64,
}

/// Parses `123`, `0x1f`, `64K`, `4G`.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        Some(b'T' | b't') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n = match num.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => num.parse::<u64>(),
    }
    .map_err(|_| format!("{s:?} is not a size (bytes, with an optional K, M, G or T suffix)"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

pub fn open(path: &std::path::Path, max_archive_size: u64) -> Result<Checkpoint> {
    Checkpoint::open_with(path, &OpenOptions { max_decompressed: max_archive_size }).map_err(|e| anyhow!("{e}"))
}

pub fn run(a: XArgs) -> Result<()> {
    if (a.cmdline || a.env) && a.what != What::Ps {
        return Err(anyhow!("--cmdline and --env go with `ps`"));
    }
    let ckpt = open(&a.dir, a.max_archive_size)?;
    let index = Index::new(&ckpt).map_err(|e| anyhow!("{}: {e}", a.dir.display()))?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let err = |e| anyhow!("{}: {e}", a.dir.display());
    let problems = match a.what {
        What::Ps => {
            let r = explore::ps(&index);
            if a.cmdline || a.env {
                ps_with_memory(&ckpt, &r, a.cmdline, a.env, a.json, &mut out)?
            } else {
                if a.json { explore::write_ps_json(&r, &mut out)? } else { explore::write_ps_text(&r.tasks, &mut out)? }
                r.problems
            }
        }
        What::Fds => {
            let r = explore::fds(&index).map_err(err)?;
            if a.json { explore::write_fds_json(&r, &mut out)? } else { explore::write_fds_text(&r.tasks, &mut out)? }
            r.problems
        }
        What::Mems => {
            let r = explore::mems(&index).map_err(err)?;
            if a.json { explore::write_mems_json(&r, &mut out)? } else { explore::write_mems_text(&r.tasks, &mut out)? }
            r.problems
        }
        What::Rss => {
            let r = explore::rss(&index).map_err(err)?;
            if a.json { explore::write_rss_json(&r, &mut out)? } else { explore::write_rss_text(&r.tasks, &mut out)? }
            r.problems
        }
        What::Sockets => {
            let r = explore::sockets(&index).map_err(err)?;
            if a.json {
                explore::write_sockets_json(&r, &mut out)?
            } else {
                explore::write_sockets_text(&r.tasks, &mut out)?
            }
            r.problems
        }
    };
    out.flush()?;
    drop(out);
    // The view is printed whole; what it could not show goes to stderr (and into the JSON).
    if !a.json {
        warn(&problems);
    }
    Ok(())
}

fn warn(problems: &[Problem]) {
    for p in problems {
        eprintln!("crit: warning: {p}");
    }
}

/// `ps` with the command line after each row and the environment on the lines below it (text),
/// or `cmdline` and `environ` arrays of strings in each task's object (JSON; `null` when they
/// cannot be read, with the reason in `problems`). Returns every problem, the view's first.
fn ps_with_memory(
    ckpt: &Checkpoint,
    r: &Report<PsRow<'_>>,
    cmdline: bool,
    env: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<Vec<Problem>> {
    type Strings = Vec<Vec<u8>>;
    let mem = memory::Memory::open(ckpt);
    let mut problems = r.problems.clone();
    let mut rows: Vec<(&PsRow<'_>, Option<Strings>, Option<Strings>)> = Vec::with_capacity(r.tasks.len());
    for row in &r.tasks {
        // A zombie has no memory: CRIU dumps only its core (see explore::TASK_DEAD).
        if row.state == Some(explore::TASK_DEAD) {
            rows.push((row, None, None));
            continue;
        }
        let task = mem.task(row.pid);
        let mut read = |what: &str, want: bool, f: fn(&memory::Task<'_>) -> Result<Strings, memory::MemError>| {
            if !want {
                return None;
            }
            let got = match &task {
                Ok(t) => f(t).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            got.map_err(|e| problems.push(Problem { file: format!("task {}", row.pid), message: format!("{what}: {e}") }))
                .ok()
        };
        let c = read("command line", cmdline, |t| t.cmdline());
        let e = read("environment", env, |t| t.environ());
        rows.push((row, c, e));
    }
    if json {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("tasks");
        w.begin_array();
        for (row, c, e) in &rows {
            w.begin_object();
            explore::ps_row_json_fields(&mut w, row);
            for (key, wanted, v) in [("cmdline", cmdline, c), ("environ", env, e)] {
                if !wanted {
                    continue;
                }
                w.key(key);
                match v {
                    Some(items) => {
                        w.begin_array();
                        for s in items {
                            w.str_bytes(s);
                        }
                        w.end_array();
                    }
                    None => w.raw_value("null"),
                }
            }
            w.end_object();
        }
        w.end_array();
        w.key("problems");
        w.begin_array();
        for p in &problems {
            w.begin_object();
            w.key("file");
            w.str(&p.file);
            w.key("message");
            w.str(&p.message);
            w.end_object();
        }
        w.end_array();
        w.end_object();
        let mut buf = w.take();
        buf.push(b'\n');
        out.write_all(&buf)?;
        return Ok(problems);
    }
    let mut buf = Vec::new();
    buf.extend_from_slice(explore::PS_HEADER.as_bytes());
    if cmdline {
        buf.extend_from_slice(b"   CMDLINE");
    }
    buf.push(b'\n');
    for (row, c, e) in &rows {
        buf.extend_from_slice(&row.text());
        if let Some(c) = c {
            buf.extend_from_slice(b"   ");
            buf.extend_from_slice(memory::quote_args(c).as_bytes());
        }
        buf.push(b'\n');
        for var in e.iter().flatten() {
            buf.extend_from_slice(b"\t\t");
            buf.extend_from_slice(memory::quote_args(std::slice::from_ref(var)).as_bytes());
            buf.push(b'\n');
        }
    }
    out.write_all(&buf)?;
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("0x10"), Ok(16));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
