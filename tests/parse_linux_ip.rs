//! Golden tests for the Linux `ip addr` / `ip route` parsers (text and `-j` JSON): each fixture in
//! `tests/golden/linux_ip/` is detected by content, parsed, and its interfaces, routes and
//! diagnostics are snapshotted. The generated fixtures are the output of `ip` in throwaway
//! network namespaces; the others are written by hand to hold unusual lines.

use std::path::{Path, PathBuf};

use portolan::diag::{codes, Diagnostic, FileStatus};
use portolan::model::{Interface, Route, RouteKind};
use portolan::parse::{self, Format, ParsedFile};
use portolan::report::ParseReport;
use portolan::{InputFile, Workspace};
use serde::Serialize;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/linux_ip")
}

fn load(name: &str) -> (String, ParsedFile) {
    let text = std::fs::read_to_string(golden_dir().join(name)).expect("fixture is readable");
    let parsed = parse::parse(0, name, &text);
    (text, parsed)
}

/// What a snapshot holds: the file's status and line counts, the model it lowers to and its
/// diagnostics.
#[derive(Serialize)]
struct Snapshot<'a> {
    format: Format,
    status: FileStatus,
    lines_total: u32,
    lines_skipped: u32,
    lines_unrecognized: u32,
    interfaces: &'a [Interface],
    routes: &'a [Route],
    diagnostics: &'a [Diagnostic],
}

fn snapshot(p: &ParsedFile) -> Snapshot<'_> {
    Snapshot {
        format: p.format,
        status: p.status(),
        lines_total: p.lines_total,
        lines_skipped: p.lines_skipped,
        lines_unrecognized: p.lines_unrecognized(),
        interfaces: &p.content.interfaces,
        routes: &p.content.routes,
        diagnostics: &p.diags,
    }
}

fn iface<'a>(p: &'a ParsedFile, name: &str) -> &'a Interface {
    p.content.interfaces.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no interface {name}"))
}

fn addrs(i: &Interface) -> Vec<String> {
    i.addresses.iter().map(|a| a.to_string()).collect()
}

fn dsts(p: &ParsedFile) -> Vec<String> {
    p.content.routes.iter().map(|r| r.dst.to_string()).collect()
}

fn codes_of(p: &ParsedFile) -> Vec<(u32, &'static str)> {
    p.diags.iter().map(|d| (d.line, d.code)).collect()
}

/// Every fixture has a test below (a new fixture without one fails here).
#[test]
fn every_fixture_is_tested() {
    let src = include_str!("parse_linux_ip.rs");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(golden_dir()).expect("fixture folder") {
        let name = e.expect("entry").file_name().to_string_lossy().to_string();
        if !src.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}

macro_rules! golden {
    ($test:ident, $file:literal, $format:expr, |$p:ident| $checks:block) => {
        #[test]
        fn $test() {
            let (_text, $p) = load($file);
            assert_eq!($p.format, $format, "detected format of {}", $file);
            insta::assert_json_snapshot!($file, snapshot(&$p));
            $checks
        }
    };
}

golden!(ip_addr, "ip-addr.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert_eq!(p.content.interfaces.len(), 7);
    assert!(iface(&p, "lo").up, "state UNKNOWN with the UP flag");
    assert!(!iface(&p, "v3").up, "LOWERLAYERDOWN");
    assert!(!iface(&p, "v2").up, "administratively down");
    assert_eq!(
        addrs(iface(&p, "v0")),
        ["10.9.0.1/24", "10.9.0.5/24", "2001:db8::1/64", "fe80::c411:9dff:fed4:aae4/64"]
    );
    assert_eq!(addrs(iface(&p, "v3")), ["192.0.2.1/24"], "labelled address belongs to the interface");
    assert_eq!(addrs(iface(&p, "v2")), ["10.11.0.1/30"], "peer prefix holds the local address");
    assert_eq!(addrs(iface(&p, "wan0")), ["100.64.1.5/32", "fe80::1cb3:b8ff:febf:4097/64"]);
    // The peer outside the local prefix: the kernel's route to it comes from the address line.
    assert_eq!(dsts(&p), ["100.64.0.1/32"]);
    assert_eq!(p.content.routes[0].dev.as_deref(), Some("wan0"));
});

golden!(ip_4_addr, "ip-4-addr.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.content.interfaces.iter().all(|i| i.addresses.iter().all(|a| a.addr().is_ipv4())));
});

golden!(ip_6_addr, "ip-6-addr.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.content.interfaces.iter().all(|i| i.addresses.iter().all(|a| a.addr().is_ipv6())));
});

golden!(ip_4_addr_anonymised, "ip-4-addr-anonymised.txt", Format::IpAddr, |p| {
    // The placeholder and the anonymised link-local address are bad values; nothing else is.
    assert_eq!(codes_of(&p), [(6, codes::BAD_VALUE), (16, codes::BAD_VALUE)]);
    assert_eq!(p.diags[0].context, "ip addr interface ext0");
    assert_eq!(p.status(), FileStatus::Partial);
    assert!(iface(&p, "ext0").addresses.is_empty(), "interface kept, without an address");
    assert_eq!(addrs(iface(&p, "lan0.30")), ["172.20.30.254/24", "172.20.30.1/24"]);
    assert!(iface(&p, "vpn0").up);
    assert!(!iface(&p, "lan1").up);
    assert_eq!(p.lines_skipped, 5, "comment, blank, two link/ lines, valid_lft");
});

golden!(ip_6_addr_old_format, "ip-6-addr-old-format.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(iface(&p, "eth0").up, "no state printed: the UP flag decides");
    assert!(!iface(&p, "eth1").up, "NO-CARRIER");
    assert!(!iface(&p, "wlan0").up, "DORMANT");
    assert_eq!(addrs(iface(&p, "eth0")), ["2001:db8:10::1/64", "2001:db8:ffff::1/128", "fe80::1/64"]);
});

golden!(ip_d_s_addr, "ip-d-s-addr.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert_eq!(p.lines_skipped, 8, "link details, altname, lifetimes and counters");
});

golden!(ip_o_addr, "ip-o-addr.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, full) = load("ip-addr.txt");
    // Same addresses as the multi-line dump of the same namespace (interfaces without
    // addresses are not listed by `ip -o addr`).
    for i in &p.content.interfaces {
        assert_eq!(addrs(i), addrs(iface(&full, &i.name)), "{}", i.name);
    }
    assert_eq!(dsts(&p), dsts(&full));
});

golden!(ip_br_addr, "ip-br-addr.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, full) = load("ip-addr.txt");
    for i in &full.content.interfaces {
        let b = iface(&p, &i.name);
        assert_eq!(addrs(b), addrs(i), "{}", i.name);
        assert_eq!(b.up, i.up, "{}", i.name);
    }
    assert_eq!(dsts(&p), dsts(&full));
});

golden!(ip_addr_json, "ip-addr.json", Format::IpAddrJson, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, text) = load("ip-addr.txt");
    for i in &text.content.interfaces {
        let j = iface(&p, &i.name);
        assert_eq!(addrs(j), addrs(i), "{}", i.name);
        assert_eq!(j.up, i.up, "{}", i.name);
    }
    assert_eq!(dsts(&p), dsts(&text));
});

golden!(ip_addr_pretty_json, "ip-addr-pretty.json", Format::IpAddrJson, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, compact) = load("ip-addr.json");
    assert_eq!(p.content.interfaces.len(), compact.content.interfaces.len());
    // Provenance: the line of each interface object's opening brace, same text as compact JSON.
    let lines: Vec<u32> = p.content.interfaces.iter().map(|i| i.prov.line).collect();
    assert_eq!(lines.first(), Some(&1));
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    for (a, b) in p.content.interfaces.iter().zip(&compact.content.interfaces) {
        assert_eq!(a.prov.text, b.prov.text);
    }
});

golden!(ip_4_addr_json, "ip-4-addr.json", Format::IpAddrJson, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.content.interfaces.iter().all(|i| i.addresses.iter().all(|a| a.addr().is_ipv4())));
});

golden!(ip_addr_bad_json, "ip-addr-bad.json", Format::IpAddrJson, |p| {
    assert_eq!(
        codes_of(&p),
        [
            (7, codes::BAD_VALUE),
            (12, codes::BAD_VALUE),
            (12, codes::BAD_VALUE),
            (12, codes::BAD_VALUE),
            (22, codes::BAD_VALUE)
        ]
    );
    // Lines are those of each element's opening brace (`},{` puts it on the closing line).
    assert!(p.diags[0].text.starts_with("/1 "), "{}", p.diags[0].text);
    assert!(p.diags[1].text.starts_with("/2/addr_info/0 "), "{}", p.diags[1].text);
    assert_eq!(p.status(), FileStatus::Partial);
    assert_eq!(addrs(iface(&p, "eth0")), ["192.0.2.9/24"]);
    assert_eq!(p.content.interfaces.len(), 2);
});

golden!(ip_route, "ip-route.txt", Format::IpRoute, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert_eq!(
        dsts(&p),
        [
            "0.0.0.0/0",
            "10.9.0.0/24",
            "100.64.0.1/32",
            "172.16.0.0/12",
            "172.16.0.0/12",
            "192.0.2.0/24",
            "198.18.0.0/15",
            "198.51.100.7/32",
            "203.0.113.0/24",
            "203.0.113.128/25"
        ]
    );
    let kinds: Vec<RouteKind> = p.content.routes.iter().map(|r| r.kind).collect();
    assert_eq!(kinds[6], RouteKind::Prohibit);
    assert_eq!(kinds[8], RouteKind::Blackhole);
    assert_eq!(kinds[9], RouteKind::Unreachable);
    let mp: Vec<(u32, String)> = p
        .content
        .routes
        .iter()
        .filter(|r| r.dst.to_string() == "172.16.0.0/12")
        .map(|r| (r.prov.line, r.via.unwrap().to_string()))
        .collect();
    assert_eq!(mp, [(5, "10.9.0.2".to_string()), (6, "10.9.0.3".to_string())]);
});

golden!(ip_6_route, "ip-6-route.txt", Format::IpRoute, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert!(p.content.routes.iter().all(|r| r.dst.addr().is_ipv6()));
    assert_eq!(p.content.routes.last().map(|r| r.dst.to_string()), Some("::/0".into()));
});

golden!(ip_6_route_table_7, "ip-6-route-table-7.txt", Format::IpRoute, |p| {
    // No gateway, no other line: `pref` is printed for IPv6 routes only.
    assert_eq!(dsts(&p), ["::/0"]);
});

golden!(ip_route_table_all, "ip-route-table-all.txt", Format::IpRoute, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let r = &p.content.routes;
    // `default dev wan0 table 7` sits among the IPv4 routes; `default dev v0 table 7 … pref`
    // among the IPv6 ones.
    let t7: Vec<String> = r.iter().filter(|r| r.table == "7").map(|r| r.dst.to_string()).collect();
    assert_eq!(t7, ["0.0.0.0/0", "::/0"]);
    assert!(r.iter().any(|r| r.table == "local" && r.kind == RouteKind::Local));
    assert!(r.iter().any(|r| r.table == "100" && r.kind == RouteKind::Other), "throw");
    // broadcast and multicast routes are cosmetic: skipped, not routes.
    assert!(p.lines_skipped >= 5);
});

golden!(ip_o_route, "ip-o-route.txt", Format::IpRoute, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, full) = load("ip-route.txt");
    assert_eq!(dsts(&p), dsts(&full));
});

golden!(ip_route_json, "ip-route.json", Format::IpRouteJson, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, text) = load("ip-route.txt");
    assert_eq!(dsts(&p), dsts(&text));
    for (a, b) in p.content.routes.iter().zip(&text.content.routes) {
        assert_eq!(
            (a.via, &a.dev, a.kind, a.metric, a.src, &a.table),
            (b.via, &b.dev, b.kind, b.metric, b.src, &b.table)
        );
    }
});

golden!(ip_6_route_json, "ip-6-route.json", Format::IpRouteJson, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, text) = load("ip-6-route.txt");
    assert_eq!(dsts(&p), dsts(&text));
});

golden!(ip_route_table_all_pretty_json, "ip-route-table-all-pretty.json", Format::IpRouteJson, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    let (_, text) = load("ip-route-table-all.txt");
    assert_eq!(dsts(&p), dsts(&text));
    let tables: Vec<&str> = p.content.routes.iter().map(|r| r.table.as_str()).collect();
    let text_tables: Vec<&str> = text.content.routes.iter().map(|r| r.table.as_str()).collect();
    assert_eq!(tables, text_tables);
    let lines: Vec<u32> = p.content.routes.iter().map(|r| r.prov.line).collect();
    assert_eq!(lines.first(), Some(&1));
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(lines.last().is_some_and(|l| *l > 250), "{lines:?}");
});

golden!(ip_addr_and_route, "ip-addr-and-route.txt", Format::IpAddr, |p| {
    assert_eq!(p.status(), FileStatus::Ok);
    assert_eq!(p.content.interfaces.len(), 3);
    assert_eq!(iface(&p, "sit1").name, "sit1", "@NONE dropped");
    // `default dev sit1` has no gateway, and the route before it is IPv4; sit1's own addresses
    // in the same file are IPv6.
    assert_eq!(dsts(&p), ["0.0.0.0/0", "198.51.100.0/24", "::/0"]);
});

golden!(ip_route_oddities, "ip-route-oddities.txt", Format::IpRoute, |p| {
    assert_eq!(
        codes_of(&p),
        [
            (4, codes::HOST_BITS),
            (6, codes::UNMODELLED_MATCH),
            (7, codes::UNMODELLED_MATCH),
            (8, codes::BAD_VALUE),
            (9, codes::UNRECOGNIZED),
            (16, codes::STRUCTURE),
            (17, codes::UNRECOGNIZED),
            (18, codes::STRUCTURE),
        ]
    );
    let find = |d: &str| p.content.routes.iter().find(|r| r.dst.to_string() == d).unwrap_or_else(|| panic!("{d}"));
    assert_eq!(find("10.1.1.0/24").dev.as_deref(), Some("eth0"));
    assert_eq!(find("10.20.0.0/16").via, Some("fe80::1".parse().unwrap()));
    assert_eq!(find("10.30.0.0/16").via, Some("10.0.0.1".parse().unwrap()), "encap parameters end at via");
    assert_eq!(find("10.80.0.0/16").via, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(find("192.0.2.10/32").kind, RouteKind::Other);
    assert_eq!(find("2001:db8:10::/128").kind, RouteKind::Local);
    let nh: Vec<Option<&str>> =
        p.content.routes.iter().filter(|r| r.dst.to_string() == "10.60.0.0/16").map(|r| r.dev.as_deref()).collect();
    assert_eq!(nh, [Some("eth0"), Some("tun0")]);
    assert!(!dsts(&p).contains(&"10.70.0.0/16".to_string()), "nothing to forward to");
});

golden!(ip_route_odd_json, "ip-route-odd.json", Format::IpRouteJson, |p| {
    let got: Vec<&str> = p.diags.iter().map(|d| d.code).collect();
    assert_eq!(got, ["P007", "P002", "P002", "P001", "P004", "P004", "P004", "P006"]);
    assert_eq!(p.status(), FileStatus::Partial);
    let d = dsts(&p);
    assert_eq!(d.first().map(String::as_str), Some("0.0.0.0/0"), "wg0 default: nothing says IPv6 before it");
    assert_eq!(d.last().map(String::as_str), Some("::/0"), "pref");
    assert!(
        p.content.routes.iter().any(|r| r.table == "main" && r.dst.to_string() == "10.60.0.0/16"),
        "table 254 is main"
    );
});

golden!(ip_route_truncated_json, "ip-route-truncated.json", Format::IpRouteJson, |p| {
    assert_eq!(codes_of(&p), [(3, codes::UNREADABLE)]);
    assert_eq!(p.status(), FileStatus::Failed);
    assert!(p.content.routes.is_empty());
});

/// The whole pipeline: files in one folder become one device whose interfaces hold the
/// addresses of both `ip -4` and `ip -6` dumps.
#[test]
fn workspace_merges_dumps_of_one_device() {
    let read = |n: &str| std::fs::read_to_string(golden_dir().join(n)).unwrap();
    let ws = Workspace::load(vec![
        InputFile::new("fw1/ip-4-addr", read("ip-4-addr.txt")),
        InputFile::new("fw1/ip-6-addr", read("ip-6-addr.txt")),
        InputFile::new("fw1/ip-route.json", read("ip-route.json")),
    ]);
    let rep = ParseReport::build(&ws);
    assert!(rep.inputs.iter().all(|i| i.status == FileStatus::Ok && i.device.as_deref() == Some("fw1")));
    assert_eq!(rep.devices.len(), 1);
    let dev = &rep.devices[0];
    assert!(
        dev.interfaces.contains(&"v0 10.9.0.1/24 10.9.0.5/24 2001:db8::1/64 fe80::c411:9dff:fed4:aae4/64".to_string()),
        "{:?}",
        dev.interfaces
    );
    assert_eq!(dev.routes, 10 + 1, "ip -j route plus the peer route of ip -4 addr");
    assert_eq!(rep.inputs[0].coverage, 100.0);
}

/// Third-party dumps in the shared corpus: every legitimate line is understood. Only the
/// anonymised values (`[PUBLIC IP HERE]`, `fe80::2XX:…`) get a diagnostic, a bad value.
#[test]
fn corpus_dumps_parse_with_full_coverage() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.exists() {
        eprintln!("corpus not present at {}: skipped", root.display());
        return;
    }
    let chair = "iptables/net-network/configs_chair_for_Network_Architectures_and_Services";
    let openlab = "iptables/net-network/configs_openlab/stettenstr/doku";
    let files: [(String, Format, usize, usize); 12] = [
        ("iptables/net-network/config_home_user/ip_addr".into(), Format::IpAddr, 14, 0),
        (format!("{chair}/ip-addr-2016-06-27_16-29-01"), Format::IpAddr, 27, 0),
        (format!("{chair}/ip6-addr-2016-06-27_16-29-01"), Format::IpAddr, 27, 0),
        (format!("{chair}/ip-route-2016-06-27_16-29-01"), Format::IpRoute, 0, 27),
        (format!("{chair}/ip-route-500-2016-06-27_16-29-01"), Format::IpRoute, 0, 11),
        ("iptables/net-network/configs_corny_docker/dfwfw/routingtbldocker".into(), Format::IpRoute, 0, 4),
        (format!("{openlab}/ip-4-addr-show.txt"), Format::IpAddr, 10, 0),
        (format!("{openlab}/ip-route-list.txt"), Format::IpRoute, 0, 53),
        (format!("{openlab}/ip-route-list-table-DSL.txt"), Format::IpRoute, 0, 18),
        (format!("{openlab}/ip-route-list-table-KABEL.txt"), Format::IpRoute, 0, 18),
        (format!("{openlab}/ip-route-list-table-FREIFUNK.txt"), Format::IpRoute, 0, 2),
        ("nftables/net-network/config_ongy_flat_share/2015_aug_ipaddrs".into(), Format::IpAddr, 5, 0),
    ];
    let mut seen = 0;
    for (rel, format, n_ifaces, n_routes) in &files {
        let path = root.join(rel);
        let Ok(text) = std::fs::read_to_string(&path) else { panic!("missing corpus file {rel}") };
        let p = parse::parse(0, rel, &text);
        assert_eq!(p.format, *format, "{rel}");
        assert_eq!((p.content.interfaces.len(), p.content.routes.len()), (*n_ifaces, *n_routes), "{rel}");
        for d in &p.diags {
            let anonymised = d.text.contains('[') || d.text.contains("XX");
            assert!(d.code == codes::BAD_VALUE && anonymised, "{rel}: {}", portolan::diag::render(rel, d));
        }
        seen += 1;
    }
    assert_eq!(seen, files.len());
    // Not `ip` output: not claimed.
    for rel in [
        format!("{openlab}/ifconfig-a.txt"),
        format!("{openlab}/route-n.txt"),
        format!("{openlab}/ip-rule.txt"),
        format!("{chair}/ip-rule-2016-06-27_16-29-01"),
    ] {
        let text = std::fs::read_to_string(root.join(&rel)).expect("corpus file");
        assert_eq!(parse::detect(&text), Format::Unknown, "{rel}");
    }
}

/// The pipeline on a corpus device: the TUM chair's address and route dumps in one folder.
#[test]
fn corpus_device_from_folder() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/iptables/net-network/configs_chair_for_Network_Architectures_and_Services");
    if !dir.exists() {
        return;
    }
    let names = ["ip-addr-2016-06-27_16-29-01", "ip6-addr-2016-06-27_16-29-01", "ip-route-2016-06-27_16-29-01"];
    let inputs = names
        .iter()
        .map(|n| InputFile::new(format!("chair/{n}"), std::fs::read_to_string(dir.join(n)).expect("corpus file")))
        .collect();
    let ws = Workspace::load(inputs);
    let dev = ws.network.device("chair").expect("one device named by the folder");
    assert_eq!(dev.interfaces.len(), 27);
    let e96 = dev.interfaces.iter().find(|i| i.name == "eth1.96").expect("eth1.96");
    assert!(e96.up);
    assert!(e96.addresses.iter().any(|a| a.to_string() == "131.159.14.3/25"));
    assert!(e96.addresses.iter().any(|a| a.to_string() == "2001:4ca0:2001:10::1/64"));
    let defaults = dev.routes.iter().filter(|r| r.dst.prefix_len() == 0).count();
    assert_eq!(defaults, 2);
    assert!(dev.routes.iter().any(|r| r.kind == RouteKind::Blackhole && r.dst.to_string() == "131.159.14.0/23"));
}
