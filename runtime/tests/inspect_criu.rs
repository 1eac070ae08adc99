//! The inspect sections on a checkpoint that real CRIU makes while the test runs: the scenario of
//! `testdata/images/nsbox` (`inspect-target/nsbox.sh`: its own mount, UTS, IPC, network, PID and
//! time namespaces, cgroups of its own, a stacked seccomp filter) is started, dumped and
//! restored, and the sections of the dump are checked against what `ip`, mountinfo, `ipcs` and
//! `/proc/self/cgroup` said inside the namespaces just before the dump, and against CRIU's crit;
//! `stats-restore` comes from the restore.
//!
//! Needs root, CRIU (`support::criu_bin`), iproute2, util-linux (`unshare`, `ipcmk`), python3 and
//! cgroup v1 `pids`/`cpu` hierarchies or cgroup v2; fails, never skips, without them.

mod inspect_checks;
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use criu_image::checkpoint::Checkpoint;
use criu_image::inspect::cgroups::Cgroups;
use criu_image::inspect::mounts::Mounts;
use criu_image::inspect::namespaces::{Namespaces, NsKind};
use criu_image::inspect::net::Net;
use criu_image::inspect::stats::Stats;
use criu_image::proto::schema::enums::SeccompMode;
use inspect_checks::*;

/// Cgroups made for the test, removed on drop (after the tasks in them are gone).
struct TestCgroups {
    /// Directories to write the task's pid into.
    enter: Vec<PathBuf>,
    /// Every directory made, children first.
    made: Vec<PathBuf>,
    v1: bool,
}

impl TestCgroups {
    fn make(tag: &str) -> TestCgroups {
        let root = Path::new("/sys/fs/cgroup");
        let mut cg = TestCgroups { enter: Vec::new(), made: Vec::new(), v1: root.join("pids/cgroup.procs").exists() };
        let mk = |p: PathBuf, cg: &mut TestCgroups| {
            fs::create_dir(&p).unwrap_or_else(|e| panic!("{}: {e} (the test needs to make cgroups)", p.display()));
            cg.made.insert(0, p.clone());
            p
        };
        if cg.v1 {
            assert!(root.join("cpu/cgroup.procs").exists(), "cgroup v1 has pids but no cpu hierarchy at /sys/fs/cgroup/cpu");
            let pids = mk(root.join("pids").join(tag), &mut cg);
            fs::write(pids.join("pids.max"), "77").unwrap();
            let cpu = mk(root.join("cpu").join(tag), &mut cg);
            fs::write(cpu.join("cpu.shares"), "512").unwrap();
            mk(cpu.join("inner"), &mut cg);
            cg.enter = vec![pids, cpu];
        } else {
            assert!(root.join("cgroup.controllers").exists(), "neither cgroup v1 (pids, cpu) nor cgroup v2 at /sys/fs/cgroup");
            let dir = mk(root.join(tag), &mut cg);
            if dir.join("pids.max").exists() {
                fs::write(dir.join("pids.max"), "77").unwrap();
            }
            mk(dir.join("inner"), &mut cg);
            cg.enter = vec![dir];
        }
        cg
    }
}

impl Drop for TestCgroups {
    fn drop(&mut self) {
        for d in &self.made {
            // The killed tasks leave their cgroups a moment later.
            let t = Instant::now();
            while fs::remove_dir(d).is_err() && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Kills what the test started: the scenario's `unshare`, the dumped or restored `sleep 1003`
/// (only while its command line still says so, against a recycled pid).
struct Reaper {
    child: Option<Child>,
    pids: Vec<u32>,
}

impl Reaper {
    fn kill_pid(pid: u32) {
        if fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() != b"sleep\x001003\x00" {
            return;
        }
        // SAFETY: plain syscalls on a pid whose command line was just checked; waitpid reaps it
        // when it is our child (the test process is a subreaper), else fails with ECHILD.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
            libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
        }
        let t = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for &p in &self.pids {
            Reaper::kill_pid(p);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The pid of the scenario's `sleep 1003`, once it has written what the tools said.
fn wait_for_target(child: &Child, boxdir: &Path) -> u32 {
    let t = Instant::now();
    loop {
        let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap_or_default();
        for c in children.split_whitespace() {
            let pid: u32 = c.parse().unwrap();
            if fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() == b"sleep\x001003\x00" && boxdir.join("cgroup.txt").exists() {
                return pid;
            }
        }
        if t.elapsed() > Duration::from_secs(30) {
            panic!("the scenario did not start in 30 s; its stderr: {}", fs::read_to_string(boxdir.join("stderr.txt")).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_criu(args: &[&str], dir: &Path, log: &str) {
    let out = Command::new(support::criu_bin()).args(args).arg("-D").arg(dir).args(["-v4", "-o", log]).output().unwrap();
    if !out.status.success() {
        let log = fs::read_to_string(dir.join(log)).unwrap_or_default();
        let tail: Vec<&str> = log.lines().filter(|l| l.contains("Error")).collect();
        panic!("criu {args:?} failed ({}): {}\n{}", out.status, String::from_utf8_lossy(&out.stderr), tail.join("\n"));
    }
}

#[test]
fn sections_of_a_real_dump_match_the_tools() {
    let _criu = support::criu_bin();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-criu-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let (boxdir, dump, restore, ext) = (scratch.join("box"), scratch.join("dump"), scratch.join("restore"), scratch.join("ext"));
    for d in [&boxdir, &dump, &ext] {
        fs::create_dir_all(d).unwrap();
    }
    let tag = format!("facets-inspect-{}", std::process::id());
    let cgroups = TestCgroups::make(&tag);
    // The restored task is re-parented to us when criu restore -d exits, so that we reap it.
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };

    let target = support::root().join("runtime/tests/inspect-target");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh"])
        .arg(target.join("nsbox.sh"))
        .arg("outer")
        .env("BOX", &boxdir)
        .env("FACETS_CGROUPS", cgroups.enter.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "))
        .env("SECCOMP_EXEC", target.join("seccomp_exec.py"));
    support::in_new_session(&mut cmd);
    // Whatever fds the test runner inherited must not reach the target: CRIU refuses a /dev/null
    // of a mount namespace it does not dump.
    // SAFETY: close_range is async-signal-safe; CLOSE_RANGE_CLOEXEC keeps std's exec-error pipe.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 4u32 /* CLOSE_RANGE_CLOEXEC */);
            Ok(())
        });
    }
    cmd.stderr(fs::File::create(boxdir.join("stderr.txt")).unwrap());
    let mut reaper = Reaper { child: Some(cmd.spawn().expect("unshare (util-linux) is needed")), pids: Vec::new() };
    let pid = wait_for_target(reaper.child.as_ref().unwrap(), &boxdir);
    reaper.pids.push(pid);

    let pid_s = pid.to_string();
    let ext_mount = format!("mnt[{}]:facets-ext", boxdir.join("mt/ext1").display());
    let mut args = vec!["dump", "-t", &pid_s, "--external", &ext_mount];
    if cgroups.v1 {
        // Only the test's hierarchies: others are the machine's business (and change under us).
        args.extend(["--cgroup-dump-controller", "pids", "--cgroup-dump-controller", "cpu"]);
    }
    run_criu(&args, &dump, "dump.log");
    let _ = reaper.child.take().map(|mut c| c.wait());

    let cap = Captured::read(|n| boxdir.join(n));
    let ckpt = Checkpoint::open(&dump).unwrap();

    let net = Net::load(&ckpt);
    let ns = the_netns(&net);
    check_devices(ns, &cap.ip_link);
    check_addresses(ns, &cap.ip_addr, false);
    check_routes(ns, &cap.ip_route, 2);
    check_routes(ns, &cap.ip_route6, 10);
    check_rules(ns, &cap.ip_rule);
    let showdump = Command::new("ip")
        .args(["-j", "addr", "showdump"])
        .stdin(fs::File::open(dump.join(format!("ifaddr-{}.img", ns.id))).unwrap())
        .output()
        .expect("iproute2's `ip` is needed");
    check_addresses(ns, &parse(&showdump.stdout, "ip addr showdump"), true);

    let mounts = Mounts::load(&ckpt);
    check_mounts_against_mountinfo(&mounts, &cap.mountinfo);
    let m = &mounts.namespaces[0];
    let ext1 = m.mounts.iter().find(|x| x.mountpoint == boxdir.join("mt/ext1").to_str().unwrap().as_bytes()).unwrap();
    assert_eq!(ext1.ext_key.as_deref(), Some(&b"facets-ext"[..]));
    let slave = m.mounts.iter().find(|x| x.mountpoint.ends_with(b"/mt/slave1")).unwrap();
    let shared = m.mounts.iter().find(|x| x.mountpoint.ends_with(b"/mt/shared1")).unwrap();
    assert_eq!((slave.bind_of, slave.master_id), (Some(shared.mnt_id), shared.shared_id));

    let cg = Cgroups::load(&ckpt);
    assert!(cg.problems.is_empty(), "{:?}", cg.problems);
    check_cgroup_paths(&cg, &cap.cgroup, 1);
    let path = format!("/{tag}");
    if cgroups.v1 {
        assert_eq!(property(&cg, "pids", &path, "pids.max").as_deref(), Some("77"));
        assert_eq!(property(&cg, "cpu", &path, "cpu.shares").as_deref(), Some("512"));
        assert_eq!(property(&cg, "cpu", &format!("{path}/inner"), "cpu.shares").as_deref(), Some("1024"));
    } else if cgroups.enter[0].join("pids.max").exists() {
        assert_eq!(property(&cg, "", &path, "pids.max").as_deref(), Some("77"));
    }

    let nss = Namespaces::load(&ckpt);
    assert!(nss.problems.is_empty(), "{:?}", nss.problems);
    check_ipc_against_ipcs(&nss, &cap.ipcs);
    assert_eq!(nss.uts[0].hostname, b"facets-box");
    let own: Vec<_> = nss.namespaces.iter().filter(|n| !n.dumpers).map(|n| n.kind).collect();
    assert_eq!(own, [NsKind::Pid, NsKind::Net, NsKind::Ipc, NsKind::Uts, NsKind::Mnt, NsKind::Time]);
    let time_id = nss.namespaces.iter().find(|n| n.kind == NsKind::Time).unwrap().id;
    let tn = nss.time.iter().find(|t| t.id == time_id).unwrap();
    let diff = tn.monotonic.sec as i64 - tn.boottime.sec as i64;
    assert!((86400 - 3600 - 2..=86400 - 3600 + 2).contains(&diff), "monotonic - boottime = {diff}");
    let sc = &nss.seccomp;
    assert_eq!(sc.threads[0].mode, SeccompMode::FILTER);
    assert_eq!(sc.threads[0].chain.iter().map(|&i| sc.filters[i as usize].instructions).collect::<Vec<_>>(), [1, 2]);

    // Restore an identical copy; CRIU writes stats-restore into it.
    fs::create_dir_all(&restore).unwrap();
    for e in fs::read_dir(&dump).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, restore.join(p.file_name().unwrap())).unwrap();
    }
    let pidfile = scratch.join("restored.pid");
    let ext_map = format!("mnt[facets-ext]:{}", ext.display());
    run_criu(&["restore", "-d", "--root", "/", "--external", &ext_map, "--pidfile", pidfile.to_str().unwrap()], &restore, "restore.log");
    let restored: u32 = fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    reaper.pids.push(restored);
    assert_eq!(fs::read(format!("/proc/{restored}/cmdline")).unwrap(), b"sleep\x001003\x00");
    let st = Stats::load(&Checkpoint::open(&restore).unwrap());
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    let (d, r) = (st.dump.as_ref().unwrap(), st.restore.as_ref().unwrap());
    assert_eq!(r.pages_restored, Some(d.pages_written));
    assert!(r.restore_time_us > 0 && d.frozen_time_us > 0);

    drop(reaper);
    drop(cgroups);
    let _ = fs::remove_dir_all(&scratch);
}
