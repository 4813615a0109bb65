//! Lowering the FortiOS tables into the model: interfaces, static routes, and the firewall
//! (policy lists, VIPs, source NAT, administrative access).

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::objects::{self, SvcMatch};
use super::tree::{Settings, Stmt};
use super::{Cx, Entry, Table};
use crate::diag::{codes, Provenance, Severity};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, Interface, NatTarget, Route, RouteKind, Rule, Ruleset,
    Stage, Test,
};
use crate::space::Ct;

/// FortiOS drops every session that no firewall policy accepts: the "implicit deny" policy (ID
/// 0) at the end of the policy list (FortiOS Administration Guide, "Firewall policy":
/// "the implicit deny policy … denies all traffic that does not match any other policy").
pub const IMPLICIT_DENY: &str = "implicit deny: FortiOS drops traffic that matches no firewall policy (policy 0)";

/// Traffic to the FortiGate itself is accepted only for the administrative protocols the
/// incoming interface's `allowaccess` lists (FortiOS Administration Guide, "Interface settings
/// → Administrative access"), plus services configured elsewhere (VPN, routing protocols,
/// DHCP/DNS servers), which are marked unknown.
pub const LOCAL_IN_DENY: &str =
    "traffic to the FortiGate itself that no interface allowaccess permits is dropped (FortiOS local-in default)";

/// A FortiGate tracks sessions: replies of accepted sessions pass whatever the policies say
/// (FortiOS Administration Guide, "Firewall policy": policies are stateful).
pub const REPLIES: &str = "replies of permitted sessions (stateful firewall)";

/// The VDOM an interface belongs to when it names none: "by default, all interfaces belong to
/// the root VDOM" (FortiOS Administration Guide, "Virtual Domains").
pub const DEFAULT_VDOM: &str = "root";

/// Default administrative distance of a static route (`config router static`, `distance`,
/// FortiOS CLI reference: default 10).
pub const STATIC_DISTANCE: u32 = 10;

/// Administrative ports (`config system global`: admin-sport, admin-port, admin-ssh-port,
/// admin-telnet-port; FortiOS CLI reference defaults 443, 80, 22, 23).
const ADMIN_PORTS: [(&str, &str, u16); 4] =
    [("https", "admin-sport", 443), ("http", "admin-port", 80), ("ssh", "admin-ssh-port", 22), ("telnet", "admin-telnet-port", 23)];

/// Other `allowaccess` keywords with fixed ports (FortiOS "FortiGate open ports" reference):
/// SNMP UDP 161, FortiManager (fgfm) TCP 541, CAPWAP UDP 5246-5247, RADIUS accounting UDP 1813.
const FIXED_ACCESS: [(&str, u8, u16, u16); 4] =
    [("snmp", objects::UDP, 161, 161), ("fgfm", objects::TCP, 541, 541), ("capwap", objects::UDP, 5246, 5247), ("radius-acct", objects::UDP, 1813, 1813)];

pub(crate) struct Out {
    pub device: Option<String>,
    pub firewall: Option<Firewall>,
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
}

#[derive(Clone, Debug, Default)]
struct AddrSet {
    ranges: Vec<AddrRange>,
    /// Mapped addresses of VIPs named as destinations.
    vip: Vec<AddrRange>,
    unknown: Vec<String>,
}

#[derive(Clone, Debug, Default)]
struct SvcSet {
    matches: Vec<SvcMatch>,
    unknown: Vec<String>,
}

struct Ifc {
    name: String,
    addrs: Vec<IpNet>,
    allow: Vec<(Vec<String>, Provenance, bool)>,
}

struct L<'c, 'a> {
    cx: &'c mut Cx<'a>,
    t: HashMap<String, Table<'a>>,
    addr_memo: HashMap<(bool, String), AddrSet>,
    svc_memo: HashMap<String, SvcSet>,
    ifaces: Vec<Ifc>,
    zones: HashMap<String, Vec<String>>,
    reported: std::collections::HashSet<(u32, String)>,
    has_vips: bool,
    /// Groups being expanded (cycle detection).
    visiting: Vec<String>,
}

/// One alternative of a policy's match: conditions, and what is not modelled.
#[derive(Clone)]
struct Variant {
    src: Vec<Cond>,
    dst: Vec<Vec<Cond>>,
    svc: Vec<Vec<Cond>>,
    svc_negate: bool,
    unknown: Vec<String>,
}

/// A policy lowered for one family: its match variants and interface pairs.
struct Lowered {
    pairs: Vec<(Option<String>, Option<String>)>,
    variants: Vec<Variant>,
    action: Action,
    nat: Option<Action>,
    prov: Provenance,
}

pub(crate) fn lower(cx: &mut Cx<'_>) -> Out {
    let t = std::mem::take(&mut cx.tables);
    let mut l = L {
        cx,
        t,
        addr_memo: HashMap::new(),
        svc_memo: HashMap::new(),
        ifaces: Vec::new(),
        zones: HashMap::new(),
        reported: std::collections::HashSet::new(),
        has_vips: false,
        visiting: Vec::new(),
    };
    l.run()
}

fn v4_or_v6_all(v6: bool) -> AddrRange {
    if v6 {
        objects::all_v6()
    } else {
        objects::all_v4()
    }
}

impl<'c, 'a> L<'c, 'a> {
    fn prov(&self, st: &Stmt<'_>) -> Provenance {
        Provenance { source: self.cx.source, file: self.cx.file.clone(), line: st.line, text: st.text.to_string() }
    }

    fn warn(&mut self, code: &'static str, st: &Stmt<'_>, why: String) {
        self.cx.diags.push(code, Severity::Warning, st.line, st.text, why);
    }

    fn info(&mut self, code: &'static str, st: &Stmt<'_>, why: String) {
        self.cx.diags.push(code, Severity::Info, st.line, st.text, why);
    }

    fn table(&self, path: &str) -> Option<&Table<'a>> {
        self.t.get(path)
    }

    fn entries(&self, path: &str) -> Vec<Entry<'a>> {
        self.t.get(path).map(|t| t.list.clone()).unwrap_or_default()
    }

    fn single(&self, path: &str) -> Settings<'a> {
        self.cx.singles.get(path).cloned().unwrap_or_default()
    }

    fn run(&mut self) -> Out {
        let global = self.single("system global");
        let host = global.first("hostname").map(str::to_string).filter(|h| !h.is_empty());
        let device = match (&host, &self.cx.vdom) {
            (Some(h), Some(v)) if self.cx.vdoms.len() > 1 => Some(format!("{h}/{v}")),
            (h, _) => h.clone(),
        };
        let settings = self.single("system settings");
        for key in ["opmode", "central-nat", "asymroute"] {
            if let Some(st) = settings.stmt(key).cloned() {
                let v = settings.first(key).unwrap_or("");
                let odd = match key {
                    "opmode" => v == "transparent",
                    _ => v == "enable",
                };
                if odd {
                    let why = match key {
                        "opmode" => "transparent mode (the VDOM bridges instead of routing) is not modelled: the model routes",
                        "central-nat" => "central NAT is not modelled: the policies' nat settings are used, central SNAT and DNAT tables are not read",
                        _ => "asymmetric routing lets packets without a session pass: the model keeps stateful checks",
                    };
                    self.warn(codes::UNMODELLED_MATCH, &st, why.to_string());
                }
            }
        }
        let interfaces = self.interfaces();
        self.zones();
        let routes = self.routes();
        let firewall = self.firewall(&global);
        Out { device, firewall, interfaces, routes }
    }

    // ----- interfaces and zones -----

    fn interfaces(&mut self) -> Vec<Interface> {
        let multi = self.cx.vdoms.len() > 1;
        let chosen = self.cx.vdom.clone().unwrap_or_default();
        let mut out = Vec::new();
        let mut zone_of: HashMap<String, String> = HashMap::new();
        if let Some(t) = self.table("system zone") {
            for z in &t.list {
                for m in z.set.get("interface").unwrap_or(&[]) {
                    zone_of.entry(m.clone()).or_insert_with(|| z.name.clone());
                }
            }
        }
        for e in self.entries("system interface") {
            if multi {
                // Each interface belongs to the VDOM it names, by default `root`.
                let v = e.set.first("vdom").unwrap_or(DEFAULT_VDOM);
                if v != chosen {
                    if !self.cx.configured.contains(v) {
                        let st = e.set.stmt("vdom").cloned().unwrap_or_else(|| e.head.clone());
                        self.warn(
                            codes::UNDEFINED_REFERENCE,
                            &st,
                            format!("interface {}: VDOM {v} has no configuration in this file: the interface is on no device", e.name),
                        );
                    }
                    continue;
                }
            }
            let mut addrs = Vec::new();
            let mut allow = Vec::new();
            if let Some(st) = e.set.stmt("ip").cloned() {
                match objects::v4_prefix(st.vals()) {
                    Some(n) if n.addr().is_unspecified() => {}
                    Some(n) => addrs.push(n),
                    None => self.warn(codes::BAD_VALUE, &st, format!("interface {}: bad address", e.name)),
                }
            }
            if let Some(m) = e.set.first("mode") {
                if m == "dhcp" || m == "pppoe" {
                    if let Some(st) = e.set.stmt("mode").cloned() {
                        self.info(
                            codes::UNMODELLED_MATCH,
                            &st,
                            format!("interface {}: the address is assigned by {} at run time and is not known", e.name, m.to_uppercase()),
                        );
                    }
                }
            }
            if let Some(st) = e.set.stmt("allowaccess").cloned() {
                allow.push((st.vals_owned(), self.prov(&st), false));
            }
            if e.set.enabled("secondary-IP") {
                for b in e.nested("secondaryip") {
                    for it in &b.items {
                        if let super::Item::Edit(se) = it {
                            let s = Settings::of(&se.items);
                            if let Some(st) = s.stmt("ip").cloned() {
                                match objects::v4_prefix(st.vals()) {
                                    Some(n) if !n.addr().is_unspecified() => addrs.push(n),
                                    Some(_) => {}
                                    None => self.warn(codes::BAD_VALUE, &st, format!("interface {}: bad secondary address", e.name)),
                                }
                            }
                            if let Some(st) = s.stmt("allowaccess").cloned() {
                                allow.push((st.vals_owned(), self.prov(&st), false));
                            }
                        }
                    }
                }
            }
            for b in e.nested("ipv6") {
                let s = Settings::of(&b.items);
                if let Some(st) = s.stmt("ip6-address").cloned() {
                    match st.vals().first().and_then(|v| objects::v6_prefix(v)) {
                        Some(n) if n.addr().is_unspecified() => {}
                        Some(n) => addrs.push(n),
                        None => self.warn(codes::BAD_VALUE, &st, format!("interface {}: bad IPv6 address", e.name)),
                    }
                }
                if let Some(st) = s.stmt("ip6-allowaccess").cloned() {
                    allow.push((st.vals_owned(), self.prov(&st), true));
                }
                for it in &b.items {
                    if let super::Item::Config(x) = it {
                        if x.path == "ip6-extra-addr" {
                            for it in &x.items {
                                if let super::Item::Edit(xe) = it {
                                    match objects::v6_prefix(&xe.name) {
                                        Some(n) => addrs.push(n),
                                        None => self.warn(codes::BAD_VALUE, &xe.head, "bad IPv6 prefix".into()),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // Inter-VDOM links join VDOMs like any shared subnet, through the addresses of
            // their ends; an end without an address joins nothing in the model.
            if addrs.is_empty() && e.set.first("type") == Some("vdom-link") {
                self.info(
                    codes::UNMODELLED_MATCH,
                    &e.head,
                    format!(
                        "interface {}: an end of an inter-VDOM link without an address joins no VDOMs in the topology (a manifest `links:` entry can state the link)",
                        e.name
                    ),
                );
            }
            let up = e.set.first("status") != Some("down");
            let zone = zone_of.get(&e.name).cloned();
            let mut itf = Interface::new(e.name.clone(), self.prov(&e.head));
            itf.addresses = addrs.clone();
            itf.up = up;
            itf.zone = zone;
            // `set role wan` marks an interface facing the Internet (FortiOS interface role).
            itf.external = e.set.first("role") == Some("wan");
            out.push(itf);
            self.ifaces.push(Ifc { name: e.name.clone(), addrs, allow });
        }
        out
    }

    fn zones(&mut self) {
        for e in self.entries("system zone") {
            let members = e.set.get("interface").map(<[String]>::to_vec).unwrap_or_default();
            if self.cx.has_interfaces {
                for m in &members {
                    if !self.ifaces.iter().any(|i| &i.name == m) {
                        if let Some(st) = e.set.stmt("interface").cloned() {
                            self.warn(codes::UNDEFINED_REFERENCE, &st, format!("zone {}: interface {m} is not defined", e.name));
                        }
                    }
                }
            }
            self.zones.insert(e.name.clone(), members);
        }
    }

    /// Interfaces a policy's `srcintf`/`dstintf` names: `None` is `any`.
    fn intfs(&mut self, names: &[String], st: &Stmt<'_>, unknown: &mut Vec<String>) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = Vec::new();
        for n in names {
            if n == "any" {
                return vec![None];
            }
            if let Some(m) = self.zones.get(n).or_else(|| {
                let t = self.t.get("system zone")?;
                let e = t.get(n)?;
                self.zones.get(&e.name)
            }) {
                out.extend(m.iter().cloned().map(Some));
            } else if !self.cx.has_interfaces || self.ifaces.iter().any(|i| &i.name == n) {
                out.push(Some(n.clone()));
            } else {
                self.undefined(st, "interface or zone", n);
                unknown.push(format!("undefined interface or zone {n}"));
                return vec![None];
            }
        }
        out.dedup();
        out
    }

    fn undefined(&mut self, st: &Stmt<'_>, what: &str, name: &str) {
        if !self.reported.insert((st.line, name.to_string())) {
            return;
        }
        self.warn(codes::UNDEFINED_REFERENCE, st, format!("{what} {name} is not defined: the rule is not fully known"));
    }

    // ----- addresses -----

    fn addr(&mut self, name: &str, v6: bool, st: &Stmt<'_>, depth: u32) -> AddrSet {
        if let Some(a) = self.addr_memo.get(&(v6, name.to_string())) {
            return a.clone();
        }
        let key = format!("addr{}:{name}", u8::from(v6));
        if depth > 16 || self.visiting.contains(&key) {
            self.warn(codes::STRUCTURE, st, format!("address group {name} contains itself (directly or through other groups)"));
            return AddrSet { unknown: vec![format!("address group {name} (cycle)")], ..Default::default() };
        }
        let (a_t, g_t, vip_t, vg_t) = if v6 {
            ("firewall address6", "firewall addrgrp6", "firewall vip6", "firewall vipgrp6")
        } else {
            ("firewall address", "firewall addrgrp", "firewall vip", "firewall vipgrp")
        };
        let set = if let Some(e) = self.table(a_t).and_then(|t| t.get(name)).cloned() {
            self.address_entry(&e, v6)
        } else if let Some(e) = self.table(g_t).and_then(|t| t.get(name)).cloned() {
            self.visiting.push(key.clone());
            let mut out = AddrSet::default();
            let mst = e.set.stmt("member").cloned().unwrap_or_else(|| e.head.clone());
            for m in e.set.get("member").unwrap_or(&[]).to_vec() {
                let s = self.addr(&m, v6, &mst, depth + 1);
                out.ranges.extend(s.ranges);
                out.vip.extend(s.vip);
                out.unknown.extend(s.unknown);
            }
            if e.set.enabled("exclude") {
                let xst = e.set.stmt("exclude-member").cloned().unwrap_or_else(|| e.head.clone());
                let mut ex = AddrSet::default();
                for m in e.set.get("exclude-member").unwrap_or(&[]).to_vec() {
                    let s = self.addr(&m, v6, &xst, depth + 1);
                    ex.ranges.extend(s.ranges);
                    ex.unknown.extend(s.unknown);
                }
                out.ranges = objects::subtract(&out.ranges, &ex.ranges);
                if !ex.unknown.is_empty() {
                    out.unknown.push(format!("address group {name} excludes {}", ex.unknown.join(", ")));
                }
            }
            self.visiting.retain(|k| *k != key);
            out
        } else if let Some(e) = self.table(vip_t).and_then(|t| t.get(name)).cloned() {
            self.vip_mapped(&e)
        } else if let Some(e) = self.table(vg_t).and_then(|t| t.get(name)).cloned() {
            let mut out = AddrSet::default();
            let mst = e.set.stmt("member").cloned().unwrap_or_else(|| e.head.clone());
            for m in e.set.get("member").unwrap_or(&[]).to_vec() {
                let s = self.addr(&m, v6, &mst, depth + 1);
                out.vip.extend(s.ranges);
                out.vip.extend(s.vip);
                out.unknown.extend(s.unknown);
            }
            out
        } else if name == "all" {
            AddrSet { ranges: vec![v4_or_v6_all(v6)], ..Default::default() }
        } else if name == "none" {
            let a: IpAddr = if v6 { IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED) };
            AddrSet { ranges: vec![AddrRange::single(a)], ..Default::default() }
        } else {
            self.undefined(st, if v6 { "IPv6 address" } else { "address" }, name);
            return AddrSet { unknown: vec![format!("undefined address {name}")], ..Default::default() };
        };
        self.addr_memo.insert((v6, name.to_string()), set.clone());
        set
    }

    fn address_entry(&mut self, e: &Entry<'a>, v6: bool) -> AddrSet {
        let name = &e.name;
        let ty = e.set.first("type").unwrap_or(if v6 { "ipprefix" } else { "ipmask" }).to_string();
        let unknown = |what: String| AddrSet { unknown: vec![format!("address {name} ({what})")], ..Default::default() };
        let st = |k: &str| e.set.stmt(k).cloned().unwrap_or_else(|| e.head.clone());
        match (ty.as_str(), v6) {
            ("ipmask", false) => match e.set.get("subnet") {
                None => AddrSet { ranges: vec![objects::all_v4()], ..Default::default() },
                Some(v) => match objects::v4_prefix(v) {
                    Some(n) => AddrSet { ranges: vec![AddrRange::from_net(n)], ..Default::default() },
                    None => {
                        self.warn(codes::BAD_VALUE, &st("subnet"), format!("address {name}: bad subnet"));
                        unknown("bad subnet".into())
                    }
                },
            },
            ("ipprefix", true) => match e.set.first("ip6") {
                None => AddrSet { ranges: vec![objects::all_v6()], ..Default::default() },
                Some(v) => match objects::v6_prefix(v) {
                    Some(n) => AddrSet { ranges: vec![AddrRange::from_net(n)], ..Default::default() },
                    None => {
                        self.warn(codes::BAD_VALUE, &st("ip6"), format!("address {name}: bad IPv6 prefix"));
                        unknown("bad prefix".into())
                    }
                },
            },
            ("iprange", _) => {
                let zero = if v6 { "::" } else { "0.0.0.0" };
                let lo = e.set.first("start-ip").unwrap_or(zero);
                let hi = e.set.first("end-ip").unwrap_or(zero);
                match objects::addr_range(&format!("{lo}-{hi}")) {
                    Some(r) if r.lo.is_ipv6() == v6 => AddrSet { ranges: vec![r], ..Default::default() },
                    _ => {
                        self.warn(codes::BAD_VALUE, &st("start-ip"), format!("address {name}: bad range {lo}-{hi}"));
                        unknown("bad range".into())
                    }
                }
            }
            ("wildcard", false) => {
                let v = e.set.get("wildcard").map(<[String]>::to_vec).unwrap_or_else(|| vec!["0.0.0.0".into(), "0.0.0.0".into()]);
                match (v.first().and_then(|a| objects::v4(a)), v.get(1).and_then(|m| objects::v4(m))) {
                    (Some(a), Some(m)) => match objects::wildcard(a, m, 4096) {
                        Some(r) => AddrSet { ranges: r, ..Default::default() },
                        None => {
                            self.warn(codes::UNMODELLED_MATCH, &st("wildcard"), format!("address {name}: this wildcard mask spans too many ranges to model"));
                            unknown(format!("wildcard {} {}", v[0], v[1]))
                        }
                    },
                    _ => {
                        self.warn(codes::BAD_VALUE, &st("wildcard"), format!("address {name}: bad wildcard"));
                        unknown("bad wildcard".into())
                    }
                }
            }
            ("interface-subnet", false) => {
                let itf = e.set.first("interface").unwrap_or("").to_string();
                let net = self.ifaces.iter().find(|i| i.name == itf).and_then(|i| i.addrs.iter().find(|a| a.addr().is_ipv4()).copied());
                match net {
                    Some(n) => AddrSet { ranges: vec![AddrRange::from_net(n)], ..Default::default() },
                    None => {
                        self.warn(codes::UNDEFINED_REFERENCE, &st("interface"), format!("address {name}: the subnet of interface {itf:?} is not known"));
                        unknown(format!("subnet of interface {itf}"))
                    }
                }
            }
            (other, _) => {
                let detail = match other {
                    "fqdn" => format!("fqdn {}, resolved at run time", e.set.first("fqdn").unwrap_or("")),
                    "geography" => format!("geography {}", e.set.first("country").unwrap_or("")),
                    _ => format!("type {other}"),
                };
                let s = st("type");
                self.warn(codes::UNMODELLED_MATCH, &s, format!("address {name}: {detail} is not modelled; rules naming it are unknown"));
                unknown(detail)
            }
        }
    }

    /// A VIP's external and mapped addresses.
    fn vip_addrs(&mut self, e: &Entry<'a>) -> Option<(AddrRange, Vec<AddrRange>)> {
        let ext = e.set.first("extip").and_then(objects::addr_range)?;
        let mut mapped = Vec::new();
        for m in e.set.get("mappedip").unwrap_or(&[]) {
            mapped.push(objects::addr_range(m).or_else(|| {
                let n: IpNet = m.parse().ok()?;
                Some(AddrRange::from_net(n))
            })?);
        }
        (!mapped.is_empty()).then_some((ext, mapped))
    }

    fn vip_mapped(&mut self, e: &Entry<'a>) -> AddrSet {
        let ty = e.set.first("type").unwrap_or("static-nat");
        if ty != "static-nat" {
            return AddrSet { unknown: vec![format!("VIP {} of type {ty}", e.name)], ..Default::default() };
        }
        match self.vip_addrs(e) {
            Some((_, mapped)) => AddrSet { vip: mapped, ..Default::default() },
            None => AddrSet { unknown: vec![format!("VIP {} without usable addresses", e.name)], ..Default::default() },
        }
    }

    // ----- services -----

    fn svc(&mut self, name: &str, st: &Stmt<'_>, depth: u32) -> SvcSet {
        if let Some(s) = self.svc_memo.get(name) {
            return s.clone();
        }
        let key = format!("svc:{name}");
        if depth > 16 || self.visiting.contains(&key) {
            self.warn(codes::STRUCTURE, st, format!("service group {name} contains itself (directly or through other groups)"));
            return SvcSet { unknown: vec![format!("service group {name} (cycle)")], ..Default::default() };
        }
        let set = if let Some(e) = self.table("firewall service custom").and_then(|t| t.get(name)).cloned() {
            self.service_entry(&e)
        } else if let Some(e) = self.table("firewall service group").and_then(|t| t.get(name)).cloned() {
            self.visiting.push(key.clone());
            let mst = e.set.stmt("member").cloned().unwrap_or_else(|| e.head.clone());
            let mut out = SvcSet::default();
            for m in e.set.get("member").unwrap_or(&[]).to_vec() {
                let s = self.svc(&m, &mst, depth + 1);
                out.matches.extend(s.matches);
                out.unknown.extend(s.unknown);
            }
            self.visiting.retain(|k| *k != key);
            out
        } else if let Some(m) = objects::predefined(name) {
            SvcSet { matches: m, unknown: Vec::new() }
        } else {
            self.undefined(st, "service", name);
            return SvcSet { unknown: vec![format!("undefined service {name}")], ..Default::default() };
        };
        self.svc_memo.insert(name.to_string(), set.clone());
        set
    }

    fn service_entry(&mut self, e: &Entry<'a>) -> SvcSet {
        let name = e.name.clone();
        let proto = e.set.first("protocol").unwrap_or("TCP/UDP/SCTP").to_ascii_uppercase();
        let mut out = SvcSet::default();
        let st = |k: &str| e.set.stmt(k).cloned().unwrap_or_else(|| e.head.clone());
        match proto.as_str() {
            "TCP/UDP/SCTP" | "TCP/UDP/UDP-LITE/SCTP" => {
                for (key, p) in [("tcp-portrange", objects::TCP), ("udp-portrange", objects::UDP), ("sctp-portrange", objects::SCTP), ("udplite-portrange", 136)] {
                    for v in e.set.get(key).unwrap_or(&[]).to_vec() {
                        match objects::portrange(p, &v) {
                            Some(m) => out.matches.push(m),
                            None => {
                                self.warn(codes::BAD_VALUE, &st(key), format!("service {name}: bad port range {v:?}"));
                                out.unknown.push(format!("service {name} port range {v}"));
                            }
                        }
                    }
                }
                if out.matches.is_empty() && out.unknown.is_empty() {
                    self.info(codes::BAD_VALUE, &e.head, format!("service {name} has no port range: it matches nothing"));
                }
            }
            "ICMP" | "ICMP6" => {
                let p = if proto == "ICMP" { objects::ICMP } else { objects::ICMP6 };
                let mut m = SvcMatch::proto(p);
                if let Some(t) = e.set.first("icmptype") {
                    match t.parse::<u8>() {
                        Ok(t) => m.icmp_type = Some(t),
                        Err(_) => {
                            self.warn(codes::BAD_VALUE, &st("icmptype"), format!("service {name}: bad ICMP type"));
                            out.unknown.push(format!("service {name} ICMP type {t}"));
                        }
                    }
                    if let Some(c) = e.set.first("icmpcode") {
                        match c.parse::<u8>() {
                            Ok(c) => m.icmp_code = Some((c, c)),
                            Err(_) => self.warn(codes::BAD_VALUE, &st("icmpcode"), format!("service {name}: bad ICMP code")),
                        }
                    }
                }
                out.matches.push(m);
            }
            "IP" => match e.set.first("protocol-number").unwrap_or("0").parse::<u8>() {
                Ok(0) => out.matches.push(SvcMatch::any()),
                Ok(n) => out.matches.push(SvcMatch::proto(n)),
                Err(_) => {
                    self.warn(codes::BAD_VALUE, &st("protocol-number"), format!("service {name}: bad protocol number"));
                    out.unknown.push(format!("service {name} protocol"));
                }
            },
            "ALL" => out.matches.push(SvcMatch::any()),
            other => {
                self.warn(
                    codes::UNMODELLED_MATCH,
                    &st("protocol"),
                    format!("service {name}: protocol {other} (explicit proxy services) is not modelled"),
                );
                out.unknown.push(format!("service {name} ({other})"));
            }
        }
        if let Some(r) = e.set.first("iprange").filter(|r| *r != "0.0.0.0") {
            let r = r.to_string();
            self.warn(codes::UNMODELLED_MATCH, &st("iprange"), format!("service {name}: its destination range {r} is not modelled"));
            out.unknown.push(format!("service {name} limited to {r}"));
        }
        if let Some(f) = e.set.first("fqdn").filter(|f| !f.is_empty()) {
            let f = f.to_string();
            self.warn(codes::UNMODELLED_MATCH, &st("fqdn"), format!("service {name}: its destination name {f} is not modelled"));
            out.unknown.push(format!("service {name} limited to {f}"));
        }
        out
    }

    // ----- policies -----

    fn addr_list(&mut self, names: &[String], v6: bool, st: &Stmt<'_>) -> AddrSet {
        let mut out = AddrSet::default();
        for n in names {
            let s = self.addr(n, v6, st, 0);
            out.ranges.extend(s.ranges);
            out.vip.extend(s.vip);
            out.unknown.extend(s.unknown);
        }
        out
    }

    fn svc_alts(matches: &[SvcMatch]) -> Vec<Vec<Cond>> {
        if matches.iter().any(|m| m.proto.is_none()) {
            return vec![Vec::new()];
        }
        // Merge destination ports of the same protocol and source ports.
        let mut groups: Vec<SvcMatch> = Vec::new();
        for m in matches {
            let port_proto = m.proto.is_some_and(crate::space::proto::has_ports);
            match groups.iter_mut().find(|g| port_proto && g.proto == m.proto && g.sports == m.sports) {
                Some(g) => {
                    if g.dports.is_empty() || m.dports.is_empty() {
                        g.dports.clear();
                    } else {
                        for d in &m.dports {
                            if !g.dports.contains(d) {
                                g.dports.push(*d);
                            }
                        }
                    }
                }
                None => {
                    if !groups.contains(m) {
                        groups.push(m.clone());
                    }
                }
            }
        }
        groups
            .into_iter()
            .map(|g| {
                let mut c = Vec::new();
                if let Some(p) = g.proto {
                    c.push(Cond::is(Test::Proto(vec![p])));
                }
                if !g.sports.is_empty() {
                    c.push(Cond::is(Test::Sport(g.sports)));
                }
                if !g.dports.is_empty() {
                    c.push(Cond::is(Test::Dport(g.dports)));
                }
                if g.icmp_type.is_some() || g.icmp_code.is_some() {
                    c.push(Cond::is(Test::Icmp { ty: g.icmp_type, code: g.icmp_code }));
                }
                c
            })
            .collect()
    }

    /// Lower one policy for one family; `None` when it has no part for that family.
    fn policy(&mut self, e: &Entry<'a>, v6: bool, unified: bool) -> Option<Lowered> {
        let s = &e.set;
        let (sk, dk) = if v6 && unified { ("srcaddr6", "dstaddr6") } else { ("srcaddr", "dstaddr") };
        let (src_names, dst_names) = (s.get(sk)?.to_vec(), s.get(dk)?.to_vec());
        if src_names.is_empty() || dst_names.is_empty() {
            return None;
        }
        let prov = {
            let mut p = self.prov(&e.head);
            if let Some(n) = s.first("name").filter(|n| !n.is_empty()) {
                p.text = format!("{} (name \"{n}\")", p.text);
            }
            p
        };
        let (Some(si), Some(di), Some(sv)) = (s.get("srcintf"), s.get("dstintf"), s.get("service")) else {
            let missing: Vec<&str> = [("srcintf", s.get("srcintf")), ("dstintf", s.get("dstintf")), ("service", s.get("service"))]
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| *k)
                .collect();
            if !v6 || !unified {
                self.warn(
                    codes::STRUCTURE,
                    &e.head,
                    format!("policy {} lacks {}: FortiOS does not accept such a policy; it is not used", e.name, missing.join(", ")),
                );
            }
            return None;
        };
        let (si, di, sv) = (si.to_vec(), di.to_vec(), sv.to_vec());
        let mut unknown = Vec::new();
        let h = e.head.clone();
        let sst = s.stmt("srcintf").cloned().unwrap_or_else(|| h.clone());
        let dst_st = s.stmt("dstintf").cloned().unwrap_or_else(|| h.clone());
        let ins = self.intfs(&si, &sst, &mut unknown);
        let outs = self.intfs(&di, &dst_st, &mut unknown);
        let mut pairs = Vec::new();
        for i in &ins {
            for o in &outs {
                pairs.push((i.clone(), o.clone()));
            }
        }
        let ast = s.stmt(sk).cloned().unwrap_or_else(|| h.clone());
        let bst = s.stmt(dk).cloned().unwrap_or_else(|| h.clone());
        let src = self.addr_list(&src_names, v6, &ast);
        let dst = self.addr_list(&dst_names, v6, &bst);
        let vst = s.stmt("service").cloned().unwrap_or_else(|| h.clone());
        let mut svc = SvcSet::default();
        for n in &sv {
            let x = self.svc(n, &vst, 0);
            svc.matches.extend(x.matches);
            svc.unknown.extend(x.unknown);
        }
        if v6 {
            // IPv6 policies match ICMPv6, never ICMP; an IPv4 part never ICMPv6.
            svc.matches.retain(|m| m.proto != Some(objects::ICMP));
        } else {
            svc.matches.retain(|m| m.proto != Some(objects::ICMP6));
        }
        let neg = |k: &str| s.enabled(k);
        let (src_neg, dst_neg) = if v6 && unified { (neg("srcaddr6-negate"), neg("dstaddr6-negate")) } else { (neg("srcaddr-negate"), neg("dstaddr-negate")) };
        let svc_neg = neg("service-negate");
        // Conditions of the policy as a whole that are not modelled.
        let sched = s.first("schedule").unwrap_or("always").to_string();
        if sched != "always" {
            let st = s.stmt("schedule").cloned().unwrap_or_else(|| h.clone());
            self.warn(codes::UNMODELLED_MATCH, &st, format!("policy {}: schedule {sched} (time of day) is not modelled", e.name));
            unknown.push(format!("schedule {sched}"));
        }
        for (key, what) in [
            ("users", "user authentication"),
            ("groups", "user groups"),
            ("fsso-groups", "FSSO groups"),
            ("device", "device identification"),
            ("devices", "device identification"),
            ("application", "application signatures"),
            ("app-category", "application categories"),
            ("app-group", "application groups"),
            ("url-category", "URL categories"),
        ] {
            if let Some(st) = s.stmt(key).cloned().filter(|st| !st.vals().is_empty()) {
                self.warn(codes::UNMODELLED_MATCH, &st, format!("policy {}: {what} is not modelled", e.name));
                unknown.push(format!("{key} {}", st.vals().join(" ")));
            }
        }
        for (key, what) in [
            ("internet-service", "Internet Service database destinations"),
            ("internet-service-src", "Internet Service database sources"),
            ("internet-service6", "Internet Service database destinations"),
            ("internet-service6-src", "Internet Service database sources"),
            ("ztna-status", "zero-trust access tags"),
            ("nat64", "NAT64"),
            ("nat46", "NAT46"),
        ] {
            if s.enabled(key) {
                if let Some(st) = s.stmt(key).cloned() {
                    self.warn(codes::UNMODELLED_MATCH, &st, format!("policy {}: {what} is not modelled", e.name));
                    unknown.push(format!("{key} enable"));
                }
            }
        }
        if let Some(st) = s.stmt("tos-mask").cloned().filter(|st| st.vals().first().is_some_and(|v| v.as_ref() != "0x00")) {
            self.warn(codes::UNMODELLED_MATCH, &st, format!("policy {}: type-of-service match is not modelled", e.name));
            unknown.push("tos".into());
        }
        let action_word = s.first("action").unwrap_or("deny").to_string();
        let deny = action_word == "deny";
        let action = match action_word.as_str() {
            "accept" => Action::Accept,
            "deny" if s.enabled("send-deny-packet") => Action::Reject("send-deny-packet".into()),
            "deny" => Action::Drop,
            other => {
                let st = s.stmt("action").cloned().unwrap_or_else(|| h.clone());
                self.cx.diags.push(
                    codes::UNMODELLED_TARGET,
                    Severity::Warning,
                    st.line,
                    st.text,
                    format!("policy {}: action {other} (policy-based IPsec, …) is not modelled", e.name),
                );
                Action::Unknown(format!("policy action {other}"))
            }
        };
        // NAT for accepted sessions.
        let nat = if action == Action::Accept && s.enabled("nat") {
            if s.enabled("ippool") {
                let pk = if v6 { "poolname6" } else { "poolname" };
                let pst = s.stmt(pk).cloned().unwrap_or_else(|| h.clone());
                let pools = s.get(pk).unwrap_or(&[]).to_vec();
                let mut ranges = Vec::new();
                for pn in &pools {
                    match self.table("firewall ippool").and_then(|t| t.get(pn)).cloned() {
                        Some(pe) => {
                            let lo = pe.set.first("startip").unwrap_or("0.0.0.0");
                            let hi = pe.set.first("endip").unwrap_or(lo);
                            match objects::addr_range(&format!("{lo}-{hi}")) {
                                Some(r) => ranges.push(r),
                                None => self.warn(codes::BAD_VALUE, &pe.head, format!("IP pool {pn}: bad range {lo}-{hi}")),
                            }
                        }
                        None => self.undefined(&pst, "IP pool", pn),
                    }
                }
                match ranges.as_slice() {
                    [r] => Some(Action::Snat(NatTarget { addr: Some(*r), ports: None })),
                    [] => Some(Action::Unknown("source NAT to an unknown IP pool".into())),
                    _ => {
                        self.warn(codes::UNMODELLED_TARGET, &pst, format!("policy {}: several IP pools: which one applies is not modelled", e.name));
                        Some(Action::Unknown("source NAT to one of several IP pools".into()))
                    }
                }
            } else {
                Some(Action::Masquerade(None))
            }
        } else {
            None
        };
        let match_vip = s.enabled("match-vip");
        let all = v4_or_v6_all(v6);
        let mut variants = Vec::new();
        let any_unknown = !src.unknown.is_empty() || !dst.unknown.is_empty() || !svc.unknown.is_empty();
        let src_conds = |set: &AddrSet| -> Vec<Cond> {
            if src_neg {
                vec![Cond::not(Test::Src(set.ranges.clone())), Cond::is(Test::Src(vec![all]))]
            } else {
                vec![Cond::is(Test::Src(set.ranges.clone()))]
            }
        };
        let has_vips = self.has_vips;
        let dst_alts = |set: &AddrSet| -> Vec<Vec<Cond>> {
            if dst_neg {
                let mut r = set.ranges.clone();
                r.extend(set.vip.iter().copied());
                return vec![vec![Cond::not(Test::Dst(r)), Cond::is(Test::Dst(vec![all]))]];
            }
            let mut alts = Vec::new();
            if !set.ranges.is_empty() {
                let mut c = vec![Cond::is(Test::Dst(set.ranges.clone()))];
                // Deny policies do not match sessions a VIP translated unless `match-vip
                // enable` (FortiOS CLI reference, `config firewall policy`, match-vip).
                if deny && !match_vip && has_vips {
                    c.push(Cond::not(Test::CtStatus(Ct::DNAT)));
                }
                alts.push(c);
            }
            if !set.vip.is_empty() {
                alts.push(vec![Cond::is(Test::Dst(set.vip.clone())), Cond::is(Test::CtStatus(Ct::DNAT))]);
            }
            alts
        };
        // The definite variant: every part known.
        let src_ok = !src.ranges.is_empty() && (src.unknown.is_empty() || !src_neg);
        let dst_ok = (!dst.ranges.is_empty() || !dst.vip.is_empty()) && (dst.unknown.is_empty() || !dst_neg);
        let svc_ok = !svc.matches.is_empty() && (svc.unknown.is_empty() || !svc_neg);
        if src_ok && dst_ok && svc_ok {
            variants.push(Variant {
                src: src_conds(&src),
                dst: dst_alts(&dst),
                svc: Self::svc_alts(&svc.matches),
                svc_negate: svc_neg,
                unknown: unknown.clone(),
            });
        }
        if any_unknown {
            let mut u = unknown.clone();
            u.extend(src.unknown.iter().cloned());
            u.extend(dst.unknown.iter().cloned());
            u.extend(svc.unknown.iter().cloned());
            let unique: Vec<String> = u.iter().fold(Vec::new(), |mut acc, x| {
                if !acc.contains(x) {
                    acc.push(x.clone());
                }
                acc
            });
            variants.push(Variant {
                src: if src.unknown.is_empty() { src_conds(&src) } else { vec![Cond::is(Test::Src(vec![all]))] },
                dst: if dst.unknown.is_empty() { dst_alts(&dst) } else { vec![vec![Cond::is(Test::Dst(vec![all]))]] },
                svc: if svc.unknown.is_empty() { Self::svc_alts(&svc.matches) } else { vec![Vec::new()] },
                svc_negate: svc_neg && svc.unknown.is_empty(),
                unknown: unique,
            });
        }
        Some(Lowered { pairs, variants, action, nat, prov })
    }

    /// Append a lowered policy's rules to a ruleset: `final_action` is what a match gets (the
    /// policy action, or its NAT in the source-NAT mirror).
    fn emit(rulesets: &mut Vec<Ruleset>, target: usize, p: &Lowered, final_action: &Action, fam: Family) {
        for v in &p.variants {
            for (i, o) in &p.pairs {
                let mut base = Vec::new();
                if let Some(i) = i {
                    base.push(Cond::is(Test::InIface(i.clone())));
                }
                if let Some(o) = o {
                    base.push(Cond::is(Test::OutIface(o.clone())));
                }
                base.extend(v.src.iter().cloned());
                for d in &v.dst {
                    let mut c = base.clone();
                    c.extend(d.iter().cloned());
                    if v.svc_negate {
                        // Services are excluded in a called ruleset: a listed service returns,
                        // anything else gets the policy's action.
                        let mut rules: Vec<Rule> = v
                            .svc
                            .iter()
                            .map(|sc| Rule { conds: sc.clone(), unknown: Vec::new(), action: Action::Return, prov: p.prov.clone() })
                            .collect();
                        rules.push(Rule { conds: Vec::new(), unknown: Vec::new(), action: final_action.clone(), prov: p.prov.clone() });
                        let name = format!("{} service-negate {}", rulesets.get(target).map_or("", |r| r.name.as_str()), p.prov.line);
                        rulesets.push(Ruleset {
                            name,
                            table: "firewall".into(),
                            family: fam,
                            default: None,
                            default_prov: p.prov.clone(),
                            rules,
                        });
                        let idx = rulesets.len() - 1;
                        if let Some(rs) = rulesets.get_mut(target) {
                            rs.rules.push(Rule { conds: c, unknown: v.unknown.clone(), action: Action::Jump(idx), prov: p.prov.clone() });
                        }
                        continue;
                    }
                    for sc in &v.svc {
                        let mut cc = c.clone();
                        cc.extend(sc.iter().cloned());
                        if let Some(rs) = rulesets.get_mut(target) {
                            rs.rules.push(Rule { conds: cc, unknown: v.unknown.clone(), action: final_action.clone(), prov: p.prov.clone() });
                        }
                    }
                }
            }
        }
    }

    fn firewall(&mut self, global: &Settings<'a>) -> Option<Firewall> {
        self.has_vips = self.table("firewall vip").is_some_and(|t| !t.list.is_empty());
        // The policy tables are taken out while they are lowered (lowering reads the other
        // tables), instead of copied.
        let v4_table = self.t.remove("firewall policy").unwrap_or_default();
        let v6_table = self.t.remove("firewall policy6").unwrap_or_default();
        let (v4_list, v6_list) = (&v4_table.list, &v6_table.list);
        let has_policy = !v4_list.is_empty() || !v6_list.is_empty();
        if !has_policy && !self.cx.has_interfaces && !self.has_vips {
            return None;
        }
        let mut fw = Firewall { stateful: true, ..Default::default() };
        let replies = || Rule {
            conds: vec![Cond::is(Test::CtState(vec![Ct::ESTABLISHED, Ct::RELATED]))],
            unknown: Vec::new(),
            action: Action::Accept,
            prov: Provenance::builtin(REPLIES),
        };
        let deny_rule = |text: &str| Rule { conds: Vec::new(), unknown: Vec::new(), action: Action::Drop, prov: Provenance::builtin(text) };
        // Lower every enabled policy, in file order (the order FortiOS evaluates; IDs are names).
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for e in v4_list {
            if e.set.first("status") == Some("disable") {
                continue;
            }
            if let Some(p) = self.policy(e, false, true) {
                v4.push(p);
            }
            if let Some(p) = self.policy(e, true, true) {
                v6.push(p);
            }
        }
        for e in v6_list {
            if e.set.first("status") == Some("disable") {
                continue;
            }
            if let Some(p) = self.policy(e, true, false) {
                v6.push(p);
            }
        }
        let mut rulesets: Vec<Ruleset> = Vec::new();
        let mut hooks = Vec::new();
        for (name, fam, list) in [("policy", Family::V4, &v4), ("policy6", Family::V6, &v6)] {
            if list.is_empty() && (fam == Family::V6 || !has_policy) && !(fam == Family::V4 && self.cx.has_interfaces) {
                continue;
            }
            let idx = rulesets.len();
            rulesets.push(Ruleset {
                name: name.into(),
                table: "firewall".into(),
                family: fam,
                default: Some(Action::Drop),
                default_prov: Provenance::builtin(IMPLICIT_DENY),
                rules: vec![replies()],
            });
            for p in list {
                Self::emit(&mut rulesets, idx, p, &p.action, fam);
            }
            // Intra-zone traffic allowed by `set intrazone allow`, after the policies.
            for e in self.entries("system zone") {
                if e.set.first("intrazone") != Some("allow") {
                    continue;
                }
                let Some(st) = e.set.stmt("intrazone").cloned() else { continue };
                let members = self.zones.get(&e.name).cloned().unwrap_or_default();
                for a in &members {
                    for b in &members {
                        if a != b {
                            if let Some(rs) = rulesets.get_mut(idx) {
                                rs.rules.push(Rule {
                                    conds: vec![Cond::is(Test::InIface(a.clone())), Cond::is(Test::OutIface(b.clone()))],
                                    unknown: Vec::new(),
                                    action: Action::Accept,
                                    prov: self.prov(&st),
                                });
                            }
                        }
                    }
                }
            }
            if let Some(rs) = rulesets.get_mut(idx) {
                rs.rules.push(deny_rule(IMPLICIT_DENY));
            }
            hooks.push(HookBinding { hook: Hook::Forward, stage: Stage::Filter, priority: 0, ruleset: idx, family: fam });
        }
        // Source NAT mirrors the accepted policies: the first matching one decides.
        for (name, fam, list) in [("source-nat", Family::V4, &v4), ("source-nat6", Family::V6, &v6)] {
            if !list.iter().any(|p| p.nat.is_some()) {
                continue;
            }
            let idx = rulesets.len();
            rulesets.push(Ruleset {
                name: name.into(),
                table: "nat".into(),
                family: fam,
                default: Some(Action::Accept),
                default_prov: Provenance::builtin("no source NAT"),
                rules: Vec::new(),
            });
            for p in list.iter().filter(|p| p.action == Action::Accept) {
                let a = p.nat.clone().unwrap_or(Action::Accept);
                Self::emit(&mut rulesets, idx, p, &a, fam);
            }
            hooks.push(HookBinding { hook: Hook::Postrouting, stage: Stage::SrcNat, priority: 100, ruleset: idx, family: fam });
        }
        // VIPs: destination NAT before the policy lookup.
        if let Some(rs) = self.vips() {
            let idx = rulesets.len();
            rulesets.push(rs);
            hooks.push(HookBinding { hook: Hook::Prerouting, stage: Stage::DstNat, priority: -100, ruleset: idx, family: Family::V4 });
        }
        // Administrative access to the device.
        if self.cx.has_interfaces {
            for (name, fam, v6) in [("local-in", Family::V4, false), ("local-in6", Family::V6, true)] {
                let rules = self.local_in(global, v6);
                if v6 && rules.is_empty() {
                    continue;
                }
                let idx = rulesets.len();
                let mut all = vec![replies()];
                all.extend(rules);
                all.push(deny_rule(LOCAL_IN_DENY));
                rulesets.push(Ruleset {
                    name: name.into(),
                    table: "firewall".into(),
                    family: fam,
                    default: Some(Action::Drop),
                    default_prov: Provenance::builtin(LOCAL_IN_DENY),
                    rules: all,
                });
                hooks.push(HookBinding { hook: Hook::Input, stage: Stage::Filter, priority: 0, ruleset: idx, family: fam });
            }
        }
        fw.rulesets = rulesets;
        fw.hooks = hooks;
        Some(fw)
    }

    fn vips(&mut self) -> Option<Ruleset> {
        let list = self.entries("firewall vip");
        if list.is_empty() {
            return None;
        }
        let mut rules = Vec::new();
        for e in &list {
            if e.set.first("status") == Some("disable") {
                continue;
            }
            let prov = self.prov(&e.head);
            let ty = e.set.first("type").unwrap_or("static-nat").to_string();
            let Some((ext, mapped)) = self.vip_addrs(e) else {
                let st = e.set.stmt("extip").cloned().unwrap_or_else(|| e.head.clone());
                self.warn(codes::BAD_VALUE, &st, format!("VIP {}: missing or bad extip/mappedip", e.name));
                continue;
            };
            let mut conds = Vec::new();
            let mut unknown = Vec::new();
            if let Some(i) = e.set.first("extintf").filter(|i| *i != "any") {
                conds.push(Cond::is(Test::InIface(i.to_string())));
            }
            if let Some(sf) = e.set.get("src-filter").map(<[String]>::to_vec).filter(|v| !v.is_empty()) {
                let mut rs = Vec::new();
                for f in &sf {
                    match objects::addr_range(f).or_else(|| f.parse::<IpNet>().ok().map(AddrRange::from_net)) {
                        Some(r) => rs.push(r),
                        None => unknown.push(format!("source filter {f}")),
                    }
                }
                conds.push(Cond::is(Test::Src(rs)));
            }
            conds.push(Cond::is(Test::Dst(vec![ext])));
            let mapped_range = match mapped.as_slice() {
                [one] => Some(*one),
                _ => None,
            };
            let mut ports = None;
            if e.set.enabled("portforward") {
                let p = match e.set.first("protocol").unwrap_or("tcp") {
                    "tcp" => Some(objects::TCP),
                    "udp" => Some(objects::UDP),
                    "sctp" => Some(objects::SCTP),
                    "icmp" => Some(objects::ICMP),
                    _ => None,
                };
                let ext_port = e.set.first("extport").and_then(|v| objects::portrange(objects::TCP, v)).and_then(|m| m.dports.first().copied());
                let map_port = e.set.first("mappedport").and_then(|v| objects::portrange(objects::TCP, v)).and_then(|m| m.dports.first().copied());
                match (p, ext_port) {
                    (Some(p), Some(ep)) => {
                        conds.push(Cond::is(Test::Proto(vec![p])));
                        conds.push(Cond::is(Test::Dport(vec![ep])));
                        ports = Some(map_port.unwrap_or(ep));
                    }
                    (Some(p), None) if p == objects::ICMP => conds.push(Cond::is(Test::Proto(vec![p]))),
                    _ => {
                        let st = e.set.stmt("extport").cloned().unwrap_or_else(|| e.head.clone());
                        self.warn(codes::BAD_VALUE, &st, format!("VIP {}: bad port forwarding", e.name));
                        unknown.push("port forwarding".into());
                    }
                }
            }
            if ext.lo != ext.hi {
                self.info(
                    codes::UNMODELLED_MATCH,
                    &e.head,
                    format!("VIP {}: an address range maps address by address; the model translates to any address of the mapped range", e.name),
                );
            }
            let action = if ty != "static-nat" {
                let st = e.set.stmt("type").cloned().unwrap_or_else(|| e.head.clone());
                self.cx.diags.push(codes::UNMODELLED_TARGET, Severity::Warning, st.line, st.text, format!("VIP {}: type {ty} is not modelled", e.name));
                Action::Unknown(format!("VIP type {ty}"))
            } else {
                match mapped_range {
                    Some(m) => Action::Dnat(NatTarget { addr: Some(m), ports }),
                    None => {
                        let st = e.set.stmt("mappedip").cloned().unwrap_or_else(|| e.head.clone());
                        self.cx.diags.push(codes::UNMODELLED_TARGET, Severity::Warning, st.line, st.text, format!("VIP {}: several mapped ranges are not modelled", e.name));
                        Action::Unknown("VIP with several mapped ranges".into())
                    }
                }
            };
            if !unknown.is_empty() {
                self.warn(codes::UNMODELLED_MATCH, &e.head, format!("VIP {}: {} not modelled", e.name, unknown.join(", ")));
            }
            rules.push(Rule { conds, unknown, action, prov });
        }
        Some(Ruleset {
            name: "vip".into(),
            table: "nat".into(),
            family: Family::V4,
            default: Some(Action::Accept),
            default_prov: Provenance::builtin("no VIP matches: destination unchanged"),
            rules,
        })
    }

    fn local_in(&mut self, global: &Settings<'a>, v6: bool) -> Vec<Rule> {
        let port = |key: &str, dflt: u16| global.first(key).and_then(|v| v.parse::<u16>().ok()).unwrap_or(dflt);
        let mut rules = Vec::new();
        type Allows = Vec<(Vec<String>, Provenance, bool)>;
        let ifaces: Vec<(String, Allows)> =
            self.ifaces.iter().map(|i| (i.name.clone(), i.allow.clone())).collect();
        let fam_cond = Cond::is(Test::Dst(vec![v4_or_v6_all(v6)]));
        for (name, allows) in ifaces {
            for (vals, prov, is6) in allows {
                if is6 != v6 {
                    continue;
                }
                for v in &vals {
                    let base = vec![Cond::is(Test::InIface(name.clone())), fam_cond.clone()];
                    let mut push = |extra: Vec<Cond>, unknown: Vec<String>| {
                        let mut c = base.clone();
                        c.extend(extra);
                        rules.push(Rule { conds: c, unknown, action: Action::Accept, prov: prov.clone() });
                    };
                    if v == "ping" {
                        let (p, t) = if v6 { (objects::ICMP6, 128) } else { (objects::ICMP, 8) };
                        push(vec![Cond::is(Test::Proto(vec![p])), Cond::is(Test::Icmp { ty: Some(t), code: None })], Vec::new());
                    } else if let Some((_, key, d)) = ADMIN_PORTS.iter().find(|(n, _, _)| n == v) {
                        let pt = port(key, *d);
                        push(vec![Cond::is(Test::Proto(vec![objects::TCP])), Cond::is(Test::Dport(vec![(pt, pt)]))], Vec::new());
                    } else if let Some((_, p, lo, hi)) = FIXED_ACCESS.iter().find(|(n, _, _, _)| n == v) {
                        push(vec![Cond::is(Test::Proto(vec![*p])), Cond::is(Test::Dport(vec![(*lo, *hi)]))], Vec::new());
                    } else {
                        self.cx.diags.push(
                            codes::UNMODELLED_MATCH,
                            Severity::Warning,
                            prov.line,
                            &prov.text,
                            format!("interface {name}: allowaccess {v} opens ports that are not modelled"),
                        );
                        push(Vec::new(), vec![format!("allowaccess {v} on {name}")]);
                    }
                }
            }
        }
        if !v6 {
            for st in self.cx.local_services.clone() {
                let path = st.words.get(1..).unwrap_or(&[]).join(" ");
                let restricts = path.starts_with("firewall local-in-policy");
                rules.insert(
                    0,
                    Rule {
                        conds: Vec::new(),
                        unknown: vec![format!("config {path} (not read)")],
                        action: if restricts { Action::Unknown(format!("config {path}")) } else { Action::Accept },
                        prov: self.prov(&st),
                    },
                );
            }
        }
        rules
    }

    // ----- routes -----

    fn routes(&mut self) -> Vec<Route> {
        let table = self.cx.vdom.clone().unwrap_or_else(|| "main".to_string());
        let mut out = Vec::new();
        for (path, v6) in [("router static", false), ("router static6", true)] {
            for e in self.entries(path) {
                let s = &e.set;
                if s.first("status") == Some("disable") {
                    continue;
                }
                let prov = self.prov(&e.head);
                let mut skip = None;
                for k in ["sdwan", "virtual-wan-link", "dynamic-gateway"] {
                    if s.enabled(k) {
                        skip = Some(k);
                    }
                }
                if s.get("sdwan-zone").is_some_and(|v| !v.is_empty()) {
                    skip = Some("sdwan-zone");
                }
                if s.get("internet-service").is_some_and(|v| v.first().is_some_and(|x| x != "0")) {
                    skip = Some("internet-service");
                }
                if let Some(k) = skip {
                    let st = s.stmt(k).cloned().unwrap_or_else(|| e.head.clone());
                    self.warn(codes::UNMODELLED_MATCH, &st, format!("static route {}: {k} routes are not modelled; the route is left out", e.name));
                    continue;
                }
                let dst = if let Some(name) = s.first("dstaddr").filter(|n| !n.is_empty()) {
                    let st = s.stmt("dstaddr").cloned().unwrap_or_else(|| e.head.clone());
                    let a = self.addr(name, v6, &st, 0);
                    match a.ranges.as_slice() {
                        [r] if a.unknown.is_empty() => range_to_net(r),
                        _ => None,
                    }
                } else if v6 {
                    Some(s.first("dst").and_then(objects::v6_prefix).unwrap_or_else(|| "::/0".parse().unwrap_or(IpNet::V6(Default::default()))))
                } else {
                    match s.get("dst") {
                        None => Some(IpNet::V4(Default::default())),
                        Some(v) => objects::v4_prefix(v),
                    }
                };
                let Some(dst) = dst else {
                    let st = s.stmt("dst").or_else(|| s.stmt("dstaddr")).cloned().unwrap_or_else(|| e.head.clone());
                    self.warn(codes::BAD_VALUE, &st, format!("static route {}: bad destination", e.name));
                    continue;
                };
                let via = s.first("gateway").and_then(|g| g.parse::<IpAddr>().ok()).filter(|g| !g.is_unspecified());
                if let Some(g) = s.first("gateway") {
                    if g.parse::<IpAddr>().is_err() {
                        if let Some(st) = s.stmt("gateway").cloned() {
                            self.warn(codes::BAD_VALUE, &st, format!("static route {}: bad gateway", e.name));
                        }
                    }
                }
                let kind = if s.enabled("blackhole") { RouteKind::Blackhole } else { RouteKind::Unicast };
                let metric = s.first("distance").and_then(|d| d.parse().ok()).unwrap_or(STATIC_DISTANCE);
                let dev = s.first("device").map(str::to_string).filter(|d| !d.is_empty() && kind == RouteKind::Unicast);
                out.push(Route { dst: dst.trunc(), via, dev, kind, metric, src: None, table: table.clone(), prov });
            }
        }
        out
    }
}

fn range_to_net(r: &AddrRange) -> Option<IpNet> {
    let lo = crate::space::addr_to_u128(r.lo);
    let hi = crate::space::addr_to_u128(r.hi);
    let size = hi.checked_sub(lo)?.checked_add(1)?;
    if !size.is_power_of_two() || !lo.is_multiple_of(size) {
        return None;
    }
    let bits = if r.lo.is_ipv4() { 32 } else { 128 };
    let len = bits - size.trailing_zeros() as u8;
    IpNet::new(r.lo, len).ok()
}
