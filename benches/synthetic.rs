//! Synthetic estates of 1,000, 10,000 and 100,000 rules (`portolan::synth`): parse, compile
//! and 1,000 flows each.

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::time::Duration;

    use criterion::{BatchSize, BenchmarkId, Criterion};
    use portolan::reach::Analyzer;
    use portolan::synth::{flows_for, Estate};
    use portolan::Workspace;

    use crate::common::{maybe_write_csv, run_flows};

    const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
    const SEED: u64 = 1;
    const FLOWS: usize = 1_000;

    pub fn synthetic(c: &mut Criterion) {
        let mut g = c.benchmark_group("synthetic");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        for n in SIZES {
            let estate = Estate::generate(n, SEED);
            let files = estate.input_files();
            let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
            eprintln!("estate {}: {} rules, {} VLANs, {bytes} bytes", estate.name, estate.rules, estate.vlans);
            g.bench_function(BenchmarkId::new("generate", n), |b| b.iter(|| Estate::generate(n, SEED)));
            g.bench_function(BenchmarkId::new("parse", n), |b| {
                b.iter_batched(|| files.clone(), Workspace::load, BatchSize::LargeInput)
            });
            let ws = Workspace::load(files);
            g.bench_function(BenchmarkId::new("compile", n), |b| b.iter(|| Analyzer::new(&ws)));
            let flows = flows_for(&ws, FLOWS, SEED);
            maybe_write_csv(&format!("PORTOLAN_SYNTH{n}_FLOWS_CSV"), &flows);
            let an = Analyzer::new(&ws);
            let [allowed, denied, possibly, errors] = run_flows(&an, &flows, None);
            eprintln!("estate {}: flows {allowed} allowed, {denied} denied, {possibly} possibly, {errors} refused", estate.name);
            g.bench_function(BenchmarkId::new("1,000 flows", n), |b| b.iter(|| run_flows(&an, &flows, None)));
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::synthetic);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
