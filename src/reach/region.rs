//! The region of a path: every packet of a question that takes exactly the same way as the
//! packet that was walked.
//!
//! Each decision on the way (a rule examined and whether it held, a port kept by source NAT) is
//! a condition on the packet as it was at that moment. The [`Map`] of that moment says where
//! each of its header fields came from — a field of the question's first packet, or a constant
//! set by the path (a translated address, the state, the interfaces) — so every condition
//! becomes a condition on the first packet, and the region is their conjunction. Decisions
//! outside rules (where the packet enters, routing, local delivery) depend only on addresses
//! that the question's cells already hold constant.

use crate::space::{Cube, Dim, Packet, PacketSet, Ranges};

use super::compile::CNetwork;
use super::device::{CondRec, Map, Source};

/// The set `set` of the packet as it was (`map`, `pkt`), as a set of first packets. `varying`
/// marks the first packet's dimensions that vary in the question; a condition on the others
/// holds for every packet alike and is left out (`None`).
///
/// The cubes of `set` are disjoint, and so are their images: two cubes apart in a dimension
/// that is constant here cannot both hold the packet's value there, and two apart in a varying
/// dimension stay apart in the first packet's dimension it comes from.
fn mapped(set: &PacketSet, map: &Map, pkt: &Packet, varying: u16) -> Option<PacketSet> {
    let mut out = Vec::new();
    let mut relevant = false;
    for cube in set.cubes() {
        let Some(live) = live_dims(cube, map, pkt, varying) else { continue };
        relevant |= live != 0;
        let mut c = Cube::full();
        for d in Dim::ALL.into_iter().filter(|d| live & (1 << *d as usize) != 0) {
            if let Source::Orig(x) = map[d as usize] {
                c.restrict(x, cube.get(d));
            }
        }
        if !c.is_empty() {
            out.push(c);
        }
    }
    debug_assert!(
        out.len() > 64 || out.iter().enumerate().all(|(i, a)| out[i + 1..].iter().all(|b| !a.intersects(b))),
        "the images of disjoint cubes overlap"
    );
    relevant.then(|| PacketSet::from_disjoint_cubes(out))
}

/// The dimensions a cube constrains that come from a varying dimension of the question (a
/// mask), or `None` when a dimension constant over the question fails for the packet then
/// (the cube's image is empty; a rule that held always has a cube that passes, the one holding
/// the walked packet).
fn live_dims(cube: &Cube, map: &Map, pkt: &Packet, varying: u16) -> Option<u16> {
    let mut live = 0;
    for d in Dim::ALL {
        if !cube.is_constrained(d) {
            continue;
        }
        match map[d as usize] {
            Source::Orig(x) if varying & (1 << x as usize) != 0 => live |= 1 << d as usize,
            _ if !cube.get(d).contains(pkt.get(d)) => return None,
            _ => {}
        }
    }
    Some(live)
}

/// Whether the image of `set` under [`mapped`] may share a packet with `region`, tested on the
/// boxes without building the image: `false` means that subtracting the image from `region`
/// changes nothing. A cube's image meets a cube of the region only if every dimension the cube
/// constrains either holds for the packet then (a constant one) or overlaps the region's range
/// of the first packet's dimension it comes from.
fn may_meet(set: &PacketSet, map: &Map, pkt: &Packet, varying: u16, region: &PacketSet) -> bool {
    set.cubes().iter().any(|cube| {
        let Some(live) = live_dims(cube, map, pkt, varying) else { return false };
        live == 0
            || region.cubes().iter().any(|rc| {
                Dim::ALL.into_iter().filter(|d| live & (1 << *d as usize) != 0).all(|d| match map[d as usize] {
                    Source::Orig(x) => cube.get(d).intersects(rc.get(x)),
                    Source::Const => true,
                })
            })
    })
}

/// Whether the image of `set` under [`mapped`] holds every packet of `region`, tested on the
/// boxes without building the image: `true` means that intersecting `region` with the image
/// changes nothing. Tested for a set of one cube (most rules): its image holds a cube of the
/// region if every dimension it constrains holds for the packet then (a constant one) or holds
/// the region's whole range of the first packet's dimension it comes from.
fn holds_all(set: &PacketSet, map: &Map, pkt: &Packet, varying: u16, region: &PacketSet) -> bool {
    let [cube] = set.cubes() else { return false };
    let Some(live) = live_dims(cube, map, pkt, varying) else { return false };
    region.cubes().iter().all(|rc| {
        Dim::ALL.into_iter().filter(|d| live & (1 << *d as usize) != 0).all(|d| match map[d as usize] {
            Source::Orig(x) => rc.get(x).is_subset(cube.get(d)),
            Source::Const => true,
        })
    })
}

/// The packets of `within` that take the same way as the walked packet, given every decision
/// recorded on all its possible paths.
///
/// The conditions that held (and the ranges the packet was inside) are applied first: they
/// shrink the set to a few cubes, so that most conditions that failed are then disjoint from it
/// and cost one box test each. `within` is best a single cell; the caller intersects the result
/// with whatever remains of the question.
pub fn region<'a>(net: &CNetwork, conds: impl Iterator<Item = &'a CondRec> + Clone, within: &PacketSet, varying: u16) -> PacketSet {
    let mut region = within.clone();
    for pass_held in [true, false] {
        for c in conds.clone() {
            if region.is_empty() {
                return region;
            }
            match c {
                CondRec::Rules { dev, map, pkt, checks } => {
                    let Some(d) = net.devices.get(*dev) else { continue };
                    // Dimensions of the packet then that come from a varying dimension of the
                    // question: a rule constraining none of them held or failed for every
                    // packet alike.
                    let live: u16 = Dim::ALL.iter().fold(0, |m, x| match map[*x as usize] {
                        Source::Orig(o) if varying & (1 << o as usize) != 0 => m | (1 << *x as usize),
                        _ => m,
                    });
                    for &(rs, r, held) in checks.iter() {
                        if held != pass_held {
                            continue;
                        }
                        let Some(rule) = d.rulesets.get(rs as usize).and_then(|x| x.rules.get(r as usize)) else { continue };
                        if rule.dims & live == 0 {
                            continue;
                        }
                        if !held && !may_meet(&rule.set, map, pkt, varying, &region) {
                            continue;
                        }
                        if held && holds_all(&rule.set, map, pkt, varying, &region) {
                            continue;
                        }
                        let Some(m) = mapped(&rule.set, map, pkt, varying) else { continue };
                        if held {
                            region = region.intersect(&m);
                        } else {
                            region.subtract(&m);
                        }
                    }
                }
                CondRec::Range { map, pkt, dim, lo, hi, inside } => {
                    if *inside != pass_held {
                        continue;
                    }
                    let mut cube = Cube::full();
                    cube.set(*dim, Ranges::range(*lo, *hi));
                    let Some(m) = mapped(&PacketSet::from_cube(cube), map, pkt, varying) else { continue };
                    if *inside {
                        region = region.intersect(&m);
                    } else {
                        region.subtract(&m);
                    }
                }
            }
        }
    }
    region
}
