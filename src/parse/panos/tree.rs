//! One configuration tree for the three PAN-OS text forms: the XML export, the brace form that
//! `show config running` prints, and `set` lines (with `delete` and `move`).
//!
//! Every node keeps the line it was written on. XML `<entry name="X">` elements become nodes
//! named `X` and `<member>` lists become values, so `<to><member>dmz</member></to>`, `to dmz;`,
//! `to [ dmz ];` and `set … to dmz` all give a node `to` with the value `dmz`.

use std::collections::HashMap;

use roxmltree::{Document, NodeType, ParsingOptions};

use crate::diag::{codes, Diags, Severity};

/// Deepest nesting read; deeper content is reported (P006) and not read.
pub const MAX_DEPTH: usize = 64;

/// One configuration node.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// Key or entry name.
    pub name: String,
    /// One-based line where it was written (first mention).
    pub line: u32,
    /// Values with their lines (`hostname fw1;`, `[ a b ]`, `<member>`s, text content).
    pub values: Vec<(String, u32)>,
    /// Child nodes in order.
    pub children: Vec<Node>,
    /// Positions of children by name, kept while building nodes with many children (a rulebase
    /// of thousands of rules written as `set` lines); dropped when children are reordered.
    idx: Option<HashMap<String, usize>>,
}

/// Children count from which lookups while building go through an index.
const INDEX_FROM: usize = 16;

impl Node {
    fn new(name: &str, line: u32) -> Node {
        Node { name: name.to_string(), line, values: Vec::new(), children: Vec::new(), idx: None }
    }

    /// A nameless node holding one child.
    pub fn wrap(child: Node) -> Node {
        let mut n = Node::default();
        n.children.push(child);
        n
    }

    /// An empty node with a name.
    pub fn named(name: &str) -> Node {
        Node::new(name, 0)
    }

    /// The child with this name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn position(&mut self, name: &str) -> Option<usize> {
        if self.children.len() < INDEX_FROM {
            return self.children.iter().position(|c| c.name == name);
        }
        if self.idx.is_none() {
            let mut m = HashMap::with_capacity(self.children.len());
            for (i, c) in self.children.iter().enumerate() {
                m.entry(c.name.clone()).or_insert(i);
            }
            self.idx = Some(m);
        }
        self.idx.as_ref().and_then(|m| m.get(name).copied())
    }

    fn push_child(&mut self, n: Node) -> usize {
        let i = self.children.len();
        if let Some(m) = &mut self.idx {
            m.entry(n.name.clone()).or_insert(i);
        }
        self.children.push(n);
        i
    }

    fn child_mut_or_new(&mut self, name: &str, line: u32) -> &mut Node {
        let i = match self.position(name) {
            Some(i) => i,
            None => self.push_child(Node::new(name, line)),
        };
        &mut self.children[i]
    }

    /// The last value (scalars: the last one written wins).
    pub fn value(&self) -> Option<&str> {
        self.values.last().map(|(v, _)| v.as_str())
    }

    /// Values and child names: a list written either way (`[ a b ]`, `{ a; b; }`, `<entry>`s).
    pub fn items(&self) -> Vec<(&str, u32)> {
        let mut v: Vec<(&str, u32)> = self.values.iter().map(|(s, l)| (s.as_str(), *l)).collect();
        v.extend(self.children.iter().map(|c| (c.name.as_str(), c.line)));
        v
    }

    /// The scalar value of a child (`child(name).value()`), or the name of its only child.
    pub fn get(&self, name: &str) -> Option<&str> {
        let c = self.child(name)?;
        c.value().or_else(|| if c.children.len() == 1 { c.children.first().map(|x| x.name.as_str()) } else { None })
    }

    /// True if the node is written as a key or as a value of this node.
    pub fn has(&self, name: &str) -> bool {
        self.child(name).is_some() || self.values.iter().any(|(v, _)| v == name)
    }

    /// Every line of the subtree, the node's own first.
    pub fn lines(&self, out: &mut Vec<u32>) {
        let mut stack = vec![self];
        while let Some(n) = stack.pop() {
            out.push(n.line);
            out.extend(n.values.iter().map(|(_, l)| *l));
            stack.extend(n.children.iter());
        }
    }

    fn merge(&mut self, other: Node) {
        self.values.extend(other.values);
        for c in other.children {
            match self.position(&c.name) {
                Some(i) => self.children[i].merge(c),
                None => {
                    self.push_child(c);
                }
            }
        }
    }

    /// Children were removed or reordered: positions must be recomputed.
    fn reindex(&mut self) {
        self.idx = None;
    }
}

/// A parsed file: the root node (nameless) and the lines that were comments or cosmetic.
pub struct Tree {
    /// Root node.
    pub root: Node,
    /// Lines that are blank, comments or cosmetic.
    pub skipped: u32,
}

// ---------------------------------------------------------------------------------------------
// XML

/// One-based line numbers from byte offsets.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex { newlines: text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect() }
    }

    fn line(&self, pos: usize) -> u32 {
        (self.newlines.partition_point(|&nl| nl < pos) + 1) as u32
    }
}

/// Parse the XML export. DTDs are refused (PAN-OS never writes one; this is what keeps entity
/// expansion bombs out), external entities are never fetched.
pub fn parse_xml(text: &str, d: &mut Diags) -> Option<Tree> {
    let opts = ParsingOptions { allow_dtd: false, ..ParsingOptions::default() };
    let doc = match Document::parse_with_options(text, opts) {
        Ok(doc) => doc,
        Err(e) => {
            d.push(codes::UNREADABLE, Severity::Error, 0, "", format!("not well-formed XML: {e}"));
            return None;
        }
    };
    let idx = LineIndex::new(text);
    let mut root = Node::new("", 0);
    // Iterative conversion: (xml node, path of indices into our tree, depth).
    let mut stack: Vec<(roxmltree::Node, Vec<usize>)> = Vec::new();
    let top = doc.root_element();
    let mut start = top;
    // API responses wrap the configuration: <response><result><config>.
    if top.tag_name().name() == "response" {
        if let Some(c) = top.descendants().find(|n| n.is_element() && n.tag_name().name() == "config") {
            start = c;
        }
    }
    stack.push((start, Vec::new()));
    let mut deep_reported = false;
    while let Some((x, path)) = stack.pop() {
        let line = idx.line(x.range().start);
        let parent = walk_mut(&mut root, &path);
        let tag = x.tag_name().name();
        if path.len() >= MAX_DEPTH {
            if !deep_reported {
                d.push(codes::STRUCTURE, Severity::Warning, line, "", format!("nested deeper than {MAX_DEPTH} levels: not read"));
                deep_reported = true;
            }
            continue;
        }
        if tag == "member" {
            let t = x.text().unwrap_or("").trim();
            if !t.is_empty() {
                parent.values.push((t.to_string(), line));
            }
            continue;
        }
        let name = if tag == "entry" { x.attribute("name").unwrap_or("") } else { tag };
        let elems: Vec<roxmltree::Node> = x.children().filter(|c| c.is_element()).collect();
        let mut node = Node::new(name, line);
        if elems.is_empty() {
            let t: String = x.children().filter(|c| c.node_type() == NodeType::Text).filter_map(|c| c.text()).collect();
            let t = t.trim();
            if !t.is_empty() {
                node.values.push((t.to_string(), line));
            }
        }
        parent.children.push(node);
        let my_index = parent.children.len() - 1;
        let mut p = path.clone();
        p.push(my_index);
        for c in elems.into_iter().rev() {
            stack.push((c, p.clone()));
        }
    }
    Some(Tree { root, skipped: 0 })
}

fn walk_mut<'a>(root: &'a mut Node, path: &[usize]) -> &'a mut Node {
    let mut n = root;
    for &i in path {
        // Indices come from pushes just made: always valid.
        let len = n.children.len();
        n = &mut n.children[i.min(len.saturating_sub(1))];
    }
    n
}

// ---------------------------------------------------------------------------------------------
// Brace and set forms

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Semi,
    LBracket,
    RBracket,
    Newline,
}

fn tokenize(text: &str) -> Vec<(Tok, u32)> {
    let mut out = Vec::new();
    let mut line = 1u32;
    let b = text.as_bytes();
    let mut i = 0;
    let mut at_line_start = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                out.push((Tok::Newline, line));
                line += 1;
                i += 1;
                at_line_start = true;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' | b'!' if at_line_start => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => out.push((Tok::Open, line)),
            b'}' => out.push((Tok::Close, line)),
            // A `;` ends a statement; inside a word (a URL in a set line) it is part of it.
            b';' if i + 1 >= b.len() || matches!(b[i + 1], b' ' | b'\t' | b'\r' | b'\n' | b'}' | b'#') => out.push((Tok::Semi, line)),
            b'[' => out.push((Tok::LBracket, line)),
            b']' => out.push((Tok::RBracket, line)),
            b'"' | b'\'' => {
                let q = c;
                let start_line = line;
                let mut s = Vec::new();
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == q {
                        s.push(q);
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    s.push(b[i]);
                    i += 1;
                }
                out.push((Tok::Word(String::from_utf8_lossy(&s).into_owned()), start_line));
                i += 1;
                at_line_start = false;
                continue;
            }
            _ => {
                let start = i;
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'[' | b']') {
                    if b[i] == b';' && (i + 1 >= b.len() || matches!(b[i + 1], b' ' | b'\t' | b'\r' | b'\n' | b'}' | b'#')) {
                        break;
                    }
                    i += 1;
                }
                out.push((Tok::Word(String::from_utf8_lossy(&b[start..i]).into_owned()), line));
                at_line_start = false;
                continue;
            }
        }
        at_line_start = false;
        i += 1;
    }
    out
}

/// Words of a statement: plain words and `[ … ]` lists.
#[derive(Clone, Debug)]
enum Item {
    Word(String),
    List(Vec<String>),
}

/// Parse the brace form and `set`/`delete`/`move` lines (both may be mixed in one file).
pub fn parse_text(text: &str, d: &mut Diags) -> Tree {
    let toks = tokenize(text);
    let nlines = text.lines().count();
    let mut root = Node::new("", 0);
    // Path of names from the root to the current block (brace form).
    let mut path: Vec<String> = Vec::new();
    let mut items: Vec<(Item, u32)> = Vec::new();
    let mut list: Option<(Vec<String>, u32)> = None;
    let mut i = 0;
    let mut deep_reported = false;
    while i < toks.len() {
        let (t, line) = (&toks[i].0, toks[i].1);
        i += 1;
        if let Some((l, _)) = &mut list {
            match t {
                Tok::Word(w) => l.push(w.clone()),
                Tok::RBracket => {
                    if let Some((l, ln)) = list.take() {
                        items.push((Item::List(l), ln));
                    }
                }
                Tok::Newline => {}
                _ => {
                    d.push(codes::STRUCTURE, Severity::Warning, line, "", "a list opened with [ is not closed");
                    if let Some((l, ln)) = list.take() {
                        items.push((Item::List(l), ln));
                    }
                    i -= 1;
                }
            }
            continue;
        }
        match t {
            Tok::Word(w) => items.push((Item::Word(w.clone()), line)),
            Tok::LBracket => list = Some((Vec::new(), line)),
            Tok::RBracket => d.push(codes::STRUCTURE, Severity::Warning, line, "]", "] without ["),
            Tok::Open => {
                let words: Vec<String> = items
                    .drain(..)
                    .flat_map(|(it, _)| match it {
                        Item::Word(w) => vec![w],
                        Item::List(l) => l,
                    })
                    .collect();
                let first_line = line;
                if words.is_empty() {
                    d.push(codes::STRUCTURE, Severity::Warning, line, "{", "a block without a name");
                    path.push(String::new());
                    continue;
                }
                let n = words.len();
                for w in words {
                    path.push(w);
                }
                if path.len() > MAX_DEPTH {
                    if !deep_reported {
                        d.push(codes::STRUCTURE, Severity::Warning, line, "", format!("nested deeper than {MAX_DEPTH} levels: not read"));
                        deep_reported = true;
                    }
                } else {
                    let mut node = &mut root;
                    for p in path.iter().filter(|p| !p.starts_with('\u{0}')) {
                        node = node.child_mut_or_new(p, first_line);
                    }
                }
                // Remember how many names this block pushed: encode as a marker.
                path.push(format!("\u{0}{n}"));
            }
            Tok::Close => {
                if !items.is_empty() {
                    statement(&mut root, &path, std::mem::take(&mut items), d);
                }
                match path.pop() {
                    Some(m) if m.starts_with('\u{0}') => {
                        let n: usize = m.get(1..).and_then(|x| x.parse().ok()).unwrap_or(1);
                        for _ in 0..n {
                            path.pop();
                        }
                    }
                    Some(_) => {}
                    None => d.push(codes::STRUCTURE, Severity::Warning, line, "}", "} without {"),
                }
            }
            Tok::Semi => {
                if !items.is_empty() {
                    statement(&mut root, &path, std::mem::take(&mut items), d);
                }
            }
            Tok::Newline => {
                // Outside blocks, a line is a statement (set form); inside, statements end with ;.
                if path.is_empty() && !items.is_empty() {
                    statement(&mut root, &path, std::mem::take(&mut items), d);
                }
            }
        }
    }
    if !items.is_empty() {
        statement(&mut root, &path, std::mem::take(&mut items), d);
    }
    if !path.is_empty() {
        d.push(codes::STRUCTURE, Severity::Warning, nlines as u32, "", "the file ends inside a block (a } is missing)");
    }
    let skipped = text.lines().filter(|l| is_cosmetic(l)).count() as u32;
    Tree { root, skipped }
}

fn is_cosmetic(l: &str) -> bool {
    let t = l.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with('!') || t.chars().all(|c| matches!(c, '}' | ';' | ']' | ' '))
}

/// Apply one statement at `path`.
fn statement(root: &mut Node, path: &[String], items: Vec<(Item, u32)>, d: &mut Diags) {
    let line = items.first().map(|(_, l)| *l).unwrap_or(0);
    // Each block pushes its names and one marker: deeper than this, the statement is below the
    // depth that is read (and filtering a very long path for every statement would be slow).
    if path.len() > 2 * MAX_DEPTH + 2 {
        return;
    }
    let inside = path.iter().any(|p| !p.starts_with('\u{0}'));
    let real_path: Vec<&str> = path.iter().filter(|p| !p.starts_with('\u{0}')).map(|s| s.as_str()).collect();
    if real_path.len() > MAX_DEPTH {
        return;
    }
    let mut items = items;
    if !inside {
        // Top level: set, delete, move, or cosmetic command echoes.
        let first = match items.first() {
            Some((Item::Word(w), _)) => w.clone(),
            _ => String::new(),
        };
        match first.as_str() {
            "set" => {
                items.remove(0);
            }
            "delete" => {
                items.remove(0);
                delete(root, &items, line, d);
                return;
            }
            "move" => {
                items.remove(0);
                move_entry(root, &items, line, d);
                return;
            }
            "show" | "edit" | "top" | "up" | "exit" | "quit" | "commit" | "configure" => return,
            _ => {}
        }
    }
    if items.is_empty() {
        return;
    }
    let mut node = root;
    for p in &real_path {
        node = node.child_mut_or_new(p, line);
    }
    let n = items.len();
    for (k, (it, l)) in items.into_iter().enumerate() {
        let last = k + 1 == n;
        match it {
            Item::Word(w) if last => {
                if n == 1 {
                    // `name;`: a leaf entry (an address in `ip { 10.0.0.1/24; }`, a flag).
                    node.child_mut_or_new(&w, l);
                } else {
                    node.values.push((w, l));
                }
            }
            Item::Word(w) => node = node.child_mut_or_new(&w, l),
            Item::List(ws) if last => node.values.extend(ws.into_iter().map(|w| (w, l))),
            Item::List(ws) => {
                // A list in the middle of a path: not a form PAN-OS writes.
                d.push(codes::STRUCTURE, Severity::Warning, l, &ws.join(" "), "a [ list ] in the middle of a statement");
                return;
            }
        }
    }
}

fn words(items: &[(Item, u32)]) -> Vec<String> {
    items
        .iter()
        .flat_map(|(it, _)| match it {
            Item::Word(w) => vec![w.clone()],
            Item::List(l) => l.clone(),
        })
        .collect()
}

fn delete(root: &mut Node, items: &[(Item, u32)], line: u32, d: &mut Diags) {
    let w = words(items);
    let Some((last, parents)) = w.split_last() else { return };
    let mut node = root;
    for p in parents {
        match node.children.iter().position(|c| &c.name == p) {
            Some(i) => node = &mut node.children[i],
            None => {
                // A value of the parent (`delete … to z1`): nothing to delete in our tree otherwise.
                d.push(codes::UNDEFINED_REFERENCE, Severity::Info, line, &w.join(" "), "delete of something not configured");
                return;
            }
        }
    }
    let before = node.children.len() + node.values.len();
    node.reindex();
    node.children.retain(|c| &c.name != last);
    node.values.retain(|(v, _)| v != last);
    if node.children.len() + node.values.len() == before {
        d.push(codes::UNDEFINED_REFERENCE, Severity::Info, line, &w.join(" "), "delete of something not configured");
    }
}

fn move_entry(root: &mut Node, items: &[(Item, u32)], line: u32, d: &mut Diags) {
    let w = words(items);
    let text = w.join(" ");
    let pos = w.iter().position(|x| matches!(x.as_str(), "top" | "bottom" | "before" | "after"));
    let Some(pos) = pos else {
        d.push(codes::STRUCTURE, Severity::Warning, line, &text, "move without top, bottom, before or after");
        return;
    };
    let (path, how) = w.split_at(pos);
    let Some((name, parents)) = path.split_last() else { return };
    let mut node = root;
    for p in parents {
        match node.children.iter().position(|c| &c.name == p) {
            Some(i) => node = &mut node.children[i],
            None => {
                d.push(codes::UNDEFINED_REFERENCE, Severity::Warning, line, &text, "move of an entry that is not configured");
                return;
            }
        }
    }
    let Some(from) = node.children.iter().position(|c| &c.name == name) else {
        d.push(codes::UNDEFINED_REFERENCE, Severity::Warning, line, &text, "move of an entry that is not configured");
        return;
    };
    node.reindex();
    let entry = node.children.remove(from);
    let target = match (how.first().map(|s| s.as_str()), how.get(1)) {
        (Some("top"), _) => Some(0),
        (Some("bottom"), _) => Some(node.children.len()),
        (Some("before"), Some(o)) => node.children.iter().position(|c| &c.name == o),
        (Some("after"), Some(o)) => node.children.iter().position(|c| &c.name == o).map(|i| i + 1),
        _ => None,
    };
    match target {
        Some(t) => node.children.insert(t.min(node.children.len()), entry),
        None => {
            node.children.insert(from.min(node.children.len()), entry);
            d.push(codes::UNDEFINED_REFERENCE, Severity::Warning, line, &text, "move relative to an entry that is not configured");
        }
    }
}

/// Merge `other`'s content into `into` (same names combine).
pub fn merge_into(into: &mut Node, other: Node) {
    into.merge(other);
}
