//! The live target of the memory tests (`tests/procmem-target/target.c`): started in its own
//! session, stopped, asked for answers by signal, and killed and reaped on drop. Shared by
//! `procmem.rs` and `page_server.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The compiled target, built once per test binary (into a name of its own, then renamed, so
/// that test binaries running side by side never execute a half-written file).
pub fn target_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/procmem-target/target.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("procmem-target");
        let tmp = out.with_extension(format!("{}", std::process::id()));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(&cc).args(["-O2", "-Wall", "-o"]).arg(&tmp).arg(&src).status();
        match st {
            Ok(s) if s.success() => {
                std::fs::rename(&tmp, &out).unwrap();
                out
            }
            other => panic!("compiling {} with `{cc}` failed ({other:?}); a C compiler is needed for these tests", src.display()),
        }
    })
}

/// A scratch directory `group/name` under the test's temporary directory, emptied first.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(group).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The contents of `path` once it exists; fails the test after `timeout`.
pub fn wait_for_file(path: &Path, timeout: Duration) -> String {
    let t = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s;
        }
        assert!(t.elapsed() < timeout, "{} did not appear within {timeout:?}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `sig` to `pid`.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: sending a signal to a process this test started (or restored).
    unsafe { libc::kill(pid, sig) };
}

/// A running target process, killed and reaped on drop.
pub struct Target {
    /// Its pid.
    pub pid: i32,
    dir: PathBuf,
    /// The regions it reports (`addrs`: name, start, length).
    pub addrs: BTreeMap<String, (u64, u64)>,
    reaped: bool,
}

impl Target {
    /// Starts a target in its own session in `dir`, with `big_kib` KiB of data from `seed`.
    pub fn start(dir: &Path, big_kib: u64, seed: u64) -> Target {
        std::fs::create_dir_all(dir).unwrap();
        let mut cmd = Command::new(target_bin());
        cmd.arg(dir).arg(big_kib.to_string()).arg(seed.to_string());
        super::in_new_session(cmd.current_dir(dir));
        let child = cmd.spawn().expect("start procmem-target");
        let pid = child.id() as i32;
        // The child is reaped with waitpid, not through `Child`.
        std::mem::forget(child);
        let mut t = Target { pid, dir: dir.to_path_buf(), addrs: BTreeMap::new(), reaped: false };
        wait_for_file(&dir.join("ready"), Duration::from_secs(30));
        for line in std::fs::read_to_string(dir.join("addrs")).unwrap().lines() {
            let f: Vec<&str> = line.split(' ').collect();
            t.addrs.insert(f[0].to_string(), (f[1].parse().unwrap(), f[2].parse().unwrap()));
        }
        t
    }

    /// The region the target calls `name`: (start, length).
    pub fn region(&self, name: &str) -> (u64, u64) {
        self.addrs[name]
    }

    /// SIGSTOP, and wait until the kernel reports it stopped.
    pub fn stop(&self) {
        kill(self.pid, libc::SIGSTOP);
        let mut status = 0;
        // SAFETY: waiting for our own child's stop.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WUNTRACED) };
        assert_eq!(r, self.pid, "waitpid for the stop of {}", self.pid);
        assert!(libc::WIFSTOPPED(status));
    }

    /// SIGCONT, then `sig`, then the file the target writes in answer, once the target is back
    /// in `sigsuspend`: stopped any earlier, it would still be running its loop, and a dump that
    /// lets it run (CRIU's `--leave-running`) would change memory that a later dump reads.
    pub fn ask(&self, sig: i32, answer: &str) -> String {
        let _ = std::fs::remove_file(self.dir.join(answer));
        kill(self.pid, libc::SIGCONT);
        kill(self.pid, sig);
        let text = wait_for_file(&self.dir.join(answer), Duration::from_secs(30));
        let wchan = format!("/proc/{}/wchan", self.pid);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(&wchan).is_ok_and(|w| w.contains("sigsuspend")) {
            assert!(std::time::Instant::now() < deadline, "{wchan} never showed sigsuspend after {answer}");
            std::thread::sleep(Duration::from_millis(2));
        }
        text
    }

    /// SIGKILL and reap (once).
    pub fn kill(&mut self) {
        if !self.reaped {
            kill(self.pid, libc::SIGKILL);
            let mut status = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(self.pid, &mut status, 0) };
            self.reaped = true;
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process CRIU restored (not our child), killed on drop.
pub struct Restored(pub i32);

impl Drop for Restored {
    fn drop(&mut self) {
        kill(self.0, libc::SIGKILL);
    }
}
