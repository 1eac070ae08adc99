//! `procmem` against real processes and real CRIU (tests run as root; CRIU missing is a failure,
//! never a skip).
//!
//! The target is `procmem-target/target.c`, compiled here with `cc`: it fills private anonymous
//! memory, a dirtied private file mapping, zero-page and never-touched pages, a `PROT_NONE` region
//! and an `mlock`ed region, keeps a checksum of all of it, and on `SIGUSR1` checks its memory and
//! writes the verdict to a file. A copy restored by CRIU from our images can therefore say itself
//! whether our images were right.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::target::{Restored, Target};
use criu_image::checkpoint::Checkpoint;
use criu_image::model::Run;
use criu_image::procmem::image::{PageChain, pagemap_path, pages_path};
use criu_image::procmem::layout::{PE_LAZY, PE_PARENT, PE_PRESENT};
use criu_image::procmem::{DumpOptions, Error, KernelFacts, OutputMode, PAGE_SIZE, ScanMode, Unreadable, dump};

const P: u64 = PAGE_SIZE as u64;

/// A scratch directory per test, emptied first.
fn scratch(name: &str) -> PathBuf {
    support::target::scratch("procmem", name)
}

fn state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

/// The state of `pid` once it is `want`, or whatever it is after 10 s.
fn settled_state(pid: i32, want: char) -> Option<char> {
    let t = Instant::now();
    loop {
        let s = state(pid);
        if s == Some(want) || t.elapsed() > Duration::from_secs(10) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs CRIU; on failure, panics with the tail of its log.
fn criu(args: &[&str], dir: &Path, log: &str) {
    let out = Command::new(support::criu_bin())
        .args(args)
        .arg("-D")
        .arg(dir)
        .args(["-v4", "-o", log])
        .stdin(Stdio::null())
        .output()
        .expect("run criu");
    if !out.status.success() {
        let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        panic!(
            "criu {args:?} failed ({}):\n{}\n{}\n--- log tail ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

fn criu_dump(t: &Target, dir: &Path) {
    criu(&["dump", "-t", &t.pid.to_string(), "--shell-job", "--leave-running"], dir, "dump.log");
}

/// Kills the original, restores from `dir`, lets the restored copy check its memory.
fn restore_and_verify(t: &mut Target, dir: &Path) {
    let pid = t.pid;
    t.kill();
    criu(&["restore", "--shell-job", "-d"], dir, "restore.log");
    let restored = Restored(pid);
    let verdict = t.ask(libc::SIGUSR1, "verdict");
    assert!(verdict.starts_with("ok "), "the restored process found its memory wrong: {verdict}");
    drop(restored);
}

/// A dump's pagemap, read back through the crate's pagemap index.
#[derive(Debug, PartialEq, Eq)]
struct Pagemap {
    pages_id: u32,
    /// Entries in image order.
    runs: Vec<Run>,
}

impl Pagemap {
    /// The entry covering `a`.
    fn find(&self, a: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.start <= a && a < r.end)
    }
}

fn pagemap_of(dir: &Path, pid: i32) -> Pagemap {
    let ckpt = Checkpoint::open(dir).unwrap();
    let name = pagemap_path(dir, pid as u32).file_name().unwrap().to_str().unwrap().to_string();
    let idx = ckpt.pagemap(&name).unwrap().unwrap_or_else(|| panic!("{}: no {name}", dir.display()));
    assert!(idx.defect().is_none(), "{name}: {:?}", idx.defect());
    Pagemap { pages_id: idx.pages_id, runs: idx.entries().to_vec() }
}

/// Every (page address → bytes) a dump directory resolves to, through parent links.
fn resolve_all(dir: &Path, pid: i32) -> BTreeMap<u64, Vec<u8>> {
    let chain = PageChain::open(dir, pid as u32).unwrap();
    let mut all = BTreeMap::new();
    for r in chain.index().unwrap().entries() {
        for i in 0..r.nr_pages {
            let a = r.start + i * P;
            let bytes = chain.page(a).unwrap().unwrap_or_else(|| panic!("{}: page {a:#x} resolves to nothing", dir.display()));
            all.insert(a, bytes);
        }
    }
    all
}

/// `rseq.cpu_id_start` and `rseq.cpu_id` of the thread's rseq area, from CRIU's core image.
fn rseq_cpu_fields(dir: &Path, pid: i32) -> std::ops::Range<u64> {
    let bytes = std::fs::read(dir.join(format!("core-{pid}.img"))).unwrap();
    let img = criu_image::image::Image::parse(&bytes, None).unwrap();
    let core = criu_image::proto::view::CoreEntry::parse(img.entries().next().unwrap().unwrap().message).unwrap();
    let rseq = core.thread_core().and_then(|t| t.rseq_entry()).expect("CRIU records the rseq area glibc registers");
    rseq.rseq_abi_pointer()..rseq.rseq_abi_pointer() + 8
}

/// Zeroes `range` in the pages that hold it.
fn mask(pages: &mut BTreeMap<u64, Vec<u8>>, range: std::ops::Range<u64>) {
    for a in range {
        if let Some(p) = pages.get_mut(&(a & !(P - 1))) {
            p[(a % P) as usize] = 0;
        }
    }
}

/// Explains, page by page, how two sets of pages differ.
fn diff_pages(ours: &BTreeMap<u64, Vec<u8>>, criu: &BTreeMap<u64, Vec<u8>>, pid: i32) -> String {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let vma = |a: u64| {
        maps.lines()
            .find(|l| {
                let r = l.split(' ').next().unwrap_or("");
                let (s, e) = r.split_once('-').unwrap_or(("0", "0"));
                u64::from_str_radix(s, 16).unwrap_or(0) <= a && a < u64::from_str_radix(e, 16).unwrap_or(0)
            })
            .unwrap_or("(no VMA)")
            .to_string()
    };
    let mut out = String::new();
    for (a, b) in criu {
        match ours.get(a) {
            None => out += &format!("only CRIU has {a:#x}  [{}]\n", vma(*a)),
            Some(o) if o != b => out += &format!("bytes differ at {a:#x}  [{}]\n", vma(*a)),
            _ => {}
        }
    }
    for a in ours.keys().filter(|a| !criu.contains_key(a)) {
        out += &format!("only we have {a:#x}  [{}]\n", vma(*a));
    }
    out
}

/// The whole proof: our images equal CRIU's, and CRIU restores from ours.
#[test]
fn dump_equals_criu_and_criu_restores_it() {
    let base = scratch("equals-criu");
    let tdir = base.join("target");
    std::fs::create_dir(&tdir).unwrap();
    let mut t = Target::start(&tdir, 8 << 10, 1234);
    t.stop();

    let criu_dir = base.join("criu");
    std::fs::create_dir(&criu_dir).unwrap();
    criu_dump(&t, &criu_dir);
    // CRIU detaches with the stop signal queued: the target stops when next scheduled, which
    // on a loaded machine can be a moment after criu exits.
    assert_eq!(settled_state(t.pid, 'T'), Some('T'), "CRIU should leave the stopped target stopped");
    let criu_pm = pagemap_of(&criu_dir, t.pid);
    let ours_dir = base.join("ours");
    std::fs::create_dir(&ours_dir).unwrap();
    let opts = DumpOptions { pages_id: criu_pm.pages_id, ..DumpOptions::default() };
    let s = dump(t.pid, &ours_dir, &opts, &mut |_| {}).unwrap();
    eprintln!("{}", s.to_json());

    // Page for page: same addresses, same bytes, but for the two words of the thread's rseq
    // area (its address in CRIU's core image) that the kernel rewrites whenever the task
    // returns to user space: the CPU it last ran on, which can change between the two dumps.
    let rseq_cpu = rseq_cpu_fields(&criu_dir, t.pid);
    let mut ours_pages = resolve_all(&ours_dir, t.pid);
    let mut criu_pages = resolve_all(&criu_dir, t.pid);
    for pages in [&mut ours_pages, &mut criu_pages] {
        mask(pages, rseq_cpu.clone());
    }
    let diff = diff_pages(&ours_pages, &criu_pages, t.pid);
    assert!(diff.is_empty(), "our pages differ from CRIU's:\n{diff}");

    // Run for run: the same entries, flags included, and so byte-identical files.
    let ours_pm = pagemap_of(&ours_dir, t.pid);
    assert_eq!(ours_pm, criu_pm, "pagemap entries differ");
    let a = std::fs::read(pagemap_path(&ours_dir, t.pid as u32)).unwrap();
    let b = std::fs::read(pagemap_path(&criu_dir, t.pid as u32)).unwrap();
    assert_eq!(a, b, "pagemap-{}.img bytes differ", t.pid);
    let a = std::fs::read(pages_path(&ours_dir, s.pages_id)).unwrap();
    let b = std::fs::read(pages_path(&criu_dir, criu_pm.pages_id)).unwrap();
    assert_eq!(a.len(), b.len(), "pages-{}.img sizes differ", s.pages_id);
    // The pages file holds the present pages in pagemap order.
    let addrs: Vec<u64> = ours_pm.runs.iter().filter(|r| r.flags & PE_PRESENT != 0).flat_map(|r| (0..r.nr_pages).map(move |i| r.start + i * P)).collect();
    let differing: Vec<u64> = (0..a.len()).filter(|&i| a[i] != b[i]).map(|i| addrs[i / P as usize] + (i as u64 % P)).collect();
    assert!(differing.iter().all(|x| rseq_cpu.contains(x)), "pages-{}.img bytes differ at {differing:x?}", s.pages_id);

    // The regions we planted are where they should be.
    let (big, big_len) = t.region("big");
    assert!(ours_pages.contains_key(&big) && ours_pages.contains_key(&(big + big_len - P)));
    let (holes, _) = t.region("holes");
    for i in 0..64u64 {
        let want = i % 4 == 0 || i % 4 == 3;
        assert_eq!(ours_pages.contains_key(&(holes + i * P)), want, "holes page {i}: zero page and untouched pages are not dumped");
    }
    let (file, _) = t.region("file");
    for i in 0..16u64 {
        assert_eq!(ours_pages.contains_key(&(file + i * P)), i % 2 == 0, "file page {i}: only COW copies are dumped");
    }
    let (protnone, _) = t.region("protnone");
    assert!(ours_pages.contains_key(&protnone), "PROT_NONE pages are dumped, as CRIU does");
    let flags_at = |a: u64| ours_pm.find(a).unwrap().flags;
    assert_eq!(flags_at(t.region("locked").0), PE_PRESENT, "mlocked pages are never lazy");
    assert_eq!(flags_at(big), PE_LAZY | PE_PRESENT);
    // Contiguous big memory is cut where CRIU's page-pipe buffers fill up.
    let cap = criu_image::procmem::layout::ppb_capacity();
    assert!(ours_pm.runs.iter().all(|r| r.nr_pages <= cap));
    assert!(ours_pm.runs.iter().any(|r| r.nr_pages == cap));

    // Now CRIU restores from our files.
    std::fs::copy(pagemap_path(&ours_dir, t.pid as u32), pagemap_path(&criu_dir, t.pid as u32)).unwrap();
    std::fs::copy(pages_path(&ours_dir, s.pages_id), pages_path(&criu_dir, criu_pm.pages_id)).unwrap();
    restore_and_verify(&mut t, &criu_dir);
}

/// Incremental dumps by content comparison (this kernel has no soft-dirty tracking), three
/// levels deep, restored by CRIU through the `parent` links.
#[test]
fn incremental_chain_by_content_restores_through_parents() {
    let base = scratch("incremental");
    let tdir = base.join("target");
    std::fs::create_dir(&tdir).unwrap();
    let mut t = Target::start(&tdir, 4 << 10, 77);
    t.stop();

    let a = base.join("a");
    std::fs::create_dir(&a).unwrap();
    let sa = dump(t.pid, &a, &DumpOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(sa.pages_parent, 0);

    assert_eq!(t.ask(libc::SIGUSR2, "mutated").trim(), "1");
    t.stop();

    let d = base.join("criu");
    std::fs::create_dir(&d).unwrap();
    criu_dump(&t, &d);
    let criu_pm = pagemap_of(&d, t.pid);

    let b = base.join("b");
    std::fs::create_dir(&b).unwrap();
    let opts_b = DumpOptions { parent: Some("../a".into()), ..DumpOptions::default() };
    let sb = dump(t.pid, &b, &opts_b, &mut |_| {}).unwrap();
    eprintln!("b: {}", sb.to_json());
    assert_eq!(std::fs::read_link(b.join("parent")).unwrap(), Path::new("../a"));
    assert!(!sb.soft_dirty_used || KernelFacts::get().soft_dirty);
    let pm_b = pagemap_of(&b, t.pid);
    let (big, big_len) = t.region("big");
    for i in 0..big_len / P {
        let run = pm_b.find(big + i * P).unwrap();
        let changed = i % 16 == 5;
        assert_eq!(run.flags & PE_PRESENT != 0, changed, "big page {i}: flags {}", run.flags);
        assert_eq!(run.flags & PE_PARENT != 0, !changed, "big page {i}: flags {}", run.flags);
    }
    let (file, _) = t.region("file");
    assert_eq!(pm_b.find(file + P).unwrap().flags & PE_PRESENT, PE_PRESENT, "the rewritten file page");
    assert!(sb.pages_parent > sb.pages_written * 10, "{} parent vs {} written", sb.pages_parent, sb.pages_written);

    // Nothing ran since: everything is in the parents, except what CRIU never takes from a
    // parent, the pages of VMAs without PROT_READ.
    let c = base.join("c");
    std::fs::create_dir(&c).unwrap();
    let opts_c = DumpOptions { parent: Some("../b".into()), pages_id: criu_pm.pages_id, ..DumpOptions::default() };
    let sc = dump(t.pid, &c, &opts_c, &mut |_| {}).unwrap();
    let (protnone, protnone_len) = t.region("protnone");
    assert_eq!(sc.pages_written, protnone_len / P);
    let present: Vec<(u64, u64)> =
        pagemap_of(&c, t.pid).runs.iter().filter(|r| r.flags != PE_PARENT).map(|r| (r.start, r.nr_pages)).collect();
    assert_eq!(present, vec![(protnone, protnone_len / P)]);

    // Through the chain c → b → a, the pages are CRIU's, but for the rseq area's CPU words
    // (see `dump_equals_criu_and_criu_restores_it`): CRIU's dump ran the task, and on a loaded
    // machine it may have come back on the other CPU.
    let rseq_cpu = rseq_cpu_fields(&d, t.pid);
    let mut ours = resolve_all(&c, t.pid);
    let mut theirs = resolve_all(&d, t.pid);
    for pages in [&mut ours, &mut theirs] {
        mask(pages, rseq_cpu.clone());
    }
    let diff = diff_pages(&ours, &theirs, t.pid);
    assert!(diff.is_empty(), "the chain differs from CRIU's full dump:\n{diff}");

    // CRIU restores from our chain.
    std::fs::copy(pagemap_path(&c, t.pid as u32), pagemap_path(&d, t.pid as u32)).unwrap();
    std::fs::copy(pages_path(&c, sc.pages_id), pages_path(&d, criu_pm.pages_id)).unwrap();
    std::os::unix::fs::symlink(&b, d.join("parent")).unwrap();
    restore_and_verify(&mut t, &d);
}

/// Every way of reading gives the same images: scan paths, output paths, pipelining, iovec
/// batch sizes, buffer sizes down to two pages.
#[test]
fn every_strategy_writes_the_same_images() {
    let base = scratch("strategies");
    let tdir = base.join("target");
    std::fs::create_dir(&tdir).unwrap();
    let t = Target::start(&tdir, 6 << 10, 5);
    t.stop();
    let variants: Vec<(&str, DumpOptions)> = vec![
        ("default", DumpOptions::default()),
        ("pagemap-file", DumpOptions { scan: ScanMode::Pagemap, ..DumpOptions::default() }),
        ("serial", DumpOptions { pipeline: false, preallocate: false, huge_buffer: true, ..DumpOptions::default() }),
        ("mmap", DumpOptions { output: OutputMode::Mmap, ..DumpOptions::default() }),
        ("iov1-small", DumpOptions { iov_batch: 1, buffer_size: 2 * PAGE_SIZE, ..DumpOptions::default() }),
        ("iov7-odd", DumpOptions { iov_batch: 7, buffer_size: 37 * PAGE_SIZE + 100, ..DumpOptions::default() }),
    ];
    let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
    for (name, opts) in variants {
        let d = base.join(name);
        std::fs::create_dir(&d).unwrap();
        let s = dump(t.pid, &d, &opts, &mut |_| {}).unwrap();
        assert_eq!(s.pages_faulted, 0, "{name}");
        let got = (std::fs::read(pagemap_path(&d, t.pid as u32)).unwrap(), std::fs::read(pages_path(&d, 1)).unwrap());
        match &first {
            None => first = Some(got),
            Some(f) => {
                assert!(f.0 == got.0, "{name}: pagemap differs from the default's");
                assert!(f.1 == got.1, "{name}: pages differ from the default's");
            }
        }
    }
    // Read mode's choice: no PROT_NONE pages at all.
    let d = base.join("skip-unreadable");
    std::fs::create_dir(&d).unwrap();
    dump(t.pid, &d, &DumpOptions { unreadable: Unreadable::Skip, ..DumpOptions::default() }, &mut |_| {}).unwrap();
    let pm = pagemap_of(&d, t.pid);
    assert!(pm.find(t.region("protnone").0).is_none());
}

/// A target that dies mid-dump ends the dump with `Vanished`, naming the PID, and leaves no
/// images behind.
#[test]
fn target_exiting_mid_dump_is_a_clear_error() {
    let base = scratch("vanish");
    let tdir = base.join("target");
    std::fs::create_dir(&tdir).unwrap();
    let mut t = Target::start(&tdir, 16 << 10, 9);
    t.stop();
    let out = base.join("out");
    std::fs::create_dir(&out).unwrap();
    let pid = t.pid;
    let mut calls = 0;
    let opts = DumpOptions { buffer_size: 64 << 10, ..DumpOptions::default() };
    let e = dump(pid, &out, &opts, &mut |_| {
        calls += 1;
        if calls == 1 {
            t.kill();
        }
    })
    .unwrap_err();
    assert!(matches!(e, Error::Vanished { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("process {pid} exited")), "{msg}");
    assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "a failed dump left files behind");

    // And a PID that is already gone: refused before anything is opened, naming the PID.
    let e = dump(pid, &out, &DumpOptions::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, Error::NoProcess { pid: p } if p == pid), "{e:?}");
    assert!(e.to_string().starts_with(&format!("no process {pid}")), "{e}");
}

/// Runs this test binary again as a child with `PROCMEM_CHILD` set, returning its stdout.
fn run_child(role: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_role", "--nocapture", "--test-threads=1"])
        .env("PROCMEM_CHILD", role)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "child {role} failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let l = s.lines().find(|l| l.starts_with(field)).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Not a test by itself: the child half of the tests that need a process of their own (to
/// measure its memory, or to drop privileges). Does nothing unless `PROCMEM_CHILD` is set.
#[test]
fn child_role() {
    let Ok(role) = std::env::var("PROCMEM_CHILD") else { return };
    let f: Vec<&str> = role.split(':').collect();
    let pid: i32 = f[1].parse().unwrap();
    let dir = Path::new(f[2]);
    match f[0] {
        "membound" => {
            let buffer_size: usize = f[3].parse().unwrap();
            let opts = DumpOptions { buffer_size, ..DumpOptions::default() };
            // Warm up code and allocator, then measure a second dump.
            dump(pid, dir, &opts, &mut |_| {}).unwrap();
            let rss = status_kib("VmRSS:");
            std::fs::write("/proc/self/clear_refs", "5").unwrap();
            let s = dump(pid, dir, &opts, &mut |_| {}).unwrap();
            let hwm = status_kib("VmHWM:");
            println!("RESULT {} {} {}", (hwm.saturating_sub(rss)) * 1024, s.memory_held, s.bytes_written);
        }
        "unprivileged" => {
            // SAFETY: plain credential syscalls in a single-purpose child process.
            unsafe {
                assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
                assert_eq!(libc::setgid(65534), 0);
                assert_eq!(libc::setuid(65534), 0);
            }
            let e = dump(pid, dir, &DumpOptions::default(), &mut |_| {}).unwrap_err();
            println!("RESULT {}", e);
            assert!(matches!(e, Error::Permission { .. }), "{e:?}");
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Memory held is the buffer plus bookkeeping, whatever the size of the target: a 256 MiB
/// target through a 1 MiB buffer raises the dumper's peak RSS by about 1 MiB.
#[test]
fn memory_held_stays_near_the_buffer() {
    let base = scratch("membound");
    let tdir = base.join("target");
    std::fs::create_dir(&tdir).unwrap();
    let t = Target::start(&tdir, 256 << 10, 3);
    t.stop();
    let out = base.join("out");
    std::fs::create_dir(&out).unwrap();
    let buffer = 1usize << 20;
    let r = run_child(&format!("membound:{}:{}:{buffer}", t.pid, out.display()));
    let line = r.split("RESULT ").nth(1).unwrap_or_else(|| panic!("no result from child: {r}"));
    let v: Vec<u64> = line.split_whitespace().take(3).map(|x| x.parse().unwrap()).collect();
    let (hwm_delta, held, written) = (v[0], v[1], v[2]);
    eprintln!("peak RSS delta {hwm_delta} B, memory_held {held} B, wrote {written} B");
    assert!(written >= 256 << 20);
    assert!(held as usize <= buffer + (512 << 10), "memory_held {held} for a {buffer}-byte buffer");
    assert!(hwm_delta as usize <= buffer + (2 << 20), "peak RSS grew by {hwm_delta} bytes for a {buffer}-byte buffer");
}

/// Without the right to read the target: `Permission`, naming the PID and what was refused.
#[test]
fn unprivileged_dump_is_a_permission_error() {
    let base = scratch("unprivileged");
    let tdir = base.join("target");
    std::fs::create_dir(&tdir).unwrap();
    let t = Target::start(&tdir, 1 << 10, 4);
    t.stop();
    let out = base.join("out");
    std::fs::create_dir(&out).unwrap();
    let r = run_child(&format!("unprivileged:{}:{}", t.pid, out.display()));
    assert!(r.contains(&format!("process {}", t.pid)) && r.contains("not permitted"), "{r}");
}
