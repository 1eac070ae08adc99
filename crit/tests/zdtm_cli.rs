//! `crit` as users run it on real ZDTM dumps (`testdata/zdtm/`, see its MANIFEST) that CRIU
//! restores: no false alarm on stderr, exit 0.

use std::path::PathBuf;
use std::process::Command;

fn set(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/zdtm").join(name)
}

#[track_caller]
fn quiet(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crit")).args(args).output().unwrap();
    assert!(out.status.success(), "crit {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "crit {args:?} warned: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn zombies_raise_no_warning() {
    for name in ["zombie00", "zombie_leader", "helper_zombie_child", "fork"] {
        let dir = set(name);
        let d = dir.to_str().unwrap();
        let out = quiet(&["x", d, "ps", "--cmdline", "--env"]);
        assert!(out.lines().count() > 2, "{name}: {out}");
        for view in ["fds", "mems", "rss"] {
            quiet(&["x", d, view]);
        }
        quiet(&["check", d]);
    }
}
