//! Writes the seed corpora of every fuzz target into `fuzz/corpus/<target>/` from real CRIU
//! images: the fixtures in `testdata/` and, when `cargo xtask zdtm` has run, the ZDTM corpus in
//! `target/zdtm/` (`--no-zdtm` leaves it out). Seeds are named by a hash of their content, so
//! running it again adds nothing twice.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --bin seeds [-- --no-zdtm]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use criu_image::image::raw_kind_by_name;

/// Largest image file taken whole into a `decode` seed; larger ones are cut (the fuzzers mutate
/// the start of files far more than their tails anyway).
const MAX_FILE: usize = 64 << 10;
/// Largest file of a whole-checkpoint seed (`checkpoint`, `archive`): small inputs keep those
/// targets at thousands of runs a second; page data beyond this adds length, not coverage.
const MAX_SET_FILE: usize = 4 << 10;
/// Largest whole-checkpoint seed.
const MAX_SET: usize = 32 << 10;
/// Largest pages file of a `pagemap` seed, and largest mm and pagemap image taken (tasks with
/// more VMAs are left out: they add parse time, not new paths).
const MAX_PAGES: usize = 16 << 10;
const MAX_MM: usize = 8 << 10;
/// Most ZDTM image directories turned into checkpoint seeds (the corpus has ~340).
const MAX_ZDTM_SETS: usize = 120;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn write_seed(target: &str, data: &[u8]) -> bool {
    let dir = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    let p = dir.join(format!("{:016x}", h.finish()));
    if p.exists() {
        return false;
    }
    std::fs::write(p, data).unwrap();
    true
}

/// Image directories: the fixtures, then (optionally) ZDTM's, each with its files sorted.
fn sets(zdtm: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join("testdata/images")).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.push(p);
        }
    }
    out.sort();
    let corpus = root().join("target/zdtm/corpus.tsv");
    if zdtm {
        match std::fs::read_to_string(&corpus) {
            Ok(text) => {
                let mut z: Vec<PathBuf> = text
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .filter_map(|l| l.split('\t').next())
                    .map(|s| root().join("target/zdtm/images").join(s))
                    .collect();
                z.sort();
                out.extend(z);
            }
            Err(_) => eprintln!("seeds: no {} (run `cargo xtask zdtm`); fixtures only", corpus.display()),
        }
    }
    out
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().ok()?;
            (name.ends_with(".img") && e.file_type().ok()?.is_file()).then_some(name)
        })
        .map(|n| {
            let mut b = std::fs::read(dir.join(&n)).unwrap();
            b.truncate(MAX_FILE);
            (n, b)
        })
        .collect();
    v.sort();
    v
}

fn main() {
    let zdtm = !std::env::args().any(|a| a == "--no-zdtm");
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut add = |target: &'static str, data: &[u8]| {
        if write_seed(target, data) {
            *counts.entry(target).or_default() += 1;
        }
    };
    let all = sets(zdtm);
    let fixtures = all.iter().filter(|p| p.starts_with(root().join("testdata"))).count();
    for (k, dir) in all.iter().enumerate() {
        let fs = files(dir);
        // decode: every image crit decodes (raw data is refused by name, which the target
        // covers with its own names).
        for (name, body) in &fs {
            if raw_kind_by_name(name).is_none() {
                add("decode", body);
            }
        }
        // netlink: each `ip … save` dump, its magic word replaced by the selector byte (0 ifaddr,
        // 1 route, 2 rule; bit 7 clear: the target puts the right magic back).
        for (name, body) in &fs {
            let k = if name.starts_with("ifaddr-") {
                0u8
            } else if name.starts_with("route-") || name.starts_with("route6-") {
                1
            } else if name.starts_with("rule-") {
                2
            } else {
                continue;
            };
            if body.len() >= 4 {
                add("netlink", &[&[k][..], &body[4..]].concat());
            }
        }
        // encode: crit's JSON of the fixtures.
        // checkpoint: the whole set, files cut short, within a size budget.
        let fs_small: Vec<(String, Vec<u8>)> = fs.iter().map(|(n, b)| (n.clone(), b[..b.len().min(MAX_SET_FILE)].to_vec())).collect();
        let total: usize = fs_small.iter().map(|f| f.1.len() + f.0.len() + 5).sum();
        if total <= MAX_SET && k < fixtures + MAX_ZDTM_SETS {
            add("checkpoint", &criu_image_fuzz::join_files(&fs_small));
        }
        // pagemap: each task's mm, pagemap and pages.
        for (name, mm) in fs.iter().filter(|f| f.0.starts_with("mm-")) {
            let pid = &name[3..name.len() - 4];
            let Some(pm) = fs.iter().find(|f| f.0 == format!("pagemap-{pid}.img")) else { continue };
            if mm.len() > MAX_MM || pm.1.len() > MAX_MM {
                continue;
            }
            let mut pages = fs.iter().find(|f| f.0.starts_with("pages-")).map(|f| f.1.clone()).unwrap_or_default();
            pages.truncate(MAX_PAGES);
            let ops: Vec<u8> = (0u8..16).flat_map(|i| [i, 0, 0x10, 0, 0, 0x10, 0, i & 1]).collect();
            let recs = vec![("m".to_string(), mm.clone()), ("p".to_string(), pm.1.clone()), ("d".to_string(), pages), ("o".to_string(), ops)];
            add("pagemap", &criu_image_fuzz::join_files(&recs));
        }
        // archive: the fixtures as tar (compressed by the harness: modes 1 and 2) and as real
        // tar.gz and tar.zst files (mode 0).
        if k < fixtures && total <= MAX_SET {
            let refs: Vec<(String, &[u8])> = fs_small.iter().map(|(n, b)| (n.clone(), &b[..])).collect();
            let tar = criu_image_fuzz::tar(&refs);
            for mode in [1u8, 2] {
                add("archive", &[&[mode][..], &tar].concat());
            }
            add("archive", &[&[0u8][..], &tar].concat());
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar).unwrap();
            add("archive", &[&[0u8][..], &gz.finish().unwrap()].concat());
            let zst = ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest);
            add("archive", &[&[0u8][..], &zst].concat());
        }
    }
    for e in std::fs::read_dir(root().join("testdata/crit-reference")).unwrap() {
        let d = e.unwrap().path();
        for f in std::fs::read_dir(&d).unwrap() {
            let p = f.unwrap().path();
            if p.to_string_lossy().ends_with(".plain.json") || p.to_string_lossy().ends_with(".pretty.json") {
                let mut b = std::fs::read(&p).unwrap();
                if b.len() <= MAX_FILE {
                    b.truncate(MAX_FILE);
                    add("encode", &b);
                }
            }
        }
    }
    // build_id: the start of real ELF files (program headers and notes are near the start).
    for p in ["/bin/sleep", "/bin/true", "/usr/bin/python3", "/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libc.so.6"] {
        if let Ok(mut b) = std::fs::read(p) {
            b.truncate(4 << 10);
            add("build_id", &b);
        }
    }
    for (t, n) in &counts {
        println!("{t}: {n} new seeds");
    }
}
