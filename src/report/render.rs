//! Renderers of the analysis report: plain text for terminals, Markdown for reviews and
//! tickets, CSV for spreadsheets, SARIF for code-scanning tools. JSON is the serde form of
//! [`AnalyzeReport`].

use std::fmt::Write;

use super::{AnalyzeReport, Certainty, Exposure, Hop};
use crate::findings::{Finding, Severity};

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
    if !r.policy_entries.is_empty() {
        let _ = writeln!(s, "\npolicy: {} entries, {} violations", r.policy_entries.len(), r.violations.len());
        for v in &r.violations {
            violation_lines(&mut s, v, "  ");
        }
        for u in &r.unused_policy {
            let _ = writeln!(s, "  unused: {} {} (owner {}): {}", u.id, u.service, u.owner, u.reason);
        }
    }
    attack_text(&mut s, &r.attack);
    findings_text(&mut s, &r.findings);
    for a in &r.exposure.assumptions {
        let _ = writeln!(s, "assumption: {a}");
    }
    s
}

fn percent(p: f64) -> String {
    let x = p * 100.0;
    if x >= 10.0 {
        format!("{x:.0}%")
    } else if x >= 1.0 {
        format!("{x:.1}%")
    } else {
        format!("{x:.2}%")
    }
}

fn step_target(st: &crate::attack::AttackStep) -> String {
    crate::attack::host_label(&st.to, st.to_name.as_deref())
}

fn attack_text(s: &mut String, a: &crate::attack::AttackReport) {
    if a.crown_jewels.is_empty() && a.attack_notes.is_empty() {
        return;
    }
    let jewels: Vec<String> = a.crown_jewels.iter().map(|(ip, n)| crate::attack::host_label(ip, n.as_deref())).collect();
    let _ = writeln!(s, "\nattack paths to the crown jewels ({}): {}", jewels.join(", "), a.attack_paths.len());
    for p in &a.attack_paths {
        let _ = writeln!(
            s,
            "  {} → {}  #{}{} likelihood {} {}  owner {}",
            p.origin,
            crate::attack::host_label(&p.target, p.target_name.as_deref()),
            p.rank,
            if p.shortest { " (fewest steps)" } else { "" },
            percent(p.likelihood),
            certainty(p.certainty),
            p.owner
        );
        for st in &p.steps {
            let _ = writeln!(
                s,
                "     {} → {} {}/{} ({}): {}{}",
                st.from,
                step_target(st),
                st.proto,
                st.port,
                percent(st.likelihood),
                st.why,
                if st.confirmed { "" } else { " [no scan saw it listening]" }
            );
            let via = path_summary(&st.hops);
            let _ = writeln!(s, "        via {}", if via.is_empty() { "the shared subnet (no device in between)" } else { &via });
        }
    }
    let c = &a.choke_points;
    if !c.changes.is_empty() {
        let _ = writeln!(
            s,
            "\nchoke points: {} change(s) cut {} of {} origin → crown jewel connections ({})",
            c.changes.len(),
            c.pairs_before - c.pairs_after.min(c.pairs_before),
            c.pairs_before,
            if c.proven { "proven by recomputing" } else { "not all: see the note" }
        );
        for ch in &c.changes {
            let _ = writeln!(s, "  {}  owner {}", ch.what, ch.owner);
            if let Some(d) = &ch.detail {
                let _ = writeln!(s, "     {d}");
            }
            if !ch.cuts.is_empty() {
                let _ = writeln!(s, "     alone it cuts {}", ch.cuts.join("; "));
            }
            let _ = writeln!(s, "     breaks {} of the listed paths", ch.paths_cut);
            if !ch.breaks.is_empty() {
                let _ = writeln!(s, "     but also blocks what must_reach requires: {}", ch.breaks.join(", "));
            }
        }
        if let Some(n) = &c.note {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    for n in &a.attack_notes {
        let _ = writeln!(s, "  note: {n}");
    }
}

fn findings_text(s: &mut String, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nfindings: {}", findings.len());
    for f in findings {
        let certain = if f.certainty == Certainty::Possible { " (possible)" } else { "" };
        let _ = writeln!(
            s,
            "  {} {:<8} {} [{}] {}{certain}  owner {}",
            f.code,
            f.severity.as_str(),
            place(&f.file, f.line),
            f.device,
            f.message,
            f.owner
        );
        if !f.text.is_empty() {
            let _ = writeln!(s, "           rule: {}", f.text);
        }
        for x in &f.sets {
            let _ = writeln!(s, "           {}: {}", x.label, x.text);
        }
        if let Some(w) = &f.witness {
            let _ = writeln!(s, "           e.g. {}", witness_text(w));
        }
        for d in &f.depends_on {
            let _ = writeln!(s, "           depends on: {d}");
        }
    }
}

fn witness_text(w: &crate::findings::Witness) -> String {
    let mut t = format!(
        "{} {}{} → {}{}",
        w.proto,
        w.src,
        w.sport.map(|p| format!(":{p}")).unwrap_or_default(),
        w.dst,
        w.port.map(|p| format!(":{p}")).unwrap_or_default()
    );
    if let Some(i) = &w.in_iface {
        t.push_str(&format!(" in {i}"));
    }
    if let Some(o) = &w.out_iface {
        t.push_str(&format!(" out {o}"));
    }
    if let Some(st) = &w.state {
        t.push_str(&format!(" ({st})"));
    }
    t
}

/// Escape text for a Markdown table cell (for the other report modules).
pub fn md_cell(s: &str) -> String {
    md(s)
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
    if !r.violations.is_empty() {
        let _ = writeln!(s, "\n## Policy violations\n\n| Entry | Certainty | Owner | What | Path |\n|---|---|---|---|---|");
        for v in &r.violations {
            let _ = writeln!(s, "| {} | {} | {} | {} | {} |", md(&v.id), certainty(v.certainty), v.owner, md(&v.message), md(&path_summary(&v.hops)));
        }
    }
    attack_markdown(&mut s, &r.attack);
    if !r.findings.is_empty() {
        let _ = writeln!(
            s,
            "\n## Findings\n\n| Code | Severity | Certainty | Device | Location | Rule | Finding | Owner |\n|---|---|---|---|---|---|---|---|"
        );
        for f in &r.findings {
            let _ = writeln!(
                s,
                "| [{}]({}) | {} | {} | {} | {} | {} | {} | {} |",
                f.code,
                f.help,
                f.severity.as_str(),
                certainty(f.certainty),
                md(&f.device),
                md(&place(&f.file, f.line)),
                md(&f.text),
                md(&f.message),
                f.owner
            );
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

fn attack_markdown(s: &mut String, a: &crate::attack::AttackReport) {
    if a.crown_jewels.is_empty() {
        return;
    }
    let jewels: Vec<String> = a.crown_jewels.iter().map(|(ip, n)| md(&crate::attack::host_label(ip, n.as_deref()))).collect();
    let _ = writeln!(s, "\n## Attack paths to the crown jewels\n\nCrown jewels: {}.\n", jewels.join(", "));
    if a.attack_paths.is_empty() {
        let _ = writeln!(s, "No origin reaches a crown jewel.");
    } else {
        let _ = writeln!(s, "| Origin | Target | Rank | Likelihood | Certainty | Owner | Steps |\n|---|---|---|---|---|---|---|");
        for p in &a.attack_paths {
            let steps: Vec<String> = p
                .steps
                .iter()
                .map(|st| format!("{} → {} {}/{} ({}, {})", st.from, step_target(st), st.proto, st.port, st.why, percent(st.likelihood)))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {}{} | {} | {} | {} | {} |",
                md(&p.origin),
                md(&crate::attack::host_label(&p.target, p.target_name.as_deref())),
                p.rank,
                if p.shortest { " (fewest steps)" } else { "" },
                percent(p.likelihood),
                certainty(p.certainty),
                p.owner,
                md(&steps.join("; "))
            );
        }
    }
    let c = &a.choke_points;
    if !c.changes.is_empty() {
        let _ = writeln!(
            s,
            "\n### Choke points\n\n{} change(s); recomputed with all of them made, {} of {} origin → crown jewel connections remain{}.\n",
            c.changes.len(),
            c.pairs_after,
            c.pairs_before,
            c.note.as_deref().map(|n| format!(" ({})", md(n))).unwrap_or_default()
        );
        let _ = writeln!(s, "| Change | Rule | Owner | Alone it cuts | Paths broken | Blocks required |\n|---|---|---|---|---|---|");
        for ch in &c.changes {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                md(&ch.what),
                md(ch.detail.as_deref().unwrap_or("")),
                ch.owner,
                md(&ch.cuts.join("; ")),
                ch.paths_cut,
                md(&ch.breaks.join(", "))
            );
        }
    }
    for n in &a.attack_notes {
        let _ = writeln!(s, "\n- {}", md(n));
    }
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

/// CSV, one attack-path step per row (`portolan analyze --format paths-csv`): the path's
/// origin, target, rank, likelihood, certainty and owner repeated on each of its steps.
pub fn paths_csv(r: &AnalyzeReport) -> String {
    let mut s = String::from("origin,target,target_name,rank,shortest,likelihood,certainty,owner,step,from,to,to_name,proto,port,service,why,step_likelihood,path\n");
    for p in &r.attack.attack_paths {
        for (i, st) in p.steps.iter().enumerate() {
            let row = [
                p.origin.clone(),
                p.target.clone(),
                p.target_name.clone().unwrap_or_default(),
                p.rank.to_string(),
                p.shortest.to_string(),
                format!("{:.4}", p.likelihood),
                certainty(p.certainty).to_string(),
                p.owner.clone(),
                (i + 1).to_string(),
                st.from.clone(),
                st.to.clone(),
                st.to_name.clone().unwrap_or_default(),
                st.proto.clone(),
                st.port.to_string(),
                st.service.clone().unwrap_or_default(),
                st.why.clone(),
                format!("{:.4}", st.likelihood),
                path_summary(&st.hops),
            ];
            let _ = writeln!(s, "{}", row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        }
    }
    s
}

/// CSV, one finding per row (`portolan analyze --format findings-csv`).
pub fn findings_csv(r: &AnalyzeReport) -> String {
    let mut s = String::from("code,name,severity,certainty,device,ruleset,file,line,rule,message,sets,witness,owner\n");
    for f in &r.findings {
        let sets: Vec<String> = f.sets.iter().map(|x| format!("{}: {}", x.label, x.text)).collect();
        let line = f.line.to_string();
        let witness = f.witness.as_ref().map(witness_text).unwrap_or_default();
        let row = [
            f.code,
            f.name,
            f.severity.as_str(),
            certainty(f.certainty),
            f.device.as_str(),
            f.ruleset.as_str(),
            f.file.as_str(),
            line.as_str(),
            f.text.as_str(),
            f.message.as_str(),
            &sets.join(" | "),
            &witness,
            f.owner.as_str(),
        ];
        let _ = writeln!(s, "{}", row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
    }
    s
}

fn sarif_level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one run; one rule per finding code (with its documentation page), one result
/// per finding located at its file and line.
pub fn sarif(r: &AnalyzeReport) -> String {
    use serde_json::{json, Value};
    let rules: Vec<Value> = crate::findings::CODES
        .iter()
        .map(|c| {
            let mut rule = json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": { "text": c.summary },
                "fullDescription": { "text": c.summary },
                "help": {
                    "text": format!("{} {}: {} See {}.", c.code, c.name, c.summary, crate::findings::help_path(c.code)),
                    "markdown": crate::findings::help_markdown(c.code),
                },
                "properties": { "helpPath": crate::findings::help_path(c.code) },
            });
            if let Some(u) = crate::findings::help_uri(c.code) {
                rule["helpUri"] = json!(u);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let index = crate::findings::CODES.iter().position(|c| c.code == f.code).unwrap_or(0);
            let mut physical = json!({ "artifactLocation": { "uri": sarif_uri(&f.file) } });
            if f.line > 0 {
                physical["region"] = json!({ "startLine": f.line, "snippet": { "text": f.text } });
            }
            let mut text = f.message.clone();
            for x in &f.sets {
                text.push_str(&format!(" {}: {}.", x.label, x.text));
            }
            json!({
                "ruleId": f.code,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": { "text": text },
                "locations": [location(physical, f)],
                "properties": {
                    "severity": f.severity.as_str(),
                    "certainty": certainty(f.certainty),
                    "owner": f.owner,
                    "device": f.device,
                    "witness": f.witness,
                    "dependsOn": f.depends_on,
                },
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "portolan",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

/// A file path as a relative URI reference: forward slashes, and percent-encoding for the
/// characters a URI cannot hold.
fn sarif_uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn change_line(c: &super::diff::ExposureChange) -> String {
    let e = &c.exposure;
    let svc = if c.changed_ports.is_empty() { e.proto.clone() } else { format!("{}/{}", e.proto, c.changed_ports) };
    format!("{} → {} {svc} ({}, owner {})", e.origin, target(e), certainty(e.certainty), e.owner)
}

fn path_line(p: &crate::attack::AttackPath) -> String {
    let steps: Vec<String> = p.steps.iter().map(|st| format!("{}/{} {}", st.proto, st.port, step_target(st))).collect();
    format!("{} → {}: {} (likelihood {}, owner {})", p.origin, crate::attack::host_label(&p.target, p.target_name.as_deref()), steps.join(" → "), percent(p.likelihood), p.owner)
}

/// A SARIF location of a finding: its file and line, and its ruleset on its device. A built-in
/// rule (in no file) has the ruleset only.
fn location(physical: serde_json::Value, f: &Finding) -> serde_json::Value {
    let logical = serde_json::json!([{ "name": f.ruleset, "fullyQualifiedName": format!("{}:{}", f.device, f.ruleset), "kind": "module" }]);
    if f.file.is_empty() {
        serde_json::json!({ "logicalLocations": logical })
    } else {
        serde_json::json!({ "physicalLocation": physical, "logicalLocations": logical })
    }
}

fn finding_line(f: &Finding) -> String {
    format!("{} {} [{}] {} {}", f.code, f.severity.as_str(), f.device, place(&f.file, f.line), f.message)
}

/// Where a finding is written: `file:line`; the file alone when it has no line; `built in` for
/// a rule a reader adds (a vendor's implicit rule or default), which is in no file.
fn place(file: &str, line: u32) -> String {
    match (file.is_empty(), line) {
        (true, 0) => "built in".into(),
        (false, 0) => file.to_string(),
        _ => format!("{file}:{line}"),
    }
}

/// `portolan diff` as plain text.
pub fn diff_text(d: &super::diff::DiffReport) -> String {
    let mut s = String::new();
    if d.is_empty() {
        s.push_str("no change in exposures, attack paths, findings or policy violations\n");
        return s;
    }
    let sections: [(&str, Vec<String>); 8] = [
        ("new policy violations", d.violations_added.iter().map(|v| format!("{} {}: {}", v.id, certainty(v.certainty), v.message)).collect()),
        ("policy violations resolved", d.violations_removed.iter().map(|v| format!("{} {}: {}", v.id, certainty(v.certainty), v.message)).collect()),
        ("new exposures", d.exposures_added.iter().map(change_line).collect()),
        ("exposures removed", d.exposures_removed.iter().map(change_line).collect()),
        ("new attack paths", d.paths_added.iter().map(path_line).collect()),
        ("attack paths removed", d.paths_removed.iter().map(path_line).collect()),
        ("new findings", d.findings_added.iter().map(finding_line).collect()),
        ("findings removed", d.findings_removed.iter().map(finding_line).collect()),
    ];
    for (title, lines) in sections {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{title}: {}", lines.len());
        for l in lines {
            let _ = writeln!(s, "  {l}");
        }
    }
    for c in &d.exposures_added {
        let via = path_summary(&c.exposure.hops);
        if !via.is_empty() {
            let _ = writeln!(s, "path of new exposure {} → {}: {via}", c.exposure.origin, target(&c.exposure));
        }
    }
    s
}

/// `portolan diff` as Markdown.
pub fn diff_markdown(d: &super::diff::DiffReport) -> String {
    let mut s = String::from("# Portolan diff\n\n");
    if d.is_empty() {
        s.push_str("No change in exposures, attack paths, findings or policy violations.\n");
        return s;
    }
    let sections: [(&str, Vec<String>); 8] = [
        ("New policy violations", d.violations_added.iter().map(|v| format!("{} {}: {}", v.id, certainty(v.certainty), v.message)).collect()),
        ("Policy violations resolved", d.violations_removed.iter().map(|v| format!("{} {}: {}", v.id, certainty(v.certainty), v.message)).collect()),
        ("New exposures", d.exposures_added.iter().map(|c| format!("{} — via {}", change_line(c), path_summary(&c.exposure.hops))).collect()),
        ("Exposures removed", d.exposures_removed.iter().map(change_line).collect()),
        ("New attack paths", d.paths_added.iter().map(path_line).collect()),
        ("Attack paths removed", d.paths_removed.iter().map(path_line).collect()),
        ("New findings", d.findings_added.iter().map(finding_line).collect()),
        ("Findings removed", d.findings_removed.iter().map(finding_line).collect()),
    ];
    for (title, lines) in sections {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {title} ({})\n", lines.len());
        for l in lines {
            let _ = writeln!(s, "- {}", md(&l));
        }
        s.push('\n');
    }
    s
}

fn violation_lines(s: &mut String, v: &crate::policy::Violation, indent: &str) {
    let _ = writeln!(s, "{indent}{} {}  owner {}: {}", v.id, certainty(v.certainty), v.owner, v.message);
    if !v.set.is_empty() {
        let _ = writeln!(s, "{indent}   all of: {}", v.set);
    }
    let via = path_summary(&v.hops);
    if !via.is_empty() {
        let _ = writeln!(s, "{indent}   via {via}");
    }
    for u in &v.uncertain {
        let _ = writeln!(s, "{indent}   depends on: {u}");
    }
}

/// `portolan check` as plain text.
pub fn check_text(c: &crate::policy::CheckReport) -> String {
    let mut s = String::new();
    let Some(m) = &c.manifest else {
        s.push_str("no manifest among the inputs: nothing to check (give one with --manifest, or a portolan.yaml among the inputs)\n");
        return s;
    };
    let violated = c.entries.iter().filter(|e| e.status == "violated").count();
    let possibly = c.entries.iter().filter(|e| e.status == "possibly violated").count();
    let _ = writeln!(s, "policy of {m}: {} entries checked, {violated} violated, {possibly} possibly violated", c.entries.len());
    for e in &c.entries {
        let place = if e.line == 0 { "not in the matrix".to_string() } else { format!("line {}", e.line) };
        let _ = writeln!(s, "  {:<28} {:<15} {:<18} {place}", e.id, e.kind, e.status);
        if let Some(err) = &e.error {
            let _ = writeln!(s, "     not checked: {err}");
        }
        for v in c.violations.iter().filter(|v| v.id == e.id) {
            violation_lines(&mut s, v, "     ");
        }
        if e.violations > crate::policy::MAX_PER_ENTRY {
            let _ = writeln!(s, "     … {} classes in all, the first {} shown", e.violations, crate::policy::MAX_PER_ENTRY);
        }
    }
    if !c.unused.is_empty() {
        let _ = writeln!(s, "\nunused policy (allowed, but the configs block it):");
        for u in &c.unused {
            let _ = writeln!(s, "  {} {} line {}  owner {}: {}", u.id, u.service, u.line, u.owner, u.reason);
        }
    }
    s
}

/// `portolan check` as Markdown.
pub fn check_markdown(c: &crate::policy::CheckReport) -> String {
    let mut s = String::from("# Portolan policy check\n\n");
    let Some(m) = &c.manifest else {
        s.push_str("No manifest among the inputs: nothing to check.\n");
        return s;
    };
    let _ = writeln!(s, "Manifest: `{}`\n\n| Entry | Kind | Status | Line |\n|---|---|---|---|", md(m));
    for e in &c.entries {
        let _ = writeln!(s, "| {} | {} | {} | {} |", md(&e.id), e.kind, e.status, e.line);
    }
    if !c.violations.is_empty() {
        let _ = writeln!(s, "\n## Violations\n\n| Entry | Certainty | Owner | What | Set | Path |\n|---|---|---|---|---|---|");
        for v in &c.violations {
            let _ = writeln!(s, "| {} | {} | {} | {} | {} | {} |", md(&v.id), certainty(v.certainty), v.owner, md(&v.message), md(&v.set), md(&path_summary(&v.hops)));
        }
    }
    if !c.unused.is_empty() {
        let _ = writeln!(s, "\n## Unused policy\n\n| Entry | Service | Owner | Why nothing passes |\n|---|---|---|---|");
        for u in &c.unused {
            let _ = writeln!(s, "| {} | {} | {} | {} |", md(&u.id), md(&u.service), u.owner, md(&u.reason));
        }
    }
    s
}

/// `portolan check` as SARIF 2.1.0: each violation at its manifest entry, with the rules of its
/// witness's path as related locations.
pub fn check_sarif(c: &crate::policy::CheckReport) -> String {
    use serde_json::{json, Value};
    const KINDS: [(&str, &str); 4] = [
        ("must-not-reach", "A connection the policy forbids is possible"),
        ("must-reach", "A connection the policy requires is blocked"),
        ("vendor-scope", "A vendor reaches beyond its scope"),
        ("matrix", "A connection between zones goes beyond the zone matrix"),
    ];
    let rules: Vec<Value> = KINDS.iter().map(|(id, text)| json!({ "id": id, "shortDescription": { "text": text } })).collect();
    let results: Vec<Value> = c
        .violations
        .iter()
        .map(|v| {
            let related: Vec<Value> = v
                .hops
                .iter()
                .filter_map(|h| h.rule.as_ref())
                .filter(|r| r.line > 0)
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i,
                        "physicalLocation": { "artifactLocation": { "uri": sarif_uri(&r.file) }, "region": { "startLine": r.line, "snippet": { "text": r.text } } },
                        "message": { "text": format!("{} {}", r.action, r.ruleset) },
                    })
                })
                .collect();
            json!({
                "ruleId": v.kind,
                "ruleIndex": KINDS.iter().position(|(k, _)| *k == v.kind).unwrap_or(0),
                "level": if v.certainty == Certainty::Definite { "error" } else { "warning" },
                "message": { "text": format!("{}: {} ({})", v.id, v.message, v.description) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": sarif_uri(&v.file) }, "region": { "startLine": v.line.max(1) } } }],
                "relatedLocations": related,
                "properties": { "certainty": certainty(v.certainty), "owner": v.owner, "witness": v.witness, "set": v.set },
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "portolan", "version": env!("CARGO_PKG_VERSION"), "rules": rules } }, "results": results }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
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
