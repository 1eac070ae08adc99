//! What every `crit` subcommand shares, as a user meets it: `-` for standard input and output,
//! exit statuses scripts can rely on (0 yes, 1 no, 2 error), errors printed once with a hint, and
//! help where a user guesses wrong. Each test pins a defect found by trying the tool as a new user.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixture(set: &str) -> PathBuf {
    root().join("testdata/images").join(set)
}

fn crit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crit")).args(args).output().unwrap()
}

fn crit_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crit")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    c.wait_with_output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-conv-{}-{}-{name}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A tar of a fixture set, as `tar -cf - SET` writes it.
fn tar_of(set: &str) -> Vec<u8> {
    let out = Command::new("tar").arg("-C").arg(root().join("testdata/images")).args(["-cf", "-", set]).output().unwrap();
    assert!(out.status.success(), "tar: {}", stderr(&out));
    out.stdout
}

#[test]
fn dash_is_standard_input_and_output() {
    let core = fixture("sleep").join("core-20292.img");
    // `-o -` writes to stdout instead of creating a file called `-`.
    let dir = scratch("dash");
    let out = Command::new(env!("CARGO_BIN_EXE_crit")).current_dir(&dir).args(["decode", "-i", s(&core), "-o", "-"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.starts_with(b"{\"magic\": \"CORE\""));
    assert!(!dir.join("-").exists(), "decode -o - created a file named -");
    // `-i -` reads stdin; encode of it to `-o -` round-trips.
    let bytes = std::fs::read(&core).unwrap();
    let json = crit_stdin(&["decode", "-i", "-"], &bytes).stdout;
    let back = crit_stdin(&["encode", "-i", "-", "-o", "-"], &json);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(back.stdout, bytes);
    // A checkpoint archive on stdin, for x and check.
    let tar = tar_of("proctree");
    let ps = crit_stdin(&["x", "-", "ps"], &tar);
    assert!(ps.status.success(), "{}", stderr(&ps));
    let direct = crit(&["x", s(&fixture("proctree")), "ps"]);
    assert_eq!(ps.stdout, direct.stdout);
    let check = crit_stdin(&["check", "-", "-q"], &tar);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}

#[test]
fn decode_takes_the_file_without_i_too() {
    let core = fixture("sleep").join("core-20292.img");
    let a = crit(&["decode", s(&core)]);
    let b = crit(&["decode", "-i", s(&core)]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn exit_status_zero_yes_one_no_two_error() {
    // search: no match is 1, as grep says it.
    let none = crit(&["search", s(&fixture("sleep")), "no such bytes anywhere 0123456789"]);
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    let some = crit(&["search", s(&fixture("sleep")), "-m", "1", "sleep"]);
    assert_eq!(some.status.code(), Some(0), "{}", stderr(&some));
    // x: a view that could not show everything prints what it can and says so with 1.
    let dir = copy_set("sleep");
    let mm = dir.join("mm-20292.img");
    let b = std::fs::read(&mm).unwrap();
    std::fs::write(&mm, &b[..b.len() / 2]).unwrap();
    let mems = crit(&["x", s(&dir), "mems"]);
    assert_eq!(mems.status.code(), Some(1));
    assert!(mems.stdout.starts_with(b"20292\n"));
    let json = crit(&["x", s(&dir), "mems", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&json.stdout).contains("\"problems\": [{\"file\": \"mm-20292.img\""));
    // Errors: 2.
    assert_eq!(crit(&["decode", "-i", "/nonexistent.img"]).status.code(), Some(2));
    assert_eq!(crit(&["x", "/nonexistent", "ps"]).status.code(), Some(2));
    assert_eq!(crit(&["mem", s(&dir), "--addr", "0x1000"]).status.code(), Some(2));
    assert_eq!(crit(&["x", s(&fixture("sleep")), "ps"]).status.code(), Some(0));
}

#[test]
fn an_error_is_printed_once() {
    // `crit mem` on a truncated mm image once said the same thing three times.
    let dir = copy_set("sleep");
    let mm = dir.join("mm-20292.img");
    let b = std::fs::read(&mm).unwrap();
    std::fs::write(&mm, &b[..30]).unwrap();
    for args in [vec!["mem", s(&dir), "--addr", "0x1000"], vec!["search", s(&dir), "-p", "20292", "x"]] {
        let out = crit(&args);
        assert_eq!(out.status.code(), Some(2));
        let e = stderr(&out);
        assert_eq!(e.matches("truncated").count(), 1, "{e}");
        assert!(e.starts_with("crit: mm-20292.img: entry 0, byte 12: truncated: "), "{e}");
    }
}

#[test]
fn corrupt_images_say_what_it_means_and_what_to_try() {
    let dir = scratch("corrupt");
    let good = std::fs::read(fixture("sleep").join("mm-20292.img")).unwrap();
    let cut = dir.join("mm-20292.img");
    std::fs::write(&cut, &good[..100]).unwrap();
    let out = crit(&["decode", "-i", s(&cut)]);
    let e = stderr(&out);
    assert!(e.contains("truncated: needs ") && e.contains("(the image is cut short)"), "{e}");
    assert!(e.contains("\n  hint: CRIU's restore fails on a cut-short image"), "{e}");
    // A files.img whose magic is damaged: its name says what it is, so not "maybe raw data".
    let files = dir.join("files.img");
    let mut b = std::fs::read(fixture("sleep").join("files.img")).unwrap();
    b[4] ^= 0xff;
    std::fs::write(&files, b).unwrap();
    let e = stderr(&crit(&["show", s(&files)]));
    assert!(e.contains("but a file of this name is a FILES image"), "{e}");
    assert!(!e.contains("raw data"), "{e}");
    // A bit flip inside an entry: corrupt, not protobuf jargon alone.
    let flipped = dir.join("core-20292.img");
    let mut b = std::fs::read(fixture("sleep").join("core-20292.img")).unwrap();
    b[13] = 0xff; // the first key of the entry: field 31, wire type 7
    std::fs::write(&flipped, b).unwrap();
    let e = stderr(&crit(&["decode", "-i", s(&flipped)]));
    assert!(e.contains("corrupt: ") && e.contains("(not valid protobuf)") && e.contains("hint: "), "{e}");
}

#[test]
fn x_without_a_view_lists_the_views() {
    let out = crit(&["x", s(&fixture("sleep"))]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    for v in ["ps", "fds", "mems", "rss", "sockets"] {
        assert!(e.contains(&format!("\n  {v} ")), "{v} missing from: {e}");
    }
}

#[test]
fn binary_output_to_a_terminal_is_refused() {
    // `script` gives the command a terminal as stdout.
    let core = fixture("sleep").join("core-20292.img");
    let json = crit(&["decode", "-i", s(&core)]).stdout;
    let dir = scratch("tty");
    std::fs::write(dir.join("core.json"), &json).unwrap();
    let cmd = format!("{} encode -i {}", env!("CARGO_BIN_EXE_crit"), s(&dir.join("core.json")));
    let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().expect("script (util-linux) is needed for this test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refusing to write an image (binary) to a terminal"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{text}");
}

#[test]
fn help_documents_the_conventions() {
    let out = crit(&["--help"]);
    let h = String::from_utf8_lossy(&out.stdout);
    assert!(h.contains("`-` is standard input") && h.contains("Exit status: 0 success; 1 "), "{h}");
}

#[test]
fn mem_dump_of_a_pid_that_does_not_exist() {
    let dir = scratch("memdump").join("out");
    let out = crit(&["mem-dump", "-t", "999999", "-D", s(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("crit: no process 999999: it does not exist"), "{}", stderr(&out));
    assert!(!dir.exists(), "an empty output directory was left behind");
}

#[test]
fn ps_command_lines_start_in_one_column() {
    let out = crit(&["x", s(&fixture("proctree")), "ps", "--cmdline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let cols: Vec<usize> = text.lines().skip(1).map(|l| l.find("   /bin/bash").or_else(|| l.rfind("   ")).unwrap()).collect();
    let header = text.lines().next().unwrap().find("   CMDLINE").unwrap();
    assert!(cols.iter().all(|&c| c == header), "{text}");
}

#[test]
fn sockets_text_leaves_out_tasks_without_sockets() {
    let out = crit(&["x", s(&fixture("proctree")), "sockets"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"", "proctree has no sockets: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn decoding_an_archive_says_it_is_one_and_what_reads_it() {
    // Was: "unknown magic 0x88b1f". Real Podman exports: gzip, zstd, and an OCI image archive.
    for (name, format) in [("loop.tar.gz", "tar.gz"), ("sleeper.tar.gz", "tar.zst"), ("ckpt-image.oci.tar", "tar")] {
        let path = root().join("testdata/podman").join(name);
        for cmd in ["show", "decode"] {
            let out = crit(&[cmd, s(&path)]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}");
            let e = stderr(&out);
            assert!(e.contains(&format!("this is a {format} archive, not one image")), "{e}");
            assert!(e.contains("hint: `crit inspect ARCHIVE`") && !e.contains("magic"), "{e}");
        }
        // And what the hint says works.
        let out = crit(&["inspect", s(&path)]);
        assert_eq!(out.status.code(), Some(0), "inspect {name}: {}", stderr(&out));
    }
    // A tar of a plain fixture directory too.
    let dir = scratch("tar");
    let t = dir.join("sleep.tar");
    std::fs::write(&t, tar_of("sleep")).unwrap();
    assert!(stderr(&crit(&["show", s(&t)])).contains("this is a tar archive"));
}

#[test]
fn encode_refuses_a_misspelt_key_unless_told_to_ignore_it() {
    // A key that is not a field would be dropped silently (crit does): refused with its path, the
    // field meant and a hint; --ignore-unknown-keys reads it as crit does.
    let json = std::fs::read_to_string(root().join("testdata/crit-reference/sleep/mm-20292.img.pretty.json")).unwrap();
    let at = json.match_indices("\"flags\"").nth(7).unwrap().0;
    let added = format!("{}\"flagz\": 1, {}", &json[..at], &json[at..]);
    let dir = scratch("unknown-key");
    let out = dir.join("mm.img");
    let o = crit_stdin(&["encode", "-o", s(&out)], added.as_bytes());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("entries[0].vmas[7].flagz: unknown key") && e.contains("did you mean `flags`?"), "{e}");
    assert!(e.contains("hint:") && e.contains("--ignore-unknown-keys"), "{e}");
    let o = crit_stdin(&["encode", "--ignore-unknown-keys", "-o", s(&out)], added.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&out).unwrap() == std::fs::read(fixture("sleep").join("mm-20292.img")).unwrap());
}

#[test]
fn encode_error_mid_stream_leaves_no_partial_image() {
    // The entries are written as they are read: an error in the last one comes after the others
    // went out. With -o nothing appears under the name (and a file already there is kept); on
    // standard output the exit status says the bytes are incomplete.
    let json = std::fs::read_to_string(root().join("testdata/crit-reference/fdzoo/fdinfo-2.img.plain.json")).unwrap();
    let last = json.rfind("\"fd\"").unwrap();
    let bad = format!("{}\"fd\": \"x\", \"fd_\"{}", &json[..last], &json[last + 4..]);
    let dir = scratch("mid-stream");
    let out = dir.join("fdinfo-2.img");
    let o = crit_stdin(&["encode", "-o", s(&out)], bad.as_bytes());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("].fd: "), "{}", stderr(&o));
    assert!(!out.exists(), "a partial image was left");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "a temporary file was left");
    std::fs::write(&out, b"before").unwrap();
    let o = crit_stdin(&["encode", "-o", s(&out)], bad.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&out).unwrap(), b"before");
    let o = crit_stdin(&["encode"], bad.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    let good = std::fs::read(fixture("fdzoo").join("fdinfo-2.img")).unwrap();
    assert!(good.starts_with(&o.stdout) && o.stdout.len() < good.len(), "stdout holds what was encoded before the error");
    let o = crit_stdin(&["encode", "-o", s(&out)], json.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&out).unwrap() == good);
}
