//! Output structs shared by the CLI renderers and the page. Serialize-only; field names are the
//! JSON contract (see DESIGN.md) and must stay stable.

use serde::Serialize;

use crate::diag::{Diagnostic, FileStatus};
use crate::Workspace;

/// `portolan parse --json`: every input and every device.
#[derive(Clone, Debug, Serialize)]
pub struct ParseReport {
    /// One entry per input file, in the order given.
    pub inputs: Vec<InputReport>,
    /// Devices assembled from the inputs.
    pub devices: Vec<DeviceSummary>,
    /// Hosts seen by scans, per file, in file order.
    pub hosts: Vec<HostSummary>,
    /// Which device interfaces are neighbours (shared subnets, manifest links).
    pub topology: crate::topology::Topology,
}

/// Line counts of one input.
#[derive(Clone, Debug, Serialize)]
pub struct LineCounts {
    /// Lines in the file.
    pub total: u32,
    /// Lines with a warning or error diagnostic.
    pub unrecognized: u32,
    /// Comments, blank and cosmetic lines skipped on purpose.
    pub skipped: u32,
}

/// One input file's parse result.
#[derive(Clone, Debug, Serialize)]
pub struct InputReport {
    /// Path as given.
    pub path: String,
    /// Detected format (`iptables-save`, `ip addr`, … or `unknown`).
    pub format: String,
    /// Device the file was assigned to (a file describing several devices, such as a
    /// FortiGate's VDOMs, names them all, separated by `, `).
    pub device: Option<String>,
    /// Every device the file went to, in name order.
    pub devices: Vec<String>,
    /// `ok`, `partial`, `failed` or `unsupported`.
    pub status: FileStatus,
    /// What the status means.
    pub status_text: String,
    /// Line counts.
    pub lines: LineCounts,
    /// Percentage of non-skipped lines understood (100 when there are none).
    pub coverage: f64,
    /// Diagnostics in line order.
    pub diagnostics: Vec<Diagnostic>,
}

/// One assembled device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceSummary {
    /// Device name.
    pub name: String,
    /// Files it was built from.
    pub files: Vec<String>,
    /// Interfaces with their addresses (`eth0 192.0.2.1/24`).
    pub interfaces: Vec<String>,
    /// Number of routes.
    pub routes: usize,
    /// Number of rulesets (chains, ACLs).
    pub rulesets: usize,
    /// Number of rules.
    pub rules: usize,
    /// Rules with conditions or actions that are not modelled.
    pub unknown_rules: usize,
}

/// One host a scan saw.
#[derive(Clone, Debug, Serialize)]
pub struct HostSummary {
    /// Its first host name, else its first address.
    pub name: String,
    /// Its addresses.
    pub addresses: Vec<String>,
    /// False when the scan saw it down.
    pub up: bool,
    /// Open ports and what listens there (`tcp/22 ssh OpenSSH 8.9p1`), with the findings a
    /// vulnerability scan reports on the port counted by severity (`tcp/443 www · 1 high, 2 info`).
    pub open: Vec<String>,
    /// The other ports, listed or summarised by the scan, counted by state and protocol
    /// (`997 closed tcp`).
    pub other_ports: Vec<String>,
    /// Operating system guess, if any.
    pub os: Option<String>,
    /// The scan file.
    pub file: String,
    /// Line of the host in it.
    pub line: u32,
    /// The findings a vulnerability scan reports on the host, counted; absent for port scans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<VulnCounts>,
}

/// Findings of a vulnerability scan, counted by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VulnCounts {
    /// Rated critical.
    pub critical: usize,
    /// Rated high.
    pub high: usize,
    /// Rated medium.
    pub medium: usize,
    /// Rated low.
    pub low: usize,
    /// Informational.
    pub info: usize,
    /// Those the scanner says a public exploit exists for.
    pub exploitable: usize,
    /// Those about the host as a whole rather than one port.
    pub host_wide: usize,
}

impl VulnCounts {
    fn add(&mut self, v: &crate::model::Vulnerability) {
        use crate::model::Severity as S;
        *match v.severity {
            S::Critical => &mut self.critical,
            S::High => &mut self.high,
            S::Medium => &mut self.medium,
            S::Low => &mut self.low,
            S::Info => &mut self.info,
        } += 1;
        self.exploitable += usize::from(v.exploit_available);
        self.host_wide += usize::from(v.port.is_none());
    }

    /// `1 critical, 2 high, 3 info (1 with a public exploit)`.
    pub fn text(&self) -> String {
        let parts: Vec<String> =
            [(self.critical, "critical"), (self.high, "high"), (self.medium, "medium"), (self.low, "low"), (self.info, "info")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, w)| format!("{n} {w}"))
                .collect();
        let mut t = parts.join(", ");
        if self.exploitable > 0 {
            t.push_str(&format!(" ({} with a public exploit)", self.exploitable));
        }
        t
    }
}

impl HostSummary {
    /// Summarise a scanned host.
    pub fn of(file: &str, h: &crate::model::Host) -> HostSummary {
        use crate::model::PortState;
        fn proto(p: u8) -> String {
            match p {
                6 => "tcp".into(),
                17 => "udp".into(),
                132 => "sctp".into(),
                p => format!("ip/{p}"),
            }
        }
        fn state(s: PortState) -> (u8, &'static str) {
            match s {
                PortState::Open => (0, "open"),
                PortState::OpenFiltered => (1, "open|filtered"),
                PortState::Unfiltered => (2, "unfiltered"),
                PortState::Filtered => (3, "filtered"),
                PortState::ClosedFiltered => (4, "closed|filtered"),
                PortState::Closed => (5, "closed"),
            }
        }
        let mut by_port: std::collections::HashMap<(u8, u16), VulnCounts> = std::collections::HashMap::new();
        let mut all = VulnCounts::default();
        for v in &h.vulns {
            all.add(v);
            if let (Some(p), Some(n)) = (v.proto, v.port) {
                by_port.entry((p, n)).or_default().add(v);
            }
        }
        let mut open = Vec::new();
        let mut others: std::collections::BTreeMap<(u8, (u8, &str)), u64> = std::collections::BTreeMap::new();
        for s in &h.services {
            if s.state == PortState::Open {
                // Protocol scans (`nmap -sO`) list protocols, recorded with port 0.
                let mut t = if matches!(s.proto, 6 | 17 | 132) {
                    format!("{}/{}", proto(s.proto), s.port)
                } else {
                    proto(s.proto)
                };
                for part in [&s.name, &s.product, &s.version].into_iter().flatten() {
                    t.push(' ');
                    t.push_str(part);
                }
                if let Some(c) = by_port.get(&(s.proto, s.port)) {
                    t.push_str(" · ");
                    t.push_str(&c.text());
                }
                open.push(t);
            } else {
                *others.entry((s.proto, state(s.state))).or_default() += 1;
            }
        }
        for &(p, st, n) in &h.other_ports {
            *others.entry((p, state(st))).or_default() += u64::from(n);
        }
        let addresses: Vec<String> = h.addrs.iter().map(|a| a.to_string()).collect();
        HostSummary {
            name: h.names.first().cloned().or_else(|| addresses.first().cloned()).unwrap_or_default(),
            addresses,
            up: h.up,
            open,
            other_ports: others.into_iter().map(|((p, (_, st)), n)| format!("{n} {st} {}", proto(p))).collect(),
            os: h.os.clone(),
            file: file.to_string(),
            line: h.prov.line,
            vulnerabilities: (!h.vulns.is_empty()).then_some(all),
        }
    }
}

impl ParseReport {
    /// Build the report for a workspace.
    pub fn build(ws: &Workspace) -> ParseReport {
        let inputs = ws
            .files
            .iter()
            .map(|f| {
                let p = &f.parsed;
                let unrec = p.lines_unrecognized();
                let counted = p.lines_total.saturating_sub(p.lines_skipped);
                let coverage = if counted == 0 {
                    100.0
                } else {
                    (100.0 * (counted.saturating_sub(unrec)) as f64 / counted as f64 * 10.0).round() / 10.0
                };
                let status = p.status();
                InputReport {
                    path: f.path.clone(),
                    format: p.format.label().to_string(),
                    device: f.device.clone(),
                    devices: f.devices.clone(),
                    status,
                    status_text: status.explanation().to_string(),
                    lines: LineCounts { total: p.lines_total, unrecognized: unrec, skipped: p.lines_skipped },
                    coverage: if p.format == crate::parse::Format::Unknown { 0.0 } else { coverage },
                    diagnostics: p.diags.clone(),
                }
            })
            .collect();
        let devices = ws
            .network
            .devices
            .iter()
            .map(|d| {
                let (rulesets, rules, unknown_rules) = d.firewall.as_ref().map_or((0, 0, 0), |fw| {
                    let rules: usize = fw.rulesets.iter().map(|r| r.rules.len()).sum();
                    let unk = fw
                        .rulesets
                        .iter()
                        .flat_map(|r| &r.rules)
                        .filter(|r| !r.unknown.is_empty() || matches!(r.action, crate::model::Action::Unknown(_)))
                        .count();
                    (fw.rulesets.len(), rules, unk)
                });
                DeviceSummary {
                    name: d.name.clone(),
                    files: d.sources.iter().map(|&i| ws.files[i].path.clone()).collect(),
                    interfaces: d
                        .interfaces
                        .iter()
                        .map(|i| {
                            let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
                            if addrs.is_empty() { i.name.clone() } else { format!("{} {}", i.name, addrs.join(" ")) }
                        })
                        .collect(),
                    routes: d.routes.len(),
                    rulesets,
                    rules,
                    unknown_rules,
                }
            })
            .collect();
        let hosts = ws
            .files
            .iter()
            .flat_map(|f| f.parsed.content.hosts.iter().map(|h| HostSummary::of(&f.path, h)))
            .collect();
        let topology = crate::topology::infer(&ws.network, ws.manifest.as_ref());
        ParseReport { inputs, devices, hosts, topology }
    }
}

/// The outcome of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A new connection is established and its replies return.
    Allowed,
    /// The connection cannot be established.
    Denied,
    /// The outcome depends on a construct Portolan does not model.
    Possibly,
}

impl Verdict {
    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::Possibly => "possibly",
        }
    }
}

/// Text shared by every result that shows it: a rule or device appears on the paths of many
/// exposures, so its texts are made once and shared, not copied into each.
pub type Text = std::sync::Arc<str>;

/// A rule that decided something, with its source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    /// File path.
    pub file: Text,
    /// One-based line (0 for a built-in default).
    pub line: u32,
    /// The rule's text.
    pub text: Text,
    /// What it did: `accept`, `drop`, `reject`, `dnat`, `policy drop`, …
    pub action: Text,
    /// Ruleset (chain) name, with its table: `filter/FORWARD`.
    pub ruleset: Text,
}

/// An address translation applied at a hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NatNote {
    /// `dnat`, `snat`, `masquerade`, `redirect`, or `un-dnat`/`un-snat` on replies.
    pub kind: String,
    /// Address:port before.
    pub from: String,
    /// Address:port after.
    pub to: String,
    /// The rule that did it.
    pub rule: Option<RuleRef>,
}

/// One step of a packet through one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// Device name.
    pub device: Text,
    /// `forward` (the connection's first packet) or `reply` (the first reply).
    pub direction: &'static str,
    /// Interface the packet arrived on (none for packets the device sends itself).
    pub in_iface: Option<Text>,
    /// Interface it left on (none when delivered to the device itself or stopped).
    pub out_iface: Option<Text>,
    /// The path through the device: `forward`, `input` (to the device), `output` (from it).
    pub path: &'static str,
    /// The rule that decided at this hop (the last filtering decision), if any.
    pub rule: Option<RuleRef>,
    /// Every ruleset decision on the way, in order (raw, mangle, nat, filter).
    pub decisions: Vec<RuleRef>,
    /// Address translations applied here.
    pub nat: Vec<NatNote>,
    /// `accepted`, `dropped`, `rejected`, `no route`, `delivered`, `possibly` …
    pub outcome: &'static str,
}

/// One concrete flow: the witness of a result.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FlowSpec {
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// `tcp`, `udp`, `icmp`, `icmpv6` or a number.
    pub proto: String,
    /// Destination port (TCP/UDP) or ICMP type.
    pub port: Option<u32>,
    /// Source port used for the witness.
    pub sport: Option<u32>,
}

/// The answer for one flow or one class of equivalent flows.
#[derive(Clone, Debug, Serialize)]
pub struct FlowResult {
    /// Verdict.
    pub verdict: Verdict,
    /// One sentence explaining it.
    pub reason: String,
    /// The packets this result covers, in readable form (`tcp/22 from 10.0.0.0/8`).
    pub covers: String,
    /// One concrete flow of the class.
    pub witness: FlowSpec,
    /// Hops of the first packet and then of the first reply.
    pub hops: Vec<Hop>,
    /// What the "possibly" depends on (unknown constructs with file:line).
    pub uncertain: Vec<String>,
}

/// `portolan query`: the answer for a from/to/proto/port question.
#[derive(Clone, Debug, Serialize)]
pub struct QueryReport {
    /// The question as understood.
    pub from: String,
    /// Destination endpoint.
    pub to: String,
    /// Protocol (`tcp`, `udp`, `icmp`, `any`).
    pub proto: String,
    /// Port or port range, if given.
    pub port: Option<String>,
    /// `allowed` if at least one flow of the question is allowed (the destination is
    /// reachable), `possibly` if none is definitely allowed but some may be, `denied` if none
    /// can be; `results` gives each class of flows with its own verdict.
    pub verdict: Verdict,
    /// Classes of flows with the same outcome.
    pub results: Vec<FlowResult>,
    /// Assumptions the answer rests on (missing interface data, query budget).
    pub assumptions: Vec<String>,
}

/// How sure an exposure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// Reachable whatever the unmodelled constructs do.
    Definite,
    /// Reachable for some reading of an unmodelled construct (see `uncertain`).
    Possible,
}

/// One service (destination, protocol, ports) reachable from an origin.
#[derive(Clone, Debug, Serialize)]
pub struct Exposure {
    /// The origin's name (`internet`, `vendor`, …).
    pub origin: String,
    /// The origin's addresses that reach it (the origin's name when all of them do).
    pub from: String,
    /// Host or device name, when known.
    pub host: Option<String>,
    /// The destination address (or range, where no host is known).
    pub ip: String,
    /// Protocol.
    pub proto: String,
    /// Destination ports (`80,443`, `1024-65535`, `any`), or ICMP types; empty for protocols
    /// without ports.
    pub ports: String,
    /// `definite` or `possible`.
    pub certainty: Certainty,
    /// What listens there according to scans (`tcp/22 ssh OpenSSH 8.9p1`).
    pub service: Option<String>,
    /// Scan facts that contradict the configs, with file:line.
    pub scan: Vec<String>,
    /// Who acts on it: it | management | vendor | employees | auditor.
    pub owner: String,
    /// One sentence explaining the path.
    pub reason: String,
    /// One concrete connection.
    pub witness: FlowSpec,
    /// The explained path of the witness (first packet, then reply).
    pub hops: Vec<Hop>,
    /// What a "possible" depends on.
    pub uncertain: Vec<String>,
}

/// One origin of an exposure analysis.
#[derive(Clone, Debug, Serialize)]
pub struct OriginReport {
    /// Name.
    pub name: String,
    /// Role (`vendor`, `employees`), if declared.
    pub role: Option<String>,
    /// Its addresses, readable.
    pub addresses: String,
    /// Number of exposures found.
    pub exposures: usize,
    /// Why it could not be analysed, if so.
    pub error: Option<String>,
}

/// Exposure of the estate to every origin.
#[derive(Clone, Debug, Serialize)]
pub struct ExposureReport {
    /// Origins analysed.
    pub origins: Vec<OriginReport>,
    /// Reachable services, by origin, certainty and address.
    pub exposures: Vec<Exposure>,
    /// Open ports seen by scans that no origin reaches per the configs.
    pub scan_notes: Vec<String>,
    /// Assumptions the answers rest on.
    pub assumptions: Vec<String>,
}

/// `portolan analyze`: the inputs, the devices and everything each origin reaches.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyzeReport {
    /// Inputs and devices (as `portolan parse --json`).
    #[serde(flatten)]
    pub parse: ParseReport,
    /// Origins, exposures, scan notes and assumptions.
    #[serde(flatten)]
    pub exposure: ExposureReport,
    /// Rule-hygiene and risky-service findings, most severe first.
    pub findings: Vec<crate::findings::Finding>,
    /// Crown jewels, attack paths to them and the changes that cut them.
    #[serde(flatten)]
    pub attack: crate::attack::AttackReport,
    /// Policy violations (the manifest's `policy`, as `portolan check`).
    pub violations: Vec<crate::policy::Violation>,
    /// Each policy entry's outcome.
    pub policy_entries: Vec<crate::policy::EntryStatus>,
    /// Zone-matrix allowances nothing implements.
    pub unused_policy: Vec<crate::policy::Unused>,
}

impl AnalyzeReport {
    /// Analyse a workspace: inputs, exposure from `origins`, and every finding.
    pub fn build(an: &crate::reach::Analyzer, origins: &[crate::reach::Origin]) -> AnalyzeReport {
        AnalyzeReport::build_with(an, origins, &crate::attack::Options::default())
    }

    /// As [`AnalyzeReport::build`], with the attack graph's options (services assumed closed and
    /// vulnerabilities assumed patched, as a what-if makes them).
    pub fn build_with(an: &crate::reach::Analyzer, origins: &[crate::reach::Origin], opts: &crate::attack::Options) -> AnalyzeReport {
        let ws = an.workspace();
        let exposure = an.exposure(origins);
        let findings = crate::findings::check(ws, an.network(), &exposure);
        let attack = crate::attack::analyze(an, origins, opts);
        let policy = crate::policy::check(an);
        AnalyzeReport {
            parse: ParseReport::build(ws),
            exposure,
            findings,
            attack,
            violations: policy.violations,
            policy_entries: policy.entries,
            unused_policy: policy.unused,
        }
    }
}

pub mod diff;
pub mod html;
pub mod map;
pub mod render;
pub mod roles;
