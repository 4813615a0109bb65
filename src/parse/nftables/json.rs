//! `nft -j list ruleset` JSON (libnftables JSON schema, version 1) into the shared form.
//!
//! The document is `{"nftables": [ {"metainfo": …}, {"table": …}, {"chain": …}, {"set": …},
//! {"map": …}, {"rule": …}, … ]}`. Rules carry their statements in `expr`. Each object's line is
//! the line where it starts in the file (one line for `nft -j`'s compact output); a rule's text
//! is its statements written back in nft syntax.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ir::*;
use super::ir::display_key;
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

fn s<'v>(o: &'v Map<String, Value>, k: &str) -> Option<&'v str> {
    o.get(k).and_then(Value::as_str)
}

/// Read the document. `None` (with a P008 diagnostic) if it is not a ruleset.
pub fn read(text: &str, diags: &mut Diags) -> Option<Vec<Table>> {
    diags.set_context("nft -j");
    let v: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(v) => v,
        Err(e) => {
            let line = u32::try_from(e.line()).unwrap_or(0);
            diags.push(codes::UNREADABLE, Severity::Error, line, "", format!("invalid JSON: {e}"));
            return None;
        }
    };
    let Some(items) = v.get("nftables").and_then(Value::as_array) else {
        diags.push(codes::UNREADABLE, Severity::Error, 0, "", "JSON without an \"nftables\" array: not nft -j output");
        return None;
    };
    let starts = element_starts(text);
    // line numbers by an incremental scan (linear in the text)
    let mut lines = Vec::with_capacity(starts.len());
    let (mut last_off, mut last_line) = (0usize, 1u32);
    for &st in &starts {
        let add = text.as_bytes().get(last_off..st).map_or(0, |s| s.iter().filter(|&&c| c == b'\n').count());
        last_line = last_line.saturating_add(u32::try_from(add).unwrap_or(0));
        last_off = st;
        lines.push(last_line);
    }
    let aligned = lines.len() == items.len();
    let _ = line_of;
    let mut tables: Vec<Table> = Vec::new();
    // per table (same index), chain name → index in its `chains`
    let mut chain_ix: Vec<HashMap<String, usize>> = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let line = if aligned { lines.get(k).copied().unwrap_or(1) } else { 1 };
        let Some(o) = item.as_object() else {
            diags.push(codes::UNRECOGNIZED, Severity::Warning, line, &format!("/nftables/{k}"), "element is not an object");
            continue;
        };
        let Some((kind, body)) = o.iter().next() else { continue };
        let Some(b) = body.as_object() else {
            if kind != "metainfo" {
                diags.push(codes::UNRECOGNIZED, Severity::Warning, line, &format!("/nftables/{k}"), format!("\"{kind}\" without an object"));
            }
            continue;
        };
        let fam = s(b, "family").and_then(Fam::from_name);
        match kind.as_str() {
            "metainfo" => {}
            "table" => {
                let (Some(fam), Some(name)) = (fam, s(b, "name")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "table without a family or name");
                    continue;
                };
                let text = format!("table {} {name}", fam.name());
                // nft 1.0.6 writes the table's name where its flags belong; `dormant` is then the
                // flag meant (the other, `owner`, only exists while its process runs)
                let dormant = b.get("flags").is_some_and(|f| match f {
                    Value::String(x) => x == "dormant" || x == name,
                    Value::Array(a) => a.iter().any(|x| x.as_str() == Some("dormant")),
                    _ => false,
                });
                if !tables.iter().any(|t| t.fam == fam && t.name == name) {
                    tables.push(Table { fam, name: name.into(), pos: Pos { line, text }, chains: Vec::new(), sets: Vec::new(), dormant });
                }
            }
            "chain" => {
                let (Some(fam), Some(tname), Some(name)) = (fam, s(b, "table"), s(b, "name")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "chain without family, table or name");
                    continue;
                };
                let Some(ti) = find_table(&mut tables, fam, tname, line, diags, k) else { continue };
                let base = match (s(b, "type"), s(b, "hook")) {
                    (Some(ty), Some(hook)) => {
                        let prio = match b.get("prio") {
                            Some(Value::Number(n)) => n.to_string(),
                            Some(Value::String(x)) => x.clone(),
                            _ => String::new(),
                        };
                        let device = s(b, "dev").map(str::to_string).or_else(|| b.get("dev").map(|d| d.to_string()));
                        let mut text = format!("type {ty} hook {hook}");
                        if let Some(d) = &device {
                            text.push_str(&format!(" device {d}"));
                        }
                        text.push_str(&format!(" priority {prio};"));
                        if let Some(p) = s(b, "policy") {
                            text.push_str(&format!(" policy {p};"));
                        }
                        Some(BaseSpec { ty: ty.into(), hook: hook.into(), prio, device, pos: Pos { line, text } })
                    }
                    _ => None,
                };
                let policy = s(b, "policy").map(|p| {
                    let text = base.as_ref().map(|b| b.pos.text.clone()).unwrap_or_else(|| format!("policy {p};"));
                    (p.to_string(), Pos { line, text })
                });
                let text = format!("chain {} {} {name}", fam.name(), tname);
                chain_ix.resize_with(tables.len(), HashMap::new);
                let (Some(t), Some(ix)) = (tables.get_mut(ti), chain_ix.get_mut(ti)) else { continue };
                match ix.get(name).and_then(|&ci| t.chains.get_mut(ci)) {
                    Some(c) => {
                        if base.is_some() {
                            c.base = base;
                            c.policy = policy;
                        }
                    }
                    None => {
                        ix.insert(name.to_string(), t.chains.len());
                        t.chains.push(Chain { name: name.into(), pos: Pos { line, text }, base, policy, rules: Vec::new() });
                    }
                }
            }
            "set" | "map" => {
                let (Some(fam), Some(tname), Some(name)) = (fam, s(b, "table"), s(b, "name")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "set without family, table or name");
                    continue;
                };
                let Some(t) = find_table(&mut tables, fam, tname, line, diags, k).and_then(|ti| tables.get_mut(ti)) else { continue };
                let key_type = type_text(b.get("type"));
                let data_type = b.get("map").map(|m| type_text(Some(m)));
                let flags = match b.get("flags") {
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                    Some(Value::String(x)) => vec![x.clone()],
                    _ => Vec::new(),
                };
                let elements = match b.get("elem") {
                    Some(Value::Array(a)) => a.iter().map(elem).collect(),
                    _ => Vec::new(),
                };
                let text = format!("{kind} {name} {{ type {key_type}{} }}", data_type.as_ref().map(|d| format!(" : {d}")).unwrap_or_default());
                t.sets.push(SetDef {
                    name: name.into(),
                    pos: Pos { line, text },
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
                let els: Vec<Elem> = match b.get("elem") {
                    Some(Value::Array(a)) => a.iter().map(elem).collect(),
                    _ => Vec::new(),
                };
                if let Some(st) = t.sets.iter_mut().find(|x| x.name == name) {
                    st.elements.extend(els);
                }
            }
            "rule" => {
                let (Some(fam), Some(tname), Some(cname)) = (fam, s(b, "table"), s(b, "chain")) else {
                    diags.push(codes::BAD_VALUE, Severity::Warning, line, &format!("/nftables/{k}"), "rule without family, table or chain");
                    continue;
                };
                let Some(ti) = find_table(&mut tables, fam, tname, line, diags, k) else { continue };
                chain_ix.resize_with(tables.len(), HashMap::new);
                let (Some(t), Some(ix)) = (tables.get_mut(ti), chain_ix.get_mut(ti)) else { continue };
                let stmts: Vec<Stmt> = match b.get("expr") {
                    Some(Value::Array(a)) => a.iter().map(stmt).collect(),
                    _ => Vec::new(),
                };
                let text = render(&stmts);
                let rule = RuleIr { pos: Pos { line, text }, stmts };
                match ix.get(cname).and_then(|&ci| t.chains.get_mut(ci)) {
                    Some(c) => c.rules.push(rule),
                    None => {
                        diags.push(
                            codes::UNDEFINED_REFERENCE,
                            Severity::Warning,
                            line,
                            &rule.pos.text,
                            format!("rule of chain {cname}, which is not listed before it: read into a new regular chain"),
                        );
                        ix.insert(cname.to_string(), t.chains.len());
                        t.chains.push(Chain { name: cname.into(), pos: rule.pos.clone(), base: None, policy: None, rules: vec![rule] });
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
fn find_table(tables: &mut Vec<Table>, fam: Fam, name: &str, line: u32, diags: &mut Diags, k: usize) -> Option<usize> {
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
                name: name.into(),
                pos: Pos { line, text: format!("table {} {name}", fam.name()) },
                chains: Vec::new(),
                sets: Vec::new(),
                dormant: false,
            });
            tables.len().checked_sub(1)
        }
    }
}

fn type_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" . "),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn verdict_of(k: &str, b: &Value) -> Option<Verdict> {
    Some(match k {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "continue" => Verdict::Continue,
        "return" => Verdict::Return,
        "jump" => Verdict::Jump(b.get("target").and_then(Value::as_str).unwrap_or("").to_string()),
        "goto" => Verdict::Goto(b.get("target").and_then(Value::as_str).unwrap_or("").to_string()),
        _ => return None,
    })
}

/// A set or map element.
fn elem(v: &Value) -> Elem {
    match v {
        // map element: [key, data]
        Value::Array(a) if a.len() == 2 => {
            let key = val(a.first().unwrap_or(&Value::Null));
            let data = a.get(1).map(|d| match d.as_object().and_then(|o| o.iter().next()) {
                Some((k, b)) => match verdict_of(k, b) {
                    Some(vd) => Val::Verdict(vd),
                    None => val(d),
                },
                None => val(d),
            });
            Elem { key, data }
        }
        Value::Object(o) if o.contains_key("elem") => {
            let inner = o.get("elem").and_then(|e| e.get("val")).unwrap_or(&Value::Null);
            elem(inner)
        }
        other => Elem { key: val(other), data: None },
    }
}

/// A value (right-hand side, set element, NAT address).
fn val(v: &Value) -> Val {
    match v {
        Value::String(x) => match x.strip_prefix('@') {
            Some(n) => Val::SetRef(n.to_string()),
            None => Val::Atom(x.clone()),
        },
        Value::Number(n) => Val::Atom(n.to_string()),
        Value::Bool(b) => Val::Atom(b.to_string()),
        Value::Array(a) => Val::Set(a.iter().map(|e| Elem { key: val(e), data: None }).collect()),
        Value::Object(o) => {
            let Some((k, b)) = o.iter().next() else { return Val::Other("{}".into()) };
            match k.as_str() {
                "set" => match b {
                    Value::Array(a) => Val::Set(a.iter().map(elem).collect()),
                    other => Val::Set(vec![Elem { key: val(other), data: None }]),
                },
                "prefix" => {
                    let addr = b.get("addr").map(val).map(|v| v.to_string()).unwrap_or_default();
                    let len = b.get("len").map(|l| l.to_string()).unwrap_or_default();
                    Val::Atom(format!("{addr}/{len}"))
                }
                "range" => {
                    let a = b.get(0).map(val).map(|v| v.to_string()).unwrap_or_default();
                    let c = b.get(1).map(val).map(|v| v.to_string()).unwrap_or_default();
                    Val::Atom(format!("{a}-{c}"))
                }
                "concat" => Val::Concat(b.as_array().map(|a| a.iter().map(val).collect()).unwrap_or_default()),
                "|" => Val::Or(b.as_array().map(|a| a.iter().map(val).collect()).unwrap_or_default()),
                "elem" => elem(v).key,
                "map" => match b.get("key").and_then(key) {
                    Some(k) => Val::Map { key: k, map: Box::new(val(b.get("data").unwrap_or(&Value::Null))) },
                    None => Val::Other(compact(v)),
                },
                _ => match verdict_of(k, b) {
                    Some(vd) => Val::Verdict(vd),
                    None => match key(v) {
                        Some(kt) => Val::Other(kt),
                        None => Val::Other(compact(v)),
                    },
                },
            }
        }
        Value::Null => Val::Other("null".into()),
    }
}

fn compact(v: &Value) -> String {
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
fn key(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    let (k, b) = o.iter().next()?;
    Some(match k.as_str() {
        "payload" => {
            if let (Some(p), Some(f)) = (b.get("protocol").and_then(Value::as_str), b.get("field").and_then(Value::as_str)) {
                format!("{p} {f}")
            } else {
                let base = b.get("base").and_then(Value::as_str).unwrap_or("?");
                let off = b.get("offset").map(|x| x.to_string()).unwrap_or_default();
                let len = b.get("len").map(|x| x.to_string()).unwrap_or_default();
                format!("@{base},{off},{len}")
            }
        }
        "meta" => {
            let m = b.get("key").and_then(Value::as_str).unwrap_or("?");
            match m {
                "iif" | "oif" | "iifname" | "oifname" | "iiftype" | "oiftype" | "mark" | "skuid" | "skgid" | "pkttype"
                | "cpu" | "cgroup" | "iifgroup" | "oifgroup" | "rtclassid" => m.to_string(),
                _ => format!("meta {m}"),
            }
        }
        "ct" => {
            let mut parts = vec!["ct".to_string()];
            if let Some(d) = b.get("dir").and_then(Value::as_str) {
                parts.push(d.into());
            }
            if let Some(f) = b.get("family").and_then(Value::as_str) {
                parts.push(f.into());
            }
            parts.push(b.get("key").and_then(Value::as_str).unwrap_or("?").into());
            parts.join(" ")
        }
        "fib" => {
            let flags: Vec<String> = match b.get("flags") {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                Some(Value::String(x)) => vec![x.clone()],
                _ => Vec::new(),
            };
            let result = b.get("result").and_then(Value::as_str).unwrap_or("?");
            format!("fib {} {result}", flags.join(" . "))
        }
        "tcp option" | "ip option" | "exthdr" | "sctp chunk" | "rt" | "socket" | "osf" | "ipsec" | "numgen" | "jhash"
        | "symhash" | "dccp option" => {
            let mut t = k.clone();
            if let Some(n) = b.get("name").and_then(Value::as_str) {
                t.push(' ');
                t.push_str(n);
            }
            if let Some(n) = b.get("key").and_then(Value::as_str) {
                t.push(' ');
                t.push_str(n);
            }
            if let Some(n) = b.get("field").and_then(Value::as_str) {
                t.push(' ');
                t.push_str(n);
            }
            if let Some(m) = b.get("mod") {
                t.push_str(&format!(" mod {m}"));
            }
            t
        }
        "concat" => {
            let parts: Vec<String> = b.as_array()?.iter().map(|e| key(e).unwrap_or_else(|| compact(e))).collect();
            parts.join(" . ")
        }
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
fn stmt(v: &Value) -> Stmt {
    let Some((k, b)) = v.as_object().and_then(|o| o.iter().next()) else {
        return Stmt::Unrecognized(compact(v));
    };
    if let Some(vd) = verdict_of(k, b) {
        return Stmt::Verdict(vd);
    }
    match k.as_str() {
        "match" => {
            let left = b.get("left").unwrap_or(&Value::Null);
            let right = val(b.get("right").unwrap_or(&Value::Null));
            let op = op_of(b.get("op").and_then(Value::as_str).unwrap_or("=="));
            // `{"&": [selector, mask]}`
            if let Some(and) = left.get("&").and_then(Value::as_array) {
                let sel = and.first().and_then(key);
                let mask = and.get(1).map(val);
                return match sel {
                    Some(key) => Stmt::Match { key, mask, op, right },
                    None => Stmt::UnmodelledMatch(compact(v)),
                };
            }
            match key(left) {
                Some(key) => Stmt::Match { key, mask: None, op, right },
                None => Stmt::UnmodelledMatch(compact(v)),
            }
        }
        "vmap" => {
            let kk = b.get("key").and_then(key).unwrap_or_else(|| compact(b.get("key").unwrap_or(&Value::Null)));
            let map = val(b.get("data").unwrap_or(&Value::Null));
            Stmt::Vmap { key: kk, map }
        }
        "counter" => Stmt::Effect("counter".into()),
        "log" => {
            let mut t = "log".to_string();
            if let Some(p) = b.get("prefix").and_then(Value::as_str) {
                t.push_str(&format!(" prefix \"{p}\""));
            }
            Stmt::Effect(t)
        }
        "comment" => Stmt::Effect(format!("comment {}", compact(b))),
        "limit" => {
            let rate = b.get("rate").map(|r| r.to_string()).unwrap_or_default();
            let per = b.get("per").and_then(Value::as_str).unwrap_or("second");
            let over = b.get("inv").and_then(Value::as_bool).unwrap_or(false);
            let unit = b.get("rate_unit").and_then(Value::as_str).map(|u| format!(" {u}")).unwrap_or_default();
            let text = format!("limit rate {}{rate}{unit}/{per}", if over { "over " } else { "" });
            Stmt::Limit { over, text }
        }
        "notrack" => Stmt::Notrack,
        "reject" => {
            let ty = b.get("type").and_then(Value::as_str);
            let ex = b.get("expr").map(|e| val(e).to_string());
            match (ty, ex) {
                (None, None) => Stmt::Reject(None),
                (Some("tcp reset"), _) => Stmt::Reject(Some("tcp reset".into())),
                (Some(t), Some(e)) => Stmt::Reject(Some(format!("{t} type {e}"))),
                (Some(t), None) => Stmt::Reject(Some(format!("{t} type port-unreachable"))),
                (None, Some(e)) => Stmt::Reject(Some(format!("icmpx type {e}"))),
            }
        }
        "snat" | "dnat" | "masquerade" | "redirect" => {
            let kind = match k.as_str() {
                "snat" => NatKind::Snat,
                "dnat" => NatKind::Dnat,
                "masquerade" => NatKind::Masquerade,
                _ => NatKind::Redirect,
            };
            let Some(o) = b.as_object() else {
                return Stmt::Nat { kind, family: None, addr: None, port: None, flags: Vec::new() };
            };
            let addr = o.get("addr").map(val);
            let port = o.get("port").map(val);
            let family = s(o, "family").map(str::to_string);
            let mut flags: Vec<String> = match o.get("flags") {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                Some(Value::String(x)) => vec![x.clone()],
                _ => Vec::new(),
            };
            if o.contains_key("type_flags") || o.contains_key("prefix") {
                flags.push("netmap".into());
            }
            let st = Stmt::Nat { kind, family, addr, port, flags };
            let unmodelled = match &st {
                Stmt::Nat { addr, port, flags, .. } => {
                    matches!(addr, Some(Val::Other(_) | Val::Set(_) | Val::Concat(_)))
                        || matches!((addr, port), (Some(Val::Map { .. }), Some(_)))
                        || matches!(port, Some(Val::Other(_) | Val::Set(_)))
                        || flags.iter().any(|f| f == "netmap")
                }
                _ => false,
            };
            if unmodelled {
                Stmt::UnmodelledAction(st.to_string())
            } else {
                st
            }
        }
        "mangle" => {
            let kk = b.get("key").and_then(key).unwrap_or_default();
            let value = b.get("value").map(val).map(|x| x.to_string()).unwrap_or_default();
            let text = format!("{} set {value}", display_key(&kk));
            let rewrites = ["ip ", "ip6 ", "tcp ", "udp ", "th ", "sctp ", "ether ", "icmp"].iter().any(|p| kk.starts_with(p))
                || kk == "ct zone";
            let harmless = matches!(kk.as_str(), "ip dscp" | "ip6 dscp" | "ip ttl" | "ip6 hoplimit" | "ip ecn" | "ip6 ecn" | "ip6 flowlabel")
                || kk.starts_with("tcp option");
            if rewrites && !harmless {
                Stmt::UnmodelledAction(text)
            } else {
                Stmt::Effect(text)
            }
        }
        "set" | "map" => {
            let op = b.get("op").and_then(Value::as_str).unwrap_or("add");
            let set = b.get("set").and_then(Value::as_str).unwrap_or("");
            Stmt::Effect(format!("{op} {set}"))
        }
        "flow" => Stmt::Effect(format!("flow add {}", b.get("flowtable").and_then(Value::as_str).unwrap_or(""))),
        "ct helper" | "ct timeout" | "ct expectation" | "meta" | "ct" => Stmt::Effect(format!("{k} set {}", compact(b))),
        "xt" => {
            let ty = b.get("type").and_then(Value::as_str).unwrap_or("?");
            let name = b.get("name").and_then(Value::as_str).unwrap_or("?");
            let text = format!("xt {ty} {name}");
            if ty == "match" && name == "comment" {
                Stmt::Effect(text)
            } else if ty == "target" && name == "REJECT" {
                // the reject type is not part of nft's JSON for compatibility targets
                Stmt::Reject(Some("xt REJECT".into()))
            } else if ty == "target" {
                if super::XT_CONTINUE_TARGETS.contains(&name) {
                    Stmt::Effect(text)
                } else {
                    Stmt::UnmodelledAction(text)
                }
            } else {
                Stmt::UnmodelledMatch(text)
            }
        }
        "quota" | "ct count" | "synproxy" => Stmt::UnmodelledMatch(format!("{k} {}", compact(b))),
        "queue" => Stmt::Verdict(Verdict::Queue(compact(b))),
        "dup" | "fwd" | "tproxy" => Stmt::UnmodelledAction(format!("{k} {}", compact(b))),
        _ => Stmt::Unrecognized(compact(v)),
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
