//! `portolan diff`: what a change to the inputs adds and removes — exposures (down to the
//! ports), attack paths, findings and policy violations.
//!
//! Two versions of the same estate usually live in different folders, so nothing is compared
//! by file path or line number: exposures by origin, destination and protocol (their ports are
//! compared as sets), attack paths by their steps, findings by code, device, ruleset and rule
//! text.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{AnalyzeReport, Certainty, Exposure};
use crate::attack::AttackPath;
use crate::findings::Finding;
use crate::space::Ranges;

/// An exposure that gained or lost ports.
#[derive(Clone, Debug, Serialize)]
pub struct ExposureChange {
    /// The ports added or removed (`any` for all of them; empty for protocols without ports).
    pub changed_ports: String,
    /// The exposure as the version that has those ports reports it (its path and witness).
    pub exposure: Exposure,
}

/// Everything a change adds and removes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DiffReport {
    /// Exposures (or ports of them) only the new version has.
    pub exposures_added: Vec<ExposureChange>,
    /// Exposures (or ports of them) only the old version has.
    pub exposures_removed: Vec<ExposureChange>,
    /// Attack paths the new version lists that the old one could not take (a step was
    /// impossible before).
    pub paths_added: Vec<AttackPath>,
    /// Attack paths the old version lists that the new one cannot take any more.
    pub paths_removed: Vec<AttackPath>,
    /// Findings only the new version has.
    pub findings_added: Vec<Finding>,
    /// Findings only the old version has.
    pub findings_removed: Vec<Finding>,
    /// Policy violations only the new version has.
    pub violations_added: Vec<crate::policy::Violation>,
    /// Policy violations only the old version has.
    pub violations_removed: Vec<crate::policy::Violation>,
}

impl DiffReport {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.exposures_added.is_empty()
            && self.exposures_removed.is_empty()
            && self.paths_added.is_empty()
            && self.paths_removed.is_empty()
            && self.findings_added.is_empty()
            && self.findings_removed.is_empty()
            && self.violations_added.is_empty()
            && self.violations_removed.is_empty()
    }

    /// Compare two analyses of the same estate.
    pub fn build(old: &AnalyzeReport, new: &AnalyzeReport) -> DiffReport {
        let (exposures_added, exposures_removed) = exposures(&old.exposure.exposures, &new.exposure.exposures);
        // A listed path is new only when the old estate could not take one of its steps (a
        // path that was merely ranked lower before is not new), and removed likewise.
        let steps_of = |r: &AnalyzeReport| -> BTreeSet<String> { r.attack.attack_edges.iter().map(|e| format!("{}>{}:{}/{}", e.from, e.to, e.proto, e.port)).collect() };
        let (old_steps, new_steps) = (steps_of(old), steps_of(new));
        let impossible = |p: &AttackPath, steps: &BTreeSet<String>| p.steps.iter().any(|s| !steps.contains(&format!("{}>{}:{}/{}", s.from, s.to, s.proto, s.port)));
        let (paths_added, paths_removed) = by_key(&old.attack.attack_paths, &new.attack.attack_paths, path_key);
        let paths_added = paths_added.into_iter().filter(|p| impossible(p, &old_steps)).collect();
        let paths_removed = paths_removed.into_iter().filter(|p| impossible(p, &new_steps)).collect();
        let (findings_added, findings_removed) = by_key(&old.findings, &new.findings, finding_key);
        let (violations_added, violations_removed) = by_key(&old.violations, &new.violations, |v| format!("{}|{}|{:?}|{}", v.id, v.kind, v.certainty, v.set));
        DiffReport { exposures_added, exposures_removed, paths_added, paths_removed, findings_added, findings_removed, violations_added, violations_removed }
    }
}

/// Ports of an exposure as a set; protocols without ports are one whole.
fn port_set(ports: &str) -> Ranges {
    if ports.is_empty() || ports == "any" {
        return Ranges::range(0, 65535);
    }
    Ranges::from_ranges(
        ports
            .split(',')
            .filter_map(|p| {
                let (a, b) = p.split_once('-').unwrap_or((p, p));
                Some((a.trim().parse::<u128>().ok()?, b.trim().parse::<u128>().ok()?))
            })
            .collect(),
    )
}

fn port_text(r: &Ranges, whole: &str) -> String {
    if *r == Ranges::range(0, 65535) {
        return whole.to_string();
    }
    r.as_slice().iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(",")
}

type ExpKey = (String, String, String, Certainty);

fn exposure_map(list: &[Exposure]) -> BTreeMap<ExpKey, (Ranges, Vec<&Exposure>)> {
    let mut m: BTreeMap<ExpKey, (Ranges, Vec<&Exposure>)> = BTreeMap::new();
    for e in list {
        let slot = m.entry((e.origin.clone(), e.ip.clone(), e.proto.clone(), e.certainty)).or_insert_with(|| (Ranges::default(), Vec::new()));
        slot.0 = slot.0.union(&port_set(&e.ports));
        slot.1.push(e);
    }
    m
}

/// Ports gained and lost per origin, destination, protocol and certainty.
fn exposures(old: &[Exposure], new: &[Exposure]) -> (Vec<ExposureChange>, Vec<ExposureChange>) {
    let (mo, mn) = (exposure_map(old), exposure_map(new));
    let empty = (Ranges::default(), Vec::new());
    let side = |a: &BTreeMap<ExpKey, (Ranges, Vec<&Exposure>)>, b: &BTreeMap<ExpKey, (Ranges, Vec<&Exposure>)>| {
        let mut out = Vec::new();
        for (k, (ports, rows)) in a {
            let other = b.get(k).unwrap_or(&empty);
            let gained = ports.difference(&other.0);
            if gained.is_empty() {
                continue;
            }
            // The row that holds the first gained port explains it.
            let first = gained.first().unwrap_or(0);
            let Some(row) = rows.iter().find(|e| port_set(&e.ports).contains(first)).or(rows.first()) else { continue };
            let whole = if row.ports.is_empty() { "" } else { "any" };
            out.push(ExposureChange { changed_ports: port_text(&gained, whole), exposure: (*row).clone() });
        }
        out
    };
    (side(&mn, &mo), side(&mo, &mn))
}

fn path_key(p: &AttackPath) -> String {
    let mut k = format!("{}>{}", p.origin, p.target);
    for s in &p.steps {
        k.push_str(&format!("|{}>{}:{}/{}", s.from, s.to, s.proto, s.port));
    }
    k
}

/// A finding's identity across versions: code, device, ruleset, rule text, and its message
/// without file:line references (lines move when a config is edited).
fn finding_key(f: &Finding) -> String {
    let mut msg = f.message.clone();
    let mut refs: Vec<String> = f.related.iter().map(|r| format!("{}:{}", r.file, r.line)).collect();
    refs.push(format!("{}:{}", f.file, f.line));
    refs.sort_by_key(|r| std::cmp::Reverse(r.len()));
    for r in refs {
        msg = msg.replace(&r, "");
    }
    format!("{}|{}|{}|{}|{}", f.code, f.device, f.ruleset, f.text, msg)
}

fn by_key<T: Clone>(old: &[T], new: &[T], key: impl Fn(&T) -> String) -> (Vec<T>, Vec<T>) {
    let ko: BTreeSet<String> = old.iter().map(&key).collect();
    let kn: BTreeSet<String> = new.iter().map(&key).collect();
    let added = new.iter().filter(|x| !ko.contains(&key(x))).cloned().collect();
    let removed = old.iter().filter(|x| !kn.contains(&key(x))).cloned().collect();
    (added, removed)
}
