//! `cargo xtask compare-inspect DIR [--runs N]`: `crit inspect --all` against `checkpointctl
//! inspect --all` and `checkpointctl show` on Podman-layout archives of the checkpoint DIR (made
//! with `../shared/tools/make-podman-archive.sh`): a plain tar, a tar.gz, and a plain tar of the
//! same checkpoint whose pages file is grown by 512 MiB (zeros appended: nothing inspect reads
//! changes, so what crit holds must not grow with it). Checkpointctl comes from
//! `../shared/tools/build-peers.sh` (`$CHECKPOINTCTL`, else `~/.cache/criu-peers/checkpointctl`).
//!
//! Runs alternate between the tools (this machine is shared and noisy: compare within a run);
//! wall time is the median, memory the largest peak resident set (`ru_maxrss` from `wait4`, the
//! children started with fork+exec from this small process). Also `zcat` of the tar.gz, the floor
//! any reader of a gzip stream has.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask compare-inspect CHECKPOINT_DIR [--runs N]";

pub fn run(args: &[String]) -> Result<()> {
    let mut dir = None;
    let mut runs = 7usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().context(USAGE)?.parse().context("--runs N")?,
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => bail!("{USAGE}"),
        }
    }
    let dir = dir.context(USAGE)?;
    if !dir.join("pstree.img").is_file() {
        bail!("{}: not a checkpoint directory (no pstree.img); `cargo xtask big-checkpoint DIR` makes one", dir.display());
    }
    let root = crate::project_root();
    let cctl = std::env::var_os("CHECKPOINTCTL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/criu-peers/checkpointctl")
    });
    if !cctl.is_file() {
        bail!("{}: no checkpointctl; run ../shared/tools/build-peers.sh (or set CHECKPOINTCTL)", cctl.display());
    }
    let script = root.join("../shared/tools/make-podman-archive.sh");
    let crit = crate::dist::build()?;
    let work = root.join("target/compare-inspect");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("ckpt").to_string();
    let make = |src: &Path, out: &Path| -> Result<()> {
        let st = Command::new("bash").arg(&script).arg(src).arg(out).env("NAME", &name).stdout(Stdio::null()).status()?;
        if !st.success() {
            bail!("make-podman-archive.sh {} {}", src.display(), out.display());
        }
        Ok(())
    };
    let tar = work.join(format!("{name}.tar"));
    let tgz = work.join(format!("{name}.tar.gz"));
    make(&dir, &tar)?;
    make(&dir, &tgz)?;
    // The grown copy: symlinks to every image but the largest pages file, which is copied and
    // extended (written out, not sparse: a sparse tar member would be expanded by any reader).
    let grown_dir = work.join("grown");
    std::fs::create_dir_all(&grown_dir)?;
    let mut largest: Option<(u64, PathBuf)> = None;
    for e in std::fs::read_dir(&dir)? {
        let p = e?.path();
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if n.starts_with("pages-") && n.ends_with(".img") {
            let len = p.metadata()?.len();
            if largest.as_ref().is_none_or(|(l, _)| len > *l) {
                largest = Some((len, p.clone()));
            }
        }
        std::os::unix::fs::symlink(&p, grown_dir.join(&n))?;
    }
    let (pages_len, pages) = largest.context("the checkpoint has no pages file")?;
    let grown_pages = grown_dir.join(pages.file_name().unwrap());
    std::fs::remove_file(&grown_pages)?;
    std::fs::copy(&pages, &grown_pages)?;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&grown_pages)?;
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..512 {
            f.write_all(&zeros)?;
        }
    }
    let grown = work.join(format!("{name}-pages+512M.tar"));
    let st = Command::new("bash").arg(&script).arg(&grown_dir).arg(&grown).env("NAME", &name).env("TAR_OPTIONS", "--dereference").stdout(Stdio::null()).status()?;
    if !st.success() {
        bail!("make-podman-archive.sh {}", grown_dir.display());
    }

    println!(
        "compare-inspect: {} ({} pages bytes), {runs} runs each, alternating; median wall, peak RSS",
        dir.display(),
        pages_len
    );
    println!("{:<28} {:<34} {:>10} {:>10} {:>8}", "archive", "command", "wall", "peak RSS", "vs crit");
    for archive in [&tar, &tgz, &grown] {
        let size = archive.metadata()?.len();
        let a = archive.as_os_str().to_owned();
        let mut cmds: Vec<(String, PathBuf, Vec<std::ffi::OsString>)> = vec![
            ("crit inspect --all".into(), crit.clone(), vec!["inspect".into(), "--all".into(), a.clone()]),
            ("checkpointctl inspect --all".into(), cctl.clone(), vec!["inspect".into(), "--all".into(), a.clone()]),
            ("checkpointctl show".into(), cctl.clone(), vec!["show".into(), a.clone()]),
        ];
        if archive == &tgz {
            cmds.push(("zcat (inflate alone)".into(), "zcat".into(), vec![a.clone()]));
        }
        let mut samples: Vec<Vec<(Duration, u64)>> = vec![Vec::new(); cmds.len()];
        for r in 0..runs {
            for k in 0..cmds.len() {
                let k = if r % 2 == 0 { k } else { cmds.len() - 1 - k };
                let (label, bin, args) = &cmds[k];
                let (wall, rss, status) = measure(bin, args)?;
                if status != 0 {
                    bail!("{label} {} exited with {status}", archive.display());
                }
                samples[k].push((wall, rss));
            }
        }
        let med = |s: &[(Duration, u64)]| {
            let mut t: Vec<Duration> = s.iter().map(|x| x.0).collect();
            t.sort();
            t[t.len() / 2]
        };
        let base = med(&samples[0]).as_secs_f64();
        let label = format!("{} ({:.1} MiB)", archive.file_name().unwrap().to_string_lossy(), size as f64 / (1 << 20) as f64);
        for (k, (cmd, _, _)) in cmds.iter().enumerate() {
            let m = med(&samples[k]);
            let peak = samples[k].iter().map(|x| x.1).max().unwrap_or(0);
            println!(
                "{:<28} {:<34} {:>8.1}ms {:>7.1}MiB {:>7.1}x",
                if k == 0 { label.as_str() } else { "" },
                cmd,
                m.as_secs_f64() * 1e3,
                peak as f64 / 1024.0,
                m.as_secs_f64() / base
            );
        }
    }
    Ok(())
}

/// One run, stdout and stderr discarded: wall time, peak RSS in KiB, exit status.
fn measure(bin: &Path, args: &[std::ffi::OsString]) -> Result<(Duration, u64, i32)> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // fork+exec rather than posix_spawn: a child spawned with CLONE_VM inherits this process's
    // high-water RSS in ru_maxrss.
    // SAFETY: the closure does nothing, so it is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let t0 = Instant::now();
    let child = cmd.spawn().with_context(|| format!("running {}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our unreaped child; status and ru are valid for writes.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut ru) } == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("wait4");
        }
    }
    let wall = t0.elapsed();
    drop(child);
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    Ok((wall, ru.ru_maxrss as u64, code))
}
