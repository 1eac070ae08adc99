//! Checkpoint archives: tar, optionally gzip or zstd compressed, read in memory with a limit.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

use super::{CheckpointError, Format, Member, Members, OpenOptions, detect_format};
use crate::source::Source;

/// Decompresses (once) and lists an archive: its format, its bytes, the image directory's
/// members and the other members.
pub(super) fn read(path: &Path, src: Source, opts: &OpenOptions) -> Result<(Format, Source, Members, Members), CheckpointError> {
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
    let format = detect_format(&src)
        .ok_or_else(|| bad("not a checkpoint directory nor a checkpoint archive (no tar, gzip or zstd magic)".into()))?;
    let data = match format {
        Format::Tar => src,
        Format::TarGzip => Source::Owned(gunzip(&src, opts.max_decompressed, path)?),
        Format::TarZstd => Source::Owned(unzstd(&src, opts.max_decompressed, path)?),
        Format::Directory => return Err(bad("a directory is not an archive".into())),
    };
    if format != Format::Tar && detect_format(&data) != Some(Format::Tar) {
        return Err(bad(format!("the {format} archive does not hold a tar file (no ustar magic at byte 257)")));
    }
    let budget = opts.max_decompressed.saturating_sub(if format == Format::Tar { 0 } else { data.len() as u64 });
    let (images, extras) = tar_members(&data, budget, path)?;
    Ok((format, data, images, extras))
}

/// Reads at most `limit` bytes from `r` into a buffer of `hint` initial capacity; more is an error.
fn read_bounded(mut r: impl Read, hint: u64, limit: u64, path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let mut out = Vec::with_capacity(hint.min(limit) as usize);
    read_bounded_into(&mut r, &mut out, limit, path)?;
    Ok(out)
}

fn read_bounded_into(r: &mut dyn Read, out: &mut Vec<u8>, limit: u64, path: &Path) -> Result<(), CheckpointError> {
    let room = limit.saturating_sub(out.len() as u64);
    r.take(room.saturating_add(1)).read_to_end(out).map_err(|e| CheckpointError::Archive {
        path: path.to_path_buf(),
        message: format!("decompressing: {e}"),
    })?;
    if out.len() as u64 > limit {
        return Err(CheckpointError::TooLarge { path: path.to_path_buf(), limit });
    }
    Ok(())
}

fn gunzip(data: &[u8], limit: u64, path: &Path) -> Result<Vec<u8>, CheckpointError> {
    // ISIZE, the last member's size mod 2^32, is a good capacity hint for the usual one-member
    // file; a bogus one only costs a reallocation.
    let isize = data.len().checked_sub(4).map_or(0, |at| {
        u64::from(u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]))
    });
    let hint = if isize >= data.len() as u64 / 2 { isize } else { data.len() as u64 * 4 };
    read_bounded(flate2::read::MultiGzDecoder::new(data), hint, limit, path)
}

fn unzstd(data: &[u8], limit: u64, path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
    let mut input: &[u8] = data;
    let mut out = Vec::new();
    // The window is what the decoder allocates up front; no frame we accept needs more than the
    // whole output.
    let max_window = limit.clamp(1 << 20, 1 << 31);
    // A zstd file is a sequence of frames (zstd -T writes several; files can be concatenated),
    // possibly with skippable frames between them.
    while !input.is_empty() {
        if input.len() >= 8 && u32::from_le_bytes([input[0], input[1], input[2], input[3]]) & 0xffff_fff0 == 0x184d_2a50 {
            let len = u32::from_le_bytes([input[4], input[5], input[6], input[7]]) as usize;
            let end = 8usize.checked_add(len).filter(|&e| e <= input.len()).ok_or_else(|| bad("zstd: truncated skippable frame".into()))?;
            input = &input[end..];
            continue;
        }
        let offset = data.len() - input.len();
        let mut dec = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(&mut input, max_window)
            .map_err(|e| bad(format!("zstd frame at byte {offset}: {e}")))?;
        if out.is_empty() {
            if let n @ 1.. = dec.decoder.content_size() {
                out.reserve(n.min(limit) as usize);
            } else {
                out.reserve((data.len() as u64 * 4).min(limit) as usize);
            }
        }
        read_bounded_into(&mut dec, &mut out, limit, path)?;
    }
    Ok(out)
}


/// Lists a tar's regular files as ranges of `data` (sparse ones expanded, within `budget` bytes),
/// split into the image directory's files and the rest.
fn tar_members(data: &[u8], mut budget: u64, path: &Path) -> Result<(Members, Members), CheckpointError> {
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
    let mut all: Members = BTreeMap::new();
    let mut archive = tar::Archive::new(io::Cursor::new(data));
    let entries = archive.entries_with_seek().map_err(|e| bad(format!("reading the tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("reading the tar: {e}")))?;
        let kind = entry.header().entry_type();
        let Some(name) = normalize_member(&entry.path_bytes()) else { continue };
        if kind.is_gnu_sparse() {
            if entry.size() > budget {
                return Err(CheckpointError::TooLarge { path: path.to_path_buf(), limit: budget });
            }
            let mut v = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut v).map_err(|e| bad(format!("{name}: {e}")))?;
            budget -= v.len() as u64;
            all.insert(name, Member::Expanded(v));
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            continue;
        }
        let start = entry.raw_file_position();
        let end = start.checked_add(entry.size()).filter(|&e| e <= data.len() as u64);
        let Some(end) = end else {
            return Err(bad(format!("{name}: the member runs past the end of the archive (truncated tar?)")));
        };
        all.insert(name, Member::Slice(start as usize..end as usize));
    }
    let dir = image_dir(&all).ok_or_else(|| {
        bad("the archive holds no checkpoint images (no checkpoint/ directory, no inventory.img or pstree.img)".to_string())
    })?;
    let mut images = BTreeMap::new();
    let mut extras = BTreeMap::new();
    for (name, member) in all {
        match name.strip_prefix(dir.as_str()) {
            Some(rest) if !rest.contains('/') => {
                images.insert(rest.to_string(), member);
            }
            _ => {
                extras.insert(name, member);
            }
        }
    }
    Ok((images, extras))
}

/// A member path without `./` and `/` prefixes; `None` for paths that are not UTF-8 or that
/// climb out of the archive (no checkpoint file is named like that).
fn normalize_member(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    let mut parts = Vec::new();
    for p in s.split('/') {
        match p {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// The directory prefix (`""` or ending in `/`) that holds the images: `checkpoint/` as container
/// engines write it, else the shallowest directory holding `inventory.img` or `pstree.img`.
fn image_dir(members: &Members) -> Option<String> {
    if members.keys().any(|n| n.starts_with("checkpoint/")) {
        return Some("checkpoint/".into());
    }
    members
        .keys()
        .filter_map(|n| n.strip_suffix("inventory.img").or_else(|| n.strip_suffix("pstree.img")))
        .filter(|dir| dir.is_empty() || dir.ends_with('/'))
        .min_by_key(|dir| (dir.matches('/').count(), dir.to_string()))
        .map(str::to_string)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert_eq!(normalize_member(b"./checkpoint/core-1.img").as_deref(), Some("checkpoint/core-1.img"));
        assert_eq!(normalize_member(b"/a//b").as_deref(), Some("a/b"));
        assert_eq!(normalize_member(b"../x"), None);
        assert_eq!(normalize_member(b"./"), None);
    }

    #[test]
    fn image_dir_choice() {
        let m = |names: &[&str]| names.iter().map(|n| (n.to_string(), Member::Slice(0..0))).collect::<Members>();
        assert_eq!(image_dir(&m(&["config.dump", "checkpoint/pstree.img"])).as_deref(), Some("checkpoint/"));
        assert_eq!(image_dir(&m(&["pstree.img", "core-1.img"])).as_deref(), Some(""));
        assert_eq!(image_dir(&m(&["d/x/inventory.img", "d/pstree.img"])).as_deref(), Some("d/"));
        assert_eq!(image_dir(&m(&["dpstree.img"])), None);
        assert_eq!(image_dir(&m(&["readme"])), None);
    }

}
