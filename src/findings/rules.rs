//! Rule hygiene: shadowed (R101), redundant (R102), overly permissive (R103), conflicting
//! overlap (R104), unused rulesets (R105) and rules on unmodelled constructs (R106).

use crate::model::{Action, Family, Stage};
use crate::reach::{action_word, CDevice, CNetwork, RuleLoc};
use crate::report::{Certainty, RuleRef};
use crate::space::dd::{self, Dd};
use crate::space::{self, proto, Dim, PacketSet, Ranges};
use crate::Workspace;

use super::effective::{self, point_outcome, Conds, Continuation, DeviceEffect, Outcome, Step};
use super::text::{describe_dd, describe_with, port_set, Words};
use super::{code_info, help_path, Finding, NamedSet, Severity};

/// A source (or destination) set counts as "any" when it holds at least this share of its
/// address family (`0.0.0.0/0`, or `0.0.0.0/0` except a few private blocks).
pub const ANY_ADDRESS_SHARE: f64 = 0.5;

/// An accept rule opening at least this many destination ports of one protocol is flagged as
/// a wide port range.
pub const WIDE_PORT_RANGE: u128 = 1024;

/// Services that should not be open to any source: remote shells and desktops, file sharing,
/// databases, directory and management protocols (protocol, port, name).
pub const SENSITIVE_SERVICES: &[(u8, u16, &str)] = &[
    (proto::TCP, 21, "ftp"),
    (proto::TCP, 22, "ssh"),
    (proto::TCP, 23, "telnet"),
    (proto::TCP, 135, "msrpc"),
    (proto::TCP, 139, "netbios-ssn"),
    (proto::TCP, 389, "ldap"),
    (proto::TCP, 445, "smb"),
    (proto::TCP, 1433, "mssql"),
    (proto::TCP, 1521, "oracle"),
    (proto::TCP, 2375, "docker"),
    (proto::TCP, 3306, "mysql"),
    (proto::TCP, 3389, "rdp"),
    (proto::TCP, 5432, "postgresql"),
    (proto::TCP, 5900, "vnc"),
    (proto::TCP, 5985, "winrm"),
    (proto::TCP, 6379, "redis"),
    (proto::TCP, 6443, "kubernetes-api"),
    (proto::TCP, 9200, "elasticsearch"),
    (proto::TCP, 10250, "kubelet"),
    (proto::TCP, 11211, "memcached"),
    (proto::TCP, 27017, "mongodb"),
    (proto::UDP, 161, "snmp"),
    (proto::UDP, 623, "ipmi"),
];

/// Bytes of diagrams one node takes with its intervals, about (397 MB for 1.6 million nodes at
/// 100,000 rules); a bound on the nodes a check may make from the bytes left.
const NODE_BYTES: usize = 256;

/// The room a device's checks have for the diagrams they make: sets kept apart are made only
/// within it, so no one set (a product of factors) takes the device past its budget; when one
/// would, the checks are over ([`check_device`] then stops).
struct Room {
    max_bytes: usize,
    over: std::cell::Cell<bool>,
}

impl Room {
    fn new(max_bytes: usize) -> Room {
        Room { max_bytes, over: Default::default() }
    }

    /// `s` met with each of `within`, made unless that takes more nodes than the bytes left
    /// allow: then the checks are over and the empty set stands in (their findings are dropped).
    fn met(&self, dd: &mut Dd, s: dd::Set, within: &[dd::Set]) -> dd::Set {
        if within.is_empty() || self.over.get() {
            return s;
        }
        let nodes = self.max_bytes.saturating_sub(dd.bytes()) / NODE_BYTES;
        let mut all = Vec::with_capacity(within.len() + 1);
        all.push(s);
        all.extend_from_slice(within);
        dd.and_within(&all, nodes).unwrap_or_else(|| {
            self.over.set(true);
            dd::Set::EMPTY
        })
    }
}

/// What a rule matches (or decides) over its contexts: a union of parts, each a set met with
/// the sets the walk kept apart from it in its context ([`effective::RuleCtx::within`]: the
/// context's entry, or the factors of a remainder; none where the walk made the intersection).
/// Most checks only test it against a small set, which needs no diagram of the intersection;
/// the union is made once, when a check needs it whole.
#[derive(Default)]
struct Parts {
    /// (set, within), each sharing a packet.
    parts: Vec<(dd::Set, Vec<dd::Set>)>,
    made: std::cell::Cell<Option<dd::Set>>,
}

impl Parts {
    /// The union of the contexts' `matched` or `decided` sets (their upper bounds).
    fn of<'a>(dd: &mut Dd, ctxs: impl Iterator<Item = (&'a effective::Flow<dd::Set>, &'a [dd::Set])>) -> Parts {
        let mut whole = dd::Set::EMPTY;
        let mut parts = Vec::new();
        for (f, within) in ctxs {
            if within.is_empty() {
                whole = dd.or(whole, f.may);
                continue;
            }
            let mut all = vec![f.may];
            all.extend_from_slice(within);
            if dd.meets_all(&all) {
                parts.push((f.may, within.to_vec()));
            }
        }
        if !whole.is_empty() {
            parts.insert(0, (whole, Vec::new()));
        }
        Parts { parts, made: Default::default() }
    }

    fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// True if some packet is also in `x`.
    fn meets(&self, dd: &mut Dd, x: dd::Set) -> bool {
        self.parts.iter().any(|(s, w)| {
            // The set and `x` are the small ones: tested first, and met with the rest only if
            // they meet.
            if !dd.meets(*s, x) {
                return false;
            }
            if w.is_empty() {
                return true;
            }
            let mut all = vec![dd.and(*s, x)];
            all.extend_from_slice(w);
            dd.meets_all(&all)
        })
    }

    /// The packets also in `x`, and in the sets without what they are met with: a superset of
    /// [`Parts::and`], made without the large part. `None` when no part is kept apart (the
    /// superset would be the set itself).
    fn and_upper(&self, dd: &mut Dd, x: dd::Set) -> Option<dd::Set> {
        if self.parts.iter().all(|(_, w)| w.is_empty()) {
            return None;
        }
        let mut out = dd::Set::EMPTY;
        for &(s, _) in &self.parts {
            let sx = dd.and(s, x);
            out = dd.or(out, sx);
        }
        Some(out)
    }

    /// The packets also in `x`, made within `room`.
    fn and(&self, room: &Room, dd: &mut Dd, x: dd::Set) -> dd::Set {
        let mut out = dd::Set::EMPTY;
        for (s, w) in &self.parts {
            let sx = dd.and(*s, x);
            let part = room.met(dd, sx, w);
            out = dd.or(out, part);
        }
        out
    }

    /// The union as one diagram, made within `room`.
    fn made(&self, room: &Room, dd: &mut Dd) -> dd::Set {
        if let Some(m) = self.made.get() {
            return m;
        }
        let m = self.and(room, dd, dd::Set::FULL);
        self.made.set(Some(m));
        m
    }
}

/// What the checks need of one device: its effective sets on decision diagrams and, per rule,
/// the union over contexts of what it matches and what it decides.
struct Dev<'a> {
    name: &'a str,
    c: &'a CDevice,
    eff: &'a DeviceEffect<dd::Set>,
    /// Every rule's conditions as diagrams, with the box around them.
    conds: Conds<dd::Set>,
    /// Per ruleset, per rule: the packets it possibly matches (in any context).
    matched: Vec<Vec<Parts>>,
    /// Per ruleset, per rule: the packets it possibly decides (in any context).
    decided: Vec<Vec<Parts>>,
    /// Per ruleset: whether any context enters it.
    entered: Vec<bool>,
    /// Per rule that never possibly matches: the packets entering its ruleset that its
    /// conditions select (what earlier rules take from it).
    unmatched_entered: std::collections::HashMap<RuleLoc, dd::Set>,
    /// Per ruleset: reached from a filtering stage.
    filtering: Vec<bool>,
    /// The room the checks have for the diagrams they make.
    room: Room,
    /// The text and witness of the matched set of the rule being checked, made once (several
    /// findings of a rule show them).
    matched_words: std::cell::RefCell<Option<(RuleLoc, String, Option<super::Witness>)>>,
    /// The texts of address, interface and state sets made for this device's findings so far.
    words: std::cell::RefCell<Words>,
    /// New connections, and the sets of TCP, UDP and each of [`SENSITIVE_SERVICES`] (the
    /// permissive check meets a rule's set with each).
    new: dd::Set,
    tcp_udp: [dd::Set; 2],
    services: Vec<dd::Set>,
}

impl<'a> Dev<'a> {
    fn new(name: &'a str, c: &'a CDevice, dd: &mut Dd, e: &'a DeviceEffect<dd::Set>, filtering: Vec<bool>, max_bytes: usize) -> Dev<'a> {
        let room = Room::new(max_bytes);
        let conds = Conds::new(dd, c);
        let matched = e
            .rulesets
            .iter()
            .map(|rs| rs.rules.iter().map(|r| Parts::of(dd, r.ctxs.iter().map(|x| (&x.matched, x.within.as_slice())))).collect())
            .collect();
        let decided = e
            .rulesets
            .iter()
            .map(|rs| rs.rules.iter().map(|r| Parts::of(dd, r.ctxs.iter().map(|x| (&x.decided, x.within.as_slice())))).collect())
            .collect();
        let mut cube = |d: Dim, r: Ranges, more: Option<(Dim, Ranges)>| {
            let mut c = space::Cube::full();
            c.set(d, r);
            if let Some((d, r)) = more {
                c.set(d, r);
            }
            dd.cube(&c)
        };
        let new = cube(Dim::Ct, space::Ct::with_base(space::Ct::NEW), None);
        let tcp_udp = [proto::TCP, proto::UDP].map(|p| cube(Dim::Proto, Ranges::single(p as u128), None));
        let services = SENSITIVE_SERVICES
            .iter()
            .map(|&(p, port, _)| cube(Dim::Proto, Ranges::single(p as u128), Some((Dim::Dport, Ranges::single(port as u128)))))
            .collect();
        Dev {
            name,
            c,
            eff: e,
            new,
            tcp_udp,
            services,
            unmatched_entered: unmatched_entered(dd, &conds, e, &room),
            room,
            conds,
            matched,
            decided,
            entered: e.rulesets.iter().map(|r| !r.ctxs.is_empty()).collect(),
            filtering,
            matched_words: Default::default(),
            words: Default::default(),
        }
    }

    /// A set of this device's diagrams in readable form, and one packet of it.
    fn shown(&self, dd: &Dd, s: dd::Set) -> (String, Option<super::Witness>) {
        describe_dd(dd, s, Some(self.c), &mut self.words.borrow_mut())
    }

    /// A set of this device's packets in readable form.
    fn describe(&self, s: &PacketSet) -> String {
        describe_with(s, Some(self.c), &mut self.words.borrow_mut())
    }

    /// The packets the rule at `loc` possibly matches, labelled, and one of them.
    fn matched_set(&self, dd: &mut Dd, loc: RuleLoc, label: &str) -> (NamedSet, Option<super::Witness>) {
        let mut memo = self.matched_words.borrow_mut();
        let (_, text, w) = match memo.take().filter(|m| m.0 == loc) {
            Some(m) => memo.insert(m),
            None => {
                let m = self.matched[loc.ruleset][loc.rule].made(&self.room, dd);
                let (text, w) = self.shown(dd, m);
                memo.insert((loc, text, w))
            }
        };
        (NamedSet { label: label.into(), text: text.clone() }, w.clone())
    }
}

/// The effective sets of every device (model order), computed on cube sets: the reference the
/// decision-diagram walk ([`device_effects_dd`], which the findings use) is compared with.
pub fn device_effects(ws: &Workspace, net: &CNetwork) -> Vec<DeviceEffect> {
    net.devices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (families, new_only, _) = device_inputs(ws, i, c);
            effective::device_effect(c, &families, &new_only)
        })
        .collect()
}

/// The effective sets of every device computed on decision diagrams, each device with the
/// manager that holds its sets (model order).
pub fn device_effects_dd(ws: &Workspace, net: &CNetwork) -> Vec<(Dd, DeviceEffect<dd::Set>)> {
    device_effects_dd_in(ws, net, dd::ORDER)
}

/// [`device_effects_dd`] with the diagrams testing dimensions in `order`.
pub fn device_effects_dd_in(ws: &Workspace, net: &CNetwork, order: [Dim; space::NDIMS]) -> Vec<(Dd, DeviceEffect<dd::Set>)> {
    net.devices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (families, new_only, _) = device_inputs(ws, i, c);
            let mut dd = Dd::with_order(order);
            let e = effective::device_effect_dd(&mut dd, c, &families, &new_only);
            (dd, e)
        })
        .collect()
}

/// The effective sets of every device as the checks read them: on decision diagrams, with the
/// rules' sets kept apart from their entries and remainders kept as factors
/// ([`effective::device_effect_dd_apart`]).
pub fn device_effects_dd_apart(ws: &Workspace, net: &CNetwork) -> Vec<(Dd, DeviceEffect<dd::Set>)> {
    net.devices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (families, new_only, _) = device_inputs(ws, i, c);
            let mut dd = Dd::new();
            let e = effective::device_effect_dd_apart(&mut dd, c, &families, &new_only);
            (dd, e)
        })
        .collect()
}

/// Each ruleset's address family, whether it sees only new connections, and its stage.
fn device_inputs(ws: &Workspace, i: usize, c: &CDevice) -> (Vec<Family>, Vec<bool>, Vec<Option<Stage>>) {
    let model = ws.network.devices.get(i).and_then(|d| d.firewall.as_ref());
    let families: Vec<Family> =
        (0..c.rulesets.len()).map(|r| model.and_then(|f| f.rulesets.get(r)).map_or(Family::Any, |rs| rs.family)).collect();
    let mut stage: Vec<Option<Stage>> = vec![None; c.rulesets.len()];
    for (_, bs) in &c.hooks {
        for b in bs {
            if let Some(s) = stage.get_mut(b.ruleset) {
                s.get_or_insert(b.stage);
            }
        }
    }
    let new_only: Vec<bool> = stage.iter().map(|s| s.is_some_and(|s| s.new_only())).collect();
    (families, new_only, stage)
}

/// The effective sets of one device, computed on decision diagrams (the faster exact
/// representation, BENCHMARKS.md "Per-rule analysis").
fn one_device(ws: &Workspace, i: usize, c: &CDevice) -> (Dd, DeviceEffect<dd::Set>, Vec<Option<Stage>>) {
    let (families, new_only, stage) = device_inputs(ws, i, c);
    let mut dd = Dd::new();
    let e = effective::device_effect_dd_apart(&mut dd, c, &families, &new_only);
    (dd, e, stage)
}

/// For every rule that matches nothing in any context: the packets entering its ruleset (in
/// any context) that its conditions select.
fn unmatched_entered(
    dd: &mut Dd,
    conds: &Conds<dd::Set>,
    e: &DeviceEffect<dd::Set>,
    room: &Room,
) -> std::collections::HashMap<RuleLoc, dd::Set> {
    let mut out = std::collections::HashMap::new();
    for (ri, rs) in e.rulesets.iter().enumerate() {
        let mut entry: Option<dd::Set> = None;
        let whole = rs.ctxs.iter().all(|x| x.apart.as_ref().is_none_or(|w| w.is_empty()));
        for (i, r) in rs.rules.iter().enumerate() {
            if r.ctxs.iter().any(|x| !x.matched.may.is_empty()) {
                continue;
            }
            let loc = RuleLoc { ruleset: ri, rule: i };
            let Some(&cond) = conds.set(loc) else { continue };
            let met = if whole {
                let all = *entry.get_or_insert_with(|| rs.ctxs.iter().fold(dd::Set::EMPTY, |acc, x| dd.or(acc, x.entry.may)));
                dd.and(all, cond)
            } else {
                // Entries kept apart: each met with the conditions first.
                let mut acc = dd::Set::EMPTY;
                for x in &rs.ctxs {
                    let mut w = vec![x.entry.may];
                    w.extend(x.apart.iter().flatten().copied());
                    let part = room.met(dd, cond, &w);
                    acc = dd.or(acc, part);
                }
                acc
            };
            out.insert(loc, met);
        }
    }
    out
}

/// Rule-hygiene findings of every device.
pub fn check_rules(ws: &Workspace, net: &CNetwork) -> Vec<Finding> {
    check_rules_up_to(ws, net, MAX_RULES_PER_DEVICE)
}

/// [`check_rules`] with another per-device gate: devices with more than `max_rules` rules get
/// one R106 note instead of the per-rule analysis (benchmarks lift the gate).
pub fn check_rules_up_to(ws: &Workspace, net: &CNetwork, max_rules: usize) -> Vec<Finding> {
    check_rules_within(ws, net, max_rules, effective::MAX_SHARED_BYTES)
}

/// [`check_rules_up_to`] with the checks of a device stopping when its diagrams take more than
/// `max_bytes`.
fn check_rules_within(ws: &Workspace, net: &CNetwork, max_rules: usize, max_bytes: usize) -> Vec<Finding> {
    check_rules_keeping(ws, net, max_rules, max_bytes, None, MAX_KEPT_TEXTS)
}

/// [`check_rules_within`], dropping what a device's checks made whenever the bytes in use pass
/// `keep` (by default, [`check_device`] tells when), and the texts made for them when they are
/// more than `max_texts`.
fn check_rules_keeping(
    ws: &Workspace,
    net: &CNetwork,
    max_rules: usize,
    max_bytes: usize,
    keep: Option<usize>,
    max_texts: usize,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, c) in net.devices.iter().enumerate() {
        if c.rulesets.is_empty() {
            continue;
        }
        let rules: usize = c.rulesets.iter().map(|r| r.rules.len()).sum();
        if rules > max_rules {
            out.push(over_budget(c, format!("it has {rules} rules, more than the {max_rules} the per-rule analysis takes on")));
            continue;
        }
        let (mut dd, eff_dd, stage) = one_device(ws, i, c);
        if eff_dd.over_budget {
            let why = format!(
                "it stopped at its budget ({} set operations, {} MB of decision diagrams)",
                effective::MAX_WORK,
                effective::MAX_SHARED_BYTES >> 20
            );
            out.push(over_budget(c, why));
            continue;
        }
        // A ruleset filters when some context reaching it starts at a filtering stage (or at
        // an attached ruleset bound nowhere, whose stage is unknown).
        let mut filtering = vec![false; c.rulesets.len()];
        for (ri, rse) in eff_dd.rulesets.iter().enumerate() {
            filtering[ri] = rse.ctxs.iter().any(|x| {
                let root = eff_dd.contexts.get(x.ctx as usize).map_or(ri, |k| k.root);
                matches!(stage.get(root).copied().flatten(), None | Some(Stage::Filter))
            });
        }
        let d = Dev::new(&c.name, c, &mut dd, &eff_dd, filtering, max_bytes);
        let before = out.len();
        if !check_device(&d, &mut dd, &mut out, max_bytes, keep, max_texts) {
            out.truncate(before);
            let why = format!(
                "its checks stopped at the budget of {} MB of decision diagrams (the sets their findings describe)",
                max_bytes >> 20
            );
            out.push(over_budget(c, why));
        }
    }
    out
}

/// Devices with more rules than this are not analysed rule by rule (BENCHMARKS.md, "Per-rule
/// analysis", gives the time per size); such a device gets one R106 note instead.
pub const MAX_RULES_PER_DEVICE: usize = 10_000;

/// The texts a device's checks keep at most when they drop their sets ([`Words::release`]): a
/// device of 100,000 rules makes hundreds of thousands of address texts.
const MAX_KEPT_TEXTS: usize = 1 << 16;

/// The checks of a device keep what they make up to this many bytes of diagrams at least
/// (below, dropping it would only cost the operation cache's hits).
const MIN_KEPT_BYTES: usize = 64 << 20;

/// The per-rule analysis of a device was not done or stopped (`why`): no rule finding is
/// reported for it rather than incomplete ones.
fn over_budget(c: &CDevice, why: String) -> Finding {
    let (file, line, text, ruleset) = c
        .rulesets
        .iter()
        .find(|r| r.default_prov.line > 0)
        .map(|r| (r.default_prov.file.clone(), r.default_prov.line, r.default_prov.text.clone(), format!("{}/{}", r.table, r.name)))
        .unwrap_or_default();
    Finding {
        code: "R106",
        name: code_info("R106").map_or("", |c| c.name),
        severity: Severity::Info,
        certainty: Certainty::Possible,
        device: c.name.clone(),
        ruleset,
        file,
        line,
        text,
        message: format!(
            "the per-rule analysis of {} was not completed: {why}; shadowed, redundant, conflicting and permissive rules are not reported for this device",
            c.name
        ),
        sets: Vec::new(),
        related: Vec::new(),
        witness: None,
        depends_on: Vec::new(),
        owner: "auditor".into(),
        help: help_path("R106"),
    }
}

fn rule_ref(c: &CDevice, loc: RuleLoc) -> RuleRef {
    let Some(rs) = c.rulesets.get(loc.ruleset) else {
        return RuleRef { file: "".into(), line: 0, text: "".into(), action: "".into(), ruleset: "".into() };
    };
    let ruleset = format!("{}/{}", rs.table, rs.name);
    if loc.rule == RuleLoc::DEFAULT {
        let a = rs.default.clone().unwrap_or(Action::Accept);
        return RuleRef {
            file: rs.default_prov.file.as_str().into(),
            line: rs.default_prov.line,
            text: rs.default_prov.text.as_str().into(),
            action: format!("default {}", action_word(&a)).into(),
            ruleset: ruleset.into(),
        };
    }
    match rs.rules.get(loc.rule) {
        Some(r) => RuleRef {
            file: r.prov.file.as_str().into(),
            line: r.prov.line,
            text: r.prov.text.as_str().into(),
            action: action_word(&r.action).into(),
            ruleset: ruleset.into(),
        },
        None => RuleRef { file: "".into(), line: 0, text: "".into(), action: "".into(), ruleset: ruleset.into() },
    }
}

/// `file:line: text` of a rule.
fn at(r: &RuleRef) -> String {
    if r.line == 0 {
        // A rule the reader adds (a vendor's implicit rule): no line to point at.
        return r.text.to_string();
    }
    format!("{}:{} ({})", r.file, r.line, r.text)
}

/// Allow (true), deny (false), or neither (translation, unknown) for a deciding action.
fn allows(a: &Action) -> Option<bool> {
    match a {
        Action::Accept => Some(true),
        Action::Drop | Action::Reject(_) => Some(false),
        _ => None,
    }
}

fn in_doubt(c: &CDevice, loc: RuleLoc) -> bool {
    c.rulesets
        .get(loc.ruleset)
        .and_then(|r| r.rules.get(loc.rule))
        .is_some_and(|r| !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_)))
}

fn doubt_text(c: &CDevice, loc: RuleLoc) -> String {
    let Some(r) = c.rulesets.get(loc.ruleset).and_then(|r| r.rules.get(loc.rule)) else { return String::new() };
    let what = if r.unknown.is_empty() {
        match &r.action {
            Action::Unknown(t) => format!("action {t} is not modelled"),
            a => format!("{} is not followed", action_word(a)),
        }
    } else {
        format!("not modelled: {}", r.unknown.join(", "))
    };
    format!("{}:{}: {} ({what})", r.prov.file, r.prov.line, r.prov.text)
}

struct Base<'a> {
    d: &'a Dev<'a>,
    loc: RuleLoc,
}

impl Base<'_> {
    fn finding(&self, code: &'static str, severity: Severity, certainty: Certainty, message: String) -> Finding {
        let r = rule_ref(self.d.c, self.loc);
        Finding {
            code,
            name: code_info(code).map_or("", |c| c.name),
            severity,
            certainty,
            device: self.d.name.to_string(),
            ruleset: r.ruleset.to_string(),
            file: r.file.to_string(),
            line: r.line,
            text: r.text.to_string(),
            message,
            sets: Vec::new(),
            related: Vec::new(),
            witness: None,
            depends_on: Vec::new(),
            owner: if certainty == Certainty::Possible { "auditor".into() } else { "it".into() },
            help: help_path(code),
        }
    }
}

fn set(label: &str, s: &PacketSet, d: &Dev) -> NamedSet {
    NamedSet { label: label.into(), text: d.describe(s) }
}

/// The findings of every rule of a device; false if the device's diagrams outgrew `max_bytes`
/// on the way (the findings are then incomplete).
fn check_device(d: &Dev, dd: &mut Dd, out: &mut Vec<Finding>, max_bytes: usize, keep: Option<usize>, max_texts: usize) -> bool {
    let c = d.c;
    // What the checks make is kept up to one and a half times what the effective sets take, but
    // at most half the budget (the arenas keep the room of what is dropped, and grow by doubling).
    let base = dd.used_bytes().max(MIN_KEPT_BYTES);
    let keep = keep.unwrap_or_else(|| base.saturating_add(base / 2).min(max_bytes / 2));
    let mark = d.words.borrow().mark(dd);
    for (ri, rs) in c.rulesets.iter().enumerate() {
        let Some(re) = d.eff.rulesets.get(ri) else { continue };
        if !d.entered.get(ri).copied().unwrap_or(false) {
            unused(d, ri, out);
            continue;
        }
        for i in 0..rs.rules.len() {
            if let Some(e) = re.rules.get(i) {
                check_rule(&Base { d, loc: RuleLoc { ruleset: ri, rule: i } }, dd, e, out);
            }
            if dd.bytes() > max_bytes || d.room.over.get() {
                return false;
            }
            // Only this rule's findings read its sets made whole.
            d.matched[ri][i].made.set(None);
            d.decided[ri][i].made.set(None);
            if dd.used_bytes() > keep {
                // The sets the findings so far described are dropped (the operation cache
                // keeps what it can).
                d.words.borrow_mut().release(dd, mark, max_texts);
            }
        }
    }
    true
}

/// The findings of one rule.
fn check_rule(b: &Base, dd: &mut Dd, e: &effective::RuleEffect<dd::Set>, out: &mut Vec<Finding>) {
    let Some(r) = b.d.c.rulesets.get(b.loc.ruleset).and_then(|x| x.rules.get(b.loc.rule)) else { return };
    let possibly = e.ctxs.iter().any(|x| !x.matched.may.is_empty());
    let certainly = e.ctxs.iter().any(|x| {
        let mut all = vec![*x.matched.must()];
        all.extend_from_slice(&x.within);
        dd.meets_all(&all)
    });
    let doubtful = !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_)) || e.not_followed;
    if doubtful && possibly {
        unmodelled(b, dd, out);
    }
    if !possibly {
        shadowed(b, dd, out);
        return;
    }
    if !certainly && !doubtful {
        possibly_shadowed(b, dd, out);
        return;
    }
    if doubtful || Step::of(&r.action) != Step::Decide {
        return;
    }
    redundant(b, dd, e, out);
    conflicts(b, dd, out);
    if r.action == Action::Accept && b.d.filtering.get(b.loc.ruleset).copied().unwrap_or(true) {
        permissive(b, dd, out);
    }
}

fn unused(d: &Dev, ri: usize, out: &mut Vec<Finding>) {
    let c = d.c;
    let Some(rs) = c.rulesets.get(ri) else { return };
    let re = &d.eff.rulesets[ri];
    let (file, line, text) = if rs.default_prov.line > 0 {
        (rs.default_prov.file.clone(), rs.default_prov.line, rs.default_prov.text.clone())
    } else if let Some(r) = rs.rules.first() {
        (r.prov.file.clone(), r.prov.line, r.prov.text.clone())
    } else {
        (rs.default_prov.file.clone(), 0, String::new())
    };
    let name = format!("{}/{}", rs.table, rs.name);
    let (message, related) = if re.callers.is_empty() {
        (
            format!(
                "{name} ({} rule{}) is never used: no rule jumps or goes to it and it is attached nowhere, so none of its rules ever applies",
                rs.rules.len(),
                if rs.rules.len() == 1 { "" } else { "s" }
            ),
            Vec::new(),
        )
    } else {
        let refs: Vec<RuleRef> = re.callers.iter().map(|l| rule_ref(c, *l)).collect();
        (
            format!(
                "no packet ever enters {name}: the {} rule{} calling it never match{} (or sit in rulesets nothing uses)",
                refs.len(),
                if refs.len() == 1 { "" } else { "s" },
                if refs.len() == 1 { "es" } else { "" }
            ),
            refs,
        )
    };
    out.push(Finding {
        code: "R105",
        name: code_info("R105").map_or("", |c| c.name),
        severity: Severity::Low,
        certainty: Certainty::Definite,
        device: d.name.to_string(),
        ruleset: name,
        file,
        line,
        text,
        message,
        sets: Vec::new(),
        related,
        witness: None,
        depends_on: Vec::new(),
        owner: "it".into(),
        help: help_path("R105"),
    });
}

fn unmodelled(b: &Base, dd: &mut Dd, out: &mut Vec<Finding>) {
    let c = b.d.c;
    let (m, w) = b.d.matched_set(dd, b.loc, "possibly matches");
    let mut f = b.finding(
        "R106",
        Severity::Low,
        Certainty::Possible,
        format!(
            "{}; the rule is taken to possibly apply wherever its modelled conditions hold, and everything that depends on it is only possible",
            doubt_text(c, b.loc).split_once(" (").map_or(String::new(), |x| x.1.trim_end_matches(')').to_string())
        ),
    );
    f.sets.push(m);
    f.witness = w;
    f.depends_on.push(doubt_text(c, b.loc));
    out.push(f);
}

/// Earlier rules of the same ruleset whose decided packets meet `m`, a subset of the
/// conditions of the rule at `loc`.
fn covering(d: &Dev, dd: &mut Dd, loc: RuleLoc, m: dd::Set) -> Vec<RuleLoc> {
    let mut v = Vec::new();
    let Some(within) = d.conds.bounds(loc).copied() else { return v };
    for (j, dj) in d.decided[loc.ruleset].iter().enumerate().take(loc.rule) {
        let at = RuleLoc { ruleset: loc.ruleset, rule: j };
        if dj.is_empty() || !d.conds.bounds(at).is_some_and(|x| x.meets(&within)) {
            continue;
        }
        if dj.meets(dd, m) {
            v.push(at);
        }
    }
    v
}

fn shadowed(b: &Base, dd: &mut Dd, out: &mut Vec<Finding>) {
    let c = b.d.c;
    let Some(r) = c.rulesets.get(b.loc.ruleset).and_then(|x| x.rules.get(b.loc.rule)) else { return };
    if r.set.is_empty() {
        out.push(b.finding(
            "R101",
            Severity::Medium,
            Certainty::Definite,
            "the rule never matches: its conditions can never hold together (or not for the ruleset's address family)".into(),
        ));
        return;
    }
    let entered_dd = b.d.unmatched_entered.get(&b.loc).copied().unwrap_or_default();
    let rs = &c.rulesets[b.loc.ruleset];
    if entered_dd.is_empty() {
        let callers: Vec<RuleRef> = b.d.eff.rulesets[b.loc.ruleset].callers.iter().map(|l| rule_ref(c, *l)).collect();
        let mut f = b.finding(
            "R101",
            Severity::Medium,
            Certainty::Definite,
            format!(
                "the rule never matches: no packet it would match ever enters {}/{}{}",
                rs.table,
                rs.name,
                if callers.is_empty() { String::new() } else { " (the rules calling it hand over other packets)".into() }
            ),
        );
        f.sets.push(set("would match", &r.set, b.d));
        f.related = callers;
        out.push(f);
        return;
    }
    let covers = covering(b.d, dd, b.loc, entered_dd);
    let (entered, w) = b.d.shown(dd, entered_dd);
    let refs: Vec<RuleRef> = covers.iter().map(|l| rule_ref(c, *l)).collect();
    let mine = allows(&r.action);
    let opposite = covers.iter().any(|l| {
        let a = c.rulesets[l.ruleset].rules.get(l.rule).map(|x| allows(&x.action));
        matches!((mine, a), (Some(x), Some(Some(y))) if x != y)
    });
    let same = !covers.is_empty()
        && covers.iter().all(|l| {
            c.rulesets[l.ruleset].rules.get(l.rule).is_some_and(|x| x.action == r.action)
        });
    let severity = if opposite {
        Severity::High
    } else if same {
        Severity::Low
    } else {
        Severity::Medium
    };
    let names: Vec<String> = refs.iter().map(at).collect();
    let mut msg = if names.is_empty() {
        "the rule never matches: every packet it would match is taken before it".to_string()
    } else {
        format!("the rule never matches: earlier rules take every packet it would match: {}", names.join("; "))
    };
    if opposite {
        msg.push_str(&format!("; some with the opposite decision, so this rule's {} never happens", action_word(&r.action)));
    }
    let mut f = b.finding("R101", severity, Certainty::Definite, msg);
    f.sets.push(NamedSet { label: "would match".into(), text: entered });
    f.witness = w;
    f.related = refs;
    out.push(f);
}

fn possibly_shadowed(b: &Base, dd: &mut Dd, out: &mut Vec<Finding>) {
    let c = b.d.c;
    let m_dd = b.d.matched[b.loc.ruleset][b.loc.rule].made(&b.d.room, dd);
    let covers: Vec<RuleLoc> = covering(b.d, dd, b.loc, m_dd).into_iter().filter(|l| in_doubt(c, *l)).collect();
    let (m, w) = b.d.matched_set(dd, b.loc, "matches unless taken earlier");
    let mut f = b.finding(
        "R101",
        Severity::Low,
        Certainty::Possible,
        format!(
            "the rule possibly never matches: every packet it would match may be taken before it by rules with unmodelled conditions{}",
            if covers.is_empty() { String::new() } else { format!(": {}", covers.iter().map(|l| at(&rule_ref(c, *l))).collect::<Vec<_>>().join("; ")) }
        ),
    );
    f.sets.push(m);
    f.witness = w;
    f.depends_on = covers.iter().map(|l| doubt_text(c, *l)).collect();
    f.related = covers.iter().map(|l| rule_ref(c, *l)).collect();
    out.push(f);
}

/// True if the bounds of what a rule matches in a context differ, once met with what they are
/// kept apart from.
fn doubtful(dd: &mut Dd, x: &effective::RuleCtx<dd::Set>) -> bool {
    if x.within.is_empty() {
        return x.matched.doubtful_in(dd);
    }
    let mut all = vec![dd.diff(x.matched.may, *x.matched.must())];
    all.extend_from_slice(&x.within);
    dd.meets_all(&all)
}

/// Same final decision: the same action, or both accept, both drop, both reject alike.
fn same_decision(a: &Action, b: &Action) -> bool {
    a == b
}

fn redundant(b: &Base, dd: &mut Dd, e: &effective::RuleEffect<dd::Set>, out: &mut Vec<Finding>) {
    let c = b.d.c;
    let Some(r) = c.rulesets.get(b.loc.ruleset).and_then(|x| x.rules.get(b.loc.rule)) else { return };
    if e.ctxs.iter().any(|x| doubtful(dd, x)) {
        return;
    }
    let Some(within) = b.d.conds.bounds(b.loc).copied() else { return };
    let mut deciders: Vec<RuleLoc> = Vec::new();
    for x in &e.ctxs {
        if x.matched.may.is_empty() {
            continue;
        }
        let Some(ctx) = b.d.eff.contexts.get(x.ctx as usize) else { return };
        // A cheap first test with one packet: most rules fail it.
        let mut all = vec![x.matched.may];
        all.extend_from_slice(&x.within);
        let w = dd.witness_all(&all);
        let Some(w) = w else { continue };
        let first = point_outcome(c, Some(b.loc), ctx.root, &ctx.stack, b.loc.ruleset, b.loc.rule + 1, &w);
        if !matches!(&first, Outcome::Action(a, _) if same_decision(a, &r.action)) {
            return;
        }
        let mut ok = true;
        let mut locs = Vec::new();
        let m = b.d.room.met(dd, x.matched.may, &x.within);
        let mut walk = Continuation { alg: &mut *dd, dev: c, conds: &b.d.conds, skip: Some(b.loc), root: ctx.root, within };
        walk.from(&ctx.stack, b.loc.ruleset, b.loc.rule + 1, m, &mut |o, _| match o {
            Outcome::Action(a, at) if same_decision(a, &r.action) => {
                if !locs.contains(at) {
                    locs.push(*at);
                }
                true
            }
            _ => {
                ok = false;
                false
            }
        });
        if !ok {
            return;
        }
        for l in locs {
            if !deciders.contains(&l) {
                deciders.push(l);
            }
        }
    }
    let refs: Vec<RuleRef> = deciders.iter().map(|l| rule_ref(c, *l)).collect();
    let (m, w) = b.d.matched_set(dd, b.loc, "decides");
    let mut f = b.finding(
        "R102",
        Severity::Low,
        Certainty::Definite,
        format!(
            "removing the rule changes no decision: every packet it decides would get the same {} from {}",
            action_word(&r.action),
            refs.iter().map(|x| match (x.action.starts_with("default"), x.line) {
                (true, 0) => format!("the default of {}", x.ruleset),
                (true, _) => format!("the default of {} ({}:{})", x.ruleset, x.file, x.line),
                _ => at(x),
            }).collect::<Vec<_>>().join("; ")
        ),
    );
    f.sets.push(m);
    f.witness = w;
    f.related = refs;
    out.push(f);
}

/// Earlier rules with the opposite decision that take part of what this rule's conditions
/// select. An earlier rule whose conditions lie wholly inside this rule's is an exception carved
/// out of it (a host allowed before its network is denied; every accept before a catch-all
/// deny): that is how exceptions are written, so only earlier rules reaching beyond this rule's
/// conditions make a conflict.
fn conflicts(b: &Base, dd: &mut Dd, out: &mut Vec<Finding>) {
    let c = b.d.c;
    let Some(r) = c.rulesets.get(b.loc.ruleset).and_then(|x| x.rules.get(b.loc.rule)) else { return };
    let Some(mine) = allows(&r.action) else { return };
    let (Some(&cond), Some(within)) = (b.d.conds.set(b.loc), b.d.conds.bounds(b.loc).copied()) else { return };
    let rules = &c.rulesets[b.loc.ruleset].rules;
    let mut parts: Vec<RuleLoc> = Vec::new();
    let mut overlap_dd = dd::Set::EMPTY;
    for (j, dj) in b.d.decided[b.loc.ruleset].iter().enumerate().take(b.loc.rule) {
        let at = RuleLoc { ruleset: b.loc.ruleset, rule: j };
        let Some(rj) = rules.get(j) else { continue };
        if dj.is_empty() || allows(&rj.action) != Some(!mine) || !b.d.conds.bounds(at).is_some_and(|x| x.meets(&within)) {
            continue;
        }
        let Some(&cond_j) = b.d.conds.set(at) else { continue };
        if !dd.is_subset(cond_j, cond) && dj.meets(dd, cond) {
            parts.push(at);
            let cut = dj.and(&b.d.room, dd, cond);
            overlap_dd = dd.or(overlap_dd, cut);
        }
    }
    if parts.is_empty() {
        return;
    }
    let (taken, w) = b.d.shown(dd, overlap_dd);
    let (m, _) = b.d.matched_set(dd, b.loc, "still decided here");
    let refs: Vec<RuleRef> = parts.iter().map(|l| rule_ref(c, *l)).collect();
    let severity = if mine { Severity::Info } else { Severity::Medium };
    let msg = format!(
        "part of what this rule {} is {} earlier by {}: {taken}",
        if mine { "accepts" } else { "denies" },
        if mine { "denied" } else { "accepted" },
        refs.iter().map(at).collect::<Vec<_>>().join("; "),
    );
    let mut f = b.finding("R104", severity, Certainty::Definite, msg);
    f.sets.push(NamedSet { label: "taken earlier".into(), text: taken });
    f.sets.push(m);
    f.witness = w;
    f.related = refs;
    out.push(f);
}

fn share(r: &Ranges, v6: bool) -> f64 {
    let fam = space::family_range(v6);
    let n = r.intersect(&fam).count() as f64;
    n / fam.count() as f64
}

fn is_any(r: &Ranges) -> bool {
    share(r, false) >= ANY_ADDRESS_SHARE || share(r, true) >= ANY_ADDRESS_SHARE
}

fn permissive(b: &Base, dd: &mut Dd, out: &mut Vec<Finding>) {
    // What the rule matches lies in the box around its conditions: a rule whose sources there
    // are not "any" and whose destination ports are fewer than a wide range has no reason to be
    // reported, whatever earlier rules take from it.
    if let Some(bx) = b.d.conds.bounds(b.loc) {
        let (lo, hi) = bx.range(Dim::Src);
        let (plo, phi) = bx.range(Dim::Dport);
        if !is_any(&Ranges::range(lo, hi)) && (plo > phi || phi - plo + 1 < WIDE_PORT_RANGE) {
            return;
        }
    }
    let m = &b.d.matched[b.loc.ruleset][b.loc.rule];
    // Every reason only grows with the set: when a superset made without the context's entry
    // gives none, neither does the set, which is then not made.
    if let Some(upper) = m.and_upper(dd, b.d.new) {
        if permissive_reasons(b, dd, upper).is_none() {
            return;
        }
    }
    let new = m.and(&b.d.room, dd, b.d.new);
    let Some((reasons, severity)) = permissive_reasons(b, dd, new) else { return };
    let (text, w) = b.d.shown(dd, new);
    let mut f = b.finding("R103", severity, Certainty::Definite, format!("overly permissive: {}", reasons.join("; ")));
    f.sets.push(NamedSet { label: "accepts".into(), text });
    f.witness = w;
    out.push(f);
}

/// Why the new connections `new` a rule accepts make it overly permissive, and how severe that
/// is; `None` for no reason.
fn permissive_reasons(b: &Base, dd: &mut Dd, new: dd::Set) -> Option<(Vec<String>, Severity)> {
    if new.is_empty() {
        return None;
    }
    // Loopback traffic only: the device talking to itself.
    if let Some(lo) = b.d.c.ifaces.id("lo") {
        if dd.project(new, Dim::Iif) == Ranges::single(lo as u128) {
            return None;
        }
    }
    let any_src = is_any(&dd.project(new, Dim::Src));
    let any_dst = is_any(&dd.project(new, Dim::Dst));
    let all_protos = dd.project(new, Dim::Proto).count() >= 250;
    let mut reasons: Vec<String> = Vec::new();
    let mut severity = Severity::Info;
    let mut wide = Vec::new();
    for (k, name) in ["tcp", "udp"].into_iter().enumerate() {
        let of_proto = dd.and(new, b.d.tcp_udp[k]);
        let ports = dd.project(of_proto, Dim::Dport);
        if ports.count() >= WIDE_PORT_RANGE {
            wide.push(format!("{name} {} ({} ports)", port_set(&ports, 65535), ports.count()));
        }
    }
    if any_src && any_dst && (all_protos || !wide.is_empty()) {
        reasons.push("it accepts new connections from any source to any destination".into());
        severity = Severity::High;
    } else if any_src && any_dst {
        reasons.push("it accepts new connections from any source to any destination".into());
        severity = severity.max(Severity::Medium);
    }
    if any_src {
        let mut hit = Vec::new();
        for (&(p, port, name), &svc) in SENSITIVE_SERVICES.iter().zip(&b.d.services) {
            if dd.meets(new, svc) {
                hit.push(format!("{name} ({}/{port})", if p == proto::TCP { "tcp" } else { "udp" }));
            }
        }
        if !hit.is_empty() {
            let n = hit.len();
            if n > 6 {
                hit.truncate(6);
                hit.push(format!("and {} more", n - 6));
            }
            reasons.push(format!("it opens sensitive services to any source: {}", hit.join(", ")));
            severity = Severity::High;
        }
    }
    if !wide.is_empty() {
        reasons.push(format!("it opens a wide port range: {}", wide.join(", ")));
        severity = severity.max(Severity::Medium);
    }
    (!reasons.is_empty()).then_some((reasons, severity))
}

#[cfg(test)]
mod test;
