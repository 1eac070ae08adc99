//! A [`Diff`] as text for people (a `diff -u`-like report, readable at 80 columns) and as the
//! JSON object documented in the module docs of [`crate::diff`].

use std::io::{self, Write};

use criu_image_proto::support::json::JsonWriter;

use super::{Change, ChangeKind, Diff, FieldChange, MountKey, NsKey, ProcessDiff, Record, Section, Value, VmaKey, fd_summary};

/// Columns the text aims at.
const WIDTH: usize = 80;

/// Text shortened in the middle to at most `max` characters.
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

fn plural(n: u64, noun: &str) -> String {
    let s = if noun.ends_with('s') { "es" } else { "s" };
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}{s}") }
}

/// One line, cut to [`WIDTH`] columns in its last part.
fn line(out: &mut Vec<u8>, head: &str, tail: &str) {
    let room = WIDTH.saturating_sub(head.chars().count());
    let tail = elide(tail, room.max(20));
    let s = format!("{head}{tail}");
    out.extend_from_slice(s.trim_end().as_bytes());
    out.push(b'\n');
}

/// The changed fields of one thing, one per line under it: `name  a -> b`.
fn fields(out: &mut Vec<u8>, indent: &str, changes: &[FieldChange]) {
    let w = changes.iter().map(|c| c.field.len()).max().unwrap_or(0);
    for c in changes {
        let head = format!("{indent}{:<w$}  ", c.field);
        let room = WIDTH.saturating_sub(head.chars().count() + 4) / 2;
        let (a, b) = (elide(&c.a.text(), room.max(16)), elide(&c.b.text(), room.max(16)));
        line(out, &head, &format!("{a} -> {b}"));
    }
}

fn text_of(r: Option<&Record>, key: &str) -> Option<String> {
    r.and_then(|r| r.get(key)).filter(|v| **v != Value::Null).map(Value::text)
}

fn vma_line(k: &VmaKey, c: &Change<VmaKey>) -> String {
    let r = c.record();
    let end = match r.and_then(|r| r.get("end")) {
        Some(Value::Hex(e)) => format!("-{e:x}"),
        _ => String::new(),
    };
    let what = if k.guard { "guard" } else { "vma" };
    let prot = text_of(r, "prot").unwrap_or_default();
    let shared = match r.and_then(|r| r.get("flags")) {
        Some(Value::Flags(f)) if f.iter().any(|f| f == "MAP_SHARED") => "s",
        _ => "p",
    };
    let name = text_of(r, "name").filter(|n| n != "\"\"").unwrap_or_default();
    format!("{what} {:x}{end} {prot}{shared}  {name}", k.start)
}

fn ns_line(k: &NsKey) -> String {
    format!("{} {}", k.kind.name(), k.id)
}

fn mount_line(k: &MountKey) -> String {
    let mp = String::from_utf8_lossy(&k.mountpoint);
    if k.nth == 0 { format!("mnt {} {mp}", k.ns) } else { format!("mnt {} {mp} (over {})", k.ns, k.nth) }
}

/// A thing added, removed or changed: its marker line, and for a change its fields.
fn change<K>(out: &mut Vec<u8>, indent: &str, c: &Change<K>, label: &str, detail: impl Fn(&Record) -> String) {
    let head = format!("{indent}{} {label}", c.kind.marker());
    match c.kind {
        ChangeKind::Changed => {
            line(out, &head, "");
            fields(out, &format!("{indent}    "), &c.fields);
        }
        _ => {
            let d = c.record().map(detail).unwrap_or_default();
            // The detail is short; a long label (a path) gives way to it.
            let room = WIDTH.saturating_sub(indent.len() + 2 + d.chars().count() + 2);
            let head = format!("{indent}{} {}", c.kind.marker(), elide(label, room.max(24)));
            if d.is_empty() { line(out, &head, "") } else { line(out, &format!("{head}  "), &d) }
        }
    }
}

fn process(out: &mut Vec<u8>, p: &ProcessDiff) {
    let comm = if p.comm.is_empty() { String::new() } else { format!(" ({})", String::from_utf8_lossy(&p.comm)) };
    let head = format!("{} process {}{comm}", p.kind.marker(), p.pid);
    match p.kind {
        ChangeKind::Changed => line(out, &head, ""),
        _ => {
            let r = p.b.as_ref().or(p.a.as_ref());
            let cmd = text_of(r, "cmdline").unwrap_or_default();
            let threads = match r.and_then(|r| r.get("threads")) {
                Some(Value::U64(n)) if *n > 1 => format!("{n} threads  "),
                _ => String::new(),
            };
            line(out, &format!("{head}  "), &format!("{threads}{cmd}"));
        }
    }
    fields(out, "    ", &p.fields);
    for c in &p.fds {
        match c.kind {
            ChangeKind::Changed => {
                let what = c.a.as_ref().map(fd_summary).unwrap_or_default();
                let head = format!("  ~ fd {}", c.key);
                line(out, &format!("{head:<10}  "), &what);
                fields(out, "      ", &c.fields);
            }
            _ => {
                let head = format!("  {} fd {}", c.kind.marker(), c.key);
                line(out, &format!("{head:<10}  "), &c.record().map(fd_summary).unwrap_or_default());
            }
        }
    }
    for c in &p.vmas {
        let head = format!("  {} ", c.kind.marker());
        line(out, &head, &vma_line(&c.key, c));
        if c.kind == ChangeKind::Changed {
            fields(out, "      ", &c.fields);
        }
    }
    for m in &p.memory {
        let verb = if m.pages_differ == 1 { "differs" } else { "differ" };
        let mut what = format!("{} of {} {verb}", m.pages_differ, plural(m.pages, "page"));
        if m.pages_unknown > 0 {
            what.push_str(&format!(", {} not compared", m.pages_unknown));
        }
        // The verdict first, so that a long name is what gets shortened.
        let head = format!("  ~ memory {:x}-{:x} {}  {what}  ", m.start, m.end, m.perms);
        line(out, &head, &String::from_utf8_lossy(&m.name));
    }
}

fn file_detail(r: &Record) -> String {
    let mut parts = Vec::new();
    if let Some(t) = text_of(Some(r), "type") {
        parts.push(t);
    }
    if let Some(s) = text_of(Some(r), "size") {
        parts.push(format!("{s} bytes"));
    }
    if let Some(m) = text_of(Some(r), "mode") {
        parts.push(format!("mode {m}"));
    }
    if text_of(Some(r), "build_id").is_some() {
        parts.push("build-id".into());
    }
    parts.join(", ")
}

fn ns_detail(r: &Record) -> String {
    let mut s = text_of(Some(r), "tasks").map(|t| format!("tasks {t}")).unwrap_or_default();
    if let Some(h) = text_of(Some(r), "hostname") {
        s.push_str(&format!("  hostname {h}"));
    }
    s
}

fn mount_detail(r: &Record) -> String {
    let get = |k| text_of(Some(r), k).unwrap_or_default();
    format!("{} {}", get("fstype"), get("source"))
}

impl Diff {
    /// The summary line's counts: what differs, or what was compared when nothing does.
    pub fn summary_text(&self) -> String {
        let c = self.counts();
        let has = |s| self.sections.contains(&s);
        let mut parts = Vec::new();
        let mut s = if self.is_equal() {
            let k = self.compared;
            for (sec, text) in [
                (Section::Processes, plural(k.processes, "process")),
                (Section::Fds, plural(k.fds, "fd")),
                (Section::Vmas, plural(k.vmas, "vma")),
                (Section::Memory, plural(k.pages, "page")),
                (Section::Files, plural(k.files, "file")),
                (Section::Namespaces, format!("{} ns", k.namespaces)),
                (Section::Mounts, plural(k.mounts, "mount")),
            ] {
                if has(sec) {
                    parts.push(text);
                }
            }
            if !has(Section::Processes) && self.sections.iter().any(|s| s.per_process()) {
                parts.insert(0, plural(k.processes, "process"));
            }
            format!("equal: {}", parts.join(", "))
        } else {
            let procs: Vec<String> = [(c.processes_changed, "changed"), (c.processes_added, "added"), (c.processes_removed, "removed")]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, w)| format!("{n} {w}"))
                .collect();
            if !procs.is_empty() {
                let noun = if c.processes_changed + c.processes_added + c.processes_removed == 1 { "process" } else { "processes" };
                parts.push(format!("{noun} {}", procs.join(", ")));
            }
            for (n, noun) in [(c.fds, "fd"), (c.vmas, "vma")] {
                if n > 0 {
                    parts.push(plural(n, noun));
                }
            }
            if c.pages_differ > 0 {
                parts.push(format!("{} in {}", plural(c.pages_differ, "page"), plural(c.vmas_with_pages_differ, "vma")));
            }
            for (n, noun) in [(c.files, "file"), (c.mounts, "mount")] {
                if n > 0 {
                    parts.push(plural(n, noun));
                }
                if noun == "file" && c.namespaces > 0 {
                    parts.push(format!("{} ns", c.namespaces));
                }
            }
            format!("differ: {}", parts.join(", "))
        };
        if !self.problems.is_empty() {
            s.push_str(&format!("; incomplete: {}", plural(self.problems.len() as u64, "problem")));
        }
        s
    }

    /// The report for people: `--- a` / `+++ b`, then `+`/`-`/`~` lines per process (its fields,
    /// fds, VMAs, memory), files, namespaces, mounts, the problems, and a summary line.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        line(&mut buf, "--- a  ", &self.a);
        line(&mut buf, "+++ b  ", &self.b);
        for p in &self.processes {
            process(&mut buf, p);
            if buf.len() > 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        if !self.files.is_empty() {
            buf.extend_from_slice(b"files\n");
            for c in &self.files {
                change(&mut buf, "  ", c, &String::from_utf8_lossy(&c.key), file_detail);
            }
        }
        if !self.namespaces.is_empty() {
            buf.extend_from_slice(b"namespaces\n");
            for c in &self.namespaces {
                change(&mut buf, "  ", c, &ns_line(&c.key), ns_detail);
            }
        }
        if !self.mounts.is_empty() {
            buf.extend_from_slice(b"mounts\n");
            for c in &self.mounts {
                change(&mut buf, "  ", c, &mount_line(&c.key), mount_detail);
            }
        }
        if !self.problems.is_empty() {
            buf.extend_from_slice(b"problems (the comparison is incomplete; `crit check` tells more about each image)\n");
            for p in &self.problems {
                buf.extend_from_slice(format!("  ! {p}\n").as_bytes());
            }
        }
        buf.extend_from_slice(self.summary_text().as_bytes());
        buf.push(b'\n');
        out.write_all(&buf)
    }

    /// The JSON object documented in [`crate::diff`], followed by a newline.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = JsonWriter::streaming(false, &mut *out);
        w.begin_object();
        w.key("a");
        w.str(&self.a);
        w.key("b");
        w.str(&self.b);
        w.key("equal");
        w.bool(self.is_equal());
        w.key("complete");
        w.bool(self.is_complete());
        w.key("sections");
        w.begin_array();
        for s in &self.sections {
            w.str(s.name());
        }
        w.end_array();
        w.key("processes");
        w.begin_array();
        for p in &self.processes {
            w.begin_object();
            w.key("pid");
            w.u64(p.pid.into());
            w.key("comm");
            w.str_bytes(&p.comm);
            w.key("change");
            w.str(p.kind.name());
            json_record(&mut w, "a", p.a.as_ref());
            json_record(&mut w, "b", p.b.as_ref());
            json_fields(&mut w, &p.fields);
            w.key("fds");
            w.begin_array();
            for c in &p.fds {
                json_change(&mut w, c, |w, k| {
                    w.key("fd");
                    w.u64((*k).into());
                });
            }
            w.end_array();
            w.key("vmas");
            w.begin_array();
            for c in &p.vmas {
                json_change(&mut w, c, |w, k| {
                    w.key("start");
                    w.hex(k.start.into());
                    w.key("guard");
                    w.bool(k.guard);
                });
            }
            w.end_array();
            w.key("memory");
            w.begin_array();
            for m in &p.memory {
                w.begin_object();
                w.key("start");
                w.hex(m.start.into());
                w.key("end");
                w.hex(m.end.into());
                w.key("perms");
                w.str(&m.perms);
                w.key("name");
                w.str_bytes(&m.name);
                w.key("pages");
                w.u64(m.pages);
                w.key("pages_differ");
                w.u64(m.pages_differ);
                w.key("pages_unknown");
                w.u64(m.pages_unknown);
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key("files");
        w.begin_array();
        for c in &self.files {
            json_change(&mut w, c, |w, k| {
                w.key("path");
                w.str_bytes(k);
            });
        }
        w.end_array();
        w.key("namespaces");
        w.begin_array();
        for c in &self.namespaces {
            json_change(&mut w, c, |w, k| {
                w.key("kind");
                w.str(k.kind.name());
                w.key("id");
                w.u64(k.id.into());
            });
        }
        w.end_array();
        w.key("mounts");
        w.begin_array();
        for c in &self.mounts {
            json_change(&mut w, c, |w, k| {
                w.key("ns");
                w.u64(k.ns.into());
                w.key("mountpoint");
                w.str_bytes(&k.mountpoint);
                w.key("nth");
                w.u64(k.nth as u64);
            });
        }
        w.end_array();
        let k = self.compared;
        w.key("compared");
        w.begin_object();
        for (name, v) in [
            ("processes", k.processes),
            ("fds", k.fds),
            ("vmas", k.vmas),
            ("pages", k.pages),
            ("files", k.files),
            ("namespaces", k.namespaces),
            ("mounts", k.mounts),
        ] {
            w.key(name);
            w.u64(v);
        }
        w.end_object();
        let c = self.counts();
        w.key("summary");
        w.begin_object();
        for (name, v) in [
            ("processes_added", c.processes_added),
            ("processes_removed", c.processes_removed),
            ("processes_changed", c.processes_changed),
            ("fds", c.fds),
            ("vmas", c.vmas),
            ("pages_differ", c.pages_differ),
            ("vmas_with_pages_differ", c.vmas_with_pages_differ),
            ("files", c.files),
            ("namespaces", c.namespaces),
            ("mounts", c.mounts),
        ] {
            w.key(name);
            w.u64(v);
        }
        w.end_object();
        w.key("problems");
        w.begin_array();
        for p in &self.problems {
            w.begin_object();
            w.key("side");
            w.str(p.side.name());
            w.key("file");
            w.str(&p.file);
            w.key("message");
            w.str(&p.message);
            w.end_object();
        }
        w.end_array();
        w.end_object();
        w.finish()?;
        out.write_all(b"\n")
    }
}

fn json_record(w: &mut JsonWriter<'_>, key: &str, r: Option<&Record>) {
    w.key(key);
    match r {
        Some(r) => r.write_json(w),
        None => w.raw_value("null"),
    }
}

fn json_fields(w: &mut JsonWriter<'_>, fields: &[FieldChange]) {
    w.key("fields");
    w.begin_array();
    for f in fields {
        w.begin_object();
        w.key("field");
        w.str(f.field);
        w.key("a");
        f.a.write_json(w);
        w.key("b");
        f.b.write_json(w);
        w.end_object();
    }
    w.end_array();
}

fn json_change<K>(w: &mut JsonWriter<'_>, c: &Change<K>, key: impl Fn(&mut JsonWriter<'_>, &K)) {
    w.begin_object();
    key(w, &c.key);
    w.key("change");
    w.str(c.kind.name());
    json_record(w, "a", c.a.as_ref());
    json_record(w, "b", c.b.as_ref());
    json_fields(w, &c.fields);
    w.end_object();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fit() {
        let mut out = Vec::new();
        line(&mut out, "--- a  ", &"/very/long/path".repeat(10));
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.trim_end().chars().count(), WIDTH);
        assert!(s.contains('…'));
    }
}
