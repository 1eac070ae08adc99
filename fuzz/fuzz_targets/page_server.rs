//! The page server's protocol parsing: any byte stream, read as what a client sends, must end
//! the session with a summary or an error, never a panic, and never leave a `.partial` file or
//! an image of a session that did not end with the close handshake. The first byte picks a
//! buffer size and whether the server has a previous dump to compare with (and to accept
//! `PE_PARENT` runs against).
#![no_main]

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use criu_image::page_server::wire::{HEADER_LEN, Header, Request};
use criu_image::page_server::{Error, ServerOptions, Violation, serve};
use criu_image::procmem::image::PagemapWriter;
use criu_image::procmem::layout::{PE_PRESENT, Run};
use libfuzzer_sys::fuzz_target;

/// The client's bytes in, the server's answers discarded.
struct Stream<'a>(&'a [u8]);

impl Read for Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Stream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A scratch directory with `out/` and a previous dump `prev/` for pid 1: 0x10000 × 4 pages.
fn dirs() -> &'static (PathBuf, PathBuf) {
    static D: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    D.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("fuzz-page-server-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (out, prev) = (base.join("out"), base.join("prev"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&prev).unwrap();
        let mut w = PagemapWriter::create(prev.join("pagemap-1.img"), 1).unwrap();
        w.write(Run { vaddr: 0x10000, nr_pages: 4, flags: PE_PRESENT }).unwrap();
        w.finish().unwrap();
        std::fs::write(prev.join("pages-1.img"), vec![0u8; 4 * 4096]).unwrap();
        (out, prev)
    })
}

fuzz_target!(|data: &[u8]| {
    // Every header on its own.
    for h in data.chunks_exact(HEADER_LEN) {
        let mut b = [0u8; HEADER_LEN];
        b.copy_from_slice(h);
        if let Ok(r) = Request::decode(&Header::decode(&b)) {
            assert_eq!(Request::decode(&r.encode()), Ok(r));
        }
    }
    let Some((&mode, stream)) = data.split_first() else { return };
    let (out, prev) = dirs();
    for e in std::fs::read_dir(out).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n != "parent") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let opts = ServerOptions {
        dir: out.clone(),
        prev: (mode & 1 == 1).then(|| prev.clone()),
        buffer_size: 4096 << (mode >> 1 & 3),
        ..ServerOptions::default()
    };
    if opts.prev.is_none() {
        let _ = std::fs::remove_file(out.join("parent"));
    }
    let r = serve(Stream(stream), "fuzz", &opts);
    let names: Vec<String> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
    match r {
        // Bytes after the close handshake: the images were complete and acknowledged.
        Err(Error::Protocol { what: Violation::TrailingData, .. }) | Ok(_) => {}
        Err(_) => assert!(names.iter().all(|n| n == "parent"), "a failed session left {names:?}"),
    }
});
