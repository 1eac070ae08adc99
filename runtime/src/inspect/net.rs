//! Network namespaces: devices (`netdev-N.img`) with kind, MTU, MAC address, flags and their
//! per-device sysctls; the namespace's sysctls and peer ids (`netns-N.img`); addresses, routes
//! and policy rules decoded from the `ip … save` dumps (`ifaddr-N.img`, `route-N.img`,
//! `route6-N.img`, `rule-N.img`, see [`netlink`]); and the firewall as CRIU saved it, as text
//! (`nftables-N.img` is `nft list ruleset`, `iptables-N.img`/`ip6tables-N.img` are
//! `iptables-save` output).
//!
//! Devices are linked to their addresses and routes by interface index
//! ([`NetNs::addresses_of`], [`NetNs::routes_via`]). `N` is CRIU's id of the namespace, as in
//! `ids-PID.img`. `route-N.img` and `route6-N.img` hold the main table only (`ip route save`
//! saves no other); local and broadcast routes are the kernel's and come back with the addresses.
//!
//! A namespace CRIU was told is external (container engines pass the one they made) has only a
//! `netns-N.img` with its `ext_key`: its devices belong to the engine and are not in the images.

pub mod netlink;

use std::io::{self, Write};

use criu_image_proto::schema::enums::{NdType, SysctlType};
use criu_image_proto::schema::tables::DICT_SK_FAMILY;
use criu_image_proto::support::json::JsonWriter;
use criu_image_proto::view;

use self::netlink::{Address, NetAddr, Route, Rule};
use super::consts::{
    DEVCONFS4, DEVCONFS6, FIB_RULE_FLAGS_TABLE, FR_ACTIONS, IFA_FLAGS_TABLE, IFF_FLAGS_TABLE, IPV4_SYSCTLS, ROUTER_PREFS,
    RT_SCOPES, RT_TABLES, RTAX_NAMES, RTM_FLAGS_TABLE, RTN_TYPES, RTPROTS, UNIX_CONF, lookup,
};
use super::namespaces::NsKind;
use super::{
    Problem, Section, Table, Tasks, first_view, flag_names, json_flags, json_named, json_opt_bytes, json_opt_str,
    json_opt_u64, json_problems, json_u32s, lossy, numbered_files, text_problems, views,
};
use crate::checkpoint::Checkpoint;
use crate::image::Kind;

/// A sysctl value as CRIU saved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysctlValue {
    /// `CTL_32`.
    Int(i32),
    /// `CTL_STR`.
    Str(Vec<u8>),
    /// The entry is there but CRIU could not read the value (the kernel lacks the file).
    Unset,
}

/// One sysctl: its name (from CRIU's list for that position) and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    /// The sysctl's last path component (`forwarding`), or `None` past the end of CRIU 4.2.1's
    /// list (a newer CRIU).
    pub name: Option<&'static str>,
    /// Its value.
    pub value: SysctlValue,
}

fn sysctls<'a>(names: &[&'static str], entries: impl IntoIterator<Item = view::SysctlEntry<'a>>) -> Vec<Sysctl> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let value = match (e.type_(), e.iarg(), e.sarg()) {
                (SysctlType::CTL_32, Some(v), _) => SysctlValue::Int(v),
                (SysctlType::CTL_STR, _, Some(s)) => SysctlValue::Str(s.to_vec()),
                (_, Some(v), _) => SysctlValue::Int(v),
                (_, _, Some(s)) => SysctlValue::Str(s.to_vec()),
                _ => SysctlValue::Unset,
            };
            Sysctl { name: names.get(i).copied(), value }
        })
        .collect()
}

/// A network device (`net_device_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Interface index in the namespace.
    pub ifindex: u32,
    /// Interface name.
    pub name: Vec<u8>,
    /// What CRIU restores it as (`loopback`, `veth`, `tun`, `bridge`, `macvlan`, `sit`, `extlink`).
    pub kind: NdType,
    /// MTU.
    pub mtu: u32,
    /// `IFF_*` flags.
    pub flags: u32,
    /// Hardware address.
    pub address: Option<Vec<u8>>,
    /// The bridge (or bond) it is a port of.
    pub master: Option<u32>,
    /// A veth's peer: its ifindex …
    pub peer_ifindex: Option<u32>,
    /// … and the peer's namespace, as this namespace's `nsid` numbers it.
    pub peer_nsid: Option<u32>,
    /// `net/ipv4/conf/<dev>/*`.
    pub conf4: Vec<Sysctl>,
    /// `net/ipv6/conf/<dev>/*`.
    pub conf6: Vec<Sysctl>,
}

impl Device {
    /// The kind's lower-case name, or `None` for a value the schema does not name.
    pub fn kind_name(&self) -> Option<String> {
        self.kind.name().map(str::to_ascii_lowercase)
    }

    /// The MAC address as `aa:bb:cc:dd:ee:ff`.
    pub fn address_text(&self) -> Option<String> {
        self.address.as_ref().map(|a| a.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
    }
}

/// A firewall dump CRIU saved as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firewall {
    /// `nftables`, `iptables` or `ip6tables`.
    pub tool: &'static str,
    /// The image file.
    pub file: String,
    /// What the tool printed (`nft list ruleset`, `iptables-save`).
    pub text: Vec<u8>,
}

impl Firewall {
    /// The tables it defines: `table FAMILY NAME` lines of nft, `*NAME` lines of iptables-save.
    pub fn tables(&self) -> Vec<String> {
        let text = lossy(&self.text);
        text.lines()
            .filter_map(|l| match self.tool {
                "nftables" => l.strip_prefix("table ").map(|t| t.trim_end_matches('{').trim().to_string()),
                _ => l.strip_prefix('*').map(str::to_string),
            })
            .collect()
    }
}

/// One network namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetNs {
    /// CRIU's id of the namespace.
    pub id: u32,
    /// PIDs of the tasks in it.
    pub tasks: Vec<u32>,
    /// The key of an external namespace (`--external net[INODE]:KEY`, or an engine's).
    pub ext_key: Option<Vec<u8>>,
    /// Devices, from `netdev-N.img`.
    pub devices: Vec<Device>,
    /// Addresses, from `ifaddr-N.img`.
    pub addresses: Vec<Address>,
    /// Routes of the main tables, IPv4 (`route-N.img`) then IPv6 (`route6-N.img`).
    pub routes: Vec<Route>,
    /// Policy rules, from `rule-N.img`.
    pub rules: Vec<Rule>,
    /// `net/ipv4/conf/all/*`.
    pub all_conf4: Vec<Sysctl>,
    /// `net/ipv4/conf/default/*`.
    pub default_conf4: Vec<Sysctl>,
    /// `net/ipv6/conf/all/*`.
    pub all_conf6: Vec<Sysctl>,
    /// `net/ipv6/conf/default/*`.
    pub default_conf6: Vec<Sysctl>,
    /// `net/unix/*`.
    pub unix: Vec<Sysctl>,
    /// `net/ipv4/*` (those CRIU saves).
    pub ipv4: Vec<Sysctl>,
    /// Peer namespaces' ids: CRIU's namespace id and the `nsid` this namespace knows it by.
    pub nsids: Vec<(u32, i32)>,
    /// Firewall dumps.
    pub firewall: Vec<Firewall>,
}

impl NetNs {
    /// A device by ifindex.
    pub fn device(&self, ifindex: u32) -> Option<&Device> {
        self.devices.iter().find(|d| d.ifindex == ifindex)
    }

    /// The addresses of the device with this ifindex.
    pub fn addresses_of(&self, ifindex: u32) -> impl Iterator<Item = &Address> {
        self.addresses.iter().filter(move |a| a.ifindex == ifindex)
    }

    /// The routes that leave through the device with this ifindex (directly or as a next hop).
    pub fn routes_via(&self, ifindex: u32) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(move |r| r.oif == Some(ifindex) || r.nexthops.iter().any(|n| n.ifindex == ifindex))
    }

    fn dev_name(&self, ifindex: u32) -> Option<&[u8]> {
        self.device(ifindex).map(|d| d.name.as_slice())
    }
}

/// The network section.
#[derive(Clone, Debug, Default)]
pub struct Net {
    /// Dumped network namespaces, by id.
    pub namespaces: Vec<NetNs>,
    /// Network namespaces tasks are in that were not dumped (the dumper's own).
    pub not_dumped: Vec<u32>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Net {
    /// Reads every network namespace's images.
    pub fn load(ckpt: &Checkpoint) -> Net {
        let mut problems = Vec::new();
        let tasks = Tasks::load(ckpt, &mut problems);
        let mut ids: Vec<u32> = ["netns-", "netdev-", "ifaddr-", "route-", "route6-", "rule-", "nftables-", "iptables-", "ip6tables-"]
            .iter()
            .flat_map(|p| numbered_files(ckpt, p, ".img"))
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Net::default();
        for id in ids {
            out.namespaces.push(load_ns(ckpt, id, &tasks, &mut problems));
        }
        let mut used: Vec<u32> = tasks.tasks.iter().filter_map(|t| t.ids.and_then(|i| i.net)).collect();
        used.sort_unstable();
        used.dedup();
        out.not_dumped = used.into_iter().filter(|id| !out.namespaces.iter().any(|n| n.id == *id)).collect();
        out.problems = problems;
        out
    }
}

fn load_ns(ckpt: &Checkpoint, id: u32, tasks: &Tasks, problems: &mut Vec<Problem>) -> NetNs {
    let mut ns = NetNs { id, tasks: tasks.using(NsKind::Net, id), ..NetNs::default() };
    let name = format!("netns-{id}.img");
    if let Some(e) = first_view::<view::NetnsEntry<'_>>(ckpt, &name, Kind::Netns, problems) {
        ns.ext_key = e.ext_key().map(<[u8]>::to_vec);
        ns.all_conf4 = sysctls(DEVCONFS4, e.all_conf4());
        ns.default_conf4 = sysctls(DEVCONFS4, e.def_conf4());
        ns.all_conf6 = sysctls(DEVCONFS6, e.all_conf6());
        ns.default_conf6 = sysctls(DEVCONFS6, e.def_conf6());
        ns.unix = sysctls(UNIX_CONF, e.unix_conf());
        ns.ipv4 = sysctls(IPV4_SYSCTLS, e.ipv4_sysctl());
        ns.nsids = e.nsids().into_iter().map(|n| (n.target_ns_id(), n.netnsid_value())).collect();
    }
    let name = format!("netdev-{id}.img");
    for d in views::<view::NetDeviceEntry<'_>>(ckpt, &name, Kind::Netdev, problems).unwrap_or_default() {
        ns.devices.push(Device {
            ifindex: d.ifindex(),
            name: d.name().to_vec(),
            kind: d.type_(),
            mtu: d.mtu(),
            flags: d.flags(),
            address: d.address().map(<[u8]>::to_vec),
            master: d.master(),
            peer_ifindex: d.peer_ifindex(),
            peer_nsid: d.peer_nsid(),
            conf4: sysctls(DEVCONFS4, d.conf4()),
            conf6: sysctls(DEVCONFS6, d.conf6()),
        });
    }
    let raw = |file: String, problems: &mut Vec<Problem>| -> Option<&[u8]> {
        match ckpt.read(&file) {
            Ok(b) => b,
            Err(e) => {
                problems.push(super::problem_from(&e));
                None
            }
        }
    };
    let file = format!("ifaddr-{id}.img");
    if let Some(b) = raw(file.clone(), problems) {
        match netlink::decode_addresses(b) {
            Ok(a) => ns.addresses = a,
            Err(e) => problems.push(dump_problem(&file, "ip addr restore", &e)),
        }
    }
    for file in [format!("route-{id}.img"), format!("route6-{id}.img")] {
        if let Some(b) = raw(file.clone(), problems) {
            match netlink::decode_routes(b) {
                Ok(r) => ns.routes.extend(r),
                Err(e) => problems.push(dump_problem(&file, "ip route restore", &e)),
            }
        }
    }
    let file = format!("rule-{id}.img");
    if let Some(b) = raw(file.clone(), problems) {
        // CRIU lets `ip rule save` fail (old kernels): an empty file is no rules.
        if !b.is_empty() {
            match netlink::decode_rules(b) {
                Ok(r) => ns.rules = r,
                Err(e) => problems.push(dump_problem(&file, "ip rule restore", &e)),
            }
        }
    }
    for tool in ["nftables", "iptables", "ip6tables"] {
        let file = format!("{tool}-{id}.img");
        if let Some(b) = raw(file.clone(), problems) {
            ns.firewall.push(Firewall { tool, file, text: b.to_vec() });
        }
    }
    ns
}

fn dump_problem(file: &str, restore: &str, e: &netlink::NetlinkError) -> Problem {
    Problem {
        file: file.into(),
        message: format!("{e}: the dump is corrupt or truncated, and restore (`{restore}`) would fail on it"),
    }
}

fn family_name(f: u8) -> Option<String> {
    DICT_SK_FAMILY.iter().find(|(v, _)| *v == u64::from(f)).map(|(_, n)| n.to_ascii_lowercase())
}

/// The names of a device's `IFF_*` flags, as `ip link` spells them in lower case.
pub fn device_flag_names(flags: u32) -> Vec<String> {
    flag_names(u64::from(flags), IFF_FLAGS_TABLE).into_iter().map(|c| c.into_owned()).collect()
}

/// An address's `IFA_F_*` names; bit 0 is `secondary` for IPv4 and `temporary` for IPv6, as `ip`
/// says. (`ip` shows the absence of `permanent` as `dynamic`.)
pub fn address_flag_names(a: &Address) -> Vec<String> {
    let mut v: Vec<String> = flag_names(u64::from(a.flags), IFA_FLAGS_TABLE).into_iter().map(|c| c.into_owned()).collect();
    if a.family == 10 {
        for n in &mut v {
            if n == "secondary" {
                *n = "temporary".into();
            }
        }
    }
    v
}

/// `RT_SCOPE_*` as `ip` names it (`global`, `link`, `host`, ...), or the number.
pub fn scope_name(scope: u8) -> String {
    lookup(RT_SCOPES, scope).map_or_else(|| scope.to_string(), str::to_string)
}

/// `RTPROT_*` as `ip route` names it (`kernel`, `boot`, `static`, ...), or the number.
pub fn protocol_name(p: u8) -> String {
    lookup(RTPROTS, p).map_or_else(|| p.to_string(), str::to_string)
}

/// `RTN_*` (`unicast`, `local`, `blackhole`, ...), or the number.
pub fn route_type_name(t: u8) -> String {
    lookup(RTN_TYPES, t).map_or_else(|| t.to_string(), str::to_string)
}

/// A routing table's name (`main`, `local`, `default`) or its number.
pub fn table_name(t: u32) -> String {
    lookup(RT_TABLES, t).map_or_else(|| t.to_string(), str::to_string)
}

/// `RTM_F_*`/`RTNH_F_*` names (`linkdown`, `onlink`, ...).
pub fn route_flag_names(flags: u32) -> Vec<String> {
    flag_names(u64::from(flags), RTM_FLAGS_TABLE).into_iter().map(|c| c.into_owned()).collect()
}

/// An IPv6 router preference (`low`, `medium`, `high`), or the number.
pub fn pref_name(p: u8) -> String {
    lookup(ROUTER_PREFS, p).map_or_else(|| p.to_string(), str::to_string)
}

/// A route metric's name as `ip route` spells it (`mtu`, `advmss`, ...), or `#N`.
pub fn metric_name_of(k: u16) -> String {
    lookup(RTAX_NAMES, k).map_or_else(|| format!("#{k}"), str::to_string)
}

/// `FR_ACT_*` as `ip rule` names it (`lookup`, `goto`, `blackhole`, ...), or the number.
pub fn rule_action_name(a: u8) -> String {
    lookup(FR_ACTIONS, a).map_or_else(|| a.to_string(), str::to_string)
}

fn route_dst_text(r: &Route) -> String {
    match &r.dst {
        Some(d) => format!("{d}/{}", r.dst_len),
        None if r.dst_len == 0 => "default".into(),
        None => format!("?/{}", r.dst_len),
    }
}

impl Section for Net {
    fn name(&self) -> &'static str {
        "net"
    }

    fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Per namespace: devices (index, name, kind, MTU, MAC, flags) each with its addresses,
    /// then routes and rules in `ip`'s words, then a line per firewall dump.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut b = Vec::new();
        if self.namespaces.is_empty() {
            b.extend_from_slice(b"net: no network namespace was dumped (the tasks share the dumper's)\n");
        }
        for ns in &self.namespaces {
            b.extend_from_slice(format!("network namespace {} (tasks {})", ns.id, super::join_or_dash(&ns.tasks)).as_bytes());
            if let Some(k) = &ns.ext_key {
                b.extend_from_slice(format!(": external, key {}", lossy(k)).as_bytes());
            }
            b.push(b'\n');
            if !ns.devices.is_empty() {
                let mut t = Table::new(&["IF", "NAME", "KIND", "MTU", "FLAGS"], &[true, false, false, true, false]);
                for d in &ns.devices {
                    let mut name = lossy(&d.name).into_owned();
                    if let Some(p) = d.peer_ifindex.filter(|_| d.kind == NdType::VETH) {
                        match ns.dev_name(p) {
                            Some(n) if d.peer_nsid.is_none() || ns.device(p).is_some() => name.push_str(&format!("@{}", lossy(n))),
                            _ => name.push_str(&format!("@if{p}")),
                        }
                    }
                    let mut flags = flag_names(u64::from(d.flags), IFF_FLAGS_TABLE).join(",");
                    if let Some(m) = d.master {
                        flags.push_str(&format!(" master {}", ns.dev_name(m).map_or_else(|| m.to_string(), |n| lossy(n).into_owned())));
                    }
                    t.row(vec![
                        d.ifindex.to_string(),
                        name,
                        d.kind_name().unwrap_or_else(|| d.kind.0.to_string()),
                        d.mtu.to_string(),
                        flags,
                    ]);
                    if let Some(mac) = d.address_text().filter(|_| d.kind != NdType::LOOPBACK) {
                        t.detail(format!("      link {mac}"));
                    }
                    for a in ns.addresses_of(d.ifindex) {
                        t.detail(format!("      {}", addr_text(a)));
                    }
                }
                // Addresses of interfaces that are not in netdev-N.img.
                for a in ns.addresses.iter().filter(|a| ns.device(a.ifindex).is_none()) {
                    t.row(vec![a.ifindex.to_string(), "?".into(), "not in netdev".into()]);
                    t.detail(format!("      {}", addr_text(a)));
                }
                t.render("  ", &mut b);
            } else if !ns.addresses.is_empty() {
                for a in &ns.addresses {
                    b.extend_from_slice(format!("  if{}: {}\n", a.ifindex, addr_text(a)).as_bytes());
                }
            }
            if !ns.routes.is_empty() {
                b.extend_from_slice(b"  routes (main table)\n");
                for r in &ns.routes {
                    for (i, l) in route_text(ns, r).iter().enumerate() {
                        let indent = if i == 0 { "    " } else { "        " };
                        b.extend_from_slice(format!("{indent}{l}\n").as_bytes());
                    }
                }
            }
            if !ns.rules.is_empty() {
                b.extend_from_slice(b"  rules\n");
                for r in &ns.rules {
                    b.extend_from_slice(format!("    {}\n", rule_text(r)).as_bytes());
                }
            }
            let fwd = |v: &[Sysctl]| {
                v.iter().find(|s| s.name == Some("forwarding")).and_then(|s| match s.value {
                    SysctlValue::Int(i) => Some(i),
                    _ => None,
                })
            };
            if let (Some(f4), Some(f6)) = (fwd(&ns.all_conf4), fwd(&ns.all_conf6)) {
                b.extend_from_slice(format!("  forwarding: ipv4 {f4}, ipv6 {f6}\n").as_bytes());
            }
            for f in &ns.firewall {
                let tables = f.tables();
                let what = if f.text.is_empty() {
                    "empty".to_string()
                } else {
                    format!("{} lines, tables: {}", lossy(&f.text).lines().count(), super::join_or_dash(&tables))
                };
                b.extend_from_slice(format!("  {} ({}): {what}\n", f.tool, f.file).as_bytes());
            }
        }
        if !self.not_dumped.is_empty() {
            b.extend_from_slice(
                format!("network namespaces {} are the dumper's own (not dumped)\n", super::join_or_dash(&self.not_dumped)).as_bytes(),
            );
        }
        text_problems(&self.problems, &mut b);
        out.write_all(&b)
    }

    /// ```json
    /// {"namespaces": [{"id": 10, "tasks": [1], "ext_key": null,
    ///   "devices": [{"ifindex": 3, "name": "veth0", "kind": "veth", "mtu": 1400,
    ///                "address": "7a:65:85:f7:d5:54" | null, "flags": ["up", "broadcast", ...],
    ///                "master": null, "peer_ifindex": 2, "peer_nsid": 10,
    ///                "conf4": {"forwarding": 0, ...}, "conf6": {...}}],
    ///   "addresses": [{"ifindex": 3, "dev": "veth0" | null, "family": "inet", "prefix_len": 24,
    ///                  "address": "10.11.12.13", "local": "10.11.12.13" | null,
    ///                  "broadcast": null, "anycast": null, "label": "veth0" | null,
    ///                  "scope": "global", "flags": ["permanent"],
    ///                  "preferred_lifetime": 4294967295 | null, "valid_lifetime": ... | null,
    ///                  "rt_priority": null, "proto": null}],
    ///   "routes": [{"family": "inet", "table": 254, "dst": "172.16.0.0" | null, "dst_len": 16,
    ///               "src": null, "src_len": 0, "gateway": "10.11.12.1" | null,
    ///               "prefsrc": null, "oif": 3 | null, "dev": "veth0" | null, "iif": null,
    ///               "priority": 50 | null, "protocol": "boot", "scope": "global",
    ///               "type": "unicast", "tos": 0, "flags": [], "mark": null, "pref": null,
    ///               "expires": null, "metrics": {"mtu": 1300}, "congctl": null,
    ///               "nexthops": [{"ifindex": 3, "dev": "veth0", "gateway": "…", "weight": 1,
    ///                             "flags": []}]}],
    ///   "rules": [{"family": "inet", "priority": 1000, "action": "lookup", "table": 100,
    ///              "src": "10.11.12.0" | null, "src_len": 24, "dst": null, "dst_len": 0,
    ///              "tos": 0, "iifname": null, "oifname": null, "fwmark": null, "fwmask": null,
    ///              "goto": null, "flow": null, "suppress_prefixlen": null,
    ///              "suppress_ifgroup": null, "l3mdev": null, "uid_range": null,
    ///              "protocol": "boot" | null, "ip_proto": null, "sport_range": null,
    ///              "dport_range": null, "flags": []}],
    ///   "sysctls": {"ipv4_all": {...}, "ipv4_default": {...}, "ipv6_all": {...},
    ///               "ipv6_default": {...}, "unix": {"max_dgram_qlen": 10},
    ///               "ipv4": {"ping_group_range": "0 2147483647" | null}},
    ///   "nsids": [{"ns_id": 10, "nsid": 0}],
    ///   "firewall": [{"tool": "nftables", "file": "nftables-10.img", "tables": ["inet CRIU"],
    ///                 "text": "table inet …"}]}],
    ///  "not_dumped": [],
    ///  "problems": [...]}
    /// ```
    /// Sysctl objects map names to numbers or strings (`null`: saved without a value); values past
    /// the end of CRIU 4.2.1's name lists get the key `"#N"` (their position). Ranges are
    /// `[start, end]` arrays. `table` is the table's number (254 main, 255 local, 253 default).
    /// `suppress_prefixlen` is `null` when the kernel says -1 (not set).
    fn write_json(&self, w: &mut JsonWriter<'_>) {
        w.begin_object();
        w.key("namespaces");
        w.begin_array();
        for ns in &self.namespaces {
            write_ns_json(w, ns);
        }
        w.end_array();
        w.key("not_dumped");
        json_u32s(w, &self.not_dumped);
        json_problems(w, &self.problems);
        w.end_object();
    }
}

fn addr_text(a: &Address) -> String {
    let fam = match a.family {
        2 => "inet".to_string(),
        10 => "inet6".to_string(),
        f => format!("family {f}"),
    };
    let mut s = format!("{fam} {}/{}", a.primary().map_or("?".into(), ToString::to_string), a.prefix_len);
    if let Some(p) = a.peer() {
        s.push_str(&format!(" peer {p}"));
    }
    if let Some(bc) = &a.broadcast {
        s.push_str(&format!(" brd {bc}"));
    }
    s.push_str(&format!(" scope {}", scope_name(a.scope)));
    for f in address_flag_names(a) {
        if f != "permanent" {
            s.push(' ');
            s.push_str(&f);
        }
    }
    if let Some(l) = &a.label {
        s.push_str(&format!(" {}", lossy(l)));
    }
    s
}

/// A route in `ip route`'s words; the next hops of a multipath route on lines of their own.
fn route_text(ns: &NetNs, r: &Route) -> Vec<String> {
    let mut s = String::new();
    if r.kind != 1 {
        s.push_str(&route_type_name(r.kind));
        s.push(' ');
    }
    s.push_str(&route_dst_text(r));
    if r.family == 10 && r.dst.is_none() && r.dst_len == 0 {
        // `ip -6` says `default` too; keep the family visible.
        s.push_str(" (ipv6)");
    }
    if let Some(src) = &r.src {
        s.push_str(&format!(" from {src}/{}", r.src_len));
    }
    if let Some(g) = &r.gateway {
        s.push_str(&format!(" via {g}"));
    }
    if let Some(o) = r.oif {
        s.push_str(&format!(" dev {}", ns.dev_name(o).map_or_else(|| format!("if{o}"), |n| lossy(n).into_owned())));
    }
    if r.table != 254 {
        s.push_str(&format!(" table {}", table_name(r.table)));
    }
    if r.protocol != 3 {
        s.push_str(&format!(" proto {}", protocol_name(r.protocol)));
    }
    if r.scope != 0 {
        s.push_str(&format!(" scope {}", scope_name(r.scope)));
    }
    if let Some(p) = &r.prefsrc {
        s.push_str(&format!(" src {p}"));
    }
    if let Some(m) = r.priority {
        s.push_str(&format!(" metric {m}"));
    }
    for &(k, v) in &r.metrics {
        s.push_str(&format!(" {} {v}", metric_name_of(k)));
    }
    if let Some(c) = &r.congctl {
        s.push_str(&format!(" congctl {}", lossy(c)));
    }
    let mut lines = vec![s];
    for nh in &r.nexthops {
        let mut l = String::from("nexthop");
        if let Some(g) = &nh.gateway {
            l.push_str(&format!(" via {g}"));
        }
        l.push_str(&format!(
            " dev {} weight {}",
            ns.dev_name(nh.ifindex).map_or_else(|| format!("if{}", nh.ifindex), |n| lossy(n).into_owned()),
            nh.weight
        ));
        lines.push(l);
    }
    lines
}

fn rule_text(r: &Rule) -> String {
    let mut s = format!("{}:", r.priority);
    if r.flags & 0x2 != 0 {
        s.push_str(" not");
    }
    match &r.src {
        Some(a) => s.push_str(&format!(" from {a}/{}", r.src_len)),
        None => s.push_str(" from all"),
    }
    if let Some(a) = &r.dst {
        s.push_str(&format!(" to {a}/{}", r.dst_len));
    }
    if r.tos != 0 {
        s.push_str(&format!(" tos {:#x}", r.tos));
    }
    if let Some(m) = r.fwmark {
        s.push_str(&format!(" fwmark {m:#x}"));
        if let Some(k) = r.fwmask.filter(|&k| k != u32::MAX) {
            s.push_str(&format!("/{k:#x}"));
        }
    }
    if let Some(i) = &r.iifname {
        s.push_str(&format!(" iif {}", lossy(i)));
    }
    if let Some(o) = &r.oifname {
        s.push_str(&format!(" oif {}", lossy(o)));
    }
    match r.action {
        1 => s.push_str(&format!(" lookup {}", table_name(r.table))),
        2 => s.push_str(&format!(" goto {}", r.goto.map_or("?".into(), |g| g.to_string()))),
        a => s.push_str(&format!(" {}", rule_action_name(a))),
    }
    if let Some(p) = r.suppress_prefixlen.filter(|&p| p != u32::MAX) {
        s.push_str(&format!(" suppress_prefixlength {p}"));
    }
    s
}

fn json_addr(w: &mut JsonWriter<'_>, a: Option<&NetAddr>) {
    match a {
        Some(a) => w.str(&a.to_string()),
        None => w.raw_value("null"),
    }
}

fn json_sysctls(w: &mut JsonWriter<'_>, v: &[Sysctl]) {
    w.begin_object();
    for (i, s) in v.iter().enumerate() {
        match s.name {
            Some(n) => w.key(n),
            None => w.key(&format!("#{i}")),
        }
        match &s.value {
            SysctlValue::Int(x) => w.i64(i64::from(*x)),
            SysctlValue::Str(x) => w.str_bytes(x),
            SysctlValue::Unset => w.raw_value("null"),
        }
    }
    w.end_object();
}

fn json_family(w: &mut JsonWriter<'_>, f: u8) {
    let n = family_name(f);
    json_named(w, n.as_deref(), i64::from(f));
}

fn json_dev(w: &mut JsonWriter<'_>, ns: &NetNs, ifindex: Option<u32>) {
    json_opt_bytes(w, ifindex.and_then(|i| ns.dev_name(i)));
}

fn json_range<T: Into<u64> + Copy>(w: &mut JsonWriter<'_>, r: Option<(T, T)>) {
    match r {
        Some((a, b)) => {
            w.begin_array();
            w.u64(a.into());
            w.u64(b.into());
            w.end_array();
        }
        None => w.raw_value("null"),
    }
}

fn write_ns_json(w: &mut JsonWriter<'_>, ns: &NetNs) {
    w.begin_object();
    w.key("id");
    w.u64(u64::from(ns.id));
    w.key("tasks");
    json_u32s(w, &ns.tasks);
    w.key("ext_key");
    json_opt_bytes(w, ns.ext_key.as_deref());
    w.key("devices");
    w.begin_array();
    for d in &ns.devices {
        w.begin_object();
        w.key("ifindex");
        w.u64(u64::from(d.ifindex));
        w.key("name");
        w.str_bytes(&d.name);
        w.key("kind");
        json_named(w, d.kind_name().as_deref(), i64::from(d.kind.0));
        w.key("mtu");
        w.u64(u64::from(d.mtu));
        w.key("address");
        json_opt_str(w, d.address_text().as_deref());
        w.key("flags");
        json_flags(w, u64::from(d.flags), IFF_FLAGS_TABLE);
        w.key("master");
        json_opt_u64(w, d.master.map(u64::from));
        w.key("peer_ifindex");
        json_opt_u64(w, d.peer_ifindex.map(u64::from));
        w.key("peer_nsid");
        json_opt_u64(w, d.peer_nsid.map(u64::from));
        w.key("conf4");
        json_sysctls(w, &d.conf4);
        w.key("conf6");
        json_sysctls(w, &d.conf6);
        w.end_object();
    }
    w.end_array();
    w.key("addresses");
    w.begin_array();
    for a in &ns.addresses {
        w.begin_object();
        w.key("ifindex");
        w.u64(u64::from(a.ifindex));
        w.key("dev");
        json_dev(w, ns, Some(a.ifindex));
        w.key("family");
        json_family(w, a.family);
        w.key("prefix_len");
        w.u64(u64::from(a.prefix_len));
        w.key("address");
        json_addr(w, a.address.as_ref());
        w.key("local");
        json_addr(w, a.local.as_ref());
        w.key("broadcast");
        json_addr(w, a.broadcast.as_ref());
        w.key("anycast");
        json_addr(w, a.anycast.as_ref());
        w.key("label");
        json_opt_bytes(w, a.label.as_deref());
        w.key("scope");
        json_named(w, lookup(RT_SCOPES, a.scope), i64::from(a.scope));
        w.key("flags");
        w.begin_array();
        for f in address_flag_names(a) {
            w.str(&f);
        }
        w.end_array();
        w.key("preferred_lifetime");
        json_opt_u64(w, a.lifetimes.map(|l| u64::from(l.0)));
        w.key("valid_lifetime");
        json_opt_u64(w, a.lifetimes.map(|l| u64::from(l.1)));
        w.key("rt_priority");
        json_opt_u64(w, a.rt_priority.map(u64::from));
        w.key("proto");
        json_opt_u64(w, a.proto.map(u64::from));
        w.end_object();
    }
    w.end_array();
    w.key("routes");
    w.begin_array();
    for r in &ns.routes {
        w.begin_object();
        w.key("family");
        json_family(w, r.family);
        w.key("table");
        w.u64(u64::from(r.table));
        w.key("dst");
        json_addr(w, r.dst.as_ref());
        w.key("dst_len");
        w.u64(u64::from(r.dst_len));
        w.key("src");
        json_addr(w, r.src.as_ref());
        w.key("src_len");
        w.u64(u64::from(r.src_len));
        w.key("gateway");
        json_addr(w, r.gateway.as_ref());
        w.key("prefsrc");
        json_addr(w, r.prefsrc.as_ref());
        w.key("oif");
        json_opt_u64(w, r.oif.map(u64::from));
        w.key("dev");
        json_dev(w, ns, r.oif);
        w.key("iif");
        json_opt_u64(w, r.iif.map(u64::from));
        w.key("priority");
        json_opt_u64(w, r.priority.map(u64::from));
        w.key("protocol");
        json_named(w, lookup(RTPROTS, r.protocol), i64::from(r.protocol));
        w.key("scope");
        json_named(w, lookup(RT_SCOPES, r.scope), i64::from(r.scope));
        w.key("type");
        json_named(w, lookup(RTN_TYPES, r.kind), i64::from(r.kind));
        w.key("tos");
        w.u64(u64::from(r.tos));
        w.key("flags");
        json_flags(w, u64::from(r.flags), RTM_FLAGS_TABLE);
        w.key("mark");
        json_opt_u64(w, r.mark.map(u64::from));
        w.key("pref");
        match r.pref {
            Some(p) => json_named(w, lookup(ROUTER_PREFS, p), i64::from(p)),
            None => w.raw_value("null"),
        }
        w.key("expires");
        json_opt_u64(w, r.expires.map(u64::from));
        w.key("metrics");
        w.begin_object();
        for &(k, v) in &r.metrics {
            w.key(&metric_name_of(k));
            w.u64(u64::from(v));
        }
        w.end_object();
        w.key("congctl");
        json_opt_bytes(w, r.congctl.as_deref());
        w.key("nexthops");
        w.begin_array();
        for nh in &r.nexthops {
            w.begin_object();
            w.key("ifindex");
            w.u64(u64::from(nh.ifindex));
            w.key("dev");
            json_dev(w, ns, Some(nh.ifindex));
            w.key("gateway");
            json_addr(w, nh.gateway.as_ref());
            w.key("weight");
            w.u64(u64::from(nh.weight));
            w.key("flags");
            json_flags(w, u64::from(nh.flags), RTM_FLAGS_TABLE);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("rules");
    w.begin_array();
    for r in &ns.rules {
        w.begin_object();
        w.key("family");
        json_family(w, r.family);
        w.key("priority");
        w.u64(u64::from(r.priority));
        w.key("action");
        json_named(w, lookup(FR_ACTIONS, r.action), i64::from(r.action));
        w.key("table");
        w.u64(u64::from(r.table));
        w.key("src");
        json_addr(w, r.src.as_ref());
        w.key("src_len");
        w.u64(u64::from(r.src_len));
        w.key("dst");
        json_addr(w, r.dst.as_ref());
        w.key("dst_len");
        w.u64(u64::from(r.dst_len));
        w.key("tos");
        w.u64(u64::from(r.tos));
        w.key("iifname");
        json_opt_bytes(w, r.iifname.as_deref());
        w.key("oifname");
        json_opt_bytes(w, r.oifname.as_deref());
        for (k, v) in [
            ("fwmark", r.fwmark),
            ("fwmask", r.fwmask),
            ("goto", r.goto),
            ("flow", r.flow),
            // The kernel sends -1 for "not set".
            ("suppress_prefixlen", r.suppress_prefixlen.filter(|&p| p != u32::MAX)),
            ("suppress_ifgroup", r.suppress_ifgroup),
        ] {
            w.key(k);
            json_opt_u64(w, v.map(u64::from));
        }
        w.key("l3mdev");
        json_opt_u64(w, r.l3mdev.map(u64::from));
        w.key("uid_range");
        json_range(w, r.uid_range);
        w.key("protocol");
        match r.protocol {
            Some(p) => json_named(w, lookup(RTPROTS, p), i64::from(p)),
            None => w.raw_value("null"),
        }
        w.key("ip_proto");
        json_opt_u64(w, r.ip_proto.map(u64::from));
        w.key("sport_range");
        json_range(w, r.sport_range);
        w.key("dport_range");
        json_range(w, r.dport_range);
        w.key("flags");
        json_flags(w, u64::from(r.flags), FIB_RULE_FLAGS_TABLE);
        w.end_object();
    }
    w.end_array();
    w.key("sysctls");
    w.begin_object();
    for (k, v) in [
        ("ipv4_all", &ns.all_conf4),
        ("ipv4_default", &ns.default_conf4),
        ("ipv6_all", &ns.all_conf6),
        ("ipv6_default", &ns.default_conf6),
        ("unix", &ns.unix),
        ("ipv4", &ns.ipv4),
    ] {
        w.key(k);
        json_sysctls(w, v);
    }
    w.end_object();
    w.key("nsids");
    w.begin_array();
    for &(id, nsid) in &ns.nsids {
        w.begin_object();
        w.key("ns_id");
        w.u64(u64::from(id));
        w.key("nsid");
        w.i64(i64::from(nsid));
        w.end_object();
    }
    w.end_array();
    w.key("firewall");
    w.begin_array();
    for f in &ns.firewall {
        w.begin_object();
        w.key("tool");
        w.str(f.tool);
        w.key("file");
        w.str(&f.file);
        w.key("tables");
        w.begin_array();
        for t in f.tables() {
            w.str(&t);
        }
        w.end_array();
        w.key("text");
        w.str_bytes(&f.text);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}
