//! nmap XML output (`nmap -oX`): the hosts a scan saw, their addresses, names, ports and
//! services, lowered to [`Host`]s, and what the scan itself records, lowered to [`ScanInfo`].
//!
//! # Detection
//! A file is nmap XML when its root element is `<nmaprun>` (after the XML declaration,
//! comments, processing instructions and the `<!DOCTYPE nmaprun>` nmap writes). Other XML is
//! not detected.
//!
//! # Lines and elements
//! XML has elements rather than lines: a diagnostic names the line where the offending
//! element starts, and its text is the element's start tag. Every element nmap writes is either
//! lowered, understood without a model counterpart (MAC addresses, script output, port owners),
//! or deliberately skipped (timing, traceroute, TCP sequence and OS fingerprint details, task
//! progress, run statistics). Lines holding only skipped elements, comments, the prologue or
//! nothing count as skipped. An element nmap does not write inside `<nmaprun>`, `<host>`,
//! `<ports>`, `<port>` or `<os>` is reported (P001) with its line.
//!
//! # Lowering rules
//! - `<address addrtype="ipv4|ipv6">` gives the host's addresses (an absent `addrtype` means
//!   IPv4, as in nmap's DTD); `mac` addresses are understood and not kept. An address that does
//!   not parse, or whose family contradicts its `addrtype`, is a bad value (P004) and skipped; a
//!   host left without any IP address is skipped with a diagnostic.
//! - `<status state>`: `up` and `down` hosts are kept (nmap lists down hosts only with `-v`);
//!   `unknown` and `skipped` hosts carry no facts and make no host entry.
//! - `<port protocol portid>` with `<state state reason>` and `<service name product version
//!   extrainfo tunnel>` and its `<cpe>`s becomes a [`Service`]. A service behind TLS
//!   (`tunnel="ssl"`) is named `ssl/NAME`, as nmap's normal output prints it. The ports of an IP
//!   protocol scan (`-sO`, `protocol="ip"`) name protocols: one without ports (ICMP, GRE, ESP, …)
//!   becomes a service with that protocol number and port 0; the TCP, UDP and SCTP entries say
//!   nothing about any port and are understood, not kept.
//! - `<extraports state count>` becomes one `other_ports` entry per protocol: the protocol is
//!   taken from the `<extrareasons proto>` children (nmap 7.90 and later), else from the scan's
//!   only protocol; when the file does not say, the entry is reported and not kept. The
//!   protocols an IP protocol scan summarises (`proto="n/a"`) are understood and not kept: the
//!   model counts ports, not protocols.
//! - The operating system is the `<osmatch>` with the highest accuracy (the first on ties),
//!   else the best `<osclass>` of older files (`vendor osfamily osgen`).
//! - A port state outside nmap's six (`open`, `closed`, `filtered`, `unfiltered`,
//!   `open|filtered`, `closed|filtered`) is a bad value and the port is skipped.
//!
//! # Hostile and broken files
//! - nmap never writes a DTD internal subset, so a file declaring one (the only way to define
//!   entities, as in the "billion laughs" bomb) is refused before parsing. External entities are
//!   never fetched. roxmltree parses nesting iteratively, and this reader only descends into the
//!   elements nmap nests, so deep nesting cannot exhaust the stack.
//! - nmap writes the XML file as the scan goes: an interrupted scan leaves a file that stops in
//!   the middle. Such a file (and one that is malformed part way) is read up to the last complete
//!   `<host>` before the point where the XML breaks, with a diagnostic (P006) saying so.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use roxmltree::{Document, Node};

use super::xml::{attr, count_skipped, elements, internal_subset_reason, options, prologue, tag_text, LineIndex};
use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{Host, PortState, ScanInfo, Service};

/// Top-level elements that carry no fact about hosts or their ports: counted as skipped.
const SKIPPED_TOP: &[&str] =
    &["verbose", "debugging", "target", "taskbegin", "taskprogress", "taskend", "hosthint", "output", "runstats"];

/// `<host>` children that carry no fact the model keeps (timing, traceroute, IP ID and TCP
/// sequence analysis, uptime guess, hop distance, smurf responses): counted as skipped.
const SKIPPED_HOST: &[&str] =
    &["times", "trace", "distance", "uptime", "tcpsequence", "ipidsequence", "tcptssequence", "smurf"];

/// `<os>` children other than the matches: the ports used and the raw fingerprint.
const SKIPPED_OS: &[&str] = &["portused", "osfingerprint"];

/// Why a port state is a bad value (nmap's internal `unknown` state among them).
const NOT_A_STATE: &str = "is none of open, closed, filtered, unfiltered, open|filtered, closed|filtered";

/// How many cut points before the break are tried when the XML is not well-formed.
const MAX_CUT_ATTEMPTS: usize = 4;

/// True when the text is nmap XML output: its root element is `<nmaprun>`.
pub fn looks_like(text: &str) -> bool {
    prologue(text).is_some_and(|p| p.root == "nmaprun")
}

/// The largest well-formed prefix of a broken nmap XML file, closed with `</nmaprun>`: the text
/// up to the end of a complete `<host>` (the last ones before `limit` first), else up to the
/// line before the first host, else up to the `<nmaprun>` start tag. Returns the repaired text
/// and the byte offset where the original text was cut.
fn repair(text: &str, limit: usize) -> Option<(String, usize)> {
    let head = text.get(..limit.min(text.len()))?;
    let mut cuts = Vec::new();
    let mut search = head;
    while cuts.len() < MAX_CUT_ATTEMPTS {
        let Some(i) = search.rfind("</host>") else { break };
        cuts.push(i + "</host>".len());
        search = search.get(..i)?;
    }
    let first_host = head.find("<host ").or_else(|| head.find("<host>")).unwrap_or(head.len());
    if let Some(nl) = head.get(..first_host).and_then(|h| h.rfind('\n')) {
        cuts.push(nl);
    }
    if let Some(root) = head.find("<nmaprun") {
        if let Some(gt) = head.get(root..).and_then(|r| r.find('>')) {
            cuts.push(root + gt + 1);
        }
    }
    for cut in cuts {
        let Some(prefix) = text.get(..cut) else { continue };
        let candidate = format!("{prefix}\n</nmaprun>\n");
        if Document::parse_with_options(&candidate, options()).is_ok() {
            return Some((candidate, cut));
        }
    }
    None
}

/// Protocol number of an nmap port protocol name.
fn proto_number(name: &str) -> Option<u8> {
    match name {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        _ => None,
    }
}

/// True for the protocols whose services the model keys by port (TCP, UDP, SCTP).
fn proto_number_known(p: u8) -> bool {
    matches!(p, 6 | 17 | 132)
}

/// A port state as nmap writes it.
fn port_state(s: &str) -> Option<PortState> {
    Some(match s {
        "open" => PortState::Open,
        "closed" => PortState::Closed,
        "filtered" => PortState::Filtered,
        "unfiltered" => PortState::Unfiltered,
        "open|filtered" => PortState::OpenFiltered,
        "closed|filtered" => PortState::ClosedFiltered,
        _ => return None,
    })
}

/// A port state as nmap writes it, for provenance texts.
fn state_word(s: PortState) -> &'static str {
    match s {
        PortState::Open => "open",
        PortState::Closed => "closed",
        PortState::Filtered => "filtered",
        PortState::Unfiltered => "unfiltered",
        PortState::OpenFiltered => "open|filtered",
        PortState::ClosedFiltered => "closed|filtered",
    }
}

/// How a host's `<status>` reads.
enum HostState {
    Up,
    Down,
    /// `unknown` or `skipped`: the scan holds no facts about the host.
    NoFacts,
}

/// Walks one parsed document and lowers it.
struct Lower<'t> {
    text: &'t str,
    file: &'t str,
    source: SourceId,
    idx: &'t LineIndex,
    d: Diags,
    /// Byte ranges of deliberately skipped content.
    skipped: Vec<Range<usize>>,
    /// Port protocols of the scan (`<scaninfo protocol>`), in file order.
    scan_protocols: Vec<u8>,
    /// True when the scan includes an IP protocol scan (`-sO`).
    ip_scan: bool,
}

impl<'t> Lower<'t> {
    fn line(&self, node: Node) -> u32 {
        self.idx.line(node.range().start)
    }

    fn skip(&mut self, node: Node) {
        self.skipped.push(node.range());
    }

    fn diag(&mut self, code: &'static str, severity: Severity, node: Node, reason: impl Into<String>) {
        let line = self.line(node);
        let text = tag_text(self.text, node);
        self.d.push(code, severity, line, &text, reason);
    }

    fn unknown(&mut self, node: Node, inside: &str) {
        let name = node.tag_name().name();
        self.diag(
            codes::UNRECOGNIZED,
            Severity::Warning,
            node,
            format!("element <{name}> is not one nmap writes inside <{inside}>: not read"),
        );
    }

    fn bad(&mut self, node: Node, reason: impl Into<String>) {
        self.diag(codes::BAD_VALUE, Severity::Warning, node, reason);
    }

    fn prov(&self, node: Node, text: String) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line: self.line(node), text }
    }

    fn scan_info(&mut self, root: Node) -> ScanInfo {
        let scanner = match (attr(root, "scanner"), attr(root, "version")) {
            (Some(s), Some(v)) => format!("{s} {v}"),
            (Some(s), None) => s.to_string(),
            (None, Some(v)) => format!("nmap {v}"),
            (None, None) => "nmap".to_string(),
        };
        ScanInfo {
            scanner,
            args: attr(root, "args").unwrap_or("").to_string(),
            started: attr(root, "startstr").unwrap_or("").to_string(),
            scanned: Vec::new(),
        }
    }

    fn run(&mut self, root: Node) -> (ScanInfo, Vec<Host>) {
        let mut scan = self.scan_info(root);
        let mut hosts = Vec::new();
        for child in elements(root) {
            match child.tag_name().name() {
                "scaninfo" => {
                    let proto = attr(child, "protocol").unwrap_or("");
                    match proto_number(proto) {
                        Some(n) => self.scan_protocols.push(n),
                        // The IP protocol scan's ports are protocols, not ports.
                        None if proto == "ip" => self.ip_scan = true,
                        None => self.bad(child, format!("unknown scan protocol \"{proto}\"")),
                    }
                    scan.scanned.push((proto.to_string(), attr(child, "services").unwrap_or("").to_string()));
                }
                "host" => {
                    if let Some(h) = self.host(child) {
                        hosts.push(h);
                    }
                }
                // Script output (prescan and postscan scripts) is understood, not modelled yet.
                "prescript" | "postscript" => {}
                "runstats" => {
                    self.skip(child);
                    let finished = elements(child).find(|c| c.has_tag_name("finished"));
                    if let Some(f) = finished.filter(|f| f.attribute("exit") == Some("error")) {
                        let msg = attr(f, "errormsg").unwrap_or("no message");
                        self.diag(
                            codes::STRUCTURE,
                            Severity::Warning,
                            f,
                            format!("nmap reports that the scan ended with an error ({msg}): its results may be incomplete"),
                        );
                    }
                }
                name if SKIPPED_TOP.contains(&name) => self.skip(child),
                _ => self.unknown(child, "nmaprun"),
            }
        }
        (scan, hosts)
    }

    fn host(&mut self, host: Node) -> Option<Host> {
        let first_addr = elements(host)
            .filter(|c| c.has_tag_name("address") && c.attribute("addrtype") != Some("mac"))
            .find_map(|c| attr(c, "addr"));
        self.d.set_context(match first_addr {
            Some(a) => format!("nmap host {a}"),
            None => "nmap host".to_string(),
        });
        let mut state = None;
        let mut addrs: Vec<IpAddr> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut services = Vec::new();
        let mut other_ports = Vec::new();
        let mut os = None;
        for child in elements(host) {
            match child.tag_name().name() {
                "status" => match attr(child, "state") {
                    Some("up") => state = Some(HostState::Up),
                    Some("down") => state = Some(HostState::Down),
                    Some("unknown" | "skipped") => state = Some(HostState::NoFacts),
                    other => self.bad(
                        child,
                        format!("host state \"{}\" is none of up, down, unknown, skipped", other.unwrap_or("")),
                    ),
                },
                "address" => {
                    if let Some(a) = self.address(child) {
                        if !addrs.contains(&a) {
                            addrs.push(a);
                        }
                    }
                }
                "hostnames" => {
                    for h in elements(child) {
                        if h.has_tag_name("hostname") {
                            if let Some(n) = attr(h, "name") {
                                if !names.iter().any(|x| x == n) {
                                    names.push(n.to_string());
                                }
                            }
                        } else {
                            self.unknown(h, "hostnames");
                        }
                    }
                }
                "ports" => self.ports(child, &mut services, &mut other_ports),
                "os" => os = self.os(child),
                // Host script output is understood, not modelled yet.
                "hostscript" => {}
                name if SKIPPED_HOST.contains(&name) => self.skip(child),
                _ => self.unknown(child, "host"),
            }
        }
        if host.attribute("timedout") == Some("true") {
            self.diag(
                codes::STRUCTURE,
                Severity::Info,
                host,
                "nmap gave up on this host (--host-timeout): ports it does not list may still be open",
            );
        }
        let result = match state {
            Some(HostState::NoFacts) => None,
            _ if addrs.is_empty() => {
                self.diag(codes::BAD_VALUE, Severity::Warning, host, "host without a usable IPv4 or IPv6 address: skipped");
                None
            }
            state => {
                let up = match state {
                    Some(HostState::Up) => true,
                    Some(HostState::Down) => false,
                    _ => {
                        let open = services.iter().any(|s: &Service| s.state == PortState::Open);
                        self.diag(
                            codes::STRUCTURE,
                            Severity::Warning,
                            host,
                            format!(
                                "host without a <status>: taken as {} because {} open port is listed",
                                if open { "up" } else { "down" },
                                if open { "an" } else { "no" }
                            ),
                        );
                        open
                    }
                };
                let mut text = format!("host {}", addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "));
                if !names.is_empty() {
                    text.push_str(&format!(" ({})", names.join(" ")));
                }
                text.push_str(if up { " up" } else { " down" });
                Some(Host { addrs, names, up, services, other_ports, os, vulns: Vec::new(), prov: self.prov(host, text) })
            }
        };
        self.d.set_context("");
        result
    }

    fn address(&mut self, node: Node) -> Option<IpAddr> {
        let addr = attr(node, "addr").unwrap_or("");
        match node.attribute("addrtype").unwrap_or("ipv4") {
            "ipv4" => match addr.parse::<Ipv4Addr>() {
                Ok(a) => Some(IpAddr::V4(a)),
                Err(_) => {
                    self.bad(node, format!("\"{addr}\" is not an IPv4 address: address skipped"));
                    None
                }
            },
            "ipv6" => match addr.parse::<Ipv6Addr>() {
                Ok(a) => Some(IpAddr::V6(a)),
                Err(_) => {
                    self.bad(node, format!("\"{addr}\" is not an IPv6 address: address skipped"));
                    None
                }
            },
            // Link-layer addresses say nothing about reachability over IP.
            "mac" => None,
            other => {
                self.bad(node, format!("address type \"{other}\" is none of ipv4, ipv6, mac: address skipped"));
                None
            }
        }
    }

    fn ports(&mut self, ports: Node, services: &mut Vec<Service>, other: &mut Vec<(u8, PortState, u32)>) {
        for child in elements(ports) {
            match child.tag_name().name() {
                "port" => {
                    if let Some(s) = self.port(child) {
                        services.push(s);
                    }
                }
                "extraports" => self.extraports(child, other),
                _ => self.unknown(child, "ports"),
            }
        }
    }

    fn port(&mut self, port: Node) -> Option<Service> {
        let protocol = attr(port, "protocol").unwrap_or("");
        let portid = attr(port, "portid").unwrap_or("");
        let (proto, number) = if protocol == "ip" {
            match portid.parse::<u8>() {
                Ok(p) => (p, 0),
                Err(_) => {
                    self.bad(port, format!("\"{portid}\" is not an IP protocol number (0-255): port skipped"));
                    return None;
                }
            }
        } else {
            let Some(proto) = proto_number(protocol) else {
                self.bad(port, format!("protocol \"{protocol}\" is none of tcp, udp, sctp, ip: port skipped"));
                return None;
            };
            match portid.parse::<u16>() {
                Ok(n) => (proto, n),
                Err(_) => {
                    self.bad(port, format!("\"{portid}\" is not a port number (0-65535): port skipped"));
                    return None;
                }
            }
        };
        let mut state = None;
        let mut reason = None;
        let mut name = None;
        let mut product = None;
        let mut version = None;
        let mut extra = None;
        let mut cpe = Vec::new();
        let mut bad_state = false;
        for child in elements(port) {
            match child.tag_name().name() {
                "state" if state.is_none() && !bad_state => {
                    let s = attr(child, "state").unwrap_or("");
                    match port_state(s) {
                        Some(st) => {
                            state = Some(st);
                            reason = attr(child, "reason").map(str::to_string);
                        }
                        None => {
                            self.bad(child, format!("port state \"{s}\" {NOT_A_STATE}: port skipped"));
                            bad_state = true;
                        }
                    }
                }
                "service" => {
                    let n = attr(child, "name");
                    name = match (n, attr(child, "tunnel")) {
                        (Some(n), Some(t)) => Some(format!("{t}/{n}")),
                        (n, _) => n.map(str::to_string),
                    };
                    product = attr(child, "product").map(str::to_string);
                    version = attr(child, "version").map(str::to_string);
                    extra = attr(child, "extrainfo").map(str::to_string);
                    for c in elements(child) {
                        if c.has_tag_name("cpe") {
                            if let Some(t) = c.text().map(str::trim).filter(|t| !t.is_empty()) {
                                cpe.push(t.to_string());
                            }
                        } else {
                            self.unknown(c, "service");
                        }
                    }
                }
                // The ident owner and script output are understood, not modelled yet.
                "owner" | "script" => {}
                _ => self.unknown(child, "port"),
            }
        }
        if bad_state {
            return None;
        }
        let Some(state) = state else {
            self.diag(codes::STRUCTURE, Severity::Warning, port, "port without a <state>: port skipped");
            return None;
        };
        if protocol == "ip" && proto_number_known(proto) {
            // The protocol scan's TCP, UDP and SCTP entries say the host speaks the protocol,
            // nothing about any port: understood, not kept (port 0 would read as a real port).
            return None;
        }
        let mut text = if protocol == "ip" {
            format!("protocol {proto} {}", state_word(state))
        } else {
            format!("port {protocol}/{number} {}", state_word(state))
        };
        for part in [&name, &product, &version].into_iter().flatten() {
            text.push(' ');
            text.push_str(part);
        }
        Some(Service {
            proto,
            port: number,
            state,
            reason,
            name,
            product,
            version,
            extra,
            cpe,
            prov: self.prov(port, text),
        })
    }

    fn extraports(&mut self, node: Node, other: &mut Vec<(u8, PortState, u32)>) {
        let s = attr(node, "state").unwrap_or("");
        let Some(state) = port_state(s) else {
            self.bad(node, format!("port state \"{s}\" {NOT_A_STATE}: not kept"));
            return;
        };
        let c = attr(node, "count").unwrap_or("");
        let Ok(count) = c.parse::<u32>() else {
            self.bad(node, format!("\"{c}\" is not a port count: not kept"));
            return;
        };
        // nmap 7.90 and later split the count by reason and protocol; the IP protocol scan's
        // share (protocols, not ports) is marked `n/a`.
        let mut by_proto: BTreeMap<u8, u32> = BTreeMap::new();
        let mut ip_share = 0u32;
        let mut complete = true;
        let mut reasons = 0;
        for r in elements(node) {
            if !r.has_tag_name("extrareasons") {
                self.unknown(r, "extraports");
                continue;
            }
            reasons += 1;
            let n = attr(r, "count").and_then(|n| n.parse::<u32>().ok());
            match (attr(r, "proto"), n) {
                (Some("n/a" | "ip"), Some(n)) => ip_share = ip_share.saturating_add(n),
                (Some(p), Some(n)) => match proto_number(p) {
                    Some(p) => {
                        let e = by_proto.entry(p).or_default();
                        *e = e.saturating_add(n);
                    }
                    None => complete = false,
                },
                _ => complete = false,
            }
        }
        let split: u32 = by_proto.values().fold(ip_share, |a, &n| a.saturating_add(n));
        if reasons > 0 && complete && split == count {
            other.extend(by_proto.into_iter().map(|(p, n)| (p, state, n)));
            return;
        }
        let mut protos = self.scan_protocols.clone();
        protos.sort_unstable();
        protos.dedup();
        match protos[..] {
            // Only an IP protocol scan: the summarised entries are protocols, which the model
            // does not count.
            [] if self.ip_scan => {}
            [only] if !self.ip_scan => other.push((only, state, count)),
            _ => self.diag(
                codes::STRUCTURE,
                Severity::Warning,
                node,
                format!("{count} {s} ports of a scan of several protocols, without saying which protocol: not kept"),
            ),
        }
    }

    fn os(&mut self, node: Node) -> Option<String> {
        let mut best_match: Option<(u32, String)> = None;
        let mut best_class: Option<(u32, String)> = None;
        for child in elements(node) {
            let accuracy = || attr(child, "accuracy").and_then(|a| a.parse::<u32>().ok()).unwrap_or(0);
            match child.tag_name().name() {
                "osmatch" => {
                    if let Some(name) = attr(child, "name") {
                        let acc = accuracy();
                        if best_match.as_ref().is_none_or(|(a, _)| acc > *a) {
                            best_match = Some((acc, name.to_string()));
                        }
                    }
                }
                "osclass" => {
                    let parts: Vec<&str> =
                        ["vendor", "osfamily", "osgen"].iter().filter_map(|k| attr(child, k)).collect();
                    let acc = accuracy();
                    if !parts.is_empty() && best_class.as_ref().is_none_or(|(a, _)| acc > *a) {
                        best_class = Some((acc, dedup_words(&parts)));
                    }
                }
                name if SKIPPED_OS.contains(&name) => self.skip(child),
                _ => self.unknown(child, "os"),
            }
        }
        best_match.or(best_class).map(|(_, n)| n)
    }
}

/// `Linux Linux 2.6.X` → `Linux 2.6.X`: nmap's vendor and family are often the same word.
fn dedup_words(parts: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for p in parts {
        if out.last() != Some(p) {
            out.push(p);
        }
    }
    out.join(" ")
}

/// Parse nmap XML output.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::NmapXml, text);
    let idx = LineIndex::new(text);
    if let Some(at) = prologue(text).and_then(|pr| pr.internal_subset) {
        let line = idx.line(at);
        let mut d = Diags::default();
        d.push(
            codes::UNREADABLE,
            Severity::Error,
            line,
            "<!DOCTYPE … [",
            internal_subset_reason("nmap"),
        );
        p.diags = d.list;
        p.content.scan = Some(ScanInfo { scanner: "nmap".to_string(), ..ScanInfo::default() });
        return p;
    }
    let repaired: String;
    let mut break_note = None;
    let doc = match Document::parse_with_options(text, options()) {
        Ok(doc) => doc,
        Err(e) => {
            let at_end = matches!(e, roxmltree::Error::UnexpectedEndOfStream | roxmltree::Error::UnclosedRootNode);
            let limit = if at_end { text.len() } else { idx.offset_of(text, e.pos()) };
            match repair(text, limit) {
                Some((fixed, cut)) => {
                    repaired = fixed;
                    break_note = Some((e, at_end, limit, cut));
                    match Document::parse_with_options(&repaired, options()) {
                        Ok(doc) => doc,
                        Err(e) => return failed(p, &idx, text, e),
                    }
                }
                None => return failed(p, &idx, text, e),
            }
        }
    };
    let root = doc.root_element();
    let mut lower = Lower {
        text,
        file,
        source,
        idx: &idx,
        d: Diags::default(),
        skipped: Vec::new(),
        scan_protocols: Vec::new(),
        ip_scan: false,
    };
    // The prologue (declaration, DOCTYPE, stylesheet, comments) before the root element.
    lower.skipped.push(0..root.range().start);
    for n in doc.descendants().filter(|n| n.is_comment() || n.is_pi()) {
        lower.skipped.push(n.range());
    }
    let (scan, hosts) = lower.run(root);
    if let Some((e, at_end, limit, cut)) = break_note {
        let lost_from = idx.line(cut) + 1;
        let lines_lost = p.lines_total.saturating_sub(lost_from.saturating_sub(1));
        let what = if at_end {
            "the file ends before the scan does (nmap writes the XML as the scan goes; an \
             interrupted scan leaves it unfinished)"
                .to_string()
        } else {
            format!("the XML is malformed at line {} ({e})", idx.line(limit))
        };
        let mut reason = format!(
            "{what}: read the {} complete host{} up to line {}",
            hosts.len(),
            if hosts.len() == 1 { "" } else { "s" },
            idx.line(cut),
        );
        if lines_lost > 0 {
            let (s, verb) = if lines_lost == 1 { ("", "is") } else { ("s", "are") };
            reason.push_str(&format!("; the {lines_lost} line{s} after it {verb} not read"));
        }
        if at_end {
            reason.push_str("; hosts and ports the scan had not finished are missing");
        }
        let line = if at_end { p.lines_total.max(1) } else { idx.line(limit) };
        lower.d.push(codes::STRUCTURE, Severity::Warning, line, "", reason);
    }
    let mut diags = lower.d.list;
    diags.sort_by_key(|d| d.line);
    p.lines_skipped = count_skipped(text, lower.skipped).min(p.lines_total);
    p.diags = diags;
    p.content.hosts = hosts;
    p.content.scan = Some(scan);
    p
}

/// The result for a file that is not well-formed XML before its first complete host.
fn failed(mut p: ParsedFile, idx: &LineIndex, text: &str, e: roxmltree::Error) -> ParsedFile {
    let line = match e {
        roxmltree::Error::UnexpectedEndOfStream | roxmltree::Error::UnclosedRootNode => p.lines_total.max(1),
        _ => idx.line(idx.offset_of(text, e.pos())),
    };
    let mut d = Diags::default();
    d.push(codes::UNREADABLE, Severity::Error, line, "", format!("not well-formed XML before any complete host: {e}"));
    p.diags = d.list;
    // Still a scan (the root element said so), so it is never taken for a device.
    p.content.scan = Some(ScanInfo { scanner: "nmap".to_string(), ..ScanInfo::default() });
    p
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::diag::FileStatus;

    fn p(text: &str) -> ParsedFile {
        parse(0, "scan.xml", text)
    }

    fn codes_of(f: &ParsedFile) -> Vec<(u32, &'static str)> {
        f.diags.iter().map(|d| (d.line, d.code)).collect()
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.93 scan initiated Mon Jan  1 10:00:00 2024 as: nmap -sV -oX scan.xml 192.0.2.0/30 -->
<nmaprun scanner="nmap" args="nmap -sV -oX scan.xml 192.0.2.0/30" start="1704103200" startstr="Mon Jan  1 10:00:00 2024" version="7.93" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>
<verbose level="0"/>
<debugging level="0"/>
"#;

    const HOST: &str = r#"<host starttime="1704103200" endtime="1704103210"><status state="up" reason="echo-reply" reason_ttl="63"/>
<address addr="192.0.2.1" addrtype="ipv4"/>
<address addr="52:54:00:12:34:56" addrtype="mac" vendor="QEMU virtual NIC"/>
<hostnames>
<hostname name="gw.example.test" type="PTR"/>
</hostnames>
<ports><extraports state="closed" count="997">
<extrareasons reason="reset" count="997" proto="tcp" ports="1-21,23-79,81-442,444-1000"/>
</extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="63"/><service name="ssh" product="OpenSSH" version="8.9p1 Ubuntu 3ubuntu0.6" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:8.9p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service></port>
<port protocol="tcp" portid="80"><state state="filtered" reason="no-response" reason_ttl="0"/><service name="http" method="table" conf="3"/></port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="63"/><service name="http" product="nginx" tunnel="ssl" method="probed" conf="10"/><script id="http-title" output="Welcome"><elem key="title">Welcome</elem></script></port>
</ports>
<os><portused state="open" proto="tcp" portid="22"/>
<osmatch name="Linux 4.15 - 5.8" accuracy="96" line="67000"><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="4.X" accuracy="96"><cpe>cpe:/o:linux:linux_kernel:4</cpe></osclass></osmatch>
<osmatch name="Linux 5.0 - 5.4" accuracy="98" line="67100"/>
<osmatch name="Linux 5.1" accuracy="98" line="67200"/>
</os>
<uptime seconds="3600" lastboot="Mon Jan  1 09:00:00 2024"/>
<distance value="2"/>
<times srtt="500" rttvar="100" to="100000"/>
</host>
"#;

    const TAIL: &str = r#"<runstats><finished time="1704103210" timestr="Mon Jan  1 10:00:10 2024" summary="Nmap done" elapsed="10.00" exit="success"/><hosts up="1" down="0" total="1"/>
</runstats>
</nmaprun>
"#;

    fn doc(hosts: &str) -> String {
        format!("{HEAD}{hosts}{TAIL}")
    }

    #[test]
    fn detects_nmap_and_only_nmap() {
        assert!(looks_like(&doc(HOST)));
        assert!(looks_like("\u{feff}<nmaprun scanner=\"nmap\"></nmaprun>"));
        assert!(looks_like("<!-- x --><nmaprun/>"));
        assert!(!looks_like("<?xml version=\"1.0\"?>\n<NessusClientData_v2></NessusClientData_v2>"));
        assert!(!looks_like("<?xml version=\"1.0\"?><config><nmaprun/></config>"));
        assert!(!looks_like("<nmaprunner/>"));
        assert!(!looks_like("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"));
        assert!(!looks_like("<?xml version=\"1.0\""));
        assert_eq!(crate::parse::detect(&doc(HOST)), Format::NmapXml);
        assert_eq!(crate::parse::detect("<?xml version=\"1.0\"?>\n<config/>"), Format::Unknown);
    }

    #[test]
    fn lowers_a_host() {
        let f = p(&doc(HOST));
        assert_eq!(f.format, Format::NmapXml);
        assert_eq!(f.status(), FileStatus::Ok, "{:?}", f.diags);
        let scan = f.content.scan.as_ref().expect("scan info");
        assert_eq!(scan.scanner, "nmap 7.93");
        assert_eq!(scan.args, "nmap -sV -oX scan.xml 192.0.2.0/30");
        assert_eq!(scan.started, "Mon Jan  1 10:00:00 2024");
        assert_eq!(scan.scanned, [("tcp".to_string(), "1-1000".to_string())]);
        let [h] = &f.content.hosts[..] else { panic!("one host: {:?}", f.content.hosts) };
        assert_eq!(h.addrs, ["192.0.2.1".parse::<IpAddr>().unwrap()], "the MAC address is not kept");
        assert_eq!(h.names, ["gw.example.test"]);
        assert!(h.up);
        assert_eq!(h.other_ports, [(6, PortState::Closed, 997)]);
        assert_eq!(h.os.as_deref(), Some("Linux 5.0 - 5.4"), "highest accuracy, first on ties");
        assert_eq!(h.prov.line, 9);
        assert_eq!(h.prov.text, "host 192.0.2.1 (gw.example.test) up");
        let ssh = &h.services[0];
        assert_eq!((ssh.proto, ssh.port, ssh.state), (6, 22, PortState::Open));
        assert_eq!(ssh.reason.as_deref(), Some("syn-ack"));
        assert_eq!(ssh.product.as_deref(), Some("OpenSSH"));
        assert_eq!(ssh.extra.as_deref(), Some("Ubuntu Linux; protocol 2.0"));
        assert_eq!(ssh.cpe, ["cpe:/a:openbsd:openssh:8.9p1", "cpe:/o:linux:linux_kernel"]);
        assert_eq!(ssh.prov.line, 18);
        assert_eq!(ssh.prov.text, "port tcp/22 open ssh OpenSSH 8.9p1 Ubuntu 3ubuntu0.6");
        assert_eq!(h.services[1].state, PortState::Filtered);
        assert_eq!(h.services[1].prov.text, "port tcp/80 filtered http");
        assert_eq!(h.services[2].name.as_deref(), Some("ssl/http"));
    }

    #[test]
    fn line_counts() {
        let text = doc(HOST);
        let f = p(&text);
        assert_eq!(f.lines_total, text.lines().count() as u32);
        // Prologue (4 lines), verbose, debugging, uptime, distance, times, portused line is
        // shared with <os>: not skipped; runstats (2 lines).
        assert_eq!(f.lines_skipped, 4 + 2 + 3 + 2);
        let blank = p(&format!("{HEAD}\n\n{HOST}{TAIL}"));
        assert_eq!(blank.lines_skipped, f.lines_skipped + 2);
    }

    #[test]
    fn every_port_state() {
        let mut ports = String::new();
        for (i, s) in ["open", "closed", "filtered", "unfiltered", "open|filtered", "closed|filtered"].iter().enumerate() {
            ports.push_str(&format!(
                "<port protocol=\"udp\" portid=\"{}\"><state state=\"{s}\" reason=\"x\" reason_ttl=\"0\"/></port>\n",
                i + 1
            ));
        }
        let host = format!(
            "<host><status state=\"up\"/>\n<address addr=\"2001:db8::1\" addrtype=\"ipv6\"/>\n<ports>\n{ports}</ports>\n</host>\n"
        );
        let f = p(&doc(&host));
        assert_eq!(f.status(), FileStatus::Ok, "{:?}", f.diags);
        let states: Vec<PortState> = f.content.hosts[0].services.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [
                PortState::Open,
                PortState::Closed,
                PortState::Filtered,
                PortState::Unfiltered,
                PortState::OpenFiltered,
                PortState::ClosedFiltered
            ]
        );
        assert!(f.content.hosts[0].services.iter().all(|s| s.proto == 17));
        assert_eq!(f.content.hosts[0].services[4].prov.text, "port udp/5 open|filtered");
    }

    #[test]
    fn bad_values_are_reported_and_skipped() {
        let host = r#"<host><status state="up"/>
<address addr="192.0.2.300" addrtype="ipv4"/>
<address addr="192.0.2.7" addrtype="ipv6"/>
<address addr="192.0.2.5" addrtype="ipv4"/>
<address addr="x" addrtype="ipx"/>
<ports>
<port protocol="tcp" portid="70000"><state state="open" reason="syn-ack"/></port>
<port protocol="tcp" portid="ssh"><state state="open" reason="syn-ack"/></port>
<port protocol="icmp" portid="1"><state state="open" reason="syn-ack"/></port>
<port protocol="tcp" portid="25"><state state="half-open" reason="syn-ack"/></port>
<port protocol="tcp" portid="26"></port>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port>
<extraports state="sideways" count="3"/>
<extraports state="closed" count="many"/>
</ports>
</host>
"#;
        let f = p(&doc(host));
        let b = codes::BAD_VALUE;
        assert_eq!(
            codes_of(&f),
            [(10, b), (11, b), (13, b), (15, b), (16, b), (17, b), (18, b), (19, codes::STRUCTURE), (21, b), (22, b)]
        );
        assert_eq!(f.status(), FileStatus::Partial);
        assert_eq!(f.diags[0].context, "nmap host 192.0.2.300");
        assert!(f.diags[0].reason.contains("not an IPv4 address"), "{}", f.diags[0].reason);
        let h = &f.content.hosts[0];
        assert_eq!(h.addrs, ["192.0.2.5".parse::<IpAddr>().unwrap()]);
        let ports: Vec<u16> = h.services.iter().map(|s| s.port).collect();
        assert_eq!(ports, [22]);
        assert!(h.other_ports.is_empty());
    }

    #[test]
    fn unknown_elements_are_reported() {
        let host = r#"<host><status state="up"/>
<address addr="192.0.2.9"/>
<geolocation country="XX"/>
<ports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><banner>SSH-2.0</banner><service name="ssh"><cpe>cpe:/a:x</cpe><note/></service></port>
<portrange from="1" to="2"/>
</ports>
</host>
<inventory/>
"#;
        let f = p(&doc(host));
        let u = codes::UNRECOGNIZED;
        assert_eq!(codes_of(&f), [(11, u), (13, u), (13, u), (14, u), (17, u)]);
        assert!(f.diags[0].reason.contains("<geolocation>"), "{}", f.diags[0].reason);
        assert_eq!(f.diags[0].text, "<geolocation country=\"XX\"/>");
        assert_eq!(f.diags[4].context, "", "outside any host");
        // The known parts are still read; an address without addrtype is IPv4.
        let h = &f.content.hosts[0];
        assert_eq!(h.addrs, ["192.0.2.9".parse::<IpAddr>().unwrap()]);
        assert_eq!(h.services[0].cpe, ["cpe:/a:x"]);
        assert_eq!(f.lines_unrecognized(), 4);
    }

    #[test]
    fn down_unknown_and_addressless_hosts() {
        let hosts = r#"<host><status state="down" reason="no-response"/><address addr="192.0.2.2"/></host>
<host><status state="unknown"/><address addr="192.0.2.3"/></host>
<host><status state="up"/><address addr="aa:bb:cc:dd:ee:ff" addrtype="mac"/></host>
<host><address addr="192.0.2.4"/><ports><port protocol="tcp" portid="1"><state state="open" reason="syn-ack"/></port></ports></host>
<host timedout="true"><status state="up"/><address addr="192.0.2.6"/></host>
"#;
        let f = p(&doc(hosts));
        let addrs: Vec<String> = f.content.hosts.iter().map(|h| h.addrs[0].to_string()).collect();
        assert_eq!(addrs, ["192.0.2.2", "192.0.2.4", "192.0.2.6"]);
        assert!(!f.content.hosts[0].up);
        assert!(f.content.hosts[1].up, "no status, an open port");
        assert_eq!(
            f.diags.iter().map(|d| (d.line, d.code, d.severity)).collect::<Vec<_>>(),
            [
                (11, codes::BAD_VALUE, Severity::Warning),
                (12, codes::STRUCTURE, Severity::Warning),
                (13, codes::STRUCTURE, Severity::Info)
            ]
        );
    }

    #[test]
    fn extraports_protocols() {
        // Older nmap: no extrareasons protocol; a TCP and UDP scan cannot be split.
        let two = doc(HOST)
            .replace(
                "<verbose",
                "<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"100\" services=\"7,9\"/>\n<verbose",
            )
            .replace("<extrareasons reason=\"reset\" count=\"997\" proto=\"tcp\" ports=\"1-21,23-79,81-442,444-1000\"/>\n", "");
        let f = p(&two);
        assert_eq!(codes_of(&f), [(16, codes::STRUCTURE)], "one line more for the second scaninfo");
        assert!(f.content.hosts[0].other_ports.is_empty());
        // Split by protocol from the reasons.
        let split = doc(HOST).replace(
            "<extrareasons reason=\"reset\" count=\"997\" proto=\"tcp\" ports=\"1-21,23-79,81-442,444-1000\"/>",
            "<extrareasons reason=\"reset\" count=\"900\" proto=\"tcp\"/><extrareasons reason=\"port-unreach\" count=\"97\" proto=\"udp\"/>",
        );
        let f = p(&split);
        assert_eq!(f.content.hosts[0].other_ports, [(6, PortState::Closed, 900), (17, PortState::Closed, 97)]);
        // Only one protocol scanned: the reasons are not needed.
        let single = doc(HOST).replace(" proto=\"tcp\"", "");
        assert_eq!(p(&single).content.hosts[0].other_ports, [(6, PortState::Closed, 997)]);
    }

    #[test]
    fn ip_protocol_scan() {
        let text = doc(
            "<host><status state=\"up\"/><address addr=\"192.0.2.1\"/><ports>\
             <port protocol=\"ip\" portid=\"1\"><state state=\"open\" reason=\"echo-reply\"/><service name=\"icmp\" method=\"table\" conf=\"3\"/></port>\
             <port protocol=\"ip\" portid=\"6\"><state state=\"open\" reason=\"proto-response\"/></port>\
             <port protocol=\"ip\" portid=\"300\"><state state=\"open\" reason=\"x\"/></port>\
             <extraports state=\"closed\" count=\"250\"/></ports></host>\n",
        )
        .replace("protocol=\"tcp\" numservices", "protocol=\"ip\" numservices");
        let f = p(&text);
        let s = &f.content.hosts[0].services;
        assert_eq!(s.len(), 1, "TCP answering says nothing about a port: not kept");
        assert!(f.content.hosts[0].other_ports.is_empty(), "other protocols are not ports");
        assert_eq!((s[0].proto, s[0].port), (1, 0));
        assert_eq!(s[0].prov.text, "protocol 1 open icmp");
        assert_eq!(codes_of(&f), [(9, codes::BAD_VALUE)]);
    }

    #[test]
    fn older_os_classes() {
        let host = r#"<host><status state="up"/><address addr="192.0.2.1"/>
<os><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="2.6.X" accuracy="100"/>
<osclass type="general purpose" vendor="Microsoft" osfamily="Windows" accuracy="90"/>
<osfingerprint fingerprint="OS:SCAN(V=5.0)"/></os></host>
"#;
        let f = p(&doc(host));
        assert_eq!(f.content.hosts[0].os.as_deref(), Some("Linux 2.6.X"));
        assert_eq!(f.status(), FileStatus::Ok);
    }

    #[test]
    fn scan_error_exit_is_reported() {
        let text = doc(HOST).replace("exit=\"success\"", "exit=\"error\" errormsg=\"Interrupted\"");
        let f = p(&text);
        assert_eq!(codes_of(&f), [(31, codes::STRUCTURE)]);
        assert!(f.diags[0].reason.contains("Interrupted"));
    }

    #[test]
    fn truncated_file_keeps_complete_hosts() {
        let second = HOST.replace("192.0.2.1", "192.0.2.2");
        let full = doc(&format!("{HOST}{second}"));
        let cut_at = full.find("192.0.2.2").unwrap() + 40;
        let truncated = &full[..cut_at];
        let f = p(truncated);
        assert_eq!(f.status(), FileStatus::Partial);
        assert_eq!(f.content.hosts.len(), 1);
        assert_eq!(f.content.hosts[0].services.len(), 3);
        let [d] = &f.diags[..] else { panic!("{:?}", f.diags) };
        assert_eq!(d.code, codes::STRUCTURE);
        assert_eq!(d.line, f.lines_total);
        assert!(d.reason.contains("ends before the scan does"), "{}", d.reason);
        assert!(d.reason.contains("the 3 lines after it are not read"), "{}", d.reason);
        assert!(d.reason.contains("1 complete host up to line 30"), "{}", d.reason);
        // Cut inside the first host: the scan information is still read.
        let early = &full[..full.find("portid=\"22\"").unwrap()];
        let f = p(early);
        assert!(f.content.hosts.is_empty());
        assert_eq!(f.content.scan.as_ref().map(|s| s.scanner.as_str()), Some("nmap 7.93"));
        assert_eq!(f.status(), FileStatus::Partial);
        // Cut inside the root start tag: nothing to read.
        let f = p("<?xml version=\"1.0\"?>\n<nmaprun scanner=\"nmap\" args=\"nm");
        assert_eq!(f.status(), FileStatus::Failed);
        assert_eq!(codes_of(&f), [(2, codes::UNREADABLE)]);
    }

    #[test]
    fn malformed_middle_keeps_hosts_before() {
        let second = HOST.replace("192.0.2.1", "192.0.2.2").replace("<distance value=\"2\"/>", "<distance value=\"2\"");
        let third = HOST.replace("192.0.2.1", "192.0.2.3");
        let f = p(&doc(&format!("{HOST}{second}{third}")));
        assert_eq!(f.content.hosts.len(), 1);
        let [d] = &f.diags[..] else { panic!("{:?}", f.diags) };
        // The unclosed <distance> on line 50 breaks the XML where the next tag starts.
        assert!(d.reason.contains("malformed at line 51"), "{}", d.reason);
        assert!(d.reason.contains("up to line 30"), "{}", d.reason);
        assert_eq!(d.line, 51);
    }

    #[test]
    fn entity_bomb_is_refused() {
        let mut bomb = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE nmaprun [\n <!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
            bomb.push_str(&format!(" <!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
        }
        bomb.push_str("]>\n<nmaprun scanner=\"nmap\" args=\"&lol9;\"><host><status state=\"up\"/><address addr=\"&lol9;\"/></host></nmaprun>\n");
        assert_eq!(crate::parse::detect(&bomb), Format::NmapXml);
        let t0 = std::time::Instant::now();
        let f = p(&bomb);
        assert!(t0.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(f.status(), FileStatus::Failed);
        assert_eq!(codes_of(&f), [(2, codes::UNREADABLE)]);
        assert!(f.content.hosts.is_empty());
        // A quadratic blow-up (one big entity referenced many times) is refused the same way.
        let quad = format!(
            "<!DOCTYPE nmaprun [<!ENTITY a \"{}\">]><nmaprun>{}</nmaprun>",
            "x".repeat(100_000),
            "&a;".repeat(10_000)
        );
        assert_eq!(p(&quad).status(), FileStatus::Failed);
        // Without a DTD an entity reference is simply an error in the XML.
        let undeclared = doc(&HOST.replace("gw.example.test", "&lol9;"));
        let f = p(&undeclared);
        assert!(f.content.hosts.is_empty());
        assert_eq!(f.status(), FileStatus::Partial);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // Run with a small stack: a recursive walk over this nesting would overflow it.
        let t = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let depth = 200_000;
                let inner = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
                let in_host = doc(&HOST.replace("<uptime", &format!("<geo>{inner}</geo>\n<uptime")));
                let f = p(&in_host);
                let in_script = doc(&HOST.replace("<elem key=\"title\">Welcome</elem>", &inner));
                let g = p(&in_script);
                (f.content.hosts.len(), codes_of(&f), g.status(), g.content.hosts.len())
            })
            .expect("thread");
        let (hosts, diags, script_status, script_hosts) = t.join().expect("no stack overflow");
        assert_eq!(hosts, 1);
        assert_eq!(diags, [(27, codes::UNRECOGNIZED)], "the unknown element is reported, not walked");
        assert_eq!(script_status, FileStatus::Ok, "script output is understood without walking it");
        assert_eq!(script_hosts, 1);
    }

    #[test]
    fn hostile_text_never_panics() {
        let text = doc(HOST);
        // Every prefix of a real file (byte cuts on char boundaries), and some junk.
        for cut in (0..text.len()).filter(|&i| text.is_char_boundary(i)).step_by(7) {
            let _ = p(&text[..cut]);
        }
        for junk in ["", "<", "<nmaprun", "<nmaprun>", "<nmaprun/>", "<!DOCTYPE", "<!DOCTYPE nmaprun [", "<!--", "<?"] {
            let _ = p(junk);
        }
        let f = p("<nmaprun/>");
        assert_eq!(f.status(), FileStatus::Ok);
        assert_eq!(f.content.scan.as_ref().map(|s| s.scanner.as_str()), Some("nmap"));
    }
}
