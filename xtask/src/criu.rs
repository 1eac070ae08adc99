//! `cargo xtask criu [--prefix DIR] [--version V] [--force]`: build a real CRIU and CRIU's own
//! (Python) crit from Debian's CRIU source package.
//!
//! Results (default prefix `<workspace>/target/criu`):
//! - `PREFIX/bin/criu`: the `criu` binary (dumping needs root);
//! - `PREFIX/bin/crit-ref`: a wrapper running CRIU's reference Python crit from the built source
//!   tree (`PREFIX/src/criu-<upstream>/{lib,crit}`), the oracle our `crit` must match byte for byte;
//! - `PREFIX/src/criu-<upstream>/`: the unpacked upstream source (its `images/` is the schema);
//! - `PREFIX/build.log`: the `make` output; `PREFIX/criu.stamp`: what was built.
//!
//! Why Debian's source packages: they are reachable from every Debian machine (and from our CI, whose
//! only network is the Debian and language-package registries), and apt verifies them: the `Sources`
//! index is signed (`InRelease`) and `apt-get source` checks the tarball's hashes against it.
//! We use a private apt state under `PREFIX/src/.apt` so the system's apt configuration and lists
//! are neither needed nor touched. Debian's own patches are not applied: we want upstream CRIU.
//!
//! The version is pinned (see [`PINNED`]) because our `crit` must reproduce one crit version's output
//! exactly. If Debian no longer carries the pin, the newest available version is used with a loud
//! warning (an explicit `--version` that cannot be found is an error instead).
//!
//! Idempotent: `PREFIX/criu.stamp` records the version built; when it matches and the binaries exist
//! the command returns at once without touching the network. A `PREFIX/bin` that is a symlink (e.g. to
//! a CRIU built elsewhere) but has no stamp is replaced by a real build.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The CRIU version our `crit` is a drop-in for (upstream version; any Debian revision of it is fine).
pub const PINNED: &str = "4.2.1";

/// Debian suites searched for `criu` source packages. All of them are listed at once (about 35 MB of
/// indexes, a few seconds) so that we can pick the pinned version wherever it lives, and fall back to
/// the newest otherwise.
const SUITES: &[&str] = &[
    "sid",
    "trixie-backports",
    "trixie",
    "bookworm-backports",
    "bookworm",
];
const MIRROR: &str = "http://deb.debian.org/debian";

/// Debian (12) packages needed to build `criu`, `lib` (pycriu) and `crit`, and to run `crit-ref`.
/// The -dev libraries are optional features upstream, but leaving one out silently changes what the
/// built `criu` can dump (e.g. without libnftables-dev, `--network-lock nftables` is unavailable), so
/// we install them all. `xz-utils` unpacks the tarball; `iproute2`/`nftables` are used by `criu`
/// itself when dumping network namespaces.
const BUILD_DEPS: &[&str] = &[
    "build-essential",
    "pkg-config",
    "xz-utils",
    "protobuf-compiler",
    "protobuf-c-compiler",
    "libprotobuf-dev",
    "libprotobuf-c-dev",
    "python3",
    "python3-protobuf",
    "libbsd-dev",
    "libcap-dev",
    "libnl-3-dev",
    "libnet1-dev",
    "libaio-dev",
    "libgnutls28-dev",
    "libnftables-dev",
    "uuid-dev",
    "libdrm-dev",
    "iproute2",
    "nftables",
];

const STAMP: &str = "criu.stamp";

const USAGE: &str = "usage: cargo xtask criu [--prefix DIR] [--version V] [--force]\n\
  --prefix DIR  install into DIR/bin (default: <workspace>/target/criu)\n\
  --version V   upstream (4.2.1) or Debian (4.2.1-1) version; default: the pinned 4.2.1\n\
  --force       rebuild even if DIR/criu.stamp says it is built";

/// The default install prefix, `<workspace>/target/criu`.
pub fn default_prefix() -> PathBuf {
    crate::project_root().join("target").join("criu")
}

/// The `criu` binary other commands should use: `$CRIU` if set, else the default prefix's.
pub fn criu_binary() -> PathBuf {
    match std::env::var_os("CRIU") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => default_prefix().join("bin").join("criu"),
    }
}

/// The built source tree under the default prefix (`src/criu-<upstream>`, per `criu.stamp`), and
/// the upstream version it is. Fails when `cargo xtask criu` has not built it.
pub fn built_source() -> Result<(PathBuf, String)> {
    let prefix = default_prefix();
    let stamp = Stamp::read(&prefix)
        .with_context(|| format!("no {} in {}: run `cargo xtask criu`", STAMP, prefix.display()))?;
    let dir = prefix.join("src").join(format!("criu-{}", stamp.upstream));
    if !dir.join("Makefile").is_file() {
        bail!("{} is not a CRIU source tree: run `cargo xtask criu --force`", dir.display());
    }
    Ok((dir, stamp.upstream))
}

pub fn run(args: &[String]) -> Result<()> {
    let mut prefix = default_prefix();
    let mut requested: Option<String> = None;
    let mut force = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => prefix = PathBuf::from(it.next().context("--prefix needs a directory")?),
            "--version" => {
                requested = Some(it.next().context("--version needs a version")?.clone())
            }
            "--force" => force = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    let prefix = absolute(&prefix)?;
    let pinned = requested.is_none();
    let requested = requested.unwrap_or_else(|| PINNED.to_string());
    fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;

    // Two concurrent builds into one prefix would trample each other's source tree and bin/.
    let _lock = lock(&prefix.join(".lock"))?;

    if !force {
        if let Some(stamp) = Stamp::read(&prefix) {
            if stamp.matches(&requested) && stamp.complete(&prefix) {
                println!(
                    "criu {} (Debian {}) already built in {} (per {}; --force rebuilds)",
                    stamp.upstream,
                    stamp.debian_version,
                    prefix.display(),
                    STAMP
                );
                return Ok(());
            }
            if stamp.matches(&requested) {
                println!(
                    "{} says built, but bin/ lacks criu or crit-ref: rebuilding",
                    STAMP
                );
            } else {
                println!(
                    "{}/{} records {}; building {requested}",
                    prefix.display(),
                    STAMP,
                    stamp.debian_version
                );
            }
        } else if prefix.join("bin").exists() {
            println!(
                "{} exists but has no {STAMP}: building CRIU {requested} there",
                prefix.join("bin").display()
            );
        }
    }

    let t0 = Instant::now();
    ensure_build_deps()?;
    let src = fetch_source(&prefix, &requested, pinned)?;
    build(&prefix, &src.dir)?;
    install(&prefix, &src)?;

    // Smoke tests, before the stamp vouches for the build: a `criu` that does not start or a
    // crit-ref that cannot import pycriu is useless.
    let bin = prefix.join("bin");
    let out = output(Command::new(bin.join("criu")).arg("--version"))?;
    print!("{out}");
    output(Command::new(bin.join("crit-ref")).arg("--help")).context("crit-ref does not run")?;
    Stamp {
        requested: requested.clone(),
        debian_version: src.debian_version.clone(),
        upstream: src.upstream.clone(),
    }
    .write(&prefix)?;
    println!(
        "built CRIU {} (Debian {}) in {:.0?}: {} and {}",
        src.upstream,
        src.debian_version,
        t0.elapsed(),
        bin.join("criu").display(),
        bin.join("crit-ref").display()
    );
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// An exclusive `flock` on PATH, held until the returned file is dropped.
pub fn lock(path: &Path) -> Result<fs::File> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a valid, owned descriptor.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        println!(
            "waiting for another `cargo xtask criu` using {} ...",
            path.parent().unwrap().display()
        );
        // SAFETY: as above.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error()).context("flock");
        }
    }
    Ok(f)
}

/// What `PREFIX/criu.stamp` records: the version asked for and what it resolved to.
struct Stamp {
    requested: String,
    debian_version: String,
    upstream: String,
}

impl Stamp {
    fn read(prefix: &Path) -> Option<Stamp> {
        let text = fs::read_to_string(prefix.join(STAMP)).ok()?;
        let get = |k: &str| {
            text.lines().find_map(|l| {
                l.strip_prefix(k)
                    .and_then(|r| r.strip_prefix('='))
                    .map(str::to_string)
            })
        };
        Some(Stamp {
            requested: get("requested")?,
            debian_version: get("debian_version")?,
            upstream: get("upstream")?,
        })
    }

    fn write(&self, prefix: &Path) -> Result<()> {
        let text = format!(
            "# written by `cargo xtask criu`; delete it (or pass --force) to rebuild\nrequested={}\ndebian_version={}\nupstream={}\n",
            self.requested, self.debian_version, self.upstream
        );
        write_atomic(&prefix.join(STAMP), text.as_bytes())
    }

    /// Whether this build satisfies a request for `v` (upstream or Debian version). A pinned build
    /// that fell back to a newer version matches the pin too (`requested`), so that it is not
    /// rebuilt on every call; the fallback warning was printed when it was built.
    fn matches(&self, v: &str) -> bool {
        self.requested == v || self.debian_version == v || (!v.contains('-') && self.upstream == v)
    }

    /// The stamp is authoritative (whatever `bin` is, even a symlink to a build made elsewhere), but
    /// it cannot vouch for binaries deleted since.
    fn complete(&self, prefix: &Path) -> bool {
        is_executable(&prefix.join("bin/criu")) && is_executable(&prefix.join("bin/crit-ref"))
    }
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Run a command, returning its stdout; on failure the error carries its stderr and stdout.
fn output(cmd: &mut Command) -> Result<String> {
    let desc = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {desc}"))?;
    if !out.status.success() {
        bail!(
            "{desc} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Install the missing build dependencies with apt-get (`apt-get update` only if something is missing).
fn ensure_build_deps() -> Result<()> {
    ensure_packages("build dependencies", BUILD_DEPS)
}

/// Install the missing Debian packages of `pkgs` with apt-get (`apt-get update` only if something
/// is missing); `what` names them in messages.
pub fn ensure_packages(what: &str, pkgs: &[&str]) -> Result<()> {
    let missing = missing_packages(pkgs)?;
    if missing.is_empty() {
        println!("{what}: all {} Debian packages installed", pkgs.len());
        return Ok(());
    }
    println!("{what} missing: {}", missing.join(" "));
    if !is_root() {
        bail!(
            "not root: install them first with\n  sudo apt-get update && sudo apt-get install --no-install-recommends {}",
            missing.join(" ")
        );
    }
    let apt = |args: &[&str]| -> Result<()> {
        println!("+ apt-get {}", args.join(" "));
        let st = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .context("cannot run apt-get (is this Debian?)")?;
        if !st.success() {
            bail!("apt-get {} failed ({st})", args.join(" "));
        }
        Ok(())
    };
    apt(&["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(missing.iter().map(String::as_str));
    apt(&args)?;
    let still = missing_packages(pkgs)?;
    if !still.is_empty() {
        bail!("still missing after apt-get install: {}", still.join(" "));
    }
    Ok(())
}

fn missing_packages(pkgs: &[&str]) -> Result<Vec<String>> {
    // dpkg-query exits non-zero when some package is unknown, but still reports the others.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${Status}\n"])
        .args(pkgs)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .context("cannot run dpkg-query: `cargo xtask criu` needs a Debian (12) system")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with(" installed") && l.contains(" ok "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|p| p.split(':').next().unwrap_or(p)) // multi-arch names look like `libfoo:amd64`
        .collect();
    Ok(pkgs
        .iter()
        .filter(|p| !installed.contains(p))
        .map(|p| p.to_string())
        .collect())
}

/// An unpacked upstream source tree.
struct Source {
    dir: PathBuf,
    debian_version: String,
    upstream: String,
}

/// `4.2.1-1` → `4.2.1`, `1:4.2-3` → `4.2`, `4.2.1` → `4.2.1`.
fn upstream_of(debian_version: &str) -> &str {
    let v = debian_version
        .split_once(':')
        .map_or(debian_version, |(_, r)| r);
    v.rsplit_once('-').map_or(v, |(u, _)| u)
}

/// The source tree for `requested`, downloading and unpacking it unless already there.
fn fetch_source(prefix: &Path, requested: &str, pinned: bool) -> Result<Source> {
    let srcroot = prefix.join("src");
    fs::create_dir_all(&srcroot)?;

    // Already unpacked (a previous build of the same version, or one that failed while compiling):
    // reuse it without the network. `unpacked` is written only after a complete unpack.
    let up = upstream_of(requested);
    let dir = srcroot.join(format!("criu-{up}"));
    let marker = srcroot.join(format!("criu-{up}.debian-version"));
    if let Ok(dv) = fs::read_to_string(&marker) {
        let dv = dv.trim().to_string();
        if dir.join("Makefile").is_file() && (dv == requested || !requested.contains('-')) {
            println!("using the unpacked source {} (Debian {dv})", dir.display());
            return Ok(Source {
                dir,
                debian_version: dv,
                upstream: up.to_string(),
            });
        }
    }

    // A private apt state: our own sources.list (deb-src only), lists and caches.
    let st = srcroot.join(".apt");
    for d in ["lists/partial", "cache/archives/partial", "download"] {
        fs::create_dir_all(st.join(d))?;
    }
    let list: String = SUITES
        .iter()
        .map(|s| format!("deb-src {MIRROR} {s} main\n"))
        .collect();
    fs::write(st.join("sources.list"), list)?;
    let opts: Vec<String> = vec![
        format!("Dir::Etc::SourceList={}", st.join("sources.list").display()),
        "Dir::Etc::SourceParts=/dev/null".into(),
        format!("Dir::State::Lists={}", st.join("lists").display()),
        format!("Dir::Cache={}", st.join("cache").display()),
        // apt drops privileges to `_apt` for downloads, which cannot write into a prefix under a
        // private home directory; the files are still verified against the signed index.
        "APT::Sandbox::User=root".into(),
    ];
    let apt = |tool: &str| {
        let mut c = Command::new(tool);
        for o in &opts {
            c.arg("-o").arg(o);
        }
        c
    };

    println!("fetching Debian's source index ({})", SUITES.join(", "));
    let upd = apt("apt-get")
        .args(["update", "-q"])
        .stdin(Stdio::null())
        .output()
        .context("cannot run apt-get")?;
    let upd_log = format!(
        "{}{}",
        String::from_utf8_lossy(&upd.stdout),
        String::from_utf8_lossy(&upd.stderr)
    );
    // A suite that fails to download is not fatal as long as some suite offers criu.
    let shown = apt("apt-cache")
        .args(["showsrc", "criu"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()?;
    let mut versions: Vec<String> = String::from_utf8_lossy(&shown.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Version: ").map(|v| v.trim().to_string()))
        .collect();
    versions.sort_by(|a, b| debian_cmp(a, b));
    versions.dedup();
    if versions.is_empty() {
        bail!(
            "no `criu` source package found in Debian ({}). apt-get update said:\n{upd_log}",
            SUITES.join(", ")
        );
    }
    println!("Debian has criu {}", versions.join(", "));

    let chosen = match choose(&versions, requested) {
        Some(v) => v,
        None if pinned => {
            let newest = versions.last().unwrap().clone();
            eprintln!(
                "WARNING: the pinned CRIU {requested} is no longer in Debian; using the newest, {newest}.\n\
                 WARNING: crit-ref's output may differ from what our crit reproduces; update PINNED in xtask/src/criu.rs."
            );
            newest
        }
        None => bail!(
            "criu {requested} is not in Debian; available: {}",
            versions.join(", ")
        ),
    };
    let up = upstream_of(&chosen).to_string();

    println!("downloading criu {chosen} source");
    let dl = st.join("download");
    // apt-get skips files already downloaded (after checking them). Its exit status is not decisive:
    // we only need the upstream tarball, and some mirrors/proxies lack the Debian packaging tarball
    // (`.debian.tar.xz`), which makes apt-get fail after fetching the tarball we want. So we check
    // the tarball ourselves against the SHA-256 in the signed index instead.
    let got = apt("apt-get")
        .args(["source", "--download-only", "-q"])
        .arg(format!("criu={chosen}"))
        .current_dir(&dl)
        .stdin(Stdio::null())
        .output()
        .context("cannot run apt-get source")?;
    let got_log = format!(
        "{}{}",
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&got.stderr)
    );
    let (orig_name, orig_sha) =
        orig_checksum(&String::from_utf8_lossy(&shown.stdout), &chosen, &up).with_context(
            || format!("no SHA-256 of criu_{up}.orig.tar.* for {chosen} in the source index"),
        )?;
    let orig = dl.join(&orig_name);
    if !orig.is_file() {
        bail!("apt-get source --download-only criu={chosen} did not fetch {orig_name}:\n{got_log}");
    }
    let sum = output(Command::new("sha256sum").arg(&orig))?;
    if sum.split_whitespace().next() != Some(orig_sha.as_str()) {
        let _ = fs::remove_file(&orig);
        bail!(
            "{} has SHA-256 {} but Debian's signed index says {orig_sha}; deleted it",
            orig.display(),
            sum.trim()
        );
    }
    if !got.status.success() {
        println!(
            "  (apt-get source reported errors, but {orig_name} was fetched and its SHA-256 matches)"
        );
    }

    // Unpack into a scratch directory and rename, so an interrupted unpack is never mistaken for a tree.
    let dir = srcroot.join(format!("criu-{up}"));
    let tmp = srcroot.join(format!(".unpack-{up}"));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    println!("unpacking {}", orig.display());
    output(
        Command::new("tar")
            .arg("-xf")
            .arg(&orig)
            .arg("-C")
            .arg(&tmp),
    )?;
    let mut tops: Vec<PathBuf> = fs::read_dir(&tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    if tops.len() != 1 || !tops[0].join("Makefile").is_file() {
        bail!("unexpected layout in {}: {:?}", orig.display(), tops);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)
            .with_context(|| format!("removing the stale {}", dir.display()))?;
    }
    fs::rename(tops.pop().unwrap(), &dir)?;
    fs::remove_dir_all(&tmp)?;
    fs::write(
        srcroot.join(format!("criu-{up}.debian-version")),
        format!("{chosen}\n"),
    )?;
    Ok(Source {
        dir,
        debian_version: chosen,
        upstream: up,
    })
}

/// The version satisfying `requested` among `versions` (sorted oldest first): that exact Debian
/// version, or for an upstream version the newest Debian revision of it.
fn choose(versions: &[String], requested: &str) -> Option<String> {
    if requested.contains('-') || requested.contains(':') {
        versions.iter().find(|v| *v == requested).cloned()
    } else {
        versions
            .iter()
            .rfind(|v| upstream_of(v) == requested)
            .cloned()
    }
}

/// The name and SHA-256 of the upstream tarball of source version `version`, from `apt-cache showsrc`
/// output (several stanzas, one per version; checksums are indented lines after `Checksums-Sha256:`).
fn orig_checksum(showsrc: &str, version: &str, up: &str) -> Option<(String, String)> {
    let prefix = format!("criu_{up}.orig.tar.");
    for stanza in showsrc.split("\n\n") {
        if !stanza.lines().any(|l| {
            l.strip_prefix("Version: ")
                .is_some_and(|v| v.trim() == version)
        }) {
            continue;
        }
        let mut in_sha = false;
        for l in stanza.lines() {
            if !l.starts_with(' ') {
                in_sha = l.starts_with("Checksums-Sha256:");
                continue;
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            if in_sha && f.len() == 3 && f[2].starts_with(&prefix) && !f[2].ends_with(".asc") {
                return Some((f[2].to_string(), f[0].to_string()));
            }
        }
    }
    None
}

/// Debian version ordering, by `dpkg --compare-versions` (the only authority on it).
fn debian_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    if a == b {
        return Equal;
    }
    let lt = Command::new("dpkg")
        .args(["--compare-versions", a, "lt", b])
        .status()
        .is_ok_and(|s| s.success());
    if lt { Less } else { Greater }
}

/// `make criu lib crit` in the source tree, logging to `PREFIX/build.log`, with a heartbeat.
fn build(prefix: &Path, src: &Path) -> Result<()> {
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let log_path = prefix.join("build.log");
    let log = fs::File::create(&log_path)?;
    println!(
        "building CRIU in {} (make -j{jobs} criu lib crit; log: {})",
        src.display(),
        log_path.display()
    );
    let t0 = Instant::now();
    let mut child = Command::new("make")
        .arg("-C")
        .arg(src)
        .arg(format!("-j{jobs}"))
        .args(["criu", "lib", "crit"])
        // A jobserver inherited from an outer make or cargo would confuse CRIU's recursive makefiles.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot run make")?;
    let mut last = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(250));
        if last.elapsed() >= Duration::from_secs(15) {
            last = Instant::now();
            let tail = tail_lines(&log_path, 1).unwrap_or_default();
            println!("  ... {:>4}s  {}", t0.elapsed().as_secs(), tail.trim());
        }
    };
    if !status.success() {
        eprintln!("---- last lines of {} ----", log_path.display());
        eprintln!("{}", tail_lines(&log_path, 40).unwrap_or_default());
        bail!(
            "building CRIU failed ({status}); full log: {}",
            log_path.display()
        );
    }
    println!("built in {:.0?}", t0.elapsed());
    Ok(())
}

pub fn tail_lines(path: &Path, n: usize) -> Result<String> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(n)..].join("\n"))
}

/// Populate `PREFIX/bin` (replacing it whole, so a symlink to another build goes away too).
fn install(prefix: &Path, src: &Source) -> Result<()> {
    let new = prefix.join("bin.new");
    let _ = fs::remove_dir_all(&new);
    fs::create_dir_all(&new)?;
    fs::copy(src.dir.join("criu/criu"), new.join("criu")).context("copying the built criu/criu")?;
    // The wrapper finds the source tree relative to itself, so the prefix can be moved. It uses the
    // system python3 on purpose: python3-protobuf is installed for it, not for a venv on PATH.
    let wrapper = format!(
        "#!/bin/sh\n\
         # CRIU's reference crit {v} (Python), from the source tree built by `cargo xtask criu`.\n\
         src=\"$(dirname \"$(readlink -f \"$0\")\")/../src/criu-{v}\"\n\
         PYTHONPATH=\"$src/lib:$src/crit${{PYTHONPATH:+:$PYTHONPATH}}\" exec /usr/bin/python3 -m crit \"$@\"\n",
        v = src.upstream
    );
    let mut f = fs::File::create(new.join("crit-ref"))?;
    f.write_all(wrapper.as_bytes())?;
    drop(f);
    for b in ["criu", "crit-ref"] {
        fs::set_permissions(new.join(b), fs::Permissions::from_mode(0o755))?;
    }
    let bin = prefix.join("bin");
    match fs::symlink_metadata(&bin) {
        Ok(m) if m.file_type().is_symlink() => {
            println!(
                "replacing the symlink {} -> {}",
                bin.display(),
                fs::read_link(&bin)?.display()
            );
            fs::remove_file(&bin)?
        }
        Ok(m) if m.is_dir() => fs::remove_dir_all(&bin)?,
        Ok(_) => fs::remove_file(&bin)?,
        Err(_) => {}
    }
    fs::rename(&new, &bin)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_versions() {
        assert_eq!(upstream_of("4.2.1-1"), "4.2.1");
        assert_eq!(upstream_of("1:4.2-3+deb12u1"), "4.2");
        assert_eq!(upstream_of("4.2.1"), "4.2.1");
        assert_eq!(upstream_of("3.17.1-2+deb12u2"), "3.17.1");
    }

    #[test]
    fn choosing() {
        let v: Vec<String> = ["3.17.1-2+deb12u2", "4.2.1-1", "4.2.1-2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(choose(&v, "4.2.1").as_deref(), Some("4.2.1-2"));
        assert_eq!(choose(&v, "4.2.1-1").as_deref(), Some("4.2.1-1"));
        assert_eq!(choose(&v, "3.17.1").as_deref(), Some("3.17.1-2+deb12u2"));
        assert_eq!(choose(&v, "4.2"), None);
        assert_eq!(choose(&v, "4.2.1-3"), None);
    }

    #[test]
    fn orig_tarball_checksum() {
        let showsrc = "Package: criu\nVersion: 4.1.1-1\nChecksums-Sha256:\n aa 10 criu_4.1.1-1.dsc\n bb 20 criu_4.1.1.orig.tar.xz\n\n\
                       Package: criu\nVersion: 4.2.1-1\nFiles:\n 00 9 criu_4.2.1.orig.tar.xz\nChecksums-Sha256:\n cc 10 criu_4.2.1-1.dsc\n\
                       \x20dd 20 criu_4.2.1.orig.tar.xz\n ee 30 criu_4.2.1-1.debian.tar.xz\nPackage-List: \n";
        assert_eq!(
            orig_checksum(showsrc, "4.2.1-1", "4.2.1"),
            Some(("criu_4.2.1.orig.tar.xz".into(), "dd".into()))
        );
        assert_eq!(
            orig_checksum(showsrc, "4.1.1-1", "4.1.1"),
            Some(("criu_4.1.1.orig.tar.xz".into(), "bb".into()))
        );
        assert_eq!(orig_checksum(showsrc, "4.0-1", "4.0"), None);
    }
}
