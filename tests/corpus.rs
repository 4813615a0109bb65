//! Corpus test: every third-party file in `../shared/corpus` that Portolan detects as one of the
//! formats it reads (firewall and router configurations, `ip addr` / `ip route` dumps, scans) is
//! parsed (it must not panic) and its parse coverage is compared with the committed table `tests/corpus_coverage.tsv`.
//! Every `.xml` file under `nmap/` must be detected as nmap XML, every file under `nessus/` as a
//! Nessus export and every file under `openvas/` as an OpenVAS report.
//!
//! A file whose coverage drops, or that disappears (no longer found, or no longer detected as one
//! of these formats), fails the test. Files not yet in the table are listed. After an intended
//! change, rewrite the table with:
//!
//! ```text
//! UPDATE_CORPUS_COVERAGE=1 cargo test --test corpus
//! ```
//!
//! Without the corpus folder the test is skipped with a note, except in CI (`CI` set), where the
//! corpus always exists and its absence is a failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portolan::parse::{self, Format};
use portolan::report::ParseReport;
use portolan::{InputFile, Workspace};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus_coverage.tsv");
const HEADER: &str = "path\tformat\tlines\tunrecognized\tcoverage%";

/// Formats this test follows.
fn covered(f: Format) -> bool {
    matches!(
        f,
        Format::IptablesSave
            | Format::IpAddr
            | Format::IpAddrJson
            | Format::IpRoute
            | Format::IpRouteJson
            | Format::NmapXml
            | Format::Nftables
            | Format::NftablesJson
            | Format::CiscoIos
            | Format::CiscoAsa
            | Format::Junos
            | Format::PanOs
            | Format::FortiGate
            | Format::PfSense
            | Format::BatfishHost
            | Format::Nessus
            | Format::OpenVas
    )
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    format: String,
    lines: u32,
    unrecognized: u32,
    coverage: f64,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn read_table() -> BTreeMap<String, Row> {
    let Ok(text) = std::fs::read_to_string(TABLE) else { return BTreeMap::new() };
    let mut rows = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [path, format, lines, unrec, cov] = cols[..] else { panic!("{TABLE}:{}: expected 5 columns", i + 1) };
        let row = Row {
            format: format.to_string(),
            lines: lines.parse().expect("lines"),
            unrecognized: unrec.parse().expect("unrecognized"),
            coverage: cov.parse().expect("coverage"),
        };
        rows.insert(path.to_string(), row);
    }
    rows
}

fn write_table(rows: &BTreeMap<String, Row>) {
    let mut s = String::from(HEADER);
    s.push('\n');
    for (path, r) in rows {
        let _ = writeln!(s, "{path}\t{}\t{}\t{}\t{:.1}", r.format, r.lines, r.unrecognized, r.coverage);
    }
    std::fs::write(TABLE, s).expect("write the coverage table");
}

#[test]
fn corpus_coverage_does_not_regress() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        assert!(!in_ci(), "the corpus folder {CORPUS} is missing in CI");
        eprintln!("note: corpus folder {CORPUS} not found: corpus coverage test skipped");
        return;
    }
    let mut paths = Vec::new();
    files_under(root, &mut paths);
    let mut current: BTreeMap<String, Row> = BTreeMap::new();
    let mut iptables_time = Duration::ZERO;
    let mut iptables_files = 0;
    let mut slowest = (Duration::ZERO, String::new());
    let mut undetected_scans = Vec::new();
    for path in &paths {
        let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
        let Ok(bytes) = std::fs::read(path) else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        let format = parse::detect(text);
        if rel.starts_with("nmap/") && rel.ends_with(".xml") && format != Format::NmapXml {
            undetected_scans.push(format!("{rel}: detected as {}", format.label()));
        }
        for (folder, want) in [("nessus/", Format::Nessus), ("openvas/", Format::OpenVas)] {
            if rel.starts_with(folder) && format != want {
                undetected_scans.push(format!("{rel}: detected as {}, not {}", format.label(), want.label()));
            }
        }
        if !covered(format) {
            continue;
        }
        let t0 = Instant::now();
        let ws = std::panic::catch_unwind(|| Workspace::load(vec![InputFile::new(rel.clone(), text)]))
            .unwrap_or_else(|_| panic!("parsing {rel} panicked"));
        let dt = t0.elapsed();
        if rel.starts_with("iptables/") {
            iptables_time += dt;
            iptables_files += 1;
        }
        if dt > slowest.0 {
            slowest = (dt, rel.clone());
        }
        let report = ParseReport::build(&ws);
        let input = report.inputs.first().expect("one input");
        assert_eq!(input.format, format.label(), "{rel}: detection and parse disagree");
        current.insert(
            rel,
            Row {
                format: input.format.clone(),
                lines: input.lines.total,
                unrecognized: input.lines.unrecognized,
                coverage: input.coverage,
            },
        );
    }

    let full = current.values().filter(|r| r.coverage >= 100.0).count();
    let lowest = current.iter().min_by(|a, b| a.1.coverage.total_cmp(&b.1.coverage));
    eprintln!(
        "corpus: {} files followed ({} at 100% coverage); lowest: {}",
        current.len(),
        full,
        lowest.map_or("none".to_string(), |(p, r)| format!("{p} {:.1}%", r.coverage))
    );
    for fmt in [
        Format::IptablesSave,
        Format::IpAddr,
        Format::IpAddrJson,
        Format::IpRoute,
        Format::IpRouteJson,
        Format::NmapXml,
        Format::Nftables,
        Format::NftablesJson,
        Format::CiscoIos,
        Format::CiscoAsa,
        Format::Junos,
        Format::PanOs,
        Format::FortiGate,
        Format::PfSense,
        Format::BatfishHost,
        Format::Nessus,
        Format::OpenVas,
    ] {
        let rows: Vec<&Row> = current.values().filter(|r| r.format == fmt.label()).collect();
        if !rows.is_empty() {
            let full = rows.iter().filter(|r| r.coverage >= 100.0).count();
            eprintln!("  {}: {} files, {} at 100%", fmt.label(), rows.len(), full);
        }
    }
    eprintln!(
        "corpus/iptables: {iptables_files} files parsed in {iptables_time:?}; slowest file {} in {:?}",
        slowest.1, slowest.0
    );
    assert!(undetected_scans.is_empty(), "scan files not detected as their format:\n{}", undetected_scans.join("\n"));
    // A generous bound that only catches pathological (quadratic) behaviour, even in debug builds.
    assert!(iptables_time < Duration::from_secs(60), "parsing corpus/iptables took {iptables_time:?}");

    if std::env::var_os("UPDATE_CORPUS_COVERAGE").is_some() {
        write_table(&current);
        eprintln!("rewrote {TABLE} ({} rows)", current.len());
        return;
    }

    let committed = read_table();
    assert!(
        !committed.is_empty(),
        "{TABLE} is missing or empty: run UPDATE_CORPUS_COVERAGE=1 cargo test --test corpus"
    );
    let mut failures = Vec::new();
    for (path, old) in &committed {
        match current.get(path) {
            None => failures.push(format!("{path}: disappeared (was {} at {:.1}%)", old.format, old.coverage)),
            Some(new) if new.format != old.format => {
                failures.push(format!("{path}: detected as {} (was {})", new.format, old.format))
            }
            Some(new) if new.coverage + 0.05 < old.coverage => failures.push(format!(
                "{path}: coverage dropped from {:.1}% to {:.1}% ({} → {} unrecognized lines)",
                old.coverage, new.coverage, old.unrecognized, new.unrecognized
            )),
            Some(_) => {}
        }
    }
    let new_files: Vec<&String> = current.keys().filter(|p| !committed.contains_key(*p)).collect();
    if !new_files.is_empty() {
        eprintln!("files not yet in the table (add them with UPDATE_CORPUS_COVERAGE=1): {new_files:?}");
    }
    let improved =
        committed.iter().filter(|(p, old)| current.get(*p).is_some_and(|n| n.coverage > old.coverage + 0.05)).count();
    if improved > 0 {
        eprintln!("{improved} files improved: refresh the table with UPDATE_CORPUS_COVERAGE=1");
    }
    assert!(failures.is_empty(), "corpus coverage regressed:\n{}", failures.join("\n"));
}
