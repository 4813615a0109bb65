//! nftables rulesets: `nft list ruleset` text and `nft -j list ruleset` JSON.
//!
//! Both forms are read into one intermediate form ([`ir`]: tables, chains, sets, rules made of
//! statements) by [`text`] and [`json`], and lowered here into the model the same way, so the
//! two forms of one ruleset give the same model (rule texts aside).
//!
//! Lowering follows the iptables reader's decisions: every chain of an `ip`, `ip6` or `inet`
//! table is a [`Ruleset`]; base chains are attached to their hook with the stage their type and
//! priority give; the firewall is stateful. `bridge`, `arp` and `netdev` tables do not take part
//! in IP routing and are reported, not modelled. What the model does not follow is kept in
//! [`Rule::unknown`] (matches) or as [`Action::Unknown`] (statements), each with a diagnostic.
//!
//! Assumptions are named constants: `DEFAULT_POLICY`, and the iptables reader's
//! `LIMIT_ALWAYS_MATCHES` for `limit rate`.

mod ir;
mod jtree;
mod json;
mod text;

use std::sync::Arc;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use self::ir::*;
use super::iptables::{self, prio};
use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{
    Action, AddrRange, Cond, Family, Firewall, Hook, HookBinding, NatTarget, Rule, Ruleset, Stage, Test,
};
use crate::space::{proto, tcp_flags, Ct};

/// Targets of `xt target NAME` (iptables-nft compatibility expressions) that do not change
/// where the packet goes.
const XT_CONTINUE_TARGETS: &[&str] = iptables::CONTINUE_TARGETS;

/// Policy of a base chain that states none: nftables base chains accept by default
/// (nft(8), CHAINS: "policy … default is accept").
const DEFAULT_POLICY: Action = Action::Accept;

/// `NF_IP_PRI_CONNTRACK` (include/uapi/linux/netfilter_ipv4.h): base chains of type filter with
/// a lower priority run before connection tracking, like the iptables raw table.
const PRI_CONNTRACK: i32 = -200;

/// The most rules one nft rule may expand to (sets of interfaces or ICMP types combine as
/// alternatives); beyond, the rule's conditions are kept as unknown.
const MAX_EXPANSION: usize = 256;

/// Standard priority names (nft(8), "Table 6. Standard priority names, family and hook
/// compatibility matrix"): ip, ip6, inet (and arp, netdev: filter only).
fn named_priority(name: &str, fam: Fam) -> Option<i32> {
    if fam == Fam::Bridge {
        return Some(match name {
            "dstnat" => -300,
            "filter" => -200,
            "out" => 100,
            "srcnat" => 300,
            _ => return None,
        });
    }
    Some(match name {
        "raw" => prio::RAW,
        "mangle" => prio::MANGLE,
        "dstnat" => prio::NAT_DST,
        "filter" => prio::FILTER,
        "security" => prio::SECURITY,
        "srcnat" => prio::NAT_SRC,
        _ => return None,
    })
}

/// `-300`, `filter`, `filter + 10`, `mangle - 5`, `dstnat-5`.
fn parse_priority(s: &str, fam: Fam) -> Option<i32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return Some(n);
    }
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let split = compact.find(['+', '-']).filter(|&i| i > 0);
    match split {
        None => named_priority(&compact, fam),
        Some(i) => {
            let (name, rest) = compact.split_at(i);
            let base = named_priority(name, fam)?;
            let n: i32 = rest.parse().ok()?;
            base.checked_add(n)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// Lines of a text that detection looks at.
const LOOKS_LIKE_LINES: usize = 4000;

/// True if the text is `nft list ruleset` output (or an `nft -f` script of tables).
///
/// Signals: a `table [FAMILY] NAME {` line, the `#!/usr/sbin/nft -f` line, `flush ruleset`;
/// and most lines that are not blank or comments must look like nft lines (no iptables `-A`).
pub fn looks_like(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') || t.starts_with('<') {
        return false;
    }
    // every signal line holds one of these words: lines without any of them give no signal
    // (a short text is searched whole; a long one up to the last line looked at)
    let head = if t.len() <= LOOKS_LIKE_LINES * 64 {
        t
    } else {
        t.match_indices('\n').nth(LOOKS_LIKE_LINES - 1).and_then(|(i, _)| t.get(..i)).unwrap_or(t)
    };
    if !head.contains("table") && !head.contains("flush ruleset") && !head.contains("#!") {
        return false;
    }
    let mut signal = false;
    let mut other = 0usize;
    let mut like = 0usize;
    for line in t.lines().take(LOOKS_LIKE_LINES) {
        let l = line.trim();
        if l.starts_with("#!") && l.contains("nft") {
            signal = true;
            continue;
        }
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if ferm_like(l) {
            // ferm (iptables front end) shares nft's braces but not its words
            return false;
        }
        let mut w = l.split_whitespace();
        let first = w.next().unwrap_or("");
        match first {
            "table" => {
                let rest: Vec<&str> = w.collect();
                let ok = match rest.as_slice() {
                    [f, _name, "{"] => Fam::from_name(f).is_some(),
                    [_name, "{"] => true,
                    [f, name] => Fam::from_name(f).is_some() && name.ends_with('{') || name.ends_with('{'),
                    _ => false,
                };
                if ok {
                    signal = true;
                    like += 1;
                } else {
                    other += 1;
                }
            }
            "flush" if l == "flush ruleset" => {
                signal = true;
                like += 1;
            }
            "-A" | "-N" | "-P" | "*filter" | "*nat" | "COMMIT" | "config" | "set" | "edit" | "interface"
            | "hostname" | "access-list" => other += 1,
            _ => like += 1,
        }
    }
    signal && like >= other
}

/// A line of a ferm script: `@def`/`@include`, or an iptables target in capitals as a statement
/// (`ACCEPT;`, `policy DROP;`), which nft writes in lower case.
fn ferm_like(l: &str) -> bool {
    if l.starts_with("@def") || l.starts_with("@include") || l.starts_with("@if") {
        return true;
    }
    // the targets are in capitals: a line without any cannot name one (the whole line is
    // looked at, which vectorizes, rather than stopping at the first capital)
    if !l.bytes().fold(false, |any, c| any | c.is_ascii_uppercase()) {
        return false;
    }
    let mut prev = "";
    for w in l.split_whitespace() {
        let w2 = w.trim_end_matches(';');
        if matches!(w2, "ACCEPT" | "DROP" | "REJECT" | "RETURN" | "MASQUERADE" | "SNAT" | "DNAT" | "NOTRACK")
            && !matches!(prev, "jump" | "goto" | "chain")
        {
            return true;
        }
        prev = w;
    }
    false
}

/// True if the (trimmed) JSON text is `nft -j list ruleset` output: an object whose first key is
/// `"nftables"`.
pub fn looks_like_json(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = t.strip_prefix('{') else { return false };
    rest.trim_start().starts_with("\"nftables\"")
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Parse one file of either form.
pub fn parse(format: Format, source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut out = ParsedFile::new(format, text);
    let mut diags = Diags::default();
    let tables = if format == Format::NftablesJson {
        match json::read(text, &mut diags) {
            Some(t) => t,
            None => {
                out.diags = diags.list;
                return out;
            }
        }
    } else {
        out.lines_skipped = text::cosmetic_lines(text);
        text::read(text, &mut diags)
    };
    let mut lw = Lowerer { source, file, diags, fw: Firewall { stateful: true, ..Default::default() }, bindings: Vec::new() };
    for t in &tables {
        lw.table(t);
    }
    let mut b = std::mem::take(&mut lw.bindings);
    b.sort_by_key(|(h, key, _)| (*h, *key));
    lw.fw.hooks = b.into_iter().map(|(_, _, h)| h).collect();
    let mut d = lw.diags.list;
    d.sort_by_key(|d| d.line);
    out.diags = d;
    if !lw.fw.rulesets.is_empty() {
        out.content.firewall = Some(Arc::new(lw.fw));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Lowering
// ---------------------------------------------------------------------------------------------

/// Table being lowered.
struct Tctx<'t> {
    t: &'t Table<'t>,
    family: Family,
    /// Chain name → ruleset index.
    chains: HashMap<&'t str, usize>,
    /// Set name → definition.
    sets: HashMap<&'t str, &'t SetDef<'t>>,
    label: String,
}

struct Lowerer<'a> {
    source: SourceId,
    file: &'a str,
    diags: Diags,
    fw: Firewall,
    /// Bindings with their sort key (hook, (priority, order among NAT chains, appearance)).
    bindings: Vec<(Hook, (i32, i32, usize), HookBinding)>,
}

impl Lowerer<'_> {
    fn prov(&self, pos: &Pos<'_>) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line: pos.line, text: pos.text.to_string() }
    }

    fn diag(&mut self, code: &'static str, sev: Severity, pos: &Pos<'_>, reason: impl Into<String>) {
        self.diags.push(code, sev, pos.line, &pos.text, reason);
    }

    fn table<'t>(&mut self, t: &'t Table<'t>) {
        let label = format!("{} {}", t.fam.name(), t.name);
        self.diags.set_context(format!("nftables table {label}"));
        let family = match t.fam {
            Fam::Ip => Family::V4,
            Fam::Ip6 => Family::V6,
            Fam::Inet => Family::Any,
            Fam::Bridge | Fam::Arp | Fam::Netdev => {
                self.other_family_table(t);
                return;
            }
        };
        let mut cx = Tctx { t, family, chains: HashMap::new(), sets: HashMap::new(), label: label.clone() };
        for s in &t.sets {
            cx.sets.insert(s.name.as_ref(), s);
        }
        // every chain gets its ruleset first, so jumps resolve in any order
        for c in &t.chains {
            let idx = self.fw.rulesets.len();
            cx.chains.insert(c.name.as_ref(), idx);
            self.fw.rulesets.push(Ruleset {
                name: c.name.to_string(),
                table: label.clone(),
                family,
                default: None,
                default_prov: self.prov(&c.pos),
                rules: Vec::new(),
            });
        }
        if t.dormant {
            self.diag(
                codes::STRUCTURE,
                Severity::Info,
                &t.pos,
                format!("table {label} is dormant (flags dormant): its base chains are not attached"),
            );
        }
        for c in &t.chains {
            let Some(&idx) = cx.chains.get(c.name.as_ref()) else { continue };
            self.diags.set_context(format!("nftables table {label} chain {}", c.name));
            self.base_chain(&cx, c, idx);
            let nat_chain = c.base.as_ref().map(|b| b.ty == "nat");
            let mut rules = Vec::with_capacity(c.rules.len());
            for r in &c.rules {
                self.rule(&cx, r, nat_chain, &mut rules);
            }
            if let Some(rs) = self.fw.rulesets.get_mut(idx) {
                rs.rules = rules;
            }
        }
    }

    fn other_family_table(&mut self, t: &Table<'_>) {
        let active = t.chains.iter().any(|c| {
            !c.rules.is_empty() || c.policy.as_ref().is_some_and(|(p, _)| p != "accept")
        });
        let (sev, what) = match t.fam {
            Fam::Netdev => (
                if active { Severity::Warning } else { Severity::Info },
                "filters frames at a device's ingress/egress, before and outside IP routing; it is not modelled",
            ),
            Fam::Bridge => (Severity::Info, "filters frames crossing a bridge, not routed IP packets; it is not modelled"),
            _ => (Severity::Info, "filters ARP, not IP packets; it is not modelled"),
        };
        let sev = if t.fam == Fam::Netdev { sev } else { sev.max(Severity::Info) };
        self.diag(codes::STRUCTURE, sev, &t.pos, format!("table {} {} {what}", t.fam.name(), t.name));
        if t.fam == Fam::Netdev && active {
            // the rules may drop routed traffic: name each one so answers can be checked
            for c in &t.chains {
                for r in &c.rules {
                    self.diag(
                        codes::UNMODELLED_MATCH,
                        Severity::Warning,
                        &r.pos,
                        "rule of a netdev chain: not modelled (it acts before routing on its device)",
                    );
                }
            }
        }
    }

    /// Attach a base chain; returns true for a NAT chain.
    fn base_chain(&mut self, cx: &Tctx<'_>, c: &Chain<'_>, idx: usize) -> bool {
        let Some(b) = &c.base else {
            if let Some((_, pos)) = &c.policy {
                let pos = pos.clone();
                self.diag(codes::STRUCTURE, Severity::Warning, &pos, "policy on a regular chain (no type … hook …): ignored");
            }
            return false;
        };
        // the policy
        let (default, dprov) = match &c.policy {
            None => (DEFAULT_POLICY, self.prov(&b.pos)),
            Some((p, pos)) => {
                let a = match p.as_ref() {
                    "accept" => DEFAULT_POLICY,
                    "drop" => Action::Drop,
                    other => {
                        let pos = pos.clone();
                        self.diag(codes::BAD_VALUE, Severity::Warning, &pos, format!("policy \"{other}\" is neither accept nor drop: its effect is unknown"));
                        Action::Unknown(format!("policy {other}"))
                    }
                };
                (a, self.prov(pos))
            }
        };
        if let Some(rs) = self.fw.rulesets.get_mut(idx) {
            rs.default = Some(default);
            rs.default_prov = dprov;
        }
        let hook = match b.hook.as_ref() {
            "prerouting" => Some(Hook::Prerouting),
            "input" => Some(Hook::Input),
            "forward" => Some(Hook::Forward),
            "output" => Some(Hook::Output),
            "postrouting" => Some(Hook::Postrouting),
            _ => None,
        };
        let Some(hook) = hook else {
            let active = !c.rules.is_empty() || c.policy.as_ref().is_some_and(|(p, _)| p != "accept");
            let sev = if active { Severity::Warning } else { Severity::Info };
            self.diag(
                codes::STRUCTURE,
                sev,
                &b.pos,
                format!("hook \"{}\" is not one of prerouting, input, forward, output, postrouting: the chain is not attached (not modelled)", b.hook),
            );
            return false;
        };
        if b.device.is_some() {
            self.diag(codes::STRUCTURE, Severity::Warning, &b.pos, "base chain bound to a device: not modelled, the chain is not attached");
            return false;
        }
        let Some(p) = parse_priority(&b.prio, cx.t.fam) else {
            self.diag(
                codes::BAD_VALUE,
                Severity::Warning,
                &b.pos,
                format!("priority \"{}\" is neither a number nor a standard priority name: the chain is not attached", b.prio),
            );
            return false;
        };
        let (stage, priority, nat) = match b.ty.as_ref() {
            "nat" => match hook {
                // NAT chains run inside the NAT hooks at fixed priorities (nf_nat_register_fn in
                // net/netfilter/nf_nat_core.c); their own priorities only order them.
                Hook::Prerouting | Hook::Output => (Stage::DstNat, prio::NAT_DST, true),
                Hook::Input | Hook::Postrouting => (Stage::SrcNat, prio::NAT_SRC, true),
                Hook::Forward => {
                    self.diag(codes::STRUCTURE, Severity::Warning, &b.pos, "nat chains cannot use the forward hook (nft refuses it): not attached");
                    return false;
                }
            },
            "filter" => {
                let stage = if p < PRI_CONNTRACK {
                    Stage::Raw
                } else if p < prio::FILTER {
                    Stage::Mangle
                } else {
                    Stage::Filter
                };
                (stage, p, false)
            }
            "route" if hook == Hook::Output => (Stage::Mangle, p, false),
            other => {
                self.diag(
                    codes::STRUCTURE,
                    Severity::Warning,
                    &b.pos,
                    format!("chain type \"{other}\" with hook {} is not one nftables has: not attached", b.hook),
                );
                return false;
            }
        };
        if cx.t.dormant {
            return nat;
        }
        let order = if nat { p } else { 0 };
        let n = self.bindings.len();
        self.bindings.push((hook, (priority, order, n), HookBinding { hook, stage, priority, ruleset: idx, family: cx.family }));
        nat
    }

    /// Lower one rule into model rules (several when values combine as alternatives, or a
    /// verdict map is split by verdict).
    fn rule<'t>(&mut self, cx: &Tctx<'t>, r: &'t RuleIr<'t>, nat_chain: Option<bool>, out: &mut Vec<Rule>) {
        let mut lw = RuleLower::new(cx);
        let mut terminal: Option<&Stmt<'t>> = None;
        let mut notrack = false;
        for st in &r.stmts {
            if terminal.is_some() {
                match st {
                    Stmt::Effect(_) => continue,
                    _ => {
                        lw.note(codes::STRUCTURE, Severity::Warning, format!("statement \"{st}\" after the rule's verdict: never reached"));
                        continue;
                    }
                }
            }
            match st {
                Stmt::Match { key, mask, op, right } => lw.matches(key, mask.as_deref(), *op, right, &Lazy::stmt(st)),
                Stmt::Verdict(_) | Stmt::Reject(_) | Stmt::Nat(_) | Stmt::UnmodelledAction(_) | Stmt::Vmap { .. } => {
                    terminal = Some(st)
                }
                Stmt::Notrack => notrack = true,
                // their texts name a rule without a verdict (below)
                Stmt::Effect(_) => {}
                Stmt::Limit { over, text } => {
                    if *over {
                        lw.unmodelled(text.to_string(), "a rate limit that matches only once exceeded is not modelled");
                    }
                    // LIMIT_ALWAYS_MATCHES: `limit rate N/unit` is treated like iptables' -m limit
                    let _ = iptables::LIMIT_ALWAYS_MATCHES;
                }
                Stmt::UnmodelledMatch(t) => lw.unmodelled(t.to_string(), "the model does not follow it"),
                Stmt::Unrecognized(t) => {
                    lw.note(codes::UNRECOGNIZED, Severity::Warning, format!("unrecognized words \"{t}\": kept as an unknown condition"));
                    lw.unknown.push(t.to_string());
                }
            }
        }
        // (conditions added by the action, action) pairs: the one of most terminals, or several
        let mut one: Option<(Vec<Cond>, Action)> = None;
        let mut outcomes: Vec<(Vec<Cond>, Action)> = Vec::new();
        match terminal {
            None => {
                let effects: Vec<&str> =
                    r.stmts.iter().filter_map(|st| if let Stmt::Effect(t) = st { Some(t.as_ref()) } else { None }).collect();
                let text = if effects.is_empty() { "no verdict".to_string() } else { effects.join(" ") };
                if !notrack {
                    one = Some((Vec::new(), Action::Continue(text)));
                }
            }
            Some(Stmt::Verdict(v)) => {
                let a = self.verdict(cx, v, &mut lw);
                one = Some((Vec::new(), a));
            }
            Some(Stmt::Reject(with)) => {
                let (conds, a) = reject_action(cx.t.fam, with.as_deref(), &lw);
                one = Some((conds, a));
            }
            Some(st @ Stmt::Nat(n)) => match &n.addr {
                Some(Val::Map { key, map }) => {
                    outcomes.extend(self.nat_map(cx, n.kind, n.family.as_deref(), key, map, n.port.as_ref(), nat_chain, &mut lw, st));
                }
                addr => {
                    let res = self.nat(cx, n.kind, n.family.as_deref(), addr.as_ref(), n.port.as_ref(), nat_chain, &mut lw, st);
                    one = Some(res);
                }
            },
            Some(Stmt::UnmodelledAction(t)) => {
                lw.note(codes::UNMODELLED_TARGET, Severity::Warning, format!("statement \"{t}\" is not modelled: its effect on the packet is unknown"));
                one = Some((Vec::new(), Action::Unknown(t.to_string())));
            }
            Some(Stmt::Vmap { key, map }) => {
                for (conds, v) in self.vmap(cx, key, map, &mut lw) {
                    let a = self.verdict(cx, &v, &mut lw);
                    outcomes.push((conds, a));
                }
            }
            Some(_) => {}
        }
        for (code, sev, reason) in std::mem::take(&mut lw.notes) {
            self.diag(code, sev, &r.pos, reason);
        }
        let prov = self.prov(&r.pos);
        // the common case: one rule, nothing to combine or copy
        if let Some((extra, action)) = one.take_if(|_| lw.alts.is_empty() && !notrack) {
            let mut conds = std::mem::take(&mut lw.conds);
            conds.extend(extra);
            out.push(Rule { conds, unknown: lw.unknown, action, prov });
            return;
        }
        outcomes.extend(one);
        let bases = lw.expand();
        let Some(bases) = bases else {
            self.diag(
                codes::UNMODELLED_MATCH,
                Severity::Warning,
                &r.pos,
                format!("the rule's sets combine into more than {MAX_EXPANSION} cases: its conditions are kept as unknown"),
            );
            let a = outcomes.first().map(|o| o.1.clone()).unwrap_or(Action::Continue("no verdict".into()));
            out.push(Rule { conds: Vec::new(), unknown: vec![r.pos.text.to_string()], action: a, prov });
            return;
        };
        if bases.len() == 1 && outcomes.len() == 1 && !notrack {
            if let (Some(mut conds), Some((extra, action))) = (bases.into_iter().next(), outcomes.into_iter().next()) {
                conds.extend(extra);
                out.push(Rule { conds, unknown: lw.unknown, action, prov });
            }
            return;
        }
        for base in &bases {
            if notrack {
                out.push(Rule { conds: base.clone(), unknown: lw.unknown.clone(), action: Action::Notrack, prov: prov.clone() });
            }
            for (extra, action) in &outcomes {
                let mut conds = base.clone();
                conds.extend(extra.iter().cloned());
                out.push(Rule { conds, unknown: lw.unknown.clone(), action: action.clone(), prov: prov.clone() });
            }
        }
    }

    fn verdict(&mut self, cx: &Tctx<'_>, v: &Verdict<'_>, lw: &mut RuleLower<'_, '_>) -> Action {
        match v {
            Verdict::Accept => Action::Accept,
            Verdict::Drop => Action::Drop,
            Verdict::Return => Action::Return,
            Verdict::Continue => Action::Continue("continue".into()),
            Verdict::Jump(c) | Verdict::Goto(c) => match cx.chains.get(c.as_ref()) {
                Some(&i) if matches!(v, Verdict::Jump(_)) => Action::Jump(i),
                Some(&i) => Action::Goto(i),
                None => {
                    lw.note(
                        codes::UNDEFINED_REFERENCE,
                        Severity::Warning,
                        format!("chain \"{c}\" is not a chain of table {}: the rule's effect is unknown", cx.label),
                    );
                    Action::Unknown(v.to_string())
                }
            },
            Verdict::Queue(_) => {
                lw.note(codes::UNMODELLED_TARGET, Severity::Warning, "queue to user space is not modelled: the packet's fate is unknown".into());
                Action::Unknown(v.to_string())
            }
        }
    }

    /// Split a verdict map into (conditions, verdict) per verdict.
    fn vmap<'t>(&mut self, cx: &Tctx<'t>, key: &str, map: &Val<'t>, lw: &mut RuleLower<'_, 't>) -> Vec<(Vec<Cond>, Verdict<'t>)> {
        let elems: Vec<Elem<'t>> = match map {
            Val::Set(e) => e.clone(),
            Val::SetRef(n) => match cx.sets.get(n.as_ref()) {
                Some(s) if s.dynamic() => {
                    lw.unmodelled(format!("{key} vmap @{n}"), "the map changes at run time (dynamic or timeout)");
                    return Vec::new();
                }
                Some(s) => s.elements.clone(),
                None => {
                    lw.note(codes::UNDEFINED_REFERENCE, Severity::Warning, format!("map @{n} is not defined in table {}: the rule's effect is unknown", cx.label));
                    lw.unknown.push(format!("{key} vmap @{n}"));
                    return Vec::new();
                }
            },
            other => {
                lw.unmodelled(format!("{key} vmap {other}"), "not a map");
                return Vec::new();
            }
        };
        // group keys by verdict, in order of first appearance
        let mut groups: Vec<(Verdict<'t>, Vec<Val<'t>>)> = Vec::new();
        for e in elems {
            let Some(Val::Verdict(v)) = e.data else {
                lw.note(codes::BAD_VALUE, Severity::Warning, format!("element \"{e}\" of a verdict map has no verdict: ignored"));
                continue;
            };
            match groups.iter_mut().find(|g| g.0 == v) {
                Some(g) => g.1.push(e.key),
                None => groups.push((v, vec![e.key])),
            }
        }
        let mut out = Vec::new();
        for (v, keys) in groups {
            let set = Val::Set(keys.into_iter().map(|k| Elem { key: k, data: None }).collect());
            let mut sub = RuleLower::new(cx);
            sub.matches(key, None, Op::Eq, &set, &Lazy::text(format!("{key} vmap")));
            lw.notes.append(&mut sub.notes);
            lw.unknown.append(&mut sub.unknown);
            if sub.alts.iter().any(|a| a.len() > 1) {
                // alternatives inside one verdict group are disjoint (distinct keys)
                match sub.expand() {
                    Some(list) => {
                        for conds in list {
                            out.push((conds, v.clone()));
                        }
                    }
                    None => lw.unknown.push(format!("{key} vmap")),
                }
            } else {
                let mut conds = sub.conds;
                for a in sub.alts {
                    conds.extend(a.into_iter().flatten());
                }
                out.push((conds, v));
            }
        }
        out
    }

    /// `dnat to KEY map { k1 : a1, … }`: one outcome per translation, with the keys that give it.
    #[allow(clippy::too_many_arguments)]
    fn nat_map<'t>(
        &mut self,
        cx: &Tctx<'t>,
        kind: NatKind,
        family: Option<&str>,
        key: &str,
        map: &Val<'t>,
        port: Option<&Val<'_>>,
        nat_chain: Option<bool>,
        lw: &mut RuleLower<'_, 't>,
        st: &Stmt<'_>,
    ) -> Vec<(Vec<Cond>, Action)> {
        let elems: Vec<Elem<'t>> = match map {
            Val::Set(e) => e.clone(),
            Val::SetRef(n) => match cx.sets.get(n.as_ref()) {
                Some(s) if !s.dynamic() => s.elements.clone(),
                _ => {
                    lw.note(codes::UNMODELLED_TARGET, Severity::Warning, format!("map @{n} is not defined or changes at run time: the translation of \"{st}\" is unknown"));
                    return vec![(Vec::new(), Action::Unknown(st.to_string()))];
                }
            },
            _ => {
                lw.note(codes::UNMODELLED_TARGET, Severity::Warning, format!("\"{st}\" is not modelled: its effect on the packet is unknown"));
                return vec![(Vec::new(), Action::Unknown(st.to_string()))];
            }
        };
        let mut groups: Vec<(Val<'t>, Vec<Val<'t>>)> = Vec::new();
        for e in elems {
            let Some(d) = e.data else { continue };
            match groups.iter_mut().find(|g| g.0 == d) {
                Some(g) => g.1.push(e.key),
                None => groups.push((d, vec![e.key])),
            }
        }
        let mut out = Vec::new();
        for (data, keys) in groups {
            let set = Val::Set(keys.into_iter().map(|k| Elem { key: k, data: None }).collect());
            let mut sub = RuleLower::new(cx);
            sub.matches(key, None, Op::Eq, &set, &Lazy::text(format!("{key} map")));
            lw.notes.append(&mut sub.notes);
            lw.unknown.append(&mut sub.unknown);
            let (extra, action) = self.nat(cx, kind, family, Some(&data), port, nat_chain, lw, st);
            for conds in sub.expand().unwrap_or_default() {
                let mut c = conds;
                c.extend(extra.iter().cloned());
                out.push((c, action.clone()));
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn nat(
        &mut self,
        cx: &Tctx<'_>,
        kind: NatKind,
        family: Option<&str>,
        addr: Option<&Val<'_>>,
        port: Option<&Val<'_>>,
        nat_chain: Option<bool>,
        lw: &mut RuleLower<'_, '_>,
        st: &Stmt<'_>,
    ) -> (Vec<Cond>, Action) {
        let text = st.to_string();
        if nat_chain == Some(false) {
            lw.note(
                codes::UNMODELLED_TARGET,
                Severity::Warning,
                format!("\"{text}\" in a base chain that is not of type nat: nft accepts it only in nat chains; its effect is unknown"),
            );
            return (Vec::new(), Action::Unknown(text));
        }
        let ports = match port {
            None => Ok(None),
            Some(Val::Atom(p)) => parse_port_range_dash(p).map(Some).ok_or_else(|| p.to_string()),
            Some(other) => Err(other.to_string()),
        };
        let ports = match ports {
            Ok(p) => p,
            Err(p) => {
                lw.note(codes::BAD_VALUE, Severity::Warning, format!("bad port \"{p}\" in \"{text}\": the translation is unknown"));
                return (Vec::new(), Action::Unknown(text));
            }
        };
        let mut conds = Vec::new();
        let fam_v6 = match family {
            Some("ip") => Some(false),
            Some("ip6") => Some(true),
            _ => None,
        };
        match kind {
            NatKind::Masquerade => (family_conds(cx.t.fam, fam_v6), Action::Masquerade(ports)),
            NatKind::Redirect => (family_conds(cx.t.fam, fam_v6), Action::Redirect(ports)),
            NatKind::Snat | NatKind::Dnat => {
                let a = match addr {
                    None => None,
                    Some(Val::Atom(a)) => match iptables::parse_ip_range(a).or_else(|| a.parse::<IpAddr>().ok().map(AddrRange::single)) {
                        Some(r) => Some(r),
                        None => {
                            lw.note(codes::BAD_VALUE, Severity::Warning, format!("bad address \"{a}\" in \"{text}\": the translation is unknown"));
                            return (Vec::new(), Action::Unknown(text));
                        }
                    },
                    Some(other) => {
                        lw.note(codes::UNMODELLED_TARGET, Severity::Warning, format!("translation to \"{other}\" is not modelled: its effect is unknown"));
                        return (Vec::new(), Action::Unknown(text));
                    }
                };
                if a.is_none() && ports.is_none() {
                    lw.note(codes::BAD_VALUE, Severity::Warning, format!("\"{text}\" without an address or port: the translation is unknown"));
                    return (Vec::new(), Action::Unknown(text));
                }
                let v6 = a.map(|r| r.lo.is_ipv6()).or(fam_v6);
                let table_v6 = match cx.t.fam {
                    Fam::Ip => Some(false),
                    Fam::Ip6 => Some(true),
                    _ => None,
                };
                if let (Some(x), Some(y)) = (v6, table_v6) {
                    if x != y {
                        lw.note(codes::BAD_VALUE, Severity::Warning, format!("\"{text}\" translates to the other address family: nft refuses it"));
                        return (Vec::new(), Action::Unknown(text));
                    }
                }
                conds.extend(family_conds(cx.t.fam, v6));
                let t = NatTarget { addr: a, ports };
                (conds, if kind == NatKind::Dnat { Action::Dnat(t) } else { Action::Snat(t) })
            }
        }
    }
}

/// Conditions restricting an `inet` rule to one address family (none in `ip`/`ip6` tables,
/// whose rulesets already are of one family).
fn family_conds(fam: Fam, v6: Option<bool>) -> Vec<Cond> {
    match (fam, v6) {
        (Fam::Inet, Some(v6)) => vec![family_cond(v6)],
        _ => Vec::new(),
    }
}

/// "The packet is IPv4" (or not, for IPv6): its source is in the IPv4 space.
fn family_cond(v6: bool) -> Cond {
    let all4 = AddrRange { lo: IpAddr::V4(Ipv4Addr::UNSPECIFIED), hi: IpAddr::V4(Ipv4Addr::BROADCAST) };
    if v6 {
        Cond::not(Test::Src(vec![all4]))
    } else {
        Cond::is(Test::Src(vec![all4]))
    }
}

/// `reject [with …]`: the conditions it depends on and the action.
fn reject_action(fam: Fam, with: Option<&str>, _lw: &RuleLower<'_, '_>) -> (Vec<Cond>, Action) {
    match with {
        None => {
            let w = match fam {
                Fam::Ip => "icmp port-unreachable",
                Fam::Ip6 => "icmpv6 port-unreachable",
                _ => "icmpx port-unreachable",
            };
            (Vec::new(), Action::Reject(w.into()))
        }
        // `reject with tcp reset` only applies to TCP: nft adds the protocol as a dependency
        Some(w) if w.starts_with("tcp") => (vec![Cond::is(Test::Proto(vec![proto::TCP]))], Action::Reject("tcp reset".into())),
        Some(w) => (Vec::new(), Action::Reject(w.replace(" type ", " ").replace(" code ", " "))),
    }
}

/// Whether a (short) text has an ASCII byte: a plain loop, cheaper than a `memchr` call on
/// the words this reader looks at.
fn has_byte(s: &str, b: u8) -> bool {
    s.bytes().any(|c| c == b)
}

/// `split_once` at an ASCII byte, by the same plain loop.
fn split_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|c| c == b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `P` or `P-Q`.
fn parse_port_range_dash(s: &str) -> Option<(u16, u16)> {
    let (a, b) = split_byte(s, b'-').unwrap_or((s, s));
    let lo = iptables::parse_port(a.trim())?;
    let hi = iptables::parse_port(b.trim())?;
    Some((lo, hi))
}

/// ICMP types by nft name (src/proto.c, `icmp_type_tbl`).
const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];

/// ICMPv6 types by nft name (src/proto.c, `icmp6_type_tbl`).
const ICMPV6_TYPES: &[(&str, u8)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("mld-listener-reduction", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];

/// ICMP codes by nft name (src/icmp.c / datatype.c `icmp_code_tbl`).
const ICMP_CODES: &[(&str, u8)] = &[
    ("net-unreachable", 0),
    ("host-unreachable", 1),
    ("prot-unreachable", 2),
    ("port-unreachable", 3),
    ("frag-needed", 4),
    ("net-prohibited", 9),
    ("host-prohibited", 10),
    ("admin-prohibited", 13),
];

/// ICMPv6 codes by nft name (`icmpv6_code_tbl`).
const ICMPV6_CODES: &[(&str, u8)] = &[
    ("no-route", 0),
    ("admin-prohibited", 1),
    ("addr-unreachable", 3),
    ("port-unreachable", 4),
    ("policy-fail", 5),
    ("reject-route", 6),
];

fn lookup(table: &[(&str, u8)], s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    table.iter().find(|(n, _)| *n == s).map(|&(_, v)| v)
}

/// TCP flag names of nft (`tcp_flag_type`).
fn tcp_flag(s: &str) -> Option<u8> {
    Some(match s {
        "fin" => tcp_flags::FIN,
        "syn" => tcp_flags::SYN,
        "rst" => tcp_flags::RST,
        "psh" => tcp_flags::PSH,
        "ack" => tcp_flags::ACK,
        "urg" => tcp_flags::URG,
        "ecn" => tcp_flags::ECE,
        "cwr" => tcp_flags::CWR,
        _ => {
            let n = s.strip_prefix("0x").map_or_else(|| s.parse::<u8>().ok(), |h| u8::from_str_radix(h, 16).ok())?;
            return Some(n);
        }
    })
}

/// The text of a match for diagnostics, written only when a diagnostic needs it.
struct Lazy<'a> {
    st: Option<&'a Stmt<'a>>,
    cell: std::cell::OnceCell<String>,
}

impl<'a> Lazy<'a> {
    fn stmt(st: &'a Stmt<'a>) -> Self {
        Lazy { st: Some(st), cell: std::cell::OnceCell::new() }
    }

    fn text(t: String) -> Self {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(t);
        Lazy { st: None, cell }
    }
}

impl std::ops::Deref for Lazy<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.cell.get_or_init(|| self.st.map(|s| s.to_string()).unwrap_or_default())
    }
}

impl std::fmt::Display for Lazy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// The literal values of a right-hand side: the one literal written, or those of a set.
enum Atoms<'v, 't> {
    One(&'v Str<'t>),
    Many(Vec<Str<'t>>),
}

impl<'t> std::ops::Deref for Atoms<'_, 't> {
    type Target = [Str<'t>];
    fn deref(&self) -> &[Str<'t>] {
        match self {
            Atoms::One(a) => std::slice::from_ref(*a),
            Atoms::Many(v) => v,
        }
    }
}

/// Conditions of one rule as they are lowered.
struct RuleLower<'c, 't> {
    cx: &'c Tctx<'t>,
    conds: Vec<Cond>,
    /// Groups of alternatives: the rule holds if, for every group, one alternative holds.
    alts: Vec<Vec<Vec<Cond>>>,
    unknown: Vec<String>,
    notes: Vec<(&'static str, Severity, String)>,
}

impl<'c, 't> RuleLower<'c, 't> {
    fn new(cx: &'c Tctx<'t>) -> Self {
        // (most rules have a few conditions: room for them up front)
        RuleLower { cx, conds: Vec::with_capacity(4), alts: Vec::new(), unknown: Vec::new(), notes: Vec::new() }
    }

    fn note(&mut self, code: &'static str, sev: Severity, reason: String) {
        self.notes.push((code, sev, reason));
    }

    fn unmodelled(&mut self, text: String, why: &str) {
        self.notes.push((
            codes::UNMODELLED_MATCH,
            Severity::Warning,
            format!("match \"{text}\" is not modelled ({why}): the rule possibly matches"),
        ));
        self.unknown.push(text);
    }

    fn bad(&mut self, text: &str, why: String) {
        self.notes.push((codes::BAD_VALUE, Severity::Warning, format!("bad value in \"{text}\": {why}; the condition is kept as unknown")));
        self.unknown.push(text.to_string());
    }

    fn add(&mut self, c: Cond) {
        if !self.conds.contains(&c) {
            self.conds.push(c);
        }
    }

    fn add_family(&mut self, v6: bool) {
        if self.cx.t.fam == Fam::Inet {
            self.add(family_cond(v6));
        }
    }

    /// Every combination of the alternatives, or `None` beyond [`MAX_EXPANSION`].
    fn expand(&mut self) -> Option<Vec<Vec<Cond>>> {
        let mut out: Vec<Vec<Cond>> = vec![std::mem::take(&mut self.conds)];
        for group in &self.alts {
            if out.len().saturating_mul(group.len()) > MAX_EXPANSION {
                return None;
            }
            let mut next = Vec::with_capacity(out.len() * group.len());
            for base in &out {
                for alt in group {
                    let mut c = base.clone();
                    c.extend(alt.iter().cloned());
                    next.push(c);
                }
            }
            out = next;
        }
        Some(out)
    }

    /// The literal values of a right-hand side: sets flattened, named sets looked up.
    fn values(&mut self, v: &Val<'t>, text: &Lazy<'_>, depth: usize) -> Option<Vec<Val<'t>>> {
        if depth > 16 {
            self.bad(text, "sets nested too deeply".into());
            return None;
        }
        match v {
            Val::Atom(_) | Val::Or(_) => Some(vec![v.clone()]),
            Val::Set(els) => self.elems_values(els, text, depth),
            Val::SetRef(n) => {
                let cx: &'c Tctx<'t> = self.cx;
                let Some(s) = cx.sets.get(n.as_ref()).copied() else {
                    self.notes.push((
                        codes::UNDEFINED_REFERENCE,
                        Severity::Warning,
                        format!("set @{n} is not defined in table {}: the condition is kept as unknown", self.cx.label),
                    ));
                    self.unknown.push(text.to_string());
                    return None;
                };
                if s.is_map {
                    self.bad(text, format!("@{n} is a map, not a set"));
                    return None;
                }
                if s.dynamic() {
                    self.unmodelled(
                        text.to_string(),
                        &format!("set @{n}, defined at line {}, changes at run time (dynamic or timeout)", s.pos.line),
                    );
                    return None;
                }
                self.elems_values(&s.elements, text, depth + 1)
            }
            Val::Concat(_) => Some(vec![v.clone()]),
            Val::Verdict(_) | Val::Other(_) | Val::Map { .. } => {
                self.unmodelled(text.to_string(), "expression not modelled");
                None
            }
        }
    }

    fn elems_values(&mut self, els: &[Elem<'t>], text: &Lazy<'_>, depth: usize) -> Option<Vec<Val<'t>>> {
        let mut out = Vec::with_capacity(els.len());
        for e in els {
            if e.data.is_some() {
                self.bad(text, format!("map element \"{e}\" where a set is expected"));
                return None;
            }
            match &e.key {
                Val::Atom(_) | Val::Or(_) | Val::Concat(_) => out.push(e.key.clone()),
                k => out.extend(self.values(k, text, depth + 1)?),
            }
        }
        Some(out)
    }

    fn atoms<'v>(&mut self, v: &'v Val<'t>, text: &Lazy<'_>) -> Option<Atoms<'v, 't>> {
        if let Val::Atom(a) = v {
            return Some(Atoms::One(a));
        }
        let vals = self.values(v, text, 0)?;
        let mut out = Vec::with_capacity(vals.len());
        for x in vals {
            match x {
                Val::Atom(a) => out.push(a),
                other => {
                    self.bad(text, format!("\"{other}\" is not a single value"));
                    return None;
                }
            }
        }
        // (an empty set matches nothing)
        Some(Atoms::Many(out))
    }

    /// Add a test positively or negated; several values of a single-valued test become
    /// alternatives (negated: one negated condition each).
    fn test_list(&mut self, neg: bool, tests: Vec<Test>, may_overlap: bool) {
        if neg {
            for t in tests {
                self.add(Cond::not(t));
            }
            return;
        }
        match tests.len() {
            0 => self.add(Cond::is(Test::Proto(Vec::new()))),
            1 => {
                if let Some(t) = tests.into_iter().next() {
                    self.add(Cond::is(t));
                }
            }
            _ => {
                let mut group = Vec::with_capacity(tests.len());
                for (i, t) in tests.iter().enumerate() {
                    let mut alt = vec![Cond::is(t.clone())];
                    if may_overlap {
                        alt.extend(tests.iter().take(i).map(|p| Cond::not(p.clone())));
                    }
                    group.push(alt);
                }
                self.alts.push(group);
            }
        }
    }

    fn op_neg(&mut self, op: Op, text: &Lazy<'_>) -> Option<bool> {
        match op {
            Op::Implicit | Op::Eq => Some(false),
            Op::Ne => Some(true),
            _ => {
                self.unmodelled(text.to_string(), "comparison not modelled for this selector");
                None
            }
        }
    }

    fn matches(&mut self, key: &str, mask: Option<&Val<'t>>, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        if has_byte(key, b'.') && key.contains(" . ") {
            self.concat(key, op, right, text);
            return;
        }
        let (proto_part, field) = split_byte(key, b' ').unwrap_or((key, ""));
        if mask.is_some() && key != "tcp flags" {
            self.unmodelled(text.to_string(), "bitwise masks are not modelled");
            return;
        }
        match (proto_part, field) {
            ("ip" | "ip6", "saddr" | "daddr") => self.addresses(proto_part == "ip6", field == "saddr", op, right, text),
            ("meta", "l4proto") | ("ip", "protocol") | ("ip6", "nexthdr") => {
                if proto_part == "ip" {
                    self.add_family(false);
                } else if proto_part == "ip6" {
                    self.add_family(true);
                }
                self.protocols(op, right, text)
            }
            ("meta", "nfproto") | ("meta", "protocol") => self.nfproto(op, right, text),
            ("tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th", "sport" | "dport") => self.ports(proto_part, field == "sport", op, right, text),
            ("icmp" | "icmpv6", "type" | "code") => self.icmp(proto_part == "icmpv6", field == "code", op, right, text),
            ("tcp", "flags") => self.tcp_flags(mask, op, right, text),
            ("ct", "state") => self.ct_state(op, right, text),
            ("ct", "status") => self.ct_status(op, right, text),
            ("iifname" | "oifname" | "iif" | "oif", "") => self.ifaces(key.starts_with('i'), op, right, text),
            ("fib", rest) => self.fib(rest, op, right, text),
            _ => self.unmodelled(text.to_string(), "selector not modelled"),
        }
    }

    /// `A . B OP { a1 . b1, a2 . b2 }`: each element is a conjunction, the set their
    /// disjunction (alternatives; they may overlap, which changes nothing: a rule that matched
    /// and did not stop evaluation would do the same again).
    fn concat(&mut self, key: &str, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        if !matches!(op, Op::Implicit | Op::Eq) {
            self.unmodelled(text.to_string(), "negated or compared concatenations are not modelled");
            return;
        }
        let keys: Vec<&str> = key.split(" . ").collect();
        let Some(vals) = self.values(right, text, 0) else { return };
        let mut group = Vec::new();
        for v in vals {
            let parts = match v {
                Val::Concat(p) if p.len() == keys.len() => p,
                other => {
                    self.bad(text, format!("\"{other}\" does not have one part per selector"));
                    return;
                }
            };
            let mut sub = RuleLower::new(self.cx);
            for (k, p) in keys.iter().zip(parts.iter()) {
                sub.matches(k, None, Op::Eq, p, text);
            }
            if !sub.unknown.is_empty() {
                self.notes.append(&mut sub.notes);
                self.unknown.push(text.to_string());
                return;
            }
            self.notes.append(&mut sub.notes);
            match sub.expand() {
                Some(list) => group.extend(list),
                None => {
                    self.unmodelled(text.to_string(), "too many combinations");
                    return;
                }
            }
            if group.len() > MAX_EXPANSION {
                self.unmodelled(text.to_string(), "too many combinations");
                return;
            }
        }
        match group.len() {
            0 => self.add(Cond::is(Test::Proto(Vec::new()))),
            1 => {
                for c in group.pop().unwrap_or_default() {
                    self.add(c);
                }
            }
            _ => self.alts.push(group),
        }
    }

    fn addresses(&mut self, v6: bool, src: bool, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let table_v6 = match self.cx.t.fam {
            Fam::Ip => Some(false),
            Fam::Ip6 => Some(true),
            _ => None,
        };
        if table_v6.is_some_and(|t| t != v6) {
            self.bad(text, format!("{} addresses in a table of the other family", if v6 { "IPv6" } else { "IPv4" }));
            return;
        }
        let Some(atoms) = self.atoms(right, text) else { return };
        let mut ranges = Vec::with_capacity(atoms.len());
        for a in atoms.iter() {
            let r = if has_byte(a, b'/') {
                match iptables::parse_cidr(a) {
                    Ok((r, host_bits)) => {
                        if host_bits {
                            self.note(codes::HOST_BITS, Severity::Info, format!("address \"{a}\" has host bits set: the whole network is matched"));
                        }
                        Some(r)
                    }
                    Err(_) => None,
                }
            } else if !has_byte(a, b'-') {
                // what parse_ip_range gives a single address, read once
                a.parse::<IpAddr>().ok().map(AddrRange::single)
            } else {
                iptables::parse_ip_range(a)
            };
            match r {
                Some(r) if r.lo.is_ipv6() == v6 => ranges.push(r),
                _ => {
                    self.bad(text, format!("\"{a}\" is not an {} address, prefix or range", if v6 { "IPv6" } else { "IPv4" }));
                    return;
                }
            }
        }
        if neg {
            self.add_family(v6);
        }
        let t = if src { Test::Src(ranges) } else { Test::Dst(ranges) };
        self.add(if neg { Cond::not(t) } else { Cond::is(t) });
    }

    fn protocols(&mut self, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(atoms) = self.atoms(right, text) else { return };
        let mut ps = Vec::with_capacity(atoms.len());
        for a in atoms.iter() {
            match iptables::parse_protocol(a) {
                Some(p) => ps.push(p),
                None => {
                    self.bad(text, format!("\"{a}\" is not a protocol name or number"));
                    return;
                }
            }
        }
        let t = Test::Proto(ps);
        self.add(if neg { Cond::not(t) } else { Cond::is(t) });
    }

    fn nfproto(&mut self, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(atoms) = self.atoms(right, text) else { return };
        let mut v4 = false;
        let mut v6 = false;
        for a in atoms.iter() {
 match a.as_ref() {
                "ipv4" | "ip" | "0x0800" => v4 = true,
                "ipv6" | "ip6" | "0x86dd" => v6 = true,
                _ => {
                    self.unmodelled(text.to_string(), "protocol other than IPv4 or IPv6");
                    return;
                }
            }
        }
        let table_v6 = match self.cx.t.fam {
            Fam::Ip => Some(false),
            Fam::Ip6 => Some(true),
            _ => None,
        };
        // which families pass
        let pass4 = v4 != neg;
        let pass6 = v6 != neg;
        match (pass4, pass6) {
            (true, true) => {}
            (false, false) => self.add(Cond::is(Test::Proto(Vec::new()))),
            (true, false) => match table_v6 {
                Some(true) => self.add(Cond::is(Test::Proto(Vec::new()))),
                Some(false) => {}
                None => self.add(family_cond(false)),
            },
            (false, true) => match table_v6 {
                Some(false) => self.add(Cond::is(Test::Proto(Vec::new()))),
                Some(true) => {}
                None => self.add(family_cond(true)),
            },
        }
    }

    fn ports(&mut self, p: &str, src: bool, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let proto_num = match p {
            "tcp" => Some(proto::TCP),
            "udp" => Some(proto::UDP),
            "udplite" => Some(proto::UDPLITE),
            "sctp" => Some(proto::SCTP),
            "dccp" => Some(proto::DCCP),
            _ => None,
        };
        let mut ranges = Vec::new();
        let neg = match op {
            Op::Lt | Op::Gt | Op::Le | Op::Ge => {
                let Val::Atom(a) = right else {
                    self.bad(text, "a comparison needs one port".into());
                    return;
                };
                let Some(n) = iptables::parse_port(a) else {
                    self.bad(text, format!("\"{a}\" is not a port"));
                    return;
                };
                let r = match op {
                    Op::Lt => n.checked_sub(1).map(|h| (0, h)),
                    Op::Le => Some((0, n)),
                    Op::Gt => n.checked_add(1).map(|l| (l, u16::MAX)),
                    _ => Some((n, u16::MAX)),
                };
                ranges.extend(r);
                false
            }
            _ => {
                let Some(neg) = self.op_neg(op, text) else { return };
                let Some(atoms) = self.atoms(right, text) else { return };
                for a in atoms.iter() {
                    match parse_port_range_dash(a) {
                        Some((lo, hi)) if lo <= hi => ranges.push((lo, hi)),
                        Some(_) => {}
                        None => {
                            self.bad(text, format!("\"{a}\" is not a port, service name or PORT-PORT range"));
                            return;
                        }
                    }
                }
                neg
            }
        };
        if let Some(pn) = proto_num {
            self.add(Cond::is(Test::Proto(vec![pn])));
        }
        let t = if src { Test::Sport(ranges) } else { Test::Dport(ranges) };
        self.add(if neg { Cond::not(t) } else { Cond::is(t) });
    }

    fn icmp(&mut self, v6: bool, code: bool, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(atoms) = self.atoms(right, text) else { return };
        let table: &[(&str, u8)] = match (v6, code) {
            (false, false) => ICMP_TYPES,
            (true, false) => ICMPV6_TYPES,
            (false, true) => ICMP_CODES,
            (true, true) => ICMPV6_CODES,
        };
        let mut tests = Vec::new();
        for a in atoms.iter() {
            let vals: Vec<u8> = match lookup(table, a) {
                Some(v) => vec![v],
                None => match a.split_once('-').and_then(|(x, y)| Some((lookup(table, x)?, lookup(table, y)?))) {
                    Some((x, y)) if x <= y => (x..=y).collect(),
                    _ => {
                        self.bad(text, format!("\"{a}\" is not an {} {}", if v6 { "ICMPv6" } else { "ICMP" }, if code { "code" } else { "type" }));
                        return;
                    }
                },
            };
            for v in vals {
                tests.push(if code { Test::Icmp { ty: None, code: Some((v, v)) } } else { Test::Icmp { ty: Some(v), code: None } });
            }
        }
        self.add(Cond::is(Test::Proto(vec![if v6 { proto::ICMPV6 } else { proto::ICMP }])));
        self.test_list(neg, tests, false);
    }

    fn flag_bits(&mut self, v: &Val<'_>, text: &Lazy<'_>) -> Option<u8> {
        match v {
            Val::Atom(a) => match tcp_flag(a) {
                Some(b) => Some(b),
                None => {
                    self.bad(text, format!("\"{a}\" is not a TCP flag"));
                    None
                }
            },
            Val::Or(parts) | Val::Concat(parts) => {
                let mut b = 0u8;
                for p in parts {
                    b |= self.flag_bits(p, text)?;
                }
                Some(b)
            }
            Val::Set(els) => {
                let mut b = 0u8;
                for e in els {
                    b |= self.flag_bits(&e.key, text)?;
                }
                Some(b)
            }
            other => {
                self.bad(text, format!("\"{other}\" is not a list of TCP flags"));
                None
            }
        }
    }

    fn tcp_flags(&mut self, mask: Option<&Val<'t>>, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        self.add(Cond::is(Test::Proto(vec![proto::TCP])));
        if let Some(m) = mask {
            // (flags & MASK) OP VALUE
            let Some(neg) = self.op_neg(op, text) else { return };
            let Some(mask) = self.flag_bits(m, text) else { return };
            let Some(comp) = self.flag_bits(right, text) else { return };
            let t = Test::TcpFlags { mask, comp };
            self.add(if neg { Cond::not(t) } else { Cond::is(t) });
            return;
        }
        match (op, right) {
            // a set of exact values
            (Op::Implicit | Op::Eq | Op::Ne, Val::Set(els)) if els.iter().any(|e| matches!(e.key, Val::Or(_))) || op != Op::Implicit => {
                let neg = op == Op::Ne;
                let mut tests = Vec::new();
                for e in els {
                    let Some(v) = self.flag_bits(&e.key, text) else { return };
                    tests.push(Test::TcpFlags { mask: 0xff, comp: v });
                }
                self.test_list(neg, tests, false);
            }
            // `tcp flags syn,ack` / `tcp flags syn`: any of these flags is set
            (Op::Implicit, v) => {
                let Some(bits) = self.flag_bits(v, text) else { return };
                let flags: Vec<u8> = (0..8).map(|i| 1u8 << i).filter(|b| bits & b != 0).collect();
                // disjoint: the first set flag in order
                let mut group = Vec::new();
                let mut before = 0u8;
                for f in flags {
                    group.push(vec![Cond::is(Test::TcpFlags { mask: before | f, comp: f })]);
                    before |= f;
                }
                match group.len() {
                    0 => self.add(Cond::is(Test::Proto(Vec::new()))),
                    1 => {
                        if let Some(c) = group.pop().and_then(|mut g| g.pop()) {
                            self.add(c);
                        }
                    }
                    _ => self.alts.push(group),
                }
            }
            // `tcp flags == syn`: exactly these flags
            (Op::Eq | Op::Ne, v) => {
                let Some(bits) = self.flag_bits(v, text) else { return };
                let t = Test::TcpFlags { mask: 0xff, comp: bits };
                self.add(if op == Op::Ne { Cond::not(t) } else { Cond::is(t) });
            }
            _ => self.unmodelled(text.to_string(), "comparison not modelled for TCP flags"),
        }
    }

    fn ct_state(&mut self, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(vals) = self.values(right, text, 0) else { return };
        let mut states = Vec::with_capacity(vals.len());
        for v in vals {
            let parts: Vec<Val<'t>> = match v {
                Val::Or(p) => p,
                other => vec![other],
            };
            for p in parts {
                let Val::Atom(a) = &p else {
                    self.bad(text, format!("\"{p}\" is not a connection state"));
                    return;
                };
                let s = match a.as_ref() {
                    "new" => Ct::NEW,
                    "established" => Ct::ESTABLISHED,
                    "related" => Ct::RELATED,
                    "invalid" => Ct::INVALID,
                    "untracked" => Ct::UNTRACKED,
                    _ => {
                        self.bad(text, format!("\"{a}\" is not one of new, established, related, invalid, untracked"));
                        return;
                    }
                };
                states.push(s);
            }
        }
        states.sort_unstable();
        states.dedup();
        let t = Test::CtState(states);
        self.add(if neg { Cond::not(t) } else { Cond::is(t) });
    }

    fn ct_status(&mut self, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(vals) = self.values(right, text, 0) else { return };
        let mut bits = 0u8;
        for v in vals {
            let parts: Vec<Val<'t>> = match v {
                Val::Or(p) => p,
                other => vec![other],
            };
            for p in parts {
                match &p {
                    Val::Atom(a) if a == "dnat" => bits |= Ct::DNAT,
                    Val::Atom(a) if a == "snat" => bits |= Ct::SNAT,
                    _ => {
                        self.unmodelled(text.to_string(), "connection status other than dnat and snat");
                        return;
                    }
                }
            }
        }
        let t = Test::CtStatus(bits);
        self.add(if neg { Cond::not(t) } else { Cond::is(t) });
    }

    fn ifaces(&mut self, input: bool, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(atoms) = self.atoms(right, text) else { return };
        let mut tests = Vec::new();
        let mut wild = false;
        for a in atoms.iter() {
            let name = match a.strip_suffix('*') {
                Some(p) if !p.ends_with('\\') => {
                    wild = true;
                    format!("{p}+")
                }
                _ => a.replace("\\*", "*"),
            };
            if name.is_empty() || name.len() > iptables::IFNAMSIZ || name.contains(char::is_whitespace) || name.trim_end_matches('+').contains('*') {
                self.bad(text, format!("\"{a}\" is not an interface name"));
                return;
            }
            tests.push(if input { Test::InIface(name) } else { Test::OutIface(name) });
        }
        self.test_list(neg, tests, wild);
    }

    fn fib(&mut self, rest: &str, op: Op, right: &Val<'t>, text: &Lazy<'_>) {
        let test = match rest {
            "daddr type" => Test::DstLocal,
            "saddr type" => Test::SrcLocal,
            _ => {
                self.unmodelled(text.to_string(), "routing lookup not modelled");
                return;
            }
        };
        let Some(neg) = self.op_neg(op, text) else { return };
        let Some(atoms) = self.atoms(right, text) else { return };
        if atoms.len() != 1 || atoms.first().map(|a| a.as_ref()) != Some("local") {
            self.unmodelled(text.to_string(), "address types other than local are not modelled");
            return;
        }
        self.add(if neg { Cond::not(test) } else { Cond::is(test) });
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(parse_priority("filter", Fam::Inet), Some(0));
        assert_eq!(parse_priority("mangle - 5", Fam::Ip), Some(-155));
        assert_eq!(parse_priority("dstnat+10", Fam::Ip), Some(-90));
        assert_eq!(parse_priority("-300", Fam::Ip), Some(-300));
        assert_eq!(parse_priority("filter", Fam::Bridge), Some(-200));
        assert_eq!(parse_priority("bogus", Fam::Ip), None);
    }

    #[test]
    fn detection() {
        assert!(looks_like("table inet filter {\n\tchain input {\n\t}\n}\n"));
        assert!(looks_like("#!/usr/sbin/nft -f\nflush ruleset\n"));
        assert!(!looks_like("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"));
        assert!(!looks_like("hostname r1\ninterface Gi0/0\n"));
        assert!(!looks_like("@def $NET = 10.0.0.0/8;\ntable filter {\n    chain INPUT {\n        policy DROP;\n        proto tcp dport ssh ACCEPT;\n    }\n}\n"));
        assert!(looks_like("table ip filter {\n\tchain INPUT {\n\t\tjump DROP_LOG\n\t}\n}\n"));
        assert!(looks_like_json("{\"nftables\": []}"));
        assert!(!looks_like_json("[{\"ifname\": \"lo\"}]"));
    }
}
