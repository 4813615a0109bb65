//! Cisco ASA running configuration (`show running-config`, ASA 8.3 and later).
//!
//! The file is read in one pass, line by line: a line starting in the first column is a
//! command; indented lines belong to the block the last command opened (`interface`,
//! `object network`, `object-group service`, …). Definitions are collected first
//! ([`Config`]); access lists, NAT and management lines are lowered to the model once the whole
//! file is known (`lower.rs`), so every reference resolves whatever the order.
//!
//! How the ASA's semantics map to the model (details in `docs/formats/cisco_asa.md`):
//! - Interfaces carry their physical name (`GigabitEthernet0/1.100`); the `nameif` is the
//!   interface's zone. Only interfaces with a `nameif` pass traffic.
//! - Filtering is one ruleset at `Forward` after destination NAT, because from 8.3 on the ASA's
//!   access lists match real (untranslated) addresses: replies of permitted sessions first, then
//!   the inbound interface ACL, the global ACL, and the security-level rules for interfaces
//!   without an inbound ACL. Outbound ACLs run in a second ruleset after it.
//! - NAT follows the ASA's three sections (twice NAT, object NAT static before dynamic, twice
//!   NAT `after-auto`) in a destination-NAT ruleset at `Prerouting` and a source-NAT ruleset at
//!   `Postrouting`.
//! - Traffic to the device: `ssh`/`telnet`/`http` lines and `icmp` rules at `Input`; any other
//!   traffic to the device is unknown.

mod lower;
mod names;

use std::sync::Arc;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Severity, SourceId};
use crate::model::{AddrRange, Route, RouteKind};

/// Security level of an interface whose `nameif` is `inside` and that sets none: "If you name
/// an interface `inside` and do not set the security level explicitly, the ASA sets the
/// security level to 100" (Cisco ASA configuration guide, "Routed and Transparent Mode
/// Interfaces", Security Levels).
pub const INSIDE_DEFAULT_SECURITY_LEVEL: u8 = 100;

/// Security level of any other interface that sets none (same source: the default is 0).
pub const DEFAULT_SECURITY_LEVEL: u8 = 0;

/// Administrative distance of a static route without one (`route` command reference: "the
/// default administrative distance is 1").
pub const DEFAULT_ROUTE_DISTANCE: u32 = 1;

/// Port of the ASDM/HTTPS management server when `http server enable` gives none (command
/// reference for `http server enable`: default port 443).
pub const DEFAULT_HTTP_SERVER_PORT: u16 = 443;

/// Nesting depth of object groups followed before giving up (the ASA itself refuses loops;
/// this bounds malformed input).
const MAX_GROUP_DEPTH: usize = 16;

/// True if the text is an ASA configuration, or ASA-style access lists alone.
///
/// An `ASA Version` (or PIX/FWSM) line decides. Without one, `access-list NAME extended ...`
/// lines (IOS writes `ip access-list extended NAME`) or `nameif` / `same-security-traffic`
/// lines say ASA, unless the file also has IOS-only statements (`ip access-list`, `ipv6
/// access-list`) or its access lists use wildcard masks (`0.0.0.255`), which the ASA never
/// writes: some IOS versions accept the ASA-like one-line form too.
pub fn looks_like(text: &str) -> bool {
    let mut asa = false;
    for line in text.lines().take(20_000) {
        let l = line.trim_start_matches('\u{feff}');
        if l.starts_with("ASA Version ") || l.starts_with("PIX Version ") || l.starts_with("FWSM Version ") {
            return true;
        }
        if l.starts_with("ip access-list ") || l.starts_with("ipv6 access-list ") {
            return false;
        }
        if let Some(rest) = l.strip_prefix("access-list ") {
            let toks: Vec<&str> = rest.split_whitespace().collect();
            let mut k = 1;
            if toks.get(k) == Some(&"line") {
                k += 2;
            }
            if matches!(toks.get(k), Some(&"extended") | Some(&"webtype") | Some(&"ethertype")) {
                if has_wildcard_mask(&toks) {
                    return false;
                }
                asa = true;
            }
        }
        if l.starts_with(" nameif ") || l.starts_with("same-security-traffic ") {
            asa = true;
        }
    }
    asa
}

/// True if two consecutive words are an address and a wildcard mask (`10.0.0.0 0.0.255.255`):
/// a mask that is not contiguous but whose inverse is.
fn has_wildcard_mask(toks: &[&str]) -> bool {
    toks.windows(2).any(|w| {
        let (Ok(_), Ok(m)) = (w[0].parse::<Ipv4Addr>(), w[1].parse::<Ipv4Addr>()) else { return false };
        mask_len(m).is_none() && mask_len(Ipv4Addr::from(!u32::from(m))).is_some()
    })
}

/// A map keyed by configuration names. The names are short and come from the file itself:
/// a simple multiply-rotate hash serves them, SipHash's protection buys nothing here.
pub(crate) type Map<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

/// The hasher of [`Map`].
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut a = [0u8; 8];
            a.get_mut(..c.len()).unwrap_or(&mut []).copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An interface as configured.
#[derive(Clone, Debug)]
pub(crate) struct Iface {
    pub phys: String,
    pub line: u32,
    pub nameif: Option<String>,
    pub nameif_line: u32,
    pub level: Option<(u8, u32)>,
    pub addrs: Vec<IpNet>,
    pub dhcp: Option<u32>,
    pub shutdown: bool,
    pub mgmt_only: Option<u32>,
}

impl Iface {
    /// The security level in force (explicit, or the documented default).
    pub fn level(&self) -> u8 {
        match (self.level, self.nameif.as_deref()) {
            (Some((l, _)), _) => l,
            (None, Some(n)) if n.eq_ignore_ascii_case("inside") => INSIDE_DEFAULT_SECURITY_LEVEL,
            _ => DEFAULT_SECURITY_LEVEL,
        }
    }
}

/// One element of a network object or group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NetItem {
    Range(AddrRange),
    /// Not modelled (an FQDN): the text.
    Unknown(String),
}

/// A member of a network object group.
#[derive(Clone, Debug)]
pub(crate) enum NetMember {
    Item(NetItem),
    Object(String),
    Group(String),
}

/// A protocol/port combination (a service object, a `service-object` line, or an ACL's
/// protocol and ports).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Svc {
    /// Protocols; `None` means any (`ip`).
    pub protos: Option<Vec<u8>>,
    pub sport: Option<Vec<(u16, u16)>>,
    pub dport: Option<Vec<(u16, u16)>>,
    /// ICMP type and code.
    pub icmp: Option<(u8, Option<u8>)>,
    pub unknown: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum SvcMember {
    Svc(Svc),
    Object(String),
    Group(String),
    /// `port-object`: destination ports of the group's protocols.
    Ports(Vec<(u16, u16)>),
}

#[derive(Clone, Debug)]
pub(crate) enum Group {
    Network(Vec<(NetMember, u32)>),
    /// `object-group service NAME [tcp|udp|tcp-udp]`: the protocols of a port group.
    Service(Option<Vec<u8>>, Vec<(SvcMember, u32)>),
    /// `None` = `ip`.
    Protocol(Vec<(Option<u8>, u32)>, Vec<(String, u32)>),
    Icmp(Vec<u8>, Vec<(String, u32)>),
    /// user, security, … groups: not modelled.
    Other(String),
}

/// An ACL line kept for lowering.
#[derive(Clone, Debug)]
pub(crate) struct AceLine {
    pub line: u32,
    pub text: String,
    pub standard: bool,
    /// Number of words before the ones after `extended` / `standard`.
    pub skip: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Acl {
    pub name: String,
    pub line: u32,
    pub text: String,
    pub aces: Vec<AceLine>,
}

#[derive(Clone, Debug)]
pub(crate) enum Binding {
    In(String),
    Out(String),
    Global,
    ControlPlane(String),
}

#[derive(Clone, Debug)]
pub(crate) struct AccessGroup {
    pub acl: String,
    pub bind: Binding,
    pub line: u32,
    pub text: String,
}

/// A NAT statement (object NAT inside `object network`, or twice NAT).
#[derive(Clone, Debug)]
pub(crate) struct NatLine {
    pub line: u32,
    pub text: String,
    /// For object NAT: the object's name.
    pub object: Option<String>,
}

/// `ssh`, `telnet`, `http` management lines.
#[derive(Clone, Debug)]
pub(crate) struct Mgmt {
    pub service: &'static str,
    pub src: Vec<AddrRange>,
    pub iface: String,
    pub line: u32,
    pub text: String,
}

/// `icmp permit|deny ...` and `ipv6 icmp permit|deny ...` lines.
#[derive(Clone, Debug)]
pub(crate) struct IcmpLine {
    pub permit: bool,
    pub v6: bool,
    pub src: Option<Vec<AddrRange>>,
    pub ty: Option<u8>,
    pub iface: String,
    pub line: u32,
    pub text: String,
}

/// Everything the file defines, before lowering.
#[derive(Debug, Default)]
pub(crate) struct Config {
    pub source: SourceId,
    pub file: String,
    pub ifaces: Vec<Iface>,
    /// Index into `ifaces` by physical name and by nameif.
    pub phys_idx: Map<String, usize>,
    pub nameif_idx: Map<String, usize>,
    pub names: Map<String, IpAddr>,
    pub net_objs: Map<String, (Vec<NetItem>, u32)>,
    pub svc_objs: Map<String, (Svc, u32)>,
    pub groups: Map<String, (Group, u32)>,
    pub acls: Vec<Acl>,
    pub acl_idx: Map<String, usize>,
    pub groups_bound: Vec<AccessGroup>,
    pub nats: Vec<NatLine>,
    pub mgmt: Vec<Mgmt>,
    pub icmp: Vec<IcmpLine>,
    pub same_inter: Option<(u32, String)>,
    pub same_intra: Option<(u32, String)>,
    pub http_server: Option<(u16, u32)>,
    pub webvpn: bool,
    /// `inspect icmp` in a policy map: ICMP through the device is tracked like TCP and UDP.
    pub inspect_icmp: bool,
    pub routes: Vec<Route>,
}

impl Config {
    pub fn iface_by_nameif(&self, n: &str) -> Option<&Iface> {
        self.nameif_idx.get(n).and_then(|&i| self.ifaces.get(i))
    }

    pub fn prov(&self, line: u32, text: &str) -> crate::diag::Provenance {
        crate::diag::Provenance { source: self.source, file: self.file.clone(), line, text: text.trim().to_string() }
    }
}

/// The block the current indented lines belong to.
#[derive(Clone, Debug, PartialEq)]
enum Block {
    None,
    Interface(usize),
    NetObject(String),
    SvcObject(String),
    Group(String),
    /// A known block whose contents do not affect which packets pass.
    Ignored,
    /// A block that is not modelled (its header got a diagnostic).
    Unmodelled,
    /// An unrecognized block: every line in it gets P001.
    Unknown,
}

/// Top-level commands that do not affect which packets pass through or to the device (device
/// management, logging, time, AAA for administrators, HA, inspection tuning), recognised
/// without a diagnostic. Their indented sub-commands are recognised with them.
const IRRELEVANT: &[&str] = &[
    "aaa",
    "aaa-server",
    "admin-context",
    "arp",
    "asdm",
    "auth-prompt",
    "banner",
    "boot",
    "call-home",
    "class-map",
    "clock",
    "command-alias",
    "config-register",
    "console",
    "crashinfo",
    "cryptochecksum:",
    "dhcp-client",
    "dhcpd",
    "dhcprelay",
    "dns",
    "dns-guard",
    "dns-group",
    "dns-group-map",
    "domain-name",
    "enable",
    "end",
    "failover",
    "flow-export",
    "fragment",
    "ftp",
    "hpm",
    "icmp-object",
    "jumbo-frame",
    "ldap",
    "license",
    "logging",
    "mac-address",
    "mac-address-table",
    "monitor-interface",
    "mtu",
    "names",
    "no",
    "ntp",
    "pager",
    "passwd",
    "password",
    "password-policy",
    "policy-map",
    "privilege",
    "prompt",
    "quota",
    "regex",
    "service",
    "service-module",
    "service-policy",
    "smtp-server",
    "snmp-map",
    "snmp-server",
    "ssl",
    "sysopt",
    "tcp-map",
    "terminal",
    "tftp-server",
    "time-range",
    "timeout",
    "user-identity",
    "username",
    "vpn-addr-assign",
    "xlate",
    "crypto",
    "dynamic-access-policy-record",
    "group-policy",
    "tunnel-group",
    "webvpn",
    "ip",
    "ipv6",
    "route-map",
    "prefix-list",
    "router",
    "community-list",
    "threat-detection",
    "pim",
    "igmp",
    "multicast-routing",
    "track",
    "sla",
    "object-group-search",
    "access-list-object-group",
    "management-access",
    "fips",
    "coredump",
    "checkheaps",
    "icmp",
    "vpdn",
    "priority-queue",
    "spanning-tree",
    "mac-learn",
    "firewall",
    "context",
    "cluster",
    "auto-update",
    "eigrp",
];

/// Parse one file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut out = ParsedFile::new(Format::CiscoAsa, text);
    let mut p = Parser { cfg: Config { source, file: file.to_string(), ..Default::default() }, diags: Diags::default(), skipped: 0, hostname: None, block: Block::None };
    // the words of the current line (one vector for all lines)
    let mut toks: Vec<&str> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let no = (i + 1) as u32;
        p.line(no, raw.trim_end_matches('\r').trim_start_matches('\u{feff}'), &mut toks);
    }
    let Parser { cfg, mut diags, skipped, hostname, .. } = p;
    let (fw, interfaces) = lower::lower(&cfg, &mut diags);
    out.content.firewall = Some(Arc::new(fw));
    out.content.interfaces = interfaces;
    out.content.routes = cfg.routes;
    let mut list = diags.list;
    list.sort_by_key(|d| d.line);
    out.diags = list;
    out.lines_skipped = skipped;
    out.device_hint = hostname;
    out
}

struct Parser {
    cfg: Config,
    diags: Diags,
    skipped: u32,
    hostname: Option<String>,
    block: Block,
}

/// The words of a line; a `!` word starts a trailing comment (as in hand-written configurations).
pub(crate) fn words(line: &str) -> Words<'_> {
    if line.is_ascii() {
        Words::Ascii(line.as_bytes(), line)
    } else {
        Words::Other(line.split_whitespace())
    }
}

/// The words of a line split at whitespace as `str::split_whitespace` does, up to a `!` word.
/// ASCII lines are split byte by byte through a table.
pub(crate) enum Words<'a> {
    /// The rest of an ASCII line, as bytes and as text.
    Ascii(&'a [u8], &'a str),
    Other(std::str::SplitWhitespace<'a>),
    Done,
}

/// ASCII bytes that `char::is_whitespace` accepts: tab, line feed, vertical tab, form feed,
/// carriage return and space.
const ASCII_SPACE: [bool; 256] = {
    let mut t = [false; 256];
    t[0x09] = true;
    t[0x0a] = true;
    t[0x0b] = true;
    t[0x0c] = true;
    t[0x0d] = true;
    t[0x20] = true;
    t
};

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let w = match self {
            Words::Ascii(b, s) => {
                let start = b.iter().position(|&c| !ASCII_SPACE[usize::from(c)]).unwrap_or(b.len());
                let len = b.get(start..).unwrap_or(&[]).iter().position(|&c| ASCII_SPACE[usize::from(c)]).unwrap_or(b.len() - start);
                // ASCII text: every byte offset is a character boundary
                let w = s.get(start..start + len).unwrap_or("");
                *b = b.get(start + len..).unwrap_or(&[]);
                *s = s.get(start + len..).unwrap_or("");
                Some(w).filter(|w| !w.is_empty())
            }
            Words::Other(it) => it.next(),
            Words::Done => None,
        };
        match w {
            Some(w) if w != "!" => Some(w),
            _ => {
                *self = Words::Done;
                None
            }
        }
    }
}

/// A dotted mask as a prefix length; `None` if the mask is not contiguous.
pub(crate) fn mask_len(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    let ones = v.leading_ones();
    if v.checked_shl(ones).unwrap_or(0) == 0 {
        Some(ones as u8)
    } else {
        None
    }
}

/// `A.B.C.D MASK` as an address range.
pub(crate) fn net_mask(a: &str, m: &str, names: &Map<String, IpAddr>) -> Option<AddrRange> {
    let addr = match a.parse::<Ipv4Addr>() {
        Ok(x) => x,
        Err(_) => match names.get(a) {
            Some(IpAddr::V4(x)) => *x,
            _ => return None,
        },
    };
    let len = mask_len(m.parse::<Ipv4Addr>().ok()?)?;
    let net = ipnet::Ipv4Net::new(addr, len).ok()?;
    Some(AddrRange::from_net(IpNet::V4(net)))
}

/// An IPv6 prefix `X::/len` or address.
pub(crate) fn v6_prefix(s: &str) -> Option<AddrRange> {
    if let Ok(n) = s.parse::<ipnet::Ipv6Net>() {
        return Some(AddrRange::from_net(IpNet::V6(n)));
    }
    s.parse::<std::net::Ipv6Addr>().ok().map(|a| AddrRange::single(IpAddr::V6(a)))
}

/// A host address, literal or a `name`.
pub(crate) fn host(s: &str, names: &Map<String, IpAddr>) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().or_else(|| names.get(s).copied())
}

/// Port ranges and the number of words they took.
pub(crate) type PortOp = (Vec<(u16, u16)>, usize);

/// A port operator at `toks[i..]`: `eq P`, `neq P`, `lt P`, `gt P`, `range A B`. Returns the
/// ranges and the tokens used; `Err` names a bad value.
pub(crate) fn port_op(toks: &[&str], i: usize) -> Option<Result<PortOp, String>> {
    let op = *toks.get(i)?;
    let arg = |k: usize| -> Result<u16, String> {
        let t = toks.get(i + k).ok_or_else(|| format!("{op} needs a port"))?;
        names::port(t).ok_or_else(|| format!("{t:?} is not a port number or ASA port name"))
    };
    Some(match op {
        "eq" => arg(1).map(|p| (vec![(p, p)], 2)),
        "neq" => arg(1).map(|p| {
            let mut v = Vec::new();
            if p > 0 {
                v.push((0, p - 1));
            }
            if p < u16::MAX {
                v.push((p + 1, u16::MAX));
            }
            (v, 2)
        }),
        "lt" => arg(1).and_then(|p| if p == 0 { Err("lt 0 matches no port".to_string()) } else { Ok((vec![(0, p - 1)], 2)) }),
        "gt" => arg(1).and_then(|p| if p == u16::MAX { Err("gt 65535 matches no port".to_string()) } else { Ok((vec![(p + 1, u16::MAX)], 2)) }),
        "range" => arg(1).and_then(|a| arg(2).map(|b| (vec![(a.min(b), a.max(b))], 3))),
        _ => return None,
    })
}

/// A protocol word for service definitions: `ip` (any), `tcp-udp`, a name or number.
pub(crate) fn proto_word(s: &str) -> Option<Option<Vec<u8>>> {
    match s {
        "ip" => Some(None),
        "tcp-udp" => Some(Some(vec![6, 17])),
        _ => names::protocol(s).map(|p| Some(vec![p])),
    }
}

/// `service-object` / `service` arguments: `PROTO [source OP] [destination OP]`, the older
/// `PROTO OP` (destination), or `icmp TYPE [CODE]`.
pub(crate) fn parse_service(toks: &[&str]) -> Result<Svc, String> {
    let first = toks.first().ok_or("a protocol is missing")?;
    let protos = proto_word(first).ok_or_else(|| format!("{first:?} is not a protocol"))?;
    let mut svc = Svc { protos: protos.clone(), ..Default::default() };
    let is_icmp = matches!(protos.as_deref(), Some([1]) | Some([58]));
    let mut i = 1;
    if is_icmp {
        if let Some(t) = toks.get(1) {
            let v6 = protos.as_deref() == Some(&[58]);
            let ty = names::icmp_type(t, v6).ok_or_else(|| format!("{t:?} is not an ICMP type"))?;
            let code = match toks.get(2) {
                Some(c) => Some(c.parse::<u8>().map_err(|_| format!("{c:?} is not an ICMP code"))?),
                None => None,
            };
            svc.icmp = Some((ty, code));
        }
        return Ok(svc);
    }
    while i < toks.len() {
        let (dst, j) = match toks[i] {
            "source" => (false, i + 1),
            "destination" => (true, i + 1),
            _ => (true, i),
        };
        match port_op(toks, j) {
            Some(Ok((r, used))) => {
                if dst {
                    svc.dport = Some(r);
                } else {
                    svc.sport = Some(r);
                }
                i = j + used;
            }
            Some(Err(e)) => return Err(e),
            None => return Err(format!("unexpected {:?}", toks.get(j).copied().unwrap_or(""))),
        }
    }
    if (svc.sport.is_some() || svc.dport.is_some()) && !svc.protos.as_deref().is_some_and(|p| p.iter().all(|x| crate::space::proto::has_ports(*x))) {
        return Err("ports given for a protocol without ports".into());
    }
    Ok(svc)
}

impl Parser {
    fn warn(&mut self, code: &'static str, line: u32, text: &str, reason: impl Into<String>) {
        self.diags.push(code, Severity::Warning, line, text, reason);
    }

    fn info(&mut self, code: &'static str, line: u32, text: &str, reason: impl Into<String>) {
        self.diags.push(code, Severity::Info, line, text, reason);
    }

    fn unrecognized(&mut self, line: u32, text: &str, reason: impl Into<String>) {
        self.diags.push(codes::UNRECOGNIZED, Severity::Warning, line, text, reason);
    }

    fn line<'t>(&mut self, no: u32, raw: &'t str, toks: &mut Vec<&'t str>) {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('!') || trimmed.starts_with(':') || trimmed.starts_with('#') {
            self.skipped += 1;
            if !raw.starts_with(' ') && !trimmed.is_empty() {
                // `!` ends the current block.
                self.block = Block::None;
            }
            return;
        }
        // A `!` word starts a trailing comment (as in hand-written configurations).
        toks.clear();
        toks.extend(words(trimmed));
        if raw.starts_with(' ') || raw.starts_with('\t') {
            self.child(no, trimmed, toks);
        } else {
            self.block = Block::None;
            self.command(no, trimmed, toks);
        }
    }

    fn child(&mut self, no: u32, text: &str, toks: &[&str]) {
        // The block is taken for the line and put back: handlers of block contents never
        // open another block, and no name is copied per line.
        let block = std::mem::replace(&mut self.block, Block::None);
        self.child_in(&block, no, text, toks);
        self.block = block;
    }

    fn child_in(&mut self, block: &Block, no: u32, text: &str, toks: &[&str]) {
        match block {
            Block::None => self.unrecognized(no, text, "indented line outside any block"),
            Block::Ignored => {
                if toks.len() == 2 && toks[0] == "inspect" && toks[1] == "icmp" {
                    self.cfg.inspect_icmp = true;
                }
            }
            Block::Unmodelled => {}
            Block::Unknown => self.unrecognized(no, text, "inside a block that is not recognised"),
            Block::Interface(i) => self.iface_child(*i, no, text, toks),
            Block::NetObject(name) => self.net_object_child(name, no, text, toks),
            Block::SvcObject(name) => self.svc_object_child(name, no, text, toks),
            Block::Group(name) => self.group_child(name, no, text, toks),
        }
    }

    fn command(&mut self, no: u32, text: &str, toks: &[&str]) {
        let t0 = toks.first().copied().unwrap_or("");
        let t1 = toks.get(1).copied().unwrap_or("");
        match t0 {
            "ASA" | "PIX" | "FWSM" if t1 == "Version" => {
                // Before 8.3, access lists matched the translated (mapped) addresses of static
                // NAT; the model follows 8.3 and later (real addresses).
                let v: Vec<u32> = toks.get(2).map(|v| v.split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).take(2).collect()).unwrap_or_default();
                if t0 != "ASA" || matches!(v.as_slice(), [maj, min] if (*maj, *min) < (8, 3)) || v.first().is_some_and(|m| *m < 8) {
                    self.warn(
                        codes::UNMODELLED_MATCH,
                        no,
                        text,
                        "versions before ASA 8.3 match access lists on translated addresses and use other NAT commands; the file is read with 8.3 semantics",
                    );
                }
            }
            "hostname" => match toks.get(1) {
                Some(h) => self.hostname = Some(h.to_string()),
                None => self.warn(codes::BAD_VALUE, no, text, "hostname without a name"),
            },
            "name" => self.name_cmd(no, text, toks),
            "interface" => self.interface(no, text, toks),
            "object" => self.object(no, text, toks),
            "object-group" => self.object_group(no, text, toks),
            "access-list" => self.access_list(no, text, toks),
            "access-group" => self.access_group(no, text, toks),
            "nat" => self.cfg.nats.push(NatLine { line: no, text: text.to_string(), object: None }),
            "route" => self.route(no, text, &toks[1..], false),
            "ipv6" if t1 == "route" => self.route(no, text, &toks[2..], true),
            "ipv6" if t1 == "icmp" => self.icmp_cmd(no, text, &toks[2..], true),
            "icmp" if matches!(t1, "permit" | "deny") => self.icmp_cmd(no, text, &toks[1..], false),
            "same-security-traffic" => match (t1, toks.get(2).copied()) {
                ("permit", Some("inter-interface")) => self.cfg.same_inter = Some((no, text.to_string())),
                ("permit", Some("intra-interface")) => self.cfg.same_intra = Some((no, text.to_string())),
                _ => self.unrecognized(no, text, "expected same-security-traffic permit inter-interface|intra-interface"),
            },
            "ssh" | "telnet" | "http" => self.mgmt_cmd(no, text, toks),
            "global" | "static" | "conduit" | "outbound" | "apply" => {
                self.warn(codes::UNMODELLED_MATCH, no, text, "pre-8.3 NAT and conduit commands are not modelled: translations through them are unknown")
            }
            "crypto" if t1 == "map" && toks.get(3).copied() == Some("interface") => self.info(
                codes::UNMODELLED_MATCH,
                no,
                text,
                "site-to-site VPN is not modelled: traffic through the tunnel (which bypasses interface ACLs with sysopt connection permit-vpn, the default) is not analysed",
            ),
            "tunnel-group" if toks.get(2).copied() == Some("type") => {
                self.info(codes::UNMODELLED_MATCH, no, text, "VPN tunnel groups are not modelled: traffic of VPN peers and clients is not analysed");
                self.block = Block::Unmodelled;
            }
            "webvpn" => {
                self.cfg.webvpn = true;
                self.info(codes::UNMODELLED_MATCH, no, text, "remote-access VPN (WebVPN/AnyConnect) is not modelled: traffic of VPN clients is not analysed");
                self.block = Block::Unmodelled;
            }
            "firewall" if t1 == "transparent" => self.warn(
                codes::UNMODELLED_TARGET,
                no,
                text,
                "transparent (bridging) mode is not modelled: the device is analysed as a routed firewall",
            ),
            "sysopt" if t1 == "connection" && toks.get(2).copied() == Some("permit-vpn") => {}
            "ip" if t1 == "verify" => self.info(
                codes::UNMODELLED_MATCH,
                no,
                text,
                "reverse-path verification (anti-spoofing) is not modelled: spoofed sources are not dropped in the analysis",
            ),
            "ip" if t1 == "audit" => self.warn(codes::UNMODELLED_TARGET, no, text, "IP audit (signature-based dropping) is not modelled"),
            "threat-detection" if t1 == "scanning-threat" && toks.contains(&"shun") => {
                self.info(codes::UNMODELLED_TARGET, no, text, "shunning of detected scanners is dynamic and not modelled")
            }
            "router" => {
                self.info(codes::UNMODELLED_MATCH, no, text, "dynamic routing is not modelled: only static and connected routes are used");
                self.block = Block::Ignored;
            }
            "context" => {
                self.warn(codes::STRUCTURE, no, text, "multiple-context mode: each context's own configuration must be given as its own file");
                self.block = Block::Ignored;
            }
            "filter" | "wccp" | "scansafe" => {
                self.info(
                    codes::UNMODELLED_TARGET,
                    no,
                    text,
                    "content filtering and traffic redirection (URL/Java/ActiveX filtering, WCCP, cloud web security) are not modelled: connections are analysed as if they pass",
                );
                self.block = Block::Ignored;
            }
            "clear" if t1 == "configure" => {}
            _ if t0.starts_with("Cryptochecksum:") => {}
            // (the names are in lower case: an ASCII case-insensitive comparison is the same)
            _ if IRRELEVANT.iter().any(|x| x.eq_ignore_ascii_case(t0)) => self.block = Block::Ignored,
            _ => {
                self.unrecognized(no, text, "unrecognized ASA command");
                self.block = Block::Unknown;
            }
        }
    }

    fn name_cmd(&mut self, no: u32, text: &str, toks: &[&str]) {
        match (toks.get(1).and_then(|a| a.parse::<IpAddr>().ok()), toks.get(2)) {
            (Some(a), Some(n)) => {
                self.cfg.names.insert(n.to_string(), a);
            }
            _ => self.warn(codes::BAD_VALUE, no, text, "expected name ADDRESS NAME"),
        }
    }

    fn interface(&mut self, no: u32, text: &str, toks: &[&str]) {
        let Some(phys) = toks.get(1) else {
            self.warn(codes::BAD_VALUE, no, text, "interface without a name");
            self.block = Block::Unknown;
            return;
        };
        let idx = match self.cfg.phys_idx.get(*phys) {
            Some(&i) => i,
            None => {
                self.cfg.ifaces.push(Iface {
                    phys: phys.to_string(),
                    line: no,
                    nameif: None,
                    nameif_line: 0,
                    level: None,
                    addrs: vec![],
                    dhcp: None,
                    shutdown: false,
                    mgmt_only: None,
                });
                self.cfg.phys_idx.insert(phys.to_string(), self.cfg.ifaces.len() - 1);
                self.cfg.ifaces.len() - 1
            }
        };
        self.block = Block::Interface(idx);
    }

    fn iface_child(&mut self, i: usize, no: u32, text: &str, toks: &[&str]) {
        let t0 = toks.first().copied().unwrap_or("");
        let t1 = toks.get(1).copied().unwrap_or("");
        match (t0, t1) {
            ("nameif", n) if !n.is_empty() => {
                if let Some(other) = self.cfg.nameif_idx.get(n).filter(|&&o| o != i).and_then(|&o| self.cfg.ifaces.get(o)) {
                    let o = other.phys.clone();
                    self.warn(codes::STRUCTURE, no, text, format!("nameif {n} is already given to {o}"));
                    return;
                }
                if let Some(f) = self.cfg.ifaces.get_mut(i) {
                    if let Some(old) = f.nameif.replace(n.to_string()) {
                        self.cfg.nameif_idx.remove(&old);
                    }
                    f.nameif_line = no;
                    self.cfg.nameif_idx.insert(n.to_string(), i);
                }
            }
            ("security-level", n) => match n.parse::<u8>() {
                Ok(l) if l <= 100 => {
                    if let Some(f) = self.cfg.ifaces.get_mut(i) {
                        f.level = Some((l, no));
                    }
                }
                _ => self.warn(codes::BAD_VALUE, no, text, "security level must be 0 to 100"),
            },
            ("ip", "address") => self.iface_ip(i, no, text, &toks[2..]),
            ("ipv6", "address") => match toks.get(2).copied() {
                Some("autoconfig") | Some("dhcp") => self.info(codes::UNMODELLED_MATCH, no, text, "an address learned at run time is not known: give it in an interface dump or the manifest"),
                Some(a) => match a.parse::<ipnet::Ipv6Net>() {
                    Ok(n) => {
                        if toks.get(3).copied() == Some("link-local") {
                            return;
                        }
                        if let Some(f) = self.cfg.ifaces.get_mut(i) {
                            f.addrs.push(IpNet::V6(n));
                        }
                    }
                    Err(_) => self.warn(codes::BAD_VALUE, no, text, format!("{a:?} is not an IPv6 prefix")),
                },
                None => self.warn(codes::BAD_VALUE, no, text, "ipv6 address without a value"),
            },
            ("shutdown", "") => {
                if let Some(f) = self.cfg.ifaces.get_mut(i) {
                    f.shutdown = true;
                }
            }
            ("no", "shutdown") => {
                if let Some(f) = self.cfg.ifaces.get_mut(i) {
                    f.shutdown = false;
                }
            }
            ("management-only", "") => {
                if let Some(f) = self.cfg.ifaces.get_mut(i) {
                    f.mgmt_only = Some(no);
                }
            }
            ("no", "nameif") => {
                if let Some(old) = self.cfg.ifaces.get_mut(i).and_then(|f| f.nameif.take()) {
                    self.cfg.nameif_idx.remove(&old);
                }
            }
            ("no", "security-level" | "ip" | "ipv6" | "management-only") => {}
            ("no", _) => {}
            ("vlan", _) | ("description", _) | ("speed", _) | ("duplex", _) | ("mtu", _) | ("mac-address", _)
            | ("channel-group", _) | ("member-interface", _) | ("switchport", _) | ("ospf", _) | ("delay", _)
            | ("flowcontrol", _) | ("lacp", _) | ("media-type", _) | ("ddns", _) | ("dhcp", _) | ("igmp", _)
            | ("pim", _) | ("authentication", _) | ("hello-interval", _) | ("hold-time", _) | ("summary-address", _)
            | ("port-channel", _) | ("nve-only", _) | ("nat64", _) | ("pppoe", _) | ("ipv6", _) | ("ip", _)
            | ("forward", _) | ("shutdown", _) | ("eigrp", _) | ("rip", _) | ("zone-member", _) | ("bfd", _)
            | ("nameif", _) | ("encapsulation", _) | ("redundant", _) | ("cts", _) | ("policy-route", _) => {
                if (t0, t1) == ("zone-member", t1) && !t1.is_empty() {
                    self.warn(codes::UNMODELLED_MATCH, no, text, "traffic zones (asymmetric-routing zones) are not modelled");
                } else if t0 == "policy-route" {
                    self.warn(codes::UNMODELLED_TARGET, no, text, "policy-based routing is not modelled");
                }
            }
            ("bridge-group", _) => self.warn(codes::UNMODELLED_MATCH, no, text, "bridge groups (transparent or integrated routing and bridging) are not modelled"),
            _ => self.unrecognized(no, text, "unrecognized interface sub-command"),
        }
    }

    fn iface_ip(&mut self, i: usize, no: u32, text: &str, args: &[&str]) {
        match args.first().copied() {
            Some("dhcp") | Some("pppoe") => {
                if let Some(f) = self.cfg.ifaces.get_mut(i) {
                    f.dhcp = Some(no);
                }
                self.info(
                    codes::UNMODELLED_MATCH,
                    no,
                    text,
                    "the address (and, with setroute, the default route) is learned at run time: give them in an interface dump or the manifest",
                );
            }
            Some(a) => {
                let net = (|| {
                    let addr: Ipv4Addr = a.parse().ok()?;
                    let len = mask_len(args.get(1)?.parse().ok()?)?;
                    ipnet::Ipv4Net::new(addr, len).ok()
                })();
                match net {
                    Some(n) => {
                        if let Some(f) = self.cfg.ifaces.get_mut(i) {
                            f.addrs.retain(|x| !matches!(x, IpNet::V4(_)));
                            f.addrs.push(IpNet::V4(n));
                        }
                        let rest = &args[2.min(args.len())..];
                        match rest.first().copied() {
                            None => {}
                            Some("standby") if rest.get(1).is_some_and(|s| s.parse::<Ipv4Addr>().is_ok()) && rest.len() == 2 => {}
                            Some(_) => self.warn(codes::BAD_VALUE, no, text, "expected ip address ADDRESS MASK [standby ADDRESS]"),
                        }
                    }
                    None => self.warn(codes::BAD_VALUE, no, text, "expected ip address ADDRESS MASK with a contiguous mask"),
                }
            }
            None => self.warn(codes::BAD_VALUE, no, text, "ip address without a value"),
        }
    }

    fn object(&mut self, no: u32, text: &str, toks: &[&str]) {
        let kind = toks.get(1).copied().unwrap_or("");
        let Some(name) = toks.get(2).map(|s| s.to_string()) else {
            self.warn(codes::BAD_VALUE, no, text, "object without a name");
            self.block = Block::Unknown;
            return;
        };
        match kind {
            "network" => {
                self.cfg.net_objs.entry(name.clone()).or_insert((Vec::new(), no));
                self.block = Block::NetObject(name);
            }
            "service" => {
                self.cfg.svc_objs.entry(name.clone()).or_insert((Svc::default(), no));
                self.block = Block::SvcObject(name);
            }
            _ => {
                self.unrecognized(no, text, format!("object {kind} is not recognised"));
                self.block = Block::Unknown;
            }
        }
    }

    fn net_object_child(&mut self, name: &str, no: u32, text: &str, toks: &[&str]) {
        let t0 = toks.first().copied().unwrap_or("");
        let item = match t0 {
            "host" => toks.get(1).and_then(|h| h.parse::<IpAddr>().ok()).map(|a| NetItem::Range(AddrRange::single(a))),
            "subnet" => match (toks.get(1), toks.get(2)) {
                (Some(a), Some(m)) => net_mask(a, m, &Map::default()),
                (Some(a), None) => v6_prefix(a).filter(|_| a.contains('/')),
                _ => None,
            }
            .map(NetItem::Range),
            "range" => match (toks.get(1).and_then(|a| a.parse::<IpAddr>().ok()), toks.get(2).and_then(|a| a.parse::<IpAddr>().ok())) {
                (Some(a), Some(b)) if a.is_ipv4() == b.is_ipv4() => Some(NetItem::Range(AddrRange { lo: a.min(b), hi: a.max(b) })),
                _ => None,
            },
            "fqdn" => {
                let n = toks.iter().skip(1).find(|t| !matches!(**t, "v4" | "v6")).map(|s| s.to_string()).unwrap_or_default();
                self.info(codes::UNMODELLED_MATCH, no, text, "FQDN objects resolve at run time: rules using them are unknown");
                Some(NetItem::Unknown(format!("fqdn {n} (object {name})")))
            }
            "description" => return,
            "nat" => {
                self.cfg.nats.push(NatLine { line: no, text: text.to_string(), object: Some(name.to_string()) });
                return;
            }
            _ => {
                self.unrecognized(no, text, "unrecognized network object sub-command");
                return;
            }
        };
        match item {
            Some(it) => {
                if let Some(o) = self.cfg.net_objs.get_mut(name) {
                    // A network object holds one definition; a later one replaces it.
                    o.0 = vec![it];
                }
            }
            None => self.warn(codes::BAD_VALUE, no, text, "bad address in network object"),
        }
    }

    fn svc_object_child(&mut self, name: &str, no: u32, text: &str, toks: &[&str]) {
        match toks.first().copied() {
            Some("service") => match parse_service(&toks[1..]) {
                Ok(s) => {
                    if let Some(o) = self.cfg.svc_objs.get_mut(name) {
                        o.0 = s;
                    }
                }
                Err(e) => {
                    self.warn(codes::BAD_VALUE, no, text, e);
                    if let Some(o) = self.cfg.svc_objs.get_mut(name) {
                        o.0 = Svc { unknown: vec![format!("service object {name}: {text}")], ..Default::default() };
                    }
                }
            },
            Some("description") => {}
            _ => self.unrecognized(no, text, "unrecognized service object sub-command"),
        }
    }

    fn object_group(&mut self, no: u32, text: &str, toks: &[&str]) {
        let kind = toks.get(1).copied().unwrap_or("");
        let Some(name) = toks.get(2).map(|s| s.to_string()) else {
            self.warn(codes::BAD_VALUE, no, text, "object-group without a name");
            self.block = Block::Unknown;
            return;
        };
        let g = match kind {
            "network" => Group::Network(Vec::new()),
            "service" => {
                let protos = match toks.get(3).copied() {
                    None => None,
                    Some(p) => match proto_word(p) {
                        Some(Some(v)) => Some(v),
                        _ => {
                            self.warn(codes::BAD_VALUE, no, text, format!("{p:?} is not tcp, udp or tcp-udp"));
                            None
                        }
                    },
                };
                Group::Service(protos, Vec::new())
            }
            "protocol" => Group::Protocol(Vec::new(), Vec::new()),
            "icmp-type" => Group::Icmp(Vec::new(), Vec::new()),
            "user" | "security" | "network-service" => {
                self.info(codes::UNMODELLED_MATCH, no, text, format!("{kind} object groups are not modelled: rules using them are unknown"));
                Group::Other(kind.to_string())
            }
            _ => {
                self.unrecognized(no, text, format!("object-group {kind} is not recognised"));
                self.block = Block::Unknown;
                return;
            }
        };
        if self.cfg.groups.contains_key(&name) {
            // Re-entering a group adds to it (as the ASA does).
        } else {
            self.cfg.groups.insert(name.clone(), (g, no));
        }
        self.block = Block::Group(name);
    }

    fn group_child(&mut self, name: &str, no: u32, text: &str, toks: &[&str]) {
        let t0 = toks.first().copied().unwrap_or("");
        if t0 == "description" {
            return;
        }
        let mut err: Option<(&'static str, String)> = None;
        // The `name` table is read while the group is written: borrowed apart, not copied.
        let Config { names: name_tbl, groups, .. } = &mut self.cfg;
        let name_tbl = &*name_tbl;
        let Some((g, _)) = groups.get_mut(name) else { return };
        match g {
            Group::Network(m) => match t0 {
                "network-object" => {
                    let t1 = toks.get(1).copied().unwrap_or("");
                    let item = match t1 {
                        "host" => toks.get(2).and_then(|h| host(h, name_tbl)).map(|a| NetMember::Item(NetItem::Range(AddrRange::single(a)))),
                        "object" => toks.get(2).map(|o| NetMember::Object(o.to_string())),
                        _ => match toks.get(2) {
                            Some(mk) => net_mask(t1, mk, name_tbl).map(|r| NetMember::Item(NetItem::Range(r))),
                            None => v6_prefix(t1).map(|r| NetMember::Item(NetItem::Range(r))).or_else(|| host(t1, name_tbl).map(|a| NetMember::Item(NetItem::Range(AddrRange::single(a))))),
                        },
                    };
                    match item {
                        Some(it) => m.push((it, no)),
                        None => err = Some((codes::BAD_VALUE, "bad address in network-object".into())),
                    }
                }
                "group-object" => match toks.get(1) {
                    Some(n) => m.push((NetMember::Group(n.to_string()), no)),
                    None => err = Some((codes::BAD_VALUE, "group-object without a name".into())),
                },
                _ => err = Some((codes::UNRECOGNIZED, "unrecognized network object-group sub-command".into())),
            },
            Group::Service(protos, m) => match t0 {
                "service-object" => match toks.get(1).copied() {
                    Some("object") => match toks.get(2) {
                        Some(n) => m.push((SvcMember::Object(n.to_string()), no)),
                        None => err = Some((codes::BAD_VALUE, "service-object object without a name".into())),
                    },
                    _ => match parse_service(&toks[1..]) {
                        Ok(s) => m.push((SvcMember::Svc(s), no)),
                        Err(e) => {
                            m.push((SvcMember::Svc(Svc { unknown: vec![text.to_string()], ..Default::default() }), no));
                            err = Some((codes::BAD_VALUE, e));
                        }
                    },
                },
                "port-object" => match port_op(toks, 1) {
                    Some(Ok((r, _))) if protos.is_some() => m.push((SvcMember::Ports(r), no)),
                    Some(Ok(_)) => err = Some((codes::STRUCTURE, "port-object in a service group without tcp, udp or tcp-udp".into())),
                    Some(Err(e)) => err = Some((codes::BAD_VALUE, e)),
                    None => err = Some((codes::BAD_VALUE, "expected port-object eq|range ...".into())),
                },
                "group-object" => match toks.get(1) {
                    Some(n) => m.push((SvcMember::Group(n.to_string()), no)),
                    None => err = Some((codes::BAD_VALUE, "group-object without a name".into())),
                },
                _ => err = Some((codes::UNRECOGNIZED, "unrecognized service object-group sub-command".into())),
            },
            Group::Protocol(m, nested) => match t0 {
                "protocol-object" => match toks.get(1).copied() {
                    Some("ip") => m.push((None, no)),
                    Some(p) => match names::protocol(p) {
                        Some(n) => m.push((Some(n), no)),
                        None => err = Some((codes::BAD_VALUE, format!("{p:?} is not a protocol"))),
                    },
                    None => err = Some((codes::BAD_VALUE, "protocol-object without a protocol".into())),
                },
                "group-object" => match toks.get(1) {
                    Some(n) => nested.push((n.to_string(), no)),
                    None => err = Some((codes::BAD_VALUE, "group-object without a name".into())),
                },
                _ => err = Some((codes::UNRECOGNIZED, "unrecognized protocol object-group sub-command".into())),
            },
            Group::Icmp(m, nested) => match t0 {
                "icmp-object" => match toks.get(1).and_then(|t| names::icmp_type(t, false)) {
                    Some(t) => m.push(t),
                    None => err = Some((codes::BAD_VALUE, "not an ICMP type".into())),
                },
                "group-object" => match toks.get(1) {
                    Some(n) => nested.push((n.to_string(), no)),
                    None => err = Some((codes::BAD_VALUE, "group-object without a name".into())),
                },
                _ => err = Some((codes::UNRECOGNIZED, "unrecognized icmp-type object-group sub-command".into())),
            },
            Group::Other(_) => {}
        }
        if let Some((code, reason)) = err {
            self.warn(code, no, text, reason);
        }
    }

    fn access_list(&mut self, no: u32, text: &str, toks: &[&str]) {
        let Some(&name) = toks.get(1) else {
            self.warn(codes::BAD_VALUE, no, text, "access-list without a name");
            return;
        };
        let mut i = 2;
        if toks.get(i).copied() == Some("line") {
            i += 2;
        }
        let kind = toks.get(i).copied().unwrap_or("");
        let (standard, rest) = match kind {
            "remark" => {
                self.skipped += 1;
                self.acl_mut(name, no, text);
                return;
            }
            "extended" => (false, i + 1),
            "standard" => (true, i + 1),
            "permit" | "deny" => (false, i),
            "ethertype" | "webtype" | "advanced" => {
                self.warn(codes::UNMODELLED_MATCH, no, text, format!("{kind} access lists are not modelled"));
                return;
            }
            _ => {
                self.unrecognized(no, text, "expected access-list NAME extended|standard|remark ...");
                return;
            }
        };
        let ace = AceLine { line: no, text: text.to_string(), standard, skip: rest };
        self.acl_mut(name, no, text).aces.push(ace);
    }

    fn acl_mut(&mut self, name: &str, no: u32, text: &str) -> &mut Acl {
        let idx = match self.cfg.acl_idx.get(name) {
            Some(&i) => i,
            None => {
                self.cfg.acls.push(Acl { name: name.to_string(), line: no, text: text.to_string(), aces: Vec::new() });
                self.cfg.acl_idx.insert(name.to_string(), self.cfg.acls.len() - 1);
                self.cfg.acls.len() - 1
            }
        };
        &mut self.cfg.acls[idx]
    }

    fn access_group(&mut self, no: u32, text: &str, toks: &[&str]) {
        let Some(acl) = toks.get(1).map(|s| s.to_string()) else {
            self.warn(codes::BAD_VALUE, no, text, "access-group without an ACL");
            return;
        };
        let dir = toks.get(2).copied();
        let bind = match (dir, toks.get(3).copied(), toks.get(4)) {
            (Some("global"), _, _) => Binding::Global,
            (Some("in"), Some("interface"), Some(ifn)) => {
                if toks.get(5).copied() == Some("control-plane") {
                    Binding::ControlPlane(ifn.to_string())
                } else {
                    if toks.get(5).copied() == Some("per-user-override") {
                        self.info(codes::UNMODELLED_MATCH, no, text, "per-user ACLs downloaded at authentication are not modelled");
                    }
                    Binding::In(ifn.to_string())
                }
            }
            (Some("out"), Some("interface"), Some(ifn)) => Binding::Out(ifn.to_string()),
            _ => {
                self.warn(codes::BAD_VALUE, no, text, "expected access-group ACL in|out interface NAME, or access-group ACL global");
                return;
            }
        };
        self.cfg.groups_bound.push(AccessGroup { acl, bind, line: no, text: text.to_string() });
    }

    fn route(&mut self, no: u32, text: &str, args: &[&str], v6: bool) {
        let (ifname, dst, rest) = if v6 {
            match (args.first(), args.get(1).and_then(|p| p.parse::<ipnet::Ipv6Net>().ok())) {
                (Some(i), Some(n)) => (i, IpNet::V6(n.trunc()), args.get(2..).unwrap_or(&[])),
                _ => return self.warn(codes::BAD_VALUE, no, text, "expected ipv6 route IFNAME PREFIX GATEWAY [DISTANCE]"),
            }
        } else {
            let names = &self.cfg.names;
            let net = args.get(1).zip(args.get(2)).and_then(|(a, m)| {
                let a: Ipv4Addr = match host(a, names)? {
                    IpAddr::V4(x) => x,
                    IpAddr::V6(_) => return None,
                };
                let l = mask_len(m.parse().ok()?)?;
                ipnet::Ipv4Net::new(a, l).ok()
            });
            match (args.first(), net) {
                (Some(i), Some(n)) => {
                    if n.trunc() != n {
                        self.info(codes::HOST_BITS, no, text, "destination has host bits set: normalised to the network");
                    }
                    (i, IpNet::V4(n.trunc()), args.get(3..).unwrap_or(&[]))
                }
                _ => return self.warn(codes::BAD_VALUE, no, text, "expected route IFNAME NETWORK MASK GATEWAY [DISTANCE]"),
            }
        };
        let blackhole = ifname.eq_ignore_ascii_case("null0");
        let gw = match rest.first().and_then(|g| host(g, &self.cfg.names)) {
            Some(g) => Some(g),
            None if blackhole => None,
            None => return self.warn(codes::BAD_VALUE, no, text, "the gateway is not an address"),
        };
        let rest = if gw.is_some() { rest } else { &[][..] };
        let mut metric = DEFAULT_ROUTE_DISTANCE;
        let mut k = 1;
        if let Some(d) = rest.get(1).and_then(|d| d.parse::<u32>().ok()) {
            metric = d;
            k = 2;
        }
        let mut extra = Vec::new();
        while let Some(t) = rest.get(k) {
            match *t {
                "track" => {
                    extra.push("track");
                    k += 2;
                }
                "tunneled" => {
                    extra.push("tunneled");
                    k += 1;
                }
                _ => {
                    self.warn(codes::BAD_VALUE, no, text, format!("unexpected {t:?} in a route"));
                    k += 1;
                }
            }
        }
        if extra.contains(&"tunneled") {
            self.info(codes::UNMODELLED_MATCH, no, text, "tunneled routes apply to VPN traffic only, which is not modelled: the route is not used");
            return;
        }
        if extra.contains(&"track") {
            self.info(codes::UNMODELLED_MATCH, no, text, "the route is assumed up (its SLA tracking is not modelled)");
        }
        let dev = if blackhole {
            None
        } else {
            match self.cfg.iface_by_nameif(ifname) {
                Some(f) => Some(f.phys.to_string()),
                None => {
                    self.warn(codes::UNDEFINED_REFERENCE, no, text, format!("no interface has nameif {ifname}"));
                    return;
                }
            }
        };
        self.cfg.routes.push(Route {
            dst,
            via: if blackhole { None } else { gw },
            dev,
            kind: if blackhole { RouteKind::Blackhole } else { RouteKind::Unicast },
            metric,
            src: None,
            table: "main".into(),
            prov: self.cfg.prov(no, text),
        });
    }

    /// `ssh|telnet|http NET MASK IFNAME`, `ssh|telnet|http PREFIX IFNAME` (IPv6), and the
    /// settings of those services (timeouts, versions) that do not decide who may connect.
    fn mgmt_cmd(&mut self, no: u32, text: &str, toks: &[&str]) {
        let t0 = toks[0];
        let t1 = toks.get(1).copied().unwrap_or("");
        if t0 == "http" && t1 == "server" {
            if toks.get(2).copied() == Some("enable") {
                let port = match toks.get(3) {
                    Some(p) => match p.parse::<u16>() {
                        Ok(p) => p,
                        Err(_) => return self.warn(codes::BAD_VALUE, no, text, "bad port"),
                    },
                    None => DEFAULT_HTTP_SERVER_PORT,
                };
                self.cfg.http_server = Some((port, no));
            }
            return;
        }
        let names = &self.cfg.names;
        let parsed = match toks.len() {
            4 => net_mask(t1, toks[2], names).map(|r| (r, toks[3])),
            3 => v6_prefix(t1).filter(|_| t1.contains(':')).map(|r| (r, toks[2])),
            _ => None,
        };
        match parsed {
            Some((src, iface)) => {
                let service = match t0 {
                    "ssh" => "ssh",
                    "telnet" => "telnet",
                    _ => "http",
                };
                self.cfg.mgmt.push(Mgmt { service, src: vec![src], iface: iface.to_string(), line: no, text: text.to_string() });
            }
            // Settings: `ssh timeout 5`, `ssh version 2`, `ssh key-exchange ...`, `http redirect ...`.
            None if !t1.is_empty() && t1.parse::<IpAddr>().is_err() && !t1.contains(':') && names.get(t1).is_none() => {}
            None => self.warn(codes::BAD_VALUE, no, text, format!("expected {t0} ADDRESS MASK INTERFACE")),
        }
    }

    /// `icmp permit|deny {any|host A|A MASK} [TYPE] IFNAME`; `ipv6 icmp permit|deny
    /// {any|host A|PREFIX} [TYPE] IFNAME`.
    fn icmp_cmd(&mut self, no: u32, text: &str, args: &[&str], v6: bool) {
        let permit = match args.first().copied() {
            Some("permit") => true,
            Some("deny") => false,
            _ => return self.warn(codes::BAD_VALUE, no, text, "expected icmp permit|deny ..."),
        };
        let names = &self.cfg.names;
        let (src, mut i) = match args.get(1).copied() {
            Some("any") | Some("any4") | Some("any6") => (None, 2),
            Some("host") => match args.get(2).and_then(|h| host(h, names)) {
                Some(a) => (Some(vec![AddrRange::single(a)]), 3),
                None => return self.warn(codes::BAD_VALUE, no, text, "bad host address"),
            },
            Some(a) if v6 => match v6_prefix(a) {
                Some(r) => (Some(vec![r]), 2),
                None => return self.warn(codes::BAD_VALUE, no, text, "bad IPv6 prefix"),
            },
            Some(a) => match args.get(2).and_then(|m| net_mask(a, m, names)) {
                Some(r) => (Some(vec![r]), 3),
                None => return self.warn(codes::BAD_VALUE, no, text, "bad address or mask"),
            },
            None => return self.warn(codes::BAD_VALUE, no, text, "expected a source"),
        };
        let mut ty = None;
        if args.len() > i + 1 {
            match args.get(i).and_then(|t| names::icmp_type(t, v6)) {
                Some(t) => ty = Some(t),
                None => return self.warn(codes::BAD_VALUE, no, text, "bad ICMP type"),
            }
            i += 1;
        }
        let Some(iface) = args.get(i).map(|s| s.to_string()) else {
            return self.warn(codes::BAD_VALUE, no, text, "expected an interface name");
        };
        if args.len() > i + 1 {
            return self.warn(codes::BAD_VALUE, no, text, "unexpected words after the interface name");
        }
        self.cfg.icmp.push(IcmpLine { permit, v6, src, ty, iface, line: no, text: text.to_string() });
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn words_split_like_split_whitespace() {
        for line in [
            "",
            "   ",
            "access-list A extended permit ip any any ! trailing",
            "a\tb\x0bc\x0cd\re  f",
            "name 10.0.0.1 caf\u{e9}\u{a0}x\u{2003}y \u{85}z",
            "! all comment",
            "x !y ! z",
            "\u{3000}lead\u{3000}",
        ] {
            let want: Vec<&str> = line.split_whitespace().take_while(|t| *t != "!").collect();
            assert_eq!(words(line).collect::<Vec<_>>(), want, "{line:?}");
        }
    }

    #[test]
    fn irrelevant_commands_are_lower_case() {
        // the lookup compares without regard to ASCII case, which needs lower-case names
        for c in IRRELEVANT {
            assert_eq!(*c, c.to_ascii_lowercase());
        }
    }

    #[test]
    fn masks() {
        assert_eq!(mask_len("255.255.255.0".parse().unwrap()), Some(24));
        assert_eq!(mask_len("0.0.0.0".parse().unwrap()), Some(0));
        assert_eq!(mask_len("255.255.255.255".parse().unwrap()), Some(32));
        assert_eq!(mask_len("0.0.0.255".parse().unwrap()), None);
        assert_eq!(mask_len("255.0.255.0".parse().unwrap()), None);
    }

    #[test]
    fn detection() {
        assert!(looks_like("ASA Version 9.8(2)\nhostname fw\n"));
        assert!(looks_like("access-list a extended permit ip any any\n"));
        assert!(!looks_like("ip access-list extended a\n permit ip any any\n"));
        assert!(!looks_like("access-list 101 permit ip any any\n"));
        assert!(!looks_like("hostname r\naccess-list a extended permit ip 1.2.3.4 0.0.0.255 any\n"));
        assert!(!looks_like("access-list a extended permit ip any any\nipv6 access-list extended b\n"));
        assert!(looks_like("access-list a extended permit ip 10.0.0.0 255.0.0.0 any\n"));
    }
}
