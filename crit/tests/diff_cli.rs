//! `crit diff A B [--json] [--section NAME]... [--no-memory]`: exit status 0 equal, 1 different,
//! 2 error; `--json` parses and its values are the images'; archives (and one on standard
//! input) compare equal to their directory; an unreadable B is named. What the comparison finds
//! is tested on real dumps in `runtime/tests/diff.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use criu_image::checkpoint::Checkpoint;
use criu_image::model::FileKind;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixture(set: &str) -> PathBuf {
    root().join("testdata/images").join(set)
}

fn crit(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crit")).args(args).output().unwrap()
}

fn diff(a: &Path, b: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["diff".as_ref(), a.as_os_str(), b.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    crit(&args)
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diff-cli").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn exit_status_is_0_when_equal_and_1_when_different() {
    for set in ["sleep", "fdzoo", "nsbox"] {
        let o = diff(&fixture(set), &fixture(set), &[]);
        assert_eq!(o.status.code(), Some(0), "{set}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(text(&o).lines().last().unwrap().starts_with("equal: 1 process, "), "{}", text(&o));
    }
    let (a, b) = (fixture("sleep-fv-buildid"), fixture("sleep-fv-filesize"));
    let o = diff(&a, &b, &[]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.starts_with(&format!("--- a  {}\n+++ b  {}\n", a.display(), b.display())), "{t}");
    assert!(t.contains("\n  ~ /usr/bin/sleep\n      build_id  "), "{t}");
    assert!(t.lines().last().unwrap().starts_with("differ: "), "{t}");
    assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
    // Sections: fds alone are equal; files alone differ; --no-memory keeps the files.
    assert_eq!(diff(&a, &b, &["--section", "fds"]).status.code(), Some(0));
    assert_eq!(diff(&a, &b, &["--section", "vmas", "--section", "processes"]).status.code(), Some(0));
    assert_eq!(diff(&a, &b, &["--section", "files"]).status.code(), Some(1));
    assert_eq!(diff(&a, &b, &["--section", "memory"]).status.code(), Some(1));
    let o = diff(&a, &b, &["--no-memory", "--section", "processes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn json_parses_and_its_values_are_the_images() {
    let (a, b) = (fixture("sleep-fv-buildid"), fixture("sleep-fv-filesize"));
    let o = diff(&a, &b, &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["equal"], false);
    assert_eq!(j["complete"], true);
    assert_eq!(j["sections"].as_array().unwrap().len(), 7);
    let ca = Checkpoint::open(&a).unwrap();
    let cb = Checkpoint::open(&b).unwrap();
    let pid = ca.processes().unwrap().nth(0).unwrap().pid();
    let procs = j["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1);
    let p = &procs[0];
    assert_eq!(p["pid"], pid);
    assert_eq!(p["change"], "changed");
    let pa = ca.process(pid).unwrap().unwrap();
    assert_eq!(p["a"]["comm"], String::from_utf8(pa.comm().unwrap().to_vec()).unwrap());
    let argv: Vec<String> = pa.cmdline().unwrap().into_iter().map(|a| String::from_utf8(a).unwrap()).collect();
    assert_eq!(p["a"]["cmdline"], serde_json::json!(argv));
    assert_eq!(p["a"]["state"], "alive");
    assert_eq!(p["a"]["creds.uid"], pa.creds().unwrap().unwrap().uid);
    assert_eq!(p["a"]["cwd"], String::from_utf8(pa.cwd().unwrap().to_vec()).unwrap());
    assert_eq!(p["fields"].as_array().unwrap().len(), 0);
    // Memory: hex addresses of B's VMA, page counts.
    let m = &p["memory"][0];
    let vb = cb.process(pid).unwrap().unwrap().vmas().unwrap().iter().find(|v| v.name() == b"[stack]").unwrap().clone();
    assert_eq!(m["start"], format!("{:#x}", vb.start));
    assert_eq!(m["end"], format!("{:#x}", vb.end));
    assert_eq!(m["name"], "[stack]");
    assert_eq!(m["pages"], vb.pages());
    assert!(m["pages_differ"].as_u64().unwrap() >= 1);
    assert_eq!(j["summary"]["pages_differ"], m["pages_differ"]);
    // Files: each build-id as files.img records it in A, null in B.
    let files = j["files"].as_array().unwrap();
    assert_eq!(j["summary"]["files"], files.len());
    for f in files {
        let path = f["path"].as_str().unwrap();
        let r = ca
            .files()
            .unwrap()
            .iter()
            .find_map(|x| match &x.kind {
                FileKind::Regular(r) if &r.path[..] == path.as_bytes() && !r.build_id.is_empty() => Some(r.clone()),
                _ => None,
            })
            .unwrap();
        let hex: String = r.build_id.iter().flat_map(|w| w.to_le_bytes()).map(|x| format!("{x:02x}")).collect();
        assert_eq!(f["change"], "changed");
        assert_eq!(f["fields"], serde_json::json!([{"field": "build_id", "a": hex, "b": null}]));
        assert_eq!(f["a"]["size"], r.size.unwrap());
        assert_eq!(f["a"]["mode"], r.mode.unwrap());
        assert_eq!(f["b"]["build_id"], serde_json::Value::Null);
    }
    assert_eq!(j["problems"], serde_json::json!([]));

    // Equal: the same schema, empty lists, the compared counts.
    let o = diff(&a, &a, &["--json"]);
    assert_eq!(o.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((j["equal"].clone(), j["processes"].clone()), (serde_json::json!(true), serde_json::json!([])));
    assert_eq!(j["compared"]["processes"], 1);
    assert_eq!(j["compared"]["vmas"], ca.process(pid).unwrap().unwrap().vmas().unwrap().len());
}

#[test]
fn archives_and_standard_input_compare_equal_to_the_directory() {
    let dir = fixture("sleep");
    let tmp = scratch("archives");
    let tar = tmp.join("sleep.tar");
    let tgz = tmp.join("sleep.tar.gz");
    assert!(Command::new("tar").arg("-cf").arg(&tar).arg("-C").arg(&dir).arg(".").status().unwrap().success());
    assert!(Command::new("tar").arg("-czf").arg(&tgz).arg("-C").arg(&dir).arg(".").status().unwrap().success());
    for ar in [&tar, &tgz] {
        let o = diff(&dir, ar, &[]);
        assert_eq!(o.status.code(), Some(0), "{}: {}{}", ar.display(), text(&o), String::from_utf8_lossy(&o.stderr));
    }
    // B on standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_crit"))
        .arg("diff")
        .arg(&dir)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(&tgz).unwrap()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o), String::from_utf8_lossy(&o.stderr));
    assert!(text(&o).contains("+++ b  <stdin>"), "{}", text(&o));
    // Both on standard input cannot be.
    let o = diff(Path::new("-"), Path::new("-"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("both `-`"));
}

#[test]
fn an_unreadable_b_is_exit_2_and_named() {
    let orig = fixture("sleep");
    let ckpt = Checkpoint::open(&orig).unwrap();
    let pid = ckpt.processes().unwrap().nth(0).unwrap().pid();
    let dir = scratch("truncated");
    for e in std::fs::read_dir(&orig).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let core = format!("core-{pid}.img");
    let bytes = std::fs::read(dir.join(&core)).unwrap();
    std::fs::write(dir.join(&core), &bytes[..bytes.len() / 2]).unwrap();

    let o = diff(&orig, &dir, &[]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains(&format!("  ! b: {core}: entry 0")), "{t}");
    assert!(t.lines().last().unwrap().contains("incomplete: "), "{t}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the comparison is incomplete"), "{err}");

    let o = diff(&orig, &dir, &["--json"]);
    assert_eq!(o.status.code(), Some(2));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["complete"], false);
    let probs = j["problems"].as_array().unwrap();
    assert!(probs.iter().any(|p| p["side"] == "b" && p["file"] == core.as_str()), "{probs:?}");

    // A B that is not a checkpoint at all.
    let missing = dir.join("no-such-dir");
    let o = diff(&orig, &missing, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&missing.display().to_string()), "{}", String::from_utf8_lossy(&o.stderr));
    // Nor a section.
    let o = diff(&orig, &orig, &["--section", "mem"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("one of processes, fds, vmas, memory"));
    let o = diff(&orig, &orig, &["--section", "memory", "--no-memory"]);
    assert_eq!(o.status.code(), Some(2));
}
