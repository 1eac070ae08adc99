//! Cgroups (`cgroup.img`): the cgroup sets tasks are in (a path per controller), the
//! controllers (hierarchies) with the directory trees CRIU saved under them, and each
//! directory's properties (`cpu.shares`, `pids.max`, ...) with their permissions.
//!
//! CRIU writes `cgroup.img` when the tasks' cgroups differ from its own (`--manage-cgroups`
//! decides what restore does with it, not whether it is written); `--cgroup-dump-controller`
//! limits it to some controllers. A set's id is what `core-PID.img` (`tc.cg_set`) and
//! `inventory.img` (`root_cg_set`, CRIU's own set) refer to. A controller's `dirs` hold the
//! path from the hierarchy's root down to the tasks' cgroups (the first directory name may span
//! several levels, `libpod_parent/libpod-…`) and every cgroup below it.
//!
//! The name `""` is the cgroup v2 unified hierarchy; `name=X` are named v1 hierarchies.

use std::io::{self, Write};

use criu_image_proto::support::json::JsonWriter;
use criu_image_proto::view;

use super::{
    Problem, Section, Table, Tasks, elide, first_view, json_opt_u64, json_problems, json_u32s, lossy, text_problems,
    wrap,
};
use crate::checkpoint::Checkpoint;
use crate::image::Kind;

/// Deepest directory tree followed (the image's own nesting limit is checked by its views).
const MAX_DEPTH: usize = 64;

/// Mode, owner and group of a cgroup file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perms {
    /// `st_mode`, file type bits included.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
}

impl Perms {
    fn of(p: &view::CgroupPerms<'_>) -> Perms {
        Perms { mode: p.mode(), uid: p.uid(), gid: p.gid() }
    }
}

/// One controller's path in a set (`cg_member_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Controller (hierarchy) name: `cpu`, `pids`, `name=systemd`, or `""` for cgroup v2.
    pub controller: Vec<u8>,
    /// The cgroup's path in that hierarchy.
    pub path: Vec<u8>,
    /// Length of the path prefix hidden by the task's cgroup namespace, when it has one.
    pub cgns_prefix: Option<u32>,
}

/// A cgroup set (`cg_set_entry`): where a group of tasks is in every hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgSet {
    /// The set's id.
    pub id: u32,
    /// Per controller, the cgroup path.
    pub members: Vec<Member>,
    /// PIDs of the tasks whose `core-PID.img` names this set.
    pub tasks: Vec<u32>,
    /// Whether it is CRIU's own set (`inventory.img` `root_cg_set`).
    pub dumpers: bool,
}

/// A cgroup property (`cgroup_prop_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// File name (`cpu.shares`).
    pub name: Vec<u8>,
    /// Its content as CRIU read it.
    pub value: Vec<u8>,
    /// The file's permissions, when saved.
    pub perms: Option<Perms>,
}

/// A cgroup directory (`cgroup_dir_entry`) and the tree below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgDir {
    /// Its name relative to its parent (the first level may hold several components).
    pub name: Vec<u8>,
    /// Its path from the hierarchy's root.
    pub path: Vec<u8>,
    /// Its properties.
    pub properties: Vec<Property>,
    /// The directory's permissions, when saved.
    pub perms: Option<Perms>,
    /// Its sub-cgroups.
    pub children: Vec<CgDir>,
}

/// A hierarchy (`cg_controller_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controller {
    /// The controllers mounted together in it (`cpu,cpuacct`), or `""` for cgroup v2.
    pub names: Vec<Vec<u8>>,
    /// Whether it supports threaded cgroups, when recorded.
    pub threaded: Option<bool>,
    /// The saved directory trees.
    pub dirs: Vec<CgDir>,
}

/// The cgroups section.
#[derive(Clone, Debug, Default)]
pub struct Cgroups {
    /// Whether the checkpoint has a `cgroup.img`.
    pub present: bool,
    /// Cgroup sets.
    pub sets: Vec<CgSet>,
    /// Hierarchies.
    pub controllers: Vec<Controller>,
    /// PIDs whose `core-PID.img` names no set (they are in CRIU's own cgroups).
    pub tasks_without_set: Vec<u32>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Cgroups {
    /// Reads `cgroup.img` and each task's set from `core-PID.img`.
    pub fn load(ckpt: &Checkpoint) -> Cgroups {
        let mut problems = Vec::new();
        let tasks = Tasks::load(ckpt, &mut problems);
        let mut out = Cgroups::default();
        if let Some(e) = first_view::<view::CgroupEntry<'_>>(ckpt, "cgroup.img", Kind::Cgroup, &mut problems) {
            out.present = true;
            for s in e.sets() {
                let members = s
                    .ctls()
                    .into_iter()
                    .map(|m| Member { controller: m.name().to_vec(), path: m.path().to_vec(), cgns_prefix: m.cgns_prefix() })
                    .collect();
                out.sets.push(CgSet { id: s.id(), members, tasks: Vec::new(), dumpers: tasks.root_cg_set == Some(s.id()) });
            }
            for c in e.controllers() {
                let dirs = c.dirs().into_iter().map(|d| dir_of(&d, b"", 0, &mut problems)).collect();
                out.controllers.push(Controller {
                    names: c.cnames().into_iter().map(<[u8]>::to_vec).collect(),
                    threaded: c.is_threaded(),
                    dirs,
                });
            }
        } else if ckpt.contains("cgroup.img") && problems.is_empty() {
            problems.push(Problem { file: "cgroup.img".into(), message: "holds no entry".into() });
        }
        for t in &tasks.tasks {
            let name = format!("core-{}.img", t.pid);
            // The task's set is in `tc.cg_set` (older CRIU) or its main thread's
            // `thread_core.cg_set` (what CRIU 4.x writes).
            let set = first_view::<view::CoreEntry<'_>>(ckpt, &name, Kind::Core, &mut problems)
                .and_then(|c| c.tc().and_then(|tc| tc.cg_set()).or_else(|| c.thread_core().and_then(|t| t.cg_set())));
            match set.and_then(|id| out.sets.iter_mut().find(|s| s.id == id)) {
                Some(s) => s.tasks.push(t.pid),
                None => {
                    if let Some(id) = set.filter(|_| out.present) {
                        problems.push(Problem { file: name, message: format!("cgroup set {id} is not in cgroup.img") });
                    }
                    out.tasks_without_set.push(t.pid);
                }
            }
        }
        out.problems = problems;
        out
    }
}

fn dir_of(d: &view::CgroupDirEntry<'_>, parent: &[u8], depth: usize, problems: &mut Vec<Problem>) -> CgDir {
    let name = d.dir_name().to_vec();
    let mut path = parent.to_vec();
    if !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(&name);
    let properties = d
        .properties()
        .into_iter()
        .map(|p| Property { name: p.name().to_vec(), value: p.value().to_vec(), perms: p.perms().map(|x| Perms::of(&x)) })
        .collect();
    let children = if depth >= MAX_DEPTH {
        problems.push(Problem {
            file: "cgroup.img".into(),
            message: format!("{}: more than {MAX_DEPTH} levels of directories; deeper ones are not shown", lossy(&path)),
        });
        Vec::new()
    } else {
        d.children().into_iter().map(|c| dir_of(&c, &path, depth + 1, problems)).collect()
    };
    CgDir { name, path, properties, perms: d.dir_perms().map(|p| Perms::of(&p)), children }
}

/// The properties worth a line of text: set ones, not the bookkeeping every v1 cgroup has.
fn interesting(p: &Property) -> bool {
    !p.value.is_empty()
        && !matches!(
            (p.name.as_slice(), p.value.as_slice()),
            (b"cgroup.clone_children", b"0") | (b"notify_on_release", b"0")
        )
}

fn controller_label(c: &Controller) -> String {
    let names: Vec<String> = c.names.iter().map(|n| if n.is_empty() { "(v2)".into() } else { lossy(n).into_owned() }).collect();
    names.join(",")
}

impl Section for Cgroups {
    fn name(&self) -> &'static str {
        "cgroups"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The sets (controllers grouped by path), then each hierarchy's saved directories,
    /// indented, with the properties that are set, wrapped at 80 columns (empty values and
    /// `cgroup.clone_children=0`/`notify_on_release=0` are left out of the text; the JSON has
    /// all). Hierarchies with nothing to show share one line. Long paths are shortened in the
    /// middle.
    ///
    /// ```text
    /// cgroup set 2 (tasks 1)
    ///   /facets-box  cpu pids
    /// cpu (threaded)
    ///   /facets-box  0755 0:0
    ///       cpu.shares=512 cpu.cfs_period_us=100000 cpu.cfs_quota_us=-1
    /// ```
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        if !self.present {
            b.extend_from_slice(b"cgroups: no cgroup.img (the tasks were in the dumper's cgroups)\n");
        }
        for s in &self.sets {
            let whose = if s.dumpers { ", the dumper's" } else { "" };
            b.extend_from_slice(format!("cgroup set {} (tasks {}{whose})\n", s.id, super::join_or_dash(&s.tasks)).as_bytes());
            let mut by_path: Vec<(String, Vec<String>)> = Vec::new();
            for m in &s.members {
                let c = if m.controller.is_empty() { "(v2)".into() } else { lossy(&m.controller).into_owned() };
                let mut p = lossy(&m.path).into_owned();
                if let Some(n) = m.cgns_prefix {
                    p.push_str(&format!(" (cgroup ns hides {n} bytes)"));
                }
                match by_path.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, cs)) => cs.push(c),
                    None => by_path.push((p, vec![c])),
                }
            }
            let mut t = Table::headless(&[false, false]);
            for (p, cs) in by_path {
                t.row(vec![elide(&p, 40), cs.join(" ")]);
            }
            t.render("  ", &mut b);
        }
        let mut quiet = Vec::new();
        for c in &self.controllers {
            let has_props = |d: &CgDir| -> bool {
                let mut stack = vec![d];
                while let Some(d) = stack.pop() {
                    if d.properties.iter().any(interesting) {
                        return true;
                    }
                    stack.extend(d.children.iter());
                }
                false
            };
            if c.dirs.len() <= 1 && c.dirs.iter().all(|d| d.children.is_empty() && !has_props(d)) {
                quiet.push(controller_label(c));
                continue;
            }
            let threaded = if c.threaded == Some(true) { " (threaded)" } else { "" };
            b.extend_from_slice(format!("{}{threaded}\n", controller_label(c)).as_bytes());
            let mut stack: Vec<(usize, &CgDir)> = c.dirs.iter().rev().map(|d| (0, d)).collect();
            while let Some((depth, d)) = stack.pop() {
                let indent = "  ".repeat(depth.min(16) + 1);
                let name = if depth == 0 { lossy(&d.path).into_owned() } else { lossy(&d.name).into_owned() };
                let mode = d.perms.map(|p| format!("  {:04o} {}:{}", p.mode & 0o7777, p.uid, p.gid)).unwrap_or_default();
                b.extend_from_slice(format!("{indent}{}{mode}\n", elide(&name, 48)).as_bytes());
                let props: Vec<String> = d
                    .properties
                    .iter()
                    .filter(|p| interesting(p))
                    .map(|p| format!("{}={}", lossy(&p.name), lossy(&p.value).replace('\n', ",")))
                    .collect();
                wrap(&props, &format!("{indent}    "), 80, &mut b);
                for ch in d.children.iter().rev() {
                    stack.push((depth + 1, ch));
                }
            }
        }
        if !quiet.is_empty() {
            let mut words = vec!["nothing set in:".to_string()];
            words.extend(quiet);
            wrap(&words, "", 80, &mut b);
        }
        if !self.tasks_without_set.is_empty() && self.present {
            b.extend_from_slice(
                format!("tasks {} name no cgroup set\n", super::join_or_dash(&self.tasks_without_set)).as_bytes(),
            );
        }
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```json
    /// {"present": true,
    ///  "sets": [{"id": 2, "tasks": [1], "host": false,
    ///            "members": [{"controller": "cpu", "path": "/box", "cgns_prefix": null}]}],
    ///  "controllers": [{"names": ["cpu"], "threaded": true | null,
    ///    "dirs": [{"name": "box", "path": "/box", "mode": 16877 | null, "uid": 0 | null,
    ///              "gid": 0 | null,
    ///              "properties": [{"name": "cpu.shares", "value": "512",
    ///                              "mode": 33188 | null, "uid": 0 | null, "gid": 0 | null}],
    ///              "children": [...]}]}],
    ///  "tasks_without_set": [],
    ///  "problems": [...]}
    /// ```
    /// Controller `""` is cgroup v2. Modes are `st_mode` numbers.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("present");
        w.bool(self.present);
        w.key("sets");
        w.begin_array();
        for s in &self.sets {
            w.begin_object();
            w.key("id");
            w.u64(u64::from(s.id));
            w.key("tasks");
            json_u32s(w, &s.tasks);
            w.key("host");
            w.bool(s.dumpers);
            w.key("members");
            w.begin_array();
            for m in &s.members {
                w.begin_object();
                w.key("controller");
                w.str_bytes(&m.controller);
                w.key("path");
                w.str_bytes(&m.path);
                w.key("cgns_prefix");
                json_opt_u64(w, m.cgns_prefix.map(u64::from));
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key("controllers");
        w.begin_array();
        for c in &self.controllers {
            w.begin_object();
            w.key("names");
            w.begin_array();
            for n in &c.names {
                w.str_bytes(n);
            }
            w.end_array();
            w.key("threaded");
            match c.threaded {
                Some(t) => w.bool(t),
                None => w.raw_value("null"),
            }
            w.key("dirs");
            w.begin_array();
            for d in &c.dirs {
                write_dir_json(w, d);
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key("tasks_without_set");
        json_u32s(w, &self.tasks_without_set);
        json_problems(w, &self.problems);
        w.end_object();
    }
}

fn write_perms_json(w: &mut JsonWriter<'_>, p: Option<Perms>) {
    for (k, v) in [("mode", p.map(|p| p.mode)), ("uid", p.map(|p| p.uid)), ("gid", p.map(|p| p.gid))] {
        w.key(k);
        json_opt_u64(w, v.map(u64::from));
    }
}

fn write_dir_json(w: &mut JsonWriter<'_>, d: &CgDir) {
    w.begin_object();
    w.key("name");
    w.str_bytes(&d.name);
    w.key("path");
    w.str_bytes(&d.path);
    write_perms_json(w, d.perms);
    w.key("properties");
    w.begin_array();
    for p in &d.properties {
        w.begin_object();
        w.key("name");
        w.str_bytes(&p.name);
        w.key("value");
        w.str_bytes(&p.value);
        write_perms_json(w, p.perms);
        w.end_object();
    }
    w.end_array();
    w.key("children");
    w.begin_array();
    for c in &d.children {
        write_dir_json(w, c);
    }
    w.end_array();
    w.end_object();
}
