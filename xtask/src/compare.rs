//! `cargo xtask compare-crit DIR [--ours PATH] [--theirs PATH] [--runs N] [--json FILE] [--only LIST]
//! [--match SUBSTR]... [--keep OUTDIR]`: time our `crit` against CRIU's reference Python crit on every
//! image of a checkpoint directory, and check that our output is byte-identical to theirs.
//!
//! Commands measured, per protobuf image: `decode -i IMG`, `decode -i IMG --pretty`, `show IMG`,
//! `encode -i JSON` (JSON being crit-ref's own `decode` output for the image) and `info IMG`; per
//! directory: `x DIR ps|fds|mems|rss`. Images crit-ref cannot decode at all (raw data: `pages-*`,
//! ip/nftables dumps) are skipped. When crit-ref *fails* a command (it cannot `info` a ghost file),
//! the command is still run: a drop-in must fail too, so only the exit statuses are compared.
//!
//! Each measurement is one process: wall time from spawn to `wait4`, and the peak resident set
//! (`ru_maxrss`) that `wait4` reports for it. Runs alternate (ours, theirs, theirs, ours, ours, ...)
//! so drift in machine load and warm-up effects hit both sides alike; tables show the median time
//! and the peak memory over the runs. Output goes to files (not pipes), so neither side is slowed
//! by a reader.
//!
//! Correctness: our stdout (first run) must equal theirs byte for byte, and the exit statuses must
//! agree (both zero or both non-zero). Mismatches are reported, not fatal, until the end: the command
//! then fails so scripts notice. `--json FILE` writes everything measured, machine-readably.
//!
//! Defaults: ours = `target/dist/crit` (rebuilt first with `cargo xtask dist`, a
//! no-op when fresh, so stale binaries are never timed), theirs = `target/criu/bin/crit-ref` (from
//! `cargo xtask criu`), 3 runs each.
//!
//! Peers: more contenders timed in the same alternation, each in its own columns (time, and its
//! time over ours), their output not compared (go-criu's JSON is its own). By default: the plain
//! `cargo build --release` binary (`release`: what a user who builds from source runs; rebuilt
//! first), and go-criu's crit where `../shared/tools/build-peers.sh` left one (`go`: the newest
//! upstream, `go-criu-upstream`; `go-7.2`: Debian's). go-criu's encode reads its own decode's
//! JSON, so that is its input; its `x` views are `ps|fd|mem|rss`. `--peer NAME=PATH` adds a crit
//! with CRIU crit's command line, `--go NAME=PATH` a go-criu crit, `--no-default-peers` drops the
//! defaults.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask compare-crit DIR [--ours PATH] [--theirs PATH] [--runs N] [--json FILE]\n\
                     \x20                              [--only LIST] [--match SUBSTR]... [--keep OUTDIR]\n\
                     \x20                              [--peer NAME=PATH]... [--go NAME=PATH]... [--no-default-peers]\n\
  --ours PATH     our crit (default: target/dist/crit, the static build of `cargo xtask dist`)\n\
  --theirs PATH   CRIU's crit (default: target/criu/bin/crit-ref, from `cargo xtask criu`)\n\
  --runs N        runs of each side per measurement, alternating (default 3)\n\
  --json FILE     also write the results as JSON\n\
  --only LIST     comma-separated subset of: decode,pretty,show,encode,info,x,x-ps,x-fds,x-mems,x-rss\n\
  --match SUBSTR  only images whose name contains SUBSTR (repeatable; x commands still run on DIR)\n\
  --keep OUTDIR   keep every first-run output (and stderr) in OUTDIR for inspection\n\
  --peer NAME=PATH   also time this crit (CRIU crit's command line), output not compared\n\
  --go NAME=PATH     also time this go-criu crit\n\
  --no-default-peers do not add target/release/crit and go-criu's crit from ~/.cache/criu-peers";

/// The commands, in report order: (key for --only, label, per-image?).
const COMMANDS: &[(&str, &str, bool)] = &[
    ("decode", "decode", true),
    ("pretty", "decode --pretty", true),
    ("show", "show", true),
    ("encode", "encode", true),
    ("info", "info", true),
    ("x-ps", "x ps", false),
    ("x-fds", "x fds", false),
    ("x-mems", "x mems", false),
    ("x-rss", "x rss", false),
];

struct Opts {
    dir: PathBuf,
    ours: Option<PathBuf>,
    theirs: PathBuf,
    runs: usize,
    json: Option<PathBuf>,
    only: Vec<String>,
    matches: Vec<String>,
    keep: Option<PathBuf>,
    peers: Vec<Peer>,
    default_peers: bool,
}

/// A contender timed beside ours and theirs, whose output is not compared.
#[derive(Clone)]
struct Peer {
    name: String,
    bin: PathBuf,
    /// go-criu's crit: its own JSON for encode, its own names for the `x` views.
    go: bool,
}

fn peer_arg(v: &str, go: bool) -> Result<Peer> {
    let (name, bin) = v
        .split_once('=')
        .with_context(|| format!("`{v}`: expected NAME=PATH"))?;
    Ok(Peer {
        name: name.to_string(),
        bin: bin.into(),
        go,
    })
}

/// The default peers: the plain release build, and go-criu's crit from `build-peers.sh`.
fn default_peers() -> Result<Vec<Peer>> {
    let mut v = Vec::new();
    let root = crate::project_root();
    let st = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "-p", "crit"])
        .current_dir(&root)
        .status()
        .context("cargo build --release -p crit")?;
    if !st.success() {
        bail!("cargo build --release -p crit failed");
    }
    v.push(Peer {
        name: "release".into(),
        bin: root.join("target/release/crit"),
        go: false,
    });
    let cache = std::env::var_os("PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/criu-peers")
        });
    for (name, file) in [("go", "go-crit-upstream"), ("go-7.2", "go-crit")] {
        let bin = cache.join(file);
        if bin.is_file() {
            v.push(Peer {
                name: name.into(),
                bin,
                go: true,
            });
        } else {
            println!(
                "peer {name}: no {} (../shared/tools/build-peers.sh builds it); not measured",
                bin.display()
            );
        }
    }
    Ok(v)
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        dir: PathBuf::new(),
        ours: None,
        theirs: crate::criu::default_prefix().join("bin").join("crit-ref"),
        runs: 3,
        json: None,
        only: Vec::new(),
        matches: Vec::new(),
        keep: None,
        peers: Vec::new(),
        default_peers: true,
    };
    let mut dir = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |what: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{what} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--ours" => o.ours = Some(val("--ours")?.into()),
            "--theirs" => o.theirs = val("--theirs")?.into(),
            "--runs" => {
                let v = val("--runs")?;
                o.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--runs {v}: need a positive number"))?;
            }
            "--json" => o.json = Some(val("--json")?.into()),
            "--only" => {
                for k in val("--only")?.split(',').filter(|k| !k.is_empty()) {
                    if k != "x" && !COMMANDS.iter().any(|c| c.0 == k) {
                        bail!("--only: unknown command `{k}`\n{USAGE}");
                    }
                    o.only.push(k.to_string());
                }
            }
            "--match" => o.matches.push(val("--match")?),
            "--keep" => o.keep = Some(val("--keep")?.into()),
            "--peer" => o.peers.push(peer_arg(&val("--peer")?, false)?),
            "--go" => o.peers.push(peer_arg(&val("--go")?, true)?),
            "--no-default-peers" => o.default_peers = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown option `{s}`\n{USAGE}"),
            s if dir.is_none() => dir = Some(PathBuf::from(s)),
            s => bail!("unexpected argument `{s}`\n{USAGE}"),
        }
    }
    o.dir = dir.with_context(|| format!("missing DIR\n{USAGE}"))?;
    Ok(o)
}

impl Opts {
    fn wants(&self, key: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|k| k == key || (k == "x" && key.starts_with("x-")))
    }
}

/// One process run.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    maxrss_kib: u64,
    user: Duration,
    sys: Duration,
    /// Exit code, or 128 + signal number.
    status: i32,
}

/// All runs of one side for one command.
#[derive(Default)]
struct Side {
    samples: Vec<Sample>,
}

impl Side {
    fn median(&self) -> Duration {
        let mut t: Vec<Duration> = self.samples.iter().map(|s| s.wall).collect();
        t.sort();
        let n = t.len();
        if n == 0 {
            Duration::ZERO
        } else if n % 2 == 1 {
            t[n / 2]
        } else {
            (t[n / 2 - 1] + t[n / 2]) / 2
        }
    }
    fn peak_kib(&self) -> u64 {
        self.samples.iter().map(|s| s.maxrss_kib).max().unwrap_or(0)
    }
    fn status(&self) -> i32 {
        self.samples.first().map_or(-1, |s| s.status)
    }
}

/// One (command, image) measurement.
struct Job {
    key: &'static str,
    label: &'static str,
    /// Image file name, or the directory for `x`.
    image: String,
    image_bytes: u64,
    ours: Side,
    theirs: Side,
    /// One per peer, in `Opts::peers` order.
    peers: Vec<Side>,
    /// None: identical (same stdout, statuses agree). Some(reason) otherwise.
    mismatch: Option<String>,
    /// Informational remarks (e.g. crit-ref's encode does not reproduce the image).
    note: Option<String>,
}

impl Job {
    fn theirs_failed(&self) -> bool {
        self.theirs.status() != 0
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if !o.dir.is_dir() {
        bail!("{} is not a directory", o.dir.display());
    }
    if !o.theirs.is_file() {
        bail!(
            "no reference crit at {}: run `cargo xtask criu` first, or pass --theirs",
            o.theirs.display()
        );
    }
    let ours = match &o.ours {
        Some(p) => p.clone(),
        None => build_ours()?,
    };
    if !ours.is_file() {
        bail!("no crit at {}", ours.display());
    }
    let theirs = o.theirs.clone();
    let mut o = o;
    if o.default_peers {
        let mut d = default_peers()?;
        d.append(&mut o.peers);
        o.peers = d;
    }
    for p in &o.peers {
        if !p.bin.is_file() {
            bail!("peer {}: no such file {}", p.name, p.bin.display());
        }
    }

    let scratch = Scratch::new(o.keep.clone())?;
    let work = scratch.path.clone();

    // The images to measure: everything crit-ref can decode. Their plain JSON is kept as the input
    // of `encode`; this first decode also warms the page cache for both sides.
    let mut names: Vec<String> = fs::read_dir(&o.dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !skip_name(n))
        .filter(|n| o.matches.is_empty() || o.matches.iter().any(|m| n.contains(m.as_str())))
        .collect();
    names.sort();
    let mut images: Vec<(String, u64)> = Vec::new();
    // Raw memory images are skipped by name: crit-ref refuses them, slowly on a big dump.
    let mut skipped: Vec<(String, String)> = names
        .iter()
        .filter(|n| n.starts_with("pages-"))
        .map(|n| (n.clone(), "raw data".to_string()))
        .collect();
    names.retain(|n| !n.starts_with("pages-"));
    println!("ours:   {}\ntheirs: {}", ours.display(), theirs.display(),);
    for p in &o.peers {
        println!(
            "{:<7} {}{}",
            format!("{}:", p.name),
            p.bin.display(),
            if p.go { " (go-criu)" } else { "" }
        );
    }
    println!(
        "classifying the images of {} with crit-ref decode ...",
        o.dir.display()
    );
    for n in names {
        let path = o.dir.join(&n);
        let json = work.join(format!("{n}.theirs-plain.json"));
        let err = work.join(format!("{n}.theirs-plain.stderr"));
        let s = measure(
            &theirs,
            &[
                OsString::from("decode"),
                OsString::from("-i"),
                path.clone().into(),
            ],
            &json,
            &err,
        )?;
        if s.status != 0 {
            let msg = fs::read_to_string(&err).unwrap_or_default();
            let why = if msg.contains("raw data") {
                "raw data".to_string()
            } else {
                format!("crit-ref decode fails: {}", last_line(&msg))
            };
            skipped.push((n, why));
            continue;
        }
        // go-criu's encode reads go-criu's JSON: its own decode of the image.
        for p in o.peers.iter().filter(|p| p.go) {
            let json = work.join(format!("{n}.{}-plain.json", p.name));
            let err = work.join(format!("{n}.{}-plain.stderr", p.name));
            measure(
                &p.bin,
                &[
                    OsString::from("decode"),
                    OsString::from("-i"),
                    path.clone().into(),
                ],
                &json,
                &err,
            )?;
        }
        images.push((n, fs::metadata(&path)?.len()));
    }
    if !skipped.is_empty() {
        let list: Vec<String> = skipped
            .iter()
            .map(|(n, w)| {
                if w == "raw data" {
                    n.clone()
                } else {
                    format!("{n} ({w})")
                }
            })
            .collect();
        println!("skipped (not decodable by crit-ref): {}", list.join(", "));
    }
    println!(
        "{} images, {} runs per side per measurement\n",
        images.len(),
        o.runs
    );

    let mut jobs: Vec<Job> = Vec::new();
    let t0 = Instant::now();
    for &(key, label, per_image) in COMMANDS {
        if !o.wants(key) {
            continue;
        }
        let targets: Vec<(String, u64)> = if per_image {
            images.clone()
        } else {
            vec![(o.dir.display().to_string(), 0)]
        };
        for (image, bytes) in targets {
            let path = o.dir.join(&image);
            let args: Vec<OsString> = match key {
                "decode" => vec!["decode".into(), "-i".into(), path.into()],
                "pretty" => vec!["decode".into(), "-i".into(), path.into(), "--pretty".into()],
                "show" => vec!["show".into(), path.into()],
                "encode" => vec![
                    "encode".into(),
                    "-i".into(),
                    work.join(format!("{image}.theirs-plain.json")).into(),
                ],
                "info" => vec!["info".into(), path.into()],
                x => vec![
                    "x".into(),
                    o.dir.clone().into(),
                    x.trim_start_matches("x-").into(),
                ],
            };
            let peers: Vec<(&Peer, Vec<OsString>)> = o
                .peers
                .iter()
                .map(|p| {
                    let a = if !p.go {
                        args.clone()
                    } else if key == "encode" {
                        vec![
                            "encode".into(),
                            "-i".into(),
                            work.join(format!("{image}.{}-plain.json", p.name)).into(),
                        ]
                    } else if let Some(x) = key.strip_prefix("x-") {
                        let v = match x {
                            "fds" => "fd",
                            "mems" => "mem",
                            v => v,
                        };
                        vec!["x".into(), o.dir.clone().into(), v.into()]
                    } else {
                        args.clone()
                    };
                    (p, a)
                })
                .collect();
            let job = measure_job(
                key,
                label,
                image,
                bytes,
                &args,
                &ours,
                &theirs,
                &peers,
                o.runs,
                &work,
                &o.dir,
                o.keep.is_some(),
            )?;
            print_progress(&job);
            jobs.push(job);
        }
    }
    println!("\nmeasured in {:.1?}\n", t0.elapsed());

    report(&jobs, o.runs, &o.peers);
    if !skipped.is_empty() {
        println!(
            "skipped: {}",
            skipped
                .iter()
                .map(|s| s.0.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let Some(path) = &o.json {
        fs::write(path, to_json(&o, &ours, &images, &skipped, &jobs))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(k) = &o.keep {
        println!("outputs kept in {}", k.display());
    }
    let bad = jobs.iter().filter(|j| j.mismatch.is_some()).count();
    if bad > 0 {
        bail!("{bad} of {} outputs differ from crit-ref's", jobs.len());
    }
    let by_design = jobs.iter().filter(|j| j.note.as_deref().is_some_and(|n| n.contains("by design"))).count();
    if by_design > 0 {
        println!("all {} outputs identical to crit-ref's but {by_design} that differ by design (see the notes)", jobs.len());
    } else {
        println!("all {} outputs identical to crit-ref's", jobs.len());
    }
    Ok(())
}

/// Names that are certainly not images: logs, notes, checksums and hidden files.
fn skip_name(n: &str) -> bool {
    n.starts_with('.')
        || n == "SHA256SUMS"
        || [".txt", ".log", ".md", ".json"]
            .iter()
            .any(|e| n.ends_with(e))
}

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("").trim()
}

/// `cargo xtask dist` (the static release build we ship), returning the binary's path.
fn build_ours() -> Result<PathBuf> {
    crate::dist::build()
}

/// A working directory: OUTDIR from --keep (kept), or a scratch directory (removed on drop).
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn new(keep: Option<PathBuf>) -> Result<Scratch> {
        let (path, keep) = match keep {
            Some(p) => (p, true),
            None => (
                std::env::temp_dir().join(format!("xtask-compare-{}", std::process::id())),
                false,
            ),
        };
        if !keep {
            let _ = fs::remove_dir_all(&path);
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Scratch { path, keep })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Run `bin args` with stdout to `out` and stderr to `err`, measuring wall time and rusage.
///
/// Two runs: time comes from one started with std's posix_spawn (cheap, like a shell starts a
/// command), peak memory from one started with fork+exec (see `run_once`). Forking this process
/// costs time proportional to its own address space, which for millisecond commands like
/// `x ps` would otherwise be a large part of what is measured, on both sides.
fn measure(bin: &Path, args: &[OsString], out: &Path, err: &Path) -> Result<Sample> {
    let timed = run_once(bin, args, out, err, false)?;
    let sized = run_once(bin, args, out, err, true)?;
    Ok(Sample {
        maxrss_kib: sized.maxrss_kib,
        ..timed
    })
}

fn run_once(bin: &Path, args: &[OsString], out: &Path, err: &Path, fork: bool) -> Result<Sample> {
    let stdout = fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let stderr = fs::File::create(err)?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // For memory, force fork+exec instead of std's default posix_spawn. posix_spawn runs the child on *our*
    // address space (CLONE_VM) until exec, and exec records that address space's high-water RSS
    // in the child's ru_maxrss: every measurement would then be at least xtask's own peak. After a
    // real fork, the child's floor is only the anonymous memory it inherited (a few hundred KiB).
    if fork {
        // SAFETY: the closure does nothing, so it is trivially async-signal-safe.
        unsafe {
            cmd.pre_exec(|| Ok(()));
        }
    }
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our child, not yet reaped (std's Child is never waited on: dropping it
        // does not wait); status and ru are valid for writes. wait4 gives this child's own rusage.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("wait4");
        }
    }
    let wall = t0.elapsed();
    drop(child);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let status = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok(Sample {
        wall,
        maxrss_kib: ru.ru_maxrss as u64,
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        status,
    })
}

#[allow(clippy::too_many_arguments)]
fn measure_job(
    key: &'static str,
    label: &'static str,
    image: String,
    image_bytes: u64,
    args: &[OsString],
    ours: &Path,
    theirs: &Path,
    peers: &[(&Peer, Vec<OsString>)],
    runs: usize,
    work: &Path,
    dir: &Path,
    keep: bool,
) -> Result<Job> {
    let stem = format!("{}.{key}", image.replace('/', "_"));
    let file = |side: &str, what: &str| work.join(format!("{stem}.{side}.{what}"));
    let scratch_out = work.join("scratch.out");
    let scratch_err = work.join("scratch.err");
    let mut job = Job {
        key,
        label,
        image,
        image_bytes,
        ours: Side::default(),
        theirs: Side::default(),
        peers: peers.iter().map(|_| Side::default()).collect(),
        mismatch: None,
        note: None,
    };
    // Contenders: 0 ours, 1 theirs, 2.. the peers.
    let n = 2 + peers.len();
    let contender = |i: usize| -> (&str, &Path, &[OsString]) {
        match i {
            0 => ("ours", ours, args),
            1 => ("theirs", theirs, args),
            _ => (
                peers[i - 2].0.name.as_str(),
                peers[i - 2].0.bin.as_path(),
                peers[i - 2].1.as_slice(),
            ),
        }
    };
    for r in 0..runs {
        // Rotate who goes first too: the second of a pair tends to benefit from the first
        // (warm caches, CPU frequency), which would otherwise always favour the same side. With
        // two contenders this is ours, theirs, theirs, ours, ...
        let order: Vec<usize> = if n == 2 {
            if r % 2 == 0 { vec![0, 1] } else { vec![1, 0] }
        } else {
            (0..n).map(|k| (k + r) % n).collect()
        };
        for i in order {
            let (side, bin, a) = contender(i);
            // Only the first run's output is kept for comparison; later runs overwrite a scratch
            // file. Peers' outputs are not compared: scratch from the start.
            let (out, err) = if r == 0 && i < 2 {
                (file(side, "out"), file(side, "stderr"))
            } else {
                (scratch_out.clone(), scratch_err.clone())
            };
            let s = measure(bin, a, &out, &err)?;
            let dest = match i {
                0 => &mut job.ours,
                1 => &mut job.theirs,
                _ => &mut job.peers[i - 2],
            };
            dest.samples.push(s);
        }
    }
    let (so, st) = (job.ours.status(), job.theirs.status());
    let (oo, to) = (file("ours", "out"), file("theirs", "out"));
    job.mismatch = if (so == 0) != (st == 0) {
        let stderr = |side| fs::read_to_string(file(side, "stderr")).unwrap_or_default();
        Some(format!(
            "exit status: ours {so}, theirs {st} (ours stderr: {:?}; theirs stderr: {:?})",
            clip(last_line(&stderr("ours")), 200),
            clip(last_line(&stderr("theirs")), 200)
        ))
    } else {
        first_difference(&oo, &to)?
    };
    if key == "info" && so == 0 && st == 0 && job.mismatch.is_some() && carries_payloads(&job.image) {
        // README, "Beyond crit": crit's info skips 4 + size per entry and reads the payload as
        // the next size; ours counts the entries. Only the exit statuses must agree here.
        job.mismatch = None;
        job.note = Some("count differs by design: crit miscounts images with payloads".into());
    }
    if key == "encode" && st == 0 {
        // crit-ref's decode→encode is byte-identical on CRIU 4.2's images; say so if it is not here.
        if first_difference(&to, &dir.join(&job.image))?.is_some() {
            job.note = Some("crit-ref's encode does not reproduce the original image".into());
        }
    }
    if !keep {
        // Outputs of a big checkpoint run to hundreds of MB; only the ones asked for are kept.
        for side in ["ours", "theirs"] {
            for what in ["out", "stderr"] {
                let _ = fs::remove_file(file(side, what));
            }
        }
    }
    Ok(job)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

/// None if the files are identical, else where they first differ (byte offset, line, both lines).
fn first_difference(a: &Path, b: &Path) -> Result<Option<String>> {
    let (mut fa, mut fb) = (fs::File::open(a)?, fs::File::open(b)?);
    let (la, lb) = (fa.metadata()?.len(), fb.metadata()?.len());
    let mut off = 0u64;
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        let n = na.min(nb);
        if let Some(i) = (0..n).find(|&i| ba[i] != bb[i]) {
            return Ok(Some(describe_difference(a, b, off + i as u64, la, lb)?));
        }
        if na != nb {
            return Ok(Some(describe_difference(a, b, off + n as u64, la, lb)?));
        }
        if na == 0 {
            return Ok(None);
        }
        off += n as u64;
    }
}

fn read_full(f: &mut fs::File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn describe_difference(a: &Path, b: &Path, at: u64, la: u64, lb: u64) -> Result<String> {
    // Show the differing line of each side (outputs are text, except encode's).
    let line_at = |p: &Path| -> Result<(usize, String)> {
        let data = fs::read(p)?;
        let at = (at as usize).min(data.len());
        let line_no = data[..at].iter().filter(|&&c| c == b'\n').count() + 1;
        let start = data[..at]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let end = data[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(data.len(), |i| at + i);
        // Long lines (one-line JSON) are cut around the difference.
        let (s, e) = (start.max(at.saturating_sub(60)), end.min(at + 60));
        Ok((line_no, String::from_utf8_lossy(&data[s..e]).into_owned()))
    };
    let (line, oa) = line_at(a)?;
    let (_, ob) = line_at(b)?;
    Ok(format!(
        "stdout differs at byte {at} (line {line}; sizes ours {la}, theirs {lb}): ours {oa:?} theirs {ob:?}"
    ))
}

fn print_progress(j: &Job) {
    println!(
        "  {:<16} {:<28} ours {:>9}  theirs {:>9}  {}",
        j.label,
        clip(&j.image, 28),
        ms(j.ours.median()),
        ms(j.theirs.median()),
        if j.mismatch.is_some() {
            "DIFFERS"
        } else {
            "ok"
        }
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn ratio(num: f64, den: f64) -> String {
    if den > 0.0 && num > 0.0 {
        format!("{:.2}x", num / den)
    } else {
        "-".into()
    }
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// Whether an image scales with the process (its VMAs and fds): the "whole-process" aggregate.
fn whole_process(image: &str) -> bool {
    (image.starts_with("mm-") || image.starts_with("fdinfo-")) && image.ends_with(".img")
        || image == "files.img"
}

/// An aggregate line: the sum of median times, and the largest peak memory of any one run.
struct Agg {
    n: usize,
    ours: Duration,
    theirs: Duration,
    ours_kib: u64,
    theirs_kib: u64,
    bad: usize,
}

fn aggregate<'a>(jobs: impl Iterator<Item = &'a Job>) -> Agg {
    let mut a = Agg {
        n: 0,
        ours: Duration::ZERO,
        theirs: Duration::ZERO,
        ours_kib: 0,
        theirs_kib: 0,
        bad: 0,
    };
    for j in jobs {
        a.n += 1;
        a.ours += j.ours.median();
        a.theirs += j.theirs.median();
        a.ours_kib = a.ours_kib.max(j.ours.peak_kib());
        a.theirs_kib = a.theirs_kib.max(j.theirs.peak_kib());
        a.bad += usize::from(j.mismatch.is_some());
    }
    a
}

/// A peer's aggregate over jobs: the sum of its median times and of ours over the jobs it
/// succeeded on (a failed run is no time to compare), and its largest peak RSS.
struct PeerAgg {
    ours: Duration,
    peer: Duration,
    peak_kib: u64,
    failed: usize,
}

fn peer_aggregate<'a>(jobs: impl Iterator<Item = &'a Job>, i: usize) -> PeerAgg {
    let mut a = PeerAgg {
        ours: Duration::ZERO,
        peer: Duration::ZERO,
        peak_kib: 0,
        failed: 0,
    };
    for j in jobs {
        let p = &j.peers[i];
        if p.status() != 0 {
            a.failed += 1;
            continue;
        }
        a.ours += j.ours.median();
        a.peer += p.median();
        a.peak_kib = a.peak_kib.max(p.peak_kib());
    }
    a
}

/// The peer columns of a row: its time (or `fail`) and its time over ours.
fn peer_cells(ours: Duration, peer: Option<Duration>) -> String {
    match peer {
        Some(t) => format!(
            " {:>10} {:>8}",
            ms(t),
            ratio(t.as_secs_f64(), ours.as_secs_f64())
        ),
        None => format!(" {:>10} {:>8}", "fail", "-"),
    }
}

fn report(jobs: &[Job], runs: usize, peers: &[Peer]) {
    println!(
        "median wall time of {runs} runs, peak RSS over them; speedup = theirs/ours time, mem = ours/theirs peak RSS;\n\
         per peer: its time and its time over ours (its output is not compared)\n"
    );
    let peer_heads: String = peers
        .iter()
        .map(|p| {
            format!(
                " {:>10} {:>8}",
                clip(&p.name, 10),
                format!("vs {}", p.name.chars().take(5).collect::<String>())
            )
        })
        .collect();
    let header = format!(
        "{:<32} {:>10} {:>11} {:>11} {:>8} {:>8} {:>8} {:>6}{peer_heads}  {}",
        "image", "size", "ours", "theirs", "speedup", "ours MiB", "thrs MiB", "mem", "result"
    );
    let row = |name: &str,
               size: &str,
               ours: Duration,
               theirs: Duration,
               ok: u64,
               tk: u64,
               cells: &str,
               result: &str| {
        println!(
            "{:<32} {:>10} {:>11} {:>11} {:>8} {:>8} {:>8} {:>6}{cells}  {}",
            clip(name, 32),
            size,
            ms(ours),
            ms(theirs),
            ratio(theirs.as_secs_f64(), ours.as_secs_f64()),
            mib(ok),
            mib(tk),
            ratio(ok as f64, tk as f64),
            result
        )
    };
    let job_cells = |j: &Job| -> String {
        j.peers
            .iter()
            .map(|p| peer_cells(j.ours.median(), (p.status() == 0).then(|| p.median())))
            .collect()
    };
    let agg_cells = |js: &[&Job]| -> String {
        (0..peers.len())
            .map(|i| {
                let a = peer_aggregate(js.iter().copied(), i);
                if a.peer.is_zero() {
                    peer_cells(a.ours, None)
                } else {
                    peer_cells(a.ours, Some(a.peer))
                }
            })
            .collect()
    };
    let mut summary: Vec<(String, Agg, Vec<PeerAgg>)> = Vec::new();
    for &(key, label, per_image) in COMMANDS {
        let js: Vec<&Job> = jobs.iter().filter(|j| j.key == key).collect();
        if js.is_empty() {
            continue;
        }
        println!("== crit {label} ==");
        println!("{header}");
        for j in &js {
            let mut result = match &j.mismatch {
                None if j.theirs_failed() => "ok (both fail)".to_string(),
                None => "ok".to_string(),
                Some(_) => "DIFFERS".to_string(),
            };
            if let Some(n) = &j.note {
                let _ = write!(result, "; {n}");
            }
            let size = if per_image {
                human(j.image_bytes)
            } else {
                String::new()
            };
            row(
                &j.image,
                &size,
                j.ours.median(),
                j.theirs.median(),
                j.ours.peak_kib(),
                j.theirs.peak_kib(),
                &job_cells(j),
                &result,
            );
        }
        let a = aggregate(js.iter().copied());
        if per_image {
            let bytes: u64 = js.iter().map(|j| j.image_bytes).sum();
            let res = format!("{} differ", a.bad);
            row(
                &format!("ALL ({} images)", a.n),
                &human(bytes),
                a.ours,
                a.theirs,
                a.ours_kib,
                a.theirs_kib,
                &agg_cells(&js),
                &res,
            );
            let wp: Vec<&Job> = js
                .iter()
                .copied()
                .filter(|j| whole_process(&j.image))
                .collect();
            if !wp.is_empty() {
                let w = aggregate(wp.iter().copied());
                let bytes: u64 = wp.iter().map(|j| j.image_bytes).sum();
                row(
                    "whole process (mm,files,fdinfo)",
                    &human(bytes),
                    w.ours,
                    w.theirs,
                    w.ours_kib,
                    w.theirs_kib,
                    &agg_cells(&wp),
                    &format!("{} differ", w.bad),
                );
            }
        }
        println!();
        let pa: Vec<PeerAgg> = (0..peers.len())
            .map(|i| peer_aggregate(js.iter().copied(), i))
            .collect();
        summary.push((label.to_string(), a, pa));
    }
    println!("== summary (per command: sum over images of the median times) ==");
    println!(
        "{:<18} {:>12} {:>12} {:>8} {:>8} {:>8} {:>6}{peer_heads}  differ",
        "command", "ours", "theirs", "speedup", "ours MiB", "thrs MiB", "mem"
    );
    for (label, a, pa) in &summary {
        let cells: String = pa
            .iter()
            .map(|p| {
                if p.peer.is_zero() {
                    peer_cells(p.ours, None)
                } else {
                    peer_cells(p.ours, Some(p.peer))
                }
            })
            .collect();
        println!(
            "{:<18} {:>12} {:>12} {:>8} {:>8} {:>8} {:>6}{cells}  {}/{}",
            label,
            ms(a.ours),
            ms(a.theirs),
            ratio(a.theirs.as_secs_f64(), a.ours.as_secs_f64()),
            mib(a.ours_kib),
            mib(a.theirs_kib),
            ratio(a.ours_kib as f64, a.theirs_kib as f64),
            a.bad,
            a.n
        );
    }
    // The geometric mean of the per-command speedups: no one command's size dominates it.
    let geo = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
        }
    };
    let theirs_r: Vec<f64> = summary
        .iter()
        .filter(|(_, a, _)| !a.ours.is_zero())
        .map(|(_, a, _)| a.theirs.as_secs_f64() / a.ours.as_secs_f64())
        .collect();
    let mut line = format!(
        "geometric mean over the commands: theirs/ours {:.1}x",
        geo(&theirs_r)
    );
    for (i, p) in peers.iter().enumerate() {
        let r: Vec<f64> = summary
            .iter()
            .map(|(_, _, pa)| &pa[i])
            .filter(|x| !x.peer.is_zero() && !x.ours.is_zero())
            .map(|x| x.peer.as_secs_f64() / x.ours.as_secs_f64())
            .collect();
        let _ = write!(
            line,
            ", {}/ours {:.1}x ({} commands)",
            p.name,
            geo(&r),
            r.len()
        );
    }
    println!("{line}");
    let bad: Vec<&Job> = jobs.iter().filter(|j| j.mismatch.is_some()).collect();
    if !bad.is_empty() {
        println!("\n== {} mismatches ==", bad.len());
        for j in bad.iter().take(30) {
            println!(
                "crit {} {}: {}",
                j.label,
                j.image,
                j.mismatch.as_deref().unwrap_or("")
            );
        }
        if bad.len() > 30 {
            println!("... and {} more (see --json)", bad.len() - 30);
        }
    }
    println!();
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "null".into(), json_str)
}

fn secs(d: Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

fn side_json(s: &Side) -> String {
    let list =
        |f: &dyn Fn(&Sample) -> String| s.samples.iter().map(f).collect::<Vec<_>>().join(", ");
    format!(
        "{{\"median_s\": {}, \"peak_rss_kib\": {}, \"status\": {}, \"wall_s\": [{}], \"user_s\": [{}], \"sys_s\": [{}], \"maxrss_kib\": [{}]}}",
        secs(s.median()),
        s.peak_kib(),
        s.status(),
        list(&|x| secs(x.wall)),
        list(&|x| secs(x.user)),
        list(&|x| secs(x.sys)),
        list(&|x| x.maxrss_kib.to_string())
    )
}

fn agg_json(command: &str, scope: &str, a: &Agg) -> String {
    format!(
        "{{\"command\": {}, \"scope\": {}, \"count\": {}, \"ours_s\": {}, \"theirs_s\": {}, \"ours_peak_rss_kib\": {}, \"theirs_peak_rss_kib\": {}, \"speedup\": {:.4}, \"mem_ratio\": {:.4}, \"mismatches\": {}}}",
        json_str(command),
        json_str(scope),
        a.n,
        secs(a.ours),
        secs(a.theirs),
        a.ours_kib,
        a.theirs_kib,
        if a.ours.is_zero() {
            0.0
        } else {
            a.theirs.as_secs_f64() / a.ours.as_secs_f64()
        },
        if a.theirs_kib == 0 {
            0.0
        } else {
            a.ours_kib as f64 / a.theirs_kib as f64
        },
        a.bad
    )
}

fn to_json(
    o: &Opts,
    ours: &Path,
    images: &[(String, u64)],
    skipped: &[(String, String)],
    jobs: &[Job],
) -> String {
    let mut s = String::from("{\n");
    let _ = writeln!(s, "  \"dir\": {},", json_str(&o.dir.display().to_string()));
    let _ = writeln!(s, "  \"ours\": {},", json_str(&ours.display().to_string()));
    let _ = writeln!(
        s,
        "  \"theirs\": {},",
        json_str(&o.theirs.display().to_string())
    );
    let _ = writeln!(s, "  \"runs\": {},", o.runs);
    let imgs: Vec<String> = images
        .iter()
        .map(|(n, b)| format!("{{\"name\": {}, \"bytes\": {b}}}", json_str(n)))
        .collect();
    let _ = writeln!(s, "  \"images\": [{}],", imgs.join(", "));
    let sk: Vec<String> = skipped
        .iter()
        .map(|(n, w)| format!("{{\"name\": {}, \"reason\": {}}}", json_str(n), json_str(w)))
        .collect();
    let _ = writeln!(s, "  \"skipped\": [{}],", sk.join(", "));
    s.push_str("  \"results\": [\n");
    let rows: Vec<String> = jobs
        .iter()
        .map(|j| {
            format!(
                "    {{\"command\": {}, \"image\": {}, \"bytes\": {}, \"identical\": {}, \"mismatch\": {}, \"note\": {}, \"speedup\": {:.4}, \"mem_ratio\": {:.4}, \"ours\": {}, \"theirs\": {}, \"peers\": {{{}}}}}",
                json_str(j.label),
                json_str(&j.image),
                j.image_bytes,
                j.mismatch.is_none(),
                json_opt(&j.mismatch),
                json_opt(&j.note),
                j.theirs.median().as_secs_f64() / j.ours.median().as_secs_f64().max(1e-9),
                j.ours.peak_kib() as f64 / (j.theirs.peak_kib().max(1)) as f64,
                side_json(&j.ours),
                side_json(&j.theirs),
                o.peers.iter().zip(&j.peers).map(|(p, s)| format!("{}: {}", json_str(&p.name), side_json(s))).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    s.push_str(&rows.join(",\n"));
    s.push_str("\n  ],\n  \"aggregates\": [\n");
    let mut aggs = Vec::new();
    for &(key, label, per_image) in COMMANDS {
        let js: Vec<&Job> = jobs.iter().filter(|j| j.key == key).collect();
        if js.is_empty() {
            continue;
        }
        aggs.push(agg_json(
            label,
            if per_image { "all" } else { "dir" },
            &aggregate(js.iter().copied()),
        ));
        if per_image && js.iter().any(|j| whole_process(&j.image)) {
            aggs.push(agg_json(
                label,
                "whole-process",
                &aggregate(js.iter().copied().filter(|j| whole_process(&j.image))),
            ));
        }
    }
    s.push_str(
        &aggs
            .iter()
            .map(|a| format!("    {a}"))
            .collect::<Vec<_>>()
            .join(",\n"),
    );
    let _ = write!(
        s,
        "\n  ],\n  \"mismatches\": {}\n}}\n",
        jobs.iter().filter(|j| j.mismatch.is_some()).count()
    );
    s
}

/// Whether an image file is of a kind that carries a payload after each entry (pipe data, socket
/// queues, ghost files, ...; `payload` in `proto/kinds.toml`, read through codegen's model).
fn carries_payloads(image: &str) -> bool {
    static PREFIXES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let prefixes = PREFIXES.get_or_init(|| {
        let proto = crate::project_root().join("proto");
        let model = criu_image_codegen::load::load(&proto).unwrap_or_else(|e| panic!("reading {}: {e}", proto.display()));
        model
            .kinds
            .iter()
            .filter(|k| k.payload != "none" && k.payload != "pagemap")
            .flat_map(|k| k.files.iter().map(|f| f.pattern.split('%').next().unwrap_or_default().to_string()))
            .collect()
    });
    let name = image.rsplit('/').next().unwrap_or(image);
    prefixes.iter().any(|p| name.starts_with(p.as_str()))
}
