//! `cargo xtask dist`: the `crit` binary we ship and measure: statically linked (glibc's
//! `crt-static`), release profile, no debug info, at `target/dist/crit`.
//!
//! Why static: `crit x ps` on a 30 000-VMA checkpoint does about 0.1 ms of work; the rest of its
//! ~1.4 ms is starting the process, and a dynamically linked PIE spends a third of that in the
//! loader and in copy-on-write faults of relocated pages. The static build starts in about the time
//! of `/bin/true` (x ps 1.0 ms instead of 1.4 ms, measured with `cargo xtask compare-crit`).
//!
//! The target triple is passed explicitly so that `crt-static` applies to `crit` and not to the
//! proc-macros cargo builds for the host (which cannot be static).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if !args.is_empty() {
        bail!("usage: cargo xtask dist");
    }
    let bin = build()?;
    println!("{}", bin.display());
    Ok(())
}

/// Builds the static release binary and returns its path.
pub fn build() -> anyhow::Result<PathBuf> {
    let root = crate::project_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let vv = Command::new(&rustc).arg("-vV").output().context("running rustc -vV")?;
    let host = String::from_utf8_lossy(&vv.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host triple")?;
    let target_dir = target_dir();
    eprintln!("+ cargo build --release -p crit --target {host} (crt-static)");
    let st = Command::new(cargo)
        .args(["build", "--release", "-p", "crit", "--target", &host])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(&root)
        .stdin(Stdio::null())
        .status()
        .context("cannot run cargo")?;
    if !st.success() {
        bail!("building the static crit failed");
    }
    let built = target_dir.join(&host).join("release").join("crit");
    let dist = target_dir.join("dist");
    std::fs::create_dir_all(&dist)?;
    let out = dist.join("crit");
    std::fs::copy(&built, &out).with_context(|| format!("copying {}", built.display()))?;
    Ok(out)
}

/// Where cargo puts its output: `$CARGO_TARGET_DIR` (relative to the current directory) or `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                std::env::current_dir().unwrap_or_default().join(d)
            }
        }
        _ => crate::project_root().join("target"),
    }
}
