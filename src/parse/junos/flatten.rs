//! Both Junos configuration forms into one list of set statements.
//!
//! The hierarchical (brace) form and the `set` form (`show configuration | display set`) are
//! turned into the same [`Stmt`] list: the full path of words of every leaf statement, with the
//! line each word came from. `[ a b ]` lists become one statement per element. `inactive:`
//! subtrees and `deactivate` lines mark statements inactive; `delete` lines remove earlier
//! statements; `groups` are kept apart and expanded where `apply-groups` names them.
//!
//! Words are slices of the file (quoted strings with `\` escapes: of the unescaped texts
//! [`escaped_strings`] returns). The statements form a tree: each block (`interfaces {`,
//! `ge-0/0/0 {`) is a node holding its own words under its parent, and a statement holds its
//! block and the words after the block's path, so the words of enclosing blocks are stored once
//! and not per statement. [`Flat::each`] gives each statement's whole path.
#![allow(clippy::type_complexity)]

use std::collections::{HashMap, HashSet};

use crate::diag::{codes, Diags, Severity};

/// One word of a statement: text of the file (or of an unescaped quoted string).
pub type Word<'a> = &'a str;

/// One leaf statement: its full path of words.
#[derive(Clone, Copy, Debug)]
pub struct Stmt<'f, 'a> {
    /// The words of the path, unquoted (`interfaces ge-0/0/0 unit 0 family inet address ...`).
    pub words: &'f [Word<'a>],
    /// The line of each word (one-based). In the `set` form all are the same line.
    pub lines: &'f [u32],
    /// False when the statement or one of its parents is deactivated.
    pub active: bool,
}

impl<'f, 'a> Stmt<'f, 'a> {
    /// The line of the statement's last word (where the leaf is).
    pub fn line(&self) -> u32 {
        self.lines.last().copied().unwrap_or(0)
    }

    /// The line of word `i` (the last line when out of range).
    pub fn line_at(&self, i: usize) -> u32 {
        self.lines.get(i).copied().unwrap_or_else(|| self.line())
    }

    /// The words as string slices.
    pub fn ws(&self) -> &'f [&'a str] {
        self.words
    }
}

/// No block (a statement or block at the top level).
const NONE: usize = usize::MAX;

/// A block: its own words (in [`Flat`]'s lists) under its parent block.
#[derive(Clone, Copy, Debug)]
struct Node<'a> {
    parent: usize,
    start: usize,
    len: usize,
    /// Number of words of the whole path down to and with this block.
    depth: usize,
    /// The first word of the path.
    first: Option<Word<'a>>,
    /// Whether the lines of the path's words are marked as holding a statement.
    marked: bool,
}

/// A statement: its block and its own words after the block's path (in [`Flat`]'s lists).
#[derive(Clone, Copy, Debug)]
struct Rec {
    node: usize,
    start: usize,
    len: usize,
    active: bool,
    /// Position in the input (for `delete` ordering).
    ord: u32,
}

/// The whole path of a statement, gathered into buffers that are reused: the path of the last
/// statement's block is kept for the next statement of the same block.
#[derive(Default)]
struct Cursor<'a> {
    w: Vec<Word<'a>>,
    l: Vec<u32>,
    chain: Vec<usize>,
    /// The block whose path is at the start of `w` and `l`, and its length.
    at: Option<(usize, usize)>,
}

impl<'a> Cursor<'a> {
    fn fill(&mut self, flat: &Flat<'a>, r: &Rec) {
        let plen = match self.at {
            Some((n, plen)) if n == r.node => plen,
            _ => {
                self.w.clear();
                self.l.clear();
                self.chain.clear();
                let mut k = r.node;
                while let Some(node) = flat.nodes.get(k) {
                    self.chain.push(k);
                    k = node.parent;
                }
                for &k in self.chain.iter().rev() {
                    if let Some(node) = flat.nodes.get(k) {
                        let (ow, ol) = flat.own(node.start, node.len);
                        self.w.extend_from_slice(ow);
                        self.l.extend_from_slice(ol);
                    }
                }
                self.at = Some((r.node, self.w.len()));
                self.w.len()
            }
        };
        self.w.truncate(plen);
        self.l.truncate(plen);
        let (ow, ol) = flat.own(r.start, r.len);
        self.w.extend_from_slice(ow);
        self.l.extend_from_slice(ol);
    }
}

/// Hashing of block numbers (small integers, not chosen by anyone): one multiplication.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Blocks of a group mirrored under the place it is applied: original block → mirror.
type Mirrors = HashMap<usize, usize, std::hash::BuildHasherDefault<IdHasher>>;

/// The result of flattening one file.
#[derive(Debug, Default)]
pub struct Flat<'a> {
    /// The own words of every block and statement, back to back.
    words: Vec<Word<'a>>,
    /// The line of each word in `words`.
    lines: Vec<u32>,
    /// The blocks.
    nodes: Vec<Node<'a>>,
    /// Statements of the configuration proper (groups expanded into it), in input order.
    recs: Vec<Rec>,
    /// Lines that hold at least one statement (of any kind), indexed by line number.
    pub stmt_lines: Vec<bool>,
}

impl<'a> Flat<'a> {
    fn depth(&self, n: usize) -> usize {
        self.nodes.get(n).map_or(0, |x| x.depth)
    }

    /// Own words and lines at `start..start + len`.
    fn own(&self, start: usize, len: usize) -> (&[Word<'a>], &[u32]) {
        let end = start.saturating_add(len);
        (self.words.get(start..end).unwrap_or(&[]), self.lines.get(start..end).unwrap_or(&[]))
    }

    /// Call `f` with each statement (its index and whole path), in order. Consecutive
    /// statements of one block share the block's path, which is gathered once.
    pub fn each(&self, mut f: impl FnMut(usize, Stmt<'_, 'a>)) {
        let mut c = Cursor::default();
        for (i, r) in self.recs.iter().enumerate() {
            c.fill(self, r);
            f(i, Stmt { words: &c.w, lines: &c.l, active: r.active });
        }
    }

    /// The first word of a statement's path.
    fn first_word(&self, r: &Rec) -> Option<Word<'a>> {
        self.nodes.get(r.node).and_then(|n| n.first).or_else(|| self.own(r.start, r.len).0.first().copied())
    }

    /// Append own words (their lines kept in step with them), returning where they start.
    fn append(&mut self, words: &[Word<'a>], lines: &[u32]) -> usize {
        let start = self.words.len();
        self.words.extend_from_slice(words);
        if lines.len() == words.len() {
            self.lines.extend_from_slice(lines);
        } else {
            let last = lines.last().copied().unwrap_or(0);
            self.lines.extend(lines.iter().copied().chain(std::iter::repeat(last)).take(words.len()));
        }
        start
    }

    /// A block of the given words under `parent`.
    fn add_node(&mut self, parent: usize, words: &[Word<'a>], lines: &[u32], marked: bool) -> usize {
        let (pdepth, pfirst) = self.nodes.get(parent).map_or((0, None), |p| (p.depth, p.first));
        let start = self.append(words, lines);
        let first = pfirst.or(words.first().copied());
        self.nodes.push(Node { parent, start, len: words.len(), depth: pdepth + words.len(), first, marked });
        self.nodes.len() - 1
    }

    /// A statement that applies a group member `r` at `loc`: its path is `loc` followed by the
    /// path of `r` after its first `2 + loc.len()` words (`groups NAME` and the words `loc`
    /// matched). The blocks below the cut are mirrored under `loc` once per application
    /// (`mirrors`) and share their words with the originals. `lines`: those of `r`'s path.
    fn shifted(&mut self, r: &Rec, loc: &[Word<'a>], lines: &[u32], mirrors: &mut Mirrors, active: bool) -> Rec {
        let m = 2 + loc.len();
        // lines of the statement's first `loc.len()` words: those of the words they replace
        let loc_lines = lines.get(2..m).unwrap_or(&[]);
        let ndepth = self.depth(r.node);
        if ndepth < m {
            // the cut falls in the statement's own words: a statement of its own at the top
            let skip = (m - ndepth).min(r.len);
            let start = self.words.len();
            self.append(loc, loc_lines);
            for k in r.start + skip..r.start + r.len {
                let (w, l) = (self.words.get(k).copied().unwrap_or(""), self.lines.get(k).copied().unwrap_or(0));
                self.words.push(w);
                self.lines.push(l);
            }
            return Rec { node: NONE, start, len: loc.len() + r.len - skip, active, ord: r.ord };
        }
        if let Some(&node) = mirrors.get(&r.node) {
            return Rec { node, start: r.start, len: r.len, active, ord: r.ord };
        }
        // the blocks below the cut that are not mirrored yet, innermost first
        let mut todo = Vec::new();
        let mut k = r.node;
        while let Some(node) = self.nodes.get(k) {
            if mirrors.contains_key(&k) {
                break;
            }
            todo.push(k);
            if node.depth - node.len < m {
                // the cut falls in this block
                break;
            }
            k = node.parent;
        }
        for &k in todo.iter().rev() {
            let Some(node) = self.nodes.get(k).copied() else { continue };
            let pdepth = node.depth - node.len;
            let new = if pdepth >= m {
                let parent = mirrors.get(&node.parent).copied().unwrap_or(NONE);
                let (pd, pfirst) = self.nodes.get(parent).map_or((0, None), |p| (p.depth, p.first));
                let first = pfirst.or(self.words.get(node.start).copied().filter(|_| node.len > 0));
                self.nodes.push(Node { parent, start: node.start, len: node.len, depth: pd + node.len, first, marked: true });
                self.nodes.len() - 1
            } else {
                // a new top block: `loc` and the rest of this block's words
                let skip = (m - pdepth).min(node.len);
                let mut w: Vec<Word<'a>> = loc.to_vec();
                let mut l: Vec<u32> = loc_lines.to_vec();
                let (ow, ol) = self.own(node.start + skip, node.len - skip);
                w.extend_from_slice(ow);
                l.extend_from_slice(ol);
                self.add_node(NONE, &w, &l, true)
            };
            mirrors.insert(k, new);
        }
        let node = mirrors.get(&r.node).copied().unwrap_or(NONE);
        Rec { node, start: r.start, len: r.len, active, ord: r.ord }
    }
}

/// Lines of a text by number, found through an index of line starts built on first use.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        LineIndex { text, starts: std::cell::OnceCell::new() }
    }

    /// Line `line` (one-based) as `str::lines` gives it, trimmed; empty past the end.
    pub fn trimmed(&self, line: u32) -> &'a str {
        let starts = self.starts.get_or_init(|| newline_offsets(self.text));
        let k = (line as usize).wrapping_sub(1);
        // line k starts after newline k-1 and ends at newline k (or the end of the text)
        let start = match k.checked_sub(1) {
            None => 0,
            Some(p) => match starts.get(p) {
                Some(&nl) => nl + 1,
                None => return "",
            },
        };
        let end = starts.get(k).copied().unwrap_or(self.text.len());
        let text: &'a str = self.text;
        // `str::lines` drops a final `\r` too, which `trim` removes anyway
        text.get(start..end).unwrap_or("").trim()
    }
}

/// The high bit of each byte of eight bytes that is a `\n`, and no other bit.
fn newline_bits(c: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut a = [0u8; 8];
    a.copy_from_slice(c);
    // a byte of `x` is zero where the text has a newline; adding 0x7f to its low seven bits
    // sets its high bit unless it is zero, and never carries into the next byte
    let x = u64::from_le_bytes(a) ^ 0x0a0a_0a0a_0a0a_0a0a;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Offsets of the `\n` bytes of a text, eight bytes at a time.
fn newline_offsets(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 32 + 1);
    let mut chunks = b.chunks_exact(8);
    let mut base = 0usize;
    for c in &mut chunks {
        let mut m = newline_bits(c);
        while m != 0 {
            out.push(base + (m.trailing_zeros() / 8) as usize);
            m &= m - 1;
        }
        base += 8;
    }
    for (k, &c) in chunks.remainder().iter().enumerate() {
        if c == b'\n' {
            out.push(base + k);
        }
    }
    out
}

/// Number of lines as `str::lines` counts them (a last line without a newline counts).
pub fn count_lines(text: &str) -> usize {
    crate::parse::count_lines(text) as usize
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    Word(Word<'a>),
    LBrace,
    RBrace,
    Semi,
    LBracket,
    RBracket,
    Newline,
}

/// Splits the text into tokens with their line numbers, one at a time. Comments (`/* */`, `#`
/// at the start of a token, `!` at the start of a line) are dropped; quoted strings become one
/// word.
struct Lexer<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    line: u32,
    line_start: bool,
    /// The unescaped texts of quoted strings with escapes, in order ([`escaped_strings`]).
    escaped: &'a [String],
    /// How many of `escaped` were used.
    n_escaped: usize,
    /// When set, the lexer only collects the unescaped texts (first pass).
    collect: Option<Vec<String>>,
}

/// Bytes that end an unquoted word (a table, so that the scan over a word's bytes does not
/// branch on each of them). `[` and `]` inside a word are part of it (`ge-0/0/[1-3]`).
const ENDS_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let ends = b" \t\r\n{};\"";
    let mut k = 0;
    while k < ends.len() {
        t[ends[k] as usize] = true;
        k += 1;
    }
    t
};

impl<'a> Lexer<'a> {
    fn new(text: &'a str, escaped: &'a [String]) -> Self {
        Lexer { text, b: text.as_bytes(), i: 0, line: 1, line_start: true, escaped, n_escaped: 0, collect: None }
    }

    fn next(&mut self, diags: &mut Diags) -> Option<(Tok<'a>, u32)> {
        let t = self.raw(diags);
        self.line_start = matches!(t, Some((Tok::Newline, _)));
        t
    }

    fn raw(&mut self, diags: &mut Diags) -> Option<(Tok<'a>, u32)> {
        let b = self.b;
        while let Some(&c) = b.get(self.i) {
            let i = self.i;
            let line = self.line;
            let single = match c {
                b'\n' => Some(Tok::Newline),
                b'{' => Some(Tok::LBrace),
                b'}' => Some(Tok::RBrace),
                b';' => Some(Tok::Semi),
                b'[' => Some(Tok::LBracket),
                b']' => Some(Tok::RBracket),
                _ => None,
            };
            if let Some(t) = single {
                self.i += 1;
                if t == Tok::Newline {
                    self.line = self.line.saturating_add(1);
                }
                return Some((t, line));
            }
            match c {
                b' ' | b'\t' | b'\r' => {
                    self.i += 1;
                    // indentation: eight spaces at a time, then byte by byte
                    while b.get(self.i..self.i + 8) == Some(b"        ".as_slice()) {
                        self.i += 8;
                    }
                    while matches!(b.get(self.i), Some(b' ' | b'\t' | b'\r')) {
                        self.i += 1;
                    }
                }
                b'!' if self.line_start => self.skip_line(),
                b'#' => self.skip_line(),
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    self.i += 2;
                    let mut closed = false;
                    while let Some(&c) = b.get(self.i) {
                        if c == b'*' && b.get(self.i + 1) == Some(&b'/') {
                            self.i += 2;
                            closed = true;
                            break;
                        }
                        if c == b'\n' {
                            self.line = self.line.saturating_add(1);
                        }
                        self.i += 1;
                        // the comment's text up to the next star or line end
                        let run = b.get(self.i..).unwrap_or(&[]).iter().position(|&c| c == b'*' || c == b'\n');
                        self.i = run.map_or(b.len(), |r| self.i + r);
                    }
                    if !closed {
                        diags.push(codes::STRUCTURE, Severity::Warning, line, "/*", "comment never closed: the rest of the file is a comment");
                    }
                }
                b'"' => {
                    self.i += 1;
                    let start = self.i;
                    let mut escapes = false;
                    let mut closed = false;
                    while let Some(&c) = b.get(self.i) {
                        match c {
                            b'\\' if self.i + 1 < b.len() => {
                                escapes = true;
                                if b.get(self.i + 1) == Some(&b'\n') {
                                    self.line = self.line.saturating_add(1);
                                }
                                self.i += 2;
                            }
                            b'"' => {
                                closed = true;
                                break;
                            }
                            ch => {
                                if ch == b'\n' {
                                    self.line = self.line.saturating_add(1);
                                }
                                self.i += 1;
                            }
                        }
                    }
                    let end = self.i;
                    if closed {
                        self.i += 1;
                    } else {
                        diags.push(codes::STRUCTURE, Severity::Warning, line, "\"", "quoted string never closed");
                    }
                    if !escapes {
                        return Some((Tok::Word(self.text.get(start..end).unwrap_or("")), line));
                    }
                    if let Some(out) = &mut self.collect {
                        out.push(unescape(b.get(start..end).unwrap_or(&[])));
                        return Some((Tok::Word(""), line));
                    }
                    let w = self.escaped.get(self.n_escaped).map_or("", String::as_str);
                    self.n_escaped += 1;
                    return Some((Tok::Word(w), line));
                }
                _ => {
                    let start = i;
                    let mut k = i;
                    while b.get(k).is_some_and(|&c| !ENDS_WORD[usize::from(c)]) {
                        k += 1;
                    }
                    self.i = k.max(start + 1);
                    // words end at ASCII bytes only, so the slice is whole characters
                    let w = self.text.get(start..self.i).unwrap_or("");
                    return Some((Tok::Word(w), line));
                }
            }
        }
        None
    }

    fn skip_line(&mut self) {
        while self.b.get(self.i).is_some_and(|&c| c != b'\n') {
            self.i += 1;
        }
    }
}

/// A quoted string's content with its escapes resolved (`\x` is `x`).
fn unescape(raw: &[u8]) -> String {
    let mut s = Vec::with_capacity(raw.len());
    let mut k = 0;
    while let Some(&c) = raw.get(k) {
        if c == b'\\' && k + 1 < raw.len() {
            s.extend(raw.get(k + 1).copied());
            k += 2;
        } else {
            s.push(c);
            k += 1;
        }
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// The unescaped texts of the file's quoted strings that have `\` escapes, in the order the
/// lexer meets them: [`flatten`]'s words borrow them. Empty for a file without a backslash.
pub fn escaped_strings(text: &str) -> Vec<String> {
    if !text.contains('\\') {
        return Vec::new();
    }
    let mut lx = Lexer::new(text, &[]);
    lx.collect = Some(Vec::new());
    let mut scratch = Diags::default();
    while lx.next(&mut scratch).is_some() {}
    lx.collect.unwrap_or_default()
}

/// Words that start a `set`-form command.
fn is_command(w: &str) -> bool {
    matches!(w, "set" | "deactivate" | "delete" | "activate" | "insert" | "annotate" | "protect" | "unprotect" | "rename" | "edit" | "top" | "up" | "exit")
}

struct Builder<'a, 'd> {
    flat: Flat<'a>,
    deactivated: HashMap<Vec<Word<'a>>, u32>,
    activated: HashMap<Vec<Word<'a>>, u32>,
    deleted: HashMap<Vec<Word<'a>>, u32>,
    ord: u32,
    diags: &'d mut Diags,
    /// A statement's words with a list element inserted.
    scratch: Vec<(Word<'a>, u32)>,
}

impl<'a> Builder<'a, '_> {
    /// Open a block of the given words under block `parent`.
    fn open(&mut self, parent: usize, words: &[(Word<'a>, u32)]) -> usize {
        let w: Vec<Word<'a>> = words.iter().map(|x| x.0).collect();
        let l: Vec<u32> = words.iter().map(|x| x.1).collect();
        self.flat.add_node(parent, &w, &l, false)
    }

    /// Emit the statement of block `node` with its own words `tail`, expanding a `[ ... ]`
    /// list (at a position of `tail`) into one statement per element.
    fn emit(&mut self, node: usize, tail: &[(Word<'a>, u32)], list: Option<(usize, &[(Word<'a>, u32)])>, active: bool) {
        match list {
            Some((at, items)) if !items.is_empty() => {
                let mut w = std::mem::take(&mut self.scratch);
                for it in items {
                    w.clear();
                    w.extend_from_slice(tail);
                    let at = at.min(w.len());
                    w.insert(at, *it);
                    self.push(node, &w, active);
                }
                self.scratch = w;
            }
            _ => self.push(node, tail, active),
        }
    }

    fn push(&mut self, node: usize, tail: &[(Word<'a>, u32)], active: bool) {
        if self.flat.depth(node) == 0 && tail.is_empty() {
            return;
        }
        self.mark_path(node);
        for (_, l) in tail {
            mark(&mut self.flat.stmt_lines, *l);
        }
        self.ord += 1;
        let f = &mut self.flat;
        let start = f.words.len();
        f.words.extend(tail.iter().map(|x| x.0));
        f.lines.extend(tail.iter().map(|x| x.1));
        f.recs.push(Rec { node, start, len: tail.len(), active, ord: self.ord });
    }

    /// Mark the lines of a block's path as holding a statement (each block once).
    fn mark_path(&mut self, mut n: usize) {
        while let Some(node) = self.flat.nodes.get(n).copied() {
            if node.marked {
                break;
            }
            for k in node.start..node.start + node.len {
                if let Some(&l) = self.flat.lines.get(k) {
                    mark(&mut self.flat.stmt_lines, l);
                }
            }
            if let Some(x) = self.flat.nodes.get_mut(n) {
                x.marked = true;
            }
            n = node.parent;
        }
    }
}

/// Strip a leading modifier (`inactive:`, `replace:`, `protect:` ...) from a word; the result
/// says whether it made the statement inactive.
fn modifier(w: &str) -> Option<bool> {
    match w {
        "inactive:" => Some(true),
        "replace:" | "protect:" | "active:" | "delete:" | "unprotect:" => Some(false),
        _ => None,
    }
}

/// Flatten a configuration in either form (or a mix) into statements. `escaped` is
/// [`escaped_strings`] of the same text.
pub fn flatten<'a>(text: &'a str, escaped: &'a [String], diags: &mut Diags) -> Flat<'a> {
    let mut lx = Lexer::new(text, escaped);
    let mut b = Builder {
        flat: Flat::default(),
        deactivated: HashMap::new(),
        activated: HashMap::new(),
        deleted: HashMap::new(),
        ord: 0,
        diags,
        scratch: Vec::new(),
    };
    // Brace state: the stack of open blocks (node, inactive, had children).
    let mut stack: Vec<(usize, bool, bool)> = Vec::new();
    let mut cur: Vec<(Word<'a>, u32)> = Vec::new();
    let mut cur_inactive = false;
    let mut list: Option<(usize, Vec<(Word<'a>, u32)>)> = None;
    let mut in_list = false;
    // How many of the open blocks are inactive.
    let mut pre_inactive = 0usize;
    let top = |stack: &[(usize, bool, bool)]| stack.last().map_or(NONE, |t| t.0);
    while let Some((tok, line)) = lx.next(&mut *b.diags) {
        // A `set`-form command: only at the top level, at the start of a statement.
        if stack.is_empty() && cur.is_empty() && list.is_none() {
            if let Tok::Word(w) = tok {
                if is_command(w) {
                    let cmd = w;
                    let mut words: Vec<(Word<'a>, u32)> = Vec::new();
                    let mut items: Vec<(Word<'a>, u32)> = Vec::new();
                    let mut list_at: Option<usize> = None;
                    let mut inl = false;
                    while let Some((t2, l2)) = lx.next(&mut *b.diags) {
                        if t2 == Tok::Newline {
                            break;
                        }
                        match t2 {
                            Tok::Word(x) if inl => items.push((x, l2)),
                            Tok::Word(x) => words.push((x, l2)),
                            Tok::LBracket => {
                                inl = true;
                                list_at = Some(words.len());
                            }
                            Tok::RBracket => inl = false,
                            _ => {}
                        }
                    }
                    let path: Vec<Word<'a>> = words.iter().map(|(w, _)| *w).collect();
                    mark(&mut b.flat.stmt_lines, line);
                    match cmd {
                        "set" => {
                            b.emit(NONE, &words, list_at.map(|a| (a, &items[..])), true);
                        }
                        "deactivate" => {
                            let o = b.ord;
                            b.deactivated.insert(path.clone(), o + 1);
                            b.activated.remove(&path);
                            b.ord += 1;
                        }
                        "activate" => {
                            let o = b.ord;
                            b.activated.insert(path, o + 1);
                            b.ord += 1;
                        }
                        "delete" => {
                            let o = b.ord;
                            b.deleted.insert(path, o + 1);
                            b.ord += 1;
                        }
                        // Annotations, protection and navigation change nothing that passes.
                        "annotate" | "protect" | "unprotect" | "top" | "up" | "exit" => {}
                        _ => {
                            let text = format!("{cmd} {}", path.join(" "));
                            b.diags.push(
                                codes::UNRECOGNIZED,
                                Severity::Warning,
                                line,
                                &text,
                                format!("the `{cmd}` command is not followed: the configuration may differ"),
                            );
                        }
                    }
                    continue;
                }
            }
        }
        match tok {
            Tok::Word(w) => {
                if in_list {
                    if let Some((_, items)) = &mut list {
                        items.push((w, line));
                    }
                } else if cur.is_empty() && list.is_none() && modifier(w).is_some() {
                    cur_inactive |= modifier(w).unwrap_or(false);
                } else {
                    cur.push((w, line));
                }
            }
            Tok::LBracket => {
                in_list = true;
                list = Some((cur.len(), Vec::new()));
            }
            Tok::RBracket => in_list = false,
            Tok::Semi | Tok::Newline => {
                if in_list {
                    // A newline inside `[ ... ]` continues the list.
                } else if !cur.is_empty() || list.is_some() {
                    if let Some(t) = stack.last_mut() {
                        t.2 = true;
                    }
                    let l = list.take();
                    b.emit(top(&stack), &cur, l.as_ref().map(|(a, it)| (*a, &it[..])), !(pre_inactive > 0 || cur_inactive));
                    cur.clear();
                    cur_inactive = false;
                }
            }
            Tok::LBrace => {
                if let Some(t) = stack.last_mut() {
                    t.2 = true;
                }
                if let Some((at, items)) = list.take() {
                    // `foo [ a b ] {` is not valid Junos; keep the words.
                    let at = at.min(cur.len());
                    for (k, it) in items.into_iter().enumerate() {
                        cur.insert(at + k, it);
                    }
                }
                if cur.is_empty() {
                    b.diags.push(codes::STRUCTURE, Severity::Warning, line, "{", "a block without a name");
                }
                let node = b.open(top(&stack), &cur);
                cur.clear();
                pre_inactive += usize::from(cur_inactive);
                stack.push((node, cur_inactive, false));
                cur_inactive = false;
            }
            Tok::RBrace => {
                if !cur.is_empty() {
                    // A last statement without `;`.
                    let l = list.take();
                    b.emit(top(&stack), &cur, l.as_ref().map(|(a, it)| (*a, &it[..])), !(pre_inactive > 0 || cur_inactive));
                    cur.clear();
                    cur_inactive = false;
                }
                match stack.pop() {
                    Some((node, inactive, had_children)) => {
                        pre_inactive -= usize::from(inactive);
                        let named = b.flat.nodes.get(node).is_some_and(|n| n.len > 0);
                        if !had_children && named {
                            // An empty block `foo { }` still states `foo`.
                            b.emit(node, &[], None, !(inactive || pre_inactive > 0));
                        }
                    }
                    None => {
                        b.diags.push(codes::STRUCTURE, Severity::Warning, line, "}", "closing brace without an opening one");
                    }
                }
            }
        }
    }
    if !cur.is_empty() {
        let l = list.take();
        b.emit(top(&stack), &cur, l.as_ref().map(|(a, it)| (*a, &it[..])), !(pre_inactive > 0 || cur_inactive));
    }
    if let Some(&(node, _, _)) = stack.first() {
        let (w, l) = b.flat.nodes.get(node).map_or((&[][..], &[][..]), |n| b.flat.own(n.start, n.len));
        let line = l.first().copied().unwrap_or(0);
        let text = w.join(" ");
        b.diags.push(
            codes::STRUCTURE,
            Severity::Warning,
            line,
            &text,
            format!("{} block(s) never closed at the end of the file", stack.len()),
        );
    }

    // deactivate / activate / delete of `set`-form lines.
    let Builder { mut flat, deactivated, activated, deleted, .. } = b;
    if !deactivated.is_empty() || !deleted.is_empty() {
        let mut prefix: Vec<Word<'a>> = Vec::new();
        // per statement: kept, and active
        let mut fate: Vec<(bool, bool)> = Vec::with_capacity(flat.recs.len());
        flat.each(|_, s| {
            prefix.clear();
            let mut keep = true;
            let mut active = s.active;
            let ord = flat.recs.get(fate.len()).map_or(0, |r| r.ord);
            for w in s.words {
                prefix.push(*w);
                if let Some(&o) = deleted.get(&prefix) {
                    if o > ord {
                        keep = false;
                        break;
                    }
                }
                if let Some(&o) = deactivated.get(&prefix) {
                    if activated.get(&prefix).is_none_or(|&a| a < o) {
                        active = false;
                    }
                }
            }
            fate.push((keep, active));
        });
        let mut it = fate.into_iter();
        flat.recs.retain_mut(|r| {
            let (keep, active) = it.next().unwrap_or((true, r.active));
            r.active = active;
            keep
        });
    }
    expand_groups(&mut flat);
    flat
}

/// Glob match of a group path element (`<*>`, `<ge-*>`, `<*.0>`) against a word.
fn glob(pat: &str, w: &str) -> bool {
    let p = pat.as_bytes();
    let s = w.as_bytes();
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let mut steps = 0u32;
    while si < s.len() {
        steps += 1;
        if steps > 10_000 {
            return false;
        }
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// A group path element: `<pattern>` is a wildcard.
fn wildcard(w: &str) -> Option<&str> {
    w.strip_prefix('<').and_then(|x| x.strip_suffix('>'))
}

fn elem_matches(pat: &str, w: &str) -> bool {
    match wildcard(pat) {
        Some(g) => glob(g, w),
        None => pat == w,
    }
}

/// Work budget for group expansion (statement comparisons), against blow-ups.
const GROUP_BUDGET: u64 = 20_000_000;

/// Expand `apply-groups`: every statement of a named group whose path lies under the place the
/// group is applied is added there, with the group line as its provenance. Group paths with
/// wildcards (`<*>`) are added for every configured name they match. Group definitions are then
/// removed from the statement list.
fn expand_groups(flat: &mut Flat<'_>) {
    let mut groups: HashMap<Word<'_>, Vec<usize>> = HashMap::new();
    let mut applies: Vec<(Vec<Word<'_>>, Word<'_>, u32, bool)> = Vec::new();
    let mut normal: Vec<usize> = Vec::new();
    // the statements of one group follow each other: the last group's list is at hand
    let mut last: Option<(Word<'_>, Vec<usize>)> = None;
    flat.each(|i, s| {
        if s.words.first().copied() == Some("groups") {
            if let Some(&g) = s.words.get(1) {
                match &mut last {
                    Some((lg, v)) if *lg == g => v.push(i),
                    _ => {
                        if let Some((lg, v)) = last.take() {
                            groups.entry(lg).or_default().extend(v);
                        }
                        last = Some((g, vec![i]));
                    }
                }
            }
            return;
        }
        if s.active {
            normal.push(i);
        }
        let n = s.words.len();
        if n >= 2 && s.words.get(n - 2).copied() == Some("apply-groups") {
            if let Some(&g) = s.words.get(n - 1) {
                applies.push((s.words.get(..n - 2).unwrap_or(&[]).to_vec(), g, s.line(), s.active));
            }
        }
    });
    if let Some((lg, v)) = last.take() {
        groups.entry(lg).or_default().extend(v);
    }
    if groups.is_empty() {
        return;
    }
    // Groups applying other groups (inside a group definition): followed to a depth of 4.
    let mut added: Vec<Rec> = Vec::new();
    let mut budget = GROUP_BUDGET;
    let mut queue: Vec<(Vec<Word<'_>>, Word<'_>, bool, u32)> =
        applies.iter().map(|(l, g, _, a)| (l.clone(), *g, *a, 0)).collect();
    // the whole paths of the normal statements, gathered when a wildcard first needs them
    let mut normal_paths: Option<(Vec<Word<'_>>, Vec<(usize, usize)>)> = None;
    let mut cursor = Cursor::default();
    let mut words: Vec<Word<'_>> = Vec::new();
    while let Some((loc, g, active, depth)) = queue.pop() {
        // Chassis clusters apply `${node}`: the group of the node the configuration runs on;
        // the model takes node0, the primary.
        let g: Word<'_> = if g == "${node}" { "node0" } else { g };
        let Some(members) = groups.get(&g) else { continue };
        // blocks of the group mirrored under `loc` for this application
        let mut mirrors = Mirrors::default();
        for &mi in members {
            let Some(r) = flat.recs.get(mi).copied() else { continue };
            cursor.fill(flat, &r);
            let rest = cursor.w.get(2..).unwrap_or(&[]);
            let rest_lines = cursor.l.get(2..).unwrap_or(&[]);
            if rest.len() < loc.len() || !loc.iter().zip(rest.iter()).all(|(l, r)| elem_matches(r, l)) {
                continue;
            }
            let n = rest.len();
            if n >= 2 && rest.get(n - 2).copied() == Some("apply-groups") {
                if depth < 4 {
                    let mut l2 = loc.clone();
                    l2.extend(rest.get(loc.len()..n - 2).unwrap_or(&[]).iter().copied());
                    if let Some(&g2) = rest.get(n - 1) {
                        queue.push((l2, g2, active && r.active, depth + 1));
                    }
                }
                continue;
            }
            words.clear();
            words.extend_from_slice(&loc);
            words.extend_from_slice(rest.get(loc.len()..).unwrap_or(&[]));
            let last_wild = words.iter().rposition(|w| wildcard(w).is_some());
            match last_wild {
                None => {
                    let rec = flat.shifted(&r, &loc, &cursor.l, &mut mirrors, active && r.active);
                    added.push(rec);
                }
                Some(lw) => {
                    // Substitute every configured path matching the wildcard prefix.
                    let (pw, spans) = normal_paths.get_or_insert_with(|| {
                        let (mut pw, mut spans) = (Vec::new(), Vec::new());
                        let mut c = Cursor::default();
                        for &ni in &normal {
                            if let Some(nr) = flat.recs.get(ni) {
                                c.fill(flat, nr);
                                spans.push((pw.len(), c.w.len()));
                                pw.extend_from_slice(&c.w);
                            }
                        }
                        (pw, spans)
                    });
                    let pat = words.get(..=lw).unwrap_or(&[]);
                    let after = words.get(lw + 1..).unwrap_or(&[]);
                    let mut seen: HashSet<&[Word<'_>]> = HashSet::new();
                    let mut subs: Vec<Vec<Word<'_>>> = Vec::new();
                    for &(start, len) in spans.iter() {
                        budget = budget.saturating_sub(1);
                        if budget == 0 {
                            break;
                        }
                        let s = pw.get(start..start + len).unwrap_or(&[]);
                        if s.len() > lw && pat.iter().zip(s.iter()).all(|(p, w)| elem_matches(p, w)) {
                            let sub = s.get(..=lw).unwrap_or(&[]);
                            if seen.insert(sub) {
                                let mut w2 = sub.to_vec();
                                w2.extend_from_slice(after);
                                subs.push(w2);
                            }
                        }
                    }
                    let rest_lines = rest_lines.to_vec();
                    for w2 in subs {
                        let start = flat.append(&w2, &rest_lines);
                        added.push(Rec { node: NONE, start, len: w2.len(), active: active && r.active, ord: r.ord });
                    }
                }
            }
        }
        if budget == 0 {
            break;
        }
    }
    let keep: Vec<bool> = flat.recs.iter().map(|r| flat.first_word(r) != Some("groups")).collect();
    let mut it = keep.into_iter();
    flat.recs.retain(|_| it.next().unwrap_or(true));
    flat.recs.extend(added);
}

/// Mark a line as holding a statement.
fn mark(lines: &mut Vec<bool>, line: u32) {
    let i = line as usize;
    if i >= lines.len() {
        lines.resize(i + 1, false);
    }
    lines[i] = true;
}

/// Lines holding no statement (comments, blanks, braces), for counting skipped lines.
pub fn count_skipped(text: &str, stmt_lines: &[bool]) -> u32 {
    let total = count_lines(text);
    let lines = stmt_lines.get(1..).unwrap_or(&[]);
    let covered = lines.get(..total.min(lines.len())).unwrap_or(&[]).iter().filter(|b| **b).count();
    u32::try_from(total - covered.min(total)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod test {
    use super::*;

    fn flat(t: &str) -> Vec<String> {
        let mut d = Diags::default();
        let esc = escaped_strings(t);
        let mut out = Vec::new();
        flatten(t, &esc, &mut d).each(|_, s| out.push(format!("{}{}", if s.active { "" } else { "!" }, s.words.join(" "))));
        out
    }

    #[test]
    fn brace_and_set_forms_flatten_alike() {
        let brace = "system {\n  host-name r1;\n}\ninterfaces {\n  ge-0/0/0 {\n    unit 0 {\n      family inet {\n        address 10.0.0.1/24;\n      }\n    }\n  }\n}\n";
        let set = "set system host-name r1\nset interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24\n";
        assert_eq!(flat(brace), flat(set));
    }

    #[test]
    fn lists_comments_inactive_and_quotes() {
        let t = "/* note */\nfirewall { filter F { term t { from { destination-port [ 80 443 ]; } then accept; } } }\n# c\ninactive: routing-options { static { route 0.0.0.0/0 next-hop 1.1.1.1; } }\nsystem { host-name \"a b\"; } ## trailing\n";
        assert_eq!(
            flat(t),
            vec![
                "firewall filter F term t from destination-port 80",
                "firewall filter F term t from destination-port 443",
                "firewall filter F term t then accept",
                "!routing-options static route 0.0.0.0/0 next-hop 1.1.1.1",
                "system host-name a b",
            ]
        );
    }

    #[test]
    fn deactivate_delete_and_groups() {
        let t = "set a b c\nset a d e\ndeactivate a b\nset x y\ndelete x\nset x z\nset groups G interfaces <ge-*> unit 0 family inet filter input F\nset interfaces ge-0/0/1 unit 0 family inet address 1.1.1.1/24\nset apply-groups G\n";
        assert_eq!(
            flat(t),
            vec![
                "!a b c",
                "a d e",
                "x z",
                "interfaces ge-0/0/1 unit 0 family inet address 1.1.1.1/24",
                "apply-groups G",
                "interfaces ge-0/0/1 unit 0 family inet filter input F",
            ]
        );
    }

    #[test]
    fn groups_applied_below_the_top_in_both_forms() {
        // a group applied in a block: its statements under that block keep the group's lines
        let brace = "groups {\n  G {\n    interfaces {\n      ge-0/0/0 {\n        unit 0 {\n          family inet {\n            filter { input F; }\n            mtu 1400;\n          }\n        }\n        description d;\n      }\n    }\n  }\n  H { system { host-name h; } }\n  I { apply-groups H; }\n}\ninterfaces {\n  ge-0/0/0 {\n    apply-groups G;\n    unit 0 { family inet { address 10.0.0.1/24; } }\n  }\n}\napply-groups I;\n";
        let set = "set groups G interfaces ge-0/0/0 unit 0 family inet filter input F\nset groups G interfaces ge-0/0/0 unit 0 family inet mtu 1400\nset groups G interfaces ge-0/0/0 description d\nset groups H system host-name h\nset groups I apply-groups H\nset interfaces ge-0/0/0 apply-groups G\nset interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24\nset apply-groups I\n";
        let want = vec![
            "interfaces ge-0/0/0 apply-groups G",
            "interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24",
            "apply-groups I",
            "system host-name h",
            "interfaces ge-0/0/0 unit 0 family inet filter input F",
            "interfaces ge-0/0/0 unit 0 family inet mtu 1400",
            "interfaces ge-0/0/0 description d",
        ];
        assert_eq!(flat(brace), want);
        assert_eq!(flat(set), want);
        // the lines of the expanded statements are those of the group's words
        let mut d = Diags::default();
        let f = flatten(brace, &[], &mut d);
        let mut lines = Vec::new();
        f.each(|_, s| lines.push(s.lines.to_vec()));
        assert_eq!(lines.get(4), Some(&vec![3, 4, 5, 5, 6, 6, 7, 7, 7]));
        assert_eq!(lines.get(3), Some(&vec![15, 15, 15]));
    }

    #[test]
    fn line_index_and_count_agree_with_str_lines() {
        let texts = [
            "", "\n", "a", "a\n", "a\nb", "\n\x0b\n\n\x0b\x0b\n", "x\r\ny\r\n", "0123456\n89abcdef\n\n\n\n\n\n\n\n\n\n\n z ",
            "é\nü\x0b\n\u{2028}\n\n\n\n\n\n\n\n\n\n\n\n\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\n",
        ];
        for t in texts {
            let lines: Vec<&str> = t.lines().collect();
            assert_eq!(count_lines(t), lines.len(), "{t:?}");
            let ix = LineIndex::new(t);
            for k in 0..lines.len() + 3 {
                let want = lines.get(k.wrapping_sub(1)).map_or("", |l| l.trim());
                assert_eq!(ix.trimmed(k as u32), want, "{t:?} line {k}");
            }
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", "x"));
        assert!(glob("ge-*", "ge-0/0/1"));
        assert!(!glob("ge-*", "xe-0/0/1"));
        assert!(glob("*.0", "lo0.0"));
        assert!(glob("a?c", "abc"));
    }
}
