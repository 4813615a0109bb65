//! Parse throughput per format: for every format Portolan reads, the largest file of that
//! format in the shared corpus (`../shared/corpus`), read with `parse::parse` (detection
//! included), in MB/s; and synthetic Nessus and OpenVAS reports of 50,000 findings (the same
//! shape as the readers' linear-time tests).
//!
//! Target (BENCHMARKS.md): at least 50 MB/s natively for each text format on its largest
//! corpus file. Without the corpus the bench prints a note and measures only the synthetic
//! reports.
//!
//! `PORTOLAN_PARSE_LOOP=WORD cargo bench --bench parse` skips criterion and parses every input
//! whose name contains WORD in a loop for `PORTOLAN_PARSE_SECS` seconds (default 5), printing
//! the throughput by wall time and by the time the thread was on a CPU (from
//! `/proc/thread-self/schedstat`), which a machine shared with other work disturbs much less;
//! it is also the harness to run under `perf record`.

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use criterion::{Criterion, Throughput};
    use portolan::parse::{self, Format};

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

    /// Findings in each synthetic report.
    const SYNTHETIC_FINDINGS: usize = 50_000;

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    /// The largest corpus file of each detected format, with its text.
    fn largest_per_format() -> BTreeMap<&'static str, (PathBuf, String)> {
        let mut all = Vec::new();
        files_under(Path::new(CORPUS), &mut all);
        let mut best: BTreeMap<&'static str, (PathBuf, String)> = BTreeMap::new();
        for p in all {
            let Ok(text) = std::fs::read_to_string(&p) else { continue };
            let f = parse::detect(&text);
            if matches!(f, Format::Unknown | Format::Manifest) {
                continue;
            }
            let e = best.entry(f.label()).or_insert_with(|| (p.clone(), String::new()));
            if text.len() > e.1.len() {
                *e = (p, text);
            }
        }
        best
    }

    /// A Nessus v2 report of `n` findings: 50 per host, 20 ports per host, each finding with a
    /// CVE, a CVSS v3 score and vector, a description over two lines and a solution.
    fn synthetic_nessus(n: usize) -> String {
        let mut s = String::from("<?xml version=\"1.0\" ?>\n<NessusClientData_v2>\n<Policy><policyName>bulk</policyName></Policy>\n<Report name=\"bulk\">\n");
        for h in 0..n / 50 {
            let (a, b, c) = (h >> 16, (h >> 8) & 255, h & 255);
            let _ = write!(s, "<ReportHost name=\"10.{a}.{b}.{c}\"><HostProperties>\n<tag name=\"host-ip\">10.{a}.{b}.{c}</tag>\n</HostProperties>\n");
            for i in 0..50 {
                let _ = write!(
                    s,
                    "<ReportItem port=\"{}\" svc_name=\"svc\" protocol=\"tcp\" severity=\"{}\" pluginID=\"{}\" pluginName=\"Finding {i}\">\n\
                     <cve>CVE-2024-{i:05}</cve>\n<cvss3_base_score>7.5</cvss3_base_score>\n<cvss3_vector>CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N</cvss3_vector>\n\
                     <description>A description\nover two lines.</description>\n<solution>Upgrade.</solution>\n</ReportItem>\n",
                    1000 + i % 20,
                    i % 5,
                    100_000 + i,
                );
            }
            s.push_str("</ReportHost>\n");
        }
        s.push_str("</Report>\n</NessusClientData_v2>\n");
        s
    }

    /// An OpenVAS (GMP 22.4) report of `n` results: 50 per host, 20 ports per host, each with
    /// an NVT, its CVSS base and vector in the tags, a CVE reference and a description.
    fn synthetic_openvas(n: usize) -> String {
        let mut s = String::from("<report id=\"x\"><report id=\"x\"><gmp><version>22.4</version></gmp>\n<scan_run_status>Done</scan_run_status>\n<results>\n");
        for i in 0..n {
            let h = i / 50;
            let _ = write!(
                s,
                "<result id=\"r{i}\">\n<name>Finding {i}</name>\n<host>10.{}.{}.{}<asset asset_id=\"\"/><hostname>h{h}.example</hostname></host>\n\
                 <port>{}/tcp</port>\n<nvt oid=\"1.3.6.1.4.1.25623.1.0.{}\"><type>nvt</type><name>Finding {i}</name><cvss_base>7.5</cvss_base>\n\
                 <tags>cvss_base_vector=AV:N/AC:L/Au:N/C:P/I:P/A:P|summary=Over\ntwo lines.|solution=Upgrade.</tags>\n\
                 <refs><ref type=\"cve\" id=\"CVE-2024-{:05}\"/></refs></nvt>\n<threat>High</threat>\n<severity>7.5</severity>\n\
                 <description>Output\nof the test.</description>\n</result>\n",
                h >> 16,
                (h >> 8) & 255,
                h & 255,
                1000 + i % 20,
                100_000 + i % 50,
                i % 50
            );
        }
        s.push_str("</results>\n</report></report>\n");
        s
    }

    /// Every measured input: (benchmark name, file name given to the reader, text).
    fn inputs() -> Vec<(String, String, String)> {
        let mut v = Vec::new();
        if Path::new(CORPUS).is_dir() {
            for (label, (path, text)) in largest_per_format() {
                let rel = path.strip_prefix(CORPUS).unwrap_or(&path).display().to_string();
                v.push((format!("{label} ({rel}, {} KB)", text.len() / 1024), rel, text));
            }
        } else {
            eprintln!("parse bench: no corpus at {CORPUS}; only the synthetic reports are measured");
        }
        for (label, file, text) in [
            ("nessus", "synthetic.nessus", synthetic_nessus(SYNTHETIC_FINDINGS)),
            ("openvas", "synthetic.xml", synthetic_openvas(SYNTHETIC_FINDINGS)),
        ] {
            v.push((
                format!("{label} (synthetic, {SYNTHETIC_FINDINGS} findings, {} KB)", text.len() / 1024),
                file.to_string(),
                text,
            ));
        }
        v
    }

    /// The configurations of the Batfish fat-tree snapshots (zip archives in the corpus), each
    /// snapshot as one input: (name, [(file, text)]).
    fn snapshots() -> Vec<(String, Vec<(String, String)>)> {
        let dir = Path::new(CORPUS).join("perf/batfish/fattree");
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else { return out };
        let mut zips: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "zip")).collect();
        zips.sort();
        for z in zips {
            let Ok(f) = std::fs::File::open(&z) else { continue };
            let Ok(mut a) = zip::ZipArchive::new(f) else { continue };
            let mut files = Vec::new();
            for i in 0..a.len() {
                let Ok(mut e) = a.by_index(i) else { continue };
                let Ok(name) = e.name().map(|n| n.to_string()) else { continue };
                if !name.contains("/configs/") || e.is_dir() {
                    continue;
                }
                let mut text = String::new();
                if std::io::Read::read_to_string(&mut e, &mut text).is_ok() {
                    files.push((name, text));
                }
            }
            let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
            let stem = z.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            out.push((format!("batfish {stem} ({} configs, {} KB)", files.len(), bytes / 1024), files));
        }
        out
    }

    pub fn parse_formats(c: &mut Criterion) {
        let mut g = c.benchmark_group("parse");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(3));
        for (name, file, text) in inputs() {
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_function(name, |b| b.iter(|| parse::parse(0, &file, &text)));
        }
        // A whole snapshot: every configuration parsed, each as its own file.
        for (name, files) in snapshots() {
            g.throughput(Throughput::Bytes(files.iter().map(|(_, t)| t.len() as u64).sum()));
            g.bench_function(name, |b| {
                b.iter(|| files.iter().for_each(|(f, t)| drop(std::hint::black_box(parse::parse(0, f, t)))))
            });
        }
        g.finish();
    }

    /// Nanoseconds this thread has spent on a CPU, if the kernel says.
    fn on_cpu_ns() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        s.split_whitespace().next()?.parse().ok()
    }

    /// The loop mode (see the top of the file); false when it is not asked for.
    pub fn parse_loop() -> bool {
        let Ok(word) = std::env::var("PORTOLAN_PARSE_LOOP") else { return false };
        let secs: f64 = std::env::var("PORTOLAN_PARSE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0);
        for (name, file, text) in inputs().into_iter().filter(|(n, _, _)| n.contains(&word)) {
            let (t0, c0) = (Instant::now(), on_cpu_ns());
            let mut n = 0u64;
            while n == 0 || t0.elapsed().as_secs_f64() < secs {
                std::hint::black_box(parse::parse(0, &file, std::hint::black_box(&text)));
                n += 1;
            }
            let wall = t0.elapsed().as_secs_f64();
            let bytes = (text.len() as u64 * n) as f64;
            let mib = |s: f64| bytes / s / (1024.0 * 1024.0);
            let cpu = match (c0, on_cpu_ns()) {
                (Some(a), Some(b)) if b > a => format!(
                    "{:.1} MiB/s on CPU ({:.3} ms per parse)",
                    mib((b - a) as f64 / 1e9),
                    (b - a) as f64 / 1e6 / n as f64
                ),
                _ => "on-CPU time unknown".to_string(),
            };
            println!("{name}: {n} parses, {:.1} MiB/s wall, {cpu}", mib(wall));
        }
        true
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::parse_formats);

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if bench::parse_loop() {
        return;
    }
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}

#[cfg(target_arch = "wasm32")]
fn main() {}
