//! `criu_image::diff` on real checkpoints:
//! - every fixture set compared with itself is equal and complete, and what was compared is what
//!   the images hold;
//! - the two real dumps of one `sleep` with different file validation differ in exactly the
//!   build-ids `files.img` records (and the stack pages the images say differ);
//! - copies edited with the library's editing API (a credential, a VMA's protection, a mount's
//!   file system type) are named with the values of the images;
//! - a directory against its tar and tar.gz is equal;
//! - a process dumped twice by real CRIU, changing known pages, fds, a VMA and its working
//!   directory in between: the diff names exactly those, with page counts checked against the
//!   page contents of both images;
//! - parent images resolved: the second dump's memory written by `procmem` as an incremental dump
//!   over a first one (CRIU cannot pre-dump on a kernel without soft-dirty tracking, so CRIU's
//!   own `--prev-images-dir` chains cannot be made here), compared with CRIU's full dump;
//! - unreadable images are problems naming the side and the file.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criu_image::checkpoint::Checkpoint;
use criu_image::diff::{ChangeKind, Diff, Options, Section, Side, Value, VmaKey, compare};
use criu_image::edit::OwnedImage;
use criu_image::inspect::mounts::Mounts;
use criu_image::memory::{MemError, Memory, Task};
use criu_image::model::FileKind;
use criu_image::proto::owned;

const PAGE: u64 = 4096;

fn open(dir: &Path) -> Checkpoint {
    Checkpoint::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn diff(a: &Path, b: &Path) -> Diff {
    compare(&open(a), &open(b), &Options::default())
}

fn fixture_sets() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(support::root().join("testdata/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("pstree.img").is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 8, "{v:?}");
    v
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diff").join(name);
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// A copy of a checkpoint directory's files.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// What a page holds, read through the memory API one page at a time: its bytes, or why it is
/// not in the checkpoint (a file's page at an offset, a kernel page), as text.
fn page(t: &Task<'_>, addr: u64) -> Result<Vec<u8>, String> {
    t.read(addr, PAGE).map_err(|e| match e {
        MemError::Unreadable { why, .. } => why.to_string(),
        e => panic!("pid {}, {addr:#x}: {e}", t.pid),
    })
}

/// For each VMA of `b`, how many of its pages that `a` maps too have different contents,
/// computed page by page with `Task::read` (VMAs with none left out).
fn expected_pages(a: &Task<'_>, b: &Task<'_>) -> BTreeMap<u64, (u64, u64)> {
    let mut out = BTreeMap::new();
    for v in b.vmas() {
        let (mut pages, mut differ) = (0, 0);
        for addr in (v.start..v.end).step_by(PAGE as usize) {
            if a.vma_at(addr).is_none() {
                continue;
            }
            pages += 1;
            let (pa, pb) = (page(a, addr), page(b, addr));
            // A zero page that was not dumped reads as zeros: the same as a dumped one.
            if pa != pb {
                differ += 1;
            }
        }
        if differ > 0 {
            out.insert(v.start, (pages, differ));
        }
    }
    out
}

fn memory_of(d: &Diff, pid: u32) -> BTreeMap<u64, (u64, u64)> {
    d.process(pid)
        .map(|p| p.memory.iter().map(|m| (m.start, (m.pages, m.pages_differ))).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn every_fixture_equals_itself_and_everything_is_compared() {
    for dir in fixture_sets() {
        let (a, b) = (open(&dir), open(&dir));
        let d = compare(&a, &b, &Options::default());
        assert!(d.is_equal(), "{}: {:#?}", dir.display(), d.processes);
        assert!(d.is_complete(), "{}: {:?}", dir.display(), d.problems);
        assert_eq!(d.sections, Section::ALL);

        // What was compared is what the images hold.
        let procs = a.processes().unwrap();
        assert_eq!(d.compared.processes, procs.len() as u64, "{}", dir.display());
        let (mut fds, mut vmas, mut pages) = (0u64, 0u64, 0u64);
        let mem = Memory::open(&a);
        for p in procs.iter() {
            let mut nums: Vec<u32> = p.fds().unwrap().unwrap_or_default().iter().map(|f| f.fd).collect();
            nums.sort();
            nums.dedup();
            fds += nums.len() as u64;
            vmas += p.vmas().unwrap().len() as u64;
            if let Ok(t) = mem.task(p.pid()) {
                pages += t.vmas().map(|v| v.pages()).sum::<u64>();
            }
        }
        assert_eq!((d.compared.fds, d.compared.vmas, d.compared.pages), (fds, vmas, pages), "{}", dir.display());
        assert!(pages > 0);
        let mut paths: Vec<Vec<u8>> = a
            .files()
            .unwrap()
            .iter()
            .filter_map(|f| match &f.kind {
                FileKind::Regular(r) => Some(r.path.to_vec()),
                _ => None,
            })
            .collect();
        paths.sort();
        paths.dedup();
        assert_eq!(d.compared.files, paths.len() as u64, "{}", dir.display());
        let mounts: usize = Mounts::load(&a).namespaces.iter().map(|n| n.mounts.len()).sum();
        assert_eq!(d.compared.mounts, mounts as u64, "{}", dir.display());

        let mut text = Vec::new();
        d.write_text(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.lines().last().unwrap().starts_with("equal: "), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }
}

#[test]
fn two_dumps_with_other_file_validation_differ_in_the_build_ids() {
    let (pa, pb) = (support::fixture("sleep-fv-buildid"), support::fixture("sleep-fv-filesize"));
    let (a, b) = (open(&pa), open(&pb));
    let d = compare(&a, &b, &Options::default());
    assert!(d.is_complete(), "{:?}", d.problems);
    // Every regular file with a build-id in A has none in B: exactly those are named, with A's
    // value as files.img records it (32-bit words, little-endian bytes, hex).
    let mut want: Vec<(Vec<u8>, String)> = a
        .files()
        .unwrap()
        .iter()
        .filter_map(|f| match &f.kind {
            FileKind::Regular(r) if !r.build_id.is_empty() => {
                Some((r.path.to_vec(), r.build_id.iter().flat_map(|w| w.to_le_bytes()).map(|x| format!("{x:02x}")).collect()))
            }
            _ => None,
        })
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(want.len(), 3);
    let got: Vec<(Vec<u8>, String)> = d
        .files
        .iter()
        .map(|c| {
            assert_eq!(c.kind, ChangeKind::Changed);
            assert_eq!(c.fields.len(), 1, "{c:?}");
            assert_eq!((c.fields[0].field, &c.fields[0].b), ("build_id", &Value::Null));
            let Value::Str(id) = &c.fields[0].a else { panic!("{c:?}") };
            (c.key.clone(), id.clone())
        })
        .collect();
    assert_eq!(got, want);
    assert!(b.files().unwrap().iter().all(|f| !matches!(&f.kind, FileKind::Regular(r) if !r.build_id.is_empty())));

    // The same process: no field, fd or VMA differs; the memory that does is what the pages say.
    let pid = a.processes().unwrap().nth(0).unwrap().pid();
    assert_eq!(pid, b.processes().unwrap().nth(0).unwrap().pid());
    let p = d.process(pid).expect("the stack differs");
    assert!(p.fields.is_empty() && p.fds.is_empty() && p.vmas.is_empty(), "{p:#?}");
    let (ma, mb) = (Memory::open(&a), Memory::open(&b));
    let want = expected_pages(&ma.task(pid).unwrap(), &mb.task(pid).unwrap());
    assert!(!want.is_empty());
    assert_eq!(memory_of(&d, pid), want);
    assert!(p.memory.iter().all(|m| m.pages_unknown == 0));

    // Compared ranges of the pages files are released from memory, not from the checkpoint:
    // comparing again reads the same bytes.
    assert_eq!(compare(&a, &b, &Options::default()), d);

    // Sections restrict: without files and memory nothing differs.
    let only = compare(&a, &b, &Options::only(&[Section::Processes, Section::Fds, Section::Vmas]));
    assert!(only.is_equal() && only.is_complete(), "{only:#?}");
    let no_mem = compare(&a, &b, &Options::default().without(Section::Memory));
    assert!(no_mem.processes.is_empty() && no_mem.files.len() == 3 && no_mem.compared.pages == 0);
}

// ---------------------------------------------------------------------------------------------
// Edited copies

/// Decodes an image whole, changes its entries, and writes it back (the library's editing API).
macro_rules! edit {
    ($ty:ty, $path:expr, $f:expr) => {{
        let path: &Path = $path;
        let bytes = fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let mut img = OwnedImage::<$ty>::decode(&bytes, Some(name)).unwrap();
        let f: &mut dyn FnMut(&mut Vec<criu_image::edit::OwnedEntry<$ty>>) = &mut $f;
        f(&mut img.entries);
        fs::write(path, img.encode().unwrap()).unwrap();
    }};
}

#[test]
fn edited_copies_are_named_with_the_values_of_the_images() {
    let orig = support::fixture("sleep");
    let dir = scratch("edited-sleep");
    copy_dir(&orig, &dir);
    let pid = open(&orig).processes().unwrap().nth(0).unwrap().pid();
    // A credential: the main thread's uid.
    edit!(owned::CoreEntry, &dir.join(format!("core-{pid}.img")), |es| {
        let tc = es[0].message.thread_core.as_mut().unwrap();
        tc.creds.as_mut().unwrap().uid = 1000;
    });
    // A VMA's protection: the first read-only one becomes read-write.
    let mut vma_start = 0;
    edit!(owned::MmEntry, &dir.join(format!("mm-{pid}.img")), |es| {
        let v = es[0].message.vmas.iter_mut().find(|v| v.prot == 1).unwrap();
        vma_start = v.start;
        v.prot = 3;
    });
    let (a, b) = (open(&orig), open(&dir));
    let d = compare(&a, &b, &Options::default());
    assert!(d.is_complete(), "{:?}", d.problems);
    assert_eq!(d.processes.len(), 1);
    let p = &d.processes[0];
    assert_eq!((p.pid, p.kind), (pid, ChangeKind::Changed));
    let (ca, cb) = (a.process(pid).unwrap().unwrap().creds().unwrap().unwrap(), b.process(pid).unwrap().unwrap().creds().unwrap().unwrap());
    assert_eq!((ca.uid, cb.uid), (0, 1000));
    assert_eq!(p.fields.len(), 1, "{:?}", p.fields);
    assert_eq!(
        (p.fields[0].field, &p.fields[0].a, &p.fields[0].b),
        ("creds.uid", &Value::U64(ca.uid.into()), &Value::U64(cb.uid.into()))
    );
    assert_eq!(p.vmas.len(), 1, "{:?}", p.vmas);
    let v = &p.vmas[0];
    assert_eq!((v.key, v.kind), (VmaKey { start: vma_start, guard: false }, ChangeKind::Changed));
    let vb = b.process(pid).unwrap().unwrap().vmas().unwrap().iter().find(|v| v.start == vma_start).unwrap().clone();
    assert_eq!(vb.perms()[..3], *b"rw-");
    assert_eq!(v.fields.len(), 1, "{:?}", v.fields);
    assert_eq!((v.fields[0].field, &v.fields[0].a, &v.fields[0].b), ("prot", &Value::Str("r--".into()), &Value::Str("rw-".into())));
    assert!(p.fds.is_empty() && p.memory.is_empty(), "{p:#?}");
    assert!(d.files.is_empty() && d.namespaces.is_empty() && d.mounts.is_empty());

    // A socket's bound name (fdzoo's listening unix socket): the fd that holds it is named,
    // with the addresses as the images give them.
    let orig = support::fixture("fdzoo");
    let dir = scratch("edited-fdzoo");
    copy_dir(&orig, &dir);
    let mut sock_id = 0;
    edit!(owned::FileEntry, &dir.join("files.img"), |es| {
        let e = es.iter_mut().find(|e| e.message.usk.as_ref().is_some_and(|u| u.name.ends_with(b"srv.sock\0") && u.state == 10)).unwrap();
        sock_id = e.message.id;
        e.message.usk.as_mut().unwrap().name = b"/tmp/other.sock\0".to_vec();
    });
    let (a, b) = (open(&orig), open(&dir));
    let d = compare(&a, &b, &Options::default());
    assert!(d.is_complete(), "{:?}", d.problems);
    let pid = a.processes().unwrap().nth(0).unwrap().pid();
    let fd = a.process(pid).unwrap().unwrap().fds().unwrap().unwrap().iter().find(|f| f.id == sock_id).unwrap().fd;
    let p = d.process(pid).unwrap();
    assert!(p.fields.is_empty() && p.vmas.is_empty() && p.memory.is_empty(), "{p:#?}");
    assert_eq!(p.fds.len(), 1, "{:?}", p.fds);
    let c = &p.fds[0];
    assert_eq!((c.key, c.kind), (fd, ChangeKind::Changed));
    let name = |ck: &Checkpoint| match &ck.files().unwrap().get(sock_id).unwrap().kind {
        FileKind::Socket(criu_image::model::Socket::Unix(u)) => String::from_utf8(u.name.strip_suffix(b"\0").unwrap().to_vec()).unwrap(),
        k => panic!("{k:?}"),
    };
    assert_eq!(c.fields.len(), 1, "{:?}", c.fields);
    assert_eq!((c.fields[0].field, &c.fields[0].a, &c.fields[0].b), ("local", &Value::Str(name(&a)), &Value::Str(name(&b))));
    assert_eq!(name(&b), "/tmp/other.sock");
    let rec = c.b.as_ref().unwrap();
    assert_eq!((rec.get("family"), rec.get("type"), rec.get("state")), (Some(&Value::Str("unix".into())), Some(&Value::Str("stream".into())), Some(&Value::Str("listen".into()))));
    // The file table changed no regular file.
    assert!(d.files.is_empty() && d.namespaces.is_empty(), "{d:#?}");

    // A mount's file system type (nsbox has a mount namespace image).
    let orig = support::fixture("nsbox");
    let dir = scratch("edited-nsbox");
    copy_dir(&orig, &dir);
    let mnt = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("mountpoints-")).unwrap();
    let target = b"/tmp/nsbox/mt/tmp1".to_vec();
    let proc_fstype = Mounts::load(&open(&orig)).namespaces[0].mounts.iter().find(|m| m.mountpoint == b"/proc").unwrap().fstype.0 as u32;
    edit!(owned::MntEntry, &mnt, |es| {
        let m = es.iter_mut().find(|e| e.message.mountpoint == target).unwrap();
        m.message.fstype = proc_fstype;
    });
    let (a, b) = (open(&orig), open(&dir));
    let d = compare(&a, &b, &Options::default());
    assert!(d.is_complete(), "{:?}", d.problems);
    assert!(d.processes.is_empty() && d.files.is_empty() && d.namespaces.is_empty(), "{d:#?}");
    assert_eq!(d.mounts.len(), 1, "{:?}", d.mounts);
    let c = &d.mounts[0];
    assert_eq!((c.key.mountpoint.as_slice(), c.key.nth, c.kind), (target.as_slice(), 0, ChangeKind::Changed));
    let fstype = |ck: &Checkpoint| Mounts::load(ck).namespaces[0].mounts.iter().find(|m| m.mountpoint == target).unwrap().fstype_name();
    assert_eq!((fstype(&a).as_str(), fstype(&b).as_str()), ("tmpfs", "proc"));
    assert_eq!(c.fields.len(), 1, "{:?}", c.fields);
    assert_eq!((c.fields[0].field, &c.fields[0].a, &c.fields[0].b), ("fstype", &Value::Str(fstype(&a)), &Value::Str(fstype(&b))));
}

// ---------------------------------------------------------------------------------------------
// Archives

#[test]
fn a_directory_equals_its_tar_and_tar_gz() {
    for set in ["sleep", "nsbox"] {
        let dir = support::fixture(set);
        let tmp = scratch(&format!("archive-{set}"));
        let tar = tmp.join("ckpt.tar");
        let tgz = tmp.join("ckpt.tar.gz");
        let st = Command::new("tar").arg("-cf").arg(&tar).arg("-C").arg(&dir).arg(".").status().expect("tar is needed");
        assert!(st.success());
        // The Podman layout: the images under checkpoint/.
        let st = Command::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .args(["--transform", "s,^\\.,checkpoint,"])
            .arg("-C")
            .arg(&dir)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        let base = diff(&dir, &dir);
        for ar in [&tar, &tgz] {
            for (a, b) in [(&dir, ar), (ar, &dir)] {
                let d = diff(a, b);
                assert!(d.is_equal() && d.is_complete(), "{} vs {}: {d:#?}", a.display(), b.display());
                assert_eq!(d.compared, base.compared);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unreadable images

#[test]
fn unreadable_images_are_problems_naming_the_side_and_file() {
    let orig = support::fixture("sleep");
    let pid = open(&orig).processes().unwrap().nth(0).unwrap().pid();
    let dir = scratch("truncated-core");
    copy_dir(&orig, &dir);
    let core = dir.join(format!("core-{pid}.img"));
    let bytes = fs::read(&core).unwrap();
    fs::write(&core, &bytes[..bytes.len() / 2]).unwrap();
    let d = diff(&orig, &dir);
    assert!(!d.is_complete());
    let name = format!("core-{pid}.img");
    assert!(d.problems.iter().all(|p| p.side == Side::B), "{:?}", d.problems);
    assert!(d.problems.iter().any(|p| p.file == name && p.message.contains("entry 0")), "{:?}", d.problems);

    // A pages file cut short: the runs that reach past its end cannot be read, are not
    // compared, and the file is named.
    let dir = scratch("truncated-pages");
    copy_dir(&orig, &dir);
    let pages = dir.join("pages-1.img");
    let len = fs::metadata(&pages).unwrap().len() - 2 * PAGE;
    fs::OpenOptions::new().write(true).open(&pages).unwrap().set_len(len).unwrap();
    let cut = open(&dir);
    let mem = Memory::open(&cut);
    let t = mem.task(pid).unwrap();
    let unreadable: u64 = t
        .pagemap()
        .runs()
        .filter(|r| r.is_present() && r.offset + r.len() > len)
        .map(|r| t.vmas().map(|v| (v.end.min(r.end).saturating_sub(v.start.max(r.start))) / PAGE).sum::<u64>())
        .sum();
    assert!(unreadable >= 2);
    let d = compare(&cut, &open(&orig), &Options::default());
    assert!(d.problems.iter().any(|p| p.side == Side::A && p.file == "pages-1.img"), "{:?}", d.problems);
    let p = d.process(pid).unwrap();
    assert_eq!(p.memory.iter().map(|m| m.pages_unknown).sum::<u64>(), unreadable, "{:?}", p.memory);
}

// ---------------------------------------------------------------------------------------------
// Two real dumps of a process that changes in between

fn state(pid: i32) -> Option<char> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

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

fn wait_for_file(p: &Path) -> String {
    let t = Instant::now();
    loop {
        if let Ok(s) = fs::read_to_string(p) {
            return s;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{} did not appear", p.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: signalling the process this test started.
    unsafe { libc::kill(pid, sig) };
}

/// The diff target, killed and reaped on drop.
struct Target {
    pid: i32,
}

impl Drop for Target {
    fn drop(&mut self) {
        kill(self.pid, libc::SIGKILL);
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}

impl Target {
    fn stop(&self) {
        kill(self.pid, libc::SIGSTOP);
        assert_eq!(settled_state(self.pid, 'T'), Some('T'), "the target did not stop");
    }
}

fn criu_dump(pid: i32, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let out = Command::new(support::criu_bin())
        .args(["dump", "-t", &pid.to_string(), "-D"])
        .arg(dir)
        .args(["--shell-job", "--leave-running", "-v4", "-o", "dump.log"])
        .output()
        .unwrap();
    if !out.status.success() {
        let log = fs::read_to_string(dir.join("dump.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!("criu dump failed: {}\n{}", String::from_utf8_lossy(&out.stderr), tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
}

fn target_bin(tmp: &Path) -> PathBuf {
    let exe = tmp.join("diff-target");
    let src = support::root().join("runtime/tests/diff-target/target.c");
    let st = Command::new("gcc").args(["-O1", "-Wall", "-o"]).arg(&exe).arg(&src).status().expect("gcc is needed");
    assert!(st.success(), "gcc failed on {}", src.display());
    exe
}

#[test]
fn two_real_dumps_name_exactly_what_the_process_changed() {
    // Fails loudly without real CRIU or root.
    support::criu_bin();
    let tmp = scratch("live");
    let work = tmp.join("work");
    fs::create_dir_all(work.join("sub")).unwrap();
    let mut cmd = Command::new(target_bin(&tmp));
    // No rseq area: the kernel rewrites its CPU words whenever the task returns to user space,
    // and CRIU's --leave-running dumps run it, so two dumps of one moment could differ there.
    cmd.arg(&work).env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
    support::in_new_session(cmd.current_dir(&work));
    let child = cmd.spawn().unwrap();
    let t = Target { pid: child.id() as i32 };
    std::mem::forget(child);
    let region = u64::from_str_radix(wait_for_file(&work.join("ready")).trim(), 16).unwrap();
    let pid = t.pid as u32;

    // First moment: a CRIU dump and, from the same stopped task, our own memory dump.
    t.stop();
    let d1 = tmp.join("d1");
    criu_dump(t.pid, &d1);
    t.stop();
    let m1 = tmp.join("m1");
    fs::create_dir_all(&m1).unwrap();
    criu_image::procmem::dump(t.pid, &m1, &Default::default(), &mut |_| {}).unwrap();

    // The process changes.
    fs::write(work.join("go"), "").unwrap();
    kill(t.pid, libc::SIGCONT);
    wait_for_file(&work.join("done"));
    t.stop();
    let d2 = tmp.join("d2");
    criu_dump(t.pid, &d2);
    t.stop();
    let m2 = tmp.join("m2");
    fs::create_dir_all(&m2).unwrap();
    let opts = criu_image::procmem::DumpOptions { parent: Some(m1.clone()), ..Default::default() };
    criu_image::procmem::dump(t.pid, &m2, &opts, &mut |_| {}).unwrap();
    drop(t);

    let (a, b) = (open(&d1), open(&d2));
    let d = compare(&a, &b, &Options::default());
    assert!(d.is_complete(), "{:?}", d.problems);
    assert_eq!(d.processes.len(), 1, "{:#?}", d.processes);
    let p = &d.processes[0];
    assert_eq!((p.pid, p.kind, p.comm.as_slice()), (pid, ChangeKind::Changed, &b"diff-target"[..]));
    let work_b = work.as_os_str().as_encoded_bytes().to_vec();
    let sub_b = work.join("sub").as_os_str().as_encoded_bytes().to_vec();

    // Fields: the working directory, as fs and files.img say.
    let (pa, pb) = (a.process(pid).unwrap().unwrap(), b.process(pid).unwrap().unwrap());
    assert_eq!((pa.cwd().unwrap(), pb.cwd().unwrap()), (work_b.as_slice(), sub_b.as_slice()));
    assert_eq!(p.fields.len(), 1, "{:?}", p.fields);
    assert_eq!((p.fields[0].field, &p.fields[0].a, &p.fields[0].b), ("cwd", &Value::Bytes(work_b.clone()), &Value::Bytes(sub_b.clone())));

    // Fds: 3 moved, 5 closed, 6 opened; positions and paths from the images.
    let fd_of = |p: &criu_image::model::Process<'_>, n: u32| {
        let fd = p.fds().unwrap().unwrap().iter().find(|f| f.fd == n).copied();
        fd.map(|fd| match &p.checkpoint().files().unwrap().get(fd.id).unwrap().kind {
            FileKind::Regular(r) => (r.path.to_vec(), r.pos),
            k => panic!("{k:?}"),
        })
    };
    let path = |name: &str| work.join(name).as_os_str().as_encoded_bytes().to_vec();
    assert_eq!(fd_of(&pa, 3), Some((path("a"), 0)));
    assert_eq!(fd_of(&pb, 3), Some((path("a"), 100)));
    assert_eq!((fd_of(&pa, 5), fd_of(&pb, 5)), (Some((path("c"), 0)), None));
    assert_eq!((fd_of(&pa, 6), fd_of(&pb, 6)), (None, Some((path("new"), 5))));
    let fds: Vec<(u32, ChangeKind)> = p.fds.iter().map(|c| (c.key, c.kind)).collect();
    assert_eq!(fds, [(3, ChangeKind::Changed), (5, ChangeKind::Removed), (6, ChangeKind::Added)]);
    assert_eq!(p.fds[0].fields.len(), 1, "{:?}", p.fds[0].fields);
    let f = &p.fds[0].fields[0];
    assert_eq!((f.field, &f.a, &f.b), ("pos", &Value::U64(0), &Value::U64(100)));
    let new = p.fds[2].b.as_ref().unwrap();
    assert_eq!((new.get("kind"), new.get("path"), new.get("pos")), (Some(&Value::Str("regular".into())), Some(&Value::Bytes(path("new"))), Some(&Value::U64(5))));
    assert_eq!(p.fds[1].a.as_ref().unwrap().get("path"), Some(&Value::Bytes(path("c"))));

    // VMAs: the region's VMA ends a page earlier, its last page is a read-only VMA of its own.
    let vmas: Vec<(VmaKey, ChangeKind)> = p.vmas.iter().map(|c| (c.key, c.kind)).collect();
    let key = |start| VmaKey { start, guard: false };
    assert_eq!(vmas, [(key(region), ChangeKind::Changed), (key(region + 15 * PAGE), ChangeKind::Added)]);
    assert_eq!(p.vmas[0].fields.len(), 1, "{:?}", p.vmas[0].fields);
    let f = &p.vmas[0].fields[0];
    assert_eq!((f.field, &f.a, &f.b), ("end", &Value::Hex(region + 16 * PAGE), &Value::Hex(region + 15 * PAGE)));
    assert_eq!(p.vmas[1].b.as_ref().unwrap().get("prot"), Some(&Value::Str("r--".into())));

    // Memory: in the region, exactly the four pages whose contents changed, as the pages of
    // both images say; elsewhere what a page-by-page read of both images says.
    let (ma, mb) = (Memory::open(&a), Memory::open(&b));
    let (ta, tb) = (ma.task(pid).unwrap(), mb.task(pid).unwrap());
    let fill = |b: u8| vec![b; PAGE as usize];
    for (i, before, after) in [(3, 4, 0xa3), (7, 8, 0xa7), (12, 0, 0xac), (5, 6, 0), (1, 2, 2), (14, 0, 0), (0, 1, 1)] {
        let addr = region + i * PAGE;
        assert_eq!((ta.read(addr, PAGE).unwrap(), tb.read(addr, PAGE).unwrap()), (fill(before), fill(after)), "page {i}");
    }
    // Page 14 is a dumped page of zeros in A and not dumped in B; page 12 the other way round.
    let dumped = |t: &Task<'_>, i: u64| t.pagemap().runs().any(|r| r.is_present() && r.start <= region + i * PAGE && region + i * PAGE < r.end);
    assert!(dumped(&ta, 14) && !dumped(&tb, 14) && !dumped(&ta, 12) && dumped(&tb, 12));
    let want = expected_pages(&ta, &tb);
    assert_eq!(want.get(&region), Some(&(15, 4)), "{want:x?}");
    assert_eq!(memory_of(&d, pid), want);

    // Files: the old working directory and DIR/c are no longer open; DIR/sub and DIR/new are.
    let files: Vec<(Vec<u8>, ChangeKind, Option<Value>)> =
        d.files.iter().map(|c| (c.key.clone(), c.kind, c.record().and_then(|r| r.get("type")).cloned())).collect();
    let dir = Some(Value::Str("directory".into()));
    let reg = Some(Value::Str("regular".into()));
    let mut want_files = vec![
        (work_b.clone(), ChangeKind::Removed, dir.clone()),
        (path("c"), ChangeKind::Removed, reg.clone()),
        (path("new"), ChangeKind::Added, reg),
        (sub_b.clone(), ChangeKind::Added, dir),
    ];
    want_files.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(files, want_files);
    assert!(d.namespaces.is_empty() && d.mounts.is_empty(), "{d:#?}");

    // Parent images resolved: B' is the second CRIU dump with its memory replaced by our
    // incremental dump over the first moment (PE_PARENT for every page that did not change).
    let bp = tmp.join("b-parent");
    fs::create_dir_all(&bp).unwrap();
    for e in fs::read_dir(&d2).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().into_string().unwrap();
        if !(n.starts_with("pagemap-") || n.starts_with("pages-")) {
            fs::copy(e.path(), bp.join(&n)).unwrap();
        }
    }
    for e in fs::read_dir(&m2).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().into_string().unwrap();
        if n.ends_with(".img") {
            fs::copy(e.path(), bp.join(&n)).unwrap();
        }
    }
    std::os::unix::fs::symlink(&m1, bp.join("parent")).unwrap();
    let bpc = open(&bp);
    let parent_pages: u64 = bpc.process(pid).unwrap().unwrap().pagemap().unwrap().unwrap().runs().filter(|r| r.is_parent()).map(|r| r.pages()).sum();
    assert!(parent_pages > 10, "{parent_pages}");
    let same = compare(&b, &bpc, &Options::default());
    assert!(same.is_equal() && same.is_complete(), "{same:#?}");
    assert_eq!(same.compared, compare(&b, &b, &Options::default()).compared);
    let through = compare(&a, &bpc, &Options::default());
    assert!(through.is_complete(), "{:?}", through.problems);
    assert_eq!(memory_of(&through, pid), memory_of(&d, pid));

    // The parent's bytes are the ones read: a byte changed in m1's copy of region page 0 (which
    // B' takes from its parent) is one page differing from CRIU's dump.
    let m1c = open(&m1);
    let run = *m1c.pagemap(&format!("pagemap-{pid}.img")).unwrap().unwrap().runs().find(|r| r.start <= region && region < r.end).unwrap();
    assert!(bpc.process(pid).unwrap().unwrap().pagemap().unwrap().unwrap().runs().any(|r| r.is_parent() && r.start <= region && region < r.end));
    drop(m1c);
    let pages = m1.join("pages-1.img");
    let mut bytes = fs::read(&pages).unwrap();
    bytes[(run.offset + (region - run.start)) as usize + 17] ^= 0xff;
    fs::write(&pages, bytes).unwrap();
    let flipped = compare(&b, &open(&bp), &Options::default());
    assert!(flipped.is_complete(), "{:?}", flipped.problems);
    let m = &flipped.process(pid).unwrap().memory;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0].start, m[0].pages_differ), (region, 1));

    // Without the parent, the pages it holds cannot be compared: a problem naming the pagemap.
    fs::remove_file(bp.join("parent")).unwrap();
    let orphan = compare(&b, &open(&bp), &Options::default());
    assert!(orphan.problems.iter().any(|p| p.side == Side::B && p.file == format!("pagemap-{pid}.img")), "{:?}", orphan.problems);
    assert!(orphan.process(pid).unwrap().memory.iter().map(|m| m.pages_unknown).sum::<u64>() >= parent_pages);
    // What could not be read is not a difference: nothing else differs.
    assert!(orphan.is_equal(), "{orphan:#?}");
    assert!(orphan.process(pid).unwrap().fields.is_empty());
}
