//! The JSON writer near its limit: `crit decode` (plain) of a real mm and pagemap image, in MB/s
//! of JSON *output* (group `json_output`) and of image bytes (group `json_image`), against
//! baselines measured in the same run:
//! - `memcpy_output`: copying as many bytes as the JSON has (no writer can beat it);
//! - `serde_json`: serde_json writing an equivalent `Vec` of plain structs (the same fields,
//!   names and values as crit's plain JSON, built once outside the loop), a well-known
//!   reference point for a fast JSON writer;
//! - `view_walk`: the parse alone (framing and views, what every command pays first).
//!
//! Images: `JSON_BENCH_DIR` (a checkpoint directory, e.g. one from `cargo xtask big-checkpoint`:
//! 30 000 VMAs make a 3.8 MB JSON), else the largest fixture (testdata/images/fdzoo). Its
//! `mm-*.img` and `pagemap-*.img` of the first task are used.
//!
//! A regression: `ours` falling towards `serde_json` or `view_walk`, or away from `memcpy_output`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use criu_image::crit::{self, JsonOptions};
use criu_image::image::Image;
use criu_image::proto::view;
use serde::Serialize;

#[derive(Serialize)]
struct Vma {
    start: u64,
    end: u64,
    pgoff: u64,
    shmid: u64,
    prot: u32,
    flags: u32,
    status: u32,
    fd: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    madv: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fdflags: Option<u32>,
}

#[derive(Serialize)]
struct Mm {
    mm_start_code: u64,
    mm_end_code: u64,
    mm_start_data: u64,
    mm_end_data: u64,
    mm_start_stack: u64,
    mm_start_brk: u64,
    mm_brk: u64,
    mm_arg_start: u64,
    mm_arg_end: u64,
    mm_env_start: u64,
    mm_env_end: u64,
    exe_file_id: u32,
    mm_saved_auxv: Vec<u64>,
    vmas: Vec<Vma>,
}

#[derive(Serialize)]
struct PagemapEntry {
    vaddr: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nr_pages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<u32>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Pagemap {
    Head { pages_id: u32 },
    Entry(PagemapEntry),
}

#[derive(Serialize)]
struct Doc<T> {
    magic: &'static str,
    entries: Vec<T>,
}

fn dir() -> PathBuf {
    std::env::var_os("JSON_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images/fdzoo"))
}

/// The first `prefix*.img` of the directory, by name.
fn image(dir: &Path, prefix: &str) -> (String, Vec<u8>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".img"))
        .collect();
    names.sort();
    let name = names.first().unwrap_or_else(|| panic!("no {prefix}*.img in {}", dir.display())).clone();
    let bytes = std::fs::read(dir.join(&name)).unwrap();
    (name, bytes)
}

fn mm_doc(name: &str, bytes: &[u8]) -> Doc<Mm> {
    let img = Image::parse(bytes, Some(name)).unwrap();
    let entries = img
        .entries()
        .map(|e| {
            let m = view::MmEntry::parse(e.unwrap().message).unwrap();
            Mm {
                mm_start_code: m.mm_start_code(),
                mm_end_code: m.mm_end_code(),
                mm_start_data: m.mm_start_data(),
                mm_end_data: m.mm_end_data(),
                mm_start_stack: m.mm_start_stack(),
                mm_start_brk: m.mm_start_brk(),
                mm_brk: m.mm_brk(),
                mm_arg_start: m.mm_arg_start(),
                mm_arg_end: m.mm_arg_end(),
                mm_env_start: m.mm_env_start(),
                mm_env_end: m.mm_env_end(),
                exe_file_id: m.exe_file_id(),
                mm_saved_auxv: m.mm_saved_auxv().into_iter().collect(),
                vmas: m
                    .vmas()
                    .into_iter()
                    .map(|v| Vma {
                        start: v.start(),
                        end: v.end(),
                        pgoff: v.pgoff(),
                        shmid: v.shmid(),
                        prot: v.prot(),
                        flags: v.flags(),
                        status: v.status(),
                        fd: v.fd(),
                        madv: v.madv(),
                        fdflags: v.fdflags(),
                    })
                    .collect(),
            }
        })
        .collect();
    Doc { magic: "MM", entries }
}

fn pagemap_doc(name: &str, bytes: &[u8]) -> Doc<Pagemap> {
    let img = Image::parse(bytes, Some(name)).unwrap();
    let entries = img
        .entries()
        .enumerate()
        .map(|(i, e)| {
            let e = e.unwrap();
            if i == 0 {
                Pagemap::Head { pages_id: view::PagemapHead::parse(e.message).unwrap().pages_id() }
            } else {
                let p = view::PagemapEntry::parse(e.message).unwrap();
                Pagemap::Entry(PagemapEntry { vaddr: p.vaddr(), nr_pages: p.nr_pages(), flags: p.flags() })
            }
        })
        .collect();
    Doc { magic: "PAGEMAP", entries }
}

fn ours(name: &str, bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let img = Image::parse(bytes, Some(name)).unwrap();
    crit::write_json(&img, out, JsonOptions { pretty: false, nopl: false }).unwrap();
}

fn bench_one<T: Serialize>(c: &mut Criterion, what: &str, name: &str, bytes: &[u8], doc: &T) {
    let mut json = Vec::new();
    ours(name, bytes, &mut json);
    let serde_len = serde_json::to_vec(doc).unwrap().len();
    eprintln!(
        "{what}: {name}, {} image bytes, {} JSON bytes (serde_json's equivalent: {serde_len})",
        bytes.len(),
        json.len()
    );
    for (group, len) in [("json_output", json.len()), ("json_image", bytes.len())] {
        let mut g = c.benchmark_group(format!("{group}/{what}"));
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function("ours", |b| {
            let mut out = Vec::with_capacity(json.len() * 2);
            b.iter(|| {
                ours(name, bytes, &mut out);
                black_box(&out);
            })
        });
        if group == "json_output" {
            g.bench_function("memcpy_output", |b| {
                let mut dst = vec![0u8; json.len()];
                b.iter(|| {
                    dst.copy_from_slice(black_box(&json));
                    black_box(&dst);
                })
            });
            g.bench_function("serde_json", |b| {
                let mut out = Vec::with_capacity(serde_len * 2);
                b.iter(|| {
                    out.clear();
                    serde_json::to_writer(&mut out, black_box(doc)).unwrap();
                    black_box(&out);
                })
            });
            g.bench_function("view_walk", |b| {
                b.iter(|| {
                    let img = Image::parse(bytes, Some(name)).unwrap();
                    black_box(crit::check(&img).unwrap());
                })
            });
        }
        g.finish();
    }
}

fn bench(c: &mut Criterion) {
    let d = dir();
    let (mm_name, mm) = image(&d, "mm-");
    let (pm_name, pm) = image(&d, "pagemap-");
    let mm_d = mm_doc(&mm_name, &mm);
    let pm_d = pagemap_doc(&pm_name, &pm);
    bench_one(c, "mm", &mm_name, &mm, &mm_d);
    bench_one(c, "pagemap", &pm_name, &pm, &pm_d);
}

criterion_group!(benches, bench);
criterion_main!(benches);
