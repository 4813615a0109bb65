//! Attack paths: how far an attacker gets from each threat origin, computed from the configs.
//!
//! In the tradition of MulVAL's logical attack graphs, but with the facts derived instead of
//! written by hand. Nodes are the origins and the hosts the inputs know (scanned, declared in
//! the manifest, or named as crown jewels); an edge from a foothold to a host says that the
//! network lets the foothold open a connection to one of the host's services, and that the
//! service offers a way in ([`pivot`]: a remotely exploitable vulnerability, or a
//! credential-based service). Every edge keeps its evidence: the explained network path with
//! the deciding rules, and the vulnerability ids.
//!
//! The graph is built outward from the origins (only hosts an attacker can reach become
//! footholds), then searched per origin and crown jewel ([`paths`]): the most likely path
//! (likelihoods multiply along a path; edge weight `−ln p`), the path with the fewest steps, and
//! up to `k` alternatives by Yen's algorithm. Everything is polynomial: one reachability
//! question per (foothold, service) pair, and `k` shortest-path searches per spur node.
//! [`choke`] proposes the changes that cut every path, each proven by recomputing.

pub mod choke;
pub mod paths;
pub mod pivot;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::model::{PortState, Vulnerability};
use crate::reach::{Affected, Analyzer, CDevice, DeviceChange, Origin, Passed, TargetWay, TargetWays, Targets};
use crate::report::{Certainty, Hop, RuleRef, Verdict};
use crate::space;

/// Most reachability questions one graph may ask before it stops growing (the rest is
/// reported as not analysed). The complete graph of a generated estate of 100 devices and
/// 1,000 hosts asks 536,408 (each foothold about every service of every other host), one of
/// 200 devices and 2,000 hosts about 8 million, one of 1,000 devices and 10,000 hosts about 51
/// million; the hosts of one subnet share one classification and a target is asked only its
/// own services, so the last takes a few seconds natively (BENCHMARKS.md, "Attack paths").
pub const MAX_QUESTIONS: usize = 100_000_000;

/// What to compute, and changes to assume.
#[derive(Clone, Debug)]
pub struct Options {
    /// Paths per origin and crown jewel (the most likely first), at least 1.
    pub k: usize,
    /// Services assumed closed: (host address, protocol, port).
    pub closed: Vec<(IpAddr, u8, u16)>,
    /// Vulnerabilities assumed patched: (host address, vulnerability id).
    pub patched: Vec<(IpAddr, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options { k: 5, closed: Vec::new(), patched: Vec::new() }
    }
}

/// A host an attacker may hold.
#[derive(Clone, Debug, Serialize)]
pub struct Asset {
    /// Its address.
    pub addr: IpAddr,
    /// Its name (manifest, then scan), if known.
    pub name: Option<String>,
    /// True if it is a crown jewel (the manifest names it, or gives it high or critical value).
    pub jewel: bool,
    /// True if a scan reported on it: then only the services the scan saw are considered.
    pub scanned: bool,
    /// Services that may let an attacker in.
    pub services: Vec<Candidate>,
}

/// A service of a host that offers a way in.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// Protocol number.
    pub proto: u8,
    /// Port.
    pub port: u16,
    /// Service name and product, as a scan saw it.
    pub service: Option<String>,
    /// True if a scan saw it listening; false when only assumed for an unscanned host.
    pub confirmed: bool,
    /// Ways in through it, best first (shared by the edges through it).
    pub ways: Vec<Arc<Way>>,
}

/// One way in through a service.
#[derive(Clone, Debug, Serialize)]
pub struct Way {
    /// What it is: a vulnerability or a credential-based service.
    pub kind: WayKind,
    /// Likelihood before the discounts for unconfirmed services and possible connections.
    pub likelihood: f64,
    /// Why it lets the attacker in, in words.
    pub why: String,
}

/// The kind of a way in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WayKind {
    /// A remotely exploitable vulnerability.
    Vulnerability {
        /// Scanner id (Nessus plugin, OpenVAS NVT OID).
        id: String,
        /// CVE identifiers.
        cves: Vec<String>,
        /// Where the scanner reported it (`file:line`).
        evidence: String,
    },
    /// A credential-based service (`ssh`, `rdp`, …).
    Credential {
        /// Kind label.
        label: String,
    },
}

/// A node of the attack graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A threat origin (index into [`Graph::origins`]).
    Origin(usize),
    /// A host (index into [`Graph::assets`]).
    Host(usize),
}

/// An edge: a connection the foothold can open, through a way in.
#[derive(Clone, Debug)]
pub struct Edge {
    /// Protocol number.
    pub proto: u8,
    /// Destination port.
    pub port: u16,
    /// The way in used (shared with the service's [`Candidate::ways`]).
    pub way: Arc<Way>,
    /// Likelihood of the step, all discounts applied.
    pub likelihood: f64,
    /// Definite when the network surely lets the connection through.
    pub certainty: Certainty,
    /// True if a scan saw the service listening.
    pub confirmed: bool,
    /// How the network lets the connection through, shared by every edge of the same
    /// connection.
    pub connection: Arc<Connection>,
}

/// How the network lets an edge's connection through.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// The connection's explained path (first packet, then reply).
    pub hops: Arc<[Hop]>,
    /// The rules that let the first packet through, in path order (candidates for tightening).
    pub allowing: Arc<[RuleRef]>,
    /// What a "possible" depends on.
    pub uncertain: Arc<[String]>,
}

/// The attack graph of an estate.
pub struct Graph {
    /// Origins, as given.
    pub origins: Vec<Origin>,
    /// Hosts.
    pub assets: Vec<Asset>,
    /// The graph itself.
    pub g: DiGraph<Node, Edge>,
    /// Node of each origin.
    pub origin_nodes: Vec<NodeIndex>,
    /// Node of each asset.
    pub asset_nodes: Vec<NodeIndex>,
    /// Notes: crown jewels naming no known host, origins that could not be resolved, budget.
    pub notes: Vec<String>,
    /// The manifest, for owners.
    pub manifest: Option<crate::manifest::Manifest>,
    /// What the graph's questions answered, for [`Graph::rebuild`].
    answers: AnswerCache,
}

/// An origin's answers: (index of the target, the way to it) for the targets not denied, and
/// what its walks passed.
type OriginAnswers = (Arc<TargetWays>, Passed);

/// A batch of footholds' answers: one list per host, and what the walks passed.
type BatchAnswers = (Arc<Vec<TargetWays>>, Passed);

/// How many questions a rebuilt graph took from the graph before ([`Graph::questions_reused`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Questions whose answers were taken whole.
    pub taken: usize,
    /// Of those, the questions whose walks passed an edited device (but no packet of theirs
    /// met a rule that differs).
    pub past_edits: usize,
    /// Questions asked again about some of their targets only (the targets some packet of
    /// theirs met a changed rule for), the rest taken over.
    pub partly: usize,
    /// The targets those questions asked again, in all.
    pub targets_asked: usize,
    /// Questions asked again whole.
    pub asked: usize,
}

/// A question's answers (`W`: one list, or one per source) and the record of what its walks
/// passed, shared with the graph's [`AnswerCache`].
type Answered<W> = Arc<(Arc<W>, Passed)>;

/// A question just asked: its answers and its record, or why it has none.
type Asked<W> = Result<(W, Passed), String>;

/// A question's answers in a rebuilt graph: those of `before` (the same question in the graph
/// before) where the `changes` cannot change them, asked again (`ask`) for the targets they can
/// change (`some_targets`, merged in with `merge`) or for all targets; counted in `cache`.
fn reuse_or_ask<W>(
    before: Option<&Answered<W>>,
    changes: &[DeviceChange],
    cache: &mut AnswerCache,
    all: &Targets,
    some_targets: &dyn Fn(&crate::space::Ranges) -> (Targets, Vec<usize>),
    ask: &dyn Fn(&Targets) -> Asked<W>,
    merge: &dyn Fn(&W, &[usize], W) -> W,
) -> Result<Answered<W>, String> {
    let whole = |(w, p): (W, Passed)| Arc::new((Arc::new(w), p));
    match before.map(|b| (b, b.1.affected(changes))) {
        Some((b, Affected::Nothing)) => {
            cache.reused += 1;
            if !changes.iter().any(|c| b.1.devices.binary_search(&c.device).is_ok()) {
                return Ok(b.clone());
            }
            // Past an edited device: its rules are numbered otherwise now.
            cache.reused_past_edits += 1;
            Ok(Arc::new((b.0.clone(), b.1.renumbered(changes))))
        }
        Some((b, Affected::Destinations(dsts))) => {
            // Only the targets whose packets the edit may change, asked again.
            let (sub, idx) = some_targets(&dsts);
            cache.partly += 1;
            cache.targets_asked += idx.len();
            match ask(&sub) {
                Ok((w, passed)) => Ok(Arc::new((Arc::new(merge(&b.0, &idx, w)), b.1.merged(&passed, changes)))),
                Err(_) => ask(all).map(whole),
            }
        }
        _ => {
            cache.asked += 1;
            ask(all).map(whole)
        }
    }
}

/// The answers `old` (by target index) with those of the targets `idx` (indexes, in order)
/// replaced by `new` (by index into `idx`).
fn merge_ways(old: &TargetWays, idx: &[usize], new: TargetWays) -> TargetWays {
    let mut out: TargetWays = old.iter().filter(|(i, _)| idx.binary_search(i).is_err()).cloned().collect();
    out.extend(new.into_iter().filter_map(|(j, w)| Some((*idx.get(j)?, w))));
    out.sort_by_key(|(i, _)| *i);
    out
}

/// One question's answers for one node, shared with the graph's [`AnswerCache`].
#[derive(Clone)]
enum Got {
    Origin(Arc<OriginAnswers>),
    /// A batch's answers and the host's place in it.
    Host(Arc<BatchAnswers>, usize),
}

impl Got {
    fn list(&self) -> &[(usize, TargetWay)] {
        match self {
            Got::Origin(o) => &o.0,
            Got::Host(b, at) => b.0.get(*at).map_or(&[], |l| l.as_slice()),
        }
    }
}

/// A graph's answers (for each target asked, the way to it when not denied) with what each
/// question's walks passed, for a graph of edited inputs to reuse ([`Graph::rebuild`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct AnswerCache {
    /// The targets asked of every question (every service of every host).
    targets: Vec<(IpAddr, u8, u16)>,
    /// The network's ICMP type bounds (the only cells of a question that rules make).
    icmp_cuts: Vec<u128>,
    /// The compiled devices asked (shared with the analyzer), to tell what an edit changed.
    devices: Vec<Arc<CDevice>>,
    /// Each origin's answers, by its endpoint, and what its walks passed.
    origins: HashMap<String, Arc<OriginAnswers>>,
    /// For each node, the answers its edges were made of (the list's address and length, the
    /// list kept alive by `origins` or `batches`; none: `(0, 0)`): a rebuilt graph copies the
    /// edges of a node whose answers it took over unchanged.
    lists: Vec<(usize, usize)>,
    /// Each batch of footholds' answers (one list per host), by the hosts asked in their order,
    /// and what the walks passed.
    batches: HashMap<Vec<usize>, Arc<BatchAnswers>>,
    /// Questions answered from an earlier graph, and asked.
    reused: usize,
    /// Of those taken over, the questions whose walks passed an edited device (without
    /// examining any rule that differs).
    reused_past_edits: usize,
    /// Questions asked again about some targets only, and how many targets in all.
    partly: usize,
    targets_asked: usize,
    asked: usize,
    /// The assumptions the hosts were made with ([`Options::closed`], [`Options::patched`]),
    /// and what making them noted.
    closed: Vec<(IpAddr, u8, u16)>,
    patched: Vec<(IpAddr, String)>,
    asset_notes: Vec<String>,
}

impl Graph {
    /// Build the attack graph from the origins outward.
    pub fn build(an: &Analyzer, origins: &[Origin], opts: &Options) -> Graph {
        Graph::build_reusing(an, origins, opts, None)
    }

    /// [`Graph::build`] for inputs that differ from those of `prev` only in the rules of the
    /// devices `changed` (by index; a what-if's rule edits, [`crate::whatif::changed_devices`]).
    /// Each question of `prev` takes over the answers that no edit can change
    /// ([`Passed::affected`]): all of them when no packet of its walks held a rule deleted or
    /// given another action ([`DeviceChange`]); else those of the targets no such packet went
    /// to, and only the others are asked again. A question whose walks examined rules that
    /// differ in another way, or passed a device that differs in more than rules, is asked
    /// again whole. The hosts are those of `prev` when the assumptions (closed and patched
    /// services) are the same. The graph is the one [`Graph::build`] makes: an answer depends
    /// on the packets of its target alone, not on which other targets are asked with it.
    pub fn rebuild(an: &Analyzer, origins: &[Origin], opts: &Options, prev: &Graph, changed: &[usize]) -> Graph {
        Graph::build_reusing(an, origins, opts, Some((prev, changed)))
    }

    fn build_reusing(an: &Analyzer, origins: &[Origin], opts: &Options, prev: Option<(&Graph, &[usize])>) -> Graph {
        // The hosts depend on the scans, the manifest and the assumptions, not on rules.
        let same_assets = prev.is_some_and(|p| p.0.answers.closed == opts.closed && p.0.answers.patched == opts.patched);
        let (assets, notes) = match prev.map(|p| p.0).filter(|_| same_assets) {
            Some(p) => (p.assets.clone(), p.answers.asset_notes.clone()),
            None => {
                let mut notes = Vec::new();
                (assets(an, opts, &mut notes), notes)
            }
        };
        let asset_notes = notes.clone();
        // Room for as many edges as the graph before had (a what-if changes few).
        let mut g: DiGraph<Node, Edge> = DiGraph::with_capacity(origins.len() + assets.len(), prev.map_or(0, |p| p.0.g.edge_count()));
        let origin_nodes: Vec<NodeIndex> = (0..origins.len()).map(|i| g.add_node(Node::Origin(i))).collect();
        let asset_nodes: Vec<NodeIndex> = (0..assets.len()).map(|i| g.add_node(Node::Host(i))).collect();
        let mut graph = Graph {
            origins: origins.to_vec(),
            assets,
            g,
            origin_nodes,
            asset_nodes,
            notes,
            manifest: an.workspace().manifest.clone(),
            answers: AnswerCache::default(),
        };
        let mut queue: VecDeque<NodeIndex> = graph.origin_nodes.iter().copied().collect();
        let mut seen: Vec<bool> = vec![false; graph.g.node_count()];
        for n in &queue {
            seen[n.index()] = true;
        }
        let mut questions = 0usize;
        // Every service of every host: what a foothold asks about (all but its own).
        let mut all_keys: Vec<(usize, usize)> = Vec::new();
        let mut all_targets: Vec<(IpAddr, u8, u16)> = Vec::new();
        for (t, a) in graph.assets.iter().enumerate() {
            for (c, cand) in a.services.iter().enumerate() {
                all_keys.push((t, c));
                all_targets.push((a.addr, cand.proto, cand.port));
            }
        }
        // The answers of `prev` hold when the same targets are asked of a network cut into the
        // same ICMP type cells (the only cells rules make), for questions that passed no
        // changed device.
        let mut cache = AnswerCache {
            targets: all_targets.clone(),
            icmp_cuts: an.network().icmp_cuts.clone(),
            devices: an.network().devices.clone(),
            closed: opts.closed.clone(),
            patched: opts.patched.clone(),
            asset_notes,
            lists: vec![(0, 0); graph.g.node_count()],
            ..Default::default()
        };
        let reusable = prev.map(|p| &p.0.answers).filter(|r| {
            r.targets == cache.targets && r.icmp_cuts == cache.icmp_cuts && r.devices.len() == cache.devices.len()
        });
        // How each changed device differs from the one the answers were asked of.
        let changes: Vec<DeviceChange> = match (reusable, prev) {
            (Some(r), Some((_, changed))) => changed
                .iter()
                .filter(|&&d| d < r.devices.len())
                .map(|&d| DeviceChange::between(d, &r.devices[d], &cache.devices[d]))
                .collect(),
            _ => Vec::new(),
        };
        let target_list = all_targets;
        let all_targets = an.targets(&target_list);
        // The targets (indexes, in order) at the destinations an edit may change, made ready.
        let some_targets = |dsts: &crate::space::Ranges| {
            let idx: Vec<usize> =
                (0..target_list.len()).filter(|&i| dsts.contains(crate::space::addr_to_u128(target_list[i].0))).collect();
            let list: Vec<(IpAddr, u8, u16)> = idx.iter().map(|&i| target_list[i]).collect();
            (an.targets(&list), idx)
        };
        // Answers of hosts asked with an earlier foothold of their subnet, waiting for the host
        // to become a foothold, by asset: (index into the targets, answer) for the targets not
        // denied. `answered`: the hosts asked already.
        let mut asked: HashMap<usize, Result<Got, String>> = HashMap::new();
        let mut answered = vec![false; graph.assets.len()];
        let mut allowing = Allowing::new();
        // Each host's subnet (the devices' interfaces on its link, and its family), as an index
        // into `members`, the hosts of each subnet in order.
        let mut subnets: HashMap<(Vec<(usize, u16)>, bool), usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let subnet: Vec<Option<usize>> = graph
            .assets
            .iter()
            .enumerate()
            .map(|(j, a)| {
                let on = an.network().on_link(a.addr);
                if on.is_empty() {
                    return None;
                }
                let n = subnets.len();
                let sub = *subnets.entry((on.to_vec(), a.addr.is_ipv4())).or_insert(n);
                if sub == members.len() {
                    members.push(Vec::new());
                }
                members[sub].push(j);
                Some(sub)
            })
            .collect();
        while let Some(n) = queue.pop_front() {
            let (from, own) = match graph.g[n] {
                Node::Origin(i) => (graph.origins[i].endpoint.clone(), None),
                Node::Host(i) => (graph.assets[i].addr.to_string(), Some(i)),
            };
            if let Node::Origin(i) = graph.g[n] {
                if let Err(e) = an.endpoint_addrs(&from) {
                    graph.notes.push(format!("origin {}: {e}", graph.origins[i].name));
                    continue;
                }
            }
            // Every service of every other host, asked at once.
            let asking = all_keys.len() - own.map_or(0, |i| graph.assets[i].services.len());
            if questions + asking > MAX_QUESTIONS {
                graph.notes.push(format!(
                    "the graph stopped growing after {questions} reachability questions (at most {MAX_QUESTIONS}): paths through hosts not yet reached are missing"
                ));
                graph.answers = cache;
                return graph;
            }
            questions += asking;
            let answers = match own {
                None => {
                    let before = reusable.and_then(|r| r.origins.get(&from));
                    let got = reuse_or_ask(before, &changes, &mut cache, &all_targets, &some_targets, &|t| an.reach_target_ways(&from, t), &merge_ways);
                    got.map(|o| {
                        cache.origins.insert(from.clone(), o.clone());
                        Got::Origin(o)
                    })
                }
                Some(i) => {
                    if !asked.contains_key(&i) {
                        // This foothold and every other host on its subnet not asked yet, in one
                        // question (a host reached later finds its answer waiting).
                        let mut batch = vec![i];
                        if let Some(sub) = subnet[i] {
                            batch.extend(members[sub].iter().copied().filter(|&j| j != i && !answered[j]));
                        }
                        let mut ask = |batch: &[usize]| {
                            let froms: Vec<IpAddr> = batch.iter().map(|&j| graph.assets[j].addr).collect();
                            let before = reusable.and_then(|r| r.batches.get(batch));
                            let merge = |old: &Vec<TargetWays>, idx: &[usize], new: Vec<TargetWays>| {
                                old.iter().zip(new).map(|(old, new)| merge_ways(old, idx, new)).collect()
                            };
                            let ask = |t: &Targets| an.reach_target_ways_from(&froms, t);
                            let got = reuse_or_ask(before, &changes, &mut cache, &all_targets, &some_targets, &ask, &merge);
                            if let Ok(b) = &got {
                                cache.batches.insert(batch.to_vec(), b.clone());
                            }
                            got
                        };
                        let mut got = ask(&batch);
                        if got.is_err() && batch.len() > 1 {
                            // Together over a budget of the classification: this one alone.
                            batch = vec![i];
                            got = ask(&batch);
                        }
                        for &j in &batch {
                            answered[j] = true;
                        }
                        for (at, &j) in batch.iter().enumerate() {
                            asked.insert(j, got.clone().map(|b| Got::Host(b, at)));
                        }
                    }
                    asked.remove(&i).unwrap_or_else(|| Err("no answer".into()))
                }
            };
            let answers = match answers {
                Ok(a) => a,
                Err(e) => {
                    graph.notes.push(format!("from {}: {e}", graph.label(n)));
                    continue;
                }
            };
            let list = answers.list();
            let key = (list.as_ptr() as usize, list.len());
            cache.lists[n.index()] = key;
            // The same answers as in the graph before, about the same hosts: its edges, in order.
            if let Some(p) = prev.map(|p| p.0).filter(|p| same_assets && !list.is_empty() && p.answers.lists.get(n.index()) == Some(&key)) {
                let mut before: Vec<(NodeIndex, &Edge)> = p.g.edges(n).map(|e| (e.target(), e.weight())).collect();
                before.reverse();
                for (to, e) in before {
                    graph.g.add_edge(n, to, e.clone());
                    if !seen[to.index()] {
                        seen[to.index()] = true;
                        queue.push_back(to);
                    }
                }
                continue;
            }
            // Every other host's services (a foothold's own are no step).
            for (k, r) in list.iter().filter(|(k, _)| own.is_none_or(|i| all_keys[*k].0 != i)) {
                let (t, c) = all_keys[*k];
                let edges = edges_of(&graph.assets[t].services[c], r, &mut allowing);
                if edges.is_empty() {
                    continue;
                }
                let to = graph.asset_nodes[t];
                for e in edges {
                    graph.g.add_edge(n, to, e);
                }
                if !seen[to.index()] {
                    seen[to.index()] = true;
                    queue.push_back(to);
                }
            }
        }
        graph.answers = cache;
        graph
    }

    /// How many of this graph's reachability questions it took from the graph it was rebuilt
    /// from ([`Graph::rebuild`]), and how many it asked again.
    pub fn questions_reused(&self) -> Reuse {
        let a = &self.answers;
        Reuse { taken: a.reused, past_edits: a.reused_past_edits, partly: a.partly, targets_asked: a.targets_asked, asked: a.asked }
    }

    /// The crown jewels' nodes.
    pub fn jewels(&self) -> Vec<NodeIndex> {
        self.assets.iter().enumerate().filter(|(_, a)| a.jewel).map(|(i, _)| self.asset_nodes[i]).collect()
    }

    /// A node's label in paths: the origin's name or the host's address.
    pub fn label(&self, n: NodeIndex) -> String {
        match self.g[n] {
            Node::Origin(i) => self.origins[i].name.clone(),
            Node::Host(i) => self.assets[i].addr.to_string(),
        }
    }

    /// A host node's name, if any.
    pub fn name(&self, n: NodeIndex) -> Option<String> {
        match self.g[n] {
            Node::Origin(_) => None,
            Node::Host(i) => self.assets[i].name.clone(),
        }
    }
}

/// The rules letting each explained path through, by the address of its shared hops (which it
/// keeps alive, so that no other path can take that address while it is known).
/// The connections made for answers, by the answer's path and doubts (as pointers, kept alive
/// by the entry): every answer taking the same path shares one.
type Allowing = HashMap<(usize, usize), Arc<Connection>>;

/// The edges of one answered connection to a service: one per way in through it, if the
/// network lets it through (definitely or possibly).
fn edges_of(cand: &Candidate, r: &TargetWay, allowing_of: &mut Allowing) -> Vec<Edge> {
    let certainty = match r.verdict {
        Verdict::Allowed => Certainty::Definite,
        Verdict::Possibly => Certainty::Possible,
        Verdict::Denied => return Vec::new(),
    };
    // The evidence, shared by each way's edge and by every answer taking the same path.
    let key = (Arc::as_ptr(&r.hops) as *const Hop as usize, Arc::as_ptr(&r.uncertain) as *const String as usize);
    let connection = allowing_of
        .entry(key)
        .or_insert_with(|| {
            let rules: Vec<RuleRef> = r
                .hops
                .iter()
                .filter(|h| h.direction == "forward")
                .flat_map(|h| h.decisions.iter())
                .filter(|d| d.line > 0 && !d.file.is_empty() && is_allowing(&d.action))
                .cloned()
                .collect();
            Arc::new(Connection { hops: r.hops.clone(), allowing: rules.into(), uncertain: r.uncertain.clone() })
        })
        .clone();
    cand.ways
        .iter()
        .map(|way| {
            let mut likelihood = way.likelihood;
            if !cand.confirmed {
                likelihood *= pivot::UNCONFIRMED;
            }
            if certainty == Certainty::Possible {
                likelihood *= pivot::POSSIBLE;
            }
            Edge { proto: cand.proto, port: cand.port, way: way.clone(), likelihood, certainty, confirmed: cand.confirmed, connection: connection.clone() }
        })
        .collect()
}

/// True for a decision that lets the packet on (an accept, or a translation that forwards it).
fn is_allowing(action: &str) -> bool {
    let starts = |p: &str| action.get(..p.len()).is_some_and(|a| a.eq_ignore_ascii_case(p));
    starts("accept") || starts("permit") || starts("allow") || action.eq_ignore_ascii_case("dnat") || starts("dnat ")
}

/// Every host the inputs know, with the services that may let an attacker in.
fn assets(an: &Analyzer, opts: &Options, notes: &mut Vec<String>) -> Vec<Asset> {
    let ws = an.workspace();
    // Scan facts by address: (service key → (service text, confirmed)), vulnerabilities.
    struct Facts {
        name: Option<String>,
        open: BTreeMap<(u8, u16), Option<String>>,
        vulns: Vec<(String, Vulnerability)>,
    }
    let mut by_addr: BTreeMap<IpAddr, Facts> = BTreeMap::new();
    for f in &ws.files {
        for h in &f.parsed.content.hosts {
            if !h.up && h.vulns.is_empty() {
                continue;
            }
            for a in &h.addrs {
                let e = by_addr.entry(*a).or_insert_with(|| Facts { name: None, open: BTreeMap::new(), vulns: Vec::new() });
                if e.name.is_none() {
                    e.name = h.names.first().cloned();
                }
                for s in h.services.iter().filter(|s| s.state == PortState::Open) {
                    let text = [s.name.clone(), s.product.clone(), s.version.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                    let slot = e.open.entry((s.proto, s.port)).or_insert(None);
                    if slot.is_none() && !text.is_empty() {
                        *slot = Some(text);
                    }
                }
                for v in &h.vulns {
                    e.vulns.push((f.path.clone(), v.clone()));
                }
            }
        }
    }
    let manifest = ws.manifest.as_ref();
    let mut declared: BTreeMap<IpAddr, (String, bool)> = BTreeMap::new();
    if let Some(m) = manifest {
        for h in &m.hosts {
            let high = matches!(h.value, Some(crate::manifest::Value::High | crate::manifest::Value::Critical));
            for a in &h.ips {
                declared.insert(*a, (h.name.clone(), high));
            }
        }
    }
    let mut addrs: Vec<IpAddr> = by_addr.keys().chain(declared.keys()).copied().collect();
    // Crown jewels named by address that no scan or host entry knows still become hosts.
    let mut jewel_ranges = Vec::new();
    if let Some(m) = manifest {
        for j in &m.crown_jewels {
            match an.endpoint_addrs(&j.text) {
                Ok(r) => {
                    if r.count() == 1 {
                        if let Some(x) = r.first() {
                            addrs.push(space::u128_to_addr(x));
                        }
                    }
                    jewel_ranges.push((j, r));
                }
                Err(e) => notes.push(format!("{}:{}: crown jewel {:?}: {e}", m.file, j.line, j.text)),
            }
        }
    }
    addrs.sort();
    addrs.dedup();
    let mut out = Vec::new();
    for a in addrs {
        let x = space::addr_to_u128(a);
        let facts = by_addr.get(&a);
        let decl = declared.get(&a);
        let jewel = decl.is_some_and(|d| d.1) || jewel_ranges.iter().any(|(_, r)| r.contains(x));
        let name = decl.map(|d| d.0.clone()).or_else(|| facts.and_then(|f| f.name.clone()));
        // A host a scan saw up is scanned even when nothing on it is open (any more): only what
        // the scan saw is considered, nothing is assumed.
        let scanned = facts.is_some();
        let mut services: BTreeMap<(u8, u16), Candidate> = BTreeMap::new();
        if let Some(f) = facts.filter(|_| scanned) {
            for (&(p, port), text) in &f.open {
                let name = text.as_deref().and_then(|t| t.split_whitespace().next());
                let mut c = Candidate { proto: p, port, service: text.clone(), confirmed: true, ways: Vec::new() };
                if let Some(k) = pivot::credential_kind(p, port, name) {
                    c.ways.push(Arc::new(Way { kind: WayKind::Credential { label: k.label.into() }, likelihood: k.likelihood, why: k.why.into() }));
                }
                services.insert((p, port), c);
            }
            for (file, v) in &f.vulns {
                if !pivot::remote(v) || opts.patched.iter().any(|(pa, id)| *pa == a && *id == v.id) {
                    continue;
                }
                let (Some(p), Some(port)) = (v.proto, v.port) else { continue };
                let c = services.entry((p, port)).or_insert_with(|| Candidate {
                    proto: p,
                    port,
                    service: v.service.clone(),
                    confirmed: true,
                    ways: Vec::new(),
                });
                let ids = if v.cves.is_empty() { v.id.clone() } else { v.cves.join(", ") };
                c.ways.push(Arc::new(Way {
                    kind: WayKind::Vulnerability { id: v.id.clone(), cves: v.cves.clone(), evidence: format!("{file}:{}", v.prov.line) },
                    likelihood: pivot::vuln_likelihood(v),
                    why: format!("{} ({ids}, CVSS {:.1}{})", v.name, pivot::score(v), if v.exploit_available { ", public exploit" } else { "" }),
                }));
            }
        } else {
            // No scan: the usual credential-based ports are assumed, discounted.
            for k in pivot::CREDENTIAL_SERVICES {
                for &port in k.ports {
                    services.insert(
                        (k.proto, port),
                        Candidate {
                            proto: k.proto,
                            port,
                            service: None,
                            confirmed: false,
                            ways: vec![Arc::new(Way { kind: WayKind::Credential { label: k.label.into() }, likelihood: k.likelihood, why: k.why.into() })],
                        },
                    );
                }
            }
        }
        let mut services: Vec<Candidate> = services
            .into_values()
            .filter(|c| !c.ways.is_empty() && !opts.closed.contains(&(a, c.proto, c.port)))
            .collect();
        for c in &mut services {
            c.ways.sort_by(|x, y| y.likelihood.total_cmp(&x.likelihood));
        }
        out.push(Asset { addr: a, name, jewel, scanned, services });
    }
    if let Some(m) = manifest {
        for (j, r) in &jewel_ranges {
            if !out.iter().any(|a| r.contains(space::addr_to_u128(a.addr))) {
                notes.push(format!("{}:{}: crown jewel {:?} names no known host (declare it under hosts, or scan it)", m.file, j.line, j.text));
            }
        }
    }
    out
}

/// One step of an attack path.
#[derive(Clone, Debug, Serialize)]
pub struct AttackStep {
    /// Where the attacker stands: the origin's name for the first step, else a host address.
    pub from: String,
    /// The host the step reaches.
    pub to: String,
    /// That host's name, if known.
    pub to_name: Option<String>,
    /// Protocol (`tcp`).
    pub proto: String,
    /// Destination port.
    pub port: u16,
    /// What listens there, per the scans.
    pub service: Option<String>,
    /// Why it lets the attacker pivot.
    pub why: String,
    /// The way in (vulnerability ids or the credential kind).
    pub way: WayKind,
    /// Likelihood of this step.
    pub likelihood: f64,
    /// Definite when the network surely lets the connection through.
    pub certainty: Certainty,
    /// True if a scan saw the service listening.
    pub confirmed: bool,
    /// The connection's explained path.
    pub hops: Vec<Hop>,
    /// What a "possible" step depends on.
    pub uncertain: Vec<String>,
}

/// One path from an origin to a crown jewel.
#[derive(Clone, Debug, Serialize)]
pub struct AttackPath {
    /// The origin.
    pub origin: String,
    /// The crown jewel's address.
    pub target: String,
    /// Its name, if known.
    pub target_name: Option<String>,
    /// 1 for the most likely path of this origin and target, then by falling likelihood.
    pub rank: usize,
    /// True if no path between them has fewer steps.
    pub shortest: bool,
    /// Product of the steps' likelihoods.
    pub likelihood: f64,
    /// Definite when every step is.
    pub certainty: Certainty,
    /// Who acts on it (see [`crate::owners`]).
    pub owner: String,
    /// The steps, from the origin.
    pub steps: Vec<AttackStep>,
}

/// A path as edges of the graph, with its likelihood.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgePath {
    /// Edges in order.
    pub edges: Vec<EdgeIndex>,
    /// Product of the likelihoods.
    pub likelihood: f64,
}

/// The ranked paths from one origin (its index) to one crown jewel (its node), each marked
/// `true` when it is the one with the fewest steps.
pub type JewelPaths = (usize, NodeIndex, Vec<(EdgePath, bool)>);

impl Graph {
    /// The paths to every crown jewel from every origin: the `k` most likely, and the one with
    /// the fewest steps (when it is not among them), ranked.
    pub fn paths(&self, k: usize) -> Vec<JewelPaths> {
        let mut out = Vec::new();
        let jewels = self.jewels();
        let search = paths::Searcher::new(&self.g, &|_| true);
        for (oi, &o) in self.origin_nodes.iter().enumerate() {
            // Crown jewels out of reach have no path: no search needs to say so.
            let reach = search.reachable(o);
            for &j in jewels.iter().filter(|j| reach[j.index()]) {
                let ranked = search.k_most_likely(o, j, k.max(1));
                if ranked.is_empty() {
                    continue;
                }
                let fewest = search.fewest_steps(o, j);
                let min_len = fewest.as_ref().map_or(usize::MAX, |p| p.edges.len());
                let mut list: Vec<(EdgePath, bool)> = ranked.into_iter().map(|p| {
                    let s = p.edges.len() == min_len;
                    (p, s)
                }).collect();
                if let Some(f) = fewest {
                    if !list.iter().any(|(p, _)| p.edges.len() == min_len) {
                        list.push((f, true));
                    }
                }
                out.push((oi, j, list));
            }
        }
        out
    }

    /// The report form of a path.
    pub fn attack_path(&self, origin: usize, target: NodeIndex, rank: usize, shortest: bool, p: &EdgePath) -> AttackPath {
        let o = &self.origins[origin];
        let steps: Vec<AttackStep> = p
            .edges
            .iter()
            .map(|&e| {
                let (a, b) = self.g.edge_endpoints(e).unwrap_or((target, target));
                let w = &self.g[e];
                let service = match self.g[b] {
                    Node::Host(i) => self.assets[i].services.iter().find(|c| c.proto == w.proto && c.port == w.port).and_then(|c| c.service.clone()),
                    Node::Origin(_) => None,
                };
                AttackStep {
                    from: self.label(a),
                    to: self.label(b),
                    to_name: self.name(b),
                    proto: crate::reach::describe::proto_name(w.proto),
                    port: w.port,
                    service,
                    why: w.way.why.clone(),
                    way: w.way.kind.clone(),
                    likelihood: w.likelihood,
                    certainty: w.certainty,
                    confirmed: w.confirmed,
                    hops: w.connection.hops.to_vec(),
                    uncertain: w.connection.uncertain.to_vec(),
                }
            })
            .collect();
        let certainty = if steps.iter().all(|s| s.certainty == Certainty::Definite) { Certainty::Definite } else { Certainty::Possible };
        AttackPath {
            origin: o.name.clone(),
            target: self.label(target),
            target_name: self.name(target),
            rank,
            shortest,
            likelihood: p.likelihood,
            certainty,
            owner: crate::owners::assign(
                self.manifest.as_ref(),
                &crate::owners::Facts {
                    origin_role: o.role.as_deref(),
                    dst: self.label(target).parse().ok(),
                    ..crate::owners::Facts::new(crate::owners::Kind::AttackPath, certainty)
                },
            ),
            steps,
        }
    }
}

/// The attack analysis of an estate: paths and the changes that cut them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AttackReport {
    /// Crown jewels considered (address and name).
    pub crown_jewels: Vec<(String, Option<String>)>,
    /// Paths from every origin to every crown jewel, by origin, target and rank.
    pub attack_paths: Vec<AttackPath>,
    /// The changes that cut them, each proven by recomputing.
    pub choke_points: choke::ChokeReport,
    /// What the analysis could not do, and why.
    pub attack_notes: Vec<String>,
    /// Every step an attacker can take (the attack graph's edges, the most likely way per
    /// foothold, host and service), whether or not a listed path uses it.
    pub attack_edges: Vec<EdgeSummary>,
}

/// One edge of the attack graph, in short.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EdgeSummary {
    /// Foothold: an origin's name or a host address.
    pub from: Arc<str>,
    /// Host reached.
    pub to: Arc<str>,
    /// Protocol (`tcp`).
    pub proto: Arc<str>,
    /// Port.
    pub port: u16,
    /// Likelihood of the step.
    pub likelihood: f64,
    /// Definite or possible.
    pub certainty: Certainty,
}

/// Attack paths and choke points for the given origins.
pub fn analyze(an: &Analyzer, origins: &[Origin], opts: &Options) -> AttackReport {
    let graph = Graph::build(an, origins, opts);
    let mut rep = report_paths(&graph, opts.k);
    if !rep.attack_paths.is_empty() {
        rep.choke_points = choke::propose(an, origins, opts, &graph);
    }
    rep
}

/// The paths of a graph, as reported.
pub fn report_paths(graph: &Graph, k: usize) -> AttackReport {
    let mut rep = AttackReport { attack_notes: graph.notes.clone(), ..AttackReport::default() };
    for j in graph.jewels() {
        rep.crown_jewels.push((graph.label(j), graph.name(j)));
    }
    // The most likely edge per (from, to, service), in the order of their labels: each node's
    // label made once and stood for by its rank among them (nodes of one label are one).
    let labels: Vec<String> = graph.g.node_indices().map(|n| graph.label(n)).collect();
    let mut sorted: Vec<&str> = labels.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let rank: Vec<usize> = labels.iter().map(|l| sorted.partition_point(|x| *x < l.as_str())).collect();
    // Each label's and protocol's text made once, shared by the edges naming it.
    let texts: Vec<Arc<str>> = sorted.iter().map(|&l| Arc::from(l)).collect();
    let mut protos: HashMap<u8, Arc<str>> = HashMap::new();
    let mut best: BTreeMap<(usize, usize, u8, u16), &Edge> = BTreeMap::new();
    for e in graph.g.edge_references() {
        let w = e.weight();
        let slot = best.entry((rank[e.source().index()], rank[e.target().index()], w.proto, w.port)).or_insert(w);
        if w.likelihood > slot.likelihood {
            *slot = w;
        }
    }
    rep.attack_edges = best
        .into_iter()
        .map(|((from, to, proto, port), w)| EdgeSummary {
            from: texts[from].clone(),
            to: texts[to].clone(),
            proto: protos.entry(proto).or_insert_with(|| crate::reach::describe::proto_name(proto).into()).clone(),
            port,
            likelihood: w.likelihood,
            certainty: w.certainty,
        })
        .collect();
    for (oi, target, list) in graph.paths(k) {
        for (rank, (p, shortest)) in list.iter().enumerate() {
            rep.attack_paths.push(graph.attack_path(oi, target, rank + 1, *shortest, p));
        }
    }
    rep
}

/// Hosts that share a name with their address, for readable output (`db (10.20.0.5)`).
pub fn host_label(addr: &str, name: Option<&str>) -> String {
    match name {
        Some(n) if n != addr => format!("{n} ({addr})"),
        _ => addr.to_string(),
    }
}

/// Edges of a graph indexed by the host and service they enter (for closing services).
pub fn edges_by_service(g: &DiGraph<Node, Edge>) -> HashMap<(NodeIndex, u8, u16), Vec<EdgeIndex>> {
    let mut m: HashMap<(NodeIndex, u8, u16), Vec<EdgeIndex>> = HashMap::new();
    for e in g.edge_indices() {
        if let (Some((_, b)), Some(w)) = (g.edge_endpoints(e), g.edge_weight(e)) {
            m.entry((b, w.proto, w.port)).or_default().push(e);
        }
    }
    m
}
