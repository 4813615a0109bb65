//! Path search in the attack graph: the most likely paths (Yen's k shortest loopless paths over
//! `−ln p` edge weights, so the shortest is the most likely) and the path with the fewest steps.
//!
//! Parallel edges (several ways into the same host) collapse to the most likely one; every
//! search takes a filter on edges so that removed services or rules can be tried without
//! rebuilding the graph. Each search is A* with a zero estimate (Dijkstra) from petgraph:
//! Yen's algorithm makes at most `k × path length` of them.

use std::collections::HashSet;

use petgraph::algo::astar;
use petgraph::graph::{DiGraph, EdgeIndex, EdgeReference, NodeIndex};
use petgraph::visit::{EdgeFiltered, EdgeRef};

use super::{Edge, EdgePath, Node};

/// Weight of one step when counting steps first: larger than any sum of likelihood weights
/// along a loopless path (a step's `−ln p` is at most `−ln 1e-12` ≈ 28).
const STEP: f64 = 1.0e6;

fn cost(e: &Edge) -> f64 {
    -e.likelihood.clamp(1e-12, 1.0).ln()
}

/// The most likely kept edge from `a` to `b`.
fn best_edge(g: &DiGraph<Node, Edge>, a: NodeIndex, b: NodeIndex, keep: &dyn Fn(EdgeIndex) -> bool) -> Option<EdgeIndex> {
    g.edges_connecting(a, b).filter(|e| keep(e.id())).max_by(|x, y| x.weight().likelihood.total_cmp(&y.weight().likelihood)).map(|e| e.id())
}

/// The edges of a node path, and its likelihood.
fn edge_path(g: &DiGraph<Node, Edge>, nodes: &[NodeIndex], keep: &dyn Fn(EdgeIndex) -> bool) -> Option<EdgePath> {
    let mut edges = Vec::with_capacity(nodes.len().saturating_sub(1));
    let mut likelihood = 1.0;
    for w in nodes.windows(2) {
        let e = best_edge(g, w[0], w[1], keep)?;
        likelihood *= g[e].likelihood;
        edges.push(e);
    }
    Some(EdgePath { edges, likelihood })
}

/// One search from `from` to `to`, avoiding banned nodes and node pairs.
fn search(
    g: &DiGraph<Node, Edge>,
    from: NodeIndex,
    to: NodeIndex,
    keep: &dyn Fn(EdgeIndex) -> bool,
    banned_nodes: &HashSet<NodeIndex>,
    banned_pairs: &HashSet<(NodeIndex, NodeIndex)>,
    steps_first: bool,
) -> Option<Vec<NodeIndex>> {
    let f = EdgeFiltered::from_fn(g, |e: EdgeReference<Edge>| {
        keep(e.id()) && !banned_nodes.contains(&e.source()) && !banned_nodes.contains(&e.target()) && !banned_pairs.contains(&(e.source(), e.target()))
    });
    astar(&f, from, |n| n == to, |e| if steps_first { STEP + cost(e.weight()) } else { cost(e.weight()) }, |_| 0.0).map(|(_, p)| p)
}

/// Up to `k` loopless paths from `s` to `t`, most likely first (Yen's algorithm).
pub fn k_most_likely(g: &DiGraph<Node, Edge>, s: NodeIndex, t: NodeIndex, k: usize, keep: &dyn Fn(EdgeIndex) -> bool) -> Vec<EdgePath> {
    let none_n = HashSet::new();
    let none_p = HashSet::new();
    let Some(first) = search(g, s, t, keep, &none_n, &none_p, false) else { return Vec::new() };
    let mut found: Vec<Vec<NodeIndex>> = vec![first];
    let mut candidates: Vec<(f64, Vec<NodeIndex>)> = Vec::new();
    while found.len() < k {
        let Some(prev) = found.last().cloned() else { break };
        for i in 0..prev.len().saturating_sub(1) {
            let spur = prev[i];
            let root = &prev[..=i];
            let mut banned_pairs = HashSet::new();
            for p in &found {
                if p.len() > i + 1 && &p[..=i] == root {
                    banned_pairs.insert((p[i], p[i + 1]));
                }
            }
            let banned_nodes: HashSet<NodeIndex> = root[..i].iter().copied().collect();
            if let Some(spur_path) = search(g, spur, t, keep, &banned_nodes, &banned_pairs, false) {
                let mut total: Vec<NodeIndex> = root[..i].to_vec();
                total.extend(spur_path);
                if found.contains(&total) || candidates.iter().any(|(_, c)| *c == total) {
                    continue;
                }
                if let Some(ep) = edge_path(g, &total, keep) {
                    candidates.push((-ep.likelihood.max(f64::MIN_POSITIVE).ln(), total));
                }
            }
        }
        if candidates.is_empty() {
            break;
        }
        // The cheapest candidate; ties go to the fewer steps, then the lower node ids.
        let best = (0..candidates.len())
            .min_by(|&a, &b| {
                let (ca, pa) = &candidates[a];
                let (cb, pb) = &candidates[b];
                ca.total_cmp(cb).then(pa.len().cmp(&pb.len())).then_with(|| pa.cmp(pb))
            })
            .unwrap_or(0);
        found.push(candidates.swap_remove(best).1);
    }
    found.iter().filter_map(|p| edge_path(g, p, keep)).collect()
}

/// The path from `s` to `t` with the fewest steps (the most likely among those).
pub fn fewest_steps(g: &DiGraph<Node, Edge>, s: NodeIndex, t: NodeIndex, keep: &dyn Fn(EdgeIndex) -> bool) -> Option<EdgePath> {
    let p = search(g, s, t, keep, &HashSet::new(), &HashSet::new(), true)?;
    edge_path(g, &p, keep)
}

/// Every node some path leads to from `s` over kept edges (`s` itself included), by node index.
pub fn reachable(g: &DiGraph<Node, Edge>, s: NodeIndex, keep: &dyn Fn(EdgeIndex) -> bool) -> Vec<bool> {
    let f = EdgeFiltered::from_fn(g, |e: EdgeReference<Edge>| keep(e.id()));
    let mut seen = vec![false; g.node_count()];
    let mut dfs = petgraph::visit::Dfs::new(&f, s);
    while let Some(n) = dfs.next(&f) {
        seen[n.index()] = true;
    }
    seen
}

/// True if some path leads from `s` to `t` over kept edges.
pub fn connected(g: &DiGraph<Node, Edge>, s: NodeIndex, t: NodeIndex, keep: &dyn Fn(EdgeIndex) -> bool) -> bool {
    let f = EdgeFiltered::from_fn(g, |e: EdgeReference<Edge>| keep(e.id()));
    petgraph::algo::has_path_connecting(&f, s, t, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{Way, WayKind};
    use crate::report::Certainty;
    use proptest::prelude::*;

    fn edge(p: f64) -> Edge {
        Edge {
            proto: 6,
            port: 22,
            way: Way { kind: WayKind::Credential { label: "ssh".into() }, likelihood: p, why: String::new() },
            likelihood: p,
            certainty: Certainty::Definite,
            confirmed: true,
            hops: std::sync::Arc::from([]),
            allowing: std::sync::Arc::from([]),
            uncertain: std::sync::Arc::from([]),
        }
    }

    fn graph(n: usize, edges: &[(usize, usize, f64)]) -> (DiGraph<Node, Edge>, Vec<NodeIndex>) {
        let mut g = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(Node::Host(i))).collect();
        for &(a, b, p) in edges {
            g.add_edge(nodes[a], nodes[b], edge(p));
        }
        (g, nodes)
    }

    #[test]
    fn most_likely_then_alternatives_and_fewest_steps() {
        // 0→1→2→3 is likely (0.9³ = 0.729); 0→3 directly is unlikely (0.1); 0→1→3 is 0.45.
        let (g, n) = graph(4, &[(0, 1, 0.9), (1, 2, 0.9), (2, 3, 0.9), (0, 3, 0.1), (1, 3, 0.5)]);
        let all = |_| true;
        let ps = k_most_likely(&g, n[0], n[3], 5, &all);
        let lik: Vec<f64> = ps.iter().map(|p| p.likelihood).collect();
        assert_eq!(ps.len(), 3);
        assert!((lik[0] - 0.729).abs() < 1e-9 && (lik[1] - 0.45).abs() < 1e-9 && (lik[2] - 0.1).abs() < 1e-9, "{lik:?}");
        let f = fewest_steps(&g, n[0], n[3], &all).unwrap();
        assert_eq!(f.edges.len(), 1);
        // Without the edge 1→2 the best path is 0→1→3.
        let cut = g.find_edge(n[1], n[2]).unwrap();
        let ps = k_most_likely(&g, n[0], n[3], 1, &|e| e != cut);
        assert!((ps[0].likelihood - 0.45).abs() < 1e-9);
        assert!(connected(&g, n[0], n[3], &|e| e != cut));
    }

    #[test]
    fn parallel_edges_collapse_to_the_most_likely() {
        let (g, n) = graph(2, &[(0, 1, 0.2), (0, 1, 0.7)]);
        let ps = k_most_likely(&g, n[0], n[1], 5, &|_| true);
        assert_eq!(ps.len(), 1);
        assert!((ps[0].likelihood - 0.7).abs() < 1e-9);
    }

    /// Every simple path from 0 to `t`, by brute force.
    fn all_paths(adj: &[Vec<(usize, f64)>], at: usize, t: usize, seen: &mut Vec<bool>, lik: f64, out: &mut Vec<f64>) {
        if at == t {
            out.push(lik);
            return;
        }
        seen[at] = true;
        for &(b, p) in &adj[at] {
            if !seen[b] {
                all_paths(adj, b, t, seen, lik * p, out);
            }
        }
        seen[at] = false;
    }

    proptest! {
        #[test]
        fn yen_finds_the_k_most_likely_simple_paths(
            n in 2usize..7,
            raw in proptest::collection::vec((0usize..7, 0usize..7, 1u32..100), 0..20),
            k in 1usize..6,
        ) {
            // At most one edge per ordered pair (parallel edges collapse), no self loops.
            let mut edges: Vec<(usize, usize, f64)> = Vec::new();
            for (a, b, p) in raw {
                let (a, b) = (a % n, b % n);
                if a != b && !edges.iter().any(|e| e.0 == a && e.1 == b) {
                    edges.push((a, b, f64::from(p) / 100.0));
                }
            }
            let (g, nodes) = graph(n, &edges);
            let mut adj = vec![Vec::new(); n];
            for &(a, b, p) in &edges {
                adj[a].push((b, p));
            }
            let mut brute = Vec::new();
            all_paths(&adj, 0, n - 1, &mut vec![false; n], 1.0, &mut brute);
            brute.sort_by(|a, b| b.total_cmp(a));
            let got = k_most_likely(&g, nodes[0], nodes[n - 1], k, &|_| true);
            prop_assert_eq!(got.len(), brute.len().min(k));
            for (p, want) in got.iter().zip(&brute) {
                prop_assert!((p.likelihood - want).abs() < 1e-9, "got {:?} want {:?}", got.iter().map(|p| p.likelihood).collect::<Vec<_>>(), brute);
                // Loopless.
                let mut visited: Vec<NodeIndex> = p.edges.iter().map(|&e| g.edge_endpoints(e).unwrap().0).collect();
                visited.sort();
                visited.dedup();
                prop_assert_eq!(visited.len(), p.edges.len());
            }
            prop_assert_eq!(connected(&g, nodes[0], nodes[n - 1], &|_| true), !brute.is_empty());
        }
    }
}
