//! Policy checks: the manifest's `policy` section — management's rules — checked exactly on
//! the configs, over all packets.
//!
//! - `must_not_reach`: nothing of the services may be reachable from `from` to `to`; a port
//!   forward that lands on `to` counts as reaching it.
//! - `must_reach`: every connection of the services from `from` to `to` must work; a blocked one
//!   is a violation.
//! - `vendor_scopes`: the origin may reach only what is listed; anything else it reaches in the
//!   estate is a violation.
//! - `matrix`: zone to zone, the allowed services; a pair of zones not listed allows nothing.
//!   Anything reachable beyond it is a violation; anything it allows that the configs block
//!   entirely is reported as unused policy.
//!
//! Each violation carries a concrete witness connection, its explained path, the readable
//! description of the whole violating set of its class, a certainty (definite, or possible
//! when it depends on an unmodelled construct) and an owner ([`owner`]).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::manifest::{EndpointRef, Role, ServiceSpec};
use crate::reach::{Analyzer, Bound, QueryRequest};
use crate::report::{Certainty, FlowResult, FlowSpec, Hop, QueryReport, Verdict};
use crate::space::{self, Ranges};

/// Most violations reported per policy entry (the entry's status still counts them all).
pub const MAX_PER_ENTRY: usize = 20;

/// One broken policy entry, with a witness.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// The entry's identifier (`P1`; `matrix[3]` or `matrix:FROM->TO` for the zone matrix).
    pub id: String,
    /// `must-not-reach`, `must-reach`, `vendor-scope` or `matrix`.
    pub kind: String,
    /// Definite, or possible when it depends on an unmodelled construct.
    pub certainty: Certainty,
    /// Who acts on it (see [`owner`]).
    pub owner: String,
    /// The entry in words.
    pub description: String,
    /// What breaks it, in one sentence.
    pub message: String,
    /// One concrete connection that breaks the entry (for `must-reach`: one that is blocked).
    pub witness: FlowSpec,
    /// The witness's explained path.
    pub hops: Vec<Hop>,
    /// The whole set of connections of this class, readable.
    pub set: String,
    /// What a possible violation depends on.
    pub uncertain: Vec<String>,
    /// The manifest and the entry's line.
    pub file: String,
    /// One-based line of the entry.
    pub line: u32,
}

/// A zone-matrix entry that allows something the configs block entirely.
#[derive(Clone, Debug, Serialize)]
pub struct Unused {
    /// The entry's identifier.
    pub id: String,
    /// The service the policy allows and nothing lets through (`tcp/443`).
    pub service: String,
    /// Why nothing passes: the verdict's reason for one blocked connection.
    pub reason: String,
    /// One blocked connection and its path.
    pub witness: FlowSpec,
    /// Its path.
    pub hops: Vec<Hop>,
    /// Who decides (management: a policy that nothing implements, or a rule missing).
    pub owner: String,
    /// The manifest's line of the entry.
    pub line: u32,
}

/// The outcome of one entry.
#[derive(Clone, Debug, Serialize)]
pub struct EntryStatus {
    /// Identifier.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// `holds`, `violated`, `possibly violated` or `not checked`.
    pub status: String,
    /// The entry in words (its `description`, else one made from its fields).
    pub description: String,
    /// Source: the entry's `from`, or the scoped origin (zone-matrix endpoints as `zone:NAME`).
    pub from: String,
    /// Destination: the entry's `to`; empty for a vendor scope.
    pub to: String,
    /// The services the entry names: allowed (zone matrix), forbidden (`must_not_reach`),
    /// required (`must_reach`); for a vendor scope each allowance as `DEST: SERVICES`.
    pub services: Vec<String>,
    /// The manifest.
    pub file: String,
    /// Number of violating classes found.
    pub violations: usize,
    /// Why it could not be checked, if so.
    pub error: Option<String>,
    /// One-based line in the manifest.
    pub line: u32,
}

/// Everything `portolan check` reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    /// The manifest checked.
    pub manifest: Option<String>,
    /// Each entry's outcome, in manifest order.
    pub entries: Vec<EntryStatus>,
    /// Violations, entry by entry.
    pub violations: Vec<Violation>,
    /// Zone-matrix allowances nothing implements.
    pub unused: Vec<Unused>,
}

/// Who acts on a violation (see [`crate::owners`]).
pub fn owner(an: &Analyzer, entry_owner: Option<Role>, kind: &str, certainty: Certainty, hops: &[Hop], dst: Option<std::net::IpAddr>) -> String {
    use crate::owners::{Facts, Kind};
    let k = if kind == "vendor-scope" { Kind::VendorScope } else { Kind::Violation };
    let facts = Facts { entry: entry_owner, devices: crate::owners::deciding_devices(hops), dst, ..Facts::new(k, certainty) };
    crate::owners::assign(an.workspace().manifest.as_ref(), &facts)
}

/// The protocols and ports of a service as query sets.
fn spec_sets(s: &ServiceSpec) -> (Ranges, Option<Ranges>) {
    match *s {
        ServiceSpec::Any => (Ranges::range(0, 255), None),
        ServiceSpec::Proto(p) => (Ranges::single(p.into()), None),
        ServiceSpec::Port(p, x) => (Ranges::single(p.into()), Some(Ranges::single(x.into()))),
        ServiceSpec::Range(p, a, b) => (Ranges::single(p.into()), Some(Ranges::range(a.into(), b.into()))),
    }
}

fn spec_text(s: &ServiceSpec) -> String {
    match *s {
        ServiceSpec::Any => "any".into(),
        ServiceSpec::Proto(p) => crate::reach::describe::proto_name(p),
        ServiceSpec::Port(p, x) => format!("{}/{x}", crate::reach::describe::proto_name(p)),
        ServiceSpec::Range(p, a, b) => format!("{}/{a}-{b}", crate::reach::describe::proto_name(p)),
    }
}

/// Highest "port" of a protocol: ICMP types go to 255, ports to 65535.
fn port_max(p: u8) -> u128 {
    if p == 1 || p == 58 {
        255
    } else {
        65535
    }
}

/// Everything the services do not cover, as query sets: protocols not named at all (whole),
/// and for each protocol allowed only on some ports, the other ports.
pub fn complement(specs: &[ServiceSpec]) -> Vec<(Ranges, Option<Ranges>)> {
    if specs.iter().any(|s| matches!(s, ServiceSpec::Any)) {
        return Vec::new();
    }
    let mut whole = Ranges::default();
    let mut ports: BTreeMap<u8, Ranges> = BTreeMap::new();
    for s in specs {
        match *s {
            ServiceSpec::Proto(p) => whole = whole.union(&Ranges::single(p.into())),
            ServiceSpec::Port(p, x) => {
                let e = ports.entry(p).or_default();
                *e = e.union(&Ranges::single(x.into()));
            }
            ServiceSpec::Range(p, a, b) => {
                let e = ports.entry(p).or_default();
                *e = e.union(&Ranges::range(a.into(), b.into()));
            }
            ServiceSpec::Any => {}
        }
    }
    let named = whole.union(&Ranges::from_ranges(ports.keys().map(|&p| (p.into(), p.into())).collect()));
    let mut out = Vec::new();
    let rest = Ranges::range(0, 255).difference(&named);
    if !rest.is_empty() {
        out.push((rest, None));
    }
    for (p, r) in ports {
        if whole.contains(p.into()) {
            continue;
        }
        let left = Ranges::range(0, port_max(p)).difference(&r);
        if !left.is_empty() {
            out.push((Ranges::single(p.into()), Some(left)));
        }
    }
    out
}

struct Ctx<'a, 'w> {
    an: &'a Analyzer<'w>,
    file: String,
    rep: CheckReport,
    /// Each source's bound of what may open a connection ([`Analyzer::bound`]), found once for
    /// every question from it.
    bounds: HashMap<String, Option<Bound>>,
    /// Whether questions are answered within the bounds (always but in a test comparing).
    bounded: bool,
}

impl Ctx<'_, '_> {
    /// The bound of a source, found at its first question (none when checks are not bounded).
    fn bound(&mut self, from: &str) -> Option<&Bound> {
        let (an, bounded) = (self.an, self.bounded);
        self.bounds.entry(from.to_string()).or_insert_with(|| if bounded { an.bound(from) } else { None }).as_ref()
    }

    /// The classes of a question that are not denied, each described: what an entry forbids
    /// is violated by these. Questions from addresses are answered within the source's bound.
    fn beyond(&mut self, from: &str, to: &Ranges, to_label: &str, protos: &Ranges, ports: Option<&Ranges>) -> Result<QueryReport, String> {
        let an = self.an;
        match self.bound(from) {
            Some(b) => an.query_sets_bounded(from, to, to_label, protos, ports, &|v| v != Verdict::Denied, b),
            None => an.query_sets_where(from, to, to_label, protos, ports, &|v| v != Verdict::Denied),
        }
    }

    /// When no packet of a question may open a connection, the class a question lists first
    /// (for its reason, witness and path); `None` when some may, or the question has no class.
    fn all_denied(&mut self, from: &str, to: &Ranges, to_label: &str, protos: &Ranges, ports: Option<&Ranges>) -> Option<FlowResult> {
        let an = self.an;
        match self.bound(from) {
            Some(b) => match an.gets_through(to, protos, ports, b) {
                Ok(false) => an.query_first_class(from, to, to_label, protos, ports).ok().flatten(),
                _ => None,
            },
            None => {
                let q = an.query_sets_where(from, to, to_label, protos, ports, &|_| false).ok()?;
                if q.results.iter().all(|r| r.verdict == Verdict::Denied) {
                    q.results.into_iter().next()
                } else {
                    None
                }
            }
        }
    }

    /// Record the classes of `q` with one of the `bad` verdicts as violations of an entry.
    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, id: &str, kind: &str, entry_owner: Option<Role>, description: &str, line: u32, q: &QueryReport, bad: &[Verdict], what: &dyn Fn(&FlowResult) -> String) -> usize {
        let mut n = 0;
        for r in q.results.iter().filter(|r| bad.contains(&r.verdict)) {
            n += 1;
            if self.rep.violations.iter().filter(|v| v.id == id).count() >= MAX_PER_ENTRY {
                continue;
            }
            let certainty = match (kind, r.verdict) {
                (_, Verdict::Possibly) => Certainty::Possible,
                _ => Certainty::Definite,
            };
            self.rep.violations.push(Violation {
                id: id.to_string(),
                kind: kind.to_string(),
                certainty,
                owner: owner(self.an, entry_owner, kind, certainty, &r.hops, r.witness.dst.parse().ok()),
                description: description.to_string(),
                message: what(r),
                witness: r.witness.clone(),
                hops: r.hops.clone(),
                set: r.covers.clone(),
                uncertain: r.uncertain.clone(),
                file: self.file.clone(),
                line,
            });
        }
        n
    }

    fn status(&mut self, id: &str, kind: &str, (description, from, to, services): (&str, &str, &str, Vec<String>), line: u32, found: usize, error: Option<String>) {
        let possible_only = found > 0 && self.rep.violations.iter().filter(|v| v.id == id).all(|v| v.certainty == Certainty::Possible);
        let status = match (&error, found) {
            (Some(_), _) => "not checked",
            (None, 0) => "holds",
            _ if possible_only => "possibly violated",
            _ => "violated",
        };
        self.rep.entries.push(EntryStatus {
            id: id.into(),
            kind: kind.into(),
            status: status.into(),
            description: description.into(),
            from: from.into(),
            to: to.into(),
            services,
            file: self.file.clone(),
            violations: found,
            error,
            line,
        });
    }
}

fn fmt_flow(w: &FlowSpec) -> String {
    format!("{} {} → {}{}", w.proto, w.src, w.dst, w.port.map(|p| format!(":{p}")).unwrap_or_default())
}

/// Check every policy entry of the manifest.
pub fn check(an: &Analyzer) -> CheckReport {
    check_with(an, true)
}

/// [`check`], with the questions answered within each source's bound or not.
fn check_with(an: &Analyzer, bounded: bool) -> CheckReport {
    let Some(m) = an.workspace().manifest.as_ref() else { return CheckReport::default() };
    let mut cx = Ctx { an, file: m.file.clone(), rep: CheckReport { manifest: Some(m.file.clone()), ..CheckReport::default() }, bounds: HashMap::new(), bounded };
    let estate = an.estate_space();
    for e in &m.policy.must_not_reach {
        let desc = e.description.clone().unwrap_or_else(|| format!("{} never reaches {} ({})", e.from.text, e.to.text, e.services.iter().map(spec_text).collect::<Vec<_>>().join(", ")));
        let mut found = 0;
        let mut error = None;
        match an.endpoint_addrs(&e.to.text) {
            Err(err) => error = Some(err),
            Ok(to) => {
                for s in &e.services {
                    let (protos, ports) = spec_sets(s);
                    match cx.beyond(&e.from.text, &to, &e.to.text, &protos, ports.as_ref()) {
                        Ok(q) => {
                            found += cx.record(&e.id, "must-not-reach", e.owner, &desc, e.line, &q, &[Verdict::Allowed, Verdict::Possibly], &|r| {
                                format!("{} reaches {} ({}): {}", e.from.text, e.to.text, spec_text(s), fmt_flow(&r.witness))
                            });
                        }
                        Err(err) if err.starts_with("no packet matches") => {}
                        Err(err) => error = Some(err),
                    }
                    // Through a port forward: connections to other addresses of the estate that a
                    // destination NAT sends into `to`.
                    let others = estate.difference(&to);
                    if others.is_empty() {
                        continue;
                    }
                    if let Ok(q) = cx.beyond(&e.from.text, &others, "the estate's other addresses", &protos, ports.as_ref()) {
                        let fwd: Vec<FlowResult> = q
                            .results
                            .into_iter()
                            .filter(|r| r.verdict != Verdict::Denied)
                            .filter(|r| crate::reach::forwarded_to(&r.hops).is_some_and(|(a, _)| to.contains(space::addr_to_u128(a))))
                            .collect();
                        let q2 = QueryReport { results: fwd, ..q };
                        found += cx.record(&e.id, "must-not-reach", e.owner, &desc, e.line, &q2, &[Verdict::Allowed, Verdict::Possibly], &|r| {
                            format!("{} reaches {} through a port forward ({}): {}", e.from.text, e.to.text, spec_text(s), fmt_flow(&r.witness))
                        });
                    }
                }
            }
        }
        cx.status(&e.id, "must-not-reach", (&desc, &e.from.text, &e.to.text, e.services.iter().map(spec_text).collect()), e.line, found, error);
    }
    for e in &m.policy.must_reach {
        let desc = e.description.clone().unwrap_or_else(|| format!("{} reaches {} ({})", e.from.text, e.to.text, e.services.iter().map(spec_text).collect::<Vec<_>>().join(", ")));
        let mut found = 0;
        let mut error = None;
        for s in &e.services {
            let (protos, ports) = spec_sets(s);
            let port = ports.as_ref().map(|r| r.as_slice().iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(","));
            let req = QueryRequest { from: e.from.text.clone(), to: e.to.text.clone(), proto: protos_text(&protos), port, sport: None };
            match an.query_clients(&req) {
                Ok(q) => {
                    found += cx.record(&e.id, "must-reach", e.owner, &desc, e.line, &q, &[Verdict::Denied, Verdict::Possibly], &|r| {
                        if r.verdict == Verdict::Denied {
                            format!("{} cannot reach {} ({}): {} is blocked — {}", e.from.text, e.to.text, spec_text(s), fmt_flow(&r.witness), r.reason)
                        } else {
                            format!("{} may not reach {} ({}): {} depends on unmodelled constructs", e.from.text, e.to.text, spec_text(s), fmt_flow(&r.witness))
                        }
                    });
                }
                Err(err) => error = Some(err),
            }
        }
        cx.status(&e.id, "must-reach", (&desc, &e.from.text, &e.to.text, e.services.iter().map(spec_text).collect()), e.line, found, error);
    }
    for v in &m.policy.vendor_scopes {
        let desc = v.description.clone().unwrap_or_else(|| {
            format!(
                "{} reaches only {}",
                v.origin.text,
                v.allow.iter().map(|a| format!("{} ({})", a.to.text, a.services.iter().map(spec_text).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join("; ")
            )
        });
        let mut allows: Vec<(Ranges, &[ServiceSpec])> = Vec::new();
        let mut error = None;
        for a in &v.allow {
            match an.endpoint_addrs(&a.to.text) {
                Ok(r) => allows.push((r, &a.services)),
                Err(err) => error = Some(err),
            }
        }
        let mut found = 0;
        // The origin's own network is not what it reaches through the estate.
        let own = an.endpoint_addrs(&v.origin.text).unwrap_or_default();
        let estate = estate.difference(&own);
        if error.is_none() {
            // Cells of the estate in which the same allowances hold.
            let mut cuts: Vec<u128> = vec![0];
            for (r, _) in &allows {
                for &(a, b) in r.as_slice() {
                    cuts.push(a);
                    if let Some(n) = b.checked_add(1) {
                        cuts.push(n);
                    }
                }
            }
            cuts.sort_unstable();
            cuts.dedup();
            for (i, &lo) in cuts.iter().enumerate() {
                let hi = cuts.get(i + 1).map_or(u128::MAX, |n| n - 1);
                let cell = estate.intersect(&Ranges::range(lo, hi));
                if cell.is_empty() {
                    continue;
                }
                let specs: Vec<ServiceSpec> = allows.iter().filter(|(r, _)| r.contains(lo)).flat_map(|(_, s)| s.iter().copied()).collect();
                for (protos, ports) in complement(&specs) {
                    let label = crate::reach::describe::addr_range(cell.first().unwrap_or(lo), cell.as_slice().last().map_or(hi, |x| x.1));
                    match cx.beyond(&v.origin.text, &cell, &label, &protos, ports.as_ref()) {
                        Ok(q) => {
                            found += cx.record(&v.id, "vendor-scope", v.owner, &desc, v.line, &q, &[Verdict::Allowed, Verdict::Possibly], &|r| {
                                format!("{} reaches beyond its scope: {}", v.origin.text, fmt_flow(&r.witness))
                            });
                        }
                        Err(err) if err.starts_with("no packet matches") => {}
                        Err(err) => error = Some(err),
                    }
                }
            }
        }
        let scope = v.allow.iter().map(|a| format!("{}: {}", a.to.text, a.services.iter().map(spec_text).collect::<Vec<_>>().join(", "))).collect();
        cx.status(&v.id, "vendor-scope", (&desc, &v.origin.text, "", scope), v.line, found, error);
    }
    check_matrix(&mut cx, m);
    cx.rep
}

fn protos_text(r: &Ranges) -> String {
    match r.as_slice() {
        [(a, b)] if *a == 0 && *b == 255 => "any".into(),
        [(a, b)] if a == b => a.to_string(),
        _ => "any".into(),
    }
}

/// A zone-matrix endpoint's canonical text: a bare zone name means `zone:NAME`.
fn canonical(m: &crate::manifest::Manifest, e: &EndpointRef) -> String {
    if m.zones.contains_key(&e.text) {
        format!("zone:{}", e.text)
    } else {
        e.text.clone()
    }
}

fn check_matrix(cx: &mut Ctx, m: &crate::manifest::Manifest) {
    if m.policy.matrix.is_empty() {
        return;
    }
    // Every endpoint the matrix or the zones name; every ordered pair of two different ones.
    let mut names: Vec<String> = m.zones.keys().map(|z| format!("zone:{z}")).collect();
    for e in &m.policy.matrix {
        names.push(canonical(m, &e.from));
        names.push(canonical(m, &e.to));
    }
    names.sort();
    names.dedup();
    let an = cx.an;
    for from in &names {
        for to in &names {
            if from == to {
                continue;
            }
            let entries: Vec<&crate::manifest::MatrixEntry> = m.policy.matrix.iter().filter(|e| &canonical(m, &e.from) == from && &canonical(m, &e.to) == to).collect();
            let specs: Vec<ServiceSpec> = entries.iter().flat_map(|e| e.allow.iter().copied()).collect();
            let id = format!("matrix:{from}->{to}");
            let line = entries.first().map_or(0, |e| e.line);
            let owner = entries.iter().find_map(|e| e.owner);
            let desc = if entries.is_empty() {
                format!("the zone matrix lists nothing from {from} to {to}: nothing is allowed")
            } else {
                format!("from {from} to {to} only {}", specs.iter().map(spec_text).collect::<Vec<_>>().join(", "))
            };
            let to_addrs = match an.endpoint_addrs(to) {
                Ok(r) => r,
                Err(err) => {
                    cx.status(&id, "matrix", (&desc, from, to, specs.iter().map(spec_text).collect()), line, 0, Some(err));
                    continue;
                }
            };
            let mut found = 0;
            let mut error = None;
            for (protos, ports) in complement(&specs) {
                match cx.beyond(from, &to_addrs, to, &protos, ports.as_ref()) {
                    Ok(q) => {
                        found += cx.record(&id, "matrix", owner, &desc, line, &q, &[Verdict::Allowed, Verdict::Possibly], &|r| {
                            format!("{from} reaches {to} beyond the matrix: {}", fmt_flow(&r.witness))
                        });
                    }
                    Err(err) if err.starts_with("no packet matches") => {}
                    Err(err) => error = Some(err),
                }
            }
            // Allowances nothing implements.
            for s in &specs {
                let (protos, ports) = spec_sets(s);
                if let Some(r) = cx.all_denied(from, &to_addrs, to, &protos, ports.as_ref()) {
                    cx.rep.unused.push(Unused {
                        id: id.clone(),
                        service: spec_text(s),
                        reason: r.reason,
                        witness: r.witness,
                        hops: r.hops,
                        owner: crate::owners::assign(
                            m.into(),
                            &crate::owners::Facts { entry: owner, ..crate::owners::Facts::new(crate::owners::Kind::UnusedPolicy, Certainty::Definite) },
                        ),
                        line,
                    });
                }
            }
            if entries.is_empty() && found == 0 && error.is_none() {
                // Unlisted pairs that hold are not worth a line each.
                continue;
            }
            cx.status(&id, "matrix", (&desc, from, to, specs.iter().map(spec_text).collect()), line, found, error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds pass over only classes that are denied: the reports are the same without
    /// them, byte for byte.
    #[test]
    fn reports_do_not_depend_on_the_bounds() {
        for (devices, seed) in [(12, 1), (9, 5)] {
            let net = crate::synth::Network::generate(devices, devices * 100, devices * 10, seed);
            let mut files = net.input_files();
            files.push(net.policy_manifest(4, 16));
            let ws = crate::Workspace::load(files);
            let an = Analyzer::new(&ws);
            // The sources' bounds are found within their budget: the comparison is not idle.
            for from in ["internet", "vendor", "zone:z01", "zone:z02", "zone:dmz"] {
                assert!(an.bound(from).is_some(), "{devices} devices: no bound of {from}");
            }
            let json = |r: &CheckReport| serde_json::to_string_pretty(r).unwrap();
            let (with, without) = (check_with(&an, true), check_with(&an, false));
            assert!(!with.violations.is_empty() && !with.unused.is_empty());
            assert_eq!(json(&with), json(&without), "{devices} devices");
        }
    }

    #[test]
    fn complement_leaves_exactly_what_the_services_do_not_cover() {
        assert!(complement(&[ServiceSpec::Any]).is_empty());
        let c = complement(&[ServiceSpec::Port(6, 80), ServiceSpec::Range(6, 443, 444), ServiceSpec::Proto(17)]);
        assert_eq!(c.len(), 2);
        let (rest, none) = &c[0];
        assert!(none.is_none() && !rest.contains(6) && !rest.contains(17) && rest.contains(1) && rest.contains(255));
        let (tcp, ports) = &c[1];
        assert_eq!(*tcp, Ranges::single(6));
        assert_eq!(ports.as_ref().unwrap().as_slice(), &[(0, 79), (81, 442), (445, 65535)]);
        // ICMP types stop at 255.
        let c = complement(&[ServiceSpec::Port(1, 8)]);
        assert_eq!(c[1].1.as_ref().unwrap().as_slice(), &[(0, 7), (9, 255)]);
    }
}
