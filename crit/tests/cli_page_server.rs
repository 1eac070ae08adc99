//! `crit page-server` and `crit mem-dump --page-server` end to end, as a user runs them: two
//! rounds of a live `sleep` from one crit to another, the second incremental; a closed port and
//! a server without the parent are clear errors with exit status 1.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod support;
use support::wait_until_asleep;

fn crit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crit"))
}

/// `crit page-server -D dir --port 0 --json [--prev prev]`, and the address it printed.
fn server(dir: &Path, prev: Option<&str>) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut cmd = crit();
    cmd.args(["page-server", "--port", "0", "--json", "-D"]).arg(dir);
    if let Some(p) = prev {
        cmd.args(["--prev", p]);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_string();
    assert!(addr.starts_with("127.0.0.1:"), "binds to loopback by default: {addr}");
    (child, addr, out)
}

fn field(j: &str, k: &str) -> u64 {
    let at = j.find(&format!("\"{k}\": ")).unwrap_or_else(|| panic!("{k} in {j}")) + k.len() + 4;
    j[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn two_rounds_from_crit_to_crit() {
    let mut target = Command::new("sleep").arg("100").stdin(Stdio::null()).spawn().unwrap();
    let pid = target.id().to_string();
    wait_until_asleep(target.id());
    let tmp = std::env::temp_dir().join(format!("crit-page-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (r1, r2, rec) = (tmp.join("r1"), tmp.join("r2"), tmp.join("record"));

    let (mut srv, addr, mut out) = server(&r1, None);
    let dump = crit().args(["mem-dump", "-t", &pid, "--page-server", &addr, "-D"]).arg(&rec).arg("--json").output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let json = String::from_utf8(dump.stdout).unwrap();
    assert!(srv.wait().unwrap().success());
    let mut summary = String::new();
    out.read_line(&mut summary).unwrap();
    let written = field(&json, "pages_written");
    assert!(written > 0 && json.contains("\"round\": 1"), "{json}");
    assert_eq!(field(&summary, "pages_written"), written, "server: {summary}");
    let pages = std::fs::metadata(r1.join("pages-65537.img")).unwrap().len();
    assert_eq!(pages, written * 4096);
    let show = crit().args(["decode", "-i"]).arg(r1.join(format!("pagemap-{pid}.img"))).output().unwrap();
    assert!(String::from_utf8_lossy(&show.stdout).starts_with("{\"magic\": \"PAGEMAP\", \"entries\": [{\"pages_id\": 65537}"));

    // Round 2: a sleeping process changed (almost) nothing.
    let (mut srv, addr, mut out) = server(&r2, Some("../r1"));
    let dump = crit().args(["mem-dump", "-t", &pid, "--page-server", &addr, "--prev-round", "-D"]).arg(&rec).arg("--json").output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let json = String::from_utf8(dump.stdout).unwrap();
    assert!(srv.wait().unwrap().success());
    let mut summary = String::new();
    out.read_line(&mut summary).unwrap();
    assert!(field(&json, "pages_parent") >= written - 2, "{json}");
    assert!(json.contains("\"round\": 2") && json.contains("\"incremental\": true"), "{json}");
    assert_eq!(std::fs::read_link(r2.join("parent")).unwrap(), Path::new("../r1"));

    // Round 3 to a server without the parent: refused, exit 2, nothing written there.
    let r3 = tmp.join("r3");
    let (srv, addr, _out) = server(&r3, None);
    let dump = crit().args(["mem-dump", "-t", &pid, "--page-server", &addr, "--prev-round", "-D"]).arg(&rec).output().unwrap();
    assert_eq!(dump.status.code(), Some(2));
    let err = String::from_utf8_lossy(&dump.stderr);
    assert!(err.contains("has no parent images for pid") && err.contains(&addr), "{err}");
    let served = srv.wait_with_output().unwrap();
    assert_eq!(served.status.code(), Some(2), "the server must fail a session that never closed");
    assert!(String::from_utf8_lossy(&served.stderr).contains("no PS_IOV_CLOSE"), "{}", String::from_utf8_lossy(&served.stderr));
    assert!(std::fs::read_dir(&r3).unwrap().next().is_none());

    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dump = crit().args(["mem-dump", "-t", &pid, "--page-server", &format!("127.0.0.1:{port}"), "-D"]).arg(&rec).output().unwrap();
    assert_eq!(dump.status.code(), Some(2));
    let err = String::from_utf8_lossy(&dump.stderr);
    assert!(err.contains(&format!("cannot connect to the page server at 127.0.0.1:{port}")), "{err}");

    target.kill().unwrap();
    target.wait().unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
}
