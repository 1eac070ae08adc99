//! Runs every program of `runtime/examples/` on the real fixture checkpoints and checks what it
//! prints against values read independently of the layers the examples use: CRIU crit's own
//! output recorded in `testdata/crit-reference/`, and the images parsed here with the generated
//! views over framing done by hand (`raw` below), never the crate's image, model or memory code,
//! and never an example's earlier output.
//!
//! `cargo test -p criu-image` builds the examples (into `target/<profile>/examples/`, next to
//! this test's own directory) before it runs the tests. `cargo test --test examples` alone does
//! not build them: then run `cargo build -p criu-image --examples --features full` first.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use criu_image::memory::quote_args;
use criu_image::proto::kernel::TaskState;
use criu_image::proto::schema::enums::FdTypes;
use criu_image::proto::view;

const SETS: [&str; 7] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo"];

// ---------------------------------------------------------------------------------------------
// Running the examples

/// An example's binary, built by `cargo test` next to the test executables' directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples/<name>
    let path = exe.parent().and_then(Path::parent).unwrap().join("examples").join(name);
    let build = "`cargo test -p criu-image` builds the examples, `cargo test --test examples` alone does not (run \
                 `cargo build -p criu-image --examples --features full` first)";
    assert!(path.is_file(), "the example binary {} does not exist: {build}", path.display());
    // A binary older than its sources would test yesterday's program.
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![crate_dir.join("examples").join(format!("{name}.rs"))];
    let mut dirs = vec![crate_dir.join("src")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { dirs.push(p) } else { sources.push(p) }
        }
    }
    for src in sources {
        let changed = std::fs::metadata(&src).and_then(|m| m.modified()).unwrap();
        assert!(changed <= built, "the example binary {} is older than {}: {build}", path.display(), src.display());
    }
    path
}

fn run(name: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(example(name));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap_or_else(|e| panic!("running example {name}: {e}"))
}

/// Runs an example that must succeed; its stdout.
fn run_ok(name: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let out = run(name, args);
    assert!(
        out.status.success(),
        "example {name} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// CRIU's crit: `$CRIT_REF`, else what `cargo xtask criu` builds. Tests that need it fail loudly.
fn crit_ref() -> PathBuf {
    let p = std::env::var_os("CRIT_REF").map(PathBuf::from).unwrap_or_else(|| support::root().join("target/criu/bin/crit-ref"));
    assert!(p.exists(), "CRIU's crit is needed but {} does not exist: run `cargo xtask criu` (or set CRIT_REF)", p.display());
    p
}

fn fixture(set: &str) -> PathBuf {
    support::fixture(set)
}

fn reference(set: &str, file: &str) -> String {
    std::fs::read_to_string(support::root().join("testdata/crit-reference").join(set).join(file)).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "examples-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_set(set: &str) -> PathBuf {
    let dir = scratch(set);
    for e in std::fs::read_dir(fixture(set)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

use support::raw;

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

// ---------------------------------------------------------------------------------------------
// The examples

#[test]
fn every_example_explains_its_arguments() {
    for name in ["processes", "vmas", "fds", "read_memory", "edit_image", "pagemap_loop", "archive", "errors", "cookies", "dump_live"] {
        let out = run(name, &[]);
        assert_eq!(out.status.code(), Some(2), "{name} without arguments");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: "), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `processes`' line for a task, from the images.
fn expected_process_line(dir: &Path, pid: u32, ppid: u32) -> String {
    let (state, comm) = raw::core(dir, pid);
    let state = TaskState(state).to_string();
    format!("{pid:>7} {ppid:>7} {state:<8} {:<16} {}", String::from_utf8_lossy(&comm), quote_args(&raw::argv(dir, pid)))
}

#[test]
fn processes_shows_each_task_with_its_state_and_command_line() {
    for set in SETS {
        let dir = fixture(set);
        let out = run_ok("processes", &[&dir]);
        let got = lines(&out);
        assert_eq!(got[0], format!("{:>7} {:>7} {:<8} {:<16} COMMAND", "PID", "PPID", "STATE", "COMM"), "{set}");
        let tree = raw::pstree(&dir);
        assert_eq!(got.len(), 1 + tree.len(), "{set}: {out}");
        for (line, &(pid, ppid)) in got[1..].iter().zip(&tree) {
            assert_eq!(*line, expected_process_line(&dir, pid, ppid), "{set}");
        }
        // The same pids and command names as CRIU's crit (`crit x DIR ps`, in tree order).
        let mut crit: Vec<(u32, String)> = reference(set, "x-ps.txt")
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].parse().unwrap(), f[3].to_string())
            })
            .collect();
        let mut ours: Vec<(u32, String)> =
            got[1..].iter().map(|l| l.split_whitespace().collect::<Vec<_>>()).map(|f| (f[0].parse().unwrap(), f[3].to_string())).collect();
        crit.sort();
        ours.sort();
        assert_eq!(ours, crit, "{set}");
    }
    // What the fixtures were made from (testdata/images/MANIFEST.md).
    assert!(run_ok("processes", &[&fixture("sleep")]).contains(" alive    sleep            /bin/sleep 1000\n"));
}

#[test]
fn vmas_shows_each_vma_with_the_pages_the_pagemap_holds() {
    for (set, pid) in [("sleep", 20292), ("fdzoo", 20321), ("proctree", 20374)] {
        let dir = fixture(set);
        let out = run_ok("vmas", &[&dir, &pid.to_string()]);
        let got = lines(&out);
        let (_, vmas) = raw::mm(&dir, pid);
        let (_, runs) = raw::pagemap(&dir, pid);
        assert_eq!(got.len(), 2 + vmas.len(), "{set}: {out}");
        // crit's `x mems`: the path of every file mapping, by start address.
        let crit = reference(set, "x-mems.txt");
        let crit_names: Vec<(u64, String)> = crit
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let (range, rest) = l.split_once(' ')?;
                let start = u64::from_str_radix(range.split_once('-')?.0, 16).ok()?;
                let name = rest.trim().split_once(' ').map(|(_, n)| n)?.split(" + ").next()?.trim_end_matches(" (s)").to_string();
                Some((start, name))
            })
            .collect();
        let (mut total, mut dumped) = (0, 0);
        for (line, &(start, end, prot, flags)) in got[1..].iter().zip(&vmas) {
            let perms: String = [(prot & 1 != 0, 'r'), (prot & 2 != 0, 'w'), (prot & 4 != 0, 'x')]
                .iter()
                .map(|&(on, c)| if on { c } else { '-' })
                .chain(std::iter::once(if flags & 1 != 0 { 's' } else { 'p' }))
                .collect();
            let pages = (end - start) / raw::PAGE;
            let resident: u64 = runs
                .iter()
                .map(|r| (r.end().min(end).saturating_sub(r.vaddr.max(start))) / raw::PAGE)
                .sum();
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                f[..5],
                [format!("{start:x}"), format!("{end:x}"), perms, pages.to_string(), resident.to_string()],
                "{set}: {line}"
            );
            // File mappings are named by their path, as crit names them.
            if let Some((_, name)) = crit_names.iter().find(|(s, n)| *s == start && n.starts_with('/')) {
                assert!(line.contains(&format!(" {name}")), "{set}: {line} should name {name}");
            }
            total += pages;
            dumped += resident;
        }
        assert_eq!(got.last().unwrap(), &format!("{total} pages mapped, {dumped} dumped"), "{set}");
        // Every pagemap entry is inside a VMA, so the dumped pages add up to the pagemap's.
        assert_eq!(dumped, runs.iter().map(|r| r.nr_pages).sum::<u64>(), "{set}");
    }
    let sleep = run_ok("vmas", &[&fixture("sleep"), &"20292"]);
    assert!(sleep.contains(" [heap]\n") && sleep.contains(" [stack]\n") && sleep.contains(" [vdso]\n"), "{sleep}");
}

#[test]
fn fds_describes_each_descriptor_by_its_type() {
    let dir = fixture("fdzoo");
    let pid = 20321;
    let out = run_ok("fds", &[&dir, &pid.to_string()]);
    let got = lines(&out);

    // fdinfo-<files_id>.img → files.img (and memfd.img for memfd names), through the views.
    let ids = raw::read(&dir, &format!("ids-{pid}.img"));
    let files_id = view::TaskKobjIdsEntry::parse(raw::messages(&ids)[0]).unwrap().files_id();
    let fdinfo = raw::read(&dir, &format!("fdinfo-{files_id}.img"));
    let fds: Vec<(u32, u32)> = raw::messages(&fdinfo).iter().map(|m| view::FdinfoEntry::parse(m).unwrap()).map(|e| (e.fd(), e.id())).collect();
    let files_img = raw::read(&dir, "files.img");
    let files: Vec<view::FileEntry<'_>> = raw::messages(&files_img).iter().map(|m| view::FileEntry::parse(m).unwrap()).collect();
    let memfd_img = raw::read(&dir, "memfd.img");
    let memfds: Vec<view::MemfdInodeEntry<'_>> = raw::messages(&memfd_img).iter().map(|m| view::MemfdInodeEntry::parse(m).unwrap()).collect();
    assert_eq!(got.len(), fds.len(), "{out}");

    for (line, &(fd, id)) in got.iter().zip(&fds) {
        let prefix = |kind: &str| format!("{fd:>3} {kind:<8} ");
        let file = files.iter().find(|f| f.id() == id).unwrap();
        match file.type_() {
            FdTypes::REG => {
                let r = file.reg().unwrap();
                assert!(line.starts_with(&format!("{}{}", prefix("file"), String::from_utf8_lossy(r.name()))), "{line}");
                assert!(line.ends_with(&format!("flags={:#x} pos={}", r.flags(), r.pos())), "{line}");
            }
            FdTypes::PIPE => assert_eq!(*line, format!("{}pipe:[{}] flags={:#x}", prefix("pipe"), file.pipe().unwrap().pipe_id(), file.pipe().unwrap().flags())),
            FdTypes::UNIXSK => {
                let u = file.usk().unwrap();
                assert!(line.starts_with(&prefix("unix")) && line.contains(&format!(" ino={} peer={}", u.ino(), u.peer())), "{line}");
            }
            FdTypes::EVENTFD => assert_eq!(*line, format!("{}counter={}", prefix("eventfd"), file.efd().unwrap().counter())),
            FdTypes::MEMFD => {
                let inode = file.memfd().unwrap().inode_id();
                let m = memfds.iter().find(|m| m.inode_id() == u64::from(inode)).unwrap();
                assert_eq!(*line, format!("{}memfd:{} size={}", prefix("memfd"), String::from_utf8_lossy(m.name()), m.size()));
            }
            FdTypes::PIDFD => assert_eq!(*line, format!("{}pid={}", prefix("pidfd"), file.pidfd().unwrap().nspid())),
            FdTypes::FIFO => assert!(line.starts_with(&prefix("fifo")), "{line}"),
            FdTypes::TIMERFD => assert!(line.starts_with(&prefix("timerfd")), "{line}"),
            FdTypes::SIGNALFD => assert_eq!(*line, format!("{}sigmask={:#x}", prefix("signalfd"), file.sgfd().unwrap().sigmask())),
            FdTypes::EVENTPOLL => assert!(line.starts_with(&prefix("epoll")), "{line}"),
            FdTypes::INOTIFY => assert_eq!(*line, format!("{}{} watches", prefix("inotify"), file.ify().unwrap().wd().len())),
            FdTypes::NETLINKSK => assert!(line.starts_with(&prefix("netlink")), "{line}"),
            FdTypes::PACKETSK => assert!(line.starts_with(&prefix("packet")), "{line}"),
            other => panic!("fdzoo has no fd of type {other:?}: {line}"),
        }
    }
    // The fds crit lists, with what crit says of them (paths, pipe ids, unix socket inodes).
    let crit = reference("fdzoo", "x-fds.txt");
    let crit_fds: Vec<(u32, &str)> = crit
        .lines()
        .filter_map(|l| {
            let (n, what) = l.trim().split_once(": ")?;
            Some((n.parse().ok()?, what))
        })
        .collect();
    assert_eq!(crit_fds.len(), got.len());
    for ((fd, what), line) in crit_fds.iter().zip(&got) {
        assert!(line.starts_with(&format!("{fd:>3} ")), "{line}");
        if what.starts_with('/') {
            assert!(line.contains(what), "{line} should name {what}");
        } else if let Some(id) = what.strip_prefix("pipe[").and_then(|w| w.strip_suffix(']')) {
            assert!(line.contains(&format!("pipe:[{id}]")), "{line}");
        } else if let Some(inner) = what.strip_prefix("unix[") {
            let ino = inner.split(' ').next().unwrap();
            assert!(line.contains(&format!("ino={ino} ")), "{line}");
        }
    }
    // The fixture's own description (testdata/images/MANIFEST.md).
    assert!(out.contains(" eventfd  counter=42\n"), "{out}");
}

/// Parses `read_memory`'s hexdump back into `(address of the first line, bytes)`.
fn parse_hexdump(out: &str) -> (u64, Vec<u8>) {
    let mut first = None;
    let mut bytes = Vec::new();
    for (i, line) in out.lines().enumerate() {
        let (addr, rest) = line.split_once("  ").unwrap();
        let addr = u64::from_str_radix(addr, 16).unwrap();
        assert_eq!(addr, first.unwrap_or(addr) + 16 * i as u64, "{line}");
        first.get_or_insert(addr);
        let (hex, text) = rest.split_once("  |").unwrap();
        let row: Vec<u8> = hex.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
        let shown: String = row.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        assert_eq!(text.strip_suffix('|').unwrap(), shown, "{line}");
        bytes.extend(row);
    }
    (first.unwrap(), bytes)
}

#[test]
fn read_memory_prints_the_stored_bytes_at_an_address() {
    for (set, pid) in [("sleep", 20292), ("proctree", 20380), ("fdzoo", 20321)] {
        let dir = fixture(set);
        let ((arg_start, _), _) = raw::mm(&dir, pid);
        // The default length, 64 bytes, from the start of argv.
        let (addr, bytes) = parse_hexdump(&run_ok("read_memory", &[&dir, &pid.to_string(), &format!("{arg_start:#x}")]));
        assert_eq!(addr, arg_start);
        assert_eq!(bytes, raw::private_bytes(&dir, pid, arg_start, 64).unwrap(), "{set}");
        // A whole page of the first dumped run, given in decimal.
        let (_, runs) = raw::pagemap(&dir, pid);
        let run = runs.iter().find(|r| r.flags & raw::PE_PRESENT != 0).unwrap();
        let (addr, bytes) = parse_hexdump(&run_ok("read_memory", &[&dir, &pid.to_string(), &run.vaddr.to_string(), &"4096"]));
        assert_eq!(addr, run.vaddr);
        assert_eq!(bytes, raw::private_bytes(&dir, pid, run.vaddr, 4096).unwrap(), "{set}");
    }
    // The first page of `/usr/bin/sleep`'s mapping was never written: it is not in the checkpoint
    // but in the file, and the error says so.
    let dir = fixture("sleep");
    let (_, vmas) = raw::mm(&dir, 20292);
    let out = run("read_memory", &[&dir, &"20292", &format!("{:#x}", vmas[0].0)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/usr/bin/sleep") && err.contains("offset 0x0"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn edit_image_changes_the_one_field_and_nothing_else() {
    let input = fixture("sleep").join("core-20292.img");
    let original = std::fs::read(&input).unwrap();
    let dir = scratch("edit");

    // Renamed: the new name in the output, everything else as it was.
    let out_path = dir.join("core-20292.img");
    let out = run_ok("edit_image", &[&input, &out_path, &"napping"]);
    assert_eq!(out, format!("core-20292.img: comm \"sleep\" -> \"napping\"; {} -> {} bytes\n", original.len(), original.len() + 2));
    let edited = std::fs::read(&out_path).unwrap();
    assert_eq!(edited.len(), original.len() + 2);
    assert_eq!(edited[..8], original[..8], "the magic words");
    let (before, after) = (raw::messages(&original), raw::messages(&edited));
    assert_eq!(after.len(), 1);
    let (before, after) = (view::CoreEntry::parse(before[0]).unwrap().to_msg(), view::CoreEntry::parse(after[0]).unwrap().to_msg());
    assert_eq!(after.tc.as_ref().unwrap().comm, b"napping");
    let mut restored = after.clone();
    restored.tc.as_mut().unwrap().comm = b"sleep".to_vec();
    assert_eq!(restored, before, "only comm changed");
    // CRIU's crit reads the result back: its decode of the original, with the new name in the
    // task core (`tc.comm`) and the thread core's own `comm` as it was.
    let json = Command::new(crit_ref()).args(["decode", "-i"]).arg(&out_path).output().unwrap();
    assert!(json.status.success(), "crit decode: {}", String::from_utf8_lossy(&json.stderr));
    let want = reference("sleep", "core-20292.img.plain.json").replacen("\"comm\": \"sleep\"", "\"comm\": \"napping\"", 1);
    assert_ne!(want, reference("sleep", "core-20292.img.plain.json"));
    assert_eq!(String::from_utf8_lossy(&json.stdout).trim_end(), want.trim_end());

    // The same name again: the same bytes.
    let same = dir.join("same.img");
    run_ok("edit_image", &[&input, &same, &"sleep"]);
    assert!(std::fs::read(&same).unwrap() == original, "an unchanged image is written back byte for byte");

    // An image of another kind is refused by its kind, and nothing is written.
    let mm = fixture("sleep").join("mm-20292.img");
    let refused = dir.join("refused.img");
    let out = run("edit_image", &[&mm, &refused, &"x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("this is a MM image"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!refused.exists());
}

#[test]
fn pagemap_loop_walks_every_entry_without_allocating() {
    for (set, pid) in [("sleep", 20292), ("fdzoo", 20321), ("proctree", 20374), ("ipcns", 1)] {
        let dir = fixture(set);
        let out = run_ok("pagemap_loop", &[&dir.join(format!("pagemap-{pid}.img"))]);
        let got = lines(&out);
        let (pages_id, runs) = raw::pagemap(&dir, pid);
        assert_eq!(got[0], format!("pages_id {pages_id}"));
        assert_eq!(got.len(), 2 + runs.len(), "{set}");
        for (line, r) in got[1..].iter().zip(&runs) {
            let what = match r.flags {
                f if f & raw::PE_PARENT != 0 => "parent",
                f if f & raw::PE_PRESENT != 0 && f & raw::PE_LAZY != 0 => "present lazy",
                f if f & raw::PE_PRESENT != 0 => "present",
                _ => "lazy",
            };
            assert_eq!(*line, format!("{:x} {} {what}", r.vaddr, r.nr_pages), "{set}");
        }
        let pages: u64 = runs.iter().map(|r| r.nr_pages).sum();
        let present: u64 = runs.iter().filter(|r| r.flags & raw::PE_PRESENT != 0).map(|r| r.nr_pages).sum();
        assert_eq!(got.last().unwrap(), &format!("{} entries, {pages} pages, {present} present; 0 allocations in the loop", runs.len()), "{set}");
        // The pages file holds exactly the present pages.
        let pages_len = std::fs::metadata(dir.join(format!("pages-{pages_id}.img"))).unwrap().len();
        assert_eq!(present * raw::PAGE, pages_len, "{set}");
    }
}

/// A checkpoint archive as Podman exports it: the images under `checkpoint/`, the engine's files
/// beside them, gzip-compressed.
fn podman_tar_gz(set: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    add("config.dump", br#"{"id": "0123", "rootfsImageName": "docker.io/library/debian:12"}"#);
    add("spec.dump", br#"{"ociVersion": "1.1.0"}"#);
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture(set)).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in &names {
        add(&format!("checkpoint/{}", p.file_name().unwrap().to_str().unwrap()), &std::fs::read(p).unwrap());
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn archive_lists_the_processes_of_a_tar_gz() {
    for set in ["sleep", "proctree", "pty-shelljob"] {
        let dir = scratch("archive");
        let path = dir.join("checkpoint.tar.gz");
        std::fs::write(&path, podman_tar_gz(set)).unwrap();
        let out = run_ok("archive", &[&path]);
        let got = lines(&out);
        let images = std::fs::read_dir(fixture(set)).unwrap().count();
        assert_eq!(got[0], format!("{}: a tar.gz archive, {images} images, other members: config.dump, spec.dump", path.display()));
        assert_eq!(got[1], format!("{:>7} {:>7} {:<8} COMMAND", "PID", "PPID", "STATE"));
        let tree = raw::pstree(&fixture(set));
        assert_eq!(got.len(), 2 + tree.len());
        for (line, &(pid, ppid)) in got[2..].iter().zip(&tree) {
            let state = TaskState(raw::core(&fixture(set), pid).0).to_string();
            assert_eq!(*line, format!("{pid:>7} {ppid:>7} {state:<8} {}", quote_args(&raw::argv(&fixture(set), pid))), "{set}");
        }
    }
}

#[test]
fn errors_tells_a_missing_image_from_a_corrupt_one() {
    let pid = "20292";
    let expect = |dir: &Path, pid: &str, status: i32, message: &str| {
        let out = run("errors", &[&dir, &pid]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{}: {err}", dir.display());
        assert!(err.starts_with(message), "{}: {err:?} should start with {message:?}", dir.display());
    };

    // Everything there.
    let ok = copy_set("sleep");
    let (_, comm) = raw::core(&ok, 20292);
    let line = format!("20292 {}: {}\n", String::from_utf8_lossy(&comm), quote_args(&raw::argv(&ok, 20292)));
    assert_eq!(String::from_utf8_lossy(&run("errors", &[&ok, &pid]).stdout), line);
    assert_eq!(line, "20292 sleep: /bin/sleep 1000\n");

    // No such checkpoint.
    expect(&ok.join("nowhere"), pid, 10, &format!("cannot read {}", ok.join("nowhere").display()));
    // No such process: the message lists the ones there are.
    expect(&ok, "1", 13, "no process 1 in the checkpoint; it has [20292]");

    // Missing images: the process tree, the memory map, the pagemap.
    for image in ["pstree.img", "mm-20292.img", "pagemap-20292.img"] {
        let dir = copy_set("sleep");
        std::fs::remove_file(dir.join(image)).unwrap();
        expect(&dir, pid, 11, &format!("missing image {image}: "));
    }

    // Corrupt images, cut at half their length: the message names the entry and byte.
    for image in ["pstree.img", "mm-20292.img", "pagemap-20292.img"] {
        let dir = copy_set("sleep");
        let bytes = std::fs::read(dir.join(image)).unwrap();
        std::fs::write(dir.join(image), &bytes[..bytes.len() / 2]).unwrap();
        expect(&dir, pid, 12, &format!("corrupt image {image} (entries): entry "));
    }
    // A corrupt magic: the image's header, not an entry.
    let dir = copy_set("sleep");
    let mut bytes = std::fs::read(dir.join("mm-20292.img")).unwrap();
    bytes[4] ^= 0xff;
    std::fs::write(dir.join("mm-20292.img"), &bytes).unwrap();
    expect(&dir, pid, 12, "corrupt image mm-20292.img (header): byte 4: the magic is ");

    // Pages missing from the pages file: the memory is not readable, and the error says why.
    let dir = copy_set("sleep");
    std::fs::write(dir.join("pages-1.img"), b"").unwrap();
    expect(&dir, pid, 14, "the command line is not in the checkpoint: ");
}

/// CRC32C (Castagnoli, reflected polynomial 0x82f63b78), bit by bit.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

/// The build-id `readelf -n` prints, if any.
fn readelf_build_id(path: &Path) -> Option<String> {
    let out = Command::new("readelf").arg("-n").arg(path).output().unwrap_or_else(|e| {
        panic!("this test compares build-ids with binutils' readelf, which cannot run ({e}): apt-get install binutils")
    });
    assert!(out.status.success(), "readelf -n {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
}

#[test]
fn cookies_agree_with_readelf_and_crc32c_by_hand() {
    assert_eq!(crc32c(b"123456789"), 0xe306_9283, "the CRC-32C check value");
    let dir = scratch("cookies");
    let check = dir.join("check.txt");
    std::fs::write(&check, b"123456789").unwrap();
    // 3 MiB of a simple generator: more than CRIU's 1 MiB build-id window and than one read.
    let big = dir.join("big.bin");
    let mut x = 0x1234_5678u32;
    let data: Vec<u8> = (0..3 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(&big, &data).unwrap();
    let elves: Vec<PathBuf> = [Path::new("/usr/bin/sleep"), Path::new("/bin/sh"), &example("cookies")]
        .into_iter()
        .filter(|p| p.is_file())
        .map(Path::to_path_buf)
        .collect();
    assert!(elves.len() >= 2, "no ELF files to test with: {elves:?}");

    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&check, &big];
    args.extend(elves.iter().map(|p| p as &dyn AsRef<std::ffi::OsStr>));
    let out = run_ok("cookies", &args);
    let got = lines(&out);
    assert_eq!(got.len(), 2 + elves.len());
    assert!(got[0].starts_with(&format!("{} build-id none (not an ELF file) crc32c e3069283 ", check.display())), "{}", got[0]);
    assert!(got[1].starts_with(&format!("{} build-id none (not an ELF file) crc32c {:08x} ", big.display(), crc32c(&data))), "{}", got[1]);
    for (line, elf) in got[2..].iter().zip(&elves) {
        let id = readelf_build_id(elf).unwrap_or_else(|| panic!("{} has no build-id", elf.display()));
        let crc = crc32c(&std::fs::read(elf).unwrap());
        assert!(line.starts_with(&format!("{} build-id {id} crc32c {crc:08x} (read ", elf.display())), "{line}");
    }
}

#[test]
fn dump_live_reads_the_marker_back_from_the_images_it_wrote() {
    let dir = scratch("dump-live").join("memdump");
    let marker = format!("marker {} in the child's heap", std::process::id());
    let out = run_ok("dump_live", &[&dir, &marker]);
    // pid N: P pages in DIR (pagemap-N.img, pages-1.img); read back "MARKER" at 0xADDR
    let line = out.trim_end();
    let pid: u32 = line.strip_prefix("pid ").unwrap().split(':').next().unwrap().parse().unwrap();
    let addr = u64::from_str_radix(line.rsplit_once(" at 0x").unwrap().1, 16).unwrap();
    assert!(line.contains(&format!("read back {marker:?}")), "{line}");

    // The directory holds the task's pagemap and pages, nothing else, and they hold the marker.
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, [format!("pagemap-{pid}.img"), "pages-1.img".to_string()]);
    let (pages_id, runs) = raw::pagemap(&dir, pid);
    assert_eq!(pages_id, 1);
    let present: u64 = runs.iter().filter(|r| r.flags & raw::PE_PRESENT != 0).map(|r| r.nr_pages).sum();
    assert!(line.contains(&format!(": {present} pages in ")), "{line}");
    assert_eq!(raw::private_bytes(&dir, pid, addr, marker.len() as u64).as_deref(), Some(marker.as_bytes()));
    // The target was reaped.
    assert!(!Path::new(&format!("/proc/{pid}")).exists() || std::fs::read_to_string(format!("/proc/{pid}/cmdline")).map_or(true, |c| !c.contains("--child")));
}
