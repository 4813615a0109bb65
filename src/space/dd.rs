//! Binary decision diagrams over the header bits: a second exact representation of packet sets.
//!
//! A set is a reduced, ordered, hash-consed BDD whose variables are the bits of the header
//! dimensions ([`Dim`]), most significant bit first, dimension after dimension in the fixed
//! order [`ORDER`]. Two terminals stand for "no packet" and "every packet"; a variable that a
//! path skips may take either value.
//!
//! Reduced means no node has two equal children; hash-consed means a [`Dd`] manager holds each
//! node once. Together they make the representation canonical: two sets are equal exactly when
//! their ids are, so equality and emptiness are O(1), and a ruleset's remainder ("the entry
//! minus every rule so far") stays one shared diagram instead of fragmenting into ever more
//! cubes. An operation copies only the nodes on the paths it changes: subtracting a rule that
//! names one interface out of a remainder split by a thousand interfaces makes about sixteen new
//! nodes per branch, not a thousand-way node.
//!
//! Ids are only meaningful in the manager that made them. A manager only grows (no garbage
//! collection): make one per analysis and drop it afterwards. [`Dd::nodes`] tells its size so
//! callers can stop at a budget.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Cube, Dim, Packet, PacketSet, Ranges, NDIMS};

/// The order in which dimensions are tested, outermost first: interfaces and connection state
/// (what dispatching rules look at), then protocol, addresses and ports.
pub const ORDER: [Dim; NDIMS] = [
    Dim::Iif,
    Dim::Oif,
    Dim::Ct,
    Dim::Proto,
    Dim::Dst,
    Dim::Src,
    Dim::Dport,
    Dim::Sport,
    Dim::IcmpType,
    Dim::IcmpCode,
    Dim::TcpFlags,
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

/// Bits of each dimension.
const fn width(d: Dim) -> u32 {
    match d {
        Dim::Src | Dim::Dst => 128,
        Dim::Sport | Dim::Dport | Dim::Iif | Dim::Oif => 16,
        Dim::Proto | Dim::IcmpType | Dim::IcmpCode | Dim::TcpFlags => 8,
        Dim::Ct => 5,
    }
}

/// Total number of variables.
const VARS: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < NDIMS {
        n += width(ORDER[i]) as usize;
        i += 1;
    }
    n
};

/// The variable of the terminals (after every real variable).
const TERMINAL: u16 = VARS as u16;

/// First variable of each level.
const OFFSET: [u16; NDIMS + 1] = {
    let mut o = [0u16; NDIMS + 1];
    let mut i = 0;
    while i < NDIMS {
        o[i + 1] = o[i] + width(ORDER[i]) as u16;
        i += 1;
    }
    o
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    And = 0,
    Or = 1,
    Diff = 2,
}

#[derive(Clone, Copy)]
struct Node {
    var: u16,
    lo: u32,
    hi: u32,
}

#[derive(Clone, Copy)]
struct CacheEntry {
    a: u32,
    b: u32,
    op: u32,
    r: u32,
}

const NO_ENTRY: CacheEntry = CacheEntry { a: 0, b: 0, op: u32::MAX, r: 0 };

/// A multiplicative hash for the small integer keys of the tables.
#[derive(Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(v as u64)
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64)
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(self.0, v);
    }
}

/// The manager: every node of every set it made, a unique table and an operation cache.
pub struct Dd {
    nodes: Vec<Node>,
    unique: HashMap<(u16, u32, u32), u32, BuildHasherDefault<Mix>>,
    cache: Vec<CacheEntry>,
}

impl Default for Dd {
    fn default() -> Self {
        Dd::new()
    }
}

fn mix(h: u64, v: u64) -> u64 {
    let h = (h ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 31)
}

/// The values of a dimension below a node: `k` free low bits from `lo`.
fn block(lo: u128, k: u32) -> (u128, u128) {
    let mask = if k >= 128 { u128::MAX } else { (1u128 << k) - 1 };
    (lo, lo | mask)
}

impl Dd {
    /// An empty manager (only the two terminals).
    pub fn new() -> Dd {
        let t = Node { var: TERMINAL, lo: 0, hi: 0 };
        Dd { nodes: vec![t, t], unique: HashMap::default(), cache: vec![NO_ENTRY; 1 << 16] }
    }

    /// Number of nodes made so far (a measure of memory: about 30 bytes each with the unique
    /// table).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    fn var(&self, s: u32) -> u16 {
        self.nodes[s as usize].var
    }

    fn mk(&mut self, var: u16, lo: u32, hi: u32) -> u32 {
        if lo == hi {
            return lo;
        }
        let next = self.nodes.len() as u32;
        let id = *self.unique.entry((var, lo, hi)).or_insert(next);
        if id == next {
            self.nodes.push(Node { var, lo, hi });
            if self.nodes.len() > self.cache.len() && self.cache.len() < (1 << 22) {
                // Grow the cache with the diagram (its entries are only hints).
                self.cache = vec![NO_ENTRY; self.cache.len() * 4];
            }
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

    /// True if every packet of `a` is in `b`.
    pub fn is_subset(&mut self, a: Set, b: Set) -> bool {
        self.diff(a, b).is_empty()
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
        let slot = (mix(mix(op as u64, a as u64), b as u64) as usize) & (self.cache.len() - 1);
        let e = self.cache[slot];
        if e.op == op as u32 && e.a == a && e.b == b {
            return e.r;
        }
        let (na, nb) = (self.nodes[a as usize], self.nodes[b as usize]);
        let var = na.var.min(nb.var);
        let (a0, a1) = if na.var == var { (na.lo, na.hi) } else { (a, a) };
        let (b0, b1) = if nb.var == var { (nb.lo, nb.hi) } else { (b, b) };
        let lo = self.apply(op, a0, b0);
        let hi = self.apply(op, a1, b1);
        let r = self.mk(var, lo, hi);
        let slot = (mix(mix(op as u64, a as u64), b as u64) as usize) & (self.cache.len() - 1);
        self.cache[slot] = CacheEntry { a, b, op: op as u32, r };
        r
    }

    /// The set of one cube.
    pub fn cube(&mut self, c: &Cube) -> Set {
        let mut r = 1u32;
        for level in (0..NDIMS).rev() {
            let d = ORDER[level];
            if !c.is_constrained(d) {
                continue;
            }
            let rs = c.get(d).as_slice();
            if rs.is_empty() {
                return Set::EMPTY;
            }
            r = self.range(level, rs, 0, 0, r);
        }
        Set(r)
    }

    /// The values of `rs` in the dimension of `level`, below a prefix of `bit` fixed bits with
    /// value `lo`, continuing to `then`; everything else to the empty set.
    fn range(&mut self, level: usize, rs: &[(u128, u128)], bit: u32, lo: u128, then: u32) -> u32 {
        let w = width(ORDER[level]);
        let (lo, hi) = block(lo, w - bit);
        // The first range that ends at or after `lo`.
        let i = rs.partition_point(|r| r.1 < lo);
        match rs.get(i) {
            None => return 0,
            Some(&(a, _)) if a > hi => return 0,
            Some(&(a, b)) if a <= lo && b >= hi => return then,
            _ => {}
        }
        let half = 1u128 << (w - bit - 1);
        let l = self.range(level, rs, bit + 1, lo, then);
        let h = self.range(level, rs, bit + 1, lo | half, then);
        self.mk(OFFSET[level] + bit as u16, l, h)
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

    /// The set as pairwise disjoint cubes: per dimension, the values that lead to the same
    /// sub-diagram of the next dimensions are one set of ranges.
    pub fn to_packet_set(&self, s: Set) -> PacketSet {
        let mut memo: HashMap<(u32, usize), Vec<Cube>> = HashMap::new();
        PacketSet::from_disjoint_cubes(self.cubes_of(s.0, 0, &mut memo))
    }

    fn cubes_of(&self, s: u32, level: usize, memo: &mut HashMap<(u32, usize), Vec<Cube>>) -> Vec<Cube> {
        match s {
            0 => return Vec::new(),
            1 => return vec![Cube::full()],
            _ => {}
        }
        if level >= NDIMS {
            return Vec::new();
        }
        if self.var(s) >= OFFSET[level + 1] {
            return self.cubes_of(s, level + 1, memo);
        }
        if let Some(v) = memo.get(&(s, level)) {
            return v.clone();
        }
        let mut exits: Vec<(u32, Vec<(u128, u128)>)> = Vec::new();
        self.exits(s, level, 0, 0, &mut exits);
        let d = ORDER[level];
        let mut out = Vec::new();
        for (k, ivs) in exits {
            let r = Ranges::from_ranges(ivs);
            for mut c in self.cubes_of(k, level + 1, memo) {
                c.set(d, r.clone());
                out.push(c);
            }
        }
        memo.insert((s, level), out.clone());
        out
    }

    /// The sub-diagrams below the bits of `level`'s dimension reached from `s` (at `bit` fixed
    /// bits with value `lo`), each with the values that lead there.
    fn exits(&self, s: u32, level: usize, bit: u32, lo: u128, out: &mut Vec<(u32, Vec<(u128, u128)>)>) {
        let w = width(ORDER[level]);
        let var = self.var(s);
        if var >= OFFSET[level + 1] {
            if s != 0 {
                let iv = block(lo, w - bit);
                match out.iter_mut().find(|e| e.0 == s) {
                    Some(e) => e.1.push(iv),
                    None => out.push((s, vec![iv])),
                }
            }
            return;
        }
        let half = 1u128 << (w - bit - 1);
        if var == OFFSET[level] + bit as u16 {
            let n = self.nodes[s as usize];
            self.exits(n.lo, level, bit + 1, lo, out);
            self.exits(n.hi, level, bit + 1, lo | half, out);
        } else {
            // A skipped bit: both values lead to the same node.
            self.exits(s, level, bit + 1, lo, out);
            self.exits(s, level, bit + 1, lo | half, out);
        }
    }

    /// Where bit `var` sits: the dimension and the shift of the bit in its value.
    fn locate(var: u16) -> (Dim, u32) {
        let level = OFFSET.partition_point(|&o| o <= var) - 1;
        let d = ORDER[level];
        (d, width(d) - 1 - (var - OFFSET[level]) as u32)
    }

    /// True if `p` is in the set.
    pub fn contains(&self, s: Set, p: &Packet) -> bool {
        let mut cur = s.0;
        while cur > 1 {
            let n = self.nodes[cur as usize];
            let (d, shift) = Dd::locate(n.var);
            cur = if (p.v[d as usize] >> shift) & 1 == 1 { n.hi } else { n.lo };
        }
        cur == 1
    }

    /// One packet of the set: at every test the lower value when it keeps the set non-empty,
    /// zero for bits not tested on the way (so the lowest value of each dimension in turn).
    pub fn witness(&self, s: Set) -> Option<Packet> {
        if s.is_empty() {
            return None;
        }
        let mut p = Packet::zero();
        let mut cur = s.0;
        while cur > 1 {
            let n = self.nodes[cur as usize];
            if n.lo != 0 {
                cur = n.lo;
            } else {
                let (d, shift) = Dd::locate(n.var);
                p.v[d as usize] |= 1u128 << shift;
                cur = n.hi;
            }
        }
        Some(p)
    }
}

#[cfg(test)]
mod test;
