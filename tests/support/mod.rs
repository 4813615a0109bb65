//! What the vendor readers' snapshot tests record of one parsed file: the model fragments and
//! every diagnostic, in one shape for every format.

use portolan::diag::{Diagnostic, FileStatus};
use portolan::model::{Firewall, Interface, Route};
use portolan::parse::{Format, ParsedFile};
use serde::Serialize;

/// The snapshot of one parsed file.
#[derive(Serialize)]
pub struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    device: Option<&'a str>,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
    interfaces: &'a [Interface],
    routes: &'a [Route],
    firewall: Option<&'a Firewall>,
    diagnostics: &'a [Diagnostic],
}

/// The snapshot of `p`.
pub fn snapshot(p: &ParsedFile) -> Snapshot<'_> {
    Snapshot {
        format: p.format,
        status: p.status(),
        device: p.device_hint.as_deref(),
        lines_total: p.lines_total,
        lines_skipped: p.lines_skipped,
        lines_unrecognized: p.lines_unrecognized(),
        interfaces: &p.content.interfaces,
        routes: &p.content.routes,
        firewall: p.content.firewall.as_deref(),
        diagnostics: &p.diags,
    }
}

/// Fixture files in `dir` whose name (quoted) appears nowhere in `test_source`: fixtures no test
/// reads.
pub fn untested_fixtures(dir: &std::path::Path, test_source: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for e in std::fs::read_dir(dir).expect("fixture folder") {
        let name = e.expect("entry").file_name().to_string_lossy().to_string();
        if !test_source.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    missing
}
