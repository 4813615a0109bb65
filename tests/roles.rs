//! Reports for each role: the responsibility map, the management summary and the auditor's
//! evidence pack.

use std::path::Path;

#[path = "support/inputs.rs"]
mod inputs;

use portolan::reach::Analyzer;
use portolan::report::roles::{self, Figures};
use portolan::report::AnalyzeReport;
use portolan::{InputFile, Workspace};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/attack");
const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/policy/policy.yaml");
const OWNERS: [&str; 5] = ["it", "management", "vendor", "employees", "auditor"];


fn analyse(extra: Vec<InputFile>) -> (Workspace, AnalyzeReport) {
    let mut v = inputs::dir_inputs(Path::new(SCENARIO), &["portolan.yaml"]);
    v.extend(extra);
    let ws = Workspace::load_with_manifest(v, Some(InputFile::new("policy.yaml", std::fs::read_to_string(POLICY).unwrap())));
    let r = {
        let an = Analyzer::new(&ws);
        AnalyzeReport::build(&an, &an.default_origins())
    };
    (ws, r)
}

#[test]
fn the_responsibility_map_gives_every_owner_their_actions_by_risk() {
    let (_, r) = analyse(vec![]);
    let m = roles::responsibilities(&r);
    assert!(m.owners.keys().all(|o| OWNERS.contains(&o.as_str())), "{:?}", m.owners.keys());
    for list in m.owners.values() {
        assert!(list.windows(2).all(|w| w[0].risk >= w[1].risk));
        assert!(list.iter().all(|a| !a.what.is_empty()));
    }
    let all = roles::actions(&r);
    // The proven choke points come first; the vendor's scope violation is the vendor's; the
    // matrix allowance nothing implements is management's.
    assert_eq!(all[0].kind, "change");
    let vendor = &m.owners["vendor"];
    assert!(vendor.iter().any(|a| a.kind == "violation" && a.what.starts_with("V2") && a.evidence.starts_with("policy.yaml:37")), "{vendor:?}");
    assert!(m.owners["management"].iter().any(|a| a.kind == "unused-policy" && a.what.contains("tcp/80")));
    let it = &m.owners["it"];
    assert!(it.iter().any(|a| a.kind == "violation" && a.what.starts_with("NO-LAN-DB") && a.evidence.contains("core/core.iptables:13")), "{it:?}");
    // Every report item is somewhere on the map.
    let total: usize = m.owners.values().map(Vec::len).sum();
    assert_eq!(total, r.attack.choke_points.changes.len() + r.violations.len() + r.attack.attack_paths.iter().filter(|p| p.rank == 1).count() + r.findings.len() + r.exposure.exposures.len() + r.unused_policy.len());
}

#[test]
fn the_management_summary_says_how_exposed_the_trend_and_three_actions() {
    let (_, r) = analyse(vec![]);
    let s = roles::summary_markdown(&r, None);
    assert!(s.contains("From the Internet**, 2 services can be reached"), "{s}");
    assert!(s.contains("3 of the threat origins can reach the crown jewels (db (10.20.2.5))"), "{s}");
    assert!(s.contains(&format!("**Policy**: {} violations", r.violations.len())), "{s}");
    assert_eq!(s.matches("\n1. ").count() + s.matches("\n2. ").count() + s.matches("\n3. ").count(), 3, "{s}");
    assert!(s.contains("leaves no attack path to the crown jewels"), "{s}");
    assert!(!s.contains("Since the previous run"));
    // The trend against an earlier JSON report, read back from its JSON form.
    let earlier: serde_json::Value = serde_json::to_value(&r).unwrap();
    let prev = Figures::of_json(&earlier).unwrap();
    assert_eq!(prev, Figures::of(&r));
    let worse = Figures { violations: prev.violations + 4, internet_exposures: prev.internet_exposures.saturating_sub(1), ..prev.clone() };
    let s = roles::summary_markdown(&r, Some(&worse));
    assert!(s.contains(&format!("Policy violations: {} (down from {})", prev.violations, prev.violations + 4)), "{s}");
    assert!(s.contains(&format!("Services reachable from the Internet: {} (up from {})", prev.internet_exposures, prev.internet_exposures - 1)), "{s}");
    assert!(s.contains("Threat origins reaching crown jewels: 3 (unchanged)"), "{s}");
}

#[test]
fn the_evidence_pack_hashes_every_input_and_lists_every_possible_with_why() {
    // An unmodelled match (-m recent) makes results "possible"; the pack says why.
    let extra = InputFile::new("notes/abc.txt", "abc");
    let (ws, r) = analyse(vec![extra]);
    let p = roles::evidence(&ws, &r);
    assert_eq!(p.inputs.len(), ws.files.len());
    // SHA-256("abc"), the FIPS 180-2 test vector.
    let abc = p.inputs.iter().find(|i| i.path == "notes/abc.txt").unwrap();
    assert_eq!(abc.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert!(p.inputs.iter().all(|i| i.sha256.len() == 64));
    let md = roles::evidence_markdown(&p);
    assert!(md.contains("| notes/abc.txt | `ba7816bf") && md.contains("## Results that are only possible"), "{md}");
    let mut v = inputs::dir_inputs(Path::new(SCENARIO), &["portolan.yaml"]);
    for f in &mut v {
        if f.path == "core/core.iptables" {
            let t = String::from_utf8(f.bytes.clone()).unwrap().replace("-A FORWARD -s 10.20.3.0/24 -d 10.20.2.5/32", "-A FORWARD -s 10.20.3.0/24 -m recent --rcheck --name friends -d 10.20.2.5/32");
            f.bytes = t.into_bytes();
        }
    }
    let ws = Workspace::load_with_manifest(v, Some(InputFile::new("policy.yaml", std::fs::read_to_string(POLICY).unwrap())));
    let an = Analyzer::new(&ws);
    let r = AnalyzeReport::build(&an, &an.default_origins());
    let p = roles::evidence(&ws, &r);
    let recent: Vec<_> = p.possible.iter().filter(|x| x.because.iter().any(|b| b.contains("core/core.iptables:13") && b.contains("recent"))).collect();
    assert!(recent.iter().any(|x| x.kind == "exposure" && x.what.contains("10.20.2.5")), "{:?}", p.possible);
    assert!(recent.iter().any(|x| x.kind == "attack-step"), "{:?}", p.possible);
}
