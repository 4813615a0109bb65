//! Validation: the generic [`Node`] tree becomes a [`Manifest`], section by section and entry
//! by entry. Every problem is a diagnostic with the line of the offending value and its field
//! path (`hosts[2].ip`); an entry whose identity (name, endpoints) is unusable is left out, an
//! entry with a bad optional field is kept without it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::net::IpAddr;

use super::node::{Key, Kind, Node};
use super::values::is_name;
use super::*;

/// Entries of a mapping, first occurrence of each key only.
struct Fields<'n> {
    entries: Vec<(&'n Key, &'n Node)>,
    line: u32,
}

impl<'n> Fields<'n> {
    /// The value of a key; an explicit `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| *v).filter(|v| v.kind != Kind::Null)
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The closest candidate within a small edit distance (typo protection).
pub(super) fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).clamp(1, 2);
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

struct Lower<'a> {
    lines: Vec<&'a str>,
    d: Diags,
}

impl Lower<'_> {
    fn report(&mut self, code: &'static str, sev: Severity, line: u32, path: &str, msg: impl Display) {
        let text = self.lines.get((line as usize).wrapping_sub(1)).copied().unwrap_or("");
        let reason = if path.is_empty() { msg.to_string() } else { format!("{path}: {msg}") };
        self.d.push(code, sev, line, text, reason);
    }

    fn bad_value(&mut self, line: u32, path: &str, msg: impl Display) {
        self.report(codes::BAD_VALUE, Severity::Error, line, path, msg);
    }

    fn structure(&mut self, line: u32, path: &str, msg: impl Display) {
        self.report(codes::STRUCTURE, Severity::Error, line, path, msg);
    }

    /// The entries of a mapping of the given kind (see [`KEYS`]); repeated and unknown keys are
    /// reported as warnings. `None` (with an error) when the node is not a mapping.
    fn fields<'n>(&mut self, node: &'n Node, path: &str, kind: &str) -> Option<Fields<'n>> {
        let allowed = keys_of(kind);
        let entries = match &node.kind {
            Kind::Map(entries) => entries,
            Kind::Null => return Some(Fields { entries: Vec::new(), line: node.line }),
            other => {
                let msg = if path.is_empty() {
                    format!("the manifest must be a mapping of sections ({}), found {}", SECTIONS.join(", "), other.describe())
                } else {
                    format!("expected a mapping, found {}", other.describe())
                };
                self.structure(node.line, path, msg);
                return None;
            }
        };
        let mut out: Vec<(&Key, &Node)> = Vec::new();
        for (k, v) in entries {
            if let Some((first, _)) = out.iter().find(|(f, _)| f.name == k.name) {
                let first_line = first.line;
                self.report(
                    codes::STRUCTURE,
                    Severity::Warning,
                    k.line,
                    path,
                    format!("key {:?} is repeated (first on line {first_line}); this one is ignored", k.name),
                );
                continue;
            }
            if !allowed.is_empty() && !allowed.contains(&k.name.as_str()) {
                let known: Vec<&str> = allowed.iter().copied().filter(|a| *a != "$schema").collect();
                let hint = match suggest(&k.name, &known) {
                    Some(s) => format!("did you mean {s:?}?"),
                    None => format!("the keys here are {}", known.join(", ")),
                };
                self.report(
                    codes::STRUCTURE,
                    Severity::Warning,
                    k.line,
                    path,
                    format!("unknown key {:?} is ignored; {hint}", k.name),
                );
                continue;
            }
            out.push((k, v));
        }
        Some(Fields { entries: out, line: node.line })
    }

    fn require<'n>(&mut self, f: &Fields<'n>, key: &str, path: &str) -> Option<&'n Node> {
        let v = f.get(key);
        if v.is_none() {
            self.structure(f.line, path, format!("{key:?} is missing"));
        }
        v
    }

    fn text(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.kind {
            Kind::Str(s) => Some(s.clone()),
            other => {
                let hint = if matches!(other, Kind::Number(_) | Kind::Bool(_)) { " (quote it)" } else { "" };
                self.structure(n.line, path, format!("expected text, found {}{hint}", other.describe()));
                None
            }
        }
    }

    fn opt_text(&mut self, f: &Fields, key: &str, path: &str) -> Option<String> {
        let n = f.get(key)?;
        self.text(n, &child(path, key))
    }

    fn list<'n>(&mut self, n: &'n Node, path: &str) -> &'n [Node] {
        match &n.kind {
            Kind::Seq(items) => items,
            Kind::Null => &[],
            other => {
                let hint = if matches!(other, Kind::Str(_)) { " (write it in brackets: [ … ])" } else { "" };
                self.structure(n.line, path, format!("expected a list, found {}{hint}", other.describe()));
                &[]
            }
        }
    }

    fn name(&mut self, n: &Node, path: &str) -> Option<String> {
        let s = self.text(n, path)?;
        if is_name(&s) {
            Some(s)
        } else {
            self.bad_value(n.line, path, format!("{s:?} is not a name (letters, digits and _ - . @ /)"));
            None
        }
    }

    fn role(&mut self, f: &Fields, key: &str, path: &str) -> Option<Role> {
        let n = f.get(key)?;
        let path = child(path, key);
        let s = self.text(n, &path)?;
        let r = Role::parse(&s);
        if r.is_none() {
            let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            self.bad_value(n.line, &path, format!("{s:?} is not a role ({})", all.join(", ")));
        }
        r
    }

    fn endpoint(&mut self, n: &Node, path: &str) -> Option<EndpointRef> {
        let s = self.text(n, path)?;
        match EndpointRef::parse(&s, n.line) {
            Ok((e, host_bits)) => {
                if host_bits {
                    if let Endpoint::Net(net) = &e.endpoint {
                        self.report(
                            codes::HOST_BITS,
                            Severity::Warning,
                            n.line,
                            path,
                            format!("{s:?} has host bits set; read as {net}"),
                        );
                    }
                }
                Some(e)
            }
            Err(msg) => {
                self.bad_value(n.line, path, msg);
                None
            }
        }
    }

    fn req_endpoint(&mut self, f: &Fields, key: &str, path: &str) -> Option<EndpointRef> {
        let n = self.require(f, key, path)?;
        self.endpoint(n, &child(path, key))
    }

    fn addr_blocks(&mut self, n: &Node, path: &str) -> Vec<AddrBlock> {
        let mut out = Vec::new();
        for (i, item) in self.list(n, path).iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(s) = self.text(item, &p) else { continue };
            match AddrBlock::parse(&s) {
                Ok((b, host_bits)) => {
                    if host_bits {
                        self.report(codes::HOST_BITS, Severity::Warning, item.line, &p, format!("{s:?} has host bits set; read as {b}"));
                    }
                    out.push(b);
                }
                Err(msg) => self.bad_value(item.line, &p, msg),
            }
        }
        out
    }

    /// The services of a list; bad items are reported and left out. `None` when the list was
    /// not empty but none of its items could be read (the entry then means nothing).
    fn services(&mut self, n: &Node, path: &str) -> Option<Vec<ServiceSpec>> {
        let mut out = Vec::new();
        let mut bad = false;
        for (i, item) in self.list(n, path).iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(s) = self.text(item, &p) else {
                bad = true;
                continue;
            };
            match ServiceSpec::parse(&s) {
                Ok(svc) => out.push(svc),
                Err(msg) => {
                    bad = true;
                    self.bad_value(item.line, &p, msg);
                }
            }
        }
        (!bad || !out.is_empty()).then_some(out)
    }

    fn iface(&mut self, n: &Node, path: &str) -> Option<IfaceRef> {
        let s = self.text(n, path)?;
        match IfaceRef::parse(&s, n.line) {
            Ok(i) => Some(i),
            Err(msg) => {
                self.bad_value(n.line, path, msg);
                None
            }
        }
    }

    fn texts(&mut self, n: &Node, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, item) in self.list(n, path).iter().enumerate() {
            if let Some(s) = self.text(item, &format!("{path}[{i}]")) {
                out.push(s);
            }
        }
        out
    }
}

/// Validate a manifest tree. Diagnostics are in the order found (the caller sorts them).
pub(super) fn lower(root: &Node, text: &str) -> (Manifest, Vec<Diagnostic>) {
    let mut lw = Lower { lines: text.lines().collect(), d: Diags::default() };
    let mut m = Manifest::default();
    let Some(top) = lw.fields(root, "", "") else { return (m, lw.d.list) };
    if let Some(n) = top.get("$schema") {
        lw.text(n, "$schema");
    }
    if let Some(n) = top.get("crown_jewels") {
        for (i, item) in lw.list(n, "crown_jewels").iter().enumerate() {
            let p = format!("crown_jewels[{i}]");
            if let Some(e) = lw.endpoint(item, &p) {
                if matches!(e.endpoint, Endpoint::Internet | Endpoint::Any) {
                    lw.bad_value(item.line, &p, format!("{:?} cannot be a crown jewel: name hosts, addresses or zones", e.text));
                } else {
                    m.crown_jewels.push(e);
                }
            }
        }
    }
    if let Some(n) = top.get("origins") {
        m.origins = origins(&mut lw, n);
    }
    if let Some(n) = top.get("hosts") {
        m.hosts = hosts(&mut lw, n);
    }
    if let Some(n) = top.get("zones") {
        m.zones = zones(&mut lw, n);
    }
    if let Some(n) = top.get("devices") {
        m.devices = devices(&mut lw, n);
    }
    if let Some(n) = top.get("links") {
        m.links = links(&mut lw, n);
    }
    if let Some(n) = top.get("policy") {
        m.policy = policy(&mut lw, n);
    }
    if let Some(n) = top.get("assumptions") {
        m.assumptions = lw.texts(n, "assumptions");
    }
    cross_references(&mut lw, &m);
    drop_undefined(&mut m);
    (m, lw.d.list)
}

/// Names that endpoints cannot be given: they mean something already.
const RESERVED: [&str; 2] = ["internet", "any"];

fn origins(lw: &mut Lower, n: &Node) -> Vec<OriginDecl> {
    let mut out: Vec<OriginDecl> = Vec::new();
    for (i, item) in lw.list(n, "origins").iter().enumerate() {
        let p = format!("origins[{i}]");
        let Some(f) = lw.fields(item, &p, "origins[]") else { continue };
        let name_node = lw.require(&f, "name", &p);
        let name = name_node.and_then(|nn| lw.name(nn, &child(&p, "name")));
        let addresses = match lw.require(&f, "addresses", &p) {
            Some(a) => lw.addr_blocks(a, &child(&p, "addresses")),
            None => Vec::new(),
        };
        let role = lw.role(&f, "role", &p);
        let description = lw.opt_text(&f, "description", &p);
        let (Some(name), Some(nn)) = (name, name_node) else { continue };
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            lw.bad_value(nn.line, &child(&p, "name"), format!("{name:?} is reserved: `internet` is always an origin"));
            continue;
        }
        if let Some(prev) = out.iter().find(|o| o.name == name) {
            let msg = format!("{name:?} is already the name of the origin on line {}; this entry is ignored", prev.line);
            lw.structure(nn.line, &child(&p, "name"), msg);
            continue;
        }
        out.push(OriginDecl { name, addresses, role, description, line: item.line });
    }
    out
}

fn hosts(lw: &mut Lower, n: &Node) -> Vec<HostDecl> {
    let mut out: Vec<HostDecl> = Vec::new();
    for (i, item) in lw.list(n, "hosts").iter().enumerate() {
        let p = format!("hosts[{i}]");
        let Some(f) = lw.fields(item, &p, "hosts[]") else { continue };
        let name_node = lw.require(&f, "name", &p);
        let name = name_node.and_then(|nn| lw.name(nn, &child(&p, "name")));
        let mut ips: Vec<IpAddr> = Vec::new();
        if let Some(ipn) = lw.require(&f, "ip", &p) {
            let ip_path = child(&p, "ip");
            let items: Vec<(String, &Node)> = match &ipn.kind {
                Kind::Seq(list) => list.iter().enumerate().map(|(j, x)| (format!("{ip_path}[{j}]"), x)).collect(),
                _ => vec![(ip_path.clone(), ipn)],
            };
            for (ip_p, x) in items {
                let Some(s) = lw.text(x, &ip_p) else { continue };
                match s.trim().parse::<IpAddr>() {
                    Ok(a) if !ips.contains(&a) => ips.push(a),
                    Ok(_) => {}
                    Err(_) => lw.bad_value(x.line, &ip_p, format!("{s:?} is not an IP address")),
                }
            }
        }
        let role = lw.opt_text(&f, "role", &p);
        let value = f.get("value").and_then(|vn| {
            let vp = child(&p, "value");
            let s = lw.text(vn, &vp)?;
            let v = Value::parse(&s);
            if v.is_none() {
                lw.bad_value(vn.line, &vp, format!("{s:?} is not a value (low, medium, high, critical)"));
            }
            v
        });
        let description = lw.opt_text(&f, "description", &p);
        let (Some(name), Some(nn)) = (name, name_node) else { continue };
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            lw.bad_value(nn.line, &child(&p, "name"), format!("{name:?} is reserved and cannot name a host"));
            continue;
        }
        if let Some(prev) = out.iter().find(|h| h.name == name) {
            let msg = format!("{name:?} is already the name of the host on line {}; this entry is ignored", prev.line);
            lw.structure(nn.line, &child(&p, "name"), msg);
            continue;
        }
        out.push(HostDecl { name, ips, role, value, description, line: item.line });
    }
    out
}

/// The entries of a mapping whose keys are names (zones, devices), each with a valid name.
fn named_entries<'n>(lw: &mut Lower, n: &'n Node, path: &str) -> Vec<(String, &'n Node, u32)> {
    let Some(f) = lw.fields(n, path, "*") else { return Vec::new() };
    let mut out = Vec::new();
    for (k, v) in f.entries {
        if !is_name(&k.name) || RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&k.name)) {
            lw.bad_value(k.line, path, format!("{:?} cannot be a name (letters, digits and _ - . @ /; not internet or any)", k.name));
            continue;
        }
        out.push((k.name.clone(), v, k.line));
    }
    out
}

fn zones(lw: &mut Lower, n: &Node) -> BTreeMap<String, ZoneDecl> {
    let mut out = BTreeMap::new();
    for (name, v, line) in named_entries(lw, n, "zones") {
        let p = format!("zones.{name}");
        let Some(f) = lw.fields(v, &p, "zones.*") else { continue };
        let addresses = f.get("addresses").map(|a| lw.addr_blocks(a, &child(&p, "addresses"))).unwrap_or_default();
        let mut interfaces = Vec::new();
        if let Some(list) = f.get("interfaces") {
            let ip = child(&p, "interfaces");
            for (i, item) in lw.list(list, &ip).iter().enumerate() {
                if let Some(r) = lw.iface(item, &format!("{ip}[{i}]")) {
                    interfaces.push(r);
                }
            }
        }
        let owner = lw.role(&f, "owner", &p);
        let description = lw.opt_text(&f, "description", &p);
        out.insert(name, ZoneDecl { addresses, interfaces, owner, description, line });
    }
    out
}

fn devices(lw: &mut Lower, n: &Node) -> BTreeMap<String, DeviceDecl> {
    let mut out = BTreeMap::new();
    for (name, v, line) in named_entries(lw, n, "devices") {
        let p = format!("devices.{name}");
        let Some(f) = lw.fields(v, &p, "devices.*") else { continue };
        let mut files = Vec::new();
        if let Some(list) = f.get("files") {
            let fp = child(&p, "files");
            for (i, item) in lw.list(list, &fp).iter().enumerate() {
                let ip = format!("{fp}[{i}]");
                match lw.text(item, &ip) {
                    Some(s) if s.trim().is_empty() => lw.bad_value(item.line, &ip, "a file pattern cannot be empty"),
                    Some(s) => files.push(s.trim().to_string()),
                    None => {}
                }
            }
        }
        let owner = lw.role(&f, "owner", &p);
        let description = lw.opt_text(&f, "description", &p);
        out.insert(name, DeviceDecl { files, owner, description, line });
    }
    out
}

fn links(lw: &mut Lower, n: &Node) -> Vec<(IfaceRef, IfaceRef)> {
    let mut out = Vec::new();
    for (i, item) in lw.list(n, "links").iter().enumerate() {
        let p = format!("links[{i}]");
        match &item.kind {
            Kind::Seq(pair) if pair.len() == 2 => {
                let a = pair.first().and_then(|x| lw.iface(x, &format!("{p}[0]")));
                let b = pair.get(1).and_then(|x| lw.iface(x, &format!("{p}[1]")));
                if let (Some(a), Some(b)) = (a, b) {
                    out.push((a, b));
                }
            }
            other => lw.structure(
                item.line,
                &p,
                format!("expected a pair [DEVICE:INTERFACE, DEVICE:INTERFACE], found {}", match other {
                    Kind::Seq(v) => format!("a list of {}", v.len()),
                    o => o.describe(),
                }),
            ),
        }
    }
    out
}

fn policy(lw: &mut Lower, n: &Node) -> Policy {
    let mut pol = Policy::default();
    let Some(f) = lw.fields(n, "policy", "policy") else { return pol };
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    if let Some(list) = f.get("matrix") {
        for (i, item) in lw.list(list, "policy.matrix").iter().enumerate() {
            let p = format!("policy.matrix[{i}]");
            let Some(ef) = lw.fields(item, &p, "policy.matrix[]") else { continue };
            let from = lw.req_endpoint(&ef, "from", &p);
            let to = lw.req_endpoint(&ef, "to", &p);
            // Services that could not be read are left out: the pair then allows less, never more.
            let allow = lw.require(&ef, "allow", &p).map(|a| lw.services(a, &child(&p, "allow")).unwrap_or_default());
            let owner = lw.role(&ef, "owner", &p);
            let description = lw.opt_text(&ef, "description", &p);
            if let (Some(from), Some(to), Some(allow)) = (from, to, allow) {
                pol.matrix.push(MatrixEntry { from, to, allow, owner, description, line: item.line });
            }
        }
    }
    for (list_name, must) in [("must_not_reach", false), ("must_reach", true)] {
        let Some(list) = f.get(list_name) else { continue };
        let lp = format!("policy.{list_name}");
        for (i, item) in lw.list(list, &lp).iter().enumerate() {
            let p = format!("{lp}[{i}]");
            let Some(ef) = lw.fields(item, &p, &format!("{lp}[]")) else { continue };
            let id = entry_id(lw, &ef, &p, &mut ids);
            let from = lw.req_endpoint(&ef, "from", &p);
            let to = lw.req_endpoint(&ef, "to", &p);
            let services = match ef.get("services") {
                Some(s) => lw.services(s, &child(&p, "services")),
                None if must => {
                    lw.require(&ef, "services", &p);
                    None
                }
                None => Some(vec![ServiceSpec::Any]),
            };
            let owner = lw.role(&ef, "owner", &p);
            let description = lw.opt_text(&ef, "description", &p);
            if let (Some(from), Some(to), Some(services)) = (from, to, services) {
                let e = ReachEntry { id, from, to, services, owner, description, line: item.line };
                if must {
                    pol.must_reach.push(e);
                } else {
                    pol.must_not_reach.push(e);
                }
            }
        }
    }
    if let Some(list) = f.get("vendor_scopes") {
        for (i, item) in lw.list(list, "policy.vendor_scopes").iter().enumerate() {
            let p = format!("policy.vendor_scopes[{i}]");
            let Some(ef) = lw.fields(item, &p, "policy.vendor_scopes[]") else { continue };
            let id = entry_id(lw, &ef, &p, &mut ids);
            let origin = lw.req_endpoint(&ef, "origin", &p).filter(|o| {
                let open = matches!(o.endpoint, Endpoint::Internet | Endpoint::Any);
                if open {
                    lw.bad_value(o.line, &child(&p, "origin"), format!("{:?} cannot be scoped: a vendor scope names one origin", o.text));
                }
                !open
            });
            // Allowances that cannot be read are left out: the origin then may reach less, and
            // what it reaches beyond is reported, never silently allowed.
            let mut allow = Vec::new();
            if let Some(al) = lw.require(&ef, "allow", &p) {
                let ap = child(&p, "allow");
                for (j, a) in lw.list(al, &ap).iter().enumerate() {
                    let aep = format!("{ap}[{j}]");
                    let Some(af) = lw.fields(a, &aep, "policy.vendor_scopes[].allow[]") else { continue };
                    let to = lw.req_endpoint(&af, "to", &aep);
                    let services = lw.require(&af, "services", &aep).and_then(|s| lw.services(s, &child(&aep, "services")));
                    if let (Some(to), Some(services)) = (to, services) {
                        allow.push(ScopeAllow { to, services, line: a.line });
                    }
                }
            }
            let owner = lw.role(&ef, "owner", &p);
            let description = lw.opt_text(&ef, "description", &p);
            if let Some(origin) = origin {
                pol.vendor_scopes.push(VendorScope { id, origin, allow, owner, description, line: item.line });
            }
        }
    }
    pol
}

/// The entry's `id`, or its path when it has none (with a warning); repeated ids are reported.
fn entry_id(lw: &mut Lower, f: &Fields, path: &str, ids: &mut BTreeMap<String, u32>) -> String {
    let id = match f.get("id") {
        Some(n) => match &n.kind {
            Kind::Str(s) if !s.trim().is_empty() => Some((s.trim().to_string(), n.line)),
            Kind::Number(s) => Some((s.clone(), n.line)),
            other => {
                lw.bad_value(n.line, &child(path, "id"), format!("expected a non-empty identifier, found {}", other.describe()));
                None
            }
        },
        None => {
            lw.report(
                codes::STRUCTURE,
                Severity::Warning,
                f.line,
                path,
                format!("\"id\" is missing; violations will name the entry {path:?}"),
            );
            None
        }
    };
    let Some((id, line)) = id else { return path.to_string() };
    if let Some(first) = ids.get(&id) {
        let first = *first;
        lw.report(
            codes::STRUCTURE,
            Severity::Warning,
            line,
            &child(path, "id"),
            format!("id {id:?} is already used on line {first}; violations of both entries carry it"),
        );
    } else {
        ids.insert(id.clone(), line);
    }
    id
}

/// Leave out crown jewels and policy entries whose `zone:` or `host:` endpoints name nothing
/// (each was reported by [`cross_references`]).
fn drop_undefined(m: &mut Manifest) {
    let hosts: BTreeSet<String> = m.hosts.iter().map(|h| h.name.clone()).collect();
    let zones: BTreeSet<String> = m.zones.keys().cloned().collect();
    let ok = |e: &EndpointRef| match &e.endpoint {
        Endpoint::Zone(z) => zones.contains(z),
        Endpoint::Host(h) => hosts.contains(h),
        _ => true,
    };
    m.crown_jewels.retain(|e| ok(e));
    let p = &mut m.policy;
    p.matrix.retain(|e| ok(&e.from) && ok(&e.to));
    p.must_not_reach.retain(|e| ok(&e.from) && ok(&e.to));
    p.must_reach.retain(|e| ok(&e.from) && ok(&e.to));
    p.vendor_scopes.retain(|v| ok(&v.origin));
    for v in &mut p.vendor_scopes {
        v.allow.retain(|a| ok(&a.to));
    }
}

/// `zone:NAME` and `host:NAME` must name declared zones and hosts.
fn cross_references(lw: &mut Lower, m: &Manifest) {
    let hosts: BTreeSet<&str> = m.hosts.iter().map(|h| h.name.as_str()).collect();
    for (path, e) in m.endpoints() {
        match &e.endpoint {
            Endpoint::Zone(z) if !m.zones.contains_key(z) => {
                let hint = suggest(z, &m.zones.keys().map(String::as_str).collect::<Vec<_>>())
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                lw.report(
                    codes::UNDEFINED_REFERENCE,
                    Severity::Error,
                    e.line,
                    &path,
                    format!("zone {z:?} is not declared under zones{hint}"),
                );
            }
            Endpoint::Host(h) if !hosts.contains(h.as_str()) => {
                let hint = suggest(h, &hosts.iter().copied().collect::<Vec<_>>())
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                lw.report(
                    codes::UNDEFINED_REFERENCE,
                    Severity::Error,
                    e.line,
                    &path,
                    format!("host {h:?} is not declared under hosts{hint}"),
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest("hostz", &SECTIONS), Some("hosts"));
        assert_eq!(suggest("crown_jewles", &SECTIONS), Some("crown_jewels"));
        assert_eq!(suggest("zone", &SECTIONS), Some("zones"));
        assert_eq!(suggest("apiVersion", &SECTIONS), None);
        assert_eq!(suggest("vars", &SECTIONS), None);
        assert_eq!(distance("ab", "ba"), 1);
    }
}
