//! Integration tests for `criu_image::cookie`: build-ids of real ELF files against binutils and a
//! literal transcription of CRIU's C, gcc-built ELFs, robustness on mutated real files, CRC32C
//! modes at size boundaries, the restore-side verdicts with their messages, and whole hand-made
//! checkpoints through `cookie::checkpoint::check_files`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::num::NonZeroU32;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use criu_image::checkpoint::Checkpoint;
use criu_image::cookie::build_id::{
    self, BuildId, NoBuildId, build_id_from_bytes, from_words, scan_file, to_words,
};
use criu_image::cookie::checkpoint::{Skip, Status, check_files};
use criu_image::cookie::checksum::{self, ChecksumConfig, ChecksumMode, checksum_bytes};
use criu_image::cookie::{
    CheckOptions, DumpOptions, FileValidation, NoteKind, ProblemKind, RegFileCookie, check,
};
use criu_image::image::{ImageWriter, Kind};
use criu_image::proto::owned;
use criu_image::proto::schema::enums::{FdTypes, RemapType};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A fresh directory under Cargo's per-target temp dir, unique per call.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cookie-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// "Build ID: <hex>" from `readelf -n -W` (binutils), first occurrence. With `-W` the value
/// shares a line with the note's description.
fn readelf_build_id(path: &Path) -> Option<String> {
    let out = Command::new("readelf")
        .args(["-n", "-W"])
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("Build ID: ")? + "Build ID: ".len();
    Some(
        text[at..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect(),
    )
}

/// "BuildID[sha1]=<hex>" from `file`.
fn file_build_id(path: &Path) -> Option<String> {
    let out = Command::new("file").arg("-b").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find("BuildID[")?;
    let rest = &text[start..];
    let hex = &rest[rest.find("]=")? + 2..];
    Some(hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect())
}

/// Compiles `src` with gcc and extra flags; `None` when gcc (or the flags) are unavailable.
fn gcc(dir: &Path, name: &str, src: &str, flags: &[&str]) -> Option<PathBuf> {
    let c = dir.join(format!("{name}.c"));
    write(&c, src.as_bytes());
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(flags)
        .arg(&c)
        .arg("-o")
        .arg(&out)
        .output()
        .ok()?;
    if !status.status.success() {
        eprintln!(
            "gcc {flags:?} failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        return None;
    }
    Some(out)
}

const HELLO: &str = "int main(void) { return 0; }\n";
/// No libc: links for -m32 even without 32-bit libraries.
const FREESTANDING: &str = "void _start(void) { for (;;) ; }\n";

// ---------------------------------------------------------------------------------------------
// A literal transcription of CRIU's get_build_id / get_build_id_{32,64} (criu/files-reg.c, after
// commit a77185dae), with C pointers modelled as i128 offsets from the mapping (so "pointer
// overflow" cannot happen) and reads from a zero-filled page-rounded mapping. It is deliberately
// naive: the library must agree with it on every input.

fn criu_reference(file: &[u8]) -> Option<Vec<u8>> {
    let mapped = file.len().min(1 << 20);
    if mapped == 0 {
        return None; // mmap of length 0 fails
    }
    let page_end = mapped.next_multiple_of(4096);
    let byte = |at: i128| -> u8 {
        assert!(
            at >= 0 && (at as usize) < page_end,
            "CRIU would fault at {at}"
        );
        file.get(at as usize)
            .copied()
            .filter(|_| (at as usize) < mapped)
            .unwrap_or(0)
    };
    let u16_at = |at: i128| u16::from_ne_bytes([byte(at), byte(at + 1)]);
    let u32_at =
        |at: i128| u32::from_ne_bytes([byte(at), byte(at + 1), byte(at + 2), byte(at + 3)]);
    let u64_at = |at: i128| u64::from_ne_bytes(std::array::from_fn(|i| byte(at + i as i128)));
    if (0..4).any(|i| byte(i) != b"\x7fELF"[i as usize]) {
        return None;
    }
    let align = |x: u32| i128::from(x.wrapping_add(3) & !3);
    let class = byte(4);
    let (ehdr, phdr, phoff, phnum) = match class {
        1 => (52i128, 32i128, 28, 44),
        2 => (64, 56, 32, 56),
        _ => return None,
    };
    let fh_end = mapped as i128;
    if ehdr > fh_end {
        return None;
    }
    let e_phnum = u16_at(phnum);
    if e_phnum == 0 {
        return None;
    }
    let mut ph: i128 = if class == 1 {
        i128::from(u32_at(phoff))
    } else {
        i128::from(u64_at(phoff))
    };
    if ph <= 0 {
        return None;
    }
    let ph_end = fh_end - phdr;
    let mut note: Option<i128> = None;
    for _ in 0..e_phnum {
        if ph > ph_end {
            break;
        }
        let (p_type, p_offset, p_filesz) = if class == 1 {
            (
                u32_at(ph),
                i128::from(u32_at(ph + 4)),
                i128::from(u32_at(ph + 16)),
            )
        } else {
            (
                u32_at(ph),
                i128::from(u64_at(ph + 8)),
                i128::from(u64_at(ph + 32)),
            )
        };
        ph += phdr;
        if p_type != 4 {
            continue;
        }
        let mut nh = p_offset;
        if nh <= 0 {
            note = None;
            continue;
        }
        let nh_end = (nh + p_filesz).min(fh_end - 12);
        while nh <= nh_end && u32_at(nh + 8) != 3 {
            nh += 12 + align(u32_at(nh)) + align(u32_at(nh + 4));
        }
        if nh > nh_end {
            note = None;
            continue;
        }
        note = Some(nh);
        break;
    }
    let nh = note?;
    let size = u32_at(nh + 4);
    if size == 0 || size > 512 {
        return None;
    }
    let desc = nh + 12 + align(u32_at(nh));
    if desc <= 0 || desc > fh_end - i128::from(size) {
        return None;
    }
    Some((desc..desc + i128::from(size)).map(byte).collect())
}

fn ours(bytes: &[u8]) -> Option<Vec<u8>> {
    build_id_from_bytes(bytes).ok().map(BuildId::into_bytes)
}

/// ELF files from the system: every `step`-th of the sorted candidates, `limit` at most.
fn system_elves(limit: usize) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/bin"] {
        let Ok(rd) = fs::read_dir(dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if dir.ends_with("gnu") && !name.contains(".so") {
                continue;
            }
            let Ok(meta) = fs::metadata(&p) else { continue };
            if !meta.is_file() {
                continue;
            }
            let mut magic = [0u8; 4];
            let is_elf = File::open(&p)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok()
                && magic == *b"\x7fELF";
            if is_elf {
                all.push(p);
            }
        }
    }
    all.sort();
    all.dedup();
    let step = all.len().div_ceil(limit).max(1);
    all.into_iter().step_by(step).collect()
}

// ---------------------------------------------------------------------------------------------
// Build-ids of real files

#[test]
fn system_elves_match_readelf_and_criu() {
    let files = system_elves(200);
    assert!(!files.is_empty(), "no ELF files found on this machine");
    let readelf = have("readelf");
    if !readelf {
        eprintln!("readelf not installed: comparing with the CRIU transcription only");
    }
    let (mut compared, mut with_id, mut beyond_window) = (0, 0, Vec::new());
    for path in &files {
        let bytes = fs::read(path).unwrap();
        let got = build_id::build_id(path).unwrap();
        // The pread path and the in-memory path agree, and both agree with CRIU's C.
        assert_eq!(
            got.clone().map(BuildId::into_bytes),
            ours(&bytes),
            "{}",
            path.display()
        );
        assert_eq!(ours(&bytes), criu_reference(&bytes), "{}", path.display());
        with_id += usize::from(got.is_some());
        if !readelf {
            continue;
        }
        let theirs = readelf_build_id(path);
        let got_hex = got.as_ref().map(ToString::to_string);
        if got_hex == theirs {
            compared += 1;
            continue;
        }
        // Disagreement is only allowed where CRIU's window rule hides a note readelf sees (it
        // reads section headers, anywhere in the file).
        assert!(
            bytes.len() as u64 > build_id::WINDOW && got.is_none(),
            "{}: ours {got_hex:?}, readelf {theirs:?}",
            path.display()
        );
        beyond_window.push(path.clone());
    }
    eprintln!(
        "{} ELF files, {with_id} with a CRIU build-id, {compared} identical to readelf, {} with \
         the note beyond CRIU's first MiB: {beyond_window:?}",
        files.len(),
        beyond_window.len()
    );
    if readelf {
        assert!(compared > files.len() / 2);
    }
}

#[test]
fn file_command_agrees_on_a_few() {
    if !have("file") {
        eprintln!("file(1) not installed; skipped");
        return;
    }
    for path in system_elves(20) {
        let ours = build_id::build_id(&path).unwrap().map(|id| id.to_string());
        if let Some(theirs) = file_build_id(&path) {
            assert_eq!(ours.as_deref(), Some(theirs.as_str()), "{}", path.display());
        }
    }
}

#[test]
fn gcc_built_elves() {
    if !have("gcc") {
        eprintln!("gcc not installed; skipped");
        return;
    }
    let dir = scratch("gcc");
    let sha1 = gcc(&dir, "sha1", HELLO, &["-Wl,--build-id=sha1"]).expect("gcc works");
    let id = build_id::build_id(&sha1).unwrap().expect("sha1 build-id");
    assert_eq!(id.as_bytes().len(), 20);
    if have("readelf") {
        assert_eq!(readelf_build_id(&sha1), Some(id.to_string()));
    }
    // The pread scan reads a handful of small ranges, not the window.
    let scan = scan_file(&File::open(&sha1).unwrap()).unwrap();
    assert!(scan.bytes_read < 4096, "{scan:?}");
    assert!(scan.reads.len() <= 4, "{scan:?}");

    let md5 = gcc(&dir, "md5", HELLO, &["-Wl,--build-id=md5"]).unwrap();
    let id = build_id::build_id(&md5).unwrap().unwrap();
    assert_eq!((id.as_bytes().len(), id.to_words().len()), (16, 4));

    // A 5-byte id: two words, the second zero-padded.
    let odd = gcc(&dir, "odd", HELLO, &["-Wl,--build-id=0x0102030405"]).unwrap();
    let id = build_id::build_id(&odd).unwrap().unwrap();
    assert_eq!(id.as_bytes(), [1, 2, 3, 4, 5]);
    assert_eq!(
        id.to_words(),
        vec![
            u32::from_ne_bytes([1, 2, 3, 4]),
            u32::from_ne_bytes([5, 0, 0, 0])
        ]
    );

    let none = gcc(&dir, "none", HELLO, &["-Wl,--build-id=none"]).unwrap();
    let scan = scan_file(&File::open(&none).unwrap()).unwrap();
    assert_eq!(scan.outcome, Err(NoBuildId::NoBuildIdNote));

    // ELF32: a freestanding program links with -m32 even without 32-bit libc. If even that
    // fails, the hand-assembled ELF32 unit tests in build_id.rs cover the 32-bit path.
    match gcc(
        &dir,
        "m32",
        FREESTANDING,
        &["-m32", "-nostdlib", "-static", "-Wl,--build-id=sha1"],
    ) {
        Some(m32) => {
            let bytes = fs::read(&m32).unwrap();
            assert_eq!(bytes[4], 1, "ELFCLASS32");
            let id = build_id::build_id(&m32).unwrap().expect("ELF32 build-id");
            assert_eq!(id.as_bytes().len(), 20);
            if have("readelf") {
                assert_eq!(readelf_build_id(&m32), Some(id.to_string()));
            }
        }
        None => eprintln!("no 32-bit gcc support; ELF32 covered by unit tests only"),
    }
}

#[test]
fn build_id_one_mib_window_on_disk() {
    // A valid ELF whose note sits just past 1 MiB: readelf would see it (via sections, if any),
    // CRIU does not. The pread path must not read past the window either.
    let dir = scratch("window");
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF"); // e_ident magic
    f[4] = 2; // ELFCLASS64
    f[32..40].copy_from_slice(&64u64.to_ne_bytes()); // e_phoff
    f[56..58].copy_from_slice(&1u16.to_ne_bytes()); // e_phnum
    let note_at = (1u64 << 20) + 8;
    let mut phdr = vec![0u8; 56];
    phdr[..4].copy_from_slice(&4u32.to_ne_bytes()); // PT_NOTE
    phdr[8..16].copy_from_slice(&note_at.to_ne_bytes()); // p_offset
    phdr[32..40].copy_from_slice(&36u64.to_ne_bytes()); // p_filesz
    f.extend(phdr);
    f.resize(note_at as usize, 0);
    f.extend(4u32.to_ne_bytes()); // n_namesz
    f.extend(20u32.to_ne_bytes()); // n_descsz
    f.extend(3u32.to_ne_bytes()); // n_type = NT_GNU_BUILD_ID
    f.extend(b"GNU\0");
    f.extend([0x11u8; 20]);
    let path = dir.join("far");
    write(&path, &f);
    let scan = scan_file(&File::open(&path).unwrap()).unwrap();
    assert_eq!(scan.outcome, Err(NoBuildId::NoBuildIdNote));
    assert_eq!(scan.window, 1 << 20);
    assert!(
        scan.reads.iter().all(|&(off, len)| off + len <= 1 << 20),
        "{scan:?}"
    );
    assert_eq!(criu_reference(&f), None);
}

#[test]
fn random_note_layouts_match_criu() {
    // Many PT_NOTE segments with random starts and bounds over random note chains: exercises the
    // memoised walk (a stretch known to hold no build-id note is skipped on later walks) against
    // CRIU's naive one.
    let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
    let mut found = 0;
    for round in 0..3000 {
        let class64 = rng.below(4) != 0;
        let (ehdr, phdr) = if class64 {
            (64usize, 56usize)
        } else {
            (52, 32)
        };
        let phnum = 1 + rng.below(12);
        let notes_at = ehdr + phnum * phdr;
        let (mut notes, mut starts) = (Vec::new(), vec![0usize]);
        for _ in 0..rng.below(40) {
            starts.push(notes.len());
            let namesz = [0u32, 1, 4, 5, 8, 0xffff_fffd][rng.below(6)];
            let descsz = [0u32, 3, 16, 20, 20, 20, 40, 513][rng.below(8)];
            let n_type = if rng.below(6) == 0 {
                3
            } else {
                rng.below(6) as u32
            };
            notes.extend(namesz.to_ne_bytes());
            notes.extend(descsz.to_ne_bytes());
            notes.extend(n_type.to_ne_bytes());
            let body =
                (namesz.wrapping_add(3) & !3) as usize + (descsz as usize).next_multiple_of(4);
            notes.extend((0..body.min(600)).map(|_| rng.next() as u8));
        }
        let mut f = vec![0u8; ehdr];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = if class64 { 2 } else { 1 };
        if class64 {
            f[32..40].copy_from_slice(&(ehdr as u64).to_ne_bytes()); // e_phoff
            f[56..58].copy_from_slice(&(phnum as u16).to_ne_bytes()); // e_phnum
        } else {
            f[28..32].copy_from_slice(&(ehdr as u32).to_ne_bytes()); // e_phoff
            f[44..46].copy_from_slice(&(phnum as u16).to_ne_bytes()); // e_phnum
        }
        let span = notes.len().max(1);
        for _ in 0..phnum {
            let p_type = if rng.below(5) == 0 { 1u32 } else { 4 };
            // Mostly at a note boundary, sometimes anywhere (mid-note, misaligned).
            let rel = if rng.below(4) != 0 {
                starts[rng.below(starts.len())]
            } else {
                rng.below(span)
            };
            let off = (notes_at + rel) as u64;
            let filesz = [rng.below(span + 40) as u64, u64::MAX, 0][rng.below(3)];
            let mut p = vec![0u8; phdr];
            p[..4].copy_from_slice(&p_type.to_ne_bytes());
            if class64 {
                p[8..16].copy_from_slice(&off.to_ne_bytes()); // p_offset
                p[32..40].copy_from_slice(&filesz.to_ne_bytes()); // p_filesz
            } else {
                p[4..8].copy_from_slice(&(off as u32).to_ne_bytes()); // p_offset
                p[16..20].copy_from_slice(&(filesz as u32).to_ne_bytes()); // p_filesz
            }
            f.extend(p);
        }
        f.extend(notes);
        let got = ours(&f);
        assert_eq!(got, criu_reference(&f), "round {round}");
        found += usize::from(got.is_some());
    }
    // Both outcomes are well represented, or the test proves little.
    eprintln!("{found} of 3000 random layouts have a CRIU build-id");
    assert!((300..2700).contains(&found), "{found}");
}

#[test]
fn hostile_segments_bound_the_bytes_read() {
    // 5 000 PT_NOTE segments over one chain of empty notes, alternating between two ranges
    // neither of which contains the other: a naive reader would re-read ~1 MiB per segment
    // (GiBs in total); the scan must stay within three windows.
    let dir = scratch("hostile");
    let window = build_id::WINDOW;
    let phnum = 5_000u64;
    let notes_at = 64 + phnum * 56;
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF"); // magic
    f[4] = 2; // ELFCLASS64
    f[32..40].copy_from_slice(&64u64.to_ne_bytes()); // e_phoff
    f[56..58].copy_from_slice(&(phnum as u16).to_ne_bytes()); // e_phnum
    for i in 0..phnum {
        // Even: [notes_at, window - 24); odd: [notes_at + 12, window).
        let (off, last) = if i % 2 == 0 {
            (notes_at, window - 36)
        } else {
            (notes_at + 12, window - 12)
        };
        let mut p = vec![0u8; 56];
        p[..4].copy_from_slice(&4u32.to_ne_bytes()); // p_type = PT_NOTE
        p[8..16].copy_from_slice(&off.to_ne_bytes()); // p_offset
        p[32..40].copy_from_slice(&(last - off).to_ne_bytes()); // p_filesz
        f.extend(p);
    }
    while (f.len() as u64) < window {
        f.extend([0u8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]); // Nhdr: namesz 0, descsz 0, type 1
    }
    let path = dir.join("hostile");
    write(&path, &f);
    let started = std::time::Instant::now();
    let scan = scan_file(&File::open(&path).unwrap()).unwrap();
    assert_eq!(scan.outcome, Err(NoBuildId::NoBuildIdNote));
    assert!(
        scan.bytes_read <= 3 * window,
        "read {} bytes",
        scan.bytes_read
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // (The naive CRIU transcription needs ~3 * 10^8 steps here, too slow for a debug-build test;
    // the unit test `hostile_note_chains_finish_quickly` checks the memoised walk's answer.)
}

#[test]
fn mutated_real_elf_never_panics_and_matches_criu() {
    let dir = scratch("mutate");
    // Prefer a gcc-built file (small, known layout); fall back to a system binary.
    let src = gcc(&dir, "seed", HELLO, &["-Wl,--build-id=sha1"])
        .or_else(|| system_elves(1).into_iter().next())
        .expect("an ELF file");
    let orig = fs::read(&src).unwrap();
    assert!(ours(&orig).is_some());

    // Truncation at every byte offset up to 4 KiB, in memory and on disk.
    let path = dir.join("cut");
    let limit = orig.len().min(4096);
    for len in 0..=limit {
        let cut = &orig[..len];
        assert_eq!(ours(cut), criu_reference(cut), "truncated to {len}");
        write(&path, cut);
        let scan = scan_file(&File::open(&path).unwrap()).unwrap();
        assert_eq!(
            scan.outcome.ok().map(BuildId::into_bytes),
            ours(cut),
            "on disk, {len}"
        );
    }

    // Every single-bit flip in the first 1 KiB (ELF header, program headers, notes).
    let mut m = orig.clone();
    for at in 0..orig.len().min(1024) {
        for bit in 0..8 {
            m[at] ^= 1 << bit;
            assert_eq!(ours(&m), criu_reference(&m), "bit {bit} of byte {at}");
            m[at] ^= 1 << bit;
        }
    }

    // Random multi-byte corruption of the same region, including whole random words.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..20_000 {
        let mut m = orig.clone();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(orig.len().min(1024));
            if rng.below(2) == 0 {
                m[at] = rng.next() as u8;
            } else {
                let end = (at + 8).min(m.len());
                m[at..end].copy_from_slice(&rng.next().to_ne_bytes()[..end - at]);
            }
        }
        assert_eq!(ours(&m), criu_reference(&m), "round {round}");
    }
}

#[test]
fn words_storage_form() {
    let id = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01];
    let words = to_words(&id);
    assert_eq!(words.len(), 2);
    // Host order: on little-endian x86 the first byte is the low byte of the word.
    if cfg!(target_endian = "little") {
        assert_eq!(words, vec![0xddcc_bbaa, 0x0001_ffee]);
    }
    assert_eq!(from_words(&words, 7).unwrap(), id);
    assert_eq!(from_words(&words, 9), None);
}

// ---------------------------------------------------------------------------------------------
// CRC32C

#[test]
fn crc32c_vectors_and_chunking() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    // RFC 3720 (iSCSI) B.4 vectors.
    assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
    assert_eq!(crc32c::crc32c(&[0xffu8; 32]), 0x62A8_AB43);
    let inc: Vec<u8> = (0u8..32).collect();
    assert_eq!(crc32c::crc32c(&inc), 0x46DD_794E);

    let mut rng = Rng(42);
    let data: Vec<u8> = (0..100_000).map(|_| rng.next() as u8).collect();
    let one_shot = crc32c::crc32c(&data);
    for _ in 0..100 {
        let mut crc = 0;
        let mut at = 0;
        while at < data.len() {
            let n = (1 + rng.below(5000)).min(data.len() - at);
            crc = crc32c::crc32c_append(crc, &data[at..at + n]);
            at += n;
        }
        assert_eq!(crc, one_shot);
    }
}

#[test]
fn checksum_modes_at_size_boundaries() {
    let dir = scratch("crc");
    let path = dir.join("data");
    let mut rng = Rng(7);
    let mib = 1usize << 20;
    let mut sizes = vec![
        0,
        1,
        4095,
        4096,
        4097,
        mib - 1,
        mib,
        mib + 1,
        2 * mib + 4097,
    ];
    for n in [2usize, 3, 5, 256] {
        for k in [1usize, 2, 7] {
            sizes.extend([n * k * 4096 - 1, n * k * 4096, n * k * 4096 + 1]);
        }
    }
    let modes = |size: usize| {
        let mut m = vec![ChecksumMode::WholeFile];
        for n in [
            0u32,
            1,
            4095,
            4096,
            4097,
            size as u32,
            size as u32 + 1,
            u32::MAX,
        ] {
            m.push(ChecksumMode::FirstBytes(n));
        }
        for n in [1u32, 2, 3, 4, 5, 256, u32::MAX] {
            m.push(ChecksumMode::EveryNthPage(NonZeroU32::new(n).unwrap()));
        }
        m
    };
    for size in sizes {
        let data: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        write(&path, &data);
        for mode in modes(size) {
            let want = checksum_bytes(&data, mode);
            assert_eq!(
                checksum::checksum_path(&path, mode).unwrap(),
                want,
                "{size} {mode:?}"
            );
        }
        // Spot-check the definitions against plain CRCs of the selected bytes.
        assert_eq!(
            checksum_bytes(&data, ChecksumMode::WholeFile),
            crc32c::crc32c(&data)
        );
        let sample: Vec<u8> = data.chunks(4096).step_by(3).flatten().copied().collect();
        let every3 = ChecksumMode::EveryNthPage(NonZeroU32::new(3).unwrap());
        assert_eq!(
            checksum_bytes(&data, every3),
            crc32c::crc32c(&sample),
            "{size}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Restore-side verdicts

fn sha1_elf(dir: &Path) -> Option<PathBuf> {
    if !have("gcc") {
        return None;
    }
    gcc(dir, "elf", HELLO, &["-Wl,--build-id=sha1"])
}

fn dumped(path: &Path) -> RegFileCookie {
    let file = File::open(path).unwrap();
    RegFileCookie::for_dump(&file, libc::O_RDONLY as u32, &DumpOptions::default()).unwrap()
}

fn messages(v: &criu_image::cookie::Verdict) -> Vec<String> {
    v.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn verdict_ok_and_size_only() {
    let dir = scratch("ok");
    let opts = CheckOptions::default();
    if let Some(elf) = sha1_elf(&dir) {
        let cookie = dumped(&elf);
        assert_eq!(cookie.build_id.len(), 5);
        let v = check(&cookie, &elf, &opts);
        assert!(v.is_ok() && v.notes.is_empty(), "{v}");
        assert_eq!(v.to_string(), format!("File {} is valid", elf.display()));
    }

    // Not an ELF: only the size is stored, and the check says so.
    let text = dir.join("text");
    write(&text, b"hello world\n");
    let cookie = dumped(&text);
    assert!(cookie.build_id.is_empty());
    let v = check(&cookie, &text, &opts);
    assert!(v.is_ok(), "{v}");
    // CRIU logs this info line for every file dumped without a build-id.
    assert!(matches!(
        v.notes[..],
        [criu_image::cookie::Note {
            kind: NoteKind::SizeOnly(None),
            ..
        }]
    ));
    assert_eq!(
        v.to_string(),
        format!(
            "File {} could only be validated with file size",
            text.display()
        )
    );
    // The entry has words but the file now has no build-id: CRIU accepts with an info line.
    let cookie = RegFileCookie {
        build_id: vec![1, 2, 3, 4, 5],
        ..cookie
    };
    let v = check(&cookie, &text, &opts);
    assert!(v.is_ok());
    assert!(matches!(v.notes[0].kind, NoteKind::SizeOnly(Some(_))));
    assert_eq!(
        v.notes[0].to_string(),
        format!(
            "File {} could only be validated with file size (not an ELF file)",
            text.display()
        )
    );
}

#[test]
fn verdict_bad_size() {
    let dir = scratch("size");
    let p = dir.join("f");
    write(&p, b"12345678");
    let cookie = RegFileCookie {
        size: Some(10),
        ..Default::default()
    };
    let v = check(&cookie, &p, &CheckOptions::default());
    assert!(matches!(
        v.problems[0].kind,
        ProblemKind::BadSize {
            actual: 8,
            expected: 10
        }
    ));
    assert_eq!(
        messages(&v),
        [format!("File {} has bad size 8 (expect 10)", p.display())]
    );
}

#[test]
fn verdict_build_id_mismatches() {
    let dir = scratch("bid");
    let Some(elf) = sha1_elf(&dir) else {
        eprintln!("gcc not installed; skipped");
        return;
    };
    let good = dumped(&elf);
    let opts = CheckOptions::default();

    // Stored as a 16-byte id: "bad build-ID length 20 (expect 16)".
    let short = RegFileCookie {
        build_id: good.build_id[..4].to_vec(),
        ..good.clone()
    };
    let v = check(&short, &elf, &opts);
    assert!(matches!(
        v.problems[0].kind,
        ProblemKind::BadBuildIdLength {
            actual: 20,
            expected: 16
        }
    ));
    assert_eq!(
        messages(&v),
        [format!(
            "File {} has bad build-ID length 20 (expect 16)",
            elf.display()
        )]
    );

    // One bit different.
    let mut wrong = good.clone();
    wrong.build_id[2] ^= 1;
    let v = check(&wrong, &elf, &opts);
    assert!(matches!(v.problems[0].kind, ProblemKind::BadBuildId { .. }));
    assert_eq!(
        messages(&v),
        [format!("File {} has bad build-ID", elf.display())]
    );

    // --file-validation filesize does not look at build-ids.
    let size_only = CheckOptions {
        file_validation: FileValidation::FileSize,
        ..opts
    };
    assert!(check(&wrong, &elf, &size_only).is_ok());

    // An entry without size skips the build-id check (CRIU's `!has_size` → validated).
    let no_size = RegFileCookie {
        size: None,
        ..wrong.clone()
    };
    let v = check(&no_size, &elf, &opts);
    assert!(v.is_ok() && v.notes.is_empty(), "{v}");
}

#[test]
fn build_id_padding_is_not_compared() {
    // CRIU memcmp's only the id's own bytes: junk in the last word's padding passes.
    let dir = scratch("pad");
    if !have("gcc") {
        return;
    }
    let elf = gcc(&dir, "odd", HELLO, &["-Wl,--build-id=0x0102030405"]).unwrap();
    let mut cookie = dumped(&elf);
    assert_eq!(cookie.build_id.len(), 2);
    cookie.build_id[1] = u32::from_ne_bytes([5, 0xee, 0xee, 0xee]);
    assert!(check(&cookie, &elf, &CheckOptions::default()).is_ok());
}

#[test]
fn verdict_mode_and_rwx_skip() {
    let dir = scratch("mode");
    let p = dir.join("f");
    write(&p, b"data");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
    let cookie = RegFileCookie {
        mode: Some(0o100600),
        ..Default::default()
    };
    let v = check(&cookie, &p, &CheckOptions::default());
    assert!(matches!(
        v.problems[0].kind,
        ProblemKind::BadMode {
            actual: 0o100640,
            expected: 0o100600,
            rwx_masked: false
        }
    ));
    assert_eq!(
        messages(&v),
        [format!(
            "File {} has bad mode 0100640 (expect 0100600)\n\
         File r/w/x checks can be skipped with the --skip-file-rwx-check option",
            p.display()
        )]
    );

    // --skip-file-rwx-check ignores exactly the 0777 bits.
    let skip = CheckOptions {
        skip_file_rwx_check: true,
        ..CheckOptions::default()
    };
    assert!(check(&cookie, &p, &skip).is_ok());
    // ... but not set-user-ID, set-group-ID or sticky bits, nor the file type.
    let setuid = RegFileCookie {
        mode: Some(0o104640),
        ..Default::default()
    };
    let v = check(&setuid, &p, &skip);
    assert!(matches!(
        v.problems[0].kind,
        ProblemKind::BadMode {
            actual: 0o100000,
            expected: 0o104000,
            rwx_masked: true
        }
    ));
    assert!(
        v.problems[0]
            .to_string()
            .contains("has bad mode 0100000 (expect 0104000)")
    );
    let dir_type = RegFileCookie {
        mode: Some(0o040640),
        ..Default::default()
    };
    assert!(!check(&dir_type, &p, &skip).is_ok());
}

#[test]
fn verdict_checksum() {
    let dir = scratch("sum");
    let p = dir.join("f");
    let data: Vec<u8> = (0..3 * 4096 + 5).map(|i| (i % 253) as u8).collect();
    write(&p, &data);
    let every2 = ChecksumMode::EveryNthPage(NonZeroU32::new(2).unwrap());
    let opts = DumpOptions {
        checksum: Some(every2),
        ..DumpOptions::default()
    };
    let cookie =
        RegFileCookie::for_dump(&File::open(&p).unwrap(), libc::O_RDWR as u32, &opts).unwrap();
    assert_eq!(cookie.checksum_config, Some(ChecksumConfig::PAGE_SAMPLE.0));
    assert_eq!(cookie.checksum_parameter, Some(2));
    assert_eq!(cookie.checksum, Some(checksum_bytes(&data, every2)));
    assert!(check(&cookie, &p, &CheckOptions::default()).is_ok());

    // Change a byte in page 1 (not sampled): still OK. In page 2 (sampled): bad checksum.
    let mut changed = data.clone();
    changed[4096 + 10] ^= 0xff;
    write(&p, &changed);
    assert!(check(&cookie, &p, &CheckOptions::default()).is_ok());
    changed[2 * 4096 + 10] ^= 0xff;
    write(&p, &changed);
    let v = check(&cookie, &p, &CheckOptions::default());
    let actual = checksum_bytes(&changed, every2);
    assert_eq!(
        messages(&v),
        [format!(
            "File {} has bad checksum {actual:x} (expect {:x})",
            p.display(),
            cookie.checksum.unwrap()
        )]
    );
    let off = CheckOptions {
        verify_checksum: false,
        ..CheckOptions::default()
    };
    assert!(check(&cookie, &p, &off).is_ok());

    // PR #1148's config 5 ("first N bytes" there) is not ours: noted, not failed.
    let foreign = RegFileCookie {
        checksum_config: Some(5),
        ..cookie.clone()
    };
    let v = check(&foreign, &p, &CheckOptions::default());
    assert!(v.is_ok());
    // notes[0] is the "could only be validated with file size" line: this file is not an ELF.
    assert!(matches!(v.notes[1].kind, NoteKind::ChecksumNotVerified(_)));
    assert_eq!(
        v.notes[1].to_string(),
        format!(
            "Could not validate with checksum for file {}: unknown checksum config 5",
            p.display()
        )
    );
}

#[test]
fn verdict_lists_problems_in_criu_order() {
    let dir = scratch("order");
    let Some(elf) = sha1_elf(&dir) else { return };
    let mut cookie = dumped(&elf);
    cookie.size = Some(cookie.size.unwrap() + 1);
    cookie.build_id[0] ^= 1;
    cookie.mode = Some(cookie.mode.unwrap() ^ 0o1000);
    let v = check(&cookie, &elf, &CheckOptions::default());
    let kinds: Vec<_> = v
        .problems
        .iter()
        .map(|p| match p.kind {
            ProblemKind::BadSize { .. } => "size",
            ProblemKind::BadBuildId { .. } => "build-id",
            ProblemKind::BadMode { .. } => "mode",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["size", "build-id", "mode"]);
    assert!(
        v.first_problem()
            .unwrap()
            .to_string()
            .contains("has bad size")
    );
}

#[test]
fn verdict_missing_file() {
    let dir = scratch("missing");
    let p = dir.join("nope");
    let v = check(
        &RegFileCookie {
            size: Some(1),
            ..Default::default()
        },
        &p,
        &Default::default(),
    );
    assert!(matches!(v.problems[0].kind, ProblemKind::Open(_)));
    assert!(
        v.problems[0]
            .to_string()
            .starts_with(&format!("Can't open file {}", p.display()))
    );
}

#[test]
fn dump_side_rules() {
    let dir = scratch("dump");
    // A 4-byte file that starts like an ELF: CRIU's dump does not even try (st_size < 5).
    let tiny = dir.join("tiny");
    write(&tiny, b"\x7fELF");
    let c = dumped(&tiny);
    assert_eq!((c.size, c.build_id.len()), (Some(4), 0));

    // Append-only writers store no size, hence nothing to validate but the mode.
    let log = dir.join("log");
    write(&log, b"line\n");
    let f = OpenOptions::new()
        .append(true)
        .custom_flags(0)
        .open(&log)
        .unwrap();
    let flags = (libc::O_WRONLY | libc::O_APPEND) as u32;
    let c = RegFileCookie::for_dump(&f, flags, &DumpOptions::default()).unwrap();
    assert_eq!(c.size, None);
    assert!(c.mode.is_some());
    writeln!(&f, "more").unwrap();
    assert!(check(&c, &log, &CheckOptions::default()).is_ok());

    // --file-validation filesize stores no build-id.
    if let Some(elf) = sha1_elf(&dir) {
        let opts = DumpOptions {
            file_validation: FileValidation::FileSize,
            checksum: None,
        };
        let c = RegFileCookie::for_dump(&File::open(&elf).unwrap(), 0, &opts).unwrap();
        assert!(c.build_id.is_empty() && c.size.is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// Whole checkpoints: `cookie::checkpoint::check_files` on hand-made images

/// A `reg_file_entry` for `name` carrying `cookie`.
fn reg_entry(id: u32, name: &[u8], flags: u32, cookie: &RegFileCookie) -> owned::RegFileEntry {
    owned::RegFileEntry {
        id,
        flags,
        name: name.to_vec(),
        size: cookie.size,
        mode: cookie.mode,
        build_id: cookie.build_id.clone(),
        checksum: cookie.checksum,
        checksum_config: cookie.checksum_config,
        checksum_parameter: cookie.checksum_parameter,
        ..Default::default()
    }
}

fn write_image<M: criu_image::proto::support::fields::Message>(
    path: &Path,
    kind: Kind,
    msgs: &[M],
) {
    let mut w = ImageWriter::new(Vec::new(), kind).unwrap();
    for m in msgs {
        w.write_message(m).unwrap();
    }
    fs::write(path, w.into_inner()).unwrap();
}

fn write_files_img(dir: &Path, regs: Vec<owned::RegFileEntry>) {
    let entries: Vec<owned::FileEntry> = regs
        .into_iter()
        .map(|r| owned::FileEntry {
            type_: FdTypes::REG,
            id: r.id,
            reg: Some(r),
            ..Default::default()
        })
        .collect();
    write_image(&dir.join("files.img"), Kind::Files, &entries);
}

#[test]
fn check_files_wants_the_directories_and_devices_it_opens() {
    // A task's cwd and root are directories of files.img (entries with a mode and no size): a
    // restore opens them, so they must exist, and be directories.
    let dir = scratch("ckpt-dirs");
    let ckpt_dir = dir.join("ckpt");
    fs::create_dir_all(&ckpt_dir).unwrap();
    let here = dir.join("cwd");
    fs::create_dir_all(&here).unwrap();
    let not_a_dir = dir.join("plain");
    write(&not_a_dir, b"x");
    let d = |mode: u32| RegFileCookie { size: None, mode: Some(mode), ..Default::default() };
    let dir_mode = fs::metadata(&here).unwrap().mode();
    write_files_img(
        &ckpt_dir,
        vec![
            reg_entry(1, here.as_os_str().as_encoded_bytes(), 0, &d(dir_mode)),
            reg_entry(2, dir.join("gone").as_os_str().as_encoded_bytes(), 0, &d(dir_mode)),
            reg_entry(3, not_a_dir.as_os_str().as_encoded_bytes(), 0, &d(dir_mode)),
            reg_entry(4, b"/dev/null", 0, &d(libc::S_IFCHR | 0o666)),
        ],
    );
    let ckpt = Checkpoint::open(&ckpt_dir).unwrap();
    let v = check_files(&ckpt, Path::new("/"), &CheckOptions::default()).unwrap();
    let status: Vec<Status> = v.iter().map(|v| v.status()).collect();
    assert_eq!(status, [Status::Ok, Status::Bad, Status::Bad, Status::Ok]);
    assert!(v[1].problems()[0].to_string().starts_with("Can't open file "), "{}", v[1].problems()[0]);
    assert!(v[2].problems()[0].to_string().contains("has bad mode 0100"), "{}", v[2].problems()[0]);
    let c = criu_image::cookie::checkpoint::counts(&v);
    assert_eq!((c.files, c.regular, c.directories, c.other, c.bad), (4, 0, 3, 1, 2));
}

#[test]
fn check_files_skips_what_criu_does_not_open_by_path() {
    let dir = scratch("ckpt-skips");
    let ckpt_dir = dir.join("ckpt");
    fs::create_dir_all(&ckpt_dir).unwrap();
    let file = dir.join("data");
    write(&file, b"some data");
    let c = dumped(&file);
    let name = file.as_os_str().as_encoded_bytes();
    let mut deleted = name.to_vec();
    deleted.extend_from_slice(b" (deleted)");
    let append = (libc::O_WRONLY | libc::O_APPEND) as u32;
    let no_size = RegFileCookie {
        size: None,
        mode: Some(libc::S_IFCHR | 0o666),
        ..Default::default()
    };
    let mut ext = reg_entry(3, b"file[1f:2a]", 0, &c);
    ext.ext = Some(true);
    write_files_img(
        &ckpt_dir,
        vec![
            reg_entry(1, name, 0, &c),
            reg_entry(2, &deleted, 0, &c),
            ext,
            reg_entry(4, name, 0, &c), // ghost remap
            reg_entry(5, name, 0, &c), // link remap to 6
            reg_entry(6, b"/tmp/link_remap.1", 0, &c),
            reg_entry(7, b"/proc/4242", 0, &c), // dead process
            reg_entry(8, name, 0, &c),          // ghost, in the pre-remap_type form
            reg_entry(
                9,
                name,
                append,
                &RegFileCookie {
                    size: None,
                    ..c.clone()
                },
            ),
            reg_entry(10, b"/dev/null", 0, &no_size),
            reg_entry(11, b"relative/path", 0, &c),
            reg_entry(12, b"/proc/4242/maps", 0, &c),
        ],
    );
    let remap = |orig_id, remap_id, remap_type| owned::RemapFilePathEntry {
        orig_id,
        remap_id,
        remap_type,
        ..Default::default()
    };
    write_image(
        &ckpt_dir.join("remap-fpath.img"),
        Kind::RemapFpath,
        &[
            remap(4, 0x1f, Some(RemapType::GHOST)),
            remap(5, 6, Some(RemapType::LINKED)),
            remap(7, 4242, Some(RemapType::PROCFS)),
            remap(8, 0x8000_0020, None),
        ],
    );
    let ckpt = Checkpoint::open(&ckpt_dir).unwrap();
    let v = check_files(&ckpt, Path::new("/"), &CheckOptions::default()).unwrap();
    let ids: Vec<u32> = v.iter().map(|v| v.id).collect();
    assert_eq!(ids, (1..=12).collect::<Vec<_>>(), "image order");
    assert_eq!(v[0].status(), Status::Ok);
    assert_eq!(v[0].checked_path(), Some(file.as_path()));
    let skips: Vec<Option<&Skip>> = v.iter().map(|v| v.skip()).collect();
    assert_eq!(
        skips,
        [
            None,
            Some(&Skip::Deleted),
            Some(&Skip::External),
            Some(&Skip::Ghost { ghost_id: 0x1f }),
            Some(&Skip::LinkRemap {
                remap_id: 6,
                remap_name: Some(b"/tmp/link_remap.1".to_vec())
            }),
            // The link remap itself is checked (and missing here).
            None,
            Some(&Skip::DeadProcess { pid: 4242 }),
            Some(&Skip::Ghost { ghost_id: 0x20 }),
            Some(&Skip::AppendOnly),
            // A device: CRIU opens it and compares its mode, so it is looked at (without opening).
            None,
            Some(&Skip::NotAbsolute),
            Some(&Skip::ProcPid { pid: 4242 }),
        ]
    );
    assert_eq!(v[9].status(), Status::Ok, "{:?}", v[9].problems());
    assert_eq!(v[5].status(), Status::Bad);
    assert!(matches!(v[5].problems()[0].kind, ProblemKind::Open(_)));
    assert_eq!(
        v[3].skip().unwrap().to_string(),
        "unlinked at dump time: CRIU recreates it from ghost-file-1f.img"
    );
    assert_eq!(
        v[4].skip().unwrap().to_string(),
        "unlinked at dump time: CRIU reopens it through the link remap /tmp/link_remap.1 (file id 6)"
    );
}

#[test]
fn check_files_reads_legacy_reg_files_img() {
    let dir = scratch("ckpt-legacy");
    let ckpt_dir = dir.join("ckpt");
    fs::create_dir_all(&ckpt_dir).unwrap();
    let file = dir.join("data");
    write(&file, b"0123456789");
    let c = dumped(&file);
    let name = file.as_os_str().as_encoded_bytes();
    write_files_img(&ckpt_dir, vec![reg_entry(1, name, 0, &c)]);
    // Id 1 is in files.img already: its legacy twin (with a wrong size) is not looked at.
    let wrong = RegFileCookie {
        size: Some(3),
        ..c.clone()
    };
    write_image(
        &ckpt_dir.join("reg-files.img"),
        Kind::RegFiles,
        &[reg_entry(1, name, 0, &wrong), reg_entry(2, name, 0, &wrong)],
    );
    let ckpt = Checkpoint::open(&ckpt_dir).unwrap();
    let v = check_files(&ckpt, Path::new("/"), &CheckOptions::default()).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(
        (v[0].id, v[0].image, v[0].status()),
        (1, "files.img", Status::Ok)
    );
    assert_eq!(
        (v[1].id, v[1].image, v[1].status()),
        (2, "reg-files.img", Status::Bad)
    );
    assert_eq!(
        v[1].problems()[0].to_string(),
        format!("File {} has bad size 10 (expect 3)", file.display())
    );
}

/// `--root`: names resolve inside the root as after `chroot`, absolute symlinks and `..`
/// included, and messages name the path under the root.
#[test]
fn check_files_resolves_names_inside_the_root() {
    let dir = scratch("ckpt-root");
    let ckpt_dir = dir.join("ckpt");
    let root = dir.join("rootfs");
    fs::create_dir_all(&ckpt_dir).unwrap();
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    let inside = root.join("usr/lib/libx.so");
    write(&inside, b"the container's file");
    let c = dumped(&inside);
    // An absolute symlink in the rootfs, as in many images (`/lib -> /usr/lib`): it must lead to
    // the rootfs' /usr/lib, not the host's.
    std::os::unix::fs::symlink("/usr/lib", root.join("lib")).unwrap();
    // `..` at the root stays at the root: /../x is the rootfs' /x, not the file next to rootfs.
    write(&root.join("x"), b"the container's file");
    write(&dir.join("x"), b"a file outside the root, of another size");
    write_files_img(
        &ckpt_dir,
        vec![
            reg_entry(1, b"/usr/lib/libx.so", 0, &c),
            reg_entry(2, b"/lib/libx.so", 0, &c),
            reg_entry(3, b"/../x", 0, &c),
            reg_entry(4, b"/usr/lib/missing.so", 0, &c),
        ],
    );
    let ckpt = Checkpoint::open(&ckpt_dir).unwrap();
    let v = check_files(&ckpt, &root, &CheckOptions::default()).unwrap();
    for (i, want) in [Status::Ok, Status::Ok, Status::Ok, Status::Bad]
        .into_iter()
        .enumerate()
    {
        assert_eq!(v[i].status(), want, "{}: {:?}", v[i].id, v[i].problems());
    }
    assert_eq!(
        v[1].checked_path(),
        Some(root.join("lib/libx.so").as_path())
    );
    let missing = root.join("usr/lib/missing.so");
    assert!(
        v[3].problems()[0].to_string().starts_with(&format!(
            "Can't open file {} on restore:",
            missing.display()
        )),
        "{}",
        v[3].problems()[0]
    );
    // A size mismatch inside the root names the path under the root.
    fs::OpenOptions::new()
        .append(true)
        .open(&inside)
        .unwrap()
        .write_all(b"!")
        .unwrap();
    let v = check_files(&ckpt, &root, &CheckOptions::default()).unwrap();
    assert_eq!(
        v[1].problems()[0].to_string(),
        format!(
            "File {} has bad size 21 (expect 20)",
            root.join("lib/libx.so").display()
        )
    );
    // A root that does not exist is an error, not a verdict per file.
    assert!(check_files(&ckpt, &dir.join("nowhere"), &CheckOptions::default()).is_err());
}
