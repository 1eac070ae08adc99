//! `crit x CKPT mounts|ns|cgroups|stats|net|container [--json]`: the inspect sections as views.
//! The CLI prints what the library renders (the values are tested in
//! `runtime/tests/inspect.rs`); here: every view on a directory and an archive, exit status 0,
//! `--json` the library's document, text the library's text, and no task index needed; and
//! `crit inspect --all` on every fixture set and its archive.

use std::path::{Path, PathBuf};
use std::process::Command;

use criu_image::checkpoint::Checkpoint;
use criu_image::inspect::{self, Section};
use criu_image::proto::support::json_in::{self, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn section(view: &str, ckpt: &Checkpoint) -> Box<dyn Section> {
    use criu_image::inspect::*;
    match view {
        "mounts" => Box::new(mounts::Mounts::load(ckpt)),
        "ns" => Box::new(namespaces::Namespaces::load(ckpt)),
        "cgroups" => Box::new(cgroups::Cgroups::load(ckpt)),
        "stats" => Box::new(stats::Stats::load(ckpt)),
        "net" => Box::new(net::Net::load(ckpt)),
        "container" => Box::new(container::Container::load(ckpt)),
        _ => unreachable!(),
    }
}

#[test]
fn views_print_the_library_sections() {
    let inputs = [root().join("testdata/images/nsbox"), root().join("testdata/podman/loop.tar.gz")];
    for input in &inputs {
        let ckpt = Checkpoint::open(input).unwrap();
        for view in ["mounts", "ns", "cgroups", "stats", "net", "container"] {
            let s = section(view, &ckpt);
            // `x ns` is the namespaces section.
            assert_eq!(s.name(), if view == "ns" { "namespaces" } else { view });
            for json in [false, true] {
                let mut args = vec!["x", input.to_str().unwrap(), view];
                if json {
                    args.push("--json");
                }
                let out = Command::new(env!("CARGO_BIN_EXE_crit")).args(&args).output().unwrap();
                assert!(out.status.success(), "crit {args:?}: {}", String::from_utf8_lossy(&out.stderr));
                let mut want = Vec::new();
                if json {
                    inspect::write_json_document(s.as_ref(), &mut want).unwrap();
                } else {
                    s.write_text(&mut want).unwrap();
                }
                assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&want), "crit {args:?}");
            }
        }
    }
}

#[test]
fn views_work_without_a_process_tree() {
    // A directory holding only a mount image: the sections say what they can; `ps` could not.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-inspect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("testdata/images/nsbox/mountpoints-14.img"), dir.join("mountpoints-14.img")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crit")).args(["x", dir.to_str().unwrap(), "mounts"]).output().unwrap();
    // Printed, with what it could not read: exit status 1.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(mountpoints-14.img): 25 mounts"), "{text}");
    assert!(text.contains("! pstree.img: missing"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn crit_out(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crit")).args(args).output().unwrap()
}

const SETS: [&str; 8] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo", "nsbox"];

/// `crit inspect --all` on every fixture set and its tar.gz: exit 0, list lines within 80
/// columns, JSON with every section and a task per process, the same text for both.
#[test]
fn crit_inspect_text_and_json_on_every_set_and_its_archive() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for set in SETS {
        let dir = root().join("testdata/images").join(set);
        let tar = tmp.join(format!("{set}.tar.gz"));
        let st = Command::new("tar").arg("-czf").arg(&tar).arg("-C").arg(dir.parent().unwrap()).arg(set).status().unwrap();
        assert!(st.success());
        let mut texts = Vec::new();
        for path in [&dir, &tar] {
            let out = crit_out(&["inspect", "--all", path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{set}: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).unwrap();
            // Lists wrap at 80 columns; what cannot (paths, command lines, long names) may not.
            for l in text.lines().filter(|l| l.contains(", ") && !l.contains('/')) {
                assert!(l.chars().count() <= 80, "{set}: {l:?} ({} columns)", l.chars().count());
            }
            texts.push(text);
            let out = crit_out(&["inspect", "--all", "--json", path.to_str().unwrap()]);
            let v = json_in::parse(&out.stdout).unwrap_or_else(|e| panic!("{set}: {e}"));
            for s in ["container", "checkpoint", "processes", "namespaces", "net", "mounts", "cgroups", "stats", "files"] {
                assert!(v.get(s).is_some(), "{set}: no {s} in --json");
            }
            let Some(Value::Array(tasks)) = v.get("processes").and_then(|p| p.get("tasks")) else { panic!("{set}: processes.tasks") };
            assert_eq!(tasks.len(), Checkpoint::open(&dir).unwrap().processes().unwrap().len(), "{set}");
        }
        // Everything but the format and source lines is the same for the directory and its archive.
        let strip = |t: &str| t.lines().filter(|l| !l.starts_with("checkpoint (") && !l.starts_with("container")).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(strip(&texts[0]), strip(&texts[1]), "{set}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
