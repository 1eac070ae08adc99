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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use criu_image_proto::schema::enums::{FdTypes, RemapType};
pub use criu_image_proto::support::fields::Severity;
use criu_image_proto::view;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::explore::{self, Index, PAGE_SIZE, PE_PARENT, PE_PRESENT, nr_pages, pages_end, pe_flags, vma_status};
use crate::image::{self, Head, Image, Kind, Role, kind_by_name, raw_kind_by_name};

/// One finding: how bad, where (file, entry index as in crit's JSON `entries[i]`, field path
/// inside the entry), and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub entry: Option<usize>,
    /// Field path inside the entry, e.g. `vmas[3].shmid`; empty for the whole entry or file.
    pub field: String,
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
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    pub fn count(&self, s: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == s).count()
    }
    /// No errors and no warnings (notices are allowed).
    pub fn is_clean(&self) -> bool {
        self.diagnostics.iter().all(|d| d.severity == Severity::Notice)
    }
}

/// How far [`check`] goes.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Follow `parent` links to check `PE_PARENT` pages (a chain of pre-dumps).
    pub follow_parents: bool,
    /// The longest chain of parents followed.
    pub max_parent_depth: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { follow_parents: true, max_parent_depth: 64 }
    }
}

/// `task_state` values that mean the task has an address space and files to restore.
const TASK_ALIVE: u32 = 1;
const TASK_STOPPED: u32 = 3;
/// `remap_id` bit that meant "ghost" before `remap_type` existed.
const REMAP_GHOST_BIT: u32 = 1 << 31;

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
        parents: None,
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
    /// The parent chain, opened on first need: checkpoints, or why the next one cannot be opened.
    parents: Option<ParentChain>,
    /// memfd.img's inodes by inode id: (entry index, shmid, size).
    memfd: HashMap<u64, (usize, u32, u64)>,
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
        self.memfd = self.memfd_inodes();
        self.sysv = self.sysv_segments();
        let index = match Index::new(self.ckpt) {
            Ok(i) => i,
            Err(CheckpointError::Missing { .. }) => {
                self.error("pstree.img", None, "", "missing: a checkpoint without its process tree cannot be restored".into());
                return;
            }
            // Pass 1 already reported why pstree.img does not read.
            Err(_) => return,
        };
        self.referenced.insert("pstree.img".into());
        self.referenced.insert("inventory.img".into());
        let empty = explore::Files::default();
        let files = match index.files() {
            Ok(f) => f,
            Err(_) => {
                // Pass 1 reported why; without the file table every reference would look
                // dangling, so those checks are skipped rather than drowned in noise.
                self.files_broken = true;
                &empty
            }
        };
        self.files_table(files);
        self.tasks(&index, files);
        self.shared_memory(files);
        self.remaps(files);
        self.queues(files);
        self.orphans(&index);
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
            // These are read with pb_read_one: an empty one fails ("Unexpected EOF"), and
            // entries after the first are never read.
            let single = matches!(img.kind, Kind::Inventory | Kind::Core | Kind::Mm | Kind::Ids | Kind::Fs);
            if n == 0 && single && !broken {
                self.error(name, None, "", "has no entry".into());
            } else if n > 1 && single {
                self.warning(name, Some(1), "", format!("{n} entries where CRIU writes and reads one"));
            }
        }
    }

    fn files_table(&mut self, files: &explore::Files<'_>) {
        // Restore collects files.img into one table keyed by type and id (collect_one_file,
        // find_file_desc_raw): a second entry of the same type and id makes the lookup ambiguous.
        // One id under two types is how CRIU writes TUN files (below).
        for &(i, id) in &files.duplicates {
            let first = files.by_id.get(&id).map_or(0, |f| f.0);
            self.error("files.img", Some(i), "id", format!("id {id} is already used by entry {first} of the same type"));
        }
        // A TUN file is opened through the REG entry of its own id (tun.c: dump_tunfile writes
        // it with dump_one_reg_file, tunfile_open opens it with open_reg_by_id).
        let mut tun: Vec<(usize, u32)> = files.by_id.values().chain(files.same_id_other_type.iter()).filter(|(_, f)| f.type_() == FdTypes::TUNF).map(|(i, f)| (*i, f.id())).collect();
        tun.sort_unstable();
        for (i, id) in tun {
            if files.get_typed(FdTypes::REG, id).is_none() {
                self.error("files.img", Some(i), "id", format!("TUN file {id} has no REG entry of the same id: CRIU opens the device through it"));
            }
        }
        // memfd files point at memfd.img inodes (memfd.c: memfd_open_inode looks the inode up by id
        // among those collected from memfd.img).
        let inodes = &self.memfd;
        let mut bad = Vec::new();
        let mut by_id: Vec<_> = files.by_id.values().collect();
        by_id.sort_by_key(|(i, _)| *i);
        for (i, f) in by_id {
            if let Some(m) = f.memfd().filter(|m| !inodes.contains_key(&u64::from(m.inode_id()))) {
                bad.push((*i, m.inode_id()));
            }
        }
        for (i, inode) in bad {
            self.error("files.img", Some(i), "memfd.inode_id", format!("memfd inode {inode} is not in memfd.img"));
        }
    }

    /// memfd.img's inodes by id: (entry index, shmid, size).
    fn memfd_inodes(&self) -> HashMap<u64, (usize, u32, u64)> {
        let mut out = HashMap::new();
        if let Ok(Some(img)) = explore::typed_image(self.ckpt, "memfd.img", Kind::MemfdInode) {
            for e in img.entries().flatten() {
                let m = view::MemfdInodeEntry::trusted(e.message);
                out.entry(m.inode_id()).or_insert((e.index, m.shmid(), m.size()));
            }
        }
        out
    }

    fn tasks(&mut self, index: &Index<'_>, files: &explore::Files<'_>) {
        const P: &str = "pstree.img";
        let tasks = index.tasks();
        let mut seen: HashMap<u32, usize> = HashMap::new();
        let mut tids: HashMap<u32, usize> = HashMap::new();
        // pstree.c read_pstree_image: exactly one task with ppid 0 ("Parent missed on non-root
        // task"), every other's parent earlier in the tree ("Can't find a parent"), each pid
        // once (lookup_create_item finds the second one already set up).
        let roots: Vec<_> = tasks.iter().filter(|t| t.ppid == 0).collect();
        if tasks.is_empty() {
            self.error(P, None, "", "has no task".into());
        } else if roots.is_empty() {
            self.error(P, None, "", "no root task (one with ppid 0)".into());
        } else if roots.len() > 1 {
            let pids: Vec<String> = roots.iter().map(|t| t.pid.to_string()).collect();
            self.error(P, Some(roots[1].entry), "ppid", format!("several root tasks (ppid 0): {}", pids.join(", ")));
        }
        let mut fdinfo_done = HashSet::new();
        for t in tasks {
            if let Some(first) = seen.insert(t.pid, t.entry) {
                self.error(P, Some(t.entry), "pid", format!("pid {} is already entry {first}", t.pid));
                continue;
            }
            if t.ppid != 0 && index.task(t.ppid).is_none() {
                self.error(P, Some(t.entry), "ppid", format!("parent {} of task {} is not in the tree", t.ppid, t.pid));
            }
            // A zombie is its core and nothing else: CRIU's dump_one_zombie writes core-<pid>.img
            // with task_state TASK_DEAD and no other image; its pstree `threads` hold whatever
            // the seize left there (0, or stack garbage), because read_pstree_image never looks
            // threads[0] up and restore_one_zombie opens only core-<pid>.img. CRIU refuses to
            // dump a zombie with threads (seize.c), so a second entry would be a thread that
            // restore waits for and never creates.
            if index.is_zombie(t.pid) {
                self.referenced.insert(format!("core-{}.img", t.pid));
                if t.threads.len() > 1 {
                    let msg = format!("zombie task {} lists {} threads; CRIU writes one, and restore would wait for the others", t.pid, t.threads.len());
                    self.warning(P, Some(t.entry), "threads", msg);
                }
                continue;
            }
            // Live tasks: read_pstree_image takes threads[0] to be the task itself, and
            // open_cores reads core-<tid>.img for every other thread.
            if t.threads.is_empty() {
                self.warning(P, Some(t.entry), "threads", format!("task {} lists no threads (CRIU lists at least the task itself)", t.pid));
            } else if !t.threads.contains(&t.pid) {
                self.warning(P, Some(t.entry), "threads", format!("task {} is not among its own threads", t.pid));
            }
            let mut state = None;
            for (j, &tid) in t.threads.iter().enumerate() {
                let field = format!("threads[{j}]");
                if let Some(other) = tids.insert(tid, t.entry) {
                    self.error(P, Some(t.entry), &field, format!("thread {tid} is already a thread of entry {other}"));
                }
                let name = format!("core-{tid}.img");
                match index.core(tid) {
                    Ok(Some(core)) => {
                        self.referenced.insert(name.clone());
                        // cr-restore.c check_core: a task's core must have its task core.
                        if tid == t.pid {
                            match core.tc() {
                                Some(tc) => state = Some(tc.task_state()),
                                None => self.error(&name, Some(0), "tc", "the main thread's core has no task core (tc)".into()),
                            }
                        }
                    }
                    // An empty core image: pass 1 said so.
                    Ok(None) if ckpt_has(index, &name) => {
                        self.referenced.insert(name);
                    }
                    Ok(None) => self.error(P, Some(t.entry), &field, format!("thread {tid} of task {} has no {name}", t.pid)),
                    Err(_) => {
                        self.referenced.insert(name);
                    } // pass 1
                }
            }
            if !t.threads.contains(&t.pid) {
                // The main thread's core is still needed.
                let name = format!("core-{}.img", t.pid);
                if !ckpt_has(index, &name) {
                    self.error(P, Some(t.entry), "pid", format!("task {} has no {name}", t.pid));
                } else {
                    self.referenced.insert(name);
                }
            }
            let live = matches!(state, Some(TASK_ALIVE | TASK_STOPPED));
            self.task_images(index, files, t, live, &mut fdinfo_done);
        }
    }

    /// A task's own images. A live task (TASK_ALIVE or TASK_STOPPED) needs its ids
    /// (pstree.c read_pstree_ids; cr-restore.c check_core: "Core IDS data missed for
    /// non-zombie"), fs (files.c prepare_fs_pid), mm (mem.c prepare_mm_pid) and pagemap
    /// (mem.c restore_priv_vma_content through open_page_read); its fdinfo image may be absent,
    /// as CRIU deletes images it wrote nothing into and restore reads a missing one as empty.
    fn task_images(&mut self, index: &Index<'_>, files: &explore::Files<'_>, t: &explore::Task, live: bool, fdinfo_done: &mut HashSet<String>) {
        let pid = t.pid;
        let need = |c: &mut Self, name: &str, what: &str| {
            if live {
                c.error("pstree.img", Some(t.entry), "pid", format!("task {pid} is alive but has no {name} ({what})"));
            }
        };
        // ids → fdinfo → files
        let ids_name = format!("ids-{pid}.img");
        let ids = match index.ids(pid) {
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
        let fdinfo = index.fdinfo_name(pid, ids.as_ref());
        if (ids.is_some() || !live) && fdinfo_done.insert(fdinfo.clone()) {
            match index.fdinfo(&fdinfo) {
                Ok(Some(fds)) => {
                    self.referenced.insert(fdinfo.clone());
                    self.fds(&fdinfo, &fds, files);
                }
                Ok(None) if live => self.notice(&ids_name, Some(0), "files_id", format!("no {fdinfo}: task {pid} has no open files")),
                _ => {}
            }
        } else {
            self.referenced.insert(fdinfo);
        }
        // fs
        let fs_name = format!("fs-{pid}.img");
        match index.fs(pid) {
            Ok(Some(fs)) => {
                self.referenced.insert(fs_name.clone());
                for (field, id) in [("cwd_id", fs.cwd_id()), ("root_id", fs.root_id())] {
                    self.want_reg(files, &fs_name, Some(0), field, id);
                }
            }
            Ok(None) => need(self, &fs_name, "its cwd and root"),
            Err(_) => {}
        }
        // mm and pagemap
        let mm_name = format!("mm-{pid}.img");
        let vmas = match index.mm(pid) {
            Ok(Some(mm)) => {
                self.referenced.insert(mm_name.clone());
                self.want_reg(files, &mm_name, Some(0), "exe_file_id", mm.exe_file_id());
                Some(self.vmas(&mm_name, &mm, files))
            }
            Ok(None) => {
                need(self, &mm_name, "its memory map");
                None
            }
            Err(_) => None,
        };
        let pm_name = format!("pagemap-{pid}.img");
        match explore::read_pagemap(self.ckpt, &pm_name) {
            Ok(Some(pm)) => {
                self.referenced.insert(pm_name.clone());
                self.pagemap(&pm_name, &pm, vmas.as_deref().map(Bounds::Vmas).unwrap_or(Bounds::Unknown));
            }
            Ok(None) => need(self, &pm_name, "its memory contents"),
            Err(_) => {}
        }
    }

    /// fdinfo entries: each fd number once per table (restore installs every entry's file at
    /// its fd number, so a second one would take the first one's place), each naming a file of
    /// its type (files.c collect_fd → find_file_desc: "No file for fd").
    fn fds(&mut self, name: &str, fds: &[view::FdinfoEntry<'_>], files: &explore::Files<'_>) {
        let mut seen = HashMap::new();
        for (i, e) in fds.iter().enumerate() {
            if let Some(first) = seen.insert(e.fd(), i) {
                self.error(name, Some(i), "fd", format!("fd {} is already entry {first}", e.fd()));
            }
            if self.files_broken {
                continue;
            }
            // The fd names its file by type and id (find_file_desc): an id repeated under another
            // type (TUN files) is found by the type.
            match files.get_typed(e.type_(), e.id()).or_else(|| files.get(e.id())) {
                Some(f) if f.type_() == e.type_() => {}
                Some(f) => self.error(
                    name,
                    Some(i),
                    "type",
                    format!(
                        "fd {}: file id {} is a {} in files.img, the fd says {}",
                        e.fd(),
                        e.id(),
                        explore::type_name(f.type_()),
                        explore::type_name(e.type_())
                    ),
                ),
                None if files.contains(e.id()) => {}
                None => self.error(
                    name,
                    Some(i),
                    "id",
                    format!("fd {}: file id {} ({}) is not in files.img", e.fd(), e.id(), explore::type_name(e.type_())),
                ),
            }
        }
    }

    /// `id` must name a regular file: restore opens cwd and root (files.c prepare_fs_pid),
    /// the executable (cr-restore.c prepare_mm → open_reg_by_id(exe_file_id)), file mappings
    /// (files-reg.c collect_filemap) and remap targets with open_reg_by_id / the REG table.
    fn want_reg(&mut self, files: &explore::Files<'_>, file: &str, entry: Option<usize>, field: &str, id: u32) {
        if self.files_broken || files.reg(id).is_some() {
            return;
        }
        match files.get(id) {
            Some(f) => self.error(file, entry, field, format!("file id {id} is a {}, not a regular file", explore::type_name(f.type_()))),
            None => self.error(file, entry, field, format!("file id {id} is not in files.img")),
        }
    }

    /// VMAs: sorted, disjoint, page-aligned; their files and shared memory exist; guard regions
    /// last and inside mappings. Returns the mappings' `[start, end)` ranges.
    ///
    /// Order: restore walks the VMAs in image order as a sorted list (prepare_mm_pid reads
    /// them in order; the restorer maps them one after another and the search for a free area
    /// in cr-restore.c assumes ascending, disjoint entries), so mappings must ascend without
    /// overlap. The vsyscall page (0xffffffffff600000) is simply the highest mapping. After the
    /// mappings come the synthetic guard entries of CRIU 4.2 (VMA_AREA_GUARD, appended by
    /// collect_madv_guards): restore stops its walks at the first of them and re-installs each
    /// with madvise(MADV_GUARD_INSTALL), which needs the range to be mapped.
    fn vmas(&mut self, name: &str, mm: &view::MmEntry<'_>, files: &explore::Files<'_>) -> Vec<(u64, u64)> {
        let mut ranges = Vec::with_capacity(mm.vmas().len());
        let mut guards: Vec<(usize, u64, u64)> = Vec::new();
        let mut prev_end = 0u64;
        for (k, v) in mm.vmas().into_iter().enumerate() {
            let (start, end) = (v.start(), v.end());
            let field = |f: &str| format!("vmas[{k}].{f}");
            if v.status() & vma_status::GUARD != 0 {
                if start >= end || start % PAGE_SIZE != 0 || end % PAGE_SIZE != 0 {
                    self.error(name, Some(0), &field("end"), format!("guard region {start:#x}-{end:#x} is empty, inverted or not page-aligned"));
                } else {
                    guards.push((k, start, end));
                }
                continue;
            }
            if let Some(&(g, _, _)) = guards.first() {
                self.error(name, Some(0), &field("start"), format!("VMA {start:#x}-{end:#x} comes after guard region vmas[{g}]: CRIU lists guard regions after every mapping, and restore stops at the first"));
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
            let st = v.status();
            let shmid = v.shmid();
            if st & vma_status::MEMFD != 0 {
                // shmid is the memfd file's id; its inode names the shared-memory pagemap.
                let id = u32::try_from(shmid).unwrap_or(u32::MAX);
                match files.get(id).and_then(|f| f.memfd()) {
                    _ if self.files_broken => {}
                    Some(m) => {
                        if let Some(&(_, sh, _)) = self.memfd.get(&u64::from(m.inode_id())) {
                            self.want_shmem_pagemap(name, Some(0), &field("shmid"), u64::from(sh), "memfd mapping");
                        }
                    }
                    None => self.error(name, Some(0), &field("shmid"), format!("memfd mapping: file id {shmid} is not a memfd in files.img")),
                }
            } else if st & vma_status::SYSVIPC != 0 {
                if !self.sysv.contains_key(&shmid) {
                    self.warning(name, Some(0), &field("shmid"), format!("SysV shared memory {shmid} is in no ipcns-shm image"));
                }
            } else if st & vma_status::ANON_SHARED != 0 {
                self.want_shmem_pagemap(name, Some(0), &field("shmid"), shmid, "shared anonymous mapping");
            } else if st & (vma_status::FILE_PRIVATE | vma_status::FILE_SHARED) != 0 {
                let id = u32::try_from(shmid).unwrap_or(u32::MAX);
                self.want_reg(files, name, Some(0), &field("shmid"), id);
            }
        }
        let mut vi = 0;
        let mut prev_guard = 0u64;
        for (k, start, end) in guards {
            if start < prev_guard {
                self.error(name, Some(0), &format!("vmas[{k}].start"), format!("guard region {start:#x}-{end:#x} overlaps or precedes the previous one (ending at {prev_guard:#x})"));
            }
            prev_guard = prev_guard.max(end);
            if let Some((a, b)) = outside(&ranges, &mut vi, start, end) {
                self.error(name, Some(0), &format!("vmas[{k}].start"), format!("guard region {start:#x}-{end:#x}: {a:#x}-{b:#x} is in no mapping, and MADV_GUARD_INSTALL fails there"));
            }
        }
        ranges
    }

    fn want_shmem_pagemap(&mut self, file: &str, entry: Option<usize>, field: &str, shmid: u64, what: &str) {
        let pm = format!("pagemap-shmem-{shmid}.img");
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
            if let Ok(Some(img)) = explore::typed_image(self.ckpt, name, Kind::IpcnsShm) {
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
    fn pagemap(&mut self, name: &str, pm: &explore::Pagemap<'_>, bounds: Bounds<'_>) {
        let mut present = 0u64;
        let mut prev: Option<(usize, u64)> = None;
        let mut vi = 0usize;
        for &(i, ref e) in &pm.entries {
            let vaddr = e.vaddr();
            let n = nr_pages(e);
            let end = pages_end(vaddr, n);
            let flags = pe_flags(e);
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
            if flags & PE_PRESENT != 0 {
                present = present.saturating_add(n);
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
                self.parent_pages(name, i, vaddr, end);
            }
        }
        let pages = format!("pages-{}.img", pm.head.pages_id());
        self.referenced.insert(pages.clone());
        let want = present.saturating_mul(PAGE_SIZE);
        match self.ckpt.file_len(&pages) {
            None if present > 0 => self.error(
                name,
                Some(0),
                "pages_id",
                format!("{pages} is missing; {present} pages are PE_PRESENT"),
            ),
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

    /// `PE_PARENT` pages `[start, end)` of pagemap `name` entry `i` must be in the parent chain.
    fn parent_pages(&mut self, name: &str, i: usize, start: u64, end: u64) {
        if !self.opts.follow_parents {
            return;
        }
        let chain = self.parents.get_or_insert_with(|| ParentChain::open(self.ckpt, self.opts.max_parent_depth));
        if chain.levels.is_empty() {
            let why = chain.broken.clone().unwrap_or_else(|| "there is no `parent` directory".into());
            self.error(name, Some(i), "flags", format!("PE_PARENT pages {start:#x}-{end:#x} are in the parent checkpoint, but {why}"));
            return;
        }
        if let Err(msg) = chain.covers(0, name, start, end) {
            self.error(name, Some(i), "flags", format!("PE_PARENT pages {start:#x}-{end:#x}: {msg}"));
        }
    }

    /// Shared memory that is not a task's: memfd inodes and SysV segments kept in pagemaps.
    /// memfd.c restores a non-empty inode's contents from pagemap-shmem-<shmid>.img
    /// (restore_memfd_shmem_content); ipc_ns.c prepare_ipc_shm_pages reads a segment's pages
    /// from its pagemap when ipcns-shm says in_pagemaps, and bounds them by its size.
    fn shared_memory(&mut self, files: &explore::Files<'_>) {
        let _ = files;
        let mut inodes: Vec<_> = self.memfd.values().copied().collect();
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
        let names: Vec<String> = self.ckpt.names().filter(|n| n.starts_with("pagemap-shmem-")).map(str::to_string).collect();
        for name in names {
            // Restore reads pagemap-shmem-<shmid>.img only for the shared memory it restores
            // (shmem.c, restore_shmem_content and friends): one nothing refers to is ignored, and
            // so is the pages file it names; orphans() notices it.
            if !self.referenced.contains(&name) {
                continue;
            }
            let shmid = name.strip_prefix("pagemap-shmem-").and_then(|r| r.strip_suffix(".img")).and_then(|s| s.parse::<u64>().ok());
            // An unreadable one was reported in pass 1.
            if let Ok(Some(pm)) = explore::read_pagemap(self.ckpt, &name) {
                let bounds = shmid.and_then(|s| sizes.get(&s)).map_or(Bounds::Unknown, |&s| Bounds::Size(s));
                self.pagemap(&name, &pm, bounds);
            }
        }
    }

    /// files-reg.c collect_remaps_and_regfiles: each remap names a REG file (orig_id), a linked remap another
    /// REG file, and a ghost remap its ghost-file-<id>.img (open_remap_ghost opens it).
    fn remaps(&mut self, files: &explore::Files<'_>) {
        const R: &str = "remap-fpath.img";
        let Ok(Some(img)) = explore::typed_image(self.ckpt, R, Kind::RemapFpath) else { return };
        self.referenced.insert(R.into());
        for e in img.entries().flatten() {
            let r = view::RemapFilePathEntry::trusted(e.message);
            let i = Some(e.index);
            self.want_reg(files, R, i, "orig_id", r.orig_id());
            let (ty, id) = match r.remap_type() {
                Some(t) => (t, r.remap_id()),
                // Before remap_type, the top bit of remap_id said "ghost".
                None if r.remap_id() & REMAP_GHOST_BIT != 0 => (RemapType::GHOST, r.remap_id() & !REMAP_GHOST_BIT),
                None => (RemapType::LINKED, r.remap_id()),
            };
            match ty {
                RemapType::GHOST => {
                    let ghost = format!("ghost-file-{id:x}.img");
                    if !self.ckpt.contains(&ghost) {
                        self.error(R, i, "remap_id", format!("ghost remap of file {}: {ghost} is missing", r.orig_id()));
                    }
                    self.referenced.insert(ghost);
                }
                RemapType::LINKED => self.want_reg(files, R, i, "remap_id", id),
                _ => {}
            }
        }
    }

    /// Queued data names what it belongs to: pipe and FIFO data their pipe's inode (`pipe_id`),
    /// socket packets their socket's file id (`id_for`). Data that nothing owns is silently lost
    /// on restore (pipes.c collect_pipe_data keys it by pipe_id; sk-queue.c
    /// restore_sk_queue by the socket's id).
    fn queues(&mut self, files: &explore::Files<'_>) {
        // Legacy per-type images would need their own tables; a broken files.img was reported.
        if self.files_broken || self.ckpt.contains("pipes.img") || self.ckpt.contains("fifo.img") || self.ckpt.contains("unixsk.img") {
            return;
        }
        let (mut pipes, mut fifos, mut sockets) = (HashSet::new(), HashSet::new(), HashSet::new());
        for (_, f) in files.by_id.values() {
            if let Some(p) = f.pipe() {
                pipes.insert(p.pipe_id());
            }
            if let Some(p) = f.fifo() {
                fifos.insert(p.pipe_id());
            }
            if let Some(u) = f.usk() {
                sockets.insert(u.id());
            }
        }
        for (name, kind, owners, what) in
            [("pipes-data.img", Kind::PipesData, &pipes, "pipe"), ("fifo-data.img", Kind::FifoData, &fifos, "FIFO")]
        {
            let Ok(Some(img)) = explore::typed_image(self.ckpt, name, kind) else { continue };
            for e in img.entries().flatten() {
                let d = view::PipeDataEntry::trusted(e.message);
                if !owners.contains(&d.pipe_id()) {
                    let msg = format!("no {what} in files.img has pipe_id {}: its {} bytes would be lost", d.pipe_id(), d.bytes());
                    self.warning(name, Some(e.index), "pipe_id", msg);
                }
            }
        }
        const Q: &str = "sk-queues.img";
        if let Ok(Some(img)) = explore::typed_image(self.ckpt, Q, Kind::SkQueues) {
            for e in img.entries().flatten() {
                let p = view::SkPacketEntry::trusted(e.message);
                if !sockets.contains(&p.id_for()) {
                    let msg = format!("no unix socket in files.img has id {}: its {}-byte packet would be lost", p.id_for(), p.length());
                    self.warning(Q, Some(e.index), "id_for", msg);
                }
            }
        }
    }

    /// Images that no task, file or remap refers to: restore opens images by the ids it meets,
    /// so these are never read (a notice, never an error).
    fn orphans(&mut self, index: &Index<'_>) {
        let tids = explore::all_tids(index);
        let names: Vec<String> = self.ckpt.names().map(str::to_string).collect();
        let per_task = ["core-", "ids-", "fs-", "mm-", "pagemap-", "fdinfo-", "pages-", "ghost-file-", "pagemap-shmem-"];
        for name in names {
            if self.referenced.contains(&name) {
                continue;
            }
            let Some(prefix) = per_task.iter().rev().find(|p| name.starts_with(*p)) else { continue };
            let what = match *prefix {
                "core-" | "ids-" | "fs-" | "mm-" | "pagemap-" => {
                    let n = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(".img")).and_then(|s| s.parse::<u32>().ok());
                    match n {
                        Some(n) if !tids.contains(&n) => format!("{n} is not a task or thread of pstree.img"),
                        _ => continue,
                    }
                }
                "pages-" => "no pagemap refers to it".into(),
                "ghost-file-" => "no remap in remap-fpath.img refers to it".into(),
                "pagemap-shmem-" => "no mapping, memfd or SysV segment refers to it".into(),
                _ => "no task refers to it".into(),
            };
            self.notice(&name, None, "", format!("not used: {what}; CRIU ignores it"));
        }
    }
}

fn ckpt_has(index: &Index<'_>, name: &str) -> bool {
    index.ckpt.contains(name)
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

/// The chain of parent checkpoints of a pre-dump series, with their pagemaps parsed on demand.
struct ParentChain {
    /// `levels[0]` is the parent, `levels[1]` its parent, ...
    levels: Vec<Checkpoint>,
    /// Why the chain stops where it does, when that is an error.
    broken: Option<String>,
    /// (level, pagemap name) → sorted `(start, end, flags)`, or why it cannot be read.
    maps: HashMap<(usize, String), Result<Runs, String>>,
}

/// A pagemap's `(start, end, flags)` runs, sorted.
type Runs = Vec<(u64, u64, u32)>;

impl ParentChain {
    fn open(ckpt: &Checkpoint, max_depth: usize) -> ParentChain {
        let mut levels: Vec<Checkpoint> = Vec::new();
        let mut broken = None;
        let mut seen = BTreeSet::new();
        loop {
            let cur = levels.last().unwrap_or(ckpt);
            let link = cur.parent_link();
            let next = match cur.open_parent() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    broken = Some(format!("its `parent` cannot be opened ({e})"));
                    break;
                }
            };
            // A parent symlink loop would never end.
            let canon = link.and_then(|l| std::fs::canonicalize(l).ok());
            if canon.as_ref().is_some_and(|c| !seen.insert(c.clone())) || levels.len() >= max_depth {
                broken.get_or_insert_with(|| format!("the chain of `parent` links is longer than {max_depth} or loops"));
                break;
            }
            levels.push(next);
        }
        ParentChain { levels, broken, maps: HashMap::new() }
    }

    fn map(&mut self, level: usize, name: &str) -> &Result<Runs, String> {
        let levels = &self.levels;
        self.maps.entry((level, name.to_string())).or_insert_with(|| {
            let ckpt = &levels[level];
            match explore::read_pagemap(ckpt, name) {
                Ok(Some(pm)) => {
                    let mut v: Vec<_> = pm.entries.iter().map(|(_, e)| (e.vaddr(), pages_end(e.vaddr(), nr_pages(e)), pe_flags(e))).collect();
                    v.sort_unstable();
                    Ok(v)
                }
                Ok(None) => Err(format!("{} has no {name}", ckpt.path.display())),
                Err(e) => Err(format!("{e}")),
            }
        })
    }

    /// Whether `[start, end)` of pagemap `name` is stored at `level` or deeper.
    fn covers(&mut self, level: usize, name: &str, start: u64, end: u64) -> Result<(), String> {
        if level >= self.levels.len() {
            return Err(match &self.broken {
                Some(why) => why.clone(),
                None => format!("they are PE_PARENT at depth {level} and there is no deeper parent"),
            });
        }
        let path = self.levels[level].path.display().to_string();
        let entries = match self.map(level, name) {
            Ok(v) => v.clone(),
            Err(e) => return Err(e.clone()),
        };
        let mut at = start;
        let from = entries.partition_point(|&(_, e, _)| e <= start);
        for &(s, e, f) in &entries[from..] {
            if at >= end {
                break;
            }
            if s > at {
                return Err(format!("{at:#x}-{:#x} are not in {path}/{name}", s.min(end)));
            }
            let upto = e.min(end);
            if f & PE_PRESENT == 0 {
                if f & PE_PARENT != 0 {
                    self.covers(level + 1, name, at, upto)?;
                } else {
                    return Err(format!("{at:#x}-{upto:#x} are neither present nor in a parent in {path}/{name}"));
                }
            }
            at = at.max(upto);
        }
        if at < end {
            return Err(format!("{at:#x}-{end:#x} are not in {path}/{name}"));
        }
        Ok(())
    }
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
