//! One access-list entry: `[seq] permit|deny proto src [ports] dst [ports] [options]` in the
//! IOS, IOS-XE, NX-OS, IOS-XR and Arista EOS dialects, and the standard form `permit|deny src`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::names;
use crate::diag::{codes, Severity};
use crate::model::{Action, AddrRange, Cond, Test};
use crate::space::{proto, tcp_flags};

/// Largest number of address ranges a non-contiguous wildcard mask is expanded into; a mask
/// that would give more makes the rule's address condition unknown (P002).
pub const MAX_WILDCARD_RANGES: usize = 256;

/// A resolved address group: its ranges, and what could not be resolved.
#[derive(Clone, Debug, Default)]
pub struct AddrGroup {
    /// Every range of the group and its nested groups.
    pub ranges: Vec<AddrRange>,
    /// Why the group is incomplete (undefined or cyclic nested groups, unexpandable members).
    pub problems: Vec<String>,
}

/// One service of a service group: protocols (empty: any), ports, ICMP message.
#[derive(Clone, Debug, Default)]
pub struct Svc {
    /// Protocol numbers; empty means any protocol.
    pub protos: Vec<u8>,
    /// Source ports.
    pub sport: Option<Vec<(u16, u16)>>,
    /// Destination ports.
    pub dport: Option<Vec<(u16, u16)>>,
    /// ICMP type and code.
    pub icmp: Option<(u8, Option<u8>)>,
}

/// A resolved service group.
#[derive(Clone, Debug, Default)]
pub struct SvcGroup {
    /// Its services (they OR).
    pub svcs: Vec<Svc>,
    /// Why the group is incomplete.
    pub problems: Vec<String>,
}

/// Object groups the entries may name, resolved.
#[derive(Clone, Debug, Default)]
pub struct Groups {
    /// `object-group network` / `object-group ip address` (NX-OS `addrgroup`).
    pub net: HashMap<String, AddrGroup>,
    /// `object-group service`.
    pub svc: HashMap<String, SvcGroup>,
    /// NX-OS `object-group ip port` (`portgroup`).
    pub ports: HashMap<String, PortGroup>,
}

/// A port group's ranges and the problems met reading it.
pub type PortGroup = (Vec<(u16, u16)>, Vec<String>);

/// How the entries of one access list are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// Standard list: only a source address.
    pub standard: bool,
    /// IPv6 list.
    pub v6: bool,
}

/// A diagnostic about an entry that was still understood.
#[derive(Clone, Debug)]
pub struct Note {
    /// Diagnostic code.
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Why.
    pub reason: String,
}

/// A parsed entry.
#[derive(Clone, Debug)]
pub enum Entry {
    /// `remark ...`: cosmetic.
    Remark,
    /// A rule: its action, one or more sets of conditions (a service group gives one per
    /// service), conditions that are not modelled, and diagnostics.
    Rule {
        /// Sequence number, if written.
        seq: Option<u32>,
        /// Accept (permit), Drop (deny) or Unknown.
        action: Action,
        /// Alternative condition sets (they OR; each becomes one model rule).
        variants: Vec<Vec<Cond>>,
        /// Conditions recognised but not modelled.
        unknown: Vec<String>,
        /// Diagnostics.
        notes: Vec<Note>,
    },
}

/// An entry that could not be read: the action, if it was read, and why.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Sequence number, if read.
    pub seq: Option<u32>,
    /// The action, if read (the rule is then kept with an unknown match).
    pub action: Option<Action>,
    /// Diagnostic code (P001 or P004).
    pub code: &'static str,
    /// Why.
    pub reason: String,
}

/// The words of a line (up to 24 without allocating).
struct Toks<'a> {
    arr: [&'a str; 24],
    len: usize,
    more: Vec<&'a str>,
    i: usize,
}

impl<'a> Toks<'a> {
    fn new(text: &'a str) -> Self {
        let mut t = Toks { arr: [""; 24], len: 0, more: Vec::new(), i: 0 };
        for w in text.split_ascii_whitespace() {
            if t.len < t.arr.len() {
                t.arr[t.len] = w;
                t.len += 1;
            } else {
                t.more.push(w);
            }
        }
        t
    }
    fn get(&self, i: usize) -> Option<&'a str> {
        if i < self.len {
            self.arr.get(i).copied()
        } else {
            self.more.get(i - self.len).copied()
        }
    }
    fn peek(&self) -> Option<&'a str> {
        self.get(self.i)
    }
    fn next(&mut self) -> Option<&'a str> {
        let t = self.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }
}

/// Options that may follow the addresses and ports (never a port name or address).
const OPTION_WORDS: &[&str] = &[
    "log", "log-input", "established", "fragments", "dscp", "precedence", "tos", "time-range", "ttl", "option",
    "reflect", "match-all", "match-any", "syn", "ack", "fin", "psh", "rst", "urg", "counter", "sequence",
    "packet-length", "flow-label", "routing", "routing-type", "hbh", "dest-option", "auth", "mobility",
    "undetermined-transport", "nexthop1", "nexthop2", "nexthop3", "capture", "log-update", "default",
];

fn is_option(w: &str) -> bool {
    OPTION_WORDS.contains(&w)
}

/// Parse one entry of an access list.
pub fn parse(text: &str, dialect: Dialect, g: &Groups) -> Result<Entry, Failure> {
    let mut t = Toks::new(text);
    let mut seq = None;
    if t.peek() == Some("sequence") {
        t.next();
        seq = Some(t.next().and_then(|s| s.parse().ok()).ok_or_else(|| fail(None, None, codes::BAD_VALUE, "sequence without a number"))?);
    } else if let Some(n) = t.peek().and_then(|w| w.parse::<u32>().ok()) {
        seq = Some(n);
        t.next();
    }
    let action = match t.next() {
        Some("permit") => Action::Accept,
        Some("deny") => Action::Drop,
        Some("remark") => return Ok(Entry::Remark),
        Some(w @ ("evaluate" | "dynamic")) => {
            let what = if w == "evaluate" {
                "evaluate (reflexive access list: entries created by reflect rules are not modelled)"
            } else {
                "dynamic (lock-and-key entry, opened by authentication: not modelled)"
            };
            return Ok(Entry::Rule {
                seq,
                action: Action::Unknown(w.to_string()),
                variants: vec![Vec::new()],
                unknown: Vec::new(),
                notes: vec![Note { code: codes::UNMODELLED_TARGET, severity: Severity::Warning, reason: format!("{what}: the entry's effect is unknown") }],
            });
        }
        Some(w) => return Err(fail(seq, None, codes::UNRECOGNIZED, &format!("{w:?} is not permit, deny or remark"))),
        None => return Err(fail(seq, None, codes::UNRECOGNIZED, "an entry without an action")),
    };
    let mut b = Builder { conds: Vec::with_capacity(6), unknown: Vec::new(), notes: Vec::new(), v6: dialect.v6, seq: None };
    let r = if dialect.standard { b.standard(&mut t, g) } else { b.extended(&mut t, g) };
    match r {
        Ok(variants) => {
            Ok(Entry::Rule { seq: b.seq.or(seq), action, variants, unknown: b.unknown, notes: b.notes })
        }
        Err((code, reason)) => Err(fail(seq, Some(action), code, &reason)),
    }
}

fn fail(seq: Option<u32>, action: Option<Action>, code: &'static str, reason: &str) -> Failure {
    Failure { seq, action, code, reason: reason.to_string() }
}

type PResult<T> = Result<T, (&'static str, String)>;

fn bad(reason: impl Into<String>) -> (&'static str, String) {
    (codes::BAD_VALUE, reason.into())
}

struct Builder {
    conds: Vec<Cond>,
    unknown: Vec<String>,
    notes: Vec<Note>,
    v6: bool,
    /// A trailing `sequence N` (IOS IPv6 lists).
    seq: Option<u32>,
}

/// The services a rule's protocol field names.
enum ProtoSpec {
    /// Any IP protocol.
    Any,
    /// One protocol.
    One(u8),
    /// A service group: one variant per service.
    Group(Vec<Svc>),
}

impl Builder {
    fn unmodelled(&mut self, what: String, why: &str) {
        self.notes.push(Note { code: codes::UNMODELLED_MATCH, severity: Severity::Warning, reason: format!("{what}: {why}; the rule only possibly matches") });
        self.unknown.push(what);
    }

    fn standard(&mut self, t: &mut Toks, g: &Groups) -> PResult<Vec<Vec<Cond>>> {
        let src = self.address(t, g, true)?;
        if let Some(r) = src {
            self.conds.push(Cond::is(Test::Src(r)));
        }
        self.options(t, None)?;
        Ok(vec![std::mem::take(&mut self.conds)])
    }

    fn extended(&mut self, t: &mut Toks, g: &Groups) -> PResult<Vec<Vec<Cond>>> {
        let pw = t.next().ok_or_else(|| bad("no protocol"))?;
        let spec = match pw {
            "ip" | "ipv4" | "ipv6" => ProtoSpec::Any,
            "object-group" => {
                let name = t.next().ok_or_else(|| bad("object-group without a name"))?;
                match g.svc.get(name) {
                    Some(sg) => {
                        for p in &sg.problems {
                            self.unmodelled(format!("object-group {name}: {p}"), "part of the service group is unknown");
                        }
                        ProtoSpec::Group(sg.svcs.clone())
                    }
                    None => {
                        self.notes.push(Note {
                            code: codes::UNDEFINED_REFERENCE,
                            severity: Severity::Warning,
                            reason: format!("service object-group {name} is not defined; the rule only possibly matches"),
                        });
                        self.unknown.push(format!("object-group {name} (undefined)"));
                        ProtoSpec::Any
                    }
                }
            }
            w => match names::protocol(w, self.v6) {
                Some(p) => ProtoSpec::One(p),
                None => return Err((codes::UNRECOGNIZED, format!("{w:?} is not a protocol name or number"))),
            },
        };
        let one = match spec {
            ProtoSpec::One(p) => Some(p),
            _ => None,
        };
        let ports_ok = one.is_some_and(proto::has_ports);
        let src = self.address(t, g, false)?;
        let sport = if ports_ok { self.port_op(t, one, g)? } else { None };
        let dst = self.address(t, g, false)?;
        let dport = if ports_ok { self.port_op(t, one, g)? } else { None };
        let mut icmp = None;
        if one == Some(proto::ICMP) || one == Some(proto::ICMPV6) {
            icmp = self.icmp_type(t)?;
        }
        self.options(t, one)?;
        if let Some(p) = one {
            self.conds.push(Cond::is(Test::Proto(vec![p])));
        }
        if let Some(r) = src {
            self.conds.push(Cond::is(Test::Src(r)));
        }
        if let Some(r) = dst {
            self.conds.push(Cond::is(Test::Dst(r)));
        }
        if let Some(p) = sport {
            self.conds.push(Cond::is(Test::Sport(p)));
        }
        if let Some(p) = dport {
            self.conds.push(Cond::is(Test::Dport(p)));
        }
        if let Some((ty, code)) = icmp {
            self.conds.push(Cond::is(Test::Icmp { ty: Some(ty), code: code.map(|c| (c, c)) }));
        }
        let base = std::mem::take(&mut self.conds);
        match spec {
            ProtoSpec::Group(svcs) => Ok(svcs
                .iter()
                .map(|s| {
                    let mut c = base.clone();
                    if !s.protos.is_empty() {
                        c.push(Cond::is(Test::Proto(s.protos.clone())));
                    }
                    if let Some(p) = &s.sport {
                        c.push(Cond::is(Test::Sport(p.clone())));
                    }
                    if let Some(p) = &s.dport {
                        c.push(Cond::is(Test::Dport(p.clone())));
                    }
                    if let Some((ty, code)) = s.icmp {
                        c.push(Cond::is(Test::Icmp { ty: Some(ty), code: code.map(|x| (x, x)) }));
                    }
                    c
                })
                .collect()),
            _ => Ok(vec![base]),
        }
    }

    /// An address: `any`, `host A`, `A W` (wildcard), `A` (standard lists: one host),
    /// `A/len`, `object-group N`, `addrgroup N`. `None` means any address.
    fn address(&mut self, t: &mut Toks, g: &Groups, standard: bool) -> PResult<Option<Vec<AddrRange>>> {
        let w = t.next().ok_or_else(|| bad("an address is missing"))?;
        match w {
            "any" | "any4" | "any6" => Ok(None),
            "host" => {
                let a = t.next().ok_or_else(|| bad("host without an address"))?;
                let ip: IpAddr = a.parse().map_err(|_| bad(format!("{a:?} is not an IP address")))?;
                self.family_check(ip)?;
                Ok(Some(vec![AddrRange::single(ip)]))
            }
            "object-group" | "addrgroup" => {
                let name = t.next().ok_or_else(|| bad("object-group without a name"))?;
                match g.net.get(name) {
                    Some(ag) => {
                        for p in &ag.problems {
                            self.unmodelled(format!("object-group {name}: {p}"), "part of the address group is unknown");
                        }
                        Ok(Some(ag.ranges.clone()))
                    }
                    None => {
                        self.notes.push(Note {
                            code: codes::UNDEFINED_REFERENCE,
                            severity: Severity::Warning,
                            reason: format!("address object-group {name} is not defined; the rule only possibly matches"),
                        });
                        self.unknown.push(format!("object-group {name} (undefined)"));
                        Ok(None)
                    }
                }
            }
            _ if w.contains('/') => {
                let net: IpNet = w.parse().map_err(|_| bad(format!("{w:?} is not an address prefix")))?;
                self.family_check(net.addr())?;
                Ok(Some(vec![AddrRange::from_net(net)]))
            }
            _ => {
                let ip: IpAddr = w.parse().map_err(|_| (codes::UNRECOGNIZED, format!("{w:?} is not an address, any, host or object-group")))?;
                self.family_check(ip)?;
                let IpAddr::V4(a) = ip else {
                    return Err(bad(format!("{w:?}: an IPv6 address needs a prefix length or host")));
                };
                let wild = match t.peek().and_then(|x| x.parse::<Ipv4Addr>().ok()) {
                    Some(m) => {
                        t.next();
                        m
                    }
                    None if standard => Ipv4Addr::UNSPECIFIED,
                    None => return Err(bad(format!("{w} needs a wildcard mask"))),
                };
                match wildcard_ranges(u32::from(a), u32::from(wild)) {
                    Some(r) => Ok(Some(r)),
                    None => {
                        self.unmodelled(
                            format!("{a} {wild}"),
                            &format!("a non-contiguous wildcard mask that spans more than {MAX_WILDCARD_RANGES} address ranges"),
                        );
                        Ok(None)
                    }
                }
            }
        }
    }

    fn family_check(&self, ip: IpAddr) -> PResult<()> {
        if ip.is_ipv6() != self.v6 {
            let fam = if self.v6 { "an IPv6" } else { "an IPv4" };
            return Err(bad(format!("{ip} in {fam} access list")));
        }
        Ok(())
    }

    /// `eq P..`, `neq P..`, `lt P`, `gt P`, `range A B`, `portgroup N`, or nothing.
    fn port_op(&mut self, t: &mut Toks, p: Option<u8>, g: &Groups) -> PResult<Option<Vec<(u16, u16)>>> {
        let protos: Vec<u8> = p.into_iter().collect();
        port_op(t, &protos, g, &mut self.unknown, &mut self.notes)
    }

    fn icmp_type(&mut self, t: &mut Toks) -> PResult<Option<(u8, Option<u8>)>> {
        let Some(w) = t.peek() else { return Ok(None) };
        if let Ok(ty) = w.parse::<u8>() {
            t.next();
            let code = match t.peek().and_then(|c| c.parse::<u8>().ok()) {
                Some(c) => {
                    t.next();
                    Some(c)
                }
                None => None,
            };
            return Ok(Some((ty, code)));
        }
        if is_option(w) {
            return Ok(None);
        }
        match names::icmp(w, self.v6) {
            Some(x) => {
                t.next();
                Ok(Some(x))
            }
            None => Ok(None),
        }
    }

    fn options(&mut self, t: &mut Toks, p: Option<u8>) -> PResult<()> {
        let mut flags: Vec<&str> = Vec::new();
        while let Some(w) = t.next() {
            match w {
                "log" | "log-input" | "log-update" => {
                    // An optional cookie (`log WORD`).
                    if t.peek().is_some_and(|x| !is_option(x)) {
                        t.next();
                    }
                }
                "established" => {
                    if p != Some(proto::TCP) {
                        return Err(bad("established applies to tcp only"));
                    }
                    // IOS `established` matches TCP segments with ACK or RST set.
                    self.conds.push(Cond::not(Test::TcpFlags { mask: tcp_flags::ACK | tcp_flags::RST, comp: 0 }));
                }
                "fragments" => self.unmodelled("fragments".into(), "matching on non-initial fragments is not modelled"),
                "dscp" | "precedence" | "tos" | "time-range" | "option" | "flow-label" | "routing-type" | "packet-length" => {
                    let v = t.next().ok_or_else(|| bad(format!("{w} without a value")))?;
                    let mut what = format!("{w} {v}");
                    if w == "packet-length" {
                        let v2 = if v == "range" { t.next().zip(t.next()).map(|(a, b)| format!("{a} {b}")) } else { t.next().map(str::to_string) };
                        what.push(' ');
                        what.push_str(&v2.unwrap_or_default());
                    }
                    let why = match w {
                        "time-range" => "time-based rules are not modelled",
                        _ => "this header field is not modelled",
                    };
                    self.unmodelled(what, why);
                }
                "ttl" => {
                    let op = t.next().ok_or_else(|| bad("ttl without an operator"))?;
                    let a = t.next().unwrap_or("");
                    let mut what = format!("ttl {op} {a}");
                    if op == "range" {
                        what.push(' ');
                        what.push_str(t.next().unwrap_or(""));
                    }
                    self.unmodelled(what, "the TTL is not modelled");
                }
                "routing" | "hbh" | "dest-option" | "auth" | "mobility" | "undetermined-transport" => {
                    self.unmodelled(w.to_string(), "IPv6 extension headers are not modelled")
                }
                "reflect" => {
                    let name = t.next().unwrap_or("");
                    if t.peek() == Some("timeout") {
                        t.next();
                        t.next();
                    }
                    self.notes.push(Note {
                        code: codes::UNMODELLED_MATCH,
                        severity: Severity::Info,
                        reason: format!("reflect {name}: the permit is modelled; the temporary entries it creates for replies (evaluate {name}) are not"),
                    });
                }
                "syn" | "ack" | "fin" | "psh" | "rst" | "urg" => {
                    if p != Some(proto::TCP) {
                        return Err(bad(format!("{w} applies to tcp only")));
                    }
                    flags.push(w);
                }
                "match-all" | "match-any" => {
                    if p != Some(proto::TCP) {
                        return Err(bad(format!("{w} applies to tcp only")));
                    }
                    let mut mask = 0u8;
                    let mut comp = 0u8;
                    let mut words = Vec::new();
                    while let Some(f) = t.peek().filter(|f| f.starts_with('+') || f.starts_with('-')) {
                        t.next();
                        words.push(f);
                        let bit = flag_bit(&f[1..]).ok_or_else(|| bad(format!("{f:?} is not a TCP flag")))?;
                        mask |= bit;
                        if f.starts_with('+') {
                            comp |= bit;
                        }
                    }
                    if w == "match-all" || words.len() <= 1 {
                        self.conds.push(Cond::is(Test::TcpFlags { mask, comp }));
                    } else {
                        self.unmodelled(format!("match-any {}", words.join(" ")), "a choice between TCP flag tests is not modelled");
                    }
                }
                "sequence" => {
                    // IOS shows `sequence N` at the end of IPv6 entries.
                    self.seq = t.next().and_then(|s| s.parse().ok());
                }
                "counter" | "capture" => {
                    t.next();
                }
                "nexthop1" | "nexthop2" | "nexthop3" | "default" => {
                    let rest: Vec<&str> = std::iter::once(w).chain(std::iter::from_fn(|| t.next())).collect();
                    self.unmodelled(rest.join(" "), "policy-based forwarding in an access list is not modelled");
                }
                "eq" | "neq" | "lt" | "gt" | "range" => return Err(bad(format!("port operator {w} where the protocol has no ports or the address is incomplete"))),
                other => self.unmodelled(other.to_string(), "an unrecognised entry option"),
            }
        }
        match flags.as_slice() {
            [] => {}
            [f] => {
                let bit = flag_bit(f).unwrap_or(0);
                self.conds.push(Cond::is(Test::TcpFlags { mask: bit, comp: bit }));
            }
            many => self.unmodelled(many.join(" "), "several TCP flag keywords together are not modelled"),
        }
        Ok(())
    }
}

fn flag_bit(f: &str) -> Option<u8> {
    Some(match f {
        "syn" => tcp_flags::SYN,
        "ack" => tcp_flags::ACK,
        "fin" => tcp_flags::FIN,
        "psh" => tcp_flags::PSH,
        "rst" => tcp_flags::RST,
        "urg" => tcp_flags::URG,
        _ => return None,
    })
}

/// A port operator and its ports for the given protocols (an empty list: the caller has
/// checked that the protocol carries ports).
fn port_op(
    t: &mut Toks,
    protos: &[u8],
    g: &Groups,
    unknown: &mut Vec<String>,
    notes: &mut Vec<Note>,
) -> PResult<Option<Vec<(u16, u16)>>> {
    let Some(op) = t.peek() else { return Ok(None) };
    let one = |w: Option<&str>| -> PResult<u16> {
        let w = w.ok_or_else(|| bad(format!("{op} without a port")))?;
        names::port(w, protos).ok_or_else(|| bad(format!("{w:?} is not a port number or a port name of this protocol")))
    };
    let r = match op {
        "eq" | "neq" => {
            t.next();
            let mut v = vec![one(t.next())?];
            while let Some(p) = t.peek().and_then(|w| names::port(w, protos)) {
                t.next();
                v.push(p);
            }
            let list: Vec<(u16, u16)> = v.iter().map(|&p| (p, p)).collect();
            if op == "eq" {
                list
            } else {
                complement(&list)
            }
        }
        "lt" => {
            t.next();
            let p = one(t.next())?;
            if p == 0 {
                Vec::new()
            } else {
                vec![(0, p - 1)]
            }
        }
        "gt" => {
            t.next();
            let p = one(t.next())?;
            if p == u16::MAX {
                Vec::new()
            } else {
                vec![(p + 1, u16::MAX)]
            }
        }
        "range" => {
            t.next();
            let a = one(t.next())?;
            let b = one(t.next())?;
            if a > b {
                return Err(bad(format!("port range {a} {b} is empty")));
            }
            vec![(a, b)]
        }
        "portgroup" => {
            t.next();
            let name = t.next().ok_or_else(|| bad("portgroup without a name"))?;
            match g.ports.get(name) {
                Some((r, problems)) => {
                    for p in problems {
                        unknown.push(format!("portgroup {name}: {p}"));
                        notes.push(Note {
                            code: codes::UNMODELLED_MATCH,
                            severity: Severity::Warning,
                            reason: format!("portgroup {name}: {p}; the rule only possibly matches"),
                        });
                    }
                    r.clone()
                }
                None => {
                    unknown.push(format!("portgroup {name} (undefined)"));
                    notes.push(Note {
                        code: codes::UNDEFINED_REFERENCE,
                        severity: Severity::Warning,
                        reason: format!("port object-group {name} is not defined; the rule only possibly matches"),
                    });
                    return Ok(None);
                }
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(r))
}

/// Ports not in the sorted-or-not list of single ports.
fn complement(list: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut v: Vec<(u16, u16)> = list.to_vec();
    v.sort_unstable();
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for (a, b) in v {
        if (a as u32) > next {
            out.push((next as u16, a - 1));
        }
        next = next.max(b as u32 + 1);
    }
    if next <= u16::MAX as u32 {
        out.push((next as u16, u16::MAX));
    }
    out
}

/// The addresses an IPv4 address and wildcard mask match, as ranges: one range for a
/// contiguous mask (`0.0.0.255`), several for a non-contiguous one (`0.0.255.0` matches 256
/// ranges of one address each); `None` if there would be more than [`MAX_WILDCARD_RANGES`].
pub fn wildcard_ranges(addr: u32, wild: u32) -> Option<Vec<AddrRange>> {
    let base = addr & !wild;
    let low_bits = (!wild).trailing_zeros();
    let low: u32 = if low_bits >= 32 { u32::MAX } else { (1u32 << low_bits) - 1 };
    let upper = wild & !low;
    if upper.count_ones() as usize > MAX_WILDCARD_RANGES.trailing_zeros() as usize {
        return None;
    }
    let mut out = Vec::new();
    let mut s: u32 = 0;
    loop {
        let lo = base | s;
        out.push(AddrRange { lo: IpAddr::V4(Ipv4Addr::from(lo)), hi: IpAddr::V4(Ipv4Addr::from(lo | low)) });
        if s == upper {
            break;
        }
        s = s.wrapping_sub(upper) & upper;
    }
    Some(out)
}

/// Read a service-group member or similar `proto [source OP] [OP]` / `icmp TYPE` line.
pub fn service(text: &str, g: &Groups) -> Result<Svc, String> {
    let mut t = Toks::new(text);
    let w = t.next().ok_or("an empty service")?;
    let protos: Vec<u8> = match w {
        "tcp-udp" => vec![proto::TCP, proto::UDP],
        "ip" => Vec::new(),
        _ => vec![names::protocol(w, false).ok_or_else(|| format!("{w:?} is not a protocol"))?],
    };
    let mut s = Svc { protos: protos.clone(), ..Default::default() };
    let mut unknown = Vec::new();
    let mut notes = Vec::new();
    if protos.iter().all(|p| proto::has_ports(*p)) && !protos.is_empty() {
        if t.peek() == Some("source") {
            t.next();
            s.sport = port_op(&mut t, &protos, g, &mut unknown, &mut notes).map_err(|e| e.1)?;
            if s.sport.is_none() {
                return Err("source without a port operator".into());
            }
        }
        if t.peek() == Some("destination") {
            t.next();
        }
        s.dport = port_op(&mut t, &protos, g, &mut unknown, &mut notes).map_err(|e| e.1)?;
    } else if protos == [proto::ICMP] {
        if let Some(x) = t.peek() {
            if let Ok(ty) = x.parse::<u8>() {
                t.next();
                s.icmp = Some((ty, None));
            } else if let Some(m) = names::icmp(x, false) {
                t.next();
                s.icmp = Some(m);
            }
        }
    }
    if let Some(x) = t.next() {
        return Err(format!("unexpected {x:?}"));
    }
    if !unknown.is_empty() {
        return Err(unknown.join(", "));
    }
    Ok(s)
}

/// Read `eq P` / `range A B` / ... alone (an NX-OS port group member).
pub fn ports_only(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut t = Toks::new(text);
    let g = Groups::default();
    let both = [proto::TCP, proto::UDP];
    let r = port_op(&mut t, &both, &g, &mut Vec::new(), &mut Vec::new()).map_err(|e| e.1)?;
    if let Some(x) = t.next() {
        return Err(format!("unexpected {x:?}"));
    }
    r.ok_or_else(|| "not a port operator".to_string())
}

#[cfg(test)]
mod test {
    use super::*;

    fn v4(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn wildcards_expand_exactly() {
        let r = wildcard_ranges(v4("10.1.0.0"), v4("0.0.255.255")).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].hi, "10.1.255.255".parse::<IpAddr>().unwrap());
        // Non-contiguous: the third octet is free, the fourth fixed.
        let r = wildcard_ranges(v4("10.0.0.1"), v4("0.0.255.0")).unwrap();
        assert_eq!(r.len(), 256);
        assert_eq!(r[1].lo, "10.0.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(r[1].hi, r[1].lo);
        // Host bits inside the wildcard are ignored.
        let r = wildcard_ranges(v4("10.0.0.77"), v4("0.0.0.255")).unwrap();
        assert_eq!(r[0].lo, "10.0.0.0".parse::<IpAddr>().unwrap());
        // Odd addresses of a /24: one free bit above a fixed low bit, 128 ranges.
        let r = wildcard_ranges(v4("10.0.0.1"), v4("0.0.0.254")).unwrap();
        assert_eq!(r.len(), 128);
        assert_eq!(wildcard_ranges(v4("10.0.0.0"), v4("0.255.0.255")).unwrap().len(), 256);
        assert!(wildcard_ranges(v4("10.0.0.0"), v4("0.255.255.0")).is_none());
        assert_eq!(wildcard_ranges(0, u32::MAX).unwrap().len(), 1);
    }

    #[test]
    fn port_complement() {
        assert_eq!(complement(&[(80, 80)]), vec![(0, 79), (81, 65535)]);
        assert_eq!(complement(&[(0, 0), (65535, 65535)]), vec![(1, 65534)]);
    }
}
