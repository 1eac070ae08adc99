//! `crit check`: is this checkpoint whole and consistent, before CRIU's restore finds out late?
//!
//! [`check`] runs two passes and returns [`Diagnostic`]s (severity, file, entry index, field path,
//! message), in a deterministic order:
//!
//! 1. **Each image on its own**: the magic matches the file name, the head word matches the
//!    image version, the framing holds (every size word and payload inside the file), every entry
//!    decodes, and the generated validators (enum values, flag bits, unknown fields) pass.
//! 2. **References between images**:
//!    - `inventory.img` is present and its `img_version` is 2 (or 1, the v1 format);
//!    - `pstree.img` has one root, no repeated pids, parents that exist, and every task and
//!      thread has its `core-<tid>.img`; live tasks have their `ids`, `fs`, `mm` and `pagemap`;
//!    - `ids` → `fdinfo-<files_id>.img` → `files.img` entries of the right type; `fs` cwd and root
//!      and `mm` exe and file mappings → regular files;
//!    - VMAs are sorted, page-aligned and disjoint; pagemap entries are sorted, disjoint, and
//!      inside VMAs; for each pagemap the `PE_PRESENT` pages × 4096 equal the size of its
//!      `pages-<pages_id>.img`; `PE_PARENT` pages are in the `parent` checkpoint, following its
//!      own `parent` links;
//!    - shared memory (anonymous shared, memfd and SysV mappings, memfd files, SysV segments) has
//!      its `pagemap-shmem-<shmid>.img`;
//!    - `remap-fpath.img` entries name existing files, and ghost remaps their
//!      `ghost-file-<id>.img`;
//!    - queued data has an owner: `pipes-data`/`fifo-data` entries a pipe or FIFO with their
//!      `pipe_id`, `sk-queues` packets a unix socket with their `id_for` (else the data is lost);
//!    - files that nothing refers to are noticed.
//!
//! Severities: an error is something CRIU's restore fails on or gets wrong; a warning is
//! suspicious but may restore; a notice is worth knowing and not wrong. A checkpoint is clean
//! when it has no errors and no warnings.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Write as _;

use criu_image_proto::schema::kinds::{Entries, files};
pub use criu_image_proto::support::fields::Severity;
use criu_image_proto::view;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::image::{self, Head, Image, Kind, Role, kind_by_name, raw_kind_by_name};
use criu_image_proto::flags::VmaStatus;
use criu_image_proto::schema::enums::FdTypes;
use crate::model::files::{MemfdInode, load_memfd_inodes};
use crate::model::read::typed_image;
use crate::model::{FileKind, FileTable, PageIndex, Process, Remap, Unreadable};
use crate::pagemap::{PAGE_SIZE, PE_PARENT, PE_PRESENT};

/// One finding: how bad, where (file, entry index as in crit's JSON `entries[i]`, field path
/// inside the entry), and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad it is: an error fails CRIU's restore (or makes it restore something else), a
    /// warning is suspicious, a notice is only worth knowing.
    pub severity: Severity,
    /// The image file it is about, by its name in the checkpoint (`mm-1234.img`), or the
    /// checkpoint's `parent` link.
    pub file: String,
    /// The entry index in that image (0-based, as in crit's JSON `entries[i]`; a pagemap's head
    /// is entry 0), `None` for the whole file.
    pub entry: Option<usize>,
    /// Field path inside the entry, e.g. `vmas[3].shmid`; empty for the whole entry or file.
    pub field: String,
    /// What is wrong and, where something can be done, what (for people; no trailing period).
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `error: pagemap-7.img entry 3 vaddr: pages ... are outside every VMA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, self.file)?;
        if let Some(i) = self.entry {
            write!(f, " entry {i}")?;
        }
        if !self.field.is_empty() {
            write!(f, " {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What [`check`] found.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Image files checked (raw images and files CRIU does not write are not counted).
    pub images: usize,
    /// Every finding, in a deterministic order: the inventory's and each image's own findings
    /// first, then those about references between images (tasks, shared memory, remaps, queues,
    /// files nothing refers to).
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// How many diagnostics have severity `s`.
    pub fn count(&self, s: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == s).count()
    }
    /// No errors and no warnings (notices are allowed).
    pub fn is_clean(&self) -> bool {
        self.diagnostics.iter().all(|d| d.severity == Severity::Notice)
    }
}

impl CheckReport {
    /// Writes the report as lines: each diagnostic (`error: FILE entry N FIELD: message`), then
    /// `PATH: ok|NOT OK: N images, E errors, W warnings, N notices`. `quiet` leaves notices out
    /// (and the summary line of a clean checkpoint).
    pub fn write_text(&self, checkpoint: &std::path::Path, quiet: bool, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for d in self.shown(quiet) {
            let _ = writeln!(buf, "{d}");
        }
        let (e, w, n) = (self.count(Severity::Error), self.count(Severity::Warning), self.count(Severity::Notice));
        if !(quiet && self.is_clean()) {
            let verdict = if self.is_clean() { "ok" } else { "NOT OK" };
            let _ = writeln!(buf, "{}: {verdict}: {} images, {e} errors, {w} warnings, {n} notices", checkpoint.display(), self.images);
        }
        out.write_all(&buf)
    }

    /// Writes the report as one JSON object:
    ///
    /// ```text
    /// {"checkpoint": PATH, "format": "directory"|"tar"|"tar.gz"|"tar.zst", "images": N,
    ///  "errors": N, "warnings": N, "notices": N, "clean": BOOL,
    ///  "diagnostics": [{"severity": "error"|"warning"|"notice", "file": "mm-1.img",
    ///                   "entry": 0 (null for the whole file), "field": "vmas[3].shmid",
    ///                   "message": "..."}]}
    /// ```
    ///
    /// The counts are of every diagnostic; `quiet` leaves notices out of `diagnostics` only.
    pub fn write_json(
        &self,
        checkpoint: &std::path::Path,
        format: crate::checkpoint::Format,
        quiet: bool,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut j = criu_image_proto::support::json::JsonWriter::new(false);
        j.begin_object();
        j.key("checkpoint");
        j.str_bytes(checkpoint.as_os_str().as_encoded_bytes());
        j.key("format");
        j.str(&format.to_string());
        j.key("images");
        j.u64(self.images as u64);
        for (k, s) in [("errors", Severity::Error), ("warnings", Severity::Warning), ("notices", Severity::Notice)] {
            j.key(k);
            j.u64(self.count(s) as u64);
        }
        j.key("clean");
        j.bool(self.is_clean());
        j.key("diagnostics");
        j.begin_array();
        for d in self.shown(quiet) {
            j.begin_object();
            j.key("severity");
            j.str(&d.severity.to_string());
            j.key("file");
            j.str(&d.file);
            j.key("entry");
            match d.entry {
                Some(i) => j.u64(i as u64),
                None => j.raw_value("null"),
            }
            j.key("field");
            j.str(&d.field);
            j.key("message");
            j.str(&d.message);
            j.end_object();
        }
        j.end_array();
        j.end_object();
        let mut buf = j.take();
        buf.push(b'\n');
        out.write_all(&buf)
    }

    fn shown(&self, quiet: bool) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(move |d| !(quiet && d.severity == Severity::Notice))
    }
}

/// How far [`check`] goes.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Follow `parent` links to check `PE_PARENT` pages (a chain of pre-dumps, at most
    /// [`MAX_PARENT_DEPTH`](crate::model::MAX_PARENT_DEPTH) deep). Without it, a checkpoint
    /// whose pagemaps need a parent that is absent is still warned about, once.
    pub follow_parents: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { follow_parents: true }
    }
}

impl CheckOptions {
    /// The options with `follow_parents` set as given.
    pub fn follow_parents(follow: bool) -> CheckOptions {
        CheckOptions { follow_parents: follow }
    }
}

/// Checks a checkpoint with the default options.
pub fn check(ckpt: &Checkpoint) -> CheckReport {
    check_with(ckpt, &CheckOptions::default())
}

/// Checks a checkpoint: every image, then the references between them.
pub fn check_with(ckpt: &Checkpoint, opts: &CheckOptions) -> CheckReport {
    let mut c = Checker {
        ckpt,
        opts,
        out: Vec::new(),
        images: 0,
        referenced: HashSet::new(),
        parent_reported: false,
        memfd: HashMap::new(),
        sysv: BTreeMap::new(),
        files_broken: false,
    };
    c.run();
    CheckReport { images: c.images, diagnostics: c.out }
}

struct Checker<'a, 'o> {
    ckpt: &'a Checkpoint,
    opts: &'o CheckOptions,
    out: Vec<Diagnostic>,
    images: usize,
    /// Files some other image refers to (for the orphan notices).
    referenced: HashSet<String>,
    /// Whether the absence of a usable parent checkpoint was reported already (once is enough).
    parent_reported: bool,
    /// memfd.img's inodes by inode id.
    memfd: HashMap<u64, MemfdInode>,
    /// SysV shm segments of every ipcns-shm image: id → (file, entry, size, in_pagemaps).
    sysv: BTreeMap<u64, (String, usize, u64, bool)>,
    /// `files.img` (or a legacy file image) does not read: file references are not checked.
    files_broken: bool,
}

impl Checker<'_, '_> {
    fn push(&mut self, severity: Severity, file: &str, entry: Option<usize>, field: &str, message: String) {
        self.out.push(Diagnostic { severity, file: file.to_string(), entry, field: field.to_string(), message });
    }
    fn error(&mut self, file: &str, entry: Option<usize>, field: &str, message: String) {
        self.push(Severity::Error, file, entry, field, message);
    }
    fn warning(&mut self, file: &str, entry: Option<usize>, field: &str, message: String) {
        self.push(Severity::Warning, file, entry, field, message);
    }
    fn notice(&mut self, file: &str, entry: Option<usize>, field: &str, message: String) {
        self.push(Severity::Notice, file, entry, field, message);
    }
    /// An image error (framing or decoding) as a diagnostic of `file`.
    fn image_error(&mut self, file: &str, e: &image::Error) {
        let plain = image::Error { entry: None, field: String::new(), ..e.clone() };
        self.error(file, e.entry, &e.field, plain.to_string());
    }
    fn run(&mut self) {
        let version = self.inventory();
        self.each_image(version);
        self.memfd = load_memfd_inodes(self.ckpt).unwrap_or_default();
        self.sysv = self.sysv_segments();
        let procs = match self.ckpt.processes() {
            Ok(p) => p,
            Err(CheckpointError::Missing { .. }) => {
                self.error("pstree.img", None, "", "missing: a checkpoint without its process tree cannot be restored".into());
                return;
            }
            // Pass 1 already reported why pstree.img does not read.
            Err(_) => return,
        };
        self.referenced.insert("pstree.img".into());
        self.referenced.insert("inventory.img".into());
        let empty = FileTable::default();
        let files = match self.ckpt.files() {
            Ok(f) => f,
            Err(_) => {
                // Pass 1 reported why; without the file table every reference would look
                // dangling, so those checks are skipped rather than drowned in noise.
                self.files_broken = true;
                &empty
            }
        };
        if !self.files_broken && files.is_absent() && procs.iter().any(|p| p.state().is_some_and(crate::model::has_resources)) {
            // One error, not one per file reference (CRIU's restore opens files.img first and
            // fails on its absence: `prepare_files`).
            self.error("files.img", None, "", "missing: the tasks' open files, cwd, root and file mappings cannot be restored".into());
            self.files_broken = true;
        }
        self.files_table(files);
        self.tasks(&procs.iter().collect::<Vec<_>>(), files);
        self.shared_memory();
        self.remaps(files);
        self.queues(files);
        self.orphans(&procs.all_tids());
    }

    /// `inventory.img`: present, readable, a known version. Returns the version (2 if unknown).
    fn inventory(&mut self) -> u32 {
        const F: &str = "inventory.img";
        // cr-restore.c cr_restore_tasks → check_img_inventory opens it first; without it restore stops.
        let inv = match self.ckpt.image(F) {
            Ok(None) => {
                self.error(F, None, "", "missing: CRIU cannot restore a checkpoint without its inventory".into());
                return 2;
            }
            Err(_) => return 2, // pass 1 reports it
            Ok(Some(img)) if img.kind != Kind::Inventory => return 2,
            Ok(Some(img)) => match img.entries().next() {
                Some(Ok(e)) => view::InventoryEntry::trusted(e.message),
                Some(Err(_)) => return 2,
                None => {
                    self.error(F, None, "", "has no entry".into());
                    return 2;
                }
            },
        };
        // image.c check_img_inventory: restore accepts image versions 1 (CRTOOLS_IMAGES_V1,
        // no head magics) and 2 (V1_1) only.
        match inv.img_version() {
            2 => 2,
            1 => {
                self.notice(F, Some(0), "img_version", "version 1 images (no head magics), from CRIU before 1.3".into());
                1
            }
            v => {
                self.error(F, Some(0), "img_version", format!("image version {v} is not one CRIU knows (1 or 2)"));
                2
            }
        }
    }

    /// Pass 1: every file CRIU writes, on its own.
    fn each_image(&mut self, version: u32) {
        let ckpt = self.ckpt;
        let mut findings = Vec::new();
        for name in ckpt.names() {
            if raw_kind_by_name(name).is_some() {
                continue;
            }
            let Some(expected) = kind_by_name(name) else {
                if name.ends_with(".img") {
                    self.notice(name, None, "", "not a file name CRIU writes; not checked".into());
                }
                continue;
            };
            self.images += 1;
            let bytes = match ckpt.read(name) {
                Ok(b) => b.unwrap_or_default(),
                Err(e) => {
                    self.error(name, None, "", format!("cannot be read: {e}"));
                    continue;
                }
            };
            let img = match Image::parse(bytes, Some(name)) {
                Ok(img) => img,
                Err(e) => {
                    self.image_error(name, &e);
                    continue;
                }
            };
            // image.c do_open_image: the magic after the head must be the one of the image type
            // restore asked for by file name, else "Magic doesn't match".
            if img.kind != expected {
                self.error(
                    name,
                    None,
                    "",
                    format!(
                        "holds a {} image (magic {:#x}); a file of this name holds {}",
                        img.kind.info().name,
                        img.kind.info().magic,
                        expected.info().name
                    ),
                );
                continue;
            }
            // image.c img_check_magic: version 2 images start with the common or service head
            // magic (IMG_COMMON_MAGIC / IMG_SERVICE_MAGIC), version 1 images have none.
            let want_head = if version == 1 { Head::None } else { img.kind.info().head };
            if img.head != want_head {
                let sev = if version == 1 { Severity::Warning } else { Severity::Error };
                self.push(sev, name, None, "", format!("head magic is {:?}, version {version} images have {:?}", img.head, want_head));
            }
            let mut n = 0usize;
            let mut broken = false;
            for e in img.entries() {
                // protobuf.c pb_read_one/do_pb_read_one: a short size word, a short message or
                // one protobuf-c cannot unpack fails the read (and the restore).
                let e = match e {
                    Ok(e) => e,
                    Err(err) => {
                        self.image_error(name, &err);
                        broken = true;
                        break;
                    }
                };
                n += 1;
                let mut path = String::new();
                findings.clear();
                // The entry walk already checked the wire shape: validate values only, without
                // decoding the message a second time.
                match e.role {
                    Role::PagemapHead => view::PagemapHead::trusted(e.message).validate(&mut path, &mut findings),
                    Role::GhostChunk => view::GhostChunkEntry::trusted(e.message).validate(&mut path, &mut findings),
                    Role::Entry => img.kind.validate_entry(e.message, &mut path, &mut findings),
                }
                for f in findings.drain(..) {
                    let field = f.path.strip_prefix('.').unwrap_or(&f.path).to_string();
                    self.out.push(Diagnostic { severity: f.severity, file: name.to_string(), entry: Some(e.index), field, message: f.message });
                }
            }
            // CRIU reads these with pb_read_one (kinds.toml `entries`).
            let entries = img.kind.info().entries;
            if n == 0 && entries == Entries::One && !broken {
                self.error(name, None, "", "has no entry".into());
            } else if n > 1 && entries != Entries::Many {
                self.warning(name, Some(1), "", format!("{n} entries where CRIU writes and reads one"));
            }
        }
    }

    fn files_table(&mut self, files: &FileTable) {
        // Restore collects files.img into one table keyed by type and id (collect_one_file,
        // find_file_desc_raw): a second entry of the same type and id makes the lookup ambiguous.
        // One id under two types is how CRIU writes TUN files (below).
        for &(i, id) in files.duplicates() {
            let first = files.get(id).map_or(0, |f| f.entry);
            self.error("files.img", Some(i), "id", format!("id {id} is already used by entry {first} of the same type"));
        }
        // A TUN file is opened through the REG entry of its own id (tun.c: dump_tunfile writes
        // it with dump_one_reg_file, tunfile_open opens it with open_reg_by_id).
        let mut tun: Vec<(usize, u32)> =
            files.iter().chain(files.other_types()).filter(|f| f.type_ == FdTypes::TUNF).map(|f| (f.entry, f.id)).collect();
        tun.sort_unstable();
        for (i, id) in tun {
            if files.get_typed(FdTypes::REG, id).is_none() {
                self.error("files.img", Some(i), "id", format!("TUN file {id} has no REG entry of the same id: CRIU opens the device through it"));
            }
        }
        // memfd files point at memfd.img inodes (memfd.c: memfd_open_inode looks the inode up by
        // id among those collected from memfd.img).
        let bad: Vec<(usize, u32)> = files
            .iter()
            .filter_map(|f| match &f.kind {
                FileKind::Memfd(m) if !self.memfd.contains_key(&u64::from(m.inode_id)) => Some((f.entry, m.inode_id)),
                _ => None,
            })
            .collect();
        for (i, inode) in bad {
            self.error("files.img", Some(i), "memfd.inode_id", format!("memfd inode {inode} is not in memfd.img"));
        }
    }

    fn tasks(&mut self, procs: &[Process<'_>], files: &FileTable) {
        const P: &str = "pstree.img";
        let mut seen: HashMap<u32, usize> = HashMap::new();
        let mut tids: HashMap<u32, usize> = HashMap::new();
        // pstree.c read_pstree_image: exactly one task with ppid 0 ("Parent missed on non-root
        // task"), every other's parent earlier in the tree ("Can't find a parent"), each pid
        // once (lookup_create_item finds the second one already set up).
        let roots: Vec<_> = procs.iter().filter(|t| t.ppid() == 0).collect();
        if procs.is_empty() {
            self.error(P, None, "", "has no task".into());
        } else if roots.is_empty() {
            self.error(P, None, "", "no root task (one with ppid 0)".into());
        } else if roots.len() > 1 {
            let pids: Vec<String> = roots.iter().map(|t| t.pid().to_string()).collect();
            self.error(P, Some(roots[1].entry()), "ppid", format!("several root tasks (ppid 0): {}", pids.join(", ")));
        }
        let pids: HashSet<u32> = procs.iter().map(Process::pid).collect();
        let mut fdinfo_done = HashSet::new();
        for t in procs {
            let (entry, pid) = (t.entry(), t.pid());
            if let Some(first) = seen.insert(pid, entry) {
                self.error(P, Some(entry), "pid", format!("pid {pid} is already entry {first}"));
                continue;
            }
            if t.ppid() != 0 && !pids.contains(&t.ppid()) {
                self.error(P, Some(entry), "ppid", format!("parent {} of task {pid} is not in the tree", t.ppid()));
            }
            // The main thread's core says what the task is (cr-restore.c check_core: a task's
            // core must have its task core).
            let core_name = files::CORE.name(pid.into());
            let state = match t.core() {
                Ok(Some(core)) => {
                    self.referenced.insert(core_name.clone());
                    Some(core.state)
                }
                Ok(None) if self.ckpt.contains(&core_name) => {
                    self.referenced.insert(core_name.clone());
                    self.error(&core_name, Some(0), "tc", "the main thread's core has no task core (tc)".into());
                    None
                }
                Ok(None) => {
                    self.error(P, Some(entry), "pid", format!("task {pid} has no {core_name}"));
                    None
                }
                // Pass 1 reported it.
                Err(_) => {
                    self.referenced.insert(core_name.clone());
                    None
                }
            };
            // A zombie is its core and nothing else: CRIU's dump_one_zombie writes core-<pid>.img
            // with task_state TASK_DEAD and no other image; its pstree `threads` hold whatever
            // the seize left there (0, or stack garbage), because read_pstree_image never looks
            // threads[0] up and restore_one_zombie opens only core-<pid>.img. CRIU refuses to
            // dump a zombie with threads (seize.c), so a second entry would be a thread that
            // restore waits for and never creates.
            if t.is_zombie() && t.pstree_threads().len() > 1 {
                let msg = format!("zombie task {pid} lists {} threads; CRIU writes one, and restore would wait for the others", t.pstree_threads().len());
                self.warning(P, Some(entry), "threads", msg);
            }
            // Live tasks: read_pstree_image takes threads[0] to be the task itself, and
            // open_cores reads core-<tid>.img for every other thread.
            if !t.is_zombie() {
                let threads = t.pstree_threads();
                if threads.is_empty() {
                    self.warning(P, Some(entry), "threads", format!("task {pid} lists no threads (CRIU lists at least the task itself)"));
                } else if !threads.contains(&pid) {
                    self.warning(P, Some(entry), "threads", format!("task {pid} is not among its own threads"));
                }
                for (j, &tid) in threads.iter().enumerate() {
                    let field = format!("threads[{j}]");
                    if let Some(other) = tids.insert(tid, entry) {
                        self.error(P, Some(entry), &field, format!("thread {tid} is already a thread of entry {other}"));
                    }
                    if tid == pid {
                        continue;
                    }
                    let name = files::CORE.name(tid.into());
                    if self.ckpt.contains(&name) {
                        self.referenced.insert(name);
                    } else {
                        self.error(P, Some(entry), &field, format!("thread {tid} of task {pid} has no {name}"));
                    }
                }
            }
            let live = state.is_some_and(crate::model::has_resources);
            self.task_images(t, files, live, &mut fdinfo_done);
        }
    }

    /// A task's own images. A live task (TASK_ALIVE or TASK_STOPPED) needs its ids
    /// (pstree.c read_pstree_ids; cr-restore.c check_core: "Core IDS data missed for
    /// non-zombie"), fs (files.c prepare_fs_pid), mm (mem.c prepare_mm_pid) and pagemap
    /// (mem.c restore_priv_vma_content through open_page_read); its fdinfo image may be absent,
    /// as CRIU deletes images it wrote nothing into and restore reads a missing one as empty.
    fn task_images(&mut self, t: &Process<'_>, files: &FileTable, live: bool, fdinfo_done: &mut HashSet<String>) {
        let (pid, entry) = (t.pid(), t.entry());
        let need = |c: &mut Self, name: &str, what: &str| {
            if live {
                c.error("pstree.img", Some(entry), "pid", format!("task {pid} is alive but has no {name} ({what})"));
            }
        };
        // ids → fdinfo → files
        let ids_name = files::IDS.name(pid.into());
        let ids = match t.ids() {
            Ok(Some(ids)) => {
                self.referenced.insert(ids_name.clone());
                Some(ids)
            }
            Ok(None) => {
                need(self, &ids_name, "its namespaces and shared-resource ids");
                None
            }
            Err(_) => None,
        };
        let fdinfo = t.fdinfo_name();
        if (ids.is_some() || !live) && fdinfo_done.insert(fdinfo.clone()) {
            match t.fds() {
                Ok(Some(fds)) => {
                    self.referenced.insert(fdinfo.clone());
                    self.fds(&fdinfo, fds, files);
                }
                Ok(None) if live => self.notice(&ids_name, Some(0), "files_id", format!("no {fdinfo}: task {pid} has no open files")),
                _ => {}
            }
        } else {
            self.referenced.insert(fdinfo);
        }
        // fs
        let fs_name = files::FS.name(pid.into());
        match t.fs() {
            Ok(Some(fs)) => {
                self.referenced.insert(fs_name.clone());
                self.want_dir(files, &fs_name, Some(0), "cwd_id", fs.cwd_id);
                self.want_dir(files, &fs_name, Some(0), "root_id", fs.root_id);
            }
            Ok(None) => need(self, &fs_name, "its cwd and root"),
            Err(_) => {}
        }
        // mm and pagemap
        let mm_name = files::MM.name(pid.into());
        let vmas = match t.mm() {
            Ok(Some(mm)) => {
                self.referenced.insert(mm_name.clone());
                self.want_reg(files, &mm_name, Some(0), "exe_file_id", mm.info.exe_file_id);
                Some(self.vmas(&mm_name, &mm.vmas, files))
            }
            Ok(None) => {
                need(self, &mm_name, "its memory map");
                None
            }
            Err(_) => None,
        };
        let pm_name = files::PAGEMAP.name(pid.into());
        match t.pagemap() {
            Ok(Some(pm)) => {
                self.referenced.insert(pm_name.clone());
                self.pagemap(&pm_name, pm, vmas.as_deref().map(Bounds::Vmas).unwrap_or(Bounds::Unknown));
            }
            Ok(None) => need(self, &pm_name, "its memory contents"),
            Err(_) => {}
        }
    }

    /// fdinfo entries: each fd number once per table (restore installs every entry's file at
    /// its fd number, so a second one would take the first one's place), each naming a file of
    /// its type (files.c collect_fd → find_file_desc: "No file for fd").
    fn fds(&mut self, name: &str, fds: &[crate::model::Fd], files: &FileTable) {
        let mut seen = HashMap::new();
        for (i, e) in fds.iter().enumerate() {
            if let Some(first) = seen.insert(e.fd, i) {
                self.error(name, Some(i), "fd", format!("fd {} is already entry {first}", e.fd));
            }
            if self.files_broken {
                continue;
            }
            // The fd names its file by type and id (find_file_desc): an id repeated under another
            // type (TUN files) is found by the type.
            match files.get_typed(e.type_, e.id).or_else(|| files.get(e.id)) {
                Some(f) if f.type_ == e.type_ => {}
                // The legacy images say what type they hold by their name.
                Some(f) if f.source != crate::model::FileSource::Files => {}
                Some(f) => self.error(
                    name,
                    Some(i),
                    "type",
                    format!(
                        "fd {}: file id {} is a {} in files.img, the fd says {}",
                        e.fd,
                        e.id,
                        crate::explore::type_name(f.type_),
                        crate::explore::type_name(e.type_)
                    ),
                ),
                None => self.error(
                    name,
                    Some(i),
                    "id",
                    format!("fd {}: file id {} ({}) is not in files.img", e.fd, e.id, crate::explore::type_name(e.type_)),
                ),
            }
        }
    }

    /// `id` must name a regular file: restore opens cwd and root (files.c prepare_fs_pid),
    /// the executable (cr-restore.c prepare_mm → open_reg_by_id(exe_file_id)), file mappings
    /// (files-reg.c collect_filemap) and remap targets with open_reg_by_id / the REG table.
    fn want_reg(&mut self, files: &FileTable, file: &str, entry: Option<usize>, field: &str, id: u32) {
        if self.files_broken || files.regular(id).is_some() {
            return;
        }
        match files.get(id) {
            Some(f) => self.error(file, entry, field, format!("file id {id} is a {}, not a regular file", crate::explore::type_name(f.type_))),
            None => self.error(file, entry, field, format!("file id {id} is not in files.img")),
        }
    }

    /// `id` must name a directory (a task's cwd or root), or at least a path whose type the
    /// image does not record.
    fn want_dir(&mut self, files: &FileTable, file: &str, entry: Option<usize>, field: &str, id: u32) {
        self.want_reg(files, file, entry, field, id);
        if let Some(r) = files.regular(id).filter(|r| r.mode.is_some() && !r.is_dir()) {
            let path = String::from_utf8_lossy(&r.path);
            self.error(file, entry, field, format!("file id {id} ({path}) is not a directory, and a task's {} must be one", if field == "cwd_id" { "cwd" } else { "root" }));
        }
    }

    /// VMAs: sorted, disjoint, page-aligned; their files and shared memory exist; guard regions
    /// last and inside mappings. Returns the mappings' `[start, end)` ranges, sorted.
    ///
    /// Order: restore walks the VMAs in image order as a sorted list (prepare_mm_pid reads
    /// them in order; the restorer maps them one after another and the search for a free area
    /// in cr-restore.c assumes ascending, disjoint entries), so mappings must ascend without
    /// overlap. The vsyscall page (0xffffffffff600000) is simply the highest mapping. After the
    /// mappings come the synthetic guard entries of CRIU 4.2 (VMA_AREA_GUARD, appended by
    /// collect_madv_guards): restore stops its walks at the first of them and re-installs each
    /// with madvise(MADV_GUARD_INSTALL), which needs the range to be mapped.
    fn vmas(&mut self, name: &str, vmas: &[crate::model::Vma], files: &FileTable) -> Vec<(u64, u64)> {
        let mut ranges = Vec::with_capacity(vmas.len());
        let mut guards: Vec<(usize, u64, u64)> = Vec::new();
        let mut prev_end = 0u64;
        for (k, v) in vmas.iter().enumerate() {
            let (start, end) = (v.start, v.end);
            let field = |f: &str| format!("vmas[{k}].{f}");
            if v.status.contains(VmaStatus::GUARD) {
                if start >= end || start % PAGE_SIZE != 0 || end % PAGE_SIZE != 0 {
                    self.error(name, Some(0), &field("end"), format!("guard region {start:#x}-{end:#x} is empty, inverted or not page-aligned"));
                } else {
                    guards.push((k, start, end));
                }
                continue;
            }
            if let Some(&(g, _, _)) = guards.first() {
                self.error(
                    name,
                    Some(0),
                    &field("start"),
                    format!("VMA {start:#x}-{end:#x} comes after guard region vmas[{g}]: CRIU lists guard regions after every mapping, and restore stops at the first"),
                );
            }
            // mem.c/restorer: a mapping is mmap()ed at start for end - start bytes, page-granular.
            if start >= end {
                self.error(name, Some(0), &field("end"), format!("VMA {start:#x}-{end:#x} is empty or inverted"));
                continue;
            }
            if start % PAGE_SIZE != 0 || end % PAGE_SIZE != 0 {
                self.error(name, Some(0), &field("start"), format!("VMA {start:#x}-{end:#x} is not page-aligned"));
            }
            if k > 0 && start < prev_end {
                self.error(name, Some(0), &field("start"), format!("VMA {start:#x}-{end:#x} overlaps or precedes the previous one (ending at {prev_end:#x})"));
            }
            prev_end = prev_end.max(end);
            ranges.push((start, end));
            // What backs the mapping must be in the checkpoint: shmem.c collect_shmem /
            // restore_shmem_content (anonymous shared, memfd: pagemap-shmem-<shmid>), ipc_ns.c
            // (SysV: ipcns-shm), files-reg.c collect_filemap (file mappings: a REG entry).
            let (st, shmid) = (v.status, v.shmid);
            if st.contains(VmaStatus::MEMFD) {
                // shmid is the memfd file's id; its inode names the shared-memory pagemap.
                let id = u32::try_from(shmid).unwrap_or(u32::MAX);
                match files.get(id).map(|f| &f.kind) {
                    _ if self.files_broken => {}
                    Some(FileKind::Memfd(m)) => {
                        if let Some(sh) = self.memfd.get(&u64::from(m.inode_id)).map(|i| i.shmid) {
                            self.want_shmem_pagemap(name, Some(0), &field("shmid"), u64::from(sh), "memfd mapping");
                        }
                    }
                    _ => self.error(name, Some(0), &field("shmid"), format!("memfd mapping: file id {shmid} is not a memfd in files.img")),
                }
            } else if st.contains(VmaStatus::SYSVIPC) {
                if !self.sysv.contains_key(&shmid) {
                    self.warning(name, Some(0), &field("shmid"), format!("SysV shared memory {shmid} is in no ipcns-shm image"));
                }
            } else if st.contains(VmaStatus::ANON_SHARED) {
                self.want_shmem_pagemap(name, Some(0), &field("shmid"), shmid, "shared anonymous mapping");
            } else if st.intersects(VmaStatus::FILE_PRIVATE | VmaStatus::FILE_SHARED) {
                let id = u32::try_from(shmid).unwrap_or(u32::MAX);
                self.want_reg(files, name, Some(0), &field("shmid"), id);
            }
        }
        ranges.sort_unstable();
        let mut vi = 0;
        let mut prev_guard = 0u64;
        for (k, start, end) in guards {
            let field = format!("vmas[{k}].start");
            if start < prev_guard {
                self.error(name, Some(0), &field, format!("guard region {start:#x}-{end:#x} overlaps or precedes the previous one (ending at {prev_guard:#x})"));
            }
            prev_guard = prev_guard.max(end);
            if let Some((a, b)) = outside(&ranges, &mut vi, start, end) {
                self.error(name, Some(0), &field, format!("guard region {start:#x}-{end:#x}: {a:#x}-{b:#x} is in no mapping, and MADV_GUARD_INSTALL fails there"));
            }
        }
        ranges
    }

    fn want_shmem_pagemap(&mut self, file: &str, entry: Option<usize>, field: &str, shmid: u64, what: &str) {
        let pm = files::PAGEMAP_SHMEM.name(shmid);
        if !self.ckpt.contains(&pm) {
            self.error(file, entry, field, format!("{what}: shared memory {shmid} has no {pm}"));
        }
        self.referenced.insert(pm);
    }

    /// SysV shm segments of every ipcns-shm image: id → (file, entry, size, in_pagemaps).
    fn sysv_segments(&self) -> BTreeMap<u64, (String, usize, u64, bool)> {
        let mut out = BTreeMap::new();
        for name in self.ckpt.names() {
            if kind_by_name(name) != Some(Kind::IpcnsShm) {
                continue;
            }
            if let Ok(Some(img)) = typed_image(self.ckpt, name, Kind::IpcnsShm) {
                for e in img.entries().flatten() {
                    let s = view::IpcShmEntry::trusted(e.message);
                    out.entry(u64::from(s.desc().id())).or_insert((name.to_string(), e.index, s.size(), s.in_pagemaps() == Some(true)));
                }
            }
        }
        out
    }

    /// A pagemap's entries: sorted, disjoint, page-aligned, inside `bounds`; the pages file's size;
    /// `PE_PARENT` pages in the parent. pagemap.c's page_read walks the entries forward
    /// (advance/seek_pagemap assume ascending, disjoint runs) and reads each PE_PRESENT run from
    /// the pages file in order, so the file holds exactly their pages; mem.c
    /// restore_priv_vma_content places each page inside its VMA; a PE_PARENT run is read from
    /// the parent image (pagemap.c try_open_parent, "No parent for snapshot pagemap").
    fn pagemap(&mut self, name: &str, pm: &PageIndex, bounds: Bounds<'_>) {
        let mut prev: Option<(usize, u64)> = None;
        let mut vi = 0usize;
        for r in pm.entries() {
            let (i, vaddr, end, n, flags) = (r.entry, r.start, r.end, r.nr_pages, r.flags);
            if vaddr % PAGE_SIZE != 0 {
                self.error(name, Some(i), "vaddr", format!("{vaddr:#x} is not page-aligned"));
            }
            if n == 0 {
                self.warning(name, Some(i), "nr_pages", "an entry of no pages".into());
            }
            if let Some((pi, pend)) = prev.filter(|&(_, pend)| vaddr < pend) {
                self.error(name, Some(i), "vaddr", format!("pages {vaddr:#x}-{end:#x} overlap or precede entry {pi}, which ends at {pend:#x}"));
            }
            prev = Some((i, end.max(prev.map_or(0, |p| p.1))));
            if flags & PE_PRESENT != 0 && flags & PE_PARENT != 0 {
                self.warning(name, Some(i), "flags", "both PE_PRESENT and PE_PARENT".into());
            }
            match bounds {
                Bounds::Vmas(vmas) => {
                    if let Some((a, b)) = outside(vmas, &mut vi, vaddr, end) {
                        self.error(name, Some(i), "vaddr", format!("pages {a:#x}-{b:#x} are outside every VMA of the task's mm image"));
                    }
                }
                Bounds::Size(size) => {
                    let limit = size.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
                    if end > limit {
                        self.warning(name, Some(i), "vaddr", format!("pages {vaddr:#x}-{end:#x} run past the end of the shared memory ({size} bytes)"));
                    }
                }
                Bounds::Unknown => {}
            }
            if flags & PE_PARENT != 0 && n > 0 {
                self.parent_pages(name, pm, i, vaddr, end);
            }
        }
        let present = pm.present_pages();
        let pages = pm.pages.clone();
        self.referenced.insert(pages.clone());
        let want = present.saturating_mul(PAGE_SIZE);
        match self.ckpt.file_len(&pages) {
            None if present > 0 => self.error(name, Some(0), "pages_id", format!("{pages} is missing; {present} pages are PE_PRESENT")),
            None => {}
            Some(len) if len != want => self.error(
                &pages,
                None,
                "",
                format!("holds {len} bytes; the PE_PRESENT entries of {name} need {want} ({present} pages of {PAGE_SIZE})"),
            ),
            Some(_) => {}
        }
    }

    /// `PE_PARENT` pages `[start, end)` of pagemap `name` entry `i` must be in the parent chain
    /// (CRIU's restore reads them from `--prev-images-dir`'s images: `read_parent_page`). A
    /// parent that is missing altogether is one diagnostic, not one per entry.
    fn parent_pages(&mut self, name: &str, pm: &PageIndex, i: usize, start: u64, end: u64) {
        let missing = |c: &Self| match c.ckpt.parents().problem() {
            Some(p) if c.ckpt.parents().levels().is_empty() => Some(format!("its `parent` cannot be used ({p})")),
            None if c.ckpt.parents().levels().is_empty() => Some("there is no `parent` link to the previous dump".to_string()),
            _ => None,
        };
        if !self.opts.follow_parents {
            if !self.parent_reported && self.ckpt.parent_link().is_none() {
                self.parent_reported = true;
                self.warning(name, Some(i), "flags", "PE_PARENT pages are in a parent checkpoint, and there is no `parent` link (not followed: --no-parent)".into());
            }
            return;
        }
        if let Some(why) = missing(self) {
            if !self.parent_reported {
                self.parent_reported = true;
                self.error(
                    name,
                    Some(i),
                    "flags",
                    format!("PE_PARENT pages {start:#x}-{end:#x} (and every other PE_PARENT entry) are in the parent checkpoint, but {why}"),
                );
            }
            return;
        }
        if let Err((a, b, why)) = pm.covers(start, end) {
            let msg = match why {
                Unreadable::NotInParent { pagemap, depth } => {
                    // Named by the links that lead there, as the user laid them out.
                    let path = (0..depth).fold(self.ckpt.path.clone(), |p, _| p.join("parent"));
                    format!("{a:#x}-{b:#x} are not in {}/{pagemap}", path.display())
                }
                other => format!("{a:#x}-{b:#x}: {other}"),
            };
            self.error(name, Some(i), "flags", format!("PE_PARENT pages {start:#x}-{end:#x}: {msg}"));
        }
    }

    /// Shared memory that is not a task's: memfd inodes and SysV segments kept in pagemaps.
    /// memfd.c restores a non-empty inode's contents from pagemap-shmem-<shmid>.img
    /// (restore_memfd_shmem_content); ipc_ns.c prepare_ipc_shm_pages reads a segment's pages
    /// from its pagemap when ipcns-shm says in_pagemaps, and bounds them by its size.
    fn shared_memory(&mut self) {
        let mut inodes: Vec<_> = self.memfd.values().map(|i| (i.entry, i.shmid, i.size)).collect();
        inodes.sort();
        let mut sizes: HashMap<u64, u64> = HashMap::new();
        for (i, shmid, size) in inodes {
            self.referenced.insert("memfd.img".into());
            sizes.insert(u64::from(shmid), size);
            if size > 0 {
                self.want_shmem_pagemap("memfd.img", Some(i), "shmid", u64::from(shmid), "memfd");
            }
        }
        for (id, (file, i, size, in_pagemaps)) in self.sysv.clone() {
            sizes.insert(id, size);
            if in_pagemaps {
                self.want_shmem_pagemap(&file, Some(i), "desc.id", id, "SysV shared memory");
            }
        }
        // Every shared-memory pagemap, checked like a task's (bounded by the segment size when
        // known: anonymous shared mappings are bounded by their VMAs, which may be several).
        let names: Vec<String> = self.ckpt.names().filter(|n| files::PAGEMAP_SHMEM.matches(n)).map(str::to_string).collect();
        for name in names {
            let Some(shmid) = files::PAGEMAP_SHMEM.id(&name) else { continue };
            // Restore reads pagemap-shmem-<shmid>.img only for the shared memory it restores
            // (shmem.c, restore_shmem_content and friends): one nothing refers to is ignored, and
            // so is the pages file it names; orphans() notices it.
            if !self.referenced.contains(&name) {
                continue;
            }
            // An unreadable one was reported in pass 1.
            if let Ok(Some(pm)) = self.ckpt.shmem_pagemap(shmid) {
                let bounds = sizes.get(&shmid).map_or(Bounds::Unknown, |&s| Bounds::Size(s));
                self.pagemap(&name, pm, bounds);
            }
        }
    }

    /// files-reg.c collect_remaps_and_regfiles: each remap names a REG file (orig_id), a linked
    /// remap another REG file, and a ghost remap its ghost-file-<id>.img (open_remap_ghost opens
    /// it).
    fn remaps(&mut self, files: &FileTable) {
        const R: &str = "remap-fpath.img";
        let Ok(Some(img)) = typed_image(self.ckpt, R, Kind::RemapFpath) else { return };
        self.referenced.insert(R.into());
        for e in img.entries().flatten() {
            let r = view::RemapFilePathEntry::trusted(e.message);
            let i = Some(e.index);
            self.want_reg(files, R, i, "orig_id", r.orig_id());
            match crate::model::files::remap_of(&r, e.index) {
                Some(Remap::Ghost { ghost_id, .. }) => {
                    let ghost = files::GHOST_FILE.name(ghost_id.into());
                    if !self.ckpt.contains(&ghost) {
                        self.error(R, i, "remap_id", format!("ghost remap of file {}: {ghost} is missing", r.orig_id()));
                    }
                    self.referenced.insert(ghost);
                }
                Some(Remap::Linked { link_id, .. }) => self.want_reg(files, R, i, "remap_id", link_id),
                _ => {}
            }
        }
    }

    /// Queued data names what it belongs to: pipe and FIFO data their pipe's inode (`pipe_id`),
    /// socket packets their socket's file id (`id_for`). Data that nothing owns is silently lost
    /// on restore (pipes.c collect_pipe_data keys it by pipe_id; sk-queue.c restore_sk_queue by
    /// the socket's id).
    fn queues(&mut self, files: &FileTable) {
        // Legacy per-type images would need their own tables; a broken files.img was reported.
        if self.files_broken || self.ckpt.contains("pipes.img") || self.ckpt.contains("fifo.img") || self.ckpt.contains("unixsk.img") {
            return;
        }
        let (mut pipes, mut fifos, mut sockets) = (HashSet::new(), HashSet::new(), HashSet::new());
        for f in files.iter() {
            match &f.kind {
                FileKind::Pipe { pipe_id, .. } => {
                    pipes.insert(*pipe_id);
                }
                FileKind::Fifo { pipe_id, .. } => {
                    fifos.insert(*pipe_id);
                }
                FileKind::Socket(crate::model::Socket::Unix(_)) => {
                    sockets.insert(f.id);
                }
                _ => {}
            }
        }
        for (name, kind, owners, what) in
            [("pipes-data.img", Kind::PipesData, &pipes, "pipe"), ("fifo-data.img", Kind::FifoData, &fifos, "FIFO")]
        {
            let Ok(Some(img)) = typed_image(self.ckpt, name, kind) else { continue };
            for e in img.entries().flatten() {
                let d = view::PipeDataEntry::trusted(e.message);
                if !owners.contains(&d.pipe_id()) {
                    let msg = format!("no {what} in files.img has pipe_id {}: its {} bytes would be lost", d.pipe_id(), d.bytes());
                    self.warning(name, Some(e.index), "pipe_id", msg);
                }
            }
        }
        const Q: &str = "sk-queues.img";
        if let Ok(Some(img)) = typed_image(self.ckpt, Q, Kind::SkQueues) {
            for e in img.entries().flatten() {
                let p = view::SkPacketEntry::trusted(e.message);
                if !sockets.contains(&p.id_for()) {
                    let msg = format!("no unix socket in files.img has id {}: its {}-byte packet would be lost", p.id_for(), p.length());
                    self.warning(Q, Some(e.index), "id_for", msg);
                }
            }
        }
    }

    /// Images that no task, file or remap refers to (CRIU's restore opens images by the names
    /// the tree and the file table give; others it never reads). Per-task images of pids the tree
    /// does not list mean the tree was cut short (a truncated `pstree.img` still frames): one
    /// warning names them, instead of a notice per image.
    fn orphans(&mut self, tids: &HashSet<u32>) {
        let names: Vec<String> = self.ckpt.names().map(str::to_string).collect();
        let per_task = [files::CORE, files::IDS, files::FS, files::MM, files::PAGEMAP];
        let mut strays: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
        for name in &names {
            if !self.referenced.contains(name)
                && let Some(id) = files::CORE.id(name)
                && u32::try_from(id).is_ok_and(|n| !tids.contains(&n))
            {
                strays.insert(id);
            }
        }
        if !strays.is_empty() {
            let list: Vec<String> = strays.iter().take(8).map(u64::to_string).collect();
            let more = if strays.len() > 8 { format!(", and {} more", strays.len() - 8) } else { String::new() };
            self.warning(
                files::PSTREE.pattern(),
                None,
                "",
                format!(
                    "lists {} tasks and threads, but the checkpoint has the cores of {} more (pid {}{more}): the process tree looks cut short, and CRIU's restore would leave those tasks out",
                    tids.len(),
                    strays.len(),
                    list.join(", ")
                ),
            );
        }
        for name in names {
            if self.referenced.contains(&name) {
                continue;
            }
            let what = if let Some(id) = per_task.iter().find_map(|p| p.id(&name)) {
                match u32::try_from(id) {
                    Ok(n) if tids.contains(&n) => continue,
                    // Said once, above.
                    _ if strays.contains(&id) => continue,
                    _ => format!("{id} is not a task or thread of pstree.img"),
                }
            } else if files::PAGES.matches(&name) {
                "no pagemap refers to it".into()
            } else if files::GHOST_FILE.matches(&name) {
                "no remap in remap-fpath.img refers to it".into()
            } else if files::PAGEMAP_SHMEM.matches(&name) {
                "no mapping, memfd or SysV segment refers to it".into()
            } else if files::FDINFO.matches(&name) {
                "no task refers to it".into()
            } else {
                continue;
            };
            self.notice(&name, None, "", format!("not used: {what}; CRIU ignores it"));
        }
    }
}

/// What a pagemap's addresses must stay within.
#[derive(Clone, Copy)]
enum Bounds<'v> {
    /// A task's VMAs, sorted.
    Vmas(&'v [(u64, u64)]),
    /// A shared-memory segment of this many bytes.
    Size(u64),
    Unknown,
}

/// The first part of `[start, end)` not covered by the union of sorted `vmas`, if any. `vi` is a
/// cursor kept between calls for sorted queries.
fn outside(vmas: &[(u64, u64)], vi: &mut usize, start: u64, end: u64) -> Option<(u64, u64)> {
    if start >= end {
        return None;
    }
    if *vi > 0 && vmas.get(*vi - 1).is_some_and(|v| v.1 > start) {
        *vi = 0;
    }
    while *vi < vmas.len() && vmas[*vi].1 <= start {
        *vi += 1;
    }
    let mut at = start;
    let mut k = *vi;
    while at < end {
        match vmas.get(k) {
            Some(&(s, e)) if s <= at => {
                at = at.max(e);
                k += 1;
            }
            Some(&(s, _)) => return Some((at, s.min(end))),
            None => return Some((at, end)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_union() {
        let v = [(0x1000, 0x3000), (0x3000, 0x4000), (0x6000, 0x8000)];
        let mut vi = 0;
        assert_eq!(outside(&v, &mut vi, 0x1000, 0x4000), None);
        assert_eq!(outside(&v, &mut vi, 0x3000, 0x5000), Some((0x4000, 0x5000)));
        assert_eq!(outside(&v, &mut vi, 0x5000, 0x7000), Some((0x5000, 0x6000)));
        assert_eq!(outside(&v, &mut vi, 0x7000, 0x9000), Some((0x8000, 0x9000)));
        // An out-of-order query restarts the cursor.
        assert_eq!(outside(&v, &mut vi, 0x0, 0x1000), Some((0x0, 0x1000)));
        assert_eq!(outside(&v, &mut vi, 0x1000, 0x2000), None);
    }

    #[test]
    fn diagnostic_text() {
        let d = Diagnostic { severity: Severity::Error, file: "a.img".into(), entry: Some(3), field: "vaddr".into(), message: "m".into() };
        assert_eq!(d.to_string(), "error: a.img entry 3 vaddr: m");
    }
}
