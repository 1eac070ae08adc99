//! Integration tests for `criu_image::memory`, against memory whose content is known:
//! - the fixtures (`testdata/images/MANIFEST.md`, "Known memory contents"): fdzoo's random region
//!   is Python's `random.Random(1234).randbytes(1 << 20)` (recomputed here with python3), its
//!   `PRIV`/`SHRD`/`shared-anon-data` markers and memfd, SysV shm in ipcns, and the command line
//!   and environment of every task of every set;
//! - a checkpoint made here by real CRIU of `memory-target/target.c`, whose regions hold patterns
//!   recomputed here (zero pages, COW file pages, shared anonymous memory, strings that cross
//!   pages and VMAs);
//! - incremental chains built by hand from that real dump (this kernel has no soft-dirty
//!   tracking, so CRIU cannot pre-dump): children whose pagemaps mark pages `PE_PARENT` (or
//!   `PE_LAZY`, or use the pre-4.2 compat encoding) must read exactly what the original reads;
//! - damaged images: unknown flags, overlaps, truncated pages files, and mutated bytes give
//!   typed errors, never a panic.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criu_image::checkpoint::Checkpoint;
use criu_image::image::{Image, ImageWriter, Kind, Role};
use criu_image::memory::search::{Match, Pattern, SearchOptions, search, search_with};
use criu_image::memory::{
    self, Backing, MemError, Memory, PE_LAZY, PE_PARENT, PE_PRESENT, Piece, Task, Unreadable, quote_args,
    split_nul,
};
use criu_image::proto::owned;
use criu_image::proto::view;

const PAGE: u64 = 4096;

// ---------------------------------------------------------------------------------------------
// Helpers

fn open(dir: &Path) -> Checkpoint {
    Checkpoint::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn all_matches(task: &Task<'_>, p: &Pattern) -> Vec<Match> {
    let mut out = Vec::new();
    let _ = search(
        task,
        p,
        &mut |m| {
            out.push(m);
            ControlFlow::Continue(())
        },
        &mut |_| {},
    );
    out
}

fn lit(s: &[u8]) -> Pattern {
    Pattern::literal(s).unwrap()
}

/// What reading a range gives, comparable across checkpoints: bytes, or the reason it fails.
#[derive(Debug, PartialEq)]
enum Outcome {
    Bytes(Vec<u8>),
    Err(String),
}

fn outcome(task: &Task<'_>, addr: u64, len: u64) -> Outcome {
    match task.read(addr, len) {
        Ok(b) => Outcome::Bytes(b),
        Err(MemError::Unreadable { why, .. }) => Outcome::Err(format!("{why:?}")),
        Err(e) => Outcome::Err(e.to_string()),
    }
}

/// Per page of every VMA: bytes, or the kind of failure (not its text, which names files).
fn page_outcomes(task: &Task<'_>) -> Vec<(u64, Result<Vec<u8>, &'static str>)> {
    let mut out = Vec::new();
    for v in task.vmas() {
        let mut a = v.start;
        while a < v.end {
            let r = match task.read(a, PAGE) {
                Ok(b) => Ok(b),
                Err(MemError::Unreadable { why, .. }) => Err(match why {
                    Unreadable::FromFile { .. } => "file",
                    Unreadable::Kernel(_) => "kernel",
                    Unreadable::Lazy { .. } => "lazy",
                    Unreadable::NoParent { .. } => "no parent",
                    Unreadable::NotInParent { .. } => "not in parent",
                    Unreadable::ParentUnavailable { .. } => "parent unavailable",
                    Unreadable::Truncated { .. } => "truncated",
                    Unreadable::NoShmemImage { .. } => "no shmem",
                    Unreadable::Unmapped => "unmapped",
                    other => panic!("{other}"),
                }),
                Err(e) => panic!("{e}"),
            };
            out.push((a, r));
            a += PAGE;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn fdzoo_random_region_is_python_randbytes() {
    let out = Command::new("python3")
        .args(["-c", "import random,sys; sys.stdout.buffer.write(random.Random(1234).randbytes(1 << 20))"])
        .output()
        .expect("python3 is needed to recompute fdzoo's random bytes");
    assert!(out.status.success());
    let expected = out.stdout;
    assert_eq!(expected.len(), 1 << 20);

    let ckpt = open(&support::fixture("fdzoo"));
    let mem = Memory::open(&ckpt);
    let task = mem.task(20321).unwrap();
    // Find the region by its first bytes: the one anonymous VMA of exactly 1 MiB that starts
    // with them (python's heap holds a copy of the bytes object too).
    let hits = all_matches(&task, &lit(&expected[..32]));
    let region: Vec<_> = hits
        .iter()
        .filter(|m| task.vma_at(m.addr).is_some_and(|v| v.start == m.addr && v.end - v.start == 1 << 20))
        .collect();
    assert_eq!(region.len(), 1, "{hits:x?}");
    let addr = region[0].addr;
    let v = task.vma_at(addr).unwrap();
    assert_eq!(v.backing(), Backing::Anon);
    assert_eq!(task.read(addr, 1 << 20).unwrap(), expected);

    // Its pagemap entries are PE_LAZY|PE_PRESENT (a normal dump marks anonymous memory lazy-able):
    // present, so readable. The region spans two entries; a slice across the boundary is found
    // once in the region.
    let runs: Vec<_> = task.pagemap().runs().filter(|r| r.start >= addr && r.end <= addr + (1 << 20)).collect();
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(runs.iter().all(|r| r.flags == PE_LAZY | PE_PRESENT));
    let boundary = runs[1].start - addr;
    let needle = &expected[boundary as usize - 10..boundary as usize + 22];
    let hits = all_matches(&task, &lit(needle));
    assert!(hits.contains(&Match { addr: addr + boundary - 10, len: 32 }), "{hits:x?}");

    // The same through the CLI-facing helpers: read_into, read_with.
    let mut buf = vec![0; 4096];
    task.read_into(addr + 4096, &mut buf).unwrap();
    assert_eq!(buf, expected[4096..8192]);
}

#[test]
fn fdzoo_markers_and_shared_memory() {
    let ckpt = open(&support::fixture("fdzoo"));
    let mem = Memory::open(&ckpt);
    let task = mem.task(20321).unwrap();
    let mapped: Vec<u8> = (0..64).flat_map(|_| 0..=255u8).collect();

    // PRIV: the MAP_PRIVATE mapping of mapped.bin, its first page copied on write.
    let priv_vma = task
        .vmas()
        
        .find(|v| v.name() == b"/tmp/criu-fixture/fdzoo/mapped.bin" && v.backing() == Backing::File { shared: false })
        .unwrap();
    let page = task.read(priv_vma.start, PAGE).unwrap();
    assert_eq!(&page[..4], b"PRIV");
    assert_eq!(&page[4..], &mapped[4..4096]);
    // Its other pages were never written: they are the file's, not in the checkpoint.
    let err = task.read(priv_vma.start + PAGE, 16).unwrap_err();
    match &err {
        MemError::Unreadable { pid: 20321, addr, why: Unreadable::FromFile { file, offset }, .. } => {
            assert_eq!(*addr, priv_vma.start + PAGE);
            assert_eq!(file, "/tmp/criu-fixture/fdzoo/mapped.bin");
            assert_eq!(*offset, PAGE);
        }
        e => panic!("{e}"),
    }
    assert!(err.to_string().contains("not in the checkpoint: the page comes from file /tmp/criu-fixture/fdzoo/mapped.bin at offset 0x1000"), "{err}");

    // SHRD: the MAP_SHARED mapping's bytes are the file's; CRIU does not dump them.
    let shrd = task
        .vmas()
        
        .find(|v| v.name() == b"/tmp/criu-fixture/fdzoo/mapped.bin" && v.backing() == Backing::File { shared: true })
        .unwrap();
    assert!(matches!(
        task.read(shrd.start, 4),
        Err(MemError::Unreadable { why: Unreadable::FromFile { offset: 0, .. }, .. })
    ));
    let in_mapping = |m: &Match| m.addr >= shrd.start && m.addr < shrd.end;
    assert!(!all_matches(&task, &lit(b"SHRD")).iter().any(in_mapping));

    // shared-anon-data: MAP_SHARED|MAP_ANONYMOUS, which this kernel shows as a /dev/zero memfd;
    // its page is in pagemap-shmem-1120.img → pages-1.img.
    let hits = all_matches(&task, &lit(b"shared-anon-data"));
    let shared: Vec<_> = hits.iter().filter(|m| matches!(task.vma_at(m.addr).unwrap().backing(), Backing::Shmem { .. })).collect();
    assert_eq!(shared.len(), 1, "{hits:x?}");
    let v = task.vma_at(shared[0].addr).unwrap();
    assert_eq!(shared[0].addr, v.start);
    assert_eq!(v.backing(), Backing::Shmem { shmid: 1120, private: false });
    assert_eq!(v.name(), b"memfd:/dev/zero");
    assert_eq!(v.end - v.start, 64 << 10);
    assert_eq!(task.read(v.start, 16).unwrap(), ckpt.file("pages-1.img").unwrap()[..16]);
    // Shared memory pages with no shmem pagemap entry are zeros.
    assert_eq!(task.read(v.start + PAGE, 2 * PAGE).unwrap(), vec![0; 2 * PAGE as usize]);

    // The 16 KiB memfd, mapped shared: two pages in pagemap-shmem-1119.img → pages-2.img.
    let memfd = task.vmas().find(|v| v.name() == b"memfd:criu-test-memfd").unwrap();
    assert_eq!(memfd.backing(), Backing::Shmem { shmid: 1119, private: false });
    assert_eq!(task.read(memfd.start, 2 * PAGE).unwrap(), ckpt.file("pages-2.img").unwrap());
    assert_eq!(task.read(memfd.start + 2 * PAGE, 2 * PAGE).unwrap(), vec![0; 2 * PAGE as usize]);

    // Kernel-provided and unmapped addresses.
    let vvar = task.vmas().find(|v| v.name() == b"[vvar]").unwrap();
    assert!(matches!(task.read(vvar.start, 8), Err(MemError::Unreadable { why: Unreadable::Kernel("[vvar]"), .. })));
    let err = task.read(0x1000, 8).unwrap_err();
    assert!(matches!(err, MemError::Unmapped { pid: 20321, addr: 0x1000, below: None, above: Some((0x400000, _)) }), "{err:?}");
    assert!(err.to_string().contains("pid 20321: address 0x1000 is not mapped"), "{err}");
    // A read that runs off the end of a VMA into a hole names the first unmapped address.
    let last = task.vmas().find(|v| v.end != task.vmas().find(|w| w.start >= v.end).map_or(0, |w| w.start) && v.backing() == Backing::Anon && !v.prot.is_empty()).unwrap();
    match task.read(last.end - 8, 16) {
        Err(MemError::Unmapped { addr, .. }) => assert_eq!(addr, last.end),
        r => panic!("{r:?}"),
    }
    assert!(matches!(task.read(u64::MAX - 4, 16), Err(MemError::BadRange { .. })));
    // Threads resolve to their task.
    assert_eq!(mem.task(20324).unwrap().pid, 20321);
    assert!(matches!(mem.task(1), Err(MemError::NoTask { pid: 1, .. })));
}

#[test]
fn ipcns_sysv_shm_is_read_through_its_shmem_pagemap() {
    let ckpt = open(&support::fixture("ipcns"));
    let mem = Memory::open(&ckpt);
    let task = mem.task(1).unwrap();
    let v = task.vmas().find(|v| v.status.contains(criu_image::proto::flags::VmaStatus::SYSVIPC)).unwrap();
    assert_eq!(v.backing(), Backing::Shmem { shmid: 0, private: false });
    assert_eq!(task.read(v.start, PAGE).unwrap(), ckpt.file("pages-2.img").unwrap());
    assert_eq!(task.read(v.start + PAGE, 15 * PAGE).unwrap(), vec![0; 15 * PAGE as usize]);
}

#[test]
fn command_line_and_environment_of_every_fixture_task() {
    // (set, pid) → argv, from MANIFEST.md's commands.
    let mut want: BTreeMap<(&str, u32), Vec<&str>> = BTreeMap::new();
    want.insert(("sleep", 0), vec!["/bin/sleep", "1000"]);
    want.insert(("sleep-fv-buildid", 0), vec!["/bin/sleep", "1001"]);
    want.insert(("sleep-fv-filesize", 0), vec!["/bin/sleep", "1001"]);
    let mut seen = 0;
    for set in ["sleep", "fdzoo", "proctree", "sleep-fv-buildid", "sleep-fv-filesize", "ipcns", "pty-shelljob"] {
        let ckpt = open(&support::fixture(set));
        let mem = Memory::open(&ckpt);
        let tasks = mem.tasks().unwrap();
        let mut argvs = Vec::new();
        for (pid, _) in &tasks {
            let argv = memory::cmdline(&ckpt, *pid).unwrap_or_else(|e| panic!("{set}: {e}"));
            let env = memory::environ(&ckpt, *pid).unwrap_or_else(|e| panic!("{set}: {e}"));
            let argv: Vec<String> = argv.iter().map(|a| String::from_utf8(a.clone()).unwrap()).collect();
            let env: Vec<String> = env.iter().map(|a| String::from_utf8(a.clone()).unwrap()).collect();
            assert!(!argv.is_empty(), "{set} {pid}");
            // MANIFEST: every target ran with a minimal environment: PATH, HOME=/tmp, LANG, TERM.
            for var in ["HOME=/tmp", "LANG=C.UTF-8", "TERM=dumb"] {
                assert!(env.iter().any(|e| e == var), "{set} {pid}: {env:?}");
            }
            assert!(env.iter().any(|e| e.starts_with("PATH=")), "{set} {pid}: {env:?}");
            if let Some(w) = want.get(&(set, 0)) {
                assert_eq!(&argv, w, "{set} {pid}");
            }
            argvs.push(argv.join(" "));
            seen += 1;
        }
        match set {
            "fdzoo" => assert_eq!(argvs, ["/usr/bin/python3 /tmp/criu-fixture/bin/fdzoo.py /tmp/criu-fixture/fdzoo"]),
            "proctree" => {
                assert_eq!(argvs.len(), 6);
                assert!(argvs[0].starts_with("/bin/bash ") && argvs[0].ends_with("tree.sh"), "{argvs:?}");
                for cmd in ["sleep 1000", "sleep 100", "sleep 2000", "cat"] {
                    assert!(argvs.iter().any(|a| a == cmd), "{cmd}: {argvs:?}");
                }
            }
            "ipcns" => assert!(argvs[0].starts_with("/usr/bin/python3 ") && argvs[0].contains("ipcns.py"), "{argvs:?}"),
            "pty-shelljob" => {
                assert!(argvs.iter().any(|a| a == "sleep 1000"), "{argvs:?}");
                assert!(argvs.iter().any(|a| a.starts_with("/bin/bash -c ")), "{argvs:?}");
            }
            _ => {}
        }
    }
    assert!(seen >= 14);
}

#[test]
fn args_helpers() {
    assert_eq!(split_nul(b"a\0bc\0"), vec![b"a".to_vec(), b"bc".to_vec()]);
    assert_eq!(split_nul(b"a\0\0b"), vec![b"a".to_vec(), b"".to_vec(), b"b".to_vec()]);
    assert!(split_nul(b"").is_empty());
    let q = quote_args(&[b"/bin/sh".to_vec(), b"-c".to_vec(), b"echo it's".to_vec(), b"\x01\xff".to_vec()]);
    assert_eq!(q, r"/bin/sh -c 'echo it'\''s' $'\x01\xff'");
}

// ---------------------------------------------------------------------------------------------
// A checkpoint made here by real CRIU

struct RealDump {
    dir: PathBuf,
    pid: u32,
    regions: BTreeMap<String, (u64, u64)>,
    scratch: PathBuf,
}

const TARGET_ENV: [(&str, &str); 3] = [("PATH", "/usr/bin:/bin"), ("CRITMEM", "known value"), ("LANG", "C")];
const BIG_MIB: u64 = 4;

fn pat(i: u64) -> u8 {
    (((i as u32).wrapping_mul(2654435761) >> 24) ^ (i >> 12) as u32) as u8
}

fn file_byte(i: u64) -> u8 {
    (i * 7 + 3) as u8
}

fn xorshift_bytes(len: u64) -> Vec<u8> {
    let mut x = 42u64;
    let mut out = Vec::with_capacity(len as usize);
    while (out.len() as u64) < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545F4914F6CDD1D).to_le_bytes());
    }
    out
}

/// Dumps `memory-target/target.c` once per test run.
fn real_dump() -> &'static RealDump {
    static DUMP: OnceLock<RealDump> = OnceLock::new();
    DUMP.get_or_init(|| {
        let criu = support::criu_bin();
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("memory-real-dump");
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch).unwrap();
        let exe = scratch.join("target");
        let src = support::root().join("runtime/tests/memory-target/target.c");
        let st = Command::new("gcc").args(["-O1", "-Wall", "-o"]).arg(&exe).arg(&src).status().expect("gcc is needed");
        assert!(st.success(), "gcc failed on {}", src.display());
        let file = scratch.join("mapped.dat");
        fs::write(&file, (0..4 * PAGE).map(file_byte).collect::<Vec<u8>>()).unwrap();
        let ready = scratch.join("ready");
        let mut cmd = Command::new(&exe);
        cmd.arg(&ready).arg(&file).arg(BIG_MIB.to_string()).arg("an argument with spaces").arg("last");
        support::in_new_session(cmd.env_clear().envs(TARGET_ENV).current_dir(&scratch));
        let mut child = cmd.spawn().unwrap();
        let t = Instant::now();
        while !ready.exists() {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("the memory target exited early: {st}");
            }
            if t.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the memory target did not get ready");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut regions = BTreeMap::new();
        for line in fs::read_to_string(&ready).unwrap().lines() {
            let f: Vec<&str> = line.split(' ').collect();
            regions.insert(f[0].to_string(), (u64::from_str_radix(f[1], 16).unwrap(), f[2].parse().unwrap()));
        }
        let dir = scratch.join("dump");
        fs::create_dir_all(&dir).unwrap();
        let out = Command::new(&criu)
            .args(["dump", "-t", &child.id().to_string(), "-D"])
            .arg(&dir)
            .args(["--shell-job", "--leave-running", "-v4", "-o", "dump.log"])
            .output()
            .unwrap();
        let _ = child.kill();
        let _ = child.wait();
        if !out.status.success() {
            let log = fs::read_to_string(dir.join("dump.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!("criu dump failed: {}\n{}", String::from_utf8_lossy(&out.stderr), tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        RealDump { dir, pid: child.id(), regions, scratch }
    })
}

#[test]
fn real_dump_reads_known_patterns() {
    let d = real_dump();
    let ckpt = open(&d.dir);
    let mem = Memory::open(&ckpt);
    let task = mem.task(d.pid).unwrap();
    let (anon, _) = d.regions["anon"];

    // Every page of the anonymous region: the pattern, and zeros where it was never touched.
    let got = task.read(anon, 64 * PAGE).unwrap();
    for i in 0..64 * PAGE {
        let want = match i {
            _ if (10..=12).contains(&(i / PAGE)) => 0,
            _ if (30 * PAGE - 9..30 * PAGE + 10).contains(&i) => b"NEEDLE-ACROSS-PAGES"[(i - (30 * PAGE - 9)) as usize],
            _ if (50 * PAGE - 7..50 * PAGE + 11).contains(&i) => b"NEEDLE-ACROSS-VMAS"[(i - (50 * PAGE - 7)) as usize],
            _ => pat(i),
        };
        assert_eq!(got[i as usize], want, "anon + {i:#x}");
    }
    // The zero pages are not in the checkpoint: the walk says so.
    let mut zero = 0;
    let _ = task.walk(anon, 64 * PAGE, &mut |_, len, _, piece| {
        if let Piece::Zero = piece {
            zero += len;
        }
        ControlFlow::Continue(())
    });
    assert_eq!(zero, 3 * PAGE);
    // mprotect split the region into two VMAs; strings across the page and the VMA boundary
    // are found.
    assert_eq!(task.vma_at(anon).unwrap().end, anon + 50 * PAGE);
    assert_eq!(all_matches(&task, &lit(b"NEEDLE-ACROSS-PAGES")), [Match { addr: anon + 30 * PAGE - 9, len: 19 }]);
    assert_eq!(all_matches(&task, &lit(b"NEEDLE-ACROSS-VMAS")), [Match { addr: anon + 50 * PAGE - 7, len: 18 }]);
    let re = all_matches(&task, &Pattern::regex(r"NEEDLE-ACROSS-[A-Z]+").unwrap());
    assert_eq!(re, [Match { addr: anon + 30 * PAGE - 9, len: 19 }, Match { addr: anon + 50 * PAGE - 7, len: 18 }]);

    // Shared anonymous memory: markers, zeros elsewhere.
    let (shared, _) = d.regions["shared"];
    let v = task.vma_at(shared).unwrap();
    assert!(matches!(v.backing(), Backing::Shmem { private: false, .. }), "{v:?}");
    let got = task.read(shared, 8 * PAGE).unwrap();
    let mut want = vec![0u8; 8 * PAGE as usize];
    want[..16].copy_from_slice(b"CRITMEM-SHARED-0");
    want[5 * PAGE as usize + 100..][..16].copy_from_slice(b"CRITMEM-SHARED-5");
    assert_eq!(got, want);
    assert_eq!(all_matches(&task, &lit(b"CRITMEM-SHARED-5")), [Match { addr: shared + 5 * PAGE + 100, len: 16 }]);

    // A private file mapping at file offset 4096: the clean pages come from the file, the
    // written one from the checkpoint.
    let (file, _) = d.regions["file"];
    let v = task.vma_at(file).unwrap();
    assert_eq!(v.pgoff, PAGE);
    assert_eq!(v.name(), d.scratch.join("mapped.dat").as_os_str().as_encoded_bytes());
    for (page, off) in [(0, PAGE), (2, 3 * PAGE)] {
        match task.read(file + page * PAGE + 8, 4) {
            Err(MemError::Unreadable { why: Unreadable::FromFile { file: f, offset }, vma, .. }) => {
                assert_eq!(offset, off + 8);
                assert!(f.ends_with("/mapped.dat"), "{f}");
                assert_eq!(vma.start, file);
            }
            r => panic!("{r:?}"),
        }
    }
    let cow = task.read(file + PAGE, PAGE).unwrap();
    assert_eq!(&cow[..4], b"COW!");
    assert!(cow[4..].iter().enumerate().all(|(i, &b)| b == file_byte(2 * PAGE + 4 + i as u64)));

    // Strings on the heap and in .data.
    for name in ["heap", "data"] {
        let (addr, len) = d.regions[name];
        let want = format!("CRITMEM-{}-STRING", name.to_uppercase());
        assert_eq!(task.read(addr, len).unwrap(), want.as_bytes());
        assert!(all_matches(&task, &lit(want.as_bytes())).iter().any(|m| m.addr == addr));
    }

    // The big region: xorshift words and the needles.
    let (big, big_len) = d.regions["big"];
    let mut want = xorshift_bytes(big_len);
    want[(1 << 20) - 5..][..17].copy_from_slice(b"CRIT-BENCH-NEEDLE");
    want[big_len as usize - 100..][..17].copy_from_slice(b"CRIT-BENCH-NEEDLE");
    assert_eq!(task.read(big, big_len).unwrap(), want);
    assert_eq!(
        all_matches(&task, &lit(b"CRIT-BENCH-NEEDLE")).iter().map(|m| m.addr).collect::<Vec<_>>(),
        [big + (1 << 20) - 5, big + big_len - 100]
    );

    // Command line and environment.
    let argv = task.cmdline().unwrap();
    assert_eq!(argv.len(), 6);
    assert_eq!(&argv[3..], [b"4".to_vec(), b"an argument with spaces".to_vec(), b"last".to_vec()]);
    let mut env: Vec<String> = task.environ().unwrap().into_iter().map(|e| String::from_utf8(e).unwrap()).collect();
    env.sort();
    assert_eq!(env, ["CRITMEM=known value", "LANG=C", "PATH=/usr/bin:/bin"]);
}

// ---------------------------------------------------------------------------------------------
// Hand-made incremental chains over the real dump

#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// `flags` + `nr_pages`, as CRIU 4.2 writes.
    Modern,
    /// No `flags` for present pages, `in_parent` for parent pages, `compat_nr_pages`.
    Compat,
}

/// Rewrites a pagemap and its pages page by page: `choose(vaddr)` gives the new flags of each
/// page that the original holds (`PE_PRESENT`: keep its bytes here; `PE_PARENT`/`PE_LAZY`: no
/// bytes here; 0: drop the page). Pages the original has in its parent stay `PE_PARENT`.
/// Consecutive pages with the same flags share an entry.
fn rewrite_pagemap(src: &Checkpoint, name: &str, style: Style, choose: &dyn Fn(u64) -> u32) -> (u32, Vec<u8>, Vec<u8>) {
    let img = Image::parse(src.file(name).unwrap(), Some(name)).unwrap();
    let mut pages_id = 0;
    let mut pages: Option<&[u8]> = None;
    let mut off = 0usize;
    let mut new_pages = Vec::new();
    let mut entries: Vec<(u64, u64, u32)> = Vec::new();
    for e in img.entries() {
        let e = e.unwrap();
        if e.role == Role::PagemapHead {
            pages_id = view::PagemapHead::parse(e.message).unwrap().pages_id();
            pages = Some(src.file(&format!("pages-{pages_id}.img")).unwrap_or(&[]));
            continue;
        }
        let pe = view::PagemapEntry::parse(e.message).unwrap();
        let flags = criu_image::pagemap::flags(&pe);
        for i in 0..criu_image::pagemap::nr_pages(&pe) {
            let vaddr = pe.vaddr() + i * PAGE;
            let page = if flags & PE_PRESENT != 0 {
                let p = &pages.unwrap()[off..off + PAGE as usize];
                off += PAGE as usize;
                Some(p)
            } else {
                None
            };
            let f = if flags & PE_PARENT != 0 { PE_PARENT } else { choose(vaddr) };
            if f == 0 {
                continue;
            }
            if f & PE_PRESENT != 0 {
                new_pages.extend_from_slice(page.expect("PE_PRESENT needs a page in the source"));
            }
            match entries.last_mut() {
                Some((v, n, fl)) if *fl == f && *v + *n * PAGE == vaddr => *n += 1,
                _ => entries.push((vaddr, 1, f)),
            }
        }
    }
    let mut w = ImageWriter::new(Vec::new(), Kind::Pagemap).unwrap();
    w.write_message(&owned::PagemapHead { pages_id, ..Default::default() }).unwrap();
    for (vaddr, n, f) in entries {
        let e = match style {
            Style::Modern => owned::PagemapEntry { vaddr, nr_pages: Some(n), flags: Some(f), ..Default::default() },
            Style::Compat if f == PE_PRESENT => owned::PagemapEntry { vaddr, compat_nr_pages: n as u32, ..Default::default() },
            Style::Compat if f == PE_PARENT => {
                owned::PagemapEntry { vaddr, compat_nr_pages: n as u32, in_parent: Some(true), ..Default::default() }
            }
            Style::Compat => owned::PagemapEntry { vaddr, compat_nr_pages: n as u32, flags: Some(f), ..Default::default() },
        };
        w.write_message(&e).unwrap();
    }
    (pages_id, w.into_inner(), new_pages)
}

/// A pagemap to rewrite, how, and the new flags of each page.
type Rewrite<'a> = (&'a str, Style, &'a dyn Fn(u64) -> u32);

/// A checkpoint made from `from`: every image copied, the pagemaps named in `rewrite`
/// rewritten, and a `parent` symlink to `parent` (relative, as CRIU's `--prev-images-dir ../x`
/// makes it) if given.
fn child_dump(name: &str, from: &Path, parent: Option<&Path>, rewrite: &[Rewrite<'_>]) -> PathBuf {
    let d = real_dump();
    let dir = d.scratch.join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let src = open(from);
    for f in src.names() {
        fs::write(dir.join(f), src.file(f).unwrap()).unwrap();
    }
    for (pm, style, choose) in rewrite {
        let (pages_id, pagemap, pages) = rewrite_pagemap(&src, pm, *style, choose);
        fs::write(dir.join(pm), pagemap).unwrap();
        fs::write(dir.join(format!("pages-{pages_id}.img")), pages).unwrap();
    }
    if let Some(parent) = parent {
        let rel = Path::new("..").join(parent.file_name().unwrap());
        std::os::unix::fs::symlink(rel, dir.join("parent")).unwrap();
    }
    dir
}

fn shmem_pagemap(ckpt: &Checkpoint) -> String {
    let names: Vec<&str> = ckpt.names().filter(|n| n.starts_with("pagemap-shmem-")).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names[0].to_string()
}

#[test]
fn parent_chain_reads_the_original_bytes() {
    let d = real_dump();
    let base = open(&d.dir);
    let pm = format!("pagemap-{}.img", d.pid);
    let shm = shmem_pagemap(&base);
    let (anon, _) = d.regions["anon"];

    // B: odd pages (and the page holding the start of NEEDLE-ACROSS-PAGES) in the parent, even
    // pages here; shared memory entirely in the parent.
    let odd = move |v: u64| if (v / PAGE) % 2 == 1 || v == anon + 29 * PAGE { PE_PARENT } else { PE_PRESENT };
    let b = child_dump("chain-b", &d.dir, Some(&d.dir), &[(&pm, Style::Modern, &odd), (&shm, Style::Modern, &|_| PE_PARENT)]);
    // C: everything in B (so, through B, partly in A), in the compat encoding.
    let c = child_dump("chain-c", &b, Some(&b), &[(&pm, Style::Compat, &|_| PE_PARENT), (&shm, Style::Compat, &|_| PE_PARENT)]);
    // C's pages file is empty; B's holds only the even pages.
    let c_ckpt = open(&c);
    assert!(c_ckpt.names().filter(|n| n.starts_with("pages-")).all(|n| c_ckpt.file(n).unwrap_or(&[]).is_empty()));

    // D: no parent, every entry in the pre-4.2 encoding (no `flags`, `compat_nr_pages`).
    let compat = child_dump("compat", &d.dir, None, &[(&pm, Style::Compat, &|_| PE_PRESENT)]);

    let base_mem = Memory::open(&base);
    let base_task = base_mem.task(d.pid).unwrap();
    let want = page_outcomes(&base_task);
    let compat_ckpt = open(&compat);
    let compat_mem = Memory::open(&compat_ckpt);
    let compat_task = compat_mem.task(d.pid).unwrap();
    assert!(compat_task.pagemap().runs().all(|r| r.flags == PE_PRESENT));
    assert_eq!(page_outcomes(&compat_task), want);
    for dir in [&b, &c] {
        let ckpt = open(dir);
        let mem = Memory::open(&ckpt);
        assert_eq!(mem.depth(), if dir == &b { 2 } else { 3 });
        let task = mem.task(d.pid).unwrap();
        assert_eq!(page_outcomes(&task), want, "{}", dir.display());
        // Searches give the same matches: NEEDLE-ACROSS-PAGES now straddles pages from two
        // different pages files (B's and A's).
        for p in [&b"NEEDLE-ACROSS-PAGES"[..], b"NEEDLE-ACROSS-VMAS", b"CRITMEM-SHARED-5", b"CRIT-BENCH-NEEDLE"] {
            assert_eq!(all_matches(&task, &lit(p)), all_matches(&base_task, &lit(p)), "{}", String::from_utf8_lossy(p));
        }
        let re = Pattern::regex(r"NEEDLE-ACROSS-[A-Z]+").unwrap();
        assert_eq!(all_matches(&task, &re), all_matches(&base_task, &re));
        // Needles that straddle odd/even page boundaries of the anon region, where consecutive
        // pages come from different pages files: short ones, and ones longer than a page (the
        // stitching tail then spans several pieces), as literals and as regexes.
        for (k, len) in [(1u64, 7u64), (2, 7), (31, 7), (41, 7), (60, 7), (3, 2 * PAGE + 100), (20, 5 * PAGE)] {
            let at = anon + k * PAGE - 3;
            let needle = base_task.read(at, len).unwrap();
            let hits = all_matches(&task, &lit(&needle));
            assert!(hits.contains(&Match { addr: at, len }), "page {k}: {hits:x?}");
            assert_eq!(hits, all_matches(&base_task, &lit(&needle)));
            let re: String = needle.iter().map(|b| format!("\\x{b:02x}")).collect();
            let re = Pattern::regex(&re).unwrap();
            assert_eq!(all_matches(&task, &re), hits, "regex, page {k}");
        }
        // Regex windows much smaller than the runs: many windows, some copied across pieces.
        let opts = SearchOptions { regex_window: 3 * PAGE + 17, regex_max_match: PAGE };
        let re = Pattern::regex(r"CRIT-BENCH-NEEDLE|NEEDLE-ACROSS-[A-Z]+|CRITMEM-[A-Z]+-[0-9A-Z]+").unwrap();
        let mut small = Vec::new();
        let _ = search_with(&task, &re, opts, &mut |m| { small.push(m); ControlFlow::Continue(()) }, &mut |_| {});
        let want = all_matches(&base_task, &re);
        assert!(want.len() >= 6, "{want:x?}");
        assert_eq!(small, want);
        assert_eq!(task.cmdline().unwrap(), base_task.cmdline().unwrap());
    }
    // Where the bytes come from: B's even pages from B, odd ones from A (depth 1).
    let b_ckpt = open(&b);
    let b_mem = Memory::open(&b_ckpt);
    let b_task = b_mem.task(d.pid).unwrap();
    let mut depths = Vec::new();
    let _ = b_task.walk(anon, 4 * PAGE, &mut |_, _, _, piece| {
        if let Piece::Stored(s) = piece {
            depths.push(s.depth);
        }
        ControlFlow::Continue(())
    });
    let want: Vec<usize> = (0..4).map(|k| usize::from((anon / PAGE + k) % 2 == 1)).collect();
    assert_eq!(depths, want);
}

#[test]
fn parent_chain_errors() {
    let d = real_dump();
    let base = open(&d.dir);
    let pm = format!("pagemap-{}.img", d.pid);
    let (anon, _) = d.regions["anon"];
    let page5 = anon + 5 * PAGE;
    let only5 = move |v: u64| if v == page5 { PE_PARENT } else { PE_PRESENT };

    // No parent link.
    let orphan = child_dump("orphan", &d.dir, None, &[(&pm, Style::Modern, &only5)]);
    let ckpt = open(&orphan);
    let mem = Memory::open(&ckpt);
    let task = mem.task(d.pid).unwrap();
    let err = task.read(page5, 8).unwrap_err();
    assert!(matches!(&err, MemError::Unreadable { why: Unreadable::NoParent { depth: 0, .. }, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("pid {}", d.pid)) && msg.contains(&pm) && msg.contains("PE_PARENT"), "{msg}");
    // The rest reads; a range across the page fails at the page.
    assert!(task.read(page5 - PAGE, PAGE).is_ok());
    assert!(matches!(task.read(page5 - 4, 8), Err(MemError::Unreadable { addr, .. }) if addr == page5));

    // A dangling parent link.
    let dangling = child_dump("dangling", &d.dir, None, &[(&pm, Style::Modern, &only5)]);
    std::os::unix::fs::symlink("../no-such-dump", dangling.join("parent")).unwrap();
    let ckpt = open(&dangling);
    let mem = Memory::open(&ckpt);
    let task = mem.task(d.pid).unwrap();
    let err = task.read(page5, 8).unwrap_err();
    assert!(matches!(&err, MemError::Unreadable { why: Unreadable::ParentUnavailable { .. }, .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dump") || err.to_string().contains("parent"), "{err}");

    // A parent that lacks the page.
    let holed = child_dump("holed-parent", &d.dir, None, &[(&pm, Style::Modern, &move |v| if v == page5 { 0 } else { PE_PRESENT })]);
    let child = child_dump("child-of-holed", &d.dir, Some(&holed), &[(&pm, Style::Modern, &only5)]);
    let ckpt = open(&child);
    let mem = Memory::open(&ckpt);
    let task = mem.task(d.pid).unwrap();
    let err = task.read(page5, 8).unwrap_err();
    assert!(matches!(&err, MemError::Unreadable { why: Unreadable::NotInParent { depth: 1, .. }, .. }), "{err:?}");
    assert!(err.to_string().contains("missing from the parent"), "{err}");

    // A parent loop: the checkpoint is its own parent.
    let looped = child_dump("looped", &d.dir, None, &[(&pm, Style::Modern, &only5)]);
    std::os::unix::fs::symlink(".", looped.join("parent")).unwrap();
    let ckpt = open(&looped);
    let mem = Memory::open(&ckpt);
    let err = mem.task(d.pid).unwrap().read(page5, 8).unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");

    // Lazy pages: PE_LAZY without PE_PRESENT.
    let lazy = child_dump("lazy", &d.dir, None, &[(&pm, Style::Modern, &move |v| if v == page5 { PE_LAZY } else { PE_PRESENT })]);
    let ckpt = open(&lazy);
    let mem = Memory::open(&ckpt);
    let task = mem.task(d.pid).unwrap();
    let err = task.read(page5, 8).unwrap_err();
    assert!(matches!(&err, MemError::Unreadable { why: Unreadable::Lazy { .. }, .. }), "{err:?}");
    assert!(err.to_string().contains("lazy page, held by the page server"), "{err}");
    // The pages after the lazy one keep their offsets: the lazy run takes no room in the file.
    assert_eq!(task.read(anon + 6 * PAGE, PAGE).unwrap(), base_read(&base, d.pid, anon + 6 * PAGE, PAGE));
    // Searching skips what cannot be read.
    assert!(all_matches(&task, &lit(b"NEEDLE-ACROSS-PAGES")).len() == 1);
}

fn base_read(ckpt: &Checkpoint, pid: u32, addr: u64, len: u64) -> Vec<u8> {
    Memory::open(ckpt).task(pid).unwrap().read(addr, len).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Damaged images

fn damaged(name: &str, edit: &dyn Fn(&Path)) -> PathBuf {
    let d = real_dump();
    let dir = d.scratch.join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let src = open(&d.dir);
    for f in src.names() {
        fs::write(dir.join(f), src.file(f).unwrap()).unwrap();
    }
    edit(&dir);
    dir
}

#[test]
fn damaged_pagemaps_give_typed_errors() {
    let d = real_dump();
    let pm = format!("pagemap-{}.img", d.pid);
    let src = open(&d.dir);
    let entries = |f: &dyn Fn(&mut Vec<owned::PagemapEntry>)| {
        let img = Image::parse(src.file(&pm).unwrap(), None).unwrap();
        let mut head = None;
        let mut es = Vec::new();
        for e in img.entries() {
            let e = e.unwrap();
            if e.role == Role::PagemapHead {
                head = Some(view::PagemapHead::parse(e.message).unwrap().to_msg());
            } else {
                es.push(view::PagemapEntry::parse(e.message).unwrap().to_msg());
            }
        }
        f(&mut es);
        let mut w = ImageWriter::new(Vec::new(), Kind::Pagemap).unwrap();
        w.write_message(&head.unwrap()).unwrap();
        for e in &es {
            w.write_message(e).unwrap();
        }
        w.into_inner()
    };

    // Unknown flag bits (a newer CRIU's compressed pages, say): refused, not guessed.
    let bytes = entries(&|es| es[1].flags = Some(PE_PRESENT | 8));
    let dir = damaged("unknown-flags", &|dir| fs::write(dir.join(&pm), &bytes).unwrap());
    let ckpt = open(&dir);
    let err = Memory::open(&ckpt).task(d.pid).unwrap_err();
    assert!(matches!(&err, MemError::Corrupt { entry: Some(2), .. }), "{err:?}");
    assert!(err.to_string().contains("flags 0xc"), "{err}");

    // Overlapping entries.
    let bytes = entries(&|es| {
        let e = es[0].clone();
        es.insert(1, e);
    });
    let dir = damaged("overlap", &|dir| fs::write(dir.join(&pm), &bytes).unwrap());
    let ckpt = open(&dir);
    let err = Memory::open(&ckpt).task(d.pid).unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");

    // Pages past the end of the address space.
    let bytes = entries(&|es| es[0].nr_pages = Some(u64::MAX / 2));
    let dir = damaged("overflow", &|dir| fs::write(dir.join(&pm), &bytes).unwrap());
    let ckpt = open(&dir);
    assert!(matches!(Memory::open(&ckpt).task(d.pid), Err(MemError::Corrupt { .. })));

    // A truncated pages file: what it still holds reads, the rest is reported.
    let pages = src.names().find(|n| n.starts_with("pages-") && src.file(n).unwrap().len() > (BIG_MIB << 20) as usize).unwrap().to_string();
    let keep = src.file(&pages).unwrap().len() / 2;
    let dir = damaged("truncated", &|dir| fs::write(dir.join(&pages), &src.file(&pages).unwrap()[..keep]).unwrap());
    let ckpt = open(&dir);
    let mem = Memory::open(&ckpt);
    let task = mem.task(d.pid).unwrap();
    let (anon, _) = d.regions["anon"];
    let (big, big_len) = d.regions["big"];
    let results = [task.read(anon, PAGE).is_ok(), task.read(big, big_len).is_ok()];
    assert!(results.contains(&false), "{results:?}");
    let err = if results[0] { task.read(big, big_len) } else { task.read(anon, PAGE) }.unwrap_err();
    assert!(matches!(&err, MemError::Unreadable { why: Unreadable::Truncated { .. }, .. }), "{err:?}");
    assert!(err.to_string().contains(&pages), "{err}");

    // A missing pagemap: the task has no memory.
    let dir = damaged("no-pagemap", &|dir| fs::remove_file(dir.join(&pm)).unwrap());
    let ckpt = open(&dir);
    assert!(matches!(Memory::open(&ckpt).task(d.pid), Err(MemError::NoMemory { .. })));
}

#[test]
fn mutated_images_never_panic() {
    // Flip bytes of the fixture's pagemap and mm images (a deterministic sequence), then index
    // and read everything: any result is fine but a panic.
    let dir = support::fixture("sleep");
    let src = open(&dir);
    let pid = Memory::open(&src).tasks().unwrap()[0].0;
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("memory-mutated");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).unwrap();
    for f in src.names() {
        fs::write(scratch.join(f), src.file(f).unwrap()).unwrap();
    }
    let mut x = 0x2545F4914F6CDD1Du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for name in [format!("pagemap-{pid}.img"), format!("mm-{pid}.img")] {
        let orig = src.file(&name).unwrap().to_vec();
        for _ in 0..150 {
            let mut b = orig.clone();
            for _ in 0..1 + rnd() % 4 {
                let i = 8 + (rnd() as usize) % (b.len() - 8);
                b[i] = rnd() as u8;
            }
            fs::write(scratch.join(&name), &b).unwrap();
            let ckpt = open(&scratch);
            let mem = Memory::open(&ckpt);
            if let Ok(task) = mem.task(pid) {
                let _ = page_outcomes(&task);
                let _ = all_matches(&task, &lit(b"sleep"));
                let _ = task.cmdline();
            }
        }
        fs::write(scratch.join(&name), &orig).unwrap();
    }
    // Regression guard: outcome() is used to compare reads; keep it exercised.
    let ckpt = open(&dir);
    let mem = Memory::open(&ckpt);
    let t = mem.task(pid).unwrap();
    assert!(matches!(outcome(&t, 0, 1), Outcome::Err(_)));
}

/// A VMA's dumped pages, counted in one walk (`pages_in_each`) or per VMA (`pages_in`), equal
/// the pages of the pagemap entries inside it, counted here from the raw entries; in address
/// order and out of it (guard regions come after the mappings, at lower addresses).
#[test]
fn dumped_pages_per_vma_in_one_walk_and_one_by_one() {
    for e in fs::read_dir(support::root().join("testdata/images")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("pstree.img").is_file() {
            continue;
        }
        let set = dir.file_name().unwrap().to_string_lossy().to_string();
        let ckpt = open(&dir);
        for p in ckpt.processes().unwrap().iter() {
            let (Ok(vmas), Ok(Some(pm))) = (p.vmas(), p.pagemap()) else { continue };
            let runs: Vec<(u64, u64)> = pm.entries().iter().map(|r| (r.start, r.start + r.nr_pages * PAGE)).collect();
            let naive = |s: u64, e: u64| runs.iter().map(|&(a, b)| b.min(e).saturating_sub(a.max(s)) / PAGE).sum::<u64>();
            let ranges: Vec<(u64, u64)> = vmas.iter().map(|v| (v.start, v.end)).collect();
            let want: Vec<u64> = ranges.iter().map(|&(s, e)| naive(s, e)).collect();
            assert!(want.iter().sum::<u64>() > 0, "{set}: no dumped page");
            assert_eq!(ranges.iter().map(|&(s, e)| pm.pages_in(s, e)).collect::<Vec<_>>(), want, "{set}");
            assert_eq!(pm.pages_in_each(ranges.iter().copied()).collect::<Vec<_>>(), want, "{set}");
            let rev: Vec<u64> = pm.pages_in_each(ranges.iter().rev().copied()).collect();
            assert_eq!(rev.into_iter().rev().collect::<Vec<_>>(), want, "{set}: reversed");
            // Ranges spanning several VMAs, and empty ones.
            let wide: Vec<(u64, u64)> = ranges.chunks(3).map(|c| (c[0].0, c[c.len() - 1].1)).chain([(0, 0)]).collect();
            let wide_want: Vec<u64> = wide.iter().map(|&(s, e)| naive(s, e)).collect();
            assert_eq!(pm.pages_in_each(wide.iter().copied()).collect::<Vec<_>>(), wide_want, "{set}: wide");
        }
    }
}

/// A memory dump alone (pagemap and pages, as `crit mem-dump` writes): the command line cannot
/// be found, and the error says it is the mm image that is missing, not that its range is bad.
#[test]
fn command_line_of_a_memory_dump_without_mm_names_the_missing_image() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("memonly-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for f in ["pagemap-20292.img", "pages-1.img"] {
        fs::copy(support::fixture("sleep").join(f), dir.join(f)).unwrap();
    }
    let ckpt = open(&dir);
    let task = Memory::open(&ckpt).task(20292).unwrap();
    let e = task.cmdline().unwrap_err();
    assert!(matches!(e, MemError::NoMmImage { pid: 20292, what: "command line" }), "{e:?}");
    assert!(e.to_string().contains("mm-20292.img") && e.to_string().contains("has none"), "{e}");
    // The pages are still there to read.
    assert!(task.regions().iter().any(|&(s, e)| task.read(s, (e - s).min(4096)).is_ok()));
    let _ = fs::remove_dir_all(&dir);
}

/// A corrupt mm image whose argument range covers megabytes of zero pages: 64 MiB of NULs would
/// split into 64 M empty strings (1.5 GB of `Vec`s); found by the pagemap fuzzer. The range is
/// refused by its string count instead, and the real command line still reads.
#[test]
fn an_argument_range_of_zero_pages_is_refused_not_split() {
    use criu_image::edit::OwnedImage;
    const PID: u32 = 20321;
    // The fdzoo fixture's process has large mappings it never wrote (zero pages).
    let src = support::root().join("testdata/images/fdzoo");
    let tmp = std::env::temp_dir().join(format!("memory-test-args-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    for e in fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    let ckpt = open(&tmp);
    let mem = Memory::open(&ckpt);
    let task = mem.task(PID).unwrap();
    assert!(!task.cmdline().unwrap().is_empty());
    // Zero pages (PE zero runs, or absent pages of a private anonymous mapping): find 2 MiB.
    let zero = task
        .vmas()
        .filter(|v| v.end - v.start >= 2 << 20)
        .find(|v| task.read(v.start, 2 << 20).is_ok_and(|b| b.iter().all(|&x| x == 0)))
        .map(|v| v.start)
        .expect("the fixture has a 2 MiB stretch of zero pages");
    drop(task);
    drop(ckpt);
    let mm_name = format!("mm-{PID}.img");
    let mm_path = tmp.join(&mm_name);
    let bytes = fs::read(&mm_path).unwrap();
    let mut mm = OwnedImage::<owned::MmEntry>::decode(&bytes, Some(&mm_name)).unwrap();
    let m = &mut mm.entries[0].message;
    m.mm_arg_start = zero;
    m.mm_arg_end = zero + (2 << 20);
    fs::write(&mm_path, mm.encode().unwrap()).unwrap();
    let ckpt = open(&tmp);
    let mem = Memory::open(&ckpt);
    let task = mem.task(PID).unwrap();
    match task.cmdline() {
        Err(e @ MemError::TooManyStrings { count, .. }) => {
            assert_eq!(count, 2 << 20);
            assert!(e.to_string().contains("more than execve passes"), "{e}");
        }
        other => panic!("expected TooManyStrings, got {other:?}"),
    }
    assert!(!task.environ().unwrap().is_empty(), "the environment is untouched");
    let _ = fs::remove_dir_all(&tmp);
}
