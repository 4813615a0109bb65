//! `nft -j list ruleset` JSON (libnftables JSON schema, version 1) into the shared form.
//!
//! The document is `{"nftables": [ {"metainfo": …}, {"table": …}, {"chain": …}, {"set": …},
//! {"map": …}, {"rule": …}, … ]}`. Rules carry their statements in `expr`. Each object's line is
//! the line where it starts in the file (one line for `nft -j`'s compact output); a rule's text
//! is its statements written back in nft syntax.

use std::borrow::Cow;
use std::collections::HashMap;

use super::ir::*;
use super::ir::KeyText;
use super::jtree::{self, null, Node, V};
use crate::diag::{codes, Diags, Severity};

/// Start offsets of the elements of the top-level `"nftables"` array (a small scanner over the
/// text: strings and nesting only).
fn element_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut expect = false;
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => {
                if expect && depth == 2 {
                    out.push(i);
                    expect = false;
                }
                in_str = true;
            }
            b'{' | b'[' => {
                if expect && depth == 2 {
                    out.push(i);
                    expect = false;
                }
                depth += 1;
                if depth == 2 && c == b'[' {
                    expect = true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 2 => expect = true,
            c if !c.is_ascii_whitespace() && expect && depth == 2 => {
                out.push(i);
                expect = false;
            }
            _ => {}
        }
    }
    out
}

fn line_of(text: &str, offset: usize) -> u32 {
    let n = text.as_bytes().iter().take(offset).filter(|&&c| c == b'\n').count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

fn s<'d>(o: V<'d, '_>, k: &str) -> Option<&'d str> {
    o.get(k).and_then(|v| v.as_str())
}

/// A string member, borrowed from the document where it can be.
fn sc<'a>(o: V<'_, 'a>, k: &str) -> Option<Str<'a>> {
    o.get(k).and_then(|v| v.as_cow())
}

/// Read the document. `None` (with a P008 diagnostic) if it is not a ruleset.
pub fn read<'a>(text: &'a str, diags: &mut Diags) -> Option<Vec<Table<'a>>> {
    diags.set_context("nft -j");
    let doc = match jtree::parse(text.trim_start_matches('\u{feff}')) {
        Ok(d) => d,
        Err(e) => {
            let line = u32::try_from(e.line()).unwrap_or(0);
            diags.push(codes::UNREADABLE, Severity::Error, line, "", format!("invalid JSON: {e}"));
            return None;
        }
    };
    let Some(items) = jtree::root(&doc).get("nftables").filter(|v| v.is_array()) else {
        diags.push(codes::UNREADABLE, Severity::Error, 0, "", "JSON without an \"nftables\" array: not nft -j output");
        return None;
    };
    // `nft -j` writes one line: every element is then on line 1, found without a scan
    let one_line = !text.trim_end().contains('\n');
    let starts = if one_line { Vec::new() } else { element_starts(text) };
    // line numbers by an incremental scan (linear in the text)
    let mut lines = Vec::with_capacity(starts.len());
    let (mut last_off, mut last_line) = (0usize, 1u32);
    for &st in &starts {
        let add = text.as_bytes().get(last_off..st).map_or(0, |s| s.iter().filter(|&&c| c == b'\n').count());
        last_line = last_line.saturating_add(u32::try_from(add).unwrap_or(0));
        last_off = st;
        lines.push(last_line);
    }
    let aligned = !one_line && lines.len() == items.len();
    let _ = line_of;
    let mut tables: Vec<Table<'a>> = Vec::new();
    // per table (same index), chain name → index in its `chains`
    let mut chain_ix: Vec<HashMap<Str<'a>, usize>> = Vec::new();
    for (k, item) in items.elems().enumerate() {
        let line = if aligned { lines.get(k).copied().unwrap_or(1) } else { 1 };
        if !item.is_object() {
            diags.push(codes::UNRECOGNIZED, Severity::Warning, line, &format!("/nftables/{k}"), "element is not an object");
            continue;
        }
        let Some((kind, b)) = item.first() else { continue };
        if !b.is_object() {
            if kind != "metainfo" {
                diags.push(codes::UNRECOGNIZED, Severity::Warning, line, &format!("/nftables/{k}"), format!("\"{kind}\" without an object"));
            }
            continue;
        }
        let fam = s(b, "family").and_then(Fam::from_name);
        match kind {
            "metainfo" => {}
            "table" => {
                let (Some(fam), Some(name)) = (fam, sc(b, "name")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "table without a family or name");
                    continue;
                };
                let text = format!("table {} {name}", fam.name());
                // nft 1.0.6 writes the table's name where its flags belong; `dormant` is then the
                // flag meant (the other, `owner`, only exists while its process runs)
                let dormant = b.get("flags").is_some_and(|f| match f.as_str() {
                    Some(x) => x == "dormant" || x == name,
                    None => f.elems().any(|x| x.as_str() == Some("dormant")),
                });
                if !tables.iter().any(|t| t.fam == fam && t.name == name) {
                    tables.push(Table { fam, name, pos: Pos { line, text: Cow::Owned(text) }, chains: Vec::new(), sets: Vec::new(), dormant });
                }
            }
            "chain" => {
                let (Some(fam), Some(tname), Some(name)) = (fam, s(b, "table"), sc(b, "name")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "chain without family, table or name");
                    continue;
                };
                let Some(ti) = find_table(&mut tables, fam, tname, line, diags, k) else { continue };
                let base = match (sc(b, "type"), sc(b, "hook")) {
                    (Some(ty), Some(hook)) => {
                        let prio: Str<'a> = match b.get("prio") {
                            Some(x) if x.as_number().is_some() => Cow::Owned(x.to_string()),
                            Some(x) if x.is_str() => x.as_cow().unwrap_or_default(),
                            _ => Cow::Borrowed(""),
                        };
                        let device = sc(b, "dev").or_else(|| b.get("dev").map(|d| Cow::Owned(d.to_string())));
                        let mut text = format!("type {ty} hook {hook}");
                        if let Some(d) = &device {
                            text.push_str(&format!(" device {d}"));
                        }
                        text.push_str(&format!(" priority {prio};"));
                        if let Some(p) = s(b, "policy") {
                            text.push_str(&format!(" policy {p};"));
                        }
                        Some(BaseSpec { ty, hook, prio, device, pos: Pos { line, text: Cow::Owned(text) } })
                    }
                    _ => None,
                };
                let policy = sc(b, "policy").map(|p| {
                    let text = base.as_ref().map(|b| b.pos.text.clone()).unwrap_or_else(|| Cow::Owned(format!("policy {p};")));
                    (p, Pos { line, text })
                });
                let text = format!("chain {} {} {name}", fam.name(), tname);
                chain_ix.resize_with(tables.len(), HashMap::new);
                let (Some(t), Some(ix)) = (tables.get_mut(ti), chain_ix.get_mut(ti)) else { continue };
                match ix.get(&name).and_then(|&ci| t.chains.get_mut(ci)) {
                    Some(c) => {
                        if base.is_some() {
                            c.base = base;
                            c.policy = policy;
                        }
                    }
                    None => {
                        ix.insert(name.clone(), t.chains.len());
                        t.chains.push(Chain { name, pos: Pos { line, text: Cow::Owned(text) }, base, policy, rules: Vec::new() });
                    }
                }
            }
            "set" | "map" => {
                let (Some(fam), Some(tname), Some(name)) = (fam, s(b, "table"), sc(b, "name")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "set without family, table or name");
                    continue;
                };
                let Some(t) = find_table(&mut tables, fam, tname, line, diags, k).and_then(|ti| tables.get_mut(ti)) else { continue };
                let key_type = type_text(b.get("type"));
                let data_type = b.get("map").map(|m| type_text(Some(m)));
                let flags = match b.get("flags") {
                    Some(x) if x.is_str() => x.as_cow().into_iter().collect(),
                    Some(x) => x.elems().filter_map(|f| f.as_cow()).collect(),
                    None => Vec::new(),
                };
                let elements = b.get("elem").map(|a| a.elems().map(elem).collect()).unwrap_or_default();
                let text = format!("{kind} {name} {{ type {key_type}{} }}", data_type.as_ref().map(|d| format!(" : {d}")).unwrap_or_default());
                t.sets.push(SetDef {
                    name,
                    pos: Pos { line, text: Cow::Owned(text) },
                    is_map: kind == "map",
                    key_type,
                    data_type,
                    flags,
                    timeout: b.contains_key("timeout"),
                    elements,
                });
            }
            "element" => {
                let (Some(fam), Some(tname), Some(name)) = (fam, s(b, "table"), s(b, "name")) else { continue };
                let Some(t) = find_table(&mut tables, fam, tname, line, diags, k).and_then(|ti| tables.get_mut(ti)) else { continue };
                let els: Vec<Elem<'a>> = b.get("elem").map(|a| a.elems().map(elem).collect()).unwrap_or_default();
                if let Some(st) = t.sets.iter_mut().find(|x| x.name == name) {
                    st.elements.extend(els);
                }
            }
            "rule" => {
                let (Some(fam), Some(tname), Some(cname)) = (fam, s(b, "table"), sc(b, "chain")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "rule without family, table or chain");
                    continue;
                };
                let Some(ti) = find_table(&mut tables, fam, tname, line, diags, k) else { continue };
                chain_ix.resize_with(tables.len(), HashMap::new);
                let (Some(t), Some(ix)) = (tables.get_mut(ti), chain_ix.get_mut(ti)) else { continue };
                let stmts: Vec<Stmt<'a>> = b.get("expr").map(|a| a.elems().map(stmt).collect()).unwrap_or_default();
                let text = render(&stmts);
                let rule = RuleIr { pos: Pos { line, text: Cow::Owned(text) }, stmts };
                match ix.get(&cname).and_then(|&ci| t.chains.get_mut(ci)) {
                    Some(c) => c.rules.push(rule),
                    None => {
                        diags.push(
                            codes::UNDEFINED_REFERENCE,
                            Severity::Warning,
                            line,
                            &rule.pos.text,
                            format!("rule of chain {cname}, which is not listed before it: read into a new regular chain"),
                        );
                        ix.insert(cname.clone(), t.chains.len());
                        t.chains.push(Chain { name: cname, pos: rule.pos.clone(), base: None, policy: None, rules: vec![rule] });
                    }
                }
            }
            // stateful objects, helpers and flowtables only act where rules reference them
            "counter" | "quota" | "ct helper" | "ct timeout" | "ct expectation" | "limit" | "flowtable" | "secmark"
            | "synproxy" | "tunnel" => {}
            other => {
                diags.push(
                    codes::UNRECOGNIZED,
                    Severity::Warning,
                    line,
                    &format!("/nftables/{k} {other}"),
                    format!("unrecognized object \"{other}\""),
                );
            }
        }
    }
    Some(tables)
}

/// Index of the table, created (with a diagnostic) when it was not listed before.
fn find_table(tables: &mut Vec<Table<'_>>, fam: Fam, name: &str, line: u32, diags: &mut Diags, k: usize) -> Option<usize> {
    let pos = tables.iter().position(|t| t.fam == fam && t.name == name);
    match pos {
        Some(p) => Some(p),
        None => {
            diags.push(
                codes::UNDEFINED_REFERENCE,
                Severity::Warning,
                line,
                &format!("/nftables/{k}"),
                format!("table {} {name} is not listed before its content: created", fam.name()),
            );
            tables.push(Table {
                fam,
                name: Cow::Owned(name.to_string()),
                pos: Pos { line, text: Cow::Owned(format!("table {} {name}", fam.name())) },
                chains: Vec::new(),
                sets: Vec::new(),
                dormant: false,
            });
            tables.len().checked_sub(1)
        }
    }
}

fn type_text<'a>(v: Option<V<'_, 'a>>) -> Str<'a> {
    match v {
        Some(x) if x.is_str() => x.as_cow().unwrap_or_default(),
        Some(x) if x.is_array() => Cow::Owned(x.elems().filter_map(|e| e.as_str()).collect::<Vec<_>>().join(" . ")),
        Some(other) => Cow::Owned(other.to_string()),
        None => Cow::Borrowed(""),
    }
}

fn verdict_of<'a>(k: &str, b: V<'_, 'a>) -> Option<Verdict<'a>> {
    Some(match k {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "continue" => Verdict::Continue,
        "return" => Verdict::Return,
        "jump" => Verdict::Jump(sc(b, "target").unwrap_or_default()),
        "goto" => Verdict::Goto(sc(b, "target").unwrap_or_default()),
        _ => return None,
    })
}

/// A set or map element.
fn elem<'a>(v: V<'_, 'a>) -> Elem<'a> {
    // map element: [key, data]
    if v.is_array() && v.len() == 2 {
        let key = val(v.at(0).unwrap_or(null()));
        let data = v.at(1).map(|d| match d.first() {
            Some((k, b)) => match verdict_of(k, b) {
                Some(vd) => Val::Verdict(vd),
                None => val(d),
            },
            None => val(d),
        });
        return Elem { key, data };
    }
    if v.is_object() && v.contains_key("elem") {
        let inner = v.get("elem").and_then(|e| e.get("val")).unwrap_or(null());
        return elem(inner);
    }
    Elem { key: val(v), data: None }
}

/// A value (right-hand side, set element, NAT address).
fn val<'a>(v: V<'_, 'a>) -> Val<'a> {
    match v.node() {
        Node::Str(Cow::Borrowed(x)) => match x.strip_prefix('@') {
            Some(n) => Val::SetRef(Cow::Borrowed(n)),
            None => Val::Atom(Cow::Borrowed(x)),
        },
        Node::Str(Cow::Owned(x)) => match x.strip_prefix('@') {
            Some(n) => Val::SetRef(Cow::Owned(n.to_string())),
            None => Val::Atom(Cow::Owned(x.clone())),
        },
        Node::Num(n) => Val::Atom(Cow::Owned(n.to_string())),
        Node::Bool(b) => Val::Atom(Cow::Borrowed(if *b { "true" } else { "false" })),
        Node::Arr { .. } => Val::Set(v.elems().map(|e| Elem { key: val(e), data: None }).collect()),
        Node::Obj { .. } => {
            let Some((k, b)) = v.first() else { return Val::Other(Cow::Borrowed("{}")) };
            match k {
                "set" => match b.is_array() {
                    true => Val::Set(b.elems().map(elem).collect()),
                    false => Val::Set(vec![Elem { key: val(b), data: None }]),
                },
                "prefix" => {
                    let addr = b.get("addr").map(val).map(|v| v.to_string()).unwrap_or_default();
                    let len = b.get("len").map(|l| l.to_string()).unwrap_or_default();
                    Val::Atom(Cow::Owned(format!("{addr}/{len}")))
                }
                "range" => {
                    let a = b.at(0).map(val).map(|v| v.to_string()).unwrap_or_default();
                    let c = b.at(1).map(val).map(|v| v.to_string()).unwrap_or_default();
                    Val::Atom(Cow::Owned(format!("{a}-{c}")))
                }
                "concat" => Val::Concat(b.elems().map(val).collect()),
                "|" => Val::Or(b.elems().map(val).collect()),
                "elem" => elem(v).key,
                "map" => match b.get("key").and_then(key) {
                    Some(k) => Val::Map { key: k, map: Box::new(val(b.get("data").unwrap_or(null()))) },
                    None => Val::Other(Cow::Owned(compact(v))),
                },
                _ => match verdict_of(k, b) {
                    Some(vd) => Val::Verdict(vd),
                    None => match key(v) {
                        Some(kt) => Val::Other(kt),
                        None => Val::Other(Cow::Owned(compact(v))),
                    },
                },
            }
        }
        Node::Null => Val::Other(Cow::Borrowed("null")),
    }
}

fn compact(v: V<'_, '_>) -> String {
    let t = v.to_string();
    if t.len() > 200 {
        let cut: String = t.chars().take(200).collect();
        format!("{cut}…")
    } else {
        t
    }
}

/// A selector expression as nft writes it (`ip saddr`, `meta l4proto`, `ct state`, `fib daddr
/// type`). `None` for expressions that are not selectors.
fn key<'a>(v: V<'_, 'a>) -> Option<Str<'a>> {
    let (k, b) = v.first()?;
    Some(Cow::Owned(match k {
        "payload" => {
            if let (Some(p), Some(f)) = (s(b, "protocol"), s(b, "field")) {
                if let Some(k) = known_key(p, f) {
                    return Some(Cow::Borrowed(k));
                }
                format!("{p} {f}")
            } else {
                let base = s(b, "base").unwrap_or("?");
                let off = b.get("offset").map(|x| x.to_string()).unwrap_or_default();
                let len = b.get("len").map(|x| x.to_string()).unwrap_or_default();
                format!("@{base},{off},{len}")
            }
        }
        "meta" => {
            let m = s(b, "key").unwrap_or("?");
            match m {
                "iif" | "oif" | "iifname" | "oifname" | "iiftype" | "oiftype" | "mark" | "skuid" | "skgid" | "pkttype"
                | "cpu" | "cgroup" | "iifgroup" | "oifgroup" | "rtclassid" => {
                    return Some(sc(b, "key").unwrap_or_default());
                }
                _ => match known_key("meta", m) {
                    Some(k) => return Some(Cow::Borrowed(k)),
                    None => format!("meta {m}"),
                },
            }
        }
        "ct" => {
            if let (None, None, Some(k)) = (b.get("dir"), b.get("family"), s(b, "key").and_then(|k| known_key("ct", k))) {
                return Some(Cow::Borrowed(k));
            }
            let mut t = String::from("ct");
            if let Some(d) = s(b, "dir") {
                t.push(' ');
                t.push_str(d);
            }
            if let Some(f) = s(b, "family") {
                t.push(' ');
                t.push_str(f);
            }
            t.push(' ');
            t.push_str(s(b, "key").unwrap_or("?"));
            t
        }
        "fib" => {
            let flags: Vec<&str> = match b.get("flags") {
                Some(x) if x.is_str() => x.as_str().into_iter().collect(),
                Some(x) => x.elems().filter_map(|f| f.as_str()).collect(),
                None => Vec::new(),
            };
            let result = s(b, "result").unwrap_or("?");
            format!("fib {} {result}", flags.join(" . "))
        }
        "tcp option" | "ip option" | "exthdr" | "sctp chunk" | "rt" | "socket" | "osf" | "ipsec" | "numgen" | "jhash"
        | "symhash" | "dccp option" => {
            let mut t = k.to_string();
            if let Some(n) = s(b, "name") {
                t.push(' ');
                t.push_str(n);
            }
            if let Some(n) = s(b, "key") {
                t.push(' ');
                t.push_str(n);
            }
            if let Some(n) = s(b, "field") {
                t.push(' ');
                t.push_str(n);
            }
            if let Some(m) = b.get("mod") {
                t.push_str(&format!(" mod {m}"));
            }
            t
        }
        "concat" => {
            if !b.is_array() {
                return None;
            }
            let parts: Vec<String> = b.elems().map(|e| key(e).map_or_else(|| compact(e), Cow::into_owned)).collect();
            parts.join(" . ")
        }
        _ => return None,
    }))
}

/// `A B` for the selectors rules use most, without composing the text.
fn known_key(a: &str, b: &str) -> Option<&'static str> {
    Some(match (a, b) {
        ("ip", "saddr") => "ip saddr",
        ("ip", "daddr") => "ip daddr",
        ("ip", "protocol") => "ip protocol",
        ("ip6", "saddr") => "ip6 saddr",
        ("ip6", "daddr") => "ip6 daddr",
        ("ip6", "nexthdr") => "ip6 nexthdr",
        ("tcp", "sport") => "tcp sport",
        ("tcp", "dport") => "tcp dport",
        ("tcp", "flags") => "tcp flags",
        ("udp", "sport") => "udp sport",
        ("udp", "dport") => "udp dport",
        ("th", "sport") => "th sport",
        ("th", "dport") => "th dport",
        ("icmp", "type") => "icmp type",
        ("icmp", "code") => "icmp code",
        ("icmpv6", "type") => "icmpv6 type",
        ("icmpv6", "code") => "icmpv6 code",
        ("ether", "saddr") => "ether saddr",
        ("ether", "daddr") => "ether daddr",
        ("ether", "type") => "ether type",
        ("meta", "l4proto") => "meta l4proto",
        ("meta", "nfproto") => "meta nfproto",
        ("meta", "protocol") => "meta protocol",
        ("ct", "state") => "ct state",
        ("ct", "status") => "ct status",
        ("ct", "mark") => "ct mark",
        _ => return None,
    })
}

fn op_of(s: &str) -> Op {
    match s {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        ">" => Op::Gt,
        "<=" => Op::Le,
        ">=" => Op::Ge,
        _ => Op::Implicit,
    }
}

/// One statement of a rule's `expr`.
fn stmt<'a>(v: V<'_, 'a>) -> Stmt<'a> {
    let Some((k, b)) = v.first() else {
        return Stmt::Unrecognized(Cow::Owned(compact(v)));
    };
    if let Some(vd) = verdict_of(k, b) {
        return Stmt::Verdict(vd);
    }
    match k {
        "match" => {
            let left = b.get("left").unwrap_or(null());
            let right = val(b.get("right").unwrap_or(null()));
            let op = op_of(s(b, "op").unwrap_or("=="));
            // `{"&": [selector, mask]}`
            if let Some(and) = left.get("&").filter(|a| a.is_array()) {
                let sel = and.at(0).and_then(key);
                let mask = and.at(1).map(|m| Box::new(val(m)));
                return match sel {
                    Some(key) => Stmt::Match { key, mask, op, right },
                    None => Stmt::UnmodelledMatch(Cow::Owned(compact(v))),
                };
            }
            match key(left) {
                Some(key) => Stmt::Match { key, mask: None, op, right },
                None => Stmt::UnmodelledMatch(Cow::Owned(compact(v))),
            }
        }
        "vmap" => {
            let kk = b.get("key").and_then(key).unwrap_or_else(|| Cow::Owned(compact(b.get("key").unwrap_or(null()))));
            let map = val(b.get("data").unwrap_or(null()));
            Stmt::Vmap { key: kk, map }
        }
        "counter" => Stmt::Effect(Cow::Borrowed("counter")),
        "log" => {
            let mut t = "log".to_string();
            if let Some(p) = s(b, "prefix") {
                t.push_str(&format!(" prefix \"{p}\""));
            }
            Stmt::Effect(Cow::Owned(t))
        }
        "comment" => Stmt::Effect(Cow::Owned(format!("comment {}", compact(b)))),
        "limit" => {
            let rate = b.get("rate").map(|r| r.to_string()).unwrap_or_default();
            let per = s(b, "per").unwrap_or("second");
            let over = b.get("inv").and_then(|x| x.as_bool()).unwrap_or(false);
            let unit = s(b, "rate_unit").map(|u| format!(" {u}")).unwrap_or_default();
            let text = format!("limit rate {}{rate}{unit}/{per}", if over { "over " } else { "" });
            Stmt::Limit { over, text: Cow::Owned(text) }
        }
        "notrack" => Stmt::Notrack,
        "reject" => {
            let ty = s(b, "type");
            let ex = b.get("expr").map(|e| val(e).to_string());
            Stmt::Reject(match (ty, ex) {
                (None, None) => None,
                (Some("tcp reset"), _) => Some(Cow::Borrowed("tcp reset")),
                (Some(t), Some(e)) => Some(Cow::Owned(format!("{t} type {e}"))),
                (Some(t), None) => Some(Cow::Owned(format!("{t} type port-unreachable"))),
                (None, Some(e)) => Some(Cow::Owned(format!("icmpx type {e}"))),
            })
        }
        "snat" | "dnat" | "masquerade" | "redirect" => {
            let kind = match k {
                "snat" => NatKind::Snat,
                "dnat" => NatKind::Dnat,
                "masquerade" => NatKind::Masquerade,
                _ => NatKind::Redirect,
            };
            if !b.is_object() {
                return Stmt::Nat(Box::new(Nat { kind, family: None, addr: None, port: None, flags: Vec::new() }));
            }
            let addr = b.get("addr").map(val);
            let port = b.get("port").map(val);
            let family = sc(b, "family");
            let mut flags: Vec<Str<'a>> = match b.get("flags") {
                Some(x) if x.is_str() => x.as_cow().into_iter().collect(),
                Some(x) => x.elems().filter_map(|f| f.as_cow()).collect(),
                None => Vec::new(),
            };
            if b.contains_key("type_flags") || b.contains_key("prefix") {
                flags.push(Cow::Borrowed("netmap"));
            }
            let unmodelled = matches!(addr, Some(Val::Other(_) | Val::Set(_) | Val::Concat(_)))
                || matches!((&addr, &port), (Some(Val::Map { .. }), Some(_)))
                || matches!(port, Some(Val::Other(_) | Val::Set(_)))
                || flags.iter().any(|f| f == "netmap");
            let st = Stmt::Nat(Box::new(Nat { kind, family, addr, port, flags }));
            if unmodelled {
                Stmt::UnmodelledAction(Cow::Owned(st.to_string()))
            } else {
                st
            }
        }
        "mangle" => {
            let kk = b.get("key").and_then(key).unwrap_or_default();
            let value = b.get("value").map(val).map(|x| x.to_string()).unwrap_or_default();
            let text = format!("{} set {value}", KeyText(&kk));
            let rewrites = ["ip ", "ip6 ", "tcp ", "udp ", "th ", "sctp ", "ether ", "icmp"].iter().any(|p| kk.starts_with(p))
                || kk == "ct zone";
            let harmless = matches!(kk.as_ref(), "ip dscp" | "ip6 dscp" | "ip ttl" | "ip6 hoplimit" | "ip ecn" | "ip6 ecn" | "ip6 flowlabel")
                || kk.starts_with("tcp option");
            if rewrites && !harmless {
                Stmt::UnmodelledAction(Cow::Owned(text))
            } else {
                Stmt::Effect(Cow::Owned(text))
            }
        }
        "set" | "map" => {
            let op = s(b, "op").unwrap_or("add");
            let set = s(b, "set").unwrap_or("");
            Stmt::Effect(Cow::Owned(format!("{op} {set}")))
        }
        "flow" => Stmt::Effect(Cow::Owned(format!("flow add {}", s(b, "flowtable").unwrap_or("")))),
        "ct helper" | "ct timeout" | "ct expectation" | "meta" | "ct" => Stmt::Effect(Cow::Owned(format!("{k} set {}", compact(b)))),
        "xt" => {
            let ty = s(b, "type").unwrap_or("?");
            let name = s(b, "name").unwrap_or("?");
            let text = format!("xt {ty} {name}");
            if ty == "match" && name == "comment" {
                Stmt::Effect(Cow::Owned(text))
            } else if ty == "target" && name == "REJECT" {
                // the reject type is not part of nft's JSON for compatibility targets
                Stmt::Reject(Some(Cow::Borrowed("xt REJECT")))
            } else if ty == "target" {
                if super::XT_CONTINUE_TARGETS.contains(&name) {
                    Stmt::Effect(Cow::Owned(text))
                } else {
                    Stmt::UnmodelledAction(Cow::Owned(text))
                }
            } else {
                Stmt::UnmodelledMatch(Cow::Owned(text))
            }
        }
        "quota" | "ct count" | "synproxy" => Stmt::UnmodelledMatch(Cow::Owned(format!("{k} {}", compact(b)))),
        "queue" => Stmt::Verdict(Verdict::Queue(Cow::Owned(compact(b)))),
        "dup" | "fwd" | "tproxy" => Stmt::UnmodelledAction(Cow::Owned(format!("{k} {}", compact(b)))),
        _ => Stmt::Unrecognized(Cow::Owned(compact(v))),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn finds_element_lines() {
        let t = "{\"nftables\": [\n {\"metainfo\": {}},\n {\"table\": {\"family\": \"ip\", \"name\": \"f\"}}\n]}";
        let st = element_starts(t);
        assert_eq!(st.len(), 2);
        assert_eq!(line_of(t, st[1]), 3);
    }
}
