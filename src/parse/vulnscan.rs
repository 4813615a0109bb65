//! What the vulnerability-scan readers (Nessus, OpenVAS/Greenbone) share: a walker that
//! records diagnostics, skipped ranges and unread lines against the file's lines; reading a
//! report cut short; scores, severity bands, CVE identifiers, protocol names and the first
//! paragraph of a remedy; and how a finding's port becomes a service of its host.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::ops::Range;

use roxmltree::{Document, Node};

use super::xml::{self, LineIndex};
use super::ParsedFile;
use crate::diag::{codes, Diags, Provenance, Severity as DiagSeverity, SourceId};
use crate::model::{Cvss, PortState, ScanInfo, Service, Severity};

/// A CVSS base score: a finite number from 0.0 to 10.0.
pub(crate) fn score(s: &str) -> Option<f32> {
    let v: f32 = s.trim().parse().ok()?;
    (v.is_finite() && (0.0..=10.0).contains(&v)).then_some(v)
}

/// The qualitative rating of a score (FIRST, CVSS v3.1 specification, section 5 "Qualitative
/// Severity Rating Scale"): 0.0 none, 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0
/// critical. A score of 0.0 is informational.
pub(crate) fn band(score: f32) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// The word for a severity, as reports and provenance texts print it.
pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// True for `CVE-YYYY-NNNN…` (four or more digits in the sequence number).
pub(crate) fn is_cve(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(cve), Some(year), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    cve.eq_ignore_ascii_case("CVE")
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && seq.len() >= 4
        && seq.bytes().all(|b| b.is_ascii_digit())
}

/// A CVE identifier in its canonical upper-case form.
pub(crate) fn canonical_cve(s: &str) -> String {
    s.to_ascii_uppercase()
}

/// Protocol number of a transport protocol name as scanners write it.
pub(crate) fn proto_number(name: &str) -> Option<u8> {
    match name.to_ascii_lowercase().as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        _ => None,
    }
}

/// The name of a protocol number, for provenance texts.
pub(crate) fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        132 => "sctp",
        _ => "ip",
    }
}

/// The first paragraph of a text (up to the first blank line), its lines joined by single
/// spaces; `None` when it is empty or a placeholder (`n/a`, `none`).
pub(crate) fn first_paragraph(s: &str) -> Option<String> {
    let mut words = Vec::new();
    for line in s.lines() {
        if line.trim().is_empty() {
            if words.is_empty() {
                continue;
            }
            break;
        }
        words.extend(line.split_whitespace());
    }
    let p = words.join(" ");
    if p.is_empty() || p.eq_ignore_ascii_case("n/a") || p.eq_ignore_ascii_case("none") {
        None
    } else {
        Some(p)
    }
}

/// Where a break in the XML left the report: the parse error, whether the text simply ends
/// early, where the error is and where the text was cut for reading.
pub(crate) struct Break {
    pub err: roxmltree::Error,
    pub at_end: bool,
    pub limit: usize,
    pub cut: usize,
}

/// For a text that is not well-formed XML: the largest well-formed part ending after a
/// complete `record` element (closed with the end tags of the elements still open there), and
/// where it broke. `Err` when not even the root's start tag is complete.
pub(crate) fn recover(
    text: &str,
    idx: &LineIndex,
    err: roxmltree::Error,
    record: &str,
) -> Result<(String, Break), roxmltree::Error> {
    let at_end = matches!(err, roxmltree::Error::UnexpectedEndOfStream | roxmltree::Error::UnclosedRootNode);
    let limit = if at_end { text.len() } else { idx.offset_of(text, err.pos()) };
    match xml::repair(text, limit, record) {
        Some((fixed, cut)) => Ok((fixed, Break { err, at_end, limit, cut })),
        None => Err(err),
    }
}

/// The result for a file that is not well-formed XML before its first complete record, or that
/// is refused: one P008 error; the file still counts as a scan, so it is never taken for a
/// device.
pub(crate) fn unreadable(mut p: ParsedFile, line: u32, text: &str, reason: String, scanner: &str) -> ParsedFile {
    let mut d = Diags::default();
    d.push(codes::UNREADABLE, DiagSeverity::Error, line, text, reason);
    p.diags = d.list;
    p.content.scan = Some(ScanInfo { scanner: scanner.to_string(), ..ScanInfo::default() });
    p
}

/// The line a parse error is reported at.
pub(crate) fn error_line(idx: &LineIndex, text: &str, lines_total: u32, e: &roxmltree::Error) -> u32 {
    match e {
        roxmltree::Error::UnexpectedEndOfStream | roxmltree::Error::UnclosedRootNode => lines_total.max(1),
        _ => idx.line(idx.offset_of(text, e.pos())),
    }
}

/// Parse a report, repairing one that is cut short or malformed part way. `Err` is the
/// finished result for a file that cannot be read at all.
pub(crate) fn load<'t>(
    text: &'t str,
    repaired: &'t mut Option<String>,
    idx: &LineIndex,
    record: &str,
) -> Result<(Document<'t>, Option<Break>), roxmltree::Error> {
    match Document::parse_with_options(text, xml::options()) {
        Ok(doc) => Ok((doc, None)),
        Err(e) => {
            let (fixed, brk) = recover(text, idx, e, record)?;
            let fixed: &'t str = repaired.insert(fixed);
            let doc = Document::parse_with_options(fixed, xml::options())?;
            Ok((doc, Some(brk)))
        }
    }
}

/// Walks one parsed report: diagnostics with lines, skipped ranges, unread lines.
pub(crate) struct Walker<'t> {
    /// The text the document was parsed from (the repaired text when the file was cut short;
    /// it equals the file up to the cut).
    pub text: &'t str,
    pub file: &'t str,
    pub source: SourceId,
    pub idx: &'t LineIndex,
    pub d: Diags,
    /// Byte ranges of comments, processing instructions and the prologue.
    pub skipped: Vec<Range<usize>>,
    /// Lines not read that carry no diagnostic of their own (bodies of unknown elements, the
    /// part of a broken file after the cut).
    pub unread: Vec<u32>,
    /// Who writes the files, for diagnostics (`Nessus`, `OpenVAS`).
    pub writer: &'static str,
    /// Unknown elements reported once: (parent, name) → already reported.
    once: BTreeSet<(String, String)>,
}

impl<'t> Walker<'t> {
    pub fn new(text: &'t str, file: &'t str, source: SourceId, idx: &'t LineIndex, writer: &'static str) -> Self {
        Walker {
            text,
            file,
            source,
            idx,
            d: Diags::default(),
            skipped: Vec::new(),
            unread: Vec::new(),
            writer,
            once: BTreeSet::new(),
        }
    }

    pub fn line(&self, node: Node) -> u32 {
        self.idx.line(node.range().start)
    }

    pub fn diag(&mut self, code: &'static str, severity: DiagSeverity, node: Node, reason: impl Into<String>) {
        let line = self.line(node);
        let text = xml::tag_text(self.text, node);
        self.d.push(code, severity, line, &text, reason);
    }

    /// A bad value (P004, warning).
    pub fn bad(&mut self, node: Node, reason: impl Into<String>) {
        self.diag(codes::BAD_VALUE, DiagSeverity::Warning, node, reason);
    }

    /// An element the writer does not put here and that may matter: P001 warning on its first
    /// line, its other lines unread.
    pub fn unknown(&mut self, node: Node, inside: &str) {
        let name = node.tag_name().name();
        let writer = self.writer;
        self.diag(
            codes::UNRECOGNIZED,
            DiagSeverity::Warning,
            node,
            format!("element <{name}> is not one {writer} writes inside <{inside}>: not read"),
        );
        self.unread_body(node);
    }

    /// An element this reader does not know that cannot change what the model holds (a new
    /// descriptive field): reported once per name and parent as information, counted as read.
    pub fn unknown_cosmetic(&mut self, node: Node, inside: &str) {
        let name = node.tag_name().name();
        if self.once.insert((inside.to_string(), name.to_string())) {
            self.diag(
                codes::UNRECOGNIZED,
                DiagSeverity::Info,
                node,
                format!(
                    "element <{name}> inside <{inside}> is not one this reader knows; it describes the \
                     finding and is not read (reported once)"
                ),
            );
        }
    }

    /// The lines of an element after its first one, as unread.
    pub fn unread_body(&mut self, node: Node) {
        let r = node.range();
        let first = self.idx.line(r.start);
        let last = self.idx.line(r.end.saturating_sub(1).max(r.start));
        self.unread.extend(first + 1..=last);
    }

    pub fn prov(&self, node: Node, text: String) -> Provenance {
        Provenance { source: self.source, file: self.file.to_string(), line: self.line(node), text }
    }

    /// Record comments, processing instructions and the prologue as skipped.
    pub fn skip_markup(&mut self, doc: &Document) {
        self.skipped.push(0..doc.root_element().range().start);
        for n in doc.descendants().filter(|n| n.is_comment() || n.is_pi()) {
            self.skipped.push(n.range());
        }
    }

    /// The diagnostic for a report read up to a break, and the lines after the cut as unread.
    pub fn note_break(&mut self, brk: &Break, lines_total: u32, read: usize, what: (&str, &str)) {
        let cut_line = self.idx.line(brk.cut);
        let lost_from = cut_line + 1;
        let lines_lost = lines_total.saturating_sub(lost_from.saturating_sub(1));
        let writer = self.writer;
        let cause = if brk.at_end {
            format!("the file ends before the {writer} report does (an interrupted export or download)")
        } else {
            format!("the XML is malformed at line {} ({})", self.idx.line(brk.limit), brk.err)
        };
        let (one, many) = what;
        let mut reason =
            format!("{cause}: read the {read} complete {} up to line {cut_line}", if read == 1 { one } else { many });
        if lines_lost > 0 {
            let (s, verb) = if lines_lost == 1 { ("", "is") } else { ("s", "are") };
            reason.push_str(&format!("; the {lines_lost} line{s} after it {verb} not read"));
        }
        let line = if brk.at_end { lines_total.max(1) } else { self.idx.line(brk.limit) };
        self.d.push(codes::STRUCTURE, DiagSeverity::Warning, line, "", reason);
        self.unread.extend(lost_from..=lines_total);
    }

    /// Move the walk's results into the parsed file.
    pub fn finish(self, p: &mut ParsedFile, original: &str) {
        let mut diags = self.d.list;
        diags.sort_by_key(|d| d.line);
        p.lines_skipped = xml::count_skipped(original, self.skipped).min(p.lines_total);
        p.diags = diags;
        let mut unread = self.unread;
        unread.retain(|&l| l > 0 && l <= p.lines_total);
        unread.sort_unstable();
        unread.dedup();
        p.unread_lines = unread;
    }
}

/// The services of one host, one per protocol and port, in the order first seen.
#[derive(Default)]
pub(crate) struct Services {
    list: Vec<Service>,
    at: HashMap<(u8, u16), usize>,
}

impl Services {
    /// Note that the scanner saw something listening on `proto`/`port` (named `name` when
    /// it says). A later finding names a port the first one left unnamed.
    pub fn saw(&mut self, proto: u8, port: u16, name: Option<&str>, prov: impl FnOnce() -> Provenance) {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        match self.at.get(&(proto, port)) {
            Some(&i) => {
                if let (Some(s), Some(n)) = (self.list.get_mut(i), name) {
                    if s.name.is_none() {
                        s.name = Some(n.to_string());
                    }
                }
            }
            None => {
                self.at.insert((proto, port), self.list.len());
                self.list.push(Service {
                    proto,
                    port,
                    state: PortState::Open,
                    reason: None,
                    name: name.map(str::to_string),
                    product: None,
                    version: None,
                    extra: None,
                    cpe: Vec::new(),
                    prov: prov(),
                });
            }
        }
    }

    pub fn into_vec(self) -> Vec<Service> {
        self.list
    }
}

/// A CVSS score and vector read from separate elements: the score's text and node, the vector's
/// text and node.
#[derive(Default)]
pub(crate) struct CvssParts<'a, 'i> {
    pub score: Option<(&'a str, Node<'a, 'i>)>,
    pub vector: Option<(&'a str, Node<'a, 'i>)>,
}

impl<'a, 'i> CvssParts<'a, 'i> {
    /// The score and vector, or a diagnostic: a score that is not a number from 0 to 10 (P004),
    /// a vector without a score (P006, information: nothing to rate with).
    pub fn build(self, w: &mut Walker, version: &str, strip: &str) -> Option<Cvss> {
        let vector =
            self.vector.map(|(v, _)| v.strip_prefix(strip).unwrap_or(v).trim().to_string()).filter(|v| !v.is_empty());
        match (self.score, self.vector) {
            (Some((s, node)), _) => match score(s) {
                Some(v) => Some(Cvss { score: v, vector }),
                None => {
                    w.bad(node, format!("CVSS {version} base score \"{s}\" is not a number from 0 to 10: not kept"));
                    None
                }
            },
            (None, Some((_, node))) => {
                w.diag(
                    codes::STRUCTURE,
                    DiagSeverity::Info,
                    node,
                    format!("CVSS {version} vector without a base score: not kept"),
                );
                None
            }
            (None, None) => None,
        }
    }
}

/// The address of a host as a scanner writes it, if it is one.
pub(crate) fn ip(s: &str) -> Option<IpAddr> {
    s.trim().parse().ok()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn scores_and_bands() {
        assert_eq!(score(" 9.8 "), Some(9.8));
        for bad in ["", "x", "-1", "10.1", "NaN", "inf"] {
            assert_eq!(score(bad), None, "{bad}");
        }
        let bands: Vec<Severity> = [0.0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0].into_iter().map(band).collect();
        use Severity::*;
        assert_eq!(bands, [Info, Low, Low, Medium, Medium, High, High, Critical, Critical]);
    }

    #[test]
    fn cve_ids() {
        assert!(is_cve("CVE-2021-44228"));
        assert!(is_cve("cve-1999-0618"));
        for bad in ["CVE-21-1234", "CVE-2021-12", "CVE-2021-1234-1", "NOCVE", "", "BID-1"] {
            assert!(!is_cve(bad), "{bad}");
        }
    }

    #[test]
    fn first_paragraphs() {
        assert_eq!(first_paragraph("\n  Upgrade to 2.4.\n  Or later.\n\n  Details follow.").as_deref(), Some("Upgrade to 2.4. Or later."));
        assert_eq!(first_paragraph("n/a"), None);
        assert_eq!(first_paragraph("  \n "), None);
    }
}
