//! iproute2's dump files, as CRIU saves a network namespace's addresses (`ifaddr-N.img`, from
//! `ip addr save`), routes (`route-N.img` and `route6-N.img`, from `ip route save` and
//! `ip -6 route save`: the main table) and policy rules (`rule-N.img`, `ip rule save`).
//!
//! Each file is a 4-byte magic word (host-endian, one per tool), then the rtnetlink messages the
//! kernel answered the dump request with, as received: `struct nlmsghdr` (length, type, flags,
//! sequence, port id), the family header (`ifaddrmsg`, `rtmsg`, `fib_rule_hdr`), then
//! attributes (`struct rtattr`: length, type, value padded to 4 bytes). Integers are host-endian
//! except where the kernel says otherwise (addresses are bytes in network order). CRIU restores
//! them with `ip addr|route|rule restore`.
//!
//! Decoding is total: any bytes give a value or a [`NetlinkError`] naming the byte offset, never
//! a panic; nothing is allocated beyond what the input holds. Attributes the decoder has no field
//! for are skipped (a newer kernel may add them); structural damage is an error.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::inspect::consts::*;

pub use crate::inspect::consts::{IFADDR_DUMP_MAGIC, ROUTE_DUMP_MAGIC, RULE_DUMP_MAGIC};

/// What is wrong with a dump file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetlinkError {
    /// Shorter than the 4-byte magic word.
    NoMagic {
        /// The file's length.
        len: usize,
    },
    /// The magic word is not the one this kind of dump starts with.
    BadMagic {
        /// The word found.
        found: u32,
        /// The word `ip … save` writes for this kind of dump.
        expected: u32,
    },
    /// A message, header or attribute runs past the end of the file.
    Truncated {
        /// Offset of the message or attribute.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes the file still holds there.
        available: usize,
    },
    /// A message length smaller than its headers.
    BadLength {
        /// Offset of the message.
        offset: usize,
        /// The length it claims.
        len: u32,
        /// The least a message of this kind takes.
        min: usize,
    },
    /// A message of another type than the dump holds (`RTM_NEWADDR`, `RTM_NEWROUTE`, `RTM_NEWRULE`).
    UnexpectedType {
        /// Offset of the message.
        offset: usize,
        /// Its type.
        found: u16,
        /// The type this dump holds.
        expected: u16,
    },
    /// An attribute whose length does not fit its type.
    BadAttribute {
        /// Offset of the attribute.
        offset: usize,
        /// Its type (`IFA_*`, `RTA_*`, `FRA_*`).
        kind: u16,
        /// Its payload length.
        len: usize,
        /// What was expected of it.
        expected: &'static str,
    },
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkError::NoMagic { len } => {
                write!(f, "{len} bytes, too short for the 4-byte magic word of an `ip … save` dump")
            }
            NetlinkError::BadMagic { found, expected } => {
                write!(f, "magic {found:#010x} is not {expected:#010x}, the word `ip … save` writes first")
            }
            NetlinkError::Truncated { offset, needed, available } => {
                write!(f, "byte {offset}: truncated: needs {needed} bytes, {available} remain")
            }
            NetlinkError::BadLength { offset, len, min } => {
                write!(f, "byte {offset}: message length {len} is shorter than its headers ({min} bytes)")
            }
            NetlinkError::UnexpectedType { offset, found, expected } => {
                write!(f, "byte {offset}: netlink message type {found} where this dump holds type {expected}")
            }
            NetlinkError::BadAttribute { offset, kind, len, expected } => {
                write!(f, "byte {offset}: attribute {kind} has {len} bytes, expected {expected}")
            }
        }
    }
}

impl std::error::Error for NetlinkError {}

/// An address as a netlink attribute holds it: IPv4, IPv6, or the bytes of another family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetAddr {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// The bytes of an address of another family (or of unexpected length).
    Other(Vec<u8>),
}

impl NetAddr {
    fn of(b: &[u8]) -> NetAddr {
        match b.len() {
            4 => NetAddr::Ip(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                NetAddr::Ip(IpAddr::V6(Ipv6Addr::from(a)))
            }
            _ => NetAddr::Other(b.to_vec()),
        }
    }
}

impl fmt::Display for NetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetAddr::Ip(a) => write!(f, "{a}"),
            NetAddr::Other(b) => {
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// An interface address (`RTM_NEWADDR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: u8,
    /// Prefix length.
    pub prefix_len: u8,
    /// `IFA_F_*`: the 32-bit `IFA_FLAGS` attribute when present, else the header's 8 bits.
    pub flags: u32,
    /// `RT_SCOPE_*`.
    pub scope: u8,
    /// The interface's index.
    pub ifindex: u32,
    /// `IFA_ADDRESS`: the address (for point-to-point links, the peer's).
    pub address: Option<NetAddr>,
    /// `IFA_LOCAL`: the local address (IPv4).
    pub local: Option<NetAddr>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<NetAddr>,
    /// `IFA_ANYCAST`.
    pub anycast: Option<NetAddr>,
    /// `IFA_LABEL` (IPv4 address labels, `eth0:1`).
    pub label: Option<Vec<u8>>,
    /// `IFA_CACHEINFO`: preferred and valid lifetimes in seconds (`u32::MAX`: forever).
    pub lifetimes: Option<(u32, u32)>,
    /// `IFA_RT_PRIORITY`: the metric of the prefix route.
    pub rt_priority: Option<u32>,
    /// `IFA_PROTO`: who added it.
    pub proto: Option<u8>,
}

impl Address {
    /// The address people mean: `IFA_LOCAL` when present (IPv4), else `IFA_ADDRESS`.
    pub fn primary(&self) -> Option<&NetAddr> {
        self.local.as_ref().or(self.address.as_ref())
    }

    /// The peer address of a point-to-point link, when it differs from the local one.
    pub fn peer(&self) -> Option<&NetAddr> {
        match (&self.local, &self.address) {
            (Some(l), Some(a)) if l != a => Some(a),
            _ => None,
        }
    }
}

/// A next hop of a multipath route (`struct rtnexthop` in `RTA_MULTIPATH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// Output interface.
    pub ifindex: u32,
    /// Weight (`rtnh_hops + 1`).
    pub weight: u16,
    /// `RTNH_F_*`.
    pub flags: u8,
    /// Its gateway.
    pub gateway: Option<NetAddr>,
}

/// A route (`RTM_NEWROUTE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: u8,
    /// Destination prefix length (0: default route).
    pub dst_len: u8,
    /// Source prefix length (policy routing on source, IPv6).
    pub src_len: u8,
    /// TOS / DS field to match.
    pub tos: u8,
    /// Routing table: `RTA_TABLE` when present, else the header's 8 bits.
    pub table: u32,
    /// `RTPROT_*`: who installed it.
    pub protocol: u8,
    /// `RT_SCOPE_*`.
    pub scope: u8,
    /// `RTN_*`.
    pub kind: u8,
    /// `RTM_F_*` / `RTNH_F_*`.
    pub flags: u32,
    /// `RTA_DST`: the destination prefix (absent: any).
    pub dst: Option<NetAddr>,
    /// `RTA_SRC`.
    pub src: Option<NetAddr>,
    /// `RTA_GATEWAY`.
    pub gateway: Option<NetAddr>,
    /// `RTA_PREFSRC`: the preferred source address.
    pub prefsrc: Option<NetAddr>,
    /// `RTA_OIF`: output interface index.
    pub oif: Option<u32>,
    /// `RTA_IIF`: input interface index.
    pub iif: Option<u32>,
    /// `RTA_PRIORITY`: the metric.
    pub priority: Option<u32>,
    /// `RTA_MARK`.
    pub mark: Option<u32>,
    /// `RTA_FLOW` (realms).
    pub flow: Option<u32>,
    /// `RTA_PREF`: IPv6 router preference.
    pub pref: Option<u8>,
    /// `RTA_EXPIRES`: seconds until it expires.
    pub expires: Option<u32>,
    /// `RTA_METRICS`: `RTAX_*` values (`congctl` is a string and is in `congctl`).
    pub metrics: Vec<(u16, u32)>,
    /// `RTAX_CC_ALGO`: the congestion control algorithm.
    pub congctl: Option<Vec<u8>>,
    /// `RTA_MULTIPATH`: next hops of an ECMP route.
    pub nexthops: Vec<NextHop>,
}

/// A policy routing rule (`RTM_NEWRULE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: u8,
    /// Destination prefix length.
    pub dst_len: u8,
    /// Source prefix length.
    pub src_len: u8,
    /// TOS to match.
    pub tos: u8,
    /// `FR_ACT_*`.
    pub action: u8,
    /// `FIB_RULE_*`.
    pub flags: u32,
    /// The table to look up: `FRA_TABLE` when present, else the header's 8 bits.
    pub table: u32,
    /// `FRA_PRIORITY` (absent: 0, the first rule).
    pub priority: u32,
    /// `FRA_DST`.
    pub dst: Option<NetAddr>,
    /// `FRA_SRC`.
    pub src: Option<NetAddr>,
    /// `FRA_IIFNAME`.
    pub iifname: Option<Vec<u8>>,
    /// `FRA_OIFNAME`.
    pub oifname: Option<Vec<u8>>,
    /// `FRA_FWMARK`.
    pub fwmark: Option<u32>,
    /// `FRA_FWMASK`.
    pub fwmask: Option<u32>,
    /// `FRA_GOTO`: the rule priority to jump to.
    pub goto: Option<u32>,
    /// `FRA_FLOW`: realms.
    pub flow: Option<u32>,
    /// `FRA_SUPPRESS_PREFIXLEN` (`u32::MAX`: not set).
    pub suppress_prefixlen: Option<u32>,
    /// `FRA_SUPPRESS_IFGROUP`.
    pub suppress_ifgroup: Option<u32>,
    /// `FRA_L3MDEV`.
    pub l3mdev: Option<u8>,
    /// `FRA_UID_RANGE`: start and end.
    pub uid_range: Option<(u32, u32)>,
    /// `FRA_PROTOCOL`: `RTPROT_*` of who added it.
    pub protocol: Option<u8>,
    /// `FRA_IP_PROTO`.
    pub ip_proto: Option<u8>,
    /// `FRA_SPORT_RANGE`.
    pub sport_range: Option<(u16, u16)>,
    /// `FRA_DPORT_RANGE`.
    pub dport_range: Option<(u16, u16)>,
}

// ---------------------------------------------------------------------------------------------

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The family-specific body of each message after the magic, with its absolute offset.
fn messages(data: &[u8], magic: u32, ty: u16, body_min: usize) -> Result<Vec<(usize, &[u8])>, NetlinkError> {
    if data.len() < 4 {
        return Err(NetlinkError::NoMagic { len: data.len() });
    }
    let found = u32_at(data, 0);
    if found != magic {
        return Err(NetlinkError::BadMagic { found, expected: magic });
    }
    let mut out = Vec::new();
    let mut pos = 4usize;
    while pos < data.len() {
        let rest = data.len() - pos;
        if rest < NLMSG_HDRLEN {
            return Err(NetlinkError::Truncated { offset: pos, needed: NLMSG_HDRLEN, available: rest });
        }
        let len = u32_at(data, pos);
        let min = NLMSG_HDRLEN + body_min;
        if (len as usize) < min {
            return Err(NetlinkError::BadLength { offset: pos, len, min });
        }
        let len = len as usize;
        if len > rest {
            return Err(NetlinkError::Truncated { offset: pos, needed: len, available: rest });
        }
        let found = u16_at(data, pos + 4);
        if found != ty {
            return Err(NetlinkError::UnexpectedType { offset: pos, found, expected: ty });
        }
        out.push((pos + NLMSG_HDRLEN, &data[pos + NLMSG_HDRLEN..pos + len]));
        // `ip … restore` reads NLMSG_ALIGN(len) bytes; the last message may lack its padding.
        pos = pos.saturating_add(len.next_multiple_of(4)).min(data.len());
    }
    Ok(out)
}

/// An attribute: its absolute offset in the file, its type, its payload.
type Attr<'a> = (usize, u16, &'a [u8]);

/// The attributes of a message body or a nested attribute.
fn attrs(base: usize, b: &[u8]) -> Result<Vec<Attr<'_>>, NetlinkError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < b.len() {
        let rest = b.len() - pos;
        if rest < NLA_HDRLEN {
            return Err(NetlinkError::Truncated { offset: base + pos, needed: NLA_HDRLEN, available: rest });
        }
        let len = u16_at(b, pos) as usize;
        let kind = u16_at(b, pos + 2) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN {
            return Err(NetlinkError::BadLength { offset: base + pos, len: len as u32, min: NLA_HDRLEN });
        }
        if len > rest {
            return Err(NetlinkError::Truncated { offset: base + pos, needed: len, available: rest });
        }
        out.push((base + pos, kind, &b[pos + NLA_HDRLEN..pos + len]));
        pos = pos.saturating_add(len.next_multiple_of(4)).min(b.len());
    }
    Ok(out)
}

fn want_u32(offset: usize, kind: u16, v: &[u8]) -> Result<u32, NetlinkError> {
    match v.len() {
        4 => Ok(u32_at(v, 0)),
        len => Err(NetlinkError::BadAttribute { offset, kind, len, expected: "4 (a u32)" }),
    }
}

fn want_u8(offset: usize, kind: u16, v: &[u8]) -> Result<u8, NetlinkError> {
    match v.len() {
        1 => Ok(v[0]),
        len => Err(NetlinkError::BadAttribute { offset, kind, len, expected: "1 (a u8)" }),
    }
}

/// An address attribute: 4 bytes for `AF_INET`, 16 for `AF_INET6`, anything for others.
fn want_addr(offset: usize, kind: u16, family: u8, v: &[u8]) -> Result<NetAddr, NetlinkError> {
    let ok = match family {
        2 => v.len() == 4,
        10 => v.len() == 16,
        _ => true,
    };
    if !ok {
        let expected = if family == 2 { "4 (an IPv4 address)" } else { "16 (an IPv6 address)" };
        return Err(NetlinkError::BadAttribute { offset, kind, len: v.len(), expected });
    }
    Ok(NetAddr::of(v))
}

/// A NUL-terminated string attribute, without the NUL.
fn string(v: &[u8]) -> Vec<u8> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    v[..end].to_vec()
}

/// Decodes an `ip addr save` dump (`ifaddr-N.img`).
pub fn decode_addresses(data: &[u8]) -> Result<Vec<Address>, NetlinkError> {
    let mut out = Vec::new();
    for (at, body) in messages(data, IFADDR_DUMP_MAGIC, RTM_NEWADDR, IFADDRMSG_LEN)? {
        let mut a = Address {
            family: body[0],
            prefix_len: body[1],
            flags: u32::from(body[2]),
            scope: body[3],
            ifindex: u32_at(body, 4),
            address: None,
            local: None,
            broadcast: None,
            anycast: None,
            label: None,
            lifetimes: None,
            rt_priority: None,
            proto: None,
        };
        for (off, kind, v) in attrs(at + IFADDRMSG_LEN, &body[IFADDRMSG_LEN..])? {
            match kind {
                IFA_ADDRESS => a.address = Some(want_addr(off, kind, a.family, v)?),
                IFA_LOCAL => a.local = Some(want_addr(off, kind, a.family, v)?),
                IFA_BROADCAST => a.broadcast = Some(want_addr(off, kind, a.family, v)?),
                IFA_ANYCAST => a.anycast = Some(want_addr(off, kind, a.family, v)?),
                IFA_LABEL => a.label = Some(string(v)),
                IFA_FLAGS => a.flags = want_u32(off, kind, v)?,
                IFA_RT_PRIORITY => a.rt_priority = Some(want_u32(off, kind, v)?),
                IFA_PROTO => a.proto = Some(want_u8(off, kind, v)?),
                IFA_CACHEINFO => {
                    if v.len() != 16 {
                        return Err(NetlinkError::BadAttribute { offset: off, kind, len: v.len(), expected: "16 (ifa_cacheinfo)" });
                    }
                    a.lifetimes = Some((u32_at(v, 0), u32_at(v, 4)));
                }
                _ => {}
            }
        }
        out.push(a);
    }
    Ok(out)
}

/// Decodes an `ip route save` or `ip -6 route save` dump (`route-N.img`, `route6-N.img`).
pub fn decode_routes(data: &[u8]) -> Result<Vec<Route>, NetlinkError> {
    let mut out = Vec::new();
    for (at, body) in messages(data, ROUTE_DUMP_MAGIC, RTM_NEWROUTE, RTMSG_LEN)? {
        let mut r = Route {
            family: body[0],
            dst_len: body[1],
            src_len: body[2],
            tos: body[3],
            table: u32::from(body[4]),
            protocol: body[5],
            scope: body[6],
            kind: body[7],
            flags: u32_at(body, 8),
            dst: None,
            src: None,
            gateway: None,
            prefsrc: None,
            oif: None,
            iif: None,
            priority: None,
            mark: None,
            flow: None,
            pref: None,
            expires: None,
            metrics: Vec::new(),
            congctl: None,
            nexthops: Vec::new(),
        };
        let fam = r.family;
        for (off, kind, v) in attrs(at + RTMSG_LEN, &body[RTMSG_LEN..])? {
            match kind {
                RTA_DST => r.dst = Some(want_addr(off, kind, fam, v)?),
                RTA_SRC => r.src = Some(want_addr(off, kind, fam, v)?),
                RTA_GATEWAY => r.gateway = Some(want_addr(off, kind, fam, v)?),
                RTA_PREFSRC => r.prefsrc = Some(want_addr(off, kind, fam, v)?),
                RTA_OIF => r.oif = Some(want_u32(off, kind, v)?),
                RTA_IIF => r.iif = Some(want_u32(off, kind, v)?),
                RTA_PRIORITY => r.priority = Some(want_u32(off, kind, v)?),
                RTA_TABLE => r.table = want_u32(off, kind, v)?,
                RTA_MARK => r.mark = Some(want_u32(off, kind, v)?),
                RTA_FLOW => r.flow = Some(want_u32(off, kind, v)?),
                RTA_EXPIRES => r.expires = Some(want_u32(off, kind, v)?),
                RTA_PREF => r.pref = Some(want_u8(off, kind, v)?),
                RTA_METRICS => {
                    for (moff, mk, mv) in attrs(off + NLA_HDRLEN, v)? {
                        if mk == RTAX_CC_ALGO {
                            r.congctl = Some(string(mv));
                        } else {
                            r.metrics.push((mk, want_u32(moff, mk, mv)?));
                        }
                    }
                }
                RTA_MULTIPATH => r.nexthops = nexthops(off + NLA_HDRLEN, fam, v)?,
                _ => {}
            }
        }
        out.push(r);
    }
    Ok(out)
}

fn nexthops(base: usize, family: u8, b: &[u8]) -> Result<Vec<NextHop>, NetlinkError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < b.len() {
        let rest = b.len() - pos;
        if rest < RTNH_LEN {
            return Err(NetlinkError::Truncated { offset: base + pos, needed: RTNH_LEN, available: rest });
        }
        let len = u16_at(b, pos) as usize;
        if len < RTNH_LEN {
            return Err(NetlinkError::BadLength { offset: base + pos, len: len as u32, min: RTNH_LEN });
        }
        if len > rest {
            return Err(NetlinkError::Truncated { offset: base + pos, needed: len, available: rest });
        }
        let mut nh =
            NextHop { flags: b[pos + 2], weight: u16::from(b[pos + 3]) + 1, ifindex: u32_at(b, pos + 4), gateway: None };
        for (off, kind, v) in attrs(base + pos + RTNH_LEN, &b[pos + RTNH_LEN..pos + len])? {
            if kind == RTA_GATEWAY {
                nh.gateway = Some(want_addr(off, kind, family, v)?);
            }
        }
        out.push(nh);
        pos = pos.saturating_add(len.next_multiple_of(4)).min(b.len());
    }
    Ok(out)
}

fn range_u32(off: usize, kind: u16, v: &[u8]) -> Result<(u32, u32), NetlinkError> {
    if v.len() != 8 {
        return Err(NetlinkError::BadAttribute { offset: off, kind, len: v.len(), expected: "8 (a u32 range)" });
    }
    Ok((u32_at(v, 0), u32_at(v, 4)))
}

fn range_u16(off: usize, kind: u16, v: &[u8]) -> Result<(u16, u16), NetlinkError> {
    if v.len() != 4 {
        return Err(NetlinkError::BadAttribute { offset: off, kind, len: v.len(), expected: "4 (a u16 range)" });
    }
    Ok((u16_at(v, 0), u16_at(v, 2)))
}

/// Decodes an `ip rule save` dump (`rule-N.img`).
pub fn decode_rules(data: &[u8]) -> Result<Vec<Rule>, NetlinkError> {
    let mut out = Vec::new();
    for (at, body) in messages(data, RULE_DUMP_MAGIC, RTM_NEWRULE, FIB_RULE_HDR_LEN)? {
        let mut r = Rule {
            family: body[0],
            dst_len: body[1],
            src_len: body[2],
            tos: body[3],
            table: u32::from(body[4]),
            action: body[7],
            flags: u32_at(body, 8),
            priority: 0,
            dst: None,
            src: None,
            iifname: None,
            oifname: None,
            fwmark: None,
            fwmask: None,
            goto: None,
            flow: None,
            suppress_prefixlen: None,
            suppress_ifgroup: None,
            l3mdev: None,
            uid_range: None,
            protocol: None,
            ip_proto: None,
            sport_range: None,
            dport_range: None,
        };
        let fam = r.family;
        for (off, kind, v) in attrs(at + FIB_RULE_HDR_LEN, &body[FIB_RULE_HDR_LEN..])? {
            match kind {
                FRA_DST => r.dst = Some(want_addr(off, kind, fam, v)?),
                FRA_SRC => r.src = Some(want_addr(off, kind, fam, v)?),
                FRA_IIFNAME => r.iifname = Some(string(v)),
                FRA_OIFNAME => r.oifname = Some(string(v)),
                FRA_PRIORITY => r.priority = want_u32(off, kind, v)?,
                FRA_TABLE => r.table = want_u32(off, kind, v)?,
                FRA_FWMARK => r.fwmark = Some(want_u32(off, kind, v)?),
                FRA_FWMASK => r.fwmask = Some(want_u32(off, kind, v)?),
                FRA_GOTO => r.goto = Some(want_u32(off, kind, v)?),
                FRA_FLOW => r.flow = Some(want_u32(off, kind, v)?),
                FRA_SUPPRESS_PREFIXLEN => r.suppress_prefixlen = Some(want_u32(off, kind, v)?),
                FRA_SUPPRESS_IFGROUP => r.suppress_ifgroup = Some(want_u32(off, kind, v)?),
                FRA_L3MDEV => r.l3mdev = Some(want_u8(off, kind, v)?),
                FRA_PROTOCOL => r.protocol = Some(want_u8(off, kind, v)?),
                FRA_IP_PROTO => r.ip_proto = Some(want_u8(off, kind, v)?),
                FRA_UID_RANGE => r.uid_range = Some(range_u32(off, kind, v)?),
                FRA_SPORT_RANGE => r.sport_range = Some(range_u16(off, kind, v)?),
                FRA_DPORT_RANGE => r.dport_range = Some(range_u16(off, kind, v)?),
                _ => {}
            }
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump: magic, then messages built from (type, body) with correct lengths.
    fn dump(magic: u32, msgs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut v = magic.to_le_bytes().to_vec();
        for (ty, body) in msgs {
            let len = (NLMSG_HDRLEN + body.len()) as u32;
            v.extend_from_slice(&len.to_le_bytes());
            v.extend_from_slice(&ty.to_le_bytes());
            v.extend_from_slice(&[0; 10]);
            v.extend_from_slice(body);
            while !v.len().is_multiple_of(4) {
                v.push(0);
            }
        }
        v
    }

    fn attr(kind: u16, val: &[u8]) -> Vec<u8> {
        let mut v = ((NLA_HDRLEN + val.len()) as u16).to_le_bytes().to_vec();
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(val);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    /// What `ip route save` writes for an empty main table (ipcns's route-10.img is exactly this).
    #[test]
    fn empty_dumps_hold_nothing() {
        assert_eq!(decode_routes(&ROUTE_DUMP_MAGIC.to_le_bytes()), Ok(vec![]));
        assert_eq!(decode_rules(&RULE_DUMP_MAGIC.to_le_bytes()), Ok(vec![]));
        assert_eq!(decode_addresses(&IFADDR_DUMP_MAGIC.to_le_bytes()), Ok(vec![]));
    }

    #[test]
    fn wrong_magic_and_short_files() {
        assert_eq!(decode_routes(&[1, 2]), Err(NetlinkError::NoMagic { len: 2 }));
        assert_eq!(
            decode_routes(&IFADDR_DUMP_MAGIC.to_le_bytes()),
            Err(NetlinkError::BadMagic { found: IFADDR_DUMP_MAGIC, expected: ROUTE_DUMP_MAGIC })
        );
    }

    #[test]
    fn structural_damage_is_an_error() {
        // A message whose length claims more than the file holds.
        let mut d = dump(ROUTE_DUMP_MAGIC, &[(RTM_NEWROUTE, vec![2, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])]);
        d[4] = 200;
        assert!(matches!(decode_routes(&d), Err(NetlinkError::Truncated { offset: 4, needed: 200, .. })));
        // A message shorter than its headers.
        d[4] = 8;
        assert!(matches!(decode_routes(&d), Err(NetlinkError::BadLength { offset: 4, len: 8, .. })));
        // Another message type.
        let d = dump(ROUTE_DUMP_MAGIC, &[(RTM_NEWADDR, vec![0; 12])]);
        assert!(matches!(decode_routes(&d), Err(NetlinkError::UnexpectedType { found: RTM_NEWADDR, .. })));
        // An IPv4 gateway of 3 bytes.
        let mut body = vec![2, 0, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0];
        body.extend(attr(RTA_GATEWAY, &[10, 0, 0]));
        let d = dump(ROUTE_DUMP_MAGIC, &[(RTM_NEWROUTE, body)]);
        assert!(matches!(decode_routes(&d), Err(NetlinkError::BadAttribute { kind: RTA_GATEWAY, len: 3, .. })));
        // An attribute running past its message.
        let mut body = vec![2, 0, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0];
        body.extend_from_slice(&[40, 0, 5, 0]);
        let d = dump(ROUTE_DUMP_MAGIC, &[(RTM_NEWROUTE, body)]);
        assert!(matches!(decode_routes(&d), Err(NetlinkError::Truncated { offset: 32, needed: 40, available: 4 })));
    }
}
