//! `crit inspect`: a checkpoint at a glance, assembled from the sections.
//!
//! By default one screen: the container (when the checkpoint came from an engine), the
//! checkpoint itself, and the process tree. `--all` adds every section and the per-process
//! details; `--section NAME` picks sections.

use std::io::{self, Write};

use criu_image_proto::support::json::JsonWriter;

use super::{Problem, Section};
use crate::checkpoint::Checkpoint;

/// The sections `inspect` can show, in the order it shows them.
pub const SECTIONS: [&str; 9] = ["container", "checkpoint", "processes", "namespaces", "net", "mounts", "cgroups", "stats", "files"];

/// The sections of one screen.
pub const DEFAULT_SECTIONS: [&str; 3] = ["container", "checkpoint", "processes"];

/// Which sections, and how much detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Section names (of [`SECTIONS`]), shown in [`SECTIONS`]' order whatever the order here.
    pub sections: Vec<String>,
    /// Per-process details (memory breakdown, every fd).
    pub details: bool,
}

impl Selection {
    /// One screen.
    pub fn default_screen() -> Selection {
        Selection { sections: DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect(), details: false }
    }

    /// Everything.
    pub fn all() -> Selection {
        Selection { sections: SECTIONS.iter().map(|s| s.to_string()).collect(), details: true }
    }

    fn wants(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s == name)
    }
}

/// The sections read for a [`Selection`], in order.
pub struct Overview {
    sections: Vec<Box<dyn Section>>,
}

impl std::fmt::Debug for Overview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.sections.iter().map(|s| s.name())).finish()
    }
}

impl Overview {
    /// Reads the selected sections. A section that cannot read something says so in its
    /// problems; nothing fails as a whole.
    pub fn load(ckpt: &Checkpoint, sel: &Selection) -> Overview {
        let mut sections: Vec<Box<dyn Section>> = Vec::new();
        for name in SECTIONS {
            if !sel.wants(name) {
                continue;
            }
            let s: Box<dyn Section> = match name {
                "container" => Box::new(super::container::Container::load(ckpt)),
                "checkpoint" => Box::new(super::dump::DumpInfo::load(ckpt)),
                "processes" => Box::new(super::processes::Processes::load(ckpt, sel.details)),
                "namespaces" => Box::new(super::namespaces::Namespaces::load(ckpt)),
                "net" => Box::new(super::net::Net::load(ckpt)),
                "mounts" => Box::new(super::mounts::Mounts::load(ckpt)),
                "cgroups" => Box::new(super::cgroups::Cgroups::load(ckpt)),
                "stats" => Box::new(super::stats::Stats::load(ckpt)),
                "files" => Box::new(super::files::Files::load(ckpt)),
                _ => continue,
            };
            sections.push(s);
        }
        Overview { sections }
    }

    /// The sections, in order.
    pub fn sections(&self) -> impl Iterator<Item = &dyn Section> {
        self.sections.iter().map(|s| s.as_ref())
    }

    /// Every section's problems, each said once (sections that read the same image report the
    /// same problem), in order.
    pub fn problems(&self) -> Vec<&Problem> {
        let mut out: Vec<&Problem> = Vec::new();
        for p in self.sections.iter().flat_map(|s| s.problems()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// The sections as text, a blank line between them, then what could not be read, each
    /// problem once (a section alone prints its problems under it; together they would repeat).
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for (i, s) in self.sections.iter().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            let mut text = Vec::new();
            s.write_text(&mut text)?;
            for line in text.split_inclusive(|&b| b == b'\n') {
                if !line.starts_with(b"  ! ") {
                    out.write_all(line)?;
                }
            }
        }
        let problems = self.problems();
        if !problems.is_empty() {
            out.write_all(format!("\nproblems ({})\n", problems.len()).as_bytes())?;
            for p in problems {
                out.write_all(format!("  ! {p}\n").as_bytes())?;
            }
        }
        Ok(())
    }

    /// One JSON object with a member per section (its name: its object), then the problems of
    /// all of them said once:
    ///
    /// ```text
    /// {"container": {...}, "checkpoint": {...}, "processes": {...}, ...,
    ///  "problems": [{"file": "...", "message": "..."}]}
    /// ```
    ///
    /// Each section's schema is documented on its type ([`super::container::Container`],
    /// [`super::dump::DumpInfo`], [`super::processes::Processes`], ...); all follow the
    /// conventions of the module [`super`].
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        for s in &self.sections {
            w.key(s.name());
            s.write_json(&mut w);
        }
        let problems: Vec<Problem> = self.problems().into_iter().cloned().collect();
        super::json_problems(&mut w, &problems);
        w.end_object();
        let mut buf = w.take();
        buf.push(b'\n');
        out.write_all(&buf)
    }
}
