//! PAN-OS reader: golden snapshots of fixtures written for the project (`tests/golden/panos/`),
//! the same configuration in its three forms (XML export, brace form, `set` lines) giving the
//! same model, engine-level answers through NAT and zones, and the corpus files of the format.
//!
//! `edge.conf` is an edge firewall: untrust (Internet), trust (two LANs), dmz (a web server
//! published by destination NAT); `edge.xml` and `edge.set` are the same configuration in the
//! XML export and in `set` lines.

use std::path::{Path, PathBuf};

use portolan::diag::{Diagnostic, FileStatus, Severity};
use portolan::model::{Firewall, Interface, Route};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::Analyzer;
use portolan::report::Verdict;
use portolan::{InputFile, Workspace};
use serde::Serialize;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/panos")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable")
}

fn load(name: &str) -> ParsedFile {
    parse::parse(0, name, &read(name))
}

#[derive(Serialize)]
struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    device: &'a Option<String>,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
    interfaces: &'a [Interface],
    routes: &'a [Route],
    firewall: Option<&'a Firewall>,
    diagnostics: &'a [Diagnostic],
}

fn snapshot(p: &ParsedFile) -> Snapshot<'_> {
    Snapshot {
        format: p.format,
        status: p.status(),
        device: &p.device_hint,
        lines_total: p.lines_total,
        lines_skipped: p.lines_skipped,
        lines_unrecognized: p.lines_unrecognized(),
        interfaces: &p.content.interfaces,
        routes: &p.content.routes,
        firewall: p.content.firewall.as_deref(),
        diagnostics: &p.diags,
    }
}

macro_rules! golden {
    ($test:ident, $file:expr) => {
        #[test]
        fn $test() {
            let p = load($file);
            assert_eq!(p.format, Format::PanOs, "{} is detected as PAN-OS", $file);
            insta::assert_json_snapshot!(stringify!($test), snapshot(&p));
        }
    };
}

golden!(edge_brace, "edge.conf");
golden!(edge_xml, "edge.xml");
golden!(edge_set, "edge.set");
golden!(errors, "errors.set");
golden!(vsys_and_panorama, "vsys-panorama.set");
golden!(nat_forms, "nat-forms.xml");

/// The model without provenance (lines and texts differ between forms by nature).
fn model_json(p: &ParsedFile) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("prov");
                m.remove("default_prov");
                for (_, x) in m.iter_mut() {
                    strip(x);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::json!({
        "device": p.device_hint,
        "interfaces": p.content.interfaces,
        "routes": p.content.routes,
        "firewall": p.content.firewall,
    });
    strip(&mut v);
    v
}

#[test]
fn three_forms_give_the_same_model() {
    let brace = load("edge.conf");
    let xml = load("edge.xml");
    let set = load("edge.set");
    for p in [&brace, &xml, &set] {
        assert_eq!(p.status(), FileStatus::Ok, "{:?}", p.diags);
    }
    assert_eq!(model_json(&brace), model_json(&xml), "brace form and XML export");
    assert_eq!(model_json(&brace), model_json(&set), "brace form and set lines");
    // Provenance points at the rule in each file.
    let rule_line = |p: &ParsedFile, text: &str| {
        let fw = p.content.firewall.as_ref().expect("firewall");
        fw.rulesets.iter().flat_map(|r| r.rules.iter()).find(|r| r.prov.text.contains(text)).map(|r| r.prov.line)
    };
    assert!(rule_line(&xml, "entry name=\"block-bad\"").is_some());
    assert!(rule_line(&brace, "block-bad {").is_some());
    assert!(rule_line(&set, "security rules block-bad").is_some());
}

fn workspace(name: &str) -> Workspace {
    Workspace::load(vec![InputFile::new(name, read(name))])
}

struct Answer {
    verdict: Verdict,
    rules: Vec<String>,
    nat: Vec<String>,
    text: String,
}

fn ask(an: &Analyzer, src: &str, dst: &str, proto: &str, port: &str) -> Answer {
    let r = an.flow(src, dst, proto, port, None).expect("flow is answered");
    let mut rules = Vec::new();
    let mut nat = Vec::new();
    for h in &r.hops {
        if let Some(rr) = &h.rule {
            rules.push(format!("{}:{} {}", rr.file, rr.line, rr.text));
        }
        for rr in &h.decisions {
            let s = format!("{}:{} {}", rr.file, rr.line, rr.text);
            if !rules.contains(&s) {
                rules.push(s);
            }
        }
        for n in &h.nat {
            nat.push(format!("{} {} -> {}", n.kind, n.from, n.to));
        }
    }
    let text = format!("{} {}: {} | rules {:?} | nat {:?} | uncertain {:?}", r.verdict.as_str(), r.reason, r.covers, rules, nat, r.uncertain);
    Answer { verdict: r.verdict, rules, nat, text }
}

fn line_of(file: &str, needle: &str) -> u32 {
    read(file).lines().position(|l| l.contains(needle)).map(|i| i as u32 + 1).expect("needle is in the fixture")
}

#[test]
fn engine_edge_firewall() {
    for file in ["edge.conf", "edge.xml", "edge.set"] {
        let ws = workspace(file);
        let an = Analyzer::new(&ws);
        // Outbound from trust: allowed by trust-out, source NAT to the untrust interface.
        let a = ask(&an, "10.1.0.5", "8.8.8.8", "tcp", "443");
        assert_eq!(a.verdict, Verdict::Allowed, "{file}: {}", a.text);
        assert!(a.nat.iter().any(|n| n.starts_with("masquerade") || n.contains("203.0.113.2")), "{file}: {}", a.text);
        // Denied by a named rule, at its line.
        let a = ask(&an, "198.51.100.66", "203.0.113.10", "tcp", "80");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        let want = match file {
            "edge.xml" => line_of(file, "entry name=\"block-bad\""),
            "edge.conf" => line_of(file, "block-bad {"),
            _ => line_of(file, "security rules block-bad"),
        };
        assert!(a.rules.iter().any(|r| r.starts_with(&format!("{file}:{want} "))), "{file}: {}", a.text);
        // Intrazone default: trust to trust (two interfaces) is allowed.
        let a = ask(&an, "10.1.0.5", "10.2.0.5", "tcp", "3389");
        assert_eq!(a.verdict, Verdict::Allowed, "{file}: {}", a.text);
        assert!(a.text.contains("intrazone-default"), "{file}: {}", a.text);
        // Interzone default: dmz to trust is denied.
        let a = ask(&an, "172.16.0.10", "10.1.0.5", "tcp", "22");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        assert!(a.text.contains("interzone-default"), "{file}: {}", a.text);
        // The disabled allow-all from untrust to trust is skipped.
        let a = ask(&an, "8.8.8.8", "10.1.0.5", "tcp", "22");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        assert!(a.text.contains("interzone-default"), "{file}: {}", a.text);
        // negate-source: everyone but 10.2.0.0/24 may ssh to the web server.
        let a = ask(&an, "10.1.0.5", "172.16.0.10", "tcp", "22");
        assert_eq!(a.verdict, Verdict::Allowed, "{file}: {}", a.text);
        let a = ask(&an, "10.2.0.5", "172.16.0.10", "tcp", "22");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        // Destination NAT: the public address reaches the DMZ server on port 8080; the
        // security rule names the public (pre-NAT) address and the dmz (post-NAT) zone.
        let a = ask(&an, "8.8.8.8", "203.0.113.10", "tcp", "80");
        assert_eq!(a.verdict, Verdict::Allowed, "{file}: {}", a.text);
        assert!(a.nat.iter().any(|n| n.starts_with("dnat") && n.contains("172.16.0.10:8080")), "{file}: {}", a.text);
        assert!(a.text.contains("web-in"), "{file}: {}", a.text);
        // The server's own address is not what web-in names: denied from untrust.
        let a = ask(&an, "8.8.8.8", "172.16.0.10", "tcp", "8080");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        // reset-both denies.
        let a = ask(&an, "8.8.8.8", "172.16.0.10", "tcp", "23");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        assert!(a.text.contains("no-telnet"), "{file}: {}", a.text);
        // A rule with an application: possibly.
        let a = ask(&an, "10.1.0.5", "172.16.0.10", "tcp", "80");
        assert_eq!(a.verdict, Verdict::Possibly, "{file}: {}", a.text);
        assert!(a.text.contains("web-browsing"), "{file}: {}", a.text);
        // Stateful: the DMZ server's DNS query gets its reply although nothing allows
        // untrust to dmz on udp.
        let a = ask(&an, "172.16.0.10", "9.9.9.9", "udp", "53");
        assert_eq!(a.verdict, Verdict::Allowed, "{file}: {}", a.text);
        // The firewall itself: ping and https are in the management profile, ssh is not.
        let a = ask(&an, "8.8.8.8", "203.0.113.2", "icmp", "8");
        assert_eq!(a.verdict, Verdict::Allowed, "{file}: {}", a.text);
        let a = ask(&an, "8.8.8.8", "203.0.113.2", "tcp", "22");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        // Management traffic from another zone's interface is interzone: denied.
        let a = ask(&an, "8.8.8.8", "10.1.0.1", "tcp", "443");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
        // The discard route.
        let a = ask(&an, "10.1.0.5", "10.99.1.1", "tcp", "80");
        assert_eq!(a.verdict, Verdict::Denied, "{file}: {}", a.text);
    }
}

#[test]
fn nat_rules_are_evaluated_on_the_original_packet() {
    let ws = workspace("nat-forms.xml");
    let an = Analyzer::new(&ws);
    // Static bidirectional NAT: the server's public address reaches it.
    let a = ask(&an, "8.8.8.8", "198.51.100.20", "tcp", "25");
    assert_eq!(a.verdict, Verdict::Allowed, "{}", a.text);
    assert!(a.nat.iter().any(|n| n.starts_with("dnat") && n.contains("10.0.2.20")), "{}", a.text);
    // And it goes out as its public address.
    let a = ask(&an, "10.0.2.20", "8.8.8.8", "tcp", "443");
    assert_eq!(a.verdict, Verdict::Allowed, "{}", a.text);
    assert!(a.nat.iter().any(|n| n.starts_with("snat") && n.contains("198.51.100.20")), "{}", a.text);
    // Other hosts use the pool.
    let a = ask(&an, "10.0.1.7", "8.8.8.8", "tcp", "443");
    assert_eq!(a.verdict, Verdict::Allowed, "{}", a.text);
    assert!(a.nat.iter().any(|n| n.starts_with("snat") && n.contains("198.51.100.50")), "{}", a.text);
    // The no-NAT rule placed first keeps the VPN traffic untranslated (first match).
    let a = ask(&an, "10.0.1.7", "192.168.50.5", "tcp", "443");
    assert_eq!(a.verdict, Verdict::Allowed, "{}", a.text);
    assert!(a.nat.is_empty(), "{}", a.text);
    // A translated port forward whose security rule is denied: the security policy decides
    // before translation.
    let a = ask(&an, "8.8.8.8", "198.51.100.30", "tcp", "2222");
    assert_eq!(a.verdict, Verdict::Denied, "{}", a.text);
    assert!(a.text.contains("deny-ssh-forward"), "{}", a.text);
}

#[test]
fn aerleon_rendering_is_tested_as_a_zone_pair() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/aerleon-rendered/out/xv_paloalto.xml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("corpus not present: skipped");
        return;
    };
    let ws = Workspace::load(vec![InputFile::new("xv_paloalto.xml", text)]);
    let an = Analyzer::new(&ws);
    let row = |src: &str, dst: &str, proto: &str, port: &str| portolan::reach::TestRow {
        src: src.into(),
        dst: dst.into(),
        proto: proto.into(),
        port: port.into(),
        sport: None,
        in_iface: None,
        out_iface: None,
        state: None,
    };
    let v = |r: portolan::reach::TestRow| an.test_filter("from-zone untrust to-zone dmz", &r).expect("filter found").verdict;
    assert_eq!(v(row("192.0.2.5", "200.1.1.1", "tcp", "80")), "denied", "bogon source");
    assert_eq!(v(row("8.8.8.8", "200.1.1.1", "tcp", "443")), "allowed");
    assert_eq!(v(row("8.8.8.8", "200.1.1.4", "tcp", "587")), "allowed");
    assert_eq!(v(row("8.8.8.8", "200.1.1.4", "udp", "53")), "allowed");
    assert_eq!(v(row("10.1.1.1", "200.1.1.2", "tcp", "22")), "allowed");
    assert_eq!(v(row("8.8.8.8", "200.1.1.2", "tcp", "22")), "denied");
    assert_eq!(v(row("8.8.8.8", "200.1.1.9", "tcp", "80")), "denied");
}

#[test]
fn hostile_and_broken_input_never_panics() {
    // Entity expansion needs a DTD: refused.
    let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE config [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<config><devices/><shared><address><entry name=\"&b;\"/></address></shared></config>\n";
    let p = parse::parse(0, "bomb.xml", bomb);
    assert!(p.diags.iter().any(|d| d.severity == Severity::Error), "{:?}", p.diags);
    // Deep nesting, unbalanced braces and truncations of every fixture.
    let deep = format!("deviceconfig {}\n", "{ a ".repeat(100_000));
    let _ = portolan::parse::parse(0, "deep", &deep);
    // Many statements deep down: linear time.
    let t0 = std::time::Instant::now();
    let deep = format!("deviceconfig {} {}\n", "a { ".repeat(20_000), "b c; ".repeat(100_000));
    let _ = portolan::parse::parse(0, "deep", &deep);
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "{:?}", t0.elapsed());
    let deep_xml = format!("<config><devices>{}</devices></config>", "<x>".repeat(50_000));
    let _ = portolan::parse::parse(0, "deep.xml", &deep_xml);
    for name in ["edge.conf", "edge.xml", "edge.set", "errors.set", "vsys-panorama.set", "nat-forms.xml"] {
        let text = read(name);
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let _ = panos_parse(&text[..cut]);
            }
            cut += 97;
        }
    }
}

fn panos_parse(text: &str) -> ParsedFile {
    parse::panos::parse(0, "cut", text)
}

#[test]
fn corpus_files_are_pan_os() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let dirs = [root.join("paloalto/batfish/testconfigs-brace-format"), root.join("paloalto/iron-skillet/sample-mgmt-static")];
    let mut n = 0;
    for d in &dirs {
        let Ok(rd) = std::fs::read_dir(d) else { continue };
        for e in rd.flatten() {
            let text = std::fs::read_to_string(e.path()).expect("readable");
            assert_eq!(parse::detect(&text), Format::PanOs, "{}", e.path().display());
            let p = parse::parse(0, "c", &text);
            assert_eq!(p.format, Format::PanOs);
            n += 1;
        }
    }
    for f in ["aerleon-rendered/out/xv_paloalto.xml", "aerleon-rendered/smoke/sample_paloalto.xml", "aerleon-rendered/smoke/sample_paloalto_yaml.xml"] {
        if let Ok(text) = std::fs::read_to_string(root.join(f)) {
            assert_eq!(parse::detect(&text), Format::PanOs, "{f}");
        }
    }
    if n == 0 {
        eprintln!("corpus not present: skipped");
    }
}

#[test]
fn cli_tests_a_zone_pair_of_the_aerleon_rendering() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/aerleon-rendered/out/xv_paloalto.xml");
    if !path.exists() {
        eprintln!("corpus not present: skipped");
        return;
    }
    let flows = golden_dir().join("aerleon-flows.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(["test", "--filter", "from-zone untrust to-zone dmz", "--flows"])
        .arg(&flows)
        .arg(&path)
        .output()
        .expect("portolan runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.len(), 8, "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    for l in &lines {
        assert_eq!(l["verdict"], l["expect"], "{l}");
    }
    // The ICMP rule names a custom application: possibly, with the reason.
    let icmp = lines.iter().find(|l| l["proto"] == "icmp").expect("icmp row");
    assert!(icmp.to_string().contains("icmp-echo-request"), "{icmp}");
}
