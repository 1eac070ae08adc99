//! `crit check` and `x` raise no false alarm on real ZDTM dumps that CRIU restores (copied into
//! `testdata/zdtm/`, see its MANIFEST): each case names the CRIU behaviour the rule follows.

use std::path::PathBuf;

use criu_image::check::{self, Severity};
use criu_image::checkpoint::Checkpoint;
use criu_image::explore::{self, Index};

fn set(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/zdtm").join(name);
    assert!(p.join("pstree.img").is_file(), "{} is missing (testdata/zdtm is part of the repository)", p.display());
    p
}

/// Errors and warnings of `crit check`, as text.
fn alarms(ckpt: &Checkpoint) -> Vec<String> {
    check::check(ckpt).diagnostics.iter().filter(|d| d.severity != Severity::Notice).map(|d| d.to_string()).collect()
}

/// Every problem the four crit views report.
fn view_problems(index: &Index<'_>) -> Vec<String> {
    let mut p: Vec<explore::Problem> = explore::ps(index).problems;
    p.extend(explore::fds(index).unwrap().problems);
    p.extend(explore::mems(index).unwrap().problems);
    p.extend(explore::rss(index).unwrap().problems);
    p.iter().map(|p| p.to_string()).collect()
}

#[test]
fn zombies_are_their_core_and_nothing_else() {
    for name in ["zombie00", "zombie_leader", "helper_zombie_child", "fork"] {
        let ckpt = Checkpoint::open(&set(name)).unwrap();
        let index = Index::new(&ckpt).unwrap();
        // The case this guards: zombies whose pstree threads are not their pid (0 or garbage),
        // with a core saying TASK_DEAD and no other per-task image.
        let zombies: Vec<_> = index.tasks().iter().filter(|t| index.is_zombie(t.pid)).collect();
        assert!(!zombies.is_empty(), "{name}: no zombie in the dump");
        assert!(zombies.iter().any(|t| t.threads != [t.pid]), "{name}: every zombie lists itself as its thread");
        for t in &zombies {
            assert!(!ckpt.contains(&format!("mm-{}.img", t.pid)), "{name}: zombie {} has an mm image", t.pid);
        }
        assert_eq!(alarms(&ckpt), Vec::<String>::new(), "{name}: crit check");
        assert_eq!(view_problems(&index), Vec::<String>::new(), "{name}: crit x");
    }
}

#[test]
fn a_zombie_still_needs_its_core() {
    // Without core-<pid>.img restore cannot tell the task is a zombie (open_core fails).
    let src = set("zombie00");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("zdtm-reg-{}-zombie-core", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let ckpt = Checkpoint::open(&dir).unwrap();
    let index = Index::new(&ckpt).unwrap();
    let z = index.tasks().iter().find(|t| index.is_zombie(t.pid)).unwrap().pid;
    drop(index);
    drop(ckpt);
    std::fs::remove_file(dir.join(format!("core-{z}.img"))).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let a = alarms(&ckpt);
    assert!(a.iter().any(|m| m.contains(&format!("core-{z}.img")) && m.starts_with("error")), "{a:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
