//! What-if: edits to the inputs, applied to a copy of a workspace, so that every analysis can
//! be recomputed as if the change had been made.
//!
//! Rules are named by where they are written (`file:line`): every rule a line produced is
//! edited together, as a person editing the config would. A closed service or a patched
//! vulnerability changes what the scans say about a host.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{Action, PortState};
use crate::workspace::Workspace;

/// One change to the inputs. As JSON (the page's what-if list): `{"edit": "delete-rule", "file",
/// "line"}`, `{"edit": "set-action", "file", "line", "action"}`, `{"edit": "close-port", "addr",
/// "proto", "port"}`, `{"edit": "patch-service", …}`, `{"edit": "patch", "addr", "id"}`.
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
        }
    }
}

/// A copy of `ws` with the edits applied, and the edits that matched nothing (with why).
pub fn apply(ws: &Workspace, edits: &[Edit]) -> (Workspace, Vec<String>) {
    let mut out = ws.clone();
    let mut unmatched = Vec::new();
    for e in edits {
        let hit = match e {
            Edit::DeleteRule { file, line } => edit_rules(&mut out, file, *line, |rules, i| {
                rules.remove(i);
                false
            }),
            Edit::SetAction { file, line, action } => {
                let Some(a) = parse_action(action) else {
                    unmatched.push(format!("{}: unknown action {action:?} (accept, drop or reject)", e.describe()));
                    continue;
                };
                edit_rules(&mut out, file, *line, |rules, i| {
                    rules[i].action = a.clone();
                    true
                })
            }
            Edit::ClosePort { addr, proto, port } => {
                let mut n = 0;
                for f in &mut out.files {
                    for h in f.parsed.content.hosts.iter_mut().filter(|h| h.addrs.contains(addr)) {
                        for s in h.services.iter_mut().filter(|s| s.proto == *proto && s.port == *port) {
                            s.state = PortState::Closed;
                            n += 1;
                        }
                        let before = h.vulns.len();
                        h.vulns.retain(|v| !(v.proto == Some(*proto) && v.port == Some(*port)));
                        n += before - h.vulns.len();
                    }
                }
                n
            }
            Edit::PatchService { addr, proto, port } => {
                let mut n = 0;
                for f in &mut out.files {
                    for h in f.parsed.content.hosts.iter_mut().filter(|h| h.addrs.contains(addr)) {
                        let before = h.vulns.len();
                        h.vulns.retain(|v| !(v.proto == Some(*proto) && v.port == Some(*port)));
                        n += before - h.vulns.len();
                    }
                }
                n
            }
            Edit::Patch { addr, id } => {
                let mut n = 0;
                for f in &mut out.files {
                    for h in f.parsed.content.hosts.iter_mut().filter(|h| h.addrs.contains(addr)) {
                        let before = h.vulns.len();
                        h.vulns.retain(|v| v.id != *id);
                        n += before - h.vulns.len();
                    }
                }
                n
            }
        };
        if hit == 0 && !matches!(e, Edit::ClosePort { .. }) {
            unmatched.push(format!("{}: nothing in the inputs matches", e.describe()));
        }
    }
    (out, unmatched)
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
    /// Exposures, attack paths, findings and violations added and removed by the edits.
    pub diff: crate::report::diff::DiffReport,
    /// Counts after the edits: exposures, attack paths, findings, violations.
    pub after: Counts,
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
    let (ws, unmatched) = apply(an.workspace(), edits);
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

/// Apply `f` to every rule written at `file:line` (it returns whether the rule stays at its
/// index); the number of rules edited.
fn edit_rules(ws: &mut Workspace, file: &str, line: u32, f: impl Fn(&mut Vec<crate::model::Rule>, usize) -> bool) -> usize {
    let mut n = 0;
    for d in &mut ws.network.devices {
        let Some(fw) = d.firewall.as_mut() else { continue };
        for rs in &mut fw.rulesets {
            let mut i = 0;
            while i < rs.rules.len() {
                if rs.rules[i].prov.line == line && rs.rules[i].prov.file == file {
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
}
