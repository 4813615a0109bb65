//! Compiling the model into evaluation-ready form: interface ids, rule match sets, routing
//! tables ordered for longest-prefix match.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::diag::Provenance;
use crate::model::{Action, Cond, Device, Family, Hook, Route, RouteKind, Ruleset, Stage, Test};
use crate::space::{self, family_range, Cube, Dim, PacketSet, Ranges};

impl CRule {
    /// True if the packet satisfies the rule's modelled conditions.
    #[inline]
    pub fn matches(&self, p: &crate::space::Packet) -> bool {
        match &self.flat {
            Some(f) => f.contains(p),
            None => self.set.contains(p),
        }
    }
}
use crate::Network;

/// Name used for "an interface not named anywhere": it matches no literal name and no prefix.
const OTHER_IFACE: &str = "\u{10FFFF}";

/// Interface names of one device, sorted; an interface's id is its index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfaceTable {
    names: Vec<String>,
    /// Ids of interfaces the device really has (from interface dumps).
    pub real: Vec<u16>,
}

impl IfaceTable {
    fn build(dev: &Device) -> IfaceTable {
        let mut names: Vec<String> = dev.interfaces.iter().map(|i| i.name.clone()).collect();
        names.push("lo".into());
        if let Some(fw) = &dev.firewall {
            for rs in &fw.rulesets {
                for r in &rs.rules {
                    for c in &r.conds {
                        if let Test::InIface(p) | Test::OutIface(p) = &c.test {
                            match p.strip_suffix('+') {
                                // A representative of "some other interface with this prefix".
                                Some(prefix) => names.push(format!("{prefix}{OTHER_IFACE}")),
                                None => names.push(p.clone()),
                            }
                        }
                    }
                }
            }
        }
        names.push(OTHER_IFACE.into());
        names.sort();
        names.dedup();
        names.truncate(65535);
        let mut t = IfaceTable { names, real: Vec::new() };
        t.real = dev.interfaces.iter().filter_map(|i| t.id(&i.name)).collect();
        t
    }

    /// The id of an exact name.
    pub fn id(&self, name: &str) -> Option<u16> {
        self.names.binary_search_by(|n| n.as_str().cmp(name)).ok().map(|i| i as u16)
    }

    /// The name of an id (representatives print as `eth*` / `(other)`).
    pub fn name(&self, id: u16) -> String {
        match self.names.get(id as usize) {
            Some(n) if n == OTHER_IFACE => "(unknown interface)".into(),
            Some(n) => n.replace(OTHER_IFACE, "*"),
            None => format!("#{id}"),
        }
    }

    /// True if a name as shown ([`IfaceTable::name`]) holds whitespace (the representative of
    /// interfaces named nowhere, shown in brackets, aside).
    pub fn shown_names_have_spaces(&self) -> bool {
        self.names.iter().any(|n| n != OTHER_IFACE && n.replace(OTHER_IFACE, "*").contains(char::is_whitespace))
    }

    /// The id standing for "an interface not named anywhere" (it matches only `+`).
    pub fn other(&self) -> u16 {
        self.id(OTHER_IFACE).unwrap_or(0)
    }

    /// The id any interface name behaves as: its own id when the table has it, else the
    /// representative of the longest `prefix+` pattern the rules use that it starts with, else
    /// [`IfaceTable::other`]. Every rule matches the name exactly when it matches that id.
    pub fn resolve(&self, name: &str) -> u16 {
        if let Some(i) = self.id(name) {
            return i;
        }
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.strip_suffix(OTHER_IFACE).filter(|p| !p.is_empty() && name.starts_with(*p)).map(|p| (p.len(), i)))
            .max()
            .map_or_else(|| self.other(), |(_, i)| i as u16)
    }

    /// Every id (for when the interface is unknown).
    pub fn all(&self) -> Vec<u16> {
        (0..self.names.len() as u16).collect()
    }

    /// Ids matching an iptables-style pattern (`eth0`, `eth+`, `+`).
    fn matching(&self, pattern: &str) -> Ranges {
        let ids: Vec<(u128, u128)> = match pattern.strip_suffix('+') {
            Some(prefix) => self
                .names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.starts_with(prefix) && (n.as_str() != OTHER_IFACE || prefix.is_empty()))
                .map(|(i, _)| (i as u128, i as u128))
                .collect(),
            None => self.id(pattern).map(|i| vec![(i as u128, i as u128)]).unwrap_or_default(),
        };
        Ranges::from_ranges(ids)
    }
}

/// A match that is one interval per constrained dimension, laid out flat for fast membership
/// checks (most firewall rules have this shape).
#[derive(Clone, Debug)]
pub struct FlatMatch {
    /// (dimension, lowest, highest) of each constrained dimension, most selective first. Boxed
    /// to its length: a ruleset of 100,000 rules keeps one per rule.
    dims: Box<[(u8, u128, u128)]>,
}

impl FlatMatch {
    fn from_set(set: &PacketSet) -> Option<FlatMatch> {
        let [cube] = set.cubes() else { return None };
        let mut dims = Vec::with_capacity(space::NDIMS);
        for d in Dim::ALL {
            let r = cube.get(d);
            match r.as_slice() {
                [(0, hi)] if *hi == d.max() => {}
                [(lo, hi)] => dims.push((d as u8, *lo, *hi)),
                _ => return None,
            }
        }
        // Most selective first: addresses and ports before protocol and state.
        dims.sort_by_key(|(d, lo, hi)| (std::cmp::Reverse(u8::from(*d <= 1 || *d == 4)), *hi - *lo));
        Some(FlatMatch { dims: dims.into_boxed_slice() })
    }

    /// True if the packet is in the match.
    #[inline]
    pub fn contains(&self, p: &crate::space::Packet) -> bool {
        self.dims.iter().all(|&(d, lo, hi)| {
            let v = p.v[d as usize];
            lo <= v && v <= hi
        })
    }
}

/// A rule ready for evaluation.
#[derive(Clone, Debug)]
pub struct CRule {
    /// Packets matching the modelled conditions.
    pub set: PacketSet,
    /// The same set in flat form, when it has that shape.
    pub flat: Option<FlatMatch>,
    /// Dimensions the set constrains (bit per [`Dim`]).
    pub dims: u16,
    /// Conditions that are not modelled (the rule only possibly matches).
    pub unknown: Vec<String>,
    /// The action.
    pub action: Action,
    /// Source.
    pub prov: Provenance,
}

/// A ruleset ready for evaluation.
#[derive(Clone, Debug)]
pub struct CRuleset {
    /// Name.
    pub name: String,
    /// Table label.
    pub table: String,
    /// Default for attached rulesets.
    pub default: Option<Action>,
    /// Where the default is declared.
    pub default_prov: Provenance,
    /// Rules.
    pub rules: Vec<CRule>,
}

/// A hooked ruleset.
#[derive(Clone, Copy, Debug)]
pub struct CBinding {
    /// Stage.
    pub stage: Stage,
    /// Ruleset index.
    pub ruleset: usize,
    /// Family restriction.
    pub family: Family,
}

/// A route ready for lookup.
#[derive(Clone, Debug)]
pub struct CRoute {
    /// Destination prefix (truncated).
    pub dst: IpNet,
    /// The prefix as an inclusive range of the address dimension (fast lookup).
    pub span: (u128, u128),
    /// Gateway.
    pub via: Option<IpAddr>,
    /// Output interface id.
    pub oif: Option<u16>,
    /// Kind.
    pub kind: RouteKind,
    /// Metric.
    pub metric: u32,
    /// Preferred source.
    pub src: Option<IpAddr>,
    /// Source of the route (`None` for a connected route derived from an interface address).
    pub prov: Provenance,
}

/// One device ready for evaluation.
#[derive(Clone, Debug)]
pub struct CDevice {
    /// Device name.
    pub name: String,
    /// Interface ids.
    pub ifaces: IfaceTable,
    /// True if interface data was given (otherwise interfaces are unknown).
    pub has_iface_data: bool,
    /// Own addresses with the interface holding them.
    pub addrs: Vec<(IpNet, u16)>,
    /// Connected subnets as address-dimension ranges, longest prefix first:
    /// (first, last, prefix length, interface).
    pub subnets: Vec<(u128, u128, u8, u16)>,
    /// Own addresses in the address dimension, sorted.
    pub local: Vec<u128>,
    /// Boundaries of the destination addresses this device's routing treats alike: between two
    /// consecutive boundaries, the local-delivery, broadcast and route-lookup outcome is the
    /// same for every address (see [`CDevice::route_cell`]).
    pub route_cuts: Vec<u128>,
    /// Routes ordered for lookup: longest prefix first, then lowest metric.
    pub routes: Vec<CRoute>,
    /// The route [`CDevice::lookup_idx`] finds in each cell of `route_cuts` (the addresses
    /// below the first cut, then from each cut on); empty until compiled.
    pub route_at: Vec<Option<u32>>,
    /// Rulesets (empty without a firewall).
    pub rulesets: Vec<CRuleset>,
    /// Hooked rulesets per hook, in priority order.
    pub hooks: Vec<(Hook, Vec<CBinding>)>,
    /// True if the device has packet filtering.
    pub has_firewall: bool,
    /// Tracks connections.
    pub stateful: bool,
}

impl CDevice {
    /// Hooked rulesets for one hook.
    pub fn bindings(&self, hook: Hook) -> &[CBinding] {
        self.hooks.iter().find(|(h, _)| *h == hook).map(|(_, b)| b.as_slice()).unwrap_or(&[])
    }

    /// True if `a` is one of the device's own addresses (or loopback).
    pub fn is_local(&self, a: IpAddr) -> bool {
        a.is_loopback() || self.local.binary_search(&space::addr_to_u128(a)).is_ok()
    }

    /// The device's own addresses as a set of values of the address dimension.
    pub fn local_ranges(&self) -> Ranges {
        let mut v: Vec<(u128, u128)> = self
            .addrs
            .iter()
            .map(|(n, _)| {
                let x = space::addr_to_u128(n.addr());
                (x, x)
            })
            .collect();
        for lo in ["127.0.0.0/8", "::1/128"] {
            if let Ok(n) = lo.parse::<IpNet>() {
                v.extend_from_slice(space::prefix_range(&n).as_slice());
            }
        }
        Ranges::from_ranges(v)
    }

    /// True if `a` is the broadcast address of one of the device's IPv4 subnets (prefixes up
    /// to /30), or the limited broadcast 255.255.255.255.
    pub fn is_broadcast(&self, a: IpAddr) -> bool {
        let IpAddr::V4(v4) = a else { return false };
        if v4.is_broadcast() {
            return true;
        }
        self.addrs.iter().any(|(n, _)| matches!(n, IpNet::V4(n4) if n4.prefix_len() <= 30 && n4.broadcast() == v4))
    }

    /// The broadcast addresses of the device's IPv4 subnets (prefixes up to /30), in the address
    /// dimension.
    pub fn broadcasts(&self) -> Vec<u128> {
        self.addrs
            .iter()
            .filter_map(|(n, _)| match n {
                IpNet::V4(n4) if n4.prefix_len() <= 30 => Some(space::addr_to_u128(IpAddr::V4(n4.broadcast()))),
                _ => None,
            })
            .collect()
    }

    /// The network addresses of the device's IPv4 subnets of /30 or shorter (no host holds
    /// them).
    pub fn network_addrs(&self) -> Vec<u128> {
        self.addrs
            .iter()
            .filter_map(|(n, _)| match n {
                IpNet::V4(n4) if n4.prefix_len() <= 30 => Some(space::addr_to_u128(IpAddr::V4(n4.network()))),
                _ => None,
            })
            .collect()
    }

    /// Longest-prefix-match route lookup.
    pub fn lookup(&self, dst: IpAddr) -> Option<&CRoute> {
        self.lookup_idx(dst).map(|i| &self.routes[i])
    }

    /// Index of the longest-prefix-match route (routes are sorted longest prefix first).
    pub fn lookup_idx(&self, dst: IpAddr) -> Option<usize> {
        let v = space::addr_to_u128(dst);
        if self.route_at.len() == self.route_cuts.len() + 1 {
            // Every route's span starts and ends at cuts: one route per cell.
            return self.route_at[self.route_cuts.partition_point(|&c| c <= v)].map(|i| i as usize);
        }
        self.lookup_scan(v)
    }

    /// [`CDevice::lookup_idx`] by trying the routes in order.
    pub(crate) fn lookup_scan(&self, v: u128) -> Option<usize> {
        self.routes.iter().position(|r| r.span.0 <= v && v <= r.span.1)
    }

    /// The first address of an interface in the given family.
    pub fn iface_addr(&self, id: u16, v6: bool) -> Option<IpAddr> {
        self.addrs.iter().find(|(n, i)| *i == id && n.addr().is_ipv6() == v6).map(|(n, _)| n.addr())
    }

    /// The destination addresses around `a` that this device's routing treats exactly like `a`
    /// (local delivery, broadcast, the route chosen), as an inclusive range.
    pub fn route_cell(&self, a: IpAddr) -> (u128, u128) {
        cell_of(&self.route_cuts, space::addr_to_u128(a))
    }

    /// The interface whose connected subnet holds `a`.
    pub fn connected_iface(&self, a: IpAddr) -> Option<u16> {
        let v = space::addr_to_u128(a);
        self.subnets.iter().find(|(lo, hi, _, _)| *lo <= v && v <= *hi).map(|s| s.3)
    }
}

/// Boundaries of a device's routing outcome over destination addresses: its routes' spans, its
/// connected subnets, its own and loopback addresses, and its broadcast addresses.
fn device_route_cuts(d: &CDevice) -> Vec<u128> {
    let mut v = Vec::new();
    let mut push = |lo: u128, hi: u128| {
        v.push(lo);
        if hi < u128::MAX {
            v.push(hi + 1);
        }
    };
    for r in &d.routes {
        push(r.span.0, r.span.1);
    }
    for s in &d.subnets {
        push(s.0, s.1);
    }
    for &(lo, hi) in d.local_ranges().as_slice() {
        push(lo, hi);
    }
    for b in d.broadcasts() {
        push(b, b);
    }
    let all_ones = space::addr_to_u128(IpAddr::V4(std::net::Ipv4Addr::BROADCAST));
    push(all_ones, all_ones);
    v.sort_unstable();
    v.dedup();
    v
}

/// The interval of `cuts` (sorted boundaries) holding `v`.
pub fn cell_of(cuts: &[u128], v: u128) -> (u128, u128) {
    let i = cuts.partition_point(|&c| c <= v);
    let lo = if i == 0 { 0 } else { cuts[i - 1] };
    let hi = cuts.get(i).map_or(u128::MAX, |&c| c - 1);
    (lo, hi)
}

/// One end of a link the manifest states: (device name, interface name).
pub type End = (String, String);

/// The whole network ready for evaluation.
#[derive(Clone, Debug, Default)]
pub struct CNetwork {
    /// Devices in model order, shared with the networks rebuilt from this one
    /// ([`CNetwork::rebuild`]).
    pub devices: Vec<Arc<CDevice>>,
    /// Boundaries of every address set mentioned anywhere (rules, subnets, routes).
    pub addr_cuts: Vec<u128>,
    /// Boundaries of the addresses routing, delivery and entry depend on: routes, subnets,
    /// device addresses, address families, and every known host.
    pub route_cuts: Vec<u128>,
    /// Boundaries of every ICMP type set a rule mentions: types between two of them meet the
    /// same rules alike.
    pub icmp_cuts: Vec<u128>,
    /// The device and interface owning each interface address (the first device in model
    /// order when several claim one).
    pub owners: std::collections::HashMap<u128, (usize, u16)>,
    /// Links stated in the topology manifest: (device, interface) → the other end, both ways.
    pub links: std::collections::HashMap<(usize, u16), (usize, u16)>,
    /// Boundaries around every owned interface address (each its own cell), sorted.
    pub owner_cuts: Vec<u128>,
    /// Boundaries of the destination cells a question needs even where the path records its
    /// routing: address families and every scanned host (each host its own row).
    pub dst_cuts: Vec<u128>,
    /// Which devices have a connected subnet holding an address: [`CNetwork::on_link`].
    on_link: OnLink,
    /// Every device's own addresses, sorted: [`CNetwork::is_local_anywhere`].
    locals: Vec<u128>,
    /// Every device's subnet broadcast addresses, sorted: [`CNetwork::is_broadcast_anywhere`].
    broadcasts: Vec<u128>,
    /// For each of `addr_cuts`, how many devices' rules name it, plus [`PINNED`] when
    /// something other than rules does (an address, a route, a scanned host): a cut whose count
    /// falls to zero when a device's rules change is no longer a cut. A cut without a count
    /// (cuts set from outside) counts as pinned.
    addr_refs: Vec<u32>,
    /// For each of `icmp_cuts`, how many devices' rules name it.
    icmp_refs: Vec<u32>,
}

/// The mark of a cut that something other than rules makes ([`CNetwork::addr_cuts`]).
const PINNED: u32 = 1 << 31;

/// The devices on whose connected subnets each address lies, by elementary interval of the
/// subnets' boundaries: what [`CDevice::connected_iface`] gives for every device, without
/// asking each one.
#[derive(Clone, Debug, Default)]
struct OnLink {
    /// First address of each interval, sorted.
    starts: Vec<u128>,
    /// For each interval, (device, interface) in device order.
    at: Vec<Vec<(usize, u16)>>,
}

impl OnLink {
    fn build(devices: &[Arc<CDevice>]) -> OnLink {
        let mut starts: Vec<u128> = Vec::new();
        for d in devices {
            for s in &d.subnets {
                starts.push(s.0);
                if s.1 < u128::MAX {
                    starts.push(s.1 + 1);
                }
            }
        }
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        let mut at: Vec<Vec<(usize, u16)>> = vec![Vec::new(); starts.len()];
        for (i, d) in devices.iter().enumerate() {
            // Each device's first subnet holding an address decides its interface there, as in
            // `connected_iface`: walk the subnets in the device's order and fill only the
            // intervals no earlier subnet of this device took.
            for &(lo, hi, _, iface) in &d.subnets {
                let first = starts.partition_point(|&x| x < lo);
                for cell in at.iter_mut().zip(starts.iter()).skip(first).take_while(|(_, &x)| x <= hi).map(|(c, _)| c) {
                    if cell.last().is_none_or(|&(dev, _)| dev != i) {
                        cell.push((i, iface));
                    }
                }
            }
        }
        OnLink { starts, at }
    }

    fn get(&self, v: u128) -> &[(usize, u16)] {
        match self.starts.partition_point(|&x| x <= v) {
            0 => &[],
            k => &self.at[k - 1],
        }
    }
}

impl CNetwork {
    /// Compile a network.
    pub fn build(net: &Network) -> CNetwork {
        CNetwork::assemble(net.devices.iter().map(|d| Arc::new(compile_device(d))).collect())
    }

    /// The network of compiled devices: the network-wide cuts and indexes.
    fn assemble(devices: Vec<Arc<CDevice>>) -> CNetwork {
        let mut c = CNetwork { devices, ..Default::default() };
        let (mut a, mut rc) = (Vec::new(), Vec::new());
        let push = |v: &mut Vec<u128>, r: &Ranges| {
            for &(lo, hi) in r.as_slice() {
                v.push(lo);
                v.push(hi.wrapping_add(1));
            }
        };
        let (mut ra, mut ri) = (Vec::new(), Vec::new());
        for d in &c.devices {
            let [da, di] = rule_cuts(d);
            ra.extend(da);
            ri.extend(di);
            for (n, _) in &d.addrs {
                push(&mut a, &space::prefix_range(n));
                push(&mut rc, &space::prefix_range(n));
                let x = space::addr_to_u128(n.addr());
                push(&mut a, &Ranges::single(x));
                push(&mut rc, &Ranges::single(x));
            }
            for r in &d.routes {
                push(&mut a, &space::prefix_range(&r.dst));
                push(&mut rc, &space::prefix_range(&r.dst));
            }
            push(&mut a, &d.local_ranges());
            push(&mut rc, &d.local_ranges());
            // Subnet broadcast addresses are delivered, not forwarded: their own cells.
            for (n, _) in &d.addrs {
                if let IpNet::V4(n4) = n {
                    if n4.prefix_len() <= 30 {
                        let b = Ranges::single(space::addr_to_u128(IpAddr::V4(n4.broadcast())));
                        push(&mut a, &b);
                        push(&mut rc, &b);
                    }
                }
            }
        }
        push(&mut a, &family_range(false));
        push(&mut rc, &family_range(false));
        for v in [&mut a, &mut rc] {
            v.sort_unstable();
            v.dedup();
        }
        (c.addr_cuts, c.addr_refs) = counted(&a, ra);
        (c.icmp_cuts, c.icmp_refs) = counted(&[], ri);
        for (i, d) in c.devices.iter().enumerate() {
            for (n, id) in &d.addrs {
                if !n.addr().is_loopback() {
                    c.owners.entry(space::addr_to_u128(n.addr())).or_insert((i, *id));
                }
            }
        }
        let mut oc: Vec<u128> = Vec::with_capacity(c.owners.len() * 2);
        for &x in c.owners.keys() {
            oc.push(x);
            oc.push(x.wrapping_add(1));
        }
        oc.sort_unstable();
        oc.dedup();
        c.owner_cuts = oc;
        let mut dc = Vec::new();
        for v6 in [false, true] {
            for &(lo, hi) in family_range(v6).as_slice() {
                dc.push(lo);
                dc.push(hi.wrapping_add(1));
            }
        }
        dc.sort_unstable();
        dc.dedup();
        c.dst_cuts = dc;
        c.route_cuts = rc;
        c.on_link = OnLink::build(&c.devices);
        let mut locals: Vec<u128> = c.devices.iter().flat_map(|d| d.local.iter().copied()).collect();
        locals.sort_unstable();
        locals.dedup();
        c.locals = locals;
        let mut broadcasts: Vec<u128> = c.devices.iter().flat_map(|d| d.broadcasts()).collect();
        broadcasts.sort_unstable();
        broadcasts.dedup();
        c.broadcasts = broadcasts;
        c
    }

    /// This network after the rules of the `changed` devices (indexes) changed in `net`, the
    /// network it was compiled from: only those devices are compiled again, the others are
    /// shared, and the cuts the changed rules made or unmade are counted in or out. Everything
    /// is as [`CNetwork::build`] of `net` followed by what was added to this network since
    /// ([`CNetwork::add_addr_cuts`], [`CNetwork::add_links`]) would make it. `None` when
    /// more than rules changed: other devices, or a changed device's name, interfaces,
    /// addresses or routes (everything else here depends on them).
    pub fn rebuild(&self, net: &Network, changed: &[usize]) -> Option<CNetwork> {
        if net.devices.len() != self.devices.len() || net.devices.iter().zip(&self.devices).any(|(d, c)| d.name != c.name) {
            return None;
        }
        let mut c = self.clone();
        for &i in changed {
            let old = self.devices.get(i)?;
            let new = compile_device(&net.devices[i]);
            if !same_place(old, &new) {
                return None;
            }
            let ([oa, oi], [na, ni]) = (rule_cuts(old), rule_cuts(&new));
            (c.addr_cuts, c.addr_refs) = recount(&c.addr_cuts, &c.addr_refs, &oa, &na);
            (c.icmp_cuts, c.icmp_refs) = recount(&c.icmp_cuts, &c.icmp_refs, &oi, &ni);
            c.devices[i] = Arc::new(new);
        }
        Some(c)
    }

    /// Whether some device holds the address as its own: `CDevice::is_local` of any device,
    /// without asking each one.
    pub fn is_local_anywhere(&self, a: IpAddr) -> bool {
        a.is_loopback() || self.locals.binary_search(&space::addr_to_u128(a)).is_ok()
    }

    /// Whether the address is a broadcast address to some device: `CDevice::is_broadcast` of
    /// any device, without asking each one.
    pub fn is_broadcast_anywhere(&self, a: IpAddr) -> bool {
        match a {
            IpAddr::V4(v4) => v4.is_broadcast() || self.broadcasts.binary_search(&space::addr_to_u128(a)).is_ok(),
            IpAddr::V6(_) => false,
        }
    }

    /// The devices with a connected subnet holding `a`, each with that subnet's interface, in
    /// device order (as [`CDevice::connected_iface`] answers for each device).
    pub fn on_link(&self, a: IpAddr) -> &[(usize, u16)] {
        self.on_link.get(space::addr_to_u128(a))
    }

    /// Join interfaces by the manifest's links (`[fw1:eth1, r1:ge-0/0/1]`): a packet sent out
    /// of one end towards a next hop no modelled device owns arrives at the other end. Returns
    /// the ends that name no modelled device or interface, as `device:interface`.
    pub fn add_links(&mut self, links: &[(End, End)]) -> Vec<String> {
        let mut unknown = Vec::new();
        for ((da, ia), (db, ib)) in links {
            let mut end = |d: &str, i: &str| {
                let found = self.devices.iter().position(|x| x.name == d).and_then(|k| self.devices[k].ifaces.id(i).map(|id| (k, id)));
                if found.is_none() {
                    unknown.push(format!("{d}:{i}"));
                }
                found
            };
            if let (Some(a), Some(b)) = (end(da, ia), end(db, ib)) {
                self.links.insert(a, b);
                self.links.insert(b, a);
            }
        }
        unknown
    }

    /// Add single addresses to the address cut points (each becomes its own class).
    pub fn add_addr_cuts(&mut self, addrs: impl Iterator<Item = u128>) {
        let mut pinned = Vec::new();
        for a in addrs {
            pinned.push(a);
            pinned.push(a.wrapping_add(1));
            self.route_cuts.push(a);
            self.route_cuts.push(a.wrapping_add(1));
            self.dst_cuts.push(a);
            self.dst_cuts.push(a.wrapping_add(1));
        }
        for v in [&mut pinned, &mut self.route_cuts, &mut self.dst_cuts] {
            v.sort_unstable();
            v.dedup();
        }
        let pins: Vec<(u128, i64, bool)> = pinned.iter().map(|&v| (v, 0, true)).collect();
        let (cuts, refs) = merged_counts(&self.addr_cuts, &self.addr_refs, &pins);
        self.addr_cuts = cuts;
        self.addr_refs = refs;
    }

    /// The device with this name.
    pub fn device(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }
}

#[cfg(test)]
impl CNetwork {
    /// Whether two compiled networks are the same: every cut, index and count, and every device
    /// compiled alike.
    pub(super) fn same_as(a: &CNetwork, b: &CNetwork) -> Result<(), String> {
        let fields: [(&str, &Vec<u128>, &Vec<u128>); 7] = [
            ("addr_cuts", &a.addr_cuts, &b.addr_cuts),
            ("route_cuts", &a.route_cuts, &b.route_cuts),
            ("icmp_cuts", &a.icmp_cuts, &b.icmp_cuts),
            ("owner_cuts", &a.owner_cuts, &b.owner_cuts),
            ("dst_cuts", &a.dst_cuts, &b.dst_cuts),
            ("locals", &a.locals, &b.locals),
            ("broadcasts", &a.broadcasts, &b.broadcasts),
        ];
        for (name, x, y) in fields {
            if x != y {
                return Err(format!("{name} differ: {} against {} cuts", x.len(), y.len()));
            }
        }
        if a.addr_refs != b.addr_refs || a.icmp_refs != b.icmp_refs {
            return Err("the cuts' counts differ".into());
        }
        if a.owners != b.owners || a.links != b.links || format!("{:?}", a.on_link) != format!("{:?}", b.on_link) {
            return Err("owners, links or the on-link index differ".into());
        }
        if a.devices.len() != b.devices.len() {
            return Err("the device counts differ".into());
        }
        for (x, y) in a.devices.iter().zip(&b.devices) {
            if format!("{x:?}") != format!("{y:?}") {
                return Err(format!("device {} compiled differently", x.name));
            }
        }
        Ok(())
    }
}

/// The boundaries of the address sets and of the ICMP type sets a device's rules name, each
/// sorted and once.
fn rule_cuts(d: &CDevice) -> [Vec<u128>; 2] {
    let (mut a, mut ic) = (Vec::new(), Vec::new());
    let push = |v: &mut Vec<u128>, r: &Ranges| {
        for &(lo, hi) in r.as_slice() {
            v.push(lo);
            v.push(hi.wrapping_add(1));
        }
    };
    for rs in &d.rulesets {
        for r in &rs.rules {
            for cube in r.set.cubes() {
                push(&mut a, cube.get(Dim::Src));
                push(&mut a, cube.get(Dim::Dst));
                push(&mut ic, cube.get(Dim::IcmpType));
            }
        }
    }
    for v in [&mut a, &mut ic] {
        v.sort_unstable();
        v.dedup();
    }
    [a, ic]
}

/// Cuts with their counts ([`CNetwork::addr_refs`]): those `pinned` (sorted, once), and
/// those `named` (by each device once, in any order).
fn counted(pinned: &[u128], named: Vec<u128>) -> (Vec<u128>, Vec<u32>) {
    let mut changes: Vec<(u128, i64, bool)> = pinned.iter().map(|&v| (v, 0, true)).chain(named.into_iter().map(|v| (v, 1, false))).collect();
    changes.sort_unstable_by_key(|c| c.0);
    merged_counts(&[], &[], &changes)
}

/// `cuts` with their counts after one device's rules that named `old` (sorted, once) name
/// `new` instead: what no one names any more is no longer a cut.
fn recount(cuts: &[u128], refs: &[u32], old: &[u128], new: &[u128]) -> (Vec<u128>, Vec<u32>) {
    let mut changes: Vec<(u128, i64, bool)> = old.iter().map(|&v| (v, -1, false)).chain(new.iter().map(|&v| (v, 1, false))).collect();
    changes.sort_unstable_by_key(|c| c.0);
    merged_counts(cuts, refs, &changes)
}

/// `cuts` with their counts after `changes` (sorted by cut): each adds to its cut's count, or
/// pins it ([`PINNED`]). A cut named for the first time is added; one counted down to nothing is
/// removed. A cut without a count counts as pinned.
fn merged_counts(cuts: &[u128], refs: &[u32], changes: &[(u128, i64, bool)]) -> (Vec<u128>, Vec<u32>) {
    let mut out = Vec::with_capacity(cuts.len() + changes.len());
    let mut out_refs = Vec::with_capacity(out.capacity());
    let (mut i, mut k) = (0, 0);
    loop {
        let v = match (cuts.get(i), changes.get(k)) {
            (Some(&x), Some(&(y, _, _))) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&(y, _, _))) => y,
            (None, None) => break,
        };
        let (mut r, mut pin) = (0i64, false);
        let present = cuts.get(i) == Some(&v);
        if present {
            let c = refs.get(i).copied().unwrap_or(PINNED);
            (r, pin) = ((c & !PINNED) as i64, c & PINNED != 0);
            i += 1;
        }
        while let Some(&(_, d, p)) = changes.get(k).filter(|c| c.0 == v) {
            r += d;
            pin |= p;
            k += 1;
        }
        // (A cut counted out that is not there: cuts set from outside, left as they are.)
        debug_assert!(r >= 0 || !present, "a cut counted out more often than in");
        if r > 0 || pin {
            out.push(v);
            out_refs.push(r.max(0) as u32 | if pin { PINNED } else { 0 });
        }
    }
    (out, out_refs)
}

/// Whether two compilations of a device agree on everything the network-wide cuts and indexes
/// of [`CNetwork`] read: its name, interfaces, addresses and routes.
pub(crate) fn same_place(a: &CDevice, b: &CDevice) -> bool {
    a.name == b.name
        && a.ifaces == b.ifaces
        && a.has_iface_data == b.has_iface_data
        && a.addrs == b.addrs
        && a.subnets == b.subnets
        && a.local == b.local
        && a.routes.len() == b.routes.len()
        && a.routes.iter().zip(&b.routes).all(|(x, y)| x.dst == y.dst)
}

fn compile_device(dev: &Device) -> CDevice {
    let ifaces = IfaceTable::build(dev);
    let mut addrs = Vec::new();
    for itf in &dev.interfaces {
        let Some(id) = ifaces.id(&itf.name) else { continue };
        for a in &itf.addresses {
            addrs.push((*a, id));
        }
    }
    let mut routes: Vec<CRoute> = Vec::new();
    for r in &dev.routes {
        routes.push(compile_route(r, &ifaces));
    }
    // Connected routes: the kernel adds one per interface address; dumps usually list them, but
    // only add those missing.
    for itf in &dev.interfaces {
        if !itf.up {
            continue;
        }
        let Some(id) = ifaces.id(&itf.name) else { continue };
        for a in &itf.addresses {
            let net = a.trunc();
            let present = routes.iter().any(|r| r.dst == net && r.oif == Some(id));
            if !present && !net.addr().is_loopback() {
                let span = space::prefix_range(&net).as_slice().first().copied().unwrap_or((0, 0));
                routes.push(CRoute {
                    dst: net,
                    span,
                    via: None,
                    oif: Some(id),
                    kind: RouteKind::Unicast,
                    metric: 0,
                    src: Some(a.addr()),
                    prov: itf.prov.clone(),
                });
            }
        }
    }
    routes.sort_by(|a, b| b.dst.prefix_len().cmp(&a.dst.prefix_len()).then(a.metric.cmp(&b.metric)));
    let mut subnets: Vec<(u128, u128, u8, u16)> = addrs
        .iter()
        .map(|(n, i)| {
            let r = space::prefix_range(n);
            let (lo, hi) = r.as_slice().first().copied().unwrap_or((0, 0));
            (lo, hi, n.prefix_len(), *i)
        })
        .collect();
    subnets.sort_by_key(|s| std::cmp::Reverse(s.2));
    let mut local: Vec<u128> = addrs.iter().map(|(n, _)| space::addr_to_u128(n.addr())).collect();
    local.sort_unstable();
    let mut c = CDevice {
        name: dev.name.clone(),
        has_iface_data: !dev.interfaces.is_empty(),
        ifaces,
        addrs,
        subnets,
        local,
        route_cuts: Vec::new(),
        routes,
        route_at: Vec::new(),
        rulesets: Vec::new(),
        hooks: Vec::new(),
        has_firewall: dev.firewall.is_some(),
        stateful: dev.firewall.as_ref().is_some_and(|f| f.stateful),
    };
    c.route_cuts = device_route_cuts(&c);
    c.route_at = std::iter::once(0).chain(c.route_cuts.iter().copied()).map(|v| c.lookup_scan(v).map(|i| i as u32)).collect();
    if let Some(fw) = &dev.firewall {
        let local = c.local_ranges();
        let has_iface_data = c.has_iface_data;
        c.rulesets = fw.rulesets.iter().map(|rs| compile_ruleset(rs, &c.ifaces, &local, has_iface_data)).collect();
        for hook in [Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting] {
            let mut b: Vec<(i32, usize, CBinding)> = fw
                .hooks
                .iter()
                .enumerate()
                .filter(|(_, h)| h.hook == hook && h.ruleset < fw.rulesets.len())
                .map(|(i, h)| (h.priority, i, CBinding { stage: h.stage, ruleset: h.ruleset, family: h.family }))
                .collect();
            b.sort_by_key(|(p, i, _)| (*p, *i));
            c.hooks.push((hook, b.into_iter().map(|(_, _, b)| b).collect()));
        }
    }
    c
}

fn compile_route(r: &Route, ifaces: &IfaceTable) -> CRoute {
    let dst = r.dst.trunc();
    let span = space::prefix_range(&dst).as_slice().first().copied().unwrap_or((0, 0));
    CRoute {
        dst,
        span,
        via: r.via,
        oif: r.dev.as_deref().and_then(|d| ifaces.id(d)),
        kind: r.kind,
        metric: r.metric,
        src: r.src,
        prov: r.prov.clone(),
    }
}

fn compile_ruleset(rs: &Ruleset, ifaces: &IfaceTable, local: &Ranges, has_iface_data: bool) -> CRuleset {
    let fam = match rs.family {
        Family::V4 => Some(family_range(false)),
        Family::V6 => Some(family_range(true)),
        Family::Any => None,
    };
    let rules = rs
        .rules
        .iter()
        .map(|r| {
            let mut unknown = r.unknown.clone();
            let mut cube = Cube::full();
            if let Some(f) = &fam {
                cube.restrict(Dim::Src, f);
                cube.restrict(Dim::Dst, f);
            }
            let mut set = PacketSet::from_cube(cube);
            for c in &r.conds {
                if matches!(c.test, Test::DstLocal | Test::SrcLocal) && !has_iface_data {
                    unknown.push("address type LOCAL (the device's own addresses are unknown without an interface dump)".into());
                    continue;
                }
                set = set.intersect(&cond_set(c, ifaces, local));
            }
            // Kept for the life of the network: no room for growth (a ruleset of 100,000 rules
            // holds one set per rule).
            set.shrink_to_fit();
            let flat = FlatMatch::from_set(&set);
            let dims = set
                .cubes()
                .iter()
                .fold(0u16, |m, c| Dim::ALL.iter().filter(|d| c.is_constrained(**d)).fold(m, |m, d| m | (1 << *d as usize)));
            CRule { set, flat, dims, unknown, action: r.action.clone(), prov: r.prov.clone() }
        })
        .collect();
    CRuleset {
        name: rs.name.clone(),
        table: rs.table.clone(),
        default: rs.default.clone(),
        default_prov: rs.default_prov.clone(),
        rules,
    }
}

fn addr_ranges(v: &[crate::model::AddrRange]) -> Ranges {
    Ranges::from_ranges(v.iter().map(|r| (space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))).collect())
}

fn port_ranges(v: &[(u16, u16)]) -> Ranges {
    Ranges::from_ranges(v.iter().map(|&(a, b)| (a as u128, b as u128)).collect())
}

/// The packets satisfying one condition.
pub fn cond_set(c: &Cond, ifaces: &IfaceTable, local: &Ranges) -> PacketSet {
    let mut cube = Cube::full();
    match &c.test {
        Test::Src(v) => cube.set(Dim::Src, addr_ranges(v)),
        Test::Dst(v) => cube.set(Dim::Dst, addr_ranges(v)),
        Test::Proto(v) => cube.set(Dim::Proto, Ranges::from_ranges(v.iter().map(|&p| (p as u128, p as u128)).collect())),
        Test::Sport(v) => cube.set(Dim::Sport, port_ranges(v)),
        Test::Dport(v) => cube.set(Dim::Dport, port_ranges(v)),
        Test::Icmp { ty, code } => {
            if let Some(t) = ty {
                cube.set(Dim::IcmpType, Ranges::single(*t as u128));
            }
            if let Some((a, b)) = code {
                cube.set(Dim::IcmpCode, Ranges::range(*a as u128, *b as u128));
            }
        }
        Test::TcpFlags { mask, comp } => {
            let vals: Vec<(u128, u128)> =
                (0u16..=255).filter(|v| (*v as u8) & mask == *comp).map(|v| (v as u128, v as u128)).collect();
            cube.set(Dim::TcpFlags, Ranges::from_ranges(vals));
        }
        Test::CtState(states) => {
            let r = states.iter().fold(Ranges::empty(), |acc, s| acc.union(&space::Ct::with_base(*s)));
            cube.set(Dim::Ct, r);
        }
        Test::CtStatus(bits) => {
            let vals: Vec<(u128, u128)> = (0..=space::Ct::MAX)
                .filter(|v| v & bits != 0)
                .map(|v| (v as u128, v as u128))
                .collect();
            cube.set(Dim::Ct, Ranges::from_ranges(vals));
        }
        Test::InIface(p) => cube.set(Dim::Iif, ifaces.matching(p)),
        Test::OutIface(p) => cube.set(Dim::Oif, ifaces.matching(p)),
        Test::DstLocal => cube.set(Dim::Dst, local.clone()),
        Test::SrcLocal => cube.set(Dim::Src, local.clone()),
    }
    let pos = PacketSet::from_cube(cube);
    if c.negated {
        PacketSet::full().difference(&pos)
    } else {
        pos
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::model::Interface;

    fn dev_with(names: &[&str], patterns: &[&str]) -> Device {
        let mut d = Device { name: "d".into(), ..Default::default() };
        for n in names {
            d.interfaces.push(Interface::new(n.to_string(), Provenance::builtin("")));
        }
        let rules = patterns
            .iter()
            .map(|p| crate::model::Rule {
                conds: vec![Cond::is(Test::InIface(p.to_string()))],
                unknown: vec![],
                action: Action::Accept,
                prov: Provenance::builtin(""),
            })
            .collect();
        d.firewall = Some(Arc::new(crate::model::Firewall {
            rulesets: vec![Ruleset {
                name: "INPUT".into(),
                table: "filter".into(),
                family: Family::V4,
                default: Some(Action::Drop),
                default_prov: Provenance::builtin(""),
                rules,
            }],
            hooks: vec![],
            stateful: true,
        }));
        d
    }

    #[test]
    fn wildcards_cover_prefix_and_representatives() {
        let t = IfaceTable::build(&dev_with(&["eth0", "eth1", "wlan0"], &["eth+", "ppp0"]));
        let m = t.matching("eth+");
        let names: Vec<String> = t.all().into_iter().filter(|i| m.contains(*i as u128)).map(|i| t.name(i)).collect();
        assert_eq!(names, vec!["eth0", "eth1", "eth*"]);
        assert!(t.matching("+").count() as usize == t.all().len());
        let other = t.id(OTHER_IFACE).unwrap();
        assert!(!m.contains(other as u128));
        assert_eq!(t.matching("ppp0").count(), 1);
        assert!(t.matching("nosuch").is_empty());
    }
}
