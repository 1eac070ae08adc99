//! Exploring and checking whole checkpoints: per-checkpoint time and MB/s of protobuf image bytes
//! (pages files excluded: no view reads them) for
//! - `ps`, `fds`, `mems`, `rss`, `sockets`: open the checkpoint, build the index, compute the
//!   view and render crit's text into a sink (what `crit x DIR <view>` does in-process);
//! - `check`: every image's framing and validators plus every cross-image reference;
//! - `baseline_memcpy`: copying the same image bytes, measured in the same run;
//! - `open_tar_gz` / `open_tar_zst`: opening the checkpoint as a compressed archive (decompressed
//!   once into memory) and running `ps`, in MB/s of the uncompressed tar.
//!
//! A regression means slower `crit x` / `crit check` for every user. The targets (issue 3): `crit
//! x` at least 50x faster than CRIU's crit, and `crit check` of a whole checkpoint faster than
//! CRIU's crit takes to decode the checkpoint's `mm` image alone. When CRIU's crit is available
//! (`$CRIT_REF`, else `target/criu/bin/crit-ref`), a best-of-5 wall-clock comparison against it
//! is printed to stderr: its processes against our in-process time, and against our `crit`
//! binary's processes when `target/release/crit` exists.
//!
//! Checkpoints: the `fdzoo` and `proctree` fixtures, plus the directory or archive named by
//! `$EXPLORE_BENCH_CHECKPOINT` (e.g. one written by `cargo xtask big-checkpoint DIR`).
//!
//! Run: `cargo bench -p criu-image-benches --bench explore -- --quick`

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use criu_image::check;
use criu_image::checkpoint::{Checkpoint, OpenOptions};
use criu_image::explore;
use criu_image::image::raw_kind_by_name;

const VIEWS: [&str; 5] = ["ps", "fds", "mems", "rss", "sockets"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn checkpoints() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> =
        ["fdzoo", "proctree"].iter().map(|s| (s.to_string(), root().join("testdata/images").join(s))).collect();
    if let Some(p) = std::env::var_os("EXPLORE_BENCH_CHECKPOINT") {
        v.push(("custom".into(), PathBuf::from(p)));
    }
    v
}

/// Bytes of the images the views read (everything but raw images such as pages files).
fn image_bytes(ckpt: &Checkpoint) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ckpt.names() {
        if raw_kind_by_name(name).is_none() {
            all.extend_from_slice(ckpt.file(name).unwrap_or_default());
        }
    }
    all
}

/// One view, as `crit x` runs it: the model read afresh (the files stay mapped), rows, text.
fn run_view(ckpt: &mut Checkpoint, view: &str, out: &mut Vec<u8>) {
    out.clear();
    ckpt.reset_model();
    let ckpt = &*ckpt;
    match view {
        "ps" => explore::write_ps_text(&explore::ps(ckpt).unwrap().tasks, out).unwrap(),
        "fds" => explore::write_fds_text(&explore::fds(ckpt).unwrap().tasks, out).unwrap(),
        "mems" => explore::write_mems_text(&explore::mems(ckpt).unwrap().tasks, out).unwrap(),
        "rss" => explore::write_rss_text(&explore::rss(ckpt).unwrap().tasks, out).unwrap(),
        "sockets" => explore::write_sockets_text(&explore::sockets(ckpt).unwrap().tasks, out).unwrap(),
        _ => unreachable!(),
    }
    black_box(&out);
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn process_time(bin: &Path, args: &[&str]) -> Option<Duration> {
    let ok = Command::new(bin).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().ok()?.success();
    ok.then(|| {
        best_of(5, || {
            let _ = Command::new(bin).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
        })
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The stderr report: CRIU's crit against us, same checkpoint, same run.
fn compare_with_crit(label: &str, dir: &Path, ckpt: &mut Checkpoint) {
    let crit_ref = std::env::var_os("CRIT_REF").map(PathBuf::from).unwrap_or_else(|| root().join("target/criu/bin/crit-ref"));
    if !crit_ref.exists() || !dir.is_dir() {
        eprintln!("explore/{label}: no comparison with CRIU's crit ({} missing, or not a directory)", crit_ref.display());
        return;
    }
    let ours_bin = root().join("target/release/crit");
    let d = dir.to_str().unwrap();
    let mut out = Vec::new();
    for view in ["ps", "fds", "mems", "rss"] {
        let lib = best_of(5, || run_view(ckpt, view, &mut out));
        let theirs = process_time(&crit_ref, &["x", d, view]);
        let bin = ours_bin.exists().then(|| process_time(&ours_bin, &["x", d, view])).flatten();
        match theirs {
            Some(t) => eprintln!(
                "explore/{label}: x {view}: CRIU's crit {:.1} ms; ours in-process {:.3} ms ({:.0}x){}",
                ms(t),
                ms(lib),
                t.as_secs_f64() / lib.as_secs_f64(),
                bin.map_or(String::new(), |b| format!(", `crit` process {:.2} ms ({:.0}x)", ms(b), t.as_secs_f64() / b.as_secs_f64()))
            ),
            None => eprintln!("explore/{label}: x {view}: CRIU's crit fails on this checkpoint"),
        }
    }
    let lib = best_of(5, || {
        ckpt.reset_model();
        black_box(check::check(ckpt));
    });
    let mms: Vec<String> = ckpt.names().filter(|n| n.starts_with("mm-")).map(str::to_string).collect();
    let decode_mm: Option<Duration> = mms
        .iter()
        .map(|m| process_time(&crit_ref, &["decode", "-i", dir.join(m).to_str().unwrap(), "-o", "/dev/null"]))
        .sum();
    let bin = ours_bin.exists().then(|| process_time(&ours_bin, &["check", d])).flatten();
    if let Some(t) = decode_mm {
        eprintln!(
            "explore/{label}: check: ours in-process {:.3} ms{}; CRIU's crit decoding the {} mm image(s) alone {:.1} ms",
            ms(lib),
            bin.map_or(String::new(), |b| format!(", `crit check` process {:.2} ms", ms(b))),
            mms.len(),
            ms(t)
        );
    }
}

fn bench(c: &mut Criterion) {
    for (label, path) in checkpoints() {
        let mut ckpt = Checkpoint::open(&path).unwrap();
        let bytes = image_bytes(&ckpt);
        compare_with_crit(&label, &path, &mut ckpt);
        let mut g = c.benchmark_group(format!("explore/{label}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("baseline_memcpy", |b| {
            let mut dst = vec![0u8; bytes.len()];
            b.iter(|| {
                dst.copy_from_slice(black_box(&bytes));
                black_box(&dst);
            })
        });
        for view in VIEWS {
            let mut out = Vec::with_capacity(1 << 20);
            g.bench_function(view, |b| b.iter(|| run_view(&mut ckpt, view, &mut out)));
        }
        g.bench_function("check", |b| {
            b.iter(|| {
                ckpt.reset_model();
                black_box(check::check(&ckpt))
            })
        });
        g.finish();
    }

    // Archives: decompressing once into memory, then the same views.
    let dir = root().join("testdata/images/fdzoo");
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all("checkpoint", &dir).unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst = ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest);
    let mut g = c.benchmark_group("explore/fdzoo-archive");
    g.throughput(Throughput::Bytes(tar.len() as u64));
    for (name, data) in [("open_tar", &tar), ("open_tar_gz", &gz), ("open_tar_zst", &zst)] {
        let mut out = Vec::new();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut ckpt = Checkpoint::from_archive_bytes(Path::new("x"), data.clone(), &OpenOptions::default()).unwrap();
                run_view(&mut ckpt, "ps", &mut out);
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
