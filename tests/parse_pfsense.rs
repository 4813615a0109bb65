//! Tests of the pfSense / OPNsense reader: snapshots of the model and diagnostics of the
//! fixtures in `tests/golden/pfsense/` (written for these tests), engine-level answers on them
//! (pf's quick and last-match semantics, NAT, state), and the corpus files.

use std::path::{Path, PathBuf};

use portolan::diag::{codes, FileStatus};
use portolan::model::{Action, AddrRange, Cond, Firewall, Hook, NatTarget, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::{Analyzer, TestRow};
use portolan::report::FlowResult;
use portolan::{InputFile, Workspace};

mod support;
use support::snapshot;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pfsense")
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

fn ruleset<'a>(p: &'a ParsedFile, name: &str) -> &'a portolan::model::Ruleset {
    fw(p).rulesets.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no ruleset {name}"))
}

#[test]
fn every_fixture_is_tested() {
    let missing = support::untested_fixtures(&golden_dir(), include_str!("parse_pfsense.rs"));
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let $p = load($file);
            assert_eq!($p.format, Format::PfSense, "detected format of {}", $file);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(edge, "edge.xml", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("pf-edge"));
    assert_eq!(p.status(), FileStatus::Partial, "{:?}", p.diags);
    let itf = |n: &str| p.content.interfaces.iter().find(|i| i.name == n).expect("interface");
    assert!(itf("wan").external);
    assert!(!itf("lan").external);
    assert_eq!(itf("lan").addresses.len(), 2);
    assert!(!itf("opt2").up, "no <enable>: disabled");
    // Routes: the static route through GW_DMZ, the disabled one left out, the default via GW_WAN.
    let r = &p.content.routes;
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].dst.to_string(), r[0].via.map(|v| v.to_string()), r[0].dev.as_deref()), ("10.20.0.0/16".into(), Some("10.0.50.254".into()), Some("opt1")));
    assert_eq!((r[1].dst.to_string(), r[1].via.map(|v| v.to_string()), r[1].dev.as_deref()), ("0.0.0.0/0".into(), Some("203.0.113.1".into()), Some("wan")));
    let f = fw(&p);
    assert!(f.stateful);
    let hook = |name: &str| {
        let i = f.rulesets.iter().position(|r| r.name == name).expect("ruleset");
        let h = f.hooks.iter().find(|h| h.ruleset == i).expect("hooked");
        (h.hook, h.stage, h.priority)
    };
    assert_eq!(hook("port forward"), (Hook::Prerouting, Stage::DstNat, -100));
    assert_eq!(hook("in"), (Hook::Prerouting, Stage::Filter, 0));
    assert_eq!(hook("outbound nat"), (Hook::Postrouting, Stage::SrcNat, 100));
    assert_eq!(hook("out"), (Hook::Postrouting, Stage::Filter, 200));
    // Per-interface rulesets named as pfSense names the tabs.
    for n in ["WAN", "LAN", "DMZ"] {
        assert!(f.rulesets.iter().any(|r| r.name == n), "{n}");
    }
    let inr = ruleset(&p, "in");
    assert_eq!(inr.rules[0].conds, vec![Cond::is(Test::CtState(vec![1, 2]))]);
    // blockpriv on the WAN, then the anti-lockout on the LAN (webGUI 8443, redirect 80, ssh 22).
    assert_eq!(inr.rules[1].action, Action::Drop);
    assert_eq!(inr.rules[1].prov.line, 25);
    assert!(inr.rules[2].prov.text.contains("anti-lockout"));
    assert!(inr.rules[2].conds.contains(&Cond::is(Test::Dport(vec![(8443, 8443), (80, 80), (22, 22)]))));
    // Floating quick (line 79) before the interface rules; the non-quick floating rules come
    // last, the later one first (last match wins), then the default deny.
    let lines: Vec<u32> = inr.rules.iter().map(|r| r.prov.line).collect();
    let pos = |l: u32| lines.iter().position(|x| *x == l).unwrap_or_else(|| panic!("line {l} in {lines:?}"));
    let jump_lan = inr.rules.iter().position(|r| matches!(r.action, Action::Jump(_)) && r.conds == vec![Cond::is(Test::InIface("lan".into()))]).expect("jump to LAN");
    assert!(pos(79) < jump_lan);
    assert!(jump_lan < pos(124) && pos(124) < pos(108) && pos(108) < pos(94));
    assert_eq!(inr.rules.last().map(|r| (&r.action, r.prov.line)), Some((&Action::Drop, 0)));
    // The disabled rule (line 254) is not used.
    assert!(f.rulesets.iter().flat_map(|r| &r.rules).all(|r| r.prov.line != 254));
    // The alias with a nested alias and a range.
    let lan = ruleset(&p, "LAN");
    let Some(Test::Src(admins)) = lan.rules[0].conds.iter().map(|c| c.test.clone()).find(|t| matches!(t, Test::Src(_))) else { panic!("src") };
    assert_eq!(admins.len(), 3);
    // ICMP types become one rule each.
    let dmz = ruleset(&p, "DMZ");
    assert_eq!(dmz.rules.iter().filter(|r| r.prov.line == 225).count(), 2);
    // The URL-table alias is unknown.
    assert!(dmz.rules.iter().any(|r| r.prov.line == 239 && !r.unknown.is_empty()));
    // Port forward with local-port, and the hybrid outbound NAT: manual rule first, then automatic.
    let pf = ruleset(&p, "port forward");
    assert_eq!(pf.rules[0].action, Action::Dnat(NatTarget { addr: Some(AddrRange::single("10.0.50.10".parse().unwrap())), ports: Some((8443, 8443)) }));
    let snat = ruleset(&p, "outbound nat");
    assert_eq!(snat.rules[0].action, Action::Snat(NatTarget { addr: Some(AddrRange::single("203.0.113.50".parse().unwrap())), ports: None }));
    assert_eq!(snat.rules[1].action, Action::Masquerade(None));
    // Known irrelevant sections (dhcpd, syslog) are silent; the file is fully read.
    assert!(p.unread_lines.is_empty());
    assert!(p.diags.iter().all(|d| d.code != codes::UNRECOGNIZED), "{:?}", p.diags);
});

golden!(opnsense, "opnsense.xml", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("opn-branch"));
    // The automation rules are reported once and make the WAN uncertain.
    assert_eq!(codes_at(&p, 120), [codes::UNRECOGNIZED]);
    let inr = ruleset(&p, "in");
    assert!(inr.rules.iter().any(|r| r.prov.line == 120 && matches!(r.action, Action::Unknown(_)) && r.conds == vec![Cond::is(Test::InIface("wan".into()))]));
    // No anti-lockout (disabled), aliases from the OPNsense section.
    assert!(inr.rules.iter().all(|r| !r.prov.text.contains("anti-lockout")));
    let lan = ruleset(&p, "LAN");
    assert_eq!(lan.rules.len(), 2, "only the quick rules are in the interface's ruleset");
    assert!(lan.rules[0].conds.contains(&Cond::is(Test::Dport(vec![(80, 80), (443, 443)]))));
    assert!(lan.rules[0].conds.contains(&Cond::is(Test::Proto(vec![6, 17]))));
    // Automatic outbound NAT on the DHCP WAN.
    let snat = ruleset(&p, "outbound nat");
    assert_eq!(snat.rules.len(), 1);
    assert_eq!(snat.rules[0].action, Action::Masquerade(None));
    // The default route out of the DHCP WAN, gateway learned at run time.
    assert_eq!(p.content.routes.len(), 1);
    assert_eq!((p.content.routes[0].via, p.content.routes[0].dev.as_deref()), (None, Some("wan")));
});

golden!(errors, "errors.xml", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("pf-broken"));
    assert!(p.diags.iter().any(|d| d.code == codes::STRUCTURE && d.reason.contains("contains itself")), "{:?}", p.diags);
    assert_eq!(codes_at(&p, 37), [codes::UNRECOGNIZED]);
    assert!(codes_at(&p, 42).contains(&codes::BAD_VALUE));
    assert!(codes_at(&p, 39).contains(&codes::UNDEFINED_REFERENCE));
    assert!(codes_at(&p, 25).contains(&codes::UNMODELLED_MATCH), "host name in an alias");
    assert_eq!(codes_at(&p, 51), [codes::UNMODELLED_MATCH]);
    assert_eq!(codes_at(&p, 54), [codes::UNMODELLED_TARGET]);
    assert!(codes_at(&p, 61).contains(&codes::UNDEFINED_REFERENCE));
    assert_eq!(codes_at(&p, 66), [codes::UNRECOGNIZED]);
    // The unknown section's other lines count as unrecognized too.
    assert!(p.unread_lines.contains(&67) && p.unread_lines.contains(&69));
    assert!(p.content.routes.is_empty());
});

#[test]
fn truncated_file_fails_cleanly() {
    let p = load("truncated.xml");
    assert_eq!(p.format, Format::PfSense);
    assert_eq!(p.status(), FileStatus::Failed);
    assert!(p.content.firewall.is_none());
    insta::assert_json_snapshot!("truncated.xml", snapshot(&p));
}

// ---- Engine-level behaviour -------------------------------------------------------------

fn ws(name: &str) -> Workspace {
    Workspace::load(vec![InputFile::new(name.to_string(), text(name))])
}

fn flow(w: &Workspace, src: &str, dst: &str, proto: &str, port: &str) -> FlowResult {
    Analyzer::new(w).flow(src, dst, proto, port, None).expect("a flow answer")
}

/// True if the rule at `line` took part in the first hop's decisions.
fn decided(r: &FlowResult, line: u32) -> bool {
    r.hops.first().is_some_and(|h| h.decisions.iter().any(|d| d.line == line))
}

fn stop(r: &FlowResult) -> Option<(u32, String)> {
    r.hops.iter().filter_map(|h| h.rule.as_ref()).next_back().map(|x| (x.line, x.text.to_string()))
}

#[test]
fn lan_out_with_automatic_nat_and_state() {
    let w = ws("edge.xml");
    let r = flow(&w, "192.168.1.20", "8.8.8.8", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    let h = &r.hops[0];
    assert!(decided(&r, 199), "{h:?}");
    assert!(h.nat.iter().any(|n| n.kind == "masquerade" && n.to.starts_with("203.0.113.2")), "{:?}", h.nat);
    let reply = r.hops.iter().find(|h| h.direction == "reply").expect("reply");
    assert!(reply.rule.as_ref().is_some_and(|x| x.text.contains("stateful")), "{reply:?}");
    // The DMZ goes out through the manual rule's address.
    let r = flow(&w, "10.0.50.10", "8.8.8.8", "tcp", "80");
    assert!(r.hops[0].nat.iter().any(|n| n.to.starts_with("203.0.113.50")), "{:?}", r.hops[0].nat);
}

#[test]
fn port_forward_to_inside_server() {
    let w = ws("edge.xml");
    let r = flow(&w, "8.8.4.4", "203.0.113.2", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    let h = &r.hops[0];
    assert_eq!(h.nat[0].kind, "dnat");
    assert_eq!(h.nat[0].to, "10.0.50.10:8443");
    assert!(decided(&r, 156), "{h:?}");
    // The same server straight from the Internet: the WAN rule matches its address and port too
    // (pf filters after translation), so only other ports are denied, by the default deny.
    let r = flow(&w, "8.8.4.4", "10.0.50.10", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied");
    assert!(stop(&r).is_some_and(|(l, t)| l == 0 && t.contains("default deny")), "{r:#?}");
    // Private sources on the WAN are blocked first.
    let r = flow(&w, "10.9.9.9", "203.0.113.2", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(stop(&r).map(|x| x.0), Some(25));
}

#[test]
fn floating_quick_and_last_match() {
    let w = ws("edge.xml");
    // A floating quick block beats the LAN pass rule.
    let r = flow(&w, "192.168.1.20", "198.51.100.99", "tcp", "443");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(stop(&r).map(|x| x.0), Some(79));
    // A floating non-quick block loses to the quick LAN pass rule.
    assert_eq!(flow(&w, "192.168.1.20", "198.51.100.66", "tcp", "443").verdict.as_str(), "allowed");
    // Two non-quick floating rules: the later one wins where both match (pf's last match).
    let r = flow(&w, "10.0.50.25", "8.8.8.8", "tcp", "25");
    assert_eq!(r.verdict.as_str(), "denied", "{r:#?}");
    assert_eq!(stop(&r).map(|x| x.0), Some(124));
    let r = flow(&w, "10.0.50.30", "8.8.8.8", "tcp", "25");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    assert!(decided(&r, 108), "{:?}", r.hops[0]);
    // A floating quick rule on the way out.
    let r = flow(&w, "192.168.1.20", "8.8.8.8", "tcp", "6667");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(stop(&r).map(|x| x.0), Some(139));
}

#[test]
fn interface_rules_first_match_and_device_access() {
    let w = ws("edge.xml");
    // Admins reach DMZ ssh; the rest of the LAN is rejected by the next rule.
    assert_eq!(flow(&w, "192.168.1.70", "10.0.50.10", "tcp", "22").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "192.168.1.201", "10.0.50.10", "tcp", "22").verdict.as_str(), "allowed");
    let r = flow(&w, "192.168.1.20", "10.0.50.10", "tcp", "22");
    assert_eq!(r.verdict.as_str(), "denied");
    assert_eq!(stop(&r).map(|x| x.0), Some(185));
    // The disabled DMZ→LAN rule does not apply.
    assert_eq!(flow(&w, "10.0.50.10", "192.168.1.20", "tcp", "445").verdict.as_str(), "denied");
    // (self): DNS from the DMZ to the firewall; the anti-lockout from the LAN.
    assert_eq!(flow(&w, "10.0.50.10", "10.0.50.1", "udp", "53").verdict.as_str(), "allowed");
    assert_eq!(flow(&w, "192.168.1.20", "192.168.1.1", "tcp", "8443").verdict.as_str(), "allowed");
    // DHCP requests to the firewall on the LAN, whose DHCP server is enabled; not on the DMZ.
    let t = Analyzer::new(&w).test_filter("in", &row("0.0.0.0", "255.255.255.255", "udp", "67", Some("lan"))).expect("answer");
    assert_eq!(t.verdict, "allowed");
    let t = Analyzer::new(&w).test_filter("in", &row("0.0.0.0", "255.255.255.255", "udp", "67", Some("opt1"))).expect("answer");
    assert_eq!(t.verdict, "denied");
    // The IPsec peer reaches IKE on the WAN address (auto-added VPN rule); others do not.
    let r = flow(&w, "192.0.2.77", "203.0.113.2", "udp", "500");
    assert_eq!(r.verdict.as_str(), "allowed", "{r:#?}");
    assert!(decided(&r, 341), "{:?}", r.hops[0]);
    assert_eq!(flow(&w, "192.0.2.78", "203.0.113.2", "udp", "500").verdict.as_str(), "denied");
    // Unknown URL-table alias: possibly.
    let r = flow(&w, "10.0.50.10", "8.8.8.8", "tcp", "80");
    assert_eq!(r.verdict.as_str(), "possibly", "{r:#?}");
    assert!(r.uncertain.iter().any(|u| u.contains(":239")), "{:?}", r.uncertain);
}

fn row(src: &str, dst: &str, proto: &str, port: &str, i: Option<&str>) -> TestRow {
    TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), in_iface: i.map(Into::into), ..Default::default() }
}

#[test]
fn opnsense_non_quick_interface_rules_and_filters_by_name() {
    let w = ws("opnsense.xml");
    let a = Analyzer::new(&w);
    // Quick pass of the web ports.
    let t = a.test_filter("in", &row("172.20.0.5", "10.8.0.10", "tcp", "443", Some("lan"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("allowed", Some(26)));
    // Other ports to the servers: the non-quick block (line 43) is overridden by the later
    // non-quick pass (line 57).
    let t = a.test_filter("in", &row("172.20.0.5", "10.8.0.10", "tcp", "22", Some("lan"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("allowed", Some(57)));
    // From outside the LAN subnet: only the block matches.
    let t = a.test_filter("in", &row("10.99.0.5", "10.8.0.10", "tcp", "22", Some("lan"))).expect("answer");
    assert_eq!((t.verdict.as_str(), t.rule.as_ref().map(|r| r.line)), ("denied", Some(43)));
    // The GeoIP alias: possibly.
    let t = a.test_filter("LAN", &row("10.99.0.5", "1.2.3.4", "tcp", "8443", Some("lan"))).expect("answer");
    assert_eq!(t.verdict, "possibly");
    // The WAN is decided by automation rules that are not read.
    let t = a.test_filter("in", &row("1.2.3.4", "172.20.0.5", "tcp", "22", Some("wan"))).expect("answer");
    assert_eq!(t.verdict, "possibly");
}

#[test]
fn hostile_input_never_panics() {
    for t in [
        "<pfsense>",
        "<pfsense><filter><rule><source><address>a</address></source></rule></filter></pfsense>",
        "<pfsense><interfaces><wan><ipaddr>999.1.1.1</ipaddr><subnet>99</subnet></wan></interfaces></pfsense>",
        "<opnsense><aliases><alias><name>a</name><address>a</address></alias></aliases><filter><rule><destination><address>a</address><port>a</port></destination></rule></filter></opnsense>",
        "<pfsense><nat><rule><target>x</target><local-port>70000</local-port><destination><port>5-1</port></destination></rule></nat></pfsense>",
    ] {
        let p = parse::parse(0, "x", t);
        assert_eq!(p.format, Format::PfSense);
    }
    // Deep nesting does not overflow (roxmltree bounds the depth).
    let deep = format!("<pfsense>{}{}</pfsense>", "<a>".repeat(5000), "</a>".repeat(5000));
    let _ = parse::parse(0, "x", &deep);
}

// ---- Corpus ----------------------------------------------------------------------------

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/pfsense-opnsense/opnDossier");

#[test]
fn corpus_configs() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        assert!(std::env::var("CI").is_err(), "the corpus is missing in CI");
        return;
    }
    let mut files = Vec::new();
    for d in [root.to_path_buf(), root.join("pfsense")] {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_file() && (p.extension().is_some_and(|x| x == "xml") || p.to_string_lossy().ends_with(".sample")) {
                files.push(p);
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 9);
    let (mut total, mut unrec) = (0u32, 0u32);
    for f in &files {
        let t = std::fs::read_to_string(f).expect("readable");
        assert_eq!(parse::detect(&t), Format::PfSense, "{}", f.display());
        let p = std::panic::catch_unwind(|| parse::parse(0, "x", &t)).unwrap_or_else(|_| panic!("{} panicked", f.display()));
        assert!(p.content.firewall.is_some(), "{}", f.display());
        total += p.lines_total - p.lines_skipped;
        unrec += p.lines_unrecognized();
    }
    let cov = 100.0 * (1.0 - f64::from(unrec) / f64::from(total));
    assert!(cov >= 98.0, "corpus coverage {cov:.1}%");
    // The pfSense example: port forwards to 10.0.2.2 with their filter rules.
    let t = std::fs::read_to_string(root.join("pfsense/config-pfSense.xml")).expect("file");
    let w = Workspace::load(vec![InputFile::new("config-pfSense.xml", t)]);
    let a = Analyzer::new(&w);
    let r = a.test_filter("port forward", &row("8.8.8.8", "1.2.3.4", "tcp", "80", Some("wan"))).expect("answer");
    assert!(r.rule.is_some());
}
