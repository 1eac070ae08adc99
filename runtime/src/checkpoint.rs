//! A checkpoint opened once: a directory of images, or a checkpoint archive as Podman, CRI-O and
//! the kubelet write them, with its files by name and typed access to its images.
//!
//! Archives are tar files, optionally gzip or zstd compressed, recognised by their magic bytes
//! (gzip `1f 8b`, zstd `28 b5 2f fd`, tar `ustar` at offset 257), never by their name. The images
//! are the members under `checkpoint/` (container engines) or, for a plain tar of a dump
//! directory, the directory that holds `inventory.img` or `pstree.img`; every other member
//! (`config.dump`, `spec.dump`, `rootfs-diff.tar`, ...) is kept as an extra file.
//!
//! Nothing is extracted to disk and nothing is decompressed twice: an uncompressed tar is mapped
//! and its members are slices of the mapping; a compressed one is decompressed once, as a stream,
//! into one buffer whose size is bounded by [`OpenOptions::max_decompressed`], and its members are
//! slices of that buffer.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::image::{self, Image};
use crate::source::Source;

/// An error opening or reading a checkpoint, naming the file.
#[derive(Debug)]
pub enum CheckpointError {
    Io { path: PathBuf, error: io::Error },
    Image { file: String, error: image::Error },
    Missing { file: String },
    /// The path is a file, but not an archive this reader understands, or the archive is broken.
    Archive { path: PathBuf, message: String },
    /// Decompressing the archive would take more memory than allowed.
    TooLarge { path: PathBuf, limit: u64 },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CheckpointError::Image { file, error } => write!(f, "{file}: {error}"),
            CheckpointError::Missing { file } => write!(f, "{file}: no such image in the checkpoint"),
            CheckpointError::Archive { path, message } => write!(f, "{}: {message}", path.display()),
            CheckpointError::TooLarge { path, limit } => write!(
                f,
                "{}: the archive decompresses to more than {limit} bytes, the limit for reading it in memory; \
                 raise the limit (crit: --max-archive-size) or extract it and open the directory",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { error, .. } => Some(error),
            CheckpointError::Image { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// What a checkpoint was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Directory,
    Tar,
    TarGzip,
    TarZstd,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Directory => "directory",
            Format::Tar => "tar",
            Format::TarGzip => "tar.gz",
            Format::TarZstd => "tar.zst",
        })
    }
}

/// How to open a checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// The most bytes a compressed archive may decompress to. Everything is held in memory, so
    /// this bounds what a hostile or mistaken input can make us allocate.
    pub max_decompressed: u64,
}

/// The default [`OpenOptions::max_decompressed`]: 4 GiB.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 4 << 30;

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { max_decompressed: DEFAULT_MAX_DECOMPRESSED }
    }
}

/// Where the files' bytes live.
enum Storage {
    /// The directory's regular files, each mapped on first use: `crit x ps` of a checkpoint of
    /// thousands of files opens a handful of them.
    Dir(BTreeMap<String, LazyFile>),
    /// One buffer (a mapped tar, or a decompressed one) and members as ranges of it.
    Archive { data: Source, images: Members, extras: Members },
}

/// A file of a checkpoint directory, opened and mapped when first read.
struct LazyFile {
    path: PathBuf,
    src: OnceLock<io::Result<Source>>,
}

impl LazyFile {
    fn get(&self) -> Result<&[u8], CheckpointError> {
        match self.src.get_or_init(|| Source::open(&self.path)) {
            Ok(s) => Ok(s),
            Err(e) => Err(CheckpointError::Io { path: self.path.clone(), error: io::Error::new(e.kind(), e.to_string()) }),
        }
    }
}

/// Where an archive member's bytes are.
#[derive(Clone, Debug)]
enum Member {
    /// A range of the archive's buffer: every ordinary member.
    Slice(Range<usize>),
    /// Expanded into its own buffer: a GNU sparse member, whose holes the archive does not store
    /// (GNU tar --sparse, and the `tar` crate's builder for files with holes, write these).
    Expanded(Vec<u8>),
}

impl Member {
    fn bytes<'a>(&'a self, data: &'a [u8]) -> &'a [u8] {
        match self {
            Member::Slice(r) => &data[r.clone()],
            Member::Expanded(v) => v,
        }
    }
}

/// A checkpoint's files, read once and kept mapped (or decompressed once).
pub struct Checkpoint {
    /// Where it was opened from.
    pub path: PathBuf,
    format: Format,
    storage: Storage,
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match &self.storage {
            Storage::Dir(m) => m.len(),
            Storage::Archive { images, .. } => images.len(),
        };
        f.debug_struct("Checkpoint").field("path", &self.path).field("format", &self.format).field("files", &n).finish()
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Recognises an archive by its first bytes.
pub fn detect_format(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&GZIP_MAGIC) {
        Some(Format::TarGzip)
    } else if bytes.starts_with(&ZSTD_MAGIC) {
        Some(Format::TarZstd)
    } else if bytes.get(257..262) == Some(b"ustar") {
        Some(Format::Tar)
    } else {
        None
    }
}

impl Checkpoint {
    /// Opens a checkpoint directory or archive with the default options.
    pub fn open(path: &Path) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::open_with(path, &OpenOptions::default())
    }

    /// Opens a checkpoint directory (its regular files are listed now and mapped when first
    /// read) or a checkpoint archive (tar, tar.gz, tar.zst).
    pub fn open_with(path: &Path, opts: &OpenOptions) -> Result<Checkpoint, CheckpointError> {
        let io_err = |error| CheckpointError::Io { path: path.to_path_buf(), error };
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if !meta.is_dir() {
            let src = Source::open(path).map_err(io_err)?;
            return Checkpoint::from_source(path, src, opts);
        }
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(path).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
            // The directory listing says what most entries are without a stat; symlinks (and file
            // systems that do not say) need one.
            let p = entry.path();
            let is_file = match entry.file_type() {
                Ok(t) if t.is_file() => true,
                Ok(t) if t.is_dir() => false,
                _ => p.is_file(),
            };
            if is_file {
                files.insert(name, LazyFile { path: p, src: OnceLock::new() });
            }
        }
        Ok(Checkpoint { path: path.to_path_buf(), format: Format::Directory, storage: Storage::Dir(files) })
    }

    /// Opens an archive held in memory; `label` names it in errors.
    pub fn from_archive_bytes(label: &Path, bytes: Vec<u8>, opts: &OpenOptions) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::from_source(label, Source::Owned(bytes), opts)
    }

    fn from_source(path: &Path, src: Source, opts: &OpenOptions) -> Result<Checkpoint, CheckpointError> {
        let bad = |message: String| CheckpointError::Archive { path: path.to_path_buf(), message };
        let format = detect_format(&src).ok_or_else(|| {
            bad("not a checkpoint directory nor a checkpoint archive (no tar, gzip or zstd magic)".into())
        })?;
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
        Ok(Checkpoint { path: path.to_path_buf(), format, storage: Storage::Archive { data, images, extras } })
    }

    /// What the checkpoint was read from.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Image file names (the checkpoint directory's files), sorted.
    pub fn names(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match &self.storage {
            Storage::Dir(m) => Box::new(m.keys().map(String::as_str)),
            Storage::Archive { images, .. } => Box::new(images.keys().map(String::as_str)),
        }
    }

    /// A file's bytes; `None` when there is no such file, or when it cannot be read (see
    /// [`Checkpoint::read`] for the reason).
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.read(name).ok().flatten()
    }

    /// A file's bytes: `Ok(None)` when there is no such file, an error naming it when it cannot
    /// be opened or mapped.
    pub fn read(&self, name: &str) -> Result<Option<&[u8]>, CheckpointError> {
        match &self.storage {
            Storage::Dir(m) => m.get(name).map(LazyFile::get).transpose(),
            Storage::Archive { data, images, .. } => Ok(images.get(name).map(|m| m.bytes(data))),
        }
    }

    /// A file's size, without reading it (a pages file's size is all `check` needs of it).
    pub fn file_len(&self, name: &str) -> Option<u64> {
        match &self.storage {
            Storage::Dir(m) => {
                let f = m.get(name)?;
                match f.src.get() {
                    Some(Ok(s)) => Some(s.len() as u64),
                    _ => std::fs::metadata(&f.path).ok().map(|md| md.len()),
                }
            }
            Storage::Archive { data, images, .. } => images.get(name).map(|m| m.bytes(data).len() as u64),
        }
    }

    /// Whether the checkpoint has a file of this name.
    pub fn contains(&self, name: &str) -> bool {
        match &self.storage {
            Storage::Dir(m) => m.contains_key(name),
            Storage::Archive { images, .. } => images.contains_key(name),
        }
    }

    /// Archive members outside the image directory (`config.dump`, `spec.dump`, ...), by their
    /// path in the archive, sorted. Empty for a directory.
    pub fn extra_names(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match &self.storage {
            Storage::Dir(_) => Box::new(std::iter::empty()),
            Storage::Archive { extras, .. } => Box::new(extras.keys().map(String::as_str)),
        }
    }

    /// An archive member outside the image directory, by its path in the archive.
    pub fn extra_file(&self, name: &str) -> Option<&[u8]> {
        match &self.storage {
            Storage::Dir(_) => None,
            Storage::Archive { data, extras, .. } => extras.get(name).map(|m| m.bytes(data)),
        }
    }

    /// An image by file name: `Ok(None)` when the checkpoint has no such file (CRIU treats a
    /// missing image as empty), an error naming the file when it is not a valid image.
    pub fn image(&self, name: &str) -> Result<Option<Image<'_>>, CheckpointError> {
        match self.read(name)? {
            None => Ok(None),
            Some(b) => Image::parse(b, Some(name))
                .map(Some)
                .map_err(|error| CheckpointError::Image { file: name.to_string(), error }),
        }
    }

    /// Like [`Checkpoint::image`], but a missing file is an error.
    pub fn require_image(&self, name: &str) -> Result<Image<'_>, CheckpointError> {
        self.image(name)?.ok_or_else(|| CheckpointError::Missing { file: name.to_string() })
    }

    /// The `parent` entry of a directory checkpoint (CRIU's `--prev-images-dir`, a symlink to the
    /// previous pre-dump), if there is one, whether or not it leads anywhere.
    pub fn parent_link(&self) -> Option<PathBuf> {
        if self.format != Format::Directory {
            return None;
        }
        let p = self.path.join("parent");
        std::fs::symlink_metadata(&p).ok().map(|_| p)
    }

    /// Opens the parent checkpoint (the images that `PE_PARENT` pagemap entries refer to):
    /// `Ok(None)` when there is no `parent` entry, an error when it does not lead to a directory.
    pub fn open_parent(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        let Some(p) = self.parent_link() else { return Ok(None) };
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => Checkpoint::open(&p).map(Some),
            Ok(_) => Err(CheckpointError::Archive { path: p, message: "`parent` is not a directory".into() }),
            Err(error) => Err(CheckpointError::Io { path: p, error }),
        }
    }
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

type Members = BTreeMap<String, Member>;

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

    #[test]
    fn formats_by_magic() {
        assert_eq!(detect_format(&[0x1f, 0x8b, 8]), Some(Format::TarGzip));
        assert_eq!(detect_format(&[0x28, 0xb5, 0x2f, 0xfd]), Some(Format::TarZstd));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(detect_format(&tar), Some(Format::Tar));
        assert_eq!(detect_format(b"\x19\x43\x56\x54"), None);
    }
}
