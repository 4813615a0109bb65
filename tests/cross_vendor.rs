//! Same intent, every vendor: `../shared/corpus/aerleon-rendered/out/` holds one edge-inbound
//! policy rendered by aerleon into many vendors' formats (its README lists the renderings that
//! deviate). Every rendering Portolan reads is evaluated as a filter on its own, and for every
//! pair the sets of allowed packets must be equal, except where a listed deviation explains the
//! difference; any other difference is printed as a readable set. Where a rendering's answer is
//! "possibly" (a PAN-OS rule naming an application: only traffic identified as that application
//! matches it), the rendering has a lower bound (definitely allowed) and an upper bound
//! (possibly allowed), and each other rendering must lie between them.
//!
//! Exactness: every condition of every rendering is an interval per header field, so the
//! product of the intervals between all renderings' boundaries (per field) partitions the
//! packets into cells that each rendering treats alike. One packet per cell, evaluated by each
//! filter, decides the whole cell.

use std::collections::BTreeMap;
use std::path::PathBuf;

use portolan::reach::{Analyzer, CNetwork, TestRow};
use portolan::space::{self, Cube, Dim, PacketSet, Ranges};
use portolan::{InputFile, Workspace};

/// (file in `out/`, the filter that holds the intent).
const RENDERINGS: &[(&str, &str)] = &[
    ("xv_arista.eacl", "edge-inbound"),
    ("xv_brocade.bacl", "edge-inbound"),
    ("xv_cisco.acl", "edge-inbound"),
    ("xv_ciscoasa.asa", "asa_in"),
    ("xv_cisconx.nxacl", "edge-inbound"),
    ("xv_ciscoxr.xacl", "edge-inbound"),
    ("xv_fortigate.fgacl", "firewall/policy"),
    ("xv_iptables", "filter/INPUT"),
    ("xv_speedway.ipt", "filter/INPUT"),
    ("xv_juniper.jcl", "edge-inbound"),
    ("xv_juniperevo.evojcl", "edge-inbound"),
    ("xv_srx.srx", "from-zone untrust to-zone dmz"),
    ("xv_nftables.nft", "root0"),
    ("xv_paloalto.xml", "from-zone untrust to-zone dmz"),
];

/// Interfaces a rendering's rules name (FortiGate policies name `srcintf` and `dstintf`).
fn interfaces(file: &str) -> (Option<String>, Option<String>) {
    match file {
        "xv_fortigate.fgacl" => (Some("port1".into()), Some("port2".into())),
        _ => (None, None),
    }
}

/// Renderings without the ICMP term (aerleon 1.18.0 crashes on it for these targets: the
/// README's "Per-target deviations").
const NO_ICMP_TERM: &[&str] = &["xv_fortigate.fgacl", "xv_nftables.nft"];

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/aerleon-rendered/out"));
    if p.is_dir() {
        Some(p)
    } else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "the corpus must be present in CI");
        eprintln!("corpus not found at {}: skipped", p.display());
        None
    }
}

/// The intervals between consecutive boundaries of `cuts` inside `within`.
fn atoms(cuts: &[u128], lo: u128, hi: u128) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    let mut cur = lo;
    for &c in cuts.iter().filter(|&&c| c > lo && c <= hi) {
        out.push((cur, c - 1));
        cur = c;
    }
    out.push((cur, hi));
    out
}

#[test]
fn every_rendering_allows_the_same_packets() {
    let Some(dir) = corpus() else { return };
    // Each rendering is its own device (named by a folder of its own).
    let files: Vec<InputFile> = RENDERINGS
        .iter()
        .map(|(f, _)| InputFile { path: format!("{f}/{f}"), bytes: std::fs::read(dir.join(f)).unwrap() })
        .collect();
    let ws = Workspace::load(files);
    // Every statement read and modelled (a note on the file's shape is fine).
    for f in &ws.files {
        let unread: Vec<_> = f
            .parsed
            .diags
            .iter()
            .filter(|d| d.severity >= portolan::diag::Severity::Warning && matches!(d.code, "P001" | "P002" | "P003" | "P005"))
            .collect();
        assert!(unread.is_empty(), "{} is not fully read: {unread:?}", f.path);
    }
    let net = CNetwork::build(&ws.network);
    // Boundaries per field over every rule of every rendering.
    let mut cuts: BTreeMap<Dim, Vec<u128>> = BTreeMap::new();
    for d in &net.devices {
        for rs in &d.rulesets {
            for r in &rs.rules {
                for cube in r.set.cubes() {
                    for dim in [Dim::Src, Dim::Dst, Dim::Proto, Dim::Sport, Dim::Dport, Dim::IcmpType] {
                        for &(lo, hi) in cube.get(dim).as_slice() {
                            let v = cuts.entry(dim).or_default();
                            v.push(lo);
                            v.push(hi.wrapping_add(1));
                        }
                    }
                }
            }
        }
    }
    for v in cuts.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    let cut = |d: Dim| cuts.get(&d).cloned().unwrap_or_default();
    let v4 = (space::V4_BASE, space::V4_LAST);
    let srcs = atoms(&cut(Dim::Src), v4.0, v4.1);
    let dsts = atoms(&cut(Dim::Dst), v4.0, v4.1);
    let sports = atoms(&cut(Dim::Sport), 0, 65535);
    let dports = atoms(&cut(Dim::Dport), 0, 65535);
    let types = atoms(&cut(Dim::IcmpType), 0, 255);
    let protos = atoms(&cut(Dim::Proto), 0, 255);
    // (protocol cell, source port cell, destination port or ICMP type cell)
    type Cell = (u128, u128);
    let mut l4: Vec<(Cell, Cell, Cell)> = Vec::new();
    for &p in &protos {
        match p.0 as u8 {
            6 | 17 if p.0 == p.1 => {
                for &s in &sports {
                    for &d in &dports {
                        l4.push((p, s, d));
                    }
                }
            }
            1 if p.0 == p.1 => l4.extend(types.iter().map(|&t| (p, (0, 0), t))),
            _ => l4.push((p, (0, 0), (0, 0))),
        }
    }
    let cells = srcs.len() * dsts.len() * l4.len();
    assert!(cells < 200_000, "{cells} cells");

    let an = Analyzer::new(&ws);
    // The device each rendering became (its folder, or the name the file states).
    let devices: Vec<String> = ws.files.iter().map(|f| f.device.clone().unwrap_or_else(|| panic!("{} has no device", f.path))).collect();
    // Per rendering, the allowed cells.
    let mut allowed: Vec<PacketSet> = vec![PacketSet::empty(); RENDERINGS.len()];
    let mut cubes: Vec<Vec<Cube>> = vec![Vec::new(); RENDERINGS.len()];
    let mut maybe_cubes: Vec<Vec<Cube>> = vec![Vec::new(); RENDERINGS.len()];
    for &s in &srcs {
        for &d in &dsts {
            for &(p, sp, dp) in &l4 {
                let proto = p.0 as u8;
                let row = TestRow {
                    src: space::u128_to_addr(s.0).to_string(),
                    dst: space::u128_to_addr(d.0).to_string(),
                    proto: proto.to_string(),
                    port: if matches!(proto, 6 | 17 | 1) { dp.0.to_string() } else { String::new() },
                    sport: matches!(proto, 6 | 17).then_some(sp.0 as u16),
                    in_iface: None,
                    out_iface: None,
                    state: None,
                };
                let mut cube = Cube::full();
                cube.set(Dim::Src, Ranges::range(s.0, s.1));
                cube.set(Dim::Dst, Ranges::range(d.0, d.1));
                cube.set(Dim::Proto, Ranges::range(p.0, p.1));
                if matches!(proto, 6 | 17) {
                    cube.set(Dim::Sport, Ranges::range(sp.0, sp.1));
                    cube.set(Dim::Dport, Ranges::range(dp.0, dp.1));
                } else if proto == 1 {
                    cube.set(Dim::IcmpType, Ranges::range(dp.0, dp.1));
                }
                for (i, (file, filter)) in RENDERINGS.iter().enumerate() {
                    let (in_iface, out_iface) = interfaces(file);
                    let row = TestRow { in_iface, out_iface, ..row.clone() };
                    let a = an.test_filter(&format!("{}:{filter}", devices[i]), &row).unwrap_or_else(|e| panic!("{file}: {e}"));
                    match a.verdict.as_str() {
                        "allowed" => cubes[i].push(cube.clone()),
                        "denied" => {}
                        "possibly" => {
                            // Only an application match may leave the answer open.
                            assert!(a.uncertain.iter().all(|u| u.contains("application")), "{file} {row:?}: {a:?}");
                            maybe_cubes[i].push(cube.clone());
                        }
                        other => panic!("{file} {row:?}: {other} {a:?}"),
                    }
                }
            }
        }
    }
    for (i, cs) in cubes.into_iter().enumerate() {
        for c in cs {
            allowed[i] = allowed[i].union(&PacketSet::from_cube(c));
        }
    }
    let mut upper = allowed.clone();
    for (i, cs) in maybe_cubes.into_iter().enumerate() {
        for c in cs {
            upper[i] = upper[i].union(&PacketSet::from_cube(c));
        }
    }
    // The ICMP term: echo requests to the web servers from anywhere but the bogons.
    let icmp_term: PacketSet = allowed[RENDERINGS.iter().position(|r| r.0 == "xv_cisco.acl").unwrap()].intersect(&{
        let mut c = Cube::full();
        c.set(Dim::Proto, Ranges::single(1));
        PacketSet::from_cube(c)
    });
    assert!(!icmp_term.is_empty(), "the reference rendering allows ICMP echo to the web servers");
    let mut problems = Vec::new();
    for i in 0..RENDERINGS.len() {
        for j in i + 1..RENDERINGS.len() {
            // Definitely allowed by one, not even possibly by the other.
            let mut diff = allowed[i].difference(&upper[j]).union(&allowed[j].difference(&upper[i]));
            let explained = NO_ICMP_TERM.contains(&RENDERINGS[i].0) != NO_ICMP_TERM.contains(&RENDERINGS[j].0);
            if explained {
                diff = diff.difference(&icmp_term);
            }
            if !diff.is_empty() {
                problems.push(format!(
                    "{} vs {}: {}",
                    RENDERINGS[i].0,
                    RENDERINGS[j].0,
                    portolan::findings::text::describe(&diff, None)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "renderings disagree:\n{}", problems.join("\n"));
    // And the deviation is real: the renderings without the ICMP term deny it.
    for (i, (file, _)) in RENDERINGS.iter().enumerate() {
        let has_icmp = !upper[i].intersect(&icmp_term).is_empty();
        assert_eq!(has_icmp, !NO_ICMP_TERM.contains(file), "{file}");
        if upper[i] != allowed[i] {
            eprintln!("{file}: possibly allowed: {}", portolan::findings::text::describe(&upper[i].difference(&allowed[i]), None));
        }
    }
    eprintln!("{} renderings, {cells} cells each, all equal up to the listed deviation", RENDERINGS.len());
}
