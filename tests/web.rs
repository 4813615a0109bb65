//! Smoke tests of the WebAssembly boundary, run under Node by `wasm-bindgen-test-runner`
//! (`cargo test --target wasm32-unknown-unknown --test web`; the runner is set in
//! `.cargo/config.toml`). The analysis itself is tested natively; these check that data crosses
//! the boundary as the page expects it.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Reflect, Uint8Array};
use portolan::Session;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";

fn file(name: &str, content: JsValue, key: &str) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"name".into(), &name.into()).unwrap();
    Reflect::set(&o, &key.into(), &content).unwrap();
    o.into()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

fn session(files: &[JsValue]) -> Session {
    let arr = Array::new();
    for f in files {
        arr.push(f);
    }
    Session::new(arr.into()).unwrap()
}

#[wasm_bindgen_test]
fn text_and_bytes_inputs_reach_the_parse_report() {
    let bytes = Uint8Array::from(RULES.as_bytes());
    let s = session(&[file("fw1.iptables", RULES.into(), "text"), file("fw2.rules", bytes.into(), "bytes")]);
    assert_eq!(s.file_count(), 2);
    let report = s.parse_report().unwrap();
    let inputs: Array = get(&report, "inputs").into();
    assert_eq!(inputs.length(), 2);
    let first = inputs.get(0);
    assert_eq!(get(&first, "path").as_string().as_deref(), Some("fw1.iptables"));
    assert_eq!(get(&first, "format").as_string().as_deref(), Some("iptables-save"));
    assert_eq!(get(&first, "device").as_string().as_deref(), Some("fw1"));
    // json_compatible: line counts are plain numbers, not BigInt.
    assert_eq!(get(&get(&first, "lines"), "total").as_f64(), Some(6.0));
    let devices: Array = get(&report, "devices").into();
    assert_eq!(devices.length(), 2);
}

#[wasm_bindgen_test]
fn unknown_and_binary_files_get_a_status_not_an_exception() {
    let garbage = Uint8Array::from(&[0xff_u8, 0xfe, 0x00, 0x80][..]);
    let s = session(&[file("blob.bin", garbage.into(), "bytes"), file("notes.txt", "hello\n".into(), "text")]);
    let inputs: Array = get(&s.parse_report().unwrap(), "inputs").into();
    for (i, status, code) in [(0, "failed", "P008"), (1, "unsupported", "P009")] {
        let input = inputs.get(i);
        assert_eq!(get(&input, "status").as_string().as_deref(), Some(status));
        let diags: Array = get(&input, "diagnostics").into();
        assert_eq!(get(&diags.get(0), "code").as_string().as_deref(), Some(code));
    }
}

#[wasm_bindgen_test]
fn source_lines_are_one_based_and_bounded() {
    let s = session(&[file("fw1.iptables", RULES.into(), "text")]);
    assert_eq!(s.source_line(0, 1).as_deref(), Some("*filter"));
    assert_eq!(s.source_line(0, 5).as_deref(), Some("-A INPUT -p tcp --dport 22 -j ACCEPT"));
    assert_eq!(s.source_line(0, 0), None);
    assert_eq!(s.source_line(0, 99), None);
    assert_eq!(s.source_line(7, 1), None);
}

#[wasm_bindgen_test]
fn malformed_input_list_is_an_error() {
    assert!(Session::new(JsValue::from_str("not a list")).is_err());
    let missing_name = Object::new();
    let arr = Array::of1(&missing_name);
    assert!(Session::new(arr.into()).is_err());
}

const ADDR: &str = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
";

#[wasm_bindgen_test]
fn query_returns_a_verdict_with_hops_and_the_deciding_line() {
    let s = session(&[file("fw1.iptables", RULES.into(), "text"), file("fw1.ip-addr", ADDR.into(), "text")]);
    let allowed = s.query("10.0.0.5".into(), "10.0.0.1".into(), "tcp".into(), Some("22".into())).unwrap();
    assert_eq!(get(&allowed, "verdict").as_string().as_deref(), Some("allowed"));
    let results: Array = get(&allowed, "results").into();
    let hops: Array = get(&results.get(0), "hops").into();
    let first = hops.get(0);
    assert_eq!(get(&first, "device").as_string().as_deref(), Some("fw1"));
    assert_eq!(get(&first, "in_iface").as_string().as_deref(), Some("eth0"));
    let rule = get(&first, "rule");
    assert_eq!(get(&rule, "file").as_string().as_deref(), Some("fw1.iptables"));
    assert_eq!(get(&rule, "line").as_f64(), Some(5.0));
    // A blank port means any port: port 22 is allowed, the others stop at the INPUT policy.
    let any = s.query("10.0.0.5".into(), "10.0.0.1".into(), "tcp".into(), Some(" ".into())).unwrap();
    assert_eq!(get(&any, "port"), JsValue::NULL);
    let verdicts: Vec<String> = Array::from(&get(&any, "results"))
        .iter()
        .map(|r| get(&r, "verdict").as_string().unwrap_or_default())
        .collect();
    assert_eq!(verdicts, ["allowed", "denied"]);
}

#[wasm_bindgen_test]
fn a_question_that_cannot_be_answered_is_an_error_with_a_message() {
    let s = session(&[file("fw1.iptables", RULES.into(), "text")]);
    let err = s.query("no such place".into(), "10.0.0.1".into(), "tcp".into(), None).unwrap_err();
    let msg = String::from(err.message());
    assert!(msg.contains("no such place"), "{msg}");
}

const SAMPLE: [(&str, &str); 3] = [
    ("edge-fw/edge-fw.iptables", include_str!("../www/samples/edge-fw/edge-fw.iptables")),
    ("edge-fw/edge-fw.ip-addr", include_str!("../www/samples/edge-fw/edge-fw.ip-addr")),
    ("edge-fw/edge-fw.ip-route", include_str!("../www/samples/edge-fw/edge-fw.ip-route")),
];

fn sample() -> Session {
    let files: Vec<JsValue> = SAMPLE.iter().map(|(name, text)| file(name, (*text).into(), "text")).collect();
    session(&files)
}

fn text(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_default()
}

fn list(v: &JsValue, key: &str) -> Vec<JsValue> {
    Array::from(&get(v, key)).iter().collect()
}

/// True when `port` is in an exposure's port list (`22,80,443`, `1024-65535`, `any`).
fn has_port(ports: &str, port: u16) -> bool {
    ports == "any"
        || ports.split(',').any(|p| match p.split_once('-') {
            Some((a, b)) => a.parse::<u16>().is_ok_and(|a| a <= port) && b.parse::<u16>().is_ok_and(|b| port <= b),
            None => p.parse::<u16>() == Ok(port),
        })
}

fn exposures_to(report: &JsValue, origin: &str, ip: &str, proto: &str, port: u16) -> Vec<JsValue> {
    list(report, "exposures")
        .into_iter()
        .filter(|e| text(e, "origin") == origin && text(e, "ip") == ip && text(e, "proto") == proto && has_port(&text(e, "ports"), port))
        .collect()
}

#[wasm_bindgen_test]
fn analyze_finds_the_https_port_forward_and_not_ssh_to_the_firewall() {
    let s = sample();
    // No origin means the Internet.
    let report = s.analyze(vec![]).unwrap();
    let origins = list(&report, "origins");
    assert_eq!(origins.len(), 1);
    assert_eq!(text(&origins[0], "name"), "internet");
    assert!(get(&origins[0], "error").is_null());
    // The parse report travels with it.
    assert_eq!(list(&report, "inputs").len(), 3);
    assert_eq!(text(&list(&report, "devices")[0], "name"), "edge-fw");

    let https = exposures_to(&report, "internet", "203.0.113.2", "tcp", 443);
    assert_eq!(https.len(), 1, "one exposure holds tcp/443 on the public address");
    let e = &https[0];
    assert_eq!(text(e, "ports"), "443");
    assert_eq!(text(e, "certainty"), "definite");
    assert_eq!(text(e, "host"), "edge-fw");
    assert_eq!(text(e, "owner"), "it");
    assert_eq!(get(&get(e, "witness"), "port").as_f64(), Some(443.0));
    let first = &list(e, "hops")[0];
    assert_eq!(text(first, "device"), "edge-fw");
    assert_eq!(text(first, "direction"), "forward");
    let nat = &list(first, "nat")[0];
    assert_eq!(text(nat, "kind"), "dnat");
    assert_eq!(text(nat, "from"), "203.0.113.2:443");
    assert_eq!(text(nat, "to"), "192.168.10.20:443");
    let rule = get(nat, "rule");
    assert_eq!(text(&rule, "file"), "edge-fw/edge-fw.iptables");
    assert!(text(&rule, "text").contains("-j DNAT --to-destination 192.168.10.20:443"), "{}", text(&rule, "text"));
    let line = get(&rule, "line").as_f64().unwrap_or_default() as u32;
    assert_eq!(s.source_line(0, line), Some(text(&rule, "text")));

    // SSH on the firewall itself is open to the LAN only.
    assert!(exposures_to(&report, "internet", "203.0.113.2", "tcp", 22).is_empty());
    assert_eq!(exposures_to(&report, "internet", "203.0.113.2", "tcp", 2222).len(), 1);
}

#[wasm_bindgen_test]
fn analyze_takes_several_origins_and_reports_the_ones_it_cannot_read() {
    let s = sample();
    let report = s.analyze(vec!["internet".into(), "10.0.0.0/24".into(), "no-such-place".into()]).unwrap();
    let origins = list(&report, "origins");
    let names: Vec<String> = origins.iter().map(|o| text(o, "name")).collect();
    assert_eq!(names, ["internet", "10.0.0.0/24", "no-such-place"]);
    assert!(get(&origins[1], "error").is_null());
    assert!(text(&origins[2], "error").contains("no-such-place"), "{}", text(&origins[2], "error"));
    assert_eq!(get(&origins[2], "exposures").as_f64(), Some(0.0));
    // The LAN manages the firewall over SSH; the Internet does not.
    assert_eq!(exposures_to(&report, "10.0.0.0/24", "203.0.113.2", "tcp", 22).len(), 1);
    assert!(exposures_to(&report, "internet", "203.0.113.2", "tcp", 22).is_empty());
    let counted = list(&report, "exposures").iter().filter(|e| text(e, "origin") == "10.0.0.0/24").count();
    assert_eq!(get(&origins[1], "exposures").as_f64(), Some(counted as f64));
}

#[wasm_bindgen_test]
fn export_writes_markdown_and_csv_of_the_analysis() {
    let s = sample();
    let csv = s.export("csv".into(), vec!["internet".into()]).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("origin,from,ip,host,proto,ports,certainty,service,owner,path"));
    let rows: Vec<&str> = lines.collect();
    let json = s.analyze(vec!["internet".into()]).unwrap();
    assert_eq!(rows.len(), list(&json, "exposures").len());
    assert!(rows.iter().any(|r| r.starts_with("internet,internet,203.0.113.2,edge-fw,tcp,443,definite,,it,")), "{csv}");
    let md = s.export("markdown".into(), vec![]).unwrap();
    assert!(md.starts_with("# Portolan exposure report\n"), "{md}");
    assert!(md.contains("## From internet"), "{md}");
    assert!(md.contains("| definite | 203.0.113.2 (edge-fw) | tcp/443 |"), "{md}");
    let err = s.export("pdf".into(), vec![]).unwrap_err();
    assert!(String::from(err.message()).contains("pdf"));
}

#[wasm_bindgen_test]
fn one_session_answers_queries_and_analyses_in_a_row() {
    // The network is compiled once, when the session is built; every call reuses it.
    let s = sample();
    let q = |from: &str, port: &str| {
        let r = s.query(from.into(), "203.0.113.2".into(), "tcp".into(), Some(port.into())).unwrap();
        text(&r, "verdict")
    };
    assert_eq!(q("198.51.100.7", "443"), "allowed");
    assert_eq!(q("198.51.100.7", "22"), "denied");
    let first = s.analyze(vec![]).unwrap();
    assert_eq!(q("10.0.0.23", "22"), "allowed");
    let lan = s.analyze(vec!["10.0.0.0/24".into()]).unwrap();
    assert_eq!(text(&list(&lan, "origins")[0], "name"), "10.0.0.0/24");
    let again = s.analyze(vec![]).unwrap();
    assert_eq!(list(&again, "exposures").len(), list(&first, "exposures").len());
    assert_eq!(q("198.51.100.7", "2222"), "allowed");
}

#[wasm_bindgen_test]
fn a_manifest_among_the_inputs_adds_its_origins_with_their_roles() {
    let mut files: Vec<JsValue> = SAMPLE.iter().map(|(name, text)| file(name, (*text).into(), "text")).collect();
    files.push(file("portolan.yaml", include_str!("../examples/portolan.yaml").into(), "text"));
    let s = session(&files);
    let report = s.analyze(vec![]).unwrap();
    let origins: Vec<(String, Option<String>)> =
        list(&report, "origins").iter().map(|o| (text(o, "name"), get(o, "role").as_string())).collect();
    assert_eq!(
        origins,
        [("internet".into(), None), ("vendor".into(), Some("vendor".into())), ("phished".into(), Some("employees".into()))]
    );
    // A manifest origin asked by name keeps its role, and its exposures go to that role.
    let vendor = s.analyze(vec!["vendor".into()]).unwrap();
    assert_eq!(get(&list(&vendor, "origins")[0], "role").as_string().as_deref(), Some("vendor"));
    let https = exposures_to(&vendor, "vendor", "203.0.113.2", "tcp", 443);
    assert_eq!(https.len(), 1);
    assert_eq!(text(&https[0], "owner"), "vendor");
    // Hosts the manifest names label the destinations.
    assert_eq!(text(&exposures_to(&report, "internet", "10.0.0.50", "tcp", 22)[0], "host"), "admin");
}

#[wasm_bindgen_test]
fn matrix_is_the_core_service_matrix_as_plain_json() {
    let s = sample();
    let ws = portolan::Workspace::load(SAMPLE.iter().map(|(name, text)| portolan::InputFile::new(*name, *text)).collect());
    for (sport, to_device) in [(None, false), (Some(1024), true)] {
        let got = s.matrix("tcp".into(), 22, sport, None, to_device).unwrap();
        let req = portolan::matrix::MatrixRequest { proto: "tcp".into(), dport: 22, sport, device: None, to_device };
        let want = serde_json::to_value(portolan::matrix::compute(&ws, &req).unwrap()).unwrap();
        let got: serde_json::Value = serde_json::from_str(&String::from(js_sys::JSON::stringify(&got).unwrap())).unwrap();
        assert_eq!(got, want);
        assert_eq!(got["direction"], if to_device { "input" } else { "forward" });
        assert!(got["classes"].as_array().is_some_and(|c| c.len() >= 2), "{got}");
    }
    // A blank device name is no device: the only firewall; an unknown one is an error naming those there are.
    assert!(s.matrix("tcp".into(), 22, None, Some(" ".into()), false).is_ok());
    let err = s.matrix("tcp".into(), 22, None, Some("nope".into()), false).unwrap_err();
    let msg = String::from(err.message());
    assert!(msg.contains("nope") && msg.contains("edge-fw"), "{msg}");
    let err = s.matrix("icmp".into(), 22, None, None, false).unwrap_err();
    assert!(String::from(err.message()).contains("tcp or udp"));
}
