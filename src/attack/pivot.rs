//! When a reachable service lets an attacker pivot, and how likely that is.
//!
//! The one place where the attack graph's edge rules live; `docs/attack-paths.md` gives the
//! rationale of each with its sources. An attacker holding a foothold (an origin's network, or
//! code execution on a host) can open any connection the network lets that foothold open. A
//! connection becomes a foothold on the target when the service behind it offers a way in:
//!
//! 1. **A remotely exploitable vulnerability** reported by a scanner on that port: severity
//!    medium or above, and an attack vector of *network* (CVSS `AV:N`) or no vector stated.
//!    Vulnerabilities with a local, physical or adjacent vector, and host-wide findings (Nessus
//!    port 0, OpenVAS `general/…`), need a foothold already: they are not pivots.
//!    Likelihood `0.1 + 0.8 × score/10`, plus 0.1 when a public exploit exists, at most 0.95;
//!    the score is CVSS v3, else v4, else v2, else one implied by the severity.
//! 2. **A credential-based service**: logins an attacker can guess, reuse or replay once inside
//!    (SSH, RDP, SMB, WinRM, VNC, databases), or stores that accept anyone by default (Redis,
//!    MongoDB, Elasticsearch, memcached), or cleartext logins with habitual defaults (Telnet).
//!    Each kind has a fixed likelihood below.
//!
//! Two discounts apply, both multiplicative: ×0.5 when no scan saw the service listening (the
//! port is only assumed for an unscanned host), and ×0.5 when the network only *possibly*
//! lets the connection through (it depends on an unmodelled construct).

use crate::model::{Severity, Vulnerability};

/// A kind of credential-based service: how it is recognised and how likely it lets an
/// attacker in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CredentialKind {
    /// Short label (`ssh`).
    pub label: &'static str,
    /// Protocol number.
    pub proto: u8,
    /// Well-known ports.
    pub ports: &'static [u16],
    /// Service names scanners give it (nmap `service name`, Nessus `svc_name`).
    pub names: &'static [&'static str],
    /// Likelihood that a reachable instance lets the attacker in.
    pub likelihood: f64,
    /// Why, in words.
    pub why: &'static str,
}

const TCP: u8 = 6;

/// Credential-based services, in the order they are tried.
pub const CREDENTIAL_SERVICES: &[CredentialKind] = &[
    CredentialKind { label: "telnet", proto: TCP, ports: &[23], names: &["telnet"], likelihood: 0.5, why: "Telnet: cleartext logins, often with default credentials" },
    CredentialKind { label: "redis", proto: TCP, ports: &[6379], names: &["redis"], likelihood: 0.6, why: "Redis accepts commands without authentication by default" },
    CredentialKind { label: "mongodb", proto: TCP, ports: &[27017], names: &["mongodb", "mongod"], likelihood: 0.6, why: "MongoDB deployments often accept connections without authentication" },
    CredentialKind { label: "elasticsearch", proto: TCP, ports: &[9200], names: &["elasticsearch", "wap-wsp"], likelihood: 0.6, why: "Elasticsearch's HTTP API often runs without authentication" },
    CredentialKind { label: "memcached", proto: TCP, ports: &[11211], names: &["memcache", "memcached"], likelihood: 0.6, why: "memcached has no authentication by default" },
    CredentialKind { label: "vnc", proto: TCP, ports: &[5900, 5901], names: &["vnc"], likelihood: 0.4, why: "VNC: remote desktop, often with a weak or shared password" },
    CredentialKind { label: "ssh", proto: TCP, ports: &[22], names: &["ssh"], likelihood: 0.3, why: "SSH: remote logins with guessed, reused or stolen credentials" },
    CredentialKind { label: "rdp", proto: TCP, ports: &[3389], names: &["ms-wbt-server", "rdp", "msrdp"], likelihood: 0.3, why: "RDP: remote desktop logins with guessed, reused or stolen credentials" },
    CredentialKind { label: "smb", proto: TCP, ports: &[445, 139], names: &["microsoft-ds", "netbios-ssn", "smb", "cifs"], likelihood: 0.3, why: "SMB: file shares and remote execution with reused credentials" },
    CredentialKind { label: "winrm", proto: TCP, ports: &[5985, 5986], names: &["wsman", "wsmans", "winrm"], likelihood: 0.3, why: "WinRM: remote execution with reused credentials" },
    CredentialKind { label: "mssql", proto: TCP, ports: &[1433], names: &["ms-sql-s", "mssql"], likelihood: 0.3, why: "a database login with guessed or reused credentials" },
    CredentialKind { label: "oracle", proto: TCP, ports: &[1521], names: &["oracle", "oracle-tns"], likelihood: 0.3, why: "a database login with guessed or reused credentials" },
    CredentialKind { label: "mysql", proto: TCP, ports: &[3306], names: &["mysql"], likelihood: 0.3, why: "a database login with guessed or reused credentials" },
    CredentialKind { label: "postgresql", proto: TCP, ports: &[5432], names: &["postgresql", "postgres"], likelihood: 0.3, why: "a database login with guessed or reused credentials" },
];

/// Discount for a service no scan saw listening.
pub const UNCONFIRMED: f64 = 0.5;
/// Discount for a connection the network only possibly lets through.
pub const POSSIBLE: f64 = 0.5;
/// Highest likelihood of one step.
pub const MAX_STEP: f64 = 0.95;

/// The credential kind of a service, by the scanner's name for it or else by its port.
pub fn credential_kind(proto: u8, port: u16, name: Option<&str>) -> Option<&'static CredentialKind> {
    if let Some(n) = name {
        let n = n.trim_end_matches('?').to_ascii_lowercase();
        if let Some(k) = CREDENTIAL_SERVICES.iter().find(|k| k.proto == proto && k.names.contains(&n.as_str())) {
            return Some(k);
        }
    }
    CREDENTIAL_SERVICES.iter().find(|k| k.proto == proto && k.ports.contains(&port))
}

/// The CVSS base score of a vulnerability: v3, else v4, else v2, else implied by its severity.
pub fn score(v: &Vulnerability) -> f64 {
    if let Some(c) = v.cvss3.as_ref().or(v.cvss4.as_ref()).or(v.cvss2.as_ref()) {
        return f64::from(c.score).clamp(0.0, 10.0);
    }
    match v.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.5,
        Severity::Info => 0.0,
    }
}

/// True when a vulnerability can be exploited over the network from another host: severity
/// medium or above, on a port, with a network attack vector or none stated.
pub fn remote(v: &Vulnerability) -> bool {
    if v.severity < Severity::Medium || v.port.is_none() {
        return false;
    }
    let vectors: Vec<&str> = [&v.cvss3, &v.cvss4, &v.cvss2].iter().filter_map(|c| c.as_ref()?.vector.as_deref()).collect();
    if vectors.is_empty() {
        return true;
    }
    // The most recent CVSS version present decides.
    let av = vectors[0].split('/').find_map(|part| part.strip_prefix("AV:"));
    matches!(av, None | Some("N"))
}

/// Likelihood that a remotely exploitable vulnerability lets the attacker in.
pub fn vuln_likelihood(v: &Vulnerability) -> f64 {
    let p = 0.1 + 0.8 * score(v) / 10.0 + if v.exploit_available { 0.1 } else { 0.0 };
    p.min(MAX_STEP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Provenance;
    use crate::model::Cvss;

    fn vuln(sev: Severity, port: Option<u16>, v3: Option<(f32, &str)>, exploit: bool) -> Vulnerability {
        Vulnerability {
            id: "1".into(),
            name: "x".into(),
            severity: sev,
            proto: port.map(|_| 6),
            port,
            service: None,
            cves: vec![],
            cvss2: None,
            cvss3: v3.map(|(s, v)| Cvss { score: s, vector: Some(v.into()) }),
            cvss4: None,
            exploit_available: exploit,
            solution: None,
            prov: Provenance::builtin("test"),
        }
    }

    #[test]
    fn credential_services_by_name_then_port() {
        assert_eq!(credential_kind(6, 2222, Some("ssh")).map(|k| k.label), Some("ssh"));
        assert_eq!(credential_kind(6, 22, None).map(|k| k.label), Some("ssh"));
        assert_eq!(credential_kind(6, 445, Some("microsoft-ds")).map(|k| k.label), Some("smb"));
        assert_eq!(credential_kind(17, 22, None), None);
        assert_eq!(credential_kind(6, 80, Some("http")), None);
    }

    #[test]
    fn only_network_vectors_of_medium_or_worse_on_a_port_pivot() {
        assert!(remote(&vuln(Severity::Critical, Some(443), Some((9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")), false)));
        assert!(!remote(&vuln(Severity::High, Some(443), Some((7.8, "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H")), false)));
        assert!(!remote(&vuln(Severity::Low, Some(443), None, false)));
        assert!(!remote(&vuln(Severity::Critical, None, None, false)));
        assert!(remote(&vuln(Severity::High, Some(8080), None, false)));
    }

    #[test]
    fn likelihood_grows_with_score_and_exploits_and_stays_below_one() {
        let a = vuln_likelihood(&vuln(Severity::Medium, Some(1), Some((5.0, "AV:N")), false));
        let b = vuln_likelihood(&vuln(Severity::High, Some(1), Some((8.0, "AV:N")), false));
        let c = vuln_likelihood(&vuln(Severity::High, Some(1), Some((8.0, "AV:N")), true));
        let d = vuln_likelihood(&vuln(Severity::Critical, Some(1), Some((10.0, "AV:N")), true));
        assert!(a < b && b < c && c <= d && d <= MAX_STEP);
        assert!((a - 0.5).abs() < 1e-9);
    }
}
