//! Files that describe several devices (a FortiGate file with several VDOMs): the workspace
//! makes one device per part, `portolan analyze` and `portolan parse` show each with its own
//! rules, and a topology manifest names a part with `FILE#PART`. The fixture is
//! `tests/golden/fortigate/vdom-link.conf` (written for these tests).

use std::process::{Command, Output};

use portolan::diag::{codes, Severity};
use portolan::{InputFile, Workspace};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/fortigate/vdom-link.conf");

fn fixture() -> String {
    std::fs::read_to_string(FIXTURE).expect("fixture is readable")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portolan")).args(args).output().expect("run portolan")
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&String::from_utf8_lossy(&o.stdout)).expect("JSON output")
}

fn names(ws: &Workspace) -> Vec<&str> {
    ws.network.devices.iter().map(|d| d.name.as_str()).collect()
}

/// The workspace of the fixture and a manifest.
fn with_manifest(manifest: &str) -> Workspace {
    Workspace::load(vec![InputFile::new("site/vdom-link.conf", fixture()), InputFile::new("site/portolan.yaml", manifest)])
}

fn manifest_warnings(ws: &Workspace) -> Vec<String> {
    let m = ws.files.iter().find(|f| f.path.ends_with("portolan.yaml")).expect("the manifest");
    m.parsed.diags.iter().filter(|d| d.severity >= Severity::Warning).map(|d| format!("{} {}", d.code, d.reason)).collect()
}

#[test]
fn analyze_shows_each_vdom_as_a_device_with_its_own_rules() {
    let v = json(&run(&["analyze", "--format", "json", FIXTURE]));
    let devices = v["devices"].as_array().expect("devices");
    let by = |n: &str| devices.iter().find(|d| d["name"] == n).unwrap_or_else(|| panic!("no device {n}: {devices:?}")).clone();
    assert_eq!(devices.len(), 2);
    let (root, lab) = (by("hq-fw/root"), by("hq-fw/lab"));
    for d in [&root, &lab] {
        assert_eq!(d["files"], serde_json::json!([FIXTURE]));
    }
    let ifs = |d: &serde_json::Value| d["interfaces"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ifs(&root), ["wan1 203.0.113.2/24", "internal 10.0.0.1/24", "vl0 10.255.0.1/30", "spare0"]);
    assert_eq!(ifs(&lab), ["lab1 10.50.0.1/24", "vl1 10.255.0.2/30", "spare1"]);
    // Each has its own policies: root's three plus its VIP, NAT and admin access; lab's three.
    assert_eq!((root["rulesets"].as_u64(), root["unknown_rules"].as_u64()), (Some(4), Some(0)));
    assert_eq!((lab["rulesets"].as_u64(), lab["unknown_rules"].as_u64()), (Some(2), Some(1)));
    // The inter-VDOM link joins the two devices on its subnet.
    let links = v["topology"]["links"].as_array().expect("links");
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["a"], serde_json::json!({"device": "hq-fw/lab", "interface": "vl1"}));
    assert_eq!(links[0]["b"], serde_json::json!({"device": "hq-fw/root", "interface": "vl0"}));
    assert_eq!((links[0]["subnet"].as_str(), links[0]["source"].as_str()), (Some("10.255.0.0/30"), Some("subnet")));
    // The one input names both devices.
    let input = &v["inputs"][0];
    assert_eq!(input["devices"], serde_json::json!(["hq-fw/lab", "hq-fw/root"]));
    assert_eq!(input["device"], "hq-fw/lab, hq-fw/root");
    assert_eq!(input["lines"]["unrecognized"], 2);
    // The VIP's exposure passes root's policy, then lab's.
    let ex = v["exposures"].as_array().expect("exposures");
    let web = ex.iter().find(|e| e["ip"] == "203.0.113.10" && e["ports"] == "443").expect("the web VIP is exposed");
    let hops: Vec<(String, u64)> = web["hops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["direction"] == "forward")
        .map(|h| (h["device"].as_str().unwrap().to_string(), h["rule"]["line"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(hops, [("hq-fw/root".to_string(), 98), ("hq-fw/lab".to_string(), 163)]);
    // Findings name the VDOM device their rule belongs to.
    let findings = v["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["device"] == "hq-fw/lab" && f["line"] == 37), "{findings:?}");
    assert!(findings.iter().all(|f| f["device"] != "hq-fw"));
    // The text output counts two devices for one input.
    let o = run(&["analyze", FIXTURE]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("1 inputs (1 not fully understood), 2 devices"));
}

#[test]
fn query_by_vdom_device_name() {
    // From the lab VDOM itself to the LAN: out of lab over the link, then root has no policy
    // from vl0 to internal and its implicit deny drops the packet.
    let o = run(&["query", "--json", "--from", "device:hq-fw/lab", "--to", "10.0.0.5", "--proto", "tcp", "--port", "22", FIXTURE]);
    let v = json(&o);
    assert_eq!(v["verdict"], "denied", "{v}");
    let hops = v["results"][0]["hops"].as_array().expect("hops");
    let devs: Vec<&str> = hops.iter().map(|h| h["device"].as_str().unwrap()).collect();
    assert_eq!(devs, ["hq-fw/lab", "hq-fw/root"]);
    assert_eq!((hops[1]["in_iface"].as_str(), hops[1]["outcome"].as_str()), (Some("vl0"), Some("dropped")));
}

#[test]
fn manifest_names_one_part_with_file_hash_part() {
    let ws = with_manifest("devices:\n  lab-fw:\n    files: [\"vdom-link.conf#lab\"]\n    owner: vendor\n");
    assert_eq!(names(&ws), ["hq-fw/root", "lab-fw"]);
    assert!(manifest_warnings(&ws).is_empty(), "{:?}", manifest_warnings(&ws));
    let f = &ws.files[0];
    assert_eq!(f.devices, ["hq-fw/root", "lab-fw"]);
    // The part keeps its model: lab1 and the link's end.
    let lab = ws.network.device("lab-fw").expect("lab-fw");
    assert_eq!(lab.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["lab1", "vl1", "spare1"]);
    assert_eq!(lab.sources, [0]);
}

#[test]
fn manifest_pattern_of_the_whole_file_names_each_part_under_its_device() {
    let ws = with_manifest("devices:\n  edge:\n    files: [site/*.conf]\n");
    assert_eq!(names(&ws), ["edge/lab", "edge/root"]);
    assert!(manifest_warnings(&ws).is_empty(), "{:?}", manifest_warnings(&ws));
}

#[test]
fn manifest_part_that_no_file_has_is_reported() {
    let ws = with_manifest("devices:\n  x:\n    files: [\"vdom-link.conf#dmz\"]\n  y:\n    files: [\"vdom-link.conf#root\"]\n  z:\n    files: [\"*.conf#root\"]\n");
    let w = manifest_warnings(&ws);
    assert!(w.iter().any(|m| m.starts_with(codes::UNDEFINED_REFERENCE) && m.contains("\"vdom-link.conf#dmz\"")), "{w:?}");
    // Two devices claim the root part: the first in name order has it, with a warning.
    assert!(w.iter().any(|m| m.contains("site/vdom-link.conf#root matches the files of devices y, z; it belongs to y")), "{w:?}");
    assert_eq!(names(&ws), ["hq-fw/lab", "y"]);
}

#[test]
fn parts_of_a_file_without_host_name_are_named_by_the_file() {
    let t = fixture().replace("    set hostname \"hq-fw\"\n", "");
    let ws = Workspace::load(vec![InputFile::new("dc1.conf", t)]);
    assert_eq!(names(&ws), ["dc1/lab", "dc1/root"]);
    assert_eq!(ws.files[0].device.as_deref(), Some("dc1/lab, dc1/root"));
}

#[test]
fn other_files_still_make_one_device_each() {
    // An iptables file next to the FortiGate file keeps its own device, named by its stem.
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let ws = Workspace::load(vec![InputFile::new("vdom-link.conf", fixture()), InputFile::new("jump.iptables", rules)]);
    assert_eq!(names(&ws), ["hq-fw/lab", "hq-fw/root", "jump"]);
    assert_eq!(ws.files[1].device.as_deref(), Some("jump"));
    assert_eq!(ws.files[1].devices, ["jump"]);
}

#[test]
fn a_rule_line_names_the_vdom_device_that_holds_it() {
    let ws = Workspace::load(vec![InputFile::new("vdom-link.conf", fixture())]);
    // Policy 3 of the root VDOM starts at line 108, policy 1 of the lab VDOM at line 153.
    assert_eq!(ws.device_at("vdom-link.conf", 108), Some("hq-fw/root"));
    assert_eq!(ws.device_at("vdom-link.conf", 153), Some("hq-fw/lab"));
    // A line with no rule in a file of several devices names none of them.
    assert_eq!(ws.device_at("vdom-link.conf", 1), None);
    // A file of one device names it by path alone.
    let one = Workspace::load(vec![InputFile::new("fw.rules", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n")]);
    assert_eq!(one.device_at("fw.rules", 99), Some(one.network.devices[0].name.as_str()));
}

#[test]
fn findings_name_implicit_rules_without_a_line_zero() {
    // FortiOS's implicit deny and local-in defaults have no line of their own: a finding names
    // them by their text, never as `file:0`.
    let v = json(&run(&["analyze", "--format", "json", FIXTURE]));
    let findings = v["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    for f in findings {
        let m = f["message"].as_str().unwrap_or_default();
        assert!(!m.contains(":0 (") && !m.contains("(:0)"), "{m}");
    }
}

#[test]
fn a_finding_at_a_built_in_rule_says_so_instead_of_file_zero() {
    let o = run(&["analyze", FIXTURE]);
    let text = String::from_utf8_lossy(&o.stdout);
    let findings: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with('R')).collect();
    assert!(findings.iter().any(|l| l.contains(" built in [hq-fw/")), "{text}");
    assert!(!findings.iter().any(|l| l.contains(":0 [")), "{text}");
}

#[test]
fn sarif_gives_a_built_in_rule_no_file_location() {
    let v = json(&run(&["analyze", "--format", "sarif", FIXTURE]));
    let results = v["runs"][0]["results"].as_array().expect("results");
    let mut built_in = 0;
    for r in results {
        let loc = &r["locations"][0];
        assert!(loc["logicalLocations"][0]["name"].is_string(), "{r}");
        match loc.get("physicalLocation") {
            Some(p) => assert_ne!(p["artifactLocation"]["uri"], "", "{r}"),
            None => built_in += 1,
        }
    }
    assert!(built_in > 0, "the fixture has findings at FortiOS's built-in rules");
}
