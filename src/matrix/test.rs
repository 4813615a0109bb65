//! Service matrix tests: hand-made cases and a brute-force comparison with the engine's
//! per-packet evaluation on random small rulesets.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::reach::{Analyzer, TestRow};
use crate::InputFile;

fn ws(files: &[(&str, &str)]) -> Workspace {
    Workspace::load(files.iter().map(|(p, t)| InputFile::new(*p, *t)).collect())
}

fn req(port: u16) -> MatrixRequest {
    MatrixRequest { proto: "tcp".into(), dport: port, sport: Some(10000), device: None, to_device: false }
}

/// The class holding an address.
fn class_of(m: &ServiceMatrix, a: IpAddr) -> usize {
    let v = space::addr_to_u128(a);
    let fam = if a.is_ipv4() { "ipv4" } else { "ipv6" };
    m.classes
        .iter()
        .find(|c| c.family == fam && c.addresses.iter().any(|s| parse_item(s).is_some_and(|(lo, hi)| lo <= v && v <= hi)))
        .map(|c| c.id)
        .unwrap_or(usize::MAX)
}

/// `a`, `a/len` or `a-b` as a range of the address dimension.
fn parse_item(s: &str) -> Option<(u128, u128)> {
    if let Some((a, b)) = s.split_once('-') {
        return Some((space::addr_to_u128(a.parse().ok()?), space::addr_to_u128(b.parse().ok()?)));
    }
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        let r = space::prefix_range(&n);
        return r.as_slice().first().copied();
    }
    let a: IpAddr = s.parse().ok()?;
    Some((space::addr_to_u128(a), space::addr_to_u128(a)))
}

fn allowed(m: &ServiceMatrix, s: &str, d: &str, definite: bool) -> bool {
    let (a, b) = (class_of(m, s.parse().unwrap()), class_of(m, d.parse().unwrap()));
    let pairs = if definite { m.allowed_definite.as_ref().unwrap_or(&m.allowed) } else { &m.allowed };
    pairs.contains(&[a, b])
}

/// The classes cover the family's space exactly once.
fn assert_partition(m: &ServiceMatrix, fam: &str, v6: bool) {
    let mut all: Vec<(u128, u128)> = m
        .classes
        .iter()
        .filter(|c| c.family == fam)
        .flat_map(|c| c.addresses.iter().map(|s| parse_item(s).expect(s)))
        .collect();
    all.sort_unstable();
    for w in all.windows(2) {
        assert!(w[0].1 < w[1].0, "classes overlap: {:?}", w);
    }
    let union = Ranges::from_ranges(all);
    assert_eq!(union, space::family_range(v6), "classes do not cover the {fam} space");
}

const SIMPLE: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i wan ! -s 10.0.0.0/8 -d 10.0.0.10/32 -p tcp --dport 22 -j ACCEPT
-A FORWARD -i lan -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT
-A FORWARD -d 10.0.0.20/32 -p tcp --dport 80 -j ACCEPT
COMMIT
";

const ASSMT: &str = "lan = [10.0.0.0/8]\nwan = all_but_those_ips [10.0.0.0/8]\n";

#[test]
fn ssh_matrix_with_assignment() {
    let w = ws(&[("fw/rules", SIMPLE), ("fw/ipassmt", ASSMT)]);
    let m = compute(&w, &req(22)).unwrap();
    assert_partition(&m, "ipv4", false);
    assert!(m.classes.iter().all(|c| c.family == "ipv4"));
    // Outside → 10.0.0.10; inside → anywhere.
    assert!(allowed(&m, "192.0.2.1", "10.0.0.10", false));
    assert!(!allowed(&m, "192.0.2.1", "10.0.0.11", false));
    assert!(allowed(&m, "10.1.1.1", "192.0.2.1", false));
    assert!(allowed(&m, "10.1.1.1", "10.0.0.10", false));
    // Three classes: 10.0.0.10, the rest of 10/8, and the outside.
    assert_eq!(m.classes.len(), 3, "{:#?}", m.classes);
    assert_eq!(m.classes[2].addresses, ["10.0.0.10"]);
    // Without a routing table the output interface is unknown, but no rule tests it: the
    // bounds agree.
    assert!(m.allowed_definite.is_none());
    assert_eq!(m.interfaces.source, "ipassmt");
    assert!(m.spoofing.iter().all(|s| s.enforced), "{:?}", m.spoofing);
    let text = render_text(&m);
    assert!(text.contains("Classes (3):"), "{text}");
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(j["allowed"][0].as_array().map(|a| a.len()), Some(2));
    assert!(j.get("allowed_definite").is_none());
}

#[test]
fn spoofing_is_reported_where_the_rules_do_not_enforce_it() {
    // `lan` accepts from any source: a spoofed outside address arriving on lan gets through.
    let rules = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i lan -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let w = ws(&[("fw/rules", rules), ("fw/ipassmt", ASSMT)]);
    let m = compute(&w, &req(22)).unwrap();
    let lan = m.spoofing.iter().find(|s| s.interface == "lan").unwrap();
    assert!(!lan.enforced);
    assert_eq!(lan.certainty, Some("definitely"));
    let wan = m.spoofing.iter().find(|s| s.interface == "wan").unwrap();
    assert!(wan.enforced);
    // Under the assumption, only the inside may connect.
    assert!(allowed(&m, "10.1.1.1", "192.0.2.1", false));
    assert!(!allowed(&m, "192.0.2.1", "10.1.1.1", false));
}

#[test]
fn unknown_matches_give_two_bounds() {
    let rules = "*filter\n:FORWARD DROP [0:0]\n\
                 -A FORWARD -s 10.0.0.0/8 -m recent --update --seconds 60 --name x -j DROP\n\
                 -A FORWARD -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let w = ws(&[("fw/rules", rules)]);
    let m = compute(&w, &req(22)).unwrap();
    assert!(allowed(&m, "10.1.1.1", "192.0.2.1", false));
    assert!(!allowed(&m, "10.1.1.1", "192.0.2.1", true));
    assert!(allowed(&m, "192.0.2.1", "10.1.1.1", true));
    assert!(m.allowed_definite.is_some());
    assert_eq!(m.uncertain.len(), 1, "{:?}", m.uncertain);
    assert!(m.uncertain[0].contains(":3:"), "{:?}", m.uncertain);
    assert_eq!(m.interfaces.source, "none");
}

#[test]
fn manifest_zones_assign_interfaces() {
    let manifest = "zones:\n  lan:\n    addresses: [10.0.0.0/8]\n    interfaces: [fw:lan]\n  outside:\n    addresses: [0.0.0.0/1, 128.0.0.0/1]\n    interfaces: [fw:wan]\n";
    let w = ws(&[("fw/rules", SIMPLE), ("portolan.yaml", manifest)]);
    let m = compute(&w, &req(22)).unwrap();
    assert_eq!(m.interfaces.source, "manifest");
    assert_eq!(m.interfaces.assignment.len(), 2);
    // wan's zone holds every address, inside ones too: from 10/8 via wan, only 10.0.0.10 is
    // excluded by `! -s 10.0.0.0/8`; via lan, 10/8 reaches everything.
    assert!(allowed(&m, "10.1.1.1", "192.0.2.1", true));
    assert!(allowed(&m, "192.0.2.1", "10.0.0.10", true));
    assert!(!allowed(&m, "192.0.2.1", "10.0.0.11", false));
    let wan = m.spoofing.iter().find(|s| s.interface == "wan").unwrap();
    assert!(wan.enforced);
}

#[test]
fn several_assignments_need_a_home() {
    let w = ws(&[("a/rules", SIMPLE), ("x/ipassmt", ASSMT), ("y/ipassmt", ASSMT)]);
    assert!(compute(&w, &req(22)).unwrap_err().contains("several interface assignments"));
    // The device's own assignment wins over others.
    let w = ws(&[("a/rules", SIMPLE), ("a/ipassmt", ASSMT), ("y/ipassmt", "lan = []\n")]);
    let m = compute(&w, &req(22)).unwrap();
    assert_eq!(m.interfaces.files, ["a/ipassmt"]);
}

#[test]
fn routing_decides_the_output_interface() {
    let rules = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -o dmz -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    let addr = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN\n    inet 127.0.0.1/8 scope host lo\n\
                2: dmz: <BROADCAST,UP,LOWER_UP> mtu 1500 state UP\n    inet 192.0.2.1/24 scope global dmz\n\
                3: lan: <BROADCAST,UP,LOWER_UP> mtu 1500 state UP\n    inet 10.0.0.1/8 scope global lan\n";
    let w = ws(&[("fw/rules", rules), ("fw/addr", addr)]);
    let m = compute(&w, &req(80)).unwrap();
    assert_eq!(m.interfaces.source, "routing");
    assert!(allowed(&m, "10.1.1.1", "192.0.2.7", true));
    assert!(!allowed(&m, "192.0.2.7", "10.1.1.1", false));
    // The device's own address is not forwarded to.
    assert!(!allowed(&m, "10.1.1.1", "192.0.2.1", false));
    // Outside both subnets: no route dump, so the interface is unknown: possibly only.
    assert!(allowed(&m, "10.1.1.1", "198.51.100.1", false));
    assert!(!allowed(&m, "10.1.1.1", "198.51.100.1", true));
}

#[test]
fn connections_to_the_device() {
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -s 192.168.0.0/16 -p tcp --dport 8080 -j ACCEPT\nCOMMIT\n";
    let w = ws(&[("fw/rules", rules), ("fw/ipassmt", "lo = [127.0.0.0/8]\n")]);
    let mut r = req(8080);
    r.to_device = true;
    let m = compute(&w, &r).unwrap();
    assert_eq!(m.direction, "input");
    assert!(allowed(&m, "127.0.0.1", "8.8.8.8", true));
    assert!(allowed(&m, "192.168.1.1", "8.8.8.8", true));
    assert!(!allowed(&m, "8.8.4.4", "8.8.8.8", false));
    assert_eq!(m.classes.len(), 2);
    r.dport = 22;
    let m = compute(&w, &r).unwrap();
    assert_eq!(m.classes.len(), 2);
    assert!(!allowed(&m, "192.168.1.1", "8.8.8.8", false));
}

#[test]
fn both_families_when_the_rules_have_both() {
    let v4 = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -d 10.0.0.1 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let v6 = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -d 2001:db8::1 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let w = ws(&[("fw/rules.v4", v4), ("fw/rules.v6", v6)]);
    let m = compute(&w, &req(22)).unwrap();
    assert_partition(&m, "ipv4", false);
    assert_partition(&m, "ipv6", true);
    assert!(allowed(&m, "192.0.2.1", "10.0.0.1", true));
    assert!(allowed(&m, "2001:db8::5", "2001:db8::1", true));
    assert!(!allowed(&m, "2001:db8::5", "2001:db8::2", false));
}

#[test]
fn usage_errors() {
    let w = ws(&[("fw/rules", SIMPLE)]);
    let mut r = req(22);
    r.proto = "icmp".into();
    assert!(compute(&w, &r).is_err());
    r.proto = "tcp".into();
    r.device = Some("nope".into());
    assert!(compute(&w, &r).unwrap_err().contains("fw"));
    let none = ws(&[("x/addr", "1: lo: <LOOPBACK,UP> mtu 65536 state UNKNOWN\n")]);
    assert!(compute(&none, &req(22)).is_err());
    let two = ws(&[("a/rules", SIMPLE), ("b/rules", SIMPLE)]);
    assert!(compute(&two, &req(22)).unwrap_err().contains("--device"));
}

#[test]
fn ranges_render_as_cidrs_or_runs() {
    let v4 = |a: &str| space::addr_to_u128(a.parse().unwrap());
    assert_eq!(fmt_range(v4("10.0.0.0"), v4("10.255.255.255")), "10.0.0.0/8");
    assert_eq!(fmt_range(v4("0.0.0.0"), v4("255.255.255.255")), "0.0.0.0/0");
    assert_eq!(fmt_range(v4("10.0.0.1"), v4("10.0.0.1")), "10.0.0.1");
    assert_eq!(fmt_range(v4("10.0.0.1"), v4("10.0.0.2")), "10.0.0.1-10.0.0.2");
    assert_eq!(fmt_range(0, u128::MAX), "::/0");
    assert_eq!(fmt_range(0, space::V4_BASE - 1), "::-::fffe:ffff:ffff");
}

// --- Brute force against the engine ------------------------------------------------------

/// Addresses the random rules use: 10.0.0.0–10.0.0.15, plus some outside.
fn sample_points() -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> = (0..16).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    v.extend(["0.0.0.0", "9.255.255.255", "10.0.0.16", "203.0.113.9", "255.255.255.255"].iter().map(|s| s.parse::<Ipv4Addr>().unwrap()));
    v
}

const IFACES: [&str; 3] = ["a", "b", "c"];

fn addr_cond() -> impl Strategy<Value = String> {
    (0u8..16, 28u8..=32, any::<bool>()).prop_map(|(x, len, neg)| format!("{}10.0.0.{x}/{len}", if neg { "! " } else { "" }))
}

fn rule(chains: bool) -> impl Strategy<Value = String> {
    (
        proptest::option::of(addr_cond()),
        proptest::option::of(addr_cond()),
        proptest::option::of(0usize..3),
        proptest::option::of(0usize..3),
        proptest::option::of(prop_oneof![Just("-p tcp --dport 22"), Just("-p tcp --dport 20:30"), Just("-p udp --dport 22"), Just("-p tcp ! --dport 22")]),
        any::<bool>(),
        0u8..if chains { 7 } else { 4 },
    )
        .prop_map(|(s, d, i, o, p, unknown, act)| {
            let mut r = String::new();
            if let Some(s) = s {
                r += &format!(" -s {s}");
            }
            if let Some(d) = d {
                r += &format!(" -d {d}");
            }
            if let Some(i) = i {
                r += &format!(" -i {}", IFACES[i]);
            }
            if let Some(o) = o {
                r += &format!(" -o {}", IFACES[o]);
            }
            if let Some(p) = p {
                r += &format!(" {p}");
            }
            if unknown {
                r += " -m recent --update --seconds 60 --name x";
            }
            r += match act {
                0 => " -j ACCEPT",
                1 => " -j DROP",
                2 => " -j REJECT",
                3 => " -j RETURN",
                4 => " -j C1",
                5 => " -j C2",
                _ => " -g C2",
            };
            r
        })
}

fn ruleset() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(rule(true), 0..6),
        proptest::collection::vec(rule(false), 0..4),
        proptest::collection::vec(rule(false), 0..4),
        any::<bool>(),
    )
        .prop_map(|(fwd, c1, c2, policy)| {
            let mut s = format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {} [0:0]\n:OUTPUT ACCEPT [0:0]\n:C1 - [0:0]\n:C2 - [0:0]\n", if policy { "ACCEPT" } else { "DROP" });
            for (chain, rules) in [("FORWARD", fwd), ("C1", c1), ("C2", c2)] {
                for r in rules {
                    s += &format!("-A {chain}{r}\n");
                }
            }
            s + "COMMIT\n"
        })
}

fn assignment() -> impl Strategy<Value = String> {
    proptest::collection::vec((0u8..16, 28u8..=32, any::<bool>()), 3).prop_map(|v| {
        v.iter()
            .zip(IFACES)
            .map(|((x, len, neg), name)| {
                if *neg {
                    format!("{name} = all_but_those_ips [10.0.0.{x}/{len}]\n")
                } else {
                    format!("{name} = [10.0.0.{x}/{len}]\n")
                }
            })
            .collect()
    })
}

/// The engine's verdict for one packet through FORWARD, entering `iif` and leaving `oif`.
fn verdict(an: &Analyzer, s: Ipv4Addr, d: Ipv4Addr, iif: &str, oif: &str) -> String {
    an.test_filter(
        "FORWARD",
        &TestRow {
            src: s.to_string(),
            dst: d.to_string(),
            proto: "tcp".into(),
            port: "22".into(),
            sport: Some(10000),
            in_iface: Some(iif.into()),
            out_iface: Some(oif.into()),
            state: None,
        },
    )
    .unwrap()
    .verdict
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn matrix_matches_the_engine_packet_by_packet(rules in ruleset(), asg in assignment()) {
        let w = ws(&[("fw/rules", &rules), ("fw/ipassmt", &asg)]);
        let m = compute(&w, &req(22)).unwrap();
        assert_partition(&m, "ipv4", false);
        let an = Analyzer::new(&w);
        let entries: Vec<(String, Ranges)> = w.files.iter().flat_map(|f| f.parsed.content.assignments.iter()).map(|a| {
            (a.iface.clone(), Ranges::from_ranges(a.addresses.iter().map(|r| (space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))).collect()))
        }).collect();
        let covered = entries.iter().fold(Ranges::empty(), |acc, (_, r)| acc.union(r));
        let unnamed = "unnamed0";
        let mut outs: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        if covered != space::family_range(false) {
            outs.push(unnamed);
        }
        let inexact = rules.lines().any(|l| l.contains("recent") && (l.contains("RETURN") || l.contains("-g ")));
        let pts = sample_points();
        for &s in &pts {
            let sv = space::addr_to_u128(IpAddr::V4(s));
            let mut ins: Vec<&str> = entries.iter().filter(|(_, r)| r.contains(sv)).map(|(n, _)| n.as_str()).collect();
            if !covered.contains(sv) {
                ins.push(unnamed);
            }
            for &d in &pts {
                let v: Vec<Vec<String>> = ins.iter().map(|i| outs.iter().map(|o| verdict(&an, s, d, i, o)).collect()).collect();
                let may = v.iter().flatten().any(|x| x == "allowed" || x == "possibly");
                // Definitely: whatever the (unknown) output interface, some input interface
                // lets it through for sure.
                let must = (0..outs.len()).all(|k| v.iter().any(|row| row[k] == "allowed"));
                let (ss, ds) = (s.to_string(), d.to_string());
                prop_assert_eq!(allowed(&m, &ss, &ds, false), may, "upper {} → {}\n{}\n{}\n{:?}", s, d, rules, asg, v);
                let lower = allowed(&m, &ss, &ds, true);
                // The lower bound is sound; it is exact unless an unmodelled rule returns or
                // goes to a chain (then packets it might take are not followed further).
                prop_assert!(!lower || must, "lower {} → {} not definite\n{}\n{}\n{:?}", s, d, rules, asg, v);
                if !inexact {
                    prop_assert_eq!(lower, must, "lower {} → {}\n{}\n{}\n{:?}", s, d, rules, asg, v);
                }
            }
        }
    }
}
