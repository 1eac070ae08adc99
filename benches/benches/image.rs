//! Throughput of the crit pipeline on real images (the largest fixture images), in MB/s of image
//! bytes, with memcpy of the same bytes as the baseline measured in the same run:
//! - `walk`: framing + view parse of every entry (what every command pays first);
//! - `json_plain` / `json_pretty`: `crit decode` / `--pretty` into a sink;
//! - `encode`: `crit encode` of crit's plain JSON back to bytes (MB/s of image bytes produced).
//!
//! A regression here is a slower `crit decode/show/encode` for every user.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use criu_image::crit::{self, JsonOptions};
use criu_image::image::Image;

fn fixtures() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("testdata");
    ["fdzoo/mm-20321.img", "fdzoo/files.img", "fdzoo/core-20321.img", "fdzoo/pagemap-20321.img", "proctree/mm-20374.img"]
        .iter()
        .map(|f| {
            let bytes = std::fs::read(root.join("images").join(f)).unwrap();
            let json = std::fs::read(root.join("crit-reference").join(format!("{f}.plain.json"))).unwrap();
            (f.rsplit('/').next().unwrap().to_string(), bytes, json)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let fx = fixtures();
    let total: u64 = fx.iter().map(|f| f.1.len() as u64).sum();
    let mut g = c.benchmark_group("crit_pipeline");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("baseline_memcpy", |b| {
        let mut dst = vec![0u8; total as usize];
        b.iter(|| {
            let mut at = 0;
            for (_, bytes, _) in &fx {
                dst[at..at + bytes.len()].copy_from_slice(bytes);
                at += bytes.len();
            }
            black_box(&dst);
        })
    });
    g.bench_function("walk", |b| {
        b.iter(|| {
            for (name, bytes, _) in &fx {
                let img = Image::parse(bytes, Some(name)).unwrap();
                black_box(crit::check(&img).unwrap());
            }
        })
    });
    for (label, pretty) in [("json_plain", false), ("json_pretty", true)] {
        g.bench_function(label, |b| {
            let mut out = Vec::with_capacity(1 << 20);
            b.iter(|| {
                for (name, bytes, _) in &fx {
                    out.clear();
                    let img = Image::parse(bytes, Some(name)).unwrap();
                    crit::write_json(&img, &mut out, JsonOptions { pretty, nopl: false }).unwrap();
                    black_box(&out);
                }
            })
        });
    }
    g.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            for (_, _, json) in &fx {
                out.clear();
                crit::encode_json(json, &mut out).unwrap();
                black_box(&out);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
