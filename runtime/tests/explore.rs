//! `criu_image::explore` and checkpoint archives: `crit x` views byte-identical to CRIU 4.2.1's
//! crit on every fixture (as a directory and as tar, tar.gz and tar.zst archives in the layouts
//! container engines write), the cases where crit crashes (several roots, missing parents,
//! pre-4.2 pagemaps, pages past the last VMA), the JSON schemas, sockets, archive limits, and no
//! panic on corrupted images.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use criu_image::checkpoint::{Checkpoint, CheckpointError, Format, OpenOptions};
use criu_image::explore;
use criu_image::image::{Image, ImageWriter, Kind};
use criu_image::proto::owned;
use criu_image::proto::support::json_in::{self, Value};
use criu_image::proto::view;

// ---------------------------------------------------------------------------------------------
// Helpers

const SETS: [&str; 7] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo"];
const VIEWS: [&str; 4] = ["ps", "fds", "mems", "rss"];

fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "explore-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of a fixture set to edit.
fn copy_set(set: &str) -> PathBuf {
    let dir = scratch(set);
    for e in std::fs::read_dir(support::fixture(set)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

fn reference(set: &str, view: &str) -> Vec<u8> {
    std::fs::read(support::root().join("testdata/crit-reference").join(set).join(format!("x-{view}.txt"))).unwrap()
}

/// The text form of `view`, as `crit x` prints it.
fn render(ckpt: &Checkpoint, view: &str) -> Vec<u8> {
    let index = ckpt;
    let mut out = Vec::new();
    match view {
        "ps" => explore::write_ps_text(&explore::ps(index).unwrap().tasks, &mut out).unwrap(),
        "fds" => explore::write_fds_text(&explore::fds(index).unwrap().tasks, &mut out).unwrap(),
        "mems" => explore::write_mems_text(&explore::mems(index).unwrap().tasks, &mut out).unwrap(),
        "rss" => explore::write_rss_text(&explore::rss(index).unwrap().tasks, &mut out).unwrap(),
        "sockets" => explore::write_sockets_text(&explore::sockets(index).unwrap().tasks, &mut out).unwrap(),
        _ => unreachable!(),
    }
    out
}

fn json(ckpt: &Checkpoint, view: &str) -> Value {
    let index = ckpt;
    let mut out = Vec::new();
    match view {
        "ps" => explore::write_ps_json(&explore::ps(index).unwrap(), &mut out).unwrap(),
        "fds" => explore::write_fds_json(&explore::fds(index).unwrap(), &mut out).unwrap(),
        "mems" => explore::write_mems_json(&explore::mems(index).unwrap(), &mut out).unwrap(),
        "rss" => explore::write_rss_json(&explore::rss(index).unwrap(), &mut out).unwrap(),
        "sockets" => explore::write_sockets_json(&explore::sockets(index).unwrap(), &mut out).unwrap(),
        _ => unreachable!(),
    }
    assert_eq!(out.last(), Some(&b'\n'));
    json_in::parse(&out).unwrap_or_else(|e| panic!("{view}: not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

fn text_diff(what: &str, got: &[u8], want: &[u8]) {
    if got != want {
        let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
        for (i, (a, b)) in g.lines().zip(w.lines()).enumerate() {
            assert_eq!(a, b, "{what}: first difference at line {}", i + 1);
        }
        panic!("{what}: {} lines, crit printed {}", g.lines().count(), w.lines().count());
    }
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    /// `checkpoint/<images>` plus `config.dump` and `spec.dump`, as Podman and CRI-O write.
    Container,
    /// The images at the top.
    Flat,
    /// `./<set>/<images>`, as `tar -C .. -cf x.tar <set>` writes.
    Nested,
}

/// A tar of a checkpoint directory in `layout`.
fn tar_of(dir: &Path, layout: Layout) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let set = dir.file_name().unwrap().to_str().unwrap().to_string();
    let add = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    names.sort();
    if let Layout::Container = layout {
        add(&mut b, "config.dump", br#"{"id": "0123", "rootfsImageName": "docker.io/library/python:3.11"}"#);
        add(&mut b, "spec.dump", br#"{"ociVersion": "1.1.0"}"#);
        // Directory entries and other members are skipped.
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, "checkpoint/", &[][..]).unwrap();
    }
    for p in names {
        let name = p.file_name().unwrap().to_str().unwrap();
        let path = match layout {
            Layout::Container => format!("checkpoint/{name}"),
            Layout::Flat => name.to_string(),
            Layout::Nested => format!("./{set}/{name}"),
        };
        add(&mut b, &path, &std::fs::read(&p).unwrap());
    }
    if let Layout::Container = layout {
        add(&mut b, "rootfs-diff.tar", b"");
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn open_bytes(bytes: Vec<u8>) -> Result<Checkpoint, CheckpointError> {
    Checkpoint::from_archive_bytes(Path::new("test.tar"), bytes, &OpenOptions::default())
}

/// Re-encodes an image entry by entry, letting `edit` change each owned message.
fn rewrite_entries<M: criu_image::proto::support::fields::Message>(
    path: &Path,
    kind: Kind,
    mut edit: impl FnMut(usize, &mut M) -> bool,
) {
    let bytes = std::fs::read(path).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut w = ImageWriter::new(Vec::new(), kind).unwrap();
    for e in img.entries() {
        let e = e.unwrap();
        let mut m = M::decode(e.message).unwrap();
        if edit(e.index, &mut m) {
            w.write_message(&m).unwrap();
        }
    }
    std::fs::write(path, w.into_inner()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// crit-identical text

#[test]
fn views_match_crit_on_every_fixture() {
    for set in SETS {
        let ckpt = Checkpoint::open(&support::fixture(set)).unwrap();
        assert_eq!(ckpt.format(), Format::Directory);
        for view in VIEWS {
            text_diff(&format!("{set} {view}"), &render(&ckpt, view), &reference(set, view));
        }
    }
}

#[test]
fn archives_in_every_layout_match_the_directory() {
    for set in ["sleep", "proctree", "ipcns"] {
        let dir = support::fixture(set);
        for layout in [Layout::Container, Layout::Flat, Layout::Nested] {
            let tar = tar_of(&dir, layout);
            for (format, bytes) in [(Format::Tar, tar.clone()), (Format::TarGzip, gzip(&tar)), (Format::TarZstd, zstd(&tar))] {
                let what = format!("{set} {layout:?} {format}");
                let ckpt = open_bytes(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(ckpt.format(), format, "{what}");
                let direct = Checkpoint::open(&dir).unwrap();
                assert_eq!(ckpt.names().collect::<Vec<_>>(), direct.names().collect::<Vec<_>>(), "{what}");
                for view in VIEWS {
                    text_diff(&format!("{what} {view}"), &render(&ckpt, view), &reference(set, view));
                }
                match layout {
                    Layout::Container => {
                        let extras: Vec<_> = ckpt.extra_names().collect();
                        assert_eq!(extras, ["config.dump", "rootfs-diff.tar", "spec.dump"], "{what}");
                        assert!(ckpt.extra_file("config.dump").unwrap().starts_with(b"{\"id\""));
                    }
                    _ => assert_eq!(ckpt.extra_names().count(), 0, "{what}"),
                }
            }
        }
    }
}

/// The pages files of `fdzoo` (8.1 MiB) and `ipcns` (5.8 MiB) are large enough to stay
/// compressed when a tar.gz is opened: ranges of them, task memory (every VMA, read through the
/// checkpoint's range reads), command lines and environments read as the directory has them,
/// before and after the whole file is asked for.
#[test]
fn large_members_of_a_tar_gz_read_in_ranges_as_the_directory_has_them() {
    use criu_image::memory::Memory;
    use std::ops::ControlFlow;
    for set in ["fdzoo", "ipcns"] {
        let dir = support::fixture(set);
        let direct = Checkpoint::open(&dir).unwrap();
        let gz = open_bytes(gzip(&tar_of(&dir, Layout::Container))).unwrap();
        let large: Vec<&str> = direct.names().filter(|n| direct.file_len(n).unwrap() >= 4 << 20).collect();
        assert!(!large.is_empty(), "{set}: no file of 4 MiB or more");
        let range = |c: &Checkpoint, name: &str, off: u64, len: u64| {
            let mut out = Vec::new();
            c.read_range(name, off, len, &mut |b| {
                out.extend_from_slice(b);
                ControlFlow::Continue(())
            })
            .unwrap_or_else(|e| panic!("{set} {name} {off}+{len}: {e}"));
            out
        };
        let mem = |c: &Checkpoint| {
            let m = Memory::open(c);
            let mut out = Vec::new();
            for (pid, _) in m.tasks().unwrap() {
                let t = m.task(pid).unwrap();
                out.push((pid, t.cmdline().ok(), t.environ().ok()));
                for v in t.vmas().collect::<Vec<_>>() {
                    if t.check(v.start, v.end - v.start).is_ok() {
                        let bytes = t.read(v.start, v.end - v.start).unwrap();
                        out.push((pid, Some(vec![bytes]), None));
                    }
                }
            }
            out
        };
        // Task memory first, while the pages files are still compressed.
        let want = mem(&direct);
        assert!(want.iter().any(|(_, c, _)| c.as_ref().is_some_and(|c| !c.is_empty())), "{set}: no command line read");
        assert!(mem(&gz) == want, "{set}: task memory differs");
        for name in &large {
            let whole = direct.file(name).unwrap();
            let n = whole.len() as u64;
            let mut cuts = vec![(0, 1), (1, 4095), (4 << 20, 4096), ((4 << 20) - 1, 2), (n - 1, 1), (n, 0), (0, n)];
            cuts.extend((0..n).step_by(1_234_567).map(|o| (o, 70_000.min(n - o))));
            for &(off, len) in &cuts {
                assert!(range(&gz, name, off, len) == whole[off as usize..(off + len) as usize], "{set} {name} {off}+{len}");
            }
            assert!(gz.read_range(name, n, 1, &mut |_| ControlFlow::Continue(())).is_err(), "{set} {name}: past the end");
            assert!(gz.file(name).unwrap() == whole, "{set} {name}: whole");
            assert!(range(&gz, name, 5, 10) == whole[5..15], "{set} {name}: a range of the whole");
        }
    }
}

#[test]
fn archive_files_are_recognised_by_magic_not_name() {
    let dir = scratch("archive-files");
    let tar = tar_of(&support::fixture("fdzoo"), Layout::Container);
    for (name, bytes, format) in [
        ("a.bin", tar.clone(), Format::Tar),
        ("b.tar", gzip(&tar), Format::TarGzip),
        ("c", zstd(&tar_of(&support::fixture("sleep"), Layout::Container)), Format::TarZstd),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let ckpt = Checkpoint::open(&p).unwrap();
        assert_eq!(ckpt.format(), format);
        let set = if name == "c" { "sleep" } else { "fdzoo" };
        for view in VIEWS {
            text_diff(&format!("{name} {view}"), &render(&ckpt, view), &reference(set, view));
        }
    }
}

#[test]
fn zstd_archives_of_several_frames_and_skippable_frames() {
    let tar = tar_of(&support::fixture("sleep"), Layout::Flat);
    let (a, b) = tar.split_at(tar.len() / 3);
    let mut z = zstd(a);
    // A skippable frame (magic 0x184d2a5?, 4-byte length) between data frames.
    z.extend_from_slice(&[0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    z.extend_from_slice(&zstd(b));
    let ckpt = open_bytes(z).unwrap();
    text_diff("ps", &render(&ckpt, "ps"), &reference("sleep", "ps"));
    // And gzip files of several members.
    let mut g = gzip(a);
    g.extend_from_slice(&gzip(b));
    let ckpt = open_bytes(g).unwrap();
    text_diff("mems", &render(&ckpt, "mems"), &reference("sleep", "mems"));
}

#[test]
fn decompressed_size_is_bounded() {
    let tar = tar_of(&support::fixture("sleep"), Layout::Flat);
    let limit = OpenOptions { max_decompressed: tar.len() as u64 - 1, ..Default::default() };
    for bytes in [gzip(&tar), zstd(&tar)] {
        let err = Checkpoint::from_archive_bytes(Path::new("big.tar.x"), bytes.clone(), &limit).unwrap_err();
        assert!(matches!(err, CheckpointError::TooLarge { limit: l, .. } if l == tar.len() as u64 - 1), "{err}");
        let msg = err.to_string();
        assert!(msg.starts_with("big.tar.x: the archive decompresses to more than"), "{msg}");
        assert!(msg.contains("--max-archive-size"), "{msg}");
        // Exactly the size is fine.
        let ok = OpenOptions { max_decompressed: tar.len() as u64, ..Default::default() };
        Checkpoint::from_archive_bytes(Path::new("x"), bytes, &ok).unwrap();
    }
}

#[test]
fn broken_archives_are_errors_that_say_what() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"hello".to_vec(), "not a checkpoint directory nor a checkpoint archive"),
        (gzip(b"not a tar at all, just text"), "does not hold a tar file"),
        (vec![0x1f, 0x8b, 8, 0, 0, 0], "decompressing"),
        (vec![0x28, 0xb5, 0x2f, 0xfd, 0xff], "zstd frame at byte 0"),
        ({
            let t = tar_of(&support::fixture("sleep"), Layout::Flat);
            t[..t.len() / 2].to_vec()
        }, "truncated"),
        ({
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_ustar();
            h.set_size(3);
            h.set_cksum();
            b.append_data(&mut h, "readme", &b"abc"[..]).unwrap();
            b.into_inner().unwrap()
        }, "no checkpoint images"),
    ];
    for (bytes, want) in cases {
        let err = open_bytes(bytes).unwrap_err().to_string();
        assert!(err.starts_with("test.tar: "), "{err}");
        assert!(err.contains(want), "{err:?} should say {want:?}");
    }
    let err = Checkpoint::open(Path::new("/nonexistent/ckpt")).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/ckpt: "), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Where crit breaks

fn pstree(path: &Path, tasks: &[(u32, u32)]) {
    let mut w = ImageWriter::new(Vec::new(), Kind::Pstree).unwrap();
    for &(pid, ppid) in tasks {
        w.write_message(&owned::PstreeEntry { pid, ppid, pgid: 20374, sid: 20374, threads: vec![pid], ..Default::default() })
            .unwrap();
    }
    std::fs::write(path.join("pstree.img"), w.into_inner()).unwrap();
}

fn ps_lines(ckpt: &Checkpoint) -> Vec<String> {
    String::from_utf8(render(ckpt, "ps")).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn ps_shows_every_root_and_orphan() {
    let dir = copy_set("proctree");
    // 20376 is a second root (crit shows only the last root); 20377's parent is not dumped
    // (crit fails with KeyError).
    pstree(&dir, &[(20374, 0), (20375, 20374), (20376, 0), (20380, 20376), (20377, 99999), (20378, 20374)]);
    let ckpt = Checkpoint::open(&dir).unwrap();
    assert_eq!(
        ps_lines(&ckpt),
        [
            "    PID   PGID    SID   COMM",
            "  20374  20374  20374   bash",
            "  20375  20374  20374       sleep",
            "  20378  20374  20374       cat",
            "  20376  20374  20374   bash",
            "  20380  20374  20374       sleep",
            "  20377  20374  20374   sleep",
        ]
    );
    let problems: Vec<String> = explore::ps(&ckpt).unwrap().problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "pstree.img: several root tasks (ppid 0); all are shown",
            "pstree.img: task 20377 has parent 99999, which is not in the tree; it is shown as a root",
        ]
    );
}

#[test]
fn ps_survives_parent_cycles_repeated_pids_and_missing_cores() {
    let dir = copy_set("proctree");
    // 20375 <-> 20376 form a cycle; 20380 appears twice; 20378 has no core image.
    pstree(&dir, &[(20374, 0), (20375, 20376), (20376, 20375), (20380, 20374), (20380, 20374), (20378, 20374)]);
    std::fs::remove_file(dir.join("core-20378.img")).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let lines = ps_lines(&ckpt);
    assert_eq!(lines.len(), 7, "{lines:#?}");
    assert_eq!(lines[1], "  20374  20374  20374   bash");
    assert_eq!(lines[2], "  20380  20374  20374       sleep");
    assert_eq!(lines[3], "  20380  20374  20374       sleep");
    assert_eq!(lines[4], "  20378  20374  20374       ?");
    // The cycle is broken at the first task of the file that is in it.
    assert_eq!(lines[5], "  20375  20374  20374   sleep");
    assert_eq!(lines[6], "  20376  20374  20374       bash");
    let r = explore::ps(&ckpt).unwrap();
    assert!(r.problems.iter().any(|p| p.file == "core-20378.img"), "{:?}", r.problems);
}

#[test]
fn rss_reads_pagemaps_from_before_criu_4_2() {
    // CRIU < 4.2 wrote the page count in field 2 and had no field 5 (crit 4.2 fails with KeyError).
    let dir = copy_set("sleep");
    let bytes = std::fs::read(dir.join("pagemap-20292.img")).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut w = ImageWriter::new(Vec::new(), Kind::Pagemap).unwrap();
    for e in img.entries() {
        let e = e.unwrap();
        if e.index == 0 {
            w.write_entry(e.message).unwrap();
            continue;
        }
        let v = view::PagemapEntry::parse(e.message).unwrap();
        let mut m = v.to_msg();
        m.compat_nr_pages = u32::try_from(v.nr_pages().unwrap()).unwrap();
        m.nr_pages = None;
        w.write_message(&m).unwrap();
    }
    std::fs::write(dir.join("pagemap-20292.img"), w.into_inner()).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    text_diff("old pagemap rss", &render(&ckpt, "rss"), &reference("sleep", "rss"));
}

#[test]
fn rss_handles_pages_before_between_and_after_vmas() {
    let dir = copy_set("sleep");
    let bytes = std::fs::read(dir.join("pagemap-20292.img")).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let head = img.entries().next().unwrap().unwrap().message.to_vec();
    let mut w = ImageWriter::new(Vec::new(), Kind::Pagemap).unwrap();
    w.write_entry(&head).unwrap();
    for (vaddr, n) in [(0x1000u64, 1u64), (0x55fc46dc2000, 1), (0x55fc46dd0000, 2), (0xffff_ffff_ffff_f000, 1)] {
        w.write_message(&owned::PagemapEntry { vaddr, flags: Some(4), nr_pages: Some(n), ..Default::default() }).unwrap();
    }
    std::fs::write(dir.join("pagemap-20292.img"), w.into_inner()).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let text = String::from_utf8(render(&ckpt, "rss")).unwrap();
    assert_eq!(
        text,
        // Pages outside every VMA get no VMA column (crit fails with IndexError on the last).
        "20292\n\
         \t1000 / 1               \n\
         \t55fc46dc2000 / 1        55fc46dc2000 / 2        /usr/bin/sleep\n\
         \t                       \n\
         \t55fc46dd0000 / 2       \n\
         \tfffffffffffff000 / 1       \n"
    );
}

#[test]
fn a_file_id_nowhere_is_unknown_path() {
    // crit looks for ids missing from files.img in the legacy reg-files.img and fails.
    let dir = copy_set("sleep");
    rewrite_entries::<owned::MmEntry>(&dir.join("mm-20292.img"), Kind::Mm, |_, m| {
        m.exe_file_id = 4242;
        true
    });
    let ckpt = Checkpoint::open(&dir).unwrap();
    let text = String::from_utf8(render(&ckpt, "mems")).unwrap();
    assert!(text.starts_with("20292\n\texe                                     unknown path\n"), "{text}");
}

#[test]
fn missing_per_task_images_are_problems_not_failures() {
    let dir = copy_set("proctree");
    for f in ["ids-20375.img", "fs-20376.img", "mm-20377.img", "pagemap-20378.img"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("mm-20380.img"), b"\x19\x43\x56\x54\x20\x28\x49\x57\xff\xff").unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let index = &ckpt;
    let fds = explore::fds(index).unwrap();
    assert!(fds.problems.iter().any(|p| p.file == "ids-20375.img"), "{:?}", fds.problems);
    assert!(fds.problems.iter().any(|p| p.file == "fs-20376.img"), "{:?}", fds.problems);
    assert_eq!(fds.tasks.len(), 6);
    let mems = explore::mems(index).unwrap();
    assert!(mems.problems.iter().any(|p| p.file == "mm-20377.img"));
    let bad = mems.problems.iter().find(|p| p.file == "mm-20380.img").unwrap();
    assert!(bad.message.contains("entry 0"), "{bad}");
    let rss = explore::rss(index).unwrap();
    assert!(rss.problems.iter().any(|p| p.file == "pagemap-20378.img"));
}

// ---------------------------------------------------------------------------------------------
// JSON

fn num(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.parse().unwrap(),
        other => panic!("not a number: {other:?}"),
    }
}
/// An address of our reports: a hex string.
fn addr(v: &Value) -> u64 {
    let t = text(v);
    u64::from_str_radix(t.strip_prefix("0x").unwrap_or_else(|| panic!("{t} is not 0x-prefixed")), 16).unwrap()
}
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => String::from_utf8(s.clone()).unwrap(),
        other => panic!("not a string: {other:?}"),
    }
}
fn arr(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn json_forms_follow_their_schemas() {
    let ckpt = Checkpoint::open(&support::fixture("proctree")).unwrap();
    let ps = json(&ckpt, "ps");
    let tasks = arr(ps.get("tasks").unwrap());
    assert_eq!(tasks.len(), 6);
    assert_eq!(num(tasks[3].get("pid").unwrap()), 20380);
    assert_eq!(num(tasks[3].get("depth").unwrap()), 2);
    assert_eq!(text(tasks[3].get("comm").unwrap()), "sleep");
    assert_eq!(text(tasks[3].get("state").unwrap()), "alive");
    assert_eq!(arr(ps.get("problems").unwrap()).len(), 0);

    let fds = json(&ckpt, "fds");
    let t = &arr(fds.get("tasks").unwrap())[4];
    assert_eq!(num(t.get("pid").unwrap()), 20377);
    let fd1 = &arr(t.get("fds").unwrap())[1];
    assert_eq!(num(fd1.get("fd").unwrap()), 1);
    assert_eq!(text(fd1.get("type").unwrap()), "PIPE");
    assert_eq!(text(fd1.get("desc").unwrap()), "pipe[38007]");
    assert_eq!(text(t.get("cwd").unwrap()), "/tmp/criu-fixture");
    assert_eq!(text(t.get("root").unwrap()), "/");

    let mems = json(&ckpt, "mems");
    let t = &arr(mems.get("tasks").unwrap())[0];
    assert_eq!(text(t.get("exe").unwrap()), "/usr/bin/bash");
    let v = &arr(t.get("vmas").unwrap())[1];
    assert_eq!(addr(v.get("start").unwrap()), 0x5597eac17000);
    assert_eq!(text(v.get("prot").unwrap()), "r-x");
    assert_eq!(text(v.get("kind").unwrap()), "file");
    assert_eq!(text(v.get("path").unwrap()), "/usr/bin/bash");
    assert_eq!(addr(v.get("pgoff").unwrap()), 0x2f000);
    assert_eq!(text(v.get("name").unwrap()), "/usr/bin/bash");
    assert_eq!(v.get("shared"), Some(&Value::Bool(false)));

    let rss = json(&ckpt, "rss");
    let t = &arr(rss.get("tasks").unwrap())[0];
    let p = &arr(t.get("pagemap").unwrap())[0];
    assert_eq!(addr(p.get("vaddr").unwrap()), 0x5597eac17000);
    assert_eq!(num(p.get("nr_pages").unwrap()), 1);
    assert_eq!(arr(p.get("flags").unwrap()).iter().map(text).collect::<Vec<_>>(), ["PRESENT"]);
    assert_eq!(text(arr(p.get("vmas").unwrap())[0].get("path").unwrap()), "/usr/bin/bash");
    let total: u64 = arr(t.get("pagemap").unwrap()).iter().map(|p| num(p.get("nr_pages").unwrap())).sum();
    assert_eq!(num(t.get("total_pages").unwrap()), total);
    assert!(num(t.get("present_pages").unwrap()) <= total);
}

// ---------------------------------------------------------------------------------------------
// Sockets

#[test]
fn sockets_of_fdzoo_and_ipcns() {
    let ckpt = Checkpoint::open(&support::fixture("fdzoo")).unwrap();
    let text = String::from_utf8(render(&ckpt, "sockets")).unwrap();
    let want = "20321\n\
        \t     11: unix stream established ino 35728 peer 35729\n\
        \t     12: unix stream established ino 35729 peer 35728\n\
        \t     13: unix dgram established ino 35730 peer 35731\n\
        \t     14: unix dgram established ino 35731 peer 35730\n\
        \t     15: unix stream listen ino 35732 /tmp/criu-fixture/fdzoo/srv.sock\n\
        \t     16: unix stream established ino 35733 peer 35734\n\
        \t     17: unix stream established ino 35734 peer 35733 /tmp/criu-fixture/fdzoo/srv.sock\n\
        \t     28: netlink route portid 20321\n\
        \t     29: packet dgram all ifindex 0\n";
    assert_eq!(text, want);
    let ckpt = Checkpoint::open(&support::fixture("ipcns")).unwrap();
    assert_eq!(String::from_utf8(render(&ckpt, "sockets")).unwrap(), "1\n\t      3: tcp listen 127.0.0.1:5555\n");
    let j = json(&ckpt, "sockets");
    let s = &arr(arr(j.get("tasks").unwrap())[0].get("sockets").unwrap())[0];
    assert_eq!(text_of(s, "family"), "inet");
    assert_eq!(text_of(s, "proto"), "tcp");
    assert_eq!(text_of(s, "state"), "listen");
    assert_eq!(text_of(s, "src"), "127.0.0.1");
    assert_eq!(num(s.get("src_port").unwrap()), 5555);
    assert_eq!(num(s.get("version").unwrap()), 4);
}

fn text_of(v: &Value, k: &str) -> String {
    text(v.get(k).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Robustness

#[test]
fn corrupted_images_never_panic_any_view() {
    let dir = copy_set("proctree");
    let originals: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "img") && !p.file_name().unwrap().to_str().unwrap().starts_with("pages-"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    for (path, bytes) in &originals {
        let cuts = [0, 3, 4, 8, 9, 12, bytes.len() / 2, bytes.len().saturating_sub(1)];
        let flips = [4usize, 8, 9, 10, 12, 16, bytes.len() / 3, bytes.len() / 2];
        let mut variants: Vec<Vec<u8>> = cuts.iter().map(|&c| bytes[..c.min(bytes.len())].to_vec()).collect();
        for &f in &flips {
            if f < bytes.len() {
                let mut b = bytes.clone();
                b[f] ^= 0xff;
                variants.push(b);
            }
        }
        for v in variants {
            std::fs::write(path, &v).unwrap();
            let ckpt = Checkpoint::open(&dir).unwrap();
            let _ = render_all(&ckpt);
            let _ = criu_image::check::check(&ckpt);
        }
        std::fs::write(path, bytes).unwrap();
    }
}

fn render_all(index: &Checkpoint) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(r) = explore::ps(index) {
        let _ = explore::write_ps_json(&r, &mut out);
    }
    if let Ok(r) = explore::fds(index) {
        let _ = explore::write_fds_text(&r.tasks, &mut out);
        let _ = explore::write_fds_json(&r, &mut out);
    }
    if let Ok(r) = explore::mems(index) {
        let _ = explore::write_mems_text(&r.tasks, &mut out);
        let _ = explore::write_mems_json(&r, &mut out);
    }
    if let Ok(r) = explore::rss(index) {
        let _ = explore::write_rss_text(&r.tasks, &mut out);
        let _ = explore::write_rss_json(&r, &mut out);
    }
    if let Ok(r) = explore::sockets(index) {
        let _ = explore::write_sockets_json(&r, &mut out);
    }
    out
}

#[test]
fn an_image_of_the_wrong_kind_is_named() {
    let dir = copy_set("sleep");
    std::fs::copy(dir.join("pstree.img"), dir.join("mm-20292.img")).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let r = explore::mems(&ckpt).unwrap();
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].file, "mm-20292.img");
    assert!(r.problems[0].message.contains("holds a PSTREE image where a MM image belongs"), "{}", r.problems[0]);
}

#[test]
fn sparse_members_are_expanded() {
    // The `tar` crate's builder (like GNU tar --sparse) stores files with holes as GNU sparse
    // members, whose data is not one contiguous range of the archive.
    let dir = scratch("sparse");
    let holey = dir.join("rootfs-diff.tar");
    {
        let mut f = std::fs::File::create(&holey).unwrap();
        f.write_all(b"start").unwrap();
        f.set_len(3 << 20).unwrap();
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(2 << 20)).unwrap();
        f.write_all(b"middle").unwrap();
    }
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all("checkpoint", support::fixture("sleep")).unwrap();
    b.append_path_with_name(&holey, "rootfs-diff.tar").unwrap();
    let tar = b.into_inner().unwrap();
    let ckpt = open_bytes(tar.clone()).unwrap();
    let want = std::fs::read(&holey).unwrap();
    assert_eq!(ckpt.extra_file("rootfs-diff.tar").unwrap(), &want[..]);
    text_diff("ps", &render(&ckpt, "ps"), &reference("sleep", "ps"));
    // Expanded members count against the memory limit (when the file system made a hole, so
    // that the member is sparse: the archive is then much smaller than the file).
    assert!(tar.len() < 1 << 20, "the builder did not store a sparse member ({} bytes)", tar.len());
    let small = OpenOptions { max_decompressed: 1 << 20, ..Default::default() };
    let err = Checkpoint::from_archive_bytes(Path::new("s.tar"), tar, &small).unwrap_err();
    assert!(matches!(err, CheckpointError::TooLarge { .. }), "{err}");
}

#[test]
fn corrupted_archives_never_panic() {
    let tar = tar_of(&support::fixture("sleep"), Layout::Container);
    for (what, bytes) in [("tar", tar.clone()), ("tar.gz", gzip(&tar)), ("tar.zst", zstd(&tar))] {
        let n = bytes.len();
        let mut variants: Vec<Vec<u8>> = [1, 4, 10, 100, 257, 512, 600, n / 3, n / 2, n - 1].iter().filter(|&&c| c < n).map(|&c| bytes[..c].to_vec()).collect();
        for at in (0..n).step_by((n / 97).max(1)) {
            let mut b = bytes.clone();
            b[at] ^= 0x5a;
            variants.push(b);
        }
        for v in variants {
            // A value or an error; and whatever opens must explore and check without panicking.
            if let Ok(ckpt) = open_bytes(v) {
                let _ = render_all(&ckpt);
                let _ = criu_image::check::check(&ckpt);
            }
        }
        let _ = what;
    }
}
