//! Source files, positions and diagnostics.
//!
//! Every input line ends up parsed, deliberately skipped (comments, cosmetic lines) or reported
//! as a [`Diagnostic`]. Parsers never abort on a bad line; they return `Err` only when the input
//! cannot be read at all.

use serde::Serialize;

/// Index of an input file in the [`crate::Workspace`]'s file list.
pub type SourceId = usize;

/// Where a model element came from: file, one-based line and the original text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// Index of the input file.
    #[serde(skip)]
    pub source: SourceId,
    /// File path as given by the user.
    pub file: String,
    /// One-based line number (0 when the element has no line, e.g. a built-in default).
    pub line: u32,
    /// The original text of the line (trimmed).
    pub text: String,
}

impl Provenance {
    /// A provenance for something that is not in any file (a documented vendor default).
    pub fn builtin(text: impl Into<String>) -> Self {
        Provenance { source: usize::MAX, file: String::new(), line: 0, text: text.into() }
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: the line was understood but something is worth knowing.
    Info,
    /// The line was only partly understood; results depending on it are "possibly".
    Warning,
    /// The line was not understood at all.
    Error,
}

/// One problem found while reading an input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `P001` (unrecognized line). Codes are never reused.
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// One-based line number in the file (0 for whole-file problems).
    pub line: u32,
    /// The offending line's text.
    pub text: String,
    /// Why it is a problem, in one sentence.
    pub reason: String,
    /// Parser state when it happened, e.g. `"iptables table filter"`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context: String,
}

/// Diagnostic codes for parsing (`P0xx`). Never renumber; deprecate instead.
pub mod codes {
    /// A line that the parser does not recognise at all.
    pub const UNRECOGNIZED: &str = "P001";
    /// A match (condition) that is recognised but not modelled: the rule becomes "unknown".
    pub const UNMODELLED_MATCH: &str = "P002";
    /// A target/action that is not modelled: its effect is unknown.
    pub const UNMODELLED_TARGET: &str = "P003";
    /// A value that could not be parsed (bad address, port, number).
    pub const BAD_VALUE: &str = "P004";
    /// A reference to something never defined (chain, interface, object).
    pub const UNDEFINED_REFERENCE: &str = "P005";
    /// Structure problem (rule outside a table, missing COMMIT, duplicate chain).
    pub const STRUCTURE: &str = "P006";
    /// Address with host bits set (`10.1.1.5/24`): normalised to the network.
    pub const HOST_BITS: &str = "P007";
    /// The whole file could not be read (not UTF-8, invalid JSON).
    pub const UNREADABLE: &str = "P008";
    /// The file's format is not recognised.
    pub const UNKNOWN_FORMAT: &str = "P009";
}

/// Parse status of one file, worst wins (as Batfish's `ParseStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Every line was understood.
    Ok,
    /// Some lines were not understood; the rest is used.
    Partial,
    /// The format is recognised but nothing could be used.
    Failed,
    /// The format is not one Portolan reads.
    Unsupported,
}

impl FileStatus {
    /// A sentence explaining the status.
    pub fn explanation(self) -> &'static str {
        match self {
            FileStatus::Ok => "every line was understood",
            FileStatus::Partial => "some lines were not understood; results that depend on them are marked \"possibly\"",
            FileStatus::Failed => "the file could not be read",
            FileStatus::Unsupported => "the format is not recognised",
        }
    }
}

/// Collects diagnostics for one file.
#[derive(Clone, Debug, Default)]
pub struct Diags {
    /// The diagnostics in the order they were found.
    pub list: Vec<Diagnostic>,
    context: String,
}

impl Diags {
    /// Set the parser context attached to the following diagnostics.
    pub fn set_context(&mut self, ctx: impl Into<String>) {
        self.context = ctx.into();
    }

    /// Record a diagnostic.
    pub fn push(&mut self, code: &'static str, severity: Severity, line: u32, text: &str, reason: impl Into<String>) {
        self.list.push(Diagnostic {
            code,
            severity,
            line,
            text: text.trim().to_string(),
            reason: reason.into(),
            context: self.context.clone(),
        });
    }

    /// Record an unrecognised line.
    pub fn unrecognized(&mut self, line: u32, text: &str, reason: impl Into<String>) {
        self.push(codes::UNRECOGNIZED, Severity::Error, line, text, reason);
    }

    /// Number of distinct lines with a warning or error.
    pub fn lines_with_problems(&self) -> usize {
        let mut lines: Vec<u32> =
            self.list.iter().filter(|d| d.severity >= Severity::Warning).map(|d| d.line).collect();
        lines.sort_unstable();
        lines.dedup();
        lines.len()
    }
}

/// Render a diagnostic as `file:line: CODE reason "text" (in context)`.
pub fn render(file: &str, d: &Diagnostic) -> String {
    let mut s = format!("{file}:{}: {} {}", d.line, d.code, d.reason);
    if !d.text.is_empty() {
        s.push_str(&format!(" \"{}\"", d.text));
    }
    if !d.context.is_empty() {
        s.push_str(&format!(" (in {})", d.context));
    }
    s
}
