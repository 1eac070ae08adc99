//! The file descriptions of the checkpoint: how many of each kind, and every file opened by path
//! with what CRIU recorded to recognise it at restore (size, mode, build-id).

use std::collections::BTreeMap;
use std::io::{self, Write};

use criu_image_proto::support::json::JsonWriter;

use super::{Problem, Section, Table, elide, human_bytes, json_opt_str, json_opt_u64, json_problems, text_problems};
use crate::checkpoint::Checkpoint;
use crate::explore::file_kind_name;
use crate::model::{FileKind, Remap};

/// A file opened by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFile {
    /// The file id.
    pub id: u32,
    /// Its path.
    pub path: Vec<u8>,
    /// What it was (`regular`, `directory`, `device`, `fifo`, `socket`, `symlink`; `None` without
    /// a recorded mode).
    pub file_type: Option<&'static str>,
    /// Its size at dump time.
    pub size: Option<u64>,
    /// Its mode.
    pub mode: Option<u32>,
    /// Its ELF build-id, hex.
    pub build_id: Option<String>,
    /// How it is restored when it was not at its path: `ghost`, `linked`, `procfs`, `deleted`.
    pub remap: Option<&'static str>,
}

/// The files section.
#[derive(Clone, Debug, Default)]
pub struct Files {
    /// How many file descriptions of each kind, by kind name.
    pub kinds: BTreeMap<&'static str, usize>,
    /// Files opened by path, in image order.
    pub paths: Vec<PathFile>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

fn file_type(mode: Option<u32>) -> Option<&'static str> {
    Some(match mode? & 0o170000 {
        0o100000 => "regular",
        0o040000 => "directory",
        0o020000 | 0o060000 => "device",
        0o010000 => "fifo",
        0o140000 => "socket",
        0o120000 => "symlink",
        _ => return None,
    })
}

impl Files {
    /// Reads the file table.
    pub fn load(ckpt: &Checkpoint) -> Files {
        let mut out = Files::default();
        let table = match ckpt.files() {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(Problem::from_error(&e));
                return out;
            }
        };
        if table.is_absent() {
            out.problems.push(Problem::new("files.img", "missing: the tasks' files are unknown"));
        }
        for f in table.iter() {
            *out.kinds.entry(file_kind_name(&f.kind)).or_default() += 1;
            if let FileKind::Regular(r) = &f.kind {
                let build_id = (!r.build_id.is_empty()).then(|| r.build_id.iter().map(|w| w.to_le_bytes()).flat_map(|b| b.into_iter()).map(|b| format!("{b:02x}")).collect());
                let remap = match r.remap {
                    Some(Remap::Ghost { .. }) => Some("ghost"),
                    Some(Remap::Linked { .. }) => Some("linked"),
                    Some(Remap::Procfs { .. }) => Some("procfs"),
                    Some(_) => Some("other"),
                    None if r.deleted() => Some("deleted"),
                    None => None,
                };
                out.paths.push(PathFile {
                    id: f.id,
                    path: r.path.to_vec(),
                    file_type: file_type(r.mode),
                    size: r.size,
                    mode: r.mode,
                    build_id,
                    remap,
                });
            }
        }
        out
    }
}

impl Section for Files {
    fn name(&self) -> &'static str {
        "files"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// ```text
    /// files: 23 (pipe 2, regular 19, socket 2)
    ///   ID  TYPE       SIZE     MODE     PATH
    ///    1  regular    37 KiB   0100755  /usr/bin/sleep
    ///    6  directory  -        040755   /tmp/criu-fixture
    ///   23  regular    9 B      0100644  /tmp/x (ghost)
    /// ```
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        let total: usize = self.kinds.values().sum();
        let n = self.kinds.len();
        let kinds: Vec<String> = self.kinds.iter().enumerate().map(|(i, (k, c))| if i + 1 < n { format!("{k} {c},") } else { format!("{k} {c})") }).collect();
        // `files: 47 (eventfd 1, ...)`, the list wrapped at 80 columns under its first item.
        let head = format!("files: {total} (");
        let mut list = Vec::new();
        super::wrap(&kinds, &" ".repeat(head.len()), super::TEXT_WIDTH, &mut list);
        if kinds.is_empty() {
            b.extend_from_slice(format!("files: {total}\n").as_bytes());
        } else {
            b.extend_from_slice(head.as_bytes());
            b.extend_from_slice(&list[head.len()..]);
        }
        if !self.paths.is_empty() {
            let mut t = Table::new(&["ID", "TYPE", "SIZE", "MODE", "PATH"], &[true, false, true, false, false]);
            for f in &self.paths {
                let mut path = elide(&String::from_utf8_lossy(&f.path), 48);
                if let Some(r) = f.remap {
                    path.push_str(&format!(" ({r})"));
                }
                t.row(vec![
                    f.id.to_string(),
                    f.file_type.unwrap_or("?").to_string(),
                    f.size.map_or("-".into(), human_bytes),
                    f.mode.map_or("-".into(), |m| format!("0{m:o}")),
                    path,
                ]);
            }
            t.render("  ", &mut b);
        }
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```text
    /// {"kinds": {"regular": 19, "pipe": 2, ...},
    ///  "paths": [{"id": 1, "path": "/usr/bin/sleep", "type": "regular", "size": 37816,
    ///             "mode": "0100755", "build_id": "a1b2...", "remap": null}, ...],
    ///  "problems": [...]}
    /// ```
    /// `remap` is `ghost`, `linked`, `procfs`, `deleted` (unlinked, kept by name) or `null`.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("kinds");
        w.begin_object();
        for (k, n) in &self.kinds {
            w.key(k);
            w.u64(*n as u64);
        }
        w.end_object();
        w.key("paths");
        w.begin_array();
        for f in &self.paths {
            w.begin_object();
            w.key("id");
            w.u64(f.id.into());
            w.key("path");
            w.str_bytes(&f.path);
            w.key("type");
            json_opt_str(w, f.file_type);
            w.key("size");
            json_opt_u64(w, f.size);
            w.key("mode");
            json_opt_str(w, f.mode.map(|m| format!("0{m:o}")).as_deref());
            w.key("build_id");
            json_opt_str(w, f.build_id.as_deref());
            w.key("remap");
            json_opt_str(w, f.remap);
            w.end_object();
        }
        w.end_array();
        json_problems(w, &self.problems);
        w.end_object();
    }
}
