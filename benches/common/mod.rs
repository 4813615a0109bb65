//! Inputs shared by the benchmarks: the TUM firewall from the corpus and flow rows.

#![allow(dead_code)] // each bench uses a part

use std::path::PathBuf;

use portolan::synth::{flows_csv, Flow};
use portolan::InputFile;

/// Folder of the TUM chair's main firewall exports (2016-06-27) in the shared corpus.
pub const TUM_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/iptables/net-network/configs_chair_for_Network_Architectures_and_Services"
);
/// The 5,556-rule `iptables-save` export.
pub const TUM_RULES: &str = "iptables-save-2016-06-27_16-29-01";
/// The `ip addr` and `ip route` dumps taken at the same moment.
pub const TUM_DUMPS: [&str; 2] = ["ip-addr-2016-06-27_16-29-01", "ip-route-2016-06-27_16-29-01"];

/// Read TUM exports by name as input files of one device `tum`; `None` (with a message on
/// stderr) when the corpus is not there.
pub fn tum_files(names: &[&str]) -> Option<Vec<InputFile>> {
    let mut files = Vec::new();
    for n in names {
        let path = PathBuf::from(TUM_DIR).join(n);
        match std::fs::read(&path) {
            Ok(bytes) => files.push(InputFile { path: format!("tum/{n}"), bytes }),
            Err(e) => {
                eprintln!("skipping the TUM benchmarks: cannot read {} ({e})", path.display());
                return None;
            }
        }
    }
    Some(files)
}

/// Write the flows as CSV where the environment variable `var` says, so that the CLI can be
/// timed on exactly the rows the library benchmark uses.
pub fn maybe_write_csv(var: &str, flows: &[Flow]) {
    if let Some(path) = std::env::var_os(var) {
        match std::fs::write(&path, flows_csv(flows)) {
            Ok(()) => eprintln!("wrote {} flows to {}", flows.len(), PathBuf::from(path).display()),
            Err(e) => eprintln!("cannot write {}: {e}", PathBuf::from(path).display()),
        }
    }
}

/// Evaluate every flow (with the source port given, or from the ephemeral range when `None`);
/// returns (allowed, denied, possibly, errors) so the work cannot be optimised away and the mix
/// can be reported.
pub fn run_flows(an: &portolan::reach::Analyzer, flows: &[Flow], sport: Option<u16>) -> [u32; 4] {
    let mut counts = [0u32; 4];
    for f in flows {
        let src = f.src.to_string();
        let dst = f.dst.to_string();
        match an.flow(&src, &dst, &f.proto, &f.port, sport) {
            Ok(r) => match r.verdict {
                portolan::report::Verdict::Allowed => counts[0] += 1,
                portolan::report::Verdict::Denied => counts[1] += 1,
                portolan::report::Verdict::Possibly => counts[2] += 1,
            },
            Err(_) => counts[3] += 1,
        }
    }
    counts
}
