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
    for (i, code) in [(0, "P008"), (1, "P009")] {
        let input = inputs.get(i);
        assert_eq!(get(&input, "status").as_string().as_deref(), Some("unsupported"));
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

#[wasm_bindgen_test]
fn query_answers_with_a_report_or_a_message() {
    let s = session(&[file("fw1.iptables", RULES.into(), "text")]);
    match s.query("10.0.0.5".into(), "device:fw1".into(), "tcp".into(), Some("22".into())) {
        Ok(report) => {
            let verdict = get(&report, "verdict").as_string().unwrap_or_default();
            assert!(["allowed", "denied", "possibly"].contains(&verdict.as_str()), "verdict {verdict}");
        }
        Err(e) => {
            let msg = String::from(e.message());
            assert!(!msg.is_empty());
        }
    }
}
