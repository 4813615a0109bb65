//! Evaluating packets through devices and across the network.

use crate::report::QueryReport;
use crate::Workspace;

/// A reachability question.
#[derive(Clone, Debug, Default)]
pub struct QueryRequest {
    /// Source endpoint: IP, CIDR, `internet`, `device:NAME`, or a bare name.
    pub from: String,
    /// Destination endpoint.
    pub to: String,
    /// `tcp`, `udp`, `icmp`, `any` or a protocol number.
    pub proto: String,
    /// Port `N` or range `N-M` (ICMP: a type number or name).
    pub port: Option<String>,
}

/// Answer a reachability question.
pub fn query(_ws: &Workspace, _req: &QueryRequest) -> Result<QueryReport, String> {
    Err("not implemented".into())
}
