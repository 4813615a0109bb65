//! Reachability: evaluating flows through devices and across the network, with every hop
//! explained.
//!
//! A question names endpoints that may be whole address ranges. The answer is exact: the
//! question's packets are split into classes that every rule, route and interface subnet treats
//! alike (each class is a product of ranges cut at every boundary any of them mentions), one
//! packet of each class is walked through the network — first packet and first reply, with NAT,
//! routing and connection state — and classes with the same outcome are merged. Unknown
//! constructs make the walk branch; a verdict is definite only when every branch agrees.

mod chain;
mod compile;
pub mod describe;
mod device;
mod exposure;
mod propagate;
mod region;

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::model::Action;
use crate::report::{FlowResult, Hop, NatNote, QueryReport, RuleRef, Text, Verdict};
use crate::space::{self, proto, Cube, Dim, Packet, PacketSet, Ranges};
use crate::Workspace;

pub use chain::RuleLoc;
pub use compile::{CDevice, CNetwork, CRule, CRuleset, IfaceTable};
pub use exposure::{FailOn, Origin};
pub(crate) use exposure::forwarded_to;
pub use propagate::Bound;
use device::{DevPass, Entry, Fate, Trace};

/// Source ports a client picks from when none is given (Linux `ip_local_port_range` default).
pub const EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);

/// Most packet classes one question may split into before it is refused as too broad.
pub const MAX_CLASSES: u128 = 200_000;

/// Addresses never routed on the Internet (RFC 1918, RFC 6598, RFC 4193, loopback, link-local,
/// multicast, reserved): the `internet` origin excludes them (RFC 6890 special-purpose registry).
const NOT_INTERNET: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/127",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// The IPv6 Internet: global unicast (RFC 4291, IANA IPv6 address space registry) and the
/// well-known NAT64 prefix (RFC 6052).
const INTERNET_V6: &[&str] = &["2000::/3", "64:ff9b::/96"];

/// A reachability question.
#[derive(Clone, Debug, Default)]
pub struct QueryRequest {
    /// Source endpoint: IP, CIDR, `a-b` range, `internet`, `device:NAME`, or a device name.
    pub from: String,
    /// Destination endpoint.
    pub to: String,
    /// `tcp`, `udp`, `icmp`, `any` or a protocol number.
    pub proto: String,
    /// Port `N` or range `N-M` (ICMP: a type number or name such as `echo-request`).
    pub port: Option<String>,
    /// Source port (default: the ephemeral range).
    pub sport: Option<u16>,
}

/// Answer a reachability question.
pub fn query(ws: &Workspace, req: &QueryRequest) -> Result<QueryReport, String> {
    Analyzer::new(ws).query(req)
}

/// A workspace compiled for answering many questions.
pub struct Analyzer<'a> {
    ws: &'a Workspace,
    net: std::borrow::Cow<'a, CNetwork>,
    texts: std::cell::RefCell<Texts>,
}

/// The texts results show of rules, devices and interfaces, made once each (see [`Text`]).
#[derive(Default)]
struct Texts {
    rules: HashMap<(usize, RuleLoc), RuleRef>,
    devices: HashMap<usize, Text>,
    ifaces: HashMap<(usize, u16), Text>,
}

#[derive(Clone, Debug)]
enum Endpoint {
    Addrs(Ranges),
    Device(usize),
}

/// Every way one packet may take (forward traces and, for each delivered one, its reply
/// traces) with the decisions recorded on them.
#[derive(Default)]
struct Walked {
    fwd: Vec<Trace>,
    replies: Vec<Vec<Trace>>,
    /// Where a reply from outside the network may enter, for each delivered forward trace.
    extra: Vec<device::CondRec>,
}

impl Walked {
    /// Every device on every possible path (forward and replies), as often as it is passed.
    fn devices(&self) -> impl Iterator<Item = usize> + '_ {
        self.fwd.iter().chain(self.replies.iter().flatten()).flat_map(|t| t.passes.iter()).map(|p| p.device)
    }

    /// Every decision recorded on every possible path.
    fn conds(&self) -> impl Iterator<Item = &device::CondRec> + Clone {
        self.fwd
            .iter()
            .chain(self.replies.iter().flatten())
            .flat_map(|t| t.passes.iter())
            .flat_map(|p| p.track.conds.iter())
            .chain(self.extra.iter())
    }
}

/// The outcome of one packet class.
#[derive(Clone)]
struct ClassOutcome {
    verdict: Verdict,
    reason: String,
    hops: Vec<Hop>,
    uncertain: Vec<String>,
    key: String,
}

/// The answer about one target service without its texts: the verdict and the explained path
/// of the connection ([`Analyzer::reach_target_ways`]), shared by every answer taking that path.
#[derive(Clone, Debug)]
pub struct TargetWay {
    /// Verdict.
    pub verdict: Verdict,
    /// Hops of the first packet and then of the first reply.
    pub hops: Arc<[Hop]>,
    /// What the "possibly" depends on (unknown constructs with file:line).
    pub uncertain: Arc<[String]>,
}

/// The answers of one source about target services: (index of the target, its way) for the
/// targets some packet reaches, in the targets' order.
pub type TargetWays = Vec<(usize, TargetWay)>;

/// A walk's outcome as the answers about targets share it.
struct Shared {
    way: TargetWay,
    reason: Arc<str>,
}

impl From<ClassOutcome> for Shared {
    fn from(o: ClassOutcome) -> Shared {
        Shared { way: TargetWay { verdict: o.verdict, hops: o.hops.into(), uncertain: o.uncertain.into() }, reason: o.reason.into() }
    }
}

/// The devices marked, by index.
/// Every address of every scanned host, in the order of the inputs.
fn scanned_addrs(ws: &Workspace) -> impl Iterator<Item = IpAddr> + '_ {
    ws.files.iter().flat_map(|f| f.parsed.content.hosts.iter()).flat_map(|h| h.addrs.iter().copied())
}

/// The links the manifest states, as (device, interface) pairs.
fn manifest_links(m: &crate::manifest::Manifest) -> Vec<(compile::End, compile::End)> {
    m.links.iter().map(|(a, b)| ((a.device.clone(), a.interface.clone()), (b.device.clone(), b.interface.clone()))).collect()
}

/// What a question's walks passed ([`Analyzer::reach_target_ways`]): the answers depend on the
/// rules of these devices alone, and in each ruleset on its rules up to the last one a walk
/// examined (a ruleset is examined from its first rule on, in order), on no later one; and a
/// rule that held for no packet to a destination decides nothing about that destination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Passed {
    /// The devices passed, by index, in order.
    pub devices: Vec<usize>,
    /// (device, ruleset, the last rule any walk examined in it, or [`Passed::ALL`] when which
    /// rules held is no longer known), in order.
    pub last_rules: Vec<(u32, u32, u32)>,
    /// (device, ruleset, rule, the destinations of the packets it held for), in order.
    pub held: Vec<(u32, u32, u32, Ranges)>,
}

/// What an edit changes for the packets of a question ([`Passed::affected`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Affected {
    /// No packet fares otherwise.
    Nothing,
    /// Only packets to these destinations may.
    Destinations(Ranges),
    /// Any packet may.
    All,
}

impl Passed {
    /// The mark of a ruleset in [`Passed::last_rules`] whose rules count as examined and held
    /// throughout: the record of answers taken over across an edit of its device, whose rules
    /// were numbered otherwise.
    pub const ALL: u32 = u32::MAX;

    /// Which packets of the question may fare otherwise once the devices change as `changes`
    /// say: all when a changed device differs in more than rules, or a ruleset differs
    /// otherwise than by rules deleted or given another action from a rule a walk examined on;
    /// else the destinations of the packets that a deleted or changed rule held for.
    pub fn affected(&self, changes: &[DeviceChange]) -> Affected {
        let mut dsts: Vec<(u128, u128)> = Vec::new();
        for c in changes {
            if self.devices.binary_search(&c.device).is_err() {
                continue;
            }
            let Some(rulesets) = &c.rulesets else { return Affected::All };
            let d = c.device as u32;
            let from = self.last_rules.partition_point(|r| r.0 < d);
            for &(_, rs, last) in self.last_rules[from..].iter().take_while(|r| r.0 == d) {
                let Some(ch) = rulesets.get(rs as usize) else { return Affected::All };
                if ch.rules.is_empty() && ch.from == u32::MAX {
                    continue;
                }
                if last == Passed::ALL || last >= ch.from {
                    return Affected::All;
                }
                for &k in ch.rules.iter().filter(|&&k| k <= last) {
                    let at = self.held.partition_point(|h| (h.0, h.1, h.2) < (d, rs, k));
                    if let Some(h) = self.held.get(at).filter(|h| (h.0, h.1, h.2) == (d, rs, k)) {
                        dsts.extend_from_slice(h.3.as_slice());
                    }
                }
            }
        }
        if dsts.is_empty() {
            Affected::Nothing
        } else {
            Affected::Destinations(Ranges::from_ranges(dsts))
        }
    }

    /// The record of answers taken whole from a question with record `self` across the
    /// `changes`: the changed devices' rulesets marked [`Passed::ALL`] (their rules may be
    /// numbered otherwise now), and nothing else changed.
    pub fn renumbered(&self, changes: &[DeviceChange]) -> Passed {
        self.merged(&Passed::default(), changes)
    }

    /// The record of answers taken from a question with record `self` for the destinations
    /// outside those asked again, whose own record is `asked`, across the `changes`: both, with
    /// the changed devices' rulesets marked [`Passed::ALL`] (their rules are numbered otherwise
    /// now).
    pub fn merged(&self, asked: &Passed, changes: &[DeviceChange]) -> Passed {
        let changed = |d: u32| changes.iter().any(|c| c.device as u32 == d);
        let mut devices: Vec<usize> = self.devices.iter().chain(&asked.devices).copied().collect();
        devices.sort_unstable();
        devices.dedup();
        let mut last: Vec<(u32, u32, u32)> = self
            .last_rules
            .iter()
            .chain(&asked.last_rules)
            .map(|&(d, rs, r)| (d, rs, if changed(d) { Passed::ALL } else { r }))
            .collect();
        last.sort_unstable();
        // One entry per ruleset, the greatest.
        let mut last_rules: Vec<(u32, u32, u32)> = Vec::with_capacity(last.len());
        for e in last {
            match last_rules.last_mut() {
                Some(l) if (l.0, l.1) == (e.0, e.1) => l.2 = l.2.max(e.2),
                _ => last_rules.push(e),
            }
        }
        let mut held: Vec<(u32, u32, u32, Ranges)> =
            self.held.iter().chain(&asked.held).filter(|h| !changed(h.0)).cloned().collect();
        held.sort_by_key(|h| (h.0, h.1, h.2));
        let mut merged: Vec<(u32, u32, u32, Ranges)> = Vec::with_capacity(held.len());
        for h in held {
            match merged.last_mut() {
                Some(m) if (m.0, m.1, m.2) == (h.0, h.1, h.2) => m.3 = m.3.union(&h.3),
                _ => merged.push(h),
            }
        }
        Passed { devices, last_rules, held: merged }
    }
}

/// How one device differs between two compilations ([`DeviceChange::between`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceChange {
    /// The device, by index.
    pub device: usize,
    /// How each ruleset differs; `None` when more than rules differ (interfaces, routes,
    /// rulesets, defaults, hooks).
    pub rulesets: Option<Vec<RulesetChange>>,
}

/// How one ruleset's rules differ between two compilations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesetChange {
    /// Rules (by their index before) deleted or given another action: the packets they held
    /// for may fare otherwise, no other packet does.
    pub rules: Vec<u32>,
    /// The first rule (by its index before) from which the rules differ in another way
    /// (`u32::MAX` when they do not): any packet examining it may fare otherwise.
    pub from: u32,
}

impl DeviceChange {
    /// How device `device` compiled as `new` differs from `old`.
    pub fn between(device: usize, old: &CDevice, new: &CDevice) -> DeviceChange {
        let dbg = |x: &dyn std::fmt::Debug| format!("{x:?}");
        let same_rest = compile::same_place(old, new)
            && old.route_cuts == new.route_cuts
            && old.route_at == new.route_at
            && dbg(&old.routes) == dbg(&new.routes)
            && dbg(&old.hooks) == dbg(&new.hooks)
            && old.has_firewall == new.has_firewall
            && old.stateful == new.stateful
            && old.rulesets.len() == new.rulesets.len()
            && old.rulesets.iter().zip(&new.rulesets).all(|(a, b)| {
                // A walk through a ruleset without rules leaves no trace of it.
                a.name == b.name
                    && a.table == b.table
                    && a.default == b.default
                    && a.default_prov == b.default_prov
                    && (a.rules.is_empty() == b.rules.is_empty())
            });
        let rulesets = same_rest.then(|| old.rulesets.iter().zip(&new.rulesets).map(|(a, b)| ruleset_change(&a.rules, &b.rules)).collect());
        DeviceChange { device, rulesets }
    }
}

/// How rules `a` became rules `b`: rules deleted and rules given another action, in order,
/// from the first rule on; from where that does not explain it, the rest differs.
fn ruleset_change(a: &[CRule], b: &[CRule]) -> RulesetChange {
    let same = |x: &CRule, y: &CRule| x.prov == y.prov && x.action == y.action && x.unknown == y.unknown && x.dims == y.dims && x.set == y.set;
    let acts_otherwise = |x: &CRule, y: &CRule| x.prov == y.prov && x.action != y.action && x.unknown == y.unknown && x.set == y.set;
    let mut out = RulesetChange { rules: Vec::new(), from: u32::MAX };
    let (mut i, mut j) = (0, 0);
    while i < a.len() {
        match b.get(j) {
            Some(y) if same(&a[i], y) => j += 1,
            Some(y) if acts_otherwise(&a[i], y) => {
                out.rules.push(i as u32);
                j += 1;
            }
            // Deleted: the rest of `a` from here still has to become the rest of `b`.
            _ if a.len() - i > b.len() - j => out.rules.push(i as u32),
            _ => {
                out.from = i as u32;
                return out;
            }
        }
        i += 1;
    }
    if j < b.len() {
        // Rules added after the last: a packet that examined the last rule may meet them.
        out.from = a.len().saturating_sub(1) as u32;
    }
    out
}

/// Where a question's walks record what they pass ([`Reading::visited`]).
#[derive(Default)]
struct Visits {
    devices: Vec<bool>,
    last_rules: HashMap<(u32, u32), u32>,
    held: HashMap<(u32, u32, u32), Vec<(u128, u128)>>,
}

impl Visits {
    fn new(devices: usize) -> std::cell::RefCell<Visits> {
        std::cell::RefCell::new(Visits { devices: vec![false; devices], ..Default::default() })
    }

    /// Record one walk and its region.
    fn walk(&mut self, w: &Walked, region: &PacketSet) {
        for d in w.devices() {
            if let Some(x) = self.devices.get_mut(d) {
                *x = true;
            }
        }
        // The region's destinations, made when a rule held.
        let mut dsts: smallvec::SmallVec<[(u128, u128); 4]> = smallvec::SmallVec::new();
        for c in w.conds() {
            if let device::CondRec::Rules { dev, checks, .. } = c {
                // Rules are examined in order: the last check of a ruleset is its greatest.
                let mut prev: Option<(u32, u32)> = None;
                for &(rs, r, held) in checks {
                    if let Some((p, pr)) = prev.filter(|&(p, _)| p != rs) {
                        let last = self.last_rules.entry((*dev as u32, p)).or_insert(pr);
                        *last = (*last).max(pr);
                    }
                    prev = Some((rs, prev.filter(|&(p, _)| p == rs).map_or(r, |(_, pr)| pr.max(r))));
                    if held {
                        if dsts.is_empty() {
                            for c in region.cubes() {
                                dsts.extend(c.get(Dim::Dst).as_slice().iter().copied());
                            }
                            dsts.sort_unstable();
                        }
                        let v = self.held.entry((*dev as u32, rs, r)).or_default();
                        for &(lo, hi) in &dsts {
                            // Walks go up the destinations mostly: most ranges join the last.
                            match v.last_mut() {
                                Some(l) if l.0 <= lo && lo <= l.1.saturating_add(1) => l.1 = l.1.max(hi),
                                _ => v.push((lo, hi)),
                            }
                        }
                    }
                }
                if let Some((p, pr)) = prev {
                    let last = self.last_rules.entry((*dev as u32, p)).or_insert(pr);
                    *last = (*last).max(pr);
                }
            }
        }
    }

    fn passed(self) -> Passed {
        let mut last_rules: Vec<(u32, u32, u32)> = self.last_rules.into_iter().map(|((d, rs), r)| (d, rs, r)).collect();
        last_rules.sort_unstable();
        let mut held: Vec<(u32, u32, u32, Ranges)> = self.held.into_iter().map(|((d, rs, r), v)| (d, rs, r, Ranges::from_ranges(v))).collect();
        held.sort_by_key(|h| (h.0, h.1, h.2));
        Passed { devices: self.devices.iter().enumerate().filter(|(_, &v)| v).map(|(i, _)| i).collect(), last_rules, held }
    }
}

fn flow_result(c: &describe::Class, o: &Shared) -> FlowResult {
    FlowResult {
        verdict: o.way.verdict,
        reason: o.reason.to_string(),
        covers: describe::covers(std::slice::from_ref(c), None, None),
        witness: describe::witness(c),
        hops: o.way.hops.to_vec(),
        uncertain: o.way.uncertain.to_vec(),
    }
}

impl<'a> Analyzer<'a> {
    /// Compile a workspace.
    pub fn new(ws: &'a Workspace) -> Self {
        let mut net = CNetwork::build(&ws.network);
        // Every scanned host is its own class of destinations.
        net.add_addr_cuts(scanned_addrs(ws).map(space::addr_to_u128));
        if let Some(m) = &ws.manifest {
            // Ends naming no modelled device or interface are reported on the manifest when
            // the workspace is assembled.
            let _unused_ends = net.add_links(&manifest_links(m));
        }
        Analyzer { ws, net: Cow::Owned(net), texts: Default::default() }
    }

    /// An analyzer for `ws`, a copy of the workspace `prev` answers for in which only the rules
    /// of the `changed` devices (indexes) differ (an edit of the what-if,
    /// [`crate::whatif::changed_devices`]): only those devices are compiled again
    /// ([`CNetwork::rebuild`]), and it answers as [`Analyzer::new`] of `ws` would. When more
    /// differs (the devices, their interfaces, addresses or routes, the scanned hosts, the
    /// manifest's links), everything is compiled afresh.
    pub fn rebuilt(ws: &'a Workspace, prev: &Analyzer, changed: &[usize]) -> Self {
        let same_rest = scanned_addrs(ws).eq(scanned_addrs(prev.ws))
            && ws.manifest.as_ref().map(manifest_links) == prev.ws.manifest.as_ref().map(manifest_links);
        match prev.net.rebuild(&ws.network, changed).filter(|_| same_rest) {
            Some(net) => Analyzer { ws, net: Cow::Owned(net), texts: Default::default() },
            None => Analyzer::new(ws),
        }
    }

    /// An analyzer over a network compiled earlier from the same workspace (the page keeps
    /// one and asks many questions).
    pub fn with_network(ws: &'a Workspace, net: &'a CNetwork) -> Self {
        Analyzer { ws, net: Cow::Borrowed(net), texts: Default::default() }
    }

    /// The compiled network, to keep for [`Analyzer::with_network`].
    pub fn into_network(self) -> CNetwork {
        self.net.into_owned()
    }

    /// The workspace this analyzer answers for.
    pub fn workspace(&self) -> &Workspace {
        self.ws
    }

    /// The compiled network.
    pub fn network(&self) -> &CNetwork {
        &self.net
    }

    fn internal_space(&self) -> Ranges {
        let mut v = Vec::new();
        for d in &self.net.devices {
            for (n, _) in &d.addrs {
                v.extend_from_slice(space::prefix_range(&n.trunc()).as_slice());
            }
            for r in &d.routes {
                if r.dst.prefix_len() > 0 {
                    v.extend_from_slice(space::prefix_range(&r.dst).as_slice());
                }
            }
        }
        for s in NOT_INTERNET {
            if let Ok(n) = s.parse::<IpNet>() {
                v.extend_from_slice(space::prefix_range(&n).as_slice());
            }
        }
        Ranges::from_ranges(v)
    }

    fn endpoint(&self, s: &str) -> Result<Endpoint, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("internet") {
            let mut v6 = Vec::new();
            for n in INTERNET_V6 {
                if let Ok(n) = n.parse::<IpNet>() {
                    v6.extend_from_slice(space::prefix_range(&n).as_slice());
                }
            }
            let all = space::family_range(false).union(&Ranges::from_ranges(v6));
            return Ok(Endpoint::Addrs(all.difference(&self.internal_space())));
        }
        if s.eq_ignore_ascii_case("any") {
            return Ok(Endpoint::Addrs(space::family_range(false).union(&space::family_range(true))));
        }
        if let Some(name) = s.strip_prefix("device:") {
            return self.net.device(name).map(Endpoint::Device).ok_or_else(|| format!("no device named {name:?}"));
        }
        if let Ok(a) = s.parse::<IpAddr>() {
            return Ok(Endpoint::Addrs(Ranges::single(space::addr_to_u128(a))));
        }
        if let Ok(n) = s.parse::<IpNet>() {
            return Ok(Endpoint::Addrs(space::prefix_range(&n)));
        }
        if let Some((a, b)) = s.split_once('-') {
            if let (Ok(a), Ok(b)) = (a.trim().parse::<IpAddr>(), b.trim().parse::<IpAddr>()) {
                if a.is_ipv4() == b.is_ipv4() && a <= b {
                    return Ok(Endpoint::Addrs(Ranges::range(space::addr_to_u128(a), space::addr_to_u128(b))));
                }
            }
        }
        if let Some(i) = self.net.device(s) {
            return Ok(Endpoint::Device(i));
        }
        if let Some(r) = self.manifest_endpoint(s) {
            return Ok(Endpoint::Addrs(r));
        }
        for prefix in ["host:", "zone:"] {
            if s.starts_with(prefix) {
                return Err(format!("endpoint {s:?}: hosts and zones are named in a topology manifest, and none defines it"));
            }
        }
        Err(format!("endpoint {s:?} is not an address, CIDR, range, `internet`, or a device name"))
    }

    /// The addresses an endpoint names (a device's own addresses for a device).
    pub fn endpoint_addrs(&self, s: &str) -> Result<Ranges, String> {
        Ok(match self.endpoint(s)? {
            Endpoint::Addrs(r) => r,
            Endpoint::Device(d) => self.net.devices[d].local_ranges(),
        })
    }

    /// A name the topology manifest defines: `zone:NAME`, `host:NAME`, or a bare origin, host
    /// or zone name, as addresses.
    fn manifest_endpoint(&self, s: &str) -> Option<Ranges> {
        let m = self.ws.manifest.as_ref()?;
        let blocks = |bs: &[crate::manifest::AddrBlock]| {
            Ranges::from_ranges(
                bs.iter()
                    .flat_map(|b| match b {
                        crate::manifest::AddrBlock::Net(n) => space::prefix_range(n).as_slice().to_vec(),
                        crate::manifest::AddrBlock::Range(r) => vec![(space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))],
                    })
                    .collect(),
            )
        };
        let host = |name: &str| {
            m.hosts.iter().find(|h| h.name == name).map(|h| {
                Ranges::from_ranges(h.ips.iter().map(|a| (space::addr_to_u128(*a), space::addr_to_u128(*a))).collect())
            })
        };
        if let Some(z) = s.strip_prefix("zone:") {
            return m.zones.get(z).map(|z| blocks(&z.addresses));
        }
        if let Some(h) = s.strip_prefix("host:") {
            return host(h);
        }
        if let Some(o) = m.origins.iter().find(|o| o.name == s) {
            return Some(blocks(&o.addresses));
        }
        host(s).or_else(|| m.zones.get(s).map(|z| blocks(&z.addresses)))
    }

    /// Answer a reachability question.
    pub fn query(&self, req: &QueryRequest) -> Result<QueryReport, String> {
        self.query_with(req, false)
    }

    /// Answer a reachability question asked for an origin's clients: when `from` names many
    /// addresses, the devices' own addresses and the subnets' broadcast addresses among them
    /// are not sources (see [`Analyzer::clients`]).
    pub fn query_clients(&self, req: &QueryRequest) -> Result<QueryReport, String> {
        self.query_with(req, true)
    }

    /// The clients of a network of many addresses: without the devices' own addresses and the
    /// subnets' network and broadcast addresses (no host sends from them). One address stays
    /// itself.
    pub fn clients(&self, r: &Ranges) -> Ranges {
        if r.count() <= 1 {
            return r.clone();
        }
        let local: Vec<(u128, u128)> = self.net.devices.iter().flat_map(|d| d.local.iter().map(|&x| (x, x))).collect();
        let bcast: Vec<(u128, u128)> = self.net.devices.iter().flat_map(|d| d.broadcasts().into_iter().chain(d.network_addrs())).map(|x| (x, x)).collect();
        r.difference(&Ranges::from_ranges(local)).difference(&Ranges::from_ranges(bcast))
    }

    fn query_with(&self, req: &QueryRequest, clients: bool) -> Result<QueryReport, String> {
        let from = match self.endpoint(&req.from)? {
            Endpoint::Addrs(r) if clients => Endpoint::Addrs(self.clients(&r)),
            other => other,
        };
        let to = self.endpoint(&req.to)?;
        let protos = parse_proto(&req.proto)?;
        let port = match &req.port {
            Some(p) if !p.trim().is_empty() => Some(parse_port(p, &protos)?),
            _ => None,
        };
        self.answer(from, to, protos, port, req, &|_| true, Reading::ALL)
    }

    /// Answer a question whose destination and services are sets: from an origin's clients
    /// (as [`Analyzer::query_clients`]) to the addresses `to` (described as `to_label`), over
    /// the protocols `protos` and, if given, the destination ports (or ICMP types) `ports`.
    pub fn query_sets(&self, from: &str, to: &Ranges, to_label: &str, protos: &Ranges, ports: Option<&Ranges>) -> Result<QueryReport, String> {
        self.query_sets_where(from, to, to_label, protos, ports, &|_| true)
    }

    /// [`Analyzer::query_sets`] for a caller that reads the readable sets (`covers`) of only some
    /// verdicts: the results with other verdicts come without one (describing a large set is
    /// most of the cost of a question that is checked, not shown).
    pub fn query_sets_where(
        &self,
        from: &str,
        to: &Ranges,
        to_label: &str,
        protos: &Ranges,
        ports: Option<&Ranges>,
        described: &dyn Fn(Verdict) -> bool,
    ) -> Result<QueryReport, String> {
        let from_ep = match self.endpoint(from)? {
            Endpoint::Addrs(r) => Endpoint::Addrs(self.clients(&r)),
            other => other,
        };
        let req = sets_request(from, to_label, protos, ports);
        self.answer(from_ep, Endpoint::Addrs(to.clone()), protos.clone(), ports.cloned(), &req, described, Reading::ALL)
    }

    /// [`Analyzer::query_sets_where`] without the denied classes, and with the cells that the
    /// bound of `from` ([`Analyzer::bound`], found for the same endpoint) leaves out passed over
    /// unwalked: the allowed and possibly allowed classes are the same.
    #[allow(clippy::too_many_arguments)]
    pub fn query_sets_bounded(
        &self,
        from: &str,
        to: &Ranges,
        to_label: &str,
        protos: &Ranges,
        ports: Option<&Ranges>,
        described: &dyn Fn(Verdict) -> bool,
        bound: &Bound,
    ) -> Result<QueryReport, String> {
        let Some(near) = self.near(bound, to, protos, ports) else {
            return Err("no packet matches the question: nothing of it may open a connection".into());
        };
        let from_ep = Endpoint::Addrs(bound.source().clone());
        let req = sets_request(from, to_label, protos, ports);
        let reading = Reading { denied: false, bound: Some(&near), ..Reading::ALL };
        self.answer(from_ep, Endpoint::Addrs(to.clone()), protos.clone(), ports.cloned(), &req, described, reading)
    }

    /// Whether some class of the question from the bound's source (as
    /// [`Analyzer::query_sets_where`] asks it) is allowed or possibly allowed: the
    /// classification walks only within the bound and stops at the first.
    pub fn gets_through(&self, to: &Ranges, protos: &Ranges, ports: Option<&Ranges>, bound: &Bound) -> Result<bool, String> {
        let Some(near) = self.near(bound, to, protos, ports) else { return Ok(false) };
        let reading = Reading { denied: false, bound: Some(&near), stop: Stop::Through, ..Reading::ALL };
        let groups = self.classes(&Endpoint::Addrs(bound.source().clone()), &Endpoint::Addrs(to.clone()), protos, ports.cloned(), None, MAX_CLASSES, reading)?;
        Ok(groups.iter().any(|g| g.0.verdict != Verdict::Denied))
    }

    /// The bound's cubes towards the question's destination, against which each of its cells
    /// is tested; `None` when no packet of the question is in the bound.
    fn near(&self, bound: &Bound, to: &Ranges, protos: &Ranges, ports: Option<&Ranges>) -> Option<Vec<Cube>> {
        let near: Vec<Cube> = bound.cubes().iter().filter(|c| c.get(Dim::Dst).intersects(to) && c.get(Dim::Proto).intersects(protos)).cloned().collect();
        self.meets_question(bound.source(), &near, to, protos, ports).then_some(near)
    }

    /// The first class [`Analyzer::query_sets_where`] lists when every class of the question is
    /// denied, alone: the classification stops after its first walk. Its set is not described.
    pub fn query_first_class(&self, from: &str, to: &Ranges, to_label: &str, protos: &Ranges, ports: Option<&Ranges>) -> Result<Option<FlowResult>, String> {
        let from_ep = match self.endpoint(from)? {
            Endpoint::Addrs(r) => Endpoint::Addrs(self.clients(&r)),
            other => other,
        };
        let req = sets_request(from, to_label, protos, ports);
        let reading = Reading { stop: Stop::First, ..Reading::ALL };
        let q = self.answer(from_ep, Endpoint::Addrs(to.clone()), protos.clone(), ports.cloned(), &req, &|_| false, reading)?;
        Ok(q.results.into_iter().next())
    }

    /// For each target service (address, protocol, port; made ready by [`Analyzer::targets`],
    /// once for any number of questions), whether the clients of `from` can
    /// open a connection to it: the answer of the most permissive class of sources (allowed,
    /// else possibly), with a witness and the explained path of that very connection, as
    /// (index of the target, answer), in the targets' order; targets every class of which is
    /// denied are left out. One classification for all targets at once (many targets cost
    /// little more than one), exact like [`Analyzer::query`].
    pub fn reach_targets(&self, from: &str, targets: &Targets) -> Result<Vec<(usize, FlowResult)>, String> {
        self.reach_targets_with(from, targets, None, flow_result)
    }

    /// [`Analyzer::reach_targets`] without the texts of the answers (what each covers, its
    /// witness, the reason): the verdicts and explained paths, each path shared by every
    /// answer that takes it.
    ///
    /// With the answers comes what the question's walks passed ([`Passed`]): the answers
    /// depend on no other rules (a copy of the inputs whose other rules differ gets the same
    /// answers, [`Passed::meets`]).
    pub fn reach_target_ways(&self, from: &str, targets: &Targets) -> Result<(TargetWays, Passed), String> {
        let visited = Visits::new(self.net.devices.len());
        let got = self.reach_targets_with(from, targets, Some(&visited), |_, o| o.way.clone())?;
        Ok((got, visited.into_inner().passed()))
    }

    fn reach_targets_with<R>(
        &self,
        from: &str,
        targets: &Targets,
        visited: Option<&std::cell::RefCell<Visits>>,
        make: impl Fn(&describe::Class, &Shared) -> R,
    ) -> Result<Vec<(usize, R)>, String> {
        if targets.list.is_empty() {
            return Ok(Vec::new());
        }
        let from_ep = match self.endpoint(from)? {
            Endpoint::Addrs(r) => Endpoint::Addrs(self.clients(&r)),
            other => other,
        };
        Ok(self.answer_targets(&from_ep, None, targets, visited, make)?.pop().unwrap_or_default())
    }

    /// [`Analyzer::reach_targets`] from each of several addresses (an attacker's footholds),
    /// with one classification for all of them: sources on one subnet are walked together, and
    /// each source gets the verdict it gets alone (the most permissive class holding it), with a
    /// witness from it and the explained path of that very connection. (Where several classes
    /// of a source are allowed, say for different source ports, the one shown may differ from
    /// the one asked alone would show.)
    pub fn reach_targets_from(&self, froms: &[IpAddr], targets: &Targets) -> Result<Vec<Vec<(usize, FlowResult)>>, String> {
        self.reach_targets_from_with(froms, targets, None, flow_result)
    }

    /// [`Analyzer::reach_targets_from`] without the texts of the answers, as
    /// [`Analyzer::reach_target_ways`].
    /// With the answers comes what the walks passed, as [`Analyzer::reach_target_ways`].
    pub fn reach_target_ways_from(&self, froms: &[IpAddr], targets: &Targets) -> Result<(Vec<TargetWays>, Passed), String> {
        let visited = Visits::new(self.net.devices.len());
        let got = self.reach_targets_from_with(froms, targets, Some(&visited), |_, o| o.way.clone())?;
        Ok((got, visited.into_inner().passed()))
    }

    fn reach_targets_from_with<R>(
        &self,
        froms: &[IpAddr],
        targets: &Targets,
        visited: Option<&std::cell::RefCell<Visits>>,
        make: impl Fn(&describe::Class, &Shared) -> R,
    ) -> Result<Vec<Vec<(usize, R)>>, String> {
        if targets.list.is_empty() || froms.is_empty() {
            return Ok(froms.iter().map(|_| Vec::new()).collect());
        }
        let src = Ranges::from_ranges(froms.iter().map(|&a| (space::addr_to_u128(a), space::addr_to_u128(a))).collect());
        self.answer_targets(&Endpoint::Addrs(src), Some(froms), targets, visited, make)
    }

    /// Target services (address, protocol, port) made ready to be asked about from many sources
    /// ([`Analyzer::reach_targets`]): what depends on the targets alone is computed once.
    pub fn targets(&self, list: &[(IpAddr, u8, u16)]) -> Targets {
        let addr = |a: IpAddr| space::addr_to_u128(a);
        let dst = Ranges::from_ranges(list.iter().map(|t| (addr(t.0), addr(t.0))).collect());
        let protos = Ranges::from_ranges(list.iter().map(|t| (t.1 as u128, t.1 as u128)).collect());
        let ports = Ranges::from_ranges(list.iter().map(|t| (t.2 as u128, t.2 as u128)).collect());
        // The ports asked of each target address.
        let mut per_dst: Vec<(u128, Ranges)> = Vec::new();
        let mut sorted: Vec<(u128, u128)> = list.iter().map(|t| (addr(t.0), t.2 as u128)).collect();
        sorted.sort_unstable();
        for (a, p) in sorted {
            match per_dst.last_mut() {
                Some((x, r)) if *x == a => *r = r.union(&Ranges::single(p)),
                _ => per_dst.push((a, Ranges::single(p))),
            }
        }
        let cells = DstCells { routing: atoms(&self.net.route_cuts, &dst), coarse: atoms(&self.net.dst_cuts, &dst) };
        let values: Vec<u128> = ports.as_slice().iter().flat_map(|&(lo, hi)| lo..=hi.min(lo.saturating_add(128))).take(129).collect();
        let masks = (values.len() <= 128).then(|| {
            let m = per_dst.iter().map(|(_, r)| values_mask(r, &values)).collect();
            (values, m)
        });
        Targets { list: list.to_vec(), dst, protos, ports, per_dst, masks, cells }
    }

    /// The answers of [`Analyzer::reach_targets`] for the question's whole source (`each` none),
    /// or for each of the given sources of it.
    fn answer_targets<R>(
        &self,
        from_ep: &Endpoint,
        each: Option<&[IpAddr]>,
        prepared: &Targets,
        visited: Option<&std::cell::RefCell<Visits>>,
        make: impl Fn(&describe::Class, &Shared) -> R,
    ) -> Result<Vec<Vec<(usize, R)>>, String> {
        let addr = |a: IpAddr| space::addr_to_u128(a);
        let targets = &prepared.list;
        let reading = Reading {
            per_dst: Some(&prepared.per_dst),
            masks: prepared.masks.as_ref().map(|(v, m)| (&v[..], &m[..])),
            denied: false,
            cells: Some(&prepared.cells),
            visited,
            bound: None,
            stop: Stop::Never,
        };
        let to = Endpoint::Addrs(prepared.dst.clone());
        let groups = self.classes(from_ep, &to, &prepared.protos, Some(prepared.ports.clone()), None, MAX_CLASSES, reading)?;
        // Regions by verdict, most permissive first, indexed by destination address: targets
        // are single addresses, so each destination range of a region holds only target
        // addresses or none.
        let addrs: Vec<u128> = prepared.per_dst.iter().map(|t| t.0).collect();
        let mut by_dst: HashMap<u128, Vec<(u8, &Cube)>> = HashMap::default();
        for (o, cubes) in &groups {
            let rank = match o.verdict {
                Verdict::Allowed => 0,
                Verdict::Possibly => 1,
                Verdict::Denied => continue,
            };
            for c in cubes {
                for &(lo, hi) in c.get(Dim::Dst).as_slice() {
                    let from = addrs.partition_point(|&a| a < lo);
                    for &t in addrs[from..].iter().take_while(|&&a| a <= hi) {
                        by_dst.entry(t).or_default().push((rank, c));
                    }
                }
            }
        }
        for v in by_dst.values_mut() {
            v.sort_by_key(|(r, _)| *r);
        }
        let sources: Vec<Option<u128>> = match each {
            None => vec![None],
            Some(f) => f.iter().map(|&a| Some(addr(a))).collect(),
        };
        // The outcomes of connections to each target from a region's part, for the next
        // source in it: the packets of a part take one way, so its walk is theirs — as long as
        // no text of it names the packet's own addresses (translations, notes on where it
        // enters), which are then walked for each source.
        let mut walked: HashMap<(usize, usize), Shared> = HashMap::default();
        // The targets some packet reaches, in order, with the regions holding their address.
        let reached: Vec<_> =
            targets.iter().enumerate().filter_map(|(ti, &t)| Some((ti, t, by_dst.get(&addr(t.0))?.as_slice()))).collect();
        let mut all = Vec::with_capacity(sources.len());
        for s in sources {
            let mut out = Vec::new();
            for &(ti, (a, p, port), v) in &reached {
                // The answer does not depend on how the classification cut the packets into
                // cubes (the same inputs asked again, another way or with other targets, get it
                // too): of the regions holding the flow, those of the most permissive verdict;
                // of their packets, the first by source address, then by source port; shown as
                // the run of sources from it (its witness avoids a subnet's first address) and
                // the run of source ports from it, and walked in the cube holding it.
                let hit = canonical_class(v, s, (addr(a), p, port));
                let Some((c, part)) = hit else { continue };
                let r = match walked.get(&(part, ti)) {
                    Some(o) => make(&c, o),
                    None => {
                        let o = Shared::from(self.evaluate(describe::class_packet(&c), from_ep));
                        let r = make(&c, &o);
                        if each.is_some() && o.way.uncertain.is_empty() && o.way.hops.iter().all(|h| h.nat.is_empty()) {
                            walked.insert((part, ti), o);
                        }
                        r
                    }
                };
                out.push((ti, r));
            }
            all.push(out);
        }
        Ok(all)
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        from: Endpoint,
        to: Endpoint,
        protos: Ranges,
        port: Option<Ranges>,
        req: &QueryRequest,
        described: &dyn Fn(Verdict) -> bool,
        reading: Reading,
    ) -> Result<QueryReport, String> {
        let mut assumptions = Vec::new();
        if self.net.devices.is_empty() {
            return Err("no device in the inputs: give a ruleset (iptables-save) and its interface dumps".into());
        }
        for d in &self.net.devices {
            if d.has_firewall && !d.has_iface_data {
                assumptions.push(format!(
                    "{} has no interface dump (ip addr): interfaces and local addresses are unknown, so results that depend on them are \"possibly\"",
                    d.name
                ));
            }
        }
        if matches!(&to, Endpoint::Device(d) if self.net.devices[*d].addrs.iter().all(|(n, _)| n.addr().is_loopback())) {
            return Err(format!("{}: no address to reach", req.to));
        }
        let groups = self.classes(&from, &to, &protos, port, req.sport, MAX_CLASSES, reading)?;
        let src_atoms_n = match &from {
            Endpoint::Addrs(r) => atoms(&self.net.addr_cuts, r).len(),
            Endpoint::Device(_) => 1,
        };
        let dst_atoms_n = match &to {
            Endpoint::Addrs(r) => atoms(&self.net.addr_cuts, r).len(),
            Endpoint::Device(_) => 1,
        };
        if groups.is_empty() {
            return Err("no packet matches the question (address families or protocols do not fit together)".into());
        }
        let src_side = match &from {
            Endpoint::Addrs(r) if src_atoms_n > 1 => Some((req.from.as_str(), r)),
            _ => None,
        };
        let dst_side = match &to {
            Endpoint::Addrs(r) if dst_atoms_n > 1 => Some((req.to.as_str(), r)),
            _ => None,
        };
        let mut results = Vec::new();
        for (o, cubes) in groups {
            let Some(first) = first_class(&cubes) else { continue };
            let witness = describe::witness(&first);
            results.push(FlowResult {
                verdict: o.verdict,
                reason: o.reason,
                covers: if described(o.verdict) { describe::covers(&cube_classes(&cubes), src_side, dst_side) } else { String::new() },
                witness,
                hops: o.hops,
                uncertain: o.uncertain,
            });
        }
        // Most severe first: allowed, possibly, denied.
        results.sort_by_key(|r| match r.verdict {
            Verdict::Allowed => 0,
            Verdict::Possibly => 1,
            Verdict::Denied => 2,
        });
        let verdict = if results.iter().any(|r| r.verdict == Verdict::Allowed) {
            Verdict::Allowed
        } else if results.iter().any(|r| r.verdict == Verdict::Possibly) {
            Verdict::Possibly
        } else {
            Verdict::Denied
        };
        Ok(QueryReport {
            from: req.from.clone(),
            to: req.to.clone(),
            proto: req.proto.clone(),
            port: req.port.clone(),
            verdict,
            results,
            assumptions,
        })
    }

    /// Split a question into classes of packets treated alike, evaluate one packet of each,
    /// and group the classes by outcome (in order of first appearance).
    ///
    /// The question is first cut into cells in which routing, local delivery and entry points
    /// are constant (addresses cut at every route, subnet and device address; protocols and
    /// ICMP types cut at every value a rule names). In each cell one packet is walked, the
    /// region of the cell taking exactly its way is computed from the decisions on all its
    /// possible paths, and the rest of the cell is walked again until nothing is left. Every
    /// packet of the question ends in exactly one region, so the answer is exact. A region is
    /// computed over every destination cell entered at the same places (a stretch), so the
    /// packets of later cells that it holds need no walk: a packet dropped at its first router
    /// settles every destination behind that router's rule at once.
    ///
    /// `reading` says what the caller reads of the answer (see [`Reading`]).
    #[allow(clippy::too_many_arguments)]
    fn classes(
        &self,
        from_ep: &Endpoint,
        to: &Endpoint,
        protos: &Ranges,
        port: Option<Ranges>,
        sport: Option<u16>,
        budget: u128,
        reading: Reading,
    ) -> Result<Vec<(ClassOutcome, Vec<Cube>)>, String> {
        let per_dst = reading.per_dst;
        let src_cells: Vec<(u128, u128)> = match from_ep {
            Endpoint::Addrs(r) => atoms(&self.net.route_cuts, r),
            Endpoint::Device(_) => vec![(0, 0)],
        };
        let dst_cells: Cow<[(u128, u128)]> = match (to, reading.cells) {
            (Endpoint::Addrs(_), Some(c)) => Cow::Borrowed(&c.routing),
            (Endpoint::Addrs(r), None) => Cow::Owned(atoms(&self.net.route_cuts, r)),
            (Endpoint::Device(d), _) => self.net.devices[*d]
                .addrs
                .iter()
                .filter(|(n, _)| !n.addr().is_loopback())
                .map(|(n, _)| {
                    let x = space::addr_to_u128(n.addr());
                    (x, x)
                })
                .collect(),
        };
        let sports = match sport {
            Some(p) => Ranges::single(p as u128),
            None => Ranges::range(EPHEMERAL_PORTS.0 as u128, EPHEMERAL_PORTS.1 as u128),
        };
        let proto_cells = self.proto_cells(protos, port.as_ref(), &sports);
        // The dimension of each protocol cell that the ports asked of a destination cut: the
        // type for ICMP, the destination port for protocols with ports.
        let port_dim: Vec<Option<Dim>> = proto_cells
            .iter()
            .map(|(pr, ..)| match pr.first().unwrap_or(0) as u8 {
                proto::ICMP | proto::ICMPV6 => Some(Dim::IcmpType),
                p if proto::has_ports(p) => Some(Dim::Dport),
                _ => None,
            })
            .collect();
        // Every routing decision on a packet's way is recorded in its path region (the route
        // cell at each device, the next hop's owner on a link, where a reply from outside may
        // enter), so a packet from a source on no device's subnet needs no destination cells
        // beyond families and scanned hosts (one row each). A source on a subnet may reach its
        // destination directly, which depends on the destination; there the routing cells
        // stay (they also keep each walk's set of remaining packets small: measured faster
        // than cutting only the source's own subnet, see BENCHMARKS.md).
        let coarse_dst: Cow<[(u128, u128)]> = match (to, reading.cells) {
            (Endpoint::Addrs(_), Some(c)) => Cow::Borrowed(&c.coarse),
            (Endpoint::Addrs(r), None) => Cow::Owned(atoms(&self.net.dst_cuts, r)),
            (Endpoint::Device(_), _) => Cow::Owned(Vec::new()),
        };
        let v4 = |x: u128| (space::V4_BASE..=space::V4_LAST).contains(&x);
        // Source cells. A source on no subnet and no device enters where the devices' routes
        // towards it leave the network, which depends on it only through that list of entries
        // (the rest of its way is recorded in the path region: the reply's route cells and
        // where the reply enters). The routing cells of such sources that enter at the same
        // places are one cell, walked together.
        //
        // A source on a subnet enters on the subnets' devices (or is a device itself); the
        // rest of its way depends on it only through the path region too. Its routing cells
        // with the same devices on link, the same owner and the same local and broadcast
        // standing are one cell (a zone of subnets, hosts cut out by a scan, are walked
        // together); the entry is found for each walked packet, as it also depends on the
        // destination (the same subnet is reached directly).
        // (sources, their destination cells, their entries when known, whether the sources
        // enter alike: no source is a device's own address, so where they enter depends on
        // the destination only)
        type PlanRow<'c> = (Ranges, &'c [(u128, u128)], Option<Vec<Entry>>, bool);
        // (IPv4, entries, routing cells)
        type OutsideCell = (bool, Vec<Entry>, Vec<(u128, u128)>);
        // (IPv4, owner, devices on link, a device's own address, a broadcast address)
        type OnLinkSig = (bool, Option<(usize, u16)>, Vec<(usize, u16)>, bool, bool);
        let mut plan: Vec<PlanRow> = Vec::new();
        let mut outside: Vec<OutsideCell> = Vec::new();
        let mut inside: Vec<(OnLinkSig, Vec<(u128, u128)>)> = Vec::new();
        let by_addrs = matches!((from_ep, to), (Endpoint::Addrs(_), Endpoint::Addrs(_)));
        for &sa in &src_cells {
            if !matches!(from_ep, Endpoint::Addrs(_)) {
                plan.push((Ranges::range(sa.0, sa.1), &dst_cells[..], None, false));
                continue;
            }
            let a = space::u128_to_addr(sa.0);
            let local = self.net.is_local_anywhere(a);
            let outside_net = self.net.on_link(a).is_empty() && !local;
            if outside_net && !by_addrs {
                plan.push((Ranges::range(sa.0, sa.1), &dst_cells[..], None, true));
                continue;
            }
            if !outside_net {
                let sig: OnLinkSig = (
                    v4(sa.0),
                    self.net.owners.get(&sa.0).copied(),
                    self.net.on_link(a).to_vec(),
                    local,
                    self.net.is_broadcast_anywhere(a),
                );
                match inside.iter_mut().find(|(x, _)| *x == sig) {
                    Some((_, r)) => r.push(sa),
                    None => inside.push((sig, vec![sa])),
                }
                continue;
            }
            let at = device::outside_entries(&self.net, space::u128_to_addr(sa.0));
            match outside.iter_mut().find(|(f, e, _)| *f == v4(sa.0) && *e == at) {
                Some((_, _, r)) => r.push(sa),
                None => outside.push((v4(sa.0), at, vec![sa])),
            }
        }
        for ((_, _, _, local, broadcast), r) in inside {
            plan.push((Ranges::from_ranges(r), &dst_cells[..], None, !local && !broadcast));
        }
        for (_, at, r) in outside {
            plan.push((Ranges::from_ranges(r), &coarse_dst[..], Some(at), true));
        }
        let cells = plan
            .iter()
            .map(|(_, d, _, _)| d.len() as u128)
            .sum::<u128>()
            .saturating_mul(proto_cells.len() as u128);
        if cells > budget {
            return Err(format!(
                "the question splits into {cells} cells of packets (more than {budget}); narrow --from, --to, --proto or --port"
            ));
        }
        let mut walks: u128 = 0;
        // Classes by outcome, in order of first appearance, and each outcome's place.
        let mut groups: Vec<(ClassOutcome, Vec<Cube>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::default();
        let np = proto_cells.len();
        for (src, dsts, starts, alike) in &plan {
            // The bound's cubes that meet the row's sources, by protocol cell.
            let near: Vec<Vec<&Cube>> = match reading.bound {
                Some(b) => proto_cells
                    .iter()
                    .map(|(pr, sp, dp, ty)| {
                        b.iter()
                            .filter(|x| {
                                x.get(Dim::Src).intersects(src)
                                    && x.get(Dim::Proto).intersects(pr)
                                    && x.get(Dim::Sport).intersects(sp)
                                    && x.get(Dim::Dport).intersects(dp)
                                    && x.get(Dim::IcmpType).intersects(ty)
                            })
                            .collect()
                    })
                    .collect(),
                None => Vec::new(),
            };
            // Destination cells whose packets enter at the same places (and are of one address
            // family) form a stretch: a walk's region is computed over the whole stretch, and
            // its part in each later cell of the stretch is that cell's region of every packet
            // in it (the region holds exactly the packets taking the walked packet's way), so
            // those packets need no walk of their own. Cells entered directly (source and
            // destination on one subnet) or nowhere stay alone: their outcome depends on the
            // destination in ways no condition records (a subnet's broadcast address).
            let stretch_of: Vec<Option<usize>> = if *alike && dsts.len() > 1 {
                let from = src.first().map(|s| device::EntryFrom::new(&self.net, space::u128_to_addr(s)));
                let mut keys: Vec<(bool, Vec<Entry>)> = Vec::new();
                dsts.iter()
                    .map(|&da| {
                        let entries: &[Entry] = match (starts, &from) {
                            (Some(at), _) => at,
                            (None, Some(f)) => f.to(space::u128_to_addr(rep_addr(da))),
                            (None, None) => return None,
                        };
                        if entries.is_empty() || entries.iter().any(|e| matches!(e, Entry::Direct | Entry::Nowhere | Entry::Device(_))) {
                            return None;
                        }
                        let v = v4(da.0);
                        Some(keys.iter().position(|k| k.0 == v && k.1 == entries).unwrap_or_else(|| {
                            keys.push((v, entries.to_vec()));
                            keys.len() - 1
                        }))
                    })
                    .collect()
            } else {
                vec![None; dsts.len()]
            };
            // Each stretch's destination cells, in order: (first, last, index).
            let mut stretches: Vec<Vec<(u128, u128, usize)>> = Vec::new();
            for (i, s) in stretch_of.iter().enumerate() {
                if let Some(s) = *s {
                    if stretches.len() <= s {
                        stretches.resize(s + 1, Vec::new());
                    }
                    stretches[s].push((dsts[i].0, dsts[i].1, i));
                }
            }
            // A region is computed over the stretch's hull: one interval is cheaper to cut than
            // the cells' union, and only cells of the stretch are looked up in it.
            let stretch_dst: Vec<Ranges> = stretches
                .iter()
                .map(|c| match (c.first(), c.last()) {
                    (Some(a), Some(b)) => Ranges::range(a.0, b.1),
                    _ => Ranges::empty(),
                })
                .collect();
            // Regions of walks in earlier cells reaching into a later cell, by (cell, protocol
            // cell): indexes into `ways` (the region and its class's place in `groups`).
            let mut reaching = Lists::new(if stretches.is_empty() { 0 } else { dsts.len() * np });
            // Later cells (by cell, protocol cell) that a denied region of an earlier walk holds
            // whole, when the caller skips denied packets: nothing of them is answered, so they
            // are passed over before their parts are even made.
            let mut settled: Vec<bool> = vec![false; if stretches.is_empty() || reading.denied { 0 } else { dsts.len() * np }];
            let mut ways: Vec<(PacketSet, usize)> = Vec::new();
            // The ports (ICMP: types) asked of each destination cell's addresses, when each
            // destination is asked its own, and the same as bits of every port asked when the
            // caller has them (cells and addresses are both sorted: one pass over both).
            let mut asked_of: Vec<Cow<Ranges>> = Vec::new();
            let mut asked_mask: Vec<u128> = Vec::new();
            if let Some(per) = per_dst {
                asked_of.reserve(dsts.len());
                let masks = reading.masks.map(|(_, m)| m);
                let mut from = 0;
                for &(lo, hi) in dsts.iter() {
                    if from > 0 && per[from - 1].0 >= lo {
                        // Cells out of order: look this one up.
                        from = per.partition_point(|t| t.0 < lo);
                    }
                    while per.get(from).is_some_and(|t| t.0 < lo) {
                        from += 1;
                    }
                    let to = from + per[from..].iter().take_while(|t| t.0 <= hi).count();
                    asked_of.push(match &per[from..to] {
                        [] => Cow::Owned(Ranges::empty()),
                        [one] => Cow::Borrowed(&one.1),
                        [a, rest @ ..] => Cow::Owned(rest.iter().fold(a.1.clone(), |r, t| r.union(&t.1))),
                    });
                    if let Some(m) = masks {
                        asked_mask.push(m[from..to].iter().fold(0, |x, b| x | b));
                    }
                    from = to;
                }
            }
            for (di, &da) in dsts.iter().enumerate() {
                let dst_rep = space::u128_to_addr(rep_addr(da));
                let src = match from_ep {
                    Endpoint::Device(d) => match device::source_address(&self.net.devices[*d], dst_rep) {
                        Some(a) => Ranges::single(space::addr_to_u128(a)),
                        None => continue,
                    },
                    Endpoint::Addrs(_) => src.clone(),
                };
                if src.first().is_none_or(|s| v4(s) != v4(da.0)) {
                    continue;
                }
                for (pi, (pr, sp, dp, ty)) in proto_cells.iter().enumerate() {
                    if settled.get(di * np + pi) == Some(&true) {
                        continue;
                    }
                    let p = pr.first().unwrap_or(0) as u8;
                    if (p == proto::ICMP && !v4(da.0)) || (p == proto::ICMPV6 && v4(da.0)) {
                        continue;
                    }
                    let stretch = stretch_of[di];
                    // The cell's parts: only the ports (ICMP: types) asked of its destinations.
                    let dst = Ranges::range(da.0, da.1);
                    let mut parts: [(Dim, &Ranges); 6] =
                        [(Dim::Src, &src), (Dim::Dst, &dst), (Dim::Proto, pr), (Dim::Sport, sp), (Dim::Dport, dp), (Dim::IcmpType, ty)];
                    let cut: Ranges;
                    if let (Some(asked), Some(d)) = (asked_of.get(di), port_dim[pi]) {
                        if let Some(part) = parts.iter_mut().find(|x| x.0 == d) {
                            cut = part.1.intersect(asked);
                            if cut.is_empty() {
                                continue;
                            }
                            part.1 = &cut;
                        }
                    }
                    let make_cell = || {
                        let mut c = space::Cube::full();
                        for (d, r) in parts {
                            c.set(d, r.clone());
                        }
                        c
                    };
                    // Nothing of the cell may open a connection: it is denied, and not read.
                    if reading.bound.is_some() && !near[pi].iter().any(|x| parts.iter().all(|(d, r)| x.get(*d).intersects(r))) {
                        continue;
                    }
                    // A cell that the region of an earlier walk in its stretch holds whole (the
                    // common case: a packet dropped at its first router settles every cell
                    // behind that rule) joins that region's class without building a set.
                    if !reaching.is_empty(di * np + pi) {
                        let mut w = Packet::zero();
                        for (d, r) in parts {
                            let lo = r.as_slice().first().copied().unwrap_or_default();
                            w.set(d, if matches!(d, Dim::Src | Dim::Dst) { rep_addr(lo) } else { lo.0 });
                        }
                        if let Some(k) = reaching.iter(di * np + pi).find(|&k| ways[k].0.contains(&w)) {
                            if ways[k].0.cubes().iter().any(|b| holds_whole(b, &parts)) {
                                let g = &mut groups[ways[k].1];
                                if reading.denied || g.0.verdict != Verdict::Denied {
                                    g.1.push(make_cell());
                                }
                                continue;
                            }
                        }
                    }
                    let cell = make_cell();
                    let varying_of = |c: &space::Cube| -> u16 {
                        [Dim::Src, Dim::Dst, Dim::Proto, Dim::Sport, Dim::Dport, Dim::IcmpType]
                            .iter()
                            .filter(|d| c.get(**d).count() > 1)
                            .fold(0, |m, d| m | (1 << *d as usize))
                    };
                    // A walk's region is computed within the cell's whole stretch, over all the
                    // question's ports (the cell's before they were cut to the asked ones), so
                    // that it serves every later cell.
                    let (within, varying) = match stretch {
                        Some(s) => {
                            let mut c = cell.clone();
                            c.set(Dim::Dst, stretch_dst[s].clone());
                            c.set(Dim::Dport, dp.clone());
                            c.set(Dim::IcmpType, ty.clone());
                            let v = varying_of(&c);
                            (Some(PacketSet::from_cube(c)), v)
                        }
                        None => (None, varying_of(&cell)),
                    };
                    let cell = PacketSet::from_cube(cell);
                    let mut todo = cell.clone();
                    while let Some(w) = nice_witness(&todo) {
                        if let Some(k) = reaching.iter(di * np + pi).find(|&k| ways[k].0.contains(&w)) {
                            let (way, g) = &ways[k];
                            let reg = todo.take(way);
                            if reading.denied || groups[*g].0.verdict != Verdict::Denied {
                                groups[*g].1.extend(reg.into_cubes());
                            }
                            continue;
                        }
                        walks += 1;
                        if walks > budget {
                            return Err(format!(
                                "the question takes more than {budget} distinct paths; narrow --from, --to, --proto or --port"
                            ));
                        }
                        let pkt = first_packet(&w);
                        let (o, conds) = self.evaluate_tracked(pkt, from_ep, starts.as_deref(), &|k| index.contains_key(k));
                        // The way's region within the whole cell or stretch (few cubes), then the
                        // part of it still to be answered.
                        let mut way = region::region(&self.net, conds.conds(), within.as_ref().unwrap_or(&cell), varying);
                        if !way.contains(&w) {
                            // Cannot happen if every decision was recorded; stay exact and make
                            // progress with the single packet.
                            debug_assert!(false, "the walked packet is outside its own region");
                            way = point_of(&w);
                        }
                        if let Some(v) = reading.visited {
                            v.borrow_mut().walk(&conds, &way);
                        }
                        let mut classes = todo.take(&way).into_cubes();
                        if !reading.denied && o.verdict == Verdict::Denied {
                            classes = Vec::new();
                        }
                        let g = match index.get(&o.key) {
                            Some(&g) => {
                                groups[g].1.extend(classes);
                                g
                            }
                            None => {
                                index.insert(o.key.clone(), groups.len());
                                groups.push((o, classes));
                                if reading.stop == Stop::First {
                                    return Ok(groups);
                                }
                                groups.len() - 1
                            }
                        };
                        if reading.stop == Stop::Through && groups[g].0.verdict != Verdict::Denied {
                            return Ok(groups);
                        }
                        // Later cells of the stretch the region reaches into. A denied region's
                        // cube that holds a later cell whole (all of the cell's parts but its
                        // destination are the same in every cell of the stretch, or narrower:
                        // the asked ports) settles that cell, if denied packets are skipped.
                        if let Some(s) = stretch {
                            let cells = &stretches[s];
                            let skips = !settled.is_empty() && groups[g].0.verdict == Verdict::Denied;
                            let rest = [(Dim::Src, &src), (Dim::Proto, pr), (Dim::Sport, sp), (Dim::Dport, dp), (Dim::IcmpType, ty)];
                            // The dimension cut to each cell's asked ports, if any, and its
                            // set before the cut.
                            let asked_dim = port_dim[pi].filter(|_| !asked_of.is_empty());
                            let wide = asked_dim.and_then(|d| rest.iter().find(|x| x.0 == d)).map(|x| x.1);
                            let mut reached = false;
                            for c in way.cubes() {
                                let holds_rest = skips && holds_whole_but(c, &[Some(Dim::Dst), asked_dim], &rest);
                                // The ports of the set before the cut that the cube lacks: a
                                // cell's cut ports are held when it asks none of them.
                                let lacks = match (asked_dim, wide) {
                                    (Some(d), Some(w)) if holds_rest => w.difference(c.get(d)),
                                    _ => Ranges::empty(),
                                };
                                let lacks_mask = match reading.masks {
                                    Some((values, _)) if !asked_mask.is_empty() => Some(values_mask(&lacks, values)),
                                    _ => None,
                                };
                                let asks_lacked = |j: usize| match (asked_dim, lacks_mask) {
                                    (None, _) => false,
                                    (Some(_), Some(m)) => asked_mask[j] & m != 0,
                                    (Some(_), None) => asked_of[j].intersects(&lacks),
                                };
                                for &(lo, hi) in c.get(Dim::Dst).as_slice() {
                                    let from = cells.partition_point(|c| c.1 < lo);
                                    for &(first, last, j) in cells[from..].iter().take_while(|c| c.0 <= hi) {
                                        if j <= di {
                                            continue;
                                        }
                                        if holds_rest && lo <= first && last <= hi && !asks_lacked(j) {
                                            settled[j * np + pi] = true;
                                            continue;
                                        }
                                        if reaching.last(j * np + pi) != Some(ways.len()) {
                                            reaching.push(j * np + pi, ways.len());
                                            reached = true;
                                        }
                                    }
                                }
                            }
                            if reached {
                                ways.push((way, g));
                            }
                        }
                    }
                }
            }
        }
        Ok(groups)
    }

    /// The protocol cells of a question: (protocols, source ports, destination ports, ICMP
    /// types). Outside the rules (which the path regions record) a walk treats the packets of
    /// one cell alike: TCP alone (flags, replies to untracked packets, broadcasts); the other
    /// protocols with ports together; ICMP and ICMPv6 each cut at the types that have a reply
    /// ([`device::icmp_reply_types`]); every other protocol together.
    ///
    /// The reply's ICMP type is set by the walk, not taken from the question, so the path region
    /// does not record the rules' tests of it: types with a reply share a cell only when no rule
    /// tells their replies apart (the region records the rules' tests of the types themselves).
    fn proto_cells(&self, protos: &Ranges, port: Option<&Ranges>, sports: &Ranges) -> Vec<(Ranges, Ranges, Ranges, Ranges)> {
        let only = |ps: &[u8]| protos.intersect(&Ranges::from_ranges(ps.iter().map(|&p| (p as u128, p as u128)).collect()));
        let ports = port.cloned().unwrap_or_else(|| Ranges::range(0, 65535));
        let zero = Ranges::single(0);
        // The protocols whose header carries ports, TCP aside.
        let udp_like: Vec<u8> = (0..=255u8).filter(|&p| proto::has_ports(p) && p != proto::TCP).collect();
        let special = only(&[proto::TCP, proto::ICMP, proto::ICMPV6]).union(&only(&udp_like));
        let mut out = Vec::new();
        let other = protos.difference(&special);
        if !other.is_empty() {
            out.push((other, zero.clone(), zero.clone(), zero.clone()));
        }
        for (p, v6) in [(proto::ICMP, false), (proto::ICMPV6, true)] {
            if only(&[p]).is_empty() {
                continue;
            }
            // The ports asked are ICMP types here: only those that exist (a question about
            // TCP and ICMP targets asks the TCP ports of ICMP too).
            let types = Ranges::range(0, Dim::IcmpType.max());
            let types = port.map_or(types.clone(), |p| p.intersect(&types));
            let replying = Ranges::from_ranges(device::icmp_reply_types(v6).iter().map(|&t| (t as u128, t as u128)).collect());
            let class_of = |t: u128| self.net.icmp_cuts.partition_point(|&c| c <= t);
            let mut alike: Vec<(usize, Vec<(u128, u128)>)> = Vec::new();
            for &t in device::icmp_reply_types(v6) {
                let t = t as u128;
                if !types.contains(t) {
                    continue;
                }
                let mut probe = Packet::zero();
                probe.set(Dim::Proto, p as u128);
                probe.set(Dim::IcmpType, t);
                let reply = device::reply_packet(&probe).map_or(t, |r| r.get(Dim::IcmpType));
                let sig = class_of(reply);
                match alike.iter_mut().find(|(s, _)| *s == sig) {
                    Some((_, ts)) => ts.push((t, t)),
                    None => alike.push((sig, vec![(t, t)])),
                }
            }
            for (_, ts) in alike {
                out.push((Ranges::single(p as u128), zero.clone(), zero.clone(), Ranges::from_ranges(ts)));
            }
            let rest = types.difference(&replying);
            if !rest.is_empty() {
                out.push((Ranges::single(p as u128), zero.clone(), zero.clone(), rest));
            }
        }
        let tcp = only(&[proto::TCP]);
        if !tcp.is_empty() {
            out.push((tcp, sports.clone(), ports.clone(), zero.clone()));
        }
        let udp_like = only(&udp_like);
        if !udp_like.is_empty() {
            out.push((udp_like, sports.clone(), ports, zero));
        }
        out.sort_by_key(|c| c.0.first());
        out
    }

    /// Evaluate one flow (a CSV row): the verdict when every class of the flow agrees,
    /// otherwise `possibly` with the reason.
    pub fn flow(&self, src: &str, dst: &str, proto: &str, port: &str, sport: Option<u16>) -> Result<FlowResult, String> {
        for (name, v) in [("src", src), ("dst", dst)] {
            if v.trim().parse::<IpAddr>().is_err() {
                return Err(format!("{name} {v:?} is not an IP address"));
            }
        }
        let rep = self.query(&QueryRequest {
            from: src.into(),
            to: dst.into(),
            proto: proto.into(),
            port: if port.trim().is_empty() { None } else { Some(port.into()) },
            sport,
        })?;
        let mut results = rep.results;
        if results.len() == 1 {
            return Ok(results.remove(0));
        }
        // Several classes (source ports treated differently, or several protocols): the flow's
        // outcome depends on which one the client uses.
        let verdicts: Vec<&str> = results.iter().map(|r| r.verdict.as_str()).collect();
        let mut first = results.remove(0);
        let all_same = verdicts.iter().all(|v| *v == verdicts[0]);
        if !all_same {
            first.uncertain.push(format!(
                "the outcome depends on the source port or protocol variant: {}",
                results.iter().map(|r| format!("{} for {}", r.verdict.as_str(), r.covers)).collect::<Vec<_>>().join("; ")
            ));
            first.verdict = Verdict::Possibly;
            first.reason = format!("depends on the source port chosen by the client ({})", first.reason);
        }
        Ok(first)
    }

    /// Walk one packet from its entry and classify the outcome.
    fn evaluate(&self, pkt: Packet, from: &Endpoint) -> ClassOutcome {
        self.evaluate_tracked(pkt, from, None, &|_| false).0
    }

    /// Walk one packet and also return every decision taken on all its possible paths.
    /// `outside` gives the entries of a source on no subnet when the caller knows them.
    /// `known` says whether the caller already has the outcome of a path key: then only the
    /// verdict and key are filled in, not the explanation.
    fn evaluate_tracked(
        &self,
        pkt: Packet,
        from: &Endpoint,
        outside: Option<&[Entry]>,
        known: &dyn Fn(&str) -> bool,
    ) -> (ClassOutcome, Walked) {
        let src = pkt.addr(Dim::Src);
        let dst = pkt.addr(Dim::Dst);
        let (starts, notes) = match (from, outside) {
            (Endpoint::Device(d), _) => (vec![Entry::Device(*d)], vec![]),
            (_, Some(at)) => (at.to_vec(), device::outside_notes(&self.net, src, at)),
            _ => device::entry(&self.net, src, dst),
        };
        if starts == [Entry::Direct]
            && matches!(pkt.proto(), proto::TCP | proto::ICMP)
            && self.net.is_broadcast_anywhere(dst)
        {
            // On the same subnet, to its broadcast address: neither TCP nor ICMP echo answers.
            let o = ClassOutcome {
                verdict: Verdict::Denied,
                reason: format!("{dst} is the broadcast address of the subnet: neither TCP nor ICMP echo answers a broadcast"),
                hops: vec![],
                uncertain: vec![],
                key: "broadcast".into(),
            };
            return (o, Walked::default());
        }
        if starts == [Entry::Nowhere] {
            // No device has a subnet holding the source or a route towards it: nothing in the
            // network could send a reply back, so no connection can be established.
            let o = ClassOutcome {
                verdict: Verdict::Denied,
                reason: format!("no device has a route back to {src}: replies could not return"),
                hops: vec![],
                uncertain: vec![],
                key: "nowhere".into(),
            };
            return (o, Walked::default());
        }
        let fwd: Vec<Trace> = starts.iter().flat_map(|start| device::walk(&self.net, start, pkt)).collect();
        let replies: Vec<Vec<Trace>> =
            fwd.iter().map(|t| if t.delivered { device::walk_reply(&self.net, t) } else { Vec::new() }).collect();
        let extra: Vec<device::CondRec> =
            fwd.iter().filter(|t| t.delivered).filter_map(|t| device::reply_entry_cond(&self.net, t)).collect();
        let o = self.judge(&fwd, &replies, &notes, known);
        (o, Walked { fwd, replies, extra })
    }

    /// The outcome of a walk: its verdict, its key and (unless `known` has the key) the path
    /// shown with its explanation.
    fn judge(&self, fwd: &[Trace], replies: &[Vec<Trace>], notes: &[String], known: &dyn Fn(&str) -> bool) -> ClassOutcome {
        // Each possible path: forward trace plus, if delivered, each possible reply trace.
        let mut paths: Vec<(bool, &Trace, Option<&Trace>)> = Vec::new();
        for (t, rs) in fwd.iter().zip(replies) {
            if !t.delivered {
                paths.push((false, t, None));
                continue;
            }
            for r in rs {
                paths.push((r.delivered, t, Some(r)));
            }
        }
        let any_ok = paths.iter().any(|p| p.0);
        let all_ok = paths.iter().all(|p| p.0);
        let limit_hit = fwd.iter().any(|t| t.note.as_deref().is_some_and(|n| n.starts_with("too many")));
        let verdict = if all_ok && !limit_hit {
            Verdict::Allowed
        } else if !any_ok && !limit_hit {
            Verdict::Denied
        } else {
            Verdict::Possibly
        };
        // The path to show: for allowed/possibly an allowed one, else the first denied one.
        let shown = paths.iter().find(|p| p.0 == (verdict != Verdict::Denied)).or(paths.first());
        // The outcome's key: the verdict and, for each hop of the path shown, the device, the
        // direction, how it ended, the deciding rule's line and the translations' lines.
        let mut key = verdict.as_str().to_string();
        if let Some((_, t, r)) = shown {
            for p in &t.passes {
                self.hop_key(p, "forward", &mut key);
            }
            for p in r.iter().flat_map(|r| r.passes.iter()) {
                self.hop_key(p, "reply", &mut key);
            }
        }
        if known(&key) {
            return ClassOutcome { verdict, reason: String::new(), hops: Vec::new(), uncertain: Vec::new(), key };
        }
        let mut uncertain: Vec<String> = Vec::new();
        if verdict == Verdict::Possibly {
            let mut seen: Vec<(usize, RuleLoc)> = Vec::new();
            for (_, t, r) in &paths {
                for p in t.passes.iter().chain(r.iter().flat_map(|r| r.passes.iter())) {
                    for dl in &p.doubts {
                        if seen.contains(dl) {
                            continue;
                        }
                        seen.push(*dl);
                        let s = self.doubt_text(dl.0, dl.1);
                        if !uncertain.contains(&s) {
                            uncertain.push(s);
                        }
                    }
                    for n in &p.notes {
                        if !uncertain.contains(n) {
                            uncertain.push(n.clone());
                        }
                    }
                }
                for n in t.note.iter().chain(r.iter().filter_map(|r| r.note.as_ref())) {
                    if !uncertain.contains(n) {
                        uncertain.push(n.clone());
                    }
                }
            }
        }
        let mut hops = Vec::new();
        let mut reason = String::new();
        if let Some((ok, t, r)) = shown {
            for p in &t.passes {
                hops.push(self.hop(p, "forward"));
            }
            if let Some(r) = r {
                for p in &r.passes {
                    hops.push(self.hop(p, "reply"));
                }
            }
            reason = self.reason(*ok, t, *r, verdict);
        }
        if verdict == Verdict::Possibly {
            for n in notes {
                if !uncertain.contains(n) {
                    uncertain.push(n.clone());
                }
            }
        }
        ClassOutcome { verdict, reason, hops, uncertain, key }
    }

    fn reason(&self, ok: bool, t: &Trace, r: Option<&Trace>, verdict: Verdict) -> String {
        let prefix = match verdict {
            Verdict::Possibly => "possibly: ",
            _ => "",
        };
        if ok {
            let names: Vec<&str> = t.passes.iter().map(|p| self.net.devices[p.device].name.as_str()).collect();
            if names.is_empty() {
                return format!("{prefix}allowed: no modelled device filters this path");
            }
            let mut s = format!("{prefix}allowed: the connection passes {} and its replies return", names.join(", "));
            if let Some(n) = t.passes.iter().flat_map(|p| p.nat.iter()).next() {
                s.push_str(&format!(
                    " ({} {} → {})",
                    n.kind,
                    device::show_ap(n.before, &t.passes[0].arrived),
                    device::show_ap(n.after, &t.passes[0].arrived)
                ));
            }
            return s;
        }
        let (dir, trace) = match r {
            Some(r) if t.delivered => ("the reply", r),
            _ => ("the first packet", t),
        };
        if let Some(n) = &trace.note {
            return format!("{prefix}{dir}: {n}");
        }
        let Some(last) = trace.passes.last() else {
            return format!("{prefix}denied");
        };
        let dev = &self.net.devices[last.device];
        match &last.fate {
            Fate::Dropped { at, how } => {
                let rr = self.rule_ref(last.device, *at, None);
                let what = if at.rule == RuleLoc::DEFAULT { format!("the default of {}", rr.ruleset) } else { format!("{} rule", rr.ruleset) };
                let hint = if dir == "the reply" && at.rule == RuleLoc::DEFAULT {
                    " (no rule accepts the reply traffic of this connection)"
                } else {
                    ""
                };
                format!("{prefix}{dir} is {} at {} by {what} {}:{}{hint}", past(how), dev.name, rr.file, rr.line)
            }
            Fate::Broadcast => format!(
                "{prefix}{dir} is addressed to a broadcast address of {}: it is not forwarded, and neither TCP nor ICMP echo answers a broadcast",
                dev.name
            ),
            Fate::NoRoute { route } => match route.and_then(|i| dev.routes.get(i)) {
                Some(r) => format!("{prefix}{dir} is discarded at {} by the route {:?} ({}:{})", dev.name, r.prov.text, r.prov.file, r.prov.line),
                None => format!("{prefix}{dir} has no route at {}", dev.name),
            },
            _ => format!("{prefix}{dir} does not arrive"),
        }
    }

    fn doubt_text(&self, d: usize, loc: RuleLoc) -> String {
        let dev = &self.net.devices[d];
        let Some(rs) = dev.rulesets.get(loc.ruleset) else { return String::new() };
        match rs.rules.get(loc.rule) {
            Some(r) => {
                let what = if r.unknown.is_empty() {
                    match &r.action {
                        Action::Unknown(t) => format!("action {t} is not modelled"),
                        Action::Masquerade(_) => "the address it translates to is unknown without an interface dump".to_string(),
                        a => format!("action {} is not modelled here", action_word(a)),
                    }
                } else {
                    format!("not modelled: {}", r.unknown.join(", "))
                };
                format!("{}:{}: {} ({what})", r.prov.file, r.prov.line, r.prov.text)
            }
            None => format!("{} {}/{}", dev.name, rs.table, rs.name),
        }
    }

    /// A rule as results show it: with `action`, the action it took there when that is not its
    /// own (a ruleset's default taken by a called ruleset that fell through). The texts of each
    /// rule are made once and shared by every path that shows it.
    fn rule_ref(&self, d: usize, loc: RuleLoc, action: Option<&Action>) -> RuleRef {
        let own = self.texts.borrow_mut().rules.entry((d, loc)).or_insert_with(|| self.make_rule_ref(d, loc)).clone();
        let Some(a) = action else { return own };
        let Some(rs) = self.net.devices[d].rulesets.get(loc.ruleset) else { return own };
        if loc.rule == RuleLoc::DEFAULT {
            if rs.default.as_ref().unwrap_or(&Action::Accept) == a {
                return own;
            }
            return RuleRef { action: format!("default {}", action_word(a)).into(), ..own };
        }
        match rs.rules.get(loc.rule) {
            Some(r) if r.action != *a => RuleRef { action: action_word(a).into(), ..own },
            _ => own,
        }
    }

    /// A rule with its own action (a default's: the ruleset's default, accept when it has none).
    fn make_rule_ref(&self, d: usize, loc: RuleLoc) -> RuleRef {
        let dev = &self.net.devices[d];
        let Some(rs) = dev.rulesets.get(loc.ruleset) else {
            return RuleRef { file: "".into(), line: 0, text: "".into(), action: "".into(), ruleset: "".into() };
        };
        let ruleset: Text = format!("{}/{}", rs.table, rs.name).into();
        if loc.rule == RuleLoc::DEFAULT {
            let a = rs.default.clone().unwrap_or(Action::Accept);
            return RuleRef {
                file: rs.default_prov.file.as_str().into(),
                line: rs.default_prov.line,
                text: rs.default_prov.text.as_str().into(),
                action: format!("default {}", action_word(&a)).into(),
                ruleset,
            };
        }
        match rs.rules.get(loc.rule) {
            Some(r) => RuleRef {
                file: r.prov.file.as_str().into(),
                line: r.prov.line,
                text: r.prov.text.as_str().into(),
                action: action_word(&r.action).into(),
                ruleset,
            },
            None => RuleRef { file: "".into(), line: 0, text: "".into(), action: "".into(), ruleset },
        }
    }

    /// A device's name, made once.
    fn device_text(&self, d: usize) -> Text {
        self.texts.borrow_mut().devices.entry(d).or_insert_with(|| self.net.devices[d].name.as_str().into()).clone()
    }

    /// An interface's name, made once.
    fn iface_text(&self, d: usize, i: u16) -> Text {
        self.texts.borrow_mut().ifaces.entry((d, i)).or_insert_with(|| self.net.devices[d].ifaces.name(i).into()).clone()
    }

    fn hop(&self, p: &DevPass, direction: &'static str) -> Hop {
        let mut decisions = Vec::new();
        for dcs in &p.decisions {
            for e in &dcs.exit.effects {
                let r = self.rule_ref(p.device, *e, None);
                if !decisions.contains(&r) {
                    decisions.push(r);
                }
            }
            for v in &dcs.exit.via {
                decisions.push(self.rule_ref(p.device, *v, None));
            }
            decisions.push(self.rule_ref(p.device, dcs.exit.at, Some(&dcs.exit.action)));
        }
        let rule = self.hop_rule(p).map(|(loc, action)| self.rule_ref(p.device, loc, action));
        let nat = p
            .nat
            .iter()
            .map(|n| NatNote {
                kind: n.kind.to_string(),
                from: device::show_ap(n.before, &p.arrived),
                to: device::show_ap(n.after, &p.arrived),
                rule: n.rule.map(|(_, loc)| self.rule_ref(p.device, loc, None)),
            })
            .collect();
        Hop {
            device: self.device_text(p.device),
            direction,
            in_iface: p.iif.map(|i| self.iface_text(p.device, i)),
            out_iface: p.oif.map(|i| self.iface_text(p.device, i)),
            path: p.path,
            rule,
            decisions,
            nat,
            outcome: outcome_word(&p.fate),
        }
    }

    /// The rule a hop names: the one that dropped the packet, else the last accept outside the
    /// NAT tables.
    fn hop_rule<'b>(&self, p: &'b DevPass) -> Option<(RuleLoc, Option<&'b Action>)> {
        match &p.fate {
            Fate::Dropped { at, .. } => Some((*at, None)),
            _ => p
                .decisions
                .iter()
                .rev()
                .find(|d| matches!(d.exit.action, Action::Accept) && !self.is_nat_table(p.device, d.exit.at))
                .map(|d| (d.exit.at, Some(&d.exit.action))),
        }
    }

    /// File and line of a rule, as [`Analyzer::rule_ref`] gives them.
    fn rule_line(&self, d: usize, loc: RuleLoc) -> (&str, u32) {
        let Some(rs) = self.net.devices[d].rulesets.get(loc.ruleset) else { return ("", 0) };
        if loc.rule == RuleLoc::DEFAULT {
            return (&rs.default_prov.file, rs.default_prov.line);
        }
        rs.rules.get(loc.rule).map_or(("", 0), |r| (r.prov.file.as_str(), r.prov.line))
    }

    /// Append a hop's part of an outcome key: what [`Analyzer::hop`] would show of the device,
    /// direction, outcome, rule and translations, without building the hop.
    fn hop_key(&self, p: &DevPass, direction: &str, key: &mut String) {
        use std::fmt::Write;
        let _ = write!(key, "|{}:{direction}:{}:", self.net.devices[p.device].name, outcome_word(&p.fate));
        if let Some((loc, _)) = self.hop_rule(p) {
            let (file, line) = self.rule_line(p.device, loc);
            let _ = write!(key, "{file}:{line}");
        }
        key.push(':');
        for (i, n) in p.nat.iter().enumerate() {
            let line = n.rule.map_or(0, |(_, loc)| self.rule_line(p.device, loc).1);
            let _ = write!(key, "{}{}@{line}", if i > 0 { "," } else { "" }, n.kind);
        }
    }

    fn is_nat_table(&self, d: usize, loc: RuleLoc) -> bool {
        let dev = &self.net.devices[d];
        dev.rulesets.get(loc.ruleset).is_some_and(|r| r.table == "nat")
            // nftables names its tables freely: a ruleset attached as NAT is one
            || dev.hooks.iter().any(|(_, bs)| bs.iter().any(|b| b.ruleset == loc.ruleset && b.stage.new_only()))
    }

    /// Evaluate one packet against one ruleset alone (`portolan test`).
    pub fn test_filter(&self, filter: &str, row: &TestRow) -> Result<TestAnswer, String> {
        let (d, rs) = self.find_filter(filter)?;
        let dev = &self.net.devices[d];
        let src: IpAddr = row.src.trim().parse().map_err(|_| format!("src {:?} is not an IP address", row.src))?;
        let dst: IpAddr = row.dst.trim().parse().map_err(|_| format!("dst {:?} is not an IP address", row.dst))?;
        if src.is_ipv4() != dst.is_ipv4() {
            return Err("src and dst are of different address families".into());
        }
        let protos = parse_proto(&row.proto)?;
        let p = protos.first().ok_or("no protocol")? as u8;
        let port = if row.port.trim().is_empty() { None } else { Some(parse_port(&row.port, &protos)?) };
        let mut pkt = Packet::new_flow(src, dst, p, row.sport.unwrap_or(EPHEMERAL_PORTS.0), 0);
        let pv = port.as_ref().and_then(|r| r.first()).unwrap_or(0);
        if proto::has_ports(p) {
            pkt.set(Dim::Dport, pv);
        } else if p == proto::ICMP || p == proto::ICMPV6 {
            pkt.set(Dim::IcmpType, pv);
        }
        if let Some(state) = &row.state {
            let s = match state.trim().to_ascii_lowercase().as_str() {
                "" | "new" => space::Ct::NEW,
                "established" => space::Ct::ESTABLISHED,
                "related" => space::Ct::RELATED,
                "invalid" => space::Ct::INVALID,
                "untracked" => space::Ct::UNTRACKED,
                other => return Err(format!("state {other:?} is not new, established, related, invalid or untracked")),
            };
            pkt.set(Dim::Ct, s as u128);
        }
        let mut notes = Vec::new();
        let iface = |name: &Option<String>, what: &str, notes: &mut Vec<String>| -> Vec<u16> {
            match name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => vec![dev.ifaces.id(n).unwrap_or_else(|| dev.ifaces.id("\u{10FFFF}").unwrap_or(0))],
                None => {
                    notes.push(format!("{what} interface not given: every interface is tried"));
                    dev.ifaces.all()
                }
            }
        };
        let iifs = iface(&row.in_iface, "input", &mut notes);
        let oifs = iface(&row.out_iface, "output", &mut notes);
        let mut outcomes: Vec<(Action, RuleLoc, Vec<RuleLoc>)> = Vec::new();
        let mut falls = false;
        'outer: for &i in &iifs {
            for &o in &oifs {
                let mut q = pkt;
                q.set(Dim::Iif, i as u128);
                q.set(Dim::Oif, o as u128);
                let (out, returns) = chain::eval_alone(dev, rs, &q);
                falls |= returns;
                for e in out.exits {
                    let key = (e.action.clone(), e.at, e.doubts.clone());
                    if !outcomes.contains(&key) {
                        outcomes.push(key);
                    }
                }
                if outcomes.len() > MAX_CLASSES_TEST {
                    break 'outer;
                }
            }
        }
        let decided: Vec<&(Action, RuleLoc, Vec<RuleLoc>)> = outcomes.iter().collect();
        let words: Vec<String> = decided.iter().map(|(a, _, _)| verdict_word(a)).collect();
        let mut verdict = match words.first() {
            Some(w) if words.iter().all(|x| x == w) && !falls => w.clone(),
            None if falls => "no match".to_string(),
            _ => "possibly".to_string(),
        };
        if verdict == "accept" {
            verdict = "allowed".into();
        } else if verdict == "deny" {
            verdict = "denied".into();
        }
        let rule = decided.first().map(|(a, at, _)| self.rule_ref(d, *at, Some(a)));
        let mut uncertain: Vec<String> = Vec::new();
        if verdict == "possibly" {
            for (_, at, doubts) in &decided {
                for dl in doubts.iter().chain(std::iter::once(at)) {
                    if dl.rule != RuleLoc::DEFAULT {
                        let s = self.doubt_text(d, *dl);
                        if !uncertain.contains(&s) && dev.rulesets[dl.ruleset].rules.get(dl.rule).is_some_and(|r| !r.unknown.is_empty() || matches!(r.action, Action::Unknown(_))) {
                            uncertain.push(s);
                        }
                    }
                }
            }
            if uncertain.is_empty() {
                uncertain.extend(notes.iter().cloned());
            }
            if falls {
                uncertain.push("the packet possibly falls through to the caller".into());
            }
        }
        Ok(TestAnswer {
            verdict,
            filter: format!("{}:{}/{}", dev.name, dev.rulesets[rs].table, dev.rulesets[rs].name),
            rule,
            matches: decided.iter().map(|(a, at, _)| self.rule_ref(d, *at, Some(a))).collect(),
            uncertain,
        })
    }

    /// Every filter `portolan test` can evaluate, as `device:table/NAME`.
    pub fn filters(&self) -> Vec<String> {
        let mut v = Vec::new();
        for d in &self.net.devices {
            for rs in &d.rulesets {
                v.push(format!("{}:{}/{}", d.name, rs.table, rs.name));
            }
        }
        v
    }

    fn find_filter(&self, name: &str) -> Result<(usize, usize), String> {
        let mut found = Vec::new();
        let (dev_part, rest) = match name.split_once(':') {
            Some((d, r)) => (Some(d), r),
            None => (None, name),
        };
        let (table, chain) = match rest.split_once('/') {
            Some((t, c)) => (Some(t), c),
            None => (None, rest),
        };
        for (di, d) in self.net.devices.iter().enumerate() {
            if dev_part.is_some_and(|x| x != d.name) {
                continue;
            }
            for (ri, rs) in d.rulesets.iter().enumerate() {
                if rs.name == chain && table.is_none_or(|t| t == rs.table) {
                    found.push((di, ri));
                }
            }
        }
        match found.len() {
            1 => Ok(found[0]),
            0 => Err(format!("no filter named {name:?}; filters: {}", self.filters().join(", "))),
            _ => {
                // An unqualified name prefers the filter table.
                let filt: Vec<&(usize, usize)> =
                    found.iter().filter(|(d, r)| self.net.devices[*d].rulesets[*r].table == "filter").collect();
                if filt.len() == 1 && table.is_none() {
                    return Ok(*filt[0]);
                }
                let names: Vec<String> = found
                    .iter()
                    .map(|(d, r)| format!("{}:{}/{}", self.net.devices[*d].name, self.net.devices[*d].rulesets[*r].table, self.net.devices[*d].rulesets[*r].name))
                    .collect();
                Err(format!("{name:?} is ambiguous: {}", names.join(", ")))
            }
        }
    }

    /// The single filter of the inputs, if there is exactly one (`--filter` may be omitted).
    pub fn only_filter(&self) -> Result<String, String> {
        let f = self.filters();
        let non_empty: Vec<String> = self
            .net
            .devices
            .iter()
            .flat_map(|d| d.rulesets.iter().filter(|r| !r.rules.is_empty()).map(move |r| format!("{}:{}/{}", d.name, r.table, r.name)))
            .collect();
        match (f.len(), non_empty.len()) {
            (1, _) => Ok(f[0].clone()),
            (_, 1) => Ok(non_empty[0].clone()),
            (0, _) => Err("the inputs hold no filter".into()),
            _ => Err(format!("the inputs hold several filters; choose one with --filter: {}", f.join(", "))),
        }
    }
}

const MAX_CLASSES_TEST: usize = 4096;

/// One row of `portolan test --flows`.
#[derive(Clone, Debug, Default)]
pub struct TestRow {
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Protocol.
    pub proto: String,
    /// Destination port or ICMP type.
    pub port: String,
    /// Source port.
    pub sport: Option<u16>,
    /// Input interface name.
    pub in_iface: Option<String>,
    /// Output interface name.
    pub out_iface: Option<String>,
    /// Connection state (`new` by default).
    pub state: Option<String>,
}

/// The result of evaluating a packet against one filter.
#[derive(Clone, Debug, Serialize)]
pub struct TestAnswer {
    /// `allowed`, `denied`, `possibly`, or `no match` (a called ruleset that returns).
    pub verdict: String,
    /// The filter, as `device:table/NAME`.
    pub filter: String,
    /// The matching rule.
    pub rule: Option<RuleRef>,
    /// Every possibly matching rule when uncertain.
    pub matches: Vec<RuleRef>,
    /// What the "possibly" depends on.
    pub uncertain: Vec<String>,
}

fn verdict_word(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop | Action::Reject(_) => "deny".into(),
        other => action_word(other),
    }
}

/// How a packet ended at a device, in a hop's words.
fn outcome_word(f: &Fate) -> &'static str {
    match f {
        Fate::Forwarded { .. } => "forwarded",
        Fate::Delivered => "delivered",
        Fate::Dropped { how, .. } => past(how),
        Fate::Broadcast => "broadcast, not forwarded",
        Fate::NoRoute { route: Some(_) } => "discarded by route",
        Fate::NoRoute { route: None } => "no route",
    }
}

fn past(how: &'static str) -> &'static str {
    match how {
        "drop" => "dropped",
        "reject" => "rejected",
        "unknown" => "possibly stopped",
        other => other,
    }
}

/// A short word for an action.
pub fn action_word(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Reject(w) if w.is_empty() => "reject".into(),
        Action::Reject(w) => format!("reject ({w})"),
        Action::Return => "return".into(),
        Action::Jump(_) => "jump".into(),
        Action::Goto(_) => "goto".into(),
        Action::Dnat(_) => "dnat".into(),
        Action::Snat(_) => "snat".into(),
        Action::Masquerade(_) => "masquerade".into(),
        Action::Redirect(_) => "redirect".into(),
        Action::Continue(t) => format!("continue ({t})"),
        Action::Notrack => "notrack".into(),
        Action::Unknown(t) => format!("unknown ({t})"),
    }
}

/// A representative address of an atom: its first address, or the second when the atom is a
/// larger block (so a /24 is represented by `.1`, not its network address).
fn rep_addr(a: (u128, u128)) -> u128 {
    if a.1 - a.0 >= 3 {
        a.0 + 1
    } else {
        a.0
    }
}

/// What a caller of [`Analyzer::classes`] reads of its answer.
#[derive(Clone, Copy)]
struct Reading<'a> {
    /// The ports (ICMP: types) asked of each destination address, sorted by address, when they
    /// differ by destination: packets to other ports of an address are then in no class.
    per_dst: Option<&'a [(u128, Ranges)]>,
    /// Every port asked, sorted, and each `per_dst` entry's ports as bits of that list.
    masks: Option<(&'a [u128], &'a [u128])>,
    /// Whether the classes of denied packets come with their cubes (else only their outcome:
    /// a caller that reads only what gets through needs no set of what does not).
    denied: bool,
    /// The destination's cells when the caller made them already (they depend on the
    /// destination alone).
    cells: Option<&'a DstCells>,
    /// Where to record every device a walk passed and the rules it examined (the classes
    /// depend on no other rules), when the caller wants to know.
    visited: Option<&'a std::cell::RefCell<Visits>>,
    /// Cubes holding every packet that may open a connection ([`Analyzer::bound`]), when the
    /// caller skips denied packets: cells outside them are passed over unwalked.
    bound: Option<&'a [Cube]>,
    /// Where the classification may stop early.
    stop: Stop,
}

/// Where a classification may stop before every packet of the question has its class.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// It does not.
    Never,
    /// With the class of the first packet walked (the first a caller lists when every class is
    /// denied).
    First,
    /// With the first class allowed or possibly allowed (the caller asks only whether some
    /// packet gets through).
    Through,
}

impl Reading<'_> {
    /// Every class with its cubes, every port of every destination.
    const ALL: Reading<'static> = Reading { per_dst: None, masks: None, denied: true, cells: None, visited: None, bound: None, stop: Stop::Never };
}

/// A destination's addresses cut at every route, subnet and device address (`routing`), and at
/// the addresses that matter for sources outside every subnet (`coarse`).
struct DstCells {
    routing: Vec<(u128, u128)>,
    coarse: Vec<(u128, u128)>,
}

/// Target services made ready by [`Analyzer::targets`].
pub struct Targets {
    /// The targets, as given: (address, protocol, port).
    list: Vec<(IpAddr, u8, u16)>,
    dst: Ranges,
    protos: Ranges,
    ports: Ranges,
    /// The ports asked of each target address, by address.
    per_dst: Vec<(u128, Ranges)>,
    /// Every port asked, sorted, and the ports of each `per_dst` entry as bits of that list,
    /// when there are at most 128 of them.
    masks: Option<(Vec<u128>, Vec<u128>)>,
    cells: DstCells,
}

/// The first packet of a set, with readable values: the second address of a larger block (a
/// /24 is represented by `.1`, not its network address) and the lowest port.
fn nice_witness(set: &PacketSet) -> Option<Packet> {
    let cube = set.cubes().first()?;
    let mut p = Packet::zero();
    for d in Dim::ALL {
        let r = cube.get(d);
        let &(lo, hi) = r.as_slice().first()?;
        p.set(d, if matches!(d, Dim::Src | Dim::Dst) { rep_addr((lo, hi)) } else { lo });
    }
    Some(p)
}

/// The first packet of a connection with the question's fields of `w` (addresses, protocol,
/// ports, ICMP type): what a walk starts from.
fn first_packet(w: &Packet) -> Packet {
    let mut pkt = Packet::new_flow(
        space::u128_to_addr(w.get(Dim::Src)),
        space::u128_to_addr(w.get(Dim::Dst)),
        w.proto(),
        w.get(Dim::Sport) as u16,
        w.get(Dim::Dport) as u16,
    );
    pkt.set(Dim::IcmpType, w.get(Dim::IcmpType));
    pkt
}

/// A question over sets as [`Analyzer::query_sets_where`] and its kin report it.
fn sets_request(from: &str, to_label: &str, protos: &Ranges, ports: Option<&Ranges>) -> QueryRequest {
    QueryRequest {
        from: from.to_string(),
        to: to_label.to_string(),
        proto: describe_protos(protos),
        port: ports.map(|r| r.as_slice().iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(",")),
        sport: None,
    }
}

/// True if the cube holds the whole cell whose sets in the given dimensions are the parts (every
/// other dimension full; the cell is not empty).
fn holds_whole(b: &Cube, parts: &[(Dim, &Ranges)]) -> bool {
    holds_whole_but(b, &[], parts)
}

/// Lists of numbers by slot, kept in one arena (a slot's list in the order of its pushes): many
/// slots, few of them with a list, none with a long one.
struct Lists {
    /// Each slot's first and last entry (`u32::MAX`: none).
    ends: Vec<(u32, u32)>,
    /// (number, next entry of its slot).
    entries: Vec<(u32, u32)>,
}

impl Lists {
    const NONE: u32 = u32::MAX;

    fn new(slots: usize) -> Lists {
        Lists { ends: vec![(Self::NONE, Self::NONE); slots], entries: Vec::new() }
    }

    fn is_empty(&self, slot: usize) -> bool {
        self.ends.get(slot).is_none_or(|e| e.0 == Self::NONE)
    }

    fn last(&self, slot: usize) -> Option<usize> {
        let t = self.ends.get(slot)?.1;
        (t != Self::NONE).then(|| self.entries[t as usize].0 as usize)
    }

    fn push(&mut self, slot: usize, v: usize) {
        let at = self.entries.len() as u32;
        self.entries.push((v as u32, Self::NONE));
        let end = &mut self.ends[slot];
        if end.1 == Self::NONE {
            end.0 = at;
        } else {
            self.entries[end.1 as usize].1 = at;
        }
        end.1 = at;
    }

    fn iter(&self, slot: usize) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.ends.get(slot).map_or(Self::NONE, |e| e.0);
        std::iter::from_fn(move || {
            let (v, next) = *self.entries.get(at as usize)?;
            at = next;
            Some(v as usize)
        })
    }
}

/// The values of a sorted list that a set holds, as bits of their places in the list (at most
/// 128 values).
fn values_mask(set: &Ranges, values: &[u128]) -> u128 {
    let mut m = 0u128;
    for &(lo, hi) in set.as_slice() {
        let from = values.partition_point(|&v| v < lo);
        for k in (from..values.len()).take_while(|&k| values[k] <= hi) {
            m |= 1 << k;
        }
    }
    m
}

/// True if the cube holds, in every dimension but those in `but`, the sets given as parts (every
/// other dimension full): [`holds_whole`] of any cell with those parts whose sets in `but` the
/// cube holds.
fn holds_whole_but(b: &Cube, but: &[Option<Dim>], parts: &[(Dim, &Ranges)]) -> bool {
    Dim::ALL
        .iter()
        .filter(|&&d| !but.contains(&Some(d)) && b.is_constrained(d))
        .all(|&d| parts.iter().any(|&(e, r)| e == d && r.is_subset(b.get(d))))
}

/// The question-dimension point of a packet, as a set (other dimensions free).
fn point_of(p: &Packet) -> PacketSet {
    let mut c = space::Cube::full();
    for d in [Dim::Src, Dim::Dst, Dim::Proto, Dim::Sport, Dim::Dport, Dim::IcmpType] {
        c.set(d, Ranges::single(p.get(d)));
    }
    PacketSet::from_cube(c)
}

/// A region as classes: every combination of the ranges of its cubes.
fn cube_classes(cubes: &[Cube]) -> Vec<describe::Class> {
    let mut out = Vec::new();
    for c in cubes {
        for &sr in c.get(Dim::Src).as_slice() {
            for &dr in c.get(Dim::Dst).as_slice() {
                for &pr in c.get(Dim::Proto).as_slice() {
                    let (ports, has_ports, icmp) = class_ports(c, pr.0);
                    for &spr in c.get(Dim::Sport).as_slice() {
                        for &dpr in ports.as_slice() {
                            out.push(describe::Class { src: sr, dst: dr, proto: pr, sport: spr, dport: dpr, has_ports, icmp });
                        }
                    }
                }
            }
        }
    }
    out
}

/// The ranges a class of protocol `p` takes its ports from (ICMP: the types), and whether it
/// has ports and is ICMP.
fn class_ports(c: &Cube, p: u128) -> (&Ranges, bool, bool) {
    let p = p as u8;
    let icmp = p == proto::ICMP || p == proto::ICMPV6;
    (if icmp { c.get(Dim::IcmpType) } else { c.get(Dim::Dport) }, proto::has_ports(p), icmp)
}

/// The class of [`Analyzer::reach_targets`]'s answer for one flow (destination address,
/// protocol, port; from source `s` when given) among the regions holding its destination,
/// `(verdict rank, cube)` sorted by rank: the first packet, by source address then source port,
/// of the most permissive verdict holding the flow, with the run of source addresses and of
/// source ports from it in that verdict's cubes, and (as a number) the cube holding it.
fn canonical_class(v: &[(u8, &Cube)], s: Option<u128>, (dst, p, port): (u128, u8, u16)) -> Option<(describe::Class, usize)> {
    let icmp = p == proto::ICMP || p == proto::ICMPV6;
    let holds = |c: &Cube| {
        c.get(Dim::Proto).contains(p as u128)
            && c.get(if icmp { Dim::IcmpType } else { Dim::Dport }).contains(port as u128)
            && s.is_none_or(|s| c.get(Dim::Src).contains(s))
    };
    let rank = v.iter().find(|(_, c)| holds(c))?.0;
    let best: Vec<&Cube> = v.iter().filter(|(r, c)| *r == rank && holds(c)).map(|(_, c)| *c).collect();
    let lo = |c: &Cube, d: Dim| c.get(d).as_slice().first().map(|r| r.0);
    let src = match s {
        Some(s) => s,
        None => best.iter().filter_map(|c| lo(c, Dim::Src)).min()?,
    };
    let at_src: Vec<&Cube> = best.iter().copied().filter(|c| c.get(Dim::Src).contains(src)).collect();
    let sport = at_src.iter().filter_map(|c| lo(c, Dim::Sport)).min()?;
    let part = at_src.iter().find(|c| c.get(Dim::Sport).contains(sport))?;
    // The run of values from `from` in the union of the cubes' ranges of dimension `d`.
    let run = |cubes: &[&Cube], d: Dim, from: u128| {
        let mut ranges: Vec<(u128, u128)> = cubes.iter().flat_map(|c| c.get(d).as_slice().iter().copied()).collect();
        ranges.sort_unstable();
        let mut hi = from;
        for (a, b) in ranges {
            if a > hi.saturating_add(1) {
                break;
            }
            hi = hi.max(b);
        }
        (from, hi)
    };
    let at_sport: Vec<&Cube> = best.iter().copied().filter(|c| c.get(Dim::Sport).contains(sport)).collect();
    let class = describe::Class {
        src: if s.is_some() { (src, src) } else { run(&at_sport, Dim::Src, src) },
        dst: (dst, dst),
        proto: (p as u128, p as u128),
        sport: run(&at_src, Dim::Sport, sport),
        dport: (port as u128, port as u128),
        has_ports: proto::has_ports(p),
        icmp,
    };
    Some((class, *part as *const Cube as usize))
}

/// The first class of [`cube_classes`], without the others.
fn first_class(cubes: &[Cube]) -> Option<describe::Class> {
    let c = cubes.first()?;
    let first = |d: Dim| c.get(d).as_slice().first().copied();
    let pr = first(Dim::Proto)?;
    let (ports, has_ports, icmp) = class_ports(c, pr.0);
    Some(describe::Class {
        src: first(Dim::Src)?,
        dst: first(Dim::Dst)?,
        proto: pr,
        sport: first(Dim::Sport)?,
        dport: ports.as_slice().first().copied()?,
        has_ports,
        icmp,
    })
}

/// Split the ranges of `within` at every cut point.
fn atoms(cuts: &[u128], within: &Ranges) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(lo, hi) in within.as_slice() {
        let start = cuts.partition_point(|&c| c <= lo);
        let mut cur = lo;
        for &c in &cuts[start..] {
            if c > hi {
                break;
            }
            out.push((cur, c - 1));
            cur = c;
        }
        out.push((cur, hi));
    }
    out
}

fn parse_proto(s: &str) -> Result<Ranges, String> {
    let s = s.trim().to_ascii_lowercase();
    let single = |p: u8| Ok(Ranges::single(p as u128));
    match s.as_str() {
        "" | "any" | "all" | "ip" => Ok(Ranges::range(0, 255)),
        "tcp" => single(proto::TCP),
        "udp" => single(proto::UDP),
        "icmp" => Ok(Ranges::from_ranges(vec![(proto::ICMP as u128, proto::ICMP as u128), (proto::ICMPV6 as u128, proto::ICMPV6 as u128)])),
        "icmpv6" | "ipv6-icmp" => single(proto::ICMPV6),
        "sctp" => single(proto::SCTP),
        "gre" => single(47),
        "esp" => single(50),
        "ah" => single(51),
        n => n.parse::<u8>().map(|p| Ranges::single(p as u128)).map_err(|_| format!("protocol {s:?} is not tcp, udp, icmp, any or a number 0-255")),
    }
}

/// Protocol numbers as text: `any`, a name for one well-known protocol, else numbers and ranges.
fn describe_protos(r: &Ranges) -> String {
    if *r == Ranges::range(0, 255) {
        return "any".into();
    }
    r.as_slice().iter().map(|&(a, b)| if a == b { describe::proto_name(a as u8) } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(",")
}

/// ICMP type names accepted as a "port" for ICMP.
const ICMP_NAMES: &[(&str, u8)] = &[
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
];

fn parse_port(s: &str, protos: &Ranges) -> Result<Ranges, String> {
    let s = s.trim();
    let icmp_only = protos.as_slice().iter().all(|&(a, b)| (a..=b).all(|p| p == 1 || p == 58));
    if icmp_only {
        if let Some((_, t)) = ICMP_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            // ICMPv6 numbers its echo messages differently.
            return Ok(Ranges::single(*t as u128));
        }
        if s.eq_ignore_ascii_case("ping") {
            return Ok(Ranges::single(8));
        }
    }
    let (a, b) = match s.split_once(['-', ':']) {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s, s),
    };
    let max = if icmp_only { 255 } else { 65535 };
    let pa: u32 = a.parse().map_err(|_| format!("port {s:?} is not a number or range"))?;
    let pb: u32 = b.parse().map_err(|_| format!("port {s:?} is not a number or range"))?;
    if pa > pb || pb > max {
        return Err(format!("port {s:?} is out of range 0-{max}"));
    }
    Ok(Ranges::range(pa as u128, pb as u128))
}

#[cfg(test)]
mod test;
