//! A checkpoint seen whole: an [`Index`] of its tasks and the images that belong to each, and
//! crit's `x` views (`ps`, `fds`, `mems`, `rss`) plus `sockets`, as structured rows.
//!
//! Each view is a function from the index to a [`Report`] of rows, rendered either as text that is
//! byte-identical to CRIU 4.2.1's `crit x` (the `write_*_text` functions), or as JSON in the schema
//! documented on each `write_*_json` function. Rows are public so that other modules (the memory
//! model adds command lines and environments to `ps`) can add columns without re-deriving them.
//!
//! Where crit crashes, these views keep going and say why in [`Report::problems`]:
//! - `ps` with several root tasks or a task whose parent is not in the tree (crit shows only the
//!   last root, or fails with `KeyError`): every such task is shown as a root, in `pstree.img`
//!   order;
//! - `rss` on images from before CRIU 4.2 (no `nr_pages`, only `compat_nr_pages`; crit fails
//!   with `KeyError`), and on pagemap entries past the last VMA (`IndexError`);
//! - a file id that is in neither `files.img` nor the legacy per-type images (crit opens
//!   `reg-files.img` and fails): shown as crit shows a file that is not a regular one,
//!   `unknown path`;
//! - a task without its `core`, `ids`, `fdinfo`, `fs` or `mm` image, or with a corrupt one: the
//!   task is shown without what that image would give, and the image is named in `problems`.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Write};

use criu_image_proto::schema::enums::FdTypes;
use criu_image_proto::schema::tables;
use criu_image_proto::support::json::{self as pjson, JsonWriter};
use criu_image_proto::view;

use crate::checkpoint::{Checkpoint, CheckpointError};
use criu_image_proto::support::wire::View;

use crate::image::{self, Head, Image, Kind, Payload};

pub use crate::pagemap::{PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT, flags as pe_flags, nr_pages};

/// `vma_entry.status` bits (criu/include/image.h).
pub mod vma_status {
    pub const REGULAR: u32 = 1 << 0;
    pub const STACK: u32 = 1 << 1;
    pub const VSYSCALL: u32 = 1 << 2;
    pub const VDSO: u32 = 1 << 3;
    pub const FILE_PRIVATE: u32 = 1 << 6;
    pub const FILE_SHARED: u32 = 1 << 7;
    pub const ANON_SHARED: u32 = 1 << 8;
    pub const SYSVIPC: u32 = 1 << 10;
    pub const SOCKET: u32 = 1 << 11;
    pub const AIORING: u32 = 1 << 13;
    pub const MEMFD: u32 = 1 << 14;
    /// `VMA_AREA_GUARD`: not a mapping but a range of `MADV_GUARD_INSTALL` guard pages inside
    /// one. CRIU 4.2 collects them separately (mem.c `collect_madv_guards`, from
    /// `PAGEMAP_SCAN`) and appends them after every real VMA; restore skips them when it lays
    /// out memory and installs them with `madvise` once the mappings exist (restorer.c).
    pub const GUARD: u32 = 1 << 16;
}

/// `task_state` of a zombie (compel's `TASK_DEAD`). CRIU's `dump_one_zombie` writes only
/// `core-<pid>.img` for it, saying so, and `restore_one_zombie` reads nothing else: no ids, fs,
/// mm, pagemap or fdinfo, and the task's `threads` in `pstree.img` are not thread ids.
pub const TASK_DEAD: u32 = 2;

/// `MAP_GROWSDOWN` in `vma_entry.flags`.
const MAP_GROWSDOWN: u32 = 0x100;

/// Something a view could not show, naming the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl Problem {
    fn from_error(e: &CheckpointError) -> Problem {
        match e {
            CheckpointError::Image { file, error } => Problem { file: file.clone(), message: error.to_string() },
            CheckpointError::Missing { file } => Problem { file: file.clone(), message: "missing".into() },
            other => Problem { file: String::new(), message: other.to_string() },
        }
    }
}

/// A view's rows and what it could not show.
#[derive(Debug)]
pub struct Report<T> {
    pub tasks: Vec<T>,
    pub problems: Vec<Problem>,
}

// ---------------------------------------------------------------------------------------------
// Reading single images

fn image_error(file: &str, error: image::Error) -> CheckpointError {
    CheckpointError::Image { file: file.to_string(), error }
}

/// Parses `name` and checks that it holds `kind`.
pub(crate) fn typed_image<'a>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<Image<'a>>, CheckpointError> {
    let Some(img) = ckpt.image(name)? else { return Ok(None) };
    if img.kind != kind {
        return Err(image_error(
            name,
            image::Error {
                entry: None,
                offset: 0,
                field: String::new(),
                kind: image::ErrorKind::Payload(format!(
                    "holds a {} image where a {} image belongs",
                    img.kind.info().name,
                    kind.info().name
                )),
            },
        ));
    }
    Ok(Some(img))
}

/// One entry's message bytes and where they are.
#[derive(Clone, Copy)]
struct Message<'a> {
    index: usize,
    offset: usize,
    bytes: &'a [u8],
}

impl<'a> Message<'a> {
    /// The view of this message, checked once; errors name the entry, byte and field.
    fn parse<V: View<'a>>(&self, file: &str) -> Result<V, CheckpointError> {
        V::parse_at_depth(self.bytes, 0).map_err(|e| {
            image_error(
                file,
                image::Error { entry: Some(self.index), offset: self.offset + e.offset, field: e.path, kind: image::ErrorKind::Decode(e.kind) },
            )
        })
    }
}

/// The messages of an image whose entries have no payload (every kind explore reads but
/// ipcns-shm), framed without decoding them: each view is then parsed exactly once, by the
/// caller. [`Image::entries`] would decode each message to check it first, which doubles the
/// cost on an `mm` image of tens of thousands of VMAs.
fn messages<'a>(img: &Image<'a>, file: &str) -> Result<Vec<Message<'a>>, CheckpointError> {
    debug_assert!(matches!(img.kind.info().payload, Payload::None | Payload::Pagemap));
    let data = img.bytes();
    let mut pos = if img.head == Head::None { 4 } else { 8 };
    let mut out = Vec::new();
    while pos < data.len() {
        let index = out.len();
        let truncated = |at: usize, needed: u64| {
            image_error(
                file,
                image::Error {
                    entry: Some(index),
                    offset: at,
                    field: String::new(),
                    kind: image::ErrorKind::Truncated { needed, available: (data.len() - at) as u64 },
                },
            )
        };
        let Some(w) = data.get(pos..pos + 4) else { return Err(truncated(pos, 4)) };
        let size = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize;
        let Some(bytes) = data.get(pos + 4..).and_then(|rest| rest.get(..size)) else {
            return Err(truncated(pos + 4, size as u64));
        };
        out.push(Message { index, offset: pos + 4, bytes });
        pos += 4 + size;
    }
    Ok(out)
}

/// Every entry of an image of `kind`, as views; `Ok(None)` when the file is absent.
fn all_entries<'a, V: View<'a>>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<Vec<V>>, CheckpointError> {
    let Some(img) = typed_image(ckpt, name, kind)? else { return Ok(None) };
    let msgs = messages(&img, name)?;
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        out.push(m.parse(name)?);
    }
    Ok(Some(out))
}

/// The first entry of a one-entry image; `Ok(None)` when the file is absent or empty.
fn first_entry<'a, V: View<'a>>(ckpt: &'a Checkpoint, name: &str, kind: Kind) -> Result<Option<V>, CheckpointError> {
    let Some(img) = typed_image(ckpt, name, kind)? else { return Ok(None) };
    match messages(&img, name)?.first() {
        None => Ok(None),
        Some(m) => m.parse(name).map(Some),
    }
}

// ---------------------------------------------------------------------------------------------
// Pagemaps

/// A pagemap image: its head and entries (with their index in the image, counting the head as 0).
#[derive(Clone, Debug)]
pub struct Pagemap<'a> {
    pub head: view::PagemapHead<'a>,
    pub entries: Vec<(usize, view::PagemapEntry<'a>)>,
}

/// Reads a pagemap image (`pagemap-<pid>.img` or `pagemap-shmem-<shmid>.img`).
pub fn read_pagemap<'a>(ckpt: &'a Checkpoint, name: &str) -> Result<Option<Pagemap<'a>>, CheckpointError> {
    let Some(img) = typed_image(ckpt, name, Kind::Pagemap)? else { return Ok(None) };
    let msgs = messages(&img, name)?;
    let mut head = None;
    let mut entries = Vec::with_capacity(msgs.len().saturating_sub(1));
    for m in msgs {
        if m.index == 0 {
            head = Some(m.parse::<view::PagemapHead>(name)?);
        } else {
            entries.push((m.index, m.parse::<view::PagemapEntry>(name)?));
        }
    }
    let Some(head) = head else {
        return Err(image_error(
            name,
            image::Error {
                entry: Some(0),
                offset: img.bytes().len(),
                field: String::new(),
                kind: image::ErrorKind::Payload("a pagemap image needs a pagemap_head entry".into()),
            },
        ));
    };
    Ok(Some(Pagemap { head, entries }))
}

// ---------------------------------------------------------------------------------------------
// Files

/// The file descriptions of a checkpoint: `files.img` by id, and the legacy per-type images that
/// crit falls back to (`reg-files.img`, `pipes.img`, `unixsk.img`) for checkpoints older than
/// `files.img`.
#[derive(Debug, Default)]
pub struct Files<'a> {
    /// `files.img` entries by id: the entry's index and its view (the first one, when an id repeats).
    pub by_id: HashMap<u32, (usize, view::FileEntry<'a>)>,
    /// Entries whose id an earlier entry of another type has. CRIU looks files up by type and
    /// id (`find_file_desc_raw`), and its TUN dumper writes two entries under one id: the
    /// device's REG entry, then the TUNF entry (`dump_tunfile` calls `dump_one_reg_file` with
    /// its own id, and `tunfile_open` opens the device with `open_reg_by_id` of that id).
    pub same_id_other_type: Vec<(usize, view::FileEntry<'a>)>,
    /// Indices of `files.img` entries whose type and id an earlier entry already has.
    pub duplicates: Vec<(usize, u32)>,
    legacy_reg: HashMap<u32, view::RegFileEntry<'a>>,
    legacy_pipe: HashMap<u32, view::PipeEntry<'a>>,
    legacy_unix: HashMap<u32, view::UnixSkEntry<'a>>,
}

impl<'a> Files<'a> {
    /// Reads `files.img` and the legacy images.
    pub fn load(ckpt: &'a Checkpoint) -> Result<Files<'a>, CheckpointError> {
        let mut f = Files::default();
        if let Some(entries) = all_entries::<view::FileEntry>(ckpt, "files.img", Kind::Files)? {
            f.by_id.reserve(entries.len());
            for (i, e) in entries.into_iter().enumerate() {
                match f.by_id.entry(e.id()) {
                    std::collections::hash_map::Entry::Occupied(o) => {
                        let ty = e.type_();
                        let seen = o.get().1.type_() == ty || f.same_id_other_type.iter().any(|(_, x)| x.id() == e.id() && x.type_() == ty);
                        if seen {
                            f.duplicates.push((i, e.id()))
                        } else {
                            f.same_id_other_type.push((i, e));
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert((i, e));
                    }
                }
            }
        }
        if let Some(v) = all_entries::<view::RegFileEntry>(ckpt, "reg-files.img", Kind::RegFiles)? {
            f.legacy_reg = v.into_iter().map(|e| (e.id(), e)).collect();
        }
        if let Some(v) = all_entries::<view::PipeEntry>(ckpt, "pipes.img", Kind::Pipes)? {
            f.legacy_pipe = v.into_iter().map(|e| (e.id(), e)).collect();
        }
        if let Some(v) = all_entries::<view::UnixSkEntry>(ckpt, "unixsk.img", Kind::Unixsk)? {
            f.legacy_unix = v.into_iter().map(|e| (e.id(), e)).collect();
        }
        Ok(f)
    }

    /// The `files.img` entry with this id.
    pub fn get(&self, id: u32) -> Option<view::FileEntry<'a>> {
        self.by_id.get(&id).map(|(_, e)| *e)
    }

    /// The `files.img` entry with this type and id (an id may repeat across types: see
    /// [`Files::same_id_other_type`]).
    pub fn get_typed(&self, ty: FdTypes, id: u32) -> Option<view::FileEntry<'a>> {
        match self.by_id.get(&id) {
            Some((_, e)) if e.type_() == ty => Some(*e),
            Some(_) => self.same_id_other_type.iter().find(|(_, e)| e.id() == id && e.type_() == ty).map(|(_, e)| *e),
            None => None,
        }
    }

    /// Whether `id` names a file description of any type.
    pub fn contains(&self, id: u32) -> bool {
        self.by_id.contains_key(&id)
            || self.legacy_reg.contains_key(&id)
            || self.legacy_pipe.contains_key(&id)
            || self.legacy_unix.contains_key(&id)
    }

    /// A regular file's entry, from `files.img` or else `reg-files.img`. An id that `files.img`
    /// has with another type is not looked up further (crit does the same).
    pub fn reg(&self, id: u32) -> Option<view::RegFileEntry<'a>> {
        match self.by_id.get(&id) {
            Some((_, e)) => e.reg(),
            None => self.legacy_reg.get(&id).copied(),
        }
    }

    fn pipe(&self, id: u32) -> Option<view::PipeEntry<'a>> {
        match self.by_id.get(&id) {
            Some((_, e)) => e.pipe(),
            None => self.legacy_pipe.get(&id).copied(),
        }
    }

    fn unix(&self, id: u32) -> Option<view::UnixSkEntry<'a>> {
        match self.by_id.get(&id) {
            Some((_, e)) => e.usk(),
            None => self.legacy_unix.get(&id).copied(),
        }
    }

    /// A regular file's path as crit prints it: its name, or `unknown path`.
    pub fn reg_path(&self, id: u32) -> &'a [u8] {
        self.reg(id).map_or(b"unknown path", |r| r.name())
    }

    /// How crit describes an open file: the path of a regular file, `pipe[<pipe id>]`,
    /// `unix[<ino> (<peer ino>) <name>]`, or `<TYPE>.<id>` for everything else.
    pub fn describe(&self, ty: FdTypes, id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        match ty {
            FdTypes::REG => out.extend_from_slice(self.reg_path(id)),
            FdTypes::PIPE if self.pipe(id).is_some() => {
                let p = self.pipe(id).map_or(0, |p| p.pipe_id());
                let _ = write!(out, "pipe[{p}]");
            }
            FdTypes::UNIXSK if self.unix(id).is_some() => {
                let Some(u) = self.unix(id) else { return out };
                let _ = write!(out, "unix[{} ({})", u.ino(), u.peer());
                if !u.name().is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(&quopri(u.name()));
                }
                out.push(b']');
            }
            _ => {
                let _ = write!(out, "{}.{id}", type_name(ty));
            }
        }
        out
    }
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
// The index

/// One task of `pstree.img`.
#[derive(Clone, Debug)]
pub struct Task {
    /// Its entry index in `pstree.img`.
    pub entry: usize,
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub threads: Vec<u32>,
}

/// A checkpoint's tasks and the images that belong to each, read once.
///
/// `pstree.img` and `inventory.img` are read when the index is built; `files.img` on first use;
/// per-task images each time they are asked for (each view reads each of them once).
pub struct Index<'a> {
    pub ckpt: &'a Checkpoint,
    /// `inventory.img`'s entry, if the image is there and readable.
    pub inventory: Option<view::InventoryEntry<'a>>,
    tasks: Vec<Task>,
    by_pid: HashMap<u32, usize>,
    files: OnceCell<Files<'a>>,
}

impl fmt::Debug for Index<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Index").field("ckpt", &self.ckpt.path).field("tasks", &self.tasks.len()).finish()
    }
}

impl<'a> Index<'a> {
    /// Reads `pstree.img` (required) and `inventory.img` (if readable).
    pub fn new(ckpt: &'a Checkpoint) -> Result<Index<'a>, CheckpointError> {
        let inventory = first_entry::<view::InventoryEntry>(ckpt, "inventory.img", Kind::Inventory).ok().flatten();
        let Some(img) = typed_image(ckpt, "pstree.img", Kind::Pstree)? else {
            return Err(CheckpointError::Missing { file: "pstree.img".into() });
        };
        let msgs = messages(&img, "pstree.img")?;
        let mut tasks = Vec::with_capacity(msgs.len());
        let mut by_pid = HashMap::with_capacity(msgs.len());
        for m in msgs {
            let p: view::PstreeEntry = m.parse("pstree.img")?;
            by_pid.entry(p.pid()).or_insert(tasks.len());
            tasks.push(Task {
                entry: m.index,
                pid: p.pid(),
                ppid: p.ppid(),
                pgid: p.pgid(),
                sid: p.sid(),
                threads: p.threads().to_vec(),
            });
        }
        Ok(Index { ckpt, inventory, tasks, by_pid, files: OnceCell::new() })
    }

    /// Tasks in `pstree.img` order.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The task with this pid (the first, if pstree.img repeats it).
    pub fn task(&self, pid: u32) -> Option<&Task> {
        self.by_pid.get(&pid).map(|&i| &self.tasks[i])
    }

    /// The task whose thread `tid` is.
    pub fn task_of_thread(&self, tid: u32) -> Option<&Task> {
        self.task(tid).or_else(|| self.tasks.iter().find(|t| t.threads.contains(&tid)))
    }

    /// `files.img` and the legacy file images, read on first use.
    pub fn files(&self) -> Result<&Files<'a>, CheckpointError> {
        if let Some(f) = self.files.get() {
            return Ok(f);
        }
        let f = Files::load(self.ckpt)?;
        Ok(self.files.get_or_init(|| f))
    }

    /// `core-<tid>.img`.
    pub fn core(&self, tid: u32) -> Result<Option<view::CoreEntry<'a>>, CheckpointError> {
        first_entry(self.ckpt, &format!("core-{tid}.img"), Kind::Core)
    }

    /// `ids-<pid>.img`.
    pub fn ids(&self, pid: u32) -> Result<Option<view::TaskKobjIdsEntry<'a>>, CheckpointError> {
        first_entry(self.ckpt, &format!("ids-{pid}.img"), Kind::Ids)
    }

    /// `fs-<pid>.img`.
    pub fn fs(&self, pid: u32) -> Result<Option<view::FsEntry<'a>>, CheckpointError> {
        first_entry(self.ckpt, &format!("fs-{pid}.img"), Kind::Fs)
    }

    /// `mm-<pid>.img`.
    pub fn mm(&self, pid: u32) -> Result<Option<view::MmEntry<'a>>, CheckpointError> {
        first_entry(self.ckpt, &format!("mm-{pid}.img"), Kind::Mm)
    }

    /// `pagemap-<pid>.img`.
    pub fn pagemap(&self, pid: u32) -> Result<Option<Pagemap<'a>>, CheckpointError> {
        read_pagemap(self.ckpt, &format!("pagemap-{pid}.img"))
    }

    /// Whether `core-<pid>.img` says the task is a zombie ([`TASK_DEAD`]): then CRIU wrote no
    /// other per-task image for it, and their absence is not a problem.
    pub fn is_zombie(&self, pid: u32) -> bool {
        matches!(self.core(pid), Ok(Some(c)) if c.tc().is_some_and(|tc| tc.task_state() == TASK_DEAD))
    }

    /// The name of a task's fdinfo image: `fdinfo-<files_id>.img` when the inventory says fdinfo
    /// images are per files id (every CRIU since 2.x), else `fdinfo-<pid>.img`.
    pub fn fdinfo_name(&self, pid: u32, ids: Option<&view::TaskKobjIdsEntry<'_>>) -> String {
        let per_id = self.inventory.as_ref().and_then(|i| i.fdinfo_per_id()).unwrap_or(true);
        match ids {
            Some(ids) if per_id => format!("fdinfo-{}.img", ids.files_id()),
            _ => format!("fdinfo-{pid}.img"),
        }
    }

    /// A fdinfo image's entries.
    pub fn fdinfo(&self, name: &str) -> Result<Option<Vec<view::FdinfoEntry<'a>>>, CheckpointError> {
        all_entries(self.ckpt, name, Kind::Fdinfo)
    }
}

// ---------------------------------------------------------------------------------------------
// Text output helpers: the views print one line per VMA or pagemap entry, tens of thousands on a
// big checkpoint, so numbers are formatted by hand rather than through `fmt`.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `%0{width}lx`.
fn push_hex(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [b'0'; 16];
    let mut n = 0;
    let mut x = v;
    loop {
        tmp[15 - n] = HEX[(x & 15) as usize];
        n += 1;
        x >>= 4;
        if x == 0 {
            break;
        }
    }
    for _ in n..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(&tmp[16 - n..]);
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

/// `task_core_entry.task_state` values (compel/include/uapi/task-state.h).
pub fn task_state_name(state: u32) -> Option<&'static str> {
    Some(match state {
        1 => "alive",
        2 => "dead",
        3 => "stopped",
        4 => "helper",
        5 => "thread",
        6 => "zombie",
        _ => return None,
    })
}

/// One line of `ps`.
#[derive(Clone, Debug)]
pub struct PsRow<'a> {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// Nesting under the root task it is shown below.
    pub depth: usize,
    /// `tc.comm` from the task's core image.
    pub comm: Option<&'a [u8]>,
    /// `tc.task_state`.
    pub state: Option<u32>,
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

/// The order tasks are shown in: each root task (no parent, or a parent that is not in the tree)
/// in `pstree.img` order, each followed depth-first by its children in `pstree.img` order. With
/// one root and a consistent tree this is crit's order.
pub fn tree_order(index: &Index<'_>) -> Vec<(usize, usize)> {
    let tasks = index.tasks();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        if t.ppid != 0 && t.ppid != t.pid && index.task(t.ppid).is_some() {
            children.entry(t.ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut seen = vec![false; tasks.len()];
    let mut out = Vec::with_capacity(tasks.len());
    // Tasks caught in a parent cycle are reached from no root; they become roots at the end.
    let rest: Vec<usize> = (0..tasks.len()).collect();
    for start in roots.into_iter().chain(rest) {
        if seen[start] {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            out.push((i, depth));
            // Only the first task with a pid owns its children, so a repeated pid cannot print
            // a subtree twice.
            let owner = index.by_pid.get(&tasks[i].pid) == Some(&i);
            if let Some(kids) = children.get(&tasks[i].pid).filter(|_| owner) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
    }
    out
}

/// `crit x DIR ps`: the process tree with each task's command name.
pub fn ps<'a>(index: &Index<'a>) -> Report<PsRow<'a>> {
    let mut problems = Vec::new();
    let tasks = index.tasks();
    let rows = tree_order(index)
        .into_iter()
        .map(|(i, depth)| {
            let t = &tasks[i];
            let tc = match index.core(t.pid) {
                Ok(Some(core)) => core.tc(),
                Ok(None) => {
                    problems.push(Problem { file: format!("core-{}.img", t.pid), message: "missing: the command name is unknown".into() });
                    None
                }
                Err(e) => {
                    problems.push(Problem::from_error(&e));
                    None
                }
            };
            PsRow {
                pid: t.pid,
                ppid: t.ppid,
                pgid: t.pgid,
                sid: t.sid,
                depth,
                comm: tc.map(|tc| tc.comm()),
                state: tc.map(|tc| tc.task_state()),
                threads: t.threads.clone(),
            }
        })
        .collect();
    if tasks.iter().filter(|t| t.ppid == 0).count() > 1 {
        problems.push(Problem { file: "pstree.img".into(), message: "several root tasks (ppid 0); all are shown".into() });
    }
    for t in tasks {
        if t.ppid != 0 && index.task(t.ppid).is_none() {
            problems.push(Problem {
                file: "pstree.img".into(),
                message: format!("task {} has parent {}, which is not in the tree; it is shown as a root", t.pid, t.ppid),
            });
        }
    }
    Report { tasks: rows, problems }
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

fn problems_json(w: &mut JsonWriter, problems: &[Problem]) {
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
pub struct FdRow {
    pub fd: u32,
    pub type_: FdTypes,
    /// The file description's id in `files.img`.
    pub id: u32,
    /// crit's description: a path, `pipe[...]`, `unix[...]` or `<TYPE>.<id>`.
    pub desc: Vec<u8>,
}

/// A task's open files, working directory and root.
#[derive(Clone, Debug)]
pub struct FdsTask {
    pub pid: u32,
    /// `files_id` from its ids image.
    pub files_id: Option<u32>,
    pub fds: Vec<FdRow>,
    pub cwd: Option<Vec<u8>>,
    pub root: Option<Vec<u8>>,
}

/// `crit x DIR fds`: each task's open files (in `pstree.img` order), then its cwd and root.
pub fn fds(index: &Index<'_>) -> Result<Report<FdsTask>, CheckpointError> {
    let files = index.files()?;
    let mut problems = missing_files_table(index);
    let mut tasks = Vec::with_capacity(index.tasks().len());
    for t in index.tasks() {
        let ids = index.ids(t.pid).unwrap_or_else(|e| {
            problems.push(Problem::from_error(&e));
            None
        });
        let name = index.fdinfo_name(t.pid, ids.as_ref());
        if ids.is_none() && !index.ckpt.contains(&format!("ids-{}.img", t.pid)) && !index.is_zombie(t.pid) {
            problems.push(Problem { file: format!("ids-{}.img", t.pid), message: "missing: open files are looked up by pid".into() });
        }
        let mut fds = Vec::new();
        match index.fdinfo(&name) {
            Ok(Some(entries)) => {
                for e in entries {
                    fds.push(FdRow { fd: e.fd(), type_: e.type_(), id: e.id(), desc: files.describe(e.type_(), e.id()) });
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        let (mut cwd, mut root) = (None, None);
        match index.fs(t.pid) {
            Ok(Some(fs)) => {
                cwd = Some(files.reg_path(fs.cwd_id()).to_vec());
                root = Some(files.reg_path(fs.root_id()).to_vec());
            }
            Ok(None) if index.is_zombie(t.pid) => {}
            Ok(None) => problems.push(Problem { file: format!("fs-{}.img", t.pid), message: "missing: cwd and root are unknown".into() }),
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        tasks.push(FdsTask { pid: t.pid, files_id: ids.map(|i| i.files_id()), fds, cwd, root });
    }
    Ok(Report { tasks, problems })
}

/// Writes `fds` as crit does: the pid, `"\t%7d: %s"` per fd, then `cwd` and `root`.
pub fn write_fds_text(tasks: &[FdsTask], out: &mut dyn Write) -> io::Result<()> {
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
/// `desc` is the text form's description; `type` the fd type's name (its number if it has none);
/// `files_id`, `cwd` and `root` are `null` when their image is missing.
pub fn write_fds_json(report: &Report<FdsTask>, out: &mut dyn Write) -> io::Result<()> {
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
    Stack,
    Vsyscall,
    Vdso,
    /// Not marked as a stack, but `MAP_GROWSDOWN`.
    GrowsDown,
    /// Anything else: private anonymous memory, heap, vvar, AIO rings, memfd mappings (whose
    /// file is not a regular one).
    Anon,
}

impl VmaKind {
    pub fn of(status: u32, flags: u32) -> VmaKind {
        use vma_status as s;
        if status & s::SYSVIPC != 0 {
            VmaKind::SysvIpc
        } else if status & s::ANON_SHARED != 0 {
            VmaKind::Shmem
        } else if status & s::SOCKET != 0 {
            VmaKind::Packet
        } else if status & (s::FILE_PRIVATE | s::FILE_SHARED) != 0 {
            VmaKind::File
        } else if status & s::STACK != 0 {
            VmaKind::Stack
        } else if status & s::VSYSCALL != 0 {
            VmaKind::Vsyscall
        } else if status & s::VDSO != 0 {
            VmaKind::Vdso
        } else if flags & MAP_GROWSDOWN != 0 {
            VmaKind::GrowsDown
        } else {
            VmaKind::Anon
        }
    }

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

/// One VMA of a task.
#[derive(Clone, Debug)]
pub struct VmaRow<'a> {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub shmid: u64,
    pub prot: u32,
    pub flags: u32,
    pub status: u32,
    pub kind: VmaKind,
    /// For [`VmaKind::File`]: the file's path, or `unknown path`.
    pub path: Option<&'a [u8]>,
}

impl VmaRow<'_> {
    /// `rwx` with `-` for each missing permission.
    pub fn prot_text(&self) -> [u8; 3] {
        [
            if self.prot & 1 != 0 { b'r' } else { b'-' },
            if self.prot & 2 != 0 { b'w' } else { b'-' },
            if self.prot & 4 != 0 { b'x' } else { b'-' },
        ]
    }
    /// Whether the file mapping is shared.
    pub fn shared(&self) -> bool {
        self.status & vma_status::FILE_SHARED != 0
    }
    /// Whether CRIU restores it as a regular VMA (crit marks the others with `*`).
    pub fn regular(&self) -> bool {
        self.status & vma_status::REGULAR != 0
    }
    pub fn pages(&self) -> u64 {
        self.end.saturating_sub(self.start) / PAGE_SIZE
    }
}

/// A task's memory map.
#[derive(Clone, Debug)]
pub struct MemsTask<'a> {
    pub pid: u32,
    /// The executable's path (from `exe_file_id`), `None` when the mm image is missing.
    pub exe: Option<&'a [u8]>,
    pub vmas: Vec<VmaRow<'a>>,
}

fn vma_rows<'a>(mm: &view::MmEntry<'a>, files: &Files<'a>) -> Vec<VmaRow<'a>> {
    let vmas = mm.vmas();
    let mut out = Vec::with_capacity(vmas.len());
    for v in vmas {
        let kind = VmaKind::of(v.status(), v.flags());
        out.push(VmaRow {
            start: v.start(),
            end: v.end(),
            pgoff: v.pgoff(),
            shmid: v.shmid(),
            prot: v.prot(),
            flags: v.flags(),
            status: v.status(),
            kind,
            path: (kind == VmaKind::File).then(|| u32::try_from(v.shmid()).map_or(&b"unknown path"[..], |id| files.reg_path(id))),
        });
    }
    out
}

/// `crit x DIR mems`: each task's executable and VMAs, in `pstree.img` order.
pub fn mems<'a>(index: &Index<'a>) -> Result<Report<MemsTask<'a>>, CheckpointError> {
    let files = index.files()?;
    let mut problems = missing_files_table(index);
    let mut tasks = Vec::with_capacity(index.tasks().len());
    for t in index.tasks() {
        let (exe, vmas) = match index.mm(t.pid) {
            Ok(Some(mm)) => (Some(files.reg_path(mm.exe_file_id())), vma_rows(&mm, files)),
            Ok(None) => {
                if !index.is_zombie(t.pid) {
                    problems.push(Problem { file: format!("mm-{}.img", t.pid), message: "missing: no memory map".into() });
                }
                (None, Vec::new())
            }
            Err(e) => {
                problems.push(Problem::from_error(&e));
                (None, Vec::new())
            }
        };
        tasks.push(MemsTask { pid: t.pid, exe, vmas });
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
        for v in &t.vmas {
            buf.push(b'\t');
            let at = buf.len();
            push_hex(&mut buf, v.start, 8);
            buf.push(b'-');
            push_hex(&mut buf, v.end, 8);
            let w = buf.len() - at;
            pad(&mut buf, 36usize.saturating_sub(w));
            buf.extend_from_slice(&v.prot_text());
            let mut number = |label: &str, buf: &mut Vec<u8>| {
                let next = numbers.len() as u64 + 1;
                let n = *numbers.entry(v.shmid).or_insert(next);
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
                    if v.pgoff != 0 {
                        buf.extend_from_slice(b" + 0x");
                        push_hex(&mut buf, v.pgoff, 0);
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
///             "vmas": [{"start": 4194304, "end": 4202496, "prot": "r-x", "kind": "file",
///                       "path": "/usr/bin/sleep", "pgoff": 0, "shared": false,
///                       "regular": true, "shmid": 1, "flags": 2, "status": 65}, ...]}, ...],
///  "problems": [...]}
/// ```
///
/// `kind` is one of `sysvipc`, `shmem`, `packet`, `file`, `stack`, `vsyscall`, `vdso`,
/// `growsdown`, `anon`; `path` is present for `file` only. `shmid`, `flags` and `status` are the
/// image's raw values (`shmid` is the file id for file mappings and the segment id for shared
/// memory). Addresses are exact JSON integers.
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
        for v in &t.vmas {
            w.begin_object();
            w.key("start");
            w.u64(v.start);
            w.key("end");
            w.u64(v.end);
            w.key("prot");
            w.str(std::str::from_utf8(&v.prot_text()).unwrap_or("---"));
            w.key("kind");
            w.str(v.kind.name());
            if let Some(p) = v.path {
                w.key("path");
                w.str_bytes(p);
            }
            w.key("pgoff");
            w.u64(v.pgoff);
            w.key("shared");
            w.bool(v.shared());
            w.key("regular");
            w.bool(v.regular());
            w.key("shmid");
            w.u64(v.shmid);
            w.key("flags");
            w.u64(v.flags.into());
            w.key("status");
            w.u64(v.status.into());
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
pub struct RssRow {
    /// Its index in the pagemap image (the head is entry 0).
    pub entry: usize,
    pub vaddr: u64,
    pub nr_pages: u64,
    /// `PE_*` flags, after CRIU's compatibility rules for old images.
    pub flags: u32,
    /// Indices into the task's `vmas` of the VMAs the entry overlaps, in address order.
    pub vmas: Vec<usize>,
}

/// A task's resident pages.
#[derive(Clone, Debug)]
pub struct RssTask<'a> {
    pub pid: u32,
    pub vmas: Vec<VmaRow<'a>>,
    pub pages: Vec<RssRow>,
}

impl RssTask<'_> {
    /// Pages of all pagemap entries.
    pub fn total_pages(&self) -> u64 {
        self.pages.iter().map(|p| p.nr_pages).fold(0, u64::saturating_add)
    }
    /// Pages whose contents are in this checkpoint's pages images.
    pub fn present_pages(&self) -> u64 {
        self.pages.iter().filter(|p| p.flags & PE_PRESENT != 0).map(|p| p.nr_pages).fold(0, u64::saturating_add)
    }
}

/// The end address of `nr_pages` pages from `vaddr`, saturating.
pub fn pages_end(vaddr: u64, nr_pages: u64) -> u64 {
    vaddr.saturating_add(nr_pages.saturating_mul(PAGE_SIZE))
}

/// `crit x DIR rss`: each task's pagemap entries and the VMAs they fall in, in `pstree.img` order.
pub fn rss<'a>(index: &Index<'a>) -> Result<Report<RssTask<'a>>, CheckpointError> {
    let files = index.files()?;
    let mut problems = missing_files_table(index);
    let mut tasks = Vec::with_capacity(index.tasks().len());
    for t in index.tasks() {
        let vmas = match index.mm(t.pid) {
            Ok(Some(mm)) => vma_rows(&mm, files),
            Ok(None) => {
                if !index.is_zombie(t.pid) {
                    problems.push(Problem { file: format!("mm-{}.img", t.pid), message: "missing: pages are shown without VMAs".into() });
                }
                Vec::new()
            }
            Err(e) => {
                problems.push(Problem::from_error(&e));
                Vec::new()
            }
        };
        let mut pages = Vec::new();
        match index.pagemap(t.pid) {
            Ok(Some(pm)) => {
                pages.reserve(pm.entries.len());
                // VMAs are sorted by address in every image CRIU writes; walk them alongside.
                let mut vi = 0usize;
                for (entry, e) in &pm.entries {
                    let vaddr = e.vaddr();
                    let n = nr_pages(e);
                    let end = pages_end(vaddr, n);
                    while vi < vmas.len() && vmas[vi].end <= vaddr {
                        vi += 1;
                    }
                    // Out-of-order input: fall back to a scan from the start.
                    if vi > 0 && vmas[vi - 1].end > vaddr {
                        vi = vmas.iter().position(|v| v.end > vaddr).unwrap_or(vmas.len());
                    }
                    let mut over = Vec::new();
                    let mut k = vi;
                    while k < vmas.len() && vmas[k].start < end {
                        if vmas[k].end > vaddr {
                            over.push(k);
                        }
                        k += 1;
                    }
                    pages.push(RssRow { entry: *entry, vaddr, nr_pages: n, flags: pe_flags(e), vmas: over });
                }
            }
            Ok(None) if index.is_zombie(t.pid) => {}
            Ok(None) => problems.push(Problem { file: format!("pagemap-{}.img", t.pid), message: "missing: no pages".into() }),
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        tasks.push(RssTask { pid: t.pid, vmas, pages });
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
            push_hex(&mut buf, p.vaddr, 0);
            buf.extend_from_slice(b" / ");
            push_dec_left(&mut buf, p.nr_pages, 8);
            let w = buf.len() - at;
            pad(&mut buf, 23usize.saturating_sub(w));
            for &k in &p.vmas {
                if last == Some(k) {
                    buf.extend_from_slice(b" ~");
                } else {
                    let Some(v) = t.vmas.get(k) else { continue };
                    buf.push(b' ');
                    push_hex(&mut buf, v.start, 8);
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
    for (name, bit) in tables::PMAP_FLAGS {
        if u64::from(flags) & bit != 0 {
            w.str(name.trim_start_matches("PE_"));
        }
    }
    let rest = u64::from(flags) & !tables::PMAP_FLAGS.iter().fold(0, |a, (_, b)| a | b);
    if rest != 0 {
        w.str(&format!("{rest:#x}"));
    }
    w.end_array();
}

/// Writes `rss` as JSON:
///
/// ```text
/// {"tasks": [{"pid": 1, "total_pages": 30, "present_pages": 28,
///             "pagemap": [{"vaddr": 4194304, "nr_pages": 2, "flags": ["PRESENT"],
///                          "vmas": [{"start": 4194304, "end": 4202496, "path": "/usr/bin/sleep"}]},
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
            w.u64(p.vaddr);
            w.key("nr_pages");
            w.u64(p.nr_pages);
            w.key("flags");
            pe_flag_names(&mut w, p.flags);
            w.key("vmas");
            w.begin_array();
            for v in p.vmas.iter().filter_map(|&k| t.vmas.get(k)) {
                w.begin_object();
                w.key("start");
                w.u64(v.start);
                w.key("end");
                w.u64(v.end);
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

/// What a socket is, with its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketInfo {
    Unix {
        /// `stream`, `dgram`, `seqpacket`, or the number.
        type_: String,
        state: String,
        ino: u32,
        /// The peer's inode, 0 when unconnected.
        peer: u32,
        /// The bound name, raw (abstract names start with a NUL byte).
        name: Vec<u8>,
    },
    Inet {
        /// `tcp`, `udp`, `udplite`, `raw`, or the protocol number.
        proto: String,
        /// 4 or 6.
        version: u8,
        state: String,
        src: String,
        src_port: u32,
        dst: String,
        dst_port: u32,
    },
    Netlink {
        /// `route`, `audit`, ..., or the number.
        protocol: String,
        portid: u32,
        groups: Vec<u32>,
        dst_portid: u32,
        dst_group: u32,
    },
    Packet {
        /// `dgram`, `raw`, or the number.
        type_: String,
        /// The ethertype in host order (`protocol` is stored in network order).
        protocol: u16,
        ifindex: u32,
    },
}

/// One socket fd of a task.
#[derive(Clone, Debug)]
pub struct SocketRow {
    pub fd: u32,
    pub id: u32,
    pub info: SocketInfo,
}

/// A task's sockets.
#[derive(Clone, Debug)]
pub struct SocketsTask {
    pub pid: u32,
    pub sockets: Vec<SocketRow>,
}

fn dict(table: &pjson::DictTable, v: u32) -> String {
    table.iter().find(|(k, _)| *k == u64::from(v)).map_or_else(|| v.to_string(), |(_, n)| n.to_ascii_lowercase())
}

fn netlink_protocol(p: u32) -> String {
    const NAMES: [&str; 23] = [
        "route", "unused", "usersock", "firewall", "sock_diag", "nflog", "xfrm", "selinux", "iscsi", "audit",
        "fib_lookup", "connector", "netfilter", "ip6_fw", "dnrtmsg", "kobject_uevent", "generic", "", "scsitransport",
        "ecryptfs", "rdma", "crypto", "smc",
    ];
    match NAMES.get(p as usize) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => p.to_string(),
    }
}

fn socket_info(f: &view::FileEntry<'_>) -> Option<SocketInfo> {
    if let Some(u) = f.usk() {
        return Some(SocketInfo::Unix {
            type_: dict(tables::DICT_SK_TYPE, u.type_()),
            state: dict(tables::DICT_SK_STATE, u.state()),
            ino: u.ino(),
            peer: u.peer(),
            name: u.name().to_vec(),
        });
    }
    if let Some(i) = f.isk() {
        let addr = |words: Vec<u32>| pjson::format_ipadd(&words).unwrap_or_else(|| format!("{words:?}"));
        // SOCK_RAW sockets carry the IP protocol they see, not a transport.
        let proto = match (i.type_(), i.proto()) {
            (3, 0) => "raw".to_string(),
            (3, p) => format!("raw:{p}"),
            (_, p) => dict(tables::DICT_SK_PROTO, p),
        };
        return Some(SocketInfo::Inet {
            proto,
            version: if i.family() == 10 { 6 } else { 4 },
            state: dict(tables::DICT_SK_STATE, i.state()),
            src: addr(i.src_addr().to_vec()),
            src_port: i.src_port(),
            dst: addr(i.dst_addr().to_vec()),
            dst_port: i.dst_port(),
        });
    }
    if let Some(n) = f.nlsk() {
        return Some(SocketInfo::Netlink {
            protocol: netlink_protocol(n.protocol()),
            portid: n.portid(),
            groups: n.groups().to_vec(),
            dst_portid: n.dst_portid(),
            dst_group: n.dst_group(),
        });
    }
    if let Some(p) = f.psk() {
        return Some(SocketInfo::Packet {
            type_: dict(tables::DICT_SK_TYPE, p.type_()),
            protocol: u16::from_be(p.protocol() as u16),
            ifindex: p.ifindex(),
        });
    }
    None
}

/// Sockets' extra view (after checkpointctl): each task's unix, inet, netlink and packet socket
/// fds with addresses, ports and state, in `pstree.img` order.
pub fn sockets(index: &Index<'_>) -> Result<Report<SocketsTask>, CheckpointError> {
    let files = index.files()?;
    let mut problems = missing_files_table(index);
    let mut tasks = Vec::new();
    for t in index.tasks() {
        let ids = index.ids(t.pid).unwrap_or_else(|e| {
            problems.push(Problem::from_error(&e));
            None
        });
        let name = index.fdinfo_name(t.pid, ids.as_ref());
        let mut sockets = Vec::new();
        match index.fdinfo(&name) {
            Ok(Some(entries)) => {
                for e in entries {
                    if !matches!(e.type_(), FdTypes::UNIXSK | FdTypes::INETSK | FdTypes::NETLINKSK | FdTypes::PACKETSK) {
                        continue;
                    }
                    let info = files.get(e.id()).as_ref().and_then(socket_info);
                    match info {
                        Some(info) => sockets.push(SocketRow { fd: e.fd(), id: e.id(), info }),
                        None => problems.push(Problem {
                            file: name.clone(),
                            message: format!("fd {}: socket {} is not in files.img", e.fd(), e.id()),
                        }),
                    }
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(Problem::from_error(&e)),
        }
        tasks.push(SocketsTask { pid: t.pid, sockets });
    }
    Ok(Report { tasks, problems })
}

/// A unix socket name for display: abstract names (leading NUL) start with `@`, the terminating
/// NUL that bound paths carry is dropped, other unprintable bytes are `\xNN`.
pub fn unix_name_text(name: &[u8]) -> String {
    let (prefix, rest) = match name.split_first() {
        Some((0, rest)) => ("@", rest),
        _ => ("", name),
    };
    let rest = if prefix.is_empty() { rest.strip_suffix(b"\0").unwrap_or(rest) } else { rest };
    let mut s = String::from(prefix);
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

fn endpoint(addr: &str, port: u32, v6: bool) -> String {
    if v6 { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") }
}

impl SocketInfo {
    /// One-line description, e.g. `tcp listen 127.0.0.1:5555`,
    /// `unix stream established ino 35728 peer 35729 /run/x.sock`.
    pub fn text(&self) -> String {
        match self {
            SocketInfo::Unix { type_, state, ino, peer, name } => {
                let mut s = format!("unix {type_} {state} ino {ino}");
                if *peer != 0 {
                    s.push_str(&format!(" peer {peer}"));
                }
                if !name.is_empty() {
                    s.push(' ');
                    s.push_str(&unix_name_text(name));
                }
                s
            }
            SocketInfo::Inet { proto, version, state, src, src_port, dst, dst_port } => {
                let v6 = *version == 6;
                let mut s = format!("{proto}{} {state} {}", if v6 { "6" } else { "" }, endpoint(src, *src_port, v6));
                if *dst_port != 0 || (dst != "0.0.0.0" && dst != "::") {
                    s.push_str(&format!(" -> {}", endpoint(dst, *dst_port, v6)));
                }
                s
            }
            SocketInfo::Netlink { protocol, portid, groups, dst_portid, dst_group } => {
                let mut s = format!("netlink {protocol} portid {portid}");
                let g: Vec<String> = groups.iter().filter(|&&g| g != 0).map(|g| format!("{g:#x}")).collect();
                if !g.is_empty() {
                    s.push_str(&format!(" groups {}", g.join(",")));
                }
                if *dst_portid != 0 || *dst_group != 0 {
                    s.push_str(&format!(" -> {dst_portid}:{dst_group}"));
                }
                s
            }
            SocketInfo::Packet { type_, protocol, ifindex } => {
                let proto = match protocol {
                    0x0003 => "all".to_string(),
                    0x0800 => "ip".to_string(),
                    0x0806 => "arp".to_string(),
                    0x86dd => "ipv6".to_string(),
                    p => format!("{p:#06x}"),
                };
                format!("packet {type_} {proto} ifindex {ifindex}")
            }
        }
    }
}

/// Writes the sockets view: the pid, then `"\t%7d: %s"` per socket fd, like `fds`.
pub fn write_sockets_text(tasks: &[SocketsTask], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::new();
    for t in tasks {
        let _ = writeln!(buf, "{}", t.pid);
        for s in &t.sockets {
            let _ = writeln!(buf, "\t{:7}: {}", s.fd, s.info.text());
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
///      "ino": 35728, "peer": 35729, "name": ""},
///     {"fd": 28, "id": 43, "family": "netlink", "protocol": "route", "portid": 20321,
///      "groups": [], "dst_portid": 0, "dst_group": 0},
///     {"fd": 29, "id": 44, "family": "packet", "type": "dgram", "protocol": 3, "ifindex": 0}]}],
///  "problems": [...]}
/// ```
///
/// Names are lower-case (`state` of unix and inet sockets uses TCP's state names, as the kernel
/// does); values without a name are numbers as strings. A unix `name` is the raw bound name
/// (non-UTF-8 bytes as `\udcXX`), `protocol` of a packet socket the ethertype in host order.
pub fn write_sockets_json(report: &Report<SocketsTask>, out: &mut dyn Write) -> io::Result<()> {
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
            match &s.info {
                SocketInfo::Unix { type_, state, ino, peer, name } => {
                    w.key("family");
                    w.str("unix");
                    w.key("type");
                    w.str(type_);
                    w.key("state");
                    w.str(state);
                    w.key("ino");
                    w.u64((*ino).into());
                    w.key("peer");
                    w.u64((*peer).into());
                    w.key("name");
                    w.str_bytes(name);
                }
                SocketInfo::Inet { proto, version, state, src, src_port, dst, dst_port } => {
                    w.key("family");
                    w.str("inet");
                    w.key("proto");
                    w.str(proto);
                    w.key("version");
                    w.u64((*version).into());
                    w.key("state");
                    w.str(state);
                    w.key("src");
                    w.str(src);
                    w.key("src_port");
                    w.u64((*src_port).into());
                    w.key("dst");
                    w.str(dst);
                    w.key("dst_port");
                    w.u64((*dst_port).into());
                }
                SocketInfo::Netlink { protocol, portid, groups, dst_portid, dst_group } => {
                    w.key("family");
                    w.str("netlink");
                    w.key("protocol");
                    w.str(protocol);
                    w.key("portid");
                    w.u64((*portid).into());
                    w.key("groups");
                    w.begin_array();
                    for &g in groups {
                        w.u64(g.into());
                    }
                    w.end_array();
                    w.key("dst_portid");
                    w.u64((*dst_portid).into());
                    w.key("dst_group");
                    w.u64((*dst_group).into());
                }
                SocketInfo::Packet { type_, protocol, ifindex } => {
                    w.key("family");
                    w.str("packet");
                    w.key("type");
                    w.str(type_);
                    w.key("protocol");
                    w.u64((*protocol).into());
                    w.key("ifindex");
                    w.u64((*ifindex).into());
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

/// A problem when the checkpoint has no file table at all (`files.img`, or the legacy per-type
/// images): every path a view prints is then unknown. CRIU writes `files.img` for every dump
/// (cwd and root alone need it), so its absence is worth saying.
fn missing_files_table(index: &Index<'_>) -> Vec<Problem> {
    let c = index.ckpt;
    if c.contains("files.img") || c.contains("reg-files.img") {
        return Vec::new();
    }
    vec![Problem { file: "files.img".into(), message: "missing: paths and file descriptions are unknown".into() }]
}

/// Pids that are a task or a thread of the checkpoint.
pub fn all_tids(index: &Index<'_>) -> HashSet<u32> {
    index.tasks().iter().flat_map(|t| std::iter::once(t.pid).chain(t.threads.iter().copied())).collect()
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
        use vma_status as s;
        assert_eq!(VmaKind::of(s::SYSVIPC | s::ANON_SHARED, 0), VmaKind::SysvIpc);
        assert_eq!(VmaKind::of(s::SOCKET | s::ANON_SHARED, 0), VmaKind::Shmem);
        assert_eq!(VmaKind::of(s::SOCKET | s::FILE_PRIVATE, 0), VmaKind::Packet);
        assert_eq!(VmaKind::of(s::FILE_PRIVATE | s::STACK, 0), VmaKind::File);
        assert_eq!(VmaKind::of(s::VDSO, MAP_GROWSDOWN), VmaKind::Vdso);
        assert_eq!(VmaKind::of(s::REGULAR, MAP_GROWSDOWN), VmaKind::GrowsDown);
        assert_eq!(VmaKind::of(s::REGULAR | s::MEMFD | s::FILE_SHARED, 0), VmaKind::File);
    }

    #[test]
    fn unix_names() {
        assert_eq!(unix_name_text(b"/tmp/s\0"), "/tmp/s");
        assert_eq!(unix_name_text(b"\0abstract"), "@abstract");
        assert_eq!(unix_name_text(b"a\nb\xff"), "a\\x0ab\\xff");
    }
}
