//! The checkpoint itself: what CRIU and which image format wrote it, what it was made with as far
//! as the images tell, and its size by image kind.

use std::collections::BTreeMap;
use std::io::{self, Write};

use criu_image_proto::kernel::TcpState;
use criu_image_proto::schema::kinds::files;
use criu_image_proto::support::json::JsonWriter;

use super::{Problem, Section, Table, human_bytes, json_opt_str, json_problems, text_problems};
use crate::checkpoint::Checkpoint;
use crate::image::{kind_by_name, raw_kind_by_name};
use crate::model::{FileKind, Socket};

/// What the dump was made with, as far as the images tell (CRIU records few of its options).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--tcp-established`: established TCP connections were dumped (tcp-stream images, or
    /// established inet sockets, which CRIU refuses to dump without it).
    pub tcp_established: bool,
    /// `--tcp-close`: TCP connections were closed instead (inventory).
    pub tcp_close: bool,
    /// `--file-locks`: file locks were dumped (`filelocks.img`).
    pub file_locks: bool,
    /// `--shell-job`: the tree's session or process group leader is outside the dump, or a
    /// terminal it uses is (a pty slave whose master was not dumped).
    pub shell_job: bool,
    /// How the network was locked (inventory's `network_lock_method`: iptables, nftables, skip).
    pub network_lock: Option<&'static str>,
    /// `--file-validation`: `buildid` when regular files carry build-ids, `filesize` when they
    /// carry sizes only.
    pub file_validation: Option<&'static str>,
    /// Lazy pages (`--lazy-pages`): pagemap entries `PE_LAZY` without `PE_PRESENT`.
    pub lazy_pages: bool,
    /// An incremental dump (`--prev-images-dir`): its `parent` link, or `PE_PARENT` entries.
    pub parent: Option<String>,
    /// The pre-dump mode of a pre-dump (inventory): `splice` or `read`.
    pub pre_dump_mode: Option<&'static str>,
}

/// The size of the images of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindSize {
    /// The kind's name (`PAGES`, `MM`, ...; `not an image` for files CRIU does not read, such
    /// as `dump.log`).
    pub kind: String,
    /// How many files.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The checkpoint section.
#[derive(Clone, Debug, Default)]
pub struct DumpInfo {
    /// Where it was read from (a directory, or the archive's format).
    pub format: String,
    /// The CRIU version that wrote it, from `dump.log` when the checkpoint keeps it, an OCI
    /// checkpoint image's annotation, or `spec.dump`'s `org.criu.checkpoint.criu.version` (the
    /// images do not record it).
    pub criu_version: Option<String>,
    /// The image format version (`inventory.img`): 2, or 1 before CRIU 1.3.
    pub img_version: Option<u32>,
    /// What the dump was made with.
    pub options: Options,
    /// All files' bytes.
    pub total_bytes: u64,
    /// How many files.
    pub total_files: usize,
    /// Bytes by kind, largest first.
    pub by_kind: Vec<KindSize>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl DumpInfo {
    /// Reads what the images tell about the dump.
    pub fn load(ckpt: &Checkpoint) -> DumpInfo {
        let mut d = DumpInfo { format: ckpt.format().to_string(), ..DumpInfo::default() };
        let mut kinds: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for name in ckpt.names() {
            let bytes = ckpt.file_len(name).unwrap_or(0);
            let kind = match (raw_kind_by_name(name), kind_by_name(name)) {
                (Some(raw), _) => raw.to_string(),
                (None, Some(k)) => k.name().to_string(),
                _ => "not an image".to_string(),
            };
            let e = kinds.entry(kind).or_default();
            e.0 += 1;
            e.1 += bytes;
            d.total_bytes += bytes;
            d.total_files += 1;
        }
        d.by_kind = kinds.into_iter().map(|(kind, (files, bytes))| KindSize { kind, files, bytes }).collect();
        d.by_kind.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.kind.cmp(&b.kind)));
        d.criu_version = criu_version(ckpt)
            .or_else(|| super::container::CheckpointImage::load(ckpt)?.criu_version)
            .or_else(|| {
                // The annotation checkpointctl and the engines write into spec.dump.
                let c = super::container::Container::load(ckpt);
                let v = c.annotations.iter().rev().find(|(k, _)| k == "org.criu.checkpoint.criu.version")?;
                Some(super::container::criu_version_name(&v.1))
            });
        match ckpt.inventory() {
            Ok(Some(inv)) => {
                d.img_version = Some(inv.img_version);
                d.options.tcp_close = inv.tcp_close == Some(true);
                d.options.network_lock = inv.network_lock_method.map(|m| match m {
                    0 => "iptables",
                    1 => "nftables",
                    2 => "skip",
                    _ => "unknown",
                });
                d.options.pre_dump_mode = inv.pre_dump_mode.map(|m| if m == 1 { "read" } else { "splice" });
            }
            Ok(None) => d.problems.push(Problem::new("inventory.img", "missing: the image version is unknown")),
            Err(e) => d.problems.push(Problem::from_error(&e)),
        }
        let names: Vec<&str> = ckpt.names().collect();
        d.options.file_locks = ckpt.file_len(files::FILELOCKS.pattern()).is_some_and(|n| n > 8);
        d.options.tcp_established = names.iter().any(|n| files::TCP_STREAM.matches(n));
        if let Ok(table) = ckpt.files() {
            let established = table.iter().any(|f| matches!(&f.kind, FileKind::Socket(Socket::Inet(i)) if i.state == TcpState::ESTABLISHED));
            d.options.tcp_established |= established;
            let regs: Vec<_> = table.iter().filter_map(|f| match &f.kind {
                FileKind::Regular(r) if r.is_regular() => Some(r),
                _ => None,
            }).collect();
            d.options.file_validation = if regs.iter().any(|r| !r.build_id.is_empty()) {
                Some("buildid")
            } else if regs.iter().any(|r| r.size.is_some()) {
                Some("filesize")
            } else {
                None
            };
        }
        if let Ok(procs) = ckpt.processes() {
            let pids: std::collections::HashSet<u32> = procs.iter().map(|p| p.pid()).collect();
            d.options.shell_job = procs.iter().any(|p| (p.sid() != 0 && !pids.contains(&p.sid())) || (p.pgid() != 0 && !pids.contains(&p.pgid())));
            // Or a terminal whose other end is outside: a pty slave without its master.
            if let Ok(table) = ckpt.files() {
                let ttys: Vec<&crate::model::files::TtyFile> = table.iter().filter_map(|f| match &f.kind {
                    FileKind::Tty(t) => Some(t),
                    _ => None,
                }).collect();
                let masters: Vec<Option<u32>> = ttys.iter().filter(|t| t.is_pty_master()).map(|t| t.index).collect();
                d.options.shell_job |= ttys.iter().any(|t| t.is_pty_slave() && !masters.contains(&t.index));
            }
            for p in procs.iter() {
                if let Ok(Some(pm)) = p.pagemap() {
                    // CRIU marks every lazily restorable page PE_LAZY, dumped or not; a lazy dump
                    // leaves them out of the pages files (PE_LAZY without PE_PRESENT).
                    d.options.lazy_pages |= pm.entries().iter().any(|r| r.is_lazy() && !r.is_present());
                    if d.options.parent.is_none() && pm.entries().iter().any(|r| r.is_parent()) {
                        d.options.parent = Some("PE_PARENT pages, and no `parent` link".into());
                    }
                }
            }
        }
        if let Some(link) = ckpt.parent_link() {
            let target = std::fs::read_link(&link).map_or_else(|_| link.display().to_string(), |t| t.display().to_string());
            d.options.parent = Some(target);
        }
        d
    }
}

/// `Version: 4.2` from the first lines of `dump.log` (or the fixtures' `dump.log.txt`).
fn criu_version(ckpt: &Checkpoint) -> Option<String> {
    let log = ["dump.log", "dump.log.txt"].iter().find_map(|n| ckpt.file(n))?;
    let head = &log[..log.len().min(64 << 10)];
    String::from_utf8_lossy(head).lines().take(200).find_map(|l| {
        let v = l.split("Version: ").nth(1)?;
        Some(v.split_whitespace().next()?.to_string())
    })
}

impl Section for DumpInfo {
    fn name(&self) -> &'static str {
        "checkpoint"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// ```text
    /// checkpoint (directory): CRIU 4.2, image format 2; 13 files, 133 KiB
    ///   made with   shell-job, file-validation=buildid
    ///   sizes       PAGES 96 KiB (1), CORE 12 KiB (1), MM 5.2 KiB (1), ...
    /// ```
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        let criu = self.criu_version.as_deref().map_or("CRIU version not recorded".to_string(), |v| format!("CRIU {v}"));
        let img = self.img_version.map_or("image format unknown".to_string(), |v| format!("image format {v}"));
        b.extend_from_slice(
            format!("checkpoint ({}): {criu}, {img}; {} files, {}\n", self.format, self.total_files, human_bytes(self.total_bytes)).as_bytes(),
        );
        let o = &self.options;
        let mut made = Vec::new();
        for (on, what) in [
            (o.tcp_established, "tcp-established".to_string()),
            (o.tcp_close, "tcp-close".to_string()),
            (o.file_locks, "file-locks".to_string()),
            (o.shell_job, "shell-job".to_string()),
            (o.lazy_pages, "lazy-pages".to_string()),
        ] {
            if on {
                made.push(what);
            }
        }
        if let Some(v) = o.file_validation {
            made.push(format!("file-validation={v}"));
        }
        if let Some(v) = o.network_lock {
            made.push(format!("network-lock={v}"));
        }
        if let Some(v) = o.pre_dump_mode {
            made.push(format!("pre-dump-mode={v}"));
        }
        let mut t = Table::headless(&[false, false]);
        t.row(vec!["made with".into(), if made.is_empty() { "-".into() } else { made.join(", ") }]);
        if let Some(p) = &o.parent {
            t.row(vec!["parent".into(), p.clone()]);
        }
        let top: Vec<String> = self.by_kind.iter().take(6).map(|k| format!("{} {} ({})", k.kind, human_bytes(k.bytes), k.files)).collect();
        let rest = self.by_kind.len().saturating_sub(6);
        t.row(vec!["sizes".into(), format!("{}{}", top.join(", "), if rest > 0 { format!(", {rest} more kinds") } else { String::new() })]);
        t.render("  ", &mut b);
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```text
    /// {"format": "directory", "criu_version": "4.2" | null, "img_version": 2 | null,
    ///  "options": {"tcp_established": false, "tcp_close": false, "file_locks": false,
    ///              "shell_job": true, "network_lock": "iptables" | null,
    ///              "file_validation": "buildid" | "filesize" | null, "lazy_pages": false,
    ///              "parent": "../pre1" | null, "pre_dump_mode": "read" | null},
    ///  "total_files": 13, "total_bytes": 136192,
    ///  "by_kind": [{"kind": "PAGES", "files": 1, "bytes": 98304}, ...], "problems": [...]}
    /// ```
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("format");
        w.str(&self.format);
        w.key("criu_version");
        json_opt_str(w, self.criu_version.as_deref());
        w.key("img_version");
        match self.img_version {
            Some(v) => w.u64(v.into()),
            None => w.raw_value("null"),
        }
        let o = &self.options;
        w.key("options");
        w.begin_object();
        for (k, v) in [
            ("tcp_established", o.tcp_established),
            ("tcp_close", o.tcp_close),
            ("file_locks", o.file_locks),
            ("shell_job", o.shell_job),
        ] {
            w.key(k);
            w.bool(v);
        }
        w.key("network_lock");
        json_opt_str(w, o.network_lock);
        w.key("file_validation");
        json_opt_str(w, o.file_validation);
        w.key("lazy_pages");
        w.bool(o.lazy_pages);
        w.key("parent");
        json_opt_str(w, o.parent.as_deref());
        w.key("pre_dump_mode");
        json_opt_str(w, o.pre_dump_mode);
        w.end_object();
        w.key("total_files");
        w.u64(self.total_files as u64);
        w.key("total_bytes");
        w.u64(self.total_bytes);
        w.key("by_kind");
        w.begin_array();
        for k in &self.by_kind {
            w.begin_object();
            w.key("kind");
            w.str(&k.kind);
            w.key("files");
            w.u64(k.files as u64);
            w.key("bytes");
            w.u64(k.bytes);
            w.end_object();
        }
        w.end_array();
        json_problems(w, &self.problems);
        w.end_object();
    }
}
