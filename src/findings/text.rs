//! Readable packet sets: addresses as the fewest CIDRs (or a block "except" a few), ports as
//! ranges (or "any except"), protocols by name, interfaces and connection states by name.

use rustc_hash::FxHashMap as HashMap;

use crate::reach::describe::{cidr_blocks, cidrs, proto_name, Block};
use crate::reach::CDevice;
use crate::space::dd::{self, Dd, Parts};
use crate::space::{self, proto, Cube, Dim, Packet, PacketSet, Ranges};

use super::Witness;

/// Most CIDRs, ranges or parts listed before "and N more".
pub const MAX_LISTED: usize = 8;

/// Most cube groups described before "and N more".
pub const MAX_PARTS: usize = 6;

fn family_parts(r: &Ranges) -> [(Ranges, Ranges, u32); 2] {
    let v4 = space::family_range(false);
    let v6 = space::family_range(true);
    [(r.intersect(&v4), v4, 32), (r.intersect(&v6), v6, 128)]
}

/// The CIDR blocks of an address set: how many, and the first [`MAX_LISTED`] (their texts are
/// made only for the form chosen, [`cap_counted`]).
fn cidr_list(r: &Ranges) -> (usize, Vec<Block>) {
    let mut n = 0;
    let mut head = Vec::new();
    for b in r.as_slice().iter().flat_map(|&(a, b)| cidr_blocks(a, b)) {
        if n < MAX_LISTED {
            head.push(b);
        }
        n += 1;
    }
    (n, head)
}

/// [`cap`] of a list of blocks known by its length and first [`MAX_LISTED`] blocks.
fn cap_counted((n, head): (usize, Vec<Block>)) -> String {
    let mut v: Vec<String> = head.iter().map(|b| b.to_string()).collect();
    if n > MAX_LISTED {
        v.push(format!("and {} more", n - MAX_LISTED));
    }
    v.join(", ")
}

fn cap(mut v: Vec<String>) -> String {
    if v.len() > MAX_LISTED {
        let n = v.len() - MAX_LISTED;
        v.truncate(MAX_LISTED);
        v.push(format!("and {n} more"));
    }
    v.join(", ")
}

/// The smallest prefix of the family (`base`, `width` bits) holding `lo..=hi`.
fn hull(lo: u128, hi: u128, base: u128, width: u32) -> (u128, u128) {
    let (a, b) = (lo - base, hi - base);
    let diff = a ^ b;
    let bits = if diff == 0 { 0 } else { 128 - diff.leading_zeros() };
    let bits = bits.min(width);
    let mask = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
    (base + (a & !mask), base + (a | mask))
}

/// An address set in the fewest words: `any`, a list of CIDRs, or a block except a few CIDRs
/// (`10.0.0.0/8 except 10.9.0.0/16`).
pub fn addr_set(r: &Ranges) -> String {
    if r.is_empty() {
        return "nothing".into();
    }
    let mut parts = Vec::new();
    let parts_in = family_parts(r);
    let both = parts_in.iter().all(|(p, fam, _)| p == fam);
    if both {
        return "any".into();
    }
    for (p, fam, width) in parts_in {
        if p.is_empty() {
            continue;
        }
        let v4 = width == 32;
        if p == fam {
            parts.push(if v4 { "any IPv4".to_string() } else { "any IPv6".to_string() });
            continue;
        }
        let list = cidr_list(&p);
        let (Some(lo), Some(hi)) = (p.first(), p.as_slice().last().map(|x| x.1)) else { continue };
        let base = if v4 { space::V4_BASE } else { 0 };
        let (hl, hh) = hull(lo, hi, base, width);
        let whole = if v4 { (hl, hh) == (space::V4_BASE, space::V4_LAST) } else { hh - hl == u128::MAX };
        let (hl, hh, hull_text) = if whole {
            (hl, hh, "any".to_string())
        } else {
            (hl, hh, cidrs(hl, hh).join(", "))
        };
        let hole = Ranges::range(hl, hh).difference(&p);
        // An IPv6 "any" would take in the IPv4-mapped block; keep the list form there.
        let excl = cidr_list(&hole.intersect(&fam));
        if !hole.is_empty() && excl.0 + 1 < list.0 && (v4 || hull_text != "any") {
            parts.push(format!("{hull_text} except {}", cap_counted(excl)));
        } else {
            parts.push(cap_counted(list));
        }
    }
    parts.join(", ")
}

/// A port (or type) set within `0..=max`: `any`, `22`, `80,443`, `1024-65535`, or
/// `any except 22`.
pub fn port_set(r: &Ranges, max: u128) -> String {
    let full = Ranges::range(0, max);
    if *r == full {
        return "any".into();
    }
    if r.is_empty() {
        return "none".into();
    }
    let words = |x: &Ranges| -> Vec<String> {
        x.as_slice().iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect()
    };
    let list = words(r);
    let hole = full.difference(r);
    let excl = words(&hole);
    if excl.len() < list.len() {
        format!("any except {}", cap(excl).replace(", ", ","))
    } else {
        cap(list).replace(", ", ",")
    }
}

fn protos_text(r: &Ranges) -> String {
    let full = Ranges::range(0, 255);
    if *r == full {
        return "any protocol".into();
    }
    let hole = full.difference(r);
    let names = |x: &Ranges| -> Vec<String> {
        let mut v = Vec::new();
        for &(a, b) in x.as_slice() {
            if b - a > 3 {
                v.push(format!("protocols {a}-{b}"));
            } else {
                v.extend((a..=b).map(|p| proto_name(p as u8)));
            }
        }
        v
    };
    if hole.count() <= 3 {
        return format!("any protocol except {}", names(&hole).join(","));
    }
    names(r).join(",")
}

const CT_NAMES: [&str; 5] = ["new", "established", "related", "invalid", "untracked"];

fn ct_text(r: &Ranges) -> Option<String> {
    let all = (0..=space::Ct::UNTRACKED).fold(Ranges::empty(), |acc, b| acc.union(&space::Ct::with_base(b)));
    let r = r.intersect(&all);
    if r == all {
        return None;
    }
    let mut words = Vec::new();
    for (b, name) in CT_NAMES.iter().enumerate() {
        let with = space::Ct::with_base(b as u8);
        let part = r.intersect(&with);
        if part.is_empty() {
            continue;
        }
        if part == with {
            words.push(name.to_string());
        } else {
            let nat: Vec<&str> = part
                .as_slice()
                .iter()
                .flat_map(|&(a, z)| a..=z)
                .map(|v| match (v as u8) & (space::Ct::DNAT | space::Ct::SNAT) {
                    0 => "",
                    x if x == space::Ct::DNAT => "dnat",
                    x if x == space::Ct::SNAT => "snat",
                    _ => "dnat+snat",
                })
                .collect();
            let plain = nat.iter().all(|w| w.is_empty());
            words.push(if plain { name.to_string() } else { format!("{name} ({})", nat.iter().filter(|w| !w.is_empty()).copied().collect::<Vec<_>>().join(",")) });
        }
    }
    Some(words.join(","))
}

fn iface_text(dev: &CDevice, r: &Ranges) -> Option<String> {
    let all = dev.ifaces.all();
    let ids: Vec<u16> = all.iter().copied().filter(|i| r.contains(*i as u128)).collect();
    if ids.len() == all.len() {
        return None;
    }
    let names: Vec<String> = ids.iter().map(|i| dev.ifaces.name(*i)).collect();
    let others: Vec<String> = all.iter().filter(|i| !ids.contains(i)).map(|i| dev.ifaces.name(*i)).collect();
    if others.len() <= names.len() && others.len() <= 3 {
        return Some(format!("any except {}", others.join(",")));
    }
    Some(cap(names).replace(", ", ","))
}

fn flags_text(r: &Ranges) -> Option<String> {
    if *r == Ranges::range(0, 255) || *r == Ranges::single(0) {
        return None;
    }
    let syn_only = Ranges::from_ranges(
        (0u16..=255).filter(|v| (*v as u8) & 0x17 == 0x02).map(|v| (v as u128, v as u128)).collect(),
    );
    if *r == syn_only {
        return Some("SYN".into());
    }
    Some(format!("{} of 256 flag combinations", r.count()))
}

/// Texts already made while describing sets of one device: the cubes of a set, and the sets
/// of the device's findings, share many address, port, interface and state sets, and making
/// their texts is most of the work. (Interface texts are the device's: one `Words` per device.)
///
/// Each distinct text is kept once and named by a number, so the parts of a cube ([`Rest`])
/// compare as numbers and only the parts shown are written out.
#[derive(Default)]
pub struct Words {
    texts: Vec<String>,
    ids: HashMap<String, u32>,
    addrs: HashMap<Ranges, u32>,
    ports: HashMap<(Ranges, u128), u32>,
    ifaces: HashMap<Ranges, u32>,
    states: HashMap<Ranges, u32>,
    flags: HashMap<Ranges, u32>,
    /// An interface name holds a space: it could hold the words that start a later part of
    /// the text (` out on `, ` state `, or the start of them), so two different [`Rest`]s could
    /// read the same, and cubes are grouped by their text.
    ambiguous: bool,
    /// Whether `ambiguous` was looked up for the device (once: its names are the same for every
    /// set).
    names_checked: bool,
    /// The parts of the cube rows of the device's diagrams ([`describe_dd`]).
    parts: Parts,
    /// Text of each part of those rows in each dimension (at `part × NDIMS + dimension`;
    /// [`UNMADE`] where not made yet).
    by_part: Vec<u32>,
    /// What each protocol part tells about a row's other parts.
    shapes: HashMap<u32, Shape>,
    /// How many times everything was forgotten ([`Words::release`]): a mark taken before refers
    /// to parts no longer there.
    forgotten: u32,
}

impl Words {
    /// The manager's mark and the groupings' ([`Dd::release`], [`Parts::release`]).
    pub fn mark(&self, dd: &Dd) -> WordsMark {
        WordsMark { dd: dd.mark(), parts: self.parts.mark(), forgotten: self.forgotten }
    }

    /// Drop what was made since `m`, in the manager and in the groupings of its nodes. Texts
    /// are kept for the next findings, unless there are more than `max_texts`: then every text
    /// and part is forgotten (made again when needed).
    pub fn release(&mut self, dd: &mut Dd, m: WordsMark, max_texts: usize) {
        dd.release(m.dd);
        if self.texts.len() > max_texts {
            *self = Words { forgotten: self.forgotten.wrapping_add(1), ..Words::default() };
        } else if self.forgotten == m.forgotten {
            self.parts.release(m.parts);
        } else {
            // Forgotten since the mark: every grouping there is was made after it.
            self.parts.release(dd::PartsMark::default());
        }
    }
}

/// A point in the history of a device's [`Words`] and its manager ([`Words::mark`]).
#[derive(Clone, Copy, Debug)]
pub struct WordsMark {
    dd: dd::Mark,
    parts: dd::PartsMark,
    /// How many times the words were forgotten before the mark.
    forgotten: u32,
}

/// No text: the part is left out.
const NONE: u32 = u32::MAX;

/// A part's text not made yet ([`Words`]' table by part).
const UNMADE: u32 = u32::MAX - 1;

impl Words {
    fn intern(&mut self, t: String) -> u32 {
        if let Some(&i) = self.ids.get(&t) {
            return i;
        }
        let i = self.texts.len() as u32;
        self.ids.insert(t.clone(), i);
        self.texts.push(t);
        i
    }

    fn intern_opt(&mut self, t: Option<String>) -> u32 {
        t.map_or(NONE, |t| self.intern(t))
    }

    fn text(&self, i: u32) -> &str {
        &self.texts[i as usize]
    }

    fn addr(&mut self, r: &Ranges) -> u32 {
        if let Some(&i) = self.addrs.get(r) {
            return i;
        }
        let i = self.intern(addr_set(r));
        self.addrs.insert(r.clone(), i);
        i
    }

    fn port(&mut self, r: &Ranges, max: u128) -> u32 {
        let key = (r.clone(), max);
        if let Some(&i) = self.ports.get(&key) {
            return i;
        }
        let i = self.intern(port_set(r, max));
        self.ports.insert(key, i);
        i
    }

    fn iface(&mut self, dev: &CDevice, r: &Ranges) -> u32 {
        if let Some(&i) = self.ifaces.get(r) {
            return i;
        }
        let t = iface_text(dev, r);
        if t.is_some() && !self.names_checked {
            self.names_checked = true;
            self.ambiguous = dev.ifaces.shown_names_have_spaces();
        }
        let i = self.intern_opt(t);
        self.ifaces.insert(r.clone(), i);
        i
    }

    fn state(&mut self, r: &Ranges) -> u32 {
        if let Some(&i) = self.states.get(r) {
            return i;
        }
        let i = self.intern_opt(ct_text(r));
        self.states.insert(r.clone(), i);
        i
    }

    fn flags(&mut self, r: &Ranges) -> u32 {
        if let Some(&i) = self.flags.get(r) {
            return i;
        }
        let i = self.intern_opt(flags_text(r));
        self.flags.insert(r.clone(), i);
        i
    }
}

/// The parts of a cube other than its protocols (their texts' numbers in [`Words`], [`NONE`]
/// for a part left out), so cubes that differ only in protocol can be told as one. Each part's
/// text starts with its own words (`/`, ` type `, ` from `, …), which no address, port, state
/// or flag text holds, nor begins or ends with a part of; so two `Rest`s read the same exactly
/// when they are equal, unless an interface name holds a space ([`Words::ambiguous`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Rest {
    /// Destination ports (`/…`), or ICMP types (` type …`) when `icmp`.
    port: u32,
    icmp: bool,
    code: u32,
    from: u32,
    to: u32,
    sport: u32,
    flags: u32,
    iif: u32,
    oif: u32,
    state: u32,
}

fn cube_rest(c: &Cube, dev: Option<&CDevice>, w: &mut Words) -> Rest {
    let shape = Shape::of(c.get(Dim::Proto));
    let full = |d: Dim| *c.get(d) == Ranges::range(0, d.max());
    rest_with(shape, full, w, |w, d| part_text(w, dev, d, c.get(d)))
}

/// What a cube's protocols tell about its other parts: whether its ports, ICMP types and TCP
/// flags are shown.
#[derive(Clone, Copy)]
struct Shape {
    ported: bool,
    icmp: bool,
    tcp: bool,
}

impl Shape {
    fn of(p: &Ranges) -> Shape {
        Shape {
            ported: p.as_slice().iter().all(|&(a, b)| (a..=b).all(|x| proto::has_ports(x as u8))),
            icmp: p.as_slice().iter().all(|&(a, b)| (a..=b).all(|x| x as u8 == proto::ICMP || x as u8 == proto::ICMPV6)),
            tcp: p.as_slice() == [(proto::TCP as u128, proto::TCP as u128)],
        }
    }
}

/// The text of dimension `d`'s part `r` of a cube, for the dimensions [`rest_with`] shows.
fn part_text(w: &mut Words, dev: Option<&CDevice>, d: Dim, r: &Ranges) -> u32 {
    match d {
        Dim::Src | Dim::Dst => w.addr(r),
        Dim::Dport | Dim::Sport => w.port(r, 65535),
        Dim::IcmpType | Dim::IcmpCode => w.port(r, 255),
        Dim::TcpFlags => w.flags(r),
        Dim::Iif | Dim::Oif => dev.map_or(NONE, |dev| w.iface(dev, r)),
        Dim::Ct => w.state(r),
        Dim::Proto => NONE,
    }
}

/// The parts of a cube other than its protocols, from its protocols' `shape`, which of its
/// dimensions are `full`, and the `text` of a dimension's part.
fn rest_with(shape: Shape, full: impl Fn(Dim) -> bool, w: &mut Words, mut text: impl FnMut(&mut Words, Dim) -> u32) -> Rest {
    let mut r = Rest { port: NONE, icmp: false, code: NONE, from: NONE, to: NONE, sport: NONE, flags: NONE, iif: NONE, oif: NONE, state: NONE };
    if shape.ported {
        if !full(Dim::Dport) {
            r.port = text(w, Dim::Dport);
        }
    } else if shape.icmp {
        if !full(Dim::IcmpType) {
            r.port = text(w, Dim::IcmpType);
            r.icmp = true;
        }
        if !full(Dim::IcmpCode) {
            r.code = text(w, Dim::IcmpCode);
        }
    }
    let src = text(w, Dim::Src);
    let dst = text(w, Dim::Dst);
    let any = w.intern("any".into());
    if src != any || dst == any {
        r.from = src;
    }
    if dst != any {
        r.to = dst;
    }
    if shape.ported && !full(Dim::Sport) {
        r.sport = text(w, Dim::Sport);
    }
    if shape.tcp {
        r.flags = text(w, Dim::TcpFlags);
    }
    r.iif = text(w, Dim::Iif);
    r.oif = text(w, Dim::Oif);
    r.state = text(w, Dim::Ct);
    r
}

/// The text of a cube's parts other than its protocols (empty parts left out).
fn rest_text(r: &Rest, w: &Words) -> String {
    let mut s = String::new();
    let mut part = |words: &str, i: u32| {
        if i != NONE {
            s.push_str(words);
            s.push_str(w.text(i));
        }
    };
    part(if r.icmp { " type " } else { "/" }, r.port);
    part(" code ", r.code);
    part(" from ", r.from);
    part(" to ", r.to);
    part(" source port ", r.sport);
    part(" flags ", r.flags);
    part(" in on ", r.iif);
    part(" out on ", r.oif);
    part(" state ", r.state);
    s
}

/// Cubes (each its protocols and other parts) grouped by `key` of their other parts, in order
/// of first appearance, each group with the union of its protocols.
fn group_by<'p, K: std::hash::Hash + Eq>(cubes: impl Iterator<Item = (&'p Ranges, Rest)>, key: impl Fn(&Rest) -> K) -> Vec<(Rest, Ranges)> {
    let mut groups: Vec<(Rest, Ranges)> = Vec::new();
    let mut index: HashMap<K, usize> = HashMap::default();
    for (p, r) in cubes {
        match index.entry(key(&r)) {
            std::collections::hash_map::Entry::Occupied(g) => {
                let g = &mut groups[*g.get()].1;
                *g = g.union(p);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(groups.len());
                groups.push((r, p.clone()));
            }
        }
    }
    groups
}

/// A packet set in readable form: one part per group of cubes that differ only in protocol
/// (`tcp/22 from 10.0.0.0/8 except 10.9.0.0/16`; `any protocol from 192.0.2.0/24`).
pub fn describe(set: &PacketSet, dev: Option<&CDevice>) -> String {
    describe_with(set, dev, &mut Words::default())
}

/// [`describe`] with the texts already made for other sets of the same device (`dev`).
pub fn describe_with(set: &PacketSet, dev: Option<&CDevice>, words: &mut Words) -> String {
    if set.is_empty() {
        return "no packet".into();
    }
    let rests: Vec<Rest> = set.cubes().iter().map(|c| cube_rest(c, dev, words)).collect();
    write_groups(set.cubes().iter().map(|c| c.get(Dim::Proto)).zip(rests), words)
}

/// The text of a set held by a decision diagram, and one packet of it as a witness: the same as
/// [`describe_with`] and [`witness`] give for `dd.to_packet_set(s)`, without making its cubes
/// (`words` keeps the parts of `dd`'s sets: one `Words` per manager).
pub fn describe_dd(dd: &Dd, s: dd::Set, dev: Option<&CDevice>, words: &mut Words) -> (String, Option<Witness>) {
    if s.is_empty() {
        return ("no packet".into(), None);
    }
    let mut parts = std::mem::take(&mut words.parts);
    let rows = dd.cube_rows(s, &mut parts);
    let rests: Vec<Rest> = rows.iter().map(|row| row_rest(row, &parts, dev, words)).collect();
    let text = write_groups(rows.iter().map(|row| parts.get(row[Dim::Proto as usize])).zip(rests), words);
    let new = space::Ct::with_base(space::Ct::NEW);
    let first = rows.iter().min_by_key(|row| rank(&new, |d| parts.get(row[d as usize])));
    let w = first.and_then(|row| packet_of(&parts.cube(row))).map(|p| witness_of(&p, dev));
    words.parts = parts;
    (text, w)
}

/// The parts of a cube row other than its protocols ([`cube_rest`] for rows): each part's text
/// is looked up by its number.
fn row_rest(row: &[u32; space::NDIMS], parts: &Parts, dev: Option<&CDevice>, w: &mut Words) -> Rest {
    let p = row[Dim::Proto as usize];
    let shape = match w.shapes.get(&p) {
        Some(&x) => x,
        None => {
            let x = Shape::of(parts.get(p));
            w.shapes.insert(p, x);
            x
        }
    };
    let full = |d: Dim| row[d as usize] == parts.full(d);
    rest_with(shape, full, w, |w, d| {
        let part = row[d as usize];
        let at = part as usize * space::NDIMS + d as usize;
        if let Some(&t) = w.by_part.get(at).filter(|&&t| t != UNMADE) {
            return t;
        }
        let t = part_text(w, dev, d, parts.get(part));
        if w.by_part.len() <= at {
            w.by_part.resize((at + 1).max(w.by_part.len() * 2), UNMADE);
        }
        w.by_part[at] = t;
        t
    })
}

/// The text of cubes given as their protocols and other parts: groups of cubes whose parts
/// other than protocols read the same, in order of first appearance, with the union of their
/// protocols; at most [`MAX_PARTS`] written out.
fn write_groups<'p>(cubes: impl Iterator<Item = (&'p Ranges, Rest)>, words: &Words) -> String {
    let groups = if words.ambiguous { group_by(cubes, |r| rest_text(r, words)) } else { group_by(cubes, |r| *r) };
    // Cubes of one rule split by protocol class (ported, ICMP, others) share the rest when the
    // ports and types are unconstrained, so they fall into one group with the union of their
    // protocols.
    let n = groups.len();
    let mut parts: Vec<String> = groups.iter().take(MAX_PARTS).map(|(rest, p)| format!("{}{}", protos_text(p), rest_text(rest, words))).collect();
    if n > MAX_PARTS {
        parts.push(format!("and {} more", n - MAX_PARTS));
    }
    parts.join("; ")
}

/// Documentation addresses (RFC 5737, RFC 3849) a witness uses when the set holds them, so an
/// "any" source or destination reads as an example rather than as `0.0.0.1`.
const EXAMPLE_ADDRS: [&str; 3] = ["203.0.113.10", "198.51.100.10", "2001:db8::10"];

fn pick_addr(r: &Ranges, first: usize) -> u128 {
    if r.count() > 1 << 20 {
        for a in EXAMPLE_ADDRS.iter().cycle().skip(first).take(EXAMPLE_ADDRS.len()) {
            if let Ok(ip) = a.parse() {
                let v = space::addr_to_u128(ip);
                if r.contains(v) {
                    return v;
                }
            }
        }
    }
    match r.as_slice().first() {
        Some(&(lo, hi)) if hi - lo >= 3 => lo + 1,
        Some(&(lo, _)) => lo,
        None => 0,
    }
}

/// One concrete packet of the set, with readable values: the first packet of a new connection
/// where the set has one (state new, TCP SYN), the second address of a larger block, an
/// ephemeral source port.
pub fn witness_packet(set: &PacketSet) -> Option<Packet> {
    let new = space::Ct::with_base(space::Ct::NEW);
    // The same witness whatever the order of the cubes: prefer the first packet of a
    // connection, then TCP, UDP, ICMP, then the lowest values.
    let cube = set.cubes().iter().min_by_key(|c| rank(&new, |d| c.get(d)))?;
    packet_of(cube)
}

/// How early a cube's witness comes (lowest first): cubes holding the first packet of a
/// connection, then by protocol (TCP, UDP, ICMP, others), then by their lowest values.
fn rank<'r>(new: &Ranges, get: impl Fn(Dim) -> &'r Ranges) -> (bool, usize, [u128; space::NDIMS]) {
    let p = get(Dim::Proto);
    let proto = [proto::TCP, proto::UDP, proto::ICMP, proto::ICMPV6].iter().position(|&x| p.contains(x as u128)).unwrap_or(4);
    let firsts = Dim::ALL.map(|d| get(d).first().unwrap_or(0));
    (!get(Dim::Ct).intersects(new), proto, firsts)
}

/// The witness packet of one cube: readable values in each dimension.
fn packet_of(cube: &Cube) -> Option<Packet> {
    let new = space::Ct::with_base(space::Ct::NEW);
    let mut p = Packet::zero();
    for d in Dim::ALL {
        let r = cube.get(d);
        let v = match d {
            Dim::Src => pick_addr(r, 0),
            Dim::Dst => pick_addr(r, 1),
            Dim::Sport => {
                let eph = crate::reach::EPHEMERAL_PORTS.0 as u128;
                if r.contains(eph) { eph } else { r.first()? }
            }
            Dim::TcpFlags if r.contains(2) => 2,
            Dim::Ct => r.intersect(&new).first().or_else(|| r.first())?,
            _ => r.first()?,
        };
        p.set(d, v);
    }
    Some(p)
}

/// One packet of the set as a witness flow ([`witness_packet`]), with `dev`'s interface names.
pub fn witness(set: &PacketSet, dev: Option<&CDevice>) -> Option<Witness> {
    witness_packet(set).map(|p| witness_of(&p, dev))
}

/// A packet as a witness flow, with `dev`'s interface names.
/// A packet as a witness flow, with `dev`'s interface names.
fn witness_of(p: &Packet, dev: Option<&CDevice>) -> Witness {
    let pr = p.proto();
    let has_ports = proto::has_ports(pr);
    let icmp = pr == proto::ICMP || pr == proto::ICMPV6;
    let state = CT_NAMES.get(space::Ct::base(p.get(Dim::Ct) as u8) as usize).map(|s| s.to_string());
    Witness {
        src: p.addr(Dim::Src).to_string(),
        dst: p.addr(Dim::Dst).to_string(),
        proto: proto_name(pr),
        port: if has_ports {
            Some(p.get(Dim::Dport) as u32)
        } else if icmp {
            Some(p.get(Dim::IcmpType) as u32)
        } else {
            None
        },
        sport: if has_ports { Some(p.get(Dim::Sport) as u32) } else { None },
        in_iface: dev.filter(|d| d.has_iface_data || d.ifaces.all().len() > 2).map(|d| d.ifaces.name(p.get(Dim::Iif) as u16)),
        out_iface: dev.filter(|d| d.has_iface_data || d.ifaces.all().len() > 2).map(|d| d.ifaces.name(p.get(Dim::Oif) as u16)),
        state,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn v4(s: &str) -> u128 {
        space::addr_to_u128(s.parse().unwrap())
    }

    fn net(s: &str) -> Ranges {
        space::prefix_range(&s.parse().unwrap())
    }

    /// A cube over the dimensions the texts show differently: protocol (TCP, UDP, ICMP or
    /// another), destination port or ICMP type, source and destination blocks, state.
    fn cube() -> impl proptest::strategy::Strategy<Value = Cube> {
        use proptest::prelude::*;
        (0usize..5, 0u128..4, 0u128..4, 0u128..3, 0u128..3, 0u128..4).prop_map(|(p, lo, len, s, d, ct)| {
            let mut c = Cube::full();
            let protos = [proto::TCP, proto::UDP, proto::ICMP, 47];
            if let Some(&x) = protos.get(p) {
                c.restrict(Dim::Proto, &Ranges::single(x as u128));
            }
            if lo > 0 {
                let dim = if p == 2 { Dim::IcmpType } else { Dim::Dport };
                c.restrict(dim, &Ranges::range(lo * 20, lo * 20 + len * 1000));
            }
            let block = |k: u128| net(["10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24"][k as usize - 1]);
            if s > 0 {
                c.restrict(Dim::Src, &block(s));
            }
            if d > 0 {
                c.restrict(Dim::Dst, &block(d));
            }
            if ct > 0 {
                c.restrict(Dim::Ct, &space::Ct::with_base(ct as u8 - 1));
            }
            c
        })
    }

    proptest::proptest! {
        /// Sets described from their diagram read exactly as their cubes do, with the same
        /// witness, also when the texts and parts of earlier sets are reused.
        #[test]
        fn diagrams_read_as_their_cubes(sets in proptest::collection::vec(proptest::collection::vec(cube(), 0..6), 1..4)) {
            let mut dd = Dd::new();
            let (mut a, mut b) = (Words::default(), Words::default());
            for cubes in sets {
                let set = cubes.into_iter().fold(PacketSet::empty(), |acc, c| acc.union(&PacketSet::from_cube(c)));
                let s = dd.from_packet_set(&set);
                let cubes = dd.to_packet_set(s);
                let (text, w) = describe_dd(&dd, s, None, &mut a);
                proptest::prop_assert_eq!(text, describe_with(&cubes, None, &mut b));
                proptest::prop_assert_eq!(w, witness(&cubes, None));
            }
        }
    }

    /// Texts read after releases, with and without forgetting the words in between, are the
    /// texts fresh words give: the groupings of dropped nodes are never read for the sets that
    /// take their ids, also when the words were forgotten after the mark was taken.
    #[test]
    fn texts_after_releases_are_fresh_texts() {
        let mut dd = Dd::new();
        let mut w = Words::default();
        let set = |dd: &mut Dd, dst: &str, lo: u128, hi: u128| {
            let mut c = Cube::full();
            c.set(Dim::Proto, Ranges::single(6));
            c.set(Dim::Dst, net(dst));
            c.set(Dim::Dport, Ranges::range(lo, hi));
            dd.cube(&c)
        };
        let fresh = |dd: &Dd, s| describe_dd(dd, s, None, &mut Words::default());
        let a = set(&mut dd, "10.0.0.0/8", 22, 22);
        assert_eq!(describe_dd(&dd, a, None, &mut w), fresh(&dd, a));
        let m = w.mark(&dd);
        for (k, forget) in [(1u128, 0), (2, usize::MAX), (3, usize::MAX), (4, 0), (5, usize::MAX)] {
            // Each set takes the ids the last one had.
            let s = set(&mut dd, &format!("192.0.{k}.0/24"), 80 + k, 90 + 2 * k);
            let u = dd.or(a, s);
            for x in [s, u, a] {
                assert_eq!(describe_dd(&dd, x, None, &mut w), fresh(&dd, x), "round {k}");
            }
            w.release(&mut dd, m, forget);
        }
    }

    #[test]
    fn except_form_when_shorter() {
        let r = net("10.0.0.0/8").difference(&net("10.9.0.0/16"));
        assert_eq!(addr_set(&r), "10.0.0.0/8 except 10.9.0.0/16");
        assert_eq!(addr_set(&net("10.0.0.0/8")), "10.0.0.0/8");
        let two = net("10.0.0.0/24").union(&net("10.0.2.0/24"));
        assert_eq!(addr_set(&two), "10.0.0.0/24, 10.0.2.0/24");
        let almost = space::family_range(false).difference(&net("10.0.0.0/8"));
        assert_eq!(addr_set(&almost), "any except 10.0.0.0/8");
        assert_eq!(addr_set(&Ranges::single(v4("192.0.2.7"))), "192.0.2.7");
        assert_eq!(addr_set(&space::family_range(false)), "any IPv4");
    }

    #[test]
    fn ports_in_fewest_words() {
        assert_eq!(port_set(&Ranges::single(22), 65535), "22");
        assert_eq!(port_set(&Ranges::range(0, 65535).difference(&Ranges::single(22)), 65535), "any except 22");
        assert_eq!(port_set(&Ranges::from_ranges(vec![(80, 80), (443, 443)]), 65535), "80,443");
        assert_eq!(port_set(&Ranges::range(1024, 65535), 65535), "1024-65535");
    }

    #[test]
    fn one_rule_across_protocol_classes_reads_as_one() {
        let u = super::super::effective::universe(crate::model::Family::V4, 3, false);
        let s = u.restrict(Dim::Src, &net("192.0.2.0/24"));
        let t = describe(&s, None);
        assert!(t.starts_with("any protocol from 192.0.2.0/24"), "{t}");
        let tcp22 = u.restrict(Dim::Proto, &Ranges::single(6)).restrict(Dim::Dport, &Ranges::single(22));
        let tcp22 = tcp22.restrict(Dim::Src, &net("10.0.0.0/8").difference(&net("10.9.0.0/16")));
        assert!(describe(&tcp22, None).starts_with("tcp/22 from 10.0.0.0/8 except 10.9.0.0/16"), "{}", describe(&tcp22, None));
        let w = witness(&tcp22, None).unwrap();
        assert_eq!((w.src.as_str(), w.proto.as_str(), w.port), ("10.0.0.1", "tcp", Some(22)));
        assert_eq!(w.dst, "198.51.100.10");
        assert_eq!(w.state.as_deref(), Some("new"));
    }

    #[test]
    fn interface_names_with_spaces_group_cubes_by_their_text() {
        // Interface names that hold the words of a later part: two cubes whose parts differ
        // read the same, and must fall into one group as their texts say.
        // FortiGate allows spaces in interface names.
        let mut conf = String::from("config system interface\n");
        for (i, name) in ["a out on", "b", "a", "out on b"].iter().enumerate() {
            conf.push_str(&format!("    edit \"{name}\"\n        set ip 10.0.{i}.1 255.255.255.0\n    next\n"));
        }
        conf.push_str("end\n");
        let ws = crate::Workspace::load(vec![crate::InputFile::new("fw/fortigate.conf", conf)]);
        let net = crate::reach::CNetwork::build(&ws.network);
        let dev = &net.devices[0];
        let id = |n: &str| dev.ifaces.id(n).map(u128::from).unwrap_or_else(|| panic!("no interface {n:?}"));
        let cube = |proto: u128, iif: &str, oif: &str| {
            let mut c = Cube::full();
            c.set(Dim::Proto, Ranges::single(proto));
            c.set(Dim::Iif, Ranges::single(id(iif)));
            c.set(Dim::Oif, Ranges::single(id(oif)));
            c
        };
        let s = PacketSet::from_disjoint_cubes(vec![cube(6, "a out on", "b"), cube(17, "a", "out on b")]);
        assert_eq!(describe(&s, Some(dev)), "tcp,udp from any in on a out on out on b");
        // Without such names, parts that differ never read the same.
        let s = PacketSet::from_disjoint_cubes(vec![cube(6, "a", "b"), cube(17, "a", "b")]);
        assert_eq!(describe(&s, Some(dev)), "tcp,udp from any in on a out on b");
    }

}
