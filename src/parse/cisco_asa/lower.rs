//! Lowering a parsed ASA configuration to the model: access lists, the forwarding policy
//! (interface ACLs, global ACL, security levels), NAT and traffic to the device.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr};

use super::{names, port_op, AceLine, Acl, Binding, Config, Group, Iface, NatLine, NetItem, NetMember, Svc, SvcMember, MAX_GROUP_DEPTH};
use crate::diag::{codes, Diags, Provenance, Severity};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, Interface, NatTarget, Rule, Ruleset, Stage, Test,
};
use crate::space::{proto, Ct};

/// Priorities of the bindings (the netfilter-like order of the model: destination NAT, then
/// filtering, then source NAT).
mod prio {
    pub const NAT_DST: i32 = -100;
    pub const POLICY: i32 = 0;
    pub const OUTBOUND: i32 = 10;
    pub const NAT_SRC: i32 = 100;
}

/// Text of the rule that lets replies of permitted sessions through (the ASA is stateful).
const REPLIES: &str = "replies of permitted sessions (stateful firewall)";

/// Static NAT of more addresses than this is not expanded address by address; one rule
/// translates to the first address and is marked unknown.
const MAX_STATIC_EXPANSION: u128 = 256;

/// Addresses with what could not be modelled (FQDNs, undefined objects).
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct AddrSet {
    pub ranges: Vec<AddrRange>,
    pub unknown: Vec<String>,
}

fn v4_all() -> AddrRange {
    AddrRange { lo: IpAddr::V4(0.into()), hi: IpAddr::V4(u32::MAX.into()) }
}

/// Every IPv6 address except the IPv4-mapped block the engine uses for IPv4.
fn v6_all() -> Vec<AddrRange> {
    vec![
        AddrRange { lo: IpAddr::V6(Ipv6Addr::UNSPECIFIED), hi: IpAddr::V6(Ipv6Addr::from(0xfffe_ffff_ffffu128)) },
        AddrRange { lo: IpAddr::V6(Ipv6Addr::from(0x1_0000_0000_0000u128)), hi: IpAddr::V6(Ipv6Addr::from(u128::MAX)) },
    ]
}

/// Sort ranges and merge those that overlap or touch (within one family), so nested groups
/// that repeat members cost nothing more downstream.
fn merge_ranges(mut v: Vec<AddrRange>) -> Vec<AddrRange> {
    let key = |a: IpAddr| crate::space::addr_to_u128(a);
    v.sort_by_key(|r| (key(r.lo), key(r.hi)));
    let mut out: Vec<AddrRange> = Vec::with_capacity(v.len());
    for r in v {
        if let Some(last) = out.last_mut() {
            if last.hi.is_ipv4() == r.lo.is_ipv4() && key(r.lo) <= key(last.hi).saturating_add(1) {
                if key(r.hi) > key(last.hi) {
                    last.hi = r.hi;
                }
                continue;
            }
        }
        out.push(r);
    }
    out
}

fn addr_count(r: &AddrRange) -> u128 {
    let v = |a: IpAddr| crate::space::addr_to_u128(a);
    v(r.hi).saturating_sub(v(r.lo)).saturating_add(1)
}

fn nth_addr(r: &AddrRange, n: u128) -> IpAddr {
    crate::space::u128_to_addr(crate::space::addr_to_u128(r.lo).saturating_add(n))
}

struct Res<'a> {
    cfg: &'a Config,
    diags: &'a mut Diags,
    net_memo: super::Map<String, AddrSet>,
    svc_memo: super::Map<String, Vec<Svc>>,
    reported: HashSet<(u32, String)>,
}

impl<'a> Res<'a> {
    fn warn(&mut self, code: &'static str, line: u32, text: &str, reason: String) {
        if self.reported.insert((line, reason.clone())) {
            self.diags.push(code, Severity::Warning, line, text, reason);
        }
    }

    fn info(&mut self, code: &'static str, line: u32, text: &str, reason: String) {
        if self.reported.insert((line, reason.clone())) {
            self.diags.push(code, Severity::Info, line, text, reason);
        }
    }

    /// A network object or group by name; `None` if neither exists.
    fn net_named(&mut self, name: &str, depth: usize, stack: &mut Vec<String>) -> Option<AddrSet> {
        if let Some((items, _)) = self.cfg.net_objs.get(name) {
            let mut s = AddrSet::default();
            for it in items {
                match it {
                    NetItem::Range(r) => s.ranges.push(*r),
                    NetItem::Unknown(u) => s.unknown.push(u.clone()),
                }
            }
            if items.is_empty() {
                s.unknown.push(format!("object {name} has no address"));
            }
            return Some(s);
        }
        match self.cfg.groups.get(name) {
            Some((Group::Network(_), _)) => Some(self.net_group(name, depth, stack)),
            _ => None,
        }
    }

    fn net_group(&mut self, name: &str, depth: usize, stack: &mut Vec<String>) -> AddrSet {
        if let Some(s) = self.net_memo.get(name) {
            return s.clone();
        }
        let Some((Group::Network(members), gline)) = self.cfg.groups.get(name) else {
            return AddrSet { ranges: vec![], unknown: vec![format!("{name} is not a network object-group")] };
        };
        let gline = *gline;
        if depth > MAX_GROUP_DEPTH || stack.iter().any(|s| s == name) {
            self.warn(codes::STRUCTURE, gline, &format!("object-group {name}"), format!("object-group {name} contains itself or nests too deep"));
            return AddrSet { ranges: vec![], unknown: vec![format!("object-group {name} nests itself")] };
        }
        stack.push(name.to_string());
        let mut s = AddrSet::default();
        for (m, line) in members.iter() {
            match m {
                NetMember::Item(NetItem::Range(r)) => s.ranges.push(*r),
                NetMember::Item(NetItem::Unknown(u)) => s.unknown.push(u.clone()),
                NetMember::Object(o) => match self.cfg.net_objs.get(o) {
                    Some(_) => {
                        let sub = self.net_named(o, depth + 1, stack).unwrap_or_default();
                        s.ranges.extend(sub.ranges);
                        s.unknown.extend(sub.unknown);
                    }
                    None => {
                        self.warn(codes::UNDEFINED_REFERENCE, *line, &format!("network-object object {o}"), format!("network object {o} is not defined"));
                        s.unknown.push(format!("undefined network object {o}"));
                    }
                },
                NetMember::Group(g) => match self.cfg.groups.get(g) {
                    Some((Group::Network(_), _)) => {
                        let sub = self.net_group(g, depth + 1, stack);
                        s.ranges.extend(sub.ranges);
                        s.unknown.extend(sub.unknown);
                    }
                    _ => {
                        self.warn(codes::UNDEFINED_REFERENCE, *line, &format!("group-object {g}"), format!("network object-group {g} is not defined"));
                        s.unknown.push(format!("undefined object-group {g}"));
                    }
                },
            }
        }
        stack.pop();
        s.ranges = merge_ranges(std::mem::take(&mut s.ranges));
        s.unknown.dedup();
        self.net_memo.insert(name.to_string(), s.clone());
        s
    }

    /// A network reference from a rule (object or group); undefined ones become unknown.
    fn net_ref(&mut self, name: &str, line: u32, text: &str) -> AddrSet {
        if let Some((Group::Other(kind), _)) = self.cfg.groups.get(name) {
            return AddrSet { ranges: vec![], unknown: vec![format!("{kind} object-group {name}")] };
        }
        match self.net_named(name, 0, &mut Vec::new()) {
            Some(s) => s,
            None => {
                self.warn(codes::UNDEFINED_REFERENCE, line, text, format!("network object or object-group {name} is not defined"));
                AddrSet { ranges: vec![], unknown: vec![format!("undefined object {name}")] }
            }
        }
    }

    fn svc_group(&mut self, name: &str, depth: usize, stack: &mut Vec<String>) -> Vec<Svc> {
        if let Some(s) = self.svc_memo.get(name) {
            return s.clone();
        }
        let Some((Group::Service(protos, members), gline)) = self.cfg.groups.get(name) else {
            return vec![Svc { unknown: vec![format!("{name} is not a service object-group")], ..Default::default() }];
        };
        let gline = *gline;
        if depth > MAX_GROUP_DEPTH || stack.iter().any(|s| s == name) {
            self.warn(codes::STRUCTURE, gline, &format!("object-group {name}"), format!("object-group {name} contains itself or nests too deep"));
            return vec![Svc { unknown: vec![format!("object-group {name} nests itself")], ..Default::default() }];
        }
        stack.push(name.to_string());
        let mut out = Vec::new();
        for (m, line) in members.iter() {
            match m {
                SvcMember::Svc(s) => out.push(s.clone()),
                SvcMember::Ports(r) => out.push(Svc { protos: protos.clone(), dport: Some(r.clone()), ..Default::default() }),
                SvcMember::Object(o) => match self.cfg.svc_objs.get(o) {
                    Some((s, _)) => out.push(s.clone()),
                    None => {
                        self.warn(codes::UNDEFINED_REFERENCE, *line, &format!("service-object object {o}"), format!("service object {o} is not defined"));
                        out.push(Svc { unknown: vec![format!("undefined service object {o}")], ..Default::default() });
                    }
                },
                SvcMember::Group(g) => match self.cfg.groups.get(g) {
                    Some((Group::Service(..), _)) => {
                        let sub = self.svc_group(g, depth + 1, stack);
                        // A nested port group inherits nothing: its own protocols hold.
                        out.extend(sub);
                    }
                    _ => {
                        self.warn(codes::UNDEFINED_REFERENCE, *line, &format!("group-object {g}"), format!("service object-group {g} is not defined"));
                        out.push(Svc { unknown: vec![format!("undefined object-group {g}")], ..Default::default() });
                    }
                },
            }
        }
        stack.pop();
        self.svc_memo.insert(name.to_string(), out.clone());
        out
    }

    /// Ports of a port group (`object-group service NAME tcp` with `port-object` lines).
    fn port_group(&mut self, name: &str, depth: usize) -> Option<Vec<(u16, u16)>> {
        let (Group::Service(Some(_), members), _) = self.cfg.groups.get(name)? else { return None };
        if depth > MAX_GROUP_DEPTH {
            return Some(vec![]);
        }
        let mut out = Vec::new();
        for (m, _) in members {
            match m {
                SvcMember::Ports(r) => out.extend(r.iter().copied()),
                SvcMember::Group(g) => out.extend(self.port_group(g, depth + 1).unwrap_or_default()),
                _ => {}
            }
        }
        Some(out)
    }

    fn proto_group(&mut self, name: &str, depth: usize) -> Option<Option<Vec<u8>>> {
        let (Group::Protocol(members, nested), _) = self.cfg.groups.get(name)? else { return None };
        let mut out: Vec<u8> = Vec::new();
        let mut any = false;
        for (p, _) in members {
            match p {
                Some(p) => out.push(*p),
                None => any = true,
            }
        }
        if depth < MAX_GROUP_DEPTH {
            for (g, _) in nested {
                match self.proto_group(g, depth + 1) {
                    Some(Some(v)) => out.extend(v),
                    Some(None) => any = true,
                    None => {}
                }
            }
        }
        Some(if any { None } else { Some(out) })
    }

    fn icmp_group(&mut self, name: &str, depth: usize) -> Option<Vec<u8>> {
        let (Group::Icmp(members, nested), _) = self.cfg.groups.get(name)? else { return None };
        let mut out = members.clone();
        if depth < MAX_GROUP_DEPTH {
            for (g, _) in nested {
                out.extend(self.icmp_group(g, depth + 1).unwrap_or_default());
            }
        }
        Some(out)
    }
}

/// An address operand of an ACL line: `None` is `any` (IPv4 and IPv6).
type Operand = Option<AddrSet>;

/// Parse an address operand at `toks[*i..]`.
fn operand(res: &mut Res, toks: &[&str], i: &mut usize, a: &AceLine, unknown: &mut Vec<String>) -> Result<Operand, String> {
    // Identity-firewall and TrustSec criteria before the address: not modelled.
    loop {
        match toks.get(*i).copied() {
            Some(k @ ("user" | "user-group" | "object-group-user")) => {
                unknown.push(format!("{k} {}", toks.get(*i + 1).copied().unwrap_or("")));
                *i += 2;
            }
            Some(k @ ("security-group" | "object-group-security")) => {
                if k == "security-group" {
                    unknown.push(format!("{k} {} {}", toks.get(*i + 1).copied().unwrap_or(""), toks.get(*i + 2).copied().unwrap_or("")));
                    *i += 3;
                } else {
                    unknown.push(format!("{k} {}", toks.get(*i + 1).copied().unwrap_or("")));
                    *i += 2;
                }
            }
            _ => break,
        }
    }
    let t = *toks.get(*i).ok_or("an address is missing")?;
    let names = &res.cfg.names;
    let r = match t {
        "any" => {
            *i += 1;
            None
        }
        "any4" => {
            *i += 1;
            Some(AddrSet { ranges: vec![v4_all()], unknown: vec![] })
        }
        "any6" => {
            *i += 1;
            Some(AddrSet { ranges: v6_all(), unknown: vec![] })
        }
        "host" => {
            let h = toks.get(*i + 1).ok_or("host needs an address")?;
            let a = super::host(h, names).ok_or_else(|| format!("{h:?} is not an address or name"))?;
            *i += 2;
            Some(AddrSet { ranges: vec![AddrRange::single(a)], unknown: vec![] })
        }
        "object" | "object-group" => {
            let n = toks.get(*i + 1).ok_or("object needs a name")?.to_string();
            *i += 2;
            Some(res.net_ref(&n, a.line, &a.text))
        }
        "interface" => {
            let n = toks.get(*i + 1).ok_or("interface needs a name")?.to_string();
            *i += 2;
            match res.cfg.iface_by_nameif(&n) {
                Some(f) if !f.addrs.is_empty() => Some(AddrSet { ranges: f.addrs.iter().map(|n| AddrRange::single(n.addr())).collect(), unknown: vec![] }),
                Some(_) => Some(AddrSet { ranges: vec![], unknown: vec![format!("address of interface {n}")] }),
                None => {
                    res.warn(codes::UNDEFINED_REFERENCE, a.line, &a.text, format!("no interface has nameif {n}"));
                    Some(AddrSet { ranges: vec![], unknown: vec![format!("undefined interface {n}")] })
                }
            }
        }
        _ if t.contains(':') => {
            let r = super::v6_prefix(t).ok_or_else(|| format!("{t:?} is not an IPv6 prefix"))?;
            *i += 1;
            Some(AddrSet { ranges: vec![r], unknown: vec![] })
        }
        _ => {
            let m = toks.get(*i + 1).ok_or_else(|| format!("{t:?} needs a mask"))?;
            let r = super::net_mask(t, m, names).ok_or_else(|| format!("{t} {m} is not an address and a contiguous mask"))?;
            *i += 2;
            Some(AddrSet { ranges: vec![r], unknown: vec![] })
        }
    };
    Ok(r)
}

/// Ports at `toks[*i..]` if present: an operator or a port group.
fn ports(res: &mut Res, toks: &[&str], i: &mut usize) -> Result<Option<Vec<(u16, u16)>>, String> {
    if let Some(r) = port_op(toks, *i) {
        let (v, used) = r?;
        *i += used;
        return Ok(Some(v));
    }
    if toks.get(*i).copied() == Some("object-group") {
        if let Some(name) = toks.get(*i + 1) {
            if let Some(v) = res.port_group(name, 0) {
                *i += 2;
                return Ok(Some(v));
            }
        }
    }
    Ok(None)
}

const LOG_LEVELS: &[&str] = &["emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging", "disable", "default"];

/// The variants of one operand: (condition, unknown texts). A set with both addresses and
/// unknown members becomes two variants: the known addresses (definite) and anything
/// (possibly), so the rule is exact where it can be and "possibly" elsewhere.
fn addr_variants(op: Operand, src: bool) -> Vec<(Option<Cond>, Vec<String>)> {
    let mk = |r: Vec<AddrRange>| Cond::is(if src { Test::Src(r) } else { Test::Dst(r) });
    match op {
        None => vec![(None, vec![])],
        Some(s) => {
            let mut v = Vec::new();
            if !s.ranges.is_empty() {
                v.push((Some(mk(s.ranges)), vec![]));
            }
            if !s.unknown.is_empty() {
                v.push((None, s.unknown));
            }
            v
        }
    }
}

fn svc_conds(s: &Svc) -> Vec<Cond> {
    let mut c = Vec::new();
    if let Some(p) = &s.protos {
        c.push(Cond::is(Test::Proto(p.clone())));
    }
    if let Some(p) = &s.sport {
        c.push(Cond::is(Test::Sport(p.clone())));
    }
    if let Some(p) = &s.dport {
        c.push(Cond::is(Test::Dport(p.clone())));
    }
    if let Some((ty, code)) = s.icmp {
        c.push(Cond::is(Test::Icmp { ty: Some(ty), code: code.map(|c| (c, c)) }));
    }
    c
}

/// The ASA's predefined service objects, usable as `object NAME` without a definition: a
/// protocol (`ospf`), `tcp-PORT`, `udp-PORT`, `tcp-udp-PORT` with a port literal (`tcp-www`),
/// `icmp-TYPE` and `icmp6-TYPE` with an ICMP type literal (`icmp-echo`).
fn predefined_service(name: &str) -> Option<Svc> {
    if let Some(p) = names::protocol(name).filter(|_| name.parse::<u8>().is_err()) {
        return Some(Svc { protos: Some(vec![p]), ..Default::default() });
    }
    let with_port = |protos: Vec<u8>, port: &str| {
        let p = names::port(port).filter(|_| port.parse::<u16>().is_err())?;
        Some(Svc { protos: Some(protos), dport: Some(vec![(p, p)]), ..Default::default() })
    };
    if let Some(x) = name.strip_prefix("tcp-udp-") {
        return with_port(vec![proto::TCP, proto::UDP], x);
    }
    if let Some(x) = name.strip_prefix("tcp-") {
        return with_port(vec![proto::TCP], x);
    }
    if let Some(x) = name.strip_prefix("udp-") {
        return with_port(vec![proto::UDP], x);
    }
    if let Some(x) = name.strip_prefix("icmp6-") {
        let t = names::icmp_type(x, true).filter(|_| x.parse::<u8>().is_err())?;
        return Some(Svc { protos: Some(vec![proto::ICMPV6]), icmp: Some((t, None)), ..Default::default() });
    }
    if let Some(x) = name.strip_prefix("icmp-") {
        let t = names::icmp_type(x, false).filter(|_| x.parse::<u8>().is_err())?;
        return Some(Svc { protos: Some(vec![proto::ICMP]), icmp: Some((t, None)), ..Default::default() });
    }
    None
}

/// Lower one ACL line to rules (several when its services or unknown members need it).
fn lower_ace(res: &mut Res, a: &AceLine) -> Vec<Rule> {
    let all: Vec<&str> = super::words(&a.text).collect();
    let toks: &[&str] = all.get(a.skip..).unwrap_or(&[]);
    let prov = res.cfg.prov(a.line, &a.text);
    let action = match toks.first().copied() {
        Some("permit") => Action::Accept,
        Some("deny") => Action::Drop,
        _ => {
            res.warn(codes::BAD_VALUE, a.line, &a.text, "expected permit or deny".into());
            return vec![];
        }
    };
    let fail = |res: &mut Res, e: String| {
        res.warn(codes::BAD_VALUE, a.line, &a.text, e);
        // A line that cannot be read possibly matches anything: its action is kept but the
        // rule is unknown, so answers depending on it are "possibly".
        vec![Rule { conds: vec![], unknown: vec![format!("unreadable ACL line: {}", a.text.trim())], action: action.clone(), prov: prov.clone() }]
    };
    let mut i = 1;
    let mut unknown: Vec<String> = Vec::new();
    if a.standard {
        let dst = match operand(res, toks, &mut i, a, &mut unknown) {
            Ok(o) => o,
            Err(e) => return fail(res, e),
        };
        if i < toks.len() {
            return fail(res, format!("unexpected {:?}", toks[i]));
        }
        // Standard ACLs match the destination address (ASA command reference, `access-list
        // standard`).
        return addr_variants(dst, false)
            .into_iter()
            .map(|(c, u)| Rule { conds: c.into_iter().collect(), unknown: u, action: action.clone(), prov: prov.clone() })
            .collect();
    }
    // Protocol.
    let Some(pt) = toks.get(i).copied() else { return fail(res, "a protocol is missing".into()) };
    let mut svcs: Vec<Svc>;
    let mut port_capable = false;
    let mut icmp: Option<bool> = None;
    match pt {
        "object-group" => {
            let n = toks.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
            i += 2;
            match res.cfg.groups.get(&n).map(|g| &g.0) {
                Some(Group::Protocol(..)) => {
                    let p = res.proto_group(&n, 0).unwrap_or(None);
                    port_capable = p.as_deref().is_some_and(|v| !v.is_empty() && v.iter().all(|x| proto::has_ports(*x)));
                    svcs = vec![Svc { protos: p, ..Default::default() }];
                }
                Some(Group::Service(..)) => svcs = res.svc_group(&n, 0, &mut Vec::new()),
                _ => {
                    res.warn(codes::UNDEFINED_REFERENCE, a.line, &a.text, format!("protocol or service object-group {n} is not defined"));
                    svcs = vec![Svc { unknown: vec![format!("undefined object-group {n}")], ..Default::default() }];
                }
            }
        }
        "object" => {
            let n = toks.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
            i += 2;
            svcs = match res.cfg.svc_objs.get(&n) {
                Some((s, _)) => vec![s.clone()],
                None if predefined_service(&n).is_some() => predefined_service(&n).into_iter().collect(),
                None => {
                    res.warn(codes::UNDEFINED_REFERENCE, a.line, &a.text, format!("service object {n} is not defined"));
                    vec![Svc { unknown: vec![format!("undefined service object {n}")], ..Default::default() }]
                }
            };
        }
        "ip" => {
            i += 1;
            svcs = vec![Svc::default()];
        }
        p => match names::protocol(p) {
            Some(n) => {
                i += 1;
                port_capable = proto::has_ports(n);
                if n == proto::ICMP || n == proto::ICMPV6 {
                    icmp = Some(n == proto::ICMPV6);
                }
                svcs = vec![Svc { protos: Some(vec![n]), ..Default::default() }];
            }
            None => return fail(res, format!("{p:?} is not a protocol")),
        },
    }
    let src = match operand(res, toks, &mut i, a, &mut unknown) {
        Ok(o) => o,
        Err(e) => return fail(res, e),
    };
    let mut sport = None;
    if port_capable {
        match ports(res, toks, &mut i) {
            Ok(p) => sport = p,
            Err(e) => return fail(res, e),
        }
    }
    let dst = match operand(res, toks, &mut i, a, &mut unknown) {
        Ok(o) => o,
        Err(e) => return fail(res, e),
    };
    let mut dport = None;
    let mut icmp_types: Option<Vec<(u8, Option<u8>)>> = None;
    if port_capable {
        match ports(res, toks, &mut i) {
            Ok(p) => dport = p,
            Err(e) => return fail(res, e),
        }
    } else if let Some(v6) = icmp {
        match toks.get(i).copied() {
            Some("object-group") => {
                let n = toks.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
                match res.icmp_group(&n, 0) {
                    Some(v) => {
                        icmp_types = Some(v.into_iter().map(|t| (t, None)).collect());
                        i += 2;
                    }
                    None => {
                        res.warn(codes::UNDEFINED_REFERENCE, a.line, &a.text, format!("icmp-type object-group {n} is not defined"));
                        unknown.push(format!("undefined object-group {n}"));
                        i += 2;
                    }
                }
            }
            Some(t) if !matches!(t, "log" | "time-range" | "inactive") => {
                if let Some(ty) = names::icmp_type(t, v6) {
                    i += 1;
                    let code = toks.get(i).and_then(|c| c.parse::<u8>().ok());
                    if code.is_some() {
                        i += 1;
                    }
                    icmp_types = Some(vec![(ty, code)]);
                }
            }
            _ => {}
        }
    }
    // Options.
    let mut inactive = false;
    while i < toks.len() {
        match toks[i] {
            "log" => {
                i += 1;
                if toks.get(i).is_some_and(|t| LOG_LEVELS.contains(t) || t.parse::<u8>().is_ok_and(|n| n <= 7)) {
                    i += 1;
                }
                if toks.get(i).copied() == Some("interval") {
                    i += 2;
                }
            }
            "time-range" => {
                let n = toks.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
                unknown.push(format!("time-range {n} (the rule applies only at some times)"));
                i += 2;
            }
            "inactive" => {
                inactive = true;
                i += 1;
            }
            t => {
                unknown.push(t.to_string());
                i += 1;
            }
        }
    }
    if inactive {
        return vec![];
    }
    for s in &mut svcs {
        if sport.is_some() {
            s.sport = sport.clone();
        }
        if dport.is_some() {
            s.dport = dport.clone();
        }
    }
    if let Some(types) = icmp_types {
        let base = svcs.first().cloned().unwrap_or_default();
        svcs = types.into_iter().map(|(t, c)| Svc { icmp: Some((t, c)), ..base.clone() }).collect();
    }
    // The address variants are built once per line, not once per service.
    let src_vs = addr_variants(src, true);
    let dst_vs = addr_variants(dst, false);
    let mut rules = Vec::with_capacity(svcs.len() * src_vs.len() * dst_vs.len());
    for s in &svcs {
        for (sc, su) in &src_vs {
            for (dc, du) in &dst_vs {
                let mut conds = svc_conds(s);
                conds.extend(sc.clone());
                conds.extend(dc.clone());
                let mut unk = unknown.clone();
                unk.extend(s.unknown.iter().cloned());
                unk.extend(su.iter().cloned());
                unk.extend(du.iter().cloned());
                rules.push(Rule { conds, unknown: unk, action: action.clone(), prov: prov.clone() });
            }
        }
    }
    if rules.iter().any(|r| !r.unknown.is_empty()) {
        let what: Vec<String> = rules.iter().flat_map(|r| r.unknown.iter().cloned()).collect::<Vec<_>>();
        let mut uniq: Vec<String> = Vec::new();
        for w in what {
            if !uniq.contains(&w) {
                uniq.push(w);
            }
        }
        res.warn(codes::UNMODELLED_MATCH, a.line, &a.text, format!("not modelled: {}; the rule possibly matches", uniq.join(", ")));
    }
    rules
}

fn acl_ruleset(res: &mut Res, acl: &Acl, implicit_deny: bool) -> Ruleset {
    let mut rules = Vec::new();
    for a in &acl.aces {
        rules.extend(lower_ace(res, a));
    }
    let header = res.cfg.prov(acl.line, &acl.text);
    if implicit_deny {
        rules.push(Rule {
            conds: vec![],
            unknown: vec![],
            action: Action::Drop,
            prov: Provenance { text: format!("implicit deny at the end of ACL {}", acl.name), ..header.clone() },
        });
    }
    Ruleset { name: acl.name.clone(), table: "acl".into(), family: Family::Any, default: None, default_prov: header, rules }
}

fn replies_rule() -> Rule {
    Rule {
        conds: vec![Cond::is(Test::CtState(vec![Ct::ESTABLISHED, Ct::RELATED]))],
        unknown: vec![],
        action: Action::Accept,
        prov: Provenance::builtin(REPLIES),
    }
}

/// Replies through the device. ICMP is tracked only with `inspect icmp`: "the ASA out of the
/// box does not inspect ICMP" (the default `global_policy` has no `inspect icmp`; ASA firewall
/// configuration guide, "Inspection of Basic Internet Protocols", ICMP Inspection), so without
/// it an echo reply is a packet like any other, which the access lists or security levels
/// decide.
fn forward_replies_rule(cfg: &Config) -> Rule {
    let mut r = replies_rule();
    if !cfg.inspect_icmp {
        r.conds.push(Cond::not(Test::Proto(vec![proto::ICMP])));
        r.prov = Provenance::builtin(format!("{REPLIES}; ICMP is not inspected (no inspect icmp)"));
    }
    r
}

/// The interface of a `nameif`, or a diagnostic.
fn phys_of(res: &mut Res, nameif: &str, line: u32, text: &str) -> Option<String> {
    match res.cfg.iface_by_nameif(nameif) {
        Some(f) => Some(f.phys.clone()),
        None => {
            res.warn(codes::UNDEFINED_REFERENCE, line, text, format!("no interface has nameif {nameif}"));
            None
        }
    }
}

fn level_line(f: &Iface) -> u32 {
    f.level.map_or(f.nameif_line, |(_, l)| l)
}

/// Lower everything: the firewall and the interfaces.
pub(super) fn lower(cfg: &Config, diags: &mut Diags) -> (Firewall, Vec<Interface>) {
    let mut res = Res { cfg, diags, net_memo: super::Map::default(), svc_memo: super::Map::default(), reported: HashSet::new() };
    let mut fw = Firewall { stateful: true, ..Default::default() };

    // Access lists and where they are bound. A later access-group for the same interface and
    // direction replaces an earlier one, as on the ASA.
    let mut inbound: Vec<(String, usize)> = Vec::new(); // (nameif, index into groups_bound)
    let mut outbound: Vec<(String, usize)> = Vec::new();
    let mut control: Vec<(String, usize)> = Vec::new();
    let mut global: Option<usize> = None;
    for (k, g) in cfg.groups_bound.iter().enumerate() {
        let list = match &g.bind {
            Binding::In(n) => Some((&mut inbound, n)),
            Binding::Out(n) => Some((&mut outbound, n)),
            Binding::ControlPlane(n) => Some((&mut control, n)),
            Binding::Global => {
                global = Some(k);
                None
            }
        };
        if let Some((list, n)) = list {
            list.retain(|(x, _)| x != n);
            list.push((n.clone(), k));
        }
    }
    let has_global = global.is_some();
    // With a global ACL, an interface ACL has no implicit deny of its own: "interface access
    // rules, then global access rules, then the implicit deny" (Cisco ASA firewall
    // configuration guide, "Access Rules", Global Access Rules).
    let inbound_acls: HashSet<&str> = inbound.iter().filter_map(|(_, k)| cfg.groups_bound.get(*k)).map(|g| g.acl.as_str()).collect();
    let mut acl_index: HashMap<String, usize> = HashMap::new();
    for acl in &cfg.acls {
        let deny = !(has_global && inbound_acls.contains(acl.name.as_str()));
        let rs = acl_ruleset(&mut res, acl, deny);
        acl_index.insert(acl.name.clone(), fw.rulesets.len());
        fw.rulesets.push(rs);
    }
    let bound_rule = |res: &mut Res, k: usize, cond: Option<Cond>, goto: bool, acl_index: &HashMap<String, usize>| -> Option<Rule> {
        let g = cfg.groups_bound.get(k)?;
        let prov = cfg.prov(g.line, &g.text);
        let action = match acl_index.get(&g.acl) {
            Some(&ix) => {
                if goto {
                    Action::Goto(ix)
                } else {
                    Action::Jump(ix)
                }
            }
            None => {
                res.warn(codes::UNDEFINED_REFERENCE, g.line, &g.text, format!("access list {} is not defined", g.acl));
                Action::Unknown(format!("undefined access list {}", g.acl))
            }
        };
        Some(Rule { conds: cond.into_iter().collect(), unknown: vec![], action, prov })
    };

    let named: Vec<&Iface> = cfg.ifaces.iter().filter(|f| f.nameif.is_some()).collect();
    if named.is_empty() {
        // Access lists alone (a fragment, or lists generated for pasting): they are read and
        // can be tested one by one, but nothing attaches them to a packet path.
        if !cfg.acls.is_empty() || !cfg.groups_bound.is_empty() {
            res.diags.push(
                codes::STRUCTURE,
                Severity::Info,
                0,
                "",
                "no interface has a nameif: the access lists are read but not attached to any packet path (evaluate them with portolan test --filter NAME)",
            );
        }
        for g in &cfg.groups_bound {
            res.warn(codes::UNDEFINED_REFERENCE, g.line, &g.text, "no interface is configured in this file: the binding is not used".into());
        }
        nat(&mut res, &mut fw);
        return (fw, vec![]);
    }

    // The forwarding policy.
    let mut rules = vec![forward_replies_rule(cfg)];
    for f in &named {
        if let Some(l) = f.mgmt_only {
            let p = cfg.prov(l, "management-only");
            rules.push(Rule { conds: vec![Cond::is(Test::InIface(f.phys.clone()))], unknown: vec![], action: Action::Drop, prov: p.clone() });
            rules.push(Rule { conds: vec![Cond::is(Test::OutIface(f.phys.clone()))], unknown: vec![], action: Action::Drop, prov: p });
        }
    }
    // "By default, traffic cannot enter and exit the same interface": without `same-security-
    // traffic permit intra-interface` such traffic is dropped whatever the access lists say
    // (ASA configuration guide, "Interface Basics", Allow Same Security Level Communication).
    if cfg.same_intra.is_none() {
        for f in &named {
            let n = f.nameif.as_deref().unwrap_or("");
            rules.push(Rule {
                conds: vec![Cond::is(Test::InIface(f.phys.clone())), Cond::is(Test::OutIface(f.phys.clone()))],
                unknown: vec![],
                action: Action::Drop,
                prov: Provenance::builtin(format!("ASA default: traffic entering and leaving the same interface ({n}) is denied (no same-security-traffic permit intra-interface)")),
            });
        }
    }
    let mut with_in: HashSet<String> = HashSet::new();
    for (n, k) in &inbound {
        let line = cfg.groups_bound.get(*k).map_or(0, |g| g.line);
        let text = cfg.groups_bound.get(*k).map(|g| g.text.clone()).unwrap_or_default();
        let Some(phys) = phys_of(&mut res, n, line, &text) else { continue };
        with_in.insert(n.clone());
        if let Some(r) = bound_rule(&mut res, *k, Some(Cond::is(Test::InIface(phys))), !has_global, &acl_index) {
            rules.push(r);
        }
    }
    if let Some(k) = global {
        if let Some(r) = bound_rule(&mut res, k, None, true, &acl_index) {
            rules.push(r);
        }
    } else {
        // ASA default when no access list is bound to the input interface (Cisco ASA
        // configuration guide, "Interface Basics", Security Levels: "Network access: by
        // default, there is an implicit permit from a higher security interface to a lower
        // security interface"; traffic from lower to higher, and between interfaces of the same
        // level, is denied unless `same-security-traffic permit inter-interface` (or
        // `intra-interface` for the same interface) is configured).
        // One ruleset per security level in use ("security-level L": the output interfaces a
        // packet from level L may not reach, then accept), entered from the input interface:
        // linear in the number of interfaces, whatever their number.
        let mut level_sets: HashMap<u8, usize> = HashMap::new();
        for a in named.iter().filter(|f| !with_in.contains(f.nameif.as_deref().unwrap_or(""))) {
            let an = a.nameif.as_deref().unwrap_or("");
            let la = a.level();
            if let Some((l, t)) = &cfg.same_intra {
                rules.push(Rule {
                    conds: vec![Cond::is(Test::InIface(a.phys.clone())), Cond::is(Test::OutIface(a.phys.clone()))],
                    unknown: vec![],
                    action: Action::Accept,
                    prov: cfg.prov(*l, t),
                });
            }
            let ix = match level_sets.get(&la) {
                Some(&ix) => ix,
                None => {
                    let mut lr = Vec::new();
                    for b in &named {
                        let (bn, lb) = (b.nameif.as_deref().unwrap_or(""), b.level());
                        let out = vec![Cond::is(Test::OutIface(b.phys.clone()))];
                        if lb > la {
                            lr.push(Rule {
                                conds: out,
                                unknown: vec![],
                                action: Action::Drop,
                                prov: Provenance::builtin(format!("ASA default: security level {la} to {bn} ({lb}) is lower to higher, denied without an ACL on the input interface")),
                            });
                        } else if lb == la {
                            let (action, prov) = match &cfg.same_inter {
                                Some((l, t)) => (Action::Accept, cfg.prov(*l, t)),
                                None => (Action::Drop, Provenance::builtin(format!("ASA default: {bn} has the same security level {la} and same-security-traffic permit inter-interface is not set"))),
                            };
                            lr.push(Rule { conds: out, unknown: vec![], action, prov });
                        }
                    }
                    lr.push(Rule {
                        conds: vec![],
                        unknown: vec![],
                        action: Action::Accept,
                        prov: Provenance::builtin(format!("ASA default: security level {la} to a lower level is permitted without an ACL")),
                    });
                    let ix = fw.rulesets.len();
                    fw.rulesets.push(Ruleset {
                        name: format!("security-level {la}"),
                        table: "policy".into(),
                        family: Family::Any,
                        default: None,
                        default_prov: Provenance::builtin(format!("ASA security level {la}")),
                        rules: lr,
                    });
                    level_sets.insert(la, ix);
                    ix
                }
            };
            let text = if a.level.is_some() { format!("security-level {la}") } else { format!("nameif {an}") };
            rules.push(Rule { conds: vec![Cond::is(Test::InIface(a.phys.clone()))], unknown: vec![], action: Action::Goto(ix), prov: cfg.prov(level_line(a), &text) });
        }
    }
    let policy = Ruleset {
        name: "access-policy".into(),
        table: "policy".into(),
        family: Family::Any,
        default: Some(Action::Drop),
        default_prov: Provenance::builtin("ASA: traffic no access rule or security level permits is denied"),
        rules,
    };
    let pi = fw.rulesets.len();
    fw.rulesets.push(policy);
    fw.hooks.push(HookBinding { hook: Hook::Forward, stage: Stage::Filter, priority: prio::POLICY, ruleset: pi, family: Family::Any });

    if !outbound.is_empty() {
        let mut rules = vec![forward_replies_rule(cfg)];
        for (n, k) in &outbound {
            let line = cfg.groups_bound.get(*k).map_or(0, |g| g.line);
            let text = cfg.groups_bound.get(*k).map(|g| g.text.clone()).unwrap_or_default();
            let Some(phys) = phys_of(&mut res, n, line, &text) else { continue };
            if let Some(r) = bound_rule(&mut res, *k, Some(Cond::is(Test::OutIface(phys))), true, &acl_index) {
                rules.push(r);
            }
        }
        let oi = fw.rulesets.len();
        fw.rulesets.push(Ruleset {
            name: "outbound-acls".into(),
            table: "policy".into(),
            family: Family::Any,
            default: Some(Action::Accept),
            default_prov: Provenance::builtin("no outbound access list on the output interface"),
            rules,
        });
        fw.hooks.push(HookBinding { hook: Hook::Forward, stage: Stage::Filter, priority: prio::OUTBOUND, ruleset: oi, family: Family::Any });
    }

    to_device(&mut res, &mut fw, &control, &acl_index);
    nat(&mut res, &mut fw);

    let interfaces = named
        .iter()
        .map(|f| {
            let mut i = Interface::new(f.phys.clone(), cfg.prov(f.line, &format!("interface {}", f.phys)));
            i.addresses = f.addrs.clone();
            i.up = !f.shutdown;
            i.zone = f.nameif.clone();
            i.external = f.level() == 0;
            i
        })
        .collect();
    (fw, interfaces)
}

/// Traffic to the device: replies, control-plane ACLs, `ssh`/`telnet`/`http` lines, ICMP
/// rules, and the rest unknown.
fn to_device(res: &mut Res, fw: &mut Firewall, control: &[(String, usize)], acl_index: &HashMap<String, usize>) {
    let cfg = res.cfg;
    let mut rules = vec![replies_rule()];
    for (n, k) in control {
        let Some(g) = cfg.groups_bound.get(*k) else { continue };
        let Some(phys) = phys_of(res, n, g.line, &g.text) else { continue };
        let Some(&ix) = acl_index.get(&g.acl) else {
            res.warn(codes::UNDEFINED_REFERENCE, g.line, &g.text, format!("access list {} is not defined", g.acl));
            continue;
        };
        // A control-plane ACL only denies: what it permits goes on to the management checks.
        let mut copy = fw.rulesets[ix].clone();
        copy.name = format!("{} control-plane", g.acl);
        for r in &mut copy.rules {
            if r.action == Action::Accept {
                r.action = Action::Return;
            }
        }
        let ci = fw.rulesets.len();
        fw.rulesets.push(copy);
        rules.push(Rule { conds: vec![Cond::is(Test::InIface(phys))], unknown: vec![], action: Action::Jump(ci), prov: cfg.prov(g.line, &g.text) });
    }
    let http_port = cfg.http_server.map(|(p, _)| p);
    let own = |f: &Iface| -> Vec<AddrRange> { f.addrs.iter().map(|a| AddrRange::single(a.addr())).collect() };
    for m in &cfg.mgmt {
        let Some(f) = cfg.iface_by_nameif(&m.iface) else {
            res.warn(codes::UNDEFINED_REFERENCE, m.line, &m.text, format!("no interface has nameif {}", m.iface));
            continue;
        };
        let port = match m.service {
            "ssh" => 22,
            "telnet" => 23,
            _ => match http_port {
                Some(p) => p,
                None => {
                    res.info(codes::STRUCTURE, m.line, &m.text, "http server enable is not set: this line opens nothing".into());
                    continue;
                }
            },
        };
        let mut conds = vec![
            Cond::is(Test::InIface(f.phys.clone())),
            Cond::is(Test::Src(m.src.clone())),
            Cond::is(Test::Proto(vec![proto::TCP])),
            Cond::is(Test::Dport(vec![(port, port)])),
        ];
        let addrs = own(f);
        if !addrs.is_empty() {
            conds.push(Cond::is(Test::Dst(addrs)));
        }
        let mut unknown = vec![];
        let lowest = cfg.ifaces.iter().filter(|x| x.nameif.is_some()).map(Iface::level).min().unwrap_or(0);
        if m.service == "telnet" && f.level() == lowest {
            // "You cannot use Telnet to the lowest security interface unless you use Telnet
            // inside a VPN tunnel" (ASA general operations guide, Management Access).
            unknown.push("telnet to the lowest security interface works only inside a VPN tunnel".to_string());
        }
        rules.push(Rule { conds, unknown, action: Action::Accept, prov: cfg.prov(m.line, &m.text) });
    }
    let mut mgmt_ports: Vec<(u16, u16)> = vec![(22, 22), (23, 23)];
    if let Some(p) = http_port {
        if !cfg.webvpn {
            mgmt_ports.push((p, p));
        }
    }
    rules.push(Rule {
        conds: vec![Cond::is(Test::Proto(vec![proto::TCP])), Cond::is(Test::Dport(mgmt_ports))],
        unknown: vec![],
        action: Action::Drop,
        prov: Provenance::builtin("ASA: ssh, telnet and ASDM (http) to the device only from the addresses and interfaces their ssh/telnet/http lines name"),
    });
    // ICMP to the device: "If you do not configure ICMP rules, the ASA allows all ICMP traffic
    // that terminates at an ASA interface ... if you configure any ICMP rule for an interface,
    // an implicit deny ICMP rule is added to the end of the ICMP rule list" (ASA general
    // operations guide, "ICMP Access Rules"); the ASA answers only on the interface a packet
    // enters by ("you cannot ping the far interface").
    for v6 in [false, true] {
        let p = if v6 { proto::ICMPV6 } else { proto::ICMP };
        for f in cfg.ifaces.iter().filter(|f| f.nameif.is_some()) {
            let n = f.nameif.as_deref().unwrap_or("");
            let lines: Vec<_> = cfg.icmp.iter().filter(|l| l.v6 == v6 && l.iface == n).collect();
            let base = vec![Cond::is(Test::InIface(f.phys.clone())), Cond::is(Test::Proto(vec![p]))];
            if lines.is_empty() {
                let mut conds = base.clone();
                let addrs = own(f);
                if !addrs.is_empty() {
                    conds.push(Cond::is(Test::Dst(addrs)));
                }
                rules.push(Rule { conds, unknown: vec![], action: Action::Accept, prov: Provenance::builtin(format!("ASA default: ICMP to the {n} interface is permitted when no icmp rule names it")) });
                continue;
            }
            for l in &lines {
                let mut conds = base.clone();
                if let Some(s) = &l.src {
                    conds.push(Cond::is(Test::Src(s.clone())));
                }
                if let Some(t) = l.ty {
                    conds.push(Cond::is(Test::Icmp { ty: Some(t), code: None }));
                }
                rules.push(Rule { conds, unknown: vec![], action: if l.permit { Action::Accept } else { Action::Drop }, prov: cfg.prov(l.line, &l.text) });
            }
            let first = lines.first().map_or(0, |l| l.line);
            rules.push(Rule { conds: base, unknown: vec![], action: Action::Drop, prov: Provenance { text: format!("implicit deny at the end of the icmp rules of {n}"), ..cfg.prov(first, "") } });
        }
        for l in cfg.icmp.iter().filter(|l| l.v6 == v6) {
            if cfg.iface_by_nameif(&l.iface).is_none() {
                res.warn(codes::UNDEFINED_REFERENCE, l.line, &l.text, format!("no interface has nameif {}", l.iface));
            }
        }
    }
    rules.push(Rule {
        conds: vec![Cond::is(Test::Proto(vec![proto::ICMP, proto::ICMPV6]))],
        unknown: vec![],
        action: Action::Drop,
        prov: Provenance::builtin("ASA: ICMP to an address of another interface than the one it enters by is not answered"),
    });
    rules.push(Rule {
        conds: vec![],
        unknown: vec!["traffic to the device other than ssh, telnet, ASDM and ICMP (VPN, DHCP, routing protocols, SNMP, ...) is not modelled".into()],
        action: Action::Accept,
        prov: Provenance::builtin("ASA: other services of the device itself"),
    });
    let ti = fw.rulesets.len();
    fw.rulesets.push(Ruleset {
        name: "to-the-device".into(),
        table: "policy".into(),
        family: Family::Any,
        default: Some(Action::Drop),
        default_prov: Provenance::builtin("ASA: traffic to the device that no management or ICMP rule permits"),
        rules,
    });
    fw.hooks.push(HookBinding { hook: Hook::Input, stage: Stage::Filter, priority: prio::POLICY, ruleset: ti, family: Family::Any });
}

/// The address side of a NAT statement.
#[derive(Clone, Debug)]
enum Mapped {
    Interface,
    Addrs(AddrSet),
}

/// One NAT statement, parsed.
#[derive(Clone, Debug)]
struct Nat {
    line: u32,
    text: String,
    section: u8,
    /// Object NAT: static (true) or dynamic; sort key within section 2.
    is_static: bool,
    real_if: Option<String>,
    mapped_if: Option<String>,
    real_src: Option<AddrSet>,
    mapped_src: Option<Mapped>,
    /// (mapped destination, real destination) of twice NAT.
    dst: Option<(Mapped, Option<AddrSet>)>,
    /// Object NAT port translation (protocol, real port, mapped port).
    service: Option<(u8, u16, u16)>,
    /// Twice NAT destination port translation (protocol, mapped port, real port).
    dst_service: Option<(u8, u16, u16)>,
    unidirectional: bool,
    unknown: Vec<String>,
    /// Object name (object NAT) for ordering.
    object: String,
}

const NAT_OPTIONS: &[&str] =
    &["dns", "no-proxy-arp", "route-lookup", "net-to-net", "flat", "include-reserve", "round-robin", "block-allocation", "extended"];

fn nat_addr(res: &mut Res, tok: &str, line: u32, text: &str) -> Mapped {
    if tok == "interface" {
        return Mapped::Interface;
    }
    if tok == "any" {
        return Mapped::Addrs(AddrSet { ranges: vec![v4_all()], unknown: vec![] });
    }
    if let Ok(a) = tok.parse::<IpAddr>() {
        return Mapped::Addrs(AddrSet { ranges: vec![AddrRange::single(a)], unknown: vec![] });
    }
    Mapped::Addrs(res.net_ref(tok, line, text))
}

/// A service object naming one protocol and one source or destination port: (protocol,
/// destination?, port).
fn single_port(res: &Res, name: &str) -> Option<(u8, bool, u16)> {
    let svc = match res.cfg.svc_objs.get(name) {
        Some((s, _)) => s.clone(),
        None => predefined_service(name)?,
    };
    let p = match svc.protos.as_deref() {
        Some([p]) if matches!(*p, proto::TCP | proto::UDP) => *p,
        _ => return None,
    };
    match (&svc.sport, &svc.dport) {
        (Some(v), None) if v.len() == 1 && v[0].0 == v[0].1 => Some((p, false, v[0].0)),
        (None, Some(v)) if v.len() == 1 && v[0].0 == v[0].1 => Some((p, true, v[0].0)),
        _ => None,
    }
}

fn parse_nat(res: &mut Res, n: &NatLine) -> Option<Nat> {
    let all: Vec<&str> = super::words(&n.text).collect();
    let toks: &[&str] = &all;
    let mut i = 1;
    let (mut real_if, mut mapped_if) = (None, None);
    if let Some(t) = toks.get(1).filter(|t| t.starts_with('(')) {
        let inner = t.trim_start_matches('(').trim_end_matches(')');
        let (a, b) = inner.split_once(',').unwrap_or((inner, "any"));
        let side = |s: &str| if s == "any" { None } else { Some(s.to_string()) };
        real_if = side(a.trim());
        mapped_if = side(b.trim());
        i = 2;
    }
    let mut nat = Nat {
        line: n.line,
        text: n.text.clone(),
        section: 1,
        is_static: false,
        real_if,
        mapped_if,
        real_src: None,
        mapped_src: None,
        dst: None,
        service: None,
        dst_service: None,
        unidirectional: false,
        unknown: vec![],
        object: n.object.clone().unwrap_or_default(),
    };
    let bad = |res: &mut Res, why: String| {
        res.warn(codes::BAD_VALUE, n.line, &n.text, why);
        None
    };
    if let Some(obj) = &n.object {
        // Object NAT: nat [(real,mapped)] static|dynamic MAPPED [options].
        nat.section = 2;
        nat.real_src = Some(res.net_ref(obj, n.line, &n.text));
        match toks.get(i).copied() {
            Some("static") => nat.is_static = true,
            Some("dynamic") => {}
            _ => return bad(res, "expected nat (REAL,MAPPED) static|dynamic ...".into()),
        }
        i += 1;
        match toks.get(i).copied() {
            Some("pat-pool") => {
                let p = toks.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
                nat.mapped_src = Some(nat_addr(res, &p, n.line, &n.text));
                i += 2;
            }
            Some(t) if !NAT_OPTIONS.contains(&t) && t != "service" => {
                nat.mapped_src = Some(nat_addr(res, t, n.line, &n.text));
                i += 1;
            }
            _ => return bad(res, "the mapped address is missing".into()),
        }
        while let Some(t) = toks.get(i) {
            match *t {
                "interface" => i += 1, // PAT fallback to the interface: the pool is used first.
                "service" => {
                    let p = toks.get(i + 1).and_then(|p| names::protocol(p));
                    let a = toks.get(i + 2).and_then(|p| names::port(p));
                    let b = toks.get(i + 3).and_then(|p| names::port(p));
                    match (p, a, b) {
                        (Some(p), Some(a), Some(b)) => nat.service = Some((p, a, b)),
                        _ => return bad(res, "expected service PROTOCOL REAL-PORT MAPPED-PORT".into()),
                    }
                    i += 4;
                }
                "unidirectional" => {
                    nat.unidirectional = true;
                    i += 1;
                }
                "pat-pool" => i += 2,
                o if NAT_OPTIONS.contains(&o) => i += 1,
                o => {
                    nat.unknown.push(o.to_string());
                    i += 1;
                }
            }
        }
        return Some(nat);
    }
    // Twice NAT: nat [(real,mapped)] [after-auto] [N] source static|dynamic REAL MAPPED
    //   [destination static MAPPED_DST REAL_DST] [service REAL MAPPED] [options] [inactive]
    //   [description ...].
    while let Some(t) = toks.get(i) {
        match *t {
            "after-auto" => {
                nat.section = 3;
                i += 1;
            }
            "line" => i += 2,
            x if x.parse::<u32>().is_ok() => i += 1,
            _ => break,
        }
    }
    if toks.get(i).copied() != Some("source") {
        return bad(res, "expected nat (REAL,MAPPED) source static|dynamic ...".into());
    }
    match toks.get(i + 1).copied() {
        Some("static") => nat.is_static = true,
        Some("dynamic") => {}
        _ => return bad(res, "expected source static|dynamic".into()),
    }
    let (Some(real), Some(mapped)) = (toks.get(i + 2).map(|s| s.to_string()), toks.get(i + 3).map(|s| s.to_string())) else {
        return bad(res, "source needs a real and a mapped address".into());
    };
    nat.real_src = Some(match nat_addr(res, &real, n.line, &n.text) {
        Mapped::Addrs(a) => a,
        Mapped::Interface => return bad(res, "the real source cannot be interface".into()),
    });
    i += 4;
    if mapped == "pat-pool" {
        let p = toks.get(i).map(|s| s.to_string()).unwrap_or_default();
        nat.mapped_src = Some(nat_addr(res, &p, n.line, &n.text));
        i += 1;
    } else {
        nat.mapped_src = Some(nat_addr(res, &mapped, n.line, &n.text));
    }
    while let Some(t) = toks.get(i) {
        match *t {
            "interface" => i += 1,
            "destination" => {
                if toks.get(i + 1).copied() != Some("static") {
                    return bad(res, "expected destination static MAPPED REAL".into());
                }
                let (Some(md), Some(rd)) = (toks.get(i + 2).map(|s| s.to_string()), toks.get(i + 3).map(|s| s.to_string())) else {
                    return bad(res, "destination needs a mapped and a real address".into());
                };
                let m = nat_addr(res, &md, n.line, &n.text);
                let r = match nat_addr(res, &rd, n.line, &n.text) {
                    Mapped::Addrs(a) => Some(a),
                    Mapped::Interface => None,
                };
                nat.dst = Some((m, r));
                i += 4;
            }
            "service" => {
                // `service A B`: A is the real source port or the mapped destination port, B the
                // mapped source port or the real destination port (ASA command reference, `nat`
                // twice NAT: service real_src_mapped_dest_svc_obj mapped_src_real_dest_svc_obj).
                let a = toks.get(i + 1).and_then(|t| single_port(res, t));
                let b = toks.get(i + 2).and_then(|t| single_port(res, t));
                match (a, b) {
                    (Some((p, false, x)), Some((q, false, y))) if p == q => nat.service = Some((p, x, y)),
                    (Some((p, true, x)), Some((q, true, y))) if p == q && nat.dst.is_some() => nat.dst_service = Some((p, x, y)),
                    _ => nat.unknown.push("service port translation of twice NAT".into()),
                }
                i += 3;
            }
            "unidirectional" => {
                nat.unidirectional = true;
                i += 1;
            }
            "inactive" => return None,
            "description" => break,
            o if NAT_OPTIONS.contains(&o) => i += 1,
            o => {
                nat.unknown.push(o.to_string());
                i += 1;
            }
        }
    }
    Some(nat)
}

/// Addresses to match and the one address to translate them to.
type Pairs = Vec<(Vec<AddrRange>, AddrRange)>;

/// Pairs (real addresses, one mapped address) and (mapped addresses, one real address) of a
/// static translation; `approx` when the mapping is not expanded address by address.
fn static_pairs(real: &AddrSet, mapped: &AddrSet) -> (Pairs, Pairs, bool) {
    if let ([r], [m]) = (real.ranges.as_slice(), mapped.ranges.as_slice()) {
        let n = addr_count(r);
        if n == addr_count(m) && n <= MAX_STATIC_EXPANSION {
            let mut fwd = Vec::new();
            let mut rev = Vec::new();
            for k in 0..n {
                let (ra, ma) = (AddrRange::single(nth_addr(r, k)), AddrRange::single(nth_addr(m, k)));
                fwd.push((vec![ra], ma));
                rev.push((vec![ma], ra));
            }
            return (fwd, rev, false);
        }
    }
    let (Some(r0), Some(m0)) = (real.ranges.first(), mapped.ranges.first()) else { return (vec![], vec![], true) };
    (vec![(real.ranges.clone(), AddrRange::single(m0.lo))], vec![(mapped.ranges.clone(), AddrRange::single(r0.lo))], true)
}

fn iface_addrs(cfg: &Config, nameif: Option<&str>) -> Vec<AddrRange> {
    nameif.and_then(|n| cfg.iface_by_nameif(n)).map(|f| f.addrs.iter().map(|a| AddrRange::single(a.addr())).collect()).unwrap_or_default()
}

/// NAT in the ASA's order: section 1 (twice NAT), section 2 (object NAT: static before
/// dynamic, then fewer real addresses first, then lower address, then object name; Cisco ASA
/// firewall configuration guide, "NAT Rule Order"), section 3 (twice NAT `after-auto`).
fn nat(res: &mut Res, fw: &mut Firewall) {
    let cfg = res.cfg;
    let mut all: Vec<Nat> = Vec::new();
    for n in &cfg.nats {
        if super::words(&n.text).any(|t| t == "inactive") {
            continue;
        }
        if let Some(x) = parse_nat(res, n) {
            all.push(x);
        }
    }
    let size = |n: &Nat| n.real_src.as_ref().map_or(0, |s| s.ranges.iter().map(addr_count).fold(0u128, |a, b| a.saturating_add(b)));
    let low = |n: &Nat| n.real_src.as_ref().and_then(|s| s.ranges.first()).map_or(0, |r| crate::space::addr_to_u128(r.lo));
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&all[a], &all[b]);
        x.section.cmp(&y.section).then_with(|| {
            if x.section == 2 {
                (!x.is_static).cmp(&!y.is_static).then(size(x).cmp(&size(y))).then(low(x).cmp(&low(y))).then(x.object.cmp(&y.object))
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    let mut dnat: Vec<Rule> = Vec::new();
    let mut snat: Vec<Rule> = Vec::new();
    for k in order {
        let n = &all[k];
        let prov = cfg.prov(n.line, &n.text);
        let mut unknown = n.unknown.clone();
        let (d0, s0) = (dnat.len(), snat.len());
        let mut iface_cond = |name: &Option<String>, inp: bool, unknown: &mut Vec<String>| -> Option<Cond> {
            let nm = name.as_ref()?;
            match cfg.iface_by_nameif(nm) {
                Some(f) => Some(Cond::is(if inp { Test::InIface(f.phys.clone()) } else { Test::OutIface(f.phys.clone()) })),
                None => {
                    res.warn(codes::UNDEFINED_REFERENCE, n.line, &n.text, format!("no interface has nameif {nm}"));
                    unknown.push(format!("undefined interface {nm}"));
                    None
                }
            }
        };
        let in_real = iface_cond(&n.real_if, true, &mut unknown);
        let out_mapped = iface_cond(&n.mapped_if, false, &mut unknown);
        let in_mapped = iface_cond(&n.mapped_if, true, &mut unknown);
        let out_real = iface_cond(&n.real_if, false, &mut unknown);
        let Some(real) = n.real_src.clone() else { continue };
        if !real.unknown.is_empty() {
            unknown.extend(real.unknown.iter().cloned());
        }
        let mapped = n.mapped_src.clone().unwrap_or(Mapped::Interface);
        if let Mapped::Addrs(m) = &mapped {
            unknown.extend(m.unknown.iter().cloned());
        }
        let (svc_fwd, svc_rev, ports_fwd, ports_rev) = match n.service {
            Some((p, rp, mp)) => (
                vec![Cond::is(Test::Proto(vec![p])), Cond::is(Test::Sport(vec![(rp, rp)]))],
                vec![Cond::is(Test::Proto(vec![p])), Cond::is(Test::Dport(vec![(mp, mp)]))],
                Some((mp, mp)),
                Some((rp, rp)),
            ),
            None => (vec![], vec![], None, None),
        };
        let identity = matches!(&mapped, Mapped::Addrs(m) if m.ranges == real.ranges);
        let mk = |conds: Vec<Cond>, unknown: &Vec<String>, action: Action| Rule { conds, unknown: unknown.clone(), action, prov: prov.clone() };
        let mut base_fwd: Vec<Cond> = in_real.iter().chain(out_mapped.iter()).cloned().collect();
        base_fwd.extend(svc_fwd.clone());
        // Real destination after the destination translation of twice NAT.
        let real_dst: Option<AddrSet> = match &n.dst {
            Some((_, Some(rd))) => Some(rd.clone()),
            Some((_, None)) => Some(AddrSet { ranges: iface_addrs(cfg, n.real_if.as_deref()), unknown: vec![] }),
            None => None,
        };
        if let Some(rd) = &real_dst {
            unknown.extend(rd.unknown.iter().cloned());
        }
        // Forward direction (real side to mapped side): destination first.
        if let Some((md, _)) = &n.dst {
            let md_set = match md {
                Mapped::Interface => AddrSet { ranges: iface_addrs(cfg, n.mapped_if.as_deref()), unknown: vec![] },
                Mapped::Addrs(a) => a.clone(),
            };
            let rd = real_dst.clone().unwrap_or_default();
            let mut conds: Vec<Cond> = in_real.iter().cloned().collect();
            if !real.ranges.is_empty() {
                conds.push(Cond::is(Test::Src(real.ranges.clone())));
            }
            let mut dports = None;
            if let Some((p, mp, rp)) = n.dst_service {
                conds.push(Cond::is(Test::Proto(vec![p])));
                conds.push(Cond::is(Test::Dport(vec![(mp, mp)])));
                dports = Some((rp, rp));
            }
            if md_set.ranges == rd.ranges && n.dst_service.is_some_and(|(_, mp, rp)| mp != rp) {
                let mut c = conds.clone();
                if !md_set.ranges.is_empty() {
                    c.push(Cond::is(Test::Dst(md_set.ranges.clone())));
                }
                dnat.push(mk(c, &unknown, Action::Dnat(NatTarget { addr: None, ports: dports })));
            } else if md_set.ranges == rd.ranges {
                let mut c = conds.clone();
                if !md_set.ranges.is_empty() {
                    c.push(Cond::is(Test::Dst(md_set.ranges.clone())));
                }
                dnat.push(mk(c, &unknown, Action::Accept));
            } else {
                // Pairs (mapped destination, real destination): match the mapped one,
                // translate to the real one.
                let (fwd, _, approx) = static_pairs(&md_set, &rd);
                let mut u = unknown.clone();
                if approx {
                    u.push("destination static NAT of ranges of different sizes".into());
                }
                for (m, r) in fwd {
                    let mut c = conds.clone();
                    c.push(Cond::is(Test::Dst(m)));
                    dnat.push(mk(c, &u, Action::Dnat(NatTarget { addr: Some(r), ports: dports })));
                }
            }
        }
        // Forward direction: source.
        let mut fconds = base_fwd.clone();
        if let Some((p, _, rp)) = n.dst_service {
            fconds.push(Cond::is(Test::Proto(vec![p])));
            fconds.push(Cond::is(Test::Dport(vec![(rp, rp)])));
        }
        if let Some(rd) = &real_dst {
            if !rd.ranges.is_empty() {
                fconds.push(Cond::is(Test::Dst(rd.ranges.clone())));
            }
        }
        if identity {
            let mut c = fconds.clone();
            if !real.ranges.is_empty() {
                c.push(Cond::is(Test::Src(real.ranges.clone())));
            }
            snat.push(mk(c, &unknown, Action::Accept));
        } else {
            match &mapped {
                Mapped::Interface => {
                    let mut c = fconds.clone();
                    if !real.ranges.is_empty() {
                        c.push(Cond::is(Test::Src(real.ranges.clone())));
                    }
                    let mut u = unknown.clone();
                    if n.mapped_if.is_none() {
                        u.push("interface PAT with the mapped interface any".into());
                    }
                    snat.push(mk(c, &u, Action::Masquerade(ports_fwd)));
                }
                Mapped::Addrs(m) if n.is_static => {
                    let (fwd, _, approx) = static_pairs(&real, m);
                    let mut u = unknown.clone();
                    if approx {
                        u.push("static NAT between ranges of different sizes".into());
                    }
                    for (r, t) in fwd {
                        let mut c = fconds.clone();
                        c.push(Cond::is(Test::Src(r)));
                        snat.push(mk(c, &u, Action::Snat(NatTarget { addr: Some(t), ports: ports_fwd })));
                    }
                }
                Mapped::Addrs(m) => {
                    let mut c = fconds.clone();
                    if !real.ranges.is_empty() {
                        c.push(Cond::is(Test::Src(real.ranges.clone())));
                    }
                    match m.ranges.first() {
                        Some(r) => snat.push(mk(c, &unknown, Action::Snat(NatTarget { addr: Some(*r), ports: None }))),
                        None => {
                            let mut u = unknown.clone();
                            u.push("mapped pool without addresses".into());
                            snat.push(mk(c, &u, Action::Accept));
                        }
                    }
                }
            }
        }
        // Reverse direction of static NAT (mapped side to real side).
        if n.is_static && !n.unidirectional {
            let mapped_set = match &mapped {
                Mapped::Interface => AddrSet { ranges: iface_addrs(cfg, n.mapped_if.as_deref()), unknown: vec![] },
                Mapped::Addrs(m) => m.clone(),
            };
            let mut rconds: Vec<Cond> = in_mapped.iter().cloned().collect();
            rconds.extend(svc_rev.clone());
            // Connections the real destination opens keep its real port as their source port.
            let rev_dst_svc: Vec<Cond> = match n.dst_service {
                Some((p, _, rp)) => vec![Cond::is(Test::Proto(vec![p])), Cond::is(Test::Sport(vec![(rp, rp)]))],
                None => vec![],
            };
            rconds.extend(rev_dst_svc.clone());
            if let Some(rd) = &real_dst {
                if !rd.ranges.is_empty() {
                    rconds.push(Cond::is(Test::Src(rd.ranges.clone())));
                }
            }
            let mut u = unknown.clone();
            if mapped_set.ranges.is_empty() {
                u.push("the mapped interface has no configured address".into());
                rconds.push(Cond::is(Test::DstLocal));
                if let Some(r) = real.ranges.first() {
                    dnat.push(mk(rconds.clone(), &u, Action::Dnat(NatTarget { addr: Some(AddrRange::single(r.lo)), ports: ports_rev })));
                }
            } else if identity {
                let mut c = rconds.clone();
                c.push(Cond::is(Test::Dst(mapped_set.ranges.clone())));
                dnat.push(mk(c, &u, Action::Accept));
            } else {
                let (_, rev, approx) = static_pairs(&real, &mapped_set);
                if approx {
                    u.push("static NAT between ranges of different sizes".into());
                }
                for (m, r) in rev {
                    let mut c = rconds.clone();
                    c.push(Cond::is(Test::Dst(m)));
                    dnat.push(mk(c, &u, Action::Dnat(NatTarget { addr: Some(r), ports: ports_rev })));
                }
            }
            // The reverse of a destination translation: connections the real destination
            // opens toward the real source appear to come from the mapped destination.
            if let (Some((md, _)), Some(rd)) = (&n.dst, &real_dst) {
                let md_set = match md {
                    Mapped::Interface => AddrSet { ranges: iface_addrs(cfg, n.mapped_if.as_deref()), unknown: vec![] },
                    Mapped::Addrs(a) => a.clone(),
                };
                let mut c: Vec<Cond> = out_real.iter().cloned().collect();
                if !real.ranges.is_empty() {
                    c.push(Cond::is(Test::Dst(real.ranges.clone())));
                }
                c.extend(rev_dst_svc.clone());
                let sports = n.dst_service.map(|(_, mp, _)| (mp, mp));
                if md_set.ranges == rd.ranges && n.dst_service.is_some_and(|(_, mp, rp)| mp != rp) {
                    let mut c2 = c.clone();
                    c2.push(Cond::is(Test::Src(rd.ranges.clone())));
                    snat.push(mk(c2, &unknown, Action::Snat(NatTarget { addr: None, ports: sports })));
                } else if md_set.ranges == rd.ranges {
                    let mut c2 = c.clone();
                    c2.push(Cond::is(Test::Src(rd.ranges.clone())));
                    snat.push(mk(c2, &unknown, Action::Accept));
                } else {
                    let (fwd, _, approx) = static_pairs(rd, &md_set);
                    let mut u = unknown.clone();
                    if approx {
                        u.push("destination static NAT of ranges of different sizes".into());
                    }
                    for (r, m) in fwd {
                        let mut c2 = c.clone();
                        c2.push(Cond::is(Test::Src(r)));
                        snat.push(mk(c2, &u, Action::Snat(NatTarget { addr: Some(m), ports: sports })));
                    }
                }
            }
        }
        let mut what: Vec<String> = Vec::new();
        for r in dnat[d0..].iter().chain(snat[s0..].iter()) {
            for u in &r.unknown {
                if !what.contains(u) {
                    what.push(u.clone());
                }
            }
        }
        if !what.is_empty() {
            res.warn(codes::UNMODELLED_MATCH, n.line, &n.text, format!("not modelled: {}; the translation possibly applies", what.join(", ")));
        }
    }
    if !dnat.is_empty() {
        let i = fw.rulesets.len();
        fw.rulesets.push(Ruleset {
            name: "destination-nat".into(),
            table: "nat".into(),
            family: Family::Any,
            default: Some(Action::Accept),
            default_prov: Provenance::builtin("no NAT rule translates the destination"),
            rules: dnat,
        });
        fw.hooks.push(HookBinding { hook: Hook::Prerouting, stage: Stage::DstNat, priority: prio::NAT_DST, ruleset: i, family: Family::Any });
    }
    if !snat.is_empty() {
        let i = fw.rulesets.len();
        fw.rulesets.push(Ruleset {
            name: "source-nat".into(),
            table: "nat".into(),
            family: Family::Any,
            default: Some(Action::Accept),
            default_prov: Provenance::builtin("no NAT rule translates the source"),
            rules: snat,
        });
        fw.hooks.push(HookBinding { hook: Hook::Postrouting, stage: Stage::SrcNat, priority: prio::NAT_SRC, ruleset: i, family: Family::Any });
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn r(a: &str, b: &str) -> AddrRange {
        AddrRange { lo: a.parse().unwrap(), hi: b.parse().unwrap() }
    }

    #[test]
    fn ranges_merge_within_a_family() {
        let v = merge_ranges(vec![r("10.0.0.5", "10.0.0.9"), r("10.0.0.0", "10.0.0.4"), r("10.0.0.7", "10.0.0.20"), r("::", "::5"), r("10.0.1.0", "10.0.1.0")]);
        assert_eq!(v, vec![r("::", "::5"), r("10.0.0.0", "10.0.0.20"), r("10.0.1.0", "10.0.1.0")]);
        // The last IPv4 address and the next IPv6 value are not merged into one range.
        let v = merge_ranges(vec![v4_all(), r("::1:0:0:0", "::1:0:0:5")]);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn predefined_services() {
        assert_eq!(predefined_service("tcp-www").and_then(|s| s.dport), Some(vec![(80, 80)]));
        assert_eq!(predefined_service("tcp-udp-domain").and_then(|s| s.protos), Some(vec![6, 17]));
        assert_eq!(predefined_service("icmp-echo").and_then(|s| s.icmp), Some((8, None)));
        assert_eq!(predefined_service("icmp6-echo").and_then(|s| s.icmp), Some((128, None)));
        assert_eq!(predefined_service("ospf").and_then(|s| s.protos), Some(vec![89]));
        assert!(predefined_service("tcp-12").is_none());
        assert!(predefined_service("web").is_none());
    }
}
