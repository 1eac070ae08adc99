//! The page-server protocol against real CRIU 4.2.1, both directions, on loopback (tests run as
//! root; CRIU missing is a failure, never a skip).
//!
//! * Our client → `criu page-server` (and → our server): rounds while the target runs and
//!   changes its memory, a final round with it stopped, then `criu dump` for the rest of its
//!   state, whose images (all but its pagemap/pages) are put into the last round's directory;
//!   `criu restore` from there, and the restored process checks its own memory.
//! * `criu dump --page-server` → our server: the same bytes as `criu page-server` writes, CRIU
//!   restores from them; with `--prev`, unchanged pages become `PE_PARENT` by content.
//! * Faults: port closed, a server without the parent, the target exiting mid-round, the server
//!   dying mid-round: each a named error, nothing left that looks like a complete round.
//!
//! The target is `procmem-target/target.c` (see `tests/procmem.rs`): it knows the checksum of
//! its memory and rewrites every 16th page of its big region on SIGUSR2.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::target::{Restored, Target};
use criu_image::page_server::{self, Server, ServerOptions, SessionSummary};
use criu_image::procmem::image::{PageChain, pagemap_path};
use criu_image::procmem::layout::{PE_PARENT, PE_PRESENT};
use criu_image::procmem::{DumpOptions, Error, PAGE_SIZE, RoundOptions, RoundSummary, dump_to_page_server};

/// A pagemap image read back through the crate's one pagemap index.
fn read_index(path: &std::path::Path) -> Result<criu_image::model::PageIndex, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    criu_image::model::PageIndex::from_bytes(&path.display().to_string(), &bytes).map_err(|e| e.to_string())
}


const P: u64 = PAGE_SIZE as u64;

/// A scratch directory per test, emptied first.
fn scratch(name: &str) -> PathBuf {
    support::target::scratch("page-server", name)
}

fn criu_output(args: &[&str], dir: &Path, log: &Path) -> std::process::Output {
    Command::new(support::criu_bin()).args(args).arg("-D").arg(dir).arg("-v4").arg("-o").arg(log).stdin(Stdio::null()).output().expect("run criu")
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(30).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Runs CRIU; on failure, panics with the tail of its log.
fn criu(args: &[&str], dir: &Path, log: &Path) {
    let out = criu_output(args, dir, log);
    assert!(
        out.status.success(),
        "criu {args:?} failed ({}):\n{}\n--- log tail ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        log_tail(log)
    );
}

/// A free loopback port (bound, read, released: `criu page-server` needs a number).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A real `criu page-server -D dir` on loopback, ready when `start` returns.
struct CriuServer {
    child: Option<Child>,
    addr: String,
    log: PathBuf,
}

impl CriuServer {
    fn start(dir: &Path, prev: Option<&str>, log: &Path) -> CriuServer {
        std::fs::create_dir_all(dir).unwrap();
        let mut fds = [0i32; 2];
        // SAFETY: a fresh pipe; the write end is inherited by criu (no CLOEXEC), the read end
        // gets CLOEXEC below.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: setting a flag on our own fd.
        unsafe { libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC) };
        let port = free_port();
        let mut cmd = Command::new(support::criu_bin());
        cmd.args(["page-server", "--address", "127.0.0.1", "--port", &port.to_string(), "--status-fd", &fds[1].to_string(), "-v4", "-o"])
            .arg(log)
            .arg("-D")
            .arg(dir);
        if let Some(p) = prev {
            cmd.args(["--prev-images-dir", p]);
        }
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start criu page-server");
        // SAFETY: both fds are ours; from here on owned (closed on drop).
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(w);
        let mut f = std::fs::File::from(r);
        let mut b = [0u8; 1];
        let n = f.read(&mut b).unwrap_or(0);
        assert_eq!(n, 1, "criu page-server did not start listening:\n{}", log_tail(log));
        CriuServer { child: Some(child), addr: format!("127.0.0.1:{port}"), log: log.to_path_buf() }
    }

    /// Waits (bounded) for the server to end its session.
    fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("waited twice");
        let t = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("criu page-server did not end its session:\n{}", log_tail(&self.log));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for CriuServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Our server on a free loopback port, serving one session on a thread.
struct OurServer {
    addr: String,
    thread: Option<std::thread::JoinHandle<Result<SessionSummary, page_server::Error>>>,
}

impl OurServer {
    fn start(dir: &Path, prev: Option<&str>) -> OurServer {
        std::fs::create_dir_all(dir).unwrap();
        let opts = ServerOptions { dir: dir.to_path_buf(), prev: prev.map(PathBuf::from), ..ServerOptions::default() };
        let s = Server::bind("127.0.0.1:0", opts).unwrap();
        let addr = s.local_addr().unwrap().to_string();
        OurServer { addr, thread: Some(std::thread::spawn(move || s.serve_one())) }
    }

    fn wait(&mut self) -> Result<SessionSummary, page_server::Error> {
        self.thread.take().unwrap().join().unwrap()
    }
}

/// A page server of either kind.
enum AnyServer {
    Criu(CriuServer),
    Ours(OurServer),
}

impl AnyServer {
    fn start(ours: bool, dir: &Path, prev: Option<&str>, logs: &Path, name: &str) -> AnyServer {
        if ours { AnyServer::Ours(OurServer::start(dir, prev)) } else { AnyServer::Criu(CriuServer::start(dir, prev, &logs.join(format!("{name}.log")))) }
    }

    fn addr(&self) -> String {
        match self {
            AnyServer::Criu(c) => c.addr.clone(),
            AnyServer::Ours(o) => o.addr.clone(),
        }
    }

    /// True when the server ended its session successfully.
    fn finished_ok(&mut self) -> bool {
        match self {
            AnyServer::Criu(c) => c.wait().success(),
            AnyServer::Ours(o) => o.wait().is_ok(),
        }
    }
}

fn round(pid: i32, server: &str, record: &Path, incremental: bool) -> Result<RoundSummary, Error> {
    let opts = RoundOptions {
        dump: DumpOptions { track_mem: true, ..DumpOptions::default() },
        record_dir: record.to_path_buf(),
        incremental,
        timeout: Duration::from_secs(20),
    };
    dump_to_page_server(pid, server, &opts, &mut |_| {})
}

/// Every (page address → bytes) a dump directory resolves to, through parent links.
fn resolve_all(dir: &Path, pid: i32) -> BTreeMap<u64, Vec<u8>> {
    let chain = PageChain::open(dir, pid as u32).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut all = BTreeMap::new();
    for r in chain.index().unwrap().entries() {
        for i in 0..r.nr_pages {
            let a = r.start + i * P;
            all.insert(a, chain.page(a).unwrap().unwrap_or_else(|| panic!("{}: page {a:#x} resolves to nothing", dir.display())));
        }
    }
    all
}

/// The pages CRIU's own dump has that ours does not, after checking that every page both have is
/// the same but at most one. CRIU's compel writes its trampoline into the first page of the
/// first executable mapping (and puts the bytes back), which makes that page a private copy CRIU
/// then dumps; a task CRIU never touched has the file's page there, which we leave to the file.
/// And two CRIU dumps of one stopped task can differ in a few bytes of one page (its parasite's
/// doing; `criu_dump_to_our_server_restores_and_dedups` sees it between CRIU's own dumps), so a
/// dump taken after ours may too.
fn compare_with_criu(ours: &BTreeMap<u64, Vec<u8>>, criu: &BTreeMap<u64, Vec<u8>>) -> Vec<u64> {
    let mut differ = Vec::new();
    for (a, b) in ours {
        match criu.get(a) {
            None => panic!("we have {a:#x}, CRIU's dump does not"),
            Some(c) if c != b => differ.push(*a),
            Some(_) => {}
        }
    }
    assert!(differ.len() <= 1, "pages {differ:x?} differ from CRIU's dump");
    criu.keys().filter(|a| !ours.contains_key(a)).copied().collect()
}

/// Moves the images of a `criu dump` of `pid` into `round`, except its pagemap and the pages
/// file that pagemap names: the task's memory is the round's.
fn combine(criu_dir: &Path, round: &Path, pid: i32) {
    let pm = read_index(&pagemap_path(criu_dir, pid as u32)).unwrap();
    let skip = [format!("pagemap-{pid}.img"), format!("pages-{}.img", pm.pages_id)];
    for e in std::fs::read_dir(criu_dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if skip.contains(&name) || !name.ends_with(".img") {
            continue;
        }
        assert!(!round.join(&name).exists(), "{name} would overwrite the round's own image");
        std::fs::copy(e.path(), round.join(&name)).unwrap();
    }
}

/// Copies every image of `from` into `to`, which must not have it yet.
fn copy_images(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".img") {
            assert!(!to.join(&name).exists(), "{name} would overwrite an image of {}", to.display());
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

fn restore_and_verify(t: &mut Target, dir: &Path, logs: &Path) {
    let pid = t.pid;
    t.kill();
    criu(&["restore", "--shell-job", "-d"], dir, &logs.join("restore.log"));
    let restored = Restored(pid);
    let verdict = t.ask(libc::SIGUSR1, "verdict");
    assert!(verdict.starts_with("ok "), "the restored process found its memory wrong: {verdict}");
    drop(restored);
}

/// The whole migration, with either server: two rounds while the target runs and changes its
/// memory, a final round stopped, `criu dump` of the rest, restore from the last round.
fn rounds_then_restore(ours: bool) {
    let base = scratch(if ours { "rounds-ours" } else { "rounds-criu" });
    let logs = base.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut t = Target::start(&base.join("target"), 4 << 10, 21);
    let record = base.join("record");
    let (big, big_len) = t.addrs["big"];

    // Round 1: everything, the target running.
    let r1 = base.join("r1");
    let mut s = AnyServer::start(ours, &r1, None, &logs, "ps1");
    let s1 = round(t.pid, &s.addr(), &record, false).unwrap();
    assert!(s.finished_ok(), "the server did not take round 1");
    eprintln!("{s1}");
    assert_eq!((s1.round, s1.dump.pages_parent), (1, 0));
    assert!(s1.dump.pages_written >= big_len / P);
    assert!(s1.dump.memory_held <= (4 << 20) + (1 << 20), "held {}", s1.dump.memory_held);

    // Round 2: the target changed every 16th page of big, and still runs.
    assert_eq!(t.ask(libc::SIGUSR2, "mutated").trim(), "1");
    let r2 = base.join("r2");
    let mut s = AnyServer::start(ours, &r2, Some("../r1"), &logs, "ps2");
    let s2 = round(t.pid, &s.addr(), &record, true).unwrap();
    assert!(s.finished_ok(), "the server did not take round 2");
    eprintln!("{s2}");
    assert_eq!(std::fs::read_link(r2.join("parent")).unwrap(), Path::new("../r1"));
    let pm2 = read_index(&pagemap_path(&r2, t.pid as u32)).unwrap();
    for i in 0..big_len / P {
        let run = pm2.run_at(big + i * P).unwrap();
        let changed = i % 16 == 5;
        assert_eq!(run.flags & PE_PRESENT != 0, changed, "big page {i}: flags {}", run.flags);
        assert_eq!(run.flags & PE_PARENT != 0, !changed, "big page {i}: flags {}", run.flags);
    }
    assert!(s2.dump.pages_parent > 8 * s2.dump.pages_written, "{} parent, {} written", s2.dump.pages_parent, s2.dump.pages_written);
    assert!(s2.bytes_sent < s1.bytes_sent / 4, "round 2 sent {} bytes, round 1 {}", s2.bytes_sent, s1.bytes_sent);

    // Round 3, final: changed again, then stopped.
    assert_eq!(t.ask(libc::SIGUSR2, "mutated").trim(), "2");
    t.stop();
    let r3 = base.join("r3");
    let mut s = AnyServer::start(ours, &r3, Some("../r2"), &logs, "ps3");
    let s3 = round(t.pid, &s.addr(), &record, true).unwrap();
    assert!(s.finished_ok(), "the server did not take round 3");
    eprintln!("{s3}");
    assert_eq!(s3.round, 3);

    // CRIU dumps the rest; through r3 → r2 → r1 the pages are CRIU's.
    let cd = base.join("criu");
    std::fs::create_dir(&cd).unwrap();
    criu(&["dump", "-t", &t.pid.to_string(), "--shell-job", "--leave-running"], &cd, &logs.join("dump.log"));
    let only_criu = compare_with_criu(&resolve_all(&r3, t.pid), &resolve_all(&cd, t.pid));
    assert!(only_criu.len() <= 1, "CRIU's dump has pages our rounds lack: {only_criu:x?}");
    combine(&cd, &r3, t.pid);
    restore_and_verify(&mut t, &r3, &logs);
}

#[test]
fn rounds_to_criu_page_server_restore() {
    rounds_then_restore(false);
}

#[test]
fn rounds_to_our_page_server_restore() {
    rounds_then_restore(true);
}

fn criu_dump_to(t: &Target, dir: &Path, port_addr: &str, log: &Path, extra: &[&str]) -> std::process::Output {
    let port = port_addr.rsplit(':').next().unwrap();
    let pid = t.pid.to_string();
    let mut args = vec!["dump", "-t", &pid, "--shell-job", "--page-server", "--address", "127.0.0.1", "--port", port];
    args.extend_from_slice(extra);
    criu_output(&args, dir, log)
}

/// `criu dump --page-server` to our server: the same images as `criu page-server` writes, restore
/// accepts them; with `--prev`, a second dump is incremental by content.
#[test]
fn criu_dump_to_our_server_restores_and_dedups() {
    let base = scratch("criu-to-ours");
    let logs = base.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut t = Target::start(&base.join("target"), 4 << 10, 33);
    t.stop();

    // The same stopped task to CRIU's server, to ours, and to CRIU's again. Two CRIU dumps of
    // a stopped task are not always byte-identical (CRIU's parasite leaves a few bytes changed
    // on a page), so ours may differ from CRIU's only where CRIU's differ from each other.
    let to_criu = |name: &str| {
        let d = base.join(name);
        let mut theirs = CriuServer::start(&d, None, &logs.join(format!("ps-{name}.log")));
        let out = criu_dump_to(&t, &d, &theirs.addr, &logs.join(format!("dump-{name}.log")), &["--leave-running"]);
        assert!(out.status.success(), "criu dump to criu page-server failed:\n{}", log_tail(&logs.join(format!("dump-{name}.log"))));
        assert!(theirs.wait().success());
        d
    };
    let c0 = to_criu("c0");
    let a = base.join("a");
    let mut ours = OurServer::start(&a, None);
    let out = criu_dump_to(&t, &a, &ours.addr, &logs.join("dump-a.log"), &["--leave-running"]);
    assert!(out.status.success(), "criu dump to our server failed:\n{}", log_tail(&logs.join("dump-a.log")));
    let sa = ours.wait().unwrap();
    eprintln!("{sa}");
    assert_eq!(sa.images.len(), 1);
    let c = to_criu("c");
    let img = &sa.images[0];
    assert_eq!(img.pages_id, 0x10001);
    let name = |d: &Path| (std::fs::read(pagemap_path(d, t.pid as u32)).unwrap(), std::fs::read(d.join("pages-65537.img")).unwrap());
    let (ours_pm, ours_pages) = name(&a);
    let (criu_pm, criu_pages) = name(&c);
    let (criu0_pm, criu0_pages) = name(&c0);
    assert!(ours_pm == criu_pm && criu0_pm == criu_pm, "our server's pagemap differs from criu page-server's");
    let differ = |x: &[u8], y: &[u8]| -> Vec<usize> {
        assert_eq!(x.len(), y.len());
        (0..x.len() / PAGE_SIZE).filter(|&i| x[i * PAGE_SIZE..(i + 1) * PAGE_SIZE] != y[i * PAGE_SIZE..(i + 1) * PAGE_SIZE]).collect()
    };
    let ours_vs_criu = differ(&ours_pages, &criu_pages);
    let criu_vs_criu: Vec<usize> = differ(&criu0_pages, &criu_pages).into_iter().chain(differ(&criu0_pages, &ours_pages)).collect();
    assert!(ours_vs_criu.iter().all(|p| criu_vs_criu.contains(p)), "pages {ours_vs_criu:?} of ours differ from CRIU's, CRIU's own only at {criu_vs_criu:?}");
    assert!(ours_vs_criu.len() <= 2, "{ours_vs_criu:?}");
    assert_eq!(img.pages_written * P, ours_pages.len() as u64);
    assert!(std::fs::read_dir(&a).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".partial")));

    // The task changes; a second dump to our server with --prev writes only what changed.
    assert_eq!(t.ask(libc::SIGUSR2, "mutated").trim(), "1");
    t.stop();
    // CRIU writes its other images elsewhere: in a directory with a `parent` link it would
    // treat the dump as one on top of a pre-dump (and want that parent's pre-dump inventory).
    let b = base.join("b");
    let b_local = base.join("b-local");
    std::fs::create_dir(&b_local).unwrap();
    let mut ours = OurServer::start(&b, Some("../a"));
    let out = criu_dump_to(&t, &b_local, &ours.addr, &logs.join("dump-b.log"), &["--leave-running"]);
    assert!(out.status.success(), "criu dump to our --prev server failed:\n{}", log_tail(&logs.join("dump-b.log")));
    let sb = ours.wait().unwrap();
    eprintln!("{sb}");
    let ib = &sb.images[0];
    let (_, big_len) = t.addrs["big"];
    assert!(ib.pages_received + 4 >= img.pages_received, "CRIU sends every page each time: {ib:?}");
    assert!(ib.pages_written >= big_len / P / 16, "{ib:?}");
    // The changed pages of big, the file page, the trampoline page, the stack and a few more.
    assert!(ib.pages_written <= big_len / P / 16 + 40, "{ib:?}");
    assert_eq!(ib.pages_deduplicated, ib.pages_received - ib.pages_written);
    assert_eq!(std::fs::read_link(b.join("parent")).unwrap(), Path::new("../a"));
    // Page for page, b (through a) is a full dump of the task now: CRIU's, in c2.
    let c2 = base.join("c2");
    std::fs::create_dir(&c2).unwrap();
    criu(&["dump", "-t", &t.pid.to_string(), "--shell-job", "--leave-running"], &c2, &logs.join("dump-c2.log"));
    let only_criu = compare_with_criu(&resolve_all(&b, t.pid), &resolve_all(&c2, t.pid));
    assert!(only_criu.is_empty(), "{only_criu:x?}");
    copy_images(&b_local, &b);
    restore_and_verify(&mut t, &b, &logs);
}

/// `criu pre-dump` needs soft-dirty tracking; where the kernel has none (as here) it fails, and
/// our server, which saw no close handshake, keeps nothing.
#[test]
fn criu_pre_dump_to_our_server() {
    let base = scratch("pre-dump");
    let logs = base.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let t = Target::start(&base.join("target"), 1 << 10, 44);
    let d = base.join("d");
    let mut ours = OurServer::start(&d, None);
    let port = ours.addr.rsplit(':').next().unwrap().to_string();
    let pid = t.pid.to_string();
    let out = criu_output(
        &["pre-dump", "-t", &pid, "--shell-job", "--page-server", "--address", "127.0.0.1", "--port", &port],
        &d,
        &logs.join("pre.log"),
    );
    let served = ours.wait();
    if criu_image::procmem::KernelFacts::get().soft_dirty {
        assert!(out.status.success(), "pre-dump failed on a kernel with soft-dirty:\n{}", log_tail(&logs.join("pre.log")));
        let s = served.unwrap();
        assert!(s.images.iter().any(|i| i.pages_received > 0));
    } else {
        assert!(!out.status.success(), "criu pre-dump succeeded on a kernel without soft-dirty tracking");
        let log = std::fs::read_to_string(logs.join("pre.log")).unwrap_or_default();
        assert!(log.contains("BUG") || log.contains("dirty"), "pre-dump failed for another reason:\n{}", log_tail(&logs.join("pre.log")));
        let e = served.unwrap_err();
        assert!(e.is_disconnect(), "{e}");
        let left: Vec<String> =
            std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).filter(|n| n.starts_with("pag")).collect();
        assert!(left.is_empty(), "an interrupted session left {left:?}");
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).map(|r| r.map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect()).unwrap_or_default();
    v.sort();
    v
}

fn record_bytes(record: &Path, pid: i32) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(criu_image::page_server::record::pagemap_path(record, pid as u32)).unwrap(),
        std::fs::read(criu_image::page_server::record::digests_path(record, pid as u32)).unwrap(),
    )
}

/// No server there: a connect error naming the address.
#[test]
fn port_closed_is_a_connect_error() {
    let base = scratch("port-closed");
    let t = Target::start(&base.join("target"), 256, 5);
    let addr = format!("127.0.0.1:{}", free_port());
    let e = round(t.pid, &addr, &base.join("record"), false).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::PageServer(page_server::Error::Connect { .. })), "{e:?}");
    assert!(msg.contains(&addr) && msg.contains("refused"), "{msg}");
    assert!(files(&base.join("record")).is_empty(), "{:?}", files(&base.join("record")));
}

/// An incremental round to a server that has no parent for it (started without
/// --prev-images-dir, or another CRIU's images): refused before anything is written there.
#[test]
fn server_without_the_parent_refuses_the_round() {
    for ours in [false, true] {
        let base = scratch(if ours { "no-parent-ours" } else { "no-parent-criu" });
        let logs = base.join("logs");
        std::fs::create_dir(&logs).unwrap();
        let t = Target::start(&base.join("target"), 512, 6);
        let record = base.join("record");
        let mut s = AnyServer::start(ours, &base.join("r1"), None, &logs, "ps1");
        round(t.pid, &s.addr(), &record, false).unwrap();
        assert!(s.finished_ok());
        let before = record_bytes(&record, t.pid);

        let r2 = base.join("r2");
        let mut s = AnyServer::start(ours, &r2, None, &logs, "ps2");
        let e = round(t.pid, &s.addr(), &record, true).unwrap_err();
        assert!(matches!(e, Error::PageServer(page_server::Error::NoParent { .. })), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("no parent images for pid") && msg.contains("--prev-images-dir"), "{msg}");
        assert!(!s.finished_ok(), "the server took the refused round for a complete session");
        let left: Vec<String> = files(&r2).into_iter().filter(|n| n.starts_with("pag")).collect();
        assert!(left.is_empty(), "a refused round left {left:?}");
        assert!(record_bytes(&record, t.pid) == before, "a refused round changed the record");
    }
}

/// Neither failure mid-round leaves a round that can pass for complete: the server's pagemap
/// (CRIU's, which writes as it receives) cannot be read back, ours is not there at all, and the
/// record of the previous round is unchanged.
fn assert_no_complete_round(dir: &Path, pid: i32, ours: bool) {
    let names = files(dir);
    if ours {
        assert!(names.iter().all(|n| !n.starts_with("pag")), "our server left {names:?}");
    } else if let Ok(pm) = read_index(&pagemap_path(dir, pid as u32)) {
        let pages = std::fs::metadata(dir.join(format!("pages-{}.img", pm.pages_id))).map(|m| m.len()).unwrap_or(0);
        assert!(pages < pm.present_pages() * P, "criu page-server kept a consistent pagemap of an abandoned round ({names:?})");
    }
}

#[test]
fn target_exiting_mid_round_abandons_it() {
    for ours in [false, true] {
        let base = scratch(if ours { "vanish-ours" } else { "vanish-criu" });
        let logs = base.join("logs");
        std::fs::create_dir(&logs).unwrap();
        let mut t = Target::start(&base.join("target"), 16 << 10, 7);
        let record = base.join("record");
        let r1 = base.join("r1");
        let mut s = AnyServer::start(ours, &r1, None, &logs, "ps1");
        let pid = t.pid;
        let mut calls = 0;
        let opts = RoundOptions {
            dump: DumpOptions { buffer_size: 64 << 10, ..DumpOptions::default() },
            record_dir: record.clone(),
            incremental: false,
            timeout: Duration::from_secs(20),
        };
        let e = dump_to_page_server(pid, &s.addr(), &opts, &mut |_| {
            calls += 1;
            if calls == 1 {
                t.kill();
            }
        })
        .unwrap_err();
        assert!(e.is_vanished(), "{e:?}");
        assert!(e.to_string().contains(&format!("process {pid} exited")), "{e}");
        assert!(!s.finished_ok(), "the server took an abandoned round for complete");
        assert_no_complete_round(&r1, pid, ours);
        assert!(files(&record).is_empty(), "{:?}", files(&record));
    }
}

#[test]
fn server_dying_mid_round_is_a_named_error() {
    for ours in [false, true] {
        let base = scratch(if ours { "server-dies-ours" } else { "server-dies-criu" });
        let logs = base.join("logs");
        std::fs::create_dir(&logs).unwrap();
        let t = Target::start(&base.join("target"), 32 << 10, 8);
        let record = base.join("record");
        // A first round, so there is a record that must survive.
        let mut s = AnyServer::start(ours, &base.join("r1"), None, &logs, "ps1");
        round(t.pid, &s.addr(), &record, false).unwrap();
        assert!(s.finished_ok());
        let before = record_bytes(&record, t.pid);
        assert_eq!(t.ask(libc::SIGUSR2, "mutated").trim(), "1");

        // Our server "dies" by being a listener that is dropped after accepting: a socket
        // closed with data unread is reset, as a killed process's is.
        let r2 = base.join("r2");
        let (addr, mut killer): (String, Box<dyn FnMut()>) = if ours {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap().to_string();
            let h = std::thread::spawn(move || {
                let (mut c, _) = l.accept().unwrap();
                // Answer PS_IOV_PARENT and OPEN2 as a server with the parent would.
                let mut hb = [0u8; 32];
                c.read_exact(&mut hb).unwrap();
                std::io::Write::write_all(&mut c, &1i32.to_le_bytes()).unwrap();
                c.read_exact(&mut hb).unwrap();
                std::io::Write::write_all(&mut c, &[1u8]).unwrap();
                let mut some = vec![0u8; 1 << 20];
                let _ = c.read(&mut some);
                c
            });
            let mut h = Some(h);
            (addr, Box::new(move || drop(h.take().map(|h| h.join().unwrap()))))
        } else {
            let mut c = CriuServer::start(&r2, Some("../r1"), &logs.join("ps2.log"));
            (c.addr.clone(), Box::new(move || c.kill()))
        };
        let opts = RoundOptions {
            dump: DumpOptions { buffer_size: 64 << 10, ..DumpOptions::default() },
            record_dir: record.clone(),
            incremental: true,
            timeout: Duration::from_secs(20),
        };
        let mut calls = 0;
        let e = dump_to_page_server(t.pid, &addr, &opts, &mut |_| {
            calls += 1;
            if calls == 1 {
                killer();
            }
        })
        .unwrap_err();
        let msg = e.to_string();
        match &e {
            Error::PageServer(pe) => assert!(pe.is_disconnect(), "{e:?}"),
            other => panic!("{other:?}"),
        }
        assert!(msg.contains(&addr), "{msg}");
        assert!(record_bytes(&record, t.pid) == before, "a failed round changed the record");
        assert!(files(&record).iter().all(|n| !n.ends_with(".partial")), "{:?}", files(&record));
        if !ours {
            assert_no_complete_round(&r2, t.pid, false);
        }
    }
}
