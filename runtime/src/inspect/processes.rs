//! The processes: a tree with each task's state, threads, command line, open files and a memory
//! summary in the manner of `checkpointctl memparse` (what is mapped, what is dumped).

use std::collections::BTreeSet;
use std::io::{self, Write};

use criu_image_proto::support::json::JsonWriter;

use super::{Problem, Section, Table, elide, human_bytes, json_opt_str, json_problems, json_u32s, text_problems};
use crate::checkpoint::Checkpoint;
use crate::explore::{describe, file_kind_name};
use crate::memory::quote_args;
use crate::model::{Backing, FileKind, Process};
use crate::pagemap::PAGE_SIZE;

/// Bytes of a task's address space by what backs them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByBacking {
    /// Private anonymous memory (heap, stacks, anonymous mappings).
    pub private_anon: u64,
    /// Shared memory (shared anonymous, SysV, memfd).
    pub shared: u64,
    /// File mappings.
    pub file: u64,
}

impl ByBacking {
    /// The sum.
    pub fn total(&self) -> u64 {
        self.private_anon + self.shared + self.file
    }
}

/// A task's memory: mapped, and what the checkpoint holds of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemorySummary {
    /// Bytes mapped (VMAs; kernel-provided areas such as `[vvar]` left out).
    pub mapped: ByBacking,
    /// Bytes of the private pagemap inside those mappings (present here, in the parent, or lazy).
    pub dumped: ByBacking,
    /// Pages of the task's pagemap in this dump's pages files (`PE_PRESENT`).
    pub present_pages: u64,
    /// Pages a parent dump holds (`PE_PARENT`).
    pub parent_pages: u64,
    /// Pages a page server serves at restore (`PE_LAZY` without `PE_PRESENT`).
    pub lazy_pages: u64,
    /// Private anonymous pages not dumped: zero at restore (CRIU leaves out untouched and zero
    /// pages).
    pub zero_pages: u64,
    /// Bytes of the shared-memory pagemaps its shared mappings use (each counted once).
    pub shared_dumped: u64,
}

/// One task of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// Its depth in the tree.
    pub depth: usize,
    /// Its thread ids.
    pub threads: Vec<u32>,
    /// Its state (CRIU's name), when its core is readable.
    pub state: Option<String>,
    /// Its command name.
    pub comm: Option<Vec<u8>>,
    /// Its command line, when its memory holds it.
    pub cmdline: Option<Vec<Vec<u8>>>,
    /// How many fds it has.
    pub fds: usize,
    /// How many of them are sockets.
    pub sockets: usize,
    /// Its memory (`None` for a zombie, or without an mm image).
    pub memory: Option<MemorySummary>,
    /// Its fds, described (`inspect --all`).
    pub fd_list: Vec<FdInfo>,
}

/// One fd, described for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdInfo {
    /// The fd number.
    pub fd: u32,
    /// What it is (`regular`, `pipe`, `socket`, `tty`, ...).
    pub kind: &'static str,
    /// What it is, for people: a path, `pipe[...]`, a socket's addresses, an eventfd's counter...
    pub desc: Vec<u8>,
    /// The path it was opened by, when it has one (regular files, FIFOs, terminals).
    pub path: Option<Vec<u8>>,
    /// Whether a regular file was unlinked at dump time.
    pub deleted: bool,
}

/// The processes section.
#[derive(Clone, Debug, Default)]
pub struct Processes {
    /// Tasks in tree order.
    pub tasks: Vec<ProcessInfo>,
    /// Whether the per-fd lists were read.
    pub detailed: bool,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Processes {
    /// The tree with each task's summary; `detailed` adds its fds.
    pub fn load(ckpt: &Checkpoint, detailed: bool) -> Processes {
        let mut out = Processes { detailed, ..Processes::default() };
        let procs = match ckpt.processes() {
            Ok(p) => p,
            Err(e) => {
                out.problems.push(Problem::from_error(&e));
                return out;
            }
        };
        let files = ckpt.files().ok();
        let mut shared_seen: BTreeSet<u64> = BTreeSet::new();
        for (p, depth) in procs.tree_order() {
            let core = p.core();
            if let Err(e) = &core {
                out.problems.push(Problem::from_error(e));
            }
            let core = core.ok().flatten();
            let fds = match p.fds() {
                Ok(f) => f.unwrap_or(&[]),
                Err(e) => {
                    out.problems.push(Problem::from_error(&e));
                    &[]
                }
            };
            let sockets = fds.iter().filter(|f| matches!(files.and_then(|t| t.get(f.id)).map(|f| &f.kind), Some(FileKind::Socket(_)))).count();
            let fd_list = if detailed {
                fds.iter()
                    .map(|f| {
                        let file = files.and_then(|t| t.get_typed(f.type_, f.id).or_else(|| t.get(f.id)));
                        FdInfo {
                            fd: f.fd,
                            kind: file.map_or("unknown", |x| file_kind_name(&x.kind)),
                            desc: match file {
                                Some(x) => for_people(&x.kind).unwrap_or_else(|| files.map_or_else(Vec::new, |t| describe(t, f.type_, f.id))),
                                None => format!("file id {} is not in files.img", f.id).into_bytes(),
                            },
                            path: file.and_then(|x| crate::explore::file_path(&x.kind)).map(<[u8]>::to_vec),
                            deleted: matches!(file.map(|x| &x.kind), Some(FileKind::Regular(r)) if r.deleted()),
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let zombie = p.is_zombie();
            let cmdline = if zombie || core.is_none() { None } else { p.cmdline().ok() };
            out.tasks.push(ProcessInfo {
                pid: p.pid(),
                ppid: p.ppid(),
                depth,
                threads: p.thread_ids().to_vec(),
                state: core.map(|c| c.state.to_string()),
                comm: core.map(|c| c.comm.clone()),
                cmdline,
                fds: fds.len(),
                sockets,
                memory: if zombie { None } else { memory(&p, &mut shared_seen, &mut out.problems) },
                fd_list,
            });
        }
        out
    }
}

/// The figure of `b` that memory of `backing` counts in (none for kernel-provided areas).
fn slot(b: &mut ByBacking, backing: Backing) -> Option<&mut u64> {
    match backing {
        Backing::Anon => Some(&mut b.private_anon),
        Backing::Shmem { .. } => Some(&mut b.shared),
        Backing::File { .. } => Some(&mut b.file),
        Backing::Kernel(_) => None,
    }
}

/// A file description for people where crit's `TYPE.id` says little.
fn for_people(k: &FileKind) -> Option<Vec<u8>> {
    Some(match k {
        FileKind::Socket(s) => crate::explore::socket_text(s).into_bytes(),
        FileKind::Eventfd { counter, .. } => format!("eventfd, counter {counter}").into_bytes(),
        FileKind::Timerfd { clockid, value, interval, .. } => {
            let secs = |(s, ns): (u64, u64)| s as f64 + ns as f64 / 1e9;
            format!("timerfd, clock {clockid}, next in {:.3} s, every {:.3} s", secs(*value), secs(*interval)).into_bytes()
        }
        FileKind::Signalfd { sigmask } => format!("signalfd, mask {sigmask:#x}").into_bytes(),
        FileKind::Eventpoll { targets } => format!("epoll, watching fds {}", targets.iter().map(|t| t.tfd.to_string()).collect::<Vec<_>>().join(",")).into_bytes(),
        FileKind::Inotify { watches } => format!("inotify, {} watches", watches.len()).into_bytes(),
        FileKind::Memfd(m) => [&b"memfd:"[..], m.name.as_deref().unwrap_or(b"?")].concat(),
        FileKind::Pidfd { pid, .. } => format!("pidfd of pid {pid}").into_bytes(),
        FileKind::Tty(t) => t.path.as_deref().map_or_else(|| b"tty".to_vec(), <[u8]>::to_vec),
        _ => return None,
    })
}

/// At most `max` characters, cut at the end (`…`): a command line reads from its start.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn memory(p: &Process<'_>, shared_seen: &mut BTreeSet<u64>, problems: &mut Vec<Problem>) -> Option<MemorySummary> {
    let mm = match p.mm() {
        Ok(Some(mm)) => mm,
        Ok(None) => return None,
        Err(e) => {
            problems.push(Problem::from_error(&e));
            return None;
        }
    };
    let pm = match p.pagemap() {
        Ok(pm) => pm,
        Err(e) => {
            problems.push(Problem::from_error(&e));
            None
        }
    };
    let mut m = MemorySummary::default();
    let vmas = || mm.vmas.iter().filter(|v| !v.is_empty());
    let mut dumped_each = pm.map(|pm| pm.pages_in_each(vmas().map(|v| (v.start, v.end))));
    for v in vmas() {
        let dumped = dumped_each.as_mut().and_then(Iterator::next).unwrap_or(0) * PAGE_SIZE;
        let Some(mapped) = slot(&mut m.mapped, v.backing()) else { continue };
        *mapped += v.len();
        if let Some(held) = slot(&mut m.dumped, v.backing()) {
            *held += dumped;
        }
        if let Backing::Shmem { shmid, .. } = v.backing()
            && shared_seen.insert(shmid)
            && let Ok(Some(idx)) = p.checkpoint().shmem_pagemap(shmid)
        {
            m.shared_dumped += idx.present_pages() * PAGE_SIZE;
        }
    }
    if let Some(pm) = pm {
        for r in pm.entries() {
            if r.is_present() {
                m.present_pages += r.nr_pages;
            } else if r.is_parent() {
                m.parent_pages += r.nr_pages;
            } else if r.is_lazy() {
                m.lazy_pages += r.nr_pages;
            }
        }
    }
    m.zero_pages = m.mapped.private_anon.saturating_sub(m.dumped.private_anon) / PAGE_SIZE;
    Some(m)
}

impl Section for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// ```text
    /// processes (6)
    ///   PID      STATE  THR  FDS  MAPPED   DUMPED   COMMAND
    ///   20374    alive    1    4  9.4 MiB  212 KiB  /bin/bash /tmp/criu-fixture/bin/tree.sh
    ///     20375  alive    1    3  8.1 MiB  100 KiB  sleep 1000
    /// ```
    /// With details (`inspect --all`), each task's memory and fds follow its line.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        b.extend_from_slice(format!("processes ({})\n", self.tasks.len()).as_bytes());
        let mut t = Table::new(&["PID", "STATE", "THR", "FDS", "MAPPED", "DUMPED", "COMMAND"], &[false, false, true, true, true, true, false]);
        for p in &self.tasks {
            let cmd = match (&p.cmdline, &p.comm) {
                (Some(c), _) if !c.is_empty() => quote_args(c),
                (_, Some(c)) => format!("[{}]", String::from_utf8_lossy(c)),
                _ => "?".into(),
            };
            let (mapped, dumped) = match &p.memory {
                Some(m) => (human_bytes(m.mapped.total()), human_bytes(m.dumped.total() + m.shared_dumped)),
                None => ("-".into(), "-".into()),
            };
            t.row(vec![
                format!("{}{}", "  ".repeat(p.depth), p.pid),
                p.state.clone().unwrap_or_else(|| "?".into()),
                p.threads.len().to_string(),
                p.fds.to_string(),
                mapped,
                dumped,
                truncate(&cmd, 40),
            ]);
            if self.detailed {
                if let Some(m) = &p.memory {
                    t.detail(format!(
                        "    mapped: private {}, shared {}, files {}",
                        human_bytes(m.mapped.private_anon),
                        human_bytes(m.mapped.shared),
                        human_bytes(m.mapped.file)
                    ));
                    t.detail(format!(
                        "    dumped: private {}, shared {}, files {}",
                        human_bytes(m.dumped.private_anon),
                        human_bytes(m.shared_dumped),
                        human_bytes(m.dumped.file),
                    ));
                    t.detail(format!(
                        "    pages:  {} in this dump, {} in the parent, {} lazy, {} zero (left out)",
                        m.present_pages, m.parent_pages, m.lazy_pages, m.zero_pages
                    ));
                }
                for f in &p.fd_list {
                    let mark = if f.deleted { " (deleted)" } else { "" };
                    // Paths are shortened in the middle; descriptions are kept whole.
                    let shown = match &f.path {
                        Some(p) => elide(&String::from_utf8_lossy(p), 58),
                        None => String::from_utf8_lossy(&f.desc).into_owned(),
                    };
                    t.detail(format!("    fd {:>4}  {:<9} {shown}{mark}", f.fd, f.kind));
                }
            }
        }
        t.render("  ", &mut b);
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```text
    /// {"tasks": [{"pid": 20374, "ppid": 0, "depth": 0, "threads": [20374], "state": "alive",
    ///             "comm": "bash", "cmdline": ["/bin/bash", "tree.sh"] | null,
    ///             "fds": 4, "sockets": 0,
    ///             "memory": {"mapped": {"private_anon": N, "shared": N, "file": N},
    ///                        "dumped": {"private_anon": N, "shared": N, "file": N},
    ///                        "shared_dumped": N, "present_pages": N, "parent_pages": N,
    ///                        "lazy_pages": N, "zero_pages": N} | null,
    ///             "fd_list": [{"fd": 0, "kind": "tty", "desc": "TTY.4", "path": "/dev/pts/0",
    ///                          "deleted": false}]}],
    ///  "problems": [...]}
    /// ```
    /// Memory figures are bytes (`*_pages` are pages of 4 KiB); `memory` is `null` for a zombie
    /// or a task without an mm image; `fd_list` is empty unless details were asked for.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("tasks");
        w.begin_array();
        for p in &self.tasks {
            w.begin_object();
            for (k, v) in [("pid", u64::from(p.pid)), ("ppid", u64::from(p.ppid)), ("depth", p.depth as u64)] {
                w.key(k);
                w.u64(v);
            }
            w.key("threads");
            json_u32s(w, &p.threads);
            w.key("state");
            json_opt_str(w, p.state.as_deref());
            w.key("comm");
            match &p.comm {
                Some(c) => w.str_bytes(c),
                None => w.raw_value("null"),
            }
            w.key("cmdline");
            match &p.cmdline {
                Some(args) => {
                    w.begin_array();
                    for a in args {
                        w.str_bytes(a);
                    }
                    w.end_array();
                }
                None => w.raw_value("null"),
            }
            w.key("fds");
            w.u64(p.fds as u64);
            w.key("sockets");
            w.u64(p.sockets as u64);
            w.key("memory");
            match &p.memory {
                None => w.raw_value("null"),
                Some(m) => {
                    w.begin_object();
                    for (k, b) in [("mapped", &m.mapped), ("dumped", &m.dumped)] {
                        w.key(k);
                        w.begin_object();
                        for (k, v) in [("private_anon", b.private_anon), ("shared", b.shared), ("file", b.file)] {
                            w.key(k);
                            w.u64(v);
                        }
                        w.end_object();
                    }
                    for (k, v) in [
                        ("shared_dumped", m.shared_dumped),
                        ("present_pages", m.present_pages),
                        ("parent_pages", m.parent_pages),
                        ("lazy_pages", m.lazy_pages),
                        ("zero_pages", m.zero_pages),
                    ] {
                        w.key(k);
                        w.u64(v);
                    }
                    w.end_object();
                }
            }
            w.key("fd_list");
            w.begin_array();
            for f in &p.fd_list {
                w.begin_object();
                w.key("fd");
                w.u64(f.fd.into());
                w.key("kind");
                w.str(f.kind);
                w.key("desc");
                w.str_bytes(&f.desc);
                w.key("path");
                match &f.path {
                    Some(p) => w.str_bytes(p),
                    None => w.raw_value("null"),
                }
                w.key("deleted");
                w.bool(f.deleted);
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        json_problems(w, &self.problems);
        w.end_object();
    }
}
