//! Sets of integers as sorted, disjoint, non-adjacent inclusive ranges.

use std::fmt;

use smallvec::SmallVec;

/// The ranges of one set. Most sets in rules and packet classes are one range, kept inline:
/// copying a cube (a range set per header dimension) then allocates nothing.
type Inner = SmallVec<[(u128, u128); 1]>;

/// A set of `u128` values stored as sorted, disjoint, non-adjacent inclusive ranges.
///
/// The canonical form makes equality structural: two `Ranges` are equal iff they hold the same
/// values.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Ranges(Inner);

impl Ranges {
    /// The empty set.
    pub const fn empty() -> Self {
        Ranges(SmallVec::new_const())
    }

    /// All values in `lo..=hi` (empty if `lo > hi`).
    pub fn range(lo: u128, hi: u128) -> Self {
        if lo > hi {
            Ranges::empty()
        } else {
            Ranges(SmallVec::from_buf([(lo, hi)]))
        }
    }

    /// The single value `v`.
    pub fn single(v: u128) -> Self {
        Ranges(SmallVec::from_buf([(v, v)]))
    }

    /// Build from arbitrary (possibly overlapping, unsorted) inclusive ranges.
    pub fn from_ranges(mut rs: Vec<(u128, u128)>) -> Self {
        rs.retain(|(a, b)| a <= b);
        rs.sort_unstable();
        let mut out: Inner = SmallVec::with_capacity(rs.len());
        for (a, b) in rs {
            if let Some(last) = out.last_mut() {
                if a <= last.1.saturating_add(1) {
                    if b > last.1 {
                        last.1 = b;
                    }
                    continue;
                }
            }
            out.push((a, b));
        }
        Ranges(out)
    }

    /// The ranges, sorted and disjoint.
    pub fn as_slice(&self) -> &[(u128, u128)] {
        &self.0
    }

    /// True if the set holds no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if `v` is in the set.
    pub fn contains(&self, v: u128) -> bool {
        // Ranges are usually one or two entries: a linear scan beats binary search there.
        if self.0.len() <= 4 {
            return self.0.iter().any(|&(a, b)| a <= v && v <= b);
        }
        match self.0.binary_search_by(|&(a, _)| a.cmp(&v)) {
            Ok(_) => true,
            Err(0) => false,
            Err(i) => self.0[i - 1].1 >= v,
        }
    }

    /// Smallest value, if any.
    pub fn first(&self) -> Option<u128> {
        self.0.first().map(|r| r.0)
    }

    /// Number of values (saturating).
    pub fn count(&self) -> u128 {
        self.0.iter().fold(0u128, |acc, &(a, b)| acc.saturating_add((b - a).saturating_add(1)))
    }

    /// True if every value of `self` is in `other`.
    pub fn is_subset(&self, other: &Ranges) -> bool {
        // Both are canonical (non-adjacent), so each range of `self` lies in one of `other`.
        let mut j = 0;
        self.0.iter().all(|&(a, b)| {
            while other.0.get(j).is_some_and(|r| r.1 < a) {
                j += 1;
            }
            other.0.get(j).is_some_and(|&(c, d)| c <= a && b <= d)
        })
    }

    /// Union.
    pub fn union(&self, other: &Ranges) -> Ranges {
        if self.0.is_empty() {
            return other.clone();
        }
        if other.0.is_empty() {
            return self.clone();
        }
        let mut v = Vec::with_capacity(self.0.len() + other.0.len());
        v.extend_from_slice(&self.0);
        v.extend_from_slice(&other.0);
        Ranges::from_ranges(v)
    }

    /// Intersection.
    pub fn intersect(&self, other: &Ranges) -> Ranges {
        // A few ranges against many (the ports asked of one address against every port asked):
        // each of the few finds its place in the many by binary search.
        let (few, many) = if self.0.len() <= other.0.len() { (&self.0, &other.0) } else { (&other.0, &self.0) };
        if many.len() > 8 * few.len().max(1) {
            let mut out = Inner::new();
            for &(a, b) in few.iter() {
                let from = many.partition_point(|r| r.1 < a);
                for &(c, d) in many[from..].iter().take_while(|r| r.0 <= b) {
                    out.push((a.max(c), b.min(d)));
                }
            }
            return Ranges(out);
        }
        let (mut i, mut j) = (0, 0);
        let mut out = Inner::new();
        while i < self.0.len() && j < other.0.len() {
            let (a1, b1) = self.0[i];
            let (a2, b2) = other.0[j];
            let lo = a1.max(a2);
            let hi = b1.min(b2);
            if lo <= hi {
                out.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Ranges(out)
    }

    /// True if the two sets share a value.
    pub fn intersects(&self, other: &Ranges) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a1, b1) = self.0[i];
            let (a2, b2) = other.0[j];
            if a1.max(a2) <= b1.min(b2) {
                return true;
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    /// Values of `self` not in `other`.
    pub fn difference(&self, other: &Ranges) -> Ranges {
        let mut out = Inner::new();
        let mut j = 0;
        for &(a, b) in &self.0 {
            let mut lo = a;
            let mut done = false;
            while j < other.0.len() && other.0[j].1 < lo {
                j += 1;
            }
            let mut k = j;
            while k < other.0.len() && other.0[k].0 <= b {
                let (c, d) = other.0[k];
                if c > lo {
                    out.push((lo, c - 1));
                }
                if d >= b {
                    done = true;
                    break;
                }
                lo = d + 1;
                k += 1;
            }
            if !done {
                out.push((lo, b));
            }
        }
        Ranges(out)
    }

    /// The complement within `lo..=hi`.
    pub fn complement_within(&self, lo: u128, hi: u128) -> Ranges {
        Ranges::range(lo, hi).difference(self)
    }
}

impl fmt::Debug for Ranges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    fn small() -> impl Strategy<Value = Ranges> {
        proptest::collection::vec((0u128..40, 0u128..8), 0..5)
            .prop_map(|v| Ranges::from_ranges(v.into_iter().map(|(a, l)| (a, a + l)).collect()))
    }

    fn members(r: &Ranges) -> Vec<u128> {
        (0..64).filter(|&v| r.contains(v)).collect()
    }

    #[test]
    fn canonical_merges_adjacent() {
        let r = Ranges::from_ranges(vec![(5, 7), (1, 2), (3, 4), (10, 10)]);
        assert_eq!(r.as_slice(), &[(1, 7), (10, 10)]);
    }

    #[test]
    fn difference_splits() {
        let r = Ranges::range(0, 10).difference(&Ranges::from_ranges(vec![(2, 3), (5, 5)]));
        assert_eq!(r.as_slice(), &[(0, 1), (4, 4), (6, 10)]);
    }

    #[test]
    fn extremes_do_not_overflow() {
        let all = Ranges::range(0, u128::MAX);
        assert!(all.difference(&all).is_empty());
        let top = Ranges::single(u128::MAX);
        assert_eq!(all.difference(&top).as_slice(), &[(0, u128::MAX - 1)]);
        assert_eq!(Ranges::from_ranges(vec![(0, u128::MAX), (5, u128::MAX)]), all);
    }

    proptest! {
        #[test]
        fn algebra_matches_brute_force(a in small(), b in small()) {
            let ma = members(&a);
            let mb = members(&b);
            let u: Vec<u128> = (0..64).filter(|v| ma.contains(v) || mb.contains(v)).collect();
            let i: Vec<u128> = (0..64).filter(|v| ma.contains(v) && mb.contains(v)).collect();
            let d: Vec<u128> = (0..64).filter(|v| ma.contains(v) && !mb.contains(v)).collect();
            prop_assert_eq!(members(&a.union(&b)), u);
            prop_assert_eq!(members(&a.intersect(&b)), i.clone());
            prop_assert_eq!(members(&a.difference(&b)), d);
            prop_assert_eq!(a.intersects(&b), !i.is_empty());
            // canonical form: equal sets are equal values
            prop_assert_eq!(a.union(&b), b.union(&a));
            prop_assert_eq!(a.complement_within(0, 63).complement_within(0, 63), a.intersect(&Ranges::range(0, 63)));
            prop_assert_eq!(a.is_subset(&b), a.difference(&b).is_empty());
        }

        /// A few ranges against many (found by binary search) intersect like any two sets.
        #[test]
        fn few_against_many_intersect_like_brute_force(
            a in small(),
            many in proptest::collection::vec((0u128..60, 0u128..2), 9..40),
        ) {
            let b = Ranges::from_ranges(many.into_iter().map(|(x, l)| (x, x + l)).collect());
            let i: Vec<u128> = (0..64).filter(|&v| a.contains(v) && b.contains(v)).collect();
            prop_assert_eq!(members(&a.intersect(&b)), i.clone());
            prop_assert_eq!(members(&b.intersect(&a)), i);
            prop_assert_eq!(a.intersect(&b), b.intersect(&a));
            // The canonical form: what the merge of the two lists gives.
            prop_assert_eq!(a.intersect(&b), Ranges::from_ranges(a.intersect(&b).as_slice().to_vec()));
        }
    }
}
