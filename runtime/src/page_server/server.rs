//! The receiving side: a page server that `criu dump --page-server` (or our client) sends to.
//!
//! What it writes is what `criu page-server` writes: per opened image a `pagemap-<id>.img` whose
//! entries are the `ADD_F` runs as they came, and a `pages-<n>.img` with the present pages, the
//! ids counted from `0x10001` as CRIU's page server counts them (so that a `criu dump` writing its
//! other images into the same directory cannot collide). Two differences, both deliberate:
//!
//! * **Nothing looks complete before the close handshake.** Images are written under
//!   `<name>.partial` and renamed when `PS_IOV_CLOSE` arrives (pages files first, then the
//!   pagemaps), and only then is the status sent; a session that ends any other way (garbage,
//!   sizes that lie, a disconnect, an I/O error) removes what it wrote. CRIU's server keeps
//!   whatever it received.
//! * **Incremental by content** ([`ServerOptions::prev`]): a present page whose bytes equal the
//!   previous dump's page at the same address is written as a `PE_PARENT` run instead of into
//!   the pages file, so every dump sent here is incremental even where the kernel has no
//!   soft-dirty tracking. The directory gets the `parent` link restore follows. The `OPEN2`
//!   answer says "parent" only to a client that asked `PS_IOV_PARENT` first (our client, CRIU's
//!   pre-dump): CRIU's regular dump, told so, insists on a pre-dump inventory on its own side.
//!
//! Memory held is one buffer ([`ServerOptions::buffer_size`]) plus a comparison scratch and the
//! previous dump's pagemap runs, whatever the client claims: sizes from the wire are checked and
//! data is streamed through the buffer, never allocated by a length the client sent.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{Error, Violation};
use super::wire::{HEADER_LEN, Header, ImageId, Pages, Request};
use crate::pagemap::{PAGE_SIZE, PE_PARENT, PE_PRESENT};
use crate::procmem::image::{Located, PARENT_LINK, PageChain, PagemapWriter, ReadError, pages_path};
use crate::procmem::layout::Run;

/// The first pages id a page server gives out (CRIU's `up_page_ids_base`).
pub const FIRST_PAGES_ID: u32 = 0x10001;

/// Most images one session may open (each is two files).
const MAX_IMAGES: usize = 1 << 16;

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Where the images go (must exist).
    pub dir: PathBuf,
    /// The previous dump, as CRIU's `--prev-images-dir`: relative to `dir`, or absolute. Its
    /// text becomes the `parent` link.
    pub prev: Option<PathBuf>,
    /// Compare present pages with the previous dump's and write equal ones as `PE_PARENT`.
    pub compare_with_prev: bool,
    /// Bytes of page data held at a time (rounded down to pages, at least one page).
    pub buffer_size: usize,
    /// Give up when the client sends nothing for this long (`None`: wait for ever, as CRIU).
    pub idle_timeout: Option<Duration>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { dir: PathBuf::from("."), prev: None, compare_with_prev: true, buffer_size: 1 << 20, idle_timeout: None }
    }
}

/// What one image of the session received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// The pagemap: a task's or a shared-memory object's.
    pub image: ImageId,
    /// The `pagemap-*.img` written, in the output directory.
    pub pagemap_path: PathBuf,
    /// The `pages-<pages_id>.img` written beside it.
    pub pages_path: PathBuf,
    /// `pagemap_head.pages_id`: the number in the pages file's name.
    pub pages_id: u32,
    /// Pagemap entries written (after the head).
    pub entries: u64,
    /// Present pages the client sent.
    pub pages_received: u64,
    /// Pages written to the pages file.
    pub pages_written: u64,
    /// Pages the client sent as `PE_PARENT`.
    pub pages_parent_sent: u64,
    /// Present pages found equal to the previous dump's, written as `PE_PARENT`.
    pub pages_deduplicated: u64,
}

/// What a session did.
#[derive(Clone, Debug)]
pub struct SessionSummary {
    /// The client's address (`host:port`).
    pub peer: String,
    /// Each pagemap received, in the order the client opened them.
    pub images: Vec<ImageSummary>,
    /// Bytes read from the client.
    pub bytes_received: u64,
    /// Request headers received, the close handshake included.
    pub requests: u64,
    /// The whole session, from the connection on (CRIU's dump connects before it freezes and
    /// collects the tasks).
    pub elapsed: Duration,
    /// From the first `OPEN` to the close handshake: the time spent receiving images.
    pub transfer: Duration,
    /// Peak bytes held: buffer, scratch, the previous dump's pagemap runs, writer buffers.
    pub memory_held: usize,
}

impl SessionSummary {
    /// Page bytes received per second, GB/s (10⁹).
    pub fn gb_per_s(&self) -> f64 {
        let pages: u64 = self.images.iter().map(|i| i.pages_received).sum();
        let s = self.transfer.as_secs_f64();
        if s == 0.0 { 0.0 } else { (pages * PAGE_SIZE) as f64 / s / 1e9 }
    }

    /// One JSON object, keys in a fixed order.
    pub fn to_json(&self) -> String {
        let mut w = criu_image_proto::support::json::JsonWriter::new(false);
        let path = |w: &mut criu_image_proto::support::json::JsonWriter, k: &str, p: &Path| {
            w.key(k);
            w.str_bytes(p.as_os_str().as_encoded_bytes());
        };
        w.begin_object();
        w.key("peer");
        w.str(&self.peer);
        w.key("images");
        w.begin_array();
        for i in &self.images {
            let (kind, id) = match i.image {
                ImageId::Task(p) => ("task", p),
                ImageId::Shmem(s) => ("shmem", s),
            };
            w.begin_object();
            w.key("kind");
            w.str(kind);
            w.key("id");
            w.u64(id);
            path(&mut w, "pagemap", &i.pagemap_path);
            path(&mut w, "pages", &i.pages_path);
            for (k, v) in [
                ("pages_id", u64::from(i.pages_id)),
                ("entries", i.entries),
                ("pages_received", i.pages_received),
                ("pages_written", i.pages_written),
                ("pages_parent_sent", i.pages_parent_sent),
                ("pages_deduplicated", i.pages_deduplicated),
            ] {
                w.key(k);
                w.u64(v);
            }
            w.end_object();
        }
        w.end_array();
        w.key("bytes_received");
        w.u64(self.bytes_received);
        w.key("requests");
        w.u64(self.requests);
        w.key("elapsed_s");
        w.raw_value(&format!("{:.6}", self.elapsed.as_secs_f64()));
        w.key("transfer_s");
        w.raw_value(&format!("{:.6}", self.transfer.as_secs_f64()));
        w.key("gb_per_s");
        w.raw_value(&format!("{:.3}", self.gb_per_s()));
        w.key("memory_held");
        w.u64(self.memory_held as u64);
        w.end_object();
        String::from_utf8_lossy(&w.take()).into_owned()
    }
}

impl std::fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sum = |g: fn(&ImageSummary) -> u64| self.images.iter().map(g).sum::<u64>();
        write!(
            f,
            "{}: {} images, {} pages received, {} written, {} parent (sent), {} parent (equal content); {:.3} s, {:.2} GB/s; held {:.1} MiB",
            self.peer,
            self.images.len(),
            sum(|i| i.pages_received),
            sum(|i| i.pages_written),
            sum(|i| i.pages_parent_sent),
            sum(|i| i.pages_deduplicated),
            self.elapsed.as_secs_f64(),
            self.gb_per_s(),
            self.memory_held as f64 / (1 << 20) as f64
        )
    }
}

/// A listening page server; [`serve_one`](Self::serve_one) takes one session, as
/// `criu page-server` without `--daemon` does.
pub struct Server {
    listener: TcpListener,
    opts: ServerOptions,
}

impl Server {
    /// Listens on `addr` (`HOST:PORT`; port 0 picks a free one, see [`local_addr`](Self::local_addr)).
    pub fn bind(addr: &str, opts: ServerOptions) -> Result<Server, Error> {
        let listener = TcpListener::bind(addr).map_err(|e| Error::Bind { addr: addr.into(), source: e })?;
        prepare_dir(&opts)?;
        Ok(Server { listener, opts })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts one connection and serves it to the end.
    pub fn serve_one(self) -> Result<SessionSummary, Error> {
        let addr = self.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let (sock, peer) = self.listener.accept().map_err(|e| Error::Bind { addr, source: e })?;
        drop(self.listener);
        let peer = peer.to_string();
        let io = |e| Error::Io { peer: peer.clone(), during: "setting socket options".into(), source: e };
        sock.set_nodelay(true).map_err(io)?;
        sock.set_read_timeout(self.opts.idle_timeout).map_err(io)?;
        serve(sock, &peer, &self.opts)
    }
}

/// Creates the `parent` link (as CRIU does when it opens the images directory), or checks that
/// an existing one says the same.
fn prepare_dir(opts: &ServerOptions) -> Result<(), Error> {
    let Some(prev) = &opts.prev else { return Ok(()) };
    let link = opts.dir.join(PARENT_LINK);
    let target = opts.dir.join(prev);
    if !target.is_dir() {
        let e = io::Error::new(io::ErrorKind::NotFound, "not a directory");
        return Err(Error::Parent { path: target.clone(), source: ReadError::Io(target, e) });
    }
    match std::fs::read_link(&link) {
        Ok(t) if t == *prev => Ok(()),
        Ok(t) => Err(Error::Output {
            path: link,
            source: io::Error::new(io::ErrorKind::AlreadyExists, format!("already links to {}, not {}", t.display(), prev.display())),
        }),
        Err(_) => std::os::unix::fs::symlink(prev, &link).map_err(|e| Error::Output { path: link, source: e }),
    }
}

/// Serves one session read from `stream` (anything that reads and writes: a socket, or a test's
/// in-memory pipe), writing into `opts.dir`. Creates `opts.dir`'s `parent` link if needed.
pub fn serve<S: Read + Write>(stream: S, peer: &str, opts: &ServerOptions) -> Result<SessionSummary, Error> {
    prepare_dir(opts)?;
    let chunk = (opts.buffer_size / PAGE_SIZE as usize).max(1) * PAGE_SIZE as usize;
    let mut s = Session {
        stream,
        peer: peer.to_string(),
        opts,
        buf: vec![0u8; chunk],
        scratch: Vec::new(),
        offset: 0,
        requests: 0,
        seen: BTreeSet::new(),
        asked_parent: BTreeSet::new(),
        cur: None,
        done: Vec::new(),
        next_pages_id: FIRST_PAGES_ID,
        chain_held: 0,
        start: Instant::now(),
        first_open: None,
    };
    let r = s.run();
    if r.is_err() {
        s.discard();
    }
    r
}

/// One image being received.
struct Open {
    image: ImageId,
    pagemap: PagemapWriter,
    pagemap_path: PathBuf,
    pages: File,
    pages_path: PathBuf,
    last_end: u64,
    prev: Option<PageChain>,
    /// The entry being built from the pieces of one `ADD_F` (with `prev`, a run splits into
    /// present and parent pieces).
    pending: Option<Run>,
    summary: ImageSummary,
}

/// An image received in full, still under its temporary names.
struct Done {
    pagemap_path: PathBuf,
    pages_path: PathBuf,
}

struct Session<'o, S> {
    stream: S,
    peer: String,
    opts: &'o ServerOptions,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    offset: u64,
    requests: u64,
    seen: BTreeSet<ImageId>,
    /// Images the client asked `PS_IOV_PARENT` about. Only those get "has parent" in the
    /// `OPEN2` answer: CRIU's regular dump never asks, and when told there is a parent it runs
    /// its pid-reuse check against a parent inventory on its own side, which fails unless its
    /// images directory has a pre-dump as parent. Content comparison does not need the client
    /// to know, so such a dump is told "no parent", sends every page, and still becomes
    /// incremental here.
    asked_parent: BTreeSet<ImageId>,
    cur: Option<Open>,
    done: Vec<(Done, ImageSummary)>,
    next_pages_id: u32,
    chain_held: usize,
    start: Instant,
    first_open: Option<Instant>,
}

fn partial(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// What the client's next bytes are, for error messages.
fn during_data(p: &Pages) -> String {
    format!("receiving {} pages of {} at {:#x}", p.nr_pages, p.image, p.vaddr)
}

impl<S: Read + Write> Session<'_, S> {
    fn run(&mut self) -> Result<SessionSummary, Error> {
        loop {
            let mut hb = [0u8; HEADER_LEN];
            let at = self.offset;
            match self.read_full(&mut hb)? {
                0 => return Err(Error::Closed { peer: self.peer.clone(), during: "the session (no PS_IOV_CLOSE was sent)".into() }),
                n if n < HEADER_LEN => {
                    return Err(Error::Closed { peer: self.peer.clone(), during: format!("sending request {} (header cut at {n} bytes)", self.requests) });
                }
                _ => {}
            }
            let req = Request::decode(&Header::decode(&hb)).map_err(|e| self.violation_at(at, Violation::Header(e)))?;
            match req {
                Request::Open { image, answer } => {
                    self.open(image, at)?;
                    if answer {
                        // See `asked_parent`.
                        let has = self.asked_parent.contains(&image) && self.cur.as_ref().is_some_and(|c| c.prev.is_some());
                        self.send(&[u8::from(has)], "answering PS_IOV_OPEN2")?;
                    }
                }
                Request::Parent { image } => {
                    let has = self.parent_chain(image)?.is_some();
                    self.asked_parent.insert(image);
                    self.send(&i32::from(has).to_le_bytes(), "answering PS_IOV_PARENT")?;
                }
                Request::Add(p) => self.add(p, at)?,
                Request::Get { .. } => return Err(self.violation_at(at, Violation::LazyGet)),
                Request::Close { .. } => {
                    self.requests += 1;
                    return self.close();
                }
            }
            self.requests += 1;
        }
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut got = 0;
        while got < buf.len() {
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::Io { peer: self.peer.clone(), during: format!("reading request {}", self.requests), source: e });
                }
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    fn send(&mut self, b: &[u8], during: &str) -> Result<(), Error> {
        self.stream.write_all(b).and_then(|_| self.stream.flush()).map_err(|e| Error::Io {
            peer: self.peer.clone(),
            during: during.into(),
            source: e,
        })
    }

    fn violation_at(&self, offset: u64, what: Violation) -> Error {
        Error::Protocol { peer: self.peer.clone(), request: self.requests, offset, what }
    }

    /// The previous dump's chain for `image`, if there is one.
    fn parent_chain(&self, image: ImageId) -> Result<Option<PageChain>, Error> {
        let (Some(prev), ImageId::Task(pid)) = (&self.opts.prev, image) else { return Ok(None) };
        let Ok(pid) = u32::try_from(pid) else { return Ok(None) };
        let dir = self.opts.dir.join(prev);
        let pm = crate::procmem::image::pagemap_path(&dir, pid);
        if !pm.exists() {
            return Ok(None);
        }
        PageChain::open(&dir, pid).map(Some).map_err(|e| Error::Parent { path: dir, source: e })
    }

    fn open(&mut self, image: ImageId, at: u64) -> Result<(), Error> {
        self.first_open.get_or_insert_with(Instant::now);
        self.finish_cur()?;
        if !self.seen.insert(image) || self.seen.len() > MAX_IMAGES {
            return Err(self.violation_at(at, Violation::Reopened { image }));
        }
        let prev = self.parent_chain(image)?;
        if let Some(c) = &prev {
            let held = c.index().map_or(0, |i| i.held());
            self.chain_held = self.chain_held.max(held);
            if self.opts.compare_with_prev && self.scratch.is_empty() {
                self.scratch = vec![0u8; self.buf.len().min(256 << 10)];
            }
        }
        let pages_id = self.next_pages_id;
        self.next_pages_id = self.next_pages_id.wrapping_add(1);
        let pagemap_path = self.opts.dir.join(image.pagemap_name());
        let pages_path = pages_path(&self.opts.dir, pages_id);
        let pagemap = PagemapWriter::create(partial(&pagemap_path), pages_id)
            .map_err(|e| Error::Output { path: partial(&pagemap_path), source: e })?;
        // Registered at once, so that an error from here on removes it.
        let summary = ImageSummary {
            image,
            pagemap_path: pagemap_path.clone(),
            pages_path: pages_path.clone(),
            pages_id,
            entries: 0,
            pages_received: 0,
            pages_written: 0,
            pages_parent_sent: 0,
            pages_deduplicated: 0,
        };
        let pages = match File::create(partial(&pages_path)) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(partial(&pagemap_path));
                return Err(Error::Output { path: partial(&pages_path), source: e });
            }
        };
        self.cur = Some(Open { image, pagemap, pagemap_path, pages, pages_path, last_end: 0, prev, pending: None, summary });
        Ok(())
    }

    fn finish_cur(&mut self) -> Result<(), Error> {
        let Some(c) = self.cur.take() else { return Ok(()) };
        let Open { pagemap, pagemap_path, pages, pages_path, summary, .. } = c;
        let done = Done { pagemap_path, pages_path };
        let r = pagemap.finish().map_err(|e| Error::Output { path: partial(&done.pagemap_path), source: e });
        drop(pages);
        self.done.push((done, summary));
        r.map(|_| ())
    }

    fn add(&mut self, p: Pages, at: u64) -> Result<(), Error> {
        let Some(c) = self.cur.as_mut() else { return Err(self.violation_at(at, Violation::NotOpen { image: p.image })) };
        if c.image != p.image {
            return Err(self.violation_at(at, Violation::NotOpen { image: p.image }));
        }
        if p.vaddr < c.last_end {
            let previous_end = c.last_end;
            return Err(self.violation_at(at, Violation::OutOfOrder { image: p.image, vaddr: p.vaddr, previous_end }));
        }
        c.last_end = p.end();
        if p.flags == PE_PARENT {
            let covered = c.prev.as_ref().is_some_and(|chain| covers(chain, p.vaddr, p.end()));
            if !covered {
                return Err(self.violation_at(at, Violation::ParentMissing { image: p.image, vaddr: p.vaddr, nr_pages: p.nr_pages }));
            }
            c.summary.pages_parent_sent += p.nr_pages;
            self.entry(Run { vaddr: p.vaddr, nr_pages: p.nr_pages, flags: PE_PARENT })?;
            return self.flush_pending();
        }
        if p.flags & PE_PRESENT == 0 {
            // PE_LAZY alone: the pages stay with a lazy-pages server; an entry and no data.
            self.entry(Run { vaddr: p.vaddr, nr_pages: p.nr_pages, flags: p.flags })?;
            return self.flush_pending();
        }
        let mut left = p.nr_pages;
        let mut addr = p.vaddr;
        let per = (self.buf.len() / PAGE_SIZE as usize) as u64;
        while left > 0 {
            let n = left.min(per);
            let len = (n * PAGE_SIZE) as usize;
            let mut buf = std::mem::take(&mut self.buf);
            let got = self.read_full(&mut buf[..len]);
            let r = match got {
                Ok(g) if g == len => self.store(addr, n, p.flags, &buf[..len]),
                Ok(g) => Err(Error::Closed {
                    peer: self.peer.clone(),
                    during: format!("{} ({} of {} bytes announced had arrived)", during_data(&p), (p.nr_pages - left) * PAGE_SIZE + g as u64, p.data_len()),
                }),
                Err(e) => Err(e),
            };
            self.buf = buf;
            r?;
            left -= n;
            addr += n * PAGE_SIZE;
        }
        self.flush_pending()
    }

    /// Stores `n` received pages from `addr`: into the pages file, or as parent pages where
    /// they equal the previous dump's.
    fn store(&mut self, addr: u64, n: u64, flags: u32, data: &[u8]) -> Result<(), Error> {
        let compare = self.opts.compare_with_prev && self.cur.as_ref().is_some_and(|c| c.prev.is_some());
        if let Some(c) = self.cur.as_mut() {
            c.summary.pages_received += n;
        }
        if !compare {
            return self.present(addr, n, flags, data);
        }
        let mut p = 0u64;
        while p < n {
            let a = addr + p * PAGE_SIZE;
            let loc = match self.cur.as_ref().and_then(|c| c.prev.as_ref()) {
                Some(chain) => chain.locate(a, n - p),
                None => Located::Missing { pages: n - p },
            };
            match loc {
                Located::Missing { pages } => {
                    let s = (p * PAGE_SIZE) as usize;
                    self.present(a, pages, flags, &data[s..s + (pages * PAGE_SIZE) as usize])?;
                    p += pages;
                }
                Located::InFile { level, offset, pages } => {
                    let k = pages.min((self.scratch.len() as u64) / PAGE_SIZE).max(1);
                    let len = (k * PAGE_SIZE) as usize;
                    let mut scratch = std::mem::take(&mut self.scratch);
                    let r = match self.cur.as_ref().and_then(|c| c.prev.as_ref()) {
                        Some(chain) => chain.read_at(level, offset, &mut scratch[..len]).map_err(|e| {
                            let d = chain.dirs().nth(level).map(Path::to_path_buf).unwrap_or_default();
                            Error::Parent { path: d.clone(), source: ReadError::Io(d, e) }
                        }),
                        None => Ok(()),
                    };
                    if let Err(e) = r {
                        self.scratch = scratch;
                        return Err(e);
                    }
                    let mut i = 0u64;
                    let mut res = Ok(());
                    while i < k && res.is_ok() {
                        let page = |j: u64| {
                            let s = ((p + j) * PAGE_SIZE) as usize;
                            let t = (j * PAGE_SIZE) as usize;
                            data[s..s + PAGE_SIZE as usize] == scratch[t..t + PAGE_SIZE as usize]
                        };
                        let eq = page(i);
                        let mut e = i + 1;
                        while e < k && page(e) == eq {
                            e += 1;
                        }
                        let at = a + i * PAGE_SIZE;
                        res = if eq {
                            if let Some(c) = self.cur.as_mut() {
                                c.summary.pages_deduplicated += e - i;
                            }
                            self.entry(Run { vaddr: at, nr_pages: e - i, flags: PE_PARENT })
                        } else {
                            let s = ((p + i) * PAGE_SIZE) as usize;
                            self.present(at, e - i, flags, &data[s..s + ((e - i) * PAGE_SIZE) as usize])
                        };
                        i = e;
                    }
                    self.scratch = scratch;
                    res?;
                    p += k;
                }
            }
        }
        Ok(())
    }

    fn present(&mut self, addr: u64, n: u64, flags: u32, data: &[u8]) -> Result<(), Error> {
        let Some(c) = self.cur.as_mut() else { return Ok(()) };
        c.pages.write_all(data).map_err(|e| Error::Output { path: partial(&c.pages_path), source: e })?;
        c.summary.pages_written += n;
        self.entry(Run { vaddr: addr, nr_pages: n, flags })
    }

    /// Adds a piece to the pending entry, writing the previous one when it cannot grow.
    fn entry(&mut self, r: Run) -> Result<(), Error> {
        let Some(c) = self.cur.as_mut() else { return Ok(()) };
        match &mut c.pending {
            Some(p) if p.flags == r.flags && p.end() == r.vaddr => p.nr_pages += r.nr_pages,
            _ => {
                if let Some(p) = c.pending.replace(r) {
                    c.summary.entries += 1;
                    c.pagemap.write(p).map_err(|e| Error::Output { path: partial(&c.pagemap_path), source: e })?;
                }
            }
        }
        Ok(())
    }

    /// Ends the entry of the current `ADD_F`: one entry per request, as CRIU's server writes
    /// them (only pieces of one request, split by content, are merged).
    fn flush_pending(&mut self) -> Result<(), Error> {
        let Some(c) = self.cur.as_mut() else { return Ok(()) };
        if let Some(p) = c.pending.take() {
            c.summary.entries += 1;
            c.pagemap.write(p).map_err(|e| Error::Output { path: partial(&c.pagemap_path), source: e })?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<SessionSummary, Error> {
        self.flush_pending()?;
        self.finish_cur()?;
        // Pages files first: a pagemap in place always has its pages.
        for (d, _) in &self.done {
            rename(&d.pages_path)?;
        }
        for (d, _) in &self.done {
            rename(&d.pagemap_path)?;
        }
        let images: Vec<ImageSummary> = self.done.drain(..).map(|(_, s)| s).collect();
        let summary = SessionSummary {
            peer: self.peer.clone(),
            images,
            bytes_received: self.offset,
            requests: self.requests,
            elapsed: self.start.elapsed(),
            transfer: self.first_open.map_or(Duration::ZERO, |t| t.elapsed()),
            memory_held: self.buf.capacity() + self.scratch.capacity() + self.chain_held + (16 << 10),
        };
        self.send(&0i32.to_le_bytes(), "sending the close handshake's status")?;
        // The client closes next; anything else is a protocol error, but the images are
        // complete (the client was told so).
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(n) if n > 0 => Err(self.violation_at(self.offset, Violation::TrailingData)),
            _ => Ok(summary),
        }
    }

    /// Removes everything this session wrote.
    fn discard(&mut self) {
        let mut paths = Vec::new();
        if let Some(c) = self.cur.take() {
            paths.push(c.pagemap_path);
            paths.push(c.pages_path);
        }
        for (d, _) in self.done.drain(..) {
            paths.push(d.pagemap_path);
            paths.push(d.pages_path);
        }
        for p in paths {
            let _ = std::fs::remove_file(partial(&p));
        }
    }
}

fn rename(p: &Path) -> Result<(), Error> {
    std::fs::rename(partial(p), p).map_err(|e| Error::Output { path: p.to_path_buf(), source: e })
}

/// Whether the previous dump's own pagemap has entries covering `[start, end)` (any flags), as
/// CRIU's `check_pagehole_in_parent` requires of a hole.
fn covers(chain: &PageChain, start: u64, end: u64) -> bool {
    let Ok(pm) = chain.index() else { return false };
    let mut a = start;
    while a < end {
        match pm.run_at(a) {
            Some(r) => a = r.end,
            None => return false,
        }
    }
    true
}
