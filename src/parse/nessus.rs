//! Nessus scan results (`.nessus` files, format v2: `<NessusClientData_v2>`): the hosts a scan
//! saw, their addresses, names and operating system, the ports findings were reported on, and
//! the findings themselves, lowered to [`Host`]s with their [`Vulnerability`]s; what the scan
//! records of itself is lowered to [`ScanInfo`].
//!
//! # Detection
//! The root element is `<NessusClientData_v2>` (after the XML declaration and comments). The
//! older v1 format (`<NessusClientData>`) is detected and refused with a diagnostic: it has a
//! different structure, and Nessus has exported v2 by default since version 4.
//!
//! # Lines and elements
//! A diagnostic names the line where the offending element starts, and its text is the
//! element's start tag. A finding's provenance is the line of its `<ReportItem>`; a long plugin
//! output or description is part of its element, and its lines count as read. The policy (scan
//! settings, plugin selection) is read for its name only and counts as read. Only blank lines,
//! comments and the XML prologue count as skipped.
//!
//! # Lowering rules (details in `docs/formats/nessus.md`)
//! - One [`Host`] per `<ReportHost>`: address from the `host-ip` property, else the host's
//!   `name` when it is an address; names from `host-fqdn`, the `name`, `host-rdns` and
//!   `netbios-name`; operating system from the first line of `operating-system`. A host
//!   without an address is kept with its names, with a diagnostic.
//! - One [`Vulnerability`] per `<ReportItem>`: `pluginID`, `pluginName`, `severity` 0–4 →
//!   info, low, medium, high, critical (`risk_factor` when the attribute is missing or bad);
//!   port 0 is host-wide (no protocol, no port); `<cve>`s; CVSS v2 (`cvss_base_score`,
//!   `cvss_vector` without its `CVSS2#` prefix), v3 (`cvss3_base_score`, `cvss3_vector`), v4
//!   (`cvss4_base_score`, `cvss4_vector`); `exploit_available`, `exploit_framework_*`,
//!   `exploited_by_malware` and `exploited_by_nessus` set to `true` mark an exploit as
//!   available; the first paragraph of `<solution>` (`n/a` is none).
//! - A finding on a port > 0 says something listens there: the port becomes an open
//!   [`Service`] of the host, named by `svc_name` (Nessus marks an uncertain guess with `?`, which
//!   is dropped), with the provenance of its first finding.
//!
//! # Hostile and broken files
//! Nessus never writes a DTD, so a file declaring an internal subset is refused before parsing
//! (the "billion laughs" entity bomb). A file cut short or malformed part way is read up to its
//! last complete `<ReportItem>` before the break, with a diagnostic (P006); the lines after the
//! cut count as unread.

use std::net::IpAddr;

use roxmltree::Node;

use super::vulnscan::{self, first_paragraph, CvssParts, Services, Walker};
use super::xml::{attr, elements, internal_subset_reason, prologue, text_of, LineIndex};
use super::{Format, ParsedFile};
use crate::diag::{codes, Severity as DiagSeverity, SourceId};
use crate::model::{Host, ScanInfo, Severity, Vulnerability};

/// The element a report is read up to when the XML breaks: a complete finding.
const RECORD: &str = "ReportItem";

/// The plugin whose output describes the scan itself ("Nessus Scan Information").
const SCAN_INFO_PLUGIN: &str = "19506";

/// `<ReportItem>` children read into the model.
const MODELLED_ITEM: &[&str] = &[
    "cve",
    "cvss_base_score",
    "cvss_vector",
    "cvss3_base_score",
    "cvss3_vector",
    "cvss4_base_score",
    "cvss4_vector",
    "cvss4_base_vector",
    "exploit_available",
    "exploited_by_malware",
    "exploited_by_nessus",
    "solution",
    "risk_factor",
    "plugin_name",
    "plugin_output",
];

/// `<ReportItem>` children Nessus writes that describe a finding without changing what the
/// model holds: texts, dates, references to other catalogues, temporal and threat scores,
/// compliance check details. Understood, not kept.
const DESCRIPTIVE_ITEM: &[&str] = &[
    "agent",
    "age_of_vuln",
    "always_run",
    "asset_inventory",
    "asset_inventory_category",
    "attachment",
    "bid",
    "canvas_package",
    "cea-id",
    "cert",
    "cert-cc",
    "cisa-known-exploited",
    "cisa-ncas",
    "cisco-bug-id",
    "cisco-sa",
    "cpe",
    "cvss3_temporal_score",
    "cvss3_temporal_vector",
    "cvssV3_impactScore",
    "cvss4_threat_score",
    "cvss4_threat_vector",
    "cvss4_supplemental_vector",
    "cvss_score_rationale",
    "cvss_score_source",
    "cvss_temporal_score",
    "cvss_temporal_vector",
    "cwe",
    "d2_elliot_name",
    "description",
    "dsa",
    "edb-id",
    "epss_score",
    "exploit_code_maturity",
    "exploitability_ease",
    "exploithub_sku",
    "fedora",
    "fname",
    "freebsd",
    "glsa",
    "hardware_inventory",
    "iava",
    "iavb",
    "iavt",
    "icsa",
    "in_the_news",
    "insecure",
    "jsa",
    "metasploit_name",
    "msft",
    "mskb",
    "os_identification",
    "osvdb",
    "owasp",
    "patch_publication_date",
    "plugin_modification_date",
    "plugin_publication_date",
    "plugin_type",
    "product_coverage",
    "required_key",
    "required_port",
    "rhsa",
    "script_copyright",
    "script_version",
    "secunia",
    "see_also",
    "stig_severity",
    "synopsis",
    "thorough_tests",
    "threat_intensity_last_28",
    "threat_recency",
    "threat_sources_last_28",
    "tra",
    "unsupported_by_vendor",
    "usn",
    "vendor_severity",
    "vendor_unpatched",
    "vmsa",
    "vpr_score",
    "vpr_v2_score",
    "vuln_publication_date",
    "xref",
];

/// True when the text is a Nessus scan result: its root element is `<NessusClientData_v2>`
/// (or the old `<NessusClientData>`, which is detected to be refused with a reason).
pub fn looks_like(text: &str) -> bool {
    prologue(text).is_some_and(|p| p.root == "NessusClientData_v2" || p.root == "NessusClientData")
}

/// A severity from Nessus's `severity` attribute (0–4).
fn severity_number(s: &str) -> Option<Severity> {
    Some(match s.trim() {
        "0" => Severity::Info,
        "1" => Severity::Low,
        "2" => Severity::Medium,
        "3" => Severity::High,
        "4" => Severity::Critical,
        _ => return None,
    })
}

/// A severity from a `<risk_factor>` text.
fn risk_factor(s: &str) -> Option<Severity> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "none" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

/// An element whose name suggests it rates or identifies the weakness (`cvss…`, `cve…`,
/// `exploit…`, `…severity…`): unknown ones are reported as warnings, not as descriptions.
fn may_matter(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("cvss") || n.starts_with("cve") || n.starts_with("exploit") || n.contains("severity")
}

/// What the scan-information plugin's output states.
#[derive(Default)]
struct ScanFacts {
    version: Option<String>,
    scan_name: Option<String>,
    policy: Option<String>,
    started: Option<String>,
    ports: Option<String>,
}

impl ScanFacts {
    fn read(&mut self, output: &str) {
        for line in output.lines() {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let slot = match k.trim() {
                "Nessus version" => &mut self.version,
                "Scan name" => &mut self.scan_name,
                "Scan policy used" => &mut self.policy,
                "Scan Start Date" => &mut self.started,
                "Port range" => &mut self.ports,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v.to_string());
            }
        }
    }
}

struct Lower<'t> {
    w: Walker<'t>,
    facts: ScanFacts,
    /// `HOST_START` of the first host, as recorded.
    first_host_start: Option<String>,
    findings: usize,
}

impl<'t> Lower<'t> {
    fn run(&mut self, root: Node) -> (ScanInfo, Vec<Host>) {
        let mut policy_name = None;
        let mut report_names = Vec::new();
        let mut hosts = Vec::new();
        for child in elements(root) {
            match child.tag_name().name() {
                // The scan settings: only the policy's name is kept.
                "Policy" => {
                    if policy_name.is_none() {
                        policy_name = elements(child).find(|c| c.has_tag_name("policyName")).and_then(text_of);
                    }
                }
                "Report" => {
                    if let Some(n) = attr(child, "name") {
                        report_names.push(n.to_string());
                    }
                    for h in elements(child) {
                        if h.has_tag_name("ReportHost") {
                            hosts.push(self.host(h));
                        } else {
                            self.w.unknown(h, "Report");
                        }
                    }
                }
                _ => self.w.unknown(child, "NessusClientData_v2"),
            }
        }
        let facts = std::mem::take(&mut self.facts);
        let scanner = match facts.version {
            Some(v) => format!("Nessus {v}"),
            None => "Nessus".to_string(),
        };
        let mut args = Vec::new();
        if let Some(p) = policy_name.map(str::to_string).or(facts.policy) {
            args.push(format!("policy \"{p}\""));
        }
        let scan_name = facts.scan_name.or_else(|| report_names.first().cloned());
        if let Some(n) = scan_name {
            args.push(format!("scan \"{n}\""));
        }
        let scan = ScanInfo {
            scanner,
            args: args.join(", "),
            started: facts.started.or(self.first_host_start.take()).unwrap_or_default(),
            scanned: facts.ports.map(|p| vec![("ports".to_string(), p)]).unwrap_or_default(),
        };
        (scan, hosts)
    }

    fn host(&mut self, host: Node) -> Host {
        let name = attr(host, "name");
        self.w.d.set_context(format!("nessus host {}", name.unwrap_or("")));
        let mut addrs: Vec<IpAddr> = Vec::new();
        let mut fqdn = None;
        let mut rdns = None;
        let mut netbios = None;
        let mut os = None;
        let mut services = Services::default();
        let mut vulns = Vec::new();
        for child in elements(host) {
            match child.tag_name().name() {
                "HostProperties" => {
                    for tag in elements(child) {
                        if !tag.has_tag_name("tag") {
                            self.w.unknown(tag, "HostProperties");
                            continue;
                        }
                        let value = text_of(tag);
                        match (attr(tag, "name"), value) {
                            (Some("host-ip"), Some(v)) => match vulnscan::ip(v) {
                                Some(a) if !addrs.contains(&a) => addrs.push(a),
                                Some(_) => {}
                                None => self.w.bad(tag, format!("host-ip \"{v}\" is not an IP address: not kept")),
                            },
                            (Some("host-fqdn"), Some(v)) => fqdn = Some(v),
                            (Some("host-rdns"), Some(v)) => rdns = Some(v),
                            (Some("netbios-name"), Some(v)) => netbios = Some(v),
                            (Some("operating-system"), Some(v)) => {
                                os = v.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
                            }
                            (Some("HOST_START"), Some(v)) if self.first_host_start.is_none() => {
                                self.first_host_start = Some(v.to_string())
                            }
                            // Every other property (timestamps, CPEs, traceroute, patch summaries,
                            // credentials used) is understood and not kept.
                            _ => {}
                        }
                    }
                }
                "ReportItem" => {
                    if let Some(v) = self.item(child, &mut services) {
                        vulns.push(v);
                    }
                }
                _ => self.w.unknown(child, "ReportHost"),
            }
        }
        let name_ip = name.and_then(vulnscan::ip);
        if addrs.is_empty() {
            if let Some(a) = name_ip {
                addrs.push(a);
            }
        }
        let mut names: Vec<String> = Vec::new();
        for n in [fqdn, name.filter(|_| name_ip.is_none()), rdns, netbios].into_iter().flatten() {
            if vulnscan::ip(n).is_none() && !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
                names.push(n.to_string());
            }
        }
        if addrs.is_empty() {
            self.w.diag(
                codes::STRUCTURE,
                DiagSeverity::Warning,
                host,
                "host without an IP address (no host-ip property, and its name is not an address): kept \
                 under its name, its findings cannot be placed in the network",
            );
        }
        let mut text = String::from("Nessus host");
        for a in &addrs {
            text.push_str(&format!(" {a}"));
        }
        if !names.is_empty() {
            text.push_str(&format!(" ({})", names.join(" ")));
        }
        text.push_str(&format!(", {} finding{}", vulns.len(), if vulns.len() == 1 { "" } else { "s" }));
        self.w.d.set_context("");
        Host {
            addrs,
            names,
            up: true,
            services: services.into_vec(),
            other_ports: Vec::new(),
            os,
            vulns,
            prov: self.w.prov(host, text),
        }
    }

    fn item(&mut self, item: Node, services: &mut Services) -> Option<Vulnerability> {
        let Some(id) = attr(item, "pluginID") else {
            self.w.diag(codes::STRUCTURE, DiagSeverity::Warning, item, "finding without a pluginID: not kept");
            self.w.unread_body(item);
            return None;
        };
        let mut name = attr(item, "pluginName").map(str::to_string);
        let mut cves: Vec<String> = Vec::new();
        let (mut v2, mut v3, mut v4) = (CvssParts::default(), CvssParts::default(), CvssParts::default());
        let mut exploit = false;
        let mut solution = None;
        let mut risk = None;
        let mut output = None;
        for c in elements(item) {
            let tag = c.tag_name().name();
            let value = text_of(c);
            match tag {
                "cve" => match value {
                    Some(v) if vulnscan::is_cve(v) => {
                        let v = vulnscan::canonical_cve(v);
                        if !cves.contains(&v) {
                            cves.push(v);
                        }
                    }
                    _ => self.w.bad(c, format!("\"{}\" is not a CVE identifier: not kept", value.unwrap_or(""))),
                },
                "cvss_base_score" => set_once(&mut v2.score, value, c),
                "cvss_vector" => set_once(&mut v2.vector, value, c),
                "cvss3_base_score" => set_once(&mut v3.score, value, c),
                "cvss3_vector" => set_once(&mut v3.vector, value, c),
                "cvss4_base_score" => set_once(&mut v4.score, value, c),
                "cvss4_vector" | "cvss4_base_vector" => set_once(&mut v4.vector, value, c),
                "solution" => solution = value.and_then(first_paragraph),
                "risk_factor" => risk = Some((value.unwrap_or(""), c)),
                "plugin_name" => {
                    if name.is_none() {
                        name = value.map(str::to_string);
                    }
                }
                "plugin_output" => output = value,
                t if t == "exploit_available"
                    || t.starts_with("exploit_framework_")
                    || t == "exploited_by_malware"
                    || t == "exploited_by_nessus" =>
                {
                    match value.map(str::to_ascii_lowercase).as_deref() {
                        Some("true") => exploit = true,
                        Some("false") => {}
                        _ => self.w.bad(c, format!("<{t}> is \"{}\", neither true nor false", value.unwrap_or(""))),
                    }
                }
                t if DESCRIPTIVE_ITEM.contains(&t) || t.starts_with("compliance") => {}
                t if MODELLED_ITEM.contains(&t) => {}
                t if may_matter(t) => self.w.unknown(c, "ReportItem"),
                _ => self.w.unknown_cosmetic(c, "ReportItem"),
            }
        }
        if id == SCAN_INFO_PLUGIN {
            if let Some(o) = output {
                self.facts.read(o);
            }
        }
        // Severity: the attribute, else the risk factor.
        let sev_attr = attr(item, "severity");
        let severity = match sev_attr.and_then(severity_number) {
            Some(s) => s,
            None => {
                let from_risk = risk.and_then(|(r, _)| risk_factor(r));
                let fallback = match from_risk {
                    Some(s) => format!("rated {} from its risk factor", vulnscan::severity_word(s)),
                    None => "rated info: neither the attribute nor a risk factor says more".to_string(),
                };
                let what = match sev_attr {
                    Some(s) => format!("severity \"{s}\" is none of 0, 1, 2, 3, 4"),
                    None => "finding without a severity".to_string(),
                };
                self.w.bad(item, format!("{what}: {fallback}"));
                from_risk.unwrap_or(Severity::Info)
            }
        };
        // Where: port 0 is the host as a whole.
        let port_text = attr(item, "port").unwrap_or("");
        let proto_text = attr(item, "protocol").unwrap_or("");
        let service = attr(item, "svc_name").map(|s| s.trim_end_matches('?').to_string()).filter(|s| !s.is_empty());
        let (proto, port) = match port_text.parse::<u16>() {
            Ok(0) => (None, None),
            Ok(n) => match vulnscan::proto_number(proto_text) {
                Some(p) => (Some(p), Some(n)),
                None => {
                    self.w.bad(
                        item,
                        format!(
                            "protocol \"{proto_text}\" of port {n} is none of tcp, udp, sctp: the finding is kept for the \
                             host as a whole"
                        ),
                    );
                    (None, None)
                }
            },
            Err(_) => {
                self.w.bad(
                    item,
                    format!("port \"{port_text}\" is not a port number (0-65535): the finding is kept for the host as a whole"),
                );
                (None, None)
            }
        };
        // `general` names no service: the finding is about the host.
        let service = service.filter(|_| port.is_some());
        let name = name.unwrap_or_default();
        let sev_word = vulnscan::severity_word(severity);
        let place = match (proto, port) {
            (Some(p), Some(n)) => format!("{}/{n}", vulnscan::proto_name(p)),
            _ => "the host".to_string(),
        };
        let text = format!("Nessus plugin {id} \"{name}\" on {place} ({sev_word})");
        let prov = self.w.prov(item, text);
        if let (Some(p), Some(n)) = (proto, port) {
            let svc_prov = || {
                let mut t = format!("port {}/{n} open", vulnscan::proto_name(p));
                if let Some(s) = &service {
                    t.push(' ');
                    t.push_str(s);
                }
                self.w.prov(item, t)
            };
            services.saw(p, n, service.as_deref(), svc_prov);
        }
        let cvss2 = v2.build(&mut self.w, "v2", "CVSS2#");
        let cvss3 = v3.build(&mut self.w, "v3", "");
        let cvss4 = v4.build(&mut self.w, "v4", "");
        self.findings += 1;
        Some(Vulnerability {
            id: id.to_string(),
            name,
            severity,
            proto,
            port,
            service,
            cves,
            cvss2,
            cvss3,
            cvss4,
            exploit_available: exploit,
            solution,
            prov,
        })
    }
}

/// Keep the first occurrence of a score or vector.
fn set_once<'a, 'i>(slot: &mut Option<(&'a str, Node<'a, 'i>)>, value: Option<&'a str>, node: Node<'a, 'i>) {
    if slot.is_none() {
        *slot = Some((value.unwrap_or(""), node));
    }
}

/// Parse a Nessus v2 scan result.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let p = ParsedFile::new(Format::Nessus, text);
    let idx = LineIndex::new(text);
    let Some(pro) = prologue(text) else {
        let line = p.lines_total.max(1);
        return vulnscan::unreadable(p, line, "", "not well-formed XML".to_string(), "Nessus");
    };
    if let Some(at) = pro.internal_subset {
        let line = idx.line(at);
        return vulnscan::unreadable(p, line, "<!DOCTYPE … [", internal_subset_reason("Nessus"), "Nessus");
    }
    if pro.root == "NessusClientData" {
        let line = idx.line(text.find("<NessusClientData").unwrap_or(0));
        return vulnscan::unreadable(
            p,
            line,
            "<NessusClientData>",
            "the Nessus v1 format (.nessus v1) is not read: export the scan as .nessus (v2)".to_string(),
            "Nessus",
        );
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
                format!("not well-formed XML before any complete finding: {e}"),
                "Nessus",
            );
        }
    };
    let mut p = p;
    let mut lower = Lower {
        w: Walker::new(doc.input_text(), file, source, &idx, "Nessus"),
        facts: ScanFacts::default(),
        first_host_start: None,
        findings: 0,
    };
    lower.w.skip_markup(&doc);
    let (scan, hosts) = lower.run(doc.root_element());
    if let Some(b) = &brk {
        let n = lower.findings;
        lower.w.note_break(b, p.lines_total, n, ("finding", "findings"));
    }
    lower.w.finish(&mut p, text);
    p.content.hosts = hosts;
    p.content.scan = Some(scan);
    p
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::diag::FileStatus;

    fn p(text: &str) -> ParsedFile {
        parse(0, "scan.nessus", text)
    }

    const DOC: &str = r#"<?xml version="1.0" ?>
<NessusClientData_v2>
<Policy><policyName>Weekly</policyName></Policy>
<Report name="lab" xmlns:cm="http://www.nessus.org/cm">
<ReportHost name="192.0.2.10"><HostProperties>
<tag name="host-ip">192.0.2.10</tag>
</HostProperties>
<ReportItem port="443" svc_name="www" protocol="tcp" severity="3" pluginID="100" pluginName="Old TLS">
<cvss3_base_score>7.5</cvss3_base_score>
<cvss3_vector>CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N</cvss3_vector>
<solution>Upgrade.</solution>
</ReportItem>
<ReportItem port="0" svc_name="general" protocol="tcp" severity="0" pluginID="200" pluginName="Info">
</ReportItem>
</ReportHost>
</Report>
</NessusClientData_v2>
"#;

    #[test]
    fn reads_a_small_report() {
        let f = p(DOC);
        assert_eq!(f.status(), FileStatus::Ok, "{:?}", f.diags);
        let h = &f.content.hosts[0];
        assert_eq!(h.addrs, ["192.0.2.10".parse::<IpAddr>().unwrap()]);
        assert!(h.names.is_empty(), "the name is the address");
        assert_eq!(h.vulns.len(), 2);
        assert_eq!(h.vulns[0].severity, Severity::High);
        assert_eq!((h.vulns[0].proto, h.vulns[0].port), (Some(6), Some(443)));
        assert_eq!(h.vulns[0].prov.line, 8);
        assert_eq!(h.vulns[0].cvss3.as_ref().map(|c| c.score), Some(7.5));
        assert_eq!((h.vulns[1].proto, h.vulns[1].port), (None, None));
        assert_eq!(h.services.len(), 1);
        assert_eq!(h.services[0].name.as_deref(), Some("www"));
        assert_eq!(f.content.scan.as_ref().map(|s| s.args.as_str()), Some("policy \"Weekly\", scan \"lab\""));
    }

    #[test]
    fn hostile_text_never_panics() {
        for cut in (0..DOC.len()).filter(|&i| DOC.is_char_boundary(i)) {
            let f = p(&DOC[..cut]);
            assert!(f.content.scan.is_some());
        }
        for junk in ["", "<", "<NessusClientData_v2", "<NessusClientData_v2/>", "<!DOCTYPE", "<?"] {
            let _ = p(junk);
        }
    }
}
