//! Agreement with Batfish's reference answers for the networks in the shared corpus
//! (`../shared/corpus`, Apache-2.0 files from the Batfish repository): `portolan test` against
//! Batfish's testFilters on the Linux hosts of its example network, and the layer-3 topology of
//! that whole network (IOS routers, host files, host rules) against Batfish's topology.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
            assert_eq!(&*rule.text, line, "{node} {filter}");
        }
    }
}

/// Every file under `dir`, with its path as given.
fn inputs_under(dir: &Path) -> Vec<InputFile> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(InputFile { path: p.display().to_string(), bytes: std::fs::read(&p).unwrap() });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[test]
fn topology_matches_batfish_on_example_network() {
    let Some(c) = corpus() else { return };
    let live = c.join("cisco-ios/batfish/example-live");
    let files: Vec<InputFile> =
        ["configs", "hosts", "iptables"].iter().flat_map(|d| inputs_under(&live.join(d))).collect();
    let ws = Workspace::load(files);
    // Thirteen IOS routers and two hosts, each host joined with the rules file it names.
    assert_eq!(ws.network.devices.len(), 15, "{:?}", ws.network.devices.iter().map(|d| &d.name).collect::<Vec<_>>());
    let host1 = ws.network.device("host1").unwrap();
    assert!(host1.firewall.is_some() && host1.routes.iter().any(|r| r.dst.prefix_len() == 0));
    let ours: BTreeSet<[(String, String); 2]> = portolan::topology::infer(&ws.network, None)
        .links
        .into_iter()
        .map(|l| [(l.a.device, l.a.interface), (l.b.device, l.b.interface)])
        .collect();
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(live.join("expected/topology.ref")).unwrap()).unwrap();
    let ids: std::collections::BTreeMap<&str, (String, String)> = reference["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let node = i["nodeId"].as_str().unwrap().trim_start_matches("node-").to_string();
            (i["id"].as_str().unwrap(), (node, i["name"].as_str().unwrap().to_string()))
        })
        .collect();
    let theirs: BTreeSet<[(String, String); 2]> = reference["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let mut e = [ids[l["srcId"].as_str().unwrap()].clone(), ids[l["dstId"].as_str().unwrap()].clone()];
            e.sort();
            e
        })
        .collect();
    assert_eq!(theirs.len(), 19);
    let missing: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
}
