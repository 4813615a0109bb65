//! Agreement with Batfish's reference answers for the networks in the shared corpus
//! (`../shared/corpus`, Apache-2.0 files from the Batfish repository): `portolan test` against
//! Batfish's testFilters on the Linux hosts of its example network.

use std::path::PathBuf;

use portolan::reach::{Analyzer, TestRow};
use portolan::{InputFile, Workspace};

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

#[test]
fn test_filters_match_batfish_on_example_hosts() {
    let Some(c) = corpus() else { return };
    let live = c.join("cisco-ios/batfish/example-live");
    let files: Vec<InputFile> = ["host1.iptables", "host2.iptables"]
        .iter()
        .map(|f| {
            let p = live.join("iptables").join(f);
            InputFile { path: f.to_string(), bytes: std::fs::read(&p).unwrap() }
        })
        .collect();
    let ws = Workspace::load(files);
    let an = Analyzer::new(&ws);
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(live.join("expected/testfilters.ref")).unwrap()).unwrap();
    let rows = reference[0]["rows"].as_array().unwrap();
    assert!(rows.len() >= 6);
    for r in rows {
        let node = r["Node"]["name"].as_str().unwrap();
        let filter = r["Filter_Name"].as_str().unwrap().replace("::", "/");
        let flow = &r["Flow"];
        let row = TestRow {
            src: flow["srcIp"].as_str().unwrap().into(),
            dst: flow["dstIp"].as_str().unwrap().into(),
            proto: flow["ipProtocol"].as_str().unwrap().to_ascii_lowercase(),
            port: flow["dstPort"].to_string(),
            sport: flow["srcPort"].as_u64().map(|p| p as u16),
            in_iface: Some(String::new()),
            out_iface: Some(String::new()),
            state: flow["state"].as_str().map(str::to_string),
        };
        let a = an.test_filter(&format!("{node}:{filter}"), &row).unwrap();
        let want = match r["Action"].as_str().unwrap() {
            "PERMIT" => "allowed",
            "DENY" => "denied",
            other => panic!("unexpected action {other}"),
        };
        assert_eq!(a.verdict, want, "{node} {filter}: {a:?}");
        let line = r["Line_Content"].as_str().unwrap();
        let rule = a.rule.unwrap();
        if line == "default" {
            assert!(rule.action.starts_with("default"), "{node} {filter}: {rule:?}");
        } else {
            assert_eq!(rule.text, line, "{node} {filter}");
        }
    }
}
