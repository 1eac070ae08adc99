//! crit's `x` views (`ps`, `fds`, `mems`, `rss`) plus `sockets`, as rows built from the
//! checkpoint [model](crate::model).
//!
//! Each view is a function from a [`Checkpoint`] to a [`Report`] of rows, rendered either as text
//! that is byte-identical to CRIU 4.2.1's `crit x` (the `write_*_text` functions), or as JSON in
//! the schema documented on each `write_*_json` function. crit's quirky strings (`FIFO.27`,
//! `unknown path`) belong to these renderers alone; the model keeps numbers and typed values.
//!
//! Where crit crashes, these views keep going and say why in [`Report::problems`]:
//! - `ps` with several root tasks or a task whose parent is not in the tree (crit shows only the
//!   last root, or fails with `KeyError`): every such task is shown as a root, in `pstree.img`
//!   order;
//! - `rss` on images from before CRIU 4.2 (no `nr_pages`, only `compat_nr_pages`; crit fails
//!   with `KeyError`), and on pagemap entries past the last VMA (`IndexError`);
//! - a file id that is in neither `files.img` nor the legacy per-type images (crit opens
//!   `reg-files.img` and fails): shown as crit shows a file that is not a regular one,
//!   `unknown path`; a checkpoint without any file table says so once;
//! - a task without its `core`, `ids`, `fdinfo`, `fs` or `mm` image, or with a corrupt one: the
//!   task is shown without what that image would give, and the image is named in `problems`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};

use criu_image_proto::schema::enums::FdTypes;
use criu_image_proto::schema::kinds::files as names;
use criu_image_proto::support::json::{JsonWriter, hex_digits};

use crate::checkpoint::{Checkpoint, CheckpointError};
pub use crate::model::Problem;
use criu_image_proto::flags::{MapFlags, Prot, VmaStatus};
use criu_image_proto::kernel::{IpProto, SocketFamily, SocketType, TaskState};

use crate::model::{FileKind, FileTable, Run, Socket, Vma};

pub use crate::pagemap::{PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT};


/// A view's rows and what it could not show.
#[derive(Debug)]
pub struct Report<T> {
    /// One row per task, in the view's order.
    pub tasks: Vec<T>,
    /// What could not be shown, naming the image.
    pub problems: Vec<Problem>,
}

/// The file table, or why there is none: a missing table is one problem, not one per fd.
fn file_table<'c>(ckpt: &'c Checkpoint, problems: &mut Vec<Problem>) -> Result<&'c FileTable, CheckpointError> {
    let files = ckpt.files()?;
    if files.is_absent() {
        problems.push(Problem::new("files.img", "missing: paths of open files and mapped files are unknown"));
    }
    Ok(files)
}

/// How crit describes an open file: the path of a regular file, `pipe[<pipe id>]`,
/// `unix[<ino> (<peer ino>) <name>]`, or `<TYPE>.<id>` for everything else (the type the fd says).
pub fn describe(files: &FileTable, ty: FdTypes, id: u32) -> Vec<u8> {
    describe_cow(files, ty, id).into_owned()
}

/// [`describe`], borrowing a regular file's path from the table rather than copying it.
pub fn describe_cow(files: &FileTable, ty: FdTypes, id: u32) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(32);
    let num = |out: &mut Vec<u8>, v: u64| push_dec_left(out, v, 0);
    match (ty, files.get(id).map(|f| &f.kind)) {
        (FdTypes::REG, _) => return Cow::Borrowed(reg_path(files, id)),
        (FdTypes::PIPE, Some(FileKind::Pipe { pipe_id, .. })) => {
            out.extend_from_slice(b"pipe[");
            num(&mut out, (*pipe_id).into());
            out.push(b']');
        }
        (FdTypes::UNIXSK, Some(FileKind::Socket(Socket::Unix(u)))) => {
            out.extend_from_slice(b"unix[");
            num(&mut out, u.ino.into());
            out.extend_from_slice(b" (");
            num(&mut out, u.peer.into());
            out.push(b')');
            if !u.name.is_empty() {
                out.push(b' ');
                out.extend_from_slice(&quopri(&u.name));
            }
            out.push(b']');
        }
        _ => {
            match ty.name() {
                Some(n) => out.extend_from_slice(n.as_bytes()),
                None => {
                    let _ = write!(out, "{}", ty.0);
                }
            }
            out.push(b'.');
            num(&mut out, id.into());
        }
    }
    Cow::Owned(out)
}

/// A file description's kind, as the JSON forms name it.
pub fn file_kind_name(k: &FileKind) -> &'static str {
    match k {
        FileKind::Regular(_) => "regular",
        FileKind::Pipe { .. } => "pipe",
        FileKind::Fifo { .. } => "fifo",
        FileKind::Socket(_) => "socket",
        FileKind::Eventfd { .. } => "eventfd",
        FileKind::Eventpoll { .. } => "eventpoll",
        FileKind::Signalfd { .. } => "signalfd",
        FileKind::Timerfd { .. } => "timerfd",
        FileKind::Inotify { .. } => "inotify",
        FileKind::Fanotify { .. } => "fanotify",
        FileKind::Memfd(_) => "memfd",
        FileKind::Tty(_) => "tty",
        FileKind::Pidfd { .. } => "pidfd",
        FileKind::BpfMap { .. } => "bpfmap",
        FileKind::Tun { .. } => "tun",
        FileKind::Namespace { .. } => "namespace",
        FileKind::External => "external",
        _ => "other",
    }
}

/// The path a file description was opened by: a regular file's, a FIFO's, a terminal's.
pub fn file_path(k: &FileKind) -> Option<&[u8]> {
    match k {
        FileKind::Regular(r) => Some(&r.path),
        FileKind::Fifo { path, .. } => path.as_deref(),
        FileKind::Tty(t) => t.path.as_deref(),
        _ => None,
    }
}

/// A regular file's path as crit prints it: its name, or `unknown path`.
pub fn reg_path(files: &FileTable, id: u32) -> &[u8] {
    files.regular(id).map_or(b"unknown path", |r| &r.path[..])
}

/// An fd type's name, or its number when the schema has none.
pub fn type_name(ty: FdTypes) -> String {
    ty.name().map_or_else(|| ty.0.to_string(), str::to_string)
}

/// `quopri.encodestring(bytes)`, crit's form of unix socket names.
fn quopri(name: &[u8]) -> Vec<u8> {
    // The generated JSON writer already reproduces CPython's quoted-printable quirks; it emits
    // them as a JSON string, whose escapes can only be those of the quoted-printable alphabet
    // (printable ASCII, tab, CR, LF), so undoing them is exact.
    let mut w = JsonWriter::new(false);
    w.quopri(name);
    let s = w.take();
    let inner = s.get(1..s.len().saturating_sub(1)).unwrap_or_default();
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == b'\\' && i + 1 < inner.len() {
            out.push(match inner[i + 1] {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                other => other,
            });
            i += 2;
        } else {
            out.push(inner[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text output helpers: the views print one line per VMA or pagemap entry, tens of thousands on a
// big checkpoint, so numbers are formatted by hand rather than through `fmt`.

/// `%0{width}lx`: the digits of a word at once ([`hex_digits`]; x mems writes two per VMA,
/// 60 000 on the big checkpoint), after the zeros that pad it to `width`.
fn push_hex(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [0u8; 16];
    let d = hex_digits(v, &mut tmp);
    for _ in d.len()..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(d);
}

/// Decimal digits of `v`.
fn dec(v: u64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut n = 0;
    let mut x = v;
    loop {
        tmp[19 - n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    &tmp[20 - n..]
}

/// `%-{width}d`.
fn push_dec_left(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [0u8; 20];
    let d = dec(v, &mut tmp);
    buf.extend_from_slice(d);
    pad(buf, width.saturating_sub(d.len()));
}

/// `%{width}d`.
fn push_dec_right(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [0u8; 20];
    let d = dec(v, &mut tmp);
    pad(buf, width.saturating_sub(d.len()));
    buf.extend_from_slice(d);
}

fn pad(buf: &mut Vec<u8>, n: usize) {
    buf.resize(buf.len() + n, b' ');
}

/// Writes the buffer out when it holds 64 KiB, so output streams in bounded memory.
fn spill(buf: &mut Vec<u8>, out: &mut dyn Write) -> io::Result<()> {
    if buf.len() >= 1 << 16 {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ps

/// crit's `ps` header line.
pub const PS_HEADER: &str = "    PID   PGID    SID   COMM";

/// CRIU's name of a `task_core_entry.task_state` value ([`TaskState::name`]).
pub fn task_state_name(state: u32) -> Option<&'static str> {
    TaskState(state).name()
}

/// One line of `ps`.
#[derive(Clone, Debug)]
pub struct PsRow<'a> {
    /// The task's pid (`pstree.img`'s `pid`), in the dumped pid namespace.
    pub pid: u32,
    /// Its parent's pid (`ppid`), 0 for a root.
    pub ppid: u32,
    /// Its process group (`pgid`).
    pub pgid: u32,
    /// Its session (`sid`).
    pub sid: u32,
    /// Nesting under the root task it is shown below.
    pub depth: usize,
    /// `tc.comm` from the task's core image.
    pub comm: Option<&'a [u8]>,
    /// `tc.task_state`.
    pub state: Option<u32>,
    /// Its thread ids (`pstree.img`'s `threads`; none for a zombie).
    pub threads: Vec<u32>,
}

impl PsRow<'_> {
    /// The row as crit prints it, without the newline: `"%7d%7d%7d   "`, four spaces per level,
    /// the command name.
    pub fn text(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        let _ = write!(out, "{:7}{:7}{:7}   ", self.pid, self.pgid, self.sid);
        for _ in 0..self.depth {
            out.extend_from_slice(b"    ");
        }
        out.extend_from_slice(self.comm.unwrap_or(b"?"));
        out
    }
}


/// `crit x DIR ps`: the process tree with each task's command name.
pub fn ps(ckpt: &Checkpoint) -> Result<Report<PsRow<'_>>, CheckpointError> {
    let procs = ckpt.processes()?;
    let mut problems = Vec::new();
    let rows = procs
        .tree_order()
        .into_iter()
        .map(|(p, depth)| {
            let core = match p.core() {
                Ok(Some(core)) => Some(core),
                Ok(None) => {
                    problems.push(Problem::new(names::CORE.name(p.pid().into()), "missing: the command name is unknown"));
                    None
                }
                Err(e) => {
                    problems.push(Problem::from_error(&e));
                    None
                }
            };
            PsRow {
                pid: p.pid(),
                ppid: p.ppid(),
                pgid: p.pgid(),
                sid: p.sid(),
                depth,
                comm: core.map(|c| &c.comm[..]),
                state: core.map(|c| c.state.0),
                threads: p.thread_ids().to_vec(),
            }
        })
        .collect();
    if procs.iter().filter(|t| t.ppid() == 0).count() > 1 {
        problems.push(Problem::new("pstree.img", "several root tasks (ppid 0); all are shown"));
    }
    for t in procs.iter() {
        if t.ppid() != 0 && procs.get(t.ppid()).is_none() {
            problems.push(Problem::new(
                "pstree.img",
                format!("task {} has parent {}, which is not in the tree; it is shown as a root", t.pid(), t.ppid()),
            ));
        }
    }
    Ok(Report { tasks: rows, problems })
}

/// Writes `ps` as crit does.
pub fn write_ps_text(rows: &[PsRow<'_>], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 * rows.len() + 32);
    buf.extend_from_slice(PS_HEADER.as_bytes());
    buf.push(b'\n');
    for r in rows {
        buf.extend_from_slice(&r.text());
        buf.push(b'\n');
    }
    out.write_all(&buf)
}

/// Writes `ps` as JSON:
///
/// ```text
/// {"tasks": [{"pid": 1, "ppid": 0, "pgid": 1, "sid": 1, "depth": 0, "comm": "bash",
///             "state": "alive", "threads": [1]}, ...],
///  "problems": [{"file": "core-7.img", "message": "..."}]}
/// ```
///
/// Tasks come in display order (as in the text form); `depth` is the nesting level. `comm` is
/// `null` when the core image is missing; `state` is `task_state` by CRIU's names (`alive`,
/// `dead`, `stopped`, `helper`, `thread`, `zombie`; unlike crit's decode, 3 is stopped and 6
/// zombie), or the number when it has no name, or `null`.
pub fn write_ps_json(report: &Report<PsRow<'_>>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("tasks");
    w.begin_array();
    for r in &report.tasks {
        w.begin_object();
        ps_row_json_fields(&mut w, r);
        w.end_object();
    }
    w.end_array();
    problems_json(&mut w, &report.problems);
    w.end_object();
    finish(w, out)
}

/// The fields of one `ps` JSON row (without braces), for callers that add their own fields.
pub fn ps_row_json_fields(w: &mut JsonWriter, r: &PsRow<'_>) {
    w.key("pid");
    w.u64(r.pid.into());
    w.key("ppid");
    w.u64(r.ppid.into());
    w.key("pgid");
    w.u64(r.pgid.into());
    w.key("sid");
    w.u64(r.sid.into());
    w.key("depth");
    w.u64(r.depth as u64);
    w.key("comm");
    match r.comm {
        Some(c) => w.str_bytes(c),
        None => w.raw_value("null"),
    }
    w.key("state");
    match r.state {
        Some(s) => match task_state_name(s) {
            Some(n) => w.str(n),
            None => w.u64(s.into()),
        },
        None => w.raw_value("null"),
    }
    w.key("threads");
    w.begin_array();
    for &t in &r.threads {
        w.u64(t.into());
    }
    w.end_array();
}

/// `ps` rows with what each task's memory says: its command line and environment.
#[derive(Debug)]
pub struct PsMemoryRow<'c> {
    /// The `ps` row.
    pub row: PsRow<'c>,
    /// `argv`, when asked for and readable.
    pub cmdline: Option<Vec<Vec<u8>>>,
    /// The environment, when asked for and readable.
    pub environ: Option<Vec<Vec<u8>>>,
}

/// `ps --cmdline --env`: each row of `report` with the task's command line and/or environment
/// read from its memory; what cannot be read is a problem naming the task.
pub fn ps_with_memory<'c>(ckpt: &'c Checkpoint, report: Report<PsRow<'c>>, cmdline: bool, env: bool) -> Report<PsMemoryRow<'c>> {
    type Strings = Vec<Vec<u8>>;
    let mem = crate::memory::Memory::open(ckpt);
    let mut problems = report.problems;
    let mut rows = Vec::with_capacity(report.tasks.len());
    for row in report.tasks {
        // A zombie has no memory: CRIU dumps only its core.
        if row.state.is_some_and(|s| crate::model::is_zombie(TaskState(s))) {
            rows.push(PsMemoryRow { row, cmdline: None, environ: None });
            continue;
        }
        let task = mem.task(row.pid);
        let mut read = |what: &str, want: bool, f: fn(&crate::memory::Task<'_>) -> Result<Strings, crate::memory::MemError>| {
            if !want {
                return None;
            }
            let got = match &task {
                Ok(t) => f(t).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            got.map_err(|e| problems.push(Problem::new(format!("task {}", row.pid), format!("{what}: {e}")))).ok()
        };
        let c = read("command line", cmdline, |t| t.cmdline());
        let e = read("environment", env, |t| t.environ());
        rows.push(PsMemoryRow { row, cmdline: c, environ: e });
    }
    Report { tasks: rows, problems }
}

/// Writes `ps` with memory as text: crit's columns, the command line after each row (shell
/// quoted) under a `CMDLINE` header, the environment on the lines below it.
pub fn write_ps_memory_text(rows: &[PsMemoryRow<'_>], cmdline: bool, out: &mut dyn Write) -> io::Result<()> {
    // The command lines start in one column, after the widest (indented) command name.
    let texts: Vec<Vec<u8>> = rows.iter().map(|r| r.row.text()).collect();
    let width = texts.iter().map(|t| String::from_utf8_lossy(t).chars().count()).chain([PS_HEADER.len()]).max().unwrap_or(0);
    let pad_to = |buf: &mut Vec<u8>, text: &[u8]| {
        let n = String::from_utf8_lossy(text).chars().count();
        buf.extend_from_slice(text);
        pad(buf, width - n);
    };
    let mut buf = Vec::new();
    if cmdline {
        pad_to(&mut buf, PS_HEADER.as_bytes());
        buf.extend_from_slice(b"   CMDLINE");
    } else {
        buf.extend_from_slice(PS_HEADER.as_bytes());
    }
    buf.push(b'\n');
    for (r, text) in rows.iter().zip(&texts) {
        match &r.cmdline {
            Some(c) => {
                pad_to(&mut buf, text);
                buf.extend_from_slice(b"   ");
                buf.extend_from_slice(crate::memory::quote_args(c).as_bytes());
            }
            None => buf.extend_from_slice(text),
        }
        buf.push(b'\n');
        for var in r.environ.iter().flatten() {
            buf.extend_from_slice(b"\t\t");
            buf.extend_from_slice(crate::memory::quote_args(std::slice::from_ref(var)).as_bytes());
            buf.push(b'\n');
        }
    }
    out.write_all(&buf)
}

/// Writes `ps` with memory as JSON: the `ps` schema with `cmdline` and `environ` arrays of
/// strings in each task's object when asked for (`null` when they cannot be read, with the reason
/// in `problems`).
pub fn write_ps_memory_json(report: &Report<PsMemoryRow<'_>>, cmdline: bool, env: bool, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("tasks");
    w.begin_array();
    for r in &report.tasks {
        w.begin_object();
        ps_row_json_fields(&mut w, &r.row);
        for (key, wanted, v) in [("cmdline", cmdline, &r.cmdline), ("environ", env, &r.environ)] {
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
    problems_json(&mut w, &report.problems);
    w.end_object();
    finish(w, out)
}

/// Writes a problems array as `"problems": [{"file", "message"}]`.
pub fn problems_json(w: &mut JsonWriter, problems: &[Problem]) {
    w.key("problems");
    w.begin_array();
    for p in problems {
        w.begin_object();
        w.key("file");
        w.str(&p.file);
        w.key("message");
        w.str(&p.message);
        w.end_object();
    }
    w.end_array();
}

fn finish(mut w: JsonWriter, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = w.take();
    buf.push(b'\n');
    out.write_all(&buf)
}

/// An address (or an offset in an address space) as our reports write them: a hex string, which
/// every JSON reader keeps exact (numbers above 2^53 are not, in JavaScript).
fn hex(w: &mut JsonWriter, v: u64) {
    w.str(&format!("{v:#x}"));
}

fn null_or_bytes(w: &mut JsonWriter, v: Option<&[u8]>) {
    match v {
        Some(b) => w.str_bytes(b),
        None => w.raw_value("null"),
    }
}

// ---------------------------------------------------------------------------------------------
// fds

/// One open file of a task.
#[derive(Clone, Debug)]
pub struct FdRow<'c> {
    /// The fd number (`fdinfo_entry.fd`).
    pub fd: u32,
    /// The type the fd entry gives (`fdinfo_entry.type`).
    pub type_: FdTypes,
    /// The file description's id in `files.img`.
    pub id: u32,
    /// crit's description: a path, `pipe[...]`, `unix[...]` or `<TYPE>.<id>`.
    pub desc: Cow<'c, [u8]>,
    /// The file description, when the file table has it.
    pub file: Option<&'c crate::model::File>,
}

/// A task's open files, working directory and root.
#[derive(Clone, Debug)]
pub struct FdsTask<'c> {
    /// The task's pid.
    pub pid: u32,
    /// `files_id` from its ids image.
    pub files_id: Option<u32>,
    /// Its fds, in fdinfo image order.
    pub fds: Vec<FdRow<'c>>,
    /// Its working directory's path (`fs-<pid>.img`'s `cwd_id` in `files.img`; `unknown path`
    /// when that is not a regular file); `None` when the fs image is missing or corrupt.
    pub cwd: Option<Vec<u8>>,
    /// Its root directory's path, as `cwd`.
    pub root: Option<Vec<u8>>,
}

/// `crit x DIR fds`: each task's open files (in `pstree.img` order), then its cwd and root.
pub fn fds(ckpt: &Checkpoint) -> Result<Report<FdsTask<'_>>, CheckpointError> {
    let procs = ckpt.processes()?;
    let mut problems = Vec::new();
    let files = file_table(ckpt, &mut problems)?;
    let mut tasks = Vec::with_capacity(procs.len());
    for p in procs.iter() {
        let ids = p.ids().unwrap_or_else(|e| {
            problems.push(Problem::from_error(&e));
            None
        });
        // A zombie is its core alone (dump_one_zombie): nothing else is missing.
        let zombie = p.is_zombie();
        if ids.is_none() && !zombie && !ckpt.contains(&names::IDS.name(p.pid().into())) {
            problems.push(Problem::new(names::IDS.name(p.pid().into()), "missing: open files are looked up by pid"));
        }
        let mut fds = Vec::new();
        match p.fds() {
            Ok(Some(entries)) => {
                fds.reserve(entries.len());
                for e in entries {
                    let file = files.get_typed(e.type_, e.id).or_else(|| files.get(e.id));
                    fds.push(FdRow { fd: e.fd, type_: e.type_, id: e.id, desc: describe_cow(files, e.type_, e.id), file });
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        let (mut cwd, mut root) = (None, None);
        match p.fs() {
            Ok(Some(fs)) => {
                cwd = Some(reg_path(files, fs.cwd_id).to_vec());
                root = Some(reg_path(files, fs.root_id).to_vec());
            }
            Ok(None) if zombie => {}
            Ok(None) => problems.push(Problem::new(names::FS.name(p.pid().into()), "missing: cwd and root are unknown")),
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        tasks.push(FdsTask { pid: p.pid(), files_id: ids.map(|i| i.files_id), fds, cwd, root });
    }
    Ok(Report { tasks, problems })
}

/// Writes `fds` as crit does: the pid, `"\t%7d: %s"` per fd, then `cwd` and `root`.
pub fn write_fds_text(tasks: &[FdsTask<'_>], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    for t in tasks {
        let _ = writeln!(buf, "{}", t.pid);
        for f in &t.fds {
            buf.push(b'\t');
            push_dec_right(&mut buf, f.fd.into(), 7);
            buf.extend_from_slice(b": ");
            buf.extend_from_slice(&f.desc);
            buf.push(b'\n');
            spill(&mut buf, out)?;
        }
        for (label, v) in [("    cwd", &t.cwd), ("   root", &t.root)] {
            if let Some(v) = v {
                buf.push(b'\t');
                buf.extend_from_slice(label.as_bytes());
                buf.extend_from_slice(b": ");
                buf.extend_from_slice(v);
                buf.push(b'\n');
            }
        }
    }
    out.write_all(&buf)
}

/// Writes `fds` as JSON:
///
/// ```text
/// {"tasks": [{"pid": 1, "files_id": 2,
///             "fds": [{"fd": 0, "type": "REG", "id": 17, "desc": "/dev/null"}, ...],
///             "cwd": "/tmp", "root": "/"}, ...],
///  "problems": [...]}
/// ```
///
/// `desc` is the text form's description (crit's); `type` the fd type's name (its number if it has
/// none). From the model: `kind` is what the file description is (`regular`, `pipe`, `fifo`,
/// `socket`, `eventfd`, `eventpoll`, `signalfd`, `timerfd`, `inotify`, `fanotify`, `memfd`, `tty`,
/// `pidfd`, `bpfmap`, `tun`, `namespace`, `external`, `other`; `null` when `files.img` lacks the
/// id), `path` the path it was opened by (regular files, FIFOs, terminals; else `null`), and
/// `deleted` whether a regular file was unlinked at dump time. `files_id`, `cwd` and `root` are
/// `null` when their image is missing.
pub fn write_fds_json(report: &Report<FdsTask<'_>>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("tasks");
    w.begin_array();
    for t in &report.tasks {
        w.begin_object();
        w.key("pid");
        w.u64(t.pid.into());
        w.key("files_id");
        match t.files_id {
            Some(v) => w.u64(v.into()),
            None => w.raw_value("null"),
        }
        w.key("fds");
        w.begin_array();
        for f in &t.fds {
            w.begin_object();
            w.key("fd");
            w.u64(f.fd.into());
            w.key("type");
            w.str(&type_name(f.type_));
            w.key("id");
            w.u64(f.id.into());
            w.key("desc");
            w.str_bytes(&f.desc);
            let kind = f.file.map(|f| &f.kind);
            w.key("kind");
            match kind {
                Some(k) => w.str(file_kind_name(k)),
                None => w.raw_value("null"),
            }
            w.key("path");
            null_or_bytes(&mut w, kind.and_then(file_path));
            w.key("deleted");
            w.bool(matches!(kind, Some(FileKind::Regular(r)) if r.deleted()));
            w.end_object();
        }
        w.end_array();
        w.key("cwd");
        null_or_bytes(&mut w, t.cwd.as_deref());
        w.key("root");
        null_or_bytes(&mut w, t.root.as_deref());
        w.end_object();
    }
    w.end_array();
    problems_json(&mut w, &report.problems);
    w.end_object();
    finish(w, out)
}

// ---------------------------------------------------------------------------------------------
// mems

/// What a VMA maps, decided by its status bits in crit's order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    /// SysV shared memory (`shmid` is the segment's id).
    SysvIpc,
    /// Anonymous shared memory.
    Shmem,
    /// A packet socket's ring.
    Packet,
    /// A file (`shmid` is the file's id in `files.img`).
    File,
    /// A stack (`VMA_AREA_STACK`).
    Stack,
    /// `[vsyscall]` (`VMA_AREA_VSYSCALL`).
    Vsyscall,
    /// The vDSO (`VMA_AREA_VDSO`).
    Vdso,
    /// Not marked as a stack, but `MAP_GROWSDOWN`.
    GrowsDown,
    /// Anything else: private anonymous memory, heap, vvar, AIO rings, memfd mappings (whose
    /// file is not a regular one).
    Anon,
}

impl VmaKind {
    /// crit's classification of a VMA (`crit/crit/__main__.py`'s precedence).
    pub fn of(status: VmaStatus, flags: MapFlags) -> VmaKind {
        type S = VmaStatus;
        if status.contains(S::SYSVIPC) {
            VmaKind::SysvIpc
        } else if status.contains(S::ANON_SHARED) {
            VmaKind::Shmem
        } else if status.contains(S::SOCKET) {
            VmaKind::Packet
        } else if status.intersects(S::FILE_PRIVATE | S::FILE_SHARED) {
            VmaKind::File
        } else if status.contains(S::STACK) {
            VmaKind::Stack
        } else if status.contains(S::VSYSCALL) {
            VmaKind::Vsyscall
        } else if status.contains(S::VDSO) {
            VmaKind::Vdso
        } else if flags.contains(MapFlags::GROWSDOWN) {
            VmaKind::GrowsDown
        } else {
            VmaKind::Anon
        }
    }

    /// The kind's name in the JSON form.
    pub fn name(self) -> &'static str {
        match self {
            VmaKind::SysvIpc => "sysvipc",
            VmaKind::Shmem => "shmem",
            VmaKind::Packet => "packet",
            VmaKind::File => "file",
            VmaKind::Stack => "stack",
            VmaKind::Vsyscall => "vsyscall",
            VmaKind::Vdso => "vdso",
            VmaKind::GrowsDown => "growsdown",
            VmaKind::Anon => "anon",
        }
    }
}

/// One VMA of a task, as crit shows it: the model's VMA with crit's classification and path.
#[derive(Clone, Copy, Debug)]
pub struct VmaRow<'a> {
    /// The VMA of the model (addresses, offset, `shmid`, bits), with what it maps resolved.
    pub vma: &'a Vma,
    /// crit's classification.
    pub kind: VmaKind,
    /// For [`VmaKind::File`]: the file's path, or `unknown path`.
    pub path: Option<&'a [u8]>,
}

impl<'a> VmaRow<'a> {
    /// crit's view of `vma`: its kind and, for a file mapping, the path `files` has for it.
    pub fn new(vma: &'a Vma, files: &'a FileTable) -> VmaRow<'a> {
        let kind = VmaKind::of(vma.status, vma.flags);
        let path = (kind == VmaKind::File).then(|| u32::try_from(vma.shmid).map_or(&b"unknown path"[..], |id| reg_path(files, id)));
        VmaRow { vma, kind, path }
    }
    /// `rwx` with `-` for each missing permission.
    pub fn prot_text(&self) -> [u8; 3] {
        let b = |bit, c| if self.vma.prot.contains(bit) { c } else { b'-' };
        [b(Prot::READ, b'r'), b(Prot::WRITE, b'w'), b(Prot::EXEC, b'x')]
    }
    /// Whether the file mapping is shared.
    pub fn shared(&self) -> bool {
        self.vma.status.contains(VmaStatus::FILE_SHARED)
    }
    /// Whether CRIU restores it as a regular VMA (crit marks the others with `*`).
    pub fn regular(&self) -> bool {
        self.vma.status.contains(VmaStatus::REGULAR)
    }
    /// Pages mapped.
    pub fn pages(&self) -> u64 {
        self.vma.end.saturating_sub(self.vma.start) / PAGE_SIZE
    }
}

/// A task's memory map: the model's VMAs, shown through [`MemsTask::rows`] (the report holds
/// no copy of them: 30 000 rows were 2 MB).
#[derive(Clone, Debug)]
pub struct MemsTask<'a> {
    /// The task's pid.
    pub pid: u32,
    /// The executable's path (from `exe_file_id`), `None` when the mm image is missing.
    pub exe: Option<&'a [u8]>,
    /// Its VMAs in `mm-<pid>.img` order (empty when the mm image is missing).
    pub vmas: &'a [Vma],
    /// The file table their paths come from.
    pub files: &'a FileTable,
}

impl<'a> MemsTask<'a> {
    /// Its VMAs as crit shows them, in image order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = VmaRow<'a>> + 'a {
        let files = self.files;
        self.vmas.iter().map(move |v| VmaRow::new(v, files))
    }
}

/// `crit x DIR mems`: each task's executable and VMAs, in `pstree.img` order.
pub fn mems(ckpt: &Checkpoint) -> Result<Report<MemsTask<'_>>, CheckpointError> {
    let procs = ckpt.processes()?;
    let mut problems = Vec::new();
    let files = file_table(ckpt, &mut problems)?;
    let mut tasks = Vec::with_capacity(procs.len());
    for p in procs.iter() {
        let (exe, vmas) = match p.mm() {
            Ok(Some(mm)) => (Some(reg_path(files, mm.info.exe_file_id)), &mm.vmas[..]),
            Ok(None) => {
                if !p.is_zombie() {
                    problems.push(Problem::new(names::MM.name(p.pid().into()), "missing: no memory map"));
                }
                (None, &[][..])
            }
            Err(e) => {
                problems.push(Problem::from_error(&e));
                (None, &[][..])
            }
        };
        tasks.push(MemsTask { pid: p.pid(), exe, vmas, files });
    }
    Ok(Report { tasks, problems })
}

/// Writes `mems` as crit does. crit numbers SysV, shared-anonymous and packet mappings by the
/// order their `shmid` first appears, over the whole checkpoint, and prints the number in hex.
pub fn write_mems_text(tasks: &[MemsTask<'_>], out: &mut dyn Write) -> io::Result<()> {
    let mut numbers: HashMap<u64, u64> = HashMap::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for t in tasks {
        let _ = writeln!(buf, "{}", t.pid);
        if let Some(exe) = t.exe {
            let _ = write!(buf, "\t{:<36}    ", "exe");
            buf.extend_from_slice(exe);
            buf.push(b'\n');
        }
        for v in t.rows() {
            buf.push(b'\t');
            let at = buf.len();
            push_hex(&mut buf, v.vma.start, 8);
            buf.push(b'-');
            push_hex(&mut buf, v.vma.end, 8);
            let w = buf.len() - at;
            pad(&mut buf, 36usize.saturating_sub(w));
            buf.extend_from_slice(&v.prot_text());
            let mut number = |label: &str, buf: &mut Vec<u8>| {
                let next = numbers.len() as u64 + 1;
                let n = *numbers.entry(v.vma.shmid).or_insert(next);
                buf.push(b' ');
                buf.extend_from_slice(label.as_bytes());
                buf.push(b'[');
                push_hex(buf, n, 0);
                buf.push(b']');
            };
            match v.kind {
                VmaKind::SysvIpc => number("ips", &mut buf),
                VmaKind::Shmem => number("shmem", &mut buf),
                VmaKind::Packet => number("packet", &mut buf),
                VmaKind::File => {
                    buf.push(b' ');
                    buf.extend_from_slice(v.path.unwrap_or(b"unknown path"));
                    if v.vma.pgoff != 0 {
                        buf.extend_from_slice(b" + 0x");
                        push_hex(&mut buf, v.vma.pgoff, 0);
                    }
                    if v.shared() {
                        buf.extend_from_slice(b" (s)");
                    }
                }
                VmaKind::Stack => buf.extend_from_slice(b" [stack]"),
                VmaKind::Vsyscall => buf.extend_from_slice(b" [vsyscall]"),
                VmaKind::Vdso => buf.extend_from_slice(b" [vdso]"),
                VmaKind::GrowsDown => buf.extend_from_slice(b" [stack?]"),
                VmaKind::Anon => {}
            }
            if !v.regular() {
                buf.extend_from_slice(b" *");
            }
            buf.push(b'\n');
            spill(&mut buf, out)?;
        }
    }
    out.write_all(&buf)
}

/// Writes `mems` as JSON:
///
/// ```text
/// {"tasks": [{"pid": 1, "exe": "/usr/bin/sleep",
///             "vmas": [{"start": "0x400000", "end": "0x402000", "prot": "r-x", "kind": "file",
///                       "path": "/usr/bin/sleep", "name": "/usr/bin/sleep", "pgoff": "0x0",
///                       "shared": false, "regular": true, "shmid": 1, "flags": 2,
///                       "status": 65}, ...]}, ...],
///  "problems": [...]}
/// ```
///
/// `kind` is one of `sysvipc`, `shmem`, `packet`, `file`, `stack`, `vsyscall`, `vdso`,
/// `growsdown`, `anon`; `path` is present for `file` only. `shmid`, `flags` and `status` are the
/// image's raw values (`shmid` is the file id for file mappings and the segment id for shared
/// memory). Addresses and `pgoff` are hex strings, as in every report of this crate. `kind` and
/// `path` are crit's view of the VMA (`path` is `unknown path` where crit says so); `name` is what
/// the model resolved it to, as `/proc/PID/maps` would name it (`memfd:NAME`, `shared anon 5`,
/// `SYSV shm id 3`, `[stack]`, `""` for private anonymous memory).
pub fn write_mems_json(report: &Report<MemsTask<'_>>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("tasks");
    w.begin_array();
    for t in &report.tasks {
        w.begin_object();
        w.key("pid");
        w.u64(t.pid.into());
        w.key("exe");
        null_or_bytes(&mut w, t.exe);
        w.key("vmas");
        w.begin_array();
        for v in t.rows() {
            w.begin_object();
            w.key("start");
            hex(&mut w, v.vma.start);
            w.key("end");
            hex(&mut w, v.vma.end);
            w.key("prot");
            w.str(std::str::from_utf8(&v.prot_text()).unwrap_or("---"));
            w.key("kind");
            w.str(v.kind.name());
            if let Some(p) = v.path {
                w.key("path");
                w.str_bytes(p);
            }
            w.key("name");
            w.str_bytes(&v.vma.name());
            w.key("pgoff");
            hex(&mut w, v.vma.pgoff);
            w.key("shared");
            w.bool(v.shared());
            w.key("regular");
            w.bool(v.regular());
            w.key("shmid");
            w.u64(v.vma.shmid);
            w.key("flags");
            w.u64(v.vma.flags.0.into());
            w.key("status");
            w.u64(v.vma.status.0.into());
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    problems_json(&mut w, &report.problems);
    w.end_object();
    finish(w, out)
}

// ---------------------------------------------------------------------------------------------
// rss

/// One pagemap entry and the VMAs it overlaps.
#[derive(Clone, Debug)]
pub struct RssRow<'a> {
    /// The entry, from the model: its index in the image (`entry`; the head is 0), first
    /// address (`start`, crit's `vaddr`), `nr_pages` (or `compat_nr_pages` in images from
    /// before CRIU 4.2) and `PE_*` flags after CRIU's compatibility rules for old images.
    pub run: &'a Run,
    /// Where in the task's [`RssTask::overlaps`] the indices of the VMAs this entry overlaps
    /// are ([`RssTask::vmas_of`] reads them): one list for the task, not one allocation per
    /// entry (the big checkpoint has 12 000 entries).
    pub overlaps: std::ops::Range<usize>,
}

/// A task's resident pages.
#[derive(Clone, Debug)]
pub struct RssTask<'a> {
    /// The task's pid.
    pub pid: u32,
    /// Its VMAs in `mm-<pid>.img` order (what [`RssTask::overlaps`] indexes).
    pub vmas: &'a [Vma],
    /// The file table their paths come from.
    pub files: &'a FileTable,
    /// Its pagemap's entries after the head, in image order.
    pub pages: Vec<RssRow<'a>>,
    /// Indices into `vmas` of the VMAs each entry overlaps, in address order, entry after entry
    /// ([`RssRow::overlaps`]).
    pub overlaps: Vec<usize>,
}

impl<'a> RssTask<'a> {
    /// The VMAs `row` overlaps, in address order, with their indices in `vmas`.
    pub fn vmas_of(&self, row: &RssRow<'_>) -> impl Iterator<Item = (usize, VmaRow<'a>)> + '_ {
        let ks = self.overlaps.get(row.overlaps.clone()).unwrap_or_default();
        let (vmas, files) = (self.vmas, self.files);
        ks.iter().filter_map(move |&k| Some((k, VmaRow::new(vmas.get(k)?, files))))
    }
    /// Pages of all pagemap entries.
    pub fn total_pages(&self) -> u64 {
        self.pages.iter().map(|p| p.run.nr_pages).fold(0, u64::saturating_add)
    }
    /// Pages whose contents are in this checkpoint's pages images.
    pub fn present_pages(&self) -> u64 {
        self.pages.iter().filter(|p| p.run.flags & PE_PRESENT != 0).map(|p| p.run.nr_pages).fold(0, u64::saturating_add)
    }
}

/// The end address of `nr_pages` pages from `vaddr`, saturating.
pub fn pages_end(vaddr: u64, nr_pages: u64) -> u64 {
    vaddr.saturating_add(nr_pages.saturating_mul(PAGE_SIZE))
}

/// `crit x DIR rss`: each task's pagemap entries and the VMAs they fall in, in `pstree.img` order.
pub fn rss(ckpt: &Checkpoint) -> Result<Report<RssTask<'_>>, CheckpointError> {
    let procs = ckpt.processes()?;
    let mut problems = Vec::new();
    let files = file_table(ckpt, &mut problems)?;
    let mut tasks = Vec::with_capacity(procs.len());
    for p in procs.iter() {
        let vmas = match p.mm() {
            Ok(Some(mm)) => &mm.vmas[..],
            Ok(None) => {
                if !p.is_zombie() {
                    problems.push(Problem::new(names::MM.name(p.pid().into()), "missing: pages are shown without VMAs"));
                }
                &[][..]
            }
            Err(e) => {
                problems.push(Problem::from_error(&e));
                &[][..]
            }
        };
        let mut pages = Vec::new();
        let mut overlaps = Vec::new();
        match p.pagemap() {
            Ok(Some(pm)) => {
                pages.reserve_exact(pm.entries().len());
                overlaps.reserve(pm.entries().len());
                // VMAs are sorted by address in every image CRIU writes; walk them alongside.
                let mut vi = 0usize;
                for r in pm.entries() {
                    let (vaddr, end) = (r.start, r.end);
                    while vi < vmas.len() && vmas[vi].end <= vaddr {
                        vi += 1;
                    }
                    // Out-of-order input: fall back to a scan from the start.
                    if vi > 0 && vmas[vi - 1].end > vaddr {
                        vi = vmas.iter().position(|v| v.end > vaddr).unwrap_or(vmas.len());
                    }
                    let first = overlaps.len();
                    let mut k = vi;
                    while k < vmas.len() && vmas[k].start < end {
                        if vmas[k].end > vaddr {
                            overlaps.push(k);
                        }
                        k += 1;
                    }
                    pages.push(RssRow { run: r, overlaps: first..overlaps.len() });
                }
            }
            Ok(None) if p.is_zombie() => {}
            Ok(None) => problems.push(Problem::new(names::PAGEMAP.name(p.pid().into()), "missing: no pages")),
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        tasks.push(RssTask { pid: p.pid(), vmas, files, pages, overlaps });
    }
    Ok(Report { tasks, problems })
}

/// Writes `rss` as crit does: per pagemap entry `"\t%lx / %-8d"` padded to 24 columns (tab
/// included), then each overlapped VMA as `" %08lx / %-8d"` (start, pages) with the file's path
/// for file mappings, or `" ~"` for the VMA the previous line ended with, each followed by a
/// newline, a tab and 23 spaces.
pub fn write_rss_text(tasks: &[RssTask<'_>], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for t in tasks {
        let _ = writeln!(buf, "{}", t.pid);
        let mut last: Option<usize> = None;
        for p in &t.pages {
            buf.push(b'\t');
            let at = buf.len();
            push_hex(&mut buf, p.run.start, 0);
            buf.extend_from_slice(b" / ");
            push_dec_left(&mut buf, p.run.nr_pages, 8);
            let w = buf.len() - at;
            pad(&mut buf, 23usize.saturating_sub(w));
            for (k, v) in t.vmas_of(p) {
                if last == Some(k) {
                    buf.extend_from_slice(b" ~");
                } else {
                    buf.push(b' ');
                    push_hex(&mut buf, v.vma.start, 8);
                    buf.extend_from_slice(b" / ");
                    push_dec_left(&mut buf, v.pages(), 8);
                    if v.kind == VmaKind::File {
                        buf.push(b' ');
                        buf.extend_from_slice(v.path.unwrap_or(b"unknown path"));
                    }
                    last = Some(k);
                }
                buf.extend_from_slice(b"\n\t                       ");
            }
            buf.push(b'\n');
            spill(&mut buf, out)?;
        }
    }
    out.write_all(&buf)
}

fn pe_flag_names(w: &mut JsonWriter, flags: u32) {
    w.begin_array();
    for name in criu_image_proto::flags::PageFlags(flags).names() {
        match name {
            criu_image_proto::FlagName::Name(n) => w.str(n.trim_start_matches("PE_")),
            criu_image_proto::FlagName::Bits(rest) => w.str(&format!("{rest:#x}")),
        }
    }
    w.end_array();
}

/// Writes `rss` as JSON:
///
/// ```text
/// {"tasks": [{"pid": 1, "total_pages": 30, "present_pages": 28,
///             "pagemap": [{"vaddr": "0x400000", "nr_pages": 2, "flags": ["PRESENT"],
///                          "vmas": [{"start": "0x400000", "end": "0x402000",
///                                    "path": "/usr/bin/sleep"}]},
///                         ...]}, ...],
///  "problems": [...]}
/// ```
///
/// `flags` names the `PE_*` bits without the prefix (`PARENT`, `LAZY`, `PRESENT`, then any
/// unnamed bits in hex), after CRIU's rules for old images. Every overlapped VMA is listed for
/// every entry (the text form's `~` is a display device); `path` is present for file mappings.
pub fn write_rss_json(report: &Report<RssTask<'_>>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("tasks");
    w.begin_array();
    for t in &report.tasks {
        w.begin_object();
        w.key("pid");
        w.u64(t.pid.into());
        w.key("total_pages");
        w.u64(t.total_pages());
        w.key("present_pages");
        w.u64(t.present_pages());
        w.key("pagemap");
        w.begin_array();
        for p in &t.pages {
            w.begin_object();
            w.key("vaddr");
            hex(&mut w, p.run.start);
            w.key("nr_pages");
            w.u64(p.run.nr_pages);
            w.key("flags");
            pe_flag_names(&mut w, p.run.flags);
            w.key("vmas");
            w.begin_array();
            for (_, v) in t.vmas_of(p) {
                w.begin_object();
                w.key("start");
                hex(&mut w, v.vma.start);
                w.key("end");
                hex(&mut w, v.vma.end);
                if let Some(path) = v.path {
                    w.key("path");
                    w.str_bytes(path);
                }
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.end_object();
        if w.buffer().len() > 1 << 16 {
            w.flush_to(out)?;
        }
    }
    w.end_array();
    problems_json(&mut w, &report.problems);
    w.end_object();
    finish(w, out)
}

// ---------------------------------------------------------------------------------------------
// sockets

/// One socket fd of a task.
#[derive(Clone, Debug)]
pub struct SocketRow<'c> {
    /// The fd number.
    pub fd: u32,
    /// The file id.
    pub id: u32,
    /// The socket, from the model.
    pub socket: &'c Socket,
}

/// A task's sockets.
#[derive(Clone, Debug)]
pub struct SocketsTask<'c> {
    /// The task.
    pub pid: u32,
    /// Its socket fds in fd-table order.
    pub sockets: Vec<SocketRow<'c>>,
}

/// Sockets' extra view (after checkpointctl): each task's unix, inet, netlink and packet socket
/// fds with addresses, ports and state, in `pstree.img` order.
pub fn sockets(ckpt: &Checkpoint) -> Result<Report<SocketsTask<'_>>, CheckpointError> {
    let procs = ckpt.processes()?;
    let mut problems = Vec::new();
    let files = file_table(ckpt, &mut problems)?;
    let mut tasks = Vec::new();
    for p in procs.iter() {
        if let Err(e) = p.ids() {
            problems.push(Problem::from_error(&e));
        }
        let name = p.fdinfo_name();
        let mut sockets = Vec::new();
        match p.fds() {
            Ok(Some(entries)) => {
                for e in entries {
                    if !matches!(e.type_, FdTypes::UNIXSK | FdTypes::INETSK | FdTypes::NETLINKSK | FdTypes::PACKETSK) {
                        continue;
                    }
                    match files.get(e.id).map(|f| &f.kind) {
                        Some(FileKind::Socket(socket)) => sockets.push(SocketRow { fd: e.fd, id: e.id, socket }),
                        _ => problems.push(Problem::new(name.clone(), format!("fd {}: socket {} is not in files.img", e.fd, e.id))),
                    }
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        tasks.push(SocketsTask { pid: p.pid(), sockets });
    }
    Ok(Report { tasks, problems })
}

/// A unix socket name for display: abstract names (leading NUL) start with `@`, the terminating
/// NUL that bound paths carry is dropped, other unprintable bytes are `\xNN`.
pub fn unix_name_text(name: &[u8]) -> String {
    let (abstract_, rest) = unix_name(name);
    let mut s = String::from(if abstract_ { "@" } else { "" });
    for chunk in rest.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                s.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                s.push(c);
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// A unix socket's name as `(abstract, name)`: without the leading NUL of an abstract name, and
/// without the terminating NUL a bound path carries in the image.
pub fn unix_name(name: &[u8]) -> (bool, &[u8]) {
    match name.split_first() {
        Some((0, rest)) => (true, rest),
        _ => (false, name.strip_suffix(b"\0").unwrap_or(name)),
    }
}

fn endpoint(addr: Option<std::net::IpAddr>, port: u32) -> String {
    match addr {
        Some(std::net::IpAddr::V6(a)) => format!("[{a}]:{port}"),
        Some(a) => format!("{a}:{port}"),
        None => format!("?:{port}"),
    }
}

/// An inet socket's protocol for display: the transport, or for `SOCK_RAW` sockets (which carry
/// the IP protocol they see, not a transport) `raw` or `raw:<protocol>`.
fn inet_proto(i: &crate::model::files::InetSocket) -> String {
    match (i.type_, i.proto) {
        (SocketType::RAW, IpProto(0)) => "raw".to_string(),
        (SocketType::RAW, p) => format!("raw:{}", p.0),
        (_, p) => p.to_string(),
    }
}

fn is_unspecified(a: Option<std::net::IpAddr>) -> bool {
    a.is_none_or(|a| a.is_unspecified())
}

/// One-line description of a socket, e.g. `tcp listen 127.0.0.1:5555`,
/// `unix stream established ino 35728 peer 35729 /run/x.sock`.
pub fn socket_text(socket: &Socket) -> String {
    match socket {
        Socket::Unix(u) => {
            let mut s = format!("unix {} {} ino {}", u.type_, u.state, u.ino);
            if u.peer != 0 {
                s.push_str(&format!(" peer {}", u.peer));
            }
            if !u.name.is_empty() {
                s.push(' ');
                s.push_str(&unix_name_text(&u.name));
            }
            s
        }
        Socket::Inet(i) => {
            let v6 = i.family == SocketFamily::INET6;
            let mut s = format!("{}{} {} {}", inet_proto(i), if v6 { "6" } else { "" }, i.state, endpoint(i.src, i.src_port));
            if i.dst_port != 0 || !is_unspecified(i.dst) {
                s.push_str(&format!(" -> {}", endpoint(i.dst, i.dst_port)));
            }
            s
        }
        Socket::Netlink(n) => {
            let mut s = format!("netlink {} portid {}", n.protocol, n.portid);
            let g: Vec<String> = n.groups.iter().filter(|&&g| g != 0).map(|g| format!("{g:#x}")).collect();
            if !g.is_empty() {
                s.push_str(&format!(" groups {}", g.join(",")));
            }
            if n.dst_portid != 0 || n.dst_group != 0 {
                s.push_str(&format!(" -> {}:{}", n.dst_portid, n.dst_group));
            }
            s
        }
        Socket::Packet(p) => {
            let proto = p.protocol.name().map_or_else(|| format!("{:#06x}", p.protocol.0), str::to_string);
            format!("packet {} {proto} ifindex {}", p.type_, p.ifindex)
        }
    }
}

/// Writes the sockets view: the pid of each task that has sockets, then `"\t%7d: %s"` per socket
/// fd, like `fds`.
pub fn write_sockets_text(tasks: &[SocketsTask<'_>], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::new();
    for t in tasks.iter().filter(|t| !t.sockets.is_empty()) {
        let _ = writeln!(buf, "{}", t.pid);
        for s in &t.sockets {
            let _ = writeln!(buf, "\t{:7}: {}", s.fd, socket_text(s.socket));
        }
    }
    out.write_all(&buf)
}

/// Writes the sockets view as JSON:
///
/// ```text
/// {"tasks": [{"pid": 1, "sockets": [
///     {"fd": 3, "id": 16, "family": "inet", "proto": "tcp", "version": 4, "state": "listen",
///      "src": "127.0.0.1", "src_port": 5555, "dst": "0.0.0.0", "dst_port": 0},
///     {"fd": 11, "id": 30, "family": "unix", "type": "stream", "state": "established",
///      "ino": 35728, "peer": 35729, "name": "/run/x.sock", "abstract": false},
///     {"fd": 28, "id": 43, "family": "netlink", "protocol": "route", "portid": 20321,
///      "groups": [], "dst_portid": 0, "dst_group": 0},
///     {"fd": 29, "id": 44, "family": "packet", "type": "dgram", "protocol": 3, "ifindex": 0}]}],
///  "problems": [...]}
/// ```
///
/// Every task is listed, with an empty `sockets` array when it has none. Names are lower-case
/// (`state` of unix and inet sockets uses TCP's state names, as the kernel does); values without
/// a name are numbers as strings. A unix `name` is the bound name without the NUL that ends a
/// path in the image and without the NUL that starts an abstract name (`abstract` says which;
/// non-UTF-8 bytes as `\udcXX`); `protocol` of a packet socket is the ethertype in host order.
pub fn write_sockets_json(report: &Report<SocketsTask<'_>>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.key("tasks");
    w.begin_array();
    for t in &report.tasks {
        w.begin_object();
        w.key("pid");
        w.u64(t.pid.into());
        w.key("sockets");
        w.begin_array();
        for s in &t.sockets {
            w.begin_object();
            w.key("fd");
            w.u64(s.fd.into());
            w.key("id");
            w.u64(s.id.into());
            match s.socket {
                Socket::Unix(u) => {
                    let (abstract_, name) = unix_name(&u.name);
                    w.key("family");
                    w.str("unix");
                    w.key("type");
                    w.str(&u.type_.to_string());
                    w.key("state");
                    w.str(&u.state.to_string());
                    w.key("ino");
                    w.u64(u.ino.into());
                    w.key("peer");
                    w.u64(u.peer.into());
                    w.key("name");
                    w.str_bytes(name);
                    w.key("abstract");
                    w.bool(abstract_);
                }
                Socket::Inet(i) => {
                    let addr = |a: Option<std::net::IpAddr>| a.map_or_else(|| "?".to_string(), |a| a.to_string());
                    w.key("family");
                    w.str("inet");
                    w.key("proto");
                    w.str(&inet_proto(i));
                    w.key("version");
                    w.u64(if i.family == SocketFamily::INET6 { 6 } else { 4 });
                    w.key("state");
                    w.str(&i.state.to_string());
                    w.key("src");
                    w.str(&addr(i.src));
                    w.key("src_port");
                    w.u64(i.src_port.into());
                    w.key("dst");
                    w.str(&addr(i.dst));
                    w.key("dst_port");
                    w.u64(i.dst_port.into());
                }
                Socket::Netlink(n) => {
                    w.key("family");
                    w.str("netlink");
                    w.key("protocol");
                    w.str(&n.protocol.to_string());
                    w.key("portid");
                    w.u64(n.portid.into());
                    w.key("groups");
                    w.begin_array();
                    for &g in &n.groups {
                        w.u64(g.into());
                    }
                    w.end_array();
                    w.key("dst_portid");
                    w.u64(n.dst_portid.into());
                    w.key("dst_group");
                    w.u64(n.dst_group.into());
                }
                Socket::Packet(p) => {
                    w.key("family");
                    w.str("packet");
                    w.key("type");
                    w.str(&p.type_.to_string());
                    w.key("protocol");
                    w.u64(p.protocol.0.into());
                    w.key("ifindex");
                    w.u64(p.ifindex.into());
                }
            }
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    problems_json(&mut w, &report.problems);
    w.end_object();
    finish(w, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        let mut b = Vec::new();
        push_hex(&mut b, 0x1f, 8);
        b.push(b'|');
        push_hex(&mut b, 0, 0);
        b.push(b'|');
        push_hex(&mut b, u64::MAX, 8);
        b.push(b'|');
        push_dec_left(&mut b, 42, 8);
        b.push(b'|');
        push_dec_right(&mut b, 7, 7);
        b.push(b'|');
        push_dec_left(&mut b, u64::MAX, 8);
        assert_eq!(String::from_utf8(b).unwrap(), "0000001f|0|ffffffffffffffff|42      |      7|18446744073709551615");
    }

    #[test]
    fn quopri_is_unescaped() {
        assert_eq!(quopri(b"/a b=c\tx \t"), b"/a b=3Dc\tx =09".to_vec());
        assert_eq!(quopri(b"abc\n/def\r\nq"), b"abc\n/def\nq".to_vec());
        assert_eq!(quopri(b"\x00/x\"\\"), b"=00/x\"\\".to_vec());
    }

    #[test]
    fn vma_kind_precedence() {
        type S = VmaStatus;
        let none = MapFlags(0);
        assert_eq!(VmaKind::of(S::SYSVIPC | S::ANON_SHARED, none), VmaKind::SysvIpc);
        assert_eq!(VmaKind::of(S::SOCKET | S::ANON_SHARED, none), VmaKind::Shmem);
        assert_eq!(VmaKind::of(S::SOCKET | S::FILE_PRIVATE, none), VmaKind::Packet);
        assert_eq!(VmaKind::of(S::FILE_PRIVATE | S::STACK, none), VmaKind::File);
        assert_eq!(VmaKind::of(S::VDSO, MapFlags::GROWSDOWN), VmaKind::Vdso);
        assert_eq!(VmaKind::of(S::REGULAR, MapFlags::GROWSDOWN), VmaKind::GrowsDown);
        assert_eq!(VmaKind::of(S::REGULAR | S::MEMFD | S::FILE_SHARED, none), VmaKind::File);
    }

    #[test]
    fn unix_names() {
        assert_eq!(unix_name_text(b"/tmp/s\0"), "/tmp/s");
        assert_eq!(unix_name_text(b"\0abstract"), "@abstract");
        assert_eq!(unix_name_text(b"a\nb\xff"), "a\\x0ab\\xff");
    }
}
