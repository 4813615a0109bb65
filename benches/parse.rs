//! Parse throughput per format: for every format Portolan reads, the largest file of that
//! format in the shared corpus (`../shared/corpus`), read with `parse::parse` (detection
//! included), in MB/s.
//!
//! Target (BENCHMARKS.md): at least 50 MB/s natively for each text format on its largest
//! corpus file. Without the corpus the bench prints a note and measures nothing.

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use criterion::{Criterion, Throughput};
    use portolan::parse::{self, Format};

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

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

    pub fn parse_formats(c: &mut Criterion) {
        if !Path::new(CORPUS).is_dir() {
            eprintln!("parse bench: no corpus at {CORPUS}; nothing measured");
            return;
        }
        let mut g = c.benchmark_group("parse");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(3));
        for (label, (path, text)) in largest_per_format() {
            let rel = path.strip_prefix(CORPUS).unwrap_or(&path).display().to_string();
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_function(format!("{label} ({rel}, {} KB)", text.len() / 1024), |b| {
                b.iter(|| parse::parse(0, &rel, &text))
            });
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::parse_formats);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
