//! Address and service objects, groups, applications: name resolution in scope order.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::tree::Node;
use crate::model::AddrRange;
use crate::space::proto;

/// Deepest group nesting followed.
pub const MAX_GROUP_DEPTH: usize = 16;

/// A predefined service: name, protocol, destination port ranges.
pub type Predefined = (&'static str, u8, &'static [(u16, u16)]);

/// Predefined services (PAN-OS "Objects > Services": `service-http` is TCP 80 and 8080,
/// `service-https` is TCP 443; they exist on every firewall and Panorama without being
/// configured, and a configured object of the same name overrides them).
pub const PREDEFINED_SERVICES: &[Predefined] =
    &[("service-http", proto::TCP, &[(80, 80), (8080, 8080)]), ("service-https", proto::TCP, &[(443, 443)])];

/// Objects defined in one place (a vsys, `shared`, a device group, the Panorama-pushed policy).
#[derive(Default)]
pub struct Scope<'a> {
    /// Address objects.
    pub addrs: HashMap<&'a str, &'a Node>,
    /// Address groups.
    pub addr_groups: HashMap<&'a str, &'a Node>,
    /// Service objects.
    pub services: HashMap<&'a str, &'a Node>,
    /// Service groups.
    pub svc_groups: HashMap<&'a str, &'a Node>,
    /// Custom applications.
    pub apps: HashMap<&'a str, &'a Node>,
    /// Application groups.
    pub app_groups: HashMap<&'a str, &'a Node>,
}

impl<'a> Scope<'a> {
    /// Collect the objects defined directly under `n`.
    pub fn add(&mut self, n: &'a Node) {
        let put = |key: &str, map: &mut HashMap<&'a str, &'a Node>| {
            if let Some(c) = n.child(key) {
                for e in &c.children {
                    map.insert(e.name.as_str(), e);
                }
            }
        };
        put("address", &mut self.addrs);
        put("address-group", &mut self.addr_groups);
        put("service", &mut self.services);
        put("service-group", &mut self.svc_groups);
        put("application", &mut self.apps);
        put("application-group", &mut self.app_groups);
    }
}

/// Addresses a name stands for.
#[derive(Clone, Debug, Default)]
pub struct AddrSet {
    /// Ranges.
    pub ranges: Vec<AddrRange>,
    /// What could not be modelled (FQDN objects, dynamic groups, regions, lists).
    pub unknown: Vec<String>,
    /// Names that are defined nowhere.
    pub undefined: Vec<String>,
    /// Group cycles or nesting too deep.
    pub structure: Vec<String>,
}

/// Parse a literal address, prefix or range (`10.0.0.1`, `10.0.0.0/8`, `10.0.0.1-10.0.0.9`).
pub fn literal(s: &str) -> Option<AddrRange> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(AddrRange::from_net(n));
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(AddrRange::single(a));
    }
    let (lo, hi) = s.split_once('-')?;
    let lo: IpAddr = lo.trim().parse().ok()?;
    let hi: IpAddr = hi.trim().parse().ok()?;
    if lo.is_ipv4() != hi.is_ipv4() || crate::space::addr_to_u128(lo) > crate::space::addr_to_u128(hi) {
        return None;
    }
    Some(AddrRange { lo, hi })
}

/// An interface address: `10.0.0.1/24` (host bits kept); a bare address is a /32 or /128.
pub fn iface_net(s: &str) -> Option<IpNet> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n);
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Resolve address names in scope order (first scope wins).
pub fn resolve_addrs(names: &[&str], scopes: &[&Scope], out: &mut AddrSet) {
    for n in names {
        resolve_addr(n, scopes, 0, &mut Vec::new(), out);
    }
}

fn resolve_addr(name: &str, scopes: &[&Scope], depth: usize, stack: &mut Vec<String>, out: &mut AddrSet) {
    if depth > MAX_GROUP_DEPTH {
        out.structure.push(format!("address group nesting deeper than {MAX_GROUP_DEPTH} at {name}"));
        return;
    }
    for s in scopes {
        if let Some(o) = s.addrs.get(name) {
            address_object(name, o, out);
            return;
        }
        if let Some(g) = s.addr_groups.get(name) {
            if stack.iter().any(|x| x == name) {
                out.structure.push(format!("address group {name} contains itself"));
                return;
            }
            if let Some(st) = g.child("static") {
                stack.push(name.to_string());
                for (m, _) in st.items() {
                    resolve_addr(m, scopes, depth + 1, stack, out);
                }
                stack.pop();
            } else if g.child("dynamic").is_some() {
                out.unknown.push(format!("dynamic address group {name} (members depend on tags registered at run time)"));
            } else {
                out.unknown.push(format!("address group {name} without static members"));
            }
            return;
        }
    }
    match literal(name) {
        Some(r) => out.ranges.push(r),
        None => out.undefined.push(name.to_string()),
    }
}

fn address_object(name: &str, o: &Node, out: &mut AddrSet) {
    if let Some(v) = o.get("ip-netmask") {
        match v.parse::<IpNet>().map(AddrRange::from_net).ok().or_else(|| v.parse::<IpAddr>().ok().map(AddrRange::single)) {
            Some(r) => out.ranges.push(r),
            None => out.unknown.push(format!("address {name}: ip-netmask {v} is not an address")),
        }
    } else if let Some(v) = o.get("ip-range") {
        match literal(v) {
            Some(r) => out.ranges.push(r),
            None => out.unknown.push(format!("address {name}: ip-range {v} is not a range")),
        }
    } else if let Some(v) = o.get("fqdn") {
        out.unknown.push(format!("address {name} is the name {v}, resolved by DNS at run time"));
    } else if let Some(v) = o.get("ip-wildcard") {
        out.unknown.push(format!("address {name} is the wildcard mask {v}"));
    } else {
        out.unknown.push(format!("address {name} has no value"));
    }
}

/// One protocol with ports a service stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Svc {
    /// Protocol number.
    pub proto: u8,
    /// Destination ports (empty: any).
    pub dports: Vec<(u16, u16)>,
    /// Source ports (empty: any).
    pub sports: Vec<(u16, u16)>,
    /// ICMP type (custom applications identified by ICMP type).
    pub icmp_type: Option<u8>,
}

/// What a rule's service list stands for.
#[derive(Clone, Debug, Default)]
pub struct SvcSet {
    /// Variants (they OR).
    pub svcs: Vec<Svc>,
    /// Undefined names.
    pub undefined: Vec<String>,
    /// Bad values (with the object name).
    pub bad: Vec<String>,
}

/// Parse a PAN-OS port list: `80,443,1000-2000`.
pub fn ports(s: &str) -> Option<Vec<(u16, u16)>> {
    let mut v = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?),
            None => {
                let p = part.parse::<u16>().ok()?;
                (p, p)
            }
        };
        if lo > hi {
            return None;
        }
        v.push((lo, hi));
    }
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}

/// Resolve service names (not `any` / `application-default`, which the caller handles).
pub fn resolve_services(names: &[&str], scopes: &[&Scope], out: &mut SvcSet) {
    for n in names {
        resolve_service(n, scopes, 0, &mut Vec::new(), out);
    }
}

fn resolve_service(name: &str, scopes: &[&Scope], depth: usize, stack: &mut Vec<String>, out: &mut SvcSet) {
    if depth > MAX_GROUP_DEPTH {
        out.bad.push(format!("service group nesting deeper than {MAX_GROUP_DEPTH} at {name}"));
        return;
    }
    for s in scopes {
        if let Some(o) = s.services.get(name) {
            service_object(name, o, out);
            return;
        }
        if let Some(g) = s.svc_groups.get(name) {
            if stack.iter().any(|x| x == name) {
                out.bad.push(format!("service group {name} contains itself"));
                return;
            }
            stack.push(name.to_string());
            let members = g.child("members").map(|m| m.items()).unwrap_or_default();
            for (m, _) in members {
                resolve_service(m, scopes, depth + 1, stack, out);
            }
            stack.pop();
            return;
        }
    }
    if let Some((_, p, dp)) = PREDEFINED_SERVICES.iter().find(|(n, _, _)| *n == name) {
        out.svcs.push(Svc { proto: *p, dports: dp.to_vec(), sports: vec![], icmp_type: None });
        return;
    }
    out.undefined.push(name.to_string());
}

fn service_object(name: &str, o: &Node, out: &mut SvcSet) {
    let Some(p) = o.child("protocol") else {
        out.bad.push(format!("service {name} has no protocol"));
        return;
    };
    let mut found = false;
    for (pname, num) in [("tcp", proto::TCP), ("udp", proto::UDP), ("sctp", proto::SCTP)] {
        if let Some(pn) = p.child(pname) {
            found = true;
            let dports = match pn.get("port") {
                Some(v) => match ports(v) {
                    Some(x) => x,
                    None => {
                        out.bad.push(format!("service {name}: port {v:?} is not a port list"));
                        continue;
                    }
                },
                None => vec![],
            };
            let sports = match pn.get("source-port") {
                Some(v) => match ports(v) {
                    Some(x) => x,
                    None => {
                        out.bad.push(format!("service {name}: source-port {v:?} is not a port list"));
                        continue;
                    }
                },
                None => vec![],
            };
            out.svcs.push(Svc { proto: num, dports, sports, icmp_type: None });
        }
    }
    if !found {
        out.bad.push(format!("service {name}: protocol is none of tcp, udp, sctp"));
    }
}

/// What a custom application's defaults say (`default port [tcp/80]`, `ident-by-icmp-type`,
/// `ident-by-ip-protocol`), when it is defined in the configuration.
pub fn app_defaults(app: &Node) -> Option<Vec<Svc>> {
    let d = app.child("default")?;
    let mut v = Vec::new();
    if let Some(p) = d.child("port") {
        for (item, _) in p.items() {
            let (pr, list) = item.split_once('/')?;
            let num = match pr {
                "tcp" => proto::TCP,
                "udp" => proto::UDP,
                _ => return None,
            };
            let dports = if list == "dynamic" || list == "any" { vec![] } else { ports(list)? };
            v.push(Svc { proto: num, dports, sports: vec![], icmp_type: None });
        }
    }
    if let Some(i) = d.child("ident-by-icmp-type") {
        let ty = i.get("type")?.parse::<u8>().ok()?;
        v.push(Svc { proto: proto::ICMP, dports: vec![], sports: vec![], icmp_type: Some(ty) });
    }
    if let Some(i) = d.child("ident-by-icmp6-type") {
        let ty = i.get("type")?.parse::<u8>().ok()?;
        v.push(Svc { proto: proto::ICMPV6, dports: vec![], sports: vec![], icmp_type: Some(ty) });
    }
    if let Some(i) = d.child("ident-by-ip-protocol") {
        let p = i.value().or_else(|| i.children.first().map(|c| c.name.as_str()))?.parse::<u8>().ok()?;
        v.push(Svc { proto: p, dports: vec![], sports: vec![], icmp_type: None });
    }
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}
