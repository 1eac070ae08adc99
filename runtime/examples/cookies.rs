//! Computes the two cookies CRIU can validate a file with at restore: the ELF build-id, found
//! by CRIU's own rules, and a CRC32C checksum of the content.
//!
//! ```text
//! cargo run -p criu-image --features cookie --example cookies -- /usr/bin/sleep /etc/hostname
//! /usr/bin/sleep build-id 7e0ff4a4a4a6bc2ee3f5a3ff6a0d64dbab6f5d5e crc32c 5c1a6e37 (read 641 of 1048576 bytes for the build-id)
//! /etc/hostname build-id none (not an ELF file) crc32c 2a0c3a47
//! ```
//!
//! CRIU stores the build-id in `files.img` (`reg_file_entry.build_id`, as 32-bit words) for
//! every ELF file a dumped process has open or mapped, and refuses to restore when the file found
//! at restore has another one. CRIU's rules are not the ELF conventions: only the first MiB
//! counts, and the first note of type 3 wins whatever its name. The scan reads only the bytes it
//! needs with positioned reads.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use criu_image::cookie::CookieError;
use criu_image::cookie::build_id;
use criu_image::cookie::checksum::{self, ChecksumMode};

fn main() -> ExitCode {
    // Every error's message is complete (file, entry, byte offset, field; what the system said):
    // print it with `{}` and stop.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cookies: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> criu_image::Result<()> {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: cookies FILE...");
        std::process::exit(2);
    }
    for path in paths {
        let file = File::open(&path).map_err(|source| CookieError::Open {
            path: path.clone(),
            source,
        })?;
        let scan = build_id::scan_file(&file)?;
        let id = match &scan.outcome {
            Ok(id) => id.to_string(),
            // Not an error: CRIU then validates the file by its size only.
            Err(why) => format!("none ({why})"),
        };
        // The whole file; `ChecksumMode::FirstBytes(n)` and `EveryNthPage(n)` cover parts of it.
        let crc = checksum::checksum_file(&file, ChecksumMode::WholeFile)?;
        println!(
            "{} build-id {id} crc32c {crc:08x} (read {} of {} bytes for the build-id)",
            path.display(),
            scan.bytes_read,
            scan.window
        );
    }
    Ok(())
}
