//! Tests of the FortiGate reader: snapshots of the model and diagnostics of the fixtures in
//! `tests/golden/fortigate/` (written for these tests), engine-level answers on them, and the
//! FortiGate files of the third-party corpus (detected, parsed without panic).

use std::path::{Path, PathBuf};

use portolan::diag::{codes, FileStatus, Severity};
use portolan::model::{Action, AddrRange, Cond, Family, Firewall, Hook, NatTarget, RouteKind, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::{Analyzer, TestRow};
use portolan::report::FlowResult;
use portolan::{InputFile, Workspace};

mod support;
use support::snapshot;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fortigate")
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

fn codes_at(p: &ParsedFile, line: u32) -> Vec<&'static str> {
    p.diags.iter().filter(|d| d.line == line).map(|d| d.code).collect()
}

/// Every rule that is not fully modelled has a warning on its line or is a built-in.
fn assert_unknowns_are_reported(p: &ParsedFile) {
    let Some(f) = &p.content.firewall else { return };
    for r in f.rulesets.iter().flat_map(|rs| &rs.rules) {
        if !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_)) {
            assert!(r.prov.line > 0, "a built-in rule is unknown: {:?}", r.prov);
            // The warning may sit on the rule's own line or on the object/setting it names.
            assert!(
                p.diags.iter().any(|d| d.severity >= Severity::Warning),
                "line {} is not fully modelled but nothing is reported",
                r.prov.line
            );
        }
    }
}

#[test]
fn every_fixture_is_tested() {
    let missing = support::untested_fixtures(&golden_dir(), include_str!("parse_fortigate.rs"));
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let $p = load($file);
            assert_eq!($p.format, Format::FortiGate, "detected format of {}", $file);
            assert_unknowns_are_reported(&$p);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

fn ruleset<'a>(p: &'a ParsedFile, name: &str) -> &'a portolan::model::Ruleset {
    fw(p).rulesets.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no ruleset {name}"))
}

fn single(a: &str) -> AddrRange {
    AddrRange::single(a.parse().expect("address"))
}

golden!(edge, "edge.conf", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("edge-fw"));
    assert_eq!(p.status(), FileStatus::Partial);
    // Interfaces: mask and prefix forms, secondary addresses, IPv6, status down, zone, role wan.
    let itf = |n: &str| p.content.interfaces.iter().find(|i| i.name == n).expect("interface");
    assert_eq!(itf("wan1").addresses, vec!["203.0.113.2/24".parse().unwrap()]);
    assert!(itf("wan1").external);
    assert_eq!(itf("internal").addresses.len(), 2);
    assert_eq!(itf("internal").zone.as_deref(), Some("inside"));
    assert_eq!(itf("dmz").addresses, vec!["10.0.50.1/24".parse().unwrap(), "10.0.51.1/24".parse().unwrap()]);
    assert!(!itf("lab").up);
    // Routes: default (no dst), blackhole with distance, distance 20, IPv6 default.
    let r = &p.content.routes;
    assert_eq!(r.len(), 4);
    assert_eq!((r[0].dst.to_string(), r[0].via.map(|v| v.to_string()), r[0].metric), ("0.0.0.0/0".into(), Some("203.0.113.1".into()), 10));
    assert_eq!((r[1].kind, r[1].metric), (RouteKind::Blackhole, 254));
    assert_eq!(r[2].metric, 20);
    assert_eq!(r[3].dst.to_string(), "::/0");
    assert!(r.iter().all(|r| r.table == "main"));
    let f = fw(&p);
    assert!(f.stateful);
    // Hooks: policies in forward, VIPs before them, source NAT after, allowaccess on input.
    let hook = |name: &str| {
        let i = f.rulesets.iter().position(|r| r.name == name).expect("ruleset");
        let h = f.hooks.iter().find(|h| h.ruleset == i).expect("hooked");
        (h.hook, h.stage, h.priority, h.family)
    };
    assert_eq!(hook("policy"), (Hook::Forward, Stage::Filter, 0, Family::V4));
    assert_eq!(hook("vip"), (Hook::Prerouting, Stage::DstNat, -100, Family::V4));
    assert_eq!(hook("source-nat"), (Hook::Postrouting, Stage::SrcNat, 100, Family::V4));
    assert_eq!(hook("local-in"), (Hook::Input, Stage::Filter, 0, Family::V4));
    assert_eq!(hook("local-in6"), (Hook::Input, Stage::Filter, 0, Family::V6));
    let pol = ruleset(&p, "policy");
    // First rule: replies of permitted sessions; last: the implicit deny.
    assert_eq!(pol.rules[0].conds, vec![Cond::is(Test::CtState(vec![1, 2]))]);
    assert_eq!(pol.rules.last().map(|r| (&r.action, r.prov.line)), Some((&Action::Drop, 0)));
    // File order, not ID order: policy 7 (line 142) comes before policy 3 (line 153).
    let lines: Vec<u32> = pol.rules.iter().map(|r| r.prov.line).filter(|l| *l > 0).collect();
    let first7 = lines.iter().position(|l| *l == 142).expect("policy 7");
    let first3 = lines.iter().position(|l| *l == 153).expect("policy 3");
    assert!(first7 < first3);
    // The zone expands to its members: one rule per interface.
    let p7: Vec<_> = pol.rules.iter().filter(|r| r.prov.line == 142).collect();
    assert_eq!(p7.len(), 2);
    assert_eq!(p7[0].conds[0], Cond::is(Test::InIface("internal".into())));
    assert_eq!(p7[1].conds[0], Cond::is(Test::InIface("lab".into())));
    assert!(p7[0].prov.text.contains("lan-out"));
    // The disabled policy 6 (line 188) is not used.
    assert!(pol.rules.iter().all(|r| r.prov.line != 188));
    // The VIP: DNAT to the mapped address and port; the policy naming it matches the mapped
    // address of translated sessions.
    let vip = ruleset(&p, "vip");
    assert_eq!(vip.rules[0].action, Action::Dnat(NatTarget { addr: Some(single("10.0.50.10")), ports: Some((8443, 8443)) }));
    let p3 = pol.rules.iter().find(|r| r.prov.line == 153).expect("policy 3");
    assert!(p3.conds.contains(&Cond::is(Test::Dst(vec![single("10.0.50.10")]))));
    assert!(p3.conds.contains(&Cond::is(Test::CtStatus(8))));
    // A deny policy does not match VIP-translated sessions (match-vip disabled).
    let p4 = pol.rules.iter().find(|r| r.prov.line == 165).expect("policy 4");
    assert!(p4.conds.contains(&Cond::not(Test::CtStatus(8))));
    assert!(!p4.unknown.is_empty(), "geography source is unknown");
    // Negated destination.
    let p5 = pol.rules.iter().find(|r| r.prov.line == 174).expect("policy 5");
    assert!(p5.conds.contains(&Cond::not(Test::Dst(vec![AddrRange::from_net("192.168.10.0/24".parse().unwrap())]))));
    // Source NAT: masquerade for policy 7, the IP pool for policy 5.
    let nat = ruleset(&p, "source-nat");
    assert!(nat.rules.iter().any(|r| r.prov.line == 142 && r.action == Action::Masquerade(None)));
    assert!(nat.rules.iter().any(|r| r.prov.line == 174 && r.action == Action::Snat(NatTarget { addr: Some(single("203.0.113.20")), ports: None })));
    // Group with exclusion: lan-net minus the DHCP range.
    let p8 = pol.rules.iter().find(|r| r.prov.line == 199).expect("policy 8");
    let Some(Test::Src(src)) = p8.conds.iter().map(|c| c.test.clone()).find(|t| matches!(t, Test::Src(_))) else { panic!("src") };
    assert_eq!(src.len(), 2);
    assert!(p8.unknown.iter().any(|u| u.contains("office-hours")));
    // Service negation goes through a called ruleset that returns for the listed service.
    let p9 = pol.rules.iter().find(|r| r.prov.line == 209).expect("policy 9");
    let Action::Jump(j) = p9.action else { panic!("jump") };
    let neg = &f.rulesets[j];
    assert_eq!(neg.rules[0].action, Action::Return);
    assert_eq!(neg.rules[0].conds, vec![Cond::is(Test::Proto(vec![47]))]);
    assert_eq!(neg.rules[1].action, Action::Accept);
    // Wildcard address: 256 single addresses 192.168.*.9.
    let Some(Test::Src(w)) = p9.conds.iter().map(|c| c.test.clone()).find(|t| matches!(t, Test::Src(_))) else { panic!("src") };
    assert_eq!(w.len(), 256);
    // The BGP block is reported once at its first line, and every line of it counts.
    assert_eq!(codes_at(&p, 244), [codes::UNRECOGNIZED]);
    assert!(p.diags.iter().all(|d| !(245..=252).contains(&d.line)));
    assert_eq!(p.lines_unrecognized(), 12);
    // The DNS and syslog blocks are known and irrelevant: no diagnostics.
    assert!(p.diags.iter().all(|d| !(61..=64).contains(&d.line) && d.line < 253));
});

golden!(policy_only, "policy-only.conf", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    assert_eq!(p.device_hint, None);
    let f = fw(&p);
    let names: Vec<&str> = f.rulesets.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["policy", "policy6"]);
    // A policy without `set action` denies (FortiOS default).
    assert_eq!(ruleset(&p, "policy").rules[1].action, Action::Drop);
});

/// The parts of a file with several VDOMs, by name.
fn part<'a>(p: &'a ParsedFile, name: &str) -> &'a ParsedFile {
    &p.parts.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no part {name}")).parsed
}

/// Snapshots of a file with device parts: the whole file (its diagnostics and line counts),
/// then each part (its model and diagnostics).
fn snapshot_parts(file: &str, p: &ParsedFile) {
    assert_eq!(p.format, Format::FortiGate, "detected format of {file}");
    assert!(p.content.firewall.is_none() && p.content.interfaces.is_empty() && p.content.routes.is_empty());
    insta::assert_json_snapshot!(file, snapshot(p));
    for x in &p.parts {
        assert_unknowns_are_reported(&x.parsed);
        insta::assert_json_snapshot!(format!("{file}-{}", x.name), snapshot(&x.parsed));
    }
}

#[test]
fn vdoms() {
    let p = load("vdoms.conf");
    snapshot_parts("vdoms.conf", &p);
    // One device per VDOM with configuration, in file order, named HOST/VDOM.
    let names: Vec<&str> = p.parts.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["root", "customer"]);
    assert_eq!(p.device_hint.as_deref(), Some("dc-fw"));
    let (root, cust) = (part(&p, "root"), part(&p, "customer"));
    assert_eq!(root.device_hint.as_deref(), Some("dc-fw/root"));
    assert_eq!(cust.device_hint.as_deref(), Some("dc-fw/customer"));
    // Each VDOM has the interfaces that name it, and its own policies and routes.
    let ifs = |x: &ParsedFile| x.content.interfaces.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    assert_eq!(ifs(root), ["port1", "port2"]);
    assert_eq!(ifs(cust), ["port3"]);
    assert_eq!(root.content.routes.len(), 1);
    assert_eq!(root.content.routes[0].table, "root");
    assert!(cust.content.routes.is_empty());
    let pol_lines = |x: &ParsedFile| {
        ruleset(x, "policy").rules.iter().map(|r| r.prov.line).filter(|&l| l > 0).collect::<Vec<_>>()
    };
    assert_eq!(pol_lines(root), [31]);
    assert_eq!(pol_lines(cust), [50]);
    // Source NAT only where a policy asks for it (root's policy 1).
    assert!(fw(root).rulesets.iter().any(|r| r.name == "source-nat"));
    assert!(!fw(cust).rulesets.iter().any(|r| r.name == "source-nat"));
    // Every line is read: the customer VDOM no longer counts as unrecognized.
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    assert_eq!(p.lines_unrecognized(), 0);
}

#[test]
fn vdom_link() {
    let p = load("vdom-link.conf");
    snapshot_parts("vdom-link.conf", &p);
    let (root, lab) = (part(&p, "root"), part(&p, "lab"));
    assert_eq!(root.device_hint.as_deref(), Some("hq-fw/root"));
    assert_eq!(lab.device_hint.as_deref(), Some("hq-fw/lab"));
    // The inter-VDOM link's ends, each in its VDOM, with the link's subnet.
    let itf = |x: &ParsedFile, n: &str| x.content.interfaces.iter().find(|i| i.name == n).cloned();
    assert_eq!(itf(root, "vl0").map(|i| i.addresses), Some(vec!["10.255.0.1/30".parse().unwrap()]));
    assert_eq!(itf(lab, "vl1").map(|i| i.addresses), Some(vec!["10.255.0.2/30".parse().unwrap()]));
    assert!(itf(root, "vl1").is_none() && itf(lab, "vl0").is_none() && itf(lab, "wan1").is_none());
    assert_eq!(itf(lab, "lab1").and_then(|i| i.zone).as_deref(), Some("lab-zone"));
    assert!(itf(root, "wan1").is_some_and(|i| i.external));
    // Objects are per VDOM: `lan` is a /24 in root and a /25 in lab; lab has no `lab-net`.
    let src_of = |x: &ParsedFile, line: u32| {
        ruleset(x, "policy").rules.iter().filter(|r| r.prov.line == line).find_map(|r| {
            r.conds.iter().find_map(|c| match &c.test {
                Test::Src(v) => Some(v.clone()),
                _ => None,
            })
        })
    };
    assert_eq!(src_of(root, 108), Some(vec![AddrRange::from_net("10.0.0.0/24".parse().unwrap())]));
    assert_eq!(src_of(lab, 153), Some(vec![AddrRange::from_net("10.0.0.0/25".parse().unwrap())]));
    assert_eq!(codes_at(lab, 178), [codes::UNDEFINED_REFERENCE]);
    assert!(codes_at(root, 178).is_empty());
    // The VIP and the IP pool's NAT are root's alone; each VDOM routes in its own table.
    assert!(fw(root).rulesets.iter().any(|r| r.name == "vip"));
    assert!(!fw(lab).rulesets.iter().any(|r| r.name == "vip"));
    assert!(root.content.routes.iter().all(|r| r.table == "root"));
    assert_eq!(lab.content.routes.iter().map(|r| (r.table.as_str(), r.via)).collect::<Vec<_>>(), [("lab", Some("10.255.0.1".parse().unwrap()))]);
    // Administrative access per VDOM, on the admin port of `config global`.
    assert!(ruleset(root, "local-in").rules.iter().any(|r| r.conds.contains(&Cond::is(Test::Dport(vec![(8443, 8443)])))));
    assert!(!ruleset(lab, "local-in").rules.iter().any(|r| r.conds.contains(&Cond::is(Test::Dport(vec![(8443, 8443)])))));
    // The ends of the unaddressed link (info), each in its VDOM's part; the interface of a VDOM
    // without configuration, once, in the first part.
    assert_eq!((codes_at(root, 49), codes_at(lab, 49)), (vec![codes::UNMODELLED_MATCH], vec![]));
    assert_eq!((codes_at(root, 53), codes_at(lab, 53)), (vec![], vec![codes::UNMODELLED_MATCH]));
    assert_eq!((codes_at(root, 58), codes_at(lab, 58)), (vec![codes::UNDEFINED_REFERENCE], vec![]));
    // The whole file lists each diagnostic once.
    let lines: Vec<u32> = p.diags.iter().map(|d| d.line).collect();
    assert_eq!(lines, [49, 53, 58, 178], "{:?}", p.diags);
    assert_eq!(p.lines_unrecognized(), 2);
}

#[test]
fn vdom_devices_are_bounded() {
    // More VDOM sections than one file yields devices: the first ones are devices, the others
    // are reported at their `edit` line and count as unrecognized. Interfaces stay with their VDOM.
    let n = parse::fortigate::MAX_VDOM_DEVICES + 2;
    let mut t = String::from("config global\nconfig system global\nset hostname many\nend\nconfig system interface\n");
    for i in 0..n {
        t.push_str(&format!("edit p{i}\nset vdom v{i}\nset ip 10.{}.{}.1 255.255.255.0\nnext\n", i / 250, i % 250));
    }
    t.push_str("end\nend\n");
    for i in 0..n {
        t.push_str(&format!("config vdom\nedit v{i}\nconfig firewall policy\nedit 1\nset srcintf p{i}\nset dstintf p{i}\nset action accept\nnext\nend\nnext\nend\n"));
    }
    let p = parse::parse(0, "many.conf", &t);
    assert_eq!(p.parts.len(), parse::fortigate::MAX_VDOM_DEVICES);
    let last = p.parts.last().expect("parts");
    assert_eq!(last.parsed.device_hint.as_deref(), Some("many/v499"));
    assert_eq!(last.parsed.content.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["p499"]);
    let dropped: Vec<&str> = p.diags.iter().filter(|d| d.code == codes::STRUCTURE).map(|d| d.text.as_str()).collect();
    assert_eq!(dropped, ["edit v500", "edit v501"]);
    // Each dropped section: its `edit` line (the warning) and the policy block's statements
    // up to its `end`, and the section's `next`.
    assert_eq!(p.lines_unrecognized(), 2 * 8);
}

#[test]
fn one_vdom_with_configuration_is_one_device_as_before() {
    // vdoms.conf without the customer VDOM's section: the file is one device, named by its host
    // alone, and reads every interface as before.
    let t = text("vdoms.conf");
    let cut = t.find("edit customer\nconfig").expect("customer section");
    let single = format!("{}end\n", &t[..cut]);
    let p = parse::parse(0, "single.conf", &single);
    assert!(p.parts.is_empty());
    assert_eq!(p.device_hint.as_deref(), Some("dc-fw"));
    let names: Vec<&str> = p.content.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["port1", "port2", "port3"]);
    assert_eq!(p.content.routes[0].table, "root");
    assert_eq!(ruleset(&p, "policy").rules.iter().filter(|r| r.prov.line == 31).count(), 1);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    let w = ws_text("single.conf", single);
    assert_eq!(w.network.devices.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["dc-fw"]);
    assert_eq!(w.files[0].devices, ["dc-fw"]);
}

#[test]
fn traffic_between_vdoms_crosses_both_policies() {
    let w = ws_text("vdom-link.conf", text("vdom-link.conf"));
    let names: Vec<&str> = w.network.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["hq-fw/lab", "hq-fw/root"]);
    let path = |r: &FlowResult| r.hops.iter().filter(|h| h.direction == "forward").map(|h| (h.device.to_string(), h.rule.as_ref().map_or(0, |x| x.line))).collect::<Vec<_>>();
    let dev = |n: &str| n.to_string();
    // LAN to lab over SSH: root's policy 3, then lab's policy 1 (its `lan` holds 10.0.0.5).
    let r = flow(&w, "10.0.0.5", "10.50.0.20", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    assert_eq!(path(&r), [(dev("hq-fw/root"), 108), (dev("hq-fw/lab"), 153)]);
    assert!(r.hops.iter().any(|h| h.direction == "reply" && &*h.device == "hq-fw/root"));
    // 10.0.0.200 is in root's `lan` but not in lab's: root passes it, lab's implicit deny drops it.
    let r = flow(&w, "10.0.0.200", "10.50.0.20", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
    assert_eq!(path(&r), [(dev("hq-fw/root"), 108), (dev("hq-fw/lab"), 0)]);
    assert!(stop(&r).is_some_and(|(_, t)| t.contains("implicit deny")));
    // Another service from the LAN stops at root.
    let r = flow(&w, "10.0.0.5", "10.50.0.20", "tcp", "80");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
    assert_eq!(path(&r), [(dev("hq-fw/root"), 0)]);
    // From the Internet through root's VIP to the lab's web server: both VDOMs' policies.
    let r = flow(&w, "198.51.100.7", "203.0.113.10", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    assert_eq!(path(&r), [(dev("hq-fw/root"), 98), (dev("hq-fw/lab"), 163)]);
    assert_eq!(r.hops[0].nat[0].to, "10.50.0.10:443");
    // The lab's admin access is its own: ping on lab1, nothing on the link.
    assert_eq!(flow(&w, "10.50.0.20", "10.50.0.1", "icmp", "echo-request").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "10.50.0.20", "10.50.0.1", "tcp", "22").verdict.as_str(), "denied");
}

golden!(errors, "errors.conf", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("broken"));
    assert_eq!(codes_at(&p, 6), [codes::BAD_VALUE]);
    assert_eq!(codes_at(&p, 7), [codes::UNMODELLED_MATCH]);
    assert_eq!(codes_at(&p, 8), [codes::UNRECOGNIZED]);
    assert_eq!(codes_at(&p, 38), [codes::BAD_VALUE]);
    assert_eq!(codes_at(&p, 48), [codes::UNDEFINED_REFERENCE]);
    assert_eq!(codes_at(&p, 51), [codes::UNDEFINED_REFERENCE]);
    // The address group cycle is reported where the group names its member.
    assert!(p.diags.iter().any(|d| d.code == codes::STRUCTURE && d.reason.contains("contains itself")), "{:?}", p.diags);
    assert_eq!(codes_at(&p, 66), [codes::UNMODELLED_TARGET]);
    assert_eq!(codes_at(&p, 71), [codes::STRUCTURE]);
    assert_eq!(codes_at(&p, 89), [codes::UNDEFINED_REFERENCE]);
    assert_eq!(codes_at(&p, 91), [codes::UNRECOGNIZED]);
    assert_eq!(codes_at(&p, 110), [codes::UNRECOGNIZED]);
    let pol = ruleset(&p, "policy");
    // `move 5 before 1`: policy 5 (line 78) is evaluated first; the clone 6 was deleted.
    assert_eq!(pol.rules[1].prov.line, 78);
    assert_eq!(pol.rules.iter().filter(|r| r.prov.line == 78).count(), 1);
    // Policy 1: undefined destination interface and address: unknown, conditions dropped.
    let p1: Vec<_> = pol.rules.iter().filter(|r| r.prov.line == 46).collect();
    assert!(p1.iter().all(|r| !r.unknown.is_empty()));
    assert!(p1.iter().all(|r| !r.conds.iter().any(|c| matches!(c.test, Test::OutIface(_)))));
    // The ipsec action is unknown.
    assert!(pol.rules.iter().any(|r| r.prov.line == 63 && matches!(r.action, Action::Unknown(_))));
    // The disabled route and the DHCP-gateway route are not used.
    assert!(p.content.routes.is_empty());
});

// ---- Engine-level behaviour -------------------------------------------------------------

fn ws_text(name: &str, t: String) -> Workspace {
    Workspace::load(vec![InputFile::new(name.to_string(), t)])
}

fn flow(w: &Workspace, src: &str, dst: &str, proto: &str, port: &str) -> FlowResult {
    Analyzer::new(w).flow(src, dst, proto, port, None).expect("a flow answer")
}

fn edge_ws() -> Workspace {
    ws_text("edge.conf", text("edge.conf"))
}

/// The edge configuration without its BGP block (which makes traffic to the device uncertain).
fn edge_without_bgp() -> Workspace {
    let t = text("edge.conf");
    let start = t.find("config router bgp").expect("bgp block");
    let end = t[start..].find("config log").map(|i| start + i).expect("log block");
    let cut = format!("{}{}", &t[..start], "#\n".repeat(t[start..end].lines().count()) + &t[end..]);
    ws_text("edge.conf", cut)
}

fn stop(r: &FlowResult) -> Option<(u32, String)> {
    r.hops.iter().filter_map(|h| h.rule.as_ref()).next_back().map(|x| (x.line, x.text.to_string()))
}

#[test]
fn outbound_nat_and_replies() {
    let w = edge_ws();
    let r = flow(&w, "192.168.10.5", "198.51.100.7", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    let fwd = &r.hops[0];
    assert_eq!(fwd.rule.as_ref().map(|x| x.line), Some(142));
    assert_eq!(fwd.nat[0].kind, "masquerade");
    assert!(fwd.nat[0].to.starts_with("203.0.113.2"), "{:?}", fwd.nat);
    // The reply passes as part of the session (the stateful rule), NAT reversed.
    let reply = r.hops.iter().find(|h| h.direction == "reply").expect("reply hop");
    assert_eq!(reply.rule.as_ref().map(|x| x.line), Some(0));
    assert!(reply.rule.as_ref().is_some_and(|x| x.text.contains("stateful")));
    // The DMZ goes out through the IP pool.
    let r = flow(&w, "10.0.50.10", "198.51.100.7", "tcp", "8080");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    assert!(r.hops[0].nat.iter().any(|n| n.to.starts_with("203.0.113.20")), "{:?}", r.hops[0].nat);
}

#[test]
fn vip_port_forward_to_inside_server() {
    let w = edge_ws();
    let r = flow(&w, "198.51.100.7", "203.0.113.10", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    let h = &r.hops[0];
    assert_eq!(h.nat[0].kind, "dnat");
    assert_eq!(h.nat[0].to, "10.0.50.10:8443");
    assert_eq!(h.rule.as_ref().map(|x| x.line), Some(153));
    // Straight to the server's own address, no VIP: the VIP policy does not match; denied.
    let r = flow(&w, "198.51.100.7", "10.0.50.10", "tcp", "8443");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
    // Another port of the VIP address is not forwarded: the packet is for the device, whose
    // wan1 allows only ping and https (on admin-sport 8443) — and BGP makes that uncertain.
    let w2 = edge_without_bgp();
    let r = flow(&w2, "198.51.100.7", "203.0.113.10", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
}

#[test]
fn implicit_deny_and_disabled_policy() {
    let w = edge_ws();
    // DMZ to the LAN: only policy 9 (printers) and the disabled any-any policy 6 would match.
    let r = flow(&w, "10.0.50.10", "192.168.10.5", "udp", "53");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
    let (line, text) = stop(&r).expect("a deciding rule");
    assert_eq!(line, 0);
    assert!(text.contains("implicit deny"), "{text}");
}

#[test]
fn administrative_access() {
    let w = edge_without_bgp();
    // https on the admin port from the LAN (allowaccess https on internal).
    assert_eq!(flow(&w, "192.168.10.5", "192.168.10.1", "tcp", "8443").verdict.as_str(), "allowed");
    // Port 443 is not the admin port here.
    assert_eq!(flow(&w, "198.51.100.7", "203.0.113.2", "tcp", "443").verdict.as_str(), "denied");
    assert_eq!(flow(&w, "198.51.100.7", "203.0.113.2", "tcp", "8443").verdict.as_str(), "allowed");
    // `fabric` opens ports that are not modelled: possibly.
    assert_eq!(flow(&w, "192.168.10.5", "192.168.10.1", "tcp", "443").verdict.as_str(), "possibly");
    // ssh from the Internet: wan1 allows ping and https only.
    let r = flow(&w, "198.51.100.7", "203.0.113.2", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
    assert!(stop(&r).is_some_and(|(_, t)| t.contains("allowaccess")), "{r:#?}");
    assert_eq!(flow(&w, "198.51.100.7", "203.0.113.2", "icmp", "echo-request").verdict.as_str(), "allowed");
    // With the BGP block (not read), traffic to the device is possibly accepted.
    let w = edge_ws();
    let r = flow(&w, "198.51.100.7", "203.0.113.2", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "possibly", "{r:#?}");
    assert!(r.uncertain.iter().any(|u| u.contains(":244")), "{:?}", r.uncertain);
}

#[test]
fn unknown_schedule_gives_possibly() {
    let w = edge_ws();
    let r = flow(&w, "192.168.10.5", "10.0.50.10", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "possibly", "{r:#?}");
    assert!(r.uncertain.iter().any(|u| u.contains(":199")), "{:?}", r.uncertain);
}

fn row(src: &str, dst: &str, proto: &str, port: &str, i: Option<&str>, o: Option<&str>) -> TestRow {
    TestRow {
        src: src.into(),
        dst: dst.into(),
        proto: proto.into(),
        port: port.into(),
        in_iface: i.map(Into::into),
        out_iface: o.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn negation_and_intrazone() {
    let w = edge_ws();
    let a = Analyzer::new(&w);
    // Service negation: anything but GRE from the printers.
    let t = a.test_filter("policy", &row("192.168.3.9", "192.168.10.7", "tcp", "80", Some("dmz"), Some("internal"))).expect("answer");
    assert_eq!(t.verdict, "allowed");
    assert_eq!(t.rule.as_ref().map(|r| r.line), Some(209));
    let t = a.test_filter("policy", &row("192.168.3.9", "192.168.10.7", "47", "", Some("dmz"), Some("internal"))).expect("answer");
    assert_eq!(t.verdict, "denied");
    // Destination negation: not towards the LAN.
    let t = a.test_filter("policy", &row("10.0.50.10", "8.8.8.8", "tcp", "443", Some("dmz"), Some("wan1"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("allowed", Some(174)));
    let t = a.test_filter("policy", &row("10.0.50.10", "192.168.10.5", "tcp", "443", Some("dmz"), Some("wan1"))).expect("answer");
    assert_eq!(t.verdict, "denied");
    // Intra-zone traffic allowed by `set intrazone allow` (line 55).
    let t = a.test_filter("policy", &row("192.168.10.5", "172.16.5.9", "udp", "161", Some("internal"), Some("lab"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("allowed", Some(55)));
}

#[test]
fn policy_only_file_is_testable() {
    let w = ws_text("policy-only.conf", text("policy-only.conf"));
    let a = Analyzer::new(&w);
    let t = a.test_filter("policy", &row("10.1.2.3", "10.2.0.10", "tcp", "25", Some("port1"), Some("port2"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("denied", Some(24)));
    let t = a.test_filter("policy", &row("10.3.0.1", "10.2.0.10", "tcp", "587", Some("port1"), Some("port2"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("allowed", Some(33)));
    let t = a.test_filter("policy", &row("10.3.0.1", "10.2.0.10", "udp", "53", Some("port1"), Some("port2"))).expect("answer");
    assert_eq!(t.verdict, "allowed");
    // Wrong interfaces: the implicit deny.
    let t = a.test_filter("policy", &row("10.3.0.1", "10.2.0.10", "tcp", "587", Some("port2"), Some("port1"))).expect("answer");
    assert_eq!(t.verdict, "denied");
    // The IPv6 half of the unified policy.
    let t = a.test_filter("policy6", &row("2001:db8:9::1", "2001:db8:2::10", "tcp", "465", Some("port1"), Some("port2"))).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = a.test_filter("policy6", &row("2001:db8:9::1", "2001:db8:2::11", "tcp", "465", Some("port1"), Some("port2"))).expect("answer");
    assert_eq!(t.verdict, "denied");
}

#[test]
fn hostile_input_never_panics() {
    let mut s = String::from("config firewall policy\n");
    for i in 0..2000 {
        s.push_str(&format!("edit {i}\nset srcintf \"a\nset dstaddr g{i}\nnext\n"));
    }
    s.push_str("config config config\nend\nend\nend\nnext\nnext\nset\nedit\nunset\nmove\nclone 1 to\nrename to\n\"\n");
    let p = parse::parse(0, "x", &s);
    assert_eq!(p.format, Format::FortiGate);
    // Deeply nested groups and a long chain of group references.
    let mut g = String::from("config firewall addrgrp\n");
    for i in 0..500 {
        g.push_str(&format!("edit g{i}\nset member g{}\nnext\n", i + 1));
    }
    g.push_str("end\nconfig firewall policy\nedit 1\nset srcintf any\nset dstintf any\nset srcaddr g0\nset dstaddr all\nset service ALL\nset action accept\nnext\nend\n");
    let p = parse::parse(0, "x", &g);
    assert!(p.diags.iter().any(|d| d.code == codes::STRUCTURE));
}

#[test]
fn detection() {
    assert!(parse::fortigate::looks_like("config system global\n    set hostname x\nend\n"));
    assert!(parse::fortigate::looks_like("#config-version=FGT60F-7.2.8\n"));
    assert!(!parse::fortigate::looks_like("config interface 'lan'\n\toption ifname 'eth0'\n"));
    assert!(!parse::fortigate::looks_like("hostname r1\ninterface e0\n"));
}

// ---- Corpus ----------------------------------------------------------------------------

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn corpus_files(rel: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(Path::new(CORPUS).join(rel)) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    v.sort();
    v
}

#[test]
fn corpus_batfish_configs_are_fortigate() {
    let files = corpus_files("fortigate/batfish/testconfigs");
    if files.is_empty() {
        assert!(std::env::var("CI").is_err(), "the corpus is missing in CI");
        eprintln!("note: corpus not found, skipped");
        return;
    }
    assert_eq!(files.len(), 55);
    for f in &files {
        let t = std::fs::read_to_string(f).expect("readable");
        assert_eq!(parse::detect(&t), Format::FortiGate, "{}", f.display());
        let p = std::panic::catch_unwind(|| parse::parse(0, "x", &t)).unwrap_or_else(|_| panic!("{} panicked", f.display()));
        assert_eq!(p.format, Format::FortiGate);
    }
    // A few Batfish expectations: hostnames, policy order and the firewall_policy file.
    let t = std::fs::read_to_string(Path::new(CORPUS).join("fortigate/batfish/testconfigs/fortios_hostname")).expect("file");
    assert!(parse::parse(0, "x", &t).device_hint.is_some());
    let t = std::fs::read_to_string(Path::new(CORPUS).join("fortigate/batfish/testconfigs/policy_move")).expect("file");
    let p = parse::parse(0, "x", &t);
    let lines: Vec<u32> = fw(&p).rulesets[0].rules.iter().map(|r| r.prov.line).filter(|l| *l > 0).collect();
    // move 5 before 1, move 4 after 2: 5, 1, 2, 4, 3.
    assert_eq!(lines, [45, 17, 24, 38, 31]);
}

#[test]
fn corpus_aerleon_fortigate_files() {
    for rel in ["aerleon-rendered/out/xv_fortigate.fgacl", "aerleon-rendered/smoke/sample_fortigate.fgacl"] {
        let Ok(t) = std::fs::read_to_string(Path::new(CORPUS).join(rel)) else { continue };
        assert_eq!(parse::detect(&t), Format::FortiGate, "{rel}");
        let p = parse::parse(0, rel, &t);
        assert_eq!(p.status(), FileStatus::Ok, "{rel}: {:?}", p.diags);
        let w = ws_text(rel, t);
        let a = Analyzer::new(&w);
        if rel.contains("xv_") {
            // deny-from-bogons, then web to the web servers.
            let r = a.test_filter("policy", &row("192.0.2.5", "200.1.1.1", "tcp", "443", Some("port1"), Some("port2"))).expect("answer");
            assert_eq!(r.verdict, "denied");
            let r = a.test_filter("policy", &row("8.8.8.8", "200.1.1.1", "tcp", "443", Some("port1"), Some("port2"))).expect("answer");
            assert_eq!(r.verdict, "allowed");
            let r = a.test_filter("policy", &row("10.1.1.1", "200.1.1.4", "tcp", "22", Some("port1"), Some("port2"))).expect("answer");
            assert_eq!(r.verdict, "allowed");
            let r = a.test_filter("policy", &row("8.8.8.8", "200.1.1.4", "tcp", "22", Some("port1"), Some("port2"))).expect("answer");
            assert_eq!(r.verdict, "denied");
            let r = a.test_filter("policy6", &row("2001:db8::1", "2001:4860::1", "tcp", "22", Some("port1"), Some("port2"))).expect("answer");
            assert_eq!(r.verdict, "denied");
        }
    }
}
