//! Rule-hygiene checks: effective sets against a brute-force first-match evaluator on small
//! domains, and each check on a small ruleset.

use super::*;
use crate::diag::Provenance;
use crate::findings::effective::{device_effect, universe, Flow};
use crate::reach::{CRule, CRuleset, IfaceTable};
use crate::space::{Cube, Packet};
use proptest::prelude::*;

// The small domain: four source addresses, four destination ports, four connection states;
// every other dimension fixed (TCP, source port 0, no flags, interface 0).
const N: u128 = 4;

fn point(a: u128, b: u128, c: u128) -> Packet {
    let mut p = Packet::zero();
    p.set(Dim::Src, space::V4_BASE + a);
    p.set(Dim::Dst, space::V4_BASE);
    p.set(Dim::Proto, proto::TCP as u128);
    p.set(Dim::Dport, b);
    p.set(Dim::Ct, c);
    p
}

fn domain() -> Vec<Packet> {
    let mut v = Vec::new();
    for a in 0..N {
        for b in 0..N {
            for c in 0..N {
                v.push(point(a, b, c));
            }
        }
    }
    v
}

/// A cube inside the small domain.
fn cube_in(a: (u128, u128), b: (u128, u128), c: (u128, u128)) -> PacketSet {
    let mut k = Cube::full();
    k.set(Dim::Src, Ranges::range(space::V4_BASE + a.0.min(a.1), space::V4_BASE + a.0.max(a.1)));
    k.set(Dim::Dst, Ranges::single(space::V4_BASE));
    k.set(Dim::Proto, Ranges::single(proto::TCP as u128));
    k.set(Dim::Sport, Ranges::single(0));
    k.set(Dim::Dport, Ranges::range(b.0.min(b.1), b.0.max(b.1)));
    k.set(Dim::IcmpType, Ranges::single(0));
    k.set(Dim::IcmpCode, Ranges::single(0));
    k.set(Dim::TcpFlags, Ranges::single(0));
    k.set(Dim::Ct, Ranges::range(c.0.min(c.1), c.0.max(c.1)));
    k.set(Dim::Iif, Ranges::single(0));
    k.set(Dim::Oif, Ranges::single(0));
    PacketSet::from_cube(k)
}

fn rule(set: PacketSet, action: Action, unknown: bool, line: u32) -> CRule {
    CRule {
        set,
        flat: None,
        dims: 0,
        unknown: if unknown { vec!["-m mystery".into()] } else { vec![] },
        action,
        prov: Provenance { source: 0, file: "t.rules".into(), line, text: format!("rule {line}") },
    }
}

fn device(chains: Vec<(Option<Action>, Vec<CRule>)>) -> CDevice {
    let rulesets = chains
        .into_iter()
        .enumerate()
        .map(|(i, (default, rules))| CRuleset {
            name: format!("C{i}"),
            table: "filter".into(),
            default,
            default_prov: Provenance { source: 0, file: "t.rules".into(), line: 0, text: String::new() },
            rules,
        })
        .collect();
    CDevice {
        name: "t".into(),
        ifaces: IfaceTable::default(),
        has_iface_data: false,
        addrs: vec![],
        subnets: vec![],
        local: vec![],
        route_cuts: vec![],
        routes: vec![],
        route_at: vec![],
        rulesets,
        hooks: vec![],
        has_firewall: true,
        stateful: true,
    }
}

/// Brute force: evaluate one packet first-match, with `world` saying which rules with
/// unmodelled conditions match (wherever their modelled conditions hold) and `skip` a rule to
/// leave out. Records every (ruleset, rule) whose conditions held when reached. Returns the
/// deciding action: `Some(action)`, or `None` when the packet leaves the ruleset (returns).
fn brute(
    d: &CDevice,
    rs: usize,
    p: &Packet,
    world: &dyn Fn(RuleLoc) -> bool,
    skip: Option<RuleLoc>,
    seen: &mut Vec<RuleLoc>,
    decided_by: &mut Option<(RuleLoc, Action)>,
) -> Option<Action> {
    for (i, r) in d.rulesets[rs].rules.iter().enumerate() {
        let loc = RuleLoc { ruleset: rs, rule: i };
        if skip == Some(loc) || !r.set.contains(p) {
            continue;
        }
        if !r.unknown.is_empty() && !world(loc) {
            continue;
        }
        seen.push(loc);
        match &r.action {
            Action::Continue(_) => {}
            Action::Return => return None,
            Action::Jump(t) => {
                if let Some(a) = brute(d, *t, p, world, skip, seen, decided_by) {
                    return Some(a);
                }
            }
            Action::Goto(t) => return brute(d, *t, p, world, skip, seen, decided_by),
            a => {
                if decided_by.is_none() {
                    *decided_by = Some((loc, a.clone()));
                }
                return Some(a.clone());
            }
        }
    }
    None
}

fn final_decision(d: &CDevice, p: &Packet, world: &dyn Fn(RuleLoc) -> bool, skip: Option<RuleLoc>) -> Action {
    let mut seen = Vec::new();
    let mut by = None;
    brute(d, 0, p, world, skip, &mut seen, &mut by).unwrap_or_else(|| d.rulesets[0].default.clone().unwrap_or(Action::Accept))
}

fn arb_action(chain: usize) -> impl Strategy<Value = Action> {
    let jumps: Vec<usize> = ((chain + 1)..3).collect();
    (0u8..8, proptest::sample::select(if jumps.is_empty() { vec![0usize] } else { jumps.clone() })).prop_map(move |(k, t)| {
        let can_jump = chain < 2;
        match k {
            0 | 1 => Action::Accept,
            2 => Action::Drop,
            3 => Action::Reject(String::new()),
            4 => Action::Continue("LOG".into()),
            5 if chain > 0 => Action::Return,
            6 if can_jump => Action::Jump(t),
            7 if can_jump => Action::Goto(t),
            _ => Action::Drop,
        }
    })
}

fn arb_rule(chain: usize, with_unknown: bool) -> impl Strategy<Value = CRule> {
    (
        (0..N, 0..N),
        (0..N, 0..N),
        (0..N, 0..N),
        arb_action(chain),
        proptest::bool::weighted(if with_unknown { 0.2 } else { 0.0 }),
        0u32..1000,
    )
        .prop_map(|(a, b, c, act, unk, line)| rule(cube_in(a, b, c), act, unk, line))
}

fn arb_device(with_unknown: bool) -> impl Strategy<Value = CDevice> {
    (
        proptest::collection::vec(arb_rule(0, with_unknown), 1..7),
        proptest::collection::vec(arb_rule(1, with_unknown), 0..5),
        proptest::collection::vec(arb_rule(2, with_unknown), 0..5),
        any::<bool>(),
        0u8..6,
    )
        .prop_map(|(r0, r1, r2, accept, last)| {
            // Half the time the last chain ends with a decision on every packet (as a
            // LOG-and-drop chain does), so jumps to it never come back.
            let mut r2 = r2;
            let catch_all = [Action::Accept, Action::Drop, Action::Reject(String::new())];
            if let Some(a) = catch_all.get(last as usize) {
                r2.push(rule(PacketSet::from_cube(Cube::full()), a.clone(), false, 999));
            }
            device(vec![(Some(if accept { Action::Accept } else { Action::Drop }), r0), (None, r1), (None, r2)])
        })
}

fn effect(d: &CDevice) -> DeviceEffect {
    device_effect(d, &[Family::V4; 3], &[false; 3])
}

fn contains(f: &Flow, p: &Packet) -> (bool, bool) {
    (f.may.contains(p), f.must().contains(p))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// In every context, the rules' decided sets and the end are pairwise disjoint and cover
    /// exactly the packets that entered.
    #[test]
    fn effective_sets_partition_the_entry(d in arb_device(false)) {
        let e = effect(&d);
        for (ri, rs) in e.rulesets.iter().enumerate() {
            for x in &rs.ctxs {
                let mut parts: Vec<PacketSet> = rs.rules.iter()
                    .flat_map(|r| r.ctxs.iter().filter(|c| c.ctx == x.ctx).map(|c| c.decided.may.clone()))
                    .collect();
                parts.push(x.end.may.clone());
                for i in 0..parts.len() {
                    for j in (i + 1)..parts.len() {
                        prop_assert!(parts[i].intersect(&parts[j]).is_empty(), "ruleset {ri}: parts {i} and {j} overlap");
                    }
                }
                let all = parts.iter().fold(PacketSet::empty(), |acc, s| acc.union(s));
                prop_assert!(all.same_as(&x.entry.may), "ruleset {ri}: the parts do not cover the entry");
            }
        }
        // The root's entry is every packet of its family.
        prop_assert!(e.rulesets[0].ctxs[0].entry.may.same_as(&universe(Family::V4, 1, false)));
    }

    /// A packet is in a rule's matched set exactly when the brute-force walk reaches the rule
    /// with its conditions holding; in its decided set exactly when the rule decides it (or, for
    /// a jump, when it does not come back).
    #[test]
    fn effective_sets_agree_with_brute_force(d in arb_device(false)) {
        let e = effect(&d);
        for p in domain() {
            let mut seen = Vec::new();
            let mut by = None;
            brute(&d, 0, &p, &|_| false, None, &mut seen, &mut by);
            for (ri, rs) in e.rulesets.iter().enumerate() {
                for (i, r) in rs.rules.iter().enumerate() {
                    let loc = RuleLoc { ruleset: ri, rule: i };
                    let m = r.ctxs.iter().any(|c| c.matched.may.contains(&p));
                    prop_assert_eq!(m, seen.contains(&loc), "rule {:?} packet {:?}", loc, p.v);
                }
            }
            if let Some((loc, _)) = by {
                let r = &e.rulesets[loc.ruleset].rules[loc.rule];
                prop_assert!(r.ctxs.iter().any(|c| c.decided.may.contains(&p)));
            }
        }
    }

    /// With unmodelled conditions, for every reading (each such rule matching or not), the
    /// packets a rule matches lie between its lower and upper bound.
    #[test]
    fn bounds_hold_in_every_reading(d in arb_device(true)) {
        let e = effect(&d);
        let doubt: Vec<RuleLoc> = d.rulesets.iter().enumerate()
            .flat_map(|(ri, rs)| rs.rules.iter().enumerate().filter(|(_, r)| !r.unknown.is_empty()).map(move |(i, _)| RuleLoc { ruleset: ri, rule: i }))
            .collect();
        prop_assume!(doubt.len() <= 4);
        for w in 0..(1u32 << doubt.len()) {
            let world = |l: RuleLoc| doubt.iter().position(|x| *x == l).is_some_and(|k| w & (1 << k) != 0);
            for p in domain() {
                let mut seen = Vec::new();
                let mut by = None;
                brute(&d, 0, &p, &world, None, &mut seen, &mut by);
                for (ri, rs) in e.rulesets.iter().enumerate() {
                    for (i, r) in rs.rules.iter().enumerate() {
                        let loc = RuleLoc { ruleset: ri, rule: i };
                        let (may, must) = r.ctxs.iter().fold((false, false), |acc, c| {
                            let (a, b) = contains(&c.matched, &p);
                            (acc.0 || a, acc.1 || b)
                        });
                        let hit = seen.contains(&loc);
                        prop_assert!(!must || hit, "rule {:?}: packet {:?} in the lower bound but not matched in reading {w}", loc, p.v);
                        prop_assert!(!hit || may, "rule {:?}: packet {:?} matched in reading {w} but not in the upper bound", loc, p.v);
                    }
                }
            }
        }
    }

    /// Shadowed and redundant verdicts agree with brute force: a rule is reported shadowed
    /// exactly when no packet reaches it with its conditions holding, and redundant exactly when
    /// leaving it out changes no packet's final decision.
    #[test]
    fn verdicts_agree_with_brute_force(d in arb_device(false)) {
        let mut dd = crate::space::dd::Dd::new();
        let eff = crate::findings::effective::device_effect_dd_apart(&mut dd, &d, &[Family::V4; 3], &[false; 3]);
        let dev = Dev::new("t", &d, &mut dd, &eff, vec![true; 3], usize::MAX);
        let mut out = Vec::new();
        check_device(&dev, &mut dd, &mut out, usize::MAX, None, usize::MAX);
        let at = |code: &str, loc: RuleLoc| {
            let r = &d.rulesets[loc.ruleset].rules[loc.rule];
            out.iter().any(|f| f.code == code && f.line == r.prov.line && f.ruleset == format!("filter/C{}", loc.ruleset))
        };
        let pts = domain();
        let reached: Vec<usize> = dev.entered.iter().enumerate().filter(|(_, e)| **e).map(|(i, _)| i).collect();
        for &ri in &reached {
            for (i, r) in d.rulesets[ri].rules.iter().enumerate() {
                let loc = RuleLoc { ruleset: ri, rule: i };
                // Lines may repeat in generated rulesets: only judge rules whose line is unique.
                let unique = d.rulesets[ri].rules.iter().filter(|x| x.prov.line == r.prov.line).count() == 1;
                if !unique {
                    continue;
                }
                let matched: Vec<&Packet> = pts.iter().filter(|p| {
                    let mut seen = Vec::new();
                    let mut by = None;
                    brute(&d, 0, p, &|_| false, None, &mut seen, &mut by);
                    seen.contains(&loc)
                }).collect();
                prop_assert_eq!(at("R101", loc), matched.is_empty(), "shadowed verdict of {:?}", loc);
                if Step::of(&r.action) == Step::Decide && !matched.is_empty() {
                    let same = pts.iter().all(|p| final_decision(&d, p, &|_| false, None) == final_decision(&d, p, &|_| false, Some(loc)));
                    prop_assert_eq!(at("R102", loc), same, "redundant verdict of {:?}", loc);
                }
            }
        }
    }
}

/// Check a ruleset given as iptables-save text (device `fw`).
fn findings_of(text: &str) -> Vec<Finding> {
    let ws = Workspace::load(vec![crate::InputFile::new("fw/rules.v4", text)]);
    let net = CNetwork::build(&ws.network);
    check_rules(&ws, &net)
}

fn codes_at(f: &[Finding], code: &str) -> Vec<u32> {
    let mut v: Vec<u32> = f.iter().filter(|x| x.code == code).map(|x| x.line).collect();
    v.sort_unstable();
    v
}

#[test]
fn shadowed_rule_names_its_cover() {
    let f = findings_of(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -s 10.0.0.0/8 -j DROP\n\
         -A INPUT -s 10.1.0.0/16 -p tcp --dport 22 -j ACCEPT\n\
         COMMIT\n",
    );
    let s: Vec<&Finding> = f.iter().filter(|x| x.code == "R101").collect();
    assert_eq!(s.len(), 1, "{f:#?}");
    assert_eq!(s[0].line, 6);
    assert_eq!(s[0].severity, Severity::High);
    assert_eq!(s[0].related.len(), 1);
    assert_eq!(s[0].related[0].line, 5);
    assert_eq!(s[0].owner, "it");
    assert!(s[0].sets[0].text.starts_with("tcp/22 from 10.1.0.0/16"), "{}", s[0].sets[0].text);
}

#[test]
fn redundant_accept_before_accepting_default() {
    let f = findings_of(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp --dport 80 -j ACCEPT\n\
         -A INPUT -p tcp --dport 23 -j DROP\n\
         COMMIT\n",
    );
    assert_eq!(codes_at(&f, "R102"), vec![5], "{f:#?}");
    let r = f.iter().find(|x| x.code == "R102").unwrap();
    assert!(r.message.contains("default"), "{}", r.message);
}

#[test]
fn conflicting_overlap_says_which_part() {
    let f = findings_of(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -s 10.9.0.0/16 -j DROP\n\
         -A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT\n\
         COMMIT\n",
    );
    let c = f.iter().find(|x| x.code == "R104").expect("R104");
    assert_eq!(c.line, 6);
    assert_eq!(c.related[0].line, 5);
    assert!(c.sets[0].text.starts_with("tcp/22 from 10.9.0.0/16"), "{}", c.sets[0].text);
    assert!(c.sets[1].text.starts_with("tcp/22 from 10.0.0.0/8 except 10.9.0.0/16"), "{}", c.sets[1].text);
}

#[test]
fn permissive_and_unused_and_unknown() {
    let f = findings_of(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:orphan - [0:0]\n\
         -A INPUT -i lo -j ACCEPT\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp --dport 3389 -j ACCEPT\n\
         -A INPUT -p tcp --dport 1024:65535 -s 192.0.2.0/24 -j ACCEPT\n\
         -A INPUT -m mystery --thing -j ACCEPT\n\
         -A FORWARD -j ACCEPT\n\
         -A orphan -j DROP\n\
         COMMIT\n",
    );
    assert_eq!(codes_at(&f, "R103"), vec![8, 9, 11], "{f:#?}");
    assert_eq!(codes_at(&f, "R105"), vec![5]);
    assert_eq!(codes_at(&f, "R106"), vec![10]);
    let u = f.iter().find(|x| x.code == "R106").unwrap();
    assert_eq!(u.owner, "auditor");
    assert_eq!(u.certainty, Certainty::Possible);
    let fwd = f.iter().find(|x| x.code == "R103" && x.line == 11).unwrap();
    assert_eq!(fwd.severity, Severity::High);
}

#[test]
fn rules_after_an_unknown_catch_all_are_possibly_shadowed() {
    let f = findings_of(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m mystery --thing -j DROP\n\
         -A INPUT -p tcp --dport 443 -s 10.0.0.0/8 -j ACCEPT\n\
         COMMIT\n",
    );
    let s = f.iter().find(|x| x.code == "R101").expect("R101");
    assert_eq!(s.line, 6);
    assert_eq!(s.certainty, Certainty::Possible);
    assert_eq!(s.owner, "auditor");
    assert_eq!(s.depends_on.len(), 1);
}

#[test]
fn chain_called_twice_gets_the_union() {
    let ws = Workspace::load(vec![crate::InputFile::new(
        "fw/rules.v4",
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:common - [0:0]\n\
         -A INPUT -s 10.0.0.0/8 -j common\n\
         -A FORWARD -s 192.168.0.0/16 -j common\n\
         -A common -p tcp --dport 22 -j ACCEPT\n\
         COMMIT\n",
    )]);
    let net = CNetwork::build(&ws.network);
    let e = &device_effects(&ws, &net)[0];
    let ri = net.devices[0].rulesets.iter().position(|r| r.name == "common").unwrap();
    let r = &e.rulesets[ri].rules[0];
    assert_eq!(r.ctxs.len(), 2);
    let u = r.matched_may();
    let src = u.project(Dim::Src);
    assert_eq!(super::super::text::addr_set(&src), "10.0.0.0/8, 192.168.0.0/16");
}

fn same_flow(dd: &crate::space::dd::Dd, a: &Flow<crate::space::dd::Set>, b: &Flow) -> bool {
    dd.to_packet_set(a.may).same_as(&b.may) && dd.to_packet_set(*a.must()).same_as(b.must())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The walk on decision diagrams gives exactly the sets of the walk on cubes: every
    /// context, every rule's matched and decided bounds, every ruleset's entry, end and return.
    #[test]
    fn decision_diagrams_give_the_same_effective_sets(d in arb_device(true)) {
        let e = effect(&d);
        let mut dd = crate::space::dd::Dd::new();
        let f = crate::findings::effective::device_effect_dd(&mut dd, &d, &[Family::V4; 3], &[false; 3]);
        prop_assert_eq!(&e.contexts, &f.contexts);
        prop_assert_eq!(e.over_budget, f.over_budget);
        for (x, y) in e.rulesets.iter().zip(&f.rulesets) {
            prop_assert_eq!(x.ctxs.len(), y.ctxs.len());
            for (a, b) in x.ctxs.iter().zip(&y.ctxs) {
                prop_assert_eq!(a.ctx, b.ctx);
                prop_assert!(same_flow(&dd, &b.entry, &a.entry));
                prop_assert!(same_flow(&dd, &b.end, &a.end));
                prop_assert!(same_flow(&dd, &b.returned, &a.returned));
            }
            for (r, s) in x.rules.iter().zip(&y.rules) {
                prop_assert_eq!(r.not_followed, s.not_followed);
                // The cube walk skips contexts where nothing matches, and so does the diagram walk.
                prop_assert_eq!(r.ctxs.len(), s.ctxs.len());
                for (a, b) in r.ctxs.iter().zip(&s.ctxs) {
                    prop_assert_eq!(a.ctx, b.ctx);
                    prop_assert!(same_flow(&dd, &b.matched, &a.matched));
                    prop_assert!(same_flow(&dd, &b.decided, &a.decided));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// The walk that keeps rules' sets apart from their context's entry, and remainders as
    /// factors, gives the same sets once they are met: every context, every ruleset's entry
    /// (and end and return where they are made), every rule's matched and decided bounds, in
    /// the same contexts; and a set is kept apart only where it meets what it is kept apart
    /// from.
    #[test]
    fn sets_kept_apart_are_the_same_sets(d in prop_oneof![arb_device(true), arb_device(false)], made in any::<bool>()) {
        use crate::space::dd::Dd;
        let mut dd = Dd::new();
        let f = crate::findings::effective::device_effect_dd(&mut dd, &d, &[Family::V4; 3], &[false; 3]);
        // Entries of called rulesets made, or all kept apart.
        let budget = if made { crate::findings::effective::MAX_MADE_ENTRY } else { 0 };
        let g = crate::findings::effective::device_effect_dd_apart_within(&mut dd, &d, &[Family::V4; 3], &[false; 3], budget);
        prop_assert_eq!(&f.contexts, &g.contexts);
        prop_assert_eq!(f.over_budget, g.over_budget);
        use crate::findings::effective::met;
        for (x, y) in f.rulesets.iter().zip(&g.rulesets) {
            prop_assert_eq!(x.ctxs.len(), y.ctxs.len());
            for (a, b) in x.ctxs.iter().zip(&y.ctxs) {
                prop_assert_eq!(a.ctx, b.ctx);
                prop_assert!(a.apart.is_none());
                match &b.apart {
                    None => {
                        prop_assert_eq!((a.entry.may, a.end.may, a.returned.may), (b.entry.may, b.end.may, b.returned.may));
                        prop_assert_eq!((a.entry.must(), a.end.must(), a.returned.must()), (b.entry.must(), b.end.must(), b.returned.must()));
                    }
                    Some(w) => {
                        prop_assert_eq!(a.entry.may, met(&mut dd, b.entry.may, w));
                        prop_assert_eq!(*a.entry.must(), met(&mut dd, *b.entry.must(), w));
                    }
                }
            }
            for (r, s) in x.rules.iter().zip(&y.rules) {
                prop_assert_eq!(r.ctxs.len(), s.ctxs.len());
                for (a, b) in r.ctxs.iter().zip(&s.ctxs) {
                    prop_assert_eq!(a.ctx, b.ctx);
                    prop_assert!(a.within.is_empty());
                    let mut all = vec![b.matched.may];
                    all.extend_from_slice(&b.within);
                    prop_assert!(dd.meets_all(&all));
                    prop_assert_eq!(a.matched.may, met(&mut dd, b.matched.may, &b.within));
                    prop_assert_eq!(*a.matched.must(), met(&mut dd, *b.matched.must(), &b.within));
                    prop_assert_eq!(a.decided.may, met(&mut dd, b.decided.may, &b.within));
                    prop_assert_eq!(*a.decided.must(), met(&mut dd, *b.decided.must(), &b.within));
                }
            }
        }
    }
}

/// The findings of a device from the walk that makes every set (`None`) or from the one that
/// keeps sets apart, making called rulesets' entries within `Some(budget)` nodes.
fn device_findings(d: &CDevice, apart: Option<usize>) -> String {
    let mut dd = crate::space::dd::Dd::new();
    let eff = match apart {
        None => crate::findings::effective::device_effect_dd(&mut dd, d, &[Family::V4; 3], &[false; 3]),
        Some(b) => crate::findings::effective::device_effect_dd_apart_within(&mut dd, d, &[Family::V4; 3], &[false; 3], b),
    };
    let dev = Dev::new("t", d, &mut dd, &eff, vec![true; 3], usize::MAX);
    let mut out = Vec::new();
    check_device(&dev, &mut dd, &mut out, usize::MAX, None, usize::MAX);
    serde_json::to_string(&out).expect("findings serialize")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The checks give the same findings, texts and witnesses included, whether the sets they
    /// read are made or kept apart.
    #[test]
    fn findings_do_not_depend_on_sets_kept_apart(d in prop_oneof![arb_device(true), arb_device(false)]) {
        let made = device_findings(&d, None);
        prop_assert_eq!(&made, &device_findings(&d, Some(crate::findings::effective::MAX_MADE_ENTRY)));
        prop_assert_eq!(&made, &device_findings(&d, Some(0)));
    }
}

#[test]
fn a_set_kept_apart_is_made_only_within_the_room_left() {
    use crate::space::dd::{Dd, Set};
    let mut dd = Dd::new();
    let mut cube = |d: Dim, lo: u128, hi: u128| {
        let mut c = Cube::full();
        c.set(d, Ranges::range(lo, hi));
        dd.cube(&c)
    };
    let (a, b) = (cube(Dim::Dst, 10, 20), cube(Dim::Dport, 22, 80));
    let both = dd.and(a, b);
    let mut fresh = Dd::new();
    let (fa, fb) = (fresh.from_packet_set(&dd.to_packet_set(a)), fresh.from_packet_set(&dd.to_packet_set(b)));
    let tight = Room::new(fresh.bytes());
    assert_eq!(tight.met(&mut fresh, fa, &[fb]), Set::EMPTY);
    assert!(tight.over.get(), "no room: the checks are over");
    let wide = Room::new(usize::MAX);
    let made = wide.met(&mut fresh, fa, &[fb]);
    assert!(!wide.over.get());
    assert!(fresh.to_packet_set(made).same_as(&dd.to_packet_set(both)));
    // Nothing kept apart: nothing to make.
    assert_eq!(tight.met(&mut fresh, fa, &[]), fa);
}

#[test]
fn a_device_whose_checks_outgrow_the_budget_gets_one_note_instead_of_some_findings() {
    let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -s 10.0.0.0/8 -j DROP\n\
                -A INPUT -s 10.1.0.0/16 -p tcp --dport 22 -j ACCEPT\n\
                -A INPUT -p tcp --dport 23 -j ACCEPT\n\
                COMMIT\n";
    let ws = Workspace::load(vec![crate::InputFile::new("fw/rules.v4", text)]);
    let net = CNetwork::build(&ws.network);
    let all = check_rules_within(&ws, &net, usize::MAX, usize::MAX);
    assert!(all.iter().any(|f| f.code == "R101") && all.iter().any(|f| f.code == "R103"), "{all:?}");
    let cut = check_rules_within(&ws, &net, usize::MAX, 1);
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert_eq!(cut[0].code, "R106");
    assert!(cut[0].message.contains("its checks stopped at the budget"), "{}", cut[0].message);
}

/// Checks that drop what they made after every rule ([`Dd::release`], and their texts with
/// [`Words::release`]) report what checks that keep everything do, byte for byte: a generated ruleset whose findings describe sets met
/// with the entries of chains called by interface.
#[test]
fn findings_do_not_depend_on_what_the_checks_keep() {
    let ws = Workspace::load(crate::synth::Estate::generate(600, 3).input_files());
    let net = CNetwork::build(&ws.network);
    let kept = check_rules_keeping(&ws, &net, usize::MAX, usize::MAX, Some(usize::MAX), usize::MAX);
    let codes: std::collections::BTreeSet<&str> = kept.iter().map(|f| f.code).collect();
    assert!(["R101", "R102", "R103", "R104"].iter().all(|c| codes.contains(c)), "{codes:?}");
    let kept = serde_json::to_string(&kept).unwrap();
    // Sets dropped after every rule, with the texts kept or forgotten too.
    for max_texts in [usize::MAX, 0] {
        let dropped = check_rules_keeping(&ws, &net, usize::MAX, usize::MAX, Some(0), max_texts);
        assert_eq!(kept, serde_json::to_string(&dropped).unwrap(), "texts kept up to {max_texts}");
    }
}

#[test]
fn a_device_over_the_rule_gate_gets_one_note_instead_of_rule_findings() {
    let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -s 10.0.0.0/8 -j DROP\n\
                -A INPUT -s 10.1.0.0/16 -p tcp --dport 22 -j ACCEPT\n\
                COMMIT\n";
    let ws = Workspace::load(vec![crate::InputFile::new("fw/rules.v4", text)]);
    let net = CNetwork::build(&ws.network);
    let gated = super::check_rules_up_to(&ws, &net, 1);
    assert_eq!(gated.len(), 1, "{gated:#?}");
    assert_eq!((gated[0].code, gated[0].severity, gated[0].owner.as_str()), ("R106", Severity::Info, "auditor"));
    assert!(gated[0].message.contains("it has 2 rules, more than the 1 the per-rule analysis takes on"), "{}", gated[0].message);
    // At the gate itself the rules are analysed.
    assert_eq!(codes_at(&super::check_rules_up_to(&ws, &net, 2), "R101"), vec![6]);
}

#[test]
fn exceptions_before_a_broader_rule_are_not_conflicts() {
    // Accepts carved out of a catch-all deny, and a host allowed before its network is denied:
    // the earlier rules lie inside the later one, which is how exceptions are written.
    let f = findings_of(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -s 10.1.2.3/32 -p tcp --dport 22 -j ACCEPT\n\
         -A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j DROP\n\
         -A INPUT -p tcp --dport 443 -j ACCEPT\n\
         -A INPUT -j DROP\n\
         COMMIT\n",
    );
    assert_eq!(codes_at(&f, "R104"), Vec::<u32>::new(), "{f:#?}");
    // An earlier accept reaching beyond the deny's conditions still conflicts with it.
    let f = findings_of(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp --dport 22 -j ACCEPT\n\
         -A INPUT -s 10.0.0.0/8 -j DROP\n\
         COMMIT\n",
    );
    let c: Vec<&Finding> = f.iter().filter(|x| x.code == "R104").collect();
    assert_eq!(c.len(), 1, "{f:#?}");
    assert_eq!((c[0].line, c[0].severity), (6, Severity::Medium));
    assert_eq!(c[0].sets[0].text, "tcp/22 from 10.0.0.0/8 to any IPv4");
}
