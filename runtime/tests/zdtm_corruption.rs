//! Corruption beyond one image, on every complete dump of a passing ZDTM test (the corpus of
//! `cargo xtask zdtm`, see `zdtm_corpus.rs`): each image removed in turn, each truncated at a few
//! points, and two images of the same kind swapped between tasks.
//!
//! - `crit check` must fail (an error) naming the image, for every image restore needs;
//! - `x ps|fds|mems|rss`, `inspect --all`, `diff` and the memory reader (`mem`, `ps --cmdline`)
//!   must never panic, and a view that cannot show something must say which image is missing or
//!   broken.
//!
//! `ZDTM_CORRUPT_SETS=N` bounds the run to N sets spread evenly over the corpus (CI uses it; see
//! `scripts/test.sh`); by default every set is corrupted.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use criu_image::check::{self, Severity};
use criu_image::checkpoint::Checkpoint;
use criu_image::diff;
use criu_image::explore;
use criu_image::inspect::overview::{Overview, Selection};
use criu_image::image::{Kind, kind_by_name, raw_kind_by_name};
use criu_image::memory;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Complete dumps of passing tests, bounded by `ZDTM_CORRUPT_SETS`.
fn sets() -> Vec<PathBuf> {
    let dir = std::env::var_os("ZDTM_CORPUS").map(PathBuf::from).unwrap_or_else(|| root().join("target/zdtm"));
    let tsv = dir.join("corpus.tsv");
    let text = std::fs::read_to_string(&tsv).unwrap_or_else(|e| {
        panic!(
            "the ZDTM corpus is missing ({}: {e}): run `cargo xtask zdtm` (as root; it builds and runs CRIU's test suite into target/zdtm/, a few minutes), or set ZDTM_CORPUS to its directory",
            tsv.display()
        )
    });
    let all: Vec<PathBuf> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() == 4 && f[2] == "pass" && f[3] == "complete")
        .map(|f| dir.join("images").join(f[0]))
        .collect();
    assert!(all.len() >= 200, "{} lists only {} complete passing dumps: run `cargo xtask zdtm --force`", tsv.display(), all.len());
    match std::env::var("ZDTM_CORRUPT_SETS").ok().and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n < all.len() => (0..n).map(|i| all[i * all.len() / n].clone()).collect(),
        _ => all,
    }
}

/// A scratch directory mirroring a set with symlinks, in which one file at a time is replaced.
struct Mirror {
    src: PathBuf,
    dir: PathBuf,
}

impl Mirror {
    fn new(src: &Path, n: usize) -> Mirror {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("zdtm-corrupt-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::os::unix::fs::symlink(e.path(), dir.join(e.file_name())).unwrap();
            }
        }
        Mirror { src: src.to_path_buf(), dir }
    }
    fn restore(&self, name: &str) {
        let p = self.dir.join(name);
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(self.src.join(name), p).unwrap();
    }
    fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.join(name)).unwrap();
    }
    fn replace(&self, name: &str, bytes: &[u8]) {
        let p = self.dir.join(name);
        std::fs::remove_file(&p).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one corrupted checkpoint gave.
struct Outcome {
    /// check had an error.
    failed: bool,
    /// Some error or warning names the file (as its file, or in its message).
    named: Vec<bool>,
    /// Panics in check, the views or the memory reader.
    panics: Vec<String>,
    /// Every problem the views and the memory reader reported, as text.
    problems: Vec<String>,
}

fn run(dir: &Path, names: &[&str]) -> Outcome {
    let mut panics = Vec::new();
    let mut problems = Vec::new();
    let ckpt = Checkpoint::open(dir).unwrap();
    let report = match catch_unwind(AssertUnwindSafe(|| check::check(&ckpt))) {
        Ok(r) => r,
        Err(_) => {
            panics.push("check".to_string());
            return Outcome { failed: false, named: vec![false; names.len()], panics, problems };
        }
    };
    let bad: Vec<_> = report.diagnostics.iter().filter(|d| d.severity != Severity::Notice).collect();
    let failed = report.count(Severity::Error) > 0;
    let named = names.iter().map(|n| bad.iter().any(|d| d.severity == Severity::Error && (d.file == *n || d.message.contains(*n)))).collect();
    let views = catch_unwind(AssertUnwindSafe(|| {
        let mut out = Vec::new();
        let procs = match ckpt.processes() {
            Ok(p) => p,
            Err(e) => {
                out.push(e.to_string());
                return out;
            }
        };
        let index = &ckpt;
        let mut sink = Vec::new();
        match explore::ps(index) {
            Ok(r) => {
                explore::write_ps_text(&r.tasks, &mut sink).unwrap();
                out.extend(r.problems.iter().map(|p| p.to_string()));
            }
            Err(e) => out.push(e.to_string()),
        }
        match explore::fds(index) {
            Ok(r) => {
                explore::write_fds_text(&r.tasks, &mut sink).unwrap();
                out.extend(r.problems.iter().map(|p| p.to_string()));
            }
            Err(e) => out.push(e.to_string()),
        }
        match explore::mems(index) {
            Ok(r) => {
                explore::write_mems_text(&r.tasks, &mut sink).unwrap();
                out.extend(r.problems.iter().map(|p| p.to_string()));
            }
            Err(e) => out.push(e.to_string()),
        }
        match explore::rss(index) {
            Ok(r) => {
                explore::write_rss_text(&r.tasks, &mut sink).unwrap();
                out.extend(r.problems.iter().map(|p| p.to_string()));
            }
            Err(e) => out.push(e.to_string()),
        }
        // crit inspect --all, every section, text and JSON.
        let overview = Overview::load(&ckpt, &Selection::all());
        overview.write_text(&mut sink).unwrap();
        overview.write_json(&mut sink).unwrap();
        out.extend(overview.problems().iter().map(|p| p.to_string()));
        // crit diff against itself (memory left out: the reader is exercised below).
        let d = diff::compare(&ckpt, &ckpt, &diff::Options::default().without(diff::Section::Memory));
        d.write_text(&mut sink).unwrap();
        d.write_json(&mut sink).unwrap();
        // The memory reader, as `mem` and `ps --cmdline` use it.
        let mem = memory::Memory::open(&ckpt);
        for t in procs.iter() {
            if t.is_zombie() {
                continue;
            }
            match mem.task(t.pid()) {
                Ok(task) => {
                    if let Err(e) = task.cmdline() {
                        out.push(e.to_string());
                    }
                    if let Some(v) = task.vmas().next()
                        && let Err(e) = task.read(v.start, (v.end - v.start).min(8192))
                    {
                        out.push(e.to_string());
                    }
                }
                Err(e) => out.push(e.to_string()),
            }
        }
        out
    }));
    match views {
        Ok(p) => problems = p,
        Err(_) => panics.push("x, inspect, diff or memory".to_string()),
    }
    Outcome { failed, named, panics, problems }
}

/// Kinds whose images restore reads for every task or checkpoint that has them and that check
/// follows, so that losing one must fail the check.
fn required(name: &str) -> bool {
    if name == "pstree.img" || name == "inventory.img" {
        return true;
    }
    if raw_kind_by_name(name).is_some() {
        // Raw data: only the pages files, whose size check knows from the pagemaps.
        return name.starts_with("pages-");
    }
    matches!(
        kind_by_name(name),
        Some(Kind::Core | Kind::Mm | Kind::Pagemap | Kind::Ids | Kind::Fs | Kind::Files | Kind::MemfdInode | Kind::GhostFile)
    )
    // Not fdinfo-N.img: CRIU deletes an image it wrote nothing into, and restore reads a missing
    // one as empty (open_image), so a lost fdinfo image looks like a task without open files.
    // Not remap-fpath.img: a REG entry does not say its file was unlinked, so without the remap
    // list nothing tells check that a ghost file was needed (its ghost image becomes unused).
}

#[test]
fn removed_truncated_and_swapped_images_are_named_and_never_panic() {
    let sets = sets();
    let failures = Mutex::new(Vec::<String>::new());
    let not_required_unnoticed = Mutex::new(BTreeMap::<String, usize>::new());
    let counts = Mutex::new(BTreeMap::<&str, usize>::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(set) = sets.get(n) else { break };
                let label = set.strip_prefix(root()).unwrap_or(set).display().to_string();
                let m = Mirror::new(set, n);
                // The clean baseline: what a corruption adds is what it is judged on.
                let base = run(&m.dir, &[]);
                assert!(!base.failed && base.panics.is_empty(), "{label}: the uncorrupted set does not check clean");
                // Which images the clean check calls unused (restore ignores them): losing those is no error.
                let ckpt = Checkpoint::open(&m.dir).unwrap();
                let unused: Vec<String> = check::check(&ckpt)
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Notice && d.message.starts_with("not used"))
                    .map(|d| d.file.clone())
                    .collect();
                drop(ckpt);
                let tasks: Vec<u32> = Checkpoint::open(&m.dir).unwrap().processes().unwrap().iter().map(|t| t.pid()).collect();
                let mut names: Vec<String> = std::fs::read_dir(set)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".img"))
                    .collect();
                names.sort();
                let mut local = Vec::new();
                let note = |local: &mut Vec<String>, kind: &'static str, what: String, o: &Outcome, name: &str, must_name: bool| {
                    *counts.lock().unwrap().entry(kind).or_default() += 1;
                    for p in &o.panics {
                        local.push(format!("{label}: {what}: {p} panicked"));
                    }
                    if must_name && !o.named.first().copied().unwrap_or(false) {
                        local.push(format!("{label}: {what}: check does not name {name} in an error"));
                    }
                    if !must_name && !o.failed {
                        *not_required_unnoticed.lock().unwrap().entry(format!("{kind} {}", family(name))).or_default() += 1;
                    }
                };
                for name in &names {
                    let len = std::fs::metadata(set.join(name)).unwrap().len();
                    // An empty pages file holds nothing a pagemap needs.
                    let must = required(name) && !unused.contains(name) && !(name.starts_with("pages-") && len == 0);
                    // Removed.
                    m.remove(name);
                    let o = run(&m.dir, &[name]);
                    note(&mut local, "remove", format!("without {name}"), &o, name, must);
                    if must && o.panics.is_empty() && !o.problems.iter().any(|p| p.contains(name.as_str())) && views_read(name, &tasks) {
                        local.push(format!("{label}: without {name}: the views and the memory reader do not say it is missing"));
                    }
                    m.restore(name);
                    // Truncated: empty, half, all but the last byte.
                    let bytes = std::fs::read(set.join(name)).unwrap();
                    let mut cuts = vec![0, bytes.len() / 2, bytes.len().saturating_sub(1)];
                    cuts.dedup();
                    for cut in cuts.into_iter().filter(|&c| c < bytes.len()) {
                        m.replace(name, &bytes[..cut]);
                        let o = run(&m.dir, &[name]);
                        // A ghost file's contents run to the end of its image with no length
                        // (unless chunked), so only a cut into its entry can be seen.
                        let visible = !name.starts_with("ghost-file-") || criu_image::image::Image::parse(&bytes[..cut], Some(name)).is_err();
                        note(&mut local, "truncate", format!("{name} cut to {cut} of {} bytes", bytes.len()), &o, name, must && visible);
                        m.restore(name);
                    }
                }
                // Swapped: the first two different images of each per-task kind.
                for prefix in ["core-", "mm-", "pagemap-", "ids-", "fs-"] {
                    let of: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix) && !n.starts_with("pagemap-shmem-") && !unused.contains(n)).collect();
                    let mut pair = None;
                    'find: for (i, a) in of.iter().enumerate() {
                        for b in &of[i + 1..] {
                            if std::fs::read(set.join(a)).unwrap() != std::fs::read(set.join(b)).unwrap() {
                                pair = Some((a.to_string(), b.to_string()));
                                break 'find;
                            }
                        }
                    }
                    let Some((a, b)) = pair else { continue };
                    let (ba, bb) = (std::fs::read(set.join(&a)).unwrap(), std::fs::read(set.join(&b)).unwrap());
                    m.replace(&a, &bb);
                    m.replace(&b, &ba);
                    // A swap shows where the images stop agreeing: in either image, or in the
                    // other images of the two tasks (a swapped mm makes the pagemap fall
                    // outside it).
                    let pid = |n: &str| n[prefix.len()..n.len() - 4].to_string();
                    let (pa, pb) = (pid(&a), pid(&b));
                    let related: Vec<String> = names.iter().filter(|n| ["core-", "mm-", "pagemap-", "ids-", "fs-"].iter().any(|p| **n == format!("{p}{pa}.img") || **n == format!("{p}{pb}.img"))).cloned().collect();
                    // (A live task's core swapped with a zombie's shows in pstree.img: the
                    // task now alive has no core for the thread its entry lists.)
                    let mut related: Vec<&str> = related.iter().map(String::as_str).collect();
                    related.push("pstree.img");
                    let o = run(&m.dir, &related);
                    *counts.lock().unwrap().entry("swap").or_default() += 1;
                    for p in &o.panics {
                        local.push(format!("{label}: {a} and {b} swapped: {p} panicked"));
                    }
                    if !o.failed {
                        *not_required_unnoticed.lock().unwrap().entry(format!("swap {prefix}")).or_default() += 1;
                    } else if !o.named.iter().any(|x| *x) {
                        local.push(format!("{label}: {a} and {b} swapped: check fails without naming an image of either task"));
                    }
                    m.restore(&a);
                    m.restore(&b);
                }
                failures.lock().unwrap().extend(local);
            });
        }
    });
    let counts = counts.into_inner().unwrap();
    let unnoticed = not_required_unnoticed.into_inner().unwrap();
    eprintln!("{} sets; corruptions: {counts:?}", sets.len());
    eprintln!("not noticed by check, where restore may not need the image or cannot tell: {unnoticed:?}");
    let mut f = failures.into_inner().unwrap();
    f.sort();
    if !f.is_empty() {
        panic!("{} corruptions were not handled:\n  {}", f.len(), f.iter().take(80).cloned().collect::<Vec<_>>().join("\n  "));
    }
}

/// The family of an image name, for the summary: `core-66.img` → `core-N.img`,
/// `tcp-stream-1f2e.img` → `tcp-stream-N.img` (ids after a dash may be hex).
fn family(name: &str) -> String {
    let mut out = String::new();
    for (i, part) in name.split('-').enumerate() {
        if i > 0 {
            out.push('-');
        }
        let (id, rest) = part.split_once('.').unwrap_or((part, ""));
        if i > 0 && !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()) && id.bytes().any(|b| b.is_ascii_digit()) {
            out.push('N');
        } else {
            out.push_str(id);
        }
        if part.contains('.') {
            out.push('.');
            out.push_str(rest);
        }
    }
    out
}

/// Whether the `x` views or the memory reader read this image (so that losing it must show up in
/// what they report): the tree, the file table, and each task's own images (not its threads').
fn views_read(name: &str, tasks: &[u32]) -> bool {
    ["pstree.img", "files.img"].contains(&name)
        || ["core-", "mm-", "pagemap-", "ids-", "fs-"].iter().any(|p| {
            name.strip_prefix(p).and_then(|r| r.strip_suffix(".img")).and_then(|n| n.parse::<u32>().ok()).is_some_and(|pid| tasks.contains(&pid))
        })
}
