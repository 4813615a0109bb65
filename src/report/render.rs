//! Renderers of the analysis report: plain text for terminals, Markdown for reviews and
//! tickets, CSV for spreadsheets. JSON is the serde form of [`AnalyzeReport`].

use std::fmt::Write;

use super::{AnalyzeReport, Certainty, Exposure, Hop};

fn path_summary(hops: &[Hop]) -> String {
    let mut parts = Vec::new();
    for h in hops.iter().filter(|h| h.direction == "forward") {
        let mut s = format!(
            "{} {}→{}",
            h.device,
            h.in_iface.as_deref().unwrap_or("self"),
            h.out_iface.as_deref().unwrap_or("self")
        );
        for n in &h.nat {
            let _ = write!(s, " {} {}→{}", n.kind, n.from, n.to);
        }
        if let Some(r) = &h.rule {
            let _ = write!(s, " ({} {}:{})", r.action, r.file, r.line);
        }
        parts.push(s);
    }
    parts.join("; ")
}

fn certainty(c: Certainty) -> &'static str {
    match c {
        Certainty::Definite => "definite",
        Certainty::Possible => "possible",
    }
}

fn target(e: &Exposure) -> String {
    match &e.host {
        Some(h) => format!("{} ({h})", e.ip),
        None => e.ip.clone(),
    }
}

fn service_text(e: &Exposure) -> String {
    if e.ports.is_empty() {
        e.proto.clone()
    } else {
        format!("{}/{}", e.proto, e.ports)
    }
}

/// Plain text for a terminal.
pub fn text(r: &AnalyzeReport) -> String {
    let mut s = String::new();
    let partial = r.parse.inputs.iter().filter(|i| i.status != crate::diag::FileStatus::Ok).count();
    let _ = writeln!(
        s,
        "{} inputs ({} not fully understood), {} devices",
        r.parse.inputs.len(),
        partial,
        r.parse.devices.len()
    );
    for o in &r.exposure.origins {
        let _ = writeln!(s);
        match &o.error {
            Some(e) => {
                let _ = writeln!(s, "from {} ({}): not analysed: {e}", o.name, o.addresses);
            }
            None => {
                let _ = writeln!(s, "from {} ({}): {} exposures", o.name, o.addresses, o.exposures);
            }
        }
        for e in r.exposure.exposures.iter().filter(|e| e.origin == o.name) {
            let _ = writeln!(
                s,
                "  {:<8} {:<28} {:<18} owner {}{}",
                certainty(e.certainty),
                target(e),
                service_text(e),
                e.owner,
                e.service.as_deref().map(|x| format!("  [{x}]")).unwrap_or_default()
            );
            if e.from != e.origin {
                let _ = writeln!(s, "           only from {}", e.from);
            }
            let _ = writeln!(s, "           via {}", path_summary(&e.hops));
            for f in &e.scan {
                let _ = writeln!(s, "           scan: {f}");
            }
            for u in &e.uncertain {
                let _ = writeln!(s, "           depends on: {u}");
            }
        }
    }
    if !r.exposure.scan_notes.is_empty() {
        let _ = writeln!(s, "\nscans vs configs:");
        for n in &r.exposure.scan_notes {
            let _ = writeln!(s, "  {n}");
        }
    }
    for a in &r.exposure.assumptions {
        let _ = writeln!(s, "assumption: {a}");
    }
    s
}

/// Escape text for a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('\n', " ").replace('<', "&lt;").replace('>', "&gt;")
}

/// Markdown, for reviews and tickets.
pub fn markdown(r: &AnalyzeReport) -> String {
    let mut s = String::from("# Portolan exposure report\n\n");
    let _ = writeln!(s, "## Inputs\n\n| File | Format | Device | Status | Coverage |\n|---|---|---|---|---|");
    for i in &r.parse.inputs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1}% |",
            md(&i.path),
            md(&i.format),
            md(i.device.as_deref().unwrap_or("")),
            serde_json::to_value(i.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            i.coverage
        );
    }
    for o in &r.exposure.origins {
        let _ = writeln!(s, "\n## From {} ({})\n", md(&o.name), md(&o.addresses));
        if let Some(e) = &o.error {
            let _ = writeln!(s, "Not analysed: {}\n", md(e));
            continue;
        }
        let _ = writeln!(s, "| Certainty | Destination | Service | Seen by scans | Owner | Path |\n|---|---|---|---|---|---|");
        for e in r.exposure.exposures.iter().filter(|e| e.origin == o.name) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                certainty(e.certainty),
                md(&target(e)),
                md(&service_text(e)),
                md(e.service.as_deref().unwrap_or("")),
                e.owner,
                md(&path_summary(&e.hops))
            );
        }
    }
    if !r.exposure.scan_notes.is_empty() {
        let _ = writeln!(s, "\n## Scans versus configs\n");
        for n in &r.exposure.scan_notes {
            let _ = writeln!(s, "- {}", md(n));
        }
    }
    if !r.exposure.assumptions.is_empty() {
        let _ = writeln!(s, "\n## Assumptions\n");
        for a in &r.exposure.assumptions {
            let _ = writeln!(s, "- {}", md(a));
        }
    }
    s
}

/// Quote a CSV field when needed (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV, one exposure per row.
pub fn csv(r: &AnalyzeReport) -> String {
    let mut s = String::from("origin,from,ip,host,proto,ports,certainty,service,owner,path\n");
    for e in &r.exposure.exposures {
        let row = [
            e.origin.as_str(),
            e.from.as_str(),
            e.ip.as_str(),
            e.host.as_deref().unwrap_or(""),
            e.proto.as_str(),
            e.ports.as_str(),
            certainty(e.certainty),
            e.service.as_deref().unwrap_or(""),
            e.owner.as_str(),
            &path_summary(&e.hops),
        ];
        let _ = writeln!(s, "{}", row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
    }
    s
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn csv_and_markdown_escape_input_text() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(md("a|b<script>"), "a\\|b&lt;script&gt;");
    }
}
