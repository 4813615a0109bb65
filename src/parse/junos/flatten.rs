//! Both Junos configuration forms into one list of set statements.
//!
//! The hierarchical (brace) form and the `set` form (`show configuration | display set`) are
//! turned into the same [`Stmt`] list: the full path of words of every leaf statement, with the
//! line each word came from. `[ a b ]` lists become one statement per element. `inactive:`
//! subtrees and `deactivate` lines mark statements inactive; `delete` lines remove earlier
//! statements; `groups` are kept apart and expanded where `apply-groups` names them.
//!
//! Words are slices of the file (quoted strings with `\` escapes: of the unescaped texts
//! [`escaped_strings`] returns), and the statements' words are stored back to back in one list,
//! so a statement costs no allocation of its own.
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

/// Where a statement's words are in [`Flat`]'s lists.
#[derive(Clone, Copy, Debug)]
struct Rec {
    start: usize,
    len: usize,
    active: bool,
    /// Position in the input (for `delete` ordering).
    ord: u32,
}

/// The result of flattening one file.
#[derive(Debug, Default)]
pub struct Flat<'a> {
    /// The words of every statement, back to back.
    words: Vec<Word<'a>>,
    /// The line of each word in `words`.
    lines: Vec<u32>,
    /// Statements of the configuration proper (groups expanded into it), in input order.
    recs: Vec<Rec>,
    /// Lines that hold at least one statement (of any kind), indexed by line number.
    pub stmt_lines: Vec<bool>,
}

impl<'a> Flat<'a> {
    fn stmt(&self, r: &Rec) -> Stmt<'_, 'a> {
        let end = r.start.saturating_add(r.len);
        Stmt {
            words: self.words.get(r.start..end).unwrap_or(&[]),
            lines: self.lines.get(r.start..end).unwrap_or(&[]),
            active: r.active,
        }
    }

    /// The statements, in order.
    pub fn stmts(&self) -> impl Iterator<Item = Stmt<'_, 'a>> + '_ {
        self.recs.iter().map(move |r| self.stmt(r))
    }

    /// Append a statement (its lines are kept in step with its words).
    fn push(&mut self, words: &[Word<'a>], lines: &[u32], active: bool, ord: u32) {
        let start = self.words.len();
        self.words.extend_from_slice(words);
        if lines.len() == words.len() {
            self.lines.extend_from_slice(lines);
        } else {
            let last = lines.last().copied().unwrap_or(0);
            self.lines.extend(lines.iter().copied().chain(std::iter::repeat(last)).take(words.len()));
        }
        self.recs.push(Rec { start, len: words.len(), active, ord });
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
    /// A path with a list element inserted.
    scratch: Vec<(Word<'a>, u32)>,
}

impl<'a> Builder<'a, '_> {
    /// Emit the statement `head` + `tail`, expanding a `[ ... ]` list (at a position of the
    /// whole path) into one statement per element. The lines of `head[..marked]` are already
    /// marked as holding a statement.
    fn emit(
        &mut self,
        head: &[(Word<'a>, u32)],
        tail: &[(Word<'a>, u32)],
        list: Option<(usize, &[(Word<'a>, u32)])>,
        active: bool,
        marked: usize,
    ) {
        match list {
            Some((at, items)) if !items.is_empty() => {
                let mut w = std::mem::take(&mut self.scratch);
                for it in items {
                    w.clear();
                    w.extend_from_slice(head);
                    w.extend_from_slice(tail);
                    let at = at.min(w.len());
                    w.insert(at, *it);
                    self.push(&w, &[], active, marked.min(at));
                }
                self.scratch = w;
            }
            _ => self.push(head, tail, active, marked),
        }
    }

    fn push(&mut self, head: &[(Word<'a>, u32)], tail: &[(Word<'a>, u32)], active: bool, marked: usize) {
        if head.is_empty() && tail.is_empty() {
            return;
        }
        for (_, l) in head.get(marked..).unwrap_or(&[]).iter().chain(tail) {
            mark(&mut self.flat.stmt_lines, *l);
        }
        self.ord += 1;
        let f = &mut self.flat;
        let start = f.words.len();
        f.words.extend(head.iter().map(|x| x.0));
        f.words.extend(tail.iter().map(|x| x.0));
        f.lines.extend(head.iter().map(|x| x.1));
        f.lines.extend(tail.iter().map(|x| x.1));
        f.recs.push(Rec { start, len: head.len() + tail.len(), active, ord: self.ord });
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
    // Brace state: the stack of open blocks (number of path words, inactive, had children);
    // their words are the end of `pre`.
    let mut stack: Vec<(usize, bool, bool)> = Vec::new();
    let mut cur: Vec<(Word<'a>, u32)> = Vec::new();
    let mut cur_inactive = false;
    let mut list: Option<(usize, Vec<(Word<'a>, u32)>)> = None;
    let mut in_list = false;
    // The concatenated words of the open blocks and how many of them are inactive, kept in step
    // with `stack`.
    let mut pre: Vec<(Word<'a>, u32)> = Vec::new();
    let mut pre_inactive = 0usize;
    // How many words of `pre` have their lines marked as holding a statement already.
    let mut pre_marked = 0usize;
    b.flat.words.reserve(text.len() / 8);
    b.flat.lines.reserve(text.len() / 8);
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
                            b.emit(&words, &[], list_at.map(|a| (a, &items[..])), true, 0);
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
                    if let Some(top) = stack.last_mut() {
                        top.2 = true;
                    }
                    let plen = pre.len();
                    let l = list.take();
                    b.emit(&pre, &cur, l.as_ref().map(|(a, it)| (a + plen, &it[..])), !(pre_inactive > 0 || cur_inactive), pre_marked);
                    pre_marked = pre.len();
                    cur.clear();
                    cur_inactive = false;
                }
            }
            Tok::LBrace => {
                if let Some(top) = stack.last_mut() {
                    top.2 = true;
                }
                let n0 = pre.len();
                pre.append(&mut cur);
                if let Some((at, items)) = list.take() {
                    // `foo [ a b ] {` is not valid Junos; keep the words.
                    let at = n0 + at.min(pre.len() - n0);
                    for (k, it) in items.into_iter().enumerate() {
                        pre.insert(at + k, it);
                    }
                }
                let n = pre.len() - n0;
                if n == 0 {
                    b.diags.push(codes::STRUCTURE, Severity::Warning, line, "{", "a block without a name");
                }
                pre_inactive += usize::from(cur_inactive);
                stack.push((n, cur_inactive, false));
                cur_inactive = false;
            }
            Tok::RBrace => {
                if !cur.is_empty() {
                    // A last statement without `;`.
                    let plen = pre.len();
                    let l = list.take();
                    b.emit(&pre, &cur, l.as_ref().map(|(a, it)| (a + plen, &it[..])), !(pre_inactive > 0 || cur_inactive), pre_marked);
                    pre_marked = pre.len();
                    cur.clear();
                    cur_inactive = false;
                }
                match stack.pop() {
                    Some((n, inactive, had_children)) => {
                        pre_inactive -= usize::from(inactive);
                        if !had_children && n > 0 {
                            // An empty block `foo { }` still states `foo`.
                            b.emit(&pre, &[], None, !(inactive || pre_inactive > 0), pre_marked);
                            pre_marked = pre.len();
                        }
                        pre.truncate(pre.len().saturating_sub(n));
                        pre_marked = pre_marked.min(pre.len());
                    }
                    None => {
                        b.diags.push(codes::STRUCTURE, Severity::Warning, line, "}", "closing brace without an opening one");
                    }
                }
            }
        }
    }
    if !cur.is_empty() {
        let plen = pre.len();
        let l = list.take();
        b.emit(&pre, &cur, l.as_ref().map(|(a, it)| (a + plen, &it[..])), !(pre_inactive > 0 || cur_inactive), pre_marked);
    }
    if let Some(&(n, _, _)) = stack.first() {
        let w = pre.get(..n).unwrap_or(&[]);
        let line = w.first().map_or(0, |x| x.1);
        let text = w.iter().map(|x| x.0).collect::<Vec<_>>().join(" ");
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
        let words = &flat.words;
        flat.recs.retain_mut(|r| {
            prefix.clear();
            let mut keep = true;
            for w in words.get(r.start..r.start.saturating_add(r.len)).unwrap_or(&[]) {
                prefix.push(*w);
                if let Some(&o) = deleted.get(&prefix) {
                    if o > r.ord {
                        keep = false;
                        break;
                    }
                }
                if let Some(&o) = deactivated.get(&prefix) {
                    if activated.get(&prefix).is_none_or(|&a| a < o) {
                        r.active = false;
                    }
                }
            }
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
    // the statements of one group follow each other: the last group's list is at hand
    let mut last: Option<(Word<'_>, Vec<usize>)> = None;
    for (i, s) in flat.stmts().enumerate() {
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
            continue;
        }
        let n = s.words.len();
        if n >= 2 && s.words.get(n - 2).copied() == Some("apply-groups") {
            if let Some(&g) = s.words.get(n - 1) {
                applies.push((s.words.get(..n - 2).unwrap_or(&[]).to_vec(), g, s.line(), s.active));
            }
        }
    }
    if let Some((lg, v)) = last.take() {
        groups.entry(lg).or_default().extend(v);
    }
    if groups.is_empty() {
        return;
    }
    // Groups applying other groups (inside a group definition): followed to a depth of 4.
    let mut added = Flat::default();
    let mut budget = GROUP_BUDGET;
    let mut queue: Vec<(Vec<Word<'_>>, Word<'_>, bool, u32)> =
        applies.iter().map(|(l, g, _, a)| (l.clone(), *g, *a, 0)).collect();
    let normal: Vec<usize> =
        flat.stmts().enumerate().filter(|(_, s)| s.active && s.words.first().copied() != Some("groups")).map(|(i, _)| i).collect();
    let mut words: Vec<Word<'_>> = Vec::new();
    while let Some((loc, g, active, depth)) = queue.pop() {
        // Chassis clusters apply `${node}`: the group of the node the configuration runs on;
        // the model takes node0, the primary.
        let g: Word<'_> = if g == "${node}" { "node0" } else { g };
        let Some(members) = groups.get(&g) else { continue };
        for &mi in members {
            let Some(r) = flat.recs.get(mi) else { continue };
            let m = flat.stmt(r);
            let rest = m.words.get(2..).unwrap_or(&[]);
            let rest_lines = m.lines.get(2..).unwrap_or(&[]);
            if rest.len() < loc.len() || !loc.iter().zip(rest.iter()).all(|(l, r)| elem_matches(r, l)) {
                continue;
            }
            let n = rest.len();
            if n >= 2 && rest.get(n - 2).copied() == Some("apply-groups") {
                if depth < 4 {
                    let mut l2 = loc.clone();
                    l2.extend(rest.get(loc.len()..n - 2).unwrap_or(&[]).iter().copied());
                    if let Some(&g2) = rest.get(n - 1) {
                        queue.push((l2, g2, active && m.active, depth + 1));
                    }
                }
                continue;
            }
            words.clear();
            words.extend_from_slice(&loc);
            words.extend_from_slice(rest.get(loc.len()..).unwrap_or(&[]));
            let last_wild = words.iter().rposition(|w| wildcard(w).is_some());
            match last_wild {
                None => added.push(&words, rest_lines, active && m.active, r.ord),
                Some(lw) => {
                    // Substitute every configured path matching the wildcard prefix.
                    let pat = words.get(..=lw).unwrap_or(&[]);
                    let after = words.get(lw + 1..).unwrap_or(&[]);
                    let mut seen: HashSet<&[Word<'_>]> = HashSet::new();
                    for &ni in &normal {
                        budget = budget.saturating_sub(1);
                        if budget == 0 {
                            break;
                        }
                        let Some(nr) = flat.recs.get(ni) else { continue };
                        let s = flat.stmt(nr);
                        if s.words.len() > lw && pat.iter().zip(s.words.iter()).all(|(p, w)| elem_matches(p, w)) {
                            let sub = s.words.get(..=lw).unwrap_or(&[]);
                            if seen.insert(sub) {
                                let mut w2 = sub.to_vec();
                                w2.extend_from_slice(after);
                                added.push(&w2, rest_lines, active && m.active, r.ord);
                            }
                        }
                    }
                }
            }
        }
        if budget == 0 {
            break;
        }
    }
    let words = &flat.words;
    flat.recs.retain(|r| r.len == 0 || words.get(r.start).copied() != Some("groups"));
    let off = flat.words.len();
    flat.words.extend_from_slice(&added.words);
    flat.lines.extend_from_slice(&added.lines);
    flat.recs.extend(added.recs.iter().map(|r| Rec { start: r.start + off, ..*r }));
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
        flatten(t, &esc, &mut d).stmts().map(|s| format!("{}{}", if s.active { "" } else { "!" }, s.words.join(" "))).collect()
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
