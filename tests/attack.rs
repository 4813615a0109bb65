//! Attack paths, choke points and what-if on the scenario written for them
//! (`tests/golden/scenarios/attack`: an edge firewall with a DMZ web shop and a vendor VPN, a
//! core firewall in front of the application, database and office LAN; nmap and Nessus scans).

use std::path::Path;

#[path = "support/inputs.rs"]
mod inputs;

use portolan::attack::{self, Options};
use portolan::reach::Analyzer;
use portolan::{InputFile, Workspace};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/attack");


fn scenario() -> Workspace {
    Workspace::load(inputs::dir_inputs(Path::new(SCENARIO), &[]))
}

fn without(ws_files: &[&str]) -> Workspace {
    let mut v = inputs::dir_inputs(Path::new(SCENARIO), &[]);
    v.retain(|f| !ws_files.contains(&f.path.as_str()));
    Workspace::load(v)
}

/// A generated estate of `devices` routers (100 rules each) and `hosts` hosts, with a scan
/// finding 5 vulnerabilities per host and 5 crown jewels.
fn estate(devices: usize, hosts: usize, seed: u64) -> (portolan::synth::Network, Workspace) {
    let net = portolan::synth::Network::generate(devices, devices * 100, hosts, seed);
    let mut files = net.input_files();
    files.push(net.vuln_scan(hosts * 5, seed));
    files.push(net.attack_manifest(5));
    let ws = Workspace::load(files);
    (net, ws)
}

fn report(ws: &Workspace) -> attack::AttackReport {
    let an = Analyzer::new(ws);
    attack::analyze(&an, &an.default_origins(), &Options::default())
}

fn steps(p: &attack::AttackPath) -> Vec<String> {
    p.steps.iter().map(|s| format!("{}>{} {}/{}", s.from, s.to, s.proto, s.port)).collect()
}

fn best<'a>(r: &'a attack::AttackReport, origin: &str) -> &'a attack::AttackPath {
    r.attack_paths.iter().find(|p| p.origin == origin && p.rank == 1).unwrap_or_else(|| panic!("no path from {origin}"))
}

#[test]
fn every_origin_reaches_the_database_along_its_most_likely_path() {
    let r = report(&scenario());
    assert_eq!(r.crown_jewels, vec![("10.20.2.5".to_string(), Some("db".to_string()))]);
    // The Internet: the web shop's Apache path traversal, Tomcat's upload flaw on the
    // application server, then a database login.
    let p = best(&r, "internet");
    assert_eq!(steps(p), ["internet>192.168.10.20 tcp/443", "192.168.10.20>10.20.1.10 tcp/8080", "10.20.1.10>10.20.2.5 tcp/5432"]);
    let want = 0.95 * (0.1 + 0.8 * 0.81 + 0.1) * 0.3;
    assert!((p.likelihood - want).abs() < 1e-6, "{} vs {want}", p.likelihood);
    assert_eq!(p.owner, "it");
    assert!(matches!(&p.steps[0].way, attack::WayKind::Vulnerability { cves, .. } if cves.contains(&"CVE-2021-41773".to_string())));
    assert!(p.steps[0].why.contains("public exploit"), "{}", p.steps[0].why);
    assert!(matches!(&p.steps[2].way, attack::WayKind::Credential { label } if label == "postgresql"));
    // Every step names the rules that let its connection through, with file and line.
    let rules: Vec<String> = p.steps.iter().flat_map(|s| s.hops.iter()).filter(|h| h.direction == "forward").filter_map(|h| h.rule.as_ref()).map(|r| format!("{}:{}", r.file, r.line)).collect();
    assert_eq!(rules, ["edge/edge.iptables:9", "edge/edge.iptables:10", "core/core.iptables:9", "core/core.iptables:11"]);
    // The vendor: SSH to the application server (the vendor's own scope), then the database.
    let v = best(&r, "vendor");
    assert_eq!(steps(v), ["vendor>10.20.1.10 tcp/22", "10.20.1.10>10.20.2.5 tcp/5432"]);
    assert_eq!(v.owner, "vendor");
    // A phished workstation: straight to the database through the reporting rule; the
    // alternatives go through the application server or a neighbour's SMB.
    let ph: Vec<&attack::AttackPath> = r.attack_paths.iter().filter(|p| p.origin == "phished").collect();
    assert_eq!(steps(ph[0]), ["phished>10.20.2.5 tcp/5432"]);
    assert!(ph[0].shortest && ph[0].owner == "employees");
    assert!(ph.iter().any(|p| steps(p) == ["phished>10.20.1.10 tcp/22", "10.20.1.10>10.20.2.5 tcp/5432"]));
    assert!(ph.windows(2).all(|w| w[0].likelihood >= w[1].likelihood && w[0].rank < w[1].rank));
    assert!(r.attack_paths.iter().all(|p| p.certainty == portolan::report::Certainty::Definite));
}

#[test]
fn local_and_host_wide_vulnerabilities_are_not_ways_in() {
    let ws = scenario();
    let an = Analyzer::new(&ws);
    let g = attack::Graph::build(&an, &an.default_origins(), &Options::default());
    let app = g.assets.iter().find(|a| a.addr.to_string() == "10.20.1.10").unwrap();
    // The kernel flaw (AV:L, port 0) is reported on the host but offers no way in.
    assert!(app.services.iter().all(|c| c.ways.iter().all(|w| !matches!(&w.kind, attack::WayKind::Vulnerability { id, .. } if id == "160478"))));
    assert!(app.services.iter().any(|c| c.port == 8080 && c.ways.iter().any(|w| matches!(&w.kind, attack::WayKind::Vulnerability { id, .. } if id == "103697"))));
    // The web shop's HTTPS has no credential login: without its vulnerability it is no way in.
    let r = report(&without(&["vulns.nessus"]));
    assert!(r.attack_paths.iter().all(|p| p.origin != "internet"), "{:?}", r.attack_paths.iter().map(steps).collect::<Vec<_>>());
}

#[test]
fn hosts_without_a_scan_get_the_usual_logins_assumed_and_discounted() {
    let r = report(&without(&["scan.xml", "vulns.nessus"]));
    let v = best(&r, "vendor");
    assert_eq!(steps(v), ["vendor>10.20.1.10 tcp/22", "10.20.1.10>10.20.2.5 tcp/5432"]);
    assert!(v.steps.iter().all(|s| !s.confirmed));
    assert!((v.likelihood - 0.15 * 0.15).abs() < 1e-9, "{}", v.likelihood);
}

#[test]
fn choke_points_cut_every_path_spare_what_must_reach_and_are_proven() {
    let ws = scenario();
    let r = report(&ws);
    let c = &r.choke_points;
    assert_eq!(c.pairs_before, 3);
    assert!(c.proven && c.pairs_after == 0, "{c:?}");
    assert!(!c.changes.is_empty() && c.changes.len() <= 4, "{:?}", c.changes.iter().map(|x| &x.what).collect::<Vec<_>>());
    // The application keeps its database.
    assert!(c.changes.iter().all(|x| x.breaks.is_empty()), "{c:?}");
    assert!(c.changes.iter().all(|x| !x.what.contains("10.20.2.5")), "{c:?}");
    // Independent check: make every change and recompute from scratch.
    let edits: Vec<portolan::whatif::Edit> = c.changes.iter().map(|x| x.edit.clone()).collect();
    let (ws2, unmatched) = portolan::whatif::apply(&ws, &edits);
    let mut opts = Options::default();
    for e in &edits {
        match e {
            portolan::whatif::Edit::ClosePort { addr, proto, port } => opts.closed.push((*addr, *proto, *port)),
            portolan::whatif::Edit::Patch { addr, id } => opts.patched.push((*addr, id.clone())),
            _ => {}
        }
    }
    assert!(unmatched.is_empty(), "{unmatched:?}");
    let an2 = Analyzer::new(&ws2);
    let after = attack::analyze(&an2, &an2.default_origins(), &opts);
    assert!(after.attack_paths.is_empty(), "{:?}", after.attack_paths.iter().map(steps).collect::<Vec<_>>());
    // Each change alone cuts what it claims: recomputed here with that change only.
    for x in &c.changes {
        let (w, _) = portolan::whatif::apply(&ws, std::slice::from_ref(&x.edit));
        let mut o = Options::default();
        if let portolan::whatif::Edit::Patch { addr, id } = &x.edit {
            o.patched.push((*addr, id.clone()));
        }
        if let portolan::whatif::Edit::ClosePort { addr, proto, port } = &x.edit {
            o.closed.push((*addr, *proto, *port));
        }
        let an = Analyzer::new(&w);
        let left = attack::analyze(&an, &an.default_origins(), &o);
        for cut in &x.cuts {
            let origin = cut.split(" → ").next().unwrap();
            assert!(left.attack_paths.iter().all(|p| p.origin != origin), "{} claims to cut {cut}", x.what);
        }
    }
}

#[test]
fn what_if_a_rule_goes_and_diff_names_what_changed() {
    use portolan::report::diff::DiffReport;
    use portolan::report::AnalyzeReport;
    let ws = scenario();
    let an = Analyzer::new(&ws);
    let origins = an.default_origins();
    let before = AnalyzeReport::build(&an, &origins);
    // Identical inputs: nothing changes.
    let again = AnalyzeReport::build(&an, &origins);
    assert!(DiffReport::build(&before, &again).is_empty());
    // Deleting the reporting tool's rule (core line 13) removes the phished workstations' direct
    // path to the database, and only paths through that rule.
    let (ws2, _) = portolan::whatif::apply(&ws, &[portolan::whatif::Edit::DeleteRule { file: "core/core.iptables".into(), line: 13 }]);
    let an2 = Analyzer::new(&ws2);
    let after = AnalyzeReport::build(&an2, &origins);
    let d = DiffReport::build(&before, &after);
    assert!(d.paths_added.is_empty());
    assert!(d.paths_removed.iter().any(|p| steps(p) == ["phished>10.20.2.5 tcp/5432"]));
    assert!(d.paths_removed.iter().all(|p| p.origin == "phished" && p.steps.iter().any(|s| s.to == "10.20.2.5" && s.hops.iter().any(|h| h.rule.as_ref().is_some_and(|r| r.line == 13)))));
    assert!(d.exposures_removed.iter().any(|c| c.exposure.origin == "phished" && c.exposure.ip == "10.20.2.5" && c.changed_ports == "5432"));
    assert!(d.exposures_added.is_empty());
}

#[test]
fn the_pages_sample_is_this_scenario() {
    // www/samples/dmz-db-vendor is the page's copy of this scenario: they must not drift apart.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/www/samples/dmz-db-vendor");
    let a = inputs::dir_inputs(Path::new(SCENARIO), &[]);
    let b = inputs::dir_inputs(Path::new(sample), &[]);
    let key = |f: &InputFile| (f.path.clone(), f.bytes.clone());
    assert_eq!(a.iter().map(key).collect::<Vec<_>>(), b.iter().map(key).collect::<Vec<_>>());
}

#[test]
fn a_scanned_host_with_everything_closed_gets_no_assumed_logins() {
    // Closing the database's only service must not turn it into an unscanned host with the
    // usual logins assumed.
    let ws = scenario();
    let (ws2, _) = portolan::whatif::apply(&ws, &[portolan::whatif::Edit::ClosePort { addr: "10.20.2.5".parse().unwrap(), proto: 6, port: 5432 }]);
    let an = Analyzer::new(&ws2);
    let g = attack::Graph::build(&an, &an.default_origins(), &Options::default());
    let db = g.assets.iter().find(|a| a.addr.to_string() == "10.20.2.5").unwrap();
    assert!(db.scanned && db.services.is_empty(), "{db:?}");
    assert!(attack::report_paths(&g, 5).attack_paths.is_empty());
}

#[test]
fn every_foothold_gets_the_edges_it_gets_when_asked_alone() {
    // Hosts of one subnet are asked together, those reached later included: each must end with
    // exactly the connections it has when asked alone, and a host never reached with none.
    use petgraph::visit::EdgeRef;
    use portolan::report::Verdict;
    use std::collections::BTreeSet;
    let (net, ws) = estate(10, 100, 3);
    let an = Analyzer::new(&ws);
    let g = attack::Graph::build(&an, &net.origins(), &Options::default());
    assert!(g.notes.is_empty(), "{:?}", g.notes);
    let label = |n| g.label(n);
    let got: BTreeSet<(String, String, u8, u16, bool)> = g
        .g
        .edge_references()
        .filter(|e| matches!(g.g[e.source()], attack::Node::Host(_)))
        .map(|e| (label(e.source()), label(e.target()), e.weight().proto, e.weight().port, e.weight().certainty == portolan::report::Certainty::Definite))
        .collect();
    let reached: Vec<usize> = g.asset_nodes.iter().enumerate().filter(|(_, &n)| g.g.edges_directed(n, petgraph::Direction::Incoming).next().is_some()).map(|(i, _)| i).collect();
    assert!(reached.len() > 20 && reached.len() < g.assets.len(), "{} of {} hosts reached: the test needs some of each", reached.len(), g.assets.len());
    let mut want = BTreeSet::new();
    for &i in &reached {
        let me = &g.assets[i];
        let targets: Vec<(std::net::IpAddr, u8, u16, usize)> = g
            .assets
            .iter()
            .enumerate()
            .filter(|&(t, _)| t != i)
            .flat_map(|(t, a)| a.services.iter().filter(|s| !s.ways.is_empty()).map(move |s| (a.addr, s.proto, s.port, t)))
            .collect();
        let asked: Vec<(std::net::IpAddr, u8, u16)> = targets.iter().map(|&(a, p, q, _)| (a, p, q)).collect();
        for (k, r) in an.reach_targets(&me.addr.to_string(), &an.targets(&asked)).unwrap() {
            if r.verdict != Verdict::Denied {
                let (a, p, q, _) = targets[k];
                want.insert((me.addr.to_string(), a.to_string(), p, q, r.verdict == Verdict::Allowed));
            }
        }
    }
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    assert!(extra.is_empty() && missing.is_empty(), "edges not asked alone: {extra:?}; edges missing: {missing:?}");
    assert!(got.len() > 1_000, "{} edges", got.len());
}

/// A graph rebuilt after rule edits, taking from the graph before the answers of every question
/// (or of every target of a question) that no packet meeting an edited rule went to, is the
/// graph built afresh from the edited inputs: every edge with its evidence, in order, and every
/// note. Checked for rules that let the graph's edges through (deleted, or made to drop), for
/// drop rules made to accept, for rules all over the estate, and for a second edit rebuilt from
/// the graph the first edit rebuilt; some questions are taken over, some asked again in part.
#[test]
fn a_graph_rebuilt_after_rule_edits_is_the_graph_built_afresh() {
    use petgraph::visit::EdgeRef;
    use portolan::whatif::{self, Edit};
    let (net, ws) = estate(12, 120, 5);
    let an = Analyzer::new(&ws);
    let (origins, opts) = (net.origins(), Options::default());
    let g = attack::Graph::build(&an, &origins, &opts);
    let text = |g: &attack::Graph| {
        let mut t: Vec<String> = g.g.edge_references().map(|e| format!("{} -> {}: {:?}", g.label(e.source()), g.label(e.target()), e.weight())).collect();
        t.extend(g.notes.iter().cloned());
        t
    };
    // The rules letting edges through, and a few drop rules of the same files.
    let mut edits: Vec<Edit> = Vec::new();
    for e in g.g.edge_weights() {
        for r in e.connection.allowing.iter() {
            let del = Edit::DeleteRule { file: r.file.to_string(), line: r.line };
            if !edits.contains(&del) && edits.len() < 4 {
                edits.push(del);
            }
        }
    }
    assert!(edits.len() >= 2, "{edits:?}");
    let first = edits[0].clone();
    if let Edit::DeleteRule { file, line } = &first {
        edits.push(Edit::SetAction { file: file.clone(), line: *line, action: "drop".into() });
    }
    let drops: Vec<Edit> = ws
        .network
        .devices
        .iter()
        .flat_map(|d| d.firewall.iter().flat_map(|f| f.rulesets.iter().flat_map(|rs| rs.rules.iter())))
        .filter(|r| matches!(r.action, portolan::model::Action::Drop) && r.prov.line > 0)
        .map(|r| Edit::SetAction { file: r.prov.file.to_string(), line: r.prov.line, action: "accept".into() })
        .take(2)
        .collect();
    assert!(!drops.is_empty());
    edits.extend(drops);
    // And rules all over the estate: deleted, made to drop, made to accept.
    let spread: Vec<Edit> = ws
        .network
        .devices
        .iter()
        .flat_map(|d| d.firewall.iter().flat_map(|f| f.rulesets.iter().flat_map(|rs| rs.rules.iter())))
        .filter(|r| r.prov.line > 0)
        .step_by(23)
        .take(12)
        .enumerate()
        .map(|(k, r)| {
            let (file, line) = (r.prov.file.to_string(), r.prov.line);
            match k % 3 {
                0 => Edit::DeleteRule { file, line },
                1 => Edit::SetAction { file, line, action: "drop".into() },
                _ => Edit::SetAction { file, line, action: "accept".into() },
            }
        })
        .collect();
    edits.extend(spread.iter().cloned());
    let (mut reused, mut past, mut partly, mut asked) = (0, 0, 0, 0);
    for edit in &edits {
        let changed = whatif::changed_devices(&ws, std::slice::from_ref(edit)).expect("a rule edit changes only devices");
        assert!(!changed.is_empty(), "{edit:?}");
        let (w2, unmatched) = whatif::apply(&ws, std::slice::from_ref(edit));
        assert!(unmatched.is_empty(), "{unmatched:?}");
        let an2 = Analyzer::new(&w2);
        let fresh = attack::Graph::build(&an2, &origins, &opts);
        // The what-if's way: only the edited device compiled again, the graph rebuilt.
        let an3 = Analyzer::rebuilt(&w2, &an, &changed);
        let again = attack::Graph::rebuild(&an3, &origins, &opts, &g, &changed);
        assert_eq!(text(&again), text(&fresh), "{edit:?}");
        let r = again.questions_reused();
        reused += r.taken;
        past += r.past_edits;
        partly += r.partly;
        asked += r.asked;
    }
    // Questions are taken over even where their walks pass the edited device, when no packet of
    // theirs meets a rule the edit changes, and asked again only for the targets of the packets
    // that do.
    assert!(reused > 0 && past > 0 && partly > 0, "{reused} questions taken over ({past} past the edited device), {partly} asked again in part, {asked} whole");
    // A graph rebuilt from a rebuilt graph: a second edit on top of the first, on another
    // device, and on the same device after a rule the first edit deleted (its rules are numbered
    // otherwise after that).
    let lines: Vec<(String, u32)> = ws
        .network
        .devices
        .iter()
        .flat_map(|d| d.firewall.iter().flat_map(|f| f.rulesets.iter().flat_map(|rs| rs.rules.iter())))
        .filter(|r| r.prov.line > 0)
        .map(|r| (r.prov.file.to_string(), r.prov.line))
        .collect();
    let mut pairs: Vec<Vec<Edit>> = spread.windows(2).take(3).map(|w| w.to_vec()).collect();
    for e in edits.iter().filter(|e| matches!(e, Edit::DeleteRule { .. })).take(3) {
        let Edit::DeleteRule { file, line } = e else { continue };
        for next in lines.iter().filter(|(f, l)| f == file && l > line).take(2) {
            pairs.push(vec![e.clone(), Edit::SetAction { file: next.0.clone(), line: next.1, action: "drop".into() }]);
        }
    }
    for pair in &pairs {
        let ch1 = whatif::changed_devices(&ws, &pair[..1]).unwrap();
        let (w1, _) = whatif::apply(&ws, &pair[..1]);
        let an1 = Analyzer::rebuilt(&w1, &an, &ch1);
        let g1 = attack::Graph::rebuild(&an1, &origins, &opts, &g, &ch1);
        let ch2 = whatif::changed_devices(&w1, &pair[1..]).unwrap();
        let (w2, unmatched) = whatif::apply(&w1, &pair[1..]);
        assert!(unmatched.is_empty(), "{unmatched:?}");
        let an2 = Analyzer::rebuilt(&w2, &an1, &ch2);
        let again = attack::Graph::rebuild(&an2, &origins, &opts, &g1, &ch2);
        assert_eq!(text(&again), text(&attack::Graph::build(&Analyzer::new(&w2), &origins, &opts)), "{pair:?}");
    }
    // Every device named but none changed: every question is taken over.
    let all: Vec<usize> = (0..ws.network.devices.len()).collect();
    let same = attack::Graph::rebuild(&an, &origins, &opts, &g, &all);
    assert_eq!((same.questions_reused().asked, same.questions_reused().partly), (0, 0));
    assert_eq!(text(&same), text(&g));
    // Edits of services change the scans, not only rules: no devices are named for them.
    let svc = (g.assets[0].addr, 6, 22);
    for e in [Edit::ClosePort { addr: svc.0, proto: svc.1, port: svc.2 }, Edit::PatchService { addr: svc.0, proto: svc.1, port: svc.2 }] {
        assert_eq!(whatif::changed_devices(&ws, std::slice::from_ref(&e)), None, "{e:?}");
    }
    // A service assumed closed: other hosts and other targets, nothing taken over.
    let (t, c) = g.assets.iter().enumerate().find_map(|(t, a)| a.services.first().map(|c| (t, c))).expect("a host with a service");
    let closed = Options { closed: vec![(g.assets[t].addr, c.proto, c.port)], ..Options::default() };
    let again = attack::Graph::rebuild(&an, &origins, &closed, &g, &[]);
    assert_eq!(text(&again), text(&attack::Graph::build(&an, &origins, &closed)));
    assert_ne!(text(&again), text(&g), "closing {:?} changes the graph", closed.closed);
    assert_eq!(again.questions_reused().taken, 0);
}
