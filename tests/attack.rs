//! Attack paths, choke points and what-if on the scenario written for them
//! (`tests/golden/scenarios/attack`: an edge firewall with a DMZ web shop and a vendor VPN, a
//! core firewall in front of the application, database and office LAN; nmap and Nessus scans).

use std::path::Path;

use portolan::attack::{self, Options};
use portolan::reach::Analyzer;
use portolan::{InputFile, Workspace};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/scenarios/attack");

fn files(dir: &Path, base: &Path, out: &mut Vec<InputFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.push(InputFile::new(rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

fn scenario() -> Workspace {
    let mut v = Vec::new();
    files(Path::new(SCENARIO), Path::new(SCENARIO), &mut v);
    Workspace::load(v)
}

#[test]
fn print() {
    let ws = scenario();
    for f in &ws.files {
        eprintln!("{} {:?} {:?} hosts={} diags={}", f.path, f.parsed.format, f.device, f.parsed.content.hosts.len(), f.parsed.diags.len());
    }
    let an = Analyzer::new(&ws);
    let rep = attack::analyze(&an, &an.default_origins(), &Options::default());
    eprintln!("{}", serde_json::to_string_pretty(&rep.choke_points).unwrap());
    for p in &rep.attack_paths {
        eprintln!("{} -> {} rank {} shortest {} p={:.3} {:?} owner {}", p.origin, p.target, p.rank, p.shortest, p.likelihood, p.certainty, p.owner);
        for s in &p.steps {
            eprintln!("   {} -> {} {}/{} {} p={:.2}", s.from, s.to, s.proto, s.port, s.why, s.likelihood);
        }
    }
    eprintln!("{:?}", rep.attack_notes);
}

#[test]
fn dbg_whatif() {
    let ws = scenario();
    let (w2, miss) = portolan::whatif::apply(&ws, &[portolan::whatif::Edit::DeleteRule { file: "edge/edge.iptables".into(), line: 11 }]);
    eprintln!("miss {miss:?}");
    let an = Analyzer::new(&w2);
    let r = an.query(&portolan::reach::QueryRequest { from: "vendor".into(), to: "10.20.1.10".into(), proto: "6".into(), port: Some("22".into()), sport: None }).unwrap();
    eprintln!("{:?} {}", r.verdict, serde_json::to_string(&r.results[0].hops).unwrap());
}
