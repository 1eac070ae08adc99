//! Mount namespaces (`mountpoints-N.img`) as mount trees: each mount with its parent, mount
//! point, root inside its file system, file system type by name, source, options and flags,
//! propagation (shared and master peer groups), and whether it is external (`--external
//! mnt[...]`, or given a key by a container engine) or a bind mount of another.
//!
//! CRIU writes one `mnt_entry` per mount of the namespace, children before parents. Mount points
//! are as seen from the namespace's root. A mount whose parent is not in the image is a root of
//! the tree (normally exactly one: the namespace's `/`).
//!
//! Bind mounts are not marked in the image: CRIU recognises them at dump time as mounts of the
//! same superblock (`root_dev`) whose root lies inside another's. [`Mount::bind_of`] repeats
//! that rule: the mount of the same superblock whose root is the shortest prefix of this one's
//! (the lowest `mnt_id` among equals); file systems CRIU cannot mount itself (`unsupported`,
//! e.g. the host's ext4 root) can only be restored as binds of an external mount or of the root.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use criu_image_proto::schema::enums::Fstype;
use criu_image_proto::support::json::{self as pjson, JsonWriter};
use criu_image_proto::view;

use super::consts::{MS_FLAGS_TABLE, MS_RDONLY};
use super::namespaces::NsKind;
use super::{
    Problem, Section, Tasks, elide, flag_names, json_flags, json_named, json_opt_bytes, json_opt_u64, json_problems, json_u32s,
    lossy, numbered_files, text_problems, views,
};
use crate::checkpoint::Checkpoint;
use crate::image::Kind;

/// One mount (`mnt_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The mount's id (`/proc/PID/mountinfo` field 1).
    pub mnt_id: u32,
    /// Its parent's id (itself or absent from the image for the namespace's root).
    pub parent_mnt_id: u32,
    /// Where it is mounted, from the namespace's root.
    pub mountpoint: Vec<u8>,
    /// The directory of its file system that is mounted there (`/` unless a bind mount).
    pub root: Vec<u8>,
    /// The file system type as CRIU knows it.
    pub fstype: Fstype,
    /// The file system's name for types CRIU mounts generically (`fuse.*`, `auto`), if recorded.
    pub fsname: Option<Vec<u8>>,
    /// The mount source (device, `tmpfs`, `proc`, ...).
    pub source: Vec<u8>,
    /// Superblock options (`/proc/PID/mountinfo` field 11, without `ro`/`rw`).
    pub options: Vec<u8>,
    /// Per-mount `MS_*` flags, propagation bits included.
    pub flags: u32,
    /// Superblock `SB_*` flags (same bit values as `MS_*`), when recorded.
    pub sb_flags: Option<u32>,
    /// The device (`major:minor`) of its superblock.
    pub root_dev: u32,
    /// Its shared peer group (`shared:N`), 0 or absent when not shared.
    pub shared_id: Option<u32>,
    /// The peer group it receives propagation from (`master:N`), 0 or absent when none.
    pub master_id: Option<u32>,
    /// The key restore maps to a host path (`--external mnt[KEY]:PATH`), for external mounts.
    pub ext_key: Option<Vec<u8>>,
    /// The old-style external flag (`ext_mount`).
    pub ext_mount: bool,
    /// Dumped by a CRIU plugin.
    pub with_plugin: bool,
    /// Its sharing is internal to the dumped tree.
    pub internal_sharing: bool,
    /// Its mount point was deleted.
    pub deleted: bool,
    /// The mount it is a bind of (see the module doc), if any.
    pub bind_of: Option<u32>,
    /// The ids of its children, in image order.
    pub children: Vec<u32>,
}

impl Mount {
    /// The file system type's lower-case name (`tmpfs`, `proc`, `cgroup2`, `unsupported`), or
    /// its number when the schema has none; `fsname` wins when recorded.
    pub fn fstype_name(&self) -> String {
        if let Some(n) = &self.fsname {
            return lossy(n).into_owned();
        }
        match self.fstype.name() {
            Some(n) => n.to_ascii_lowercase(),
            None => self.fstype.0.to_string(),
        }
    }

    /// Whether it is mounted read-only.
    pub fn read_only(&self) -> bool {
        u64::from(self.flags) & MS_RDONLY != 0
    }

    /// Whether restore needs it from outside the checkpoint.
    pub fn external(&self) -> bool {
        self.ext_key.is_some() || self.ext_mount
    }

    /// `major:minor` of `root_dev` (the kernel's encoding, 20 minor bits).
    pub fn dev_text(&self) -> String {
        let mut s = String::new();
        pjson::format_dev_kernel(u64::from(self.root_dev), &mut s);
        s
    }

    fn propagation(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(s) = self.shared_id.filter(|&s| s != 0) {
            p.push(format!("shared:{s}"));
        }
        if let Some(m) = self.master_id.filter(|&m| m != 0) {
            p.push(format!("master:{m}"));
        }
        p
    }
}

/// One mount namespace's mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountNs {
    /// CRIU's id of the namespace.
    pub id: u32,
    /// The image it was read from.
    pub file: String,
    /// PIDs of the tasks in it.
    pub tasks: Vec<u32>,
    /// The mounts in image order.
    pub mounts: Vec<Mount>,
    /// Mounts whose parent is not in the image: the tree's roots, normally the namespace's `/`.
    pub roots: Vec<u32>,
}

impl MountNs {
    /// A mount by id.
    pub fn get(&self, mnt_id: u32) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.mnt_id == mnt_id)
    }

    /// The mounts depth-first from the roots, children sorted by mount point, with their depth.
    /// Every mount appears once, even in a corrupt image whose parent links loop.
    pub fn tree(&self) -> Vec<(usize, &Mount)> {
        let by_id: HashMap<u32, &Mount> = self.mounts.iter().map(|m| (m.mnt_id, m)).collect();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(self.mounts.len());
        let mut stack: Vec<(usize, u32)> = self.sorted(&self.roots, &by_id).into_iter().rev().map(|id| (0, id)).collect();
        while let Some((depth, id)) = stack.pop() {
            let Some(m) = by_id.get(&id) else { continue };
            if !seen.insert(id) {
                continue;
            }
            out.push((depth, *m));
            for c in self.sorted(&m.children, &by_id).into_iter().rev() {
                stack.push((depth + 1, c));
            }
        }
        // Mounts caught in a parent loop are unreachable from any root: list them at the end.
        for m in &self.mounts {
            if seen.insert(m.mnt_id) {
                out.push((0, m));
            }
        }
        out
    }

    fn sorted(&self, ids: &[u32], by_id: &HashMap<u32, &Mount>) -> Vec<u32> {
        let mut v = ids.to_vec();
        v.sort_by(|a, b| {
            let ka = by_id.get(a).map(|m| m.mountpoint.as_slice());
            let kb = by_id.get(b).map(|m| m.mountpoint.as_slice());
            ka.cmp(&kb).then(a.cmp(b))
        });
        v
    }
}

/// The mounts section: every `mountpoints-N.img`.
#[derive(Clone, Debug, Default)]
pub struct Mounts {
    /// One entry per mount namespace image, by id.
    pub namespaces: Vec<MountNs>,
    /// Mount namespaces tasks are in that have no image (the dumper's own, not dumped).
    pub not_dumped: Vec<u32>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Mounts {
    /// Reads every `mountpoints-N.img` and which tasks are in each namespace.
    pub fn load(ckpt: &Checkpoint) -> Mounts {
        let mut problems = Vec::new();
        let tasks = Tasks::load(ckpt, &mut problems);
        let mut out = Mounts::default();
        for (id, file) in numbered_files(ckpt, "mountpoints-", ".img") {
            let Some(entries) = views::<view::MntEntry<'_>>(ckpt, &file, Kind::Mnts, &mut problems) else { continue };
            let mut mounts: Vec<Mount> = entries.iter().map(mount_of).collect();
            link(&mut mounts, &file, &mut problems);
            let ids: std::collections::HashSet<u32> = mounts.iter().map(|m| m.mnt_id).collect();
            let roots =
                mounts.iter().filter(|m| m.parent_mnt_id == m.mnt_id || !ids.contains(&m.parent_mnt_id)).map(|m| m.mnt_id).collect();
            out.namespaces.push(MountNs { id, file, tasks: tasks.using(NsKind::Mnt, id), mounts, roots });
        }
        let mut used: Vec<u32> = tasks.tasks.iter().filter_map(|t| t.ids.and_then(|i| i.mnt)).collect();
        used.sort_unstable();
        used.dedup();
        out.not_dumped = used.into_iter().filter(|id| !out.namespaces.iter().any(|n| n.id == *id)).collect();
        out.problems = problems;
        out
    }
}

fn mount_of(e: &view::MntEntry<'_>) -> Mount {
    Mount {
        mnt_id: e.mnt_id(),
        parent_mnt_id: e.parent_mnt_id(),
        mountpoint: e.mountpoint().to_vec(),
        root: e.root().to_vec(),
        fstype: Fstype(e.fstype() as i32),
        fsname: e.fsname().map(<[u8]>::to_vec),
        source: e.source().to_vec(),
        options: e.options().to_vec(),
        flags: e.flags(),
        sb_flags: e.sb_flags(),
        root_dev: e.root_dev(),
        shared_id: e.shared_id(),
        master_id: e.master_id(),
        ext_key: e.ext_key().map(<[u8]>::to_vec),
        ext_mount: e.ext_mount() == Some(true),
        with_plugin: e.with_plugin() == Some(true),
        internal_sharing: e.internal_sharing() == Some(true),
        deleted: e.deleted() == Some(true),
        bind_of: None,
        children: Vec::new(),
    }
}

/// Whether `inner` is `outer` or a path below it.
fn path_within(inner: &[u8], outer: &[u8]) -> bool {
    if outer == b"/" {
        return inner.starts_with(b"/");
    }
    inner.starts_with(outer) && matches!(inner.get(outer.len()), None | Some(b'/'))
}

/// Children lists and bind sources; duplicate ids become a problem.
fn link(mounts: &mut [Mount], file: &str, problems: &mut Vec<Problem>) {
    let mut index: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, m) in mounts.iter().enumerate() {
        if index.insert(m.mnt_id, i).is_some() {
            problems.push(Problem { file: file.into(), message: format!("mount id {} appears more than once", m.mnt_id) });
        }
    }
    let mut children: Vec<(usize, u32)> = Vec::new();
    for m in mounts.iter() {
        if m.parent_mnt_id != m.mnt_id
            && let Some(&p) = index.get(&m.parent_mnt_id)
        {
            children.push((p, m.mnt_id));
        }
    }
    for (p, c) in children {
        mounts[p].children.push(c);
    }
    let mut binds = Vec::with_capacity(mounts.len());
    for m in mounts.iter() {
        let src = mounts
            .iter()
            .filter(|o| o.mnt_id != m.mnt_id && o.root_dev == m.root_dev && path_within(&m.root, &o.root))
            .filter(|o| o.root.len() < m.root.len() || o.mnt_id < m.mnt_id)
            .min_by_key(|o| (o.root.len(), o.mnt_id))
            .map(|o| o.mnt_id);
        binds.push(src);
    }
    for (m, b) in mounts.iter_mut().zip(binds) {
        m.bind_of = b;
    }
}

impl Section for Mounts {
    fn name(&self) -> &'static str {
        "mounts"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Per namespace, the tree (mount points indented under their parents) with id, type,
    /// `ro`/`rw`, and what else matters: source (and root, for binds), propagation, external key.
    ///
    /// ```text
    /// mount namespace 14 (mountpoints-14.img): 24 mounts, tasks 1
    ///    ID  TYPE         MODE  MOUNTPOINT                 SOURCE / NOTES
    ///   114  unsupported  rw    /                          /dev/vda
    ///   108  tmpfs        rw      /tmp/box/mt/tmp1         facets-tmp
    ///   117  unsupported  ro      /tmp/box/mt/bind1        bind 114:/tmp/box/host/data
    /// ```
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        if self.namespaces.is_empty() {
            b.extend_from_slice(b"mounts: no mountpoints-*.img (the tasks share the dumper's mount namespace)\n");
        }
        for ns in &self.namespaces {
            b.extend_from_slice(
                format!(
                    "mount namespace {} ({}): {} mounts, tasks {}\n",
                    ns.id,
                    ns.file,
                    ns.mounts.len(),
                    super::join_or_dash(&ns.tasks)
                )
                .as_bytes(),
            );
            let mut t = super::Table::new(&["ID", "TYPE", "MODE", "MOUNTPOINT", "SOURCE / NOTES"], &[true, false, false, false, false]);
            for (depth, m) in ns.tree() {
                // A bind shows what it binds (its source is its origin's); others their source.
                let mut notes = match m.bind_of {
                    Some(b) => format!("bind {b}"),
                    None => lossy(&m.source).into_owned(),
                };
                if m.root != b"/" {
                    notes.push(':');
                    notes.push_str(&elide(&lossy(&m.root), 32));
                }
                for p in m.propagation() {
                    notes.push(' ');
                    notes.push_str(&p);
                }
                if let Some(k) = &m.ext_key {
                    // Engines key external mounts by their mount point; say so only when not.
                    if *k == m.mountpoint {
                        notes.push_str(" external");
                    } else {
                        notes.push_str(&format!(" external:{}", lossy(k)));
                    }
                } else if m.ext_mount {
                    notes.push_str(" external");
                }
                if m.deleted {
                    notes.push_str(" (deleted)");
                }
                t.row(vec![
                    m.mnt_id.to_string(),
                    m.fstype_name(),
                    if m.read_only() { "ro".into() } else { "rw".into() },
                    format!("{}{}", "  ".repeat(depth.min(16)), lossy(&m.mountpoint)),
                    notes,
                ]);
            }
            t.render("  ", &mut b);
        }
        if !self.not_dumped.is_empty() {
            b.extend_from_slice(
                format!("mount namespaces {} are the dumper's own (not dumped)\n", super::join_or_dash(&self.not_dumped)).as_bytes(),
            );
        }
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```json
    /// {"namespaces": [{"id": 14, "file": "mountpoints-14.img", "tasks": [1], "roots": [114],
    ///    "mounts": [{"mnt_id": 117, "parent_mnt_id": 114, "mountpoint": "/mnt/b", "root": "/data",
    ///                "fstype": "tmpfs", "fsname": null, "source": "tmpfs", "options": "size=64k",
    ///                "flags": ["ro", "relatime"], "sb_flags": [] | null, "dev": "0:51",
    ///                "read_only": true, "shared_id": 1 | null, "master_id": null,
    ///                "external": false, "ext_key": null, "bind_of": 114 | null,
    ///                "children": [...], "deleted": false, "with_plugin": false,
    ///                "internal_sharing": false}]}],
    ///  "not_dumped": [6],
    ///  "problems": [...]}
    /// ```
    /// Mounts are in image order; `children` and `roots` give the tree. `fstype` is the schema's
    /// name in lower case (or its number), `shared_id`/`master_id` are `null` when 0 or absent.
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("namespaces");
        w.begin_array();
        for ns in &self.namespaces {
            w.begin_object();
            w.key("id");
            w.u64(u64::from(ns.id));
            w.key("file");
            w.str(&ns.file);
            w.key("tasks");
            json_u32s(w, &ns.tasks);
            w.key("roots");
            json_u32s(w, &ns.roots);
            w.key("mounts");
            w.begin_array();
            for m in &ns.mounts {
                w.begin_object();
                w.key("mnt_id");
                w.u64(u64::from(m.mnt_id));
                w.key("parent_mnt_id");
                w.u64(u64::from(m.parent_mnt_id));
                w.key("mountpoint");
                w.str_bytes(&m.mountpoint);
                w.key("root");
                w.str_bytes(&m.root);
                w.key("fstype");
                let lower = m.fstype.name().map(str::to_ascii_lowercase);
                json_named(w, lower.as_deref(), i64::from(m.fstype.0));
                w.key("fsname");
                json_opt_bytes(w, m.fsname.as_deref());
                w.key("source");
                w.str_bytes(&m.source);
                w.key("options");
                w.str_bytes(&m.options);
                w.key("flags");
                json_flags(w, u64::from(m.flags), MS_FLAGS_TABLE);
                w.key("sb_flags");
                match m.sb_flags {
                    Some(f) => json_flags(w, u64::from(f), MS_FLAGS_TABLE),
                    None => w.raw_value("null"),
                }
                w.key("dev");
                w.str(&m.dev_text());
                w.key("read_only");
                w.bool(m.read_only());
                w.key("shared_id");
                json_opt_u64(w, m.shared_id.filter(|&s| s != 0).map(u64::from));
                w.key("master_id");
                json_opt_u64(w, m.master_id.filter(|&s| s != 0).map(u64::from));
                w.key("external");
                w.bool(m.external());
                w.key("ext_key");
                json_opt_bytes(w, m.ext_key.as_deref());
                w.key("bind_of");
                json_opt_u64(w, m.bind_of.map(u64::from));
                w.key("children");
                json_u32s(w, &m.children);
                w.key("deleted");
                w.bool(m.deleted);
                w.key("with_plugin");
                w.bool(m.with_plugin);
                w.key("internal_sharing");
                w.bool(m.internal_sharing);
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key("not_dumped");
        json_u32s(w, &self.not_dumped);
        json_problems(w, &self.problems);
        w.end_object();
    }
}

/// The names of a mount's `MS_*` flags (propagation bits included), as in the JSON.
pub fn mount_flag_names(flags: u32) -> Vec<String> {
    flag_names(u64::from(flags), MS_FLAGS_TABLE).into_iter().map(|c| c.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::path_within;

    #[test]
    fn paths() {
        assert!(path_within(b"/a/b", b"/"));
        assert!(path_within(b"/a/b", b"/a"));
        assert!(path_within(b"/a", b"/a"));
        assert!(!path_within(b"/ab", b"/a"));
        assert!(!path_within(b"/a", b"/a/b"));
    }
}
