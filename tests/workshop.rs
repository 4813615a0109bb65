//! The workshop questions bundled with the page's sample networks
//! (`www/samples/workshops/<id>.json`, named by `samples/index.json`'s `workshop`): every
//! answer is checked against what the core computes from the sample's files — an exposure, an
//! attack path, a policy violation, a finding or a query's verdict — so an answer cannot drift
//! from the analysis the page shows.

use std::path::{Path, PathBuf};

use portolan::reach::{Analyzer, QueryRequest};
use portolan::report::AnalyzeReport;
use portolan::{InputFile, Workspace};
use serde_json::Value;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/samples")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// The sample's files as the page's worker hands them to the core: named by their path below
/// samples/, the `manifest` read as the manifest.
fn load(info: &Value) -> Workspace {
    let read = |name: &str| InputFile { path: name.to_string(), bytes: std::fs::read(samples_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}")) };
    let files = info["files"].as_array().expect("files").iter().map(|f| read(f.as_str().expect("file name"))).collect();
    let manifest = info.get("manifest").and_then(Value::as_str).map(read);
    Workspace::load_with_manifest(files, manifest)
}

fn port_listed(ports: &str, port: u64) -> bool {
    ports == "any"
        || ports.split(',').any(|p| {
            let (a, b) = p.split_once('-').unwrap_or((p, p));
            matches!((a.trim().parse::<u64>(), b.trim().parse::<u64>()), (Ok(a), Ok(b)) if a <= port && port <= b)
        })
}

/// Whether `check` holds; the reason when it does not.
fn holds(an: &Analyzer, rep: &AnalyzeReport, check: &Value) -> Result<(), String> {
    let wanted_certainty = check.get("certainty").and_then(Value::as_str);
    let certainty_ok = |c: &dyn erased::Ser| wanted_certainty.is_none_or(|w| c.json() == w);
    match text(check, "kind") {
        "exposure" => {
            let port = check["port"].as_u64().ok_or("exposure check without a port")?;
            let found = rep.exposure.exposures.iter().any(|e| {
                e.origin == text(check, "origin") && e.ip == text(check, "ip") && e.proto == text(check, "proto") && port_listed(&e.ports, port) && certainty_ok(&e.certainty)
            });
            if found { Ok(()) } else { Err("no such exposure".into()) }
        }
        "query" => {
            let port = text(check, "port");
            let req = QueryRequest {
                from: text(check, "from").into(),
                to: text(check, "to").into(),
                proto: text(check, "proto").into(),
                port: (!port.is_empty()).then(|| port.to_string()),
                ..Default::default()
            };
            let r = an.query(&req)?;
            let got = serde_json::to_value(r.verdict).map_err(|e| e.to_string())?;
            if got == text(check, "verdict") { Ok(()) } else { Err(format!("the verdict is {got}")) }
        }
        "path" => {
            let via: Vec<&str> = check["via"].as_array().ok_or("path check without via")?.iter().filter_map(Value::as_str).collect();
            let found = rep.attack.attack_paths.iter().any(|p| {
                let hosts: Vec<String> = p.steps.iter().map(|s| s.to.to_string()).collect();
                p.origin == text(check, "origin")
                    && p.target == text(check, "target")
                    && hosts.len() == via.len() + 1
                    && hosts.iter().zip(&via).all(|(h, v)| h == v)
            });
            if found { Ok(()) } else { Err("no such attack path".into()) }
        }
        "violation" => {
            let found = rep.violations.iter().any(|v| v.id == text(check, "id") && certainty_ok(&v.certainty));
            if found { Ok(()) } else { Err("no such violation".into()) }
        }
        "finding" => {
            let line = check["line"].as_u64().ok_or("finding check without a line")?;
            let found = rep.findings.iter().any(|f| f.code == text(check, "code") && f.device == text(check, "device") && u64::from(f.line) == line);
            if found { Ok(()) } else { Err("no such finding".into()) }
        }
        other => Err(format!("unknown check kind {other:?}")),
    }
}

/// A value's JSON text without quotes (how a certainty reads in a workshop file).
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
        }
    }
}

#[test]
fn every_workshop_answer_matches_the_analysis() {
    let index: Value = serde_json::from_slice(&std::fs::read(samples_dir().join("index.json")).unwrap()).unwrap();
    let mut workshops = 0;
    let mut failures = Vec::new();
    for info in index["samples"].as_array().expect("samples") {
        let Some(file) = info.get("workshop").and_then(Value::as_str) else { continue };
        workshops += 1;
        let doc: Value = serde_json::from_slice(&std::fs::read(samples_dir().join(file)).unwrap()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!text(&doc, "title").is_empty());
        let questions = doc["questions"].as_array().expect("questions");
        assert!(questions.len() >= 3, "{file}: {} questions", questions.len());
        let ws = load(info);
        let an = Analyzer::new(&ws);
        let rep = AnalyzeReport::build(&an, &an.default_origins());
        for (i, q) in questions.iter().enumerate() {
            for key in ["question", "hint", "answer"] {
                assert!(!text(q, key).trim().is_empty(), "{file} question {}: empty {key}", i + 1);
            }
            let checks = q["checks"].as_array().expect("checks");
            assert!(!checks.is_empty(), "{file} question {}: no check", i + 1);
            for c in checks {
                if let Err(why) = holds(&an, &rep, c) {
                    failures.push(format!("{file} question {} ({}): {c}: {why}", i + 1, text(q, "question")));
                }
            }
        }
    }
    assert!(workshops >= 3, "{workshops} samples have workshop questions");
    assert!(failures.is_empty(), "answers that do not match the analysis:\n{}", failures.join("\n"));
}

#[test]
fn a_wrong_answer_is_caught() {
    // The checks can fail: the edge firewall does not expose tcp/2223, and the DMZ may not SSH
    // into the LAN.
    let index: Value = serde_json::from_slice(&std::fs::read(samples_dir().join("index.json")).unwrap()).unwrap();
    let info = index["samples"].as_array().unwrap().iter().find(|s| s["id"] == "edge-fw").unwrap();
    let ws = load(info);
    let an = Analyzer::new(&ws);
    let rep = AnalyzeReport::build(&an, &an.default_origins());
    let wrong = [
        serde_json::json!({"kind": "exposure", "origin": "internet", "ip": "203.0.113.2", "proto": "tcp", "port": 2223}),
        serde_json::json!({"kind": "query", "from": "192.168.10.20", "to": "10.0.0.50", "proto": "tcp", "port": "22", "verdict": "allowed"}),
        serde_json::json!({"kind": "path", "origin": "internet", "target": "10.0.0.50", "via": []}),
        serde_json::json!({"kind": "violation", "id": "NOPE"}),
        serde_json::json!({"kind": "finding", "code": "R103", "device": "edge-fw", "line": 9999}),
        serde_json::json!({"kind": "guess"}),
    ];
    for c in wrong {
        assert!(holds(&an, &rep, &c).is_err(), "{c} should not hold");
    }
}
