//! CRIU's own test suite as our corpus: every image directory ZDTM kept (`cargo xtask zdtm`,
//! which runs the suite and records what CRIU 4.2.1's crit said about each directory into
//! `target/zdtm/`), held to crit's bytes:
//!
//! - decode, plain and `--pretty`, byte-identical to crit's;
//! - encode of crit's JSON (both forms) gives back the original bytes;
//! - `x ps|fds|mems|rss` identical to crit's wherever crit printed the view (where crit raised,
//!   ours prints the view and names the missing image instead);
//! - `crit check` clean (no errors, no warnings) on every complete dump of a test that passed dump
//!   and restore, and `ps --cmdline` reads every live task's command line there.
//!
//! Every failure is collected and reported together (set, file, first differing byte), so one run
//! lists all of them. Without the corpus the tests fail, saying how to build it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use criu_image::check;
use criu_image::checkpoint::Checkpoint;
use criu_image::crit::{self, JsonOptions};
use criu_image::explore;
use criu_image::image::Image;
use criu_image::memory;

/// One image directory of the corpus, as `target/zdtm/corpus.tsv` lists it.
struct Set {
    /// `zdtm/static/env00/66/1`
    name: String,
    test: String,
    passed: bool,
    complete: bool,
    images: PathBuf,
    crit: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The corpus, or a panic that says how to make it.
fn corpus() -> Vec<Set> {
    let dir = std::env::var_os("ZDTM_CORPUS").map(PathBuf::from).unwrap_or_else(|| root().join("target/zdtm"));
    let tsv = dir.join("corpus.tsv");
    let text = std::fs::read_to_string(&tsv).unwrap_or_else(|e| {
        panic!(
            "the ZDTM corpus is missing ({}: {e}): run `cargo xtask zdtm` (as root; it builds and runs CRIU's test suite into target/zdtm/, a few minutes), or set ZDTM_CORPUS to its directory",
            tsv.display()
        )
    });
    assert!(dir.join("zdtm.stamp").is_file(), "{} has no zdtm.stamp: the last `cargo xtask zdtm` did not finish; run it again", dir.display());
    let mut out = Vec::new();
    for l in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 4, "{}: bad line {l:?}", tsv.display());
        let s = Set {
            name: f[0].to_string(),
            test: f[1].to_string(),
            passed: f[2] == "pass",
            complete: f[3] == "complete",
            images: dir.join("images").join(f[0]),
            crit: dir.join("crit").join(f[0]),
        };
        assert!(s.crit.join("done").is_file(), "{}: crit's outputs are incomplete: run `cargo xtask zdtm --force`", s.crit.display());
        out.push(s);
    }
    // The suite has ~340 image directories here; far fewer means a broken run.
    assert!(out.len() >= 200, "{} lists only {} image directories: run `cargo xtask zdtm --force`", tsv.display(), out.len());
    out
}

/// Image files of a set that crit decoded or refused, in name order.
fn images(set: &Set) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&set.images)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".img"))
        .collect();
    v.sort();
    v
}

fn raw_list(set: &Set) -> Vec<String> {
    std::fs::read_to_string(set.crit.join("raw.txt")).unwrap().lines().map(str::to_string).collect()
}

/// Runs `f` over the sets on two threads; returns the failures, sorted.
fn each_set(sets: &[Set], f: impl Fn(&Set, &mut Vec<String>) + Sync) -> Vec<String> {
    let failures = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(set) = sets.get(i) else { break };
                    f(set, &mut mine);
                }
                failures.lock().unwrap().extend(mine);
            });
        }
    });
    let mut v = failures.into_inner().unwrap();
    v.sort();
    v
}

#[track_caller]
fn report(what: &str, checked: usize, failures: &[String]) {
    eprintln!("{what}: {checked} checked, {} failed", failures.len());
    if !failures.is_empty() {
        let mut msg = format!("{what}: {} of {checked} differ:\n", failures.len());
        for f in failures.iter().take(60) {
            let _ = writeln!(msg, "  {f}");
        }
        if failures.len() > 60 {
            let _ = writeln!(msg, "  ... and {} more", failures.len() - 60);
        }
        panic!("{msg}");
    }
}

/// Where two byte strings first differ, with a little context.
fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    let at = ours.iter().zip(theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
    let ctx = |b: &[u8]| String::from_utf8_lossy(&b[at.saturating_sub(40)..(at + 40).min(b.len())]).into_owned();
    format!("first difference at byte {at} (ours {} bytes, crit {}): ours …{:?}… crit …{:?}…", ours.len(), theirs.len(), ctx(ours), ctx(theirs))
}

#[test]
fn decode_is_byte_identical_to_crit() {
    let sets = corpus();
    let counted = std::sync::atomic::AtomicUsize::new(0);
    let failures = each_set(&sets, |set, out| {
        let raw = raw_list(set);
        for name in images(set) {
            let bytes = std::fs::read(set.images.join(&name)).unwrap();
            if raw.contains(&name) {
                // crit calls it raw data; we must not claim to decode it either.
                if let Ok(img) = Image::parse(&bytes, Some(&name)) {
                    let mut sink = Vec::new();
                    if crit::write_json(&img, &mut sink, JsonOptions { pretty: false, nopl: false }).is_ok() {
                        out.push(format!("{}/{name}: crit refuses it as raw data, we decode it", set.name));
                    }
                }
                continue;
            }
            if let Ok(e) = std::fs::read_to_string(set.crit.join(format!("{name}.error.txt"))) {
                // crit raised: ours must give an error too, or a document (recorded as a finding to review).
                out.push(format!("{}/{name}: crit failed to decode it ({}); review what we print", set.name, e.trim()));
                continue;
            }
            for (suffix, pretty) in [("plain.json", false), ("pretty.json", true)] {
                let want = std::fs::read(set.crit.join(format!("{name}.{suffix}"))).unwrap();
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let img = match Image::parse(&bytes, Some(&name)) {
                    Ok(i) => i,
                    Err(e) => {
                        out.push(format!("{}/{name} ({suffix}): we refuse it: {e}", set.name));
                        break;
                    }
                };
                let mut got = Vec::new();
                if let Err(e) = crit::write_json(&img, &mut got, JsonOptions { pretty, nopl: false }) {
                    out.push(format!("{}/{name} ({suffix}): we fail: {e}", set.name));
                    continue;
                }
                got.push(b'\n');
                if got != want {
                    out.push(format!("{}/{name} ({suffix}): {}", set.name, first_difference(&got, &want)));
                }
            }
        }
    });
    let n = counted.into_inner();
    assert!(n >= 10_000, "only {n} decodes compared: the corpus is too small");
    report("decode vs crit", n, &failures);
}

#[test]
fn encode_of_crits_json_gives_back_the_bytes() {
    let sets = corpus();
    let counted = std::sync::atomic::AtomicUsize::new(0);
    let failures = each_set(&sets, |set, out| {
        for name in images(set) {
            for suffix in ["plain.json", "pretty.json"] {
                let Ok(json) = std::fs::read(set.crit.join(format!("{name}.{suffix}"))) else { continue };
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let original = std::fs::read(set.images.join(&name)).unwrap();
                let mut got = Vec::new();
                match crit::encode_json(&json, &mut got) {
                    Err(e) => out.push(format!("{}/{name} from {suffix}: encode fails: {e}", set.name)),
                    Ok(_) if got != original => out.push(format!("{}/{name} from {suffix}: {}", set.name, first_difference(&got, &original))),
                    Ok(_) => {}
                }
            }
        }
    });
    let n = counted.into_inner();
    assert!(n >= 10_000, "only {n} encodes compared: the corpus is too small");
    report("encode of crit's JSON", n, &failures);
}

/// Our text for one `x` view, and the problems it reports.
fn x_view(index: &Checkpoint, what: &str) -> (Vec<u8>, Vec<explore::Problem>) {
    let mut out = Vec::new();
    let problems = match what {
        "ps" => match explore::ps(index) {
            Ok(r) => {
                explore::write_ps_text(&r.tasks, &mut out).unwrap();
                r.problems
            }
            Err(e) => vec![explore::Problem { file: "pstree.img".into(), message: e.to_string() }],
        },
        "fds" => match explore::fds(index) {
            Ok(r) => {
                explore::write_fds_text(&r.tasks, &mut out).unwrap();
                r.problems
            }
            Err(e) => vec![explore::Problem { file: "files.img".into(), message: e.to_string() }],
        },
        "mems" => match explore::mems(index) {
            Ok(r) => {
                explore::write_mems_text(&r.tasks, &mut out).unwrap();
                r.problems
            }
            Err(e) => vec![explore::Problem { file: "files.img".into(), message: e.to_string() }],
        },
        "rss" => match explore::rss(index) {
            Ok(r) => {
                explore::write_rss_text(&r.tasks, &mut out).unwrap();
                r.problems
            }
            Err(e) => vec![explore::Problem { file: "files.img".into(), message: e.to_string() }],
        },
        _ => unreachable!(),
    };
    (out, problems)
}

#[test]
fn x_views_are_identical_to_crit() {
    let sets = corpus();
    let counted = std::sync::atomic::AtomicUsize::new(0);
    let crit_failed = Mutex::new(BTreeMap::<String, usize>::new());
    let failures = each_set(&sets, |set, out| {
        let ckpt = Checkpoint::open(&set.images).unwrap();
        let index = match ckpt.processes() {
            Ok(_) => Some(&ckpt),
            Err(e) => {
                // No pstree.img (a dump that failed early): crit must have failed on every view.
                for what in ["ps", "fds", "mems", "rss"] {
                    if !set.crit.join(format!("x-{what}.error.txt")).is_file() {
                        out.push(format!("{} x {what}: we cannot open it ({e}), crit printed a view", set.name));
                    }
                }
                None
            }
        };
        let Some(index) = index else { return };
        for what in ["ps", "fds", "mems", "rss"] {
            let (got, problems) = x_view(index, what);
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match std::fs::read(set.crit.join(format!("x-{what}.txt"))) {
                Ok(want) if got != want => out.push(format!("{} x {what}: {}", set.name, first_difference(&got, &want))),
                Ok(_) => {}
                Err(_) => {
                    // crit raised (a missing image): ours printed the view; it must say what is missing.
                    let err = std::fs::read_to_string(set.crit.join(format!("x-{what}.error.txt"))).unwrap();
                    *crit_failed.lock().unwrap().entry(what.to_string()).or_default() += 1;
                    // An image CRIU does not write when it would be empty (a task without open
                    // files has no fdinfo image) is no problem for us: check must agree.
                    if problems.is_empty() && !check::check(&ckpt).is_clean() {
                        out.push(format!("{} x {what}: crit failed ({}), we report no problem and check is not clean", set.name, err.trim()));
                    }
                }
            }
        }
    });
    eprintln!("x views where crit raised (ours names the missing image instead): {:?}", crit_failed.into_inner().unwrap());
    report("x views vs crit", counted.into_inner(), &failures);
}

#[test]
fn complete_dumps_of_passing_tests_check_clean() {
    let sets = corpus();
    let passing: Vec<Set> = sets.into_iter().filter(|s| s.passed && s.complete).collect();
    assert!(passing.len() >= 200, "only {} complete dumps of passing tests", passing.len());
    let failures = each_set(&passing, |set, out| {
        let ckpt = Checkpoint::open(&set.images).unwrap();
        let r = check::check(&ckpt);
        for d in r.diagnostics.iter().filter(|d| d.severity != check::Severity::Notice) {
            out.push(format!("{} ({}): {d}", set.name, set.test));
        }
        // `x ps --cmdline`: every live task's command line reads.
        let Ok(procs) = ckpt.processes() else { return };
        let mem = memory::Memory::open(&ckpt);
        for t in procs.iter() {
            let alive = matches!(t.core(), Ok(Some(c)) if matches!(c.state.0, 1 | 3));
            if !alive {
                continue;
            }
            if let Err(e) = mem.task(t.pid()).and_then(|task| task.cmdline()) {
                out.push(format!("{} ({}): ps --cmdline: task {}: {e}", set.name, set.test, t.pid()));
            }
        }
    });
    report("check of complete passing dumps", passing.len(), &failures);
}
