//! Tests of the nftables reader: golden snapshots of fixtures in `tests/golden/nftables/`
//! (model and diagnostics), engine-level answers on rulesets of our own, the equivalence of the
//! text and JSON forms of the same ruleset, and the agreement of the nft reading with the
//! iptables-nft-save reading of the same kernel ruleset (corpus, `generated-netns`).

use std::path::{Path, PathBuf};

use portolan::diag::{Diagnostic, FileStatus, Severity};
use portolan::model::{Action, Cond, Family, Firewall, Hook, Ruleset, Stage, Test};
use portolan::parse::{self, Format, ParsedFile};
use portolan::reach::{Analyzer, TestRow};
use portolan::{InputFile, Workspace};
use serde::Serialize;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/nftables")
}

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

fn load(name: &str) -> ParsedFile {
    let text = std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable");
    parse::parse(0, name, &text)
}

/// What a snapshot holds.
#[derive(Serialize)]
struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
    firewall: Option<&'a Firewall>,
    diagnostics: &'a [Diagnostic],
}

fn snapshot(p: &ParsedFile) -> Snapshot<'_> {
    Snapshot {
        format: p.format,
        status: p.status(),
        lines_total: p.lines_total,
        lines_skipped: p.lines_skipped,
        lines_unrecognized: p.lines_unrecognized(),
        firewall: p.content.firewall.as_ref(),
        diagnostics: &p.diags,
    }
}

fn fw(p: &ParsedFile) -> &Firewall {
    p.content.firewall.as_ref().expect("a firewall")
}

fn chain<'a>(p: &'a ParsedFile, table: &str, name: &str) -> &'a Ruleset {
    fw(p)
        .rulesets
        .iter()
        .find(|r| r.table == table && r.name == name)
        .unwrap_or_else(|| panic!("no chain {table}/{name}"))
}

fn index_of(p: &ParsedFile, table: &str, name: &str) -> usize {
    fw(p).rulesets.iter().position(|r| r.table == table && r.name == name).expect("chain")
}

/// A rule that is not fully modelled always has a warning on its line.
fn assert_unknowns_are_reported(p: &ParsedFile) {
    let Some(f) = &p.content.firewall else { return };
    for r in f.rulesets.iter().flat_map(|rs| &rs.rules) {
        let partial = !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_));
        if partial {
            assert!(
                p.diags.iter().any(|d| d.line == r.prov.line && d.severity >= Severity::Warning),
                "line {} is not fully modelled but has no warning: {}",
                r.prov.line,
                r.prov.text
            );
        }
    }
}

/// The model of a firewall without provenance: rulesets (name, table, family, default, rules'
/// conditions, unknown count and action) and hooks.
fn shape(f: &Firewall) -> String {
    let mut s = String::new();
    for (i, rs) in f.rulesets.iter().enumerate() {
        s.push_str(&format!("#{i} {}/{} {:?} default {:?}\n", rs.table, rs.name, rs.family, rs.default));
        for r in &rs.rules {
            // texts of non-deciding and unknown statements may be written differently
            let action = match &r.action {
                Action::Continue(_) => "continue".to_string(),
                Action::Unknown(_) => "unknown".to_string(),
                a => format!("{a:?}"),
            };
            s.push_str(&format!("  {:?} unknown {} -> {action}\n", r.conds, r.unknown.len()));
        }
    }
    for h in &f.hooks {
        s.push_str(&format!("hook {:?} {:?} {} #{} {:?}\n", h.hook, h.stage, h.priority, h.ruleset, h.family));
    }
    s
}

/// Every fixture has a test below (a new fixture without one fails here).
#[test]
fn every_fixture_is_tested() {
    let src = include_str!("parse_nftables.rs");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(golden_dir()).expect("fixture folder") {
        let name = e.expect("entry").file_name().to_string_lossy().to_string();
        if !src.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

// ---------------------------------------------------------------------------------------------
// Text and JSON of the same rulesets (corpus: real nft 1.0.6 output)
// ---------------------------------------------------------------------------------------------

#[test]
fn text_and_json_of_the_corpus_rulesets_give_the_same_model() {
    let Some(c) = corpus() else { return };
    let dir = c.join("nftables/generated-netns");
    let mut pairs = 0;
    let inputs = std::fs::read_to_string(dir.join("inputs.tsv")).expect("inputs.tsv");
    for e in std::fs::read_dir(&dir).expect("corpus folder") {
        let p = e.expect("entry").path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".nft-list-ruleset.nft") else { continue };
        let jp = dir.join(format!("{stem}.nft-j-list-ruleset.json"));
        let text = std::fs::read_to_string(&p).unwrap();
        let json = std::fs::read_to_string(&jp).unwrap();
        // rulesets loaded with iptables-nft hold xt compatibility expressions, which `nft -j`
        // names without their options: only the chains and hooks can agree there
        let native = !inputs.lines().any(|l| l.starts_with("ipt\t") && l.split('\t').nth(1) == Some(stem));
        let a = parse::parse(0, &name, &text);
        let b = parse::parse(1, "j", &json);
        assert_eq!(a.format, Format::Nftables, "{name}");
        assert_eq!(b.format, Format::NftablesJson, "{stem} json");
        match (&a.content.firewall, &b.content.firewall) {
            (Some(x), Some(y)) if !native => {
                let names = |f: &Firewall| f.rulesets.iter().map(|r| format!("{}/{} {:?}", r.table, r.name, r.default)).collect::<Vec<_>>();
                assert_eq!(names(x), names(y), "{stem}");
                let hooks = |f: &Firewall| shape(f).lines().filter(|l| l.starts_with("hook")).map(str::to_string).collect::<Vec<_>>();
                assert_eq!(hooks(x), hooks(y), "{stem}");
            }
            (Some(x), Some(y)) => {
                let (sx, sy) = (shape(x), shape(y));
                if sx != sy {
                    let diff: Vec<String> = sx
                        .lines()
                        .zip(sy.lines())
                        .filter(|(l, r)| l != r)
                        .take(5)
                        .map(|(l, r)| format!("text: {l}\njson: {r}"))
                        .collect();
                    panic!("{stem}: text and JSON differ:\n{}", diff.join("\n"));
                }
            }
            (None, None) => {}
            _ => panic!("{stem}: one form has a firewall, the other not"),
        }
        // the same rules are not fully modelled in both
        let warn = |p: &ParsedFile| p.diags.iter().filter(|d| d.severity >= Severity::Warning).count();
        if native {
            assert_eq!(warn(&a) > 0, warn(&b) > 0, "{stem}: {:?}\n{:?}", a.diags, b.diags);
        }
        pairs += 1;
    }
    assert!(pairs >= 15, "only {pairs} text/JSON pairs found");
}

// ---------------------------------------------------------------------------------------------
// The nft reading against the iptables-nft-save reading of the same kernel ruleset
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (no dependency needed for test data).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() as usize) % v.len()]
    }
}

/// Addresses, ports and interface names the rules name (and their neighbours).
fn flow_material(f: &Firewall) -> (Vec<String>, Vec<u16>, Vec<String>) {
    let mut addrs = vec!["192.0.2.1".to_string(), "10.0.0.1".to_string()];
    let mut ports = vec![22u16, 80, 443, 1, 65535];
    let mut ifaces = vec!["eth0".to_string()];
    for r in f.rulesets.iter().flat_map(|rs| &rs.rules) {
        for c in &r.conds {
            match &c.test {
                Test::Src(v) | Test::Dst(v) => {
                    for a in v {
                        if let (std::net::IpAddr::V4(lo), std::net::IpAddr::V4(hi)) = (a.lo, a.hi) {
                            addrs.push(lo.to_string());
                            addrs.push(hi.to_string());
                            let below = u32::from(lo).wrapping_sub(1);
                            addrs.push(std::net::Ipv4Addr::from(below).to_string());
                        }
                    }
                }
                Test::Dport(v) | Test::Sport(v) => {
                    for &(lo, hi) in v {
                        ports.extend([lo, hi, lo.saturating_sub(1), hi.saturating_add(1)]);
                    }
                }
                Test::InIface(n) | Test::OutIface(n) => {
                    ifaces.push(n.strip_suffix('+').map_or_else(|| n.clone(), |p| format!("{p}7")));
                }
                _ => {}
            }
        }
    }
    addrs.sort();
    addrs.dedup();
    ports.sort_unstable();
    ports.dedup();
    ifaces.sort();
    ifaces.dedup();
    (addrs, ports, ifaces)
}

#[test]
fn nft_and_iptables_nft_save_readings_decide_the_same() {
    let Some(c) = corpus() else { return };
    let dir = c.join("nftables/generated-netns");
    let mut compared = 0usize;
    let mut definite = 0usize;
    for stem in [
        "aerleon-xv_speedway",
        "batfish-z2-firewall",
        "corny-docker-topos4.1",
        "medium-sized-company",
        "openlab-stettenstr",
        "TUM-i8-2016-06-27-macfixed",
    ] {
        let ipt = std::fs::read_to_string(dir.join(format!("{stem}.iptables-nft-save.txt"))).unwrap();
        let nft = std::fs::read_to_string(dir.join(format!("{stem}.nft-list-ruleset.nft"))).unwrap();
        let wa = Workspace::load(vec![InputFile::new("a/rules.v4", ipt)]);
        let wb = Workspace::load(vec![InputFile::new("b/ruleset.nft", nft)]);
        let (aa, ab) = (Analyzer::new(&wa), Analyzer::new(&wb));
        let pa = &wa.files[0].parsed;
        let fa = fw(pa);
        let (addrs, ports, ifaces) = flow_material(fa);
        let mut rng = Lcg(0x5eed ^ stem.len() as u64);
        for rs in &fa.rulesets {
            if !fa.hooks.iter().any(|h| fa.rulesets.get(h.ruleset).is_some_and(|x| std::ptr::eq(x, rs))) {
                continue;
            }
            let fa_name = format!("a:{}/{}", rs.table, rs.name);
            let fb_name = format!("b:ip {}/{}", rs.table, rs.name);
            if !ab.filters().contains(&fb_name) {
                // iptables-nft-save lists every built-in chain, nft only those that exist
                assert!(rs.rules.is_empty() && rs.default == Some(Action::Accept), "{stem}: {fb_name} missing");
                continue;
            }
            let flows = if stem.starts_with("TUM") { 150 } else { 300 };
            for _ in 0..flows {
                let proto = *rng.pick(&["tcp", "tcp", "udp", "icmp"]);
                let port = if proto == "icmp" { rng.pick(&["echo-request", "echo-reply", "destination-unreachable"]).to_string() } else { rng.pick(&ports).to_string() };
                let row = TestRow {
                    src: rng.pick(&addrs).clone(),
                    dst: rng.pick(&addrs).clone(),
                    proto: proto.into(),
                    port,
                    sport: Some(*rng.pick(&ports)),
                    in_iface: Some(rng.pick(&ifaces).clone()),
                    out_iface: Some(rng.pick(&ifaces).clone()),
                    state: Some(rng.pick(&["new", "new", "established", "related", "invalid"]).to_string()),
                };
                let x = aa.test_filter(&fa_name, &row).unwrap_or_else(|e| panic!("{stem} {fa_name}: {e}"));
                let y = ab.test_filter(&fb_name, &row).unwrap_or_else(|e| panic!("{stem} {fb_name}: {e}"));
                assert_eq!(x.verdict, y.verdict, "{stem} {}/{}: {row:?}\niptables: {x:?}\nnft: {y:?}", rs.table, rs.name);
                compared += 1;
                definite += usize::from(x.verdict != "possibly");
            }
        }
    }
    eprintln!("{compared} flows compared, {definite} with a definite verdict");
    assert!(compared > 5000 && definite * 2 > compared, "{compared} flows, {definite} definite");
}
