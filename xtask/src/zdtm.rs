//! `cargo xtask zdtm [--force] [--jobs N]`: CRIU's own test suite (ZDTM) as our corpus.
//!
//! 1. builds `test/zdtm` in the CRIU source tree `cargo xtask criu` unpacked and built
//!    (`target/criu/src/criu-<version>/`), after installing its Debian build and run dependencies;
//! 2. runs the selection ([`EXCLUDE`] says what is left out and why) with `zdtm.py run -a -f h
//!    --keep-going -p N -k always`, so that every image directory is kept, then the tests that
//!    have no host flavour in the `ns` flavour, and moves the images to `target/zdtm/images/`
//!    (logs: `target/zdtm/run-{host,ns}.log`, per-test times: `target/zdtm/timings.tsv`);
//! 3. records what CRIU's crit says about every kept image directory (decode plain and
//!    `--pretty`, `x ps|fds|mems|rss`) into `target/zdtm/crit/`, by one Python script
//!    (`zdtm_crit.py`) that imports pycriu and walks all images in a few worker processes;
//! 4. writes `target/zdtm/corpus.tsv`: one line per image directory with its test, whether the
//!    test passed dump and restore, and whether the dump completed.
//!
//! `runtime/tests/zdtm_corpus.rs` holds our crit to that corpus.
//!
//! Idempotent: `target/zdtm/zdtm.stamp` records the CRIU version, the selection and the crit
//! script; when they match, the command returns at once. `--force` runs the suite again.
//!
//! The test processes stay root. ZDTM normally drops non-`suid` tests to uid 18943; CRIU then
//! reads their rlimits with `prlimit`, which for another uid's task needs `CAP_SYS_RESOURCE`, and
//! sandboxes (this one, many CI runners) do not grant it: every such dump fails with "Can't get
//! rlimit 0: Operation not permitted". `zdtm.py` is patched (one condition, see [`patch_zdtm_py`])
//! to keep root when `ZDTM_KEEP_ROOT` is set, which only this command sets.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::criu;

/// Debian packages ZDTM needs on top of CRIU's build dependencies: `libnl-route-3-dev` to build
/// the netns tests, `python3-yaml` for `zdtm.py`, `iptables` and `kmod` for the network and
/// netfilter tests, `procps` (`ps`) for zdtm.py's diagnostics.
const DEPS: &[&str] = &[
    "libnl-route-3-dev",
    "python3-yaml",
    "iptables",
    "kmod",
    "procps",
];

/// Tests left out of the selection, as `zdtm.py -x` patterns (regular expressions matched
/// anywhere in the test name), each with the reason. Decided by a measured run of all of
/// `zdtm.py run -a -f h --keep-going -p 2` (Linux 6.18, 2 CPUs: 481 tests, 337 passed, 8 failed,
/// 136 skipped by zdtm itself, in 180 s): the failures that are this machine's, not CRIU's or
/// ours, and fail on every run.
///
/// 95 tests have no host flavour in their `.desc` (`ns`/`uns` only: they need their own mount,
/// network or user namespace; zdtm skips them in the host run with "no flavors"); they run in a
/// second pass in the `ns` flavour (those that are `uns` only stay skipped).
///
/// Not selected by zdtm itself (`-a`), and why:
/// - 28 `noauto` tests (manual runs only), 9 whose `checkskip` script finds this machine lacks
///   what they test, 4 for other architectures or AppArmor stacking;
/// - the modes that need soft-dirty memory tracking, which this kernel lacks (`criu check
///   --feature mem_dirty_track` fails): `--pre N` (pre-dumps), `--snaps`, `--iters` with
///   `--track-mem`, and lazy-pages runs with pre-dumps. We pass none of those options, so every
///   selected test does one plain dump and one restore.
pub const EXCLUDE: &[(&str, &str)] = &[
    (
        "zdtm/static/(mlock_setuid|pid00|seccomp_filter|thread_different_uid_gid)$",
        "the test changes its own uid or gid after it starts; CRIU reads a task's rlimits with \
         prlimit(2), which for another uid's task needs CAP_SYS_RESOURCE, and this sandbox does not \
         grant it: the dump fails with `Can't get rlimit 0: Operation not permitted`",
    ),
    (
        "zdtm/static/file_lease0[234]$",
        "lease-breaking tests: after restore the test gets an unexpected SIGIO (`Unexpected fd(4)`, \
         `Ghost signal`) on this kernel, on every run; dump and restore themselves succeed",
    ),
];

/// The smallest number of passing tests that means the suite really ran.
const MIN_PASSED: usize = 100;

/// The longest the suite may run before it is stopped as hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

const SCRIPT: &str = include_str!("zdtm_crit.py");
const STAMP: &str = "zdtm.stamp";

const USAGE: &str = "usage: cargo xtask zdtm [--force] [--jobs N]\n\
  --force   run the suite again even if target/zdtm/zdtm.stamp says it ran\n\
  --jobs N  tests run in parallel and crit workers (default: the number of CPUs)";

/// Where everything goes: `<workspace>/target/zdtm`.
pub fn out_dir() -> PathBuf {
    crate::project_root().join("target").join("zdtm")
}

pub fn run(args: &[String]) -> Result<()> {
    let mut force = false;
    let mut jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--force" => force = true,
            "--jobs" => {
                jobs = it
                    .next()
                    .context("--jobs needs a number")?
                    .parse()
                    .context("--jobs needs a number")?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    let jobs = jobs.max(1);
    let t0 = Instant::now();
    // CRIU and its crit first (instant when built).
    criu::run(&[])?;
    let (src, version) = criu::built_source()?;
    let out = out_dir();
    fs::create_dir_all(&out)?;
    let _lock = criu::lock(&out.join(".lock"))?;

    let key = stamp_key(&version);
    if !force
        && fs::read_to_string(out.join(STAMP)).is_ok_and(|s| s == key)
        && out.join("corpus.tsv").is_file()
    {
        let corpus = fs::read_to_string(out.join("corpus.tsv"))?;
        println!(
            "ZDTM corpus already in {} (per {STAMP}; --force runs the suite again)",
            out.display()
        );
        print!("{}", summary(&corpus));
        return Ok(());
    }
    let _ = fs::remove_file(out.join(STAMP));

    criu::ensure_packages("ZDTM dependencies", DEPS)?;
    let t_build = Instant::now();
    build(&src, &version, &out, jobs)?;
    let build_time = t_build.elapsed();
    patch_zdtm_py(&src.join("test/zdtm.py"))?;

    let t_run = Instant::now();
    let results = run_suite(&src, &out, jobs)?;
    let run_time = t_run.elapsed();

    let sets = image_sets(&out.join("images"))?;
    if sets.is_empty() {
        bail!(
            "the ZDTM run kept no image directory in {}; see {}",
            out.join("images").display(),
            out.join("run-host.log").display()
        );
    }
    let t_crit = Instant::now();
    crit_outputs(&src, &out, &sets, jobs)?;
    let crit_time = t_crit.elapsed();

    let corpus = corpus_tsv(&out, &sets, &results)?;
    fs::write(out.join("corpus.tsv"), &corpus)?;
    let passed = results.values().filter(|r| **r == Outcome::Pass).count();
    if passed < MIN_PASSED {
        bail!(
            "only {passed} ZDTM tests passed (at least {MIN_PASSED} expected): the suite does not run properly here; see {}",
            out.join("run-host.log").display()
        );
    }
    fs::write(out.join(STAMP), &key)?;
    print!("{}", summary(&corpus));
    println!(
        "zdtm: build {:.0?}, suite {:.0?}, crit {:.0?}, total {:.0?}",
        build_time,
        run_time,
        crit_time,
        t0.elapsed()
    );
    Ok(())
}

/// What the stamp must say for a run to be reused: the CRIU version, the selection, the crit
/// script (a changed script must record again).
fn stamp_key(version: &str) -> String {
    let mut s = format!(
        "# written by `cargo xtask zdtm`; delete it (or pass --force) to run the suite again\ncriu={version}\n"
    );
    for (pat, _) in EXCLUDE {
        s.push_str(&format!("exclude={pat}\n"));
    }
    s.push_str(&format!("script={:016x}\n", fnv1a(SCRIPT.as_bytes())));
    s.push_str("passes=host,ns\n");
    s
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// `make -C test/zdtm`, once per CRIU version (`target/zdtm/build.stamp`).
fn build(src: &Path, version: &str, out: &Path, jobs: usize) -> Result<()> {
    let stamp = out.join("build.stamp");
    let probe = src.join("test/zdtm/static/env00");
    if fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == version) && probe.is_file() {
        println!("test/zdtm already built (per {})", stamp.display());
        return Ok(());
    }
    let log_path = out.join("build.log");
    println!(
        "building CRIU's ZDTM tests: make -j{jobs} -C {} (log: {})",
        src.join("test/zdtm").display(),
        log_path.display()
    );
    let t0 = Instant::now();
    let log = fs::File::create(&log_path)?;
    let st = Command::new("make")
        .arg(format!("-j{jobs}"))
        .arg("-C")
        .arg(src.join("test/zdtm"))
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cannot run make")?;
    if !st.success() {
        eprintln!("---- last lines of {} ----", log_path.display());
        eprintln!("{}", criu::tail_lines(&log_path, 30).unwrap_or_default());
        bail!(
            "building test/zdtm failed ({st}); full log: {}",
            log_path.display()
        );
    }
    if !probe.is_file() {
        bail!(
            "make -C test/zdtm succeeded but {} is missing",
            probe.display()
        );
    }
    fs::write(&stamp, format!("{version}\n"))?;
    println!("built test/zdtm in {:.0?}", t0.elapsed());
    Ok(())
}

const KEEP_ROOT_OLD: &str = "        if not test_flag(self.__desc, 'suid'):\n            # Numbers should match those in criu\n";
const KEEP_ROOT_NEW: &str = "        if not test_flag(self.__desc, 'suid') and not os.environ.get('ZDTM_KEEP_ROOT'):\n            # Numbers should match those in criu\n";

/// Lets `ZDTM_KEEP_ROOT` keep the tests root (see the module docs). Idempotent; fails loudly when
/// `zdtm.py` is neither the version we know nor already patched.
fn patch_zdtm_py(path: &Path) -> Result<()> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains(KEEP_ROOT_NEW) {
        return Ok(());
    }
    if text.matches(KEEP_ROOT_OLD).count() != 1 {
        bail!(
            "{} does not have the uid-dropping condition this command patches; update KEEP_ROOT_OLD in xtask/src/zdtm.rs",
            path.display()
        );
    }
    fs::write(path, text.replacen(KEEP_ROOT_OLD, KEEP_ROOT_NEW, 1))?;
    println!(
        "patched {}: tests keep root when ZDTM_KEEP_ROOT is set",
        path.display()
    );
    Ok(())
}

/// How a test ended, per zdtm.py's TAP report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// Runs the selection: every test of `zdtm.py run -a` in the host flavour, then those that have
/// no host flavour (their `.desc` says `ns`/`uns` only, zdtm skips them with "no flavors") in
/// the `ns` flavour. Returns each test's outcome; the images end up in `out/images`.
fn run_suite(src: &Path, out: &Path, jobs: usize) -> Result<BTreeMap<String, Outcome>> {
    let test = src.join("test");
    let dump = test.join("dump");
    let images = out.join("images");
    let report = out.join("report");
    for d in [&dump, &images, &report] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("removing {}", d.display()))?;
        }
    }
    // Outputs of an earlier run (pid files, .out logs) would confuse the tests.
    let _ = Command::new("make")
        .arg("-C")
        .arg(test.join("zdtm"))
        .arg("cleanout")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let mut excl: Vec<String> = Vec::new();
    for (pat, _) in EXCLUDE {
        excl.push("-x".into());
        excl.push((*pat).into());
    }

    let mut args: Vec<String> = ["-a", "-f", "h"].iter().map(|s| s.to_string()).collect();
    args.extend(excl.iter().cloned());
    let host = zdtm_pass(&test, out, "host", &args, jobs)?;
    fs::rename(&dump, &images).with_context(|| format!("moving {} to {}", dump.display(), images.display()))?;
    let mut results = host.results;
    let mut timings = host.timings;

    if !host.no_host_flavour.is_empty() {
        let names: Vec<String> = host.no_host_flavour.iter().map(|t| regex_escape(t)).collect();
        let mut args: Vec<String> = vec!["-T".into(), format!("^({})$", names.join("|")), "-f".into(), "ns".into()];
        args.extend(excl.iter().cloned());
        let ns = zdtm_pass(&test, out, "ns", &args, jobs)?;
        merge_dumps(&dump, &images)?;
        for (t, o) in ns.results {
            if o != Outcome::Skip || !results.contains_key(&t) {
                results.insert(t, o);
            }
        }
        timings.extend(ns.timings);
    }
    timings.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut tsv = String::from("seconds\ttest\tflavour\tverdict\n");
    for (d, n, f, v) in &timings {
        tsv.push_str(&format!("{d:.2}\t{n}\t{f}\t{v}\n"));
    }
    fs::write(out.join("timings.tsv"), tsv)?;
    println!("slowest tests:");
    for (d, n, f, v) in timings.iter().take(8) {
        println!("  {d:6.1}s  {n} ({f}) {v}");
    }
    Ok(results)
}

/// `zdtm/static/a+b` as a literal inside a regular expression.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Moves every `zdtm/<group>/<test>` directory of `dump` into `images`.
fn merge_dumps(dump: &Path, images: &Path) -> Result<()> {
    if !dump.is_dir() {
        return Ok(());
    }
    for group in fs::read_dir(dump.join("zdtm"))? {
        let group = group?;
        for t in fs::read_dir(group.path())? {
            let t = t?;
            let to = images.join("zdtm").join(group.file_name()).join(t.file_name());
            if to.exists() {
                bail!("{} ran in two flavours: {} exists", t.path().display(), to.display());
            }
            fs::create_dir_all(to.parent().unwrap())?;
            fs::rename(t.path(), &to).with_context(|| format!("moving {} to {}", t.path().display(), to.display()))?;
        }
    }
    fs::remove_dir_all(dump)?;
    Ok(())
}

/// What one `zdtm.py run` gave.
struct Pass {
    results: BTreeMap<String, Outcome>,
    /// (seconds, test, flavour, verdict)
    timings: Vec<(f64, String, &'static str, &'static str)>,
    /// Tests zdtm skipped because none of their flavours was asked for.
    no_host_flavour: Vec<String>,
}

/// One `zdtm.py run --keep-going -k always -p JOBS --report out/report/FLAVOUR ARGS`, its output
/// timestamped into `out/run-FLAVOUR.log`, its TAP report parsed.
fn zdtm_pass(test: &Path, out: &Path, flavour: &'static str, args: &[String], jobs: usize) -> Result<Pass> {
    let report = out.join("report").join(flavour);
    fs::create_dir_all(&report)?;
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("zdtm.py")
        .args(["run", "--keep-going", "-k", "always"])
        .arg("-p")
        .arg(jobs.to_string())
        .arg("--report")
        .arg(&report)
        .args(args);
    // The system Python (python3-protobuf and python3-yaml are installed for it), not one a
    // version manager put first on PATH: zdtm.py re-executes itself through `env python3`.
    cmd.current_dir(test)
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("ZDTM_KEEP_ROOT", "1")
        .env_remove("PYTHONPATH")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    println!("running ZDTM ({flavour} flavour): {cmd:?}");
    let log_path = out.join(format!("run-{flavour}.log"));
    let mut log = fs::File::create(&log_path)?;
    writeln!(log, "# {cmd:?}")?;
    let mut child = cmd.spawn().context("cannot run zdtm.py")?;
    let pgid = child.id() as i32;
    let t0 = Instant::now();
    // A watchdog kills the whole process group (zdtm.py, its tests, criu) if the suite hangs.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(RUN_TIMEOUT).is_err() {
            eprintln!("zdtm: the suite ran longer than {RUN_TIMEOUT:?}: killing it");
            // SAFETY: kill(2) on the process group we created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let stderr = child.stderr.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel::<String>();
    let tx2 = line_tx.clone();
    let err_thread = std::thread::spawn(move || {
        for l in BufReader::new(stderr).split(b'\n').map_while(|l| l.ok()) {
            let _ = tx2.send(String::from_utf8_lossy(&l).into_owned());
        }
    });
    let stdout = child.stdout.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        for l in BufReader::new(stdout).split(b'\n').map_while(|l| l.ok()) {
            let _ = line_tx.send(String::from_utf8_lossy(&l).into_owned());
        }
    });
    let mut started: BTreeMap<String, f64> = BTreeMap::new();
    let mut timings = Vec::new();
    let mut last_print = Instant::now();
    for line in line_rx {
        let t = t0.elapsed().as_secs_f64();
        writeln!(log, "{t:8.2} {line}")?;
        if let Some(name) = line.strip_prefix("=== Run ").and_then(|r| r.split_whitespace().nth(2)) {
            started.insert(name.to_string(), t);
            if last_print.elapsed() >= Duration::from_secs(20) {
                last_print = Instant::now();
                println!("  ... {t:5.0}s  {}", line.trim());
            }
        } else if let Some((name, verdict)) = verdict_line(&line) {
            if verdict == "FAIL" {
                println!("  {t:5.0}s  FAIL {name}");
            }
            let dur = started.get(name).map_or(0.0, |s| t - s);
            timings.push((dur, name.to_string(), flavour, verdict));
        }
    }
    out_thread.join().ok();
    err_thread.join().ok();
    let status = child.wait()?;
    let _ = done_tx.send(());
    let killed = watchdog.join().unwrap_or(false);
    let elapsed = t0.elapsed();
    writeln!(log, "# exit: {status}; {elapsed:.1?}")?;
    if killed {
        bail!("the ZDTM suite did not finish in {RUN_TIMEOUT:?}; see {}", log_path.display());
    }
    let tap_path = report.join("criu-testreport.tap");
    let tap = fs::read_to_string(&tap_path)
        .with_context(|| format!("zdtm.py wrote no report ({}): it did not run; see {}", tap_path.display(), log_path.display()))?;
    let results = parse_tap(&tap);
    let no_host_flavour = tap
        .lines()
        .filter(|l| l.starts_with("ok ") && l.ends_with("# SKIP no flavors"))
        .filter_map(|l| l.split_once(" - ").map(|(_, r)| r.trim_end_matches("# SKIP no flavors").trim().to_string()))
        .collect();
    let (pass, fail) = (results.values().filter(|o| **o == Outcome::Pass).count(), results.values().filter(|o| **o == Outcome::Fail).count());
    println!("ZDTM {flavour} flavour ran in {elapsed:.0?} ({status}): {pass} passed, {fail} failed");
    if !test.join("dump").is_dir() {
        bail!("zdtm.py kept no images in {}; see {}", test.join("dump").display(), log_path.display());
    }
    Ok(Pass { results, timings, no_host_flavour })
}

/// `=== Test zdtm/static/env00 PASS ===` → (`zdtm/static/env00`, `PASS`).
fn verdict_line(line: &str) -> Option<(&str, &'static str)> {
    let rest = line.trim_matches(|c| c == '=' || c == '#' || c == ' ');
    let rest = rest.strip_prefix("Test ")?;
    let (name, v) = rest.split_once(' ')?;
    let v = v.trim();
    if v == "PASS" {
        Some((name, "PASS"))
    } else if v.starts_with("FAIL") {
        Some((name, "FAIL"))
    } else {
        None
    }
}

/// `ok 3 - zdtm/static/env00`, `ok 4 - zdtm/static/x # SKIP why`, `not ok 5 - zdtm/static/y # flavor h`.
fn parse_tap(tap: &str) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    for l in tap.lines() {
        let (ok, rest) = if let Some(r) = l.strip_prefix("ok ") {
            (true, r)
        } else if let Some(r) = l.strip_prefix("not ok ") {
            (false, r)
        } else {
            continue;
        };
        let Some((_, rest)) = rest.split_once(" - ") else {
            continue;
        };
        let (name, directive) = rest.split_once(" # ").map_or((rest, ""), |(n, d)| (n, d));
        let outcome = match (ok, directive.starts_with("SKIP")) {
            (true, true) => Outcome::Skip,
            (true, false) => Outcome::Pass,
            (false, _) => Outcome::Fail,
        };
        out.insert(name.trim().to_string(), outcome);
    }
    out
}

/// Every directory below `root` that holds an `*.img` file, relative to `root`, sorted.
fn image_sets(root: &Path) -> Result<Vec<String>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd {
            let e = e?;
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() && e.file_name().to_string_lossy().ends_with(".img") {
                let rel = d
                    .strip_prefix(root)
                    .unwrap_or(&d)
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel);
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Runs `zdtm_crit.py` over every set.
fn crit_outputs(src: &Path, out: &Path, sets: &[String], jobs: usize) -> Result<()> {
    let script = out.join("zdtm_crit.py");
    fs::write(&script, SCRIPT)?;
    let crit = out.join("crit");
    if crit.exists() {
        fs::remove_dir_all(&crit)?;
    }
    fs::create_dir_all(&crit)?;
    let log_path = out.join("crit.log");
    println!(
        "recording CRIU crit's outputs for {} image directories ({jobs} Python workers; log: {})",
        sets.len(),
        log_path.display()
    );
    let t0 = Instant::now();
    let log = fs::File::create(&log_path)?;
    let st = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(out.join("images"))
        .arg(&crit)
        .arg(jobs.to_string())
        .args(sets)
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                src.join("lib").display(),
                src.join("crit").display()
            ),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cannot run /usr/bin/python3")?;
    if !st.success() {
        eprintln!("{}", criu::tail_lines(&log_path, 30).unwrap_or_default());
        bail!(
            "recording crit's outputs failed ({st}); see {}",
            log_path.display()
        );
    }
    let missing: Vec<&String> = sets
        .iter()
        .filter(|s| !crit.join(s).join("done").is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "crit's outputs are incomplete for {} sets (first: {}); see {}",
            missing.len(),
            missing[0],
            log_path.display()
        );
    }
    println!("crit's outputs recorded in {:.0?}", t0.elapsed());
    Ok(())
}

/// `zdtm/static/env00/66/1` → `zdtm/static/env00` (the dump directory is `<test>/<pid>/<iteration>`).
fn test_of(set: &str) -> &str {
    let mut s = set;
    for _ in 0..2 {
        s = s.rsplit_once('/').map_or(s, |(a, _)| a);
    }
    s
}

/// The manifest the Rust corpus test reads.
fn corpus_tsv(out: &Path, sets: &[String], results: &BTreeMap<String, Outcome>) -> Result<String> {
    let mut s = String::from("# set\ttest\tresult\tdump\n");
    for set in sets {
        let test = test_of(set);
        let result = match results.get(test) {
            Some(Outcome::Pass) => "pass",
            Some(Outcome::Fail) => "fail",
            Some(Outcome::Skip) => "skip",
            None => "unknown",
        };
        let dir = out.join("images").join(set);
        let log = fs::read_to_string(dir.join("dump.log")).unwrap_or_default();
        let complete =
            dir.join("inventory.img").is_file() && log.contains("Dumping finished successfully");
        s.push_str(&format!(
            "{set}\t{test}\t{result}\t{}\n",
            if complete { "complete" } else { "incomplete" }
        ));
    }
    Ok(s)
}

/// Counts for people: sets, tests passed, complete passing sets.
fn summary(corpus: &str) -> String {
    let rows: Vec<Vec<&str>> = corpus
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    let tests: BTreeMap<&str, &str> = rows
        .iter()
        .filter(|r| r.len() >= 4)
        .map(|r| (r[1], r[2]))
        .collect();
    let passed = tests.values().filter(|v| **v == "pass").count();
    let failed = tests.values().filter(|v| **v == "fail").count();
    let complete_pass = rows
        .iter()
        .filter(|r| r.len() >= 4 && r[2] == "pass" && r[3] == "complete")
        .count();
    format!(
        "ZDTM corpus: {} image directories from {} tests ({passed} passed dump and restore, {failed} failed); {complete_pass} complete dumps of passing tests\n",
        rows.len(),
        tests.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_lines() {
        let tap = "TAP version 13\n1..3\nok 1 - zdtm/static/env00\nok 2 - zdtm/static/x # SKIP manual run only\nnot ok 3 - zdtm/static/y # flavor h\n---\n";
        let r = parse_tap(tap);
        assert_eq!(r["zdtm/static/env00"], Outcome::Pass);
        assert_eq!(r["zdtm/static/x"], Outcome::Skip);
        assert_eq!(r["zdtm/static/y"], Outcome::Fail);
    }

    #[test]
    fn verdicts_and_tests() {
        assert_eq!(
            verdict_line("=========== Test zdtm/static/env00 PASS ==========="),
            Some(("zdtm/static/env00", "PASS"))
        );
        assert_eq!(
            verdict_line("####### Test zdtm/static/y FAIL at CRIU dump #######"),
            Some(("zdtm/static/y", "FAIL"))
        );
        assert_eq!(verdict_line("=== Run 3/9 ---- zdtm/static/y"), None);
        assert_eq!(test_of("zdtm/static/env00/66/1"), "zdtm/static/env00");
    }
}
