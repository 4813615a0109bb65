//! Junos names for protocols, ports, ICMP types, predefined applications and host-inbound
//! services.

use crate::space::proto;

/// A protocol by Junos name or number (`tcp`, `udp`, `icmp`, `6`).
pub fn protocol(w: &str) -> Option<u8> {
    if let Ok(n) = w.parse::<u8>() {
        return Some(n);
    }
    Some(match w {
        "icmp" => proto::ICMP,
        "igmp" => 2,
        "ipip" => 4,
        "tcp" => proto::TCP,
        "egp" => 8,
        "udp" => proto::UDP,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmp6" | "icmpv6" => proto::ICMPV6,
        "ospf" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "sctp" => proto::SCTP,
        "ipv6" => 41,
        "dstopts" => 60,
        "fragment" => 44,
        "hop-by-hop" => 0,
        "routing" => 43,
        "no-next-header" => 59,
        "mobility" => 135,
        _ => return None,
    })
}

/// A port by Junos name or number.
///
/// The names are those of the Junos port keyword table ("Port Names Supported by Services
/// Interfaces", Junos OS CLI reference for `destination-port`).
pub fn port(w: &str) -> Option<u16> {
    if let Ok(n) = w.parse::<u16>() {
        return Some(n);
    }
    Some(match w {
        "afs" => 1483,
        "bgp" => 179,
        "biff" => 512,
        "bootpc" => 68,
        "bootps" => 67,
        "cmd" => 514,
        "cvspserver" => 2401,
        "dhcp" => 67,
        "domain" => 53,
        "eklogin" => 2105,
        "ekshell" => 2106,
        "exec" => 512,
        "finger" => 79,
        "ftp" => 21,
        "ftp-data" => 20,
        "http" => 80,
        "https" => 443,
        "ident" => 113,
        "imap" => 143,
        "kerberos-sec" => 88,
        "klogin" => 543,
        "kpasswd" => 761,
        "krb-prop" => 754,
        "krbupdate" => 760,
        "kshell" => 544,
        "ldap" => 389,
        "ldp" => 646,
        "login" => 513,
        "mobileip-agent" => 434,
        "mobilip-mn" => 435,
        "msdp" => 639,
        "netbios-dgm" => 138,
        "netbios-ns" => 137,
        "netbios-ssn" => 139,
        "nfsd" => 2049,
        "nntp" => 119,
        "ntalk" => 518,
        "ntp" => 123,
        "pop3" => 110,
        "pptp" => 1723,
        "printer" => 515,
        "radacct" => 1813,
        "radius" => 1812,
        "rip" => 520,
        "rkinit" => 2108,
        "smtp" => 25,
        "snmp" => 161,
        "snmptrap" | "snmp-trap" => 162,
        "snpp" => 444,
        "socks" => 1080,
        "ssh" => 22,
        "sunrpc" => 111,
        "syslog" => 514,
        "tacacs" => 49,
        "tacacs-ds" => 65,
        "talk" => 517,
        "telnet" => 23,
        "tftp" => 69,
        "timed" => 525,
        "who" => 513,
        "xdmcp" => 177,
        "zephyr-clt" => 2103,
        "zephyr-hm" => 2104,
        "zephyr-srv" => 2102,
        _ => return None,
    })
}

/// A port or port range (`80`, `1024-65535`, `http`, `1024 to 2048` is handled by callers).
pub fn port_range(w: &str) -> Option<(u16, u16)> {
    if let Some(p) = port(w) {
        return Some((p, p));
    }
    let (a, b) = w.split_once('-')?;
    let (a, b) = (port(a)?, port(b)?);
    (a <= b).then_some((a, b))
}

/// An ICMP type by Junos name or number (`echo-request`, `8`).
pub fn icmp_type(w: &str, v6: bool) -> Option<u8> {
    if let Ok(n) = w.parse::<u8>() {
        return Some(n);
    }
    if v6 {
        return Some(match w {
            "destination-unreachable" => 1,
            "packet-too-big" => 2,
            "time-exceeded" => 3,
            "parameter-problem" => 4,
            "echo-request" => 128,
            "echo-reply" => 129,
            "membership-query" => 130,
            "membership-report" => 131,
            "membership-termination" => 132,
            "router-solicit" => 133,
            "router-advertisement" => 134,
            "neighbor-solicit" => 135,
            "neighbor-advertisement" => 136,
            "redirect" => 137,
            "router-renumbering" => 138,
            "node-information-request" => 139,
            "node-information-reply" => 140,
            _ => return None,
        });
    }
    Some(match w {
        "echo-reply" => 0,
        "unreachable" => 3,
        "source-quench" => 4,
        "redirect" => 5,
        "echo-request" => 8,
        "router-advertisement" => 9,
        "router-solicit" => 10,
        "time-exceeded" => 11,
        "parameter-problem" => 12,
        "timestamp" => 13,
        "timestamp-reply" => 14,
        "info-request" => 15,
        "info-reply" => 16,
        "mask-request" => 17,
        "mask-reply" => 18,
        _ => return None,
    })
}

/// One term of an application: protocol, ports, ICMP type and code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppTerm {
    /// Protocol; `None` means any.
    pub proto: Option<u8>,
    /// Destination ports.
    pub dport: Option<(u16, u16)>,
    /// Source ports.
    pub sport: Option<(u16, u16)>,
    /// ICMP type.
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
}

const fn t(p: u8, lo: u16, hi: u16) -> AppTerm {
    AppTerm { proto: Some(p), dport: Some((lo, hi)), sport: None, icmp_type: None, icmp_code: None }
}

const fn icmp(p: u8, ty: Option<u8>, code: Option<u8>) -> AppTerm {
    AppTerm { proto: Some(p), dport: None, sport: None, icmp_type: ty, icmp_code: code }
}

const fn ip(p: u8) -> AppTerm {
    AppTerm { proto: Some(p), dport: None, sport: None, icmp_type: None, icmp_code: None }
}

const TCP: u8 = proto::TCP;
const UDP: u8 = proto::UDP;
const ICMP6: u8 = proto::ICMPV6;

/// Junos predefined applications (the `junos-defaults` group: `show configuration groups
/// junos-defaults applications`; Juniper, "Predefined Policy Applications", Junos OS Security
/// Policies User Guide). Only the applications defined by protocol and ports are listed;
/// predefined applications that identify traffic by RPC program or UUID (`junos-ms-rpc-*`,
/// `junos-sun-rpc-*`) or by an ALG beyond ports are not, and a policy naming one of those is
/// reported as not modelled.
pub fn predefined_app(name: &str) -> Option<Vec<AppTerm>> {
    let one = |x: AppTerm| Some(vec![x]);
    match name {
        "junos-aol" => one(t(TCP, 5190, 5193)),
        "junos-bgp" => one(t(TCP, 179, 179)),
        "junos-biff" => one(t(UDP, 512, 512)),
        "junos-bootpc" | "junos-dhcp-client" => one(t(UDP, 68, 68)),
        "junos-bootps" | "junos-dhcp-server" | "junos-dhcp-relay" => one(t(UDP, 67, 67)),
        "junos-chargen" => one(t(UDP, 19, 19)),
        "junos-cvspserver" => one(t(TCP, 2401, 2401)),
        "junos-discard" => one(t(UDP, 9, 9)),
        "junos-dns-tcp" => one(t(TCP, 53, 53)),
        "junos-dns-udp" => one(t(UDP, 53, 53)),
        "junos-echo" => one(t(UDP, 7, 7)),
        "junos-finger" => one(t(TCP, 79, 79)),
        "junos-ftp" => one(t(TCP, 21, 21)),
        "junos-ftp-data" => one(t(TCP, 20, 20)),
        "junos-gnutella" => one(t(UDP, 6346, 6347)),
        "junos-gopher" => one(t(TCP, 70, 70)),
        "junos-gre" => one(ip(47)),
        "junos-http" => one(t(TCP, 80, 80)),
        "junos-http-ext" => one(t(TCP, 7001, 7001)),
        "junos-https" => one(t(TCP, 443, 443)),
        "junos-icmp-all" => one(ip(proto::ICMP)),
        "junos-icmp-ping" | "junos-ping" => one(icmp(proto::ICMP, Some(8), None)),
        "junos-pingv6" | "junos-icmp6-echo-request" => one(icmp(ICMP6, Some(128), None)),
        "junos-icmp6-all" => one(ip(ICMP6)),
        "junos-icmp6-echo-reply" => one(icmp(ICMP6, Some(129), None)),
        "junos-icmp6-packet-too-big" => one(icmp(ICMP6, Some(2), None)),
        "junos-icmp6-dst-unreach-route" => one(icmp(ICMP6, Some(1), Some(0))),
        "junos-icmp6-dst-unreach-admin" => one(icmp(ICMP6, Some(1), Some(1))),
        "junos-icmp6-dst-unreach-beyond" => one(icmp(ICMP6, Some(1), Some(2))),
        "junos-icmp6-dst-unreach-addr" => one(icmp(ICMP6, Some(1), Some(3))),
        "junos-icmp6-dst-unreach-port" => one(icmp(ICMP6, Some(1), Some(4))),
        "junos-icmp6-time-exceed-transit" => one(icmp(ICMP6, Some(3), Some(0))),
        "junos-icmp6-time-exceed-reassembly" => one(icmp(ICMP6, Some(3), Some(1))),
        "junos-icmp6-param-prob-header" => one(icmp(ICMP6, Some(4), Some(0))),
        "junos-icmp6-param-prob-nexthdr" => one(icmp(ICMP6, Some(4), Some(1))),
        "junos-icmp6-param-prob-option" => one(icmp(ICMP6, Some(4), Some(2))),
        "junos-ident" => one(t(TCP, 113, 113)),
        "junos-ike" => one(t(UDP, 500, 500)),
        "junos-ike-nat" => one(t(UDP, 4500, 4500)),
        "junos-imap" => one(t(TCP, 143, 143)),
        "junos-imaps" => one(t(TCP, 993, 993)),
        "junos-internet-locator-service" => one(t(TCP, 389, 389)),
        "junos-irc" => one(t(TCP, 6660, 6669)),
        "junos-l2tp" => one(t(UDP, 1701, 1701)),
        "junos-ldap" => one(t(TCP, 389, 389)),
        "junos-ldp-tcp" => one(t(TCP, 646, 646)),
        "junos-ldp-udp" => one(t(UDP, 646, 646)),
        "junos-lpr" | "junos-printer" => one(t(TCP, 515, 515)),
        "junos-mail" | "junos-smtp" => one(t(TCP, 25, 25)),
        "junos-smtps" => one(t(TCP, 465, 465)),
        "junos-mgcp-ca" => one(t(UDP, 2727, 2727)),
        "junos-mgcp-ua" => one(t(UDP, 2427, 2427)),
        "junos-ms-rpc-tcp" => one(t(TCP, 135, 135)),
        "junos-ms-rpc-udp" => one(t(UDP, 135, 135)),
        "junos-ms-sql" => one(t(TCP, 1433, 1433)),
        "junos-msn" => one(t(TCP, 1863, 1863)),
        "junos-nbname" => one(t(UDP, 137, 137)),
        "junos-nbds" => one(t(UDP, 138, 138)),
        "junos-netbios-session" => one(t(TCP, 139, 139)),
        "junos-smb-session" => one(t(TCP, 445, 445)),
        "junos-smb" | "junos-cifs" => Some(vec![t(TCP, 139, 139), t(TCP, 445, 445)]),
        "junos-nfsd-tcp" => one(t(TCP, 2049, 2049)),
        "junos-nfsd-udp" => one(t(UDP, 2049, 2049)),
        "junos-nntp" => one(t(TCP, 119, 119)),
        "junos-ntalk" => one(t(UDP, 518, 518)),
        "junos-ntp" => one(t(UDP, 123, 123)),
        "junos-ospf" => one(ip(89)),
        "junos-pc-anywhere" => one(t(UDP, 5632, 5632)),
        "junos-pop3" => one(t(TCP, 110, 110)),
        "junos-pptp" => one(t(TCP, 1723, 1723)),
        "junos-radacct" => one(t(UDP, 1813, 1813)),
        "junos-radius" => one(t(UDP, 1812, 1812)),
        "junos-rdp" => one(t(TCP, 3389, 3389)),
        "junos-rip" => one(t(UDP, 520, 520)),
        "junos-routing-inbound" => Some(vec![t(TCP, 179, 179), t(UDP, 520, 520), t(TCP, 646, 646), t(UDP, 646, 646)]),
        "junos-rsh" => one(t(TCP, 514, 514)),
        "junos-rtsp" | "junos-realaudio" => one(t(TCP, 554, 554)),
        "junos-sccp" => one(t(TCP, 2000, 2000)),
        "junos-sctp-any" => one(ip(proto::SCTP)),
        "junos-sip" => Some(vec![t(UDP, 5060, 5060), t(TCP, 5060, 5060)]),
        "junos-snmp-agentx" => one(t(TCP, 705, 705)),
        "junos-snpp" => one(t(TCP, 444, 444)),
        "junos-sql-monitor" => one(t(UDP, 1434, 1434)),
        "junos-sqlnet-v1" => one(t(TCP, 1525, 1525)),
        "junos-sqlnet-v2" => one(t(TCP, 1521, 1521)),
        "junos-ssh" => one(t(TCP, 22, 22)),
        "junos-syslog" => one(t(UDP, 514, 514)),
        "junos-tacacs" => one(t(TCP, 49, 49)),
        "junos-tacacs-ds" => one(t(TCP, 65, 65)),
        "junos-talk" => one(t(UDP, 517, 517)),
        "junos-tcp-any" => one(ip(TCP)),
        "junos-telnet" => one(t(TCP, 23, 23)),
        "junos-tftp" => one(t(UDP, 69, 69)),
        "junos-udp-any" => one(ip(UDP)),
        "junos-uucp" => one(t(UDP, 540, 540)),
        "junos-vdo-live" => one(t(UDP, 7000, 7010)),
        "junos-vnc" => one(t(TCP, 5800, 5800)),
        "junos-wais" => one(t(TCP, 210, 210)),
        "junos-who" => one(t(UDP, 513, 513)),
        "junos-whois" => one(t(TCP, 43, 43)),
        "junos-winframe" => one(t(TCP, 1494, 1494)),
        "junos-x-windows" => one(t(TCP, 6000, 6063)),
        "junos-xnm-clear-text" => one(t(TCP, 3221, 3221)),
        "junos-xnm-ssl" => one(t(TCP, 3220, 3220)),
        "junos-ymsg" => one(t(TCP, 5000, 5010)),
        _ => None,
    }
}

/// What a `host-inbound-traffic system-services` or `protocols` keyword lets reach the device.
/// `None` for keywords not modelled. An empty list with `all == true` means everything.
pub struct HostService {
    /// Every packet.
    pub all: bool,
    /// The terms allowed.
    pub terms: Vec<AppTerm>,
}

/// Host-inbound system services (Junos OS Security Zones User Guide, "Supported System
/// Services for Host Inbound Traffic"), by the ports the services listen on.
pub fn system_service(w: &str) -> Option<HostService> {
    let v = |terms: Vec<AppTerm>| Some(HostService { all: false, terms });
    match w {
        "all" | "any-service" => Some(HostService { all: true, terms: vec![] }),
        "ssh" => v(vec![t(TCP, 22, 22)]),
        "telnet" => v(vec![t(TCP, 23, 23)]),
        "ftp" => v(vec![t(TCP, 21, 21)]),
        "tftp" => v(vec![t(UDP, 69, 69)]),
        "http" => v(vec![t(TCP, 80, 80)]),
        "https" => v(vec![t(TCP, 443, 443)]),
        "ping" => v(vec![icmp(proto::ICMP, Some(8), None), icmp(ICMP6, Some(128), None)]),
        "snmp" => v(vec![t(UDP, 161, 161)]),
        "snmp-trap" => v(vec![t(UDP, 162, 162)]),
        "ntp" => v(vec![t(UDP, 123, 123)]),
        "dns" => v(vec![t(UDP, 53, 53), t(TCP, 53, 53)]),
        "dhcp" | "dhcpv6" => v(vec![t(UDP, 67, 68), t(UDP, 546, 547)]),
        "bootp" => v(vec![t(UDP, 67, 68)]),
        "ike" => v(vec![t(UDP, 500, 500), t(UDP, 4500, 4500)]),
        "netconf" => v(vec![t(TCP, 830, 830)]),
        "xnm-ssl" => v(vec![t(TCP, 3220, 3220)]),
        "xnm-clear-text" => v(vec![t(TCP, 3221, 3221)]),
        "rlogin" => v(vec![t(TCP, 513, 513)]),
        "rsh" => v(vec![t(TCP, 514, 514)]),
        "finger" => v(vec![t(TCP, 79, 79)]),
        "ident-reset" => v(vec![t(TCP, 113, 113)]),
        "sip" => v(vec![t(UDP, 5060, 5060), t(TCP, 5060, 5060)]),
        "tcp-encap" => v(vec![t(TCP, 3000, 3000)]),
        "lsping" => v(vec![t(UDP, 3503, 3503)]),
        "r2cp" => v(vec![t(UDP, 28672, 28672)]),
        "reverse-ssh" => v(vec![t(TCP, 22, 22)]),
        "reverse-telnet" => v(vec![t(TCP, 23, 23)]),
        "traceroute" => v(vec![t(UDP, 33434, 33523), icmp(proto::ICMP, Some(8), None)]),
        "webapi-clear-text" => v(vec![t(TCP, 8080, 8080)]),
        "webapi-ssl" => v(vec![t(TCP, 8443, 8443)]),
        _ => None,
    }
}

/// Host-inbound routing protocols (same guide, "Supported Protocols for Host Inbound Traffic").
pub fn host_protocol(w: &str) -> Option<HostService> {
    let v = |terms: Vec<AppTerm>| Some(HostService { all: false, terms });
    match w {
        "all" => Some(HostService { all: true, terms: vec![] }),
        "bgp" => v(vec![t(TCP, 179, 179)]),
        "ospf" | "ospf3" => v(vec![ip(89)]),
        "rip" => v(vec![t(UDP, 520, 520)]),
        "ripng" => v(vec![t(UDP, 521, 521)]),
        "ldp" => v(vec![t(TCP, 646, 646), t(UDP, 646, 646)]),
        "vrrp" => v(vec![ip(112)]),
        "pim" => v(vec![ip(103)]),
        "igmp" => v(vec![ip(2)]),
        "rsvp" => v(vec![ip(46)]),
        "bfd" => v(vec![t(UDP, 3784, 3785), t(UDP, 4784, 4784)]),
        "msdp" => v(vec![t(TCP, 639, 639)]),
        "router-discovery" => v(vec![icmp(proto::ICMP, Some(10), None), icmp(proto::ICMP, Some(9), None)]),
        "ndp" => v(vec![icmp(ICMP6, Some(133), None), icmp(ICMP6, Some(134), None), icmp(ICMP6, Some(135), None), icmp(ICMP6, Some(136), None), icmp(ICMP6, Some(137), None)]),
        "nhrp" => v(vec![ip(54)]),
        "sap" => v(vec![t(UDP, 9875, 9875)]),
        _ => None,
    }
}
