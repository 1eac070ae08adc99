//! `criu_image::cookie` against real CRIU: the build-ids CRIU 4.2.1 records for a live process's
//! mapped ELF files equal ours, and `cookie::checkpoint::check_files` finds exactly the files on
//! which CRIU's own restore then fails, with the same messages.
//!
//! The target is a Python that maps a dozen extension modules and libraries, one of them (`_json`)
//! from a private copy, so that the test can change a mapped file without touching the system.
//! Needs root and CRIU (`support::criu_bin`); fails, never skips, without them.

mod support;

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use criu_image::checkpoint::Checkpoint;
use criu_image::cookie::build_id;
use criu_image::cookie::checkpoint::{FileVerdict, Status, check_files};
use criu_image::cookie::{CheckOptions, NoteKind, ProblemKind};
use criu_image::image::Image;
use criu_image::proto::schema::enums::FdTypes;
use criu_image::proto::view;

/// The target: imports the private `_json` first (asserting it is the copy), then the modules
/// whose extension `.so`s and libraries give CRIU many ELF files to record.
const TARGET: &str = r#"
import sys
moddir, ready = sys.argv[1], sys.argv[2]
sys.path.insert(0, moddir)
import _json
assert _json.__file__.startswith(moddir), _json.__file__
import json, ssl, sqlite3, decimal, ctypes, hashlib, lzma, bz2, zlib, select, time
open(ready, "w").close()
time.sleep(1000)
"#;

const PYTHON: &str = "/usr/bin/python3";

/// Kills a process of ours on drop (so also when an assertion fails), and only if it is still
/// ours: its command line must contain `marker`, which rules out a recycled pid.
struct Reaper {
    pid: u32,
    marker: String,
    child: Option<Child>,
}

impl Reaper {
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            return;
        }
        let cmdline = fs::read(format!("/proc/{}/cmdline", self.pid)).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(&self.marker) {
            return;
        }
        // SAFETY: plain syscalls on a pid whose command line we just checked. A restored task
        // is re-parented to this process (a child subreaper, see `main_scenario`), so waitpid
        // reaps it; if it is not our child, waitpid fails with ECHILD and nothing happens.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
            libc::waitpid(self.pid as i32, std::ptr::null_mut(), 0);
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.kill();
    }
}

fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cookie-criu-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where the system Python loads `module` from.
fn module_path(module: &str) -> PathBuf {
    let out = Command::new(PYTHON)
        .args(["-I", "-c", &format!("import {module}; print({module}.__file__)")])
        .output()
        .unwrap_or_else(|e| panic!("{PYTHON} is needed for this test: {e}"));
    assert!(out.status.success(), "{PYTHON} cannot import {module}: {}", String::from_utf8_lossy(&out.stderr));
    let p = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(p.extension().is_some_and(|e| e == "so"), "{module} is not an extension module here: {}", p.display());
    p
}

fn start_target(dir: &Path, moddir: &Path, ready: &Path) -> Reaper {
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-I", "-c", TARGET]).arg(moddir).arg(ready);
    support::in_new_session(cmd.env_clear().current_dir(dir));
    let mut child = cmd.spawn().unwrap();
    let t = Instant::now();
    while !ready.exists() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("the Python target exited early ({st}); run `{PYTHON} -I -c '<TARGET>' {} {}` to see why", moddir.display(), ready.display());
        }
        assert!(t.elapsed() < Duration::from_secs(20), "the Python target did not get ready in 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    Reaper { pid: child.id(), marker: ready.display().to_string(), child: Some(child) }
}

fn criu(args: &[&str], dir: &Path) -> Output {
    Command::new(support::criu_bin()).args(args).arg("-D").arg(dir).output().unwrap()
}

fn log_tail(path: &Path) -> String {
    let log = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// `criu restore -d`; returns whether it succeeded and its log.
fn restore(dir: &Path) -> (bool, String) {
    let out = criu(&["restore", "-d", "--shell-job", "-v4", "-o", "restore.log"], dir);
    (out.status.success(), fs::read_to_string(dir.join("restore.log")).unwrap_or_default())
}

/// Waits until `pid` is free again, so that CRIU can restore a task with it. A task that a failed
/// restore killed can outlive `criu` as a zombie, re-parented to us (the subreaper): it is reaped
/// here. `waitpid` only ever reaps our own children.
fn wait_pid_free(pid: u32) {
    let t = Instant::now();
    loop {
        // SAFETY: waitpid with a null status pointer.
        unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG) };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "pid {pid} is still taken 10 s after its process was killed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn verdicts_for<'v>(verdicts: &'v [FileVerdict], path: &Path) -> Vec<&'v FileVerdict> {
    let v: Vec<_> = verdicts.iter().filter(|v| v.name == path.as_os_str().as_encoded_bytes()).collect();
    assert!(!v.is_empty(), "files.img has no entry for {}", path.display());
    v
}

/// The message CRIU's restore prints for our problem: CRIU names the file without its leading
/// `/` (relative to the mount namespace's root).
fn as_criu_prints(message: &str) -> String {
    message.replacen("File /", "File ", 1)
}

/// One scenario, in order, because every step needs the previous one's dump and CRIU needs the
/// target's pid free to restore it.
#[test]
fn criu_agrees_on_build_ids_and_restore_verdicts() {
    let criu_bin = support::criu_bin();
    // Restored tasks are re-parented to us when `criu restore -d` exits, so that the reaper can
    // wait for them and free their pid.
    // SAFETY: prctl with integer arguments only.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }, 0);

    let scratch = scratch();
    let moddir = scratch.join("mods");
    fs::create_dir_all(&moddir).unwrap();
    let original = module_path("_json");
    let copy = moddir.join(original.file_name().unwrap());
    fs::copy(&original, &copy).unwrap();
    let original_bytes = fs::read(&copy).unwrap();
    let ready = scratch.join("ready");
    let mut target = start_target(&scratch, &moddir, &ready);
    let pid = target.pid;

    let dir = scratch.join("dump");
    fs::create_dir_all(&dir).unwrap();
    let pid_s = pid.to_string();
    let out = criu(&["dump", "-t", &pid_s, "--shell-job", "--leave-running", "-v4", "-o", "dump.log"], &dir);
    assert!(
        out.status.success(),
        "{} dump failed: {}\n{}",
        criu_bin.display(),
        String::from_utf8_lossy(&out.stderr),
        log_tail(&dir.join("dump.log"))
    );

    // 1. Every build-id CRIU recorded equals ours for the same path (the target is still
    //    running, so the files are the ones CRIU read).
    let ckpt = Checkpoint::open(&dir).unwrap();
    let files = Image::parse(ckpt.file("files.img").expect("the dump has a files.img"), Some("files.img")).unwrap();
    let mut compared = Vec::new();
    for e in files.entries() {
        let f = view::FileEntry::parse(e.unwrap().message).unwrap();
        let Some(reg) = f.reg().filter(|_| f.type_() == FdTypes::REG) else { continue };
        let words = reg.build_id().to_vec();
        if words.is_empty() {
            continue;
        }
        let path = Path::new(OsStr::from_bytes(reg.name()));
        let ours = build_id::build_id(path).unwrap().unwrap_or_else(|| panic!("CRIU recorded a build-id for {} but we find none", path.display()));
        assert_eq!(ours.to_words(), words, "build-id of {}", path.display());
        compared.push(path.to_path_buf());
    }
    assert!(compared.len() >= 5, "only {} files with a build-id in files.img: {compared:?}", compared.len());
    assert!(compared.contains(&copy), "CRIU recorded no build-id for the private copy {}", copy.display());
    eprintln!("build-ids compared with CRIU's: {}", compared.len());

    // 2. Nothing has changed: every checked file is ok, and ELF files were compared by build-id.
    let opts = CheckOptions::default();
    let verdicts = check_files(&ckpt, Path::new("/"), &opts).unwrap();
    for v in &verdicts {
        assert_ne!(v.status(), Status::Bad, "file {} {}: {:?}", v.id, v.name.escape_ascii(), v.problems());
    }
    let checked = verdicts.iter().filter(|v| v.status() == Status::Ok).count();
    assert!(checked >= compared.len(), "{checked} files checked");
    for v in verdicts.iter().filter(|v| compared.iter().any(|c| c.as_os_str().as_encoded_bytes() == v.name)) {
        assert!(
            !v.notes().iter().any(|n| matches!(n.kind, NoteKind::SizeOnly(_))),
            "{} has a build-id but was validated by size only: {:?}",
            v.name.escape_ascii(),
            v.notes()
        );
    }

    // The original must be gone for CRIU to restore a task with its pid.
    target.kill();
    wait_pid_free(pid);

    // 3a. A longer file: "has bad size", ours and CRIU's.
    OpenOptions::new().append(true).open(&copy).unwrap().write_all(b"appended").unwrap();
    let verdicts = check_files(&ckpt, Path::new("/"), &opts).unwrap();
    let mut ours = Vec::new();
    for v in verdicts_for(&verdicts, &copy) {
        assert_eq!(v.status(), Status::Bad);
        let p = v.problems().first().unwrap();
        let want = original_bytes.len() as u64;
        assert!(
            matches!(p.kind, ProblemKind::BadSize { actual, expected } if actual == want + 8 && expected == want),
            "{p}"
        );
        ours.push(p.to_string());
    }
    assert!(ours[0].contains("has bad size"), "{}", ours[0]);
    let (ok, log) = restore(&dir);
    let restored = Reaper { pid, marker: ready.display().to_string(), child: None };
    assert!(!ok, "CRIU restored although {} changed size", copy.display());
    let criu_line = as_criu_prints(&ours[0]);
    assert!(log.contains(&criu_line), "CRIU's restore log lacks our message {criu_line:?}:\n{}", log_tail(&dir.join("restore.log")));
    eprintln!("size: ours {:?}, CRIU {:?}", ours[0], criu_line);
    drop(restored);
    wait_pid_free(pid);

    // 3b. The same size, another build-id (one byte of the note's descriptor flipped): "has bad
    //     build-ID", ours and CRIU's.
    let id = build_id::build_id_from_bytes(&original_bytes).unwrap();
    let at: Vec<usize> = original_bytes.windows(id.as_bytes().len()).enumerate().filter(|(_, w)| *w == id.as_bytes()).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "the build-id bytes occur {} times in {}", at.len(), copy.display());
    let mut patched = original_bytes.clone();
    patched[at[0] + id.as_bytes().len() - 1] ^= 0xff;
    fs::write(&copy, &patched).unwrap();
    assert_eq!(fs::metadata(&copy).unwrap().len(), original_bytes.len() as u64);
    let verdicts = check_files(&ckpt, Path::new("/"), &opts).unwrap();
    let mut ours = Vec::new();
    for v in verdicts_for(&verdicts, &copy) {
        assert_eq!(v.status(), Status::Bad);
        assert_eq!(v.problems().len(), 1, "{:?}", v.problems());
        let p = &v.problems()[0];
        assert!(matches!(p.kind, ProblemKind::BadBuildId { .. }), "{p}");
        ours.push(p.to_string());
    }
    assert_eq!(ours[0], format!("File {} has bad build-ID", copy.display()));
    let (ok, log) = restore(&dir);
    let restored = Reaper { pid, marker: ready.display().to_string(), child: None };
    assert!(!ok, "CRIU restored although the build-id of {} changed", copy.display());
    let criu_line = as_criu_prints(&ours[0]);
    assert!(log.contains(&criu_line), "CRIU's restore log lacks our message {criu_line:?}:\n{}", log_tail(&dir.join("restore.log")));
    eprintln!("build-id: ours {:?}, CRIU {:?}", ours[0], criu_line);
    drop(restored);
    wait_pid_free(pid);

    // 3c. The original bytes back: we find nothing, and CRIU restores the process.
    fs::write(&copy, &original_bytes).unwrap();
    let verdicts = check_files(&ckpt, Path::new("/"), &opts).unwrap();
    assert!(verdicts.iter().all(|v| v.status() != Status::Bad));
    let (ok, _) = restore(&dir);
    let mut restored = Reaper { pid, marker: ready.display().to_string(), child: None };
    assert!(ok, "CRIU failed to restore the unchanged checkpoint:\n{}", log_tail(&dir.join("restore.log")));
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains(&restored.marker), "pid {pid} is not the restored target");
    restored.kill();

    let _ = fs::remove_dir_all(&scratch);
}
