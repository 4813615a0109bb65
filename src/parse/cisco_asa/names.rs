//! The ASA's own literal names for ports, protocols and ICMP types.
//!
//! These are the names the ASA accepts (and prints in `show running-config`) in place of
//! numbers, from Cisco's ASA configuration guide, "Addresses, Protocols, and Ports" reference
//! (tables "Protocols", "Ports" and "ICMP Types"). They differ from IOS in places: the ASA's
//! `kerberos` is 750, `radius` 1645, `cifs` 3020, and names such as `aol`, `ctiqbe`,
//! `secureid-udp` or `pcanywhere-data` are ASA-only.

/// TCP/UDP/SCTP port literals the ASA accepts (name, port).
pub const PORTS: &[(&str, u16)] = &[
    ("aol", 5190),
    ("bgp", 179),
    ("biff", 512),
    ("bootpc", 68),
    ("bootps", 67),
    ("chargen", 19),
    ("cifs", 3020),
    ("citrix-ica", 1494),
    ("cmd", 514),
    ("ctiqbe", 2748),
    ("daytime", 13),
    ("discard", 9),
    ("dnsix", 195),
    ("domain", 53),
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
    ("imap4", 143),
    ("irc", 194),
    ("isakmp", 500),
    ("kerberos", 750),
    ("klogin", 543),
    ("kshell", 544),
    ("ldap", 389),
    ("ldaps", 636),
    ("login", 513),
    ("lotusnotes", 1352),
    ("lpd", 515),
    ("mobile-ip", 434),
    ("nameserver", 42),
    ("netbios-dgm", 138),
    ("netbios-ns", 137),
    ("netbios-ssn", 139),
    ("nfs", 2049),
    ("nntp", 119),
    ("ntp", 123),
    ("pcanywhere-data", 5631),
    ("pcanywhere-status", 5632),
    ("pim-auto-rp", 496),
    ("pop2", 109),
    ("pop3", 110),
    ("pptp", 1723),
    ("radius", 1645),
    ("radius-acct", 1646),
    ("rip", 520),
    ("rsh", 514),
    ("rtsp", 554),
    ("secureid-udp", 5510),
    ("sip", 5060),
    ("smtp", 25),
    ("snmp", 161),
    ("snmptrap", 162),
    ("sqlnet", 1521),
    ("ssh", 22),
    ("sunrpc", 111),
    ("syslog", 514),
    ("tacacs", 49),
    ("talk", 517),
    ("telnet", 23),
    ("tftp", 69),
    ("time", 37),
    ("uucp", 540),
    ("vxlan", 4789),
    ("who", 513),
    ("whois", 43),
    ("www", 80),
    ("xdmcp", 177),
];

/// IP protocol literals (name, number). `ip` (any protocol) and `tcp-udp` are handled apart.
pub const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("eigrp", 88),
    ("esp", 50),
    ("gre", 47),
    ("icmp", 1),
    ("icmp6", 58),
    ("igmp", 2),
    ("igrp", 9),
    ("ipinip", 4),
    ("ipsec", 50),
    ("nos", 94),
    ("ospf", 89),
    ("pcp", 108),
    ("pim", 103),
    ("pptp", 47),
    ("sctp", 132),
    ("snp", 109),
    ("tcp", 6),
    ("udp", 17),
];

/// ICMP (IPv4) type literals.
pub const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("alternate-address", 6),
    ("echo", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("information-request", 15),
    ("information-reply", 16),
    ("mask-request", 17),
    ("mask-reply", 18),
    ("traceroute", 30),
    ("conversion-error", 31),
    ("mobile-redirect", 32),
];

/// ICMPv6 type literals.
pub const ICMP6_TYPES: &[(&str, u8)] = &[
    ("unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo", 128),
    ("echo-reply", 129),
    ("membership-query", 130),
    ("membership-report", 131),
    ("membership-reduction", 132),
    ("router-solicitation", 133),
    ("router-advertisement", 134),
    ("neighbor-solicitation", 135),
    ("neighbor-advertisement", 136),
    ("neighbor-redirect", 137),
    ("router-renumbering", 138),
];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

/// Lookup in a table sorted by name: exact (the configuration's own lowercase) by binary
/// search, else ignoring case.
fn lookup_sorted<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    match table.binary_search_by(|(n, _)| (*n).cmp(name)) {
        Ok(i) => table.get(i).map(|(_, v)| *v),
        Err(_) if name.bytes().any(|b| b.is_ascii_uppercase()) => lookup(table, name),
        Err(_) => None,
    }
}

/// A port: a number 0–65535 or an ASA port literal.
pub fn port(s: &str) -> Option<u16> {
    if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return s.parse::<u16>().ok();
    }
    lookup_sorted(PORTS, s)
}

/// A protocol: a number or an ASA protocol literal (not `ip`).
pub fn protocol(s: &str) -> Option<u8> {
    if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return s.parse::<u8>().ok();
    }
    lookup_sorted(PROTOCOLS, s)
}

/// An ICMP type for the protocol (1 ICMP, 58 ICMPv6): a number or a literal.
pub fn icmp_type(s: &str, v6: bool) -> Option<u8> {
    s.parse::<u8>().ok().or_else(|| lookup(if v6 { ICMP6_TYPES } else { ICMP_TYPES }, s))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn name_tables_are_sorted_for_binary_search() {
        assert!(PORTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PROTOCOLS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn asa_literals_differ_from_ios_where_the_asa_says_so() {
        assert_eq!(port("www"), Some(80));
        assert_eq!(port("kerberos"), Some(750));
        assert_eq!(port("radius"), Some(1645));
        assert_eq!(port("HTTPS"), Some(443));
        assert_eq!(port("65535"), Some(65535));
        assert_eq!(port("65536"), None);
        assert_eq!(port("nosuch"), None);
        assert_eq!(protocol("esp"), Some(50));
        assert_eq!(protocol("ip"), None);
        assert_eq!(icmp_type("echo", false), Some(8));
        assert_eq!(icmp_type("echo", true), Some(128));
        assert_eq!(icmp_type("traceroute", false), Some(30));
    }
}
