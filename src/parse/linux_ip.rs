//! Linux `ip addr` / `ip route` dumps, text and `-j` JSON.
//!
//! # Text forms read
//! - `ip addr`, `ip -4 addr`, `ip -6 addr`, `ip a s`, `ip link`: header lines
//!   `N: name[@parent]: <FLAGS> mtu … state S …`, then indented `link/…`, `altname`, `inet`,
//!   `inet6` and `valid_lft` lines. `ip -d` link details and `ip -s` counters are skipped.
//! - `ip -o addr` (one line per address, continuation lines joined with `\`) and `ip -br addr`
//!   (`name STATE addr/len …`).
//! - `ip route`, `ip -6 route`, `ip route show table all`, `ip -o route`: one route per line,
//!   multipath routes with indented `nexthop` lines.
//!
//! A text file may hold both kinds of output (`ip a; ip r` in one file): every line is read by
//! what it is, and the detected format only names the file.
//!
//! # JSON forms read
//! `ip -j addr` / `ip -j -p addr` (arrays of objects with `ifname`, `flags`, `operstate`,
//! `addr_info`) and `ip -j route` (arrays of objects with `dst`, `gateway`, `dev`, …). The line
//! of a JSON element is the line where its opening brace is; provenance and diagnostic texts
//! start with the element's JSON pointer (`/3/addr_info/1`).
//!
//! # Lowering rules
//! - Interface names drop the `@parent` suffix (`eth0.10@eth0` → `eth0.10`). Addresses keep
//!   their host bits. An interface is up when its flags hold `UP` and its operational state is
//!   `UP` or `UNKNOWN` (loopback and tunnels report `UNKNOWN`); when the dump shows no state
//!   (old `ip -6 addr`), when the flags hold `UP` but not `NO-CARRIER`. `ip -br` and `ip -o`
//!   dumps have no flags: there the state alone decides, and a missing state counts as up.
//! - A point-to-point address `inet A peer P/L`: when `P/L` contains `A` the interface gets
//!   `A/L`; otherwise it gets `A/32` (or `/128`) and the file contributes the route the kernel
//!   installs for the peer (`P/L dev name src A`).
//! - Route destinations without a length are host routes (`/32`, `/128`). Multipath routes
//!   become one [`Route`] per nexthop, all with the same prefix, metric and table.
//! - `broadcast` and `multicast` routes (kernel `local` table) are cosmetic for reachability:
//!   they are counted as skipped. `anycast` routes deliver locally and become
//!   [`RouteKind::Local`]; `throw` and `nat` become [`RouteKind::Other`].
//! - The family of `default`: the gateway's or preferred source's family; else IPv6 when the
//!   line has an attribute only IPv6 routes print (`pref`); else the family of the device's
//!   addresses when the same file lists them (ignoring link-local addresses) and they are of
//!   one family; else the family of the nearest route before it in the file, or after it
//!   (`ip route show table all` lists IPv4 before IPv6, and `ip -6 route` holds IPv6 only);
//!   else IPv4.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};

use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{Interface, Route, RouteKind};

/// Operational states `ip` prints after `state` (and in `ip -br` output).
const OPER_STATES: &[&str] = &["UP", "DOWN", "UNKNOWN", "LOWERLAYERDOWN", "DORMANT", "NOTPRESENT", "TESTING"];

/// Address flags printed on `inet`/`inet6` lines (iproute2 `ifa_flag_names`, plus `dynamic`).
const ADDR_FLAGS: &[&str] = &[
    "secondary",
    "primary",
    "temporary",
    "dynamic",
    "permanent",
    "deprecated",
    "tentative",
    "nodad",
    "optimistic",
    "dadfailed",
    "home",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "stable-privacy",
];

/// Address attributes that take one value and do not change the address itself.
const ADDR_KEYS: &[&str] = &["brd", "any", "scope", "metric", "proto"];

/// Route types `ip route` prints before the destination.
const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "anycast",
    "throw",
    "unreachable",
    "prohibit",
    "blackhole",
    "nat",
    "xresolve",
];

/// Route and nexthop flags (iproute2 `print_rt_flags`).
const ROUTE_FLAGS: &[&str] = &[
    "onlink",
    "linkdown",
    "dead",
    "pervasive",
    "offload",
    "trap",
    "notify",
    "unresolved",
    "rt_offload",
    "rt_trap",
    "rt_offload_failed",
];

/// Route attributes that take one value and do not change where packets go: protocol, scope,
/// IPv6 router preference, cache info, transport metrics (some may be preceded by `lock`).
const ROUTE_KEYS: &[&str] = &[
    "proto",
    "scope",
    "pref",
    "expires",
    "error",
    "users",
    "used",
    "age",
    "ipid",
    "hoplimit",
    "realm",
    "realms",
    "nhid",
    "uid",
    "mark",
    "iif",
    "weight",
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "initcwnd",
    "initrwnd",
    "ssthresh",
    "rto_min",
    "features",
    "quickack",
    "fastopen_no_cookie",
    "congctl",
    "ttl-propagate",
    "ttl-propogate",
];

/// Keys of `ip -j route` objects that do not change where packets go.
const JSON_ROUTE_COSMETIC: &[&str] = &[
    "protocol",
    "scope",
    "flags",
    "weight",
    "pref",
    "expires",
    "error",
    "metrics",
    "cacheinfo",
    "deleted",
    "uid",
    "mark",
    "realms",
    "realm",
    "nhid",
    "ttl-propogate",
    "ttl-propagate",
    "iif",
    "cache",
];

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// Detect a JSON dump: an array whose first element is an `ip -j addr` interface (`ifname` and
/// `addr_info`) or an `ip -j route` entry (`dst` plus route keys). Text that is not valid JSON
/// is claimed only when it opens like `ip -j` output, so that the parser can report it.
pub fn detect_json(text: &str) -> Option<Format> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if !t.starts_with('[') {
        return None;
    }
    match serde_json::from_str::<Value>(t) {
        Ok(Value::Array(items)) => {
            let first = items.first()?.as_object()?;
            if first.get("ifname").is_some_and(Value::is_string) && first.get("addr_info").is_some_and(Value::is_array)
            {
                return Some(Format::IpAddrJson);
            }
            let dst = first.get("dst")?.as_str()?;
            let dst_ok = dst == "default" || parse_prefix(dst).is_some();
            let route_key = ["dev", "gateway", "via", "nexthops", "type", "prefsrc", "protocol", "scope"]
                .iter()
                .any(|k| first.contains_key(*k));
            let all_known = first.keys().all(|k| is_json_route_key(k));
            (dst_ok && route_key && all_known).then_some(Format::IpRouteJson)
        }
        Ok(_) => None,
        Err(_) => {
            // Broken JSON: claim it only if the first object opens like `ip -j` output.
            let rest = t.get(1..)?.trim_start();
            let rest = rest.strip_prefix('{')?.trim_start();
            let head: String = t.chars().take(4096).collect();
            if rest.starts_with("\"ifindex\"") && head.contains("\"ifname\"") {
                Some(Format::IpAddrJson)
            } else if (rest.starts_with("\"dst\"") || rest.starts_with("\"type\"")) && head.contains("\"dst\"") {
                Some(Format::IpRouteJson)
            } else {
                None
            }
        }
    }
}

fn is_json_route_key(k: &str) -> bool {
    matches!(
        k,
        "dst"
            | "gateway"
            | "via"
            | "dev"
            | "type"
            | "table"
            | "prefsrc"
            | "metric"
            | "nexthops"
            | "from"
            | "src"
            | "tos"
            | "encap"
            | "newdst"
    ) || JSON_ROUTE_COSMETIC.contains(&k)
}

/// What a top-level (not indented) text line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineKind {
    Addr,
    Route,
    Other,
}

fn classify(line: &str, next: Option<&str>) -> LineKind {
    let t = line.trim();
    if parse_header(t).is_some() || parse_oneline_addr(t).is_some() || brief_line(t, true).is_some() {
        return LineKind::Addr;
    }
    if let Ok(r) = parse_route_line(t) {
        let clean = r.unknown.is_empty() && r.bad.is_empty();
        let followed_by_nexthop =
            next.is_some_and(|n| n.starts_with(char::is_whitespace) && n.split_whitespace().next() == Some("nexthop"));
        if clean && (r.type_word.is_some() || r.attrs > 0 || followed_by_nexthop) {
            return LineKind::Route;
        }
    }
    LineKind::Other
}

/// Detect a text dump: the first line that is neither blank, a comment nor indented must be an
/// `ip addr` header (or `ip -o`/`ip -br` address line) or an `ip route` line, and most of the
/// first twenty such lines must be. `ifconfig`, `route -n`, `ip rule`, iptables-save and
/// nftables output are not claimed.
pub fn detect_text(text: &str) -> Option<Format> {
    // `ip -o` joins an entry's lines with `\`: its parts are read as lines.
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .flat_map(|l| l.split('\\'))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .peekable();
    let mut kinds = Vec::new();
    while let Some(l) = lines.next() {
        if l.starts_with(char::is_whitespace) {
            continue;
        }
        // The next line tells a multipath route (indented `nexthop` lines) from a bare prefix.
        kinds.push(classify(l, lines.peek().copied()));
        if kinds.len() >= 20 {
            break;
        }
    }
    let first = *kinds.first()?;
    let recognised = kinds.iter().filter(|k| **k != LineKind::Other).count();
    if recognised * 2 < kinds.len() {
        return None;
    }
    match first {
        LineKind::Addr => Some(Format::IpAddr),
        LineKind::Route => Some(Format::IpRoute),
        LineKind::Other => None,
    }
}

/// Parse a dump of the given format.
pub fn parse(format: Format, source: SourceId, file: &str, text: &str) -> ParsedFile {
    match format {
        Format::IpAddrJson | Format::IpRouteJson => parse_json(format, source, file, text),
        _ => parse_text(format, source, file, text),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

fn fam(a: IpAddr) -> Fam {
    if a.is_ipv4() {
        Fam::V4
    } else {
        Fam::V6
    }
}

fn max_len(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

/// `A/L` or a bare address (a host prefix). Host bits are kept.
fn parse_prefix(s: &str) -> Option<IpNet> {
    match s.split_once('/') {
        Some((a, l)) => {
            let a: IpAddr = a.parse().ok()?;
            if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            IpNet::new(a, l.parse().ok()?).ok()
        }
        None => {
            let a: IpAddr = s.parse().ok()?;
            IpNet::new(a, max_len(a)).ok()
        }
    }
}

fn default_net(f: Fam) -> IpNet {
    match f {
        Fam::V4 => IpNet::V4(Default::default()),
        Fam::V6 => IpNet::V6(Default::default()),
    }
}

/// Whether an interface with these flags and operational state passes traffic.
fn link_up(flags: &[&str], state: Option<&str>) -> bool {
    if !flags.contains(&"UP") {
        return false;
    }
    match state {
        Some("UP") | Some("UNKNOWN") => true,
        Some(_) => false,
        None => !flags.contains(&"NO-CARRIER"),
    }
}

fn strip_parent(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// The addresses an interface gets from `local` with an optional point-to-point peer, and the
/// route the kernel installs for a peer outside the local prefix.
fn peer_address(local: IpAddr, len: Option<u8>, peer: Option<IpNet>) -> (Option<IpNet>, Option<IpNet>) {
    match peer {
        Some(p) if fam(p.addr()) == fam(local) => {
            if p.trunc().contains(&local) {
                (IpNet::new(local, p.prefix_len()).ok(), None)
            } else {
                (IpNet::new(local, max_len(local)).ok(), Some(p.trunc()))
            }
        }
        _ => (IpNet::new(local, len.unwrap_or(max_len(local))).ok(), None),
    }
}

/// A route as read, before the family of `default` is known.
#[derive(Clone, Debug)]
struct RawRoute {
    /// `None` for `default`.
    dst: Option<IpNet>,
    via: Option<IpAddr>,
    dev: Option<String>,
    kind: RouteKind,
    metric: u32,
    src: Option<IpAddr>,
    table: String,
    /// The line has an attribute only IPv6 routes carry.
    v6_hint: bool,
    prov: Provenance,
}

impl RawRoute {
    fn known_fam(&self) -> Option<Fam> {
        if let Some(d) = self.dst {
            return Some(fam(d.addr()));
        }
        self.via.or(self.src).map(fam).or(if self.v6_hint { Some(Fam::V6) } else { None })
    }
}

/// The family of a device's addresses in the same file, when they are all of one family
/// (link-local IPv6 addresses, present on almost every interface, do not count).
fn dev_family(dev: Option<&str>, ifaces: &[Interface]) -> Option<Fam> {
    let dev = dev?;
    let mut v4 = false;
    let mut v6 = false;
    for i in ifaces.iter().filter(|i| i.name == dev) {
        for a in &i.addresses {
            match a {
                IpNet::V4(_) => v4 = true,
                IpNet::V6(n) => {
                    if (n.addr().segments()[0] & 0xffc0) != 0xfe80 {
                        v6 = true;
                    }
                }
            }
        }
    }
    match (v4, v6) {
        (true, false) => Some(Fam::V4),
        (false, true) => Some(Fam::V6),
        _ => None,
    }
}

/// Give every `default` its family (rules in the module documentation) and build the routes.
fn lower_routes(raw: Vec<RawRoute>, ifaces: &[Interface]) -> Vec<Route> {
    let fams: Vec<Option<Fam>> = raw.iter().map(RawRoute::known_fam).collect();
    let nearest = |i: usize| -> Option<Fam> {
        fams.get(..i)
            .and_then(|before| before.iter().rev().flatten().next().copied())
            .or_else(|| fams.get(i + 1..).and_then(|after| after.iter().flatten().next().copied()))
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let dst = match r.dst {
                Some(d) => d,
                None => {
                    let f = fams
                        .get(i)
                        .copied()
                        .flatten()
                        .or_else(|| dev_family(r.dev.as_deref(), ifaces))
                        .or_else(|| nearest(i))
                        .unwrap_or(Fam::V4);
                    default_net(f)
                }
            };
            Route {
                dst,
                via: r.via,
                dev: r.dev,
                kind: r.kind,
                metric: r.metric,
                src: r.src,
                table: r.table,
                prov: r.prov,
            }
        })
        .collect()
}

/// Add an interface or merge it into one of the same name read earlier in the file (an
/// `ip -4 addr` and an `ip -6 addr` dump in one file).
fn upsert_iface(ifaces: &mut Vec<Interface>, name: &str, up: bool, prov: Provenance) -> usize {
    if let Some(i) = ifaces.iter().position(|i| i.name == name) {
        if let Some(existing) = ifaces.get_mut(i) {
            existing.up &= up;
        }
        return i;
    }
    ifaces.push(Interface { up, ..Interface::new(name.to_string(), prov) });
    ifaces.len() - 1
}

fn add_address(ifaces: &mut [Interface], idx: usize, net: IpNet) {
    if let Some(i) = ifaces.get_mut(idx) {
        if !i.addresses.contains(&net) {
            i.addresses.push(net);
        }
    }
}

/// A routing table's name: the kernel's reserved numbers by the names `ip` gives them
/// (`/etc/iproute2/rt_tables`: 253 default, 254 main, 255 local).
fn table_name(t: &str) -> String {
    match t {
        "253" => "default",
        "254" => "main",
        "255" => "local",
        other => other,
    }
    .to_string()
}

fn route_kind(word: Option<&str>) -> Option<RouteKind> {
    Some(match word {
        None | Some("unicast") => RouteKind::Unicast,
        Some("local") => RouteKind::Local,
        // The kernel delivers packets to an anycast route's address locally (IPv6
        // subnet-router anycast on a forwarding interface, RFC 4291 section 2.6.1).
        Some("anycast") => RouteKind::Local,
        Some("blackhole") => RouteKind::Blackhole,
        Some("unreachable") => RouteKind::Unreachable,
        Some("prohibit") => RouteKind::Prohibit,
        Some("broadcast") | Some("multicast") => return None,
        Some(_) => RouteKind::Other,
    })
}

// ---------------------------------------------------------------------------------------------
// Text: line grammar
// ---------------------------------------------------------------------------------------------

/// An `ip addr` / `ip link` header line.
#[derive(Debug)]
struct Header<'a> {
    name: &'a str,
    flags: Vec<&'a str>,
    state: Option<&'a str>,
}

/// `N: name[@parent]: <FLAGS> key value …`.
fn parse_header(t: &str) -> Option<Header<'_>> {
    let (idx, rest) = t.split_once(':')?;
    if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start();
    let name_tok = rest.split_whitespace().next()?;
    let name = strip_parent(name_tok.strip_suffix(':')?);
    if name.is_empty() {
        return None;
    }
    let after = rest.get(name_tok.len()..)?.trim_start();
    let after = after.strip_prefix('<')?;
    let (flags, attrs) = after.split_once('>')?;
    let flags: Vec<&str> = flags.split(',').filter(|f| !f.is_empty()).collect();
    let mut toks = attrs.split_whitespace();
    let mut state = None;
    while let Some(k) = toks.next() {
        if k == "state" {
            state = toks.next();
        }
    }
    Some(Header { name, flags, state })
}

/// `N: name    inet …` (`ip -o addr`): the interface name and the address part.
fn parse_oneline_addr(t: &str) -> Option<(&str, &str)> {
    let (idx, rest) = t.split_once(':')?;
    if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start();
    let name_tok = rest.split_whitespace().next()?;
    if name_tok.ends_with(':') {
        return None;
    }
    let body = rest.get(name_tok.len()..)?.trim_start();
    let kw = body.split_whitespace().next()?;
    if kw == "inet" || kw == "inet6" || kw.starts_with("link/") {
        let name = strip_parent(name_tok);
        (!name.is_empty()).then_some((name, body))
    } else {
        None
    }
}

/// `name STATE addr/len …` (`ip -br addr`). With `strict`, the line must hold an address (or
/// none at all), so that `ip -br link` (MAC addresses) is not taken for it.
fn brief_line(t: &str, strict: bool) -> Option<(&str, &str, Vec<&str>)> {
    let mut toks = t.split_whitespace();
    let name = strip_parent(toks.next()?);
    let state = toks.next()?;
    if !OPER_STATES.contains(&state) || name.is_empty() {
        return None;
    }
    let rest: Vec<&str> = toks.collect();
    if strict && rest.first().is_some_and(|a| parse_prefix(a).is_none()) {
        return None;
    }
    Some((name, state, rest))
}

/// One route line (or the attributes of a nexthop line).
#[derive(Debug, Default)]
struct RouteLine<'a> {
    type_word: Option<&'a str>,
    dst: Option<IpNet>,
    host_bits: bool,
    via: Option<IpAddr>,
    dev: Option<&'a str>,
    table: Option<&'a str>,
    metric: Option<u32>,
    src: Option<IpAddr>,
    v6_hint: bool,
    nhid: bool,
    /// Number of attributes recognised (detection wants at least one on a plain route).
    attrs: usize,
    /// Tokens not recognised.
    unknown: Vec<&'a str>,
    /// Attributes recognised but not modelled (they narrow or change the route).
    unmodelled: Vec<String>,
    /// Values that could not be read.
    bad: Vec<String>,
}

/// Read route attributes (`via`, `dev`, … and flags) into `r`.
fn parse_route_attrs<'a>(toks: &[&'a str], r: &mut RouteLine<'a>) {
    let mut i = 0;
    while let Some(&k) = toks.get(i) {
        i += 1;
        let mut value = || {
            let v = toks.get(i).copied();
            if v.is_some() {
                i += 1;
            }
            v
        };
        match k {
            "via" => {
                let mut v = value();
                if matches!(v, Some("inet") | Some("inet6")) {
                    v = value();
                }
                match v.and_then(|v| v.parse::<IpAddr>().ok()) {
                    Some(a) => r.via = Some(a),
                    None => r.bad.push(format!("via {}", v.unwrap_or(""))),
                }
                r.attrs += 1;
            }
            "dev" => {
                match value() {
                    Some(d) => r.dev = Some(d),
                    None => r.bad.push("dev without a name".into()),
                }
                r.attrs += 1;
            }
            "table" => {
                match value() {
                    Some(t) => r.table = Some(t),
                    None => r.bad.push("table without a name".into()),
                }
                r.attrs += 1;
            }
            "src" => {
                let v = value();
                match v.and_then(|v| v.parse::<IpAddr>().ok()) {
                    Some(a) => r.src = Some(a),
                    None => r.bad.push(format!("src {}", v.unwrap_or(""))),
                }
                r.attrs += 1;
            }
            "metric" | "priority" | "preference" => {
                let v = value();
                match v.and_then(|v| v.parse::<u32>().ok()) {
                    Some(m) => r.metric = Some(m),
                    None => r.bad.push(format!("metric {}", v.unwrap_or(""))),
                }
                r.attrs += 1;
            }
            "from" | "tos" | "dsfield" => {
                let v = value().unwrap_or("");
                r.unmodelled.push(format!("{k} {v}"));
                r.attrs += 1;
            }
            "as" => {
                let mut v = value().unwrap_or("");
                if v == "to" {
                    v = value().unwrap_or("");
                }
                r.unmodelled.push(format!("as {v}"));
                r.attrs += 1;
            }
            // Encapsulation parameters (`encap mpls 100`, `encap ip id 1 src … dst …`,
            // `encap seg6 mode encap segs 1 [ … ]`) run until the gateway or the device, which
            // iproute2 prints after them.
            "encap" => {
                let mut words = vec![k];
                while let Some(&w) = toks.get(i).filter(|w| !matches!(**w, "via" | "dev")) {
                    words.push(w);
                    i += 1;
                }
                r.unmodelled.push(words.join(" "));
                r.attrs += 1;
            }
            _ if ROUTE_KEYS.contains(&k) => {
                let mut v = value();
                if v == Some("lock") {
                    v = value();
                }
                if k == "pref" {
                    r.v6_hint = true;
                }
                if k == "nhid" {
                    r.nhid = true;
                }
                if v.is_none() {
                    r.bad.push(format!("{k} without a value"));
                }
                r.attrs += 1;
            }
            _ if ROUTE_FLAGS.contains(&k) => r.attrs += 1,
            _ => r.unknown.push(k),
        }
    }
}

/// `[TYPE] DST attributes…`. Errors when the line has no destination.
fn parse_route_line(t: &str) -> Result<RouteLine<'_>, String> {
    // (sized for the longest lines `ip route` prints, so the vector does not grow word by word)
    let mut toks: Vec<&str> = Vec::with_capacity(24);
    toks.extend(t.split_whitespace());
    let mut r = RouteLine::default();
    let mut i = 0;
    if let Some(w) = toks.first().filter(|w| ROUTE_TYPES.contains(w)) {
        r.type_word = Some(w);
        i = 1;
    }
    let dst = toks.get(i).ok_or_else(|| "route type without a destination".to_string())?;
    if *dst != "default" {
        let net = parse_prefix(dst).ok_or_else(|| format!("\"{dst}\" is not a route destination"))?;
        r.host_bits = net.trunc() != net;
        r.dst = Some(net.trunc());
    }
    parse_route_attrs(toks.get(i + 1..).unwrap_or(&[]), &mut r);
    Ok(r)
}

/// An `inet`/`inet6` line, read.
#[derive(Debug, Default)]
struct AddrLine<'a> {
    addr: Option<IpNet>,
    /// The route installed for a point-to-point peer outside the local prefix.
    peer_route: Option<IpNet>,
    /// A placeholder such as `[PUBLIC IP HERE]`, or an address that does not parse.
    bad: Option<String>,
    unknown: Vec<&'a str>,
}

/// `inet A[/L] [peer P/L] [brd B] [scope S] [flags…] [label]` (labels only on `inet`).
fn parse_addr_tokens<'a>(toks: &[&'a str]) -> AddrLine<'a> {
    let mut out = AddrLine::default();
    let kw = toks.first().copied().unwrap_or("");
    let mut i = 1;
    let mut local: Option<(IpAddr, Option<u8>)> = None;
    match toks.get(1) {
        Some(a) if a.starts_with('[') => {
            // A placeholder put in by whoever anonymised the dump: `[PUBLIC IP HERE]`.
            let mut words = Vec::new();
            while let Some(w) = toks.get(i) {
                words.push(*w);
                i += 1;
                if w.ends_with(']') {
                    break;
                }
            }
            out.bad = Some(words.join(" "));
        }
        Some(a) => {
            i = 2;
            let (addr, len) = match a.split_once('/') {
                Some((x, l)) => (x, Some(l)),
                None => (*a, None),
            };
            let parsed = addr.parse::<IpAddr>().ok().and_then(|ip| {
                let fam_ok = (kw == "inet") == ip.is_ipv4();
                let len = match len {
                    None => Some(None),
                    Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max_len(ip)).map(Some),
                };
                (fam_ok).then_some(())?;
                Some((ip, len?))
            });
            match parsed {
                Some(p) => local = Some(p),
                None => out.bad = Some((*a).to_string()),
            }
        }
        None => out.bad = Some(String::new()),
    }
    let mut peer = None;
    while let Some(&t) = toks.get(i) {
        i += 1;
        if t == "peer" {
            let v = toks.get(i).copied();
            i += 1;
            match v.and_then(parse_prefix) {
                Some(p) => peer = Some(p),
                None => out.bad = Some(format!("peer {}", v.unwrap_or(""))),
            }
        } else if ADDR_KEYS.contains(&t) {
            i += 1;
        } else if ADDR_FLAGS.contains(&t) {
        } else if i == toks.len() && kw == "inet" {
            // The address label (`eth0`, `eth0:1`) closes an `inet` line.
        } else {
            out.unknown.push(t);
        }
    }
    if let Some((ip, len)) = local {
        let (addr, route) = peer_address(ip, len, peer);
        out.addr = addr;
        out.peer_route = route;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text: the parser
// ---------------------------------------------------------------------------------------------

/// A multipath route waiting for its `nexthop` lines.
struct Multipath {
    head: RawRoute,
    nexthops: usize,
}

/// Whether a line was used or skipped on purpose.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Used,
    Skipped,
}

struct TextParser<'a> {
    source: SourceId,
    file: &'a str,
    d: Diags,
    ifaces: Vec<Interface>,
    routes: Vec<RawRoute>,
    /// Interface whose block is being read.
    cur: Option<usize>,
    /// Between a `link/…` line and the first address: `ip -d` link details.
    link_section: bool,
    mp: Option<Multipath>,
}

fn parse_text(format: Format, source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = TextParser {
        source,
        file,
        d: Diags::default(),
        ifaces: Vec::new(),
        routes: Vec::new(),
        cur: None,
        link_section: false,
        mp: None,
    };
    let mut skipped = 0u32;
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = if i == 0 { line.trim_start_matches('\u{feff}') } else { line };
        // `ip -o` joins an entry's lines with `\`.
        let mut all_skipped = true;
        for seg in line.split('\\') {
            if p.line(n, seg) == Outcome::Used {
                all_skipped = false;
            }
        }
        if all_skipped {
            skipped += 1;
        }
    }
    p.end_multipath();
    let mut out = ParsedFile::new(format, text);
    out.lines_skipped = skipped;
    out.content.routes = lower_routes(p.routes, &p.ifaces);
    out.content.interfaces = p.ifaces;
    out.diags = p.d.list;
    out.diags.sort_by_key(|d| d.line);
    out
}

impl TextParser<'_> {
    fn prov(&self, n: u32, t: &str) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line: n, text: t.trim().to_string() }
    }

    fn line(&mut self, n: u32, seg: &str) -> Outcome {
        let t = seg.trim();
        if t.is_empty() || t.starts_with('#') {
            return Outcome::Skipped;
        }
        if seg.starts_with(char::is_whitespace) {
            return self.indented(n, t);
        }
        // A top-level line ends the interface block and any multipath route before it.
        self.cur = None;
        self.link_section = false;
        self.end_multipath();
        if let Some(h) = parse_header(t) {
            self.d.set_context(format!("ip addr interface {}", h.name));
            let up = link_up(&h.flags, h.state);
            let prov = self.prov(n, t);
            self.cur = Some(upsert_iface(&mut self.ifaces, h.name, up, prov));
            return Outcome::Used;
        }
        if let Some((name, body)) = parse_oneline_addr(t) {
            self.d.set_context(format!("ip addr interface {name}"));
            let idx = match self.ifaces.iter().position(|i| i.name == name) {
                Some(i) => i,
                None => {
                    let prov = self.prov(n, t);
                    upsert_iface(&mut self.ifaces, name, true, prov)
                }
            };
            self.cur = Some(idx);
            return self.indented(n, body);
        }
        if let Some((name, state, addrs)) = brief_line(t, false) {
            self.brief(n, t, name, state, &addrs);
            return Outcome::Used;
        }
        self.route(n, t)
    }

    fn indented(&mut self, n: u32, t: &str) -> Outcome {
        let mut toks: Vec<&str> = Vec::with_capacity(24);
        toks.extend(t.split_whitespace());
        let first = toks.first().copied().unwrap_or("");
        if first == "nexthop" {
            return self.nexthop(n, t, &toks);
        }
        if self.cur.is_none() {
            self.d.set_context("ip addr");
            self.d.unrecognized(n, t, "indented line outside an interface block or a multipath route");
            return Outcome::Used;
        }
        match first {
            "inet" | "inet6" => {
                self.link_section = false;
                self.address(n, t, &toks);
                Outcome::Used
            }
            f if f.starts_with("link/") => {
                self.link_section = true;
                Outcome::Skipped
            }
            // Alternative names, address lifetimes, `ip -s` counter headings.
            "altname" | "valid_lft" | "RX:" | "TX:" | "RX" | "TX" => Outcome::Skipped,
            // `ip -s` counters.
            _ if toks.iter().all(|w| w.bytes().all(|b| b.is_ascii_digit())) => Outcome::Skipped,
            // `ip -d` link-layer details (`veth …`, `vlan protocol 802.1Q id 10 …`).
            _ if self.link_section => Outcome::Skipped,
            _ => {
                self.d.unrecognized(n, t, "not an address line of an interface");
                Outcome::Used
            }
        }
    }

    fn address(&mut self, n: u32, t: &str, toks: &[&str]) {
        let Some(idx) = self.cur else { return };
        let a = parse_addr_tokens(toks);
        if let Some(bad) = &a.bad {
            let reason = if bad.starts_with('[') {
                format!(
                    "\"{bad}\" is a placeholder, not an address (anonymised dump): the interface is kept without it"
                )
            } else {
                format!("\"{bad}\" is not a valid address for this line (anonymised dump?): the interface is kept without it")
            };
            self.d.push(codes::BAD_VALUE, Severity::Warning, n, t, reason);
        }
        if !a.unknown.is_empty() {
            self.d.push(
                codes::UNRECOGNIZED,
                Severity::Warning,
                n,
                t,
                format!(
                    "address attribute not recognised: {}; the address is recorded without it",
                    a.unknown.join(" ")
                ),
            );
        }
        if let Some(net) = a.addr {
            add_address(&mut self.ifaces, idx, net);
        }
        if let (Some(peer), Some(local)) = (a.peer_route, a.addr) {
            let dev = self.ifaces.get(idx).map(|i| i.name.clone());
            self.routes.push(RawRoute {
                dst: Some(peer),
                via: None,
                dev,
                kind: RouteKind::Unicast,
                metric: 0,
                src: Some(local.addr()),
                table: "main".into(),
                v6_hint: false,
                prov: self.prov(n, t),
            });
        }
    }

    fn brief(&mut self, n: u32, t: &str, name: &str, state: &str, addrs: &[&str]) {
        self.d.set_context(format!("ip addr interface {name}"));
        let up = matches!(state, "UP" | "UNKNOWN");
        let prov = self.prov(n, t);
        let idx = upsert_iface(&mut self.ifaces, name, up, prov);
        let mut i = 0;
        while let Some(a) = addrs.get(i) {
            i += 1;
            let mut toks = vec![if a.contains(':') { "inet6" } else { "inet" }, *a];
            if addrs.get(i) == Some(&"peer") {
                toks.push("peer");
                toks.extend(addrs.get(i + 1).copied());
                i += 2;
            }
            let parsed = parse_addr_tokens(&toks);
            match (parsed.addr, parsed.bad) {
                (Some(net), None) => {
                    add_address(&mut self.ifaces, idx, net);
                    if let Some(peer) = parsed.peer_route {
                        self.routes.push(RawRoute {
                            dst: Some(peer),
                            via: None,
                            dev: Some(name.to_string()),
                            kind: RouteKind::Unicast,
                            metric: 0,
                            src: Some(net.addr()),
                            table: "main".into(),
                            v6_hint: false,
                            prov: self.prov(n, t),
                        });
                    }
                }
                (_, bad) => self.d.push(
                    codes::BAD_VALUE,
                    Severity::Warning,
                    n,
                    t,
                    format!(
                        "\"{}\" is not an address: the interface is kept without it",
                        bad.unwrap_or_else(|| a.to_string())
                    ),
                ),
            }
        }
    }

    fn route(&mut self, n: u32, t: &str) -> Outcome {
        self.d.set_context("ip route");
        let r = match parse_route_line(t) {
            Ok(r) => r,
            Err(e) => {
                self.d.unrecognized(n, t, format!("not an interface header, address or route line: {e}"));
                return Outcome::Used;
            }
        };
        if let Some(tb) = r.table {
            self.d.set_context(format!("ip route table {tb}"));
        }
        let Some(kind) = route_kind(r.type_word) else {
            // broadcast / multicast routes of the local table: cosmetic for reachability.
            return Outcome::Skipped;
        };
        self.report_route_issues(n, t, &r);
        let raw = RawRoute {
            dst: r.dst,
            via: r.via,
            dev: r.dev.map(str::to_string),
            kind,
            metric: r.metric.unwrap_or(0),
            src: r.src,
            table: table_name(r.table.unwrap_or("main")),
            v6_hint: r.v6_hint,
            prov: self.prov(n, t),
        };
        if kind == RouteKind::Unicast && raw.via.is_none() && raw.dev.is_none() {
            // A multipath route: its nexthops follow on indented lines.
            self.mp = Some(Multipath { head: raw, nexthops: 0 });
        } else {
            self.routes.push(raw);
        }
        Outcome::Used
    }

    fn report_route_issues(&mut self, n: u32, t: &str, r: &RouteLine<'_>) {
        if r.host_bits {
            self.d.push(
                codes::HOST_BITS,
                Severity::Warning,
                n,
                t,
                format!("destination has host bits set: read as {}", r.dst.map_or_else(String::new, |d| d.to_string())),
            );
        }
        if !r.bad.is_empty() {
            self.d.push(
                codes::BAD_VALUE,
                Severity::Warning,
                n,
                t,
                format!("value not understood: {}", r.bad.join(", ")),
            );
        }
        if !r.unmodelled.is_empty() {
            self.d.push(
                codes::UNMODELLED_MATCH,
                Severity::Warning,
                n,
                t,
                format!(
                    "route attribute not modelled: {}; the route is recorded as if it applied to every packet",
                    r.unmodelled.join(", ")
                ),
            );
        }
        if !r.unknown.is_empty() {
            self.d.push(
                codes::UNRECOGNIZED,
                Severity::Warning,
                n,
                t,
                format!("route attribute not recognised: {}; the route is recorded without it", r.unknown.join(" ")),
            );
        }
    }

    /// An indented `nexthop via GW dev D weight W` line of a multipath route: one route per
    /// nexthop, with the prefix, metric, table and source of the route line above.
    fn nexthop(&mut self, n: u32, t: &str, toks: &[&str]) -> Outcome {
        let Some(mp) = self.mp.as_mut() else {
            self.d.push(codes::STRUCTURE, Severity::Warning, n, t, "nexthop line without a multipath route before it");
            return Outcome::Used;
        };
        mp.nexthops += 1;
        let mut r = RouteLine::default();
        parse_route_attrs(toks.get(1..).unwrap_or(&[]), &mut r);
        let mut route = mp.head.clone();
        route.via = r.via;
        route.dev = r.dev.map(str::to_string);
        route.v6_hint |= r.v6_hint;
        route.prov = Provenance { source: self.source, file: self.file.to_string(), line: n, text: t.to_string() };
        self.routes.push(route);
        self.report_route_issues(n, t, &r);
        Outcome::Used
    }

    fn end_multipath(&mut self) {
        if let Some(mp) = self.mp.take() {
            if mp.nexthops == 0 {
                self.d.push(
                    codes::STRUCTURE,
                    Severity::Warning,
                    mp.head.prov.line,
                    &mp.head.prov.text,
                    "route with neither gateway nor device and no nexthop lines after it: not recorded",
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// Byte spans of the elements of a top-level JSON array (start of each element's first
/// character, end before the `,` or `]` that follows it). Only meaningful for valid JSON.
fn element_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut expect = false;
    let mut start: Option<usize> = None;
    for (i, c) in text.bytes().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        if expect && !c.is_ascii_whitespace() {
            expect = false;
            if !(c == b']' && depth == 1) {
                start = Some(i);
            }
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 && c == b'[' {
                    expect = true;
                }
            }
            b']' | b'}' => {
                if depth == 1 {
                    if let Some(s) = start.take() {
                        spans.push((s, i));
                    }
                }
                depth = depth.saturating_sub(1);
            }
            b',' if depth == 1 => {
                if let Some(s) = start.take() {
                    spans.push((s, i));
                }
                expect = true;
            }
            _ => {}
        }
    }
    spans
}

/// JSON text without the whitespace outside strings (what `ip -j` prints without `-p`).
fn compact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_str = false;
    let mut esc = false;
    for c in s.chars() {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Replace the array value of `"key":[…]` in compact JSON by `[…]` (to keep provenance short).
fn elide_array(s: &str, key: &str) -> String {
    let pat = format!("\"{key}\":[");
    let Some(at) = s.find(&pat) else { return s.to_string() };
    let open = at + pat.len();
    let mut depth = 1usize;
    let mut in_str = false;
    let mut esc = false;
    for (i, c) in s.get(open..).unwrap_or("").char_indices() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return format!("{}…{}", s.get(..open).unwrap_or(""), s.get(open + i..).unwrap_or(""));
                }
            }
            _ => {}
        }
    }
    s.to_string()
}

/// Line numbers of byte offsets.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex(starts)
    }

    fn line(&self, offset: usize) -> u32 {
        u32::try_from(self.0.partition_point(|&s| s <= offset)).unwrap_or(u32::MAX)
    }
}

/// Where a JSON element is: its line and its original text, compacted.
struct Element {
    line: u32,
    text: String,
}

fn parse_json(format: Format, source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut out = ParsedFile::new(format, text);
    let mut d = Diags::default();
    let label = if format == Format::IpAddrJson { "ip -j addr" } else { "ip -j route" };
    d.set_context(label);
    let items = match serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            d.push(
                codes::UNREADABLE,
                Severity::Error,
                0,
                "",
                format!("valid JSON but not an array: not {label} output"),
            );
            out.diags = d.list;
            return out;
        }
        Err(e) => {
            let line = u32::try_from(e.line()).unwrap_or(0);
            let line_text: String =
                text.lines().nth(e.line().saturating_sub(1)).unwrap_or("").chars().take(200).collect();
            d.push(codes::UNREADABLE, Severity::Error, line, &line_text, format!("invalid JSON: {e}"));
            out.diags = d.list;
            return out;
        }
    };
    let spans = element_spans(text);
    let index = LineIndex::new(text);
    let spans_ok = spans.len() == items.len();
    let element = |k: usize| -> Element {
        match spans.get(k).filter(|_| spans_ok) {
            Some(&(s, e)) => Element { line: index.line(s), text: compact(text.get(s..e).unwrap_or("")) },
            None => Element { line: 0, text: String::new() },
        }
    };
    let mut ifaces = Vec::new();
    let mut routes = Vec::new();
    let mut p = JsonCtx { source, file, d: &mut d };
    for (k, item) in items.iter().enumerate() {
        let el = element(k);
        match format {
            Format::IpAddrJson => p.interface(k, item, &el, &mut ifaces, &mut routes),
            _ => p.route(k, item, &el, &mut routes),
        }
    }
    out.content.routes = lower_routes(routes, &ifaces);
    out.content.interfaces = ifaces;
    out.diags = d.list;
    out.diags.sort_by_key(|d| d.line);
    out
}

struct JsonCtx<'a> {
    source: SourceId,
    file: &'a str,
    d: &'a mut Diags,
}

fn str_field<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

impl JsonCtx<'_> {
    fn prov(&self, line: u32, text: String) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line, text }
    }

    fn warn(&mut self, code: &'static str, el: &Element, pointer: &str, what: &str, reason: String) {
        let text = if what.is_empty() { pointer.to_string() } else { format!("{pointer} {what}") };
        self.d.push(code, Severity::Warning, el.line, &text, reason);
    }

    /// One `ip -j addr` element.
    fn interface(
        &mut self,
        k: usize,
        item: &Value,
        el: &Element,
        ifaces: &mut Vec<Interface>,
        routes: &mut Vec<RawRoute>,
    ) {
        let ptr = format!("/{k}");
        self.d.set_context("ip -j addr");
        let Some(o) = item.as_object() else {
            self.warn(codes::BAD_VALUE, el, &ptr, &el.text, "array element is not an interface object".into());
            return;
        };
        let Some(name) = str_field(o, "ifname").map(strip_parent).filter(|n| !n.is_empty()) else {
            self.warn(codes::BAD_VALUE, el, &ptr, &el.text, "interface object without \"ifname\": not recorded".into());
            return;
        };
        self.d.set_context(format!("ip -j addr interface {name}"));
        let flags: Vec<&str> = o
            .get("flags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let state = str_field(o, "operstate");
        let up = if o.contains_key("flags") {
            link_up(&flags, state)
        } else {
            state.is_none_or(|s| matches!(s, "UP" | "UNKNOWN"))
        };
        let prov = self.prov(el.line, format!("{ptr} {}", elide_array(&el.text, "addr_info")));
        let idx = upsert_iface(ifaces, name, up, prov);
        let infos = match o.get("addr_info") {
            None => return,
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.warn(
                    codes::BAD_VALUE,
                    el,
                    &format!("{ptr}/addr_info"),
                    "",
                    "\"addr_info\" is not an array".into(),
                );
                return;
            }
        };
        for (j, a) in infos.iter().enumerate() {
            let aptr = format!("{ptr}/addr_info/{j}");
            let Some(a) = a.as_object() else {
                self.warn(codes::BAD_VALUE, el, &aptr, "", "address entry is not an object".into());
                continue;
            };
            // Older iproute2 prints `{}` for addresses filtered out by `-4`/`-6`.
            if a.is_empty() {
                continue;
            }
            let compact_a = serde_json::to_string(a).unwrap_or_default();
            let family = str_field(a, "family").unwrap_or("");
            let want_v4 = match family {
                "inet" => true,
                "inet6" => false,
                other => {
                    self.warn(
                        codes::BAD_VALUE,
                        el,
                        &aptr,
                        &compact_a,
                        format!("address family \"{other}\" is not IPv4 or IPv6: ignored"),
                    );
                    continue;
                }
            };
            let local =
                str_field(a, "local").and_then(|s| s.parse::<IpAddr>().ok()).filter(|ip| ip.is_ipv4() == want_v4);
            let len = a.get("prefixlen").and_then(Value::as_u64).and_then(|l| u8::try_from(l).ok());
            let (Some(local), Some(len)) = (local, len.filter(|l| local.is_some_and(|ip| *l <= max_len(ip)))) else {
                self.warn(
                    codes::BAD_VALUE,
                    el,
                    &aptr,
                    &compact_a,
                    "\"local\"/\"prefixlen\" is not a valid address (anonymised dump?): the interface is kept without it".into(),
                );
                continue;
            };
            let peer =
                str_field(a, "address").and_then(|s| s.parse::<IpAddr>().ok()).and_then(|p| IpNet::new(p, len).ok());
            let (net, peer_route) = peer_address(local, Some(len), peer);
            if let Some(net) = net {
                add_address(ifaces, idx, net);
            }
            if let Some(dst) = peer_route {
                routes.push(RawRoute {
                    dst: Some(dst),
                    via: None,
                    dev: Some(name.to_string()),
                    kind: RouteKind::Unicast,
                    metric: 0,
                    src: Some(local),
                    table: "main".into(),
                    v6_hint: false,
                    prov: self.prov(el.line, format!("{aptr} {compact_a}")),
                });
            }
        }
    }

    /// A gateway: `"gateway": "A"` or `"via": {"family": …, "host": "A"}`.
    fn gateway(&mut self, o: &Map<String, Value>, el: &Element, ptr: &str) -> Option<IpAddr> {
        let raw = str_field(o, "gateway").or_else(|| o.get("via").and_then(|v| v.get("host")).and_then(Value::as_str));
        let raw = raw?;
        let a = raw.parse::<IpAddr>().ok();
        if a.is_none() {
            self.warn(
                codes::BAD_VALUE,
                el,
                ptr,
                raw,
                "gateway is not an address: the route is recorded without it".into(),
            );
        }
        a
    }

    /// One `ip -j route` element.
    fn route(&mut self, k: usize, item: &Value, el: &Element, routes: &mut Vec<RawRoute>) {
        let ptr = format!("/{k}");
        self.d.set_context("ip -j route");
        let Some(o) = item.as_object() else {
            self.warn(codes::BAD_VALUE, el, &ptr, &el.text, "array element is not a route object".into());
            return;
        };
        let dst = match str_field(o, "dst") {
            Some("default") => None,
            Some(s) => match parse_prefix(s) {
                Some(n) => {
                    if n.trunc() != n {
                        self.warn(
                            codes::HOST_BITS,
                            el,
                            &ptr,
                            s,
                            format!("destination has host bits set: read as {}", n.trunc()),
                        );
                    }
                    Some(n.trunc())
                }
                None => {
                    self.warn(
                        codes::BAD_VALUE,
                        el,
                        &ptr,
                        &el.text,
                        format!("\"{s}\" is not a route destination: not recorded"),
                    );
                    return;
                }
            },
            None => {
                self.warn(codes::BAD_VALUE, el, &ptr, &el.text, "route without \"dst\": not recorded".into());
                return;
            }
        };
        let Some(kind) = route_kind(str_field(o, "type")) else {
            // broadcast / multicast: cosmetic for reachability.
            return;
        };
        let table = match o.get("table") {
            None => "main".to_string(),
            Some(Value::String(s)) => table_name(s),
            Some(Value::Number(n)) => table_name(&n.to_string()),
            Some(other) => {
                self.warn(
                    codes::BAD_VALUE,
                    el,
                    &ptr,
                    &other.to_string(),
                    "table is not a name or number: read as main".into(),
                );
                "main".to_string()
            }
        };
        if table != "main" {
            self.d.set_context(format!("ip -j route table {table}"));
        }
        let metric = match o.get("metric") {
            None => 0,
            Some(v) => match v.as_u64().and_then(|m| u32::try_from(m).ok()) {
                Some(m) => m,
                None => {
                    self.warn(
                        codes::BAD_VALUE,
                        el,
                        &ptr,
                        &v.to_string(),
                        "metric is not a 32-bit number: read as 0".into(),
                    );
                    0
                }
            },
        };
        let src = match str_field(o, "prefsrc") {
            None => None,
            Some(s) => {
                let a = s.parse::<IpAddr>().ok();
                if a.is_none() {
                    self.warn(codes::BAD_VALUE, el, &ptr, s, "preferred source is not an address: ignored".into());
                }
                a
            }
        };
        let unmodelled: Vec<String> = ["from", "src", "tos", "encap", "newdst"]
            .iter()
            .filter_map(|key| o.get(*key).map(|v| format!("{key} {v}")))
            .collect();
        if !unmodelled.is_empty() {
            self.warn(
                codes::UNMODELLED_MATCH,
                el,
                &ptr,
                &el.text,
                format!(
                    "route attribute not modelled: {}; the route is recorded as if it applied to every packet",
                    unmodelled.join(", ")
                ),
            );
        }
        let unknown: Vec<&str> = o.keys().map(String::as_str).filter(|key| !is_json_route_key(key)).collect();
        if !unknown.is_empty() {
            self.d.push(
                codes::UNRECOGNIZED,
                Severity::Info,
                el.line,
                &ptr,
                format!("route attribute not recognised, ignored: {}", unknown.join(", ")),
            );
        }
        let head = RawRoute {
            dst,
            via: self.gateway(o, el, &ptr),
            dev: str_field(o, "dev").map(str::to_string),
            kind,
            metric,
            src,
            table,
            v6_hint: o.contains_key("pref"),
            prov: self.prov(el.line, format!("{ptr} {}", el.text)),
        };
        match o.get("nexthops") {
            // Multipath: one route per nexthop, with the prefix, metric and table of the entry.
            Some(Value::Array(nhs)) if !nhs.is_empty() => {
                for (j, nh) in nhs.iter().enumerate() {
                    let nptr = format!("{ptr}/nexthops/{j}");
                    let Some(nh) = nh.as_object() else {
                        self.warn(codes::BAD_VALUE, el, &nptr, "", "nexthop is not an object".into());
                        continue;
                    };
                    let mut r = head.clone();
                    r.via = self.gateway(nh, el, &nptr);
                    r.dev = str_field(nh, "dev").map(str::to_string);
                    r.prov = self.prov(el.line, format!("{nptr} {}", el.text));
                    routes.push(r);
                }
            }
            _ => {
                if kind == RouteKind::Unicast && head.via.is_none() && head.dev.is_none() {
                    self.warn(
                        codes::STRUCTURE,
                        el,
                        &ptr,
                        &el.text,
                        "route with neither gateway, device nor nexthops: not recorded".into(),
                    );
                } else {
                    routes.push(head);
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::diag::FileStatus;

    fn p(format: Format, text: &str) -> ParsedFile {
        parse(format, 0, "t", text)
    }

    fn codes_of(f: &ParsedFile) -> Vec<&'static str> {
        f.diags.iter().map(|d| d.code).collect()
    }

    const ADDR: &str = "\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
3: v0@v1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    link/ether 5a:f8:c5:87:ef:34 brd ff:ff:ff:ff:ff:ff
    altname uplink0
    inet 10.9.0.1/24 scope global v0
       valid_lft forever preferred_lft forever
    inet 10.9.0.5/24 scope global secondary v0:1
       valid_lft forever preferred_lft forever
    inet6 2001:db8::1/64 scope global
       valid_lft forever preferred_lft forever
4: v3@v2: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default qlen 1000
    link/ether XX:XX:XX:XX:XX:XX brd XX:XX:XX:XX:XX:XX
5: v2@v3: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default qlen 1000
    inet 10.11.0.1 peer 10.11.0.2/30 scope global v2
";

    #[test]
    fn test_detect_text() {
        assert_eq!(detect_text(ADDR), Some(Format::IpAddr));
        assert_eq!(detect_text("# ip -4 a s\n\n1: lo: <LOOPBACK,UP> mtu 1\n"), Some(Format::IpAddr));
        assert_eq!(
            detect_text("default via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2\n"),
            Some(Format::IpRoute)
        );
        assert_eq!(detect_text("blackhole 10.0.0.0/8\n"), Some(Format::IpRoute));
        assert_eq!(detect_text("172.16.0.0/12\n\tnexthop via 10.0.0.1 dev e weight 1\n"), Some(Format::IpRoute));
        assert_eq!(
            detect_text("3: v0    inet 10.9.0.1/24 scope global v0\\       valid_lft forever\n"),
            Some(Format::IpAddr)
        );
        assert_eq!(detect_text("lo   UNKNOWN   127.0.0.1/8 ::1/128\nv0   DOWN\n"), Some(Format::IpAddr));
        // `ip -o route`: a bare multipath prefix whose nexthops follow after `\`.
        assert_eq!(
            detect_text("172.16.0.0/12 \\\tnexthop via 10.0.0.1 dev e weight 1 \\\tnexthop via 10.0.0.2 dev e\n"),
            Some(Format::IpRoute)
        );
    }

    #[test]
    fn test_detect_rejects_others() {
        let iptables = "# Generated by iptables-save v1.8.7\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n";
        assert_eq!(detect_text(iptables), None);
        assert_eq!(detect_text("table inet filter {\n\tchain input {\n\t}\n}\n"), None);
        assert_eq!(detect_text("eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet 10.0.0.2  netmask 255.255.255.0\n"), None);
        assert_eq!(
            detect_text("br0       Link encap:Ethernet  HWaddr 00:16:3e:57:77:38\n          inet addr:192.168.0.38\n"),
            None
        );
        assert_eq!(detect_text("Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n0.0.0.0         10.0.0.1        0.0.0.0         UG    0      0        0 eth0\n"), None);
        assert_eq!(detect_text("0:\tfrom all lookup local\n32766:\tfrom all lookup main\n"), None);
        assert_eq!(detect_text("10.0.0.0/8\n192.168.0.0/16\n"), None, "a bare prefix list is not a routing table");
        assert_eq!(detect_text("lo UNKNOWN 00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP>\n"), None, "ip -br link");
        assert_eq!(detect_text(""), None);
        assert_eq!(detect_json("[]"), None);
        assert_eq!(detect_json("{\"ifname\": \"eth0\", \"addr_info\": []}"), None);
        assert_eq!(detect_json("[{\"name\": \"x\", \"dst\": \"y\"}]"), None);
        assert_eq!(detect_json("[{\"dst\": \"10.0.0.0/8\", \"dev\": \"e\", \"colour\": 1}]"), None);
        assert_eq!(detect_json("[{\"ifname\": \"eth0\"}]"), None, "ip -j link has no addresses");
        assert_eq!(detect_json("[1, 2, 3]"), None);
    }

    #[test]
    fn test_detect_json() {
        assert_eq!(
            detect_json("[{\"ifindex\":1,\"ifname\":\"lo\",\"flags\":[],\"addr_info\":[]}]"),
            Some(Format::IpAddrJson)
        );
        assert_eq!(
            detect_json("[{\"dst\":\"default\",\"gateway\":\"10.0.0.1\",\"dev\":\"e\",\"flags\":[]}]"),
            Some(Format::IpRouteJson)
        );
        assert_eq!(
            detect_json("[{\"type\":\"blackhole\",\"dst\":\"10.0.0.0/8\",\"flags\":[]}]"),
            Some(Format::IpRouteJson)
        );
        // Broken, but recognisably ip -j output: claimed so the parser can say it is broken.
        assert_eq!(detect_json("[{\"ifindex\":1,\"ifname\":\"lo\",\"flags\":[\"UP\"],"), Some(Format::IpAddrJson));
        assert_eq!(detect_json("[ {\n \"dst\": \"default\", \"dev\": "), Some(Format::IpRouteJson));
        assert_eq!(detect_json("[{\"foo\": "), None);
    }

    #[test]
    fn test_parse_addr_text() {
        let f = p(Format::IpAddr, ADDR);
        assert!(f.diags.is_empty(), "{:?}", f.diags);
        let names: Vec<&str> = f.content.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "v0", "v3", "v2"]);
        let by = |n: &str| f.content.interfaces.iter().find(|i| i.name == n).unwrap();
        assert!(by("lo").up, "UNKNOWN state with UP flag is up");
        assert!(by("v0").up);
        assert!(!by("v3").up, "LOWERLAYERDOWN");
        assert!(!by("v2").up, "no UP flag");
        let v0: Vec<String> = by("v0").addresses.iter().map(|a| a.to_string()).collect();
        assert_eq!(v0, ["10.9.0.1/24", "10.9.0.5/24", "2001:db8::1/64"]);
        assert_eq!(by("v0").prov.line, 5);
        assert!(by("v0").prov.text.starts_with("3: v0@v1:"));
        // The peer prefix contains the local address: local/peer-length.
        assert_eq!(by("v2").addresses[0].to_string(), "10.11.0.1/30");
        assert!(f.content.routes.is_empty());
        // link/ (3), valid_lft (4), altname (1)
        assert_eq!(f.lines_skipped, 8);
        assert_eq!(f.lines_total, 17);
    }

    #[test]
    fn test_old_header_without_state() {
        let f = p(Format::IpAddr, "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qlen 1000\n    inet6 fe80::1/64 scope link \n3: eth1: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500\n");
        assert!(f.diags.is_empty());
        assert!(f.content.interfaces[0].up);
        assert!(!f.content.interfaces[1].up);
    }

    #[test]
    fn test_placeholder_and_anonymised() {
        let text = "# ip -4 a s\n\n3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc htb state UP qlen 1000\n    link/ether XX:XX:XX:XX:XX:X brd ff:ff:ff:ff:ff:ff\n    inet [PUBLIC IP HERE] scope global eth1\n    inet6 fe80::2XX:XXXX:XXXX:XXXX/64 scope link \n";
        let f = p(Format::IpAddr, text);
        assert_eq!(codes_of(&f), ["P004", "P004"]);
        assert_eq!(f.diags[0].line, 5);
        assert_eq!(f.diags[0].context, "ip addr interface eth1");
        assert!(f.diags[0].reason.contains("placeholder"));
        assert_eq!(f.content.interfaces.len(), 1);
        assert!(f.content.interfaces[0].addresses.is_empty());
        assert_eq!(f.lines_skipped, 3);
        assert_eq!(f.status(), FileStatus::Partial);
    }

    #[test]
    fn test_unknown_lines() {
        let f = p(Format::IpAddr, "1: lo: <UP> mtu 1 state UNKNOWN\n    inet 127.0.0.1/8 scope host bogus-flag lo\n    something odd\nnot a line at all\n");
        assert_eq!(codes_of(&f), ["P001", "P001", "P001"]);
        assert_eq!(f.content.interfaces[0].addresses.len(), 1, "the address is kept despite the unknown flag");
        assert_eq!(f.diags[1].line, 3);
        assert_eq!(f.diags[2].line, 4);
    }

    #[test]
    fn test_peer_outside_prefix_gives_route() {
        let f = p(Format::IpAddr, "7: ppp0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1492 state UNKNOWN\n    inet 100.64.1.5 peer 100.64.0.1/32 scope global ppp0\n");
        assert!(f.diags.is_empty());
        assert_eq!(f.content.interfaces[0].addresses[0].to_string(), "100.64.1.5/32");
        let r = &f.content.routes[0];
        assert_eq!(r.dst.to_string(), "100.64.0.1/32");
        assert_eq!(r.dev.as_deref(), Some("ppp0"));
        assert_eq!(r.src, Some("100.64.1.5".parse().unwrap()));
    }

    #[test]
    fn test_oneline_and_brief() {
        let f = p(Format::IpAddr, "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n3: v0    inet 10.9.0.1/24 scope global v0\\       valid_lft forever preferred_lft forever\n3: v0    inet6 2001:db8::1/64 scope global \\       valid_lft forever preferred_lft forever\n");
        assert!(f.diags.is_empty(), "{:?}", f.diags);
        assert_eq!(f.content.interfaces.len(), 2);
        assert_eq!(f.content.interfaces[1].addresses.len(), 2);
        let f = p(Format::IpAddr, "lo               UNKNOWN        127.0.0.1/8 ::1/128 \nv2@v3            DOWN           10.11.0.1 peer 10.11.0.2/30 \nv9 UP bogus\n");
        assert_eq!(codes_of(&f), ["P004"]);
        assert!(f.content.interfaces[0].up);
        assert!(!f.content.interfaces[1].up);
        assert_eq!(f.content.interfaces[1].name, "v2");
        assert_eq!(f.content.interfaces[1].addresses[0].to_string(), "10.11.0.1/30");
    }

    #[test]
    fn test_details_and_stats_skipped() {
        let text = "2: v1@v0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\n    link/ether fe:00:23:c0:ac:14 brd ff:ff:ff:ff:ff:ff promiscuity 0\n    veth numtxqueues 2 numrxqueues 2 gso_max_size 65536\n    inet6 fe80::1/64 scope link \n       valid_lft forever preferred_lft forever\n    RX:  bytes packets errors dropped  missed   mcast\n           892      10      0       0       0       0\n    TX:  bytes packets errors dropped carrier collsns\n           726       9      0       0       0       0\n";
        let f = p(Format::IpAddr, text);
        assert!(f.diags.is_empty(), "{:?}", f.diags);
        assert_eq!(f.lines_skipped, 7);
    }

    const ROUTES: &str = "\
default via 10.9.0.254 dev v0 proto static metric 100
10.9.0.0/24 dev v0  proto kernel  scope link  src 10.9.0.1
131.159.21.1 via 131.159.14.212 dev eth1.1011
172.16.0.0/12 proto static
\tnexthop via 10.9.0.2 dev v0 weight 1
\tnexthop via 10.9.0.3 dev v0 weight 2 onlink
blackhole 203.0.113.0/24
unreachable 203.0.113.128/25 metric 5
prohibit 198.18.0.0/15
throw 10.60.0.0/16 table 100
local 10.9.0.1 dev v0 table local proto kernel scope host src 10.9.0.1
broadcast 10.9.0.255 dev v0 table local proto kernel scope link src 10.9.0.1
";

    #[test]
    fn test_parse_routes() {
        let f = p(Format::IpRoute, ROUTES);
        assert!(f.diags.is_empty(), "{:?}", f.diags);
        let r = &f.content.routes;
        assert_eq!(r.len(), 10);
        assert_eq!(r[0].dst.to_string(), "0.0.0.0/0");
        assert_eq!(r[0].via, Some("10.9.0.254".parse().unwrap()));
        assert_eq!(r[0].metric, 100);
        assert_eq!(r[0].table, "main");
        assert_eq!(r[1].src, Some("10.9.0.1".parse().unwrap()));
        assert_eq!(r[2].dst.to_string(), "131.159.21.1/32");
        // Multipath: one route per nexthop, provenance on the nexthop line.
        assert_eq!((r[3].dst.to_string().as_str(), r[3].prov.line), ("172.16.0.0/12", 5));
        assert_eq!((r[4].dst.to_string().as_str(), r[4].prov.line), ("172.16.0.0/12", 6));
        assert_eq!(r[4].via, Some("10.9.0.3".parse().unwrap()));
        assert_eq!(r[5].kind, RouteKind::Blackhole);
        assert_eq!(r[6].kind, RouteKind::Unreachable);
        assert_eq!(r[6].metric, 5);
        assert_eq!(r[7].kind, RouteKind::Prohibit);
        assert_eq!((r[8].kind, r[8].table.as_str()), (RouteKind::Other, "100"));
        assert_eq!((r[9].kind, r[9].table.as_str()), (RouteKind::Local, "local"));
        assert_eq!(f.lines_skipped, 1, "the broadcast route");
    }

    #[test]
    fn test_default_family() {
        // Gateway, then pref, then neighbours.
        let f = p(Format::IpRoute, "default dev tun0 metric 2000 pref medium\ndefault via fe80::1 dev eth0\n");
        assert_eq!(f.content.routes[0].dst.to_string(), "::/0");
        assert_eq!(f.content.routes[1].dst.to_string(), "::/0");
        let f = p(Format::IpRoute, "default dev ppp0 scope link\n2001:db8::/64 dev eth0 proto kernel\n");
        assert_eq!(f.content.routes[0].dst.to_string(), "::/0", "only IPv6 in the file");
        let f = p(Format::IpRoute, "10.0.0.0/8 dev eth0\ndefault dev ppp0 scope link\n2001:db8::/64 dev eth0\n");
        assert_eq!(f.content.routes[1].dst.to_string(), "0.0.0.0/0", "among the IPv4 routes of table all");
        let f = p(Format::IpRoute, "default dev ppp0 scope link\n");
        assert_eq!(f.content.routes[0].dst.to_string(), "0.0.0.0/0", "unknowable: IPv4");
        // The device's addresses in the same file.
        let f = p(Format::IpAddr, "1: sit1: <UP> mtu 1 state UNKNOWN\n    inet6 2001:db8::2/64 scope global\n    inet6 fe80::1/64 scope link\n10.0.0.0/8 dev eth0\ndefault dev sit1\n");
        assert!(f.diags.is_empty(), "{:?}", f.diags);
        assert_eq!(f.content.routes[1].dst.to_string(), "::/0");
    }

    #[test]
    fn test_route_issues() {
        let f = p(Format::IpRoute, "10.1.1.5/24 dev eth0\n2001:db8::/64 from 2001:db8:1::/48 via fe80::1 dev eth0\n10.2.0.0/16 via 10.0.0.1 dev eth0 metric x\n10.3.0.0/16 dev eth0 frobnicate 3\n10.4.0.0/16 encap mpls 100 via 10.0.0.1 dev eth0\n10.5.0.0/16\n\tnexthop via 10.0.0.9 dev eth0 weight 1\nbogus line\n\tnexthop via 10.0.0.9 dev eth0\n10.6.0.0/16 proto static\n");
        let got: Vec<(u32, &str)> = f.diags.iter().map(|d| (d.line, d.code)).collect();
        assert_eq!(
            got,
            [(1, "P007"), (2, "P002"), (3, "P004"), (4, "P001"), (5, "P002"), (8, "P001"), (9, "P006"), (10, "P006")]
        );
        assert_eq!(f.content.routes[0].dst.to_string(), "10.1.1.0/24");
        // 10.1, 2001:db8, 10.2, 10.3, 10.4, 10.5 (one nexthop); 10.6 has nothing to forward to.
        assert_eq!(f.content.routes.len(), 6);
    }

    #[test]
    fn test_oneline_route() {
        let f = p(Format::IpRoute, "172.16.0.0/12 linkdown \\\tnexthop via 10.9.0.2 dev v0 weight 1 linkdown \\\tnexthop via 10.9.0.3 dev v0 weight 1 linkdown \n");
        assert!(f.diags.is_empty(), "{:?}", f.diags);
        assert_eq!(f.content.routes.len(), 2);
        assert!(f.content.routes.iter().all(|r| r.prov.line == 1));
    }

    const ADDR_JSON: &str = r#"[ {
        "ifindex": 1,
        "ifname": "lo",
        "flags": [ "LOOPBACK","UP","LOWER_UP" ],
        "operstate": "UNKNOWN",
        "addr_info": [ {
                "family": "inet",
                "local": "127.0.0.1",
                "prefixlen": 8,
                "label": "lo"
            } ]
    },{
        "ifindex": 5,
        "ifname": "v2",
        "flags": [ "BROADCAST","MULTICAST" ],
        "operstate": "DOWN",
        "addr_info": [ {"family":"inet","local":"10.11.0.1","address":"10.11.0.2","prefixlen":30}, {}, {"family":"inet6","local":"2001:db8::zz","prefixlen":64} ]
    } ]"#;

    #[test]
    fn test_parse_addr_json() {
        let f = p(Format::IpAddrJson, ADDR_JSON);
        assert_eq!(codes_of(&f), ["P004"]);
        assert_eq!(f.diags[0].line, 12, "the line of the element's opening brace");
        assert!(f.diags[0].text.starts_with("/1/addr_info/2 "));
        let lo = &f.content.interfaces[0];
        assert!(lo.up);
        assert_eq!(lo.prov.line, 1);
        assert!(lo.prov.text.starts_with("/0 {\"ifindex\":1,\"ifname\":\"lo\""), "{}", lo.prov.text);
        assert!(lo.prov.text.contains("\"addr_info\":[…]"), "{}", lo.prov.text);
        let v2 = &f.content.interfaces[1];
        assert!(!v2.up);
        assert_eq!(v2.addresses[0].to_string(), "10.11.0.1/30");
    }

    #[test]
    fn test_parse_route_json() {
        let text = r#"[{"dst":"default","gateway":"10.9.0.254","dev":"v0","metric":100,"flags":[]},{"dst":"172.16.0.0/12","flags":[],"nexthops":[{"gateway":"10.9.0.2","dev":"v0","weight":1,"flags":[]},{"gateway":"10.9.0.3","dev":"v0","weight":2,"flags":[]}]},{"type":"broadcast","dst":"10.9.0.255","dev":"v0","table":"local","flags":[]},{"dst":"default","dev":"v0","metric":1024,"flags":[],"pref":"medium"},{"dst":"10.1.0.0/16","via":{"family":"inet6","host":"fe80::1"},"dev":"v0","flags":[]},{"dst":"10.50.0.0/16","gateway":"10.9.0.9","dev":"v0","table":100,"flags":[],"shiny":1}]"#;
        let f = p(Format::IpRouteJson, text);
        assert_eq!(codes_of(&f), ["P001"]);
        assert_eq!(f.diags[0].severity, Severity::Info);
        assert_eq!(f.status(), FileStatus::Ok);
        let r = &f.content.routes;
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].dst.to_string(), "0.0.0.0/0");
        assert_eq!(r[1].prov.text.split(' ').next(), Some("/1/nexthops/0"));
        assert_eq!(r[2].via, Some("10.9.0.3".parse().unwrap()));
        assert_eq!(r[3].dst.to_string(), "::/0");
        assert_eq!(r[4].via, Some("fe80::1".parse().unwrap()));
        assert_eq!(r[5].table, "100");
        assert!(r.iter().all(|r| r.prov.line == 1));
    }

    #[test]
    fn test_invalid_json() {
        let f = p(Format::IpRouteJson, "[{\"dst\":\"default\",\n\"dev\": }]");
        assert_eq!(codes_of(&f), ["P008"]);
        assert_eq!(f.diags[0].line, 2);
        assert_eq!(f.status(), FileStatus::Failed);
        let f = p(Format::IpAddrJson, "{\"a\": 1}");
        assert_eq!(f.status(), FileStatus::Failed);
        let f = p(Format::IpRouteJson, "[1, {\"dst\": 3}]");
        assert_eq!(codes_of(&f), ["P004", "P004"]);
    }

    #[test]
    fn test_element_spans() {
        let t = "[ {\"a\": \"}]\\\"\"},\n 2 ,\n[3, {}] ]";
        let spans = element_spans(t);
        let texts: Vec<&str> = spans.iter().map(|&(s, e)| t[s..e].trim()).collect();
        assert_eq!(texts, ["{\"a\": \"}]\\\"\"}", "2", "[3, {}]"]);
        assert!(element_spans("[]").is_empty());
    }

    /// No input may panic: every prefix of every sample, and some hostile lines.
    #[test]
    fn test_no_panic_on_truncated_or_hostile_input() {
        let samples = [ADDR, ROUTES, ADDR_JSON];
        for s in samples {
            for (i, _) in s.char_indices() {
                let t = &s[..i];
                for f in [Format::IpAddr, Format::IpRoute, Format::IpAddrJson, Format::IpRouteJson] {
                    let _ = parse(f, 0, "t", t);
                }
                let _ = detect_text(t);
                let _ = detect_json(t);
            }
        }
        for t in [
            "1:",
            "1: :",
            "1: x: <",
            "1: x: <UP",
            "via",
            "default via",
            "local",
            "    inet",
            "    inet /",
            "    inet 1.2.3.4/99",
            "\tnexthop",
            "\\\\\\",
            "x UP 1.2.3.4 peer",
            "[[[[",
            "[\"\\",
        ] {
            let _ = parse(Format::IpAddr, 0, "t", t);
            let _ = parse(Format::IpRouteJson, 0, "t", t);
            let _ = detect_text(t);
            let _ = detect_json(t);
        }
    }
}
