//! Per-rule analysis on synthetic rulesets (`portolan::synth`) of 1,000, 10,000 and 100,000
//! rules: every rule's effective set, and every rule-hygiene finding (which includes them).
//!
//! `PORTOLAN_RULES_ONCE=N` runs one size once (no criterion) and prints the time, the number of
//! findings per code and the effective sets' size, for a peak-memory measurement with
//! `/usr/bin/time`. `PORTOLAN_RULES_CHECKS=1` times only the findings (with the per-device gate
//! lifted); `PORTOLAN_RULES_FILES=a:b:c` reads those files instead of a generated ruleset;
//! with `PORTOLAN_RULES_CHECKS`, `PORTOLAN_RULES_JSON=PREFIX` writes every finding to `PREFIX.N.json`.
//! `PORTOLAN_RULES_DD=1` times the effective sets on decision diagrams (with
//! `PORTOLAN_RULES_APART=1`, kept apart as the checks read them).

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion};
    use portolan::findings::{
        check_rules, check_rules_up_to, device_effects, device_effects_dd, device_effects_dd_apart, device_effects_dd_in,
    };
    use portolan::space::{dd, Dim};
    use portolan::reach::CNetwork;
    use portolan::synth::Estate;
    use portolan::Workspace;

    const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
    const SEED: u64 = 1;

    fn load(n: usize) -> (Workspace, CNetwork) {
        // PORTOLAN_RULES_FILES=a:b:c times real files instead of a generated ruleset.
        let ws = match std::env::var("PORTOLAN_RULES_FILES") {
            Ok(paths) => Workspace::load(
                paths
                    .split(':')
                    .map(|p| portolan::InputFile::new(p, std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"))))
                    .collect(),
            ),
            Err(_) => Workspace::load(Estate::generate(n, SEED).input_files()),
        };
        let net = CNetwork::build(&ws.network);
        (ws, net)
    }

    /// One timed run of one size: time, findings per code, cubes held by the effective sets.
    pub fn once(n: usize) {
        let (ws, net) = load(n);
        if std::env::var_os("PORTOLAN_RULES_DD").is_some() {
            // PORTOLAN_DD_ORDER=dst,src,... tries another order of the dimensions.
            let order = std::env::var("PORTOLAN_DD_ORDER").ok().map(|v| order_from(&v)).unwrap_or(dd::ORDER);
            let t = Instant::now();
            // PORTOLAN_RULES_APART=1: the sets as the checks read them (kept apart).
            let eff = if std::env::var_os("PORTOLAN_RULES_APART").is_some() {
                device_effects_dd_apart(&ws, &net)
            } else {
                device_effects_dd_in(&ws, &net, order)
            };
            let t_eff = t.elapsed();
            let nodes: usize = eff.iter().map(|(dd, _)| dd.nodes()).sum();
            let bytes: usize = eff.iter().map(|(dd, _)| dd.bytes()).sum();
            let over = eff.iter().any(|(_, e)| e.over_budget);
            println!(
                "rules {n}: effective sets on decision diagrams {:.1} ms ({nodes} nodes, {} MB{})",
                t_eff.as_secs_f64() * 1e3,
                bytes >> 20,
                if over { ", stopped at the budget" } else { "" }
            );
            if std::env::var_os("PORTOLAN_RULES_TOP").is_some() {
                for (d, nodes, edges) in eff.iter().flat_map(|(dd, _)| dd.stats()) {
                    println!("  {d:?}: {nodes} nodes, {edges} intervals");
                }
            }
            if std::env::var_os("PORTOLAN_RULES_DD_ONLY").is_some() {
                return;
            }
        }
        if std::env::var_os("PORTOLAN_RULES_CHECKS").is_some() {
            // The findings alone, with the per-device gate lifted.
            let t = Instant::now();
            let f = check_rules_up_to(&ws, &net, usize::MAX);
            let t_all = t.elapsed();
            println!("rules {n}: effective sets + findings {:.1} ms; findings {:?}", t_all.as_secs_f64() * 1e3, per_code(&f));
            if let Ok(path) = std::env::var("PORTOLAN_RULES_JSON") {
                // Every finding, to compare two builds' answers.
                let json = serde_json::to_string_pretty(&f).expect("findings serialize");
                std::fs::write(format!("{path}.{n}.json"), json).expect("the findings file is writable");
            }
            return;
        }
        let t = Instant::now();
        let eff = device_effects(&ws, &net);
        let t_eff = t.elapsed();
        let cubes: usize = eff
            .iter()
            .flat_map(|d| d.rulesets.iter())
            .map(|rs| {
                rs.rules.iter().flat_map(|r| r.ctxs.iter()).map(|c| c.matched.may.cubes().len()).sum::<usize>()
                    + rs.ctxs.iter().map(|c| c.entry.may.cubes().len() + c.end.may.cubes().len()).sum::<usize>()
            })
            .sum();
        let contexts: usize = eff.iter().map(|d| d.contexts.len()).sum();
        if std::env::var_os("PORTOLAN_RULES_TOP").is_some() {
            let mut top: Vec<(usize, usize, usize, usize)> = Vec::new();
            for d in &eff {
                for (i, rs) in d.rulesets.iter().enumerate() {
                    let entry: usize = rs.ctxs.iter().map(|c| c.entry.may.cubes().len()).sum();
                    let end: usize = rs.ctxs.iter().map(|c| c.end.may.cubes().len()).sum();
                    let rules: usize = rs.rules.iter().flat_map(|r| r.ctxs.iter()).map(|c| c.matched.may.cubes().len()).sum();
                    top.push((entry + end + rules, i, entry, end));
                }
            }
            top.sort_unstable_by(|a, b| b.cmp(a));
            for (t, i, e, x) in top.iter().take(8) {
                println!("  ruleset {} {}: {t} cubes (entry {e}, end {x})", i, net.devices[0].rulesets[*i].name);
            }
        }
        drop(eff);
        let t = Instant::now();
        let f = check_rules(&ws, &net);
        let t_all = t.elapsed();
        let per = per_code(&f);
        println!(
            "rules {n}: effective sets {:.1} ms ({contexts} contexts, {cubes} cubes); effective sets + findings {:.1} ms; findings {per:?}",
            t_eff.as_secs_f64() * 1e3,
            t_all.as_secs_f64() * 1e3
        );
    }

    fn per_code(f: &[portolan::findings::Finding]) -> std::collections::BTreeMap<&'static str, usize> {
        let mut per = std::collections::BTreeMap::new();
        for x in f {
            *per.entry(x.code).or_default() += 1;
        }
        per
    }

    /// An order from dimension names; the dimensions left out follow in their default order.
    fn order_from(v: &str) -> [Dim; portolan::space::NDIMS] {
        let mut out: Vec<Dim> = v
            .split(',')
            .filter_map(|w| Dim::ALL.iter().copied().find(|d| format!("{d:?}").eq_ignore_ascii_case(w.trim())))
            .collect();
        for d in dd::ORDER {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        std::array::from_fn(|i| out[i])
    }

    pub fn rules(c: &mut Criterion) {
        let mut g = c.benchmark_group("rules");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        for n in SIZES {
            let (ws, net) = load(n);
            g.bench_function(BenchmarkId::new("effective sets, decision diagrams", n), |b| {
                b.iter(|| device_effects_dd(&ws, &net))
            });
            g.bench_function(BenchmarkId::new("effective sets, decision diagrams kept apart", n), |b| {
                b.iter(|| device_effects_dd_apart(&ws, &net))
            });
            if n > 1_000 {
                // The cube walk stops at its work budget past 1,000 rules (BENCHMARKS.md).
                continue;
            }
            g.bench_function(BenchmarkId::new("effective sets", n), |b| b.iter(|| device_effects(&ws, &net)));
            g.bench_function(BenchmarkId::new("effective sets + findings", n), |b| b.iter(|| check_rules(&ws, &net)));
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Some(n) = std::env::var("PORTOLAN_RULES_ONCE").ok().and_then(|v| v.parse().ok()) {
        bench::once(n);
        return;
    }
    let mut c = criterion::Criterion::default().configure_from_args();
    bench::rules(&mut c);
    c.final_summary();
}

#[cfg(target_arch = "wasm32")]
fn main() {}
