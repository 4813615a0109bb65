//! What-if as the page asks it: edits given as JSON, the edited inputs analysed again and
//! compared with the analysis as the inputs are (`whatif::compare`).

#[path = "support/inputs.rs"]
mod inputs;

use std::path::Path;

use portolan::reach::Analyzer;
use portolan::report::AnalyzeReport;
use portolan::whatif::{self, Edit};
use portolan::Workspace;

fn sample(name: &str) -> Workspace {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/samples").join(name);
    Workspace::load(inputs::dir_inputs(&dir, &[]))
}

fn edits(json: &str) -> Vec<Edit> {
    serde_json::from_str(json).expect("edits")
}

#[test]
fn deleting_a_forward_rule_removes_its_exposure_and_nothing_else() {
    let ws = sample("edge-fw");
    let an = Analyzer::new(&ws);
    let origins = an.default_origins();
    let before = AnalyzeReport::build(&an, &origins);
    // Line 20 lets the Internet's tcp/2222 forward through to the LAN build host's SSH.
    let e = edits(r#"[{"edit": "delete-rule", "file": "edge-fw.iptables", "line": 20}]"#);
    let c = whatif::compare(&an, &origins, &before, &e);
    assert!(c.unmatched.is_empty(), "{:?}", c.unmatched);
    assert_eq!(c.edits[0].description, "delete the rule at edge-fw.iptables:20");
    // Both ways to the build host's SSH go: the forward (203.0.113.2 tcp/2222) and the routed
    // address itself (10.0.0.50 tcp/22).
    let mut removed: Vec<(String, String, String)> =
        c.diff.exposures_removed.iter().map(|x| (x.exposure.origin.clone(), x.exposure.ip.clone(), x.changed_ports.clone())).collect();
    removed.sort();
    let want = |ip: &str, port: &str| ("internet".to_string(), ip.to_string(), port.to_string());
    assert_eq!(removed, vec![want("10.0.0.50", "22"), want("203.0.113.2", "2222")], "{removed:?}");
    assert!(c.diff.exposures_added.is_empty());
    assert_eq!(c.after.exposures + 2, before.exposure.exposures.len());
    // As JSON, each edit carries its kind, its fields and its description.
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["edits"][0]["edit"], "delete-rule");
    assert_eq!(v["edits"][0]["line"], 20);
    assert!(v["diff"]["exposures_removed"].is_array());
}

#[test]
fn changing_an_action_adds_exposure_and_an_edit_that_matches_nothing_is_named() {
    let ws = sample("edge-fw");
    let an = Analyzer::new(&ws);
    let origins = an.default_origins();
    let before = AnalyzeReport::build(&an, &origins);
    // Line 25 rejects DMZ → LAN; accepting it opens the LAN to the DMZ's origin only, not to the
    // Internet, so the Internet's exposure is unchanged; line 14 (ident) accepted instead of
    // rejected adds tcp/113 on the firewall itself.
    let e = edits(r#"[{"edit": "set-action", "file": "edge-fw.iptables", "line": 14, "action": "accept"},
                      {"edit": "delete-rule", "file": "edge-fw.iptables", "line": 999}]"#);
    let c = whatif::compare(&an, &origins, &before, &e);
    assert_eq!(c.unmatched.len(), 1, "{:?}", c.unmatched);
    assert!(c.unmatched[0].contains("edge-fw.iptables:999"), "{:?}", c.unmatched);
    assert!(
        c.diff.exposures_added.iter().any(|x| x.exposure.origin == "internet" && x.exposure.proto == "tcp" && x.changed_ports == "113"),
        "{:?}",
        c.diff.exposures_added.iter().map(|x| (&x.exposure.ip, &x.changed_ports)).collect::<Vec<_>>()
    );
    assert!(c.diff.exposures_removed.is_empty());
}

#[test]
fn closing_a_service_cuts_the_attack_paths_through_it() {
    let ws = sample("dmz-db-vendor");
    let an = Analyzer::new(&ws);
    let origins = an.default_origins();
    let before = AnalyzeReport::build(&an, &origins);
    assert!(!before.attack.attack_paths.is_empty());
    // Every path's first step from the Internet: close that service.
    let first = &before.attack.attack_paths.iter().find(|p| p.origin == "internet").expect("an Internet path").steps[0];
    let proto = match first.proto.as_str() {
        "tcp" => 6,
        "udp" => 17,
        other => panic!("{other}"),
    };
    let json = format!(r#"[{{"edit": "close-port", "addr": "{}", "proto": {proto}, "port": {}}}]"#, first.to, first.port);
    let c = whatif::compare(&an, &origins, &before, &edits(&json));
    assert!(c.unmatched.is_empty(), "{:?}", c.unmatched);
    assert!(!c.diff.paths_removed.is_empty(), "closing {} {}/{} removes no path", first.to, first.proto, first.port);
    assert!(c
        .diff
        .paths_removed
        .iter()
        .all(|p| p.steps.iter().any(|s| s.to == first.to && s.port == first.port) || p.origin != "internet"));
    // No edit: nothing changes.
    let none = whatif::compare(&an, &origins, &before, &[]);
    assert!(none.diff.is_empty(), "{:?}", none.diff.exposures_added.len());
}

#[test]
fn malformed_edits_are_refused_when_read() {
    for bad in [r#"[{"edit": "delete-rule", "file": "x"}]"#, r#"[{"edit": "explode"}]"#, r#"[{"edit": "close-port", "addr": "not-an-ip", "proto": 6, "port": 22}]"#, r#"[{"edit": "close-port", "addr": "10.0.0.1", "proto": 6, "port": 70000}]"#] {
        assert!(serde_json::from_str::<Vec<Edit>>(bad).is_err(), "{bad}");
    }
}
