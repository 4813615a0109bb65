use super::*;
use proptest::prelude::*;

// Three dimensions at different depths of ORDER (Iif first, Dst in the middle, TcpFlags last),
// each drawn from the values of `vals` or negated up to the dimension's maximum; membership is
// checked on those values and the maximum of each. The address's values straddle 2⁶⁴ − 1, where
// a node's intervals move from the narrow arena to the wide one.
const DIMS: [Dim; 3] = [Dim::Iif, Dim::Dst, Dim::TcpFlags];

fn vals(d: Dim) -> [u128; 8] {
    const W: u128 = u64::MAX as u128;
    if d == Dim::Dst {
        [0, 1, 2, 3, W - 1, W, W + 1, u128::MAX - 1]
    } else {
        [0, 1, 2, 3, 4, 5, 6, 7]
    }
}

fn cube() -> impl Strategy<Value = Cube> {
    proptest::collection::vec((0usize..8, 0usize..8, any::<bool>(), any::<bool>()), 3).prop_map(|v| {
        let mut c = Cube::full();
        for (d, (a, b, neg, skip)) in DIMS.iter().zip(v) {
            if skip {
                continue;
            }
            let (a, b) = (vals(*d)[a.min(b)], vals(*d)[a.max(b)]);
            let r = Ranges::range(a, b);
            let r = if neg { r.complement_within(0, Dim::max(*d)) } else { r };
            c.restrict(*d, &r);
        }
        c
    })
}

fn set() -> impl Strategy<Value = PacketSet> {
    proptest::collection::vec(cube(), 0..5)
        .prop_map(|cs| cs.into_iter().fold(PacketSet::empty(), |acc, c| acc.union(&PacketSet::from_cube(c))))
}

fn points() -> Vec<Packet> {
    let vals = |d: Dim| vals(d).into_iter().chain([d.max()]);
    let mut out = Vec::new();
    for a in vals(DIMS[0]) {
        for b in vals(DIMS[1]) {
            for c in vals(DIMS[2]) {
                let mut p = Packet::zero();
                p.set(DIMS[0], a);
                p.set(DIMS[1], b);
                p.set(DIMS[2], c);
                out.push(p);
            }
        }
    }
    out
}

fn same(dd: &Dd, s: Set, p: &PacketSet) -> bool {
    points().iter().all(|x| dd.contains(s, x) == p.contains(x)) && dd.to_packet_set(s).same_as(p)
}

proptest! {
    #[test]
    fn round_trip(a in set()) {
        let mut dd = Dd::new();
        let s = dd.from_packet_set(&a);
        prop_assert!(same(&dd, s, &a));
        prop_assert_eq!(s.is_empty(), a.is_empty());
    }

    #[test]
    fn cube_rows_are_the_cubes_in_order(a in set(), b in set()) {
        // One `Parts` for several sets of one manager, as the findings use it: rows read back
        // as exactly the cubes `to_packet_set` gives, in the same order.
        let mut dd = Dd::new();
        let mut parts = Parts::default();
        let x = dd.from_packet_set(&a);
        let y = dd.from_packet_set(&b);
        let u = dd.or(x, y);
        for s in [x, y, u, x] {
            let rows: Vec<Cube> = dd.cube_rows(s, &mut parts).iter().map(|r| parts.cube(r)).collect();
            let cubes = dd.to_packet_set(s);
            prop_assert_eq!(&rows, cubes.cubes());
        }
    }

    #[test]
    fn operations_agree_with_cubes(a in set(), b in set()) {
        let mut dd = Dd::new();
        let (x, y) = (dd.from_packet_set(&a), dd.from_packet_set(&b));
        // Before and after the intersection and the differences are in the operation cache.
        prop_assert_eq!(dd.is_subset(x, y), a.is_subset(&b));
        prop_assert_eq!(dd.is_subset(y, x), b.is_subset(&a));
        let u = dd.or(x, y);
        prop_assert!(dd.is_subset(x, u) && dd.is_subset(y, u));
        prop_assert_eq!(dd.is_subset(u, x), b.is_subset(&a));
        prop_assert_eq!(dd.meets(x, y), !a.intersect(&b).is_empty());
        let and = dd.and(x, y);
        prop_assert_eq!(dd.meets(y, x), !and.is_empty());
        let or = dd.or(x, y);
        let diff = dd.diff(x, y);
        prop_assert!(same(&dd, and, &a.intersect(&b)));
        prop_assert!(same(&dd, or, &a.union(&b)));
        prop_assert!(same(&dd, diff, &a.difference(&b)));
        prop_assert_eq!(dd.is_subset(x, y), a.is_subset(&b));
        prop_assert_eq!(dd.is_subset(y, x), b.is_subset(&a));
    }

    #[test]
    fn canonical(a in set(), b in set()) {
        let mut dd = Dd::new();
        let (x, y) = (dd.from_packet_set(&a), dd.from_packet_set(&b));
        // Equal sets built different ways are the same node.
        let xy = dd.or(x, y);
        let yx = dd.or(y, x);
        prop_assert_eq!(xy, yx);
        let inside = dd.and(x, y);
        let outside = dd.diff(x, y);
        let back = dd.or(outside, inside);
        prop_assert_eq!(back, x);
        // Built in another manager from the cubes of the result: same node count.
        let mut other = Dd::new();
        let z = other.from_packet_set(&dd.to_packet_set(xy));
        prop_assert_eq!(dd.to_packet_set(xy).cubes().len(), other.to_packet_set(z).cubes().len());
        prop_assert_eq!(a.same_as(&b), x == y);
    }

    #[test]
    fn projections_and_restrictions_agree_with_cubes(a in set(), lo in 0u128..5, len in 0u128..3) {
        let mut dd = Dd::new();
        let x = dd.from_packet_set(&a);
        let r = Ranges::range(lo, lo + len);
        for d in Dim::ALL {
            prop_assert_eq!(dd.project(x, d), a.project(d), "projection on {:?}", d);
            let y = dd.cube(&{ let mut c = Cube::full(); c.set(d, r.clone()); c });
            prop_assert_eq!(dd.meets(x, y), !a.restrict(d, &r).is_empty(), "meets on {:?}", d);
            let got = dd.restrict(x, d, &r);
            prop_assert!(same(&dd, got, &a.restrict(d, &r)), "restriction on {:?}", d);
        }
    }

    #[test]
    fn witness_is_a_member(a in set()) {
        let mut dd = Dd::new();
        let s = dd.from_packet_set(&a);
        match dd.witness(s) {
            Some(p) => prop_assert!(a.contains(&p)),
            None => prop_assert!(a.is_empty()),
        }
    }

    /// The witness of an intersection found without building it is the witness of the
    /// intersection built.
    #[test]
    fn witness_of_an_intersection_unbuilt(a in set(), b in set()) {
        let mut dd = Dd::new();
        let (x, y) = (dd.from_packet_set(&a), dd.from_packet_set(&b));
        let got = dd.witness_and(x, y);
        let both = dd.and(x, y);
        prop_assert_eq!(got, dd.witness(both));
    }

    /// A release drops what was made after its mark and nothing before: the older sets keep
    /// their packets, ids the dropped nodes had are given to other sets, and neither the unique
    /// table nor the operation cache answers with a dropped node.
    #[test]
    fn release_keeps_the_older_sets(a in set(), b in set(), c in set(), e in set()) {
        let mut dd = Dd::new();
        let (x, y) = (dd.from_packet_set(&a), dd.from_packet_set(&b));
        let before = dd.nodes();
        let mark = dd.mark();
        // Made and cached after the mark, then dropped.
        let z = dd.from_packet_set(&c);
        let _ = (dd.and(x, z), dd.or(y, z), dd.diff(z, x), dd.meets(x, z), dd.is_subset(z, y), dd.and(x, y));
        dd.release(mark);
        prop_assert_eq!(dd.nodes(), before);
        prop_assert_eq!(dd.mark(), mark);
        // New sets take the freed ids.
        let w = dd.from_packet_set(&e);
        let z = dd.from_packet_set(&c);
        for (s, p) in [(x, &a), (y, &b), (z, &c), (w, &e)] {
            prop_assert!(same(&dd, s, p));
            // Hash-consing still finds every node: making the set again gives the same id.
            prop_assert_eq!(dd.from_packet_set(p), s);
        }
        let and = dd.and(x, y);
        prop_assert!(same(&dd, and, &a.intersect(&b)));
        let and = dd.and(x, z);
        prop_assert!(same(&dd, and, &a.intersect(&c)));
        let or = dd.or(y, z);
        prop_assert!(same(&dd, or, &b.union(&c)));
        let diff = dd.diff(z, x);
        prop_assert!(same(&dd, diff, &c.difference(&a)));
        prop_assert_eq!(dd.meets(x, w), !a.intersect(&e).is_empty());
        prop_assert_eq!(dd.is_subset(z, y), c.is_subset(&b));
        prop_assert_eq!(dd.is_subset(w, x), e.is_subset(&a));
    }

    /// Rows read with one `Parts` across releases (as a device's findings read them) are the
    /// cubes of the sets at the time.
    #[test]
    fn rows_across_releases(a in set(), b in set(), c in set()) {
        let mut dd = Dd::new();
        let mut parts = Parts::default();
        let x = dd.from_packet_set(&a);
        let rows = |dd: &Dd, parts: &mut Parts, s: Set| -> Vec<Cube> {
            dd.cube_rows(s, parts).iter().map(|r| parts.cube(r)).collect()
        };
        let _ = rows(&dd, &mut parts, x);
        for other in [&b, &c] {
            let (mark, pm) = (dd.mark(), parts.mark());
            let y = dd.from_packet_set(other);
            let u = dd.or(x, y);
            for s in [y, u, x] {
                let cubes = dd.to_packet_set(s);
                prop_assert_eq!(&rows(&dd, &mut parts, s), cubes.cubes());
            }
            dd.release(mark);
            parts.release(pm);
        }
        let y = dd.from_packet_set(&c);
        let d = dd.diff(y, x);
        for s in [d, y, x] {
            let cubes = dd.to_packet_set(s);
            prop_assert_eq!(&rows(&dd, &mut parts, s), cubes.cubes());
        }
    }

    /// Several sets tested together without building their intersection: they meet exactly
    /// when the intersection built holds a packet, and the witness is the built one's.
    #[test]
    fn intersections_of_several_unbuilt(a in set(), b in set(), c in set(), d in set()) {
        let mut dd = Dd::new();
        let t: Vec<Set> = [&a, &b, &c, &d].iter().map(|x| dd.from_packet_set(x)).collect();
        for k in 0..=t.len() {
            let all = t[..k].iter().fold(Set::FULL, |acc, &x| dd.and(acc, x));
            prop_assert_eq!(dd.meets_all(&t[..k]), !all.is_empty());
            prop_assert_eq!(dd.witness_all(&t[..k]), dd.witness(all));
        }
    }
}

#[test]
fn an_intersection_within_a_budget_stops_without_harm() {
    let mut dd = Dd::new();
    let sets: Vec<Set> = (0..40u128)
        .map(|k| {
            let mut c = Cube::full();
            c.set(Dim::Dst, Ranges::from_ranges(vec![(k, k + 3), (100 + 7 * k, 104 + 7 * k)]));
            c.set(Dim::Dport, Ranges::range(k * 10, k * 10 + 50));
            dd.cube(&c)
        })
        .collect();
    let a = sets.iter().skip(1).fold(sets[0], |acc, &x| dd.or(acc, x));
    let b = sets.iter().rev().skip(1).fold(sets[1], |acc, &x| dd.diff(x, acc));
    // A budget too small stops; the manager then still gives the right answers.
    let mut fresh = Dd::new();
    let (fa, fb) = (fresh.from_packet_set(&dd.to_packet_set(a)), fresh.from_packet_set(&dd.to_packet_set(b)));
    assert_eq!(fresh.and_within(&[fa, fb], 0), None);
    let both = fresh.and(fa, fb);
    assert!(fresh.to_packet_set(both).same_as(&dd.to_packet_set(a).intersect(&dd.to_packet_set(b))));
    // A budget large enough gives the intersection.
    assert_eq!(fresh.and_within(&[fa, fb], 1 << 20), Some(both));
    assert_eq!(fresh.and_within(&[], 0), Some(Set::FULL));
}

#[test]
fn terminals_and_full_ranges() {
    let mut dd = Dd::new();
    assert_eq!(dd.cube(&Cube::full()), Set::FULL);
    assert_eq!(dd.from_packet_set(&PacketSet::empty()), Set::EMPTY);
    let mut c = Cube::full();
    c.restrict(Dim::Src, &Ranges::range(0, u128::MAX));
    assert_eq!(dd.cube(&c), Set::FULL);
    c.restrict(Dim::Dport, &Ranges::range(22, 22));
    let s = dd.cube(&c);
    let not = dd.diff(Set::FULL, s);
    assert_eq!(dd.or(s, not), Set::FULL);
    assert_eq!(dd.and(s, not), Set::EMPTY);
    let w = dd.witness(not).unwrap();
    assert_eq!(w.get(Dim::Dport), 0);
    assert!(dd.contains(s, &{
        let mut p = Packet::zero();
        p.set(Dim::Dport, 22);
        p
    }));
    // A prefix is one node, whatever the address width.
    let before = dd.nodes();
    let mut p = Cube::full();
    p.restrict(Dim::Dst, &crate::space::prefix_range(&"10.0.0.0/8".parse().unwrap()));
    dd.cube(&p);
    assert_eq!(dd.nodes(), before + 1);
}
