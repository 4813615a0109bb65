//! Exposure: every service of the estate reachable from each threat origin, with certainty,
//! what scans saw there, and one explained path.
//!
//! An origin is a set of source addresses entering the network where such addresses enter:
//! `internet` is every address outside the estate's internal space (interface subnets, routed
//! prefixes, scanned hosts) and outside the ranges never routed on the Internet; named origins
//! (a vendor's access network, a phished employee's subnet) come from the manifest or the
//! command line. The destinations are the whole internal space, split so that every device
//! address and every scanned host stands alone, and the answer is exact over all packets
//! (see [`super`]).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::model::{Host, PortState};
use crate::report::{Certainty, Exposure, ExposureReport, OriginReport, Verdict};
use crate::space::{self, Ranges};

use super::describe::{self, Class};
use super::{Analyzer, Endpoint};

/// Most packet classes one origin's exposure may split into before it is refused as too broad.
pub const MAX_CLASSES_EXPOSURE: u128 = 2_000_000;

/// A threat origin.
#[derive(Clone, Debug)]
pub struct Origin {
    /// Name (`internet`, `vendor`, or the endpoint as given).
    pub name: String,
    /// Role that shares responsibility for what this origin reaches (`vendor`, `employees`).
    pub role: Option<String>,
    /// Source addresses, as an endpoint string the analyzer resolves (`internet`, a CIDR).
    pub endpoint: String,
}

impl Origin {
    /// The `internet` origin.
    pub fn internet() -> Origin {
        Origin { name: "internet".into(), role: None, endpoint: "internet".into() }
    }
}


/// Every scanned host, merged by address.
pub fn scanned_hosts(an: &Analyzer) -> Vec<(String, Host)> {
    let mut out: Vec<(String, Host)> = Vec::new();
    for f in &an.ws.files {
        for h in &f.parsed.content.hosts {
            out.push((f.path.clone(), h.clone()));
        }
    }
    out
}

fn port_list(r: &Ranges) -> String {
    let parts: Vec<String> =
        r.as_slice().iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    if parts.as_slice() == ["0-65535"] {
        "any".into()
    } else {
        parts.join(",")
    }
}

fn state_word(s: PortState) -> &'static str {
    match s {
        PortState::Open => "open",
        PortState::Closed => "closed",
        PortState::Filtered => "filtered",
        PortState::Unfiltered => "unfiltered",
        PortState::OpenFiltered => "open|filtered",
        PortState::ClosedFiltered => "closed|filtered",
    }
}

impl Analyzer<'_> {
    /// The origins to analyse when none are given: `internet` and every origin the manifest
    /// declares.
    pub fn default_origins(&self) -> Vec<Origin> {
        let mut v = vec![Origin::internet()];
        if let Some(m) = &self.ws.manifest {
            for o in &m.origins {
                if o.name != "internet" {
                    v.push(Origin { name: o.name.clone(), role: o.role.map(|r| r.as_str().to_string()), endpoint: o.name.clone() });
                }
            }
        }
        v
    }

    /// The origin an endpoint names, with the role the manifest gives it.
    pub fn origin_named(&self, s: &str) -> Origin {
        let role = self
            .ws
            .manifest
            .as_ref()
            .and_then(|m| m.origins.iter().find(|o| o.name == s))
            .and_then(|o| o.role.map(|r| r.as_str().to_string()));
        Origin { name: s.to_string(), role, endpoint: s.to_string() }
    }

    /// Everything each origin can reach.
    pub fn exposure(&self, origins: &[Origin]) -> ExposureReport {
        let hosts = scanned_hosts(self);
        let by_addr = hosts_by_addr(&hosts);
        let internal = self.internal_space_with(&hosts);
        let all_protos = Ranges::range(0, 255);
        let mut exposures = Vec::new();
        let mut origin_reports = Vec::new();
        let mut scan_notes = Vec::new();
        for o in origins {
            let mut rep = OriginReport {
                name: o.name.clone(),
                role: o.role.clone(),
                addresses: String::new(),
                exposures: 0,
                error: None,
            };
            let ep = match self.endpoint(&o.endpoint) {
                Ok(e) => e,
                Err(e) => {
                    rep.error = Some(e);
                    origin_reports.push(rep);
                    continue;
                }
            };
            let (src_ranges, dst) = match &ep {
                Endpoint::Addrs(r) => {
                    // An origin of many addresses is a network of clients: the devices' own
                    // addresses and the subnets' network and broadcast addresses in it are not
                    // among them.
                    if r.count() > 1 {
                        let local: Vec<(u128, u128)> =
                            self.net.devices.iter().flat_map(|d| d.local.iter().map(|&x| (x, x))).collect();
                        let clients = self.clients(r);
                        // The devices' own addresses stay destinations; the rest of the origin's
                        // own range (its clients, network and broadcast addresses) does not.
                        let not_dst = r.difference(&Ranges::from_ranges(local));
                        (clients, Endpoint::Addrs(internal.difference(&not_dst)))
                    } else {
                        (r.clone(), Endpoint::Addrs(internal.difference(r)))
                    }
                }
                Endpoint::Device(d) => {
                    let own = self.net.devices[*d].local_ranges();
                    (own.clone(), Endpoint::Addrs(internal.difference(&own)))
                }
            };
            rep.addresses = if o.endpoint.eq_ignore_ascii_case("internet") {
                "every address outside the estate, private and reserved ranges".into()
            } else if o.endpoint == o.name && !o.name.contains('/') && o.name.parse::<IpAddr>().is_err() {
                describe_ranges(&src_ranges)
            } else {
                o.endpoint.clone()
            };
            let ep = match ep {
                Endpoint::Addrs(_) => Endpoint::Addrs(src_ranges.clone()),
                other => other,
            };
            let groups = match self.classes(&ep, &dst, &all_protos, None, None, MAX_CLASSES_EXPOSURE, super::Reading { per_dst: None, masks: None, visited: None, denied: false, cells: None, bound: None, stop: super::Stop::Never }) {
                Ok(g) => g,
                Err(e) => {
                    rep.error = Some(e);
                    origin_reports.push(rep);
                    continue;
                }
            };
            let before = exposures.len();
            // Destination classes of the exposures pushed for this origin, in step with them.
            let mut atoms: Vec<(u128, u128)> = Vec::new();
            for (outcome, cubes) in groups {
                let certainty = match outcome.verdict {
                    Verdict::Allowed => Certainty::Definite,
                    Verdict::Possibly => Certainty::Possible,
                    Verdict::Denied => continue,
                };
                // One exposure per destination class and protocol: the ports and sources of the
                // group that reach it.
                // Protocols without ports or types are grouped together.
                // (protocol, destination addresses) → its classes
                type Span = (u128, u128);
                let mut by_dst: BTreeMap<(Span, Span), Vec<Class>> = BTreeMap::new();
                for c in super::cube_classes(&cubes) {
                    let key = if c.has_ports || c.icmp { c.proto } else { (256, 256) };
                    by_dst.entry((c.dst, key)).or_default().push(c);
                }
                for ((dst_atom, proto_key), cs) in by_dst {
                    // The class that gives the witness and the path: the lowest source, port and
                    // protocol (whatever order the walks found them in).
                    let Some(&first) = cs.iter().min_by_key(|c| (c.src.0, c.proto.0, c.dport.0, c.sport.0)) else { continue };
                    let proto_atom = if proto_key.0 == 256 {
                        let r = Ranges::from_ranges(cs.iter().map(|c| c.proto).collect());
                        (r.first().unwrap_or(0), 256 + r.as_slice().len() as u128)
                    } else {
                        proto_key
                    };
                    let ports = Ranges::from_ranges(cs.iter().map(|c| c.dport).collect());
                    let srcs = Ranges::from_ranges(cs.iter().map(|c| c.src).collect());
                    let v4 = (space::V4_BASE..=space::V4_LAST).contains(&first.src.0);
                    let whole = src_ranges.intersect(&space::family_range(!v4));
                    let from = if srcs == whole { o.name.clone() } else { describe_ranges(&srcs) };
                    let p = proto_atom.0 as u8;
                    let proto_name = if proto_key.0 == 256 {
                        let r = Ranges::from_ranges(cs.iter().map(|c| c.proto).collect());
                        format!("protocols {}", port_list(&r))
                    } else if proto_atom.0 == proto_atom.1 {
                        describe::proto_name(p)
                    } else {
                        format!("protocols {}-{}", proto_atom.0, proto_atom.1)
                    };
                    let (ip, host) = self.dst_label(dst_atom, &hosts, &by_addr);
                    let ports_text = if first.has_ports || first.icmp { port_list(&ports) } else { String::new() };
                    let (service, scan) = if dst_atom.0 == dst_atom.1 {
                        scan_facts(&hosts, &by_addr, space::u128_to_addr(dst_atom.0), p, &ports, first.has_ports, &o.name)
                    } else {
                        (None, Vec::new())
                    };
                    // The group's path is that of its first class; the exposure shows the path
                    // of a connection to this very destination.
                    let own = self.evaluate(describe::class_packet(&first), &ep);
                    // Behind a port forward, the service is the translated destination's.
                    let (service, scan) = match forwarded_to(&own.hops) {
                        Some((a, port)) if first.has_ports => {
                            let (s2, mut f2) = scan_facts(&hosts, &by_addr, a, p, &Ranges::single(port as u128), true, &o.name);
                            let mut f = scan;
                            f.append(&mut f2);
                            (service.or(s2.map(|s| format!("{s} on {a} behind the port forward"))), f)
                        }
                        _ => (service, scan),
                    };
                    atoms.push(dst_atom);
                    let owner = crate::owners::assign(
                        self.ws.manifest.as_ref(),
                        &crate::owners::Facts {
                            origin_role: o.role.as_deref(),
                            devices: crate::owners::deciding_devices(&own.hops),
                            dst: (dst_atom.0 == dst_atom.1).then(|| space::u128_to_addr(dst_atom.0)),
                            ..crate::owners::Facts::new(crate::owners::Kind::Exposure, certainty)
                        },
                    );
                    exposures.push(Exposure {
                        origin: o.name.clone(),
                        from,
                        host,
                        ip,
                        proto: proto_name,
                        ports: ports_text,
                        certainty,
                        service,
                        scan,
                        owner,
                        reason: own.reason,
                        witness: describe::witness(&first),
                        hops: own.hops,
                        uncertain: if own.uncertain.is_empty() { outcome.uncertain.clone() } else { own.uncertain },
                    });
                }
            }
            let mine = exposures.split_off(before);
            exposures.extend(merge_neighbours(mine, atoms));
            rep.exposures = exposures.len() - before;
            origin_reports.push(rep);
        }
        // Scanned services that no origin reaches: the scan saw them from somewhere else, or the
        // configs are not what runs. Both facts are reported.
        for (file, h) in &hosts {
            for s in &h.services {
                if s.state != PortState::Open {
                    continue;
                }
                let reached = h.addrs.iter().any(|a| {
                    let ip = a.to_string();
                    exposures.iter().any(|e| {
                        e.ip == ip && e.proto == describe::proto_name(s.proto) && port_in(&e.ports, s.port)
                    })
                });
                if !reached {
                    scan_notes.push(format!(
                        "{file}:{}: {} {}/{} is open per the scan, but no origin reaches it per the configs",
                        s.prov.line,
                        h.addrs.first().map(|a| a.to_string()).unwrap_or_default(),
                        describe::proto_name(s.proto),
                        s.port
                    ));
                }
            }
        }
        exposures.sort_by(|a, b| {
            (&a.origin, a.certainty, &a.ip, &a.proto, &a.ports).cmp(&(&b.origin, b.certainty, &b.ip, &b.proto, &b.ports))
        });
        let mut assumptions = Vec::new();
        for d in &self.net.devices {
            if d.has_firewall && !d.has_iface_data {
                assumptions.push(format!(
                    "{} has no interface dump (ip addr): interfaces and local addresses are unknown, so results that depend on them are \"possible\"",
                    d.name
                ));
            }
        }
        ExposureReport { origins: origin_reports, exposures, scan_notes, assumptions }
    }

    /// The estate's own address space (interface subnets, routed prefixes, scanned hosts):
    /// the destinations an exposure analysis looks at.
    pub fn estate_space(&self) -> Ranges {
        self.internal_space_with(&scanned_hosts(self))
    }

    /// The estate's own address space: interface subnets, routed prefixes (not default
    /// routes) and every scanned host.
    fn internal_space_with(&self, hosts: &[(String, Host)]) -> Ranges {
        let mut known: Vec<(u128, u128)> = Vec::new();
        for d in &self.net.devices {
            for (n, _) in &d.addrs {
                if !n.addr().is_loopback() {
                    known.extend_from_slice(space::prefix_range(&n.trunc()).as_slice());
                }
            }
            for r in &d.routes {
                if r.dst.prefix_len() > 0 {
                    known.extend_from_slice(space::prefix_range(&r.dst).as_slice());
                }
            }
        }
        for (_, h) in hosts {
            for a in &h.addrs {
                let x = space::addr_to_u128(*a);
                known.push((x, x));
            }
        }
        Ranges::from_ranges(known)
    }

    /// Address and name of a destination class.
    fn dst_label(&self, atom: (u128, u128), hosts: &[(String, Host)], by_addr: &HashMap<IpAddr, Vec<usize>>) -> (String, Option<String>) {
        if atom.0 != atom.1 {
            return (describe_ranges(&Ranges::range(atom.0, atom.1)), None);
        }
        let a = space::u128_to_addr(atom.0);
        // The first device in model order that has the address (every device has a loopback
        // address; the others by the owners' index).
        let device = if a.is_loopback() { self.net.devices.first() } else { self.net.owners.get(&atom.0).map(|&(d, _)| &self.net.devices[d]) };
        if let Some(d) = device {
            return (a.to_string(), Some(d.name.clone()));
        }
        let declared = self.ws.manifest.as_ref().and_then(|m| m.hosts.iter().find(|h| h.ips.contains(&a)).map(|h| h.name.clone()));
        let name = declared.or_else(|| by_addr.get(&a).and_then(|ix| ix.first()).and_then(|&i| hosts[i].1.names.first().cloned()));
        (a.to_string(), name)
    }
}

/// The destination a port forward sends the first packet to (the last destination NAT on the
/// way), if any.
pub(crate) fn forwarded_to(hops: &[crate::report::Hop]) -> Option<(IpAddr, u16)> {
    let n = hops
        .iter()
        .filter(|h| h.direction == "forward")
        .flat_map(|h| h.nat.iter())
        .rfind(|n| n.kind == "dnat" || n.kind == "redirect")?;
    let (addr, port) = n.to.rsplit_once(':')?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
    Some((addr, port.parse().ok()?))
}

/// What must be equal for two exposures to be one row: everything but the destination, with
/// the path reduced to its devices, interfaces, outcomes and deciding lines.
fn row_key(e: &Exposure) -> Option<String> {
    use std::fmt::Write;
    if e.host.is_some() || e.service.is_some() || !e.scan.is_empty() {
        return None;
    }
    let mut k = format!("{}|{}|{}|{}|{:?}|{}|{:?}", e.origin, e.from, e.proto, e.ports, e.certainty, e.owner, e.uncertain);
    for h in &e.hops {
        let _ = write!(k, "|{}:{}:{:?}:{:?}:{}:", h.device, h.direction, h.in_iface, h.out_iface, h.outcome);
        if let Some(r) = &h.rule {
            let _ = write!(k, "{}:{}", r.file, r.line);
        }
        for n in &h.nat {
            let _ = write!(k, ",{}@{}", n.kind, n.rule.as_ref().map_or(0, |r| r.line));
        }
    }
    Some(k)
}

/// Merge exposures of adjacent destination ranges that are alike in every other respect (routing
/// cuts a subnet at the addresses it mentions; the reader wants one row per range).
fn merge_neighbours(list: Vec<Exposure>, atoms: Vec<(u128, u128)>) -> Vec<Exposure> {
    let mut items: Vec<(Option<String>, (u128, u128), Exposure)> =
        list.into_iter().zip(atoms).map(|(e, a)| (row_key(&e), a, e)).collect();
    items.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut out: Vec<(Option<String>, (u128, u128), Exposure)> = Vec::new();
    for (k, a, e) in items {
        if let Some(last) = out.last_mut() {
            if k.is_some() && last.0 == k && last.1 .1.checked_add(1) == Some(a.0) {
                last.1 .1 = a.1;
                last.2.ip = describe_ranges(&Ranges::range(last.1 .0, last.1 .1));
                continue;
            }
        }
        out.push((k, a, e));
    }
    out.into_iter().map(|(_, _, e)| e).collect()
}

fn port_in(ports: &str, p: u16) -> bool {
    if ports == "any" {
        return true;
    }
    ports.split(',').any(|part| match part.split_once('-') {
        Some((a, b)) => a.parse::<u16>().is_ok_and(|a| a <= p) && b.parse::<u16>().is_ok_and(|b| p <= b),
        None => part.parse::<u16>() == Ok(p),
    })
}

fn describe_ranges(r: &Ranges) -> String {
    let parts: Vec<String> = r.as_slice().iter().take(4).map(|&(a, b)| describe::addr_range(a, b)).collect();
    let mut s = parts.join(", ");
    if r.as_slice().len() > 4 {
        s.push_str(&format!(" and {} more ranges", r.as_slice().len() - 4));
    }
    s
}

/// What scans saw on the exposed ports of one address: the service names of open ports, and
/// every scan fact that contradicts the configs (a port they allow that the scan saw filtered).
/// For each address, the scanned hosts that have it (indices into `hosts`, in input order).
fn hosts_by_addr(hosts: &[(String, Host)]) -> HashMap<IpAddr, Vec<usize>> {
    let mut m: HashMap<IpAddr, Vec<usize>> = HashMap::new();
    for (i, (_, h)) in hosts.iter().enumerate() {
        for a in &h.addrs {
            let v = m.entry(*a).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
    m
}

fn scan_facts(
    hosts: &[(String, Host)],
    by_addr: &HashMap<IpAddr, Vec<usize>>,
    a: IpAddr,
    p: u8,
    ports: &Ranges,
    has_ports: bool,
    origin: &str,
) -> (Option<String>, Vec<String>) {
    let mut services = Vec::new();
    let mut facts = Vec::new();
    if !has_ports {
        return (None, facts);
    }
    for (file, h) in by_addr.get(&a).into_iter().flatten().map(|&i| &hosts[i]) {
        for s in h.services.iter().filter(|s| s.proto == p && ports.contains(s.port as u128)) {
            let what = [s.name.clone(), s.product.clone(), s.version.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
            match s.state {
                PortState::Open => services.push(if what.is_empty() { format!("{}/{}", describe::proto_name(p), s.port) } else { format!("{}/{} {what}", describe::proto_name(p), s.port) }),
                other => facts.push(format!(
                    "{file}:{}: the scan saw {}/{} {} (reason {}), though the configs let {origin} reach it",
                    s.prov.line,
                    describe::proto_name(p),
                    s.port,
                    state_word(other),
                    s.reason.as_deref().unwrap_or("not given")
                )),
            }
        }
        if !h.up {
            facts.push(format!("{file}:{}: the scan saw {a} down", h.prov.line));
        }
    }
    let service = if services.is_empty() { None } else { Some(services.join("; ")) };
    (service, facts)
}

/// A CI gate on exposures: `ORIGIN` (any exposure from it) or `ORIGIN:SERVICES` where
/// SERVICES is a comma list of `any`, `PROTO`, `PROTO/PORT` or `PROTO/LO-HI`
/// (`internet:tcp/22,tcp/3389`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailOn {
    /// Origin name.
    pub origin: String,
    /// (protocol, inclusive port range); `None` protocol means any; empty list means any.
    pub services: Vec<FailService>,
}

/// One service of a [`FailOn`]: a protocol (`None`: any) and an inclusive port range.
pub type FailService = (Option<String>, Option<(u16, u16)>);

impl FailOn {
    /// Parse a gate.
    pub fn parse(s: &str) -> Result<FailOn, String> {
        let (origin, rest) = match s.split_once(':') {
            Some((o, r)) => (o.trim(), Some(r)),
            None => (s.trim(), None),
        };
        if origin.is_empty() {
            return Err(format!("--fail-on {s:?}: name an origin, e.g. internet or internet:tcp/22"));
        }
        let mut services = Vec::new();
        for part in rest.into_iter().flat_map(|r| r.split(',')) {
            let part = part.trim().to_ascii_lowercase();
            if part == "any" {
                services.push((None, None));
                continue;
            }
            let (p, ports) = match part.split_once('/') {
                Some((p, r)) => {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    let a: u16 = a.parse().map_err(|_| format!("--fail-on {s:?}: {r:?} is not a port or range"))?;
                    let b: u16 = b.parse().map_err(|_| format!("--fail-on {s:?}: {r:?} is not a port or range"))?;
                    if a > b {
                        return Err(format!("--fail-on {s:?}: {r:?} is an empty range"));
                    }
                    (p.to_string(), Some((a, b)))
                }
                None => (part.clone(), None),
            };
            if !["tcp", "udp", "icmp", "icmpv6", "sctp"].contains(&p.as_str()) && p.parse::<u8>().is_err() {
                return Err(format!("--fail-on {s:?}: {p:?} is not a protocol"));
            }
            services.push((Some(p), ports));
        }
        Ok(FailOn { origin: origin.to_string(), services })
    }

    /// True if the exposure trips the gate.
    pub fn matches(&self, e: &Exposure) -> bool {
        if e.origin != self.origin {
            return false;
        }
        if self.services.is_empty() {
            return true;
        }
        self.services.iter().any(|(p, ports)| {
            let proto_ok = p.as_deref().is_none_or(|p| p == e.proto || describe::proto_name(p.parse().unwrap_or(255)) == e.proto);
            let ports_ok = match ports {
                None => true,
                Some((a, b)) => (*a..=*b).any(|x| port_in(&e.ports, x)),
            };
            proto_ok && ports_ok
        })
    }
}
