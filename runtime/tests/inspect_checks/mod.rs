//! Checks of the inspect sections against what other tools said about the same checkpoint:
//! `ip -j … show` and `/proc/self/mountinfo` captured inside the namespaces at dump time,
//! `ipcs`, `/proc/self/cgroup`, and CRIU's crit decoding the images. Shared by the fixture tests
//! (`inspect.rs`, on `testdata/images/nsbox`) and the test that dumps with real CRIU
//! (`inspect_criu.rs`).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;

use criu_image::inspect::cgroups::Cgroups;
use criu_image::inspect::mounts::{Mount, Mounts};
use criu_image::inspect::namespaces::Namespaces;
use criu_image::inspect::net::netlink::NetAddr;
use criu_image::inspect::net::{Net, NetNs};
use criu_image::proto::support::json_in::{self, Value};

// ---------------------------------------------------------------------------------------------
// JSON of other tools, read with the project's parser

pub trait J {
    fn at(&self, key: &str) -> Option<&Value>;
    fn s(&self, key: &str) -> Option<String>;
    fn n(&self, key: &str) -> Option<i64>;
    fn list(&self) -> &[Value];
    fn flag(&self, key: &str) -> bool;
}

impl J for Value {
    fn at(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
    fn s(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    fn n(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
    fn list(&self) -> &[Value] {
        match self {
            Value::Array(a) => a,
            _ => &[],
        }
    }
    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Bool(true)))
    }
}

pub fn parse(bytes: &[u8], what: &str) -> Value {
    json_in::parse(bytes).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The first entry of what CRIU's crit printed for an image (`crit decode`, plain JSON).
pub fn crit_entries(crit_reference_dir: &Path, file: &str) -> Vec<Value> {
    let p = crit_reference_dir.join(format!("{file}.plain.json"));
    let v = parse(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())), file);
    v.at("entries").unwrap().list().to_vec()
}

/// What the tools printed inside the namespaces just before the dump.
pub struct Captured {
    pub ip_addr: Value,
    pub ip_link: Value,
    pub ip_route: Value,
    pub ip_route6: Value,
    pub ip_rule: Value,
    pub mountinfo: String,
    pub ipcs: String,
    pub cgroup: String,
}

impl Captured {
    /// Reads `NAME` files through `path(NAME)` (`ip-addr.json`, `mountinfo`, `ipcs.txt`, ...).
    pub fn read(path: impl Fn(&str) -> std::path::PathBuf) -> Captured {
        let rd = |n: &str| std::fs::read(path(n)).unwrap_or_else(|e| panic!("{}: {e}", path(n).display()));
        let text = |n: &str| String::from_utf8(rd(n)).unwrap();
        Captured {
            ip_addr: parse(&rd("ip-addr.json"), "ip-addr.json"),
            ip_link: parse(&rd("ip-link.json"), "ip-link.json"),
            ip_route: parse(&rd("ip-route.json"), "ip-route.json"),
            ip_route6: parse(&rd("ip-route6.json"), "ip-route6.json"),
            ip_rule: parse(&rd("ip-rule.json"), "ip-rule.json"),
            mountinfo: text("mountinfo"),
            ipcs: text("ipcs.txt"),
            cgroup: text("cgroup.txt"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Network

/// The one dumped network namespace of the scenario.
pub fn the_netns(net: &Net) -> &NetNs {
    assert!(net.problems.is_empty(), "{:?}", net.problems);
    assert_eq!(net.namespaces.len(), 1, "{:?}", net.namespaces.iter().map(|n| n.id).collect::<Vec<_>>());
    &net.namespaces[0]
}

/// Devices against `ip -j -d link show`: index, name, MTU, MAC, master, kind and flags (`ip`
/// hides IFF_RUNNING and says NO-CARRIER for an up device without it).
pub fn check_devices(ns: &NetNs, ip_link: &Value) {
    let links = ip_link.list();
    assert_eq!(links.len(), ns.devices.len(), "ip link shows {} devices, netdev-N.img has {}", links.len(), ns.devices.len());
    for l in links {
        let ifindex = l.n("ifindex").unwrap() as u32;
        let d = ns.device(ifindex).unwrap_or_else(|| panic!("no device {ifindex} in netdev-N.img"));
        let name = l.s("ifname").unwrap();
        assert_eq!(d.name, name.as_bytes(), "ifindex {ifindex}");
        assert_eq!(i64::from(d.mtu), l.n("mtu").unwrap(), "{name} mtu");
        if l.s("link_type").as_deref() == Some("loopback") {
            assert_eq!(d.kind_name().as_deref(), Some("loopback"), "{name}");
        } else {
            assert_eq!(d.address_text(), l.s("address"), "{name} mac");
            let kind = l.at("linkinfo").and_then(|i| i.s("info_kind")).unwrap();
            assert_eq!(d.kind_name().as_deref(), Some(kind.as_str()), "{name} kind");
        }
        let master = l.s("master");
        assert_eq!(d.master.map(|m| String::from_utf8(ns.device(m).unwrap().name.clone()).unwrap()), master, "{name} master");
        let ip_flags: BTreeSet<String> = l.at("flags").unwrap().list().iter().map(|f| match f {
            Value::String(s) => String::from_utf8(s.clone()).unwrap(),
            _ => panic!(),
        }).collect();
        let ours = criu_image::inspect::net::device_flag_names(d.flags);
        let running = ours.iter().any(|f| f == "running");
        let ours: BTreeSet<String> = ours.into_iter().filter(|f| f != "running").map(|f| f.to_ascii_uppercase()).collect();
        let mut theirs = ip_flags.clone();
        let no_carrier = theirs.remove("NO-CARRIER");
        assert_eq!(ours, theirs, "{name} flags");
        assert_eq!(no_carrier, ours.contains("UP") && !running, "{name}: NO-CARRIER");
    }
}

fn ip(a: Option<&NetAddr>) -> Option<String> {
    a.map(ToString::to_string)
}

/// Addresses against `ip -j addr show` (captured) or `ip -j addr showdump` (of the same file):
/// family, local and peer address, prefix, scope, label, and the flags `ip` names.
/// `exact`: the same set of addresses; otherwise IPv6 link-local ones (which the kernel adds and
/// settles on its own schedule) are left out on both sides and the DAD flags are not compared.
pub fn check_addresses(ns: &NetNs, ip_addr: &Value, exact: bool) {
    let mut theirs = Vec::new();
    // `ip addr show` nests addresses in links; `showdump` gives one object per address with `index`.
    for l in ip_addr.list() {
        let ifindex = l.n("ifindex");
        for a in l.at("addr_info").unwrap().list() {
            theirs.push((ifindex.or_else(|| a.n("index")).unwrap() as u32, a.clone()));
        }
    }
    let link_local = |fam: &str, scope: &str| fam == "inet6" && scope == "link";
    let mut seen = 0;
    for (ifindex, a) in &theirs {
        let fam = a.s("family").unwrap();
        let scope = a.s("scope").unwrap();
        if !exact && link_local(&fam, &scope) {
            continue;
        }
        let local = a.s("local").unwrap();
        let ours = ns
            .addresses_of(*ifindex)
            .find(|x| ip(x.primary()).as_deref() == Some(local.as_str()))
            .unwrap_or_else(|| panic!("{local} on if{ifindex} is not in ifaddr-N.img"));
        seen += 1;
        let fam_num = if fam == "inet" { 2 } else { 10 };
        assert_eq!(ours.family, fam_num, "{local}");
        assert_eq!(i64::from(ours.prefix_len), a.n("prefixlen").unwrap(), "{local}");
        assert_eq!(criu_image::inspect::net::scope_name(ours.scope), scope, "{local}");
        assert_eq!(ours.label.as_deref().map(|l| String::from_utf8(l.to_vec()).unwrap()), a.s("label"), "{local} label");
        assert_eq!(ip(ours.peer()), a.s("address"), "{local} peer");
        assert_eq!(ours.lifetimes.map(|l| i64::from(l.1)), a.n("valid_life_time"), "{local} valid lifetime");
        let names = criu_image::inspect::net::address_flag_names(ours);
        let mut keys = vec!["secondary", "temporary", "nodad", "home", "deprecated", "noprefixroute", "autojoin"];
        if exact {
            keys.extend(["tentative", "dadfailed", "optimistic"]);
        }
        for k in keys {
            assert_eq!(names.iter().any(|n| n == k), a.flag(k), "{local}: flag {k} in {names:?}");
        }
        // `ip` says `dynamic` for what the kernel does not mark permanent.
        assert_eq!(!names.iter().any(|n| n == "permanent"), a.flag("dynamic"), "{local}: dynamic");
    }
    let ours_count = ns
        .addresses
        .iter()
        .filter(|a| exact || !(a.family == 10 && criu_image::inspect::net::scope_name(a.scope) == "link"))
        .count();
    assert_eq!(seen, ours_count, "ifaddr-N.img has addresses ip did not show");
}

/// `ip -j route show table main` (and `-6`): destination, gateway, device, protocol, scope,
/// preferred source, metric, metrics, next hops, flags, IPv6 preference. The kernel's own
/// `fe80::/64` route of each link appears when the link gets its link-local address, on its own
/// schedule, so those are left out on both sides.
pub fn check_routes(ns: &NetNs, ip_route: &Value, family: u8) {
    let link_local = |dst: &Option<NetAddr>, len: u8| len == 64 && dst.as_ref().is_some_and(|d| d.to_string() == "fe80::");
    let ours: Vec<_> = ns.routes.iter().filter(|r| r.family == family && !link_local(&r.dst, r.dst_len)).collect();
    let theirs: Vec<Value> = ip_route.list().iter().filter(|t| t.s("dst").as_deref() != Some("fe80::/64")).cloned().collect();
    let theirs = theirs.as_slice();
    assert_eq!(theirs.len(), ours.len(), "routes of family {family}: ip shows {}, the images hold {}", theirs.len(), ours.len());
    for t in theirs {
        let dst = t.s("dst").unwrap();
        let dev = t.s("dev");
        let r = ours
            .iter()
            .find(|r| {
                let full = if r.dst_len == if family == 2 { 32 } else { 128 } { 0 } else { 1 };
                let d = match (&r.dst, full) {
                    (None, _) => "default".to_string(),
                    (Some(a), 0) => a.to_string(),
                    (Some(a), _) => format!("{a}/{}", r.dst_len),
                };
                d == dst && r.oif.map(|o| String::from_utf8(ns.device(o).unwrap().name.clone()).unwrap()) == dev
            })
            .unwrap_or_else(|| panic!("route {dst} dev {dev:?} is not in the images"));
        let what = format!("route {dst}");
        assert_eq!(ip(r.gateway.as_ref()), t.s("gateway"), "{what} gateway");
        assert_eq!(ip(r.prefsrc.as_ref()), t.s("prefsrc"), "{what} prefsrc");
        let proto = criu_image::inspect::net::protocol_name(r.protocol);
        assert_eq!(if proto == "boot" { None } else { Some(proto) }, t.s("protocol"), "{what} protocol");
        let scope = criu_image::inspect::net::scope_name(r.scope);
        assert_eq!(if scope == "global" { None } else { Some(scope) }, t.s("scope"), "{what} scope");
        assert_eq!(r.priority.map(i64::from), t.n("metric"), "{what} metric");
        let flags = criu_image::inspect::net::route_flag_names(r.flags);
        let ip_flags: Vec<String> = t.at("flags").map(|f| f.list().iter().map(|x| match x {
            Value::String(s) => String::from_utf8(s.clone()).unwrap(),
            _ => panic!(),
        }).collect()).unwrap_or_default();
        assert_eq!(flags, ip_flags, "{what} flags");
        if family == 10 {
            assert_eq!(r.pref.map(criu_image::inspect::net::pref_name), t.s("pref"), "{what} pref");
        }
        let mut ours_m: Vec<(String, String)> =
            r.metrics.iter().map(|&(k, v)| (criu_image::inspect::net::metric_name_of(k), v.to_string())).collect();
        if let Some(c) = &r.congctl {
            ours_m.push(("congestion".into(), String::from_utf8(c.clone()).unwrap()));
        }
        ours_m.sort();
        let mut theirs_m = Vec::new();
        if let Some(Value::Array(ms)) = t.at("metrics") {
            for m in ms {
                if let Value::Object(kv) = m {
                    for (k, v) in kv {
                        let v = match v {
                            Value::Number(n) => n.to_string(),
                            Value::String(s) => String::from_utf8(s.clone()).unwrap(),
                            _ => panic!(),
                        };
                        theirs_m.push((k.clone(), v));
                    }
                }
            }
        }
        theirs_m.sort();
        assert_eq!(ours_m, theirs_m, "{what} metrics");
        let theirs_nh = t.at("nexthops").map(|n| n.list().to_vec()).unwrap_or_default();
        assert_eq!(r.nexthops.len(), theirs_nh.len(), "{what} next hops");
        for (o, n) in r.nexthops.iter().zip(&theirs_nh) {
            assert_eq!(ip(o.gateway.as_ref()), n.s("gateway"), "{what} nexthop");
            assert_eq!(Some(String::from_utf8(ns.device(o.ifindex).unwrap().name.clone()).unwrap()), n.s("dev"), "{what} nexthop");
            assert_eq!(Some(i64::from(o.weight)), n.n("weight"), "{what} nexthop weight");
        }
    }
}

/// `ip -j rule show`: priority, source with length, fwmark and mask, table.
pub fn check_rules(ns: &NetNs, ip_rule: &Value) {
    let theirs = ip_rule.list();
    let v4: Vec<_> = ns.rules.iter().filter(|r| r.family == 2).collect();
    assert_eq!(theirs.len(), v4.len(), "rules");
    for (o, t) in v4.iter().zip(theirs) {
        assert_eq!(i64::from(o.priority), t.n("priority").unwrap());
        let src = ip(o.src.as_ref()).unwrap_or_else(|| "all".into());
        assert_eq!(Some(src), t.s("src"), "rule {}", o.priority);
        if o.src.is_some() {
            assert_eq!(Some(i64::from(o.src_len)), t.n("srclen"), "rule {}", o.priority);
        }
        assert_eq!(o.fwmark.map(|m| format!("{m:#x}")), t.s("fwmark"), "rule {}", o.priority);
        assert_eq!(o.fwmask.map(|m| format!("{m:#x}")), t.s("fwmask"), "rule {}", o.priority);
        assert_eq!(Some(criu_image::inspect::net::table_name(o.table)), t.s("table"), "rule {}", o.priority);
    }
}

// ---------------------------------------------------------------------------------------------
// Mounts

/// One line of `/proc/PID/mountinfo`.
pub struct MountInfo {
    pub id: u32,
    pub parent: u32,
    pub root: String,
    pub mountpoint: String,
    pub per_mount: Vec<String>,
    pub shared: Option<u32>,
    pub master: Option<u32>,
    pub fstype: String,
    pub source: String,
}

pub fn mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-").unwrap();
            let tag = |t: &str| f[6..sep].iter().find_map(|o| o.strip_prefix(t)).map(|v| v.parse().unwrap());
            MountInfo {
                id: f[0].parse().unwrap(),
                parent: f[1].parse().unwrap(),
                root: f[3].to_string(),
                mountpoint: f[4].to_string(),
                per_mount: f[5].split(',').map(str::to_string).collect(),
                shared: tag("shared:"),
                master: tag("master:"),
                fstype: f[sep + 1].to_string(),
                source: f[sep + 2].to_string(),
            }
        })
        .collect()
}

/// The mount tree against `/proc/self/mountinfo` of the dumped task: ids, parents, roots, mount
/// points, sources, per-mount flags, propagation groups, file system types CRIU names.
pub fn check_mounts_against_mountinfo(mounts: &Mounts, text: &str) {
    assert!(mounts.problems.is_empty(), "{:?}", mounts.problems);
    assert_eq!(mounts.namespaces.len(), 1);
    let ns = &mounts.namespaces[0];
    let mi = mountinfo(text);
    assert_eq!(ns.mounts.len(), mi.len(), "mountpoints-N.img holds {} mounts, mountinfo {}", ns.mounts.len(), mi.len());
    for m in &mi {
        let o: &Mount = ns.get(m.id).unwrap_or_else(|| panic!("mount {} ({}) not in the image", m.id, m.mountpoint));
        let what = format!("mount {} {}", m.id, m.mountpoint);
        assert_eq!(o.parent_mnt_id, m.parent, "{what}");
        assert_eq!(o.root, m.root.as_bytes(), "{what}");
        assert_eq!(o.mountpoint, m.mountpoint.as_bytes(), "{what}");
        assert_eq!(o.source, m.source.as_bytes(), "{what}");
        assert_eq!(o.read_only(), m.per_mount.iter().any(|x| x == "ro"), "{what}");
        let flags = criu_image::inspect::mounts::mount_flag_names(o.flags);
        for f in ["nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime"] {
            assert_eq!(flags.iter().any(|x| x == f), m.per_mount.iter().any(|x| x == f), "{what}: {f} in {flags:?}");
        }
        assert_eq!(o.shared_id.filter(|&x| x != 0), m.shared, "{what} shared");
        assert_eq!(o.master_id.filter(|&x| x != 0), m.master, "{what} master");
        if o.fstype_name() != "unsupported" {
            assert_eq!(o.fstype_name(), m.fstype, "{what} fstype");
        }
    }
    // The tree holds every mount once, parents before children.
    let tree = ns.tree();
    assert_eq!(tree.len(), ns.mounts.len());
    let mut seen = BTreeSet::new();
    for (depth, m) in &tree {
        if *depth > 0 {
            assert!(seen.contains(&m.parent_mnt_id), "mount {} before its parent", m.mnt_id);
        }
        assert!(seen.insert(m.mnt_id));
    }
    assert_eq!(ns.roots.len(), 1, "one root mount");
}

/// Every field against CRIU's crit decoding the same `mountpoints-N.img`.
pub fn check_mounts_against_crit(mounts: &Mounts, crit: &[Value]) {
    let ns = &mounts.namespaces[0];
    assert_eq!(ns.mounts.len(), crit.len());
    for (o, c) in ns.mounts.iter().zip(crit) {
        let what = format!("mount {}", o.mnt_id);
        assert_eq!(i64::from(o.mnt_id), c.n("mnt_id").unwrap(), "{what}");
        assert_eq!(i64::from(o.parent_mnt_id), c.n("parent_mnt_id").unwrap(), "{what}");
        assert_eq!(i64::from(o.fstype.0), c.n("fstype").unwrap(), "{what}");
        assert_eq!(i64::from(o.flags), c.n("flags").unwrap(), "{what}");
        assert_eq!(o.sb_flags.map(i64::from), c.n("sb_flags"), "{what}");
        assert_eq!(i64::from(o.root_dev), c.n("root_dev").unwrap(), "{what}");
        for (k, v) in [("root", &o.root), ("mountpoint", &o.mountpoint), ("source", &o.source), ("options", &o.options)] {
            assert_eq!(Some(String::from_utf8(v.clone()).unwrap()), c.s(k), "{what} {k}");
        }
        assert_eq!(o.ext_key.as_ref().map(|k| String::from_utf8(k.clone()).unwrap()), c.s("ext_key"), "{what}");
        assert_eq!(o.shared_id.map(i64::from), c.n("shared_id"), "{what}");
        assert_eq!(o.master_id.map(i64::from), c.n("master_id"), "{what}");
    }
}

// ---------------------------------------------------------------------------------------------
// IPC and cgroups

/// `ipcs -a`'s rows: (kind, key, id, perms, size-or-nsems-or-bytes, messages).
pub fn ipcs_rows(text: &str) -> Vec<(&'static str, u32, u32, u32, u64)> {
    let mut kind = "";
    let mut out = Vec::new();
    for l in text.lines() {
        if l.contains("Message Queues") {
            kind = "msg";
        } else if l.contains("Shared Memory") {
            kind = "shm";
        } else if l.contains("Semaphore Arrays") {
            kind = "sem";
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 5 && f[0].starts_with("0x") {
            out.push((
                kind,
                u32::from_str_radix(&f[0][2..], 16).unwrap(),
                f[1].parse().unwrap(),
                u32::from_str_radix(f[3], 8).unwrap(),
                f[4].parse().unwrap(),
            ));
        }
    }
    out
}

pub fn check_ipc_against_ipcs(ns: &Namespaces, text: &str) {
    assert_eq!(ns.ipc.len(), 1);
    let ipc = &ns.ipc[0];
    let rows = ipcs_rows(text);
    assert_eq!(rows.len(), ipc.shm.len() + ipc.sem.len() + ipc.msg.len(), "{rows:?}");
    for (kind, key, id, perms, n) in rows {
        match kind {
            "shm" => {
                let s = ipc.shm.iter().find(|s| s.desc.key == key).unwrap();
                assert_eq!((s.desc.id, s.desc.mode & 0o777, s.size), (id, perms, n));
            }
            "sem" => {
                let s = ipc.sem.iter().find(|s| s.desc.key == key).unwrap();
                assert_eq!((s.desc.id, s.desc.mode & 0o777, s.values.len() as u64), (id, perms, n));
            }
            "msg" => {
                let q = ipc.msg.iter().find(|q| q.desc.key == key).unwrap();
                let used: u64 = q.messages.iter().map(|m| u64::from(m.1)).sum();
                assert_eq!((q.desc.id, q.desc.mode & 0o777, used), (id, perms, n));
            }
            _ => unreachable!(),
        }
    }
}

/// The set of the dumped task against its `/proc/self/cgroup`, for the controllers in the image.
pub fn check_cgroup_paths(cg: &Cgroups, proc_cgroup: &str, pid: u32) {
    let set = cg.sets.iter().find(|s| s.tasks.contains(&pid)).unwrap_or_else(|| panic!("no set has task {pid}: {:?}", cg.sets));
    for m in &set.members {
        let name = String::from_utf8(m.controller.clone()).unwrap();
        let line = proc_cgroup
            .lines()
            .find(|l| {
                let mut f = l.splitn(3, ':');
                let _ = f.next();
                f.next().unwrap().split(',').any(|c| c == name) || (name.is_empty() && l.starts_with("0::"))
            })
            .unwrap_or_else(|| panic!("controller {name:?} not in /proc/self/cgroup"));
        let path = line.splitn(3, ':').nth(2).unwrap();
        assert_eq!(m.path, path.as_bytes(), "controller {name}");
    }
}

/// A property of a directory of a controller, found by the directory's path.
pub fn property(cg: &Cgroups, controller: &str, path: &str, name: &str) -> Option<String> {
    let c = cg.controllers.iter().find(|c| c.names.iter().any(|n| n == controller.as_bytes()))?;
    let mut stack: Vec<_> = c.dirs.iter().collect();
    while let Some(d) = stack.pop() {
        if d.path == path.as_bytes() {
            return d.properties.iter().find(|p| p.name == name.as_bytes()).map(|p| String::from_utf8(p.value.clone()).unwrap());
        }
        stack.extend(d.children.iter());
    }
    None
}
