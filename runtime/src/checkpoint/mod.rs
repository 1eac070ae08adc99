//! A checkpoint opened once: a directory of images, or a checkpoint archive as Podman, CRI-O and
//! the kubelet write them, with its files by name and typed access to its images.
//!
//! Archives are tar files, optionally gzip or zstd compressed, recognised by their magic bytes
//! (gzip `1f 8b`, zstd `28 b5 2f fd`, tar `ustar` at offset 257), never by their name. The images
//! are the members under `checkpoint/` (container engines) or, for a plain tar of a dump
//! directory, the directory that holds `inventory.img` or `pstree.img`; every other member
//! (`config.dump`, `spec.dump`, `rootfs-diff.tar`, ...) is kept as an extra file.
//!
//! Nothing is extracted to disk. An uncompressed tar is mapped and its members are slices of
//! the mapping. A tar.zst is decompressed once, as a stream, into one buffer whose size is
//! bounded by [`OpenOptions::max_decompressed`], and its members are slices of that buffer. A
//! tar.gz is decompressed once when it is opened, as a stream, checking every CRC: its members
//! under 4 MiB are kept, and the larger ones (the pages files, most of a checkpoint) are not;
//! resume points every 4 MiB (about 45 KiB each) let [`Checkpoint::read_range`] decompress just
//! the range asked for, and the first [`Checkpoint::read`] of the whole member decompresses it
//! into a buffer of its own. `crit inspect` of a tar.gz thus holds what a plain tar's would,
//! whatever the size of its pages.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::image::{self, Image};
use crate::source::Source;

#[cfg(feature = "archive")]
mod archive;
#[cfg(feature = "archive")]
mod gzip;
#[cfg(not(feature = "archive"))]
mod archive {
    //! Without the `archive` feature, archives are recognised and refused with a way forward.
    use super::{CheckpointError, Format, Members, OpenOptions, Source, detect_format};
    use std::path::Path;

    pub(super) fn read(path: &Path, src: Source, _: &OpenOptions) -> Result<(Format, Source, Members, Members), CheckpointError> {
        let message = match detect_format(&src) {
            Some(f) => format!("a {f} checkpoint archive; this build of criu-image reads archives only with its `archive` feature (or extract it and open the directory)"),
            None => "not a checkpoint directory nor a checkpoint archive (no tar, gzip or zstd magic)".into(),
        };
        Err(CheckpointError::Archive { path: path.to_path_buf(), message })
    }
}

/// An error opening or reading a checkpoint, naming the file.
///
/// Cloneable (the I/O error is shared), because the model caches what it read, failures
/// included, and hands the same error to every caller that asks again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Opening, listing or mapping a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        error: Arc<io::Error>,
    },
    /// An image of the checkpoint is not a valid image.
    Image {
        /// The image's file name in the checkpoint.
        file: String,
        /// Where in it, and what.
        error: image::Error,
    },
    /// An image that must be there is not.
    Missing {
        /// The image's file name.
        file: String,
    },
    /// The path is a file, but not an archive this reader understands, or the archive is broken.
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Decompressing the archive would take more memory than allowed.
    TooLarge {
        /// The archive.
        path: PathBuf,
        /// The limit in bytes ([`OpenOptions::max_decompressed`]).
        limit: u64,
    },
}

impl CheckpointError {
    pub(crate) fn io(path: &Path, error: io::Error) -> CheckpointError {
        CheckpointError::Io { path: path.to_path_buf(), error: Arc::new(error) }
    }
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

/// Every message includes what a wrapped error said, so `source()` is `None`: `{:#}` never
/// prints a cause twice.
impl std::error::Error for CheckpointError {}

/// What a checkpoint was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A directory of image files, as `criu dump -D DIR` writes it.
    Directory,
    /// An uncompressed tar archive (recognised by `ustar` at byte 257), mapped.
    Tar,
    /// A gzip-compressed tar (magic `1f 8b`), decompressed once as a stream; its members of 4 MiB
    /// or more stay compressed until read.
    TarGzip,
    /// A zstd-compressed tar (magic `28 b5 2f fd`), decompressed once into memory.
    TarZstd,
    /// An OCI image archive (`podman save --format oci-archive` of a checkpoint image) whose
    /// layer is the checkpoint archive.
    OciImage,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Directory => "directory",
            Format::Tar => "tar",
            Format::TarGzip => "tar.gz",
            Format::TarZstd => "tar.zst",
            Format::OciImage => "oci-archive",
        })
    }
}

/// How to open a checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// The most bytes a compressed archive may decompress to. What is decompressed is held in
    /// memory (a tar.gz's large members only once they are read whole), so this bounds what a
    /// hostile or mistaken input can make us allocate.
    pub max_decompressed: u64,
    /// A tar.gz member of at least this size is not kept when the archive is opened: it is
    /// decompressed when read, in ranges or whole ([`Checkpoint::read_range`]), from resume
    /// points taken every 4 MiB (or every `defer_from` bytes, when smaller, down to 4 KiB). The
    /// default is [`DEFAULT_DEFER_FROM`]; `u64::MAX` keeps every member.
    pub defer_from: u64,
}

/// The default [`OpenOptions::defer_from`]: 4 MiB, which leaves a checkpoint's pages files
/// compressed and keeps everything else.
pub const DEFAULT_DEFER_FROM: u64 = 4 << 20;

/// The default [`OpenOptions::max_decompressed`]: 4 GiB.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 4 << 30;

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { max_decompressed: DEFAULT_MAX_DECOMPRESSED, defer_from: DEFAULT_DEFER_FROM }
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
            Err(e) => Err(CheckpointError::io(&self.path, io::Error::new(e.kind(), e.to_string()))),
        }
    }
}

/// Archive members by path.
pub(crate) type Members = BTreeMap<String, Member>;

/// Where an archive member's bytes are.
#[derive(Debug)]
#[cfg_attr(not(feature = "archive"), allow(dead_code))]
pub(crate) enum Member {
    /// A range of the archive's buffer: every ordinary member.
    Slice(Range<usize>),
    /// In its own buffer: a GNU sparse member, whose holes the archive does not store (GNU tar
    /// --sparse, and the `tar` crate's builder for files with holes, write these), and the
    /// smaller members of a tar.gz.
    Expanded(Vec<u8>),
    /// A large member of a tar.gz, decompressed from the archive's bytes when it is read.
    #[cfg(feature = "archive")]
    Deferred(Box<archive::Deferred>),
}

impl Member {
    /// Its bytes; `data` is the archive's buffer (the mapped tar, or the tar.gz itself) and
    /// `path` names the archive in errors.
    fn bytes<'a>(&'a self, data: &'a [u8], path: &Path) -> Result<&'a [u8], CheckpointError> {
        let _ = path;
        match self {
            Member::Slice(r) => Ok(&data[r.clone()]),
            Member::Expanded(v) => Ok(v),
            #[cfg(feature = "archive")]
            Member::Deferred(d) => d.bytes(data, path),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Member::Slice(r) => r.len() as u64,
            Member::Expanded(v) => v.len() as u64,
            #[cfg(feature = "archive")]
            Member::Deferred(d) => d.len(),
        }
    }
}

/// A checkpoint's files, read once and kept mapped (or decompressed once).
pub struct Checkpoint {
    /// Where it was opened from.
    pub path: PathBuf,
    format: Format,
    storage: Storage,
    /// What the model has read of it so far (processes, files, page indexes, parents).
    pub(crate) model: crate::model::Cache,
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
        let io_err = |error| CheckpointError::io(path, error);
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
        Ok(Checkpoint { path: path.to_path_buf(), format: Format::Directory, storage: Storage::Dir(files), model: Default::default() })
    }

    /// Opens an archive held in memory; `label` names it in errors.
    pub fn from_archive_bytes(label: &Path, bytes: Vec<u8>, opts: &OpenOptions) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::from_source(label, Source::Owned(bytes), opts)
    }

    fn from_source(path: &Path, src: Source, opts: &OpenOptions) -> Result<Checkpoint, CheckpointError> {
        let (format, data, images, extras) = archive::read(path, src, opts)?;
        Ok(Checkpoint { path: path.to_path_buf(), format, storage: Storage::Archive { data, images, extras }, model: Default::default() })
    }

    /// Forgets everything the model has read (processes, files, page indexes, parents), keeping
    /// the files mapped: the next question reads the images again. For benchmarks, and for
    /// a long-running holder of a checkpoint directory whose images were rewritten in place.
    pub fn reset_model(&mut self) {
        self.model = Default::default();
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
            Storage::Archive { data, images, .. } => images.get(name).map(|m| m.bytes(data, &self.path)).transpose(),
        }
    }

    /// Hands `[offset, offset + len)` of file `name` to `f` in order, in one or more pieces,
    /// reading no more of the file than it must: for the large members of a tar.gz, which are
    /// decompressed on demand, that is the range and at most 4 MiB before it, unless the whole
    /// member was read already. `f` may stop early by breaking. An error when there is no such
    /// file, when the range runs past its end, or when it cannot be read.
    pub fn read_range(
        &self,
        name: &str,
        offset: u64,
        len: u64,
        f: &mut dyn FnMut(&[u8]) -> std::ops::ControlFlow<()>,
    ) -> Result<(), CheckpointError> {
        let within = |size: u64| match offset.checked_add(len) {
            Some(end) if end <= size => Ok(offset as usize..end as usize),
            _ => Err(CheckpointError::Archive {
                path: self.path.clone(),
                message: format!("{name}: bytes {offset}..+{len} run past its end ({size} bytes)"),
            }),
        };
        #[cfg(feature = "archive")]
        if let Storage::Archive { data, images, .. } = &self.storage
            && let Some(Member::Deferred(d)) = images.get(name)
        {
            within(d.len())?;
            return d.read_range(data, offset, len, &self.path, f);
        }
        let bytes = self.read(name)?.ok_or_else(|| CheckpointError::Missing { file: name.to_string() })?;
        let _ = f(&bytes[within(bytes.len() as u64)?]);
        Ok(())
    }

    /// Tells the checkpoint that a reader is done with `[offset, offset + len)` of file `name`
    /// for now, so that the range leaves the process's resident memory (see
    /// [`Source::release`]); the bytes stay readable. Effective for a directory's files and the
    /// members of a plain tar (which are mapped); a no-op for a decompressed archive and for
    /// files not read yet.
    pub fn release(&self, name: &str, offset: u64, len: u64) {
        let (Ok(off), Ok(len)) = (usize::try_from(offset), usize::try_from(len)) else { return };
        match &self.storage {
            Storage::Dir(m) => {
                if let Some(Ok(src)) = m.get(name).and_then(|f| f.src.get()) {
                    src.release(off, len);
                }
            }
            Storage::Archive { data, images, .. } => {
                if let Some(Member::Slice(r)) = images.get(name)
                    && let Some(start) = r.start.checked_add(off).filter(|&s| s < r.end)
                {
                    data.release(start, len.min(r.end - start));
                }
            }
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
            Storage::Archive { images, .. } => images.get(name).map(Member::len),
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
            Storage::Archive { data, extras, .. } => extras.get(name).and_then(|m| m.bytes(data, &self.path).ok()),
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
            Err(error) => Err(CheckpointError::io(&p, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
