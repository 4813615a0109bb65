//! Readable descriptions of packet classes: addresses as the fewest CIDRs, ports as ranges.

use crate::report::FlowSpec;
use crate::space::{self, proto};

/// One class of packets treated alike: a product of ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// Source addresses.
    pub src: (u128, u128),
    /// Destination addresses.
    pub dst: (u128, u128),
    /// Protocols.
    pub proto: (u128, u128),
    /// Source ports.
    pub sport: (u128, u128),
    /// Destination ports (or ICMP types).
    pub dport: (u128, u128),
    /// The protocols carry ports.
    pub has_ports: bool,
    /// The protocols are ICMP.
    pub icmp: bool,
}

/// Protocol name.
pub fn proto_name(p: u8) -> String {
    match p {
        proto::TCP => "tcp".into(),
        proto::UDP => "udp".into(),
        proto::ICMP => "icmp".into(),
        proto::ICMPV6 => "icmpv6".into(),
        proto::SCTP => "sctp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        n => format!("protocol {n}"),
    }
}

/// The fewest CIDR blocks covering exactly `lo..=hi` of the address dimension.
pub fn cidrs(lo: u128, hi: u128) -> Vec<String> {
    cidr_blocks(lo, hi).map(|b| b.to_string()).collect()
}

/// One CIDR block of [`cidr_blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// First address (in the model's 128-bit space).
    pub first: u128,
    /// Prefix length within the family.
    pub len: u32,
    /// Family width: 32 for IPv4, 128 for IPv6.
    pub width: u32,
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.width == 32 && (space::V4_BASE..=space::V4_LAST).contains(&self.first) {
            // IPv4, written digit by digit (the findings' texts write hundreds of thousands of
            // blocks): the same text as `Ipv4Addr`'s, then `/len` unless a single address.
            let mut buf = [0u8; 18];
            let mut n = 0;
            for (k, o) in (((self.first - space::V4_BASE) as u32).to_be_bytes()).into_iter().enumerate() {
                if k > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                n += decimal(&mut buf[n..], o as u32);
            }
            if self.len != self.width {
                buf[n] = b'/';
                n += 1;
                n += decimal(&mut buf[n..], self.len);
            }
            return f.write_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
        }
        let addr = space::u128_to_addr(self.first);
        if self.len == self.width {
            write!(f, "{addr}")
        } else {
            write!(f, "{addr}/{}", self.len)
        }
    }
}

/// Write `v` (below 1,000) in decimal at the start of `out`; the number of digits written.
fn decimal(out: &mut [u8], v: u32) -> usize {
    let digits = [(v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8];
    let skip = if v >= 100 { 0 } else if v >= 10 { 1 } else { 2 };
    for (k, d) in digits[skip..].iter().enumerate() {
        out[k] = b'0' + d;
    }
    3 - skip
}

/// The fewest CIDR blocks covering exactly `lo..=hi` (one family), in address order, without
/// making their texts.
pub fn cidr_blocks(lo: u128, hi: u128) -> impl Iterator<Item = Block> {
    let v4 = (space::V4_BASE..=space::V4_LAST).contains(&lo) && hi <= space::V4_LAST;
    let (base, width) = if v4 { (space::V4_BASE, 32u32) } else { (0, 128u32) };
    let mut next = Some(lo - base);
    let end = hi - base;
    std::iter::from_fn(move || {
        let cur = next?;
        // Largest block starting at `cur` that fits: aligned there (`align` low bits free),
        // and no larger than the room left (the largest `s` with 2^s − 1 ≤ `end − cur`).
        let align = if cur == 0 { width } else { cur.trailing_zeros().min(width) };
        let fit = (end - cur).checked_add(1).map_or(128, |n| 127 - n.leading_zeros());
        let size_bits = align.min(fit);
        let span = if size_bits >= 128 { u128::MAX } else { (1u128 << size_bits) - 1 };
        next = cur.checked_add(span).and_then(|l| l.checked_add(1)).filter(|&n| n <= end);
        Some(Block { first: cur + base, len: width - size_bits, width })
    })
}

/// An address range in the fewest words: a CIDR list when short, else `first-last`.
pub fn addr_range(lo: u128, hi: u128) -> String {
    let v4 = space::family_range(false);
    let v6 = space::family_range(true);
    let all = v4.union(&v6);
    if all.as_slice().first() == Some(&(lo, hi)) && all.as_slice().len() == 1 {
        return "any".into();
    }
    if (lo, hi) == (space::V4_BASE, space::V4_LAST) {
        return "0.0.0.0/0".into();
    }
    let c = cidrs(lo, hi);
    if c.len() <= 3 {
        c.join(", ")
    } else {
        format!("{}-{}", space::u128_to_addr(lo), space::u128_to_addr(hi))
    }
}

fn port_range(a: u128, b: u128) -> String {
    if a == b {
        a.to_string()
    } else if a == 0 && b == 65535 {
        "any".into()
    } else {
        format!("{a}-{b}")
    }
}

/// Merge classes that differ in one dimension only, where their ranges touch, until none do;
/// the merged classes keep the order of their first members.
///
/// One dimension at a time: the classes are sorted by every other dimension and then by that
/// one, so that the classes that may merge in it are neighbours (n log n per sweep, where
/// comparing every pair was cubic in the number of classes).
fn merge(cs: Vec<Class>) -> Vec<Class> {
    fn dims(c: &Class) -> [(u128, u128); 5] {
        [c.src, c.dst, c.proto, c.sport, c.dport]
    }
    fn set(c: &mut Class, k: usize, v: (u128, u128)) {
        match k {
            0 => c.src = v,
            1 => c.dst = v,
            2 => c.proto = v,
            3 => c.sport = v,
            _ => c.dport = v,
        }
    }
    let mut cs: Vec<(usize, Class)> = cs.into_iter().enumerate().collect();
    loop {
        let before = cs.len();
        for k in 0..5 {
            let key = |c: &Class| {
                let mut d = dims(c);
                let own = d[k];
                d[k] = (0, 0);
                (c.has_ports, c.icmp, d, own)
            };
            cs.sort_by_key(|(_, c)| key(c));
            let mut out: Vec<(usize, Class)> = Vec::with_capacity(cs.len());
            for (i, c) in cs {
                if let Some((j, last)) = out.last_mut() {
                    let (lk, ck) = (key(last), key(&c));
                    if (lk.0, lk.1, lk.2) == (ck.0, ck.1, ck.2) && lk.3 .1.checked_add(1) == Some(ck.3 .0) {
                        set(last, k, (lk.3 .0, ck.3 .1));
                        *j = (*j).min(i);
                        continue;
                    }
                }
                out.push((i, c));
            }
            cs = out;
        }
        if cs.len() == before {
            break;
        }
    }
    cs.sort_by_key(|(i, _)| *i);
    cs.into_iter().map(|(_, c)| c).collect()
}

/// Describe a class in one line; an address side that is a whole endpoint of the question is
/// named by the endpoint instead of its ranges.
fn class_text(c: &Class, src_label: Option<&str>, dst_label: Option<&str>) -> String {
    let p = if c.proto.0 == c.proto.1 {
        proto_name(c.proto.0 as u8)
    } else if c.proto == (0, 255) {
        "any protocol".into()
    } else {
        format!("protocols {}-{}", c.proto.0, c.proto.1)
    };
    let mut s = p;
    if c.has_ports {
        s.push_str(&format!(" port {}", port_range(c.dport.0, c.dport.1)));
    } else if c.icmp && c.dport != (0, 255) {
        s.push_str(&format!(" type {}", port_range(c.dport.0, c.dport.1)));
    }
    let src = src_label.map(str::to_string).unwrap_or_else(|| addr_range(c.src.0, c.src.1));
    let dst = dst_label.map(str::to_string).unwrap_or_else(|| addr_range(c.dst.0, c.dst.1));
    s.push_str(&format!(" from {src} to {dst}"));
    if c.has_ports && c.sport != (super::EPHEMERAL_PORTS.0 as u128, super::EPHEMERAL_PORTS.1 as u128) {
        s.push_str(&format!(" (source port {})", port_range(c.sport.0, c.sport.1)));
    }
    s
}

/// An endpoint of the question: its name and all its addresses.
pub type Side<'a> = Option<(&'a str, &'a crate::space::Ranges)>;

/// Replace, for each group of classes equal in every other dimension, the address ranges of
/// one side by the endpoint's name when together they cover all of it. `side` 0 is the source,
/// 1 the destination; named sides are set to `(0, 0)` and flagged.
fn name_side(rows: Vec<(Class, bool, bool)>, side: usize, all: &crate::space::Ranges) -> Vec<(Class, bool, bool)> {
    use crate::space::Ranges;
    let get = |c: &Class| if side == 0 { c.src } else { c.dst };
    let others = |r: &(Class, bool, bool)| {
        let c = r.0;
        let other = if side == 0 { c.dst } else { c.src };
        (other, c.proto, c.sport, c.dport, r.1, r.2)
    };
    // The rows grouped by every other dimension, groups in order of their first row.
    let mut index: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<(Class, bool, bool)>> = Vec::new();
    for r in rows {
        let g = *index.entry(others(&r)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(r);
    }
    let mut out = Vec::new();
    for same in groups {
        let first = get(&same[0].0);
        let v4 = (space::V4_BASE..=space::V4_LAST).contains(&first.0);
        let union = Ranges::from_ranges(same.iter().map(|r| get(&r.0)).collect());
        if union == all.intersect(&space::family_range(!v4)) {
            let mut r = same[0];
            if side == 0 {
                r.0.src = (0, 0);
                r.1 = true;
            } else {
                r.0.dst = (0, 0);
                r.2 = true;
            }
            out.push(r);
        } else {
            out.extend(same);
        }
    }
    out
}

/// Describe a union of classes (merged where possible; long lists are cut). Classes that
/// together cover a whole endpoint of the question are named by it (`from internet`).
pub fn covers(classes: &[Class], src: Side, dst: Side) -> String {
    let mut rows: Vec<(Class, bool, bool)> = classes.iter().map(|c| (*c, false, false)).collect();
    if let Some((_, all)) = src {
        rows = name_side(rows, 0, all);
    }
    if let Some((_, all)) = dst {
        rows = name_side(rows, 1, all);
    }
    // Merge within each kind of row.
    let mut merged: Vec<(Class, bool, bool)> = Vec::new();
    for flags in [(true, true), (true, false), (false, true), (false, false)] {
        let part: Vec<Class> = rows.iter().filter(|r| (r.1, r.2) == flags).map(|r| r.0).collect();
        merged.extend(merge(part).into_iter().map(|c| (c, flags.0, flags.1)));
    }
    let n = merged.len();
    let mut parts: Vec<String> = merged
        .iter()
        .take(6)
        .map(|(c, sn, dn)| class_text(c, if *sn { src.map(|s| s.0) } else { None }, if *dn { dst.map(|d| d.0) } else { None }))
        .collect();
    if n > 6 {
        parts.push(format!("and {} more", n - 6));
    }
    parts.join("; ")
}

/// The concrete first packet of the class's witness (the same flow as [`witness`]).
pub fn class_packet(c: &Class) -> crate::space::Packet {
    let w = witness(c);
    let src = w.src.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let dst = w.dst.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let p = c.proto.0 as u8;
    let mut pkt = crate::space::Packet::new_flow(src, dst, p, c.sport.0 as u16, c.dport.0 as u16);
    if c.icmp {
        pkt.set(crate::space::Dim::IcmpType, c.dport.0);
    }
    pkt
}

/// A concrete flow of the class.
pub fn witness(c: &Class) -> FlowSpec {
    let src = if c.src.1 - c.src.0 >= 3 { c.src.0 + 1 } else { c.src.0 };
    let dst = if c.dst.1 - c.dst.0 >= 3 { c.dst.0 + 1 } else { c.dst.0 };
    let p = c.proto.0 as u8;
    FlowSpec {
        src: space::u128_to_addr(src).to_string(),
        dst: space::u128_to_addr(dst).to_string(),
        proto: proto_name(p),
        port: if c.has_ports || c.icmp { Some(c.dport.0 as u32) } else { None },
        sport: if c.has_ports { Some(c.sport.0 as u32) } else { None },
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn v4(s: &str) -> u128 {
        space::addr_to_u128(s.parse().unwrap())
    }

    #[test]
    fn merges_a_grid_back_into_its_box_and_keeps_gaps() {
        let cell = |s: u128, d: u128, p: u128| Class { src: (s, s), dst: (d, d), proto: (6, 6), sport: (0, 0), dport: (p * 10, p * 10 + 9), has_ports: true, icmp: false };
        // A 30 × 20 × 10 grid of unit cells, in a scrambled order: one box.
        let mut grid: Vec<Class> = Vec::new();
        for i in 0..6000u128 {
            let j = (i * 2_654_435_761) % 6000;
            grid.push(cell(j / 200, (j / 10) % 20, j % 10));
        }
        let m = merge(grid);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!((m[0].src, m[0].dst, m[0].dport), ((0, 29), (0, 19), (0, 99)));
        // A gap in the ports and a class of another protocol stay apart; the order of first
        // members is kept.
        let mut other = cell(0, 0, 0);
        other.proto = (17, 17);
        let m = merge(vec![cell(0, 0, 2), other, cell(0, 0, 0), cell(0, 0, 1), cell(0, 0, 4)]);
        let got: Vec<((u128, u128), (u128, u128))> = m.iter().map(|c| (c.proto, c.dport)).collect();
        assert_eq!(got, [((6, 6), (0, 29)), ((17, 17), (0, 9)), ((6, 6), (40, 49))]);
    }

    #[test]
    fn fewest_cidrs() {
        assert_eq!(cidrs(v4("10.0.0.0"), v4("10.255.255.255")), vec!["10.0.0.0/8"]);
        assert_eq!(cidrs(v4("10.0.0.1"), v4("10.0.0.1")), vec!["10.0.0.1"]);
        assert_eq!(cidrs(v4("10.0.0.0"), v4("10.0.0.2")), vec!["10.0.0.0/31", "10.0.0.2"]);
        assert_eq!(cidrs(v4("0.0.0.0"), v4("255.255.255.255")), vec!["0.0.0.0/0"]);
        assert_eq!(addr_range(v4("10.0.0.1"), v4("10.0.0.200")), "10.0.0.1-10.0.0.200");
        assert_eq!(cidrs(0, u128::MAX), vec!["::/0"]);
        assert_eq!(cidrs(1, u128::MAX).len(), 128);
    }

    proptest::proptest! {
        /// IPv4 blocks read as the standard library writes their address, then the prefix
        /// length unless a single address; IPv6 blocks likewise.
        #[test]
        fn blocks_read_as_their_addresses(a in proptest::prelude::any::<u32>(), len in 0u32..=32, v6 in proptest::prelude::any::<u128>(), len6 in 0u32..=128) {
            let b = Block { first: space::V4_BASE + a as u128, len, width: 32 };
            let ip = std::net::Ipv4Addr::from(a);
            let want = if len == 32 { ip.to_string() } else { format!("{ip}/{len}") };
            proptest::prop_assert_eq!(b.to_string(), want);
            let b = Block { first: v6, len: len6, width: 128 };
            let want = if len6 == 128 { space::u128_to_addr(v6).to_string() } else { format!("{}/{len6}", space::u128_to_addr(v6)) };
            proptest::prop_assert_eq!(b.to_string(), want);
        }

        /// The blocks tile the range in order, each as large as its start and the room left
        /// allow (so there are fewest), in both families.
        #[test]
        fn cidr_blocks_tile_the_range_largest_first(a in proptest::prelude::any::<u128>(), b in proptest::prelude::any::<u128>(), v4 in proptest::prelude::any::<bool>(), shift in 0u32..128) {
            let (a, b) = if v4 {
                (space::V4_BASE + (a as u32 as u128), space::V4_BASE + (b as u32 as u128))
            } else {
                (a >> shift, b >> shift)
            };
            let (lo, hi) = (a.min(b), a.max(b));
            let (base, width) = if lo >= space::V4_BASE && hi <= space::V4_LAST { (space::V4_BASE, 32) } else { (0, 128) };
            let mut next = Some(lo);
            for blk in cidr_blocks(lo, hi) {
                proptest::prop_assert_eq!(Some(blk.first), next);
                let bits = width - blk.len;
                let last = blk.first + if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
                proptest::prop_assert!(last <= hi);
                let off = blk.first - base;
                // One more bit would break the alignment or overrun the range.
                if bits < width {
                    let aligned = off == 0 || off.trailing_zeros() > bits;
                    let fits = last.checked_add(1u128 << bits).is_some_and(|l| l <= hi);
                    proptest::prop_assert!(!(aligned && fits), "block {} could be larger", blk);
                }
                next = last.checked_add(1).filter(|&n| n <= hi);
            }
            proptest::prop_assert_eq!(next, None);
        }
    }
}
