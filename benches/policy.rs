//! Policy checks (`portolan::policy::check`) on whole estates (`portolan::synth::Network`): a
//! zone matrix over the estate's subnets plus must-not-reach, must-reach and vendor-scope
//! assertions (`Network::policy_manifest`), checked exactly after `Analyzer::new`.
//!
//! `PORTOLAN_POLICY_ONCE=DEVICES,ZONES,ASSERTIONS[;...]` instead runs each estate once, timed
//! with `Instant`, and prints the figures (for sizes too slow for criterion);
//! `PORTOLAN_POLICY_JSON=PREFIX` also writes each report to `PREFIX.DEVICES-ZONES-ASSERTIONS.json`.

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion};
    use portolan::policy;
    use portolan::reach::Analyzer;
    use portolan::synth::Network;
    use portolan::Workspace;

    const SEED: u64 = 1;
    // Devices, zones, assertions; larger sizes take seconds to minutes per run and are measured
    // once with PORTOLAN_POLICY_ONCE (BENCHMARKS.md).
    const SIZES: &[(usize, usize, usize)] = &[(10, 5, 20)];

    fn estate(devices: usize, zones: usize, assertions: usize) -> (Network, Workspace) {
        let net = Network::generate(devices, devices * 100, devices * 10, SEED);
        let mut files = net.input_files();
        files.push(net.policy_manifest(zones, assertions));
        let ws = Workspace::load(files);
        (net, ws)
    }

    fn once(spec: &str) {
        let nums: Vec<usize> = spec.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        let devices = nums.first().copied().unwrap_or(1_000);
        let zones = nums.get(1).copied().unwrap_or(50);
        let assertions = nums.get(2).copied().unwrap_or(200);
        let t = Instant::now();
        let (net, ws) = estate(devices, zones, assertions);
        let t_load = t.elapsed();
        let t = Instant::now();
        let an = Analyzer::new(&ws);
        let t_new = t.elapsed();
        let t = Instant::now();
        let rep = policy::check(&an);
        let t_check = t.elapsed();
        let count = |s: &str| rep.entries.iter().filter(|e| e.status == s).count();
        let pairs = rep.entries.iter().filter(|e| e.kind == "matrix").count();
        println!(
            "policy {} devices, {} subnets, {} zones, {} assertions: generate + load {:.3} s, Analyzer::new {:.3} s, check {:.3} s; \
             new + check {:.3} s; {} entries reported ({} matrix pairs), {} hold, {} violated, {} possibly violated, {} not checked; {} violations, {} unused allowances",
            net.devices.len(),
            net.subnets,
            zones,
            assertions,
            t_load.as_secs_f64(),
            t_new.as_secs_f64(),
            t_check.as_secs_f64(),
            (t_new + t_check).as_secs_f64(),
            rep.entries.len(),
            pairs,
            count("holds"),
            count("violated"),
            count("possibly violated"),
            count("not checked"),
            rep.violations.len(),
            rep.unused.len(),
        );
        if let Ok(path) = std::env::var("PORTOLAN_POLICY_JSON") {
            // The whole report, to compare two builds' answers.
            let json = serde_json::to_string_pretty(&rep).expect("a check report serializes");
            std::fs::write(format!("{path}.{devices}-{zones}-{assertions}.json"), json).expect("the report file is writable");
        }
        for e in rep.entries.iter().filter(|e| e.status == "not checked").take(3) {
            println!("  not checked: {} {}", e.id, e.description);
        }
    }

    pub fn policy(c: &mut Criterion) {
        if let Ok(specs) = std::env::var("PORTOLAN_POLICY_ONCE") {
            for s in specs.split(';') {
                once(s);
            }
            return;
        }
        let mut g = c.benchmark_group("policy");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        for &(devices, zones, assertions) in SIZES {
            let (_, ws) = estate(devices, zones, assertions);
            g.bench_function(BenchmarkId::new("new + check", format!("{devices} devices, {zones} zones, {assertions} assertions")), |b| {
                b.iter(|| policy::check(&Analyzer::new(&ws)))
            });
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::policy);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
