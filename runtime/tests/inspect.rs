//! The inspect sections (`criu_image::inspect`) on real checkpoints: `testdata/images/nsbox`
//! (checked against what `ip`, `/proc/self/mountinfo`, `ipcs` and `/proc/self/cgroup` said inside
//! its namespaces at dump time, and against CRIU's crit decoding the same images), the other
//! fixture sets, the Podman exports of `testdata/podman/`, and Podman-layout archives that
//! `make-podman-archive.sh` makes of the fixtures. Values are never checked against the
//! sections' own earlier output.

mod inspect_checks;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use criu_image::checkpoint::Checkpoint;
use criu_image::inspect::cgroups::Cgroups;
use criu_image::inspect::container::{Container, Engine};
use criu_image::inspect::mounts::Mounts;
use criu_image::inspect::namespaces::{Namespaces, NsKind};
use criu_image::inspect::net::{self, Net, netlink};
use criu_image::inspect::stats::Stats;
use criu_image::inspect::{self, Section};
use criu_image::proto::schema::enums::SeccompMode;
use criu_image::proto::support::json_in::{self, Value};
use inspect_checks::*;

const SETS: [&str; 8] = ["sleep", "sleep-fv-buildid", "sleep-fv-filesize", "proctree", "pty-shelljob", "ipcns", "fdzoo", "nsbox"];
const PODMAN: [&str; 3] = ["loop.tar.gz", "withvol.tar.gz", "sleeper.tar.gz"];

fn nsbox() -> Checkpoint {
    Checkpoint::open(&support::fixture("nsbox")).unwrap()
}

fn crit_ref_dir(set: &str) -> PathBuf {
    support::root().join("testdata/crit-reference").join(set)
}

fn captured() -> Captured {
    Captured::read(|n| {
        let base = n.strip_suffix(".txt").unwrap_or(n);
        support::fixture("nsbox").join(format!("captured-{base}.txt"))
    })
}

fn podman(name: &str) -> Checkpoint {
    Checkpoint::open(&support::root().join("testdata/podman").join(name)).unwrap()
}

/// CRIU's crit: `$CRIT_REF`, else what `cargo xtask criu` builds.
fn crit_ref() -> PathBuf {
    let p = std::env::var_os("CRIT_REF").map(PathBuf::from).unwrap_or_else(|| support::root().join("target/criu/bin/crit-ref"));
    assert!(p.exists(), "CRIU's crit is needed but {} does not exist: run `cargo xtask criu` (or set CRIT_REF)", p.display());
    p
}

/// CRIU's crit decoding bytes (an archive member): its `entries`.
fn crit_decode(bytes: &[u8]) -> Vec<Value> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let f = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-crit-{}-{n}.img", std::process::id()));
    std::fs::write(&f, bytes).unwrap();
    let out = Command::new(crit_ref()).arg("decode").arg("-i").arg(&f).output().unwrap();
    assert!(out.status.success(), "crit decode: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_file(&f);
    parse(&out.stdout, "crit decode").at("entries").unwrap().list().to_vec()
}

fn json_of(s: &dyn Section) -> Value {
    let mut out = Vec::new();
    inspect::write_json_document(s, &mut out).unwrap();
    assert!(out.ends_with(b"\n"));
    json_in::parse(&out).unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", s.name()))
}

fn text_of(s: &dyn Section) -> String {
    let mut out = Vec::new();
    s.write_text(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn all_sections(ckpt: &Checkpoint) -> Vec<Box<dyn Section>> {
    vec![
        Box::new(Container::load(ckpt)),
        Box::new(Net::load(ckpt)),
        Box::new(Mounts::load(ckpt)),
        Box::new(Cgroups::load(ckpt)),
        Box::new(Namespaces::load(ckpt)),
        Box::new(Stats::load(ckpt)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Network

#[test]
fn net_devices_match_ip_link() {
    let net = Net::load(&nsbox());
    let ns = the_netns(&net);
    check_devices(ns, &captured().ip_link);
    // Kinds and bridge ports as the scenario made them.
    let kinds: Vec<_> = ns.devices.iter().map(|d| (String::from_utf8(d.name.clone()).unwrap(), d.kind_name().unwrap())).collect();
    assert_eq!(kinds, [("lo", "loopback"), ("br0", "bridge"), ("br1", "bridge"), ("tap0", "tun")].map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn net_devices_and_sysctls_match_crit() {
    let net = Net::load(&nsbox());
    let ns = the_netns(&net);
    let crit = crit_entries(&crit_ref_dir("nsbox"), "netdev-10.img");
    assert_eq!(crit.len(), ns.devices.len());
    for (d, c) in ns.devices.iter().zip(&crit) {
        assert_eq!(i64::from(d.ifindex), c.n("ifindex").unwrap());
        assert_eq!(i64::from(d.flags), c.n("flags").unwrap());
        assert_eq!(d.kind.name(), c.s("type").as_deref());
        assert_eq!(d.peer_ifindex.map(i64::from), c.n("peer_ifindex"));
        let conf4 = c.at("conf4").unwrap().list();
        assert_eq!(d.conf4.len(), conf4.len());
        for (s, cv) in d.conf4.iter().zip(conf4) {
            assert_eq!(s.value, net::SysctlValue::Int(cv.n("iarg").unwrap() as i32));
        }
    }
    // The namespace's sysctls by name: CRIU 4.2.1's list gives the positions.
    let netns = &crit_entries(&crit_ref_dir("nsbox"), "netns-10.img")[0];
    let all4 = netns.at("all_conf4").unwrap().list();
    assert_eq!(ns.all_conf4.len(), all4.len());
    let fwd = ns.all_conf4.iter().position(|s| s.name == Some("forwarding")).unwrap();
    assert_eq!(fwd, 12, "forwarding is devconfs4[12] in criu/net.c");
    assert_eq!(ns.all_conf4[fwd].value, net::SysctlValue::Int(all4[fwd].n("iarg").unwrap() as i32));
    // net.unix.max_dgram_qlen, the kernel's default.
    assert_eq!(ns.unix[0].name, Some("max_dgram_qlen"));
    assert_eq!(ns.unix[0].value, net::SysctlValue::Int(netns.at("unix_conf").unwrap().list()[0].n("iarg").unwrap() as i32));
}

#[test]
fn net_addresses_match_ip_addr_at_dump_time() {
    let net = Net::load(&nsbox());
    check_addresses(the_netns(&net), &captured().ip_addr, false);
}

/// iproute2 itself decoding the same dump files: every address, with its DAD flags.
#[test]
fn net_addresses_match_ip_addr_showdump() {
    for set in ["nsbox", "ipcns"] {
        let dir = support::fixture(set);
        let ckpt = Checkpoint::open(&dir).unwrap();
        let net = Net::load(&ckpt);
        let ns = the_netns(&net);
        let file = dir.join(format!("ifaddr-{}.img", ns.id));
        let out = Command::new("ip")
            .args(["-j", "addr", "showdump"])
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .expect("iproute2's `ip` is needed for this test");
        assert!(out.status.success(), "ip addr showdump: {}", String::from_utf8_lossy(&out.stderr));
        check_addresses(ns, &parse(&out.stdout, "ip addr showdump"), true);
    }
}

#[test]
fn net_routes_match_ip_route() {
    let net = Net::load(&nsbox());
    let ns = the_netns(&net);
    let cap = captured();
    check_routes(ns, &cap.ip_route, 2);
    check_routes(ns, &cap.ip_route6, 10);
    // The route in table 100 is not in the images: `ip route save` saves the main table only.
    assert!(ns.routes.iter().all(|r| r.table == 254), "{:?}", ns.routes.iter().map(|r| r.table).collect::<Vec<_>>());
}

#[test]
fn net_rules_match_ip_rule() {
    let net = Net::load(&nsbox());
    check_rules(the_netns(&net), &captured().ip_rule);
    // ipcns: the kernel's three default rules.
    let net = Net::load(&Checkpoint::open(&support::fixture("ipcns")).unwrap());
    let ns = the_netns(&net);
    let rules: Vec<_> = ns.rules.iter().map(|r| (r.priority, r.table, net::rule_action_name(r.action))).collect();
    assert_eq!(rules, [(0, 255, "lookup".to_string()), (32766, 254, "lookup".into()), (32767, 253, "lookup".into())]);
    assert!(ns.routes.is_empty(), "ipcns's route images hold only the magic word");
}

#[test]
fn net_firewall_is_the_file_as_text() {
    let ckpt = nsbox();
    let net = Net::load(&ckpt);
    let ns = the_netns(&net);
    let tools: Vec<_> = ns.firewall.iter().map(|f| (f.tool, f.text.len())).collect();
    assert_eq!(tools, [("nftables", ckpt.file("nftables-10.img").unwrap().len()), ("iptables", 0), ("ip6tables", 0)]);
    assert_eq!(ns.firewall[0].text, ckpt.file("nftables-10.img").unwrap());
    // CRIU's network lock (`--network-lock iptables`, the default, through iptables-nft).
    assert_eq!(ns.firewall[0].tables(), ["ip filter", "ip6 filter"]);
    let ipcns = Net::load(&Checkpoint::open(&support::fixture("ipcns")).unwrap());
    assert!(ipcns.namespaces[0].firewall[0].tables()[0].starts_with("inet CRIU-"), "--network-lock nftables");
}

#[test]
fn net_links_devices_to_addresses_and_routes() {
    let net = Net::load(&nsbox());
    let ns = the_netns(&net);
    let br0 = ns.devices.iter().find(|d| d.name == b"br0").unwrap();
    let addrs: Vec<String> = ns.addresses_of(br0.ifindex).filter_map(|a| a.primary().map(ToString::to_string)).collect();
    for a in ["10.11.12.13", "10.11.12.14", "10.0.0.1", "fd00::5"] {
        assert!(addrs.iter().any(|x| x == a), "{a} not on br0: {addrs:?}");
    }
    // Every route with a device but the IPv6 link-local ones of br1/tap0 leaves through br0; the
    // multipath one through both of its hops.
    let via: Vec<_> = ns.routes_via(br0.ifindex).collect();
    let multipath = via.iter().find(|r| !r.nexthops.is_empty()).unwrap();
    assert_eq!(multipath.nexthops.iter().map(|n| n.weight).collect::<Vec<_>>(), [2, 1]);
    let tap0 = ns.devices.iter().find(|d| d.name == b"tap0").unwrap();
    assert_eq!(ns.device(tap0.master.unwrap()).unwrap().name, b"br1");
}

/// Every truncation and single-bit flip of every real `ip … save` dump decodes or gives a typed
/// error; a dump cut inside a message is always an error.
#[test]
fn netlink_decoding_is_total_on_real_dumps() {
    let mut files = 0;
    for set in SETS {
        for e in std::fs::read_dir(support::fixture(set)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            let decode: fn(&[u8]) -> Result<usize, netlink::NetlinkError> = if name.starts_with("ifaddr-") {
                |b| netlink::decode_addresses(b).map(|v| v.len())
            } else if name.starts_with("route") {
                |b| netlink::decode_routes(b).map(|v| v.len())
            } else if name.starts_with("rule-") {
                |b| netlink::decode_rules(b).map(|v| v.len())
            } else {
                continue;
            };
            files += 1;
            let bytes = std::fs::read(&p).unwrap();
            let whole = decode(&bytes).unwrap_or_else(|e| panic!("{set}/{name}: {e}"));
            // Where messages end: after the magic, then each message's 4-aligned length.
            let mut ends = vec![4usize];
            while *ends.last().unwrap() < bytes.len() {
                let at = *ends.last().unwrap();
                let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
                ends.push((at + len.next_multiple_of(4)).min(bytes.len()));
            }
            assert_eq!(ends.len() - 1, whole, "{set}/{name}");
            for cut in 0..bytes.len() {
                match (decode(&bytes[..cut]), ends.iter().position(|&e| e == cut)) {
                    (Ok(n), Some(k)) => assert_eq!(n, k, "{set}/{name} cut at {cut}"),
                    (Err(_), None) => {}
                    (got, at) => panic!("{set}/{name} cut at {cut}: {got:?}, message boundary: {at:?}"),
                }
            }
            for i in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[i / 8] ^= 1 << (i % 8);
                let _ = decode(&b);
            }
        }
    }
    assert_eq!(files, 8, "ifaddr, route, route6 and rule of ipcns and nsbox");
    // A cut inside the first message of a real dump is an error that names where.
    let b = std::fs::read(support::fixture("nsbox").join("ifaddr-10.img")).unwrap();
    let e = netlink::decode_addresses(&b[..30]).unwrap_err();
    assert!(matches!(e, netlink::NetlinkError::Truncated { offset: 4, .. }), "{e:?}");
    assert_eq!(e.to_string(), format!("byte 4: truncated: needs {} bytes, 26 remain", u32::from_le_bytes(b[4..8].try_into().unwrap())));
}

// ---------------------------------------------------------------------------------------------
// Mounts

#[test]
fn mounts_match_mountinfo_and_crit() {
    let m = Mounts::load(&nsbox());
    check_mounts_against_mountinfo(&m, &captured().mountinfo);
    check_mounts_against_crit(&m, &crit_entries(&crit_ref_dir("nsbox"), "mountpoints-14.img"));
    let ns = &m.namespaces[0];
    assert_eq!(ns.tasks, [1]);
    let by_mp = |p: &str| ns.mounts.iter().find(|m| m.mountpoint == p.as_bytes()).unwrap();
    // What the scenario made: a read-only bind of a host directory, an external mount, a shared
    // tmpfs and a slave bind of it, a tmpfs.
    let root = &ns.mounts.iter().find(|m| m.mountpoint == b"/").unwrap();
    let bind = by_mp("/tmp/nsbox/mt/bind1");
    assert_eq!(bind.bind_of, Some(root.mnt_id));
    assert!(bind.read_only());
    let ext = by_mp("/tmp/nsbox/mt/ext1");
    assert!(ext.external());
    assert_eq!(ext.ext_key.as_deref(), Some(&b"facets-ext"[..]));
    let shared = by_mp("/tmp/nsbox/mt/shared1");
    let slave = by_mp("/tmp/nsbox/mt/slave1");
    assert_eq!(slave.bind_of, Some(shared.mnt_id));
    assert_eq!(slave.master_id, shared.shared_id);
    let tmp = by_mp("/tmp/nsbox/mt/tmp1");
    assert_eq!((tmp.fstype_name().as_str(), tmp.options.as_slice(), tmp.bind_of), ("tmpfs", &b"size=1024k,mode=750"[..], None));
    assert_eq!(tmp.dev_text(), captured().mountinfo.lines().find(|l| l.contains(" /tmp/nsbox/mt/tmp1 ")).unwrap().split(' ').nth(2).unwrap());
}

#[test]
fn mounts_of_podman_exports_match_crit() {
    for a in PODMAN {
        let ckpt = podman(a);
        let m = Mounts::load(&ckpt);
        assert!(m.problems.is_empty(), "{a}: {:?}", m.problems);
        let ns = &m.namespaces[0];
        check_mounts_against_crit(&m, &crit_decode(ckpt.file(&ns.file).unwrap()));
        // The container's root is its overlay; engines hand /etc/hosts & co. in as external binds.
        assert_eq!(ns.get(ns.roots[0]).unwrap().fstype_name(), "overlayfs", "{a}");
        let hosts = ns.mounts.iter().find(|m| m.mountpoint == b"/etc/hosts").unwrap();
        assert!(hosts.external() && hosts.ext_key.as_deref() == Some(&b"/etc/hosts"[..]), "{a}");
    }
}

// ---------------------------------------------------------------------------------------------
// Cgroups

#[test]
fn cgroups_match_crit_and_proc_cgroup() {
    let cg = Cgroups::load(&nsbox());
    assert!(cg.problems.is_empty(), "{:?}", cg.problems);
    check_cgroup_paths(&cg, &captured().cgroup, 1);
    let crit = &crit_entries(&crit_ref_dir("nsbox"), "cgroup.img")[0];
    compare_cgroups_with_crit(&cg, crit);
    // What the scenario set.
    assert_eq!(property(&cg, "pids", "/facets-nsbox", "pids.max").as_deref(), Some("77"));
    assert_eq!(property(&cg, "cpu", "/facets-nsbox", "cpu.shares").as_deref(), Some("512"));
    assert_eq!(property(&cg, "cpu", "/facets-nsbox/inner", "cpu.shares").as_deref(), Some("1024"));
    // The task's set is the one its core image names.
    let core = &crit_entries(&crit_ref_dir("nsbox"), "core-1.img")[0];
    let set = core.at("thread_core").unwrap().n("cg_set").unwrap();
    assert_eq!(cg.sets.iter().find(|s| s.tasks == [1]).map(|s| i64::from(s.id)), Some(set));
}

fn compare_cgroups_with_crit(cg: &Cgroups, crit: &Value) {
    let sets = crit.at("sets").unwrap().list();
    assert_eq!(cg.sets.len(), sets.len());
    for (s, c) in cg.sets.iter().zip(sets) {
        assert_eq!(i64::from(s.id), c.n("id").unwrap());
        let ctls = c.at("ctls").unwrap().list();
        let ours: Vec<_> = s.members.iter().map(|m| (String::from_utf8(m.controller.clone()).unwrap(), String::from_utf8(m.path.clone()).unwrap())).collect();
        let theirs: Vec<_> = ctls.iter().map(|m| (m.s("name").unwrap(), m.s("path").unwrap())).collect();
        assert_eq!(ours, theirs);
    }
    let ctrls = crit.at("controllers").unwrap().list();
    assert_eq!(cg.controllers.len(), ctrls.len());
    for (c, t) in cg.controllers.iter().zip(ctrls) {
        let names: Vec<String> = t.at("cnames").unwrap().list().iter().map(|n| match n {
            Value::String(s) => String::from_utf8(s.clone()).unwrap(),
            _ => panic!(),
        }).collect();
        assert_eq!(c.names.iter().map(|n| String::from_utf8(n.clone()).unwrap()).collect::<Vec<_>>(), names);
        fn dirs(ours: &[criu_image::inspect::cgroups::CgDir], theirs: &[Value]) {
            assert_eq!(ours.len(), theirs.len());
            for (d, t) in ours.iter().zip(theirs) {
                assert_eq!(Some(String::from_utf8(d.name.clone()).unwrap()), t.s("dir_name"));
                let props = t.at("properties").map(|p| p.list().to_vec()).unwrap_or_default();
                assert_eq!(d.properties.len(), props.len());
                for (p, tp) in d.properties.iter().zip(&props) {
                    assert_eq!(Some(String::from_utf8(p.name.clone()).unwrap()), tp.s("name"));
                    assert_eq!(Some(String::from_utf8(p.value.clone()).unwrap()), tp.s("value"));
                    assert_eq!(p.perms.map(|x| i64::from(x.mode)), tp.at("perms").and_then(|x| x.n("mode")));
                }
                assert_eq!(d.perms.map(|x| i64::from(x.mode)), t.at("dir_perms").and_then(|x| x.n("mode")));
                dirs(&d.children, &t.at("children").map(|c| c.list().to_vec()).unwrap_or_default());
            }
        }
        dirs(&c.dirs, &t.at("dirs").map(|d| d.list().to_vec()).unwrap_or_default());
    }
}

#[test]
fn cgroups_of_podman_exports_match_crit() {
    for a in PODMAN {
        let ckpt = podman(a);
        let cg = Cgroups::load(&ckpt);
        assert!(cg.problems.is_empty(), "{a}: {:?}", cg.problems);
        compare_cgroups_with_crit(&cg, &crit_decode(ckpt.file("cgroup.img").unwrap())[0]);
        // Every task is in the container's set, whose paths name the container's id.
        let pids: Vec<u32> = Namespaces::load(&ckpt).namespaces.iter().find(|n| n.kind == NsKind::Pid).unwrap().tasks.clone();
        let set = cg.sets.iter().find(|s| !s.tasks.is_empty()).unwrap();
        assert_eq!(set.tasks, pids, "{a}");
        let id = Container::load(&ckpt).id.unwrap();
        assert!(set.members.iter().any(|m| String::from_utf8_lossy(&m.path).ends_with(&format!("libpod-{id}"))), "{a}");
    }
    assert_eq!(Cgroups::load(&podman("loop.tar.gz")).sets[0].tasks, [1, 8, 16]);
}

// ---------------------------------------------------------------------------------------------
// Namespaces

#[test]
fn namespaces_of_nsbox_match_crit_and_ipcs() {
    let ckpt = nsbox();
    let ns = Namespaces::load(&ckpt);
    assert!(ns.problems.is_empty(), "{:?}", ns.problems);
    let dir = crit_ref_dir("nsbox");
    let ids = &crit_entries(&dir, "ids-1.img")[0];
    let root = crit_entries(&dir, "inventory.img")[0].at("root_ids").unwrap().clone();
    for n in &ns.namespaces {
        let key = format!("{}_ns_id", n.kind.name());
        assert_eq!(Some(i64::from(n.id)), ids.n(&key), "{key}");
        assert_eq!(n.dumpers, root.n(&key) == Some(i64::from(n.id)), "{key}");
        assert_eq!(n.tasks, [1]);
    }
    // unshare --mount --uts --ipc --net --pid --time: those are the task's own; user and cgroup
    // are the dumper's.
    let own: Vec<_> = ns.namespaces.iter().filter(|n| !n.dumpers).map(|n| n.kind).collect();
    assert_eq!(own, [NsKind::Pid, NsKind::Net, NsKind::Ipc, NsKind::Uts, NsKind::Mnt, NsKind::Time]);
    let uts = &crit_entries(&dir, "utsns-12.img")[0];
    assert_eq!((ns.uts[0].hostname.as_slice(), ns.uts[0].domainname.as_slice()), (&b"facets-box"[..], &b"facets.test"[..]));
    assert_eq!(uts.s("nodename").as_deref(), Some("facets-box"));
    check_ipc_against_ipcs(&ns, &captured().ipcs);
    let sem = &crit_entries(&dir, "ipcns-sem-11.img")[0];
    let vals: Vec<i64> = sem.at("extra").unwrap().list().iter().map(|v| match v {
        Value::Number(n) => n.parse().unwrap(),
        _ => panic!(),
    }).collect();
    assert_eq!(ns.ipc[0].sem[0].values.iter().map(|&v| i64::from(v)).collect::<Vec<_>>(), vals);
    // Clocks at dump: monotonic runs 86400 s ahead of boottime's 3600 (the unshare offsets).
    let t = &crit_entries(&dir, "timens-13.img")[0];
    let tn = ns.time.iter().find(|t| t.id == 13).unwrap();
    assert_eq!(Some(tn.monotonic.sec as i64), t.at("monotonic").unwrap().n("tv_sec"));
    assert_eq!(Some(tn.boottime.nsec as i64), t.at("boottime").unwrap().n("tv_nsec"));
    let diff = tn.monotonic.sec as i64 - tn.boottime.sec as i64;
    assert!((86400 - 3600 - 2..=86400 - 3600 + 2).contains(&diff), "monotonic - boottime = {diff}");
    // seccomp_exec.py installs a 1-instruction filter, then a 2-instruction one with
    // SECCOMP_FILTER_FLAG_LOG; restore installs them in that order.
    let sc = &ns.seccomp;
    assert_eq!(sc.threads.len(), 1);
    assert_eq!(sc.threads[0].mode, SeccompMode::FILTER);
    let order: Vec<usize> = sc.threads[0].chain.iter().map(|&i| sc.filters[i as usize].instructions).collect();
    assert_eq!(order, [1, 2]);
    let log = &sc.filters[sc.threads[0].chain[1] as usize];
    assert_eq!(log.flags & 2, 2, "SECCOMP_FILTER_FLAG_LOG");
    let core = &crit_entries(&dir, "core-1.img")[0];
    assert_eq!(Some(i64::from(sc.threads[0].chain[0])), core.at("thread_core").unwrap().n("seccomp_filter"));
}

#[test]
fn namespaces_of_ipcns_hold_its_sysv_objects() {
    // testdata/images/MANIFEST.md: shm key 0x1234 of 64 KiB, semaphores 0x2345 = 1, 5, 42, a
    // queue 0x3456 with 2 messages, hostname criu-fixture-uts.
    let ns = Namespaces::load(&Checkpoint::open(&support::fixture("ipcns")).unwrap());
    assert!(ns.problems.is_empty(), "{:?}", ns.problems);
    let ipc = &ns.ipc[0];
    assert_eq!((ipc.shm[0].desc.key, ipc.shm[0].size, ipc.shm[0].in_pagemaps), (0x1234, 65536, true));
    assert_eq!((ipc.sem[0].desc.key, ipc.sem[0].values.as_slice()), (0x2345, &[1u16, 5, 42][..]));
    assert_eq!((ipc.msg[0].desc.key, ipc.msg[0].messages.len()), (0x3456, 2));
    assert_eq!(ns.uts[0].hostname, b"criu-fixture-uts");
    let crit = &crit_entries(&crit_ref_dir("ipcns"), "ipcns-msg-11.img")[0];
    let extra = crit.at("extra").unwrap().list();
    let theirs: Vec<(i64, i64)> = extra.iter().step_by(2).map(|m| (m.n("mtype").unwrap(), m.n("msize").unwrap())).collect();
    let ours: Vec<(i64, i64)> = ipc.msg[0].messages.iter().map(|&(t, s)| (t as i64, i64::from(s))).collect();
    assert_eq!(ours, theirs);
    let limits = ipc.limits.as_ref().unwrap();
    let var = &crit_entries(&crit_ref_dir("ipcns"), "ipcns-var-11.img")[0];
    assert_eq!(Some(i64::from(limits.msgmax)), var.n("msg_ctlmax"));
    assert_eq!(Some(limits.shmmax.to_string()), var.s("shm_ctlmax"));
}

#[test]
fn namespaces_of_a_plain_task_are_all_the_dumpers() {
    let ns = Namespaces::load(&Checkpoint::open(&support::fixture("sleep")).unwrap());
    assert!(ns.problems.is_empty(), "{:?}", ns.problems);
    assert_eq!(ns.namespaces.len(), 8);
    assert!(ns.namespaces.iter().all(|n| n.dumpers && n.images.is_empty()), "{:?}", ns.namespaces);
    // timens-0.img: the dumper's clocks, always written.
    assert_eq!(ns.time.iter().map(|t| t.id).collect::<Vec<_>>(), [0]);
    assert!(ns.uts.is_empty() && ns.ipc.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Statistics

#[test]
fn stats_match_crit() {
    let st = Stats::load(&nsbox());
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    let dump = crit_entries(&crit_ref_dir("nsbox"), "stats-dump")[0].at("dump").unwrap().clone();
    let d = st.dump.as_ref().unwrap();
    for (k, v) in [
        ("freezing_time", u64::from(d.freezing_time_us)),
        ("frozen_time", u64::from(d.frozen_time_us)),
        ("memdump_time", u64::from(d.memdump_time_us)),
        ("memwrite_time", u64::from(d.memwrite_time_us)),
        ("pages_scanned", d.pages_scanned),
        ("pages_skipped_parent", d.pages_skipped_parent),
        ("pages_written", d.pages_written),
        ("pages_lazy", d.pages_lazy),
    ] {
        assert_eq!(Some(v as i64), dump.n(k), "{k}");
    }
    assert_eq!(d.shpages_scanned.map(|v| v as i64), dump.n("shpages_scanned"));
    let restore = crit_entries(&crit_ref_dir("nsbox"), "stats-restore")[0].at("restore").unwrap().clone();
    let r = st.restore.as_ref().unwrap();
    assert_eq!(Some(i64::from(r.restore_time_us)), restore.n("restore_time"));
    assert_eq!(Some(i64::from(r.forking_time_us)), restore.n("forking_time"));
    assert_eq!(r.pages_restored.map(|v| v as i64), restore.n("pages_restored"));
    // Restore brought back every page the dump wrote.
    assert_eq!(r.pages_restored, Some(d.pages_written));
    let text = text_of(&st);
    let line = text.lines().find(|l| l.trim_start().starts_with("pages written")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[2..], [d.pages_written.to_string(), "120".into(), "KiB".into()], "{line}");
    assert_eq!(d.pages_written * 4096, 120 << 10);
}

#[test]
fn stats_of_podman_exports_come_from_the_top_of_the_archive() {
    for a in PODMAN {
        let ckpt = podman(a);
        assert!(!ckpt.contains("stats-dump"), "{a}: podman keeps stats-dump outside checkpoint/");
        let st = Stats::load(&ckpt);
        assert!(st.problems.is_empty(), "{a}: {:?}", st.problems);
        assert_eq!(st.dump_file.as_deref(), Some("stats-dump"));
        let crit = &crit_decode(ckpt.extra_file("stats-dump").unwrap())[0];
        let dump = crit.at("dump").unwrap();
        let d = st.dump.as_ref().unwrap();
        assert_eq!(Some(i64::from(d.frozen_time_us)), dump.n("frozen_time"), "{a}");
        assert_eq!(Some(d.pages_written as i64), dump.n("pages_written"), "{a}");
        assert!(st.restore.is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// Container metadata

/// `config.dump` and `spec.dump` as the test reads them, for comparison.
fn metadata(ckpt: &Checkpoint) -> (Value, Value) {
    let c = parse(ckpt.extra_file("config.dump").unwrap(), "config.dump");
    let s = parse(ckpt.extra_file("spec.dump").unwrap(), "spec.dump");
    (c, s)
}

#[test]
fn container_of_podman_exports() {
    for a in PODMAN {
        let ckpt = podman(a);
        let c = Container::load(&ckpt);
        assert!(c.problems.is_empty(), "{a}: {:?}", c.problems);
        let (cfg, spec) = metadata(&ckpt);
        assert_eq!(c.engine, Some(Engine::Podman), "{a}");
        assert_eq!(c.name, cfg.s("name"), "{a}");
        assert_eq!(c.id, cfg.s("id"), "{a}");
        assert_eq!(c.image_name, cfg.s("rootfsImageName"), "{a}");
        assert_eq!(c.image_id, cfg.s("rootfsImageID"), "{a}");
        assert_eq!(c.runtime.as_deref(), Some("runc"), "{a}: README: podman ran runc");
        assert_eq!(c.created, cfg.s("createdTime"), "{a}");
        assert_eq!(c.hostname, spec.s("hostname"), "{a}");
        let args: Vec<String> = spec.at("process").unwrap().at("args").unwrap().list().iter().map(|v| match v {
            Value::String(s) => String::from_utf8(s.clone()).unwrap(),
            _ => panic!(),
        }).collect();
        assert_eq!(c.command.as_deref(), Some(args.as_slice()), "{a}");
        assert!(c.kubernetes.is_none(), "{a}");
        // network.status: podman's default bridge network (README: 10.88.0.0/16).
        let eth0 = &c.network[0];
        assert_eq!((eth0.network.as_deref(), eth0.name.as_str()), (Some("podman"), "eth0"), "{a}");
        assert!(eth0.addresses[0].0.starts_with("10.88.") && eth0.addresses[0].1.as_deref() == Some("10.88.0.1"), "{a}");
        // Members outside checkpoint/, with their sizes, as tar lists them.
        let listed = tar_members(&support::root().join("testdata/podman").join(a));
        let ours: Vec<(String, u64)> = c.members.iter().map(|m| (m.name.clone(), m.size)).collect();
        assert_eq!(ours, listed, "{a}");
        assert_eq!(c.image_files, ckpt.names().count());
    }
    let lp = Container::load(&podman("loop.tar.gz"));
    assert_eq!((lp.name.as_deref(), lp.rootfs_diff), (Some("loop-gzip"), Some(3584)));
    let wv = Container::load(&podman("withvol.tar.gz"));
    assert_eq!(wv.volumes.iter().map(|v| (v.name.as_str(), v.size)).collect::<Vec<_>>(), [("ckvol", 2560)]);
    assert_eq!(Container::load(&podman("sleeper.tar.gz")).rootfs_diff, None);
}

/// Regular files outside `checkpoint/`, sorted, with sizes, as the tar crate lists the archive
/// (decompressed here with flate2 or ruzstd, not by the checkpoint reader).
fn tar_members(path: &Path) -> Vec<(String, u64)> {
    use std::io::Read;
    let raw = std::fs::read(path).unwrap();
    let mut data = Vec::new();
    match &raw[..4] {
        [0x1f, 0x8b, ..] => {
            flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut data).unwrap();
        }
        [0x28, 0xb5, 0x2f, 0xfd] => {
            ruzstd::decoding::StreamingDecoder::new(&raw[..]).unwrap().read_to_end(&mut data).unwrap();
        }
        _ => data = raw,
    }
    let mut out = Vec::new();
    for e in tar::Archive::new(std::io::Cursor::new(data)).entries().unwrap() {
        let e = e.unwrap();
        let name = e.path().unwrap().to_str().unwrap().trim_start_matches("./").to_string();
        if e.header().entry_type().is_file() && !name.starts_with("checkpoint/") {
            out.push((name, e.size()));
        }
    }
    out.sort();
    out
}

/// `../shared/tools/make-podman-archive.sh` wraps a fixture the way Podman lays out an export.
fn make_podman_archive(set: &str, out: &Path) {
    let script = support::root().join("../shared/tools/make-podman-archive.sh");
    assert!(script.is_file(), "{} is needed for this test (the shared tools beside the clone)", script.display());
    let st = Command::new("bash")
        .arg(&script)
        .arg(support::fixture(set))
        .arg(out)
        .env("NAME", set)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "make-podman-archive.sh {set}");
}

#[test]
fn sections_of_a_podman_layout_archive_equal_those_of_its_directory() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-archives-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for set in SETS {
        for ext in ["tar", "tar.gz"] {
            let out = dir.join(format!("{set}.{ext}"));
            make_podman_archive(set, &out);
            let a = Checkpoint::open(&out).unwrap();
            let d = Checkpoint::open(&support::fixture(set)).unwrap();
            for (sa, sd) in all_sections(&a).iter().zip(all_sections(&d)).skip(1) {
                assert_eq!(json_of(sa.as_ref()), json_of(sd.as_ref()), "{set}.{ext}: {}", sa.name());
                assert_eq!(text_of(sa.as_ref()), text_of(sd.as_ref()), "{set}.{ext}: {}", sa.name());
            }
            // The script's config.dump and spec.dump.
            let c = Container::load(&a);
            assert!(c.problems.is_empty(), "{set}: {:?}", c.problems);
            assert_eq!(c.engine, Some(Engine::Podman));
            assert_eq!(c.name.as_deref(), Some(set));
            let want_id = sha256_hex(set.as_bytes());
            assert_eq!(c.id.as_deref(), Some(want_id.as_str()));
            assert_eq!(c.image_name.as_deref(), Some("docker.io/library/debian:bookworm"));
            assert_eq!((c.runtime.as_deref(), c.created.as_deref(), c.checkpointed.as_deref()), (Some("crun"), Some("2025-11-27T03:39:00Z"), Some("2025-11-27T03:40:00Z")));
            assert_eq!(c.restored, Some(false));
            assert_eq!(c.restored_at, None, "Go's zero time means never");
            assert_eq!(c.hostname.as_deref(), Some(set));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn sha256_hex(b: &[u8]) -> String {
    let out = Command::new("sha256sum").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().and_then(|mut c| {
        use std::io::Write;
        c.stdin.take().unwrap().write_all(b)?;
        c.wait_with_output()
    }).unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn container_of_an_extracted_archive_reads_the_files_beside_checkpoint() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-extracted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let st = Command::new("tar").arg("xzf").arg(support::root().join("testdata/podman/loop.tar.gz")).arg("-C").arg(&dir).status().unwrap();
    assert!(st.success());
    let from_dir = Container::load(&Checkpoint::open(&dir.join("checkpoint")).unwrap());
    let from_archive = Container::load(&podman("loop.tar.gz"));
    assert!(from_dir.problems.is_empty(), "{:?}", from_dir.problems);
    assert_eq!(from_dir.source.as_deref(), Some(dir.as_path()));
    for (a, b) in [(&from_dir.name, &from_archive.name), (&from_dir.id, &from_archive.id), (&from_dir.image_id, &from_archive.image_id), (&from_dir.created, &from_archive.created)] {
        assert_eq!(a, b);
    }
    assert_eq!(from_dir.members, from_archive.members);
    assert_eq!(from_dir.network, from_archive.network);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn container_of_a_plain_dump_is_none() {
    let c = Container::load(&nsbox());
    assert!(c.source.is_none() && c.engine.is_none() && c.problems.is_empty());
    assert_eq!(c.image_files, std::fs::read_dir(support::fixture("nsbox")).unwrap().count());
    let j = json_of(&c);
    assert!(matches!(j.at("engine"), Some(Value::Null)) && matches!(j.at("name"), Some(Value::Null)));
}

/// NOT a real archive: no CRI-O or kubelet checkpoint was available. The layout follows CRI-O's
/// checkpoint code and checkpointctl's `metadata` package as far as we know them (config.dump is
/// checkpointctl's ContainerConfig; the Kubernetes names are in spec.dump's annotations).
#[test]
fn container_of_a_crio_layout_from_its_documented_fields() {
    let config = br#"{"id": "4f1c3a", "name": "k8s_counter_counters_default_8e9d_0",
        "rootfsImage": "sha256:aa11", "rootfsImageRef": "sha256:bb22",
        "rootfsImageName": "quay.io/adrianreber/counter:latest", "runtime": "runc",
        "createdTime": "2025-01-02T03:04:05.123Z", "checkpointedTime": "2025-01-02T04:00:00Z",
        "restoredTime": "0001-01-01T00:00:00Z", "restored": false}"#;
    let spec = br#"{"ociVersion": "1.0.2-dev", "process": {"args": ["/counter"], "cwd": "/"},
        "hostname": "counters",
        "annotations": {"io.container.manager": "cri-o",
          "io.kubernetes.cri-o.Labels": "{\"io.kubernetes.container.name\":\"counter\",\"io.kubernetes.pod.name\":\"counters\",\"io.kubernetes.pod.namespace\":\"default\",\"io.kubernetes.pod.uid\":\"8e9d\"}",
          "io.kubernetes.cri-o.SandboxID": "5d2e", "io.kubernetes.cri-o.IP.0": "10.85.0.7"}}"#;
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add("config.dump", config);
    add("spec.dump", spec);
    add("deleted.files", br#"["/etc/motd","/var/log/x"]"#);
    add("rootfs-diff.tar", &[0u8; 1024]);
    for f in ["inventory.img", "pstree.img", "core-20292.img"] {
        add(&format!("checkpoint/{f}"), &std::fs::read(support::fixture("sleep").join(f)).unwrap());
    }
    let bytes = b.into_inner().unwrap();
    let ckpt = Checkpoint::from_archive_bytes(Path::new("crio.tar"), bytes, &Default::default()).unwrap();
    let c = Container::load(&ckpt);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.engine, Some(Engine::CriO));
    let k = c.kubernetes.as_ref().unwrap();
    assert_eq!((k.pod.as_deref(), k.namespace.as_deref(), k.container.as_deref(), k.pod_uid.as_deref()), (Some("counters"), Some("default"), Some("counter"), Some("8e9d")));
    assert_eq!(k.sandbox_id.as_deref(), Some("5d2e"));
    assert_eq!((c.image_id.as_deref(), c.image_ref.as_deref()), (Some("sha256:aa11"), Some("sha256:bb22")));
    assert_eq!(c.checkpointed.as_deref(), Some("2025-01-02T04:00:00Z"));
    assert_eq!((c.restored, c.restored_at.as_deref()), (Some(false), None));
    assert_eq!(c.ip.as_deref(), Some("10.85.0.7"));
    assert_eq!(c.deleted_files.as_deref(), Some(&["/etc/motd".to_string(), "/var/log/x".to_string()][..]));
    assert_eq!(c.rootfs_diff, Some(1024));
}

// ---------------------------------------------------------------------------------------------
// Every section, every fixture

#[test]
fn every_section_of_every_fixture_renders_text_and_json() {
    let mut cks: Vec<(String, Checkpoint)> = SETS.iter().map(|s| (s.to_string(), Checkpoint::open(&support::fixture(s)).unwrap())).collect();
    cks.extend(PODMAN.iter().map(|a| (a.to_string(), podman(a))));
    for (name, ckpt) in &cks {
        for s in all_sections(ckpt) {
            assert!(s.problems().is_empty(), "{name} {}: {:?}", s.name(), s.problems());
            let j = json_of(s.as_ref());
            let Value::Object(members) = &j else { panic!("{name} {}: not an object", s.name()) };
            assert_eq!(members.last().map(|(k, _)| k.as_str()), Some("problems"), "{name} {}", s.name());
            let text = text_of(s.as_ref());
            assert!(!text.is_empty() && text.ends_with('\n'), "{name} {}", s.name());
            assert!(!text.contains("  ! "), "{name} {}: problems in the text", s.name());
        }
    }
}

/// Broken images become problems naming the file; the rest of each section is still there.
#[test]
fn broken_images_are_problems_not_failures() {
    let src = support::fixture("nsbox");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let cut = |name: &str, keep: usize| {
        let b = std::fs::read(dir.join(name)).unwrap();
        std::fs::write(dir.join(name), &b[..keep.min(b.len())]).unwrap();
    };
    cut("mountpoints-14.img", 300);
    cut("cgroup.img", 500);
    cut("route-10.img", 30);
    cut("utsns-12.img", 10);
    cut("stats-dump", 12);
    std::fs::write(dir.join("rule-10.img"), b"not a dump").unwrap();
    std::fs::remove_file(dir.join("ids-1.img")).unwrap();
    let ckpt = Checkpoint::open(&dir).unwrap();
    let named = |s: &dyn Section, f: &str| s.problems().iter().any(|p| p.file == f);
    let m = Mounts::load(&ckpt);
    assert!(named(&m, "mountpoints-14.img"), "{:?}", m.problems);
    assert!(!m.namespaces[0].mounts.is_empty(), "the entries before the cut are kept");
    let cg = Cgroups::load(&ckpt);
    assert!(named(&cg, "cgroup.img"), "{:?}", cg.problems);
    let net = Net::load(&ckpt);
    assert!(named(&net, "route-10.img") && named(&net, "rule-10.img"), "{:?}", net.problems);
    assert!(!net.namespaces[0].devices.is_empty() && !net.namespaces[0].addresses.is_empty());
    assert!(net.namespaces[0].rules.is_empty());
    let ns = Namespaces::load(&ckpt);
    assert!(named(&ns, "utsns-12.img") && named(&ns, "ids-1.img"), "{:?}", ns.problems);
    assert!(!ns.ipc.is_empty(), "the IPC images are still read");
    let st = Stats::load(&ckpt);
    assert!(named(&st, "stats-dump"), "{:?}", st.problems);
    assert!(st.restore.is_some());
    for s in all_sections(&ckpt) {
        let text = text_of(s.as_ref());
        for p in s.problems() {
            assert!(text.contains(&format!("  ! {p}")), "{}: {p} not in the text", s.name());
        }
        let _ = json_of(s.as_ref());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `ckpt-image.oci.tar` (`podman container checkpoint --create-image`, `podman save --format
/// oci-archive`): the test follows index.json → manifest → layer itself, decompresses the layer
/// with flate2 and writes it out as a plain tar; every section of the OCI archive equals that of
/// the layer, and the checkpoint-image facts are the manifest's annotations.
#[test]
fn an_oci_checkpoint_image_is_its_layer_plus_the_manifest_annotations() {
    use criu_image::checkpoint::Format;
    use criu_image::inspect::container::CheckpointImage;
    use std::io::Read;
    let path = support::root().join("testdata/podman/ckpt-image.oci.tar");
    let mut blobs = std::collections::BTreeMap::new();
    for e in tar::Archive::new(std::fs::File::open(&path).unwrap()).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_str().unwrap().trim_start_matches("./").to_string();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        blobs.insert(name, b);
    }
    let blob = |digest: Option<String>| blobs[&format!("blobs/sha256/{}", digest.unwrap().strip_prefix("sha256:").unwrap())].clone();
    let index = parse(&blobs["index.json"], "index.json");
    let manifest_digest = index.at("manifests").unwrap().list()[0].s("digest");
    let manifest = parse(&blob(manifest_digest), "manifest");
    let layer = blob(manifest.at("layers").unwrap().list()[0].s("digest"));
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&layer[..]).read_to_end(&mut tar).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oci-layer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("layer.tar");
    std::fs::write(&plain, &tar).unwrap();

    let oci = Checkpoint::open(&path).unwrap();
    let layer_ckpt = Checkpoint::open(&plain).unwrap();
    assert_eq!((oci.format(), layer_ckpt.format()), (Format::OciImage, Format::Tar));
    assert_eq!(oci.names().collect::<Vec<_>>(), layer_ckpt.names().collect::<Vec<_>>());
    for n in layer_ckpt.names() {
        assert_eq!(oci.file(n).unwrap(), layer_ckpt.file(n).unwrap(), "{n}");
    }
    // Every section but the first two (container: the OCI facts; checkpoint: its format line).
    for (so, sl) in all_sections(&oci).iter().zip(all_sections(&layer_ckpt)).skip(2) {
        assert_eq!(json_of(so.as_ref()), json_of(sl.as_ref()), "{}", so.name());
    }
    let c = Container::load(&oci);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let (cfg, _) = metadata(&oci);
    assert_eq!((c.engine, c.name.clone(), c.id.clone()), (Some(Engine::Podman), cfg.s("name"), cfg.s("id")));
    let img = c.checkpoint_image.expect("an OCI checkpoint image");
    let ann = manifest.at("annotations").unwrap();
    let a = |k: &str| ann.s(&format!("io.podman.annotations.checkpoint.{k}"));
    assert_eq!(img.ref_name, index.at("manifests").unwrap().list()[0].at("annotations").unwrap().s("org.opencontainers.image.ref.name"));
    assert_eq!(img.container_name, a("name"));
    assert_eq!(a("criu.version").as_deref(), Some("40201"), "README: CRIU 4.2.1");
    assert_eq!(img.criu_version.as_deref(), Some("4.2.1"));
    assert_eq!(img.engine_version, a("podman.version").map(|v| format!("podman {v}")));
    assert_eq!(img.kernel, a("host.kernel"));
    assert_eq!(img.arch, a("host.arch"));
    assert_eq!(img.runtime_version.as_deref(), a("runtime.version").as_deref().and_then(|v| v.lines().next()));
    let Value::Object(members) = ann else { panic!() };
    assert_eq!(img.annotations.len(), members.len());
    assert!(CheckpointImage::load(&layer_ckpt).is_none());
    // The checkpoint section takes CRIU's version from the annotation (the images lack it).
    let d = criu_image::inspect::dump::DumpInfo::load(&oci);
    assert_eq!((d.criu_version.as_deref(), d.format.as_str()), (Some("4.2.1"), "oci-archive"));
    assert_eq!(criu_image::inspect::dump::DumpInfo::load(&layer_ckpt).criu_version, None);
    let _ = std::fs::remove_dir_all(&dir);
}
