//! Dump and restore statistics: `stats-dump` (written by `criu dump`) and `stats-restore`
//! (written by `criu restore`), CRIU's STATS service images, in human units.
//!
//! CRIU writes both into its work directory, which is the images directory unless `--work-dir`
//! says otherwise. Container engines put `stats-dump` at the top of their archive, next to
//! `checkpoint/`; it is looked for there when the image directory has none.
//!
//! Times are CRIU's, in microseconds. Page counts are pages of [`PAGE_SIZE`] bytes. CRIU 4.2.1
//! counts no zero pages: its `pages_scanned` counts each page it dumped or left in the parent,
//! plus one per run of pages it skipped (unmapped or zero), so `scanned - written` is a number
//! of runs, not pages, and is not shown as a page count.

use std::io::{self, Write};

use criu_image_proto::support::json::JsonWriter;
use criu_image_proto::view;

use super::{Problem, Section, entries_in, human_bytes, human_us, json_opt_u64, json_problems, parse_entry, text_problems};
use crate::checkpoint::Checkpoint;
use crate::image::Kind;
use crate::pagemap::PAGE_SIZE;

/// `dump_stats_entry`: what `criu dump` measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpStats {
    /// Time to freeze the tree (µs).
    pub freezing_time_us: u32,
    /// Time the tree stayed frozen (µs).
    pub frozen_time_us: u32,
    /// Time collecting memory into page pipes, while frozen (µs).
    pub memdump_time_us: u32,
    /// Time writing pages out (µs).
    pub memwrite_time_us: u32,
    /// Time resolving inotify/fanotify watch paths (`irmap`, µs), when measured.
    pub irmap_resolve_us: Option<u32>,
    /// Pages looked at (see the module doc for what this counts).
    pub pages_scanned: u64,
    /// Pages not written because the parent dump (`--prev-images-dir`) has them.
    pub pages_skipped_parent: u64,
    /// Pages written into `pages-*.img` (or sent to the page server).
    pub pages_written: u64,
    /// Pages left for lazy restore (`--lazy-pages`).
    pub pages_lazy: u64,
    /// Page pipes used.
    pub page_pipes: Option<u64>,
    /// Page pipe buffers used.
    pub page_pipe_bufs: Option<u64>,
    /// Shared-memory pages looked at.
    pub shpages_scanned: Option<u64>,
    /// Shared-memory pages left in the parent dump.
    pub shpages_skipped_parent: Option<u64>,
    /// Shared-memory pages written.
    pub shpages_written: Option<u64>,
}

/// `restore_stats_entry`: what `criu restore` measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreStats {
    /// Pages compared with the parent's (`--auto-dedup`/COW checks).
    pub pages_compared: u64,
    /// Pages left shared with a COW parent instead of being copied.
    pub pages_skipped_cow: u64,
    /// Time to fork the tree (µs).
    pub forking_time_us: u32,
    /// Time of the whole restore (µs).
    pub restore_time_us: u32,
    /// Pages restored, when counted.
    pub pages_restored: Option<u64>,
}

/// The statistics section: `stats-dump` and `stats-restore`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// `stats-dump`'s dump statistics, when the checkpoint has them.
    pub dump: Option<DumpStats>,
    /// Where they were read from (`stats-dump`, or the archive member's path).
    pub dump_file: Option<String>,
    /// `stats-restore`'s restore statistics: only a directory that was restored from has them.
    pub restore: Option<RestoreStats>,
    /// Where they were read from.
    pub restore_file: Option<String>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Stats {
    /// Reads `stats-dump` and `stats-restore` from the image directory, else from the top of the
    /// archive. Missing files are not problems (CRIU does not always write them); corrupt ones are.
    pub fn load(ckpt: &Checkpoint) -> Stats {
        let mut s = Stats::default();
        if let Some((file, e)) = read_stats(ckpt, "stats-dump", &mut s.problems) {
            match e.dump() {
                Some(d) => {
                    s.dump = Some(DumpStats {
                        freezing_time_us: d.freezing_time(),
                        frozen_time_us: d.frozen_time(),
                        memdump_time_us: d.memdump_time(),
                        memwrite_time_us: d.memwrite_time(),
                        irmap_resolve_us: d.irmap_resolve(),
                        pages_scanned: d.pages_scanned(),
                        pages_skipped_parent: d.pages_skipped_parent(),
                        pages_written: d.pages_written(),
                        pages_lazy: d.pages_lazy(),
                        page_pipes: d.page_pipes(),
                        page_pipe_bufs: d.page_pipe_bufs(),
                        shpages_scanned: d.shpages_scanned(),
                        shpages_skipped_parent: d.shpages_skipped_parent(),
                        shpages_written: d.shpages_written(),
                    });
                    s.dump_file = Some(file);
                }
                None => s.problems.push(Problem { file, message: "has no dump statistics (no `dump` field)".into() }),
            }
        }
        if let Some((file, e)) = read_stats(ckpt, "stats-restore", &mut s.problems) {
            match e.restore() {
                Some(r) => {
                    s.restore = Some(RestoreStats {
                        pages_compared: r.pages_compared(),
                        pages_skipped_cow: r.pages_skipped_cow(),
                        forking_time_us: r.forking_time(),
                        restore_time_us: r.restore_time(),
                        pages_restored: r.pages_restored(),
                    });
                    s.restore_file = Some(file);
                }
                None => {
                    s.problems.push(Problem { file, message: "has no restore statistics (no `restore` field)".into() })
                }
            }
        }
        s
    }
}

/// The `stats_entry` of `name` from the image directory or the archive's top level.
fn read_stats<'a>(
    ckpt: &'a Checkpoint,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<(String, view::StatsEntry<'a>)> {
    let (file, bytes) = match ckpt.read(name) {
        Ok(Some(b)) => (name.to_string(), b),
        Ok(None) => (name.to_string(), ckpt.extra_file(name)?),
        Err(e) => {
            problems.push(super::problem_from(&e));
            return None;
        }
    };
    let es = entries_in(bytes, &file, Kind::Stats, problems);
    let Some(e) = es.first() else {
        if problems.last().is_none_or(|p| p.file != file) {
            problems.push(Problem { file, message: "holds no entry".into() });
        }
        return None;
    };
    if es.len() > 1 {
        problems.push(Problem { file: file.clone(), message: format!("holds {} entries; the first is shown", es.len()) });
    }
    let v = parse_entry::<view::StatsEntry<'_>>(&file, e, problems)?;
    Some((file, v))
}

fn pages(n: u64) -> String {
    format!("{n:>8}   {}", human_bytes(n.saturating_mul(PAGE_SIZE)))
}

impl Section for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// ```text
    /// dump statistics (stats-dump)
    ///   freezing time              579 us
    ///   frozen time              99.48 ms
    ///   ...
    ///   pages written                 16   64 KiB
    /// ```
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        let line = |b: &mut Vec<u8>, label: &str, value: String| {
            b.extend_from_slice(format!("  {label:<24}{value}\n").as_bytes());
        };
        let time = |us: u32| format!("{:>11}", human_us(u64::from(us)));
        match (&self.dump, &self.dump_file) {
            (Some(d), Some(f)) => {
                b.extend_from_slice(format!("dump statistics ({f})\n").as_bytes());
                line(&mut b, "freezing time", time(d.freezing_time_us));
                line(&mut b, "frozen time", time(d.frozen_time_us));
                line(&mut b, "memory dump time", time(d.memdump_time_us));
                line(&mut b, "memory write time", time(d.memwrite_time_us));
                if let Some(t) = d.irmap_resolve_us {
                    line(&mut b, "irmap resolve time", time(t));
                }
                line(&mut b, "pages scanned", format!("{:>8}", d.pages_scanned));
                line(&mut b, "pages written", pages(d.pages_written));
                line(&mut b, "pages in parent", pages(d.pages_skipped_parent));
                line(&mut b, "pages lazy", pages(d.pages_lazy));
                if let (Some(p), Some(bufs)) = (d.page_pipes, d.page_pipe_bufs) {
                    line(&mut b, "page pipes", format!("{p:>8}   ({bufs} buffers)"));
                }
                if let Some(s) = d.shpages_scanned {
                    line(&mut b, "shared pages scanned", format!("{s:>8}"));
                    line(&mut b, "shared pages written", pages(d.shpages_written.unwrap_or(0)));
                    line(&mut b, "shared pages in parent", pages(d.shpages_skipped_parent.unwrap_or(0)));
                }
            }
            _ => b.extend_from_slice(b"dump statistics: none (no stats-dump)\n"),
        }
        match (&self.restore, &self.restore_file) {
            (Some(r), Some(f)) => {
                b.extend_from_slice(format!("restore statistics ({f})\n").as_bytes());
                line(&mut b, "forking time", time(r.forking_time_us));
                line(&mut b, "restore time", time(r.restore_time_us));
                if let Some(p) = r.pages_restored {
                    line(&mut b, "pages restored", pages(p));
                }
                line(&mut b, "pages compared", format!("{:>8}", r.pages_compared));
                line(&mut b, "pages COW-shared", pages(r.pages_skipped_cow));
            }
            _ => b.extend_from_slice(b"restore statistics: none (criu restore writes stats-restore)\n"),
        }
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```json
    /// {"page_size": 4096,
    ///  "dump": {"file": "stats-dump", "freezing_time_us": 579, "frozen_time_us": 99483,
    ///           "memdump_time_us": 827, "memwrite_time_us": 128, "irmap_resolve_us": 0,
    ///           "pages_scanned": 23, "pages_written": 16, "pages_skipped_parent": 0,
    ///           "pages_lazy": 0, "page_pipes": 4, "page_pipe_bufs": 4,
    ///           "shpages_scanned": 0, "shpages_written": 0, "shpages_skipped_parent": 0} | null,
    ///  "restore": {"file": "stats-restore", "forking_time_us": ..., "restore_time_us": ...,
    ///              "pages_restored": ... | null, "pages_compared": ..., "pages_skipped_cow": ...} | null,
    ///  "problems": [...]}
    /// ```
    /// Optional counters CRIU did not write are `null`.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("page_size");
        w.u64(PAGE_SIZE);
        w.key("dump");
        match &self.dump {
            None => w.raw_value("null"),
            Some(d) => {
                w.begin_object();
                w.key("file");
                super::json_opt_str(w, self.dump_file.as_deref());
                for (k, v) in [
                    ("freezing_time_us", d.freezing_time_us),
                    ("frozen_time_us", d.frozen_time_us),
                    ("memdump_time_us", d.memdump_time_us),
                    ("memwrite_time_us", d.memwrite_time_us),
                ] {
                    w.key(k);
                    w.u64(u64::from(v));
                }
                w.key("irmap_resolve_us");
                json_opt_u64(w, d.irmap_resolve_us.map(u64::from));
                for (k, v) in [
                    ("pages_scanned", d.pages_scanned),
                    ("pages_written", d.pages_written),
                    ("pages_skipped_parent", d.pages_skipped_parent),
                    ("pages_lazy", d.pages_lazy),
                ] {
                    w.key(k);
                    w.u64(v);
                }
                for (k, v) in [
                    ("page_pipes", d.page_pipes),
                    ("page_pipe_bufs", d.page_pipe_bufs),
                    ("shpages_scanned", d.shpages_scanned),
                    ("shpages_written", d.shpages_written),
                    ("shpages_skipped_parent", d.shpages_skipped_parent),
                ] {
                    w.key(k);
                    json_opt_u64(w, v);
                }
                w.end_object();
            }
        }
        w.key("restore");
        match &self.restore {
            None => w.raw_value("null"),
            Some(r) => {
                w.begin_object();
                w.key("file");
                super::json_opt_str(w, self.restore_file.as_deref());
                w.key("forking_time_us");
                w.u64(u64::from(r.forking_time_us));
                w.key("restore_time_us");
                w.u64(u64::from(r.restore_time_us));
                w.key("pages_restored");
                json_opt_u64(w, r.pages_restored);
                w.key("pages_compared");
                w.u64(r.pages_compared);
                w.key("pages_skipped_cow");
                w.u64(r.pages_skipped_cow);
                w.end_object();
            }
        }
        json_problems(w, &self.problems);
        w.end_object();
    }
}
