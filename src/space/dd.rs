//! Interval decision diagrams: a second exact representation of packet sets.
//!
//! A set is a reduced, ordered, hash-consed decision diagram in which every inner node tests one
//! header dimension ([`Dim`]) and has one edge per interval of a partition of that dimension's
//! values (like a BDD over the header bits, but branching on whole intervals, so an address
//! prefix or a port range is one node instead of a chain of bit tests). Dimensions are tested in
//! the fixed order [`ORDER`]. Two terminals stand for "no packet" and "every packet".
//!
//! Reduced means: adjacent intervals of a node lead to different children, and a node with one
//! interval is replaced by its child. Hash-consed means: a [`Dd`] manager holds each node once.
//! Together they make the representation canonical: two sets are equal exactly when their ids
//! are, so equality and emptiness are O(1), and a ruleset's remainder ("the entry minus every
//! rule so far") stays one shared diagram instead of fragmenting into ever more cubes.
//!
//! Ids are only meaningful in the manager that made them. A manager only grows (no garbage
//! collection): make one per analysis and drop it afterwards. [`Dd::nodes`] tells its size so
//! callers can stop at a budget.

use rustc_hash::FxHashMap;

use super::{Cube, Dim, Packet, PacketSet, Ranges, NDIMS};

/// The order in which dimensions are tested, outermost first. Interfaces come first: dispatching
/// rules (`-i vlan7 -j from_vlan7`) split a remainder by interface, and near the root that split
/// is one node. Connection state comes last: it is rarely what tells rules apart, and tested
/// early it multiplies every address node below it. (Measured on the generated rulesets of the
/// rules benchmark: this order takes about a fifth of the time and half the memory of state
/// before protocol; interfaces last is over budget at 10,000 rules. BENCHMARKS.md, "Per-rule
/// analysis".)
pub const ORDER: [Dim; NDIMS] = [
    Dim::Iif,
    Dim::Oif,
    Dim::Proto,
    Dim::Dst,
    Dim::Dport,
    Dim::Src,
    Dim::Sport,
    Dim::IcmpType,
    Dim::IcmpCode,
    Dim::TcpFlags,
    Dim::Ct,
];

/// A packet set held by a [`Dd`] manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Set(u32);

impl Set {
    /// No packet.
    pub const EMPTY: Set = Set(0);
    /// Every packet.
    pub const FULL: Set = Set(1);

    /// True for the empty set (canonical, so this is exact).
    pub fn is_empty(self) -> bool {
        self == Set::EMPTY
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::EMPTY
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    And = 0,
    Or = 1,
    Diff = 2,
}

#[derive(Clone, Copy)]
struct Node {
    /// Index into [`ORDER`]; `NDIMS` for the terminals.
    level: u8,
    /// The edges are in the wide arena (an interval ends above 2⁶⁴ − 2: IPv6 addresses).
    wide: bool,
    /// First edge in its edge arena.
    start: u32,
    /// Number of edges.
    len: u32,
    /// Next node in the same unique-table bucket (0: none; node 0 is a terminal).
    next: u32,
}

#[derive(Clone, Copy, Default)]
struct CacheEntry {
    a: u32,
    b: u32,
    /// The operation in the low two bits (3: an empty slot), above them the generation it was
    /// made in ([`Dd::release`]).
    op: u32,
    r: u32,
}

/// A point in a manager's history ([`Dd::mark`]): [`Dd::release`] drops every node made since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    nodes: usize,
    hi: usize,
    hi_wide: usize,
}

/// The manager: every node of every set it made, a unique table and an operation cache.
pub struct Dd {
    /// Dimension tested at each level.
    order: [Dim; NDIMS],
    nodes: Vec<Node>,
    /// Upper bound (inclusive) of each edge's interval, for nodes whose bounds all fit in 64
    /// bits but the last (every dimension but the addresses, and IPv4 addresses). The intervals
    /// of a node are consecutive from 0 and the last one ends at the dimension's maximum, kept
    /// as `u64::MAX` when it is larger ([`widen`]). Most intervals are here, at 12 bytes each
    /// instead of 20.
    hi: Vec<u64>,
    /// Child of each edge in `hi`.
    kid: Vec<u32>,
    /// Upper bounds of the edges of wide nodes ([`Node::wide`]).
    hi_wide: Vec<u128>,
    /// Child of each edge in `hi_wide`.
    kid_wide: Vec<u32>,
    /// The upper half of the hash of (level, edges) → first node of its chain (the nodes with
    /// that half of the hash). Half the hash keeps the table at 9 bytes a slot; the chains
    /// stay short and every node on them is compared in full.
    unique: FxHashMap<u32, u32>,
    cache: Vec<CacheEntry>,
    /// Scratch buffers reused by `mk`.
    scratch: Vec<Vec<(u128, u32)>>,
    /// While set ([`Dd::and_within`]): the number of nodes at which operations stop.
    stop_at: Option<usize>,
    /// An operation stopped at `stop_at`: results since are meaningless and not remembered.
    stopped: bool,
    /// Releases so far (modulo 2³⁰): the generation of the cache entries made now.
    generation: u32,
    /// The lowest number of nodes any release went back to (`u32::MAX`: none yet). A cache entry
    /// of an earlier generation is trusted only when its nodes are all below it: those were
    /// never released, while a higher id may name another node now.
    floor: u32,
}

impl Default for Dd {
    fn default() -> Self {
        Dd::new()
    }
}

/// Where a node's edges are: `n` edges from `st` in the narrow or the wide arena. `st ==
/// usize::MAX` stands for an operand that does not test the level at hand: one edge over the
/// whole range to the operand itself.
#[derive(Clone, Copy)]
struct Span {
    st: usize,
    n: usize,
    wide: bool,
}

impl Span {
    /// One edge over the whole range (see [`Span`]).
    const WHOLE: Span = Span { st: usize::MAX, n: 1, wide: false };
}

/// An upper bound as kept in the narrow arena, back to its value: `u64::MAX` stands for the
/// largest value of a dimension whose largest value does not fit (the addresses).
#[inline]
fn widen(h: u64) -> u128 {
    if h == u64::MAX {
        u128::MAX
    } else {
        h as u128
    }
}

/// The hash of a node's level and edges.
fn node_hash(level: usize, edges: impl Iterator<Item = (u128, u32)>) -> u64 {
    let mut h = mix(0x51_7cc1_b727_220a, level as u64);
    for (hi, k) in edges {
        h = mix(h, hi as u64);
        h = mix(h, (hi >> 64) as u64);
        h = mix(h, k as u64);
    }
    h
}

fn mix(mut h: u64, v: u64) -> u64 {
    h ^= v;
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

impl Dd {
    /// An empty manager (only the two terminals).
    pub fn new() -> Dd {
        Dd::with_order(ORDER)
    }

    /// An empty manager testing dimensions in `order` (a permutation of [`Dim::ALL`]; the
    /// order changes the diagrams' sizes, never the sets).
    pub fn with_order(order: [Dim; NDIMS]) -> Dd {
        let t = Node { level: NDIMS as u8, wide: false, start: 0, len: 0, next: 0 };
        Dd {
            order,
            nodes: vec![t, t],
            hi: Vec::new(),
            kid: Vec::new(),
            hi_wide: Vec::new(),
            kid_wide: Vec::new(),
            unique: FxHashMap::default(),
            cache: vec![CacheEntry { op: u32::MAX, ..Default::default() }; 1 << 12],
            scratch: Vec::new(),
            stop_at: None,
            stopped: false,
            generation: 0,
            floor: u32::MAX,
        }
    }

    /// Number of nodes made so far (a measure of memory: each node and its edges take a few
    /// dozen bytes).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The manager as it is now, to [`Dd::release`] what is made after.
    pub fn mark(&self) -> Mark {
        Mark { nodes: self.nodes.len(), hi: self.hi.len(), hi_wide: self.hi_wide.len() }
    }

    /// Drop every node made since `m`, so a manager that makes many short-lived sets (one
    /// finding's) keeps its size. Every set made since `m` is meaningless afterwards; sets made
    /// before stay as they are. The room the nodes took is kept for the next ones.
    pub fn release(&mut self, m: Mark) {
        if m.nodes >= self.nodes.len() {
            return;
        }
        // Newest first: each is the head of its chain in the unique table.
        for id in (m.nodes..self.nodes.len()).rev() {
            let n = self.nodes[id];
            let sp = self.edges(id as u32);
            let h = (node_hash(n.level as usize, (0..sp.n).map(|i| self.at(sp, i))) >> 32) as u32;
            debug_assert_eq!(self.unique.get(&h), Some(&(id as u32)));
            if n.next == 0 {
                self.unique.remove(&h);
            } else {
                self.unique.insert(h, n.next);
            }
        }
        self.nodes.truncate(m.nodes);
        self.hi.truncate(m.hi);
        self.kid.truncate(m.hi);
        self.hi_wide.truncate(m.hi_wide);
        self.kid_wide.truncate(m.hi_wide);
        self.floor = self.floor.min(m.nodes as u32);
        self.generation += 1;
        if self.generation >= 1 << 30 {
            self.cache.fill(CacheEntry { op: u32::MAX, ..Default::default() });
            self.generation = 0;
            self.floor = u32::MAX;
        }
    }

    /// The cache slot of `op` on `a` and `b`, and the result found there if it still holds.
    #[inline]
    fn cached(&self, op: Op, a: u32, b: u32) -> (usize, Option<u32>) {
        let slot = (mix(mix(op as u64, a as u64), b as u64) as usize) & (self.cache.len() - 1);
        let e = self.cache[slot];
        let hit = e.op & 3 == op as u32
            && e.a == a
            && e.b == b
            && (e.op >> 2 == self.generation || a.max(b).max(e.r) < self.floor);
        (slot, hit.then_some(e.r))
    }

    /// Remember the result of `op` on `a` and `b` in `slot`.
    #[inline]
    fn remember(&mut self, slot: usize, op: Op, a: u32, b: u32, r: u32) {
        self.cache[slot] = CacheEntry { a, b, op: op as u32 | self.generation << 2, r };
    }

    /// Memory held by the manager, in bytes (nodes, intervals, tables).
    pub fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.nodes.capacity() * size_of::<Node>()
            + self.hi.capacity() * size_of::<u64>()
            + self.kid.capacity() * size_of::<u32>()
            + self.hi_wide.capacity() * size_of::<u128>()
            + self.kid_wide.capacity() * size_of::<u32>()
            + self.unique.capacity() * (size_of::<(u32, u32)>() + 1)
            + self.cache.len() * size_of::<CacheEntry>()
    }

    /// The part of [`Dd::bytes`] in use: the arenas up to their length (a [`Dd::release`] gives
    /// back what it drops here, while the arenas keep their room).
    pub fn used_bytes(&self) -> usize {
        use std::mem::size_of;
        self.nodes.len() * size_of::<Node>()
            + self.hi.len() * (size_of::<u64>() + size_of::<u32>())
            + self.hi_wide.len() * (size_of::<u128>() + size_of::<u32>())
            + self.unique.capacity() * (size_of::<(u32, u32)>() + 1)
            + self.cache.len() * size_of::<CacheEntry>()
    }

    /// Per level of the order: the dimension, its nodes and their intervals in total.
    pub fn stats(&self) -> Vec<(Dim, usize, usize)> {
        let mut out: Vec<(Dim, usize, usize)> = self.order.iter().map(|&d| (d, 0, 0)).collect();
        for n in self.nodes.iter().skip(2) {
            if let Some(x) = out.get_mut(n.level as usize) {
                x.1 += 1;
                x.2 += n.len as usize;
            }
        }
        out
    }

    /// The level of the first test of `s` in the order (the number of dimensions for the
    /// terminals).
    pub fn top(&self, s: Set) -> usize {
        self.level(s.0)
    }

    fn level(&self, s: u32) -> usize {
        self.nodes[s as usize].level as usize
    }

    /// Where the edges of node `s` are.
    #[inline]
    fn edges(&self, s: u32) -> Span {
        let n = self.nodes[s as usize];
        Span { st: n.start as usize, n: n.len as usize, wide: n.wide }
    }

    /// Edge `i` of a node's edges (not [`Span::WHOLE`]): its upper bound and child.
    #[inline]
    fn at(&self, sp: Span, i: usize) -> (u128, u32) {
        let j = sp.st + i;
        if sp.wide {
            (self.hi_wide[j], self.kid_wide[j])
        } else {
            (widen(self.hi[j]), self.kid[j])
        }
    }

    /// Edge `i` of operand `s` whose edges are `sp` ([`Span::WHOLE`]: one edge over the whole
    /// range, up to `max`, to `s` itself).
    #[inline]
    fn edge(&self, s: u32, sp: Span, i: usize, max: u128) -> (u128, u32) {
        if sp.st == usize::MAX {
            (max, s)
        } else {
            self.at(sp, i)
        }
    }

    /// The first of the edges `i..` of `sp` (as in [`Dd::edge`]) whose upper bound is not
    /// `below` the value: `sp.n` if none.
    #[inline]
    fn first_not(&self, sp: Span, i: usize, below: impl Fn(u128) -> bool) -> usize {
        let (a, b) = (sp.st + i, sp.st + sp.n);
        if sp.wide {
            i + self.hi_wide[a..b].partition_point(|&hi| below(hi))
        } else {
            i + self.hi[a..b].partition_point(|&hi| below(widen(hi)))
        }
    }

    /// The first of the edges `i..` of `sp` (as in [`Dd::edge`]) that reaches past `upto`:
    /// `sp.n` if none does.
    #[inline]
    fn past(&self, sp: Span, i: usize, upto: u128, max: u128) -> usize {
        if sp.st == usize::MAX {
            // One edge, up to the dimension's maximum.
            return if upto >= max { sp.n } else { i };
        }
        self.first_not(sp, i, |hi| hi <= upto)
    }

    /// Walk the edges of `a` and `b` in step at the first level either tests (an operand that
    /// does not test it has one edge over the whole range), read from the arenas by index: the
    /// caller's recursion may grow them but never moves an edge. `settled(ka, kb)` tells whether
    /// the left or the right child alone settles the result over its edge: then the other
    /// operand's edges up to that edge's end are passed over by a binary search (a rule's
    /// narrow set met with a remainder of hundreds of intervals touches a few of them), and
    /// `visit` gets the stretch's end without children. Otherwise `visit` gets the end of the
    /// stretch the two edges share and their children. `visit` returns false to stop; so does
    /// this function then.
    fn zip_edges(
        &mut self,
        a: u32,
        b: u32,
        settled: impl Fn(u32, u32) -> (bool, bool),
        mut visit: impl FnMut(&mut Dd, u128, Option<(u32, u32)>) -> bool,
    ) -> bool {
        let (la, lb) = (self.level(a), self.level(b));
        let level = la.min(lb);
        let max = self.order[level].max();
        let span = |dd: &Dd, s: u32, l: usize| if l == level { dd.edges(s) } else { Span::WHOLE };
        let (sa, sb) = (span(self, a, la), span(self, b, lb));
        let (mut i, mut j) = (0, 0);
        while i < sa.n && j < sb.n {
            let (ha, ka) = self.edge(a, sa, i, max);
            let (hb, kb) = self.edge(b, sb, j, max);
            let upto = match settled(ka, kb) {
                (true, true) => Some(ha.max(hb)),
                (true, false) => Some(ha),
                (false, true) => Some(hb),
                (false, false) => None,
            };
            if let Some(upto) = upto {
                if !visit(self, upto, None) {
                    return false;
                }
                i = self.past(sa, i, upto, max);
                j = self.past(sb, j, upto, max);
                continue;
            }
            let hi = ha.min(hb);
            if !visit(self, hi, Some((ka, kb))) {
                return false;
            }
            if ha == hi {
                i += 1;
            }
            if hb == hi {
                j += 1;
            }
        }
        true
    }

    /// The node for `level` with these edges (consecutive intervals covering the dimension),
    /// reduced and shared.
    fn mk(&mut self, level: usize, edges: &[(u128, u32)]) -> u32 {
        debug_assert!(!edges.is_empty());
        if edges.len() == 1 {
            return edges[0].1;
        }
        let h = (node_hash(level, edges.iter().copied()) >> 32) as u32;
        let mut cur = self.unique.get(&h).copied().unwrap_or(0);
        while cur != 0 {
            let n = self.nodes[cur as usize];
            if n.level as usize == level && n.len as usize == edges.len() {
                let sp = self.edges(cur);
                if edges.iter().enumerate().all(|(i, &e)| self.at(sp, i) == e) {
                    return cur;
                }
            }
            cur = n.next;
        }
        let id = self.nodes.len() as u32;
        // Narrow unless an interval but the last ends at or above the narrow arena's stand-in
        // for the maximum.
        let wide = edges[..edges.len() - 1].iter().any(|&(hi, _)| hi >= u64::MAX as u128);
        let start = if wide {
            let start = self.hi_wide.len() as u32;
            for &(hi, k) in edges {
                self.hi_wide.push(hi);
                self.kid_wide.push(k);
            }
            start
        } else {
            let start = self.hi.len() as u32;
            for &(hi, k) in edges {
                self.hi.push(hi.min(u64::MAX as u128) as u64);
                self.kid.push(k);
            }
            start
        };
        let head = self.unique.insert(h, id).unwrap_or(0);
        self.nodes.push(Node { level: level as u8, wide, start, len: edges.len() as u32, next: head });
        if self.nodes.len() > self.cache.len() * 2 && self.cache.len() < (1 << 22) {
            let n = self.cache.len() * 4;
            self.cache = vec![CacheEntry { op: u32::MAX, ..Default::default() }; n];
        }
        id
    }

    /// Intersection.
    pub fn and(&mut self, a: Set, b: Set) -> Set {
        Set(self.apply(Op::And, a.0, b.0))
    }

    /// Union.
    pub fn or(&mut self, a: Set, b: Set) -> Set {
        Set(self.apply(Op::Or, a.0, b.0))
    }

    /// `a − b`.
    pub fn diff(&mut self, a: Set, b: Set) -> Set {
        Set(self.apply(Op::Diff, a.0, b.0))
    }

    /// True if `a` and `b` share a packet: [`Dd::and`] without building the intersection,
    /// stopping at the first shared packet.
    pub fn meets(&mut self, a: Set, b: Set) -> bool {
        self.meets_at(a.0, b.0)
    }

    fn meets_at(&mut self, a: u32, b: u32) -> bool {
        if a == 0 || b == 0 {
            return false;
        }
        if a == 1 || b == 1 || a == b {
            return true;
        }
        let (a, b) = if a > b { (b, a) } else { (a, b) };
        let (slot, hit) = self.cached(Op::And, a, b);
        if let Some(r) = hit {
            return r != 0;
        }
        // Nothing shared where either child is empty; stop at the first pair that shares a packet.
        let disjoint = self.zip_edges(a, b, |ka, kb| (ka == 0, kb == 0), |dd, _, pair| pair.is_none_or(|(ka, kb)| !dd.meets_at(ka, kb)));
        if !disjoint {
            return true;
        }
        // Disjoint: the intersection is the empty set, which the operation cache can keep.
        self.remember(slot, Op::And, a, b, 0);
        false
    }

    /// True if every packet of `a` is in `b`: [`Dd::diff`] without building the difference,
    /// stopping at the first packet of `a` outside `b`.
    pub fn is_subset(&mut self, a: Set, b: Set) -> bool {
        self.subset_at(a.0, b.0)
    }

    fn subset_at(&mut self, a: u32, b: u32) -> bool {
        if a == 0 || b == 1 || a == b {
            return true;
        }
        if b == 0 || a == 1 {
            // `a` holds a packet, `b` none; or `a` holds every packet and `b` not all.
            return false;
        }
        let (slot, hit) = self.cached(Op::Diff, a, b);
        if let Some(r) = hit {
            return r == 0;
        }
        // Nothing of `a` outside `b` where `a`'s child is empty or `b`'s full; stop at the first
        // pair with a packet of `a` outside `b`.
        if !self.zip_edges(a, b, |ka, kb| (ka == 0, kb == 1), |dd, _, pair| pair.is_none_or(|(ka, kb)| dd.subset_at(ka, kb))) {
            return false;
        }
        // A subset: the difference is the empty set, which the operation cache can keep.
        self.remember(slot, Op::Diff, a, b, 0);
        true
    }

    fn apply(&mut self, op: Op, mut a: u32, mut b: u32) -> u32 {
        match op {
            Op::And => {
                if a == 0 || b == 0 {
                    return 0;
                }
                if a == 1 || a == b {
                    return b;
                }
                if b == 1 {
                    return a;
                }
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
            }
            Op::Or => {
                if a == 1 || b == 1 {
                    return 1;
                }
                if a == 0 || a == b {
                    return b;
                }
                if b == 0 {
                    return a;
                }
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
            }
            Op::Diff => {
                if a == 0 || b == 1 || a == b {
                    return 0;
                }
                if b == 0 {
                    return a;
                }
            }
        }
        if let (_, Some(r)) = self.cached(op, a, b) {
            return r;
        }
        if self.stopped || self.stop_at.is_some_and(|n| self.nodes.len() >= n) {
            self.stopped = true;
            return 0;
        }
        let level = self.level(a).min(self.level(b));
        let mut out = self.scratch.pop().unwrap_or_default();
        out.clear();
        // A child that settles the result alone: nothing, for an intersection or the left of a
        // difference; everything, for a union or the right of a difference.
        let settled = move |ka: u32, kb: u32| match op {
            Op::And => (ka == 0, kb == 0),
            Op::Or => (ka == 1, kb == 1),
            Op::Diff => (ka == 0, kb == 1),
        };
        let constant = if op == Op::Or { 1 } else { 0 };
        self.zip_edges(a, b, settled, |dd, hi, pair| {
            let k = pair.map_or(constant, |(ka, kb)| dd.apply(op, ka, kb));
            push_edge(&mut out, hi, k);
            true
        });
        let r = self.mk(level, &out);
        self.scratch.push(out);
        if self.stopped {
            return 0;
        }
        let (slot, _) = self.cached(op, a, b);
        self.remember(slot, op, a, b, r);
        r
    }

    /// The intersection of all `sets` (met in order), unless making it takes more than
    /// `new_nodes` nodes: then `None`, and the sets are better kept apart (the nodes made on
    /// the way stay, unused). Nothing found after the stop is remembered.
    pub fn and_within(&mut self, sets: &[Set], new_nodes: usize) -> Option<Set> {
        self.stop_at = Some(self.nodes.len().saturating_add(new_nodes));
        let mut acc = Set::FULL;
        for &s in sets {
            acc = self.and(acc, s);
            if self.stopped {
                break;
            }
        }
        self.stop_at = None;
        (!std::mem::replace(&mut self.stopped, false)).then_some(acc)
    }

    /// The set of one cube.
    pub fn cube(&mut self, c: &Cube) -> Set {
        let mut r = 1u32;
        let mut edges: Vec<(u128, u32)> = Vec::new();
        for level in (0..NDIMS).rev() {
            let d = self.order[level];
            if !c.is_constrained(d) {
                continue;
            }
            let rs = c.get(d);
            if rs.is_empty() {
                return Set::EMPTY;
            }
            edges.clear();
            partition(rs, d.max(), r, &mut edges);
            r = self.mk(level, &edges);
        }
        Set(r)
    }

    /// The set of a [`PacketSet`].
    pub fn from_packet_set(&mut self, s: &PacketSet) -> Set {
        // Balanced union: cubes of one set are disjoint, so pairing them keeps the
        // intermediate diagrams small.
        let mut layer: Vec<Set> = s.cubes().iter().map(|c| self.cube(c)).collect();
        while layer.len() > 1 {
            let mut next = Vec::with_capacity(layer.len().div_ceil(2));
            for p in layer.chunks(2) {
                next.push(if p.len() == 2 { self.or(p[0], p[1]) } else { p[0] });
            }
            layer = next;
        }
        layer.pop().unwrap_or(Set::EMPTY)
    }

    /// The set as pairwise disjoint cubes: one per path to the full terminal, with the
    /// intervals of a node that lead to the same child merged into one dimension set.
    pub fn to_packet_set(&self, s: Set) -> PacketSet {
        let mut out = Vec::new();
        self.cubes_of(s.0, &mut Cube::full(), &mut out);
        PacketSet::from_disjoint_cubes(out)
    }

    /// Push the cubes of `s` within `cur` (whose dimensions tested below `s` are full) to `out`,
    /// depth first, so each cube is built once.
    fn cubes_of(&self, s: u32, cur: &mut Cube, out: &mut Vec<Cube>) {
        match s {
            0 => return,
            1 => {
                out.push(cur.clone());
                return;
            }
            _ => {}
        }
        let level = self.level(s);
        let d = self.order[level];
        let sp = self.edges(s);
        // Group the intervals by child, in order of first appearance (a node has few children
        // as a rule: they are looked up in the list, and indexed only when there are many).
        let mut groups: Vec<(u32, Vec<(u128, u128)>)> = Vec::new();
        let mut index: FxHashMap<u32, usize> = FxHashMap::default();
        let mut lo = 0u128;
        for i in 0..sp.n {
            let (hi, k) = self.at(sp, i);
            if k != 0 {
                let g = if groups.len() < 16 {
                    groups.iter().position(|x| x.0 == k)
                } else {
                    if index.is_empty() {
                        index.extend(groups.iter().enumerate().map(|(g, x)| (x.0, g)));
                    }
                    index.get(&k).copied()
                };
                let g = g.unwrap_or_else(|| {
                    groups.push((k, Vec::new()));
                    if !index.is_empty() {
                        index.insert(k, groups.len() - 1);
                    }
                    groups.len() - 1
                });
                groups[g].1.push((lo, hi));
            }
            lo = hi.wrapping_add(1);
        }
        for (k, ivs) in groups {
            cur.set(d, Ranges::from_ranges(ivs));
            self.cubes_of(k, cur, out);
        }
        cur.set(d, Ranges::range(0, d.max()));
    }

    /// The cubes [`Dd::to_packet_set`] gives, in the same order, as rows of part numbers (one
    /// per dimension, indexed by [`Dim`]) into `parts`, which keeps each distinct dimension set
    /// once and each node's grouping of its intervals once: a set of thousands of cubes is
    /// mostly the same few parts, and a row is eleven numbers instead of eleven range sets.
    /// `parts` must only ever be used with this manager.
    pub fn cube_rows(&self, s: Set, parts: &mut Parts) -> Vec<[u32; NDIMS]> {
        let mut out = Vec::new();
        let mut cur = parts.full;
        self.rows_of(s.0, &mut cur, parts, &mut out);
        out
    }

    fn rows_of(&self, s: u32, cur: &mut [u32; NDIMS], parts: &mut Parts, out: &mut Vec<[u32; NDIMS]>) {
        match s {
            0 => return,
            1 => {
                out.push(*cur);
                return;
            }
            _ => {}
        }
        let d = self.order[self.level(s)] as usize;
        let (start, len) = match parts.groups.get(s as usize).copied().filter(|g| g.1 != 0) {
            Some(g) => g,
            None => {
                let g = self.group(s, parts);
                if parts.groups.len() <= s as usize {
                    parts.groups.resize(self.nodes.len().max(s as usize + 1), (0, 0));
                }
                parts.groups[s as usize] = g;
                parts.grouped.push(s);
                g
            }
        };
        for g in start..start + len {
            let (k, part) = parts.arena[g as usize];
            cur[d] = part;
            self.rows_of(k, cur, parts, out);
        }
        cur[d] = parts.full[d];
    }

    /// A node's intervals grouped by child, in order of first appearance (as
    /// [`Dd::cubes_of`] groups them), each group's values as a part: stored in `parts`' arena.
    fn group(&self, s: u32, parts: &mut Parts) -> (u32, u32) {
        let sp = self.edges(s);
        let mut groups: Vec<(u32, Vec<(u128, u128)>)> = Vec::new();
        let mut lo = 0u128;
        for i in 0..sp.n {
            let (hi, k) = self.at(sp, i);
            if k != 0 {
                match groups.iter_mut().find(|x| x.0 == k) {
                    Some(g) => g.1.push((lo, hi)),
                    None => groups.push((k, vec![(lo, hi)])),
                }
            }
            lo = hi.wrapping_add(1);
        }
        let start = parts.arena.len() as u32;
        for (k, ivs) in groups {
            let part = parts.intern(Ranges::from_ranges(ivs));
            parts.arena.push((k, part));
        }
        (start, parts.arena.len() as u32 - start)
    }

    /// The values dimension `d` takes over the set (what [`PacketSet::project`] gives for the
    /// same set).
    pub fn project(&self, s: Set, d: Dim) -> Ranges {
        let Some(target) = self.order.iter().position(|&x| x == d) else { return Ranges::empty() };
        let mut memo: FxHashMap<u32, Ranges> = FxHashMap::default();
        self.project_at(s.0, target, &mut memo)
    }

    fn project_at(&self, s: u32, target: usize, memo: &mut FxHashMap<u32, Ranges>) -> Ranges {
        let full = || Ranges::range(0, self.order[target].max());
        match s {
            0 => return Ranges::empty(),
            1 => return full(),
            _ => {}
        }
        let level = self.level(s);
        if level > target {
            // The dimension is not tested below here: every value of it is taken.
            return full();
        }
        if let Some(r) = memo.get(&s) {
            return r.clone();
        }
        let sp = self.edges(s);
        let r = if level == target {
            let mut v = Vec::new();
            let mut lo = 0u128;
            for i in 0..sp.n {
                let (hi, k) = self.at(sp, i);
                if k != 0 {
                    v.push((lo, hi));
                }
                lo = hi.wrapping_add(1);
            }
            Ranges::from_ranges(v)
        } else {
            let all = full();
            let mut acc = Ranges::empty();
            let mut done: Vec<u32> = Vec::new();
            for i in 0..sp.n {
                let k = self.at(sp, i).1;
                if k == 0 || done.contains(&k) {
                    continue;
                }
                done.push(k);
                acc = acc.union(&self.project_at(k, target, memo));
                if acc == all {
                    break;
                }
            }
            acc
        };
        memo.insert(s, r.clone());
        r
    }

    /// The packets of the set whose dimension `d` is in `r`.
    pub fn restrict(&mut self, s: Set, d: Dim, r: &Ranges) -> Set {
        let mut c = Cube::full();
        c.set(d, r.clone());
        let c = self.cube(&c);
        self.and(s, c)
    }

    /// True if `p` is in the set.
    pub fn contains(&self, s: Set, p: &Packet) -> bool {
        let mut cur = s.0;
        while cur > 1 {
            let level = self.level(cur);
            let v = p.v[self.order[level] as usize];
            let sp = self.edges(cur);
            let i = self.first_not(sp, 0, |hi| hi < v);
            cur = self.at(sp, i.min(sp.n - 1)).1;
        }
        cur == 1
    }

    /// One packet of the set: at every test the lowest value that keeps the set non-empty,
    /// zero in dimensions not tested on the way.
    pub fn witness(&self, s: Set) -> Option<Packet> {
        let mut p = Packet::zero();
        if s.is_empty() {
            return None;
        }
        self.witness_into(s.0, &mut p);
        Some(p)
    }

    /// [`Dd::witness`] of `a ∩ b`, without building the intersection: at every test the
    /// lowest value where the two still share a packet.
    pub fn witness_and(&mut self, a: Set, b: Set) -> Option<Packet> {
        if !self.meets(a, b) {
            return None;
        }
        let mut p = Packet::zero();
        let (mut a, mut b) = (a.0, b.0);
        // Invariant: `a` and `b` share a packet.
        while a != 1 && b != 1 && a != b {
            let level = self.level(a).min(self.level(b));
            let mut lo = 0u128;
            let mut next = None;
            self.zip_edges(
                a,
                b,
                |ka, kb| (ka == 0, kb == 0),
                |dd, hi, pair| match pair {
                    Some((ka, kb)) if dd.meets_at(ka, kb) => {
                        next = Some((ka, kb));
                        false
                    }
                    _ => {
                        lo = hi.wrapping_add(1);
                        true
                    }
                },
            );
            let (ka, kb) = next?;
            p.v[self.order[level] as usize] = lo;
            (a, b) = (ka, kb);
        }
        self.witness_into(if a == 1 { b } else { a }, &mut p);
        Some(p)
    }

    /// True if the intersection of all `sets` holds a packet, found without building it (true
    /// for no set). Sets kept apart because their intersection is large (an entry split by
    /// input interface met with a remainder split by output interface) are tested here
    /// together: the first shared packet ends the search, and tuples found disjoint are
    /// remembered for the rest of it.
    pub fn meets_all(&mut self, sets: &[Set]) -> bool {
        match Self::few(sets) {
            Few::Empty => return false,
            Few::Sets(a, b) => return self.meets_at(a, b),
            Few::Many => {}
        }
        let mut memo = FxHashMap::default();
        let t = sets.iter().map(|s| s.0).collect();
        self.meets_tuple(t, &mut memo)
    }

    /// `sets` without full sets and repeats when that leaves at most two (the full set for a
    /// missing one), without allocating.
    fn few(sets: &[Set]) -> Few {
        let (mut a, mut b) = (1u32, 1u32);
        for s in sets {
            match s.0 {
                0 => return Few::Empty,
                1 => {}
                x if x == a || x == b => {}
                x if a == 1 => a = x,
                x if b == 1 => b = x,
                _ => return Few::Many,
            }
        }
        Few::Sets(a, b)
    }

    /// The tuple without full sets, sorted, each once; `None` if one is empty.
    fn normal(mut t: Vec<u32>) -> Option<Vec<u32>> {
        if t.contains(&0) {
            return None;
        }
        t.retain(|&x| x != 1);
        t.sort_unstable();
        t.dedup();
        Some(t)
    }

    fn meets_tuple(&mut self, t: Vec<u32>, memo: &mut FxHashMap<Vec<u32>, bool>) -> bool {
        let Some(t) = Self::normal(t) else { return false };
        match t.len() {
            0 | 1 => return true,
            2 => return self.meets_at(t[0], t[1]),
            _ => {}
        }
        if let Some(&r) = memo.get(&t) {
            return r;
        }
        let mut found = false;
        self.stretches(&t, |dd, _, kids| {
            found = dd.meets_tuple(kids.to_vec(), memo);
            !found
        });
        memo.insert(t, found);
        found
    }

    /// Walk the stretches of the first level any set of `t` (normal, two or more) tests, in
    /// order: `visit` gets each stretch's lowest value and the sets' children over it, only
    /// where none is empty (a stretch where one is, is passed over by a binary search in the
    /// others). `visit` returns false to stop.
    fn stretches(&mut self, t: &[u32], mut visit: impl FnMut(&mut Dd, u128, &[u32]) -> bool) {
        let level = t.iter().map(|&s| self.level(s)).min().unwrap_or(NDIMS);
        let max = self.order[level].max();
        let spans: Vec<Span> = t.iter().map(|&s| if self.level(s) == level { self.edges(s) } else { Span::WHOLE }).collect();
        let mut at = vec![0usize; t.len()];
        let mut kids = vec![0u32; t.len()];
        let mut lo = 0u128;
        loop {
            // The stretch from `lo`: up to the nearest end among the current edges.
            let mut hi = max;
            let mut empty_to = None;
            for (k, &sp) in spans.iter().enumerate() {
                let (h, kid) = self.edge(t[k], sp, at[k], max);
                hi = hi.min(h);
                kids[k] = kid;
                if kid == 0 {
                    empty_to = Some(empty_to.map_or(h, |e: u128| e.max(h)));
                }
            }
            let upto = match empty_to {
                Some(e) => e,
                None => {
                    if !visit(self, lo, &kids) {
                        return;
                    }
                    hi
                }
            };
            if upto >= max {
                return;
            }
            for (k, &sp) in spans.iter().enumerate() {
                at[k] = self.past(sp, at[k], upto, max);
            }
            lo = upto + 1;
        }
    }

    /// [`Dd::witness`] of the intersection of all `sets`, without building it.
    pub fn witness_all(&mut self, sets: &[Set]) -> Option<Packet> {
        match Self::few(sets) {
            Few::Empty => return None,
            Few::Sets(a, b) => return self.witness_and(Set(a), Set(b)),
            Few::Many => {}
        }
        let mut memo = FxHashMap::default();
        let mut t = Self::normal(sets.iter().map(|s| s.0).collect())?;
        if !self.meets_tuple(t.clone(), &mut memo) {
            return None;
        }
        let mut p = Packet::zero();
        let memo = &mut memo;
        // Invariant: the sets of `t` share a packet.
        while t.len() > 1 {
            let level = t.iter().map(|&s| self.level(s)).min().unwrap_or(NDIMS);
            let mut next = None;
            self.stretches(&t, |dd, lo, kids| {
                if dd.meets_tuple(kids.to_vec(), memo) {
                    next = Some((lo, kids.to_vec()));
                    return false;
                }
                true
            });
            let (lo, kids) = next?;
            p.v[self.order[level] as usize] = lo;
            t = Self::normal(kids)?;
        }
        if let Some(&s) = t.first() {
            self.witness_into(s, &mut p);
        }
        Some(p)
    }

    /// Set the values of [`Dd::witness`] for the tests of `s` (not empty) in `p`.
    fn witness_into(&self, s: u32, p: &mut Packet) {
        let mut cur = s;
        while cur > 1 {
            let level = self.level(cur);
            let sp = self.edges(cur);
            let mut lo = 0u128;
            let mut next = 0;
            for i in 0..sp.n {
                let (hi, k) = self.at(sp, i);
                if k != 0 {
                    next = k;
                    break;
                }
                lo = hi.wrapping_add(1);
            }
            p.v[self.order[level] as usize] = lo;
            cur = next;
        }
    }
}

/// What [`Dd::few`] finds.
enum Few {
    /// One of the sets is empty.
    Empty,
    /// At most two sets other than the full one (the full set stands for a missing one).
    Sets(u32, u32),
    /// More.
    Many,
}

/// The dimension sets of the cube rows of one manager ([`Dd::cube_rows`]), each kept once and
/// named by a number, with every node's grouping of its intervals.
pub struct Parts {
    ranges: Vec<Ranges>,
    index: FxHashMap<Ranges, u32>,
    /// Per node: its groups in `arena` (first, count; no count for a node not grouped yet, as
    /// an inner node has at least one group).
    groups: Vec<(u32, u32)>,
    /// (child, part) of every node's groups.
    arena: Vec<(u32, u32)>,
    /// The nodes grouped, in order ([`Parts::release`] forgets the last ones).
    grouped: Vec<u32>,
    /// The part of each dimension's whole range.
    full: [u32; NDIMS],
}

/// A point in the history of a [`Parts`] ([`Parts::mark`]); the default is the start of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartsMark {
    arena: usize,
    grouped: usize,
}

impl Default for Parts {
    fn default() -> Self {
        let mut p = Parts {
            ranges: Vec::new(),
            index: FxHashMap::default(),
            groups: Vec::new(),
            arena: Vec::new(),
            grouped: Vec::new(),
            full: [0; NDIMS],
        };
        for d in Dim::ALL {
            p.full[d as usize] = p.intern(Ranges::range(0, d.max()));
        }
        p
    }
}

impl Parts {
    /// The groupings as they are now, to be forgotten with the nodes of a [`Dd::release`] to a
    /// mark taken at the same time. The parts themselves (values) are kept: their numbers stay.
    pub fn mark(&self) -> PartsMark {
        PartsMark { arena: self.arena.len(), grouped: self.grouped.len() }
    }

    /// Forget the groupings made since `m` (of nodes a release may have dropped, or whose
    /// groups lie past the arena kept).
    pub fn release(&mut self, m: PartsMark) {
        for s in self.grouped.drain(m.grouped.min(self.grouped.len())..) {
            if let Some(g) = self.groups.get_mut(s as usize) {
                *g = (0, 0);
            }
        }
        self.arena.truncate(m.arena);
    }

    fn intern(&mut self, r: Ranges) -> u32 {
        if let Some(&i) = self.index.get(&r) {
            return i;
        }
        let i = self.ranges.len() as u32;
        self.index.insert(r.clone(), i);
        self.ranges.push(r);
        i
    }

    /// The set of part `i`.
    pub fn get(&self, i: u32) -> &Ranges {
        &self.ranges[i as usize]
    }

    /// The part of dimension `d`'s whole range.
    pub fn full(&self, d: Dim) -> u32 {
        self.full[d as usize]
    }

    /// The cube of a row.
    pub fn cube(&self, row: &[u32; NDIMS]) -> Cube {
        let mut c = Cube::full();
        for d in Dim::ALL {
            let i = row[d as usize];
            if i != self.full[d as usize] {
                c.set(d, self.get(i).clone());
            }
        }
        c
    }
}

/// Append an edge ending at `hi`, merged with the last one when it leads to the same child.
#[inline]
fn push_edge(out: &mut Vec<(u128, u32)>, hi: u128, k: u32) {
    match out.last_mut() {
        Some(last) if last.1 == k => last.0 = hi,
        _ => out.push((hi, k)),
    }
}

/// Edges over `0..=max` sending the values of `rs` to `inside` and the rest to the empty set.
fn partition(rs: &Ranges, max: u128, inside: u32, out: &mut Vec<(u128, u32)>) {
    let mut next = 0u128;
    let push = |hi: u128, k: u32, out: &mut Vec<(u128, u32)>| match out.last_mut() {
        Some(last) if last.1 == k => last.0 = hi,
        _ => out.push((hi, k)),
    };
    for &(lo, hi) in rs.as_slice() {
        if lo > next {
            push(lo - 1, 0, out);
        }
        push(hi, inside, out);
        next = hi.wrapping_add(1);
        if hi == max {
            return;
        }
    }
    push(max, 0, out);
}

#[cfg(test)]
mod test;
