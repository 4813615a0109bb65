//! Cisco IOS reader: golden snapshots of the fixtures in `tests/golden/cisco_ios/` (written for
//! these tests), and engine-level checks of what the model means for packets: interface access
//! lists with their implicit deny, stateless replies and `established`, static NAT, port
//! forwarding and overload, unknown constructs giving "possibly", two routers in a row, and
//! `portolan test` on access-list-only files in the NX-OS, IOS-XR and EOS dialects.

use std::path::{Path, PathBuf};

use portolan::diag::{codes, Diagnostic, FileStatus, Severity};
use portolan::model::{Action, AddrRange, Cond, Family, Firewall, Hook, Interface, Route, RouteKind, Ruleset, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::{query, Analyzer, QueryRequest, TestRow};
use portolan::report::{QueryReport, Verdict};
use portolan::space::tcp_flags;
use portolan::{InputFile, Workspace};
use serde::Serialize;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cisco_ios")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable")
}

fn load(name: &str) -> ParsedFile {
    parse::parse(0, name, &read(name))
}

/// What a snapshot holds: status, line counts, the device name the file states, interfaces,
/// routes, the firewall and the diagnostics.
#[derive(Serialize)]
struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
    device_hint: Option<&'a str>,
    interfaces: &'a [Interface],
    routes: &'a [Route],
    firewall: Option<&'a Firewall>,
    diagnostics: &'a [Diagnostic],
}

fn snapshot(p: &ParsedFile) -> Snapshot<'_> {
    Snapshot {
        format: p.format,
        status: p.status(),
        lines_total: p.lines_total,
        lines_skipped: p.lines_skipped,
        lines_unrecognized: p.lines_unrecognized(),
        device_hint: p.device_hint.as_deref(),
        interfaces: &p.content.interfaces,
        routes: &p.content.routes,
        firewall: p.content.firewall.as_deref(),
        diagnostics: &p.diags,
    }
}

fn fw(p: &ParsedFile) -> &Firewall {
    p.content.firewall.as_ref().expect("a firewall")
}

fn ruleset<'a>(p: &'a ParsedFile, name: &str) -> &'a Ruleset {
    fw(p).rulesets.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no ruleset {name}"))
}

fn single(a: &str) -> AddrRange {
    AddrRange::single(a.parse().expect("address"))
}

/// Every rule that is not fully modelled has a warning on its line: unknown constructs are
/// never silent.
fn assert_unknowns_are_reported(p: &ParsedFile) {
    let Some(f) = &p.content.firewall else { return };
    for rs in &f.rulesets {
        for r in &rs.rules {
            if r.unknown.is_empty() && !matches!(r.action, Action::Unknown(_)) {
                continue;
            }
            assert!(
                p.diags.iter().any(|d| d.line == r.prov.line && d.severity >= Severity::Warning),
                "rule at line {} ({}) is not fully modelled but has no warning",
                r.prov.line,
                r.prov.text
            );
        }
    }
}

#[test]
fn every_fixture_has_a_test() {
    let src = include_str!("parse_cisco_ios.rs");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(golden_dir()).expect("fixture folder") {
        let name = e.expect("entry").file_name().to_string_lossy().to_string();
        if !src.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let $p = load($file);
            assert_eq!($p.format, Format::CiscoIos, "detected format of {}", $file);
            assert_unknowns_are_reported(&$p);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(edge_router, "edge-router.cfg", |p| {
    assert_eq!(p.device_hint.as_deref(), Some("edge1"));
    // The only warning: dynamic routing is not modelled (reported once).
    let warnings: Vec<&Diagnostic> = p.diags.iter().filter(|d| d.severity >= Severity::Warning).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].reason.contains("dynamic routing not modelled"));
    assert_eq!(warnings[0].text, "router ospf 1");
    let f = fw(&p);
    assert!(!f.stateful, "IOS routers are stateless");
    // Interfaces: secondary addresses kept with host bits, shutdown read, subinterface.
    let ifs = &p.content.interfaces;
    let lan = ifs.iter().find(|i| i.name == "GigabitEthernet0/1").unwrap();
    let addrs: Vec<String> = lan.addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(addrs, ["192.168.10.1/24", "192.168.11.1/24", "2001:db8:0:10::1/64"]);
    assert!(!ifs.iter().find(|i| i.name == "GigabitEthernet0/2").unwrap().up);
    assert!(ifs.iter().any(|i| i.name == "GigabitEthernet0/1.30" && i.addresses[0].to_string() == "10.99.0.1/24"));
    assert!(ifs.iter().find(|i| i.name == "GigabitEthernet0/0").unwrap().external, "ip nat outside marks the outside");
    // Routes: Null0 is a blackhole, the distance is the metric, the VRF is the table, and an
    // abbreviated interface name is resolved.
    let r = &p.content.routes;
    assert_eq!(r.len(), 5);
    assert_eq!((r[0].dst.to_string(), r[0].metric, r[0].table.as_str()), ("0.0.0.0/0".into(), 1, "main"));
    assert_eq!(r[1].kind, RouteKind::Blackhole);
    assert_eq!((r[2].dev.as_deref(), r[2].metric), (Some("GigabitEthernet0/1"), 250));
    assert_eq!(r[3].table, "MGMT");
    assert!(r[4].dst.to_string() == "::/0");
    // Named ACL: object groups expand, a service group gives one rule per service.
    let acl = ruleset(&p, "OUTSIDE-IN");
    assert_eq!(acl.table, "acl");
    assert_eq!(acl.default, None);
    let est = &acl.rules[0];
    assert!(est.conds.contains(&Cond::not(Test::TcpFlags { mask: tcp_flags::ACK | tcp_flags::RST, comp: 0 })));
    let svc: Vec<_> = acl.rules.iter().filter(|r| r.prov.text.starts_with("permit object-group WEB-PORTS")).collect();
    assert_eq!(svc.len(), 3);
    assert!(svc[2].conds.contains(&Cond::is(Test::Proto(vec![6, 17]))));
    assert!(svc[2].conds.contains(&Cond::is(Test::Dport(vec![(53, 53)]))));
    let last = acl.rules.last().unwrap();
    assert_eq!((last.action.clone(), last.prov.text.as_str()), (Action::Drop, "implicit deny at the end of ACL OUTSIDE-IN"));
    assert_eq!(last.prov.line, line_of(&read("edge-router.cfg"), "ip access-list extended OUTSIDE-IN"), "the implicit deny points at the ACL header");
    // Numbered extended ACL: two ports after eq, an object group as source.
    let a120 = ruleset(&p, "120");
    assert!(a120.rules[0].conds.contains(&Cond::is(Test::Dport(vec![(80, 80), (443, 443)]))));
    let servers = a120.rules.iter().find(|r| r.prov.text.contains("ALL-SERVERS")).unwrap();
    let Some(Test::Src(ranges)) = servers.conds.iter().map(|c| c.test.clone()).find(|t| matches!(t, Test::Src(_))) else {
        panic!("no source")
    };
    assert_eq!(ranges.len(), 4, "{ranges:?}");
    assert!(ranges.contains(&AddrRange { lo: "192.168.10.16".parse().unwrap(), hi: "192.168.10.31".parse().unwrap() }));
    // IPv6 list in sequence order.
    let v6 = ruleset(&p, "V6-IN");
    assert_eq!(v6.family, Family::V6);
    let texts: Vec<&str> = v6.rules.iter().map(|r| r.prov.text.as_str()).collect();
    assert!(texts[0].contains("nd-ns") && texts[1].contains("eq www") && texts[2].starts_with("deny"), "{texts:?}");
    // Dispatchers: inbound at prerouting −200, with a Goto per interface.
    let disp = ruleset(&p, "ip access-group in");
    assert_eq!(disp.default, Some(Action::Accept));
    assert_eq!(disp.rules.len(), 2);
    assert!(matches!(disp.rules[0].action, Action::Goto(_)));
    assert_eq!(disp.rules[0].conds, vec![Cond::is(Test::InIface("GigabitEthernet0/0".into()))]);
    let di = fw(&p).rulesets.iter().position(|r| r.name == "ip access-group in").unwrap();
    let h = f.hooks.iter().find(|h| h.ruleset == di).unwrap();
    assert_eq!((h.hook, h.stage, h.priority), (Hook::Prerouting, Stage::Filter, -200));
    // NAT: static both ways, the port forward, overload through a copy of ACL 10.
    let dn = ruleset(&p, "ip nat (destination)");
    assert!(dn.rules.iter().any(|r| r.conds.contains(&Cond::is(Test::Dst(vec![single("203.0.113.5")])))
        && r.action == Action::Dnat(portolan::model::NatTarget { addr: Some(single("192.168.10.20")), ports: None })));
    let sn = ruleset(&p, "ip nat (source)");
    assert!(sn.rules.iter().any(|r| matches!(r.action, Action::Jump(_))));
    let list = ruleset(&p, "ip nat inside source list 10");
    assert_eq!(list.rules[0].action, Action::Masquerade(None));
    assert_eq!(list.rules.last().unwrap().action, Action::Return);
});

golden!(unknown_constructs, "unknown-constructs.cfg", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    let codes_at = |line: u32| -> Vec<&'static str> { p.diags.iter().filter(|d| d.line == line).map(|d| d.code).collect() };
    assert_eq!(codes_at(6), [codes::UNDEFINED_REFERENCE], "undefined ACL binding");
    assert_eq!(codes_at(9), [codes::UNRECOGNIZED]);
    assert_eq!(codes_at(19), [codes::UNMODELLED_MATCH], "fragments");
    assert_eq!(codes_at(20), [codes::UNMODELLED_MATCH], "dscp");
    assert_eq!(codes_at(21), [codes::UNMODELLED_MATCH], "time-range");
    assert_eq!(codes_at(22), [codes::UNMODELLED_MATCH], "a wildcard of 65536 ranges");
    assert!(codes_at(23).is_empty(), "a wildcard of 256 ranges is expanded exactly");
    assert_eq!(codes_at(24), [codes::UNDEFINED_REFERENCE]);
    assert_eq!(codes_at(27), [codes::UNMODELLED_TARGET], "evaluate");
    assert_eq!(codes_at(29), [codes::UNRECOGNIZED]);
    let odd = ruleset(&p, "ODD");
    let at = |line: u32| odd.rules.iter().find(|r| r.prov.line == line).unwrap();
    assert_eq!(at(19).unknown, ["fragments"]);
    assert_eq!(at(22).unknown, ["10.0.0.0 0.255.255.0"]);
    let Some(Test::Src(r)) = at(23).conds.first().map(|c| c.test.clone()) else { panic!() };
    assert_eq!(r.len(), 256);
    assert!(matches!(at(27).action, Action::Unknown(_)));
    assert!(matches!(at(29).action, Action::Unknown(_)));
    // The entry whose protocol is unreadable keeps its action and matches possibly anything.
    assert_eq!((at(28).action.clone(), at(28).conds.len(), at(28).unknown.len()), (Action::Accept, 0, 1));
    assert!(at(31).conds.contains(&Cond::is(Test::TcpFlags { mask: tcp_flags::SYN, comp: tcp_flags::SYN })));
    assert!(at(32).conds.contains(&Cond::is(Test::TcpFlags { mask: tcp_flags::SYN | tcp_flags::ACK, comp: tcp_flags::SYN })));
    // Cyclic groups are cut and reported.
    assert!(p.diags.iter().any(|d| d.code == codes::STRUCTURE && d.text == "group-object LOOP-B"));
    // A zone member makes traffic through the interface uncertain.
    let z = ruleset(&p, "zone-based firewall");
    assert!(z.rules.iter().all(|r| matches!(r.action, Action::Unknown(_))));
    // The routing warning is given once, naming both processes.
    let routing: Vec<&Diagnostic> = p.diags.iter().filter(|d| d.reason.contains("dynamic routing")).collect();
    assert_eq!(routing.len(), 1);
    assert!(routing[0].reason.contains("router eigrp 10"));
    // An unknown section: its header and its child line are reported.
    assert_eq!(codes_at(62), [codes::UNRECOGNIZED]);
    assert_eq!(codes_at(63), [codes::UNRECOGNIZED]);
});

golden!(nxos_acl, "nxos-acl.nxacl", |p| {
    assert_eq!(p.status(), FileStatus::Ok, "{:#?}", p.diags);
    let acl = ruleset(&p, "web-in");
    assert_eq!(acl.rules.len(), 6);
    assert!(acl.rules[1].conds.contains(&Cond::is(Test::Dport(vec![(443, 443), (8000, 8080)]))));
    assert!(acl.rules[2].conds.contains(&Cond::is(Test::Dst(vec![
        single("198.51.100.53"),
        AddrRange { lo: "198.51.100.128".parse().unwrap(), hi: "198.51.100.255".parse().unwrap() }
    ]))));
});

golden!(xr_acl, "xr-acl.xacl", |p| {
    assert_eq!(p.status(), FileStatus::Ok, "{:#?}", p.diags);
    assert_eq!(ruleset(&p, "edge").rules.len(), 4);
    assert_eq!(ruleset(&p, "edge6").family, Family::V6);
});

golden!(arista_acl, "arista-acl.eacl", |p| {
    assert_eq!(p.status(), FileStatus::Ok, "{:#?}", p.diags);
    let acl = ruleset(&p, "ssh-only");
    // Sequence numbers decide the order, not the position in the file.
    let seqs: Vec<&str> = acl.rules.iter().map(|r| r.prov.text.split(' ').next().unwrap()).collect();
    assert_eq!(seqs, ["10", "20", "30", "implicit"]);
    assert!(ruleset(&p, "mgmt").rules[0].conds.contains(&Cond::is(Test::Src(vec![single("10.0.0.5")]))));
});

// ------------------------------------------------------------------------ engine

fn ask(ws: &Workspace, from: &str, to: &str, proto: &str, port: Option<&str>) -> QueryReport {
    query(ws, &QueryRequest { from: from.into(), to: to.into(), proto: proto.into(), port: port.map(Into::into), sport: None })
        .unwrap_or_else(|e| panic!("query {from} -> {to}: {e}"))
}

fn edge(text: &str) -> Workspace {
    Workspace::load(vec![InputFile::new("edge1.cfg", text)])
}

fn line_of(text: &str, needle: &str) -> u32 {
    text.lines().position(|l| l.contains(needle)).expect("line present") as u32 + 1
}

#[test]
fn port_forward_from_the_internet_is_allowed_and_explained() {
    let text = read("edge-router.cfg");
    let ws = edge(&text);
    let r = ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let res = &r.results[0];
    let h = &res.hops[0];
    assert_eq!((h.in_iface.as_deref(), h.out_iface.as_deref()), (Some("GigabitEthernet0/0"), Some("GigabitEthernet0/1")));
    assert_eq!(h.nat[0].kind, "dnat");
    assert_eq!(h.nat[0].to, "192.168.10.10:8080");
    // The ACL line that let it in is named.
    let www = line_of(&text, "permit tcp any host 203.0.113.2 eq www");
    assert!(h.decisions.iter().any(|d| d.line == www), "{:#?}", h.decisions);
    // The reply goes back through ACL 120's `established` entry and is un-translated.
    let reply = &res.hops[1];
    assert_eq!(reply.direction, "reply");
    let est = line_of(&text, "access-list 120 permit tcp object-group ALL-SERVERS any established");
    assert!(reply.decisions.iter().any(|d| d.line == est), "{:#?}", reply.decisions);
    assert_eq!(reply.nat[0].kind, "un-dnat");
}

#[test]
fn denied_by_a_named_entry_and_by_the_implicit_deny() {
    let text = read("edge-router.cfg");
    let ws = edge(&text);
    let r = ask(&ws, "198.51.100.7", "192.0.2.1", "tcp", Some("23"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    let rule = r.results[0].hops[0].rule.as_ref().unwrap();
    assert_eq!((rule.line, &*rule.text), (line_of(&text, "deny   tcp any any eq telnet"), "deny   tcp any any eq telnet"));
    let r = ask(&ws, "198.51.100.7", "192.0.2.1", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    let rule = r.results[0].hops[0].rule.as_ref().unwrap();
    assert_eq!(&*rule.text, "implicit deny at the end of ACL OUTSIDE-IN");
    assert_eq!(rule.line, line_of(&text, "ip access-list extended OUTSIDE-IN"));
}

#[test]
fn lan_overload_and_replies_through_established() {
    let text = read("edge-router.cfg");
    let ws = edge(&text);
    let r = ask(&ws, "192.168.10.50", "198.51.100.9", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let h = &r.results[0].hops[0];
    assert_eq!(h.nat[0].kind, "masquerade");
    assert!(h.nat[0].to.starts_with("203.0.113.2:"), "{:?}", h.nat);
    let reply = &r.results[0].hops[1];
    let est = line_of(&text, "permit tcp any 203.0.113.0 0.0.0.7 established");
    assert!(reply.decisions.iter().any(|d| d.line == est), "{:#?}", reply.decisions);
    assert_eq!(reply.nat[0].kind, "un-snat");
    // Static NAT: the server keeps its own global address on the way out.
    let r = ask(&ws, "192.168.10.20", "198.51.100.9", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(r.results[0].hops[0].nat[0].to.split(':').next(), Some("203.0.113.5"));
    // And is reached on it from outside, for the services OUTSIDE-IN lets in.
    let r = ask(&ws, "198.51.100.7", "203.0.113.5", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(r.results[0].hops[0].nat[0].to, "192.168.10.20:443");
    let r = ask(&ws, "198.51.100.7", "203.0.113.5", "tcp", Some("25"));
    assert_eq!(r.verdict, Verdict::Denied);
}

#[test]
fn stateless_replies_need_established() {
    let text = read("edge-router.cfg").replace(" permit tcp any 203.0.113.0 0.0.0.7 established\n", "");
    let ws = edge(&text);
    let r = ask(&ws, "192.168.10.50", "198.51.100.9", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert!(r.results[0].reason.contains("reply"), "{}", r.results[0].reason);
    let reply = r.results[0].hops.iter().find(|h| h.direction == "reply").expect("the reply is shown");
    assert_eq!(&*reply.rule.as_ref().unwrap().text, "implicit deny at the end of ACL OUTSIDE-IN");
}

#[test]
fn unknown_entry_makes_possibly_and_names_the_line() {
    let text = read("edge-router.cfg").replace(
        " permit tcp any host 203.0.113.2 eq www\n",
        " permit tcp any host 203.0.113.2 eq www time-range OFFICE-HOURS\n",
    );
    let ws = edge(&text);
    let r = ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Possibly, "{r:#?}");
    let line = line_of(&text, "time-range OFFICE-HOURS");
    assert!(r.results[0].uncertain.iter().any(|u| u.contains(&format!(":{line}:"))), "{:?}", r.results[0].uncertain);
    // Elsewhere the answer stays definite.
    assert_eq!(ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("23")).verdict, Verdict::Denied);
}

const R1: &str = "\
hostname r1
interface GigabitEthernet0/0
 ip address 10.1.0.1 255.255.255.0
interface GigabitEthernet0/1
 ip address 10.12.0.1 255.255.255.252
ip route 10.2.0.0 255.255.255.0 10.12.0.2
";

const R2: &str = "\
hostname r2
interface GigabitEthernet0/0
 ip address 10.12.0.2 255.255.255.252
 ip access-group FROM-R1 in
interface GigabitEthernet0/1
 ip address 10.2.0.1 255.255.255.0
ip route 10.1.0.0 255.255.255.0 10.12.0.1
ip access-list extended FROM-R1
 permit tcp 10.1.0.0 0.0.0.255 host 10.2.0.10 eq 22
 permit icmp any any echo
";

#[test]
fn two_routers_joined_by_a_subnet_and_static_routes() {
    let ws = Workspace::load(vec![InputFile::new("r1.cfg", R1), InputFile::new("r2.cfg", R2)]);
    assert_eq!(ws.network.devices.len(), 2);
    let r = ask(&ws, "10.1.0.5", "10.2.0.10", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let devs: Vec<(&str, &str)> = r.results[0].hops.iter().map(|h| (&*h.device, h.direction)).collect();
    assert_eq!(devs, [("r1", "forward"), ("r2", "forward"), ("r2", "reply"), ("r1", "reply")]);
    let r = ask(&ws, "10.1.0.5", "10.2.0.10", "tcp", Some("23"));
    assert_eq!(r.verdict, Verdict::Denied);
    let h = r.results[0].hops.iter().find(|h| &*h.device == "r2").unwrap();
    assert_eq!(&*h.rule.as_ref().unwrap().text, "implicit deny at the end of ACL FROM-R1");
    assert_eq!(&*h.rule.as_ref().unwrap().file, "r2.cfg");
    // Connections from r2's side leave unfiltered, but their replies meet FROM-R1, which has
    // no `established` entry: the stateless router drops them.
    let r = ask(&ws, "10.2.0.10", "10.1.0.5", "tcp", Some("23"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    let reply = r.results[0].hops.iter().find(|h| h.direction == "reply" && &*h.device == "r2").expect("the reply is shown");
    assert_eq!((reply.outcome, &*reply.rule.as_ref().unwrap().text), ("dropped", "implicit deny at the end of ACL FROM-R1"));
}

fn row(src: &str, dst: &str, proto: &str, port: &str) -> TestRow {
    TestRow { src: src.into(), dst: dst.into(), proto: proto.into(), port: port.into(), ..Default::default() }
}

#[test]
fn acl_only_files_are_testable_filters() {
    let ws = Workspace::load(vec![
        InputFile::new("nx/nxos-acl.nxacl", read("nxos-acl.nxacl")),
        InputFile::new("xr/xr-acl.xacl", read("xr-acl.xacl")),
        InputFile::new("eos/arista-acl.eacl", read("arista-acl.eacl")),
    ]);
    let an = Analyzer::new(&ws);
    let t = an.test_filter("web-in", &row("203.0.113.9", "198.51.100.10", "tcp", "8080")).unwrap();
    assert_eq!(t.verdict, "allowed");
    assert_eq!(t.rule.unwrap().line, 10);
    let t = an.test_filter("web-in", &row("203.0.113.9", "198.51.100.10", "tcp", "22")).unwrap();
    assert_eq!((t.verdict.as_str(), t.rule.unwrap().line), ("denied", 13));
    let t = an.test_filter("edge", &row("192.0.2.7", "203.0.113.1", "udp", "53")).unwrap();
    assert_eq!(t.verdict, "allowed");
    let t = an.test_filter("edge6", &row("2001:db8:1::1", "2001:db8::10", "tcp", "80")).unwrap();
    assert_eq!(t.verdict, "denied");
    let t = an.test_filter("ssh-only", &row("10.9.9.9", "192.0.2.1", "tcp", "22")).unwrap();
    assert_eq!(t.verdict, "allowed");
    let t = an.test_filter("ssh-only", &row("192.0.2.9", "192.0.2.1", "tcp", "22")).unwrap();
    assert_eq!(&*t.rule.unwrap().text, "30 deny ip any any log");
}

// ------------------------------------------------------------------------ corpus

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    if p.is_dir() {
        Some(p)
    } else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "the corpus must be present in CI");
        eprintln!("corpus not found at {}: skipped", p.display());
        None
    }
}

/// The same policy rendered by aerleon for IOS, NX-OS, IOS-XR and EOS gives the same answers.
#[test]
fn aerleon_renderings_agree() {
    let Some(c) = corpus() else { return };
    let out = c.join("aerleon-rendered/out");
    let flows = [
        ("20.0.0.1", "200.1.1.1", "tcp", "80", "allowed"),
        ("20.0.0.1", "200.1.1.2", "tcp", "443", "allowed"),
        ("20.0.0.1", "200.1.1.1", "tcp", "22", "denied"),
        ("10.1.2.3", "200.1.1.1", "tcp", "22", "allowed"),
        ("172.31.0.9", "200.1.1.5", "tcp", "22", "allowed"),
        ("20.0.0.1", "200.1.1.4", "udp", "53", "allowed"),
        ("20.0.0.1", "200.1.1.4", "tcp", "587", "allowed"),
        ("20.0.0.1", "200.1.1.1", "icmp", "8", "allowed"),
        ("20.0.0.1", "200.1.1.1", "icmp", "0", "denied"),
        ("198.51.100.1", "200.1.1.1", "tcp", "80", "denied"),
        ("241.0.0.1", "200.1.1.1", "tcp", "80", "denied"),
        ("20.0.0.1", "200.1.1.9", "tcp", "80", "denied"),
    ];
    for f in ["xv_cisco.acl", "xv_cisconx.nxacl", "xv_ciscoxr.xacl", "xv_arista.eacl"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        let p = parse::parse(0, f, &text);
        assert_eq!(p.format, Format::CiscoIos, "{f}");
        assert_eq!(p.status(), FileStatus::Ok, "{f}: {:#?}", p.diags);
        let ws = Workspace::load(vec![InputFile::new(f, text)]);
        let an = Analyzer::new(&ws);
        for (src, dst, proto, port, want) in flows {
            let t = an.test_filter("edge-inbound", &row(src, dst, proto, port)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(t.verdict, want, "{f}: {src} -> {dst} {proto}/{port}: {t:?}");
        }
    }
}

/// Interfaces (addresses, administrative state) and their access-list bindings agree with
/// Batfish's vendor-independent model of its example network.
#[test]
fn batfish_example_interfaces_match_the_reference() {
    let Some(c) = corpus() else { return };
    let live = c.join("cisco-ios/batfish/example-live");
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(live.join("expected/viModel.ref")).unwrap()).unwrap();
    let nodes = &reference[0]["nodes"];
    let (mut addrs, mut filters) = (0, 0);
    for e in std::fs::read_dir(live.join("configs")).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let p = parse::parse(0, &path.to_string_lossy(), &text);
        assert_eq!(p.format, Format::CiscoIos);
        let host = p.device_hint.clone().unwrap();
        let ifs = nodes[&host]["interfaces"].as_object().unwrap_or_else(|| panic!("{host} not in the reference"));
        let f = fw(&p);
        for (name, i) in ifs {
            let got = p.content.interfaces.iter().find(|x| &x.name == name).unwrap_or_else(|| panic!("{host}: no interface {name}"));
            let mut want: Vec<String> = i["allPrefixes"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let mut have: Vec<String> = got.addresses.iter().filter(|a| a.addr().is_ipv4()).map(|a| a.to_string()).collect();
            want.sort();
            have.sort();
            assert_eq!(have, want, "{host} {name}");
            assert_eq!(got.up, i["adminUp"].as_bool().unwrap(), "{host} {name} up");
            addrs += want.len();
            for (key, disp, test) in [
                ("incomingFilter", "ip access-group in", Test::InIface(name.clone())),
                ("outgoingFilter", "ip access-group out", Test::OutIface(name.clone())),
            ] {
                let bound = f.rulesets.iter().find(|r| r.name == disp).and_then(|d| {
                    d.rules.iter().find(|r| r.conds[0] == Cond::is(test.clone())).map(|r| match r.action {
                        Action::Goto(t) => f.rulesets[t].name.clone(),
                        _ => panic!("dispatcher rule without goto"),
                    })
                });
                assert_eq!(bound.as_deref(), i[key].as_str(), "{host} {name} {key}");
                filters += usize::from(bound.is_some());
            }
        }
    }
    assert!(addrs >= 30 && filters >= 2, "only {addrs} addresses and {filters} bindings compared");
}

/// Parsing speed on the largest IOS file of the corpus (15,000 access-list lines). Run in
/// release mode: `cargo test --release --test parse_cisco_ios -- --ignored --nocapture`.
#[test]
#[ignore = "a timing, meaningful in release builds only"]
fn throughput_on_a_large_access_list() {
    let Some(c) = corpus() else { return };
    let text = std::fs::read_to_string(c.join("perf/ciscoconfparse/sample_05.ios")).unwrap();
    let rounds = 50;
    let mb = (text.len() * rounds) as f64 / 1e6;
    let t0 = std::time::Instant::now();
    let c0 = thread_cpu_ns();
    let mut rules = 0;
    for _ in 0..rounds {
        let p = parse::cisco_ios::parse(0, "sample_05.ios", &text);
        rules += fw(&p).rulesets.iter().map(|r| r.rules.len()).sum::<usize>();
    }
    let reader = mb / t0.elapsed().as_secs_f64();
    // On a busy machine wall time undercounts; the thread's own CPU time does not.
    if let (Some(a), Some(b)) = (c0, thread_cpu_ns()) {
        eprintln!("IOS reader per CPU second of this thread: {:.1} MB/s", mb / ((b - a) as f64 / 1e9));
    }
    let t0 = std::time::Instant::now();
    for _ in 0..rounds {
        assert_eq!(parse::detect(&text), Format::CiscoIos);
    }
    let detect = mb / t0.elapsed().as_secs_f64();
    eprintln!(
        "sample_05.ios: {} bytes, {} rules; IOS reader {reader:.1} MB/s; format detection (every format's check) {detect:.1} MB/s",
        text.len(),
        rules / rounds
    );
}

const NATBOX: &str = "\
hostname natbox
interface GigabitEthernet0/0
 ip address 198.51.100.2 255.255.255.0
 ip nat outside
interface GigabitEthernet0/1
 ip address 10.0.0.1 255.255.255.0
 ip nat inside
ip nat pool PUBLIC 198.51.100.100 198.51.100.110 prefix-length 24
ip nat inside source list LAN pool PUBLIC overload
ip nat pool WEBFARM 10.0.0.80 10.0.0.80 netmask 255.255.255.0 type rotary
ip nat inside destination list VIP pool WEBFARM
ip access-list standard LAN
 deny 10.0.0.66
 permit 10.0.0.0 0.0.0.255
ip access-list extended VIP
 permit tcp any host 198.51.100.80 eq www
ip route 0.0.0.0 0.0.0.0 198.51.100.1
ip nat outside source static 203.0.113.50 192.168.99.50
";

#[test]
fn nat_pools_follow_their_access_lists() {
    let ws = Workspace::load(vec![InputFile::new("natbox.cfg", NATBOX)]);
    let r = ask(&ws, "10.0.0.5", "203.0.113.9", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let h = &r.results[0].hops[0];
    assert_eq!((h.nat[0].kind.as_str(), h.nat[0].to.split(':').next()), ("snat", Some("198.51.100.100")));
    assert_eq!(h.nat[0].rule.as_ref().unwrap().line, 14, "the NAT list's permit decides");
    // A host the list denies is not translated.
    let r = ask(&ws, "10.0.0.66", "203.0.113.9", "tcp", Some("443"));
    assert!(r.results[0].hops[0].nat.is_empty(), "{r:#?}");
    // Destination translation to the pool, for what the list VIP permits.
    let r = ask(&ws, "203.0.113.9", "198.51.100.80", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(r.results[0].hops[0].nat[0].to, "10.0.0.80:80");
    // An outside host appears on the inside under a local address.
    let r = ask(&ws, "10.0.0.5", "192.168.99.50", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let nat = &r.results[0].hops[0].nat;
    assert_eq!((nat[0].kind.as_str(), nat[0].to.as_str()), ("dnat", "203.0.113.50:22"), "{nat:?}");
}

#[test]
fn ipv6_traffic_filter() {
    let text = read("edge-router.cfg");
    let ws = edge(&text);
    let r = ask(&ws, "2001:db8:ffff::1", "2001:db8:0:10::10", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let r = ask(&ws, "2001:db8:ffff::1", "2001:db8:0:10::10", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    let rule = r.results[0].hops[0].rule.as_ref().unwrap();
    assert_eq!(rule.line, line_of(&text, "deny ipv6 any any log sequence 30"));
}

/// Cut every line of every fixture after each of its words: the reader never panics, and every
/// line is still either understood or reported.
#[test]
fn truncated_lines_never_panic() {
    for e in std::fs::read_dir(golden_dir()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        let text = read(&name);
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let words: Vec<&str> = l.split(' ').collect();
            for k in 0..words.len() {
                let cut = words[..k].join(" ");
                let mut v = lines.clone();
                v[i] = &cut;
                let p = parse::parse(0, &name, &v.join("\n"));
                assert_unknowns_are_reported(&p);
            }
        }
    }
    for junk in ["access-list", "access-list 10", "ip route", "ip nat inside source static tcp", "banner motd ^C", "interface", "object-group network X\n group-object", "ip access-list extended A\n permit tcp any any eq", "\u{feff}hostname x\ninterface Gi0/0\n ip address 1.1.1.1 255.255.255.0\n ip access-group A in"] {
        let p = parse::parse(0, "junk", junk);
        assert_unknowns_are_reported(&p);
    }
}

/// At least 98% of the lines of the real configurations are recognised (per folder: the
/// Stanford backbone, Batfish's example networks, the ciscoconfparse samples).
#[test]
fn real_configurations_are_recognised() {
    let Some(c) = corpus() else { return };
    for dir in [
        "cisco-ios/hassel-reproduction/stanford_backbone",
        "cisco-ios/batfish/example-live/configs",
        "cisco-ios/batfish/example-candidate/configs",
        "cisco-ios/batfish/example2-2018/configs",
        "cisco-ios/ciscoconfparse",
    ] {
        let (mut counted, mut unrec, mut files) = (0u64, 0u64, 0);
        let mut names: Vec<PathBuf> = std::fs::read_dir(c.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        let mut devices = std::collections::BTreeSet::new();
        for path in names {
            let text = std::fs::read_to_string(&path).unwrap();
            if parse::detect(&text) != Format::CiscoIos {
                continue;
            }
            let p = parse::parse(0, &path.to_string_lossy(), &text);
            counted += u64::from(p.lines_total - p.lines_skipped);
            unrec += u64::from(p.lines_unrecognized());
            files += 1;
            devices.insert(p.device_hint.clone().unwrap());
        }
        let pct = 100.0 * (counted - unrec) as f64 / counted as f64;
        eprintln!("{dir}: {files} files, {counted} lines, {unrec} not recognised, {pct:.2}%");
        assert!(files >= 3 && pct >= 98.0, "{dir}: {pct:.2}%");
        if dir.contains("stanford") {
            // No hostname lines: each file names its own device.
            assert_eq!(devices.len(), files, "{dir}: every configuration is a device of its own");
        }
    }
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}
