//! Both Junos configuration forms into one list of set statements.
//!
//! The hierarchical (brace) form and the `set` form (`show configuration | display set`) are
//! turned into the same [`Stmt`] list: the full path of words of every leaf statement, with the
//! line each word came from. `[ a b ]` lists become one statement per element. `inactive:`
//! subtrees and `deactivate` lines mark statements inactive; `delete` lines remove earlier
//! statements; `groups` are kept apart and expanded where `apply-groups` names them.
#![allow(clippy::type_complexity)]

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use crate::diag::{codes, Diags, Severity};

/// One word of a statement, shared between the statements of a block.
pub type Word = Rc<str>;

/// One leaf statement: its full path of words.
#[derive(Clone, Debug)]
pub struct Stmt {
    /// The words of the path, unquoted (`interfaces ge-0/0/0 unit 0 family inet address ...`).
    pub words: Vec<Word>,
    /// The line of each word (one-based). In the `set` form all are the same line.
    pub lines: Vec<u32>,
    /// False when the statement or one of its parents is deactivated.
    pub active: bool,
    /// Position in the input (for `delete` ordering).
    ord: u32,
}

impl Stmt {
    /// The line of the statement's last word (where the leaf is).
    pub fn line(&self) -> u32 {
        self.lines.last().copied().unwrap_or(0)
    }

    /// The line of word `i` (the last line when out of range).
    pub fn line_at(&self, i: usize) -> u32 {
        self.lines.get(i).copied().unwrap_or_else(|| self.line())
    }

    /// The words as string slices.
    pub fn ws(&self) -> Vec<&str> {
        self.words.iter().map(|w| &**w).collect()
    }
}

/// The result of flattening one file.
#[derive(Debug, Default)]
pub struct Flat {
    /// Statements of the configuration proper (groups expanded into it), in input order.
    pub stmts: Vec<Stmt>,
    /// Lines that hold at least one statement (of any kind), indexed by line number.
    pub stmt_lines: Vec<bool>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(Word),
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
struct Lexer<'t> {
    b: &'t [u8],
    i: usize,
    line: u32,
    line_start: bool,
    /// Configurations repeat the same words on every line: each distinct word is allocated once.
    interned: HashMap<&'t [u8], Word, BuildHasherDefault<WordHasher>>,
}

/// A fast non-cryptographic hasher for interning words (the words are short; SipHash's
/// collision resistance buys nothing here and costs a large share of lexing).
#[derive(Default)]
struct WordHasher(u64);

impl WordHasher {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.add(u64::from_le_bytes(a));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(a));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'t> Lexer<'t> {
    fn new(text: &'t str) -> Self {
        Lexer { b: text.as_bytes(), i: 0, line: 1, line_start: true, interned: HashMap::default() }
    }

    fn next(&mut self, diags: &mut Diags) -> Option<(Tok, u32)> {
        let t = self.raw(diags);
        self.line_start = matches!(t, Some((Tok::Newline, _)));
        t
    }

    fn raw(&mut self, diags: &mut Diags) -> Option<(Tok, u32)> {
        let b = self.b;
        while self.i < b.len() {
            let i = self.i;
            let line = self.line;
            let single = match b[i] {
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
            match b[i] {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'!' if self.line_start => self.skip_line(),
                b'#' => self.skip_line(),
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    self.i += 2;
                    let mut closed = false;
                    while self.i < b.len() {
                        if b[self.i] == b'*' && b.get(self.i + 1) == Some(&b'/') {
                            self.i += 2;
                            closed = true;
                            break;
                        }
                        if b[self.i] == b'\n' {
                            self.line = self.line.saturating_add(1);
                        }
                        self.i += 1;
                    }
                    if !closed {
                        diags.push(codes::STRUCTURE, Severity::Warning, line, "/*", "comment never closed: the rest of the file is a comment");
                    }
                }
                b'"' => {
                    self.i += 1;
                    let mut s = Vec::new();
                    let mut closed = false;
                    while self.i < b.len() {
                        match b[self.i] {
                            b'\\' if self.i + 1 < b.len() => {
                                s.push(b[self.i + 1]);
                                if b[self.i + 1] == b'\n' {
                                    self.line = self.line.saturating_add(1);
                                }
                                self.i += 2;
                            }
                            b'"' => {
                                self.i += 1;
                                closed = true;
                                break;
                            }
                            ch => {
                                if ch == b'\n' {
                                    self.line = self.line.saturating_add(1);
                                }
                                s.push(ch);
                                self.i += 1;
                            }
                        }
                    }
                    if !closed {
                        diags.push(codes::STRUCTURE, Severity::Warning, line, "\"", "quoted string never closed");
                    }
                    return Some((Tok::Word(Rc::from(String::from_utf8_lossy(&s).as_ref())), line));
                }
                _ => {
                    let start = i;
                    let mut k = i;
                    // `[` and `]` inside a word are part of it (`ge-0/0/[1-3]`); alone they bracket a list.
                    while k < b.len() && !matches!(b[k], b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b';' | b'"') {
                        k += 1;
                    }
                    self.i = k.max(start + 1);
                    let bytes = &b[start..k];
                    let w = match self.interned.get(bytes) {
                        Some(w) => w.clone(),
                        None => {
                            let w: Word = Rc::from(String::from_utf8_lossy(bytes).as_ref());
                            if self.interned.len() < 1 << 20 {
                                self.interned.insert(bytes, w.clone());
                            }
                            w
                        }
                    };
                    return Some((Tok::Word(w), line));
                }
            }
        }
        None
    }

    fn skip_line(&mut self) {
        while self.i < self.b.len() && self.b[self.i] != b'\n' {
            self.i += 1;
        }
    }
}

/// Words that start a `set`-form command.
fn is_command(w: &str) -> bool {
    matches!(w, "set" | "deactivate" | "delete" | "activate" | "insert" | "annotate" | "protect" | "unprotect" | "rename" | "edit" | "top" | "up" | "exit")
}

struct Builder<'d> {
    stmts: Vec<Stmt>,
    deactivated: HashMap<Vec<Word>, u32>,
    activated: HashMap<Vec<Word>, u32>,
    deleted: HashMap<Vec<Word>, u32>,
    ord: u32,
    diags: &'d mut Diags,
    stmt_lines: Vec<bool>,
}

impl Builder<'_> {
    /// Emit one statement, expanding a `[ ... ]` list into one statement per element.
    fn emit(&mut self, words: Vec<(Word, u32)>, list: Option<(usize, Vec<(Word, u32)>)>, active: bool) {
        match list {
            Some((at, items)) if !items.is_empty() => {
                for it in items {
                    let mut w = words.clone();
                    let at = at.min(w.len());
                    w.insert(at, it);
                    self.push(w, active);
                }
            }
            _ => self.push(words, active),
        }
    }

    fn push(&mut self, words: Vec<(Word, u32)>, active: bool) {
        if words.is_empty() {
            return;
        }
        for (_, l) in &words {
            mark(&mut self.stmt_lines, *l);
        }
        self.ord += 1;
        let mut w: Vec<Word> = Vec::with_capacity(words.len());
        let mut l: Vec<u32> = Vec::with_capacity(words.len());
        for (x, y) in words {
            w.push(x);
            l.push(y);
        }
        self.stmts.push(Stmt { words: w, lines: l, active, ord: self.ord });
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

/// Flatten a configuration in either form (or a mix) into statements.
pub fn flatten(text: &str, diags: &mut Diags) -> Flat {
    let mut lx = Lexer::new(text);
    let mut b = Builder {
        stmts: Vec::new(),
        deactivated: HashMap::new(),
        activated: HashMap::new(),
        deleted: HashMap::new(),
        ord: 0,
        diags,
        stmt_lines: Vec::new(),
    };
    // Brace state: the stack of open blocks (path words, inactive, had children).
    let mut stack: Vec<(Vec<(Word, u32)>, bool, bool)> = Vec::new();
    let mut cur: Vec<(Word, u32)> = Vec::new();
    let mut cur_inactive = false;
    let mut list: Option<(usize, Vec<(Word, u32)>)> = None;
    let mut in_list = false;
    // The concatenated words of the open blocks and how many of them are inactive, kept in step
    // with `stack` so that each statement copies its prefix once instead of rebuilding it.
    let mut pre: Vec<(Word, u32)> = Vec::new();
    let mut pre_inactive = 0usize;
    let path_of = |pre: &Vec<(Word, u32)>, pre_inactive: usize, extra: usize| -> (Vec<(Word, u32)>, bool) {
        let mut p = Vec::with_capacity(pre.len() + extra);
        p.extend(pre.iter().cloned());
        (p, pre_inactive > 0)
    };
    while let Some((tok, line)) = lx.next(&mut *b.diags) {
        let tok = &tok;
        // A `set`-form command: only at the top level, at the start of a statement.
        if stack.is_empty() && cur.is_empty() && list.is_none() {
            if let Tok::Word(w) = tok {
                if is_command(w) {
                    let cmd = w.clone();
                    let mut words: Vec<(Word, u32)> = Vec::new();
                    let mut items: Vec<(Word, u32)> = Vec::new();
                    let mut list_at: Option<usize> = None;
                    let mut inl = false;
                    while let Some((t2, l2)) = lx.next(&mut *b.diags) {
                        if t2 == Tok::Newline {
                            break;
                        }
                        match &t2 {
                            Tok::Word(x) if inl => items.push((x.clone(), l2)),
                            Tok::Word(x) => words.push((x.clone(), l2)),
                            Tok::LBracket => {
                                inl = true;
                                list_at = Some(words.len());
                            }
                            Tok::RBracket => inl = false,
                            _ => {}
                        }
                    }
                    let path: Vec<Word> = words.iter().map(|(w, _)| w.clone()).collect();
                    mark(&mut b.stmt_lines, line);
                    match &*cmd {
                        "set" => {
                            let l = list_at.map(|a| (a, std::mem::take(&mut items)));
                            b.emit(words, l, true);
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
                        items.push((w.clone(), line));
                    }
                } else if cur.is_empty() && list.is_none() && modifier(w).is_some() {
                    cur_inactive |= modifier(w).unwrap_or(false);
                } else {
                    cur.push((w.clone(), line));
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
                    let (mut p, inactive) = path_of(&pre, pre_inactive, cur.len());
                    if let Some(top) = stack.last_mut() {
                        top.2 = true;
                    }
                    let plen = p.len();
                    p.append(&mut cur);
                    let l = list.take().map(|(a, it)| (a + plen, it));
                    b.emit(p, l, !(inactive || cur_inactive));
                    cur_inactive = false;
                }
            }
            Tok::LBrace => {
                if let Some(top) = stack.last_mut() {
                    top.2 = true;
                }
                let mut words = std::mem::take(&mut cur);
                if let Some((at, items)) = list.take() {
                    // `foo [ a b ] {` is not valid Junos; keep the words.
                    let at = at.min(words.len());
                    for (k, it) in items.into_iter().enumerate() {
                        words.insert(at + k, it);
                    }
                }
                if words.is_empty() {
                    b.diags.push(codes::STRUCTURE, Severity::Warning, line, "{", "a block without a name");
                }
                pre.extend(words.iter().cloned());
                pre_inactive += usize::from(cur_inactive);
                stack.push((words, cur_inactive, false));
                cur_inactive = false;
            }
            Tok::RBrace => {
                if !cur.is_empty() {
                    // A last statement without `;`.
                    let (mut p, inactive) = path_of(&pre, pre_inactive, cur.len());
                    let plen = p.len();
                    p.append(&mut cur);
                    let l = list.take().map(|(a, it)| (a + plen, it));
                    b.emit(p, l, !(inactive || cur_inactive));
                    cur_inactive = false;
                }
                match stack.pop() {
                    Some((words, inactive, had_children)) => {
                        pre.truncate(pre.len().saturating_sub(words.len()));
                        pre_inactive -= usize::from(inactive);
                        if !had_children && !words.is_empty() {
                            // An empty block `foo { }` still states `foo`.
                            let (mut p, pin) = path_of(&pre, pre_inactive, words.len());
                            p.extend(words);
                            b.emit(p, None, !(inactive || pin));
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
        let (mut p, inactive) = path_of(&pre, pre_inactive, cur.len());
        let plen = p.len();
        p.append(&mut cur);
        let l = list.take().map(|(a, it)| (a + plen, it));
        b.emit(p, l, !(inactive || cur_inactive));
    }
    if let Some((w, _, _)) = stack.first() {
        let line = w.first().map_or(0, |x| x.1);
        let text = w.iter().map(|x| &*x.0).collect::<Vec<_>>().join(" ");
        b.diags.push(
            codes::STRUCTURE,
            Severity::Warning,
            line,
            &text,
            format!("{} block(s) never closed at the end of the file", stack.len()),
        );
    }

    // deactivate / activate / delete of `set`-form lines.
    let Builder { mut stmts, deactivated, activated, deleted, stmt_lines, .. } = b;
    if !deactivated.is_empty() || !deleted.is_empty() {
        let mut prefix: Vec<Word> = Vec::new();
        stmts.retain_mut(|s| {
            prefix.clear();
            let mut keep = true;
            for w in s.words.iter() {
                prefix.push(w.clone());
                if let Some(&o) = deleted.get(&prefix) {
                    if o > s.ord {
                        keep = false;
                        break;
                    }
                }
                if let Some(&o) = deactivated.get(&prefix) {
                    if activated.get(&prefix).is_none_or(|&a| a < o) {
                        s.active = false;
                    }
                }
            }
            keep
        });
    }
    let mut flat = Flat { stmts, stmt_lines };
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
fn expand_groups(flat: &mut Flat) {
    let mut groups: HashMap<Word, Vec<usize>> = HashMap::new();
    let mut applies: Vec<(Vec<Word>, Word, u32, bool)> = Vec::new();
    for (i, s) in flat.stmts.iter().enumerate() {
        if s.words.first().map(|w| &**w) == Some("groups") {
            if let Some(g) = s.words.get(1) {
                groups.entry(g.clone()).or_default().push(i);
            }
            continue;
        }
        let n = s.words.len();
        if n >= 2 && &*s.words[n - 2] == "apply-groups" {
            applies.push((s.words[..n - 2].to_vec(), s.words[n - 1].clone(), s.line(), s.active));
        }
    }
    if groups.is_empty() {
        return;
    }
    // Groups applying other groups (inside a group definition): followed to a depth of 4.
    let mut added: Vec<Stmt> = Vec::new();
    let mut budget = GROUP_BUDGET;
    let mut queue: Vec<(Vec<Word>, Word, bool, u32)> =
        applies.iter().map(|(l, g, _, a)| (l.clone(), g.clone(), *a, 0)).collect();
    let normal: Vec<usize> = (0..flat.stmts.len())
        .filter(|&i| flat.stmts[i].active && flat.stmts[i].words.first().map(|w| &**w) != Some("groups"))
        .collect();
    while let Some((loc, g, active, depth)) = queue.pop() {
        // Chassis clusters apply `${node}`: the group of the node the configuration runs on;
        // the model takes node0, the primary.
        let g: Word = if &*g == "${node}" { Rc::from("node0") } else { g };
        let Some(members) = groups.get(&g) else { continue };
        for &mi in members {
            let m = &flat.stmts[mi];
            let rest = &m.words[2..];
            let rest_lines = &m.lines[2..];
            if rest.len() < loc.len() || !loc.iter().zip(rest.iter()).all(|(l, r)| elem_matches(r, l)) {
                continue;
            }
            let n = rest.len();
            if n >= 2 && &*rest[n - 2] == "apply-groups" {
                if depth < 4 {
                    let mut l2 = loc.clone();
                    l2.extend(rest[loc.len()..n - 2].iter().cloned());
                    queue.push((l2, rest[n - 1].clone(), active && m.active, depth + 1));
                }
                continue;
            }
            let mut words: Vec<Word> = loc.clone();
            words.extend(rest[loc.len()..].iter().cloned());
            let lines: Vec<u32> = rest_lines.to_vec();
            let last_wild = words.iter().rposition(|w| wildcard(w).is_some());
            match last_wild {
                None => added.push(Stmt { words, lines, active: active && m.active, ord: m.ord }),
                Some(lw) => {
                    // Substitute every configured path matching the wildcard prefix.
                    let pat = &words[..=lw];
                    let mut seen: HashSet<Vec<Word>> = HashSet::new();
                    for &ni in &normal {
                        budget = budget.saturating_sub(1);
                        if budget == 0 {
                            break;
                        }
                        let s = &flat.stmts[ni];
                        if s.words.len() > lw && pat.iter().zip(s.words.iter()).all(|(p, w)| elem_matches(p, w)) {
                            let sub = s.words[..=lw].to_vec();
                            if seen.insert(sub.clone()) {
                                let mut w2 = sub;
                                w2.extend(words[lw + 1..].iter().cloned());
                                added.push(Stmt { words: w2, lines: lines.clone(), active: active && m.active, ord: m.ord });
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
    flat.stmts.retain(|s| s.words.first().map(|w| &**w) != Some("groups"));
    flat.stmts.extend(added);
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
    let total = text.lines().count();
    let covered = stmt_lines.iter().skip(1).take(total).filter(|b| **b).count();
    u32::try_from(total - covered.min(total)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod test {
    use super::*;

    fn flat(t: &str) -> Vec<String> {
        let mut d = Diags::default();
        flatten(t, &mut d).stmts.iter().map(|s| format!("{}{}", if s.active { "" } else { "!" }, s.words.join(" "))).collect()
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
    fn globs() {
        assert!(glob("*", "x"));
        assert!(glob("ge-*", "ge-0/0/1"));
        assert!(!glob("ge-*", "xe-0/0/1"));
        assert!(glob("*.0", "lo0.0"));
        assert!(glob("a?c", "abc"));
    }
}
