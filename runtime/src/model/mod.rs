//! The checkpoint as data: processes, threads, VMAs, file descriptors, one pagemap index with one
//! parent chain. Every view (`crit x`, `check`, memory, cookies, inspect) reads this.
//!
//! The model is reached from a [`Checkpoint`]: [`Checkpoint::processes`],
//! [`Checkpoint::process`], [`Checkpoint::files`], [`Checkpoint::inventory`],
//! [`Checkpoint::parents`]. It is read lazily — `crit x ps` of a checkpoint of 30 000 VMAs never
//! parses the mm image — and cached inside the checkpoint, so asking twice costs nothing and a
//! long-running service can keep an `Arc<Checkpoint>` and ask it from several threads (the
//! checkpoint and everything the model returns are `Send + Sync`).
//!
//! Numbers stay numbers: states, flags, families, types are the kernel's and CRIU's values (with
//! typed newtypes where the schema has them); renderers turn them into text.
//!
//! ```no_run
//! use criu_image::checkpoint::Checkpoint;
//! let ckpt = Checkpoint::open("/tmp/ckpt".as_ref())?;
//! for p in ckpt.processes()?.iter() {
//!     let state = p.state().map_or("?".into(), |s| s.to_string());
//!     println!("{} {} {}", p.pid(), state, String::from_utf8_lossy(p.comm().unwrap_or(b"?")));
//! }
//! # Ok::<(), criu_image::checkpoint::CheckpointError>(())
//! ```

pub mod files;
pub(crate) mod ids;
pub mod pagemap;
pub(crate) mod read;
pub mod task;
pub mod vma;

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use criu_image_proto::schema::kinds::files as names;
use criu_image_proto::view;

pub use files::{Fd, File, FileKind, FileSource, FileTable, RegularFile, Remap, Socket};
pub use pagemap::{MAX_PARENT_DEPTH, PageIndex, PagemapDefect, ParentChain, ParentProblem, Run, Stored, Unreadable};
pub use criu_image_proto::kernel::TaskState;
pub use task::{Creds, FsIds, Inventory, TaskCore, TaskIds, Thread, has_resources, is_zombie};
pub use vma::{AddressSpace, Backing, Mapping, MmInfo, Vma};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::image::Kind;
use read::{all_entries, first_entry, typed_image};

/// Something a view could not show, naming the image (or the task) it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The image file (or `task N`).
    pub file: String,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl Problem {
    /// A problem about `file`.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { file: file.into(), message: message.into() }
    }

    /// The problem an error of reading the checkpoint is.
    pub fn from_error(e: &CheckpointError) -> Problem {
        match e {
            CheckpointError::Image { file, error } => Problem { file: file.clone(), message: error.to_string() },
            CheckpointError::Missing { file } => Problem { file: file.clone(), message: "missing".into() },
            other => Problem { file: String::new(), message: other.to_string() },
        }
    }
}

type Cached<T> = OnceLock<Result<T, CheckpointError>>;

fn cached<T>(cell: &Cached<T>, load: impl FnOnce() -> Result<T, CheckpointError>) -> Result<&T, CheckpointError> {
    cell.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// What the model has read of a checkpoint (kept inside the [`Checkpoint`]).
#[derive(Default)]
pub(crate) struct Cache {
    inventory: Cached<Option<Inventory>>,
    tree: Cached<Tree>,
    files: Cached<FileTable>,
    parents: OnceLock<ParentChain>,
    /// Every pagemap image of the checkpoint by name, indexed on first use.
    pagemaps: OnceLock<HashMap<String, Cached<Option<PageIndex>>>>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

/// The process tree of `pstree.img`.
struct Tree {
    procs: Vec<ProcData>,
    /// pid → index of the first entry with that pid.
    by_pid: HashMap<u32, usize>,
    /// tid → index of the first entry listing it as a thread.
    by_tid: HashMap<u32, usize>,
}

/// One `pstree.img` entry and what has been read for it.
struct ProcData {
    entry: usize,
    pid: u32,
    ppid: u32,
    pgid: u32,
    sid: u32,
    threads: Vec<u32>,
    core: Cached<Option<TaskCore>>,
    ids: Cached<Option<TaskIds>>,
    fs: Cached<Option<FsIds>>,
    mm: Cached<Option<AddressSpace>>,
    fds: Cached<Option<Vec<Fd>>>,
}

impl Checkpoint {
    /// `inventory.img`: `Ok(None)` when it is absent.
    pub fn inventory(&self) -> Result<Option<&Inventory>, CheckpointError> {
        cached(&self.model.inventory, || {
            Ok(first_entry::<view::InventoryEntry>(self, names::INVENTORY.pattern(), Kind::Inventory)?.map(|v| Inventory::from_view(&v)))
        })
        .map(Option::as_ref)
    }

    /// The processes of `pstree.img`, in image order; an error when it is missing or corrupt.
    pub fn processes(&self) -> Result<Processes<'_>, CheckpointError> {
        let tree = cached(&self.model.tree, || Tree::load(self))?;
        Ok(Processes { ckpt: self, tree })
    }

    /// The process whose pid is `pid`, or that has a thread `pid`.
    pub fn process(&self, pid: u32) -> Result<Option<Process<'_>>, CheckpointError> {
        Ok(self.processes()?.get(pid).or_else(|| self.processes().ok()?.of_thread(pid)))
    }

    /// Every file description (`files.img`, and the legacy per-type images).
    pub fn files(&self) -> Result<&FileTable, CheckpointError> {
        cached(&self.model.files, || FileTable::load(self))
    }

    /// The chain of parent checkpoints (`parent` links of pre-dumps), opened on first use.
    pub fn parents(&self) -> &ParentChain {
        self.model.parents.get_or_init(|| ParentChain::open(self))
    }

    /// The checkpoint at `depth` of the parent chain: 0 is this one, 1 its parent, ...
    pub fn layer(&self, depth: usize) -> Option<&Checkpoint> {
        match depth {
            0 => Some(self),
            d => self.parents().levels().get(d - 1),
        }
    }

    /// A pagemap image of this checkpoint by name (`pagemap-<pid>.img`,
    /// `pagemap-shmem-<shmid>.img`), indexed with its parents on first use and cached: `Ok(None)`
    /// when there is no such image.
    pub fn pagemap(&self, name: &str) -> Result<Option<&PageIndex>, CheckpointError> {
        let all = self.model.pagemaps.get_or_init(|| {
            self.names()
                .filter(|n| crate::image::kind_by_name(n) == Some(Kind::Pagemap))
                .map(|n| (n.to_string(), OnceLock::new()))
                .collect()
        });
        let Some(cell) = all.get(name) else { return Ok(None) };
        cached(cell, || PageIndex::open(self, 0, name)).map(Option::as_ref)
    }

    /// The indexed `pagemap-shmem-<shmid>.img`: `Ok(None)` when the checkpoint has none.
    pub fn shmem_pagemap(&self, shmid: u64) -> Result<Option<&PageIndex>, CheckpointError> {
        self.pagemap(&names::PAGEMAP_SHMEM.name(shmid))
    }
}

impl Tree {
    fn load(ckpt: &Checkpoint) -> Result<Tree, CheckpointError> {
        let name = names::PSTREE.pattern();
        let Some(img) = typed_image(ckpt, name, Kind::Pstree)? else {
            return Err(CheckpointError::Missing { file: name.into() });
        };
        let msgs = read::messages(&img, name)?;
        let mut procs = Vec::with_capacity(msgs.len());
        let mut by_pid = HashMap::with_capacity(msgs.len());
        let mut by_tid = HashMap::with_capacity(msgs.len());
        for m in msgs {
            let p: view::PstreeEntry = m.parse(name)?;
            let i = procs.len();
            by_pid.entry(p.pid()).or_insert(i);
            let threads: Vec<u32> = p.threads().to_vec();
            for &t in &threads {
                by_tid.entry(t).or_insert(i);
            }
            procs.push(ProcData {
                entry: m.index,
                pid: p.pid(),
                ppid: p.ppid(),
                pgid: p.pgid(),
                sid: p.sid(),
                threads,
                core: OnceLock::new(),
                ids: OnceLock::new(),
                fs: OnceLock::new(),
                mm: OnceLock::new(),
                fds: OnceLock::new(),
            });
        }
        Ok(Tree { procs, by_pid, by_tid })
    }
}

/// The processes of a checkpoint.
#[derive(Clone, Copy)]
pub struct Processes<'c> {
    ckpt: &'c Checkpoint,
    tree: &'c Tree,
}

impl fmt::Debug for Processes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(|p| p.pid())).finish()
    }
}

impl<'c> Processes<'c> {
    /// How many `pstree.img` entries there are.
    pub fn len(&self) -> usize {
        self.tree.procs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tree.procs.is_empty()
    }

    /// In `pstree.img` order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Process<'c>> + 'c {
        let (ckpt, tree) = (self.ckpt, self.tree);
        tree.procs.iter().map(move |data| Process { ckpt, tree, data })
    }

    /// The `i`-th entry of `pstree.img`.
    pub fn nth(&self, i: usize) -> Option<Process<'c>> {
        self.tree.procs.get(i).map(|data| Process { ckpt: self.ckpt, tree: self.tree, data })
    }

    /// The process with this pid (the first, if `pstree.img` repeats it).
    pub fn get(&self, pid: u32) -> Option<Process<'c>> {
        self.tree.by_pid.get(&pid).and_then(|&i| self.nth(i))
    }

    /// The process that lists `tid` among its threads.
    pub fn of_thread(&self, tid: u32) -> Option<Process<'c>> {
        self.tree.by_tid.get(&tid).and_then(|&i| self.nth(i))
    }

    /// The order a tree is shown in: each root (no parent, or a parent that is not in the
    /// tree) in `pstree.img` order, each followed depth-first by its children in `pstree.img`
    /// order; `(process, depth)`. With one root and a consistent tree this is crit's order.
    /// Every entry appears once, even in a parent cycle.
    pub fn tree_order(&self) -> Vec<(Process<'c>, usize)> {
        let procs = &self.tree.procs;
        let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (i, t) in procs.iter().enumerate() {
            if t.ppid != 0 && t.ppid != t.pid && self.tree.by_pid.contains_key(&t.ppid) {
                children.entry(t.ppid).or_default().push(i);
            } else {
                roots.push(i);
            }
        }
        let mut seen = vec![false; procs.len()];
        let mut out = Vec::with_capacity(procs.len());
        // Tasks caught in a parent cycle are reached from no root; they become roots at the end.
        for start in roots.into_iter().chain(0..procs.len()) {
            if seen[start] {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            while let Some((i, depth)) = stack.pop() {
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                out.push((i, depth));
                // Only the first entry with a pid owns its children, so a repeated pid cannot
                // show a subtree twice.
                let owner = self.tree.by_pid.get(&procs[i].pid) == Some(&i);
                if let Some(kids) = children.get(&procs[i].pid).filter(|_| owner) {
                    stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
                }
            }
        }
        out.into_iter().filter_map(|(i, d)| self.nth(i).map(|p| (p, d))).collect()
    }

    /// Every pid and thread id of the tree (zombies' bogus `threads` left out).
    pub fn all_tids(&self) -> std::collections::HashSet<u32> {
        self.iter().flat_map(|p| std::iter::once(p.pid()).chain(p.thread_ids().iter().copied())).collect()
    }
}

/// One process of the checkpoint: a handle to what `pstree.img` says of it and to its images,
/// each read on first use and cached.
#[derive(Clone, Copy)]
pub struct Process<'c> {
    ckpt: &'c Checkpoint,
    tree: &'c Tree,
    data: &'c ProcData,
}

impl fmt::Debug for Process<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process").field("pid", &self.data.pid).field("ppid", &self.data.ppid).finish_non_exhaustive()
    }
}

impl<'c> Process<'c> {
    /// The checkpoint it is part of.
    pub fn checkpoint(&self) -> &'c Checkpoint {
        self.ckpt
    }

    /// Its entry index in `pstree.img`.
    pub fn entry(&self) -> usize {
        self.data.entry
    }

    /// Its pid, in the dumped pid namespace.
    pub fn pid(&self) -> u32 {
        self.data.pid
    }

    /// Its parent's pid (0 for a root).
    pub fn ppid(&self) -> u32 {
        self.data.ppid
    }

    /// Its process group.
    pub fn pgid(&self) -> u32 {
        self.data.pgid
    }

    /// Its session.
    pub fn sid(&self) -> u32 {
        self.data.sid
    }

    /// `pstree.img`'s `threads`, as written (for a zombie these are not thread ids).
    pub fn pstree_threads(&self) -> &'c [u32] {
        &self.data.threads
    }

    /// Its thread ids: `pstree.img`'s `threads`, except for a zombie, which has none (CRIU
    /// writes arbitrary values there and no cores for them; `dump_one_zombie`).
    pub fn thread_ids(&self) -> &'c [u32] {
        if self.is_zombie() { &[] } else { &self.data.threads }
    }

    /// Whether its core says it is a zombie.
    pub fn is_zombie(&self) -> bool {
        self.state().is_some_and(is_zombie)
    }

    /// Its parent, when it is in the tree.
    pub fn parent(&self) -> Option<Process<'c>> {
        if self.data.ppid == 0 || self.data.ppid == self.data.pid {
            return None;
        }
        Processes { ckpt: self.ckpt, tree: self.tree }.get(self.data.ppid)
    }

    /// Its children in `pstree.img` order.
    pub fn children(&self) -> impl Iterator<Item = Process<'c>> + 'c {
        let (ckpt, tree, pid) = (self.ckpt, self.tree, self.data.pid);
        tree.procs.iter().filter(move |d| d.ppid == pid && d.pid != pid).map(move |data| Process { ckpt, tree, data })
    }

    /// The task part of its main thread's core (`core-<pid>.img`): `Ok(None)` when the image is
    /// absent or has no task core.
    pub fn core(&self) -> Result<Option<&'c TaskCore>, CheckpointError> {
        let pid = self.data.pid;
        let ckpt = self.ckpt;
        cached(&self.data.core, || {
            let Some(core) = first_entry::<view::CoreEntry>(ckpt, &names::CORE.name(pid.into()), Kind::Core)? else { return Ok(None) };
            Ok(core.tc().map(|tc| TaskCore {
                state: TaskState(tc.task_state()),
                exit_code: tc.exit_code(),
                comm: tc.comm().to_vec(),
                personality: tc.personality(),
                flags: tc.flags(),
                loginuid: tc.loginuid(),
                oom_score_adj: tc.oom_score_adj(),
                child_subreaper: tc.child_subreaper() == Some(true),
                arch: core.mtype(),
            }))
        })
        .map(Option::as_ref)
    }

    /// Its state, when its core is readable.
    pub fn state(&self) -> Option<TaskState> {
        self.core().ok().flatten().map(|c| c.state)
    }

    /// Its command name (`comm`), when its core is readable.
    pub fn comm(&self) -> Option<&'c [u8]> {
        self.core().ok().flatten().map(|c| &c.comm[..])
    }

    /// Its threads with what each one's core says, in `pstree.img` order (none for a zombie).
    /// A thread whose core is missing is an error naming the image.
    pub fn threads(&self) -> Result<Vec<Thread>, CheckpointError> {
        let mut out = Vec::with_capacity(self.thread_ids().len());
        for &tid in self.thread_ids() {
            let name = names::CORE.name(tid.into());
            let core = first_entry::<view::CoreEntry>(self.ckpt, &name, Kind::Core)?.ok_or(CheckpointError::Missing { file: name })?;
            out.push(Thread::from_core(tid, &core));
        }
        Ok(out)
    }

    /// Its main thread's credentials (from its core).
    pub fn creds(&self) -> Result<Option<Creds>, CheckpointError> {
        let name = names::CORE.name(self.data.pid.into());
        let Some(core) = first_entry::<view::CoreEntry>(self.ckpt, &name, Kind::Core)? else { return Ok(None) };
        Ok(core.thread_core().and_then(|t| t.creds()).map(|c| Creds::from_view(&c)))
    }

    /// `ids-<pid>.img`: `Ok(None)` when absent.
    pub fn ids(&self) -> Result<Option<&'c TaskIds>, CheckpointError> {
        let (pid, ckpt) = (self.data.pid, self.ckpt);
        cached(&self.data.ids, || {
            Ok(first_entry::<view::TaskKobjIdsEntry>(ckpt, &names::IDS.name(pid.into()), Kind::Ids)?.map(|v| TaskIds::from_view(&v)))
        })
        .map(Option::as_ref)
    }

    /// `fs-<pid>.img`: `Ok(None)` when absent.
    pub fn fs(&self) -> Result<Option<&'c FsIds>, CheckpointError> {
        let (pid, ckpt) = (self.data.pid, self.ckpt);
        cached(&self.data.fs, || {
            Ok(first_entry::<view::FsEntry>(ckpt, &names::FS.name(pid.into()), Kind::Fs)?
                .map(|v| FsIds { cwd_id: v.cwd_id(), root_id: v.root_id(), umask: v.umask() }))
        })
        .map(Option::as_ref)
    }

    /// The name of its fdinfo image: `fdinfo-<files_id>.img` when the inventory says fdinfo
    /// images are per files id (every CRIU since 2.x) and its ids image is readable, else
    /// `fdinfo-<pid>.img`.
    pub fn fdinfo_name(&self) -> String {
        let per_id = self.ckpt.inventory().ok().flatten().and_then(|i| i.fdinfo_per_id).unwrap_or(true);
        match self.ids() {
            Ok(Some(ids)) if per_id => names::FDINFO.name(ids.files_id.into()),
            _ => names::FDINFO.name(self.data.pid.into()),
        }
    }

    /// Its open file descriptors (its fdinfo image), in image order: `Ok(None)` when absent.
    pub fn fds(&self) -> Result<Option<&'c [Fd]>, CheckpointError> {
        let (name, ckpt) = (self.fdinfo_name(), self.ckpt);
        cached(&self.data.fds, || {
            Ok(all_entries::<view::FdinfoEntry>(ckpt, &name, Kind::Fdinfo)?.map(|v| {
                v.into_iter().map(|(entry, e)| Fd { fd: e.fd(), id: e.id(), type_: e.type_(), flags: e.flags(), entry }).collect()
            }))
        })
        .map(|o| o.as_deref())
    }

    /// Its memory map (`mm-<pid>.img`): `Ok(None)` when absent. File paths are resolved through
    /// the file table when it is readable (an unreadable `files.img` leaves them unresolved; the
    /// file table's own error tells why).
    pub fn mm(&self) -> Result<Option<&'c AddressSpace>, CheckpointError> {
        let (pid, ckpt) = (self.data.pid, self.ckpt);
        cached(&self.data.mm, || {
            let name = names::MM.name(pid.into());
            let Some(msg) = read::first_message(ckpt, &name, Kind::Mm)? else { return Ok(None) };
            // Each VMA is parsed once: the entry's own fields are checked first, then each
            // nested message as it is read, with the error a full parse would give.
            let mm: view::MmEntry = msg.parse_level(&name)?;
            for aio in mm.aios().checked::<view::AioRingEntry>("aios") {
                aio.map_err(|e| msg.error(&name, e))?;
            }
            let empty = FileTable::default();
            let files = ckpt.files().unwrap_or(&empty);
            let vmas = mm.vmas().checked::<view::VmaEntry>("vmas");
            let mut out = Vec::with_capacity(vmas.len());
            for v in vmas {
                out.push(Vma::from_view(&v.map_err(|e| msg.error(&name, e))?, files));
            }
            let info = MmInfo {
                start_code: mm.mm_start_code(),
                end_code: mm.mm_end_code(),
                start_data: mm.mm_start_data(),
                end_data: mm.mm_end_data(),
                arg_start: mm.mm_arg_start(),
                arg_end: mm.mm_arg_end(),
                env_start: mm.mm_env_start(),
                env_end: mm.mm_env_end(),
                start_stack: mm.mm_start_stack(),
                start_brk: mm.mm_start_brk(),
                brk: mm.mm_brk(),
                exe_file_id: mm.exe_file_id(),
                dumpable: mm.dumpable(),
            };
            let exe = files.regular(info.exe_file_id).map(|r| r.path.clone());
            Ok(Some(AddressSpace::new(info, exe, out)))
        })
        .map(Option::as_ref)
    }

    /// Its VMAs in image order (empty when its mm image is absent).
    pub fn vmas(&self) -> Result<&'c [Vma], CheckpointError> {
        Ok(self.mm()?.map_or(&[][..], |m| &m.vmas[..]))
    }

    /// Its private pagemap (`pagemap-<pid>.img`), indexed with its parents: `Ok(None)` when
    /// absent.
    pub fn pagemap(&self) -> Result<Option<&'c PageIndex>, CheckpointError> {
        self.ckpt.pagemap(&names::PAGEMAP.name(self.data.pid.into()))
    }

    /// Its memory: the bytes at any address, from its pagemap, shared memory and parents.
    pub fn memory(&self) -> Result<crate::memory::Task<'c>, crate::memory::MemError> {
        crate::memory::Memory::open(self.ckpt).task(self.data.pid)
    }

    /// Its command line (`argv`), read from its memory.
    pub fn cmdline(&self) -> Result<Vec<Vec<u8>>, crate::memory::MemError> {
        self.memory()?.cmdline()
    }

    /// Its environment, read from its memory.
    pub fn environ(&self) -> Result<Vec<Vec<u8>>, crate::memory::MemError> {
        self.memory()?.environ()
    }

    /// Its working directory's path, when `fs` and `files.img` have it.
    pub fn cwd(&self) -> Option<&'c [u8]> {
        let id = self.fs().ok()??.cwd_id;
        self.ckpt.files().ok()?.regular(id).map(|r| &r.path[..])
    }

    /// Its root directory's path, when `fs` and `files.img` have it.
    pub fn root(&self) -> Option<&'c [u8]> {
        let id = self.fs().ok()??.root_id;
        self.ckpt.files().ok()?.regular(id).map(|r| &r.path[..])
    }
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn model_types_are_send_and_sync() {
        send_sync::<crate::checkpoint::Checkpoint>();
        send_sync::<super::Process<'_>>();
        send_sync::<super::Processes<'_>>();
        send_sync::<super::PageIndex>();
        send_sync::<super::FileTable>();
        send_sync::<super::AddressSpace>();
    }
}
