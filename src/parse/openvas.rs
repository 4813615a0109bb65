//! OpenVAS / Greenbone (GVM) XML reports: the results of a scan, lowered to one [`Host`] per
//! scanned address with its [`Vulnerability`]s and the ports results were reported on; what the
//! report records of the scan is lowered to [`ScanInfo`].
//!
//! # Detection
//! The root element is `<report>` (the XML report format, GMP 7 to 22 and the older OMP
//! exports) holding OpenVAS content (`<scan_run_status>`, an `<nvt>`, or a `<gmp>`/`<omp>`
//! version), or a GMP response wrapping reports or results (`<get_reports_response>`,
//! `<get_results_response>`).
//!
//! # Shapes read
//! - The GMP report: an outer `<report>` with the report's name, task and format, and an inner
//!   `<report>` with the scan status, times, `<results>`, the per-host `<host>` details and
//!   `<errors>`. Older exports put everything in one `<report>`; both are read the same way.
//! - A result names its host (`<host>IP<hostname>…</hostname></host>`, or a bare address),
//!   its port (`443/tcp`, `general/tcp`, the older `https (443/tcp)`), its NVT (`oid`, name,
//!   `cvss_base`, `tags` with `cvss_base_vector=…`, CVEs as `<refs><ref type="cve">` or the
//!   older comma-separated `<cve>`, the GMP 20.08+ `<severities>` and `<solution>`), its
//!   `threat` and `severity` (after overrides).
//!
//! # Lowering rules (details in `docs/formats/openvas.md`)
//! - Severity from `threat` (Log → info, Low, Medium, High, Critical); when the threat is
//!   empty, `Alarm` or unknown, from the `severity` score in the report's own severity class,
//!   else in the CVSS v3.1 bands. Results marked as false positives (by an override), debug
//!   messages and scanner errors are not findings: they are not kept.
//! - A `general/…` port (and an empty one) is host-wide; a numbered port is the port of the
//!   finding and an open [`Service`] of the host.
//! - CVSS by version: the `<severities>` entries (`cvss_base_v2`, `_v3`, `_v4`), else
//!   `cvss_base` with the vector from the tags (its prefix `CVSS:3.x/`, `CVSS:4.0/` or none
//!   tells the version); a score without any vector is CVSS v2, the only version OpenVAS
//!   scored before GVM 20.08.
//! - Greenbone reports do not say whether a public exploit exists; the quality of detection
//!   (`qod`, including its type `exploit`) says how the check was made, not that an exploit is
//!   available: `exploit_available` stays false.
//!
//! # Hostile and broken files
//! OpenVAS never writes a DTD, so a file declaring an internal subset is refused before
//! parsing. A file cut short or malformed part way is read up to its last complete `<result>`
//! before the break, with a diagnostic (P006); the lines after the cut count as unread.

use std::collections::HashMap;
use std::net::IpAddr;

use roxmltree::Node;

use super::vulnscan::{self, first_paragraph, CvssParts, Services, Walker};
use super::xml::{attr, elements, internal_subset_reason, prologue, text_of, LineIndex};
use super::{Format, ParsedFile};
use crate::diag::{codes, Provenance, Severity as DiagSeverity, SourceId};
use crate::model::{Host, ScanInfo, Severity, Vulnerability};

/// The element a report is read up to when the XML breaks: a complete result.
const RECORD: &str = "result";

/// How deep reports may nest in one another (the GMP export nests two; a response wraps them).
const MAX_REPORT_DEPTH: usize = 4;

/// Children of a `<report>` (outer or inner) that carry no finding and no fact the model keeps:
/// ownership, timestamps, counts, filters, sorting, the task and target, scan preferences, the
/// per-port summary (which repeats the results). Understood, not kept.
const REPORT_KNOWN: &[&str] = &[
    "owner",
    "comment",
    "creation_time",
    "modification_time",
    "writable",
    "in_use",
    "report_format",
    "sort",
    "filters",
    "hosts",
    "closed_cves",
    "vulns",
    "os",
    "apps",
    "ssl_certs",
    "tls_certificates",
    "cves",
    "timestamp",
    "scan_end",
    "timezone",
    "timezone_abbrev",
    "ports",
    "result_count",
    "compliance_count",
    "severity",
    "scan",
    "delta",
    "user_tags",
    "permissions",
    "observers",
    "host_start",
    "host_end",
    "report_count",
    "reports",
    "trash",
];

/// `<result>` children that describe a result without changing what the model holds.
const RESULT_KNOWN: &[&str] = &[
    "name",
    "owner",
    "comment",
    "creation_time",
    "modification_time",
    "scan_nvt_version",
    "qod",
    "description",
    "original_threat",
    "original_severity",
    "notes",
    "overrides",
    "detection",
    "compliance",
    "subnet",
    "delta",
    "user_tags",
    "tickets",
    "report",
    "task",
];

/// `<nvt>` children that describe the test without changing what the model holds.
const NVT_KNOWN: &[&str] =
    &["type", "family", "bid", "xref", "cert", "epss", "category", "version", "copyright", "summary", "qod", "risk_factor"];

/// Report host `<host>` children that are understood and not kept (besides `ip` and `detail`).
const HOST_KNOWN: &[&str] = &["asset", "start", "end", "port_count", "result_count", "compliance_count"];

/// True when the text is an OpenVAS / Greenbone XML report.
pub fn looks_like(text: &str) -> bool {
    match prologue(text).map(|p| p.root) {
        Some("get_reports_response" | "get_results_response") => true,
        Some("report") => ["<scan_run_status", "<nvt ", "<nvt>", "<gmp>", "<omp>"].iter().any(|m| text.contains(m)),
        _ => false,
    }
}

/// A severity from the `threat` word.
fn threat_word(s: &str) -> Option<Severity> {
    Some(match s {
        "Log" => Severity::Info,
        "Low" => Severity::Low,
        "Medium" => Severity::Medium,
        "High" => Severity::High,
        "Critical" => Severity::Critical,
        _ => return None,
    })
}

/// An element whose name suggests it rates or identifies the weakness.
fn may_matter(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("cvss") || n.contains("severity") || n.contains("threat") || n.starts_with("cve") || n.starts_with("exploit")
}

/// Where a result is.
#[derive(Debug, PartialEq)]
enum Place {
    /// `general/tcp`, `general/CPE-T`, `package`, an empty port: the host as a whole.
    Host,
    /// A port, with the service name of the older `name (port/proto)` form.
    Port(u8, u16, Option<String>),
}

/// Read a result's port.
fn place(s: &str) -> Result<Place, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Place::Host);
    }
    let (name, inner) = match (s.find('('), s.strip_suffix(')')) {
        (Some(open), Some(body)) => (Some(s.get(..open).unwrap_or("").trim()), body.get(open + 1..).unwrap_or("")),
        _ => (None, s),
    };
    let Some((num, proto)) = inner.split_once('/') else {
        return if inner.bytes().all(|b| b.is_ascii_digit()) {
            Err(format!("port \"{s}\" names no protocol"))
        } else {
            Ok(Place::Host)
        };
    };
    if !num.bytes().all(|b| b.is_ascii_digit()) || num.is_empty() {
        // `general/tcp`, `general/icmp`, `general/CPE-T`, `general/Host_Details`.
        return if num.eq_ignore_ascii_case("general") || num.eq_ignore_ascii_case("package") {
            Ok(Place::Host)
        } else {
            Err(format!("port \"{s}\" is neither a port number nor general"))
        };
    }
    let Ok(n) = num.parse::<u16>() else { return Err(format!("port \"{s}\" is not a port number (0-65535)")) };
    let Some(p) = vulnscan::proto_number(proto) else {
        return Err(format!("protocol \"{proto}\" of port {n} is none of tcp, udp, sctp"));
    };
    if n == 0 {
        return Ok(Place::Host);
    }
    let name = name.filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("general")).map(str::to_string);
    Ok(Place::Port(p, n, name))
}

/// One `key=value` entry of an NVT's `tags` text (entries are separated by `|`).
fn tag<'a>(tags: &'a str, key: &str) -> Option<&'a str> {
    tags.split('|').find_map(|e| e.split_once('=').filter(|(k, _)| k.trim() == key).map(|(_, v)| v.trim()))
        .filter(|v| !v.is_empty())
}

/// A host as the report builds it up.
struct HostAcc {
    addrs: Vec<IpAddr>,
    /// The report's text for the host when it is not an address.
    label: Option<String>,
    names: Vec<String>,
    os: Option<String>,
    services: Services,
    vulns: Vec<Vulnerability>,
    /// Where the host is first stated: the report's host entry, else its first result.
    prov: Option<Provenance>,
}

impl HostAcc {
    fn name(&mut self, n: &str) {
        let n = n.trim();
        if !n.is_empty() && vulnscan::ip(n).is_none() && !self.names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            self.names.push(n.to_string());
        }
    }
}

/// What an `<nvt>` says.
#[derive(Default)]
struct Nvt<'a, 'i> {
    oid: Option<&'a str>,
    name: Option<&'a str>,
    cves: Vec<String>,
    v2: CvssParts<'a, 'i>,
    v3: CvssParts<'a, 'i>,
    v4: CvssParts<'a, 'i>,
    /// `cvss_base` and its vector from the tags, placed by version once the NVT is read.
    base: Option<(&'a str, Node<'a, 'i>)>,
    base_vector: Option<(&'a str, Node<'a, 'i>)>,
    solution: Option<String>,
}

/// What a `<result>` holds, as read.
#[derive(Clone, Copy)]
struct ResultParts<'a, 'i> {
    node: Node<'a, 'i>,
    host: Option<(Option<&'a str>, Node<'a, 'i>)>,
    hostname: Option<&'a str>,
    port: Option<(&'a str, Node<'a, 'i>)>,
    nvt: Option<Node<'a, 'i>>,
    threat: Option<(&'a str, Node<'a, 'i>)>,
    severity: Option<(&'a str, Node<'a, 'i>)>,
    name: Option<&'a str>,
}

impl<'a, 'i> ResultParts<'a, 'i> {
    fn default_for(node: Node<'a, 'i>) -> Self {
        ResultParts { node, host: None, hostname: None, port: None, nvt: None, threat: None, severity: None, name: None }
    }
}

struct Lower<'t> {
    w: Walker<'t>,
    hosts: Vec<HostAcc>,
    by_key: HashMap<String, usize>,
    /// The report's severity class: score ranges and their severities.
    bands: Vec<(f32, f32, Severity)>,
    findings: usize,
    /// The scan facts.
    version: Option<String>,
    report_name: Option<String>,
    task_name: Option<String>,
    started: Option<String>,
    timestamp: Option<String>,
}

impl<'t> Lower<'t> {
    fn run(&mut self, root: Node) {
        match root.tag_name().name() {
            "get_reports_response" => {
                for c in elements(root) {
                    match c.tag_name().name() {
                        "report" => self.report(c, 1),
                        "filters" | "sort" | "reports" | "report_count" => {}
                        _ => self.w.unknown(c, "get_reports_response"),
                    }
                }
            }
            "get_results_response" => {
                for c in elements(root) {
                    match c.tag_name().name() {
                        "result" => self.result(c),
                        "filters" | "sort" | "results" | "result_count" => {}
                        _ => self.w.unknown(c, "get_results_response"),
                    }
                }
            }
            _ => self.report(root, 1),
        }
    }

    fn report(&mut self, report: Node, depth: usize) {
        // The severity class first: results may come before it in hand-made files.
        if let Some(sc) = elements(report).find(|c| c.has_tag_name("severity_class")) {
            self.severity_class(sc);
        }
        for c in elements(report) {
            match c.tag_name().name() {
                "report" if depth < MAX_REPORT_DEPTH => self.report(c, depth + 1),
                "name" => {
                    if self.report_name.is_none() {
                        self.report_name = text_of(c).map(str::to_string);
                    }
                }
                "task" => {
                    if let Some(n) = elements(c).find(|t| t.has_tag_name("name")).and_then(text_of) {
                        self.task_name.get_or_insert_with(|| n.to_string());
                    }
                }
                "gmp" | "omp" => {
                    if let Some(v) = elements(c).find(|t| t.has_tag_name("version")).and_then(text_of) {
                        let proto = c.tag_name().name().to_ascii_uppercase();
                        self.version.get_or_insert_with(|| format!("{proto} {v}"));
                    }
                }
                "scan_start" => {
                    if let Some(t) = text_of(c) {
                        self.started.get_or_insert_with(|| t.to_string());
                    }
                }
                "timestamp" => {
                    if let Some(t) = text_of(c) {
                        self.timestamp.get_or_insert_with(|| t.to_string());
                    }
                }
                "scan_run_status" => {
                    let s = text_of(c).unwrap_or("");
                    if s != "Done" {
                        self.w.diag(
                            codes::STRUCTURE,
                            DiagSeverity::Warning,
                            c,
                            format!("the scan's status is \"{s}\", not Done: its results may be incomplete"),
                        );
                    }
                }
                "severity_class" => {}
                "results" => {
                    for r in elements(c) {
                        if r.has_tag_name("result") {
                            self.result(r);
                        } else {
                            self.w.unknown(r, "results");
                        }
                    }
                }
                "host" => self.report_host(c),
                "errors" => self.errors(c),
                name if REPORT_KNOWN.contains(&name) => {}
                _ => self.w.unknown(c, "report"),
            }
        }
    }

    fn severity_class(&mut self, sc: Node) {
        for r in elements(sc).filter(|r| r.has_tag_name("severity_range")) {
            let get = |n: &str| elements(r).find(|c| c.has_tag_name(n)).and_then(text_of);
            let sev = match get("name").map(str::to_ascii_lowercase).as_deref() {
                Some("none" | "log") => Severity::Info,
                Some("low") => Severity::Low,
                Some("medium") => Severity::Medium,
                Some("high") => Severity::High,
                Some("critical") => Severity::Critical,
                other => {
                    self.w.bad(r, format!("severity range \"{}\" is none of None, Low, Medium, High, Critical", other.unwrap_or("")));
                    continue;
                }
            };
            let lo = get("min").and_then(|s| s.parse::<f32>().ok());
            let hi = get("max").and_then(|s| s.parse::<f32>().ok());
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo <= hi => self.bands.push((lo, hi, sev)),
                _ => self.w.bad(r, "severity range without a valid min and max: not used"),
            }
        }
    }

    /// The severity of a score: the report's severity class, else the CVSS v3.1 bands.
    fn rate(&self, score: f32) -> Severity {
        // Ranges are inclusive and written with one decimal (Low 0.1–3.9, Medium 4.0–6.9): a
        // score between two ranges belongs to the higher one.
        let mut best = None;
        for &(lo, hi, sev) in &self.bands {
            if score >= lo && score <= hi + 0.05 {
                return sev;
            }
            if score >= lo {
                best = Some(sev);
            }
        }
        if self.bands.is_empty() {
            return vulnscan::band(score);
        }
        best.unwrap_or_else(|| vulnscan::band(score))
    }

    /// The index of the host a report names, created when new. A host text that is not an
    /// address is reported once and kept under that name.
    fn host_index(&mut self, text: &str, node: Node) -> usize {
        let addr = vulnscan::ip(text);
        let key = match addr {
            Some(a) => a.to_string(),
            None => text.to_ascii_lowercase(),
        };
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        if addr.is_none() {
            self.w.bad(
                node,
                format!(
                    "host \"{text}\" is not an IP address: its results are kept under that name, and cannot be \
                     placed in the network"
                ),
            );
        }
        let i = self.hosts.len();
        self.by_key.insert(key, i);
        let mut h = HostAcc {
            addrs: addr.into_iter().collect(),
            label: None,
            names: Vec::new(),
            os: None,
            services: Services::default(),
            vulns: Vec::new(),
            prov: None,
        };
        if addr.is_none() {
            h.name(text);
            h.label = Some(text.to_string());
        }
        self.hosts.push(h);
        i
    }

    fn report_host(&mut self, host: Node) {
        let Some(ip) = elements(host).find(|c| c.has_tag_name("ip")).and_then(text_of) else {
            self.w.diag(codes::STRUCTURE, DiagSeverity::Warning, host, "host entry without an <ip>: not read");
            self.w.unread_body(host);
            return;
        };
        let i = self.host_index(ip, host);
        let prov = self.w.prov(host, String::new());
        let mut best_os = None;
        let mut os_detail = None;
        let mut names = Vec::new();
        for c in elements(host) {
            match c.tag_name().name() {
                "ip" => {}
                "detail" => {
                    let get = |n: &str| elements(c).find(|d| d.has_tag_name(n)).and_then(text_of);
                    match (get("name"), get("value")) {
                        (Some("hostname"), Some(v)) => names.push(v),
                        (Some("best_os_txt"), Some(v)) => best_os = Some(v),
                        (Some("OS"), Some(v)) if !v.starts_with("cpe:") => os_detail = Some(v),
                        // Every other detail (CPEs, MAC, traceroute, applications, closed CVEs,
                        // authentication results, exit codes) is understood and not kept.
                        _ => {}
                    }
                }
                name if HOST_KNOWN.contains(&name) => {}
                _ => self.w.unknown(c, "host"),
            }
        }
        if let Some(h) = self.hosts.get_mut(i) {
            h.prov = Some(prov);
            for n in names {
                h.name(n);
            }
            if let Some(os) = best_os.or(os_detail) {
                h.os = Some(os.to_string());
            }
        }
    }

    fn errors(&mut self, errors: Node) {
        for e in elements(errors) {
            match e.tag_name().name() {
                "count" => {}
                "error" => {
                    let get = |n: &str| elements(e).find(|d| d.has_tag_name(n)).and_then(text_of);
                    let nvt = elements(e)
                        .find(|d| d.has_tag_name("nvt"))
                        .and_then(|n| elements(n).find(|d| d.has_tag_name("name")).and_then(text_of));
                    let mut reason = format!(
                        "the scanner reports an error on {} {}",
                        get("host").unwrap_or("a host"),
                        get("port").unwrap_or("")
                    );
                    if let Some(n) = nvt {
                        reason.push_str(&format!(" in \"{n}\""));
                    }
                    if let Some(d) = get("description").and_then(first_paragraph) {
                        reason.push_str(&format!(": {}", d.trim_end_matches('.')));
                    }
                    reason.push_str("; findings that test would have made may be missing");
                    self.w.diag(codes::STRUCTURE, DiagSeverity::Info, e, reason);
                }
                _ => self.w.unknown(e, "errors"),
            }
        }
    }

    fn nvt<'a, 'i>(&mut self, n: Node<'a, 'i>) -> Nvt<'a, 'i> {
        let mut v = Nvt { oid: attr(n, "oid"), ..Nvt::default() };
        let mut tags_solution = None;
        let mut solution_elem = None;
        let mut kind = None;
        for c in elements(n) {
            let value = text_of(c);
            match c.tag_name().name() {
                "name" => v.name = value,
                "cvss_base" => {
                    if value.is_some() {
                        v.base = Some((value.unwrap_or(""), c));
                    }
                }
                "tags" => {
                    let t = value.unwrap_or("");
                    if let Some(vec) = tag(t, "cvss_base_vector") {
                        v.base_vector = Some((vec, c));
                    }
                    tags_solution = tag(t, "solution");
                }
                "solution" => solution_elem = value,
                "severities" => {
                    for s in elements(c) {
                        if !s.has_tag_name("severity") {
                            self.w.unknown(s, "severities");
                            continue;
                        }
                        let parts = match attr(s, "type") {
                            Some("cvss_base_v2") => &mut v.v2,
                            Some("cvss_base_v3") => &mut v.v3,
                            Some("cvss_base_v4") => &mut v.v4,
                            other => {
                                self.w.bad(
                                    s,
                                    format!(
                                        "severity type \"{}\" is none of cvss_base_v2, cvss_base_v3, cvss_base_v4: not read",
                                        other.unwrap_or("")
                                    ),
                                );
                                continue;
                            }
                        };
                        for sc in elements(s) {
                            match sc.tag_name().name() {
                                "score" if parts.score.is_none() => parts.score = Some((text_of(sc).unwrap_or(""), sc)),
                                "value" if parts.vector.is_none() => {
                                    parts.vector = text_of(sc).map(|t| (t, sc));
                                }
                                "score" | "value" | "origin" | "date" => {}
                                _ => self.w.unknown(sc, "severity"),
                            }
                        }
                    }
                }
                "refs" => {
                    for r in elements(c) {
                        if !r.has_tag_name("ref") {
                            self.w.unknown(r, "refs");
                            continue;
                        }
                        if attr(r, "type").is_some_and(|t| t.eq_ignore_ascii_case("cve")) {
                            let id = attr(r, "id").unwrap_or("");
                            self.cve(&mut v.cves, id, r);
                        }
                    }
                }
                // OMP 6/7: `CVE-…, CVE-…` or `NOCVE`.
                "cve" => {
                    for id in value.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty() && *s != "NOCVE") {
                        self.cve(&mut v.cves, id, c);
                    }
                }
                "type" => kind = value,
                name if NVT_KNOWN.contains(&name) => {}
                name if may_matter(name) => self.w.unknown(c, "nvt"),
                _ => self.w.unknown_cosmetic(c, "nvt"),
            }
        }
        // The CVE scanner reports CVEs as NVTs whose identifier is the CVE.
        if kind == Some("cve") {
            if let Some(id) = v.oid.filter(|o| vulnscan::is_cve(o)) {
                let id = vulnscan::canonical_cve(id);
                if !v.cves.contains(&id) {
                    v.cves.insert(0, id);
                }
            }
        }
        v.solution = solution_elem.or(tags_solution).and_then(first_paragraph);
        v
    }

    fn cve(&mut self, cves: &mut Vec<String>, id: &str, node: Node) {
        if vulnscan::is_cve(id) {
            let id = vulnscan::canonical_cve(id);
            if !cves.contains(&id) {
                cves.push(id);
            }
        } else {
            self.w.bad(node, format!("\"{id}\" is not a CVE identifier: not kept"));
        }
    }

    fn result(&mut self, r: Node) {
        let mut parts = ResultParts::default_for(r);
        for c in elements(r) {
            match c.tag_name().name() {
                "host" => {
                    parts.host = Some((text_of(c), c));
                    for hc in elements(c) {
                        match hc.tag_name().name() {
                            "hostname" => parts.hostname = text_of(hc),
                            "asset" => {}
                            _ => self.w.unknown(hc, "host"),
                        }
                    }
                }
                "port" => parts.port = Some((text_of(c).unwrap_or(""), c)),
                "nvt" => parts.nvt = Some(c),
                "threat" => parts.threat = Some((text_of(c).unwrap_or(""), c)),
                "severity" => parts.severity = Some((text_of(c).unwrap_or(""), c)),
                "name" => parts.name = text_of(c),
                name if RESULT_KNOWN.contains(&name) => {}
                name if may_matter(name) => self.w.unknown(c, "result"),
                _ => self.w.unknown_cosmetic(c, "result"),
            }
        }
        let Some((Some(host_text), _)) = parts.host else {
            self.w.diag(codes::STRUCTURE, DiagSeverity::Warning, r, "result without a host: not kept");
            return;
        };
        self.w.d.set_context(format!("openvas host {host_text}"));
        self.finding(&parts);
        self.w.d.set_context("");
    }

    /// The finding of a result that names its host.
    fn finding(&mut self, parts: &ResultParts) {
        let ResultParts { node: r, host, hostname, port, nvt, threat, severity, name: result_name } = *parts;
        let Some((Some(host_text), host_node)) = host else { return };
        let Some(nvt_node) = nvt else {
            self.w.diag(codes::STRUCTURE, DiagSeverity::Warning, r, "result without an <nvt>: not kept");
            return;
        };
        let hi = self.host_index(host_text, host_node);
        if let Some(h) = self.hosts.get_mut(hi) {
            if let Some(n) = hostname {
                h.name(n);
            }
            // (the host's first result: later ones need no provenance of their own here)
            if h.prov.is_none() {
                h.prov = Some(self.w.prov(r, String::new()));
            }
        }
        // Severity: the threat word, else the score.
        let score = severity.and_then(|(s, _)| s.trim().parse::<f32>().ok()).filter(|s| s.is_finite());
        let threat_text = threat.map(|(t, _)| t).unwrap_or("");
        let sev = match threat_text {
            // Not findings: an override marked it as a false positive, a debug message, an
            // error of the scanner.
            "False Positive" => {
                self.w.diag(
                    codes::STRUCTURE,
                    DiagSeverity::Info,
                    r,
                    "result marked as a false positive (by an override): not kept",
                );
                return;
            }
            "Debug" => return,
            "Error" => {
                self.w.diag(codes::STRUCTURE, DiagSeverity::Info, r, "the scanner reports an error here: not a finding");
                return;
            }
            t => match (threat_word(t), score) {
                (Some(s), _) => s,
                (None, Some(v)) if (v + 1.0).abs() < 0.05 => {
                    self.w.diag(
                        codes::STRUCTURE,
                        DiagSeverity::Info,
                        r,
                        "result marked as a false positive (severity -1): not kept",
                    );
                    return;
                }
                (None, Some(v)) if v < 0.0 => return,
                (None, Some(v)) if v <= 10.0 => {
                    if !t.is_empty() && t != "Alarm" {
                        if let Some((_, node)) = threat {
                            self.w.bad(node, format!("threat \"{t}\" is none of Log, Low, Medium, High, Critical: rated by its score"));
                        }
                    }
                    self.rate(v)
                }
                (None, _) => {
                    let node = severity.map(|(_, n)| n).or(threat.map(|(_, n)| n)).unwrap_or(r);
                    self.w.bad(
                        node,
                        format!(
                            "neither the threat \"{t}\" nor the severity \"{}\" rates the result: rated info",
                            severity.map(|(s, _)| s).unwrap_or("")
                        ),
                    );
                    Severity::Info
                }
            },
        };
        let (port_text, port_node) = port.unwrap_or(("", r));
        let place = match place(port_text) {
            Ok(p) => p,
            Err(reason) => {
                self.w.bad(port_node, format!("{reason}: the finding is kept for the host as a whole"));
                Place::Host
            }
        };
        let v = self.nvt(nvt_node);
        let Some(id) = v.oid else {
            self.w.diag(codes::STRUCTURE, DiagSeverity::Warning, nvt_node, "NVT without an oid: the result is not kept");
            return;
        };
        let name = v.name.or(result_name).unwrap_or("").to_string();
        let Nvt { cves, mut v2, mut v3, mut v4, base, base_vector, solution, .. } = v;
        // `cvss_base` and the tags' vector fill the version the vector names.
        if let Some((vec, vnode)) = base_vector {
            let slot = if vec.starts_with("CVSS:4") {
                &mut v4
            } else if vec.starts_with("CVSS:3") {
                &mut v3
            } else {
                &mut v2
            };
            if slot.score.is_none() && slot.vector.is_none() {
                slot.score = base;
                slot.vector = Some((vec, vnode));
            }
        } else if let Some(b) = base {
            if [&v2, &v3, &v4].iter().all(|p| p.score.is_none()) {
                v2.score = Some(b);
            }
        }
        let cvss2 = v2.build(&mut self.w, "v2", "");
        let cvss3 = v3.build(&mut self.w, "v3", "");
        let cvss4 = v4.build(&mut self.w, "v4", "");
        let (proto, port_no, service) = match place {
            Place::Host => (None, None, None),
            Place::Port(p, n, s) => (Some(p), Some(n), s),
        };
        let where_ = match (proto, port_no) {
            (Some(p), Some(n)) => format!("{}/{n}", vulnscan::proto_name(p)),
            _ => "the host".to_string(),
        };
        let mut sev_text = vulnscan::severity_word(sev).to_string();
        if let Some(s) = score.filter(|s| *s >= 0.0) {
            sev_text.push_str(&format!(" {s:.1}"));
        }
        let prov = self.w.prov(r, format!("OpenVAS NVT {id} \"{name}\" on {where_} ({sev_text})"));
        if let (Some(p), Some(n)) = (proto, port_no) {
            let w = &self.w;
            let svc_prov = || {
                let mut t = format!("port {}/{n} open", vulnscan::proto_name(p));
                if let Some(s) = &service {
                    t.push(' ');
                    t.push_str(s);
                }
                w.prov(r, t)
            };
            if let Some(h) = self.hosts.get_mut(hi) {
                h.services.saw(p, n, service.as_deref(), svc_prov);
            }
        }
        self.findings += 1;
        let vuln = Vulnerability {
            id: id.to_string(),
            name,
            severity: sev,
            proto,
            port: port_no,
            service,
            cves,
            cvss2,
            cvss3,
            cvss4,
            exploit_available: false,
            solution,
            prov,
        };
        if let Some(h) = self.hosts.get_mut(hi) {
            h.vulns.push(vuln);
        }
    }

    fn into_hosts(self) -> (Walker<'t>, Vec<Host>, ScanInfo) {
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for h in self.hosts {
            let mut text = String::from("OpenVAS host");
            for a in &h.addrs {
                text.push_str(&format!(" {a}"));
            }
            match (&h.label, h.names.is_empty()) {
                (Some(l), _) => text.push_str(&format!(" \"{l}\"")),
                (None, false) => text.push_str(&format!(" ({})", h.names.join(" "))),
                (None, true) => {}
            }
            let n = h.vulns.len();
            text.push_str(&format!(", {n} finding{}", if n == 1 { "" } else { "s" }));
            let prov = match h.prov {
                Some(p) => Provenance { text, ..p },
                None => Provenance::builtin(text),
            };
            hosts.push(Host {
                addrs: h.addrs,
                names: h.names,
                up: true,
                services: h.services.into_vec(),
                other_ports: Vec::new(),
                os: h.os,
                vulns: h.vulns,
                prov,
            });
        }
        let scanner = match self.version {
            Some(v) => format!("OpenVAS ({v})"),
            None => "OpenVAS".to_string(),
        };
        let mut args = Vec::new();
        if let Some(t) = &self.task_name {
            args.push(format!("task \"{t}\""));
        }
        if let Some(n) = self.report_name.filter(|n| Some(n) != self.task_name.as_ref()) {
            args.push(format!("report \"{n}\""));
        }
        let scan = ScanInfo {
            scanner,
            args: args.join(", "),
            started: self.started.or(self.timestamp).unwrap_or_default(),
            scanned: Vec::new(),
        };
        (self.w, hosts, scan)
    }
}

/// Parse an OpenVAS / Greenbone XML report.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let p = ParsedFile::new(Format::OpenVas, text);
    let idx = LineIndex::new(text);
    let Some(pro) = prologue(text) else {
        let line = p.lines_total.max(1);
        return vulnscan::unreadable(p, line, "", "not well-formed XML".to_string(), "OpenVAS");
    };
    if let Some(at) = pro.internal_subset {
        let line = idx.line(at);
        return vulnscan::unreadable(p, line, "<!DOCTYPE … [", internal_subset_reason("OpenVAS"), "OpenVAS");
    }
    let mut repaired = None;
    let (doc, brk) = match vulnscan::load(text, &mut repaired, &idx, RECORD) {
        Ok(x) => x,
        Err(e) => {
            let line = vulnscan::error_line(&idx, text, p.lines_total, &e);
            return vulnscan::unreadable(
                p,
                line,
                "",
                format!("not well-formed XML before any complete result: {e}"),
                "OpenVAS",
            );
        }
    };
    let mut p = p;
    let mut lower = Lower {
        w: Walker::new(doc.input_text(), file, source, &idx, "OpenVAS"),
        hosts: Vec::new(),
        by_key: HashMap::new(),
        bands: Vec::new(),
        findings: 0,
        version: None,
        report_name: None,
        task_name: None,
        started: None,
        timestamp: None,
    };
    lower.w.skip_markup(&doc);
    lower.run(doc.root_element());
    if let Some(b) = &brk {
        let n = lower.findings;
        lower.w.note_break(b, p.lines_total, n, ("result", "results"));
    }
    let (w, hosts, scan) = lower.into_hosts();
    w.finish(&mut p, text);
    p.content.hosts = hosts;
    p.content.scan = Some(scan);
    p
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(place("443/tcp"), Ok(Place::Port(6, 443, None)));
        assert_eq!(place("https (443/tcp)"), Ok(Place::Port(6, 443, Some("https".into()))));
        assert_eq!(place("general (0/tcp)"), Ok(Place::Host));
        for host_wide in ["general/tcp", "general/icmp", "general/CPE-T", "package", "", "general/Host_Details"] {
            assert_eq!(place(host_wide), Ok(Place::Host), "{host_wide}");
        }
        for bad in ["70000/tcp", "22/xyz", "22", "x2/tcp"] {
            assert!(place(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        let t = "cvss_base_vector=AV:N/AC:L/Au:N/C:C/I:C/A:C|summary=x|solution=Upgrade\n it.|solution_type=VendorFix";
        assert_eq!(tag(t, "cvss_base_vector"), Some("AV:N/AC:L/Au:N/C:C/I:C/A:C"));
        assert_eq!(tag(t, "solution"), Some("Upgrade\n it."));
        assert_eq!(tag(t, "impact"), None);
    }

    #[test]
    fn hostile_text_never_panics() {
        let doc = "<report><report><scan_run_status>Done</scan_run_status><results>\
                   <result><host>192.0.2.1</host><port>22/tcp</port><nvt oid=\"1.2\"><name>n</name></nvt>\
                   <threat>High</threat><severity>7.5</severity></result></results></report></report>";
        for cut in 0..doc.len() {
            let _ = parse(0, "r.xml", &doc[..cut]);
        }
        let f = parse(0, "r.xml", doc);
        assert_eq!(f.content.hosts.len(), 1);
        assert_eq!(f.content.hosts[0].vulns[0].severity, Severity::High);
    }
}
