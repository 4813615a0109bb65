//! Lowering of the configuration tree into the model. See `docs/formats/panos.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;

use super::objects::{self, AddrSet, Scope, Svc, SvcSet};
use super::tree::{merge_into, Node};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, Interface, NatTarget, Route, RouteKind, Rule, Ruleset, Stage, Test,
};
use crate::space::{self, proto, Ct, Ranges};

/// PAN-OS predefined `intrazone-default` rule: traffic whose source and destination zones are
/// the same is allowed ("Policies > Security": the two predefined default rules,
/// https://docs.paloaltonetworks.com/pan-os/11-0/pan-os-web-interface-help/policies/policies-security/security-policy-overview).
pub const INTRAZONE_DEFAULT: (&str, bool) = ("intrazone-default", true);
/// PAN-OS predefined `interzone-default` rule: traffic between different zones is denied (same
/// document).
pub const INTERZONE_DEFAULT: (&str, bool) = ("interzone-default", false);

/// Static route administrative distance when none is configured (PAN-OS "Network > Virtual
/// Routers > Static Routes": static routes default to 10).
pub const STATIC_ADMIN_DIST: u32 = 10;
/// Static route metric when none is configured (same page: 10).
pub const STATIC_METRIC: u32 = 10;

/// Services an interface management profile opens, as PAN-OS documents them ("Network >
/// Network Profiles > Interface Mgmt"): ping is ICMP/ICMPv6 echo, the others their well-known
/// ports.
const MGMT_SERVICES: &[(&str, u8, u16)] = &[
    ("ssh", proto::TCP, 22),
    ("telnet", proto::TCP, 23),
    ("http", proto::TCP, 80),
    ("https", proto::TCP, 443),
    ("snmp", proto::UDP, 161),
];
/// Management profile services whose ports are not modelled: the rule stays "possibly".
const MGMT_UNMODELLED: &[&str] =
    &["response-pages", "userid-service", "userid-syslog-listener-ssl", "userid-syslog-listener-udp", "http-ocsp"];

/// Device-level sections that do not decide which packets pass (management plane, logging,
/// reporting, high availability, licences and the like).
const IGNORED_DEVICE: &[&str] = &[
    "mgt-config",
    "readonly",
    "platform",
    "plugins",
    "log-collector",
    "log-collector-group",
    "log-settings",
    "panorama",
    "response",
    "wildfire",
    "reports",
    "report-group",
    "pdf-summary-report",
    "email-scheduler",
    "predefined",
    "tag",
];

/// Sections under `network` that do not decide which packets pass.
const IGNORED_NETWORK: &[&str] =
    &["lldp", "qos", "dhcp", "dns-proxy", "shared-gateway", "vlan", "virtual-wire", "gre", "ike", "tunnel", "lacp", "ssl-decrypt", "ssh-proxy", "bfd", "sdwan", "dynamic-routing"];

/// Sections of a vsys (or `shared`, a device group) that do not decide which packets pass: tags,
/// logging, security profiles (threat prevention on allowed traffic is not modelled), user
/// identification, certificates, reports.
const IGNORED_VSYS: &[&str] = &[
    "tag",
    "log-settings",
    "profiles",
    "profile-group",
    "display-name",
    "setting",
    "threats",
    "reports",
    "report-group",
    "pdf-summary-report",
    "email-scheduler",
    "response-page",
    "user-id-agent",
    "user-id-collector",
    "user-id-agent-sequence",
    "authentication-profile",
    "authentication-sequence",
    "certificate",
    "certificate-profile",
    "ssl-tls-service-profile",
    "ocsp-responder",
    "local-user-database",
    "server-profile",
    "captive-portal",
    "application-filter",
    "application-tag",
    "application-status",
    "external-list",
    "schedule",
    "region",
    "dynamic-user-group",
    "global-protect",
    "admin-role",
    "botnet",
    "content-preview",
    "log-forwarding",
    "url-admin-override",
    "ts-agent",
    "redistribution-agent",
    "group-mapping",
    "ssl-decrypt",
    "scep",
    "ocsp",
    "zone-protection",
    "description",
    "devices",
    "parent-dg",
    "reference-templates",
    "master-device",
    "authorization-code",
    "to-sw-version",
    "address-prefix",
    "import",
    "visible-vsys",
    "dns-server",
];

/// Rulebases that do not decide whether packets pass (decryption, application override changes
/// only how applications are named, QoS marks, SD-WAN path choice, packet broker).
const IGNORED_RULEBASE: &[&str] =
    &["decryption", "application-override", "qos", "sdwan", "network-packet-broker", "tunnel-inspect"];

/// Rulebases that can drop packets but are not modelled (P002).
const UNMODELLED_RULEBASE: &[&str] = &["pbf", "dos", "authentication"];

/// Security rule fields that do not decide whether packets pass.
const IGNORED_RULE_FIELDS: &[&str] = &[
    "description",
    "tag",
    "log-start",
    "log-end",
    "log-setting",
    "profile-setting",
    "option",
    "group-tag",
    "qos",
    "icmp-unreachable",
    "uuid",
    "disable-server-response-inspection",
    "rule-type",
    "disabled",
    "action",
    "negate-source",
    "negate-destination",
    "from",
    "to",
    "source",
    "destination",
    "service",
    "application",
    "target",
    "audit-comment",
    "disable-inspect",
];

/// Interface fields that do not decide which packets pass.
const IGNORED_IFACE: &[&str] = &[
    "comment",
    "adjust-tcp-mss",
    "mtu",
    "ndp-proxy",
    "arp",
    "lldp",
    "netflow-profile",
    "untagged-sub-interface",
    "ddns-config",
    "decrypt-forward",
    "bonjour",
    "sdwan-link-settings",
    "policing",
    "dhcp-client",
    "pppoe",
    "ipv6",
    "tag",
    "ip",
    "units",
    "interface-management-profile",
    "lacp",
    "link-speed",
    "link-duplex",
    "link-state",
    "layer3",
    "layer2",
    "virtual-wire",
    "tap",
    "ha",
    "aggregate-group",
    "log-card",
    "decrypt-mirror",
    "poe",
    "lldp-profile",
    "reserved-ports",
    "fec",
];

/// Bindings' priorities (see `docs/formats/panos.md`).
const PRIO_SECURITY_PRE_DNAT: i32 = -150;
const PRIO_DNAT: i32 = -100;
const PRIO_SECURITY: i32 = 0;
const PRIO_MGMT: i32 = 10;
const PRIO_SNAT: i32 = 100;

/// Longest provenance text kept.
const MAX_TEXT: usize = 200;

/// The lowering state for one file.
pub struct Ctx<'t> {
    file: String,
    source: SourceId,
    lines: Vec<&'t str>,
    /// Diagnostics.
    pub d: Diags,
}

impl<'t> Ctx<'t> {
    /// New state for a file.
    pub fn new(source: SourceId, file: &str, text: &'t str) -> Self {
        Ctx { file: file.to_string(), source, lines: text.lines().collect(), d: Diags::default() }
    }

    fn text(&self, line: u32) -> String {
        let t = self.lines.get((line as usize).wrapping_sub(1)).map(|l| l.trim()).unwrap_or("");
        let mut s: String = t.chars().take(MAX_TEXT).collect();
        if s.len() < t.len() {
            s.push('…');
        }
        s
    }

    fn prov(&self, line: u32) -> Provenance {
        Provenance { source: self.source, file: self.file.clone(), line, text: self.text(line) }
    }

    fn diag(&mut self, code: &'static str, sev: Severity, line: u32, reason: impl Into<String>) {
        let t = self.text(line);
        self.d.push(code, sev, line, &t, reason);
    }

    /// Every line of an unknown subtree: P001.
    fn unknown(&mut self, n: &Node, where_: &str) {
        let mut ls = Vec::new();
        n.lines(&mut ls);
        ls.sort_unstable();
        ls.dedup();
        let head = n.line;
        self.diag(codes::UNRECOGNIZED, Severity::Warning, head, format!("{} is not a statement Portolan knows under {where_}", n.name));
        for l in ls.into_iter().filter(|l| *l != head && *l > 0) {
            self.diag(codes::UNRECOGNIZED, Severity::Warning, l, format!("inside {} (line {head}), which is not recognised", n.name));
        }
    }
}

/// What the tree lowers to.
#[derive(Default)]
pub struct Lowered {
    /// Firewall, when any policy or interface exists.
    pub firewall: Option<Firewall>,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
    /// Static routes.
    pub routes: Vec<Route>,
    /// Hostname.
    pub hostname: Option<String>,
}

/// A layer-3 interface as configured.
struct Iface {
    name: String,
    addrs: Vec<IpNet>,
    up: bool,
    line: u32,
    mgmt_profile: Option<(String, u32)>,
}

/// One vsys (or the policy of a Panorama device group).
struct Vsys<'a> {
    name: String,
    /// Prefix for ruleset names ("" for vsys1).
    label: String,
    node: Node,
    /// Zone → (interfaces, line).
    zones: BTreeMap<String, (Vec<String>, u32)>,
    _p: std::marker::PhantomData<&'a ()>,
}

/// Zone selection of a rule.
#[derive(Clone, Debug)]
enum ZoneSel {
    Any,
    List(Vec<String>),
}

/// A lowered security rule before placing it into zone pairs.
struct SecRule {
    from: ZoneSel,
    to: ZoneSel,
    kind: RuleKind,
    /// Condition variants (several protocols): each becomes one rule.
    variants: Vec<Vec<Cond>>,
    unknown: Vec<String>,
    action: Action,
    line: u32,
}

impl SecRule {
    fn copy(&self) -> SecRule {
        SecRule {
            from: self.from.clone(),
            to: self.to.clone(),
            kind: self.kind,
            variants: self.variants.clone(),
            unknown: self.unknown.clone(),
            action: self.action.clone(),
            line: self.line,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RuleKind {
    Universal,
    Intrazone,
    Interzone,
}

/// A lowered NAT rule.
struct NatRule {
    name: String,
    from: ZoneSel,
    to: ZoneSel,
    to_iface: Option<String>,
    /// Conditions on the original packet except zones (variants).
    variants: Vec<Vec<Cond>>,
    unknown: Vec<String>,
    snat: Option<Action>,
    dnat: Option<NatTarget>,
    /// Service ports of the original packet (for identifying its translated packets).
    line: u32,
}

/// Static routing as the engine sees it, to find which zone an address is routed to.
struct Routing {
    /// (prefix, egress interface or None for discard/unresolvable, metric) sorted as the engine.
    routes: Vec<(IpNet, Option<String>, u32)>,
    /// Own addresses → interface.
    local: Vec<(IpAddr, String)>,
}

impl Routing {
    fn build(ifaces: &[Iface], routes: &[Route]) -> Routing {
        let mut rs: Vec<(IpNet, Option<String>, u32)> = Vec::new();
        let connected = |a: IpAddr| -> Option<String> {
            let mut best: Option<(u8, &str)> = None;
            for i in ifaces.iter().filter(|i| i.up) {
                for n in &i.addrs {
                    if n.contains(&a) && best.is_none_or(|(l, _)| n.prefix_len() > l) {
                        best = Some((n.prefix_len(), i.name.as_str()));
                    }
                }
            }
            best.map(|(_, n)| n.to_string())
        };
        for r in routes {
            let oif = match r.kind {
                RouteKind::Unicast => r.dev.clone().or_else(|| r.via.and_then(connected)),
                _ => None,
            };
            rs.push((r.dst, oif, r.metric));
        }
        for i in ifaces.iter().filter(|i| i.up) {
            for n in &i.addrs {
                let net = n.trunc();
                if !rs.iter().any(|(d, o, _)| *d == net && o.as_deref() == Some(i.name.as_str())) {
                    rs.push((net, Some(i.name.clone()), 0));
                }
            }
        }
        rs.sort_by(|a, b| b.0.prefix_len().cmp(&a.0.prefix_len()).then(a.2.cmp(&b.2)));
        let local = ifaces.iter().flat_map(|i| i.addrs.iter().map(move |n| (n.addr(), i.name.clone()))).collect();
        Routing { routes: rs, local }
    }

    /// The interface an address is delivered to or routed out of.
    fn iface_of(&self, a: IpAddr) -> Option<&str> {
        if let Some((_, i)) = self.local.iter().find(|(x, _)| *x == a) {
            return Some(i);
        }
        self.routes.iter().find(|(n, _, _)| n.contains(&a)).and_then(|(_, o, _)| o.as_deref())
    }

    /// Every destination address routed to (or owned by) one of `ifaces`.
    fn dst_set(&self, ifaces: &[String]) -> Ranges {
        let mut covered = Ranges::from_ranges(vec![]);
        let mut out = Ranges::from_ranges(vec![]);
        let mut local_all = Ranges::from_ranges(vec![]);
        let mut local_mine = Ranges::from_ranges(vec![]);
        for (a, i) in &self.local {
            let v = space::addr_to_u128(*a);
            local_all = local_all.union(&Ranges::single(v));
            if ifaces.contains(i) {
                local_mine = local_mine.union(&Ranges::single(v));
            }
        }
        for (n, o, _) in &self.routes {
            let p = space::prefix_range(n);
            if o.as_ref().is_some_and(|o| ifaces.contains(o)) {
                out = out.union(&p.difference(&covered));
            }
            covered = covered.union(&p);
        }
        out.difference(&local_all).union(&local_mine)
    }
}

/// Ranges of the address dimension as model ranges, split at the IPv4-mapped block.
fn to_addr_ranges(r: &Ranges) -> Vec<AddrRange> {
    let mut v = Vec::new();
    for &(lo, hi) in r.as_slice() {
        let pieces = [(lo, hi.min(space::V4_BASE.wrapping_sub(1))), (lo.max(space::V4_BASE), hi.min(space::V4_LAST)), (lo.max(space::V4_LAST + 1), hi)];
        for (a, b) in pieces {
            if a <= b {
                v.push(AddrRange { lo: space::u128_to_addr(a), hi: space::u128_to_addr(b) });
            }
        }
    }
    v
}

fn yes(n: &Node, key: &str) -> bool {
    n.get(key) == Some("yes")
}

/// Lower a whole tree.
pub fn lower(root: Node, cx: &mut Ctx) -> Lowered {
    let mut out = Lowered::default();
    // Gather the device view, shared objects, Panorama-pushed policy, device groups.
    let mut device = Node::default();
    let mut shared = Node::default();
    let mut pushed = Node::default();
    let mut device_groups: Vec<Node> = Vec::new();
    let mut templates: Vec<Node> = Vec::new();
    let mut g = Gathered { device: &mut device, shared: &mut shared, pushed: &mut pushed, device_groups: &mut device_groups, templates: &mut templates };
    gather(root, &mut g, cx, true);
    // Templates describe managed firewalls: read for their diagnostics only.
    for t in &templates {
        let mut scratch = Ctx { file: cx.file.clone(), source: cx.source, lines: cx.lines.clone(), d: Diags::default() };
        for e in &t.children {
            for c in &e.children {
                match c.name.as_str() {
                    "config" => {
                        let tl = lower(Node::wrap(c.clone()), &mut scratch);
                        let _ = tl;
                    }
                    "settings" | "templates" | "description" | "variable" | "user-group-source" | "default-vsys" | "devices" => {}
                    _ => scratch.unknown(c, "template"),
                }
            }
        }
        cx.d.list.extend(scratch.d.list);
    }

    // Hostname.
    if let Some(dc) = device.child("deviceconfig") {
        if let Some(h) = dc.child("system").and_then(|s| s.get("hostname")) {
            out.hostname = Some(h.to_string());
        }
    }

    // Shared and pushed objects.
    let mut shared_scope = Scope::default();
    shared_scope.add(&shared);
    check_object_section(&shared, cx, "shared");
    let mut pushed_scope = Scope::default();
    pushed_scope.add(&pushed);

    // Interfaces and routes.
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut routes: Vec<Route> = Vec::new();
    let mut profiles: HashMap<String, &Node> = HashMap::new();
    let mut other_services: Vec<String> = Vec::new();
    // vsys: explicit entries and the implicit vsys1 of single-vsys set/brace forms.
    let mut vsys_nodes: Vec<Node> = Vec::new();
    let mut implicit = Node::named("vsys1");
    let mut rest = Vec::new();
    for c in std::mem::take(&mut device.children) {
        if c.name == "vsys" {
            vsys_nodes.extend(c.children);
        } else if matches!(
            c.name.as_str(),
            "zone" | "rulebase" | "address" | "address-group" | "service" | "service-group" | "application" | "application-group"
        ) {
            merge_into(&mut implicit, Node::wrap(c));
        } else {
            rest.push(c);
        }
    }
    for c in rest {
        merge_into(&mut device, Node::wrap(c));
    }
    if !implicit.children.is_empty() {
        match vsys_nodes.iter_mut().find(|v| v.name == "vsys1") {
            Some(v) => merge_into(v, implicit),
            None => vsys_nodes.insert(0, implicit),
        }
    }
    // Address objects for interface addresses: vsys1 and shared.
    let vsys1_scope = {
        let mut s = Scope::default();
        if let Some(v) = vsys_nodes.iter().find(|v| v.name == "vsys1") {
            s.add(v);
        }
        s
    };
    if let Some(net) = device.child("network") {
        for c in &net.children {
            match c.name.as_str() {
                "interface" => interfaces(c, cx, &[&vsys1_scope, &shared_scope], &mut ifaces),
                "virtual-router" => {
                    for vr in &c.children {
                        virtual_router(vr, cx, &[&vsys1_scope, &shared_scope], &mut routes, &mut other_services);
                    }
                }
                "logical-router" => {
                    cx.diag(codes::UNMODELLED_MATCH, Severity::Warning, c.line, "logical routers (advanced routing) are not modelled: their routes are missing");
                }
                "profiles" => {
                    for p in &c.children {
                        if p.name == "interface-management-profile" {
                            for e in &p.children {
                                profiles.insert(e.name.clone(), e);
                                for f in &e.children {
                                    let known = MGMT_SERVICES.iter().any(|(n, _, _)| *n == f.name)
                                        || MGMT_UNMODELLED.contains(&f.name.as_str())
                                        || matches!(f.name.as_str(), "ping" | "permitted-ip" | "userid-syslog-listener" );
                                    if !known {
                                        cx.unknown(f, "interface-management-profile");
                                    }
                                }
                            }
                        }
                    }
                }
                "ike" | "tunnel" => {
                    if !c.children.is_empty() {
                        other_services.push(format!("{} (IPsec)", c.name));
                    }
                }
                x if IGNORED_NETWORK.contains(&x) => {}
                _ => cx.unknown(c, "network"),
            }
        }
    }
    for (name, reason) in [("global-protect", "GlobalProtect portal or gateway")] {
        if device.child(name).is_some() || vsys_nodes.iter().any(|v| v.child(name).is_some_and(|g| !g.children.is_empty())) {
            other_services.push(reason.to_string());
        }
    }

    // Vsys: zones and policies.
    let mut vsyses: Vec<Vsys> = Vec::new();
    let n_vsys = vsys_nodes.len();
    for v in vsys_nodes {
        let label = if v.name == "vsys1" || n_vsys <= 1 { String::new() } else { format!("{} ", v.name) };
        let mut zones = BTreeMap::new();
        if let Some(z) = v.child("zone") {
            for e in &z.children {
                let mut members = Vec::new();
                if let Some(netw) = e.child("network") {
                    for k in &netw.children {
                        match k.name.as_str() {
                            "layer3" | "tunnel" => members.extend(k.items().into_iter().map(|(s, _)| s.to_string())),
                            "layer2" | "virtual-wire" | "tap" | "external" | "tunnel-inspect" => {
                                if !k.items().is_empty() {
                                    cx.diag(codes::UNMODELLED_MATCH, Severity::Info, k.line, format!("zone {}: {} members are not routed interfaces; not modelled", e.name, k.name));
                                }
                            }
                            "zone-protection-profile" | "enable-packet-buffer-protection" | "log-setting" | "net-inspection" | "enable-device-identification" | "prenat-identification" => {}
                            _ => cx.unknown(k, "zone network"),
                        }
                    }
                }
                for f in &e.children {
                    if !matches!(f.name.as_str(), "network" | "enable-user-identification" | "user-acl" | "device-acl" | "enable-device-identification") {
                        cx.unknown(f, "zone");
                    }
                }
                zones.insert(e.name.clone(), (members, e.line));
            }
        }
        vsyses.push(Vsys { name: v.name.clone(), label, node: v, zones, _p: std::marker::PhantomData });
    }

    // Interfaces referenced by zones must exist.
    for vs in &vsyses {
        for (z, (members, line)) in &vs.zones {
            for m in members {
                if !ifaces.iter().any(|i| &i.name == m) {
                    cx.diag(codes::UNDEFINED_REFERENCE, Severity::Info, *line, format!("zone {z}: interface {m} has no layer-3 configuration"));
                }
            }
        }
    }

    let iface_zone: HashMap<String, String> =
        vsyses.iter().flat_map(|v| v.zones.iter().flat_map(|(z, (m, _))| m.iter().map(move |i| (i.clone(), z.clone())))).collect();
    let routing = Routing::build(&ifaces, &routes);
    let mut fw = Firewall { stateful: true, ..Firewall::default() };
    let est = Rule {
        conds: vec![Cond::is(Test::CtState(vec![Ct::ESTABLISHED, Ct::RELATED]))],
        unknown: vec![],
        action: Action::Accept,
        prov: Provenance::builtin("replies of permitted sessions (stateful firewall)"),
    };
    let mut any_policy = false;
    let mut fwd_dispatch: Vec<Rule> = vec![est.clone()];
    let mut in_dispatch: Vec<Rule> = vec![est.clone()];
    let mut pre_dispatch: Vec<Rule> = vec![est.clone()];
    let mut dnat_rules: Vec<Rule> = Vec::new();
    let mut snat_rules: Vec<Rule> = Vec::new();
    let mut has_dnat = false;
    for vs in &vsyses {
        let mut scope = Scope::default();
        scope.add(&vs.node);
        check_object_section(&vs.node, cx, &vs.name);
        let scopes: Vec<&Scope> = vec![&scope, &pushed_scope, &shared_scope];
        // Security rules: Panorama pre-rules, the vsys's own, Panorama post-rules.
        let mut rules: Vec<SecRule> = Vec::new();
        let mut nats: Vec<NatRule> = Vec::new();
        let mut defaults: HashMap<&str, (bool, u32)> = HashMap::new();
        let sources: Vec<(&Node, &str)> = {
            let mut s = Vec::new();
            if vs.name == "vsys1" {
                if let Some(r) = pushed.child("pre-rulebase") {
                    s.push((r, "pre-rulebase"));
                }
            }
            if let Some(r) = vs.node.child("rulebase") {
                s.push((r, "rulebase"));
            }
            if vs.name == "vsys1" {
                if let Some(r) = pushed.child("post-rulebase") {
                    s.push((r, "post-rulebase"));
                }
            }
            s
        };
        for (rb, what) in &sources {
            for c in &rb.children {
                match c.name.as_str() {
                    "security" => {
                        if let Some(rs) = c.child("rules") {
                            for r in &rs.children {
                                if let Some(sr) = security_rule(r, cx, &scopes, &vs.node) {
                                    rules.push(sr);
                                }
                            }
                        }
                        for k in c.children.iter().filter(|k| k.name != "rules") {
                            cx.unknown(k, "rulebase security");
                        }
                    }
                    "nat" => {
                        if let Some(rs) = c.child("rules") {
                            for r in &rs.children {
                                nat_rule(r, cx, &scopes, &ifaces, &mut nats);
                            }
                        }
                    }
                    "default-security-rules" => {
                        if let Some(rs) = c.child("rules") {
                            for r in &rs.children {
                                match (r.name.as_str(), r.get("action")) {
                                    ("intrazone-default" | "interzone-default", Some(a)) => {
                                        let allow = a == "allow";
                                        if !matches!(a, "allow" | "deny" | "drop" | "reset-client" | "reset-server" | "reset-both") {
                                            cx.diag(codes::BAD_VALUE, Severity::Warning, r.line, format!("action {a} is not a security rule action"));
                                        }
                                        let key = if r.name == "intrazone-default" { "intrazone-default" } else { "interzone-default" };
                                        defaults.insert(key, (allow, r.child("action").map_or(r.line, |x| x.line)));
                                    }
                                    ("intrazone-default" | "interzone-default", None) => {}
                                    _ => cx.unknown(r, "default-security-rules"),
                                }
                            }
                        }
                    }
                    x if IGNORED_RULEBASE.contains(&x) => {}
                    x if UNMODELLED_RULEBASE.contains(&x) => {
                        if c.child("rules").is_some_and(|r| !r.children.is_empty()) {
                            cx.diag(codes::UNMODELLED_MATCH, Severity::Warning, c.line, format!("{what} {x} rules are not modelled: traffic they affect may be answered wrongly"));
                        }
                    }
                    _ => cx.unknown(c, what),
                }
            }
        }
        for c in &vs.node.children {
            let k = c.name.as_str();
            if !matches!(k, "zone" | "rulebase" | "address" | "address-group" | "service" | "service-group" | "application" | "application-group")
                && !IGNORED_VSYS.contains(&k)
            {
                cx.unknown(c, "vsys");
            }
        }
        any_policy |= !rules.is_empty() || !vs.zones.is_empty();
        // Zones: defined and referenced.
        let mut zone_names: BTreeSet<String> = vs.zones.keys().cloned().collect();
        for r in &rules {
            for s in [&r.from, &r.to] {
                if let ZoneSel::List(v) = s {
                    for z in v {
                        if !vs.zones.contains_key(z) && zone_names.insert(z.clone()) {
                            cx.diag(codes::UNDEFINED_REFERENCE, Severity::Info, r.line, format!("zone {z} is not defined: no interface leads to it"));
                        }
                    }
                }
            }
        }
        // Zone-pair rulesets: among zones with interfaces; in a policy-only file (no zone has
        // an interface), among every zone named, so that each pair can be tested alone.
        let with_ifaces: BTreeSet<String> = vs.zones.iter().filter(|(_, (m, _))| !m.is_empty()).map(|(z, _)| z.clone()).collect();
        if !with_ifaces.is_empty() {
            zone_names = with_ifaces;
        }
        let pair_index = zone_pairs(&vs.label, &zone_names, &rules, &defaults, cx, &mut fw);
        // Interface → zone within this vsys.
        let mut zone_of: Vec<(String, String)> = Vec::new();
        for (z, (members, _)) in &vs.zones {
            for m in members {
                zone_of.push((m.clone(), z.clone()));
            }
        }
        // Forward dispatcher.
        for (a, za) in &zone_of {
            for (b, zb) in &zone_of {
                if let Some(&idx) = pair_index.get(&(za.clone(), zb.clone())) {
                    fwd_dispatch.push(Rule {
                        conds: vec![Cond::is(Test::InIface(a.clone())), Cond::is(Test::OutIface(b.clone()))],
                        unknown: vec![],
                        action: Action::Goto(idx),
                        prov: Provenance::builtin(format!("{}{a} is in zone {za}, {b} in zone {zb}", vs.label)),
                    });
                }
            }
        }
        // Input dispatcher: the destination zone of traffic to the firewall is the zone of the
        // interface owning the address.
        for (a, za) in &zone_of {
            for (zb, (members, _)) in &vs.zones {
                let own: Vec<AddrRange> = ifaces
                    .iter()
                    .filter(|i| members.contains(&i.name))
                    .flat_map(|i| i.addrs.iter().map(|n| AddrRange::single(n.addr())))
                    .collect();
                if own.is_empty() {
                    continue;
                }
                if let Some(&idx) = pair_index.get(&(za.clone(), zb.clone())) {
                    in_dispatch.push(Rule {
                        conds: vec![Cond::is(Test::InIface(a.clone())), Cond::is(Test::Dst(own))],
                        unknown: vec![],
                        action: Action::Goto(idx),
                        prov: Provenance::builtin(format!("{}{a} is in zone {za}; the address belongs to zone {zb}", vs.label)),
                    });
                }
            }
        }
        // NAT.
        let zone_ifaces = |sel: &ZoneSel| -> Vec<String> {
            match sel {
                ZoneSel::Any => zone_of.iter().map(|(i, _)| i.clone()).collect(),
                ZoneSel::List(zs) => zone_of.iter().filter(|(_, z)| zs.contains(z)).map(|(i, _)| i.clone()).collect(),
            }
        };
        // Translated destinations shared by rules that differ in source translation.
        let mut by_target: HashMap<String, Vec<bool>> = HashMap::new();
        for n in &nats {
            if let Some(t) = &n.dnat {
                by_target.entry(format!("{t:?}")).or_default().push(n.snat.is_some());
            }
        }
        for n in &nats {
            let from_ifs = zone_ifaces(&n.from);
            let to_ifs: Vec<String> = match &n.to_iface {
                Some(i) => vec![i.clone()],
                None => zone_ifaces(&n.to),
            };
            let to_set = match (&n.to, &n.to_iface) {
                (ZoneSel::Any, None) => None,
                _ => Some(to_addr_ranges(&routing.dst_set(&to_ifs))),
            };
            let prov = cx.prov(n.line);
            // Zone the translated destination is routed to (the post-NAT zone).
            let post_zone: Option<String> = n.dnat.as_ref().and_then(|t| t.addr).and_then(|r| routing.iface_of(r.lo)).and_then(|i| {
                zone_of.iter().find(|(x, _)| x == i).map(|(_, z)| z.clone())
            });
            for a in &from_ifs {
                let za = zone_of.iter().find(|(x, _)| x == a).map(|(_, z)| z.clone()).unwrap_or_default();
                for v in &n.variants {
                    let mut pre = vec![Cond::is(Test::InIface(a.clone()))];
                    if let Some(s) = &to_set {
                        pre.push(Cond::is(Test::Dst(s.clone())));
                    }
                    pre.extend(v.iter().cloned());
                    // Pre-DNAT security dispatch.
                    let pre_action = match (&n.dnat, &post_zone) {
                        (Some(_), Some(y)) => match pair_index.get(&(za.clone(), y.clone())) {
                            Some(&idx) => Action::Goto(idx),
                            None => Action::Drop,
                        },
                        (Some(_), None) => Action::Accept,
                        (None, _) => Action::Accept,
                    };
                    let mut pre_unknown = n.unknown.clone();
                    if n.dnat.is_some() && post_zone.is_none() {
                        pre_unknown.push(format!("NAT rule {}: the zone of the translated destination is not known; the security policy is not checked", n.name));
                    }
                    pre_dispatch.push(Rule { conds: pre.clone(), unknown: pre_unknown, action: pre_action, prov: prov.clone() });
                    dnat_rules.push(Rule {
                        conds: pre.clone(),
                        unknown: n.unknown.clone(),
                        action: match &n.dnat {
                            Some(t) => Action::Dnat(t.clone()),
                            None => Action::Accept,
                        },
                        prov: prov.clone(),
                    });
                    // Source NAT after routing.
                    match &n.dnat {
                        None => {
                            for b in &to_ifs {
                                let mut c = vec![Cond::not(Test::CtStatus(Ct::DNAT)), Cond::is(Test::InIface(a.clone())), Cond::is(Test::OutIface(b.clone()))];
                                c.extend(v.iter().cloned());
                                snat_rules.push(Rule { conds: c, unknown: n.unknown.clone(), action: n.snat.clone().unwrap_or(Action::Accept), prov: prov.clone() });
                            }
                        }
                        Some(t) => {
                            // Identify packets this rule translated: translated destination and
                            // the unchanged source fields.
                            let mut c = vec![Cond::is(Test::CtStatus(Ct::DNAT)), Cond::is(Test::InIface(a.clone()))];
                            if let Some(r) = t.addr {
                                c.push(Cond::is(Test::Dst(vec![r])));
                            }
                            for x in v {
                                match &x.test {
                                    Test::Dst(_) => {}
                                    Test::Dport(_) if t.ports.is_some() => {}
                                    _ => c.push(x.clone()),
                                }
                            }
                            if let Some((lo, hi)) = t.ports {
                                c.push(Cond::is(Test::Dport(vec![(lo, hi)])));
                            }
                            let mut unknown = n.unknown.clone();
                            if by_target.get(&format!("{t:?}")).is_some_and(|v| v.iter().any(|s| *s) && v.iter().any(|s| !*s)) {
                                unknown.push(format!(
                                    "NAT rule {}: other rules translate to the same destination with a different source translation",
                                    n.name
                                ));
                            }
                            snat_rules.push(Rule { conds: c, unknown, action: n.snat.clone().unwrap_or(Action::Accept), prov: prov.clone() });
                        }
                    }
                }
            }
            has_dnat |= n.dnat.is_some();
        }
    }

    // Interface management profiles (traffic to the firewall itself).
    let mut mgmt: Vec<Rule> = Vec::new();
    for i in &ifaces {
        let Some((pname, pline)) = &i.mgmt_profile else { continue };
        let own: Vec<AddrRange> = i.addrs.iter().map(|n| AddrRange::single(n.addr())).collect();
        if own.is_empty() {
            continue;
        }
        let Some(p) = profiles.get(pname) else {
            cx.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, *pline, format!("interface management profile {pname} is not defined"));
            continue;
        };
        let mut permitted: Vec<AddrRange> = Vec::new();
        if let Some(pi) = p.child("permitted-ip") {
            for (s, l) in pi.items() {
                match objects::literal(s) {
                    Some(r) => permitted.push(r),
                    None => cx.diag(codes::BAD_VALUE, Severity::Warning, l, format!("permitted-ip {s} is not an address")),
                }
            }
        }
        let base = |extra: Vec<Cond>| {
            let mut c = vec![Cond::is(Test::Dst(own.clone()))];
            if !permitted.is_empty() {
                c.push(Cond::is(Test::Src(permitted.clone())));
            }
            c.extend(extra);
            c
        };
        let pprov = cx.prov(p.line);
        if yes(p, "ping") {
            for (pr, ty) in [(proto::ICMP, 8u8), (proto::ICMPV6, 128u8)] {
                mgmt.push(Rule {
                    conds: base(vec![Cond::is(Test::Proto(vec![pr])), Cond::is(Test::Icmp { ty: Some(ty), code: None })]),
                    unknown: vec![],
                    action: Action::Accept,
                    prov: cx.prov(p.child("ping").map_or(p.line, |x| x.line)),
                });
            }
        }
        for (svc, pr, port) in MGMT_SERVICES {
            if yes(p, svc) {
                mgmt.push(Rule {
                    conds: base(vec![Cond::is(Test::Proto(vec![*pr])), Cond::is(Test::Dport(vec![(*port, *port)]))]),
                    unknown: vec![],
                    action: Action::Accept,
                    prov: cx.prov(p.child(svc).map_or(p.line, |x| x.line)),
                });
            }
        }
        for svc in MGMT_UNMODELLED {
            if yes(p, svc) {
                mgmt.push(Rule {
                    conds: base(vec![]),
                    unknown: vec![format!("interface management profile {pname}: {svc} (ports not modelled)")],
                    action: Action::Accept,
                    prov: pprov.clone(),
                });
            }
        }
    }
    if !other_services.is_empty() {
        mgmt.push(Rule {
            conds: vec![],
            unknown: vec![format!("services of the firewall that are not modelled: {}", other_services.join(", "))],
            action: Action::Accept,
            prov: Provenance::builtin("services of the firewall outside interface management profiles"),
        });
    }

    let has_l3 = !ifaces.is_empty();
    if any_policy || has_l3 {
        let bind = |fw: &mut Firewall, rs: Ruleset, hook: Hook, stage: Stage, priority: i32| {
            fw.rulesets.push(rs);
            let idx = fw.rulesets.len() - 1;
            fw.hooks.push(HookBinding { hook, stage, priority, ruleset: idx, family: Family::Any });
        };
        let mk = |name: &str, table: &str, rules: Vec<Rule>, default: Action, why: &str| Ruleset {
            name: name.into(),
            table: table.into(),
            family: Family::Any,
            default: Some(default),
            default_prov: Provenance::builtin(why),
            rules,
        };
        if has_dnat {
            bind(
                &mut fw,
                mk("security before destination NAT", "security", pre_dispatch, Action::Accept, "no destination NAT rule matches: the security policy is checked after routing"),
                Hook::Prerouting,
                Stage::Filter,
                PRIO_SECURITY_PRE_DNAT,
            );
            // Destination-translated sessions were checked before translation; they pass here
            // through a ruleset of the `nat` group, so explanations name the security rule that
            // decided before translation rather than this pass.
            let why = "destination-translated session: the security policy was checked on the original packet, before translation";
            fw.rulesets.push(Ruleset {
                name: "translated sessions".into(),
                table: "nat".into(),
                family: Family::Any,
                default: None,
                default_prov: Provenance::builtin(why),
                rules: vec![Rule { conds: vec![], unknown: vec![], action: Action::Accept, prov: Provenance::builtin(why) }],
            });
            let pass = fw.rulesets.len() - 1;
            for d in [&mut fwd_dispatch, &mut in_dispatch] {
                d.insert(1, Rule { conds: vec![Cond::is(Test::CtStatus(Ct::DNAT))], unknown: vec![], action: Action::Goto(pass), prov: Provenance::builtin(why) });
            }
        }
        if !dnat_rules.is_empty() {
            bind(&mut fw, mk("nat destination", "nat", dnat_rules, Action::Accept, "no NAT rule matches: no translation"), Hook::Prerouting, Stage::DstNat, PRIO_DNAT);
        }
        bind(
            &mut fw,
            mk("security", "security", fwd_dispatch, Action::Drop, "the interfaces are in no zone, or in zones of different virtual systems: PAN-OS does not forward such traffic"),
            Hook::Forward,
            Stage::Filter,
            PRIO_SECURITY,
        );
        bind(
            &mut fw,
            mk("security to the firewall", "security", in_dispatch, Action::Drop, "the interface or the address is in no zone: PAN-OS drops such traffic"),
            Hook::Input,
            Stage::Filter,
            PRIO_SECURITY,
        );
        let mut mg = vec![est];
        mg.extend(mgmt);
        bind(
            &mut fw,
            mk("interface management", "management", mg, Action::Drop, "no interface management profile permits this service on this address"),
            Hook::Input,
            Stage::Filter,
            PRIO_MGMT,
        );
        if !snat_rules.is_empty() {
            bind(&mut fw, mk("nat source", "nat", snat_rules, Action::Accept, "no NAT rule matches: no translation"), Hook::Postrouting, Stage::SrcNat, PRIO_SNAT);
        }
    }

    // Panorama: shared and device-group rulebases as rulesets (no interfaces: test them alone).
    // Order: shared pre-rules, the device group's pre-rules, its post-rules, shared post-rules.
    for c in &shared.children {
        let k = c.name.as_str();
        if !matches!(k, "pre-rulebase" | "post-rulebase" | "address" | "address-group" | "service" | "service-group" | "application" | "application-group")
            && !IGNORED_VSYS.contains(&k)
            && !IGNORED_DEVICE.contains(&k)
        {
            cx.unknown(c, "shared");
        }
    }
    let shared_pre = panorama_rules(shared.child("pre-rulebase"), "pre-rulebase", cx, &[&shared_scope], &shared, &ifaces);
    let shared_post = panorama_rules(shared.child("post-rulebase"), "post-rulebase", cx, &[&shared_scope], &shared, &ifaces);
    // (where the rules come from, the rules, the default rules' settings)
    type Rulebase = (String, Vec<SecRule>, HashMap<&'static str, (bool, u32)>);
    let mut groups: Vec<Rulebase> = Vec::new();
    let mut shared_defaults = HashMap::new();
    read_defaults(shared.child("post-rulebase"), cx, &mut shared_defaults);
    for dg in &device_groups {
        let mut scope = Scope::default();
        scope.add(dg);
        check_object_section(dg, cx, &format!("device-group {}", dg.name));
        let scopes: Vec<&Scope> = vec![&scope, &shared_scope];
        let pre = panorama_rules(dg.child("pre-rulebase"), "pre-rulebase", cx, &scopes, dg, &ifaces);
        let post = panorama_rules(dg.child("post-rulebase"), "post-rulebase", cx, &scopes, dg, &ifaces);
        for c in &dg.children {
            let k = c.name.as_str();
            if !matches!(k, "pre-rulebase" | "post-rulebase" | "address" | "address-group" | "service" | "service-group" | "application" | "application-group")
                && !IGNORED_VSYS.contains(&k)
            {
                cx.unknown(c, "device-group");
            }
        }
        let mut rules = Vec::new();
        rules.extend(pre);
        rules.extend(post);
        let mut defaults = shared_defaults.clone();
        read_defaults(dg.child("post-rulebase"), cx, &mut defaults);
        groups.push((format!("device-group {}", dg.name), rules, defaults));
    }
    if groups.is_empty() && (!shared_pre.is_empty() || !shared_post.is_empty()) {
        groups.push(("shared".to_string(), Vec::new(), shared_defaults.clone()));
    }
    for (name, own, defaults) in groups {
        let all: Vec<SecRule> = shared_pre.iter().chain(own.iter()).chain(shared_post.iter()).map(SecRule::copy).collect();
        if all.is_empty() {
            continue;
        }
        // Zones are defined in templates, not in device groups: the pairs are those the rules
        // name.
        let mut zones: BTreeSet<String> = BTreeSet::new();
        for r in &all {
            for sel in [&r.from, &r.to] {
                if let ZoneSel::List(v) = sel {
                    zones.extend(v.iter().cloned());
                }
            }
        }
        if zones.is_empty() {
            zones.insert("any".to_string());
        }
        zone_pairs(&format!("{name} "), &zones, &all, &defaults, cx, &mut fw);
    }

    if !fw.rulesets.is_empty() {
        out.firewall = Some(fw);
    }
    out.interfaces = ifaces
        .into_iter()
        .map(|i| Interface {
            zone: iface_zone.get(&i.name).cloned(),
            external: false,
            prov: cx.prov(i.line),
            name: i.name,
            addresses: i.addrs,
            up: i.up,
        })
        .collect();
    out.routes = routes;
    out
}

struct Gathered<'a> {
    device: &'a mut Node,
    shared: &'a mut Node,
    pushed: &'a mut Node,
    device_groups: &'a mut Vec<Node>,
    templates: &'a mut Vec<Node>,
}

/// Sort the top-level sections (moving them: large rulebases are not copied).
fn gather(n: Node, g: &mut Gathered<'_>, cx: &mut Ctx, top: bool) {
    for c in n.children {
        let key = c.name.clone();
        match key.as_str() {
            "deviceconfig" | "network" | "vsys" | "zone" | "rulebase" | "address" | "address-group" | "service" | "service-group"
            | "application" | "application-group" => merge_into(g.device, Node::wrap(c)),
            "shared" => merge_into(g.shared, c),
            "device-group" => g.device_groups.extend(c.children),
            "template" | "template-stack" => g.templates.push(c),
            "policy" if top => {
                for p in c.children {
                    if p.name == "panorama" {
                        merge_into(g.pushed, p);
                    } else {
                        cx.unknown(&p, "policy");
                    }
                }
            }
            "devices" => {
                for dev in c.children {
                    gather(dev, g, cx, false);
                }
            }
            "config" => gather(c, g, cx, false),
            x if IGNORED_DEVICE.contains(&x) || IGNORED_VSYS.contains(&x) => {}
            _ => cx.unknown(&c, if top { "the top level" } else { "a device" }),
        }
    }
}

/// One ruleset per pair of zones, holding the rules that apply to it in order, then the default
/// rule of the pair (intrazone or interzone). Returns each pair's ruleset index.
fn zone_pairs(
    label: &str,
    zone_names: &BTreeSet<String>,
    rules: &[SecRule],
    defaults: &HashMap<&str, (bool, u32)>,
    cx: &mut Ctx,
    fw: &mut Firewall,
) -> HashMap<(String, String), usize> {
    let mut pair_index: HashMap<(String, String), usize> = HashMap::new();
    // The rules of every pair, in order: each rule is placed only into the pairs it names.
    let zlist: Vec<&String> = zone_names.iter().collect();
    let zpos: HashMap<&str, usize> = zlist.iter().enumerate().map(|(i, z)| (z.as_str(), i)).collect();
    let nz = zlist.len();
    let mut per_pair: Vec<Vec<usize>> = vec![Vec::new(); nz * nz];
    for (ri, r) in rules.iter().enumerate() {
        let side = |sel: &ZoneSel| -> Vec<usize> {
            match sel {
                ZoneSel::Any => (0..nz).collect(),
                ZoneSel::List(v) => {
                    let mut x: Vec<usize> = v.iter().filter_map(|z| zpos.get(z.as_str()).copied()).collect();
                    x.sort_unstable();
                    x.dedup();
                    x
                }
            }
        };
        let froms = side(&r.from);
        let tos = if r.kind == RuleKind::Intrazone { froms.clone() } else { side(&r.to) };
        for &zi in &froms {
            for &yi in &tos {
                let ok = match r.kind {
                    RuleKind::Intrazone => zi == yi,
                    RuleKind::Interzone => zi != yi,
                    RuleKind::Universal => true,
                };
                if ok {
                    per_pair[zi * nz + yi].push(ri);
                }
            }
        }
    }
    let provs: Vec<Provenance> = rules.iter().map(|r| cx.prov(r.line)).collect();
    for (zi, z) in zlist.iter().enumerate() {
        for (yi, y) in zlist.iter().enumerate() {
            let mut rs = Ruleset {
                name: format!("{}from-zone {z} to-zone {y}", label),
                table: "security".into(),
                family: Family::Any,
                default: None,
                default_prov: Provenance::builtin(""),
                rules: vec![],
            };
            for &ri in &per_pair[zi * nz + yi] {
                let r = &rules[ri];
                for v in &r.variants {
                    rs.rules.push(Rule { conds: v.clone(), unknown: r.unknown.clone(), action: r.action.clone(), prov: provs[ri].clone() });
                }
            }
            let (name, builtin_allow) = if z == y { INTRAZONE_DEFAULT } else { INTERZONE_DEFAULT };
            let (allow, prov) = match defaults.get(name) {
                Some((a, line)) => (*a, cx.prov(*line)),
                None => (
                    builtin_allow,
                    Provenance::builtin(format!(
                        "{name}: {} (PAN-OS predefined rule: traffic {} is {})",
                        if builtin_allow { "allow" } else { "deny" },
                        if z == y { "within one zone" } else { "between zones" },
                        if builtin_allow { "allowed" } else { "denied" }
                    )),
                ),
            };
            rs.rules.push(Rule { conds: vec![], unknown: vec![], action: if allow { Action::Accept } else { Action::Drop }, prov });
            pair_index.insert(((*z).clone(), (*y).clone()), fw.rulesets.len());
            fw.rulesets.push(rs);
        }
    }
    pair_index
}

/// Overridden predefined rules (`default-security-rules rules intrazone-default action …`).
fn read_defaults(rb: Option<&Node>, cx: &mut Ctx, into: &mut HashMap<&'static str, (bool, u32)>) {
    let Some(rs) = rb.and_then(|r| r.child("default-security-rules")).and_then(|d| d.child("rules")) else { return };
    for r in &rs.children {
        let key = match r.name.as_str() {
            "intrazone-default" => INTRAZONE_DEFAULT.0,
            "interzone-default" => INTERZONE_DEFAULT.0,
            _ => {
                cx.unknown(r, "default-security-rules");
                continue;
            }
        };
        if let Some(a) = r.get("action") {
            if !matches!(a, "allow" | "deny" | "drop" | "reset-client" | "reset-server" | "reset-both") {
                cx.diag(codes::BAD_VALUE, Severity::Warning, r.line, format!("action {a} is not a security rule action"));
            }
            into.insert(key, (a == "allow", r.child("action").map_or(r.line, |x| x.line)));
        }
    }
}

/// Security rules of a Panorama rulebase (NAT rules are read for their diagnostics).
fn panorama_rules(rb: Option<&Node>, what: &str, cx: &mut Ctx, scopes: &[&Scope], owner: &Node, ifaces: &[Iface]) -> Vec<SecRule> {
    let mut rules = Vec::new();
    let Some(rb) = rb else { return rules };
    for c in &rb.children {
        match c.name.as_str() {
            "security" => {
                if let Some(rs) = c.child("rules") {
                    for r in &rs.children {
                        if let Some(sr) = security_rule(r, cx, scopes, owner) {
                            rules.push(sr);
                        }
                    }
                }
            }
            "nat" => {
                let mut nats = Vec::new();
                if let Some(rs) = c.child("rules") {
                    for r in &rs.children {
                        nat_rule(r, cx, scopes, ifaces, &mut nats);
                    }
                }
            }
            "default-security-rules" => {}
            x if IGNORED_RULEBASE.contains(&x) || UNMODELLED_RULEBASE.contains(&x) => {}
            _ => cx.unknown(c, what),
        }
    }
    rules
}

/// Check the object definitions of a scope for values that do not parse.
fn check_object_section(n: &Node, cx: &mut Ctx, where_: &str) {
    if let Some(a) = n.child("address") {
        for e in &a.children {
            let kinds: Vec<&Node> =
                e.children.iter().filter(|c| matches!(c.name.as_str(), "ip-netmask" | "ip-range" | "fqdn" | "ip-wildcard")).collect();
            for k in &kinds {
                let v = k.value().unwrap_or("");
                let ok = match k.name.as_str() {
                    "ip-netmask" => v.parse::<IpNet>().is_ok() || v.parse::<IpAddr>().is_ok(),
                    "ip-range" => objects::literal(v).is_some(),
                    _ => true,
                };
                if !ok {
                    cx.diag(codes::BAD_VALUE, Severity::Warning, k.line, format!("address {}: {} {v:?} is not valid", e.name, k.name));
                }
            }
            for c in &e.children {
                if !matches!(c.name.as_str(), "ip-netmask" | "ip-range" | "fqdn" | "ip-wildcard" | "description" | "tag") {
                    cx.unknown(c, &format!("address {}", e.name));
                }
            }
        }
    }
    if let Some(s) = n.child("service") {
        for e in &s.children {
            let mut set = SvcSet::default();
            let scope = {
                let mut sc = Scope::default();
                sc.services.insert(e.name.as_str(), e);
                sc
            };
            objects::resolve_services(&[e.name.as_str()], &[&scope], &mut set);
            for b in &set.bad {
                cx.diag(codes::BAD_VALUE, Severity::Warning, e.line, format!("{b} (in {where_})"));
            }
            for c in &e.children {
                if !matches!(c.name.as_str(), "protocol" | "description" | "tag") {
                    cx.unknown(c, &format!("service {}", e.name));
                }
            }
            if let Some(p) = e.child("protocol") {
                for pc in &p.children {
                    for f in &pc.children {
                        if !matches!(f.name.as_str(), "port" | "source-port" | "override") {
                            cx.unknown(f, "service protocol");
                        }
                    }
                }
            }
        }
    }
}

fn interfaces(n: &Node, cx: &mut Ctx, scopes: &[&Scope], out: &mut Vec<Iface>) {
    for kind in &n.children {
        match kind.name.as_str() {
            "ethernet" | "aggregate-ethernet" => {
                for e in &kind.children {
                    let down = e.get("link-state") == Some("down");
                    for c in &e.children {
                        if !IGNORED_IFACE.contains(&c.name.as_str()) {
                            cx.unknown(c, &format!("interface {}", e.name));
                        }
                    }
                    if let Some(l3) = e.child("layer3") {
                        let units = l3.child("units").is_some_and(|u| !u.children.is_empty());
                        if !units || l3.child("ip").is_some() || l3.child("ipv6").is_some() {
                            l3_iface(&e.name, l3, !down, cx, scopes, out);
                        } else {
                            check_iface_fields(&e.name, l3, cx);
                        }
                        if let Some(u) = l3.child("units") {
                            for unit in &u.children {
                                l3_iface(&unit.name, unit, !down, cx, scopes, out);
                            }
                        }
                    }
                }
            }
            "loopback" | "tunnel" | "vlan" => {
                if kind.child("ip").is_some() || kind.child("ipv6").is_some() {
                    l3_iface(&kind.name, kind, true, cx, scopes, out);
                } else {
                    check_iface_fields(&kind.name, kind, cx);
                }
                if let Some(u) = kind.child("units") {
                    for unit in &u.children {
                        l3_iface(&unit.name, unit, true, cx, scopes, out);
                    }
                }
            }
            _ => cx.unknown(kind, "network interface"),
        }
    }
}

fn l3_iface(name: &str, n: &Node, up: bool, cx: &mut Ctx, scopes: &[&Scope], out: &mut Vec<Iface>) {
    let mut addrs = Vec::new();
    if let Some(ip) = n.child("ip") {
        for (s, l) in ip.items() {
            match objects::iface_net(s) {
                Some(a) => addrs.push(a),
                None => {
                    let mut set = AddrSet::default();
                    objects::resolve_addrs(&[s], scopes, &mut set);
                    let net = scopes.iter().find_map(|sc| sc.addrs.get(s)).and_then(|o| o.get("ip-netmask")).and_then(objects::iface_net);
                    match net {
                        Some(a) => addrs.push(a),
                        None => cx.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, l, format!("interface {name}: address {s} is neither an address nor an ip-netmask object")),
                    }
                }
            }
        }
    }
    if let Some(v6) = n.child("ipv6").and_then(|v| v.child("address")) {
        for (s, l) in v6.items() {
            match objects::iface_net(s) {
                Some(a) => addrs.push(a),
                None => cx.diag(codes::BAD_VALUE, Severity::Warning, l, format!("interface {name}: IPv6 address {s} is not valid")),
            }
        }
    }
    if n.has("dhcp-client") {
        cx.diag(codes::UNMODELLED_MATCH, Severity::Info, n.line, format!("interface {name} takes its address by DHCP: not known"));
    }
    let mgmt_profile = n.child("interface-management-profile").and_then(|p| p.value().map(|v| (v.to_string(), p.line)));
    check_iface_fields(name, n, cx);
    let line = if n.line > 0 { n.line } else { 0 };
    out.push(Iface { name: name.to_string(), addrs, up, line, mgmt_profile });
}

fn check_iface_fields(name: &str, n: &Node, cx: &mut Ctx) {
    for c in &n.children {
        if !IGNORED_IFACE.contains(&c.name.as_str()) {
            cx.unknown(c, &format!("interface {name}"));
        }
    }
}

fn virtual_router(vr: &Node, cx: &mut Ctx, scopes: &[&Scope], routes: &mut Vec<Route>, other: &mut Vec<String>) {
    for c in &vr.children {
        match c.name.as_str() {
            "routing-table" => {
                for fam in &c.children {
                    let v6 = match fam.name.as_str() {
                        "ip" => false,
                        "ipv6" => true,
                        _ => {
                            cx.unknown(fam, "routing-table");
                            continue;
                        }
                    };
                    let Some(sr) = fam.child("static-route") else { continue };
                    for r in &sr.children {
                        static_route(&vr.name, r, v6, cx, scopes, routes);
                    }
                }
            }
            "protocol" => {
                for p in &c.children {
                    let enabled = p.get("enable") == Some("yes");
                    if enabled && matches!(p.name.as_str(), "bgp" | "ospf" | "ospfv3" | "rip") {
                        other.push(format!("{} in virtual router {}", p.name, vr.name));
                        cx.diag(codes::UNMODELLED_MATCH, Severity::Info, p.line, format!("{} routes are learnt at run time: not modelled", p.name));
                    }
                }
            }
            "interface" | "ecmp" | "admin-dists" | "multicast" | "redist-profile" | "redist-profile-ipv6" => {}
            _ => cx.unknown(c, &format!("virtual-router {}", vr.name)),
        }
    }
}

fn static_route(table: &str, r: &Node, v6: bool, cx: &mut Ctx, scopes: &[&Scope], routes: &mut Vec<Route>) {
    let Some(dst_s) = r.get("destination") else {
        cx.diag(codes::STRUCTURE, Severity::Warning, r.line, format!("static route {} has no destination", r.name));
        return;
    };
    let dst = match dst_s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => {
            cx.diag(codes::BAD_VALUE, Severity::Warning, r.child("destination").map_or(r.line, |x| x.line), format!("destination {dst_s} is not a prefix"));
            return;
        }
    };
    if dst.addr().is_ipv6() != v6 {
        cx.diag(codes::BAD_VALUE, Severity::Warning, r.line, format!("destination {dst_s} is not of the routing table's family"));
    }
    let ad = match r.get("admin-dist").map(|v| v.parse::<u32>()) {
        Some(Ok(v)) => v,
        Some(Err(_)) => {
            cx.diag(codes::BAD_VALUE, Severity::Warning, r.line, "admin-dist is not a number");
            STATIC_ADMIN_DIST
        }
        None => STATIC_ADMIN_DIST,
    };
    let metric = match r.get("metric").map(|v| v.parse::<u32>()) {
        Some(Ok(v)) => v.min(65535),
        Some(Err(_)) => {
            cx.diag(codes::BAD_VALUE, Severity::Warning, r.line, "metric is not a number");
            STATIC_METRIC
        }
        None => STATIC_METRIC,
    };
    let dev = r.get("interface").map(|s| s.to_string());
    let mut via = None;
    let mut kind = RouteKind::Unicast;
    if let Some(nh) = r.child("nexthop") {
        if let Some(a) = nh.get("ip-address").or_else(|| nh.get("ipv6-address")) {
            // An address, or an address object holding one address (`ip-netmask` of a host).
            let obj = scopes.iter().find_map(|sc| sc.addrs.get(a)).and_then(|o| o.get("ip-netmask")).and_then(objects::iface_net);
            match (a.parse::<IpAddr>(), obj) {
                (Ok(x), _) => via = Some(x),
                (Err(_), Some(n)) if n.prefix_len() == n.max_prefix_len() => via = Some(n.addr()),
                _ => {
                    cx.diag(codes::BAD_VALUE, Severity::Warning, nh.line, format!("next hop {a} is neither an address nor an address object of one address"));
                    kind = RouteKind::Other;
                }
            }
        } else if nh.has("discard") {
            kind = RouteKind::Blackhole;
        } else if let Some(vr) = nh.get("next-vr") {
            cx.diag(codes::UNMODELLED_MATCH, Severity::Warning, nh.line, format!("next hop is virtual router {vr}: not modelled"));
            kind = RouteKind::Other;
        } else if nh.has("fqdn") {
            cx.diag(codes::UNMODELLED_MATCH, Severity::Warning, nh.line, "next hop by name: not modelled");
            kind = RouteKind::Other;
        } else if !nh.items().is_empty() {
            cx.unknown(nh, "nexthop");
            kind = RouteKind::Other;
        }
    }
    for c in &r.children {
        if !matches!(c.name.as_str(), "destination" | "nexthop" | "interface" | "metric" | "admin-dist" | "route-table" | "bfd" | "path-monitor") {
            cx.unknown(c, "static-route");
        }
    }
    routes.push(Route { dst, via, dev, kind, metric: ad.saturating_mul(65536).saturating_add(metric), src: None, table: table.to_string(), prov: cx.prov(r.line) });
}

fn zone_sel(n: &Node, key: &str) -> ZoneSel {
    match n.child(key) {
        None => ZoneSel::Any,
        Some(c) => {
            let v: Vec<String> = c.items().into_iter().map(|(s, _)| s.to_string()).collect();
            if v.is_empty() || v.iter().any(|s| s == "any") {
                ZoneSel::Any
            } else {
                ZoneSel::List(v)
            }
        }
    }
}

/// Addresses of a rule field; `None` for any.
fn addr_field(n: &Node, key: &str, cx: &mut Ctx, scopes: &[&Scope], unknown: &mut Vec<String>) -> Option<Vec<AddrRange>> {
    let c = n.child(key)?;
    let items = c.items();
    if items.is_empty() || items.iter().any(|(s, _)| *s == "any") {
        return None;
    }
    let names: Vec<&str> = items.iter().map(|(s, _)| *s).collect();
    let mut set = AddrSet::default();
    objects::resolve_addrs(&names, scopes, &mut set);
    for u in set.undefined {
        cx.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, c.line, format!("{key} {u} is not a defined address, group or literal address"));
        unknown.push(format!("{key} {u} (undefined)"));
    }
    for s in set.structure {
        cx.diag(codes::STRUCTURE, Severity::Warning, c.line, s.clone());
        unknown.push(s);
    }
    for u in set.unknown {
        unknown.push(format!("{key}: {u}"));
    }
    Some(set.ranges)
}

fn svc_conds(s: &Svc) -> Vec<Cond> {
    let mut c = vec![Cond::is(Test::Proto(vec![s.proto]))];
    if !s.dports.is_empty() {
        c.push(Cond::is(Test::Dport(s.dports.clone())));
    }
    if !s.sports.is_empty() {
        c.push(Cond::is(Test::Sport(s.sports.clone())));
    }
    if let Some(t) = s.icmp_type {
        c.push(Cond::is(Test::Icmp { ty: Some(t), code: None }));
    }
    c
}

/// Services of a rule: `None` for any (or application-default with application any).
fn service_field(n: &Node, cx: &mut Ctx, scopes: &[&Scope], apps: &[String], vs: &Node, unknown: &mut Vec<String>) -> Option<Vec<Svc>> {
    let c = n.child("service")?;
    let items = c.items();
    if items.is_empty() || items.iter().any(|(s, _)| *s == "any") {
        return None;
    }
    if items.iter().any(|(s, _)| *s == "application-default") {
        if apps.is_empty() {
            return None;
        }
        // The default ports of custom applications are in the configuration; those of
        // predefined applications are not known offline.
        let mut v = Vec::new();
        for a in apps {
            let def = scopes.iter().find_map(|s| s.apps.get(a.as_str())).and_then(|x| objects::app_defaults(x));
            match def {
                Some(d) => v.extend(d),
                None => {
                    unknown.push(format!("service application-default: the default ports of application {a} are not known offline"));
                    return None;
                }
            }
        }
        let _ = vs;
        return Some(v);
    }
    let names: Vec<&str> = items.iter().map(|(s, _)| *s).collect();
    let mut set = SvcSet::default();
    objects::resolve_services(&names, scopes, &mut set);
    for u in set.undefined {
        cx.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, c.line, format!("service {u} is not defined"));
        unknown.push(format!("service {u} (undefined)"));
    }
    for b in set.bad {
        unknown.push(b);
    }
    Some(set.svcs)
}

fn security_rule(r: &Node, cx: &mut Ctx, scopes: &[&Scope], vs: &Node) -> Option<SecRule> {
    if yes(r, "disabled") {
        return None;
    }
    for c in &r.children {
        let k = c.name.as_str();
        if !IGNORED_RULE_FIELDS.contains(&k)
            && !matches!(k, "source-user" | "category" | "hip-profiles" | "source-hip" | "destination-hip" | "schedule" | "source-imei" | "source-imsi" | "source-nw-slice")
        {
            cx.unknown(c, &format!("security rule {}", r.name));
        }
    }
    let mut unknown = Vec::new();
    for key in ["source-user", "category", "hip-profiles", "source-hip", "destination-hip", "source-imei", "source-imsi", "source-nw-slice"] {
        if let Some(c) = r.child(key) {
            let items = c.items();
            if !items.is_empty() && !items.iter().all(|(s, _)| *s == "any") {
                let list: Vec<&str> = items.iter().map(|(s, _)| *s).collect();
                cx.diag(codes::UNMODELLED_MATCH, Severity::Info, c.line, format!("{key} is not modelled: the rule possibly matches"));
                unknown.push(format!("{key} {}", list.join(" ")));
            }
        }
    }
    if let Some(s) = r.get("schedule") {
        unknown.push(format!("schedule {s}"));
    }
    let src = addr_field(r, "source", cx, scopes, &mut unknown);
    let dst = addr_field(r, "destination", cx, scopes, &mut unknown);
    let apps: Vec<String> = match r.child("application") {
        Some(a) => {
            let v: Vec<String> = a.items().into_iter().map(|(s, _)| s.to_string()).collect();
            if v.iter().any(|s| s == "any") {
                vec![]
            } else {
                v
            }
        }
        None => vec![],
    };
    if !apps.is_empty() {
        unknown.push(format!("application {} (only traffic identified as it matches)", apps.join(" ")));
    }
    let svcs = service_field(r, cx, scopes, &apps, vs, &mut unknown);
    let action = match r.get("action") {
        Some("allow") => Action::Accept,
        Some("deny") | Some("drop") => Action::Drop,
        Some("reset-client") | Some("reset-server") | Some("reset-both") => Action::Reject("tcp-reset".into()),
        Some(a) => {
            cx.diag(codes::UNMODELLED_TARGET, Severity::Warning, r.child("action").map_or(r.line, |x| x.line), format!("action {a} is not a security rule action"));
            Action::Unknown(a.to_string())
        }
        None => {
            cx.diag(codes::STRUCTURE, Severity::Warning, r.line, format!("security rule {} has no action", r.name));
            Action::Unknown("none".into())
        }
    };
    let kind = match r.get("rule-type") {
        None | Some("universal") => RuleKind::Universal,
        Some("intrazone") => RuleKind::Intrazone,
        Some("interzone") => RuleKind::Interzone,
        Some(x) => {
            cx.diag(codes::BAD_VALUE, Severity::Warning, r.line, format!("rule-type {x} is none of universal, intrazone, interzone"));
            unknown.push(format!("rule-type {x}"));
            RuleKind::Universal
        }
    };
    let mut base = Vec::new();
    if let Some(s) = src {
        base.push(if yes(r, "negate-source") { Cond::not(Test::Src(s)) } else { Cond::is(Test::Src(s)) });
    }
    if let Some(d) = dst {
        base.push(if yes(r, "negate-destination") { Cond::not(Test::Dst(d)) } else { Cond::is(Test::Dst(d)) });
    }
    let variants = match svcs {
        None => vec![base],
        Some(v) if v.is_empty() => {
            // Nothing the service list names could be resolved: the rule matches nothing known.
            unknown.push("service list without any resolvable service".into());
            vec![base]
        }
        Some(v) => v
            .iter()
            .map(|s| {
                let mut c = base.clone();
                c.extend(svc_conds(s));
                c
            })
            .collect(),
    };
    Some(SecRule { from: zone_sel(r, "from"), to: zone_sel(r, "to"), kind, variants, unknown, action, line: r.line })
}

/// One address of a translation (`translated-address` object or literal): its first range.
fn nat_addr(items: &[(&str, u32)], cx: &mut Ctx, scopes: &[&Scope], what: &str, unknown: &mut Vec<String>) -> Option<AddrRange> {
    let names: Vec<&str> = items.iter().map(|(s, _)| *s).collect();
    let mut set = AddrSet::default();
    objects::resolve_addrs(&names, scopes, &mut set);
    let line = items.first().map_or(0, |(_, l)| *l);
    for u in &set.undefined {
        cx.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, line, format!("{what} {u} is not defined"));
        unknown.push(format!("{what} {u} (undefined)"));
    }
    for u in set.unknown {
        unknown.push(format!("{what}: {u}"));
    }
    if set.ranges.len() > 1 {
        unknown.push(format!("{what}: several addresses; the first is used"));
    }
    set.ranges.first().copied()
}

fn nat_rule(r: &Node, cx: &mut Ctx, scopes: &[&Scope], ifaces: &[Iface], out: &mut Vec<NatRule>) {
    if yes(r, "disabled") {
        return;
    }
    let mut unknown = Vec::new();
    for c in &r.children {
        if !matches!(
            c.name.as_str(),
            "from" | "to" | "to-interface" | "source" | "destination" | "service" | "source-translation" | "destination-translation"
                | "dynamic-destination-translation" | "disabled" | "description" | "tag" | "nat-type" | "active-active-device-binding"
                | "target" | "group-tag" | "uuid" | "audit-comment"
        ) {
            cx.unknown(c, &format!("NAT rule {}", r.name));
        }
    }
    if let Some(t) = r.get("nat-type") {
        if t != "ipv4" {
            cx.diag(codes::UNMODELLED_MATCH, Severity::Warning, r.line, format!("nat-type {t} is not modelled"));
            unknown.push(format!("nat-type {t}"));
        }
    }
    let src = addr_field(r, "source", cx, scopes, &mut unknown);
    let dst = addr_field(r, "destination", cx, scopes, &mut unknown);
    let svcs = match r.child("service") {
        None => None,
        Some(c) => {
            let items = c.items();
            if items.is_empty() || items.iter().any(|(s, _)| *s == "any") {
                None
            } else {
                let names: Vec<&str> = items.iter().map(|(s, _)| *s).collect();
                let mut set = SvcSet::default();
                objects::resolve_services(&names, scopes, &mut set);
                for u in set.undefined {
                    cx.diag(codes::UNDEFINED_REFERENCE, Severity::Warning, c.line, format!("service {u} is not defined"));
                    unknown.push(format!("service {u} (undefined)"));
                }
                Some(set.svcs)
            }
        }
    };
    let mut base = Vec::new();
    if let Some(s) = &src {
        base.push(Cond::is(Test::Src(s.clone())));
    }
    if let Some(d) = &dst {
        base.push(Cond::is(Test::Dst(d.clone())));
    }
    let variants: Vec<Vec<Cond>> = match &svcs {
        Some(v) if !v.is_empty() => v
            .iter()
            .map(|s| {
                let mut c = base.clone();
                c.extend(svc_conds(s));
                c
            })
            .collect(),
        _ => vec![base.clone()],
    };
    // Source translation.
    let mut snat = None;
    let mut bidirectional: Option<(AddrRange, u32)> = None;
    if let Some(st) = r.child("source-translation") {
        for kind in &st.children {
            match kind.name.as_str() {
                "dynamic-ip-and-port" | "dynamic-ip" => {
                    if let Some(ia) = kind.child("interface-address") {
                        let iname = ia.get("interface");
                        let ip = ia.child("ip").map(|x| x.items()).unwrap_or_default();
                        let addr = if !ip.is_empty() {
                            ip.first().and_then(|(s, _)| objects::iface_net(s).map(|n| n.addr()).or_else(|| {
                                let mut set = AddrSet::default();
                                objects::resolve_addrs(&[s], scopes, &mut set);
                                set.ranges.first().map(|r| r.lo)
                            }))
                        } else {
                            iname.and_then(|n| ifaces.iter().find(|i| i.name == n)).and_then(|i| i.addrs.iter().find(|a| a.addr().is_ipv4()).map(|a| a.addr()))
                        };
                        snat = Some(match addr {
                            Some(a) => Action::Snat(NatTarget { addr: Some(AddrRange::single(a)), ports: None }),
                            None => Action::Masquerade(None),
                        });
                    } else if let Some(ta) = kind.child("translated-address") {
                        let items = ta.items();
                        snat = nat_addr(&items, cx, scopes, "translated-address", &mut unknown).map(|a| Action::Snat(NatTarget { addr: Some(a), ports: None }));
                    } else {
                        cx.unknown(kind, "source-translation");
                    }
                }
                "static-ip" => {
                    let items = kind.child("translated-address").map(|x| x.items()).unwrap_or_default();
                    if let Some(a) = nat_addr(&items, cx, scopes, "translated-address", &mut unknown) {
                        snat = Some(Action::Snat(NatTarget { addr: Some(a), ports: None }));
                        if yes(kind, "bidirectional") {
                            bidirectional = Some((a, kind.line));
                        }
                    }
                }
                _ => cx.unknown(kind, "source-translation"),
            }
        }
        if snat.is_none() && !st.children.is_empty() {
            unknown.push("source translation not understood".into());
        }
    }
    // Destination translation.
    let mut dnat = None;
    for key in ["destination-translation", "dynamic-destination-translation"] {
        if let Some(dt) = r.child(key) {
            let items = dt.child("translated-address").map(|x| x.items()).unwrap_or_default();
            let addr = if items.is_empty() { None } else { nat_addr(&items, cx, scopes, "translated-address", &mut unknown) };
            let port = match dt.get("translated-port").map(|p| p.parse::<u16>()) {
                Some(Ok(p)) => Some((p, p)),
                Some(Err(_)) => {
                    cx.diag(codes::BAD_VALUE, Severity::Warning, dt.line, "translated-port is not a port number");
                    None
                }
                None => None,
            };
            if key == "dynamic-destination-translation" {
                unknown.push("dynamic destination translation distributes sessions among addresses".into());
            }
            for c in &dt.children {
                if !matches!(c.name.as_str(), "translated-address" | "translated-port" | "dns-rewrite" | "distribution") {
                    cx.unknown(c, key);
                }
            }
            if addr.is_some() || port.is_some() {
                dnat = Some(NatTarget { addr, ports: port });
            }
        }
    }
    let name = r.name.clone();
    out.push(NatRule {
        name: name.clone(),
        from: zone_sel(r, "from"),
        to: zone_sel(r, "to"),
        to_iface: r.get("to-interface").filter(|s| *s != "any").map(|s| s.to_string()),
        variants: variants.clone(),
        unknown: unknown.clone(),
        snat,
        dnat,
        line: r.line,
    });
    // The reverse translation of a bidirectional static rule: the translated address is
    // translated back to the original source, from any zone.
    if let Some((pub_addr, line)) = bidirectional {
        let orig = src.as_ref().and_then(|s| if s.len() == 1 { s.first().copied() } else { None });
        let mut unk = Vec::new();
        if orig.is_none() {
            unk.push("bidirectional translation of a source that is not one address or range".into());
        }
        out.push(NatRule {
            name: format!("{name} (bidirectional)"),
            from: ZoneSel::Any,
            to: ZoneSel::Any,
            to_iface: None,
            variants: vec![vec![Cond::is(Test::Dst(vec![pub_addr]))]],
            unknown: unk,
            snat: None,
            dnat: orig.map(|o| NatTarget { addr: Some(o), ports: None }),
            line,
        });
    }
}
