//! The packet path through one device, and the walk across devices.
//!
//! A device processes a packet the way the Linux netfilter path does, expressed over the
//! vendor-independent hooks: PREROUTING (raw, mangle, destination NAT) → routing decision →
//! INPUT (to the device) or FORWARD → POSTROUTING (source NAT). Packets the device sends itself
//! take OUTPUT → POSTROUTING. NAT stages see only the first packet of a connection; replies get
//! the connection's NAT reversed instead (destination restored at PREROUTING/OUTPUT, source at
//! POSTROUTING/INPUT), as conntrack does.

use std::net::IpAddr;

use crate::model::{Action, Hook, NatTarget, RouteKind, Stage};
use crate::space::{proto, tcp_flags, Ct, Dim, Packet};

use super::chain::{eval_attached, Exit, RuleLoc};
use super::compile::{CDevice, CNetwork};

/// Where a packet's value in one dimension comes from, relative to the first packet of the
/// question: the same dimension or another of the original packet (after swaps and NAT
/// reversals), or a constant the path set (a translated address, the state, the interfaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The original packet's value in this dimension.
    Orig(Dim),
    /// A value the path fixed; the same for every packet taking this path.
    Const,
}

/// Source of every dimension.
pub type Map = [Source; crate::space::NDIMS];

/// The map of a question's first packet: its own header fields; state and interfaces are set by
/// the path.
pub fn identity_map() -> Map {
    let mut m = [Source::Const; crate::space::NDIMS];
    for d in [Dim::Src, Dim::Dst, Dim::Proto, Dim::Sport, Dim::Dport, Dim::IcmpType] {
        m[d as usize] = Source::Orig(d);
    }
    m
}

/// The map of the first reply to a packet that left with `m`.
pub fn reply_map(m: &Map) -> Map {
    let mut r = *m;
    r[Dim::Src as usize] = m[Dim::Dst as usize];
    r[Dim::Dst as usize] = m[Dim::Src as usize];
    r[Dim::Sport as usize] = m[Dim::Dport as usize];
    r[Dim::Dport as usize] = m[Dim::Sport as usize];
    r[Dim::TcpFlags as usize] = Source::Const;
    r[Dim::IcmpType as usize] = Source::Const;
    r
}

/// A decision taken on the way, on the packet as it was then.
#[derive(Clone, Debug)]
pub enum CondRec {
    /// Rules of one device examined in order, with whether each held.
    Rules {
        /// Device.
        dev: usize,
        /// Map at the time.
        map: Map,
        /// Packet at the time.
        pkt: Packet,
        /// (ruleset, rule, held).
        checks: Vec<(u32, u32, bool)>,
    },
    /// A value test outside rules (source NAT keeps a port inside its range).
    Range {
        /// Map at the time.
        map: Map,
        /// Packet at the time.
        pkt: Packet,
        /// Dimension tested.
        dim: Dim,
        /// Range.
        lo: u128,
        /// Range.
        hi: u128,
        /// Whether the value was inside.
        inside: bool,
    },
}

/// What a path knows about which packets take it.
#[derive(Clone, Debug)]
pub struct Track {
    /// Source of every dimension now.
    pub map: Map,
    /// Decisions so far.
    pub conds: Vec<CondRec>,
}

impl Track {
    /// A fresh track with the given map.
    pub fn new(map: Map) -> Track {
        // A walk records a ruleset's checks at every hook of every device it crosses.
        Track { map, conds: Vec::with_capacity(8) }
    }
}

/// Branches explored per query before giving up with "possibly" (each unknown construct on the
/// path can double them).
pub const MAX_BRANCHES: usize = 256;

/// Devices a packet may cross before the walk calls it a routing loop.
pub const MAX_DEVICE_HOPS: usize = 32;

/// An address translation applied by a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatApplied {
    /// `dnat`, `snat`, `masquerade`, `redirect`, `un-snat`, `un-dnat`.
    pub kind: &'static str,
    /// Address and port before.
    pub before: (IpAddr, u16),
    /// Address and port after.
    pub after: (IpAddr, u16),
    /// The rule (none for reversals).
    pub rule: Option<(usize, RuleLoc)>,
}

/// One ruleset decision on the way through a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The exit taken.
    pub exit: Exit,
    /// True if this decision was one of several possible ones (unknown constructs).
    pub uncertain: bool,
}

/// How a packet ends at one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Sent out of `oif` towards `gw` (or on-link when none).
    Forwarded {
        /// Output interface.
        oif: u16,
        /// Next-hop gateway.
        gw: Option<IpAddr>,
    },
    /// Delivered to the device itself.
    Delivered,
    /// Stopped by a rule or default.
    Dropped {
        /// The deciding rule.
        at: RuleLoc,
        /// `drop`, `reject`, or `unknown` for an unmodelled action that possibly stops it.
        how: &'static str,
    },
    /// Addressed to a broadcast address of one of the device's subnets: not forwarded, and
    /// neither TCP nor ICMP echo answers a broadcast (the kernel's default
    /// `icmp_echo_ignore_broadcasts = 1`; TCP never accepts one).
    Broadcast,
    /// No route, or a discarding route.
    NoRoute {
        /// The discarding route's index in the device's routes, if any.
        route: Option<usize>,
    },
}

/// One possible way through one device.
#[derive(Clone, Debug)]
pub struct DevPass {
    /// Device index.
    pub device: usize,
    /// Input interface (none when the device sent the packet).
    pub iif: Option<u16>,
    /// Output interface.
    pub oif: Option<u16>,
    /// `forward`, `input` or `output`.
    pub path: &'static str,
    /// Packet on arrival.
    pub arrived: Packet,
    /// Packet on departure (after NAT).
    pub left: Packet,
    /// Ruleset decisions in order.
    pub decisions: Vec<Decision>,
    /// Translations.
    pub nat: Vec<NatApplied>,
    /// Rules with unmodelled parts on the way, and notes (interfaces unknown).
    pub doubts: Vec<(usize, RuleLoc)>,
    /// Notes that make the pass uncertain without a rule (interfaces unknown).
    pub notes: Vec<String>,
    /// How it ended.
    pub fate: Fate,
    /// Connection NAT on this device: DNAT and SNAT applied to the first packet.
    pub dnat: bool,
    /// See `dnat`.
    pub snat: bool,
    /// The packet was exempted from connection tracking here.
    pub untracked: bool,
    /// Map on arrival.
    pub arrived_map: Map,
    /// Map on departure and the decisions taken here.
    pub track: Track,
}

/// NAT of one connection at one device, for reversing on replies.
#[derive(Clone, Copy, Debug)]
pub struct ConnNat {
    /// First packet before any translation at this device.
    pub orig: Packet,
    /// Destination was translated.
    pub dnat: bool,
    /// Source was translated.
    pub snat: bool,
    /// The first packet was exempted from connection tracking.
    pub untracked: bool,
    /// Map of the first packet on arrival.
    pub orig_map: Map,
}

#[derive(Clone)]
struct Live {
    pkt: Packet,
    decisions: Vec<Decision>,
    nat: Vec<NatApplied>,
    doubts: Vec<(usize, RuleLoc)>,
    dnat: bool,
    snat: bool,
    rev_dst_done: bool,
    rev_src_done: bool,
    notes: Vec<String>,
    untracked: bool,
    track: Track,
}

enum Step {
    Live(Live),
    Done(Live, Fate),
}

/// A packet's branches within one device: almost always one, kept without allocating.
type Lives = smallvec::SmallVec<[Live; 1]>;
/// How a hook leaves a packet's branches.
type Steps = smallvec::SmallVec<[Step; 1]>;
/// The ways through one device.
pub type Passes = smallvec::SmallVec<[DevPass; 1]>;

fn ap(p: &Packet, d: Dim, port: Dim) -> (IpAddr, u16) {
    (p.addr(d), p.get(port) as u16)
}

/// Apply a NAT target to the destination (`dst = true`) or source.
fn apply_nat(p: &mut Packet, t: &NatTarget, dst: bool, track: &mut Track) {
    let (ad, pd) = if dst { (Dim::Dst, Dim::Dport) } else { (Dim::Src, Dim::Sport) };
    if let Some(r) = &t.addr {
        // The kernel picks one address of a range; the analysis takes the first.
        p.set_addr(ad, r.lo);
        track.map[ad as usize] = Source::Const;
    }
    if let Some((lo, hi)) = t.ports {
        if proto::has_ports(p.proto()) {
            let cur = p.get(pd) as u16;
            // For source NAT the kernel keeps the port when it is inside the range.
            let inside = (lo..=hi).contains(&cur);
            if !dst {
                track.conds.push(CondRec::Range { map: track.map, pkt: *p, dim: pd, lo: lo as u128, hi: hi as u128, inside });
            }
            if dst || !inside {
                p.set(pd, lo as u128);
                track.map[pd as usize] = Source::Const;
            }
        }
    }
}

/// Which device, if any, owns an address.
fn owner(net: &CNetwork, a: IpAddr) -> Option<(usize, u16)> {
    if a.is_loopback() {
        return None;
    }
    net.owners.get(&crate::space::addr_to_u128(a)).copied()
}

/// Process a packet through one device. `iif = None` means the device sent it. `reply` holds
/// the connection's NAT at this device when the packet is a reply.
pub fn pass(net: &CNetwork, dev_idx: usize, iif: Option<u16>, pkt: Packet, reply: Option<&ConnNat>, track: Track) -> Passes {
    let dev = &net.devices[dev_idx];
    let mut pkt = pkt;
    let base_state = match reply {
        None => Ct::NEW,
        Some(c) if !c.untracked => Ct::ESTABLISHED,
        // No connection was recorded for an untracked first packet: conntrack sees the reply as
        // the start of a new connection, which TCP (a SYN/ACK) and ICMP (an echo reply) cannot
        // start (nf_conntrack_proto_tcp.c / nf_conntrack_proto_icmp.c): those are INVALID.
        Some(_) => match pkt.proto() {
            proto::TCP | proto::ICMP | proto::ICMPV6 => Ct::INVALID,
            _ => Ct::NEW,
        },
    };
    let nat_bits = reply.map_or(0, |c| if c.dnat { Ct::DNAT } else { 0 } | if c.snat { Ct::SNAT } else { 0 });
    pkt.set(Dim::Ct, (base_state | nat_bits) as u128);
    pkt.set(Dim::Oif, 0);
    let start = Live {
        pkt,
        decisions: vec![],
        nat: vec![],
        doubts: vec![],
        dnat: false,
        snat: false,
        rev_dst_done: false,
        rev_src_done: false,
        notes: vec![],
        untracked: false,
        track,
    };
    let mut out = Passes::new();
    let mut l = start;
    let lo_id = dev.ifaces.id("lo").unwrap_or(0);
    l.pkt.set(Dim::Iif, iif.unwrap_or(lo_id) as u128);
    let arrived = l.pkt;
    let arrived_map = l.track.map;
    match iif {
        Some(i) => arrive(net, dev_idx, i, l, arrived, reply, &mut out),
        None => originate(net, dev_idx, l, arrived, reply, &mut out),
    }
    for p in &mut out {
        p.arrived_map = arrived_map;
    }
    out
}

fn finish(dev_idx: usize, iif: Option<u16>, oif: Option<u16>, path: &'static str, arrived: Packet, l: Live, fate: Fate) -> DevPass {
    DevPass {
        device: dev_idx,
        iif,
        oif,
        path,
        arrived,
        left: l.pkt,
        decisions: l.decisions,
        nat: l.nat,
        doubts: l.doubts,
        notes: l.notes,
        fate,
        dnat: l.dnat,
        snat: l.snat,
        untracked: l.untracked,
        arrived_map: l.track.map,
        track: l.track,
    }
}

/// Record that the way on depends on where the destination falls in the device's routing: the
/// path region keeps only destinations of the same routing cell (when the destination still
/// comes from the question's packet; a translated one is the same for every packet).
fn note_route_cell(dev: &CDevice, l: &mut Live) {
    if matches!(l.track.map[Dim::Dst as usize], Source::Orig(_)) {
        let (lo, hi) = dev.route_cell(l.pkt.addr(Dim::Dst));
        l.track.conds.push(CondRec::Range { map: l.track.map, pkt: l.pkt, dim: Dim::Dst, lo, hi, inside: true });
    }
}

/// Routing decision: `Ok(None)` = local delivery, `Ok(Some((oif, gw)))` = forward,
/// `Err(route)` = no route / discarding route.
type Routed = Result<Option<(u16, Option<IpAddr>)>, Option<usize>>;

/// The routing decision for `dst` (see [`Routed`]).
fn route(dev: &CDevice, dst: IpAddr) -> Routed {
    if dev.is_local(dst) || dev.is_broadcast(dst) {
        return Ok(None);
    }
    let Some(idx) = dev.lookup_idx(dst) else {
        return Err(None);
    };
    let r = &dev.routes[idx];
    match r.kind {
        RouteKind::Unicast => {
            let oif = r.oif.or_else(|| r.via.and_then(|g| dev.connected_iface(g)));
            match oif {
                Some(o) => Ok(Some((o, r.via))),
                None => Err(Some(idx)),
            }
        }
        RouteKind::Local => Ok(None),
        _ => Err(Some(idx)),
    }
}

fn arrive(net: &CNetwork, dev_idx: usize, iif: u16, l: Live, arrived: Packet, reply: Option<&ConnNat>, out: &mut Passes) {
    let dev = &net.devices[dev_idx];
    let mut steps = run_hook(dev, dev_idx, Hook::Prerouting, l, reply, Some(iif));
    for s in steps.drain(..) {
        let mut l = match s {
            Step::Done(l, fate) => {
                out.push(finish(dev_idx, Some(iif), None, "forward", arrived, l, fate));
                continue;
            }
            Step::Live(l) => l,
        };
        if let Some(c) = reply {
            rev_dst(&mut l, c);
        }
        if out.len() > MAX_BRANCHES {
            return;
        }
        note_route_cell(dev, &mut l);
        if dev.is_broadcast(l.pkt.addr(Dim::Dst)) && matches!(l.pkt.proto(), proto::TCP | proto::ICMP) {
            out.push(finish(dev_idx, Some(iif), None, "forward", arrived, l, Fate::Broadcast));
            continue;
        }
        let decided = route(dev, l.pkt.addr(Dim::Dst));
        let targets: smallvec::SmallVec<[(Routed, Live); 1]> =
            if matches!(decided, Err(None)) && !dev.has_iface_data && dev.routes.is_empty() {
                // Without interface or route data the device is assumed to forward the packet; the
                // output interface is unknown, so every interface name is tried.
                let note = format!("{}: output interface unknown (no interface or route data)", dev.name);
                dev.ifaces
                    .all()
                    .into_iter()
                    .map(|o| {
                        let mut l2 = l.clone();
                        l2.notes.push(note.clone());
                        (Ok(Some((o, None))), l2)
                    })
                    .collect()
            } else {
                smallvec::smallvec![(decided, l)]
            };
        for (decided, l) in targets {
        let mut l = l;
        match decided {
            Ok(None) => {
                for s in run_hook(dev, dev_idx, Hook::Input, l, reply, Some(iif)) {
                    let (mut l, fate) = match s {
                        Step::Done(l, f) => (l, f),
                        Step::Live(l) => (l, Fate::Delivered),
                    };
                    if let (Some(c), Fate::Delivered) = (reply, &fate) {
                        rev_src(&mut l, c);
                    }
                    out.push(finish(dev_idx, Some(iif), None, "input", arrived, l, fate));
                }
            }
            Ok(Some((oif, gw))) => {
                l.pkt.set(Dim::Oif, oif as u128);
                for s in run_hook(dev, dev_idx, Hook::Forward, l, reply, Some(iif)) {
                    match s {
                        Step::Done(l, f) => out.push(finish(dev_idx, Some(iif), Some(oif), "forward", arrived, l, f)),
                        Step::Live(l) => {
                            for s in run_hook(dev, dev_idx, Hook::Postrouting, l, reply, Some(iif)) {
                                let (mut l, fate) = match s {
                                    Step::Done(l, f) => (l, f),
                                    Step::Live(l) => (l, Fate::Forwarded { oif, gw }),
                                };
                                if let (Some(c), Fate::Forwarded { .. }) = (reply, &fate) {
                                    rev_src(&mut l, c);
                                }
                                out.push(finish(dev_idx, Some(iif), Some(oif), "forward", arrived, l, fate));
                            }
                        }
                    }
                }
            }
            Err(r) => out.push(finish(dev_idx, Some(iif), None, "forward", arrived, l, Fate::NoRoute { route: r })),
        }
        }
    }
}

fn originate(net: &CNetwork, dev_idx: usize, l: Live, arrived: Packet, reply: Option<&ConnNat>, out: &mut Passes) {
    let dev = &net.devices[dev_idx];
    let mut l = l;
    note_route_cell(dev, &mut l);
    let first = route(dev, l.pkt.addr(Dim::Dst));
    let oif0 = match first {
        Ok(Some((o, _))) => o,
        Ok(None) => dev.ifaces.id("lo").unwrap_or(0),
        Err(r) => {
            out.push(finish(dev_idx, None, None, "output", arrived, l, Fate::NoRoute { route: r }));
            return;
        }
    };
    l.pkt.set(Dim::Oif, oif0 as u128);
    for s in run_hook(dev, dev_idx, Hook::Output, l, reply, None) {
        let mut l = match s {
            Step::Done(l, f) => {
                out.push(finish(dev_idx, None, Some(oif0), "output", arrived, l, f));
                continue;
            }
            Step::Live(l) => l,
        };
        if let Some(c) = reply {
            rev_dst(&mut l, c);
        }
        // Destination NAT in OUTPUT re-routes the packet.
        note_route_cell(dev, &mut l);
        match route(dev, l.pkt.addr(Dim::Dst)) {
            Ok(None) => {
                // Sent to itself: loops back through lo into INPUT.
                let lo = dev.ifaces.id("lo").unwrap_or(0);
                l.pkt.set(Dim::Oif, lo as u128);
                for s in run_hook(dev, dev_idx, Hook::Postrouting, l, reply, None) {
                    match s {
                        Step::Done(l, f) => out.push(finish(dev_idx, None, Some(lo), "output", arrived, l, f)),
                        Step::Live(mut l) => {
                            l.pkt.set(Dim::Iif, lo as u128);
                            for s in run_hook(dev, dev_idx, Hook::Input, l, reply, Some(lo)) {
                                let (mut l, fate) = match s {
                                    Step::Done(l, f) => (l, f),
                                    Step::Live(l) => (l, Fate::Delivered),
                                };
                                if let (Some(c), Fate::Delivered) = (reply, &fate) {
                                    rev_src(&mut l, c);
                                }
                                out.push(finish(dev_idx, None, None, "output", arrived, l, fate));
                            }
                        }
                    }
                }
            }
            Ok(Some((oif, gw))) => {
                l.pkt.set(Dim::Oif, oif as u128);
                for s in run_hook(dev, dev_idx, Hook::Postrouting, l, reply, None) {
                    let (mut l, fate) = match s {
                        Step::Done(l, f) => (l, f),
                        Step::Live(l) => (l, Fate::Forwarded { oif, gw }),
                    };
                    if let (Some(c), Fate::Forwarded { .. }) = (reply, &fate) {
                        rev_src(&mut l, c);
                    }
                    out.push(finish(dev_idx, None, Some(oif), "output", arrived, l, fate));
                }
            }
            Err(r) => out.push(finish(dev_idx, None, None, "output", arrived, l, Fate::NoRoute { route: r })),
        }
    }
}

/// Reverse source NAT on a reply: its destination goes back to the original source.
fn rev_dst(l: &mut Live, c: &ConnNat) {
    if l.rev_dst_done || !c.snat || c.untracked {
        return;
    }
    l.rev_dst_done = true;
    let before = ap(&l.pkt, Dim::Dst, Dim::Dport);
    l.pkt.set(Dim::Dst, c.orig.get(Dim::Src));
    l.pkt.set(Dim::Dport, c.orig.get(Dim::Sport));
    l.track.map[Dim::Dst as usize] = c.orig_map[Dim::Src as usize];
    l.track.map[Dim::Dport as usize] = c.orig_map[Dim::Sport as usize];
    l.nat.push(NatApplied { kind: "un-snat", before, after: ap(&l.pkt, Dim::Dst, Dim::Dport), rule: None });
}

/// Reverse destination NAT on a reply: its source goes back to the original destination.
fn rev_src(l: &mut Live, c: &ConnNat) {
    if l.rev_src_done || !c.dnat || c.untracked {
        return;
    }
    l.rev_src_done = true;
    let before = ap(&l.pkt, Dim::Src, Dim::Sport);
    l.pkt.set(Dim::Src, c.orig.get(Dim::Dst));
    l.pkt.set(Dim::Sport, c.orig.get(Dim::Dport));
    l.track.map[Dim::Src as usize] = c.orig_map[Dim::Dst as usize];
    l.track.map[Dim::Sport as usize] = c.orig_map[Dim::Dport as usize];
    l.nat.push(NatApplied { kind: "un-dnat", before, after: ap(&l.pkt, Dim::Src, Dim::Sport), rule: None });
}

fn family_ok(b: crate::model::Family, p: &Packet) -> bool {
    match b {
        crate::model::Family::Any => true,
        crate::model::Family::V4 => !p.is_v6(),
        crate::model::Family::V6 => p.is_v6(),
    }
}

/// Run every ruleset attached to `hook`, in order, over the live branches.
fn run_hook(dev: &CDevice, dev_idx: usize, hook: Hook, l: Live, reply: Option<&ConnNat>, iif: Option<u16>) -> Steps {
    let mut live: Lives = smallvec::smallvec![l];
    let mut done = Steps::new();
    for b in dev.bindings(hook) {
        let mut next = Lives::new();
        for mut l in live {
            if !family_ok(b.family, &l.pkt) {
                next.push(l);
                continue;
            }
            if b.stage.new_only() && Ct::base(l.pkt.get(Dim::Ct) as u8) != Ct::NEW {
                // NAT rulesets see only the first packet of a tracked connection; replies get
                // the connection's NAT reversed by conntrack instead.
                if let Some(c) = reply.filter(|c| !c.untracked) {
                    match (hook, b.stage) {
                        (Hook::Prerouting | Hook::Output, Stage::DstNat) => rev_dst(&mut l, c),
                        (Hook::Postrouting | Hook::Input, Stage::SrcNat) => rev_src(&mut l, c),
                        _ => {}
                    }
                }
                next.push(l);
                continue;
            }
            let outcome = eval_attached(dev, b.ruleset, &l.pkt);
            l.track.conds.push(CondRec::Rules { dev: dev_idx, map: l.track.map, pkt: l.pkt, checks: outcome.checks });
            let uncertain = outcome.exits.len() > 1;
            let n = outcome.exits.len();
            let mut l = Some(l);
            for (k, exit) in outcome.exits.into_iter().enumerate() {
                // The last exit takes the packet's state; the others a copy of it.
                let Some(mut l2) = (if k + 1 == n { l.take() } else { l.clone() }) else { break };
                for d in &exit.doubts {
                    if !l2.doubts.contains(&(dev_idx, *d)) {
                        l2.doubts.push((dev_idx, *d));
                    }
                }
                let at = exit.at;
                let action = exit.action.clone();
                if !exit.effects.is_empty() {
                    // Exempt from connection tracking: untracked, no NAT, no reply recognition.
                    l2.pkt.set(Dim::Ct, Ct::UNTRACKED as u128);
                    l2.untracked = true;
                }
                l2.decisions.push(Decision { exit, uncertain });
                match action {
                    Action::Accept => next.push(l2),
                    Action::Drop => done.push(Step::Done(l2, Fate::Dropped { at, how: "drop" })),
                    Action::Reject(_) => done.push(Step::Done(l2, Fate::Dropped { at, how: "reject" })),
                    Action::Dnat(t) if b.stage == Stage::DstNat => {
                        let before = ap(&l2.pkt, Dim::Dst, Dim::Dport);
                        apply_nat(&mut l2.pkt, &t, true, &mut l2.track);
                        l2.dnat = true;
                        l2.pkt.set(Dim::Ct, l2.pkt.get(Dim::Ct) | Ct::DNAT as u128);
                        l2.nat.push(NatApplied { kind: "dnat", before, after: ap(&l2.pkt, Dim::Dst, Dim::Dport), rule: Some((b.ruleset, at)) });
                        next.push(l2);
                    }
                    Action::Redirect(ports) if b.stage == Stage::DstNat => {
                        let before = ap(&l2.pkt, Dim::Dst, Dim::Dport);
                        let v6 = l2.pkt.is_v6();
                        let addr = match iif {
                            Some(i) => dev.iface_addr(i, v6),
                            None => Some(if v6 { "::1".parse().ok() } else { "127.0.0.1".parse().ok() }).flatten(),
                        };
                        match addr {
                            Some(a) => {
                                let t = NatTarget { addr: Some(crate::model::AddrRange::single(a)), ports };
                                apply_nat(&mut l2.pkt, &t, true, &mut l2.track);
                                l2.dnat = true;
                                l2.pkt.set(Dim::Ct, l2.pkt.get(Dim::Ct) | Ct::DNAT as u128);
                                l2.nat.push(NatApplied { kind: "redirect", before, after: ap(&l2.pkt, Dim::Dst, Dim::Dport), rule: Some((b.ruleset, at)) });
                                next.push(l2);
                            }
                            // The kernel drops redirected packets when the interface has no address.
                            None => done.push(Step::Done(l2, Fate::Dropped { at, how: "redirect without address" })),
                        }
                    }
                    Action::Snat(t) if b.stage == Stage::SrcNat => {
                        let before = ap(&l2.pkt, Dim::Src, Dim::Sport);
                        apply_nat(&mut l2.pkt, &t, false, &mut l2.track);
                        l2.snat = true;
                        l2.nat.push(NatApplied { kind: "snat", before, after: ap(&l2.pkt, Dim::Src, Dim::Sport), rule: Some((b.ruleset, at)) });
                        next.push(l2);
                    }
                    Action::Masquerade(ports) if b.stage == Stage::SrcNat => {
                        let before = ap(&l2.pkt, Dim::Src, Dim::Sport);
                        let oif = l2.pkt.get(Dim::Oif) as u16;
                        match dev.iface_addr(oif, l2.pkt.is_v6()) {
                            Some(a) => {
                                let t = NatTarget { addr: Some(crate::model::AddrRange::single(a)), ports };
                                apply_nat(&mut l2.pkt, &t, false, &mut l2.track);
                                l2.snat = true;
                                l2.nat.push(NatApplied { kind: "masquerade", before, after: ap(&l2.pkt, Dim::Src, Dim::Sport), rule: Some((b.ruleset, at)) });
                                next.push(l2);
                            }
                            None if !dev.has_iface_data => {
                                // Address unknown: the translation happens but its address is unknown;
                                // keep the packet and record the doubt.
                                l2.doubts.push((dev_idx, at));
                                next.push(l2);
                            }
                            None => done.push(Step::Done(l2, Fate::Dropped { at, how: "masquerade without address" })),
                        }
                    }
                    // An action that does not belong to this stage, or is not modelled: its effect is
                    // unknown — the packet possibly stops here and possibly goes on.
                    _ => {
                        if !l2.doubts.contains(&(dev_idx, at)) {
                            l2.doubts.push((dev_idx, at));
                        }
                        done.push(Step::Done(l2.clone(), Fate::Dropped { at, how: "unknown" }));
                        next.push(l2);
                    }
                }
            }
            if next.len() + done.len() > MAX_BRANCHES {
                break;
            }
        }
        live = next;
        if live.is_empty() {
            break;
        }
    }
    // NAT reversal points not reached through a NAT ruleset still apply.
    if let Some(c) = reply {
        for l in &mut live {
            match hook {
                Hook::Prerouting | Hook::Output => rev_dst(l, c),
                _ => {}
            }
        }
    }
    done.extend(live.into_iter().map(Step::Live));
    done
}

/// Where a packet enters the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Sent by a device itself.
    Device(usize),
    /// Arrives at a device on an interface (`None`: interface unknown).
    Arrive(usize, Option<u16>),
    /// Source and destination share a subnet: no device is crossed.
    Direct,
    /// No device is on the path.
    Nowhere,
}

/// Where a packet from `src` to `dst` may enter the network, and notes on the choice. Where
/// several devices could receive it (a subnet shared by routers, several routes towards the
/// outside), every one is returned: the answer is definite only if they all agree.
pub fn entry(net: &CNetwork, src: IpAddr, dst: IpAddr) -> (Vec<Entry>, Vec<String>) {
    let from = EntryFrom::new(net, src);
    let mut notes = Vec::new();
    match &from.kind {
        SourceKind::OnLink(on_link, _) if on_link.len() > 1 && !from.direct(dst) => {
            let names: Vec<&str> = on_link.iter().map(|(i, _)| net.devices[*i].name.as_str()).collect();
            notes.push(format!("{src} is on a subnet shared by {}: its traffic may go through any of them", names.join(", ")));
        }
        SourceKind::Outside(at) => notes.extend(outside_notes(net, src, at)),
        _ => {}
    }
    (from.to(dst).to_vec(), notes)
}

/// [`entry`] from one source to many destinations: what depends on the source alone is found
/// once.
pub struct EntryFrom<'n> {
    net: &'n CNetwork,
    kind: SourceKind<'n>,
}

enum SourceKind<'n> {
    /// A device's own address.
    Device([Entry; 1]),
    /// An address on subnets: the devices on its link, and where it arrives at them.
    OnLink(&'n [(usize, u16)], Vec<Entry>),
    /// An address on no device and no known subnet: where it enters from outside.
    Outside(Vec<Entry>),
}

const DIRECT: [Entry; 1] = [Entry::Direct];

impl<'n> EntryFrom<'n> {
    /// The entries of packets from `src`.
    pub fn new(net: &'n CNetwork, src: IpAddr) -> EntryFrom<'n> {
        let kind = if let Some((d, _)) = owner(net, src) {
            SourceKind::Device([Entry::Device(d)])
        } else {
            let on_link = net.on_link(src);
            if on_link.is_empty() {
                SourceKind::Outside(outside_entries(net, src))
            } else {
                SourceKind::OnLink(on_link, on_link.iter().map(|&(d, id)| Entry::Arrive(d, Some(id))).collect())
            }
        };
        EntryFrom { net, kind }
    }

    /// True if a packet to `dst` reaches it on the source's own subnet, crossing no device.
    fn direct(&self, dst: IpAddr) -> bool {
        let SourceKind::OnLink(on_link, _) = &self.kind else { return false };
        on_link.iter().any(|&(d, id)| {
            let dev = &self.net.devices[d];
            dev.connected_iface(dst) == Some(id) && !dev.is_local(dst) && owner(self.net, dst).is_none()
        })
    }

    /// Where a packet to `dst` may enter the network ([`entry`] without the notes).
    pub fn to(&self, dst: IpAddr) -> &[Entry] {
        match &self.kind {
            SourceKind::Device(d) => d,
            SourceKind::OnLink(_, at) => {
                if self.direct(dst) {
                    &DIRECT
                } else {
                    at
                }
            }
            SourceKind::Outside(at) => at,
        }
    }
}

/// Where a packet from `src`, an address on no device and on no known subnet, enters: where
/// the network meets the outside on the way back to it — a device whose route towards it leaves
/// the modelled network (a gateway that is no modelled device), not one that hands it to a
/// neighbour. This depends on `src` only through the devices' routes, so it is the same for
/// every address of a routing cell.
pub fn outside_entries(net: &CNetwork, src: IpAddr) -> Vec<Entry> {
    let mut at = Vec::new();
    for (i, d) in net.devices.iter().enumerate() {
        if let Some(r) = d.lookup(src) {
            let to_neighbour = r.via.is_some_and(|g| owner(net, g).is_some_and(|(o, _)| o != i));
            if r.kind == RouteKind::Unicast && !to_neighbour {
                if let Some(oif) = r.oif.or_else(|| r.via.and_then(|g| d.connected_iface(g))) {
                    at.push(Entry::Arrive(i, Some(oif)));
                }
            }
        }
    }
    if !at.is_empty() {
        return at;
    }
    if let Some(i) = net.devices.iter().position(|d| d.has_firewall && !d.has_iface_data) {
        return vec![Entry::Arrive(i, None)];
    }
    vec![Entry::Nowhere]
}

/// The notes on [`outside_entries`] for `src`: several ways in, or a device assumed to be
/// crossed for want of interface data.
pub fn outside_notes(net: &CNetwork, src: IpAddr, at: &[Entry]) -> Vec<String> {
    let name = |e: &Entry| if let Entry::Arrive(i, _) = e { Some(net.devices[*i].name.as_str()) } else { None };
    match at {
        [Entry::Arrive(i, None)] => vec![format!(
            "{} has no interface or route data: the packet is assumed to be forwarded through it, on unknown interfaces",
            net.devices[*i].name
        )],
        [_, _, ..] => {
            let names: Vec<&str> = at.iter().filter_map(name).collect();
            vec![format!("traffic from {src} may enter at {}: each of them routes towards it", names.join(" or "))]
        }
        _ => Vec::new(),
    }
}

/// The next device after a device forwarded a packet out of `oif` towards `gw` (or on-link):
/// the device owning the next hop's address, else the far end of a manifest link on `oif`.
pub fn next_device(net: &CNetwork, from: usize, oif: u16, gw: Option<IpAddr>, dst: IpAddr) -> Option<(usize, u16)> {
    let target = gw.unwrap_or(dst);
    match owner(net, target) {
        Some((d, i)) => (d != from).then_some((d, i)),
        None => net.links.get(&(from, oif)).copied().filter(|(d, _)| *d != from),
    }
}

/// The ICMP (`v6 = false`) or ICMPv6 types whose first packet has a reply in
/// [`reply_packet`], each alone; every other type has none. Outside the rules a walk treats
/// the types of one such cell alike.
pub fn icmp_reply_types(v6: bool) -> &'static [u8] {
    if v6 {
        &[128]
    } else {
        &[8, 13, 15, 17]
    }
}

/// The first packet of the reply to a connection whose first packet arrived as `fwd`.
pub fn reply_packet(fwd: &Packet) -> Option<Packet> {
    let mut r = *fwd;
    r.set(Dim::Src, fwd.get(Dim::Dst));
    r.set(Dim::Dst, fwd.get(Dim::Src));
    r.set(Dim::Sport, fwd.get(Dim::Dport));
    r.set(Dim::Dport, fwd.get(Dim::Sport));
    match fwd.proto() {
        proto::TCP => r.set(Dim::TcpFlags, (tcp_flags::SYN | tcp_flags::ACK) as u128),
        proto::ICMP => {
            let t = match fwd.get(Dim::IcmpType) {
                8 => 0,
                13 => 14,
                15 => 16,
                17 => 18,
                _ => return None,
            };
            r.set(Dim::IcmpType, t);
        }
        proto::ICMPV6 => {
            if fwd.get(Dim::IcmpType) != 128 {
                return None;
            }
            r.set(Dim::IcmpType, 129);
        }
        _ => {}
    }
    Some(r)
}

/// A complete possible path of a packet: one pass per device crossed.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Device passes in order.
    pub passes: Vec<DevPass>,
    /// True if the packet reached its destination.
    pub delivered: bool,
    /// Why the walk stopped without a device verdict (loop, branch limit), if so.
    pub note: Option<String>,
}

/// Devices a path is given room for at once (most paths cross fewer; a longer one grows).
const PASSES: usize = 8;

/// Every possible path of `pkt` from an entry point.
pub fn walk(net: &CNetwork, start: &Entry, pkt: Packet) -> Vec<Trace> {
    let map = identity_map();
    let mut out = Vec::new();
    match start {
        Entry::Direct => out.push(Trace { passes: vec![], delivered: true, note: None }),
        Entry::Nowhere => out.push(Trace { passes: vec![], delivered: true, note: Some("no modelled device is on the path".into()) }),
        Entry::Device(d) => walk_from(net, *d, None, pkt, map, Vec::with_capacity(PASSES), &mut out),
        Entry::Arrive(d, Some(i)) => walk_from(net, *d, Some(*i), pkt, map, Vec::with_capacity(PASSES), &mut out),
        Entry::Arrive(d, None) => {
            let dev = &net.devices[*d];
            let note = format!("{}: input interface unknown (no interface data)", dev.name);
            for i in dev.ifaces.all() {
                let before = out.len();
                walk_from(net, *d, Some(i), pkt, map, Vec::with_capacity(PASSES), &mut out);
                for t in &mut out[before..] {
                    if let Some(p) = t.passes.first_mut() {
                        p.notes.push(note.clone());
                    }
                }
                if out.len() > MAX_BRANCHES {
                    break;
                }
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk_from(net: &CNetwork, dev: usize, iif: Option<u16>, pkt: Packet, map: Map, prefix: Vec<DevPass>, out: &mut Vec<Trace>) {
    if out.len() > MAX_BRANCHES {
        out.push(Trace { passes: prefix, delivered: false, note: Some("too many possible paths: stopped exploring".into()) });
        return;
    }
    if prefix.len() >= MAX_DEVICE_HOPS {
        out.push(Trace { passes: prefix, delivered: false, note: Some("routing loop: too many devices crossed".into()) });
        return;
    }
    let here = pass(net, dev, iif, pkt, None, Track::new(map));
    let n = here.len();
    let mut prefix = Some(prefix);
    for (k, p) in here.into_iter().enumerate() {
        // The last way on takes the passes so far; the others a copy of them.
        let Some(mut passes) = (if k + 1 == n { prefix.take() } else { prefix.clone() }) else { break };
        let fate = p.fate.clone();
        let left = p.left;
        let left_map = p.track.map;
        passes.push(p);
        match fate {
            Fate::Forwarded { oif, gw } => {
                let dst = left.addr(Dim::Dst);
                if gw.is_none() && matches!(left_map[Dim::Dst as usize], Source::Orig(_)) {
                    // On the link, the destination itself says which device (if any) is next.
                    let (lo, hi) = super::compile::cell_of(&net.owner_cuts, crate::space::addr_to_u128(dst));
                    if let Some(last) = passes.last_mut() {
                        last.track.conds.push(CondRec::Range { map: left_map, pkt: left, dim: Dim::Dst, lo, hi, inside: true });
                    }
                }
                match next_device(net, dev, oif, gw, dst) {
                    Some((d2, i2)) if passes.iter().filter(|x| x.device == d2 && x.iif == Some(i2)).count() < 2 => {
                        walk_from(net, d2, Some(i2), left, left_map, passes, out)
                    }
                    Some(_) => out.push(Trace { passes, delivered: false, note: Some("routing loop".into()) }),
                    None => out.push(Trace { passes, delivered: true, note: None }),
                }
            }
            Fate::Delivered => out.push(Trace { passes, delivered: true, note: None }),
            Fate::Dropped { .. } | Fate::NoRoute { .. } | Fate::Broadcast => {
                out.push(Trace { passes, delivered: false, note: None })
            }
        }
    }
}

/// Every possible path of the first reply to a connection that took `fwd`: back through the
/// same devices in reverse order, each reversing its own NAT.
pub fn walk_reply(net: &CNetwork, fwd: &Trace) -> Vec<Trace> {
    let Some(last) = fwd.passes.last() else {
        return vec![Trace { passes: vec![], delivered: true, note: None }];
    };
    let Some(first_reply) = reply_packet(&last.left) else {
        return vec![Trace { passes: vec![], delivered: true, note: Some("no reply expected for this packet type".into()) }];
    };
    let mut out = Vec::new();
    // A first packet that left the modelled network is answered from outside: if the answer
    // could come back through another device than the one it left by, that device never saw
    // the connection, and what it does with the reply is not what the walk below assumes.
    if let Fate::Forwarded { .. } = last.fate {
        let (entries, _) = entry(net, first_reply.addr(Dim::Src), first_reply.addr(Dim::Dst));
        let others: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Arrive(d, _) if *d != last.device => Some(net.devices[*d].name.as_str()),
                _ => None,
            })
            .collect();
        if !others.is_empty() && entries.len() > 1 {
            out.push(Trace {
                passes: vec![],
                delivered: false,
                note: Some(format!(
                    "the reply from {} may come back through {}, not through {} where the connection left: the connection state is not there",
                    first_reply.addr(Dim::Src),
                    others.join(" or "),
                    net.devices[last.device].name
                )),
            });
        }
    }
    reply_from(net, fwd, fwd.passes.len(), first_reply, reply_map(&last.track.map), Vec::with_capacity(fwd.passes.len()), &mut out);
    out
}

/// The decision [`walk_reply`] takes for a first packet that left the modelled network — where
/// its reply may enter — depends on the reply's source (the first packet's destination then)
/// through every device's addresses, subnets and routes: the region keeps only sources in the
/// same cell of the network's routing boundaries.
pub fn reply_entry_cond(net: &CNetwork, fwd: &Trace) -> Option<CondRec> {
    let last = fwd.passes.last()?;
    if !matches!(last.fate, Fate::Forwarded { .. }) {
        return None;
    }
    let first_reply = reply_packet(&last.left)?;
    let map = reply_map(&last.track.map);
    let (lo, hi) = super::compile::cell_of(&net.route_cuts, first_reply.get(Dim::Src));
    Some(CondRec::Range { map, pkt: first_reply, dim: Dim::Src, lo, hi, inside: true })
}

/// The first reply's ways through the device of the forward pass `f`, arriving as `pkt` with
/// `map` where the first packet left (a first packet delivered to the device itself is
/// answered by the device), each with whether it goes on towards the source: forwarded when
/// the first packet arrived from elsewhere, delivered when the device sent it.
pub fn reply_pass(net: &CNetwork, f: &DevPass, pkt: Packet, map: Map) -> Passes {
    let conn = ConnNat { orig: f.arrived, dnat: f.dnat, snat: f.snat, untracked: f.untracked, orig_map: f.arrived_map };
    let iif = match f.fate {
        Fate::Delivered => None,
        _ => f.oif,
    };
    let mut pkt = pkt;
    pkt.set(Dim::Iif, 0);
    let mut here = pass(net, f.device, iif, pkt, Some(&conn), Track::new(map));
    for p in &mut here {
        p.notes.extend(f.notes.iter().cloned());
        if let (Fate::Forwarded { oif, .. }, Some(orig_iif)) = (&p.fate, f.iif) {
            if *oif != orig_iif && net.devices[f.device].has_iface_data {
                let d = &net.devices[f.device];
                p.notes.push(format!(
                    "{}: asymmetric route: the reply leaves on {} but the connection came in on {}",
                    d.name,
                    d.ifaces.name(*oif),
                    d.ifaces.name(orig_iif)
                ));
            }
        }
    }
    here
}

/// Whether a reply's way through a device ([`reply_pass`] of the forward pass `f`) goes on
/// towards the source.
pub fn reply_goes_on(f: &DevPass, p: &DevPass) -> bool {
    matches!((&p.fate, f.iif), (Fate::Forwarded { .. }, Some(_)) | (Fate::Delivered, None))
}

fn reply_from(net: &CNetwork, fwd: &Trace, k: usize, pkt: Packet, map: Map, prefix: Vec<DevPass>, out: &mut Vec<Trace>) {
    if k == 0 {
        out.push(Trace { passes: prefix, delivered: true, note: None });
        return;
    }
    if out.len() > MAX_BRANCHES {
        out.push(Trace { passes: prefix, delivered: false, note: Some("too many possible paths: stopped exploring".into()) });
        return;
    }
    let f = &fwd.passes[k - 1];
    let here = reply_pass(net, f, pkt, map);
    let n = here.len();
    let mut prefix = Some(prefix);
    for (i, p) in here.into_iter().enumerate() {
        let ok = reply_goes_on(f, &p);
        let left = p.left;
        let left_map = p.track.map;
        let Some(mut passes) = (if i + 1 == n { prefix.take() } else { prefix.clone() }) else { break };
        passes.push(p);
        if ok {
            reply_from(net, fwd, k - 1, left, left_map, passes, out);
        } else {
            out.push(Trace { passes, delivered: false, note: None });
        }
    }
}

/// The address the device uses as source towards `dst` (the route's `src`, else the output
/// interface's first address of the family).
pub fn source_address(dev: &CDevice, dst: IpAddr) -> Option<IpAddr> {
    let v6 = dst.is_ipv6();
    if let Some(r) = dev.lookup(dst) {
        if let Some(s) = r.src.filter(|s| s.is_ipv6() == v6) {
            return Some(s);
        }
        let oif = r.oif.or_else(|| r.via.and_then(|g| dev.connected_iface(g)));
        if let Some(a) = oif.and_then(|o| dev.iface_addr(o, v6)) {
            return Some(a);
        }
    }
    dev.addrs.iter().map(|(n, _)| n.addr()).find(|a| a.is_ipv6() == v6 && !a.is_loopback())
}

/// Convert a packet's address dimension for display.
pub fn show_ap(a: (IpAddr, u16), p: &Packet) -> String {
    if proto::has_ports(p.proto()) {
        match a.0 {
            IpAddr::V6(v6) => format!("[{v6}]:{}", a.1),
            IpAddr::V4(v4) => format!("{v4}:{}", a.1),
        }
    } else {
        a.0.to_string()
    }
}

