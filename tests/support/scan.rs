//! What the vulnerability-scan readers' snapshot tests record of one parsed file: the scan, the
//! hosts with their services and findings, and every diagnostic, in one shape for Nessus and
//! OpenVAS; and how a corpus file's parse is summed up.

use portolan::diag::{Diagnostic, FileStatus};
use portolan::model::{Host, ScanInfo, Severity};
use portolan::parse::{Format, ParsedFile};
use serde::Serialize;

/// The snapshot of one parsed scan.
#[derive(Serialize)]
pub struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
    scan: &'a Option<ScanInfo>,
    hosts: &'a [Host],
    diagnostics: &'a [Diagnostic],
}

/// The snapshot of `p`.
pub fn snapshot(p: &ParsedFile) -> Snapshot<'_> {
    Snapshot {
        format: p.format,
        status: p.status(),
        lines_total: p.lines_total,
        lines_skipped: p.lines_skipped,
        lines_unrecognized: p.lines_unrecognized(),
        scan: &p.content.scan,
        hosts: &p.content.hosts,
        diagnostics: &p.diags,
    }
}

/// The (line, code) of every diagnostic.
pub fn codes_of(p: &ParsedFile) -> Vec<(u32, &'static str)> {
    p.diags.iter().map(|d| (d.line, d.code)).collect()
}

/// What a parse found, counted: hosts, findings, findings per severity (info to critical),
/// findings with an exploit, CVEs, open services.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub hosts: usize,
    pub findings: usize,
    pub by_severity: [usize; 5],
    pub exploits: usize,
    pub cves: usize,
    pub services: usize,
}

/// The counts of a parse.
pub fn counts(p: &ParsedFile) -> Counts {
    let mut c = Counts { hosts: p.content.hosts.len(), ..Counts::default() };
    for h in &p.content.hosts {
        c.services += h.services.len();
        for v in &h.vulns {
            c.findings += 1;
            let i = match v.severity {
                Severity::Info => 0,
                Severity::Low => 1,
                Severity::Medium => 2,
                Severity::High => 3,
                Severity::Critical => 4,
            };
            c.by_severity[i] += 1;
            c.exploits += usize::from(v.exploit_available);
            c.cves += v.cves.len();
        }
    }
    c
}
