//! Per-rule effective match: for every rule of every ruleset, the exact set of packets that
//! reach it and that its conditions select, following jumps, gotos and returns into called
//! rulesets; and the set that falls through to the end (the default of an attached ruleset).
//!
//! Each attached ruleset (a built-in chain, an ACL bound to an interface) is walked with every
//! well-formed packet of its family. A called ruleset is walked once per call path (a
//! *context*) with exactly the packets the calling rule hands over, so a rule of a chain called
//! from several places has one set per context; their union is the rule's effective match.
//!
//! Rules with conditions that are not modelled get two bounds. The upper bound (`may`) assumes
//! they may match wherever their modelled conditions hold, and that packets they might take
//! might also go on; the lower bound (`must`) assumes they match nowhere for the rule itself
//! while packets they might take are no longer certain to reach anything after them. A packet
//! in `must` reaches the rule whatever the unmodelled conditions do; a packet in `may` only
//! for some reading of them. Without unmodelled conditions both bounds are the same set.
//!
//! The checks read the sets kept apart ([`device_effect_dd_apart`]): a rule of a ruleset walked
//! by regions keeps its region apart from its context's entry, and an attached ruleset that
//! calls others keeps its remainder as factors, one per dimension its cutting rules test first.
//! A `FORWARD` chain dispatching to per-interface chains by input and by output interface holds,
//! made whole, one remainder per pair of interfaces (a product: 250,000 pairs at 500 VLANs); kept
//! apart it holds two factors as large as their rules. The sets are the same; a check tests them
//! together without making their intersection ([`Dd::meets_all`], [`Dd::witness_all`]) and
//! makes it only to describe it.

use crate::model::{Action, Family};
use crate::reach::{CDevice, RuleLoc};
use crate::space::dd::{self, Dd};
use crate::space::{self, proto, Cube, Dim, PacketSet, Ranges};

/// Jumps nested deeper than this are treated as an unknown action (the kernel refuses loops;
/// this guards against malformed input).
pub const MAX_JUMP_DEPTH: usize = 64;

/// Call paths walked per device before further calls are treated as unknown actions (a
/// chain called from many chains that are themselves called from many places multiplies).
pub const MAX_CONTEXTS: usize = 200_000;

/// Most cube visits (remainder cubes examined, summed over every rule walked) per device before
/// the walk stops: past it the device's effective sets are incomplete ([`DeviceEffect::truncated`]).
pub const MAX_WORK: usize = 8_000_000;

/// Most diagram nodes made for the entry of a ruleset entered with sets kept apart
/// ([`device_effect_dd_apart`]) before it is kept apart instead: an entry whose factors narrow
/// each other is made, a product of them is not.
pub const MAX_MADE_ENTRY: usize = 1 << 16;

/// The set operations the walk needs, so that it runs on either exact representation: the
/// cube sets of [`PacketSet`] ([`Cubes`]) or the decision diagrams of [`dd`] ([`Dd`]).
pub trait Algebra {
    /// A set of packets.
    type Set: Clone + std::fmt::Debug + Default;
    /// The set of a rule's conditions (or any cube set).
    fn set(&mut self, s: &PacketSet) -> Self::Set;
    /// True if the set holds no packet.
    fn is_empty(&self, s: &Self::Set) -> bool;
    /// True if both sets hold the same packets.
    fn same(&mut self, a: &Self::Set, b: &Self::Set) -> bool;
    /// `a ∩ b`.
    fn and(&mut self, a: &Self::Set, b: &Self::Set) -> Self::Set;
    /// True if `a` and `b` share a packet.
    fn meets(&mut self, a: &Self::Set, b: &Self::Set) -> bool {
        let m = self.and(a, b);
        !self.is_empty(&m)
    }
    /// True if all of `sets` share a packet (true for none).
    fn meets_all(&mut self, sets: &[Self::Set]) -> bool {
        let mut acc = self.full();
        for x in sets {
            acc = self.and(&acc, x);
        }
        !self.is_empty(&acc)
    }
    /// The intersection of all `sets`, unless making it takes more than about `budget` units of
    /// memory (diagram nodes): then `None`.
    fn and_within(&mut self, sets: &[Self::Set], _budget: usize) -> Option<Self::Set> {
        let mut acc = self.full();
        for x in sets {
            acc = self.and(&acc, x);
        }
        Some(acc)
    }
    /// Every packet.
    fn full(&mut self) -> Self::Set;
    /// A key grouping sets that are cheap to intersect with each other: for diagrams, the first
    /// dimension tested.
    fn key(&self, _s: &Self::Set) -> usize {
        0
    }
    /// `a − b`.
    fn diff(&mut self, a: &Self::Set, b: &Self::Set) -> Self::Set;
    /// `a −= b`.
    fn minus(&mut self, a: &mut Self::Set, b: &Self::Set);
    /// `a ∪= b`; `disjoint` says the caller knows they share no packet.
    fn add(&mut self, a: &mut Self::Set, b: Self::Set, disjoint: bool);
    /// Tidy a set that just received packets back from a called ruleset.
    fn tidy(&mut self, _s: &mut Self::Set) {}
    /// Work charged for carrying this set past one rule (counted against [`MAX_WORK`]).
    fn work(&self, s: &Self::Set) -> usize;
    /// Bytes held outside the sets themselves (a decision-diagram manager's nodes), counted
    /// against [`MAX_SHARED_BYTES`].
    fn shared_bytes(&self) -> usize {
        0
    }
}

/// The cube sets of [`PacketSet`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Cubes;

impl Algebra for Cubes {
    type Set = PacketSet;
    fn full(&mut self) -> PacketSet {
        PacketSet::full()
    }
    fn set(&mut self, s: &PacketSet) -> PacketSet {
        s.clone()
    }
    fn is_empty(&self, s: &PacketSet) -> bool {
        s.is_empty()
    }
    fn same(&mut self, a: &PacketSet, b: &PacketSet) -> bool {
        a.same_as(b)
    }
    fn and(&mut self, a: &PacketSet, b: &PacketSet) -> PacketSet {
        a.intersect(b)
    }
    fn diff(&mut self, a: &PacketSet, b: &PacketSet) -> PacketSet {
        a.difference(b)
    }
    fn minus(&mut self, a: &mut PacketSet, b: &PacketSet) {
        subtract(a, b)
    }
    fn add(&mut self, a: &mut PacketSet, b: PacketSet, disjoint: bool) {
        if disjoint {
            a.extend_disjoint(b)
        } else {
            *a = a.union(&b)
        }
    }
    fn tidy(&mut self, s: &mut PacketSet) {
        coalesce(s)
    }
    fn work(&self, s: &PacketSet) -> usize {
        s.cubes().len()
    }
}

impl Algebra for Dd {
    type Set = dd::Set;
    fn set(&mut self, s: &PacketSet) -> dd::Set {
        self.from_packet_set(s)
    }
    fn is_empty(&self, s: &dd::Set) -> bool {
        s.is_empty()
    }
    fn same(&mut self, a: &dd::Set, b: &dd::Set) -> bool {
        a == b
    }
    fn and(&mut self, a: &dd::Set, b: &dd::Set) -> dd::Set {
        Dd::and(self, *a, *b)
    }
    fn meets(&mut self, a: &dd::Set, b: &dd::Set) -> bool {
        Dd::meets(self, *a, *b)
    }
    fn meets_all(&mut self, sets: &[dd::Set]) -> bool {
        Dd::meets_all(self, sets)
    }
    fn full(&mut self) -> dd::Set {
        dd::Set::FULL
    }
    fn and_within(&mut self, sets: &[dd::Set], budget: usize) -> Option<dd::Set> {
        Dd::and_within(self, sets, budget)
    }
    fn key(&self, s: &dd::Set) -> usize {
        self.top(*s)
    }
    fn diff(&mut self, a: &dd::Set, b: &dd::Set) -> dd::Set {
        Dd::diff(self, *a, *b)
    }
    fn minus(&mut self, a: &mut dd::Set, b: &dd::Set) {
        *a = Dd::diff(self, *a, *b)
    }
    fn add(&mut self, a: &mut dd::Set, b: dd::Set, _disjoint: bool) {
        *a = Dd::or(self, *a, b)
    }
    fn work(&self, _s: &dd::Set) -> usize {
        // One unit per rule; the diagrams' growth is bounded by `MAX_SHARED_BYTES`.
        1
    }
    fn shared_bytes(&self) -> usize {
        self.bytes()
    }
}

/// Most memory a device's decision diagrams may take before its walk stops (the page runs in
/// a 32-bit WebAssembly memory).
pub const MAX_SHARED_BYTES: usize = 512 << 20;

/// A set of packets with an upper and a lower bound.
#[derive(Clone, Debug, Default)]
pub struct Flow<S = PacketSet> {
    /// Packets that possibly belong (for some reading of unmodelled conditions).
    pub may: S,
    /// Packets that certainly belong; `None` when equal to `may` (no doubt on the way).
    must: Option<S>,
}

impl<S: Clone + Default> Flow<S> {
    /// No packet.
    pub fn empty() -> Flow<S> {
        Flow { may: S::default(), must: None }
    }

    /// A set without doubt.
    pub fn exact(s: S) -> Flow<S> {
        Flow { may: s, must: None }
    }

    /// Both bounds.
    pub fn bounds(may: S, must: S) -> Flow<S> {
        Flow { may, must: Some(must) }
    }

    /// The lower bound.
    pub fn must(&self) -> &S {
        self.must.as_ref().unwrap_or(&self.may)
    }

    /// True if the bounds differ (some unmodelled construct is involved).
    pub fn doubtful_in<A: Algebra<Set = S>>(&self, alg: &mut A) -> bool {
        self.must.as_ref().is_some_and(|m| !alg.same(m, &self.may))
    }

    /// True if even the upper bound is empty.
    pub fn is_empty_in<A: Algebra<Set = S>>(&self, alg: &A) -> bool {
        alg.is_empty(&self.may)
    }

    /// `self − s` on both bounds.
    fn minus<A: Algebra<Set = S>>(mut self, alg: &mut A, s: &S) -> Flow<S> {
        alg.minus(&mut self.may, s);
        if let Some(m) = &mut self.must {
            alg.minus(m, s);
        }
        self
    }

    /// `self − s` on the lower bound only (packets only possibly taken).
    fn minus_must<A: Algebra<Set = S>>(self, alg: &mut A, s: &S) -> Flow<S> {
        let mut must = self.must().clone();
        alg.minus(&mut must, s);
        Flow { may: self.may, must: Some(must) }
    }

    /// Add `o`; `disjoint` says the caller knows both bounds are disjoint from ours.
    fn add<A: Algebra<Set = S>>(&mut self, alg: &mut A, o: Flow<S>, disjoint: bool) {
        if alg.is_empty(&o.may) {
            return;
        }
        let must = match (self.must.take(), o.must) {
            (None, None) => None,
            (a, b) => {
                let mut a = a.unwrap_or_else(|| self.may.clone());
                let b = b.unwrap_or_else(|| o.may.clone());
                alg.add(&mut a, b, disjoint);
                Some(a)
            }
        };
        alg.add(&mut self.may, o.may, disjoint);
        self.must = must;
    }
}

impl Flow<PacketSet> {
    /// True if the bounds differ (some unmodelled construct is involved).
    pub fn doubtful(&self) -> bool {
        self.doubtful_in(&mut Cubes)
    }

    /// True if even the upper bound is empty.
    pub fn is_empty(&self) -> bool {
        self.may.is_empty()
    }
}

/// `set −= o`, splitting each cube along the dimensions where `o` is narrowest first: the
/// large remainder outside `o` stays one cube and the pieces near `o` stay small, so a ruleset's
/// remainder grows by a few small cubes per rule instead of splitting again and again (the
/// result is the same set as [`PacketSet::subtract`], cut differently).
pub fn subtract(set: &mut PacketSet, o: &PacketSet) {
    for c in o.cubes() {
        if set.is_empty() {
            return;
        }
        if !set.cubes().iter().any(|a| a.intersects(c)) {
            continue;
        }
        let cubes = std::mem::take(set).into_cubes();
        let mut out = Vec::with_capacity(cubes.len() + 4);
        for a in cubes {
            if a.intersects(c) {
                narrow_first_difference(a, c, &mut out);
            } else {
                out.push(a);
            }
        }
        *set = PacketSet::from_disjoint_cubes(out);
    }
}

/// Merge cubes that differ in one dimension only (their sets in that dimension are disjoint,
/// so the merged cube holds exactly the same packets). Packets coming back from a called
/// ruleset meet their siblings that did not go there, and become one cube again.
pub fn coalesce(set: &mut PacketSet) {
    use std::hash::{Hash, Hasher};
    if set.cubes().len() < 2 {
        return;
    }
    for d in Dim::ALL {
        let cubes = std::mem::take(set).into_cubes();
        let key = |c: &Cube| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for e in Dim::ALL {
                if e != d {
                    c.get(e).hash(&mut h);
                }
            }
            h.finish()
        };
        let mut order: Vec<(u64, usize)> = cubes.iter().enumerate().map(|(i, c)| (key(c), i)).collect();
        order.sort_unstable();
        let mut slots: Vec<Option<Cube>> = cubes.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(slots.len());
        let mut i = 0;
        while i < order.len() {
            let mut j = i + 1;
            while j < order.len() && order[j].0 == order[i].0 {
                j += 1;
            }
            let Some(mut base) = slots[order[i].1].take() else { i = j; continue };
            for k in (i + 1)..j {
                let same = slots[order[k].1]
                    .as_ref()
                    .is_some_and(|c| Dim::ALL.iter().all(|&e| e == d || c.get(e) == base.get(e)));
                if same {
                    if let Some(c) = slots[order[k].1].take() {
                        let u = base.get(d).union(c.get(d));
                        base.set(d, u);
                    }
                }
            }
            out.push(base);
            for k in (i + 1)..j {
                if let Some(c) = slots[order[k].1].take() {
                    out.push(c);
                }
            }
            i = j;
        }
        *set = PacketSet::from_disjoint_cubes(out);
    }
}

fn narrow_first_difference(a: Cube, c: &Cube, out: &mut Vec<Cube>) {
    let mut dims: Vec<(f64, Dim)> = Dim::ALL
        .iter()
        .filter(|d| c.is_constrained(**d))
        .map(|&d| {
            let total = a.get(d).count().max(1) as f64;
            let inside = a.get(d).intersect(c.get(d)).count() as f64;
            (inside / total, d)
        })
        .collect();
    dims.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut rest = a;
    for (_, d) in dims {
        let outside = rest.get(d).difference(c.get(d));
        if !outside.is_empty() {
            let mut piece = rest.clone();
            piece.set(d, outside);
            out.push(piece);
        }
        let inside = rest.get(d).intersect(c.get(d));
        if inside.is_empty() {
            return;
        }
        rest.set(d, inside);
    }
}

/// How a rule's action moves a packet through its ruleset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Decides the packet (accept, drop, reject, address translation).
    Decide,
    /// No effect on where the packet goes (logging, marking); evaluation goes on.
    Continue,
    /// Back to the calling ruleset.
    Return,
    /// Evaluate another ruleset, then go on after this rule if it returns.
    Jump(usize),
    /// Evaluate another ruleset instead of the rest of this one.
    Goto(usize),
    /// An action whose effect is not modelled: possibly decides, possibly goes on.
    Unknown,
}

impl Step {
    /// The step of an action.
    pub fn of(a: &Action) -> Step {
        match a {
            Action::Accept
            | Action::Drop
            | Action::Reject(_)
            | Action::Dnat(_)
            | Action::Snat(_)
            | Action::Masquerade(_)
            | Action::Redirect(_) => Step::Decide,
            Action::Continue(_) | Action::Notrack => Step::Continue,
            Action::Return => Step::Return,
            Action::Jump(t) => Step::Jump(*t),
            Action::Goto(t) => Step::Goto(*t),
            Action::Unknown(_) => Step::Unknown,
        }
    }
}

/// One call path: the attached ruleset it starts from and the jump/goto rules taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The attached ruleset.
    pub root: usize,
    /// Jump and goto rules taken, outermost first.
    pub stack: Vec<RuleLoc>,
}

/// What one rule does in one context.
#[derive(Clone, Debug)]
pub struct RuleCtx<S = PacketSet> {
    /// Index into [`DeviceEffect::contexts`].
    pub ctx: u32,
    /// Packets that reach the rule and satisfy its conditions.
    pub matched: Flow<S>,
    /// Packets whose way through this ruleset the rule settles: the matched packets for
    /// deciding rules, returns, gotos and unknown actions; for a jump, those that do not come
    /// back; nothing for rules that let evaluation go on.
    pub decided: Flow<S>,
    /// `matched` and `decided` are to be met with each of these sets (none: they are made).
    /// Kept apart because their intersection is the large part of the sets: the context's
    /// entry of a ruleset walked by regions (an entry split by every interface of the packets
    /// handed back before it, met by every rule), and the factors of a remainder kept apart
    /// ([`RulesetCtx::apart`]). Most checks need only a test of it. Only
    /// [`device_effect_dd_apart`] leaves sets apart, and only where they meet.
    pub within: Vec<S>,
}

/// The effective sets of one rule.
#[derive(Clone, Debug)]
pub struct RuleEffect<S = PacketSet> {
    /// Per context where the rule matches something (upper bound non-empty).
    pub ctxs: Vec<RuleCtx<S>>,
    /// A jump was not followed (depth or loop guard); treated as an unknown action.
    pub not_followed: bool,
}

impl RuleEffect {
    /// True if the rule possibly matches some packet in some context.
    pub fn possibly_matches(&self) -> bool {
        self.ctxs.iter().any(|c| !c.matched.may.is_empty())
    }

    /// True if the rule certainly matches some packet in some context.
    pub fn certainly_matches(&self) -> bool {
        self.ctxs.iter().any(|c| !c.matched.must().is_empty())
    }

    /// The union over contexts of the matched packets (upper bound).
    pub fn matched_may(&self) -> PacketSet {
        union_all(self.ctxs.iter().map(|c| &c.matched.may))
    }

    /// The union over contexts of the decided packets (upper bound).
    pub fn decided_may(&self) -> PacketSet {
        union_all(self.ctxs.iter().map(|c| &c.decided.may))
    }
}

impl<S> Default for RuleEffect<S> {
    fn default() -> Self {
        RuleEffect { ctxs: Vec::new(), not_followed: false }
    }
}

/// One context's entry to a ruleset and what falls through its end.
#[derive(Clone, Debug)]
pub struct RulesetCtx<S = PacketSet> {
    /// Index into [`DeviceEffect::contexts`].
    pub ctx: u32,
    /// Packets handed to the ruleset.
    pub entry: Flow<S>,
    /// Packets no rule settles (they fall off the last rule).
    pub end: Flow<S>,
    /// Packets that leave the ruleset without a decision of its own: those of `end`, those of
    /// its returns, and those coming back from its gotos. For an attached ruleset these get
    /// its default; a called one hands them back to the caller.
    pub returned: Flow<S>,
    /// When present, the context was walked with sets kept apart
    /// ([`device_effect_dd_apart`]): `entry` is to be met with each of these sets, and `end`
    /// and `returned` are not made (left empty; no check reads them). The remainder of a
    /// ruleset that calls others is then kept as factors (what the rules cutting it by input
    /// interface leave, what those cutting it by output interface leave, …) instead of their
    /// intersection, which is a product of the two (one set per pair of interfaces).
    pub apart: Option<Vec<S>>,
}

/// The effective sets of one ruleset.
#[derive(Clone, Debug)]
pub struct RulesetEffect<S = PacketSet> {
    /// True if the ruleset is attached (walked with every packet of its family).
    pub attached: bool,
    /// Rules that jump or go to this ruleset.
    pub callers: Vec<RuleLoc>,
    /// Per context.
    pub ctxs: Vec<RulesetCtx<S>>,
    /// Per rule.
    pub rules: Vec<RuleEffect<S>>,
}

impl<S> Default for RulesetEffect<S> {
    fn default() -> Self {
        RulesetEffect { attached: false, callers: Vec::new(), ctxs: Vec::new(), rules: Vec::new() }
    }
}

impl RulesetEffect {
    /// The union over contexts of the packets reaching the end (upper bound).
    pub fn end_may(&self) -> PacketSet {
        union_all(self.ctxs.iter().map(|c| &c.end.may))
    }
}

/// The effective sets of every ruleset of one device.
#[derive(Clone, Debug)]
pub struct DeviceEffect<S = PacketSet> {
    /// Call paths, referenced by index.
    pub contexts: Vec<Context>,
    /// Per ruleset, in model order.
    pub rulesets: Vec<RulesetEffect<S>>,
    /// True if [`MAX_CONTEXTS`] was reached (some calls were taken as unknown actions).
    pub truncated: bool,
    /// True if [`MAX_WORK`] was reached: the walk stopped and the sets are incomplete.
    pub over_budget: bool,
}

impl<S> Default for DeviceEffect<S> {
    fn default() -> Self {
        DeviceEffect { contexts: Vec::new(), rulesets: Vec::new(), truncated: false, over_budget: false }
    }
}

fn union_all<'a>(sets: impl Iterator<Item = &'a PacketSet>) -> PacketSet {
    let mut out = PacketSet::empty();
    for s in sets {
        if out.is_empty() {
            out = s.clone();
        } else {
            out = out.union(s);
        }
    }
    out
}

/// Every well-formed packet a ruleset of `family` can see on a device with `ifaces`
/// interface ids: ports only for protocols that carry them, ICMP type and code only for ICMP,
/// TCP flags only for TCP, valid connection-tracking values; `new_only` keeps the first
/// packets of connections (address-translation stages).
pub fn universe(family: Family, ifaces: usize, new_only: bool) -> PacketSet {
    let fam = match family {
        Family::V4 => space::family_range(false),
        Family::V6 => space::family_range(true),
        Family::Any => space::family_range(false).union(&space::family_range(true)),
    };
    let ct = if new_only {
        space::Ct::with_base(space::Ct::NEW)
    } else {
        (0..=space::Ct::UNTRACKED).fold(Ranges::empty(), |acc, b| acc.union(&space::Ct::with_base(b)))
    };
    let ids = Ranges::range(0, ifaces.max(1) as u128 - 1);
    let mut base = Cube::full();
    base.set(Dim::Src, fam.clone());
    base.set(Dim::Dst, fam);
    base.set(Dim::Ct, ct);
    base.set(Dim::Iif, ids.clone());
    base.set(Dim::Oif, ids);
    let zero = Ranges::single(0);
    let port_protos: Vec<(u128, u128)> =
        [proto::UDP, proto::SCTP, proto::UDPLITE, proto::DCCP].iter().map(|&p| (p as u128, p as u128)).collect();
    let icmp: Vec<(u128, u128)> = match family {
        Family::V4 => vec![(proto::ICMP as u128, proto::ICMP as u128)],
        Family::V6 => vec![(proto::ICMPV6 as u128, proto::ICMPV6 as u128)],
        Family::Any => vec![(proto::ICMP as u128, proto::ICMP as u128), (proto::ICMPV6 as u128, proto::ICMPV6 as u128)],
    };
    let mut named: Vec<(u128, u128)> = port_protos.clone();
    named.push((proto::TCP as u128, proto::TCP as u128));
    named.extend(icmp.iter().copied());
    let others = Ranges::range(0, 255).difference(&Ranges::from_ranges(named));
    let mut out = PacketSet::empty();
    let mut tcp = base.clone();
    tcp.set(Dim::Proto, Ranges::single(proto::TCP as u128));
    tcp.set(Dim::IcmpType, zero.clone());
    tcp.set(Dim::IcmpCode, zero.clone());
    let mut ported = base.clone();
    ported.set(Dim::Proto, Ranges::from_ranges(port_protos));
    ported.set(Dim::IcmpType, zero.clone());
    ported.set(Dim::IcmpCode, zero.clone());
    ported.set(Dim::TcpFlags, zero.clone());
    let mut ic = base.clone();
    ic.set(Dim::Proto, Ranges::from_ranges(icmp));
    ic.set(Dim::Sport, zero.clone());
    ic.set(Dim::Dport, zero.clone());
    ic.set(Dim::TcpFlags, zero.clone());
    let mut other = base;
    other.set(Dim::Proto, others);
    for d in [Dim::Sport, Dim::Dport, Dim::IcmpType, Dim::IcmpCode, Dim::TcpFlags] {
        other.set(d, zero.clone());
    }
    for c in [tcp, ported, ic, other] {
        out.extend_disjoint(PacketSet::from_cube(c));
    }
    out
}

/// `s` met with each of `within` (a set kept apart, [`RuleCtx::within`]), made into one
/// diagram: the sets are met in order, so the first ones should narrow the rest (a rule's
/// conditions first, then its entry's factors).
pub fn met(dd: &mut Dd, s: dd::Set, within: &[dd::Set]) -> dd::Set {
    within.iter().fold(s, |acc, &w| dd.and(acc, w))
}

impl DeviceEffect<dd::Set> {
    /// The same effective sets as cube sets (for the findings' texts and set arithmetic).
    /// Without `rulesets`, the per-context sets of the rulesets themselves (entry, end, return:
    /// the large ones) are left empty and only the rules' sets are converted. Sets kept apart
    /// are made ([`met`]); ends and returns not made stay empty.
    pub fn to_cubes(&self, dd: &mut Dd, rulesets: bool) -> DeviceEffect {
        let flow = |dd: &mut Dd, f: &Flow<dd::Set>, within: &[dd::Set]| {
            let may = met(dd, f.may, within);
            let must = f.must.map(|m| met(dd, m, within));
            Flow { may: dd.to_packet_set(may), must: must.map(|m| dd.to_packet_set(m)) }
        };
        DeviceEffect {
            contexts: self.contexts.clone(),
            rulesets: self
                .rulesets
                .iter()
                .map(|rs| RulesetEffect {
                    attached: rs.attached,
                    callers: rs.callers.clone(),
                    ctxs: rs
                        .ctxs
                        .iter()
                        .filter(|_| rulesets)
                        .map(|c| RulesetCtx {
                            ctx: c.ctx,
                            entry: flow(dd, &c.entry, c.apart.as_deref().unwrap_or_default()),
                            end: flow(dd, &c.end, &[]),
                            returned: flow(dd, &c.returned, &[]),
                            apart: None,
                        })
                        .collect(),
                    rules: rs
                        .rules
                        .iter()
                        .map(|r| RuleEffect {
                            ctxs: r
                                .ctxs
                                .iter()
                                .map(|c| RuleCtx {
                                    ctx: c.ctx,
                                    matched: flow(dd, &c.matched, &c.within),
                                    decided: flow(dd, &c.decided, &c.within),
                                    within: Vec::new(),
                                })
                                .collect(),
                            not_followed: r.not_followed,
                        })
                        .collect(),
                })
                .collect(),
            truncated: self.truncated,
            over_budget: self.over_budget,
        }
    }
}

struct Walker<'a, A: Algebra> {
    dev: &'a CDevice,
    alg: &'a mut A,
    /// Each rule's conditions in the algebra's representation.
    conds: &'a [Vec<A::Set>],
    out: DeviceEffect<A::Set>,
    stack: Vec<RuleLoc>,
    on_stack: Vec<bool>,
    work: usize,
    /// Per ruleset walked by regions ([`Walker::flat`]): each rule's region and the packets some
    /// rule settles, made on first use.
    regions: Vec<Option<Regions<A::Set>>>,
    /// Keep the rules' sets of rulesets walked by regions apart from their entry
    /// ([`RuleCtx::within`]), and remainders as factors; entries kept apart are made when
    /// that takes at most this many nodes ([`MAX_MADE_ENTRY`]).
    apart: Option<usize>,
}

/// A flat ruleset's rules as regions of the header space, independent of what enters it.
struct Regions<S> {
    /// Per rule: the packets its conditions select that no earlier rule settles.
    own: Vec<S>,
    /// The packets some rule settles (what never reaches the end).
    settled: S,
    /// The packets the ruleset hands back of any entry (the entry met with this is what comes
    /// back), made on first use ([`Walker::handback`]).
    back: Option<S>,
}

/// Compute the effective sets of every ruleset of a compiled device. `families` gives each
/// ruleset's address family (model order); `new_only` marks attached rulesets that see only
/// the first packet of each connection.
pub fn device_effect(dev: &CDevice, families: &[Family], new_only: &[bool]) -> DeviceEffect {
    effect_with(&mut Cubes, dev, families, new_only, None)
}

/// [`device_effect`] computed on decision diagrams: the same sets, held by `dd`.
pub fn device_effect_dd(dd: &mut Dd, dev: &CDevice, families: &[Family], new_only: &[bool]) -> DeviceEffect<dd::Set> {
    effect_with(dd, dev, families, new_only, None)
}

/// [`device_effect_dd`] with the sets of the deciding and logging rules of rulesets walked by
/// regions left apart from their context's entry ([`RuleCtx::within`]): the same sets, each
/// the intersection of two diagrams, made only where a check needs it.
pub fn device_effect_dd_apart(dd: &mut Dd, dev: &CDevice, families: &[Family], new_only: &[bool]) -> DeviceEffect<dd::Set> {
    effect_with(dd, dev, families, new_only, Some(MAX_MADE_ENTRY))
}

/// [`device_effect_dd_apart`] making entries kept apart only within `budget` nodes (0: never).
#[cfg(test)]
pub(crate) fn device_effect_dd_apart_within(
    dd: &mut Dd,
    dev: &CDevice,
    families: &[Family],
    new_only: &[bool],
    budget: usize,
) -> DeviceEffect<dd::Set> {
    effect_with(dd, dev, families, new_only, Some(budget))
}

fn effect_with<'a, A: Algebra>(
    alg: &'a mut A,
    dev: &'a CDevice,
    families: &[Family],
    new_only: &[bool],
    apart: Option<usize>,
) -> DeviceEffect<A::Set> {
    let n = dev.rulesets.len();
    let mut out = DeviceEffect {
        contexts: Vec::new(),
        rulesets: dev
            .rulesets
            .iter()
            .map(|rs| RulesetEffect { rules: (0..rs.rules.len()).map(|_| RuleEffect::default()).collect(), ..Default::default() })
            .collect(),
        truncated: false,
        over_budget: false,
    };
    for (ri, rs) in dev.rulesets.iter().enumerate() {
        for (i, r) in rs.rules.iter().enumerate() {
            if let Action::Jump(t) | Action::Goto(t) = r.action {
                if let Some(x) = out.rulesets.get_mut(t) {
                    x.callers.push(RuleLoc { ruleset: ri, rule: i });
                }
            }
        }
    }
    // Attached: bound to a hook, or carrying a default (a built-in chain that nothing binds).
    let mut roots: Vec<usize> = dev.hooks.iter().flat_map(|(_, bs)| bs.iter().map(|b| b.ruleset)).collect();
    roots.extend((0..n).filter(|&i| dev.rulesets[i].default.is_some()));
    let mut seen = vec![false; n];
    roots.retain(|&r| r < n && !std::mem::replace(&mut seen[r], true));
    let ifaces = dev.ifaces.all().len();
    let conds: Vec<Vec<A::Set>> = dev.rulesets.iter().map(|rs| rs.rules.iter().map(|r| alg.set(&r.set)).collect()).collect();
    let regions = (0..n).map(|_| None).collect();
    let mut w = Walker { dev, alg, conds: &conds, out, stack: Vec::new(), on_stack: vec![false; n], work: 0, regions, apart };
    for &root in &roots {
        w.out.rulesets[root].attached = true;
        let fam = families.get(root).copied().unwrap_or(Family::Any);
        let entry = universe(fam, ifaces, new_only.get(root).copied().unwrap_or(false));
        let entry = w.alg.set(&entry);
        let ctx = w.out.contexts.len() as u32;
        w.out.contexts.push(Context { root, stack: Vec::new() });
        w.walk(root, Flow::exact(entry), ctx);
    }
    w.out
}

impl<A: Algebra> Walker<'_, A> {
    /// True if a ruleset can be walked by regions: every rule modelled, and each one settles
    /// its packets (decides or returns them) or lets them go on, so what reaches a rule is what
    /// entered minus the rules before it that settle packets, whatever entered.
    fn is_flat(&self, rs_idx: usize) -> bool {
        self.dev.rulesets.get(rs_idx).is_some_and(|rs| {
            rs.rules.iter().all(|r| r.unknown.is_empty() && matches!(Step::of(&r.action), Step::Decide | Step::Return | Step::Continue))
        })
    }

    /// True if a ruleset whose rules also call other rulesets can be walked by regions with
    /// `entry`: every rule modelled, and every call settles the packets it takes — a goto's
    /// packets never come back here, and a jump's target hands nothing back of what can reach it
    /// (it has no return, and its deciding rules cover the whole entry, as a final catch-all
    /// decision does). Each target must be flat itself (so its walk is exact) and the call must
    /// be followed (not back into a ruleset on the way, within the depth and context limits), as
    /// the rule-by-rule walk would follow it.
    fn calls_settle(&mut self, rs_idx: usize, entry: &A::Set) -> bool {
        let Some(rs) = self.dev.rulesets.get(rs_idx) else { return false };
        let mut calls = 0;
        for r in &rs.rules {
            if !r.unknown.is_empty() {
                return false;
            }
            match Step::of(&r.action) {
                Step::Decide | Step::Return | Step::Continue => {}
                Step::Jump(t) | Step::Goto(t) => {
                    calls += 1;
                    if t >= self.dev.rulesets.len() || t == rs_idx || self.on_stack[t] || !self.is_flat(t) {
                        return false;
                    }
                }
                Step::Unknown => return false,
            }
        }
        if calls == 0 || self.stack.len() >= MAX_JUMP_DEPTH || self.out.contexts.len() + calls >= MAX_CONTEXTS {
            return false;
        }
        for r in &rs.rules {
            if let Step::Jump(t) = Step::of(&r.action) {
                // Returns hand packets back; so does the end, for what no rule settles.
                if self.dev.rulesets[t].rules.iter().any(|x| Step::of(&x.action) == Step::Return) || !self.build_regions(t) {
                    return false;
                }
                let Some(settled) = self.regions[t].as_ref().map(|g| g.settled.clone()) else { return false };
                let back = self.alg.diff(entry, &settled);
                if !self.alg.is_empty(&back) {
                    return false;
                }
            }
        }
        true
    }

    /// Make the regions of a flat ruleset ([`Regions`]) unless made already; false if the
    /// budget stopped it (the device's sets are then incomplete and reported as such).
    fn build_regions(&mut self, rs_idx: usize) -> bool {
        if self.regions[rs_idx].is_some() {
            return true;
        }
        let n = self.dev.rulesets[rs_idx].rules.len();
        let mut own = Vec::with_capacity(n);
        // The packets the rules so far settle, kept as a few unions of 1, 2, 4, … rules' conditions
        // (merged like the digits of a binary counter): adding a rule merges small unions, not
        // the whole so far, so a long ruleset costs n log n unions instead of n² (each rule's
        // narrow conditions are taken out of every union cheaply).
        let mut chunks: Vec<(usize, A::Set)> = Vec::new();
        for (i, r) in self.dev.rulesets[rs_idx].rules.iter().enumerate() {
            if self.alg.shared_bytes() > MAX_SHARED_BYTES {
                self.out.over_budget = true;
                return false;
            }
            let cond = &self.conds[rs_idx][i];
            let mut mine = cond.clone();
            for (_, u) in chunks.iter().rev() {
                if self.alg.is_empty(&mine) {
                    break;
                }
                mine = self.alg.diff(&mine, u);
            }
            own.push(mine);
            if Step::of(&r.action) != Step::Continue {
                let mut cur = (1, cond.clone());
                while chunks.last().is_some_and(|c| c.0 == cur.0) {
                    let Some((k, mut u)) = chunks.pop() else { break };
                    self.alg.add(&mut u, cur.1, false);
                    cur = (k + cur.0, u);
                }
                chunks.push(cur);
            }
        }
        let mut settled = A::Set::default();
        for (_, u) in chunks {
            self.alg.add(&mut settled, u, false);
        }
        self.regions[rs_idx] = Some(Regions { own, settled, back: None });
        true
    }

    /// Walk a flat ruleset ([`Walker::is_flat`]) with an exact `entry`: each rule matches the
    /// entry within its own region (its conditions minus the earlier rules that settle
    /// packets), which is computed once for every context. The same sets as the rule-by-rule
    /// walk, without carrying a remainder that every rule rebuilds: a remainder split by what
    /// came before (one branch per input interface of the packets handed back by earlier
    /// chains) is met by each rule once instead of being copied by each rule.
    fn flat(&mut self, rs_idx: usize, entry: A::Set, ctx: u32) -> Flow<A::Set> {
        let n = self.dev.rulesets[rs_idx].rules.len();
        if !self.build_regions(rs_idx) {
            // Stopped: the device's sets are incomplete and reported as such.
            self.out.rulesets[rs_idx].ctxs.push(RulesetCtx {
                ctx,
                entry: Flow::exact(entry.clone()),
                end: Flow::exact(entry.clone()),
                returned: Flow::exact(entry.clone()),
                apart: None,
            });
            return Flow::exact(entry);
        }
        let mut ret = A::Set::default();
        for i in 0..n {
            self.work += 1;
            if self.work > MAX_WORK || self.alg.shared_bytes() > MAX_SHARED_BYTES {
                self.out.over_budget = true;
                break;
            }
            let Some(own) = self.regions[rs_idx].as_ref().map(|g| g.own[i].clone()) else { break };
            let step = Step::of(&self.dev.rulesets[rs_idx].rules[i].action);
            if self.apart.is_some() && matches!(step, Step::Decide | Step::Continue) {
                // Kept apart: tested, not made.
                if !self.alg.meets(&entry, &own) {
                    continue;
                }
                let decided = if step == Step::Decide { Flow::exact(own.clone()) } else { Flow::empty() };
                let within = vec![entry.clone()];
                self.out.rulesets[rs_idx].rules[i].ctxs.push(RuleCtx { ctx, matched: Flow::exact(own), decided, within });
                continue;
            }
            let m = self.alg.and(&entry, &own);
            if self.alg.is_empty(&m) {
                continue;
            }
            let decided = match step {
                Step::Continue => Flow::empty(),
                Step::Return => {
                    self.alg.add(&mut ret, m.clone(), true);
                    Flow::exact(m.clone())
                }
                Step::Jump(t) | Step::Goto(t) => {
                    // Followed as the rule-by-rule walk follows it ([`Walker::calls_settle`]
                    // holds): a new context, the target walked with the packets taken.
                    let here = RuleLoc { ruleset: rs_idx, rule: i };
                    let sub_ctx = self.enter(ctx, here);
                    let back = self.walk(t, Flow::exact(m.clone()), sub_ctx);
                    self.stack.pop();
                    if matches!(step, Step::Goto(_)) {
                        // What the target hands back leaves this ruleset too.
                        self.alg.add(&mut ret, back.may, true);
                        Flow::exact(m.clone())
                    } else {
                        // Nothing comes back (the target settles the whole entry).
                        debug_assert!(self.alg.is_empty(&back.may));
                        Flow::exact(self.alg.diff(&m, &back.may))
                    }
                }
                _ => Flow::exact(m.clone()),
            };
            self.out.rulesets[rs_idx].rules[i].ctxs.push(RuleCtx { ctx, matched: Flow::exact(m), decided, within: Vec::new() });
        }
        let end = match self.regions[rs_idx].as_ref() {
            Some(g) => {
                let settled = g.settled.clone();
                self.alg.diff(&entry, &settled)
            }
            None => entry.clone(),
        };
        self.alg.add(&mut ret, end.clone(), true);
        let ret = Flow::exact(ret);
        self.out.rulesets[rs_idx].ctxs.push(RulesetCtx { ctx, entry: Flow::exact(entry), end: Flow::exact(end), returned: ret.clone(), apart: None });
        ret
    }

    /// A new context for the call the rule at `here` makes from context `ctx`, entered: the
    /// caller walks the target with it and then leaves it (`self.stack.pop()`).
    fn enter(&mut self, ctx: u32, here: RuleLoc) -> u32 {
        let sub_ctx = self.out.contexts.len() as u32;
        let mut stack = self.stack.clone();
        stack.push(here);
        self.out.contexts.push(Context { root: self.out.contexts[ctx as usize].root, stack });
        self.stack.push(here);
        sub_ctx
    }

    /// The packets a ruleset walked by regions hands back of any entry: what no rule settles,
    /// what its returns take, and what the rulesets it goes to hand back of what they take.
    /// The ruleset is flat or its calls settle what they take ([`Walker::settles_apart`]).
    fn handback(&mut self, rs_idx: usize) -> Option<A::Set> {
        if !self.build_regions(rs_idx) {
            return None;
        }
        if let Some(b) = self.regions[rs_idx].as_ref().and_then(|g| g.back.clone()) {
            return Some(b);
        }
        let (own, settled) = self.regions[rs_idx].as_ref().map(|g| (g.own.clone(), g.settled.clone()))?;
        let full = self.alg.full();
        let mut back = self.alg.diff(&full, &settled);
        for (i, r) in self.dev.rulesets[rs_idx].rules.iter().enumerate() {
            match Step::of(&r.action) {
                Step::Return => self.alg.add(&mut back, own[i].clone(), false),
                Step::Goto(t) => {
                    let from = self.handback(t)?;
                    let part = self.alg.and(&own[i], &from);
                    self.alg.add(&mut back, part, false);
                }
                _ => {}
            }
        }
        if let Some(g) = self.regions[rs_idx].as_mut() {
            g.back = Some(back.clone());
        }
        Some(back)
    }

    /// True if ruleset `t`, called from the attached ruleset `root` entered with `entry`, can
    /// be walked by regions with any part of that entry, kept apart or not
    /// ([`Walker::flat_apart`]): it is flat, or its rules are all modelled and its calls go to
    /// flat rulesets, jumps only to rulesets without returns that settle every packet of the
    /// entry (as a final catch-all decision does), so nothing comes back to the rule after a
    /// jump. Returns the number of calls it makes.
    fn settles_apart(&mut self, t: usize, root: usize, entry: &A::Set) -> Option<usize> {
        if t >= self.dev.rulesets.len() || t == root || self.on_stack[t] {
            return None;
        }
        if self.is_flat(t) {
            return Some(0);
        }
        let mut calls = 0;
        for r in &self.dev.rulesets[t].rules {
            if !r.unknown.is_empty() {
                return None;
            }
            match Step::of(&r.action) {
                Step::Decide | Step::Return | Step::Continue => {}
                Step::Unknown => return None,
                Step::Jump(u) | Step::Goto(u) => {
                    calls += 1;
                    if u >= self.dev.rulesets.len() || u == t || u == root || self.on_stack[u] || !self.is_flat(u) {
                        return None;
                    }
                    if let Step::Jump(_) = Step::of(&r.action) {
                        if self.dev.rulesets[u].rules.iter().any(|x| Step::of(&x.action) == Step::Return) || !self.build_regions(u) {
                            return None;
                        }
                        let settled = self.regions[u].as_ref().map(|g| g.settled.clone())?;
                        let back = self.alg.diff(entry, &settled);
                        if !self.alg.is_empty(&back) {
                            return None;
                        }
                    }
                }
            }
        }
        Some(calls)
    }

    /// True if an attached ruleset that calls others can be walked with its remainder kept
    /// apart ([`Walker::walk_apart`]): sets are kept apart, and each call goes to a ruleset
    /// that can be walked by regions with any entry ([`Walker::settles_apart`]).
    fn factorable(&mut self, rs_idx: usize, entry: &A::Set) -> bool {
        if self.apart.is_none() || !self.stack.is_empty() || rs_idx >= self.dev.rulesets.len() {
            return false;
        }
        let mut calls = 0;
        for r in &self.dev.rulesets[rs_idx].rules {
            if let Step::Jump(t) | Step::Goto(t) = Step::of(&r.action) {
                match self.settles_apart(t, rs_idx, entry) {
                    Some(n) => calls += 1 + n,
                    None => return false,
                }
            }
        }
        calls > 0 && MAX_JUMP_DEPTH > 2 && self.out.contexts.len() + calls < MAX_CONTEXTS
    }

    /// Walk an attached ruleset that calls others ([`Walker::factorable`]) with its remainder
    /// kept as factors: each rule that settles packets, or takes them to a ruleset that hands
    /// some back, cuts the remainder by a set that does not depend on what entered (its
    /// conditions' complement, joined with what the called ruleset hands back of any entry),
    /// and that cut is met with the factor of the rules whose conditions first test the same
    /// dimension. Rules dispatching by input interface and rules dispatching by output
    /// interface so build two factors, each as large as its rules, where their intersection
    /// is one set per pair of interfaces. A rule's sets and a called ruleset's entry are kept
    /// apart the same way ([`RuleCtx::within`], [`RulesetCtx::apart`]).
    ///
    /// The lower bound is the upper bound met with `extra`: rules with unmodelled conditions
    /// or actions take their packets only from the lower bound, as [`Walker::walk`] does.
    fn walk_apart(&mut self, rs_idx: usize, entry: A::Set, ctx: u32) {
        let dev = self.dev;
        let rs = &dev.rulesets[rs_idx];
        self.on_stack[rs_idx] = true;
        let full = self.alg.full();
        // The remainder's upper bound: the intersection of these factors, in the order of
        // their keys; its lower bound: that met with `extra`.
        let mut rem: Vec<(usize, A::Set)> = vec![(self.alg.key(&entry), entry.clone())];
        let mut extra = full.clone();
        for (i, r) in rs.rules.iter().enumerate() {
            self.work += 1;
            if self.work > MAX_WORK || self.alg.shared_bytes() > MAX_SHARED_BYTES {
                self.out.over_budget = true;
                break;
            }
            let cond = self.conds[rs_idx][i].clone();
            let within: Vec<A::Set> = rem.iter().map(|x| x.1.clone()).collect();
            let mut all = vec![cond.clone()];
            all.extend(within.iter().cloned());
            if !self.alg.meets_all(&all) {
                continue;
            }
            let known = r.unknown.is_empty();
            let exact = self.alg.same(&extra, &full);
            // The lower bound of what the rule matches, within the factors.
            let must = if !known { A::Set::default() } else { self.alg.and(&cond, &extra) };
            let matched = if exact && known { Flow::exact(cond.clone()) } else { Flow::bounds(cond.clone(), must.clone()) };
            let not = self.alg.diff(&full, &cond);
            let step = Step::of(&r.action);
            // What the rule takes from the remainder's upper bound (with the lower bound), or
            // from its lower bound only.
            let (decided, cut, cut_must) = match step {
                Step::Continue => (Flow::empty(), None, None),
                Step::Jump(t) | Step::Goto(t) => {
                    let here = RuleLoc { ruleset: rs_idx, rule: i };
                    let sub_ctx = self.enter(ctx, here);
                    // The entry's lower bound: the upper bound met with this.
                    let sub_extra = if known { extra.clone() } else { A::Set::default() };
                    self.flat_apart(t, all, sub_extra.clone(), sub_ctx);
                    self.stack.pop();
                    let Some(back) = self.handback(t) else {
                        self.out.over_budget = true;
                        break;
                    };
                    match (step, known) {
                        // What comes back leaves this ruleset too.
                        (Step::Goto(_), true) => (matched.clone(), Some(not), None),
                        (Step::Goto(_), false) => (matched.clone(), None, Some(not)),
                        (_, known) => {
                            // Possibly decided: matched minus what surely comes back; surely
                            // decided: surely matched minus what possibly comes back.
                            let sure_back = self.alg.and(&back, &sub_extra);
                            let d_may = self.alg.diff(&cond, &sure_back);
                            let d_must = self.alg.diff(&must, &back);
                            let decided =
                                if exact && known { Flow::exact(d_may) } else { Flow::bounds(d_may, d_must) };
                            if known {
                                // What comes back goes on.
                                let mut cut = not;
                                self.alg.add(&mut cut, back, false);
                                (decided, Some(cut), None)
                            } else {
                                // Packets possibly jumped possibly go on.
                                (decided, None, Some(not))
                            }
                        }
                    }
                }
                Step::Decide | Step::Return if known => (matched.clone(), Some(not), None),
                _ => (matched.clone(), None, Some(not)),
            };
            self.out.rulesets[rs_idx].rules[i].ctxs.push(RuleCtx { ctx, matched, decided, within });
            if let Some(cut) = cut {
                let key = self.alg.key(&cond);
                match rem.iter().position(|x| x.0 >= key) {
                    Some(k) if rem[k].0 == key => rem[k].1 = self.alg.and(&rem[k].1, &cut),
                    Some(k) => rem.insert(k, (key, cut)),
                    None => rem.push((key, cut)),
                }
            }
            if let Some(cut) = cut_must {
                extra = self.alg.and(&extra, &cut);
            }
        }
        let empty = A::Set::default();
        self.out.rulesets[rs_idx].ctxs.push(RulesetCtx {
            ctx,
            entry: Flow::exact(entry),
            end: Flow::exact(empty.clone()),
            returned: Flow::exact(empty),
            apart: Some(Vec::new()),
        });
        self.on_stack[rs_idx] = false;
    }

    /// [`Walker::flat`] with an entry kept apart: its upper bound the intersection of `entry`,
    /// its lower bound that met with `extra`. The ruleset is flat or its calls settle what they
    /// take ([`Walker::settles_apart`]), and all its rules are modelled, so each rule's sets are
    /// its region met with the entry's bounds, kept apart.
    fn flat_apart(&mut self, rs_idx: usize, entry: Vec<A::Set>, extra: A::Set, ctx: u32) {
        self.on_stack[rs_idx] = true;
        // An entry whose factors narrow each other (a dispatch rule's interface met with the
        // factors) is made: the rules then meet one set. One that would be a product of the
        // factors (a catch-all rule's) stays apart.
        let budget = self.apart.unwrap_or_default();
        let entry = match self.alg.and_within(&entry, budget) {
            Some(made) if budget > 0 => vec![made],
            _ => entry,
        };
        let empty = A::Set::default();
        let full = self.alg.full();
        let exact = self.alg.same(&extra, &full);
        if self.build_regions(rs_idx) {
            for i in 0..self.dev.rulesets[rs_idx].rules.len() {
                self.work += 1;
                if self.work > MAX_WORK || self.alg.shared_bytes() > MAX_SHARED_BYTES {
                    self.out.over_budget = true;
                    break;
                }
                let Some(own) = self.regions[rs_idx].as_ref().map(|g| g.own[i].clone()) else { break };
                let mut all = entry.clone();
                all.push(own.clone());
                if !self.alg.meets_all(&all) {
                    continue;
                }
                let must = if exact { own.clone() } else { self.alg.and(&own, &extra) };
                let matched = if exact { Flow::exact(own.clone()) } else { Flow::bounds(own.clone(), must.clone()) };
                let step = Step::of(&self.dev.rulesets[rs_idx].rules[i].action);
                let decided = match step {
                    Step::Continue => Flow::empty(),
                    Step::Jump(t) | Step::Goto(t) => {
                        let here = RuleLoc { ruleset: rs_idx, rule: i };
                        let sub_ctx = self.enter(ctx, here);
                        self.flat_apart(t, all, extra.clone(), sub_ctx);
                        self.stack.pop();
                        match (step, self.handback(t)) {
                            (Step::Goto(_), _) => matched.clone(),
                            // Nothing comes back ([`Walker::settles_apart`]).
                            (_, Some(back)) => {
                                let sure_back = self.alg.and(&back, &extra);
                                let d_may = self.alg.diff(&own, &sure_back);
                                let d_must = self.alg.diff(&must, &back);
                                if exact { Flow::exact(d_may) } else { Flow::bounds(d_may, d_must) }
                            }
                            (_, None) => {
                                self.out.over_budget = true;
                                break;
                            }
                        }
                    }
                    _ => matched.clone(),
                };
                self.out.rulesets[rs_idx].rules[i].ctxs.push(RuleCtx { ctx, matched, decided, within: entry.clone() });
            }
        } else {
            self.out.over_budget = true;
        }
        // The entry: its upper bound kept apart, its lower bound that met with `extra`.
        let entry_flow = if exact { Flow::exact(full) } else { Flow::bounds(full, extra) };
        self.out.rulesets[rs_idx].ctxs.push(RulesetCtx {
            ctx,
            entry: entry_flow,
            end: Flow::exact(empty.clone()),
            returned: Flow::exact(empty),
            apart: Some(entry),
        });
        self.on_stack[rs_idx] = false;
    }

    /// Walk one ruleset with `entry`; returns the packets that come back to the caller.
    fn walk(&mut self, rs_idx: usize, entry: Flow<A::Set>, ctx: u32) -> Flow<A::Set> {
        if entry.must.is_none() && (self.is_flat(rs_idx) || self.calls_settle(rs_idx, &entry.may)) {
            self.on_stack[rs_idx] = true;
            let back = self.flat(rs_idx, entry.may, ctx);
            self.on_stack[rs_idx] = false;
            return back;
        }
        if entry.must.is_none() && self.factorable(rs_idx, &entry.may) {
            // An attached ruleset: what it returns gets its default, nobody reads it here.
            self.walk_apart(rs_idx, entry.may, ctx);
            return Flow::empty();
        }
        let dev = self.dev;
        let Some(rs) = dev.rulesets.get(rs_idx) else { return entry };
        self.on_stack[rs_idx] = true;
        let mut rem = entry.clone();
        let mut ret = Flow::empty();
        // `ret` stays disjoint from `rem` while no rule is in doubt.
        let mut exact = true;
        for (i, r) in rs.rules.iter().enumerate() {
            if self.alg.is_empty(&rem.may) {
                break;
            }
            self.work += self.alg.work(&rem.may);
            if self.work > MAX_WORK || self.alg.shared_bytes() > MAX_SHARED_BYTES {
                self.out.over_budget = true;
                break;
            }
            let conds = self.conds;
            let cond = &conds[rs_idx][i];
            let m_may = self.alg.and(&rem.may, cond);
            if self.alg.is_empty(&m_may) {
                continue;
            }
            let known = r.unknown.is_empty();
            let m_must = if !known {
                A::Set::default()
            } else if rem.must.is_none() {
                m_may.clone()
            } else {
                self.alg.and(rem.must(), cond)
            };
            let matched = if rem.must.is_none() && known { Flow::exact(m_may) } else { Flow::bounds(m_may, m_must) };
            let here = RuleLoc { ruleset: rs_idx, rule: i };
            let mut step = Step::of(&r.action);
            if let Step::Jump(t) | Step::Goto(t) = step {
                let blocked = t >= dev.rulesets.len()
                    || self.on_stack.get(t).copied().unwrap_or(true)
                    || self.stack.len() >= MAX_JUMP_DEPTH
                    || self.out.contexts.len() >= MAX_CONTEXTS;
                if blocked {
                    if self.out.contexts.len() >= MAX_CONTEXTS {
                        self.out.truncated = true;
                    }
                    self.out.rulesets[rs_idx].rules[i].not_followed = true;
                    step = Step::Unknown;
                }
            }
            let decided;
            match step {
                Step::Continue => decided = Flow::empty(),
                Step::Decide | Step::Unknown | Step::Return => {
                    decided = matched.clone();
                    if step == Step::Return {
                        ret.add(self.alg, matched.clone(), exact && known);
                    }
                    if known && step != Step::Unknown {
                        rem = rem.minus(self.alg, cond);
                    } else {
                        exact = false;
                        rem = rem.minus_must(self.alg, cond);
                    }
                }
                Step::Jump(t) | Step::Goto(t) => {
                    let sub_ctx = self.enter(ctx, here);
                    let back = self.walk(t, matched.clone(), sub_ctx);
                    self.stack.pop();
                    if step == Step::Goto(t) {
                        decided = matched.clone();
                        ret.add(self.alg, back, exact && known);
                        if known {
                            rem = rem.minus(self.alg, cond);
                        } else {
                            exact = false;
                            rem = rem.minus_must(self.alg, cond);
                        }
                    } else {
                        // Possibly decided: matched minus what surely comes back; surely
                        // decided: surely matched minus what possibly comes back.
                        let d_may = self.alg.diff(&matched.may, back.must());
                        let d_must = self.alg.diff(matched.must(), &back.may);
                        decided = if matched.must.is_none() && back.must.is_none() {
                            Flow::exact(d_may)
                        } else {
                            Flow::bounds(d_may, d_must)
                        };
                        if known {
                            rem = rem.minus(self.alg, cond);
                            rem.add(self.alg, back, true);
                            self.alg.tidy(&mut rem.may);
                            if let Some(m) = &mut rem.must {
                                self.alg.tidy(m);
                            }
                        } else {
                            // Packets possibly jumped: they possibly go on (the upper bound
                            // keeps them); those surely taken are no longer sure to go on.
                            exact = false;
                            rem = rem.minus_must(self.alg, cond);
                        }
                    }
                }
            }
            self.out.rulesets[rs_idx].rules[i].ctxs.push(RuleCtx { ctx, matched, decided, within: Vec::new() });
        }
        ret.add(self.alg, rem.clone(), exact);
        self.out.rulesets[rs_idx].ctxs.push(RulesetCtx { ctx, entry, end: rem, returned: ret.clone(), apart: None });
        self.on_stack[rs_idx] = false;
        ret
    }
}

/// The final decision a packet gets, for comparing outcomes with and without a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Decided by this action, at this rule (or default, [`RuleLoc::DEFAULT`]).
    Action(Action, RuleLoc),
    /// Falls off a called ruleset walked alone (no caller to return to).
    Returned,
    /// Not decidable: an unknown construct or a guard was met.
    Doubt,
}

/// The smallest box around a set: per dimension, its lowest and highest value. Two sets whose
/// boxes do not meet share no packet, which is cheaper to see than an intersection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds([(u128, u128); space::NDIMS]);

impl Bounds {
    /// The box of every packet.
    pub fn full() -> Bounds {
        Bounds(std::array::from_fn(|i| (0, Dim::ALL[i].max())))
    }

    /// The box around a cube set (`None` when it is empty).
    pub fn of(s: &PacketSet) -> Option<Bounds> {
        let mut b = Bounds([(u128::MAX, 0); space::NDIMS]);
        let mut any = false;
        for c in s.cubes() {
            if c.is_empty() {
                continue;
            }
            any = true;
            for d in Dim::ALL {
                let r = c.get(d).as_slice();
                if let (Some(first), Some(last)) = (r.first(), r.last()) {
                    let x = &mut b.0[d as usize];
                    x.0 = x.0.min(first.0);
                    x.1 = x.1.max(last.1);
                }
            }
        }
        any.then_some(b)
    }

    /// The box's values of one dimension: `lo..=hi` (`lo > hi` when empty).
    pub fn range(&self, d: Dim) -> (u128, u128) {
        self.0[d as usize]
    }

    /// True if the boxes share a point.
    #[inline]
    pub fn meets(&self, o: &Bounds) -> bool {
        self.0.iter().zip(o.0.iter()).all(|(a, b)| a.0 <= b.1 && b.0 <= a.1)
    }
}

/// Each rule's conditions of a device in an algebra's representation, with the box around them.
pub struct Conds<S> {
    sets: Vec<Vec<S>>,
    boxes: Vec<Vec<Option<Bounds>>>,
}

impl<S: Clone> Conds<S> {
    /// The conditions of every rule of `dev`.
    pub fn new<A: Algebra<Set = S>>(alg: &mut A, dev: &CDevice) -> Conds<S> {
        Conds {
            sets: dev.rulesets.iter().map(|rs| rs.rules.iter().map(|r| alg.set(&r.set)).collect()).collect(),
            boxes: dev.rulesets.iter().map(|rs| rs.rules.iter().map(|r| Bounds::of(&r.set)).collect()).collect(),
        }
    }

    /// The conditions of one rule.
    pub fn set(&self, l: RuleLoc) -> Option<&S> {
        self.sets.get(l.ruleset)?.get(l.rule)
    }

    /// The box around one rule's conditions (`None` if they never hold).
    pub fn bounds(&self, l: RuleLoc) -> Option<&Bounds> {
        self.boxes.get(l.ruleset)?.get(l.rule)?.as_ref()
    }
}

/// Walking the rest of a device's rules from some rule on (what a rule's packets would meet
/// without it), in an algebra's representation: [`Continuation::from`].
pub struct Continuation<'a, A: Algebra> {
    /// The set algebra.
    pub alg: &'a mut A,
    /// The device.
    pub dev: &'a CDevice,
    /// Its rules' conditions in `alg`.
    pub conds: &'a Conds<A::Set>,
    /// A rule left out wherever it is met again (a ruleset called twice).
    pub skip: Option<RuleLoc>,
    /// The attached ruleset of the context.
    pub root: usize,
    /// A box around every set walked: rules whose box misses it are passed over unseen.
    pub within: Bounds,
}

impl<A: Algebra> Continuation<'_, A> {
    /// Walk `set` from rule `from` of ruleset `rs` in the context `root`/`stack` (the attached
    /// ruleset and the jump/goto rules that led to `rs`) to its final outcomes, as the device
    /// would if the rules before `from` did not exist. `visit` gets each piece with its outcome
    /// and returns false to stop early; the function returns false if it was stopped.
    pub fn from(
        &mut self,
        stack: &[RuleLoc],
        rs: usize,
        from: usize,
        set: A::Set,
        visit: &mut dyn FnMut(&Outcome, &A::Set) -> bool,
    ) -> bool {
        let mut rem = set;
        let dev = self.dev;
        let Some(rules) = dev.rulesets.get(rs).map(|r| &r.rules) else { return visit(&Outcome::Doubt, &rem) };
        for (j, r) in rules.iter().enumerate().skip(from) {
            if self.alg.is_empty(&rem) {
                return true;
            }
            let here = RuleLoc { ruleset: rs, rule: j };
            if self.skip == Some(here) || !self.conds.bounds(here).is_some_and(|b| b.meets(&self.within)) {
                continue;
            }
            let Some(cond) = self.conds.set(here) else { continue };
            let m = self.alg.and(&rem, cond);
            if self.alg.is_empty(&m) {
                continue;
            }
            let step = Step::of(&r.action);
            if step == Step::Continue {
                continue;
            }
            self.alg.minus(&mut rem, cond);
            let ok = if !r.unknown.is_empty() {
                // Possibly taken, possibly not: the outcome of these packets is in doubt.
                visit(&Outcome::Doubt, &m)
            } else {
                match step {
                    Step::Continue => true,
                    Step::Decide => visit(&Outcome::Action(r.action.clone(), here), &m),
                    Step::Unknown => visit(&Outcome::Doubt, &m),
                    Step::Return => self.return_to(stack, m, visit),
                    Step::Jump(t) | Step::Goto(t) => {
                        if unfollowed(dev, self.root, stack, rs, t) {
                            visit(&Outcome::Doubt, &m)
                        } else {
                            let mut inner: Vec<RuleLoc> = stack.to_vec();
                            inner.push(here);
                            self.from(&inner, t, 0, m, visit)
                        }
                    }
                }
            };
            if !ok {
                return false;
            }
        }
        if self.alg.is_empty(&rem) {
            return true;
        }
        self.return_to(stack, rem, visit)
    }

    /// Packets leaving the innermost ruleset of `stack` (by its end or a return) continue after
    /// the calling rule; leaving the attached ruleset, they get its default.
    fn return_to(&mut self, stack: &[RuleLoc], set: A::Set, visit: &mut dyn FnMut(&Outcome, &A::Set) -> bool) -> bool {
        let dev = self.dev;
        let Some((last, outer)) = stack.split_last() else {
            return match dev.rulesets.get(self.root).and_then(|r| r.default.clone()) {
                Some(a) => visit(&Outcome::Action(a, RuleLoc { ruleset: self.root, rule: RuleLoc::DEFAULT }), &set),
                None => visit(&Outcome::Returned, &set),
            };
        };
        if via_goto(dev, last) {
            // Entered by a goto: leaving it leaves the goto's ruleset too.
            return self.return_to(outer, set, visit);
        }
        self.from(outer, last.ruleset, last.rule + 1, set, visit)
    }
}

/// A jump or goto from `rs` to `t` that a continuation does not follow (too deep, out of range,
/// or back into a ruleset on the way): its packets' outcome is in doubt.
fn unfollowed(dev: &CDevice, root: usize, stack: &[RuleLoc], rs: usize, t: usize) -> bool {
    stack.len() >= MAX_JUMP_DEPTH || t >= dev.rulesets.len() || t == rs || t == root || stack.iter().any(|l| l.ruleset == t)
}

fn via_goto(dev: &CDevice, l: &RuleLoc) -> bool {
    dev.rulesets.get(l.ruleset).and_then(|r| r.rules.get(l.rule)).is_some_and(|r| matches!(r.action, Action::Goto(_)))
}

/// The outcome of one packet walked as [`Continuation::from`] walks a set: the same rules in
/// the same order, without any set operation (a packet never splits).
pub fn point_outcome(dev: &CDevice, skip: Option<RuleLoc>, root: usize, stack: &[RuleLoc], rs: usize, from: usize, p: &space::Packet) -> Outcome {
    let Some(rules) = dev.rulesets.get(rs).map(|r| &r.rules) else { return Outcome::Doubt };
    for (j, r) in rules.iter().enumerate().skip(from) {
        let here = RuleLoc { ruleset: rs, rule: j };
        if skip == Some(here) || !r.set.contains(p) {
            continue;
        }
        let step = Step::of(&r.action);
        if step == Step::Continue {
            continue;
        }
        if !r.unknown.is_empty() {
            return Outcome::Doubt;
        }
        return match step {
            Step::Continue => continue,
            Step::Decide => Outcome::Action(r.action.clone(), here),
            Step::Unknown => Outcome::Doubt,
            Step::Return => point_return(dev, skip, root, stack, p),
            Step::Jump(t) | Step::Goto(t) => {
                if unfollowed(dev, root, stack, rs, t) {
                    Outcome::Doubt
                } else {
                    let mut inner: Vec<RuleLoc> = stack.to_vec();
                    inner.push(here);
                    point_outcome(dev, skip, root, &inner, t, 0, p)
                }
            }
        };
    }
    point_return(dev, skip, root, stack, p)
}

fn point_return(dev: &CDevice, skip: Option<RuleLoc>, root: usize, stack: &[RuleLoc], p: &space::Packet) -> Outcome {
    let Some((last, outer)) = stack.split_last() else {
        return match dev.rulesets.get(root).and_then(|r| r.default.clone()) {
            Some(a) => Outcome::Action(a, RuleLoc { ruleset: root, rule: RuleLoc::DEFAULT }),
            None => Outcome::Returned,
        };
    };
    if via_goto(dev, last) {
        return point_return(dev, skip, root, outer, p);
    }
    point_outcome(dev, skip, root, outer, last.ruleset, last.rule + 1, p)
}
