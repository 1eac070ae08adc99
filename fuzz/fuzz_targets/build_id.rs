//! ELF build-id as CRIU computes it: any bytes must give a build-id or a typed "none"; the
//! positioned-read search over a file (what `crit check --files` runs) must agree with the
//! in-memory one on the same bytes; and the u32-word form CRIU stores must convert back.
#![no_main]

use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;

use criu_image::cookie::build_id;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static FILE: std::fs::File = {
        // SAFETY: memfd_create with a valid NUL-terminated name; the descriptor is owned here.
        let fd = unsafe { libc::memfd_create(c"fuzz-elf".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create failed");
        // SAFETY: fd is a fresh descriptor nobody else owns.
        unsafe { std::fs::File::from_raw_fd(fd) }
    };
}

fuzz_target!(|data: &[u8]| {
    let in_memory = build_id::build_id_from_bytes(data);
    if let Ok(id) = &in_memory {
        let back = build_id::from_words(&id.to_words(), id.as_bytes().len());
        assert_eq!(back.as_deref(), Some(id.as_bytes()), "build-id words do not convert back");
    }
    // The same bytes as a file: one anonymous memfd (nothing touches the disk), rewritten per run.
    let scan = FILE.with(|file| {
        file.set_len(0).unwrap();
        file.write_all_at(data, 0).unwrap();
        build_id::scan_file(file).expect("reading a memfd cannot fail")
    });
    assert_eq!(scan.outcome, in_memory, "the file and in-memory searches disagree");
    // The word conversions on their own, with a length that may not fit.
    let words = build_id::to_words(data);
    if let Some(&n) = data.first() {
        let _ = build_id::from_words(&words, n as usize);
    }
});
