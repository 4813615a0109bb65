//! Palo Alto PAN-OS configuration: the XML running-configuration export (firewall or Panorama),
//! and the brace form `show config running` prints with `set`, `delete` and `move` lines.
//!
//! Both forms are read into one tree with line numbers ([`tree`]), and one lowering
//! ([`lower`]) turns it into interfaces, static routes and a stateful firewall: zone-pair
//! security rulesets with the predefined intrazone-allow and interzone-deny defaults, NAT rules
//! evaluated on the original packet, and interface management profiles for traffic to the
//! firewall itself. `docs/formats/panos.md` describes every construct and how it maps.

mod lower;
mod objects;
mod tree;

use std::sync::Arc;
use super::{Format, ParsedFile};
use crate::diag::SourceId;

/// Top-level keywords of the brace and `set` forms that only PAN-OS writes.
const KEYWORDS: &[&str] = &["deviceconfig", "mgt-config", "rulebase", "vsys", "device-group", "template-stack", "readonly"];

/// How many statements are looked at to decide.
const DETECT_LINES: usize = 400;

/// True if the text is this format: XML whose root is `<config>` holding `<devices>`,
/// `<shared>` or `<mgt-config>` (or an API `<response>` wrapping one), or a brace/`set` text
/// whose first statements use PAN-OS top-level keywords.
pub fn looks_like(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('<') {
        let head: String = t.chars().take(4096).collect();
        let root_ok = xml_root(&head).is_some_and(|r| r == "config" || r == "response");
        // A bare `<config/>` is no firewall's export: it must hold devices, shared objects or
        // the management configuration.
        return root_ok && ["<devices", "<shared", "<mgt-config"].iter().any(|k| head.contains(k)) && head.contains("<config");
    }
    // Every test below answers yes for the whole text, so their order does not matter: the
    // RANCID header is searched once in all the lines looked at (`end`: where they end).
    let mut end = 0;
    for line in t.lines().take(DETECT_LINES) {
        end = line.as_ptr() as usize - t.as_ptr() as usize + line.len();
        let l = line.trim();
        if l.starts_with('#') || l.starts_with('!') || l.is_empty() {
            continue;
        }
        let l = l.strip_prefix("set ").unwrap_or(l);
        let l = l.strip_prefix("config devices localhost.localdomain ").unwrap_or(l);
        // the keywords, `network` and `config` start with one of these bytes
        if !matches!(l.as_bytes().first(), Some(b'd' | b'm' | b'r' | b'v' | b't' | b'n' | b'c')) {
            continue;
        }
        let first = l.split(|c: char| c.is_whitespace() || c == '{').next().unwrap_or("");
        if KEYWORDS.contains(&first) {
            return true;
        }
        if first == "network" && (l.contains("virtual-router") || l.contains("interface ethernet")) {
            return true;
        }
        if first == "config" && t.contains("localhost.localdomain") {
            return true;
        }
    }
    t.get(..end).is_some_and(|head| head.contains("RANCID-CONTENT-TYPE: paloalto"))
}

/// The name of the root element after the XML prologue.
fn xml_root(text: &str) -> Option<&str> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.starts_with("<?") {
            rest = rest.get(rest.find("?>")? + 2..)?;
        } else if rest.starts_with("<!--") {
            rest = rest.get(rest.find("-->")? + 3..)?;
        } else if let Some(tag) = rest.strip_prefix('<') {
            let end = tag.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(tag.len());
            return tag.get(..end);
        } else {
            return None;
        }
    }
}

/// Parse one file.
pub fn parse(source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::PanOs, text);
    let mut cx = lower::Ctx::new(source, file, text);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let tree = if t.starts_with('<') {
        match tree::parse_xml(text, &mut cx.d) {
            Some(mut tr) => {
                tr.skipped = text.lines().filter(|l| xml_cosmetic(l)).count() as u32;
                Some(tr)
            }
            None => None,
        }
    } else {
        Some(tree::parse_text(text, &mut cx.d))
    };
    if let Some(tree) = tree {
        let low = lower::lower(tree.root, &mut cx);
        p.lines_skipped = tree.skipped;
        p.device_hint = low.hostname;
        p.content.firewall = low.firewall.map(Arc::new);
        p.content.interfaces = low.interfaces;
        p.content.routes = low.routes;
    }
    let mut diags = cx.d.list;
    diags.sort_by_key(|d| d.line);
    p.diags = diags;
    p
}

/// XML lines that carry nothing: blank, the declaration, comments, closing tags only.
fn xml_cosmetic(l: &str) -> bool {
    let t = l.trim();
    t.is_empty() || t.starts_with("<?") || (t.starts_with("<!--") && t.ends_with("-->")) || (t.starts_with("</") && t.matches('<').count() == 1)
}
