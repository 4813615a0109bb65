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

#[test]
fn an_iptables_rule_rewritten_in_its_source_line_changes_what_it_allows() {
    let ws = sample("edge-fw");
    let an = Analyzer::new(&ws);
    let origins = an.default_origins();
    let before = AnalyzeReport::build(&an, &origins);
    // Line 20 forwards the Internet to the build host's SSH; rewritten for port 2200.
    let line = ws.files.iter().find(|f| f.path == "edge-fw.iptables").expect("the rules").text.lines().nth(19).expect("line 20").to_string();
    assert!(line.contains("--dport 22 "), "{line}");
    let text = line.replace("--dport 22 ", "--dport 2200 ");
    let e = vec![Edit::ReplaceLines { file: "edge-fw.iptables".into(), line: 20, count: 1, text: text.clone() }];
    let c = whatif::compare(&an, &origins, &before, &e);
    assert!(c.unmatched.is_empty(), "{:?}", c.unmatched);
    assert_eq!(c.reread.len(), 1);
    assert!(c.reread[0].diagnostics.is_empty(), "{:?}", c.reread[0].diagnostics);
    assert_eq!(c.edits[0].description, format!("rewrite edge-fw.iptables:20 as {text:?}"));
    let ports = |xs: &[portolan::report::diff::ExposureChange]| {
        let mut v: Vec<(String, String)> = xs.iter().filter(|x| x.exposure.origin == "internet").map(|x| (x.exposure.ip.clone(), x.changed_ports.clone())).collect();
        v.sort();
        v
    };
    // The SSH exposures go (routed and forwarded), the new port on the build host comes.
    assert_eq!(ports(&c.diff.exposures_removed), vec![("10.0.0.50".to_string(), "22".to_string()), ("203.0.113.2".to_string(), "2222".to_string())]);
    assert_eq!(ports(&c.diff.exposures_added), vec![("10.0.0.50".to_string(), "2200".to_string())]);

    // As the page sends it, and back as JSON with the reader's verdict.
    let json = serde_json::json!([{"edit": "replace-lines", "file": "edge-fw.iptables", "line": 20, "count": 1, "text": text}]).to_string();
    let v = serde_json::to_value(whatif::compare(&an, &origins, &before, &edits(&json))).unwrap();
    assert_eq!(v["edits"][0]["edit"], "replace-lines");
    assert_eq!(v["reread"][0]["diagnostics"], serde_json::json!([]));
}

#[test]
fn a_rewritten_line_the_reader_does_not_understand_gives_its_diagnostics() {
    let ws = sample("edge-fw");
    let an = Analyzer::new(&ws);
    let origins = an.default_origins();
    let before = AnalyzeReport::build(&an, &origins);
    let bad = "-A FORWARD -d 10.0.0.50/32 -p tcp -m tcp --dport twenty-two -j ACCEPT";
    let e = vec![Edit::ReplaceLines { file: "edge-fw.iptables".into(), line: 20, count: 1, text: bad.into() }];
    let c = whatif::compare(&an, &origins, &before, &e);
    assert!(c.unmatched.is_empty(), "{:?}", c.unmatched);
    let d = &c.reread[0].diagnostics;
    assert!(!d.is_empty(), "no diagnostic for {bad:?}");
    assert!(d.iter().all(|x| x.line == 20 && x.text.contains("twenty-two")), "{d:?}");
    // Lines that are not in the file, or edited twice, are named; nothing panics.
    for (line, count) in [(0, 1), (999, 1), (50, u32::MAX)] {
        let e = vec![Edit::ReplaceLines { file: "edge-fw.iptables".into(), line, count, text: "x".into() }];
        let c = whatif::compare(&an, &origins, &before, &e);
        assert_eq!(c.unmatched.len(), 1, "{line} {count}: {:?}", c.unmatched);
        assert!(c.diff.is_empty());
    }
    let twice = vec![
        Edit::ReplaceLines { file: "edge-fw.iptables".into(), line: 19, count: 2, text: String::new() },
        Edit::ReplaceLines { file: "edge-fw.iptables".into(), line: 20, count: 1, text: "# gone".into() },
        Edit::ReplaceLines { file: "nowhere.iptables".into(), line: 1, count: 1, text: "# gone".into() },
    ];
    let c = whatif::compare(&an, &origins, &before, &twice);
    assert_eq!(c.unmatched.len(), 2, "{:?}", c.unmatched);
    assert!(c.unmatched[0].contains("already edited") && c.unmatched[1].contains("no input file"), "{:?}", c.unmatched);
}

#[test]
fn other_edits_follow_the_lines_a_replacement_moved() {
    let ws = sample("edge-fw");
    let (w0, _) = whatif::apply(&ws, &[]);
    let rules_at = |w: &Workspace| -> Vec<u32> {
        let fw = w.network.devices.iter().find_map(|d| d.firewall.as_ref()).expect("a firewall");
        let mut v: Vec<u32> = fw.rulesets.iter().flat_map(|r| r.rules.iter()).filter(|r| r.prov.file == "edge-fw.iptables").map(|r| r.prov.line).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let lines0 = rules_at(&w0);
    assert!(lines0.contains(&21) && lines0.contains(&22), "{lines0:?}");
    // Line 19 becomes two lines, so the inputs' line 21 is line 22 of the edited file: deleting
    // the rule at 21 (as given) deletes that one, and a rule on a replaced line is out of reach.
    let line19 = ws.files.iter().find(|f| f.path == "edge-fw.iptables").unwrap().text.lines().nth(18).unwrap().to_string();
    let e = vec![
        Edit::ReplaceLines { file: "edge-fw.iptables".into(), line: 19, count: 1, text: format!("{line19}\n{}", line19.replace("--dport 443", "--dport 8443")) },
        Edit::DeleteRule { file: "edge-fw.iptables".into(), line: 21 },
        Edit::SetAction { file: "edge-fw.iptables".into(), line: 19, action: "drop".into() },
    ];
    let (w, unmatched, reread) = whatif::apply_with(&ws, &e, whatif::Inputs::default());
    assert_eq!(unmatched.len(), 1, "{unmatched:?}");
    assert!(unmatched[0].contains("rewritten by another edit"), "{unmatched:?}");
    assert!(reread[0].diagnostics.is_empty(), "{:?}", reread[0].diagnostics);
    let lines = rules_at(&w);
    assert!(lines.contains(&19) && lines.contains(&20), "{lines:?}");
    assert!(!lines.contains(&22), "the inputs' line 21 (now 22) is deleted: {lines:?}");
    assert!(lines.contains(&21) && lines.contains(&23), "{lines:?}");
    // The inputs are untouched.
    assert_eq!(rules_at(&ws), lines0);
}

/// Every rule of the block-structured vendor fixtures spans exactly its block for the rule
/// editor: the span starts at the rule's line and ends at the line closing it.
#[test]
fn the_rule_editor_takes_each_rule_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (path, closes) in [
        ("fortigate/vdom-link.conf", &(|l: &str| l == "next") as &dyn Fn(&str) -> bool),
        ("junos/srx-edge.conf", &|l: &str| l.ends_with('}')),
        ("panos/edge.xml", &|l: &str| l.starts_with("</")),
        ("pfsense/edge.xml", &|l: &str| l.starts_with("</")),
    ] {
        let text = std::fs::read_to_string(root.join(path)).expect("fixture");
        let ws = Workspace::load(vec![portolan::InputFile::new(path, text.clone())]);
        let lines: Vec<&str> = text.lines().collect();
        let mut multi = 0;
        let mut seen = std::collections::BTreeSet::new();
        for d in &ws.network.devices {
            for rs in d.firewall.iter().flat_map(|f| f.rulesets.iter()) {
                for r in &rs.rules {
                    if r.prov.line == 0 || !seen.insert(r.prov.line) {
                        continue;
                    }
                    let span = whatif::rule_span(&text, r.prov.line);
                    if span > 1 {
                        multi += 1;
                        let last = lines[(r.prov.line + span - 2) as usize].trim();
                        assert!(closes(last), "{path}:{}: span {span} ends at {last:?}", r.prov.line);
                    }
                }
            }
        }
        assert!(multi > 0 && multi * 2 >= seen.len(), "{path}: {multi} of {} rules span their block", seen.len());
    }
}
