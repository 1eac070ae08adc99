//! Helpers shared by the fuzz targets and the seed maker: a checkpoint as one fuzz input (a list
//! of named files), and that list as an in-memory tar the library opens like a Podman archive.

use std::path::Path;

use criu_image::checkpoint::{Checkpoint, OpenOptions};

/// Longest file name kept: what a ustar header's name field holds.
pub const MAX_NAME: usize = 99;

/// Splits a fuzz input into named files: records of `[name length: u8][name][data length: u32
/// LE][data]`, lengths clamped to what is left. Names that are empty or not UTF-8 are skipped.
pub fn split_files(mut data: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    while let Some((&n, rest)) = data.split_first() {
        let n = (n as usize).min(MAX_NAME).min(rest.len());
        let (name, rest) = rest.split_at(n);
        let (len, rest) = match rest.get(..4) {
            Some(l) => (u32::from_le_bytes(l.try_into().unwrap()) as usize, &rest[4..]),
            None => (0, &rest[rest.len()..]),
        };
        let len = len.min(rest.len());
        let (body, rest) = rest.split_at(len);
        if let Ok(name) = std::str::from_utf8(name)
            && !name.is_empty()
            && !name.contains('/')
            && !name.contains('\0')
        {
            out.push((name.to_string(), body));
        }
        data = rest;
    }
    out
}

/// The inverse of [`split_files`] (for seeds).
pub fn join_files(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, body) in files {
        let n = name.len().min(MAX_NAME);
        out.push(n as u8);
        out.extend_from_slice(&name.as_bytes()[..n]);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// A ustar archive of `files` (regular members, mode 0644).
pub fn tar(files: &[(String, &[u8])]) -> Vec<u8> {
    let mut out = Vec::with_capacity(files.iter().map(|f| 512 + f.1.len().next_multiple_of(512)).sum::<usize>() + 1024);
    for (name, body) in files {
        let mut h = [0u8; 512];
        let n = name.len().min(MAX_NAME);
        h[..n].copy_from_slice(&name.as_bytes()[..n]);
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(body);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// `files` opened as a checkpoint (through an in-memory tar), or `None` if the archive reader
/// refuses it (names it does not keep, say).
pub fn checkpoint(files: &[(String, &[u8])]) -> Option<Checkpoint> {
    Checkpoint::from_archive_bytes(Path::new("fuzz.tar"), tar(files), &OpenOptions { max_decompressed: 64 << 20, ..Default::default() }).ok()
}
