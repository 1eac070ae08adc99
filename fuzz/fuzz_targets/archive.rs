//! Checkpoint archives: any bytes, opened as a Podman/CRI-O/kubelet checkpoint archive (tar,
//! tar.gz, tar.zst), must give a checkpoint or a typed error; every member of what opens must
//! read. The first byte chooses how the rest is presented: as it is (the archive readers see raw
//! hostile compressed streams), or compressed here with gzip or zstd first (so that the tar
//! reader behind each decompressor sees hostile headers and names, not just a broken checksum).
//! The harness stores rather than compresses (deflate stored blocks, zstd raw blocks): real
//! compression here took most of each run, and the readers behind the framing see the same bytes.
#![no_main]

use std::io::Write;
use std::path::Path;

use criu_image::checkpoint::{Checkpoint, OpenOptions};
use libfuzzer_sys::fuzz_target;

/// A decompression limit far below the default, so that bombs are refused quickly.
const LIMIT: u64 = 8 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = match mode % 3 {
        0 => rest.to_vec(),
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
            e.write_all(rest).unwrap();
            e.finish().unwrap()
        }
        _ => ruzstd::encoding::compress_to_vec(rest, ruzstd::encoding::CompressionLevel::Uncompressed),
    };
    // Members of a tar.gz from 1 KiB on stay compressed (resume points every 4 KiB), so that
    // the deferred reads see hostile streams too.
    let opts = OpenOptions { max_decompressed: LIMIT, defer_from: 1024 };
    let Ok(ckpt) = Checkpoint::from_archive_bytes(Path::new("fuzz.tar"), bytes, &opts) else { return };
    let names: Vec<String> = ckpt.names().map(str::to_string).collect();
    for n in &names {
        // Ranges first (from resume points, while the member is still compressed), then the
        // whole: what the ranges gave must be what the whole holds.
        let len = ckpt.file_len(n).unwrap_or(0);
        let mut ranges = Vec::new();
        for (off, want) in [(0, 10), (len / 3, 5000), (len.saturating_sub(1), 1), (4096, 4097)] {
            let want = want.min(len.saturating_sub(off));
            let mut got = Vec::new();
            if ckpt.read_range(n, off, want, &mut |b| {
                got.extend_from_slice(b);
                std::ops::ControlFlow::Continue(())
            }).is_ok() {
                ranges.push((off, got));
            }
        }
        if let Ok(Some(whole)) = ckpt.read(n) {
            for (off, got) in ranges {
                assert!(whole[off as usize..].starts_with(&got), "{n}: range at {off} differs from the whole");
            }
        }
        let _ = ckpt.file_len(n);
        let _ = ckpt.image(n);
    }
    let extras: Vec<String> = ckpt.extra_names().map(str::to_string).collect();
    for n in &extras {
        let _ = ckpt.extra_file(n);
    }
    let _ = ckpt.parent_link();
});
