//! Juniper Junos / SRX configuration, hierarchical (brace) or `set` form.
//!
//! Both forms are first flattened into one list of set statements that keep each word's line
//! ([`flatten`]); one lowering ([`lower`]) turns them into interfaces, static routes, firewall
//! filters (stateless, on routers) and, when the configuration has a `security` stanza, the
//! SRX's zones, policies, host-inbound traffic and NAT (stateful). See `docs/formats/junos.md`.

mod flatten;
mod lower;
mod names;

use std::sync::Arc;
use super::{Format, ParsedFile};
use crate::diag::{Diags, SourceId};

/// First words of a Junos configuration statement at the top level.
const TOP_LEVEL: &[&str] = &[
    "system",
    "interfaces",
    "firewall",
    "security",
    "policy-options",
    "routing-options",
    "routing-instances",
    "protocols",
    "applications",
    "snmp",
    "chassis",
    "groups",
    "apply-groups",
    "class-of-service",
    "forwarding-options",
    "vlans",
    "event-options",
    "services",
    "access",
    "logical-systems",
    "bridge-domains",
    "switch-options",
    "ethernet-switching-options",
    "poe",
    "virtual-chassis",
];

/// True if the text is this format: `set` statements or braces over Junos top-level stanzas
/// (`system {`, `set interfaces ...`, `firewall {`, `security {`, ...).
pub fn looks_like(text: &str) -> bool {
    let mut votes = 0u32;
    let mut seen = 0u32;
    for raw in text.lines().take(400) {
        let mut l = raw.trim();
        if l.starts_with("#RANCID-CONTENT-TYPE") || l.starts_with("!RANCID-CONTENT-TYPE") {
            return l.to_ascii_lowercase().contains("juniper");
        }
        if l.as_bytes().contains(&b'*') {
            if let Some((_, after)) = l.split_once("*/") {
                l = after.trim();
            }
        }
        if l.is_empty() || l.starts_with('#') || l.starts_with("/*") || l.starts_with('*') || l.starts_with("**") {
            continue;
        }
        seen += 1;
        // Only lines whose first word starts with one of these bytes (`set`, `deactivate`,
        // `delete`, the modifiers, `version`, the PAN-OS words) or that open a block can vote
        // or decide; the others are counted and passed over without splitting them into words.
        if !l.ends_with('{') && !matches!(l.as_bytes().first(), Some(b's' | b'd' | b'r' | b'i' | b'p' | b'v' | b'm')) {
            if seen > 200 {
                break;
            }
            continue;
        }
        let mut w = l.split_whitespace();
        let first = w.next().unwrap_or("");
        let first = if matches!(first, "replace:" | "inactive:" | "protect:") { w.next().unwrap_or("") } else { first };
        if matches!(first, "set" | "deactivate" | "delete") {
            if let Some(second) = w.next() {
                if TOP_LEVEL.contains(&second) || second == "version" {
                    votes += 2;
                } else if matches!(second, "deviceconfig" | "network" | "shared" | "vsys" | "rulebase" | "mgt-config" | "address" | "address-group" | "service" | "service-group" | "zone" | "profiles" | "tag") {
                    // PAN-OS set commands.
                    return false;
                }
            }
        } else if l.ends_with('{') && TOP_LEVEL.contains(&first) {
            let rest: Vec<&str> = w.collect();
            if rest == ["{"] {
                votes += 2;
            }
        } else if first == "version" && l.ends_with(';') {
            votes += 2;
        } else if matches!(first, "deviceconfig" | "mgt-config" | "vsys" | "rulebase") {
            return false;
        }
        if votes >= 2 {
            return true;
        }
        if seen > 200 {
            break;
        }
    }
    false
}

/// Parse one file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut out = ParsedFile::new(Format::Junos, text);
    let mut diags = Diags::default();
    let escaped = flatten::escaped_strings(text);
    let flat = flatten::flatten(text, &escaped, &mut diags);
    out.lines_skipped = flatten::count_skipped(text, &flat.stmt_lines);
    let lowered = lower::lower(source, file, text, &flat, &mut diags);
    out.device_hint = lowered.hostname;
    out.content.interfaces = lowered.interfaces;
    out.content.routes = lowered.routes;
    out.content.firewall = lowered.firewall.map(Arc::new);
    let mut list = diags.list;
    list.sort_by_key(|d| d.line);
    let mut seen = std::collections::HashSet::new();
    list.retain(|d| seen.insert((d.line, d.code, d.reason.clone())));
    out.diags = list;
    out
}
