//! Format detection and the vendor-specific parsers.
//!
//! Detection is by content, never by file name. Each parser turns one file into a
//! [`ParsedFile`]: model fragments (a firewall, interfaces, routes) plus diagnostics for every
//! line it did not fully understand. Vendor syntax never leaves this module.

pub mod batfish_host;
pub mod cisco_asa;
pub mod cisco_ios;
pub mod fortigate;
pub mod ipassmt;
pub mod iptables;
pub mod junos;
pub mod linux_ip;
pub mod nessus;
pub mod nftables;
pub mod nmap;
pub mod openvas;
pub mod panos;
pub mod pfsense;
mod vulnscan;
mod xml;

use serde::Serialize;

use crate::diag::{codes, Diagnostic, Diags, FileStatus, Severity, SourceId};
use crate::model::{Firewall, Host, Interface, Route, ScanInfo};

/// A format Portolan reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `iptables-save`, `ip6tables-save`, `iptables-nft-save` output.
    IptablesSave,
    /// `ip addr` / `ip -6 addr` text output.
    IpAddr,
    /// `ip -j addr` JSON output.
    IpAddrJson,
    /// `ip route` / `ip -6 route` text output.
    IpRoute,
    /// `ip -j route` JSON output.
    IpRouteJson,
    /// Portolan's topology manifest (YAML or JSON).
    Manifest,
    /// nmap XML output (`nmap -oX`).
    NmapXml,
    /// `nft list ruleset` text.
    Nftables,
    /// `nft -j list ruleset` JSON.
    NftablesJson,
    /// Cisco IOS / IOS-XE running configuration (and the NX-OS, IOS-XR, Arista ACL dialects).
    CiscoIos,
    /// Cisco ASA running configuration.
    CiscoAsa,
    /// Juniper Junos / SRX configuration, hierarchical or `set` form.
    Junos,
    /// Palo Alto PAN-OS configuration (XML export, or the brace/set form).
    PanOs,
    /// FortiGate configuration (`show full-configuration`, backup file).
    FortiGate,
    /// pfSense / OPNsense `config.xml`.
    PfSense,
    /// A Batfish snapshot's host file (`hosts/NAME.json`: interfaces, gateway, rules file).
    BatfishHost,
    /// Nessus scan results (`.nessus`, format v2).
    Nessus,
    /// OpenVAS / Greenbone XML report.
    OpenVas,
    /// Interface-to-address assignment (`ipassmt`) of the verified iptables analysis (fffuu).
    #[serde(rename = "ipassmt")]
    IpAssmt,
    /// Not a format Portolan reads.
    Unknown,
}

impl Format {
    /// Human-readable name.
    pub fn label(self) -> &'static str {
        match self {
            Format::IptablesSave => "iptables-save",
            Format::IpAddr => "ip addr",
            Format::IpAddrJson => "ip -j addr",
            Format::IpRoute => "ip route",
            Format::IpRouteJson => "ip -j route",
            Format::Manifest => "portolan manifest",
            Format::NmapXml => "nmap xml",
            Format::Nftables => "nftables",
            Format::NftablesJson => "nft -j",
            Format::CiscoIos => "cisco ios",
            Format::CiscoAsa => "cisco asa",
            Format::Junos => "junos",
            Format::PanOs => "pan-os",
            Format::FortiGate => "fortigate",
            Format::PfSense => "pfsense/opnsense",
            Format::BatfishHost => "batfish host",
            Format::Nessus => "nessus",
            Format::OpenVas => "openvas",
            Format::IpAssmt => "ipassmt",
            Format::Unknown => "unknown",
        }
    }
}

/// What one file contributes to the model.
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// Filtering/NAT rules, shared with the device they are assembled into (a ruleset of
    /// 100,000 rules is kept once).
    pub firewall: Option<std::sync::Arc<Firewall>>,
    /// Interfaces and their addresses.
    pub interfaces: Vec<Interface>,
    /// Routes.
    pub routes: Vec<Route>,
    /// Hosts and services seen by a scanner.
    pub hosts: Vec<Host>,
    /// About the scan, when the file is a scan.
    pub scan: Option<ScanInfo>,
    /// The topology manifest, when the file is one.
    pub manifest: Option<crate::manifest::Manifest>,
    /// Paths of other inputs this file says belong to the same device (a Batfish host file's
    /// `iptablesFile`), relative to wherever the inputs were given from.
    pub references: Vec<String>,
    /// Interface-to-address assignments (which source addresses may arrive on which interface).
    pub assignments: Vec<crate::model::IfaceAssignment>,
}

/// The result of parsing one file.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    /// The detected format.
    pub format: Format,
    /// Model fragments.
    pub content: Content,
    /// Diagnostics, in line order.
    pub diags: Vec<Diagnostic>,
    /// Number of lines in the file.
    pub lines_total: u32,
    /// Lines deliberately skipped (comments, blank, cosmetic).
    pub lines_skipped: u32,
    /// Device name the file itself states, if any (a `hostname` line).
    pub device_hint: Option<String>,
    /// Lines not understood that carry no diagnostic of their own: the body of an unknown
    /// block reported once at its first line. They count as unrecognized.
    pub unread_lines: Vec<u32>,
    /// The devices a file describes when it holds several (a FortiGate file's VDOMs), each with
    /// its own device hint, model fragments and diagnostics; lines are the file's own. Empty
    /// when the file is one device, as for every other reader. When there are parts, `content`
    /// is empty, and `diags` and `unread_lines` are every part's, each once: the file as a whole.
    pub parts: Vec<DevicePart>,
}

/// One of several devices described by one file (a FortiGate VDOM).
#[derive(Clone, Debug)]
pub struct DevicePart {
    /// The part's name within the file (the VDOM's name). The device is named by the part's
    /// `device_hint` (`HOST/VDOM`), or, when the file states no host name, `NAME/PART` with the
    /// name its path gives; a topology manifest names it with the file pattern `FILE#PART`.
    pub name: String,
    /// What the part contributes: format, model fragments, device hint, and the diagnostics of
    /// the lines it reads (the shared ones and its own).
    pub parsed: ParsedFile,
}

impl ParsedFile {
    /// An empty result for a format with the given diagnostics.
    pub fn new(format: Format, text: &str) -> Self {
        ParsedFile {
            format,
            content: Content::default(),
            diags: Vec::new(),
            lines_total: count_lines(text),
            lines_skipped: 0,
            device_hint: None,
            unread_lines: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// Worst-wins parse status.
    pub fn status(&self) -> FileStatus {
        if self.diags.iter().any(|d| d.code == codes::UNREADABLE) {
            return FileStatus::Failed;
        }
        if self.format == Format::Unknown {
            return FileStatus::Unsupported;
        }
        if self.diags.iter().any(|d| d.severity >= Severity::Warning) {
            FileStatus::Partial
        } else {
            FileStatus::Ok
        }
    }

    /// Lines with at least one warning or error.
    pub fn lines_unrecognized(&self) -> u32 {
        let mut lines: Vec<u32> =
            self.diags.iter().filter(|d| d.severity >= Severity::Warning && d.line > 0).map(|d| d.line).collect();
        lines.extend(self.unread_lines.iter().copied().filter(|&l| l > 0));
        lines.sort_unstable();
        lines.dedup();
        lines.len() as u32
    }
}

/// Number of lines in a text (a final line without newline counts).
pub fn count_lines(text: &str) -> u32 {
    // what `str::lines().count()` gives, without finding each line: every newline ends a line,
    // and so does the end of a text that does not end with one
    // (counted in runs of at most 255 bytes in a byte-wide counter, which vectorizes)
    let newlines: usize = text
        .as_bytes()
        .chunks(255)
        .map(|run| usize::from(run.iter().fold(0u8, |n, &c| n + u8::from(c == b'\n'))))
        .sum();
    (newlines + usize::from(!text.is_empty() && !text.ends_with('\n'))) as u32
}

/// Guess the format of a file from its content.
pub fn detect(text: &str) -> Format {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') && crate::manifest::looks_like(trimmed) {
        return Format::Manifest;
    }
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        if nftables::looks_like_json(trimmed) {
            return Format::NftablesJson;
        }
        if batfish_host::looks_like(trimmed) {
            return Format::BatfishHost;
        }
        return linux_ip::detect_json(trimmed).unwrap_or(Format::Unknown);
    }
    if trimmed.starts_with('<') {
        if nmap::looks_like(text) {
            return Format::NmapXml;
        }
        if nessus::looks_like(text) {
            return Format::Nessus;
        }
        if openvas::looks_like(text) {
            return Format::OpenVas;
        }
        if pfsense::looks_like(trimmed) {
            return Format::PfSense;
        }
        if panos::looks_like(trimmed) {
            return Format::PanOs;
        }
    }
    if nmap::looks_like(text) {
        return Format::NmapXml;
    }
    if ipassmt::looks_like(text) {
        return Format::IpAssmt;
    }
    if iptables::looks_like(text) {
        return Format::IptablesSave;
    }
    if nftables::looks_like(text) {
        return Format::Nftables;
    }
    if fortigate::looks_like(text) {
        return Format::FortiGate;
    }
    if junos::looks_like(text) {
        return Format::Junos;
    }
    if panos::looks_like(text) {
        return Format::PanOs;
    }
    if cisco_asa::looks_like(text) {
        return Format::CiscoAsa;
    }
    if cisco_ios::looks_like(text) {
        return Format::CiscoIos;
    }
    if let Some(f) = linux_ip::detect_text(text) {
        return f;
    }
    if crate::manifest::looks_like(text) {
        return Format::Manifest;
    }
    Format::Unknown
}

/// Detect the format of a file and parse it.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    match detect(text) {
        Format::IptablesSave => iptables::parse(source, file, text),
        f @ (Format::IpAddr | Format::IpAddrJson | Format::IpRoute | Format::IpRouteJson) => {
            linux_ip::parse(f, source, file, text)
        }
        Format::Manifest => crate::manifest::parse_file(source, file, text),
        Format::NmapXml => nmap::parse(source, file, text),
        f @ (Format::Nftables | Format::NftablesJson) => nftables::parse(f, source, file, text),
        Format::CiscoIos => cisco_ios::parse(source, file, text),
        Format::CiscoAsa => cisco_asa::parse(source, file, text),
        Format::Junos => junos::parse(source, file, text),
        Format::PanOs => panos::parse(source, file, text),
        Format::FortiGate => fortigate::parse(source, file, text),
        Format::PfSense => pfsense::parse(source, file, text),
        Format::BatfishHost => batfish_host::parse(source, file, text),
        Format::Nessus => nessus::parse(source, file, text),
        Format::OpenVas => openvas::parse(source, file, text),
        Format::IpAssmt => ipassmt::parse(source, file, text),
        Format::Unknown => {
            let mut p = ParsedFile::new(Format::Unknown, text);
            let mut d = Diags::default();
            d.push(
                codes::UNKNOWN_FORMAT,
                Severity::Error,
                0,
                "",
                "not recognized: the content matches none of the formats Portolan reads",
            );
            p.diags = d.list;
            p
        }
    }
}
