//! Risky services reachable from threat origins (X201), read from the exposure report.

use crate::report::{Certainty, Exposure, ExposureReport};

use super::{code_info, help_path, Finding, NamedSet, Severity, Witness};

/// How bad a service is to expose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    /// Cleartext logins, file sharing, remote desktops and databases: direct compromise or
    /// data theft (telnet, SMB, RDP, SQL and NoSQL stores).
    Direct,
    /// Management planes: shells, consoles and device management that should be reachable
    /// only from administrators' networks.
    Management,
}

/// Risky services (protocol, first port, last port, name, risk).
pub const RISKY_SERVICES: &[(&str, u16, u16, &str, Risk)] = &[
    ("tcp", 23, 23, "telnet", Risk::Direct),
    ("tcp", 139, 139, "netbios-ssn (SMB)", Risk::Direct),
    ("tcp", 445, 445, "smb", Risk::Direct),
    ("tcp", 3389, 3389, "rdp", Risk::Direct),
    ("udp", 3389, 3389, "rdp", Risk::Direct),
    ("tcp", 1433, 1433, "mssql", Risk::Direct),
    ("tcp", 1521, 1521, "oracle", Risk::Direct),
    ("tcp", 3306, 3306, "mysql", Risk::Direct),
    ("tcp", 5432, 5432, "postgresql", Risk::Direct),
    ("tcp", 6379, 6379, "redis", Risk::Direct),
    ("tcp", 9200, 9200, "elasticsearch", Risk::Direct),
    ("tcp", 11211, 11211, "memcached", Risk::Direct),
    ("udp", 11211, 11211, "memcached", Risk::Direct),
    ("tcp", 27017, 27017, "mongodb", Risk::Direct),
    ("tcp", 2375, 2375, "docker api", Risk::Direct),
    ("tcp", 22, 22, "ssh", Risk::Management),
    ("udp", 161, 161, "snmp", Risk::Management),
    ("udp", 623, 623, "ipmi", Risk::Management),
    ("tcp", 5900, 5900, "vnc", Risk::Management),
    ("tcp", 5985, 5986, "winrm", Risk::Management),
    ("tcp", 6443, 6443, "kubernetes api", Risk::Management),
    ("tcp", 10250, 10250, "kubelet", Risk::Management),
    ("tcp", 2379, 2380, "etcd", Risk::Management),
];

/// Severity by origin and risk, before certainty: the Internet is worst; a vendor's access
/// network next; employees' workstations and other named origins after.
pub fn severity_for(origin: &str, role: Option<&str>, risk: Risk) -> Severity {
    let internet = origin.eq_ignore_ascii_case("internet");
    match (internet, role, risk) {
        (true, _, Risk::Direct) => Severity::Critical,
        (true, _, Risk::Management) => Severity::High,
        (false, Some("vendor"), Risk::Direct) => Severity::High,
        (false, Some("vendor"), Risk::Management) => Severity::Medium,
        (false, _, Risk::Direct) => Severity::Medium,
        (false, _, Risk::Management) => Severity::Low,
    }
}

/// Port ranges of an exposure's `ports` text (`22`, `80,443`, `1024-65535`, `any`).
fn ports_of(s: &str) -> Vec<(u16, u16)> {
    if s.trim() == "any" {
        return vec![(0, 65535)];
    }
    s.split(',')
        .filter_map(|p| {
            let p = p.trim();
            let (a, b) = p.split_once('-').unwrap_or((p, p));
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect()
}

fn risky_in(e: &Exposure) -> Vec<(&'static str, u16, Risk)> {
    let ports = ports_of(&e.ports);
    let mut v = Vec::new();
    for &(p, lo, hi, name, risk) in RISKY_SERVICES {
        if e.proto != p {
            continue;
        }
        if let Some(port) = ports.iter().find_map(|&(a, b)| {
            let x = lo.max(a);
            (x <= hi.min(b)).then_some(x)
        }) {
            if !v.iter().any(|(n, _, _)| *n == name) {
                v.push((name, port, risk));
            }
        }
    }
    v
}

/// Risky services each origin reaches, one finding per exposure, located at the rule that
/// accepts the connection on its way.
pub fn check_exposure(rep: &ExposureReport) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &rep.exposures {
        let hits = risky_in(e);
        if hits.is_empty() {
            continue;
        }
        let role = rep.origins.iter().find(|o| o.name == e.origin).and_then(|o| o.role.as_deref());
        let mut severity = hits.iter().map(|(_, _, r)| severity_for(&e.origin, role, *r)).max().unwrap_or(Severity::Low);
        if e.certainty == Certainty::Possible {
            severity = severity.lower();
        }
        let forward: Vec<&crate::report::Hop> = e.hops.iter().filter(|h| h.direction == "forward").collect();
        let hop = forward
            .iter()
            .rev()
            .find(|h| h.rule.as_ref().is_some_and(|r| &*r.action == "accept" || r.action.starts_with("default accept")))
            .or_else(|| forward.iter().rev().find(|h| h.rule.is_some()))
            .or(forward.last());
        let rule = hop.and_then(|h| h.rule.clone());
        let names: Vec<String> = hits.iter().map(|(n, p, _)| format!("{n} ({}/{p})", e.proto)).collect();
        let target = match &e.host {
            Some(h) => format!("{} ({h})", e.ip),
            None => e.ip.clone(),
        };
        let from = if e.from == e.origin { e.origin.clone() } else { format!("{} (only from {})", e.origin, e.from) };
        let message = format!(
            "{} on {target} {} reachable from {from}{}",
            names.join(", "),
            if e.certainty == Certainty::Definite { "is" } else { "is possibly" },
            match &rule {
                Some(r) => format!(", accepted by {} {}:{}", r.ruleset, r.file, r.line),
                None => String::new(),
            }
        );
        let (_, port, _) = hits[0];
        out.push(Finding {
            code: "X201",
            name: code_info("X201").map_or("", |c| c.name),
            severity,
            certainty: e.certainty,
            device: hop.map(|h| h.device.to_string()).unwrap_or_default(),
            ruleset: rule.as_ref().map(|r| r.ruleset.to_string()).unwrap_or_default(),
            file: rule.as_ref().map(|r| r.file.to_string()).unwrap_or_default(),
            line: rule.as_ref().map_or(0, |r| r.line),
            text: rule.as_ref().map(|r| r.text.to_string()).unwrap_or_default(),
            message,
            sets: vec![NamedSet {
                label: "reachable".into(),
                text: format!("{}/{} from {} to {}", e.proto, e.ports, e.from, e.ip),
            }],
            related: rule.into_iter().collect(),
            witness: Some(Witness {
                src: e.witness.src.clone(),
                dst: e.witness.dst.clone(),
                proto: e.witness.proto.clone(),
                port: Some(port as u32),
                sport: e.witness.sport,
                in_iface: None,
                out_iface: None,
                state: Some("new".into()),
            }),
            depends_on: e.uncertain.clone(),
            owner: e.owner.clone(),
            help: help_path("X201"),
        });
    }
    group(out)
}

/// One finding per origin, accepting rule and service: the destinations joined.
fn group(v: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<(String, Finding, Vec<String>)> = Vec::new();
    for f in v {
        let service = f.message.split(" on ").next().unwrap_or("").to_string();
        let origin = f.sets.first().map(|x| x.text.split(" from ").nth(1).unwrap_or("").split(" to ").next().unwrap_or("").to_string());
        let key = format!("{}|{}|{}|{}|{:?}|{:?}", f.file, f.line, service, origin.unwrap_or_default(), f.certainty, f.severity);
        let dst = f.message.split(" on ").nth(1).and_then(|x| x.split(" is ").next()).unwrap_or("").to_string();
        match out.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, dsts)) => dsts.push(dst),
            None => out.push((key, f, vec![dst])),
        }
    }
    out.into_iter()
        .map(|(_, mut f, dsts)| {
            if dsts.len() > 1 {
                let n = dsts.len();
                let shown: Vec<&str> = dsts.iter().take(super::text::MAX_LISTED).map(String::as_str).collect();
                let list = if n > shown.len() { format!("{} and {} more", shown.join(", "), n - shown.len()) } else { shown.join(", ") };
                f.message = f.message.replacen(dsts[0].as_str(), &format!("{n} destinations ({list})"), 1);
                if let Some(x) = f.sets.first_mut() {
                    x.text = x.text.replacen(dsts[0].as_str(), &list, 1);
                }
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ports_text_is_read_back() {
        assert_eq!(ports_of("any"), vec![(0, 65535)]);
        assert_eq!(ports_of("22,80-90"), vec![(22, 22), (80, 90)]);
        assert!(ports_of("").is_empty());
    }

    #[test]
    fn internet_is_worst() {
        assert_eq!(severity_for("internet", None, Risk::Direct), Severity::Critical);
        assert_eq!(severity_for("vendor", Some("vendor"), Risk::Management), Severity::Medium);
        assert_eq!(severity_for("10.0.0.0/8", None, Risk::Management), Severity::Low);
    }
}
