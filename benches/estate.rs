//! Whole estates (`portolan::synth::Network`): `Analyzer::new` plus the exposure of the estate
//! to the internet, a vendor entering at the edge and an employees' subnet, for growing numbers
//! of devices (100 rules and 10 hosts per device, the proportions of the 1,000-device target).
//!
//! `PORTOLAN_ESTATE_ONCE=DEVICES[,RULES,HOSTS]` instead runs that one estate once, timed with
//! `Instant`, and prints the figures (for sizes too slow for criterion, and to measure peak
//! memory with `/usr/bin/time -f %M`); `PORTOLAN_ESTATE_JSON=PREFIX` also writes each origin's report to
//! `PREFIX.DEVICES-ORIGIN.json`, and `PORTOLAN_ESTATE_FINDINGS=1` times every device's rule
//! findings too.

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion};
    use portolan::reach::Analyzer;
    use portolan::synth::Network;
    use portolan::Workspace;

    // 200 devices take about 50 s per run: measured once with PORTOLAN_ESTATE_ONCE=200 (BENCHMARKS.md).
    const SIZES: [usize; 2] = [10, 50];
    const SEED: u64 = 1;

    fn summary(net: &Network, ws: &Workspace) -> String {
        let an = Analyzer::new(ws);
        let rep = an.exposure(&net.origins());
        let per: Vec<String> = rep
            .origins
            .iter()
            .map(|o| match &o.error {
                Some(e) => format!("{}: error {e}", o.name),
                None => format!("{}: {}", o.name, o.exposures),
            })
            .collect();
        per.join(", ")
    }

    /// Run one estate once and print where the time goes.
    pub fn once(spec: &str) {
        let nums: Vec<usize> = spec.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        let devices = nums.first().copied().unwrap_or(1_000);
        let rules = nums.get(1).copied().unwrap_or(devices * 100);
        let hosts = nums.get(2).copied().unwrap_or(devices * 10);
        let t = Instant::now();
        let net = Network::generate(devices, rules, hosts, SEED);
        let t_gen = t.elapsed();
        let t = Instant::now();
        let ws = Workspace::load(net.input_files());
        let t_parse = t.elapsed();
        let t = Instant::now();
        let an = Analyzer::new(&ws);
        let t_compile = t.elapsed();
        let mut per = Vec::new();
        let mut total_exp = Duration::ZERO;
        for o in net.origins() {
            let t = Instant::now();
            let rep = an.exposure(std::slice::from_ref(&o));
            let d = t.elapsed();
            total_exp += d;
            if let Ok(path) = std::env::var("PORTOLAN_ESTATE_JSON") {
                // The whole report, to compare two builds' answers.
                let json = serde_json::to_string_pretty(&rep).expect("an exposure report serializes");
                std::fs::write(format!("{path}.{devices}-{}.json", o.name), json).expect("the report file is writable");
            }
            let r = &rep.origins[0];
            per.push(format!(
                "{} {:.3} s ({})",
                o.name,
                d.as_secs_f64(),
                r.error.clone().unwrap_or_else(|| format!("{} exposures", r.exposures))
            ));
        }
        if std::env::var_os("PORTOLAN_ESTATE_FINDINGS").is_some() {
            // Every device's rule findings, as `portolan analyze` makes them.
            let t = Instant::now();
            let f = portolan::findings::check_rules(&ws, an.network());
            println!("estate {devices} devices: rule findings of every device {:.3} s ({} findings)", t.elapsed().as_secs_f64(), f.len());
        }
        println!(
            "estate {} devices, {} rules, {} hosts, {} subnets: generate {:.3} s, parse {:.3} s, Analyzer::new {:.3} s, exposure {:.3} s [{}]; new + exposure {:.3} s",
            net.devices.len(),
            net.rules,
            net.hosts,
            net.subnets,
            t_gen.as_secs_f64(),
            t_parse.as_secs_f64(),
            t_compile.as_secs_f64(),
            total_exp.as_secs_f64(),
            per.join("; "),
            (t_compile + total_exp).as_secs_f64()
        );
    }

    pub fn estate(c: &mut Criterion) {
        if let Ok(spec) = std::env::var("PORTOLAN_ESTATE_ONCE") {
            once(&spec);
            return;
        }
        let mut g = c.benchmark_group("estate");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        for n in SIZES {
            let net = Network::generate(n, n * 100, n * 10, SEED);
            let ws = Workspace::load(net.input_files());
            eprintln!(
                "estate {n}: {} rules, {} hosts, {} subnets; exposures {}",
                net.rules,
                net.hosts,
                net.subnets,
                summary(&net, &ws)
            );
            let origins = net.origins();
            g.bench_function(BenchmarkId::new("new + exposure(internet, vendor, employees)", n), |b| {
                b.iter(|| Analyzer::new(&ws).exposure(&origins))
            });
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::estate);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
