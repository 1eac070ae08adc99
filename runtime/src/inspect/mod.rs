//! The sections of `crit inspect` that stand on the images alone: container metadata
//! ([`container`]), network namespaces ([`net`]), mounts ([`mounts`]), cgroups ([`cgroups`]),
//! namespaces and their contents ([`namespaces`]) and dump/restore statistics ([`stats`]).
//!
//! Each section is typed data with a `load` constructor over a [`Checkpoint`] that never fails:
//! what it cannot read (a missing, corrupt or unexpected image) becomes a [`Problem`] in the
//! section and the rest is still shown, so a broken checkpoint still gets an overview. Each
//! implements [`Section`], which renders it as text (aligned, readable at 80 columns) and as
//! JSON.
//!
//! # JSON conventions (every section)
//! - A section is one JSON object; its last member is `"problems"`, an array of
//!   `{"file": "...", "message": "..."}` (empty when everything was read).
//! - Memory addresses and offsets are hex strings (`"0x7f12..."`); sizes and counts are numbers
//!   (bytes, pages), times are numbers in the unit their key names (`_us`, `_s`).
//! - Enum-like values are lower-case strings (`"veth"`, `"tmpfs"`, `"link"`); a value the schema or
//!   kernel table has no name for is its number. Flag words are arrays of lower-case names, with
//!   bits that have no name appended as one hex string (`["up", "0x40000000"]`).
//! - Network addresses are their usual text (`"10.0.0.1"`, `"fd00::5"`, `"aa:bb:cc:dd:ee:ff"`).
//! - Strings from images keep their bytes: non-UTF-8 bytes are written as `\udcXX` escapes.
//! - An absent value is `null`; keys are always present.

use std::borrow::Cow;
use std::io::{self, Write};

use criu_image_proto::support::json::{FlagTable, JsonWriter};
use criu_image_proto::support::wire::View;
use criu_image_proto::view;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::image::{self, Kind};

pub use crate::explore::Problem;

pub mod cgroups;
mod consts;
pub mod container;
pub mod dump;
pub mod files;
pub mod mounts;
pub mod namespaces;
pub mod net;
pub mod overview;
pub mod processes;
pub mod stats;

/// A section of the overview: typed data that renders itself as text and as JSON.
///
/// `inspect` assembles sections; `crit x CKPT <section>` prints one.
pub trait Section {
    /// The section's name as views and `--section` spell it (`"mounts"`, `"net"`, ...).
    fn name(&self) -> &'static str;
    /// What could not be read, naming the file.
    fn problems(&self) -> &[Problem];
    /// Human-readable text, aligned, lines ending in `\n`.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
    /// The section as one JSON object (its schema is documented on the implementing type),
    /// ending with its `"problems"` member.
    fn write_json(&self, w: &mut JsonWriter<'_>);
}

/// A section's JSON object as a document of its own, followed by a newline.
pub fn write_json_document(section: &dyn Section, out: &mut dyn Write) -> io::Result<()> {
    let mut w = JsonWriter::new(false);
    section.write_json(&mut w);
    let mut buf = w.take();
    buf.push(b'\n');
    out.write_all(&buf)
}

// ---------------------------------------------------------------------------------------------
// Reading images into sections

fn problem(file: &str, message: impl Into<String>) -> Problem {
    Problem { file: file.to_string(), message: message.into() }
}

fn problem_from(e: &CheckpointError) -> Problem {
    match e {
        CheckpointError::Image { file, error } => problem(file, error.to_string()),
        CheckpointError::Missing { file } => problem(file, "missing from the checkpoint"),
        CheckpointError::Io { path, error } => problem(&path.display().to_string(), error.to_string()),
        other => problem("", other.to_string()),
    }
}

/// The messages of an image of `kind` with their payloads: `None` when the file is absent.
/// Entries before a framing error are kept and the error becomes a problem.
fn entries<'a>(ckpt: &'a Checkpoint, name: &str, kind: Kind, problems: &mut Vec<Problem>) -> Option<Vec<image::Entry<'a>>> {
    match ckpt.read(name) {
        Ok(Some(bytes)) => Some(entries_in(bytes, name, kind, problems)),
        Ok(None) => None,
        Err(e) => {
            problems.push(problem_from(&e));
            None
        }
    }
}

/// [`entries`] of an image's bytes (an archive member outside the image directory, for one).
fn entries_in<'a>(bytes: &'a [u8], name: &str, kind: Kind, problems: &mut Vec<Problem>) -> Vec<image::Entry<'a>> {
    let img = match image::Image::parse(bytes, Some(name)) {
        Ok(img) => img,
        Err(e) => {
            problems.push(problem(name, format!("{e}; expected a {} image", kind.info().name)));
            return Vec::new();
        }
    };
    if img.kind != kind {
        problems.push(problem(
            name,
            format!("holds a {} image where a {} image belongs", img.kind.info().name, kind.info().name),
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for e in img.entries() {
        match e {
            Ok(e) => out.push(e),
            Err(e) => {
                problems.push(problem(name, format!("{e}; the entries before it are shown")));
                break;
            }
        }
    }
    out
}

/// A checked view of one entry's message; a malformed one becomes a problem.
fn parse_entry<'a, V: View<'a>>(name: &str, e: &image::Entry<'a>, problems: &mut Vec<Problem>) -> Option<V> {
    match V::parse_at_depth(e.message, 0) {
        Ok(v) => Some(v),
        Err(err) => {
            let at = e.message_offset + err.offset;
            let field = if err.path.is_empty() { String::new() } else { format!(", field {}", err.path) };
            problems.push(problem(name, format!("entry {}, byte {at}{field}: {}", e.index, err.kind)));
            None
        }
    }
}

/// Every entry of an image as views (`None` when the file is absent).
fn views<'a, V: View<'a>>(ckpt: &'a Checkpoint, name: &str, kind: Kind, problems: &mut Vec<Problem>) -> Option<Vec<V>> {
    let es = entries(ckpt, name, kind, problems)?;
    Some(es.iter().filter_map(|e| parse_entry(name, e, problems)).collect())
}

/// The first entry of a one-entry image (`None` when absent or empty).
fn first_view<'a, V: View<'a>>(ckpt: &'a Checkpoint, name: &str, kind: Kind, problems: &mut Vec<Problem>) -> Option<V> {
    let es = entries(ckpt, name, kind, problems)?;
    let e = es.first()?;
    parse_entry(name, e, problems)
}

/// The ids `N` of the checkpoint's files named `{prefix}N{suffix}`, sorted, with the file names.
fn numbered_files(ckpt: &Checkpoint, prefix: &str, suffix: &str) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = ckpt
        .names()
        .filter_map(|n| {
            let id = n.strip_prefix(prefix)?.strip_suffix(suffix)?;
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((id.parse().ok()?, n.to_string()))
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Tasks and the namespaces they are in (pstree.img, ids-PID.img, inventory.img)

/// The namespace ids of one task (`ids-PID.img`) or of the dumping CRIU (`inventory.img`'s
/// `root_ids`): CRIU's ids, shared by every task in the same namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsIds {
    /// PID namespace.
    pub pid: Option<u32>,
    /// Network namespace (`netdev-N.img`, `netns-N.img`, `ifaddr-N.img`, ...).
    pub net: Option<u32>,
    /// SysV IPC namespace (`ipcns-*-N.img`).
    pub ipc: Option<u32>,
    /// UTS namespace (`utsns-N.img`).
    pub uts: Option<u32>,
    /// Mount namespace (`mountpoints-N.img`).
    pub mnt: Option<u32>,
    /// User namespace (`userns-N.img`).
    pub user: Option<u32>,
    /// Cgroup namespace.
    pub cgroup: Option<u32>,
    /// Time namespace (`timens-N.img`).
    pub time: Option<u32>,
}

impl NsIds {
    fn of(v: &view::TaskKobjIdsEntry<'_>) -> NsIds {
        NsIds {
            pid: v.pid_ns_id(),
            net: v.net_ns_id(),
            ipc: v.ipc_ns_id(),
            uts: v.uts_ns_id(),
            mnt: v.mnt_ns_id(),
            user: v.user_ns_id(),
            cgroup: v.cgroup_ns_id(),
            time: v.time_ns_id(),
        }
    }

    /// The id of one kind of namespace.
    pub fn get(&self, kind: namespaces::NsKind) -> Option<u32> {
        use namespaces::NsKind::*;
        match kind {
            Pid => self.pid,
            Net => self.net,
            Ipc => self.ipc,
            Uts => self.uts,
            Mnt => self.mnt,
            User => self.user,
            Cgroup => self.cgroup,
            Time => self.time,
        }
    }
}

/// A task of `pstree.img` with its threads and namespace ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskNs {
    /// The task's PID (as CRIU saw it, in its own PID namespace).
    pub pid: u32,
    /// Thread ids, the main thread first.
    pub threads: Vec<u32>,
    /// From `ids-PID.img`; `None` when it is missing or unreadable.
    pub ids: Option<NsIds>,
}

/// The tasks and the dumper's own namespaces, read from `pstree.img`, `ids-PID.img` and
/// `inventory.img`. (The process model of the checkpoint will own this; sections only need ids.)
#[derive(Clone, Debug, Default)]
pub(crate) struct Tasks {
    pub tasks: Vec<TaskNs>,
    /// `inventory.img`'s `root_ids`: the namespaces CRIU itself ran in. A task whose id equals
    /// the root one shares the dumper's namespace, which CRIU does not dump.
    pub root: Option<NsIds>,
    /// `inventory.img`'s `root_cg_set`.
    pub root_cg_set: Option<u32>,
}

impl Tasks {
    pub(crate) fn load(ckpt: &Checkpoint, problems: &mut Vec<Problem>) -> Tasks {
        let mut out = Tasks::default();
        if let Some(inv) = first_view::<view::InventoryEntry<'_>>(ckpt, "inventory.img", Kind::Inventory, problems) {
            out.root = inv.root_ids().map(|r| NsIds::of(&r));
            out.root_cg_set = inv.root_cg_set();
        }
        let Some(pstree) = views::<view::PstreeEntry<'_>>(ckpt, "pstree.img", Kind::Pstree, problems) else {
            if ckpt.names().next().is_some() {
                problems.push(problem("pstree.img", "missing: the tasks of this checkpoint are unknown"));
            }
            return out;
        };
        for t in pstree {
            let pid = t.pid();
            let name = format!("ids-{pid}.img");
            let ids = match first_view::<view::TaskKobjIdsEntry<'_>>(ckpt, &name, Kind::Ids, problems) {
                Some(v) => Some(NsIds::of(&v)),
                None => {
                    if !ckpt.contains(&name) {
                        problems.push(problem(&name, "missing: the task's namespaces are unknown"));
                    }
                    None
                }
            };
            let mut threads: Vec<u32> = t.threads().into_iter().collect();
            if threads.is_empty() {
                threads.push(pid);
            }
            out.tasks.push(TaskNs { pid, threads, ids });
        }
        out
    }

    /// The PIDs of the tasks whose namespace of `kind` is `id`.
    pub(crate) fn using(&self, kind: namespaces::NsKind, id: u32) -> Vec<u32> {
        self.tasks.iter().filter(|t| t.ids.and_then(|i| i.get(kind)) == Some(id)).map(|t| t.pid).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering helpers shared by the sections

/// Bytes as text for people (lossy for non-UTF-8).
fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// `1536` → `"1.5 KiB"`; below 1 KiB, `"123 B"`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v >= 100.0 || v.fract() == 0.0 { format!("{v:.0} {}", UNITS[u]) } else { format!("{v:.1} {}", UNITS[u]) }
}

/// Microseconds for people: `"579 us"`, `"99.48 ms"`, `"1.234 s"`.
pub fn human_us(us: u64) -> String {
    if us < 1000 {
        format!("{us} us")
    } else if us < 1_000_000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else {
        format!("{:.3} s", us as f64 / 1e6)
    }
}

/// Long text shortened in the middle to at most `max` characters (`/run/contain…/hostname`), for
/// text renderers; JSON always has the whole value.
fn elide(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return s.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

/// Words joined by spaces into lines of at most `width` columns after `indent`.
fn wrap(words: &[String], indent: &str, width: usize, out: &mut Vec<u8>) {
    let mut line = String::new();
    for w in words {
        if !line.is_empty() && indent.len() + line.chars().count() + 1 + w.chars().count() > width {
            out.extend_from_slice(format!("{indent}{line}\n").as_bytes());
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.extend_from_slice(format!("{indent}{line}\n").as_bytes());
    }
}

/// `1 filter`, `2 filters`: a count and a noun that takes an `s` in the plural.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Lists with commas, or `"-"` when empty.
fn join_or_dash<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// The names of the set bits of `v` in `table`, then the unnamed remainder as hex.
fn flag_names(v: u64, table: &FlagTable) -> Vec<Cow<'static, str>> {
    let mut rest = v;
    let mut out = Vec::new();
    for &(name, bit) in table {
        if bit != 0 && rest & bit == bit {
            out.push(Cow::Borrowed(name));
            rest &= !bit;
        }
    }
    if rest != 0 {
        out.push(Cow::Owned(format!("{rest:#x}")));
    }
    out
}

/// A flag word as a JSON array of names (see the module's JSON conventions).
fn json_flags(w: &mut JsonWriter<'_>, v: u64, table: &FlagTable) {
    w.begin_array();
    for n in flag_names(v, table) {
        w.str(&n);
    }
    w.end_array();
}

/// An enum-like value: its name, or its number when it has none.
fn json_named(w: &mut JsonWriter<'_>, name: Option<&str>, v: i64) {
    match name {
        Some(n) => w.str(n),
        None => w.i64(v),
    }
}

fn json_opt_u64(w: &mut JsonWriter<'_>, v: Option<u64>) {
    match v {
        Some(v) => w.u64(v),
        None => w.raw_value("null"),
    }
}

fn json_opt_bytes(w: &mut JsonWriter<'_>, v: Option<&[u8]>) {
    match v {
        Some(v) => w.str_bytes(v),
        None => w.raw_value("null"),
    }
}

fn json_opt_str(w: &mut JsonWriter<'_>, v: Option<&str>) {
    match v {
        Some(v) => w.str(v),
        None => w.raw_value("null"),
    }
}

fn json_u32s(w: &mut JsonWriter<'_>, v: &[u32]) {
    w.begin_array();
    for &x in v {
        w.u64(u64::from(x));
    }
    w.end_array();
}

/// The closing `"problems"` member of every section.
fn json_problems(w: &mut JsonWriter<'_>, problems: &[Problem]) {
    w.key("problems");
    w.begin_array();
    for p in problems {
        w.begin_object();
        w.key("file");
        w.str(&p.file);
        w.key("message");
        w.str(&p.message);
        w.end_object();
    }
    w.end_array();
}

/// Columns of text: each column as wide as its widest cell; right-aligned where asked; the last
/// column is not padded (it may be long: paths, values).
#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
    /// Lines printed under a row (by row index), outside the columns.
    details: Vec<(usize, String)>,
    /// Wrap a last cell that is a `, `-separated list past [`TEXT_WIDTH`] columns, continuing
    /// under the cell (key-value tables).
    wrap: bool,
}

/// The width text sections keep to where they can (lists wrap; paths and commands do not).
const TEXT_WIDTH: usize = 80;

impl Table {
    fn new(header: &[&str], right: &[bool]) -> Table {
        Table { rows: vec![header.iter().map(|s| s.to_string()).collect()], right: right.to_vec(), details: Vec::new(), wrap: false }
    }

    /// A table without a header line.
    fn headless(right: &[bool]) -> Table {
        Table { rows: Vec::new(), right: right.to_vec(), details: Vec::new(), wrap: true }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// A line under the last row, indented by `indent` past the table's, not in the columns.
    fn detail(&mut self, line: String) {
        if let Some(last) = self.rows.len().checked_sub(1) {
            self.details.push((last, line));
        }
    }

    fn render(&self, indent: &str, out: &mut Vec<u8>) {
        let n = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut width = vec![0usize; n];
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        for (row, r) in self.rows.iter().enumerate() {
            let mut line = String::from(indent);
            for (i, c) in r.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = width[i] - c.chars().count();
                let right = self.right.get(i).copied().unwrap_or(false);
                if right {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(c);
                } else if i + 1 == r.len() && self.wrap && line.chars().count() + c.chars().count() > TEXT_WIDTH && c.contains(", ") {
                    let start = line.chars().count();
                    let mut col = start;
                    let items: Vec<&str> = c.split(", ").collect();
                    for (k, item) in items.iter().enumerate() {
                        let piece = if k + 1 < items.len() { format!("{item},") } else { item.to_string() };
                        let n = piece.chars().count();
                        if col > start && col + 1 + n > TEXT_WIDTH {
                            line.push('\n');
                            line.extend(std::iter::repeat_n(' ', start));
                            col = start;
                        } else if col > start {
                            line.push(' ');
                            col += 1;
                        }
                        line.push_str(&piece);
                        col += n;
                    }
                } else {
                    line.push_str(c);
                    if i + 1 < r.len() {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            out.extend_from_slice(line.trim_end().as_bytes());
            out.push(b'\n');
            for (_, d) in self.details.iter().filter(|(i, _)| *i == row) {
                out.extend_from_slice(format!("{indent}{d}\n").as_bytes());
            }
        }
    }
}

/// Problems at the end of a text section: `  ! file: message`.
fn text_problems(problems: &[Problem], out: &mut Vec<u8>) {
    for p in problems {
        out.extend_from_slice(format!("  ! {p}\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(65536), "64 KiB");
        assert_eq!(human_bytes(6 << 20), "6 MiB");
        assert_eq!(human_us(579), "579 us");
        assert_eq!(human_us(99_483), "99.48 ms");
        assert_eq!(human_us(1_234_567), "1.235 s");
    }

    #[test]
    fn shortening() {
        assert_eq!(elide("abcdefghij", 10), "abcdefghij");
        assert_eq!(elide("abcdefghijk", 10), "abcd…ghijk");
        let mut out = Vec::new();
        wrap(&["aaaa".into(), "bbbb".into(), "cc".into()], "  ", 11, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "  aaaa bbbb\n  cc\n");
    }

    #[test]
    fn flags() {
        let t: &FlagTable = &[("a", 1), ("b", 4)];
        assert_eq!(flag_names(5, t), ["a", "b"]);
        assert_eq!(flag_names(0x13, t), ["a", "0x12"]);
        assert!(flag_names(0, t).is_empty());
    }

    #[test]
    fn table_alignment() {
        let mut t = Table::new(&["ID", "NAME", "REST"], &[true, false, false]);
        t.row(vec!["7".into(), "lo".into(), "x".into()]);
        t.row(vec!["12".into(), "veth0".into(), "long tail".into()]);
        let mut out = Vec::new();
        t.render("", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "ID  NAME   REST\n 7  lo     x\n12  veth0  long tail\n");
        t.detail("      under veth0".into());
        let mut out = Vec::new();
        t.render("", &mut out);
        assert!(String::from_utf8(out).unwrap().ends_with("long tail\n      under veth0\n"));
    }
}
