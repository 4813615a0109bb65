//! The topology manifest: one optional YAML or JSON file that names what configs cannot say.
//!
//! A manifest names devices and their files, links between interfaces, zones, hosts (name,
//! addresses, role, business value), crown jewels, threat origins, the security policy to check
//! and the assumptions behind the analysis. Every top-level key is optional; the keys are a
//! stable contract (see `schema/portolan-manifest.schema.json` and the documented
//! `examples/portolan.yaml`).
//!
//! Reading is forgiving, entry by entry: the document is first read into a tree whose nodes
//! know their lines ([`node`]), then each section and each entry is validated on its own. A bad
//! entry becomes a [`Diagnostic`] with its line and field path, e.g.
//! `portolan.yaml:14: P004 hosts[2].ip: "10.0.0.300" is not an IP address "ip: 10.0.0.300"`,
//! and the rest of the manifest is still used. Unknown keys are warnings (typo protection),
//! references to undeclared zones and hosts are errors (P005), and documents too large or
//! too deeply aliased to be a manifest are refused with a diagnostic instead of being expanded.

pub mod glob;
mod lower;
pub mod node;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::diag::{codes, Diagnostic, Diags, Severity, SourceId};
use crate::parse::{Format, ParsedFile};

pub use values::{AddrBlock, Endpoint, EndpointRef, IfaceRef, Role, ServiceSpec, Value};

/// The top-level keys of the manifest contract.
pub const SECTIONS: [&str; 8] =
    ["crown_jewels", "origins", "hosts", "zones", "devices", "links", "policy", "assumptions"];

/// Every key the reader accepts, per kind of object (`""` is the top level; `[]` marks list
/// entries, `.*` map values). The JSON Schema names exactly these keys.
pub const KEYS: &[(&str, &[&str])] = &[
    ("", &["$schema", "crown_jewels", "origins", "hosts", "zones", "devices", "links", "policy", "assumptions"]),
    ("origins[]", &["name", "addresses", "role", "description"]),
    ("hosts[]", &["name", "ip", "role", "value", "description"]),
    ("zones.*", &["addresses", "interfaces", "owner", "description"]),
    ("devices.*", &["files", "owner", "description"]),
    ("policy", &["matrix", "must_not_reach", "must_reach", "vendor_scopes"]),
    ("policy.matrix[]", &["from", "to", "allow", "owner", "description"]),
    ("policy.must_not_reach[]", &["id", "from", "to", "services", "owner", "description"]),
    ("policy.must_reach[]", &["id", "from", "to", "services", "owner", "description"]),
    ("policy.vendor_scopes[]", &["id", "origin", "allow", "owner", "description"]),
    ("policy.vendor_scopes[].allow[]", &["to", "services"]),
];

/// The keys accepted in one kind of object (see [`KEYS`]).
pub(crate) fn keys_of(kind: &str) -> &'static [&'static str] {
    KEYS.iter().find(|(k, _)| *k == kind).map_or(&[], |(_, v)| *v)
}

/// A parsed topology manifest. Entries with errors are left out; their diagnostics say why.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Manifest {
    /// The file it was read from, as given.
    pub file: String,
    /// What matters most: hosts, addresses, zones or devices.
    pub crown_jewels: Vec<EndpointRef>,
    /// Named threat origins besides `internet` (always there).
    pub origins: Vec<OriginDecl>,
    /// Hosts with their addresses, role and business value.
    pub hosts: Vec<HostDecl>,
    /// Zones by name.
    pub zones: BTreeMap<String, ZoneDecl>,
    /// Devices by name, with the files that describe them.
    pub devices: BTreeMap<String, DeviceDecl>,
    /// Links between device interfaces (layer-2 adjacency the configs do not show).
    pub links: Vec<(IfaceRef, IfaceRef)>,
    /// The security policy to check.
    pub policy: Policy,
    /// Assumptions the analysis rests on, stated by the people who wrote the manifest.
    pub assumptions: Vec<String>,
}

/// A named threat origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OriginDecl {
    /// Name used in endpoints (`vendor`).
    pub name: String,
    /// Where its connections come from.
    pub addresses: Vec<AddrBlock>,
    /// The role responsible for it.
    pub role: Option<Role>,
    /// What it is, in words.
    pub description: Option<String>,
    /// One-based line of the entry.
    pub line: u32,
}

/// A host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostDecl {
    /// Name used in endpoints (`db`).
    pub name: String,
    /// Its addresses (one or more, IPv4 and IPv6).
    pub ips: Vec<IpAddr>,
    /// What it does, in the manifest's own words (`database`, `web`, `workstation`).
    pub role: Option<String>,
    /// How much it matters.
    pub value: Option<Value>,
    /// What it is, in words.
    pub description: Option<String>,
    /// One-based line of the entry.
    pub line: u32,
}

/// A zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ZoneDecl {
    /// Its address blocks.
    pub addresses: Vec<AddrBlock>,
    /// Device interfaces that face the zone (`fw1:eth1`).
    pub interfaces: Vec<IfaceRef>,
    /// The role responsible for what happens to the zone (results whose destination is in it).
    pub owner: Option<Role>,
    /// What it is, in words.
    pub description: Option<String>,
    /// One-based line of the zone's name.
    pub line: u32,
}

/// A device and the files that describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceDecl {
    /// File patterns (`fw1/*`, `**/fw1.*`; see [`glob`]). Matching files belong to this device,
    /// whatever their folder or name says.
    pub files: Vec<String>,
    /// The role responsible for the device.
    pub owner: Option<Role>,
    /// What it is, in words.
    pub description: Option<String>,
    /// One-based line of the device's name.
    pub line: u32,
}

/// The security policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Zone-to-zone allowed services; a pair not listed allows nothing.
    pub matrix: Vec<MatrixEntry>,
    /// Flows that must be impossible.
    pub must_not_reach: Vec<ReachEntry>,
    /// Flows that must work.
    pub must_reach: Vec<ReachEntry>,
    /// What a named origin (a vendor) may reach; everything else is forbidden to it.
    pub vendor_scopes: Vec<VendorScope>,
}

/// One cell of the zone matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatrixEntry {
    /// Source endpoint (usually a zone or `internet`).
    pub from: EndpointRef,
    /// Destination endpoint.
    pub to: EndpointRef,
    /// The services allowed from `from` to `to`.
    pub allow: Vec<ServiceSpec>,
    /// The role responsible for the entry.
    pub owner: Option<Role>,
    /// Why, in words.
    pub description: Option<String>,
    /// One-based line of the entry.
    pub line: u32,
}

/// A `must_reach` or `must_not_reach` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReachEntry {
    /// Stable identifier reported with violations (the entry's path when the manifest gives none).
    pub id: String,
    /// Source endpoint.
    pub from: EndpointRef,
    /// Destination endpoint.
    pub to: EndpointRef,
    /// Services concerned (`any` when not given, for `must_not_reach`).
    pub services: Vec<ServiceSpec>,
    /// The role responsible for the entry.
    pub owner: Option<Role>,
    /// Why, in words.
    pub description: Option<String>,
    /// One-based line of the entry.
    pub line: u32,
}

/// What one origin may reach; anything else it reaches is a violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VendorScope {
    /// Stable identifier reported with violations.
    pub id: String,
    /// The origin (usually a named origin such as `vendor`).
    pub origin: EndpointRef,
    /// What it may reach.
    pub allow: Vec<ScopeAllow>,
    /// The role responsible for the entry.
    pub owner: Option<Role>,
    /// Why, in words.
    pub description: Option<String>,
    /// One-based line of the entry.
    pub line: u32,
}

/// One destination a scoped origin may reach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScopeAllow {
    /// Destination endpoint.
    pub to: EndpointRef,
    /// Services allowed to it.
    pub services: Vec<ServiceSpec>,
    /// One-based line of the entry.
    pub line: u32,
}

/// What a bare name in an endpoint can refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameKind {
    /// A host of the manifest.
    Host,
    /// An origin of the manifest.
    Origin,
    /// A zone of the manifest.
    Zone,
    /// A device (from the configs or the manifest).
    Device,
}

impl NameKind {
    fn as_str(self) -> &'static str {
        match self {
            NameKind::Host => "host",
            NameKind::Origin => "origin",
            NameKind::Zone => "zone",
            NameKind::Device => "device",
        }
    }
}

impl Manifest {
    /// Every endpoint the manifest uses, with its field path.
    pub fn endpoints(&self) -> Vec<(String, &EndpointRef)> {
        let mut out: Vec<(String, &EndpointRef)> = Vec::new();
        for (i, e) in self.crown_jewels.iter().enumerate() {
            out.push((format!("crown_jewels[{i}]"), e));
        }
        let p = &self.policy;
        for (i, m) in p.matrix.iter().enumerate() {
            out.push((format!("policy.matrix[{i}].from"), &m.from));
            out.push((format!("policy.matrix[{i}].to"), &m.to));
        }
        for (list, entries) in [("must_not_reach", &p.must_not_reach), ("must_reach", &p.must_reach)] {
            for (i, m) in entries.iter().enumerate() {
                out.push((format!("policy.{list}[{i}].from"), &m.from));
                out.push((format!("policy.{list}[{i}].to"), &m.to));
            }
        }
        for (i, v) in p.vendor_scopes.iter().enumerate() {
            out.push((format!("policy.vendor_scopes[{i}].origin"), &v.origin));
            for (j, a) in v.allow.iter().enumerate() {
                out.push((format!("policy.vendor_scopes[{i}].allow[{j}].to"), &a.to));
            }
        }
        out
    }

    /// What a bare name refers to: every kind of thing so named (empty: nothing).
    pub fn resolve_name(&self, name: &str, devices: &BTreeSet<String>) -> Vec<NameKind> {
        let mut kinds = Vec::new();
        if self.hosts.iter().any(|h| h.name == name) {
            kinds.push(NameKind::Host);
        }
        if self.origins.iter().any(|o| o.name == name) {
            kinds.push(NameKind::Origin);
        }
        if self.zones.contains_key(name) {
            kinds.push(NameKind::Zone);
        }
        if devices.contains(name) || self.devices.contains_key(name) {
            kinds.push(NameKind::Device);
        }
        kinds
    }

    /// Check the references that need the assembled network: bare names and `device:NAME`
    /// endpoints, and the devices of links and zone interfaces. `devices` are the device names
    /// of the network; `text` is the manifest's text (for the lines quoted in diagnostics).
    pub fn check_network_names(&self, devices: &BTreeSet<String>, text: &str) -> Vec<Diagnostic> {
        let lines: Vec<&str> = text.lines().collect();
        let mut d = Diags::default();
        let mut push = |code, sev, line: u32, reason: String| {
            let t = lines.get((line as usize).wrapping_sub(1)).copied().unwrap_or("");
            d.push(code, sev, line, t, reason);
        };
        let known_device = |n: &str| devices.contains(n) || self.devices.contains_key(n);
        for (path, e) in self.endpoints() {
            match &e.endpoint {
                Endpoint::Name(n) => {
                    let kinds = self.resolve_name(n, devices);
                    match kinds.len() {
                        0 => push(
                            codes::UNDEFINED_REFERENCE,
                            Severity::Error,
                            e.line,
                            format!("{path}: {n:?} names no host, origin, zone or device"),
                        ),
                        1 => {}
                        _ => {
                            let what: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                            push(
                                codes::UNDEFINED_REFERENCE,
                                Severity::Warning,
                                e.line,
                                format!(
                                    "{path}: {n:?} is ambiguous: it names a {}; write {}:{n} to choose",
                                    what.join(" and a "),
                                    what.first().copied().unwrap_or("host")
                                ),
                            );
                        }
                    }
                }
                Endpoint::Device(n) if !known_device(n) => push(
                    codes::UNDEFINED_REFERENCE,
                    Severity::Error,
                    e.line,
                    format!("{path}: no device is named {n:?}"),
                ),
                _ => {}
            }
        }
        for (i, (a, b)) in self.links.iter().enumerate() {
            for (j, end) in [a, b].into_iter().enumerate() {
                if !known_device(&end.device) {
                    push(
                        codes::UNDEFINED_REFERENCE,
                        Severity::Info,
                        end.line,
                        format!("links[{i}][{j}]: no input describes device {:?}; the link is kept as stated", end.device),
                    );
                }
            }
        }
        for (name, z) in &self.zones {
            for (i, itf) in z.interfaces.iter().enumerate() {
                if !known_device(&itf.device) {
                    push(
                        codes::UNDEFINED_REFERENCE,
                        Severity::Info,
                        itf.line,
                        format!("zones.{name}.interfaces[{i}]: no input describes device {:?}", itf.device),
                    );
                }
            }
        }
        d.list
    }
}

/// True when the text is a manifest: a YAML or JSON mapping whose top-level keys include at
/// least one of [`SECTIONS`] and otherwise only keys that are few or look like typos of them.
pub fn looks_like(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let keys = if t.starts_with('{') { json_top_keys(t) } else { yaml_top_keys(t) };
    keys.is_some_and(|k| keys_are_manifest(&k))
}

fn keys_are_manifest(keys: &[String]) -> bool {
    let contract = keys.iter().filter(|k| SECTIONS.contains(&k.as_str())).count();
    let others: Vec<&String> = keys.iter().filter(|k| !SECTIONS.contains(&k.as_str()) && *k != "$schema").collect();
    contract >= 1
        && (others.iter().all(|k| lower::suggest(k, &SECTIONS).is_some()) || (contract >= 2 && others.len() <= contract))
}

fn json_top_keys(t: &str) -> Option<Vec<String>> {
    // Only the top-level keys are kept; values are checked for syntax and skipped.
    match serde_json::from_str::<BTreeMap<String, serde::de::IgnoredAny>>(t) {
        Ok(map) => Some(map.into_keys().collect()),
        Err(_) => {
            // Broken JSON: a manifest if its first key is a section name (to report the error).
            let rest = t.get(1..)?.trim_start().strip_prefix('"')?;
            let key = rest.get(..rest.find('"')?)?;
            SECTIONS.contains(&key).then(|| vec![key.to_string()])
        }
    }
}

/// The keys of a YAML document's top-level block mapping, or `None` when a line at column 0 is
/// anything but a key, a comment, a document marker, a directive or a closing bracket.
fn yaml_top_keys(t: &str) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    for line in t.lines() {
        let l = line.trim_end();
        if l.is_empty() || l.starts_with([' ', '\t', '#', ']', '}']) || l == "---" || l == "..." {
            continue;
        }
        if l.starts_with('%') && keys.is_empty() {
            continue;
        }
        let (key, rest) = if let Some(q @ ('"' | '\'')) = l.chars().next() {
            let body = l.get(1..)?;
            let end = body.find(q)?;
            (body.get(..end)?, body.get(end + 1..)?)
        } else {
            let end = l.find(':')?;
            let k = l.get(..end)?;
            let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-' | '.'));
            if !ok {
                return None;
            }
            (k, l.get(end..)?)
        };
        let rest = rest.trim_start();
        let after = rest.strip_prefix(':')?;
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return None;
        }
        keys.push(key.to_string());
    }
    (!keys.is_empty()).then_some(keys)
}

/// Read a manifest from its text (YAML or JSON, by content). Returns the manifest (`None` when
/// the text cannot be read at all) and the diagnostics, in line order.
pub fn read(file: &str, text: &str) -> (Option<Manifest>, Vec<Diagnostic>) {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let tree = if t.starts_with('{') {
        match node::from_json(text) {
            Ok(n) => Ok(n),
            // YAML is a superset of JSON: JSON-like text with comments or unquoted words is
            // still read; when YAML cannot read it either, the JSON error is the helpful one.
            Err(json_err) => node::from_yaml(text).map_err(|_| json_err),
        }
    } else {
        node::from_yaml(text)
    };
    match tree {
        Ok(root) => {
            let (mut m, mut diags) = lower::lower(&root, text);
            m.file = file.to_string();
            diags.sort_by_key(|d| d.line);
            (Some(m), diags)
        }
        Err(mut e) => {
            // An error at the end of the text may be placed after its last line.
            e.line = e.line.min(text.lines().count() as u32);
            let mut d = Diags::default();
            let line_text = text.lines().nth((e.line as usize).wrapping_sub(1)).unwrap_or("");
            d.push(codes::UNREADABLE, Severity::Error, e.line, line_text, e.reason);
            (None, d.list)
        }
    }
}

/// Parse a manifest file into a [`ParsedFile`] whose content holds the manifest.
pub fn parse_file(_source: SourceId, file: &str, text: &str) -> ParsedFile {
    let mut p = ParsedFile::new(Format::Manifest, text);
    let (m, diags) = read(file, text);
    p.content.manifest = m;
    p.diags = diags;
    p.lines_skipped = text
        .lines()
        .filter(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
        .count() as u32;
    p
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn detection() {
        assert!(looks_like("# topology\ncrown_jewels: [db]\nhosts:\n  - {name: db, ip: 10.0.0.5}\n"));
        assert!(looks_like("---\nzones:\n  dmz: {addresses: [10.0.0.0/24]}\nhostz: []\n"));
        assert!(looks_like("{\"hosts\": [], \"policy\": {}}"));
        assert!(looks_like("{\"hosts\": [}"));
        assert!(looks_like("\"policy\":\n  matrix: []\n"));
        assert!(looks_like("crown_jewels: [\n  db\n]\n"));
        // Other YAML and JSON, and the formats Portolan reads, are not manifests.
        assert!(!looks_like("apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {}\n"));
        assert!(!looks_like("hosts: []\nvars: {}\nchildren: {}\n"));
        assert!(!looks_like("- hosts: all\n  tasks: []\n"));
        assert!(!looks_like("*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"));
        assert!(!looks_like("1: lo: <LOOPBACK,UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n"));
        assert!(!looks_like("[{\"ifname\": \"lo\", \"addr_info\": []}]"));
        assert!(!looks_like("<?xml version=\"1.0\"?>\n<nmaprun scanner=\"nmap\"></nmaprun>\n"));
        assert!(!looks_like("default via 10.0.0.1 dev eth0\n"));
        assert!(!looks_like(""));
    }

    #[test]
    fn read_reports_unreadable_documents() {
        let (m, d) = read("m.yaml", "hosts: [a\nzones: {}\n");
        assert!(m.is_none());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, codes::UNREADABLE);
        let (m, d) = read("m.json", "{\"hosts\": [1, 2\n}");
        assert!(m.is_none());
        assert_eq!((d[0].code, d[0].line), (codes::UNREADABLE, 2));
        assert!(d[0].reason.starts_with("not valid JSON"), "{}", d[0].reason);
    }

    #[test]
    fn json_with_comments_is_read_as_yaml() {
        let (m, d) = read("m.json", "{\"hosts\": [{\"name\": \"db\", \"ip\": \"10.0.0.5\"}], # the database\n}");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(m.unwrap().hosts.len(), 1);
    }
}
