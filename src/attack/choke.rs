//! Choke points: the fewest changes that cut every attack path to the crown jewels.
//!
//! Each edge of the graph can be removed by a change: patching the vulnerability it exploits,
//! closing the service it enters, or deleting a rule that lets its connection through. Picking
//! the fewest changes that separate every origin from every crown jewel is a set-cover problem
//! (NP-hard), so the changes are chosen greedily: each round takes the change that
//! disconnects the most (origin, crown jewel) pairs, then the one that breaks the most of the
//! current most likely paths. Changes that would cut a connection the manifest's `must_reach`
//! requires are taken last. The first change is therefore the single change that cuts the most.
//!
//! Nothing is claimed from the graph alone: the chosen changes are applied to a copy of the
//! inputs ([`crate::whatif`]) and the graph is built again from scratch, once per change and
//! once for all of them; what the report states is what that recomputation found.

use std::collections::{BTreeSet, HashMap, HashSet};

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use super::{paths, Graph, Node, Options, WayKind};
use crate::manifest::ServiceSpec;
use crate::reach::{Analyzer, Origin, QueryRequest};
use crate::report::Verdict;
use crate::whatif::{self, Edit};

/// Most changes proposed.
pub const MAX_CHANGES: usize = 10;

/// One proposed change.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// The change, as an edit the what-if analysis applies.
    pub edit: Edit,
    /// The change in words.
    pub what: String,
    /// Who makes it.
    pub owner: String,
    /// (origin → crown jewel) pairs no longer connected once this change alone is made,
    /// as recomputed.
    pub cuts: Vec<String>,
    /// Paths (of those reported) that this change alone breaks, as recomputed.
    pub paths_cut: usize,
    /// `must_reach` entries the change would break (the change is then a last resort).
    pub breaks: Vec<String>,
    /// The rule's device and text, for a rule change.
    pub detail: Option<String>,
}

/// The proposal and its proof.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChokeReport {
    /// Changes, in the order chosen (the first cuts the most on its own).
    pub changes: Vec<Change>,
    /// (origin → crown jewel) pairs connected before.
    pub pairs_before: usize,
    /// Pairs still connected with every change made, as recomputed.
    pub pairs_after: usize,
    /// True when the recomputation with every change made finds no path left.
    pub proven: bool,
    /// Why the proposal is not complete, if so.
    pub note: Option<String>,
}

/// A connection the manifest requires, and the rules that let it through today.
struct Required {
    id: String,
    to: crate::space::Ranges,
    spec: ServiceSpec,
    rules: HashSet<(String, u32)>,
}

fn required(an: &Analyzer) -> Vec<Required> {
    let Some(m) = an.workspace().manifest.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for e in &m.policy.must_reach {
        let Ok(to) = an.endpoint_addrs(&e.to.text) else { continue };
        for s in &e.services {
            let mut rules = HashSet::new();
            let q = match *s {
                ServiceSpec::Port(p, port) | ServiceSpec::Range(p, port, _) => Some((p, port)),
                _ => None,
            };
            if let Some((p, port)) = q {
                if let Ok(rep) = an.query_clients(&QueryRequest { from: e.from.text.clone(), to: e.to.text.clone(), proto: p.to_string(), port: Some(port.to_string()), sport: None }) {
                    for r in rep.results.iter().filter(|r| r.verdict != Verdict::Denied) {
                        for h in r.hops.iter().filter(|h| h.direction == "forward") {
                            for d in &h.decisions {
                                rules.insert((d.file.clone(), d.line));
                            }
                        }
                    }
                }
            }
            out.push(Required { id: e.id.clone(), to: to.clone(), spec: *s, rules });
        }
    }
    out
}

fn covers(spec: &ServiceSpec, proto: u8, port: u16) -> bool {
    match *spec {
        ServiceSpec::Any => true,
        ServiceSpec::Proto(p) => p == proto,
        ServiceSpec::Port(p, x) => p == proto && x == port,
        ServiceSpec::Range(p, lo, hi) => p == proto && lo <= port && port <= hi,
    }
}

/// Candidate changes with the edges each removes.
fn candidates(graph: &Graph, relevant: &HashSet<EdgeIndex>) -> Vec<(Edit, Vec<EdgeIndex>)> {
    let mut by: HashMap<Edit, BTreeSet<EdgeIndex>> = HashMap::new();
    let mut order: Vec<Edit> = Vec::new();
    let mut add = |edit: Edit, e: EdgeIndex, order: &mut Vec<Edit>| {
        by.entry(edit.clone())
            .or_insert_with(|| {
                order.push(edit);
                BTreeSet::new()
            })
            .insert(e);
    };
    for e in graph.g.edge_references() {
        let Node::Host(t) = graph.g[e.target()] else { continue };
        let addr = graph.assets[t].addr;
        let w = e.weight();
        if let WayKind::Vulnerability { id, .. } = &w.way.kind {
            add(Edit::Patch { addr, id: id.clone() }, e.id(), &mut order);
        }
        add(Edit::ClosePort { addr, proto: w.proto, port: w.port }, e.id(), &mut order);
        for r in &w.allowing {
            add(Edit::DeleteRule { file: r.file.clone(), line: r.line }, e.id(), &mut order);
        }
    }
    order
        .into_iter()
        .filter_map(|edit| {
            let edges: Vec<EdgeIndex> = by.remove(&edit)?.into_iter().collect();
            edges.iter().any(|e| relevant.contains(e)).then_some((edit, edges))
        })
        .collect()
}

/// Edges on some path from an origin to a crown jewel.
fn relevant_edges(graph: &Graph) -> HashSet<EdgeIndex> {
    // Every node of the graph is reachable from an origin (it is built outward); an edge is
    // relevant when its target leads to a crown jewel.
    let mut to_jewel: HashSet<NodeIndex> = graph.jewels().into_iter().collect();
    let mut stack: Vec<NodeIndex> = to_jewel.iter().copied().collect();
    while let Some(n) = stack.pop() {
        for e in graph.g.edges_directed(n, petgraph::Direction::Incoming) {
            if to_jewel.insert(e.source()) {
                stack.push(e.source());
            }
        }
    }
    graph.g.edge_references().filter(|e| to_jewel.contains(&e.target())).map(|e| e.id()).collect()
}

/// The (origin, crown jewel) pairs connected over kept edges.
fn connected_pairs(graph: &Graph, keep: &dyn Fn(EdgeIndex) -> bool) -> Vec<(usize, NodeIndex)> {
    let jewels = graph.jewels();
    let mut out = Vec::new();
    for (oi, &o) in graph.origin_nodes.iter().enumerate() {
        for &j in &jewels {
            if paths::connected(&graph.g, o, j, keep) {
                out.push((oi, j));
            }
        }
    }
    out
}

fn pair_label(graph: &Graph, (oi, j): (usize, NodeIndex)) -> String {
    format!("{} → {}", graph.origins[oi].name, super::host_label(&graph.label(j), graph.name(j).as_deref()))
}

/// Who makes a change: the owner the manifest gives the device holding the rule, else IT.
fn owner(an: &Analyzer, edit: &Edit) -> String {
    if let (Edit::DeleteRule { file, .. }, Some(m)) = (edit, an.workspace().manifest.as_ref()) {
        let dev = an.workspace().files.iter().find(|f| &f.path == file).and_then(|f| f.device.clone());
        if let Some(o) = dev.and_then(|d| m.devices.get(&d)).and_then(|d| d.owner) {
            return o.as_str().to_string();
        }
    }
    "it".into()
}

/// Choose the changes greedily and prove them by recomputing.
pub fn propose(an: &Analyzer, origins: &[Origin], opts: &Options, graph: &Graph) -> ChokeReport {
    let relevant = relevant_edges(graph);
    let cands = candidates(graph, &relevant);
    let req = required(an);
    let breaks: Vec<Vec<String>> = cands
        .iter()
        .map(|(edit, _)| {
            let mut ids: Vec<String> = req
                .iter()
                .filter(|r| match edit {
                    Edit::ClosePort { addr, proto, port } => r.to.contains(crate::space::addr_to_u128(*addr)) && covers(&r.spec, *proto, *port),
                    Edit::DeleteRule { file, line } => r.rules.contains(&(file.clone(), *line)),
                    _ => false,
                })
                .map(|r| r.id.clone())
                .collect();
            ids.dedup();
            ids
        })
        .collect();
    let before = connected_pairs(graph, &|_| true);
    let mut rep = ChokeReport { pairs_before: before.len(), ..ChokeReport::default() };
    let mut removed: HashSet<EdgeIndex> = HashSet::new();
    let mut chosen: Vec<usize> = Vec::new();
    loop {
        let keep = |e: EdgeIndex| !removed.contains(&e);
        let now = connected_pairs(graph, &keep);
        if now.is_empty() {
            break;
        }
        if chosen.len() >= MAX_CHANGES {
            rep.note = Some(format!("{MAX_CHANGES} changes do not cut every path; the first of them cuts the most on its own"));
            break;
        }
        // The most likely paths of each pair still connected; the first of each counts first.
        let mut current: Vec<Vec<EdgeIndex>> = Vec::new();
        let mut listed: Vec<Vec<EdgeIndex>> = Vec::new();
        for &(oi, j) in &now {
            for (i, p) in paths::k_most_likely(&graph.g, graph.origin_nodes[oi], j, opts.k.max(1), &keep).into_iter().enumerate() {
                if i == 0 {
                    current.push(p.edges.clone());
                }
                listed.push(p.edges);
            }
        }
        let mut best: Option<(usize, (bool, usize, usize, usize, u8))> = None;
        for (ci, (edit, edges)) in cands.iter().enumerate() {
            if chosen.contains(&ci) {
                continue;
            }
            let set: HashSet<EdgeIndex> = edges.iter().copied().collect();
            let keep2 = |e: EdgeIndex| !removed.contains(&e) && !set.contains(&e);
            let cut = now.len() - connected_pairs(graph, &keep2).len();
            let hit = current.iter().filter(|p| p.iter().any(|e| set.contains(e))).count();
            let hit_listed = listed.iter().filter(|p| p.iter().any(|e| set.contains(e))).count();
            if cut == 0 && hit == 0 {
                continue;
            }
            let pref = match edit {
                Edit::Patch { .. } => 2,
                Edit::DeleteRule { .. } | Edit::SetAction { .. } => 1,
                Edit::ClosePort { .. } => 0,
            };
            let key = (breaks[ci].is_empty(), cut, hit, hit_listed, pref);
            if best.as_ref().is_none_or(|(_, k)| key > *k) {
                best = Some((ci, key));
            }
        }
        let Some((ci, _)) = best else {
            rep.note = Some("no single change cuts any remaining path".into());
            break;
        };
        chosen.push(ci);
        removed.extend(cands[ci].1.iter().copied());
    }
    if chosen.is_empty() {
        return rep;
    }
    // Greedy choices can become redundant once later ones are made: drop each change, latest
    // first, whose removal leaves every pair the proposal cuts still cut.
    if rep.note.is_none() {
        let mut i = chosen.len();
        while i > 0 {
            i -= 1;
            let others: HashSet<EdgeIndex> = chosen.iter().enumerate().filter(|&(k, _)| k != i).flat_map(|(_, &c)| cands[c].1.iter().copied()).collect();
            if connected_pairs(graph, &|e| !others.contains(&e)).is_empty() {
                chosen.remove(i);
            }
        }
    }
    // Proof: recompute from the edited inputs, each change alone and all together.
    let reported: Vec<Vec<EdgeIndex>> = graph.paths(opts.k).into_iter().flat_map(|(_, _, l)| l.into_iter().map(|(p, _)| p.edges)).collect();
    let before_labels: BTreeSet<String> = before.iter().map(|&p| pair_label(graph, p)).collect();
    for &ci in &chosen {
        let edit = cands[ci].0.clone();
        let after = recompute(an, origins, opts, std::slice::from_ref(&edit));
        let left: BTreeSet<String> = after.iter().cloned().collect();
        let set: HashSet<EdgeIndex> = cands[ci].1.iter().copied().collect();
        let detail = match &edit {
            Edit::DeleteRule { file, line } => graph
                .g
                .edge_references()
                .flat_map(|e| e.weight().hops.iter())
                .find_map(|h| h.decisions.iter().find(|d| &d.file == file && d.line == *line).map(|d| format!("{} {}: {}", h.device, d.ruleset, d.text))),
            _ => None,
        };
        rep.changes.push(Change {
            detail,
            what: edit.describe(),
            owner: owner(an, &edit),
            cuts: before_labels.difference(&left).cloned().collect(),
            paths_cut: reported.iter().filter(|p| p.iter().any(|e| set.contains(e))).count(),
            breaks: breaks[ci].clone(),
            edit,
        });
    }
    let all: Vec<Edit> = rep.changes.iter().map(|c| c.edit.clone()).collect();
    let after = recompute(an, origins, opts, &all);
    rep.pairs_after = after.len();
    rep.proven = after.is_empty();
    if !after.is_empty() && rep.note.is_none() {
        rep.note = Some(format!("recomputed with every change made, these stay connected: {}", after.join("; ")));
    }
    rep
}

/// The (origin → crown jewel) pairs still connected once the edits are made, recomputed from
/// the edited inputs.
fn recompute(an: &Analyzer, origins: &[Origin], opts: &Options, edits: &[Edit]) -> Vec<String> {
    let (ws, _unmatched) = whatif::apply(an.workspace(), edits);
    let an2 = Analyzer::new(&ws);
    let mut o2 = opts.clone();
    for e in edits {
        match e {
            Edit::ClosePort { addr, proto, port } => o2.closed.push((*addr, *proto, *port)),
            Edit::Patch { addr, id } => o2.patched.push((*addr, id.clone())),
            _ => {}
        }
    }
    let g2 = Graph::build(&an2, origins, &o2);
    connected_pairs(&g2, &|_| true).into_iter().map(|p| pair_label(&g2, p)).collect()
}
