//! Interface-to-address assignments in the `ipassmt` format of the verified iptables analysis of
//! Diekmann et al. (their tool `fffuu`, option `--ipassmt`).
//!
//! # Format
//! One entry per interface, an entry may span lines:
//!
//! ```text
//! eth0 = [0.0.0.0-255.255.255.255]
//! foo = []
//! eth1.96 = [131.159.14.3/25]
//! eth1.110 = all_but_those_ips [
//!   131.159.14.0/23,
//!   131.159.20.0/23
//!   ]
//! ```
//!
//! - `NAME = [ITEM, …]`: packets arriving on `NAME` come from the listed addresses. An item is
//!   an address, a CIDR (host bits are allowed and ignored: `131.159.14.3/25` is
//!   `131.159.14.0/25`, as the original tool reads it) or an inclusive range `first-last`.
//! - `NAME = all_but_those_ips [ITEM, …]`: every address except the listed ones, within IPv4
//!   when the list holds only IPv4 items (or is empty), within IPv6 when it holds only IPv6
//!   items, and within both families when it holds both.
//! - `[]` is an interface on which no packet may arrive.
//! - Comments from `#` to the end of the line are skipped (the original tool has none; they
//!   cannot clash with its files).
//!
//! # Detection
//! By content: the file consists of entries of exactly this shape (a name, `=`, an optional
//! `all_but_those_ips` and a bracketed list), and at least one list item is an address or every
//! list is empty. A TOML file (`key = ["text"]`) or an INI section header does not match.
//!
//! # Diagnostics
//! An item that is not an address, CIDR or range is P004 and left out (the interface then
//! allows fewer sources than written: the file is *partial*). A name ending in `+` (a wildcard)
//! is P004 and the entry is not used: an assignment names real interfaces. A second entry for
//! the same interface is P006 and not used. A list without its closing `]` is P006.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{Content, Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{AddrRange, IfaceAssignment};
use crate::space::{self, Ranges};

/// The keyword that turns a list into its complement.
const ALL_BUT: &str = "all_but_those_ips";

/// One entry as written.
#[derive(Debug)]
struct Entry {
    name: String,
    negated: bool,
    /// Items with the line each is on.
    items: Vec<(String, u32)>,
    /// Line of the name.
    line: u32,
    /// The entry's text on one line.
    text: String,
    /// The list was closed with `]`.
    closed: bool,
}

/// A cursor over the text that knows its line.
struct Cursor<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        let t = text.trim_start_matches('\u{feff}');
        Cursor { s: t.as_bytes(), text: t, pos: 0, line: 1 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    /// Skip blanks, newlines and `#` comments.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.bump(),
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => break,
            }
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Text from `from` to the cursor.
    fn slice(&self, from: usize) -> &'a str {
        self.text.get(from..self.pos).unwrap_or("")
    }

    /// Skip to the start of the next line.
    fn next_line(&mut self) {
        while let Some(c) = self.peek() {
            self.bump();
            if c == b'\n' {
                break;
            }
        }
    }
}

/// Why an entry is not of the expected shape.
#[derive(Debug)]
struct ShapeError {
    line: u32,
    reason: String,
}

fn is_name_byte(c: u8) -> bool {
    !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'=' | b'[' | b']' | b',' | b'#')
}

/// Read one entry at the cursor (after blanks). On a shape error the cursor is somewhere inside
/// the entry.
fn entry(c: &mut Cursor) -> Result<Entry, ShapeError> {
    let line = c.line;
    let start = c.pos;
    while c.peek().is_some_and(is_name_byte) {
        c.bump();
    }
    let name = c.slice(start).to_string();
    if name.is_empty() {
        return Err(ShapeError { line, reason: "expected an interface name followed by `= [`".into() });
    }
    c.skip_ws();
    if c.peek() != Some(b'=') {
        return Err(ShapeError { line: c.line, reason: format!("expected `=` after the interface name {name:?}") });
    }
    c.bump();
    c.skip_ws();
    let mut negated = false;
    if c.s.get(c.pos..).is_some_and(|r| r.starts_with(ALL_BUT.as_bytes())) {
        negated = true;
        for _ in 0..ALL_BUT.len() {
            c.bump();
        }
        c.skip_ws();
    }
    if c.peek() != Some(b'[') {
        return Err(ShapeError {
            line: c.line,
            reason: format!("expected `[` (or `{ALL_BUT} [`) after `{name} =`"),
        });
    }
    c.bump();
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut cur_line = c.line;
    let mut closed = false;
    while let Some(ch) = c.peek() {
        match ch {
            b']' => {
                c.bump();
                closed = true;
                break;
            }
            b',' => {
                items.push((std::mem::take(&mut cur), cur_line));
                c.bump();
            }
            b'#' => {
                // A comment inside the list runs to the end of the line.
                while c.peek().is_some_and(|x| x != b'\n') {
                    c.bump();
                }
            }
            b'[' | b'=' => {
                return Err(ShapeError { line: c.line, reason: format!("unexpected `{}` inside the list of {name:?}", ch as char) })
            }
            b' ' | b'\t' | b'\r' | b'\n' => c.bump(),
            _ => {
                if cur.is_empty() {
                    cur_line = c.line;
                }
                let from = c.pos;
                while c.peek().is_some_and(|x| !matches!(x, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'[' | b'#' | b'=')) {
                    c.bump();
                }
                cur.push_str(c.slice(from));
            }
        }
    }
    if !cur.is_empty() {
        items.push((cur, cur_line));
    }
    // `[a, b,]` leaves an empty last item; `[]` none.
    items.retain(|(t, _)| !t.is_empty());
    let raw = c.slice(start);
    // the entry's words joined by single spaces, written straight into one string
    let mut text = String::with_capacity(raw.len());
    for w in raw.split_whitespace() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(w);
    }
    Ok(Entry { name, negated, items, line, text, closed })
}

/// An address, CIDR (host bits ignored) or range `a-b`, as an inclusive range.
fn item_range(t: &str) -> Option<AddrRange> {
    if let Ok(n) = t.parse::<IpNet>() {
        return Some(AddrRange::from_net(n));
    }
    if let Ok(a) = t.parse::<IpAddr>() {
        return Some(AddrRange::single(a));
    }
    let (a, b) = t.split_once('-')?;
    let (a, b) = (a.trim().parse::<IpAddr>().ok()?, b.trim().parse::<IpAddr>().ok()?);
    (a.is_ipv4() == b.is_ipv4() && a <= b).then_some(AddrRange { lo: a, hi: b })
}

/// Every entry, or the first shape error.
fn entries(text: &str) -> Result<Vec<Entry>, ShapeError> {
    let mut c = Cursor::new(text);
    let mut out = Vec::new();
    loop {
        c.skip_ws();
        if c.at_end() {
            return Ok(out);
        }
        out.push(entry(&mut c)?);
    }
}

/// True if the text is an interface-to-address assignment (see the module documentation).
pub fn looks_like(text: &str) -> bool {
    let Ok(es) = entries(text) else { return false };
    if es.is_empty() || es.iter().any(|e| !e.closed) {
        return false;
    }
    let items = es.iter().flat_map(|e| &e.items);
    let total = items.clone().count();
    total == 0 || items.filter(|(t, _)| item_range(t).is_some()).count() > 0
}

/// Read an assignment file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::IpAssmt, text);
    let mut d = Diags::default();
    let mut c = Cursor::new(text);
    let mut used_lines: Vec<u32> = Vec::new();
    let mut out: Vec<IfaceAssignment> = Vec::new();
    loop {
        c.skip_ws();
        if c.at_end() {
            break;
        }
        let start_line = c.line;
        let e = match entry(&mut c) {
            Ok(e) => e,
            Err(err) => {
                let t = line_text(text, err.line);
                d.push(codes::UNRECOGNIZED, Severity::Error, err.line, t, err.reason);
                // Go on at the next line.
                if c.line == err.line {
                    c.next_line();
                }
                used_lines.extend(start_line..=err.line);
                continue;
            }
        };
        used_lines.extend(e.line..=c.line);
        if !e.closed {
            d.push(codes::STRUCTURE, Severity::Error, e.line, &e.text, format!("the list of {:?} has no closing `]`", e.name));
        }
        if e.name.ends_with('+') {
            d.push(
                codes::BAD_VALUE,
                Severity::Warning,
                e.line,
                &e.text,
                format!("{:?} is a wildcard: an assignment names real interfaces; the entry is not used", e.name),
            );
            continue;
        }
        if out.iter().any(|a| a.iface == e.name) {
            d.push(
                codes::STRUCTURE,
                Severity::Warning,
                e.line,
                &e.text,
                format!("a second entry for {:?}: the first one is used", e.name),
            );
            continue;
        }
        let mut ranges: Vec<(u128, u128)> = Vec::new();
        let (mut v4, mut v6) = (false, false);
        for (t, l) in &e.items {
            match item_range(t) {
                Some(r) => {
                    if r.lo.is_ipv4() {
                        v4 = true;
                    } else {
                        v6 = true;
                    }
                    ranges.push((space::addr_to_u128(r.lo), space::addr_to_u128(r.hi)));
                }
                None => d.push(
                    codes::BAD_VALUE,
                    Severity::Warning,
                    *l,
                    t,
                    format!("{t:?} is not an address, CIDR or range `first-last`; it is left out of {:?}", e.name),
                ),
            }
        }
        let mut set = Ranges::from_ranges(ranges);
        if e.negated {
            let within = match (v4, v6) {
                (_, false) => space::family_range(false),
                (false, true) => space::family_range(true),
                (true, true) => space::family_range(false).union(&space::family_range(true)),
            };
            set = within.difference(&set);
        }
        let addresses = set
            .as_slice()
            .iter()
            .map(|&(lo, hi)| AddrRange { lo: space::u128_to_addr(lo), hi: space::u128_to_addr(hi) })
            .collect();
        out.push(IfaceAssignment {
            iface: e.name.clone(),
            addresses,
            prov: Provenance { source, file: file.to_string(), line: e.line, text: e.text.clone() },
        });
    }
    used_lines.sort_unstable();
    used_lines.dedup();
    p.lines_skipped = text.lines().enumerate().filter(|(i, _)| used_lines.binary_search(&(*i as u32 + 1)).is_err()).count() as u32;
    d.list.sort_by_key(|x| x.line);
    p.diags = d.list;
    p.content = Content { assignments: out, ..Default::default() };
    p
}

fn line_text(text: &str, line: u32) -> &str {
    text.lines().nth((line as usize).wrapping_sub(1)).unwrap_or("").trim()
}

#[cfg(test)]
mod test {
    use super::*;

    fn ranges(a: &IfaceAssignment) -> Vec<String> {
        a.addresses.iter().map(|r| format!("{}-{}", r.lo, r.hi)).collect()
    }

    #[test]
    fn reads_the_forms_of_the_original_tool() {
        let text = "eth0 = [0.0.0.0-255.255.255.255]\nfoo = []\neth1.96 = [131.159.14.3/25]\n\
                    eth1.110 = all_but_those_ips [\n  131.159.14.0/23,\n  10.0.0.0/8\n  ]\nlo = [127.0.0.1]\n";
        assert!(looks_like(text));
        let p = parse(0, "ipassmt", text);
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        let a = &p.content.assignments;
        assert_eq!(a.len(), 5);
        assert_eq!(ranges(&a[0]), ["0.0.0.0-255.255.255.255"]);
        assert!(a[1].addresses.is_empty());
        assert_eq!(ranges(&a[2]), ["131.159.14.0-131.159.14.127"]);
        assert_eq!(
            ranges(&a[3]),
            ["0.0.0.0-9.255.255.255", "11.0.0.0-131.159.13.255", "131.159.16.0-255.255.255.255"]
        );
        assert_eq!(a[3].prov.line, 4);
        assert_eq!(a[3].prov.text, "eth1.110 = all_but_those_ips [ 131.159.14.0/23, 10.0.0.0/8 ]");
        assert_eq!(ranges(&a[4]), ["127.0.0.1-127.0.0.1"]);
        assert_eq!(p.lines_skipped, 0);
    }

    #[test]
    fn ipv6_complement_stays_in_its_family() {
        let p = parse(0, "a", "wan = all_but_those_ips [2001:db8::/32]\n# comment\n\nlan = [2001:db8::/32] # inline\n");
        let a = &p.content.assignments;
        assert_eq!(a.len(), 2);
        assert!(a[0].addresses.iter().all(|r| r.lo.is_ipv6() && r.hi.is_ipv6()));
        assert!(!a[0].addresses.iter().any(|r| r.lo <= "2001:db8::1".parse::<IpAddr>().unwrap() && "2001:db8::1".parse::<IpAddr>().unwrap() <= r.hi));
        assert_eq!(p.lines_skipped, 2);
    }

    #[test]
    fn bad_items_and_entries_are_reported_not_fatal() {
        let text = "eth0 = [10.0.0.0/8, nonsense, 10.1.0.0-10.0.0.0]\neth+ = [1.2.3.4]\neth0 = [1.1.1.1]\nbroken line\neth2 = [192.0.2.0/24]\n";
        let p = parse(0, "a", text);
        let codes: Vec<(&str, u32)> = p.diags.iter().map(|d| (d.code, d.line)).collect();
        assert_eq!(codes, [("P004", 1), ("P004", 1), ("P004", 2), ("P006", 3), ("P001", 4)]);
        let names: Vec<&str> = p.content.assignments.iter().map(|a| a.iface.as_str()).collect();
        assert_eq!(names, ["eth0", "eth2"]);
        assert_eq!(ranges(&p.content.assignments[0]), ["10.0.0.0-10.255.255.255"]);
    }

    #[test]
    fn unclosed_list_is_an_error() {
        let p = parse(0, "a", "eth0 = [10.0.0.0/8,\n 10.1.0.0/16\n");
        assert_eq!(p.diags.len(), 1);
        assert_eq!(p.diags[0].code, "P006");
        assert_eq!(p.content.assignments.len(), 1);
    }

    #[test]
    fn other_formats_are_not_assignments() {
        for t in [
            "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
            "[section]\nkey = [\"a\", \"b\"]\n",
            "deps = [\"serde\"]\n",
            "table inet filter {\n}\n",
            "1: lo: <LOOPBACK,UP> mtu 65536\n",
            "",
            "hostname r1\ninterface Gi0/0\n",
        ] {
            assert!(!looks_like(t), "{t:?}");
        }
        assert!(looks_like("foo = []\n"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for t in ["=", "a =", "a = all_but_those_ips", "a = [", "a = [,,,]", "a = []]", "\u{feff}a = [1.2.3.4]", "a = [1.2.3.4-]", "ä = [::1]"] {
            let _ = looks_like(t);
            let _ = parse(0, "x", t);
        }
    }
}
