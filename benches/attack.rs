//! Attack paths (`portolan::attack`): the whole analysis (graph from the origins outward, k = 5
//! paths per origin and crown jewel, choke points proven by recomputing) and a what-if
//! re-analysis after one rule edit (the edited device compiled again, `Analyzer::rebuilt`, and the graph
//! rebuilt from the one before, `Graph::rebuild`), on the attack scenario of the tests and on synthetic
//! estates with a Nessus report of every host (`portolan::synth::Network::vuln_scan`).
//!
//! `PORTOLAN_ATTACK_ONCE=DEVICES,HOSTS,FINDINGS,JEWELS[;...]` instead runs each estate once,
//! timed with `Instant`, and prints where the time goes (for sizes too slow for criterion);
//! `PORTOLAN_ATTACK_JSON=PREFIX` also writes each graph's edges with their evidence and the
//! paths report to `PREFIX.DEVICES-HOSTS-FINDINGS-JEWELS.txt` (to compare two builds), and
//! `PORTOLAN_ATTACK_PATHS_ONLY=1` stops after the graph and the paths (no choke points or
//! what-if: for sizes where those take minutes), and `PORTOLAN_ATTACK_NO_CHOKE=1` leaves out
//! only the choke points.

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkId, Criterion};
    use portolan::attack::{self, Graph, Options};
    use portolan::reach::Analyzer;
    use portolan::synth::Network;
    use portolan::whatif::{self, Edit};
    use portolan::{InputFile, Workspace};

    const SEED: u64 = 1;

    fn files(dir: &Path, base: &Path, out: &mut Vec<InputFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                files(&p, base, out);
            } else if let (Ok(rel), Ok(text)) = (p.strip_prefix(base), std::fs::read_to_string(&p)) {
                out.push(InputFile::new(rel.to_string_lossy().into_owned(), text));
            }
        }
    }

    fn estate(devices: usize, hosts: usize, findings: usize, jewels: usize) -> (Network, Workspace) {
        let net = Network::generate(devices, devices * 100, hosts, SEED);
        let mut inputs = net.input_files();
        inputs.push(net.vuln_scan(findings, SEED));
        inputs.push(net.attack_manifest(jewels));
        let ws = Workspace::load(inputs);
        (net, ws)
    }

    /// The first rule an attack path relies on, as an edit deleting it.
    fn some_rule(rep: &attack::AttackReport) -> Option<Edit> {
        rep.attack_paths.iter().flat_map(|p| p.steps.iter()).flat_map(|s| s.hops.iter()).find_map(|h| {
            let r = h.rule.as_ref()?;
            (r.line > 0 && &*r.action == "accept").then(|| Edit::DeleteRule { file: r.file.to_string(), line: r.line })
        })
    }

    pub fn once(spec: &str) {
        let nums: Vec<usize> = spec.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        let devices = nums.first().copied().unwrap_or(1_000);
        let hosts = nums.get(1).copied().unwrap_or(devices * 10);
        let findings = nums.get(2).copied().unwrap_or(hosts * 5);
        let jewels = nums.get(3).copied().unwrap_or(20);
        let t = Instant::now();
        let (net, ws) = estate(devices, hosts, findings, jewels);
        let t_load = t.elapsed();
        let t = Instant::now();
        let an = Analyzer::new(&ws);
        let t_new = t.elapsed();
        let origins = net.origins();
        let opts = Options::default();
        let t = Instant::now();
        let g = Graph::build(&an, &origins, &opts);
        let t_graph = t.elapsed();
        eprintln!("graph {:.3} s ({} nodes, {} edges)", t_graph.as_secs_f64(), g.g.node_count(), g.g.edge_count());
        let t = Instant::now();
        let rep = attack::report_paths(&g, opts.k);
        let t_paths = t.elapsed();
        eprintln!("paths {:.3} s ({} paths)", t_paths.as_secs_f64(), rep.attack_paths.len());
        if let Ok(prefix) = std::env::var("PORTOLAN_ATTACK_JSON") {
            // The graph's edges with their evidence, then the paths.
            use petgraph::visit::EdgeRef;
            let mut text = String::new();
            for e in g.g.edge_references() {
                text.push_str(&format!("{} -> {}: {:?}\n", g.label(e.source()), g.label(e.target()), e.weight()));
            }
            text.push_str(&serde_json::to_string_pretty(&rep).unwrap_or_default());
            let path = format!("{prefix}.{devices}-{hosts}-{findings}-{jewels}.txt");
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("{path}: {e}");
            }
        }
        if std::env::var_os("PORTOLAN_ATTACK_PATHS_ONLY").is_some() {
            return;
        }
        let t = Instant::now();
        let choke = match std::env::var_os("PORTOLAN_ATTACK_NO_CHOKE") {
            Some(_) => attack::choke::ChokeReport::default(),
            None => attack::choke::propose(&an, &origins, &opts, &g),
        };
        let t_choke = t.elapsed();
        let whatif = some_rule(&rep).map(|e| {
            let t = Instant::now();
            let changed = whatif::changed_devices(&ws, std::slice::from_ref(&e)).unwrap_or_default();
            let (w2, _) = whatif::apply(&ws, &[e]);
            let t_apply = t.elapsed();
            let an2 = Analyzer::rebuilt(&w2, &an, &changed);
            let t_new = t.elapsed();
            let g2 = Graph::rebuild(&an2, &origins, &opts, &g, &changed);
            let t_graph = t.elapsed();
            let _ = attack::report_paths(&g2, opts.k);
            let r = g2.questions_reused();
            eprintln!(
                "what-if: apply {:.3} s, Analyzer::rebuilt {:.3} s, graph rebuilt {:.3} s, paths {:.3} s ({} questions taken over, {} of them past the edited device; {} asked again for {} targets; {} asked whole)",
                t_apply.as_secs_f64(),
                (t_new - t_apply).as_secs_f64(),
                (t_graph - t_new).as_secs_f64(),
                (t.elapsed() - t_graph).as_secs_f64(),
                r.taken,
                r.past_edits,
                r.partly,
                r.targets_asked,
                r.asked,
            );
            t.elapsed()
        });
        println!(
            "attack {} devices, {} hosts, {} findings, {} crown jewels: load {:.3} s, Analyzer::new {:.3} s, graph {:.3} s ({} nodes, {} edges), paths {:.3} s ({} paths), choke points {:.3} s ({} changes, proven {}), what-if {}; notes {:?}; choke {:?}",
            net.devices.len(),
            net.hosts,
            findings,
            rep.crown_jewels.len(),
            t_load.as_secs_f64(),
            t_new.as_secs_f64(),
            t_graph.as_secs_f64(),
            g.g.node_count(),
            g.g.edge_count(),
            t_paths.as_secs_f64(),
            rep.attack_paths.len(),
            t_choke.as_secs_f64(),
            choke.changes.len(),
            choke.proven,
            whatif.map_or("no rule on a path".to_string(), |d| format!("{:.3} s", d.as_secs_f64())),
            rep.attack_notes,
            choke.changes.iter().map(|c| (c.what.clone(), c.cuts.clone())).collect::<Vec<_>>(),
        );
        if let Some(n) = &choke.note {
            println!("choke note: {n} (pairs before {}, after {})", choke.pairs_before, choke.pairs_after);
        }
    }

    pub fn attack(c: &mut Criterion) {
        if let Ok(specs) = std::env::var("PORTOLAN_ATTACK_ONCE") {
            for spec in specs.split(';') {
                once(spec);
            }
            return;
        }
        let mut g = c.benchmark_group("attack");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scenarios/attack");
        let mut inputs = Vec::new();
        files(&dir, &dir, &mut inputs);
        let ws = Workspace::load(inputs);
        let an = Analyzer::new(&ws);
        let origins = an.default_origins();
        let opts = Options::default();
        let paths = attack::analyze(&an, &origins, &opts).attack_paths.len();
        assert!(paths > 0, "the attack scenario is not in {} (no path found)", dir.display());
        g.bench_function("scenario: analyze (graph, k=5 paths, proven choke points)", |b| b.iter(|| attack::analyze(&an, &origins, &opts)));
        let edit = Edit::DeleteRule { file: "core/core.iptables".into(), line: 13 };
        let before = Graph::build(&an, &origins, &opts);
        g.bench_function("scenario: what-if one rule deleted (apply, compile, graph rebuilt, paths)", |b| {
            b.iter(|| {
                let changed = whatif::changed_devices(&ws, std::slice::from_ref(&edit)).unwrap_or_default();
                let (w2, _) = whatif::apply(&ws, std::slice::from_ref(&edit));
                let an2 = Analyzer::rebuilt(&w2, &an, &changed);
                attack::report_paths(&Graph::rebuild(&an2, &origins, &opts, &before, &changed), opts.k)
            })
        });
        {
            let (devices, hosts) = (10usize, 100usize);
            let (net, ws) = estate(devices, hosts, hosts * 5, 5);
            let an = Analyzer::new(&ws);
            let origins = net.origins();
            let gr = Graph::build(&an, &origins, &opts);
            let rep = attack::report_paths(&gr, opts.k);
            eprintln!("attack estate {devices}: {} hosts, graph {} nodes {} edges, {} paths", net.hosts, gr.g.node_count(), gr.g.edge_count(), rep.attack_paths.len());
            g.bench_function(BenchmarkId::new("estate: graph + k=5 paths", format!("{devices} devices, {hosts} hosts")), |b| {
                b.iter(|| attack::report_paths(&Graph::build(&an, &origins, &opts), opts.k))
            });
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::attack);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
