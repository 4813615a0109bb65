//! Engine tests on small networks written as iptables-save text, with interfaces and routes
//! given directly.

use super::*;
use crate::diag::Provenance;
use crate::model::{Interface, Route, RouteKind};
use crate::InputFile;

/// A workspace with one device `fw`: the ruleset text plus interfaces and routes.
fn fw(rules: &str, ifaces: &[(&str, &str)], routes: &[(&str, Option<&str>, &str)]) -> Workspace {
    let mut ws = Workspace::load(vec![InputFile::new("fw/rules.v4", rules)]);
    let dev = &mut ws.network.devices[0];
    for (name, addr) in ifaces {
        dev.interfaces.push(Interface {
            addresses: vec![addr.parse().unwrap()],
            ..Interface::new(name.to_string(), Provenance::builtin(format!("{name} {addr}")))
        });
    }
    for (dst, via, d) in routes {
        dev.routes.push(Route {
            dst: dst.parse().unwrap(),
            via: via.map(|v| v.parse().unwrap()),
            dev: Some(d.to_string()),
            kind: RouteKind::Unicast,
            metric: 0,
            src: None,
            table: "main".into(),
            prov: Provenance::builtin(format!("{dst} dev {d}")),
        });
    }
    ws
}

/// Give device `dev` of a workspace interfaces (name, address) and routes (prefix, gateway,
/// interface), as its `ip addr` and `ip route` dumps would.
fn give(ws: &mut Workspace, dev: &str, ifs: &[(&str, &str)], routes: &[(&str, &str, &str)]) {
    let d = ws.network.devices.iter_mut().find(|d| d.name == dev).unwrap();
    for (n, a) in ifs {
        d.interfaces.push(Interface { addresses: vec![a.parse().unwrap()], ..Interface::new(n.to_string(), Provenance::builtin("")) });
    }
    for (dst, via, dv) in routes {
        d.routes.push(Route {
            dst: dst.parse().unwrap(),
            via: Some(via.parse().unwrap()),
            dev: Some(dv.to_string()),
            kind: RouteKind::Unicast,
            metric: 0,
            src: None,
            table: "main".into(),
            prov: Provenance::builtin(format!("{dst} via {via}")),
        });
    }
}

const EDGE_IFACES: &[(&str, &str)] = &[("eth0", "203.0.113.2/24"), ("eth1", "192.168.10.1/24"), ("eth2", "10.0.0.1/24")];
const EDGE_ROUTES: &[(&str, Option<&str>, &str)] = &[("0.0.0.0/0", Some("203.0.113.1"), "eth0")];

const EDGE: &str = "\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.10.10:8080
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:LAN - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i eth2 -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i eth0 -o eth1 -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT -j ACCEPT
-A FORWARD -i eth2 -j LAN
-A LAN -p tcp -m multiport --dports 25,443 -j REJECT --reject-with tcp-reset
-A LAN -o eth0 -j ACCEPT
COMMIT
";

fn edge() -> Workspace {
    fw(EDGE, EDGE_IFACES, EDGE_ROUTES)
}

fn ask(ws: &Workspace, from: &str, to: &str, proto: &str, port: Option<&str>) -> QueryReport {
    query(ws, &QueryRequest { from: from.into(), to: to.into(), proto: proto.into(), port: port.map(Into::into), sport: None })
        .unwrap_or_else(|e| panic!("query {from} -> {to}: {e}"))
}

#[test]
fn port_forward_from_internet_is_allowed_and_explained() {
    let ws = edge();
    let r = ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let res = &r.results[0];
    let fwd = &res.hops[0];
    assert_eq!((fwd.in_iface.as_deref(), fwd.out_iface.as_deref()), (Some("eth0"), Some("eth1")));
    assert_eq!(fwd.nat[0].kind, "dnat");
    assert_eq!(fwd.nat[0].to, "192.168.10.10:8080");
    assert_eq!(fwd.rule.as_ref().unwrap().line, 17);
    let reply = &res.hops[1];
    assert_eq!(reply.direction, "reply");
    assert_eq!(reply.rule.as_ref().unwrap().line, 16);
    assert_eq!(reply.nat[0].kind, "un-dnat");
}

#[test]
fn firewall_itself_only_from_lan() {
    let ws = edge();
    let r = ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Denied);
    let h = &r.results[0].hops[0];
    assert_eq!(h.path, "input");
    assert_eq!(h.outcome, "dropped");
    assert_eq!(&*h.rule.as_ref().unwrap().action, "default drop");
    // From the LAN, to any of the firewall's addresses.
    let r = ask(&ws, "10.0.0.5", "203.0.113.2", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(r.results[0].hops[0].path, "input");
    assert_eq!(r.results[0].hops[1].path, "output");
}

#[test]
fn lan_egress_masqueraded_and_rejects_named() {
    let ws = edge();
    let r = ask(&ws, "10.0.0.5", "198.51.100.9", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let h = &r.results[0].hops[0];
    assert_eq!(h.nat[0].kind, "masquerade");
    assert!(h.nat[0].to.starts_with("203.0.113.2:"));
    assert_eq!(r.results[0].hops[1].nat[0].kind, "un-snat");
    let r = ask(&ws, "10.0.0.5", "198.51.100.9", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Denied);
    let h = &r.results[0].hops[0];
    assert_eq!(h.outcome, "rejected");
    assert_eq!(h.rule.as_ref().unwrap().line, 19);
    // The jump that led there is part of the explanation.
    assert!(h.decisions.iter().any(|d| d.line == 18 && &*d.action == "jump"));
}

#[test]
fn replies_need_a_state_rule() {
    let no_state = EDGE.replace("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", "");
    let ws = fw(&no_state, EDGE_IFACES, EDGE_ROUTES);
    let r = ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Denied);
    assert!(r.results[0].reason.contains("reply"), "{}", r.results[0].reason);
}

#[test]
fn set_query_splits_into_exact_classes() {
    let ws = edge();
    let r = ask(&ws, "10.0.0.0/24", "198.51.100.9", "tcp", None);
    assert_eq!(r.verdict, Verdict::Allowed);
    let denied: Vec<&FlowResult> = r.results.iter().filter(|x| x.verdict == Verdict::Denied).collect();
    let allowed: Vec<&FlowResult> = r.results.iter().filter(|x| x.verdict == Verdict::Allowed).collect();
    assert!(!denied.is_empty() && !allowed.is_empty());
    let covered: String = denied.iter().map(|d| d.covers.clone()).collect::<Vec<_>>().join(" | ");
    assert!(covered.contains("port 25") && covered.contains("port 443"), "{covered}");
    // The firewall's own LAN address answers differently from the rest of the subnet.
    assert!(r.results.iter().any(|x| x.covers.contains("from 10.0.0.1 ")), "{:#?}", r.results.iter().map(|x| &x.covers).collect::<Vec<_>>());
}

#[test]
fn unknown_match_makes_possibly_and_names_the_line() {
    let rules = EDGE.replace(
        "-A FORWARD -i eth2 -j LAN\n",
        "-A FORWARD -i eth2 -m recent --name x --rcheck -j DROP\n-A FORWARD -i eth2 -j LAN\n",
    );
    let ws = fw(&rules, EDGE_IFACES, EDGE_ROUTES);
    let r = ask(&ws, "10.0.0.5", "198.51.100.9", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Possibly, "{r:#?}");
    assert!(r.results[0].uncertain.iter().any(|u| u.contains(":18:")), "{:?}", r.results[0].uncertain);
    // Where every branch agrees the answer stays definite.
    let r = ask(&ws, "10.0.0.5", "198.51.100.9", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
}

#[test]
fn return_and_goto() {
    let rules = "\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
-A FORWARD -m state --state ESTABLISHED -j ACCEPT
-A FORWARD -j A
-A FORWARD -p tcp --dport 22 -j ACCEPT
-A A -p tcp --dport 22 -j RETURN
-A A -p tcp --dport 23 -g B
-A A -j DROP
-A B -p tcp --dport 23 -j RETURN
COMMIT
";
    let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
    assert_eq!(ask(&ws, "10.0.0.5", "10.1.0.5", "tcp", Some("22")).verdict, Verdict::Allowed);
    // goto B, B returns: back to FORWARD after the jump to A, not into A: then port 22 rule does
    // not match 23 and the FORWARD default drops.
    let r = ask(&ws, "10.0.0.5", "10.1.0.5", "tcp", Some("23"));
    assert_eq!(r.verdict, Verdict::Denied);
    assert_eq!(&*r.results[0].hops[0].rule.as_ref().unwrap().action, "default drop");
    assert_eq!(ask(&ws, "10.0.0.5", "10.1.0.5", "tcp", Some("24")).results[0].hops[0].rule.as_ref().unwrap().line, 12);
}

#[test]
fn no_route_is_denied() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m state --state NEW,ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
    let r = ask(&ws, "10.0.0.5", "172.16.0.1", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Denied);
    assert_eq!(r.results[0].hops[0].outcome, "no route");
    assert_eq!(ask(&ws, "10.0.0.5", "10.1.0.9", "udp", Some("53")).verdict, Verdict::Allowed);
}

#[test]
fn icmp_echo_and_interface_wildcards() {
    let rules = "\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -i eth+ ! -o eth1 -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -p icmp --icmp-type 8 -j ACCEPT
COMMIT
";
    let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24"), ("eth2", "10.2.0.1/24")], &[]);
    assert_eq!(ask(&ws, "10.0.0.5", "10.2.0.5", "icmp", Some("echo-request")).verdict, Verdict::Allowed);
    assert_eq!(ask(&ws, "10.0.0.5", "10.1.0.5", "icmp", Some("echo-request")).verdict, Verdict::Denied);
    // Replies to pings of the firewall leave through OUTPUT (policy ACCEPT).
    assert_eq!(ask(&ws, "10.1.0.5", "10.0.0.1", "icmp", Some("8")).verdict, Verdict::Allowed);
}

#[test]
fn test_filter_names_the_matching_rule() {
    let ws = edge();
    let an = Analyzer::new(&ws);
    let row = |port: &str, iif: &str| TestRow {
        src: "10.0.0.5".into(),
        dst: "198.51.100.9".into(),
        proto: "tcp".into(),
        port: port.into(),
        in_iface: Some(iif.into()),
        out_iface: Some("eth0".into()),
        ..Default::default()
    };
    let a = an.test_filter("FORWARD", &row("80", "eth2")).unwrap();
    assert_eq!(a.verdict, "allowed");
    assert_eq!(a.rule.unwrap().line, 20);
    let a = an.test_filter("filter/FORWARD", &row("443", "eth2")).unwrap();
    assert_eq!(a.verdict, "denied");
    assert_eq!(a.rule.unwrap().line, 19);
    let a = an.test_filter("fw:filter/FORWARD", &row("80", "eth1")).unwrap();
    assert_eq!(a.verdict, "denied");
    assert_eq!(&*a.rule.unwrap().action, "default drop");
    // A called chain alone: no match falls through.
    let a = an.test_filter("LAN", &TestRow { out_iface: Some("eth1".into()), ..row("80", "eth2") }).unwrap();
    assert_eq!(a.verdict, "no match");
    assert!(an.test_filter("NOPE", &row("80", "eth2")).is_err());
}

#[test]
fn internet_origin_excludes_internal_space() {
    let ws = edge();
    let r = ask(&ws, "internet", "192.168.10.10", "tcp", Some("8080"));
    // Direct access to the DMZ host is not forwarded (only via the DNAT).
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    let r = ask(&ws, "internet", "203.0.113.2", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Allowed);
    assert!(r.results.iter().all(|x| !x.covers.contains("10.0.0.")), "{:#?}", r.results.iter().map(|x| &x.covers).collect::<Vec<_>>());
}

#[test]
fn device_origin_uses_output() {
    let ws = edge();
    let r = ask(&ws, "device:fw", "198.51.100.9", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(r.results[0].hops[0].path, "output");
}

#[test]
fn ipv6_rules_only_see_ipv6() {
    let rules = "\
# Generated by ip6tables-save
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A INPUT -s 2001:db8:1::/64 -p tcp --dport 22 -j ACCEPT
COMMIT
";
    let ws = fw(rules, &[("eth0", "2001:db8:1::1/64"), ("eth1", "10.0.0.1/24")], &[]);
    assert_eq!(ask(&ws, "2001:db8:1::5", "2001:db8:1::1", "tcp", Some("22")).verdict, Verdict::Allowed);
    assert_eq!(ask(&ws, "2001:db8:1::5", "2001:db8:1::1", "tcp", Some("23")).verdict, Verdict::Denied);
    // The IPv6 ruleset does not filter IPv4: no IPv4 rules means IPv4 passes.
    assert_eq!(ask(&ws, "10.0.0.5", "10.0.0.1", "tcp", Some("23")).verdict, Verdict::Allowed);
}

mod brute {
    //! First-match evaluation against an independent evaluator on small random rulesets.
    use super::super::chain::{eval_attached, RuleLoc};
    use super::super::compile::CNetwork;
    use crate::diag::Provenance;
    use crate::model::*;
    use crate::space::{Ct, Dim, Packet};
    use crate::{Network, Workspace};
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn ip(i: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, i])
    }

    fn cond() -> impl Strategy<Value = Cond> {
        let t = prop_oneof![
            (0u8..4, 0u8..4).prop_map(|(a, b)| Test::Src(vec![AddrRange { lo: ip(a.min(b)), hi: ip(a.max(b)) }])),
            (0u8..4, 0u8..4).prop_map(|(a, b)| Test::Dst(vec![AddrRange { lo: ip(a.min(b)), hi: ip(a.max(b)) }])),
            (20u16..24, 20u16..24).prop_map(|(a, b)| Test::Dport(vec![(a.min(b), a.max(b))])),
            prop::sample::subsequence(vec![Ct::NEW, Ct::ESTABLISHED], 1..=2).prop_map(Test::CtState),
            Just(Test::Proto(vec![6])),
        ];
        (t, any::<bool>()).prop_map(|(test, negated)| Cond { negated, test })
    }

    fn action(nchains: usize) -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Accept),
            Just(Action::Drop),
            Just(Action::Return),
            Just(Action::Continue("LOG".into())),
            (1..nchains.max(2)).prop_map(Action::Jump),
            (1..nchains.max(2)).prop_map(Action::Goto),
        ]
    }

    fn rule(nchains: usize) -> impl Strategy<Value = Rule> {
        (prop::collection::vec(cond(), 0..3), action(nchains), any::<bool>()).prop_map(|(conds, action, unk)| Rule {
            conds,
            unknown: if unk { vec!["-m x".into()] } else { vec![] },
            action,
            prov: Provenance::builtin("r"),
        })
    }

    /// Chains 1.. may only jump forward (to higher indices), as the kernel forbids loops.
    fn firewall() -> impl Strategy<Value = Firewall> {
        prop::collection::vec(prop::collection::vec(rule(4), 0..5), 4).prop_map(|chains| {
            let n = chains.len();
            let rulesets = chains
                .into_iter()
                .enumerate()
                .map(|(i, mut rules)| {
                    for r in &mut rules {
                        if let Action::Jump(t) | Action::Goto(t) = &mut r.action {
                            if *t <= i {
                                *t = if i + 1 < n { i + 1 } else { 0 };
                            }
                            if *t == 0 {
                                r.action = Action::Drop;
                            }
                        }
                    }
                    Ruleset {
                        name: format!("C{i}"),
                        table: "filter".into(),
                        family: Family::V4,
                        default: if i == 0 { Some(Action::Drop) } else { None },
                        default_prov: Provenance::builtin("policy"),
                        rules,
                    }
                })
                .collect();
            Firewall { rulesets, hooks: vec![], stateful: true }
        })
    }

    fn holds(t: &Test, p: &Packet) -> bool {
        let a = |d: Dim| p.addr(d);
        match t {
            Test::Src(v) => v.iter().any(|r| r.lo <= a(Dim::Src) && a(Dim::Src) <= r.hi),
            Test::Dst(v) => v.iter().any(|r| r.lo <= a(Dim::Dst) && a(Dim::Dst) <= r.hi),
            Test::Dport(v) => v.iter().any(|&(x, y)| (x as u128..=y as u128).contains(&p.get(Dim::Dport))),
            Test::CtState(v) => v.contains(&Ct::base(p.get(Dim::Ct) as u8)),
            Test::Proto(v) => v.contains(&p.proto()),
            _ => unreachable!(),
        }
    }

    /// Possible decisions pushed to `out`; returns true if control possibly returns to the caller.
    fn naive(fw: &Firewall, c: usize, p: &Packet, out: &mut Vec<String>, depth: usize) -> bool {
        if depth > 10 {
            return true;
        }
        let mut returns = false;
        for r in &fw.rulesets[c].rules {
            if !r.conds.iter().all(|cd| holds(&cd.test, p) != cd.negated) {
                continue;
            }
            let maybe = !r.unknown.is_empty();
            match &r.action {
                Action::Continue(_) => {}
                Action::Return => {
                    if !maybe {
                        return true;
                    }
                    returns = true;
                }
                Action::Jump(t) => {
                    let back = naive(fw, *t, p, out, depth + 1);
                    if !back && !maybe {
                        return returns;
                    }
                }
                Action::Goto(t) => {
                    let back = naive(fw, *t, p, out, depth + 1);
                    if back {
                        if !maybe {
                            return true;
                        }
                        returns = true;
                    } else if !maybe {
                        return returns;
                    }
                }
                a => {
                    out.push(format!("{a:?}"));
                    if !maybe {
                        return returns;
                    }
                }
            }
        }
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn first_match_agrees_with_naive(fw in firewall(), s in 0u8..4, d in 0u8..4, port in 20u16..24, est in any::<bool>()) {
            let dev = Device { name: "x".into(), firewall: Some(std::sync::Arc::new(fw.clone())), ..Default::default() };
            let ws = Workspace { files: vec![], network: Network { devices: vec![dev] }, manifest: None };
            let net = CNetwork::build(&ws.network);
            let mut p = Packet::new_flow(ip(s), ip(d), 6, 40000, port);
            if est { p.set(Dim::Ct, Ct::ESTABLISHED as u128); }
            let got = eval_attached(&net.devices[0], 0, &p);
            let mut got_set: Vec<String> = got.exits.iter().map(|e| {
                if e.at.rule == RuleLoc::DEFAULT { "Drop".to_string() } else { format!("{:?}", e.action) }
            }).collect();
            let mut want = Vec::new();
            let returns = naive(&fw, 0, &p, &mut want, 0);
            let mut want_set: Vec<String> = want;
            if returns { want_set.push("Drop".into()); }
            got_set.sort(); got_set.dedup();
            want_set.sort(); want_set.dedup();
            prop_assert_eq!(got_set, want_set);
        }
    }
}


#[test]
fn notrack_skips_state_and_nat() {
    let rules = "\
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 53 -j NOTRACK
-A PREROUTING -p udp --sport 53 -j NOTRACK
-A PREROUTING -p tcp --dport 25 -j NOTRACK
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state ESTABLISHED -j ACCEPT
-A FORWARD -m state --state UNTRACKED -p udp -j ACCEPT
-A FORWARD -m state --state NEW,UNTRACKED -p tcp --dport 25 -j ACCEPT
COMMIT
";
    let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
    // DNS both ways untracked and accepted as untracked.
    let r = ask(&ws, "10.0.0.5", "10.1.0.5", "udp", Some("53"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert!(r.results[0].hops[0].decisions.iter().any(|d| &*d.action == "notrack"));
    // SMTP: first packet untracked and accepted, but the SYN/ACK is not recognised as a reply
    // (INVALID): dropped by the FORWARD default.
    let r = ask(&ws, "10.0.0.5", "10.1.0.5", "tcp", Some("25"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert!(r.results[0].reason.contains("reply"));
}

#[test]
fn exposure_from_internet_lists_forwards_and_firewall_services() {
    let ws = edge();
    let an = Analyzer::new(&ws);
    let rep = an.exposure(&[Origin::internet()]);
    assert!(rep.origins[0].error.is_none(), "{:?}", rep.origins[0].error);
    let find = |ip: &str, proto: &str, ports: &str| {
        rep.exposures.iter().find(|e| e.ip == ip && e.proto == proto && e.ports == ports)
    };
    // The port forward, explained through the DNAT.
    let e = find("203.0.113.2", "tcp", "80").expect("port forward exposed");
    assert_eq!(e.certainty, crate::report::Certainty::Definite);
    assert_eq!(e.host.as_deref(), Some("fw"));
    assert_eq!(e.owner, "it");
    assert_eq!(e.hops[0].nat[0].kind, "dnat");
    // SSH to the firewall is only for the LAN.
    assert!(find("203.0.113.2", "tcp", "22").is_none());
    assert!(rep.exposures.iter().all(|e| e.origin == "internet" && e.from == "internet"), "{:#?}", rep.exposures);
    // LAN addresses are only reached through the catch-all port forward to the DMZ web server.
    for e in rep.exposures.iter().filter(|e| e.ip.starts_with("10.0.0.")) {
        assert_eq!((e.proto.as_str(), e.ports.as_str()), ("tcp", "80"), "{e:#?}");
        assert_eq!(e.hops[0].nat[0].to, "192.168.10.10:8080");
    }
}

#[test]
fn exposure_gates_match_origin_and_services() {
    let ws = edge();
    let an = Analyzer::new(&ws);
    let rep = an.exposure(&[Origin::internet()]);
    let trips = |spec: &str| rep.exposures.iter().filter(|e| FailOn::parse(spec).unwrap().matches(e)).count();
    assert!(trips("internet") > 0);
    assert!(trips("internet:tcp/80") > 0);
    assert!(trips("internet:tcp/1-100") > 0);
    assert_eq!(trips("internet:tcp/22"), 0);
    assert_eq!(trips("internet:udp"), 0);
    assert_eq!(trips("vendor"), 0);
    assert!(FailOn::parse("internet:tcp/x").is_err());
    assert!(FailOn::parse(":tcp/22").is_err());
}

#[test]
fn two_firewalls_in_series() {
    // edge (203.0.113.2 | 172.16.0.1) — core (172.16.0.2 | 10.1.0.1), a server at 10.1.0.10.
    let edge_rules = "\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 203.0.113.2 -i eth0 -p tcp --dport 443 -j DNAT --to-destination 10.1.0.10
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i eth0 -p tcp -d 10.1.0.10 --dport 443 -j ACCEPT
-A FORWARD -i eth0 -p tcp -d 10.1.0.10 --dport 8443 -j ACCEPT
COMMIT
";
    let core_rules = "\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -d 10.1.0.10 --dport 443 -j ACCEPT
COMMIT
";
    let mut ws = Workspace::load(vec![InputFile::new("edge/rules", edge_rules), InputFile::new("core/rules", core_rules)]);
    give(&mut ws, "edge", &[("eth0", "203.0.113.2/24"), ("eth1", "172.16.0.1/30")], &[("0.0.0.0/0", "203.0.113.1", "eth0"), ("10.1.0.0/24", "172.16.0.2", "eth1")]);
    give(&mut ws, "core", &[("eth0", "172.16.0.2/30"), ("eth1", "10.1.0.1/24")], &[("0.0.0.0/0", "172.16.0.1", "eth0")]);
    let r = ask(&ws, "198.51.100.7", "203.0.113.2", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let hops = &r.results[0].hops;
    let devs: Vec<(&str, &str)> = hops.iter().map(|h| (&*h.device, h.direction)).collect();
    assert_eq!(devs, [("edge", "forward"), ("core", "forward"), ("core", "reply"), ("edge", "reply")]);
    // Allowed by the edge, stopped by the core.
    let r = ask(&ws, "198.51.100.7", "10.1.0.10", "tcp", Some("8443"));
    assert_eq!(r.verdict, Verdict::Denied);
    assert_eq!(&*r.results[0].hops.last().unwrap().device, "core");
    let rep = Analyzer::new(&ws).exposure(&[Origin::internet()]);
    let tcp: Vec<(&str, &str)> = rep.exposures.iter().filter(|e| e.proto == "tcp").map(|e| (e.ip.as_str(), e.ports.as_str())).collect();
    assert_eq!(tcp, [("10.1.0.10", "443"), ("203.0.113.2", "443")], "{:#?}", rep.exposures);
}

mod regions {
    //! Exactness of path regions: every packet of a question, walked alone, gets the verdict
    //! (and the path) of the class the question put it in.
    use super::*;
    use crate::space::{Dim, Packet};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick(&mut self, lo: u128, hi: u128) -> u128 {
            lo + (self.next() as u128) % (hi - lo + 1)
        }
    }

    fn check(ws: &Workspace, from: &str, to: &str, proto: &str, samples: usize) {
        let an = Analyzer::new(ws);
        let from_ep = an.endpoint(from).unwrap();
        let to_ep = an.endpoint(to).unwrap();
        let protos = parse_proto(proto).unwrap();
        let groups: Vec<(ClassOutcome, Vec<describe::Class>)> =
            an.classes(&from_ep, &to_ep, &protos, None, None, MAX_CLASSES, Reading::ALL).unwrap().into_iter().map(|(o, cubes)| (o, cube_classes(&cubes))).collect();
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let (Endpoint::Addrs(src), Endpoint::Addrs(dst)) = (&from_ep, &to_ep) else { panic!("address endpoints only") };
        let mut checked = 0;
        while checked < samples {
            let pick_in = |r: &Ranges, rng: &mut Rng| {
                let rs = r.as_slice();
                let (lo, hi) = rs[(rng.next() as usize) % rs.len()];
                rng.pick(lo, hi)
            };
            let s = pick_in(src, &mut rng);
            let d = pick_in(dst, &mut rng);
            let v4 = |x: u128| (crate::space::V4_BASE..=crate::space::V4_LAST).contains(&x);
            if v4(s) != v4(d) {
                continue;
            }
            let p = pick_in(&protos, &mut rng) as u8;
            if (p == proto::ICMP && !v4(d)) || (p == proto::ICMPV6 && v4(d)) {
                continue;
            }
            let sport = rng.pick(EPHEMERAL_PORTS.0 as u128, EPHEMERAL_PORTS.1 as u128);
            // Ports near the interesting ones more often than not.
            let dport = if rng.next().is_multiple_of(2) { [22u128, 25, 53, 80, 443, 2222, 8080, 8443][(rng.next() % 8) as usize] } else { rng.pick(0, 65535) };
            let icmp_type = rng.pick(0, 20);
            let icmp = p == proto::ICMP || p == proto::ICMPV6;
            let mut pkt = Packet::new_flow(crate::space::u128_to_addr(s), crate::space::u128_to_addr(d), p, sport as u16, dport as u16);
            if icmp {
                pkt.set(Dim::IcmpType, icmp_type);
            }
            let in_class = |c: &describe::Class| {
                let inr = |r: (u128, u128), v: u128| r.0 <= v && v <= r.1;
                inr(c.src, s)
                    && inr(c.dst, d)
                    && inr(c.proto, p as u128)
                    && (!c.has_ports || (inr(c.sport, sport) && inr(c.dport, dport)))
                    && (!c.icmp || inr(c.dport, icmp_type))
            };
            let holders: Vec<&(ClassOutcome, Vec<describe::Class>)> = groups.iter().filter(|g| g.1.iter().any(in_class)).collect();
            assert_eq!(holders.len(), 1, "packet {pkt:?} is in {} classes", holders.len());
            let own = an.evaluate(pkt, &from_ep);
            assert_eq!(own.verdict, holders[0].0.verdict, "{pkt:?}: alone {} / in class {}", own.reason, holders[0].0.reason);
            assert_eq!(own.key, holders[0].0.key, "{pkt:?}");
            checked += 1;
        }
    }

    #[test]
    fn edge_regions_are_exact() {
        let ws = edge();
        check(&ws, "internet", "0.0.0.0/0", "any", 400);
        check(&ws, "10.0.0.0/24", "0.0.0.0/0", "tcp", 300);
        check(&ws, "192.168.10.0/24", "10.0.0.0/8", "any", 200);
    }

    /// A generated estate of routers in a tree with firewalls, DNAT and subnets: packets from
    /// the Internet (whose destinations have no cells of their own: every routing decision is
    /// in the region) and from inside get the answer of their class when walked alone.
    #[test]
    fn estate_regions_are_exact() {
        let net = crate::synth::Network::generate(8, 160, 60, 3);
        let ws = Workspace::load(net.input_files());
        check(&ws, "internet", "0.0.0.0/0", "any", 400);
        check(&ws, "internet", "10.0.0.0/8", "tcp", 300);
        check(&ws, &net.employees, "10.0.0.0/8", "any", 200);
        // Sources over many subnets, hosts cut out by a scan: cells of sources on the same
        // devices' subnets are walked together.
        let mut files = net.input_files();
        files.push(net.vuln_scan(200, 3));
        let ws = Workspace::load(files);
        check(&ws, "10.0.0.0/8", "10.0.0.0/8", "any", 300);
        check(&ws, "10.0.0.0/8", "internet", "tcp", 100);
        // The transit links between the routers of a deeper tree: whether a reply could come
        // back through another router depends on each address there.
        let net = crate::synth::Network::generate(30, 600, 120, 7);
        let ws = Workspace::load(net.input_files());
        check(&ws, &net.employees, "10.240.0.0/24", "udp", 300);
        check(&ws, "internet", "10.240.0.0/24", "tcp", 100);
    }

    /// Sources on two routers' subnets, asked as one range: a packet from each enters at its
    /// own router. `a` drops what `b` forwards, and neither answers, so only the entry tells
    /// the two subnets apart.
    #[test]
    fn sources_on_different_routers_are_not_walked_together() {
        let drop_all = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let pass_all = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let mut ws = Workspace::load(vec![InputFile::new("a/rules", drop_all), InputFile::new("b/rules", pass_all)]);
        give(&mut ws, "a", &[("eth0", "10.9.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
        give(&mut ws, "b", &[("eth0", "10.9.0.2/24"), ("eth1", "10.2.0.1/24")], &[]);
        check(&ws, "10.1.0.0-10.2.0.255", "10.9.0.0/24", "udp", 300);
        let r = ask(&ws, "10.1.0.0-10.2.0.255", "10.9.0.50", "udp", Some("53"));
        let of = |host: &str| r.results.iter().find(|x| x.covers.contains(host)).map(|x| x.reason.as_str()).unwrap_or_default();
        assert!(of("10.1.0.2-").contains("dropped at a"), "{r:#?}");
        assert!(of("10.2.0.2-").contains("passes b"), "{r:#?}");
    }

    /// ICMP types with a reply are walked together unless a rule tells their replies apart:
    /// every request passes, but only the replies to timestamp (13) and address mask (17)
    /// requests come back; those to echo (8) and information (15) requests are dropped.
    #[test]
    fn icmp_types_whose_replies_meet_different_rules_are_walked_apart() {
        let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
            -A FORWARD -i eth0 -p icmp -j ACCEPT\n\
            -A FORWARD -i eth1 -p icmp --icmp-type 14 -j ACCEPT\n-A FORWARD -i eth1 -p icmp --icmp-type 18 -j ACCEPT\nCOMMIT\n";
        let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
        check(&ws, "10.0.0.0/24", "10.1.0.0/24", "icmp", 300);
        let an = Analyzer::new(&ws);
        let groups = an
            .classes(&an.endpoint("10.0.0.5").unwrap(), &an.endpoint("10.1.0.5").unwrap(), &parse_proto("icmp").unwrap(), None, None, MAX_CLASSES, Reading::ALL)
            .unwrap();
        let verdict_of = |t: u128| {
            let v: Vec<Verdict> = groups.iter().filter(|g| cube_classes(&g.1).iter().any(|c| c.dport.0 <= t && t <= c.dport.1)).map(|g| g.0.verdict).collect();
            assert_eq!(v.len(), 1, "type {t}");
            v[0]
        };
        assert_eq!([13, 15, 17, 8].map(verdict_of), [Verdict::Allowed, Verdict::Denied, Verdict::Allowed, Verdict::Denied]);
    }

    /// Destinations on the source's own subnet are reached directly, with no device and no
    /// recorded decision on the way, and its broadcast address only by what answers a
    /// broadcast: asked together with other subnets, each keeps the answer it has alone.
    #[test]
    fn destinations_reached_directly_keep_their_own_answers() {
        let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
        check(&ws, "10.0.0.0/24", "10.0.0.0-10.1.0.255", "tcp", 200);
        let an = Analyzer::new(&ws);
        let from = an.endpoint("10.0.0.5").unwrap();
        let groups = an
            .classes(&from, &an.endpoint("10.0.0.0-10.1.0.255").unwrap(), &parse_proto("tcp").unwrap(), Some(Ranges::single(25)), None, MAX_CLASSES, Reading::ALL)
            .unwrap();
        let expected = [
            ("10.0.0.0", Verdict::Allowed),
            ("10.0.0.7", Verdict::Allowed),
            ("10.0.0.255", Verdict::Denied),
            ("10.1.0.9", Verdict::Allowed),
            ("10.1.0.255", Verdict::Denied),
        ];
        for (d, want) in expected {
            let x = crate::space::addr_to_u128(d.parse().unwrap());
            let held: Vec<Verdict> = groups.iter().filter(|g| cube_classes(&g.1).iter().any(|c| c.dst.0 <= x && x <= c.dst.1)).map(|g| g.0.verdict).collect();
            let alone = an.evaluate(Packet::new_flow("10.0.0.5".parse().unwrap(), d.parse().unwrap(), proto::TCP, 40000, 25), &from);
            assert_eq!((held.as_slice(), alone.verdict), ([want].as_slice(), want), "{d}");
        }
    }

    #[test]
    fn unknown_constructs_and_goto_regions_are_exact() {
        let rules = EDGE.replace(
            "-A FORWARD -i eth2 -j LAN\n",
            "-A FORWARD -i eth2 -p tcp --sport 40000:50000 -m recent --name x --rcheck -j DROP\n-A FORWARD -i eth2 -g LAN\n",
        );
        let ws = fw(&rules, EDGE_IFACES, EDGE_ROUTES);
        check(&ws, "10.0.0.0/24", "198.51.100.0/24", "tcp", 300);
        check(&ws, "internet", "203.0.113.0/24", "any", 300);
    }
}

mod connect {
    //! [`Analyzer::may_connect`] against the walks: every packet a walk finds allowed or
    //! possibly allowed is in the bound, and the bound leaves out packets dropped on the way.
    use super::*;
    use crate::space::PacketSet;

    /// Checks the bound of `from` against the classes of the question to `to` (any protocol),
    /// and returns the share of the denied packets' classes the bound leaves out, in cubes.
    fn check(ws: &Workspace, from: &str, to: &str) -> f64 {
        let an = Analyzer::new(ws);
        let Ok(Endpoint::Addrs(src)) = an.endpoint(from) else { panic!("{from}: an address endpoint") };
        let from_ep = Endpoint::Addrs(an.clients(&src));
        let bound = an.may_connect(&src, usize::MAX).expect("a bound").into_iter().fold(PacketSet::empty(), |s, c| s.union(&PacketSet::from_cube(c)));
        let groups = an.classes(&from_ep, &an.endpoint(to).unwrap(), &parse_proto("any").unwrap(), None, None, MAX_CLASSES, Reading::ALL).unwrap();
        let (mut denied, mut out) = (0usize, 0usize);
        for (o, cubes) in &groups {
            for c in cubes {
                let c = PacketSet::from_cube(c.clone());
                if o.verdict == Verdict::Denied {
                    denied += 1;
                    out += usize::from(c.intersect(&bound).is_empty());
                } else {
                    assert!(c.is_subset(&bound), "{from} → {to}: {:?} is {} ({}) but not in the bound", c.cubes(), o.verdict.as_str(), o.reason);
                }
            }
        }
        if denied == 0 {
            1.0
        } else {
            out as f64 / denied as f64
        }
    }

    #[test]
    fn edge_bound_holds_every_connection() {
        let ws = edge();
        check(&ws, "internet", "0.0.0.0/0");
        check(&ws, "10.0.0.0/24", "0.0.0.0/0");
        let left_out = check(&ws, "192.168.10.0/24", "0.0.0.0/0");
        assert!(left_out > 0.0, "the bound leaves out nothing the walks drop");
    }

    #[test]
    fn estate_bound_holds_every_connection() {
        for (devices, seed) in [(8, 3), (12, 11)] {
            let net = crate::synth::Network::generate(devices, devices * 20, devices * 6, seed);
            let mut files = net.input_files();
            files.push(net.vuln_scan(devices * 20, seed));
            let ws = Workspace::load(files);
            check(&ws, "internet", "10.0.0.0/8");
            check(&ws, &net.employees, "0.0.0.0/0");
            check(&ws, crate::synth::VENDOR_NET, "10.0.0.0/8");
            let left_out = check(&ws, "10.0.0.0/8", "10.0.0.0/8");
            assert!(left_out > 0.5, "{devices} devices: the bound leaves out only {left_out:.2} of the denied classes");
            // A bound that needs more device passes than it is given is no bound.
            let an = Analyzer::new(&ws);
            let src = an.endpoint_addrs("10.0.0.0/8").unwrap();
            assert!(an.may_connect(&src, 10).is_none());
            assert!(an.may_connect(&src, usize::MAX).is_some());
        }
    }

    /// Without connection tracking, a reply passes only where a rule lets it: TCP only from
    /// port 80, UDP only when an unmodelled match holds (a reply that possibly passes).
    #[test]
    fn replies_cut_the_bound() {
        let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
            -A FORWARD -i eth2 -j ACCEPT\n-A FORWARD -i eth0 -p tcp --sport 80 -j ACCEPT\n\
            -A FORWARD -i eth0 -p udp -m recent --name x --rcheck -j ACCEPT\nCOMMIT\n";
        let ws = fw(rules, EDGE_IFACES, EDGE_ROUTES);
        let left_out = check(&ws, "10.0.0.0/24", "0.0.0.0/0");
        assert!(left_out > 0.0, "the bound leaves out nothing the walks drop");
        let r = ask(&ws, "10.0.0.0/24", "198.51.100.7", "udp", Some("53"));
        assert_eq!(r.verdict, Verdict::Possibly, "{r:#?}");
    }

    #[test]
    fn unknown_constructs_and_dropping_routers_are_bounded() {
        let rules = EDGE.replace(
            "-A FORWARD -i eth2 -j LAN\n",
            "-A FORWARD -i eth2 -p tcp --sport 40000:50000 -m recent --name x --rcheck -j DROP\n-A FORWARD -i eth2 -g LAN\n",
        );
        let ws = fw(&rules, EDGE_IFACES, EDGE_ROUTES);
        check(&ws, "10.0.0.0/24", "0.0.0.0/0");
        check(&ws, "internet", "0.0.0.0/0");
        let drop_all = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let pass_all = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let mut ws = Workspace::load(vec![InputFile::new("a/rules", drop_all), InputFile::new("b/rules", pass_all)]);
        give(&mut ws, "a", &[("eth0", "10.9.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
        give(&mut ws, "b", &[("eth0", "10.9.0.2/24"), ("eth1", "10.2.0.1/24")], &[]);
        check(&ws, "10.1.0.0-10.2.0.255", "10.9.0.0/24");
        let an = Analyzer::new(&ws);
        // Nothing from a's subnet gets through a, and nothing answers it directly but its own
        // subnet.
        let bound = an.may_connect(&Ranges::from_ranges(vec![(crate::space::addr_to_u128("10.1.0.0".parse().unwrap()), crate::space::addr_to_u128("10.1.0.255".parse().unwrap()))]), usize::MAX).unwrap();
        let dst = bound.iter().fold(Ranges::empty(), |r, c| r.union(c.get(crate::space::Dim::Dst)));
        assert_eq!(dst, crate::space::prefix_range(&"10.1.0.0/24".parse().unwrap()), "{bound:?}");
    }
}

#[test]
fn broadcast_addresses_are_not_forwarded() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
    let r = ask(&ws, "10.0.0.5", "10.1.0.255", "tcp", Some("25"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert!(r.results[0].reason.contains("broadcast"), "{}", r.results[0].reason);
    assert_eq!(ask(&ws, "10.0.0.5", "10.1.0.255", "icmp", Some("echo-request")).verdict, Verdict::Denied);
    // The host next to it is forwarded as usual.
    assert_eq!(ask(&ws, "10.0.0.5", "10.1.0.254", "tcp", Some("25")).verdict, Verdict::Allowed);
    // UDP to the broadcast address reaches the router itself (INPUT), like DHCP does.
    let r = ask(&ws, "10.0.0.5", "10.1.0.255", "udp", Some("67"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(r.results[0].hops[0].path, "input");
}

#[test]
fn several_entry_points_must_agree() {
    // Two routers both route towards 198.51.100.0/24 out of the modelled network; only one of
    // them lets tcp/22 through to the server: which one the client's traffic takes is unknown.
    let open = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let closed = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let mut ws = Workspace::load(vec![InputFile::new("a/rules", open), InputFile::new("b/rules", closed)]);
    for (dev, wan, lan) in [("a", "192.0.2.1/24", "10.9.0.1/24"), ("b", "192.0.2.2/24", "10.9.0.2/24")] {
        give(&mut ws, dev, &[("wan", wan), ("lan", lan)], &[("0.0.0.0/0", "192.0.2.254", "wan")]);
    }
    let r = ask(&ws, "198.51.100.7", "10.9.0.10", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Possibly, "{r:#?}");
    assert!(r.results[0].uncertain.iter().any(|u| u.contains("may enter at a or b")), "{:?}", r.results[0].uncertain);
}

#[test]
fn replies_that_may_return_through_another_router_are_uncertain() {
    // core: LAN 10.9.0.0/24, a line to a partner network (198.51.100.0/24) of its own, and a
    // default route through edge; edge also routes everything else out. A reply from the
    // partner may come back through edge, which never saw the connection.
    let open = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let mut ws = Workspace::load(vec![InputFile::new("core/rules", open), InputFile::new("edge/rules", open)]);
    give(&mut ws, "core", &[("lan", "10.9.0.1/24"), ("up", "172.16.0.2/30"), ("vnd", "192.0.3.2/24")], &[("0.0.0.0/0", "172.16.0.1", "up"), ("198.51.100.0/24", "192.0.3.254", "vnd")]);
    give(&mut ws, "edge", &[("in", "172.16.0.1/30"), ("wan", "192.0.2.1/24")], &[("0.0.0.0/0", "192.0.2.254", "wan"), ("10.9.0.0/24", "172.16.0.2", "in")]);
    let r = ask(&ws, "10.9.0.10", "198.51.100.7", "tcp", Some("443"));
    assert_eq!(r.verdict, Verdict::Possibly, "{r:#?}");
    assert!(r.results[0].uncertain.iter().any(|u| u.contains("may come back through edge")), "{:?}", r.results[0].uncertain);
    // Towards the Internet the only way back is through edge, the way out: definite.
    assert_eq!(ask(&ws, "10.9.0.10", "203.0.113.9", "tcp", Some("443")).verdict, Verdict::Allowed);
}

/// A link stated in the manifest joins two devices whose interfaces share no subnet (an
/// unnumbered point-to-point link): packets cross it, and without it they leave the network.
#[test]
fn manifest_links_join_unnumbered_interfaces() {
    let edge_rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let core_rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
-A FORWARD -p tcp -d 10.1.0.10 --dport 22 -j ACCEPT\nCOMMIT\n";
    let edge_addr = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN\n    inet 127.0.0.1/8 scope host lo\n\
2: eth0: <BROADCAST,UP,LOWER_UP> mtu 1500 state UP\n    inet 192.168.1.1/24 scope global eth0\n\
3: eth1: <POINTOPOINT,UP,LOWER_UP> mtu 1500 state UP\n";
    let edge_route = "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.1\n10.1.0.0/24 dev eth1 scope link\n";
    let core_addr = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN\n    inet 127.0.0.1/8 scope host lo\n\
2: eth0: <POINTOPOINT,UP,LOWER_UP> mtu 1500 state UP\n\
3: eth1: <BROADCAST,UP,LOWER_UP> mtu 1500 state UP\n    inet 10.1.0.1/24 scope global eth1\n";
    let core_route = "default dev eth0 scope link\n10.1.0.0/24 dev eth1 proto kernel scope link src 10.1.0.1\n";
    let files = |links: &str| {
        let mut v = vec![
            InputFile::new("edge/rules", edge_rules),
            InputFile::new("edge/ip-addr.txt", edge_addr),
            InputFile::new("edge/ip-route.txt", edge_route),
            InputFile::new("core/rules", core_rules),
            InputFile::new("core/ip-addr.txt", core_addr),
            InputFile::new("core/ip-route.txt", core_route),
        ];
        if !links.is_empty() {
            v.push(InputFile::new("portolan.yaml", format!("links:\n  - {links}\n")));
        }
        Workspace::load(v)
    };
    let ws = files("[edge:eth1, core:eth0]");
    let r = ask(&ws, "192.168.1.5", "10.1.0.10", "tcp", Some("22"));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    let devs: Vec<&str> = r.results[0].hops.iter().map(|h| &*h.device).collect();
    assert_eq!(devs, ["edge", "core", "core", "edge"]);
    let r = ask(&ws, "192.168.1.5", "10.1.0.10", "tcp", Some("80"));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert_eq!(&*r.results[0].hops.last().unwrap().device, "core");
    // Without the link the packet leaves the modelled network at the edge: the core's rules
    // never see it.
    let ws = files("");
    let r = ask(&ws, "192.168.1.5", "10.1.0.10", "tcp", Some("80"));
    let devs: Vec<&str> = r.results[0].hops.iter().map(|h| &*h.device).collect();
    assert!(!devs.contains(&"core"), "{r:#?}");
    // A link naming an interface the device does not have is reported on the manifest.
    let ws = files("[edge:eth9, core:eth0]");
    let m = ws.files.iter().find(|f| f.path == "portolan.yaml").unwrap();
    assert!(m.parsed.diags.iter().any(|d| d.reason.contains("has no interface \"eth9\"")), "{:#?}", m.parsed.diags);
}

/// The on-link index answers as asking every device: on generated estates (transit links,
/// nested routed prefixes) and on one device with overlapping subnets, at every subnet's edges
/// and just outside them; the index of own and broadcast addresses likewise at every interface
/// address, its neighbours and its subnet's last address.
#[test]
fn on_link_index_matches_every_device() {
    let check = |ws: &Workspace| {
        let an = Analyzer::new(ws);
        let net = an.network();
        let mut probes: Vec<u128> = vec![0, u128::MAX];
        for d in &net.devices {
            for &(lo, hi, _, _) in &d.subnets {
                probes.extend([lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1), lo + (hi - lo) / 2]);
            }
        }
        for v in probes {
            let a = crate::space::u128_to_addr(v);
            let each: Vec<(usize, u16)> =
                net.devices.iter().enumerate().filter_map(|(i, d)| d.connected_iface(a).map(|id| (i, id))).collect();
            assert_eq!(net.on_link(a), each.as_slice(), "{a}");
        }
        // The network-wide index of own and broadcast addresses answers as every device does.
        let mut probes: Vec<u128> = vec![0, u128::MAX, crate::space::addr_to_u128("255.255.255.255".parse().unwrap())];
        for d in &net.devices {
            for (n, _) in &d.addrs {
                let (x, last) = (crate::space::addr_to_u128(n.addr()), crate::space::prefix_range(n).as_slice()[0].1);
                probes.extend([x, x.wrapping_sub(1), x.wrapping_add(1), last, last.wrapping_add(1)]);
            }
        }
        let (mut local, mut broadcast) = (0, 0);
        for v in probes {
            let a = crate::space::u128_to_addr(v);
            let is_local = net.devices.iter().any(|d| d.is_local(a));
            let is_broadcast = net.devices.iter().any(|d| d.is_broadcast(a));
            assert_eq!(net.is_local_anywhere(a), is_local, "{a}");
            assert_eq!(net.is_broadcast_anywhere(a), is_broadcast, "{a}");
            local += is_local as usize;
            broadcast += is_broadcast as usize;
        }
        assert!(local > 0 && broadcast > 1, "the probes hold own and broadcast addresses");
    };
    check(&Workspace::load(crate::synth::Network::generate(30, 600, 120, 7).input_files()));
    check(&fw(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
        &[("eth0", "10.0.0.1/8"), ("eth1", "10.1.2.1/24"), ("eth2", "10.1.0.1/16"), ("eth3", "2001:db8::1/64")],
        &[],
    ));
}

/// Outside the rules, a walk treats the packets of one protocol cell alike: whether they carry
/// ports, the reply's first packet (its TCP flags and ICMP type), conntrack's verdict on a
/// reply to an untracked packet, and broadcasts. Checked for every protocol and ICMP type.
#[test]
fn protocol_cells_group_what_walks_treat_alike() {
    let ws = edge();
    let an = Analyzer::new(&ws);
    let all = Ranges::range(0, 255);
    let cells = an.proto_cells(&all, None, &Ranges::single(40000));
    // The reply's type counts by the class of the rules' ICMP type boundaries it falls in.
    let class_of = |t: u128| an.network().icmp_cuts.partition_point(|&c| c <= t);
    let behaviour = |p: u8, t: u128| {
        let mut pkt = Packet::new_flow("10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap(), p, 40000, 80);
        pkt.set(Dim::IcmpType, t);
        let reply = device::reply_packet(&pkt).map(|r| (r.get(Dim::TcpFlags), class_of(r.get(Dim::IcmpType))));
        (proto::has_ports(p), reply, matches!(p, proto::TCP | proto::ICMP | proto::ICMPV6), matches!(p, proto::TCP | proto::ICMP))
    };
    let mut covered = 0;
    for p in 0..=255u8 {
        let types: Vec<u128> = if p == proto::ICMP || p == proto::ICMPV6 { (0..=255).collect() } else { vec![0] };
        for t in types {
            let holding: Vec<_> = cells.iter().filter(|c| c.0.contains(p as u128) && c.3.contains(t)).collect();
            assert_eq!(holding.len(), 1, "protocol {p} type {t}");
            let (ps, _, _, ts) = holding[0];
            let (q, u) = (ps.first().unwrap() as u8, ts.first().unwrap());
            assert_eq!(behaviour(p, t), behaviour(q, u), "protocol {p} type {t} walks like protocol {q} type {u}");
            covered += 1;
        }
    }
    assert_eq!(covered, 254 + 2 * 256);
}

/// The route found per routing cell is the route the longest-prefix scan finds, at every
/// route's and subnet's edges and just outside them, on every device of a generated estate.
#[test]
fn route_lookup_by_cell_matches_the_scan() {
    let ws = Workspace::load(crate::synth::Network::generate(30, 600, 120, 7).input_files());
    let an = Analyzer::new(&ws);
    for d in &an.network().devices {
        assert_eq!(d.route_at.len(), d.route_cuts.len() + 1, "{}", d.name);
        let mut probes: Vec<u128> = vec![0, u128::MAX];
        for r in &d.routes {
            probes.extend([r.span.0, r.span.1, r.span.0.wrapping_sub(1), r.span.1.wrapping_add(1)]);
        }
        for &c in &d.route_cuts {
            probes.extend([c, c.wrapping_sub(1)]);
        }
        for v in probes {
            assert_eq!(d.lookup_idx(crate::space::u128_to_addr(v)), d.lookup_scan(v), "{} at {v}", d.name);
        }
    }
}

/// Footholds asked together (one classification for all, sources on one subnet walked
/// together) get the answers each gets alone: the class holding it and the explained path of
/// its own connection, for every target service (here identical: no rule of the estate tells
/// source ports apart).
#[test]
fn footholds_asked_together_get_their_own_answers() {
    let net = crate::synth::Network::generate(8, 160, 60, 3);
    let mut files = net.input_files();
    files.push(net.vuln_scan(200, 3));
    let ws = Workspace::load(files);
    let an = Analyzer::new(&ws);
    let hosts = super::exposure::scanned_hosts(&an);
    let targets: Vec<(IpAddr, u8, u16)> = hosts.iter().flat_map(|(_, h)| h.services.iter().map(move |s| (h.addrs[0], s.proto, s.port))).collect();
    let mut froms: Vec<IpAddr> = hosts.iter().map(|(_, h)| h.addrs[0]).collect();
    // A router's own address too: a source that is a device.
    froms.extend(an.network().devices[1].addrs.iter().map(|(n, _)| n.addr()).find(|a| !a.is_loopback()));
    let prepared = an.targets(&targets);
    let together = an.reach_targets_from(&froms, &prepared).unwrap();
    assert_eq!(together.len(), froms.len());
    let json = |v: &[(usize, FlowResult)]| serde_json::to_string(v).unwrap();
    for (f, got) in froms.iter().zip(&together) {
        let alone = an.reach_targets(&f.to_string(), &prepared).unwrap();
        assert_eq!(json(got), json(&alone), "from {f}");
    }
    let answered = together.iter().map(Vec::len).sum::<usize>();
    assert!(answered > 0 && answered < froms.len() * targets.len(), "{answered} of {}", froms.len() * targets.len());
    // Each answer is the flow's own verdict (none: denied), though each target address was
    // asked only its own services.
    for (f, got) in froms.iter().zip(&together).take(4) {
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "answers in the targets' order");
        for (ti, &(a, p, port)) in targets.iter().enumerate() {
            let flow = an.flow(&f.to_string(), &a.to_string(), &p.to_string(), &port.to_string(), None).unwrap();
            let answer = got.iter().find(|(k, _)| *k == ti).map_or(Verdict::Denied, |(_, r)| r.verdict);
            assert_eq!(answer, flow.verdict, "{f} -> {a} {p}/{port}");
        }
    }
}

/// The regions' lists by cell keep each slot's numbers in the order they were pushed, apart
/// from every other slot's.
#[test]
fn lists_keep_each_slot_in_push_order() {
    let mut l = super::Lists::new(4);
    let pushes = [(2, 7), (0, 1), (2, 3), (3, 9), (2, 5), (0, 4)];
    for &(slot, v) in &pushes {
        l.push(slot, v);
    }
    for slot in 0..5 {
        let want: Vec<usize> = pushes.iter().filter(|p| p.0 == slot).map(|p| p.1).collect();
        assert_eq!(l.iter(slot).collect::<Vec<_>>(), want, "slot {slot}");
        assert_eq!(l.last(slot), want.last().copied());
        assert_eq!(l.is_empty(slot), want.is_empty());
    }
}

#[test]
fn a_network_rebuilt_after_rule_edits_is_the_network_compiled_afresh() {
    use crate::whatif::{self, Edit};
    let net = crate::synth::Network::generate(12, 600, 120, 5);
    let mut inputs = net.input_files();
    inputs.push(net.vuln_scan(300, 5));
    // Two devices whose rules name addresses and ICMP types nothing else names, some on both
    // devices, some twice on one: deleting a rule unmakes a cut only when no other rule names it.
    for (dev, extra) in [("x1", "-A FORWARD -s 198.51.100.7/32 -j DROP\n-A FORWARD -d 203.0.113.0/28 -p icmp --icmp-type 13 -j DROP\n-A FORWARD -s 198.51.100.9 -j DROP\n-A FORWARD -s 198.51.100.9 -p tcp -j DROP\n"), ("x2", "-A FORWARD -s 198.51.100.7/32 -j ACCEPT\n-A FORWARD -p icmp --icmp-type 17 -j DROP\n-A FORWARD -d 192.0.2.128/25 -j DROP\n")] {
        inputs.push(crate::InputFile::new(format!("{dev}/rules.v4"), format!("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{extra}COMMIT\n")));
    }
    let ws = Workspace::load(inputs);
    let an = Analyzer::new(&ws);
    // Rules spread over the devices (each with its file and line), edited one or two at a time.
    let rules: Vec<(String, u32)> = ws
        .network
        .devices
        .iter()
        .flat_map(|d| d.firewall.iter().flat_map(|fw| fw.rulesets.iter().flat_map(|rs| rs.rules.iter())))
        .filter(|r| r.prov.line > 0)
        .map(|r| (r.prov.file.to_string(), r.prov.line))
        .enumerate()
        .filter(|(i, (f, _))| i % 7 == 0 || f.starts_with('x'))
        .flat_map(|(_, r)| if r.0.starts_with('x') { vec![r.clone(), r] } else { vec![r] })
        .collect();
    assert!(rules.len() > 50, "{} rules picked", rules.len());
    let (mut cuts_changed, mut icmp_changed, mut checked) = (0, 0, 0);
    for (k, (file, line)) in rules.iter().enumerate() {
        let twice = k > 0 && rules[k - 1] == rules[k];
        let mut edits = vec![match k % 3 {
            _ if twice => Edit::SetAction { file: file.clone(), line: *line, action: "accept".into() },
            0 if !file.starts_with('x') => Edit::SetAction { file: file.clone(), line: *line, action: "drop".into() },
            _ => Edit::DeleteRule { file: file.clone(), line: *line },
        }];
        if k % 5 == 0 {
            // A second device's rule in the same edit.
            let (f2, l2) = &rules[(k + rules.len() / 2) % rules.len()];
            edits.push(Edit::DeleteRule { file: f2.clone(), line: *l2 });
        }
        let changed = whatif::changed_devices(&ws, &edits).expect("rule edits name their devices");
        let (w2, unmatched) = whatif::apply(&ws, &edits);
        assert!(unmatched.is_empty(), "{unmatched:?}");
        let fresh = Analyzer::new(&w2);
        let rebuilt = Analyzer::rebuilt(&w2, &an, &changed);
        if let Err(e) = CNetwork::same_as(rebuilt.network(), fresh.network()) {
            panic!("after {edits:?}: {e}");
        }
        for (i, d) in rebuilt.network().devices.iter().enumerate() {
            assert_eq!(std::sync::Arc::ptr_eq(d, &an.network().devices[i]), !changed.contains(&i), "device {i} after {edits:?}");
        }
        // And back: the cuts the edit unmade are made again.
        let back = Analyzer::rebuilt(&ws, &rebuilt, &changed);
        if let Err(e) = CNetwork::same_as(back.network(), an.network()) {
            panic!("back from {edits:?}: {e}");
        }
        cuts_changed += usize::from(fresh.network().addr_cuts != an.network().addr_cuts);
        icmp_changed += usize::from(fresh.network().icmp_cuts != an.network().icmp_cuts);
        checked += 1;
    }
    assert!(cuts_changed > 1 && icmp_changed > 1, "of {checked} edits, {cuts_changed} changed the address cuts, {icmp_changed} the ICMP cuts");
    // Cuts set from outside, without counts: counted as pinned, nothing panics.
    let mut outside = an.network().clone();
    outside.addr_cuts = vec![1, 5, 9];
    outside.add_addr_cuts([7u128].into_iter());
    assert_eq!(outside.addr_cuts, vec![1, 5, 7, 8, 9]);
    let (w1, _) = whatif::apply(&ws, &[Edit::DeleteRule { file: rules[0].0.clone(), line: rules[0].1 }]);
    let changed = whatif::changed_devices(&ws, &[Edit::DeleteRule { file: rules[0].0.clone(), line: rules[0].1 }]).unwrap();
    assert!(outside.rebuild(&w1.network, &changed).is_some_and(|n| [1, 5, 7, 8, 9].iter().all(|c| n.addr_cuts.contains(c))));
    // More than rules changed: an interface address edited. Everything is compiled afresh.
    let mut moved = ws.clone();
    let d = moved.network.devices.iter_mut().find(|d| !d.interfaces.is_empty()).unwrap();
    d.interfaces[0].addresses = vec!["192.0.2.1/24".parse().unwrap()];
    let rebuilt = Analyzer::rebuilt(&moved, &an, &[0]);
    CNetwork::same_as(rebuilt.network(), Analyzer::new(&moved).network()).unwrap();
    assert!(rebuilt.network().devices.iter().zip(&an.network().devices).all(|(x, y)| !std::sync::Arc::ptr_eq(x, y)));
}

#[test]
fn a_device_change_names_the_rules_deleted_or_acting_otherwise() {
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 10.0.0.0/8 -j ACCEPT\n-A FORWARD -d 10.1.0.0/16 -p tcp --dport 22 -j DROP\n-A FORWARD -i eth1 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let ws = fw(rules, &[("eth0", "10.0.0.1/24"), ("eth1", "10.1.0.1/24")], &[]);
    let an = Analyzer::new(&ws);
    let old = &an.network().devices[0];
    let fwd = old.rulesets.iter().position(|r| r.name == "FORWARD").unwrap();
    let file = || "fw/rules.v4".to_string();
    let change = |edits: &[crate::whatif::Edit]| {
        let (w2, unmatched) = crate::whatif::apply(&ws, edits);
        assert!(unmatched.is_empty(), "{unmatched:?}");
        DeviceChange::between(0, old, &Analyzer::new(&w2).network().devices[0])
    };
    let only_forward = |c: DeviceChange, rules: Vec<u32>| {
        let rs = c.rulesets.expect("only rules differ");
        for (i, r) in rs.iter().enumerate() {
            let want = if i == fwd { RulesetChange { rules: rules.clone(), from: u32::MAX } } else { RulesetChange { rules: vec![], from: u32::MAX } };
            assert_eq!(r, &want, "ruleset {i}");
        }
    };
    // Nothing differs.
    only_forward(DeviceChange::between(0, old, &Analyzer::new(&ws).network().devices[0]), vec![]);
    // A rule deleted, or given another action, or both to two rules: their own indexes.
    use crate::whatif::Edit;
    only_forward(change(&[Edit::DeleteRule { file: file(), line: 6 }]), vec![1]);
    only_forward(change(&[Edit::SetAction { file: file(), line: 6, action: "accept".into() }]), vec![1]);
    only_forward(change(&[Edit::DeleteRule { file: file(), line: 5 }, Edit::SetAction { file: file(), line: 7, action: "drop".into() }]), vec![0, 2]);
    // A rule naming an interface the dump has: only rules differ. The only rule naming an
    // interface no dump has deleted: the device's interface table differs, so more than rules.
    only_forward(change(&[Edit::DeleteRule { file: file(), line: 7 }]), vec![2]);
    let ws_no_if = fw(rules, &[("eth0", "10.0.0.1/24")], &[]);
    let an_no_if = Analyzer::new(&ws_no_if);
    let (w3, _) = crate::whatif::apply(&ws_no_if, &[Edit::DeleteRule { file: file(), line: 7 }]);
    assert_eq!(DeviceChange::between(0, &an_no_if.network().devices[0], &Analyzer::new(&w3).network().devices[0]).rulesets, None);
    // Rules that differ otherwise (here: another rule's conditions) count from there on.
    let mut other = (**old).clone();
    other.rulesets[fwd].rules[1].set = PacketSet::full();
    assert_eq!(DeviceChange::between(0, old, &other).rulesets.unwrap()[fwd], RulesetChange { rules: vec![], from: 1 });

    // What a question passed: the packets to the destinations a deleted or changed rule held
    // for, or all of them when the ruleset was examined past a rule that differs otherwise, or
    // the device differs in more than rules.
    let d = |lo: u128, hi: u128| Ranges::range(lo, hi);
    let fwd = fwd as u32;
    let passed = Passed {
        devices: vec![0, 3],
        last_rules: vec![(0, fwd, 2), (3, 0, 9)],
        held: vec![(0, fwd, 0, d(10, 20)), (0, fwd, 2, d(30, 40)), (3, 0, 9, d(50, 60))],
    };
    let at = |device: usize, rs: Option<Vec<RulesetChange>>| [DeviceChange { device, rulesets: rs }];
    let ch = |rules: Vec<u32>, from: u32| {
        let mut v = vec![RulesetChange { rules: vec![], from: u32::MAX }; (fwd + 1) as usize];
        v[fwd as usize] = RulesetChange { rules, from };
        Some(v)
    };
    assert_eq!(passed.affected(&at(0, ch(vec![1], u32::MAX))), Affected::Nothing, "rule 1 held for no packet");
    assert_eq!(passed.affected(&at(0, ch(vec![0], u32::MAX))), Affected::Destinations(d(10, 20)));
    assert_eq!(passed.affected(&at(0, ch(vec![0, 2], u32::MAX))), Affected::Destinations(d(10, 20).union(&d(30, 40))));
    assert_eq!(passed.affected(&at(0, ch(vec![], 3))), Affected::Nothing, "rules 0 to 2 examined, 3 differs");
    assert_eq!(passed.affected(&at(0, ch(vec![], 2))), Affected::All);
    assert_eq!(passed.affected(&at(1, None)), Affected::Nothing, "device 1 not passed");
    assert_eq!(passed.affected(&at(3, None)), Affected::All, "device 3 passed, more than rules differ");
    assert_eq!(passed.affected(&at(3, Some(vec![]))), Affected::All, "a ruleset the change does not know about");
    // Taken over across a change of device 0: its rules count as examined and held throughout.
    let after = passed.renumbered(&at(0, ch(vec![1], u32::MAX)));
    assert_eq!(after.affected(&at(0, ch(vec![2], u32::MAX))), Affected::All);
    assert_eq!(after.affected(&at(3, Some(vec![RulesetChange { rules: vec![9], from: u32::MAX }]))), Affected::Destinations(d(50, 60)));
}

/// Every file under `dir` as an input, with its path relative to `dir`.
fn inputs_under(dir: &std::path::Path) -> Vec<InputFile> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push(InputFile::new(rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_targets_answer_does_not_depend_on_the_other_targets_asked() {
    let net = crate::synth::Network::generate(12, 600, 120, 5);
    let mut synth = net.input_files();
    synth.push(net.vuln_scan(300, 5));
    let scenario = inputs_under(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scenarios/attack"));
    let mut compared = 0;
    for inputs in [synth, scenario] {
        let ws = Workspace::load(inputs);
        let an = Analyzer::new(&ws);
        // Every scanned service, and other ports, protocols and ICMP types of every host.
        let hosts: Vec<&crate::model::Host> = ws.files.iter().flat_map(|f| f.parsed.content.hosts.iter()).collect();
        let mut targets: Vec<(IpAddr, u8, u16)> = Vec::new();
        for h in &hosts {
            for &a in &h.addrs {
                for s in &h.services {
                    targets.push((a, s.proto, s.port));
                }
                for t in [(a, 6, 22), (a, 6, 8443), (a, 17, 53), (a, 1, 8), (a, 1, 0)] {
                    targets.push(t);
                }
            }
        }
        targets.sort();
        targets.dedup();
        let shown = |w: &TargetWay| format!("{:?} {:?} {:?}", w.verdict, w.hops, w.uncertain);
        let mut froms: Vec<String> = an.default_origins().into_iter().map(|o| o.endpoint).collect();
        froms.push("any".into());
        let footholds: Vec<IpAddr> = hosts.iter().flat_map(|h| h.addrs.iter().copied()).step_by(5).take(6).collect();
        let all = an.targets(&targets);
        // Subsets: every third target, one host's, the first and the last half.
        let n = targets.len();
        let subsets: Vec<Vec<usize>> = vec![
            (0..n).step_by(3).collect(),
            (0..n).filter(|&i| targets[i].0 == targets[n / 2].0).collect(),
            (0..n / 2).collect(),
            (n / 2..n).collect(),
        ];
        for from in &froms {
            let Ok((full, _)) = an.reach_target_ways(from, &all) else { continue };
            for sub in &subsets {
                let list: Vec<_> = sub.iter().map(|&i| targets[i]).collect();
                let (part, _) = an.reach_target_ways(from, &an.targets(&list)).unwrap();
                let expect: Vec<(usize, String)> = full.iter().filter_map(|(i, w)| sub.iter().position(|x| x == i).map(|j| (j, shown(w)))).collect();
                let got: Vec<(usize, String)> = part.iter().map(|(j, w)| (*j, shown(w))).collect();
                assert_eq!(got, expect, "from {from}");
                compared += got.len();
            }
        }
        let (full, _) = an.reach_target_ways_from(&footholds, &all).unwrap();
        for sub in &subsets {
            let list: Vec<_> = sub.iter().map(|&i| targets[i]).collect();
            let (part, _) = an.reach_target_ways_from(&footholds, &an.targets(&list)).unwrap();
            for (f, (full, part)) in full.iter().zip(&part).enumerate() {
                let expect: Vec<(usize, String)> = full.iter().filter_map(|(i, w)| sub.iter().position(|x| x == i).map(|j| (j, shown(w)))).collect();
                let got: Vec<(usize, String)> = part.iter().map(|(j, w)| (*j, shown(w))).collect();
                assert_eq!(got, expect, "from {}", footholds[f]);
                compared += got.len();
            }
        }
    }
    assert!(compared > 1000, "{compared} answers compared");
}
