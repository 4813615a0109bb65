//! What the XML readers (nmap, Nessus, OpenVAS/Greenbone) share: reading the prologue without
//! parsing, refusing DTD internal subsets, one-based lines of element positions, start-tag texts
//! for diagnostics, closing a file cut short so that its complete part can be read, and counting
//! the lines that hold nothing but skipped content.

use std::ops::Range;

use roxmltree::{Node, ParsingOptions};

/// Longest start-tag text kept in a diagnostic or provenance (script output and plugin output
/// can be megabytes).
pub(crate) const MAX_TAG_TEXT: usize = 160;

/// What the prologue of an XML file says: the root element's name and whether a DOCTYPE
/// declares an internal subset (`<!DOCTYPE x [ … ]>`), with the byte offset of that DOCTYPE.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Prologue<'a> {
    pub root: &'a str,
    pub internal_subset: Option<usize>,
}

/// Read the XML prologue (declaration, comments, processing instructions, DOCTYPE) and the
/// root element's name. `None` when the text does not start like XML.
pub(crate) fn prologue(text: &str) -> Option<Prologue<'_>> {
    let start = text.len() - text.trim_start_matches('\u{feff}').len();
    let mut pos = start;
    let mut internal_subset = None;
    loop {
        let rest = text.get(pos..)?;
        let trimmed = rest.trim_start();
        pos += rest.len() - trimmed.len();
        let rest = trimmed;
        if rest.starts_with("<?") {
            pos += rest.find("?>")? + 2;
        } else if rest.starts_with("<!--") {
            pos += 4 + rest.get(4..)?.find("-->")? + 3;
        } else if rest.starts_with("<!DOCTYPE") {
            let open = rest.find('[');
            let close = rest.find('>')?;
            match open {
                Some(o) if o < close => {
                    internal_subset = Some(pos);
                    let end = rest.get(o..)?.find(']')? + o;
                    let after = rest.get(end + 1..)?;
                    let gt = after.find('>')?;
                    if !after.get(..gt)?.trim().is_empty() {
                        return None;
                    }
                    pos += end + 1 + gt + 1;
                }
                _ => pos += close + 1,
            }
        } else if let Some(tag) = rest.strip_prefix('<') {
            let end = tag.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(tag.len());
            let root = tag.get(..end)?;
            if root.is_empty() {
                return None;
            }
            return Some(Prologue { root, internal_subset });
        } else {
            return None;
        }
    }
}

/// The reason given when a file declaring DTD entities is refused.
pub(crate) fn internal_subset_reason(writer: &str) -> String {
    format!(
        "the file declares its own DTD entities, which {writer} never writes: refused, as entity \
         expansion can exhaust memory (the \"billion laughs\" attack)"
    )
}

/// One-based line numbers from byte offsets (roxmltree's own `text_pos_at` rescans the text
/// from its start on every call).
pub(crate) struct LineIndex {
    /// Byte offset of every `\n`.
    newlines: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        LineIndex { newlines: memchr_all(text.as_bytes(), b'\n'), len: text.len() }
    }

    /// The line holding byte `pos`.
    pub(crate) fn line(&self, pos: usize) -> u32 {
        (self.newlines.partition_point(|&nl| nl < pos) + 1) as u32
    }

    /// The byte offset where a one-based line starts.
    pub(crate) fn start_of(&self, line: u32) -> usize {
        match line {
            0 | 1 => 0,
            l => self.newlines.get(l as usize - 2).map_or(self.len, |&nl| nl + 1),
        }
    }

    /// The byte offset of a roxmltree position (one-based row and column in characters).
    pub(crate) fn offset_of(&self, text: &str, pos: roxmltree::TextPos) -> usize {
        let start = self.start_of(pos.row);
        let line = text.get(start..).unwrap_or("");
        let col = pos.col.saturating_sub(1) as usize;
        start + line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
    }
}

fn memchr_all(bytes: &[u8], needle: u8) -> Vec<usize> {
    bytes.iter().enumerate().filter(|&(_, &b)| b == needle).map(|(i, _)| i).collect()
}

/// Parsing options: a DOCTYPE without internal subset is allowed (nmap writes one); internal
/// subsets are refused before parsing, and roxmltree never fetches external entities.
pub(crate) fn options<'a>() -> ParsingOptions<'a> {
    ParsingOptions { allow_dtd: true, ..ParsingOptions::default() }
}

/// The start tag of an element as written, shortened for diagnostics and provenance.
pub(crate) fn tag_text(text: &str, node: Node) -> String {
    let r = node.range();
    let Some(s) = text.get(r.start..r.end) else { return format!("<{}>", node.tag_name().name()) };
    let end = s.find('>').map_or(s.len(), |i| i + 1);
    let tag = s.get(..end).unwrap_or(s);
    shorten(&tag.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A text cut to [`MAX_TAG_TEXT`] characters, with an ellipsis when cut.
pub(crate) fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_TAG_TEXT {
        s.to_string()
    } else {
        let short: String = s.chars().take(MAX_TAG_TEXT).collect();
        format!("{short}…")
    }
}

/// A non-empty attribute value, trimmed.
pub(crate) fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name).map(str::trim).filter(|s| !s.is_empty())
}

/// The element children of a node.
pub(crate) fn elements<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(|c| c.is_element())
}

/// The trimmed, non-empty text directly inside an element (before its first child element).
pub(crate) fn text_of<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.text().map(str::trim).filter(|s| !s.is_empty())
}

/// Lines whose content lies entirely inside skipped ranges, or that are blank.
pub(crate) fn count_skipped(text: &str, mut ranges: Vec<Range<usize>>) -> u32 {
    ranges.sort_by_key(|r| r.start);
    // Merge overlaps so that a binary search finds the one range that may hold a line.
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut skipped = 0;
    let mut start = 0;
    for line in text.split('\n') {
        // `str::lines` (which counts the total) has no line after a final newline.
        if line.is_empty() && start == text.len() {
            break;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            skipped += 1;
        } else {
            let a = start + (line.len() - line.trim_start().len());
            let b = a + trimmed.len();
            let i = merged.partition_point(|r| r.start <= a);
            if i > 0 && merged.get(i - 1).is_some_and(|r| r.end >= b) {
                skipped += 1;
            }
        }
        start += line.len() + 1;
    }
    skipped
}

/// The names of the elements still open at the end of `prefix`, outermost first. `None` when the
/// prefix ends inside markup (a tag, comment, CDATA section, processing instruction), or closes
/// an element that is not the innermost open one. One linear pass; attribute values are read
/// with their quotes, so a `>` inside one does not end the tag.
pub(crate) fn open_elements(prefix: &str) -> Option<Vec<&str>> {
    let b = prefix.as_bytes();
    let mut stack: Vec<&str> = Vec::new();
    let mut i = 0;
    while let Some(off) = b.get(i..)?.iter().position(|&c| c == b'<') {
        let j = i + off;
        let rest = prefix.get(j..)?;
        i = if rest.starts_with("<!--") {
            j + 4 + rest.get(4..)?.find("-->")? + 3
        } else if rest.starts_with("<![CDATA[") {
            j + 9 + rest.get(9..)?.find("]]>")? + 3
        } else if rest.starts_with("<?") {
            j + 2 + rest.get(2..)?.find("?>")? + 2
        } else if rest.starts_with("<!") {
            // DOCTYPE, possibly with an internal subset in brackets.
            let gt = rest.find('>')?;
            match rest.find('[') {
                Some(o) if o < gt => {
                    let close = o + rest.get(o..)?.find(']')?;
                    j + close + rest.get(close..)?.find('>')? + 1
                }
                _ => j + gt + 1,
            }
        } else if let Some(tail) = rest.strip_prefix("</") {
            let gt = tail.find('>')?;
            let name = tail.get(..gt)?.trim();
            if stack.last() != Some(&name) {
                return None;
            }
            stack.pop();
            j + 2 + gt + 1
        } else {
            let tail = rest.get(1..)?;
            let name_end = tail.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            let name = tail.get(..name_end)?;
            if name.is_empty() {
                return None;
            }
            // Find the end of the tag outside quoted attribute values.
            let mut quote = None;
            let mut end = None;
            for (k, &c) in tail.as_bytes().iter().enumerate().skip(name_end) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(c),
                    (None, b'>') => {
                        end = Some(k);
                        break;
                    }
                    (None, _) => {}
                }
            }
            let end = end?;
            let self_closing = tail.get(..end)?.trim_end().ends_with('/');
            if !self_closing {
                stack.push(name);
            }
            j + 1 + end + 1
        };
    }
    Some(stack)
}

/// The text up to byte `cut`, with closing tags for the elements still open there, when the
/// cut lies between markup and no element named `record` is open there (a record is read whole
/// or not at all).
pub(crate) fn close_at(text: &str, cut: usize, record: &str) -> Option<String> {
    let prefix = text.get(..cut)?;
    let open = open_elements(prefix)?;
    if open.is_empty() || open.contains(&record) {
        return None;
    }
    let mut s = String::with_capacity(cut + open.iter().map(|n| n.len() + 4).sum::<usize>() + 1);
    s.push_str(prefix);
    s.push('\n');
    for name in open.iter().rev() {
        s.push_str("</");
        s.push_str(name);
        s.push('>');
    }
    s.push('\n');
    Some(s)
}

/// How many cut points before the break are tried when the XML is not well-formed.
const MAX_CUT_ATTEMPTS: usize = 4;

/// The largest well-formed part of a broken XML file, closed: the text up to the end of a
/// complete `record` element (the last ones before `limit` first), else up to the end of the
/// root's start tag. Returns the repaired text and the byte offset where the original was cut.
pub(crate) fn repair(text: &str, limit: usize, record: &str) -> Option<(String, usize)> {
    let head = text.get(..limit.min(text.len()))?;
    let end_tag = format!("</{record}>");
    let mut cuts = Vec::new();
    let mut search = head;
    while cuts.len() < MAX_CUT_ATTEMPTS {
        let Some(i) = search.rfind(&end_tag) else { break };
        cuts.push(i + end_tag.len());
        search = search.get(..i)?;
    }
    // The end of the root element's start tag: the report's own facts may still be read.
    if let Some(root) = prologue(text).map(|p| p.root) {
        let open = format!("<{root}");
        if let Some(at) = head.find(&open) {
            if let Some(gt) = head.get(at..).and_then(|r| r.find('>')) {
                cuts.push(at + gt + 1);
            }
        }
    }
    for cut in cuts {
        let Some(candidate) = close_at(text, cut, record) else { continue };
        if roxmltree::Document::parse_with_options(&candidate, options()).is_ok() {
            return Some((candidate, cut));
        }
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn line_index() {
        let idx = LineIndex::new("ab\ncd\n\nef");
        assert_eq!([idx.line(0), idx.line(2), idx.line(3), idx.line(6), idx.line(7)], [1, 1, 2, 3, 4]);
        assert_eq!([idx.start_of(1), idx.start_of(2), idx.start_of(4), idx.start_of(9)], [0, 3, 7, 9]);
    }

    #[test]
    fn prologue_reads_the_root_and_internal_subsets() {
        let p = prologue("\u{feff}<?xml version=\"1.0\"?>\n<!-- c -->\n<!DOCTYPE a>\n<a x=\"1\">").unwrap();
        assert_eq!(p, Prologue { root: "a", internal_subset: None });
        let p = prologue("<!DOCTYPE a [ <!ENTITY e \"x\"> ]>\n<a/>").unwrap();
        assert_eq!(p, Prologue { root: "a", internal_subset: Some(0) });
        for junk in ["", "x", "<", "<!--", "<?", "<!DOCTYPE a [", "<!DOCTYPE a [ ] x>"] {
            assert_eq!(prologue(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn open_elements_follow_the_markup() {
        let t = "<?xml version=\"1.0\"?><!DOCTYPE r [ <!ENTITY a \"b\"> ]><r><!-- <x> --><a k=\"1>2\" j='</r>'>\
                 <![CDATA[<y>]]><b/><c></c>";
        assert_eq!(open_elements(t), Some(vec!["r", "a"]));
        assert_eq!(open_elements("<r><a></b>"), None, "mismatched end tag");
        assert_eq!(open_elements("<r><a k=\"1"), None, "cut inside a tag");
        assert_eq!(open_elements("<r><!-- x"), None, "cut inside a comment");
        assert_eq!(open_elements("plain"), Some(vec![]));
    }

    #[test]
    fn close_and_repair() {
        let t = "<r>\n<h><i>1</i><i>2</i><i>3";
        assert_eq!(close_at(t, t.find("<i>3").unwrap(), "i").as_deref(), Some("<r>\n<h><i>1</i><i>2</i>\n</h></r>\n"));
        assert_eq!(close_at(t, t.len(), "i"), None, "inside a record");
        let (fixed, cut) = repair(t, t.len(), "i").unwrap();
        assert_eq!(cut, t.find("<i>3").unwrap());
        assert!(fixed.ends_with("</h></r>\n"));
        // Nothing complete: the root's start tag still is.
        let (fixed, cut) = repair("<r a=\"1\">\n<i>1", 14, "i").unwrap();
        assert_eq!((fixed.as_str(), cut), ("<r a=\"1\">\n</r>\n", 9));
        assert_eq!(repair("<r a=\"1", 7, "i"), None);
    }

    #[test]
    fn skipped_lines() {
        let t = "a\n\n  <b/>\nc <b/>\n";
        let b1 = t.find("<b/>").unwrap();
        assert_eq!(count_skipped(t, std::iter::once(b1..b1 + 4).collect()), 2, "the blank line and the line of only <b/>");
    }
}
