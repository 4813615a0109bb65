//! FortiOS firewall objects: addresses, address groups, services, service groups, VIPs and IP
//! pools, resolved into address ranges and protocol/port matches.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::model::AddrRange;
use crate::space::{self, Ranges};

/// A protocol/port match of one service entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SvcMatch {
    /// IP protocol; `None` matches every protocol.
    pub proto: Option<u8>,
    /// Destination port ranges (empty: any).
    pub dports: Vec<(u16, u16)>,
    /// Source port ranges (empty: any).
    pub sports: Vec<(u16, u16)>,
    /// ICMP type and code range (for ICMP/ICMPv6; `None`: any).
    pub icmp_type: Option<u8>,
    /// ICMP code range.
    pub icmp_code: Option<(u8, u8)>,
}

impl SvcMatch {
    /// A match of one protocol, any port.
    pub fn proto(p: u8) -> Self {
        SvcMatch { proto: Some(p), dports: Vec::new(), sports: Vec::new(), icmp_type: None, icmp_code: None }
    }

    /// Every packet.
    pub fn any() -> Self {
        SvcMatch { proto: None, dports: Vec::new(), sports: Vec::new(), icmp_type: None, icmp_code: None }
    }

    fn ports(p: u8, dst: (u16, u16), src: Option<(u16, u16)>) -> Self {
        SvcMatch { proto: Some(p), dports: vec![dst], sports: src.into_iter().collect(), icmp_type: None, icmp_code: None }
    }
}

/// Protocol numbers.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;
/// SCTP.
pub const SCTP: u8 = 132;
/// ICMP.
pub const ICMP: u8 = 1;
/// ICMPv6.
pub const ICMP6: u8 = 58;

/// (protocol, first port, last port) of a predefined service entry.
pub type PortRange = (u8, u16, u16);

/// FortiOS predefined services, used when a policy names one that the file does not define.
/// Full configurations (`show full-configuration`, backups) list them in `config firewall
/// service custom`, and those definitions win. The values are those of the factory-default
/// FortiOS 7.x configuration (FortiOS Administration Guide, "Predefined services"; the same
/// entries appear in every FortiOS backup's `config firewall service custom`).
pub const PREDEFINED_SERVICES: &[(&str, &[PortRange])] = &[
    // (name, [(protocol, first port, last port)]); protocol 0 = every protocol, ports 0-0 =
    // any port (or any ICMP type for ICMP).
    ("ALL", &[(0, 0, 0)]),
    ("ALL_TCP", &[(TCP, 1, 65535)]),
    ("ALL_UDP", &[(UDP, 1, 65535)]),
    ("ALL_ICMP", &[(ICMP, 0, 0)]),
    ("ALL_ICMP6", &[(ICMP6, 0, 0)]),
    ("GRE", &[(47, 0, 0)]),
    ("AH", &[(51, 0, 0)]),
    ("ESP", &[(50, 0, 0)]),
    ("OSPF", &[(89, 0, 0)]),
    ("AOL", &[(TCP, 5190, 5194)]),
    ("BGP", &[(TCP, 179, 179)]),
    ("DHCP", &[(UDP, 67, 68)]),
    ("DHCP6", &[(UDP, 546, 547)]),
    ("DNS", &[(TCP, 53, 53), (UDP, 53, 53)]),
    ("FINGER", &[(TCP, 79, 79)]),
    ("FTP", &[(TCP, 21, 21)]),
    ("FTP_GET", &[(TCP, 21, 21)]),
    ("FTP_PUT", &[(TCP, 21, 21)]),
    ("GOPHER", &[(TCP, 70, 70)]),
    ("H323", &[(TCP, 1720, 1720), (TCP, 1503, 1503), (UDP, 1719, 1719)]),
    ("HTTP", &[(TCP, 80, 80)]),
    ("HTTPS", &[(TCP, 443, 443)]),
    ("IKE", &[(UDP, 500, 500), (UDP, 4500, 4500)]),
    ("IMAP", &[(TCP, 143, 143)]),
    ("IMAPS", &[(TCP, 993, 993)]),
    ("IRC", &[(TCP, 6660, 6669)]),
    ("KERBEROS", &[(TCP, 88, 88), (TCP, 464, 464), (UDP, 88, 88), (UDP, 464, 464)]),
    ("L2TP", &[(TCP, 1701, 1701), (UDP, 1701, 1701)]),
    ("LDAP", &[(TCP, 389, 389)]),
    ("LDAP_UDP", &[(UDP, 389, 389)]),
    ("MS-SQL", &[(TCP, 1433, 1434)]),
    ("MYSQL", &[(TCP, 3306, 3306)]),
    ("NFS", &[(TCP, 111, 111), (TCP, 2049, 2049), (UDP, 111, 111), (UDP, 2049, 2049)]),
    ("NNTP", &[(TCP, 119, 119)]),
    ("NTP", &[(TCP, 123, 123), (UDP, 123, 123)]),
    ("PING", &[(ICMP, 8, 8)]),
    ("PING6", &[(ICMP6, 128, 128)]),
    ("POP3", &[(TCP, 110, 110)]),
    ("POP3S", &[(TCP, 995, 995)]),
    ("PPTP", &[(TCP, 1723, 1723)]),
    ("RADIUS", &[(UDP, 1812, 1813)]),
    ("RDP", &[(TCP, 3389, 3389)]),
    ("RIP", &[(UDP, 520, 520)]),
    ("SAMBA", &[(TCP, 139, 139)]),
    ("SMB", &[(TCP, 445, 445)]),
    ("SMTP", &[(TCP, 25, 25)]),
    ("SMTPS", &[(TCP, 465, 465)]),
    ("SNMP", &[(TCP, 161, 162), (UDP, 161, 162)]),
    ("SSH", &[(TCP, 22, 22)]),
    ("SYSLOG", &[(UDP, 514, 514)]),
    ("TELNET", &[(TCP, 23, 23)]),
    ("TFTP", &[(UDP, 69, 69)]),
    ("TRACEROUTE", &[(UDP, 33434, 33535)]),
    ("VNC", &[(TCP, 5900, 5900)]),
    ("X-WINDOWS", &[(TCP, 6000, 6063)]),
];

/// The matches of a predefined service.
pub fn predefined(name: &str) -> Option<Vec<SvcMatch>> {
    let (_, entries) = PREDEFINED_SERVICES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
    Some(
        entries
            .iter()
            .map(|&(p, lo, hi)| match p {
                0 => SvcMatch::any(),
                ICMP | ICMP6 if lo == 0 => SvcMatch::proto(p),
                ICMP | ICMP6 => SvcMatch { icmp_type: Some(lo as u8), ..SvcMatch::proto(p) },
                _ if lo == 0 => SvcMatch::proto(p),
                _ => SvcMatch::ports(p, (lo, hi), None),
            })
            .collect(),
    )
}

/// Parse a port range `lo[-hi]`.
fn port_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let lo: u16 = a.trim().parse().ok()?;
    let hi: u16 = b.trim().parse().ok()?;
    (lo <= hi).then_some((lo, hi))
}

/// Parse one `tcp-portrange` value: `dst[-hi][:src[-hi]]`. Port 0 as the low end means "any"
/// in FortiOS; it is kept as the range given.
pub fn portrange(proto: u8, s: &str) -> Option<SvcMatch> {
    let (d, src) = match s.split_once(':') {
        Some((d, sr)) => (d, Some(port_range(sr)?)),
        None => (s, None),
    };
    let dst = port_range(d)?;
    Some(SvcMatch::ports(proto, dst, src))
}

/// An IPv4 address.
pub fn v4(s: &str) -> Option<Ipv4Addr> {
    s.trim().parse().ok()
}

/// A netmask to a prefix length (contiguous masks only).
pub fn mask_len(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    let len = v.leading_ones();
    (v.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// `A M`, `A/len` or `A/M` as an IPv4 prefix with the host bits kept.
pub fn v4_prefix<S: AsRef<str>>(vals: &[S]) -> Option<IpNet> {
    match vals {
        [one] => {
            let one = one.as_ref();
            let (a, l) = one.split_once('/')?;
            let addr = v4(a)?;
            let len = match l.parse::<u8>() {
                Ok(n) if n <= 32 => n,
                _ => mask_len(v4(l)?)?,
            };
            IpNet::new(IpAddr::V4(addr), len).ok()
        }
        [a, m, ..] => IpNet::new(IpAddr::V4(v4(a.as_ref())?), mask_len(v4(m.as_ref())?)?).ok(),
        [] => None,
    }
}

/// An IPv6 prefix (`2001:db8::1/64`, host bits kept).
pub fn v6_prefix(s: &str) -> Option<IpNet> {
    let n: IpNet = s.trim().parse().ok()?;
    n.addr().is_ipv6().then_some(n)
}

/// The addresses of a FortiOS wildcard address (`1.1.0.1 255.255.0.255`: mask bits set must
/// match, clear bits are free), as ranges; `None` when it would take more than `max` ranges.
pub fn wildcard(addr: Ipv4Addr, mask: Ipv4Addr, max: usize) -> Option<Vec<AddrRange>> {
    let m = u32::from(mask);
    let a = u32::from(addr) & m;
    // Free bits: the run of low free bits forms each range; the other free bits multiply.
    let low_run = (!m).trailing_ones();
    let low_mask: u32 = if low_run >= 32 { u32::MAX } else { (1u32 << low_run) - 1 };
    let high_free: Vec<u32> = (low_run..32).filter(|b| m & (1 << b) == 0).collect();
    if high_free.len() > 20 || (1usize << high_free.len()) > max {
        return None;
    }
    let mut out = Vec::with_capacity(1 << high_free.len());
    for combo in 0u32..(1u32 << high_free.len()) {
        let mut base = a;
        for (i, b) in high_free.iter().enumerate() {
            if combo & (1 << i) != 0 {
                base |= 1 << b;
            }
        }
        out.push(AddrRange { lo: IpAddr::V4(Ipv4Addr::from(base)), hi: IpAddr::V4(Ipv4Addr::from(base | low_mask)) });
    }
    out.sort_by_key(|r| space::addr_to_u128(r.lo));
    Some(out)
}

/// `a` minus `b`, as ranges.
pub fn subtract(a: &[AddrRange], b: &[AddrRange]) -> Vec<AddrRange> {
    let to = |v: &[AddrRange]| {
        Ranges::from_ranges(v.iter().map(|r| (space::addr_to_u128(r.lo), space::addr_to_u128(r.hi))).collect())
    };
    to(a)
        .difference(&to(b))
        .as_slice()
        .iter()
        .map(|&(lo, hi)| AddrRange { lo: space::u128_to_addr(lo), hi: space::u128_to_addr(hi) })
        .collect()
}

/// An address range `A-B` or a single address.
pub fn addr_range(s: &str) -> Option<AddrRange> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let lo: IpAddr = a.trim().parse().ok()?;
    let hi: IpAddr = b.trim().parse().ok()?;
    (lo.is_ipv4() == hi.is_ipv4() && space::addr_to_u128(lo) <= space::addr_to_u128(hi)).then_some(AddrRange { lo, hi })
}

/// Every IPv4 address.
pub fn all_v4() -> AddrRange {
    AddrRange { lo: IpAddr::V4(Ipv4Addr::UNSPECIFIED), hi: IpAddr::V4(Ipv4Addr::BROADCAST) }
}

/// Every IPv6 address.
pub fn all_v6() -> AddrRange {
    AddrRange::from_net("::/0".parse().unwrap_or_else(|_| IpNet::V6(Default::default())))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(portrange(TCP, "1-2:3-4").map(|m| (m.dports, m.sports)), Some((vec![(1, 2)], vec![(3, 4)])));
        assert_eq!(portrange(TCP, "12:11").map(|m| (m.dports, m.sports)), Some((vec![(12, 12)], vec![(11, 11)])));
        assert_eq!(portrange(UDP, "100").map(|m| m.dports), Some(vec![(100, 100)]));
        assert!(portrange(TCP, "5-1").is_none());
        assert!(portrange(TCP, "x").is_none());
        assert!(portrange(TCP, "70000").is_none());
    }

    #[test]
    fn masks_and_wildcards() {
        assert_eq!(mask_len(v4("255.255.255.0").unwrap()), Some(24));
        assert_eq!(mask_len(v4("255.0.255.0").unwrap()), None);
        let w = wildcard(v4("1.1.0.1").unwrap(), v4("255.255.0.255").unwrap(), 4096).unwrap();
        assert_eq!(w.len(), 256);
        assert_eq!(w[0], AddrRange::single("1.1.0.1".parse().unwrap()));
        assert_eq!(w[255], AddrRange::single("1.1.255.1".parse().unwrap()));
        let w = wildcard(v4("10.0.0.0").unwrap(), v4("255.255.255.0").unwrap(), 16).unwrap();
        assert_eq!(w, vec![AddrRange::from_net("10.0.0.0/24".parse().unwrap())]);
        assert!(wildcard(v4("0.0.0.1").unwrap(), v4("0.0.0.255").unwrap(), 4096).is_none());
        assert_eq!(v4_prefix(&["10.1.1.1/24"]), "10.1.1.1/24".parse().ok());
        assert_eq!(v4_prefix(&["10.1.1.1", "255.255.0.0"]), "10.1.1.1/16".parse().ok());
    }

    #[test]
    fn predefined_services() {
        assert_eq!(predefined("HTTPS"), Some(vec![SvcMatch::ports(TCP, (443, 443), None)]));
        assert_eq!(predefined("ALL"), Some(vec![SvcMatch::any()]));
        assert_eq!(predefined("PING").unwrap()[0].icmp_type, Some(8));
        assert!(predefined("NOPE").is_none());
    }
}
