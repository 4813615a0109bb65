//! Which packets of a source may open a connection at all: the question's packets carried
//! through the network as sets, one device at a time.
//!
//! A walk ([`Analyzer::classes`]) follows one packet along its whole way and is repeated for
//! every distinct way: one per source subnet, destination subnet and protocol cell that are
//! treated differently anywhere on the path. Most of those ways end dropped, and the
//! questions that ask only what gets through (a policy's "nothing beyond this") pay for them.
//! Here the packets are carried as sets instead: at each device the set that arrived is split
//! into the regions the device treats alike ([`region::region`] over one device's decisions,
//! taken by the same [`device::pass`] a walk takes), each region goes on to the next device as
//! one set, and the sets that arrive at a device on one interface in the same step the same way
//! (same translations so far) are joined. The work grows with the devices and their rules, not
//! with the number of ways.
//!
//! The answer is an upper bound: every packet that some walk would find allowed or possibly
//! allowed is in it. A connection needs its first packet delivered and its first reply back
//! through every device the first packet crossed; each device's part of that depends only on
//! the packet as it left the device (the reply arrives as the first packet left, swapped), so
//! it is tested where the first packet passes and the region is cut by its decisions too.
//! Packets whose way the sets cannot follow alone are kept whole: sources on a device's own
//! address, destinations on the source's own subnet, devices without interface data.

use rustc_hash::FxHashMap as HashMap;

use crate::space::{self, Cube, Dim, Packet, PacketSet, Ranges, NDIMS};

use super::device::{self, CondRec, Entry, Fate, Map, Source};
use super::{atoms, region, Analyzer, EPHEMERAL_PORTS};

/// Branches (unknown constructs) a set may have met on its way before the bound is given up:
/// a walk that meets too many calls its packets possibly allowed without following them.
const MAX_MULT: usize = 16;

/// Device passes one bound may take per device of the network before it is given up (the
/// walks then answer alone). Carrying pays where ways cross several devices and share them; on
/// a single firewall a way is one device long, and carrying the traffic of a source through
/// thousands of rules for single hosts costs as much as walking it (the TUM firewall of the
/// corpus: 325,000 passes for one zone, more than the walks of the whole check). Generated
/// estates take 20–80 per device from their zones and the Internet, up to about 340 with a dozen
/// devices.
const PASSES_PER_DEVICE: usize = 512;

/// Device passes any bound may take.
const MIN_PASSES: usize = 256;

/// Sets that arrived at one device on one interface and go on alike: the device, the input
/// interface, where each header field comes from, the values of the fields the path fixed, and
/// the number of branches met so far.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    dev: usize,
    iif: u16,
    map: [u8; NDIMS],
    fixed: [u128; NDIMS],
    mult: usize,
}

/// Source addresses by where they enter (the devices on their link, or the entries from
/// outside).
type Sources<K> = Vec<(K, Vec<(u128, u128)>)>;

/// What arrived at one key in one step: the map and fixed fields of the key, and the first
/// packets.
type Arrived = (Map, Packet, Vec<Cube>);

fn map_code(map: &Map) -> [u8; NDIMS] {
    let mut out = [u8::MAX; NDIMS];
    for (o, s) in out.iter_mut().zip(map.iter()) {
        if let Source::Orig(d) = s {
            *o = *d as u8;
        }
    }
    out
}

/// The packet as it is at a device for the first packet `w` of the question: the fields that
/// come from the question taken from `w`, the others from `fixed`.
fn packet_then(w: &Packet, map: &Map, fixed: &Packet) -> Packet {
    let mut p = *fixed;
    for d in Dim::ALL {
        if let Source::Orig(x) = map[d as usize] {
            p.set(d, w.get(x));
        }
    }
    p
}

/// What [`Analyzer::bound`] found of a source: cubes holding every packet from it that may
/// open a connection.
pub struct Bound {
    src: Ranges,
    set: Vec<Cube>,
}

impl Bound {
    /// The sources the bound is of (the endpoint's clients).
    pub fn source(&self) -> &Ranges {
        &self.src
    }

    /// Cubes (they may overlap) holding every packet from the sources that may open a
    /// connection.
    pub fn cubes(&self) -> &[Cube] {
        &self.set
    }
}

impl Analyzer<'_> {
    /// The bound of the packets from the endpoint `from` that may open a connection, for
    /// questions asked with [`Analyzer::query_sets_where`] (`None` when the endpoint is a
    /// device or no bound was found).
    pub fn bound(&self, from: &str) -> Option<Bound> {
        let super::Endpoint::Addrs(r) = self.endpoint(from).ok()? else { return None };
        let budget = PASSES_PER_DEVICE.saturating_mul(self.net.devices.len()).max(MIN_PASSES);
        let set = coalesce(self.may_connect(&r, budget)?);
        Some(Bound { src: self.clients(&r), set })
    }

    /// Whether some packet of the question from `src` to `to`, of `protos` and `ports`, is in
    /// one of `cubes`.
    pub(super) fn meets_question(&self, src: &Ranges, cubes: &[Cube], to: &Ranges, protos: &Ranges, ports: Option<&Ranges>) -> bool {
        let sports = Ranges::range(EPHEMERAL_PORTS.0 as u128, EPHEMERAL_PORTS.1 as u128);
        self.proto_cells(protos, ports, &sports).into_iter().any(|(pr, sp, dp, ty)| {
            let mut c = Cube::full();
            c.set(Dim::Src, src.clone());
            c.set(Dim::Dst, to.clone());
            c.set(Dim::Proto, pr);
            c.set(Dim::Sport, sp);
            c.set(Dim::Dport, dp);
            c.set(Dim::IcmpType, ty);
            cubes.iter().any(|x| x.intersects(&c))
        })
    }

    /// Every packet from `from` (its clients, as a question asks) to any address of its family,
    /// of any protocol and port, with the ephemeral source ports, whose connection a walk may
    /// find allowed or possibly allowed — and maybe more, as cubes that may overlap. `None` when
    /// no bound was found (too many branches, or more device passes than `budget`): every
    /// packet may then connect.
    pub(crate) fn may_connect(&self, from: &Ranges, budget: usize) -> Option<Vec<Cube>> {
        let src = self.clients(from);
        let sports = Ranges::range(EPHEMERAL_PORTS.0 as u128, EPHEMERAL_PORTS.1 as u128);
        let cells = self.proto_cells(&Ranges::range(0, 255), None, &sports);
        let mut budget = budget;
        let mut out: Vec<Cube> = Vec::new();
        for v6 in [false, true] {
            let src = src.intersect(&space::family_range(v6));
            if src.is_empty() {
                continue;
            }
            // Sources by where they enter: (devices on link, entries from outside, whole).
            let mut on_link: Sources<Vec<(usize, u16)>> = Vec::new();
            let mut outside: Sources<Vec<Entry>> = Vec::new();
            let mut whole: Vec<(u128, u128)> = Vec::new();
            for sa in atoms(&self.net.route_cuts, &src) {
                let a = space::u128_to_addr(sa.0);
                let link = self.net.on_link(a);
                if self.net.is_local_anywhere(a) || self.net.owners.contains_key(&sa.0) || self.net.is_broadcast_anywhere(a) {
                    whole.push(sa);
                } else if !link.is_empty() {
                    match on_link.iter_mut().find(|(l, _)| l == link) {
                        Some((_, r)) => r.push(sa),
                        None => on_link.push((link.to_vec(), vec![sa])),
                    }
                } else {
                    let at = device::outside_entries(&self.net, a);
                    if at.iter().any(|e| matches!(e, Entry::Arrive(_, None) | Entry::Device(_) | Entry::Direct)) {
                        whole.push(sa);
                    } else {
                        match outside.iter_mut().find(|(e, _)| *e == at) {
                            Some((_, r)) => r.push(sa),
                            None => outside.push((at, vec![sa])),
                        }
                    }
                }
            }
            let dst = space::family_range(v6);
            for (pr, sp, dp, ty) in &cells {
                // ICMP is of IPv4, ICMPv6 of IPv6: a question walks neither in the other family.
                let p = pr.first().unwrap_or(0) as u8;
                if (p == space::proto::ICMP && v6) || (p == space::proto::ICMPV6 && !v6) {
                    continue;
                }
                let mut base = Cube::full();
                base.set(Dim::Src, src.clone());
                base.set(Dim::Dst, dst.clone());
                base.set(Dim::Proto, pr.clone());
                base.set(Dim::Sport, sp.clone());
                base.set(Dim::Dport, dp.clone());
                base.set(Dim::IcmpType, ty.clone());
                let varying = [Dim::Src, Dim::Dst, Dim::Proto, Dim::Sport, Dim::Dport, Dim::IcmpType]
                    .iter()
                    .filter(|d| base.get(**d).count() > 1)
                    .fold(0u16, |m, d| m | (1 << *d as usize));
                let with_src = |r: &[(u128, u128)], d: &Ranges| {
                    let mut c = base.clone();
                    c.set(Dim::Src, Ranges::from_ranges(r.to_vec()));
                    c.set(Dim::Dst, d.clone());
                    c
                };
                let mut starts: Vec<(usize, u16, Cube)> = Vec::new();
                if !whole.is_empty() {
                    out.push(with_src(&whole, &dst));
                }
                for (link, r) in &on_link {
                    // Destinations on the source's own subnet are reached directly.
                    let direct: Vec<(u128, u128)> = link
                        .iter()
                        .flat_map(|&(d, id)| self.net.devices[d].subnets.iter().filter(move |s| s.3 == id).map(|s| (s.0, s.1)))
                        .collect();
                    let direct = Ranges::from_ranges(direct).intersect(&dst);
                    if !direct.is_empty() {
                        out.push(with_src(r, &direct));
                    }
                    starts.extend(link.iter().map(|&(d, id)| (d, id, with_src(r, &dst))));
                }
                for (at, r) in &outside {
                    for e in at {
                        if let Entry::Arrive(d, Some(id)) = e {
                            starts.push((*d, *id, with_src(r, &dst)));
                        }
                    }
                }
                out.extend(self.carry(starts, varying, &mut budget)?);
            }
        }
        Some(out)
    }

    /// The packets of the sets entering at `starts` (device, input interface, first packets)
    /// that may be delivered with their first reply back, or more (see the module doc); `None`
    /// when that takes more device passes than the `budget` left (which it lowers).
    ///
    /// The sets move one device at a time, all of them together: what arrives at one key in
    /// one step is joined (cubes the same but for their sources or destinations become one)
    /// and split into the regions the device treats alike, each cube on its own. After as
    /// many steps as a walk crosses devices, what still moves is in a routing loop and a walk
    /// would not deliver it either.
    fn carry(&self, starts: Vec<(usize, u16, Cube)>, varying: u16, budget: &mut usize) -> Option<Vec<Cube>> {
        let mut out: Vec<Cube> = Vec::new();
        let mut here: HashMap<Key, Arrived> = HashMap::default();
        for (dev, iif, cube) in starts {
            let Some(w) = cube.witness() else { continue };
            arrive(&mut here, dev, iif, device::identity_map(), super::first_packet(&w), vec![cube], 1);
        }
        for _ in 0..device::MAX_DEVICE_HOPS {
            if here.is_empty() {
                break;
            }
            let mut next: HashMap<Key, Arrived> = HashMap::default();
            // In a fixed order: the bound does not depend on it, the cubes it is made of do.
            let mut keys: Vec<(Key, Arrived)> = here.drain().collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, (map, fixed, cubes)) in keys {
                let mut stack = coalesce(cubes);
                while let Some(cube) = stack.pop() {
                    let Some(first) = cube.witness() else { continue };
                    *budget = budget.checked_sub(1)?;
                    let pkt = packet_then(&first, &map, &fixed);
                    let ways = device::pass(&self.net, key.dev, Some(key.iif), pkt, None, device::Track::new(map));
                    let mult = key.mult.saturating_mul(ways.len());
                    if mult > MAX_MULT {
                        return None;
                    }
                    // Every decision of every way through the device and of its reply here.
                    let mut owned: Vec<CondRec> = Vec::new();
                    let mut backs: Vec<device::Passes> = Vec::with_capacity(ways.len());
                    let mut goes: Vec<bool> = Vec::with_capacity(ways.len());
                    for p in &ways {
                        if let Fate::Forwarded { gw: None, .. } = p.fate {
                            if matches!(p.track.map[Dim::Dst as usize], Source::Orig(_)) {
                                // On the link, the destination itself says which device is next.
                                let (lo, hi) = super::compile::cell_of(&self.net.owner_cuts, p.left.get(Dim::Dst));
                                owned.push(CondRec::Range { map: p.track.map, pkt: p.left, dim: Dim::Dst, lo, hi, inside: true });
                            }
                        }
                        let (ok, back) = match (&p.fate, device::reply_packet(&p.left)) {
                            (Fate::Forwarded { .. } | Fate::Delivered, Some(r)) => {
                                let back = device::reply_pass(&self.net, p, r, device::reply_map(&p.track.map));
                                if back.len() > MAX_MULT {
                                    return None;
                                }
                                (back.iter().any(|b| device::reply_goes_on(p, b)), back)
                            }
                            (Fate::Forwarded { .. } | Fate::Delivered, None) => (true, device::Passes::new()),
                            _ => (false, device::Passes::new()),
                        };
                        goes.push(ok);
                        backs.push(back);
                    }
                    let conds = ways.iter().chain(backs.iter().flatten()).flat_map(|p| p.track.conds.iter()).chain(owned.iter());
                    let within = PacketSet::from_cube(cube.clone());
                    let mut way = region::region(&self.net, conds, &within, varying);
                    if !way.contains(&first) {
                        debug_assert!(false, "the packet is outside its own region");
                        way = PacketSet::point(&first);
                    }
                    // The rest of the cube takes other ways.
                    let mut rest = vec![cube];
                    for w in way.cubes() {
                        rest = rest.iter().flat_map(|r| r.difference(w)).collect();
                    }
                    stack.extend(rest);
                    for (p, ok) in ways.iter().zip(goes) {
                        if !ok {
                            continue;
                        }
                        match p.fate {
                            Fate::Forwarded { oif, gw } => match device::next_device(&self.net, key.dev, oif, gw, p.left.addr(Dim::Dst)) {
                                Some((d2, i2)) => arrive(&mut next, d2, i2, p.track.map, p.left, way.cubes().to_vec(), mult),
                                None => out.extend(way.cubes().iter().cloned()),
                            },
                            Fate::Delivered => out.extend(way.cubes().iter().cloned()),
                            _ => {}
                        }
                    }
                }
            }
            here = next;
        }
        Some(out)
    }
}

/// Sets arriving at a device on an interface as the first packets `cubes` with the map and
/// the fixed fields of the packet as it left the device before, joined with what else arrives
/// there in the same step the same way.
fn arrive(at: &mut HashMap<Key, Arrived>, dev: usize, iif: u16, map: Map, fixed: Packet, cubes: Vec<Cube>, mult: usize) {
    let mut fixed = fixed;
    // Set again by the next pass: they do not tell sets apart.
    for d in [Dim::Ct, Dim::Iif, Dim::Oif] {
        fixed.set(d, 0);
    }
    let mut vals = [0u128; NDIMS];
    for d in Dim::ALL {
        if map[d as usize] == Source::Const {
            vals[d as usize] = fixed.get(d);
        }
    }
    let key = Key { dev, iif, map: map_code(&map), fixed: vals, mult };
    at.entry(key).or_insert_with(|| (map, fixed, Vec::new())).2.extend(cubes);
}

/// The cubes joined where they differ in one address dimension only (sources, then
/// destinations): the sets from many subnets that went the same ways become one.
fn coalesce(cubes: Vec<Cube>) -> Vec<Cube> {
    let mut cubes = cubes;
    for d in [Dim::Src, Dim::Dst] {
        if cubes.len() < 2 {
            break;
        }
        let mut joined: Vec<Cube> = Vec::with_capacity(cubes.len());
        let mut index: HashMap<Vec<Ranges>, usize> = HashMap::default();
        for c in cubes {
            let rest: Vec<Ranges> = Dim::ALL.iter().filter(|x| **x != d).map(|x| c.get(*x).clone()).collect();
            match index.get(&rest) {
                Some(&i) => {
                    let u = joined[i].get(d).union(c.get(d));
                    joined[i].set(d, u);
                }
                None => {
                    index.insert(rest, joined.len());
                    joined.push(c);
                }
            }
        }
        cubes = joined;
    }
    cubes
}
