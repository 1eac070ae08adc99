//! Two checkpoints compared: what a restore of B would bring back differently from a restore of
//! A (`crit diff A B`).
//!
//! [`compare`] reads both checkpoints through the model ([`crate::model`]) and the inspect sections
//! ([`crate::inspect::namespaces`], [`crate::inspect::mounts`]), never re-parsing images, and
//! gives a [`Diff`]: typed changes that render as text ([`Diff::write_text`]) or JSON
//! ([`Diff::write_json`]).
//!
//! # What is compared
//! - **processes** — matched by pid: CRIU restores pids, so two checkpoints of the same process
//!   tree (a container dumped at two moments, a dump and the dump of its restore) share them.
//!   Added and removed processes, and for the others: parent, process group, session, state,
//!   command name, command line (read from memory), thread count, executable, working and root
//!   directory, and the main thread's credentials (`creds.*`).
//! - **fds** — per process, by fd number: added, removed, and fds whose target changed (kind,
//!   path, open flags, position, close-on-exec; for sockets family, type, state, local and
//!   remote address). Targets are compared by what they are, not by their ids in `files.img`,
//!   which a new dump may number differently.
//! - **vmas** — per process, by start address (guard regions apart): added, removed, changed
//!   (end, protection, `MAP_*` flags, CRIU's status, offset, backing, what is mapped).
//! - **memory** — per VMA of B, the pages whose contents differ over the addresses both
//!   checkpoints map, compared as a restore would fill them: `PE_PARENT` pages are read from the
//!   parent chain, shared memory from its shmem pagemap, pages CRIU did not dump of private
//!   anonymous memory are zeros (so a dumped page of zeros equals a page that was not dumped), a
//!   page in one checkpoint against one that comes from the mapped file in the other differs.
//!   Addresses only one side maps are the VMA comparison's business. Memory held is bounded: the
//!   pages files are read in windows of [`WINDOW`] bytes through their mappings, never copied.
//! - **files** — regular files (and directories, devices) in the file table, by path: kind,
//!   size, mode, ELF build-id and CRC32C checksum as recorded for restore's file validation,
//!   whether deleted.
//! - **namespaces** — by kind and CRIU id: which tasks are in it, whether it was dumped (not the
//!   dumper's own), and for UTS namespaces host and domain name.
//! - **mounts** — per mount namespace, by mount point (the n-th mount stacked on one point is
//!   the n-th in tree order): file system type, source, root, options, read-only, external key.
//!
//! Anything that could not be read and that keeps the comparison from being complete (a
//! corrupt or missing image, a pages file shorter than its pagemap, a lazy page) is a
//! [`Problem`] naming the side, the file and the entry.
//!
//! # JSON
//! [`Diff::write_json`] writes one object; the conventions of [`crate::inspect`] hold
//! (addresses and offsets are hex strings `"0x7f12..."`, sizes and counts numbers, enum-like
//! names lower-case strings, flag words arrays of lower-case C names, strings from images keep
//! their bytes with `\udcXX` escapes, absent values `null`, every key always present):
//!
//! ```text
//! {
//!   "a": "path of A", "b": "path of B",
//!   "equal": false,          // no differences in the compared sections
//!   "complete": true,        // no problems: everything asked for was compared
//!   "sections": ["processes", "fds", "vmas", "memory", "files", "namespaces", "mounts"],
//!   "processes": [{
//!       "pid": 20292, "comm": "sleep", "change": "added" | "removed" | "changed",
//!       "a": PROCESS | null, "b": PROCESS | null,
//!       "fields": [CHANGE...],            // the PROCESS fields that differ
//!       "fds": [{"fd": 3, "change": ..., "a": FD | null, "b": FD | null, "fields": [CHANGE...]}],
//!       "vmas": [{"start": "0x...", "guard": false, "change": ..., "a": VMA | null, "b": VMA | null,
//!                 "fields": [CHANGE...]}],
//!       "memory": [{"start": "0x...", "end": "0x...", "perms": "rw-p", "name": "[heap]",
//!                   "pages": 33, "pages_differ": 3, "pages_unknown": 0}]
//!   }],
//!   "files": [{"path": "/usr/bin/sleep", "change": ..., "a": FILE | null, "b": FILE | null,
//!              "fields": [CHANGE...]}],
//!   "namespaces": [{"kind": "uts", "id": 12, "change": ..., "a": NS | null, "b": NS | null,
//!                   "fields": [CHANGE...]}],
//!   "mounts": [{"ns": 14, "mountpoint": "/proc", "nth": 0, "change": ..., "a": MOUNT | null,
//!               "b": MOUNT | null, "fields": [CHANGE...]}],
//!   "compared": {"processes": 1, "fds": 3, "vmas": 20, "pages": 40, "files": 5,
//!                "namespaces": 8, "mounts": 0},
//!   "summary": {"processes_added": 0, "processes_removed": 0, "processes_changed": 1,
//!               "fds": 0, "vmas": 0, "pages_differ": 3, "vmas_with_pages_differ": 1,
//!               "files": 0, "namespaces": 0, "mounts": 0},
//!   "problems": [{"side": "a" | "b", "file": "core-1.img", "message": "..."}]
//! }
//! CHANGE  = {"field": "pos", "a": VALUE, "b": VALUE}
//! PROCESS = {"ppid", "pgid", "sid": numbers, "state": "alive" | ..., "comm": string,
//!            "cmdline": [strings] (argv), "threads": number, "exe", "cwd", "root": strings,
//!            "creds.uid", "creds.gid", "creds.euid", "creds.egid", "creds.suid", "creds.sgid",
//!            "creds.fsuid", "creds.fsgid", "creds.secbits", "creds.no_new_privs": numbers,
//!            "creds.groups", "creds.cap_eff", "creds.cap_prm", "creds.cap_inh", "creds.cap_bnd",
//!            "creds.cap_amb": arrays of numbers (capability words, lowest first),
//!            "creds.lsm_profile": string}
//! FD      = {"kind": "regular" | "pipe" | "socket" | "memfd" | ..., "path": string,
//!            "flags": ["o_rdwr", ...], "pos": number, "cloexec": bool,
//!            "family": "unix" | "inet" | "inet6" | "netlink" | "packet", "type": "stream" | ...,
//!            "state": "established" | ..., "local": string, "remote": string}
//! VMA     = {"end": "0x...", "prot": "rw-", "flags": ["map_private", ...],
//!            "status": ["vma_area_regular", ...], "pgoff": "0x...",
//!            "backing": "anon" | "file" | "shared-file" | "shmem" | "kernel", "name": string}
//! FILE    = {"type": "regular" | "directory" | ..., "size": number, "mode": number,
//!            "build_id": hex string, "checksum": "0x...", "deleted": bool}
//! NS      = {"tasks": [pids], "dumped": bool, "hostname": string, "domainname": string}
//! MOUNT   = {"fstype": "tmpfs" | ..., "source", "root", "options": strings, "read_only": bool,
//!            "external": string}
//! ```
//!
//! Lists are in a fixed order: processes and fds by number, VMAs and memory by address, files
//! and mount points by path, namespaces by kind and id.
//!
//! ```no_run
//! use criu_image::checkpoint::Checkpoint;
//! use criu_image::diff::{compare, Options};
//! let a = Checkpoint::open("/tmp/ckpt-1".as_ref())?;
//! let b = Checkpoint::open("/tmp/ckpt-2".as_ref())?;
//! let d = compare(&a, &b, &Options::default());
//! for p in &d.processes {
//!     for m in &p.memory {
//!         println!("{} {:x}: {} of {} pages differ", p.pid, m.start, m.pages_differ, m.pages);
//!     }
//! }
//! d.write_text(&mut std::io::stdout())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod memory;
mod render;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use criu_image_proto::flags::OpenFlags;
use criu_image_proto::schema::kinds::files as names;

pub use memory::{VmaPages, WINDOW};
pub use value::{FieldChange, Record, Value};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::explore::{file_kind_name, file_path, type_name, unix_name_text};
use crate::inspect::mounts::Mounts;
use crate::inspect::namespaces::{Namespaces, NsKind};
use crate::memory::{MemError, Unreadable};
use crate::model::{self, Backing, Creds, Fd, File, FileKind, FileTable, Mapping, Process, Socket, Vma, has_resources};

/// A part of the comparison, as `--section` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// Processes added, removed, and their fields.
    Processes,
    /// Each process's file descriptors.
    Fds,
    /// Each process's VMAs.
    Vmas,
    /// Each process's memory contents (the costly part).
    Memory,
    /// Files opened by path.
    Files,
    /// Namespaces.
    Namespaces,
    /// Mount points.
    Mounts,
}

impl Section {
    /// Every section, in output order.
    pub const ALL: [Section; 7] =
        [Section::Processes, Section::Fds, Section::Vmas, Section::Memory, Section::Files, Section::Namespaces, Section::Mounts];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Section::Processes => "processes",
            Section::Fds => "fds",
            Section::Vmas => "vmas",
            Section::Memory => "memory",
            Section::Files => "files",
            Section::Namespaces => "namespaces",
            Section::Mounts => "mounts",
        }
    }

    /// The section of this name.
    pub fn from_name(name: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.name() == name)
    }

    fn per_process(self) -> bool {
        matches!(self, Section::Processes | Section::Fds | Section::Vmas | Section::Memory)
    }
}

/// What to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The sections, in any order (output follows [`Section::ALL`]).
    pub sections: Vec<Section>,
}

impl Default for Options {
    /// Every section.
    fn default() -> Self {
        Options { sections: Section::ALL.to_vec() }
    }
}

impl Options {
    /// Only these sections (every one when `sections` is empty).
    pub fn only(sections: &[Section]) -> Options {
        if sections.is_empty() { Options::default() } else { Options { sections: sections.to_vec() } }
    }

    /// The same without one section (`--no-memory`).
    pub fn without(mut self, s: Section) -> Options {
        self.sections.retain(|&x| x != s);
        self
    }

    /// Whether a section is compared.
    pub fn has(&self, s: Section) -> bool {
        self.sections.contains(&s)
    }
}

/// What happened to something between A and B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both, different.
    Changed,
}

impl ChangeKind {
    /// `added`, `removed`, `changed`.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }

    /// `+`, `-`, `~`.
    pub fn marker(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

/// One compared thing that differs: its key, and its record on each side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<K> {
    /// What identifies it on both sides (fd number, start address, path, ...).
    pub key: K,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// Its record in A (`None` when added).
    pub a: Option<Record>,
    /// Its record in B (`None` when removed).
    pub b: Option<Record>,
    /// For a change, the fields that differ.
    pub fields: Vec<FieldChange>,
}

impl<K> Change<K> {
    /// Added, removed, or changed in some field: `None` when both records are equal.
    fn of(key: K, a: Option<Record>, b: Option<Record>) -> Option<Change<K>> {
        match (a, b) {
            (Some(a), Some(b)) => {
                let fields = Record::changes(&a, &b);
                (!fields.is_empty()).then_some(Change { key, kind: ChangeKind::Changed, a: Some(a), b: Some(b), fields })
            }
            (None, Some(b)) => Some(Change { key, kind: ChangeKind::Added, a: None, b: Some(b), fields: Vec::new() }),
            (Some(a), None) => Some(Change { key, kind: ChangeKind::Removed, a: Some(a), b: None, fields: Vec::new() }),
            (None, None) => None,
        }
    }

    /// The record of the side that has it (B's when both do).
    pub fn record(&self) -> Option<&Record> {
        self.b.as_ref().or(self.a.as_ref())
    }
}

/// A VMA's key: its start address, and whether it is a guard region (CRIU 4.2's
/// `VMA_AREA_GUARD` entries lie inside mappings and may start where one does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmaKey {
    /// First address.
    pub start: u64,
    /// Whether it is a guard region.
    pub guard: bool,
}

/// A namespace's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NsKey {
    /// Its kind.
    pub kind: NsKind,
    /// CRIU's id for it (`ids-PID.img`).
    pub id: u32,
}

/// A mount's key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MountKey {
    /// The mount namespace's id (`mountpoints-N.img`).
    pub ns: u32,
    /// Where it is mounted.
    pub mountpoint: Vec<u8>,
    /// 0 for the first mount on that point in tree order, 1 for one stacked over it, ...
    pub nth: usize,
}

/// A process that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessDiff {
    /// Its pid (the same on both sides).
    pub pid: u32,
    /// Its command name (B's, or A's when removed), empty when unknown.
    pub comm: Vec<u8>,
    /// Added, removed, or changed (in its fields, fds, VMAs or memory).
    pub kind: ChangeKind,
    /// Its record in A.
    pub a: Option<Record>,
    /// Its record in B.
    pub b: Option<Record>,
    /// The process fields that differ (with the processes section).
    pub fields: Vec<FieldChange>,
    /// Its fds that differ.
    pub fds: Vec<Change<u32>>,
    /// Its VMAs that differ.
    pub vmas: Vec<Change<VmaKey>>,
    /// Its VMAs (B's) whose memory differs, or could not all be compared.
    pub memory: Vec<VmaPages>,
}

impl ProcessDiff {
    /// Whether it differs in something: added, removed, a field, an fd, a VMA, a page (an entry
    /// of [`ProcessDiff::memory`] whose pages could only partly be compared is not a
    /// difference by itself).
    pub fn differs(&self) -> bool {
        self.kind != ChangeKind::Changed
            || !self.fields.is_empty()
            || !self.fds.is_empty()
            || !self.vmas.is_empty()
            || self.memory.iter().any(|m| m.pages_differ > 0)
    }
}

/// Which checkpoint a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The first.
    A,
    /// The second.
    B,
}

impl Side {
    /// `a` or `b`.
    pub fn name(self) -> &'static str {
        match self {
            Side::A => "a",
            Side::B => "b",
        }
    }
}

/// Something that could not be read, so that the comparison is incomplete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The checkpoint it is in.
    pub side: Side,
    /// The image file.
    pub file: String,
    /// What is wrong and what was not compared because of it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            write!(f, "{}: {}", self.side.name(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.side.name(), self.file, self.message)
        }
    }
}

/// How much was compared in each section (things on either side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compared {
    /// Processes.
    pub processes: u64,
    /// File descriptors of processes in both.
    pub fds: u64,
    /// VMAs of processes in both.
    pub vmas: u64,
    /// Pages both sides map.
    pub pages: u64,
    /// Paths of the file table.
    pub files: u64,
    /// Namespaces.
    pub namespaces: u64,
    /// Mounts.
    pub mounts: u64,
}

/// The counts of the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Processes only in B.
    pub processes_added: u64,
    /// Processes only in A.
    pub processes_removed: u64,
    /// Processes in both that differ in something.
    pub processes_changed: u64,
    /// Fds added, removed or changed.
    pub fds: u64,
    /// VMAs added, removed or changed.
    pub vmas: u64,
    /// Pages whose contents differ.
    pub pages_differ: u64,
    /// VMAs with at least one such page.
    pub vmas_with_pages_differ: u64,
    /// Files added, removed or changed.
    pub files: u64,
    /// Namespaces added, removed or changed.
    pub namespaces: u64,
    /// Mounts added, removed or changed.
    pub mounts: u64,
}

/// The comparison of two checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// A's path, as opened.
    pub a: String,
    /// B's path.
    pub b: String,
    /// The sections compared.
    pub sections: Vec<Section>,
    /// Processes that differ (or whose memory could not all be compared), by pid.
    pub processes: Vec<ProcessDiff>,
    /// Files that differ, by path.
    pub files: Vec<Change<Vec<u8>>>,
    /// Namespaces that differ, by kind and id.
    pub namespaces: Vec<Change<NsKey>>,
    /// Mounts that differ, by namespace and mount point.
    pub mounts: Vec<Change<MountKey>>,
    /// How much was compared.
    pub compared: Compared,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Diff {
    /// Whether nothing differs in the compared sections.
    pub fn is_equal(&self) -> bool {
        !self.processes.iter().any(ProcessDiff::differs) && self.files.is_empty() && self.namespaces.is_empty() && self.mounts.is_empty()
    }

    /// Whether everything asked for could be compared (no problems).
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }

    /// The counts of differences.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for p in self.processes.iter().filter(|p| p.differs()) {
            match p.kind {
                ChangeKind::Added => c.processes_added += 1,
                ChangeKind::Removed => c.processes_removed += 1,
                ChangeKind::Changed => c.processes_changed += 1,
            }
            c.fds += p.fds.len() as u64;
            c.vmas += p.vmas.len() as u64;
            for m in &p.memory {
                c.pages_differ += m.pages_differ;
                c.vmas_with_pages_differ += u64::from(m.pages_differ > 0);
            }
        }
        c.files = self.files.len() as u64;
        c.namespaces = self.namespaces.len() as u64;
        c.mounts = self.mounts.len() as u64;
        c
    }

    /// The process of this pid, if it differs.
    pub fn process(&self, pid: u32) -> Option<&ProcessDiff> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// Compares two checkpoints (see the module docs for what and how). Never fails: what cannot be
/// read becomes a [`Problem`], and the rest is compared.
pub fn compare(a: &Checkpoint, b: &Checkpoint, opts: &Options) -> Diff {
    let mut cx = Cx { problems: Vec::new(), compared: Compared::default(), opts };
    let sections: Vec<Section> = Section::ALL.into_iter().filter(|&s| opts.has(s)).collect();
    let processes = if sections.iter().any(|s| s.per_process()) { cx.processes(a, b) } else { Vec::new() };
    let files = if opts.has(Section::Files) { cx.files(a, b) } else { Vec::new() };
    let namespaces = if opts.has(Section::Namespaces) { cx.namespaces(a, b) } else { Vec::new() };
    let mounts = if opts.has(Section::Mounts) { cx.mounts(a, b) } else { Vec::new() };
    Diff {
        a: a.path.display().to_string(),
        b: b.path.display().to_string(),
        sections,
        processes,
        files,
        namespaces,
        mounts,
        compared: cx.compared,
        problems: cx.problems,
    }
}

/// The comparison under way.
struct Cx<'o> {
    problems: Vec<Problem>,
    compared: Compared,
    opts: &'o Options,
}

const SIDES: [Side; 2] = [Side::A, Side::B];

impl Cx<'_> {
    fn problem(&mut self, side: Side, file: impl Into<String>, message: impl Into<String>) {
        let p = Problem { side, file: file.into(), message: message.into() };
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    fn error(&mut self, side: Side, e: &CheckpointError, what: &str) {
        let p = model::Problem::from_error(e);
        let message = if p.message == "missing" { format!("missing: {what}") } else { format!("{}; {what}", p.message) };
        self.problem(side, p.file, message);
    }

    fn mem_error(&mut self, side: Side, e: &MemError, what: &str) {
        match e {
            MemError::Checkpoint(e) => self.error(side, e, what),
            MemError::Corrupt { file, .. } => self.problem(side, file.clone(), format!("{e}; {what}")),
            MemError::Unreadable { why, .. } => self.unreadable(side, why, &format!("{e}; {what}")),
            _ => self.problem(side, "", format!("{e}; {what}")),
        }
    }

    fn unreadable(&mut self, side: Side, why: &Unreadable, message: &str) {
        self.problem(side, unreadable_file(why), message);
    }

    fn file_table<'c>(&mut self, side: Side, ckpt: &'c Checkpoint) -> Option<&'c FileTable> {
        match ckpt.files() {
            Ok(t) if t.is_absent() => {
                self.problem(side, names::FILES.pattern(), "missing: the targets of fds and the paths of mapped files are unknown");
                Some(t)
            }
            Ok(t) => Some(t),
            Err(e) => {
                self.error(side, &e, "the targets of fds and the files were not compared");
                None
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Processes

    fn processes(&mut self, a: &Checkpoint, b: &Checkpoint) -> Vec<ProcessDiff> {
        let (pa, pb) = (a.processes(), b.processes());
        for (side, r) in SIDES.into_iter().zip([&pa, &pb]) {
            if let Err(e) = r {
                self.error(side, e, "no process was compared");
            }
        }
        let (Ok(pa), Ok(pb)) = (pa, pb) else { return Vec::new() };
        let fa = self.file_table(Side::A, a);
        let fb = self.file_table(Side::B, b);
        let pids: BTreeSet<u32> = pa.iter().chain(pb.iter()).map(|p| p.pid()).collect();
        self.compared.processes = pids.len() as u64;
        let mut out = Vec::new();
        for pid in pids {
            let d = match (pa.get(pid), pb.get(pid)) {
                (Some(x), Some(y)) => self.process(x, y, fa, fb),
                (Some(x), None) => Some(self.one_sided(ChangeKind::Removed, Side::A, x)),
                (None, Some(y)) => Some(self.one_sided(ChangeKind::Added, Side::B, y)),
                (None, None) => None,
            };
            out.extend(d);
        }
        out
    }

    fn one_sided(&mut self, kind: ChangeKind, side: Side, p: Process<'_>) -> ProcessDiff {
        let rec = self.process_record(side, p, &mut Vec::new());
        let (a, b) = if side == Side::A { (Some(rec), None) } else { (None, Some(rec)) };
        ProcessDiff { pid: p.pid(), comm: comm(p), kind, a, b, fields: Vec::new(), fds: Vec::new(), vmas: Vec::new(), memory: Vec::new() }
    }

    fn process(&mut self, x: Process<'_>, y: Process<'_>, fa: Option<&FileTable>, fb: Option<&FileTable>) -> Option<ProcessDiff> {
        let (mut ra, mut rb, mut fields) = (None, None, Vec::new());
        if self.opts.has(Section::Processes) {
            let mut unknown = Vec::new();
            let (a, b) = (self.process_record(Side::A, x, &mut unknown), self.process_record(Side::B, y, &mut unknown));
            // A field that could not be read on one side is a problem, not a difference.
            fields = Record::changes(&a, &b);
            fields.retain(|c| !unknown.iter().any(|u: &&str| c.field.starts_with(u)));
            (ra, rb) = (Some(a), Some(b));
        }
        let fds = if self.opts.has(Section::Fds) { self.fds(x, y, fa, fb) } else { Vec::new() };
        let vmas = if self.opts.has(Section::Vmas) { self.vmas(x, y) } else { Vec::new() };
        let memory = if self.opts.has(Section::Memory) { self.memory(x, y) } else { Vec::new() };
        if fields.is_empty() && fds.is_empty() && vmas.is_empty() && memory.is_empty() {
            return None;
        }
        let comm = if comm(y).is_empty() { comm(x) } else { comm(y) };
        Some(ProcessDiff { pid: y.pid(), comm, kind: ChangeKind::Changed, a: ra, b: rb, fields, fds, vmas, memory })
    }

    /// The process's record; the names (or prefixes) of fields that could not be read are
    /// added to `unknown`.
    fn process_record(&mut self, side: Side, p: Process<'_>, unknown: &mut Vec<&'static str>) -> Record {
        let pid = p.pid();
        let mut r = Record::default();
        r.push("ppid", Value::U64(p.ppid().into()));
        r.push("pgid", Value::U64(p.pgid().into()));
        r.push("sid", Value::U64(p.sid().into()));
        let core = match p.core() {
            Ok(c) => c,
            Err(e) => {
                self.error(side, &e, &format!("process {pid}'s state and command name were not compared"));
                unknown.extend(["state", "comm", "cmdline"]);
                None
            }
        };
        if core.is_none() && p.core().is_ok() {
            self.problem(side, names::CORE.name(pid.into()), format!("missing: process {pid}'s state and command name are unknown"));
            unknown.extend(["state", "comm", "cmdline"]);
        }
        r.push("state", core.map_or(Value::Null, |c| Value::Str(c.state.to_string())));
        r.push("comm", Value::opt_bytes(core.map(|c| &c.comm[..])));
        let alive = core.is_some_and(|c| has_resources(c.state));
        let cmdline = if alive {
            match p.cmdline() {
                Ok(args) => Value::Args(args),
                Err(e) => {
                    if affects_comparison(&e) {
                        self.mem_error(side, &e, &format!("process {pid}'s command line was not compared"));
                        unknown.push("cmdline");
                    }
                    Value::Null
                }
            }
        } else {
            Value::Null
        };
        r.push("cmdline", cmdline);
        r.push("threads", Value::U64(p.thread_ids().len() as u64));
        let exe = match p.mm() {
            Ok(mm) => mm.and_then(|m| m.exe.as_deref()),
            Err(e) => {
                self.error(side, &e, &format!("process {pid}'s executable and VMAs were not compared"));
                unknown.push("exe");
                None
            }
        };
        r.push("exe", Value::opt_bytes(exe));
        if let Err(e) = p.fs() {
            self.error(side, &e, &format!("process {pid}'s working and root directories were not compared"));
            unknown.extend(["cwd", "root"]);
        }
        r.push("cwd", Value::opt_bytes(p.cwd()));
        r.push("root", Value::opt_bytes(p.root()));
        let creds = match p.creds() {
            Ok(c) => c,
            Err(e) => {
                self.error(side, &e, &format!("process {pid}'s credentials were not compared"));
                unknown.push("creds.");
                None
            }
        };
        creds_fields(&mut r, creds.as_ref());
        r
    }

    // -----------------------------------------------------------------------------------------
    // Fds

    fn fd_map<'c>(&mut self, side: Side, p: Process<'c>) -> Option<BTreeMap<u32, &'c Fd>> {
        let pid = p.pid();
        match p.fds() {
            Ok(Some(fds)) => Some(fds.iter().map(|f| (f.fd, f)).rev().collect()),
            Ok(None) if p.state().is_some_and(has_resources) => {
                self.problem(side, p.fdinfo_name(), format!("missing: process {pid}'s fds were not compared"));
                None
            }
            Ok(None) => Some(BTreeMap::new()),
            Err(e) => {
                self.error(side, &e, &format!("process {pid}'s fds were not compared"));
                None
            }
        }
    }

    fn fds(&mut self, x: Process<'_>, y: Process<'_>, fa: Option<&FileTable>, fb: Option<&FileTable>) -> Vec<Change<u32>> {
        let (Some(ma), Some(mb)) = (self.fd_map(Side::A, x), self.fd_map(Side::B, y)) else { return Vec::new() };
        let nums: BTreeSet<u32> = ma.keys().chain(mb.keys()).copied().collect();
        self.compared.fds += nums.len() as u64;
        let mut out = Vec::new();
        for n in nums {
            let (da, db) = (ma.get(&n).copied(), mb.get(&n).copied());
            let (ta, tb) = (da.and_then(|d| target(fa, d)), db.and_then(|d| target(fb, d)));
            // The same target described the same way: equal without building records.
            if let (Some(da), Some(db), Some(ta), Some(tb)) = (da, db, ta, tb)
                && da.type_ == db.type_
                && da.flags == db.flags
                && ta.kind == tb.kind
            {
                continue;
            }
            for (side, d, t, table, p) in [(Side::A, da, ta, fa, x), (Side::B, db, tb, fb, y)] {
                if let (Some(d), None, Some(table)) = (d, t, table)
                    && !table.is_absent()
                {
                    self.problem(
                        side,
                        names::FILES.pattern(),
                        format!("has no file {} ({}) for fd {} of process {}: its target was not compared", d.id, type_name(d.type_), d.fd, p.pid()),
                    );
                }
            }
            out.extend(Change::of(n, da.map(|d| fd_record(d, ta)), db.map(|d| fd_record(d, tb))));
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // VMAs

    fn vma_map<'c>(&mut self, side: Side, p: Process<'c>) -> Option<BTreeMap<VmaKey, &'c Vma>> {
        let pid = p.pid();
        match p.mm() {
            Ok(Some(mm)) => Some(mm.vmas.iter().map(|v| (VmaKey { start: v.start, guard: v.is_guard() }, v)).rev().collect()),
            Ok(None) if p.state().is_some_and(has_resources) => {
                self.problem(side, names::MM.name(pid.into()), format!("missing: process {pid}'s VMAs and memory were not compared"));
                None
            }
            Ok(None) => Some(BTreeMap::new()),
            Err(e) => {
                self.error(side, &e, &format!("process {pid}'s executable and VMAs were not compared"));
                None
            }
        }
    }

    fn vmas(&mut self, x: Process<'_>, y: Process<'_>) -> Vec<Change<VmaKey>> {
        let (Some(ma), Some(mb)) = (self.vma_map(Side::A, x), self.vma_map(Side::B, y)) else { return Vec::new() };
        let keys: BTreeSet<VmaKey> = ma.keys().chain(mb.keys()).copied().collect();
        self.compared.vmas += keys.len() as u64;
        let mut out = Vec::new();
        for k in keys {
            let (va, vb) = (ma.get(&k).copied(), mb.get(&k).copied());
            if let (Some(va), Some(vb)) = (va, vb)
                && va == vb
            {
                continue;
            }
            out.extend(Change::of(k, va.map(vma_record), vb.map(vma_record)));
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // Memory

    fn memory(&mut self, x: Process<'_>, y: Process<'_>) -> Vec<VmaPages> {
        let pid = y.pid();
        let what = format!("process {pid}'s memory was not compared");
        let (ta, tb) = (x.memory(), y.memory());
        let mut ok = true;
        for (side, t) in [(Side::A, &ta), (Side::B, &tb)] {
            match t {
                Ok(_) => {}
                // No mm or pagemap: a zombie, or an image the VMA comparison already names.
                Err(MemError::NoMemory { .. }) => ok = false,
                Err(e) => {
                    self.mem_error(side, e, &what);
                    ok = false;
                }
            }
        }
        let (Ok(ta), Ok(tb)) = (ta, tb) else { return Vec::new() };
        if !ok {
            return Vec::new();
        }
        // One problem per side, image and reason, however many runs it concerns.
        let mut unknown: Vec<(usize, Unreadable, u64)> = Vec::new();
        let (sa, sb) = (memory::Side { ckpt: x.checkpoint(), task: &ta }, memory::Side { ckpt: y.checkpoint(), task: &tb });
        let pages = memory::compare(sa, sb, &mut |(side, why)| {
            let same = |u: &(usize, Unreadable, u64)| u.0 == side && std::mem::discriminant(&u.1) == std::mem::discriminant(&why);
            match unknown.iter_mut().find(|u| same(u) && unreadable_file(&u.1) == unreadable_file(&why)) {
                Some(u) => u.2 += 1,
                None => unknown.push((side, why, 1)),
            }
        });
        for (side, why, n) in unknown {
            let more = if n > 1 { format!(" (and {} more like it)", n - 1) } else { String::new() };
            self.unreadable(SIDES[side], &why, &format!("process {pid}: {why}{more}; those pages were not compared"));
        }
        self.compared.pages += pages.iter().map(|p| p.pages).sum::<u64>();
        pages.into_iter().filter(|p| p.pages_differ > 0 || p.pages_unknown > 0).collect()
    }

    // -----------------------------------------------------------------------------------------
    // Files

    fn files(&mut self, a: &Checkpoint, b: &Checkpoint) -> Vec<Change<Vec<u8>>> {
        let (Some(ta), Some(tb)) = (self.file_table(Side::A, a), self.file_table(Side::B, b)) else { return Vec::new() };
        let (ma, mb) = (path_files(ta), path_files(tb));
        let paths: BTreeSet<&Vec<u8>> = ma.keys().chain(mb.keys()).collect();
        self.compared.files = paths.len() as u64;
        paths.into_iter().filter_map(|p| Change::of(p.clone(), ma.get(p).cloned(), mb.get(p).cloned())).collect()
    }

    // -----------------------------------------------------------------------------------------
    // Namespaces and mounts

    fn namespaces(&mut self, a: &Checkpoint, b: &Checkpoint) -> Vec<Change<NsKey>> {
        let [ma, mb] = [(Side::A, a), (Side::B, b)].map(|(side, ckpt)| {
            let ns = Namespaces::load(ckpt);
            for p in &ns.problems {
                self.problem(side, p.file.clone(), format!("{}; the namespaces were not all compared", p.message));
            }
            ns_records(&ns)
        });
        let keys: BTreeSet<NsKey> = ma.keys().chain(mb.keys()).copied().collect();
        self.compared.namespaces = keys.len() as u64;
        keys.into_iter().filter_map(|k| Change::of(k, ma.get(&k).cloned(), mb.get(&k).cloned())).collect()
    }

    fn mounts(&mut self, a: &Checkpoint, b: &Checkpoint) -> Vec<Change<MountKey>> {
        let [ma, mb] = [(Side::A, a), (Side::B, b)].map(|(side, ckpt)| {
            let m = Mounts::load(ckpt);
            for p in &m.problems {
                self.problem(side, p.file.clone(), format!("{}; the mounts were not all compared", p.message));
            }
            mount_records(&m)
        });
        let keys: BTreeSet<&MountKey> = ma.keys().chain(mb.keys()).collect();
        self.compared.mounts = keys.len() as u64;
        keys.into_iter().filter_map(|k| Change::of(k.clone(), ma.get(k).cloned(), mb.get(k).cloned())).collect()
    }
}

/// The image an unreadable piece of memory is to blame on.
fn unreadable_file(why: &Unreadable) -> String {
    match why {
        Unreadable::Lazy { pagemap, .. }
        | Unreadable::NoParent { pagemap, .. }
        | Unreadable::ParentUnavailable { pagemap, .. }
        | Unreadable::NotInParent { pagemap, .. } => pagemap.clone(),
        Unreadable::Truncated { pages, .. } => pages.clone(),
        Unreadable::NoShmemImage { shmid } => names::PAGEMAP_SHMEM.name(*shmid),
        _ => String::new(),
    }
}

/// Whether a failure to read a command line means images are unreadable (rather than that the
/// task has no memory, or that its mm image gives no argument range).
fn affects_comparison(e: &MemError) -> bool {
    match e {
        MemError::Checkpoint(_) | MemError::Corrupt { .. } => true,
        MemError::Unreadable { why, .. } => {
            !matches!(why, Unreadable::FromFile { .. } | Unreadable::Kernel(_) | Unreadable::Unmapped)
        }
        _ => false,
    }
}

fn comm(p: Process<'_>) -> Vec<u8> {
    p.comm().map(<[u8]>::to_vec).unwrap_or_default()
}

fn creds_fields(r: &mut Record, c: Option<&Creds>) {
    let num = |f: fn(&Creds) -> u32| c.map_or(Value::Null, |c| Value::U64(f(c).into()));
    let list = |f: fn(&Creds) -> &Vec<u32>| c.map_or(Value::Null, |c| Value::List(f(c).iter().map(|&v| Value::U64(v.into())).collect()));
    r.push("creds.uid", num(|c| c.uid));
    r.push("creds.gid", num(|c| c.gid));
    r.push("creds.euid", num(|c| c.euid));
    r.push("creds.egid", num(|c| c.egid));
    r.push("creds.suid", num(|c| c.suid));
    r.push("creds.sgid", num(|c| c.sgid));
    r.push("creds.fsuid", num(|c| c.fsuid));
    r.push("creds.fsgid", num(|c| c.fsgid));
    r.push("creds.groups", list(|c| &c.groups));
    r.push("creds.cap_eff", list(|c| &c.cap_eff));
    r.push("creds.cap_prm", list(|c| &c.cap_prm));
    r.push("creds.cap_inh", list(|c| &c.cap_inh));
    r.push("creds.cap_bnd", list(|c| &c.cap_bnd));
    r.push("creds.cap_amb", list(|c| &c.cap_amb));
    r.push("creds.secbits", num(|c| c.secbits));
    r.push("creds.no_new_privs", c.and_then(|c| c.no_new_privs).map_or(Value::Null, |v| Value::U64(v.into())));
    r.push("creds.lsm_profile", Value::opt_bytes(c.and_then(|c| c.lsm_profile.as_deref())));
}

/// An fd's file description, looked up by type and id as CRIU does.
fn target<'t>(files: Option<&'t FileTable>, fd: &Fd) -> Option<&'t File> {
    let t = files?;
    t.get_typed(fd.type_, fd.id).or_else(|| t.get(fd.id))
}

fn endpoint(addr: Option<IpAddr>, port: u32) -> String {
    match addr {
        Some(IpAddr::V6(a)) => format!("[{a}]:{port}"),
        Some(a) => format!("{a}:{port}"),
        None => format!("?:{port}"),
    }
}

/// `FD_CLOEXEC`.
const FD_CLOEXEC: u32 = 1;

fn fd_record(fd: &Fd, file: Option<&File>) -> Record {
    let kind = file.map(|f| &f.kind);
    let mut r = Record::default();
    r.push("kind", Value::Str(kind.map_or_else(|| type_name(fd.type_).to_ascii_lowercase(), |k| file_kind_name(k).to_string())));
    let path = match kind {
        Some(FileKind::Memfd(m)) => m.name.as_ref().map(|n| [&b"memfd:"[..], n].concat()),
        Some(k) => file_path(k).map(<[u8]>::to_vec),
        None => None,
    };
    r.push("path", path.map_or(Value::Null, Value::Bytes));
    let flags: Option<OpenFlags> = match kind {
        Some(FileKind::Regular(f)) => Some(f.flags),
        Some(FileKind::Pipe { flags, .. } | FileKind::Eventfd { flags, .. }) => Some(*flags),
        Some(FileKind::Memfd(m)) => Some(m.flags),
        Some(FileKind::Tty(t)) => Some(t.flags),
        _ => None,
    };
    r.push("flags", flags.map_or(Value::Null, |f| Value::flags(f.names())));
    let pos = match kind {
        Some(FileKind::Regular(f)) => Some(f.pos),
        Some(FileKind::Memfd(m)) => Some(m.pos),
        _ => None,
    };
    r.push("pos", Value::opt_u64(pos));
    r.push("cloexec", Value::Bool(fd.flags & FD_CLOEXEC != 0));
    let s = |v: String| Value::Str(v);
    let (family, type_, state, local, remote) = match kind {
        Some(FileKind::Socket(Socket::Unix(u))) => (
            s("unix".into()),
            s(u.type_.to_string()),
            s(u.state.to_string()),
            if u.name.is_empty() { Value::Null } else { s(unix_name_text(&u.name)) },
            Value::Null,
        ),
        Some(FileKind::Socket(Socket::Inet(i))) => {
            let connected = i.dst_port != 0 || i.dst.is_some_and(|a| !a.is_unspecified());
            (
                s(i.family.to_string()),
                s(i.type_.to_string()),
                s(i.state.to_string()),
                s(endpoint(i.src, i.src_port)),
                if connected { s(endpoint(i.dst, i.dst_port)) } else { Value::Null },
            )
        }
        Some(FileKind::Socket(Socket::Netlink(n))) => (
            s("netlink".into()),
            s(n.protocol.to_string()),
            Value::Null,
            s(format!("portid {}", n.portid)),
            if n.dst_portid != 0 || n.dst_group != 0 { s(format!("{}:{}", n.dst_portid, n.dst_group)) } else { Value::Null },
        ),
        Some(FileKind::Socket(Socket::Packet(p))) => (
            s("packet".into()),
            s(p.type_.to_string()),
            Value::Null,
            s(format!("ifindex {} proto {}", p.ifindex, p.protocol)),
            Value::Null,
        ),
        _ => (Value::Null, Value::Null, Value::Null, Value::Null, Value::Null),
    };
    r.push("family", family);
    r.push("type", type_);
    r.push("state", state);
    r.push("local", local);
    r.push("remote", remote);
    r
}

/// One line describing an fd's target for people: a path, a socket, `pipe`, ...
pub(crate) fn fd_summary(r: &Record) -> String {
    let get = |k| r.get(k).filter(|v| **v != Value::Null).map(Value::text);
    let kind = get("kind").unwrap_or_default();
    let mut s = match (kind.as_str(), get("path")) {
        ("socket", _) => {
            let mut s = get("family").unwrap_or_default();
            for k in ["type", "state", "local"] {
                if let Some(v) = get(k) {
                    s.push(' ');
                    s.push_str(&v);
                }
            }
            if let Some(v) = get("remote") {
                s.push_str(" -> ");
                s.push_str(&v);
            }
            s
        }
        ("regular", Some(p)) => p,
        (k, Some(p)) => format!("{k} {p}"),
        (k, None) => k.to_string(),
    };
    if let Some(f) = get("flags").filter(|f| f != "0") {
        s.push_str(&format!("  {f}"));
    }
    s
}

fn vma_record(v: &Vma) -> Record {
    let mut r = Record::default();
    r.push("end", Value::Hex(v.end));
    r.push("prot", Value::Str(String::from_utf8_lossy(&v.perms()[..3]).into_owned()));
    r.push("flags", Value::flags(v.flags.names()));
    r.push("status", Value::flags(v.status.names()));
    r.push("pgoff", Value::Hex(v.pgoff));
    let backing = match v.backing() {
        Backing::Anon => "anon",
        Backing::File { shared: false } => "file",
        Backing::File { shared: true } => "shared-file",
        Backing::Shmem { .. } => "shmem",
        Backing::Kernel(_) => "kernel",
    };
    r.push("backing", Value::Str(backing.into()));
    // A file's id in files.img may be numbered differently by another dump, and the id of
    // shared anonymous memory is an inode number that a restore changes: what is mapped is the
    // path, or the kind of memory.
    let name = match &v.mapping {
        Mapping::File { path: Some(p), .. } => p.to_vec(),
        Mapping::SharedAnonymous { .. } => b"shared anon".to_vec(),
        _ => v.name(),
    };
    r.push("name", Value::Bytes(name));
    r
}

fn file_type(mode: Option<u32>) -> Option<&'static str> {
    Some(match mode? & 0o170000 {
        0o100000 => "regular",
        0o040000 => "directory",
        0o020000 => "chardev",
        0o060000 => "blockdev",
        0o010000 => "fifo",
        0o140000 => "socket",
        0o120000 => "symlink",
        _ => return None,
    })
}

/// The regular files of a table by path. A path opened several times is one file: each field is
/// the first value any of its entries records.
fn path_files(t: &FileTable) -> BTreeMap<Vec<u8>, Record> {
    struct Merged {
        size: Option<u64>,
        mode: Option<u32>,
        build_id: Option<String>,
        checksum: Option<u32>,
        deleted: bool,
    }
    let mut by_path: BTreeMap<Vec<u8>, Merged> = BTreeMap::new();
    for f in t.iter().chain(t.other_types()) {
        let FileKind::Regular(r) = &f.kind else { continue };
        let build_id = (!r.build_id.is_empty()).then(|| r.build_id.iter().flat_map(|w| w.to_le_bytes()).map(|b| format!("{b:02x}")).collect());
        let m = by_path.entry(r.path.to_vec()).or_insert(Merged { size: None, mode: None, build_id: None, checksum: None, deleted: false });
        m.size = m.size.or(r.size);
        m.mode = m.mode.or(r.mode);
        m.build_id = m.build_id.take().or(build_id);
        m.checksum = m.checksum.or(r.checksum);
        m.deleted |= r.deleted();
    }
    by_path
        .into_iter()
        .map(|(p, m)| {
            let mut r = Record::default();
            r.push("type", file_type(m.mode).map_or(Value::Null, |t| Value::Str(t.into())));
            r.push("size", Value::opt_u64(m.size));
            r.push("mode", m.mode.map_or(Value::Null, Value::Mode));
            r.push("build_id", m.build_id.map_or(Value::Null, Value::Str));
            r.push("checksum", m.checksum.map_or(Value::Null, |c| Value::Hex(c.into())));
            r.push("deleted", Value::Bool(m.deleted));
            (p, r)
        })
        .collect()
}

fn ns_records(ns: &Namespaces) -> BTreeMap<NsKey, Record> {
    ns.namespaces
        .iter()
        .map(|n| {
            let mut r = Record::default();
            r.push("tasks", Value::List(n.tasks.iter().map(|&t| Value::U64(t.into())).collect()));
            r.push("dumped", Value::Bool(!n.dumpers));
            let uts = (n.kind == NsKind::Uts).then(|| ns.uts.iter().find(|u| u.id == n.id)).flatten();
            r.push("hostname", Value::opt_bytes(uts.map(|u| &u.hostname[..])));
            r.push("domainname", Value::opt_bytes(uts.map(|u| &u.domainname[..])));
            (NsKey { kind: n.kind, id: n.id }, r)
        })
        .collect()
}

fn mount_records(m: &Mounts) -> BTreeMap<MountKey, Record> {
    let mut out = BTreeMap::new();
    for ns in &m.namespaces {
        let mut seen: BTreeMap<&[u8], usize> = BTreeMap::new();
        for (_, mnt) in ns.tree() {
            let nth = seen.entry(&mnt.mountpoint).or_default();
            let key = MountKey { ns: ns.id, mountpoint: mnt.mountpoint.clone(), nth: *nth };
            *nth += 1;
            let mut r = Record::default();
            r.push("fstype", Value::Str(mnt.fstype_name()));
            r.push("source", Value::Bytes(mnt.source.clone()));
            r.push("root", Value::Bytes(mnt.root.clone()));
            r.push("options", Value::Bytes(mnt.options.clone()));
            r.push("read_only", Value::Bool(mnt.read_only()));
            r.push("external", Value::opt_bytes(mnt.ext_key.as_deref()));
            out.insert(key, r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_by_name() {
        for s in Section::ALL {
            assert_eq!(Section::from_name(s.name()), Some(s));
        }
        assert_eq!(Section::from_name("mem"), None);
        let o = Options::default().without(Section::Memory);
        assert!(!o.has(Section::Memory) && o.has(Section::Vmas));
        assert_eq!(Options::only(&[]), Options::default());
    }
}
