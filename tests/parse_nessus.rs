//! Golden tests for the Nessus reader: each fixture in `tests/golden/nessus/` is written for
//! the project (never copied from a real scan) and is detected by content, parsed, and its
//! scan information, hosts with their services and findings, and diagnostics are snapshotted.
//!
//! `two-hosts.nessus` holds what a v2 export carries (policy, host properties, findings on
//! ports and host-wide, CVSS v2/v3/v4, CVEs, exploit flags, a multi-paragraph remedy, the scan
//! information plugin); `bad-values.nessus` the faults a damaged or hand-edited file has;
//! `truncated.nessus` an export cut short; `v1.nessus` the old format; `entity-bomb.nessus` a
//! file declaring DTD entities. The corpus test reads the third-party exports under
//! `../shared/corpus/nessus` by path when they are present.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portolan::diag::{codes, FileStatus, Severity as DiagSeverity};
use portolan::model::{Host, Severity, Vulnerability};
use portolan::parse::{self, Format, ParsedFile};
use portolan::report::ParseReport;
use portolan::{InputFile, Workspace};

#[allow(dead_code)]
mod support;
#[path = "support/scan.rs"]
mod scan;
use scan::{codes_of, counts, snapshot, Counts};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/nessus")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable")
}

fn load(name: &str) -> ParsedFile {
    parse::parse(0, name, &read(name))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn host<'a>(p: &'a ParsedFile, addr: &str) -> &'a Host {
    p.content.hosts.iter().find(|h| h.addrs.contains(&ip(addr))).unwrap_or_else(|| panic!("no host {addr}"))
}

fn vuln<'a>(h: &'a Host, id: &str) -> &'a Vulnerability {
    h.vulns.iter().find(|v| v.id == id).unwrap_or_else(|| panic!("no finding {id}"))
}

#[test]
fn every_fixture_is_tested() {
    let missing = support::untested_fixtures(&golden_dir(), include_str!("parse_nessus.rs"));
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let $p = load($file);
            assert_eq!($p.format, Format::Nessus, "detected format of {}", $file);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(two_hosts, "two-hosts.nessus", |p| {
    assert_eq!(p.status(), FileStatus::Ok, "{:?}", p.diags);
    assert!(p.diags.is_empty(), "{:?}", p.diags);
    let scan = p.content.scan.as_ref().expect("scan info");
    assert_eq!(scan.scanner, "Nessus 10.7.2");
    assert_eq!(scan.args, "policy \"Quarterly internal\", scan \"lab sweep\"");
    assert_eq!(scan.started, "2024/4/2 10:01 UTC");
    assert_eq!(scan.scanned, [("ports".to_string(), "1-65535".to_string())]);

    let h = host(&p, "192.0.2.10");
    assert_eq!(h.names, ["app1.lab.example"], "the fqdn and the same reverse name once");
    assert_eq!(h.os.as_deref(), Some("Linux Kernel 5.15 on Ubuntu 22.04"), "the first guess");
    assert_eq!(h.prov.line, 29);
    let sev: Vec<Severity> = h.vulns.iter().map(|v| v.severity).collect();
    assert_eq!(sev, [Severity::Info, Severity::Medium, Severity::High, Severity::Critical, Severity::Info]);
    let ports: Vec<(u8, u16, Option<&str>)> = h.services.iter().map(|s| (s.proto, s.port, s.name.as_deref())).collect();
    assert_eq!(ports, [(6, 22, Some("ssh")), (6, 443, Some("www")), (17, 161, Some("snmp"))], "one service per port");
    assert_eq!(h.services[1].prov.line, 64, "the first finding on the port");

    let info = vuln(h, "19506");
    assert_eq!((info.proto, info.port), (None, None), "port 0 is the host as a whole");
    assert_eq!(info.solution, None, "n/a is no remedy");

    let ssh = vuln(h, "900001");
    assert_eq!((ssh.proto, ssh.port, ssh.service.as_deref()), (Some(6), Some(22), Some("ssh")));
    assert_eq!(ssh.cves, ["CVE-2023-48795"]);
    let v2 = ssh.cvss2.as_ref().expect("CVSS v2");
    assert_eq!((v2.score, v2.vector.as_deref()), (4.3, Some("AV:N/AC:M/Au:N/C:P/I:N/A:N")), "without CVSS2#");
    let v3 = ssh.cvss3.as_ref().expect("CVSS v3");
    assert_eq!((v3.score, v3.vector.as_deref()), (5.3, Some("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N")));
    assert!(!ssh.exploit_available);
    assert_eq!(ssh.prov.line, 51);
    assert_eq!(ssh.prov.text, "Nessus plugin 900001 \"SSH Weak Key Exchange Algorithms Enabled\" on tcp/22 (medium)");

    let rce = vuln(h, "900002");
    assert_eq!(rce.cves, ["CVE-2021-41773", "CVE-2021-42013"], "upper case, duplicates once");
    assert!(rce.exploit_available);
    assert_eq!(rce.solution.as_deref(), Some("Upgrade the web server to 2.4.51 or later."), "the first paragraph");
    assert_eq!(rce.cvss3.as_ref().map(|c| c.score), Some(9.8));
    assert!(rce.cvss2.is_none());

    let snmp = vuln(h, "900003");
    assert_eq!((snmp.proto, snmp.port), (Some(17), Some(161)));
    let v4 = snmp.cvss4.as_ref().expect("CVSS v4");
    assert_eq!(v4.score, 9.3);
    assert!(v4.vector.as_deref().is_some_and(|v| v.starts_with("CVSS:4.0/AV:N")));

    let w = host(&p, "2001:db8:5::20");
    assert_eq!(w.names, ["FILESRV"]);
    assert_eq!(w.os.as_deref(), Some("Microsoft Windows Server 2019"));
    assert_eq!(w.services[0].name.as_deref(), Some("www"), "the uncertain mark is dropped");
    assert!(vuln(w, "900005").exploit_available, "an exploit framework has it");
    let icmp = vuln(w, "900006");
    assert_eq!((icmp.proto, icmp.port), (None, None));
    assert_eq!(icmp.cvss2.as_ref().map(|c| (c.score, c.vector.clone())), Some((2.1, None)));

    // The prologue, the comment line and the blank lines inside texts are skipped; everything
    // else is read.
    assert_eq!(p.lines_skipped, 4);
    assert_eq!(p.lines_unrecognized(), 0);
});

golden!(bad_values, "bad-values.nessus", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    let (b, u, s) = (codes::BAD_VALUE, codes::UNRECOGNIZED, codes::STRUCTURE);
    assert_eq!(
        codes_of(&p),
        [
            (6, b),
            (8, b),
            (11, b),
            (13, b),
            (15, b),
            (18, b),
            (20, s),
            (21, b),
            (22, b),
            (24, b),
            (26, s),
            (30, u),
            (31, u),
            (36, u),
            (40, s),
            (47, u)
        ]
    );
    let infos: Vec<u32> = p.diags.iter().filter(|d| d.severity == DiagSeverity::Info).map(|d| d.line).collect();
    assert_eq!(infos, [20, 31], "a vector without a score, and a descriptive element once");

    // The bad host-ip is not kept; the host's name is its address.
    let h = host(&p, "192.0.2.30");
    assert_eq!(h.addrs.len(), 1);
    let sev = |id: &str| vuln(h, id).severity;
    assert_eq!(sev("910001"), Severity::High, "from the risk factor");
    assert_eq!(sev("910002"), Severity::Info, "nothing rates it");
    let named_port = vuln(h, "910003");
    assert_eq!((named_port.proto, named_port.port), (None, None), "kept for the host as a whole");
    assert_eq!(vuln(h, "910004").port, None);
    let scores = vuln(h, "910005");
    assert!(scores.cvss2.is_none() && scores.cvss3.is_none() && scores.cvss4.is_none());
    assert_eq!(scores.cves, ["CVE-2020-0796"]);
    assert!(!scores.exploit_available);
    assert!(h.vulns.iter().all(|v| v.name != "No plugin id"), "a finding without an id is not kept");
    assert_eq!(h.vulns.len(), 7);
    // Services only for the findings that name a port and a protocol.
    let ports: Vec<u16> = h.services.iter().map(|s| s.port).collect();
    assert_eq!(ports, [80, 81, 82, 84, 85]);

    let printer = p.content.hosts.iter().find(|h| h.addrs.is_empty()).expect("the host without an address");
    assert_eq!(printer.names, ["printer", "PRN01"]);
    assert_eq!(printer.vulns.len(), 1);
    assert!(p.diags.iter().any(|d| d.line == 40 && d.reason.contains("without an IP address")));
    // The unknown <Geo> element's body and the finding without an id are unread.
    assert!(p.unread_lines.contains(&38) && p.unread_lines.contains(&27));
});

golden!(truncated, "truncated.nessus", |p| {
    assert_eq!(p.status(), FileStatus::Partial);
    assert_eq!(p.content.hosts.len(), 2);
    assert_eq!(p.content.hosts[1].vulns.len(), 1, "the finding cut short is not read");
    assert_eq!(p.content.hosts[1].vulns[0].id, "920002");
    let [d] = &p.diags[..] else { panic!("{:?}", p.diags) };
    assert_eq!((d.line, d.code), (p.lines_total, codes::STRUCTURE));
    assert!(d.reason.contains("ends before the Nessus report does"), "{}", d.reason);
    assert!(d.reason.contains("read the 2 complete findings up to line 17"), "{}", d.reason);
    assert!(d.reason.contains("the 3 lines after it are not read"), "{}", d.reason);
    assert_eq!(p.lines_unrecognized(), 3);
    assert_eq!(p.content.scan.as_ref().map(|s| s.args.as_str()), Some("policy \"Interrupted export\", scan \"cut short\""));
});

golden!(v1_is_refused, "v1.nessus", |p| {
    assert_eq!(p.status(), FileStatus::Failed);
    assert_eq!(codes_of(&p), [(2, codes::UNREADABLE)]);
    assert!(p.diags[0].reason.contains("v1"), "{}", p.diags[0].reason);
    assert!(p.content.scan.is_some(), "still a scan, never a device");
});

golden!(entity_bomb, "entity-bomb.nessus", |p| {
    assert_eq!(p.status(), FileStatus::Failed);
    assert_eq!(codes_of(&p), [(2, codes::UNREADABLE)]);
    assert!(p.content.hosts.is_empty());
});

#[test]
fn entity_bomb_is_refused_quickly() {
    let t0 = Instant::now();
    let p = load("entity-bomb.nessus");
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(p.diags[0].reason.contains("billion laughs"), "{}", p.diags[0].reason);
}

#[test]
fn malformed_middle_keeps_what_comes_before() {
    let text = read("two-hosts.nessus").replace("<cvss4_base_score>9.3</cvss4_base_score>", "<cvss4_base_score>9.3</cvss4_score>");
    let p = parse::parse(0, "x.nessus", &text);
    assert_eq!(p.status(), FileStatus::Partial);
    let h = host(&p, "192.0.2.10");
    let ids: Vec<&str> = h.vulns.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["19506", "900001", "900002"], "up to the last complete finding");
    assert!(p.diags.iter().any(|d| d.code == codes::STRUCTURE && d.reason.contains("malformed at line 84")), "{:?}", p.diags);
}

#[test]
fn hostile_prefixes_never_panic() {
    let text = read("two-hosts.nessus");
    for cut in (0..text.len()).filter(|&i| text.is_char_boundary(i)).step_by(11) {
        let p = parse::parse(0, "x.nessus", &text[..cut]);
        if p.format == Format::Nessus {
            assert!(p.content.scan.is_some(), "a Nessus file is always a scan");
        }
    }
}

#[test]
fn scans_attach_to_hosts_and_list_their_findings() {
    let ws = Workspace::load(vec![InputFile::new("lab.nessus", read("two-hosts.nessus"))]);
    assert!(ws.network.devices.is_empty(), "a scan is not a device");
    let rep = ParseReport::build(&ws);
    let h = rep.hosts.iter().find(|h| h.addresses == ["192.0.2.10"]).expect("host in the report");
    let v = h.vulnerabilities.as_ref().expect("counted findings");
    assert_eq!((v.critical, v.high, v.medium, v.low, v.info, v.exploitable, v.host_wide), (1, 1, 1, 0, 2, 1, 1));
    assert_eq!(v.text(), "1 critical, 1 high, 1 medium, 2 info (1 with a public exploit)");
    assert!(h.open.contains(&"tcp/443 www · 1 high, 1 info (1 with a public exploit)".to_string()), "{:?}", h.open);
}

/// A synthetic report with `n` findings over `n / 50` hosts.
fn synthetic(n: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\" ?>\n<NessusClientData_v2>\n<Policy><policyName>bulk</policyName></Policy>\n<Report name=\"bulk\">\n");
    for h in 0..n / 50 {
        s.push_str(&format!(
            "<ReportHost name=\"10.{}.{}.{}\"><HostProperties>\n<tag name=\"host-ip\">10.{}.{}.{}</tag>\n</HostProperties>\n",
            h >> 16,
            (h >> 8) & 255,
            h & 255,
            h >> 16,
            (h >> 8) & 255,
            h & 255
        ));
        for i in 0..50 {
            s.push_str(&format!(
                "<ReportItem port=\"{}\" svc_name=\"svc\" protocol=\"tcp\" severity=\"{}\" pluginID=\"{}\" pluginName=\"Finding {i}\">\n\
                 <cve>CVE-2024-{:05}</cve>\n<cvss3_base_score>7.5</cvss3_base_score>\n<cvss3_vector>CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N</cvss3_vector>\n\
                 <description>A description\nover two lines.</description>\n<solution>Upgrade.</solution>\n</ReportItem>\n",
                1000 + i % 20,
                i % 5,
                100_000 + i,
                i
            ));
        }
        s.push_str("</ReportHost>\n");
    }
    s.push_str("</Report>\n</NessusClientData_v2>\n");
    s
}

#[test]
fn large_reports_parse_in_linear_time() {
    let small = synthetic(5_000);
    let large = synthetic(50_000);
    let t0 = Instant::now();
    let p = parse::parse(0, "small.nessus", &small);
    let t_small = t0.elapsed();
    assert_eq!(counts(&p).findings, 5_000);
    let t0 = Instant::now();
    let p = parse::parse(0, "large.nessus", &large);
    let t_large = t0.elapsed();
    let c = counts(&p);
    assert_eq!((c.hosts, c.findings, c.services), (1_000, 50_000, 20_000));
    assert_eq!(p.status(), FileStatus::Ok, "{:?}", p.diags.first());
    eprintln!("nessus: 5,000 findings in {t_small:?}, 50,000 findings ({} MB) in {t_large:?}", large.len() / 1_000_000);
    // Ten times the findings; a quadratic reader would take about a hundred times as long.
    assert!(t_large < t_small * 30 + Duration::from_secs(1), "{t_small:?} → {t_large:?}");
}

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/nessus");

/// Every Nessus export of the corpus is detected, parses without panic, and gives the hosts,
/// findings, severities, exploits, CVEs and open ports it holds (counted independently).
#[test]
fn corpus_files_parse_with_their_counts() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        eprintln!("note: {CORPUS} not found: Nessus corpus test skipped");
        return;
    }
    let expected: &[(&str, Counts)] = &[
        ("django-DefectDojo/issue_6992.nessus", Counts { hosts: 1, findings: 1, by_severity: [0, 0, 1, 0, 0], exploits: 0, cves: 0, services: 1 }),
        ("django-DefectDojo/nessus_many_vuln.xml", Counts { hosts: 1, findings: 7, by_severity: [7, 0, 0, 0, 0], exploits: 0, cves: 0, services: 2 }),
        ("django-DefectDojo/nessus_v_unknown.xml", Counts { hosts: 7, findings: 296, by_severity: [266, 7, 23, 0, 0], exploits: 14, cves: 7, services: 87 }),
        ("django-DefectDojo/nessus_with_cvssv3.nessus", Counts { hosts: 1, findings: 49, by_severity: [23, 1, 13, 10, 2], exploits: 4, cves: 138, services: 1 }),
        ("django-DefectDojo/nessus_with_cwe-.nessus", Counts { hosts: 1, findings: 1, by_severity: [0, 0, 0, 1, 0], exploits: 0, cves: 15, services: 1 }),
    ];
    let mut seen = 0;
    for (rel, want) in expected {
        let path = root.join(rel);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        seen += 1;
        let p = std::panic::catch_unwind(|| parse::parse(0, rel, &text)).unwrap_or_else(|_| panic!("{rel} panicked"));
        assert_eq!(p.format, Format::Nessus, "{rel}");
        assert_eq!(p.status(), FileStatus::Ok, "{rel}: {:?}", p.diags);
        assert_eq!(&counts(&p), want, "{rel}");
        assert!(p.content.hosts.iter().all(|h| !h.addrs.is_empty()), "{rel}: every host has its address");
        assert!(p.content.hosts.iter().flat_map(|h| &h.vulns).all(|v| v.prov.line > 0 && !v.name.is_empty()), "{rel}");
    }
    assert!(seen > 0, "no Nessus corpus file read under {CORPUS}");
}
