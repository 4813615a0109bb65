//! Findings: one golden fixture per code (`tests/golden/findings/<CODE>_*`), the CLI's output
//! formats and exit codes, SARIF validated against the SARIF 2.1.0 schema, and every iptables
//! ruleset of the corpus analysed without panic within a time budget.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use portolan::findings::{self, Finding};
use portolan::reach::{Analyzer, CNetwork};
use portolan::report::AnalyzeReport;
use portolan::{InputFile, Workspace};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/findings");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// Rules per file analysed by the corpus test in an unoptimised build.
const DEBUG_MAX_RULES: usize = 150;

fn files_under(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p).into_iter().flatten().filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        for x in v {
            files_under(&x, out);
        }
    } else if p.is_file() {
        out.push(p.to_path_buf());
    }
}

/// Load a fixture (a file, or a folder of a device's exports) with paths relative to the
/// golden folder, so reports do not depend on where the repository is.
fn load(name: &str) -> Workspace {
    let mut paths = Vec::new();
    files_under(&Path::new(GOLDEN).join(name), &mut paths);
    let files = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(GOLDEN).unwrap_or(p).to_string_lossy().into_owned();
            InputFile { path: rel, bytes: std::fs::read(p).expect("read fixture") }
        })
        .collect();
    Workspace::load(files)
}

fn report(ws: &Workspace) -> AnalyzeReport {
    let an = Analyzer::new(ws);
    let origins = an.default_origins();
    AnalyzeReport::build(&an, &origins)
}

/// The findings in a compact, reviewable form: one line per finding plus its sets, related
/// rules and witness.
fn golden_text(fs: &[Finding]) -> String {
    let mut s = String::new();
    for f in fs {
        s.push_str(&format!(
            "{} {} {} {:?} {}:{} [{}] owner={}\n  rule: {}\n  {}\n",
            f.code,
            f.severity.as_str(),
            serde_json::to_value(f.certainty).unwrap().as_str().unwrap(),
            f.name,
            f.file,
            f.line,
            f.ruleset,
            f.owner,
            f.text,
            f.message
        ));
        for x in &f.sets {
            s.push_str(&format!("  {}: {}\n", x.label, x.text));
        }
        for r in &f.related {
            s.push_str(&format!("  related: {}:{} {} ({})\n", r.file, r.line, r.text, r.action));
        }
        if let Some(w) = &f.witness {
            s.push_str(&format!("  witness: {}\n", serde_json::to_string(w).unwrap()));
        }
        for d in &f.depends_on {
            s.push_str(&format!("  depends on: {d}\n"));
        }
    }
    s
}

fn fixtures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(GOLDEN)
        .expect("golden folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() > 5 && n.as_bytes()[4] == b'_' && findings::code_info(&n[..4]).is_some())
        .collect();
    v.sort();
    v
}

#[test]
fn every_code_has_a_fixture_and_a_documentation_page() {
    let fx = fixtures();
    for c in findings::CODES {
        assert!(fx.iter().any(|f| f.starts_with(c.code)), "no fixture for {}", c.code);
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join(findings::help_path(c.code));
        let text = std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("{} is missing", page.display()));
        assert!(text.starts_with(&format!("# {} {}", c.code, c.name)), "{}", page.display());
        for h in ["## What it does", "## Why is this bad?", "## Example", "## How to fix"] {
            assert!(text.contains(h), "{} lacks {h:?}", page.display());
        }
        let index = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings/README.md")).unwrap();
        assert!(index.contains(&format!("[{}]({}.md)", c.code, c.code)), "the index lacks {}", c.code);
    }
}

#[test]
fn golden_findings_per_code() {
    for name in fixtures() {
        let ws = load(&name);
        let rep = report(&ws);
        let code = &name[..4];
        assert!(rep.findings.iter().any(|f| f.code == code), "{name}: no {code} finding:\n{}", golden_text(&rep.findings));
        insta::assert_snapshot!(format!("findings_{name}"), golden_text(&rep.findings));
    }
}

#[test]
fn golden_details() {
    let f = report(&load("R101_shadowed.rules")).findings;
    let at = |code: &str, line: u32| f.iter().find(|x| x.code == code && x.line == line).unwrap_or_else(|| panic!("{code} at {line}: {}", golden_text(&f)));
    // Covered by the earlier DROP of 10.0.0.0/8: the accept never happens.
    // Covered by the state rule (its established packets) and the DROP of 10.0.0.0/8.
    let s = at("R101", 8);
    assert_eq!(s.related.iter().map(|r| r.line).collect::<Vec<_>>(), vec![6, 7]);
    assert_eq!(s.severity, findings::Severity::High);
    // Covered by an accept alike: harmless.
    assert_eq!(at("R101", 10).severity, findings::Severity::Low);
    // The called chain only ever sees UDP.
    assert!(at("R101", 13).message.contains("enters filter/ssh_in"), "{}", at("R101", 13).message);
    // Contradictory conditions.
    assert!(at("R101", 12).message.contains("never hold together"));
    let u = report(&load("R105_unused.rules")).findings;
    assert!(u.iter().any(|x| x.code == "R105" && x.ruleset == "filter/block_bad_hosts" && x.line == 5));
    assert!(u.iter().any(|x| x.code == "R105" && x.ruleset == "filter/never_entered" && x.related.len() == 1));
    let x = report(&load("X201_risky")).findings;
    let rdp = x.iter().find(|x| x.code == "X201" && x.message.contains("rdp")).expect("rdp reachable");
    assert_eq!(rdp.severity, findings::Severity::Critical);
    assert_eq!(rdp.line, 16);
    assert_eq!(rdp.owner, "it");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portolan"))
}

fn run(args: &[&str]) -> Output {
    bin().current_dir(GOLDEN).args(args).output().expect("run portolan")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn cli_json_carries_findings_with_the_contract_fields() {
    let o = run(&["analyze", "--format", "json", "R101_shadowed.rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let fs = v["findings"].as_array().expect("findings");
    assert!(!fs.is_empty());
    for f in fs {
        for k in ["code", "severity", "device", "file", "line", "message", "owner"] {
            assert!(!f[k].is_null(), "{k} missing in {f}");
        }
    }
    assert!(fs.iter().any(|f| f["code"] == "R101" && f["line"] == 8 && f["file"] == "R101_shadowed.rules"));
}

#[test]
fn cli_text_markdown_and_findings_csv() {
    let t = out(&run(&["analyze", "R104_conflict.rules"]));
    assert!(t.contains("findings:"), "{t}");
    assert!(t.contains("R104 info"), "{t}");
    let m = out(&run(&["analyze", "--format", "markdown", "R104_conflict.rules"]));
    assert!(m.contains("## Findings"), "{m}");
    assert!(m.contains("| [R104](docs/findings/R104.md) | info |"), "{m}");
    let c = out(&run(&["analyze", "--format", "findings-csv", "R104_conflict.rules"]));
    let mut lines = c.lines();
    assert_eq!(lines.next(), Some("code,name,severity,certainty,device,ruleset,file,line,rule,message,sets,witness,owner"));
    assert!(lines.any(|l| l.starts_with("R104,conflicting-overlap,info,definite,R104_conflict,filter/FORWARD,R104_conflict.rules,6,")), "{c}");
    // The exposure CSV keeps its own columns.
    let e = out(&run(&["analyze", "--format", "csv", "R104_conflict.rules"]));
    assert!(e.starts_with("origin,from,ip,host,proto,ports,certainty,service,owner,path\n"), "{e}");
}

#[test]
fn cli_fail_on_a_severity() {
    assert_eq!(run(&["analyze", "--fail-on", "high", "R103_permissive.rules"]).status.code(), Some(1));
    assert_eq!(run(&["analyze", "--fail-on", "critical", "R103_permissive.rules"]).status.code(), Some(0));
    assert_eq!(run(&["analyze", "--fail-on", "low", "R102_redundant.rules"]).status.code(), Some(1));
}

fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let text = std::fs::read_to_string(Path::new(GOLDEN).join("sarif-2.1.0-rtm.5.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema json");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = "file:///sarif-2.1.0-rtm.5.json";
    compiler.add_resource(url, schema).expect("schema added");
    let idx = compiler.compile(url, &mut schemas).unwrap_or_else(|e| panic!("schema does not compile: {e:#}"));
    (schemas, idx)
}

#[test]
fn sarif_is_valid_and_complete() {
    let (schemas, idx) = sarif_validator();
    for name in fixtures() {
        let o = run(&["analyze", "--format", "sarif", &name]);
        assert!(o.status.code() == Some(0) || o.status.code() == Some(1), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("sarif is json");
        if let Err(e) = schemas.validate(&v, idx) {
            panic!("{name}: SARIF does not validate: {e:#}");
        }
        assert_eq!(v["version"], "2.1.0");
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let rules = runs[0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), findings::CODES.len());
        for (r, c) in rules.iter().zip(findings::CODES) {
            assert_eq!(r["id"], c.code);
            // The page itself travels with the rule; its path is named, and so is its address
            // when the package names its repository (SARIF wants an absolute helpUri).
            assert!(r["help"]["markdown"].as_str().unwrap().starts_with(&format!("# {} {}", c.code, c.name)));
            assert_eq!(r["properties"]["helpPath"], format!("docs/findings/{}.md", c.code));
            if let Some(u) = r["helpUri"].as_str() {
                assert!(u.ends_with(&format!("docs/findings/{}.md", c.code)), "{u}");
            }
        }
        let json: serde_json::Value = serde_json::from_slice(&run(&["analyze", "--format", "json", &name]).stdout).unwrap();
        let results = runs[0]["results"].as_array().unwrap();
        assert_eq!(results.len(), json["findings"].as_array().unwrap().len(), "{name}");
        for (res, f) in results.iter().zip(json["findings"].as_array().unwrap()) {
            assert_eq!(res["ruleId"], f["code"]);
            assert_eq!(rules[res["ruleIndex"].as_u64().unwrap() as usize]["id"], f["code"]);
            let loc = &res["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"].as_str().unwrap(), f["file"].as_str().unwrap());
            if f["line"].as_u64().unwrap() > 0 {
                assert_eq!(loc["region"]["startLine"], f["line"]);
            }
        }
    }
}

/// Every iptables-save file of the corpus: effective sets and rule findings, without panic,
/// within a budget that only catches pathological behaviour even in a debug build.
#[test]
fn corpus_iptables_rulesets_are_analysed() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        assert!(!ci, "the corpus folder {CORPUS} is missing in CI");
        eprintln!("note: corpus folder {CORPUS} not found: corpus findings test skipped");
        return;
    }
    let mut paths = Vec::new();
    files_under(root, &mut paths);
    let (mut n, mut rules, mut found, mut skipped) = (0usize, 0usize, 0usize, 0usize);
    let mut slowest = (Duration::ZERO, String::new());
    let start = Instant::now();
    for p in paths {
        let Ok(bytes) = std::fs::read(&p) else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        if portolan::parse::detect(text) != portolan::parse::Format::IptablesSave {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
        let ws = Workspace::load(vec![InputFile { path: rel.clone(), bytes }]);
        let net = CNetwork::build(&ws.network);
        let size: usize = net.devices.iter().flat_map(|d| d.rulesets.iter()).map(|r| r.rules.len()).sum();
        // Unoptimised builds analyse only the smaller rulesets; `cargo test --release` runs all.
        if cfg!(debug_assertions) && size > DEBUG_MAX_RULES {
            skipped += 1;
            continue;
        }
        let t = Instant::now();
        let fs = findings::check_rules(&ws, &net);
        let dt = t.elapsed();
        if dt > slowest.0 {
            slowest = (dt, rel);
        }
        n += 1;
        rules += net.devices.iter().flat_map(|d| d.rulesets.iter()).map(|r| r.rules.len()).sum::<usize>();
        found += fs.len();
        for f in &fs {
            assert!(findings::code_info(f.code).is_some());
            assert!(!f.message.is_empty());
        }
    }
    let total = start.elapsed();
    eprintln!(
        "corpus/iptables: {n} files, {rules} rules, {found} findings in {total:?}; slowest {} in {:?}; {skipped} larger rulesets skipped in this unoptimised build",
        slowest.1, slowest.0
    );
    assert!(n > 0, "no iptables-save file found in the corpus");
    assert!(total < Duration::from_secs(300), "analysing corpus iptables rulesets took {total:?}");
}
