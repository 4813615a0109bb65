//! The layer-3 topology: which device interfaces are neighbours.
//!
//! Interfaces of two devices are neighbours when each one's address lies in the other's subnet
//! (as Batfish infers layer-3 edges), both are up, and their addresses differ. The manifest's
//! `links` add neighbours the addresses cannot show (unnumbered links, devices whose interface
//! addresses are not among the inputs). The engine follows next hops by address and, where no
//! device owns a next hop, by these links; this module lists the same facts for reports and the
//! page's map.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::Serialize;

use crate::manifest::Manifest;
use crate::workspace::Network;

/// Above this many interfaces in one subnet, its neighbours are not listed pair by pair (a LAN
/// of hosts would give a quadratic list): the subnet is reported once instead.
pub const MAX_PAIRWISE_SUBNET: usize = 64;

/// One end of a link.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct End {
    /// Device name.
    pub device: String,
    /// Interface name.
    pub interface: String,
}

/// Two neighbouring interfaces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// One end (the smaller of the two, by device then interface name).
    pub a: End,
    /// The other end.
    pub b: End,
    /// The subnet they share (`None` for a manifest link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Where the link comes from: `subnet` (inferred from addresses) or `manifest`.
    pub source: &'static str,
}

/// A subnet with too many interfaces to list pairwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The subnet.
    pub subnet: String,
    /// Every interface on it.
    pub members: Vec<End>,
}

/// The layer-3 topology of a network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// Neighbouring interfaces, sorted.
    pub links: Vec<Link>,
    /// Subnets with more than [`MAX_PAIRWISE_SUBNET`] interfaces, listed once each.
    pub segments: Vec<Segment>,
}

/// The topology of `net`, with the manifest's links.
pub fn infer(net: &Network, manifest: Option<&Manifest>) -> Topology {
    // Interfaces by the subnet of each of their addresses.
    let mut by_subnet: BTreeMap<IpNet, Vec<(End, IpNet)>> = BTreeMap::new();
    for d in &net.devices {
        for itf in d.interfaces.iter().filter(|i| i.up) {
            for a in &itf.addresses {
                let host_route = a.prefix_len() == a.max_prefix_len();
                if a.addr().is_loopback() || host_route || is_link_local(a) {
                    continue;
                }
                let end = End { device: d.name.clone(), interface: itf.name.clone() };
                by_subnet.entry(a.trunc()).or_default().push((end, *a));
            }
        }
    }
    let mut links: BTreeSet<Link> = BTreeSet::new();
    let mut segments = Vec::new();
    for (subnet, members) in &by_subnet {
        let devices: BTreeSet<&str> = members.iter().map(|(e, _)| e.device.as_str()).collect();
        if devices.len() < 2 {
            continue;
        }
        if members.len() > MAX_PAIRWISE_SUBNET {
            let mut m: Vec<End> = members.iter().map(|(e, _)| e.clone()).collect();
            m.sort();
            m.dedup();
            segments.push(Segment { subnet: subnet.to_string(), members: m });
            continue;
        }
        for (i, (e1, a1)) in members.iter().enumerate() {
            for (e2, a2) in members.iter().skip(i + 1) {
                if e1.device == e2.device || a1.addr() == a2.addr() {
                    continue;
                }
                let (a, b) = if e1 <= e2 { (e1.clone(), e2.clone()) } else { (e2.clone(), e1.clone()) };
                links.insert(Link { a, b, subnet: Some(subnet.to_string()), source: "subnet" });
            }
        }
    }
    if let Some(m) = manifest {
        for (x, y) in &m.links {
            let e1 = End { device: x.device.clone(), interface: x.interface.clone() };
            let e2 = End { device: y.device.clone(), interface: y.interface.clone() };
            let (a, b) = if e1 <= e2 { (e1, e2) } else { (e2, e1) };
            if !links.iter().any(|l| l.a == a && l.b == b) {
                links.insert(Link { a, b, subnet: None, source: "manifest" });
            }
        }
    }
    Topology { links: links.into_iter().collect(), segments }
}

fn is_link_local(n: &IpNet) -> bool {
    match n {
        IpNet::V4(v) => v.addr().is_link_local(),
        IpNet::V6(v) => (v.addr().segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Provenance;
    use crate::model::{Device, Interface};

    fn dev(name: &str, ifs: &[(&str, &str)]) -> Device {
        let mut d = Device { name: name.into(), ..Default::default() };
        for (n, a) in ifs {
            d.interfaces.push(Interface { addresses: vec![a.parse().unwrap()], ..Interface::new(*n, Provenance::builtin("")) });
        }
        d
    }

    #[test]
    fn neighbours_share_a_subnet() {
        let mut down = dev("r3", &[("g0", "10.0.0.3/24")]);
        down.interfaces[0].up = false;
        let net = Network {
            devices: vec![
                dev("r1", &[("g0", "10.0.0.1/24"), ("g1", "192.0.2.1/30"), ("lo0", "1.1.1.1/32")]),
                dev("r2", &[("g0", "10.0.0.2/24"), ("g1", "192.0.2.2/30"), ("lo0", "1.1.1.2/32")]),
                down,
                dev("h", &[("eth0", "10.0.1.5/24")]),
            ],
        };
        let t = infer(&net, None);
        let pairs: Vec<String> =
            t.links.iter().map(|l| format!("{}:{}-{}:{} {}", l.a.device, l.a.interface, l.b.device, l.b.interface, l.subnet.clone().unwrap_or_default())).collect();
        assert_eq!(pairs, ["r1:g0-r2:g0 10.0.0.0/24", "r1:g1-r2:g1 192.0.2.0/30"]);
        assert!(t.segments.is_empty());
    }

    #[test]
    fn large_subnets_are_listed_once() {
        let devices = (0..=MAX_PAIRWISE_SUBNET).map(|i| dev(&format!("h{i}"), &[("eth0", &format!("10.9.0.{}/24", i + 1))])).collect();
        let t = infer(&Network { devices }, None);
        assert!(t.links.is_empty());
        assert_eq!(t.segments.len(), 1);
        assert_eq!(t.segments[0].members.len(), MAX_PAIRWISE_SUBNET + 1);
    }
}
