//! What-if: edits to the inputs, applied to a copy of a workspace, so that every analysis can
//! be recomputed as if the change had been made.
//!
//! Rules are named by where they are written (`file:line`): every rule a line produced is
//! edited together, as a person editing the config would. A closed service or a patched
//! vulnerability changes what the scans say about a host. A rule's conditions are changed the
//! vendor-independent way: its source lines are replaced with new text and the file is read
//! again ([`Edit::ReplaceLines`]), so whatever the reader understands can be tried, and what it
//! does not understand comes back as its diagnostics.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::model::{Action, PortState};
use crate::workspace::{InputFile, Workspace};

/// One change to the inputs. As JSON (the page's what-if list): `{"edit": "delete-rule", "file",
/// "line"}`, `{"edit": "set-action", "file", "line", "action"}`, `{"edit": "close-port", "addr",
/// "proto", "port"}`, `{"edit": "patch-service", …}`, `{"edit": "patch", "addr", "id"}`,
/// `{"edit": "replace-lines", "file", "line", "count", "text"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "kebab-case")]
pub enum Edit {
    /// Delete the rules written at `file:line`.
    DeleteRule {
        /// Input file path, as given.
        file: String,
        /// One-based line.
        line: u32,
    },
    /// Give the rules written at `file:line` another action.
    SetAction {
        /// Input file path, as given.
        file: String,
        /// One-based line.
        line: u32,
        /// `accept`, `drop` or `reject`.
        action: String,
    },
    /// The service no longer listens on the host.
    ClosePort {
        /// Host address.
        addr: IpAddr,
        /// Protocol number.
        proto: u8,
        /// Port.
        port: u16,
    },
    /// Every vulnerability reported on one service of the host is fixed (its software
    /// upgraded); the service keeps listening.
    PatchService {
        /// Host address.
        addr: IpAddr,
        /// Protocol number.
        proto: u8,
        /// Port.
        port: u16,
    },
    /// The vulnerability is fixed on the host.
    Patch {
        /// Host address.
        addr: IpAddr,
        /// Scanner id of the vulnerability.
        id: String,
    },
    /// Lines `line ..= line + count - 1` of `file` replaced by `text` (any number of lines; empty
    /// deletes them), and the file read again. Line numbers, here and in the other edits, are
    /// those of the inputs as given.
    ReplaceLines {
        /// Input file path, as given.
        file: String,
        /// One-based first line replaced.
        line: u32,
        /// How many lines are replaced (0 inserts `text` before `line`).
        count: u32,
        /// The new text.
        text: String,
    },
}

impl Edit {
    /// The edit in words.
    pub fn describe(&self) -> String {
        match self {
            Edit::DeleteRule { file, line } => format!("delete the rule at {file}:{line}"),
            Edit::SetAction { file, line, action } => format!("make the rule at {file}:{line} {action}"),
            Edit::ClosePort { addr, proto, port } => format!("close {}/{port} on {addr}", crate::reach::describe::proto_name(*proto)),
            Edit::Patch { addr, id } => format!("patch {id} on {addr}"),
            Edit::PatchService { addr, proto, port } => {
                format!("fix every vulnerability of {}/{port} on {addr} (upgrade its software)", crate::reach::describe::proto_name(*proto))
            }
            Edit::ReplaceLines { file, line, count, text } => {
                let new = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" / ");
                let at = match count {
                    0 => format!("before {file}:{line}"),
                    1 => format!("{file}:{line}"),
                    n => format!("{file}:{line}-{}", line.saturating_add(n - 1)),
                };
                match (count, new.is_empty()) {
                    (0, _) => format!("insert {new:?} {at}"),
                    (_, true) => format!("delete the lines {at}"),
                    _ => format!("rewrite {at} as {new:?}"),
                }
            }
        }
    }
}

/// How the workspace's inputs were given, for the edits that read a file again: the workspace is
/// then loaded again from its files' text, as it was loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The last file is the manifest given apart from the inputs (the CLI's `--manifest FILE`,
    /// the page's file marked `manifest`).
    pub manifest_apart: bool,
}

/// What the reader says about the text of one [`Edit::ReplaceLines`], read again in its file.
#[derive(Clone, Debug, Serialize)]
pub struct Reread {
    /// The edit's file.
    pub file: String,
    /// The edit's first line.
    pub line: u32,
    /// The diagnostics of the edited file that its text as given does not have (line numbers
    /// of the edited text): an empty list means the reader understood the new lines.
    pub diagnostics: Vec<Diagnostic>,
}

/// Where one file's replaced lines went: `(first line, lines replaced, lines put in)`, in the
/// numbering of the inputs as given, sorted by line.
type Shifts = Vec<(u32, u32, u32)>;

/// A line of the inputs as given, in the edited file (`None`: it was replaced).
fn shifted(shifts: &Shifts, line: u32) -> Option<u32> {
    let mut delta: i64 = 0;
    for &(first, count, new) in shifts {
        if line >= first && line < first.saturating_add(count) {
            return None;
        }
        if line >= first.saturating_add(count) {
            delta += i64::from(new) - i64::from(count);
        }
    }
    u32::try_from(i64::from(line) + delta).ok()
}

/// Most lines [`rule_span`] gives one rule.
pub const MAX_RULE_SPAN: usize = 200;

/// How many lines the rule written at one-based `line` of `text` takes, for editing it whole:
/// the block the line opens when it opens one (a Junos `policy NAME {` to its closing brace, a
/// FortiGate `edit N` to its `next`, an XML element such as PAN-OS `<entry name=…>` or pfSense
/// `<rule>` to its closing tag), else 1 (an iptables, nftables, IOS or ASA rule is one line).
/// A block not closed within [`MAX_RULE_SPAN`] lines counts as one line.
pub fn rule_span(text: &str, line: u32) -> u32 {
    let lines: Vec<&str> = text.lines().collect();
    let Some(i) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else { return 1 };
    let Some(first) = lines.get(i) else { return 1 };
    let t = first.trim();
    let rest = lines.iter().enumerate().skip(i).take(MAX_RULE_SPAN);
    let end = if t.ends_with('{') && !t.starts_with('#') {
        let mut depth = 0i64;
        rest.into_iter().find_map(|(j, l)| {
            depth += braces(l);
            (depth <= 0).then_some(j)
        })
    } else if t.starts_with("edit ") {
        let indent = first.len() - first.trim_start().len();
        rest.into_iter().skip(1).find_map(|(j, l)| {
            let at = l.len() - l.trim_start().len();
            match l.trim() {
                "next" if at == indent => Some(Some(j)),
                x if !x.is_empty() && at < indent => Some(None),
                _ => None,
            }
        })
        .flatten()
    } else if let Some(tag) = xml_open(t) {
        let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
        let mut depth = 0i64;
        rest.into_iter().find_map(|(j, l)| {
            depth += opens(l, &open) as i64 - l.matches(close.as_str()).count() as i64;
            (depth <= 0).then_some(j)
        })
    } else {
        None
    };
    end.and_then(|e| u32::try_from(e - i + 1).ok()).unwrap_or(1)
}

/// Opening minus closing braces of a line, outside double quotes and `#` comments.
fn braces(l: &str) -> i64 {
    let mut quoted = false;
    let mut n = 0;
    for c in l.chars() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => break,
            '{' if !quoted => n += 1,
            '}' if !quoted => n -= 1,
            _ => {}
        }
    }
    n
}

/// The tag of an XML element the line opens and does not close (`<entry name="x">` → `entry`).
fn xml_open(t: &str) -> Option<&str> {
    let body = t.strip_prefix('<')?;
    if body.starts_with(['/', '?', '!']) || t.ends_with("/>") {
        return None;
    }
    let tag = &body[..body.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?];
    (!tag.is_empty() && !t.contains(&format!("</{tag}>"))).then_some(tag)
}

/// Elements `open` (`<entry`) opened in a line and not closed by `/>` in it.
fn opens(l: &str, open: &str) -> usize {
    let mut n = 0;
    let mut from = 0;
    while let Some(k) = l[from..].find(open) {
        let at = from + k + open.len();
        let next = l[at..].chars().next();
        if matches!(next, Some(c) if c.is_whitespace() || c == '>') || next.is_none() {
            let end = l[at..].find('>').map(|e| at + e);
            if !end.is_some_and(|e| l[..e].ends_with('/')) {
                n += 1;
            }
        }
        from = at;
    }
    n
}

/// The text with lines `line ..= line + count - 1` replaced by `new`, keeping the file's line
/// ending; `None` when the lines are not in the file.
fn replace_lines(text: &str, line: u32, count: u32, new: &str) -> Option<(String, u32)> {
    let crlf = text.contains("\r\n");
    let mut lines: Vec<&str> = text.lines().collect();
    let first = usize::try_from(line).ok()?.checked_sub(1)?;
    let end = first.checked_add(usize::try_from(count).ok()?)?;
    if end > lines.len() || first > lines.len() {
        return None;
    }
    let put: Vec<&str> = new.lines().collect();
    let n = u32::try_from(put.len()).ok()?;
    lines.splice(first..end, put);
    let mut out = lines.join(if crlf { "\r\n" } else { "\n" });
    if text.ends_with('\n') || text.is_empty() {
        out.push_str(if crlf { "\r\n" } else { "\n" });
    }
    Some((out, n))
}

/// The workspace read again after replacements, the shifts of each edited file, and what the
/// reader says about each replacement.
type Reloaded = (Workspace, Vec<(String, Shifts)>, Vec<Reread>);

/// Apply every [`Edit::ReplaceLines`] to the files' text and load the workspace again; the
/// edits that matched nothing go to `unmatched` (with why). `None` when there is no such edit.
fn reread(ws: &Workspace, edits: &[Edit], inputs: Inputs, unmatched: &mut Vec<String>) -> Option<Reloaded> {
    let mut texts: Vec<std::sync::Arc<str>> = ws.files.iter().map(|f| f.text.clone()).collect();
    let mut shifts: Vec<(String, Shifts)> = Vec::new();
    let mut applied: Vec<(usize, &Edit)> = Vec::new();
    for e in edits {
        let Edit::ReplaceLines { file, line, count, text } = e else { continue };
        let Some(fi) = ws.files.iter().position(|f| f.path == *file) else {
            unmatched.push(format!("{}: there is no input file {file}", e.describe()));
            continue;
        };
        let slot = match shifts.iter().position(|(f, _)| f == file) {
            Some(i) => i,
            None => {
                shifts.push((file.clone(), Vec::new()));
                shifts.len() - 1
            }
        };
        let Some((_, sh)) = shifts.get_mut(slot) else { continue };
        let end = line.saturating_add(*count);
        if sh.iter().any(|&(f, c, _)| *line < f.saturating_add(c.max(1)) && f < end.max(line.saturating_add(1))) {
            unmatched.push(format!("{}: those lines are already edited", e.describe()));
            continue;
        }
        let Some(at) = shifted(sh, *line) else { continue };
        let Some(old) = texts.get(fi) else { continue };
        let Some((new, n)) = replace_lines(old, at, *count, text) else {
            unmatched.push(format!("{}: the file has no such lines", e.describe()));
            continue;
        };
        if let Some(t) = texts.get_mut(fi) {
            *t = new.into();
        }
        sh.push((*line, *count, n));
        sh.sort_unstable();
        applied.push((fi, e));
    }
    if applied.is_empty() {
        return None;
    }
    let mut files: Vec<InputFile> = ws.files.iter().zip(&texts).map(|(f, t)| InputFile::new(f.path.clone(), t.to_string())).collect();
    let apart = if inputs.manifest_apart { files.pop() } else { None };
    let out = Workspace::load_with_manifest(files, apart);
    let mut rereads = Vec::new();
    for (fi, e) in applied {
        let Edit::ReplaceLines { file, line, .. } = e else { continue };
        let (Some(before), Some(after)) = (ws.files.get(fi), out.files.get(fi)) else { continue };
        let known = |d: &Diagnostic| before.parsed.diags.iter().any(|o| o.code == d.code && o.text == d.text && o.reason == d.reason);
        let diagnostics = after.parsed.diags.iter().filter(|d| !known(d)).cloned().collect();
        rereads.push(Reread { file: file.clone(), line: *line, diagnostics });
    }
    Some((out, shifts, rereads))
}

/// A rule line of the inputs as given, in the workspace the edits made: `Err` says why it is
/// not there (its lines were replaced).
fn rule_line(shifts: &[(String, Shifts)], file: &str, line: u32) -> Result<u32, &'static str> {
    match shifts.iter().find(|(f, _)| f == file) {
        None => Ok(line),
        Some((_, sh)) => shifted(sh, line).ok_or("its line is rewritten by another edit"),
    }
}

/// A copy of `ws` with the edits applied, and the edits that matched nothing (with why). A
/// manifest among the files is taken as one of the inputs (see [`apply_with`]).
pub fn apply(ws: &Workspace, edits: &[Edit]) -> (Workspace, Vec<String>) {
    let (out, unmatched, _) = apply_with(ws, edits, Inputs::default());
    (out, unmatched)
}

/// A copy of `ws` with the edits applied, the edits that matched nothing (with why), and what
/// the reader says about each [`Edit::ReplaceLines`]. Lines are replaced first (the files are
/// read again), then the other edits are made in order, their lines followed to where the
/// replacements moved them.
pub fn apply_with(ws: &Workspace, edits: &[Edit], inputs: Inputs) -> (Workspace, Vec<String>, Vec<Reread>) {
    let mut unmatched = Vec::new();
    let (mut out, shifts, rereads) = match reread(ws, edits, inputs, &mut unmatched) {
        Some(r) => r,
        None => (ws.clone(), Vec::new(), Vec::new()),
    };
    for e in edits {
        // A rule edit names a line, which the replacements before it may have moved.
        let moved = match e {
            Edit::DeleteRule { file, line } | Edit::SetAction { file, line, .. } => match rule_line(&shifts, file, *line) {
                Ok(l) => l,
                Err(why) => {
                    unmatched.push(format!("{}: {why}", e.describe()));
                    continue;
                }
            },
            _ => 0,
        };
        let hit = match e {
            Edit::ReplaceLines { .. } => continue,
            Edit::DeleteRule { file, .. } => edit_rules(&mut out, file, moved, |rules, i| {
                rules.remove(i);
                false
            }),
            Edit::SetAction { file, action, .. } => {
                let Some(a) = parse_action(action) else {
                    unmatched.push(format!("{}: unknown action {action:?} (accept, drop or reject)", e.describe()));
                    continue;
                };
                edit_rules(&mut out, file, moved, |rules, i| {
                    rules[i].action = a.clone();
                    true
                })
            }
            Edit::ClosePort { addr, proto, port } => edit_hosts(&mut out, *addr, |h| {
                let mut n = 0;
                for s in h.services.iter_mut().filter(|s| s.proto == *proto && s.port == *port) {
                    s.state = PortState::Closed;
                    n += 1;
                }
                let before = h.vulns.len();
                h.vulns.retain(|v| !(v.proto == Some(*proto) && v.port == Some(*port)));
                n + before - h.vulns.len()
            }),
            Edit::PatchService { addr, proto, port } => edit_hosts(&mut out, *addr, |h| {
                let before = h.vulns.len();
                h.vulns.retain(|v| !(v.proto == Some(*proto) && v.port == Some(*port)));
                before - h.vulns.len()
            }),
            Edit::Patch { addr, id } => edit_hosts(&mut out, *addr, |h| {
                let before = h.vulns.len();
                h.vulns.retain(|v| v.id != *id);
                before - h.vulns.len()
            }),
        };
        if hit == 0 && !matches!(e, Edit::ClosePort { .. }) {
            unmatched.push(format!("{}: nothing in the inputs matches", e.describe()));
        }
    }
    (out, unmatched, rereads)
}

/// An edit and how it reads.
#[derive(Clone, Debug, Serialize)]
pub struct DescribedEdit {
    /// The edit.
    #[serde(flatten)]
    pub edit: Edit,
    /// It in words.
    pub description: String,
}

/// What a list of edits changes: the analysis of the edited inputs compared with the analysis
/// of the inputs as they are.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The edits, in the order made.
    pub edits: Vec<DescribedEdit>,
    /// Edits that matched nothing in the inputs, with why.
    pub unmatched: Vec<String>,
    /// For each replacement of lines, what the reader says about the new text.
    pub reread: Vec<Reread>,
    /// Exposures, attack paths, findings and violations added and removed by the edits.
    pub diff: crate::report::diff::DiffReport,
    /// Counts after the edits: exposures, attack paths, findings, violations.
    pub after: Counts,
}

/// The devices (by index in the network) whose rules `edits` change, if the edits change
/// nothing but rules (deletions and new actions). `None` when an edit changes anything else:
/// a file read again (anything may change), a service closed, patched or upgraded (the scans
/// change).
pub fn changed_devices(ws: &Workspace, edits: &[Edit]) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for e in edits {
        match e {
            Edit::ReplaceLines { .. } | Edit::ClosePort { .. } | Edit::PatchService { .. } | Edit::Patch { .. } => return None,
            Edit::DeleteRule { file, line } | Edit::SetAction { file, line, .. } => {
                for (i, d) in ws.network.devices.iter().enumerate() {
                    let has = d.firewall.as_ref().is_some_and(|fw| fw.rulesets.iter().flat_map(|rs| rs.rules.iter()).any(|r| r.prov.line == *line && r.prov.file == *file));
                    if has && !out.contains(&i) {
                        out.push(i);
                    }
                }
            }
        }
    }
    out.sort_unstable();
    Some(out)
}

/// Sizes of an analysis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Exposures.
    pub exposures: usize,
    /// Attack paths listed.
    pub attack_paths: usize,
    /// Findings.
    pub findings: usize,
    /// Policy violations.
    pub violations: usize,
}

impl Counts {
    /// The sizes of `r`.
    pub fn of(r: &crate::report::AnalyzeReport) -> Counts {
        Counts {
            exposures: r.exposure.exposures.len(),
            attack_paths: r.attack.attack_paths.len(),
            findings: r.findings.len(),
            violations: r.violations.len(),
        }
    }
}

/// The analysis from `origins` with `edits` made, compared with `before` (the same analysis of
/// the inputs as they are). Closed services and patches also reach the attack graph, so a
/// service assumed from its port alone is closed too.
pub fn compare(an: &crate::reach::Analyzer, origins: &[crate::reach::Origin], before: &crate::report::AnalyzeReport, edits: &[Edit]) -> Comparison {
    compare_with(an, origins, before, edits, Inputs::default())
}

/// As [`compare`], for inputs given as `inputs` says (which matters to edits that read a file
/// again).
pub fn compare_with(
    an: &crate::reach::Analyzer,
    origins: &[crate::reach::Origin],
    before: &crate::report::AnalyzeReport,
    edits: &[Edit],
    inputs: Inputs,
) -> Comparison {
    let (ws, unmatched, reread) = apply_with(an.workspace(), edits, inputs);
    let an2 = crate::reach::Analyzer::new(&ws);
    let mut opts = crate::attack::Options::default();
    for e in edits {
        match e {
            Edit::ClosePort { addr, proto, port } => opts.closed.push((*addr, *proto, *port)),
            Edit::Patch { addr, id } => opts.patched.push((*addr, id.clone())),
            _ => {}
        }
    }
    let after = crate::report::AnalyzeReport::build_with(&an2, origins, &opts);
    Comparison {
        edits: edits.iter().map(|e| DescribedEdit { edit: e.clone(), description: e.describe() }).collect(),
        unmatched,
        reread,
        diff: crate::report::diff::DiffReport::build(before, &after),
        after: Counts::of(&after),
    }
}

fn parse_action(s: &str) -> Option<Action> {
    match s.to_ascii_lowercase().as_str() {
        "accept" | "permit" | "allow" => Some(Action::Accept),
        "drop" | "deny" => Some(Action::Drop),
        "reject" => Some(Action::Reject("icmp-port-unreachable".into())),
        _ => None,
    }
}

/// Apply `f` to every scanned host holding `addr` (it returns how much it changed), copying
/// only the files that hold one; the sum of what it changed.
fn edit_hosts(ws: &mut Workspace, addr: IpAddr, mut f: impl FnMut(&mut crate::model::Host) -> usize) -> usize {
    let mut n = 0;
    for file in &mut ws.files {
        if file.parsed.content.hosts.iter().any(|h| h.addrs.contains(&addr)) {
            let parsed = std::sync::Arc::make_mut(&mut file.parsed);
            for h in parsed.content.hosts.iter_mut().filter(|h| h.addrs.contains(&addr)) {
                n += f(h);
            }
        }
    }
    n
}

/// Apply `f` to every rule written at `file:line` (it returns whether the rule stays at its
/// index); the number of rules edited.
fn edit_rules(ws: &mut Workspace, file: &str, line: u32, f: impl Fn(&mut Vec<crate::model::Rule>, usize) -> bool) -> usize {
    let mut n = 0;
    let at = |r: &crate::model::Rule| r.prov.line == line && r.prov.file == file;
    for d in &mut ws.network.devices {
        // Only a firewall holding such a rule is copied.
        let Some(fw) = d.firewall.as_mut().filter(|fw| fw.rulesets.iter().any(|rs| rs.rules.iter().any(at))) else { continue };
        for rs in &mut std::sync::Arc::make_mut(fw).rulesets {
            let mut i = 0;
            while i < rs.rules.len() {
                if at(&rs.rules[i]) {
                    n += 1;
                    if !f(&mut rs.rules, i) {
                        continue;
                    }
                }
                i += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_spans_the_block_its_line_opens() {
        let forti = "config firewall policy\n    edit 3\n        set srcintf \"lan\"\n        config x\n            edit 1\n            next\n        end\n        set action accept\n    next\n    edit 4\n    next\nend\n";
        assert_eq!(super::rule_span(forti, 2), 8);
        assert_eq!(super::rule_span(forti, 10), 2);
        assert_eq!(super::rule_span(forti, 1), 1);
        let junos = "policies {\n    from-zone a to-zone b {\n        policy web {\n            match { application junos-http; }\n            then {\n                permit; # \"}\"\n            }\n        }\n    }\n}\n";
        assert_eq!(super::rule_span(junos, 3), 6);
        let panos = "<rules>\n  <entry name=\"a\">\n    <from><member>x</member></from>\n    <entry name=\"inner\"/>\n    <action>allow</action>\n  </entry>\n  <entry name=\"b\"><action>deny</action></entry>\n</rules>\n";
        assert_eq!(super::rule_span(panos, 2), 5);
        assert_eq!(super::rule_span(panos, 7), 1);
        let pfsense = "<filter>\n\t<rule>\n\t\t<type>pass</type>\n\t</rule>\n</filter>\n";
        assert_eq!(super::rule_span(pfsense, 2), 3);
        // One-line rules, lines out of range, and a block never closed.
        assert_eq!(super::rule_span("-A INPUT -p tcp --dport 22 -j ACCEPT\n", 1), 1);
        assert_eq!(super::rule_span("x\n", 0), 1);
        assert_eq!(super::rule_span("x\n", 9), 1);
        assert_eq!(super::rule_span("policy p {\n  then permit;\n", 1), 1);
    }
    use crate::workspace::InputFile;

    const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp --dport 22 -j ACCEPT\n-A FORWARD -p tcp --dport 80 -j ACCEPT\nCOMMIT\n";

    fn forward_rules(ws: &Workspace) -> Vec<(u32, String)> {
        let fw = ws.network.devices[0].firewall.as_ref().unwrap();
        fw.rulesets.iter().filter(|r| r.name == "FORWARD").flat_map(|r| r.rules.iter()).map(|r| (r.prov.line, format!("{:?}", r.action))).collect()
    }

    #[test]
    fn delete_and_set_action_by_line_and_report_misses() {
        let ws = Workspace::load(vec![InputFile::new("fw/rules.iptables", RULES)]);
        assert_eq!(forward_rules(&ws).len(), 2);
        let (w2, miss) = apply(&ws, &[Edit::DeleteRule { file: "fw/rules.iptables".into(), line: 5 }]);
        assert!(miss.is_empty(), "{miss:?}");
        assert_eq!(forward_rules(&w2).iter().map(|r| r.0).collect::<Vec<_>>(), vec![6]);
        let (w3, _) = apply(&ws, &[Edit::SetAction { file: "fw/rules.iptables".into(), line: 6, action: "drop".into() }]);
        assert_eq!(forward_rules(&w3)[1].1, "Drop");
        let (_, miss) = apply(&ws, &[Edit::DeleteRule { file: "fw/rules.iptables".into(), line: 99 }, Edit::SetAction { file: "x".into(), line: 1, action: "maybe".into() }]);
        assert_eq!(miss.len(), 2, "{miss:?}");
        // The original is untouched.
        assert_eq!(forward_rules(&ws).len(), 2);
    }

    const NFT: &str = "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    tcp dport 22 accept\n    tcp dport 443 accept\n  }\n}\n";

    fn verdict(ws: &Workspace, port: &str) -> String {
        let an = crate::reach::Analyzer::new(ws);
        let row = crate::reach::TestRow {
            src: "198.51.100.7".into(),
            dst: "192.0.2.1".into(),
            proto: "tcp".into(),
            port: port.into(),
            sport: None,
            in_iface: None,
            out_iface: None,
            state: None,
        };
        let name = an.filters().into_iter().find(|f| f.ends_with("/input")).expect("the input chain");
        an.test_filter(&name, &row).expect("a verdict").verdict
    }

    #[test]
    fn an_nftables_rule_rewritten_is_read_again_and_a_bad_one_gives_diagnostics() {
        let ws = Workspace::load(vec![InputFile::new("gw/ruleset.nft", NFT)]);
        assert_eq!(verdict(&ws, "22"), "allowed");
        assert_eq!(verdict(&ws, "2222"), "denied");
        let edit = |text: &str| Edit::ReplaceLines { file: "gw/ruleset.nft".into(), line: 4, count: 1, text: text.into() };
        let (w2, miss, reread) = apply_with(&ws, &[edit("    tcp dport 2222 accept")], Inputs::default());
        assert!(miss.is_empty(), "{miss:?}");
        assert!(reread[0].diagnostics.is_empty(), "{:?}", reread[0].diagnostics);
        assert_eq!(verdict(&w2, "22"), "denied");
        assert_eq!(verdict(&w2, "2222"), "allowed");
        assert_eq!(verdict(&w2, "443"), "allowed");
        // Two lines for one: the rule after them is still read, from its new line.
        let (w3, _, _) = apply_with(&ws, &[edit("    tcp dport 2222 accept\n    udp dport 53 accept")], Inputs::default());
        assert_eq!(verdict(&w3, "443"), "allowed");
        let (_, miss, _) = apply_with(&ws, &[edit("    tcp dport 2222 accept\n    udp dport 53 accept"), Edit::SetAction { file: "gw/ruleset.nft".into(), line: 5, action: "drop".into() }], Inputs::default());
        assert!(miss.is_empty(), "line 5 as given is line 6 once line 4 is two lines: {miss:?}");
        // A statement the reader does not know: its diagnostics, and the rest still read.
        let (w4, miss, reread) = apply_with(&ws, &[edit("    tcp dport 22 frobnicate")], Inputs::default());
        assert!(miss.is_empty(), "{miss:?}");
        assert!(!reread[0].diagnostics.is_empty());
        assert!(reread[0].diagnostics.iter().all(|d| d.line == 4), "{:?}", reread[0].diagnostics);
        assert_eq!(verdict(&w4, "443"), "allowed");
    }

    #[test]
    fn replaced_lines_keep_the_line_ending_and_stay_in_the_file() {
        assert_eq!(replace_lines("a\r\nb\r\nc\r\n", 2, 1, "x\ny"), Some(("a\r\nx\r\ny\r\nc\r\n".to_string(), 2)));
        assert_eq!(replace_lines("a\nb", 1, 2, ""), Some((String::new(), 0)));
        assert_eq!(replace_lines("a\nb\n", 3, 0, "c"), Some(("a\nb\nc\n".to_string(), 1)));
        assert_eq!(replace_lines("a\nb\n", 3, 1, "c"), None);
        assert_eq!(replace_lines("a\nb\n", 0, 1, "c"), None);
        assert_eq!(replace_lines("a\nb\n", 2, u32::MAX, "c"), None);
        // Lines as given, followed through two replacements.
        let sh: Shifts = vec![(2, 1, 3), (5, 2, 0)];
        assert_eq!([1, 2, 3, 4, 5, 6, 7].map(|l| shifted(&sh, l)), [Some(1), None, Some(5), Some(6), None, None, Some(7)]);
    }
}
