//! Path search in the attack graph: the most likely paths (Yen's k shortest loopless paths over
//! `−ln p` edge weights, so the shortest is the most likely) and the path with the fewest steps.
//!
//! Parallel edges (several ways into the same host) collapse to the most likely one; every
//! search takes a filter on edges so that removed services or rules can be tried without
//! rebuilding the graph. Each search is Dijkstra's over the kept edges collapsed once per
//! question (ties to the node of lower index): Yen's algorithm makes at most `k × path length`
//! of them.

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

/// The kept edges of a graph collapsed to the cheapest per ordered node pair, as adjacency
/// lists in node order: what every search of one question walks (a graph of 10,000 hosts holds
/// about 300,000 edges, several per pair: one per service reached).
struct Adjacency {
    /// Where each node's list starts in `to` and `cost` (one more entry than nodes).
    start: Vec<usize>,
    /// The pair's second node.
    to: Vec<u32>,
    /// The pair's cost: `−ln p` of its most likely kept edge.
    cost: Vec<f64>,
}

impl Adjacency {
    fn new(g: &DiGraph<Node, Edge>, keep: &dyn Fn(EdgeIndex) -> bool) -> Adjacency {
        let n = g.node_count();
        let mut adj = Adjacency { start: Vec::with_capacity(n + 1), to: Vec::new(), cost: Vec::new() };
        // The cheapest cost to each node from the current one, and the nodes met in order.
        let mut best: Vec<f64> = vec![f64::INFINITY; n];
        let mut met: Vec<usize> = Vec::new();
        for a in g.node_indices() {
            adj.start.push(adj.to.len());
            for e in g.edges(a).filter(|e| keep(e.id())) {
                let b = e.target().index();
                if best[b] == f64::INFINITY {
                    met.push(b);
                }
                best[b] = best[b].min(cost(e.weight()));
            }
            met.sort_unstable();
            for &b in &met {
                adj.to.push(b as u32);
                adj.cost.push(best[b]);
                best[b] = f64::INFINITY;
            }
            met.clear();
        }
        adj.start.push(adj.to.len());
        adj
    }

    /// The cheapest path from `from` to `to` (Dijkstra), entering no banned node and not
    /// taking the banned first steps; ties go to the node of lower index first. With
    /// `steps_first`, each step costs [`STEP`] more: the fewest steps, then the most likely.
    fn search(&self, from: NodeIndex, to: NodeIndex, banned: &[bool], banned_first: &[NodeIndex], steps_first: bool) -> Option<Vec<NodeIndex>> {
        let n = self.start.len() - 1;
        let (from, to) = (from.index(), to.index());
        let mut dist = vec![f64::INFINITY; n];
        let mut pred = vec![usize::MAX; n];
        let mut done = vec![false; n];
        let mut heap = std::collections::BinaryHeap::new();
        dist[from] = 0.0;
        heap.push(std::cmp::Reverse((Cost(0.0), from)));
        while let Some(std::cmp::Reverse((Cost(d), a))) = heap.pop() {
            if done[a] {
                continue;
            }
            done[a] = true;
            if a == to {
                let mut path = vec![NodeIndex::new(to)];
                let mut at = to;
                while at != from {
                    at = pred[at];
                    path.push(NodeIndex::new(at));
                }
                path.reverse();
                return Some(path);
            }
            for i in self.start[a]..self.start[a + 1] {
                let b = self.to[i] as usize;
                if done[b] || banned[b] || (a == from && banned_first.contains(&NodeIndex::new(b))) {
                    continue;
                }
                let nd = d + if steps_first { STEP + self.cost[i] } else { self.cost[i] };
                if nd < dist[b] {
                    dist[b] = nd;
                    pred[b] = a;
                    heap.push(std::cmp::Reverse((Cost(nd), b)));
                }
            }
        }
        None
    }
}

/// A path cost ordered by `f64::total_cmp` (costs are never NaN).
#[derive(Clone, Copy, PartialEq)]
struct Cost(f64);

impl Eq for Cost {}

impl PartialOrd for Cost {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Cost {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// Searches over one graph's kept edges, collapsed once for all of them.
pub struct Searcher<'g> {
    g: &'g DiGraph<Node, Edge>,
    keep: &'g dyn Fn(EdgeIndex) -> bool,
    adj: Adjacency,
}

impl<'g> Searcher<'g> {
    /// Collapse the kept edges of `g` for the searches to come.
    pub fn new(g: &'g DiGraph<Node, Edge>, keep: &'g dyn Fn(EdgeIndex) -> bool) -> Searcher<'g> {
        Searcher { g, keep, adj: Adjacency::new(g, keep) }
    }

    /// Up to `k` loopless paths from `s` to `t`, most likely first (Yen's algorithm).
    pub fn k_most_likely(&self, s: NodeIndex, t: NodeIndex, k: usize) -> Vec<EdgePath> {
        let (g, keep, adj) = (self.g, self.keep, &self.adj);
        let mut banned = vec![false; g.node_count()];
        let Some(first) = adj.search(s, t, &banned, &[], false) else { return Vec::new() };
        let mut found: Vec<Vec<NodeIndex>> = vec![first];
        let mut candidates: Vec<(f64, Vec<NodeIndex>)> = Vec::new();
        while found.len() < k {
            let Some(prev) = found.last().cloned() else { break };
            for i in 0..prev.len().saturating_sub(1) {
                let spur = prev[i];
                let root = &prev[..=i];
                // The first steps from the spur node that the paths found with this root took.
                let mut banned_first = Vec::new();
                for p in &found {
                    if p.len() > i + 1 && &p[..=i] == root && !banned_first.contains(&p[i + 1]) {
                        banned_first.push(p[i + 1]);
                    }
                }
                for n in &root[..i] {
                    banned[n.index()] = true;
                }
                let spur_path = adj.search(spur, t, &banned, &banned_first, false);
                for n in &root[..i] {
                    banned[n.index()] = false;
                }
                if let Some(spur_path) = spur_path {
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
    pub fn fewest_steps(&self, s: NodeIndex, t: NodeIndex) -> Option<EdgePath> {
        let p = self.adj.search(s, t, &vec![false; self.g.node_count()], &[], true)?;
        edge_path(self.g, &p, self.keep)
    }

    /// Which nodes some path of kept edges leads to from `s` (`s` included): a search to any
    /// other node finds nothing.
    pub fn reachable(&self, s: NodeIndex) -> Vec<bool> {
        let adj = &self.adj;
        let mut seen = vec![false; adj.start.len() - 1];
        let mut todo = vec![s.index()];
        seen[s.index()] = true;
        while let Some(a) = todo.pop() {
            for &b in &adj.to[adj.start[a]..adj.start[a + 1]] {
                if !seen[b as usize] {
                    seen[b as usize] = true;
                    todo.push(b as usize);
                }
            }
        }
        seen
    }
}

/// Up to `k` loopless paths from `s` to `t`, most likely first (Yen's algorithm).
pub fn k_most_likely(g: &DiGraph<Node, Edge>, s: NodeIndex, t: NodeIndex, k: usize, keep: &dyn Fn(EdgeIndex) -> bool) -> Vec<EdgePath> {
    Searcher::new(g, keep).k_most_likely(s, t, k)
}

/// The path from `s` to `t` with the fewest steps (the most likely among those).
pub fn fewest_steps(g: &DiGraph<Node, Edge>, s: NodeIndex, t: NodeIndex, keep: &dyn Fn(EdgeIndex) -> bool) -> Option<EdgePath> {
    Searcher::new(g, keep).fewest_steps(s, t)
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
            way: std::sync::Arc::new(Way { kind: WayKind::Credential { label: "ssh".into() }, likelihood: p, why: String::new() }),
            likelihood: p,
            certainty: Certainty::Definite,
            confirmed: true,
            connection: Default::default(),
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

    /// Every simple path from 0 to `t`, by brute force: (steps, likelihood).
    fn all_paths(adj: &[Vec<(usize, f64)>], at: usize, t: usize, seen: &mut Vec<bool>, step: (usize, f64), out: &mut Vec<(usize, f64)>) {
        if at == t {
            out.push(step);
            return;
        }
        seen[at] = true;
        for &(b, p) in &adj[at] {
            if !seen[b] {
                all_paths(adj, b, t, seen, (step.0 + 1, step.1 * p), out);
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
            // Up to two edges per ordered pair (parallel edges collapse to the most likely, so
            // the brute force walks only that one), no self loops.
            let mut edges: Vec<(usize, usize, f64)> = Vec::new();
            for (a, b, p) in raw {
                let (a, b) = (a % n, b % n);
                if a != b && edges.iter().filter(|e| e.0 == a && e.1 == b).count() < 2 {
                    edges.push((a, b, f64::from(p) / 100.0));
                }
            }
            let (g, nodes) = graph(n, &edges);
            let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
            for &(a, b, p) in &edges {
                match adj[a].iter_mut().find(|x| x.0 == b) {
                    Some(x) => x.1 = x.1.max(p),
                    None => adj[a].push((b, p)),
                }
            }
            let mut paths = Vec::new();
            all_paths(&adj, 0, n - 1, &mut vec![false; n], (0, 1.0), &mut paths);
            let mut brute: Vec<f64> = paths.iter().map(|p| p.1).collect();
            brute.sort_by(|a, b| b.total_cmp(a));
            let got = k_most_likely(&g, nodes[0], nodes[n - 1], k, &|_| true);
            // The fewest steps, the most likely of those.
            let fewest = paths.iter().map(|p| p.0).min();
            let fewest_lik = paths.iter().filter(|p| Some(p.0) == fewest).map(|p| p.1).fold(0.0, f64::max);
            let f = fewest_steps(&g, nodes[0], nodes[n - 1], &|_| true);
            prop_assert_eq!(f.as_ref().map(|f| f.edges.len()), fewest);
            if let Some(f) = f {
                prop_assert!((f.likelihood - fewest_lik).abs() < 1e-9, "fewest steps {} want {}", f.likelihood, fewest_lik);
            }
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
