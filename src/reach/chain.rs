//! First-match evaluation of one ruleset (with its jumps) for one concrete packet.
//!
//! A rule whose modelled conditions hold but that also has unmodelled conditions only
//! *possibly* matches: evaluation records its action as a possible outcome and also continues
//! as if it did not match. The result is the set of every possible exit, so a packet's outcome
//! is definite exactly when there is one.

use crate::model::Action;
use crate::space::Packet;

use super::compile::{CDevice, CRuleset};

/// Jumps deeper than this are treated as unknown (the kernel refuses loops; this guards
/// against malformed input).
const MAX_JUMP_DEPTH: usize = 64;

/// A rule's position: ruleset index and rule index (`usize::MAX` for the ruleset's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleLoc {
    /// Ruleset index.
    pub ruleset: usize,
    /// Rule index, or [`RuleLoc::DEFAULT`].
    pub rule: usize,
}

impl RuleLoc {
    /// Marker for a ruleset's default action.
    pub const DEFAULT: usize = usize::MAX;
}

/// How a packet leaves a ruleset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The deciding action (never Jump/Goto/Return/Continue).
    pub action: Action,
    /// The deciding rule (or default).
    pub at: RuleLoc,
    /// Jump/goto rules taken to get there, in order.
    pub via: Vec<RuleLoc>,
    /// Rules with unmodelled parts that were possibly matched or skipped on the way.
    pub doubts: Vec<RuleLoc>,
    /// Non-terminating rules with an effect on the packet that were taken on the way
    /// (exemption from connection tracking).
    pub effects: Vec<RuleLoc>,
}

/// Every way a packet can leave an attached ruleset.
#[derive(Clone, Debug, Default)]
pub struct ChainOutcome {
    /// Possible exits; more than one means the outcome is uncertain.
    pub exits: Vec<Exit>,
    /// Every rule examined, in order: (ruleset, rule, whether its modelled conditions held).
    /// Together they say which other packets would have taken the same way.
    pub checks: Vec<(u32, u32, bool)>,
}

struct Walk<'a> {
    dev: &'a CDevice,
    pkt: &'a Packet,
    exits: Vec<Exit>,
    /// Effects taken so far on the current path.
    effects: Vec<RuleLoc>,
    /// Number of jumps on the current path taken by rules that only possibly match.
    maybe_depth: usize,
    /// Rules examined.
    checks: Vec<(u32, u32, bool)>,
}

/// Evaluate an attached ruleset: rules first-match, then the default.
pub fn eval_attached(dev: &CDevice, ruleset: usize, pkt: &Packet) -> ChainOutcome {
    // Room for a check of every rule of a ruleset of usual size (a walk keeps its checks, so a
    // long ruleset's vector grows as its rules are checked).
    let checks = Vec::with_capacity(dev.rulesets.get(ruleset).map_or(0, |r| r.rules.len().min(128)));
    let mut w = Walk { dev, pkt, exits: Vec::new(), effects: Vec::new(), maybe_depth: 0, checks };
    let mut via = Vec::new();
    let mut doubts = Vec::new();
    let returns = w.walk(ruleset, 0, &mut via, &mut doubts);
    if returns {
        let rs = &dev.rulesets[ruleset];
        let action = rs.default.clone().unwrap_or(Action::Accept);
        let effects = w.effects.clone();
        w.exits.push(Exit { action, at: RuleLoc { ruleset, rule: RuleLoc::DEFAULT }, via: Vec::new(), doubts, effects });
    }
    ChainOutcome { exits: w.exits, checks: w.checks }
}

/// Evaluate a ruleset alone (for `portolan test`): like [`eval_attached`], but a called
/// ruleset that falls through yields `None` as its action at [`RuleLoc::DEFAULT`].
pub fn eval_alone(dev: &CDevice, ruleset: usize, pkt: &Packet) -> (ChainOutcome, bool) {
    let mut w = Walk { dev, pkt, exits: Vec::new(), effects: Vec::new(), maybe_depth: 0, checks: Vec::new() };
    let mut via = Vec::new();
    let mut doubts = Vec::new();
    let returns = w.walk(ruleset, 0, &mut via, &mut doubts);
    let rs = &dev.rulesets[ruleset];
    if returns {
        if let Some(a) = rs.default.clone() {
            let effects = w.effects.clone();
            w.exits.push(Exit { action: a, at: RuleLoc { ruleset, rule: RuleLoc::DEFAULT }, via: Vec::new(), doubts, effects });
            return (ChainOutcome { exits: w.exits, checks: w.checks }, false);
        }
    }
    (ChainOutcome { exits: w.exits, checks: w.checks }, returns)
}

impl Walk<'_> {
    /// Walk one ruleset; returns true if control possibly returns to the caller (end of the
    /// ruleset or RETURN).
    fn walk(&mut self, rs_idx: usize, depth: usize, via: &mut Vec<RuleLoc>, doubts: &mut Vec<RuleLoc>) -> bool {
        let dev = self.dev;
        let Some(rs) = dev.rulesets.get(rs_idx) else { return true };
        let rs: &CRuleset = rs;
        let mut returns = false;
        for (i, r) in rs.rules.iter().enumerate() {
            let m = r.matches(self.pkt);
            self.checks.push((rs_idx as u32, i as u32, m));
            if !m {
                continue;
            }
            let here = RuleLoc { ruleset: rs_idx, rule: i };
            let maybe = !r.unknown.is_empty();
            if maybe {
                doubts.push(here);
            }
            match &r.action {
                Action::Continue(_) => {}
                Action::Notrack if !maybe && self.maybe_depth == 0 => self.effects.push(here),
                Action::Return => {
                    if !maybe {
                        return true;
                    }
                    returns = true;
                }
                Action::Jump(t) | Action::Goto(t) => {
                    let goto = matches!(r.action, Action::Goto(_));
                    if depth >= MAX_JUMP_DEPTH {
                        self.exits.push(Exit {
                            action: Action::Unknown("jump depth limit".into()),
                            at: here,
                            via: via.clone(),
                            doubts: doubts.clone(),
                            effects: self.effects.clone(),
                        });
                        return false;
                    }
                    via.push(here);
                    self.maybe_depth += maybe as usize;
                    let sub_returns = self.walk(*t, depth + 1, via, doubts);
                    self.maybe_depth -= maybe as usize;
                    via.pop();
                    if sub_returns && goto {
                        // A goto'd ruleset that returns returns to our caller.
                        if !maybe {
                            return true;
                        }
                        returns = true;
                    } else if !sub_returns && !maybe {
                        return returns;
                    }
                }
                Action::Unknown(_) | Action::Notrack => {
                    // Unknown effect (or a known effect only possibly taken): possibly stops
                    // here, possibly continues.
                    let mut d = doubts.clone();
                    if !maybe {
                        d.push(here);
                    }
                    let action = match &r.action {
                        Action::Notrack => Action::Unknown("NOTRACK on an uncertain path".into()),
                        a => a.clone(),
                    };
                    self.exits.push(Exit { action, at: here, via: via.clone(), doubts: d, effects: self.effects.clone() });
                    if !maybe {
                        doubts.push(here);
                    }
                }
                a => {
                    self.exits.push(Exit {
                        action: a.clone(),
                        at: here,
                        via: via.clone(),
                        doubts: doubts.clone(),
                        effects: self.effects.clone(),
                    });
                    if !maybe {
                        return returns;
                    }
                }
            }
        }
        true
    }
}
