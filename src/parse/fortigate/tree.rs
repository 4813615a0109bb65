//! The FortiOS CLI text as a tree: `config PATH` blocks holding `edit NAME … next` entries and
//! `set`/`unset`/`append`/`select`/`unselect` statements, nested `config` blocks, and the table
//! commands `move`, `clone`, `rename`, `delete`, `purge`.
//!
//! Quoted values may span lines (certificates, replacement messages): such a statement covers
//! every line up to the closing quote. Nothing here knows what a block means; `mod.rs` does.

use std::borrow::Cow;

use crate::diag::{codes, Diags, Severity};

/// One statement (possibly spanning several lines when a quoted value does).
#[derive(Clone, Debug)]
pub struct Stmt<'a> {
    /// First line (one-based).
    pub line: u32,
    /// Last line.
    pub last: u32,
    /// The first line's text, trimmed.
    pub text: &'a str,
    /// Words, quotes removed (shared: settings keep the statement that set them; plain words
    /// borrow from the text).
    pub words: std::rc::Rc<[Cow<'a, str>]>,
}

impl<'a> Stmt<'a> {
    /// The command word (`set`, `edit`, …).
    pub fn cmd(&self) -> &str {
        self.words.first().map_or("", |w| w.as_ref())
    }

    /// The second word (the key of `set KEY …`).
    pub fn key(&self) -> &str {
        self.words.get(1).map_or("", |w| w.as_ref())
    }

    /// The values after the key.
    pub fn vals(&self) -> &[Cow<'a, str>] {
        self.words.get(2..).unwrap_or(&[])
    }

    /// The values after the key, owned.
    pub fn vals_owned(&self) -> Vec<String> {
        self.vals().iter().map(|v| v.to_string()).collect()
    }
}

/// A `config …` block.
#[derive(Clone, Debug, Default)]
pub struct Block<'a> {
    /// The `config` line (None for the top level).
    pub head: Option<Stmt<'a>>,
    /// The words after `config`, joined by one space (`firewall address`).
    pub path: String,
    /// Line of the closing `end` (the last line of the block).
    pub last: u32,
    /// Statements and children in file order.
    pub items: Vec<Item<'a>>,
}

/// One `edit NAME` entry of a table block.
#[derive(Clone, Debug)]
pub struct Edit<'a> {
    /// The `edit` line.
    pub head: Stmt<'a>,
    /// The entry's name.
    pub name: String,
    /// Line of the closing `next` (or the last line read).
    pub last: u32,
    /// Statements and nested blocks in file order.
    pub items: Vec<Item<'a>>,
}

/// Something inside a block or an entry.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// `set`, `unset`, `append`, `select`, `unselect`.
    Setting(Stmt<'a>),
    /// A nested block.
    Config(Block<'a>),
    /// An entry.
    Edit(Edit<'a>),
    /// `move`, `clone`, `rename`, `delete`, `purge`.
    Command(Stmt<'a>),
    /// Anything else (reported by the interpreter).
    Other(Stmt<'a>),
}

/// Split one line of a statement into words: whitespace separates, `"…"` and `'…'` quote (with
/// `\` escapes inside double quotes), adjacent quoted and unquoted parts join (`"new"_name` is
/// `new_name`). Plain words borrow from the text. A quote still open at the end of the line
/// leaves its word in `cur` and the quote character in `quote` (the value continues on the next
/// line).
fn split_words<'a>(s: &'a str, words: &mut Vec<Cow<'a, str>>, cur: &mut Option<String>, quote: &mut Option<char>) {
    // Start of a plain word being read (borrowed) while `cur` is `None`.
    let mut plain: Option<usize> = None;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match *quote {
            Some(q) => {
                if c == '\\' && q == '"' {
                    if let Some((_, n)) = chars.next() {
                        cur.get_or_insert_with(String::new).push(n);
                    }
                } else if c == q {
                    *quote = None;
                } else {
                    cur.get_or_insert_with(String::new).push(c);
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    *quote = Some(c);
                    let owned = cur.get_or_insert_with(String::new);
                    if let Some(st) = plain.take() {
                        owned.push_str(s.get(st..i).unwrap_or(""));
                    }
                } else if c.is_whitespace() {
                    if let Some(st) = plain.take() {
                        words.push(Cow::Borrowed(s.get(st..i).unwrap_or("")));
                    } else if let Some(w) = cur.take() {
                        words.push(Cow::Owned(w));
                    }
                } else if let Some(w) = cur.as_mut() {
                    w.push(c);
                } else if plain.is_none() {
                    plain = Some(i);
                }
            }
        }
    }
    if quote.is_none() {
        if let Some(st) = plain.take() {
            words.push(Cow::Borrowed(s.get(st..).unwrap_or("")));
        } else if let Some(w) = cur.take() {
            words.push(Cow::Owned(w));
        }
    }
}

/// Lines of a text with their one-based numbers.
pub struct Reader<'a> {
    lines: Vec<&'a str>,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a text.
    pub fn new(text: &'a str) -> Self {
        Reader { lines: text.lines().collect(), pos: 0 }
    }

    /// The next statement; comments and blank lines are counted in `skipped`.
    fn next_stmt(&mut self, skipped: &mut u32) -> Option<Stmt<'a>> {
        loop {
            let raw = *self.lines.get(self.pos)?;
            self.pos += 1;
            let t = raw.trim().trim_start_matches('\u{feff}');
            if t.is_empty() || t.starts_with('#') {
                *skipped += 1;
                continue;
            }
            let line = self.pos as u32;
            let mut words = Vec::new();
            let mut cur = None;
            let mut quote = None;
            split_words(t, &mut words, &mut cur, &mut quote);
            while quote.is_some() {
                let Some(more) = self.lines.get(self.pos) else { break };
                self.pos += 1;
                cur.get_or_insert_with(String::new).push('\n');
                split_words(more, &mut words, &mut cur, &mut quote);
            }
            if let Some(w) = cur.take() {
                words.push(Cow::Owned(w));
            }
            return Some(Stmt { line, last: self.pos as u32, text: t, words: words.into() });
        }
    }
}

enum Frame<'a> {
    Block(Block<'a>),
    Edit(Edit<'a>),
}

fn push_item<'a>(stack: &mut [Frame<'a>], item: Item<'a>) {
    match stack.last_mut() {
        Some(Frame::Block(b)) => b.items.push(item),
        Some(Frame::Edit(e)) => e.items.push(item),
        None => {}
    }
}

/// Close the frame on top of the stack into its parent.
fn close<'a>(stack: &mut Vec<Frame<'a>>, last: u32) {
    let Some(top) = stack.pop() else { return };
    let item = match top {
        Frame::Block(mut b) => {
            b.last = last;
            Item::Config(b)
        }
        Frame::Edit(mut e) => {
            e.last = last;
            Item::Edit(e)
        }
    };
    if stack.is_empty() {
        // The top level never closes; put it back.
        if let Item::Config(b) = item {
            stack.push(Frame::Block(b));
        }
        return;
    }
    push_item(stack, item);
}

/// Read the whole text into its top-level block.
pub fn read<'a>(text: &'a str, diags: &mut Diags, skipped: &mut u32) -> Block<'a> {
    let mut r = Reader::new(text);
    let mut stack: Vec<Frame<'a>> = vec![Frame::Block(Block::default())];
    let mut last = 0;
    while let Some(st) = r.next_stmt(skipped) {
        last = st.last;
        match st.cmd() {
            "config" => {
                let path = st.words.get(1..).unwrap_or(&[]).join(" ");
                stack.push(Frame::Block(Block { head: Some(st), path, last: 0, items: Vec::new() }));
            }
            "edit" => {
                if matches!(stack.last(), Some(Frame::Edit(_))) {
                    // `edit` without `next`: FortiOS saves the open entry first.
                    diags.push(codes::STRUCTURE, Severity::Info, st.line, st.text, "edit inside an open entry: the previous entry is closed here");
                    close(&mut stack, st.line.saturating_sub(1));
                }
                if stack.len() <= 1 {
                    diags.push(codes::STRUCTURE, Severity::Warning, st.line, st.text, "edit outside any config block");
                    push_item(&mut stack, Item::Other(st));
                    continue;
                }
                let name = st.words.get(1).map(|w| w.to_string()).unwrap_or_default();
                stack.push(Frame::Edit(Edit { head: st, name, last: 0, items: Vec::new() }));
            }
            "next" => match stack.last() {
                Some(Frame::Edit(_)) => close(&mut stack, st.line),
                _ => diags.push(codes::STRUCTURE, Severity::Warning, st.line, st.text, "next without an open edit"),
            },
            "end" => {
                if matches!(stack.last(), Some(Frame::Edit(_))) {
                    close(&mut stack, st.line);
                }
                if stack.len() <= 1 {
                    diags.push(codes::STRUCTURE, Severity::Warning, st.line, st.text, "end without an open config block");
                } else {
                    close(&mut stack, st.line);
                }
            }
            "set" | "unset" | "append" | "select" | "unselect" => push_item(&mut stack, Item::Setting(st)),
            "move" | "clone" | "rename" | "delete" | "purge" => push_item(&mut stack, Item::Command(st)),
            _ => push_item(&mut stack, Item::Other(st)),
        }
    }
    if stack.len() > 1 {
        let open: Vec<String> = stack
            .iter()
            .filter_map(|f| match f {
                Frame::Block(b) if b.head.is_some() => Some(format!("config {}", b.path)),
                Frame::Edit(e) => Some(format!("edit {}", e.name)),
                _ => None,
            })
            .collect();
        diags.push(
            codes::STRUCTURE,
            Severity::Info,
            0,
            "",
            format!("the file ends inside {}: the open blocks are closed at the end", open.join(" / ")),
        );
    }
    while stack.len() > 1 {
        close(&mut stack, last);
    }
    match stack.pop() {
        Some(Frame::Block(mut b)) => {
            b.last = last;
            b
        }
        _ => Block::default(),
    }
}

/// Final values of an entry's or block's settings, applying `set`/`append`/`unset`/`select`/
/// `unselect` in order. Each key keeps the statement that last changed it.
#[derive(Clone, Debug, Default)]
pub struct Settings<'a> {
    /// (key, values, last statement), in order of first appearance.
    pub list: Vec<(String, Vec<String>, Stmt<'a>)>,
}

impl<'a> Settings<'a> {
    /// Fold the settings of a list of items.
    pub fn of(items: &[Item<'a>]) -> Self {
        let mut s = Settings::default();
        for it in items {
            if let Item::Setting(st) = it {
                s.apply(st);
            }
        }
        s
    }

    pub fn apply(&mut self, st: &Stmt<'a>) {
        let key = st.key().to_string();
        let vals = st.vals_owned();
        let pos = self.list.iter().position(|(k, _, _)| *k == key);
        match st.cmd() {
            "set" | "select" => match pos {
                Some(i) => self.list[i] = (key, vals, st.clone()),
                None => self.list.push((key, vals, st.clone())),
            },
            "append" => match pos {
                Some(i) => {
                    let e = &mut self.list[i];
                    for v in vals {
                        if !e.1.contains(&v) {
                            e.1.push(v);
                        }
                    }
                    e.2 = st.clone();
                }
                None => self.list.push((key, vals, st.clone())),
            },
            "unselect" => {
                if let Some(i) = pos {
                    let e = &mut self.list[i];
                    e.1.retain(|v| !vals.contains(v));
                    e.2 = st.clone();
                }
            }
            _ => {
                if let Some(i) = pos {
                    self.list.remove(i);
                }
            }
        }
    }

    /// Values of a key.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.list.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_slice())
    }

    /// The first value of a key.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    /// The statement that set a key.
    pub fn stmt(&self, key: &str) -> Option<&Stmt<'a>> {
        self.list.iter().find(|(k, _, _)| k == key).map(|(_, _, s)| s)
    }

    /// True if the key is set to `enable`.
    pub fn enabled(&self, key: &str) -> bool {
        self.first(key).is_some_and(|v| v.eq_ignore_ascii_case("enable"))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn words_and_quotes() {
        let mut w = Vec::new();
        let (mut cur, mut q) = (None, None);
        split_words(r#"rename "old" to "new"_zone1 'a b' "x\"y" "" a"b"c"#, &mut w, &mut cur, &mut q);
        assert_eq!(w, vec!["rename", "old", "to", "new_zone1", "a b", "x\"y", "", "abc"]);
        assert!(matches!(w[0], Cow::Borrowed(_)));
        assert!(q.is_none());
    }

    #[test]
    fn multi_line_value_is_one_statement() {
        let text = "config vpn certificate local\n edit a\n  set certificate \"-----BEGIN\nabc\n-----END\"\n next\nend\n";
        let mut d = Diags::default();
        let mut sk = 0;
        let top = read(text, &mut d, &mut sk);
        let Some(Item::Config(b)) = top.items.first() else { panic!("block") };
        let Some(Item::Edit(e)) = b.items.first() else { panic!("edit") };
        let Some(Item::Setting(s)) = e.items.first() else { panic!("set") };
        assert_eq!((s.line, s.last), (3, 5));
        assert_eq!(b.last, 7);
        assert!(d.list.is_empty());
    }
}
