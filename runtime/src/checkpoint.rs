//! A checkpoint opened once: a directory of images (or, later, an archive), its files by name,
//! and typed access to its images.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::image::{self, Image};
use crate::source::Source;

/// An error opening or reading a checkpoint, naming the file.
#[derive(Debug)]
pub enum CheckpointError {
    Io { path: PathBuf, error: io::Error },
    Image { file: String, error: image::Error },
    Missing { file: String },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CheckpointError::Image { file, error } => write!(f, "{file}: {error}"),
            CheckpointError::Missing { file } => write!(f, "{file}: no such image in the checkpoint"),
        }
    }
}

impl std::error::Error for CheckpointError {}

/// A checkpoint's files, read once and kept mapped.
pub struct Checkpoint {
    /// Where it was opened from.
    pub path: PathBuf,
    files: BTreeMap<String, Source>,
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint").field("path", &self.path).field("files", &self.files.len()).finish()
    }
}

impl Checkpoint {
    /// Opens a checkpoint directory: every regular file in it is mapped (lazily paged in).
    pub fn open(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let io_err = |error| CheckpointError::Io { path: path.to_path_buf(), error };
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(path).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let p = entry.path();
            let Some(name) = p.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
            if !p.is_file() {
                continue;
            }
            let src = Source::open(&p).map_err(|error| CheckpointError::Io { path: p.clone(), error })?;
            files.insert(name, src);
        }
        Ok(Checkpoint { path: path.to_path_buf(), files })
    }

    /// File names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// A file's bytes.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(|s| &s[..])
    }

    /// An image by file name: `Ok(None)` when the checkpoint has no such file (CRIU treats a
    /// missing image as empty), an error naming the file when it is not a valid image.
    pub fn image(&self, name: &str) -> Result<Option<Image<'_>>, CheckpointError> {
        match self.file(name) {
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
}
