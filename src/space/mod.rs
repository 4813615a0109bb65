//! Exact packet sets.
//!
//! A packet is a point in a space of [`NDIMS`] integer dimensions ([`Dim`]): source and
//! destination address (IPv4 mapped into IPv6 as `::ffff:a.b.c.d`, so one dimension holds both
//! families), protocol, ports, ICMP type and code, TCP flags, connection-tracking state, and the
//! input and output interface (device-local ids). A [`Cube`] is a product of per-dimension
//! [`Ranges`]; a [`PacketSet`] is a union of pairwise disjoint cubes. All operations are exact.
//!
//! This module is the only place that knows the representation; the engine uses the API below
//! (union, intersection, difference, emptiness, membership, witness), so the representation can
//! be replaced without touching the analysis.

pub mod dd;
mod ranges;

pub use ranges::Ranges;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Number of header dimensions.
pub const NDIMS: usize = 11;

/// A header dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(usize)]
pub enum Dim {
    /// Source address (IPv4-mapped for IPv4).
    Src = 0,
    /// Destination address.
    Dst = 1,
    /// IP protocol number (IPv6: next header after extension headers).
    Proto = 2,
    /// TCP/UDP/SCTP source port (0 for other protocols).
    Sport = 3,
    /// TCP/UDP/SCTP destination port (0 for other protocols).
    Dport = 4,
    /// ICMP/ICMPv6 type (0 for other protocols).
    IcmpType = 5,
    /// ICMP/ICMPv6 code.
    IcmpCode = 6,
    /// TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128; 0 for non-TCP).
    TcpFlags = 7,
    /// Connection-tracking state, see [`Ct`].
    Ct = 8,
    /// Input interface id (device-local).
    Iif = 9,
    /// Output interface id (device-local).
    Oif = 10,
}

impl Dim {
    /// All dimensions in order.
    pub const ALL: [Dim; NDIMS] = [
        Dim::Src,
        Dim::Dst,
        Dim::Proto,
        Dim::Sport,
        Dim::Dport,
        Dim::IcmpType,
        Dim::IcmpCode,
        Dim::TcpFlags,
        Dim::Ct,
        Dim::Iif,
        Dim::Oif,
    ];

    /// Largest value of the dimension.
    pub const fn max(self) -> u128 {
        match self {
            Dim::Src | Dim::Dst => u128::MAX,
            Dim::Proto | Dim::IcmpType | Dim::IcmpCode | Dim::TcpFlags => 255,
            Dim::Sport | Dim::Dport | Dim::Iif | Dim::Oif => 65535,
            Dim::Ct => Ct::MAX as u128,
        }
    }
}

/// Protocol numbers used by the engine.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// UDP-Lite.
    pub const UDPLITE: u8 = 136;
    /// DCCP.
    pub const DCCP: u8 = 33;

    /// True for protocols whose header carries source and destination ports.
    pub fn has_ports(p: u8) -> bool {
        matches!(p, TCP | UDP | SCTP | UDPLITE | DCCP)
    }
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// Connection-tracking state encoded as a small integer: a base state in the low three bits plus
/// the NAT status of the connection (`ctstate DNAT`/`SNAT` in iptables).
pub struct Ct;

impl Ct {
    /// First packet of a connection.
    pub const NEW: u8 = 0;
    /// Packet of a connection that has seen traffic both ways (replies, later packets).
    pub const ESTABLISHED: u8 = 1;
    /// Packet related to an existing connection (ICMP errors, FTP data).
    pub const RELATED: u8 = 2;
    /// Packet conntrack could not classify.
    pub const INVALID: u8 = 3;
    /// Packet exempted from tracking (raw table NOTRACK).
    pub const UNTRACKED: u8 = 4;
    /// Status bit: the connection's destination was translated.
    pub const DNAT: u8 = 8;
    /// Status bit: the connection's source was translated.
    pub const SNAT: u8 = 16;
    /// Largest encoded value.
    pub const MAX: u8 = 31;

    /// The base state of an encoded value.
    pub fn base(v: u8) -> u8 {
        v & 7
    }

    /// All encoded values whose base state is `base`, with any NAT status.
    pub fn with_base(base: u8) -> Ranges {
        Ranges::from_ranges((0..4u128).map(|s| (s * 8 + base as u128, s * 8 + base as u128)).collect())
    }
}

/// First IPv4-mapped address, `::ffff:0.0.0.0`.
pub const V4_BASE: u128 = 0xffff_0000_0000;
/// Last IPv4-mapped address, `::ffff:255.255.255.255`.
pub const V4_LAST: u128 = 0xffff_ffff_ffff;

/// Encode an address into the address dimension.
pub fn addr_to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => V4_BASE | u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Decode a value of the address dimension.
pub fn u128_to_addr(v: u128) -> IpAddr {
    if (V4_BASE..=V4_LAST).contains(&v) {
        IpAddr::V4(Ipv4Addr::from((v - V4_BASE) as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// The whole address space of one family.
pub fn family_range(v6: bool) -> Ranges {
    if v6 {
        Ranges::range(0, u128::MAX).difference(&Ranges::range(V4_BASE, V4_LAST))
    } else {
        Ranges::range(V4_BASE, V4_LAST)
    }
}

/// The addresses of a prefix.
pub fn prefix_range(net: &ipnet::IpNet) -> Ranges {
    let net = net.trunc();
    let lo = addr_to_u128(net.network());
    let hi = addr_to_u128(net.broadcast());
    Ranges::range(lo, hi)
}

/// One concrete packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Values indexed by [`Dim`].
    pub v: [u128; NDIMS],
}

impl Packet {
    /// A packet with every dimension set to zero.
    pub fn zero() -> Self {
        Packet { v: [0; NDIMS] }
    }

    /// The first packet of a new connection (TCP: a bare SYN).
    pub fn new_flow(src: IpAddr, dst: IpAddr, proto: u8, sport: u16, dport: u16) -> Self {
        let mut p = Packet::zero();
        p.set_addr(Dim::Src, src);
        p.set_addr(Dim::Dst, dst);
        p.v[Dim::Proto as usize] = proto as u128;
        if proto::has_ports(proto) {
            p.v[Dim::Sport as usize] = sport as u128;
            p.v[Dim::Dport as usize] = dport as u128;
        }
        if proto == proto::TCP {
            p.v[Dim::TcpFlags as usize] = tcp_flags::SYN as u128;
        }
        p.v[Dim::Ct as usize] = Ct::NEW as u128;
        p
    }

    /// The value in one dimension.
    pub fn get(&self, d: Dim) -> u128 {
        self.v[d as usize]
    }

    /// Set the value in one dimension.
    pub fn set(&mut self, d: Dim, v: u128) {
        self.v[d as usize] = v;
    }

    /// An address dimension as an address.
    pub fn addr(&self, d: Dim) -> IpAddr {
        u128_to_addr(self.v[d as usize])
    }

    /// Set an address dimension.
    pub fn set_addr(&mut self, d: Dim, a: IpAddr) {
        self.v[d as usize] = addr_to_u128(a);
    }

    /// Protocol number.
    pub fn proto(&self) -> u8 {
        self.v[Dim::Proto as usize] as u8
    }

    /// True if this is an IPv6 packet.
    pub fn is_v6(&self) -> bool {
        !(V4_BASE..=V4_LAST).contains(&self.v[Dim::Src as usize])
    }
}

/// A product of per-dimension sets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cube {
    dims: [Ranges; NDIMS],
    /// Bit `d` set when dimension `d` is not the full range (membership checks skip the rest).
    constrained: u16,
}

impl Cube {
    /// Every packet.
    pub fn full() -> Self {
        Cube { dims: Dim::ALL.map(|d| Ranges::range(0, d.max())), constrained: 0 }
    }

    /// The set in one dimension.
    pub fn get(&self, d: Dim) -> &Ranges {
        &self.dims[d as usize]
    }

    /// True if the dimension is not the full range.
    #[inline]
    pub fn is_constrained(&self, d: Dim) -> bool {
        self.constrained & (1 << d as usize) != 0
    }

    /// Restrict one dimension to (its current set ∩) `r`.
    pub fn restrict(&mut self, d: Dim, r: &Ranges) {
        let i = d as usize;
        self.dims[i] = self.dims[i].intersect(r);
        self.update(d);
    }

    /// Replace one dimension's set.
    pub fn set(&mut self, d: Dim, r: Ranges) {
        self.dims[d as usize] = r;
        self.update(d);
    }

    fn update(&mut self, d: Dim) {
        let i = d as usize;
        let full = self.dims[i].as_slice() == [(0, d.max())];
        if full {
            self.constrained &= !(1 << i);
        } else {
            self.constrained |= 1 << i;
        }
    }

    /// True if the cube holds no packet.
    pub fn is_empty(&self) -> bool {
        self.dims.iter().any(|r| r.is_empty())
    }

    /// True if `p` is in the cube.
    #[inline]
    pub fn contains(&self, p: &Packet) -> bool {
        let mut m = self.constrained;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            if !self.dims[i].contains(p.v[i]) {
                return false;
            }
            m &= m - 1;
        }
        true
    }

    /// Intersection (may be empty).
    pub fn intersect(&self, o: &Cube) -> Cube {
        let mut c = Cube { dims: std::array::from_fn(|i| self.dims[i].intersect(&o.dims[i])), constrained: 0 };
        c.constrained = self.constrained | o.constrained;
        for d in Dim::ALL {
            c.update(d);
        }
        c
    }

    /// True if every packet of the cube is in `o`.
    pub fn is_subset(&self, o: &Cube) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut m = o.constrained;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            if !self.dims[i].is_subset(&o.dims[i]) {
                return false;
            }
            m &= m - 1;
        }
        true
    }

    /// True if the cubes share a packet.
    pub fn intersects(&self, o: &Cube) -> bool {
        let m = self.constrained | o.constrained;
        (0..NDIMS).all(|i| m & (1 << i) == 0 || self.dims[i].intersects(&o.dims[i]))
    }

    /// `self − o` as pairwise disjoint cubes.
    pub fn difference(&self, o: &Cube) -> Vec<Cube> {
        if !self.intersects(o) {
            return vec![self.clone()];
        }
        let mut out = Vec::new();
        let mut rest = self.clone();
        for d in Dim::ALL {
            let i = d as usize;
            if o.constrained & (1 << i) == 0 {
                continue;
            }
            let outside = rest.dims[i].difference(&o.dims[i]);
            if !outside.is_empty() {
                let mut piece = rest.clone();
                piece.set(d, outside);
                out.push(piece);
            }
            let inside = rest.dims[i].intersect(&o.dims[i]);
            rest.set(d, inside);
        }
        out
    }

    /// One packet of the cube, preferring meaningful values (lowest in each dimension).
    pub fn witness(&self) -> Option<Packet> {
        let mut p = Packet::zero();
        for d in Dim::ALL {
            p.v[d as usize] = self.dims[d as usize].first()?;
        }
        Some(p)
    }
}

impl std::fmt::Debug for Cube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Cube");
        for d in Dim::ALL {
            if self.constrained & (1 << d as usize) != 0 {
                s.field(&format!("{d:?}"), &self.dims[d as usize]);
            }
        }
        s.finish()
    }
}

/// A set of packets: a union of pairwise disjoint cubes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketSet {
    cubes: Vec<Cube>,
}

impl PacketSet {
    /// No packet.
    pub fn empty() -> Self {
        PacketSet { cubes: Vec::new() }
    }

    /// Every packet.
    pub fn full() -> Self {
        PacketSet { cubes: vec![Cube::full()] }
    }

    /// The packets of one cube.
    pub fn from_cube(c: Cube) -> Self {
        if c.is_empty() {
            PacketSet::empty()
        } else {
            PacketSet { cubes: vec![c] }
        }
    }

    /// Exactly one packet.
    pub fn point(p: &Packet) -> Self {
        let mut c = Cube::full();
        for d in Dim::ALL {
            c.set(d, Ranges::single(p.v[d as usize]));
        }
        PacketSet { cubes: vec![c] }
    }

    /// Frees the room kept for more cubes (for sets kept long).
    pub fn shrink_to_fit(&mut self) {
        self.cubes.shrink_to_fit();
    }

    /// The disjoint cubes.
    pub fn cubes(&self) -> &[Cube] {
        &self.cubes
    }

    /// True if the set holds no packet.
    pub fn is_empty(&self) -> bool {
        self.cubes.is_empty()
    }

    /// True if `p` is in the set.
    pub fn contains(&self, p: &Packet) -> bool {
        self.cubes.iter().any(|c| c.contains(p))
    }

    /// Intersection with one cube.
    pub fn intersect_cube(&self, c: &Cube) -> PacketSet {
        let cubes = self.cubes.iter().filter(|x| x.intersects(c)).map(|x| x.intersect(c)).filter(|x| !x.is_empty()).collect();
        PacketSet { cubes }
    }

    /// Intersection.
    pub fn intersect(&self, o: &PacketSet) -> PacketSet {
        let mut cubes = Vec::new();
        for a in &self.cubes {
            for b in &o.cubes {
                if a.intersects(b) {
                    let c = a.intersect(b);
                    if !c.is_empty() {
                        cubes.push(c);
                    }
                }
            }
        }
        PacketSet { cubes }
    }

    /// `self − c`.
    pub fn subtract_cube(&self, c: &Cube) -> PacketSet {
        let mut cubes = Vec::with_capacity(self.cubes.len());
        for a in &self.cubes {
            cubes.extend(a.difference(c));
        }
        PacketSet { cubes }
    }

    /// `self −= c`, in place: cubes disjoint from `c` are moved, not copied (same cubes, in the
    /// same order, as [`PacketSet::subtract_cube`]).
    pub fn subtract_cube_in_place(&mut self, c: &Cube) {
        if !self.cubes.iter().any(|a| a.intersects(c)) {
            return;
        }
        let mut out = Vec::with_capacity(self.cubes.len() + 4);
        for a in self.cubes.drain(..) {
            if a.intersects(c) {
                out.extend(a.difference(c));
            } else {
                out.push(a);
            }
        }
        self.cubes = out;
    }

    /// The disjoint cubes, taken out of the set.
    pub fn into_cubes(self) -> Vec<Cube> {
        self.cubes
    }

    /// A set from cubes the caller knows to be pairwise disjoint (empty cubes are dropped).
    pub fn from_disjoint_cubes(mut cubes: Vec<Cube>) -> PacketSet {
        cubes.retain(|c| !c.is_empty());
        PacketSet { cubes }
    }

    /// Take the packets of `o` out of the set and return them: `self ∩ o` (the same cubes, in
    /// the same order, as [`PacketSet::intersect`]), leaving `self − o`. A set of one cube inside
    /// one of `o`'s cubes is moved whole.
    pub fn take(&mut self, o: &PacketSet) -> PacketSet {
        if let [c] = self.cubes.as_slice() {
            if o.cubes.iter().any(|b| c.is_subset(b)) {
                return std::mem::take(self);
            }
        }
        let taken = self.intersect(o);
        self.subtract(o);
        taken
    }

    /// `self −= o`, in place.
    pub fn subtract(&mut self, o: &PacketSet) {
        for c in &o.cubes {
            if self.is_empty() {
                break;
            }
            self.subtract_cube_in_place(c);
        }
    }

    /// `self − o`.
    pub fn difference(&self, o: &PacketSet) -> PacketSet {
        let mut cur = self.clone();
        cur.subtract(o);
        cur
    }

    /// Union.
    pub fn union(&self, o: &PacketSet) -> PacketSet {
        let mut out = self.clone();
        out.cubes.extend(o.difference(self).cubes);
        out
    }

    /// Add the packets of `o`, which the caller knows to be disjoint from `self` (no
    /// difference is computed: the cubes are appended).
    pub fn extend_disjoint(&mut self, o: PacketSet) {
        debug_assert!(
            self.cubes.len() * o.cubes.len() > 4096 || !self.cubes.iter().any(|a| o.cubes.iter().any(|b| a.intersects(b))),
            "extend_disjoint: the sets overlap"
        );
        if self.cubes.is_empty() {
            self.cubes = o.cubes;
        } else {
            self.cubes.extend(o.cubes);
        }
    }

    /// True if every packet of `self` is in `o`.
    pub fn is_subset(&self, o: &PacketSet) -> bool {
        self.difference(o).is_empty()
    }

    /// True if the sets hold the same packets.
    pub fn same_as(&self, o: &PacketSet) -> bool {
        self.is_subset(o) && o.is_subset(self)
    }

    /// Restrict one dimension of every packet.
    pub fn restrict(&self, d: Dim, r: &Ranges) -> PacketSet {
        let mut c = Cube::full();
        c.set(d, r.clone());
        self.intersect_cube(&c)
    }

    /// The set of values one dimension takes over the set.
    pub fn project(&self, d: Dim) -> Ranges {
        self.cubes.iter().fold(Ranges::empty(), |acc, c| acc.union(c.get(d)))
    }

    /// One packet of the set, if any.
    pub fn witness(&self) -> Option<Packet> {
        self.cubes.iter().find_map(|c| c.witness())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    // Small domains: every dimension restricted to 0..4 so brute force can enumerate 4^3 points
    // over three dimensions (the rest stay at zero).
    const DIMS: [Dim; 3] = [Dim::Src, Dim::Dport, Dim::Ct];

    fn cube() -> impl Strategy<Value = Cube> {
        proptest::collection::vec((0u128..4, 0u128..4, any::<bool>()), 3).prop_map(|v| {
            let mut c = Cube::full();
            for (d, (a, b, neg)) in DIMS.iter().zip(v) {
                let r = Ranges::range(a.min(b), a.max(b));
                let r = if neg { r.complement_within(0, 3) } else { r };
                c.restrict(*d, &r);
            }
            c
        })
    }

    fn set() -> impl Strategy<Value = PacketSet> {
        proptest::collection::vec(cube(), 0..4)
            .prop_map(|cs| cs.into_iter().fold(PacketSet::empty(), |acc, c| acc.union(&PacketSet::from_cube(c))))
    }

    fn points() -> Vec<Packet> {
        let mut out = Vec::new();
        for a in 0..4 {
            for b in 0..4 {
                for c in 0..4 {
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

    fn members(s: &PacketSet) -> Vec<bool> {
        points().iter().map(|p| s.contains(p)).collect()
    }

    fn disjoint(s: &PacketSet) -> bool {
        let cs = s.cubes();
        (0..cs.len()).all(|i| (i + 1..cs.len()).all(|j| !cs[i].intersects(&cs[j])))
    }

    proptest! {
        #[test]
        fn set_algebra_matches_brute_force(a in set(), b in set()) {
            let (ma, mb) = (members(&a), members(&b));
            let u = a.union(&b);
            let i = a.intersect(&b);
            let d = a.difference(&b);
            prop_assert!(disjoint(&u) && disjoint(&i) && disjoint(&d));
            prop_assert_eq!(members(&u), ma.iter().zip(&mb).map(|(x, y)| *x || *y).collect::<Vec<_>>());
            prop_assert_eq!(members(&i), ma.iter().zip(&mb).map(|(x, y)| *x && *y).collect::<Vec<_>>());
            prop_assert_eq!(members(&d), ma.iter().zip(&mb).map(|(x, y)| *x && !*y).collect::<Vec<_>>());
            // a ⊆ b ⇔ a − b = ∅
            prop_assert_eq!(a.is_subset(&b), ma.iter().zip(&mb).all(|(x, y)| !*x || *y));
            // double complement
            let full = PacketSet::full();
            prop_assert!(full.difference(&full.difference(&a)).same_as(&a));
            // witness is a member
            if let Some(w) = a.witness() { prop_assert!(a.contains(&w)); } else { prop_assert!(a.is_empty()); }
        }

        /// `take` gives the intersection's cubes and leaves the difference's, also when it
        /// moves a cube whole; cube inclusion agrees with membership.
        #[test]
        fn take_splits_like_intersect_and_difference(a in cube(), b in set(), c in cube()) {
            for mut x in [PacketSet::from_cube(a.clone()), b.clone()] {
                let (i, d) = (x.intersect(&b), x.difference(&b));
                let taken = x.take(&b);
                prop_assert_eq!(taken.cubes(), i.cubes());
                prop_assert_eq!(x.cubes(), d.cubes());
            }
            let (pa, pc) = (PacketSet::from_cube(a.clone()), PacketSet::from_cube(c.clone()));
            prop_assert_eq!(a.is_subset(&c), members(&pa).iter().zip(members(&pc)).all(|(x, y)| !*x || y));
        }
    }

    #[test]
    fn v4_mapping_round_trips() {
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(u128_to_addr(addr_to_u128(a)), a);
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(u128_to_addr(addr_to_u128(b)), b);
        let net: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
        let r = prefix_range(&net);
        assert!(r.contains(addr_to_u128("10.255.0.1".parse().unwrap())));
        assert!(!r.contains(addr_to_u128("11.0.0.0".parse().unwrap())));
    }
}
