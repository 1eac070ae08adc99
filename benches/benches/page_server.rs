//! Memory over loopback to a page server, every contender on the same stopped target (a child
//! holding `PS_BENCH_MIB` MiB, default 1024, of incompressible data), interleaved for
//! `PS_BENCH_ROUNDS` rounds (default 3), medians reported. The harness is `procmem.rs`'s (no
//! criterion: each contender is a multi-process session with a real CRIU).
//!
//! * `tcp-baseline`: one process writes the same number of bytes from a buffer into a loopback
//!   socket, another reads and discards them: the ceiling of any page-server path here;
//! * `criu→criu`: `criu dump --page-server` to `criu page-server`; CRIU's own path, the
//!   baseline the goals are stated against. Timed by CRIU's `memdump_time` (its `stats-dump`),
//!   which covers scanning, `vmsplice` and sending; `-wall` is the whole `criu dump`;
//! * `ours→criu`: `crit mem-dump --page-server` (our client, a full first round, digests kept
//!   for the next) to `criu page-server`; the round as our client times it, connect to close
//!   handshake;
//! * `ours→criu (incremental)`: the next round of the same, nothing changed: every page read,
//!   digested, compared, and sent as `PE_PARENT`;
//! * `criu→ours`: `criu dump --page-server` to our server (`crit page-server`), timed by CRIU's
//!   `memdump_time` like `criu→criu` (the server's own clock, first `OPEN2` to the close
//!   handshake, is in the note); `criu→ours --prev`: the same to a server with the previous dump as
//!   `--prev` (pages equal by content: nothing should be written).
//!
//! Memory held is the peak RSS growth of the process doing the work, measured in a child of its
//! own (the client or the server, re-run from this executable; CRIU's from `wait4`), never of a
//! large process it was forked from.
//!
//! What a regression means: `ours→criu` below `criu→criu`; our client or server holding more
//! than its buffer plus a few MiB; `criu→ours` below `criu→criu`; `criu→ours --prev` writing
//! more than a few pages.
//!
//! Environment: `PS_BENCH_MIB`, `PS_BENCH_ROUNDS`, `PS_BENCH_DIR` (default
//! `$CARGO_TARGET_TMPDIR/page-server-bench`), `CRIU`. Needs root and real CRIU.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criu_image::page_server::{Server, ServerOptions};
use criu_image::procmem::{DumpOptions, RoundOptions, dump_to_page_server};

const PAGE: usize = 4096;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

/// Runs `f`; returns its result and how far our peak RSS rose above our RSS before it.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = status_kib("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let r = f();
    (r, status_kib("VmHWM:").saturating_sub(before) * 1024)
}

// ---------------------------------------------------------------------------------------------
// Roles this executable plays in child processes.

fn role(role: &str) -> ! {
    let arg = |k: &str| std::env::var(k).unwrap();
    match role {
        "target" => {
            let len = (env_u64("PS_BENCH_MIB", 1024) as usize) << 20;
            // SAFETY: a fresh anonymous mapping, filled and kept.
            let p = unsafe {
                libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
            };
            if p == libc::MAP_FAILED {
                std::process::exit(2);
            }
            // SAFETY: advice on our own mapping.
            unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for i in 0..len / 8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // SAFETY: inside the mapping.
                unsafe { p.cast::<u64>().add(i).write(x) };
            }
            // SAFETY: stopping ourselves; the bench waits for it.
            unsafe { libc::raise(libc::SIGSTOP) };
            loop {
                // SAFETY: plain pause.
                unsafe { libc::pause() };
            }
        }
        "client" => {
            let opts = RoundOptions {
                dump: DumpOptions::default(),
                record_dir: PathBuf::from(arg("PS_BENCH_RECORD")),
                incremental: arg("PS_BENCH_INCREMENTAL") == "1",
                timeout: Duration::from_secs(120),
            };
            let pid: i32 = arg("PS_BENCH_PID").parse().unwrap();
            let (s, grew) = peak_growth(|| dump_to_page_server(pid, &arg("PS_BENCH_SERVER"), &opts, &mut |_| {}).unwrap());
            println!("RESULT {} {} {} {grew}", s.dump.elapsed.as_nanos(), s.dump.pages_read * PAGE as u64, s.dump.memory_held);
        }
        "server" => {
            let prev = std::env::var("PS_BENCH_PREV").ok().map(PathBuf::from);
            let opts = ServerOptions { dir: PathBuf::from(arg("PS_BENCH_OUT")), prev, ..ServerOptions::default() };
            let server = Server::bind("127.0.0.1:0", opts).unwrap();
            println!("PORT {}", server.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            let (s, grew) = peak_growth(|| server.serve_one().unwrap());
            let written: u64 = s.images.iter().map(|i| i.pages_written).sum();
            let received: u64 = s.images.iter().map(|i| i.pages_received).sum();
            println!("RESULT {} {} {} {grew} {written}", s.transfer.as_nanos(), received * PAGE as u64, s.memory_held);
        }
        "tcp-sink" => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            println!("PORT {}", l.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            let (mut c, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 4 << 20];
            while c.read(&mut buf).unwrap() > 0 {}
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0)
}

fn child(role: &str, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("PS_BENCH_ROLE", role).stdin(Stdio::null()).stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Reads lines from a child's stdout until one starts with `tag`; returns its fields.
fn line(out: &mut impl std::io::BufRead, tag: &str) -> Vec<u64> {
    let mut l = String::new();
    loop {
        l.clear();
        assert!(out.read_line(&mut l).unwrap() > 0, "child ended without {tag}");
        if let Some(rest) = l.strip_prefix(tag) {
            return rest.split_whitespace().map(|v| v.parse().unwrap()).collect();
        }
    }
}

// ---------------------------------------------------------------------------------------------

struct Target {
    pid: i32,
    child: Child,
}

impl Target {
    fn start(mib: u64) -> Target {
        let mut cmd = child("target", &[("PS_BENCH_MIB", mib.to_string())]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let c = cmd.spawn().unwrap();
        let pid = c.id() as i32;
        let mut status = 0;
        // SAFETY: waiting for our child's SIGSTOP.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
        assert!(r == pid && libc::WIFSTOPPED(status), "target did not stop");
        Target { pid, child: c }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `criu page-server -D dir` on a free port, ready; returns it and its port.
fn criu_server(criu: &Path, dir: &Path, prev: Option<&str>) -> (Child, u16) {
    std::fs::create_dir_all(dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut fds = [0i32; 2];
    // SAFETY: a fresh pipe; the write end goes to criu.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: our own fd.
    unsafe { libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC) };
    let mut cmd = Command::new(criu);
    cmd.args(["page-server", "--address", "127.0.0.1", "--port", &port.to_string(), "--status-fd", &fds[1].to_string(), "-o", "ps.log", "-D"])
        .arg(dir);
    if let Some(p) = prev {
        cmd.args(["--prev-images-dir", p]);
    }
    // Spawned from us: reset our peak so its ru_maxrss does not start from it.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let c = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // SAFETY: both fds are ours.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(w);
    let mut b = [0u8; 1];
    assert_eq!(std::fs::File::from(r).read(&mut b).unwrap_or(0), 1, "criu page-server did not start; see {}/ps.log", dir.display());
    (c, port)
}

/// Waits for a child CRIU, returning its peak RSS.
fn wait_rss(c: Child, what: &str) -> u64 {
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: reaping our own child.
    let r = unsafe { libc::wait4(c.id() as i32, &mut status, 0, &mut ru) };
    assert!(r > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{what} failed");
    std::mem::forget(c);
    ru.ru_maxrss as u64 * 1024
}

/// `criu dump --leave-running --page-server` of `t` to port; (memdump_time, wall, peak RSS).
fn criu_dump(criu: &Path, t: &Target, local: &Path, port: u16) -> (Duration, Duration, u64) {
    let _ = std::fs::remove_dir_all(local);
    std::fs::create_dir_all(local).unwrap();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let start = Instant::now();
    let c = Command::new(criu)
        .args(["dump", "-t", &t.pid.to_string(), "--shell-job", "--leave-running", "--page-server", "--address", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args(["-o", "dump.log", "-D"])
        .arg(local)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rss = wait_rss(c, &format!("criu dump (see {}/dump.log)", local.display()));
    let wall = start.elapsed();
    let data = std::fs::read(local.join("stats-dump")).expect("stats-dump");
    let img = criu_image::image::Image::parse(&data, None).unwrap();
    let e = img.entries().next().unwrap().unwrap();
    let st = criu_image::proto::view::StatsEntry::parse(e.message).unwrap();
    (Duration::from_micros(u64::from(st.dump().unwrap().memdump_time())), wall, rss)
}

/// One contender's figures: durations, bytes per run, memory held per run, a note.
type Runs = (Vec<Duration>, u64, Vec<u64>, String);

#[derive(Default)]
struct Figures {
    runs: BTreeMap<&'static str, Runs>,
}

impl Figures {
    fn add(&mut self, name: &'static str, d: Duration, bytes: u64, mem: u64, note: String) {
        let e = self.runs.entry(name).or_default();
        e.0.push(d);
        e.1 = bytes;
        e.2.push(mem);
        e.3 = note;
    }
    fn median(&self, name: &str) -> Option<f64> {
        let (ds, bytes, _, _) = self.runs.get(name)?;
        let mut v: Vec<f64> = ds.iter().map(|d| *bytes as f64 / d.as_secs_f64() / 1e9).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        Some(v[v.len() / 2])
    }
}

fn main() {
    if let Ok(r) = std::env::var("PS_BENCH_ROLE") {
        role(&r);
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mib = env_u64("PS_BENCH_MIB", 1024);
    let rounds = env_u64("PS_BENCH_ROUNDS", 3) as usize;
    let criu = std::env::var_os("CRIU").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criu/bin/criu"));
    assert!(criu.is_file(), "real CRIU is needed: {} does not exist (set CRIU=)", criu.display());
    let base = std::env::var_os("PS_BENCH_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-server-bench"));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let bytes = mib << 20;
    let t = Target::start(mib);
    let mut f = Figures::default();
    let fresh = |name: &str| {
        let d = base.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    };

    for round in 0..rounds {
        eprintln!("round {} of {rounds}", round + 1);
        // TCP ceiling: 4 MiB writes of one buffer into a loopback socket, a child discards.
        {
            let mut sink = child("tcp-sink", &[]).stdout(Stdio::piped()).spawn().unwrap();
            let mut out = std::io::BufReader::new(sink.stdout.take().unwrap());
            let port = line(&mut out, "PORT ")[0];
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port as u16)).unwrap();
            let buf = vec![7u8; 4 << 20];
            let start = Instant::now();
            let mut sent = 0u64;
            while sent < bytes {
                s.write_all(&buf).unwrap();
                sent += buf.len() as u64;
            }
            drop(s);
            sink.wait().unwrap();
            f.add("tcp-baseline", start.elapsed(), bytes, 4 << 20, "4 MiB buffer".into());
        }

        // CRIU → CRIU.
        let dir = fresh("criu-criu");
        let (srv, port) = criu_server(&criu, &dir, None);
        let (mem, wall, rss) = criu_dump(&criu, &t, &fresh("criu-criu-local"), port);
        let srv_rss = wait_rss(srv, "criu page-server");
        f.add("criu→criu", mem, bytes, rss, format!("criu dump peak RSS {:.1} MiB, criu page-server {:.1} MiB", rss as f64 / 1048576.0, srv_rss as f64 / 1048576.0));
        f.add("criu→criu-wall", wall, bytes, rss, "the whole criu dump, freezing and parasite included".into());

        // Ours → CRIU, full then incremental.
        let record = fresh("record");
        for (name, incr, prev) in [("ours→criu", "0", None), ("ours→criu (incremental)", "1", Some("../ours-criu-1"))] {
            let dir = fresh(if incr == "0" { "ours-criu-1" } else { "ours-criu-2" });
            let (srv, port) = criu_server(&criu, &dir, prev);
            let out = child(
                "client",
                &[
                    ("PS_BENCH_PID", t.pid.to_string()),
                    ("PS_BENCH_SERVER", format!("127.0.0.1:{port}")),
                    ("PS_BENCH_RECORD", record.display().to_string()),
                    ("PS_BENCH_INCREMENTAL", incr.into()),
                ],
            )
            .output()
            .unwrap();
            assert!(out.status.success(), "our client failed");
            let v = line(&mut &out.stdout[..], "RESULT ");
            let srv_rss = wait_rss(srv, "criu page-server");
            f.add(
                name,
                Duration::from_nanos(v[0]),
                v[1],
                v[3],
                format!("memory_held {:.1} MiB; criu page-server peak RSS {:.1} MiB", v[2] as f64 / 1048576.0, srv_rss as f64 / 1048576.0),
            );
        }
        let _ = std::fs::remove_dir_all(base.join("ours-criu-1"));

        // CRIU → ours, then CRIU → ours with --prev.
        for (name, prev) in [("criu→ours", None), ("criu→ours --prev", Some("../criu-ours-1"))] {
            let dir = fresh(if prev.is_none() { "criu-ours-1" } else { "criu-ours-2" });
            let mut env = vec![("PS_BENCH_OUT", dir.display().to_string())];
            if let Some(p) = prev {
                env.push(("PS_BENCH_PREV", p.to_string()));
            }
            let mut srv = child("server", &env).stdout(Stdio::piped()).spawn().unwrap();
            let mut out = std::io::BufReader::new(srv.stdout.take().unwrap());
            let port = line(&mut out, "PORT ")[0] as u16;
            let (mem, _, rss) = criu_dump(&criu, &t, &fresh("criu-ours-local"), port);
            let v = line(&mut out, "RESULT ");
            assert!(srv.wait().unwrap().success());
            // Timed by CRIU's memdump_time, the clock of the criu→criu baseline: the same
            // client, the same measurement, only the server differs. The server's own clock
            // (first OPEN2 to the close handshake) also covers what criu dump does between
            // them that is not memory, so it is in the note only.
            f.add(
                name,
                mem,
                v[1],
                v[3],
                format!(
                    "memory_held {:.1} MiB; {} pages written; by the server's clock {:.2} GB/s; criu dump peak RSS {:.1} MiB",
                    v[2] as f64 / 1048576.0,
                    v[4],
                    v[1] as f64 / (v[0] as f64 / 1e9) / 1e9,
                    rss as f64 / 1048576.0
                ),
            );
        }
        let _ = std::fs::remove_dir_all(base.join("criu-ours-1"));
        let _ = std::fs::remove_dir_all(base.join("criu-ours-2"));
        let _ = std::fs::remove_dir_all(base.join("criu-criu"));
    }

    let criu_gbps = f.median("criu→criu").unwrap_or(f64::NAN);
    println!("\npage-server bench: {mib} MiB target, {rounds} rounds, medians (GB/s = 10^9 B/s); memory = peak RSS growth of the worker");
    println!("{:<26} {:>7} {:>10} {:>10}  note", "contender", "GB/s", "vs criu", "memory");
    for (name, (_, _, mems, note)) in &f.runs {
        let g = f.median(name).unwrap_or(f64::NAN);
        let mut m = mems.clone();
        m.sort();
        println!("{name:<26} {g:>7.2} {:>9.2}x {:>8.1}MiB  {note}", g / criu_gbps, m[m.len() / 2] as f64 / 1048576.0);
    }
    let _ = std::fs::remove_dir_all(&base);
}
