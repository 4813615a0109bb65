//! The `portolan` command line: output contracts and exit codes (DESIGN.md, "CLI contract").

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portolan"))
}

fn sample() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/www/samples/edge-fw").to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run portolan")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("portolan-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn parse_json_reports_every_input() {
    let d = tmpdir("parse");
    std::fs::copy(format!("{}/edge-fw.iptables", sample()), d.join("fw1.rules")).unwrap();
    std::fs::write(d.join("notes.txt"), "this is not a firewall export\n").unwrap();
    std::fs::write(d.join("binary.bin"), [0xff, 0xfe, 0x00, 0x80]).unwrap();
    let o = run(&["parse", "--json", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    let by = |suffix: &str| inputs.iter().find(|i| i["path"].as_str().unwrap().ends_with(suffix)).unwrap().clone();
    assert_eq!(by("fw1.rules")["format"], "iptables-save");
    assert_eq!(by("fw1.rules")["status"], "ok");
    assert_eq!(by("notes.txt")["status"], "unsupported");
    assert_eq!(by("notes.txt")["diagnostics"][0]["code"], "P009");
    assert_eq!(by("binary.bin")["status"], "failed");
    // Files in a folder belong to the device named by the folder.
    assert_eq!(v["devices"].as_array().unwrap().len(), 1);
    assert_eq!(v["devices"][0]["name"].as_str().unwrap(), d.file_name().unwrap().to_str().unwrap());
}

#[test]
fn parse_text_names_unrecognized_lines_with_file_and_line() {
    let d = tmpdir("unrec");
    std::fs::write(
        d.join("fw.rules"),
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -m recent --name x --rcheck -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let o = run(&["parse", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("fw.rules:3: P002"), "{out}");
    assert!(out.contains("partial"), "{out}");
}

#[test]
fn query_text_and_json_explain_hops() {
    let o = run(&["query", "--from", "198.51.100.7", "--to", "203.0.113.2", "--proto", "tcp", "--port", "443", &sample()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.starts_with("allowed"), "{out}");
    assert!(out.contains("dnat 203.0.113.2:443 → 192.168.10.20:443"), "{out}");
    assert!(out.contains("edge-fw.iptables:19"), "{out}");
    let o = run(&["query", "--json", "--from", "198.51.100.7", "--to", "203.0.113.2", "--port", "22", &sample()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verdict"], "denied");
    let hop = &v["results"][0]["hops"][0];
    assert_eq!(hop["device"], "edge-fw");
    assert_eq!(hop["in_iface"], "eth0");
    assert_eq!(hop["path"], "input");
    assert!(hop["rule"]["file"].as_str().unwrap().ends_with("edge-fw.iptables"));
    assert!(hop["rule"]["line"].as_u64().unwrap() > 0);
    assert_eq!(hop["rule"]["action"], "drop");
}

#[test]
fn flows_csv_gives_one_json_line_per_row_in_order() {
    let d = tmpdir("flows");
    let csv = d.join("flows.csv");
    std::fs::write(
        &csv,
        "src,dst,proto,port\n198.51.100.7,203.0.113.2,tcp,80\n198.51.100.7,203.0.113.2,tcp,22\n10.0.0.5,203.0.113.2,tcp,22\n10.0.0.5,8.8.8.8,udp,53\n198.51.100.7,203.0.113.2,icmp,echo-request\n",
    )
    .unwrap();
    let o = run(&["query", "--flows", csv.to_str().unwrap(), &sample()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let verdicts: Vec<&str> = lines.iter().map(|l| l["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["allowed", "denied", "allowed", "allowed", "allowed"]);
    assert_eq!(lines[1]["port"], "22");
    assert_eq!(lines[1]["src"], "198.51.100.7");
    assert!(lines[0]["hops"].as_array().unwrap().len() >= 2);
}

#[test]
fn flows_with_a_bad_row_report_it_and_exit_2() {
    let d = tmpdir("badflows");
    let csv = d.join("flows.csv");
    std::fs::write(&csv, "src,dst,proto,port\nnot-an-ip,203.0.113.2,tcp,80\n198.51.100.7,203.0.113.2,tcp,80\n").unwrap();
    let o = run(&["query", "--flows", csv.to_str().unwrap(), &sample()]);
    assert_eq!(o.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines[0]["error"].as_str().unwrap().contains("flows.csv:2"));
    assert_eq!(lines[1]["verdict"], "allowed");
}

#[test]
fn test_filter_names_the_matching_rule() {
    let d = tmpdir("test");
    let csv = d.join("flows.csv");
    std::fs::write(
        &csv,
        "src,dst,proto,port,in_iface,out_iface\n10.0.0.5,192.168.10.20,tcp,443,eth2,eth1\n10.0.0.5,192.168.10.20,tcp,25,eth2,eth1\n",
    )
    .unwrap();
    let o = run(&["test", "--flows", csv.to_str().unwrap(), "--filter", "FORWARD", &sample()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["verdict"], "allowed");
    assert_eq!(lines[0]["rule"]["line"], 22);
    assert_eq!(lines[1]["verdict"], "denied");
    assert!(lines[1]["rule"]["text"].as_str().unwrap().contains("-j DROP"));
    // Several filters and none chosen: a usage error naming them.
    let o = run(&["test", "--flows", csv.to_str().unwrap(), &sample()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("filter/FORWARD"));
}

#[test]
fn usage_and_unreadable_input_exit_2() {
    assert_eq!(run(&["query", "--from", "1.2.3.4", &sample()]).status.code(), Some(2));
    assert_eq!(run(&["parse", "/nonexistent/portolan"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    let o = run(&["query", "--from", "zone:dmz", "--to", "1.2.3.4", &sample()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("manifest"));
}

#[test]
fn analyze_json_lists_inputs_origins_and_exposures() {
    let o = run(&["analyze", "--format", "json", &sample()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(v["origins"][0]["name"], "internet");
    let ex = v["exposures"].as_array().unwrap();
    let web = ex
        .iter()
        .find(|e| e["ip"] == "203.0.113.2" && e["proto"] == "tcp" && e["ports"] == "443")
        .expect("the HTTPS port forward is exposed");
    assert_eq!(web["certainty"], "definite");
    assert_eq!(web["owner"], "it");
    assert_eq!(web["hops"][0]["nat"][0]["to"], "192.168.10.20:443");
    assert!(ex.iter().all(|e| e["owner"].is_string() && e["hops"].is_array()));
    // SSH to the firewall itself is not exposed.
    assert!(!ex.iter().any(|e| e["ip"] == "203.0.113.2" && e["proto"] == "tcp" && e["ports"] == "22"));
}

#[test]
fn analyze_fail_on_gates_exit_1_only_when_matched() {
    let o = run(&["analyze", "--fail-on", "internet:tcp/443", &sample()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--fail-on"));
    let o = run(&["analyze", "--fail-on", "internet:tcp/3389,udp/161", &sample()]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["analyze", "--fail-on", "internet:tcp/notaport", &sample()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn analyze_csv_and_markdown() {
    let o = run(&["analyze", "--format", "csv", "--from", "10.0.0.0/24", &sample()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.starts_with("origin,from,ip,host,proto,ports,certainty,service,owner,path\n"), "{out}");
    assert!(out.lines().skip(1).all(|l| l.starts_with("10.0.0.0/24,")));
    let o = run(&["analyze", "--format", "markdown", &sample()]);
    let out = stdout(&o);
    assert!(out.contains("## From internet"), "{out}");
    assert!(out.contains("| definite | 203.0.113.2 (edge-fw) | tcp/443 |"), "{out}");
}

#[test]
fn analyze_html_is_one_inert_page_with_every_exposure() {
    let json = run(&["analyze", "--format", "json", &attack_scenario()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let o = run(&["analyze", "--format", "html", &attack_scenario()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.starts_with("<!doctype html>"), "{}", &out[..200.min(out.len())]);
    assert!(!out.to_ascii_lowercase().contains("<script"), "no script");
    // Nothing outside the file: no URL to load, and a policy that would refuse one.
    assert!(!out.contains("src=") && !out.contains("href="), "no reference out");
    assert!(out.contains("default-src 'none'"));
    // The style's hash in the policy is the hash of the style it carries.
    let style = out.split("<style>").nth(1).and_then(|x| x.split("</style>").next()).unwrap();
    use sha2::Digest;
    let digest = sha2::Sha256::digest(style.as_bytes());
    let b64 = {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in digest.chunks(3) {
            let n = c.iter().enumerate().fold(0u32, |a, (i, &x)| a | (x as u32) << (16 - 8 * i));
            for i in 0..4 {
                s.push(if i <= c.len() { T[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
            }
        }
        s
    };
    assert!(out.contains(&format!("style-src 'sha256-{b64}'")), "the policy allows exactly the style it carries");
    for e in v["exposures"].as_array().unwrap() {
        let ip = e["ip"].as_str().unwrap();
        assert!(out.contains(ip), "exposure of {ip} missing");
    }
    for p in v["attack_paths"].as_array().unwrap() {
        assert!(out.contains(p["target"].as_str().unwrap()));
    }
    assert!(out.contains("<h2>Attack paths to the crown jewels</h2>"));
}

#[test]
fn analyze_uses_manifest_origins_roles_and_host_names() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portolan.yaml");
    let o = run(&["analyze", "--format", "json", "--manifest", manifest, &sample()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = v["origins"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["internet", "vendor", "phished"]);
    let ex = v["exposures"].as_array().unwrap();
    // The vendor reaches the web server through the port forward; the vendor owns it.
    let vendor_web = ex.iter().find(|e| e["origin"] == "vendor" && e["ip"] == "192.168.10.20" && e["ports"] == "443").unwrap();
    assert_eq!(vendor_web["host"], "web");
    assert_eq!(vendor_web["owner"], "vendor");
    // A phished workstation reaches the firewall's SSH: the employees' side of the risk.
    let ssh = ex.iter().find(|e| e["origin"] == "phished" && e["ip"] == "10.0.0.1" && e["proto"] == "tcp" && e["ports"] == "22").unwrap();
    assert_eq!(ssh["owner"], "employees");
    // Endpoints named by the manifest work in questions too.
    let o = run(&["query", "--manifest", manifest, "--from", "phished", "--to", "host:db", "--port", "5432", &sample()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).starts_with("allowed"), "{}", stdout(&o));
}

#[test]
fn scan_that_contradicts_the_configs_reports_both_facts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/scan-contradicts");
    let o = run(&["analyze", "--format", "json", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ex = v["exposures"].as_array().unwrap();
    let get = |ip: &str, port: &str| ex.iter().find(|e| e["ip"] == ip && e["proto"] == "tcp" && e["ports"] == port).cloned();
    // Configs allow tcp/443 to the web server; the scan saw it filtered: both are reported.
    let https = get("192.168.10.20", "443").expect("configs expose tcp/443");
    assert_eq!(https["certainty"], "definite");
    let fact = https["scan"][0].as_str().unwrap();
    assert!(fact.contains("dmz-scan.xml:14") && fact.contains("filtered"), "{fact}");
    // The same through the port forward.
    assert!(get("203.0.113.2", "443").unwrap()["scan"][0].as_str().unwrap().contains("filtered"));
    // Port 80: the service the scan found.
    assert_eq!(get("192.168.10.20", "80").unwrap()["service"], "tcp/80 http nginx 1.24.0");
    assert_eq!(get("192.168.10.20", "80").unwrap()["host"], "www.example.test");
    // Port 8443: open per the scan, reached by no origin per the configs.
    let notes = v["scan_notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("192.168.10.20 tcp/8443 is open per the scan")), "{notes:?}");
    assert!(get("192.168.10.20", "8443").is_none());
}

#[test]
fn exposure_rows_merge_alike_neighbours_and_skip_broadcasts() {
    let o = run(&["analyze", "--format", "json", "--from", "10.0.0.100-10.0.0.199", &sample()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ex = v["exposures"].as_array().unwrap();
    // 192.168.10.20 is cut out by the rules that name it, but LAN clients reach the whole DMZ
    // alike: one row for the range.
    assert!(
        ex.iter().any(|e| e["ip"] == "192.168.10.2-192.168.10.254" && e["proto"] == "tcp" && e["ports"] == "22,80,443"),
        "{:#?}",
        ex.iter().map(|e| format!("{} {} {}", e["ip"], e["proto"], e["ports"])).collect::<Vec<_>>()
    );
    // Broadcast addresses answer no TCP, on the client's own subnet or beyond a router.
    assert!(!ex.iter().any(|e| e["ip"].as_str().unwrap().ends_with(".255") && e["proto"] == "tcp"));
}

fn attack_scenario() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/attack").to_string()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn analyze_json_carries_attack_paths_and_choke_points() {
    let o = run(&["analyze", "--format", "json", &attack_scenario()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let paths = v["attack_paths"].as_array().unwrap();
    let vendor = paths.iter().find(|p| p["origin"] == "vendor" && p["rank"] == 1).expect("a vendor path");
    assert_eq!(vendor["target"], "10.20.2.5");
    assert_eq!(vendor["owner"], "vendor");
    assert!(vendor["likelihood"].as_f64().unwrap() > 0.0);
    let steps = vendor["steps"].as_array().unwrap();
    assert_eq!(steps[0]["from"], "vendor");
    assert_eq!(steps[0]["to"], "10.20.1.10");
    assert_eq!(steps[0]["proto"], "tcp");
    assert_eq!(steps[0]["port"], 22);
    assert!(steps[0]["service"].as_str().unwrap().contains("OpenSSH"));
    assert!(steps[0]["why"].as_str().unwrap().contains("SSH"));
    assert!(steps[0]["hops"].as_array().unwrap().iter().any(|h| h["rule"]["line"] == 11));
    assert_eq!(steps[1]["from"], "10.20.1.10");
    assert_eq!(v["choke_points"]["proven"], true);
    assert_eq!(v["crown_jewels"][0][1], "db");
    // Text and Markdown show them too.
    let t = stdout(&run(&["analyze", &attack_scenario()]));
    assert!(t.contains("attack paths to the crown jewels (db (10.20.2.5))"), "{t}");
    assert!(t.contains("choke points:"), "{t}");
    let m = stdout(&run(&["analyze", "--format", "markdown", &attack_scenario()]));
    assert!(m.contains("## Attack paths to the crown jewels") && m.contains("### Choke points"), "{m}");
    let c = stdout(&run(&["analyze", "--format", "paths-csv", &attack_scenario()]));
    let mut lines = c.lines();
    assert!(lines.next().unwrap().starts_with("origin,target,target_name,rank,shortest,likelihood,certainty,owner,step,from,to"));
    assert!(lines.any(|l| l.starts_with("vendor,10.20.2.5,db,1,true,") && l.contains(",1,vendor,10.20.1.10,app,tcp,22,")), "{c}");
}

#[test]
fn diff_names_what_a_change_adds_and_gates_ci() {
    let d = tmpdir("diff");
    let (old, new) = (d.join("old"), d.join("new"));
    copy_dir(std::path::Path::new(&attack_scenario()), &old);
    copy_dir(std::path::Path::new(&attack_scenario()), &new);
    // Identical inputs: nothing to report, exit 0 even with every gate.
    let o = run(&["diff", "--fail-on", "internet", "--fail-on", "paths", "--fail-on", "low", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("no change"), "{}", stdout(&o));
    // Open SSH on the web shop to the Internet.
    let fw = new.join("edge/edge.iptables");
    let text = std::fs::read_to_string(&fw).unwrap().replace("--dport 443 -m conntrack", "-m multiport --dports 22,443 -m conntrack");
    std::fs::write(&fw, text).unwrap();
    let o = run(&["diff", "--format", "json", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let added = v["exposures_added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0]["changed_ports"], "22");
    assert_eq!(added[0]["exposure"]["origin"], "internet");
    assert_eq!(added[0]["exposure"]["ip"], "192.168.10.20");
    assert!(v["exposures_removed"].as_array().unwrap().is_empty());
    assert_eq!(run(&["diff", "--fail-on", "internet:tcp/22", old.to_str().unwrap(), new.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(run(&["diff", "--fail-on", "internet:tcp/3389", old.to_str().unwrap(), new.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(run(&["diff", "--fail-on", "vendor", old.to_str().unwrap(), new.to_str().unwrap()]).status.code(), Some(0));
    // Backwards, the same exposure is removed.
    let v: serde_json::Value = serde_json::from_str(&stdout(&run(&["diff", "--format", "json", new.to_str().unwrap(), old.to_str().unwrap()]))).unwrap();
    assert_eq!(v["exposures_removed"][0]["changed_ports"], "22");
}

#[test]
fn check_exits_1_on_violations_writes_sarif_and_needs_a_manifest() {
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/policy/policy.yaml");
    let o = run(&["check", "--manifest", policy, &attack_scenario()]);
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(t.contains("NO-LAN-DB") && t.contains("violated") && t.contains("core/core.iptables:13"), "{t}");
    let o = run(&["check", "--format", "json", "--manifest", policy, &attack_scenario()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let viol = v["violations"].as_array().unwrap();
    let lan = viol.iter().find(|x| x["id"] == "NO-LAN-DB").unwrap();
    for k in ["id", "kind", "certainty", "owner", "witness", "hops"] {
        assert!(!lan[k].is_null(), "{k} missing");
    }
    assert_eq!(lan["witness"]["dst"], "10.20.2.5");
    assert_eq!(lan["witness"]["port"], 5432);
    let o = run(&["check", "--format", "sarif", "--manifest", policy, &attack_scenario()]);
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), viol.len());
    let r = results.iter().find(|r| r["message"]["text"].as_str().unwrap().starts_with("NO-LAN-DB")).unwrap();
    assert_eq!(r["ruleId"], "must-not-reach");
    assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], 26);
    assert!(r["relatedLocations"].as_array().unwrap().iter().any(|l| l["physicalLocation"]["region"]["startLine"] == 13));
    // The scenario's own manifest declares no policy: nothing is violated.
    assert_eq!(run(&["check", &attack_scenario()]).status.code(), Some(0));
    // Without a manifest there is nothing to check.
    assert_eq!(run(&["check", &sample()]).status.code(), Some(2));
    // analyze carries the same violations; diff names the ones a change resolves.
    let a: serde_json::Value = serde_json::from_str(&stdout(&run(&["analyze", "--format", "json", "--manifest", policy, &attack_scenario()]))).unwrap();
    assert_eq!(a["violations"].as_array().unwrap().len(), viol.len());
    let d = tmpdir("check-diff");
    let new = d.join("new");
    copy_dir(std::path::Path::new(&attack_scenario()), &new);
    let fw = new.join("core/core.iptables");
    let text: String = std::fs::read_to_string(&fw).unwrap().lines().filter(|l| !l.contains("reporting tool")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&fw, text).unwrap();
    let o = run(&["diff", "--format", "json", "--manifest", policy, &attack_scenario(), new.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let gone: Vec<&str> = v["violations_removed"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert!(gone.contains(&"NO-LAN-DB") && gone.contains(&"matrix:zone:lan->zone:data"), "{gone:?}");
    assert!(v["violations_added"].as_array().unwrap().is_empty());
    assert_eq!(run(&["diff", "--fail-on", "violations", "--manifest", policy, new.to_str().unwrap(), &attack_scenario()]).status.code(), Some(1));
}

#[test]
fn role_reports_summary_responsibilities_and_evidence() {
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/policy/policy.yaml");
    let d = tmpdir("roles");
    let prev = d.join("prev.json");
    std::fs::write(&prev, stdout(&run(&["analyze", "--format", "json", &attack_scenario()]))).unwrap();
    let o = run(&["analyze", "--format", "summary", "--previous", prev.to_str().unwrap(), "--manifest", policy, &attack_scenario()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = stdout(&o);
    assert!(s.starts_with("# Network security summary") && s.contains("Policy violations: 6 (up from 0)"), "{s}");
    let r = stdout(&run(&["analyze", "--format", "responsibilities", "--manifest", policy, &attack_scenario()]));
    assert!(r.contains("## vendor") && r.contains("## management") && r.contains("## it"), "{r}");
    let e = stdout(&run(&["analyze", "--format", "evidence", &attack_scenario()]));
    assert!(e.contains("| File | SHA-256 |"), "{e}");
    let j: serde_json::Value = serde_json::from_str(&stdout(&run(&["analyze", "--format", "evidence-json", &attack_scenario()]))).unwrap();
    assert_eq!(j["inputs"].as_array().unwrap().len(), 9);
    assert!(j["inputs"].as_array().unwrap().iter().all(|i| i["sha256"].as_str().unwrap().len() == 64));
    // A previous report that is not one: usage error.
    std::fs::write(&prev, "{\"not\": 1}").unwrap();
    assert_eq!(run(&["analyze", "--format", "summary", "--previous", prev.to_str().unwrap(), &attack_scenario()]).status.code(), Some(2));
}
