//! Cisco keyword tables: protocol names, port names per protocol and ICMP message names, as the
//! IOS, IOS-XE, NX-OS, IOS-XR and Arista EOS command references list them (`permit tcp any any eq
//! ?` and `permit icmp any any ?` help output).

use crate::space::proto;

/// An IP protocol by name or number (`tcp`, `47`). `v6` makes `icmp` mean ICMPv6.
pub fn protocol(word: &str, v6: bool) -> Option<u8> {
    if let Ok(n) = word.parse::<u8>() {
        return Some(n);
    }
    if word.bytes().any(|b| b.is_ascii_uppercase()) {
        return protocol(&word.to_ascii_lowercase(), v6);
    }
    Some(match word {
        "icmp" if v6 => proto::ICMPV6,
        "icmp" => proto::ICMP,
        "icmpv6" | "ipv6-icmp" => proto::ICMPV6,
        "igmp" => 2,
        "ipinip" | "ip-in-ip" => 4,
        "tcp" => proto::TCP,
        "egp" => 8,
        "igrp" => 9,
        "udp" => proto::UDP,
        "gre" => 47,
        "esp" => 50,
        "ahp" | "ah" => 51,
        "eigrp" => 88,
        "ospf" => 89,
        "nos" => 94,
        "pim" => 103,
        "pcp" => 108,
        "vrrp" => 112,
        "l2tp" => 115,
        "sctp" => proto::SCTP,
        _ => return None,
    })
}

/// TCP port names (IOS `eq ?` for tcp, with the EOS and NX-OS additions).
const TCP_PORTS: &[(&str, u16)] = &[
    ("bgp", 179),
    ("chargen", 19),
    ("citrix-ica", 1494),
    ("cmd", 514),
    ("ctiqbe", 2748),
    ("daytime", 13),
    ("discard", 9),
    ("domain", 53),
    ("drip", 3949),
    ("echo", 7),
    ("exec", 512),
    ("finger", 79),
    ("ftp", 21),
    ("ftp-data", 20),
    ("gopher", 70),
    ("h323", 1720),
    ("hostname", 101),
    ("http", 80),
    ("https", 443),
    ("ident", 113),
    ("imap", 143),
    ("imap4", 143),
    ("irc", 194),
    ("kerberos", 88),
    ("klogin", 543),
    ("kshell", 544),
    ("ldap", 389),
    ("ldaps", 636),
    ("login", 513),
    ("lotusnotes", 1352),
    ("lpd", 515),
    ("msrpc", 135),
    ("netbios-ssn", 139),
    ("netbios-ss", 139),
    ("nfs", 2049),
    ("nntp", 119),
    ("onep-plain", 15001),
    ("onep-tls", 15002),
    ("pcanywhere-data", 5631),
    ("pim-auto-rp", 496),
    ("pop2", 109),
    ("pop3", 110),
    ("pptp", 1723),
    ("rsh", 514),
    ("rtsp", 554),
    ("sip", 5060),
    ("smtp", 25),
    ("sqlnet", 1521),
    ("ssh", 22),
    ("sunrpc", 111),
    ("tacacs", 49),
    ("tacacs-ds", 65),
    ("talk", 517),
    ("telnet", 23),
    ("time", 37),
    ("uucp", 540),
    ("whois", 43),
    ("www", 80),
];

/// UDP port names (IOS `eq ?` for udp, with the EOS and NX-OS additions).
const UDP_PORTS: &[(&str, u16)] = &[
    ("biff", 512),
    ("bootpc", 68),
    ("bootps", 67),
    ("discard", 9),
    ("dnsix", 195),
    ("domain", 53),
    ("echo", 7),
    ("isakmp", 500),
    ("kerberos", 88),
    ("mobile-ip", 434),
    ("nameserver", 42),
    ("netbios-dgm", 138),
    ("netbios-ns", 137),
    ("netbios-ss", 139),
    ("non500-isakmp", 4500),
    ("ntp", 123),
    ("pim-auto-rp", 496),
    ("radius", 1812),
    ("radius-acct", 1813),
    ("rip", 520),
    ("ripng", 521),
    ("snmp", 161),
    ("snmptrap", 162),
    ("sunrpc", 111),
    ("syslog", 514),
    ("tacacs", 49),
    ("talk", 517),
    ("tftp", 69),
    ("time", 37),
    ("who", 513),
    ("xdmcp", 177),
];

/// A port by number or by the name the protocol's port list gives it. For several protocols
/// (an object-group `tcp-udp` entry) the name must mean the same number for each.
pub fn port(word: &str, protos: &[u8]) -> Option<u16> {
    if let Ok(n) = word.parse::<u16>() {
        return Some(n);
    }
    if word.is_empty() || word.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let mut found: Option<u16> = None;
    for &p in protos {
        let table = match p {
            proto::TCP => TCP_PORTS,
            proto::UDP => UDP_PORTS,
            // SCTP shares the TCP names on the platforms that accept SCTP ports.
            proto::SCTP => TCP_PORTS,
            _ => return None,
        };
        let n = table.iter().find(|(name, _)| name.eq_ignore_ascii_case(word))?.1;
        match found {
            Some(f) if f != n => return None,
            _ => found = Some(n),
        }
    }
    found
}

/// ICMP (IPv4) message names: type, and code when the name selects one code.
const ICMP4: &[(&str, u8, Option<u8>)] = &[
    ("administratively-prohibited", 3, Some(13)),
    ("alternate-address", 6, None),
    ("conversion-error", 31, None),
    ("dod-host-prohibited", 3, Some(10)),
    ("dod-net-prohibited", 3, Some(9)),
    ("echo", 8, None),
    ("echo-reply", 0, None),
    ("echo-request", 8, None),
    ("general-parameter-problem", 12, Some(0)),
    ("host-isolated", 3, Some(8)),
    ("host-precedence-unreachable", 3, Some(14)),
    ("host-redirect", 5, Some(1)),
    ("host-tos-redirect", 5, Some(3)),
    ("host-tos-unreachable", 3, Some(12)),
    ("host-unknown", 3, Some(7)),
    ("host-unreachable", 3, Some(1)),
    ("information-reply", 16, None),
    ("information-request", 15, None),
    ("mask-reply", 18, None),
    ("mask-request", 17, None),
    ("mobile-redirect", 32, None),
    ("net-redirect", 5, Some(0)),
    ("net-tos-redirect", 5, Some(2)),
    ("net-tos-unreachable", 3, Some(11)),
    ("net-unknown", 3, Some(6)),
    ("net-unreachable", 3, Some(0)),
    ("network-unknown", 3, Some(6)),
    ("no-room-for-option", 12, Some(2)),
    ("option-missing", 12, Some(1)),
    ("packet-too-big", 3, Some(4)),
    ("parameter-problem", 12, None),
    ("port-unreachable", 3, Some(3)),
    ("precedence-unreachable", 3, Some(15)),
    ("protocol-unreachable", 3, Some(2)),
    ("reassembly-timeout", 11, Some(1)),
    ("redirect", 5, None),
    ("router-advertisement", 9, None),
    ("router-solicitation", 10, None),
    ("source-quench", 4, None),
    ("source-route-failed", 3, Some(5)),
    ("time-exceeded", 11, None),
    ("timestamp-reply", 14, None),
    ("timestamp-request", 13, None),
    ("traceroute", 30, None),
    ("ttl-exceeded", 11, Some(0)),
    ("unreachable", 3, None),
];

/// ICMPv6 message names.
const ICMP6: &[(&str, u8, Option<u8>)] = &[
    ("beyond-scope", 1, Some(2)),
    ("destination-unreachable", 1, None),
    ("echo", 128, None),
    ("echo-reply", 129, None),
    ("echo-request", 128, None),
    ("header", 4, Some(2)),
    ("hop-limit", 3, Some(0)),
    ("mld-query", 130, None),
    ("mld-reduction", 132, None),
    ("mld-report", 131, None),
    ("nd-na", 136, None),
    ("nd-ns", 135, None),
    ("neighbor-advertisement", 136, None),
    ("neighbor-solicitation", 135, None),
    ("next-header", 4, Some(1)),
    ("no-admin", 1, Some(1)),
    ("no-route", 1, Some(0)),
    ("packet-too-big", 2, None),
    ("parameter-option", 4, Some(2)),
    ("parameter-problem", 4, None),
    ("port-unreachable", 1, Some(4)),
    ("reassembly-timeout", 3, Some(1)),
    ("redirect", 137, None),
    ("router-advertisement", 134, None),
    ("router-renumbering", 138, None),
    ("router-solicitation", 133, None),
    ("time-exceeded", 3, None),
    ("unreachable", 1, None),
];

/// An ICMP message by name: (type, code).
pub fn icmp(word: &str, v6: bool) -> Option<(u8, Option<u8>)> {
    let table = if v6 { ICMP6 } else { ICMP4 };
    table.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(word)).map(|&(_, t, c)| (t, c))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn names_resolve_per_protocol() {
        assert_eq!(port("www", &[proto::TCP]), Some(80));
        assert_eq!(port("bootps", &[proto::UDP]), Some(67));
        assert_eq!(port("bootps", &[proto::TCP]), None);
        assert_eq!(port("domain", &[proto::TCP, proto::UDP]), Some(53));
        assert_eq!(port("syslog", &[proto::TCP, proto::UDP]), None);
        assert_eq!(port("65535", &[proto::TCP]), Some(65535));
        assert_eq!(port("65536", &[proto::TCP]), None);
        assert_eq!(protocol("icmp", true), Some(58));
        assert_eq!(protocol("gre", false), Some(47));
        assert_eq!(icmp("port-unreachable", false), Some((3, Some(3))));
        assert_eq!(icmp("echo", true), Some((128, None)));
    }
}
