//! A manifest document as a generic tree whose every node knows its line.
//!
//! YAML is read with `serde-saphyr`, which reports the location of every node and every mapping
//! key through its `Spanned` wrapper (for an alias, the line of the alias, where the value is
//! used). JSON is checked and decoded with `serde_json`, which has no per-node locations: after
//! `serde_json` has accepted the text, a small scanner walks the same text to find where each
//! value starts and hands every string and number back to `serde_json` to decode. The scanner
//! never judges syntax; `serde_json` already did.
//!
//! Either way the result is a [`Node`] tree that the validator turns into a
//! [`super::Manifest`] section by section.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Largest manifest read, in bytes. A manifest lists names, addresses and policy entries; a
/// larger file is a mistake or an attack.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Most YAML nodes in one manifest (after alias expansion). Each host entry takes about six.
pub const MAX_NODES: usize = 250_000;

/// Most events replayed from aliases in one manifest: a legitimate manifest reuses a few lists;
/// an alias bomb multiplies them.
pub const MAX_REPLAYED_EVENTS: usize = 100_000;

/// Deepest nesting accepted (YAML and JSON). The manifest's own structure is eight deep
/// (`policy.vendor_scopes[].allow[].services[]` and its items); the limit also bounds the stack
/// the YAML reader uses (about 32 KiB per level in unoptimised builds).
pub const MAX_DEPTH: usize = 16;

/// One value of the document, with the one-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// One-based line where the value starts (for a YAML alias: where it is used).
    pub line: u32,
    /// The value.
    pub kind: Kind,
}

/// What a [`Node`] holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping in document order; repeated keys are kept (the validator reports them).
    Map(Vec<(Key, Node)>),
}

/// A mapping key and its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// One-based line of the key.
    pub line: u32,
    /// The key's text.
    pub name: String,
}

impl Kind {
    /// What kind of value this is, for messages ("a list", "a number").
    pub fn describe(&self) -> String {
        match self {
            Kind::Null => "nothing".into(),
            Kind::Bool(b) => format!("the boolean {b}"),
            Kind::Number(n) => format!("the number {n}"),
            Kind::Str(s) => format!("{s:?}"),
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
        }
    }
}

/// Why a document could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// One-based line (0 when unknown).
    pub line: u32,
    /// What went wrong, in one sentence.
    pub reason: String,
}

/// Read a YAML document into a tree.
pub fn from_yaml(text: &str) -> Result<Node, ReadError> {
    if text.len() > MAX_BYTES {
        return Err(too_large(text.len()));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_depth: MAX_DEPTH,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
        },
        // `yes`, `no`, `on`, `off` stay text: only `true` and `false` are booleans.
        strict_booleans: true,
        // Repeated keys reach the validator, which reports each with its line.
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
    };
    match serde_saphyr::from_str_with_options::<Spanned<YamlKind>>(text, options) {
        Ok(root) => Ok(lower_yaml(root, text)),
        Err(e) => Err(yaml_error(&e)),
    }
}

fn too_large(len: usize) -> ReadError {
    ReadError {
        line: 0,
        reason: format!("the manifest is {len} bytes; manifests larger than {MAX_BYTES} bytes are not read"),
    }
}

fn yaml_error(e: &serde_saphyr::Error) -> ReadError {
    let inner = e.without_snippet();
    let line = inner.location().map_or(0, |l| u32::try_from(l.line()).unwrap_or(u32::MAX));
    let mut msg = inner.to_string();
    // The crate's text starts with "error: line N column M: "; the line is reported separately.
    if let Some(rest) = msg.strip_prefix("error: ") {
        msg = rest.to_string();
    }
    if let Some(pos) = msg.find(": ") {
        if msg.starts_with("line ") && msg[..pos].contains(" column ") {
            msg = msg[pos + 2..].to_string();
        }
    }
    let msg = msg.lines().next().unwrap_or("").trim().to_string();
    // Locations inside the message repeat what the line says.
    let short = msg.find(" at line ").and_then(|i| msg.get(..i)).unwrap_or(&msg).trim().to_string();
    let reason = if msg.contains("recursion limit") || msg.contains("Depth {") {
        format!("not read: the YAML nests deeper than {MAX_DEPTH} levels")
    } else if matches!(inner, serde_saphyr::Error::Budget { .. })
        || msg.contains("budget")
        || (msg.contains("alias") && msg.contains("limit"))
    {
        format!(
            "not read: the YAML exceeds the limits for a manifest ({short}); aliases may expand to at \
             most {MAX_REPLAYED_EVENTS} events, and a manifest holds at most {MAX_NODES} values \
             nested at most {MAX_DEPTH} deep"
        )
    } else {
        format!("not valid YAML: {msg}")
    };
    ReadError { line, reason }
}

/// The tree as `serde-saphyr` delivers it: every value and key with its location.
enum YamlKind {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Seq(Vec<Spanned<YamlKind>>),
    Map(Vec<(Spanned<String>, Spanned<YamlKind>)>),
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = YamlKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<YamlKind, E> {
        Ok(YamlKind::Null)
    }
    fn visit_none<E>(self) -> Result<YamlKind, E> {
        Ok(YamlKind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<YamlKind, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<YamlKind, E> {
        Ok(YamlKind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<YamlKind, E> {
        Ok(YamlKind::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<YamlKind, E> {
        Ok(YamlKind::Number(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<YamlKind, E> {
        Ok(YamlKind::Number(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<YamlKind, E> {
        Ok(YamlKind::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<YamlKind, E> {
        Ok(YamlKind::Number(v.to_string()))
    }
    fn visit_char<E>(self, v: char) -> Result<YamlKind, E> {
        Ok(YamlKind::Str(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<YamlKind, E> {
        Ok(YamlKind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<YamlKind, E> {
        Ok(YamlKind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<YamlKind, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(YamlKind::Str(s.to_string())),
            Err(_) => Err(E::custom("binary values are not text")),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<YamlKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element::<Spanned<YamlKind>>()? {
            items.push(item);
        }
        Ok(YamlKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<YamlKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = a.next_key::<Spanned<String>>()? {
            let value = a.next_value::<Spanned<YamlKind>>()?;
            entries.push((key, value));
        }
        Ok(YamlKind::Map(entries))
    }
}

impl<'de> Deserialize<'de> for YamlKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<YamlKind, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

fn to_u32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

fn lower_yaml(node: Spanned<YamlKind>, text: &str) -> Node {
    let line = to_u32(node.referenced.line());
    let kind = match node.value {
        YamlKind::Null => Kind::Null,
        YamlKind::Bool(b) => Kind::Bool(b),
        YamlKind::Number(n) => {
            // Keep the number as written (`1.10`, `0x1F`) when the source text is at hand.
            let span = node.defined.span();
            let written = span
                .byte_offset()
                .zip(span.byte_len())
                .and_then(|(o, n)| {
                    let start = usize::try_from(o).ok()?;
                    let end = start.checked_add(usize::try_from(n).ok()?)?;
                    text.get(start..end)
                })
                .map(str::trim)
                .filter(|w| !w.is_empty() && !w.starts_with('*') && !w.contains('\n'));
            Kind::Number(written.map_or(n, str::to_string))
        }
        YamlKind::Str(s) => Kind::Str(s),
        YamlKind::Seq(items) => Kind::Seq(items.into_iter().map(|i| lower_yaml(i, text)).collect()),
        YamlKind::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key { line: to_u32(k.referenced.line()), name: k.value }, lower_yaml(v, text)))
                .collect(),
        ),
    };
    Node { line, kind }
}

/// Read a JSON document into a tree.
pub fn from_json(text: &str) -> Result<Node, ReadError> {
    if text.len() > MAX_BYTES {
        return Err(too_large(text.len()));
    }
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let offset = text.len() - t.len();
    // serde_json decides validity (and limits nesting to 128 levels).
    if let Err(e) = serde_json::from_str::<de::IgnoredAny>(t) {
        return Err(ReadError { line: u32::try_from(e.line()).unwrap_or(0), reason: format!("not valid JSON: {e}") });
    }
    let mut scanner = JsonScanner { text, pos: offset, line_starts: line_starts(text) };
    scanner.value(0).ok_or_else(|| ReadError {
        line: 0,
        reason: format!("not read: the JSON nests deeper than {MAX_DEPTH} levels"),
    })
}

/// Byte offsets where lines start.
pub(super) fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// One-based line of a byte offset.
pub(super) fn line_of(starts: &[usize], pos: usize) -> u32 {
    let idx = match starts.binary_search(&pos) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    };
    u32::try_from(idx + 1).unwrap_or(u32::MAX)
}

/// Walks JSON that `serde_json` has already accepted, noting where each value starts.
struct JsonScanner<'a> {
    text: &'a str,
    pos: usize,
    line_starts: Vec<usize>,
}

impl JsonScanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        let line = line_of(&self.line_starts, self.pos);
        let kind = match self.peek()? {
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'}' => {
                            self.pos += 1;
                            break;
                        }
                        b',' => self.pos += 1,
                        _ => {
                            let key_line = line_of(&self.line_starts, self.pos);
                            let name = self.string()?;
                            self.skip_ws();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.pos += 1;
                            let value = self.value(depth + 1)?;
                            entries.push((Key { line: key_line, name }, value));
                        }
                    }
                }
                Kind::Map(entries)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => {
                            self.pos += 1;
                            break;
                        }
                        b',' => self.pos += 1,
                        _ => items.push(self.value(depth + 1)?),
                    }
                }
                Kind::Seq(items)
            }
            b'"' => Kind::Str(self.string()?),
            b't' => self.literal("true", Kind::Bool(true))?,
            b'f' => self.literal("false", Kind::Bool(false))?,
            b'n' => self.literal("null", Kind::Null)?,
            _ => {
                let start = self.pos;
                while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                    self.pos += 1;
                }
                if start == self.pos {
                    return None;
                }
                Kind::Number(self.text.get(start..self.pos)?.to_string())
            }
        };
        Some(Node { line, kind })
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Option<Kind> {
        if self.text.get(self.pos..)?.starts_with(word) {
            self.pos += word.len();
            Some(kind)
        } else {
            None
        }
    }

    /// A string starting at the current position, decoded by serde_json.
    fn string(&mut self) -> Option<String> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        if bytes.get(start) != Some(&b'"') {
            return None;
        }
        let mut i = start + 1;
        loop {
            match bytes.get(i)? {
                b'"' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        serde_json::from_str::<String>(self.text.get(start..=i)?).ok()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn lines(n: &Node) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        fn walk(n: &Node, path: String, out: &mut Vec<(String, u32)>) {
            out.push((path.clone(), n.line));
            match &n.kind {
                Kind::Seq(items) => {
                    for (i, it) in items.iter().enumerate() {
                        walk(it, format!("{path}[{i}]"), out);
                    }
                }
                Kind::Map(entries) => {
                    for (k, v) in entries {
                        walk(v, format!("{path}.{}", k.name), out);
                    }
                }
                _ => {}
            }
        }
        walk(n, String::new(), &mut out);
        out
    }

    #[test]
    fn yaml_and_json_give_the_same_tree_and_lines() {
        let yaml = "a: 1\nb:\n  - x\n  - {c: true, d: null}\ne: \"s\"\n";
        let json = "{\"a\": 1,\n\"b\":\n  [ \"x\",\n  {\"c\": true, \"d\": null}],\n\"e\": \"s\"}\n";
        let y = from_yaml(yaml).unwrap();
        let j = from_json(json).unwrap();
        assert_eq!(y.kind, j.kind);
        assert_eq!(lines(&y), lines(&j));
        assert_eq!(lines(&y)[5], (".b[1].c".to_string(), 4));
    }

    #[test]
    fn numbers_keep_their_text_and_yes_stays_text() {
        let n = from_yaml("v: 1.10\nw: yes\n").unwrap();
        let Kind::Map(m) = n.kind else { panic!("not a map") };
        assert_eq!(m[0].1.kind, Kind::Number("1.10".into()));
        assert_eq!(m[1].1.kind, Kind::Str("yes".into()));
    }

    #[test]
    fn json_escapes_are_decoded() {
        let n = from_json("{\"k\\\"ey\": \"a\\u00e9\\\\\"}").unwrap();
        let Kind::Map(m) = n.kind else { panic!("not a map") };
        assert_eq!(m[0].0.name, "k\"ey");
        assert_eq!(m[0].1.kind, Kind::Str("aé\\".into()));
    }

    #[test]
    fn broken_documents_are_errors_with_lines() {
        assert_eq!(from_yaml("a: 1\nb: [1, 2\nc: 3\n").unwrap_err().line, 3);
        assert_eq!(from_json("{\"a\": 1,\n\"b\": }").unwrap_err().line, 2);
        let deep = format!("a: {}{}\n", "[".repeat(40), "]".repeat(40));
        assert!(from_yaml(&deep).unwrap_err().reason.contains("deeper"));
    }

    #[test]
    fn line_index() {
        let s = line_starts("ab\ncd\n\nx");
        assert_eq!(line_of(&s, 0), 1);
        assert_eq!(line_of(&s, 3), 2);
        assert_eq!(line_of(&s, 6), 3);
        assert_eq!(line_of(&s, 7), 4);
    }
}
