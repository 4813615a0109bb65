//! Findings: rule hygiene and risky exposure, each with a stable code, a severity, the place in
//! the configuration it is about, readable packet sets, a witness packet and an owner.
//!
//! The rule checks rest on [`effective`]: for every rule the exact packets that reach it and
//! that it matches, following jumps and returns. The exposure check reads the exposure report.
//! Codes are never renumbered or reused; each has a page `docs/findings/<CODE>.md`.
//!
//! | code | name | what |
//! |---|---|---|
//! | R101 | shadowed-rule | the rule never matches: earlier rules take every packet it would |
//! | R102 | redundant-rule | removing the rule changes no decision |
//! | R103 | overly-permissive-rule | accepts from any source to any destination, sensitive services from anywhere, or wide port ranges |
//! | R104 | conflicting-overlap | an earlier rule with the opposite decision takes part of this rule's packets |
//! | R105 | unused-ruleset | a called ruleset nothing jumps to, or that no packet enters |
//! | R106 | unmodelled-construct | the rule depends on a construct Portolan does not model |
//! | X201 | risky-service-reachable | telnet, SMB, RDP, databases or management planes reachable from a threat origin |

pub mod effective;
mod rules;
mod services;
pub mod text;

use serde::Serialize;

use crate::report::{Certainty, ExposureReport, RuleRef};
use crate::Workspace;

pub use rules::{check_rules, check_rules_up_to, device_effects, device_effects_dd, device_effects_dd_apart, device_effects_dd_in};
pub use services::check_exposure;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// Cleanup: dead or duplicate configuration.
    Low,
    /// Likely a mistake or wider access than needed.
    Medium,
    /// Access that an attacker can use, or a rule whose intent is overridden.
    High,
    /// A dangerous service open to the Internet.
    Critical,
}

impl Severity {
    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parse a lowercase word.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// One step less serious (for findings that only possibly hold).
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

/// One entry of the code table.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Code {
    /// The stable code.
    pub code: &'static str,
    /// Kebab-case name.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
}

/// Every finding code. Never renumber or reuse one: deprecate it and add a new one.
pub const CODES: &[Code] = &[
    Code { code: "R101", name: "shadowed-rule", summary: "The rule never matches: earlier rules take every packet it would match." },
    Code { code: "R102", name: "redundant-rule", summary: "Removing the rule changes no decision: later rules or the default decide its packets the same way." },
    Code {
        code: "R103",
        name: "overly-permissive-rule",
        summary: "The rule accepts new connections from any source to any destination, to sensitive services from any source, or over a wide port range.",
    },
    Code { code: "R104", name: "conflicting-overlap", summary: "An earlier rule with the opposite decision takes part of this rule's packets." },
    Code { code: "R105", name: "unused-ruleset", summary: "A called ruleset that nothing jumps to, or that no packet enters." },
    Code { code: "R106", name: "unmodelled-construct", summary: "The rule depends on a construct that is not modelled; results through it are only possible." },
    Code {
        code: "X201",
        name: "risky-service-reachable",
        summary: "Telnet, SMB, RDP, a database or a management plane is reachable from a threat origin.",
    },
];

/// The table entry of a code.
pub fn code_info(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

/// Where the documentation page of a code lives, relative to the repository root.
pub fn help_path(code: &str) -> String {
    format!("docs/findings/{code}.md")
}

/// The documentation page of a code, as Markdown.
pub fn help_markdown(code: &str) -> &'static str {
    match code {
        "R101" => include_str!("../../docs/findings/R101.md"),
        "R102" => include_str!("../../docs/findings/R102.md"),
        "R103" => include_str!("../../docs/findings/R103.md"),
        "R104" => include_str!("../../docs/findings/R104.md"),
        "R105" => include_str!("../../docs/findings/R105.md"),
        "R106" => include_str!("../../docs/findings/R106.md"),
        "X201" => include_str!("../../docs/findings/X201.md"),
        _ => "",
    }
}

/// The absolute address of a code's page, when the package names its repository
/// (`repository` in Cargo.toml); SARIF requires `helpUri` to be absolute.
pub fn help_uri(code: &str) -> Option<String> {
    let repo = option_env!("CARGO_PKG_REPOSITORY").unwrap_or("").trim_end_matches('/');
    if repo.is_empty() {
        None
    } else {
        Some(format!("{repo}/blob/main/{}", help_path(code)))
    }
}

/// A packet set with what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamedSet {
    /// What the set is (`matches`, `overlap`, `taken earlier`).
    pub label: String,
    /// The set in readable form.
    pub text: String,
}

/// One concrete packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Protocol name or number.
    pub proto: String,
    /// Destination port, or ICMP type.
    pub port: Option<u32>,
    /// Source port.
    pub sport: Option<u32>,
    /// Input interface, where the device's interfaces are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<String>,
    /// Output interface, where the device's interfaces are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_iface: Option<String>,
    /// Connection state (`new`, `established`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// One finding.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable code (`R101`).
    pub code: &'static str,
    /// Kebab-case name of the code (`shadowed-rule`).
    pub name: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// `definite`, or `possible` when it depends on an unmodelled construct.
    pub certainty: Certainty,
    /// Device name.
    pub device: String,
    /// Ruleset (`filter/FORWARD`), when the finding is about one.
    pub ruleset: String,
    /// File of the rule (or ruleset) it is about.
    pub file: String,
    /// One-based line (0 when there is none).
    pub line: u32,
    /// The rule's text.
    pub text: String,
    /// What is wrong, in one or two sentences.
    pub message: String,
    /// Readable packet sets the message refers to.
    pub sets: Vec<NamedSet>,
    /// Other rules involved (the earlier rules that cover it, the conflicting rule).
    pub related: Vec<RuleRef>,
    /// One concrete packet, where relevant.
    pub witness: Option<Witness>,
    /// Unmodelled constructs the finding depends on (file:line and what).
    pub depends_on: Vec<String>,
    /// Who acts on it: it | management | vendor | employees | auditor.
    pub owner: String,
    /// Documentation page of the code.
    pub help: String,
}

/// Every finding: rule hygiene on every device, and risky services in `exposure`. Most severe
/// first, then by device, file and line.
pub fn check(ws: &Workspace, net: &crate::reach::CNetwork, exposure: &ExposureReport) -> Vec<Finding> {
    let mut out = check_rules(ws, net);
    // Rule findings: the device's owner when the manifest names one (see crate::owners).
    for f in &mut out {
        let kind = if f.code == "R106" { crate::owners::Kind::Verification } else { crate::owners::Kind::Finding };
        let facts = crate::owners::Facts { devices: vec![f.device.as_str()], ..crate::owners::Facts::new(kind, f.certainty) };
        f.owner = crate::owners::assign(ws.manifest.as_ref(), &facts);
    }
    out.extend(check_exposure(exposure));
    sort(&mut out);
    out
}

/// Order findings: most severe first, then device, file, line and code.
pub fn sort(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.device, &a.file, a.line, a.code).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.device,
            &b.file,
            b.line,
            b.code,
        ))
    });
}
