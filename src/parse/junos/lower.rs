//! Junos set statements into the model.
//!
//! Pass one ([`Collect`]) reads every active statement into plain tables (interfaces, filters
//! and their terms, zones, policies, address books, applications, NAT rule-sets, routes) and
//! reports statements it does not know. Pass two ([`Lower`]) resolves names and builds rulesets
//! and hook bindings.
#![allow(clippy::type_complexity)]

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::flatten::{Flat, LineIndex, Stmt, Word};
use super::names::{self, AppTerm};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, Interface, NatTarget, Route, RouteKind, Rule, Ruleset,
    Stage, Test,
};
use crate::space::{self, tcp_flags, Ct, Ranges};

/// Junos's static route preference when none is configured (Junos OS Routing Protocols
/// Overview, "Route Preference Values": static 5).
const STATIC_PREFERENCE: u32 = 5;

/// SRX default policy when `security policies default-policy` is absent: deny all (Junos OS
/// Security Policies User Guide, "default-policy": "deny-all" is the default).
const SRX_DEFAULT_POLICY_PERMIT: bool = false;

/// Out-of-band management interfaces of SRX and Junos routing engines.
const MGMT_IFACES: &[&str] = &["fxp0.", "em0.", "me0.", "vme."];

/// Depth bound when expanding nested address sets, application sets and filters.
const MAX_DEPTH: u32 = 8;

/// Most addresses a static NAT prefix maps one by one.
const STATIC_NAT_MAX: u128 = 256;

/// What lowering produces.
pub struct Lowered {
    /// `system host-name`.
    pub hostname: Option<String>,
    /// Logical interfaces (`ge-0/0/0.0`).
    pub interfaces: Vec<Interface>,
    /// Static routes.
    pub routes: Vec<Route>,
    /// Filters, policies and NAT.
    pub firewall: Option<Firewall>,
}

/// An insertion-ordered map.
struct OMap<T> {
    v: Vec<(String, T)>,
    idx: HashMap<String, usize>,
}

impl<T> Default for OMap<T> {
    fn default() -> Self {
        OMap { v: Vec::new(), idx: HashMap::new() }
    }
}

impl<T> OMap<T> {
    fn entry(&mut self, k: &str, f: impl FnOnce() -> T) -> &mut T {
        let i = match self.idx.get(k) {
            Some(&i) => i,
            None => {
                self.v.push((k.to_string(), f()));
                self.idx.insert(k.to_string(), self.v.len() - 1);
                self.v.len() - 1
            }
        };
        &mut self.v[i].1
    }
    fn get(&self, k: &str) -> Option<&T> {
        self.idx.get(k).and_then(|&i| self.v.get(i)).map(|x| &x.1)
    }
    fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
        self.v.iter().map(|(k, v)| (k, v))
    }
    fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
}

/// Statement tails (the words after an object's name) with their line.
type Tails<'a> = Vec<(Vec<Word<'a>>, u32)>;

#[derive(Default)]
struct IfaceRaw {
    line: u32,
    addrs: Vec<(IpNet, u32)>,
    disabled: bool,
    /// Filters per direction and family: input v4, output v4, input v6, output v6.
    filters: [Vec<(String, u32)>; 4],
}

#[derive(Default)]
struct FilterRaw<'a> {
    line: u32,
    terms: OMap<TermRaw<'a>>,
}

#[derive(Default)]
struct TermRaw<'a> {
    line: u32,
    from: Tails<'a>,
    then: Tails<'a>,
    nested: Option<(String, u32)>,
    other: Tails<'a>,
}

#[derive(Clone)]
enum AddrDef {
    Ranges(Vec<AddrRange>),
    Unknown(String),
}

#[derive(Default)]
struct Book {
    addrs: HashMap<String, (AddrDef, u32)>,
    sets: HashMap<String, Vec<(String, u32)>>,
}

#[derive(Default)]
struct ZoneRaw {
    ifaces: Vec<(String, u32)>,
    host: Vec<HostEntry>,
    iface_host: OMap<Vec<HostEntry>>,
    book: Book,
}

#[derive(Clone)]
struct HostEntry {
    protocol: bool,
    name: String,
    except: bool,
    line: u32,
}

#[derive(Default)]
struct PolicyRaw<'a> {
    line: u32,
    matches: Tails<'a>,
    then: Tails<'a>,
    other: Tails<'a>,
}

#[derive(Default)]
struct AppRaw<'a> {
    top: Tails<'a>,
    terms: OMap<Tails<'a>>,
}

#[derive(Default)]
struct NatSetRaw<'a> {
    line: u32,
    from: Vec<(String, String, u32)>,
    to: Vec<(String, String, u32)>,
    rules: OMap<NatRuleRaw<'a>>,
}

#[derive(Default)]
struct NatRuleRaw<'a> {
    line: u32,
    matches: Tails<'a>,
    then: Tails<'a>,
}

#[derive(Default)]
struct PoolRaw<'a> {
    line: u32,
    tails: Tails<'a>,
}

#[derive(Default)]
struct RouteRaw<'a> {
    line: u32,
    tails: Tails<'a>,
}

/// Everything read from the statements.
#[derive(Default)]
struct Config<'a> {
    hostname: Option<String>,
    ifaces: OMap<IfaceRaw>,
    phys_disabled: HashSet<String>,
    filters: OMap<FilterRaw<'a>>,
    prefix_lists: OMap<(u32, Vec<(IpNet, u32)>, Vec<(String, u32)>)>,
    routes: OMap<RouteRaw<'a>>,
    has_security: bool,
    zones: OMap<ZoneRaw>,
    global_book: Book,
    named_books: OMap<(Book, Vec<String>)>,
    policies: OMap<(u32, OMap<PolicyRaw<'a>>)>,
    global_policies: OMap<PolicyRaw<'a>>,
    default_policy: Option<(bool, u32)>,
    apps: OMap<AppRaw<'a>>,
    app_sets: OMap<(u32, Vec<(String, u32)>)>,
    nat_src: OMap<NatSetRaw<'a>>,
    nat_dst: OMap<NatSetRaw<'a>>,
    nat_static: OMap<NatSetRaw<'a>>,
    src_pools: OMap<PoolRaw<'a>>,
    dst_pools: OMap<PoolRaw<'a>>,
    dynamic: Option<(u32, Vec<String>)>,
    noted: HashSet<String>,
}

/// Junos stanzas that do not change which packets pass (management, logging, hardware,
/// switching and class of service).
const IRRELEVANT_TOP: &[&str] = &[
    "version",
    "chassis",
    "snmp",
    "class-of-service",
    "event-options",
    "access",
    "access-profile",
    "poe",
    "vlans",
    "ethernet-switching-options",
    "switch-options",
    "bridge-domains",
    "virtual-chassis",
    "multi-chassis",
    "accounting-options",
    "services",
    "smtp",
    "schedulers",
    "dynamic-profiles",
    "jsrc",
    "jsrc-partition",
    "diameter",
    "multicast-snooping-options",
    "fabric",
    "vmhost",
    "apply-groups",
    "apply-macro",
    "wlan",
    "redundant-power-system",
    "protection-group",
    "time-zone",
    "tenants-defaults",
];

/// Physical interface settings that do not change addressing or filtering.
const IRRELEVANT_PHYS: &[&str] = &[
    "description", "mtu", "vlan-tagging", "flexible-vlan-tagging", "stacked-vlan-tagging", "encapsulation", "native-vlan-id",
    "speed", "link-mode", "mac", "hold-time", "damping", "traceoptions", "per-unit-scheduler", "hierarchical-scheduler",
    "shared-scheduler", "no-gratuitous-arp-request", "gratuitous-arp-reply", "no-gratuitous-arp-reply", "framing",
    "auto-negotiation", "no-auto-negotiation", "enable", "vlan-vci-tagging", "esi", "passive-monitor-mode", "flow-control",
    "no-flow-control", "loopback", "media-type", "clocking", "dce", "apply-groups", "apply-groups-except", "interface-set",
    "mtu-discovery", "vlan-offload", "promiscuous-mode", "receive-bucket", "transmit-bucket", "disable-poe", "link-degrade-monitor",
    "interface-transmit-statistics", "no-keepalives", "keepalives", "cable-modem", "logical-tunnel-options", "fastether-options",
];

/// Logical unit settings that do not change addressing or filtering.
const IRRELEVANT_UNIT: &[&str] = &[
    "description", "vlan-id", "vlan-id-list", "vlan-id-range", "vlan-tags", "encapsulation", "bandwidth", "tunnel", "input-vlan-map",
    "output-vlan-map", "proxy-arp", "arp-resp", "mac", "point-to-point", "multipoint", "traps", "no-traps", "native-inner-vlan-id",
    "peer-unit", "accounting-profile", "apply-groups", "enable", "interface-shared-with", "clear-dont-fragment-bit",
    "copy-tos-to-outer-ip-header", "keepalives", "virtual-gateway-accept-data", "vlan-rewrite", "alias", "dialer-options",
    "interface-mode", "demux-source", "demux-options", "mtu", "radio-router", "short-reach-mode", "vlan-name",
];

/// `family inet|inet6` settings that do not change addressing or filtering.
const IRRELEVANT_FAMILY: &[&str] = &[
    "mtu", "no-redirects", "primary", "sampling", "targeted-broadcast", "policer", "accounting", "unnumbered-address",
    "destination-udp-port", "no-neighbor-learn", "dad-disable", "nd6-stale-time", "ipsec-sa", "demux-source", "apply-groups",
    "receive-ttl-exceeded", "arp-max-cache", "ndp-max-cache", "preferred", "address-assignment", "negotiate-address",
    "unnumbered-address", "simple-filter-input", "max-sessions", "filter-attach", "nd6-max-cache", "no-neighbor-learn",
];

/// `routing-options` settings other than static routes: routing-protocol and forwarding-table
/// tuning that changes no static route.
const IRRELEVANT_RO: &[&str] = &[
    "router-id", "autonomous-system", "forwarding-table", "rib-groups", "interface-routes", "graceful-restart",
    "nonstop-routing", "multipath", "resolution", "instance-import", "instance-export", "confederation", "martians",
    "maximum-paths", "maximum-prefixes", "options", "source-routing", "srlg", "traceoptions", "auto-export",
    "dynamic-tunnels", "flow", "ppm", "route-distinguisher-id", "validation", "bmp", "transport-class", "fate-sharing",
    "label", "topologies", "protect", "programmable-rpd", "backup-selection", "ipv6-router-id", "apply-groups",
    "multicast", "policy-statement", "med-igp-update-interval", "nexthop-learning", "no-multipath-resolve",
];

/// Dynamic routing protocols: routes they learn are not modelled.
const DYNAMIC_PROTOCOLS: &[&str] =
    &["bgp", "ospf", "ospf3", "isis", "rip", "ripng", "evpn", "ldp", "mpls", "rsvp", "pim", "msdp", "l2vpn", "vpls", "l2circuit", "esis", "mvpn", "igmp", "mld"];

/// Protocols stanzas that do not change routes or filtering.
const IRRELEVANT_PROTOCOLS: &[&str] = &[
    "lldp",
    "lldp-med",
    "rstp",
    "mstp",
    "vstp",
    "stp",
    "igmp-snooping",
    "mld-snooping",
    "router-advertisement",
    "neighbor-discovery",
    "layer2-control",
    "sflow",
    "dcbx",
    "vrrp",
    "bfd",
    "connections",
    "iccp",
    "uplink-failure-detection",
    "ethernet-switching",
    "dot1x",
    "oam",
    "ptp",
    "mvrp",
    "lacp",
    "router-discovery",
    "amt",
    "l2-learning",
    "protection-group",
    "loop-detect",
    "sla",
    "apply-groups",
];

fn parse_net(w: &str) -> Option<IpNet> {
    if let Ok(n) = w.parse::<IpNet>() {
        return Some(n);
    }
    w.parse::<IpAddr>().ok().map(IpNet::from)
}

/// The addresses of a prefix, within its family.
fn net_ranges(n: &IpNet) -> Ranges {
    space::prefix_range(n).intersect(&space::family_range(matches!(n, IpNet::V6(_))))
}

fn to_addr_ranges(r: &Ranges) -> Vec<AddrRange> {
    r.as_slice().iter().map(|&(lo, hi)| AddrRange { lo: space::u128_to_addr(lo), hi: space::u128_to_addr(hi) }).collect()
}

fn from_addr_ranges(v: &[AddrRange]) -> Ranges {
    Ranges::from_ranges(v.iter().map(|r| (space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))).collect())
}

/// Junos address lists with `except`: the most specific listed prefix decides.
fn lpm_set(entries: &[(IpNet, bool)]) -> Ranges {
    let mut es: Vec<&(IpNet, bool)> = entries.iter().collect();
    es.sort_by_key(|(n, _)| n.prefix_len());
    let mut r = Ranges::empty();
    for (n, ex) in es {
        let p = net_ranges(n);
        r = if *ex { r.difference(&p) } else { r.union(&p) };
    }
    r
}

/// Interface names in zones and NAT: a physical name means its unit 0.
fn unit_name(w: &str) -> String {
    if w.contains('.') || w == "all" {
        w.to_string()
    } else {
        format!("{w}.0")
    }
}

struct Collect<'a> {
    cfg: Config<'a>,
    diags: &'a mut Diags,
    text: LineIndex<'a>,
}

impl<'a> Collect<'a> {
    fn line_text(&self, line: u32) -> &'a str {
        self.text.trimmed(line)
    }

    fn warn(&mut self, code: &'static str, line: u32, reason: impl Into<String>) {
        let t = self.line_text(line);
        self.diags.push(code, Severity::Warning, line, t, reason);
    }

    fn info(&mut self, code: &'static str, line: u32, reason: impl Into<String>) {
        let t = self.line_text(line);
        self.diags.push(code, Severity::Info, line, t, reason);
    }

    fn unknown(&mut self, s: &Stmt<'_, 'a>, at: usize) {
        let what = s.words.get(at..).map(|w| w.join(" ")).unwrap_or_default();
        let ctx = s.words.get(..at).map(|w| w.join(" ")).unwrap_or_default();
        let reason = if ctx.is_empty() {
            format!("unrecognized statement `{what}`")
        } else {
            format!("unrecognized statement `{what}` under `{ctx}`")
        };
        let line = s.line_at(at);
        self.warn(codes::UNRECOGNIZED, line, reason);
    }

    /// Note once (per key) that a section is not modelled.
    fn note_once(&mut self, key: &str, line: u32, severity: Severity, code: &'static str, reason: String) {
        if self.cfg.noted.insert(key.to_string()) {
            let t = self.line_text(line);
            self.diags.push(code, severity, line, t, reason);
        }
    }

    fn stmt(&mut self, s: &Stmt<'_, 'a>) {
        let w = s.ws();
        let n = w.len();
        if n >= 2 && w[n - 2] == "apply-groups-except" {
            self.warn(codes::UNMODELLED_MATCH, s.line(), "apply-groups-except is not followed: groups may be applied here");
            return;
        }
        if n >= 2 && matches!(w[n - 2], "apply-groups" | "apply-macro" | "apply-flags") {
            return;
        }
        if n >= 1 && w[n - 1] == "apply-flags" {
            return;
        }
        match w.first().copied() {
            Some("system") => {
                if w.get(1) == Some(&"host-name") {
                    if let Some(h) = w.get(2) {
                        self.cfg.hostname = Some((*h).to_string());
                    }
                }
            }
            Some("interfaces") => self.interface(s, w),
            Some("firewall") => self.firewall(s, w),
            Some("policy-options") => self.policy_options(s, w),
            Some("routing-options") => self.routing_options(s, w, 1, "main"),
            Some("routing-instances") => self.routing_instance(s, w),
            Some("protocols") => self.protocols(s, w, 1),
            Some("security") => self.security(s, w),
            Some("applications") => self.applications(s, w),
            Some("forwarding-options") => {
                if w.contains(&"filter") && w.get(1) == Some(&"family") {
                    self.warn(codes::UNMODELLED_MATCH, s.line(), "forwarding-table filters are not modelled");
                }
            }
            Some("logical-systems") | Some("tenants") => {
                let key = format!("{} {}", w[0], w.get(1).unwrap_or(&""));
                self.note_once(
                    &key,
                    s.line(),
                    Severity::Warning,
                    codes::UNMODELLED_MATCH,
                    format!("{} `{}` is a separate routing and security context that is not modelled", w[0], w.get(1).unwrap_or(&"")),
                );
            }
            Some(x) if IRRELEVANT_TOP.contains(&x) => {}
            _ => self.unknown(s, 0),
        }
    }

    fn interface(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str]) {
        let Some(&ifname) = w.get(1) else { return self.unknown(s, 0) };
        if ifname == "interface-range" {
            let key = format!("interface-range {}", w.get(2).unwrap_or(&""));
            return self.note_once(&key, s.line(), Severity::Warning, codes::UNMODELLED_MATCH, "interface ranges are not expanded: settings of their member interfaces are not modelled".into());
        }
        if ifname == "traceoptions" {
            return;
        }
        let rest = &w[2..];
        let (unit, rest, at) = match rest {
            ["unit", u, tail @ ..] => (u.to_string(), tail, 4),
            ["family", ..] => ("0".to_string(), rest, 2),
            _ => {
                match rest {
                    ["disable"] => {
                        self.cfg.phys_disabled.insert(ifname.to_string());
                    }
                    [] => {}
                    [k, ..] if IRRELEVANT_PHYS.contains(k) || k.ends_with("-members") || k.ends_with("-options") => {}
                    _ => self.unknown(s, 2),
                }
                return;
            }
        };
        let name = format!("{ifname}.{unit}");
        let line = s.line_at(at.min(s.words.len().saturating_sub(1)));
        let ifr = self.cfg.ifaces.entry(&name, || IfaceRaw { line, ..Default::default() });
        match rest {
            ["disable"] => ifr.disabled = true,
            ["family", fam @ ("inet" | "inet6"), tail @ ..] => {
                let v6 = *fam == "inet6";
                match tail {
                    ["address", a, ..] => match a.parse::<IpNet>() {
                        Ok(n) => ifr.addrs.push((n, s.line())),
                        Err(_) => self.warn(codes::BAD_VALUE, s.line(), format!("`{a}` is not an address with a prefix length")),
                    },
                    ["filter", dir @ ("input" | "output" | "input-list" | "output-list"), f, ..] => {
                        let k = usize::from(dir.starts_with("output")) + if v6 { 2 } else { 0 };
                        ifr.filters[k].push((f.to_string(), s.line()));
                    }
                    ["filter", "group", ..] => {}
                    ["dhcp" | "dhcp-client" | "dhcpv6-client" | "autoconf", ..] => {
                        let key = format!("dhcp {name}");
                        self.note_once(&key, s.line(), Severity::Info, codes::UNMODELLED_MATCH, format!("the address of {name} is assigned dynamically and unknown"));
                    }
                    ["service", ..] | ["simple-filter", ..] => {
                        self.warn(codes::UNMODELLED_MATCH, s.line(), "service sets and simple filters on interfaces are not modelled");
                    }
                    ["rpf-check", ..] | ["mac-validate", ..] => {
                        self.info(codes::UNMODELLED_MATCH, s.line(), "reverse-path and MAC validation checks are not modelled (spoofed sources may be dropped)");
                    }
                    [] => {}
                    [k, ..] if IRRELEVANT_FAMILY.contains(k) => {}
                    _ => self.unknown(s, at + 2),
                }
            }
            ["family", fam, "filter", "input" | "output" | "input-list" | "output-list", ..] if !matches!(*fam, "mpls" | "iso") => {
                self.warn(codes::UNMODELLED_MATCH, s.line(), format!("family {fam} filters (layer 2) are not modelled"));
            }
            // Other families (MPLS, ISO, bridging, switching, circuit cross-connects) carry no
            // IP filtering of their own.
            ["family", ..] | [] => {}
            [k, ..] if IRRELEVANT_UNIT.contains(k) => {}
            _ => self.unknown(s, at),
        }
    }

    fn firewall(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str]) {
        let (fam, name, at) = match w {
            ["firewall", "family", fam, "filter", name, ..] => (*fam, *name, 5),
            ["firewall", "filter", name, ..] => ("inet", *name, 3),
            ["firewall", "family", _, "service-filter" | "simple-filter" | "prefix-action" | "fast-update-filter", ..] => return,
            ["firewall", "policer" | "hierarchical-policer" | "three-color-policer" | "load-balance-group" | "interface-set", ..] => return,
            ["firewall", "family", ..] => return,
            _ => return self.unknown(s, 1),
        };
        if !matches!(fam, "inet" | "inet6") {
            // Layer-2 and MPLS filters: their bindings are reported where interfaces use them.
            return;
        }
        let key = format!("{fam} {name}");
        let hline = s.line_at(at - 1);
        let f = self.cfg.filters.entry(&key, || FilterRaw { line: hline, ..Default::default() });
        let rest = &w[at..];
        match rest {
            ["term", t, tail @ ..] => {
                let tline = s.line_at(at + 1);
                let term = f.terms.entry(t, || TermRaw { line: tline, ..Default::default() });
                let own = |k: usize| -> Vec<Word> { tail_of(s, &tail[k..]) };
                match tail {
                    [] => {}
                    ["from", ..] => term.from.push((own(1), s.line())),
                    ["then", ..] => term.then.push((own(1), s.line())),
                    ["filter", x] => term.nested = Some((x.to_string(), s.line())),
                    _ => term.other.push((own(0), s.line())),
                }
            }
            [] | ["interface-specific" | "accounting-profile" | "instance-shared" | "physical-interface-filter" | "fast-lookup-filter" | "enhanced-mode" | "filter-specific" | "enhanced-mode-override" | "promote", ..] => {}
            _ => self.unknown(s, at),
        }
    }

    fn policy_options(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str]) {
        match w {
            ["policy-options", "prefix-list", name, rest @ ..] => {
                let line = s.line_at(2);
                let pl = self.cfg.prefix_lists.entry(name, || (line, Vec::new(), Vec::new()));
                match rest {
                    [] => {}
                    ["apply-path", pat] => pl.2.push((pat.to_string(), s.line())),
                    [p, ..] => match parse_net(p) {
                        Some(n) => pl.1.push((n, s.line())),
                        None => self.warn(codes::BAD_VALUE, s.line(), format!("`{p}` is not a prefix")),
                    },
                }
            }
            // Routing policy, communities, AS paths: they act on routes learnt dynamically.
            ["policy-options", ..] => {}
            _ => {}
        }
    }

    fn routing_options(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str], at: usize, table: &str) {
        let rest = w.get(at..).unwrap_or(&[]);
        let (table, tail, off) = match rest {
            ["static", t @ ..] => (table.to_string(), t, at + 1),
            ["rib", rib, "static", t @ ..] => {
                let tb = rib.trim_end_matches(".0").trim_end_matches(".inet").trim_end_matches(".inet6");
                let tb = if matches!(tb, "inet" | "inet6") { table.to_string() } else { tb.to_string() };
                (tb, t, at + 3)
            }
            ["aggregate" | "generate", ..] | ["rib", _, "aggregate" | "generate", ..] => {
                let key = format!("aggregate {table}");
                return self.note_once(&key, s.line(), Severity::Info, codes::UNMODELLED_MATCH, "aggregate and generated routes depend on dynamic routes and are not modelled".into());
            }
            [k, ..] if IRRELEVANT_RO.contains(k) => return,
            ["rib", _, k, ..] if IRRELEVANT_RO.contains(k) => return,
            [] | ["rib", ..] => return,
            _ => return self.unknown(s, at),
        };
        if let ["route", p, more @ ..] = tail {
            let key = format!("{table}|{p}");
            let line = s.line_at(off + 1);
            let r = self.cfg.routes.entry(&key, || RouteRaw { line, tails: Vec::new() });
            r.tails.push((tail_of(s, more), s.line()));
        }
    }

    fn routing_instance(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str]) {
        let Some(name) = w.get(1) else { return self.unknown(s, 0) };
        let key = format!("routing-instance {name}");
        self.note_once(
            &key,
            s.line(),
            Severity::Info,
            codes::UNMODELLED_MATCH,
            format!("routing instance {name}: its static routes keep the table name {name}, but route lookups do not yet separate the instances"),
        );
        match w.get(2).copied() {
            Some("routing-options") => self.routing_options(s, w, 3, name),
            Some("protocols") => self.protocols(s, w, 3),
            Some(
                "instance-type" | "interface" | "route-distinguisher" | "vrf-target" | "vrf-import" | "vrf-export" | "description"
                | "vrf-table-label" | "vlans" | "bridge-domains" | "system" | "services" | "switch-options" | "provider-tunnel"
                | "multicast-snooping-options" | "no-vrf-advertise" | "forwarding-options" | "routing-interface" | "vtep-source-interface"
                | "l2vpn-id" | "egress-protection" | "no-vrf-propagate-ttl" | "vlan-id" | "apply-groups",
            )
            | None => {}
            Some(_) => self.unknown(s, 2),
        }
    }

    fn protocols(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str], at: usize) {
        let Some(&p) = w.get(at) else { return };
        if DYNAMIC_PROTOCOLS.contains(&p) {
            match &mut self.cfg.dynamic {
                None => self.cfg.dynamic = Some((s.line(), vec![p.to_string()])),
                Some((_, v)) => {
                    if !v.iter().any(|x| x == p) {
                        v.push(p.to_string());
                    }
                }
            }
        } else if !IRRELEVANT_PROTOCOLS.contains(&p) {
            self.unknown(s, at);
        }
    }

    fn applications(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str]) {
        match w {
            ["applications", "application", name, rest @ ..] => {
                let a = self.cfg.apps.entry(name, AppRaw::default);
                match rest {
                    [] => {}
                    ["term", t, tail @ ..] => {
                        a.terms.entry(t, Vec::new).push((tail_of(s, tail), s.line()));
                    }
                    _ => a.top.push((tail_of(s, rest), s.line())),
                }
            }
            ["applications", "application-set", name, rest @ ..] => {
                let line = s.line_at(2);
                let set = self.cfg.app_sets.entry(name, || (line, Vec::new()));
                match rest {
                    ["application" | "application-set", m] => set.1.push((m.to_string(), s.line())),
                    [] | ["description", ..] => {}
                    _ => self.unknown(s, 3),
                }
            }
            _ => self.unknown(s, 1),
        }
    }

    fn book_entry(&mut self, s: &Stmt<'_, 'a>, rest: &[&'a str], at: usize, which: BookRef) {
        let line = s.line();
        let def: Option<(String, Option<(AddrDef, u32)>, Option<(String, u32)>)> = match rest {
            ["address", name, "description", ..] | ["address-set", name, "description", ..] => {
                let _ = name;
                None
            }
            ["address", name, "dns-name", host, ..] => {
                Some((name.to_string(), Some((AddrDef::Unknown(format!("address {name} is the DNS name {host}")), line)), None))
            }
            ["address", name, "wildcard-address", wa, ..] => {
                Some((name.to_string(), Some((AddrDef::Unknown(format!("address {name} is the wildcard {wa}")), line)), None))
            }
            ["address", name, "range-address", a, "to", b, ..] => match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
                (Ok(a), Ok(b)) if a.is_ipv4() == b.is_ipv4() && a <= b => {
                    Some((name.to_string(), Some((AddrDef::Ranges(vec![AddrRange { lo: a, hi: b }]), line)), None))
                }
                _ => {
                    self.warn(codes::BAD_VALUE, line, format!("`{a} to {b}` is not an address range"));
                    Some((name.to_string(), Some((AddrDef::Unknown(format!("address {name} has a bad range")), line)), None))
                }
            },
            ["address", name, p, ..] => match parse_net(p) {
                Some(n) => Some((name.to_string(), Some((AddrDef::Ranges(to_addr_ranges(&net_ranges(&n))), line)), None)),
                None => {
                    self.warn(codes::BAD_VALUE, line, format!("`{p}` is not an address or prefix"));
                    Some((name.to_string(), Some((AddrDef::Unknown(format!("address {name} has a bad value")), line)), None))
                }
            },
            ["address", _] => None,
            ["address-set", name, "address" | "address-set", m] => Some((name.to_string(), None, Some((m.to_string(), line)))),
            ["address-set", _] => None,
            ["attach", "zone", z] => {
                if let BookRef::Named(b) = &which {
                    let b = b.clone();
                    self.cfg.named_books.entry(&b, Default::default).1.push(z.to_string());
                }
                None
            }
            ["description", ..] | [] => None,
            _ => {
                self.unknown(s, at);
                None
            }
        };
        let Some((name, addr, member)) = def else { return };
        let book = match which {
            BookRef::Global => &mut self.cfg.global_book,
            BookRef::Named(b) => &mut self.cfg.named_books.entry(&b, Default::default).0,
            BookRef::Zone(z) => &mut self.cfg.zones.entry(&z, Default::default).book,
        };
        if let Some(a) = addr {
            // The first definition wins; a later one with the same name only adds ranges.
            match book.addrs.get_mut(&name) {
                Some((AddrDef::Ranges(v), _)) => {
                    if let AddrDef::Ranges(w) = a.0 {
                        v.extend(w);
                    }
                }
                Some(_) => {}
                None => {
                    book.addrs.insert(name.clone(), a);
                }
            }
        }
        if let Some(m) = member {
            book.sets.entry(name).or_default().push(m);
        }
    }

    fn security(&mut self, s: &Stmt<'_, 'a>, w: &[&'a str]) {
        match w {
            ["security", "zones", kind @ ("security-zone" | "functional-zone"), z, rest @ ..] => {
                self.cfg.has_security = true;
                let zname = if *kind == "functional-zone" { format!("functional-zone {z}") } else { z.to_string() };
                self.cfg.zones.entry(&zname, ZoneRaw::default);
                match rest {
                    ["interfaces", i, tail @ ..] => {
                        let iname = unit_name(i);
                        let zr = self.cfg.zones.entry(&zname, Default::default);
                        if !zr.ifaces.iter().any(|(x, _)| *x == iname) {
                            zr.ifaces.push((iname.clone(), s.line()));
                        }
                        if let ["host-inbound-traffic", kind @ ("system-services" | "protocols"), svc, more @ ..] = tail {
                            let e = HostEntry { protocol: *kind == "protocols", name: svc.to_string(), except: more.first() == Some(&"except"), line: s.line() };
                            zr.iface_host.entry(&iname, Vec::new).push(e);
                        }
                    }
                    ["host-inbound-traffic", kind @ ("system-services" | "protocols"), svc, more @ ..] => {
                        let e = HostEntry { protocol: *kind == "protocols", name: svc.to_string(), except: more.first() == Some(&"except"), line: s.line() };
                        self.cfg.zones.entry(&zname, Default::default).host.push(e);
                    }
                    ["address-book", tail @ ..] => self.book_entry(s, tail, 6, BookRef::Zone(zname)),
                    [] | ["screen" | "tcp-rst" | "description" | "application-tracking" | "enable-reverse-reroute" | "advance-policy-based-routing-profile" | "source-identity-log" | "unidirectional-session-refreshing", ..] => {}
                    _ => self.unknown(s, 4),
                }
            }
            ["security", "address-book", b, tail @ ..] => {
                let which = if *b == "global" { BookRef::Global } else { BookRef::Named(b.to_string()) };
                self.book_entry(s, tail, 3, which);
            }
            ["security", "policies", "from-zone", a, "to-zone", b, rest @ ..] => {
                self.cfg.has_security = true;
                let key = format!("{a}\u{0}{b}");
                let line = s.line_at(2);
                let pair = self.cfg.policies.entry(&key, || (line, OMap::default()));
                if let ["policy", p, tail @ ..] = rest {
                    let pline = s.line_at(7);
                    let pol = pair.1.entry(p, || PolicyRaw { line: pline, ..Default::default() });
                    match tail {
                        ["match", m @ ..] => pol.matches.push((tail_of(s, m), s.line())),
                        ["then", m @ ..] => pol.then.push((tail_of(s, m), s.line())),
                        [] | ["description", ..] => {}
                        _ => pol.other.push((tail_of(s, tail), s.line())),
                    }
                } else if !rest.is_empty() {
                    self.unknown(s, 6);
                }
            }
            ["security", "policies", "global", "policy", p, tail @ ..] => {
                self.cfg.has_security = true;
                let pline = s.line_at(4);
                let pol = self.cfg.global_policies.entry(p, || PolicyRaw { line: pline, ..Default::default() });
                match tail {
                    ["match", m @ ..] => pol.matches.push((tail_of(s, m), s.line())),
                    ["then", m @ ..] => pol.then.push((tail_of(s, m), s.line())),
                    [] | ["description", ..] => {}
                    _ => pol.other.push((tail_of(s, tail), s.line())),
                }
            }
            ["security", "policies", "default-policy", d] => {
                self.cfg.has_security = true;
                match *d {
                    "permit-all" => self.cfg.default_policy = Some((true, s.line())),
                    "deny-all" => self.cfg.default_policy = Some((false, s.line())),
                    _ => self.warn(codes::BAD_VALUE, s.line(), format!("`{d}` is not permit-all or deny-all")),
                }
            }
            ["security", "policies", "policy-rematch" | "policy-stats" | "pre-id-default-policy" | "traceoptions" | "stateful-firewall-rule", ..] => {}
            ["security", "policies", ..] => self.unknown(s, 2),
            ["security", "nat", kind @ ("source" | "destination" | "static"), rest @ ..] => self.nat(s, kind, rest),
            ["security", "nat", "proxy-arp" | "proxy-ndp" | "traceoptions" | "natv6v4" | "allow-overlapping-pools", ..] => {}
            ["security", "nat", ..] => self.unknown(s, 2),
            // IPsec, IKE, screens, logging, flow options, ALGs, IDP/UTM profiles, PKI: they do
            // not change which sessions the policies permit.
            [
                "security",
                "ike" | "ipsec" | "screen" | "log" | "flow" | "alg" | "idp" | "utm" | "pki" | "ssh-known-hosts" | "application-tracking"
                | "authentication-key-chains" | "forwarding-options" | "forwarding-process" | "datapath-debug" | "traceoptions" | "certificates"
                | "dynamic-address" | "user-identification" | "application-firewall" | "gprs" | "idp-policy" | "ssl" | "dns"
                | "address-book-options" | "macsec" | "group-vpn" | "tcp-encap" | "advance-policy-based-routing" | "aaa" | "firewall-authentication"
                | "remote-access" | "ipsec-policy" | "apply-groups" | "key-chain" | "unified-access-control" | "distribution-profile" | "anti-virus" | "web-filtering",
                ..,
            ] => {}
            _ => self.unknown(s, 1),
        }
    }

    fn nat(&mut self, s: &Stmt<'_, 'a>, kind: &str, rest: &[&'a str]) {
        self.cfg.has_security = true;
        let at = 3;
        match rest {
            ["pool", p, tail @ ..] if kind != "static" => {
                let line = s.line_at(at + 1);
                let pools = if kind == "source" { &mut self.cfg.src_pools } else { &mut self.cfg.dst_pools };
                pools.entry(p, || PoolRaw { line, tails: Vec::new() }).tails.push((tail_of(s, tail), s.line()));
            }
            ["rule-set", rs, tail @ ..] => {
                let line = s.line_at(at + 1);
                let sets = match kind {
                    "source" => &mut self.cfg.nat_src,
                    "destination" => &mut self.cfg.nat_dst,
                    _ => &mut self.cfg.nat_static,
                };
                let set = sets.entry(rs, || NatSetRaw { line, ..Default::default() });
                match tail {
                    [dir @ ("from" | "to"), ctx, name] => {
                        let e = (ctx.to_string(), name.to_string(), s.line());
                        if *dir == "from" {
                            set.from.push(e);
                        } else {
                            set.to.push(e);
                        }
                    }
                    ["rule", r, more @ ..] => {
                        let rline = s.line_at(at + 3);
                        let rule = set.rules.entry(r, || NatRuleRaw { line: rline, ..Default::default() });
                        match more {
                            ["match", m @ ..] => rule.matches.push((tail_of(s, m), s.line())),
                            ["then", m @ ..] => rule.then.push((tail_of(s, m), s.line())),
                            [] | ["description", ..] => {}
                            _ => self.unknown(s, at + 4),
                        }
                    }
                    [] | ["description", ..] => {}
                    _ => self.unknown(s, at + 2),
                }
            }
            [
                "address-persistent" | "pool-utilization-alarm" | "port-randomization" | "pool-default-port-range" | "interface" | "traceoptions"
                | "pool-default-twin-port-range" | "address-mapping" | "session-persistence-scan" | "session-drop-hold-down"
                | "pool-default-port-range-v6",
                ..,
            ] => {}
            _ => self.unknown(s, at),
        }
    }
}

#[derive(Clone)]
enum BookRef {
    Global,
    Named(String),
    Zone(String),
}

/// Read the statements, then build the model.
pub fn lower<'a>(source: SourceId, file: &str, text: &'a str, flat: &Flat<'a>, diags: &mut Diags) -> Lowered {
    let mut c = Collect { cfg: Config::default(), diags, text: LineIndex::new(text) };
    flat.each(|_, s| {
        if s.active {
            c.stmt(&s);
        }
    });
    if let Some((line, protos)) = c.cfg.dynamic.clone() {
        let t = c.line_text(line);
        c.diags.push(
            codes::UNMODELLED_MATCH,
            Severity::Warning,
            line,
            t,
            format!(
                "dynamic routing ({}) is not modelled: only static and connected routes are used, so paths through routes learnt from neighbours are missing",
                protos.join(", ")
            ),
        );
    }
    let Collect { cfg, diags, text } = c;
    let mut l = Lower { cfg: &cfg, diags, text, source, file, fw: Firewall::default(), flat, filter_idx: HashMap::new() };
    let interfaces = l.interfaces();
    let routes = l.routes();
    l.filters_and_bindings();
    if cfg.has_security {
        l.security();
    }
    let firewall = if l.fw.rulesets.is_empty() { None } else { Some(l.fw) };
    Lowered { hostname: cfg.hostname.clone(), interfaces, routes, firewall }
}

/// Resolved application terms: the terms, or why they are unknown.
type AppTerms = Result<Vec<AppTerm>, String>;

struct Lower<'a, 'd> {
    cfg: &'a Config<'a>,
    diags: &'d mut Diags,
    text: LineIndex<'a>,
    source: SourceId,
    file: &'a str,
    fw: Firewall,
    flat: &'a Flat<'a>,
    filter_idx: HashMap<String, usize>,
}

impl<'a> Lower<'a, '_> {
    fn line_text(&self, line: u32) -> String {
        self.text.trimmed(line).to_string()
    }

    fn prov(&self, line: u32) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line, text: self.line_text(line) }
    }

    fn prov_text(&self, line: u32, text: String) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line, text }
    }

    fn diag(&mut self, code: &'static str, sev: Severity, line: u32, reason: impl Into<String>) {
        let t = self.line_text(line);
        self.diags.push(code, sev, line, &t, reason);
    }

    fn add_ruleset(&mut self, name: &str, table: &str, family: Family, default: Option<Action>, default_prov: Provenance) -> usize {
        self.fw.rulesets.push(Ruleset { name: name.to_string(), table: table.to_string(), family, default, default_prov, rules: Vec::new() });
        self.fw.rulesets.len() - 1
    }

    fn bind(&mut self, hook: Hook, stage: Stage, priority: i32, ruleset: usize, family: Family) {
        self.fw.hooks.push(HookBinding { hook, stage, priority, ruleset, family });
    }

    fn interfaces(&mut self) -> Vec<Interface> {
        let mut out = Vec::new();
        for (name, r) in self.cfg.ifaces.iter() {
            let phys = name.rsplit_once('.').map_or(name.as_str(), |(p, _)| p);
            let zone = self
                .cfg
                .zones
                .iter()
                .find(|(z, zr)| !z.starts_with("functional-zone") && zr.ifaces.iter().any(|(i, _)| i == name))
                .map(|(z, _)| z.clone());
            out.push(Interface {
                name: name.clone(),
                addresses: r.addrs.iter().map(|(n, _)| *n).collect(),
                up: !r.disabled && !self.cfg.phys_disabled.contains(phys),
                zone,
                external: false,
                prov: self.prov(r.line),
            });
        }
        out
    }

    fn routes(&mut self) -> Vec<Route> {
        let mut out = Vec::new();
        for (key, r) in self.cfg.routes.iter() {
            let (table, p) = key.split_once('|').unwrap_or(("main", key));
            let Some(dst) = p.parse::<IpNet>().ok() else {
                self.diag(codes::BAD_VALUE, Severity::Warning, r.line, format!("`{p}` is not a prefix"));
                continue;
            };
            let mut pref = STATIC_PREFERENCE;
            let mut hops: Vec<(Option<IpAddr>, Option<String>, RouteKind, Option<u32>, u32)> = Vec::new();
            for (t, line) in &r.tails {
                let t: Vec<&str> = t.iter().map(|x| &**x).collect();
                match t.as_slice() {
                    ["next-hop", h] => match h.parse::<IpAddr>() {
                        Ok(a) => hops.push((Some(a), None, RouteKind::Unicast, None, *line)),
                        Err(_) => hops.push((None, Some(h.to_string()), RouteKind::Unicast, None, *line)),
                    },
                    ["qualified-next-hop", h, more @ ..] => {
                        let q = match more {
                            ["preference", n] => n.parse().ok(),
                            _ => None,
                        };
                        match h.parse::<IpAddr>() {
                            Ok(a) => hops.push((Some(a), None, RouteKind::Unicast, q, *line)),
                            Err(_) => hops.push((None, Some(h.to_string()), RouteKind::Unicast, q, *line)),
                        }
                    }
                    ["discard"] => hops.push((None, None, RouteKind::Blackhole, None, *line)),
                    ["reject"] => hops.push((None, None, RouteKind::Unreachable, None, *line)),
                    ["receive"] => hops.push((None, None, RouteKind::Local, None, *line)),
                    ["next-table", ..] | ["lsp-next-hop", ..] | ["static-lsp-next-hop", ..] | ["p2mp-lsp-next-hop", ..] => {
                        self.diag(codes::UNMODELLED_TARGET, Severity::Warning, *line, "routes to another table or an LSP are not modelled");
                        hops.push((None, None, RouteKind::Other, None, *line));
                    }
                    ["preference", n, ..] => match n.parse() {
                        Ok(v) => pref = v,
                        Err(_) => self.diag(codes::BAD_VALUE, Severity::Warning, *line, format!("`{n}` is not a preference")),
                    },
                    _ => {}
                }
            }
            if hops.is_empty() {
                self.diag(codes::STRUCTURE, Severity::Warning, r.line, "a static route without a next hop is not installed");
            }
            for (via, dev, kind, q, line) in hops {
                out.push(Route {
                    dst,
                    via,
                    dev,
                    kind,
                    metric: q.unwrap_or(pref),
                    src: None,
                    table: table.to_string(),
                    prov: self.prov(line),
                });
            }
        }
        out
    }

    // ---------------------------------------------------------------- filters

    fn prefix_list(&mut self, name: &str, line: u32) -> Result<Vec<IpNet>, String> {
        let Some((_, nets, paths)) = self.cfg.prefix_lists.get(name) else {
            self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("prefix-list {name} is not defined"));
            return Err(format!("undefined prefix-list {name}"));
        };
        let mut v: Vec<IpNet> = nets.iter().map(|(n, _)| *n).collect();
        for (pat, _) in paths {
            v.extend(self.apply_path(pat));
        }
        Ok(v)
    }

    /// `apply-path "protocols bgp group <*> neighbor <*>"`: the addresses the configuration
    /// states at that path.
    fn apply_path(&self, pat: &str) -> Vec<IpNet> {
        let p: Vec<&str> = pat.split_whitespace().collect();
        let mut out = Vec::new();
        if p.is_empty() {
            return out;
        }
        self.flat.each(|_, s| {
            if !s.active || s.words.len() < p.len() {
                return;
            }
            let ok = p.iter().zip(s.words.iter()).all(|(pp, w)| match pp.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
                Some(g) => g == "*" || g.trim_end_matches('*').is_empty() || w.starts_with(g.trim_end_matches('*')),
                None => **pp == **w,
            });
            if ok {
                if let Some(n) = s.words.get(p.len() - 1).and_then(|w| parse_net(w)) {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
        });
        out
    }

    /// The filter's ruleset, built on first use.
    fn filter(&mut self, v6: bool, name: &str) -> Option<usize> {
        let key = format!("{} {name}", if v6 { "inet6" } else { "inet" });
        if let Some(&i) = self.filter_idx.get(&key) {
            return Some(i);
        }
        let f = self.cfg.filters.get(&key)?;
        let hline = f.line;
        let fam = if v6 { Family::V6 } else { Family::V4 };
        let idx = self.add_ruleset(name, if v6 { "inet6" } else { "inet" }, fam, None, self.prov(hline));
        self.filter_idx.insert(key, idx);
        let mut rules = self.filter_rules(v6, name, 0);
        rules.push(Rule {
            conds: vec![],
            unknown: vec![],
            action: Action::Drop,
            prov: self.prov_text(hline, format!("implicit discard at the end of filter {name}")),
        });
        self.fw.rulesets[idx].rules = rules;
        Some(idx)
    }

    /// The rules of a filter's terms, with nested `filter` terms inlined.
    fn filter_rules(&mut self, v6: bool, name: &str, depth: u32) -> Vec<Rule> {
        let key = format!("{} {name}", if v6 { "inet6" } else { "inet" });
        let Some(f) = self.cfg.filters.get(&key) else { return vec![] };
        let mut rules = Vec::new();
        for (tname, t) in f.terms.iter() {
            if let Some((nested, line)) = &t.nested {
                if depth >= 1 || self.cfg.filters.get(&format!("{} {nested}", if v6 { "inet6" } else { "inet" })).is_none() {
                    self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, *line, format!("filter {nested} is not defined (or nested too deep)"));
                    rules.push(Rule { conds: vec![], unknown: vec![format!("nested filter {nested}")], action: Action::Unknown(format!("filter {nested}")), prov: self.prov(t.line) });
                } else {
                    rules.extend(self.filter_rules(v6, nested, depth + 1));
                }
                continue;
            }
            rules.extend(self.term_rules(v6, tname, t));
        }
        rules
    }

    fn term_rules(&mut self, v6: bool, tname: &str, t: &TermRaw<'a>) -> Vec<Rule> {
        let prov = self.prov(t.line);
        let mut conds: Vec<Cond> = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut src: Vec<(IpNet, bool)> = Vec::new();
        let mut dst: Vec<(IpNet, bool)> = Vec::new();
        let mut either: Vec<(IpNet, bool)> = Vec::new();
        let (mut has_src, mut has_dst, mut has_either) = (false, false, false);
        let mut protos: Vec<u8> = Vec::new();
        let mut protos_ex: Vec<u8> = Vec::new();
        let mut ports: [Vec<(u16, u16)>; 6] = Default::default(); // sport, dport, port, and -except
        let mut icmp_types: Vec<u8> = Vec::new();
        let mut icmp_types_ex: Vec<u8> = Vec::new();
        let mut icmp_codes: Vec<(u8, u8)> = Vec::new();
        for (ws, line) in &t.from {
            let w: Vec<&str> = ws.iter().map(|x| &**x).collect();
            let line = *line;
            let except = w.last() == Some(&"except");
            match w.as_slice() {
                [k @ ("source-address" | "destination-address" | "address"), a, ..] => {
                    let Some(n) = parse_net(a) else {
                        self.diag(codes::BAD_VALUE, Severity::Warning, line, format!("`{a}` is not an address"));
                        unknown.push(format!("{k} {a}"));
                        continue;
                    };
                    match *k {
                        "source-address" => {
                            has_src = true;
                            src.push((n, except))
                        }
                        "destination-address" => {
                            has_dst = true;
                            dst.push((n, except))
                        }
                        _ => {
                            has_either = true;
                            either.push((n, except))
                        }
                    }
                }
                [k @ ("source-prefix-list" | "destination-prefix-list" | "prefix-list"), name, ..] => match self.prefix_list(name, line) {
                    Ok(nets) => {
                        let (list, flag) = match *k {
                            "source-prefix-list" => (&mut src, &mut has_src),
                            "destination-prefix-list" => (&mut dst, &mut has_dst),
                            _ => (&mut either, &mut has_either),
                        };
                        *flag = true;
                        list.extend(nets.into_iter().map(|n| (n, except)));
                    }
                    Err(why) => unknown.push(why),
                },
                [k @ ("protocol" | "next-header" | "payload-protocol" | "protocol-except" | "next-header-except" | "payload-protocol-except"), p] => {
                    match names::protocol(p) {
                        Some(n) => {
                            if k.ends_with("-except") {
                                protos_ex.push(n)
                            } else {
                                protos.push(n)
                            }
                        }
                        None => {
                            self.diag(codes::BAD_VALUE, Severity::Warning, line, format!("`{p}` is not a protocol"));
                            unknown.push(format!("{k} {p}"));
                        }
                    }
                }
                [k @ ("source-port" | "destination-port" | "port" | "source-port-except" | "destination-port-except" | "port-except"), p] => {
                    let slot = match *k {
                        "source-port" => 0,
                        "destination-port" => 1,
                        "port" => 2,
                        "source-port-except" => 3,
                        "destination-port-except" => 4,
                        _ => 5,
                    };
                    match names::port_range(p) {
                        Some(r) => ports[slot].push(r),
                        None => {
                            self.diag(codes::BAD_VALUE, Severity::Warning, line, format!("`{p}` is not a port or port range"));
                            unknown.push(format!("{k} {p}"));
                        }
                    }
                }
                [k @ ("icmp-type" | "icmp6-type" | "icmp-type-except" | "icmp6-type-except"), ty] => match icmp_type_range(ty, v6) {
                    Some((a, b)) => {
                        let list = if k.ends_with("-except") { &mut icmp_types_ex } else { &mut icmp_types };
                        list.extend(a..=b);
                    }
                    None => {
                        self.diag(codes::BAD_VALUE, Severity::Warning, line, format!("`{ty}` is not an ICMP type"));
                        unknown.push(format!("{k} {ty}"));
                    }
                },
                [k @ ("icmp-code-except" | "icmp6-code-except"), c] => match icmp_type_range(c, v6).filter(|_| c.bytes().all(|b| b.is_ascii_digit() || b == b'-')) {
                    Some(r) => conds.push(Cond::not(Test::Icmp { ty: None, code: Some(r) })),
                    None => {
                        self.diag(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("ICMP code name `{c}` is not modelled"));
                        unknown.push(format!("{k} {c}"));
                    }
                },
                ["icmp-code" | "icmp6-code", c] => match icmp_type_range(c, v6).filter(|_| c.bytes().all(|b| b.is_ascii_digit() || b == b'-')) {
                    Some(r) => icmp_codes.push(r),
                    None => {
                        self.diag(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("ICMP code name `{c}` is not modelled"));
                        unknown.push(format!("icmp-code {c}"));
                    }
                },
                ["tcp-established"] => {
                    protos.push(space::proto::TCP);
                    conds.push(Cond::not(Test::TcpFlags { mask: tcp_flags::ACK | tcp_flags::RST, comp: 0 }));
                }
                ["tcp-initial"] => {
                    protos.push(space::proto::TCP);
                    conds.push(Cond::is(Test::TcpFlags { mask: tcp_flags::SYN | tcp_flags::ACK, comp: tcp_flags::SYN }));
                }
                ["tcp-flags", expr] => match tcp_flags_expr(expr) {
                    Some((mask, comp)) => conds.push(Cond::is(Test::TcpFlags { mask, comp })),
                    None => {
                        self.diag(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("tcp-flags `{expr}` is not modelled"));
                        unknown.push(format!("tcp-flags {expr}"));
                    }
                },
                _ => {
                    self.diag(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("match condition `{}` is not modelled", w.join(" ")));
                    unknown.push(w.join(" "));
                }
            }
        }
        for (ws, line) in &t.other {
            self.diag(codes::UNRECOGNIZED, Severity::Warning, *line, format!("unrecognized term statement `{}`", ws.join(" ")));
            unknown.push(ws.join(" "));
        }
        if has_src {
            conds.push(Cond::is(Test::Src(to_addr_ranges(&lpm_set(&src)))));
        }
        if has_dst {
            conds.push(Cond::is(Test::Dst(to_addr_ranges(&lpm_set(&dst)))));
        }
        if !protos.is_empty() {
            protos.sort_unstable();
            protos.dedup();
            conds.push(Cond::is(Test::Proto(protos)));
        }
        if !protos_ex.is_empty() {
            conds.push(Cond::not(Test::Proto(protos_ex)));
        }
        for (slot, test) in [(0usize, 'S'), (1, 'D')] {
            if !ports[slot].is_empty() {
                let v = ports[slot].clone();
                conds.push(Cond::is(if test == 'S' { Test::Sport(v) } else { Test::Dport(v) }));
            }
        }
        if !ports[3].is_empty() {
            conds.push(Cond::not(Test::Sport(ports[3].clone())));
        }
        if !ports[4].is_empty() {
            conds.push(Cond::not(Test::Dport(ports[4].clone())));
        }
        if !ports[5].is_empty() {
            conds.push(Cond::not(Test::Sport(ports[5].clone())));
            conds.push(Cond::not(Test::Dport(ports[5].clone())));
        }
        let code = match icmp_codes.as_slice() {
            [c] => Some(*c),
            [] => None,
            _ => {
                unknown.push("several icmp-code values".into());
                None
            }
        };
        match icmp_types.as_slice() {
            [] if code.is_some() => conds.push(Cond::is(Test::Icmp { ty: None, code })),
            [] => {}
            [t] => conds.push(Cond::is(Test::Icmp { ty: Some(*t), code })),
            many => {
                // Several types: one rule per type below.
                let _ = many;
            }
        }
        for t in &icmp_types_ex {
            conds.push(Cond::not(Test::Icmp { ty: Some(*t), code: None }));
        }
        // The action.
        let mut action: Option<Action> = None;
        let mut next_term = false;
        for (ws, line) in &t.then {
            let w: Vec<&str> = ws.iter().map(|x| &**x).collect();
            let a = match w.as_slice() {
                ["accept", ..] => Some(Action::Accept),
                ["discard", ..] => Some(Action::Drop),
                ["reject", r @ ..] => Some(Action::Reject(r.first().map_or("reject".to_string(), |x| format!("reject {x}")))),
                ["next", "term"] => {
                    next_term = true;
                    None
                }
                [
                    "count" | "log" | "syslog" | "sample" | "policer" | "three-color-policer" | "loss-priority" | "forwarding-class" | "dscp"
                    | "traffic-class" | "port-mirror" | "port-mirror-instance" | "service-accounting" | "packet-mode" | "service-filter-hit"
                    | "prefix-action" | "hierarchical-policer" | "analyzer" | "flow-export" | "policy-map" | "service-accounting-deferred"
                    | "no-syslog",
                    ..,
                ] => None,
                _ => {
                    self.diag(codes::UNMODELLED_TARGET, Severity::Warning, *line, format!("action `{}` is not modelled", w.join(" ")));
                    Some(Action::Unknown(w.join(" ")))
                }
            };
            if let Some(a) = a {
                if action.is_none() {
                    action = Some(a);
                }
            }
        }
        let action = match action {
            Some(a) => a,
            None if next_term => return vec![],
            // A term without a terminating action accepts (Junos OS Routing Policies, Firewall
            // Filters and Traffic Policers User Guide: "if you do not specify an action, the
            // packet is accepted").
            None => Action::Accept,
        };
        let _ = tname;
        // Expand `address`, `port` (source or destination) and several ICMP types.
        let mut variants: Vec<Vec<Cond>> = vec![conds];
        if has_either {
            let r = to_addr_ranges(&lpm_set(&either));
            variants = variants
                .into_iter()
                .flat_map(|c| {
                    let mut a = c.clone();
                    a.push(Cond::is(Test::Src(r.clone())));
                    let mut b = c;
                    b.push(Cond::is(Test::Dst(r.clone())));
                    [a, b]
                })
                .collect();
        }
        if !ports[2].is_empty() {
            let p = ports[2].clone();
            variants = variants
                .into_iter()
                .flat_map(|c| {
                    let mut a = c.clone();
                    a.push(Cond::is(Test::Sport(p.clone())));
                    let mut b = c;
                    b.push(Cond::is(Test::Dport(p.clone())));
                    [a, b]
                })
                .collect();
        }
        if icmp_types.len() > 1 {
            variants = variants
                .into_iter()
                .flat_map(|c| {
                    icmp_types.iter().map(move |t| {
                        let mut a = c.clone();
                        a.push(Cond::is(Test::Icmp { ty: Some(*t), code }));
                        a
                    })
                })
                .collect();
        }
        variants.into_iter().map(|conds| Rule { conds, unknown: unknown.clone(), action: action.clone(), prov: prov.clone() }).collect()
    }

    fn filters_and_bindings(&mut self) {
        // Every filter gets its ruleset (so `portolan test --filter NAME` finds unbound ones).
        let keys: Vec<(bool, String)> =
            self.cfg.filters.iter().filter_map(|(k, _)| k.split_once(' ').map(|(f, n)| (f == "inet6", n.to_string()))).collect();
        for (v6, name) in &keys {
            self.filter(*v6, name);
        }
        // Dispatchers: [input v4, output v4, input v6, output v6] and the loopback (to the device).
        let mut disp: [Vec<Rule>; 4] = Default::default();
        let mut lo_rules: [Vec<Rule>; 2] = Default::default();
        let ifaces: Vec<(String, [Vec<(String, u32)>; 4])> =
            self.cfg.ifaces.iter().map(|(n, r)| (n.clone(), r.filters.clone())).collect();
        for (ifname, filters) in ifaces {
            let loopback = ifname.starts_with("lo0.");
            for k in 0..4 {
                let list = &filters[k];
                if list.is_empty() {
                    continue;
                }
                let v6 = k >= 2;
                let line = list[0].1;
                let target = if list.len() == 1 {
                    self.filter(v6, &list[0].0).ok_or_else(|| list[0].0.clone())
                } else {
                    self.filter_list(v6, list)
                };
                let input = k % 2 == 0;
                let action = match target {
                    Ok(i) => Action::Goto(i),
                    Err(missing) => {
                        self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("filter {missing} is not defined"));
                        Action::Unknown(format!("undefined filter {missing}"))
                    }
                };
                let prov = self.prov(line);
                if loopback && input {
                    lo_rules[usize::from(v6)].push(Rule { conds: vec![], unknown: vec![], action, prov });
                    continue;
                }
                let conds = if input {
                    vec![Cond::is(Test::InIface(ifname.clone()))]
                } else {
                    vec![Cond::is(Test::OutIface(ifname.clone())), Cond::not(Test::SrcLocal)]
                };
                disp[k].push(Rule { conds, unknown: vec![], action, prov });
            }
        }
        for (k, rules) in disp.into_iter().enumerate() {
            if rules.is_empty() {
                continue;
            }
            let v6 = k >= 2;
            let input = k % 2 == 0;
            let (fam, table) = if v6 { (Family::V6, "inet6") } else { (Family::V4, "inet") };
            let name = if input { "interface input filters" } else { "interface output filters" };
            let idx = self.add_ruleset(name, table, fam, Some(Action::Accept), Provenance::builtin("interfaces without a filter pass every packet"));
            self.fw.rulesets[idx].rules = rules;
            if input {
                self.bind(Hook::Prerouting, Stage::Filter, -200, idx, fam);
            } else {
                self.bind(Hook::Postrouting, Stage::Filter, 200, idx, fam);
            }
        }
        for (v6, rules) in lo_rules.into_iter().enumerate() {
            if rules.is_empty() {
                continue;
            }
            let (fam, table) = if v6 == 1 { (Family::V6, "inet6") } else { (Family::V4, "inet") };
            let idx = self.add_ruleset(
                "loopback input filter",
                table,
                fam,
                Some(Action::Accept),
                Provenance::builtin("the lo0 input filter sees every packet addressed to the device"),
            );
            self.fw.rulesets[idx].rules = rules;
            self.bind(Hook::Input, Stage::Filter, -10, idx, fam);
        }
    }

    /// `filter input-list [ A B ]`: the filters' terms one after the other, one implicit
    /// discard at the end.
    fn filter_list(&mut self, v6: bool, list: &[(String, u32)]) -> Result<usize, String> {
        let names: Vec<String> = list.iter().map(|(n, _)| n.clone()).collect();
        let key = format!("{} list {}", if v6 { "inet6" } else { "inet" }, names.join(" "));
        if let Some(&i) = self.filter_idx.get(&key) {
            return Ok(i);
        }
        for n in &names {
            if self.cfg.filters.get(&format!("{} {n}", if v6 { "inet6" } else { "inet" })).is_none() {
                return Err(n.clone());
            }
        }
        let line = list[0].1;
        let fam = if v6 { Family::V6 } else { Family::V4 };
        let lname = names.join(" ");
        let idx = self.add_ruleset(&lname, if v6 { "inet6" } else { "inet" }, fam, None, self.prov(line));
        self.filter_idx.insert(key, idx);
        let mut rules = Vec::new();
        for n in &names {
            rules.extend(self.filter_rules(v6, n, 0));
        }
        rules.push(Rule { conds: vec![], unknown: vec![], action: Action::Drop, prov: self.prov_text(line, format!("implicit discard at the end of filter list {lname}")) });
        self.fw.rulesets[idx].rules = rules;
        Ok(idx)
    }

    // ---------------------------------------------------------------- security

    /// Resolve an address-book name as seen from a zone: the zone's own book, books attached to
    /// it, then the global book.
    fn address(&mut self, zone: Option<&str>, name: &str, line: u32) -> Result<Ranges, String> {
        match name {
            "any" => return Ok(Ranges::range(0, u128::MAX)),
            "any-ipv4" => return Ok(space::family_range(false)),
            "any-ipv6" => return Ok(space::family_range(true)),
            _ => {}
        }
        if let Some(n) = parse_net(name) {
            return Ok(net_ranges(&n));
        }
        let mut books: Vec<&Book> = Vec::new();
        if let Some(z) = zone {
            if let Some(zr) = self.cfg.zones.get(z) {
                books.push(&zr.book);
            }
            for (_, (b, zones)) in self.cfg.named_books.iter() {
                if zones.iter().any(|x| x == z) {
                    books.push(b);
                }
            }
        }
        books.push(&self.cfg.global_book);
        let r = resolve_addr(&books, name, 0);
        if let Err(e) = &r {
            if e.starts_with("undefined") {
                self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("address {name} is not defined in the address books"));
            } else {
                self.diag(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("{e}: its addresses are unknown"));
            }
        }
        r
    }

    fn application(&mut self, name: &str, line: u32, depth: u32) -> AppTerms {
        if name == "any" {
            return Ok(vec![AppTerm::default()]);
        }
        if depth > MAX_DEPTH {
            self.diag(codes::STRUCTURE, Severity::Warning, line, format!("application-set {name} nests too deep (a loop?)"));
            return Err(format!("application-set {name} nests too deep"));
        }
        if let Some(a) = self.cfg.apps.get(name) {
            return self.app_terms(name, a);
        }
        if let Some((_, members)) = self.cfg.app_sets.get(name) {
            let members = members.clone();
            let mut out = Vec::new();
            for (m, l) in members {
                out.extend(self.application(&m, l, depth + 1)?);
            }
            return Ok(out);
        }
        if let Some(v) = names::predefined_app(name) {
            return Ok(v);
        }
        if name.starts_with("junos-") {
            self.diag(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("predefined application {name} is not modelled"));
            return Err(format!("predefined application {name}"));
        }
        self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("application {name} is not defined"));
        Err(format!("undefined application {name}"))
    }

    fn app_terms(&mut self, name: &str, a: &AppRaw<'a>) -> AppTerms {
        let mut out = Vec::new();
        let mut blocks: Vec<&Tails<'a>> = Vec::new();
        if !a.top.is_empty() {
            blocks.push(&a.top);
        }
        for (_, t) in a.terms.iter() {
            blocks.push(t);
        }
        for tails in blocks {
            let mut t = AppTerm::default();
            let mut ws: Vec<(Vec<&str>, u32)> = Vec::new();
            for (w, l) in tails {
                // Inline terms (`term t1 protocol tcp destination-port 22;`) hold several pairs.
                let v: Vec<&str> = w.iter().map(|x| &**x).collect();
                let mut i = 0;
                while i < v.len() {
                    let take = match v[i] {
                        "destination-port" | "source-port" if v.get(i + 2) == Some(&"to") => 4,
                        "description" => v.len() - i,
                        _ => 2,
                    };
                    let end = (i + take).min(v.len());
                    ws.push((v[i..end].to_vec(), *l));
                    i = end;
                }
            }
            for (w, l) in ws {
                match w.as_slice() {
                    ["protocol", p] => match names::protocol(p) {
                        Some(n) => t.proto = Some(n),
                        None if *p == "any" => {}
                        None => {
                            self.diag(codes::BAD_VALUE, Severity::Warning, l, format!("`{p}` is not a protocol"));
                            return Err(format!("application {name}: protocol {p}"));
                        }
                    },
                    [k @ ("destination-port" | "source-port"), p, rest @ ..] => {
                        let r = match rest {
                            ["to", q] => names::port(p).zip(names::port(q)).filter(|(a, b)| a <= b),
                            _ => names::port_range(p),
                        };
                        match r {
                            Some(r) => {
                                if *k == "destination-port" {
                                    t.dport = Some(r)
                                } else {
                                    t.sport = Some(r)
                                }
                            }
                            None => {
                                self.diag(codes::BAD_VALUE, Severity::Warning, l, format!("`{p}` is not a port or port range"));
                                return Err(format!("application {name}: port {p}"));
                            }
                        }
                    }
                    ["icmp-type" | "icmp6-type", ty] => {
                        let v6 = t.proto == Some(space::proto::ICMPV6);
                        match names::icmp_type(ty, v6) {
                            Some(n) => t.icmp_type = Some(n),
                            None => {
                                self.diag(codes::BAD_VALUE, Severity::Warning, l, format!("`{ty}` is not an ICMP type"));
                                return Err(format!("application {name}: icmp-type {ty}"));
                            }
                        }
                    }
                    ["icmp-code" | "icmp6-code", c] => match c.parse::<u8>() {
                        Ok(n) => t.icmp_code = Some(n),
                        Err(_) => return Err(format!("application {name}: icmp-code {c}")),
                    },
                    ["inactivity-timeout", ..] | ["application-protocol", ..] | ["description", ..] | ["alg", ..] | ["ttl-threshold", ..] => {}
                    ["rpc-program-number", ..] | ["uuid", ..] => {
                        self.diag(codes::UNMODELLED_MATCH, Severity::Warning, l, "RPC program and UUID matches are not modelled");
                        return Err(format!("application {name}: RPC match"));
                    }
                    _ => {
                        self.diag(codes::UNRECOGNIZED, Severity::Warning, l, format!("unrecognized application statement `{}`", w.join(" ")));
                        return Err(format!("application {name}: {}", w.join(" ")));
                    }
                }
            }
            out.push(t);
        }
        if out.is_empty() {
            out.push(AppTerm::default());
        }
        Ok(out)
    }

    /// Interfaces of a zone, or an error when the zone is not defined.
    fn zone_ifaces(&self, z: &str) -> Option<Vec<String>> {
        self.cfg.zones.get(z).map(|zr| zr.ifaces.iter().map(|(i, _)| i.clone()).collect())
    }

    /// The rules of one policy, in a zone pair (`from`, `to`) or global.
    fn policy_rules(&mut self, from: Option<&str>, to: Option<&str>, name: &str, p: &PolicyRaw<'a>, global: bool) -> Vec<Rule> {
        let prov = self.prov(p.line);
        let mut unknown: Vec<String> = Vec::new();
        let mut srcs: Vec<(String, u32)> = Vec::new();
        let mut dsts: Vec<(String, u32)> = Vec::new();
        let mut apps: Vec<(String, u32)> = Vec::new();
        let (mut src_ex, mut dst_ex) = (false, false);
        let mut from_zones: Vec<(String, u32)> = Vec::new();
        let mut to_zones: Vec<(String, u32)> = Vec::new();
        for (ws, line) in &p.matches {
            let w: Vec<&str> = ws.iter().map(|x| &**x).collect();
            match w.as_slice() {
                ["source-address", a] => srcs.push((a.to_string(), *line)),
                ["destination-address", a] => dsts.push((a.to_string(), *line)),
                ["application", a] => apps.push((a.to_string(), *line)),
                ["source-address-excluded"] => src_ex = true,
                ["destination-address-excluded"] => dst_ex = true,
                ["from-zone", z] if global => from_zones.push((z.to_string(), *line)),
                ["to-zone", z] if global => to_zones.push((z.to_string(), *line)),
                ["dynamic-application", "any" | "none"] | ["source-identity", "any"] | ["url-category", "any" | "none"] => {}
                _ => {
                    self.diag(codes::UNMODELLED_MATCH, Severity::Warning, *line, format!("policy match `{}` is not modelled", w.join(" ")));
                    unknown.push(w.join(" "));
                }
            }
        }
        for (ws, line) in &p.other {
            let w = ws.join(" ");
            if ws.first().map(|x| &**x) == Some("scheduler-name") {
                self.diag(codes::UNMODELLED_MATCH, Severity::Warning, *line, "policy schedules are not modelled: the policy possibly applies");
                unknown.push(w);
            } else {
                self.diag(codes::UNRECOGNIZED, Severity::Warning, *line, format!("unrecognized policy statement `{w}`"));
                unknown.push(w);
            }
        }
        let addr_cond = |me: &mut Self, zone: Option<&str>, list: &[(String, u32)], dst: bool, ex: bool, unknown: &mut Vec<String>| -> Option<Cond> {
            if list.is_empty() {
                return None;
            }
            let mut r = Ranges::empty();
            for (a, l) in list {
                match me.address(zone, a, *l) {
                    Ok(x) => r = r.union(&x),
                    Err(why) => {
                        unknown.push(why);
                        return None;
                    }
                }
            }
            if r == Ranges::range(0, u128::MAX) && !ex {
                return None;
            }
            let v = to_addr_ranges(&r);
            let t = if dst { Test::Dst(v) } else { Test::Src(v) };
            Some(if ex { Cond::not(t) } else { Cond::is(t) })
        };
        let mut base: Vec<Cond> = Vec::new();
        if let Some(c) = addr_cond(self, from, &srcs, false, src_ex, &mut unknown) {
            base.push(c);
        }
        if let Some(c) = addr_cond(self, to, &dsts, true, dst_ex, &mut unknown) {
            base.push(c);
        }
        let mut terms: Vec<AppTerm> = Vec::new();
        if apps.is_empty() {
            terms.push(AppTerm::default());
        }
        for (a, l) in &apps {
            match self.application(a, *l, 0) {
                Ok(v) => terms.extend(v),
                Err(why) => {
                    unknown.push(why);
                    terms = vec![AppTerm::default()];
                    break;
                }
            }
        }
        let mut action: Option<Action> = None;
        for (ws, line) in &p.then {
            let a = match ws.first().map(|x| &**x) {
                Some("permit") => Some(Action::Accept),
                Some("deny") => Some(Action::Drop),
                Some("reject") => Some(Action::Reject("reject".into())),
                Some("log" | "count") => None,
                _ => {
                    self.diag(codes::UNMODELLED_TARGET, Severity::Warning, *line, format!("policy action `{}` is not modelled", ws.join(" ")));
                    Some(Action::Unknown(ws.join(" ")))
                }
            };
            if let Some(a) = a {
                action.get_or_insert(a);
            }
        }
        let action = match action {
            Some(a) => a,
            None => {
                self.diag(codes::STRUCTURE, Severity::Warning, p.line, format!("policy {name} has no permit, deny or reject action"));
                Action::Unknown("no action".into())
            }
        };
        // Global policies may name zones: interfaces of those zones.
        let mut iface_sets: Vec<Vec<Cond>> = vec![vec![]];
        if global {
            for (zs, inbound) in [(&from_zones, true), (&to_zones, false)] {
                if zs.is_empty() || zs.iter().any(|(z, _)| z == "any") {
                    continue;
                }
                let mut names = Vec::new();
                for (z, l) in zs {
                    match self.zone_ifaces(z) {
                        Some(v) => names.extend(v),
                        None => {
                            self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, *l, format!("zone {z} is not defined"));
                        }
                    }
                }
                iface_sets = iface_sets
                    .into_iter()
                    .flat_map(|c| {
                        names.iter().map(move |n| {
                            let mut c = c.clone();
                            c.push(Cond::is(if inbound { Test::InIface(n.clone()) } else { Test::OutIface(n.clone()) }));
                            c
                        })
                    })
                    .collect();
            }
        }
        let mut rules = Vec::new();
        for ic in &iface_sets {
            for t in &terms {
                let mut conds = ic.clone();
                conds.extend(base.iter().cloned());
                conds.extend(app_conds(t));
                rules.push(Rule { conds, unknown: unknown.clone(), action: action.clone(), prov: prov.clone() });
            }
        }
        rules
    }

    fn security(&mut self) {
        let cfg = self.cfg;
        self.fw.stateful = true;
        let replies = || Rule {
            conds: vec![Cond::is(Test::CtState(vec![Ct::ESTABLISHED, Ct::RELATED]))],
            unknown: vec![],
            action: Action::Accept,
            prov: Provenance::builtin("replies of permitted sessions (stateful firewall)"),
        };
        let zoned: Vec<String> = cfg
            .zones
            .iter()
            .filter(|(z, _)| !z.starts_with("functional-zone"))
            .flat_map(|(_, zr)| zr.ifaces.iter().map(|(i, _)| i.clone()))
            .collect();
        for (_, zr) in cfg.zones.iter() {
            for (i, l) in &zr.ifaces {
                if cfg.ifaces.get(i).is_none() {
                    self.diag(codes::UNDEFINED_REFERENCE, Severity::Info, *l, format!("interface {i} is not configured"));
                }
            }
        }

        // Forwarding: zone pairs, global policies, default policy.
        let (permit, dline) = match cfg.default_policy {
            Some((p, l)) => (p, Some(l)),
            None => (SRX_DEFAULT_POLICY_PERMIT, None),
        };
        let dprov = match dline {
            Some(l) => self.prov(l),
            None => Provenance::builtin("default-policy deny-all (Junos default when no default-policy is configured)"),
        };
        let fwd = self.add_ruleset("security policies", "security", Family::Any, Some(if permit { Action::Accept } else { Action::Drop }), dprov);
        let mut frules = vec![replies()];
        if !zoned.is_empty() {
            let not_in: Vec<Cond> = zoned.iter().map(|i| Cond::not(Test::InIface(i.clone()))).collect();
            let not_out: Vec<Cond> = zoned.iter().map(|i| Cond::not(Test::OutIface(i.clone()))).collect();
            for conds in [not_in, not_out] {
                frules.push(Rule {
                    conds,
                    unknown: vec![],
                    action: Action::Drop,
                    prov: Provenance::builtin("interface in no security zone: the SRX drops its traffic"),
                });
            }
        }
        let mut host_pairs: Vec<(String, usize, u32)> = Vec::new();
        let mut self_pairs: Vec<(String, usize, u32)> = Vec::new();
        for (key, (line, pols)) in cfg.policies.iter() {
            let (a, b) = key.split_once('\u{0}').unwrap_or((key, ""));
            let name = format!("from-zone {a} to-zone {b}");
            let idx = self.add_ruleset(&name, "security", Family::Any, None, self.prov(*line));
            let mut rules = Vec::new();
            for (pname, p) in pols.iter() {
                rules.extend(self.policy_rules(Some(a), Some(b), pname, p, false));
            }
            self.fw.rulesets[idx].rules = rules;
            if b == "junos-host" {
                host_pairs.push((a.to_string(), idx, *line));
                continue;
            }
            if a == "junos-host" {
                self_pairs.push((b.to_string(), idx, *line));
                continue;
            }
            let (fa, fb) = (self.zone_ifaces(a), self.zone_ifaces(b));
            // A file that defines no zone at all is a policy excerpt: its zone pairs simply
            // apply to no interface here.
            let sev = if zoned.is_empty() { Severity::Info } else { Severity::Warning };
            if fa.is_none() {
                self.diag(codes::UNDEFINED_REFERENCE, sev, *line, format!("zone {a} is not defined: the policies apply to no interface"));
            }
            if fb.is_none() {
                self.diag(codes::UNDEFINED_REFERENCE, sev, *line, format!("zone {b} is not defined: the policies apply to no interface"));
            }
            let jprov = self.prov_text(*line, format!("{name}: {}", self.line_text(*line)));
            for i in fa.unwrap_or_default() {
                for o in fb.clone().unwrap_or_default() {
                    frules.push(Rule {
                        conds: vec![Cond::is(Test::InIface(i.clone())), Cond::is(Test::OutIface(o))],
                        unknown: vec![],
                        action: Action::Jump(idx),
                        prov: jprov.clone(),
                    });
                }
            }
        }
        if !cfg.global_policies.is_empty() {
            let first = cfg.global_policies.iter().next().map_or(0, |(_, p)| p.line);
            let g = self.add_ruleset("global", "security", Family::Any, None, self.prov(first));
            let mut rules = Vec::new();
            for (pname, p) in cfg.global_policies.iter() {
                rules.extend(self.policy_rules(None, None, pname, p, true));
            }
            self.fw.rulesets[g].rules = rules;
            frules.push(Rule { conds: vec![], unknown: vec![], action: Action::Jump(g), prov: self.prov_text(first, "security policies global".into()) });
        }
        self.fw.rulesets[fwd].rules = frules;
        self.bind(Hook::Forward, Stage::Filter, 0, fwd, Family::Any);

        // To the device: host-inbound-traffic of the arrival interface's zone.
        let hin = self.add_ruleset(
            "host-inbound-traffic",
            "security",
            Family::Any,
            Some(Action::Drop),
            Provenance::builtin("traffic to the device that no host-inbound-traffic of the arrival zone allows"),
        );
        let mut hrules = vec![replies()];
        hrules.push(Rule {
            conds: vec![Cond::is(Test::InIface("lo".into()))],
            unknown: vec![],
            action: Action::Accept,
            prov: Provenance::builtin("the device's own packets to itself"),
        });
        // Out-of-band management interfaces are in no zone; their traffic to the device is not
        // subject to host-inbound-traffic (Junos OS Security Zones User Guide, "fxp0 is not a
        // member of any zone").
        for (ifname, _) in cfg.ifaces.iter() {
            if MGMT_IFACES.iter().any(|m| ifname.starts_with(m)) && !zoned.contains(ifname) {
                hrules.push(Rule {
                    conds: vec![Cond::is(Test::InIface(ifname.clone()))],
                    unknown: vec![],
                    action: Action::Accept,
                    prov: Provenance::builtin(format!("{ifname} is an out-of-band management interface, outside the security zones")),
                });
            }
        }
        for (_, zr) in cfg.zones.iter() {
            for (ifname, _) in &zr.ifaces {
                let entries: Vec<HostEntry> = match zr.iface_host.get(ifname) {
                    Some(v) if !v.is_empty() => v.clone(),
                    _ => zr.host.clone(),
                };
                // Excepted services first, then the allowed ones.
                let mut sorted = entries.clone();
                sorted.sort_by_key(|e| !e.except);
                for e in sorted {
                    let svc = if e.protocol { names::host_protocol(&e.name) } else { names::system_service(&e.name) };
                    let iface = Cond::is(Test::InIface(ifname.clone()));
                    let action = if e.except { Action::Drop } else { Action::Accept };
                    match svc {
                        Some(s) if s.all => hrules.push(Rule { conds: vec![iface], unknown: vec![], action, prov: self.prov(e.line) }),
                        Some(s) => {
                            for t in &s.terms {
                                let mut conds = vec![iface.clone()];
                                conds.extend(app_conds(t));
                                hrules.push(Rule { conds, unknown: vec![], action: action.clone(), prov: self.prov(e.line) });
                            }
                        }
                        None => {
                            self.diag(codes::UNMODELLED_MATCH, Severity::Warning, e.line, format!("host-inbound service `{}` is not modelled", e.name));
                            hrules.push(Rule {
                                conds: vec![iface],
                                unknown: vec![format!("host-inbound {}", e.name)],
                                action,
                                prov: self.prov(e.line),
                            });
                        }
                    }
                }
            }
        }
        self.fw.rulesets[hin].rules = hrules;
        self.bind(Hook::Input, Stage::Filter, 0, hin, Family::Any);
        if !host_pairs.is_empty() {
            let hp = self.add_ruleset(
                "junos-host policies",
                "security",
                Family::Any,
                Some(Action::Accept),
                Provenance::builtin("traffic to the device no junos-host policy matches"),
            );
            let mut rules = vec![replies()];
            for (a, idx, line) in host_pairs {
                for i in self.zone_ifaces(&a).unwrap_or_default() {
                    rules.push(Rule { conds: vec![Cond::is(Test::InIface(i))], unknown: vec![], action: Action::Jump(idx), prov: self.prov(line) });
                }
            }
            self.fw.rulesets[hp].rules = rules;
            self.bind(Hook::Input, Stage::Filter, 10, hp, Family::Any);
        }
        if !self_pairs.is_empty() {
            // Policies from the junos-host zone: what the device itself sends.
            let op = self.add_ruleset(
                "junos-host outbound policies",
                "security",
                Family::Any,
                Some(Action::Accept),
                Provenance::builtin("traffic from the device no junos-host policy matches"),
            );
            let mut rules = vec![replies()];
            for (b, idx, line) in self_pairs {
                for o in self.zone_ifaces(&b).unwrap_or_default() {
                    rules.push(Rule { conds: vec![Cond::is(Test::OutIface(o))], unknown: vec![], action: Action::Jump(idx), prov: self.prov(line) });
                }
            }
            self.fw.rulesets[op].rules = rules;
            self.bind(Hook::Output, Stage::Filter, 0, op, Family::Any);
        }
        self.nat();
    }

    // ---------------------------------------------------------------- NAT

    /// Interface conditions of a NAT rule-set context (`from zone Z`, `to interface X`).
    fn nat_ctx(&mut self, ctx: &[(String, String, u32)], inbound: bool) -> (Vec<Vec<Cond>>, Vec<String>) {
        if ctx.is_empty() {
            return (vec![vec![]], vec![]);
        }
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        for (kind, name, line) in ctx {
            let ifaces = match kind.as_str() {
                "zone" => match self.zone_ifaces(name) {
                    Some(v) => v,
                    None => {
                        self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, *line, format!("zone {name} is not defined"));
                        vec![]
                    }
                },
                "interface" => vec![unit_name(name)],
                _ => {
                    self.diag(codes::UNMODELLED_MATCH, Severity::Warning, *line, format!("NAT context `{kind} {name}` is not modelled"));
                    unknown.push(format!("{kind} {name}"));
                    out.push(vec![]);
                    continue;
                }
            };
            for i in ifaces {
                out.push(vec![Cond::is(if inbound { Test::InIface(i) } else { Test::OutIface(i) })]);
            }
        }
        (out, unknown)
    }

    fn pool(&mut self, src: bool, name: &str, line: u32) -> Option<NatTarget> {
        let pools = if src { &self.cfg.src_pools } else { &self.cfg.dst_pools };
        let Some(p) = pools.get(name) else {
            self.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("NAT pool {name} is not defined"));
            return None;
        };
        let mut addr: Option<AddrRange> = None;
        let mut ports: Option<(u16, u16)> = None;
        for (w, l) in &p.tails {
            let w: Vec<&str> = w.iter().map(|x| &**x).collect();
            match w.as_slice() {
                ["address", a, rest @ ..] => {
                    let lo = parse_net(a);
                    let r = match (lo, rest) {
                        (Some(n), ["to", b, ..]) => b.split('/').next().and_then(|b| b.parse::<IpAddr>().ok()).map(|b| AddrRange { lo: n.addr(), hi: b }),
                        // A destination pool's address is the host itself (host bits kept).
                        (Some(n), _) if !src => Some(AddrRange::single(n.addr())),
                        (Some(n), _) => Some(AddrRange::from_net(n)),
                        _ => None,
                    };
                    if let (Some(n), ["port", pt, ..]) = (lo, rest) {
                        let _ = n;
                        ports = names::port(pt).map(|p| (p, p));
                    }
                    match r {
                        Some(r) => {
                            addr.get_or_insert(r);
                        }
                        None => self.diag(codes::BAD_VALUE, Severity::Warning, *l, format!("`{a}` is not a pool address")),
                    }
                }
                ["port", "range", a, rest @ ..] => {
                    let hi = match rest {
                        ["to", b, ..] => names::port(b),
                        _ => names::port(a),
                    };
                    if let (Some(a), Some(b)) = (names::port(a), hi) {
                        ports = Some((a, b));
                    }
                }
                ["port", "no-translation" | "block-allocation" | "deterministic" | "port-overloading-factor" | "twin-port", ..] => {}
                ["routing-instance", ri] => {
                    self.diag(codes::UNMODELLED_MATCH, Severity::Warning, *l, format!("NAT pool routing-instance {ri} is not modelled"));
                }
                _ => {}
            }
        }
        match addr {
            Some(a) => Some(NatTarget { addr: Some(a), ports }),
            None => {
                self.diag(codes::STRUCTURE, Severity::Warning, p.line, format!("NAT pool {name} has no address"));
                None
            }
        }
    }

    fn nat_match(&mut self, zone: Option<&str>, m: &Tails<'a>, unknown: &mut Vec<String>) -> Vec<Cond> {
        let mut conds = Vec::new();
        let mut src = Ranges::empty();
        let mut dst = Ranges::empty();
        let (mut has_src, mut has_dst) = (false, false);
        let mut dports: Vec<(u16, u16)> = Vec::new();
        let mut sports: Vec<(u16, u16)> = Vec::new();
        let mut protos: Vec<u8> = Vec::new();
        let mut apps: Vec<(String, u32)> = Vec::new();
        for (w, l) in m {
            let w: Vec<&str> = w.iter().map(|x| &**x).collect();
            match w.as_slice() {
                [k @ ("source-address" | "destination-address"), a] => match parse_net(a) {
                    Some(n) => {
                        if *k == "source-address" {
                            has_src = true;
                            src = src.union(&net_ranges(&n));
                        } else {
                            has_dst = true;
                            dst = dst.union(&net_ranges(&n));
                        }
                    }
                    None => {
                        self.diag(codes::BAD_VALUE, Severity::Warning, *l, format!("`{a}` is not an address"));
                        unknown.push(format!("{k} {a}"));
                    }
                },
                [k @ ("source-address-name" | "destination-address-name"), a] => match self.address(zone, a, *l) {
                    Ok(r) => {
                        if *k == "source-address-name" {
                            has_src = true;
                            src = src.union(&r);
                        } else {
                            has_dst = true;
                            dst = dst.union(&r);
                        }
                    }
                    Err(why) => unknown.push(why),
                },
                [k @ ("destination-port" | "source-port"), p, rest @ ..] => {
                    let r = match rest {
                        ["to", q] => names::port(p).zip(names::port(q)),
                        _ => names::port_range(p),
                    };
                    match r {
                        Some(r) if *k == "destination-port" => dports.push(r),
                        Some(r) => sports.push(r),
                        None => {
                            self.diag(codes::BAD_VALUE, Severity::Warning, *l, format!("`{p}` is not a port"));
                            unknown.push(format!("{k} {p}"));
                        }
                    }
                }
                ["protocol", p] => match names::protocol(p) {
                    Some(n) => protos.push(n),
                    None => unknown.push(format!("protocol {p}")),
                },
                ["application", a] => apps.push((a.to_string(), *l)),
                _ => {
                    self.diag(codes::UNMODELLED_MATCH, Severity::Warning, *l, format!("NAT match `{}` is not modelled", w.join(" ")));
                    unknown.push(w.join(" "));
                }
            }
        }
        if has_src {
            conds.push(Cond::is(Test::Src(to_addr_ranges(&src))));
        }
        if has_dst {
            conds.push(Cond::is(Test::Dst(to_addr_ranges(&dst))));
        }
        if !protos.is_empty() {
            conds.push(Cond::is(Test::Proto(protos)));
        }
        if !sports.is_empty() {
            conds.push(Cond::is(Test::Sport(sports)));
        }
        if !dports.is_empty() {
            conds.push(Cond::is(Test::Dport(dports)));
        }
        if !apps.is_empty() {
            // Several applications would need several rules; one application is exact.
            if let [(a, l)] = apps.as_slice() {
                match self.application(a, *l, 0) {
                    Ok(terms) if terms.len() == 1 => conds.extend(app_conds(&terms[0])),
                    Ok(_) => unknown.push(format!("application {a} with several terms")),
                    Err(why) => unknown.push(why),
                }
            } else {
                unknown.push("several applications".into());
            }
        }
        conds
    }

    fn nat(&mut self) {
        let cfg = self.cfg;
        // Static and destination NAT: before the route lookup and the policies.
        let mut dn_rules: Vec<Rule> = Vec::new();
        let mut sn_rules: Vec<Rule> = Vec::new();
        for (rsname, rs) in cfg.nat_static.iter() {
            let idx = self.add_ruleset(rsname, "nat", Family::Any, None, self.prov(rs.line));
            let rev = self.add_ruleset(&format!("{rsname} (reverse)"), "nat", Family::Any, None, self.prov(rs.line));
            let zone = rs.from.iter().find(|(k, _, _)| k == "zone").map(|(_, z, _)| z.clone());
            let mut rules = Vec::new();
            let mut rrules = Vec::new();
            for (_, r) in rs.rules.iter() {
                let mut unknown = Vec::new();
                let conds = self.nat_match(zone.as_deref(), &r.matches, &mut unknown);
                let prov = self.prov(r.line);
                let mut target: Option<Ranges> = None;
                let mut bad = None;
                for (w, l) in &r.then {
                    let w: Vec<&str> = w.iter().map(|x| &**x).collect();
                    match w.as_slice() {
                        ["static-nat", "prefix-name", "routing-instance", ..] | ["static-nat", "prefix", "routing-instance", ..] => {
                            self.diag(codes::UNMODELLED_MATCH, Severity::Warning, *l, "static NAT into another routing instance is not modelled");
                            unknown.push("routing-instance".into());
                        }
                        ["static-nat", "prefix", p, ..] => match parse_net(p) {
                            Some(n) => target = Some(net_ranges(&n)),
                            None => bad = Some(format!("static-nat prefix {p}")),
                        },
                        ["static-nat", "prefix-name", p, ..] if *p != "routing-instance" => match self.address(None, p, *l) {
                            Ok(x) => target = Some(x),
                            Err(why) => bad = Some(why),
                        },
                        _ => {
                            self.diag(codes::UNMODELLED_TARGET, Severity::Warning, *l, format!("static NAT action `{}` is not modelled", w.join(" ")));
                            bad = Some(w.join(" "));
                        }
                    }
                }
                let orig = conds.iter().find_map(|c| match &c.test {
                    Test::Dst(v) if !c.negated => Some(from_addr_ranges(v)),
                    _ => None,
                });
                match (bad, target, orig) {
                    (None, Some(t), Some(o)) if t.count() == o.count() && o.as_slice().len() == 1 && t.as_slice().len() == 1 && o.count() <= STATIC_NAT_MAX => {
                        let (olo, tlo) = (o.as_slice()[0].0, t.as_slice()[0].0);
                        let other: Vec<Cond> = conds.iter().filter(|c| !matches!(c.test, Test::Dst(_))).cloned().collect();
                        for k in 0..o.count() {
                            let (oa, ta) = (space::u128_to_addr(olo + k), space::u128_to_addr(tlo + k));
                            let mut c = other.clone();
                            c.push(Cond::is(Test::Dst(vec![AddrRange::single(oa)])));
                            rules.push(Rule { conds: c, unknown: unknown.clone(), action: Action::Dnat(NatTarget { addr: Some(AddrRange::single(ta)), ports: None }), prov: prov.clone() });
                            rrules.push(Rule {
                                conds: vec![Cond::is(Test::Src(vec![AddrRange::single(ta)]))],
                                unknown: unknown.clone(),
                                action: Action::Snat(NatTarget { addr: Some(AddrRange::single(oa)), ports: None }),
                                prov: prov.clone(),
                            });
                        }
                    }
                    (None, Some(t), _) => {
                        let first = t.first().map(space::u128_to_addr);
                        let mut u = unknown.clone();
                        u.push("static NAT of a prefix: each address maps to its own, the model keeps the first".into());
                        rules.push(Rule { conds, unknown: u, action: Action::Dnat(NatTarget { addr: first.map(AddrRange::single), ports: None }), prov });
                    }
                    (Some(why), _, _) => {
                        let mut u = unknown.clone();
                        u.push(why);
                        rules.push(Rule { conds, unknown: u, action: Action::Unknown("static-nat".into()), prov });
                    }
                    (None, None, _) => {
                        self.diag(codes::STRUCTURE, Severity::Warning, r.line, "a static NAT rule without a target");
                        rules.push(Rule { conds, unknown: unknown.clone(), action: Action::Unknown("static-nat".into()), prov });
                    }
                }
            }
            self.fw.rulesets[idx].rules = rules;
            self.fw.rulesets[rev].rules = rrules;
            let (ctx, unk) = self.nat_ctx(&rs.from, true);
            for c in ctx {
                dn_rules.push(Rule { conds: c, unknown: unk.clone(), action: Action::Jump(idx), prov: self.prov(rs.line) });
            }
            let (octx, ounk) = self.nat_ctx(&rs.from, false);
            for c in octx {
                sn_rules.push(Rule { conds: c, unknown: ounk.clone(), action: Action::Jump(rev), prov: self.prov(rs.line) });
            }
        }
        for (rsname, rs) in order_by_specificity(&cfg.nat_dst) {
            let idx = self.add_ruleset(rsname, "nat", Family::Any, None, self.prov(rs.line));
            let zone = rs.from.iter().find(|(k, _, _)| k == "zone").map(|(_, z, _)| z.clone());
            let mut rules = Vec::new();
            for (_, r) in rs.rules.iter() {
                let mut unknown = Vec::new();
                let conds = self.nat_match(zone.as_deref(), &r.matches, &mut unknown);
                let mut action = None;
                for (w, l) in &r.then {
                    let w: Vec<&str> = w.iter().map(|x| &**x).collect();
                    let a = match w.as_slice() {
                        ["destination-nat", "off"] => Action::Accept,
                        ["destination-nat", "pool", p, ..] => match self.pool(false, p, *l) {
                            Some(t) => Action::Dnat(t),
                            None => Action::Unknown(format!("pool {p}")),
                        },
                        _ => {
                            self.diag(codes::UNMODELLED_TARGET, Severity::Warning, *l, format!("destination NAT action `{}` is not modelled", w.join(" ")));
                            Action::Unknown(w.join(" "))
                        }
                    };
                    action.get_or_insert(a);
                }
                let action = action.unwrap_or_else(|| Action::Unknown("no action".into()));
                rules.push(Rule { conds, unknown, action, prov: self.prov(r.line) });
            }
            self.fw.rulesets[idx].rules = rules;
            let (ctx, unk) = self.nat_ctx(&rs.from, true);
            for c in ctx {
                dn_rules.push(Rule { conds: c, unknown: unk.clone(), action: Action::Jump(idx), prov: self.prov(rs.line) });
            }
        }
        for (rsname, rs) in order_by_specificity(&cfg.nat_src) {
            let idx = self.add_ruleset(rsname, "nat", Family::Any, None, self.prov(rs.line));
            let zone = rs.from.iter().find(|(k, _, _)| k == "zone").map(|(_, z, _)| z.clone());
            let mut rules = Vec::new();
            for (_, r) in rs.rules.iter() {
                let mut unknown = Vec::new();
                let conds = self.nat_match(zone.as_deref(), &r.matches, &mut unknown);
                let mut action = None;
                for (w, l) in &r.then {
                    let w: Vec<&str> = w.iter().map(|x| &**x).collect();
                    let a = match w.as_slice() {
                        ["source-nat", "off"] => Action::Accept,
                        ["source-nat", "interface", ..] => Action::Masquerade(None),
                        ["source-nat", "pool", p, ..] => match self.pool(true, p, *l) {
                            Some(t) => Action::Snat(t),
                            None => Action::Unknown(format!("pool {p}")),
                        },
                        _ => {
                            self.diag(codes::UNMODELLED_TARGET, Severity::Warning, *l, format!("source NAT action `{}` is not modelled", w.join(" ")));
                            Action::Unknown(w.join(" "))
                        }
                    };
                    action.get_or_insert(a);
                }
                let action = action.unwrap_or_else(|| Action::Unknown("no action".into()));
                rules.push(Rule { conds, unknown, action, prov: self.prov(r.line) });
            }
            self.fw.rulesets[idx].rules = rules;
            let (fctx, funk) = self.nat_ctx(&rs.from, true);
            let (tctx, tunk) = self.nat_ctx(&rs.to, false);
            for f in &fctx {
                for t in &tctx {
                    let mut c = f.clone();
                    c.extend(t.iter().cloned());
                    let mut u = funk.clone();
                    u.extend(tunk.iter().cloned());
                    sn_rules.push(Rule { conds: c, unknown: u, action: Action::Jump(idx), prov: self.prov(rs.line) });
                }
            }
        }
        if !dn_rules.is_empty() {
            let d = self.add_ruleset("destination nat", "nat", Family::Any, Some(Action::Accept), Provenance::builtin("no static or destination NAT rule-set applies"));
            self.fw.rulesets[d].rules = dn_rules;
            self.bind(Hook::Prerouting, Stage::DstNat, -100, d, Family::Any);
        }
        if !sn_rules.is_empty() {
            let s = self.add_ruleset("source nat", "nat", Family::Any, Some(Action::Accept), Provenance::builtin("no source NAT rule-set applies"));
            self.fw.rulesets[s].rules = sn_rules;
            self.bind(Hook::Postrouting, Stage::SrcNat, 100, s, Family::Any);
        }
    }
}

/// NAT rule-sets in the order Junos prefers them: interface contexts, then zones, then
/// routing instances (Junos OS NAT User Guide, "rule-set" precedence).
fn order_by_specificity<'s, 'a>(sets: &'s OMap<NatSetRaw<'a>>) -> Vec<(&'s String, &'s NatSetRaw<'a>)> {
    let rank = |s: &NatSetRaw<'a>| -> u8 {
        match s.from.first().map(|x| x.0.as_str()) {
            Some("interface") => 0,
            Some("zone") => 1,
            _ => 2,
        }
    };
    let mut v: Vec<(&String, &NatSetRaw<'a>)> = sets.iter().collect();
    v.sort_by_key(|(_, s)| rank(s));
    v
}

/// The words of a statement from where a suffix of its words starts (shared, not copied).
fn tail_of<'a>(s: &Stmt<'_, 'a>, suffix: &[&str]) -> Vec<Word<'a>> {
    let n = s.words.len();
    s.words.get(n.saturating_sub(suffix.len())..).map(<[Word]>::to_vec).unwrap_or_default()
}

/// Conditions of one application term.
fn app_conds(t: &AppTerm) -> Vec<Cond> {
    let mut c = Vec::new();
    if let Some(p) = t.proto {
        c.push(Cond::is(Test::Proto(vec![p])));
    }
    if let Some(r) = t.sport {
        c.push(Cond::is(Test::Sport(vec![r])));
    }
    if let Some(r) = t.dport {
        c.push(Cond::is(Test::Dport(vec![r])));
    }
    if t.icmp_type.is_some() || t.icmp_code.is_some() {
        c.push(Cond::is(Test::Icmp { ty: t.icmp_type, code: t.icmp_code.map(|x| (x, x)) }));
    }
    c
}

/// Resolve an address or address-set name in the first book that defines it.
fn resolve_addr(books: &[&Book], name: &str, depth: u32) -> Result<Ranges, String> {
    if depth > MAX_DEPTH {
        return Err(format!("address-set {name} nests too deep (a loop?)"));
    }
    for b in books {
        if let Some((def, _)) = b.addrs.get(name) {
            return match def {
                AddrDef::Ranges(v) => Ok(from_addr_ranges(v)),
                AddrDef::Unknown(why) => Err(why.clone()),
            };
        }
        if let Some(members) = b.sets.get(name) {
            let mut r = Ranges::empty();
            for (m, _) in members {
                r = r.union(&resolve_addr(books, m, depth + 1)?);
            }
            return Ok(r);
        }
    }
    Err(format!("undefined address {name}"))
}

/// An ICMP type or code, a name or a range `a-b`.
fn icmp_type_range(w: &str, v6: bool) -> Option<(u8, u8)> {
    if let Some(n) = names::icmp_type(w, v6) {
        return Some((n, n));
    }
    let (a, b) = w.split_once('-')?;
    let (a, b) = (a.parse::<u8>().ok()?, b.parse::<u8>().ok()?);
    (a <= b).then_some((a, b))
}

/// `tcp-flags "syn & !ack"`: a conjunction of flags, some negated.
fn tcp_flags_expr(e: &str) -> Option<(u8, u8)> {
    let e = e.trim().trim_matches('"').trim_matches('(').trim_matches(')');
    let (mut mask, mut comp) = (0u8, 0u8);
    for part in e.split('&') {
        let p = part.trim();
        let (neg, f) = match p.strip_prefix('!') {
            Some(x) => (true, x.trim()),
            None => (false, p),
        };
        let bit = match f {
            "fin" => tcp_flags::FIN,
            "syn" => tcp_flags::SYN,
            "rst" => tcp_flags::RST,
            "push" | "psh" => tcp_flags::PSH,
            "ack" => tcp_flags::ACK,
            "urgent" | "urg" => tcp_flags::URG,
            _ => return None,
        };
        mask |= bit;
        if !neg {
            comp |= bit;
        }
    }
    (mask != 0).then_some((mask, comp))
}
