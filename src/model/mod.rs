//! The vendor-independent network model.
//!
//! Parsers lower vendor syntax into these types; the engine and the reports only ever see these.
//! Every element keeps its [`Provenance`] (file, line, original text) so any verdict can be
//! explained down to the config line.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::diag::Provenance;

/// A device: a router, firewall or host that forwards or filters packets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Device {
    /// Device name (hostname, folder or file-name stem).
    pub name: String,
    /// Interfaces with their addresses. Empty when no interface data was given.
    pub interfaces: Vec<Interface>,
    /// Routing table entries (connected routes are derived from interfaces by the engine when
    /// the dump does not list them).
    pub routes: Vec<Route>,
    /// Packet filter and NAT configuration, if any; shared by the copies of the network (a
    /// what-if's, [`crate::whatif::apply`]) until one of them changes it.
    pub firewall: Option<std::sync::Arc<Firewall>>,
    /// Indices of the input files this device was built from.
    #[serde(skip)]
    pub sources: Vec<usize>,
}

/// A network interface.
#[derive(Clone, Debug, Serialize)]
pub struct Interface {
    /// Name as the device knows it (`eth0`, `eth1.96`).
    pub name: String,
    /// Addresses with their prefix length (`192.0.2.1/24`; host bits are kept: they are the
    /// interface's own address).
    pub addresses: Vec<IpNet>,
    /// False when the dump says the interface is administratively or operationally down.
    pub up: bool,
    /// The security zone (SRX, PAN-OS, FortiGate zone) or ASA `nameif` the vendor puts the
    /// interface in. The engine reads well-known outside names (`untrust`, `outside`, `wan`) as
    /// a hint of where the Internet enters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// True when the vendor's own configuration marks the interface as facing the outside
    /// (ASA `security-level 0`, pfSense/OPNsense WAN, FortiGate `role wan`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// Where the interface was declared.
    pub prov: Provenance,
}

impl Interface {
    /// An interface that is up, with no addresses, zone or outside mark yet.
    pub fn new(name: impl Into<String>, prov: Provenance) -> Self {
        Interface { name: name.into(), addresses: Vec::new(), up: true, zone: None, external: false, prov }
    }
}

/// What a route does with matching packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// Forward (via a gateway or directly on a link).
    Unicast,
    /// Silently discard.
    Blackhole,
    /// Discard with ICMP unreachable.
    Unreachable,
    /// Discard with ICMP administratively prohibited.
    Prohibit,
    /// Deliver locally (the kernel's local table).
    Local,
    /// A kind the engine does not model (broadcast, multicast, throw, nat); treated as unknown.
    Other,
}

/// One routing table entry.
#[derive(Clone, Debug, Serialize)]
pub struct Route {
    /// Destination prefix (`0.0.0.0/0` and `::/0` for default routes).
    pub dst: IpNet,
    /// Next-hop gateway, if any.
    pub via: Option<IpAddr>,
    /// Output interface, if given.
    pub dev: Option<String>,
    /// What the route does.
    pub kind: RouteKind,
    /// Route metric (lower wins among equal prefixes).
    pub metric: u32,
    /// Preferred source address (`src`), if given.
    pub src: Option<IpAddr>,
    /// Routing table name (`main` unless the dump says otherwise).
    pub table: String,
    /// Where the route was declared.
    pub prov: Provenance,
}

/// Address family a ruleset applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
    /// Both (nftables `inet`).
    Any,
}

/// Where in a device's packet path a ruleset is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// Every packet arriving on an interface, before the routing decision.
    Prerouting,
    /// Packets addressed to the device itself.
    Input,
    /// Packets routed through the device.
    Forward,
    /// Packets the device itself sends.
    Output,
    /// Every packet leaving on an interface, after the routing decision.
    Postrouting,
}

/// What kind of processing a hooked ruleset does; decides which actions make sense there and
/// whether it sees only the first packet of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Before connection tracking (iptables `raw`).
    Raw,
    /// Packet mangling (iptables `mangle`); may still drop.
    Mangle,
    /// Destination NAT; consulted for the first packet of a connection only.
    DstNat,
    /// Filtering (iptables `filter`).
    Filter,
    /// Source NAT; consulted for the first packet of a connection only.
    SrcNat,
}

impl Stage {
    /// True if the stage only sees the first packet of each connection (NAT).
    pub fn new_only(self) -> bool {
        matches!(self, Stage::DstNat | Stage::SrcNat)
    }
}

/// A ruleset attached to a hook.
#[derive(Clone, Debug, Serialize)]
pub struct HookBinding {
    /// Where it is attached.
    pub hook: Hook,
    /// What it does there.
    pub stage: Stage,
    /// Order among rulesets at the same hook (lower runs first; iptables uses the netfilter
    /// priorities: raw −300, mangle −150, dstnat −100, filter 0, srcnat 100).
    pub priority: i32,
    /// Index into [`Firewall::rulesets`].
    pub ruleset: usize,
    /// Address family the binding applies to.
    pub family: Family,
}

/// Packet filtering and NAT of one device.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Firewall {
    /// Every ruleset (chain, ACL), referenced by index.
    pub rulesets: Vec<Ruleset>,
    /// Rulesets attached to the packet path.
    pub hooks: Vec<HookBinding>,
    /// True if the device tracks connections (replies of accepted connections are matched by
    /// state rules; NAT is reversed on replies).
    pub stateful: bool,
}

impl Firewall {
    /// Append another firewall's rulesets and bindings (an `ip6tables-save` beside an
    /// `iptables-save` of the same device), renumbering its references.
    pub fn merge(&mut self, other: Firewall) {
        let off = self.rulesets.len();
        for mut rs in other.rulesets {
            for r in &mut rs.rules {
                if let Action::Jump(i) | Action::Goto(i) = &mut r.action {
                    *i += off;
                }
            }
            self.rulesets.push(rs);
        }
        for mut h in other.hooks {
            h.ruleset += off;
            self.hooks.push(h);
        }
        self.stateful |= other.stateful;
    }
}

/// An ordered list of rules evaluated first-match.
#[derive(Clone, Debug, Serialize)]
pub struct Ruleset {
    /// Name (`INPUT`, `DOCKER-USER`, an ACL name).
    pub name: String,
    /// Grouping label (iptables table: `filter`, `nat`, `mangle`, `raw`), used to name it.
    pub table: String,
    /// Family of the packets it sees.
    pub family: Family,
    /// What happens to packets no rule decides: `Some` for attached rulesets (a policy),
    /// `None` for called rulesets (control returns to the caller).
    pub default: Option<Action>,
    /// Where the default was declared.
    pub default_prov: Provenance,
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// One rule: conditions (all must hold) and an action.
#[derive(Clone, Debug, Serialize)]
pub struct Rule {
    /// Conditions, all of which must hold.
    pub conds: Vec<Cond>,
    /// Conditions that were recognised but not modelled (their text). A rule with any of these
    /// possibly matches wherever its modelled conditions hold: results depending on it are
    /// "possibly".
    pub unknown: Vec<String>,
    /// What a matching packet gets.
    pub action: Action,
    /// Where the rule was declared.
    pub prov: Provenance,
}

/// A condition on a packet, optionally negated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cond {
    /// True for "not".
    pub negated: bool,
    /// What is tested.
    pub test: Test,
}

impl Cond {
    /// A positive condition.
    pub fn is(test: Test) -> Self {
        Cond { negated: false, test }
    }

    /// A negated condition.
    pub fn not(test: Test) -> Self {
        Cond { negated: true, test }
    }
}

/// An inclusive address range (a CIDR is `network..=broadcast`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AddrRange {
    /// First address.
    pub lo: IpAddr,
    /// Last address.
    pub hi: IpAddr,
}

impl AddrRange {
    /// The addresses of a prefix (host bits ignored).
    pub fn from_net(net: IpNet) -> Self {
        let n = net.trunc();
        AddrRange { lo: n.network(), hi: n.broadcast() }
    }

    /// A single address.
    pub fn single(a: IpAddr) -> Self {
        AddrRange { lo: a, hi: a }
    }
}

/// What a condition tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Test {
    /// Source address in any of the ranges.
    Src(Vec<AddrRange>),
    /// Destination address in any of the ranges.
    Dst(Vec<AddrRange>),
    /// Protocol number in the list.
    Proto(Vec<u8>),
    /// Source port in any of the inclusive ranges.
    Sport(Vec<(u16, u16)>),
    /// Destination port in any of the inclusive ranges.
    Dport(Vec<(u16, u16)>),
    /// ICMP/ICMPv6 type, and code range if given.
    Icmp {
        /// Type; `None` means any type.
        ty: Option<u8>,
        /// Inclusive code range; `None` means any code.
        code: Option<(u8, u8)>,
    },
    /// TCP flags: `(flags & mask) == comp`.
    TcpFlags {
        /// Flags examined.
        mask: u8,
        /// Flags that must be set among those examined.
        comp: u8,
    },
    /// Connection state is one of these base states (see [`crate::space::Ct`]).
    CtState(Vec<u8>),
    /// The connection's NAT status has one of these bits ([`crate::space::Ct::DNAT`] /
    /// [`crate::space::Ct::SNAT`]).
    CtStatus(u8),
    /// Input interface: exact name, or a prefix when it ends in `+`.
    InIface(String),
    /// Output interface: exact name, or a prefix when it ends in `+`.
    OutIface(String),
    /// Destination address is one of the device's own addresses (`addrtype LOCAL`).
    DstLocal,
    /// Source address is one of the device's own addresses.
    SrcLocal,
}

/// The addresses that packets arriving on one interface of a device may come from (an
/// interface-to-address assignment, the `ipassmt` of the verified iptables analysis of Diekmann
/// et al.). The service matrix uses it to resolve interface matches and to check spoofing
/// protection.
#[derive(Clone, Debug, Serialize)]
pub struct IfaceAssignment {
    /// Interface name as the device's rules name it (`eth1.96`).
    pub iface: String,
    /// Source addresses that may arrive on it (empty: none).
    pub addresses: Vec<AddrRange>,
    /// Where the assignment was stated.
    pub prov: Provenance,
}

/// An inclusive address range and port range a NAT rule translates to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NatTarget {
    /// New address range; `None` keeps the address (port-only translation).
    pub addr: Option<AddrRange>,
    /// New port range; `None` keeps the port.
    pub ports: Option<(u16, u16)>,
}

/// What a rule does with a matching packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Action {
    /// Let the packet through this ruleset (continues at the next hooked ruleset).
    Accept,
    /// Discard silently.
    Drop,
    /// Discard and answer with an error (the text says which, e.g. `icmp-port-unreachable`).
    Reject(String),
    /// Return to the calling ruleset (or the default, for an attached ruleset).
    Return,
    /// Evaluate another ruleset (index), then continue after this rule if it returns.
    Jump(usize),
    /// Evaluate another ruleset (index) instead of the rest of this one.
    Goto(usize),
    /// Destination NAT (port forwarding).
    Dnat(NatTarget),
    /// Source NAT.
    Snat(NatTarget),
    /// Source NAT to the output interface's address.
    Masquerade(Option<(u16, u16)>),
    /// Destination NAT to the device itself (the input interface's address).
    Redirect(Option<(u16, u16)>),
    /// Exempt the packet (and so its connection) from connection tracking: its state becomes
    /// untracked, NAT does not apply to it, and its replies are not recognised as replies.
    /// Evaluation continues with the next rule.
    Notrack,
    /// No effect on whether or where the packet goes (LOG, MARK, counters); evaluation
    /// continues with the next rule. The text names the target.
    Continue(String),
    /// A target that is not modelled; its effect is unknown (possibly stops the packet).
    Unknown(String),
}

/// What a scanner saw of one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortState {
    /// Something answered: a service listens.
    Open,
    /// A listener answered for this port, but it refuses connections.
    Closed,
    /// No answer or an error from a filter: something in between drops or rejects.
    Filtered,
    /// Reachable, but open or closed could not be told (nmap ACK scan).
    Unfiltered,
    /// Open or filtered, could not be told apart (nmap UDP scan without a reply).
    OpenFiltered,
    /// Closed or filtered, could not be told apart.
    ClosedFiltered,
}

/// A service (port) a scan found on a host.
#[derive(Clone, Debug, Serialize)]
pub struct Service {
    /// Protocol number (6 TCP, 17 UDP, 132 SCTP).
    pub proto: u8,
    /// Port number.
    pub port: u16,
    /// What the scanner saw.
    pub state: PortState,
    /// Why the scanner decided so (nmap `reason`: `syn-ack`, `no-response`, `reset`, …).
    pub reason: Option<String>,
    /// Service name (`ssh`, `http`).
    pub name: Option<String>,
    /// Product (`OpenSSH`).
    pub product: Option<String>,
    /// Version (`8.9p1`).
    pub version: Option<String>,
    /// Extra information the scanner reports (`Ubuntu Linux; protocol 2.0`).
    pub extra: Option<String>,
    /// CPE identifiers of the service.
    pub cpe: Vec<String>,
    /// Where the fact came from.
    pub prov: Provenance,
}

/// A host known from a scan (or, later, the manifest).
#[derive(Clone, Debug, Serialize)]
pub struct Host {
    /// Addresses of the host (IPv4 and IPv6).
    pub addrs: Vec<IpAddr>,
    /// Host names reported for it.
    pub names: Vec<String>,
    /// True if the scan saw the host up (false: down; no host entry is made for unknown).
    pub up: bool,
    /// Ports the scan reports individually.
    pub services: Vec<Service>,
    /// Ports the scan covered without listing them one by one (nmap `extraports`): state and
    /// count per protocol, e.g. 995 filtered tcp ports.
    pub other_ports: Vec<(u8, PortState, u32)>,
    /// Operating system guess, if any.
    pub os: Option<String>,
    /// Vulnerabilities a vulnerability scanner reported on this host (host-wide or per port).
    pub vulns: Vec<Vulnerability>,
    /// Where the host entry came from.
    pub prov: Provenance,
}

/// Severity as the scanner rates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Informational: no weakness in itself (a detected service, a banner).
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// A CVSS score with the vector it was computed from, as the report states them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cvss {
    /// Base score, 0.0–10.0.
    pub score: f32,
    /// Vector string (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, `CVSS:3.1/AV:N/...`), when given.
    pub vector: Option<String>,
}

/// One vulnerability a scanner reports on a host, or on one of its ports.
#[derive(Clone, Debug, Serialize)]
pub struct Vulnerability {
    /// The scanner's identifier (Nessus plugin id, OpenVAS/Greenbone NVT OID).
    pub id: String,
    /// Its title.
    pub name: String,
    /// Severity as the scanner rates it.
    pub severity: Severity,
    /// Protocol number of the port it was found on (6 TCP, 17 UDP); `None` for host-wide
    /// findings (Nessus port 0, OpenVAS `general/...`).
    pub proto: Option<u8>,
    /// Port it was found on; `None` for host-wide findings.
    pub port: Option<u16>,
    /// Service name the scanner gives the port (`www`, `ssh`, `cifs`).
    pub service: Option<String>,
    /// CVE identifiers.
    pub cves: Vec<String>,
    /// CVSS v2 base score and vector.
    pub cvss2: Option<Cvss>,
    /// CVSS v3.x base score and vector.
    pub cvss3: Option<Cvss>,
    /// CVSS v4 base score and vector.
    pub cvss4: Option<Cvss>,
    /// The scanner says a public exploit exists (Nessus `exploit_available`, exploit frameworks).
    pub exploit_available: bool,
    /// Remedy the scanner proposes, shortened to its first paragraph.
    pub solution: Option<String>,
    /// Where the finding came from.
    pub prov: Provenance,
}

/// Facts a scan states about the scan itself.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScanInfo {
    /// Scanner and version (`nmap 7.94`).
    pub scanner: String,
    /// Command line or scan arguments, as recorded.
    pub args: String,
    /// Start time as recorded (text).
    pub started: String,
    /// Ports scanned per protocol as recorded (`tcp: 1-1024`).
    pub scanned: Vec<(String, String)>,
}
