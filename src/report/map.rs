//! The network map: zones, subnets, devices, hosts and threat origins as one graph of nodes and
//! edges, with each node's exposure heat and, for every attack path, the nodes and edges it
//! crosses. The page draws it; every decision about what is drawn where is made here.
//!
//! Grouping keeps large estates readable. Every node but a top-level one has a `parent`, a
//! group it is drawn inside:
//! - hosts sit in the subnet that holds their address (the longest prefix of any device
//!   interface; a host on no known subnet gets an inferred `/24` or `/64`);
//! - subnets sit in their zone (the manifest's zones by address or interface, else the
//!   security zone the vendor's configuration puts the interface in);
//! - in an estate of more than [`FLAT_DEVICES`] devices, devices and their unzoned subnets sit
//!   in areas: a spanning tree of the device topology is cut below each device that has
//!   devices behind it, so an area holds one device, the devices directly behind it and the
//!   areas further out. More than [`MAX_BRANCH`] devices behind one device are split into
//!   several areas.
//!
//! [`MapModel::view`] gives what is drawn for a set of open groups: a closed group is one node
//! with its counts and the sum of its members' heat, edges to its members are drawn to it (and
//! merged), and attack paths name the visible nodes and edges they cross. With no groups named,
//! groups open breadth first while the view stays under [`VIEW_BUDGET`] nodes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::report::{AnalyzeReport, Certainty, HostSummary, ParseReport};
use crate::Workspace;

/// Estates with more devices than this group their devices into areas.
pub const FLAT_DEVICES: usize = 24;
/// Most devices one area holds directly (a device with more devices behind it gets several).
pub const MAX_BRANCH: usize = 16;
/// Default views open groups while they show at most this many nodes.
pub const VIEW_BUDGET: usize = 250;

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A zone: the manifest's, or a security zone from device configurations.
    Zone,
    /// A part of a large estate's topology: a device and what lies behind it.
    Area,
    /// An IP subnet on device interfaces (or inferred around scanned hosts).
    Subnet,
    /// A device built from input files.
    Device,
    /// A host a scan saw or the manifest names.
    Host,
    /// A threat origin (`internet`, a vendor, phished employees).
    Origin,
}

/// What an edge stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// A device interface on a subnet.
    Attach,
    /// Two devices on a point-to-point subnet without hosts, or linked by the manifest.
    Link,
    /// Where an origin enters the estate: a device interface, or a subnet the origin is in.
    Entry,
}

/// How many services one origin reaches on a node (or on a group's members).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OriginHeat {
    /// Origin name.
    pub origin: String,
    /// Exposures (one per destination, protocol and port list, as in the exposure table).
    pub services: usize,
    /// Those that are definite.
    pub definite: usize,
}

/// The exposure heat of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Heat {
    /// 0 nothing exposed; 1 exposed, no weakness known; 2 exposed with a low or medium
    /// weakness, or exposed to the Internet; 3 exposed with a high one; 4 exposed with a
    /// critical one. A group takes its hottest member's level.
    pub level: u8,
    /// Services reached, per origin, in the order of the analysis's origins.
    pub exposed: Vec<OriginHeat>,
    /// Hosts and devices with at least one exposure (1 or 0 for a host or device).
    pub exposed_nodes: usize,
    /// The worst severity among scan vulnerabilities and findings about it (`critical`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<String>,
    /// A crown jewel is here.
    pub jewel: bool,
    /// Attack paths crossing it.
    pub paths: usize,
}

/// Members of a group, counted over every level below it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Members {
    /// Hosts.
    pub hosts: usize,
    /// Subnets.
    pub subnets: usize,
    /// Devices.
    pub devices: usize,
}

/// One input file of a device.
#[derive(Clone, Debug, Serialize)]
pub struct FileDetail {
    /// Path as given.
    pub path: String,
    /// Index among the inputs (for the source viewer).
    pub index: usize,
    /// Detected format.
    pub format: String,
    /// `ok`, `partial`, `failed` or `unsupported`.
    pub status: String,
    /// Percentage of lines understood.
    pub coverage: f64,
}

/// One exposure on a node, as the exposure table lists it.
#[derive(Clone, Debug, Serialize)]
pub struct ExposureDetail {
    /// Origin name.
    pub origin: String,
    /// Destination address or range.
    pub ip: String,
    /// Protocol.
    pub proto: String,
    /// Ports.
    pub ports: String,
    /// `definite` or `possible`.
    pub certainty: Certainty,
    /// What scans saw listening there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// One vulnerability a scan reports on a host.
#[derive(Clone, Debug, Serialize)]
pub struct VulnDetail {
    /// Scanner's identifier.
    pub id: String,
    /// Title.
    pub name: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: String,
    /// `tcp/443`, or none for a host-wide finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// CVE identifiers.
    pub cves: Vec<String>,
    /// A public exploit exists.
    pub exploit: bool,
}

/// What the page shows when a node is selected. Only the parts that apply to the node's kind
/// are present.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Detail {
    /// Addresses (a host's, a device's interface addresses, a subnet's prefix, an origin's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// Host names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Role (manifest host or origin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Value (manifest host) or owner (zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Description from the manifest, or why the node exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Operating system a scan guessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// A device's input files with their coverage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDetail>,
    /// A device's interfaces (`eth1 10.20.1.1/24`), or a subnet's attached interfaces
    /// (`core eth1 10.20.1.1/24`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// A device's rule count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<usize>,
    /// A device's findings, counted by severity (most severe first, only non-zero).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<(String, usize)>,
    /// Open services scans saw (`tcp/22 ssh OpenSSH 9.2p1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Exposures on it (on a subnet: those to addresses of it that are no host's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposures: Vec<ExposureDetail>,
    /// Vulnerabilities scans report on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<VulnDetail>,
    /// The node is inferred (a subnet around scanned hosts no interface is on).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

/// One node of the map.
#[derive(Clone, Debug, Serialize)]
pub struct MapNode {
    /// Unique id: `zone:NAME`, `area:DEVICE[#n]`, `subnet:CIDR`, `device:NAME`, `host:ADDR`,
    /// `origin:NAME`.
    pub id: String,
    /// Kind.
    pub kind: NodeKind,
    /// Short label.
    pub label: String,
    /// The group it is drawn inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// For groups: what is inside, at every level.
    pub members: Members,
    /// Exposure heat (a group's: its members' summed).
    pub heat: Heat,
    /// Details shown on selection.
    pub detail: Detail,
}

/// One edge of the map.
#[derive(Clone, Debug, Serialize)]
pub struct MapEdge {
    /// Unique id.
    pub id: String,
    /// Kind.
    pub kind: EdgeKind,
    /// One end (a device, or an origin for entries).
    pub source: String,
    /// The other end (a subnet or a device).
    pub target: String,
    /// Interface and address, or the shared subnet.
    pub label: String,
}

/// One step of an attack path on the map.
#[derive(Clone, Debug, Serialize)]
pub struct MapStep {
    /// Node the attacker starts from.
    pub from: String,
    /// Node taken over.
    pub to: String,
    /// `tcp/443 https`.
    pub label: String,
}

/// An attack path as the map elements it crosses.
#[derive(Clone, Debug, Serialize)]
pub struct MapPath {
    /// Its index in the analysis's `attack_paths`.
    pub index: usize,
    /// Origin name.
    pub origin: String,
    /// Target address.
    pub target: String,
    /// Target name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Rank among the paths of its origin and target.
    pub rank: usize,
    /// Likelihood.
    pub likelihood: f64,
    /// Nodes crossed, in order, each once.
    pub nodes: Vec<String>,
    /// Edges crossed, in order, each once.
    pub edges: Vec<String>,
    /// Its steps.
    pub steps: Vec<MapStep>,
    /// Groups to open to see every node it crosses.
    pub groups: Vec<String>,
}

/// Numbers of things on the whole map.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MapCounts {
    /// Zones.
    pub zones: usize,
    /// Areas.
    pub areas: usize,
    /// Subnets.
    pub subnets: usize,
    /// Devices.
    pub devices: usize,
    /// Hosts.
    pub hosts: usize,
    /// Origins.
    pub origins: usize,
    /// Edges.
    pub edges: usize,
}

/// The whole map of an estate.
#[derive(Clone, Debug, Serialize)]
pub struct MapModel {
    /// Every node; a parent comes before its members.
    pub nodes: Vec<MapNode>,
    /// Every edge.
    pub edges: Vec<MapEdge>,
    /// Every attack path of the analysis.
    pub paths: Vec<MapPath>,
    /// The origins analysed, in order (none when the map shows the network alone).
    pub origins: Vec<String>,
    /// False when no analysis went into the map (no heat, no paths).
    pub analysed: bool,
    /// Counts.
    pub counts: MapCounts,
    /// What the map leaves out or assumes.
    pub notes: Vec<String>,
}

/// A node as drawn.
#[derive(Clone, Debug, Serialize)]
pub struct ViewNode {
    /// The node.
    #[serde(flatten)]
    pub node: MapNode,
    /// A group drawn closed, as one node.
    pub collapsed: bool,
    /// A group's own members (one level down).
    pub children: usize,
}

/// An edge as drawn: one or more edges of the map between the same two visible nodes.
#[derive(Clone, Debug, Serialize)]
pub struct ViewEdge {
    /// Unique id within the view.
    pub id: String,
    /// Kind of the first edge merged.
    pub kind: EdgeKind,
    /// One end.
    pub source: String,
    /// The other end.
    pub target: String,
    /// The label, or `N links` for merged edges.
    pub label: String,
    /// Map edges drawn as this one.
    pub count: usize,
}

/// What is drawn for a set of open groups.
#[derive(Clone, Debug, Serialize)]
pub struct MapView {
    /// Visible nodes; a parent comes before its members.
    pub nodes: Vec<ViewNode>,
    /// Visible edges.
    pub edges: Vec<ViewEdge>,
    /// Every attack path, with visible node and view edge ids.
    pub paths: Vec<MapPath>,
    /// The open groups.
    pub expanded: Vec<String>,
    /// The origins analysed.
    pub origins: Vec<String>,
    /// False when no analysis went into the map.
    pub analysed: bool,
    /// Counts over the whole map.
    pub counts: MapCounts,
    /// Notes.
    pub notes: Vec<String>,
}

fn sev_rank(word: &str) -> u8 {
    match word {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

fn worse(a: Option<String>, b: &str) -> Option<String> {
    match a {
        Some(x) if sev_rank(&x) >= sev_rank(b) => Some(x),
        _ => Some(b.to_string()),
    }
}

fn model_sev(s: crate::model::Severity) -> &'static str {
    use crate::model::Severity as S;
    match s {
        S::Critical => "critical",
        S::High => "high",
        S::Medium => "medium",
        S::Low => "low",
        S::Info => "info",
    }
}

fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        132 => "sctp".into(),
        p => format!("ip/{p}"),
    }
}

fn is_link_local(n: &IpNet) -> bool {
    match n {
        IpNet::V4(v) => v.addr().is_link_local(),
        IpNet::V6(v) => (v.addr().segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The prefix inferred around an address no interface subnet holds.
fn inferred_net(a: IpAddr) -> IpNet {
    let len = if a.is_ipv4() { 24 } else { 64 };
    IpNet::new(a, len)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| IpNet::from(a))
}

/// The first address of `10.0.0.0/31`, `10.0.0.2-10.0.0.9`, `10.0.0.5`.
fn first_addr(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let head = t.split(['-', '/']).next()?.trim();
    head.parse().ok()
}

/// Subnets with a lookup by longest prefix.
#[derive(Default)]
struct SubnetIndex {
    by_len: BTreeMap<std::cmp::Reverse<u8>, HashMap<IpNet, usize>>,
}

impl SubnetIndex {
    fn insert(&mut self, net: IpNet, i: usize) {
        self.by_len
            .entry(std::cmp::Reverse(net.prefix_len()))
            .or_default()
            .insert(net, i);
    }
    fn lookup(&self, a: IpAddr) -> Option<usize> {
        self.by_len.iter().find_map(|(len, m)| {
            let n = IpNet::new(a, len.0).ok()?.trunc();
            m.get(&n).copied()
        })
    }
}

struct SubnetB {
    net: IpNet,
    inferred: bool,
    /// (device index, interface name, address)
    attach: Vec<(usize, String, IpNet)>,
    zone: Option<String>,
    hosts: Vec<usize>,
}

#[derive(Default)]
struct HostB {
    addrs: Vec<IpAddr>,
    names: Vec<String>,
    summary: Option<HostSummary>,
    vulns: Vec<VulnDetail>,
    role: Option<String>,
    value: Option<String>,
    description: Option<String>,
    os: Option<String>,
}

/// The host record that holds any of `addrs` (a new one if none does), with all of `addrs`
/// added to it and indexed.
fn host_slot(hosts: &mut Vec<HostB>, host_at: &mut HashMap<IpAddr, usize>, addrs: &[IpAddr]) -> usize {
    let hi = match addrs.iter().find_map(|a| host_at.get(a).copied()) {
        Some(i) => i,
        None => {
            hosts.push(HostB::default());
            hosts.len() - 1
        }
    };
    for a in addrs {
        if let Some(hb) = hosts.get_mut(hi) {
            if !hb.addrs.contains(a) {
                hb.addrs.push(*a);
            }
        }
        host_at.entry(*a).or_insert(hi);
    }
    hi
}

struct Builder {
    nodes: Vec<MapNode>,
    index: HashMap<String, usize>,
    edges: Vec<MapEdge>,
    edge_ids: BTreeSet<String>,
}

impl Builder {
    fn node(&mut self, id: String, kind: NodeKind, label: String, parent: Option<String>) -> usize {
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        let i = self.nodes.len();
        self.index.insert(id.clone(), i);
        self.nodes.push(MapNode {
            id,
            kind,
            label,
            parent,
            members: Members::default(),
            heat: Heat::default(),
            detail: Detail::default(),
        });
        i
    }

    fn edge(&mut self, kind: EdgeKind, source: &str, target: &str, label: String) -> String {
        let base = format!(
            "{}:{source}>{target}",
            match kind {
                EdgeKind::Attach => "attach",
                EdgeKind::Link => "link",
                EdgeKind::Entry => "entry",
            }
        );
        if self.edge_ids.contains(&base) {
            // The same two nodes joined again (two interfaces on one subnet): keep it apart.
            let mut n = 2;
            while self.edge_ids.contains(&format!("{base}#{n}")) {
                n += 1;
            }
            let id = format!("{base}#{n}");
            self.push_edge(id.clone(), kind, source, target, label);
            return id;
        }
        self.push_edge(base.clone(), kind, source, target, label);
        base
    }

    fn push_edge(&mut self, id: String, kind: EdgeKind, source: &str, target: &str, label: String) {
        self.edge_ids.insert(id.clone());
        self.edges.push(MapEdge {
            id,
            kind,
            source: source.to_string(),
            target: target.to_string(),
            label,
        });
    }

    fn add_heat(&mut self, i: usize, origin: &str, definite: bool) {
        let h = &mut self.nodes[i].heat;
        match h.exposed.iter_mut().find(|o| o.origin == origin) {
            Some(o) => {
                o.services += 1;
                o.definite += usize::from(definite);
            }
            None => h.exposed.push(OriginHeat {
                origin: origin.to_string(),
                services: 1,
                definite: usize::from(definite),
            }),
        }
    }
}

impl MapModel {
    /// The map of `ws`, with the heat, crown jewels and attack paths of `report` when given
    /// (without it, the network alone: devices, subnets, zones, scanned and declared hosts).
    pub fn build(ws: &Workspace, report: Option<&AnalyzeReport>) -> MapModel {
        let own_parse;
        let parse = match report {
            Some(r) => &r.parse,
            None => {
                own_parse = ParseReport::build(ws);
                &own_parse
            }
        };
        let devices = &ws.network.devices;
        let manifest = ws.manifest.as_ref();
        let mut notes = Vec::new();

        // Subnets on device interfaces.
        let mut subnets: Vec<SubnetB> = Vec::new();
        let mut sindex = SubnetIndex::default();
        let mut by_net: HashMap<IpNet, usize> = HashMap::new();
        let mut device_addr: HashMap<IpAddr, usize> = HashMap::new();
        for (di, d) in devices.iter().enumerate() {
            for itf in &d.interfaces {
                for a in &itf.addresses {
                    device_addr.entry(a.addr()).or_insert(di);
                    if a.addr().is_loopback()
                        || a.prefix_len() == a.max_prefix_len()
                        || is_link_local(a)
                    {
                        continue;
                    }
                    let net = a.trunc();
                    let si = *by_net.entry(net).or_insert_with(|| {
                        subnets.push(SubnetB {
                            net,
                            inferred: false,
                            attach: Vec::new(),
                            zone: None,
                            hosts: Vec::new(),
                        });
                        sindex.insert(net, subnets.len() - 1);
                        subnets.len() - 1
                    });
                    subnets[si].attach.push((di, itf.name.clone(), *a));
                }
            }
        }

        // Hosts: scanned (merged by address), then the manifest's.
        let mut hosts: Vec<HostB> = Vec::new();
        let mut host_at: HashMap<IpAddr, usize> = HashMap::new();
        let mut down = 0usize;
        for f in &ws.files {
            for h in &f.parsed.content.hosts {
                if !h.up {
                    down += 1;
                    continue;
                }
                let Some(&first) = h.addrs.first() else {
                    continue;
                };
                if device_addr.contains_key(&first) {
                    continue;
                }
                let hi = host_slot(&mut hosts, &mut host_at, &h.addrs);
                let hb = &mut hosts[hi];
                for n in &h.names {
                    if !hb.names.contains(n) {
                        hb.names.push(n.clone());
                    }
                }
                if hb.os.is_none() {
                    hb.os = h.os.clone();
                }
                let s = HostSummary::of(&f.path, h);
                match &mut hb.summary {
                    Some(prev) => {
                        for o in s.open {
                            if !prev.open.contains(&o) {
                                prev.open.push(o);
                            }
                        }
                    }
                    None => hb.summary = Some(s),
                }
                for v in &h.vulns {
                    hb.vulns.push(VulnDetail {
                        id: v.id.clone(),
                        name: v.name.clone(),
                        severity: model_sev(v.severity).to_string(),
                        port: match (v.proto, v.port) {
                            (Some(p), Some(n)) => Some(format!("{}/{n}", proto_name(p))),
                            _ => None,
                        },
                        cves: v.cves.clone(),
                        exploit: v.exploit_available,
                    });
                }
            }
        }
        if down > 0 {
            notes.push(format!(
                "{down} host entries that scans saw down are not drawn"
            ));
        }
        if let Some(m) = manifest {
            for decl in &m.hosts {
                let Some(&first) = decl.ips.first() else {
                    continue;
                };
                if device_addr.contains_key(&first) {
                    continue;
                }
                let hi = host_slot(&mut hosts, &mut host_at, &decl.ips);
                let hb = &mut hosts[hi];
                if !hb.names.contains(&decl.name) {
                    hb.names.insert(0, decl.name.clone());
                }
                hb.role = decl.role.clone();
                hb.value = decl.value.map(|v| v.as_str().to_string());
                hb.description = decl.description.clone();
            }
        }

        // Every host in exactly one subnet.
        let mut inferred = 0usize;
        for (hi, h) in hosts.iter().enumerate() {
            let Some(&a) = h.addrs.first() else { continue };
            let si = match sindex.lookup(a) {
                Some(si) => si,
                None => {
                    let net = inferred_net(a);
                    *by_net.entry(net).or_insert_with(|| {
                        inferred += 1;
                        subnets.push(SubnetB {
                            net,
                            inferred: true,
                            attach: Vec::new(),
                            zone: None,
                            hosts: Vec::new(),
                        });
                        sindex.insert(net, subnets.len() - 1);
                        subnets.len() - 1
                    })
                }
            };
            subnets[si].hosts.push(hi);
        }
        if inferred > 0 {
            notes.push(format!(
                "{inferred} subnets are inferred around scanned or declared hosts that no device interface is on"
            ));
        }

        // Zones: the manifest's by address or interface, else the vendor's interface zones.
        for s in &mut subnets {
            let r = crate::model::AddrRange::from_net(s.net);
            let from_manifest = manifest.and_then(|m| {
                m.zones.iter().find_map(|(name, z)| {
                    let by_addr = z.addresses.iter().any(|b| {
                        let zr = b.range();
                        zr.lo <= r.lo && r.hi <= zr.hi && zr.lo.is_ipv4() == r.lo.is_ipv4()
                    });
                    let by_iface = z.interfaces.iter().any(|i| {
                        s.attach.iter().any(|(di, itf, _)| {
                            devices[*di].name == i.device && *itf == i.interface
                        })
                    });
                    (by_addr || by_iface).then(|| name.clone())
                })
            });
            s.zone = from_manifest.or_else(|| {
                s.attach.iter().find_map(|(di, itf, _)| {
                    devices[*di]
                        .interfaces
                        .iter()
                        .find(|x| x.name == *itf)
                        .and_then(|x| x.zone.clone())
                })
            });
        }

        // Point-to-point subnets between two devices, with no hosts, are drawn as links.
        let is_link = |s: &SubnetB| {
            let devs: BTreeSet<usize> = s.attach.iter().map(|a| a.0).collect();
            s.hosts.is_empty() && devs.len() == 2 && s.attach.len() == 2 && s.zone.is_none()
        };

        // Areas for large estates.
        let areas = if devices.len() > FLAT_DEVICES {
            Areas::build(devices, &subnets, manifest)
        } else {
            Areas::default()
        };

        let mut b = Builder {
            nodes: Vec::new(),
            index: HashMap::new(),
            edges: Vec::new(),
            edge_ids: BTreeSet::new(),
        };

        // Origins first (top level).
        let origins: Vec<(String, Option<String>, String, Option<String>)> = match report {
            Some(r) => r
                .exposure
                .origins
                .iter()
                .map(|o| {
                    (
                        o.name.clone(),
                        o.role.clone(),
                        o.addresses.clone(),
                        o.error.clone(),
                    )
                })
                .collect(),
            None => {
                let mut v = vec![(
                    "internet".to_string(),
                    None,
                    "every address outside the estate".to_string(),
                    None,
                )];
                if let Some(m) = manifest {
                    for o in m.origins.iter().filter(|o| o.name != "internet") {
                        let addrs: Vec<String> =
                            o.addresses.iter().map(|a| a.to_string()).collect();
                        v.push((
                            o.name.clone(),
                            o.role.map(|r| r.as_str().to_string()),
                            addrs.join(", "),
                            None,
                        ));
                    }
                }
                v
            }
        };
        let mut origin_names = Vec::new();
        for (name, role, addrs, error) in &origins {
            if origin_names.contains(name) {
                continue;
            }
            origin_names.push(name.clone());
            let i = b.node(
                format!("origin:{name}"),
                NodeKind::Origin,
                name.clone(),
                None,
            );
            let d = &mut b.nodes[i].detail;
            d.addresses = vec![addrs.clone()];
            d.role = role.clone();
            d.description = error
                .clone()
                .map(|e| format!("not analysed: {e}"))
                .or_else(|| {
                    manifest
                        .and_then(|m| m.origins.iter().find(|o| o.name == *name))
                        .and_then(|o| o.description.clone())
                });
        }

        // Zones.
        let mut zone_names: BTreeSet<String> =
            subnets.iter().filter_map(|s| s.zone.clone()).collect();
        if let Some(m) = manifest {
            zone_names.extend(m.zones.keys().cloned());
        }
        for z in &zone_names {
            let i = b.node(format!("zone:{z}"), NodeKind::Zone, z.clone(), None);
            if let Some(decl) = manifest.and_then(|m| m.zones.get(z)) {
                let d = &mut b.nodes[i].detail;
                d.addresses = decl.addresses.iter().map(|a| a.to_string()).collect();
                d.value = decl.owner.map(|o| format!("owner: {}", o.as_str()));
                d.description = decl
                    .description
                    .clone()
                    .or_else(|| Some("a zone of the manifest".into()));
            } else {
                b.nodes[i].detail.description =
                    Some("a security zone of the device configurations".into());
            }
        }

        // Areas, parents before members.
        for a in &areas.list {
            let i = b.node(
                a.id.clone(),
                NodeKind::Area,
                a.label.clone(),
                a.parent.clone(),
            );
            b.nodes[i].detail.description = Some(a.description.clone());
        }

        // Devices.
        let findings_of = |name: &str| -> Vec<(String, usize)> {
            let Some(r) = report else { return Vec::new() };
            let mut c: BTreeMap<std::cmp::Reverse<u8>, (String, usize)> = BTreeMap::new();
            for f in r.findings.iter().filter(|f| f.device == name) {
                let w = f.severity.as_str();
                c.entry(std::cmp::Reverse(sev_rank(w)))
                    .or_insert((w.to_string(), 0))
                    .1 += 1;
            }
            c.into_values().collect()
        };
        for (di, d) in devices.iter().enumerate() {
            let id = format!("device:{}", d.name);
            let parent = areas.device_parent.get(&di).cloned();
            let i = b.node(id, NodeKind::Device, d.name.clone(), parent);
            let summary = parse.devices.iter().find(|s| s.name == d.name);
            let det = &mut b.nodes[i].detail;
            det.files = d
                .sources
                .iter()
                .filter_map(|&fi| {
                    let inp = parse.inputs.get(fi)?;
                    Some(FileDetail {
                        path: inp.path.clone(),
                        index: fi,
                        format: inp.format.clone(),
                        status: serde_json::to_value(inp.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        coverage: inp.coverage,
                    })
                })
                .collect();
            det.interfaces = summary.map(|s| s.interfaces.clone()).unwrap_or_default();
            det.rules = summary.map(|s| s.rules);
            det.addresses = d
                .interfaces
                .iter()
                .flat_map(|x| x.addresses.iter())
                .filter(|a| !a.addr().is_loopback())
                .map(|a| a.addr().to_string())
                .collect();
            det.findings = findings_of(&d.name);
            if let Some((w, _)) = det.findings.first() {
                b.nodes[i].heat.worst = Some(w.clone());
            }
            if let Some(decl) = manifest.and_then(|m| m.devices.get(&d.name)) {
                b.nodes[i].detail.description = decl.description.clone();
            }
        }

        // Subnets and their hosts.
        let mut subnet_node: Vec<Option<usize>> = vec![None; subnets.len()];
        for (si, s) in subnets.iter().enumerate() {
            if is_link(s) {
                continue;
            }
            let parent = match &s.zone {
                Some(z) => Some(format!("zone:{z}")),
                None => areas.subnet_parent.get(&si).cloned(),
            };
            let label = if s.inferred {
                format!("{} (inferred)", s.net)
            } else {
                s.net.to_string()
            };
            let i = b.node(format!("subnet:{}", s.net), NodeKind::Subnet, label, parent);
            subnet_node[si] = Some(i);
            let det = &mut b.nodes[i].detail;
            det.addresses = vec![s.net.to_string()];
            det.inferred = s.inferred;
            det.interfaces = s
                .attach
                .iter()
                .map(|(di, itf, a)| format!("{} {itf} {a}", devices[*di].name))
                .collect();
            if s.inferred {
                det.description = Some(
                    "no device interface is on this subnet; it is inferred around hosts seen in it"
                        .into(),
                );
            }
        }
        let mut host_node: Vec<usize> = Vec::with_capacity(hosts.len());
        for (si, s) in subnets.iter().enumerate() {
            for &hi in &s.hosts {
                let h = &hosts[hi];
                let Some(&a) = h.addrs.first() else { continue };
                let label = match h.names.first() {
                    Some(n) => format!("{n} {a}"),
                    None => a.to_string(),
                };
                let parent = subnet_node[si].map(|n| b.nodes[n].id.clone());
                let i = b.node(format!("host:{a}"), NodeKind::Host, label, parent);
                while host_node.len() <= hi {
                    host_node.push(usize::MAX);
                }
                host_node[hi] = i;
                let det = &mut b.nodes[i].detail;
                det.addresses = h.addrs.iter().map(|a| a.to_string()).collect();
                det.names = h.names.clone();
                det.role = h.role.clone();
                det.value = h.value.clone();
                det.description = h.description.clone();
                det.os = h.os.clone();
                det.services = h
                    .summary
                    .as_ref()
                    .map(|s| s.open.clone())
                    .unwrap_or_default();
                det.vulnerabilities = h.vulns.clone();
                let mut worst = None;
                for v in &h.vulns {
                    if v.severity != "info" {
                        worst = worse(worst, &v.severity);
                    }
                }
                b.nodes[i].heat.worst = worst;
            }
        }

        // Edges: attachments, links, manifest links.
        // (device index, interface) → the edges through it, for paths.
        let mut iface_edges: HashMap<(usize, String), Vec<String>> = HashMap::new();
        for (si, s) in subnets.iter().enumerate() {
            if is_link(s) {
                let (Some((d1, i1, a1)), Some((d2, i2, _))) = (s.attach.first(), s.attach.get(1))
                else {
                    continue;
                };
                let (x, y) = (
                    format!("device:{}", devices[*d1].name),
                    format!("device:{}", devices[*d2].name),
                );
                let _ = a1;
                let id = b.edge(EdgeKind::Link, &x, &y, s.net.to_string());
                iface_edges
                    .entry((*d1, i1.clone()))
                    .or_default()
                    .push(id.clone());
                iface_edges.entry((*d2, i2.clone())).or_default().push(id);
                continue;
            }
            let Some(sn) = subnet_node[si] else { continue };
            let sid = b.nodes[sn].id.clone();
            for (di, itf, a) in &s.attach {
                let id = b.edge(
                    EdgeKind::Attach,
                    &format!("device:{}", devices[*di].name),
                    &sid,
                    format!("{itf} {}", a.addr()),
                );
                iface_edges.entry((*di, itf.clone())).or_default().push(id);
            }
        }
        if let Some(m) = manifest {
            for (x, y) in &m.links {
                let (Some(dx), Some(dy)) = (
                    devices.iter().position(|d| d.name == x.device),
                    devices.iter().position(|d| d.name == y.device),
                ) else {
                    continue;
                };
                let id = b.edge(
                    EdgeKind::Link,
                    &format!("device:{}", x.device),
                    &format!("device:{}", y.device),
                    format!("{} – {}", x.interface, y.interface),
                );
                iface_edges
                    .entry((dx, x.interface.clone()))
                    .or_default()
                    .push(id.clone());
                iface_edges
                    .entry((dy, y.interface.clone()))
                    .or_default()
                    .push(id);
            }
        }

        // Entries: named origins inside a subnet, the Internet at default routes to no device,
        // and every entry the analysis saw.
        let mut entry_edges: HashMap<(String, usize, String), String> = HashMap::new();
        if let Some(m) = manifest {
            for o in &m.origins {
                if !origin_names.contains(&o.name) {
                    continue;
                }
                let mut seen = BTreeSet::new();
                for blk in &o.addresses {
                    let r = blk.range();
                    if let Some(si) = sindex.lookup(r.lo) {
                        if let Some(sn) = subnet_node[si] {
                            if seen.insert(si) {
                                let sid = b.nodes[sn].id.clone();
                                b.edge(
                                    EdgeKind::Entry,
                                    &format!("origin:{}", o.name),
                                    &sid,
                                    "inside".into(),
                                );
                            }
                        }
                    }
                }
            }
        }
        if origin_names.iter().any(|o| o == "internet") {
            for (di, d) in devices.iter().enumerate() {
                for r in d.routes.iter().filter(|r| r.dst.prefix_len() == 0) {
                    let outside = r.via.is_none_or(|v| !device_addr.contains_key(&v));
                    let itf = r.dev.clone().or_else(|| {
                        let v = r.via?;
                        d.interfaces
                            .iter()
                            .find(|x| x.addresses.iter().any(|a| a.contains(&v)))
                            .map(|x| x.name.clone())
                    });
                    if let (true, Some(itf)) = (outside, itf) {
                        entry_edge(&mut b, &mut entry_edges, "internet", di, &itf, devices);
                    }
                }
                for itf in d.interfaces.iter().filter(|x| x.external) {
                    entry_edge(&mut b, &mut entry_edges, "internet", di, &itf.name, devices);
                }
            }
        }
        if let Some(r) = report {
            // An origin inside a subnet enters through that subnet's interfaces: no more edges.
            let inside: BTreeSet<(&str, &str)> = b
                .edges
                .iter()
                .filter(|e| e.kind == EdgeKind::Entry)
                .map(|e| (e.source.as_str(), e.target.as_str()))
                .collect();
            let mut iface_subnet: HashMap<(usize, &str), &str> = HashMap::new();
            for (s, n) in subnets.iter().zip(&subnet_node) {
                if let Some(n) = n {
                    for (d, i, _) in &s.attach {
                        iface_subnet.insert((*d, i.as_str()), b.nodes[*n].id.as_str());
                    }
                }
            }
            let dev_index: HashMap<&str, usize> = devices
                .iter()
                .enumerate()
                .map(|(i, d)| (d.name.as_str(), i))
                .collect();
            let mut wanted: BTreeSet<(String, usize, String)> = BTreeSet::new();
            for e in &r.exposure.exposures {
                let Some(h) = e.hops.iter().find(|h| h.direction == "forward") else {
                    continue;
                };
                let (Some(&di), Some(itf)) = (dev_index.get(&*h.device), &h.in_iface) else {
                    continue;
                };
                let origin_id = format!("origin:{}", e.origin);
                let via_subnet = iface_subnet
                    .get(&(di, &**itf))
                    .is_some_and(|s| inside.contains(&(origin_id.as_str(), *s)));
                if origin_names.contains(&e.origin) && !via_subnet {
                    wanted.insert((e.origin.clone(), di, itf.to_string()));
                }
            }
            for (o, di, itf) in wanted {
                entry_edge(&mut b, &mut entry_edges, &o, di, &itf, devices);
            }
        }

        // Heat from exposures.
        let node_of_addr = |a: IpAddr, b: &Builder| -> Option<usize> {
            if let Some(&hi) = host_at.get(&a) {
                return host_node.get(hi).copied().filter(|&n| n != usize::MAX);
            }
            if let Some(&di) = device_addr.get(&a) {
                return b
                    .index
                    .get(&format!("device:{}", devices[di].name))
                    .copied();
            }
            None
        };
        let mut analysed_origins = Vec::new();
        if let Some(r) = report {
            analysed_origins = origin_names.clone();
            for e in &r.exposure.exposures {
                let definite = e.certainty == Certainty::Definite;
                let detail = ExposureDetail {
                    origin: e.origin.clone(),
                    ip: e.ip.clone(),
                    proto: e.proto.clone(),
                    ports: e.ports.clone(),
                    certainty: e.certainty,
                    service: e.service.clone(),
                };
                let single: Option<IpAddr> = e.ip.trim().parse().ok();
                if let Some(n) = single.and_then(|a| node_of_addr(a, &b)) {
                    b.add_heat(n, &e.origin, definite);
                    if e.origin == "internet" {
                        b.nodes[n].heat.level = b.nodes[n].heat.level.max(2);
                    }
                    b.nodes[n].detail.exposures.push(detail);
                    continue;
                }
                // A range (or an address no host or device has): the subnets it falls in.
                let mut seen = BTreeSet::new();
                for part in e.ip.split(',') {
                    let Some(a) = first_addr(part) else { continue };
                    let Some(si) = sindex.lookup(a) else { continue };
                    if let (true, Some(sn)) = (seen.insert(si), subnet_node[si]) {
                        b.add_heat(sn, &e.origin, definite);
                        if e.origin == "internet" {
                            b.nodes[sn].heat.level = b.nodes[sn].heat.level.max(2);
                        }
                        b.nodes[sn].detail.exposures.push(detail.clone());
                    }
                }
            }
            // Findings about a host (their witness's destination) count for its worst severity.
            for f in &r.findings {
                let Some(a) = f
                    .witness
                    .as_ref()
                    .and_then(|w| w.dst.parse::<IpAddr>().ok())
                else {
                    continue;
                };
                if let Some(&hi) = host_at.get(&a) {
                    if let Some(&n) = host_node.get(hi).filter(|&&n| n != usize::MAX) {
                        let w = b.nodes[n].heat.worst.take();
                        b.nodes[n].heat.worst = worse(w, f.severity.as_str());
                    }
                }
            }
            for (addr, _) in &r.attack.crown_jewels {
                if let Some(n) = addr.parse().ok().and_then(|a| node_of_addr(a, &b)) {
                    b.nodes[n].heat.jewel = true;
                }
            }
        }
        for n in &mut b.nodes {
            let h = &mut n.heat;
            if matches!(n.kind, NodeKind::Host | NodeKind::Device) && !h.exposed.is_empty() {
                h.exposed_nodes = 1;
                let by_worst = match h.worst.as_deref().map(sev_rank) {
                    Some(4) => 4,
                    Some(3) => 3,
                    Some(1 | 2) => 2,
                    _ => 1,
                };
                h.level = h.level.max(by_worst);
            } else if n.kind == NodeKind::Subnet && !h.exposed.is_empty() {
                h.level = h.level.max(1);
            }
        }

        // Attack paths.
        let mut paths = Vec::new();
        let edge_at: HashMap<String, usize> = b
            .edges
            .iter()
            .enumerate()
            .map(|(k, e)| (e.id.clone(), k))
            .collect();
        if let Some(r) = report {
            for (pi, p) in r.attack.attack_paths.iter().enumerate() {
                let mut nodes: Vec<String> = Vec::new();
                let mut edges: Vec<String> = Vec::new();
                let mut steps = Vec::new();
                let push = |v: &mut Vec<String>, s: String| {
                    if !v.contains(&s) {
                        v.push(s);
                    }
                };
                let locate = |text: &str, b: &Builder| -> Option<String> {
                    if origin_names.iter().any(|o| o == text) {
                        return Some(format!("origin:{text}"));
                    }
                    let a: IpAddr = text.parse().ok()?;
                    if let Some(n) = node_of_addr(a, b) {
                        return Some(b.nodes[n].id.clone());
                    }
                    let si = sindex.lookup(a)?;
                    subnet_node[si].map(|n| b.nodes[n].id.clone())
                };
                for s in &p.steps {
                    let from = locate(&s.from, &b);
                    let to = locate(&s.to, &b);
                    if let Some(f) = &from {
                        push(&mut nodes, f.clone());
                    }
                    for (k, h) in s
                        .hops
                        .iter()
                        .filter(|h| h.direction == "forward")
                        .enumerate()
                    {
                        let Some(di) = devices.iter().position(|d| *d.name == *h.device) else {
                            continue;
                        };
                        if k == 0 && s.from == p.origin {
                            if let Some(itf) = &h.in_iface {
                                if let Some(id) =
                                    entry_edges.get(&(p.origin.clone(), di, itf.to_string()))
                                {
                                    push(&mut edges, id.clone());
                                }
                            }
                        }
                        // In through one interface, out through another: the edges, and the
                        // subnets they join, in the order crossed.
                        for (n, itf) in [&h.in_iface, &h.out_iface].into_iter().enumerate() {
                            if n == 1 {
                                push(&mut nodes, format!("device:{}", h.device));
                            }
                            let Some(itf) = itf else { continue };
                            for id in iface_edges.get(&(di, itf.to_string())).into_iter().flatten() {
                                push(&mut edges, id.clone());
                                if let Some(me) = edge_at.get(id.as_str()).map(|&k| &b.edges[k]) {
                                    if me.target.starts_with("subnet:") {
                                        push(&mut nodes, me.target.clone());
                                    }
                                }
                            }
                        }
                    }
                    if let Some(t) = &to {
                        push(&mut nodes, t.clone());
                    }
                    if let (Some(f), Some(t)) = (from, to) {
                        let label = match &s.service {
                            Some(svc) => format!("{}/{} {svc}", s.proto, s.port),
                            None => format!("{}/{}", s.proto, s.port),
                        };
                        steps.push(MapStep {
                            from: f,
                            to: t,
                            label,
                        });
                    }
                }
                for n in &nodes {
                    if let Some(&i) = b.index.get(n) {
                        b.nodes[i].heat.paths += 1;
                    }
                }
                let mut groups = BTreeSet::new();
                for n in &nodes {
                    let mut cur = b.index.get(n).and_then(|&i| b.nodes[i].parent.clone());
                    while let Some(g) = cur {
                        cur = b.index.get(&g).and_then(|&i| b.nodes[i].parent.clone());
                        groups.insert(g);
                    }
                }
                paths.push(MapPath {
                    index: pi,
                    origin: p.origin.clone(),
                    target: p.target.clone(),
                    target_name: p.target_name.clone(),
                    rank: p.rank,
                    likelihood: p.likelihood,
                    nodes,
                    edges,
                    steps,
                    groups: groups.into_iter().collect(),
                });
            }
        }

        // Group members and heat, from the leaves up (members come after their parents).
        let order: Vec<usize> = (0..b.nodes.len()).rev().collect();
        for i in order {
            let Some(p) = b.nodes[i]
                .parent
                .clone()
                .and_then(|p| b.index.get(&p).copied())
            else {
                continue;
            };
            let (kind, members, heat) = (
                b.nodes[i].kind,
                b.nodes[i].members.clone(),
                b.nodes[i].heat.clone(),
            );
            let pn = &mut b.nodes[p];
            pn.members.hosts += members.hosts + usize::from(kind == NodeKind::Host);
            pn.members.subnets += members.subnets + usize::from(kind == NodeKind::Subnet);
            pn.members.devices += members.devices + usize::from(kind == NodeKind::Device);
            let ph = &mut pn.heat;
            ph.level = ph.level.max(heat.level);
            ph.exposed_nodes += heat.exposed_nodes;
            ph.jewel |= heat.jewel;
            if let Some(w) = heat.worst {
                ph.worst = worse(ph.worst.take(), &w);
            }
            for o in heat.exposed {
                match ph.exposed.iter_mut().find(|x| x.origin == o.origin) {
                    Some(x) => {
                        x.services += o.services;
                        x.definite += o.definite;
                    }
                    None => ph.exposed.push(o),
                }
            }
        }
        for n in &mut b.nodes {
            let order = |o: &OriginHeat| {
                origin_names
                    .iter()
                    .position(|x| *x == o.origin)
                    .unwrap_or(usize::MAX)
            };
            n.heat.exposed.sort_by_key(order);
            if matches!(n.kind, NodeKind::Subnet | NodeKind::Zone | NodeKind::Area) {
                let m = &n.members;
                let mut parts = Vec::new();
                if m.devices > 0 && n.kind == NodeKind::Area {
                    parts.push(plural(m.devices, "device"));
                }
                if m.subnets > 0 {
                    parts.push(plural(m.subnets, "subnet"));
                }
                if m.hosts > 0 {
                    parts.push(plural(m.hosts, "host"));
                }
                if !parts.is_empty() {
                    n.label = format!("{} · {}", n.label, parts.join(", "));
                }
            }
        }

        let count = |k: NodeKind| b.nodes.iter().filter(|n| n.kind == k).count();
        let counts = MapCounts {
            zones: count(NodeKind::Zone),
            areas: count(NodeKind::Area),
            subnets: count(NodeKind::Subnet),
            devices: count(NodeKind::Device),
            hosts: count(NodeKind::Host),
            origins: count(NodeKind::Origin),
            edges: b.edges.len(),
        };
        MapModel {
            nodes: b.nodes,
            edges: b.edges,
            paths,
            origins: analysed_origins,
            analysed: report.is_some(),
            counts,
            notes,
        }
    }

    /// The groups open by default, while the view stays under [`VIEW_BUDGET`] nodes: first
    /// zones and areas, breadth first from the top, so the estate's structure shows; then the
    /// subnets drawn by then, those with the fewest hosts first.
    pub fn default_expanded(&self) -> Vec<String> {
        let kids = self.children();
        let mut visible = kids.get(&None).map_or(0, Vec::len);
        let mut queue: VecDeque<usize> = kids.get(&None).into_iter().flatten().copied().collect();
        let mut open = Vec::new();
        let mut subnets = Vec::new();
        while let Some(i) = queue.pop_front() {
            let n = &self.nodes[i];
            let Some(ch) = kids.get(&Some(n.id.as_str())) else {
                continue;
            };
            if n.kind == NodeKind::Subnet {
                subnets.push((ch.len(), i));
                continue;
            }
            // An open group is still drawn, as the box around its members.
            if visible + ch.len() > VIEW_BUDGET {
                continue;
            }
            visible += ch.len();
            open.push(n.id.clone());
            queue.extend(ch.iter().copied());
        }
        subnets.sort();
        for (len, i) in subnets {
            if visible + len > VIEW_BUDGET {
                break;
            }
            visible += len;
            open.push(self.nodes[i].id.clone());
        }
        open
    }

    /// Each node's direct members, by parent id (`None`: top level), in node order.
    fn children(&self) -> HashMap<Option<&str>, Vec<usize>> {
        let mut kids: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            kids.entry(n.parent.as_deref()).or_default().push(i);
        }
        kids
    }

    /// What is drawn when the groups `expanded` are open (`None`: [`MapModel::default_expanded`]).
    /// Unknown ids are ignored; a group is visible open only when its own group is open too.
    pub fn view(&self, expanded: Option<&[String]>) -> MapView {
        let open: BTreeSet<String> = match expanded {
            Some(e) => e.iter().cloned().collect(),
            None => self.default_expanded().into_iter().collect(),
        };
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let kids = self.children();
        // The visible node standing for each node: its topmost closed ancestor, else itself.
        let mut rep: Vec<usize> = vec![0; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            rep[i] = match n.parent.as_deref().and_then(|p| index.get(p)) {
                // Parents come first, so the parent's representative is known.
                Some(&p) => {
                    if rep[p] != p || !open.contains(&self.nodes[p].id) {
                        rep[p]
                    } else {
                        i
                    }
                }
                None => i,
            };
        }
        let nodes: Vec<ViewNode> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| rep[*i] == *i)
            .map(|(_, n)| {
                let children = kids.get(&Some(n.id.as_str())).map_or(0, Vec::len);
                ViewNode {
                    node: n.clone(),
                    collapsed: children > 0 && !open.contains(&n.id),
                    children,
                }
            })
            .collect();
        let mut edges: Vec<ViewEdge> = Vec::new();
        let mut by_pair: HashMap<(usize, usize), usize> = HashMap::new();
        let mut edge_map: HashMap<&str, String> = HashMap::new();
        for e in &self.edges {
            let (Some(&s), Some(&t)) = (index.get(e.source.as_str()), index.get(e.target.as_str()))
            else {
                continue;
            };
            let (rs, rt) = (rep[s], rep[t]);
            if rs == rt {
                continue;
            }
            let key = (rs.min(rt), rs.max(rt));
            let vi = *by_pair.entry(key).or_insert_with(|| {
                edges.push(ViewEdge {
                    id: format!("e{}", edges.len()),
                    kind: e.kind,
                    source: self.nodes[rs].id.clone(),
                    target: self.nodes[rt].id.clone(),
                    label: e.label.clone(),
                    count: 0,
                });
                edges.len() - 1
            });
            let ve = &mut edges[vi];
            ve.count += 1;
            if ve.count > 1 {
                ve.label = format!("{} links", ve.count);
            }
            edge_map.insert(e.id.as_str(), ve.id.clone());
        }
        let visible = |id: &str| index.get(id).map(|&i| self.nodes[rep[i]].id.clone());
        let paths = self
            .paths
            .iter()
            .map(|p| {
                let mut nodes: Vec<String> = Vec::new();
                for n in p.nodes.iter().filter_map(|n| visible(n)) {
                    if !nodes.contains(&n) {
                        nodes.push(n);
                    }
                }
                let mut edges: Vec<String> = Vec::new();
                for e in p.edges.iter().filter_map(|e| edge_map.get(e.as_str())) {
                    if !edges.contains(e) {
                        edges.push(e.clone());
                    }
                }
                let steps = p
                    .steps
                    .iter()
                    .filter_map(|s| {
                        Some(MapStep {
                            from: visible(&s.from)?,
                            to: visible(&s.to)?,
                            label: s.label.clone(),
                        })
                    })
                    .collect();
                MapPath {
                    nodes,
                    edges,
                    steps,
                    ..p.clone()
                }
            })
            .collect();
        MapView {
            nodes,
            edges,
            paths,
            expanded: open
                .into_iter()
                .filter(|g| index.contains_key(g.as_str()))
                .collect(),
            origins: self.origins.clone(),
            analysed: self.analysed,
            counts: self.counts.clone(),
            notes: self.notes.clone(),
        }
    }
}

fn plural(n: usize, one: &str) -> String {
    let n_text = n.to_string();
    let mut digits = String::new();
    for (k, c) in n_text.chars().enumerate() {
        if k > 0 && (n_text.len() - k).is_multiple_of(3) {
            digits.push(',');
        }
        digits.push(c);
    }
    if n == 1 {
        format!("{digits} {one}")
    } else {
        format!("{digits} {one}s")
    }
}

/// The entry edge of `origin` at device `di`'s interface `itf`, made once.
fn entry_edge(
    b: &mut Builder,
    made: &mut HashMap<(String, usize, String), String>,
    origin: &str,
    di: usize,
    itf: &str,
    devices: &[crate::model::Device],
) {
    let key = (origin.to_string(), di, itf.to_string());
    if made.contains_key(&key) {
        return;
    }
    let id = b.edge(
        EdgeKind::Entry,
        &format!("origin:{origin}"),
        &format!("device:{}", devices[di].name),
        itf.to_string(),
    );
    made.insert(key, id);
}

/// One area of a large estate.
struct Area {
    id: String,
    label: String,
    parent: Option<String>,
    description: String,
}

/// Areas of a large estate, and where each device and unzoned subnet goes.
#[derive(Default)]
struct Areas {
    list: Vec<Area>,
    device_parent: HashMap<usize, String>,
    subnet_parent: HashMap<usize, String>,
}

impl Areas {
    fn build(
        devices: &[crate::model::Device],
        subnets: &[SubnetB],
        manifest: Option<&crate::manifest::Manifest>,
    ) -> Areas {
        let n = devices.len();
        let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for s in subnets {
            let devs: BTreeSet<usize> = s.attach.iter().map(|a| a.0).collect();
            // A star through the first device: enough for a spanning tree, never quadratic.
            if let Some(&first) = devs.iter().next() {
                for &d in devs.iter().skip(1) {
                    adj[first].insert(d);
                    adj[d].insert(first);
                }
            }
        }
        if let Some(m) = manifest {
            for (x, y) in &m.links {
                if let (Some(a), Some(b)) = (
                    devices.iter().position(|d| d.name == x.device),
                    devices.iter().position(|d| d.name == y.device),
                ) {
                    if a != b {
                        adj[a].insert(b);
                        adj[b].insert(a);
                    }
                }
            }
        }
        let owned: BTreeSet<IpAddr> = devices
            .iter()
            .flat_map(|d| {
                d.interfaces
                    .iter()
                    .flat_map(|i| i.addresses.iter().map(|a| a.addr()))
            })
            .collect();
        // Roots: devices where the Internet enters (a default route to no device), then the
        // best-connected device of each remaining component.
        let edge_like = |d: &crate::model::Device| {
            d.interfaces.iter().any(|i| i.external)
                || d.routes
                    .iter()
                    .any(|r| r.dst.prefix_len() == 0 && r.via.is_some_and(|v| !owned.contains(&v)))
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| {
            (
                !edge_like(&devices[i]),
                std::cmp::Reverse(adj[i].len()),
                devices[i].name.clone(),
            )
        });
        let mut parent: Vec<Option<usize>> = vec![None; n];
        let mut depth: Vec<usize> = vec![0; n];
        let mut seen = vec![false; n];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for &r in &order {
            if seen[r] {
                continue;
            }
            seen[r] = true;
            roots.push(r);
            let mut q = VecDeque::from([r]);
            while let Some(d) = q.pop_front() {
                for &x in &adj[d] {
                    if !seen[x] {
                        seen[x] = true;
                        parent[x] = Some(d);
                        depth[x] = depth[d] + 1;
                        children[d].push(x);
                        q.push_back(x);
                    }
                }
            }
        }
        let mut size = vec![1usize; n];
        let mut by_depth: Vec<usize> = (0..n).collect();
        by_depth.sort_by_key(|&i| std::cmp::Reverse(depth[i]));
        for &d in &by_depth {
            if let Some(p) = parent[d] {
                size[p] += size[d];
            }
        }
        let mut out = Areas::default();
        // The group a device's own area lives in, and where its members go: containers[d].
        let mut container: Vec<Option<String>> = vec![None; n];
        // Breadth first from the roots so that parents' areas exist before their members.
        let mut q: VecDeque<usize> = roots.iter().copied().collect();
        // Root devices sit at the top level; their members are placed by `place_members`.
        let mut placed_in: Vec<Option<String>> = vec![None; n];
        while let Some(d) = q.pop_front() {
            // The group d itself is drawn in.
            let here = placed_in[d].clone();
            if let Some(g) = &here {
                out.device_parent.insert(d, g.clone());
            }
            // Where d's members (devices behind it) go: d's own area unless d is a root.
            let inner = container[d].clone().or_else(|| here.clone());
            let kids = &children[d];
            // More than MAX_BRANCH devices behind d: split them into several areas.
            let chunks: Vec<&[usize]> = if kids.len() > MAX_BRANCH {
                kids.chunks(MAX_BRANCH).collect()
            } else {
                vec![kids.as_slice()]
            };
            let split = chunks.len() > 1;
            for (k, chunk) in chunks.iter().enumerate() {
                let target = if split {
                    let id = format!("area:{}#{}", devices[d].name, k + 1);
                    let first = chunk
                        .first()
                        .map_or(String::new(), |&c| devices[c].name.clone());
                    let last = chunk
                        .last()
                        .map_or(String::new(), |&c| devices[c].name.clone());
                    out.list.push(Area {
                        id: id.clone(),
                        label: format!("behind {} ({first} … {last})", devices[d].name),
                        parent: inner.clone(),
                        description: format!(
                            "devices {} to {} of those behind {}",
                            k * MAX_BRANCH + 1,
                            k * MAX_BRANCH + chunk.len(),
                            devices[d].name
                        ),
                    });
                    Some(id)
                } else {
                    inner.clone()
                };
                for &c in chunk.iter() {
                    if children[c].is_empty() {
                        placed_in[c] = target.clone();
                    } else {
                        let id = format!("area:{}", devices[c].name);
                        out.list.push(Area {
                            id: id.clone(),
                            label: format!("{} area", devices[c].name),
                            parent: target.clone(),
                            description: format!(
                                "{} and the {} devices behind it",
                                devices[c].name,
                                size[c] - 1
                            ),
                        });
                        placed_in[c] = Some(id.clone());
                        container[c] = Some(id);
                    }
                    q.push_back(c);
                }
            }
        }
        // Unzoned subnets go where the device nearest the root among theirs is drawn.
        for (si, s) in subnets.iter().enumerate() {
            if let Some(&(d, _, _)) = s.attach.iter().min_by_key(|(d, _, _)| (depth[*d], *d)) {
                if let Some(g) = placed_in[d].clone() {
                    out.subnet_parent.insert(si, g);
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
    fn plural_groups_digits() {
        assert_eq!(plural(1, "host"), "1 host");
        assert_eq!(plural(10000, "host"), "10,000 hosts");
        assert_eq!(plural(999, "subnet"), "999 subnets");
    }

    #[test]
    fn first_addresses_of_ranges() {
        assert_eq!(first_addr("10.20.1.2/31"), "10.20.1.2".parse().ok());
        assert_eq!(
            first_addr(" 10.20.1.11-10.20.1.254"),
            "10.20.1.11".parse().ok()
        );
        assert_eq!(first_addr("any"), None);
    }
}
