//! Reports for each role that shares responsibility for network security: the responsibility
//! map (per owner, the actions ordered by risk, each with its evidence), the one-page
//! management summary (how exposed, the trend against a previous run, the three actions that
//! cut the most risk) and the auditor's evidence pack (every input with its SHA-256, parse
//! coverage, assumptions, every "possible" result and why).
//!
//! Risk orders actions within and across roles; it is a ranking, not a probability:
//!
//! | Action | Risk |
//! |---|---|
//! | a proposed change that cuts attack paths (choke point), in the order proposed | 100 − position |
//! | a definite policy violation | 90 (possible: 60) |
//! | the most likely attack path of an origin to a crown jewel | 50 + 40 × likelihood |
//! | a finding | critical 85, high 70, medium 45, low 25, info 5 (possible: −10) |
//! | an exposure to the Internet / another origin | 40 / 30, +15 for logins and databases (possible: −15) |
//! | an allowance of the zone matrix nothing implements | 30 |

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{AnalyzeReport, Certainty};
use crate::findings::Severity;

/// One action for one owner.
#[derive(Clone, Debug, Serialize)]
pub struct Action {
    /// Who acts.
    pub owner: String,
    /// Ranking score (see the module documentation).
    pub risk: u32,
    /// `change`, `violation`, `attack-path`, `finding`, `exposure` or `unused-policy`.
    pub kind: String,
    /// What to do, in words.
    pub what: String,
    /// Where the evidence is: `file:line`, a policy entry, a finding code.
    pub evidence: String,
}

/// Per owner, the actions ordered by risk (highest first).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ResponsibilityMap {
    /// Owner role → actions.
    pub owners: BTreeMap<String, Vec<Action>>,
}

/// True when an exposure's ports include a login or database (see [`crate::attack::pivot`]).
fn login_ports(proto: &str, ports: &str) -> bool {
    let covers = |p: u16| {
        ports == "any"
            || ports.split(',').any(|part| match part.split_once('-') {
                Some((a, b)) => a.parse::<u16>().is_ok_and(|a| a <= p) && b.parse::<u16>().is_ok_and(|b| p <= b),
                None => part.parse::<u16>() == Ok(p),
            })
    };
    proto == "tcp" && crate::attack::pivot::CREDENTIAL_SERVICES.iter().flat_map(|k| k.ports.iter()).any(|&p| covers(p))
}

fn is_login(e: &super::Exposure) -> bool {
    login_ports(&e.proto, &e.ports)
}

fn rule_location(hops: &[super::Hop]) -> String {
    hops.iter()
        .filter(|h| h.direction == "forward")
        .filter_map(|h| h.rule.as_ref())
        .filter(|r| r.line > 0)
        .map(|r| format!("{}:{}", r.file, r.line))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every action the report implies, for every owner.
pub fn actions(r: &AnalyzeReport) -> Vec<Action> {
    let mut out = Vec::new();
    let c = &r.attack.choke_points;
    for (i, ch) in c.changes.iter().enumerate() {
        let cuts = if ch.cuts.is_empty() { format!("breaks {} attack paths", ch.paths_cut) } else { format!("cuts {}", ch.cuts.join("; ")) };
        out.push(Action {
            owner: ch.owner.clone(),
            risk: 100u32.saturating_sub(i as u32),
            kind: "change".into(),
            what: format!("{} — {cuts}", ch.what),
            evidence: ch.detail.clone().unwrap_or_else(|| "choke point, proven by recomputing".into()),
        });
    }
    for v in &r.violations {
        out.push(Action {
            owner: v.owner.clone(),
            risk: if v.certainty == Certainty::Definite { 90 } else { 60 },
            kind: "violation".into(),
            what: format!("{}: {}", v.id, v.message),
            evidence: format!("{}:{} ({}); {}", v.file, v.line, v.description, rule_location(&v.hops)),
        });
    }
    for p in r.attack.attack_paths.iter().filter(|p| p.rank == 1) {
        let steps: Vec<String> = p.steps.iter().map(|s| format!("{}/{} {}", s.proto, s.port, crate::attack::host_label(&s.to, s.to_name.as_deref()))).collect();
        out.push(Action {
            owner: p.owner.clone(),
            risk: 50 + (40.0 * p.likelihood).round() as u32,
            kind: "attack-path".into(),
            what: format!("{} reaches {} in {}: {}", p.origin, crate::attack::host_label(&p.target, p.target_name.as_deref()), plural(p.steps.len(), "step", "steps"), steps.join(" → ")),
            evidence: p.steps.iter().map(|s| rule_location(&s.hops)).filter(|x| !x.is_empty()).collect::<Vec<_>>().join("; "),
        });
    }
    for f in &r.findings {
        let base: u32 = match f.severity {
            Severity::Critical => 85,
            Severity::High => 70,
            Severity::Medium => 45,
            Severity::Low => 25,
            Severity::Info => 5,
        };
        out.push(Action {
            owner: f.owner.clone(),
            risk: if f.certainty == Certainty::Possible { base.saturating_sub(10) } else { base },
            kind: "finding".into(),
            what: format!("{} {}: {}", f.code, f.name, f.message),
            // Findings about what an origin reaches as a whole name no rule.
            evidence: match (f.file.as_str(), f.line) {
                ("", _) => String::new(),
                (file, 0) => file.to_string(),
                (file, line) => format!("{file}:{line}"),
            },
        });
    }
    for e in &r.exposure.exposures {
        let mut risk: u32 = if e.origin == "internet" { 40 } else { 30 };
        if is_login(e) {
            risk += 15;
        }
        if e.certainty == Certainty::Possible {
            risk = risk.saturating_sub(15);
        }
        let svc = if e.ports.is_empty() { e.proto.clone() } else { format!("{}/{}", e.proto, e.ports) };
        out.push(Action {
            owner: e.owner.clone(),
            risk,
            kind: "exposure".into(),
            what: format!("review {svc} on {} reachable from {}", e.host.as_ref().map_or(e.ip.clone(), |h| format!("{h} ({})", e.ip)), e.origin),
            evidence: rule_location(&e.hops),
        });
    }
    for u in &r.unused_policy {
        out.push(Action {
            owner: u.owner.clone(),
            risk: 30,
            kind: "unused-policy".into(),
            what: format!("decide on {} {}: the policy allows it, the configs block it", u.id, u.service),
            evidence: u.reason.clone(),
        });
    }
    out.sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.kind.cmp(&b.kind)).then_with(|| a.what.cmp(&b.what)));
    out
}

/// The responsibility map of a report.
pub fn responsibilities(r: &AnalyzeReport) -> ResponsibilityMap {
    let mut m = ResponsibilityMap::default();
    for a in actions(r) {
        m.owners.entry(a.owner.clone()).or_default().push(a);
    }
    m
}

/// The figures a management summary compares between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Figures {
    /// Services reachable from the Internet.
    pub internet_exposures: usize,
    /// Of those, logins and databases.
    pub internet_logins: usize,
    /// Attack paths listed to crown jewels.
    pub attack_paths: usize,
    /// (origin, crown jewel) pairs connected.
    pub connected_pairs: usize,
    /// Policy violations.
    pub violations: usize,
    /// High and critical findings.
    pub serious_findings: usize,
}

impl Figures {
    /// The figures of a report.
    pub fn of(r: &AnalyzeReport) -> Figures {
        let inet: Vec<&super::Exposure> = r.exposure.exposures.iter().filter(|e| e.origin == "internet").collect();
        let mut pairs: Vec<(&str, &str)> = r.attack.attack_paths.iter().map(|p| (p.origin.as_str(), p.target.as_str())).collect();
        pairs.sort_unstable();
        pairs.dedup();
        Figures {
            internet_exposures: inet.len(),
            internet_logins: inet.iter().filter(|e| is_login(e)).count(),
            attack_paths: r.attack.attack_paths.len(),
            connected_pairs: pairs.len(),
            violations: r.violations.len(),
            serious_findings: r.findings.iter().filter(|f| f.severity >= Severity::High).count(),
        }
    }

    /// The figures of an earlier `analyze --format json` output.
    pub fn of_json(v: &serde_json::Value) -> Option<Figures> {
        let arr = |k: &str| v.get(k).and_then(|x| x.as_array());
        let exposures = arr("exposures")?;
        let inet: Vec<&serde_json::Value> = exposures.iter().filter(|e| e["origin"] == "internet").collect();
        let paths = arr("attack_paths").map(Vec::as_slice).unwrap_or(&[]);
        let mut pairs: Vec<(String, String)> = paths.iter().map(|p| (p["origin"].as_str().unwrap_or("").to_string(), p["target"].as_str().unwrap_or("").to_string())).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let logins = inet.iter().filter(|e| login_ports(e["proto"].as_str().unwrap_or(""), e["ports"].as_str().unwrap_or(""))).count();
        Some(Figures {
            internet_exposures: inet.len(),
            internet_logins: logins,
            attack_paths: paths.len(),
            connected_pairs: pairs.len(),
            violations: arr("violations").map_or(0, Vec::len),
            serious_findings: arr("findings").map_or(0, |f| f.iter().filter(|x| matches!(x["severity"].as_str(), Some("high" | "critical"))).count()),
        })
    }
}

fn trend(now: usize, before: usize) -> String {
    match now.cmp(&before) {
        std::cmp::Ordering::Equal => format!("{now} (unchanged)"),
        std::cmp::Ordering::Less => format!("{now} (down from {before})"),
        std::cmp::Ordering::Greater => format!("{now} (up from {before})"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one-page management summary, in plain language (Markdown).
pub fn summary_markdown(r: &AnalyzeReport, previous: Option<&Figures>) -> String {
    let f = Figures::of(r);
    let mut s = String::from("# Network security summary\n\n## How exposed we are\n\n");
    let devices = r.parse.devices.len();
    let _ = writeln!(s, "Portolan read {} describing {}.\n", plural(r.parse.inputs.len(), "file", "files"), plural(devices, "device", "devices"));
    let _ = writeln!(
        s,
        "- **From the Internet**, {} can be reached{}.",
        plural(f.internet_exposures, "service", "services"),
        if f.internet_logins > 0 { format!(", {} of them logins or databases an attacker can try passwords on", f.internet_logins) } else { String::new() }
    );
    if r.attack.crown_jewels.is_empty() {
        let _ = writeln!(s, "- **Crown jewels** are not declared, so no attack path was computed.");
    } else {
        let jewels: Vec<String> = r.attack.crown_jewels.iter().map(|(ip, n)| crate::attack::host_label(ip, n.as_deref())).collect();
        let best = r.attack.attack_paths.iter().max_by(|a, b| a.likelihood.total_cmp(&b.likelihood));
        match best {
            None => {
                let _ = writeln!(s, "- **No attack path** reaches the crown jewels ({}).", jewels.join(", "));
            }
            Some(p) => {
                let _ = writeln!(
                    s,
                    "- **Attack paths**: {} of the threat origins can reach the crown jewels ({}). The likeliest starts from {} and takes {}.",
                    f.connected_pairs,
                    jewels.join(", "),
                    p.origin,
                    plural(p.steps.len(), "step", "steps")
                );
            }
        }
    }
    let _ = writeln!(s, "- **Policy**: {}.", if f.violations == 0 { "no violation of the stated policy".to_string() } else { plural(f.violations, "violation", "violations") });
    let _ = writeln!(s, "- **Configuration**: {} of high or critical severity.", plural(f.serious_findings, "finding", "findings"));
    if let Some(p) = previous {
        let _ = writeln!(s, "\n## Since the previous run\n");
        let _ = writeln!(s, "- Services reachable from the Internet: {}", trend(f.internet_exposures, p.internet_exposures));
        let _ = writeln!(s, "- Threat origins reaching crown jewels: {}", trend(f.connected_pairs, p.connected_pairs));
        let _ = writeln!(s, "- Policy violations: {}", trend(f.violations, p.violations));
        let _ = writeln!(s, "- High and critical findings: {}", trend(f.serious_findings, p.serious_findings));
    }
    let _ = writeln!(s, "\n## The three actions that cut the most risk\n");
    let top: Vec<Action> = actions(r).into_iter().filter(|a| a.kind != "exposure").take(3).collect();
    if top.is_empty() {
        let _ = writeln!(s, "Nothing stands out: no choke point, violation or serious finding.");
    }
    for (i, a) in top.iter().enumerate() {
        let _ = writeln!(s, "{}. {} (owner: {}).", i + 1, a.what, a.owner);
    }
    if r.attack.choke_points.proven && !r.attack.choke_points.changes.is_empty() {
        let n = r.attack.choke_points.changes.len();
        let _ = writeln!(
            s,
            "\nMaking {} leaves no attack path to the crown jewels; this was checked by recomputing.",
            if n == 1 { "the proposed change".to_string() } else { format!("the {n} proposed changes") }
        );
    }
    s
}

/// The responsibility map as Markdown.
pub fn responsibilities_markdown(r: &AnalyzeReport) -> String {
    let m = responsibilities(r);
    let mut s = String::from("# Responsibility map\n\nPer owner, the actions ordered by risk (docs/owners.md says who owns what and why).\n");
    for (owner, list) in &m.owners {
        let _ = writeln!(s, "\n## {owner} ({})\n\n| Risk | Kind | Action | Evidence |\n|---|---|---|---|", list.len());
        for a in list {
            let _ = writeln!(s, "| {} | {} | {} | {} |", a.risk, a.kind, super::render::md_cell(&a.what), super::render::md_cell(&a.evidence));
        }
    }
    s
}

/// One input in the evidence pack.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceInput {
    /// Path as given.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Detected format.
    pub format: String,
    /// Device it describes.
    pub device: Option<String>,
    /// `ok`, `partial`, `failed`, `unsupported`.
    pub status: String,
    /// Lines in all.
    pub lines: u32,
    /// Lines not understood.
    pub unrecognized: u32,
    /// Share of lines understood, in percent.
    pub coverage: f64,
}

/// A result that is only possible, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Possible {
    /// `exposure`, `attack-step`, `violation` or `finding`.
    pub kind: String,
    /// The result.
    pub what: String,
    /// The unmodelled constructs it depends on (file:line and text).
    pub because: Vec<String>,
}

/// The auditor's evidence pack.
#[derive(Clone, Debug, Serialize)]
pub struct EvidencePack {
    /// Every input with its hash and coverage.
    pub inputs: Vec<EvidenceInput>,
    /// Assumptions the answers rest on (missing interface data, the manifest's own).
    pub assumptions: Vec<String>,
    /// Every "possible" result and what it depends on.
    pub possible: Vec<Possible>,
    /// Scans that contradict the configs.
    pub scan_notes: Vec<String>,
    /// What the attack analysis could not do.
    pub attack_notes: Vec<String>,
}

/// The evidence pack of an analysis of `ws`.
pub fn evidence(ws: &crate::Workspace, r: &AnalyzeReport) -> EvidencePack {
    let inputs = r
        .parse
        .inputs
        .iter()
        .map(|i| EvidenceInput {
            path: i.path.clone(),
            sha256: ws.files.iter().find(|f| f.path == i.path).map(|f| f.sha256.clone()).unwrap_or_default(),
            format: i.format.clone(),
            device: i.device.clone(),
            status: serde_json::to_value(i.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            lines: i.lines.total,
            unrecognized: i.lines.unrecognized,
            coverage: i.coverage,
        })
        .collect();
    let mut assumptions = r.exposure.assumptions.clone();
    if let Some(m) = &ws.manifest {
        assumptions.extend(m.assumptions.iter().map(|a| format!("{} (stated in {})", a, m.file)));
    }
    let mut possible = Vec::new();
    for e in r.exposure.exposures.iter().filter(|e| e.certainty == Certainty::Possible) {
        possible.push(Possible { kind: "exposure".into(), what: format!("{} → {} {}/{}", e.origin, e.ip, e.proto, e.ports), because: e.uncertain.clone() });
    }
    for p in &r.attack.attack_paths {
        for st in p.steps.iter().filter(|s| s.certainty == Certainty::Possible) {
            possible.push(Possible { kind: "attack-step".into(), what: format!("{} → {} {}/{}", st.from, st.to, st.proto, st.port), because: st.uncertain.clone() });
        }
    }
    for v in r.violations.iter().filter(|v| v.certainty == Certainty::Possible) {
        possible.push(Possible { kind: "violation".into(), what: format!("{}: {}", v.id, v.message), because: v.uncertain.clone() });
    }
    for f in r.findings.iter().filter(|f| f.certainty == Certainty::Possible) {
        possible.push(Possible { kind: "finding".into(), what: format!("{} {}:{} {}", f.code, f.file, f.line, f.message), because: f.depends_on.clone() });
    }
    possible.sort_by(|a, b| (&a.kind, &a.what).cmp(&(&b.kind, &b.what)));
    possible.dedup_by(|a, b| a.kind == b.kind && a.what == b.what);
    EvidencePack { inputs, assumptions, possible, scan_notes: r.exposure.scan_notes.clone(), attack_notes: r.attack.attack_notes.clone() }
}

/// The evidence pack as Markdown.
pub fn evidence_markdown(p: &EvidencePack) -> String {
    let md = super::render::md_cell;
    let mut s = String::from("# Evidence pack\n\n## Inputs\n\n| File | SHA-256 | Format | Device | Status | Lines | Not understood | Coverage |\n|---|---|---|---|---|---|---|---|\n");
    for i in &p.inputs {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {} | {:.1}% |",
            md(&i.path),
            i.sha256,
            md(&i.format),
            md(i.device.as_deref().unwrap_or("")),
            i.status,
            i.lines,
            i.unrecognized,
            i.coverage
        );
    }
    let _ = writeln!(s, "\n## Assumptions\n");
    if p.assumptions.is_empty() {
        let _ = writeln!(s, "None.");
    }
    for a in &p.assumptions {
        let _ = writeln!(s, "- {}", md(a));
    }
    let _ = writeln!(s, "\n## Results that are only possible\n");
    if p.possible.is_empty() {
        let _ = writeln!(s, "None: every result is definite.");
    }
    for x in &p.possible {
        let _ = writeln!(s, "- **{}** {} — depends on: {}", x.kind, md(&x.what), md(&x.because.join("; ")));
    }
    if !p.scan_notes.is_empty() {
        let _ = writeln!(s, "\n## Scans versus configs\n");
        for n in &p.scan_notes {
            let _ = writeln!(s, "- {}", md(n));
        }
    }
    if !p.attack_notes.is_empty() {
        let _ = writeln!(s, "\n## Limits of the attack analysis\n");
        for n in &p.attack_notes {
            let _ = writeln!(s, "- {}", md(n));
        }
    }
    s
}
