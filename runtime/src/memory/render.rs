//! Task memory for people and scripts: `hexdump -C`-style dumps, search matches as lines, and
//! both as JSON (addresses as hex strings, lengths as numbers, bytes as hex).

use std::io::{self, Write};
use std::ops::ControlFlow;

use criu_image_proto::support::json::JsonWriter;

use super::{Backing, MemError, Task, Vma};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `b` as lower-case hex.
pub fn push_hex(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() * 2);
    for &x in b {
        out.push(HEX[usize::from(x >> 4)]);
        out.push(HEX[usize::from(x & 15)]);
    }
}

/// `b` as lower-case hex.
pub fn hex(b: &[u8]) -> String {
    let mut v = Vec::new();
    push_hex(&mut v, b);
    String::from_utf8(v).unwrap_or_default()
}

/// A VMA as a JSON object: `{"start": "0x...", "end": "0x...", "perms": "rw-p", "pgoff": N,
/// "name": "..."}`.
pub fn vma_json(w: &mut JsonWriter, v: &Vma) {
    w.begin_object();
    w.key("start");
    w.str(&format!("{:#x}", v.start));
    w.key("end");
    w.str(&format!("{:#x}", v.end));
    w.key("perms");
    w.str(&String::from_utf8_lossy(&v.perms()));
    w.key("pgoff");
    w.u64(v.pgoff);
    w.key("name");
    w.str_bytes(&v.name());
    w.end_object();
}

fn vma_or_null(w: &mut JsonWriter, v: Option<&Vma>) {
    match v {
        Some(v) => vma_json(w, v),
        None => w.raw_value("null"),
    }
}

/// A VMA for a line of text: `start-end perms name[+offset of addr in the file]`.
pub fn vma_text(v: &Vma, addr: u64) -> String {
    let mut s = format!("{:x}-{:x} {}", v.start, v.end, String::from_utf8_lossy(&v.perms()));
    if !v.name().is_empty() {
        s.push(' ');
        s.push_str(&v.name_lossy());
        if matches!(v.backing(), Backing::File { .. }) {
            s.push_str(&format!("+{:#x}", v.pgoff + (addr - v.start)));
        }
    }
    s
}

/// Streams `[addr, addr + len)` as one JSON object: `{"pid": N, "address": "0x...", "length": N,
/// "vma": {...} | null, "bytes": "<hex>"}`, followed by a newline. `tick` is told how many
/// bytes each piece had (for progress). Nothing is written when the range is not readable.
pub fn write_mem_json(task: &Task<'_>, addr: u64, len: u64, out: &mut dyn Write, tick: &mut dyn FnMut(usize)) -> Result<(), MemReportError> {
    task.check(addr, len)?;
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("pid");
    w.u64(task.pid.into());
    w.key("address");
    w.str(&format!("{addr:#x}"));
    w.key("length");
    w.u64(len);
    w.key("vma");
    vma_or_null(&mut w, task.vma_at(addr));
    w.key("bytes");
    // The head of the object, then the hex streamed, then its end: the bytes can be gigabytes.
    let head = w.take();
    out.write_all(&head)?;
    out.write_all(b"\"")?;
    let mut result = Ok(());
    let mut buf = Vec::with_capacity(1 << 17);
    task.read_with(addr, len, &mut |_, b| {
        tick(b.len());
        buf.clear();
        push_hex(&mut buf, b);
        result = out.write_all(&buf);
        if result.is_err() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    result?;
    out.write_all(b"\"}\n")?;
    Ok(())
}

/// One search match for people: `pid  0xaddr  vma  before«match»after`, non-printable bytes
/// escaped; with `color`, the match in bold red instead of between guillemets.
pub fn match_text(task: &Task<'_>, addr: u64, len: u64, context: u64, color: bool) -> String {
    let (before, after) = task.context(addr, len, context, context);
    let bytes = task.read(addr, len).unwrap_or_default();
    let vma = task.vma_at(addr).map_or_else(|| "?".to_string(), |v| vma_text(v, addr));
    let (open, close) = if color { ("\x1b[1;31m", "\x1b[0m") } else { ("\u{ab}", "\u{bb}") };
    format!(
        "{}  {addr:#x}  {vma}  {}{open}{}{close}{}\n",
        task.pid,
        before.escape_ascii(),
        bytes.escape_ascii(),
        after.escape_ascii()
    )
}

/// One search match as a JSON line: `{"pid": N, "address": "0x...", "length": N, "vma": {...} |
/// null, "before": "<hex>", "match": "<hex>", "after": "<hex>"}`.
pub fn match_json(task: &Task<'_>, addr: u64, len: u64, context: u64) -> Vec<u8> {
    let (before, after) = task.context(addr, len, context, context);
    let bytes = task.read(addr, len).unwrap_or_default();
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("pid");
    w.u64(task.pid.into());
    w.key("address");
    w.str(&format!("{addr:#x}"));
    w.key("length");
    w.u64(len);
    w.key("vma");
    vma_or_null(&mut w, task.vma_at(addr));
    for (k, b) in [("before", &before), ("match", &bytes), ("after", &after)] {
        w.key(k);
        w.str(&hex(b));
    }
    w.end_object();
    let mut out = w.take();
    out.push(b'\n');
    out
}

/// An error of a memory report: the range is unreadable, or the output failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum MemReportError {
    /// The memory cannot be read.
    Memory(MemError),
    /// Writing the output failed.
    Io(io::Error),
}

impl std::fmt::Display for MemReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemReportError::Memory(e) => e.fmt(f),
            MemReportError::Io(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for MemReportError {}

impl From<MemError> for MemReportError {
    fn from(e: MemError) -> Self {
        MemReportError::Memory(e)
    }
}

impl From<io::Error> for MemReportError {
    fn from(e: io::Error) -> Self {
        MemReportError::Io(e)
    }
}

/// `hexdump -C` with virtual addresses: 16 bytes a line, identical lines folded into `*`, the
/// end address on the last line. Feed it with [`HexDump::write`], end with [`HexDump::finish`].
#[derive(Debug)]
pub struct HexDump {
    addr: u64,
    width: usize,
    line: [u8; 16],
    n: usize,
    prev: Option<[u8; 16]>,
    starred: bool,
}

impl HexDump {
    /// A dump of `[start, end)` (the addresses' width is that of `end`, at least 8 digits).
    pub fn new(start: u64, end: u64) -> Self {
        let width = format!("{end:x}").len().max(8);
        HexDump { addr: start, width, line: [0; 16], n: 0, prev: None, starred: false }
    }

    /// The next bytes.
    pub fn write(&mut self, w: &mut dyn Write, mut b: &[u8]) -> io::Result<()> {
        while !b.is_empty() {
            let k = (16 - self.n).min(b.len());
            self.line[self.n..self.n + k].copy_from_slice(&b[..k]);
            self.n += k;
            b = &b[k..];
            if self.n == 16 {
                self.emit(w)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let line = &self.line[..self.n];
        if self.n == 16 && self.prev == Some(self.line) {
            if !self.starred {
                writeln!(w, "*")?;
                self.starred = true;
            }
        } else {
            self.starred = false;
            let mut s = format!("{:0width$x} ", self.addr, width = self.width);
            for i in 0..16 {
                if i == 8 {
                    s.push(' ');
                }
                match line.get(i) {
                    Some(x) => s.push_str(&format!(" {x:02x}")),
                    None => s.push_str("   "),
                }
            }
            s.push_str("  |");
            s.extend(line.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }));
            s.push('|');
            writeln!(w, "{s}")?;
        }
        self.prev = (self.n == 16).then_some(self.line);
        self.addr += self.n as u64;
        self.n = 0;
        Ok(())
    }

    /// The last partial line and the end address.
    pub fn finish(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if self.n > 0 {
            self.emit(w)?;
        }
        writeln!(w, "{:0width$x}", self.addr, width = self.width)
    }
}
