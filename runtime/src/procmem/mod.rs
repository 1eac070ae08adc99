//! Dump a live process's private memory into CRIU's `pagemap-<pid>.img` + `pages-<id>.img`,
//! without a parasite and without pinning the memory in pipes.
//!
//! CRIU's dump and splice-mode pre-dump have the frozen task `vmsplice` all its dumpable memory
//! into pipes, so every page is held unreclaimable until written. Its read mode
//! (`--pre-dump-mode=read`) copies with `process_vm_readv` through a bounded buffer instead; this
//! module is that reader as a library part:
//!
//! 1. the VMAs come from `/proc/PID/smaps` ([`maps`]), classified as CRIU 4.2 does: private
//!    anonymous and private file mappings, the vDSO whole; never vvar, vsyscall, shared mappings;
//! 2. which pages to dump comes from `PAGEMAP_SCAN` or `/proc/PID/pagemap` ([`scan`]): present or
//!    swapped, not the zero page, not a page-cache page of a private file mapping;
//! 3. the pages are copied with batched `process_vm_readv` into a buffer of bounded size
//!    ([`DumpOptions::buffer_size`], 4 MiB by default), falling back page by page when pages
//!    vanish (module `read`);
//! 4. the runs are cut exactly where CRIU cuts them ([`layout`]) and written with the crate's
//!    image writer ([`image`]).
//!
//! With a previous dump ([`DumpOptions::parent`]) the dump is incremental, like a CRIU pre-dump
//! chain: pages whose content equals the parent's become `PE_PARENT` runs and a `parent` symlink
//! points at the previous directory. Where the kernel tracks soft-dirty pages, clean pages are
//! taken from the parent without reading them; where it does not (`CONFIG_MEM_SOFT_DIRTY` unset,
//! as on the machine this was written on), content comparison finds them.
//!
//! Memory held is the buffer plus bookkeeping proportional to one buffer's worth of runs,
//! whatever the size of the target ([`Summary::memory_held`]).
//!
//! The target should be stopped (`SIGSTOP`, or frozen) for a consistent image; a running target
//! gives a fuzzy one, as CRIU's read-mode pre-dump does.
//!
//! # Compared with CRIU's own images
//!
//! For a stopped task, `tests/procmem.rs` finds our `pagemap-<pid>.img` and `pages-<id>.img`
//! byte-identical to what `criu dump` (4.2.1) wrote, and CRIU restores from ours, including
//! three-level `PE_PARENT` chains. What can differ, and why:
//!
//! * **One page of the first executable mapping.** CRIU's compel pokes its syscall trampoline
//!   into the first page of the task's first executable VMA (and puts the bytes back), which
//!   turns that page into a private copy. Every CRIU dump therefore contains it; a task CRIU has
//!   never touched still has the file's page there, so we do not dump it. Restore gives the same
//!   bytes either way.
//! * **Where long runs are cut.** CRIU cuts at its page-pipe buffer size, which depends on the
//!   credentials CRIU runs with ([`layout::ppb_capacity`]); we assume ours
//!   ([`DumpOptions::run_pages`] overrides it). Pages and bytes are unaffected.
//! * **`PE_LAZY`** follows CRIU's rules, including its `is_stack()` test that in fact compares
//!   offsets within a page ([`layout`]).
//! * **Mappings without `PROT_READ`**: CRIU's parasite makes them readable for the dump; we read
//!   them through `/proc/PID/mem` ([`Unreadable::ProcMem`]), or skip them like CRIU's read-mode
//!   pre-dump ([`Unreadable::Skip`]). As in CRIU, they never become `PE_PARENT`.
//! * **`VM_IO`/`VM_PFNMAP` mappings**: CRIU refuses to dump the task; we skip the mapping.
//! * **Pages that vanish while we read** (only possible if the task runs): dropped and counted
//!   in [`Summary::pages_faulted`], as CRIU's read mode does; a frozen task never shows this.
//! * **The zero page.** A page the task has only read maps the kernel's shared zero page (or,
//!   with THP, the huge zero page). It is "present" in pagemap, but its bytes are zero and a
//!   restore that maps nothing there reads zero too, so CRIU skips it (`PAGE_IS_PFNZERO` with
//!   `PAGEMAP_SCAN`, a PFN comparison otherwise) and so do we. A page the task *wrote* zeroes
//!   to is a private page and is dumped by both.
//! * **Incremental dumps** compare contents where CRIU (pre-dump, `--track-mem`) trusts
//!   soft-dirty bits, so a page rewritten with the same bytes is `PE_PARENT` with us and
//!   `PE_PRESENT` with CRIU. On kernels without `CONFIG_MEM_SOFT_DIRTY`, like the one this was
//!   written on, CRIU cannot pre-dump at all (`task_reset_dirty_track` hits
//!   `BUG_ON(!kdat.has_dirty_track)`, "BUG at criu/mem.c:46").
//!
//! ```no_run
//! use criu_image::procmem::{dump, DumpOptions};
//! let summary = dump(1234, "/tmp/ckpt".as_ref(), &DumpOptions::default(), &mut |_| {})?;
//! println!("{} pages, {:.2} GB/s", summary.pages_written, summary.gb_per_s());
//! # Ok::<(), criu_image::procmem::Error>(())
//! ```

use std::fs::File;

use criu_image_proto::support::json::JsonWriter;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod error;
pub mod image;
pub mod layout;
pub mod maps;
mod read;
mod remote;
pub mod scan;

pub use error::Error;
pub use remote::{RoundOptions, RoundSummary, dump_to_page_server};
pub use scan::{KernelFacts, ScanMode};

use crate::page_server::record::{self, Record, RecordWriter};
use crate::page_server::{Connection, ImageId};

use image::{PageChain, PagemapWriter};
use layout::{Layout, Run};
use maps::{Disposition, Vma};
use read::{Got, Reader, Req, Tag};
use scan::{Scanner, Span};

/// The page size this module works in (x86-64, and what CRIU's crit assumes).
pub const PAGE_SIZE: usize = 4096;

/// `IOV_MAX`: the most iovecs one `process_vm_readv` accepts.
pub const IOV_MAX: usize = 1024;

/// Where pages go on their way to `pages-<id>.img`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputMode {
    /// Read into our buffer, then `write()` it: two copies, but the copy into the page cache can
    /// overlap the next read ([`DumpOptions::pipeline`]).
    #[default]
    Write,
    /// Read straight into a shared mapping of the pages file, a window of `buffer_size` at a
    /// time: one copy, but every page of the window is a page-cache fault (and zeroed first).
    /// Measured: 0.9 GB/s, an eighth of [`Write`](Self::Write); kept for the comparison.
    Mmap,
}

/// What to do with private mappings that lack `PROT_READ`, which `process_vm_readv` cannot read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unreadable {
    /// Read them through `/proc/PID/mem`, as CRIU's dump does (its parasite adds `PROT_READ`
    /// for the duration). Never `PE_PARENT`, as in CRIU.
    #[default]
    ProcMem,
    /// Skip them, as CRIU's read-mode pre-dump does.
    Skip,
}

/// How to dump. `Default` gives CRIU-identical images with a 4 MiB buffer.
#[derive(Clone, Debug)]
pub struct DumpOptions {
    /// Bytes of buffer between the target and the pages file (rounded down to whole pages, at
    /// least 2 pages). With [`pipeline`](Self::pipeline) it is split in two halves. Measured on a
    /// 1 GiB target: 1 MiB 6.4 GB/s, 4 MiB 7.4 GB/s, 16 MiB 6.0 GB/s (halves that no longer stay
    /// in cache between the read and the write).
    pub buffer_size: usize,
    /// Remote iovecs per `process_vm_readv`, 1..=[`IOV_MAX`]. It matters for scattered memory:
    /// with every other page present, 1 → 1.8 GB/s, 16 → 3.6 GB/s, 1024 → 4.2 GB/s.
    pub iov_batch: usize,
    /// The id in `pages-<id>.img` and `pagemap_head.pages_id`. CRIU numbers them per dump from 1
    /// across all tasks and shared memory; to drop our images into a CRIU dump, use its id.
    pub pages_id: u32,
    /// The PID in the image file name, when the task's PID in its namespace differs from the
    /// one we read it by.
    pub image_pid: Option<u32>,
    /// The previous dump directory, as CRIU's `--prev-images-dir`: relative to the output
    /// directory, or absolute. A `parent` symlink with exactly this text is created.
    pub parent: Option<PathBuf>,
    /// Take pages the kernel reports soft-clean from the parent without reading them. Only
    /// meaningful where the kernel tracks soft-dirty pages and the parent dump was followed by
    /// [`track_mem`](Self::track_mem).
    pub use_soft_dirty: bool,
    /// Compare read pages with the parent's and write equal ones as `PE_PARENT`.
    pub compare_with_parent: bool,
    /// After the dump, clear the target's soft-dirty bits (`/proc/PID/clear_refs` ← 4) so the next
    /// incremental dump can use them. Ignored where the kernel does not track them.
    pub track_mem: bool,
    /// How to find the pages to dump: `PAGEMAP_SCAN` where the kernel has it (the default,
    /// [`ScanMode::Auto`]), or `/proc/PID/pagemap`.
    pub scan: ScanMode,
    /// Where pages go on their way to the pages file (the default, [`OutputMode::Write`], is the
    /// fastest measured).
    pub output: OutputMode,
    /// With [`OutputMode::Write`], read into one half of the buffer on a second thread while the
    /// other half is compared and written. Measured: 7.4 GB/s against 5.9 GB/s serial.
    pub pipeline: bool,
    /// Reserve disk blocks for the pages file ahead of the writes (`fallocate`, 64 MiB at a
    /// time, the excess given back at the end), which makes ext4's buffered writes cheaper.
    /// Measured: 7.4 GB/s against 5.6 GB/s.
    pub preallocate: bool,
    /// Ask for transparent huge pages for the buffer (`MADV_HUGEPAGE`). Measured: no difference
    /// (the benchmark's `ours/thp-buffer`), so off by default.
    pub huge_buffer: bool,
    /// What to do with private mappings that lack `PROT_READ` (the default reads them through
    /// `/proc/PID/mem`, as CRIU's dump does).
    pub unreadable: Unreadable,
    /// The most pages in one pagemap entry, counted per CRIU page-pipe buffer ([`layout`]).
    /// `None`: what CRIU running with our credentials would use ([`layout::ppb_capacity`]).
    pub run_pages: Option<u64>,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            buffer_size: 4 << 20,
            iov_batch: IOV_MAX,
            pages_id: 1,
            image_pid: None,
            parent: None,
            use_soft_dirty: true,
            compare_with_parent: true,
            track_mem: false,
            scan: ScanMode::Auto,
            output: OutputMode::Write,
            pipeline: true,
            preallocate: true,
            huge_buffer: false,
            unreadable: Unreadable::ProcMem,
            run_pages: None,
        }
    }
}

/// Reported after each buffer is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Bytes of dumpable address space walked so far.
    pub vm_bytes_done: u64,
    /// Bytes of dumpable address space in all (the sizes of the VMAs not skipped).
    pub vm_bytes_total: u64,
    /// Pages copied out of the target so far.
    pub pages_read: u64,
    /// `PE_PRESENT` pages written so far.
    pub pages_written: u64,
    /// `PE_PARENT` pages so far.
    pub pages_parent: u64,
    /// Bytes written to the pages file (or sent to the page server) so far.
    pub bytes_written: u64,
    /// Time since the dump started.
    pub elapsed: Duration,
}

/// What a dump did: the numbers a CLI prints.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The target's pid.
    pub pid: i32,
    /// The `pagemap-<pid>.img` written.
    pub pagemap_path: PathBuf,
    /// The `pages-<pages_id>.img` written.
    pub pages_path: PathBuf,
    /// `pagemap_head.pages_id` ([`DumpOptions::pages_id`]).
    pub pages_id: u32,
    /// VMAs of the target (`/proc/PID/smaps`).
    pub vmas: usize,
    /// VMAs at least one page of which went into the pagemap.
    pub vmas_dumped: usize,
    /// Pages of the VMAs walked (CRIU's `pages_scanned`).
    pub pages_scanned: u64,
    /// Pages copied out of the target.
    pub pages_read: u64,
    /// `PE_PRESENT` pages, in `pages-<id>.img` (CRIU's `pages_written`).
    pub pages_written: u64,
    /// `PE_PARENT` pages (CRIU's `pages_skipped_parent`).
    pub pages_parent: u64,
    /// Of those, found equal by comparing contents.
    pub pages_parent_compared: u64,
    /// Pages that vanished between scan and read; not recorded (as in CRIU's read mode).
    pub pages_faulted: u64,
    /// Entries of the pagemap after its head.
    pub pagemap_entries: u64,
    /// Bytes of page data written (or sent).
    pub bytes_written: u64,
    /// `process_vm_readv` and `pread(/proc/PID/mem)` calls.
    pub read_calls: u64,
    /// The whole dump's wall time.
    pub elapsed: Duration,
    /// How pages were found ([`ScanMode::Auto`] resolved to what the kernel offered).
    pub scan_mode: ScanMode,
    /// The copy buffer's size in bytes (both halves when pipelined).
    pub buffer_size: usize,
    /// Peak bytes this dump held: buffer, iovecs, run lists, scan buffers, parent scratch.
    pub memory_held: usize,
    /// Whether soft-dirty bits decided anything.
    pub soft_dirty_used: bool,
}

impl Summary {
    /// Target bytes copied per second, in GB/s (10⁹).
    pub fn gb_per_s(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s == 0.0 { 0.0 } else { (self.pages_read * PAGE_SIZE as u64) as f64 / s / 1e9 }
    }

    /// One JSON object, keys in a fixed order.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        self.write_json_fields(&mut w);
        w.end_object();
        String::from_utf8_lossy(&w.take()).into_owned()
    }

    /// The summary's fields into an open JSON object (for reports that embed it).
    pub fn write_json_fields(&self, w: &mut JsonWriter) {
        let path = |w: &mut JsonWriter, k: &str, p: &Path| {
            w.key(k);
            w.str_bytes(p.as_os_str().as_encoded_bytes());
        };
        w.key("pid");
        w.i64(self.pid.into());
        path(w, "pagemap", &self.pagemap_path);
        path(w, "pages", &self.pages_path);
        for (k, v) in [
            ("pages_id", u64::from(self.pages_id)),
            ("vmas", self.vmas as u64),
            ("vmas_dumped", self.vmas_dumped as u64),
            ("pages_scanned", self.pages_scanned),
            ("pages_read", self.pages_read),
            ("pages_written", self.pages_written),
            ("pages_parent", self.pages_parent),
            ("pages_parent_compared", self.pages_parent_compared),
            ("pages_faulted", self.pages_faulted),
            ("pagemap_entries", self.pagemap_entries),
            ("bytes_written", self.bytes_written),
            ("read_calls", self.read_calls),
        ] {
            w.key(k);
            w.u64(v);
        }
        w.key("elapsed_s");
        w.raw_value(&format!("{:.6}", self.elapsed.as_secs_f64()));
        w.key("gb_per_s");
        w.raw_value(&format!("{:.3}", self.gb_per_s()));
        w.key("scan");
        w.str(match self.scan_mode {
            ScanMode::PagemapScan => "pagemap_scan",
            _ => "pagemap",
        });
        w.key("buffer_size");
        w.u64(self.buffer_size as u64);
        w.key("memory_held");
        w.u64(self.memory_held as u64);
        w.key("soft_dirty_used");
        w.bool(self.soft_dirty_used);
    }
}

impl std::fmt::Display for Summary {
    /// One human line: `pid 1234: 262144 pages written (1.00 GiB), 0 in parent, ...`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = crate::units::bytes;
        write!(
            f,
            "pid {}: {} pages written ({}), {} in parent, {} vanished; {} entries; {} of {} VMAs; {:.3} s, {:.2} GB/s; held {} (buffer {})",
            self.pid,
            self.pages_written,
            size(self.bytes_written),
            self.pages_parent,
            self.pages_faulted,
            self.pagemap_entries,
            self.vmas_dumped,
            self.vmas,
            self.elapsed.as_secs_f64(),
            self.gb_per_s(),
            size(self.memory_held as u64),
            size(self.buffer_size as u64),
        )
    }
}

/// Parses a size as a CLI takes it: bytes, or a number with `K`, `M` or `G` (powers of 1024,
/// optionally followed by `iB` or `B`): `4M`, `512KiB`, `1G`, `65536`.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().ok()?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return None,
    };
    n.checked_mul(1usize << shift)
}

/// One stretch of the target, in address order: pages read into the buffer, or pages the
/// parent has that we did not read.
#[derive(Clone, Copy, Debug)]
enum Item {
    Read(Got),
    Parent { addr: u64, pages: u64 },
}

/// A buffer's worth of work, passed from the reading side to the writing side.
struct Batch {
    items: Vec<Item>,
    buf: memmap2::MmapMut,
    used: usize,
    vm_done: u64,
    faulted: u64,
    read_calls: u64,
}

/// Dumps `pid`'s private memory into `dir` (which must exist). `progress` is called on this
/// thread after each buffer is written.
pub fn dump(pid: i32, dir: &Path, opts: &DumpOptions, progress: &mut dyn FnMut(&Progress)) -> Result<Summary, Error> {
    let image_pid = opts.image_pid.unwrap_or(pid as u32);
    let pagemap_path = image::pagemap_path(dir, image_pid);
    let pages_path = image::pages_path(dir, opts.pages_id);
    let parent_link = dir.join(image::PARENT_LINK);
    let r = dump_inner(pid, dir, opts, image_pid, &pagemap_path, &pages_path, &parent_link, progress);
    if r.is_err() {
        // A dump that failed half-way must not look like a dump.
        let _ = std::fs::remove_file(&pagemap_path);
        let _ = std::fs::remove_file(&pages_path);
        if opts.parent.is_some() {
            let _ = std::fs::remove_file(&parent_link);
        }
    }
    r
}

/// Fails with [`Error::Vanished`] when `pid` is gone or a zombie (`/proc/PID/stat` state Z or X).
fn ensure_alive(pid: i32) -> Result<(), Error> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read(&path).map_err(|e| Error::from_errno(pid, "read(/proc/PID/stat)", None, Some(path.into()), e))?;
    // The state follows the last ')' (the command name may contain parentheses and spaces).
    let state = stat.iter().rposition(|&b| b == b')').and_then(|i| stat.get(i + 2)).copied();
    match state {
        Some(b'Z' | b'X' | b'x') | None => Err(Error::Vanished { pid, syscall: "the pagemap scan", addr: None }),
        Some(_) => Ok(()),
    }
}

/// How a dump is set up before any page is read: the checked options and what was read from
/// `/proc` about the target.
struct Setup {
    start: Instant,
    pipelined: bool,
    halves: usize,
    chunk: usize,
    vmas: Vec<Vma>,
    sps: Vec<u64>,
    scanner: Scanner,
}

fn setup(pid: i32, opts: &DumpOptions) -> Result<Setup, Error> {
    let start = Instant::now();
    if !(1..=IOV_MAX).contains(&opts.iov_batch) {
        return Err(Error::Options(format!("iov_batch must be 1..={IOV_MAX}, not {}", opts.iov_batch)));
    }
    let pipelined = opts.pipeline && opts.output == OutputMode::Write;
    let halves = if pipelined { 2 } else { 1 };
    let chunk = (opts.buffer_size / halves) / PAGE_SIZE * PAGE_SIZE;
    if chunk < PAGE_SIZE {
        return Err(Error::Options(format!("buffer_size {} is too small: at least {} bytes", opts.buffer_size, halves * PAGE_SIZE)));
    }
    if pid <= 0 || std::fs::symlink_metadata(format!("/proc/{pid}")).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Err(Error::NoProcess { pid });
    }
    let smaps_path = PathBuf::from(format!("/proc/{pid}/smaps"));
    let text = std::fs::read(&smaps_path).map_err(|e| Error::from_errno(pid, "read", None, Some(smaps_path.clone()), e))?;
    let vmas = maps::parse_smaps(pid, &smaps_path, &text)?;
    drop(text);
    let sps = scan::thread_sps(pid);
    let scanner = Scanner::new(pid, opts.scan)?;
    Ok(Setup { start, pipelined, halves, chunk, vmas, sps, scanner })
}

#[allow(clippy::too_many_arguments)]
fn dump_inner(
    pid: i32,
    dir: &Path,
    opts: &DumpOptions,
    image_pid: u32,
    pagemap_path: &Path,
    pages_path: &Path,
    parent_link: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, Error> {
    let su = setup(pid, opts)?;
    let chain = match &opts.parent {
        None => None,
        Some(p) => {
            let target = dir.join(p);
            if matches!((std::fs::canonicalize(&target), std::fs::canonicalize(dir)), (Ok(a), Ok(b)) if a == b) {
                return Err(Error::Options(format!("the parent {} is the output directory itself", target.display())));
            }
            let chain = PageChain::open(&target, image_pid).map_err(|e| Error::Parent { path: target.clone(), what: e.to_string() })?;
            if std::fs::symlink_metadata(parent_link).is_ok() {
                std::fs::remove_file(parent_link).map_err(|e| Error::Output { path: parent_link.into(), source: e })?;
            }
            std::os::unix::fs::symlink(p, parent_link).map_err(|e| Error::Output { path: parent_link.into(), source: e })?;
            Some(chain)
        }
    };

    let pagemap = PagemapWriter::create(pagemap_path.to_path_buf(), opts.pages_id)
        .map_err(|e| Error::Output { path: pagemap_path.into(), source: e })?;
    let pages_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(pages_path)
        .map_err(|e| Error::Output { path: pages_path.into(), source: e })?;
    let out = Out::Local { pagemap, pages_file, pages_path: pages_path.to_path_buf(), reserved: 0 };
    let paths = (pagemap_path.to_path_buf(), pages_path.to_path_buf());
    run(pid, opts, su, chain.as_ref().map(Prev::Chain), out, paths, progress)
}

/// Reads the target through the planner and writes through the writer: the part of a dump that
/// is the same whether the pages go to local images or to a page server.
fn run(
    pid: i32,
    opts: &DumpOptions,
    su: Setup,
    prev: Option<Prev<'_>>,
    out: Out<'_>,
    paths: (PathBuf, PathBuf),
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, Error> {
    let Setup { start, pipelined, halves, chunk, vmas, sps, scanner } = su;
    let facts = KernelFacts::get();
    let remote = matches!(out, Out::Remote { .. });
    let vm_bytes_total: u64 = vmas.iter().filter(|v| v.disposition() != Disposition::Skip).map(|v| v.end - v.start).sum();
    let mut planner = Planner {
        vmas: &vmas,
        scanner,
        reader: Reader::new(pid, opts.iov_batch),
        chain: prev,
        use_soft_dirty: opts.use_soft_dirty && facts.soft_dirty && prev.is_some(),
        unreadable: opts.unreadable,
        layout_flags: Layout::new(&sps, layout::PPB_MAX_PAGES),
        vma_index: 0,
        at: None,
        spans: Vec::new(),
        span_idx: 0,
        span_pos: 0,
        reqs: Vec::new(),
        got: Vec::new(),
        pages_scanned: 0,
        vmas_dumped: 0,
        vm_done: 0,
    };
    let mut writer = Writer {
        layout: Layout::new(&sps, opts.run_pages.unwrap_or_else(layout::ppb_capacity)),
        out,
        output: opts.output,
        preallocate: opts.preallocate && !remote,
        bytes_written: 0,
        chain: prev,
        compare: opts.compare_with_parent && prev.is_some(),
        scratch: Vec::new(),
        kept: Vec::new(),
        digests: Vec::new(),
        prev_digests: Vec::new(),
        pages_read: 0,
        pages_written: 0,
        pages_parent: 0,
        pages_parent_compared: 0,
        faulted: 0,
        read_calls: 0,
        peak_items: 0,
    };
    if writer.compare && matches!(prev, Some(Prev::Chain(_))) {
        writer.scratch = vec![0u8; chunk.min(256 << 10)];
    }
    let max_items = chunk / PAGE_SIZE + 1024;

    let mut report = |w: &Writer, vm_done: u64| {
        progress(&Progress {
            vm_bytes_done: vm_done,
            vm_bytes_total,
            pages_read: w.pages_read,
            pages_written: w.pages_written,
            pages_parent: w.pages_parent,
            bytes_written: w.bytes_written,
            elapsed: start.elapsed(),
        })
    };

    let new_batch = |huge: bool| -> Result<Batch, Error> {
        let buf = memmap2::MmapMut::map_anon(chunk).map_err(|e| Error::Output { path: "anonymous buffer".into(), source: e })?;
        if huge {
            // Only a hint: fewer TLB misses while the kernel copies into it.
            let _ = buf.advise(memmap2::Advice::HugePage);
        }
        Ok(Batch { items: Vec::with_capacity(max_items), buf, used: 0, vm_done: 0, faulted: 0, read_calls: 0 })
    };

    if pipelined {
        // The reading side runs on a helper thread; writing (and `progress`) stay on ours. The
        // channels live inside the scope closure so that an early return on either side drops
        // them and wakes the other side instead of leaving it blocked.
        let planner_ref = &mut planner;
        let writer_ref = &mut writer;
        std::thread::scope(|s| -> Result<(), Error> {
            let (full_tx, full_rx) = mpsc::sync_channel::<Result<Batch, Error>>(2);
            let (empty_tx, empty_rx) = mpsc::sync_channel::<Batch>(2);
            for _ in 0..2 {
                empty_tx.send(new_batch(opts.huge_buffer)?).map_err(|_| Error::Options("internal: channel closed".into()))?;
            }
            s.spawn(move || {
                while let Ok(mut b) = empty_rx.recv() {
                    let r = planner_ref.fill(&mut b, max_items);
                    let done = !matches!(r, Ok(true));
                    let msg = match r {
                        Ok(true) => Ok(b),
                        Ok(false) => return,
                        Err(e) => Err(e),
                    };
                    if full_tx.send(msg).is_err() || done {
                        return;
                    }
                }
            });
            while let Ok(b) = full_rx.recv() {
                let mut b = b?;
                writer_ref.commit(&mut b)?;
                writer_ref.peak_items = writer_ref.peak_items.max(2 * b.items.capacity());
                report(writer_ref, b.vm_done);
                if empty_tx.send(b).is_err() {
                    break;
                }
            }
            Ok(())
        })?;
    } else if opts.output == OutputMode::Write {
        let mut b = new_batch(opts.huge_buffer)?;
        while planner.fill(&mut b, max_items)? {
            writer.commit(&mut b)?;
            writer.peak_items = writer.peak_items.max(b.items.capacity());
            report(&writer, b.vm_done);
        }
    } else {
        // Mmap: each window is mapped at the current end of the pages file.
        let Out::Local { pages_path, .. } = &writer.out else {
            return Err(Error::Options("OutputMode::Mmap writes local images only".into()));
        };
        let pages_path = pages_path.clone();
        let mut items: Vec<Item> = Vec::with_capacity(max_items);
        loop {
            let off = writer.bytes_written;
            let Out::Local { pages_file, .. } = &writer.out else { break };
            pages_file.set_len(off + chunk as u64).map_err(|e| Error::Output { path: pages_path.clone(), source: e })?;
            // SAFETY: we created and own the pages file; nothing else maps or truncates it while
            // the window is alive (we unmap it before the next `set_len`).
            let win = unsafe { memmap2::MmapOptions::new().offset(off).len(chunk).map_mut(pages_file) }
                .map_err(|e| Error::Output { path: pages_path.clone(), source: e })?;
            let mut b = Batch { items: std::mem::take(&mut items), buf: win, used: 0, vm_done: 0, faulted: 0, read_calls: 0 };
            let more = planner.fill(&mut b, max_items)?;
            if more {
                writer.commit(&mut b)?;
                report(&writer, b.vm_done);
            }
            writer.peak_items = writer.peak_items.max(b.items.capacity());
            items = std::mem::take(&mut b.items);
            drop(b);
            if !more {
                break;
            }
        }
        if let Out::Local { pages_file, .. } = &writer.out {
            pages_file.set_len(writer.bytes_written).map_err(|e| Error::Output { path: pages_path.clone(), source: e })?;
        }
    }

    // A task that exits mid-dump stays a zombie until reaped, and a zombie's pagemap reads as
    // empty rather than failing: without this check the dump would "succeed" with only the pages
    // read before the exit.
    ensure_alive(pid)?;
    let peak_items = writer.peak_items;
    let kept_cap = writer.kept.capacity();
    let scratch_cap = writer.scratch.capacity() + (writer.digests.capacity() + writer.prev_digests.capacity()) * 16;
    let remote_held = match &writer.out {
        Out::Remote { runs, pages, headers, .. } => {
            runs.capacity() * std::mem::size_of::<Run>()
                + pages.capacity() * std::mem::size_of::<crate::page_server::wire::Pages>()
                + headers.capacity() * crate::page_server::wire::HEADER_LEN
        }
        Out::Local { .. } => 0,
    };
    let record_held = match prev {
        Some(Prev::Record(r)) => r.held(),
        _ => 0,
    };
    let bytes_written = writer.bytes_written;
    let counts = (writer.pages_read, writer.pages_written, writer.pages_parent, writer.pages_parent_compared, writer.faulted, writer.read_calls);
    let pagemap_entries = writer.finish()?;
    if opts.track_mem && facts.soft_dirty {
        let p = format!("/proc/{pid}/clear_refs");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|mut f| f.write_all(b"4"))
            .map_err(|e| Error::from_errno(pid, "write(clear_refs)", None, Some(p.into()), e))?;
    }
    let memory_held = chunk * halves
        + planner.reader.held()
        + planner.scanner.held()
        + planner.spans.capacity() * std::mem::size_of::<Span>()
        + planner.reqs.capacity() * std::mem::size_of::<Req>()
        + planner.got.capacity() * std::mem::size_of::<Got>()
        + peak_items * std::mem::size_of::<Item>()
        + kept_cap * std::mem::size_of::<Item>()
        + scratch_cap
        + remote_held
        + record_held
        // The pagemap writer's buffer (remote: the record's two writers).
        + if remote { 32 << 10 } else { 16 << 10 };
    let (pages_read, pages_written, pages_parent, pages_parent_compared, pages_faulted, read_calls) = counts;
    let summary = Summary {
        pid,
        pagemap_path: paths.0,
        pages_path: paths.1,
        pages_id: opts.pages_id,
        vmas: vmas.len(),
        vmas_dumped: planner.vmas_dumped,
        pages_scanned: planner.pages_scanned,
        pages_read,
        pages_written,
        pages_parent,
        pages_parent_compared,
        pages_faulted,
        pagemap_entries,
        bytes_written,
        read_calls,
        elapsed: start.elapsed(),
        scan_mode: planner.scanner.mode(),
        buffer_size: chunk * halves,
        memory_held,
        soft_dirty_used: planner.use_soft_dirty,
    };
    Ok(summary)
}

/// The reading side: walks VMAs, scans, decides what to read, reads.
struct Planner<'a> {
    vmas: &'a [Vma],
    scanner: Scanner,
    reader: Reader,
    chain: Option<Prev<'a>>,
    use_soft_dirty: bool,
    unreadable: Unreadable,
    /// Only used for the flags CRIU gives present pages.
    layout_flags: Layout,
    vma_index: usize,
    /// Next address to scan in the current VMA (None: the VMA has not been started).
    at: Option<u64>,
    /// Spans found by the last scan, and how far into them we are (`span_pos` pages into
    /// `spans[span_idx]`).
    spans: Vec<Span>,
    span_idx: usize,
    span_pos: u64,
    reqs: Vec<Req>,
    got: Vec<Got>,
    pages_scanned: u64,
    vmas_dumped: usize,
    vm_done: u64,
}

impl Planner<'_> {
    /// Fills `b` with up to a buffer of pages (and parent stretches). Returns false when there
    /// was nothing left to do.
    fn fill(&mut self, b: &mut Batch, max_items: usize) -> Result<bool, Error> {
        b.items.clear();
        b.used = 0;
        self.reqs.clear();
        let cap = b.buf.len();
        let mut planned = 0usize;
        let mut any = false;
        // Gather requests until the buffer is spoken for.
        'outer: while planned < cap && b.items.len() + self.reqs.len() < max_items {
            if self.spans.is_empty() {
                if !self.next_spans()? {
                    break 'outer;
                }
                continue;
            }
            any = true;
            let vma = &self.vmas[self.vma_index];
            let tag = Tag {
                flags: self.layout_flags.present_flags(vma.can_be_lazy()),
                may_parent: vma.read,
                via_mem: !vma.read,
            };
            let s = self.spans[self.span_idx];
            let addr = s.addr + self.span_pos * PAGE_SIZE as u64;
            let left = s.pages - self.span_pos;
            // Soft-clean pages the parent has: no need to read them.
            let clean_chain = match (self.chain, s.soft_dirty, tag.may_parent) {
                (Some(chain), false, true) if self.use_soft_dirty => Some(chain),
                _ => None,
            };
            if let Some(image::Located::InFile { pages, .. }) = clean_chain.map(|c| c.locate(addr, left)) {
                self.flush_reqs(b)?;
                b.items.push(Item::Parent { addr, pages });
                self.advance(pages);
                continue;
            }
            let room = (cap - planned) / PAGE_SIZE;
            let mut n = left.min(room as u64);
            // Stop where the parent starts having pages again.
            if let Some(image::Located::Missing { pages }) = clean_chain.map(|c| c.locate(addr, n)) {
                n = n.min(pages);
            }
            self.reqs.push(Req { addr, len: n as usize * PAGE_SIZE, tag });
            planned += n as usize * PAGE_SIZE;
            self.advance(n);
        }
        self.flush_reqs(b)?;
        b.vm_done = self.vm_done;
        b.faulted = std::mem::take(&mut self.reader.faulted);
        b.read_calls = std::mem::take(&mut self.reader.syscalls);
        Ok(any || !b.items.is_empty())
    }

    /// Reads the pending requests into `b` and records what was read.
    fn flush_reqs(&mut self, b: &mut Batch) -> Result<(), Error> {
        if self.reqs.is_empty() {
            return Ok(());
        }
        let used = b.used;
        self.got.clear();
        let n = self.reader.read(&self.reqs, &mut b.buf[used..], &mut self.got)?;
        b.items.extend(self.got.iter().map(|g| Item::Read(Got { buf_off: g.buf_off + used, ..*g })));
        b.used += n;
        self.reqs.clear();
        Ok(())
    }

    fn advance(&mut self, pages: u64) {
        self.span_pos += pages;
        if self.span_pos == self.spans[self.span_idx].pages {
            self.span_idx += 1;
            self.span_pos = 0;
            if self.span_idx == self.spans.len() {
                self.spans.clear();
                self.span_idx = 0;
            }
        }
    }

    /// Scans the next window of the current VMA, or moves to the next VMA. False at the end.
    fn next_spans(&mut self) -> Result<bool, Error> {
        loop {
            let Some(vma) = self.vmas.get(self.vma_index) else { return Ok(false) };
            let skip = match vma.disposition() {
                Disposition::Skip => true,
                _ => !vma.read && self.unreadable == Unreadable::Skip,
            };
            if skip {
                self.vma_index += 1;
                continue;
            }
            let at = match self.at {
                Some(a) => a,
                None => {
                    self.vmas_dumped += 1;
                    self.pages_scanned += vma.pages();
                    vma.start
                }
            };
            if at >= vma.end {
                self.vma_index += 1;
                self.at = None;
                continue;
            }
            let next = match vma.disposition() {
                Disposition::WholeVma => {
                    self.spans.push(Span { addr: vma.start, pages: vma.pages(), soft_dirty: true });
                    vma.end
                }
                _ => self.scanner.scan(vma, at, &mut self.spans)?,
            };
            self.vm_done += next - at;
            self.at = Some(next);
            self.span_idx = 0;
            self.span_pos = 0;
            if !self.spans.is_empty() {
                return Ok(true);
            }
        }
    }
}

/// What an incremental dump compares with: a local parent dump, or the record of the previous
/// round sent to a page server (digests instead of pages).
#[derive(Clone, Copy)]
enum Prev<'a> {
    Chain(&'a PageChain),
    Record(&'a Record),
}

impl Prev<'_> {
    fn locate(&self, addr: u64, max: u64) -> image::Located {
        match self {
            Prev::Chain(c) => c.locate(addr, max),
            Prev::Record(r) => r.locate(addr, max),
        }
    }
}

/// Where the writer puts what it keeps.
enum Out<'a> {
    /// `pagemap-<pid>.img` and `pages-<id>.img` in a directory.
    Local {
        pagemap: PagemapWriter,
        pages_file: File,
        pages_path: PathBuf,
        /// Bytes of the pages file reserved with fallocate.
        reserved: u64,
    },
    /// A page server, plus the record of what it now holds.
    Remote {
        conn: &'a mut Connection,
        image: ImageId,
        record: &'a mut RecordWriter,
        secret: [u8; record::SECRET_LEN],
        entries: u64,
        runs: Vec<Run>,
        pages: Vec<crate::page_server::wire::Pages>,
        headers: Vec<[u8; crate::page_server::wire::HEADER_LEN]>,
    },
}

/// The writing side: compares with the parent, compacts, writes pages and pagemap entries.
struct Writer<'a> {
    layout: Layout,
    out: Out<'a>,
    output: OutputMode,
    preallocate: bool,
    bytes_written: u64,
    chain: Option<Prev<'a>>,
    compare: bool,
    scratch: Vec<u8>,
    /// The batch's stretches after comparison, in address order.
    kept: Vec<Item>,
    /// Remote only: the digests of the kept `Read` pages, in order.
    digests: Vec<u128>,
    /// Remote only: scratch for the previous round's digests.
    prev_digests: Vec<u128>,
    pages_read: u64,
    pages_written: u64,
    pages_parent: u64,
    pages_parent_compared: u64,
    faulted: u64,
    read_calls: u64,
    peak_items: usize,
}

/// Pages file space reserved per `fallocate`.
const PREALLOCATE_STEP: u64 = 64 << 20;

impl Writer<'_> {
    fn commit(&mut self, b: &mut Batch) -> Result<(), Error> {
        self.faulted += b.faulted;
        self.read_calls += b.read_calls;
        // 1. Decide, page run by page run, what goes to the pages file and what is the parent's;
        //    2. pack what goes to the file at the start of the buffer.
        self.kept.clear();
        self.digests.clear();
        let mut dst = 0usize;
        for i in 0..b.items.len() {
            match b.items[i] {
                Item::Parent { addr, pages } => {
                    self.kept.push(Item::Parent { addr, pages });
                }
                Item::Read(g) => {
                    self.pages_read += g.pages;
                    if self.compare && g.tag.may_parent {
                        match self.chain {
                            Some(Prev::Record(r)) => self.compare_digests(g, r, &mut b.buf, &mut dst)?,
                            _ => self.compare_run(g, &mut b.buf, &mut dst)?,
                        }
                    } else {
                        self.keep(&mut b.buf, g, &mut dst);
                    }
                }
            }
        }
        match &mut self.out {
            Out::Local { .. } => self.write_local(b, dst),
            Out::Remote { .. } => self.send_remote(b, dst),
        }
    }

    fn write_local(&mut self, b: &mut Batch, dst: usize) -> Result<(), Error> {
        let Out::Local { pagemap, pages_file, pages_path, reserved } = &mut self.out else { return Ok(()) };
        // 3. Pages file.
        match self.output {
            OutputMode::Write => {
                if self.preallocate && self.bytes_written + dst as u64 > *reserved {
                    let want = (*reserved).max(self.bytes_written) + PREALLOCATE_STEP.max(dst as u64);
                    // SAFETY: fallocate on our own open file; FALLOC_FL_KEEP_SIZE leaves the
                    // size alone, so a failure (e.g. tmpfs without support) changes nothing.
                    let r = unsafe {
                        libc::fallocate(pages_file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, *reserved as i64, (want - *reserved) as i64)
                    };
                    *reserved = if r == 0 { want } else { u64::MAX };
                }
                pages_file.write_all(&b.buf[..dst]).map_err(|e| Error::Output { path: pages_path.clone(), source: e })?;
            }
            OutputMode::Mmap => {}
        }
        self.bytes_written += dst as u64;
        // 4. Pagemap entries.
        let Writer { layout, kept, pages_written, pages_parent, .. } = self;
        let mut err = None;
        let mut emit = |r: Run| {
            if err.is_none() {
                err = pagemap.write(r).err();
            }
        };
        for it in kept.iter() {
            match *it {
                Item::Parent { addr, pages } => {
                    *pages_parent += pages;
                    layout.parent(addr, pages, &mut emit);
                }
                Item::Read(g) => {
                    *pages_written += g.pages;
                    layout.present(g.addr, g.pages, g.tag.flags, &mut emit);
                }
            }
        }
        if let Some(e) = err {
            return Err(Error::Output { path: pagemap.path().into(), source: e });
        }
        Ok(())
    }

    /// Sends the batch's runs with their pages straight from the buffer, then records them. A
    /// run's pages must follow its header, so runs end with the batch: the page server's
    /// pagemap is CRIU's layout, cut in addition wherever a buffer ended.
    fn send_remote(&mut self, b: &mut Batch, dst: usize) -> Result<(), Error> {
        let Writer { layout, kept, pages_written, pages_parent, out, digests, chain, .. } = self;
        let Out::Remote { conn, image, record, entries, runs, pages, headers, .. } = out else { return Ok(()) };
        runs.clear();
        let mut emit = |r: Run| runs.push(r);
        for it in kept.iter() {
            match *it {
                Item::Parent { addr, pages } => {
                    *pages_parent += pages;
                    layout.parent(addr, pages, &mut emit);
                }
                Item::Read(g) => {
                    *pages_written += g.pages;
                    layout.present(g.addr, g.pages, g.tag.flags, &mut emit);
                }
            }
        }
        layout.finish(&mut emit);
        pages.clear();
        pages.extend(runs.iter().map(|r| crate::page_server::wire::Pages {
            image: *image,
            vaddr: r.vaddr,
            nr_pages: r.nr_pages,
            flags: r.flags,
        }));
        conn.send_runs(pages, &b.buf[..dst], headers).map_err(Error::PageServer)?;
        *entries += runs.len() as u64;
        self.bytes_written += dst as u64;
        // The record: digests of what was sent, the previous round's for what was left to it.
        let mut at = 0usize;
        for it in kept.iter() {
            match *it {
                Item::Read(g) => {
                    let n = g.pages as usize;
                    record.add(g.addr, &digests[at..at + n]).map_err(Error::PageServer)?;
                    at += n;
                }
                Item::Parent { addr, pages } => {
                    let Some(Prev::Record(prev)) = chain else {
                        return Err(Error::Options("internal: parent pages without a previous round".into()));
                    };
                    record.copy(addr, pages, prev).map_err(Error::PageServer)?;
                }
            }
        }
        Ok(())
    }

    /// Splits a read run into pages equal to the parent's (`PE_PARENT`) and the rest, packing
    /// the rest at `dst`.
    fn compare_run(&mut self, g: Got, buf: &mut [u8], dst: &mut usize) -> Result<(), Error> {
        let Some(Prev::Chain(chain)) = self.chain else { return Ok(()) };
        let mut p = 0u64;
        while p < g.pages {
            let addr = g.addr + p * PAGE_SIZE as u64;
            let src = g.buf_off + p as usize * PAGE_SIZE;
            match chain.locate(addr, g.pages - p) {
                image::Located::Missing { pages } => {
                    self.keep(buf, Got { addr, pages, buf_off: src, tag: g.tag }, dst);
                    p += pages;
                }
                image::Located::InFile { level, offset, pages } => {
                    let n = pages.min((self.scratch.len() / PAGE_SIZE) as u64);
                    let len = n as usize * PAGE_SIZE;
                    chain.read_at(level, offset, &mut self.scratch[..len]).map_err(|e| Error::Parent {
                        path: chain.dirs().nth(level).map(Path::to_path_buf).unwrap_or_default(),
                        what: format!("reading the pages of {addr:#x}: {e}"),
                    })?;
                    let mut k = 0u64;
                    while k < n {
                        let same = |k: u64| {
                            let a = src + k as usize * PAGE_SIZE;
                            let s = k as usize * PAGE_SIZE;
                            buf[a..a + PAGE_SIZE] == self.scratch[s..s + PAGE_SIZE]
                        };
                        let eq = same(k);
                        let mut e = k + 1;
                        while e < n && same(e) == eq {
                            e += 1;
                        }
                        let at = addr + k * PAGE_SIZE as u64;
                        if eq {
                            self.kept.push(Item::Parent { addr: at, pages: e - k });
                            self.pages_parent_compared += e - k;
                        } else {
                            self.keep(buf, Got { addr: at, pages: e - k, buf_off: src + k as usize * PAGE_SIZE, tag: g.tag }, dst);
                        }
                        k = e;
                    }
                    p += n;
                }
            }
        }
        Ok(())
    }

    /// [`compare_run`](Self::compare_run) against the previous round's record: a page is the
    /// parent's when its digest is the one recorded for its address.
    fn compare_digests(&mut self, g: Got, prev: &Record, buf: &mut [u8], dst: &mut usize) -> Result<(), Error> {
        let secret = match &self.out {
            Out::Remote { secret, .. } => *secret,
            Out::Local { .. } => return Err(Error::Options("internal: digest comparison without a page server".into())),
        };
        let mut p = 0u64;
        while p < g.pages {
            let addr = g.addr + p * PAGE_SIZE as u64;
            let src = g.buf_off + p as usize * PAGE_SIZE;
            match prev.locate(addr, g.pages - p) {
                image::Located::Missing { pages } => {
                    self.keep(buf, Got { addr, pages, buf_off: src, tag: g.tag }, dst);
                    p += pages;
                }
                image::Located::InFile { offset, pages, .. } => {
                    let n = pages.min(64);
                    self.prev_digests.resize(n as usize, 0);
                    prev.read_digests(offset / PAGE_SIZE as u64, &mut self.prev_digests).map_err(Error::PageServer)?;
                    let mut cur = [0u128; 64];
                    for (k, d) in cur.iter_mut().enumerate().take(n as usize) {
                        let a = src + k * PAGE_SIZE;
                        *d = record::digest(&secret, &buf[a..a + PAGE_SIZE]);
                    }
                    let mut k = 0usize;
                    let n = n as usize;
                    while k < n {
                        let eq = cur[k] == self.prev_digests[k];
                        let mut e = k + 1;
                        while e < n && (cur[e] == self.prev_digests[e]) == eq {
                            e += 1;
                        }
                        let at = addr + (k * PAGE_SIZE) as u64;
                        if eq {
                            self.kept.push(Item::Parent { addr: at, pages: (e - k) as u64 });
                            self.pages_parent_compared += (e - k) as u64;
                        } else {
                            // Digested already: `keep` would digest them again.
                            self.digests.extend_from_slice(&cur[k..e]);
                            let run = Got { addr: at, pages: (e - k) as u64, buf_off: src + k * PAGE_SIZE, tag: g.tag };
                            self.move_kept(buf, run, dst);
                        }
                        k = e;
                    }
                    let n = n as u64;
                    p += n;
                }
            }
        }
        Ok(())
    }

    /// Keeps a read run for the pages file, moving it down to `dst` if pages before it were
    /// dropped (in the common case nothing moves). Remote: records the pages' digests.
    fn keep(&mut self, buf: &mut [u8], g: Got, dst: &mut usize) {
        if let Out::Remote { secret, .. } = &self.out {
            for k in 0..g.pages as usize {
                let a = g.buf_off + k * PAGE_SIZE;
                self.digests.push(record::digest(secret, &buf[a..a + PAGE_SIZE]));
            }
        }
        self.move_kept(buf, g, dst);
    }

    fn move_kept(&mut self, buf: &mut [u8], g: Got, dst: &mut usize) {
        let len = g.pages as usize * PAGE_SIZE;
        if g.buf_off != *dst {
            buf.copy_within(g.buf_off..g.buf_off + len, *dst);
        }
        self.kept.push(Item::Read(Got { buf_off: *dst, ..g }));
        *dst += len;
    }

    /// Writes the last run and trims the pages file to what was written. Returns the number of
    /// pagemap entries.
    fn finish(self) -> Result<u64, Error> {
        let Writer { mut layout, out, preallocate, output, bytes_written, .. } = self;
        match out {
            Out::Local { mut pagemap, pages_file, pages_path, .. } => {
                let mut err = None;
                layout.finish(&mut |r| {
                    if err.is_none() {
                        err = pagemap.write(r).err();
                    }
                });
                let path = pagemap.path().to_path_buf();
                if let Some(e) = err {
                    return Err(Error::Output { path, source: e });
                }
                let entries = pagemap.finish().map_err(|e| Error::Output { path, source: e })?;
                if preallocate || output == OutputMode::Mmap {
                    // Give back the blocks reserved past the end.
                    pages_file.set_len(bytes_written).map_err(|e| Error::Output { path: pages_path.clone(), source: e })?;
                }
                Ok(entries)
            }
            // Every batch ended its runs.
            Out::Remote { entries, .. } => Ok(entries),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Soft-dirty, as far as it can be tested on a kernel without it: spans the scanner reports
    /// soft-clean become `PE_PARENT` without being read where the parent has them, and are read
    /// where it does not.
    #[test]
    fn soft_clean_pages_come_from_the_parent_unread() {
        let dir = std::env::temp_dir().join(format!("procmem-sd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut region = memmap2::MmapMut::map_anon(8 * PAGE_SIZE).unwrap();
        region.fill(0x11);
        let base = region.as_ptr() as u64;
        let pid = std::process::id();
        // The parent has pages 0..4 of the region.
        let mut w = PagemapWriter::create(image::pagemap_path(&dir, pid), 1).unwrap();
        w.write(Run { vaddr: base, nr_pages: 4, flags: layout::PE_PRESENT }).unwrap();
        w.finish().unwrap();
        std::fs::write(image::pages_path(&dir, 1), vec![0x11u8; 4 * PAGE_SIZE]).unwrap();
        let chain = PageChain::open(&dir, pid).unwrap();

        let vma = Vma {
            start: base,
            end: base + 8 * PAGE_SIZE as u64,
            read: true,
            write: true,
            exec: false,
            shared: false,
            offset: 0,
            inode: 0,
            path: Vec::new(),
            locked: false,
            hugetlb: false,
            droppable: false,
            io_pf: false,
            class: maps::VmaClass::AnonPrivate,
        };
        let vmas = [vma];
        let mut planner = Planner {
            vmas: &vmas,
            scanner: Scanner::new(pid as i32, ScanMode::Pagemap).unwrap(),
            reader: Reader::new(pid as i32, IOV_MAX),
            chain: Some(Prev::Chain(&chain)),
            use_soft_dirty: true,
            unreadable: Unreadable::ProcMem,
            layout_flags: Layout::new(&[], layout::PPB_MAX_PAGES),
            vma_index: 0,
            // As if the scan of the whole VMA had just returned one soft-clean span.
            at: Some(vmas[0].end),
            spans: vec![Span { addr: base, pages: 8, soft_dirty: false }],
            span_idx: 0,
            span_pos: 0,
            reqs: Vec::new(),
            got: Vec::new(),
            pages_scanned: 0,
            vmas_dumped: 1,
            vm_done: 0,
        };
        let mut b = Batch {
            items: Vec::new(),
            buf: memmap2::MmapMut::map_anon(16 * PAGE_SIZE).unwrap(),
            used: 0,
            vm_done: 0,
            faulted: 0,
            read_calls: 0,
        };
        assert!(planner.fill(&mut b, 100).unwrap());
        let items: Vec<String> = b
            .items
            .iter()
            .map(|i| match i {
                Item::Parent { addr, pages } => format!("parent {} {pages}", (addr - base) / PAGE_SIZE as u64),
                Item::Read(g) => format!("read {} {}", (g.addr - base) / PAGE_SIZE as u64, g.pages),
            })
            .collect();
        assert_eq!(items, vec!["parent 0 4", "read 4 4"]);
        assert_eq!(b.used, 4 * PAGE_SIZE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_parse_as_a_cli_writes_them() {
        assert_eq!(parse_size("4M"), Some(4 << 20));
        assert_eq!(parse_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("4T"), None);
        assert_eq!(parse_size("M"), None);
    }

    #[test]
    fn summary_json_is_one_object_with_escaped_paths() {
        let s = Summary {
            pid: 7,
            pagemap_path: "/tmp/a\"b/pagemap-7.img".into(),
            pages_path: "/tmp/pages-1.img".into(),
            pages_id: 1,
            vmas: 3,
            vmas_dumped: 2,
            pages_scanned: 10,
            pages_read: 4,
            pages_written: 3,
            pages_parent: 1,
            pages_parent_compared: 1,
            pages_faulted: 0,
            pagemap_entries: 2,
            bytes_written: 3 * 4096,
            read_calls: 1,
            elapsed: Duration::from_millis(2),
            scan_mode: ScanMode::PagemapScan,
            buffer_size: 4 << 20,
            memory_held: 5 << 20,
            soft_dirty_used: false,
        };
        let j = s.to_json();
        assert!(j.starts_with("{\"pid\": 7, \"pagemap\": \"/tmp/a\\\"b/pagemap-7.img\""), "{j}");
        assert!(j.contains("\"gb_per_s\": 0.008") && j.ends_with("\"soft_dirty_used\": false}"), "{j}");
        assert!(s.to_string().starts_with("pid 7: 3 pages written"));
    }
}
