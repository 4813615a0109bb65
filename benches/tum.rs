//! The real 5,556-rule firewall of the TUM chair for Network Architectures and Services
//! (shared corpus): parse, compile, and 10,000 `--flows`-style queries.
//!
//! Targets (BENCHMARKS.md): parsing under 50 ms; 10,000 flows under 1 s.
//! `PORTOLAN_TUM_FLOWS_CSV=/tmp/tum-flows.csv cargo bench --bench tum` also writes the rows as
//! the CSV that `portolan query --flows` reads.

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::time::Duration;

    use criterion::{BatchSize, Criterion};
    use portolan::reach::Analyzer;
    use portolan::synth::flows_for;
    use portolan::Workspace;

    use crate::common::{maybe_write_csv, run_flows, tum_files, TUM_DUMPS, TUM_RULES};

    /// Rows per flows measurement, and the seed they are drawn with.
    const FLOWS: usize = 10_000;
    const SEED: u64 = 2016;
    /// Source port for the variant that gives one.
    const SPORT: u16 = 40000;

    pub fn tum(c: &mut Criterion) {
        let Some(rules_only) = tum_files(&[TUM_RULES]) else { return };
        let Some(all) = tum_files(&[TUM_RULES, TUM_DUMPS[0], TUM_DUMPS[1]]) else { return };

        let mut g = c.benchmark_group("tum");
        g.sample_size(20);
        g.bench_function("parse iptables-save (5,556 rules)", |b| {
            b.iter_batched(|| rules_only.clone(), Workspace::load, BatchSize::LargeInput)
        });
        g.bench_function("parse iptables-save + ip addr + ip route", |b| {
            b.iter_batched(|| all.clone(), Workspace::load, BatchSize::LargeInput)
        });
        let ws = Workspace::load(all.clone());
        let rules = ws.network.devices.iter().filter_map(|d| d.firewall.as_ref()).flat_map(|f| &f.rulesets).map(|r| r.rules.len()).sum::<usize>();
        eprintln!("TUM: {} device(s), {rules} rules", ws.network.devices.len());
        g.bench_function("compile (Analyzer::new)", |b| b.iter(|| Analyzer::new(&ws)));

        let flows = flows_for(&ws, FLOWS, SEED);
        maybe_write_csv("PORTOLAN_TUM_FLOWS_CSV", &flows);
        let an = Analyzer::new(&ws);
        let [allowed, denied, possibly, errors] = run_flows(&an, &flows, None);
        eprintln!("TUM flows: {allowed} allowed, {denied} denied, {possibly} possibly, {errors} refused");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(20));
        g.bench_function("10,000 flows (Analyzer::flow per row)", |b| b.iter(|| run_flows(&an, &flows, None)));
        // The same rows with a source port (a CSV `sport` column): one packet class per row
        // instead of one per port range of the ephemeral ports that the rules tell apart.
        g.bench_function("10,000 flows with sport given", |b| b.iter(|| run_flows(&an, &flows, Some(SPORT))));
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::tum);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
