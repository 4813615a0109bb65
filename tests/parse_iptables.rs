//! Golden tests for the iptables-save parser: each fixture in `tests/golden/iptables/` is
//! detected by content, parsed, and its firewall model and diagnostics are snapshotted.
//!
//! `home-router.iptables-nft-save`, `server.ip6tables-save` and
//! `docker-host.iptables-legacy-save-c` are real tool output: the rules were loaded with
//! `iptables-restore` / `ip6tables-restore` / `iptables-legacy-restore` (iptables 1.8.9) into a
//! throwaway network namespace and dumped with `iptables-save`, `ip6tables-save` and
//! `iptables-legacy-save -c`. `unknown-constructs.rules` and `bare-rule-list.rules` are written
//! by hand to hold what the model does not follow and broken lines.

use std::path::{Path, PathBuf};

use portolan::diag::{codes, Diagnostic, FileStatus, Severity};
use portolan::model::{Action, AddrRange, Cond, Family, Firewall, Hook, NatTarget, Rule, Ruleset, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::report::ParseReport;
use portolan::{InputFile, Workspace};
use serde::Serialize;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/iptables")
}

fn load(name: &str) -> ParsedFile {
    let text = std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable");
    parse::parse(0, name, &text)
}

/// What a snapshot holds: the file's status and line counts, the firewall it lowers to and its
/// diagnostics.
#[derive(Serialize)]
struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
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
        firewall: p.content.firewall.as_deref(),
        diagnostics: &p.diags,
    }
}

fn fw(p: &ParsedFile) -> &Firewall {
    p.content.firewall.as_ref().expect("a firewall")
}

fn chain<'a>(p: &'a ParsedFile, table: &str, name: &str) -> &'a Ruleset {
    fw(p)
        .rulesets
        .iter()
        .find(|r| r.table == table && r.name == name)
        .unwrap_or_else(|| panic!("no chain {table}/{name}"))
}

fn index_of(p: &ParsedFile, table: &str, name: &str) -> usize {
    fw(p).rulesets.iter().position(|r| r.table == table && r.name == name).expect("chain")
}

fn codes_of(p: &ParsedFile) -> Vec<(u32, &'static str)> {
    p.diags.iter().map(|d| (d.line, d.code)).collect()
}

fn single(a: &str) -> AddrRange {
    AddrRange::single(a.parse().expect("address"))
}

/// A rule that is not fully modelled always has a warning on its line: unknown constructs are
/// never silent.
fn assert_unknowns_are_reported(p: &ParsedFile) {
    let Some(f) = &p.content.firewall else { return };
    for r in f.rulesets.iter().flat_map(|rs| &rs.rules) {
        let partial = !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_));
        if partial {
            assert!(
                p.diags.iter().any(|d| d.line == r.prov.line && d.severity >= Severity::Warning),
                "line {} is not fully modelled but has no warning: {}",
                r.prov.line,
                r.prov.text
            );
        }
    }
}

/// Every fixture has a test below (a new fixture without one fails here).
#[test]
fn every_fixture_is_tested() {
    let src = include_str!("parse_iptables.rs");
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
            assert_eq!($p.format, Format::IptablesSave, "detected format of {}", $file);
            assert_unknowns_are_reported(&$p);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(home_router, "home-router.iptables-nft-save", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    let f = fw(&p);
    assert!(f.stateful);
    assert!(f.rulesets.iter().all(|r| r.family == Family::V4));
    // 5 mangle + 2 raw + 6 filter + 4 nat chains; every built-in chain is hooked
    assert_eq!(f.rulesets.len(), 17);
    assert_eq!(f.hooks.len(), 14);
    let pre = index_of(&p, "nat", "PREROUTING");
    let h = f.hooks.iter().find(|h| h.ruleset == pre).expect("nat PREROUTING hooked");
    assert_eq!((h.hook, h.stage, h.priority), (Hook::Prerouting, Stage::DstNat, -100));
    let dnat = &chain(&p, "nat", "PREROUTING").rules;
    assert_eq!(dnat[0].action, Action::Dnat(NatTarget { addr: Some(single("192.168.1.10")), ports: Some((22, 22)) }));
    assert_eq!(dnat[0].conds[0], Cond::is(Test::InIface("ppp0".into())));
    assert_eq!(
        dnat[2].action,
        Action::Dnat(NatTarget {
            addr: Some(AddrRange { lo: "192.168.1.30".parse().unwrap(), hi: "192.168.1.31".parse().unwrap() }),
            ports: Some((27015, 27030)),
        })
    );
    assert_eq!(dnat[4].action, Action::Redirect(Some((5353, 5353))));
    let post = &chain(&p, "nat", "POSTROUTING").rules;
    assert_eq!(post[0].action, Action::Masquerade(None));
    assert_eq!(post[1].action, Action::Snat(NatTarget { addr: Some(single("192.168.1.1")), ports: None }));
    let fwd = &chain(&p, "filter", "FORWARD").rules;
    assert_eq!(fwd[2].action, Action::Goto(index_of(&p, "filter", "forwards")));
    assert_eq!(fwd[2].conds.last(), Some(&Cond::is(Test::CtStatus(8))));
    assert_eq!(chain(&p, "filter", "INPUT").default, Some(Action::Drop));
    assert_eq!(chain(&p, "filter", "logdrop").rules[0].action, Action::Continue("LOG".into()));
    assert_eq!(chain(&p, "raw", "PREROUTING").rules[0].action, Action::Notrack);
    assert_eq!(chain(&p, "mangle", "FORWARD").rules[0].action, Action::Continue("TCPMSS".into()));
    let ssh = &chain(&p, "filter", "wan-in").rules[1];
    assert_eq!(ssh.prov.line, 45);
    assert!(ssh.prov.text.contains("--comment \"ssh from the office only\""));
});

golden!(ipv6_server, "server.ip6tables-save", |p| {
    assert_eq!(p.status(), FileStatus::Partial, "the hop-limit matches are not modelled");
    assert_eq!(codes_of(&p), [(21, codes::UNMODELLED_MATCH), (22, codes::UNMODELLED_MATCH)]);
    let f = fw(&p);
    assert!(f.rulesets.iter().all(|r| r.family == Family::V6));
    assert!(f.hooks.iter().all(|h| h.family == Family::V6));
    let input = &chain(&p, "filter", "INPUT").rules;
    assert_eq!(input[3].action, Action::Jump(index_of(&p, "filter", "icmp6")));
    assert_eq!(input[3].conds, [Cond::is(Test::Proto(vec![58]))]);
    assert_eq!(input[7].action, Action::Reject("icmp6-adm-prohibited".into()));
    let icmp = &chain(&p, "filter", "icmp6").rules;
    assert_eq!(icmp[4].conds[1], Cond::is(Test::Icmp { ty: Some(128), code: None }));
    assert_eq!(icmp[5].unknown, ["-m hl --hl-eq 255"]);
    let services = &chain(&p, "filter", "services").rules;
    assert_eq!(
        services[3].conds[1],
        Cond::is(Test::Src(vec![AddrRange {
            lo: "2001:db8:1::10".parse().unwrap(),
            hi: "2001:db8:1::1f".parse().unwrap()
        }]))
    );
    assert!(services[4].conds[0].negated);
});

golden!(docker_host, "docker-host.iptables-legacy-save-c", |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    let pre = &chain(&p, "nat", "PREROUTING").rules;
    assert_eq!(pre[0].conds, [Cond::is(Test::DstLocal)]);
    assert_eq!(pre[0].action, Action::Jump(index_of(&p, "nat", "DOCKER")));
    assert_eq!(pre[0].prov.text, "[0:0] -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER");
    let docker_nat = &chain(&p, "nat", "DOCKER").rules;
    assert_eq!(docker_nat[1].conds[0], Cond::not(Test::InIface("docker0".into())));
    let user = &chain(&p, "filter", "DOCKER-USER").rules;
    assert_eq!(
        user[0].conds,
        [Cond::is(Test::Src(vec![AddrRange {
            lo: "10.99.0.0".parse().unwrap(),
            hi: "10.99.255.255".parse().unwrap()
        }]))]
    );
    assert_eq!(
        user[1].conds[2],
        Cond::not(Test::Src(vec![AddrRange { lo: "192.0.2.10".parse().unwrap(), hi: "192.0.2.20".parse().unwrap() }]))
    );
    // the same chain name in two tables is two rulesets
    assert_ne!(index_of(&p, "nat", "DOCKER"), index_of(&p, "filter", "DOCKER"));
});

golden!(unknown_constructs, "unknown-constructs.rules", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    let lines = |code: &str| -> Vec<u32> { p.diags.iter().filter(|d| d.code == code).map(|d| d.line).collect() };
    assert_eq!(lines(codes::UNRECOGNIZED), [45, 46, 47]);
    assert_eq!(lines(codes::UNDEFINED_REFERENCE), [40, 41, 44]);
    assert_eq!(lines(codes::STRUCTURE), [3, 9, 50, 51, 52, 53, 55]);
    let has = |l: u32, code: &str| p.diags.iter().any(|d| d.line == l && d.code == code);
    for l in (10..=27).chain([36]) {
        assert!(has(l, codes::UNMODELLED_MATCH), "line {l} has no unmodelled-match diagnostic");
    }
    for l in (28..=35).chain([48, 58, 60, 61]) {
        assert!(has(l, codes::BAD_VALUE), "line {l} has no bad-value diagnostic");
    }
    for l in [38, 39, 42, 43, 59, 62] {
        assert!(has(l, codes::UNMODELLED_TARGET), "line {l} has no unmodelled-target diagnostic");
    }
    // every rule of the filter table is kept, with what was understood of it
    let input = &chain(&p, "filter", "INPUT").rules;
    assert_eq!(input.len(), 35, "the two --ports rules are two model rules each");
    let set_rule = &input[1];
    assert_eq!(set_rule.unknown, ["-m set --match-set trusted src"]);
    assert_eq!(set_rule.conds, [Cond::is(Test::Proto(vec![6])), Cond::is(Test::Dport(vec![(22, 22)]))]);
    assert_eq!(set_rule.action, Action::Accept);
    let policy = &input[11];
    assert_eq!(policy.unknown, ["-m policy --dir in --pol ipsec"]);
    assert_eq!(policy.conds.len(), 2);
    // an undefined chain, a goto to a verdict, a target without its table: unknown actions
    for r in &input[32..] {
        assert!(matches!(r.action, Action::Unknown(_)), "{}", r.prov.text);
    }
    let known = index_of(&p, "filter", "known");
    assert_eq!(input[28].action, Action::Jump(known));
    assert_eq!(input[29].action, Action::Jump(known));
    // line 26: --ports is split, the second disjunction (--ctstate NEW,DNAT) stays unknown
    assert_eq!(input[16].unknown, ["-m conntrack --ctstate NEW,DNAT"]);
    assert_eq!(input[16].conds.last(), Some(&Cond::is(Test::Sport(vec![(53, 53)]))));
    assert_eq!(chain(&p, "filter", "known").rules[0].action, Action::Continue("counter".into()));
    // the unknown table's block is ignored; the unclosed nat block is read
    assert!(fw(&p).rulesets.iter().all(|r| r.table != "broute"));
    let nat = &chain(&p, "nat", "PREROUTING").rules;
    assert_eq!(nat.len(), 3);
    assert!(nat.iter().all(|r| matches!(r.action, Action::Unknown(_))));
    let report = ParseReport::build(&Workspace::load(vec![InputFile::new(
        "unknown-constructs.rules",
        std::fs::read_to_string(golden_dir().join("unknown-constructs.rules")).unwrap(),
    )]));
    let input_report = &report.inputs[0];
    assert_eq!(input_report.lines.unrecognized, p.lines_unrecognized());
    assert!(input_report.coverage < 30.0, "{}", input_report.coverage);
});

golden!(bare_rule_list, "bare-rule-list.rules", |p| {
    assert_eq!(p.status(), FileStatus::Partial, "the missing *table line is reported");
    assert_eq!(codes_of(&p), [(3, codes::STRUCTURE)]);
    let input = chain(&p, "filter", "INPUT");
    assert_eq!(input.default, Some(Action::Drop));
    assert_eq!(input.rules.len(), 2);
    let services = &chain(&p, "filter", "I_services").rules;
    assert_eq!(services[0].action, Action::Continue("counter".into()));
    assert_eq!(
        services[2].conds,
        [
            Cond::is(Test::Proto(vec![17])),
            Cond::is(Test::Dport(vec![(53, 53)])),
            Cond::is(Test::Src(vec![AddrRange {
                lo: "198.51.100.0".parse().unwrap(),
                hi: "198.51.100.255".parse().unwrap()
            }])),
        ]
    );
    assert_eq!(fw(&p).hooks.len(), 1);
});

/// A v4 and a v6 dump of one device, given as two files: one device, both families.
#[test]
fn workspace_merges_v4_and_v6_dumps() {
    let read = |n: &str| std::fs::read_to_string(golden_dir().join(n)).expect("fixture");
    let ws = Workspace::load(vec![
        InputFile::new("edge.v4", read("home-router.iptables-nft-save")),
        InputFile::new("edge.v6", read("server.ip6tables-save")),
    ]);
    assert_eq!(ws.network.devices.len(), 1);
    let f = ws.network.devices[0].firewall.as_ref().expect("firewall");
    assert_eq!(f.rulesets.len(), 17 + 5);
    let v6_input = f.rulesets.iter().position(|r| r.family == Family::V6 && r.name == "INPUT").expect("v6 INPUT");
    let icmp6 = f.rulesets.iter().position(|r| r.name == "icmp6").expect("icmp6 chain");
    assert_eq!(f.rulesets[v6_input].rules[3].action, Action::Jump(icmp6));
    let report = ParseReport::build(&ws);
    assert_eq!(report.inputs.len(), 2);
    assert_eq!(report.inputs[0].coverage, 100.0);
    assert_eq!(report.devices[0].rules, f.rulesets.iter().map(|r| r.rules.len()).sum::<usize>());
}

/// The rule count of a fixture, for the record: rules are one per `-A` line except `--ports`.
#[test]
fn rules_follow_append_lines() {
    for name in ["home-router.iptables-nft-save", "server.ip6tables-save", "docker-host.iptables-legacy-save-c"] {
        let text = std::fs::read_to_string(golden_dir().join(name)).expect("fixture");
        let appends = text.lines().filter(|l| l.contains("-A ")).count();
        let p = parse::parse(0, name, &text);
        let rules: Vec<&Rule> = fw(&p).rulesets.iter().flat_map(|r| &r.rules).collect();
        assert_eq!(rules.len(), appends, "{name}");
        let mut lines: Vec<u32> = rules.iter().map(|r| r.prov.line).collect();
        lines.dedup();
        assert_eq!(lines.len(), appends, "{name}: one rule per line");
    }
}
