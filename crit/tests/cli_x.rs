//! `crit x` and `crit check` as users run them: byte-identical to CRIU 4.2.1's crit on every
//! fixture and on edited images that reach crit's less common paths (run live against CRIU's
//! crit), archives, `--json`, exit statuses and messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use criu_image::image::{Image, ImageWriter, Kind};
use criu_image::proto::owned;
use criu_image::proto::support::fields::Message;
use criu_image::proto::support::json_in::{self, Value};

const SETS: [&str; 7] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo"];
const VIEWS: [&str; 4] = ["ps", "fds", "mems", "rss"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixture(set: &str) -> PathBuf {
    root().join("testdata/images").join(set)
}

fn crit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crit")).args(args).output().unwrap()
}

/// CRIU's crit: `$CRIT_REF`, else what `cargo xtask criu` builds. Tests that need it fail loudly.
fn crit_ref() -> PathBuf {
    let p = std::env::var_os("CRIT_REF").map(PathBuf::from).unwrap_or_else(|| root().join("target/criu/bin/crit-ref"));
    assert!(p.exists(), "CRIU's crit is needed but {} does not exist: run `cargo xtask criu` (or set CRIT_REF)", p.display());
    p
}

fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-x-{}-{}-{name}",
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn same_as_crit(what: &str, ours: &Output, theirs: &[u8]) {
    assert!(ours.status.success(), "{what}: {}", String::from_utf8_lossy(&ours.stderr));
    if ours.stdout != theirs {
        let (a, b) = (String::from_utf8_lossy(&ours.stdout), String::from_utf8_lossy(theirs));
        for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
            assert_eq!(x, y, "{what}: line {}", i + 1);
        }
        panic!("{what}: {} lines, crit printed {}", a.lines().count(), b.lines().count());
    }
}

/// Re-encodes an image, letting `edit` change its entries.
fn rewrite<M: Message>(path: &Path, edit: impl FnOnce(&mut Vec<M>)) {
    let bytes = std::fs::read(path).unwrap();
    let img = Image::parse(&bytes, None).unwrap();
    let mut msgs: Vec<M> = img.entries().map(|e| M::decode(e.unwrap().message).unwrap()).collect();
    edit(&mut msgs);
    let mut w = ImageWriter::new(Vec::new(), img.kind).unwrap();
    for m in &msgs {
        w.write_message(m).unwrap();
    }
    std::fs::write(path, w.into_inner()).unwrap();
}

#[test]
fn x_matches_the_recorded_crit_output_on_every_fixture() {
    for set in SETS {
        for view in VIEWS {
            let want = std::fs::read(root().join("testdata/crit-reference").join(set).join(format!("x-{view}.txt"))).unwrap();
            let out = crit(&["x", s(&fixture(set)), view]);
            same_as_crit(&format!("{set} {view}"), &out, &want);
            assert!(out.stderr.is_empty(), "{set} {view}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

#[test]
fn x_reads_archives() {
    let dir = scratch("archive");
    // As Podman lays it out: images under checkpoint/, written by the system's tar.
    let tarball = dir.join("ckpt.tar");
    std::os::unix::fs::symlink(fixture("proctree"), dir.join("checkpoint")).unwrap();
    let st = Command::new("tar").arg("-C").arg(&dir).args(["-chf", s(&tarball), "checkpoint"]).status().unwrap();
    assert!(st.success());
    for view in VIEWS {
        let want = std::fs::read(root().join("testdata/crit-reference/proctree").join(format!("x-{view}.txt"))).unwrap();
        same_as_crit(view, &crit(&["x", s(&tarball), view]), &want);
    }
    let out = crit(&["check", s(&tarball)]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().ends_with(": ok: 43 images, 0 errors, 0 warnings, 0 notices\n"));
    // The memory limit is the user's to raise.
    let out = crit(&["x", s(&tarball), "ps", "--max-archive-size", "1K"]);
    assert!(out.status.success(), "an uncompressed tar is mapped, not decompressed");
}

/// Edited copies of fixtures that reach crit's rarer paths; each is run through CRIU's crit too.
#[test]
fn x_matches_crit_live_on_edited_images() {
    let theirs = crit_ref();
    // mems: every status bit's annotation, their precedence, crit's numbering of shared
    // mappings (one counter for SysV, shmem and packet, in hex), offsets, (s), and '*'.
    let mems = copy_set("sleep");
    rewrite::<owned::MmEntry>(&mems.join("mm-20292.img"), |mm| {
        let base = mm[0].vmas[6].clone();
        let mut vmas = Vec::new();
        let statuses: &[(u32, u64, u32, u64)] = &[
            (1 | 1 << 10, 5, 1, 0),
            (1 | 1 << 10, 5, 1, 0),
            (1 | 1 << 10, 100, 1, 0),
            (1 | 1 << 8, 7, 1, 0),
            (1 | 1 << 8, 5, 1, 0),
            (1 | 1 << 11, 9, 1, 0),
            (1 | 1 << 11 | 1 << 8, 9, 1, 0),
            (1 | 1 << 11 | 1 << 6, 9, 1, 0),
            (1 | 1 << 6 | 1 << 1, 5, 2, 0x1234),
            (1 | 1 << 7, 5, 2, 1),
            (1 | 1 << 7 | 1 << 14, 3, 1, 0),
            (1 | 1 << 1 | 1 << 2, 0, 2, 0),
            (1 | 1 << 2 | 1 << 3, 0, 2, 0),
            (1 | 1 << 3, 0, 0x102, 0),
            (1, 0, 0x102, 0),
            (1 << 13, 0, 1, 0),
            (0, 0, 0x22, 0),
        ];
        let mut at = 0x100000u64;
        for &(status, shmid, flags, pgoff) in statuses {
            vmas.push(owned::VmaEntry { start: at, end: at + 0x1000, status, shmid, flags, pgoff, ..base.clone() });
            at += 0x1000;
        }
        for i in 0..20 {
            vmas.push(owned::VmaEntry { start: at, end: at + 0x3000, status: 1 | 1 << 10, shmid: 1000 + i, prot: i as u32 % 8, ..base.clone() });
            at += 0x3000;
        }
        vmas.push(owned::VmaEntry { start: 0x7fffffff000, end: 0x80123455000, ..base.clone() });
        mm[0].vmas = vmas;
    });
    // fds: unix socket names in crit's quoted-printable form (soft line breaks, =XX, a lone
    // dot, trailing blanks, CR LF).
    let fds = copy_set("fdzoo");
    rewrite::<owned::FileEntry>(&fds.join("files.img"), |files| {
        let names: [&[u8]; 7] =
            [b"/a b=c\tx \t", b"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xff\x00end", b"\xc3\xa9t\xc3\xa9 ", b"abc\n/def\r\nq", b" ", b".", b"\x00/abstract"];
        let mut k = 0;
        for f in files.iter_mut() {
            if let Some(u) = f.usk.as_mut() {
                if let Some(n) = names.get(k) {
                    u.name = n.to_vec();
                }
                k += 1;
            }
        }
        assert_eq!(k, 7);
    });
    // rss: entries spanning VMAs, continuing the previous VMA (~), and in a gap.
    let rss = copy_set("sleep");
    rewrite::<owned::MmEntry>(&rss.join("mm-20292.img"), |mm| {
        let base = mm[0].vmas[6].clone();
        let v = |start: u64, end: u64, status: u32, shmid: u64| owned::VmaEntry { start, end, status, shmid, ..base.clone() };
        mm[0].vmas = vec![v(0x100000, 0x104000, 1, 0), v(0x104000, 0x108000, 1 | 1 << 6, 1), v(0x108000, 0x10a000, 1, 0), v(0x200000, 0x210000, 1, 0)];
    });
    {
        let p = rss.join("pagemap-20292.img");
        let bytes = std::fs::read(&p).unwrap();
        let img = Image::parse(&bytes, None).unwrap();
        let head = img.entries().next().unwrap().unwrap().message.to_vec();
        let mut w = ImageWriter::new(Vec::new(), Kind::Pagemap).unwrap();
        w.write_entry(&head).unwrap();
        for (vaddr, n) in [(0x100000u64, 1u64), (0x102000, 3), (0x105000, 5), (0x150000, 1), (0x200000, 1), (0x201000, 1)] {
            w.write_message(&owned::PagemapEntry { vaddr, flags: Some(4), nr_pages: Some(n), ..Default::default() }).unwrap();
        }
        std::fs::write(&p, w.into_inner()).unwrap();
    }
    for (dir, view) in [(&mems, "mems"), (&fds, "fds"), (&rss, "rss"), (&mems, "ps")] {
        let want = Command::new(&theirs).args(["x", s(dir), view]).output().unwrap();
        assert!(want.status.success(), "CRIU's crit failed on {view}: {}", String::from_utf8_lossy(&want.stderr));
        same_as_crit(&format!("edited {view}"), &crit(&["x", s(dir), view]), &want.stdout);
    }
}

fn parse(out: &Output) -> Value {
    json_in::parse(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn x_json_forms() {
    for view in ["ps", "fds", "mems", "rss", "sockets"] {
        let out = crit(&["x", s(&fixture("fdzoo")), view, "--json"]);
        assert!(out.status.success(), "{view}: {}", String::from_utf8_lossy(&out.stderr));
        let v = parse(&out);
        let Some(Value::Array(tasks)) = v.get("tasks") else { panic!("{view}: no tasks") };
        assert_eq!(tasks.len(), 1, "{view}");
        assert_eq!(tasks[0].get("pid"), Some(&Value::Number("20321".into())), "{view}");
        assert_eq!(v.get("problems"), Some(&Value::Array(vec![])), "{view}");
    }
}

#[test]
fn x_sockets_text() {
    let out = crit(&["x", s(&fixture("ipcns")), "sockets"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n\t      3: tcp listen 127.0.0.1:5555\n");
}

#[test]
fn x_ps_with_command_lines_and_environment() {
    let out = crit(&["x", s(&fixture("sleep")), "ps", "--cmdline", "--env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    // The header's CMDLINE sits over the command lines, after the widest command name.
    assert_eq!(lines.next(), Some("    PID   PGID    SID   COMM    CMDLINE"));
    assert_eq!(lines.next(), Some("  20292  20292  20292   sleep   /bin/sleep 1000"));
    assert!(text.contains("\n\t\tHOME=/tmp\n"), "{text}");
    let out = crit(&["x", s(&fixture("sleep")), "ps", "--json", "--cmdline"]);
    let v = parse(&out);
    let Some(Value::Array(tasks)) = v.get("tasks") else { panic!() };
    assert_eq!(
        tasks[0].get("cmdline"),
        Some(&Value::Array(vec![Value::String(b"/bin/sleep".to_vec()), Value::String(b"1000".to_vec())]))
    );
    assert_eq!(tasks[0].get("environ"), None);
    let out = crit(&["x", s(&fixture("sleep")), "fds", "--cmdline"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cmdline and --env go with `ps`"));
}

#[test]
fn x_keeps_going_and_warns_where_crit_crashes() {
    let dir = copy_set("proctree");
    std::fs::remove_file(dir.join("core-20376.img")).unwrap();
    let out = crit(&["x", s(&dir), "ps"]);
    // The view is printed; exit status 1 says it is incomplete.
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n  20376  20374  20374       ?\n"), "{text}");
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "crit: warning: core-20376.img: missing: the command name is unknown\n");
}

#[test]
fn x_errors_name_the_path() {
    let out = crit(&["x", "/nonexistent/ckpt", "ps"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "crit: /nonexistent/ckpt: No such file or directory (os error 2)\n");
    let dir = scratch("empty");
    let out = crit(&["x", s(&dir), "ps"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), format!("crit: {}: pstree.img: no such image in the checkpoint\n", dir.display()));
}

#[test]
fn check_exit_status_text_and_json() {
    let out = crit(&["check", s(&fixture("sleep"))]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{}: ok: 12 images, 0 errors, 0 warnings, 0 notices\n", fixture("sleep").display()));

    // fdzoo's VMAs carry MAP_NORESERVE, which crit has no name for but is valid: clean.
    let out = crit(&["check", s(&fixture("fdzoo"))]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().ends_with(": ok: 24 images, 0 errors, 0 warnings, 0 notices\n"));

    // Notices do not fail a check; -q hides them. A field unknown to the schema is one.
    let dir = copy_set("sleep");
    let pstree = dir.join("pstree.img");
    let mut bytes = std::fs::read(&pstree).unwrap();
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    bytes[8..12].copy_from_slice(&(len + 3).to_le_bytes());
    bytes.splice(12 + len as usize..12 + len as usize, [0xf8, 0x06, 0x2a]); // field 111 = 42
    std::fs::write(&pstree, &bytes).unwrap();
    let out = crit(&["check", s(&dir)]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("notice: pstree.img entry 0: fields 111 are unknown to this schema"), "{text}");
    // Quiet: a clean checkpoint prints nothing; its exit status says it.
    let out = crit(&["check", "-q", s(&dir)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");

    let dir = copy_set("sleep");
    std::fs::remove_file(dir.join("core-20292.img")).unwrap();
    let out = crit(&["check", s(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "error: pstree.img entry 0 pid: task 20292 has no core-20292.img\n\
             {}: NOT OK: 11 images, 1 errors, 0 warnings, 0 notices\n",
            dir.display()
        )
    );
    let out = crit(&["check", "--json", s(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let v = parse(&out);
    assert_eq!(v.get("clean"), Some(&Value::Bool(false)));
    assert_eq!(v.get("format"), Some(&Value::String(b"directory".to_vec())));
    assert_eq!(v.get("errors"), Some(&Value::Number("1".into())));
    let Some(Value::Array(d)) = v.get("diagnostics") else { panic!() };
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].get("severity"), Some(&Value::String(b"error".to_vec())));
    assert_eq!(d[0].get("file"), Some(&Value::String(b"pstree.img".to_vec())));
    assert_eq!(d[0].get("entry"), Some(&Value::Number("0".into())));
    assert_eq!(d[0].get("field"), Some(&Value::String(b"pid".to_vec())));
    assert_eq!(d[0].get("message"), Some(&Value::String(b"task 20292 has no core-20292.img".to_vec())));

    let out = crit(&["check", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("crit: /nonexistent: "));
}
