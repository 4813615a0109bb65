//! The exact packet-set algebra (`portolan::space`): union, intersection and difference of
//! sets built from random rule-like cubes (address prefixes, protocol, port ranges, state).

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use criterion::{BenchmarkId, Criterion};
    use portolan::space::{addr_to_u128, proto, Ct, Cube, Dim, PacketSet, Ranges};
    use portolan::synth::Rng;
    use std::net::{IpAddr, Ipv4Addr};

    /// Cubes per set.
    const SIZES: [usize; 3] = [16, 64, 256];

    /// A cube shaped like a firewall rule: source and destination prefixes drawn from a few
    /// hundred networks (so that rules overlap), often a protocol and a port or port range,
    /// sometimes a connection state.
    fn rule_cube(rng: &mut Rng) -> Cube {
        let mut c = Cube::full();
        for d in [Dim::Src, Dim::Dst] {
            if rng.percent(80) {
                let len = *rng.pick(&[8u8, 16, 20, 24, 24, 26, 28, 32, 32]).unwrap_or(&24);
                let base = (10u32 << 24) | ((rng.below(4) as u32) << 16) | ((rng.below(64) as u32) << 8) | rng.below(256) as u32;
                let lo = base & if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let hi = lo | (u32::MAX >> len);
                let a = addr_to_u128(IpAddr::V4(Ipv4Addr::from(lo)));
                let b = addr_to_u128(IpAddr::V4(Ipv4Addr::from(hi)));
                c.set(d, Ranges::range(a, b));
            }
        }
        if rng.percent(85) {
            let p = if rng.percent(75) { proto::TCP } else { proto::UDP };
            c.set(Dim::Proto, Ranges::single(p as u128));
            if rng.percent(90) {
                let lo = *rng.pick(&[22u128, 25, 53, 80, 443, 1024, 3306, 8080]).unwrap_or(&80);
                let hi = if rng.percent(20) { lo + rng.below(2000) as u128 } else { lo };
                c.set(Dim::Dport, Ranges::range(lo, hi));
            }
        }
        if rng.percent(20) {
            c.set(Dim::Ct, Ct::with_base(Ct::NEW));
        }
        c
    }

    fn random_set(rng: &mut Rng, cubes: usize) -> PacketSet {
        let mut s = PacketSet::empty();
        for _ in 0..cubes {
            s = s.union(&PacketSet::from_cube(rule_cube(rng)));
        }
        s
    }

    pub fn space(c: &mut Criterion) {
        let mut g = c.benchmark_group("space");
        g.sample_size(20);
        for n in SIZES {
            let mut rng = Rng::new(n as u64);
            let a = random_set(&mut rng, n);
            let b = random_set(&mut rng, n);
            eprintln!(
                "{n} random cubes each: {} and {} disjoint cubes; union {}, intersection {}, difference {}",
                a.cubes().len(),
                b.cubes().len(),
                a.union(&b).cubes().len(),
                a.intersect(&b).cubes().len(),
                a.difference(&b).cubes().len()
            );
            g.bench_function(BenchmarkId::new("union", n), |bch| bch.iter(|| a.union(&b)));
            g.bench_function(BenchmarkId::new("intersect", n), |bch| bch.iter(|| a.intersect(&b)));
            g.bench_function(BenchmarkId::new("difference", n), |bch| bch.iter(|| a.difference(&b)));
            g.bench_function(BenchmarkId::new("is_subset", n), |bch| bch.iter(|| a.is_subset(&b)));
            let mut rng2 = Rng::new(7);
            let cubes: Vec<Cube> = (0..n).map(|_| rule_cube(&mut rng2)).collect();
            g.bench_function(BenchmarkId::new("build by union of cubes", n), |bch| {
                bch.iter(|| cubes.iter().fold(PacketSet::empty(), |s, c| s.union(&PacketSet::from_cube(c.clone()))))
            });
        }
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, bench::space);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
