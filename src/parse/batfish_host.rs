//! Batfish host files: the JSON that describes a Linux host of a Batfish snapshot
//! (`hosts/NAME.json`).
//!
//! ```json
//! { "hostname": "host1", "iptablesFile": "iptables/host1.iptables",
//!   "hostInterfaces": { "eth0": { "name": "eth0", "prefix": "2.128.0.101/24",
//!                                 "gateway": "2.128.0.1" } } }
//! ```
//!
//! # Lowering rules
//! - `hostname` names the device; every interface becomes an [`Interface`] with its `prefix`
//!   (host bits kept: they are the host's own address).
//! - A `gateway` on an interface becomes a default route of the gateway's family via that
//!   interface (Batfish gives the host a static default route through it).
//! - `iptablesFile` names the rules file of the same host (a path relative to the snapshot):
//!   the input whose path ends with it joins this device, whatever its own name is.
//! - `overlay: true` says the host file adds to a configuration of the same name (Batfish's
//!   overlay hosts): the device name already joins them, so nothing more is done.
//! - Keys this reader does not know are reported with their line; the rest still loads.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};

use super::{Format, ParsedFile};
use crate::diag::{codes, Diags, Provenance, Severity, SourceId};
use crate::model::{Interface, Route, RouteKind};

/// Keys of a host file this reader uses.
const HOST_KEYS: &[&str] = &["hostname", "iptablesFile", "hostInterfaces", "overlay", "hostType"];
/// Keys of one interface entry.
const IFACE_KEYS: &[&str] = &["name", "prefix", "gateway", "shared", "otherPrefixes"];

/// True if the (trimmed) JSON text is a Batfish host file.
pub fn looks_like(text: &str) -> bool {
    let head: String = text.chars().take(4096).collect();
    head.trim_start().starts_with('{') && head.contains("\"hostInterfaces\"") && head.contains("\"hostname\"")
}

/// One-based line of the first occurrence of `needle` at or after byte `from`, and that byte
/// offset (so repeated keys are found in order).
fn line_of(text: &str, needle: &str, from: usize) -> (u32, usize) {
    match text.get(from..).and_then(|t| t.find(needle)) {
        Some(i) => {
            let at = from + i;
            (text.get(..at).map_or(0, |t| t.matches('\n').count()) as u32 + 1, at)
        }
        None => (0, from),
    }
}

fn line_text(text: &str, line: u32) -> String {
    text.lines().nth((line as usize).wrapping_sub(1)).unwrap_or("").trim().to_string()
}

/// Parse a Batfish host file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::BatfishHost, text);
    let mut d = Diags::default();
    let body = text.trim_start_matches('\u{feff}');
    let root: Map<String, Value> = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            d.push(codes::UNREADABLE, Severity::Error, 1, "", "a Batfish host file is one JSON object");
            p.diags = d.list;
            return p;
        }
        Err(e) => {
            let line = e.line() as u32;
            d.push(codes::UNREADABLE, Severity::Error, line, &line_text(text, line), format!("not valid JSON: {e}"));
            p.diags = d.list;
            return p;
        }
    };
    let prov = |line: u32| Provenance { source, file: file.to_string(), line, text: line_text(text, line) };

    for key in root.keys().filter(|k| !HOST_KEYS.contains(&k.as_str())) {
        let (line, _) = line_of(text, &format!("\"{key}\""), 0);
        d.push(codes::UNRECOGNIZED, Severity::Warning, line, &line_text(text, line), format!("key {key:?} is not read"));
    }
    match root.get("hostname") {
        Some(Value::String(h)) if !h.trim().is_empty() => p.device_hint = Some(h.trim().to_string()),
        _ => {
            let (line, _) = line_of(text, "\"hostname\"", 0);
            d.push(codes::BAD_VALUE, Severity::Warning, line, &line_text(text, line), "hostname is not a name: the device is named by the file");
        }
    }
    match root.get("iptablesFile") {
        None | Some(Value::Null) => {}
        Some(Value::String(f)) if !f.trim().is_empty() => p.content.references.push(f.trim().to_string()),
        Some(_) => {
            let (line, _) = line_of(text, "\"iptablesFile\"", 0);
            d.push(codes::BAD_VALUE, Severity::Warning, line, &line_text(text, line), "iptablesFile is not a path");
        }
    }
    if let Some(Value::String(t)) = root.get("hostType") {
        let (line, _) = line_of(text, "\"hostType\"", 0);
        d.push(codes::UNRECOGNIZED, Severity::Info, line, &line_text(text, line), format!("host type {t:?} does not change the model"));
    }
    let ifaces = match root.get("hostInterfaces") {
        Some(Value::Object(m)) => m,
        _ => {
            let (line, _) = line_of(text, "\"hostInterfaces\"", 0);
            d.push(codes::BAD_VALUE, Severity::Warning, line, &line_text(text, line), "hostInterfaces is not an object of interfaces");
            p.diags = d.list;
            return p;
        }
    };
    let (_, mut cursor) = line_of(text, "\"hostInterfaces\"", 0);
    for (key, v) in ifaces {
        let (line, at) = line_of(text, &format!("\"{key}\""), cursor);
        cursor = at;
        let Value::Object(o) = v else {
            d.push(codes::BAD_VALUE, Severity::Warning, line, &line_text(text, line), format!("interface {key:?} is not an object"));
            continue;
        };
        let name = o.get("name").and_then(Value::as_str).unwrap_or(key).to_string();
        let mut itf = Interface::new(name.clone(), prov(line));
        for k in o.keys().filter(|k| !IFACE_KEYS.contains(&k.as_str())) {
            let (l, _) = line_of(text, &format!("\"{k}\""), cursor);
            d.push(codes::UNRECOGNIZED, Severity::Warning, l, &line_text(text, l), format!("interface key {k:?} is not read"));
        }
        let mut prefixes: Vec<&Value> = o.get("prefix").into_iter().collect();
        if let Some(Value::Array(more)) = o.get("otherPrefixes") {
            prefixes.extend(more.iter());
        }
        for pv in prefixes {
            let s = pv.as_str().unwrap_or("");
            let (l, _) = line_of(text, &format!("\"{s}\""), cursor);
            match s.parse::<IpNet>() {
                Ok(n) => itf.addresses.push(n),
                Err(_) => d.push(codes::BAD_VALUE, Severity::Warning, l, &line_text(text, l), format!("prefix {s:?} is not ADDRESS/LENGTH")),
            }
        }
        if let Some(g) = o.get("gateway") {
            let s = g.as_str().unwrap_or("");
            let (l, _) = line_of(text, "\"gateway\"", cursor);
            match s.parse::<IpAddr>() {
                Ok(gw) => {
                    let dst: IpNet = if gw.is_ipv4() { "0.0.0.0/0" } else { "::/0" }.parse().expect("literal prefix");
                    p.content.routes.push(Route {
                        dst,
                        via: Some(gw),
                        dev: Some(name.clone()),
                        kind: RouteKind::Unicast,
                        metric: 0,
                        src: None,
                        table: "main".into(),
                        prov: prov(l),
                    });
                }
                Err(_) => d.push(codes::BAD_VALUE, Severity::Warning, l, &line_text(text, l), format!("gateway {s:?} is not an IP address")),
            }
        }
        p.content.interfaces.push(itf);
    }
    d.list.sort_by_key(|x| x.line);
    p.diags = d.list;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_with_gateway_and_rules_file() {
        let t = "{\n  \"hostname\": \"h1\",\n  \"iptablesFile\": \"iptables/h1.v4\",\n  \"hostInterfaces\": {\n    \"eth0\": {\n      \"name\": \"eth0\",\n      \"prefix\": \"10.0.0.5/24\",\n      \"gateway\": \"10.0.0.1\"\n    }\n  }\n}\n";
        assert!(looks_like(t));
        let p = parse(0, "hosts/h1.json", t);
        assert!(p.diags.is_empty(), "{:?}", p.diags);
        assert_eq!(p.device_hint.as_deref(), Some("h1"));
        assert_eq!(p.content.references, vec!["iptables/h1.v4".to_string()]);
        assert_eq!(p.content.interfaces[0].addresses[0].to_string(), "10.0.0.5/24");
        assert_eq!(p.content.interfaces[0].prov.line, 5);
        let r = &p.content.routes[0];
        assert_eq!((r.dst.to_string(), r.via.map(|v| v.to_string())), ("0.0.0.0/0".into(), Some("10.0.0.1".into())));
        assert_eq!(r.prov.line, 8);
    }

    #[test]
    fn bad_values_are_reported_and_the_rest_loads() {
        let t = "{\"hostname\": \"h\", \"color\": 1, \"hostInterfaces\": {\"a\": {\"prefix\": \"x\"}, \"b\": {\"prefix\": \"10.1.1.1/24\", \"gateway\": \"nope\"}}}";
        let p = parse(0, "h.json", t);
        let codes: Vec<&str> = p.diags.iter().map(|d| d.code).collect();
        assert_eq!(codes.iter().filter(|c| **c == codes::BAD_VALUE).count(), 2, "{:?}", p.diags);
        assert!(codes.contains(&codes::UNRECOGNIZED));
        assert_eq!(p.content.interfaces.len(), 2);
        assert_eq!(p.content.interfaces[1].addresses.len(), 1);
        assert!(p.content.routes.is_empty());
        assert!(parse(0, "h.json", "{\"hostname\": ").diags.iter().any(|d| d.code == codes::UNREADABLE));
    }
}
