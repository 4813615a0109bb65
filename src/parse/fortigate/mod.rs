//! FortiGate configuration (`show full-configuration`, `show`, backup files): the FortiOS CLI
//! text of `config … edit … set … next … end` blocks.
//!
//! The text is read into a tree ([`tree`]), the tables it defines are collected in file order
//! (with the CLI's `append`/`unset`/`move`/`clone`/`rename`/`delete` applied), and the result is
//! lowered into the model ([`lower`]). What each construct becomes, and the FortiOS behaviour it
//! relies on, is in `docs/formats/fortigate.md`.

mod lower;
mod objects;
mod spec;
mod tree;

use std::sync::Arc;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::{DevicePart, Format, ParsedFile};
use crate::diag::{codes, Diags, Severity, SourceId};
use tree::{Block, Item, Settings, Stmt};

/// True if the text is this format: a FortiOS backup header (`#config-version=…`), or CLI
/// text whose first statement is `config …` and that holds `edit`/`set` statements closed by
/// `next`/`end` (OpenWrt's UCI files also start with `config`, but use `option`).
pub fn looks_like(text: &str) -> bool {
    let mut first = true;
    let (mut saw_set, mut saw_end) = (false, false);
    for raw in text.lines().take(400) {
        let t = raw.trim().trim_start_matches('\u{feff}');
        if t.starts_with("#config-version=") {
            return true;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if first {
            let mut w = t.split_whitespace();
            if w.next() != Some("config") || w.next().is_none() {
                return false;
            }
            first = false;
            continue;
        }
        let word = t.split_whitespace().next().unwrap_or("");
        match word {
            "set" | "edit" | "unset" | "append" => saw_set = true,
            "end" | "next" => saw_end = true,
            "option" | "list" => return false,
            _ => {}
        }
        if saw_set && saw_end {
            return true;
        }
    }
    false
}

/// Parse one file. A file with several VDOMs holding configuration yields one device part per
/// VDOM (see [`ParsedFile::parts`]): `config global` is read for each, with the VDOM's own
/// sections.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::FortiGate, text);
    let mut diags = Diags::default();
    let mut skipped = 0;
    let top = tree::read(text, &mut diags, &mut skipped);
    p.lines_skipped = skipped;
    let mut vdoms = vdom_sections(&top);
    let configured: Rc<HashSet<String>> = Rc::new(vdoms.iter().cloned().collect());
    if vdoms.len() <= 1 {
        let vdom = vdoms.first().cloned();
        let cx = Cx { source, file: file.to_string(), diags, vdom, vdoms, configured, first: true, ..Cx::default() };
        fill(&mut p, &top, cx);
        return p;
    }
    vdoms.truncate(MAX_VDOM_DEVICES);
    let iface_vdom = Rc::new(interface_vdoms(&top));
    let devices: Rc<HashSet<String>> = Rc::new(vdoms.iter().cloned().collect());
    let mut seen: HashSet<(u32, &'static str, String)> = HashSet::new();
    let mut all = Vec::new();
    // Each part starts as the file (format, line counts) with nothing read yet.
    let blank = p.clone();
    for (i, v) in vdoms.iter().enumerate() {
        let mut part = blank.clone();
        let cx = Cx {
            source,
            file: file.to_string(),
            diags: diags.clone(),
            vdom: Some(v.clone()),
            vdoms: vdoms.clone(),
            configured: configured.clone(),
            first: i == 0,
            iface_vdom: iface_vdom.clone(),
            devices: devices.clone(),
            ..Cx::default()
        };
        fill(&mut part, &top, cx);
        for d in &part.diags {
            if seen.insert((d.line, d.code, d.reason.clone())) {
                all.push(d.clone());
            }
        }
        p.unread_lines.extend(part.unread_lines.iter().copied());
        if p.device_hint.is_none() {
            p.device_hint = part.device_hint.as_deref().and_then(|h| h.strip_suffix(&format!("/{v}"))).map(str::to_string);
        }
        p.parts.push(DevicePart { name: v.clone(), parsed: part });
    }
    all.sort_by_key(|d| d.line);
    p.diags = all;
    p.unread_lines.sort_unstable();
    p.unread_lines.dedup();
    p
}

/// Read and lower the file for the VDOM `cx.vdom` into `p`.
fn fill<'a>(p: &mut ParsedFile, top: &Block<'a>, mut cx: Cx<'a>) {
    cx.run(top);
    let out = lower::lower(&mut cx);
    p.device_hint = out.device;
    p.content.firewall = out.firewall.map(Arc::new);
    p.content.interfaces = out.interfaces;
    p.content.routes = out.routes;
    cx.unread.sort_unstable();
    cx.unread.dedup();
    p.unread_lines = cx.unread;
    cx.diags.list.sort_by_key(|d| d.line);
    p.diags = cx.diags.list;
}

/// The most VDOM devices one file yields: the largest FortiGate models support 500 VDOMs
/// (FortiOS "Maximum Values Table", `vdom`). Further VDOM sections are reported, not read.
pub const MAX_VDOM_DEVICES: usize = 500;

/// The VDOMs with configuration (`config vdom` / `edit NAME` holding configuration blocks), in
/// the order of their first section. A VDOM may have several sections.
fn vdom_sections(top: &Block<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for it in &top.items {
        let Item::Config(b) = it else { continue };
        if b.path != "vdom" {
            continue;
        }
        for it in &b.items {
            if let Item::Edit(e) = it {
                if e.items.iter().any(|i| matches!(i, Item::Config(_))) && seen.insert(e.name.as_str()) {
                    out.push(e.name.clone());
                }
            }
        }
    }
    out
}

/// The VDOM of each interface of `config system interface` (top level or in `config global`):
/// the last `set vdom`, else [`lower::DEFAULT_VDOM`].
fn interface_vdoms(top: &Block<'_>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    let mut visit = |b: &Block<'_>| {
        if b.path != "system interface" {
            return;
        }
        for it in &b.items {
            let Item::Edit(e) = it else { continue };
            let set = e.items.iter().rev().find_map(|i| match i {
                Item::Setting(st) if st.cmd() == "set" && st.key() == "vdom" => st.vals().first().map(|v| v.to_string()),
                _ => None,
            });
            match set {
                Some(v) => {
                    out.insert(e.name.clone(), v);
                }
                None => {
                    out.entry(e.name.clone()).or_insert_with(|| lower::DEFAULT_VDOM.to_string());
                }
            }
        }
    };
    for it in &top.items {
        let Item::Config(b) = it else { continue };
        if b.path == "global" {
            for it in &b.items {
                if let Item::Config(c) = it {
                    visit(c);
                }
            }
        } else {
            visit(b);
        }
    }
    out
}

/// One `edit` entry of a table, with its settings folded and its nested blocks.
#[derive(Clone, Debug)]
pub(crate) struct Entry<'a> {
    pub name: String,
    pub head: Stmt<'a>,
    pub set: Settings<'a>,
    pub children: Vec<Block<'a>>,
}

impl<'a> Entry<'a> {
    /// The nested blocks with this path.
    pub fn nested(&self, path: &str) -> impl Iterator<Item = &Block<'a>> {
        let path = path.to_string();
        self.children.iter().filter(move |b| b.path == path)
    }
}

/// A table (`config firewall address`): entries in order, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table<'a> {
    pub list: Vec<Entry<'a>>,
    index: HashMap<String, usize>,
    /// `rename A to B`: references to A resolve to B.
    pub renamed: HashMap<String, String>,
}

impl<'a> Table<'a> {
    fn reindex(&mut self) {
        self.index = self.list.iter().enumerate().map(|(i, e)| (e.name.clone(), i)).collect();
    }

    /// The entry with this name (following renames).
    pub fn get(&self, name: &str) -> Option<&Entry<'a>> {
        if let Some(&i) = self.index.get(name) {
            return self.list.get(i);
        }
        let mut n = name;
        for _ in 0..8 {
            n = self.renamed.get(n)?;
            if let Some(&i) = self.index.get(n) {
                return self.list.get(i);
            }
        }
        None
    }

    fn edit(&mut self, name: &str, head: &Stmt<'a>, items: &[Item<'a>]) {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.list.push(Entry { name: name.to_string(), head: head.clone(), set: Settings::default(), children: Vec::new() });
                self.index.insert(name.to_string(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let Some(e) = self.list.get_mut(i) else { return };
        for it in items {
            match it {
                Item::Setting(st) => e.set.apply(st),
                Item::Config(b) => e.children.push(b.clone()),
                _ => {}
            }
        }
    }
}

/// What the reading pass collects.
#[derive(Default)]
pub(crate) struct Cx<'a> {
    pub source: SourceId,
    pub file: String,
    pub diags: Diags,
    /// Lines of unknown blocks beyond their first line.
    pub unread: Vec<u32>,
    /// Tables by block path.
    pub tables: HashMap<String, Table<'a>>,
    /// Blocks without entries (`config system global`) by path.
    pub singles: HashMap<String, Settings<'a>>,
    /// `config` lines of blocks that make the device offer services of its own (VPN, routing
    /// protocols, DHCP and DNS servers): traffic to the device is possibly accepted for them.
    pub local_services: Vec<Stmt<'a>>,
    /// The VDOM read, when the file holds VDOM sections.
    pub vdom: Option<String>,
    /// The VDOM devices of the file, in file order: with several, each is a device of its own
    /// and this pass reads `vdom` alone.
    pub vdoms: Vec<String>,
    /// Every VDOM with configuration in the file (more than `vdoms` beyond
    /// [`MAX_VDOM_DEVICES`]).
    pub configured: Rc<HashSet<String>>,
    /// True for the one pass that reports what belongs to no VDOM device (interfaces of VDOMs
    /// without configuration, VDOMs beyond [`MAX_VDOM_DEVICES`]).
    pub first: bool,
    /// With several VDOM devices: the VDOM of each interface (see `interface_vdoms`).
    pub iface_vdom: Rc<HashMap<String, String>>,
    /// `vdoms` as a set.
    pub devices: Rc<HashSet<String>>,
    /// True if the file has a `config system interface` block for the VDOM read.
    pub has_interfaces: bool,
}

impl<'a> Cx<'a> {
    fn stmt_lines(b: &Block<'a>, out: &mut Vec<u32>) {
        if let Some(h) = &b.head {
            out.extend(h.line..=h.last);
        }
        for it in &b.items {
            match it {
                Item::Setting(s) | Item::Command(s) | Item::Other(s) => out.extend(s.line..=s.last),
                Item::Config(c) => Self::stmt_lines(c, out),
                Item::Edit(e) => {
                    out.extend(e.head.line..=e.head.last);
                    for it in &e.items {
                        match it {
                            Item::Setting(s) | Item::Command(s) | Item::Other(s) => out.extend(s.line..=s.last),
                            Item::Config(c) => Self::stmt_lines(c, out),
                            Item::Edit(_) => {}
                        }
                    }
                }
            }
        }
        if b.head.is_some() && b.last > 0 {
            out.push(b.last);
        }
    }

    /// Every statement line of a block except its first: they count as unrecognized.
    fn unread_block(&mut self, b: &Block<'a>) {
        let mut lines = Vec::new();
        Self::stmt_lines(b, &mut lines);
        let first = b.head.as_ref().map_or(0, |h| h.line);
        self.unread.extend(lines.into_iter().filter(|&l| l != first));
    }

    fn unknown_block(&mut self, b: &Block<'a>, within: &str) {
        let mut lines = Vec::new();
        Self::stmt_lines(b, &mut lines);
        lines.sort_unstable();
        lines.dedup();
        let Some(h) = &b.head else { return };
        let what = if within.is_empty() { String::new() } else { format!(" inside {within}") };
        self.diags.unrecognized(
            h.line,
            h.text,
            format!(
                "configuration block `config {}`{what} is not read ({} lines up to its `end`, counted as unrecognized)",
                b.path,
                lines.len()
            ),
        );
        self.unread_block(b);
        if spec::opens_local_services(&b.path) && within.is_empty() {
            self.local_services.push(h.clone());
        }
    }

    fn other(&mut self, st: &Stmt<'a>, ctx: &str) {
        self.diags.unrecognized(st.line, st.text, format!("unrecognised statement in {ctx}"));
        self.unread.extend(st.line + 1..=st.last);
    }

    /// Check the settings of a block or entry against the known keys of `path`.
    fn check_settings(&mut self, path: &str, items: &[Item<'a>]) {
        for it in items {
            match it {
                Item::Setting(st) => {
                    let known = spec::known_key(path, st.key());
                    if !known {
                        self.diags.unrecognized(
                            st.line,
                            st.text,
                            format!("unrecognised setting `{}` in config {}", st.key(), path.replace('/', " > ")),
                        );
                        self.unread.extend(st.line + 1..=st.last);
                    } else if st.key().is_empty() {
                        self.diags.push(codes::STRUCTURE, Severity::Warning, st.line, st.text, "a setting without a name");
                    }
                }
                Item::Config(c) => {
                    let child = format!("{path}/{}", c.path);
                    if spec::ignored_nested(&c.path) || spec::of(&child).is_some_and(|s| s.ignore_all) {
                        continue;
                    }
                    match spec::of(&child) {
                        Some(s) if s.table => {
                            for it in &c.items {
                                match it {
                                    Item::Edit(e) => self.check_settings(&child, &e.items),
                                    Item::Other(o) | Item::Command(o) | Item::Setting(o) => {
                                        self.other(o, &format!("config {}", child.replace('/', " > ")))
                                    }
                                    Item::Config(cc) => self.unknown_block(cc, &child.replace('/', " > ")),
                                }
                            }
                        }
                        Some(_) => self.check_settings(&child, &c.items),
                        None => self.unknown_block(c, &path.replace('/', " > ")),
                    }
                }
                Item::Other(st) | Item::Command(st) => self.other(st, &format!("config {}", path.replace('/', " > "))),
                Item::Edit(e) => self.other(&e.head, &format!("config {}", path.replace('/', " > "))),
            }
        }
    }

    fn run(&mut self, top: &Block<'a>) {
        // VDOM sections: `config vdom` / `edit NAME` holding configuration blocks. Only those of
        // the VDOM read; the others are devices of their own, read in passes of their own.
        let chosen = self.vdom.clone();
        for it in &top.items {
            match it {
                Item::Config(b) if b.path == "vdom" => {
                    for it in &b.items {
                        match it {
                            Item::Edit(e) if e.items.iter().any(|i| matches!(i, Item::Config(_))) => {
                                if Some(&e.name) == chosen.as_ref() {
                                    self.vdom_items(&e.items);
                                } else if self.first && !self.devices.contains(&e.name) {
                                    self.diags.push(
                                        codes::STRUCTURE,
                                        Severity::Warning,
                                        e.head.line,
                                        e.head.text,
                                        format!(
                                            "VDOM {} is not modelled: one file yields at most {MAX_VDOM_DEVICES} VDOM devices (its lines up to `next` count as unrecognized)",
                                            e.name
                                        ),
                                    );
                                    let tmp = Block { head: None, path: String::new(), last: 0, items: e.items.clone() };
                                    let mut lines = Vec::new();
                                    Self::stmt_lines(&tmp, &mut lines);
                                    lines.push(e.last);
                                    self.unread.extend(lines.into_iter().filter(|&l| l != e.head.line));
                                }
                            }
                            Item::Edit(_) => {}
                            Item::Setting(s) | Item::Command(s) | Item::Other(s) => self.other(s, "config vdom"),
                            Item::Config(c) => self.unknown_block(c, "config vdom"),
                        }
                    }
                }
                Item::Config(b) if b.path == "global" => {
                    for it in &b.items {
                        match it {
                            Item::Config(c) => self.block(c),
                            Item::Setting(s) | Item::Command(s) | Item::Other(s) => self.other(s, "config global"),
                            Item::Edit(e) => self.other(&e.head, "config global"),
                        }
                    }
                }
                Item::Config(b) => self.block(b),
                Item::Setting(s) | Item::Command(s) | Item::Other(s) => self.other(s, "the top level"),
                Item::Edit(e) => self.other(&e.head, "the top level"),
            }
        }
    }

    /// With several VDOM devices, each pass reads the interfaces of its VDOM; the first pass
    /// also those of VDOMs that are no device (reported when lowered).
    fn reads_interface(&self, name: &str) -> bool {
        if self.vdoms.len() <= 1 {
            return true;
        }
        let v = self.iface_vdom.get(name).map_or(lower::DEFAULT_VDOM, String::as_str);
        self.vdom.as_deref() == Some(v) || (self.first && !self.devices.contains(v))
    }

    fn vdom_items(&mut self, items: &[Item<'a>]) {
        for it in items {
            match it {
                Item::Config(c) => self.block(c),
                Item::Setting(s) | Item::Command(s) | Item::Other(s) => self.other(s, "a VDOM section"),
                Item::Edit(e) => self.other(&e.head, "a VDOM section"),
            }
        }
    }

    /// One top-level block.
    fn block(&mut self, b: &Block<'a>) {
        let path = b.path.as_str();
        let Some(sp) = spec::of(path) else {
            if spec::ignored_block(path) {
                return;
            }
            self.unknown_block(b, "");
            return;
        };
        if sp.ignore_all {
            return;
        }
        if path == "system interface" {
            self.has_interfaces = true;
        }
        if !sp.table {
            self.check_settings(path, &b.items);
            let s = self.singles.entry(path.to_string()).or_default();
            for it in &b.items {
                if let Item::Setting(st) = it {
                    s.apply(st);
                }
            }
            return;
        }
        let mut table = self.tables.remove(path).unwrap_or_default();
        for it in &b.items {
            match it {
                Item::Edit(e) if path == "system interface" && !self.reads_interface(&e.name) => {}
                Item::Edit(e) => {
                    self.check_settings(path, &e.items);
                    table.edit(&e.name, &e.head, &e.items);
                }
                Item::Command(st) => self.command(&mut table, st, path),
                Item::Setting(st) => self.other(st, &format!("config {path} (a setting outside any entry)")),
                Item::Other(st) => self.other(st, &format!("config {path}")),
                Item::Config(c) => self.unknown_block(c, &format!("config {path}")),
            }
        }
        self.tables.insert(path.to_string(), table);
    }

    /// `move`, `clone`, `rename`, `delete`, `purge` on a table.
    fn command(&mut self, t: &mut Table<'a>, st: &Stmt<'a>, path: &str) {
        let w: Vec<&str> = st.words.iter().map(|w| w.as_ref()).collect();
        let bad = |cx: &mut Self, why: String| {
            cx.diags.push(codes::UNDEFINED_REFERENCE, Severity::Warning, st.line, st.text, why);
        };
        match w.as_slice() {
            ["move", a, how @ ("before" | "after"), b] => {
                let (Some(&ia), Some(&_)) = (t.index.get(*a), t.index.get(*b)) else {
                    return bad(self, format!("move in config {path}: no entry {a} or {b}"));
                };
                let e = t.list.remove(ia);
                t.reindex();
                let ib = t.index.get(*b).copied().unwrap_or(t.list.len());
                let at = if *how == "before" { ib } else { ib + 1 };
                t.list.insert(at.min(t.list.len()), e);
                t.reindex();
            }
            ["clone", a, "to", b] => {
                let Some(e) = t.get(a).cloned() else { return bad(self, format!("clone in config {path}: no entry {a}")) };
                if t.index.contains_key(*b) {
                    return bad(self, format!("clone in config {path}: entry {b} exists already"));
                }
                t.list.push(Entry { name: b.to_string(), head: st.clone(), ..e });
                t.reindex();
            }
            ["rename", a, "to", b] => {
                let Some(&i) = t.index.get(*a) else { return bad(self, format!("rename in config {path}: no entry {a}")) };
                if t.index.contains_key(*b) {
                    return bad(self, format!("rename in config {path}: entry {b} exists already"));
                }
                if let Some(e) = t.list.get_mut(i) {
                    e.name = b.to_string();
                }
                t.renamed.insert(a.to_string(), b.to_string());
                t.reindex();
            }
            ["delete", a] => {
                let Some(&i) = t.index.get(*a) else { return bad(self, format!("delete in config {path}: no entry {a}")) };
                t.list.remove(i);
                t.reindex();
            }
            ["purge"] => {
                t.list.clear();
                t.reindex();
            }
            _ => {
                self.diags.push(codes::BAD_VALUE, Severity::Warning, st.line, st.text, "malformed table command");
            }
        }
    }
}
