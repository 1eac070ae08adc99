//! `crit x CKPT mounts|ns|cgroups|stats|net|container [--json]`: the inspect sections as views.
//! The CLI prints what the library renders (the values are tested in
//! `runtime/tests/inspect.rs`); here: every view on a directory and an archive, exit status 0,
//! `--json` the library's document, text the library's text, and no task index needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use criu_image::checkpoint::Checkpoint;
use criu_image::inspect::{self, Section};

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
            assert_eq!(s.name(), view);
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
