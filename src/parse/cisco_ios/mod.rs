//! Cisco IOS / IOS-XE running configuration, and the access-list dialects of NX-OS
//! (`ip access-list NAME`), IOS-XR (`ipv4 access-list NAME`) and Arista EOS.
//!
//! What is read (see `docs/formats/cisco_ios.md` for the full mapping):
//! - `hostname` (NX-OS `switchname`) names the device;
//! - `interface` sections: addresses (`ip address`, `secondary`, `ipv6 address`), `shutdown`,
//!   VRF membership, `ip access-group` / `ipv6 traffic-filter` bindings, `ip nat inside|outside`;
//! - numbered (`access-list N`) and named (`ip access-list standard|extended NAME`,
//!   `ipv6 access-list`, `ipv4 access-list`, `ip access-list NAME`) access lists, with
//!   `object-group network|service` (and the NX-OS `object-group ip address|port`);
//! - static routes (`ip route`, `ipv6 route`, NX-OS `vrf context` routes);
//! - NAT (`ip nat inside|outside source static|list`, `ip nat pool`, port forwards).
//!
//! Access lists lower into one ruleset each (table `acl`), ending in an explicit implicit-deny
//! rule; interface bindings into dispatcher rulesets at prerouting (inbound, priority −200) and
//! postrouting (outbound, priority 200). IOS routers are stateless: `stateful = false`.
//! Everything else in a configuration is either a known statement that does not decide which
//! packets pass (listed below) or gets a diagnostic.

mod acl;
mod names;

use std::sync::Arc;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, Interface, NatTarget, Route, RouteKind, Rule, Ruleset,
    Stage, Test,
};
use crate::space::proto;

use acl::{AddrGroup, Dialect, Entry, Groups, Svc, SvcGroup};

/// Administrative distance of a static route when the line gives none (Cisco IOS IP Routing
/// Configuration Guide, "Default Administrative Distances": static route 1).
pub const STATIC_ROUTE_DISTANCE: u32 = 1;

/// Priority of the inbound access-list dispatcher: before destination NAT (−100), as IOS checks
/// the inbound ACL before translating outside-to-inside ("NAT Order of Operation", Cisco
/// document 6209).
pub const ACL_IN_PRIORITY: i32 = -200;
/// Priority of the outbound access-list dispatcher: after source NAT (100).
pub const ACL_OUT_PRIORITY: i32 = 200;
/// Destination NAT priority (netfilter dstnat).
pub const DNAT_PRIORITY: i32 = -100;
/// Source NAT priority (netfilter srcnat).
pub const SNAT_PRIORITY: i32 = 100;
/// What every IPv6 access list permits before its implicit deny: neighbor discovery (Cisco IOS
/// IPv6 configuration guide, "IPv6 ACL implicit rules": `permit icmp any any nd-na`, `permit
/// icmp any any nd-ns`, `deny ipv6 any any`).
pub const IPV6_IMPLICIT_ND: [(u8, &str); 2] = [(136, "nd-na"), (135, "nd-ns")];
/// Depth bound for nested object groups.
const MAX_GROUP_DEPTH: usize = 16;
/// Static network NAT is lowered address by address up to this many addresses.
const MAX_STATIC_NETWORK: u32 = 256;

/// True if the text is an IOS-style configuration or access-list file: it must hold at least one
/// statement only IOS-like configurations have (`hostname`, `interface`, an access list, a
/// routing process, a static route) and enough IOS statements overall.
pub fn looks_like(text: &str) -> bool {
    let mut score = 0u32;
    let mut strong = false;
    let mut in_acl = false;
    for line in text.lines().take(50_000) {
        let line = line.trim_start_matches('\u{feff}');
        let t = line.trim_ascii();
        if t.starts_with("!RANCID-CONTENT-TYPE: cisco") {
            strong = true;
            score += 3;
            continue;
        }
        if t.is_empty() || t.starts_with('!') {
            continue;
        }
        // Cisco ASA / PIX markers: not IOS.
        if t.starts_with("ASA Version") || t.starts_with("PIX Version") || t.starts_with("nameif ") || t.starts_with("security-level ") {
            return false;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        let mut w = t.split_ascii_whitespace();
        let first = w.next().unwrap_or("");
        let second = w.next().unwrap_or("");
        let third = w.next().unwrap_or("");
        if !indented {
            in_acl = false;
            match (first, second) {
                ("hostname" | "switchname", _) if !second.is_empty() && third.is_empty() => {
                    strong = true;
                    score += 2;
                }
                ("interface", _) if !second.is_empty() => {
                    strong = true;
                    score += 1;
                }
                ("ip" | "ipv6" | "ipv4", "access-list") if !third.is_empty() => {
                    strong = true;
                    score += 2;
                    in_acl = true;
                }
                ("access-list", n) if n.parse::<u32>().is_ok() && matches!(third, "permit" | "deny" | "remark") => {
                    strong = true;
                    score += 2;
                }
                ("router", "ospf" | "bgp" | "eigrp" | "rip" | "isis") | ("ip" | "ipv6", "route") => {
                    strong = true;
                    score += 1;
                }
                ("version", v) if v.starts_with('1') && v.contains('.') => score += 1,
                (
                    "aaa" | "service" | "boot-start-marker" | "boot-end-marker" | "vlan" | "spanning-tree" | "crypto" | "snmp-server"
                    | "ntp" | "logging" | "enable" | "username" | "banner" | "control-plane" | "line" | "no" | "ip" | "ipv6" | "end"
                    | "object-group" | "route-map" | "class-map" | "policy-map" | "key" | "vrf" | "access-list",
                    _,
                ) => score += 1,
                _ => {}
            }
        } else {
            match (first, second) {
                ("ip", "address") if !third.is_empty() => score += 1,
                ("permit" | "deny" | "remark", _) if in_acl => score += 1,
                (s, "permit" | "deny" | "remark") if in_acl && s.parse::<u32>().is_ok() => score += 1,
                _ => {}
            }
        }
        if strong && score >= 6 {
            return true;
        }
    }
    strong && score >= 3
}

/// Parse one file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut out = ParsedFile::new(Format::CiscoIos, text);
    let mut p = Parser::new(source, file);
    p.run(text);
    let (fw, interfaces, routes) = p.lower();
    out.content.firewall = Some(Arc::new(fw));
    out.content.interfaces = interfaces;
    out.content.routes = routes;
    // A configuration is one device's: without a `hostname` line, the file name names it
    // (several such files in one folder stay several devices).
    out.device_hint = p.hostname.clone().or_else(|| file_stem(file));
    out.lines_skipped = p.skipped;
    let mut diags = p.d.list;
    diags.sort_by_key(|d| d.line);
    out.diags = diags;
    out
}

/// An access list bound to an interface: `(ipv6, acl name, direction in, provenance)`.
type Filter = (bool, String, bool, Provenance);

/// An interface as the configuration states it.
#[derive(Debug)]
struct Iface {
    name: String,
    addrs: Vec<IpNet>,
    up: bool,
    vrf: Option<String>,
    filters: Vec<Filter>,
    nat_inside: bool,
    nat_outside: bool,
    zone: Option<(String, Provenance)>,
    prov: Provenance,
}

/// An access list and its entries (read once every object group is known).
#[derive(Debug)]
struct Acl<'a> {
    name: String,
    v6: bool,
    standard: bool,
    /// Not an IP access list (MAC, protocol-type numbered lists): not modelled.
    non_ip: bool,
    header: Provenance,
    entries: Vec<(u32, &'a str)>,
}

/// An object group's member lines.
#[derive(Debug, Default)]
struct RawGroup {
    members: Vec<(u32, String)>,
}

/// A NAT statement.
#[derive(Debug)]
struct Nat {
    n: u32,
    text: String,
}

/// Where child lines belong.
#[derive(Clone, Debug, PartialEq)]
enum Sec {
    Top,
    Iface(usize),
    Acl(usize),
    NetGroup(String),
    SvcGroup(String),
    PortGroup(String),
    /// A known section that does not affect which packets pass (its lines are understood).
    Ignored,
    /// A dynamic routing process.
    Routing,
    /// NX-OS `vrf context NAME`: may hold static routes.
    VrfContext(String),
    /// `ip nat pool NAME ... prefix-length N` with `address` lines.
    NatPool(String),
    /// `line vty ...`: terminal lines (only `access-class` is worth a note).
    Line,
    /// An unrecognised section: its lines are reported.
    Unknown(String),
}

struct Parser<'a> {
    source: SourceId,
    file: &'a str,
    d: Diags,
    skipped: u32,
    hostname: Option<String>,
    ifaces: Vec<Iface>,
    iface_idx: HashMap<String, usize>,
    acls: Vec<Acl<'a>>,
    acl_idx: HashMap<(bool, String), usize>,
    net_groups: HashMap<String, RawGroup>,
    net_group_v6: HashSet<String>,
    svc_groups: HashMap<String, RawGroup>,
    port_groups: HashMap<String, RawGroup>,
    routes: Vec<Route>,
    nats: Vec<Nat>,
    pools: HashMap<String, (AddrRange, Provenance)>,
    routing: Vec<(u32, String)>,
    pbr: Vec<(u32, String)>,
    vrfs: Vec<(u32, String)>,
    zone_pairs: Vec<(u32, String)>,
    /// The line of the last child of the current section at its base indentation, and whether
    /// it opened an ignored sub-block (deeper lines belong to it).
    sub_ignored: bool,
    base_indent: usize,
}

/// Top-level statements that do not decide which packets pass; lines of their sections are
/// understood with them.
const TOP_IRRELEVANT: &[&str] = &[
    "aaa", "access-session", "alias", "archive", "authentication", "auto", "autoinstall", "banner", "bba-group", "bfd",
    "bfd-template", "boot", "boot-end-marker", "boot-start-marker", "bridge", "bridge-domain", "call", "call-home",
    "callhome", "card", "cdp", "cfs", "chat-script", "class-map", "clock", "config-register", "control-plane",
    "controller", "copp", "crypto", "cts", "default", "device-tracking", "diagnostic", "dial-peer", "dialer-list", "dot1x",
    "enable", "end", "errdisable", "event", "exception", "exit", "fabric", "feature", "file", "flow", "hardware",
    "hw-module", "identity", "install", "kron", "key", "l2vpn", "license", "lldp", "logging", "login", "mac",
    "macro", "management", "memory", "mls", "module", "monitor", "mpls", "multilink", "netconf", "netconf-yang",
    "network-clock", "network-clock-participate", "ntp", "parameter-map", "password", "platform", "policy-map", "port-channel",
    "power", "privilege", "process", "pseudowire-class", "radius", "radius-server", "redundancy", "resource", "restconf",
    "rmon", "role", "route-map", "sampler", "scheduler", "secure", "security", "segment-routing", "service",
    "service-policy", "snmp", "snmp-server", "spanning-tree", "spd", "ssh", "stack-mac", "switch", "system", "tacacs",
    "tacacs-server", "telemetry", "template", "tftp-server", "transceiver", "username", "vdc", "version", "virtual-service",
    "vlan", "voice", "vpdn", "vpdn-group", "vtp", "wsma", "xconnect", "ipsla", "udld", "errdisable", "track", "wism",
    "policy-list", "object", "username", "end!", "ethernet", "cable", "vpc", "nv", "evpn", "hsrp", "customer-id",
    "counters", "terminal", "storm-control", "qos", "queue-monitor", "daemon", "peer-filter", "router-id", "sflow",
    "ptp", "lacp", "errdisable", "load-balance", "dhcp", "dns", "ip6", "management-api", "aliases", "schedule",
    "memory-size", "mgcp", "gatekeeper", "ccm-manager", "sccp", "stcapp", "telephony-service", "ephone", "ephone-dn",
    "application", "gateway", "sip-ua", "warm-reboot", "rtr", "isdn", "appfw", "call-manager-fallback", "voice-port",
    "dspfarm", "srst", "mta", "modemcap", "frame-relay", "x25", "ipv6-prefix", "cluster", "buffers", "downward-compatible-config",
];

/// `ip ...` statements at the top level that do not decide which packets pass.
const IP_IRRELEVANT: &[&str] = &[
    "accounting", "accounting-threshold", "admission", "arp", "as-path", "audit", "auth-proxy", "bgp-community", "bootp",
    "cef", "cgmp", "classless", "community-list", "ddns", "default-gateway", "default-network", "device", "dhcp", "dns",
    "domain", "domain-list", "domain-lookup", "domain-name", "dvmrp", "explicit-path", "extcommunity-list", "finger",
    "flow", "flow-aggregation", "flow-cache", "flow-export", "forward-protocol", "ftp", "gratuitous-arps", "host", "http",
    "icmp", "identd", "igmp", "inspect", "ips", "large-community-list", "load-sharing", "local", "mroute", "msdp",
    "multicast", "multicast-routing", "name-server", "nbar", "nhrp", "options", "ospf", "pim", "port-map", "prefix-list",
    "radius", "rcmd", "redirects", "rip", "routing", "rsvp", "sap", "scp", "sdr", "security", "sla", "source-route",
    "ssh", "subnet-zero", "tacacs", "tcp", "telnet", "tftp", "urlfilter", "virtual-reassembly", "wccp", "access-list",
    "dhcp-client", "domain-name", "name", "hardware", "mtu", "igmp-snooping", "arp-inspection", "source", "amp",
    "community-list", "extcommunity-list", "mfib", "vrrp", "client", "keepalive", "unreachables", "bgp", "lisp",
    "policy", "verify", "proxy-arp", "directed-broadcast", "name-server", "host-routing", "software", "multipath",
    "fib", "load-balancing", "nat64", "tcp-mss", "packet-length",
];

/// `ipv6 ...` statements at the top level that do not decide which packets pass.
const IPV6_IRRELEVANT: &[&str] = &[
    "cef", "unicast-routing", "icmp", "dhcp", "prefix-list", "nd", "general-prefix", "host", "multicast-routing", "mld",
    "pim", "source-route", "neighbor", "route-cache", "local", "hop-limit", "flowset", "multicast", "ospf", "mfib",
    "snooping", "dhcp-relay", "ssh", "cef", "flow", "virtual-reassembly",
];

/// Interface statements that do not decide which packets pass.
const IFACE_IRRELEVANT: &[&str] = &[
    "arp", "atm", "authentication", "auto", "backup", "bandwidth", "bfd", "bridge-group", "bundle-enable", "carrier-delay",
    "cdp", "channel-group", "channel-protocol", "class", "clock", "crypto", "delay", "dialer", "dialer-group",
    "dot1x", "dsl", "duplex", "encapsulation", "exit", "flowcontrol", "full-duplex", "glbp", "hold-queue", "hsrp",
    "isis", "keepalive", "lacp", "lldp", "load-interval", "logging", "mab", "mac-address", "media-type", "mls", "mop",
    "mpls", "mtu", "negotiation", "no", "ntp", "ospfv3", "peer", "physical-layer", "power", "ppp", "pppoe", "priority-queue",
    "pvc", "qos", "queue-set", "rcv-queue", "service-instance", "service-policy", "shape", "snmp", "spanning-tree", "speed",
    "srr-queue", "standby", "storm-control", "switchport", "timeout", "tunnel", "tx-ring-limit", "udld", "vrrp",
    "wrr-queue", "xconnect", "access-session", "device-tracking", "source", "macro", "queue-limit", "police",
    "priority", "vbr-nrt", "max-reserved-bandwidth", "fair-queue", "random-detect", "down-when-looped", "transceiver",
    "ethernet", "lacp", "vpc", "private-vlan", "port-security", "errdisable", "medium", "beacon", "rate-limit",
    "ip-forward", "hardware", "fabric", "nve", "member", "evpn", "sflow", "counter", "shutdown-timer", "traffic-shape",
    "frame-relay", "x25", "framing", "linecode", "cablelength", "invert", "pulse-time", "async", "modem", "autodetect",
    "custom-queue-list", "priority-group", "fair-queue", "ip-address", "medium-type", "link", "ptp", "mode", "lane",
    "flow-control", "error-correction", "phy", "service", "counters", "dampening", "cts", "umbrella", "zone-member",
    "channel", "uplink", "description", "name", "default", "vlan", "l2protocol-tunnel", "pagp", "redundancy",
    "ip", "ipv6", "no", "load-balance", "hold-time", "keepalive-timer", "nat", "bgp-policy", "h323-gateway", "clns",
    "mka", "autostate", "synchronous", "timer", "sap", "policy", "network-clock", "port", "macsec", "ipv4",
];

/// `ip ...` interface statements that do not decide which packets pass.
const IFACE_IP_IRRELEVANT: &[&str] = &[
    "accounting", "admission", "arp", "authentication", "bandwidth-percent", "cef", "cgmp", "dhcp", "directed-broadcast",
    "dvmrp", "flow", "hello-interval", "helper-address", "hold-time", "igmp", "information-reply", "load-sharing",
    "local-proxy-arp", "mask-reply", "mroute-cache", "mtu", "multicast", "nbar", "nhrp", "ospf", "pim", "proxy-arp",
    "redirects", "rip", "route-cache", "router", "rsvp", "sap", "sdr", "split-horizon", "summary-address", "tcp",
    "unreachables", "virtual-reassembly", "wccp", "ips", "audit", "auth-proxy", "urlfilter", "ddns", "security",
    "irdp", "bootp", "sticky-arp", "eigrp", "igrp", "hello", "vrf-sitemap", "dns", "flow-export", "port-unreachable",
    "address-virtual", "virtual-router", "bgp", "lisp", "icmp", "sla", "msdp", "igmp-snooping", "verify-source",
    "flowspec", "mfib", "multicast-routing", "rtp", "spd", "dhcp-relay", "ospfv3",
];

/// `ipv6 ...` interface statements that do not decide which packets pass.
const IFACE_IPV6_IRRELEVANT: &[&str] = &[
    "nd", "ospf", "mtu", "redirects", "unreachables", "dhcp", "pim", "mld", "eigrp", "rip", "router", "cef", "flow",
    "tcp", "enable", "link-local", "virtual-reassembly", "local-proxy", "destination-guard", "snooping", "source-guard",
    "verify", "flowspec", "mfib", "multicast", "rip", "traffic-class",
];

fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

fn mask_len(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    let l = v.leading_ones();
    if v.checked_shl(l).unwrap_or(0) == 0 {
        Some(l as u8)
    } else {
        None
    }
}

/// Canonical Cisco interface type names, in the order abbreviations resolve to them.
const IFACE_TYPES: &[&str] = &[
    "GigabitEthernet", "FastEthernet", "TenGigabitEthernet", "TwentyFiveGigE", "FortyGigabitEthernet", "HundredGigE",
    "Ethernet", "Port-channel", "Loopback", "Vlan", "Tunnel", "Serial", "Dialer", "Null", "BVI", "Virtual-Template",
    "Virtual-Access", "Multilink", "ATM", "Async", "Cellular", "Management", "TenGigE", "Bundle-Ether", "MgmtEth", "mgmt",
];

/// The canonical form of an interface name: `gi0/1` → `GigabitEthernet0/1`.
fn canon_iface(name: &str) -> String {
    let split = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    let (kind, rest) = name.split_at(split);
    let kind_t = kind.trim_ascii();
    if kind_t.is_empty() {
        return name.to_string();
    }
    let lower = kind_t.to_ascii_lowercase();
    for full in IFACE_TYPES {
        let fl = full.to_ascii_lowercase();
        if fl == lower || (fl.starts_with(&lower) && lower.len() >= 2) {
            return format!("{full}{rest}");
        }
    }
    name.to_string()
}

impl<'a> Parser<'a> {
    fn new(source: SourceId, file: &'a str) -> Self {
        Parser {
            source,
            file,
            d: Diags::default(),
            skipped: 0,
            hostname: None,
            ifaces: Vec::new(),
            iface_idx: HashMap::new(),
            acls: Vec::new(),
            acl_idx: HashMap::new(),
            net_groups: HashMap::new(),
            net_group_v6: HashSet::new(),
            svc_groups: HashMap::new(),
            port_groups: HashMap::new(),
            routes: Vec::new(),
            nats: Vec::new(),
            pools: HashMap::new(),
            routing: Vec::new(),
            pbr: Vec::new(),
            vrfs: Vec::new(),
            zone_pairs: Vec::new(),
            sub_ignored: false,
            base_indent: 0,
        }
    }

    fn prov(&self, n: u32, t: &str) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line: n, text: t.trim_ascii().to_string() }
    }

    fn warn(&mut self, code: &'static str, n: u32, t: &str, reason: impl Into<String>) {
        self.d.push(code, Severity::Warning, n, t, reason);
    }

    fn info(&mut self, code: &'static str, n: u32, t: &str, reason: impl Into<String>) {
        self.d.push(code, Severity::Info, n, t, reason);
    }

    fn run(&mut self, text: &'a str) {
        let mut sec = Sec::Top;
        let mut lines = text.lines().enumerate();
        while let Some((i, raw0)) = lines.next() {
            let n = i as u32 + 1;
            let raw = if i == 0 { raw0.trim_start_matches('\u{feff}') } else { raw0 };
            let t = raw.trim_ascii();
            if t.is_empty() || t.starts_with('!') || t.starts_with("Building configuration") || t.starts_with("Current configuration") {
                self.skipped += 1;
                continue;
            }
            let indent = raw.len() - raw.trim_ascii_start().len();
            if indent == 0 {
                self.d.set_context("");
                // A banner runs to its delimiter, on this line or a later one.
                if t.starts_with("banner ") {
                    self.skipped += self.banner(t, &mut lines);
                    sec = Sec::Top;
                    continue;
                }
                sec = self.top(n, t);
                self.base_indent = 0;
                self.sub_ignored = false;
                continue;
            }
            if sec == Sec::Top || (matches!(sec, Sec::Iface(_)) && t.starts_with("interface ")) {
                // An indented statement outside any section, or an indented `interface` line
                // after another interface: read it as a top-level one.
                sec = self.top(n, t);
                self.base_indent = 0;
                self.sub_ignored = false;
                continue;
            }
            if self.base_indent == 0 || indent < self.base_indent {
                self.base_indent = indent;
            }
            if indent > self.base_indent && self.sub_ignored {
                continue;
            }
            let deeper = indent > self.base_indent;
            self.child(&sec, n, t, deeper);
        }
    }

    /// Skip a banner's lines; returns how many lines (after the first) it spans.
    fn banner(&mut self, t: &str, lines: &mut std::iter::Enumerate<std::str::Lines<'_>>) -> u32 {
        // `banner motd ^C...^C`: the delimiter is the first character (or `^C`) after the type.
        let mut w = t.splitn(3, ' ');
        w.next();
        w.next();
        let rest = w.next().unwrap_or("").trim_ascii_start();
        let delim: String = if rest.starts_with("^C") {
            "^C".into()
        } else {
            rest.chars().next().map(String::from).unwrap_or_default()
        };
        self.skipped += 1;
        if delim.is_empty() {
            return 0;
        }
        if rest[delim.len()..].contains(delim.as_str()) {
            return 0;
        }
        let mut count = 0;
        for (_, l) in lines.by_ref() {
            count += 1;
            if l.contains(delim.as_str()) {
                break;
            }
        }
        count
    }

    fn top(&mut self, n: u32, t: &'a str) -> Sec {
        let w: Vec<&str> = t.split_ascii_whitespace().collect();
        let w0 = w.first().copied().unwrap_or("");
        let w1 = w.get(1).copied().unwrap_or("");
        let w2 = w.get(2).copied().unwrap_or("");
        match w0 {
            "hostname" | "switchname" => {
                match w.get(1) {
                    Some(h) => self.hostname = Some(h.trim_matches('"').to_string()),
                    None => self.warn(codes::BAD_VALUE, n, t, "hostname without a name"),
                }
                Sec::Top
            }
            "interface" => {
                if w1.is_empty() {
                    self.d.unrecognized(n, t, "interface without a name");
                    return Sec::Unknown(t.to_string());
                }
                let name = canon_iface(w1);
                let idx = match self.iface_idx.get(&name).copied() {
                    Some(i) => i,
                    None => {
                        self.iface_idx.insert(name.clone(), self.ifaces.len());
                        self.ifaces.push(Iface {
                            name: name.clone(),
                            addrs: Vec::new(),
                            up: true,
                            vrf: None,
                            filters: Vec::new(),
                            nat_inside: false,
                            nat_outside: false,
                            zone: None,
                            prov: self.prov(n, t),
                        });
                        self.ifaces.len() - 1
                    }
                };
                self.d.set_context(format!("interface {name}"));
                Sec::Iface(idx)
            }
            "access-list" => {
                self.numbered_acl(n, t, &w);
                Sec::Top
            }
            "ip" | "ipv6" | "ipv4" if w1 == "access-list" => {
                let v6 = w0 == "ipv6";
                let (standard, name) = match (w2, w.get(3)) {
                    ("standard", Some(name)) => (true, *name),
                    ("extended", Some(name)) => (false, *name),
                    ("role-based" | "logging" | "log-update" | "resequence" | "match-local-traffic" | "persistent" | "counters", _) => {
                        return Sec::Ignored;
                    }
                    ("", _) => {
                        self.d.unrecognized(n, t, "access list without a name");
                        return Sec::Unknown(t.to_string());
                    }
                    (name, _) => (false, name),
                };
                let i = self.acl(name, v6, standard, n, t);
                self.d.set_context(format!("access list {name}"));
                Sec::Acl(i)
            }
            "no" if matches!(w1, "ip" | "ipv6" | "ipv4") && w2 == "access-list" => {
                // `no ip access-list extended NAME` before a definition (as generators write it).
                let name = match w.get(3) {
                    Some(&("standard" | "extended")) => w.get(4).copied(),
                    other => other.copied(),
                };
                if let Some(name) = name {
                    if let Some(&i) = self.acl_idx.get(&(w1 == "ipv6", name.to_string())) {
                        if let Some(a) = self.acls.get_mut(i) {
                            a.entries.clear();
                        }
                    }
                }
                Sec::Top
            }
            "no" if w1 == "access-list" => {
                if let Some(&i) = self.acl_idx.get(&(false, w2.to_string())) {
                    if let Some(a) = self.acls.get_mut(i) {
                        a.entries.clear();
                    }
                }
                Sec::Top
            }
            "object-group" => self.object_group(n, t, &w),
            "router" => {
                self.routing(n, t);
                Sec::Routing
            }
            "ipv6" if w1 == "router" => {
                self.routing(n, t);
                Sec::Routing
            }
            "ip" | "ipv6" if w1 == "route" => {
                self.route(n, t, &w[2..], w0 == "ipv6", None);
                Sec::Top
            }
            "ip" if w1 == "nat" => {
                if w2 == "pool" {
                    return self.nat_pool(n, t, &w);
                }
                self.nats.push(Nat { n, text: t.to_string() });
                Sec::Top
            }
            "ip" if w1 == "vrf" && !w2.is_empty() => {
                self.vrfs.push((n, t.to_string()));
                Sec::Ignored
            }
            "vrf" if w1 == "definition" || w1 == "instance" => {
                self.vrfs.push((n, t.to_string()));
                Sec::Ignored
            }
            "vrf" if w1 == "context" => {
                self.vrfs.push((n, t.to_string()));
                self.d.set_context(format!("vrf context {w2}"));
                Sec::VrfContext(w2.to_string())
            }
            "zone" => Sec::Ignored,
            "line" => Sec::Line,
            "zone-pair" => {
                self.zone_pairs.push((n, t.to_string()));
                self.warn(
                    codes::UNMODELLED_TARGET,
                    n,
                    t,
                    "zone-based firewall policy is not modelled: traffic between zones is filtered by policies Portolan does not read",
                );
                Sec::Ignored
            }
            "ip" if IP_IRRELEVANT.contains(&w1) => Sec::Ignored,
            "ipv6" if IPV6_IRRELEVANT.contains(&w1) => Sec::Ignored,
            "ipv4" if matches!(w1, "prefix-list" | "virtual") => Sec::Ignored,
            "no" if w1 == "ip" && w2 == "routing" => {
                self.warn(codes::UNMODELLED_MATCH, n, t, "no ip routing: the device does not route IPv4; Portolan still routes through it");
                Sec::Top
            }
            // `no X` turns off a default: recognised when X is a statement recognised above.
            "no" if TOP_IRRELEVANT.contains(&w1)
                || (w1 == "ip" && (IP_IRRELEVANT.contains(&w2) || matches!(w2, "route" | "nat" | "vrf")))
                || (w1 == "ipv6" && (IPV6_IRRELEVANT.contains(&w2) || matches!(w2, "route")))
                || matches!(w1, "hostname" | "interface" | "router" | "object-group" | "zone" | "zone-pair") =>
            {
                Sec::Top
            }
            "description" => {
                self.skipped += 1;
                Sec::Ignored
            }
            _ if TOP_IRRELEVANT.contains(&w0) => Sec::Ignored,
            _ => {
                self.d.unrecognized(n, t, "unrecognised statement");
                Sec::Unknown(t.to_string())
            }
        }
    }

    fn acl(&mut self, name: &str, v6: bool, standard: bool, n: u32, t: &str) -> usize {
        let key = (v6, name.to_string());
        if let Some(&i) = self.acl_idx.get(&key) {
            return i;
        }
        self.acls.push(Acl {
            name: name.to_string(),
            v6,
            standard,
            non_ip: false,
            header: self.prov(n, t),
            entries: Vec::new(),
        });
        let i = self.acls.len() - 1;
        self.acl_idx.insert(key, i);
        i
    }

    /// `access-list N ...`: numbered lists (1-99, 1300-1999 standard; 100-199, 2000-2699
    /// extended; other numbers are not IP lists).
    fn numbered_acl(&mut self, n: u32, t: &'a str, w: &[&'a str]) {
        let Some(name) = w.get(1) else {
            self.d.unrecognized(n, t, "access-list without a number");
            return;
        };
        let Ok(num) = name.parse::<u32>() else {
            match *name {
                "compiled" | "dynamic-extended" | "rate-limit" => {}
                _ => self.d.unrecognized(n, t, "a named access list in numbered form (not IOS syntax)"),
            }
            return;
        };
        let (standard, non_ip) = match num {
            1..=99 | 1300..=1999 => (true, false),
            100..=199 | 2000..=2699 => (false, false),
            _ => (false, true),
        };
        let new = !self.acl_idx.contains_key(&(false, name.to_string()));
        let i = self.acl(name, false, standard, n, t);
        if non_ip {
            if new {
                self.info(codes::UNMODELLED_MATCH, n, t, format!("access list {num} is not an IP access list (MAC or protocol type): not modelled"));
            }
            if let Some(a) = self.acls.get_mut(i) {
                a.non_ip = true;
            }
            return;
        }
        // The entry is the rest of the line after `access-list N`.
        let rest = t
            .trim_ascii_start()
            .strip_prefix("access-list")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(*name))
            .unwrap_or("")
            .trim_ascii();
        if let Some(a) = self.acls.get_mut(i) {
            a.entries.push((n, rest));
        }
    }

    fn object_group(&mut self, n: u32, t: &str, w: &[&str]) -> Sec {
        let kind = w.get(1).copied().unwrap_or("");
        let (sec, name) = match (kind, w.get(2).copied(), w.get(3).copied()) {
            ("network", Some(name), _) => (Sec::NetGroup(name.to_string()), name),
            ("v6-network", Some(name), _) => {
                self.net_group_v6.insert(name.to_string());
                (Sec::NetGroup(name.to_string()), name)
            }
            ("service" | "protocol", Some(name), _) => (Sec::SvcGroup(name.to_string()), name),
            ("ip" | "ipv6", Some("address"), Some(name)) => {
                if kind == "ipv6" {
                    self.net_group_v6.insert(name.to_string());
                }
                (Sec::NetGroup(name.to_string()), name)
            }
            ("ip", Some("port"), Some(name)) => (Sec::PortGroup(name.to_string()), name),
            _ => {
                self.d.unrecognized(n, t, "unrecognised object-group type");
                return Sec::Unknown(t.to_string());
            }
        };
        match &sec {
            Sec::NetGroup(_) => {
                self.net_groups.entry(name.to_string()).or_default();
            }
            Sec::SvcGroup(_) => {
                self.svc_groups.entry(name.to_string()).or_default();
            }
            Sec::PortGroup(_) => {
                self.port_groups.entry(name.to_string()).or_default();
            }
            _ => {}
        }
        self.d.set_context(format!("object-group {name}"));
        sec
    }

    fn routing(&mut self, n: u32, t: &str) {
        self.routing.push((n, t.to_string()));
    }

    fn nat_pool(&mut self, n: u32, t: &str, w: &[&str]) -> Sec {
        // ip nat pool NAME START END {netmask M | prefix-length N} [type ...]
        let Some(name) = w.get(3) else {
            self.d.unrecognized(n, t, "NAT pool without a name");
            return Sec::Top;
        };
        let a = w.get(4).and_then(|s| s.parse::<Ipv4Addr>().ok());
        let b = w.get(5).and_then(|s| s.parse::<Ipv4Addr>().ok());
        match (a, b) {
            (Some(a), Some(b)) if a <= b => {
                self.pools.insert(name.to_string(), (AddrRange { lo: IpAddr::V4(a), hi: IpAddr::V4(b) }, self.prov(n, t)));
                if w.contains(&"rotary") {
                    self.info(codes::UNMODELLED_MATCH, n, t, "a rotary pool spreads connections over its addresses; the analysis follows the first");
                }
                Sec::Top
            }
            (Some(_), Some(_)) => {
                self.warn(codes::BAD_VALUE, n, t, "the pool's first address is above its last");
                Sec::Top
            }
            _ if w.iter().any(|x| *x == "prefix-length" || *x == "netmask") => Sec::NatPool(name.to_string()),
            _ => {
                self.warn(codes::BAD_VALUE, n, t, "NAT pool without a valid address range");
                Sec::Top
            }
        }
    }

    /// `ip route [vrf V] PREFIX MASK {NEXTHOP | IFACE [NEXTHOP]} [DISTANCE] [name N] [tag T]
    /// [permanent] [track K]`, `ipv6 route [vrf V] P/LEN ...`, `ip route P/LEN ...` (NX-OS, EOS).
    fn route(&mut self, n: u32, t: &str, args: &[&str], v6: bool, vrf: Option<&str>) {
        let mut i = 0;
        let mut table = vrf.unwrap_or("main").to_string();
        if args.first() == Some(&"vrf") {
            match args.get(1) {
                Some(v) => table = v.to_string(),
                None => {
                    self.warn(codes::BAD_VALUE, n, t, "vrf without a name");
                    return;
                }
            }
            i = 2;
        }
        let Some(first) = args.get(i) else {
            self.warn(codes::BAD_VALUE, n, t, "route without a destination");
            return;
        };
        let dst: IpNet = if first.contains('/') {
            match first.parse::<IpNet>() {
                Ok(x) => {
                    i += 1;
                    x
                }
                Err(_) => {
                    self.warn(codes::BAD_VALUE, n, t, format!("{first:?} is not a prefix"));
                    return;
                }
            }
        } else {
            let a = first.parse::<Ipv4Addr>().ok();
            let m = args.get(i + 1).and_then(|s| s.parse::<Ipv4Addr>().ok());
            match (a, m.and_then(mask_len)) {
                (Some(a), Some(l)) => {
                    i += 2;
                    match Ipv4Net::new(a, l) {
                        Ok(x) => IpNet::V4(x),
                        Err(_) => return,
                    }
                }
                _ => {
                    self.warn(codes::BAD_VALUE, n, t, "not a destination address and network mask");
                    return;
                }
            }
        };
        if matches!(dst, IpNet::V4(_)) == v6 {
            self.warn(codes::BAD_VALUE, n, t, "the destination's address family does not match the command");
            return;
        }
        if dst.trunc() != dst {
            self.info(codes::HOST_BITS, n, t, format!("destination {dst} has host bits set: read as {}", dst.trunc()));
        }
        let mut via: Option<IpAddr> = None;
        let mut dev: Option<String> = None;
        let mut kind = RouteKind::Unicast;
        let mut metric = STATIC_ROUTE_DISTANCE;
        let mut bad = Vec::new();
        while let Some(&x) = args.get(i) {
            i += 1;
            if let Ok(a) = x.parse::<IpAddr>() {
                if via.is_none() {
                    via = Some(a);
                }
                continue;
            }
            if let Ok(d) = x.parse::<u32>() {
                if via.is_some() || dev.is_some() {
                    metric = d;
                } else {
                    bad.push(x.to_string());
                }
                continue;
            }
            match x.to_ascii_lowercase().as_str() {
                "name" | "tag" | "track" | "description" => {
                    // A quoted name may hold spaces.
                    if args.get(i).is_some_and(|a| a.starts_with('"')) {
                        while let Some(a) = args.get(i) {
                            i += 1;
                            if a.ends_with('"') && (a.len() > 1 || i > 1) {
                                break;
                            }
                        }
                    } else {
                        i += 1;
                    }
                }
                "permanent" | "global" | "dhcp" | "multicast" | "unicast" | "bfd" => {}
                "null0" | "null" => {
                    kind = RouteKind::Blackhole;
                    dev = Some("Null0".into());
                    if args.get(i) == Some(&"0") {
                        i += 1;
                    }
                }
                _ if x.starts_with(|c: char| c.is_ascii_alphabetic()) && dev.is_none() && via.is_none() => {
                    let c = canon_iface(x);
                    if c.eq_ignore_ascii_case("null0") {
                        kind = RouteKind::Blackhole;
                    }
                    dev = Some(c);
                }
                _ => bad.push(x.to_string()),
            }
        }
        if !bad.is_empty() {
            self.warn(codes::BAD_VALUE, n, t, format!("unrecognised route words {}: the route is kept", bad.join(" ")));
        }
        if via.is_none() && dev.is_none() {
            self.warn(codes::BAD_VALUE, n, t, "route without a next hop or interface");
            return;
        }
        if kind == RouteKind::Blackhole {
            dev = None;
        }
        self.routes.push(Route { dst, via, dev, kind, metric, src: None, table, prov: self.prov(n, t) });
    }

    fn child(&mut self, sec: &Sec, n: u32, t: &'a str, deeper: bool) {
        let sec = sec.clone();
        match sec {
            Sec::Top => {}
            Sec::Ignored | Sec::Routing => {}
            Sec::Line => {
                let w0 = t.split_ascii_whitespace().next().unwrap_or("");
                if w0 == "access-class" || t.starts_with("ipv6 access-class") {
                    self.info(
                        codes::UNMODELLED_MATCH,
                        n,
                        t,
                        "access-class restricts who may log in to the device's terminal lines (telnet, ssh): not modelled",
                    );
                }
            }
            Sec::Unknown(h) => self.d.unrecognized(n, t, format!("inside the unrecognised section \"{h}\"")),
            Sec::Iface(i) => {
                // A deeper line that does not belong to an ignored sub-block (`show running-config
                // all` indents some interface statements twice) is an interface statement.
                if !deeper {
                    self.sub_ignored = false;
                }
                self.iface_line(i, n, t);
            }
            Sec::Acl(i) => {
                let w0 = t.split_ascii_whitespace().next().unwrap_or("");
                let w1 = t.split_ascii_whitespace().nth(1).unwrap_or("");
                if matches!(w0, "statistics" | "counters" | "exit") || (w0 == "fragments" && !w1.is_empty()) {
                    return;
                }
                if w0 == "remark" || (w0.parse::<u32>().is_ok() && w1 == "remark") {
                    self.skipped += 1;
                    return;
                }
                if w0 == "no" {
                    // `no 10`: delete an entry by sequence number.
                    if let (Some(a), Ok(seq)) = (self.acls.get_mut(i), w1.parse::<u32>()) {
                        a.entries.retain(|(_, e)| e.split_ascii_whitespace().next().and_then(|s| s.parse::<u32>().ok()) != Some(seq));
                        return;
                    }
                }
                if let Some(a) = self.acls.get_mut(i) {
                    a.entries.push((n, t));
                }
            }
            Sec::NetGroup(name) => {
                if t.starts_with("description") {
                    self.skipped += 1;
                    return;
                }
                if let Some(g) = self.net_groups.get_mut(&name) {
                    g.members.push((n, t.to_string()));
                }
            }
            Sec::SvcGroup(name) => {
                if t.starts_with("description") {
                    self.skipped += 1;
                    return;
                }
                if let Some(g) = self.svc_groups.get_mut(&name) {
                    g.members.push((n, t.to_string()));
                }
            }
            Sec::PortGroup(name) => {
                if let Some(g) = self.port_groups.get_mut(&name) {
                    g.members.push((n, t.to_string()));
                }
            }
            Sec::VrfContext(v) => {
                let w: Vec<&str> = t.split_ascii_whitespace().collect();
                if matches!(w.first(), Some(&("ip" | "ipv6"))) && w.get(1) == Some(&"route") {
                    let v6 = w[0] == "ipv6";
                    self.route(n, t, &w[2..], v6, Some(&v));
                }
            }
            Sec::NatPool(name) => {
                let w: Vec<&str> = t.split_ascii_whitespace().collect();
                match (w.first(), w.get(1).and_then(|s| s.parse::<Ipv4Addr>().ok()), w.get(2).and_then(|s| s.parse::<Ipv4Addr>().ok())) {
                    (Some(&"address"), Some(a), Some(b)) if a <= b => {
                        // Several address lines: the analysis uses the first range.
                        if !self.pools.contains_key(&name) {
                            self.pools.insert(name.clone(), (AddrRange { lo: IpAddr::V4(a), hi: IpAddr::V4(b) }, self.prov(n, t)));
                        }
                    }
                    _ => self.d.unrecognized(n, t, "not a NAT pool address range"),
                }
            }
        }
    }

    fn iface_line(&mut self, i: usize, n: u32, t: &str) {
        let w: Vec<&str> = t.split_ascii_whitespace().collect();
        let w0 = w.first().copied().unwrap_or("");
        let w1 = w.get(1).copied().unwrap_or("");
        let w2 = w.get(2).copied().unwrap_or("");
        match (w0, w1) {
            ("description", _) => self.skipped += 1,
            ("shutdown", _) => {
                if let Some(f) = self.ifaces.get_mut(i) {
                    f.up = false;
                }
            }
            ("no", "shutdown") => {
                if let Some(f) = self.ifaces.get_mut(i) {
                    f.up = true;
                }
            }
            ("ip", "address") => self.iface_addr(i, n, t, &w[2..]),
            ("ipv6", "address") => self.iface_addr6(i, n, t, &w[2..]),
            ("no", "ip" | "ipv6") if w2 == "address" => {
                if let Some(f) = self.ifaces.get_mut(i) {
                    let v6 = w1 == "ipv6";
                    f.addrs.retain(|a| a.addr().is_ipv6() != v6);
                }
            }
            ("vrf", "forwarding" | "member") | ("ip", "vrf") if !w2.is_empty() || w0 == "ip" => {
                let name = if w0 == "ip" { w.get(3).copied() } else { Some(w2) };
                match name {
                    Some(v) if w0 == "vrf" || w2 == "forwarding" => {
                        if let Some(f) = self.ifaces.get_mut(i) {
                            f.vrf = Some(v.to_string());
                        }
                    }
                    // ip vrf receive / sitemap ...
                    _ => {}
                }
            }
            ("vrf", v) if !v.is_empty() && w.len() == 2 => {
                if let Some(f) = self.ifaces.get_mut(i) {
                    f.vrf = Some(v.to_string());
                }
            }
            ("ip" | "ipv6", "access-group" | "traffic-filter") | ("ipv6", "port") => {
                let v6 = w0 == "ipv6";
                let (name, dir) = if w1 == "port" { (w.get(3).copied(), w.get(4).copied()) } else { (w.get(2).copied(), w.get(3).copied()) };
                match (name, dir) {
                    (Some(name), Some(d @ ("in" | "out"))) => {
                        let prov = self.prov(n, t);
                        if let Some(f) = self.ifaces.get_mut(i) {
                            f.filters.push((v6, name.to_string(), d == "in", prov));
                        }
                    }
                    _ => self.warn(codes::BAD_VALUE, n, t, "access-group needs an access list and in or out"),
                }
            }
            ("ip", "port") if w2 == "access-group" => {
                self.warn(codes::UNMODELLED_MATCH, n, t, "port access lists (layer 2 ports) are not modelled");
            }
            ("ip", "nat") => match w2 {
                "inside" => {
                    if let Some(f) = self.ifaces.get_mut(i) {
                        f.nat_inside = true;
                    }
                }
                "outside" => {
                    if let Some(f) = self.ifaces.get_mut(i) {
                        f.nat_outside = true;
                    }
                }
                "enable" => self.warn(codes::UNMODELLED_TARGET, n, t, "NAT virtual interface (ip nat enable) is not modelled: its translations are missing"),
                _ => self.d.unrecognized(n, t, "unrecognised interface NAT statement"),
            },
            ("ip" | "ipv6", "policy") => {
                self.pbr.push((n, t.to_string()));
            }
            ("ip", "inspect") => {
                self.warn(
                    codes::UNMODELLED_MATCH,
                    n,
                    t,
                    "stateful inspection (CBAC) is not modelled: replies it would let through the access lists are denied in the analysis",
                );
            }
            ("zone-member", _) => {
                let prov = self.prov(n, t);
                if let Some(f) = self.ifaces.get_mut(i) {
                    f.zone = Some((w.get(2).copied().unwrap_or("").to_string(), prov));
                }
            }
            ("ip" | "ipv6", "verify") => {
                self.info(codes::UNMODELLED_MATCH, n, t, "unicast reverse-path forwarding is not modelled (it drops only packets with spoofed sources)");
            }
            ("ip", "unnumbered") => {
                self.info(codes::UNMODELLED_MATCH, n, t, "an unnumbered interface borrows another interface's address: it gets no subnet of its own");
            }
            ("ip", x) if IFACE_IP_IRRELEVANT.contains(&x) => {}
            ("ipv6", x) if IFACE_IPV6_IRRELEVANT.contains(&x) => {}
            ("no", "ip") if IFACE_IP_IRRELEVANT.contains(&w2) || matches!(w2, "access-group" | "nat" | "policy" | "inspect" | "vrf") => {}
            ("no", "ipv6") if IFACE_IPV6_IRRELEVANT.contains(&w2) || matches!(w2, "traffic-filter" | "policy") => {}
            ("no", x) if IFACE_IRRELEVANT.contains(&x) && x != "ip" && x != "ipv6" => {}
            ("ip" | "ipv6" | "no", _) => self.d.unrecognized(n, t, "unrecognised interface statement"),
            (x, _) if IFACE_IRRELEVANT.contains(&x) => {
                if matches!(x, "pvc" | "service-instance" | "vrrp" | "standby" | "hsrp" | "crypto" | "class" | "priority" | "police") {
                    self.sub_ignored = true;
                }
            }
            _ => self.d.unrecognized(n, t, "unrecognised interface statement"),
        }
    }

    fn iface_addr(&mut self, i: usize, n: u32, t: &str, args: &[&str]) {
        let first = args.first().copied().unwrap_or("");
        let (net, rest) = if first.contains('/') {
            match first.parse::<ipnet::Ipv4Net>() {
                Ok(x) => (x, &args[1..]),
                Err(_) => {
                    self.warn(codes::BAD_VALUE, n, t, format!("{first:?} is not an IPv4 address with prefix length"));
                    return;
                }
            }
        } else {
            match first {
                "dhcp" | "negotiated" | "pool" => {
                    self.info(codes::UNMODELLED_MATCH, n, t, "the address is assigned at run time: the interface has no known address");
                    return;
                }
                _ => {}
            }
            let a = first.parse::<Ipv4Addr>().ok();
            let m = args.get(1).and_then(|s| s.parse::<Ipv4Addr>().ok());
            match (a, m) {
                (Some(a), Some(m)) => match mask_len(m).and_then(|l| Ipv4Net::new(a, l).ok()) {
                    Some(x) => (x, args.get(2..).unwrap_or(&[])),
                    None => {
                        self.warn(codes::BAD_VALUE, n, t, format!("{m} is not a network mask"));
                        return;
                    }
                },
                _ => {
                    self.warn(codes::BAD_VALUE, n, t, "not an address and network mask");
                    return;
                }
            }
        };
        let secondary = rest.contains(&"secondary");
        if let Some(f) = self.ifaces.get_mut(i) {
            if !secondary {
                // A new primary replaces the old primary (the first IPv4 address).
                if let Some(pos) = f.addrs.iter().position(|a| a.addr().is_ipv4()) {
                    f.addrs.remove(pos);
                    f.addrs.insert(pos, IpNet::V4(net));
                    return;
                }
                f.addrs.insert(0, IpNet::V4(net));
            } else {
                f.addrs.push(IpNet::V4(net));
            }
        }
    }

    fn iface_addr6(&mut self, i: usize, n: u32, t: &str, args: &[&str]) {
        let first = args.first().copied().unwrap_or("");
        if matches!(first, "autoconfig" | "dhcp") {
            self.info(codes::UNMODELLED_MATCH, n, t, "the IPv6 address is assigned at run time: the interface has no known IPv6 address");
            return;
        }
        let Ok(net) = first.parse::<ipnet::Ipv6Net>() else {
            // `ipv6 address FE80::1 link-local`
            if args.get(1) == Some(&"link-local") && first.parse::<std::net::Ipv6Addr>().is_ok() {
                return;
            }
            self.warn(codes::BAD_VALUE, n, t, format!("{first:?} is not an IPv6 prefix"));
            return;
        };
        match args.get(1).copied() {
            Some("eui-64") => {
                self.info(codes::UNMODELLED_MATCH, n, t, "an EUI-64 address depends on the hardware address: only the subnet is known, not the interface's own address");
                return;
            }
            Some("link-local") => return,
            _ => {}
        }
        if let Some(f) = self.ifaces.get_mut(i) {
            f.addrs.push(IpNet::V6(net));
        }
    }

    /// The declared interface a reference names (abbreviations and case allowed).
    fn resolve_iface(&self, name: &str) -> Option<usize> {
        let c = canon_iface(name);
        self.iface_idx.get(&c).copied().or_else(|| self.ifaces.iter().position(|i| i.name.eq_ignore_ascii_case(&c)))
    }

    // ---------------------------------------------------------------- lowering

    fn lower(&mut self) -> (Firewall, Vec<Interface>, Vec<Route>) {
        let groups = self.resolve_groups();
        let mut fw = Firewall { rulesets: Vec::new(), hooks: Vec::new(), stateful: false };
        // Access lists, in order of appearance.
        let mut acl_rs: HashMap<(bool, String), usize> = HashMap::new();
        let acls = std::mem::take(&mut self.acls);
        for a in &acls {
            if a.non_ip {
                continue;
            }
            let rs = self.lower_acl(a, &groups);
            fw.rulesets.push(rs);
            acl_rs.insert((a.v6, a.name.clone()), fw.rulesets.len() - 1);
        }
        self.acls = acls;
        self.bind_filters(&mut fw, &acl_rs);
        self.lower_nat(&mut fw, &acl_rs);
        self.zone_rules(&mut fw);
        self.report_once();
        // Routes through an interface given by an abbreviation use the declared name.
        let mut routes = std::mem::take(&mut self.routes);
        for r in &mut routes {
            if let Some(d) = &r.dev {
                if let Some(i) = self.resolve_iface(d) {
                    r.dev = Some(self.ifaces[i].name.clone());
                }
            }
        }
        let interfaces = self
            .ifaces
            .iter()
            .map(|f| Interface {
                name: f.name.clone(),
                addresses: f.addrs.clone(),
                up: f.up,
                zone: f.zone.as_ref().map(|z| z.0.clone()),
                // `ip nat outside` is the configuration's own mark of the outside-facing side.
                external: f.nat_outside,
                prov: f.prov.clone(),
            })
            .collect();
        (fw, interfaces, routes)
    }

    fn report_once(&mut self) {
        self.d.set_context("");
        if let Some((n, t)) = self.routing.first().cloned() {
            let list: Vec<String> = self.routing.iter().map(|(_, h)| h.clone()).collect();
            self.warn(
                codes::UNMODELLED_MATCH,
                n,
                &t,
                format!(
                    "dynamic routing not modelled ({}): routes these protocols would learn are missing, so destinations reached only through them appear unreachable",
                    list.join(", ")
                ),
            );
        }
        if let Some((n, t)) = self.pbr.first().cloned() {
            self.warn(
                codes::UNMODELLED_MATCH,
                n,
                &t,
                format!(
                    "policy-based routing not modelled ({} interface{}): packets follow the routing table, not the route map",
                    self.pbr.len(),
                    if self.pbr.len() == 1 { "" } else { "s" }
                ),
            );
        }
        if let Some((n, t)) = self.vrfs.first().cloned() {
            self.info(
                codes::UNMODELLED_MATCH,
                n,
                &t,
                "VRFs are read (static routes keep the VRF name as their table) but not separated: the analysis routes as if every VRF shared one table",
            );
        }
    }

    /// Interfaces in security zones: traffic through them is decided by zone-pair policies
    /// that are not modelled, so every such packet only possibly passes.
    fn zone_rules(&mut self, fw: &mut Firewall) {
        self.d.set_context("");
        let zoned: Vec<(String, Provenance)> =
            self.ifaces.iter().filter_map(|f| f.zone.as_ref().map(|(_, p)| (f.name.clone(), p.clone()))).collect();
        if zoned.is_empty() {
            return;
        }
        let mut rules = Vec::new();
        for (name, prov) in &zoned {
            for c in [Test::InIface(name.clone()), Test::OutIface(name.clone())] {
                rules.push(Rule {
                    conds: vec![Cond::is(c)],
                    unknown: Vec::new(),
                    action: Action::Unknown("zone-based firewall policy (not modelled)".into()),
                    prov: prov.clone(),
                });
            }
            self.warn(codes::UNMODELLED_TARGET, prov.line, &prov.text.clone(), "the interface is in a security zone: zone-based firewall policies are not modelled, so traffic through it only possibly passes");
        }
        fw.rulesets.push(Ruleset {
            name: "zone-based firewall".into(),
            table: "security".into(),
            family: Family::Any,
            default: Some(Action::Accept),
            default_prov: Provenance::builtin("interfaces outside security zones are not filtered by zone policies"),
            rules,
        });
        fw.hooks.push(HookBinding { hook: Hook::Forward, stage: Stage::Filter, priority: 0, ruleset: fw.rulesets.len() - 1, family: Family::Any });
    }

    fn resolve_groups(&mut self) -> Groups {
        self.d.set_context("");
        let mut g = Groups::default();
        // Address groups: each group's own members, then the nested closure.
        // A group's own members, the groups it names (name, line, text) and its problems.
        type Local<T> = (Vec<T>, Vec<(String, u32, String)>, Vec<String>);
        let mut local: HashMap<String, Local<AddrRange>> = HashMap::new();
        let net = std::mem::take(&mut self.net_groups);
        let mut names: Vec<&String> = net.keys().collect();
        names.sort();
        for name in names {
            let v6 = self.net_group_v6.contains(name);
            let mut ranges = Vec::new();
            let mut nested = Vec::new();
            let mut problems = Vec::new();
            for (n, t) in &net[name].members {
                match self.net_member(t, v6) {
                    Ok(Member::Ranges(r)) => ranges.extend(r),
                    Ok(Member::Nested(x)) => {
                        if net.contains_key(&x) {
                            nested.push((x, *n, t.clone()));
                        } else {
                            self.warn(codes::UNDEFINED_REFERENCE, *n, t, format!("object-group {x} is not defined"));
                            problems.push(format!("group-object {x} is not defined"));
                        }
                    }
                    Ok(Member::Cosmetic) => self.skipped += 1,
                    Err(e) => {
                        self.warn(codes::BAD_VALUE, *n, t, format!("{e}: the member is left out and rules using the group only possibly match"));
                        problems.push(format!("unreadable member \"{t}\""));
                    }
                }
            }
            local.insert(name.clone(), (ranges, nested, problems));
        }
        let mut reported: HashSet<u32> = HashSet::new();
        let keys: Vec<String> = local.keys().cloned().collect();
        for k in keys {
            let mut out = AddrGroup::default();
            let mut stack = vec![k.clone()];
            self.net_closure(&k, &local, &mut stack, &mut out, &mut reported);
            g.net.insert(k, out);
        }
        self.net_groups = net;
        // Service groups.
        let svc = std::mem::take(&mut self.svc_groups);
        let mut slocal: HashMap<String, Local<Svc>> = HashMap::new();
        let mut names: Vec<&String> = svc.keys().collect();
        names.sort();
        for name in names {
            let mut svcs = Vec::new();
            let mut nested = Vec::new();
            let mut problems = Vec::new();
            for (n, t) in &svc[name].members {
                let words: Vec<&str> = t.split_ascii_whitespace().collect();
                if words.first() == Some(&"group-object") {
                    match words.get(1) {
                        Some(x) if svc.contains_key(*x) => nested.push((x.to_string(), *n, t.clone())),
                        Some(x) => {
                            self.warn(codes::UNDEFINED_REFERENCE, *n, t, format!("object-group {x} is not defined"));
                            problems.push(format!("group-object {x} is not defined"));
                        }
                        None => self.warn(codes::BAD_VALUE, *n, t, "group-object without a name"),
                    }
                    continue;
                }
                let body = t.strip_prefix("service-object ").or_else(|| t.strip_prefix("protocol-object ")).unwrap_or(t);
                match acl::service(body, &Groups::default()) {
                    Ok(s) => svcs.push(s),
                    Err(e) => {
                        self.warn(codes::BAD_VALUE, *n, t, format!("{e}: the member is left out and rules using the group only possibly match"));
                        problems.push(format!("unreadable member \"{t}\""));
                    }
                }
            }
            slocal.insert(name.clone(), (svcs, nested, problems));
        }
        let keys: Vec<String> = slocal.keys().cloned().collect();
        for k in keys {
            let mut out = SvcGroup::default();
            let mut stack = vec![k.clone()];
            self.svc_closure(&k, &slocal, &mut stack, &mut out, &mut reported);
            g.svc.insert(k, out);
        }
        self.svc_groups = svc;
        // NX-OS port groups.
        let ports = std::mem::take(&mut self.port_groups);
        for (name, raw) in &ports {
            let mut r = Vec::new();
            let mut problems = Vec::new();
            for (n, t) in &raw.members {
                let body = strip_seq(t);
                match acl::ports_only(body) {
                    Ok(x) => r.extend(x),
                    Err(e) => {
                        self.warn(codes::BAD_VALUE, *n, t, format!("{e}: the member is left out"));
                        problems.push(format!("unreadable member \"{t}\""));
                    }
                }
            }
            g.ports.insert(name.clone(), (r, problems));
        }
        self.port_groups = ports;
        g
    }

    #[allow(clippy::type_complexity)]
    fn net_closure(
        &mut self,
        k: &str,
        local: &HashMap<String, (Vec<AddrRange>, Vec<(String, u32, String)>, Vec<String>)>,
        stack: &mut Vec<String>,
        out: &mut AddrGroup,
        reported: &mut HashSet<u32>,
    ) {
        let Some((ranges, nested, problems)) = local.get(k) else { return };
        out.ranges.extend(ranges.iter().copied());
        out.problems.extend(problems.iter().cloned());
        for (x, n, t) in nested {
            if stack.iter().any(|s| s == x) || stack.len() >= MAX_GROUP_DEPTH {
                if reported.insert(*n) {
                    self.warn(codes::STRUCTURE, *n, t, format!("object-group {x} contains itself (or nests deeper than {MAX_GROUP_DEPTH}): the nesting is cut here"));
                }
                out.problems.push(format!("cyclic group-object {x}"));
                continue;
            }
            stack.push(x.clone());
            self.net_closure(x, local, stack, out, reported);
            stack.pop();
        }
    }

    #[allow(clippy::type_complexity)]
    fn svc_closure(
        &mut self,
        k: &str,
        local: &HashMap<String, (Vec<Svc>, Vec<(String, u32, String)>, Vec<String>)>,
        stack: &mut Vec<String>,
        out: &mut SvcGroup,
        reported: &mut HashSet<u32>,
    ) {
        let Some((svcs, nested, problems)) = local.get(k) else { return };
        out.svcs.extend(svcs.iter().cloned());
        out.problems.extend(problems.iter().cloned());
        for (x, n, t) in nested {
            if stack.iter().any(|s| s == x) || stack.len() >= MAX_GROUP_DEPTH {
                if reported.insert(*n) {
                    self.warn(codes::STRUCTURE, *n, t, format!("object-group {x} contains itself (or nests deeper than {MAX_GROUP_DEPTH}): the nesting is cut here"));
                }
                out.problems.push(format!("cyclic group-object {x}"));
                continue;
            }
            stack.push(x.clone());
            self.svc_closure(x, local, stack, out, reported);
            stack.pop();
        }
    }

    /// One member of an address group: `host A`, `A MASK`, `A/LEN`, `range A B`,
    /// `group-object N`, `network-object ...`, `description ...`, NX-OS `10 A/LEN`.
    fn net_member(&self, t: &str, v6: bool) -> Result<Member, String> {
        let t = strip_seq(t);
        let t = t.strip_prefix("network-object ").unwrap_or(t);
        let w: Vec<&str> = t.split_ascii_whitespace().collect();
        let family = |a: IpAddr| -> Result<(), String> {
            if a.is_ipv6() != v6 && !(v6 && a.is_ipv4()) {
                return Err(format!("{a} is not of the group's address family"));
            }
            Ok(())
        };
        match w.as_slice() {
            ["description", ..] => Ok(Member::Cosmetic),
            ["group-object", x] => Ok(Member::Nested(x.to_string())),
            ["host", a] => {
                let ip: IpAddr = a.parse().map_err(|_| format!("{a:?} is not an address"))?;
                family(ip)?;
                Ok(Member::Ranges(vec![AddrRange::single(ip)]))
            }
            ["any"] => Ok(Member::Ranges(vec![AddrRange::from_net(if v6 { "::/0" } else { "0.0.0.0/0" }.parse().map_err(|_| "any")?)])),
            ["range", a, b] => {
                let lo: IpAddr = a.parse().map_err(|_| format!("{a:?} is not an address"))?;
                let hi: IpAddr = b.parse().map_err(|_| format!("{b:?} is not an address"))?;
                if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
                    return Err("not an address range".into());
                }
                Ok(Member::Ranges(vec![AddrRange { lo, hi }]))
            }
            [p] if p.contains('/') => {
                let net: IpNet = p.parse().map_err(|_| format!("{p:?} is not a prefix"))?;
                family(net.addr())?;
                Ok(Member::Ranges(vec![AddrRange::from_net(net)]))
            }
            [a, m] if is_ip(a) && is_ip(m) => {
                let a: Ipv4Addr = a.parse().map_err(|_| format!("{a:?} is not an IPv4 address"))?;
                let m: Ipv4Addr = m.parse().map_err(|_| format!("{m:?} is not an IPv4 mask"))?;
                match mask_len(m) {
                    Some(l) => Ok(Member::Ranges(vec![AddrRange::from_net(IpNet::V4(Ipv4Net::new(a, l).map_err(|_| "bad mask")?))])),
                    // NX-OS writes `A WILDCARD` in address groups.
                    None => acl::wildcard_ranges(u32::from(a), u32::from(m))
                        .map(Member::Ranges)
                        .ok_or_else(|| format!("{m} is neither a network mask nor an expandable wildcard")),
                }
            }
            _ => Err("not an address group member".into()),
        }
    }

    fn lower_acl(&mut self, a: &Acl<'a>, g: &Groups) -> Ruleset {
        let dialect = Dialect { standard: a.standard, v6: a.v6 };
        self.d.set_context(format!("access list {}", a.name));
        // (sort key, rules)
        let mut out: Vec<Rule> = Vec::with_capacity(a.entries.len() + 3);
        let mut keys: Vec<u64> = Vec::with_capacity(a.entries.len());
        let mut last_seq: u64 = 0;
        let mut pos: u64 = 0;
        for (n, text) in &a.entries {
            pos += 1;
            let prov = self.prov(*n, text);
            let seq = match acl::parse(text, dialect, g) {
                Ok(Entry::Remark) => {
                    self.skipped += 1;
                    continue;
                }
                Ok(Entry::Rule { seq, action, variants, unknown, notes }) => {
                    for note in notes {
                        self.d.push(note.code, note.severity, *n, text, note.reason);
                    }
                    let last = variants.len().saturating_sub(1);
                    let mut prov = Some(prov);
                    for (k, conds) in variants.into_iter().enumerate() {
                        let p = if k == last { prov.take() } else { prov.clone() };
                        if let Some(p) = p {
                            out.push(Rule { conds, unknown: unknown.clone(), action: action.clone(), prov: p });
                        }
                    }
                    seq
                }
                Err(f) => {
                    let sev = if f.code == codes::UNRECOGNIZED { Severity::Error } else { Severity::Warning };
                    match f.action {
                        Some(action) => {
                            self.d.push(f.code, sev, *n, text, format!("{}: the entry is kept and only possibly matches", f.reason));
                            out.push(Rule { conds: Vec::new(), unknown: vec![text.to_string()], action, prov });
                            f.seq
                        }
                        None => {
                            self.d.push(f.code, sev, *n, text, format!("{}: the entry's effect is unknown", f.reason));
                            out.push(Rule { conds: Vec::new(), unknown: Vec::new(), action: Action::Unknown(text.to_string()), prov });
                            f.seq
                        }
                    }
                }
            };
            // Entries are evaluated in sequence-number order; entries without one follow the
            // last numbered entry (IOS numbers them in steps of 10).
            let key = match seq {
                Some(s) => {
                    last_seq = last_seq.max(s as u64);
                    (s as u64) << 20 | (pos & 0xFFFFF)
                }
                None => {
                    last_seq += 10;
                    last_seq << 20 | (pos & 0xFFFFF)
                }
            };
            keys.resize(out.len(), key);
        }
        // Written in sequence order (the usual case): nothing to move.
        let mut rules = if keys.windows(2).all(|w| w[0] <= w[1]) {
            out
        } else {
            let mut idx: Vec<usize> = (0..out.len()).collect();
            idx.sort_by_key(|&i| keys.get(i).copied().unwrap_or(u64::MAX));
            let mut slots: Vec<Option<Rule>> = out.into_iter().map(Some).collect();
            idx.iter().filter_map(|&i| slots.get_mut(i).and_then(Option::take)).collect()
        };
        if a.v6 {
            for (ty, what) in IPV6_IMPLICIT_ND {
                rules.push(Rule {
                    conds: vec![Cond::is(Test::Proto(vec![proto::ICMPV6])), Cond::is(Test::Icmp { ty: Some(ty), code: None })],
                    unknown: Vec::new(),
                    action: Action::Accept,
                    prov: Provenance { text: format!("implicit permit icmp any any {what} at the end of IPv6 ACL {}", a.name), ..a.header.clone() },
                });
            }
        }
        rules.push(Rule {
            conds: Vec::new(),
            unknown: Vec::new(),
            action: Action::Drop,
            prov: Provenance { text: format!("implicit deny at the end of ACL {}", a.name), ..a.header.clone() },
        });
        Ruleset {
            name: a.name.clone(),
            table: "acl".into(),
            family: if a.v6 { Family::V6 } else { Family::V4 },
            default: None,
            default_prov: a.header.clone(),
            rules,
        }
    }

    /// Dispatchers for `ip access-group` / `ipv6 traffic-filter` bindings.
    fn bind_filters(&mut self, fw: &mut Firewall, acl_rs: &HashMap<(bool, String), usize>) {
        self.d.set_context("");
        for v6 in [false, true] {
            for inbound in [true, false] {
                let mut rules = Vec::new();
                let ifaces: Vec<(String, Vec<Filter>)> =
                    self.ifaces.iter().map(|f| (f.name.clone(), f.filters.clone())).collect();
                for (ifname, filters) in ifaces {
                    for (fv6, acl, fin, prov) in filters {
                        if fv6 != v6 || fin != inbound {
                            continue;
                        }
                        let Some(&target) = acl_rs.get(&(v6, acl.clone())) else {
                            // IOS permits every packet through a reference to an undefined list.
                            self.info(
                                codes::UNDEFINED_REFERENCE,
                                prov.line,
                                &prov.text,
                                format!("access list {acl} is not defined: IOS lets every packet through an undefined access list"),
                            );
                            continue;
                        };
                        let mut conds = vec![Cond::is(if inbound { Test::InIface(ifname.clone()) } else { Test::OutIface(ifname.clone()) })];
                        if !inbound {
                            // Packets the router sends itself are not subject to outbound ACLs.
                            conds.push(Cond::not(Test::SrcLocal));
                        }
                        rules.push(Rule { conds, unknown: Vec::new(), action: Action::Goto(target), prov });
                    }
                }
                if rules.is_empty() {
                    continue;
                }
                let what = if v6 { "ipv6 traffic-filter" } else { "ip access-group" };
                let dir = if inbound { "in" } else { "out" };
                fw.rulesets.push(Ruleset {
                    name: format!("{what} {dir}"),
                    table: "interface".into(),
                    family: if v6 { Family::V6 } else { Family::V4 },
                    default: Some(Action::Accept),
                    default_prov: Provenance::builtin(format!("interfaces without an {dir}bound access list pass every packet")),
                    rules,
                });
                fw.hooks.push(HookBinding {
                    hook: if inbound { Hook::Prerouting } else { Hook::Postrouting },
                    stage: Stage::Filter,
                    priority: if inbound { ACL_IN_PRIORITY } else { ACL_OUT_PRIORITY },
                    ruleset: fw.rulesets.len() - 1,
                    family: if v6 { Family::V6 } else { Family::V4 },
                });
            }
        }
    }

    fn lower_nat(&mut self, fw: &mut Firewall, acl_rs: &HashMap<(bool, String), usize>) {
        if self.nats.is_empty() {
            return;
        }
        self.d.set_context("ip nat");
        let inside: Vec<String> = self.ifaces.iter().filter(|f| f.nat_inside).map(|f| f.name.clone()).collect();
        let outside: Vec<String> = self.ifaces.iter().filter(|f| f.nat_outside).map(|f| f.name.clone()).collect();
        let mut dnat_static = Vec::new();
        let mut snat_static = Vec::new();
        let mut dnat_dyn = Vec::new();
        let mut snat_dyn = Vec::new();
        let nats = std::mem::take(&mut self.nats);
        for nat in &nats {
            let (n, t) = (nat.n, nat.text.as_str());
            let prov = self.prov(n, t);
            let w: Vec<&str> = t.split_ascii_whitespace().collect();
            // ip nat {inside|outside} {source|destination} ...
            let side = w.get(2).copied().unwrap_or("");
            let dir = w.get(3).copied().unwrap_or("");
            let rest = w.get(4..).unwrap_or(&[]);
            match (side, dir) {
                ("inside" | "outside", "source") | ("inside", "destination") => {}
                ("translation" | "service" | "log" | "settings" | "create" | "stateful", _) => continue,
                _ => {
                    self.d.unrecognized(n, t, "unrecognised NAT statement");
                    continue;
                }
            }
            if outside.is_empty() || inside.is_empty() {
                self.warn(
                    codes::STRUCTURE,
                    n,
                    t,
                    format!("no interface is marked ip nat {}: IOS never applies this translation", if outside.is_empty() { "outside" } else { "inside" }),
                );
                continue;
            }
            let (from_ifs, to_ifs) = if side == "inside" { (&inside, &outside) } else { (&outside, &inside) };
            match rest.first().copied() {
                Some("static") => {
                    match self.nat_static(n, t, &rest[1..], &prov) {
                        Some(st) => {
                            // Forward direction (source translated) and reverse (destination).
                            for i in from_ifs {
                                for o in to_ifs {
                                    let mut conds = vec![Cond::is(Test::InIface(i.clone())), Cond::is(Test::OutIface(o.clone()))];
                                    conds.extend(st.match_local.iter().cloned());
                                    snat_static.push(Rule { conds, unknown: st.unknown.clone(), action: Action::Snat(st.to_global.clone()), prov: prov.clone() });
                                }
                            }
                            for o in to_ifs {
                                let mut conds = vec![Cond::is(Test::InIface(o.clone()))];
                                conds.extend(st.match_global.iter().cloned());
                                dnat_static.push(Rule { conds, unknown: st.unknown.clone(), action: Action::Dnat(st.to_local.clone()), prov: prov.clone() });
                            }
                            for extra in st.more {
                                // Address-by-address network translation.
                                for i in from_ifs {
                                    for o in to_ifs {
                                        let mut conds = vec![Cond::is(Test::InIface(i.clone())), Cond::is(Test::OutIface(o.clone()))];
                                        conds.extend(extra.match_local.iter().cloned());
                                        snat_static.push(Rule { conds, unknown: Vec::new(), action: Action::Snat(extra.to_global.clone()), prov: prov.clone() });
                                    }
                                }
                                for o in to_ifs {
                                    let mut conds = vec![Cond::is(Test::InIface(o.clone()))];
                                    conds.extend(extra.match_global.iter().cloned());
                                    dnat_static.push(Rule { conds, unknown: Vec::new(), action: Action::Dnat(extra.to_local.clone()), prov: prov.clone() });
                                }
                            }
                        }
                        None => continue,
                    }
                }
                Some("list") | Some("route-map") => {
                    let kind = rest[0];
                    let Some(name) = rest.get(1).copied() else {
                        self.warn(codes::BAD_VALUE, n, t, format!("{kind} without a name"));
                        continue;
                    };
                    let tail = &rest[2..];
                    // What a matching packet gets.
                    let action = if tail.first() == Some(&"interface") {
                        match tail.get(1) {
                            Some(ifn) => match self.resolve_iface(ifn) {
                                Some(ix) => Ok((Some(self.ifaces[ix].name.clone()), None)),
                                None => Err(format!("interface {ifn} is not declared")),
                            },
                            None => Err("interface without a name".into()),
                        }
                    } else if tail.first() == Some(&"pool") {
                        match tail.get(1).and_then(|p| self.pools.get(*p)) {
                            Some((r, _)) => Ok((None, Some(*r))),
                            None => Err(format!("NAT pool {} is not defined", tail.get(1).unwrap_or(&""))),
                        }
                    } else {
                        Err("expected interface or pool".into())
                    };
                    let (via_if, pool) = match action {
                        Ok(x) => x,
                        Err(e) => {
                            self.warn(codes::UNDEFINED_REFERENCE, n, t, format!("{e}: the translation's effect is unknown"));
                            (None, None)
                        }
                    };
                    let known_target = via_if.is_some() || pool.is_some();
                    let dst = dir == "destination";
                    let sub = if kind == "list" && known_target {
                        match acl_rs.get(&(false, name.to_string())) {
                            Some(&ai) => {
                                let mut rs = fw.rulesets[ai].clone();
                                rs.name = format!("ip nat {side} {dir} list {name}");
                                rs.table = "nat".into();
                                for r in &mut rs.rules {
                                    r.action = match &r.action {
                                        Action::Accept => match (&via_if, pool) {
                                            (_, Some(p)) if dst => Action::Dnat(NatTarget { addr: Some(p), ports: None }),
                                            (_, Some(p)) => Action::Snat(NatTarget { addr: Some(p), ports: None }),
                                            _ => Action::Masquerade(None),
                                        },
                                        Action::Drop => Action::Return,
                                        other => other.clone(),
                                    };
                                }
                                fw.rulesets.push(rs);
                                Some(fw.rulesets.len() - 1)
                            }
                            None => {
                                self.warn(codes::UNDEFINED_REFERENCE, n, t, format!("access list {name} is not defined: the translation's effect is unknown"));
                                None
                            }
                        }
                    } else {
                        if kind == "route-map" {
                            self.warn(codes::UNMODELLED_TARGET, n, t, "NAT through a route map is not modelled: the translation's effect is unknown");
                        }
                        None
                    };
                    let action = match sub {
                        Some(i) => Action::Jump(i),
                        None => Action::Unknown(t.to_string()),
                    };
                    if dst {
                        // `inside destination`: packets arriving from the outside.
                        for o in to_ifs {
                            dnat_dyn.push(Rule { conds: vec![Cond::is(Test::InIface(o.clone()))], unknown: Vec::new(), action: action.clone(), prov: prov.clone() });
                        }
                    } else {
                        for i in from_ifs {
                            for o in to_ifs {
                                // Overload to an interface that is not the way out: its address.
                                let mut act = action.clone();
                                if let (Some(via), Some(si)) = (&via_if, sub) {
                                    if via != o {
                                        act = match self.ifaces.iter().find(|f| &f.name == via).and_then(|f| f.addrs.iter().find(|a| a.addr().is_ipv4())) {
                                            Some(a) => {
                                                let mut rs = fw.rulesets[si].clone();
                                                for r in &mut rs.rules {
                                                    if matches!(r.action, Action::Masquerade(_)) {
                                                        r.action = Action::Snat(NatTarget { addr: Some(AddrRange::single(a.addr())), ports: None });
                                                    }
                                                }
                                                rs.name = format!("{} via {o}", rs.name);
                                                fw.rulesets.push(rs);
                                                Action::Jump(fw.rulesets.len() - 1)
                                            }
                                            None => Action::Unknown(t.to_string()),
                                        };
                                    }
                                }
                                snat_dyn.push(Rule {
                                    conds: vec![Cond::is(Test::InIface(i.clone())), Cond::is(Test::OutIface(o.clone()))],
                                    unknown: Vec::new(),
                                    action: act,
                                    prov: prov.clone(),
                                });
                            }
                        }
                    }
                }
                _ => {
                    self.d.unrecognized(n, t, "unrecognised NAT statement");
                }
            }
        }
        self.nats = nats;
        let push = |fw: &mut Firewall, name: &str, rules: Vec<Rule>, hook: Hook, stage: Stage, prio: i32| {
            if rules.is_empty() {
                return;
            }
            fw.rulesets.push(Ruleset {
                name: name.into(),
                table: "nat".into(),
                family: Family::V4,
                default: Some(Action::Accept),
                default_prov: Provenance::builtin("packets no NAT statement matches are not translated"),
                rules,
            });
            fw.hooks.push(HookBinding { hook, stage, priority: prio, ruleset: fw.rulesets.len() - 1, family: Family::V4 });
        };
        // Static translations take precedence over dynamic ones.
        let mut dn = dnat_static;
        dn.extend(dnat_dyn);
        let mut sn = snat_static;
        sn.extend(snat_dyn);
        push(fw, "ip nat (destination)", dn, Hook::Prerouting, Stage::DstNat, DNAT_PRIORITY);
        push(fw, "ip nat (source)", sn, Hook::Postrouting, Stage::SrcNat, SNAT_PRIORITY);
    }

    /// `static [tcp|udp] LOCAL [LPORT] {GLOBAL | interface IF} [GPORT] [options]` and
    /// `static network LOCAL GLOBAL MASK|/LEN`.
    fn nat_static(&mut self, n: u32, t: &str, w: &[&str], _prov: &Provenance) -> Option<StaticNat> {
        let mut i = 0;
        let mut unknown = Vec::new();
        let proto = match w.first().copied() {
            Some("tcp") => {
                i += 1;
                Some(proto::TCP)
            }
            Some("udp") => {
                i += 1;
                Some(proto::UDP)
            }
            Some("network") => {
                return self.nat_static_network(n, t, &w[1..]);
            }
            _ => None,
        };
        let local: Ipv4Addr = match w.get(i).and_then(|s| s.parse().ok()) {
            Some(a) => a,
            None => {
                self.warn(codes::BAD_VALUE, n, t, "static NAT without a local address");
                return None;
            }
        };
        i += 1;
        let mut lport = None;
        if proto.is_some() {
            lport = w.get(i).and_then(|s| names::port(s, &[proto.unwrap_or(proto::TCP)]));
            if lport.is_none() {
                self.warn(codes::BAD_VALUE, n, t, "static port translation without a local port");
                return None;
            }
            i += 1;
        }
        let global: Ipv4Addr = if w.get(i) == Some(&"interface") {
            let ifn = w.get(i + 1).copied().unwrap_or("");
            i += 2;
            let known = self.resolve_iface(ifn);
            let addr = known.and_then(|x| self.ifaces[x].addrs.iter().find(|a| a.addr().is_ipv4()).map(|a| a.addr()));
            match addr {
                Some(IpAddr::V4(a)) => a,
                _ if known.is_some() => {
                    // The interface's address is learned at run time: the translation applies to
                    // an address the analysis does not know.
                    self.warn(
                        codes::UNMODELLED_MATCH,
                        n,
                        t,
                        format!("interface {ifn} has no known IPv4 address: the translation only possibly applies"),
                    );
                    unknown.push(format!("the address of interface {ifn}"));
                    Ipv4Addr::UNSPECIFIED
                }
                _ => {
                    self.warn(codes::UNDEFINED_REFERENCE, n, t, format!("interface {ifn} is not declared: the translation is left out"));
                    return None;
                }
            }
        } else {
            match w.get(i).and_then(|s| s.parse().ok()) {
                Some(a) => {
                    i += 1;
                    a
                }
                None => {
                    self.warn(codes::BAD_VALUE, n, t, "static NAT without a global address");
                    return None;
                }
            }
        };
        let mut gport = None;
        if let Some(p) = proto {
            gport = w.get(i).and_then(|s| names::port(s, &[p]));
            if gport.is_none() {
                self.warn(codes::BAD_VALUE, n, t, "static port translation without a global port");
                return None;
            }
            i += 1;
        }
        while let Some(&x) = w.get(i) {
            i += 1;
            match x {
                "extendable" | "no-alias" | "no-payload" | "add-route" | "reversible" => {}
                "vrf" | "redundancy" | "mapping-id" | "match-in-vrf" => {
                    i += 1;
                }
                "route-map" => {
                    let rm = w.get(i).copied().unwrap_or("");
                    i += 1;
                    unknown.push(format!("route-map {rm}"));
                    self.warn(codes::UNMODELLED_MATCH, n, t, format!("route-map {rm} restricts the translation and is not modelled: it only possibly applies"));
                }
                _ => {
                    self.warn(codes::BAD_VALUE, n, t, format!("unrecognised NAT option {x:?}"));
                }
            }
        }
        let l = IpAddr::V4(local);
        let g = IpAddr::V4(global);
        let mut match_local = Vec::new();
        let mut match_global = Vec::new();
        if let Some(p) = proto {
            match_local.push(Cond::is(Test::Proto(vec![p])));
            match_global.push(Cond::is(Test::Proto(vec![p])));
        }
        match_local.push(Cond::is(Test::Src(vec![AddrRange::single(l)])));
        if !global.is_unspecified() {
            match_global.push(Cond::is(Test::Dst(vec![AddrRange::single(g)])));
        }
        if let (Some(lp), Some(gp)) = (lport, gport) {
            match_local.push(Cond::is(Test::Sport(vec![(lp, lp)])));
            match_global.push(Cond::is(Test::Dport(vec![(gp, gp)])));
        }
        Some(StaticNat {
            match_local,
            match_global,
            to_global: NatTarget { addr: (!global.is_unspecified()).then(|| AddrRange::single(g)), ports: gport.map(|p| (p, p)) },
            to_local: NatTarget { addr: Some(AddrRange::single(l)), ports: lport.map(|p| (p, p)) },
            unknown,
            more: Vec::new(),
        })
    }

    fn nat_static_network(&mut self, n: u32, t: &str, w: &[&str]) -> Option<StaticNat> {
        let local: Option<Ipv4Addr> = w.first().and_then(|s| s.parse().ok());
        let global: Option<Ipv4Addr> = w.get(1).and_then(|s| s.parse().ok());
        let len: Option<u8> = w.get(2).and_then(|s| match s.strip_prefix('/') {
            Some(l) => l.parse().ok().filter(|l| *l <= 32),
            None => s.parse::<Ipv4Addr>().ok().and_then(mask_len),
        });
        let (Some(local), Some(global), Some(len)) = (local, global, len) else {
            self.warn(codes::BAD_VALUE, n, t, "static network NAT needs a local and global network and a mask");
            return None;
        };
        let size: u64 = 1u64 << (32 - len as u32);
        if size > MAX_STATIC_NETWORK as u64 {
            self.warn(
                codes::UNMODELLED_TARGET,
                n,
                t,
                format!("static network translation of {size} addresses is not modelled address by address: it is left out"),
            );
            return None;
        }
        let lbase = u32::from(local) & !((size - 1) as u32);
        let gbase = u32::from(global) & !((size - 1) as u32);
        let mut all: Vec<StaticNat> = (0..size as u32)
            .map(|k| {
                let l = IpAddr::V4(Ipv4Addr::from(lbase | k));
                let g = IpAddr::V4(Ipv4Addr::from(gbase | k));
                StaticNat {
                    match_local: vec![Cond::is(Test::Src(vec![AddrRange::single(l)]))],
                    match_global: vec![Cond::is(Test::Dst(vec![AddrRange::single(g)]))],
                    to_global: NatTarget { addr: Some(AddrRange::single(g)), ports: None },
                    to_local: NatTarget { addr: Some(AddrRange::single(l)), ports: None },
                    unknown: Vec::new(),
                    more: Vec::new(),
                }
            })
            .collect();
        let mut first = all.remove(0);
        first.more = all;
        Some(first)
    }
}

/// A static translation: what the local side matches and becomes, and the reverse.
struct StaticNat {
    match_local: Vec<Cond>,
    match_global: Vec<Cond>,
    to_global: NatTarget,
    to_local: NatTarget,
    unknown: Vec<String>,
    /// Further address pairs of a network translation.
    more: Vec<StaticNat>,
}

enum Member {
    Ranges(Vec<AddrRange>),
    Nested(String),
    Cosmetic,
}

/// The file name without its folder and from its first dot on (`r1.cfg` → `r1`).
fn file_stem(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    if stem.is_empty() {
        None
    } else {
        Some(stem.to_string())
    }
}

/// A line without its leading sequence number (`10 host 1.1.1.1` → `host 1.1.1.1`).
fn strip_seq(t: &str) -> &str {
    let t = t.trim_ascii();
    match t.split_once(char::is_whitespace) {
        Some((a, rest)) if a.parse::<u32>().is_ok() => rest.trim_ascii_start(),
        _ => t,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn interface_abbreviations() {
        assert_eq!(canon_iface("Gi0/1"), "GigabitEthernet0/1");
        assert_eq!(canon_iface("gigabitethernet0/1.10"), "GigabitEthernet0/1.10");
        assert_eq!(canon_iface("Null0"), "Null0");
        assert_eq!(canon_iface("Po12"), "Port-channel12");
        assert_eq!(canon_iface("Eth1/1"), "Ethernet1/1");
        assert_eq!(canon_iface("Foo9"), "Foo9");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_len("255.255.255.0".parse().unwrap()), Some(24));
        assert_eq!(mask_len("0.0.0.0".parse().unwrap()), Some(0));
        assert_eq!(mask_len("255.0.255.0".parse().unwrap()), None);
    }
}
