//! `crit mem` (bytes at an address) and `crit search` (find bytes in memory): output only; the
//! memory model is `criu_image::memory`.

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use criu_image::checkpoint::Checkpoint;
use criu_image::memory::search::{self, Match, Pattern};
use criu_image::memory::render::{self, HexDump};
use criu_image::memory::{Memory, Task};

#[derive(clap::Args)]
pub struct MemArgs {
    /// Checkpoint directory or archive
    checkpoint: PathBuf,
    /// Task (PID or thread ID); may be left out when the checkpoint has one task
    #[arg(short, long)]
    pid: Option<u32>,
    /// Address, in hex (`0x` optional, as `crit x mems` prints them)
    #[arg(short, long, value_parser = parse_addr)]
    addr: u64,
    /// Bytes to read: decimal or 0x-hex, with an optional K, M or G suffix (powers of 1024)
    #[arg(short, long, default_value = "256", value_parser = parse_len)]
    len: u64,
    /// Write the bytes as they are
    #[arg(long, conflicts_with_all = ["hexdump", "json"])]
    raw: bool,
    /// Canonical hex+ASCII dump with addresses, like `hexdump -C` (the default)
    #[arg(long, conflicts_with = "json")]
    hexdump: bool,
    /// One JSON object: pid, address, length, VMA, and the bytes in hex
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Checkpoint directory or archive
    checkpoint: PathBuf,
    /// What to look for: bytes (UTF-8 text as typed), a regex with --regex, hex with --hex
    pattern: String,
    /// PATTERN is a regular expression over bytes (Unicode off: `.` is any byte but \n)
    #[arg(long, conflicts_with = "hex")]
    regex: bool,
    /// PATTERN is hex bytes (`deadbeef`, `de ad be ef`)
    #[arg(long)]
    hex: bool,
    /// Search only this task (PID or thread ID)
    #[arg(short, long)]
    pid: Option<u32>,
    /// Bytes of context to show before and after each match
    #[arg(short = 'C', long, default_value_t = 16)]
    context: u64,
    /// Stop after this many matches
    #[arg(short = 'm', long)]
    max_count: Option<u64>,
    /// One JSON object per line and match: pid, address, length, VMA, before/match/after in hex
    #[arg(long)]
    json: bool,
}

fn parse_addr(s: &str) -> Result<u64, String> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    u64::from_str_radix(&h.replace('_', ""), 16).map_err(|e| format!("`{s}` is not a hex address: {e}"))
}

fn parse_len(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n = match num.strip_prefix("0x").or_else(|| num.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => num.parse(),
    }
    .map_err(|e| format!("`{s}` is not a length: {e}"))?;
    n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))
}

fn open(path: &Path) -> Result<Checkpoint> {
    crate::x::open(path, 4 << 30)
}

/// A progress line on stderr, only when stderr is a terminal (`isatty(2)`, through std's
/// `IsTerminal`), at most every 100 ms. Shared by the match printer and the progress callback,
/// hence the cells.
struct ProgressLine {
    on: bool,
    last: Cell<Option<Instant>>,
    shown: Cell<bool>,
}

impl ProgressLine {
    fn new() -> Self {
        ProgressLine { on: io::stderr().is_terminal(), last: Cell::new(None), shown: Cell::new(false) }
    }

    fn show(&self, what: &str, done: u64, total: u64) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        if self.last.get().is_some_and(|t| now.duration_since(t) < Duration::from_millis(100)) {
            return;
        }
        self.last.set(Some(now));
        let pct = done.saturating_mul(100).checked_div(total).unwrap_or(100);
        eprint!("\r\x1b[K{what}: {} / {} MiB ({pct}%)", done >> 20, total >> 20);
        self.shown.set(true);
    }

    fn clear(&self) {
        if self.shown.get() {
            eprint!("\r\x1b[K");
            self.shown.set(false);
        }
    }
}

/// The task `-p` names, or the only task.
fn pick_pid(mem: &Memory<'_>, pid: Option<u32>) -> Result<u32> {
    if let Some(p) = pid {
        return Ok(p);
    }
    let tasks = mem.tasks()?;
    match tasks.as_slice() {
        [(p, _)] => Ok(*p),
        _ => {
            let pids: Vec<String> = tasks.iter().map(|t| t.0.to_string()).collect();
            bail!("the checkpoint has {} tasks ({}): choose one with -p PID", tasks.len(), pids.join(", "))
        }
    }
}

pub fn mem(a: MemArgs) -> Result<crate::Status> {
    let ckpt = open(&a.checkpoint)?;
    let mem = Memory::open(&ckpt);
    let pid = pick_pid(&mem, a.pid)?;
    let task = mem.task(pid)?;
    task.check(a.addr, a.len)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let progress = ProgressLine::new();
    let big = a.len >= 64 << 20;
    let mut result: io::Result<()> = Ok(());
    let mut done = 0u64;
    let mut tick = |n: usize, progress: &ProgressLine| {
        done += n as u64;
        if big {
            progress.show("crit mem", done, a.len);
        }
    };
    if a.json {
        render::write_mem_json(&task, a.addr, a.len, &mut out, &mut |n| tick(n, &progress)).map_err(|e| match e {
            render::MemReportError::Io(e) => anyhow::Error::from(e),
            e => anyhow!("{e}"),
        })?;
    } else if a.raw {
        crate::refuse_binary_to_terminal(None, "raw memory")?;
        task.read_with(a.addr, a.len, &mut |_, b| {
            tick(b.len(), &progress);
            result = out.write_all(b);
            if result.is_err() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        result?;
    } else {
        let mut hd = HexDump::new(a.addr, a.addr.saturating_add(a.len));
        task.read_with(a.addr, a.len, &mut |_, b| {
            tick(b.len(), &progress);
            result = hd.write(&mut out, b);
            if result.is_err() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        result?;
        hd.finish(&mut out)?;
    }
    progress.clear();
    out.flush()?;
    Ok(crate::Status::Yes)
}

fn parse_hex_pattern(s: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b':').collect();
    let digits = digits.strip_prefix(b"0x").unwrap_or(&digits);
    if !digits.len().is_multiple_of(2) {
        bail!("--hex pattern `{s}` has an odd number of hex digits");
    }
    digits
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("--hex pattern `{s}` is not hex"))
        })
        .collect()
}

pub fn search(a: SearchArgs) -> Result<crate::Status> {
    let pattern = if a.regex {
        Pattern::regex(&a.pattern)?
    } else if a.hex {
        Pattern::literal(&parse_hex_pattern(&a.pattern)?)?
    } else {
        Pattern::literal(a.pattern.as_bytes())?
    };
    let ckpt = open(&a.checkpoint)?;
    let mem = Memory::open(&ckpt);
    let pids: Vec<u32> = match a.pid {
        Some(p) => vec![p],
        None => mem.tasks()?.into_iter().map(|t| t.0).collect(),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let color = !a.json && io::stdout().is_terminal();
    let progress = ProgressLine::new();
    let mut left = a.max_count.unwrap_or(u64::MAX);
    let mut found = 0u64;
    for pid in pids {
        if left == 0 {
            break;
        }
        let task = match mem.task(pid) {
            Ok(t) => t,
            // Searching everything: a zombie has no memory, which is not an error.
            Err(e @ criu_image::memory::MemError::NoMemory { .. }) if a.pid.is_none() => {
                progress.clear();
                eprintln!("crit search: {e}; skipped");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let total = if progress.on { task.stored_len() } else { 0 };
        let mut result: io::Result<()> = Ok(());
        let label = format!("crit search: pid {pid}");
        let _ = search::search(
            &task,
            &pattern,
            &mut |m| {
                progress.clear();
                result = print_match(&mut out, &task, m, a.context, a.json, color);
                if progress.on && result.is_ok() {
                    // Show matches as they come, not after the progress line is gone.
                    result = out.flush();
                }
                left -= 1;
                found += 1;
                if result.is_err() || left == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            },
            &mut |done| progress.show(&label, done, total),
        );
        progress.clear();
        result?;
    }
    out.flush()?;
    // grep's convention: no match is exit status 1.
    Ok((found > 0).into())
}

fn print_match(w: &mut impl Write, task: &Task<'_>, m: Match, context: u64, json: bool, color: bool) -> io::Result<()> {
    if json {
        w.write_all(&render::match_json(task, m.addr, m.len, context))
    } else {
        w.write_all(render::match_text(task, m.addr, m.len, context, color).as_bytes())
    }
}
