//! Golden and engine tests for the Junos / SRX reader. Fixtures in `tests/golden/junos/` are
//! written for this project: `srx-edge.set` and `srx-edge.conf` are the same SRX in the `set`
//! and the hierarchical form (they must lower to the same model), `router-filters.conf` a router
//! with stateless filters, `groups-inactive.conf` groups, `inactive:` and annotations,
//! `errors.set` and `srx-errors.set` mistakes that must be reported.
//!
//! When the shared corpus is present, the Batfish srx-testbed configurations are read and
//! compared with what Batfish's reference output (`expected/srx-testbed.ref`) states about them.

use std::path::{Path, PathBuf};

use portolan::diag::{codes, Diagnostic, FileStatus, Severity};
use portolan::model::{Action, Firewall, Hook, RouteKind, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::{Analyzer, TestRow};
use portolan::report::FlowResult;
use portolan::{InputFile, Workspace};

mod support;
use support::snapshot;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/junos")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable")
}

fn load(name: &str) -> ParsedFile {
    parse::parse(0, name, &text(name))
}



fn fw(p: &ParsedFile) -> &Firewall {
    p.content.firewall.as_ref().expect("a firewall")
}

/// A rule that is not fully modelled always has a warning on its line (or, for rules built
/// from several statements, on a line of the same object): unknown constructs are never silent.
fn assert_unknowns_are_reported(p: &ParsedFile) {
    let Some(f) = p.content.firewall.as_ref() else { return };
    let warned = p.diags.iter().filter(|d| d.severity >= Severity::Warning).count();
    for rs in &f.rulesets {
        for r in &rs.rules {
            if !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_)) {
                assert!(warned > 0, "rule at line {} is not fully modelled but nothing is reported: {}", r.prov.line, r.prov.text);
            }
        }
    }
}

/// Every fixture has a test below (a new fixture without one fails here).
#[test]
fn every_fixture_is_tested() {
    let missing = support::untested_fixtures(&golden_dir(), include_str!("parse_junos.rs"));
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let $p = load($file);
            assert_eq!($p.format, Format::Junos, "detected format of {}", $file);
            assert_unknowns_are_reported(&$p);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(srx_edge_set, "srx-edge.set", |p| {
    // Only the policy naming an address given by DNS name is not fully understood.
    let warned: Vec<u32> = p.diags.iter().filter(|d| d.severity >= Severity::Warning).map(|d| d.line).collect();
    assert_eq!(warned, vec![46], "{:?}", p.diags);
    assert_eq!(p.device_hint.as_deref(), Some("edge-srx"));
    let f = fw(&p);
    assert!(f.stateful);
    let names: Vec<&str> = f.rulesets.iter().map(|r| r.name.as_str()).collect();
    for n in ["from-zone trust to-zone untrust", "from-zone untrust to-zone dmz", "global", "security policies", "host-inbound-traffic"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    // The deactivated policy is not there.
    assert!(f.rulesets.iter().all(|r| r.rules.iter().all(|x| !x.prov.text.contains("partner-mail"))));
    // ge-0/0/3 is disabled; zones are carried on interfaces.
    let i3 = p.content.interfaces.iter().find(|i| i.name == "ge-0/0/3.0").expect("ge-0/0/3.0");
    assert!(!i3.up);
    let i0 = p.content.interfaces.iter().find(|i| i.name == "ge-0/0/0.0").expect("ge-0/0/0.0");
    assert_eq!(i0.zone.as_deref(), Some("untrust"));
    // The static discard route.
    assert!(p.content.routes.iter().any(|r| r.kind == RouteKind::Blackhole && r.dst.to_string() == "198.51.100.0/24" && r.metric == 5));
    // NAT: destination NAT before filtering, source NAT after.
    assert!(f.hooks.iter().any(|h| h.hook == Hook::Prerouting && h.stage == Stage::DstNat && h.priority == -100));
    assert!(f.hooks.iter().any(|h| h.hook == Hook::Postrouting && h.stage == Stage::SrcNat && h.priority == 100));
    // The policy naming a dns-name address is not fully modelled, and says why.
    let cdn = f.rulesets.iter().find(|r| r.name == "from-zone dmz to-zone untrust").expect("dmz to untrust");
    assert!(cdn.rules[0].unknown.iter().any(|u| u.contains("cdn.example.net")), "{:?}", cdn.rules[0].unknown);
});

golden!(srx_edge_conf, "srx-edge.conf", |p| {
    let warned: Vec<u32> = p.diags.iter().filter(|d| d.severity >= Severity::Warning).map(|d| d.line).collect();
    assert_eq!(warned, vec![175], "{:?}", p.diags);
    assert_eq!(p.device_hint.as_deref(), Some("edge-srx"));
});

golden!(router_filters, "router-filters.conf", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("branch-r1"));
    let f = fw(&p);
    assert!(!f.stateful, "a router without a security stanza is stateless");
    // Only the unmodelled is-fragment is reported.
    let warned: Vec<u32> = p.diags.iter().filter(|d| d.severity >= Severity::Warning).map(|d| d.line).collect();
    assert_eq!(warned, vec![142], "{:?}", p.diags);
    // Every filter ends with the implicit discard, naming the filter, at its header line.
    for name in ["WAN-IN", "WAN-OUT", "PROTECT-RE"] {
        let rs = f.rulesets.iter().find(|r| r.name == name).expect(name);
        let last = rs.rules.last().expect("rules");
        assert_eq!(last.action, Action::Drop);
        assert!(last.conds.is_empty());
        assert_eq!(last.prov.text, format!("implicit discard at the end of filter {name}"));
    }
    // `except`: 10.10.0.0/28 is carved out of 10.10.0.0/24.
    let wan = f.rulesets.iter().find(|r| r.name == "WAN-IN").expect("WAN-IN");
    let web = wan.rules.iter().find(|r| r.prov.text.starts_with("term web")).expect("term web");
    let dst = web.conds.iter().find_map(|c| if let Test::Dst(v) = &c.test { Some(v.clone()) } else { None }).expect("dst");
    assert_eq!(dst.len(), 1);
    assert_eq!(dst[0].lo.to_string(), "10.10.0.16");
    assert_eq!(dst[0].hi.to_string(), "10.10.0.255");
    // The lo0 filter guards traffic to the device itself.
    assert!(f.hooks.iter().any(|h| h.hook == Hook::Input && f.rulesets[h.ruleset].name == "loopback input filter"));
    // Routes: IPv6 default, discard with preference 250, and the routing instance keeps its name.
    assert!(p.content.routes.iter().any(|r| r.dst.to_string() == "::/0" && r.table == "main"));
    assert!(p.content.routes.iter().any(|r| r.kind == RouteKind::Blackhole && r.metric == 250));
    assert!(p.content.routes.iter().any(|r| r.table == "MGMT" && r.via.is_some_and(|v| v.to_string() == "10.10.0.254")));
});

golden!(groups_inactive, "groups-inactive.conf", |p| {
    assert_eq!(p.status(), FileStatus::Ok, "{:?}", p.diags);
    assert_eq!(p.device_hint.as_deref(), Some("core-sw1"));
    // The inactive interface and the inactive family are not there.
    let names: Vec<&str> = p.content.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["ge-0/0/0.0", "ge-0/0/1.0"]);
    // The group's filter binding reached both ge- units; the route group was applied.
    let f = fw(&p);
    let disp = f.rulesets.iter().find(|r| r.name == "interface input filters").expect("dispatcher");
    assert_eq!(disp.rules.len(), 2);
    assert!(p.content.routes.iter().any(|r| r.dst.to_string() == "172.16.0.0/12"));
    // The inactive term is gone; the filter never applied in a group is not read.
    let lan = f.rulesets.iter().find(|r| r.name == "LAN-IN").expect("LAN-IN");
    assert_eq!(lan.rules.len(), 3);
    assert!(f.rulesets.iter().all(|r| r.name != "UNUSED"));
});

golden!(errors, "errors.set", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    let has = |line: u32, code: &str| p.diags.iter().any(|d| d.line == line && d.code == code);
    assert!(has(3, codes::BAD_VALUE), "bad prefix length");
    assert!(has(4, codes::UNDEFINED_REFERENCE), "undefined filter");
    assert!(has(7, codes::BAD_VALUE), "bad address");
    assert!(has(10, codes::BAD_VALUE), "bad port");
    assert!(has(12, codes::UNDEFINED_REFERENCE), "undefined prefix-list");
    assert!(has(14, codes::UNMODELLED_MATCH), "dscp");
    assert!(has(16, codes::UNMODELLED_TARGET), "routing-instance action");
    assert!(has(19, codes::UNRECOGNIZED), "unknown stanza");
    assert!(has(21, codes::UNMODELLED_MATCH), "dynamic routing");
    // One diagnostic for dynamic routing, naming both protocols.
    let dynamic: Vec<&Diagnostic> = p.diags.iter().filter(|d| d.reason.contains("dynamic routing")).collect();
    assert_eq!(dynamic.len(), 1);
    assert!(dynamic[0].reason.contains("ospf") && dynamic[0].reason.contains("bgp"));
    // The undefined filter makes the interface's answer unknown, not open or closed.
    let f = fw(&p);
    let disp = f.rulesets.iter().find(|r| r.name == "interface input filters").expect("dispatcher");
    assert!(disp.rules.iter().any(|r| matches!(&r.action, Action::Unknown(t) if t.contains("MISSING-FILTER"))));
});

golden!(srx_errors, "srx-errors.set", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    let has = |line: u32, code: &str| p.diags.iter().any(|d| d.line == line && d.code == code);
    assert!(has(8, codes::UNMODELLED_MATCH), "unknown host-inbound service");
    assert!(has(10, codes::UNDEFINED_REFERENCE), "undefined address");
    assert!(has(12, codes::UNDEFINED_REFERENCE), "undefined application");
    assert!(has(16, codes::UNMODELLED_MATCH), "RPC predefined application");
    assert!(has(21, codes::UNMODELLED_MATCH), "scheduler");
    assert!(has(23, codes::UNDEFINED_REFERENCE), "undefined zone");
    assert!(has(27, codes::BAD_VALUE), "bad default policy");
    assert!(has(31, codes::UNDEFINED_REFERENCE), "undefined pool");
    // The interface named without a unit is its unit 0.
    let f = fw(&p);
    let sp = f.rulesets.iter().find(|r| r.name == "security policies").expect("policies");
    assert!(sp.rules.iter().any(|r| r.conds.iter().any(|c| c.test == Test::OutIface("ge-0/0/0.0".into()))));
});

/// Both forms of the same configuration lower to the same model (lines and texts aside).
#[test]
fn set_and_hierarchical_forms_give_the_same_model() {
    let strip = |p: &ParsedFile| -> serde_json::Value {
        let mut v = serde_json::json!({
            "interfaces": p.content.interfaces,
            "routes": p.content.routes,
            "firewall": p.content.firewall,
            "device": p.device_hint,
        });
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    m.remove("line");
                    m.remove("text");
                    m.remove("file");
                    m.values_mut().for_each(walk);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    let a = strip(&load("srx-edge.set"));
    let b = strip(&load("srx-edge.conf"));
    assert_eq!(a, b);
}

// ---- Engine-level behaviour -------------------------------------------------------------

fn ws(files: &[&str]) -> Workspace {
    Workspace::load(files.iter().map(|f| InputFile::new(f.to_string(), text(f))).collect())
}

fn flow(w: &Workspace, src: &str, dst: &str, proto: &str, port: &str) -> FlowResult {
    Analyzer::new(w).flow(src, dst, proto, port, None).expect("a flow answer")
}

/// The line of the rule that stopped the first packet.
fn stopped_at(r: &FlowResult) -> Option<(u32, String)> {
    r.hops.iter().find(|h| matches!(h.outcome, "dropped" | "rejected")).and_then(|h| h.rule.as_ref()).map(|x| (x.line, x.text.to_string()))
}

#[test]
fn srx_zone_policies_nat_and_sessions() {
    for file in ["srx-edge.set", "srx-edge.conf"] {
        let w = ws(&[file]);
        // trust → untrust: permitted, source NAT to the interface, the reply returns.
        let r = flow(&w, "10.1.0.5", "8.8.8.8", "tcp", "443");
        assert_eq!(r.verdict.as_str(), "allowed", "{file}: {r:?}");
        assert!(r.hops.iter().any(|h| h.nat.iter().any(|n| n.kind == "masquerade" && n.to.starts_with("203.0.113.1:"))), "{r:?}");
        let reply = r.hops.iter().find(|h| h.direction == "reply").expect("the reply is followed");
        assert!(reply.decisions.iter().any(|d| &*d.text == "replies of permitted sessions (stateful firewall)"), "{reply:?}");
        // Internet → 203.0.113.1:8080: destination NAT to the DMZ web server's port 80, and the
        // policy matches the translated destination (policy `web`).
        let r = flow(&w, "100.64.5.7", "203.0.113.1", "tcp", "8080");
        assert_eq!(r.verdict.as_str(), "allowed", "{file}: {r:?}");
        assert!(r.hops.iter().any(|h| h.nat.iter().any(|n| n.kind == "dnat" && n.to == "10.2.0.10:80")), "{r:?}");
        assert!(r.hops.iter().any(|h| h.rule.as_ref().is_some_and(|x| x.ruleset.ends_with("from-zone untrust to-zone dmz"))));
        // SSH to the DMZ: denied by policy no-ssh (the policy's first line).
        let r = flow(&w, "100.64.5.7", "10.2.0.10", "tcp", "22");
        assert_eq!(r.verdict.as_str(), "denied");
        let (line, t) = stopped_at(&r).expect("a deciding rule");
        assert!(t.contains("no-ssh"), "{line} {t}");
        // Application set: junos-http and the custom tcp/8443.
        assert_eq!(flow(&w, "100.64.5.7", "10.2.0.10", "tcp", "8443").verdict.as_str(), "allowed");
        assert_eq!(flow(&w, "100.64.5.7", "10.2.0.10", "tcp", "443").verdict.as_str(), "denied");
        // The deactivated partner policy: static NAT happens but the default policy denies.
        let r = flow(&w, "198.18.0.9", "203.0.113.25", "tcp", "25");
        assert_eq!(r.verdict.as_str(), "denied");
        assert!(r.hops.iter().any(|h| h.nat.iter().any(|n| n.kind == "dnat" && n.to.starts_with("10.2.0.25:"))), "{r:?}");
        // trust → dmz: no zone-pair policy; the global policy permits DNS, the default denies the rest.
        assert_eq!(flow(&w, "10.1.0.5", "10.2.0.10", "udp", "53").verdict.as_str(), "allowed");
        let r = flow(&w, "10.1.0.5", "10.2.0.10", "tcp", "80");
        assert_eq!(r.verdict.as_str(), "denied");
        assert!(r.hops.iter().any(|h| h.rule.as_ref().is_some_and(|x| x.text.contains("deny-all") && &*x.action == "default drop")), "{r:?}");
        // To the device: ssh from trust (host-inbound ssh), not from untrust (ping only).
        assert_eq!(flow(&w, "10.1.0.5", "10.1.0.1", "tcp", "22").verdict.as_str(), "allowed");
        assert_eq!(flow(&w, "100.64.5.7", "203.0.113.1", "tcp", "22").verdict.as_str(), "denied");
        assert_eq!(flow(&w, "100.64.5.7", "203.0.113.1", "icmp", "echo-request").verdict.as_str(), "allowed");
        // The address given by DNS name is unknown: the DMZ's HTTPS to the Internet is possible only.
        let r = flow(&w, "10.2.0.10", "8.8.8.8", "tcp", "443");
        assert_eq!(r.verdict.as_str(), "possibly", "{r:?}");
        assert!(r.uncertain.iter().any(|u| u.contains("cdn")), "{:?}", r.uncertain);
    }
}

#[test]
fn srx_zone_pair_policy_is_testable_by_name() {
    let w = ws(&["srx-edge.set"]);
    let a = Analyzer::new(&w);
    let row = |src: &str, dst: &str, proto: &str, port: &str| TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), ..Default::default() };
    let t = a.test_filter("from-zone untrust to-zone dmz", &row("100.64.5.7", "10.2.0.10", "tcp", "80")).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = a.test_filter("from-zone untrust to-zone dmz", &row("100.64.5.7", "10.2.0.25", "tcp", "22")).expect("answer");
    assert_eq!(t.verdict, "denied");
    assert_eq!(t.rule.as_ref().map(|r| r.line), Some(33));
}

#[test]
fn router_filters_are_stateless() {
    let w = ws(&["router-filters.conf"]);
    // Accepted by term web, at its line.
    let r = flow(&w, "203.0.113.9", "10.10.0.50", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:?}");
    // Private source: discarded by term block-private with file:line.
    let r = flow(&w, "10.1.2.3", "10.10.0.50", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "denied");
    let (line, text) = stopped_at(&r).expect("a deciding rule");
    assert_eq!(line, 99);
    assert!(text.contains("block-private"), "{text}");
    // Outbound SSH: the reply comes back through WAN-IN's tcp-established term (stateless).
    let r = flow(&w, "10.10.0.50", "203.0.113.9", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:?}");
    let reply = r.hops.iter().find(|h| h.direction == "reply").expect("reply hop");
    assert!(reply.decisions.iter().any(|d| d.text.contains("term replies")), "{reply:?}");
    // Outbound SMB: rejected by WAN-OUT.
    assert_eq!(flow(&w, "10.10.0.50", "203.0.113.9", "tcp", "445").verdict.as_str(), "denied");
    // To the loopback: ssh from an admin prefix passes PROTECT-RE; from elsewhere the last term
    // discards it (after a count-only term with `next term`).
    assert_eq!(flow(&w, "10.10.0.5", "10.255.0.1", "tcp", "22").verdict.as_str(), "allowed");
    let r = flow(&w, "10.10.0.200", "10.255.0.1", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied");
    assert!(stopped_at(&r).is_some_and(|(_, t)| t.contains("log-rest")), "{r:?}");
    // IPv6 filter.
    assert_eq!(flow(&w, "2001:db8:99::1", "2001:db8:10::80", "tcp", "443").verdict.as_str(), "allowed");
    // The unmodelled is-fragment term makes what only a later term accepts uncertain (a DNS
    // reply from source port 53).
    let r = Analyzer::new(&w).flow("203.0.113.9", "10.10.0.5", "udp", "5000", Some(53)).expect("answer");
    assert_eq!(r.verdict.as_str(), "possibly", "{r:?}");
    assert!(r.uncertain.iter().any(|u| u.contains("is-fragment") || u.contains("142")), "{:?}", r.uncertain);
}

#[test]
fn filter_only_file_is_testable_and_implicit_discard_is_named() {
    let w = ws(&["router-filters.conf"]);
    let a = Analyzer::new(&w);
    let row = |src: &str, dst: &str, proto: &str, port: &str| TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), ..Default::default() };
    let t = a.test_filter("WAN-OUT", &row("10.10.0.50", "203.0.113.9", "tcp", "445")).expect("answer");
    assert_eq!(t.verdict, "denied");
    let t = a.test_filter("PROTECT-RE", &row("10.10.0.5", "10.255.0.1", "tcp", "22")).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = a.test_filter("WAN6-IN", &row("2001:db8:99::1", "2001:db8:10::81", "tcp", "443")).expect("answer");
    assert_eq!(t.verdict, "denied");
    assert!(t.rule.as_ref().is_some_and(|r| &*r.text == "implicit discard at the end of filter WAN6-IN"), "{t:?}");
}

// ---- Corpus: Batfish's srx-testbed ----------------------------------------------------------

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/juniper/batfish/srx-testbed");

/// What Batfish's reference output states about the three SRX configurations: their devices,
/// interfaces and (active) zone-pair policies are what Portolan reads; and flows follow the
/// policies and default policy each configuration states.
#[test]
fn srx_testbed_agrees_with_batfish_reference() {
    let dir = Path::new(CORPUS);
    let Ok(reference) = std::fs::read_to_string(dir.join("expected/srx-testbed.ref")) else {
        eprintln!("note: {CORPUS} not found: srx-testbed comparison skipped");
        return;
    };
    let reference: serde_json::Value = serde_json::from_str(&reference).expect("reference is JSON");
    let elements = reference["answerElements"].as_array().expect("answer elements");
    let file_map = &elements[0]["fileMap"];
    let defined = &elements[1]["definedStructures"];
    let mut files = Vec::new();
    for (host, list) in file_map.as_object().expect("file map") {
        let rel = list[0].as_str().expect("file");
        let text = std::fs::read_to_string(dir.join(rel)).expect("config");
        let p = parse::parse(0, rel, &text);
        assert_eq!(p.format, Format::Junos, "{rel}");
        assert_eq!(p.device_hint.as_deref(), Some(host.as_str()), "{rel}: host name");
        let f = fw(&p);
        assert!(f.stateful);
        // Interfaces: every unit Batfish defines (names with a dot) is read.
        let ours: Vec<&str> = p.content.interfaces.iter().map(|i| i.name.as_str()).collect();
        for (name, _) in defined[rel]["interface"].as_object().expect("interfaces") {
            if name.contains('.') {
                assert!(ours.contains(&name.as_str()), "{rel}: interface {name} in {ours:?}");
            }
        }
        // Zone pairs: Batfish's `zone~A~to~zone~B` structures are our `from-zone A to-zone B`
        // rulesets, with the policy lines Batfish gives; deactivated pairs are in neither.
        let pairs = defined[rel]["security policy"].as_object().expect("security policies");
        let ours: Vec<&str> = f.rulesets.iter().filter(|r| r.name.starts_with("from-zone ")).map(|r| r.name.as_str()).collect();
        assert_eq!(ours.len(), pairs.len(), "{rel}: {ours:?}");
        for (name, def) in pairs {
            let parts: Vec<&str> = name.split('~').collect();
            let ours_name = format!("from-zone {} to-zone {}", parts[1], parts[4]);
            let rs = f.rulesets.iter().find(|r| r.name == ours_name).unwrap_or_else(|| panic!("{rel}: {ours_name}"));
            let lines = def["definitionLines"].as_str().expect("lines");
            let first: u32 = lines.split('-').next().and_then(|x| x.parse().ok()).expect("first line");
            assert_eq!(rs.rules.first().map(|r| r.prov.line), Some(first), "{rel}: {ours_name} starts at {lines}");
        }
        // Host-inbound services Batfish lists per zone are all modelled (no unknowns).
        let host = f.rulesets.iter().find(|r| r.name == "host-inbound-traffic").expect("host-inbound");
        assert!(host.rules.iter().all(|r| r.unknown.is_empty()));
        files.push(InputFile::new(rel.to_string(), text));
    }
    assert_eq!(files.len(), 3);
    let w = Workspace::load(files);
    let a = Analyzer::new(&w);
    let row = |src: &str, dst: &str, proto: &str, port: &str| TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), ..Default::default() };
    // junos-srx-1: untrust → untrust is rejected by policy p (line 67); junos-srx-2 permits it
    // by default (its untrust pair is deactivated, the default policy is permit-all).
    let t = a.test_filter("junos-srx-1:security/security policies", &TestRow { in_iface: Some("ge-0/0/0.0".into()), out_iface: Some("ge-0/0/1.0".into()), ..row("10.12.0.2", "10.13.0.3", "tcp", "80") }).expect("answer");
    assert_eq!(t.verdict, "denied", "{t:?}");
    assert_eq!(t.rule.as_ref().map(|r| r.line), Some(64));
    let t = a.test_filter("junos-srx-2:security/security policies", &TestRow { in_iface: Some("ge-0/0/0.0".into()), out_iface: Some("ge-0/0/1.0".into()), ..row("10.12.0.1", "10.23.0.3", "tcp", "80") }).expect("answer");
    assert_eq!(t.verdict, "allowed", "{t:?}");
    // junos-srx-1: untrust → hostos (no pair): the default deny-all.
    let t = a.test_filter("junos-srx-1:security/security policies", &TestRow { in_iface: Some("ge-0/0/0.0".into()), out_iface: Some("ge-0/0/2.0".into()), ..row("10.12.0.2", "192.168.56.10", "tcp", "22") }).expect("answer");
    assert_eq!(t.verdict, "denied");
    assert!(t.rule.as_ref().is_some_and(|r| r.text.contains("default-policy deny-all")), "{t:?}");
    // Host-inbound: ssh allowed from untrust, telnet only from trust.
    let t = a.test_filter("junos-srx-1:security/host-inbound-traffic", &TestRow { in_iface: Some("ge-0/0/0.0".into()), ..row("10.12.0.2", "10.12.0.1", "tcp", "22") }).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = a.test_filter("junos-srx-1:security/host-inbound-traffic", &TestRow { in_iface: Some("ge-0/0/0.0".into()), ..row("10.12.0.2", "10.12.0.1", "tcp", "23") }).expect("answer");
    assert_eq!(t.verdict, "denied");
}

// ---- Corpus: aerleon renderings and Batfish's unit configurations ---------------------------

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// The cross-vendor intent rendered by aerleon as a Junos filter (`edge-inbound`, twice) and as
/// an SRX zone-pair policy (`from-zone untrust to-zone dmz`): every flow of the intent gets the
/// decision the intent states (`aerleon-rendered/README.md`).
#[test]
fn aerleon_renderings_decide_as_the_intent() {
    let out = Path::new(SHARED).join("aerleon-rendered/out");
    if !out.is_dir() {
        eprintln!("note: {} not found: aerleon comparison skipped", out.display());
        return;
    }
    let intent: &[(&str, &str, &str, &str, &str)] = &[
        ("192.0.2.5", "200.1.1.1", "tcp", "80", "denied"),
        ("8.8.8.8", "200.1.1.1", "tcp", "80", "allowed"),
        ("8.8.8.8", "200.1.1.2", "tcp", "443", "allowed"),
        ("8.8.8.8", "200.1.1.3", "tcp", "443", "denied"),
        ("8.8.8.8", "200.1.1.4", "tcp", "25", "allowed"),
        ("8.8.8.8", "200.1.1.5", "tcp", "995", "allowed"),
        ("8.8.8.8", "200.1.1.4", "tcp", "110", "denied"),
        ("8.8.8.8", "200.1.1.4", "udp", "53", "allowed"),
        ("8.8.8.8", "200.1.1.1", "udp", "53", "denied"),
        ("10.1.1.1", "200.1.1.2", "tcp", "22", "allowed"),
        ("172.20.0.1", "200.1.1.5", "tcp", "22", "allowed"),
        ("8.8.8.8", "200.1.1.2", "tcp", "22", "denied"),
        ("8.8.8.8", "200.1.1.1", "icmp", "echo-request", "allowed"),
        ("8.8.8.8", "200.1.1.4", "icmp", "echo-request", "denied"),
    ];
    for (file, filter) in [
        ("xv_juniper.jcl", "edge-inbound"),
        ("xv_juniperevo.evojcl", "edge-inbound"),
        ("xv_srx.srx", "from-zone untrust to-zone dmz"),
    ] {
        let text = std::fs::read_to_string(out.join(file)).expect("rendering");
        let p = parse::parse(0, file, &text);
        assert_eq!(p.format, Format::Junos, "{file}");
        assert_eq!(p.lines_unrecognized(), 0, "{file}: {:?}", p.diags);
        let w = Workspace::load(vec![InputFile::new(file.to_string(), text)]);
        let a = Analyzer::new(&w);
        for (src, dst, proto, port, want) in intent {
            let row = TestRow { src: (*src).into(), dst: (*dst).into(), proto: (*proto).into(), port: (*port).into(), ..Default::default() };
            let t = a.test_filter(filter, &row).expect("answer");
            assert_eq!(t.verdict, *want, "{file}: {src} → {dst} {proto}/{port}: {t:?}");
        }
    }
}

/// Every Batfish Junos unit configuration is read as Junos without panicking.
#[test]
fn batfish_unit_configurations_are_junos() {
    let dir = Path::new(SHARED).join("juniper/batfish/testconfigs");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("note: {} not found: skipped", dir.display());
        return;
    };
    let mut n = 0;
    for e in rd {
        let path = e.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let name = path.file_name().map(|x| x.to_string_lossy().to_string()).unwrap_or_default();
        assert_eq!(parse::detect(&text), Format::Junos, "{name}");
        let p = std::panic::catch_unwind(|| parse::parse(0, &name, &text)).unwrap_or_else(|_| panic!("{name} panicked"));
        assert!(p.lines_unrecognized() <= p.lines_total);
        n += 1;
    }
    assert_eq!(n, 337);
}

/// Cut and mangled configurations never panic, and every line stays counted once.
#[test]
fn hostile_input_never_panics() {
    let mut texts: Vec<String> = Vec::new();
    for f in ["srx-edge.conf", "router-filters.conf", "srx-edge.set", "groups-inactive.conf"] {
        let t = text(f);
        let b = t.as_bytes();
        for cut in (0..b.len()).step_by(97) {
            texts.push(String::from_utf8_lossy(&b[..cut]).into_owned());
        }
        // Braces and quotes removed or doubled.
        texts.push(t.replace('}', ""));
        texts.push(t.replace('{', "{{"));
        texts.push(t.replace('"', ""));
        texts.push(t.replace(';', ""));
    }
    texts.push("set".into());
    texts.push("set groups".into());
    texts.push("set groups G\nset apply-groups G\nset apply-groups G\n".into());
    texts.push("set groups G groups G apply-groups G\nset apply-groups G\n".into());
    texts.push("}}}}\n{{{{\n[ [ ] ]\n/*".into());
    texts.push("set security nat static rule-set r rule x match destination-address ::/0\nset security nat static rule-set r rule x then static-nat prefix ::/0\nset security zones security-zone z interfaces x\n".into());
    texts.push("set firewall filter F term t from icmp-type 0-255\nset firewall filter F term t from port 0-65535\nset firewall filter F term t from address 0.0.0.0/0 except\n".into());
    texts.push(format!("set security zones security-zone z interfaces x\nset security policies global policy p match application {}\n", "s".repeat(10_000)));
    for t in &texts {
        let p = parse::parse(0, "x", t);
        assert!(p.lines_unrecognized() + p.lines_skipped <= p.lines_total + 1, "{t:?}");
    }
}
