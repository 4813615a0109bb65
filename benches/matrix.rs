//! The service matrix of the real 5,556-rule TUM firewall (shared corpus) for one port.
//!
//! Target (BENCHMARKS.md): under 1 s per matrix. Measured: `matrix::compute` on a loaded
//! workspace (compiling the device, the symbolic walk, interfaces, the partition), for tcp/22
//! - on the `iptables-save` alone (no interface data: every address on every interface),
//! - with its `ip addr` and `ip route` dumps (output interfaces from the routing table),
//! - on the 2015 ruleset of the verified iptables analysis with its `ipassmt_tumi8` assignment.

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::path::PathBuf;

    use criterion::Criterion;
    use portolan::matrix::{compute, MatrixRequest};
    use portolan::{InputFile, Workspace};

    use crate::common::{tum_files, TUM_DUMPS, TUM_RULES};

    /// The 2015 TUM ruleset and interface assignment of the verified iptables analysis.
    const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/iptables/Iptables_Semantics/golden-inputs");

    fn req(sport: Option<u16>) -> MatrixRequest {
        MatrixRequest { proto: "tcp".into(), dport: 22, sport, device: None, to_device: false }
    }

    fn golden_files() -> Option<Vec<InputFile>> {
        let mut files = Vec::new();
        for (name, rel) in [("tum/rules", "TUM_Net_Firewall/iptables-save-2015-05-15_15-23-41_cheating"), ("tum/ipassmt_tumi8", "ipassmt_tumi8")] {
            let bytes = std::fs::read(PathBuf::from(GOLDEN).join(rel)).ok()?;
            files.push(InputFile { path: name.into(), bytes });
        }
        Some(files)
    }

    pub fn matrix(c: &mut Criterion) {
        let Some(rules) = tum_files(&[TUM_RULES]) else { return };
        let Some(all) = tum_files(&[TUM_RULES, TUM_DUMPS[0], TUM_DUMPS[1]]) else { return };
        let mut g = c.benchmark_group("matrix");
        g.sample_size(10);
        for (label, files, sport) in [
            ("TUM 2016 rules alone, tcp/22, any source port", rules.clone(), None),
            ("TUM 2016 rules alone, tcp/22, source port 10000", rules, Some(10000)),
            ("TUM 2016 with ip addr and ip route, tcp/22", all, None),
        ] {
            let ws = Workspace::load(files);
            let m = compute(&ws, &req(sport)).expect("a matrix");
            eprintln!(
                "{label}: {} classes, {} pairs possibly allowed, {} definitely",
                m.classes.len(),
                m.allowed.len(),
                m.allowed_definite.as_ref().map_or(m.allowed.len(), |d| d.len())
            );
            g.bench_function(label, |b| b.iter(|| compute(&ws, &req(sport))));
        }
        if let Some(files) = golden_files() {
            let ws = Workspace::load(files);
            let m = compute(&ws, &req(Some(10000))).expect("a matrix");
            eprintln!("TUM 2015 with ipassmt_tumi8: {} classes", m.classes.len());
            g.bench_function("TUM 2015 with ipassmt_tumi8, tcp/22 from port 10000", |b| b.iter(|| compute(&ws, &req(Some(10000)))));
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::matrix);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
