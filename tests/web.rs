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
