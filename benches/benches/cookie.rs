//! File cookies: CRC32C throughput and build-id lookup cost.
//!
//! * `crc32c/64MiB`: CRC32C of a 64 MiB buffer next to a `memcpy` of the same buffer, both in
//!   bytes/s. A checksum is only worth recording if computing it costs about what copying the
//!   file would: the target is CRC32C >= 70% of memcpy bandwidth. A regression below that means
//!   the hardware path (SSE 4.2 / ARMv8 CRC) was lost. The ratio is printed to stderr from a
//!   separate best-of-N timing loop, so it does not depend on criterion's report format.
//! * `checksum_file/64MiB`: the same CRC over a 64 MiB file in the page cache, read with
//!   `pread` into buffers of several sizes (the library uses 1 MiB) and through a whole-file
//!   `mmap`. This is the measurement behind the library's choice of reading strategy.
//! * `build_id/mapped_elves`: the build-id of every ELF file mapped by this process and by a
//!   python3 process, our way (`pread` of the ELF header, the program header table and the
//!   `PT_NOTE` segments) against CRIU's (`mmap(min(size, 1 MiB), PROT_READ, MAP_PRIVATE)` then
//!   parse through the mapping, faulting in only the pages it touches; plus a `MAP_POPULATE`
//!   variant that faults in the whole window up front). Bytes read per file for both are printed
//!   to stderr. A regression in our variant means the scan started reading more than it needs.
//!
//! Run: `cargo bench -p criu-image-benches --bench cookie -- --quick`

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use criu_image::cookie::build_id::{self, build_id_from_bytes, scan_file};
use criu_image::cookie::checksum::{ChecksumMode, checksum_bytes, checksum_file};

const BUF_LEN: usize = 64 << 20;

/// Deterministic non-constant contents (a constant buffer could hit a zero-page fast path).
fn test_buffer() -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..BUF_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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

fn gib_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / (1u64 << 30) as f64
}

fn crc_vs_memcpy(c: &mut Criterion) {
    let src = test_buffer();
    // Pre-faulted destination so memcpy measures copying, not page faults.
    let mut dst = vec![1u8; BUF_LEN];
    let mut g = c.benchmark_group("crc32c/64MiB");
    g.throughput(Throughput::Bytes(BUF_LEN as u64));
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        })
    });
    g.bench_function("crc32c", |b| {
        b.iter(|| checksum_bytes(black_box(&src), ChecksumMode::WholeFile))
    });
    g.finish();

    let copy = best_of(15, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
    });
    let crc = best_of(15, || {
        black_box(checksum_bytes(black_box(&src), ChecksumMode::WholeFile));
    });
    let (copy_bw, crc_bw) = (gib_per_s(BUF_LEN, copy), gib_per_s(BUF_LEN, crc));
    eprintln!(
        "\ncrc32c/64MiB best of 15: memcpy {copy_bw:.2} GiB/s ({copy:?}), crc32c {crc_bw:.2} GiB/s \
         ({crc:?}); crc32c/memcpy = {:.0}% (target >= 70%)\n",
        100.0 * crc_bw / copy_bw
    );
}

/// CRC of a file by `pread` into a buffer of `chunk` bytes: the library's strategy, parametrised.
fn crc_pread(file: &File, chunk: usize) -> u32 {
    let mut buf = vec![0u8; chunk];
    let (mut crc, mut off) = (0u32, 0u64);
    loop {
        let n = file.read_at(&mut buf, off).expect("pread");
        if n == 0 {
            return crc;
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        off += n as u64;
    }
}

fn crc_mmap(file: &File) -> u32 {
    // SAFETY: the benchmark owns the file and nothing truncates it while it is mapped.
    let map = unsafe { memmap2::Mmap::map(file) }.expect("mmap");
    crc32c::crc32c(&map)
}

fn checksum_file_strategies(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("criu-cookie-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("data");
    File::create(&path)
        .and_then(|mut f| f.write_all(&test_buffer()))
        .expect("write file");
    let file = File::open(&path).expect("open");
    let want = checksum_file(&file, ChecksumMode::WholeFile).expect("checksum");
    assert_eq!(crc_mmap(&file), want);

    let mut g = c.benchmark_group("checksum_file/64MiB");
    g.throughput(Throughput::Bytes(BUF_LEN as u64));
    g.bench_function("library (pread 1 MiB)", |b| {
        b.iter(|| checksum_file(&file, ChecksumMode::WholeFile).expect("checksum"))
    });
    for chunk in [64 << 10, 256 << 10, 4 << 20] {
        g.bench_with_input(
            BenchmarkId::new("pread", chunk >> 10),
            &chunk,
            |b, &chunk| b.iter(|| crc_pread(&file, chunk)),
        );
    }
    g.bench_function("mmap", |b| b.iter(|| crc_mmap(&file)));
    g.finish();

    let mut line = String::from("checksum_file/64MiB best of 7 (page cache):");
    for chunk in [64usize << 10, 256 << 10, 1 << 20, 4 << 20] {
        let d = best_of(7, || {
            black_box(crc_pread(&file, chunk));
        });
        line += &format!(
            " pread {}K {:.2} GiB/s;",
            chunk >> 10,
            gib_per_s(BUF_LEN, d)
        );
    }
    let d = best_of(7, || {
        black_box(crc_mmap(&file));
    });
    line += &format!(" mmap {:.2} GiB/s", gib_per_s(BUF_LEN, d));
    eprintln!("\n{line}\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regular ELF files mapped by process `pid`, from `/proc/PID/maps`.
fn mapped_elves(pid: &str) -> Vec<PathBuf> {
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .filter(|p| {
            let mut magic = [0u8; 4];
            File::open(p)
                .and_then(|f| f.read_exact_at(&mut magic, 0))
                .is_ok()
                && magic == *b"\x7fELF"
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// A python3 that has imported a few extension modules, so it maps more shared objects.
fn spawn_python() -> Option<Child> {
    let code = "import ssl, json, sqlite3, ctypes, decimal, hashlib, zlib, sys; \
                print('ready', flush=True); sys.stdin.read()";
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).ok()?;
    Some(child)
}

/// CRIU's `get_build_id`: map the window, parse through the mapping.
fn criu_way(path: &Path, populate: bool) -> (Option<Vec<u8>>, u64) {
    let file = File::open(path).expect("open");
    let size = file.metadata().expect("fstat").len();
    let window = size.min(build_id::WINDOW) as usize;
    if window == 0 {
        return (None, 0);
    }
    let mut opts = memmap2::MmapOptions::new();
    opts.len(window);
    if populate {
        opts.populate();
    }
    // SAFETY: read-only private mapping of a file nobody truncates during the benchmark; CRIU
    // takes the same risk (a concurrent truncate would SIGBUS it).
    let map = unsafe { opts.map(&file) }.expect("mmap");
    (
        build_id_from_bytes(&map).ok().map(|id| id.into_bytes()),
        window as u64,
    )
}

fn our_way(path: &Path) -> (Option<Vec<u8>>, u64, Vec<(u64, u64)>) {
    let file = File::open(path).expect("open");
    let scan = scan_file(&file).expect("scan");
    (
        scan.outcome.ok().map(|id| id.into_bytes()),
        scan.bytes_read,
        scan.reads,
    )
}

fn build_ids(c: &mut Criterion) {
    let mut files = mapped_elves("self");
    let python = spawn_python();
    if let Some(child) = &python {
        files.extend(mapped_elves(&child.id().to_string()));
    }
    files.sort();
    files.dedup();
    if let Some(mut child) = python {
        drop(child.stdin.take());
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(!files.is_empty(), "no mapped ELF files found");

    // Same answers both ways; tally the bytes each way reads.
    let (mut window_total, mut ours_total, mut pages_total, mut with_id) = (0u64, 0u64, 0u64, 0);
    let mut largest = 0u64;
    for f in &files {
        let (theirs, window) = criu_way(f, false);
        let (ours, read, reads) = our_way(f);
        assert_eq!(ours, theirs, "{}", f.display());
        with_id += usize::from(ours.is_some());
        window_total += window;
        ours_total += read;
        largest = largest.max(f.metadata().map(|m| m.len()).unwrap_or(0));
        // The 4 KiB pages CRIU's parse touches are the pages our reads cover.
        let mut pages: Vec<u64> = reads
            .iter()
            .flat_map(|&(off, len)| off / 4096..(off + len).div_ceil(4096))
            .collect();
        pages.sort();
        pages.dedup();
        pages_total += pages.len() as u64 * 4096;
    }
    let n = files.len() as u64;
    eprintln!(
        "\nbuild_id over {n} mapped ELF files ({with_id} with an id, largest {:.1} MiB):\n  \
         ours (pread):            {:>9} bytes read in total, {:>7.0} per file\n  \
         CRIU (mmap, lazy):       {:>9} bytes mapped, {:>7.0} per file; pages touched {} bytes, \
         {:.0} per file (the kernel's fault-around maps up to 64 KiB per fault on top)\n  \
         CRIU (mmap, MAP_POPULATE): {:>7} bytes faulted in, {:>7.0} per file\n",
        largest as f64 / (1 << 20) as f64,
        ours_total,
        ours_total as f64 / n as f64,
        window_total,
        window_total as f64 / n as f64,
        pages_total,
        pages_total as f64 / n as f64,
        window_total,
        window_total as f64 / n as f64,
    );

    let mut g = c.benchmark_group("build_id/mapped_elves");
    g.throughput(Throughput::Elements(n));
    g.bench_function("ours_pread", |b| {
        b.iter(|| files.iter().map(|f| our_way(f).1).sum::<u64>())
    });
    g.bench_function("criu_mmap", |b| {
        b.iter(|| files.iter().map(|f| criu_way(f, false).1).sum::<u64>())
    });
    g.bench_function("criu_mmap_populate", |b| {
        b.iter(|| files.iter().map(|f| criu_way(f, true).1).sum::<u64>())
    });
    g.finish();

    let per_file = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let ours = best_of(20, || {
        black_box(files.iter().map(|f| our_way(f).1).sum::<u64>());
    });
    let lazy = best_of(20, || {
        black_box(files.iter().map(|f| criu_way(f, false).1).sum::<u64>());
    });
    let populate = best_of(20, || {
        black_box(files.iter().map(|f| criu_way(f, true).1).sum::<u64>());
    });
    eprintln!(
        "\nbuild_id best of 20, per file: ours {:.1} us, CRIU mmap {:.1} us, CRIU mmap+populate \
         {:.1} us\n",
        per_file(ours),
        per_file(lazy),
        per_file(populate)
    );
}

criterion_group!(benches, crc_vs_memcpy, checksum_file_strategies, build_ids);
criterion_main!(benches);
