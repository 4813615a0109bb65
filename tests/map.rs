//! The network map (`portolan::report::map`): on the attack scenario, on every sample network of
//! the page, and on a generated estate of 1,000 devices and 10,000 hosts, the map is one
//! well-formed tree of groups, every host is in exactly one subnet, the heat is the exposure
//! analysis counted per node, attack paths cross nodes and edges that exist, and grouping keeps
//! what is drawn bounded.

#[path = "support/inputs.rs"]
mod inputs;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;

use portolan::reach::Analyzer;
use portolan::report::map::{EdgeKind, MapModel, MapView, NodeKind, VIEW_BUDGET};
use portolan::report::AnalyzeReport;
use portolan::Workspace;

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/attack");
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/samples");

fn analysed(ws: &Workspace) -> (AnalyzeReport, MapModel) {
    let an = Analyzer::new(ws);
    let rep = AnalyzeReport::build(&an, &an.default_origins());
    let map = MapModel::build(ws, Some(&rep));
    (rep, map)
}

/// Ids unique, parents existing and listed before their members, no cycles, edges between
/// existing nodes, every host inside a subnet whose prefix holds the host's address.
fn check_well_formed(m: &MapModel) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in m.nodes.iter().enumerate() {
        assert!(
            seen.insert(n.id.as_str(), i).is_none(),
            "node id {} twice",
            n.id
        );
        if let Some(p) = &n.parent {
            let pi = *seen
                .get(p.as_str())
                .unwrap_or_else(|| panic!("{}: parent {p} missing or listed after it", n.id));
            let pk = m.nodes[pi].kind;
            assert!(
                matches!(pk, NodeKind::Zone | NodeKind::Area | NodeKind::Subnet),
                "{} inside a {:?}",
                n.id,
                pk
            );
        }
    }
    let mut edge_ids = BTreeSet::new();
    for e in &m.edges {
        assert!(edge_ids.insert(e.id.as_str()), "edge id {} twice", e.id);
        assert!(
            seen.contains_key(e.source.as_str()),
            "edge {}: no node {}",
            e.id,
            e.source
        );
        assert!(
            seen.contains_key(e.target.as_str()),
            "edge {}: no node {}",
            e.id,
            e.target
        );
        assert_ne!(e.source, e.target);
    }
    for n in m.nodes.iter().filter(|n| n.kind == NodeKind::Host) {
        let p = n
            .parent
            .as_deref()
            .unwrap_or_else(|| panic!("host {} outside any subnet", n.id));
        let subnet = &m.nodes[seen[p]];
        assert_eq!(subnet.kind, NodeKind::Subnet, "host {} is in {}", n.id, p);
        let net: ipnet::IpNet = subnet.detail.addresses[0].parse().unwrap();
        let addr: IpAddr = n.detail.addresses[0].parse().unwrap();
        assert!(net.contains(&addr), "host {} is not in {}", n.id, p);
    }
    // Group counts: a group's hosts are the hosts below it.
    let mut below: HashMap<String, usize> = HashMap::new();
    for n in m.nodes.iter().filter(|n| n.kind == NodeKind::Host) {
        for a in ancestors(m, &seen, &n.id) {
            *below.entry(a).or_default() += 1;
        }
    }
    for g in m
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Zone | NodeKind::Area | NodeKind::Subnet))
    {
        assert_eq!(
            g.members.hosts,
            below.get(&g.id).copied().unwrap_or(0),
            "host count of {}",
            g.id
        );
    }
    for p in &m.paths {
        for n in &p.nodes {
            assert!(
                seen.contains_key(n.as_str()),
                "path {} crosses a missing node {n}",
                p.index
            );
        }
        for e in &p.edges {
            assert!(
                edge_ids.contains(e.as_str()),
                "path {} crosses a missing edge {e}",
                p.index
            );
        }
    }
}

fn ancestors(m: &MapModel, index: &HashMap<&str, usize>, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = index.get(id).and_then(|&i| m.nodes[i].parent.clone());
    while let Some(p) = cur {
        assert!(out.len() < 64, "{id}: a cycle of groups");
        cur = index
            .get(p.as_str())
            .and_then(|&i| m.nodes[i].parent.clone());
        out.push(p);
    }
    out
}

/// A view's edges join visible nodes, its ids are unique, and its paths name only visible
/// nodes and the view's edges.
fn check_view(v: &MapView) {
    let ids: BTreeSet<&str> = v.nodes.iter().map(|n| n.node.id.as_str()).collect();
    assert_eq!(ids.len(), v.nodes.len(), "view node ids unique");
    let mut eids = BTreeSet::new();
    for e in &v.edges {
        assert!(eids.insert(e.id.as_str()));
        assert!(
            ids.contains(e.source.as_str()) && ids.contains(e.target.as_str()),
            "view edge {} dangles",
            e.id
        );
    }
    for n in &v.nodes {
        if let Some(p) = &n.node.parent {
            assert!(
                ids.contains(p.as_str()),
                "{} is drawn inside {p}, which is not drawn",
                n.node.id
            );
        }
    }
    for p in &v.paths {
        assert!(p.nodes.iter().all(|n| ids.contains(n.as_str())));
        assert!(p.edges.iter().all(|e| eids.contains(e.as_str())));
    }
}

/// Each host's and device's heat is the analysis's exposures to its addresses, per origin.
fn check_heat(rep: &AnalyzeReport, m: &MapModel) {
    let mut want: BTreeMap<(IpAddr, String), (usize, usize)> = BTreeMap::new();
    for e in &rep.exposure.exposures {
        if let Ok(a) = e.ip.parse::<IpAddr>() {
            let w = want.entry((a, e.origin.clone())).or_default();
            w.0 += 1;
            w.1 += usize::from(e.certainty == portolan::report::Certainty::Definite);
        }
    }
    let mut counted = 0;
    for n in m.nodes.iter().filter(|n| n.kind == NodeKind::Host) {
        let addrs: Vec<IpAddr> = n
            .detail
            .addresses
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        for o in &m.origins {
            let (services, definite) = addrs.iter().fold((0, 0), |acc, a| {
                let w = want.get(&(*a, o.clone())).copied().unwrap_or_default();
                (acc.0 + w.0, acc.1 + w.1)
            });
            let got = n.heat.exposed.iter().find(|x| x.origin == *o);
            assert_eq!(got.map_or(0, |x| x.services), services, "{} from {o}", n.id);
            assert_eq!(
                got.map_or(0, |x| x.definite),
                definite,
                "{} from {o} (definite)",
                n.id
            );
            counted += services;
        }
        assert_eq!(
            n.heat.exposed_nodes,
            usize::from(!n.heat.exposed.is_empty())
        );
        assert_eq!(
            n.heat.level > 0,
            !n.heat.exposed.is_empty(),
            "{}: level {}",
            n.id,
            n.heat.level
        );
    }
    // Exposures to hosts and devices plus those to ranges add up, at every level of grouping.
    let top_services: usize = m
        .nodes
        .iter()
        .filter(|n| n.parent.is_none())
        .flat_map(|n| &n.heat.exposed)
        .map(|o| o.services)
        .sum();
    let ranges = rep
        .exposure
        .exposures
        .iter()
        .filter(|e| e.ip.parse::<IpAddr>().is_err())
        .count();
    assert!(
        top_services >= counted,
        "groups hold at least the hosts' exposures"
    );
    assert!(
        top_services <= rep.exposure.exposures.len() + ranges * 4,
        "no exposure counted many times"
    );
}

#[test]
fn attack_scenario() {
    let ws = Workspace::load(inputs::dir_inputs(Path::new(SCENARIO), &[]));
    let (rep, m) = analysed(&ws);
    check_well_formed(&m);
    check_heat(&rep, &m);
    assert!(m.analysed);
    assert_eq!(m.origins, ["internet", "vendor", "phished"]);
    assert_eq!(m.counts.devices, 2);
    let node = |id: &str| {
        m.nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    };
    // The database: a crown jewel in its subnet, reached by the phished workstation.
    let db = node("host:10.20.2.5");
    assert_eq!(db.parent.as_deref(), Some("subnet:10.20.2.0/24"));
    assert!(db.heat.jewel);
    assert!(db.detail.names.contains(&"db".to_string()));
    assert!(db.detail.services.iter().any(|s| s.starts_with("tcp/5432")));
    // The web shop: critical vulnerability with a public exploit, open to the Internet.
    let web = node("host:192.168.10.20");
    assert_eq!(web.heat.worst.as_deref(), Some("critical"));
    assert_eq!(web.heat.level, 4);
    assert!(web
        .heat
        .exposed
        .iter()
        .any(|o| o.origin == "internet" && o.services > 0));
    assert!(web
        .detail
        .vulnerabilities
        .iter()
        .any(|v| v.cves.iter().any(|c| c == "CVE-2021-41773")));
    // A device: its files with coverage.
    let edge = node("device:edge");
    assert_eq!(edge.detail.files.len(), 3);
    assert!(edge
        .detail
        .files
        .iter()
        .all(|f| f.status == "ok" && f.coverage > 0.0));
    // The transit /30 between the firewalls is a link; the Internet enters at edge's eth0.
    assert!(m
        .edges
        .iter()
        .any(|e| e.kind == EdgeKind::Link && e.label == "10.0.0.0/30"));
    assert!(m.edges.iter().any(|e| e.kind == EdgeKind::Entry
        && e.source == "origin:internet"
        && e.target == "device:edge"
        && e.label == "eth0"));
    // The phished workstations are inside their subnet.
    assert!(m.edges.iter().any(|e| e.kind == EdgeKind::Entry
        && e.source == "origin:phished"
        && e.target == "subnet:10.20.3.0/24"));
    // Every attack path starts at its origin's node and ends at its target.
    assert_eq!(m.paths.len(), rep.attack.attack_paths.len());
    assert!(!m.paths.is_empty());
    for p in &m.paths {
        assert_eq!(
            p.nodes.first().map(String::as_str),
            Some(format!("origin:{}", p.origin).as_str())
        );
        assert_eq!(
            p.nodes.last().map(String::as_str),
            Some("host:10.20.2.5"),
            "path {} ends at the database",
            p.index
        );
        assert_eq!(p.steps.len(), rep.attack.attack_paths[p.index].steps.len());
        assert!(!p.edges.is_empty());
    }
    // The Internet's best path goes web → app → db through both firewalls.
    let first = m.paths.iter().find(|p| p.origin == "internet").unwrap();
    for n in [
        "origin:internet",
        "host:192.168.10.20",
        "host:10.20.1.10",
        "device:edge",
        "device:core",
    ] {
        assert!(
            first.nodes.iter().any(|x| x == n),
            "internet path crosses {n}"
        );
    }
    assert!(first
        .edges
        .iter()
        .any(|e| e.starts_with("entry:origin:internet>device:edge")));
    // A small estate is drawn whole by default.
    let v = m.view(None);
    check_view(&v);
    assert_eq!(v.nodes.len(), m.nodes.len());
    assert!(v.nodes.iter().all(|n| !n.collapsed));
}

#[test]
fn closing_a_subnet_draws_it_as_one_node() {
    let ws = Workspace::load(inputs::dir_inputs(Path::new(SCENARIO), &[]));
    let (_, m) = analysed(&ws);
    let mut open = m.default_expanded();
    assert!(open.iter().any(|g| g == "subnet:10.20.2.0/24"));
    open.retain(|g| g != "subnet:10.20.2.0/24");
    let v = m.view(Some(&open));
    check_view(&v);
    assert!(!v.nodes.iter().any(|n| n.node.id == "host:10.20.2.5"));
    let s = v
        .nodes
        .iter()
        .find(|n| n.node.id == "subnet:10.20.2.0/24")
        .unwrap();
    assert!(s.collapsed);
    assert_eq!(s.node.members.hosts, 1);
    assert!(
        s.node.heat.jewel,
        "a closed group shows the crown jewel inside"
    );
    // Paths to the database now end at its subnet.
    for p in &v.paths {
        assert_eq!(
            p.nodes.last().map(String::as_str),
            Some("subnet:10.20.2.0/24")
        );
        assert!(
            p.groups.iter().any(|g| g == "subnet:10.20.2.0/24"),
            "the path names the group to open"
        );
    }
}

/// A sample network of the page, as the page loads it (samples/index.json: its files, and its
/// manifest given apart as `--manifest`).
fn sample(info: &serde_json::Value) -> Workspace {
    let read = |name: &str| {
        let bytes = std::fs::read(Path::new(SAMPLES).join(name)).unwrap();
        portolan::InputFile {
            path: name.to_string(),
            bytes,
        }
    };
    let files = info["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| read(f.as_str().unwrap()))
        .collect();
    let manifest = info["manifest"].as_str().map(read);
    Workspace::load_with_manifest(files, manifest)
}

#[test]
fn every_sample_network() {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(SAMPLES).join("index.json")).unwrap())
            .unwrap();
    let samples = index["samples"].as_array().unwrap();
    assert!(samples.len() >= 3);
    for info in samples {
        let id = info["id"].as_str().unwrap();
        let ws = sample(info);
        assert!(!ws.network.devices.is_empty(), "{id}");
        let (rep, m) = analysed(&ws);
        check_well_formed(&m);
        check_heat(&rep, &m);
        check_view(&m.view(None));
        assert_eq!(m.counts.devices, ws.network.devices.len(), "{id}");
        // Without an analysis: the same network, no heat.
        let bare = MapModel::build(&ws, None);
        check_well_formed(&bare);
        assert!(!bare.analysed && bare.paths.is_empty());
        assert!(bare
            .nodes
            .iter()
            .all(|n| n.heat.exposed.is_empty() && n.heat.level == 0));
        let ids = |m: &MapModel| {
            m.nodes
                .iter()
                .filter(|n| n.kind != NodeKind::Origin)
                .map(|n| n.id.clone())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(
            ids(&bare),
            ids(&m),
            "{id}: the network's nodes do not depend on the analysis"
        );
    }
}

#[test]
fn the_manifests_zones_hold_their_subnets() {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(SAMPLES).join("index.json")).unwrap())
            .unwrap();
    let info = index["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "dmz-db-vendor-policy")
        .unwrap();
    let (_, m) = analysed(&sample(info));
    check_well_formed(&m);
    let parent = |id: &str| {
        m.nodes
            .iter()
            .find(|n| n.id == id)
            .and_then(|n| n.parent.clone())
    };
    // policy.yaml: dmz 192.168.10.0/24, apps 10.20.1.0/24, data 10.20.2.0/24, lan 10.20.3.0/24.
    for (subnet, zone) in [
        ("subnet:192.168.10.0/24", "zone:dmz"),
        ("subnet:10.20.1.0/24", "zone:apps"),
        ("subnet:10.20.2.0/24", "zone:data"),
        ("subnet:10.20.3.0/24", "zone:lan"),
    ] {
        assert_eq!(parent(subnet).as_deref(), Some(zone), "{subnet}");
    }
    assert_eq!(
        parent("host:10.20.2.5").as_deref(),
        Some("subnet:10.20.2.0/24")
    );
    assert_eq!(m.counts.zones, 4);
    let data = m.nodes.iter().find(|n| n.id == "zone:data").unwrap();
    assert_eq!((data.members.subnets, data.members.hosts), (1, 1));
    assert!(data.heat.jewel, "the zone shows the crown jewel inside");
    // Subnets no zone names stay at the top level.
    assert_eq!(parent("subnet:203.0.113.0/24"), None);
    // Closing a zone draws it as one node standing for its subnet and host.
    let mut open = m.default_expanded();
    open.retain(|g| g != "zone:data");
    let v = m.view(Some(&open));
    check_view(&v);
    assert!(v
        .nodes
        .iter()
        .any(|n| n.node.id == "zone:data" && n.collapsed));
    assert!(!v
        .nodes
        .iter()
        .any(|n| n.node.id == "host:10.20.2.5" || n.node.id == "subnet:10.20.2.0/24"));
    assert!(
        v.edges
            .iter()
            .any(|e| e.source == "device:core" && e.target == "zone:data"),
        "the attachment ends at the zone"
    );
}

#[test]
fn a_large_estate_is_drawn_in_groups() {
    let net = portolan::synth::Network::generate(1_000, 4_000, 10_000, 7);
    let mut files = net.input_files();
    files.push(net.vuln_scan(2_000, 7));
    // The same files for the page's frame-rate benchmark (benches/map-frames.mjs).
    if let Some(dir) = std::env::var_os("PORTOLAN_MAP_ESTATE_DIR") {
        for f in &files {
            let p = Path::new(&dir).join(&f.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, &f.bytes).unwrap();
        }
    }
    let ws = Workspace::load(files);
    assert_eq!(ws.network.devices.len(), 1_000);
    let m = MapModel::build(&ws, None);
    check_well_formed(&m);
    assert_eq!(m.counts.devices, 1_000);
    assert_eq!(m.counts.hosts, net.host_addrs.len());
    assert_eq!(net.host_addrs.len(), 10_000);
    // Every host is in exactly one group chain: its subnet, inside an area or at the top.
    let host_ids: BTreeSet<String> = net.host_addrs.iter().map(|a| format!("host:{a}")).collect();
    let drawn: BTreeSet<String> = m
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Host)
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(host_ids, drawn);
    let top_hosts: usize = m
        .nodes
        .iter()
        .filter(|n| n.parent.is_none())
        .map(|n| n.members.hosts + usize::from(n.kind == NodeKind::Host))
        .sum();
    assert_eq!(
        top_hosts, 10_000,
        "the top-level groups hold every host once"
    );
    assert!(m.counts.areas > 0);
    // Drawn by default: a bounded number of elements.
    let v = m.view(None);
    check_view(&v);
    let kinds = |v: &MapView| {
        let mut k: BTreeMap<String, usize> = BTreeMap::new();
        for n in &v.nodes {
            *k.entry(format!(
                "{:?}{}",
                n.node.kind,
                if n.node.parent.is_none() { " top" } else { "" }
            ))
            .or_default() += 1;
        }
        k
    };
    assert!(
        v.nodes.len() <= VIEW_BUDGET,
        "{} nodes drawn: {:?}",
        v.nodes.len(),
        kinds(&v)
    );
    assert!(
        v.nodes.len() + v.edges.len() <= 3 * VIEW_BUDGET,
        "{} elements drawn",
        v.nodes.len() + v.edges.len()
    );
    assert!(v.nodes.iter().any(|n| n.collapsed));
    // Nothing open at all: a handful of elements.
    let closed = m.view(Some(&[]));
    check_view(&closed);
    assert!(
        closed.nodes.len() < 60,
        "{} top-level nodes",
        closed.nodes.len()
    );
    // Opening one more group adds only its own members.
    let g = v
        .nodes
        .iter()
        .find(|n| n.collapsed && n.node.kind == NodeKind::Area)
        .expect("a closed area");
    let mut open = v.expanded.clone();
    open.push(g.node.id.clone());
    let w = m.view(Some(&open));
    check_view(&w);
    assert_eq!(w.nodes.len(), v.nodes.len() + g.children);
    assert!(
        g.children <= 2 * portolan::report::map::MAX_BRANCH + 16,
        "{} members in one area",
        g.children
    );
    // Opening every group draws everything.
    let all: Vec<String> = m.nodes.iter().map(|n| n.id.clone()).collect();
    let full = m.view(Some(&all));
    assert_eq!(full.nodes.len(), m.nodes.len());
    assert_eq!(full.edges.len(), m.edges.len());
}
