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
                                rules.insert((d.file.to_string(), d.line));
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
            // One flaw: patch it; several on the service: upgrade the software behind it.
            let flaws = graph.assets[t]
                .services
                .iter()
                .filter(|c| c.proto == w.proto && c.port == w.port)
                .flat_map(|c| c.ways.iter())
                .filter(|x| matches!(x.kind, WayKind::Vulnerability { .. }))
                .count();
            let edit = if flaws > 1 {
                Edit::PatchService { addr, proto: w.proto, port: w.port }
            } else {
                Edit::Patch { addr, id: id.clone() }
            };
            add(edit, e.id(), &mut order);
        }
        add(Edit::ClosePort { addr, proto: w.proto, port: w.port }, e.id(), &mut order);
        for r in w.connection.allowing.iter() {
            add(Edit::DeleteRule { file: r.file.to_string(), line: r.line }, e.id(), &mut order);
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

/// The (origin, crown jewel) pairs connected over kept edges: one search from each origin.
fn connected_pairs(graph: &Graph, keep: &dyn Fn(EdgeIndex) -> bool) -> Vec<(usize, NodeIndex)> {
    let jewels = graph.jewels();
    let mut out = Vec::new();
    for (oi, &o) in graph.origin_nodes.iter().enumerate() {
        let reached = paths::reachable(&graph.g, o, keep);
        out.extend(jewels.iter().filter(|j| reached[j.index()]).map(|&j| (oi, j)));
    }
    out
}

fn pair_label(graph: &Graph, (oi, j): (usize, NodeIndex)) -> String {
    format!("{} → {}", graph.origins[oi].name, super::host_label(&graph.label(j), graph.name(j).as_deref()))
}

/// Who makes a change (see [`crate::owners`]): the owner of the device holding the rule, or of
/// the zone of the host whose service changes, else IT.
fn owner(an: &Analyzer, edit: &Edit) -> String {
    let ws = an.workspace();
    let device = match edit {
        Edit::DeleteRule { file, line } | Edit::SetAction { file, line, .. } => ws.device_at(file, *line).map(str::to_string),
        _ => None,
    };
    let dst = match edit {
        Edit::ClosePort { addr, .. } | Edit::Patch { addr, .. } | Edit::PatchService { addr, .. } => Some(*addr),
        _ => None,
    };
    let facts = crate::owners::Facts {
        devices: device.as_deref().into_iter().collect(),
        dst,
        ..crate::owners::Facts::new(crate::owners::Kind::Change, crate::report::Certainty::Definite)
    };
    crate::owners::assign(ws.manifest.as_ref(), &facts)
}

/// Choose the changes greedily and prove them by recomputing.
pub fn propose(an: &Analyzer, origins: &[Origin], opts: &Options, graph: &Graph) -> ChokeReport {
    let relevant = relevant_edges(graph);
    let mut cands = candidates(graph, &relevant);
    // Patches and closed services remove exactly their edges; rule deletions are checked.
    let mut verified: Vec<bool> = cands.iter().map(|(e, _)| !matches!(e, Edit::DeleteRule { .. } | Edit::SetAction { .. })).collect();
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
    // Edges removed by the changes chosen so far, and those of the change being tried, by index.
    let mut removed = vec![false; graph.g.edge_count()];
    let mut trying = vec![false; graph.g.edge_count()];
    let mut chosen: Vec<usize> = Vec::new();
    loop {
        let keep = |e: EdgeIndex| !removed[e.index()];
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
        let search = paths::Searcher::new(&graph.g, &keep);
        for &(oi, j) in &now {
            for (i, p) in search.k_most_likely(graph.origin_nodes[oi], j, opts.k.max(1)).into_iter().enumerate() {
                if i == 0 {
                    current.push(p.edges.clone());
                }
                listed.push(p.edges);
            }
        }
        // (breaks nothing, pairs cut, current paths hit, listed paths hit, kind of change)
        type Rank = (bool, usize, usize, usize, u8);
        let mut best: Option<(usize, Rank)> = None;
        for (ci, (edit, edges)) in cands.iter().enumerate() {
            if chosen.contains(&ci) {
                continue;
            }
            for e in edges {
                trying[e.index()] = true;
            }
            let cut = now.len() - connected_pairs(graph, &|e| !removed[e.index()] && !trying[e.index()]).len();
            let hit = current.iter().filter(|p| p.iter().any(|e| trying[e.index()])).count();
            let hit_listed = listed.iter().filter(|p| p.iter().any(|e| trying[e.index()])).count();
            for e in edges {
                trying[e.index()] = false;
            }
            if cut == 0 && hit == 0 {
                continue;
            }
            let pref = match edit {
                Edit::Patch { .. } | Edit::PatchService { .. } => 2,
                Edit::DeleteRule { .. } | Edit::SetAction { .. } | Edit::ReplaceLines { .. } => 1,
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
        // A rule's effect is only estimated from the paths it decides: another rule may let the
        // same connections through once it is gone. Recompute its edges before taking it, and
        // choose again if it removes fewer than estimated (lazy greedy).
        if !verified[ci] {
            verified[ci] = true;
            let still = surviving_edges(an, graph, &cands[ci].0, &cands[ci].1);
            if !still.is_empty() {
                cands[ci].1.retain(|e| !still.contains(e));
                continue;
            }
        }
        chosen.push(ci);
        for e in &cands[ci].1 {
            removed[e.index()] = true;
        }
    }
    // The exact answer for service-level changes: a minimum cut. Taken when it needs fewer
    // changes than the greedy choice.
    if let Some(cut) = min_service_cut(graph, &cands, &breaks) {
        if !cut.is_empty() && (cut.len() < chosen.len() || rep.note.is_some()) {
            chosen = cut;
            rep.note = None;
        }
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
        let after = recompute(an, origins, opts, graph, std::slice::from_ref(&edit));
        let left: BTreeSet<String> = after.iter().cloned().collect();
        let set: HashSet<EdgeIndex> = cands[ci].1.iter().copied().collect();
        let detail = match &edit {
            Edit::DeleteRule { file, line } => graph
                .g
                .edge_references()
                .flat_map(|e| e.weight().connection.hops.iter())
                .find_map(|h| h.decisions.iter().find(|d| *d.file == **file && d.line == *line).map(|d| format!("{} {}: {}", h.device, d.ruleset, d.text))),
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
    let after = recompute(an, origins, opts, graph, &all);
    rep.pairs_after = after.len();
    rep.proven = after.is_empty();
    if !after.is_empty() && rep.note.is_none() {
        rep.note = Some(format!("recomputed with every change made, these stay connected: {}", after.join("; ")));
    }
    rep
}

/// Capacity standing for "never cut here" in the flow network.
const INF: u64 = 1 << 40;
/// Capacity of a service whose removal breaks a `must_reach` entry: cut only when unavoidable.
const PROTECTED: u64 = 1 << 20;

/// The fewest services to take away (close, or upgrade when every way through it is a
/// vulnerability) that separate every origin from every crown jewel: a minimum vertex cut over
/// the services, by max-flow (Dinic's algorithm) on a network where each service is a node of
/// capacity 1 (services a `must_reach` entry needs get a large capacity). Returns candidate
/// indices, or `None` when every such cut takes a service a `must_reach` entry needs.
fn min_service_cut(graph: &Graph, cands: &[(Edit, Vec<EdgeIndex>)], breaks: &[Vec<String>]) -> Option<Vec<usize>> {
    use petgraph::graph::DiGraph;
    let mut net: DiGraph<(), u64> = DiGraph::new();
    let src = net.add_node(());
    let dst = net.add_node(());
    let nodes: Vec<NodeIndex> = graph.g.node_indices().map(|_| net.add_node(())).collect();
    for &o in &graph.origin_nodes {
        net.add_edge(src, nodes[o.index()], INF);
    }
    for j in graph.jewels() {
        net.add_edge(nodes[j.index()], dst, INF);
    }
    // Service key → (in node, out node, the capacity edge).
    let mut services: HashMap<(NodeIndex, u8, u16), (NodeIndex, NodeIndex, EdgeIndex)> = HashMap::new();
    let close_index: HashMap<&Edit, usize> = cands.iter().enumerate().map(|(i, (e, _))| (e, i)).collect();
    for e in graph.g.edge_references() {
        let Node::Host(t) = graph.g[e.target()] else { continue };
        let w = e.weight();
        let key = (e.target(), w.proto, w.port);
        let (si, so, _) = *services.entry(key).or_insert_with(|| {
            let si = net.add_node(());
            let so = net.add_node(());
            let close = Edit::ClosePort { addr: graph.assets[t].addr, proto: w.proto, port: w.port };
            let protected = close_index.get(&close).is_some_and(|&i| !breaks[i].is_empty());
            let cap = net.add_edge(si, so, if protected { PROTECTED } else { 1 });
            (si, so, cap)
        });
        net.add_edge(nodes[e.source().index()], si, INF);
        if !net.contains_edge(so, nodes[e.target().index()]) {
            net.add_edge(so, nodes[e.target().index()], INF);
        }
    }
    let (flow, flows) = petgraph::algo::dinics(&net, src, dst);
    if flow >= PROTECTED {
        // Every service cut goes through a connection the business requires: only a rule
        // change can help there, which the greedy choice considers.
        return None;
    }
    // The source side of the minimum cut: what the residual network still reaches.
    let mut reached = vec![false; net.node_count()];
    reached[src.index()] = true;
    let mut stack = vec![src];
    while let Some(n) = stack.pop() {
        for e in net.edges_directed(n, petgraph::Direction::Outgoing) {
            if flows[e.id().index()] < *e.weight() && !reached[e.target().index()] {
                reached[e.target().index()] = true;
                stack.push(e.target());
            }
        }
        for e in net.edges_directed(n, petgraph::Direction::Incoming) {
            if flows[e.id().index()] > 0 && !reached[e.source().index()] {
                reached[e.source().index()] = true;
                stack.push(e.source());
            }
        }
    }
    let mut out = Vec::new();
    for (&(host, proto, port), &(si, so, _)) in &services {
        if !reached[si.index()] || reached[so.index()] {
            continue;
        }
        let Node::Host(t) = graph.g[host] else { continue };
        let addr = graph.assets[t].addr;
        // Upgrade rather than close when every way in through the service is a flaw.
        let into: Vec<&super::Edge> = graph.g.edges_directed(host, petgraph::Direction::Incoming).map(|e| e.weight()).filter(|w| w.proto == proto && w.port == port).collect();
        let all_flaws = into.iter().all(|w| matches!(w.way.kind, WayKind::Vulnerability { .. }));
        let patch = all_flaws
            .then(|| {
                cands.iter().position(|(e, _)| match e {
                    Edit::PatchService { addr: a, proto: p, port: q } => *a == addr && *p == proto && *q == port,
                    Edit::Patch { addr: a, id } => {
                        *a == addr && into.iter().all(|w| matches!(&w.way.kind, WayKind::Vulnerability { id: i, .. } if i == id))
                    }
                    _ => false,
                })
            })
            .flatten();
        let close = close_index.get(&Edit::ClosePort { addr, proto, port }).copied();
        out.extend(patch.or(close));
    }
    out.sort_unstable();
    Some(out)
}

/// The edges (of `edges`) whose connection the network still lets through once `edit` is made.
fn surviving_edges(an: &Analyzer, graph: &Graph, edit: &Edit, edges: &[EdgeIndex]) -> HashSet<EdgeIndex> {
    let (ws, _) = whatif::apply(an.workspace(), std::slice::from_ref(edit));
    let an2 = match whatif::changed_devices(an.workspace(), std::slice::from_ref(edit)) {
        Some(changed) => Analyzer::rebuilt(&ws, an, &changed),
        None => Analyzer::new(&ws),
    };
    let mut out = HashSet::new();
    for &e in edges {
        let (Some((a, b)), Some(w)) = (graph.g.edge_endpoints(e), graph.g.edge_weight(e)) else { continue };
        let from = match graph.g[a] {
            Node::Origin(i) => graph.origins[i].endpoint.clone(),
            Node::Host(i) => graph.assets[i].addr.to_string(),
        };
        let to = graph.label(b);
        let q = QueryRequest { from, to, proto: w.proto.to_string(), port: Some(w.port.to_string()), sport: None };
        if an2.query_clients(&q).is_ok_and(|r| r.results.iter().any(|x| x.verdict != Verdict::Denied)) {
            out.insert(e);
        }
    }
    out
}

/// The (origin → crown jewel) pairs still connected once the edits are made, recomputed from
/// the edited inputs.
fn recompute(an: &Analyzer, origins: &[Origin], opts: &Options, graph: &Graph, edits: &[Edit]) -> Vec<String> {
    let (ws, _unmatched) = whatif::apply(an.workspace(), edits);
    let changed = whatif::changed_devices(an.workspace(), edits);
    let an2 = match &changed {
        Some(changed) => Analyzer::rebuilt(&ws, an, changed),
        None => Analyzer::new(&ws),
    };
    let mut o2 = opts.clone();
    for e in edits {
        match e {
            Edit::ClosePort { addr, proto, port } => o2.closed.push((*addr, *proto, *port)),
            Edit::Patch { addr, id } => o2.patched.push((*addr, id.clone())),
            _ => {}
        }
    }
    // Answers the edits cannot change are taken over from the graph (Graph::rebuild).
    let g2 = match changed {
        Some(changed) => Graph::rebuild(&an2, origins, &o2, graph, &changed),
        None => Graph::build(&an2, origins, &o2),
    };
    connected_pairs(&g2, &|_| true).into_iter().map(|p| pair_label(&g2, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{Asset, Candidate, Edge, Way};
    use crate::report::Certainty;
    use petgraph::graph::DiGraph;
    use proptest::prelude::*;

    /// A graph of `n` hosts (host 0 the crown jewel) and one origin; `edges` are
    /// (from: None = the origin, to host, port) with a credential way each.
    fn graph(n: usize, edges: &[(Option<usize>, usize, u16)]) -> Graph {
        let mut g: DiGraph<Node, Edge> = DiGraph::new();
        let o = g.add_node(Node::Origin(0));
        let hs: Vec<NodeIndex> = (0..n).map(|i| g.add_node(Node::Host(i))).collect();
        let way = std::sync::Arc::new(Way { kind: WayKind::Credential { label: "ssh".into() }, likelihood: 0.3, why: String::new() });
        for &(a, b, port) in edges {
            let from = a.map_or(o, |i| hs[i]);
            g.add_edge(from, hs[b], Edge { proto: 6, port, way: way.clone(), likelihood: 0.3, certainty: Certainty::Definite, confirmed: true, connection: Default::default() });
        }
        let assets = (0..n)
            .map(|i| Asset {
                addr: std::net::IpAddr::from([10, 0, 0, i as u8 + 1]),
                name: None,
                jewel: i == 0,
                scanned: true,
                services: vec![Candidate { proto: 6, port: 22, service: None, confirmed: true, ways: vec![] }],
            })
            .collect();
        Graph { origins: vec![Origin::internet()], assets, g, origin_nodes: vec![o], asset_nodes: hs, notes: vec![], manifest: None, answers: Default::default() }
    }

    proptest! {
        #[test]
        fn the_minimum_service_cut_is_minimal_and_cuts(
            n in 1usize..5,
            raw in proptest::collection::vec((0usize..6, 0usize..5, 0u16..2), 1..10),
        ) {
            let edges: Vec<(Option<usize>, usize, u16)> = raw
                .into_iter()
                .map(|(a, b, p)| (if a >= n { None } else { Some(a) }, b % n, 22 + p))
                .filter(|(a, b, _)| *a != Some(*b))
                .collect();
            let g = graph(n, &edges);
            let relevant = relevant_edges(&g);
            let cands: Vec<(Edit, Vec<EdgeIndex>)> = candidates(&g, &relevant)
                .into_iter()
                .filter(|(e, _)| matches!(e, Edit::ClosePort { .. }))
                .collect();
            let breaks = vec![Vec::new(); cands.len()];
            let jewel = g.asset_nodes[0];
            let reach = |removed: &HashSet<EdgeIndex>| paths::connected(&g.g, g.origin_nodes[0], jewel, &|e| !removed.contains(&e));
            let cut = min_service_cut(&g, &cands, &breaks).expect("a cut");
            let removed: HashSet<EdgeIndex> = cut.iter().flat_map(|&i| cands[i].1.iter().copied()).collect();
            prop_assert!(!reach(&removed));
            // Brute force: no smaller set of services disconnects.
            let k = cands.len();
            let mut best = usize::MAX;
            for mask in 0u32..(1 << k) {
                let set: HashSet<EdgeIndex> = (0..k).filter(|i| mask & (1 << i) != 0).flat_map(|i| cands[i].1.iter().copied()).collect();
                if !reach(&set) {
                    best = best.min(mask.count_ones() as usize);
                }
            }
            prop_assert_eq!(cut.len(), if reach(&HashSet::new()) { best } else { 0 });
        }
    }
}
