//! Checkpoint archives: tar, optionally gzip or zstd compressed, read in memory with a limit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::OnceLock;

use super::gzip::{GzMembers, GzState};
use super::{CheckpointError, Format, Member, Members, OpenOptions, detect_format};
use crate::source::{Buffer, Source};

/// Decompresses (once) and lists an archive: its format, its bytes, the image directory's
/// members and the other members.
pub(super) fn read(path: &Path, src: Source, opts: &OpenOptions) -> Result<(Format, Source, Members, Members), CheckpointError> {
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
    let format = detect_format(&src)
        .ok_or_else(|| bad("not a checkpoint directory nor a checkpoint archive (no tar, gzip or zstd magic)".into()))?;
    // A tar.gz is listed as it is inflated, its members held apart (the compressed bytes stay
    // the archive's buffer); a tar or tar.zst is one buffer whose members are ranges of it.
    // `budget` is what is left of the decompression limit (for an OCI image's layer).
    let (data, all, budget) = match format {
        Format::TarGzip => {
            let all = gunzip_tar(&src, opts, path)?;
            let used = all.values().map(Member::len).sum::<u64>();
            (src, all, opts.max_decompressed.saturating_sub(used))
        }
        Format::Tar | Format::TarZstd => {
            let (data, used) = match format {
                Format::Tar => (src, 0),
                _ => {
                    let data = unzstd(&src, opts.max_decompressed, path)?;
                    if detect_format(&data) != Some(Format::Tar) {
                        return Err(bad(format!("the {format} archive does not hold a tar file (no ustar magic at byte 257)")));
                    }
                    let used = data.len() as u64;
                    (data, used)
                }
            };
            let budget = opts.max_decompressed.saturating_sub(used);
            let all = tar_list(&data, budget, path)?;
            (data, all, budget)
        }
        Format::Directory | Format::OciImage => return Err(bad("a directory is not an archive".into())),
    };
    if image_dir(&all).is_none() && all.contains_key(OCI_LAYOUT) && all.contains_key(OCI_INDEX) {
        return oci_image(path, &data, &all, budget);
    }
    let (images, extras) = split_members(all, path)?;
    Ok((format, data, images, extras))
}

/// The OCI image layout's marker file and index (`podman save --format oci-archive`).
const OCI_LAYOUT: &str = "oci-layout";
const OCI_INDEX: &str = "index.json";

/// A checkpoint image (`podman container checkpoint --create-image`, or buildah for the kubelet's
/// checkpoints) saved as an OCI archive: `index.json` names the manifest, whose one layer is the
/// checkpoint archive (a tar, usually gzip-compressed). The layer is decompressed and read as the
/// archive; `index.json` and the manifest (with the checkpoint annotations: CRIU, engine and kernel
/// versions) are kept as extra files under their own names.
fn oci_image(path: &Path, data: &[u8], all: &Members, budget: u64) -> Result<(Format, Source, Members, Members), CheckpointError> {
    use criu_image_proto::support::json_in::{self, Value};
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
    let member = |name: &str| all.get(name).and_then(|m| m.bytes(data, path).ok());
    let json = |name: &str| -> Result<Value, CheckpointError> {
        let bytes = member(name).ok_or_else(|| bad(format!("OCI image: {name} is not in the archive")))?;
        json_in::parse(bytes).map_err(|e| bad(format!("OCI image: {name}: {e}")))
    };
    let string = |v: Option<&Value>| match v {
        Some(Value::String(s)) => std::str::from_utf8(s).ok().map(str::to_string),
        _ => None,
    };
    // "sha256:HEX" → blobs/sha256/HEX (the digest is checked for shape, not recomputed).
    let blob = |digest: Option<String>, what: &str| -> Result<String, CheckpointError> {
        let d = digest.ok_or_else(|| bad(format!("OCI image: {what} has no digest")))?;
        match d.split_once(':') {
            Some((alg, hex)) if !alg.is_empty() && !hex.is_empty() && (alg.to_owned() + hex).bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(format!("blobs/{alg}/{hex}"))
            }
            _ => Err(bad(format!("OCI image: {what}: {d:?} is not a digest"))),
        }
    };
    let index = json(OCI_INDEX)?;
    let manifests = match index.get("manifests") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        _ => return Err(bad("OCI image: index.json lists no manifest".into())),
    };
    if manifests.len() > 1 {
        return Err(bad(format!(
            "OCI image: index.json lists {} manifests; a checkpoint image has one (save one image: podman save --format oci-archive IMAGE)",
            manifests.len()
        )));
    }
    let manifest_name = blob(string(manifests[0].get("digest")), "index.json manifests[0]")?;
    let manifest = json(&manifest_name)?;
    let layers = match manifest.get("layers") {
        Some(Value::Array(l)) => l,
        _ => return Err(bad(format!("OCI image: {manifest_name} has no layers"))),
    };
    if layers.len() != 1 {
        return Err(bad(format!(
            "OCI image: {manifest_name} has {} layers; a checkpoint image has one, holding the checkpoint archive",
            layers.len()
        )));
    }
    let layer_name = blob(string(layers[0].get("digest")), &format!("{manifest_name} layers[0]"))?;
    let layer = member(&layer_name).ok_or_else(|| bad(format!("OCI image: the layer {layer_name} is not in the archive")))?;
    let inner = match detect_format(layer) {
        Some(Format::Tar) => Source::Owned(layer.to_vec()),
        Some(Format::TarGzip) => gunzip(layer, budget, path)?,
        Some(Format::TarZstd) => unzstd(layer, budget, path)?,
        _ => return Err(bad(format!("OCI image: the layer {layer_name} is not a tar, tar.gz or tar.zst"))),
    };
    if detect_format(&inner) != Some(Format::Tar) {
        return Err(bad(format!("OCI image: the layer {layer_name} does not hold a tar file")));
    }
    let layer_budget = budget.saturating_sub(inner.len() as u64);
    let (images, mut extras) = split_members(tar_list(&inner, layer_budget, path)?, path)?;
    for name in [OCI_INDEX, manifest_name.as_str()] {
        if let Some(b) = member(name) {
            extras.insert(name.to_string(), Member::Expanded(b.to_vec()));
        }
    }
    Ok((Format::OciImage, inner, images, extras))
}

/// All of `r`, at most `limit` bytes (more is an error): into a [`Buffer`] when `hint` says the
/// output is large, a `Vec` of `hint` initial capacity otherwise.
fn read_all(r: &mut dyn Read, hint: u64, limit: u64, path: &Path) -> Result<Source, CheckpointError> {
    let hint = hint.min(limit);
    if hint < BUFFER_FROM {
        let mut out = Vec::with_capacity(hint as usize);
        r.take(limit.saturating_add(1)).read_to_end(&mut out).map_err(|e| decompress_error(path, e))?;
        if out.len() as u64 > limit {
            return Err(CheckpointError::TooLarge { path: path.to_path_buf(), limit });
        }
        return Ok(Source::Owned(out));
    }
    match Buffer::read_from(r, hint as usize, limit) {
        Ok(Some(b)) => Ok(Source::Buffer(b)),
        Ok(None) => Err(CheckpointError::TooLarge { path: path.to_path_buf(), limit }),
        Err(e) => Err(decompress_error(path, e)),
    }
}

/// From this decompressed size on, an anonymous mapping beats the heap.
const BUFFER_FROM: u64 = 4 << 20;

/// A gzip file decompressed whole, within `limit`.
fn gunzip(data: &[u8], limit: u64, path: &Path) -> Result<Source, CheckpointError> {
    let mut r = GzMembers::new(data).map_err(|e| decompress_error(path, e))?;
    read_all(&mut r, GzMembers::size_hint(data), limit, path)
}

/// The most distance between two resume points of a deferred member (a member of a tar.gz of
/// [`OpenOptions::defer_from`] bytes or more, of which only resume points are kept: the pages
/// files, read when and where they are asked for): reading a range costs at most this much
/// decompression before it, and the points cost about 45 KiB each (1 % of this).
const POINT_EVERY: u64 = 4 << 20;

/// A large member of a tar.gz, decompressed on demand from the compressed bytes: from its start
/// into a buffer of its own when all of it is asked for, or from the nearest resume point when
/// a range is. Its CRC was checked with the rest of the archive when it was opened.
pub(crate) struct Deferred {
    len: u64,
    /// Resume points: the member's offset and the reading's state there, the first at 0.
    points: Vec<(u64, GzState)>,
    whole: OnceLock<Result<Buffer, CheckpointError>>,
    last: std::sync::Mutex<LastRange>,
}

/// Where the last range read of a [`Deferred`] stopped (its offset and the reading's state
/// there), to go on from there (a command line, then the environment that follows it), and the
/// buffer it was read through.
#[derive(Default)]
struct LastRange {
    at: Option<(u64, GzState)>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred").field("len", &self.len).field("points", &self.points.len()).finish()
    }
}

impl Deferred {
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// All of it, decompressed on first use.
    pub(super) fn bytes<'a>(&'a self, compressed: &[u8], path: &Path) -> Result<&'a [u8], CheckpointError> {
        let whole = self.whole.get_or_init(|| {
            let err = |e: io::Error| decompress_error(path, e);
            let mut r = self.reader(compressed, 0).map_err(err)?.take(self.len);
            let b = Buffer::read_from(&mut r, self.len as usize, self.len).map_err(err)?;
            match b {
                Some(b) if b.len() as u64 == self.len => Ok(b),
                _ => Err(err(ends_early())),
            }
        });
        whole.as_deref().map_err(Clone::clone)
    }

    /// A reading that starts at resume point `i`.
    fn reader<'a>(&self, compressed: &'a [u8], i: usize) -> io::Result<GzMembers<'a>> {
        Ok(GzMembers::resume(compressed, self.points[i].1.try_clone()?))
    }

    /// `[offset, offset + len)` to `f` in pieces: slices of the whole when it was decompressed,
    /// else decompressed from the resume point before `offset` (at most [`POINT_EVERY`] before it).
    pub(super) fn read_range(
        &self,
        compressed: &[u8],
        offset: u64,
        len: u64,
        path: &Path,
        f: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<(), CheckpointError> {
        if let Some(Ok(b)) = self.whole.get() {
            let _ = f(&b[offset as usize..(offset + len) as usize]);
            return Ok(());
        }
        let err = |e: io::Error| decompress_error(path, e);
        let i = self.points.partition_point(|(at, _)| *at <= offset) - 1;
        // Busy only when `f` reads this member again itself: that reading goes without the cache.
        let mut guard = match self.last.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        let mut own = LastRange::default();
        let last = guard.as_deref_mut().unwrap_or(&mut own);
        let (from, mut r) = match last.at.take() {
            Some((at, st)) if at <= offset && at > self.points[i].0 => (at, GzMembers::resume(compressed, st)),
            _ => (self.points[i].0, self.reader(compressed, i).map_err(err)?),
        };
        let mut skip = offset - from;
        let buf = &mut last.buf;
        buf.resize((skip + len).clamp(64 << 10, 1 << 20) as usize, 0);
        let mut left = len;
        let mut at = from;
        while skip > 0 || left > 0 {
            let want = if skip > 0 { skip } else { left }.min(buf.len() as u64) as usize;
            let n = r.read(&mut buf[..want]).map_err(err)?;
            if n == 0 {
                return Err(err(ends_early()));
            }
            at += n as u64;
            if skip > 0 {
                skip -= n as u64;
            } else {
                left -= n as u64;
                if f(&buf[..n]).is_break() {
                    break;
                }
            }
        }
        last.at = Some((at, r.into_state()));
        Ok(())
    }
}

/// A deferred member's stream ending before its size (its CRC was checked when the archive was
/// opened, so this is a reader's bug or the compressed bytes changed).
fn ends_early() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "a member ends before its size")
}

/// The reading shared between the tar reader and the code that takes resume points.
struct Shared<'a>(RefCell<GzMembers<'a>>);

impl Read for &Shared<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// A tar.gz listed in one pass over its decompressed stream, within `opts.max_decompressed`
/// decompressed bytes: members smaller than `opts.defer_from` kept, larger ones [`Deferred`];
/// every gzip member's CRC checked to the end of the file.
fn gunzip_tar(data: &[u8], opts: &OpenOptions, path: &Path) -> Result<Members, CheckpointError> {
    let limit = opts.max_decompressed;
    let point_every = opts.defer_from.clamp(4096, POINT_EVERY);
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
    let derr = |e: io::Error| decompress_error(path, e);
    let shared = Shared(RefCell::new(GzMembers::new(data).map_err(derr)?));
    // The first block, checked for the tar magic, then handed to the tar reader before the rest.
    let mut head = Vec::with_capacity(512);
    (&shared).take(512).read_to_end(&mut head).map_err(derr)?;
    if detect_format(&head) != Some(Format::Tar) {
        return Err(bad("the tar.gz archive does not hold a tar file (no ustar magic at byte 257)".into()));
    }
    let too_large = || CheckpointError::TooLarge { path: path.to_path_buf(), limit };
    let mut all: Members = BTreeMap::new();
    let mut scratch = Vec::new();
    {
        let mut archive = tar::Archive::new(io::Cursor::new(head).chain(&shared));
        let entries = archive.entries().map_err(|e| bad(format!("reading the tar: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("reading the tar: {e}")))?;
            let kind = entry.header().entry_type();
            let Some(name) = normalize_member(&entry.path_bytes()) else { continue };
            if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
                continue;
            }
            let size = entry.size();
            if size > limit.saturating_sub(shared.0.borrow().state().position()) {
                return Err(too_large());
            }
            let short = || bad(format!("{name}: the member runs past the end of the archive (truncated tar?)"));
            if kind.is_gnu_sparse() || size < opts.defer_from {
                let mut v = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut v).map_err(|e| bad(format!("{name}: {e}")))?;
                if !kind.is_gnu_sparse() && v.len() as u64 != size {
                    return Err(short());
                }
                all.insert(name, Member::Expanded(v));
                continue;
            }
            // Read through in steps that end on the resume points, taking one at each.
            scratch.resize(1 << 20, 0);
            let mut points = vec![(0, shared.0.borrow().state().try_clone().map_err(derr)?)];
            let mut at = 0u64;
            while at < size {
                let next = (at / point_every + 1) * point_every;
                let want = (size.min(next) - at).min(scratch.len() as u64) as usize;
                let n = entry.read(&mut scratch[..want]).map_err(|e| bad(format!("{name}: {e}")))?;
                if n == 0 {
                    return Err(short());
                }
                at += n as u64;
                if at == next && at < size {
                    points.push((at, shared.0.borrow().state().try_clone().map_err(derr)?));
                }
            }
            all.insert(name, Member::Deferred(Box::new(Deferred { len: size, points, whole: OnceLock::new(), last: Default::default() })));
        }
    }
    // The rest of the stream (the tar's end blocks, its padding, further gzip members): read so
    // that every member's CRC and size are checked, and so that the limit holds for all of it.
    scratch.resize(1 << 20, 0);
    let mut r = shared.0.into_inner();
    loop {
        match r.read(&mut scratch) {
            Ok(0) => break,
            Ok(_) if r.state().position() > limit => return Err(too_large()),
            Ok(_) => {}
            Err(e) => return Err(derr(e)),
        }
    }
    Ok(all)
}

/// A zstd file decompressed whole, within `limit`.
fn unzstd(data: &[u8], limit: u64, path: &Path) -> Result<Source, CheckpointError> {
    let mut r = ZstdFrames::new(data, limit).map_err(|e| decompress_error(path, e))?;
    let hint = r.size_hint();
    read_all(&mut r, hint, limit, path)
}

fn decompress_error(path: &Path, e: io::Error) -> CheckpointError {
    CheckpointError::Archive { path: path.to_path_buf(), message: format!("decompressing: {e}") }
}

type ZstdFrame<'a> = ruzstd::decoding::StreamingDecoder<&'a [u8], ruzstd::decoding::FrameDecoder>;

/// A zstd file read as one stream: its frames in turn (`zstd -T` writes several, and files can
/// be concatenated), skippable frames passed over.
struct ZstdFrames<'a> {
    data: &'a [u8],
    /// What follows the current frame.
    rest: &'a [u8],
    frame: Option<ZstdFrame<'a>>,
    /// The window is what the decoder allocates up front; no frame we accept needs more than the
    /// whole output.
    max_window: u64,
}

impl<'a> ZstdFrames<'a> {
    /// Opens the first data frame, so that its header can give the size.
    fn new(data: &'a [u8], limit: u64) -> io::Result<Self> {
        let mut r = ZstdFrames { data, rest: data, frame: None, max_window: limit.clamp(1 << 20, 1 << 31) };
        r.next_frame()?;
        Ok(r)
    }

    /// The first frame's content size when its header has one, else four times the input.
    fn size_hint(&self) -> u64 {
        match self.frame.as_ref().map(|f| f.decoder.content_size()) {
            Some(n @ 1..) => n,
            _ => self.data.len() as u64 * 4,
        }
    }

    /// Skips skippable frames and opens the next data frame, if there is one.
    fn next_frame(&mut self) -> io::Result<()> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        while self.rest.len() >= 8 && u32::from_le_bytes([self.rest[0], self.rest[1], self.rest[2], self.rest[3]]) & 0xffff_fff0 == 0x184d_2a50 {
            let len = u32::from_le_bytes([self.rest[4], self.rest[5], self.rest[6], self.rest[7]]) as usize;
            let end = 8usize
                .checked_add(len)
                .filter(|&e| e <= self.rest.len())
                .ok_or_else(|| bad("zstd: truncated skippable frame".into()))?;
            self.rest = &self.rest[end..];
        }
        if self.rest.is_empty() {
            return Ok(());
        }
        let offset = self.data.len() - self.rest.len();
        let frame = ZstdFrame::new_with_max_window_size(self.rest, self.max_window)
            .map_err(|e| bad(format!("zstd frame at byte {offset}: {e}")))?;
        self.frame = Some(frame);
        Ok(())
    }
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Each turn either returns or consumes input (a frame's header at least), so this ends.
        while let Some(frame) = &mut self.frame {
            let n = frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            self.rest = self.frame.take().map_or(&[][..], ZstdFrame::into_inner);
            self.next_frame()?;
        }
        Ok(0)
    }
}

/// Lists a tar's regular files as ranges of `data` (sparse ones expanded, within `budget` bytes).
fn tar_list(data: &[u8], mut budget: u64, path: &Path) -> Result<Members, CheckpointError> {
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
    Ok(all)
}

/// Splits an archive's members into the image directory's files and the rest.
fn split_members(all: Members, path: &Path) -> Result<(Members, Members), CheckpointError> {
    let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
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

    /// A tar of (name, bytes) members, written by the tar crate.
    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// A real checkpoint, compressed with enough beside it to be decompressed into a [`Buffer`]
    /// rather than a `Vec` (zstd) or deferred (gzip): every image reads back as the directory
    /// has it. The zstd file has two frames and a skippable one between them and, as ruzstd
    /// writes it, no content size: the size is guessed from the input (1.5 MiB that does not
    /// compress, 6 MiB of zeros), and the buffer must grow. The gzip file has two members, the
    /// second starting inside the large member, so that its resume points straddle them.
    #[test]
    fn large_compressed_archives_read_back_every_image() {
        use std::io::Write;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/images/proctree");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "img"))
            .map(|p| (format!("checkpoint/{}", p.file_name().unwrap().to_str().unwrap()), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        let mut pad = vec![0u8; (3 << 19) + (6 << 20) + 12345];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for (i, b) in pad.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Random, then zeros with a random byte every 4 KiB (to find misplaced reads).
            *b = if i < 3 << 19 || i % 4096 == 0 { x as u8 } else { 0 };
        }
        let mut members: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        members.push(("rootfs-diff.tar", &pad));
        members.push(("config.dump", b"{}"));
        let tar = tar_of(&members);
        let gz_of = |part: &[u8]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(part).unwrap();
            gz.finish().unwrap()
        };
        let split = tar.len() - (5 << 20);
        let mut gz = gz_of(&tar[..split]);
        gz.extend_from_slice(&gz_of(&tar[split..]));
        let (a, b) = tar.split_at(tar.len() / 2);
        let level = ruzstd::encoding::CompressionLevel::Fastest;
        let mut zst = ruzstd::encoding::compress_to_vec(a, level);
        zst.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7]);
        zst.extend_from_slice(&ruzstd::encoding::compress_to_vec(b, level));
        for (want, bytes) in [(Format::TarGzip, gz), (Format::TarZstd, zst)] {
            let (format, data, images, extras) = read(Path::new("x"), Source::Owned(bytes.clone()), &OpenOptions::default()).unwrap();
            assert_eq!(format, want);
            assert_eq!(images.len(), files.len());
            for (name, bytes) in &files {
                let short = name.strip_prefix("checkpoint/").unwrap();
                let m = &images[short];
                match (want, m) {
                    (Format::TarZstd, Member::Slice(_)) | (Format::TarGzip, Member::Expanded(_)) => {}
                    _ => panic!("{want} {short}: {m:?}"),
                }
                assert_eq!(m.bytes(&data, Path::new("x")).unwrap(), &bytes[..], "{want} {short}");
            }
            let rootfs = &extras["rootfs-diff.tar"];
            if want == Format::TarZstd {
                assert!(matches!(data, Source::Buffer(_)), "{want}: {} bytes decompressed should go to a Buffer", tar.len());
                assert_eq!(&data[..], &tar[..], "{want}");
            } else {
                let Member::Deferred(d) = rootfs else { panic!("{rootfs:?}") };
                assert_eq!(d.points.len(), 2, "resume points at 0 and 4 MiB");
                // Ranges before the whole is read (from resume points, and on from the last
                // range), across the point at 4 MiB and the gzip member boundary, to the end.
                // The member's data ends on a 512-byte block, before config.dump (a header and a
                // block) and the two end blocks.
                let start = tar.len() - 2048 - pad.len().div_ceil(512) * 512;
                assert_eq!(&tar[start..start + pad.len()], &pad[..]);
                let boundary = split - start;
                let ranges = [(0, 10), (4096, 1), (4 << 20, 5), ((4 << 20) - 3, 7), (5, 1 << 20), (boundary - 100, 300), (pad.len() - 9, 9), (pad.len(), 0)];
                for (off, len) in ranges {
                    let mut got = Vec::new();
                    d.read_range(&data, off as u64, len as u64, Path::new("x"), &mut |b| {
                        got.extend_from_slice(b);
                        std::ops::ControlFlow::Continue(())
                    })
                    .unwrap();
                    assert!(got == pad[off..off + len], "{off}+{len}");
                }
                assert!(d.whole.get().is_none(), "ranges leave the whole undecompressed");
            }
            assert!(rootfs.bytes(&data, Path::new("x")).unwrap() == &pad[..]);
            // The limit still holds on this path.
            let small = OpenOptions { max_decompressed: tar.len() as u64 - 1, ..Default::default() };
            assert!(matches!(read(Path::new("x"), Source::Owned(bytes), &small), Err(CheckpointError::TooLarge { .. })), "{want}");
        }
    }

    fn open_oci(members: &[(&str, &[u8])]) -> Result<(Format, Members), String> {
        let data = tar_of(members);
        read(Path::new("x.tar"), Source::Owned(data), &OpenOptions::default()).map(|(f, _, i, _)| (f, i)).map_err(|e| e.to_string())
    }

    #[test]
    fn oci_layouts_that_are_not_checkpoint_images_are_named() {
        let layer = tar_of(&[("checkpoint/pstree.img", b"x"), ("config.dump", b"{}")]);
        let manifest = br#"{"layers":[{"digest":"sha256:bb"}]}"#;
        let index = br#"{"manifests":[{"digest":"sha256:aa"}]}"#;
        let ok = open_oci(&[("oci-layout", b"{}"), ("index.json", index), ("blobs/sha256/aa", manifest), ("blobs/sha256/bb", &layer)]).unwrap();
        assert_eq!(ok.0, Format::OciImage);
        assert_eq!(ok.1.keys().collect::<Vec<_>>(), ["pstree.img"]);
        let err = |members: &[(&str, &[u8])], want: &str| {
            let e = open_oci(members).unwrap_err();
            assert!(e.contains(want), "{e}");
        };
        let base = |index: &'static [u8], manifest: &'static [u8]| -> Vec<(&'static str, Vec<u8>)> {
            vec![("oci-layout", b"{}".to_vec()), ("index.json", index.to_vec()), ("blobs/sha256/aa", manifest.to_vec()), ("blobs/sha256/bb", layer.clone())]
        };
        let run = |m: Vec<(&'static str, Vec<u8>)>, want: &str| err(&m.iter().map(|(n, b)| (*n, &b[..])).collect::<Vec<_>>(), want);
        run(base(b"{", manifest), "index.json: line 1");
        run(base(br#"{"manifests":[]}"#, manifest), "lists no manifest");
        run(base(br#"{"manifests":[{"digest":"sha256:aa"},{"digest":"sha256:aa"}]}"#, manifest), "lists 2 manifests");
        run(base(br#"{"manifests":[{"digest":"sha256:../../x"}]}"#, manifest), "is not a digest");
        run(base(br#"{"manifests":[{"digest":"sha256:cc"}]}"#, manifest), "blobs/sha256/cc is not in the archive");
        run(base(index, br#"{"layers":[]}"#), "has 0 layers");
        run(base(index, br#"{"layers":[{"digest":"sha256:aa"}]}"#), "is not a tar, tar.gz or tar.zst");
        run(base(index, br#"{"layers":[{}]}"#), "has no digest");
    }
}
