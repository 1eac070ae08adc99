//! Shared helpers for integration tests that need real CRIU.
#![allow(dead_code)]

pub mod raw;
pub mod target;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The `criu` binary: `$CRIU`, else `target/criu/bin/criu` as `cargo xtask criu` builds it.
/// Tests that need CRIU fail loudly (never skip) when it is missing or we are not root.
pub fn criu_bin() -> PathBuf {
    let p = std::env::var_os("CRIU").map(PathBuf::from).unwrap_or_else(|| root().join("target/criu/bin/criu"));
    assert!(p.is_file(), "real CRIU is needed for this test but {} does not exist: run `cargo xtask criu` (or set CRIU=/path/to/criu)", p.display());
    assert!(unsafe_is_root(), "this test dumps processes with real CRIU and must run as root");
    p
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// The bundled fixture checkpoints (copied from real CRIU dumps).
pub fn fixture(set: &str) -> PathBuf {
    root().join("testdata/images").join(set)
}

/// Makes `cmd` start its process in a session of its own with stdio on /dev/null, as the fixture
/// targets were started (CRIU then dumps it with `--shell-job` whatever the test's terminal is).
pub fn in_new_session(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}
