//! Cisco ASA reader: golden snapshots of the fixtures in `tests/golden/cisco_asa/` (written for
//! this project, not taken from any device), and engine-level checks of what they mean: security
//! levels without ACLs, same-security traffic, interface and global ACLs with the deciding line,
//! object and twice NAT with the ACL on the real address, stateful replies, management access,
//! and "possibly" for what is not modelled.

use std::path::{Path, PathBuf};

use portolan::diag::{codes, FileStatus, Severity};
use portolan::model::{Action, Firewall, Hook, RouteKind, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::{Analyzer, TestRow};
use portolan::{InputFile, Workspace};

mod support;
use support::snapshot;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cisco_asa")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable")
}

fn load(name: &str) -> ParsedFile {
    parse::parse(0, name, &text(name))
}

/// The firewall a fixture must have.
fn fw(p: &ParsedFile) -> &Firewall {
    p.content.firewall.as_ref().expect("a firewall")
}

/// A rule that is not fully modelled always has a warning on its line.
fn assert_unknowns_are_reported(p: &ParsedFile) {
    let Some(f) = &p.content.firewall else { return };
    for r in f.rulesets.iter().flat_map(|rs| &rs.rules) {
        if r.prov.line > 0 && (!r.unknown.is_empty() || matches!(r.action, Action::Unknown(_))) {
            assert!(
                p.diags.iter().any(|d| d.line == r.prov.line && d.severity >= Severity::Warning),
                "line {} is not fully modelled but has no warning: {}",
                r.prov.line,
                r.prov.text
            );
        }
    }
}

fn codes_at(p: &ParsedFile, line: u32) -> Vec<&'static str> {
    p.diags.iter().filter(|d| d.line == line).map(|d| d.code).collect()
}

/// Every fixture has a test below (a new fixture without one fails here).
#[test]
fn every_fixture_is_tested() {
    let missing = support::untested_fixtures(&golden_dir(), include_str!("parse_cisco_asa.rs"));
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let $p = load($file);
            assert_eq!($p.format, Format::CiscoAsa, "detected format of {}", $file);
            assert_unknowns_are_reported(&$p);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(edge, "edge.asa", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("edge-fw"));
    let f = fw(&p);
    assert!(f.stateful);
    // Interfaces without nameif are not listed; the shut subinterface is down.
    let names: Vec<&str> = p.content.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["GigabitEthernet0/0", "GigabitEthernet0/1", "GigabitEthernet0/3.50", "GigabitEthernet0/3.60", "Management0/0"]);
    let partner = &p.content.interfaces[3];
    assert!(!partner.up);
    assert_eq!(partner.zone.as_deref(), Some("partner"));
    let outside = &p.content.interfaces[0];
    assert!(outside.external);
    assert_eq!(outside.addresses.len(), 2, "IPv4 (the standby address is not ours) and IPv6");
    assert!(!p.content.interfaces[1].external, "inside defaults to security level 100");
    // Routes: admin distance as metric, the interface by nameif, Null0 as blackhole.
    let r = &p.content.routes;
    assert_eq!(r.len(), 4);
    assert_eq!(r[1].metric, 5);
    assert_eq!(r[1].dev.as_deref(), Some("GigabitEthernet0/1"));
    assert_eq!(r[3].kind, RouteKind::Blackhole);
    // The ACL line with an inline comment-free `inactive` is dropped; time-range and FQDN lines
    // are unknown with a warning.
    let acl = f.rulesets.iter().find(|r| r.name == "outside_in").expect("outside_in");
    assert!(acl.rules.iter().all(|r| !r.prov.text.contains("8443")));
    assert!(acl.rules.iter().any(|r| r.unknown.iter().any(|u| u.contains("time-range workhours"))));
    let last = acl.rules.last().expect("implicit deny");
    assert_eq!(last.prov.text, "implicit deny at the end of ACL outside_in");
    assert_eq!(last.action, Action::Drop);
    // The service group with udp, tcp and icmp gives one rule each, same line.
    let dmz = f.rulesets.iter().find(|r| r.name == "dmz_in").expect("dmz_in");
    assert_eq!(dmz.rules.iter().filter(|r| r.prov.line == 96 && !r.conds.is_empty()).count(), 3);
    // Port names are the ASA's: www and https and a range from the port group.
    let web = acl.rules.first().expect("first rule");
    assert!(web.conds.iter().any(|c| c.test == Test::Dport(vec![(80, 80), (443, 443), (8080, 8081)])));
    // VPN is reported as not modelled, at Info level.
    let vpn = p.diags.iter().find(|d| d.text.starts_with("crypto map outside_map interface")).expect("vpn diag");
    assert_eq!(vpn.severity, Severity::Info);
    // Hooks: destination NAT, policy, outbound ACLs, to the device, source NAT.
    let hooks: Vec<(Hook, Stage)> = f.hooks.iter().map(|h| (h.hook, h.stage)).collect();
    assert!(hooks.contains(&(Hook::Forward, Stage::Filter)));
    assert!(hooks.contains(&(Hook::Input, Stage::Filter)));
    assert!(hooks.contains(&(Hook::Prerouting, Stage::DstNat)));
    assert!(hooks.contains(&(Hook::Postrouting, Stage::SrcNat)));
});

golden!(global_acl, "global-acl.asa", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let f = fw(&p);
    // With a global ACL the interface ACL has no implicit deny of its own.
    let inside = f.rulesets.iter().find(|r| r.name == "inside_in").expect("inside_in");
    assert!(inside.rules.iter().all(|r| !r.prov.text.starts_with("implicit deny")));
    let global = f.rulesets.iter().find(|r| r.name == "everywhere").expect("global");
    assert_eq!(global.rules.last().map(|r| r.prov.text.as_str()), Some("implicit deny at the end of ACL everywhere"));
});

golden!(security_levels, "security-levels.asa", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
});

golden!(nat_sections, "nat.asa", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let f = fw(&p);
    let src = f.rulesets.iter().find(|r| r.name == "source-nat").expect("source NAT");
    let lines: Vec<u32> = src.rules.iter().map(|r| r.prov.line).collect();
    // Section 1 twice NAT (lines 50, 51, 73) first, then object NAT statics, all of one address,
    // ordered by address (ssh-jump 65, unidirectional but still translating outbound; app 57;
    // mail 63; web-real 61), then dynamics (lan 55 before dmz-net 59: same size, lower
    // address), then section 3 (line 52).
    let mut firsts: Vec<u32> = Vec::new();
    for l in lines {
        if firsts.last() != Some(&l) {
            firsts.push(l);
        }
    }
    assert_eq!(firsts, [50, 51, 73, 65, 57, 63, 61, 55, 59, 52]);
    // Identity NAT (NAT exemption) is an accept that stops the NAT lookup.
    assert_eq!(src.rules[0].action, Action::Accept);
    let dst = f.rulesets.iter().find(|r| r.name == "destination-nat").expect("destination NAT");
    // The unidirectional static gives no inbound translation.
    assert!(dst.rules.iter().all(|r| r.prov.line != 65));
});

golden!(errors, "errors.asa", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    assert_eq!(codes_at(&p, 6), [codes::BAD_VALUE]);
    assert_eq!(codes_at(&p, 8), [codes::UNRECOGNIZED]);
    assert_eq!(codes_at(&p, 11), [codes::STRUCTURE]);
    assert_eq!(codes_at(&p, 16), [codes::STRUCTURE], "the group cycle is reported once, at the group");
    assert_eq!(codes_at(&p, 22), [codes::BAD_VALUE]);
    assert_eq!(codes_at(&p, 24), [codes::UNDEFINED_REFERENCE, codes::UNMODELLED_MATCH]);
    assert_eq!(codes_at(&p, 30), [codes::UNDEFINED_REFERENCE]);
    // Lines of an unknown block are each reported.
    assert_eq!(codes_at(&p, 36), [codes::UNRECOGNIZED]);
    assert_eq!(codes_at(&p, 37), [codes::UNRECOGNIZED]);
    // A binding to an undefined ACL is unknown, not permit-all or deny-all.
    let policy = fw(&p).rulesets.iter().find(|r| r.name == "access-policy").expect("policy");
    assert!(policy.rules.iter().any(|r| matches!(&r.action, Action::Unknown(t) if t.contains("nosuch"))));
});

golden!(acl_only, "acl-only.asa", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert_eq!(p.lines_skipped, 2, "the two remarks");
    let f = fw(&p);
    assert_eq!(f.rulesets.len(), 1, "only the ACL: nothing attaches it");
    assert!(f.hooks.is_empty());
});

// ---- Engine-level behaviour -------------------------------------------------------------

fn ws(files: &[&str]) -> Workspace {
    Workspace::load(files.iter().map(|f| InputFile::new(f.to_string(), text(f))).collect())
}

fn flow(w: &Workspace, src: &str, dst: &str, proto: &str, port: &str) -> portolan::report::FlowResult {
    Analyzer::new(w).flow(src, dst, proto, port, None).expect("a flow answer")
}

fn deciding(r: &portolan::report::FlowResult) -> Option<(u32, String)> {
    r.hops.iter().find(|h| h.outcome == "dropped" || h.outcome.starts_with("drop")).and_then(|h| h.rule.as_ref()).map(|x| (x.line, x.text.to_string()))
}

#[test]
fn security_levels_without_acl() {
    let w = ws(&["security-levels.asa"]);
    // inside (100, the default for nameif inside) to outside (0): allowed, replies return.
    assert_eq!(flow(&w, "10.0.1.5", "192.0.2.77", "tcp", "443").verdict.as_str(), "allowed");
    // outside to inside: lower to higher, denied by the security-level default.
    let r = flow(&w, "192.0.2.77", "10.0.1.5", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "denied");
    assert!(r.reason.contains("access-policy") || r.hops.iter().any(|h| h.rule.as_ref().is_some_and(|x| x.text.contains("lower to higher"))), "{r:?}");
    // dmz1 (50) to dmz2 (50): same level without inter-interface permit: denied.
    assert_eq!(flow(&w, "10.0.2.5", "10.0.3.5", "tcp", "22").verdict.as_str(), "denied");
    // dmz1 to outside: higher to lower.
    assert_eq!(flow(&w, "10.0.2.5", "192.0.2.77", "udp", "53").verdict.as_str(), "allowed");
    // lab has no security-level and is not named inside: level 0; inside reaches it, it does
    // not reach inside, and it does not reach outside (same level 0).
    assert_eq!(flow(&w, "10.0.1.5", "10.0.4.5", "tcp", "80").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "10.0.4.5", "10.0.1.5", "tcp", "80").verdict.as_str(), "denied");
    assert_eq!(flow(&w, "10.0.4.5", "192.0.2.77", "tcp", "80").verdict.as_str(), "denied");
    // Hairpin on inside (to a network routed back out of inside): intra-interface permitted.
    assert_eq!(flow(&w, "10.0.1.5", "10.9.1.1", "tcp", "80").verdict.as_str(), "allowed");
}

#[test]
fn icmp_replies_return_only_with_inspect_icmp() {
    let w = ws(&["security-levels.asa"]);
    // The echo request leaves, but without ICMP inspection its reply is an outside-to-inside
    // packet that the security levels deny.
    let r = flow(&w, "10.0.1.5", "192.0.2.77", "icmp", "echo-request");
    assert_eq!(r.verdict.as_str(), "denied", "{r:?}");
    assert!(r.hops.iter().any(|h| h.direction == "reply" && h.outcome.contains("drop")), "{r:?}");
    let t = text("security-levels.asa") + "policy-map global_policy\n class inspection_default\n  inspect icmp\n";
    let w = Workspace::load(vec![InputFile::new("levels.asa", t)]);
    assert_eq!(flow(&w, "10.0.1.5", "192.0.2.77", "icmp", "echo-request").verdict.as_str(), "allowed");
}

#[test]
fn same_security_inter_interface_permits() {
    let t = text("security-levels.asa").replace("same-security-traffic permit intra-interface", "same-security-traffic permit inter-interface");
    let w = Workspace::load(vec![InputFile::new("levels.asa", t)]);
    assert_eq!(flow(&w, "10.0.2.5", "10.0.3.5", "tcp", "22").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "10.0.4.5", "192.0.2.77", "tcp", "80").verdict.as_str(), "allowed");
    // Without intra-interface, hairpinning is denied.
    assert_eq!(flow(&w, "10.0.1.5", "10.9.1.1", "tcp", "80").verdict.as_str(), "denied");
}

#[test]
fn interface_acl_permit_and_deny_with_file_and_line() {
    let w = ws(&["edge.asa"]);
    // Line 90: deny tcp host 198.51.100.7 any eq ssh (before the permit on line 91).
    let r = flow(&w, "198.51.100.7", "10.1.5.5", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(deciding(&r).map(|d| d.0), Some(90), "{r:?}");
    let r = flow(&w, "198.51.100.8", "10.1.5.5", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:?}");
    // The name `mailhost` resolves; smtp is permitted to it.
    assert_eq!(flow(&w, "203.0.113.99", "192.168.10.25", "tcp", "25").verdict.as_str(), "allowed");
    // Anything else from outside stops at the explicit deny on line 95, unless the FQDN line 92
    // (unknown addresses) matches: possibly.
    let r = flow(&w, "203.0.113.99", "192.168.10.30", "tcp", "25");
    assert_eq!(r.verdict.as_str(), "possibly");
    assert!(r.uncertain.iter().any(|u| u.contains(":92")), "{:?}", r.uncertain);
    // The outbound ACL on dmz denies telnet even from inside (higher to lower).
    let r = flow(&w, "10.1.2.3", "192.168.10.30", "tcp", "23");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(deciding(&r).map(|d| d.0), Some(98));
    // Traffic entering and leaving the same interface is denied without same-security-traffic
    // permit intra-interface, whether or not an ACL would permit it.
    for (src, dst) in [("10.1.2.3", "10.2.0.5"), ("198.51.100.9", "192.0.2.200")] {
        let r = flow(&w, src, dst, "tcp", "443");
        assert_eq!(r.verdict.as_str(), "denied", "{r:?}");
        assert!(r.hops.iter().any(|h| h.rule.as_ref().is_some_and(|x| x.text.contains("same interface"))), "{r:?}");
    }
    // management-only interfaces pass no through traffic.
    assert_eq!(flow(&w, "172.16.0.9", "198.51.100.9", "tcp", "443").verdict.as_str(), "denied");
}

#[test]
fn global_acl_after_interface_acl() {
    let w = ws(&["global-acl.asa"]);
    // inside_in permits https first.
    assert_eq!(flow(&w, "10.20.0.5", "198.51.100.200", "tcp", "443").verdict.as_str(), "allowed");
    // Not matched by inside_in: the global ACL decides (dns permitted), not the security level.
    assert_eq!(flow(&w, "10.20.0.5", "8.8.8.8", "udp", "53").verdict.as_str(), "allowed");
    let r = flow(&w, "10.20.0.5", "8.8.8.8", "tcp", "80");
    assert_eq!(r.verdict.as_str(), "denied", "higher to lower, but the global ACL's implicit deny applies");
    assert_eq!(deciding(&r).map(|d| d.1), Some("implicit deny at the end of ACL everywhere".to_string()));
    // Guest has no interface ACL: the global one applies to it too.
    assert_eq!(flow(&w, "10.30.0.5", "10.20.0.10", "tcp", "80").verdict.as_str(), "allowed");
    let r = flow(&w, "203.0.113.66", "10.20.0.10", "tcp", "80");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(deciding(&r).map(|d| d.0), Some(25));
}

#[test]
fn object_static_nat_port_forward_matches_real_address() {
    let w = ws(&["nat.asa"]);
    // 203.0.113.20:443 is app 172.16.0.20:8443; outside_in permits the real address and port.
    let r = flow(&w, "198.51.100.200", "203.0.113.20", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:?}");
    let nat: Vec<_> = r.hops.iter().flat_map(|h| h.nat.iter()).collect();
    assert!(nat.iter().any(|n| n.kind == "dnat" && n.to.contains("172.16.0.20") && n.to.contains("8443")), "{nat:?}");
    // Mapped port 8443 on the public address is not forwarded (only 443 is).
    assert_ne!(flow(&w, "198.51.100.200", "203.0.113.20", "tcp", "8443").verdict.as_str(), "allowed");
    // The 1:1 static for web-real, ACL on the real address.
    assert_eq!(flow(&w, "198.51.100.200", "203.0.113.80", "tcp", "80").verdict.as_str(), "allowed");
    // Static to the interface with a service: smtp on the outside address reaches mail.
    assert_eq!(flow(&w, "198.51.100.200", "203.0.113.1", "tcp", "25").verdict.as_str(), "allowed");
    // Unidirectional: no inbound translation of 2222 on the interface address.
    assert_ne!(flow(&w, "198.51.100.200", "203.0.113.1", "tcp", "2222").verdict.as_str(), "allowed");
}

#[test]
fn dynamic_pat_outbound_and_stateful_reply() {
    let w = ws(&["nat.asa"]);
    let r = flow(&w, "10.0.0.5", "192.0.2.200", "tcp", "443");
    // Twice NAT section 1 (line 51) only covers the partner's mapped range; the object NAT
    // dynamic PAT of lan (line 55) translates to 203.0.113.50.
    assert_eq!(r.verdict.as_str(), "allowed", "{r:?}");
    let nat: Vec<_> = r.hops.iter().flat_map(|h| h.nat.iter()).collect();
    assert!(nat.iter().any(|n| n.kind == "snat" && n.to.starts_with("203.0.113.50")), "{nat:?}");
    // The reply returns (stateful), reversed.
    assert!(nat.iter().any(|n| n.kind == "un-snat"), "{nat:?}");
    assert!(r.hops.iter().any(|h| h.direction == "reply" && h.decisions.iter().any(|d| d.text.contains("stateful"))), "{r:?}");
}

#[test]
fn twice_nat_identity_and_destination_translation() {
    let w = ws(&["nat.asa"]);
    // NAT exemption towards the VPN peers: the source stays 10.0.0.5.
    let r = flow(&w, "10.0.0.5", "198.51.100.9", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "allowed");
    assert!(r.hops.iter().flat_map(|h| h.nat.iter()).all(|n| n.kind != "snat"), "{r:?}");
    // dmz reaches the partner at its mapped address 10.99.0.3, translated to 192.0.2.3.
    let r = flow(&w, "172.16.0.9", "10.99.0.3", "tcp", "443");
    assert!(r.hops.iter().flat_map(|h| h.nat.iter()).any(|n| n.kind == "dnat" && n.to.starts_with("192.0.2.3")), "{r:?}");
    assert_eq!(r.verdict.as_str(), "allowed");
}

#[test]
fn twice_nat_destination_port_translation() {
    let w = ws(&["nat.asa"]);
    // Line 73: from outside, lab-public:80 is lab-web:8080 (service tcp-www web8080: the mapped
    // destination port, then the real one); the ACL permits the real address and port.
    let r = flow(&w, "198.51.100.200", "203.0.113.88", "tcp", "80");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:?}");
    assert!(r.hops.iter().flat_map(|h| h.nat.iter()).any(|n| n.kind == "dnat" && n.to == "172.16.0.88:8080"), "{r:?}");
    assert_ne!(flow(&w, "198.51.100.200", "203.0.113.88", "tcp", "8080").verdict.as_str(), "allowed");
}

#[test]
fn management_access_to_the_device() {
    let w = ws(&["edge.asa"]);
    assert_eq!(flow(&w, "10.1.5.9", "10.1.0.1", "tcp", "22").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "10.1.9.9", "10.1.0.1", "tcp", "22").verdict.as_str(), "denied");
    assert_eq!(flow(&w, "10.1.9.9", "10.1.0.1", "tcp", "443").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "198.51.100.9", "203.0.113.2", "tcp", "22").verdict.as_str(), "denied");
    assert_eq!(flow(&w, "198.51.100.9", "203.0.113.2", "icmp", "echo-request").verdict.as_str(), "allowed");
    let r = flow(&w, "8.8.8.8", "203.0.113.2", "icmp", "echo-request");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(deciding(&r).map(|d| d.0), Some(109));
    // Other services of the device are unknown.
    assert_eq!(flow(&w, "198.51.100.9", "203.0.113.2", "udp", "500").verdict.as_str(), "possibly");
}

#[test]
fn unknown_constructs_give_possibly() {
    let w = ws(&["edge.asa"]);
    // The FQDN object on line 92: an allowed answer for any destination behind the outside ACL.
    let r = flow(&w, "198.51.100.9", "10.1.2.3", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "possibly");
    assert!(r.uncertain.iter().any(|u| u.contains(":92")), "{:?}", r.uncertain);
}

#[test]
fn acl_only_file_is_testable_by_name() {
    let w = ws(&["acl-only.asa"]);
    let a = Analyzer::new(&w);
    let row = |src: &str, dst: &str, proto: &str, port: &str| TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), ..Default::default() };
    let t = a.test_filter("edge_in", &row("203.0.113.5", "198.51.100.10", "tcp", "443")).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = a.test_filter("edge_in", &row("10.1.1.1", "198.51.100.10", "tcp", "443")).expect("answer");
    assert_eq!(t.verdict, "denied");
    assert_eq!(t.rule.as_ref().map(|r| r.line), Some(3));
    let t = a.test_filter("edge_in", &row("203.0.113.5", "198.51.100.99", "udp", "53")).expect("answer");
    assert_eq!(t.verdict, "denied");
    assert_eq!(t.rule.as_ref().map(|r| r.line), Some(14));
    // Predefined service object tcp-ssh with any6: IPv6 only.
    let t = a.test_filter("edge_in", &row("2001:db8::1", "2001:db8::2", "tcp", "22")).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = a.test_filter("edge_in", &row("203.0.113.5", "198.51.100.99", "tcp", "22")).expect("answer");
    assert_eq!(t.verdict, "denied");
    // Source port operator gt 1023.
    let mut r = row("203.0.113.5", "198.51.100.25", "tcp", "25");
    r.sport = Some(1000);
    assert_eq!(a.test_filter("edge_in", &r).expect("answer").verdict, "denied");
    r.sport = Some(40000);
    assert_eq!(a.test_filter("edge_in", &r).expect("answer").verdict, "allowed");
}

#[test]
fn hostile_input_never_panics() {
    let mut s = String::from("ASA Version 9.1\n");
    for i in 0..200 {
        s.push_str(&format!("object-group network g{i}\n group-object g{}\n", (i + 1) % 200));
    }
    s.push_str("access-list x extended permit ip object-group g0 any\n");
    s.push_str("access-list\naccess-list x\naccess-list x extended\naccess-list x extended permit\naccess-list x extended permit tcp\n");
    s.push_str("access-list x extended permit tcp any\naccess-list x extended permit tcp any any eq\naccess-list x extended permit tcp any any range 5\n");
    s.push_str("nat\nnat (a\nnat (,) source\nnat (a,b) source static\nobject network o\n nat\n nat (x,y) static\n nat static service tcp\n");
    s.push_str("interface\n ip address\n ip address 1.2.3.4\n ipv6 address\nroute\nroute a\nroute a 1.2.3.4\nicmp permit\nicmp permit host\nssh\nssh 1.2.3.4\nhttp server enable x\n");
    s.push_str("object-group service s tcp\n port-object range 9\n port-object\n service-object\n service-object tcp source\n");
    s.push_str("access-list y extended permit object-group s any any\n\u{0}\u{feff}\n");
    let p = parse::parse(0, "hostile.asa", &s);
    assert_eq!(p.format, Format::CiscoAsa);
    assert!(p.diags.iter().any(|d| d.code == codes::STRUCTURE));
    let _ = Workspace::load(vec![InputFile::new("hostile.asa", s)]);
}

// ---- Third-party files (read in place from ../shared/corpus, never copied) --------------

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            corpus_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every ASA file of the corpus is detected as an ASA configuration and reads without panic.
/// Two Batfish test files in the ASA folder hold only an IOS-style interface list (no ASA
/// command at all), so nothing in their content says ASA.
#[test]
fn corpus_asa_files_are_detected_and_read() {
    let root = Path::new(CORPUS).join("cisco-asa");
    if !root.is_dir() {
        eprintln!("note: {} not found: skipped", root.display());
        return;
    }
    let mut files = Vec::new();
    corpus_files(&root, &mut files);
    files.push(Path::new(CORPUS).join("aerleon-rendered/out/xv_ciscoasa.asa"));
    files.push(Path::new(CORPUS).join("aerleon-rendered/smoke/sample_multitarget.asa"));
    let no_asa_content = ["ospf-intervals", "ospf-network-types"];
    let mut read = 0;
    for f in files {
        let Ok(t) = std::fs::read_to_string(&f) else { continue };
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if no_asa_content.contains(&name.as_str()) {
            assert_ne!(parse::detect(&t), Format::CiscoAsa);
            continue;
        }
        assert_eq!(parse::detect(&t), Format::CiscoAsa, "{}", f.display());
        let p = parse::parse(0, &name, &t);
        assert_unknowns_are_reported(&p);
        read += 1;
    }
    assert!(read >= 60, "{read} files read");
}

#[test]
fn aerleon_rendered_acl_decides_as_written() {
    let path = Path::new(CORPUS).join("aerleon-rendered/out/xv_ciscoasa.asa");
    let Ok(t) = std::fs::read_to_string(&path) else {
        eprintln!("note: {} not found: skipped", path.display());
        return;
    };
    let w = Workspace::load(vec![InputFile::new("xv_ciscoasa.asa", t.clone())]);
    let a = Analyzer::new(&w);
    let line_of = |needle: &str| t.lines().position(|l| l == needle).map(|i| i as u32 + 1);
    let check = |src: &str, dst: &str, proto: &str, port: &str, verdict: &str, line: Option<u32>| {
        let row = TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), ..Default::default() };
        let ans = a.test_filter("asa_in", &row).expect("an answer");
        assert_eq!(ans.verdict, verdict, "{src} {dst} {proto} {port}: {ans:?}");
        assert_eq!(ans.rule.as_ref().map(|r| r.line), line, "{src} {dst} {proto} {port}");
    };
    check("8.8.8.8", "200.1.1.1", "tcp", "80", "allowed", line_of("access-list asa_in extended permit tcp any host 200.1.1.1 eq www"));
    check("10.1.1.1", "200.1.1.2", "tcp", "22", "allowed", line_of("access-list asa_in extended permit tcp 10.0.0.0 255.0.0.0 host 200.1.1.2 eq ssh"));
    check("192.0.2.7", "200.1.1.1", "tcp", "80", "denied", line_of("access-list asa_in extended deny ip 192.0.2.0 255.255.255.0 any"));
    check("8.8.8.8", "200.1.1.1", "tcp", "22", "denied", line_of("access-list asa_in extended deny ip any any"));
}

#[test]
fn old_versions_are_flagged_and_names_work_in_routes() {
    let p = parse::parse(0, "old.asa", "PIX Version 7.2(4)\nhostname old\n");
    assert_eq!(codes_at(&p, 1), [codes::UNMODELLED_MATCH]);
    let p = parse::parse(0, "old.asa", "ASA Version 8.2(5)\nhostname old\n");
    assert_eq!(codes_at(&p, 1), [codes::UNMODELLED_MATCH]);
    let t = "ASA Version 9.1(7)\nhostname new\nname 192.0.2.254 isp-gw\ninterface Gi0/0\n nameif outside\n ip address 192.0.2.1 255.255.255.0\nroute outside 0.0.0.0 0.0.0.0 isp-gw 1\n";
    let p = parse::parse(0, "new.asa", t);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    assert_eq!(p.content.routes.first().and_then(|r| r.via), Some("192.0.2.254".parse().expect("address")));
}

/// Every fixture with each line cut after each of its words, or with two neighbouring words
/// swapped, still reads without panic (a cheap stand-in for fuzzing the line grammar).
#[test]
fn truncated_and_shuffled_lines_never_panic() {
    for name in ["edge.asa", "nat.asa", "errors.asa", "global-acl.asa"] {
        let t = text(name);
        let lines: Vec<&str> = t.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let words: Vec<&str> = l.split(' ').collect();
            for k in 0..words.len() {
                let mut variant = lines.clone();
                let cut = words[..k].join(" ");
                variant[i] = &cut;
                let _ = parse::parse(0, name, &variant.join("\n"));
                if k + 1 < words.len() {
                    let mut w = words.clone();
                    w.swap(k, k + 1);
                    let swapped = w.join(" ");
                    let mut v2 = lines.clone();
                    v2[i] = &swapped;
                    let _ = parse::parse(0, name, &v2.join("\n"));
                }
            }
        }
    }
}

/// Security levels over many interfaces stay linear: one ruleset per level in use.
#[test]
fn many_interfaces_keep_the_policy_linear() {
    let mut t = String::from("ASA Version 9.12(1)\nhostname many\n");
    for i in 0..1500u32 {
        t.push_str(&format!("interface Port-channel1.{i}\n vlan {i}\n nameif v{i}\n security-level {}\n ip address 10.{}.{}.1 255.255.255.0\n", i % 3 * 50, i / 250, i % 250));
    }
    let p = parse::parse(0, "many.asa", &t);
    assert!(p.diags.is_empty(), "{:?}", p.diags.first());
    let rules: usize = fw(&p).rulesets.iter().map(|r| r.rules.len()).sum();
    assert!(rules < 10 * 1500, "{rules} rules");
    let w = Workspace::load(vec![InputFile::new("many.asa", t)]);
    // v2 (level 100) to v1 (level 50): higher to lower; v1 to v2: lower to higher; v0 to v3: same level.
    assert_eq!(flow(&w, "10.0.2.9", "10.0.1.9", "tcp", "80").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "10.0.1.9", "10.0.2.9", "tcp", "80").verdict.as_str(), "denied");
    assert_eq!(flow(&w, "10.0.0.9", "10.0.3.9", "tcp", "80").verdict.as_str(), "denied");
}
