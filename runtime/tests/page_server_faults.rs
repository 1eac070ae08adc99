//! Our page server against clients that misbehave, over real loopback sockets: garbage, sizes
//! that lie, runs out of order, parent pages it has no parent for, a disconnect mid-stream. Each
//! is an error naming the request and byte offset, and leaves no image behind (the bytes are
//! assembled by hand, commented, as CRIU's `struct page_server_iov` lays them out). And a
//! well-behaved hand-made session, with and without `--prev`, for what is written.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criu_image::page_server::wire::{Header, ImageId, Pages, Request};
use criu_image::page_server::{Error, Server, ServerOptions, SessionSummary, Violation};
use criu_image::procmem::image::{PagemapWriter, pages_path};
use criu_image::procmem::layout::{PE_LAZY, PE_PARENT, PE_PRESENT, Run};

/// A pagemap image read back through the crate's one pagemap index.
fn read_index(path: &std::path::Path) -> Result<criu_image::model::PageIndex, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    criu_image::model::PageIndex::from_bytes(&path.display().to_string(), &bytes).map_err(|e| e.to_string())
}


const PAGE: usize = 4096;

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-server-faults").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts our server on `dir`, runs `client` against it, returns the server's result.
fn session(dir: &Path, prev: Option<&str>, buffer: usize, client: impl FnOnce(&mut TcpStream)) -> Result<SessionSummary, Error> {
    let opts = ServerOptions { dir: dir.to_path_buf(), prev: prev.map(PathBuf::from), buffer_size: buffer, ..ServerOptions::default() };
    let server = Server::bind("127.0.0.1:0", opts).unwrap();
    let addr = server.local_addr().unwrap();
    let h = std::thread::spawn(move || server.serve_one());
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    client(&mut c);
    drop(c);
    h.join().unwrap()
}

fn send(c: &mut TcpStream, r: Request) {
    // A client that is cut off may find the socket already reset: the server's verdict is what
    // the tests look at.
    let _ = c.write_all(&r.encode().encode());
}

fn open(c: &mut TcpStream, pid: u64) -> u8 {
    send(c, Request::Open { image: ImageId::Task(pid), answer: true });
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    b[0]
}

fn add(c: &mut TcpStream, pid: u64, vaddr: u64, nr_pages: u64, flags: u32) {
    send(c, Request::Add(Pages { image: ImageId::Task(pid), vaddr, nr_pages, flags }));
}

fn page(b: u8) -> Vec<u8> {
    vec![b; PAGE]
}

fn close(c: &mut TcpStream) -> i32 {
    send(c, Request::Close { force: false });
    let mut b = [0u8; 4];
    c.read_exact(&mut b).unwrap();
    i32::from_le_bytes(b)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    v.sort();
    v
}

fn protocol(e: &Error) -> (u64, u64, &Violation) {
    match e {
        Error::Protocol { request, offset, what, .. } => (*request, *offset, what),
        other => panic!("not a protocol error: {other:?}"),
    }
}

#[test]
fn garbage_is_a_protocol_error_and_leaves_nothing() {
    let d = scratch("garbage");
    let e = session(&d, None, 1 << 20, |c| {
        // cmd 0x47455420 ("GET "), the start of an HTTP request.
        let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n.....");
    })
    .unwrap_err();
    let (req, off, what) = protocol(&e);
    assert_eq!((req, off), (0, 0));
    assert!(matches!(what, Violation::Header(_)), "{what:?}");
    assert!(e.to_string().contains("request 0 at byte 0") && e.to_string().contains("cmd"), "{e}");
    assert!(names(&d).is_empty(), "{:?}", names(&d));
}

#[test]
fn a_run_that_lies_about_its_size_leaves_nothing() {
    let d = scratch("lie");
    let e = session(&d, None, 1 << 20, |c| {
        assert_eq!(open(c, 42), 0);
        add(c, 42, 0x10000, 1, PE_PRESENT);
        let _ = c.write_all(&page(1));
        // Announces 10 pages, sends 2, hangs up.
        add(c, 42, 0x20000, 10, PE_PRESENT);
        let _ = c.write_all(&page(2));
        let _ = c.write_all(&page(3));
    })
    .unwrap_err();
    assert!(matches!(e, Error::Closed { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("10 pages of pid 42 at 0x20000") && msg.contains("8192 of 40960 bytes"), "{msg}");
    assert!(names(&d).is_empty(), "{:?}", names(&d));
}

#[test]
fn a_huge_claim_allocates_nothing_and_leaves_nothing() {
    let d = scratch("huge");
    // 2^40 pages (4 PiB) is a valid run on the wire; the server streams it through its 64 KiB
    // buffer and notices the disconnect after one page.
    let e = session(&d, None, 64 << 10, |c| {
        open(c, 1);
        add(c, 1, 0x1000, 1 << 40, PE_PRESENT);
        let _ = c.write_all(&page(9));
    })
    .unwrap_err();
    assert!(e.to_string().contains("4096 of 4503599627370496 bytes"), "{e}");
    assert!(names(&d).is_empty());
    // And one that does not fit in the address space is refused before any data is read.
    let e = session(&d, None, 64 << 10, |c| {
        open(c, 1);
        add(c, 1, 0x1000, u64::MAX / 4096, PE_PRESENT);
    })
    .unwrap_err();
    assert!(e.to_string().contains("past the end of the address space"), "{e}");
    assert!(names(&d).is_empty());
}

#[test]
fn disconnect_before_the_close_handshake_leaves_nothing() {
    let d = scratch("no-close");
    let e = session(&d, None, 1 << 20, |c| {
        open(c, 5);
        add(c, 5, 0x10000, 2, PE_PRESENT);
        let _ = c.write_all(&[page(1), page(2)].concat());
    })
    .unwrap_err();
    assert!(e.is_disconnect() && e.to_string().contains("no PS_IOV_CLOSE"), "{e}");
    assert!(names(&d).is_empty(), "{:?}", names(&d));
}

#[test]
fn order_opening_and_parent_rules() {
    let d = scratch("rules");
    type Client = Box<dyn FnOnce(&mut TcpStream) + Send>;
    let cases: Vec<(&str, Client, &str)> = vec![
        ("before open", Box::new(|c| add(c, 1, 0x1000, 1, PE_PRESENT)), "without PS_IOV_OPEN2"),
        (
            "out of order",
            Box::new(|c| {
                open(c, 1);
                add(c, 1, 0x10000, 1, PE_LAZY);
                add(c, 1, 0x8000, 1, PE_LAZY);
            }),
            "starts below the end of the previous run (0x11000)",
        ),
        (
            "parent without prev",
            Box::new(|c| {
                open(c, 1);
                add(c, 1, 0x10000, 3, PE_PARENT);
            }),
            "3 PE_PARENT pages at 0x10000",
        ),
        (
            "opened twice",
            Box::new(|c| {
                open(c, 1);
                open(c, 2);
                send(c, Request::Open { image: ImageId::Task(1), answer: true });
            }),
            "pid 1 opened twice",
        ),
        ("lazy get", Box::new(|c| send(c, Request::Get { image: ImageId::Task(1), vaddr: 0, nr_pages: 1 })), "PS_IOV_GET"),
        (
            "unknown flags",
            Box::new(|c| {
                open(c, 1);
                // cmd = flags 0x10 << 16 | PS_IOV_ADD_F: a flag CRIU does not have.
                let h = Header { cmd: 0x10 << 16 | 6, nr_pages: 1, vaddr: 0x1000, dst_id: 1 << 8 | 1 };
                let _ = c.write_all(&h.encode());
            }),
            "flags 0x10",
        ),
    ];
    for (name, client, want) in cases {
        let e = session(&d, None, 1 << 20, client).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert!(names(&d).is_empty(), "{name}: {:?}", names(&d));
    }
}

/// A good session: the images are CRIU's layout, one entry per run, and only appear at the
/// close handshake.
#[test]
fn a_complete_session_writes_criu_images() {
    let d = scratch("complete");
    let dir = d.clone();
    let s = session(&d, None, 2 * PAGE, move |c| {
        send(c, Request::Parent { image: ImageId::Task(7) });
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(i32::from_le_bytes(b), 0, "no --prev, no parent");
        assert_eq!(open(c, 7), 0);
        add(c, 7, 0x400000, 3, PE_PRESENT);
        c.write_all(&[page(1), page(2), page(3)].concat()).unwrap();
        add(c, 7, 0x500000, 2, PE_PRESENT | PE_LAZY);
        c.write_all(&[page(4), page(5)].concat()).unwrap();
        add(c, 7, 0x600000, 8, PE_LAZY);
        // Not yet in place.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!dir.join("pagemap-7.img").exists());
        assert_eq!(close(c), 0);
        assert!(dir.join("pagemap-7.img").exists(), "in place before the status is sent");
    })
    .unwrap();
    assert_eq!(s.images.len(), 1);
    let img = &s.images[0];
    assert_eq!((img.pages_id, img.entries, img.pages_received, img.pages_written), (0x10001, 3, 5, 5));
    let pm = read_index(&d.join("pagemap-7.img")).unwrap();
    let runs: Vec<(u64, u64, u32)> = pm.entries().iter().map(|r| (r.start, r.nr_pages, r.flags)).collect();
    assert_eq!(runs, vec![(0x400000, 3, PE_PRESENT), (0x500000, 2, PE_PRESENT | PE_LAZY), (0x600000, 8, PE_LAZY)]);
    let pages = std::fs::read(pages_path(&d, 0x10001)).unwrap();
    assert!(pages == [page(1), page(2), page(3), page(4), page(5)].concat());
    assert_eq!(names(&d), vec!["pagemap-7.img", "pages-65537.img"]);
}

/// With `--prev`: pages equal to the previous dump's become `PE_PARENT`, the rest is written;
/// `PE_PARENT` runs the previous dump covers are accepted; the OPEN2 answer says "parent" only
/// to a client that asked PS_IOV_PARENT.
#[test]
fn prev_makes_equal_pages_parent_runs() {
    let base = scratch("prev");
    let a = base.join("a");
    std::fs::create_dir(&a).unwrap();
    // The previous dump: 0x10000 × 4 pages of 1, 2, 3, 4; 0x20000 × 2 pages of 9.
    let mut w = PagemapWriter::create(a.join("pagemap-3.img"), 1).unwrap();
    w.write(Run { vaddr: 0x10000, nr_pages: 4, flags: PE_PRESENT }).unwrap();
    w.write(Run { vaddr: 0x20000, nr_pages: 2, flags: PE_PRESENT }).unwrap();
    w.finish().unwrap();
    std::fs::write(a.join("pages-1.img"), [page(1), page(2), page(3), page(4), page(9), page(9)].concat()).unwrap();

    let b = base.join("b");
    std::fs::create_dir(&b).unwrap();
    let s = session(&b, Some("../a"), 2 * PAGE, |c| {
        assert_eq!(open(c, 3), 0, "not asked about the parent: CRIU's dump must not be told");
        add(c, 3, 0x10000, 5, PE_PRESENT);
        c.write_all(&[page(1), page(2), page(0xee), page(4), page(5)].concat()).unwrap();
        add(c, 3, 0x20000, 2, PE_PARENT);
        assert_eq!(close(c), 0);
    })
    .unwrap();
    let img = &s.images[0];
    assert_eq!((img.pages_received, img.pages_written, img.pages_deduplicated, img.pages_parent_sent), (5, 2, 3, 2));
    let pm = read_index(&b.join("pagemap-3.img")).unwrap();
    let runs: Vec<(u64, u64, u32)> = pm.entries().iter().map(|r| (r.start, r.nr_pages, r.flags)).collect();
    assert_eq!(
        runs,
        vec![(0x10000, 2, PE_PARENT), (0x12000, 1, PE_PRESENT), (0x13000, 1, PE_PARENT), (0x14000, 1, PE_PRESENT), (0x20000, 2, PE_PARENT)]
    );
    assert!(std::fs::read(pages_path(&b, 0x10001)).unwrap() == [page(0xee), page(5)].concat());
    assert_eq!(std::fs::read_link(b.join("parent")).unwrap(), Path::new("../a"));

    // Asked first, the answer is "parent"; holes the parent lacks are refused.
    let c2 = base.join("c");
    std::fs::create_dir(&c2).unwrap();
    let e = session(&c2, Some("../a"), 2 * PAGE, |c| {
        send(c, Request::Parent { image: ImageId::Task(3) });
        let mut r = [0u8; 4];
        c.read_exact(&mut r).unwrap();
        assert_eq!(i32::from_le_bytes(r), 1);
        assert_eq!(open(c, 3), 1);
        add(c, 3, 0x13000, 3, PE_PARENT);
    })
    .unwrap_err();
    assert!(e.to_string().contains("3 PE_PARENT pages at 0x13000"), "{e}");
    assert_eq!(names(&c2), vec!["parent"]);
}
