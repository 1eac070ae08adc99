//! ELF build-ids found exactly the way CRIU finds them (`get_build_id` in `criu/files-reg.c`).
//!
//! Whether a restore succeeds depends on these rules, so they are CRIU's, not the ELF
//! specification's or `readelf`'s:
//!
//! 1. Only the *window* counts: the first `min(st_size, 1 MiB)` bytes ([`WINDOW`]). CRIU maps
//!    that much and never looks further.
//! 2. The window starts with `"\x7fELF"`; `e_ident[EI_CLASS]` picks ELF32 (1) or ELF64 (2); any
//!    other class has no build-id. `e_ident[EI_DATA]` is **not** checked: every field is read in
//!    host byte order (`from_ne_bytes`), as CRIU's C reads them through `Elf64_Ehdr *`. A
//!    big-endian ELF on a little-endian host therefore gives nonsense offsets and, almost
//!    always, no build-id, on both sides of a migration alike.
//! 3. The ELF header must fit in the window, `e_phnum > 0` and `e_phoff != 0` (CRIU rejects a
//!    program header table that does not start after the ELF header's first byte).
//! 4. Program header `i` sits at `e_phoff + i * sizeof(Elf{32,64}_Phdr)`: CRIU indexes the table
//!    as a C array, so the stride is 32 or 56 bytes and `e_phentsize` is ignored. The walk stops
//!    at the first header that does not lie entirely inside the window.
//! 5. For each `PT_NOTE` (4) segment with `p_offset != 0`, notes are walked from `p_offset` while
//!    the note header's offset is `<= min(p_offset + p_filesz, window - 12)`. That bound lets a
//!    12-byte note header start up to 12 bytes past the segment's end, but never past the window.
//!    Each step is `12 + ALIGN4(n_namesz) + ALIGN4(n_descsz)` where `ALIGN4` is computed in
//!    32-bit arithmetic, as CRIU's `ALIGN` macro does on `Elf_Word` fields (so `0xffff_fffd`
//!    aligns to 0).
//! 6. The first note with `n_type == NT_GNU_BUILD_ID` (3) wins, **whatever its name** ("GNU" is not
//!    checked). Later segments are searched only if a segment has no such note.
//! 7. That note's descriptor must have `1..=512` bytes and lie inside the window; otherwise there is
//!    no build-id (the search does not go on to later notes).
//!
//! Where CRIU's pointer arithmetic would overflow (undefined behaviour in C), offsets saturate
//! ([`u64::saturating_add`]) or the candidate is rejected; on real files these cases never arise.
//!
//! # Reading
//!
//! [`scan_file`] does not map the window: it issues positioned reads (`pread`) for the ELF
//! header, the program header table and each `PT_NOTE` segment's bytes (clamped to the window),
//! typically three reads and well under 1 KiB per file. [`build_id_from_bytes`] applies the same
//! rules to an in-memory file.
//!
//! Over the 35 ELF files mapped by a benchmark process and a python3 process, the scan read 641
//! bytes per file and took about 5–6 µs per file (open and fstat included); CRIU's way maps
//! 373 KiB per file on average, touches one 4 KiB page of it, and took about 13 µs (43 µs when
//! the whole window is faulted in with `MAP_POPULATE`). See `benches/benches/cookie.rs`.
//!
//! Hostile files cannot make the scan expensive: every note header is read at most once however
//! many `PT_NOTE` segments point into the same chain (CRIU's own walk is quadratic there), and a
//! scan never reads more than three times the window.
//!
//! # Storage
//!
//! CRIU stores the id as `repeated uint32 build_id`: the bytes `memcpy`'d into `ceil(n / 4)`
//! words in host order, zero-padded ([`to_words`], [`from_words`]).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::Path;

use super::{CookieError, read_exact_at};

/// CRIU's `BUILD_ID_MAP_SIZE`: only the first MiB of a file is searched.
pub const WINDOW: u64 = 1 << 20;

/// The largest descriptor CRIU accepts as a build-id.
pub const MAX_BUILD_ID_LEN: u32 = 512;

/// CRIU's dump side only looks for a build-id in files of at least `SELFMAG + 1` bytes.
pub const MIN_DUMP_FILE_SIZE: u64 = 5;

const ELF_MAGIC: [u8; 4] = *b"\x7fELF";
const EI_CLASS: usize = 4;
const PT_NOTE: u32 = 4;
const NT_GNU_BUILD_ID: u32 = 3;
/// `sizeof(Elf32_Nhdr) == sizeof(Elf64_Nhdr)`: three 32-bit words.
const NHDR_SIZE: u64 = 12;

/// A build-id: the raw descriptor bytes of CRIU's `NT_GNU_BUILD_ID` note (typically 20, SHA-1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BuildId(Vec<u8>);

impl BuildId {
    /// The descriptor bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The descriptor bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// CRIU's storage form, see [`to_words`].
    pub fn to_words(&self) -> Vec<u32> {
        to_words(&self.0)
    }
}

impl From<Vec<u8>> for BuildId {
    fn from(bytes: Vec<u8>) -> Self {
        BuildId(bytes)
    }
}

/// Lower-case hex, as `readelf -n` prints it after "Build ID:".
impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuildId({self})")
    }
}

/// Why a file has no build-id under CRIU's rules. Not an error: CRIU then validates by size only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoBuildId {
    /// The window does not start with `"\x7fELF"` (this includes files shorter than 4 bytes).
    NotElf,
    /// `e_ident[EI_CLASS]` is neither 1 nor 2 (a 4-byte file reads as class 0, as CRIU's mapping
    /// of it would be zero-filled).
    UnknownClass(u8),
    /// The window is shorter than the ELF header of the class.
    HeaderTruncated {
        /// Bytes searched: `min(st_size, 1 MiB)`.
        window: u64,
        /// Bytes of the ELF header of the file's class (52 for ELF32, 64 for ELF64).
        header_size: u64,
    },
    /// `e_phnum == 0`.
    NoProgramHeaders,
    /// `e_phoff == 0`.
    ProgramHeadersAtZero,
    /// No `PT_NOTE` segment inside the window holds a note of type 3.
    NoBuildIdNote,
    /// The first type-3 note has an empty or over-long (> 512 bytes) descriptor.
    BadDescriptorSize(u32),
    /// The first type-3 note's descriptor does not end inside the window.
    DescriptorOutsideWindow {
        /// The descriptor's offset in the file, in bytes.
        offset: u64,
        /// The descriptor's size (`n_descsz`), in bytes.
        size: u32,
        /// Bytes searched: `min(st_size, 1 MiB)`.
        window: u64,
    },
}

impl fmt::Display for NoBuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NoBuildId::NotElf => f.write_str("not an ELF file"),
            NoBuildId::UnknownClass(c) => write!(f, "unknown ELF class {c}"),
            NoBuildId::HeaderTruncated {
                window,
                header_size,
            } => write!(
                f,
                "the ELF header needs {header_size} bytes but only {window} are searched"
            ),
            NoBuildId::NoProgramHeaders => f.write_str("no program headers (e_phnum is 0)"),
            NoBuildId::ProgramHeadersAtZero => f.write_str("e_phoff is 0"),
            NoBuildId::NoBuildIdNote => {
                f.write_str("no NT_GNU_BUILD_ID note in a PT_NOTE segment within the first MiB")
            }
            NoBuildId::BadDescriptorSize(n) => {
                write!(f, "build-id note has an invalid descriptor size {n}")
            }
            NoBuildId::DescriptorOutsideWindow {
                offset,
                size,
                window,
            } => write!(
                f,
                "build-id descriptor of {size} bytes at offset {offset} ends past byte {window}"
            ),
        }
    }
}

/// The result of [`scan_file`]: the outcome plus what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The build-id, or why there is none.
    pub outcome: Result<BuildId, NoBuildId>,
    /// `min(st_size, 1 MiB)`: what CRIU would map.
    pub window: u64,
    /// Bytes read from the file.
    pub bytes_read: u64,
    /// Each positioned read as `(offset, length)`, in order.
    pub reads: Vec<(u64, u64)>,
}

/// The build-id of the file at `path` under CRIU's rules; `Ok(None)` when it has none.
pub fn build_id(path: &Path) -> Result<Option<BuildId>, CookieError> {
    let file = File::open(path).map_err(|source| CookieError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(scan_file(&file)?.outcome.ok())
}

/// Searches `file` for a build-id under CRIU's rules, with positioned reads only (the file
/// position is not moved). The window is derived from `fstat`.
pub fn scan_file(file: &File) -> Result<Scan, CookieError> {
    let size = file.metadata().map_err(CookieError::Stat)?.len();
    scan_file_with_size(file, size)
}

/// Like [`scan_file`], with `st_size` already known (CRIU passes the `stat` it already has).
pub fn scan_file_with_size(file: &File, st_size: u64) -> Result<Scan, CookieError> {
    let mut src = PreadWindow::new(file, st_size.min(WINDOW));
    let outcome = search(&mut src)?;
    Ok(Scan {
        outcome,
        window: src.window,
        bytes_read: src.bytes_read,
        reads: src.reads,
    })
}

/// Searches an in-memory file: the window is `min(bytes.len(), 1 MiB)`, as if `bytes` were the
/// whole file. Total over arbitrary input.
pub fn build_id_from_bytes(bytes: &[u8]) -> Result<BuildId, NoBuildId> {
    let window = (bytes.len() as u64).min(WINDOW);
    // `window` <= bytes.len(), so the cast back is lossless.
    let mut src = SliceWindow(&bytes[..window as usize]);
    match search(&mut src) {
        Ok(outcome) => outcome,
        // A slice source never fails: every access is checked against the window first.
        Err(_) => Err(NoBuildId::NoBuildIdNote),
    }
}

/// CRIU's storage form: `ceil(n / 4)` words holding the bytes in host order, the last one
/// zero-padded (`memcpy` into a zeroed `uint32_t` array).
pub fn to_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            u32::from_ne_bytes(word)
        })
        .collect()
}

/// The first `len` bytes of `words` in host order (the inverse of [`to_words`]); `None` when the
/// words hold fewer than `len` bytes.
pub fn from_words(words: &[u32], len: usize) -> Option<Vec<u8>> {
    if words.len().checked_mul(4)? < len {
        return None;
    }
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    bytes.truncate(len);
    Some(bytes)
}

// ---------------------------------------------------------------------------------------------
// The search, generic over where the window's bytes come from.

/// The first `len()` bytes of a file. Offsets handed to `get` always satisfy
/// `offset + len <= self.len()`; implementations still check, so a logic error cannot panic.
trait Window {
    fn len(&self) -> u64;
    /// Bytes `[offset, offset + len)`.
    fn get(&mut self, offset: u64, len: usize) -> Result<&[u8], CookieError>;
    /// The caller will soon `get` ranges inside `[offset, offset + len)`.
    fn prefetch(&mut self, _offset: u64, _len: u64) -> Result<(), CookieError> {
        Ok(())
    }
}

struct SliceWindow<'a>(&'a [u8]);

impl Window for SliceWindow<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn get(&mut self, offset: u64, len: usize) -> Result<&[u8], CookieError> {
        usize::try_from(offset)
            .ok()
            .and_then(|start| self.0.get(start..start.checked_add(len)?))
            .ok_or(CookieError::Truncated {
                offset,
                len: len as u64,
            })
    }
}

/// Serves the window with `pread`s into one buffer.
///
/// Hostile files can list thousands of `PT_NOTE` segments over overlapping ranges; once the bytes
/// read would exceed twice the window, the whole window is read once and served from memory, so a
/// scan never reads more than three times the window.
struct PreadWindow<'f> {
    file: &'f File,
    window: u64,
    buf: Vec<u8>,
    buf_offset: u64,
    bytes_read: u64,
    reads: Vec<(u64, u64)>,
    whole: bool,
}

impl<'f> PreadWindow<'f> {
    fn new(file: &'f File, window: u64) -> Self {
        PreadWindow {
            file,
            window,
            buf: Vec::new(),
            buf_offset: 0,
            bytes_read: 0,
            reads: Vec::new(),
            whole: false,
        }
    }

    fn holds(&self, offset: u64, len: u64) -> bool {
        offset >= self.buf_offset
            && offset
                .checked_add(len)
                .is_some_and(|end| end <= self.buf_offset + self.buf.len() as u64)
    }

    fn load(&mut self, offset: u64, len: u64) -> Result<(), CookieError> {
        let (offset, len) = if self.whole || self.bytes_read.saturating_add(len) > 2 * self.window {
            self.whole = true;
            (0, self.window)
        } else {
            (offset, len)
        };
        // `len` <= window <= 1 MiB, so it fits in usize.
        self.buf.resize(len as usize, 0);
        self.buf_offset = offset;
        self.bytes_read += len;
        self.reads.push((offset, len));
        read_exact_at(self.file, &mut self.buf, offset)
    }
}

impl Window for PreadWindow<'_> {
    fn len(&self) -> u64 {
        self.window
    }

    fn get(&mut self, offset: u64, len: usize) -> Result<&[u8], CookieError> {
        let len64 = len as u64;
        if offset
            .checked_add(len64)
            .is_none_or(|end| end > self.window)
        {
            return Err(CookieError::Truncated { offset, len: len64 });
        }
        if !self.holds(offset, len64) {
            self.load(offset, len64)?;
        }
        // `holds` now guarantees the range lies inside `buf`.
        let start = (offset - self.buf_offset) as usize;
        Ok(&self.buf[start..start + len])
    }

    fn prefetch(&mut self, offset: u64, len: u64) -> Result<(), CookieError> {
        let len = len.min(self.window.saturating_sub(offset));
        if len == 0 || self.holds(offset, len) {
            return Ok(());
        }
        self.load(offset, len)
    }
}

#[derive(Clone, Copy)]
enum Class {
    Elf32,
    Elf64,
}

impl Class {
    fn ehdr_size(self) -> u64 {
        match self {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }

    /// `sizeof(Elf{32,64}_Phdr)`: CRIU's stride through the program header table.
    fn phdr_size(self) -> u64 {
        match self {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }

    /// `(e_phoff, e_phnum)` from a complete ELF header.
    fn program_table(self, ehdr: &[u8]) -> (u64, u16) {
        match self {
            // Elf32_Ehdr: e_phoff at 28 (Elf32_Off), e_phnum at 44 (Elf32_Half).
            Class::Elf32 => (u64::from(ne_u32(ehdr, 28)), ne_u16(ehdr, 44)),
            // Elf64_Ehdr: e_phoff at 32 (Elf64_Off), e_phnum at 56 (Elf64_Half).
            Class::Elf64 => (ne_u64(ehdr, 32), ne_u16(ehdr, 56)),
        }
    }

    /// `(p_type, p_offset, p_filesz)` from one program header.
    fn segment(self, phdr: &[u8]) -> (u32, u64, u64) {
        match self {
            // Elf32_Phdr: p_type 0, p_offset 4, p_vaddr 8, p_paddr 12, p_filesz 16.
            Class::Elf32 => (
                ne_u32(phdr, 0),
                u64::from(ne_u32(phdr, 4)),
                u64::from(ne_u32(phdr, 16)),
            ),
            // Elf64_Phdr: p_type 0, p_flags 4, p_offset 8, p_vaddr 16, p_paddr 24, p_filesz 32.
            Class::Elf64 => (ne_u32(phdr, 0), ne_u64(phdr, 8), ne_u64(phdr, 32)),
        }
    }
}

// Host-endian field reads, deliberately: CRIU does not look at EI_DATA (see the module docs).
// Callers pass slices of the full structure size, so the fixed-size conversions cannot fail; the
// fallback zero keeps them total anyway.
fn ne_u16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_ne_bytes)
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn ne_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// CRIU's `ALIGN(x, 4)` on a 32-bit `Elf_Word`: the addition wraps in 32 bits.
fn align4_u32(x: u32) -> u64 {
    u64::from(x.wrapping_add(3) & !3)
}

fn search<W: Window>(src: &mut W) -> Result<Result<BuildId, NoBuildId>, CookieError> {
    let window = src.len();
    // One read covers the largest ELF header; CRIU's mapping covers it too.
    src.prefetch(0, 64)?;

    if window < 4 || src.get(0, 4)? != ELF_MAGIC {
        return Ok(Err(NoBuildId::NotElf));
    }
    // A 4-byte file: CRIU's page-sized mapping reads the class byte as zero fill.
    let class_byte = if window > EI_CLASS as u64 {
        src.get(EI_CLASS as u64, 1)?[0]
    } else {
        0
    };
    let class = match class_byte {
        1 => Class::Elf32,
        2 => Class::Elf64,
        other => return Ok(Err(NoBuildId::UnknownClass(other))),
    };
    let header_size = class.ehdr_size();
    if header_size > window {
        return Ok(Err(NoBuildId::HeaderTruncated {
            window,
            header_size,
        }));
    }
    let (phoff, phnum) = class.program_table(src.get(0, header_size as usize)?);
    if phnum == 0 {
        return Ok(Err(NoBuildId::NoProgramHeaders));
    }
    if phoff == 0 {
        return Ok(Err(NoBuildId::ProgramHeadersAtZero));
    }

    // CRIU walks `phdr[i]` for i < e_phnum and stops at the first header that would end past the
    // window: exactly the first `(window - phoff) / stride` headers are considered.
    let stride = class.phdr_size();
    let fitting = window.checked_sub(phoff).map_or(0, |room| room / stride);
    let count = fitting.min(u64::from(phnum));
    let mut notes = Vec::new();
    if count > 0 {
        src.prefetch(phoff, count * stride)?;
        for i in 0..count {
            let (p_type, p_offset, p_filesz) =
                class.segment(src.get(phoff + i * stride, stride as usize)?);
            if p_type == PT_NOTE {
                notes.push((p_offset, p_filesz));
            }
        }
    }

    let mut walker = NoteWalker::default();
    for (p_offset, p_filesz) in notes {
        // CRIU: `if (note_header <= file_header) continue;`.
        if p_offset == 0 {
            continue;
        }
        // The window holds at least an ELF header, so this cannot underflow.
        let last = p_offset.saturating_add(p_filesz).min(window - NHDR_SIZE);
        if p_offset > last {
            continue;
        }
        src.prefetch(p_offset, last + NHDR_SIZE - p_offset)?;
        let Some((note, namesz, descsz)) = walker.find(src, p_offset, last)? else {
            continue;
        };

        if descsz == 0 || descsz > MAX_BUILD_ID_LEN {
            return Ok(Err(NoBuildId::BadDescriptorSize(descsz)));
        }
        let desc = note + NHDR_SIZE + align4_u32(namesz);
        if desc + u64::from(descsz) > window {
            return Ok(Err(NoBuildId::DescriptorOutsideWindow {
                offset: desc,
                size: descsz,
                window,
            }));
        }
        let bytes = src.get(desc, descsz as usize)?.to_vec();
        return Ok(Ok(BuildId(bytes)));
    }
    Ok(Err(NoBuildId::NoBuildIdNote))
}

/// Walks note chains, remembering which stretches hold no type-3 note.
///
/// The chain through a position is fixed by the bytes (each header says where the next note
/// starts); a segment's bound only says where to stop. So if an earlier walk passed position `q`
/// and went on to `r` without meeting a build-id note, any later walk reaching `q` can jump to
/// `r`. Without this, a hostile file listing many `PT_NOTE` segments over a long chain of empty
/// notes costs (segments × notes) steps, about 10^9 in a 1 MiB window; with it every note header
/// is read at most once. The result is identical to CRIU's walk.
#[derive(Default)]
struct NoteWalker {
    skip: HashMap<u64, u64>,
    path: Vec<u64>,
}

impl NoteWalker {
    /// The first note of type 3 on the chain from `start` whose header offset is `<= last`, as
    /// `(offset, n_namesz, n_descsz)`. `last + 12 <= window`.
    fn find<W: Window>(
        &mut self,
        src: &mut W,
        start: u64,
        last: u64,
    ) -> Result<Option<(u64, u32, u32)>, CookieError> {
        self.path.clear();
        let mut at = start;
        while at <= last {
            self.path.push(at);
            if let Some(&next) = self.skip.get(&at) {
                at = next;
                continue;
            }
            let hdr = src.get(at, NHDR_SIZE as usize)?;
            let (namesz, descsz, n_type) = (ne_u32(hdr, 0), ne_u32(hdr, 4), ne_u32(hdr, 8));
            if n_type == NT_GNU_BUILD_ID {
                return Ok(Some((at, namesz, descsz)));
            }
            // At most 12 + 2 * (2^32 - 4) past an offset below 1 MiB: no u64 overflow.
            at += NHDR_SIZE + align4_u32(namesz) + align4_u32(descsz);
        }
        // Nothing between any visited position and `at`: remember that (path compression).
        for &visited in &self.path {
            self.skip.insert(visited, at);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    //! Hand-assembled ELF images. Each builder comment names the fields it writes; offsets follow
    //! the System V gABI structure layouts.

    use super::*;

    /// An ELF64 header (64 bytes) with `e_phoff` and `e_phnum`; everything else zero.
    fn ehdr64(phoff: u64, phnum: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF"); // e_ident[EI_MAG0..3]
        h[4] = 2; // e_ident[EI_CLASS] = ELFCLASS64
        h[5] = 1; // e_ident[EI_DATA] = ELFDATA2LSB (CRIU ignores it)
        h[6] = 1; // e_ident[EI_VERSION]
        h[16..18].copy_from_slice(&3u16.to_ne_bytes()); // e_type = ET_DYN
        h[18..20].copy_from_slice(&62u16.to_ne_bytes()); // e_machine = EM_X86_64
        h[32..40].copy_from_slice(&phoff.to_ne_bytes()); // e_phoff
        h[52..54].copy_from_slice(&64u16.to_ne_bytes()); // e_ehsize
        h[54..56].copy_from_slice(&56u16.to_ne_bytes()); // e_phentsize
        h[56..58].copy_from_slice(&phnum.to_ne_bytes()); // e_phnum
        h
    }

    /// An ELF32 header (52 bytes).
    fn ehdr32(phoff: u32, phnum: u16) -> Vec<u8> {
        let mut h = vec![0u8; 52];
        h[..4].copy_from_slice(b"\x7fELF"); // magic
        h[4] = 1; // EI_CLASS = ELFCLASS32
        h[5] = 1; // EI_DATA = ELFDATA2LSB
        h[6] = 1; // EI_VERSION
        h[16..18].copy_from_slice(&2u16.to_ne_bytes()); // e_type = ET_EXEC
        h[18..20].copy_from_slice(&3u16.to_ne_bytes()); // e_machine = EM_386
        h[28..32].copy_from_slice(&phoff.to_ne_bytes()); // e_phoff
        h[40..42].copy_from_slice(&52u16.to_ne_bytes()); // e_ehsize
        h[42..44].copy_from_slice(&32u16.to_ne_bytes()); // e_phentsize
        h[44..46].copy_from_slice(&phnum.to_ne_bytes()); // e_phnum
        h
    }

    /// An Elf64_Phdr (56 bytes).
    fn phdr64(p_type: u32, offset: u64, filesz: u64) -> Vec<u8> {
        let mut p = vec![0u8; 56];
        p[0..4].copy_from_slice(&p_type.to_ne_bytes()); // p_type
        p[4..8].copy_from_slice(&4u32.to_ne_bytes()); // p_flags = PF_R
        p[8..16].copy_from_slice(&offset.to_ne_bytes()); // p_offset
        p[32..40].copy_from_slice(&filesz.to_ne_bytes()); // p_filesz
        p[40..48].copy_from_slice(&filesz.to_ne_bytes()); // p_memsz
        p[48..56].copy_from_slice(&4u64.to_ne_bytes()); // p_align
        p
    }

    /// An Elf32_Phdr (32 bytes).
    fn phdr32(p_type: u32, offset: u32, filesz: u32) -> Vec<u8> {
        let mut p = vec![0u8; 32];
        p[0..4].copy_from_slice(&p_type.to_ne_bytes()); // p_type
        p[4..8].copy_from_slice(&offset.to_ne_bytes()); // p_offset
        p[16..20].copy_from_slice(&filesz.to_ne_bytes()); // p_filesz
        p[20..24].copy_from_slice(&filesz.to_ne_bytes()); // p_memsz
        p[24..28].copy_from_slice(&4u32.to_ne_bytes()); // p_flags = PF_R
        p
    }

    /// A note: Nhdr (namesz, descsz, type), then the name and descriptor, each padded to 4.
    fn note(name: &[u8], n_type: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32).to_ne_bytes()); // n_namesz
        n.extend_from_slice(&(desc.len() as u32).to_ne_bytes()); // n_descsz
        n.extend_from_slice(&n_type.to_ne_bytes()); // n_type
        n.extend_from_slice(name);
        n.resize(n.len().next_multiple_of(4), 0);
        n.extend_from_slice(desc);
        n.resize(n.len().next_multiple_of(4), 0);
        n
    }

    /// A raw note header with arbitrary sizes and no payload.
    fn nhdr(namesz: u32, descsz: u32, n_type: u32) -> Vec<u8> {
        [
            namesz.to_ne_bytes(),
            descsz.to_ne_bytes(),
            n_type.to_ne_bytes(),
        ]
        .concat()
    }

    const ID: [u8; 20] = [
        0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    ];

    /// ELF64: header, one PT_NOTE phdr at 64, notes at 120.
    fn elf64_with_notes(notes: &[u8]) -> Vec<u8> {
        let mut f = ehdr64(64, 1);
        f.extend(phdr64(PT_NOTE, 120, notes.len() as u64));
        f.extend_from_slice(notes);
        f
    }

    #[test]
    fn finds_gnu_build_id() {
        let f = elf64_with_notes(&note(b"GNU\0", 3, &ID));
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn skips_other_notes_and_segments() {
        // First PT_NOTE: a property note (type 5) only. Second: ABI tag (type 1) then the id.
        let seg1 = note(b"GNU\0", 5, &[0; 16]);
        let seg2 = [note(b"GNU\0", 1, &[0; 16]), note(b"GNU\0", 3, &ID)].concat();
        let mut f = ehdr64(64, 3);
        let base = 64 + 3 * 56;
        f.extend(phdr64(1, 0, 0)); // PT_LOAD, ignored
        f.extend(phdr64(PT_NOTE, base as u64, seg1.len() as u64));
        f.extend(phdr64(
            PT_NOTE,
            (base + seg1.len()) as u64,
            seg2.len() as u64,
        ));
        f.extend(seg1);
        f.extend(seg2);
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn note_name_is_not_checked() {
        let f = elf64_with_notes(&note(b"XYZ\0", 3, &ID));
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn no_build_id_note() {
        let f = elf64_with_notes(&note(b"GNU\0", 1, &[0; 16]));
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::NoBuildIdNote));
    }

    #[test]
    fn elf32() {
        let notes = note(b"GNU\0", 3, &ID);
        let mut f = ehdr32(52, 1);
        f.extend(phdr32(PT_NOTE, 84, notes.len() as u32));
        f.extend(notes);
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn elf32_ignores_phentsize() {
        // e_phentsize says 56, CRIU steps 32: the second PT_NOTE is found at 52 + 32.
        let notes = note(b"GNU\0", 3, &ID);
        let mut f = ehdr32(52, 2);
        f[42..44].copy_from_slice(&56u16.to_ne_bytes()); // bogus e_phentsize
        f.extend(phdr32(1, 0, 0)); // PT_LOAD
        f.extend(phdr32(PT_NOTE, 52 + 64, notes.len() as u32));
        f.extend(notes);
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn unknown_class_and_magic() {
        let mut f = elf64_with_notes(&note(b"GNU\0", 3, &ID));
        f[4] = 3; // EI_CLASS = 3
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::UnknownClass(3)));
        f[0] = b'E';
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::NotElf));
        assert_eq!(
            build_id_from_bytes(b"\x7fELF"),
            Err(NoBuildId::UnknownClass(0))
        );
        assert_eq!(build_id_from_bytes(b"\x7fEL"), Err(NoBuildId::NotElf));
        assert_eq!(build_id_from_bytes(b""), Err(NoBuildId::NotElf));
    }

    #[test]
    fn data_encoding_is_ignored() {
        // EI_DATA = ELFDATA2MSB, fields still host-endian: CRIU reads them as the host does.
        let mut f = elf64_with_notes(&note(b"GNU\0", 3, &ID));
        f[5] = 2;
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn descriptor_sizes() {
        // n_descsz 0: rejected, and the search stops even though a good note follows.
        let notes = [nhdr(4, 0, 3), b"GNU\0".to_vec(), note(b"GNU\0", 3, &ID)].concat();
        assert_eq!(
            build_id_from_bytes(&elf64_with_notes(&notes)),
            Err(NoBuildId::BadDescriptorSize(0))
        );
        // 512 is accepted, 513 is not.
        let big = vec![0xab; 512];
        assert_eq!(
            build_id_from_bytes(&elf64_with_notes(&note(b"GNU\0", 3, &big)))
                .unwrap()
                .as_bytes(),
            &big[..]
        );
        let bigger = vec![0xab; 513];
        assert_eq!(
            build_id_from_bytes(&elf64_with_notes(&note(b"GNU\0", 3, &bigger))),
            Err(NoBuildId::BadDescriptorSize(513))
        );
    }

    #[test]
    fn huge_namesz_puts_descriptor_outside() {
        // namesz 0x10000 (aligned): the descriptor would start 64 KiB on, past this small file.
        let notes = [nhdr(0x10000, 20, 3), ID.to_vec()].concat();
        let f = elf64_with_notes(&notes);
        assert!(matches!(
            build_id_from_bytes(&f),
            Err(NoBuildId::DescriptorOutsideWindow { size: 20, .. })
        ));
    }

    #[test]
    fn namesz_alignment_wraps_in_32_bits() {
        // ALIGN(0xffff_fffd, 4) is 0 in CRIU's 32-bit arithmetic: the descriptor follows the
        // header directly.
        let notes = [nhdr(0xffff_fffd, 20, 3), ID.to_vec()].concat();
        assert_eq!(
            build_id_from_bytes(&elf64_with_notes(&notes))
                .unwrap()
                .as_bytes(),
            ID
        );
        // The same wrap in a skipped note: step = 12 + 0 + 0.
        let notes = [nhdr(0xffff_ffff, 0xffff_fffe, 1), note(b"GNU\0", 3, &ID)].concat();
        assert_eq!(
            build_id_from_bytes(&elf64_with_notes(&notes))
                .unwrap()
                .as_bytes(),
            ID
        );
    }

    #[test]
    fn note_header_may_start_past_segment_end() {
        // p_filesz covers only the first note, but CRIU's bound `<= p_offset + p_filesz` admits a
        // header starting exactly at the segment end.
        let first = note(b"GNU\0", 1, &[0; 4]);
        let notes = [first.clone(), note(b"GNU\0", 3, &ID)].concat();
        let mut f = ehdr64(64, 1);
        f.extend(phdr64(PT_NOTE, 120, first.len() as u64));
        f.extend(notes);
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
        // One byte less of p_filesz and the second header starts past the bound.
        let mut f2 = ehdr64(64, 1);
        f2.extend(phdr64(PT_NOTE, 120, first.len() as u64 - 1));
        f2.extend_from_slice(&f[120..]);
        assert_eq!(build_id_from_bytes(&f2), Err(NoBuildId::NoBuildIdNote));
    }

    #[test]
    fn notes_past_one_mib_are_invisible() {
        let notes = note(b"GNU\0", 3, &ID);
        let at = WINDOW as usize + 100;
        let mut f = ehdr64(64, 1);
        f.extend(phdr64(PT_NOTE, at as u64, notes.len() as u64));
        f.resize(at, 0);
        f.extend(notes.clone());
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::NoBuildIdNote));

        // Header inside the window, descriptor straddling its end.
        let at = WINDOW as usize - 20;
        let mut f = ehdr64(64, 1);
        f.extend(phdr64(PT_NOTE, at as u64, notes.len() as u64));
        f.resize(at, 0);
        f.extend(notes.clone());
        assert!(matches!(
            build_id_from_bytes(&f),
            Err(NoBuildId::DescriptorOutsideWindow { .. })
        ));

        // Whole note ending exactly at the window's end: found.
        let at = WINDOW as usize - notes.len();
        let mut f = ehdr64(64, 1);
        f.extend(phdr64(PT_NOTE, at as u64, notes.len() as u64));
        f.resize(at, 0);
        f.extend(notes);
        f.extend([0u8; 100]);
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
    }

    #[test]
    fn program_headers_past_the_window_are_not_read() {
        // The only phdr ends one byte past the window.
        let notes = note(b"GNU\0", 3, &ID);
        let phoff = WINDOW - 55;
        let mut f = ehdr64(phoff, 1);
        f.extend(notes.clone());
        f.resize(phoff as usize, 0);
        f.extend(phdr64(PT_NOTE, 64, notes.len() as u64));
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::NoBuildIdNote));
        // Moved one byte earlier it fits.
        let mut g = f.clone();
        g[32..40].copy_from_slice(&(phoff - 1).to_ne_bytes());
        g.remove(phoff as usize - 1);
        g.push(0);
        assert_eq!(build_id_from_bytes(&g).unwrap().as_bytes(), ID);
    }

    #[test]
    fn bogus_program_header_fields() {
        let notes = note(b"GNU\0", 3, &ID);
        // e_phnum 0.
        let mut f = elf64_with_notes(&notes);
        f[56..58].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::NoProgramHeaders));
        // e_phoff 0.
        let mut f = elf64_with_notes(&notes);
        f[32..40].copy_from_slice(&0u64.to_ne_bytes());
        assert_eq!(
            build_id_from_bytes(&f),
            Err(NoBuildId::ProgramHeadersAtZero)
        );
        // e_phoff past the file, and at u64::MAX (CRIU's pointer addition would wrap).
        for phoff in [10_000u64, u64::MAX, u64::MAX - 55, 1 << 63] {
            let mut f = elf64_with_notes(&notes);
            f[32..40].copy_from_slice(&phoff.to_ne_bytes());
            assert_eq!(
                build_id_from_bytes(&f),
                Err(NoBuildId::NoBuildIdNote),
                "{phoff:#x}"
            );
        }
        // e_phnum 0xffff with a table that runs off the file: only fitting headers are read.
        let mut f = elf64_with_notes(&notes);
        f[56..58].copy_from_slice(&u16::MAX.to_ne_bytes());
        assert_eq!(build_id_from_bytes(&f).unwrap().as_bytes(), ID);
        // p_offset 0 is skipped; p_offset / p_filesz huge do not overflow.
        for (off, size) in [
            (0, 100),
            (u64::MAX, 100),
            (120, u64::MAX),
            (u64::MAX, u64::MAX),
        ] {
            let mut f = ehdr64(64, 1);
            f.extend(phdr64(PT_NOTE, off, size));
            f.extend(notes.clone());
            let got = build_id_from_bytes(&f);
            if off == 120 {
                assert_eq!(got.unwrap().as_bytes(), ID);
            } else {
                assert_eq!(got, Err(NoBuildId::NoBuildIdNote), "{off:#x} {size:#x}");
            }
        }
    }

    #[test]
    fn truncated_headers_at_every_length() {
        let f = elf64_with_notes(&note(b"GNU\0", 3, &ID));
        for len in 0..f.len() {
            let got = build_id_from_bytes(&f[..len]);
            assert!(got.is_err(), "len {len}: {got:?}");
        }
        assert!(build_id_from_bytes(&f).is_ok());
        let mut f32 = ehdr32(52, 1);
        let notes = note(b"GNU\0", 3, &ID);
        f32.extend(phdr32(PT_NOTE, 84, notes.len() as u32));
        f32.extend(notes);
        for len in 0..f32.len() {
            assert!(build_id_from_bytes(&f32[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn hostile_note_chains_finish_quickly() {
        // 5 000 PT_NOTE segments, all pointing into one chain of ~65 000 empty notes, each with a
        // different bound: CRIU's naive walk takes ~3 * 10^8 steps, ours reads each header once.
        let phnum = 5_000u16;
        let notes_at = 64 + u64::from(phnum) * 56;
        let mut f = ehdr64(64, phnum);
        for i in 0..u64::from(phnum) {
            f.extend(phdr64(
                PT_NOTE,
                notes_at + 12 * (i % 7),
                WINDOW - notes_at - i,
            ));
        }
        while (f.len() as u64) < WINDOW {
            f.extend(nhdr(0, 0, 1));
        }
        let started = std::time::Instant::now();
        assert_eq!(build_id_from_bytes(&f), Err(NoBuildId::NoBuildIdNote));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn words_round_trip() {
        assert_eq!(to_words(&[]), Vec::<u32>::new());
        assert_eq!(
            to_words(&[1, 2, 3, 4, 5]),
            vec![
                u32::from_ne_bytes([1, 2, 3, 4]),
                u32::from_ne_bytes([5, 0, 0, 0])
            ]
        );
        for len in 0..=24usize {
            let bytes: Vec<u8> = (1..=len as u8).collect();
            let words = to_words(&bytes);
            assert_eq!(words.len(), len.div_ceil(4));
            assert_eq!(from_words(&words, len).unwrap(), bytes);
        }
        assert_eq!(from_words(&[0], 5), None);
    }

    #[test]
    fn display_is_readelf_hex() {
        assert_eq!(BuildId(vec![0x0a, 0xff, 0x00]).to_string(), "0aff00");
    }
}
