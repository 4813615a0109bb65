//! The coarsest partition of an address space into classes that a set of relations treats
//! alike, and each relation as pairs of classes.
//!
//! A relation over addresses (who may open connections to whom) is given as a union of
//! rectangles `src × dst` (sets of address ranges), optionally combined with groups that hold
//! only where *every* member holds (used for destinations whose output interface is not known:
//! a connection is definitely allowed only if it is allowed through every interface).
//!
//! Two addresses belong to one class when every relation treats them the same as source (same
//! row) and as destination (same column). The computation is exact:
//! 1. the boundaries of every rectangle cut the space into *atoms*, intervals inside which no
//!    rectangle changes, so all addresses of an atom behave alike;
//! 2. a sweep over the atoms in address order keeps, per destination atom, how many rectangles
//!    of the current source atom cover it; the row of an atom is the bit set of destination
//!    atoms with a count above zero. Rows only change where some rectangle starts or ends, and
//!    equal rows are interned, so each atom gets a row number after `O(atoms²/64)` work;
//! 3. the same sweep over the transposed rectangles gives each atom a column number;
//! 4. atoms with equal (row, column) numbers in every relation form one class.

use std::collections::HashMap;

use crate::space::Ranges;

/// A set of (source, destination) pairs: every source in `src` with every destination in
/// `dst`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    /// Sources.
    pub src: Ranges,
    /// Destinations.
    pub dst: Ranges,
}

/// A relation as a union of rectangles plus groups of alternatives that must all hold.
#[derive(Clone, Debug, Default)]
pub struct Relation {
    /// Pairs in any of these rectangles are in the relation.
    pub any: Vec<Rect>,
    /// For each group, a list of alternatives (each a union of rectangles): a pair is in the
    /// relation when it is in every alternative of some group.
    pub all_of: Vec<Vec<Vec<Rect>>>,
}

impl Relation {
    /// True if the pair is in the relation (brute force, for tests and small checks).
    pub fn contains(&self, s: u128, d: u128) -> bool {
        let hit = |rs: &[Rect]| rs.iter().any(|r| r.src.contains(s) && r.dst.contains(d));
        hit(&self.any) || self.all_of.iter().any(|g| !g.is_empty() && g.iter().all(|alt| hit(alt)))
    }
}

/// The partition and each relation as class pairs.
#[derive(Clone, Debug, Default)]
pub struct Partition {
    /// Classes in order of their lowest address; their union is the universe.
    pub classes: Vec<Ranges>,
    /// Per relation (in the order given), the pairs of class indices it holds, sorted.
    pub pairs: Vec<Vec<(usize, usize)>>,
}

/// Atoms: sorted disjoint intervals covering the universe exactly.
struct Atoms {
    starts: Vec<u128>,
    ends: Vec<u128>,
}

impl Atoms {
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// The atom holding `v` (which must lie in the universe).
    fn of(&self, v: u128) -> usize {
        self.starts.partition_point(|&s| s <= v).saturating_sub(1)
    }

    /// A set as inclusive intervals of atom indices (the set is clipped to the universe; since
    /// its boundaries are cuts, it is a union of whole atoms).
    fn intervals(&self, r: &Ranges, universe: &Ranges) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for &(lo, hi) in r.intersect(universe).as_slice() {
            let a = self.of(lo) as u32;
            let b = self.of(hi) as u32;
            match out.last_mut() {
                Some(last) if last.1 + 1 >= a => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        out
    }
}

fn atoms(universe: &Ranges, rels: &[Relation]) -> Atoms {
    let mut cuts: Vec<u128> = Vec::new();
    let mut push = |r: &Ranges| {
        for &(lo, hi) in r.as_slice() {
            cuts.push(lo);
            if hi < u128::MAX {
                cuts.push(hi + 1);
            }
        }
    };
    push(universe);
    for rel in rels {
        for r in rel.any.iter().chain(rel.all_of.iter().flatten().flatten()) {
            push(&r.src);
            push(&r.dst);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for &(lo, hi) in universe.as_slice() {
        let first = cuts.partition_point(|&c| c <= lo);
        let mut cur = lo;
        for &c in &cuts[first..] {
            if c > hi {
                break;
            }
            starts.push(cur);
            ends.push(c - 1);
            cur = c;
        }
        starts.push(cur);
        ends.push(hi);
    }
    Atoms { starts, ends }
}

/// Rectangles over atoms with the same destination intervals, their sources united: one
/// entry per distinct destination set, so the sweep's counts are 0 or 1 per entry.
struct Sweep {
    /// Per entry, the destination atom intervals.
    dsts: Vec<Vec<(u32, u32)>>,
    /// Events sorted by atom: (atom, entry, +1 / −1).
    events: Vec<(u32, u32, i8)>,
    next: usize,
    count: Vec<u32>,
    row: Vec<u64>,
}

impl Sweep {
    /// `transpose` swaps the roles of source and destination.
    fn new(rects: &[Rect], atoms: &Atoms, universe: &Ranges, transpose: bool) -> Sweep {
        let n = atoms.len();
        let mut by_dst: HashMap<Vec<(u32, u32)>, Ranges> = HashMap::new();
        for r in rects {
            let (s, d) = if transpose { (&r.dst, &r.src) } else { (&r.src, &r.dst) };
            if s.is_empty() || d.is_empty() {
                continue;
            }
            let di = atoms.intervals(d, universe);
            if di.is_empty() {
                continue;
            }
            let e = by_dst.entry(di).or_default();
            *e = e.union(s);
        }
        let mut dsts = Vec::with_capacity(by_dst.len());
        let mut events = Vec::new();
        let mut groups: Vec<(Vec<(u32, u32)>, Ranges)> = by_dst.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (di, src) in groups {
            let k = dsts.len() as u32;
            for (a, b) in atoms.intervals(&src, universe) {
                events.push((a, k, 1));
                if (b as usize) + 1 < n {
                    events.push((b + 1, k, -1));
                }
            }
            dsts.push(di);
        }
        events.sort_unstable_by_key(|e| (e.0, e.2));
        Sweep { dsts, events, next: 0, count: vec![0; n], row: vec![0; n.div_ceil(64)] }
    }

    /// Apply the events at atom `x`; returns true if any.
    fn advance(&mut self, x: u32) -> bool {
        let start = self.next;
        while let Some(&(at, k, delta)) = self.events.get(self.next) {
            if at != x {
                break;
            }
            self.next += 1;
            let Some(di) = self.dsts.get(k as usize) else { continue };
            for &(a, b) in di {
                for y in a as usize..=b as usize {
                    let c = &mut self.count[y];
                    if delta > 0 {
                        *c += 1;
                        if *c == 1 {
                            self.row[y / 64] |= 1 << (y % 64);
                        }
                    } else {
                        *c = c.saturating_sub(1);
                        if *c == 0 {
                            self.row[y / 64] &= !(1 << (y % 64));
                        }
                    }
                }
            }
        }
        self.next > start
    }
}

/// A relation's sweep in one orientation: the row of the current atom.
struct RelSweep {
    any: Sweep,
    groups: Vec<Vec<Sweep>>,
    ids: HashMap<Vec<u64>, u32>,
    rows: Vec<Vec<u64>>,
    cur: u32,
}

impl RelSweep {
    fn new(rel: &Relation, atoms: &Atoms, universe: &Ranges, transpose: bool) -> RelSweep {
        RelSweep {
            any: Sweep::new(&rel.any, atoms, universe, transpose),
            groups: rel
                .all_of
                .iter()
                .filter(|g| !g.is_empty())
                .map(|g| g.iter().map(|alt| Sweep::new(alt, atoms, universe, transpose)).collect())
                .collect(),
            ids: HashMap::new(),
            rows: Vec::new(),
            cur: u32::MAX,
        }
    }

    /// The row number of atom `x` (atoms must be visited in order from 0).
    fn step(&mut self, x: u32) -> u32 {
        let mut changed = self.any.advance(x);
        for g in &mut self.groups {
            for s in g.iter_mut() {
                changed |= s.advance(x);
            }
        }
        if !changed && self.cur != u32::MAX {
            return self.cur;
        }
        let mut row = self.any.row.clone();
        for g in &self.groups {
            let Some((first, rest)) = g.split_first() else { continue };
            for (w, v) in row.iter_mut().enumerate() {
                let mut all = first.row[w];
                for s in rest {
                    all &= s.row[w];
                }
                *v |= all;
            }
        }
        let next = self.rows.len() as u32;
        let id = *self.ids.entry(row.clone()).or_insert(next);
        if id == next {
            self.rows.push(row);
        }
        self.cur = id;
        id
    }

    fn bit(&self, row: u32, y: usize) -> bool {
        self.rows.get(row as usize).and_then(|r| r.get(y / 64)).is_some_and(|w| w & (1 << (y % 64)) != 0)
    }
}

/// Partition `universe` by `rels` (see the module documentation).
pub fn partition(universe: &Ranges, rels: &[Relation]) -> Partition {
    if universe.is_empty() {
        return Partition { classes: Vec::new(), pairs: vec![Vec::new(); rels.len()] };
    }
    let atoms = atoms(universe, rels);
    let n = atoms.len();
    let mut rows: Vec<RelSweep> = rels.iter().map(|r| RelSweep::new(r, &atoms, universe, false)).collect();
    let mut cols: Vec<RelSweep> = rels.iter().map(|r| RelSweep::new(r, &atoms, universe, true)).collect();
    // Per atom, its (row, column) number in every relation.
    let width = rels.len() * 2;
    let mut sig = vec![0u32; n * width];
    for x in 0..n {
        for (k, (r, c)) in rows.iter_mut().zip(cols.iter_mut()).enumerate() {
            sig[x * width + 2 * k] = r.step(x as u32);
            sig[x * width + 2 * k + 1] = c.step(x as u32);
        }
    }
    // Classes in order of their first atom.
    let mut class_of_sig: HashMap<&[u32], usize> = HashMap::new();
    let mut members: Vec<Vec<(u128, u128)>> = Vec::new();
    let mut rep: Vec<usize> = Vec::new();
    for x in 0..n {
        let key = &sig[x * width..(x + 1) * width];
        let next = members.len();
        let c = *class_of_sig.entry(key).or_insert(next);
        if c == next {
            members.push(Vec::new());
            rep.push(x);
        }
        members[c].push((atoms.starts[x], atoms.ends[x]));
    }
    let classes: Vec<Ranges> = members.into_iter().map(Ranges::from_ranges).collect();
    let mut pairs = Vec::with_capacity(rels.len());
    for (k, r) in rows.iter().enumerate() {
        let mut ps = Vec::new();
        for (a, &xa) in rep.iter().enumerate() {
            let row = sig[xa * width + 2 * k];
            for (b, &xb) in rep.iter().enumerate() {
                if r.bit(row, xb) {
                    ps.push((a, b));
                }
            }
        }
        pairs.push(ps);
    }
    Partition { classes, pairs }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    fn rg(v: &[(u128, u128)]) -> Ranges {
        Ranges::from_ranges(v.to_vec())
    }

    /// Brute force over a small universe: classes by comparing rows and columns of every
    /// relation, as sets of members.
    fn brute(universe: &Ranges, rels: &[Relation]) -> Vec<Vec<u128>> {
        let pts: Vec<u128> = universe.as_slice().iter().flat_map(|&(a, b)| a..=b).collect();
        let sig = |x: u128| -> Vec<bool> {
            let mut v = Vec::new();
            for r in rels {
                for &y in &pts {
                    v.push(r.contains(x, y));
                    v.push(r.contains(y, x));
                }
            }
            v
        };
        let mut classes: Vec<(Vec<bool>, Vec<u128>)> = Vec::new();
        for &x in &pts {
            let s = sig(x);
            match classes.iter_mut().find(|(k, _)| *k == s) {
                Some((_, m)) => m.push(x),
                None => classes.push((s, vec![x])),
            }
        }
        classes.into_iter().map(|(_, m)| m).collect()
    }

    fn members(r: &Ranges) -> Vec<u128> {
        r.as_slice().iter().flat_map(|&(a, b)| a..=b).collect()
    }

    fn check(universe: &Ranges, rels: &[Relation]) -> Result<(), TestCaseError> {
        let p = partition(universe, rels);
        let got: Vec<Vec<u128>> = p.classes.iter().map(members).collect();
        prop_assert_eq!(&got, &brute(universe, rels));
        // Pairs agree with every member pair.
        for (k, rel) in rels.iter().enumerate() {
            for (a, ca) in got.iter().enumerate() {
                for (b, cb) in got.iter().enumerate() {
                    let listed = p.pairs[k].contains(&(a, b));
                    for &x in ca {
                        for &y in cb {
                            prop_assert_eq!(rel.contains(x, y), listed, "relation {} pair {} {}", k, x, y);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn ranges() -> impl Strategy<Value = Ranges> {
        proptest::collection::vec((0u128..24, 0u128..6), 0..3)
            .prop_map(|v| Ranges::from_ranges(v.into_iter().map(|(a, l)| (a, (a + l).min(23))).collect()))
    }

    fn rects() -> impl Strategy<Value = Vec<Rect>> {
        proptest::collection::vec((ranges(), ranges()).prop_map(|(src, dst)| Rect { src, dst }), 0..5)
    }

    fn relation() -> impl Strategy<Value = Relation> {
        (rects(), proptest::collection::vec(proptest::collection::vec(rects(), 0..3), 0..2))
            .prop_map(|(any, all_of)| Relation { any, all_of })
    }

    proptest! {
        #[test]
        fn partition_matches_brute_force(rels in proptest::collection::vec(relation(), 1..3), hole in any::<bool>()) {
            // A universe with a hole, like IPv6 without the IPv4-mapped block.
            let universe = if hole { rg(&[(0, 9), (14, 23)]) } else { rg(&[(0, 23)]) };
            check(&universe, &rels)?;
        }
    }

    #[test]
    fn one_service_one_server() {
        // Everyone may reach 10; 10 may reach nobody.
        let rel = Relation { any: vec![Rect { src: rg(&[(0, 99)]), dst: rg(&[(10, 10)]) }], all_of: vec![] };
        let p = partition(&rg(&[(0, 99)]), &[rel]);
        assert_eq!(p.classes, vec![rg(&[(0, 9), (11, 99)]), rg(&[(10, 10)])]);
        assert_eq!(p.pairs, vec![vec![(0, 1), (1, 1)]]);
    }

    #[test]
    fn all_of_needs_every_alternative() {
        let a = vec![Rect { src: rg(&[(0, 4)]), dst: rg(&[(5, 9)]) }];
        let b = vec![Rect { src: rg(&[(0, 2)]), dst: rg(&[(5, 9)]) }];
        let rel = Relation { any: vec![], all_of: vec![vec![a, b]] };
        let p = partition(&rg(&[(0, 9)]), &[rel]);
        assert_eq!(p.classes, vec![rg(&[(0, 2)]), rg(&[(3, 4)]), rg(&[(5, 9)])]);
        assert_eq!(p.pairs, vec![vec![(0, 2)]]);
    }

    #[test]
    fn full_space_edges() {
        let all = rg(&[(0, u128::MAX)]);
        let rel = Relation { any: vec![Rect { src: rg(&[(u128::MAX, u128::MAX)]), dst: all.clone() }], all_of: vec![] };
        let p = partition(&all, &[rel]);
        assert_eq!(p.classes, vec![rg(&[(0, u128::MAX - 1)]), rg(&[(u128::MAX, u128::MAX)])]);
        assert_eq!(p.pairs, vec![vec![(1, 0), (1, 1)]]);
        assert!(partition(&Ranges::empty(), &[Relation::default()]).classes.is_empty());
    }
}
