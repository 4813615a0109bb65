//! Which source addresses may arrive on which interface, and which interface a destination
//! leaves by: how the service matrix resolves interface matches.
//!
//! The assignment comes, in this order of preference, from
//! 1. `ipassmt` files among the inputs (the device's own, or the only one given);
//! 2. the manifest's zones that list interfaces of the device (`interfaces: [fw1:eth1]`);
//! 3. the device's interface and route dumps: an address the routing table sends out of an
//!    interface is taken to arrive only there (strict reverse-path filtering);
//! 4. nothing: every address may arrive on every interface.
//!
//! Addresses an assignment does not cover arrive on "an interface the rules do not name" (the
//! engine's id for unknown interfaces): they are not dropped silently, and rules without
//! interface matches still apply to them, as in the original analysis.
//!
//! The output interface of a forwarded packet is the routing table's decision where the device
//! has one (route dumps, or the connected subnets of its interface dump); where it has none it
//! is not known, and the matrix's lower bound requires every candidate interface to let the
//! connection out.

use std::net::IpAddr;

use crate::model::RouteKind;
use crate::reach::CDevice;
use crate::space::{self, Ranges};
use crate::Workspace;

/// Where the assignment came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `ipassmt` files (paths).
    Files(Vec<String>),
    /// The manifest's zones (file).
    Manifest(String),
    /// The device's interface and route dumps.
    Routing,
    /// None given.
    None,
}

/// One interface's assigned addresses.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Interface name.
    pub name: String,
    /// Addresses (both families).
    pub addrs: Ranges,
    /// Where it was stated (`file:line`), if anywhere.
    pub at: Option<String>,
}

/// The assignment chosen for one device.
#[derive(Clone, Debug)]
pub struct Assignment {
    /// Where it came from.
    pub source: Source,
    /// Per interface (empty for [`Source::Routing`] and [`Source::None`]).
    pub entries: Vec<Entry>,
}

/// Find the assignment for a device (see the module documentation). Errors when several
/// `ipassmt` files could apply and none is in the device's own group.
pub fn find(ws: &Workspace, device: &str, cdev: &CDevice) -> Result<Assignment, String> {
    let files: Vec<&crate::LoadedFile> =
        ws.files.iter().filter(|f| f.parsed.format == crate::parse::Format::IpAssmt).collect();
    let own: Vec<&crate::LoadedFile> = files.iter().copied().filter(|f| f.device.as_deref() == Some(device)).collect();
    let chosen: Vec<&crate::LoadedFile> = if !own.is_empty() {
        own
    } else if files.len() == 1 {
        files
    } else if files.len() > 1 {
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        return Err(format!(
            "several interface assignments ({}) and none belongs to device {device}: give only one, or put it beside the device's rules",
            names.join(", ")
        ));
    } else {
        Vec::new()
    };
    if !chosen.is_empty() {
        let mut entries: Vec<Entry> = Vec::new();
        for f in &chosen {
            for a in &f.parsed.content.assignments {
                if entries.iter().any(|e| e.name == a.iface) {
                    continue;
                }
                let addrs = Ranges::from_ranges(
                    a.addresses.iter().map(|r| (space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))).collect(),
                );
                entries.push(Entry { name: a.iface.clone(), addrs, at: Some(format!("{}:{}", a.prov.file, a.prov.line)) });
            }
        }
        return Ok(Assignment { source: Source::Files(chosen.iter().map(|f| f.path.clone()).collect()), entries });
    }
    if let Some(m) = &ws.manifest {
        let mut entries: Vec<Entry> = Vec::new();
        for (zone, z) in &m.zones {
            for i in z.interfaces.iter().filter(|i| i.device == device) {
                let addrs = Ranges::from_ranges(
                    z.addresses
                        .iter()
                        .map(|b| {
                            let r = b.range();
                            (space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))
                        })
                        .collect(),
                );
                match entries.iter_mut().find(|e| e.name == i.interface) {
                    Some(e) => e.addrs = e.addrs.union(&addrs),
                    None => entries.push(Entry {
                        name: i.interface.clone(),
                        addrs,
                        at: Some(format!("{}:{} (zone {zone})", m.file, i.line)),
                    }),
                }
            }
        }
        if !entries.is_empty() {
            return Ok(Assignment { source: Source::Manifest(m.file.clone()), entries });
        }
    }
    if cdev.has_iface_data {
        return Ok(Assignment { source: Source::Routing, entries: Vec::new() });
    }
    Ok(Assignment { source: Source::None, entries: Vec::new() })
}

/// Where the routing table sends a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Out {
    /// Delivered to the device itself (its addresses, broadcasts, local routes).
    Local,
    /// Out of this interface.
    Iface(u16),
    /// Discarded (blackhole, unreachable, prohibit; no route when a route dump was given).
    Dropped,
    /// Not known (no route in an interface-only dump, a gateway on no connected subnet).
    Unknown,
}

/// The routing decision for one destination (as the engine makes it).
pub fn route_out(dev: &CDevice, a: IpAddr, have_routes: bool) -> Out {
    if dev.is_local(a) || dev.is_broadcast(a) {
        return Out::Local;
    }
    let Some(idx) = dev.lookup_idx(a) else {
        return if have_routes { Out::Dropped } else { Out::Unknown };
    };
    let Some(r) = dev.routes.get(idx) else { return Out::Unknown };
    match r.kind {
        RouteKind::Unicast => r.oif.or_else(|| r.via.and_then(|g| dev.connected_iface(g))).map_or(Out::Unknown, Out::Iface),
        RouteKind::Local => Out::Local,
        RouteKind::Blackhole | RouteKind::Unreachable | RouteKind::Prohibit => Out::Dropped,
        RouteKind::Other => Out::Unknown,
    }
}

/// The routing decision over a whole family: cells of destinations with their outcome.
pub fn route_cells(dev: &CDevice, fam: &Ranges, have_routes: bool) -> Vec<(Ranges, Out)> {
    let mut out: Vec<(Vec<(u128, u128)>, Out)> = Vec::new();
    for &(lo, hi) in fam.as_slice() {
        let mut cur = lo;
        loop {
            let i = dev.route_cuts.partition_point(|&c| c <= cur);
            let cell_hi = dev.route_cuts.get(i).map_or(u128::MAX, |&c| c - 1);
            let end = cell_hi.min(hi);
            let o = route_out(dev, space::u128_to_addr(cur), have_routes);
            match out.iter_mut().find(|(_, x)| *x == o) {
                Some((r, _)) => r.push((cur, end)),
                None => out.push((vec![(cur, end)], o)),
            }
            if end >= hi {
                break;
            }
            cur = end + 1;
        }
    }
    out.into_iter().map(|(r, o)| (Ranges::from_ranges(r), o)).collect()
}
