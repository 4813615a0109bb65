//! pfSense / OPNsense `config.xml`.
//!
//! The XML is read with roxmltree (no DTD: a file declaring one is refused, so entity bombs never
//! expand). Element positions become line numbers. What each element becomes, and the pf
//! semantics the lowering follows (last match unless `quick`), is in `docs/formats/pfsense.md`.

use std::sync::Arc;
use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use roxmltree::{Document, Node};

use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, Interface, NatTarget, Route, RouteKind, Rule, Ruleset,
    Stage, Test,
};
use crate::space::{self, Ct};

/// pfSense's generated ruleset starts with `block in log inet all` / `block in log inet6 all`
/// ("Default deny rule"), not quick: any later matching rule overrides it (pfSense
/// `/etc/inc/filter.inc`, "default deny rules"; pfSense documentation, "Firewall → Rule
/// Methodology": "the default deny rule … blocks all inbound traffic not explicitly passed").
pub const DEFAULT_DENY_IN: &str = "default deny rule: pf blocks inbound traffic no rule passes (pfSense block in all)";

/// pfSense lets out anything: `pass out all keep state` ("let out anything from the firewall
/// host itself"), not quick, so floating outbound rules override it (pfSense `filter.inc`;
/// documentation "Firewall → Rule Methodology": outbound traffic is passed by default).
pub const DEFAULT_PASS_OUT: &str = "default: pass out all keep state (pfSense lets any traffic leave)";

/// pf keeps state for pass rules by default (`keep state`; pf.conf(5)), so replies of a passed
/// connection match the state table before any rule.
pub const REPLIES: &str = "replies of permitted sessions (stateful firewall)";

/// "Block private networks and loopback addresses" on an interface (pfSense documentation,
/// "Interface configuration → Reserved networks"): RFC 1918, loopback and IPv6 unique local.
const PRIVATE_NETS: [&str; 5] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7"];

/// "Block bogon networks": the bogons table is downloaded (Team Cymru) and changes; the model
/// uses the IANA special-purpose IPv4 ranges that are always in it (RFC 6890), and says so.
const BOGON_NETS: [&str; 12] = [
    "0.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "10.0.0.0/8",
];

/// True if the text is this format: the root element is `<pfsense>` or `<opnsense>`.
pub fn looks_like(text: &str) -> bool {
    root_name(text).is_some_and(|r| r == "pfsense" || r == "opnsense")
}

fn root_name(text: &str) -> Option<&str> {
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if rest.starts_with("<?") {
            rest = rest.get(rest.find("?>")? + 2..)?.trim_start();
        } else if rest.starts_with("<!--") {
            rest = rest.get(rest.find("-->")? + 3..)?.trim_start();
        } else if let Some(tag) = rest.strip_prefix('<') {
            let end = tag.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(tag.len());
            return tag.get(..end);
        } else {
            return None;
        }
    }
}

struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        Lines { newlines: text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect() }
    }

    fn line(&self, pos: usize) -> u32 {
        (self.newlines.partition_point(|&nl| nl < pos) + 1) as u32
    }
}

/// Parse one file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::PfSense, text);
    let opts = roxmltree::ParsingOptions { allow_dtd: false, ..roxmltree::ParsingOptions::default() };
    let doc = match Document::parse_with_options(text, opts) {
        Ok(d) => d,
        Err(e) => {
            let mut d = Diags::default();
            let row = e.pos().row;
            let why = match e {
                roxmltree::Error::DtdDetected => {
                    "the file declares a DTD, which pfSense and OPNsense never write: refused, as entity expansion could be abused".to_string()
                }
                other => format!("not well-formed XML: {other}"),
            };
            d.push(codes::UNREADABLE, Severity::Error, row, "", why);
            p.diags = d.list;
            return p;
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    p.lines_skipped = lines.iter().filter(|l| l.trim().is_empty()).count() as u32;
    let mut cx = Cx {
        source,
        file: file.to_string(),
        idx: Lines::new(text),
        lines,
        diags: Diags::default(),
        unread: Vec::new(),
        opnsense: doc.root_element().tag_name().name() == "opnsense",
        ifaces: Vec::new(),
        aliases: HashMap::new(),
        groups: Vec::new(),
        reported: std::collections::HashSet::new(),
        visiting: Vec::new(),
        mvc_rules: None,
    };
    let out = cx.run(doc.root_element());
    p.device_hint = out.0;
    p.content.interfaces = out.1;
    p.content.routes = out.2;
    p.content.firewall = out.3.map(Arc::new);
    cx.unread.sort_unstable();
    cx.unread.dedup();
    p.unread_lines = cx.unread;
    cx.diags.list.sort_by_key(|d| d.line);
    p.diags = cx.diags.list;
    p
}

fn el<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn els<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn txt<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    el(n, name).map(|e| e.text().unwrap_or("").trim())
}

/// A flag element: present and not `0`/`no`/`off`.
fn flag(n: Node<'_, '_>, name: &str) -> bool {
    el(n, name).is_some_and(|e| !matches!(e.text().unwrap_or("").trim(), "0" | "no" | "off" | "false"))
}

#[derive(Clone, Debug)]
struct Iface {
    key: String,
    label: String,
    addr4: Option<IpNet>,
    addr6: Option<IpNet>,
    extra: Vec<IpNet>,
    dynamic: Option<String>,
    up: bool,
    external: bool,
    gateway: Option<String>,
    blockpriv: Option<u32>,
    blockbogons: Option<u32>,
    line: u32,
}

#[derive(Clone, Debug)]
struct Alias {
    kind: String,
    entries: Vec<String>,
    line: u32,
}

/// A rule endpoint (source or destination).
#[derive(Clone, Debug, Default)]
struct Ep {
    /// Address ranges (`None`: any).
    ranges: Option<Vec<AddrRange>>,
    /// The device's own addresses (`(self)`).
    local: bool,
    negate: bool,
    ports: Option<Vec<(u16, u16)>>,
    unknown: Vec<String>,
}

struct Cx<'t> {
    source: SourceId,
    file: String,
    idx: Lines,
    lines: Vec<&'t str>,
    diags: Diags,
    unread: Vec<u32>,
    opnsense: bool,
    ifaces: Vec<Iface>,
    aliases: HashMap<String, Alias>,
    /// Interface groups: name, members, line.
    groups: Vec<(String, Vec<String>, u32)>,
    reported: std::collections::HashSet<(u32, String)>,
    visiting: Vec<String>,
    /// OPNsense automation (MVC) filter rules: line of their list and the interfaces named.
    mvc_rules: Option<(u32, Vec<String>)>,
}

/// Top-level sections that do not decide which packets pass: services (DHCP, DNS resolver,
/// NTP, SNMP), logging and graphs, users and certificates, layer-2 definitions (VLANs, LAGGs,
/// bridges: the interfaces using them are read), VPN and package settings, the GUI.
const IGNORED_SECTIONS: &[&str] = &[
    "version", "lastchange", "theme", "sysctl", "trigger_initial_wizard", "dhcpd", "dhcpdv6", "dhcrelay", "dhcrelay6",
    "snmpd", "diag", "syslog", "shaper", "dnshaper", "cron", "wol", "rrd", "load_balancer", "widgets", "unbound",
    "dnsmasq", "revision", "ppps", "ca", "cert", "crl", "vlans", "laggs", "gifs", "gres", "bridges", "wireless", "qinqs",
    "ntpd", "hasync", "openvpn", "proxyarp", "dyndnses", "dnsupdates", "captiveportal", "notifications",
    "installedpackages", "ipsec", "sshdata", "l2tp", "pppoes", "igmpproxy", "wizardtemp", "nat64", "switches",
    "unboundplus", "staticmaps", "ovpnserver", "vouchers", "radvd", "ezshaper", "system_monitor",
];

/// Elements of `<system>` that are read; every other child is a system setting that does not
/// decide which packets pass (time zone, users, DNS servers, GUI theme, tunables).
const RULE_KEYS: &[&str] = &[
    "type", "interface", "ipprotocol", "protocol", "source", "destination", "disabled", "quick", "floating", "direction",
    "descr", "icmptype", "icmp6-type", "statetype", "tagged", "tag", "sched", "gateway", "os", "tcpflags1", "tcpflags2",
    "tcpflags_any", "id", "tracker", "max", "max-src-nodes", "max-src-conn", "max-src-states", "max-src-conn-rate",
    "max-src-conn-rates", "statetimeout", "created", "updated", "associated-rule-id", "log", "allowopts",
    "disablereplyto", "nopfsync", "nosync", "dnpipe", "pdnpipe", "ackqueue", "defaultqueue", "vlanprio", "vlanprioset",
    "category", "categories", "label", "set-prio", "set-prio-low", "prio", "reply-to", "replyto", "overload",
    "adaptivestart", "adaptiveend", "uuid", "sequence", "sort_order", "seq", "enabled", "shaper1", "shaper2",
    "max-src-nodes", "state-policy", "statetype_sloppy", "nottagged", "dscp", "tos", "source_os",
];

const NAT_KEYS: &[&str] = &[
    "source", "destination", "protocol", "target", "local-port", "interface", "descr", "associated-rule-id",
    "disabled", "nordr", "natreflection", "updated", "created", "ipprotocol", "category", "tag", "tagged", "poolopts",
    "id", "nosync", "log", "poolopts_sourcehashkey", "sequence",
];

const OUTBOUND_KEYS: &[&str] = &[
    "source", "destination", "descr", "category", "interface", "tag", "tagged", "poolopts", "poolopts_sourcehashkey",
    "ipprotocol", "created", "target", "sourceport", "updated", "dstport", "staticnatport", "natport", "targetip",
    "targetip_subnet", "source_hash_key", "disabled", "nonat", "protocol", "nosync", "log", "sequence",
];

fn proto_number(name: &str) -> Option<u8> {
    Some(match name {
        "icmp" => 1,
        "igmp" => 2,
        "ggp" => 3,
        "ipencap" | "ipip" => 4,
        "tcp" => 6,
        "egp" => 8,
        "udp" => 17,
        "ipv6" => 41,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmp6" | "ipv6-icmp" => 58,
        "ospf" => 89,
        "pim" => 103,
        "carp" | "vrrp" => 112,
        "l2tp" => 115,
        "sctp" => 132,
        "pfsync" => 240,
        n => return n.parse().ok(),
    })
}

/// pf ICMP type names (pf.conf(5), `icmp-type`).
fn icmp_type(name: &str) -> Option<u8> {
    Some(match name {
        "echorep" => 0,
        "unreach" => 3,
        "squench" => 4,
        "redir" => 5,
        "althost" => 6,
        "echoreq" => 8,
        "routeradv" => 9,
        "routersol" => 10,
        "timex" => 11,
        "paramprob" => 12,
        "timereq" => 13,
        "timerep" => 14,
        "inforeq" => 15,
        "inforep" => 16,
        "maskreq" => 17,
        "maskrep" => 18,
        "trace" => 30,
        n => return n.parse().ok(),
    })
}

fn net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn v4_all() -> AddrRange {
    AddrRange { lo: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), hi: IpAddr::V4(std::net::Ipv4Addr::BROADCAST) }
}

/// Every IPv6 address, without the IPv4-mapped block the model uses for IPv4.
fn v6_all() -> Vec<AddrRange> {
    vec![
        AddrRange { lo: space::u128_to_addr(0), hi: space::u128_to_addr(space::V4_BASE - 1) },
        AddrRange { lo: space::u128_to_addr(space::V4_LAST + 1), hi: space::u128_to_addr(u128::MAX) },
    ]
}

fn port_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once([':', '-']).unwrap_or((s, s));
    let lo: u16 = a.trim().parse().ok()?;
    let hi: u16 = b.trim().parse().ok()?;
    (lo <= hi).then_some((lo, hi))
}

impl<'t> Cx<'t> {
    fn line(&self, n: Node<'_, '_>) -> u32 {
        self.idx.line(n.range().start)
    }

    fn last_line(&self, n: Node<'_, '_>) -> u32 {
        self.idx.line(n.range().end.saturating_sub(1))
    }

    fn text_of(&self, line: u32) -> &'t str {
        self.lines.get((line as usize).wrapping_sub(1)).map_or("", |l| l.trim())
    }

    fn prov(&self, line: u32, text: String) -> Provenance {
        Provenance { source: self.source, file: self.file.clone(), line, text }
    }

    fn diag(&mut self, code: &'static str, sev: Severity, n: Node<'_, '_>, why: String) {
        let l = self.line(n);
        let t = self.text_of(l);
        self.diags.push(code, sev, l, t, why);
    }

    fn diag_at(&mut self, code: &'static str, sev: Severity, line: u32, why: String) {
        let t = self.text_of(line);
        self.diags.push(code, sev, line, t, why);
    }

    /// An element that is not read: P001 at its first line, the rest of its lines unread.
    fn unknown(&mut self, n: Node<'_, '_>, why: String) {
        let (a, b) = (self.line(n), self.last_line(n));
        self.diag(codes::UNRECOGNIZED, Severity::Error, n, why);
        for l in a + 1..=b {
            if !self.text_of(l).is_empty() {
                self.unread.push(l);
            }
        }
    }

    fn check_keys(&mut self, n: Node<'_, '_>, keys: &[&str], what: &str) {
        for c in n.children().filter(|c| c.is_element()) {
            let name = c.tag_name().name();
            if !keys.contains(&name) {
                self.unknown(c, format!("unrecognised element <{name}> in {what}"));
            }
        }
    }

    fn run(&mut self, root: Node<'_, '_>) -> (Option<String>, Vec<Interface>, Vec<Route>, Option<Firewall>) {
        let mut host = None;
        for sec in root.children().filter(|c| c.is_element()) {
            let name = sec.tag_name().name();
            match name {
                "system" => host = txt(sec, "hostname").filter(|h| !h.is_empty()).map(str::to_string),
                "interfaces" | "filter" | "nat" | "aliases" | "staticroutes" | "gateways" | "virtualip" | "ifgroups" => {}
                "OPNsense" => {
                    for c in sec.children().filter(|c| c.is_element()) {
                        if c.tag_name().name() != "Firewall" {
                            continue; // OPNsense plugins and services (IDS, VPN, DNS, monitoring)
                        }
                        for f in c.children().filter(|c| c.is_element()) {
                            match f.tag_name().name() {
                                "Alias" => {}
                                "Filter" => {
                                    for part in f.children().filter(|c| c.is_element()) {
                                        if part.children().any(|c| c.is_element()) {
                                            if part.tag_name().name() == "rules" {
                                                let ifs = part
                                                    .children()
                                                    .filter(|c| c.is_element())
                                                    .flat_map(|r| txt(r, "interface").unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>())
                                                    .collect();
                                                self.mvc_rules = Some((self.line(part), ifs));
                                            }
                                            self.unknown(
                                                part,
                                                format!(
                                                    "OPNsense automation {} (Firewall → Automation) are not read",
                                                    part.tag_name().name()
                                                ),
                                            );
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                n if IGNORED_SECTIONS.contains(&n) => {}
                n => self.unknown(sec, format!("section <{n}> is not read")),
            }
        }
        let ifaces = self.interfaces(root);
        self.aliases(root);
        for g in els(root, "ifgroups").flat_map(|x| els(x, "ifgroupentry")) {
            let name = txt(g, "ifname").unwrap_or("").to_string();
            let members = txt(g, "members").unwrap_or("").split_whitespace().map(str::to_string).collect();
            let l = self.line(g);
            self.groups.push((name, members, l));
        }
        let routes = self.routes(root);
        let fw = self.firewall(root);
        (host, ifaces, routes, fw)
    }

    fn interfaces(&mut self, root: Node<'_, '_>) -> Vec<Interface> {
        let mut out = Vec::new();
        for sec in els(root, "interfaces") {
            for i in sec.children().filter(|c| c.is_element()) {
                let key = i.tag_name().name().to_string();
                let line = self.line(i);
                let label = txt(i, "descr").filter(|d| !d.is_empty()).map_or_else(|| key.to_uppercase(), str::to_string);
                let mut itf = Iface {
                    key: key.clone(),
                    label,
                    addr4: None,
                    addr6: None,
                    extra: Vec::new(),
                    dynamic: None,
                    up: flag(i, "enable"),
                    external: key == "wan",
                    gateway: txt(i, "gateway").filter(|g| !g.is_empty()).map(str::to_string),
                    blockpriv: el(i, "blockpriv").filter(|_| flag(i, "blockpriv")).map(|e| self.line(e)),
                    blockbogons: el(i, "blockbogons").filter(|_| flag(i, "blockbogons")).map(|e| self.line(e)),
                    line,
                };
                if itf.gateway.is_some() {
                    itf.external = true;
                }
                match txt(i, "ipaddr") {
                    Some("") | None => {}
                    Some(a) => match (a.parse::<IpAddr>(), txt(i, "subnet").and_then(|s| s.parse::<u8>().ok())) {
                        (Ok(ip), Some(len)) if ip.is_ipv4() => itf.addr4 = IpNet::new(ip, len).ok(),
                        (Ok(ip), None) if ip.is_ipv4() => itf.addr4 = IpNet::new(ip, 32).ok(),
                        (Ok(_), _) => {
                            let e = el(i, "ipaddr").unwrap_or(i);
                            self.diag(codes::BAD_VALUE, Severity::Warning, e, format!("interface {key}: bad address"));
                        }
                        (Err(_), _) => {
                            let e = el(i, "ipaddr").unwrap_or(i);
                            self.diag(
                                codes::UNMODELLED_MATCH,
                                Severity::Info,
                                e,
                                format!("interface {key}: the address is assigned by {a} at run time and is not known"),
                            );
                            itf.dynamic = Some(a.to_string());
                            if matches!(a, "dhcp" | "pppoe" | "pptp" | "l2tp") {
                                itf.external = true;
                            }
                        }
                    },
                }
                match txt(i, "ipaddrv6") {
                    Some("") | None => {}
                    Some(a) => match (a.parse::<IpAddr>(), txt(i, "subnetv6").and_then(|s| s.parse::<u8>().ok())) {
                        (Ok(ip), Some(len)) if ip.is_ipv6() => itf.addr6 = IpNet::new(ip, len).ok(),
                        (Ok(_), _) => {
                            let e = el(i, "ipaddrv6").unwrap_or(i);
                            self.diag(codes::BAD_VALUE, Severity::Warning, e, format!("interface {key}: bad IPv6 address"));
                        }
                        (Err(_), _) => {
                            let e = el(i, "ipaddrv6").unwrap_or(i);
                            self.diag(
                                codes::UNMODELLED_MATCH,
                                Severity::Info,
                                e,
                                format!("interface {key}: the IPv6 address comes from {a} at run time and is not known"),
                            );
                        }
                    },
                }
                self.ifaces.push(itf);
            }
        }
        // Virtual IPs (IP alias, CARP) add addresses to their interface.
        for v in els(root, "virtualip").flat_map(|x| els(x, "vip")) {
            let (Some(ifk), Some(sub)) = (txt(v, "interface"), txt(v, "subnet")) else { continue };
            if sub.is_empty() {
                continue;
            }
            let bits = txt(v, "subnet_bits").and_then(|b| b.parse::<u8>().ok()).unwrap_or(32);
            match sub.parse::<IpAddr>().ok().and_then(|a| IpNet::new(a, bits).ok()) {
                Some(n) => {
                    if let Some(i) = self.ifaces.iter_mut().find(|i| i.key == ifk) {
                        i.extra.push(n);
                    }
                }
                None => self.diag(codes::BAD_VALUE, Severity::Warning, v, format!("virtual IP {sub}/{bits} is not an address")),
            }
        }
        for i in &self.ifaces {
            let mut itf = Interface::new(i.key.clone(), self.prov(i.line, format!("<{}> {}", i.key, i.label)));
            itf.addresses = i.addr4.iter().chain(i.addr6.iter()).chain(i.extra.iter()).copied().collect();
            itf.up = i.up;
            itf.external = i.external;
            out.push(itf);
        }
        out
    }

    fn aliases(&mut self, root: Node<'_, '_>) {
        let mut list: Vec<Node<'_, '_>> = els(root, "aliases").flat_map(|x| els(x, "alias")).collect();
        if let Some(a) = el(root, "OPNsense").and_then(|o| el(o, "Firewall")).and_then(|f| el(f, "Alias")).and_then(|a| el(a, "aliases")) {
            list.extend(els(a, "alias"));
        }
        for a in list {
            let Some(name) = txt(a, "name").filter(|n| !n.is_empty()) else { continue };
            if el(a, "enabled").is_some() && !flag(a, "enabled") {
                continue;
            }
            let kind = txt(a, "type").unwrap_or("host").to_string();
            let body = txt(a, "address").or_else(|| txt(a, "content")).unwrap_or("");
            let entries = body.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).map(str::to_string).collect();
            let line = self.line(a);
            self.aliases.insert(name.to_string(), Alias { kind, entries, line });
        }
    }

    fn undefined(&mut self, line: u32, what: &str, name: &str) {
        if self.reported.insert((line, name.to_string())) {
            self.diag_at(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("{what} {name} is not defined: the rule is not fully known"));
        }
    }

    /// Addresses of an alias (recursively), with what is not known.
    fn alias_addrs(&mut self, name: &str, line: u32, out: &mut Vec<AddrRange>, unknown: &mut Vec<String>) {
        let Some(a) = self.aliases.get(name).cloned() else {
            unknown.push(format!("alias {name}"));
            return self.undefined(line, "alias", name);
        };
        if self.visiting.iter().any(|v| v == name) || self.visiting.len() > 16 {
            self.diag_at(codes::STRUCTURE, Severity::Warning, a.line, format!("alias {name} contains itself"));
            unknown.push(format!("alias {name} (cycle)"));
            return;
        }
        if !matches!(a.kind.as_str(), "host" | "network" | "networkgroup") {
            if self.reported.insert((a.line, name.to_string())) {
                self.diag_at(
                    codes::UNMODELLED_MATCH,
                    Severity::Warning,
                    a.line,
                    format!("alias {name} of type {}: its content is fetched or computed at run time and is not known", a.kind),
                );
            }
            unknown.push(format!("alias {name} ({})", a.kind));
            return;
        }
        self.visiting.push(name.to_string());
        for e in &a.entries {
            if let Some((x, y)) = e.split_once('-') {
                if let (Ok(lo), Ok(hi)) = (x.parse::<IpAddr>(), y.parse::<IpAddr>()) {
                    out.push(AddrRange { lo, hi });
                    continue;
                }
            }
            match net(e) {
                Some(n) => out.push(AddrRange::from_net(n)),
                None if self.aliases.contains_key(e.as_str()) => self.alias_addrs(e, a.line, out, unknown),
                None => {
                    if self.reported.insert((a.line, e.clone())) {
                        self.diag_at(
                            codes::UNMODELLED_MATCH,
                            Severity::Warning,
                            a.line,
                            format!("alias {name}: {e} is a host name resolved at run time; it is not known"),
                        );
                    }
                    unknown.push(format!("{e} in alias {name}"));
                }
            }
        }
        self.visiting.pop();
    }

    fn alias_ports(&mut self, name: &str, line: u32, out: &mut Vec<(u16, u16)>, unknown: &mut Vec<String>, depth: u32) {
        let Some(a) = self.aliases.get(name).cloned() else {
            unknown.push(format!("port alias {name}"));
            return self.undefined(line, "port alias", name);
        };
        if depth > 16 || a.kind != "port" {
            unknown.push(format!("alias {name} ({})", a.kind));
            return;
        }
        for e in &a.entries {
            match port_range(e) {
                Some(r) => out.push(r),
                None if self.aliases.contains_key(e.as_str()) => self.alias_ports(e, a.line, out, unknown, depth + 1),
                None => unknown.push(format!("port {e} in alias {name}")),
            }
        }
    }

    fn iface(&self, key: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.key == key)
    }

    /// A rule's `<source>` or `<destination>`.
    fn endpoint(&mut self, n: Option<Node<'_, '_>>, line: u32) -> Ep {
        let mut ep = Ep::default();
        let Some(n) = n else { return ep };
        ep.negate = el(n, "not").is_some();
        if let Some(p) = txt(n, "port").filter(|p| !p.is_empty() && *p != "any") {
            let mut v = Vec::new();
            match port_range(p) {
                Some(r) => v.push(r),
                None => {
                    let mut u = Vec::new();
                    self.alias_ports(p, line, &mut v, &mut u, 0);
                    ep.unknown.extend(u);
                }
            }
            ep.ports = Some(v);
        }
        if el(n, "any").is_some() {
            return ep;
        }
        let value = txt(n, "network").or_else(|| txt(n, "address")).unwrap_or("");
        if value.is_empty() {
            return ep;
        }
        if value == "(self)" || value == "This Firewall" {
            ep.local = true;
            return ep;
        }
        let mut ranges = Vec::new();
        if let Some(base) = value.strip_suffix("ip") {
            if let Some(i) = self.iface(base).cloned() {
                let addrs: Vec<AddrRange> = i.addr4.iter().chain(i.addr6.iter()).chain(i.extra.iter()).map(|a| AddrRange::single(a.addr())).collect();
                if i.dynamic.is_some() && i.addr4.is_none() {
                    ep.unknown.push(format!("address of {} ({})", i.key, i.dynamic.unwrap_or_default()));
                }
                ranges.extend(addrs);
                ep.ranges = Some(ranges);
                return ep;
            }
        }
        if let Some(i) = self.iface(value).cloned() {
            let nets: Vec<AddrRange> = i.addr4.iter().chain(i.addr6.iter()).chain(i.extra.iter()).map(|a| AddrRange::from_net(*a)).collect();
            if i.dynamic.is_some() && i.addr4.is_none() {
                ep.unknown.push(format!("subnet of {} ({})", i.key, i.dynamic.unwrap_or_default()));
            }
            ep.ranges = Some(nets);
            return ep;
        }
        if let Some(g) = self.groups.iter().find(|g| g.0 == value).cloned() {
            for m in &g.1 {
                if let Some(i) = self.iface(m) {
                    ranges.extend(i.addr4.iter().chain(i.addr6.iter()).map(|a| AddrRange::from_net(*a)));
                }
            }
            ep.ranges = Some(ranges);
            return ep;
        }
        if let Some(n) = net(value) {
            ep.ranges = Some(vec![AddrRange::from_net(n)]);
            return ep;
        }
        let mut u = Vec::new();
        if self.aliases.contains_key(value) {
            self.alias_addrs(value, line, &mut ranges, &mut u);
        } else if value.ends_with("ip") || matches!(value, "pppoe" | "l2tp" | "openvpn" | "ipsec" | "enc0") {
            u.push(format!("network {value}"));
            self.diag_at(codes::UNMODELLED_MATCH, Severity::Warning, line, format!("network {value} is not modelled"));
        } else {
            u.push(format!("alias {value}"));
            self.undefined(line, "alias or interface", value);
        }
        ep.unknown.extend(u);
        ep.ranges = Some(ranges);
        ep
    }

    /// Conditions of one side: `Src`/`Dst` (or local), possibly negated; `None` when the side
    /// matches nothing of the family.
    fn side(&self, ep: &Ep, src: bool, fam: Option<bool>) -> Option<Vec<Cond>> {
        let mut c = Vec::new();
        if !ep.unknown.is_empty() {
            return Some(c);
        }
        if ep.local {
            let t = if src { Test::SrcLocal } else { Test::DstLocal };
            c.push(if ep.negate { Cond::not(t) } else { Cond::is(t) });
            return Some(c);
        }
        if let Some(r) = &ep.ranges {
            let r: Vec<AddrRange> = r.iter().copied().filter(|x| fam.is_none_or(|v6| x.lo.is_ipv6() == v6)).collect();
            if r.is_empty() && !ep.negate {
                return None;
            }
            let t = if src { Test::Src(r) } else { Test::Dst(r) };
            c.push(if ep.negate { Cond::not(t) } else { Cond::is(t) });
        }
        Some(c)
    }

    fn firewall(&mut self, root: Node<'_, '_>) -> Option<Firewall> {
        let filter = el(root, "filter");
        let nat = el(root, "nat");
        if filter.is_none() && nat.is_none() && self.ifaces.is_empty() {
            return None;
        }
        let mut fw = Firewall { stateful: true, ..Default::default() };
        let replies = || Rule {
            conds: vec![Cond::is(Test::CtState(vec![Ct::ESTABLISHED, Ct::RELATED]))],
            unknown: Vec::new(),
            action: Action::Accept,
            prov: Provenance::builtin(REPLIES),
        };
        // Rules in file order, classified.
        struct R {
            quick: bool,
            floating: bool,
            dir_in: bool,
            dir_out: bool,
            ifaces: Vec<String>,
            rules: Vec<Rule>,
        }
        let mut rs: Vec<R> = Vec::new();
        for r in filter.iter().flat_map(|f| els(*f, "rule")) {
            self.check_keys(r, RULE_KEYS, "a filter rule");
            if flag(r, "disabled") {
                continue;
            }
            let floating = flag(r, "floating");
            let quick = if floating {
                el(r, "quick").is_some_and(|_| flag(r, "quick"))
            } else if self.opnsense {
                el(r, "quick").is_none() || flag(r, "quick")
            } else {
                true
            };
            let dir = txt(r, "direction").unwrap_or(if floating { "any" } else { "in" }).to_string();
            let ifaces: Vec<String> =
                txt(r, "interface").unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            let lowered = self.rule(r);
            rs.push(R {
                quick,
                floating,
                dir_in: dir == "in" || dir == "any" || dir.is_empty(),
                dir_out: dir == "out" || dir == "any",
                ifaces,
                rules: lowered,
            });
        }
        let mut rulesets: Vec<Ruleset> = Vec::new();
        let mut hooks = Vec::new();
        // Destination NAT first: it decides what the filter sees.
        let (rdr, rdr_pass) = self.port_forwards(nat);
        if !rdr.is_empty() {
            rulesets.push(Ruleset {
                name: "port forward".into(),
                table: "nat".into(),
                family: Family::Any,
                default: Some(Action::Accept),
                default_prov: Provenance::builtin("no port forward matches: destination unchanged"),
                rules: rdr,
            });
            hooks.push(HookBinding { hook: Hook::Prerouting, stage: Stage::DstNat, priority: -100, ruleset: rulesets.len() - 1, family: Family::Any });
        }
        // Inbound: quick rules in order (first match), then non-quick ones last-match first.
        let in_idx = rulesets.len();
        rulesets.push(Ruleset {
            name: "in".into(),
            table: "filter".into(),
            family: Family::Any,
            default: Some(Action::Drop),
            default_prov: Provenance::builtin(DEFAULT_DENY_IN),
            rules: vec![replies()],
        });
        let mut quick_in: Vec<Rule> = Vec::new();
        // Interfaces set to block private networks and bogons.
        for i in self.ifaces.clone() {
            for (line, nets, what) in [(i.blockpriv, &PRIVATE_NETS[..], "private networks"), (i.blockbogons, &BOGON_NETS[..], "bogon networks")] {
                let Some(line) = line else { continue };
                let ranges: Vec<AddrRange> = nets.iter().filter_map(|n| n.parse::<IpNet>().ok()).map(AddrRange::from_net).collect();
                quick_in.push(Rule {
                    conds: vec![Cond::is(Test::InIface(i.key.clone())), Cond::is(Test::Src(ranges))],
                    unknown: Vec::new(),
                    action: Action::Drop,
                    prov: self.prov(line, format!("block {what} on {}", i.key)),
                });
                if what == "bogon networks" {
                    self.diag_at(
                        codes::UNMODELLED_MATCH,
                        Severity::Info,
                        line,
                        "the bogons table is downloaded; the IANA special-purpose IPv4 ranges stand for it (IPv6 bogons and unallocated ranges are not modelled)".into(),
                    );
                }
            }
        }
        // Anti-lockout: webGUI (and SSH when enabled) on the LAN address (pfSense adds it unless
        // System → Advanced → "Disable webConfigurator anti-lockout rule").
        let system = el(root, "system");
        let webgui = system.and_then(|s| el(s, "webgui"));
        let lockout_off = webgui.is_some_and(|w| flag(w, "noantilockout")) || system.is_some_and(|s| flag(s, "noantilockout"));
        if !lockout_off {
            let target = self.iface("lan").or_else(|| if self.ifaces.len() == 1 { self.ifaces.first() } else { None }).cloned();
            if let Some(i) = target {
                let https = webgui.and_then(|w| txt(w, "protocol")).unwrap_or("https") == "https";
                let gui = webgui.and_then(|w| txt(w, "port")).and_then(|p| p.parse::<u16>().ok()).unwrap_or(if https { 443 } else { 80 });
                let mut ports = vec![(gui, gui)];
                if https && !webgui.is_some_and(|w| flag(w, "disablehttpredirect")) {
                    ports.push((80, 80));
                }
                if let Some(ssh) = system.and_then(|s| el(s, "ssh")).filter(|s| flag(*s, "enable") || txt(*s, "enabled").is_some_and(|v| v == "enabled")) {
                    let p = txt(ssh, "port").and_then(|p| p.parse::<u16>().ok()).unwrap_or(22);
                    ports.push((p, p));
                }
                let addrs: Vec<AddrRange> = i.addr4.iter().chain(i.addr6.iter()).map(|a| AddrRange::single(a.addr())).collect();
                let mut conds = vec![Cond::is(Test::InIface(i.key.clone())), Cond::is(Test::Proto(vec![6])), Cond::is(Test::Dport(ports))];
                if !addrs.is_empty() {
                    conds.push(Cond::is(Test::Dst(addrs)));
                } else {
                    conds.push(Cond::is(Test::DstLocal));
                }
                quick_in.push(Rule { conds, unknown: Vec::new(), action: Action::Accept, prov: Provenance::builtin("anti-lockout rule (pfSense/OPNsense default)") });
            }
        }
        // IPv6 blocked entirely unless allowed (pfSense System → Advanced → Networking).
        if !self.opnsense && system.is_some_and(|s| el(s, "ipv6allow").is_none()) {
            quick_in.push(Rule {
                conds: vec![Cond::is(Test::Src(v6_all()))],
                unknown: Vec::new(),
                action: Action::Drop,
                prov: Provenance::builtin("IPv6 is not allowed (no <ipv6allow> in <system>)"),
            });
        }
        // OPNsense automation rules come before the interface rules; they are not read, so
        // traffic on the interfaces they name is possibly decided by them.
        if let Some((line, ifs)) = self.mvc_rules.clone() {
            let text = "OPNsense automation filter rules (not read)".to_string();
            let conds: Vec<Option<Cond>> =
                if ifs.is_empty() { vec![None] } else { ifs.iter().map(|i| Some(Cond::is(Test::InIface(i.clone())))).collect() };
            for c in conds {
                quick_in.push(Rule { conds: c.into_iter().collect(), unknown: vec![text.clone()], action: Action::Unknown(text.clone()), prov: self.prov(line, text.clone()) });
            }
        }
        quick_in.extend(rdr_pass);
        // DHCP server: pfSense passes DHCP requests to the firewall on each interface whose
        // DHCP server is enabled (filter.inc, "allow access to DHCP server on <if>").
        for d in els(root, "dhcpd").flat_map(|x| x.children().filter(|c| c.is_element()).collect::<Vec<_>>()) {
            if !flag(d, "enable") {
                continue;
            }
            let ifk = d.tag_name().name().to_string();
            let line = self.line(d);
            quick_in.push(Rule {
                conds: vec![Cond::is(Test::InIface(ifk.clone())), Cond::is(Test::Proto(vec![17])), Cond::is(Test::Dport(vec![(67, 67)]))],
                unknown: Vec::new(),
                action: Action::Accept,
                prov: self.prov(line, format!("<dhcpd><{ifk}> DHCP server (auto-added rule)")),
            });
        }
        // IPsec: pfSense passes IKE (UDP 500, 4500) and ESP from each phase 1 peer to the
        // firewall unless System → Advanced → "Disable all auto-added VPN rules" (filter.inc,
        // "VPN rules").
        let vpn_rules_off = system.is_some_and(|s| flag(s, "disablevpnrules"));
        if !vpn_rules_off {
            for p1 in els(root, "ipsec").flat_map(|x| els(x, "phase1")) {
                if flag(p1, "disabled") {
                    continue;
                }
                let line = self.line(p1);
                let ifk = txt(p1, "interface").filter(|i| !i.is_empty()).unwrap_or("wan").to_string();
                let peer = txt(p1, "remote-gateway").unwrap_or("").to_string();
                let mut base = vec![Cond::is(Test::InIface(ifk.clone())), Cond::is(Test::DstLocal)];
                let mut unknown = Vec::new();
                match peer.parse::<IpAddr>() {
                    Ok(a) => base.push(Cond::is(Test::Src(vec![AddrRange::single(a)]))),
                    Err(_) => unknown.push(format!("IPsec peer {peer} (a name, or any peer)")),
                }
                let prov = self.prov(line, format!("<phase1> IPsec peer {peer} on {ifk} (auto-added VPN rule)"));
                let mut ike = base.clone();
                ike.push(Cond::is(Test::Proto(vec![17])));
                ike.push(Cond::is(Test::Dport(vec![(500, 500), (4500, 4500)])));
                quick_in.push(Rule { conds: ike, unknown: unknown.clone(), action: Action::Accept, prov: prov.clone() });
                let mut esp = base;
                esp.push(Cond::is(Test::Proto(vec![50])));
                quick_in.push(Rule { conds: esp, unknown, action: Action::Accept, prov });
            }
        }
        if let Some(rs0) = rulesets.get_mut(in_idx) {
            rs0.rules.extend(quick_in);
        }
        let iface_cond = |names: &[String], out: bool| -> Vec<Option<Cond>> {
            if names.is_empty() || names.iter().any(|n| n == "any") {
                return vec![None];
            }
            names
                .iter()
                .map(|n| Some(Cond::is(if out { Test::OutIface(n.clone()) } else { Test::InIface(n.clone()) })))
                .collect()
        };
        let with_iface = |rules: &[Rule], c: &Option<Cond>| -> Vec<Rule> {
            rules
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    if let Some(c) = c {
                        r.conds.insert(0, c.clone());
                    }
                    r
                })
                .collect()
        };
        // Floating quick rules.
        for r in rs.iter().filter(|r| r.floating && r.quick && r.dir_in) {
            for c in iface_cond(&r.ifaces, false) {
                let add = with_iface(&r.rules, &c);
                if let Some(x) = rulesets.get_mut(in_idx) {
                    x.rules.extend(add);
                }
            }
        }
        // Interface group rules, then interface rules: a called ruleset per group and interface.
        let mut order: Vec<(String, String, bool)> = Vec::new(); // (key, label, is_group)
        for g in &self.groups {
            order.push((g.0.clone(), g.0.clone(), true));
        }
        for i in &self.ifaces {
            order.push((i.key.clone(), i.label.clone(), false));
        }
        for r in rs.iter().filter(|r| !r.floating && r.dir_in) {
            for k in &r.ifaces {
                if !order.iter().any(|(o, _, _)| o == k) {
                    order.push((k.clone(), k.to_uppercase(), false));
                }
            }
        }
        for (key, label, is_group) in &order {
            let rules: Vec<Rule> =
                rs.iter().filter(|r| !r.floating && r.quick && r.dir_in && r.ifaces.iter().any(|i| i == key)).flat_map(|r| r.rules.clone()).collect();
            if rules.is_empty() {
                continue;
            }
            let name = if rulesets.iter().any(|r| r.name == *label) { key.clone() } else { label.clone() };
            rulesets.push(Ruleset {
                name,
                table: "filter".into(),
                family: Family::Any,
                default: None,
                default_prov: Provenance::builtin(format!("no rule of {label} matches: the following rules decide")),
                rules,
            });
            let idx = rulesets.len() - 1;
            let members: Vec<String> = if *is_group {
                self.groups.iter().find(|g| &g.0 == key).map(|g| g.1.clone()).unwrap_or_default()
            } else {
                vec![key.clone()]
            };
            for m in members {
                if let Some(x) = rulesets.get_mut(in_idx) {
                    x.rules.push(Rule {
                        conds: vec![Cond::is(Test::InIface(m.clone()))],
                        unknown: Vec::new(),
                        action: Action::Jump(idx),
                        prov: Provenance::builtin(format!("rules of {label}")),
                    });
                }
            }
        }
        // Non-quick rules (floating ones, then OPNsense interface rules without quick, in the
        // order pf sees them): pf's last match wins, so they are tried last first.
        let nonquick: Vec<&R> = rs
            .iter()
            .filter(|r| r.floating && !r.quick && r.dir_in)
            .chain(rs.iter().filter(|r| !r.floating && !r.quick && r.dir_in))
            .collect();
        for r in nonquick.iter().rev() {
            for c in iface_cond(&r.ifaces, false) {
                let add = with_iface(&r.rules, &c);
                if let Some(x) = rulesets.get_mut(in_idx) {
                    x.rules.extend(add);
                }
            }
        }
        if let Some(x) = rulesets.get_mut(in_idx) {
            x.rules.push(Rule { conds: Vec::new(), unknown: Vec::new(), action: Action::Drop, prov: Provenance::builtin(DEFAULT_DENY_IN) });
        }
        hooks.push(HookBinding { hook: Hook::Prerouting, stage: Stage::Filter, priority: 0, ruleset: in_idx, family: Family::Any });
        // Source NAT.
        let snat = self.outbound_nat(nat);
        if !snat.is_empty() {
            rulesets.push(Ruleset {
                name: "outbound nat".into(),
                table: "nat".into(),
                family: Family::Any,
                default: Some(Action::Accept),
                default_prov: Provenance::builtin("no outbound NAT rule matches: source unchanged"),
                rules: snat,
            });
            hooks.push(HookBinding { hook: Hook::Postrouting, stage: Stage::SrcNat, priority: 100, ruleset: rulesets.len() - 1, family: Family::Any });
        }
        // Outbound filtering: only rules with direction out (floating, or OPNsense interface rules).
        let outs: Vec<&R> = rs.iter().filter(|r| r.dir_out).collect();
        if !outs.is_empty() {
            let mut rules = vec![replies()];
            for r in outs.iter().filter(|r| r.quick) {
                for c in iface_cond(&r.ifaces, true) {
                    rules.extend(with_iface(&r.rules, &c));
                }
            }
            for r in outs.iter().filter(|r| !r.quick).rev() {
                for c in iface_cond(&r.ifaces, true) {
                    rules.extend(with_iface(&r.rules, &c));
                }
            }
            rules.push(Rule { conds: Vec::new(), unknown: Vec::new(), action: Action::Accept, prov: Provenance::builtin(DEFAULT_PASS_OUT) });
            rulesets.push(Ruleset {
                name: "out".into(),
                table: "filter".into(),
                family: Family::Any,
                default: Some(Action::Accept),
                default_prov: Provenance::builtin(DEFAULT_PASS_OUT),
                rules,
            });
            hooks.push(HookBinding { hook: Hook::Postrouting, stage: Stage::Filter, priority: 200, ruleset: rulesets.len() - 1, family: Family::Any });
        }
        fw.rulesets = rulesets;
        fw.hooks = hooks;
        Some(fw)
    }

    /// One `<filter><rule>` as model rules (without its interface condition).
    fn rule(&mut self, r: Node<'_, '_>) -> Vec<Rule> {
        let line = self.line(r);
        let ty = txt(r, "type").unwrap_or("pass").to_string();
        let descr = txt(r, "descr").unwrap_or("");
        let ifs = txt(r, "interface").unwrap_or("");
        let text = if descr.is_empty() { format!("<rule> {ty} on {ifs}") } else { format!("<rule> {ty} on {ifs}: \"{descr}\"") };
        let prov = self.prov(line, text);
        let action = match ty.as_str() {
            "pass" => Action::Accept,
            "block" => Action::Drop,
            "reject" => Action::Reject("pf return".into()),
            other => {
                self.diag(codes::UNMODELLED_TARGET, Severity::Warning, el(r, "type").unwrap_or(r), format!("rule type {other} is not modelled"));
                Action::Unknown(format!("rule type {other}"))
            }
        };
        let mut unknown = Vec::new();
        let fam = match txt(r, "ipprotocol").unwrap_or("inet") {
            "inet" | "" => Some(false),
            "inet6" => Some(true),
            "inet46" => None,
            other => {
                self.diag(codes::BAD_VALUE, Severity::Warning, el(r, "ipprotocol").unwrap_or(r), format!("address family {other} is not known"));
                unknown.push(format!("ipprotocol {other}"));
                None
            }
        };
        let mut protos: Option<Vec<u8>> = None;
        if let Some(p) = txt(r, "protocol").filter(|p| !p.is_empty() && *p != "any") {
            let mut v = Vec::new();
            for part in p.to_ascii_lowercase().split('/') {
                match proto_number(part) {
                    Some(n) => v.push(n),
                    None => {
                        self.diag(codes::BAD_VALUE, Severity::Warning, el(r, "protocol").unwrap_or(r), format!("protocol {part} is not known"));
                        unknown.push(format!("protocol {part}"));
                    }
                }
            }
            if fam == Some(true) {
                for x in &mut v {
                    if *x == 1 {
                        *x = 58;
                    }
                }
            }
            protos = Some(v);
        }
        let src = self.endpoint(el(r, "source"), line);
        let dst = self.endpoint(el(r, "destination"), line);
        unknown.extend(src.unknown.iter().cloned());
        unknown.extend(dst.unknown.iter().cloned());
        for (key, what) in [("tagged", "a pf tag set by another rule"), ("sched", "a schedule"), ("os", "an OS fingerprint")] {
            if let Some(v) = txt(r, key).filter(|v| !v.is_empty()) {
                let v = v.to_string();
                self.diag(codes::UNMODELLED_MATCH, Severity::Warning, el(r, key).unwrap_or(r), format!("the rule matches {what} ({v}); not modelled"));
                unknown.push(format!("{key} {v}"));
            }
        }
        if txt(r, "tcpflags_any").is_some() || txt(r, "tcpflags1").is_some_and(|v| !v.is_empty()) {
            self.diag(codes::UNMODELLED_MATCH, Severity::Warning, r, "TCP flag conditions are not modelled".into());
            unknown.push("tcp flags".into());
        }
        if let Some(g) = txt(r, "gateway").filter(|g| !g.is_empty()) {
            let g = g.to_string();
            self.diag(
                codes::UNMODELLED_MATCH,
                Severity::Info,
                el(r, "gateway").unwrap_or(r),
                format!("policy routing: matching traffic leaves through gateway {g}, not by the routing table; the model routes it by the table"),
            );
        }
        let mut conds = Vec::new();
        match self.side(&src, true, fam) {
            Some(c) => conds.extend(c),
            None => return Vec::new(),
        }
        match self.side(&dst, false, fam) {
            Some(c) => conds.extend(c),
            None => return Vec::new(),
        }
        let concrete = conds.iter().any(|c| matches!(c.test, Test::Src(_) | Test::Dst(_)) && !c.negated);
        match fam {
            Some(false) if !concrete => conds.insert(0, Cond::is(Test::Src(vec![v4_all()]))),
            Some(true) if !concrete => conds.insert(0, Cond::is(Test::Src(v6_all()))),
            _ => {}
        }
        if let Some(p) = &protos {
            if !p.is_empty() {
                conds.push(Cond::is(Test::Proto(p.clone())));
            }
        }
        let has_ports = protos.as_ref().is_some_and(|p| !p.is_empty() && p.iter().all(|x| space::proto::has_ports(*x)));
        if has_ports {
            if let Some(sp) = src.ports.as_ref().filter(|v| !v.is_empty()) {
                conds.push(Cond::is(Test::Sport(sp.clone())));
            }
            if let Some(dp) = dst.ports.as_ref().filter(|v| !v.is_empty()) {
                conds.push(Cond::is(Test::Dport(dp.clone())));
            }
        }
        let mut out = Vec::new();
        let icmp = protos.as_ref().is_some_and(|p| p.len() == 1 && (p[0] == 1 || p[0] == 58));
        let types: Vec<&str> = txt(r, "icmptype").or_else(|| txt(r, "icmp6-type")).unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty() && *t != "any").collect();
        if icmp && !types.is_empty() {
            for t in types {
                let mut c = conds.clone();
                match icmp_type(t) {
                    Some(n) => c.push(Cond::is(Test::Icmp { ty: Some(n), code: None })),
                    None => {
                        self.diag(codes::BAD_VALUE, Severity::Warning, el(r, "icmptype").unwrap_or(r), format!("ICMP type {t} is not known"));
                    }
                }
                out.push(Rule { conds: c, unknown: unknown.clone(), action: action.clone(), prov: prov.clone() });
            }
        } else {
            out.push(Rule { conds, unknown, action, prov });
        }
        out
    }

    /// `<nat><rule>` port forwards: DNAT rules, and the quick pass rules of `rdr pass` ones.
    fn port_forwards(&mut self, nat: Option<Node<'_, '_>>) -> (Vec<Rule>, Vec<Rule>) {
        let mut rdr = Vec::new();
        let mut pass = Vec::new();
        for r in nat.iter().flat_map(|n| els(*n, "rule")) {
            self.check_keys(r, NAT_KEYS, "a port forward");
            if flag(r, "disabled") {
                continue;
            }
            let line = self.line(r);
            let descr = txt(r, "descr").unwrap_or("");
            let prov = self.prov(line, format!("<rule> port forward: \"{descr}\""));
            let ifk = txt(r, "interface").unwrap_or("wan").to_string();
            let mut unknown = Vec::new();
            let protos: Vec<u8> = txt(r, "protocol").unwrap_or("tcp").to_ascii_lowercase().split('/').filter_map(proto_number).collect();
            let src = self.endpoint(el(r, "source"), line);
            let dst = self.endpoint(el(r, "destination"), line);
            unknown.extend(src.unknown.iter().cloned());
            unknown.extend(dst.unknown.iter().cloned());
            let mut conds = vec![Cond::is(Test::InIface(ifk.clone()))];
            if let Some(c) = self.side(&src, true, None) {
                conds.extend(c);
            }
            match self.side(&dst, false, None) {
                Some(c) => conds.extend(c),
                None => continue,
            }
            if !protos.is_empty() {
                conds.push(Cond::is(Test::Proto(protos.clone())));
            }
            let dport = dst.ports.as_ref().and_then(|v| v.first().copied());
            if let Some(d) = dport {
                conds.push(Cond::is(Test::Dport(vec![d])));
            }
            if flag(r, "nordr") {
                rdr.push(Rule { conds, unknown, action: Action::Accept, prov });
                continue;
            }
            let target = txt(r, "target").unwrap_or("");
            let addr = match target.parse::<IpAddr>() {
                Ok(a) => Some(AddrRange::single(a)),
                Err(_) => {
                    let mut v = Vec::new();
                    let mut u = Vec::new();
                    if self.aliases.contains_key(target) {
                        self.alias_addrs(target, line, &mut v, &mut u);
                    }
                    match v.as_slice() {
                        [one] if u.is_empty() && one.lo == one.hi => Some(*one),
                        _ => {
                            self.diag(codes::BAD_VALUE, Severity::Warning, el(r, "target").unwrap_or(r), format!("port forward target {target:?} is not one address"));
                            None
                        }
                    }
                }
            };
            let local = txt(r, "local-port").and_then(|p| p.parse::<u16>().ok());
            let ports = match (local, dport) {
                (Some(l), Some((a, b))) => Some((l, l.saturating_add(b - a))),
                (Some(l), None) => Some((l, l)),
                _ => None,
            };
            let action = match addr {
                Some(a) => Action::Dnat(NatTarget { addr: Some(a), ports }),
                None => Action::Unknown("port forward to an unknown target".into()),
            };
            if txt(r, "associated-rule-id") == Some("pass") {
                if let Some(a) = addr {
                    let mut c = vec![Cond::is(Test::InIface(ifk.clone())), Cond::is(Test::CtStatus(Ct::DNAT)), Cond::is(Test::Dst(vec![a]))];
                    if !protos.is_empty() {
                        c.push(Cond::is(Test::Proto(protos.clone())));
                    }
                    if let Some((lo, hi)) = ports {
                        c.push(Cond::is(Test::Dport(vec![(lo, hi)])));
                    }
                    pass.push(Rule { conds: c, unknown: unknown.clone(), action: Action::Accept, prov: self.prov(line, format!("<rule> port forward (rdr pass): \"{descr}\"")) });
                }
            }
            rdr.push(Rule { conds, unknown, action, prov });
        }
        // 1:1 NAT: the external address maps to the internal one, both ways.
        for o in nat.iter().flat_map(|n| els(*n, "onetoone")) {
            let (Some(ext), Some(int)) = (txt(o, "external").and_then(net), el(o, "source").and_then(|s| txt(s, "address")).and_then(net)) else {
                continue;
            };
            if flag(o, "disabled") || ext.prefix_len() != ext.max_prefix_len() || int.prefix_len() != int.max_prefix_len() {
                continue;
            }
            let line = self.line(o);
            let ifk = txt(o, "interface").unwrap_or("wan").to_string();
            rdr.push(Rule {
                conds: vec![Cond::is(Test::InIface(ifk)), Cond::is(Test::Dst(vec![AddrRange::single(ext.addr())]))],
                unknown: Vec::new(),
                action: Action::Dnat(NatTarget { addr: Some(AddrRange::single(int.addr())), ports: None }),
                prov: self.prov(line, format!("<onetoone> {} → {}", ext.addr(), int.addr())),
            });
        }
        (rdr, pass)
    }

    fn outbound_nat(&mut self, nat: Option<Node<'_, '_>>) -> Vec<Rule> {
        let Some(nat) = nat else { return self.automatic_nat(None) };
        let Some(ob) = el(nat, "outbound") else { return self.automatic_nat(None) };
        let mode = txt(ob, "mode").unwrap_or("automatic").to_string();
        let mode_line = el(ob, "mode").map(|m| self.line(m));
        let mut rules = Vec::new();
        if matches!(mode.as_str(), "advanced" | "hybrid") {
            for r in els(ob, "rule") {
                self.check_keys(r, OUTBOUND_KEYS, "an outbound NAT rule");
                if flag(r, "disabled") {
                    continue;
                }
                let line = self.line(r);
                let descr = txt(r, "descr").unwrap_or("");
                let prov = self.prov(line, format!("<rule> outbound NAT: \"{descr}\""));
                let ifk = txt(r, "interface").unwrap_or("wan").to_string();
                let mut conds = vec![Cond::is(Test::OutIface(ifk.clone()))];
                let mut unknown = Vec::new();
                let fam = match txt(r, "ipprotocol").unwrap_or("") {
                    "inet" => Some(false),
                    "inet6" => Some(true),
                    _ => None,
                };
                // The source is a network (CIDR, alias) or `any`.
                let src_node = el(r, "source");
                let src_val = src_node.and_then(|s| txt(s, "network").or_else(|| txt(s, "address"))).unwrap_or("any");
                if src_val != "any" && !src_val.is_empty() {
                    let mut v = Vec::new();
                    if let Some(n) = net(src_val) {
                        v.push(AddrRange::from_net(n));
                    } else if let Some(i) = self.iface(src_val).cloned() {
                        v.extend(i.addr4.iter().chain(i.addr6.iter()).map(|a| AddrRange::from_net(*a)));
                        if i.addr4.is_none() && i.dynamic.is_some() {
                            unknown.push(format!("subnet of {src_val}"));
                        }
                    } else if self.aliases.contains_key(src_val) {
                        self.alias_addrs(src_val, line, &mut v, &mut unknown);
                    } else {
                        unknown.push(format!("source {src_val}"));
                        self.undefined(line, "network or alias", src_val);
                    }
                    if unknown.is_empty() {
                        let v: Vec<AddrRange> = v.into_iter().filter(|x| fam.is_none_or(|f| x.lo.is_ipv6() == f)).collect();
                        conds.push(Cond::is(Test::Src(v)));
                    }
                } else if let Some(f) = fam {
                    conds.push(Cond::is(Test::Src(if f { v6_all() } else { vec![v4_all()] })));
                }
                let dst = self.endpoint(el(r, "destination"), line);
                unknown.extend(dst.unknown.iter().cloned());
                if let Some(c) = self.side(&dst, false, fam) {
                    conds.extend(c);
                }
                if let Some(p) = txt(r, "protocol").filter(|p| !p.is_empty() && *p != "any") {
                    let v: Vec<u8> = p.to_ascii_lowercase().split('/').filter_map(proto_number).collect();
                    conds.push(Cond::is(Test::Proto(v)));
                }
                if let Some(d) = txt(r, "dstport").and_then(port_range) {
                    conds.push(Cond::is(Test::Dport(vec![d])));
                }
                if let Some(s) = txt(r, "sourceport").and_then(port_range) {
                    conds.push(Cond::is(Test::Sport(vec![s])));
                }
                let target = txt(r, "target").unwrap_or("");
                let action = if flag(r, "nonat") {
                    Action::Accept
                } else if target.is_empty() {
                    Action::Masquerade(None)
                } else if let Some(n) = net(target) {
                    Action::Snat(NatTarget { addr: Some(AddrRange::from_net(n)), ports: None })
                } else if target == "other-subnet" {
                    match (txt(r, "targetip").and_then(|a| a.parse::<IpAddr>().ok()), txt(r, "targetip_subnet").and_then(|b| b.parse::<u8>().ok())) {
                        (Some(a), Some(b)) => IpNet::new(a, b).map_or(Action::Unknown("source NAT to a bad subnet".into()), |n| Action::Snat(NatTarget { addr: Some(AddrRange::from_net(n)), ports: None })),
                        _ => Action::Unknown("source NAT to an unknown subnet".into()),
                    }
                } else if let Some(a) = self.aliases.get(target).cloned() {
                    let mut v = Vec::new();
                    let mut u = Vec::new();
                    self.alias_addrs(target, a.line, &mut v, &mut u);
                    match v.as_slice() {
                        [one] if u.is_empty() => Action::Snat(NatTarget { addr: Some(*one), ports: None }),
                        _ => Action::Unknown(format!("source NAT to alias {target}")),
                    }
                } else {
                    self.diag(codes::UNMODELLED_TARGET, Severity::Warning, el(r, "target").unwrap_or(r), format!("NAT target {target:?} is not modelled"));
                    Action::Unknown(format!("source NAT to {target}"))
                };
                rules.push(Rule { conds, unknown, action, prov });
            }
        }
        match mode.as_str() {
            "automatic" | "hybrid" => rules.extend(self.automatic_nat(mode_line)),
            "advanced" | "disabled" => {}
            other => {
                if let Some(m) = el(ob, "mode") {
                    self.diag(codes::BAD_VALUE, Severity::Warning, m, format!("outbound NAT mode {other} is not known"));
                }
            }
        }
        rules
    }

    /// Automatic outbound NAT: traffic from the firewall's internal networks (every interface
    /// without an upstream gateway, and localhost) leaving an interface with a gateway (a WAN)
    /// takes that interface's address (pfSense documentation, "Outbound NAT → Automatic").
    fn automatic_nat(&mut self, mode_line: Option<u32>) -> Vec<Rule> {
        let wans: Vec<String> = self.ifaces.iter().filter(|i| i.external).map(|i| i.key.clone()).collect();
        let mut internal: Vec<AddrRange> = self
            .ifaces
            .iter()
            .filter(|i| !i.external)
            .flat_map(|i| i.addr4.iter().chain(i.extra.iter().filter(|a| a.addr().is_ipv4())).map(|a| AddrRange::from_net(*a)).collect::<Vec<_>>())
            .collect();
        if let Ok(lo) = "127.0.0.0/8".parse::<IpNet>() {
            internal.push(AddrRange::from_net(lo));
        }
        let prov = match mode_line {
            Some(l) => self.prov(l, "automatic outbound NAT".into()),
            None => Provenance::builtin("automatic outbound NAT (pfSense/OPNsense default)"),
        };
        wans.into_iter()
            .map(|w| Rule {
                conds: vec![Cond::is(Test::OutIface(w)), Cond::is(Test::Src(internal.clone()))],
                unknown: Vec::new(),
                action: Action::Masquerade(None),
                prov: prov.clone(),
            })
            .collect()
    }

    fn routes(&mut self, root: Node<'_, '_>) -> Vec<Route> {
        // Gateways by name.
        let mut gws: HashMap<String, (Option<IpAddr>, String, u32, bool)> = HashMap::new();
        let mut default4: Option<String> = None;
        if let Some(g) = el(root, "gateways") {
            default4 = txt(g, "defaultgw4").filter(|d| !d.is_empty()).map(str::to_string);
            for item in els(g, "gateway_item") {
                let name = txt(item, "name").unwrap_or("").to_string();
                let ip = txt(item, "gateway").and_then(|a| a.parse::<IpAddr>().ok());
                let ifk = txt(item, "interface").unwrap_or("").to_string();
                let l = self.line(item);
                let is_default = flag(item, "defaultgw");
                if is_default && default4.is_none() && ip.is_none_or(|a| a.is_ipv4()) {
                    default4 = Some(name.clone());
                }
                gws.insert(name, (ip, ifk, l, is_default));
            }
        }
        // Dynamic gateways pfSense creates for DHCP/PPPoE interfaces (`WAN_DHCP`, `WAN_PPPOE`).
        for i in &self.ifaces {
            if let Some(d) = &i.dynamic {
                let name = format!("{}_{}", i.key.to_uppercase(), d.to_uppercase());
                gws.entry(name).or_insert((None, i.key.clone(), i.line, false));
            }
        }
        let mut out = Vec::new();
        for r in els(root, "staticroutes").flat_map(|s| els(s, "route")) {
            if r.children().all(|c| !c.is_element()) || flag(r, "disabled") {
                continue;
            }
            let line = self.line(r);
            let Some(dst) = txt(r, "network").and_then(net) else {
                self.diag(codes::BAD_VALUE, Severity::Warning, r, "static route without a valid network".into());
                continue;
            };
            let gname = txt(r, "gateway").unwrap_or("").to_string();
            let Some((via, dev, _, _)) = gws.get(&gname).cloned() else {
                self.undefined(line, "gateway", &gname);
                continue;
            };
            let descr = txt(r, "descr").unwrap_or("");
            out.push(Route {
                dst: dst.trunc(),
                via,
                dev: Some(dev).filter(|d| !d.is_empty()),
                kind: RouteKind::Unicast,
                metric: 0,
                src: None,
                table: "main".into(),
                prov: self.prov(line, format!("<route> {dst} via {gname} \"{descr}\"")),
            });
        }
        // The default route: the default gateway, else the gateway of a WAN, else a WAN's
        // dynamic (DHCP/PPPoE) gateway.
        let pick = default4
            .clone()
            .or_else(|| self.ifaces.iter().find(|i| i.gateway.is_some()).and_then(|i| i.gateway.clone()))
            .or_else(|| self.ifaces.iter().find(|i| i.dynamic.is_some()).map(|i| format!("{}_{}", i.key.to_uppercase(), i.dynamic.clone().unwrap_or_default().to_uppercase())));
        if let Some(name) = pick {
            if let Some((via, dev, l, _)) = gws.get(&name).cloned() {
                if via.is_none_or(|a| a.is_ipv4()) {
                    let dst: IpNet = "0.0.0.0/0".parse().unwrap_or(IpNet::V4(Default::default()));
                    out.push(Route {
                        dst,
                        via,
                        dev: Some(dev).filter(|d| !d.is_empty()),
                        kind: RouteKind::Unicast,
                        metric: 0,
                        src: None,
                        table: "main".into(),
                        prov: self.prov(l, format!("default gateway {name}{}", if via.is_none() { " (address learned at run time)" } else { "" })),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn detection() {
        assert!(looks_like("<?xml version=\"1.0\"?>\n<pfsense>\n</pfsense>"));
        assert!(looks_like("<!-- x -->\n<opnsense><system/></opnsense>"));
        assert!(!looks_like("<nmaprun>"));
        assert!(!looks_like("<config><devices/></config>"));
    }

    #[test]
    fn entity_bomb_is_refused() {
        let t = "<?xml version=\"1.0\"?>\n<!DOCTYPE pfsense [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<pfsense><system><hostname>&b;</hostname></system></pfsense>\n";
        let p = parse(0, "x", t);
        assert_eq!(p.status(), crate::diag::FileStatus::Failed);
        assert!(p.content.firewall.is_none());
    }

    #[test]
    fn ports() {
        assert_eq!(port_range("80"), Some((80, 80)));
        assert_eq!(port_range("8000:8100"), Some((8000, 8100)));
        assert_eq!(port_range("8000-8100"), Some((8000, 8100)));
        assert_eq!(port_range("x"), None);
    }
}
