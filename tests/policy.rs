//! Policy checks (`portolan check`, the manifest's `policy`) on the attack scenario with the
//! policy written for it (`tests/golden/policy/policy.yaml`).

use std::path::Path;

#[path = "support/inputs.rs"]
mod inputs;

use portolan::policy::{self, CheckReport};
use portolan::reach::Analyzer;
use portolan::report::{Certainty, Verdict};
use portolan::whatif::{self, Edit};
use portolan::{InputFile, Workspace};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/attack");
const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/policy/policy.yaml");


fn workspace(manifest: &str) -> Workspace {
    let v = inputs::dir_inputs(Path::new(SCENARIO), &["portolan.yaml"]);
    Workspace::load_with_manifest(v, Some(InputFile::new("policy.yaml", manifest)))
}

fn check(ws: &Workspace) -> CheckReport {
    policy::check(&Analyzer::new(ws))
}

fn status<'a>(r: &'a CheckReport, id: &str) -> &'a str {
    r.entries.iter().find(|e| e.id == id).map(|e| e.status.as_str()).unwrap_or_else(|| panic!("no entry {id}: {:?}", r.entries))
}

#[test]
fn every_kind_of_entry_holds_or_breaks_as_the_configs_say() {
    let r = check(&workspace(&std::fs::read_to_string(POLICY).unwrap()));
    // The reporting rule on the core lets workstations reach the database.
    assert_eq!(status(&r, "NO-LAN-DB"), "violated");
    let v = r.violations.iter().find(|v| v.id == "NO-LAN-DB").unwrap();
    assert_eq!((v.kind.as_str(), v.owner.as_str(), v.certainty), ("must-not-reach", "it", Certainty::Definite));
    assert_eq!((v.witness.dst.as_str(), v.witness.port), ("10.20.2.5", Some(5432)));
    assert!(v.hops.iter().any(|h| h.rule.as_ref().is_some_and(|r| &*r.file == "core/core.iptables" && r.line == 13)));
    assert_eq!(v.set, "tcp port 5432 from lan to 10.20.2.5");
    // Nothing on the Internet reaches the application servers.
    assert_eq!(status(&r, "NO-INET-APPS"), "holds");
    // The shop is reached directly and through the edge's port forward: both are violations.
    let shop: Vec<_> = r.violations.iter().filter(|v| v.id == "NO-INET-SHOP").collect();
    assert_eq!(shop.len(), 2, "{shop:?}");
    assert!(shop.iter().any(|v| v.witness.dst == "203.0.113.2" && v.message.contains("port forward") && v.hops.iter().any(|h| h.nat.iter().any(|n| n.kind == "dnat"))));
    // The application reaches its database; staff cannot test the shop from the office.
    assert_eq!(status(&r, "APP-DB"), "holds");
    assert_eq!(status(&r, "LAN-SHOP"), "violated");
    let v = r.violations.iter().find(|v| v.id == "LAN-SHOP").unwrap();
    assert_eq!(v.kind, "must-reach");
    assert!(v.message.contains("blocked") && v.message.contains("edge/edge.iptables:4"), "{}", v.message);
    // The vendor's scope: SSH to the application server is inside V1 and outside V2.
    assert_eq!(status(&r, "V1"), "holds");
    assert_eq!(status(&r, "V2"), "violated");
    let v = r.violations.iter().find(|v| v.id == "V2").unwrap();
    assert_eq!((v.owner.as_str(), v.witness.dst.as_str(), v.witness.port), ("vendor", "10.20.1.10", Some(22)));
    assert_eq!(r.violations.iter().filter(|v| v.id == "V2").count(), 1, "the vendor's own subnet is not its reach");
    // The zone matrix: the LAN → data pair is not listed, so the reporting rule breaks it; the
    // listed pairs hold; LAN → DMZ tcp/80 is allowed by the policy but blocked by the configs.
    assert_eq!(status(&r, "matrix:zone:lan->zone:data"), "violated");
    for pair in ["matrix:internet->zone:dmz", "matrix:zone:dmz->zone:apps", "matrix:zone:apps->zone:data", "matrix:zone:lan->zone:apps", "matrix:zone:lan->zone:dmz", "matrix:zone:lan->internet"] {
        assert_eq!(status(&r, pair), "holds", "{pair}");
    }
    assert_eq!(r.unused.len(), 1, "{:?}", r.unused);
    assert_eq!((r.unused[0].id.as_str(), r.unused[0].service.as_str(), r.unused[0].owner.as_str()), ("matrix:zone:lan->zone:dmz", "tcp/80", "management"));
}

#[test]
fn every_witness_gets_the_verdict_its_violation_claims() {
    let ws = workspace(&std::fs::read_to_string(POLICY).unwrap());
    let an = Analyzer::new(&ws);
    let r = policy::check(&an);
    assert!(r.violations.len() >= 5);
    for v in &r.violations {
        let w = &v.witness;
        let port = w.port.map(|p| p.to_string()).unwrap_or_default();
        let got = an.flow(&w.src, &w.dst, &w.proto, &port, w.sport.map(|p| p as u16)).unwrap();
        let want: &[Verdict] = match (v.kind.as_str(), v.certainty) {
            ("must-reach", Certainty::Definite) => &[Verdict::Denied],
            (_, Certainty::Definite) => &[Verdict::Allowed],
            _ => &[Verdict::Possibly],
        };
        assert!(want.contains(&got.verdict), "{} {}: witness {w:?} is {:?}", v.id, v.message, got.verdict);
    }
}

#[test]
fn removing_the_rules_a_violation_names_makes_it_disappear() {
    let ws = workspace(&std::fs::read_to_string(POLICY).unwrap());
    let r = check(&ws);
    // One violation of each kind (each check of the whole policy takes a while in debug builds).
    let mut kinds = std::collections::BTreeSet::new();
    for v in r.violations.iter().filter(|v| v.kind != "must-reach" && kinds.insert(v.kind.clone())) {
        let edits: Vec<Edit> = v
            .hops
            .iter()
            .filter(|h| h.direction == "forward")
            .filter_map(|h| h.rule.as_ref())
            .filter(|r| r.line > 0 && &*r.action == "accept")
            .map(|r| Edit::DeleteRule { file: r.file.to_string(), line: r.line })
            .collect();
        assert!(!edits.is_empty(), "{}: no rule named", v.id);
        let (w2, miss) = whatif::apply(&ws, &edits);
        assert!(miss.is_empty(), "{miss:?}");
        let after = check(&w2);
        assert!(!after.violations.iter().any(|x| x.id == v.id && x.set == v.set), "{} ({}) survives deleting {edits:?}", v.id, v.set);
    }
}

#[test]
fn a_policy_that_holds_reports_no_violation_and_no_policy_checks_nothing() {
    let m = "hosts:\n  - {name: app, ip: 10.20.1.10}\n  - {name: db, ip: 10.20.2.5}\npolicy:\n  must_reach:\n    - {id: APP-DB, from: app, to: db, services: [tcp/5432]}\n  must_not_reach:\n    - {id: NO-INET-DB, from: internet, to: db, services: [any]}\n";
    let r = check(&workspace(m));
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert_eq!(r.entries.iter().map(|e| (e.id.as_str(), e.status.as_str())).collect::<Vec<_>>(), [("NO-INET-DB", "holds"), ("APP-DB", "holds")]);
    let v = inputs::dir_inputs(Path::new(SCENARIO), &["portolan.yaml"]);
    let r = check(&Workspace::load(v));
    assert!(r.manifest.is_none() && r.entries.is_empty());
}

#[test]
fn an_entry_naming_an_unknown_zone_is_left_out_with_a_diagnostic_and_the_rest_is_checked() {
    let m = "policy:\n  must_not_reach:\n    - {id: X, from: internet, to: zone:nowhere, services: [any]}\n    - {id: Y, from: internet, to: 10.20.2.5, services: [any]}\n";
    let ws = workspace(m);
    let diags: Vec<String> = ws.files.iter().filter(|f| f.path == "policy.yaml").flat_map(|f| f.parsed.diags.iter()).map(|d| format!("{}: {} {}", d.line, d.text, d.reason)).collect();
    assert!(diags.iter().any(|d| d.starts_with("3:") && d.contains("nowhere")), "{diags:?}");
    let r = check(&ws);
    assert_eq!(r.entries.iter().map(|e| (e.id.as_str(), e.status.as_str())).collect::<Vec<_>>(), [("Y", "holds")]);
}
