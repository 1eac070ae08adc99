//! Memory access on a checkpoint of a 1 GiB process: `crit search` throughput and `crit mem`
//! latency.
//!
//! The checkpoint is real: `runtime/tests/memory-target/target.c` fills 1 GiB of private
//! anonymous memory with xorshift64* bytes (two `CRIT-BENCH-NEEDLE`s in it), and CRIU dumps it
//! (`criu dump --shell-job --leave-running`). That needs root, gcc and `target/criu/bin/criu`
//! (or `$CRIU`), about 1 GiB of disk under `target/tmp`, and about 10 s the first time; the dump
//! is reused by later runs. `CRIT_BENCH_CHECKPOINT=DIR` (with `CRIT_BENCH_PID`) points at another
//! checkpoint instead.
//!
//! * `search_1GiB/memory::search literal`: every stored byte of the task (≈ 1 GiB) searched for
//!   a 17-byte literal, in bytes/s, next to `memchr::memmem` over the raw `pages-N.img` file
//!   (the same bytes with no pagemap, VMA or stitching logic: the ceiling). The target is
//!   ≥ 1 GB/s and close to the baseline; falling far below it means per-page work crept into
//!   the scan (slices no longer merged, copies at boundaries). `regex` is the same search with
//!   `--regex CRIT-BENCH-[A-Z]+`, for information.
//! * `mem/read 64 B at random addresses` and `read 4 KiB`: one `Task::read` each (binary
//!   searches over VMAs and pagemap runs, then a copy out of the mapped pages file); target
//!   well under 1 ms. `open task` is what `crit mem` pays once before that: `Memory::open` and
//!   `Memory::task` (parsing pstree, mm, files, pagemaps into the index).
//!
//! A summary with GB/s, the ratio to the baseline and per-read times is printed to stderr from
//! separate best-of-N loops, so it does not depend on criterion's report format.
//!
//! Run: `cargo bench -p criu-image-benches --bench search -- --quick`

use std::fs;
use std::hint::black_box;
use std::ops::ControlFlow;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use criu_image::checkpoint::Checkpoint;
use criu_image::memory::search::{Pattern, search};
use criu_image::memory::{Memory, Task};

const BIG_MIB: u64 = 1024;
const NEEDLE: &[u8] = b"CRIT-BENCH-NEEDLE";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The checkpoint directory and the dumped PID, dumping it first if needed.
fn checkpoint() -> (PathBuf, u32) {
    if let Some(dir) = std::env::var_os("CRIT_BENCH_CHECKPOINT") {
        let pid = std::env::var("CRIT_BENCH_PID").expect("CRIT_BENCH_PID").parse().expect("CRIT_BENCH_PID");
        return (PathBuf::from(dir), pid);
    }
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-memory-1g");
    let src = root().join("runtime/tests/memory-target/target.c");
    let source = fs::read(&src).unwrap();
    // The dump is valid for this target source and size.
    let stamp = format!("{BIG_MIB} {:016x}\n", fnv(&source));
    let done = scratch.join("complete");
    if fs::read_to_string(&done).is_ok_and(|s| s.starts_with(&stamp)) {
        let pid = fs::read_to_string(&done).unwrap().lines().nth(1).unwrap().parse().unwrap();
        return (scratch.join("dump"), pid);
    }
    let criu = std::env::var_os("CRIU").map(PathBuf::from).unwrap_or_else(|| root().join("target/criu/bin/criu"));
    assert!(criu.is_file(), "{} is missing: run `cargo xtask criu`, set CRIU, or set CRIT_BENCH_CHECKPOINT", criu.display());
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(scratch.join("dump")).unwrap();
    let exe = scratch.join("target");
    assert!(Command::new("gcc").args(["-O2", "-o"]).arg(&exe).arg(&src).status().unwrap().success());
    let file = scratch.join("mapped.dat");
    fs::write(&file, vec![7u8; 4 * 4096]).unwrap();
    let ready = scratch.join("ready");
    let mut cmd = Command::new(&exe);
    cmd.arg(&ready).arg(&file).arg(BIG_MIB.to_string()).env_clear().env("PATH", "/usr/bin:/bin");
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let t = Instant::now();
    while !ready.exists() {
        assert!(child.try_wait().unwrap().is_none(), "the target exited early");
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the target did not get ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("dumping a {BIG_MIB} MiB process with {} ...", criu.display());
    let out = Command::new(&criu)
        .args(["dump", "-t", &child.id().to_string(), "-D"])
        .arg(scratch.join("dump"))
        .args(["--shell-job", "--leave-running", "-o", "dump.log"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "criu dump failed (needs root): see {}", scratch.join("dump/dump.log").display());
    fs::write(&done, format!("{stamp}{}\n", child.id())).unwrap();
    (scratch.join("dump"), child.id())
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100000001b3))
}

fn count(task: &Task<'_>, p: &Pattern) -> usize {
    let mut n = 0;
    let _ = search(
        task,
        p,
        &mut |_| {
            n += 1;
            ControlFlow::Continue(())
        },
        &mut |_| {},
    );
    n
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

/// Pseudo-random addresses inside the task's stored, readable memory.
fn addresses(task: &Task<'_>, n: usize, len: u64) -> Vec<u64> {
    let big = task.vmas().max_by_key(|v| v.end - v.start).unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            big.start + x % (big.end - big.start - len)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let (dir, pid) = checkpoint();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let mem = Memory::open(&ckpt);
    let task = mem.task(pid).unwrap();
    let stored = task.stored_len();
    let pages = ckpt.names().filter(|n| n.starts_with("pages-")).max_by_key(|n| ckpt.file(n).map_or(0, <[u8]>::len)).unwrap();
    let raw = ckpt.file(pages).unwrap();
    let literal = Pattern::literal(NEEDLE).unwrap();
    let regex = Pattern::regex("CRIT-BENCH-[A-Z]+").unwrap();
    let finder = memchr::memmem::Finder::new(NEEDLE);
    assert!(count(&task, &literal) >= 2, "the needles are missing: is this the bench target's checkpoint?");

    let mut g = c.benchmark_group("search_1GiB");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(stored));
    g.bench_function("memory::search literal", |b| b.iter(|| black_box(count(&task, &literal))));
    g.bench_function("memory::search regex", |b| b.iter(|| black_box(count(&task, &regex))));
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("baseline memmem over pages file", |b| b.iter(|| black_box(finder.find_iter(raw).count())));
    g.finish();

    let small = addresses(&task, 1024, 64);
    let page = addresses(&task, 1024, 4096);
    let mut g = c.benchmark_group("mem");
    let mut i = 0;
    g.bench_function("read 64 B at random addresses", |b| {
        b.iter(|| {
            i = (i + 1) % small.len();
            black_box(task.read(small[i], 64).unwrap())
        })
    });
    g.bench_function("read 4 KiB at random addresses", |b| {
        b.iter(|| {
            i = (i + 1) % page.len();
            black_box(task.read(page[i], 4096).unwrap())
        })
    });
    // What `crit mem` pays before its first read: the checkpoint opened and the task indexed.
    g.bench_function("open task (Checkpoint::open + Memory::open + task)", |b| {
        b.iter(|| {
            let c = Checkpoint::open(&dir).unwrap();
            black_box(Memory::open(&c).task(pid).unwrap().vmas().count())
        })
    });
    g.finish();

    // The summary.
    let ours = best_of(5, || {
        black_box(count(&task, &literal));
    });
    let base = best_of(5, || {
        black_box(finder.find_iter(raw).count());
    });
    let re = best_of(3, || {
        black_box(count(&task, &regex));
    });
    let gbs = |bytes: u64, d: Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    eprintln!(
        "search: {} MiB stored; literal {:.2} GB/s, regex {:.2} GB/s, baseline memmem {:.2} GB/s over {} ({} MiB); literal/baseline = {:.2}",
        stored >> 20,
        gbs(stored, ours),
        gbs(stored, re),
        gbs(raw.len() as u64, base),
        pages,
        raw.len() >> 20,
        (stored as f64 / ours.as_secs_f64()) / (raw.len() as f64 / base.as_secs_f64()),
    );
    let per = |addrs: &[u64], len: u64| {
        best_of(5, || {
            for &a in addrs {
                black_box(task.read(a, len).unwrap());
            }
        }) / addrs.len() as u32
    };
    let open = best_of(5, || {
        let c = Checkpoint::open(&dir).unwrap();
        black_box(Memory::open(&c).task(pid).unwrap().vmas().count());
    });
    eprintln!(
        "mem: read 64 B {:?}, read 4 KiB {:?} (per read, random addresses); open task {:?}; {} VMAs, {} pagemap runs",
        per(&small, 64),
        per(&page, 4096),
        open,
        task.vmas().count(),
        task.pagemap().runs().count()
    );
}

criterion_group!(search_benches, benches);
criterion_main!(search_benches);
