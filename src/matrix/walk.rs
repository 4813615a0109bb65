//! The packets a device's rulesets accept, as exact sets with an upper and a lower bound.
//!
//! A ruleset is walked symbolically, first match, with a set of packets: each rule takes the
//! part of the remaining set its conditions select, jumps and gotos walk the called ruleset
//! with that part, and what falls off the end (or returns) goes back to the caller or gets the
//! attached ruleset's default.
//!
//! Rules with unmodelled conditions (or actions) give two bounds. The upper bound (`may`)
//! holds every packet that some reading of them accepts: such a rule both possibly matches
//! (its action is taken) and possibly does not (the packets go on). The lower bound (`must`)
//! holds the packets every reading accepts: a packet such a rule might take is kept only where
//! what the rule would do with it cannot stop it (an accepting rule, or a called ruleset that
//! certainly accepts or returns it) and it is also accepted further on.

use crate::findings::effective::{coalesce, subtract};
use crate::model::Action;
use crate::reach::{CDevice, RuleLoc};
use crate::space::{Ct, Cube, Dim, PacketSet, Ranges};

/// Jumps nested deeper than this are taken as unknown actions (the kernel refuses loops; this
/// guards against malformed input).
const MAX_DEPTH: usize = 64;

/// Most cubes examined (summed over every rule walked) before the walk gives up.
pub const MAX_WORK: usize = 20_000_000;

/// A set of packets with an upper bound (`may`) and a lower bound (`must ⊆ may`). The cube
/// lists may overlap: they are read as unions.
#[derive(Clone, Debug, Default)]
pub struct Bounds {
    /// Packets possibly in the set.
    pub may: PacketSet,
    /// Packets certainly in the set.
    pub must: PacketSet,
}

impl Bounds {
    /// The same set as both bounds.
    pub fn exact(s: PacketSet) -> Bounds {
        Bounds { may: s.clone(), must: s }
    }
}

/// Append cubes (possibly overlapping) to a set read as a union.
fn add(set: &mut PacketSet, more: PacketSet) {
    if more.is_empty() {
        return;
    }
    if set.is_empty() {
        *set = more;
        return;
    }
    let mut cubes = std::mem::take(set).into_cubes();
    cubes.extend(more.into_cubes());
    *set = PacketSet::from_disjoint_cubes(cubes);
}

/// The packets of `s` with their connection state replaced by "untracked" (NOTRACK).
fn untracked(s: &PacketSet) -> PacketSet {
    let ct = Ranges::single(Ct::UNTRACKED as u128);
    PacketSet::from_disjoint_cubes(
        s.cubes()
            .iter()
            .map(|c| {
                let mut c: Cube = c.clone();
                c.set(Dim::Ct, ct.clone());
                c
            })
            .collect(),
    )
}

/// A symbolic walk over one device's rulesets.
pub struct Walker<'a> {
    dev: &'a CDevice,
    on_stack: Vec<bool>,
    depth: usize,
    work: usize,
    /// Rules whose unmodelled conditions or actions touched the walked packets, or whose jump
    /// could not be followed.
    pub doubts: Vec<RuleLoc>,
    /// True if [`MAX_WORK`] was reached (the result is then not usable).
    pub over_budget: bool,
}

/// What a ruleset does with the packets handed to it.
pub struct Outcome {
    /// Accepted.
    pub accepted: Bounds,
    /// Fall off the end or return: back to the caller (or the default of an attached ruleset).
    pub returned: Bounds,
}

enum Kind {
    Continue,
    Notrack,
    Accept,
    Stop,
    Return,
    Unknown,
    Jump(usize),
    Goto(usize),
}

impl<'a> Walker<'a> {
    /// A walker for one device.
    pub fn new(dev: &'a CDevice) -> Self {
        Walker { dev, on_stack: vec![false; dev.rulesets.len()], depth: 0, work: 0, doubts: Vec::new(), over_budget: false }
    }

    /// Walk an attached ruleset with `entry` and apply its default: the accepted packets.
    pub fn attached(&mut self, rs: usize, entry: Bounds) -> Bounds {
        let out = self.walk(rs, entry);
        let mut acc = out.accepted;
        let default = self.dev.rulesets.get(rs).and_then(|r| r.default.clone()).unwrap_or(Action::Accept);
        match default {
            Action::Accept => {
                add(&mut acc.may, out.returned.may);
                add(&mut acc.must, out.returned.must);
            }
            Action::Drop | Action::Reject(_) => {}
            _ => {
                if !out.returned.may.is_empty() {
                    self.doubts.push(RuleLoc { ruleset: rs, rule: RuleLoc::DEFAULT });
                }
                add(&mut acc.may, out.returned.may);
            }
        }
        acc
    }

    fn doubt(&mut self, at: RuleLoc) {
        if !self.doubts.contains(&at) {
            self.doubts.push(at);
        }
    }

    /// Walk one ruleset with `entry`.
    pub fn walk(&mut self, rs_idx: usize, entry: Bounds) -> Outcome {
        let dev = self.dev;
        let Some(rs) = dev.rulesets.get(rs_idx) else {
            return Outcome { accepted: Bounds::default(), returned: entry };
        };
        if let Some(s) = self.on_stack.get_mut(rs_idx) {
            *s = true;
        }
        let mut rem = entry;
        let mut acc = Bounds::default();
        let mut ret = Bounds::default();
        for (i, r) in rs.rules.iter().enumerate() {
            if rem.may.is_empty() {
                break;
            }
            self.work += rem.may.cubes().len() + rem.must.cubes().len();
            if self.work > MAX_WORK {
                self.over_budget = true;
                break;
            }
            let m_may = rem.may.intersect(&r.set);
            if m_may.is_empty() {
                continue;
            }
            let m_must = rem.must.intersect(&r.set);
            let here = RuleLoc { ruleset: rs_idx, rule: i };
            let known = r.unknown.is_empty();
            if !known {
                self.doubt(here);
            }
            let kind = match &r.action {
                Action::Continue(_) => Kind::Continue,
                Action::Notrack => Kind::Notrack,
                Action::Accept => Kind::Accept,
                Action::Drop | Action::Reject(_) => Kind::Stop,
                Action::Return => Kind::Return,
                Action::Jump(t) | Action::Goto(t) => {
                    let blocked = *t >= dev.rulesets.len() || self.on_stack.get(*t).copied().unwrap_or(true) || self.depth >= MAX_DEPTH;
                    if blocked {
                        Kind::Unknown
                    } else if matches!(r.action, Action::Jump(_)) {
                        Kind::Jump(*t)
                    } else {
                        Kind::Goto(*t)
                    }
                }
                // Address translation decides the packet in a NAT stage; in a filtering stage
                // its effect is not modelled here.
                Action::Dnat(_) | Action::Snat(_) | Action::Masquerade(_) | Action::Redirect(_) | Action::Unknown(_) => Kind::Unknown,
            };
            match kind {
                Kind::Continue => {}
                Kind::Notrack => {
                    let u_may = untracked(&m_may);
                    if known {
                        let u_must = untracked(&m_must);
                        subtract(&mut rem.may, &r.set);
                        add(&mut rem.may, u_may);
                        subtract(&mut rem.must, &r.set);
                        add(&mut rem.must, u_must);
                    } else {
                        add(&mut rem.may, u_may);
                        subtract(&mut rem.must, &r.set);
                    }
                }
                Kind::Accept => {
                    add(&mut acc.may, m_may);
                    if known {
                        add(&mut acc.must, m_must);
                        subtract(&mut rem.may, &r.set);
                        subtract(&mut rem.must, &r.set);
                    }
                }
                Kind::Stop => {
                    if known {
                        subtract(&mut rem.may, &r.set);
                    }
                    subtract(&mut rem.must, &r.set);
                }
                Kind::Return => {
                    add(&mut ret.may, m_may);
                    if known {
                        add(&mut ret.must, m_must);
                        subtract(&mut rem.may, &r.set);
                    }
                    subtract(&mut rem.must, &r.set);
                }
                Kind::Unknown => {
                    self.doubt(here);
                    add(&mut acc.may, m_may);
                    subtract(&mut rem.must, &r.set);
                }
                Kind::Jump(t) | Kind::Goto(t) => {
                    let goto = matches!(kind, Kind::Goto(_));
                    self.depth += 1;
                    let sub = self.walk(t, Bounds { may: m_may, must: m_must.clone() });
                    self.depth -= 1;
                    add(&mut acc.may, sub.accepted.may);
                    if known {
                        add(&mut acc.must, sub.accepted.must);
                        subtract(&mut rem.may, &r.set);
                        subtract(&mut rem.must, &r.set);
                        if goto {
                            add(&mut ret.may, sub.returned.may);
                            add(&mut ret.must, sub.returned.must);
                        } else {
                            add(&mut rem.may, sub.returned.may);
                            add(&mut rem.must, sub.returned.must);
                            coalesce(&mut rem.may);
                            coalesce(&mut rem.must);
                        }
                    } else {
                        if goto {
                            add(&mut ret.may, sub.returned.may);
                        }
                        // Possibly taken: the packets also go on (the upper bound keeps them).
                        // Every reading must let a packet on for the lower bound: kept are
                        // those the called ruleset certainly accepts (they must also be
                        // accepted further on) or, for a jump, certainly returns.
                        let mut keep = sub.accepted.must;
                        if !goto {
                            add(&mut keep, sub.returned.must);
                        }
                        let mut lost = m_must;
                        subtract(&mut lost, &keep);
                        subtract(&mut rem.must, &lost);
                    }
                }
            }
        }
        add(&mut ret.may, rem.may);
        add(&mut ret.must, rem.must);
        if let Some(s) = self.on_stack.get_mut(rs_idx) {
            *s = false;
        }
        Outcome { accepted: acc, returned: ret }
    }
}
