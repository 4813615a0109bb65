//! `nft list ruleset` text (and `nft -f` scripts of the same shape) into the shared form.
//!
//! The text is split into tokens (words, quoted strings, braces, `;`, `,`, parentheses and line
//! ends); `define NAME = …` variables are substituted as the tokens are read. A recursive reader
//! then walks tables, chains, sets and rules. A rule ends at a line end, `;` or the chain's
//! closing brace, except inside the braces of a set, which may span lines.

use std::borrow::Cow;
use std::collections::HashMap;

use super::ir::*;
use crate::diag::{codes, Diags, Severity};

/// Tokens a file may grow to through `define` substitution, per byte of input (plus a floor):
/// nested definitions could otherwise expand exponentially.
const EXPANSION_FACTOR: usize = 8;
const EXPANSION_FLOOR: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tk {
    Word,
    Str,
    LBrace,
    RBrace,
    Semi,
    Comma,
    LParen,
    RParen,
    Nl,
}

#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    kind: Tk,
    s: &'a str,
    line: u32,
    start: usize,
    end: usize,
}

/// Bytes that end a word: blanks, line ends, punctuation, quotes and comments (a table, so that
/// the scan over a word's bytes does not branch on each of them).
const ENDS_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let ends = b" \t\r\n{};,()\"#";
    let mut k = 0;
    while k < ends.len() {
        t[ends[k] as usize] = true;
        k += 1;
    }
    t
};

/// Split the text into tokens. Returns the tokens and the lines of unterminated strings.
fn lex(text: &str) -> (Vec<Tok<'_>>, Vec<u32>) {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 4);
    let mut bad = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                out.push(Tok { kind: Tk::Nl, s: "", line, start: i, end: i });
                line += 1;
                i += 1;
            }
            b'\\' => {
                // line continuation: `\` then blanks and a line end
                let mut j = i + 1;
                while matches!(b.get(j), Some(b' ' | b'\t' | b'\r')) {
                    j += 1;
                }
                if b.get(j) == Some(&b'\n') {
                    line += 1;
                    i = j + 1;
                } else {
                    let s = text.get(i..i + 1).unwrap_or("");
                    out.push(Tok { kind: Tk::Word, s, line, start: i, end: i + 1 });
                    i += 1;
                }
            }
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while b.get(j).is_some_and(|&c| c != b'"' && c != b'\n') {
                    j += 1;
                }
                let s = text.get(start..j).unwrap_or("");
                if b.get(j) == Some(&b'"') {
                    out.push(Tok { kind: Tk::Str, s, line, start: i, end: j + 1 });
                    i = j + 1;
                } else {
                    bad.push(line);
                    out.push(Tok { kind: Tk::Str, s, line, start: i, end: j });
                    i = j;
                }
            }
            b'{' | b'}' | b';' | b',' | b'(' | b')' => {
                let kind = match c {
                    b'{' => Tk::LBrace,
                    b'}' => Tk::RBrace,
                    b';' => Tk::Semi,
                    b',' => Tk::Comma,
                    b'(' => Tk::LParen,
                    _ => Tk::RParen,
                };
                out.push(Tok { kind, s: text.get(i..i + 1).unwrap_or(""), line, start: i, end: i + 1 });
                i += 1;
            }
            _ => {
                let start = i;
                while b.get(i).is_some_and(|&c| !ENDS_WORD[usize::from(c)]) {
                    i += 1;
                }
                if i == start {
                    // a byte no branch takes (cannot happen, but never loop forever)
                    i += 1;
                    continue;
                }
                // keep UTF-8 boundaries: words only split at ASCII bytes, so this slice is valid
                let s = text.get(start..i).unwrap_or("");
                out.push(Tok { kind: Tk::Word, s, line, start, end: i });
            }
        }
    }
    (out, bad)
}

/// Substitute `define` variables. The definitions themselves are removed from the stream (their
/// line ends are kept so that statements stay separated).
fn expand<'a>(toks: Vec<Tok<'a>>, limit: usize, diags: &mut Diags) -> Vec<Tok<'a>> {
    let mut defs: HashMap<&'a str, Vec<Tok<'a>>> = HashMap::new();
    let mut out: Vec<Tok<'a>> = Vec::with_capacity(toks.len());
    let mut i = 0;
    let mut at_start = true;
    let mut overflow = false;
    while let Some(&t) = toks.get(i) {
        if at_start && t.kind == Tk::Word && t.s == "define" {
            // define NAME = VALUE
            let name_tok = toks.get(i + 1).copied();
            let (name, mut j) = match name_tok {
                Some(n) if n.kind == Tk::Word => match n.s.split_once('=') {
                    Some((a, _)) => (a, i + 2),
                    None => (n.s, i + 2),
                },
                _ => ("", i + 1),
            };
            if toks.get(j).is_some_and(|t| t.kind == Tk::Word && t.s == "=") {
                j += 1;
            }
            let mut body = Vec::new();
            let mut depth = 0usize;
            while let Some(&v) = toks.get(j) {
                match v.kind {
                    Tk::Nl | Tk::Semi if depth == 0 => break,
                    Tk::LBrace => depth += 1,
                    Tk::RBrace => depth = depth.saturating_sub(1),
                    _ => {}
                }
                if v.kind != Tk::Nl {
                    if v.kind == Tk::Word && v.s.starts_with('$') {
                        match defs.get(v.s.get(1..).unwrap_or("")) {
                            Some(d) => body.extend(d.iter().map(|x| Tok { line: v.line, start: v.start, end: v.end, ..*x })),
                            None => body.push(v),
                        }
                    } else {
                        body.push(v);
                    }
                }
                j += 1;
            }
            if name.is_empty() || body.is_empty() {
                diags.push(codes::UNRECOGNIZED, Severity::Warning, t.line, "define", "define without a name or a value");
            } else if body.len() > limit {
                diags.push(codes::STRUCTURE, Severity::Warning, t.line, "define", "definition too large: ignored");
            } else {
                defs.insert(name, body);
            }
            i = j;
            continue;
        }
        at_start = matches!(t.kind, Tk::Nl | Tk::Semi | Tk::LBrace | Tk::RBrace);
        if t.kind == Tk::Word && t.s.starts_with('$') && t.s.len() > 1 {
            let name = t.s.get(1..).unwrap_or("");
            match defs.get(name) {
                Some(d) if out.len() + d.len() <= limit => {
                    out.extend(d.iter().map(|x| Tok { line: t.line, start: t.start, end: t.end, ..*x }));
                }
                Some(_) => {
                    if !overflow {
                        diags.push(
                            codes::STRUCTURE,
                            Severity::Warning,
                            t.line,
                            t.s,
                            "variable substitution makes the ruleset too large: the variable is left unexpanded",
                        );
                        overflow = true;
                    }
                    out.push(t);
                }
                None => {
                    diags.push(
                        codes::UNDEFINED_REFERENCE,
                        Severity::Warning,
                        t.line,
                        t.s,
                        format!("variable {} is not defined before its use", t.s),
                    );
                    out.push(t);
                }
            }
        } else {
            out.push(t);
        }
        i += 1;
    }
    out
}

/// Words that start a statement (and so end a `set` value of a previous statement).
fn starts_statement(w: &str) -> bool {
    matches!(
        w,
        "accept"
            | "drop"
            | "continue"
            | "return"
            | "jump"
            | "goto"
            | "queue"
            | "reject"
            | "counter"
            | "log"
            | "limit"
            | "comment"
            | "notrack"
            | "masquerade"
            | "redirect"
            | "snat"
            | "dnat"
            | "quota"
            | "meta"
            | "ct"
            | "ip"
            | "ip6"
            | "tcp"
            | "udp"
            | "th"
            | "flow"
            | "add"
            | "update"
            | "xt"
    )
}

/// Header protocols whose fields are matched as `PROTO FIELD`.
fn payload_proto(w: &str) -> bool {
    matches!(
        w,
        "ip" | "ip6"
            | "tcp"
            | "udp"
            | "udplite"
            | "sctp"
            | "dccp"
            | "icmp"
            | "icmpv6"
            | "th"
            | "ether"
            | "vlan"
            | "arp"
            | "ah"
            | "esp"
            | "comp"
            | "igmp"
            | "gre"
            | "geneve"
            | "vxlan"
            | "gretap"
            | "dst"
            | "hbh"
            | "frag"
            | "rt"
            | "rt0"
            | "rt2"
            | "srh"
            | "mh"
            | "ipcomp"
            | "cfi"
            | "8021ad"
            | "8021q"
            | "icmpx"
    )
}

/// Meta keys that may be written without `meta`.
fn bare_meta(w: &str) -> bool {
    matches!(
        w,
        "iif"
            | "oif"
            | "iifname"
            | "oifname"
            | "iiftype"
            | "oiftype"
            | "iifgroup"
            | "oifgroup"
            | "mark"
            | "skuid"
            | "skgid"
            | "pkttype"
            | "cpu"
            | "cgroup"
            | "rtclassid"
            | "ibrname"
            | "obrname"
            | "ibriport"
            | "obriport"
            | "ibrvproto"
            | "ibrpvid"
    )
}

/// The words of a selector (at most ten), without a vector.
struct Parts<'a> {
    words: [&'a str; 10],
    n: usize,
}

impl<'a> Parts<'a> {
    fn new(first: &'a str) -> Self {
        let mut words = [""; 10];
        words[0] = first;
        Parts { words, n: 1 }
    }

    fn push(&mut self, w: &'a str) {
        if let Some(slot) = self.words.get_mut(self.n) {
            *slot = w;
            self.n += 1;
        }
    }

    fn len(&self) -> usize {
        self.n
    }

    fn as_slice(&self) -> &[&'a str] {
        self.words.get(..self.n).unwrap_or(&[])
    }
}

/// Comparison operators.
fn op_of(w: &str) -> Option<Op> {
    Some(match w {
        "==" | "eq" => Op::Eq,
        "!=" | "ne" => Op::Ne,
        "<" | "lt" => Op::Lt,
        ">" | "gt" => Op::Gt,
        "<=" | "le" => Op::Le,
        ">=" | "ge" => Op::Ge,
        _ => return None,
    })
}

struct Reader<'a, 'd> {
    text: &'a str,
    toks: Vec<Tok<'a>>,
    i: usize,
    diags: &'d mut Diags,
    tables: Vec<Table<'a>>,
}

/// Read the text into tables. Diagnostics go to `diags`.
pub fn read<'a>(text: &'a str, diags: &mut Diags) -> Vec<Table<'a>> {
    diags.set_context("nftables");
    let (toks, bad) = lex(text);
    for l in bad {
        diags.push(codes::BAD_VALUE, Severity::Warning, l, "", "a quoted string is not closed on its line");
    }
    let limit = text.len().saturating_mul(EXPANSION_FACTOR).max(EXPANSION_FLOOR);
    // without variables there is nothing to substitute
    let toks = if text.contains('$') || text.contains("define") { expand(toks, limit, diags) } else { toks };
    let mut r = Reader { text, toks, i: 0, diags, tables: Vec::new() };
    r.top();
    r.tables
}

impl<'a> Reader<'a, '_> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<Tok<'a>> {
        self.toks.get(self.i + k).copied()
    }

    fn word_at(&self, k: usize) -> Option<&'a str> {
        self.peek_at(k).filter(|t| t.kind == Tk::Word).map(|t| t.s)
    }

    fn is_word(&self, k: usize, w: &str) -> bool {
        self.word_at(k) == Some(w)
    }

    fn bump(&mut self) -> Option<Tok<'a>> {
        let t = self.peek();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    /// True at the end of a statement (line end, `;`, `}` or the end of the text).
    fn at_end(&self) -> bool {
        self.peek().is_none_or(|t| matches!(t.kind, Tk::Nl | Tk::Semi | Tk::RBrace))
    }

    fn skip_separators(&mut self) {
        while self.peek().is_some_and(|t| matches!(t.kind, Tk::Nl | Tk::Semi)) {
            self.i += 1;
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek().is_some_and(|t| t.kind == Tk::Nl) {
            self.i += 1;
        }
    }

    /// Skip to the end of the statement, over balanced braces. Returns the text skipped.
    fn skip_statement(&mut self) -> (u32, Str<'a>) {
        let first = self.peek();
        let line = first.map_or(0, |t| t.line);
        let start = first.map_or(0, |t| t.start);
        let mut end = start;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t.kind {
                Tk::Nl | Tk::Semi if depth == 0 => break,
                Tk::RBrace if depth == 0 => break,
                Tk::LBrace => depth += 1,
                Tk::RBrace => depth -= 1,
                _ => {}
            }
            end = end.max(t.end);
            self.i += 1;
        }
        (line, self.slice(start, end))
    }

    /// The source text between two offsets, blanks collapsed.
    fn slice(&self, start: usize, end: usize) -> Str<'a> {
        let s = self.text.get(start..end).unwrap_or("");
        // one line with single spaces: as it is
        let special = s.bytes().fold(false, |acc, c| acc | matches!(c, b'\n' | b'\t' | b'\r' | b'\\'));
        if !special && !s.contains("  ") {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(s.len());
        for w in s.split_whitespace() {
            if w == "\\" {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
        Cow::Owned(out)
    }

    /// The text of the line a token is on, trimmed.
    fn line_text(&self, tok: Tok<'a>) -> Str<'a> {
        let text: &'a str = self.text;
        let start = text.get(..tok.start).and_then(|p| p.rfind('\n')).map_or(0, |i| i + 1);
        let end = text.get(tok.start..).and_then(|r| r.find('\n')).map_or(text.len(), |i| tok.start + i);
        // `str::lines` also drops a final `\r`, which `trim` removes anyway
        Cow::Borrowed(text.get(start..end).unwrap_or("").trim())
    }

    /// Offset of a token's text in the file (`None` for text that is not a slice of it).
    fn offset(&self, s: &str) -> Option<usize> {
        let base = self.text.as_ptr() as usize;
        let p = s.as_ptr() as usize;
        (p >= base && p + s.len() <= base + self.text.len()).then(|| p - base)
    }

    /// Words joined by single spaces: the file's own text when they stand so in it.
    fn join(&self, parts: &[&'a str]) -> Str<'a> {
        if let [one] = parts {
            return Cow::Borrowed(one);
        }
        if let (Some(first), Some(last)) = (parts.first(), parts.last()) {
            let adjacent = parts.windows(2).all(|w| match (w, self.offset(w[0]), self.offset(w[1])) {
                ([a, _], Some(x), Some(y)) => y == x + a.len() + 1 && self.text.as_bytes().get(x + a.len()) == Some(&b' '),
                _ => false,
            });
            if let (true, Some(s), Some(e)) = (adjacent, self.offset(first), self.offset(last)) {
                let text: &'a str = self.text;
                if let Some(span) = text.get(s..e + last.len()) {
                    return Cow::Borrowed(span);
                }
            }
        }
        Cow::Owned(parts.join(" "))
    }

    /// `A SEP B`: the file's own text when the two stand so in it.
    fn glue(&self, a: Str<'a>, sep: &str, b: Str<'a>) -> Str<'a> {
        if let (Cow::Borrowed(x), Cow::Borrowed(y)) = (&a, &b) {
            if let (Some(i), Some(j)) = (self.offset(x), self.offset(y)) {
                let text: &'a str = self.text;
                if j == i + x.len() + sep.len() && text.get(i + x.len()..j) == Some(sep) {
                    if let Some(span) = text.get(i..j + y.len()) {
                        return Cow::Borrowed(span);
                    }
                }
            }
        }
        Cow::Owned(format!("{a}{sep}{b}"))
    }

    fn diag(&mut self, code: &'static str, sev: Severity, line: u32, text: &str, reason: impl Into<String>) {
        self.diags.push(code, sev, line, text, reason);
    }

    // -----------------------------------------------------------------------------------------
    // Top level
    // -----------------------------------------------------------------------------------------

    fn top(&mut self) {
        loop {
            self.skip_separators();
            let Some(t) = self.peek() else { break };
            self.diags.set_context("nftables");
            match (t.kind, t.s) {
                (Tk::Word, "table") => {
                    self.i += 1;
                    self.table_block(t);
                }
                (Tk::Word, "delete" | "destroy" | "flush") if self.is_word(1, "table") => {
                    // a script that replaces a table: `delete table x` then `table x { … }`
                    self.i += 2;
                    if let Some((fam, name)) = self.family_and_name() {
                        if let Some(k) = self.tables.iter().position(|t| t.fam == fam && t.name == name) {
                            if t.s == "flush" {
                                if let Some(tb) = self.tables.get_mut(k) {
                                    for c in &mut tb.chains {
                                        c.rules.clear();
                                    }
                                }
                            } else {
                                self.tables.remove(k);
                            }
                        }
                    }
                    if !self.at_end() {
                        let (line, text) = self.skip_statement();
                        self.diag(codes::UNRECOGNIZED, Severity::Warning, line, &text, "unexpected words after the table's name");
                    }
                }
                (Tk::Word, "flush") if self.is_word(1, "ruleset") => {
                    // start of a script: the file holds the whole ruleset anyway
                    self.i += 2;
                }
                (Tk::Word, "add" | "create") if self.is_word(1, "table") => {
                    self.i += 2;
                    self.table_block(t);
                }
                (Tk::Word, "add" | "create") if self.is_word(1, "chain") => {
                    self.i += 2;
                    self.add_chain(t);
                }
                (Tk::Word, "add") if self.is_word(1, "rule") => {
                    self.i += 2;
                    self.add_rule(t);
                }
                (Tk::Word, "add" | "create") if self.is_word(1, "set") || self.is_word(1, "map") => {
                    let is_map = self.is_word(1, "map");
                    self.i += 2;
                    self.add_set(t, is_map);
                }
                (Tk::Word, "add") if self.is_word(1, "element") => {
                    self.i += 2;
                    self.add_element(t);
                }
                (Tk::RBrace, _) => {
                    self.i += 1;
                    self.diag(codes::STRUCTURE, Severity::Warning, t.line, "}", "closing brace without an open block");
                }
                _ => {
                    let (line, text) = self.skip_statement();
                    let reason = match t.s {
                        "include" => "include: the included file is not read (give it as an input of its own)",
                        "flush" | "delete" | "destroy" | "insert" | "replace" | "reset" | "list" | "rename" => {
                            "command that changes an existing ruleset: not read (Portolan reads whole rulesets)"
                        }
                        _ => "unrecognized statement at the top level",
                    };
                    self.diag(codes::UNRECOGNIZED, Severity::Error, line, &text, reason);
                }
            }
        }
    }

    /// Family and name after `table` (or `add chain`, `add rule`): `[FAMILY] NAME`.
    fn family_and_name(&mut self) -> Option<(Fam, &'a str)> {
        let a = self.word_at(0)?;
        if let (Some(f), Some(n)) = (Fam::from_name(a), self.word_at(1)) {
            self.i += 2;
            return Some((f, n));
        }
        self.i += 1;
        Some((Fam::Ip, a))
    }

    fn table_index(&mut self, fam: Fam, name: &'a str, pos: Pos<'a>) -> usize {
        if let Some(k) = self.tables.iter().position(|t| t.fam == fam && t.name == name) {
            return k;
        }
        self.tables.push(Table { fam, name: Cow::Borrowed(name), pos, chains: Vec::new(), sets: Vec::new(), dormant: false });
        self.tables.len() - 1
    }

    fn table_block(&mut self, kw: Tok<'a>) {
        let Some((fam, name)) = self.family_and_name() else {
            let (line, text) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, line.max(kw.line), &text, "table without a name");
            return;
        };
        let pos = Pos { line: kw.line, text: self.line_text(kw) };
        let k = self.table_index(fam, name, pos);
        self.diags.set_context(format!("nftables table {} {name}", fam.name()));
        if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
            self.i += 1;
            self.table_body(k);
        } else if !self.at_end() {
            let (line, text) = self.skip_statement();
            self.diag(codes::UNRECOGNIZED, Severity::Warning, line, &text, "unexpected words after the table's name");
        }
    }

    fn table_body(&mut self, k: usize) {
        loop {
            self.skip_separators();
            let Some(t) = self.peek() else {
                let (l, tx) = self.tables.get(k).map(|t| (t.pos.line, t.pos.text.clone())).unwrap_or_default();
                let label = self.tables.get(k).map(|t| format!("{} {}", t.fam.name(), t.name)).unwrap_or_default();
                self.diags.set_context(format!("nftables table {label}"));
                self.diag(codes::STRUCTURE, Severity::Warning, l, &tx, "the table's block is not closed");
                return;
            };
            match (t.kind, t.s) {
                (Tk::RBrace, _) => {
                    self.i += 1;
                    return;
                }
                (Tk::Word, "chain") => {
                    self.i += 1;
                    let Some(name) = self.name_word() else {
                        let (line, text) = self.skip_statement();
                        self.diag(codes::STRUCTURE, Severity::Error, line, &text, "chain without a name");
                        continue;
                    };
                    let ci = self.chain_index(k, name, t);
                    if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
                        self.i += 1;
                        self.chain_body(k, ci);
                    }
                }
                (Tk::Word, "set" | "map") => {
                    self.i += 1;
                    let is_map = t.s == "map";
                    let Some(name) = self.name_word() else {
                        let (line, text) = self.skip_statement();
                        self.diag(codes::STRUCTURE, Severity::Error, line, &text, "set without a name");
                        continue;
                    };
                    if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
                        self.i += 1;
                        let pos = Pos { line: t.line, text: self.line_text(t) };
                        let s = self.set_body(name, pos, is_map);
                        self.put_set(k, s);
                    }
                }
                (Tk::Word, "flags") => {
                    self.i += 1;
                    while let Some(w) = self.word_at(0) {
                        if w == "dormant" {
                            if let Some(tb) = self.tables.get_mut(k) {
                                tb.dormant = true;
                            }
                        }
                        self.i += 1;
                        if self.peek().is_some_and(|t| t.kind == Tk::Comma) {
                            self.i += 1;
                        }
                    }
                }
                (Tk::Word, "comment") => {
                    self.skip_statement();
                }
                (
                    Tk::Word,
                    "counter" | "quota" | "limit" | "ct" | "flowtable" | "secmark" | "synproxy" | "tunnel",
                ) => {
                    // stateful objects: they only act where a rule references them
                    self.skip_statement();
                    if self.peek().is_some_and(|t| t.kind == Tk::RBrace) && self.block_was_object() {
                        self.i += 1;
                    }
                }
                _ => {
                    let (line, text) = self.skip_statement();
                    self.diag(codes::UNRECOGNIZED, Severity::Error, line, &text, "unrecognized statement in a table");
                }
            }
        }
    }

    /// After skipping an object definition header `counter NAME {` … the braces were balanced by
    /// `skip_statement`, so nothing is left to close.
    fn block_was_object(&self) -> bool {
        false
    }

    fn name_word(&mut self) -> Option<&'a str> {
        let t = self.peek()?;
        if matches!(t.kind, Tk::Word | Tk::Str) {
            self.i += 1;
            Some(t.s)
        } else {
            None
        }
    }

    fn chain_index(&mut self, k: usize, name: &'a str, tok: Tok<'a>) -> usize {
        let (line, text) = (tok.line, self.line_text(tok));
        let Some(tb) = self.tables.get_mut(k) else { return 0 };
        if let Some(c) = tb.chains.iter().position(|c| c.name == name) {
            return c;
        }
        tb.chains.push(Chain { name: Cow::Borrowed(name), pos: Pos { line, text }, base: None, policy: None, rules: Vec::new() });
        tb.chains.len() - 1
    }

    fn put_set(&mut self, k: usize, s: SetDef<'a>) {
        let Some(tb) = self.tables.get_mut(k) else { return };
        match tb.sets.iter_mut().find(|x| x.name == s.name) {
            Some(x) => x.elements.extend(s.elements),
            None => tb.sets.push(s),
        }
    }

    fn chain_body(&mut self, k: usize, ci: usize) {
        let cname = self.tables.get(k).and_then(|t| t.chains.get(ci)).map(|c| c.name.clone()).unwrap_or_default();
        let tname = self.tables.get(k).map(|t| format!("{} {}", t.fam.name(), t.name)).unwrap_or_default();
        self.diags.set_context(format!("nftables table {tname} chain {cname}"));
        loop {
            self.skip_separators();
            let Some(t) = self.peek() else {
                let (l, tx) = self
                    .tables
                    .get(k)
                    .and_then(|t| t.chains.get(ci))
                    .map(|c| (c.pos.line, c.pos.text.clone()))
                    .unwrap_or_default();
                self.diag(codes::STRUCTURE, Severity::Warning, l, &tx, "the chain's block is not closed");
                return;
            };
            match (t.kind, t.s) {
                (Tk::RBrace, _) => {
                    self.i += 1;
                    return;
                }
                (Tk::Word, "type") => {
                    let spec = self.base_spec();
                    if let Some(c) = self.tables.get_mut(k).and_then(|t| t.chains.get_mut(ci)) {
                        c.base = spec;
                    }
                }
                (Tk::Word, "policy") => {
                    self.i += 1;
                    let p = Cow::Borrowed(self.word_at(0).unwrap_or(""));
                    if !p.is_empty() {
                        self.i += 1;
                    }
                    let pos = Pos { line: t.line, text: self.line_text(t) };
                    if let Some(c) = self.tables.get_mut(k).and_then(|t| t.chains.get_mut(ci)) {
                        c.policy = Some((p, pos));
                    }
                }
                (Tk::Word, "comment") if self.peek_at(1).is_some_and(|t| t.kind == Tk::Str) && self.end_after(2) => {
                    self.i += 2;
                }
                (Tk::Word, "devices") => {
                    self.skip_statement();
                }
                _ => {
                    if let Some(rule) = self.rule() {
                        if let Some(c) = self.tables.get_mut(k).and_then(|t| t.chains.get_mut(ci)) {
                            c.rules.push(rule);
                        }
                    }
                }
            }
        }
    }

    fn end_after(&self, k: usize) -> bool {
        self.peek_at(k).is_none_or(|t| matches!(t.kind, Tk::Nl | Tk::Semi | Tk::RBrace))
    }

    /// `type T hook H [device D | devices = { … }] priority P`; the position is the line.
    fn base_spec(&mut self) -> Option<BaseSpec<'a>> {
        let first = self.peek()?;
        let line = first.line;
        let mut hook: &'a str = "";
        let mut prio = Cow::Borrowed("");
        let mut device = None;
        self.i += 1;
        let ty: &'a str = self.word_at(0).unwrap_or("");
        if !ty.is_empty() {
            self.i += 1;
        }
        let mut ok = true;
        while !self.at_end() {
            match self.word_at(0) {
                Some("hook") => {
                    self.i += 1;
                    hook = self.word_at(0).unwrap_or("");
                    self.i += 1;
                }
                Some("device") => {
                    self.i += 1;
                    device = self.peek().map(|t| Cow::Borrowed(t.s));
                    self.i += 1;
                }
                Some("devices") => {
                    // devices = { a, b }
                    let mut depth = 0usize;
                    while let Some(t) = self.peek() {
                        match t.kind {
                            Tk::LBrace => depth += 1,
                            Tk::RBrace if depth > 0 => {
                                depth -= 1;
                                if depth == 0 {
                                    self.i += 1;
                                    break;
                                }
                            }
                            Tk::RBrace | Tk::Semi | Tk::Nl if depth == 0 => break,
                            _ => {}
                        }
                        self.i += 1;
                    }
                    device = Some(Cow::Borrowed("(several)"));
                }
                Some("priority") => {
                    self.i += 1;
                    let mut parts = Vec::new();
                    while let Some(w) = self.word_at(0) {
                        parts.push(w);
                        self.i += 1;
                    }
                    prio = self.join(&parts);
                }
                _ => {
                    ok = false;
                    self.i += 1;
                }
            }
        }
        let text = self.line_text(first);
        if !ok || hook.is_empty() || ty.is_empty() {
            self.diag(
                codes::UNRECOGNIZED,
                Severity::Warning,
                line,
                &text,
                "base chain declaration not understood (expected type T hook H priority P)",
            );
        }
        Some(BaseSpec { ty: Cow::Borrowed(ty), hook: Cow::Borrowed(hook), prio, device, pos: Pos { line, text } })
    }

    // -----------------------------------------------------------------------------------------
    // Sets
    // -----------------------------------------------------------------------------------------

    fn set_body(&mut self, name: &'a str, pos: Pos<'a>, is_map: bool) -> SetDef<'a> {
        let mut s = SetDef { name: Cow::Borrowed(name), pos, is_map, ..Default::default() };
        loop {
            self.skip_separators();
            let Some(t) = self.peek() else { return s };
            match (t.kind, t.s) {
                (Tk::RBrace, _) => {
                    self.i += 1;
                    return s;
                }
                (Tk::Word, "type" | "typeof") => {
                    self.i += 1;
                    let mut parts: Vec<&str> = Vec::new();
                    while let Some(w) = self.word_at(0) {
                        parts.push(w);
                        self.i += 1;
                    }
                    let joined = parts.join(" ");
                    match joined.split_once(" : ") {
                        Some((a, b)) => {
                            s.key_type = Cow::Owned(a.to_string());
                            s.data_type = Some(Cow::Owned(b.to_string()));
                        }
                        None => s.key_type = Cow::Owned(joined),
                    }
                    if t.s == "typeof" {
                        s.key_type = Cow::Owned(format!("typeof {}", s.key_type));
                    }
                }
                (Tk::Word, "flags") => {
                    self.i += 1;
                    while let Some(tk) = self.peek() {
                        match tk.kind {
                            Tk::Word => s.flags.push(Cow::Borrowed(tk.s)),
                            Tk::Comma => {}
                            _ => break,
                        }
                        self.i += 1;
                    }
                }
                (Tk::Word, "timeout") => {
                    s.timeout = true;
                    self.skip_statement();
                }
                (Tk::Word, w) if w == "elements" || w == "elements=" => {
                    self.i += 1;
                    if self.is_word(0, "=") {
                        self.i += 1;
                    }
                    if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
                        self.i += 1;
                        let els = self.set_elems();
                        s.elements.extend(els);
                    } else {
                        let (line, text) = self.skip_statement();
                        self.diag(codes::UNRECOGNIZED, Severity::Warning, line, &text, "elements without { … }");
                    }
                }
                (Tk::Word, "size" | "policy" | "auto-merge" | "gc-interval" | "counter" | "comment" | "automerge") => {
                    self.skip_statement();
                }
                _ => {
                    let (line, text) = self.skip_statement();
                    self.diag(codes::UNRECOGNIZED, Severity::Warning, line, &text, "unrecognized statement in a set");
                }
            }
        }
    }

    fn add_chain(&mut self, kw: Tok<'a>) {
        let Some((fam, tname)) = self.family_and_name() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add chain without a table");
            return;
        };
        let Some(cname) = self.name_word() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add chain without a name");
            return;
        };
        let pos = Pos { line: kw.line, text: self.line_text(kw) };
        let k = self.table_index(fam, tname, pos);
        let ci = self.chain_index(k, cname, kw);
        if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
            self.i += 1;
            self.chain_body(k, ci);
        }
    }

    fn add_rule(&mut self, kw: Tok<'a>) {
        let Some((fam, tname)) = self.family_and_name() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add rule without a table");
            return;
        };
        let Some(cname) = self.name_word() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add rule without a chain");
            return;
        };
        let exists = self.tables.iter().any(|t| t.fam == fam && t.name == tname && t.chains.iter().any(|c| c.name == cname));
        if !exists {
            self.skip_statement();
            let (l, t) = (kw.line, self.line_text(kw));
            self.diag(
                codes::UNDEFINED_REFERENCE,
                Severity::Error,
                l.max(kw.line),
                &t,
                format!("add rule to chain {cname} of table {} {tname}, which is not defined before: nft refuses it", fam.name()),
            );
            return;
        }
        let k = self.tables.iter().position(|t| t.fam == fam && t.name == tname).unwrap_or(0);
        let ci = self.chain_index(k, cname, kw);
        if let Some(mut rule) = self.rule() {
            rule.pos.line = kw.line;
            if let Some(c) = self.tables.get_mut(k).and_then(|t| t.chains.get_mut(ci)) {
                c.rules.push(rule);
            }
        }
    }

    fn add_set(&mut self, kw: Tok<'a>, is_map: bool) {
        let Some((fam, tname)) = self.family_and_name() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add set without a table");
            return;
        };
        let Some(name) = self.name_word() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add set without a name");
            return;
        };
        let pos = Pos { line: kw.line, text: self.line_text(kw) };
        let k = self.table_index(fam, tname, pos.clone());
        if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
            self.i += 1;
            let s = self.set_body(name, pos, is_map);
            self.put_set(k, s);
        }
    }

    fn add_element(&mut self, kw: Tok<'a>) {
        let Some((fam, tname)) = self.family_and_name() else {
            self.skip_statement();
            return;
        };
        let Some(name) = self.name_word() else {
            let (l, t) = self.skip_statement();
            self.diag(codes::STRUCTURE, Severity::Error, l.max(kw.line), &t, "add element without a set name");
            return;
        };
        let els = if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
            self.i += 1;
            self.set_elems()
        } else {
            Vec::new()
        };
        let k = self.tables.iter().position(|t| t.fam == fam && t.name == tname);
        match k.and_then(|k| self.tables.get_mut(k)).and_then(|t| t.sets.iter_mut().find(|s| s.name == name)) {
            Some(s) => s.elements.extend(els),
            None => {
                let text = self.line_text(kw);
                self.diag(
                    codes::UNDEFINED_REFERENCE,
                    Severity::Error,
                    kw.line,
                    &text,
                    format!("add element to set {name}, which is not defined before: nft refuses it"),
                );
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Values
    // -----------------------------------------------------------------------------------------

    /// Elements up to the closing brace (already past the opening one).
    fn set_elems(&mut self) -> Vec<Elem<'a>> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            let Some(t) = self.peek() else { return out };
            match t.kind {
                Tk::RBrace => {
                    self.i += 1;
                    return out;
                }
                Tk::Comma | Tk::Semi => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let before = self.i;
            let key = self.value_concat(true);
            self.skip_newlines();
            let data = if self.is_word(0, ":") {
                self.i += 1;
                self.skip_newlines();
                Some(self.map_data())
            } else {
                None
            };
            // element options: timeout, expires, comment, counter
            loop {
                match self.word_at(0) {
                    Some("timeout" | "expires") => self.i += 2,
                    Some("comment") => self.i += 2,
                    Some("counter") => {
                        self.i += 1;
                        while matches!(self.word_at(0), Some("packets" | "bytes")) {
                            self.i += 2;
                        }
                    }
                    _ => break,
                }
            }
            if let Some(key) = key {
                out.push(Elem { key, data });
            }
            if self.i == before {
                // nothing consumed: skip the token so the loop ends
                self.i += 1;
            }
        }
    }

    /// The data of a map element: a verdict or a value.
    fn map_data(&mut self) -> Val<'a> {
        match self.word_at(0) {
            Some("accept") => {
                self.i += 1;
                Val::Verdict(Verdict::Accept)
            }
            Some("drop") => {
                self.i += 1;
                Val::Verdict(Verdict::Drop)
            }
            Some("continue") => {
                self.i += 1;
                Val::Verdict(Verdict::Continue)
            }
            Some("return") => {
                self.i += 1;
                Val::Verdict(Verdict::Return)
            }
            Some(w @ ("jump" | "goto")) => {
                self.i += 1;
                let target = Cow::Borrowed(self.name_word().unwrap_or_default());
                Val::Verdict(if w == "jump" { Verdict::Jump(target) } else { Verdict::Goto(target) })
            }
            _ => self.value_concat(true).unwrap_or(Val::Other(Cow::Borrowed(""))),
        }
    }

    /// One value: primary (`| primary`)* (`. primary`)*.
    fn value_concat(&mut self, in_set: bool) -> Option<Val<'a>> {
        let first = self.value_or(in_set)?;
        if !self.is_word(0, ".") {
            return Some(first);
        }
        let mut parts = vec![first];
        while self.is_word(0, ".") {
            self.i += 1;
            match self.value_or(in_set) {
                Some(v) => parts.push(v),
                None => break,
            }
        }
        Some(Val::Concat(parts))
    }

    fn value_or(&mut self, in_set: bool) -> Option<Val<'a>> {
        let first = self.primary(in_set)?;
        if !self.is_word(0, "|") {
            return Some(first);
        }
        let mut parts = vec![first];
        while self.is_word(0, "|") {
            self.i += 1;
            match self.primary(in_set) {
                Some(v) => parts.push(v),
                None => break,
            }
        }
        Some(Val::Or(parts))
    }

    fn primary(&mut self, in_set: bool) -> Option<Val<'a>> {
        let t = self.peek()?;
        match t.kind {
            Tk::LBrace => {
                self.i += 1;
                Some(Val::Set(self.set_elems()))
            }
            Tk::LParen => {
                self.i += 1;
                let v = self.value_concat(in_set);
                if self.peek().is_some_and(|t| t.kind == Tk::RParen) {
                    self.i += 1;
                }
                v
            }
            Tk::Str => {
                self.i += 1;
                Some(Val::Atom(Cow::Borrowed(t.s)))
            }
            Tk::Word => {
                if !in_set && (op_of(t.s).is_some() || t.s == "vmap") {
                    return None;
                }
                self.i += 1;
                if let Some(n) = t.s.strip_prefix('@') {
                    return Some(Val::SetRef(Cow::Borrowed(n)));
                }
                if super::has_byte(t.s, b'|') && !super::has_byte(t.s, b':') {
                    let parts: Vec<Val> =
                        t.s.split('|').filter(|p| !p.is_empty()).map(|p| Val::Atom(Cow::Borrowed(p))).collect();
                    return Some(Val::Or(parts));
                }
                // `numgen inc mod 2`, `jhash ip saddr mod 2`, `symhash mod 2`: not followed
                if matches!(t.s, "numgen" | "jhash" | "symhash") {
                    let start = t.start;
                    let mut end = t.end;
                    while let Some(w) = self.peek().filter(|t| t.kind == Tk::Word) {
                        if w.s == "map" || (!in_set && starts_statement(w.s) && !matches!(w.s, "ip" | "ip6" | "tcp" | "udp")) {
                            break;
                        }
                        end = w.end;
                        self.i += 1;
                        if w.s == "mod" {
                            if let Some(n) = self.peek().filter(|t| t.kind == Tk::Word) {
                                end = n.end;
                                self.i += 1;
                            }
                            if self.is_word(0, "offset") {
                                self.i += 2;
                            }
                            break;
                        }
                    }
                    return Some(Val::Other(self.slice(start, end)));
                }
                Some(Val::Atom(Cow::Borrowed(t.s)))
            }
            _ => None,
        }
    }

    /// A match's right-hand side: a value, possibly a comma list (`new,established`).
    fn rhs(&mut self) -> Option<Val<'a>> {
        let first = self.value_concat(false)?;
        if !self.peek().is_some_and(|t| t.kind == Tk::Comma) {
            return Some(first);
        }
        let mut els = vec![Elem { key: first, data: None }];
        while self.peek().is_some_and(|t| t.kind == Tk::Comma) {
            self.i += 1;
            match self.value_concat(false) {
                Some(v) => els.push(Elem { key: v, data: None }),
                None => break,
            }
        }
        Some(Val::Set(els))
    }

    // -----------------------------------------------------------------------------------------
    // Rules
    // -----------------------------------------------------------------------------------------

    fn rule(&mut self) -> Option<RuleIr<'a>> {
        let first = self.peek()?;
        let mut stmts = Vec::with_capacity(8);
        let mut end = first.start;
        while !self.at_end() {
            let before = self.i;
            self.statement(&mut stmts);
            if let Some(last) = self.i.checked_sub(1).and_then(|k| self.toks.get(k)) {
                end = end.max(last.end);
            }
            if self.i == before {
                // a token no statement takes (a stray `,` or `)`): keep it as unrecognized text
                if let Some(t) = self.bump() {
                    end = end.max(t.end);
                    stmts.push(Stmt::Unrecognized(Cow::Borrowed(t.s)));
                }
            }
        }
        let text = self.slice(first.start, end);
        Some(RuleIr { pos: Pos { line: first.line, text }, stmts })
    }

    /// Text of the tokens from `start` (token index) to the current position.
    fn text_from(&self, start: usize) -> Str<'a> {
        let s = self.toks.get(start).map_or(0, |t| t.start);
        let e = self.i.checked_sub(1).and_then(|k| self.toks.get(k)).map_or(s, |t| t.end);
        self.slice(s, e.max(s))
    }

    fn statement(&mut self, out: &mut Vec<Stmt<'a>>) {
        let Some(t) = self.peek() else { return };
        let start = self.i;
        if t.kind != Tk::Word {
            return;
        }
        let w = t.s;
        match w {
            "accept" | "drop" | "continue" | "return" => {
                self.i += 1;
                out.push(Stmt::Verdict(match w {
                    "accept" => Verdict::Accept,
                    "drop" => Verdict::Drop,
                    "continue" => Verdict::Continue,
                    _ => Verdict::Return,
                }))
            }
            "jump" | "goto" => {
                self.i += 1;
                let target = Cow::Borrowed(self.name_word().unwrap_or_default());
                out.push(Stmt::Verdict(if w == "jump" { Verdict::Jump(target) } else { Verdict::Goto(target) }))
            }
            "queue" => {
                self.i += 1;
                while !self.at_end() {
                    self.i += 1;
                }
                let text = self.text_from(start);
                let rest = match text {
                    Cow::Borrowed(t) => Cow::Borrowed(t.trim_start_matches("queue").trim()),
                    Cow::Owned(t) => Cow::Owned(t.trim_start_matches("queue").trim().to_string()),
                };
                out.push(Stmt::Verdict(Verdict::Queue(rest)))
            }
            "reject" => {
                self.i += 1;
                if self.is_word(0, "with") {
                    self.i += 1;
                    let mut parts = Vec::new();
                    while let Some(x) = self.word_at(0) {
                        if starts_statement(x) && !matches!(x, "tcp" | "icmp") {
                            break;
                        }
                        parts.push(x);
                        self.i += 1;
                        if x == "reset" || (parts.len() >= 2 && x != "type" && x != "code") {
                            break;
                        }
                    }
                    out.push(Stmt::Reject(Some(self.join(&parts))))
                } else {
                    out.push(Stmt::Reject(None))
                }
            }
            "counter" => {
                self.i += 1;
                loop {
                    match self.word_at(0) {
                        Some("packets" | "bytes") => self.i += 2,
                        Some("name") => {
                            self.i += 1;
                            self.i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(Stmt::Effect(Cow::Borrowed("counter")))
            }
            "log" => {
                self.i += 1;
                loop {
                    match self.word_at(0) {
                        Some("prefix" | "level" | "group" | "snaplen" | "queue-threshold") => self.i += 2,
                        Some("flags") => {
                            self.i += 1;
                            while self.word_at(0).is_some_and(|x| !starts_statement(x)) {
                                self.i += 1;
                                if self.peek().is_some_and(|t| t.kind == Tk::Comma) {
                                    self.i += 1;
                                } else {
                                    break;
                                }
                            }
                        }
                        _ => break,
                    }
                }
                out.push(Stmt::Effect(self.text_from(start)))
            }
            "limit" => {
                self.i += 1;
                let mut over = false;
                if self.is_word(0, "rate") {
                    self.i += 1;
                }
                if self.is_word(0, "over") {
                    over = true;
                    self.i += 1;
                } else if self.is_word(0, "until") {
                    self.i += 1;
                }
                while let Some(x) = self.word_at(0) {
                    let part = x.starts_with(|c: char| c.is_ascii_digit())
                        || x.starts_with('/')
                        || matches!(
                            x,
                            "burst" | "packets" | "bytes" | "kbytes" | "mbytes" | "second" | "minute" | "hour" | "day" | "week"
                        )
                        || x.contains('/');
                    if !part {
                        break;
                    }
                    self.i += 1;
                }
                out.push(Stmt::Limit { over, text: self.text_from(start) })
            }
            "comment" => {
                self.i += 1;
                self.bump();
                out.push(Stmt::Effect(self.text_from(start)))
            }
            "notrack" => {
                self.i += 1;
                out.push(Stmt::Notrack)
            }
            "masquerade" | "redirect" | "snat" | "dnat" => self.nat(w, out),
            "ct" if self.is_word(1, "count") => {
                self.i += 2;
                if self.is_word(0, "over") {
                    self.i += 1;
                }
                if self.word_at(0).is_some_and(|x| x.starts_with(|c: char| c.is_ascii_digit())) {
                    self.i += 1;
                }
                out.push(Stmt::UnmodelledMatch(self.text_from(start)))
            }
            "quota" => {
                self.i += 1;
                while self.word_at(0).is_some_and(|x| !starts_statement(x) || x == "over") {
                    self.i += 1;
                }
                out.push(Stmt::UnmodelledMatch(self.text_from(start)))
            }
            "add" | "update" | "delete" if self.word_at(1).is_some_and(|x| x.starts_with('@')) => {
                self.i += 2;
                if self.peek().is_some_and(|t| t.kind == Tk::LBrace) {
                    self.i += 1;
                    self.set_elems();
                }
                out.push(Stmt::Effect(self.text_from(start)))
            }
            "flow" if matches!(self.word_at(1), Some("add" | "offload")) => {
                self.i += 3;
                out.push(Stmt::Effect(self.text_from(start)))
            }
            "xt" => {
                self.i += 1;
                let kind = self.word_at(0).unwrap_or("");
                self.i += 2;
                let text = self.text_from(start);
                let name = self.toks.get(start + 2).map(|t| t.s).unwrap_or("");
                if kind == "match" && name == "comment" {
                    out.push(Stmt::Effect(text))
                } else if kind == "target" {
                    if super::XT_CONTINUE_TARGETS.contains(&name) {
                        out.push(Stmt::Effect(text))
                    } else {
                        out.push(Stmt::UnmodelledAction(text))
                    }
                } else {
                    out.push(Stmt::UnmodelledMatch(text))
                }
            }
            "dup" | "fwd" | "tproxy" | "synproxy" | "osf" if !self.is_word(1, "set") => {
                self.i += 1;
                while self.word_at(0).is_some_and(|x| !starts_statement(x)) || self.peek().is_some_and(|t| t.kind == Tk::Comma) {
                    self.i += 1;
                }
                out.push(Stmt::UnmodelledAction(self.text_from(start)))
            }
            _ => self.match_or_set(out),
        }
    }

    /// A selector: the words naming what is matched (`ip saddr`, `meta l4proto`, `iifname`,
    /// `ct original ip saddr`, `fib daddr . iif type`). `None` if the word starts none.
    fn key(&mut self) -> Option<Str<'a>> {
        let w = self.word_at(0)?;
        if w == "meta" {
            let k = self.word_at(1)?;
            self.i += 2;
            return Some(if bare_meta(k) { Cow::Borrowed(k) } else { self.join(&[w, k]) });
        }
        if bare_meta(w) {
            self.i += 1;
            return Some(Cow::Borrowed(w));
        }
        if w == "ct" {
            let mut parts = Parts::new(w);
            self.i += 1;
            if let Some(d @ ("original" | "reply")) = self.word_at(0) {
                parts.push(d);
                self.i += 1;
            }
            if let Some(f @ ("ip" | "ip6")) = self.word_at(0) {
                parts.push(f);
                self.i += 1;
            }
            if let Some(k) = self.word_at(0) {
                parts.push(k);
                self.i += 1;
            }
            return Some(self.join(parts.as_slice()));
        }
        if w == "fib" {
            let mut parts = Parts::new(w);
            self.i += 1;
            while let Some(x) = self.word_at(0) {
                parts.push(x);
                self.i += 1;
                if matches!(x, "type" | "oif" | "oifname") {
                    break;
                }
                if parts.len() > 8 {
                    break;
                }
            }
            return Some(self.join(parts.as_slice()));
        }
        if (w == "tcp" || w == "ip" || w == "ip6") && self.is_word(1, "option") {
            // tcp option NAME [FIELD]
            let mut parts = Parts::new(w);
            parts.push(self.word_at(1).unwrap_or("option"));
            self.i += 2;
            if let Some(n) = self.word_at(0) {
                parts.push(n);
                self.i += 1;
            }
            if let Some(f) = self.word_at(0).filter(|f| op_of(f).is_none() && !matches!(*f, "exists" | "missing" | "set")) {
                if !f.starts_with(|c: char| c.is_ascii_digit()) {
                    parts.push(f);
                    self.i += 1;
                }
            }
            return Some(self.join(parts.as_slice()));
        }
        if payload_proto(w) {
            let f = self.word_at(1)?;
            self.i += 2;
            return Some(self.join(&[w, f]));
        }
        if matches!(w, "rt" | "socket" | "ipsec" | "exthdr" | "numgen" | "jhash" | "symhash" | "hash" | "osf" | "tunnel")
        {
            let mut parts = Parts::new(w);
            self.i += 1;
            while let Some(x) = self.word_at(0) {
                if op_of(x).is_some() || x == "set" || x == "vmap" {
                    break;
                }
                // `socket transparent`, `rt mtu`, `ipsec in reqid`, `exthdr frag more-fragments`
                let limit = if matches!(w, "ipsec" | "exthdr") { 3 } else { 2 };
                if parts.len() >= limit || x.starts_with(|c: char| c.is_ascii_digit()) {
                    break;
                }
                parts.push(x);
                self.i += 1;
            }
            return Some(self.join(parts.as_slice()));
        }
        None
    }

    fn match_or_set(&mut self, out: &mut Vec<Stmt<'a>>) {
        let start = self.i;
        let Some(mut key) = self.key() else {
            // unknown words: keep them up to a verdict at the end
            while !self.at_end() {
                let w = self.word_at(0);
                if matches!(w, Some("accept" | "drop" | "return" | "continue" | "jump" | "goto")) && self.tail_is_verdict() {
                    break;
                }
                self.i += 1;
            }
            let text = self.text_from(start);
            out.push(Stmt::Unrecognized(text));
            if !self.at_end() {
                self.statement(out);
            }
            return;
        };
        // concatenated selectors: `ip saddr . tcp dport`
        while self.is_word(0, ".") {
            let save = self.i;
            self.i += 1;
            match self.key() {
                Some(k2) => key = self.glue(key, " . ", k2),
                None => {
                    self.i = save;
                    break;
                }
            }
        }
        if self.is_word(0, "set") {
            self.i += 1;
            // the value runs to the next statement
            let mut depth = 0usize;
            while let Some(t) = self.peek() {
                match t.kind {
                    Tk::LBrace => depth += 1,
                    Tk::RBrace if depth > 0 => depth -= 1,
                    Tk::Nl | Tk::Semi | Tk::RBrace if depth == 0 => break,
                    Tk::Nl => {}
                    Tk::Word
                        if depth == 0
                            && self.i > start + 3
                            && starts_statement(t.s)
                            && !matches!(t.s, "map" | "ct" | "meta" | "ip" | "ip6" | "tcp" | "udp" | "th") =>
                    {
                        break
                    }
                    _ => {}
                }
                self.i += 1;
            }
            let text = self.text_from(start);
            let rewrites = key.starts_with("ip ")
                || key.starts_with("ip6 ")
                || key.starts_with("tcp ")
                || key.starts_with("udp ")
                || key.starts_with("th ")
                || key.starts_with("sctp ")
                || key.starts_with("ether ")
                || key.starts_with("icmp")
                || key == "ct zone";
            let harmless_ip = matches!(
                key.as_ref(),
                "ip dscp" | "ip6 dscp" | "ip ttl" | "ip6 hoplimit" | "ip ecn" | "ip6 ecn" | "ip6 flowlabel"
            ) || key.starts_with("tcp option");
            out.push(if rewrites && !harmless_ip { Stmt::UnmodelledAction(text) } else { Stmt::Effect(text) });
            return;
        }
        if self.is_word(0, "vmap") {
            self.i += 1;
            self.skip_newlines();
            let map = self.value_concat(false).unwrap_or(Val::Other(Cow::Borrowed("")));
            out.push(Stmt::Vmap { key, map });
            return;
        }
        let mut mask = None;
        if self.is_word(0, "&") {
            self.i += 1;
            mask = self.value_or(false).map(Box::new);
        }
        let mut op = Op::Implicit;
        if let Some(o) = self.word_at(0).and_then(op_of) {
            op = o;
            self.i += 1;
        }
        if matches!(self.word_at(0), Some("exists" | "missing")) {
            self.i += 1;
            out.push(Stmt::UnmodelledMatch(self.text_from(start)));
            return;
        }
        let Some(right) = self.rhs() else {
            out.push(Stmt::Unrecognized(self.text_from(start)));
            return;
        };
        // `tcp flags syn / fin,syn,rst,ack`
        if self.is_word(0, "/") {
            self.i += 1;
            let m = self.rhs();
            let op = if op == Op::Implicit { Op::Eq } else { op };
            out.push(Stmt::Match { key, mask: m.map(Box::new), op, right });
            return;
        }
        out.push(Stmt::Match { key, mask, op, right });
    }

    /// True if the words from here to the end of the statement form one verdict.
    fn tail_is_verdict(&self) -> bool {
        let mut k = 0;
        let mut n = 0;
        while self.peek_at(k).is_some_and(|t| !matches!(t.kind, Tk::Nl | Tk::Semi | Tk::RBrace)) {
            n += 1;
            k += 1;
        }
        match self.word_at(0) {
            Some("jump" | "goto") => n == 2,
            _ => n == 1,
        }
    }

    fn nat(&mut self, w: &str, out: &mut Vec<Stmt<'a>>) {
        let start = self.i;
        self.i += 1;
        let kind = match w {
            "snat" => NatKind::Snat,
            "dnat" => NatKind::Dnat,
            "masquerade" => NatKind::Masquerade,
            _ => NatKind::Redirect,
        };
        let mut family = None;
        if let Some(f @ ("ip" | "ip6")) = self.word_at(0) {
            if self.is_word(1, "to") || self.is_word(1, "prefix") || self.is_word(1, "addr") {
                family = Some(Cow::Borrowed(f));
                self.i += 1;
            }
        }
        if self.is_word(0, "prefix") {
            // snat ip prefix to …: network mapping
            while !self.at_end() {
                self.i += 1;
            }
            out.push(Stmt::UnmodelledAction(self.text_from(start)));
            return;
        }
        if self.is_word(0, "to") {
            self.i += 1;
        }
        let mut addr = None;
        let mut port = None;
        let mut unmodelled = false;
        if let Some(t) = self.peek().filter(|t| matches!(t.kind, Tk::Word | Tk::Str)) {
            let s = t.s;
            let flag = matches!(s, "random" | "fully-random" | "persistent" | "netmap");
            let looks_addr = s.starts_with(|c: char| c.is_ascii_digit() || c == '[' || c == ':')
                || (s.contains(':') && s.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '-' | '/')));
            if looks_addr && !flag {
                self.i += 1;
                let (a, p) = split_nat_spec(s);
                addr = a.map(|a| Val::Atom(Cow::Owned(a)));
                port = p.map(|p| Val::Atom(Cow::Owned(p)));
            } else if !flag && !matches!(s, "accept" | "drop" | "comment" | "counter" | "log") {
                // `dnat to tcp dport map { … }`, `dnat to numgen inc mod 2 map { … }`
                let e = self.nat_expr();
                unmodelled = !matches!(e, Val::Map { .. });
                addr = Some(e);
            }
            // `ADDR : PORT` written apart, or `… : tcp dport map { … }`
            if self.is_word(0, ":") {
                self.i += 1;
                match self.nat_expr() {
                    Val::Atom(p) if !unmodelled => port = Some(Val::Atom(p)),
                    other => {
                        port = Some(other);
                        unmodelled = true;
                    }
                }
            }
        }
        let mut flags = Vec::new();
        while let Some(x) = self.word_at(0) {
            if matches!(x, "random" | "fully-random" | "persistent" | "netmap") {
                flags.push(Cow::Borrowed(x));
                self.i += 1;
                if self.peek().is_some_and(|t| t.kind == Tk::Comma) {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
        if unmodelled || flags.iter().any(|f| *f == "netmap") {
            out.push(Stmt::UnmodelledAction(self.text_from(start)));
            return;
        }
        out.push(Stmt::Nat(Box::new(Nat { kind, family, addr, port, flags })));
    }
}

impl<'a> Reader<'a, '_> {
    /// A NAT address or port expression: a value, a selector or a hash, optionally looked up in
    /// a map (`tcp dport map { 80 : 10.0.0.1 }`).
    fn nat_expr(&mut self) -> Val<'a> {
        let start = self.i;
        let is_key = self.word_at(0).is_some_and(|w| {
            w == "meta" || w == "ct" || bare_meta(w) || (payload_proto(w) && self.word_at(1).is_some())
        });
        let v = if is_key {
            let k = self.key().unwrap_or_default();
            Val::Other(k)
        } else {
            self.value_concat(false).unwrap_or(Val::Other(Cow::Borrowed("")))
        };
        if self.is_word(0, "map") {
            self.i += 1;
            self.skip_newlines();
            let m = self.value_concat(false);
            return match (&v, m) {
                (Val::Other(k), Some(m @ (Val::Set(_) | Val::SetRef(_)))) if is_key => Val::Map { key: k.clone(), map: Box::new(m) },
                _ => Val::Other(self.text_from(start)),
            };
        }
        match v {
            Val::Atom(a) => Val::Atom(a),
            _ => Val::Other(self.text_from(start)),
        }
    }
}

/// `A`, `A:P`, `A-B:P-Q`, `[A]:P`, `:P` of a NAT statement: address part and port part.
pub fn split_nat_spec(s: &str) -> (Option<String>, Option<String>) {
    if let Some(rest) = s.strip_prefix('[') {
        // [a]:p or [a]-[b]:p
        let close = rest.rfind(']');
        return match close {
            Some(c) => {
                let a = rest.get(..c).unwrap_or("").replace("]-[", "-").replace(['[', ']'], "");
                let p = rest.get(c + 1..).and_then(|r| r.strip_prefix(':')).map(str::to_string);
                (Some(a), p)
            }
            None => (Some(s.to_string()), None),
        };
    }
    if let Some(p) = s.strip_prefix(':') {
        return (None, Some(p.to_string()));
    }
    let colons = s.bytes().filter(|&c| c == b':').count();
    if colons == 1 {
        if let Some((a, p)) = s.split_once(':') {
            return (Some(a.to_string()), Some(p.to_string()));
        }
    }
    (Some(s.to_string()), None)
}

/// Classify each line for counting: true for blank, comment-only and lone-brace lines.
pub fn cosmetic_lines(text: &str) -> u32 {
    text.lines()
        .filter(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "}" || t == "{" || t == "};"
        })
        .count() as u32
}

#[cfg(test)]
mod test {
    use super::*;

    fn read_ok(text: &str) -> Vec<Table<'_>> {
        let mut d = Diags::default();
        let t = read(text, &mut d);
        assert!(d.list.is_empty(), "{:?}", d.list);
        t
    }

    #[test]
    fn reads_tables_chains_and_rules() {
        let t = read_ok(
            "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tiifname \"lo\" accept\n\t\ttcp dport { 22, 80-81 } ct state new counter packets 0 bytes 0 accept\n\t}\n}\n",
        );
        assert_eq!(t.len(), 1);
        let c = &t[0].chains[0];
        assert_eq!(c.base.as_ref().map(|b| b.hook.as_ref()), Some("input"));
        assert_eq!(c.policy.as_ref().map(|p| p.0.as_ref()), Some("drop"));
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules[1].pos.line, 5);
        assert_eq!(render(&c.rules[1].stmts), "tcp dport { 22, 80-81 } ct state new counter accept");
    }

    #[test]
    fn defines_are_substituted_and_bounded() {
        let t = read_ok("define ports = { 22, 443 }\ntable ip f {\n chain c {\n  tcp dport $ports accept\n }\n}\n");
        assert_eq!(render(&t[0].chains[0].rules[0].stmts), "tcp dport { 22, 443 } accept");
        // exponential definitions stop at the bound without panicking
        let mut s = String::from("define a0 = { 1, 1 }\n");
        for k in 1..40 {
            s.push_str(&format!("define a{k} = {{ $a{}, $a{} }}\n", k - 1, k - 1));
        }
        let mut d = Diags::default();
        let _ = read(&s, &mut d);
        assert!(!d.list.is_empty());
    }

    #[test]
    fn nat_specs_split() {
        assert_eq!(split_nat_spec("10.0.0.1:80"), (Some("10.0.0.1".into()), Some("80".into())));
        assert_eq!(split_nat_spec("[2001:db8::1]:80-81"), (Some("2001:db8::1".into()), Some("80-81".into())));
        assert_eq!(split_nat_spec("2001:db8::1"), (Some("2001:db8::1".into()), None));
        assert_eq!(split_nat_spec(":8080"), (None, Some("8080".into())));
    }
}

