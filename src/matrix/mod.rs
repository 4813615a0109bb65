//! The service matrix of one firewall for one port: who may open connections to whom.
//!
//! As in the verified iptables analysis of Diekmann et al. ("Verified iptables Firewall
//! Analysis", IFIP Networking 2016), the address space is partitioned into classes whose
//! members the firewall treats identically, as source and as destination, for new connections
//! of one protocol to one destination port; the matrix lists which class may open connections
//! to which.
//!
//! How it is computed, exactly (no sampling):
//! 1. The device's filtering rulesets on the path (raw, mangle and filter stages of
//!    PREROUTING, FORWARD and POSTROUTING; or PREROUTING and INPUT for connections to the
//!    device itself) are walked symbolically ([`walk`]) with every first packet of such a
//!    connection: any source and destination of the family, the port, a TCP SYN, connection
//!    state NEW, any input and output interface. The result is the accepted set, with an upper
//!    and a lower bound where rules have unmodelled parts.
//! 2. Interfaces are resolved ([`ifaces`]): a packet from source `s` may arrive on the
//!    interfaces whose assignment holds `s` (spoofing protection is assumed, and checked); it
//!    leaves by the interface the routing table chooses for its destination, or by any
//!    candidate interface when the device has no routing table. Each accepted cube becomes a
//!    rectangle of (source, destination) addresses.
//! 3. The rectangles are partitioned into classes and class pairs ([`classes`]).
//!
//! Address translation is not applied: the matrix is about the addresses as they arrive.

pub mod classes;
pub mod ifaces;
pub mod walk;

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Action, Family, Hook};
use crate::reach::{CDevice, CNetwork, RuleLoc};
use crate::space::{self, proto, tcp_flags, Ct, Cube, Dim, PacketSet, Ranges};
use crate::{Network, Workspace};

use classes::{Rect, Relation};
use ifaces::{Assignment, Out, Source};
use walk::{Bounds, Walker};

/// What to compute.
#[derive(Clone, Debug)]
pub struct MatrixRequest {
    /// `tcp` or `udp` (or a protocol number that carries ports).
    pub proto: String,
    /// Destination port.
    pub dport: u16,
    /// Source port; `None`: any (a pair is allowed when some source port is).
    pub sport: Option<u16>,
    /// The device; `None`: the only device with a packet filter.
    pub device: Option<String>,
    /// Connections to the device itself (INPUT) instead of through it (FORWARD).
    pub to_device: bool,
}

/// One class of addresses.
#[derive(Clone, Debug, Serialize)]
pub struct Class {
    /// Number, referenced by the pairs.
    pub id: usize,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// Addresses: CIDRs (a single address without `/32`) or `first-last` ranges, one per
    /// maximal run, in address order.
    pub addresses: Vec<String>,
}

/// The spoofing protection of one interface, for the connections of the matrix.
#[derive(Clone, Debug, Serialize)]
pub struct SpoofCheck {
    /// Interface name.
    pub interface: String,
    /// True if the rules accept no such connection arriving on it from a source outside its
    /// assignment.
    pub enforced: bool,
    /// When not enforced: `definitely` or `possibly` (it depends on unmodelled rule parts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certainty: Option<&'static str>,
    /// When not enforced: one source address outside the assignment that is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// How interfaces were resolved.
#[derive(Clone, Debug, Serialize)]
pub struct InterfaceInfo {
    /// `ipassmt`, `manifest`, `routing` or `none`.
    pub source: &'static str,
    /// The files it came from.
    pub files: Vec<String>,
    /// Interfaces with assigned addresses, as `name`, addresses.
    pub assignment: Vec<AssignedIface>,
    /// What the matrix assumes about where packets arrive and leave.
    pub assumption: String,
}

/// One interface of the assignment.
#[derive(Clone, Debug, Serialize)]
pub struct AssignedIface {
    /// Name.
    pub name: String,
    /// Addresses, as for [`Class::addresses`].
    pub addresses: Vec<String>,
}

/// The service matrix.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceMatrix {
    /// The device.
    pub device: String,
    /// `forward` (connections through the device) or `input` (to the device itself).
    pub direction: &'static str,
    /// Protocol name.
    pub proto: String,
    /// Destination port.
    pub dport: u16,
    /// Source port, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    /// The classes, IPv4 first, each in address order of its lowest address.
    pub classes: Vec<Class>,
    /// Pairs `[from, to]` of class ids: connections possibly allowed (upper bound; exactly the
    /// allowed ones when `allowed_definite` is absent).
    pub allowed: Vec<[usize; 2]>,
    /// Pairs definitely allowed (lower bound), when they differ from `allowed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_definite: Option<Vec<[usize; 2]>>,
    /// How interface matches were resolved.
    pub interfaces: InterfaceInfo,
    /// Per assigned interface, whether the rules enforce its assignment.
    pub spoofing: Vec<SpoofCheck>,
    /// Rules whose unmodelled parts make the bounds differ: `file:line: text (why)`.
    pub uncertain: Vec<String>,
    /// Other things worth knowing about this result.
    pub notes: Vec<String>,
}

/// The protocol number of `tcp`, `udp` or a number of a protocol with ports.
fn proto_number(p: &str) -> Result<u8, String> {
    let n = match p.trim().to_ascii_lowercase().as_str() {
        "tcp" => proto::TCP,
        "udp" => proto::UDP,
        "sctp" => proto::SCTP,
        other => other.parse::<u8>().map_err(|_| format!("protocol {p:?}: the matrix takes tcp or udp"))?,
    };
    if !proto::has_ports(n) {
        return Err(format!("protocol {p:?} has no ports: the matrix takes tcp or udp"));
    }
    Ok(n)
}

fn proto_name(n: u8) -> String {
    match n {
        proto::TCP => "tcp".into(),
        proto::UDP => "udp".into(),
        proto::SCTP => "sctp".into(),
        n => n.to_string(),
    }
}

/// Compute the service matrix. Errors (usage, no such device) are sentences for the user.
pub fn compute(ws: &Workspace, req: &MatrixRequest) -> Result<ServiceMatrix, String> {
    let p = proto_number(&req.proto)?;
    let with_fw: Vec<&crate::model::Device> = ws.network.devices.iter().filter(|d| d.firewall.is_some()).collect();
    let dev = match &req.device {
        Some(name) => ws.network.device(name).ok_or_else(|| {
            let names: Vec<&str> = ws.network.devices.iter().map(|d| d.name.as_str()).collect();
            format!("no device {name:?} among the inputs (devices: {})", if names.is_empty() { "none".into() } else { names.join(", ") })
        })?,
        None => match with_fw.as_slice() {
            [one] => *one,
            [] => return Err("no device with packet filter rules among the inputs".into()),
            many => {
                let names: Vec<&str> = many.iter().map(|d| d.name.as_str()).collect();
                return Err(format!("several devices have packet filter rules ({}): choose one with --device", names.join(", ")));
            }
        },
    };
    if dev.firewall.is_none() {
        return Err(format!("device {} has no packet filter rules", dev.name));
    }
    let net = CNetwork::build(&Network { devices: vec![dev.clone()] });
    let Some(cdev) = net.devices.first() else { return Err("the device could not be compiled".into()) };
    let assignment = ifaces::find(ws, &dev.name, cdev)?;
    Ok(compute_device(cdev, !dev.routes.is_empty(), &assignment, p, req))
}

/// Filtering rulesets on the path, in order, with their family.
fn path_bindings(dev: &CDevice, to_device: bool) -> (Vec<(usize, Family)>, Vec<usize>) {
    let hooks: &[Hook] = if to_device { &[Hook::Prerouting, Hook::Input] } else { &[Hook::Prerouting, Hook::Forward, Hook::Postrouting] };
    let mut filters = Vec::new();
    let mut nat = Vec::new();
    for &h in hooks {
        for b in dev.bindings(h) {
            if b.stage.new_only() {
                nat.push(b.ruleset);
            } else {
                filters.push((b.ruleset, b.family));
            }
        }
    }
    // A ruleset with a default that nothing binds (a built-in chain of a dump without hooks).
    if filters.is_empty() && dev.hooks.iter().all(|(_, b)| b.is_empty()) {
        let want = if to_device { "INPUT" } else { "FORWARD" };
        for (i, rs) in dev.rulesets.iter().enumerate() {
            if rs.default.is_some() && rs.name.eq_ignore_ascii_case(want) {
                filters.push((i, Family::Any));
            }
        }
    }
    (filters, nat)
}

fn family_applies(f: Family, v6: bool) -> bool {
    match f {
        Family::Any => true,
        Family::V4 => !v6,
        Family::V6 => v6,
    }
}

/// Render a set of addresses: one item per maximal run, a CIDR when the run is one.
pub fn fmt_ranges(r: &Ranges) -> Vec<String> {
    r.as_slice().iter().map(|&(lo, hi)| fmt_range(lo, hi)).collect()
}

fn fmt_range(lo: u128, hi: u128) -> String {
    let a = space::u128_to_addr(lo);
    if lo == hi {
        return a.to_string();
    }
    let v4 = (space::V4_BASE..=space::V4_LAST).contains(&lo) && (space::V4_BASE..=space::V4_LAST).contains(&hi);
    let (x, y, bits) = if v4 { (lo - space::V4_BASE, hi - space::V4_BASE, 32u32) } else { (lo, hi, 128u32) };
    let span = y - x;
    // A prefix: the span is 2^k − 1 and x is aligned to it.
    if span.checked_add(1).is_none_or(|s| s.is_power_of_two()) && x & span == 0 {
        let k = 128 - span.leading_zeros();
        return format!("{a}/{}", bits - k);
    }
    format!("{a}-{}", space::u128_to_addr(hi))
}

/// Per family: the facts the projection needs.
struct FamilyCtx {
    /// Per interface id, the sources that may arrive on it.
    legit: Vec<Ranges>,
    /// Destination cells by their possible output interfaces (empty: not forwarded).
    cells: Vec<(Vec<u16>, Ranges)>,
}

impl FamilyCtx {
    /// Destinations that may leave by one of `oifs` (upper bound), and those that certainly do
    /// (every interface they may leave by is in `oifs`).
    fn dst_for(&self, oifs: &Ranges) -> (Ranges, Ranges) {
        let mut may = Vec::new();
        let mut all = Vec::new();
        for (q, r) in &self.cells {
            if q.iter().any(|o| oifs.contains(*o as u128)) {
                may.extend_from_slice(r.as_slice());
                if q.iter().all(|o| oifs.contains(*o as u128)) {
                    all.extend_from_slice(r.as_slice());
                }
            }
        }
        (Ranges::from_ranges(may), Ranges::from_ranges(all))
    }

    fn src_for(&self, iifs: &Ranges) -> Ranges {
        let mut v = Vec::new();
        for &(a, b) in iifs.as_slice() {
            for i in a..=b.min(self.legit.len().saturating_sub(1) as u128) {
                if let Some(r) = self.legit.get(i as usize) {
                    v.extend_from_slice(r.as_slice());
                }
            }
        }
        Ranges::from_ranges(v)
    }
}

/// The interface model of one family (see [`ifaces`]).
fn family_ctx(dev: &CDevice, have_routes: bool, asg: &Assignment, fam: &Ranges, to_device: bool, notes: &mut Vec<String>) -> FamilyCtx {
    let n = dev.ifaces.all().len();
    let lo = dev.ifaces.id("lo");
    let other = dev.ifaces.other();
    let mut legit = vec![Ranges::empty(); n];
    let usable = |i: u16| to_device || Some(i) != lo;
    // Candidate interfaces (where routing is unknown, any of them).
    let mut candidates: Vec<u16>;
    match asg.source {
        Source::Files(_) | Source::Manifest(_) => {
            let mut covered = Ranges::empty();
            candidates = Vec::new();
            for e in &asg.entries {
                let id = dev.ifaces.resolve(&e.name);
                let a = e.addrs.intersect(fam);
                covered = covered.union(&a);
                if usable(id) {
                    legit[id as usize] = legit[id as usize].union(&a);
                    candidates.push(id);
                }
            }
            let uncovered = fam.difference(&covered);
            if !uncovered.is_empty() {
                legit[other as usize] = legit[other as usize].union(&uncovered);
                candidates.push(other);
                let shown = fmt_ranges(&uncovered);
                notes.push(format!(
                    "the interface assignment does not cover {}{}: these sources are taken to arrive on an interface the rules do not name",
                    shown.iter().take(8).cloned().collect::<Vec<_>>().join(", "),
                    if shown.len() > 8 { format!(" and {} more ranges", shown.len() - 8) } else { String::new() }
                ));
            }
        }
        Source::Routing => {
            candidates = dev.ifaces.real.iter().copied().filter(|&i| usable(i)).collect();
            for (r, o) in ifaces::route_cells(dev, fam, have_routes) {
                match o {
                    Out::Iface(i) if usable(i) => legit[i as usize] = legit[i as usize].union(&r),
                    Out::Iface(_) => {}
                    Out::Local => {
                        if let Some(l) = lo.filter(|_| to_device) {
                            legit[l as usize] = legit[l as usize].union(&r);
                        }
                    }
                    Out::Dropped | Out::Unknown => {
                        for &i in &candidates {
                            legit[i as usize] = legit[i as usize].union(&r);
                        }
                    }
                }
            }
        }
        Source::None => {
            candidates = (0..n as u16).filter(|&i| usable(i)).collect();
            for &i in &candidates {
                // Packets on loopback come from the device itself (the kernel's own addresses).
                legit[i as usize] = if Some(i) == lo { dev.local_ranges().intersect(fam) } else { fam.clone() };
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    let mut cells: Vec<(Vec<u16>, Ranges)> = Vec::new();
    if to_device {
        cells.push((vec![0], fam.clone()));
    } else if dev.has_iface_data || have_routes {
        for (r, o) in ifaces::route_cells(dev, fam, have_routes) {
            let q = match o {
                Out::Iface(i) => vec![i],
                Out::Local | Out::Dropped => vec![],
                Out::Unknown => candidates.clone(),
            };
            match cells.iter_mut().find(|(x, _)| *x == q) {
                Some((_, c)) => *c = c.union(&r),
                None => cells.push((q, r)),
            }
        }
    } else {
        cells.push((candidates.clone(), fam.clone()));
    }
    FamilyCtx { legit, cells }
}

/// The first packets of the matrix's connections, for one family.
fn entry(dev: &CDevice, p: u8, req: &MatrixRequest, fam: &Ranges, ctx: &FamilyCtx, asg: &Assignment) -> PacketSet {
    let ids = |v: Vec<u16>| Ranges::from_ranges(v.into_iter().map(|i| (i as u128, i as u128)).collect());
    // Interfaces some source may arrive on, and every assigned one (for the spoofing check,
    // which needs the sources outside the assignment too).
    let mut iif: Vec<u16> = (0..ctx.legit.len() as u16).filter(|&i| !ctx.legit[i as usize].is_empty()).collect();
    iif.extend(asg.entries.iter().map(|e| dev.ifaces.resolve(&e.name)));
    let iifs = ids(iif);
    let oifs = ids(ctx.cells.iter().flat_map(|(q, _)| q.iter().copied()).collect());
    let mut c = Cube::full();
    c.set(Dim::Src, fam.clone());
    c.set(Dim::Dst, fam.clone());
    c.set(Dim::Proto, Ranges::single(p as u128));
    c.set(Dim::Sport, req.sport.map_or_else(|| Ranges::range(0, 65535), |s| Ranges::single(s as u128)));
    c.set(Dim::Dport, Ranges::single(req.dport as u128));
    c.set(Dim::IcmpType, Ranges::single(0));
    c.set(Dim::IcmpCode, Ranges::single(0));
    c.set(Dim::TcpFlags, Ranges::single(if p == proto::TCP { tcp_flags::SYN as u128 } else { 0 }));
    c.set(Dim::Ct, Ranges::single(Ct::NEW as u128));
    c.set(Dim::Iif, iifs);
    c.set(Dim::Oif, if req.to_device { Ranges::single(0) } else { oifs });
    PacketSet::from_cube(c)
}

/// Accepted cubes → rectangles of (source, destination).
struct Projector<'a> {
    ctx: &'a FamilyCtx,
    src: HashMap<Ranges, Ranges>,
    dst: HashMap<Ranges, (Ranges, Ranges)>,
}

impl<'a> Projector<'a> {
    fn new(ctx: &'a FamilyCtx) -> Self {
        Projector { ctx, src: HashMap::new(), dst: HashMap::new() }
    }

    fn src(&mut self, c: &Cube) -> Ranges {
        let iif = c.get(Dim::Iif);
        let legit = match self.src.get(iif) {
            Some(r) => r.clone(),
            None => {
                let r = self.ctx.src_for(iif);
                self.src.insert(iif.clone(), r.clone());
                r
            }
        };
        c.get(Dim::Src).intersect(&legit)
    }

    /// (may, single-interface) destinations of a cube.
    fn dst(&mut self, c: &Cube) -> (Ranges, Ranges) {
        let oif = c.get(Dim::Oif);
        let (may, single) = match self.dst.get(oif) {
            Some(r) => r.clone(),
            None => {
                let r = self.ctx.dst_for(oif);
                self.dst.insert(oif.clone(), r.clone());
                r
            }
        };
        let d = c.get(Dim::Dst);
        (d.intersect(&may), d.intersect(&single))
    }
}

/// One family's result.
struct FamilyResult {
    classes: Vec<Ranges>,
    upper: Vec<(usize, usize)>,
    lower: Vec<(usize, usize)>,
    spoof: Vec<(String, bool, bool, Option<u128>)>,
}

#[allow(clippy::too_many_arguments)]
fn family_matrix(
    dev: &CDevice,
    have_routes: bool,
    asg: &Assignment,
    p: u8,
    req: &MatrixRequest,
    v6: bool,
    filters: &[(usize, Family)],
    notes: &mut Vec<String>,
    doubts: &mut Vec<RuleLoc>,
) -> Result<FamilyResult, String> {
    let fam = space::family_range(v6);
    let ctx = family_ctx(dev, have_routes, asg, &fam, req.to_device, notes);
    let mut acc = Bounds::exact(entry(dev, p, req, &fam, &ctx, asg));
    let mut w = Walker::new(dev);
    for &(rs, f) in filters {
        if !family_applies(f, v6) {
            continue;
        }
        acc = w.attached(rs, acc);
        if w.over_budget {
            return Err(format!(
                "the rulesets of {} are too complex for an exact matrix (more than {} cubes examined)",
                dev.name,
                walk::MAX_WORK
            ));
        }
    }
    for d in w.doubts {
        if !doubts.contains(&d) {
            doubts.push(d);
        }
    }
    let mut proj = Projector::new(&ctx);
    let mut upper = Relation::default();
    for c in acc.may.cubes() {
        let s = proj.src(c);
        let (d, _) = proj.dst(c);
        upper.any.push(Rect { src: s, dst: d });
    }
    let mut lower = Relation::default();
    // Cells with several possible output interfaces: allowed for sure only if every one of
    // them lets the connection out.
    let groups: Vec<&(Vec<u16>, Ranges)> = ctx.cells.iter().filter(|(q, _)| q.len() > 1).collect();
    let mut alts: Vec<Vec<Vec<Rect>>> = groups.iter().map(|(q, _)| vec![Vec::new(); q.len()]).collect();
    for c in acc.must.cubes() {
        let s = proj.src(c);
        if s.is_empty() {
            continue;
        }
        let (_, single) = proj.dst(c);
        lower.any.push(Rect { src: s.clone(), dst: single });
        let oif = c.get(Dim::Oif);
        for (g, (q, cells)) in groups.iter().enumerate() {
            let d = c.get(Dim::Dst).intersect(cells);
            if d.is_empty() {
                continue;
            }
            for (k, o) in q.iter().enumerate() {
                if oif.contains(*o as u128) {
                    alts[g][k].push(Rect { src: s.clone(), dst: d.clone() });
                }
            }
        }
    }
    lower.all_of = alts;
    let part = classes::partition(&fam, &[upper, lower]);
    let mut pairs = part.pairs.into_iter();
    let upper_pairs = pairs.next().unwrap_or_default();
    let lower_pairs = pairs.next().unwrap_or_default();
    // Spoofing protection, for these connections.
    let mut spoof = Vec::new();
    if matches!(asg.source, Source::Files(_) | Source::Manifest(_)) {
        for e in &asg.entries {
            // The rules see the interface as this id (shared with every name they do not tell
            // apart from it); spoofed are the sources outside its own assignment.
            let id = dev.ifaces.resolve(&e.name);
            let outside = fam.difference(&e.addrs);
            let find = |set: &PacketSet, proj: &mut Projector, definite: bool| -> Option<u128> {
                set.cubes().iter().find_map(|c| {
                    if !c.get(Dim::Iif).contains(id as u128) {
                        return None;
                    }
                    let s = c.get(Dim::Src).intersect(&outside);
                    let (may, single) = proj.dst(c);
                    let d = if definite { single } else { may };
                    if s.is_empty() || d.is_empty() {
                        None
                    } else {
                        s.first()
                    }
                })
            };
            let possibly = find(&acc.may, &mut proj, false);
            let definitely = find(&acc.must, &mut proj, true);
            spoof.push((e.name.clone(), possibly.is_some(), definitely.is_some(), definitely.or(possibly)));
        }
    }
    Ok(FamilyResult { classes: part.classes, upper: upper_pairs, lower: lower_pairs, spoof })
}

fn compute_device(dev: &CDevice, have_routes: bool, asg: &Assignment, p: u8, req: &MatrixRequest) -> ServiceMatrix {
    let mut notes = Vec::new();
    let (filters, nat) = path_bindings(dev, req.to_device);
    let mut families: Vec<bool> = Vec::new();
    for v6 in [false, true] {
        if filters.iter().any(|(_, f)| family_applies(*f, v6)) {
            families.push(v6);
        }
    }
    if families.is_empty() {
        families.push(false);
        notes.push(format!(
            "{} has no filtering ruleset on this path: every connection passes",
            dev.name
        ));
    }
    let mut doubts = Vec::new();
    let mut classes = Vec::new();
    let mut allowed = Vec::new();
    let mut definite = Vec::new();
    let mut spoofing: Vec<SpoofCheck> = Vec::new();
    let mut error = None;
    for v6 in families {
        let base = classes.len();
        match family_matrix(dev, have_routes, asg, p, req, v6, &filters, &mut notes, &mut doubts) {
            Ok(r) => {
                for (i, c) in r.classes.iter().enumerate() {
                    classes.push(Class { id: base + i, family: if v6 { "ipv6" } else { "ipv4" }, addresses: fmt_ranges(c) });
                }
                allowed.extend(r.upper.iter().map(|&(a, b)| [base + a, base + b]));
                definite.extend(r.lower.iter().map(|&(a, b)| [base + a, base + b]));
                for (name, possibly, definitely, example) in r.spoof {
                    match spoofing.iter_mut().find(|s| s.interface == name) {
                        Some(_) if !possibly => {}
                        Some(s) => {
                            s.enforced = false;
                            if s.certainty != Some("definitely") {
                                s.certainty = Some(if definitely { "definitely" } else { "possibly" });
                                s.example = example.map(|a| space::u128_to_addr(a).to_string());
                            }
                        }
                        None => spoofing.push(SpoofCheck {
                            interface: name,
                            enforced: !possibly,
                            certainty: possibly.then_some(if definitely { "definitely" } else { "possibly" }),
                            example: example.filter(|_| possibly).map(|a| space::u128_to_addr(a).to_string()),
                        }),
                    }
                }
            }
            Err(e) => error = Some(e),
        }
    }
    if let Some(e) = error {
        notes.push(e);
    }
    // Address translation on the path is not applied.
    let entry_any = {
        let mut c = Cube::full();
        c.set(Dim::Proto, Ranges::single(p as u128));
        c.set(Dim::Dport, Ranges::single(req.dport as u128));
        PacketSet::from_cube(c)
    };
    let mut nat_rules: Vec<String> = Vec::new();
    for &rs in &nat {
        if let Some(r) = dev.rulesets.get(rs) {
            for rule in &r.rules {
                let translates = matches!(rule.action, Action::Dnat(_) | Action::Snat(_) | Action::Masquerade(_) | Action::Redirect(_));
                if translates && !rule.set.intersect(&entry_any).is_empty() && nat_rules.len() < 3 {
                    nat_rules.push(format!("{}:{}", rule.prov.file, rule.prov.line));
                }
            }
        }
    }
    if !nat_rules.is_empty() {
        notes.push(format!(
            "address translation rules match this service ({}{}): the matrix is about addresses as they arrive and does not apply them",
            nat_rules.join(", "),
            if nat_rules.len() >= 3 { ", …" } else { "" }
        ));
    }
    let rule_ifaces: Vec<String> = rule_interface_names(dev);
    let (source, files, assumption) = match &asg.source {
        Source::Files(f) => ("ipassmt", f.clone(), "a packet arriving on an interface comes from an address assigned to it (spoofing protection, checked below)".to_string()),
        Source::Manifest(f) => ("manifest", vec![f.clone()], "a packet arriving on an interface comes from the addresses of the zones it is in (spoofing protection, checked below)".to_string()),
        Source::Routing => ("routing", Vec::new(), "a packet from an address the routing table sends out of an interface arrives on that interface (strict reverse-path filtering); other sources may arrive on any interface".to_string()),
        Source::None => ("none", Vec::new(), "no interface assignment: any address may arrive on any interface (loopback: only the device's own addresses)".to_string()),
    };
    if matches!(asg.source, Source::Files(_) | Source::Manifest(_)) {
        let named: Vec<&str> = asg.entries.iter().map(|e| e.name.as_str()).collect();
        let missing: Vec<&String> = rule_ifaces.iter().filter(|n| !n.ends_with('+') && n.as_str() != "lo" && !named.contains(&n.as_str())).collect();
        if !missing.is_empty() {
            notes.push(format!(
                "the rules name interfaces the assignment does not list ({}): no packet is taken to arrive on them",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if !req.to_device && !dev.has_iface_data && !have_routes {
        notes.push(
            "no routing table: the output interface of every destination is unknown, so a connection is definitely allowed only if every interface would let it out"
                .into(),
        );
    }
    if req.to_device {
        notes.push("connections to the device itself: every destination is evaluated as if it were one of the device's addresses".into());
    }
    if req.sport.is_none() {
        notes.push("any source port: a pair is listed when connections from some source port are allowed".into());
    }
    let uncertain = doubts
        .iter()
        .map(|d| {
            let Some(rs) = dev.rulesets.get(d.ruleset) else { return String::new() };
            match rs.rules.get(d.rule) {
                Some(r) => {
                    let why = if r.unknown.is_empty() {
                        match &r.action {
                            Action::Jump(_) | Action::Goto(_) => "a jump that could not be followed".to_string(),
                            a => format!("action {} not modelled here", crate::reach::action_word(a)),
                        }
                    } else {
                        format!("not modelled: {}", r.unknown.join("; "))
                    };
                    format!("{}:{}: {} ({why})", r.prov.file, r.prov.line, r.prov.text)
                }
                None => format!("{}:{}: default of {} ({})", rs.default_prov.file, rs.default_prov.line, rs.name, "an action not modelled here"),
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    let allowed_definite = (definite != allowed).then_some(definite);
    ServiceMatrix {
        device: dev.name.clone(),
        direction: if req.to_device { "input" } else { "forward" },
        proto: proto_name(p),
        dport: req.dport,
        sport: req.sport,
        classes,
        allowed,
        allowed_definite,
        interfaces: InterfaceInfo {
            source,
            files,
            assignment: asg.entries.iter().map(|e| AssignedIface { name: e.name.clone(), addresses: fmt_ranges(&e.addrs) }).collect(),
            assumption,
        },
        spoofing,
        uncertain,
        notes,
    }
}

/// Interface names the rules match on (exact names and `prefix+` patterns).
fn rule_interface_names(dev: &CDevice) -> Vec<String> {
    let mut v: Vec<String> = dev
        .ifaces
        .all()
        .into_iter()
        .map(|i| dev.ifaces.name(i))
        .filter(|n| n != "(unknown interface)")
        .map(|n| if let Some(p) = n.strip_suffix('*') { format!("{p}+") } else { n })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The matrix as readable text: the classes with their addresses, then who may connect to
/// whom, then what the result rests on.
pub fn render_text(m: &ServiceMatrix) -> String {
    let mut s = String::new();
    let port = match m.sport {
        Some(sp) => format!("{}/{} from source port {sp}", m.proto, m.dport),
        None => format!("{}/{}", m.proto, m.dport),
    };
    let what = if m.direction == "input" { "connections to the device itself" } else { "connections through the device" };
    let _ = writeln!(s, "Service matrix of {} for {port}, {what}", m.device);
    let files = if m.interfaces.files.is_empty() { String::new() } else { format!(" ({})", m.interfaces.files.join(", ")) };
    let _ = writeln!(s, "Interfaces: {}{files}; assumed: {}", m.interfaces.source, m.interfaces.assumption);
    let _ = writeln!(s, "\nClasses ({}):", m.classes.len());
    for c in &m.classes {
        let _ = writeln!(s, "  #{:<3} {}", c.id, c.addresses.join(" "));
    }
    let pairs = |s: &mut String, ps: &[[usize; 2]]| {
        if ps.is_empty() {
            let _ = writeln!(s, "  (none)");
        }
        let mut i = 0;
        while i < ps.len() {
            let from = ps[i][0];
            let mut to = Vec::new();
            while i < ps.len() && ps[i][0] == from {
                to.push(format!("#{}", ps[i][1]));
                i += 1;
            }
            let _ = writeln!(s, "  #{from} → {}", to.join(" "));
        }
    };
    match &m.allowed_definite {
        None => {
            let _ = writeln!(s, "\nAllowed ({} pairs):", m.allowed.len());
            pairs(&mut s, &m.allowed);
        }
        Some(d) => {
            let _ = writeln!(s, "\nPossibly allowed, upper bound ({} pairs):", m.allowed.len());
            pairs(&mut s, &m.allowed);
            let _ = writeln!(s, "\nDefinitely allowed, lower bound ({} pairs):", d.len());
            pairs(&mut s, d);
        }
    }
    if !m.spoofing.is_empty() {
        let bad: Vec<&SpoofCheck> = m.spoofing.iter().filter(|c| !c.enforced).collect();
        let _ = writeln!(s, "\nSpoofing protection (for these connections):");
        for c in &bad {
            let _ = writeln!(
                s,
                "  {}: not enforced ({}), e.g. source {}",
                c.interface,
                c.certainty.unwrap_or("possibly"),
                c.example.as_deref().unwrap_or("?")
            );
        }
        let ok: Vec<&str> = m.spoofing.iter().filter(|c| c.enforced).map(|c| c.interface.as_str()).collect();
        if !ok.is_empty() {
            let _ = writeln!(s, "  enforced on {}", ok.join(", "));
        }
    }
    if !m.uncertain.is_empty() {
        let _ = writeln!(s, "\nUncertain (rules with parts not modelled):");
        for u in m.uncertain.iter().take(20) {
            let _ = writeln!(s, "  {u}");
        }
        if m.uncertain.len() > 20 {
            let _ = writeln!(s, "  … and {} more (see --json)", m.uncertain.len() - 20);
        }
    }
    if !m.notes.is_empty() {
        let _ = writeln!(s, "\nNotes:");
        for n in &m.notes {
            let _ = writeln!(s, "  {n}");
        }
    }
    s
}

#[cfg(test)]
mod test;
