//! Rounds to a page server: the same reader and buffer as a local dump, with the kept pages
//! sent from the buffer to the socket instead of written to `pages-<id>.img`.
//!
//! A round is one session with one server, whose `-D` directory becomes that round's images:
//! `criu page-server -D round2 --prev-images-dir ../round1` (or `crit page-server -D round2
//! --prev ../round1`) gives it the `parent` link restore follows. The first round sends every
//! page; an incremental round ([`RoundOptions::incremental`]) sends the pages whose content
//! changed since the previous round and `PE_PARENT` runs for the rest. Which pages changed is
//! found by comparing digests with the record the previous round left in
//! [`RoundOptions::record_dir`] (`page_server::record`), or by soft-dirty bits where the kernel
//! tracks them and [`DumpOptions::track_mem`] was set on the previous round.
//!
//! Order of a round, and what each failure leaves:
//!
//! 1. `/proc/PID/smaps` is read: a gone target fails here, before the server is contacted;
//! 2. for an incremental round, `PS_IOV_PARENT` asks the server whether it has the previous
//!    round as parent; if not ([`page_server::Error::NoParent`](crate::page_server::Error::NoParent)),
//!    the connection is closed without the close handshake: nothing was created on the server
//!    (and CRIU's server exits non-zero);
//! 3. `PS_IOV_OPEN2`, then the runs, one buffer at a time;
//! 4. the close handshake; only when the server answers status 0 is the record replaced.
//!
//! A failure in 3 (target exits, server dies, I/O error) abandons the session
//! ([`Connection::abandon`]): the server cannot take the round for complete, and the record of
//! the previous round stays as it was, so the next attempt can send the round again against the
//! same parent.

use std::path::PathBuf;
use std::time::Duration;

use super::{DumpOptions, Error, OutputMode, Out, Prev, Progress, Summary, run, setup};
use crate::page_server::record::{self, Record, RecordWriter};
use crate::page_server::{Connection, ImageId};

/// How to send a round.
#[derive(Clone, Debug)]
pub struct RoundOptions {
    /// The reader's options. `parent` must be `None` (the previous round is found in the record)
    /// and `output` [`OutputMode::Write`]; `pages_id` is ignored (the server numbers its pages
    /// images).
    pub dump: DumpOptions,
    /// Where the record of what the server holds is kept between rounds (created if missing).
    pub record_dir: PathBuf,
    /// Send only what changed since the round recorded in `record_dir`.
    pub incremental: bool,
    /// Bound on connecting and on every read and write of the socket.
    pub timeout: Duration,
}

impl Default for RoundOptions {
    fn default() -> Self {
        RoundOptions { dump: DumpOptions::default(), record_dir: PathBuf::from("."), incremental: false, timeout: Duration::from_secs(60) }
    }
}

/// What a round did.
#[derive(Clone, Debug)]
pub struct RoundSummary {
    /// The reader's figures (`pagemap_path`/`pages_path` name the server's images).
    pub dump: Summary,
    /// The server, as given.
    pub server: String,
    /// 1 for the first round of a chain.
    pub round: u32,
    /// Whether the round was incremental (pages equal to the previous round's went as
    /// `PE_PARENT`; [`RoundOptions::incremental`]).
    pub incremental: bool,
    /// Bytes sent: headers and pages.
    pub bytes_sent: u64,
    /// Where the record was written.
    pub record_dir: PathBuf,
}

impl RoundSummary {
    /// Bytes sent per second, GB/s (10⁹).
    pub fn gb_per_s_sent(&self) -> f64 {
        let s = self.dump.elapsed.as_secs_f64();
        if s == 0.0 { 0.0 } else { self.bytes_sent as f64 / s / 1e9 }
    }

    /// One JSON object: the round's fields, then the reader's summary under `"dump"`.
    pub fn to_json(&self) -> String {
        let mut w = criu_image_proto::support::json::JsonWriter::new(false);
        w.begin_object();
        w.key("server");
        w.str(&self.server);
        w.key("round");
        w.u64(self.round.into());
        w.key("incremental");
        w.bool(self.incremental);
        w.key("bytes_sent");
        w.u64(self.bytes_sent);
        w.key("record");
        w.str_bytes(self.record_dir.as_os_str().as_encoded_bytes());
        w.key("dump");
        w.begin_object();
        self.dump.write_json_fields(&mut w);
        w.end_object();
        w.end_object();
        String::from_utf8_lossy(&w.take()).into_owned()
    }
}

impl std::fmt::Display for RoundSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "round {} ({}) to {}: {:.1} MiB sent; {}",
            self.round,
            if self.incremental { "incremental" } else { "full" },
            self.server,
            self.bytes_sent as f64 / (1 << 20) as f64,
            self.dump
        )
    }
}

/// Sends one round of `pid`'s memory to the page server at `server` (`HOST:PORT`).
pub fn dump_to_page_server(pid: i32, server: &str, opts: &RoundOptions, progress: &mut dyn FnMut(&Progress)) -> Result<RoundSummary, Error> {
    let d = &opts.dump;
    if d.parent.is_some() {
        return Err(Error::Options("a page-server round takes its parent from the record: set RoundOptions::incremental, not DumpOptions::parent".into()));
    }
    if d.output != OutputMode::Write {
        return Err(Error::Options("a page-server round sends from the buffer: OutputMode::Mmap writes local images only".into()));
    }
    let image_pid = d.image_pid.unwrap_or(pid as u32);
    let su = setup(pid, d)?;
    std::fs::create_dir_all(&opts.record_dir).map_err(|e| Error::Output { path: opts.record_dir.clone(), source: e })?;
    let prev = if opts.incremental { Some(Record::open(&opts.record_dir, image_pid).map_err(Error::PageServer)?) } else { None };
    let secret = match &prev {
        Some(r) => *r.secret(),
        None => record::new_secret().map_err(|e| Error::Output { path: opts.record_dir.clone(), source: e })?,
    };
    let round = prev.as_ref().map_or(1, |r| r.round().saturating_add(1));

    let mut conn = Connection::connect(server, opts.timeout).map_err(Error::PageServer)?;
    let image = ImageId::Task(u64::from(image_pid));
    let peer = conn.peer().to_string();
    if prev.is_some() && !conn.has_parent(image).map_err(Error::PageServer)? {
        // Dropped without the close handshake: the server created nothing and ends the session
        // as failed.
        return Err(Error::PageServer(crate::page_server::Error::NoParent { peer, image }));
    }
    let has_parent = conn.open(image).map_err(Error::PageServer)?;
    if prev.is_some() && !has_parent {
        conn.abandon();
        return Err(Error::PageServer(crate::page_server::Error::NoParent { peer, image }));
    }
    let mut rec = match RecordWriter::create(&opts.record_dir, image_pid, &secret, round) {
        Ok(r) => r,
        Err(e) => {
            conn.abandon();
            return Err(Error::PageServer(e));
        }
    };
    let out = Out::Remote {
        conn: &mut conn,
        image,
        record: &mut rec,
        secret,
        entries: 0,
        runs: Vec::new(),
        pages: Vec::new(),
        headers: Vec::new(),
    };
    let paths = (PathBuf::from(format!("{server}/pagemap-{image_pid}.img")), PathBuf::from(format!("{server}/pages-<server's id>.img")));
    let summary = match run(pid, d, su, prev.as_ref().map(Prev::Record), out, paths, progress) {
        Ok(s) => s,
        Err(e) => {
            conn.abandon();
            rec.discard();
            return Err(e);
        }
    };
    let pending = match rec.finish() {
        Ok(p) => p,
        Err(e) => {
            conn.abandon();
            return Err(Error::PageServer(e));
        }
    };
    let bytes_sent = conn.bytes_sent();
    // An error here drops `pending`, which removes the new record: the old one stays.
    conn.close().map_err(Error::PageServer)?;
    pending.commit().map_err(Error::PageServer)?;
    Ok(RoundSummary { dump: summary, server: server.to_string(), round, incremental: opts.incremental, bytes_sent, record_dir: opts.record_dir.clone() })
}
