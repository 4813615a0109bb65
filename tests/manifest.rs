//! Topology manifest: the documented example and its JSON twin, every kind of error with its
//! line and field path, hostile documents, detection by content, the published JSON Schema, and
//! device grouping by the manifest's file patterns.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use portolan::diag::{codes, render, Diagnostic, Severity};
use portolan::manifest::{self, Endpoint, EndpointRef, Manifest, Role, ServiceSpec, Value};
use portolan::parse::{self, Format};
use portolan::{InputFile, Workspace};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    let full = root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn rendered(file: &str, diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().map(|d| render(file, d)).collect()
}

/// The manifest as JSON without lines and file name, to compare documents written differently.
fn shape(m: &Manifest) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("line");
                map.remove("file");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(m).unwrap();
    strip(&mut v);
    v
}

#[test]
fn example_reads_without_a_single_diagnostic() {
    let text = read("examples/portolan.yaml");
    assert_eq!(parse::detect(&text), Format::Manifest);
    let (m, diags) = manifest::read("examples/portolan.yaml", &text);
    assert!(diags.is_empty(), "{:#?}", rendered("portolan.yaml", &diags));
    let m = m.expect("read");
    assert_eq!(m.file, "examples/portolan.yaml");
    assert_eq!(m.crown_jewels.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(), ["db", "zone:lan", "192.168.10.20"]);
    assert_eq!(m.crown_jewels[1].endpoint, Endpoint::Zone("lan".into()));
    assert_eq!(m.origins.len(), 2);
    assert_eq!(m.origins[0].name, "vendor");
    assert_eq!(m.origins[0].role, Some(Role::Vendor));
    assert_eq!(m.origins[1].addresses[0].to_string(), "10.0.0.100-10.0.0.199");
    assert_eq!(m.hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["web", "db", "admin"]);
    assert_eq!(m.hosts[1].ips, vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(m.hosts[1].value, Some(Value::Critical));
    assert_eq!(m.hosts[0].role.as_deref(), Some("web server"));
    assert_eq!(m.zones.keys().collect::<Vec<_>>(), ["dmz", "lan", "outside"]);
    assert_eq!(m.zones["lan"].interfaces[0].to_string(), "edge-fw:eth2");
    assert_eq!(m.devices["edge-fw"].files, ["edge-fw/*"]);
    assert_eq!(m.devices["edge-fw"].owner, Some(Role::It));
    assert_eq!(m.links.len(), 1);
    assert_eq!(m.links[0].1.to_string(), "isp-router:ge-0/0/1");
    let p = &m.policy;
    assert_eq!(p.matrix.len(), 4);
    assert_eq!(p.matrix[0].allow, [ServiceSpec::Port(6, 80), ServiceSpec::Port(6, 443)]);
    assert_eq!(p.matrix[1].allow, [ServiceSpec::Any]);
    assert_eq!(p.must_not_reach.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["P1", "P3"]);
    assert_eq!(p.must_not_reach[0].owner, Some(Role::Management));
    assert_eq!(p.must_reach[0].to.endpoint, Endpoint::Name("web".into()));
    assert_eq!(p.vendor_scopes[0].allow.len(), 2);
    assert_eq!(p.vendor_scopes[0].allow[1].services, [ServiceSpec::Port(6, 8443)]);
    assert_eq!(m.assumptions.len(), 2);
    // Lines point at the entries.
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1;
    assert_eq!(m.hosts[1].line, line_of("- name: db"));
    assert_eq!(p.must_not_reach[1].line, line_of("- id: P3"));
    assert_eq!(p.vendor_scopes[0].allow[1].to.line, line_of("{to: 192.168.10.21"));
}

#[test]
fn json_twin_reads_to_the_same_manifest() {
    let yaml = read("examples/portolan.yaml");
    let json = read("tests/golden/manifest/portolan.json");
    assert_eq!(parse::detect(&json), Format::Manifest);
    let (my, dy) = manifest::read("portolan.yaml", &yaml);
    let (mj, dj) = manifest::read("portolan.json", &json);
    assert!(dy.is_empty() && dj.is_empty(), "{dy:?} {dj:?}");
    let (my, mj) = (my.unwrap(), mj.unwrap());
    assert_eq!(shape(&my), shape(&mj));
    // JSON lines are real lines too.
    let line_of = |needle: &str| json.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1;
    assert_eq!(mj.hosts[2].line, line_of("\"name\": \"admin\"") - 1);
    assert_eq!(mj.policy.must_reach[0].from.line, line_of("\"from\": \"admin\""));
}

#[test]
fn every_kind_of_error_has_its_line_and_field_path() {
    let text = read("tests/golden/manifest/errors.yaml");
    let expected = read("tests/golden/manifest/errors.expected");
    let (m, diags) = manifest::read("errors.yaml", &text);
    let got = rendered("errors.yaml", &diags);
    let want: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(got, want, "\n{}", got.join("\n"));
    // The message format the documentation promises.
    assert!(got.contains(&r#"errors.yaml:12: P004 hosts[2].ip: "10.0.0.300" is not an IP address "ip: 10.0.0.300""#.to_string()));
    // The rest still loads.
    let m = m.expect("the manifest is still read");
    assert_eq!(m.hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["db", "web", "app", "nas"]);
    assert!(m.hosts[2].ips.is_empty());
    assert_eq!(m.hosts[3].value, None);
    assert_eq!(m.origins.len(), 1);
    assert_eq!(m.origins[0].role, None);
    assert_eq!(m.zones["dmz"].addresses[0].to_string(), "10.10.0.0/24");
    assert!(m.zones["lan"].addresses.is_empty());
    assert_eq!(m.devices["fw1"].files, ["fw1/*"]);
    assert!(m.links.is_empty());
    assert_eq!(m.crown_jewels.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(), ["db"]);
    // A bad service leaves the pair allowing less; an entry naming an undeclared host is out.
    assert_eq!(m.policy.matrix[0].allow, [ServiceSpec::Port(6, 80)]);
    let ids: Vec<&str> = m.policy.must_not_reach.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["P1"]);
    assert!(m.policy.must_reach.is_empty());
    assert_eq!(m.policy.vendor_scopes.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["V1"]);
    assert_eq!(m.assumptions, ["fine"]);
    // Unknown keys are warnings, bad values errors.
    let hostz = diags.iter().find(|d| d.reason.contains("\"hostz\"")).unwrap();
    assert_eq!((hostz.code, hostz.severity, hostz.line), (codes::STRUCTURE, Severity::Warning, 3));
    let bad_ip = diags.iter().find(|d| d.reason.starts_with("hosts[2].ip")).unwrap();
    assert_eq!((bad_ip.code, bad_ip.severity), (codes::BAD_VALUE, Severity::Error));
    // As a parsed file: partial, with the manifest in its content.
    let p = parse::parse(0, "errors.yaml", &text);
    assert_eq!(p.format, Format::Manifest);
    assert_eq!(p.status(), portolan::diag::FileStatus::Partial);
    assert!(p.content.manifest.is_some());
}

#[test]
fn json_errors_have_lines_and_paths() {
    let text = "{\n  \"hosts\": [\n    {\"name\": \"db\", \"ip\": \"10.20.0.5\"},\n    {\"name\": \"app\",\n     \"ip\": \"10.0.0.300\"}\n  ],\n  \"policy\": {\"must_reach\": [{\"id\": \"P2\", \"from\": \"zone:x\", \"to\": \"db\", \"services\": [\"tcp/5432\"]}]},\n  \"zonez\": {}\n}\n";
    let (_, diags) = manifest::read("m.json", text);
    assert_eq!(
        rendered("m.json", &diags),
        [
            r#"m.json:5: P004 hosts[1].ip: "10.0.0.300" is not an IP address ""ip": "10.0.0.300"}""#,
            r#"m.json:7: P005 policy.must_reach[0].from: zone "x" is not declared under zones ""policy": {"must_reach": [{"id": "P2", "from": "zone:x", "to": "db", "services": ["tcp/5432"]}]},""#,
            r#"m.json:8: P006 unknown key "zonez" is ignored; did you mean "zones"? ""zonez": {}""#,
        ]
    );
    let (m, diags) = manifest::read("m.json", "{\"hosts\": [\n  {\"name\": \"db\" \"ip\": \"10.0.0.1\"}\n]}\n");
    assert!(m.is_none());
    assert_eq!((diags[0].code, diags[0].line), (codes::UNREADABLE, 2));
    assert!(diags[0].reason.starts_with("not valid JSON: expected `,` or `}`"), "{}", diags[0].reason);
}

#[test]
fn broken_yaml_is_one_error_with_its_line() {
    let (m, diags) = manifest::read("m.yaml", "hosts:\n  - {name: db, ip: 10.0.0.1\nzones: {}\n");
    assert!(m.is_none());
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].code, diags[0].severity), (codes::UNREADABLE, Severity::Error));
    assert!(diags[0].line >= 2, "{diags:?}");
    assert!(diags[0].reason.starts_with("not valid YAML: "), "{}", diags[0].reason);
    let (_, diags) = manifest::read("m.yaml", "hosts: []\nhosts: [{name: db, ip: 10.0.0.1}]\n");
    assert_eq!(
        rendered("m.yaml", &diags),
        [r#"m.yaml:2: P006 key "hosts" is repeated (first on line 1); this one is ignored "hosts: [{name: db, ip: 10.0.0.1}]""#]
    );
    let (m, diags) = manifest::read("m.yaml", "- hosts\n");
    assert!(m.is_some());
    assert_eq!(diags[0].code, codes::STRUCTURE);
    assert!(diags[0].reason.starts_with("the manifest must be a mapping of sections"), "{}", diags[0].reason);
}

/// `levels` anchored lists, each of ten aliases of the one before: 10^levels strings.
fn alias_bomb(levels: usize) -> String {
    let mut s = String::from("assumptions:\n  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=levels {
        s.push_str(&format!("  - &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    s.push_str(&format!("hosts: *a{levels}\n"));
    s
}

fn assert_refused(text: &str, needle: &str) {
    let start = Instant::now();
    let p = parse::parse(0, "bomb.yaml", text);
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert_eq!(p.format, Format::Manifest);
    assert_eq!(p.status(), portolan::diag::FileStatus::Failed);
    assert!(p.content.manifest.is_none());
    assert_eq!(p.diags.len(), 1, "{:?}", p.diags);
    assert_eq!(p.diags[0].code, codes::UNREADABLE);
    assert!(p.diags[0].reason.contains(needle), "{}", p.diags[0].reason);
}

#[test]
fn alias_bombs_are_refused_quickly() {
    // A billion laughs: 10^9 strings if expanded.
    assert_refused(&alias_bomb(9), "limits for a manifest");
    // A modest reuse of anchors is fine.
    let (m, diags) = manifest::read("ok.yaml", "x: &s [tcp/22]\npolicy:\n  matrix:\n    - {from: a, to: b, allow: *s}\n    - {from: b, to: a, allow: *s}\nassumptions: []\n");
    assert_eq!(rendered("ok.yaml", &diags), [r#"ok.yaml:1: P006 unknown key "x" is ignored; the keys here are crown_jewels, origins, hosts, zones, devices, links, policy, assumptions "x: &s [tcp/22]""#]);
    let m = m.unwrap();
    assert_eq!(m.policy.matrix[1].allow, [ServiceSpec::Port(6, 22)]);
    // The alias's line is where it is used.
    assert_eq!(m.policy.matrix[1].line, 5);
}

#[test]
fn huge_and_deep_documents_are_refused() {
    let big = format!("assumptions:\n{}", "  - padding padding padding padding padding padding\n".repeat(200_000));
    assert!(big.len() > manifest::node::MAX_BYTES);
    assert_refused(&big, "larger than");
    let many: String = std::iter::once("hosts:\n".to_string())
        .chain((0..70_000).map(|i| format!("  - {{name: h{i}, ip: 10.{}.{}.{}}}\n", i >> 16, (i >> 8) & 255, i & 255)))
        .collect();
    assert!(many.len() < manifest::node::MAX_BYTES);
    assert_refused(&many, "limits for a manifest");
    let deep = format!("assumptions: {}{}\n", "[".repeat(1000), "]".repeat(1000));
    assert_refused(&deep, "deeper");
    let deep_json = format!("{{\"assumptions\": {}{}}}", "[".repeat(100), "]".repeat(100));
    let (m, diags) = manifest::read("deep.json", &deep_json);
    assert!(m.is_none());
    assert!(diags[0].reason.contains("deeper"), "{:?}", diags[0]);
}

#[test]
fn detection_by_content() {
    assert_eq!(parse::detect("# site\ncrown_jewels: [db]\nhosts: [{name: db, ip: 10.0.0.5}]\n"), Format::Manifest);
    assert_eq!(parse::detect("{\"zones\": {\"dmz\": {}}}"), Format::Manifest);
    assert_eq!(parse::detect("hostz: []\npolicy: {}\n"), Format::Manifest);
    assert_ne!(parse::detect("apiVersion: v1\nkind: ConfigMap\n"), Format::Manifest);
    assert_ne!(parse::detect("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), Format::Manifest);
    assert_ne!(parse::detect("[{\"ifindex\": 1, \"ifname\": \"lo\", \"addr_info\": []}]"), Format::Manifest);
    assert_eq!(Format::Manifest.label(), "portolan manifest");
    // No file of the third-party corpus is taken for a manifest.
    let corpus = root().join("../shared/corpus");
    if !corpus.is_dir() {
        return;
    }
    let mut stack = vec![corpus];
    let mut seen = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(t) = std::fs::read_to_string(&p) {
            seen += 1;
            assert!(!manifest::looks_like(&t), "{} taken for a manifest", p.display());
        }
    }
    assert!(seen > 100, "{seen}");
}

#[test]
fn endpoints_and_services() {
    let ep = |s: &str| EndpointRef::parse(s, 7).map(|(e, _)| e.endpoint);
    assert_eq!(ep("10.20.0.5"), Ok(Endpoint::Ip("10.20.0.5".parse().unwrap())));
    assert_eq!(ep("10.20.0.0/16"), Ok(Endpoint::Net("10.20.0.0/16".parse().unwrap())));
    assert!(matches!(ep("10.0.0.1-10.0.0.5"), Ok(Endpoint::Range(_))));
    assert_eq!(ep("internet"), Ok(Endpoint::Internet));
    assert_eq!(ep("zone:dmz"), Ok(Endpoint::Zone("dmz".into())));
    assert_eq!(ep("host:db"), Ok(Endpoint::Host("db".into())));
    assert_eq!(ep("device:fw1"), Ok(Endpoint::Device("fw1".into())));
    assert_eq!(ep("db"), Ok(Endpoint::Name("db".into())));
    assert_eq!(ep("10.0.0.300"), Err("\"10.0.0.300\" is not an IP address, CIDR or address range".into()));
    assert!(ep("zone:").is_err());
    let svc = |s: &str| ServiceSpec::parse(s);
    assert_eq!(svc("any"), Ok(ServiceSpec::Any));
    assert_eq!(svc("udp"), Ok(ServiceSpec::Proto(17)));
    assert_eq!(svc("tcp/443"), Ok(ServiceSpec::Port(6, 443)));
    assert_eq!(svc("tcp/8000-8080"), Ok(ServiceSpec::Range(6, 8000, 8080)));
    assert_eq!(svc("tcp/8000-8080").unwrap().to_string(), "tcp/8000-8080");
    assert_eq!(serde_json::to_string(&svc("udp/53").unwrap()).unwrap(), "\"udp/53\"");
    assert!(svc("tcp/70000").is_err());
    assert!(svc("icmp/8").is_err());
}

/// Cut, doubled and swapped pieces of the example (YAML and JSON): the reader never panics, and
/// every diagnostic points at a line of the document.
#[test]
fn mangled_manifests_never_panic() {
    let docs = [read("examples/portolan.yaml"), read("tests/golden/manifest/portolan.json")];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    for round in 0..600 {
        let doc = &docs[round % 2];
        let chars: Vec<char> = doc.chars().collect();
        let mut out: Vec<char> = chars.clone();
        for _ in 0..1 + next(4) {
            let (a, len) = (next(out.len()), 1 + next(40));
            let b = (a + len).min(out.len());
            match next(4) {
                0 => {
                    out.drain(a..b);
                }
                1 => {
                    let piece: Vec<char> = out[a..b].to_vec();
                    let at = next(out.len());
                    out.splice(at..at, piece);
                }
                2 => {
                    let c = ['[', '{', ':', '-', '*', '&', '"', '\n', ' ', '#', ','][next(11)];
                    out.insert(a, c);
                }
                _ => out.truncate(a),
            }
        }
        let text: String = out.into_iter().collect();
        let lines = text.lines().count() as u32;
        let p = parse::parse(0, "m", &text);
        if p.format == Format::Manifest {
            for d in &p.diags {
                assert!(d.line <= lines.max(1), "line {} of {lines}: {d:?}\n{text}", d.line);
            }
        }
        let (_, diags) = manifest::read("m", &text);
        for d in &diags {
            assert!(d.line <= lines.max(1), "line {} of {lines}: {d:?}\n{text}", d.line);
        }
    }
}

fn files(list: &[(&str, &str)]) -> Vec<InputFile> {
    list.iter().map(|(p, t)| InputFile::new(*p, *t)).collect()
}

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
const ADDR: &str = "2: eth0: <BROADCAST,UP,LOWER_UP> mtu 1500 state UP\n    inet 10.0.0.1/24 scope global eth0\n";

fn device_of<'a>(ws: &'a Workspace, path: &str) -> Option<&'a str> {
    ws.files.iter().find(|f| f.path == path).and_then(|f| f.device.as_deref())
}

fn manifest_diags(ws: &Workspace) -> Vec<String> {
    let f = ws.files.iter().find(|f| f.parsed.format == Format::Manifest).expect("a manifest file");
    rendered(&f.path, &f.parsed.diags)
}

#[test]
fn manifest_file_patterns_override_folders_and_stems() {
    let inputs = files(&[
        ("site/portolan.yaml", "devices:\n  gw:\n    files: [edge.*, misc/edge-*]\n    owner: it\n  fw9:\n    files: [fw9/*]\n"),
        ("site/fw1/rules.v4", RULES),
        ("site/edge.iptables", RULES),
        ("site/misc/edge-addr.txt", ADDR),
    ]);
    // Without the manifest, the stem and the folder decide.
    let plain = Workspace::load(inputs[1..].to_vec());
    assert_eq!(device_of(&plain, "site/edge.iptables"), Some("site"));
    assert_eq!(device_of(&plain, "site/misc/edge-addr.txt"), Some("misc"));
    let ws = Workspace::load(inputs);
    assert_eq!(device_of(&ws, "site/edge.iptables"), Some("gw"));
    assert_eq!(device_of(&ws, "site/misc/edge-addr.txt"), Some("gw"));
    assert_eq!(device_of(&ws, "site/fw1/rules.v4"), Some("fw1"));
    assert_eq!(device_of(&ws, "site/portolan.yaml"), None);
    let names: Vec<&str> = ws.network.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["fw1", "gw"]);
    let gw = ws.network.device("gw").unwrap();
    assert!(gw.firewall.is_some());
    assert_eq!(gw.interfaces.len(), 1);
    let m = ws.manifest.as_ref().expect("manifest found among the inputs");
    assert_eq!(m.devices["gw"].owner, Some(Role::It));
    assert_eq!(
        manifest_diags(&ws),
        [r#"site/portolan.yaml:5: P005 devices.fw9.files: no input file matches "fw9/*" "fw9:""#]
    );
}

#[test]
fn anchored_patterns_and_overlaps() {
    let inputs = files(&[
        ("/srv/estate/a/fw1/rules", RULES),
        ("/srv/estate/fw1/rules", RULES),
        ("/srv/estate/portolan.yaml", "devices:\n  top: {files: [/fw1/*]}\n  any1: {files: [\"**/rules\"]}\n"),
    ]);
    let ws = Workspace::load(inputs);
    assert_eq!(device_of(&ws, "/srv/estate/fw1/rules"), Some("any1"));
    assert_eq!(device_of(&ws, "/srv/estate/a/fw1/rules"), Some("any1"));
    let d = manifest_diags(&ws);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].starts_with("/srv/estate/portolan.yaml:2: P006 devices: /srv/estate/fw1/rules matches the files of devices any1, top; it belongs to any1"), "{}", d[0]);
}

#[test]
fn explicit_manifest_wins_and_a_second_one_is_reported() {
    let inputs = files(&[
        ("fw1.iptables", RULES),
        ("inside.yaml", "devices:\n  inner: {files: [fw1.*]}\n"),
    ]);
    let explicit = InputFile::new("given.json", "{\"devices\": {\"outer\": {\"files\": [\"fw1.*\"]}}}");
    let ws = Workspace::load_with_manifest(inputs.clone(), Some(explicit));
    assert_eq!(ws.files.len(), 3);
    assert_eq!(ws.files[2].path, "given.json");
    assert_eq!(ws.manifest.as_ref().unwrap().file, "given.json");
    assert_eq!(device_of(&ws, "fw1.iptables"), Some("outer"));
    let inside = &ws.files[1];
    assert_eq!(inside.parsed.diags[0].code, codes::STRUCTURE);
    assert_eq!(inside.parsed.diags[0].reason, "a second topology manifest is not used: the manifest is given.json");
    // Without the explicit one, the manifest among the inputs is used.
    let ws = Workspace::load(inputs);
    assert_eq!(device_of(&ws, "fw1.iptables"), Some("inner"));
    // An explicit manifest is read as one even when its content would not be detected.
    let ws = Workspace::load_with_manifest(vec![], Some(InputFile::new("m.yaml", "notes: []\n")));
    assert_eq!(ws.files[0].parsed.format, Format::Manifest);
    assert_eq!(ws.files[0].parsed.diags[0].code, codes::STRUCTURE);
    assert!(ws.manifest.is_some());
}

#[test]
fn names_are_checked_against_the_network() {
    let text = "hosts: [{name: db, ip: 10.0.0.5}]\nzones: {db: {addresses: [10.0.0.0/24]}}\npolicy:\n  must_not_reach:\n    - {id: N1, from: fw1, to: dbx}\n    - {id: N2, from: device:fw2, to: db}\nlinks: [[fw1:eth0, isp:ge-0/0/0]]\n";
    let ws = Workspace::load(files(&[("fw1.iptables", RULES), ("portolan.yaml", text)]));
    assert_eq!(
        manifest_diags(&ws),
        [
            r#"portolan.yaml:5: P005 policy.must_not_reach[0].to: "dbx" names no host, origin, zone or device "- {id: N1, from: fw1, to: dbx}""#,
            r#"portolan.yaml:6: P005 policy.must_not_reach[1].from: no device is named "fw2" "- {id: N2, from: device:fw2, to: db}""#,
            r#"portolan.yaml:6: P005 policy.must_not_reach[1].to: "db" is ambiguous: it names a host and a zone; write host:db to choose "- {id: N2, from: device:fw2, to: db}""#,
            r#"portolan.yaml:7: P005 links[0][1]: no input describes device "isp"; the link is kept as stated "links: [[fw1:eth0, isp:ge-0/0/0]]""#,
        ]
    );
    let sev: Vec<Severity> = ws.files[1].parsed.diags.iter().map(|d| d.severity).collect();
    assert_eq!(sev, [Severity::Error, Severity::Error, Severity::Warning, Severity::Info]);
}

#[test]
fn example_with_the_sample_network() {
    let mut inputs = vec![InputFile::new("examples/portolan.yaml", read("examples/portolan.yaml"))];
    for name in ["edge-fw.iptables", "edge-fw.ip-addr", "edge-fw.ip-route"] {
        let path = format!("www/samples/edge-fw/{name}");
        inputs.push(InputFile::new(path.clone(), read(&path)));
    }
    let ws = Workspace::load(inputs);
    assert_eq!(ws.network.devices.len(), 1);
    assert_eq!(ws.network.devices[0].name, "edge-fw");
    let line = read("examples/portolan.yaml").lines().position(|l| l.contains("isp-router:")).unwrap() + 1;
    assert_eq!(
        manifest_diags(&ws),
        [format!(r#"examples/portolan.yaml:{line}: P005 links[0][1]: no input describes device "isp-router"; the link is kept as stated "- [edge-fw:eth0, isp-router:ge-0/0/1]""#)]
    );
    assert_eq!(ws.files[0].parsed.status(), portolan::diag::FileStatus::Ok);
}

// ---------------------------------------------------------------------------------------------
// The published JSON Schema
// ---------------------------------------------------------------------------------------------

fn schema_json() -> serde_json::Value {
    serde_json::from_str(&read("schema/portolan-manifest.schema.json")).expect("the schema is JSON")
}

fn validator() -> (boon::Schemas, boon::SchemaIndex) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.set_default_draft(boon::Draft::V2020_12);
    let url = "file:///portolan-manifest.schema.json";
    compiler.add_resource(url, schema_json()).expect("schema added");
    let idx = compiler.compile(url, &mut schemas).unwrap_or_else(|e| panic!("schema does not compile: {e:#}"));
    (schemas, idx)
}

fn yaml_value(text: &str) -> serde_json::Value {
    // As Portolan reads YAML: only true and false are booleans (`N`, `no`, `off` are text).
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { strict_booleans: true })
        .expect("YAML reads as JSON data")
}

#[test]
fn example_and_json_twin_validate_against_the_schema() {
    let (schemas, idx) = validator();
    for v in [yaml_value(&read("examples/portolan.yaml")), schema_twin()] {
        if let Err(e) = schemas.validate(&v, idx) {
            panic!("{e:#}");
        }
    }
}

fn schema_twin() -> serde_json::Value {
    serde_json::from_str(&read("tests/golden/manifest/portolan.json")).unwrap()
}

#[test]
fn schema_rejects_what_the_reader_rejects() {
    let (schemas, idx) = validator();
    let invalid = [
        "errors.yaml",
        "hosts: [{name: db, ip: 10.0.0.5, vlaue: high}]",
        "hosts: [{name: db}]",
        "hosts: [{name: internet, ip: 10.0.0.5}]",
        "origins: [{name: v, addresses: [10.0.0.0/8], role: contractor}]",
        "policy: {matrix: [{from: a, to: b, allow: [http/80]}]}",
        "policy: {matrix: [{from: a, to: b, allow: [icmp/8]}]}",
        "policy: {must_reach: [{id: P, from: a, to: b}]}",
        "links: [[fw1:eth0]]",
        "zones: {dmz: {addresses: 10.0.0.0/24}}",
        "devices: {fw1: {files: [fw1/*], owner: ceo}}",
        "crown_jewels: [\"a b\"]",
    ];
    for doc in invalid {
        let text = if doc == "errors.yaml" { read("tests/golden/manifest/errors.yaml") } else { doc.to_string() };
        assert!(schemas.validate(&yaml_value(&text), idx).is_err(), "the schema accepts {doc}");
        let (_, diags) = manifest::read("m.yaml", &text);
        assert!(diags.iter().any(|d| d.severity >= Severity::Warning), "the reader accepts {doc}");
    }
    let valid = [
        "{}",
        "hosts: [{name: db, ip: [10.0.0.5, \"2001:db8::5\"], value: low}]",
        "zones: {dmz: null, lan: {addresses: [10.0.0.0/24, 10.1.0.1-10.1.0.9]}}",
        "policy: {must_not_reach: [{id: N, from: internet, to: 10.0.0.0/8}]}",
        "policy: {vendor_scopes: [{id: 7, origin: vendor, allow: [{to: \"device:fw1\", services: [tcp/22-23, gre, \"50\"]}]}]}",
    ];
    for doc in valid {
        assert!(schemas.validate(&yaml_value(doc), idx).is_ok(), "the schema refuses {doc}");
        let (_, diags) = manifest::read("m.yaml", doc);
        assert!(diags.is_empty(), "the reader refuses {doc}: {diags:?}");
    }
}

/// Every property name anywhere in the schema (outside `$defs`).
fn schema_keys(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    if let Some(obj) = v.as_object() {
        if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
            out.extend(props.keys().cloned());
        }
        for (k, child) in obj {
            if k != "$defs" {
                schema_keys(child, out);
            }
        }
    } else if let Some(items) = v.as_array() {
        items.iter().for_each(|c| schema_keys(c, out));
    }
}

/// Every mapping key used in a document, except the names of zones and devices.
fn document_keys(v: &serde_json::Value, parent: &str, out: &mut BTreeSet<String>) {
    if let Some(obj) = v.as_object() {
        for (k, child) in obj {
            if parent != "zones" && parent != "devices" {
                out.insert(k.clone());
            }
            document_keys(child, if parent == "zones" || parent == "devices" { "" } else { k }, out);
        }
    } else if let Some(items) = v.as_array() {
        items.iter().for_each(|c| document_keys(c, parent, out));
    }
}

#[test]
fn schema_reader_and_example_name_the_same_keys() {
    let mut in_schema = BTreeSet::new();
    schema_keys(&schema_json(), &mut in_schema);
    let accepted: BTreeSet<String> = manifest::KEYS.iter().flat_map(|(_, keys)| keys.iter().map(|k| k.to_string())).collect();
    assert_eq!(in_schema, accepted);
    let mut in_example = BTreeSet::new();
    document_keys(&yaml_value(&read("examples/portolan.yaml")), "", &mut in_example);
    assert_eq!(in_example, accepted, "the example should use every key");
    // Every section of the contract is a top-level key.
    for s in manifest::SECTIONS {
        assert!(manifest::KEYS[0].1.contains(&s));
    }
    // Roles and values in the schema are the reader's.
    let schema = schema_json();
    let roles: Vec<&str> = schema["$defs"]["role"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(roles, Role::ALL.map(Role::as_str));
    let values = schema["properties"]["hosts"]["items"]["properties"]["value"]["enum"].as_array().unwrap();
    assert_eq!(values.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>(), Value::ALL.map(Value::as_str));
}
