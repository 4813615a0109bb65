//! The small value types of the manifest: endpoints, services, address blocks, interface
//! references, roles and host values. Each parses from its text and prints back to it.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Serialize, Serializer};

use crate::model::AddrRange;

/// One of the roles that share responsibility for network security.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The IT team that runs the network.
    It,
    /// Management, who accept or refuse risks.
    Management,
    /// A third-party vendor with access to the network.
    Vendor,
    /// Employees and their workstations.
    Employees,
    /// Auditors and penetration testers.
    Auditor,
}

impl Role {
    /// Every role, in the order the manifest documents them.
    pub const ALL: [Role; 5] = [Role::It, Role::Management, Role::Vendor, Role::Employees, Role::Auditor];

    /// The role's name as written in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::It => "it",
            Role::Management => "management",
            Role::Vendor => "vendor",
            Role::Employees => "employees",
            Role::Auditor => "auditor",
        }
    }

    /// Parse a role name (exact, lower case).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How much a host matters to the business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    /// Losing it would hardly be noticed.
    Low,
    /// Losing it would hurt.
    Medium,
    /// Losing it would hurt badly.
    High,
    /// The business stops without it.
    Critical,
}

impl Value {
    /// Every value, lowest first.
    pub const ALL: [Value; 4] = [Value::Low, Value::Medium, Value::High, Value::Critical];

    /// The value's name as written in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Value::Low => "low",
            Value::Medium => "medium",
            Value::High => "high",
            Value::Critical => "critical",
        }
    }

    /// Parse a value name (exact, lower case).
    pub fn parse(s: &str) -> Option<Value> {
        Value::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What an endpoint names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Endpoint {
    /// One address.
    Ip(IpAddr),
    /// A prefix (normalised to its network address).
    Net(IpNet),
    /// An inclusive address range `a-b`.
    Range(AddrRange),
    /// Every address outside the estate's internal space.
    Internet,
    /// Every address.
    Any,
    /// `zone:NAME`: a zone the manifest declares.
    Zone(String),
    /// `host:NAME`: a host the manifest declares.
    Host(String),
    /// `device:NAME`: a device (from the configs or the manifest).
    Device(String),
    /// A bare name: the one host, origin, zone or device so named.
    Name(String),
}

/// An endpoint as written, with what it names and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointRef {
    /// The text as written.
    pub text: String,
    /// What it names.
    pub endpoint: Endpoint,
    /// One-based line in the manifest.
    pub line: u32,
}

/// True for a name usable after `zone:`, `host:`, `device:` or alone: letters, digits and
/// `_ - . @ /`, starting with a letter, digit or `_`.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphanumeric() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '/'))
}

/// Parse an address, a prefix or an inclusive range `a-b` (both ends of one family).
/// Returns the parsed form and whether a prefix had host bits set (it is then normalised).
fn parse_addrs(s: &str) -> Option<Result<(Endpoint, bool), String>> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(Ok((Endpoint::Ip(a), false)));
    }
    if let Ok(n) = s.parse::<IpNet>() {
        let t = n.trunc();
        return Some(Ok((Endpoint::Net(t), t != n)));
    }
    if let Some((a, b)) = s.split_once('-') {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<IpAddr>(), b.trim().parse::<IpAddr>()) {
            if a.is_ipv4() != b.is_ipv4() {
                return Some(Err(format!("{s:?} mixes an IPv4 and an IPv6 address")));
            }
            if a > b {
                return Some(Err(format!("{s:?} is an empty range: its first address is above its last")));
            }
            return Some(Ok((Endpoint::Range(AddrRange { lo: a, hi: b }), false)));
        }
    }
    // Looks numeric (digits, dots, colons, a slash): a mistyped address, not a name.
    let addressy = s.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/' | '-'))
        && s.chars().any(|c| c.is_ascii_digit())
        && (s.contains('.') || s.contains(':') || s.contains('/'));
    addressy.then(|| Err(format!("{s:?} is not an IP address, CIDR or address range")))
}

impl EndpointRef {
    /// Parse an endpoint: an IP, a CIDR, a range `a-b`, `internet`, `any`, `zone:NAME`,
    /// `host:NAME`, `device:NAME` or a bare name. The error says why the text is none of these.
    /// The flag is true when a CIDR had host bits set (`10.1.1.5/24` → `10.1.1.0/24`).
    pub fn parse(text: &str, line: u32) -> Result<(EndpointRef, bool), String> {
        let s = text.trim();
        let mk = |endpoint| EndpointRef { text: s.to_string(), endpoint, line };
        if s.is_empty() {
            return Err("an endpoint cannot be empty".into());
        }
        if s.eq_ignore_ascii_case("internet") {
            return Ok((mk(Endpoint::Internet), false));
        }
        if s.eq_ignore_ascii_case("any") {
            return Ok((mk(Endpoint::Any), false));
        }
        for (prefix, make) in [
            ("zone:", Endpoint::Zone as fn(String) -> Endpoint),
            ("host:", Endpoint::Host),
            ("device:", Endpoint::Device),
        ] {
            if let Some(name) = s.strip_prefix(prefix) {
                if !is_name(name) {
                    return Err(format!("{s:?}: {prefix} must be followed by a name"));
                }
                return Ok((mk(make(name.to_string())), false));
            }
        }
        if let Some(r) = parse_addrs(s) {
            return r.map(|(e, host_bits)| (mk(e), host_bits));
        }
        if is_name(s) {
            return Ok((mk(Endpoint::Name(s.to_string())), false));
        }
        Err(format!(
            "{s:?} is not an endpoint (an IP, CIDR, range, `internet`, `any`, zone:NAME, host:NAME, device:NAME or a name)"
        ))
    }
}

/// A block of addresses: a prefix (one address is a /32 or /128) or an inclusive range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrBlock {
    /// A prefix, normalised to its network address.
    Net(IpNet),
    /// An inclusive range.
    Range(AddrRange),
}

impl AddrBlock {
    /// Parse an address, a CIDR or a range `a-b`; the flag says a CIDR had host bits set.
    pub fn parse(text: &str) -> Result<(AddrBlock, bool), String> {
        let s = text.trim();
        match parse_addrs(s) {
            Some(Ok((Endpoint::Ip(a), _))) => Ok((AddrBlock::Net(IpNet::from(a)), false)),
            Some(Ok((Endpoint::Net(n), hb))) => Ok((AddrBlock::Net(n), hb)),
            Some(Ok((Endpoint::Range(r), _))) => Ok((AddrBlock::Range(r), false)),
            Some(Err(e)) => Err(e),
            _ => Err(format!("{s:?} is not an IP address, CIDR or address range")),
        }
    }

    /// The inclusive address range the block covers.
    pub fn range(&self) -> AddrRange {
        match self {
            AddrBlock::Net(n) => AddrRange::from_net(*n),
            AddrBlock::Range(r) => *r,
        }
    }
}

impl fmt::Display for AddrBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrBlock::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            AddrBlock::Net(n) => write!(f, "{n}"),
            AddrBlock::Range(r) => write!(f, "{}-{}", r.lo, r.hi),
        }
    }
}

impl Serialize for AddrBlock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Protocol names a service may use, with their IP protocol numbers.
pub const PROTOCOLS: [(&str, u8); 8] =
    [("icmp", 1), ("tcp", 6), ("udp", 17), ("gre", 47), ("esp", 50), ("ah", 51), ("icmpv6", 58), ("sctp", 132)];

/// Protocols that have ports.
fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132)
}

/// A service: `any`, a protocol (`tcp`, `udp`, `icmp`, a number 0-255), `proto/port` or
/// `proto/lo-hi` (destination ports; only for tcp, udp and sctp).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceSpec {
    /// Every protocol and port.
    Any,
    /// Every port of one protocol (by number: 6 TCP, 17 UDP, 1 ICMP).
    Proto(u8),
    /// One destination port.
    Port(u8, u16),
    /// An inclusive destination port range.
    Range(u8, u16, u16),
}

impl ServiceSpec {
    /// Parse a service; the error says why the text is not one.
    pub fn parse(text: &str) -> Result<ServiceSpec, String> {
        let s = text.trim();
        if s.eq_ignore_ascii_case("any") {
            return Ok(ServiceSpec::Any);
        }
        let (proto_text, ports) = match s.split_once('/') {
            Some((p, rest)) => (p, Some(rest)),
            None => (s, None),
        };
        let proto = PROTOCOLS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(proto_text))
            .map(|(_, p)| *p)
            .or_else(|| proto_text.parse::<u8>().ok())
            .ok_or_else(|| {
                format!("{s:?}: {proto_text:?} is not a protocol (tcp, udp, icmp, icmpv6, sctp, gre, esp, ah or 0-255)")
            })?;
        let Some(ports) = ports else { return Ok(ServiceSpec::Proto(proto)) };
        if !has_ports(proto) {
            return Err(format!("{s:?}: {proto_text} has no ports; write {proto_text:?} alone"));
        }
        let port = |p: &str| {
            p.trim().parse::<u16>().map_err(|_| format!("{s:?}: {p:?} is not a port number (0-65535)"))
        };
        match ports.split_once('-') {
            None => Ok(ServiceSpec::Port(proto, port(ports)?)),
            Some((lo, hi)) => {
                let (lo, hi) = (port(lo)?, port(hi)?);
                if lo > hi {
                    return Err(format!("{s:?}: the port range is empty ({lo} is above {hi})"));
                }
                Ok(if lo == hi { ServiceSpec::Port(proto, lo) } else { ServiceSpec::Range(proto, lo, hi) })
            }
        }
    }

    /// The protocol number, `None` for any protocol.
    pub fn proto(&self) -> Option<u8> {
        match *self {
            ServiceSpec::Any => None,
            ServiceSpec::Proto(p) | ServiceSpec::Port(p, _) | ServiceSpec::Range(p, _, _) => Some(p),
        }
    }

    /// The inclusive destination port range, `None` for every port.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            ServiceSpec::Any | ServiceSpec::Proto(_) => None,
            ServiceSpec::Port(_, p) => Some((p, p)),
            ServiceSpec::Range(_, lo, hi) => Some((lo, hi)),
        }
    }
}

fn proto_name(p: u8) -> String {
    PROTOCOLS.iter().find(|(_, n)| *n == p).map_or_else(|| p.to_string(), |(name, _)| name.to_string())
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ServiceSpec::Any => f.write_str("any"),
            ServiceSpec::Proto(p) => f.write_str(&proto_name(p)),
            ServiceSpec::Port(p, port) => write!(f, "{}/{port}", proto_name(p)),
            ServiceSpec::Range(p, lo, hi) => write!(f, "{}/{lo}-{hi}", proto_name(p)),
        }
    }
}

impl Serialize for ServiceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An interface of a device, written `DEVICE:INTERFACE` (`fw1:eth1`, `r1:ge-0/0/1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IfaceRef {
    /// Device name.
    pub device: String,
    /// Interface name as the device knows it.
    pub interface: String,
    /// One-based line in the manifest.
    pub line: u32,
}

impl IfaceRef {
    /// Parse `DEVICE:INTERFACE`; the device name ends at the first colon.
    pub fn parse(text: &str, line: u32) -> Result<IfaceRef, String> {
        let s = text.trim();
        match s.split_once(':') {
            Some((d, i)) if is_name(d) && !i.is_empty() && !i.chars().any(char::is_whitespace) => {
                Ok(IfaceRef { device: d.to_string(), interface: i.to_string(), line })
            }
            _ => Err(format!("{s:?} is not DEVICE:INTERFACE (e.g. fw1:eth1)")),
        }
    }
}

impl fmt::Display for IfaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.device, self.interface)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        EndpointRef::parse(s, 1).unwrap().0.endpoint
    }

    #[test]
    fn endpoints() {
        assert_eq!(ep("10.0.0.5"), Endpoint::Ip("10.0.0.5".parse().unwrap()));
        assert_eq!(ep("10.0.0.0/8"), Endpoint::Net("10.0.0.0/8".parse().unwrap()));
        assert_eq!(ep("2001:db8::/32"), Endpoint::Net("2001:db8::/32".parse().unwrap()));
        assert_eq!(
            ep("10.0.0.1 - 10.0.0.9"),
            Endpoint::Range(AddrRange { lo: "10.0.0.1".parse().unwrap(), hi: "10.0.0.9".parse().unwrap() })
        );
        assert_eq!(ep("Internet"), Endpoint::Internet);
        assert_eq!(ep("any"), Endpoint::Any);
        assert_eq!(ep("zone:dmz"), Endpoint::Zone("dmz".into()));
        assert_eq!(ep("host:db"), Endpoint::Host("db".into()));
        assert_eq!(ep("device:fw1"), Endpoint::Device("fw1".into()));
        assert_eq!(ep("web-1.example"), Endpoint::Name("web-1.example".into()));
        let (r, host_bits) = EndpointRef::parse("10.1.1.5/24", 3).unwrap();
        assert!(host_bits);
        assert_eq!(r.endpoint, Endpoint::Net("10.1.1.0/24".parse().unwrap()));
        assert_eq!(r.text, "10.1.1.5/24");
        for bad in ["10.0.0.300", "10.0.0.0/33", "zone:", "host: x", "a b", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", ""] {
            assert!(EndpointRef::parse(bad, 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn services() {
        assert_eq!(ServiceSpec::parse("any").unwrap(), ServiceSpec::Any);
        assert_eq!(ServiceSpec::parse("udp").unwrap(), ServiceSpec::Proto(17));
        assert_eq!(ServiceSpec::parse("47").unwrap(), ServiceSpec::Proto(47));
        assert_eq!(ServiceSpec::parse("tcp/443").unwrap(), ServiceSpec::Port(6, 443));
        assert_eq!(ServiceSpec::parse("TCP/8000-8080").unwrap(), ServiceSpec::Range(6, 8000, 8080));
        assert_eq!(ServiceSpec::parse("tcp/22-22").unwrap(), ServiceSpec::Port(6, 22));
        assert_eq!(ServiceSpec::parse("tcp/8000-8080").unwrap().to_string(), "tcp/8000-8080");
        assert_eq!(ServiceSpec::parse("tcp/8000-8080").unwrap().ports(), Some((8000, 8080)));
        for bad in ["tcp/65536", "tcp/", "icmp/8", "http/80", "tcp/90-80", "256", "tcp/a"] {
            assert!(ServiceSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addr_blocks_and_interfaces() {
        let (b, _) = AddrBlock::parse("10.0.0.7").unwrap();
        assert_eq!(b.to_string(), "10.0.0.7");
        assert_eq!(b.range().lo, b.range().hi);
        let (b, hb) = AddrBlock::parse("10.0.0.7/24").unwrap();
        assert!(hb);
        assert_eq!(b.to_string(), "10.0.0.0/24");
        assert!(AddrBlock::parse("dmz").is_err());
        let i = IfaceRef::parse("r1:ge-0/0/1", 2).unwrap();
        assert_eq!((i.device.as_str(), i.interface.as_str()), ("r1", "ge-0/0/1"));
        assert!(IfaceRef::parse("fw1", 1).is_err());
        assert!(IfaceRef::parse(":eth0", 1).is_err());
        assert_eq!(Role::parse("vendor"), Some(Role::Vendor));
        assert_eq!(Role::parse("ceo"), None);
        assert_eq!(Value::parse("critical"), Some(Value::Critical));
    }
}
