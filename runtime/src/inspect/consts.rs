//! Kernel, iproute2 and CRIU constants the inspect sections need and the generated crate does not
//! have yet. One block, so that moving them into `proto/*.toml` (and codegen) is one change.
//!
//! Flag tables have the generated tables' shape ([`FlagTable`]: name, bit); names are the
//! lower-case spelling that `ip`, `/proc/self/mountinfo` and the kernel headers use.

// TODO(facts): move to proto/*.toml (flags.toml / dicts.toml, or a new net.toml) and generate.

use criu_image_proto::support::json::FlagTable;

// ---- iproute2's dump files (ip/ipaddress.c, ip/iproute.c, ip/iprule.c: the `*_dump_magic`
// words `ip addr|route|rule save` writes first, host-endian) ---------------------------------
/// `ipadd_dump_magic`: the first word of `ip addr save` (`ifaddr-N.img`).
pub const IFADDR_DUMP_MAGIC: u32 = 0x4736_1222;
/// `route_dump_magic`: the first word of `ip route save` (`route-N.img`, `route6-N.img`).
pub const ROUTE_DUMP_MAGIC: u32 = 0x4531_1224;
/// `rule_dump_magic`: the first word of `ip rule save` (`rule-N.img`).
pub const RULE_DUMP_MAGIC: u32 = 0x7170_6986;

// ---- <linux/netlink.h> -----------------------------------------------------------------------
/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct nlattr)` / `struct rtattr`.
pub const NLA_HDRLEN: usize = 4;
/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER`: not part of an attribute's type.
pub const NLA_TYPE_MASK: u16 = 0x3fff;

// ---- <linux/rtnetlink.h> message types ---------------------------------------------------------
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_NEWRULE: u16 = 32;

// ---- <linux/if_addr.h> -----------------------------------------------------------------------
/// `sizeof(struct ifaddrmsg)`.
pub const IFADDRMSG_LEN: usize = 8;
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_ANYCAST: u16 = 5;
pub const IFA_CACHEINFO: u16 = 6;
pub const IFA_FLAGS: u16 = 8;
pub const IFA_RT_PRIORITY: u16 = 9;
pub const IFA_PROTO: u16 = 11;
/// `IFA_F_*`, as `ip addr` names them.
pub static IFA_FLAGS_TABLE: &FlagTable = &[
    ("secondary", 0x01),
    ("nodad", 0x02),
    ("optimistic", 0x04),
    ("dadfailed", 0x08),
    ("home", 0x10),
    ("deprecated", 0x20),
    ("tentative", 0x40),
    ("permanent", 0x80),
    ("mngtmpaddr", 0x100),
    ("noprefixroute", 0x200),
    ("autojoin", 0x400),
    ("stable-privacy", 0x800),
];

// ---- <linux/rtnetlink.h> routes ------------------------------------------------------------------
/// `sizeof(struct rtmsg)`.
pub const RTMSG_LEN: usize = 12;
pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_IIF: u16 = 3;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_METRICS: u16 = 8;
pub const RTA_MULTIPATH: u16 = 9;
pub const RTA_FLOW: u16 = 11;
pub const RTA_TABLE: u16 = 15;
pub const RTA_MARK: u16 = 16;
pub const RTA_PREF: u16 = 20;
pub const RTA_EXPIRES: u16 = 23;
/// `sizeof(struct rtnexthop)`.
pub const RTNH_LEN: usize = 8;
/// `RTAX_*` route metrics, as `ip route` names them (index = attribute type).
pub static RTAX_NAMES: &[(u16, &str)] = &[
    (1, "lock"),
    (2, "mtu"),
    (3, "window"),
    (4, "rtt"),
    (5, "rttvar"),
    (6, "ssthresh"),
    (7, "cwnd"),
    (8, "advmss"),
    (9, "reordering"),
    (10, "hoplimit"),
    (11, "initcwnd"),
    (12, "features"),
    (13, "rto_min"),
    (14, "initrwnd"),
    (15, "quickack"),
    (16, "congctl"),
    (17, "fastopen_no_cookie"),
];
/// `RTAX_CC_ALGO`: a string, not a number.
pub const RTAX_CC_ALGO: u16 = 16;
/// `RT_SCOPE_*`, as `ip` names them.
pub static RT_SCOPES: &[(u8, &str)] = &[(0, "global"), (200, "site"), (253, "link"), (254, "host"), (255, "nowhere")];
/// `RT_TABLE_*` with names (`/etc/iproute2/rt_tables`'s reserved ones).
pub static RT_TABLES: &[(u32, &str)] = &[(0, "unspec"), (253, "default"), (254, "main"), (255, "local")];
/// `RTPROT_*`, as `ip route` names them (`/etc/iproute2/rt_protos`).
pub static RTPROTS: &[(u8, &str)] = &[
    (0, "unspec"),
    (1, "redirect"),
    (2, "kernel"),
    (3, "boot"),
    (4, "static"),
    (8, "gated"),
    (9, "ra"),
    (10, "mrt"),
    (11, "zebra"),
    (12, "bird"),
    (13, "dnrouted"),
    (14, "xorp"),
    (15, "ntk"),
    (16, "dhcp"),
    (17, "mrouted"),
    (18, "keepalived"),
    (42, "babel"),
    (99, "openr"),
    (186, "bgp"),
    (187, "isis"),
    (188, "ospf"),
    (189, "rip"),
    (192, "eigrp"),
];
/// `RTN_*` route types.
pub static RTN_TYPES: &[(u8, &str)] = &[
    (0, "unspec"),
    (1, "unicast"),
    (2, "local"),
    (3, "broadcast"),
    (4, "anycast"),
    (5, "multicast"),
    (6, "blackhole"),
    (7, "unreachable"),
    (8, "prohibit"),
    (9, "throw"),
    (10, "nat"),
    (11, "xresolve"),
];
/// `RTM_F_*` and `RTNH_F_*` route flags.
pub static RTM_FLAGS_TABLE: &FlagTable = &[
    ("dead", 0x1),
    ("pervasive", 0x2),
    ("onlink", 0x4),
    ("offload", 0x8),
    ("linkdown", 0x10),
    ("unresolved", 0x20),
    ("trap", 0x40),
    ("notify", 0x100),
    ("cloned", 0x200),
    ("equalize", 0x400),
    ("prefix", 0x800),
    ("lookup_table", 0x1000),
    ("fib_match", 0x2000),
    ("offload_failed", 0x20000000),
];
/// `ICMPV6_ROUTER_PREF_*` in `RTA_PREF`.
pub static ROUTER_PREFS: &[(u8, &str)] = &[(0, "medium"), (1, "high"), (3, "low")];

// ---- <linux/fib_rules.h> -------------------------------------------------------------------------
/// `sizeof(struct fib_rule_hdr)`.
pub const FIB_RULE_HDR_LEN: usize = 12;
pub const FRA_DST: u16 = 1;
pub const FRA_SRC: u16 = 2;
pub const FRA_IIFNAME: u16 = 3;
pub const FRA_GOTO: u16 = 4;
pub const FRA_PRIORITY: u16 = 6;
pub const FRA_FWMARK: u16 = 10;
pub const FRA_FLOW: u16 = 11;
pub const FRA_SUPPRESS_IFGROUP: u16 = 13;
pub const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
pub const FRA_TABLE: u16 = 15;
pub const FRA_FWMASK: u16 = 16;
pub const FRA_OIFNAME: u16 = 17;
pub const FRA_L3MDEV: u16 = 19;
pub const FRA_UID_RANGE: u16 = 20;
pub const FRA_PROTOCOL: u16 = 21;
pub const FRA_IP_PROTO: u16 = 22;
pub const FRA_SPORT_RANGE: u16 = 23;
pub const FRA_DPORT_RANGE: u16 = 24;
/// `FR_ACT_*`, as `ip rule` names them.
pub static FR_ACTIONS: &[(u8, &str)] = &[
    (0, "unspec"),
    (1, "lookup"),
    (2, "goto"),
    (3, "nop"),
    (6, "blackhole"),
    (7, "unreachable"),
    (8, "prohibit"),
];
/// `FIB_RULE_*` flags.
pub static FIB_RULE_FLAGS_TABLE: &FlagTable =
    &[("permanent", 0x1), ("not", 0x2), ("unresolved", 0x4), ("iif_detached", 0x8), ("oif_detached", 0x10)];

// ---- <linux/if.h> ----------------------------------------------------------------------------
/// `IFF_*` device flags, as `ip link` names them.
pub static IFF_FLAGS_TABLE: &FlagTable = &[
    ("up", 0x1),
    ("broadcast", 0x2),
    ("debug", 0x4),
    ("loopback", 0x8),
    ("pointopoint", 0x10),
    ("notrailers", 0x20),
    ("running", 0x40),
    ("noarp", 0x80),
    ("promisc", 0x100),
    ("allmulti", 0x200),
    ("master", 0x400),
    ("slave", 0x800),
    ("multicast", 0x1000),
    ("portsel", 0x2000),
    ("automedia", 0x4000),
    ("dynamic", 0x8000),
    ("lower_up", 0x10000),
    ("dormant", 0x20000),
    ("echo", 0x40000),
];

// ---- <linux/mount.h> (MS_*; sb_flags use the same SB_* values) -------------------------------------
pub const MS_RDONLY: u64 = 0x1;
/// `MS_*` per-mount flags and propagation bits, named as `/proc/self/mountinfo` spells them.
pub static MS_FLAGS_TABLE: &FlagTable = &[
    ("ro", 0x1),
    ("nosuid", 0x2),
    ("nodev", 0x4),
    ("noexec", 0x8),
    ("sync", 0x10),
    ("remount", 0x20),
    ("mand", 0x40),
    ("dirsync", 0x80),
    ("nosymfollow", 0x100),
    ("noatime", 0x400),
    ("nodiratime", 0x800),
    ("bind", 0x1000),
    ("move", 0x2000),
    ("rec", 0x4000),
    ("silent", 0x8000),
    ("posixacl", 0x10000),
    ("unbindable", 0x20000),
    ("private", 0x40000),
    ("slave", 0x80000),
    ("shared", 0x100000),
    ("relatime", 0x200000),
    ("kernmount", 0x400000),
    ("i_version", 0x800000),
    ("strictatime", 0x1000000),
    ("lazytime", 0x2000000),
];

// ---- <linux/seccomp.h> -----------------------------------------------------------------------
/// `sizeof(struct sock_filter)`: one classic BPF instruction.
pub const SOCK_FILTER_LEN: usize = 8;
/// `SECCOMP_FILTER_FLAG_*`.
pub static SECCOMP_FILTER_FLAGS_TABLE: &FlagTable = &[
    ("tsync", 0x1),
    ("log", 0x2),
    ("spec_allow", 0x4),
    ("new_listener", 0x8),
    ("tsync_esrch", 0x10),
    ("wait_killable_recv", 0x20),
];

// ---- CRIU's sysctl lists (criu/net.c, CRIU 4.2.1): netdev/netns images store values by position --
/// `devconfs4[]`: `net/ipv4/conf/<dev>/<name>`.
pub static DEVCONFS4: &[&str] = &[
    "accept_local",
    "accept_redirects",
    "accept_source_route",
    "arp_accept",
    "arp_announce",
    "arp_filter",
    "arp_ignore",
    "arp_notify",
    "bootp_relay",
    "disable_policy",
    "disable_xfrm",
    "force_igmp_version",
    "forwarding",
    "igmpv2_unsolicited_report_interval",
    "igmpv3_unsolicited_report_interval",
    "log_martians",
    "medium_id",
    "promote_secondaries",
    "proxy_arp",
    "proxy_arp_pvlan",
    "route_localnet",
    "rp_filter",
    "secure_redirects",
    "send_redirects",
    "shared_media",
    "src_valid_mark",
    "tag",
    "ignore_routes_with_linkdown",
    "drop_gratuitous_arp",
    "drop_unicast_in_l2_multicast",
];
/// `devconfs6[]`: `net/ipv6/conf/<dev>/<name>`.
pub static DEVCONFS6: &[&str] = &[
    "accept_dad",
    "accept_ra",
    "accept_ra_defrtr",
    "accept_ra_from_local",
    "accept_ra_min_hop_limit",
    "accept_ra_mtu",
    "accept_ra_pinfo",
    "accept_ra_rt_info_max_plen",
    "accept_ra_rtr_pref",
    "accept_redirects",
    "accept_source_route",
    "autoconf",
    "dad_transmits",
    "disable_ipv6",
    "drop_unicast_in_l2_multicast",
    "drop_unsolicited_na",
    "force_mld_version",
    "force_tllao",
    "forwarding",
    "hop_limit",
    "ignore_routes_with_linkdown",
    "keep_addr_on_down",
    "max_addresses",
    "max_desync_factor",
    "mldv1_unsolicited_report_interval",
    "mldv2_unsolicited_report_interval",
    "mtu",
    "ndisc_notify",
    "optimistic_dad",
    "proxy_ndp",
    "regen_max_retry",
    "router_probe_interval",
    "router_solicitation_delay",
    "router_solicitation_interval",
    "router_solicitations",
    "stable_secret",
    "suppress_frag_ndisc",
    "temp_prefered_lft",
    "temp_valid_lft",
    "use_oif_addrs_only",
    "use_optimistic",
    "use_tempaddr",
];
/// `unix_conf_entries[]`: `net/unix/<name>`.
pub static UNIX_CONF: &[&str] = &["max_dgram_qlen"];
/// `ipv4_sysctl_entries[]`: `net/ipv4/<name>`.
pub static IPV4_SYSCTLS: &[&str] = &["ping_group_range"];

/// The name a small lookup table gives `v`.
pub fn lookup<K: PartialEq + Copy>(table: &[(K, &'static str)], v: K) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == v).map(|(_, n)| *n)
}
