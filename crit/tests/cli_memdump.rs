//! `crit mem-dump` end to end: a live `sleep`, dumped twice (the second against the first), gives
//! CRIU-format images whose sizes agree with the summary; a vanished PID is a clear error.

use std::process::{Command, Stdio};

mod support;
use support::wait_until_asleep;

fn crit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crit"))
}

#[test]
fn mem_dump_then_incremental_dump() {
    let mut target = Command::new("sleep").arg("100").stdin(Stdio::null()).spawn().unwrap();
    let pid = target.id().to_string();
    wait_until_asleep(target.id());
    let tmp = std::env::temp_dir().join(format!("crit-memdump-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (a, b) = (tmp.join("a"), tmp.join("b"));

    let out = crit().args(["mem-dump", "-t", &pid, "-D"]).arg(&a).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = String::from_utf8(out.stdout).unwrap();
    let field = |j: &str, k: &str| -> u64 {
        let at = j.find(&format!("\"{k}\": ")).unwrap_or_else(|| panic!("{k} in {j}")) + k.len() + 4;
        j[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let written = field(&json, "pages_written");
    assert!(written > 0, "{json}");
    let pages = std::fs::metadata(a.join("pages-1.img")).unwrap().len();
    assert_eq!(pages, written * 4096);

    // The pagemap decodes with our crit, every entry present.
    let show = crit().args(["decode", "-i"]).arg(a.join(format!("pagemap-{pid}.img"))).output().unwrap();
    assert!(show.status.success());
    let text = String::from_utf8(show.stdout).unwrap();
    assert!(text.starts_with("{\"magic\": \"PAGEMAP\", \"entries\": [{\"pages_id\": 1}"), "{text}");

    // Nothing changed in a sleeping process: the second dump takes (almost) everything from its parent.
    let out = crit().args(["mem-dump", "-t", &pid, "-D"]).arg(&b).arg("--prev").arg(&a).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(field(&json, "pages_parent") >= written - 2, "{json}");
    assert_eq!(std::fs::read_link(b.join("parent")).unwrap(), a);

    target.kill().unwrap();
    target.wait().unwrap();
    let out = crit().args(["mem-dump", "-t", &pid, "-D"]).arg(tmp.join("c")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("no process {pid}")), "{err}");
    assert!(!tmp.join("c").exists(), "nothing is left of a dump that never started");
    std::fs::remove_dir_all(&tmp).unwrap();
}
