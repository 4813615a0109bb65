//! Deterministic synthetic estates and flows, for benchmarks and scale tests.
//!
//! [`Estate::generate`] writes one Linux firewall the way an administrator's exports look:
//! `iptables-save` text (raw, nat and filter tables; user chains per VLAN interface; rules with
//! `-s`/`-d` CIDRs, ports and port ranges, multiport, conntrack state, DNAT port forwards,
//! MASQUERADE, LOG, REJECT, comments) plus the matching `ip addr` and `ip route` dumps. The rule
//! count is exact, from 100 to 100,000 and beyond. The same seed always gives byte-identical
//! text; nothing depends on the platform, the clock or hashing order.
//!
//! [`Network::generate`] writes a whole estate of many such devices: an edge firewall towards the
//! Internet and a vendor's access link, and a tree of internal routers with firewalls joined by
//! routes via each other's addresses, with subnets of hosts and the origins to analyse
//! ([`Network::origins`]: `internet`, the vendor, an employees' subnet).
//!
//! [`flows_for`] picks flows (`src,dst,proto,port`) from the rules of any loaded workspace —
//! a synthetic one or a real export — so that they hit real rules: most take the addresses and
//! ports a rule names (allowed or denied by it), the rest are bent off those rules (another port,
//! another host) so that the mix holds denied flows too.
//!
//! ```
//! use portolan::synth::{flows_for, flows_csv, Estate};
//! let estate = Estate::generate(500, 7);
//! let ws = portolan::Workspace::load(estate.input_files());
//! assert_eq!(ws.network.devices.len(), 1);
//! let flows = flows_for(&ws, 20, 7);
//! assert!(flows_csv(&flows).starts_with("src,dst,proto,port\n"));
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use crate::model::{Action, Family, Test};
use crate::space;
use crate::{InputFile, Workspace};

/// A small deterministic pseudo-random generator (SplitMix64 seeding an xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for a seed; every seed (zero too) gives a distinct, non-degenerate stream.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((self.next_u64() as u128 * n as u128) >> 64) as u64
        }
    }

    /// A value in `0..n` for `u128` bounds (0 when `n` is 0).
    pub fn below_u128(&mut self, n: u128) -> u128 {
        if n == 0 {
            return 0;
        }
        let x = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        x % n
    }

    /// A value in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo + 1)
        }
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a slice (`None` when it is empty).
    pub fn pick<'s, T>(&mut self, items: &'s [T]) -> Option<&'s T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// TCP services the generator puts behind rules, with their usual ports.
const TCP_SERVICES: &[u16] = &[
    22, 25, 80, 110, 143, 389, 443, 445, 465, 587, 636, 993, 995, 1433, 1521, 3306, 3389, 5432, 5900, 6379, 8000,
    8080, 8443, 9000, 9090, 9200, 11211, 27017,
];
/// UDP services.
const UDP_SERVICES: &[u16] = &[53, 67, 69, 123, 161, 162, 500, 514, 1194, 1812, 4500, 5060];
/// Port ranges opened as a whole: unprivileged, X11, RTP media, the IANA dynamic range, passive
/// FTP, mosh, alternative HTTP, Kubernetes NodePorts. Real rulesets reuse a few such ranges; each
/// distinct boundary inside the client port range splits every flow question into more classes.
const PORT_RANGES: &[(u16, u16)] =
    &[(1024, 65535), (6000, 6063), (10000, 20000), (49152, 65535), (50000, 50100), (60000, 61000), (8000, 8100), (30000, 32767)];
/// Web ports opened together with multiport.
const WEB_PORTS: &[&str] = &["80,443", "80,443,8080", "443,8443", "25,465,587", "110,143,993,995", "389,636"];
/// First octets of public address blocks that partner and blocked networks come from.
const PUBLIC_FIRST_OCTETS: &[u8] = &[
    23, 31, 37, 45, 46, 62, 77, 78, 80, 81, 82, 85, 87, 88, 91, 93, 94, 109, 128, 130, 131, 134, 137, 139, 141, 145,
    151, 155, 160, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217,
];
/// The uplink's own public address, where port forwards are published (TEST-NET-3, RFC 5737).
const UPLINK_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
/// The upstream gateway.
const UPLINK_GW: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
/// The management network on `eth2`.
const MGMT_NET: (Ipv4Addr, u8) = (Ipv4Addr::new(192, 168, 100, 0), 24);

/// One VLAN interface of the synthetic firewall.
#[derive(Clone, Debug)]
struct Vlan {
    vid: u16,
    net: Ipv4Addr,
    len: u8,
    /// Hosts that run services (they appear as rule destinations).
    servers: Vec<Ipv4Addr>,
}

impl Vlan {
    fn iface(&self) -> String {
        format!("eth1.{}", self.vid)
    }

    fn gateway(&self) -> Ipv4Addr {
        offset(self.net, 1)
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.len)
    }

    fn cidr(&self) -> String {
        format!("{}/{}", self.net, self.len)
    }

    fn broadcast(&self) -> Ipv4Addr {
        offset(self.net, self.size() - 1)
    }
}

fn offset(a: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a).wrapping_add(n))
}

/// A synthetic single-firewall estate: the three exports of one Linux router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estate {
    /// Device name; the files live in a folder of that name, which names the device.
    pub name: String,
    /// `iptables-save` output.
    pub iptables_save: String,
    /// `ip addr` output.
    pub ip_addr: String,
    /// `ip route` output.
    pub ip_route: String,
    /// Number of rules (`-A` lines) in `iptables_save`.
    pub rules: usize,
    /// Number of VLAN interfaces.
    pub vlans: usize,
}

/// Rules are written per chain; chains in the order they are declared.
struct Chains {
    order: Vec<String>,
    rules: Vec<Vec<String>>,
}

impl Chains {
    fn new() -> Self {
        Chains { order: Vec::new(), rules: Vec::new() }
    }

    fn declare(&mut self, name: &str) -> usize {
        self.order.push(name.to_string());
        self.rules.push(Vec::new());
        self.order.len() - 1
    }

    fn add(&mut self, chain: usize, rule: String) {
        if let Some(c) = self.rules.get_mut(chain) {
            c.push(rule);
        }
    }

    fn count(&self) -> usize {
        self.rules.iter().map(Vec::len).sum()
    }
}

/// Per-estate generation state.
struct Gen {
    rng: Rng,
    vlans: Vec<Vlan>,
    partners: Vec<(Ipv4Addr, u8)>,
    blocked: Vec<(Ipv4Addr, u8)>,
    sites: Vec<(Ipv4Addr, u8, usize)>,
}

impl Gen {
    fn random_public_net(&mut self, min_len: u8, max_len: u8) -> (Ipv4Addr, u8) {
        let first = *self.rng.pick(PUBLIC_FIRST_OCTETS).unwrap_or(&193);
        let len = self.rng.between(min_len as u64, max_len as u64) as u8;
        let raw = (first as u32) << 24 | (self.rng.next_u64() as u32 & 0x00ff_ffff);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        (Ipv4Addr::from(raw & mask), len)
    }

    /// A source for a rule into `target`: a partner network, another VLAN (whole or one
    /// host), a remote site, or the management network.
    fn source(&mut self, target: usize) -> String {
        match self.rng.below(10) {
            0..=3 => {
                let (n, l) = *self.rng.pick(&self.partners).unwrap_or(&(Ipv4Addr::new(198, 51, 100, 0), 24));
                format!("{n}/{l}")
            }
            4..=5 => {
                let i = self.other_vlan(target);
                self.vlans.get(i).map_or_else(|| "10.0.0.0/8".into(), Vlan::cidr)
            }
            6..=7 => {
                let i = self.other_vlan(target);
                match self.vlans.get(i).map(|v| v.servers.clone()) {
                    Some(s) if !s.is_empty() => format!("{}/32", self.rng.pick(&s).copied().unwrap_or(UPLINK_GW)),
                    _ => "10.0.0.0/8".into(),
                }
            }
            8 => match self.rng.pick(&self.sites).copied() {
                Some((n, l, _)) => format!("{n}/{l}"),
                None => format!("{}/{}", MGMT_NET.0, MGMT_NET.1),
            },
            _ => format!("{}/{}", MGMT_NET.0, MGMT_NET.1),
        }
    }

    fn other_vlan(&mut self, not: usize) -> usize {
        let n = self.vlans.len() as u64;
        if n < 2 {
            return 0;
        }
        let i = self.rng.below(n - 1) as usize;
        if i >= not { i + 1 } else { i }
    }

    fn server(&mut self, vlan: usize) -> Ipv4Addr {
        let servers = self.vlans.get(vlan).map(|v| v.servers.clone()).unwrap_or_default();
        self.rng.pick(&servers).copied().unwrap_or(UPLINK_GW)
    }

    /// One rule for the chain guarding traffic into VLAN `v`.
    fn inbound_rule(&mut self, chain: &str, v: usize) -> String {
        let dst = self.server(v);
        let roll = self.rng.below(100);
        let svc = *self.rng.pick(TCP_SERVICES).unwrap_or(&443);
        let udp = *self.rng.pick(UDP_SERVICES).unwrap_or(&53);
        let src = self.source(v);
        match roll {
            0..=31 => format!("-A {chain} -s {src} -d {dst}/32 -p tcp -m tcp --dport {svc} -j ACCEPT"),
            32..=43 => {
                let ports = self.rng.pick(WEB_PORTS).copied().unwrap_or("80,443");
                format!("-A {chain} -d {dst}/32 -p tcp -m multiport --dports {ports} -j ACCEPT")
            }
            44..=53 => format!("-A {chain} -s {src} -d {dst}/32 -p udp -m udp --dport {udp} -j ACCEPT"),
            54..=57 => format!("-A {chain} -d {dst}/32 -p icmp -m icmp --icmp-type 8 -j ACCEPT"),
            58..=64 => format!("-A {chain} -s {src} -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"),
            65..=70 => {
                let (n, l) = *self.rng.pick(&self.blocked).unwrap_or(&(Ipv4Addr::new(192, 0, 2, 0), 24));
                format!("-A {chain} -s {n}/{l} -j DROP")
            }
            71..=75 => format!(
                "-A {chain} -s {src} -d {dst}/32 -p tcp -m tcp --dport {svc} -j REJECT --reject-with icmp-port-unreachable"
            ),
            76..=80 => {
                let (lo, hi) = *self.rng.pick(PORT_RANGES).unwrap_or(&(1024, 65535));
                let mask = self.rng.between(26, 30) as u32;
                let net = Ipv4Addr::from(u32::from(dst) & (u32::MAX << (32 - mask)));
                format!("-A {chain} -s {src} -d {net}/{mask} -p tcp -m tcp --dport {lo}:{hi} -j ACCEPT")
            }
            81..=84 => format!("-A {chain} -i eth0 -d {dst}/32 -p tcp -m tcp --dport {svc} -m conntrack --ctstate NEW -j ACCEPT"),
            85..=87 => format!("-A {chain} -s {src} -j LOG --log-prefix \"{chain} \" --log-level 6"),
            88..=91 => format!("-A {chain} ! -s 10.0.0.0/8 -d {dst}/32 -p tcp -m tcp --dport {svc} -j DROP"),
            _ => {
                let ticket = 1000 + self.rng.below(90_000);
                format!(
                    "-A {chain} -s {src} -d {dst}/32 -p tcp -m tcp --dport {svc} -m comment --comment \"change {ticket}\" -j ACCEPT"
                )
            }
        }
    }

    /// One rule for the chain guarding traffic out of VLAN `v`.
    fn outbound_rule(&mut self, chain: &str, v: usize) -> String {
        let src = self.vlans.get(v).map_or_else(|| "10.0.0.0/8".to_string(), Vlan::cidr);
        match self.rng.below(10) {
            0..=2 => {
                let ports = self.rng.pick(WEB_PORTS).copied().unwrap_or("80,443");
                format!("-A {chain} -o eth0 -p tcp -m multiport --dports {ports} -j ACCEPT")
            }
            3 => {
                let udp = *self.rng.pick(UDP_SERVICES).unwrap_or(&123);
                format!("-A {chain} -o eth0 -p udp -m udp --dport {udp} -j ACCEPT")
            }
            4..=5 => {
                let (n, l) = *self.rng.pick(&self.partners).unwrap_or(&(Ipv4Addr::new(198, 51, 100, 0), 24));
                let svc = *self.rng.pick(TCP_SERVICES).unwrap_or(&443);
                format!("-A {chain} -s {src} -d {n}/{l} -p tcp -m tcp --dport {svc} -j ACCEPT")
            }
            6 => {
                let o = self.other_vlan(v);
                let dst = self.vlans.get(o).map_or_else(|| "10.0.0.0/8".to_string(), Vlan::cidr);
                format!("-A {chain} -d {dst} -p icmp -m icmp --icmp-type 8 -j ACCEPT")
            }
            7 => format!("-A {chain} -p tcp -m tcp --dport 25 -j LOG_REJECT"),
            8 => {
                let (n, l) = *self.rng.pick(&self.blocked).unwrap_or(&(Ipv4Addr::new(192, 0, 2, 0), 24));
                format!("-A {chain} -d {n}/{l} -j REJECT --reject-with icmp-host-prohibited")
            }
            _ => format!("-A {chain} ! -d 10.0.0.0/8 -p tcp -m tcp --dport 3389 -j DROP"),
        }
    }
}

impl Estate {
    /// Generate an estate with exactly `rules` rules (at least the fixed skeleton of about
    /// fifty) from `seed`. The VLAN count grows with the size: 2 for 100 rules, 5 for 1,000,
    /// 50 for 10,000, 500 for 100,000.
    pub fn generate(rules: usize, seed: u64) -> Estate {
        let mut rng = Rng::new(seed);
        let nvlan = (rules / 200).clamp(2, 1000);
        let mut vlans = Vec::with_capacity(nvlan);
        for i in 0..nvlan {
            // Each VLAN gets its own /23 block and uses a prefix of it.
            let block = ((i as u32 + 1) * 2) << 8;
            let net = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) | block);
            let len = *rng.pick(&[24u8, 24, 24, 23, 25, 26, 27]).unwrap_or(&24);
            let mut v = Vlan { vid: 100 + i as u16, net, len, servers: Vec::new() };
            let hosts = v.size() - 3; // network, gateway, broadcast
            let nserv = rng.between(3, 12) as usize;
            for _ in 0..nserv {
                let h = offset(net, 2 + rng.below(hosts as u64) as u32);
                if !v.servers.contains(&h) {
                    v.servers.push(h);
                }
            }
            vlans.push(v);
        }
        let mut g = Gen { rng, vlans, partners: Vec::new(), blocked: Vec::new(), sites: Vec::new() };
        let npartners = nvlan.clamp(8, 400);
        for _ in 0..npartners {
            let p = g.random_public_net(16, 29);
            g.partners.push(p);
        }
        for _ in 0..(nvlan / 2).clamp(4, 200) {
            let b = g.random_public_net(8, 24);
            g.blocked.push(b);
        }
        for k in 0..(nvlan / 4).clamp(1, 250) {
            let v = g.rng.below(nvlan as u64) as usize;
            g.sites.push((Ipv4Addr::new(172, 16 + (k / 256) as u8, (k % 256) as u8, 0), 24, v));
        }

        let mut raw = Chains::new();
        // Declared, as on most hosts where something loaded the module, but without rules.
        raw.declare("PREROUTING");
        raw.declare("OUTPUT");

        let mut nat = Chains::new();
        let nat_pre = nat.declare("PREROUTING");
        nat.declare("INPUT");
        nat.declare("OUTPUT");
        let nat_post = nat.declare("POSTROUTING");
        let nforward = (rules / 100).clamp(1, 500);
        for k in 0..nforward {
            let v = g.rng.below(nvlan as u64) as usize;
            let host = g.server(v);
            let udp = g.rng.percent(15);
            let (p, svc) = if udp {
                ("udp", *g.rng.pick(UDP_SERVICES).unwrap_or(&1194))
            } else {
                ("tcp", *g.rng.pick(TCP_SERVICES).unwrap_or(&443))
            };
            let ext = 10_000 + k as u16;
            nat.add(
                nat_pre,
                format!("-A PREROUTING -d {UPLINK_ADDR}/32 -i eth0 -p {p} -m {p} --dport {ext} -j DNAT --to-destination {host}:{svc}"),
            );
        }
        nat.add(nat_post, "-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE".into());
        nat.add(nat_post, format!("-A POSTROUTING -s {}/{} -o eth0 -j MASQUERADE", MGMT_NET.0, MGMT_NET.1));

        let mut filter = Chains::new();
        let input = filter.declare("INPUT");
        let forward = filter.declare("FORWARD");
        let _output = filter.declare("OUTPUT");
        let log_drop = filter.declare("LOG_DROP");
        let log_reject = filter.declare("LOG_REJECT");
        let mgmt = filter.declare("mgmt_in");
        let mut chain_in = Vec::with_capacity(nvlan);
        let mut chain_out = Vec::with_capacity(nvlan);
        for v in &g.vlans {
            chain_in.push(filter.declare(&format!("to_vlan{}", v.vid)));
            chain_out.push(filter.declare(&format!("from_vlan{}", v.vid)));
        }

        filter.add(input, "-A INPUT -i lo -j ACCEPT".into());
        filter.add(input, "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());
        filter.add(input, "-A INPUT -m conntrack --ctstate INVALID -j DROP".into());
        filter.add(input, "-A INPUT -i eth2 -j mgmt_in".into());
        filter.add(input, "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT".into());
        filter.add(input, "-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 53 -j ACCEPT".into());
        filter.add(input, "-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 67:68 -j ACCEPT".into());
        filter.add(input, "-A INPUT -j LOG_DROP".into());
        let m = format!("{}/{}", MGMT_NET.0, MGMT_NET.1);
        filter.add(mgmt, format!("-A mgmt_in -s {m} -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"));
        filter.add(mgmt, "-A mgmt_in -s 192.168.100.10/32 -p tcp -m multiport --dports 443,8443 -j ACCEPT".into());
        filter.add(mgmt, "-A mgmt_in -p udp -m udp --dport 161 -j ACCEPT".into());
        filter.add(mgmt, "-A mgmt_in -j RETURN".into());
        filter.add(log_drop, "-A LOG_DROP -j LOG --log-prefix \"fw-drop: \" --log-level 4".into());
        filter.add(log_drop, "-A LOG_DROP -j DROP".into());
        filter.add(log_reject, "-A LOG_REJECT -j LOG --log-prefix \"fw-reject: \" --log-level 4".into());
        filter.add(log_reject, "-A LOG_REJECT -p tcp -j REJECT --reject-with tcp-reset".into());
        filter.add(log_reject, "-A LOG_REJECT -j REJECT --reject-with icmp-port-unreachable".into());

        filter.add(forward, "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());
        filter.add(forward, "-A FORWARD -m conntrack --ctstate INVALID -j DROP".into());
        filter.add(forward, "-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT".into());
        for i in 0..g.blocked.len().min(8) {
            let (n, l) = g.blocked[i];
            filter.add(forward, format!("-A FORWARD -s {n}/{l} -i eth0 -j DROP"));
        }
        for (i, v) in g.vlans.iter().enumerate() {
            filter.add(forward, format!("-A FORWARD -o {} -j to_vlan{}", v.iface(), v.vid));
            // Every other VLAN's egress chain is entered with a goto: what it does not accept
            // falls to the FORWARD policy without coming back.
            let how = if i % 2 == 0 { "-j" } else { "-g" };
            filter.add(forward, format!("-A FORWARD -i {} {how} from_vlan{}", v.iface(), v.vid));
        }
        filter.add(forward, "-A FORWARD -i eth2 -j ACCEPT".into());
        filter.add(forward, "-A FORWARD -j LOG_REJECT".into());
        for (k, v) in g.vlans.clone().iter().enumerate() {
            let site = g.sites.iter().find(|s| s.2 == k).map(|s| format!("{}/{}", s.0, s.1));
            if let Some(site) = site {
                filter.add(chain_out[k], format!("-A from_vlan{} -d {site} -j ACCEPT", v.vid));
            }
        }

        let fixed = raw.count() + nat.count() + filter.count() + nvlan; // + one closing rule per to_vlan chain
        let bulk = rules.saturating_sub(fixed);
        for _ in 0..bulk {
            let v = g.rng.below(nvlan as u64) as usize;
            let vid = g.vlans[v].vid;
            if g.rng.percent(80) {
                let rule = g.inbound_rule(&format!("to_vlan{vid}"), v);
                filter.add(chain_in[v], rule);
            } else {
                let rule = g.outbound_rule(&format!("from_vlan{vid}"), v);
                filter.add(chain_out[v], rule);
            }
        }
        for (k, v) in g.vlans.iter().enumerate() {
            filter.add(chain_in[k], format!("-A to_vlan{} -j RETURN", v.vid));
        }

        let name = format!("synth-{rules}-{seed}");
        let mut ipt = String::with_capacity(rules * 90 + 4096);
        let stamp = "Mon Jan  6 09:00:00 2025";
        let total = raw.count() + nat.count() + filter.count();
        let mut emit = |table: &str, chains: &Chains, builtin: &[(&str, &str)]| {
            let _ = writeln!(ipt, "# Generated by iptables-save v1.8.9 on {stamp}");
            let _ = writeln!(ipt, "*{table}");
            for name in &chains.order {
                let policy = builtin.iter().find(|(b, _)| b == name).map_or("-", |(_, p)| *p);
                let _ = writeln!(ipt, ":{name} {policy} [0:0]");
            }
            for rs in &chains.rules {
                for r in rs {
                    ipt.push_str(r);
                    ipt.push('\n');
                }
            }
            let _ = writeln!(ipt, "COMMIT");
            let _ = writeln!(ipt, "# Completed on {stamp}");
        };
        emit("raw", &raw, &[("PREROUTING", "ACCEPT"), ("OUTPUT", "ACCEPT")]);
        emit(
            "nat",
            &nat,
            &[("PREROUTING", "ACCEPT"), ("INPUT", "ACCEPT"), ("OUTPUT", "ACCEPT"), ("POSTROUTING", "ACCEPT")],
        );
        emit("filter", &filter, &[("INPUT", "DROP"), ("FORWARD", "DROP"), ("OUTPUT", "ACCEPT")]);

        let ip_addr = ip_addr_text(&g.vlans, seed);
        let ip_route = ip_route_text(&g.vlans, &g.sites);
        Estate { name, iptables_save: ipt, ip_addr, ip_route, rules: total, vlans: nvlan }
    }

    /// The three exports as input files in a folder named after the device.
    pub fn input_files(&self) -> Vec<InputFile> {
        vec![
            InputFile::new(format!("{}/iptables-save", self.name), self.iptables_save.clone()),
            InputFile::new(format!("{}/ip-addr", self.name), self.ip_addr.clone()),
            InputFile::new(format!("{}/ip-route", self.name), self.ip_route.clone()),
        ]
    }
}

fn mac(seed: u64, idx: usize) -> String {
    let mut r = Rng::new(seed ^ (idx as u64).wrapping_mul(0x1000_0000_01b3));
    let b = r.next_u64();
    format!("52:54:00:{:02x}:{:02x}:{:02x}", (b >> 16) as u8, (b >> 8) as u8, b as u8)
}

fn ip_addr_text(vlans: &[Vlan], seed: u64) -> String {
    let mut s = String::with_capacity(300 * (vlans.len() + 4));
    let _ = writeln!(s, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000");
    let _ = writeln!(s, "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00");
    let _ = writeln!(s, "    inet 127.0.0.1/8 scope host lo");
    let _ = writeln!(s, "       valid_lft forever preferred_lft forever");
    let phys = [("eth0", Some((UPLINK_ADDR, 24u8))), ("eth1", None), ("eth2", Some((Ipv4Addr::new(192, 168, 100, 1), 24)))];
    for (i, (name, addr)) in phys.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}: {name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000",
            i + 2
        );
        let _ = writeln!(s, "    link/ether {} brd ff:ff:ff:ff:ff:ff", mac(seed, i));
        if let Some((a, l)) = addr {
            let bcast = Ipv4Addr::from(u32::from(*a) | u32::MAX >> l);
            let _ = writeln!(s, "    inet {a}/{l} brd {bcast} scope global {name}");
            let _ = writeln!(s, "       valid_lft forever preferred_lft forever");
        }
    }
    let mac1 = mac(seed, 1);
    for (k, v) in vlans.iter().enumerate() {
        let itf = v.iface();
        let _ = writeln!(s, "{}: {itf}@eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000", k + 5);
        let _ = writeln!(s, "    link/ether {mac1} brd ff:ff:ff:ff:ff:ff");
        let _ = writeln!(s, "    inet {}/{} brd {} scope global {itf}", v.gateway(), v.len, v.broadcast());
        let _ = writeln!(s, "       valid_lft forever preferred_lft forever");
    }
    s
}

fn ip_route_text(vlans: &[Vlan], sites: &[(Ipv4Addr, u8, usize)]) -> String {
    let mut s = String::with_capacity(80 * (vlans.len() + sites.len() + 4));
    let _ = writeln!(s, "default via {UPLINK_GW} dev eth0 proto static");
    for v in vlans {
        let _ = writeln!(s, "{} dev {} proto kernel scope link src {}", v.cidr(), v.iface(), v.gateway());
    }
    for (n, l, v) in sites {
        if let Some(vl) = vlans.get(*v) {
            let _ = writeln!(s, "{n}/{l} via {} dev {} proto static metric 100", offset(vl.broadcast(), u32::MAX), vl.iface());
        }
    }
    let _ = writeln!(s, "192.168.100.0/24 dev eth2 proto kernel scope link src 192.168.100.1");
    let _ = writeln!(s, "203.0.113.0/24 dev eth0 proto kernel scope link src {UPLINK_ADDR}");
    s
}

/// One flow to evaluate: a row of a `--flows` CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number.
    pub proto: String,
    /// Destination port, ICMP type name, or empty.
    pub port: String,
}

/// Flows as CSV with the header `src,dst,proto,port`.
pub fn flows_csv(flows: &[Flow]) -> String {
    let mut s = String::with_capacity(40 * (flows.len() + 1));
    s.push_str("src,dst,proto,port\n");
    for f in flows {
        let _ = writeln!(s, "{},{},{},{}", f.src, f.dst, f.proto, f.port);
    }
    s
}

/// What a rule says about the flows it matches, gathered from the model.
#[derive(Clone, Debug, Default)]
struct RuleShape {
    src: Vec<(u128, u128)>,
    dst: Vec<(u128, u128)>,
    proto: Option<u8>,
    dport: Vec<(u16, u16)>,
    icmp: Option<u8>,
    in_iface: Option<String>,
    out_iface: Option<String>,
    v6: bool,
}

/// `count` flows that hit the rules of a loaded workspace, deterministic for a seed.
///
/// Each flow starts from a filtering or port-forwarding rule of some device: its addresses are
/// drawn from the rule's `-s`/`-d` ranges (or, where the rule has none, from the subnet of the
/// interface it names, a connected subnet, or a public address), its protocol and port from the
/// rule's. About one flow in four is then bent off its rule (another port or another host) so
/// that the mix also holds flows no accept rule covers. Negated conditions are ignored.
pub fn flows_for(ws: &Workspace, count: usize, seed: u64) -> Vec<Flow> {
    let mut rng = Rng::new(seed);
    let mut shapes = Vec::new();
    let mut subnets: Vec<(u128, u128, String)> = Vec::new();
    let mut local_v6 = false;
    for d in &ws.network.devices {
        for itf in &d.interfaces {
            for a in &itf.addresses {
                if a.addr().is_loopback() || a.prefix_len() == a.max_prefix_len() {
                    continue;
                }
                if let IpAddr::V6(v6) = a.addr() {
                    if v6.segments()[0] & 0xffc0 == 0xfe80 {
                        continue;
                    }
                    local_v6 = true;
                }
                let r = space::prefix_range(&a.trunc());
                if let Some(&(lo, hi)) = r.as_slice().first() {
                    subnets.push((lo, hi, itf.name.clone()));
                }
            }
        }
        let Some(fw) = &d.firewall else { continue };
        for rs in &fw.rulesets {
            if rs.table != "filter" && rs.table != "nat" {
                continue;
            }
            for r in &rs.rules {
                let decides = matches!(&r.action, Action::Accept | Action::Drop | Action::Reject(_) | Action::Dnat(_));
                if !decides {
                    continue;
                }
                let mut sh = RuleShape { v6: rs.family == Family::V6, ..Default::default() };
                for c in r.conds.iter().filter(|c| !c.negated) {
                    match &c.test {
                        Test::Src(v) => sh.src = v.iter().map(|a| (space::addr_to_u128(a.lo), space::addr_to_u128(a.hi))).collect(),
                        Test::Dst(v) => sh.dst = v.iter().map(|a| (space::addr_to_u128(a.lo), space::addr_to_u128(a.hi))).collect(),
                        Test::Proto(p) => sh.proto = p.first().copied(),
                        Test::Dport(p) => sh.dport = p.clone(),
                        Test::Icmp { ty, .. } => sh.icmp = *ty,
                        Test::InIface(i) => sh.in_iface = Some(i.clone()),
                        Test::OutIface(i) => sh.out_iface = Some(i.clone()),
                        _ => {}
                    }
                }
                if sh.src.is_empty() && sh.dst.is_empty() && sh.dport.is_empty() && sh.in_iface.is_none() && sh.out_iface.is_none() {
                    continue;
                }
                shapes.push(sh);
            }
        }
    }
    let v4_subnets: Vec<(u128, u128, String)> = subnets.iter().filter(|s| s.0 >= space::V4_BASE && s.1 <= space::V4_LAST).cloned().collect();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let sh = rng.pick(&shapes).cloned().unwrap_or_default();
        let v6 = sh.v6 && local_v6;
        let pool: &[(u128, u128, String)] = if v6 { &subnets } else { &v4_subnets };
        let src = pick_addr(&mut rng, &sh.src, sh.in_iface.as_deref(), pool, v6);
        let mut dst = pick_addr(&mut rng, &sh.dst, sh.out_iface.as_deref(), pool, v6);
        let proto = sh.proto.unwrap_or_else(|| match rng.below(10) {
            0..=6 => space::proto::TCP,
            7..=8 => space::proto::UDP,
            _ => if v6 { space::proto::ICMPV6 } else { space::proto::ICMP },
        });
        let mut port = if space::proto::has_ports(proto) {
            match rng.pick(&sh.dport) {
                Some(&(lo, hi)) => rng.between(lo as u64, hi as u64).to_string(),
                None => {
                    let list = if proto == space::proto::UDP { UDP_SERVICES } else { TCP_SERVICES };
                    rng.pick(list).copied().unwrap_or(443).to_string()
                }
            }
        } else if proto == space::proto::ICMP || proto == space::proto::ICMPV6 {
            sh.icmp.unwrap_or(if v6 { 128 } else { 8 }).to_string()
        } else {
            String::new()
        };
        // Bend about a quarter off the rule they came from.
        match rng.below(8) {
            0 if space::proto::has_ports(proto) => port = rng.between(1024, 65535).to_string(),
            1 => {
                if let Some(s) = rng.pick(pool) {
                    dst = space::u128_to_addr(host_in(&mut rng, s.0, s.1));
                }
            }
            _ => {}
        }
        let proto_name = match proto {
            space::proto::TCP => "tcp".to_string(),
            space::proto::UDP => "udp".to_string(),
            space::proto::ICMP => "icmp".to_string(),
            space::proto::ICMPV6 => "icmpv6".to_string(),
            n => n.to_string(),
        };
        out.push(Flow { src, dst, proto: proto_name, port });
    }
    out
}

/// A host address inside `lo..=hi`, avoiding the network and broadcast addresses of ranges
/// large enough to have them.
fn host_in(rng: &mut Rng, lo: u128, hi: u128) -> u128 {
    let span = hi - lo;
    if span >= 3 {
        lo + 1 + rng.below_u128(span - 1)
    } else {
        lo + rng.below_u128(span + 1)
    }
}

fn pick_addr(rng: &mut Rng, ranges: &[(u128, u128)], iface: Option<&str>, subnets: &[(u128, u128, String)], v6: bool) -> IpAddr {
    let fam = |v: u128| (space::V4_BASE..=space::V4_LAST).contains(&v) != v6;
    let ranges: Vec<(u128, u128)> = ranges.iter().copied().filter(|r| fam(r.0) && fam(r.1)).collect();
    if let Some(&(lo, hi)) = rng.pick(&ranges) {
        return space::u128_to_addr(host_in(rng, lo, hi));
    }
    if let Some(name) = iface {
        let stem = name.trim_end_matches('+');
        let prefix = name.ends_with('+');
        let on: Vec<&(u128, u128, String)> =
            subnets.iter().filter(|s| if prefix { s.2.starts_with(stem) } else { s.2 == name }).collect();
        if let Some(s) = rng.pick(&on) {
            // Traffic arriving on an interface mostly comes from its subnet; the rest from
            // beyond it (a routed network, or the Internet on an uplink).
            if rng.percent(70) {
                return space::u128_to_addr(host_in(rng, s.0, s.1));
            }
        }
    }
    if rng.percent(60) {
        if let Some(s) = rng.pick(subnets) {
            return space::u128_to_addr(host_in(rng, s.0, s.1));
        }
    }
    if v6 {
        let x = 0x2a00_0000_0000_0000_0000_0000_0000_0000u128 | rng.below_u128(1u128 << 100);
        return space::u128_to_addr(x);
    }
    let first = *rng.pick(PUBLIC_FIRST_OCTETS).unwrap_or(&193) as u32;
    let a = first << 24 | (rng.next_u64() as u32 & 0x00ff_ffff);
    IpAddr::V4(Ipv4Addr::from(a))
}

// ---------------------------------------------------------------------------------------------
// Whole estates: many devices joined by routes via each other's addresses.

/// Vendor access network, reaching the estate through the edge's `eth1` (TEST-NET-2, RFC 5737).
pub const VENDOR_NET: &str = "198.51.100.0/24";
/// The vendor's router on the edge's `eth1` link.
const VENDOR_GW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The edge's own address on the vendor link.
const VENDOR_LINK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Transit links between routers: one /30 per internal router, towards its parent.
const TRANSIT_BASE: Ipv4Addr = Ipv4Addr::new(10, 240, 0, 0);
/// Children per router in the tree.
const FANOUT: usize = 4;
/// Most devices a generated network may have (each owns a /20 of 10.0.0.0/8 below the transit
/// block at 10.240.0.0/16).
pub const MAX_DEVICES: usize = 3_840;

/// A synthetic whole estate: an edge firewall towards the Internet (and a vendor's access link),
/// and a tree of internal routers with firewalls, each guarding its own subnets of hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// One entry per device, the edge first: (name, `iptables-save`, `ip addr`, `ip route`).
    pub devices: Vec<NetDevice>,
    /// Number of rules (`-A` lines) over all devices.
    pub rules: usize,
    /// Number of hosts the rules name as services, over all subnets.
    pub hosts: usize,
    /// Number of subnets (edge DMZ included).
    pub subnets: usize,
    /// The employees' subnet (CIDR), one of the first internal router's subnets.
    pub employees: String,
    /// Every host's address, subnet by subnet.
    pub host_addrs: Vec<Ipv4Addr>,
    /// Every subnet: (its router, CIDR), the edge's DMZ first, then router by router.
    pub lans: Vec<(String, String)>,
}

/// The three exports of one device of a [`Network`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDevice {
    /// Device name (the folder of its files).
    pub name: String,
    /// `iptables-save` output.
    pub rules_v4: String,
    /// `ip addr` output.
    pub ip_addr: String,
    /// `ip route` output.
    pub ip_route: String,
}

/// One subnet of a router: its LAN interface, prefix and the hosts that run services.
#[derive(Clone, Debug)]
struct Lan {
    iface: String,
    net: Ipv4Addr,
    hosts: Vec<Ipv4Addr>,
}

impl Lan {
    fn cidr(&self) -> String {
        format!("{}/24", self.net)
    }
}

/// One device's place in the tree.
#[derive(Clone, Debug)]
struct Node {
    name: String,
    parent: Option<usize>,
    children: Vec<usize>,
    lans: Vec<Lan>,
}

/// The /20 block of device `i`.
fn block(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + ((i as u32) << 12))
}

/// The transit /30 between device `i` and its parent: parent side `.1`, child side `.2`.
fn transit(i: usize) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(TRANSIT_BASE) + 4 * i as u32;
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}

impl Network {
    /// Generate a network of `devices` devices (the edge and `devices - 1` internal routers in
    /// a tree of fan-out 4; at least 2, at most [`MAX_DEVICES`]), about `rules` rules in all
    /// (each device gets its share; at least its fixed skeleton) and `hosts` hosts spread over
    /// the subnets (up to 200 per /24; every router has at least one subnet). The same
    /// arguments always give identical text.
    pub fn generate(devices: usize, rules: usize, hosts: usize, seed: u64) -> Network {
        let n = devices.clamp(2, MAX_DEVICES);
        let mut rng = Rng::new(seed ^ 0x6e65_7477_6f72_6b00);
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                name: if i == 0 { "edge".to_string() } else { format!("r{i:04}") },
                parent: if i == 0 { None } else { Some((i - 1) / FANOUT) },
                children: Vec::new(),
                lans: Vec::new(),
            })
            .collect();
        for i in 1..n {
            let p = (i - 1) / FANOUT;
            nodes[p].children.push(i);
        }
        // Hosts: a share per internal router, a few in the edge's DMZ.
        let dmz_hosts = (hosts / 50).clamp(2, 200);
        let per_router = hosts.saturating_sub(dmz_hosts) / (n - 1);
        let mut extra = hosts.saturating_sub(dmz_hosts) % (n - 1);
        let mut total_hosts = 0;
        for (i, node) in nodes.iter_mut().enumerate() {
            let want = if i == 0 {
                dmz_hosts
            } else {
                let e = usize::from(extra > 0);
                extra = extra.saturating_sub(1);
                (per_router + e).max(1)
            };
            let nlan = want.div_ceil(200).clamp(1, 16);
            for s in 0..nlan {
                let net = offset(block(i), (s as u32) << 8);
                let count = want / nlan + usize::from(s < want % nlan);
                // Distinct host numbers 10..=249, in a scattered order.
                let mut picks: Vec<u32> = (10..250).collect();
                for k in 0..count.min(picks.len()) {
                    let j = k + rng.below((picks.len() - k) as u64) as usize;
                    picks.swap(k, j);
                }
                let mut hs: Vec<Ipv4Addr> = picks.iter().take(count).map(|&h| offset(net, h)).collect();
                hs.sort();
                total_hosts += hs.len();
                let iface = if i == 0 { format!("dmz{s}") } else { format!("lan{s}") };
                node.lans.push(Lan { iface, net, hosts: hs });
            }
        }
        let employees = nodes.get(1).and_then(|r| r.lans.first()).map_or_else(|| "10.0.16.0/24".into(), Lan::cidr);
        let all_hosts: Vec<Ipv4Addr> = nodes.iter().flat_map(|d| d.lans.iter().flat_map(|l| l.hosts.iter().copied())).collect();
        let all_lans: Vec<String> = nodes.iter().flat_map(|d| d.lans.iter().map(Lan::cidr)).collect();
        let mut partners = Vec::new();
        let mut g = Gen { rng, vlans: Vec::new(), partners: Vec::new(), blocked: Vec::new(), sites: Vec::new() };
        for _ in 0..32 {
            partners.push(g.random_public_net(16, 29));
        }
        for _ in 0..8 {
            let b = g.random_public_net(8, 24);
            g.blocked.push(b);
        }
        g.partners = partners;
        let share = rules / n;
        let mut out = Vec::with_capacity(n);
        let mut total_rules = 0;
        for i in 0..n {
            let (text, count) = net_rules(&mut g, &nodes, i, share, &all_hosts, &all_lans, &employees);
            total_rules += count;
            out.push(NetDevice {
                name: nodes[i].name.clone(),
                rules_v4: text,
                ip_addr: net_addr_text(&nodes, i, seed),
                ip_route: net_route_text(&nodes, i),
            });
        }
        let subnets = nodes.iter().map(|d| d.lans.len()).sum();
        let lans = nodes.iter().flat_map(|d| d.lans.iter().map(|l| (d.name.clone(), l.cidr()))).collect();
        Network { devices: out, rules: total_rules, hosts: total_hosts, subnets, employees, host_addrs: all_hosts, lans }
    }

    /// Every device's exports as `<device>/rules.v4`, `<device>/ip-addr`, `<device>/ip-route`.
    pub fn input_files(&self) -> Vec<InputFile> {
        let mut v = Vec::with_capacity(self.devices.len() * 3);
        for d in &self.devices {
            v.push(InputFile::new(format!("{}/rules.v4", d.name), d.rules_v4.clone()));
            v.push(InputFile::new(format!("{}/ip-addr", d.name), d.ip_addr.clone()));
            v.push(InputFile::new(format!("{}/ip-route", d.name), d.ip_route.clone()));
        }
        v
    }

    /// A Nessus v2 report of every host: one to three open TCP services each (from the
    /// services the rules name) and `findings` vulnerabilities spread over them, a fifth of
    /// them local (`AV:L`) or informational, a third with a public exploit.
    pub fn vuln_scan(&self, findings: usize, seed: u64) -> InputFile {
        let mut rng = Rng::new(seed ^ 0x6e65_7373_7573_0000);
        let mut s = String::from("<?xml version=\"1.0\" ?>\n<NessusClientData_v2>\n<Report name=\"synthetic\">\n");
        let n = self.host_addrs.len().max(1);
        let mut per_host: Vec<Vec<u16>> = Vec::with_capacity(n);
        for _ in 0..self.host_addrs.len() {
            let k = 1 + rng.below(3) as usize;
            let mut ports: Vec<u16> = (0..k).filter_map(|_| rng.pick(TCP_SERVICES).copied()).collect();
            ports.sort_unstable();
            ports.dedup();
            per_host.push(ports);
        }
        // Per host: (port, plugin id, CVSS score, local, exploit available)
        type Vuln = (u16, u32, f32, bool, bool);
        let mut vulns: Vec<Vec<Vuln>> = vec![Vec::new(); self.host_addrs.len()];
        for i in 0..findings {
            let h = rng.below(n as u64) as usize;
            let Some(ports) = per_host.get(h) else { break };
            let port = rng.pick(ports).copied().unwrap_or(443);
            let score = 4.0 + rng.below(61) as f32 / 10.0;
            let local = rng.percent(20);
            let exploit = rng.percent(33);
            if let Some(v) = vulns.get_mut(h) {
                v.push((port, 100_000 + i as u32, score, local, exploit));
            }
        }
        for (i, a) in self.host_addrs.iter().enumerate() {
            let _ = writeln!(s, "<ReportHost name=\"{a}\"><HostProperties><tag name=\"host-ip\">{a}</tag></HostProperties>");
            for &p in per_host.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                let _ = writeln!(s, "<ReportItem port=\"{p}\" svc_name=\"unknown\" protocol=\"tcp\" severity=\"0\" pluginID=\"11219\" pluginName=\"Nessus SYN scanner\" pluginFamily=\"Port scanners\"></ReportItem>");
            }
            for &(p, id, score, local, exploit) in vulns.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                let sev = if score >= 9.0 { 4 } else if score >= 7.0 { 3 } else { 2 };
                let av = if local { "L" } else { "N" };
                let _ = writeln!(
                    s,
                    "<ReportItem port=\"{p}\" svc_name=\"unknown\" protocol=\"tcp\" severity=\"{sev}\" pluginID=\"{id}\" pluginName=\"Synthetic flaw {id}\" pluginFamily=\"General\"><cve>CVE-2099-{id}</cve><cvss3_base_score>{score:.1}</cvss3_base_score><cvss3_vector>CVSS:3.1/AV:{av}/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H</cvss3_vector><exploit_available>{exploit}</exploit_available></ReportItem>"
                );
            }
            s.push_str("</ReportHost>\n");
        }
        s.push_str("</Report>\n</NessusClientData_v2>\n");
        InputFile::new("scans/synthetic.nessus", s)
    }

    /// A manifest naming `jewels` hosts (spread over the estate) as crown jewels, with the
    /// vendor's and the employees' origins of [`Network::origins`].
    pub fn attack_manifest(&self, jewels: usize) -> InputFile {
        let n = self.host_addrs.len();
        let step = (n / jewels.max(1)).max(1);
        let list: Vec<String> = self.host_addrs.iter().step_by(step).take(jewels).map(|a| a.to_string()).collect();
        let text = format!(
            "crown_jewels: [{}]\norigins:\n  - {{name: vendor, addresses: [{VENDOR_NET}], role: vendor}}\n  - {{name: employees, addresses: [{}], role: employees}}\n",
            list.join(", "),
            self.employees
        );
        InputFile::new("portolan.yaml", text)
    }

    /// A manifest with management's policy for the estate: the internal subnets in `zones`
    /// zones (`z01`…, consecutive subnets together) plus the DMZ, a zone matrix (the Internet
    /// and the vendor to the DMZ, every zone to the next two and to the Internet, some web,
    /// SSH and database services), and `assertions` entries beyond it: must-not-reach (the
    /// Internet, the vendor or the employees to a host), must-reach (a host to another's web
    /// service) and vendor scopes, in turn. Deterministic; the entries name real hosts and
    /// services of the estate, so some hold and some are violated.
    pub fn policy_manifest(&self, zones: usize, assertions: usize) -> InputFile {
        use std::fmt::Write;
        let zones = zones.max(1);
        let dmz: Vec<&String> = self.lans.iter().filter(|(d, _)| d == "edge").map(|(_, l)| l).collect();
        let internal: Vec<&String> = self.lans.iter().filter(|(d, _)| d != "edge").map(|(_, l)| l).collect();
        let per = internal.len().div_ceil(zones).max(1);
        let mut t = String::from("origins:\n");
        let _ = writeln!(t, "  - {{name: vendor, addresses: [{VENDOR_NET}], role: vendor}}");
        let _ = writeln!(t, "  - {{name: employees, addresses: [{}], role: employees}}", self.employees);
        t.push_str("zones:\n");
        if !dmz.is_empty() {
            let _ = writeln!(t, "  dmz: {{addresses: [{}]}}", dmz.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
        }
        let names: Vec<String> = internal.chunks(per).enumerate().map(|(i, _)| format!("z{:02}", i + 1)).collect();
        for (name, chunk) in names.iter().zip(internal.chunks(per)) {
            let _ = writeln!(t, "  {name}: {{addresses: [{}]}}", chunk.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
        }
        t.push_str("policy:\n  matrix:\n");
        if !dmz.is_empty() {
            t.push_str("    - {from: internet, to: dmz, allow: [tcp/80, tcp/443]}\n");
            t.push_str("    - {from: vendor, to: dmz, allow: [tcp/22]}\n");
        }
        let services = ["tcp/22", "tcp/443", "tcp/5432", "tcp/3389", "udp/53"];
        for (i, name) in names.iter().enumerate() {
            for k in 1..=2 {
                let to = &names[(i + k) % names.len()];
                if to != name {
                    let _ = writeln!(t, "    - {{from: {name}, to: {to}, allow: [{}, {}]}}", services[(i + k) % 5], services[(i + 2 * k) % 5]);
                }
            }
            let _ = writeln!(t, "    - {{from: {name}, to: internet, allow: [tcp/80, tcp/443, udp/53]}}");
        }
        let hosts = &self.host_addrs;
        let host = |i: usize| hosts.get((i * 7919) % hosts.len().max(1)).map(|a| a.to_string()).unwrap_or_else(|| "10.0.0.10".into());
        let (mut nr, mut mr, mut vs) = (String::new(), String::new(), String::new());
        for i in 0..assertions {
            match i % 4 {
                0 | 1 => {
                    let from = ["internet", "vendor", "employees"][i % 3];
                    let svc = ["any", "tcp/3389", "tcp/22", "tcp/5432"][(i / 4) % 4];
                    let _ = writeln!(nr, "    - {{id: NR{i:03}, from: {from}, to: {}, services: [{svc}]}}", host(i));
                }
                2 => {
                    let _ = writeln!(mr, "    - {{id: MR{i:03}, from: {}, to: {}, services: [tcp/443]}}", host(i + 1), host(i));
                }
                _ => {
                    let _ = writeln!(vs, "    - {{id: VS{i:03}, origin: vendor, allow: [{{to: {}, services: [tcp/22]}}]}}", host(i));
                }
            }
        }
        for (key, body) in [("must_not_reach", nr), ("must_reach", mr), ("vendor_scopes", vs)] {
            if !body.is_empty() {
                let _ = writeln!(t, "  {key}:");
                t.push_str(&body);
            }
        }
        InputFile::new("portolan.yaml", t)
    }

    /// The origins of an exposure analysis: `internet`, the vendor's access network (role
    /// `vendor`, entering at the edge's `eth1`) and the employees' subnet (role `employees`).
    pub fn origins(&self) -> Vec<crate::reach::Origin> {
        use crate::reach::Origin;
        vec![
            Origin::internet(),
            Origin { name: "vendor".into(), role: Some("vendor".into()), endpoint: VENDOR_NET.into() },
            Origin { name: "employees".into(), role: Some("employees".into()), endpoint: self.employees.clone() },
        ]
    }
}

/// Interfaces of device `i`: (name, address, prefix length).
fn net_ifaces(nodes: &[Node], i: usize) -> Vec<(String, Ipv4Addr, u8)> {
    let mut v = Vec::new();
    match nodes.get(i).and_then(|d| d.parent) {
        None => {
            v.push(("eth0".to_string(), UPLINK_ADDR, 24));
            v.push(("eth1".to_string(), VENDOR_LINK, 30));
        }
        Some(_) => v.push(("eth0".to_string(), transit(i).1, 30)),
    }
    if let Some(d) = nodes.get(i) {
        for (k, &c) in d.children.iter().enumerate() {
            v.push((format!("eth{}", k + 2), transit(c).0, 30));
        }
        for l in &d.lans {
            v.push((l.iface.clone(), offset(l.net, 1), 24));
        }
    }
    v
}

fn net_addr_text(nodes: &[Node], i: usize, seed: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000");
    let _ = writeln!(s, "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00");
    let _ = writeln!(s, "    inet 127.0.0.1/8 scope host lo");
    let _ = writeln!(s, "       valid_lft forever preferred_lft forever");
    for (k, (name, a, l)) in net_ifaces(nodes, i).iter().enumerate() {
        let _ = writeln!(s, "{}: {name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000", k + 2);
        let _ = writeln!(s, "    link/ether {} brd ff:ff:ff:ff:ff:ff", mac(seed ^ (i as u64) << 20, k));
        let bcast = Ipv4Addr::from(u32::from(*a) | u32::MAX >> l);
        let _ = writeln!(s, "    inet {a}/{l} brd {bcast} scope global {name}");
        let _ = writeln!(s, "       valid_lft forever preferred_lft forever");
    }
    s
}

/// Devices of the subtree under `i` (itself included).
fn subtree(nodes: &[Node], i: usize) -> Vec<usize> {
    let mut out = vec![i];
    let mut k = 0;
    while let Some(&d) = out.get(k) {
        if let Some(node) = nodes.get(d) {
            out.extend_from_slice(&node.children);
        }
        k += 1;
    }
    out
}

fn net_route_text(nodes: &[Node], i: usize) -> String {
    let mut s = String::new();
    let Some(d) = nodes.get(i) else { return s };
    match d.parent {
        None => {
            let _ = writeln!(s, "default via {UPLINK_GW} dev eth0 proto static");
            let _ = writeln!(s, "{VENDOR_NET} via {VENDOR_GW} dev eth1 proto static metric 100");
        }
        Some(_) => {
            let _ = writeln!(s, "default via {} dev eth0 proto static", transit(i).0);
        }
    }
    for (k, &c) in d.children.iter().enumerate() {
        let via = transit(c).1;
        for x in subtree(nodes, c) {
            let _ = writeln!(s, "{}/20 via {via} dev eth{} proto static metric 20", block(x), k + 2);
        }
    }
    for (name, a, l) in net_ifaces(nodes, i) {
        let net = Ipv4Addr::from(u32::from(a) & (u32::MAX << (32 - l)));
        let _ = writeln!(s, "{net}/{l} dev {name} proto kernel scope link src {a}");
    }
    s
}

/// The `iptables-save` text of device `i` with about `share` rules, and its rule count.
fn net_rules(
    g: &mut Gen,
    nodes: &[Node],
    i: usize,
    share: usize,
    all_hosts: &[Ipv4Addr],
    all_lans: &[String],
    employees: &str,
) -> (String, usize) {
    let Some(d) = nodes.get(i) else { return (String::new(), 0) };
    let edge = d.parent.is_none();
    let mut nat = Chains::new();
    let nat_pre = nat.declare("PREROUTING");
    nat.declare("INPUT");
    nat.declare("OUTPUT");
    let nat_post = nat.declare("POSTROUTING");
    let mut f = Chains::new();
    let input = f.declare("INPUT");
    let forward = f.declare("FORWARD");
    let _output = f.declare("OUTPUT");
    f.add(input, "-A INPUT -i lo -j ACCEPT".into());
    f.add(input, "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());
    f.add(input, "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT".into());
    f.add(input, "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT".into());
    f.add(forward, "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());
    f.add(forward, "-A FORWARD -m conntrack --ctstate INVALID -j DROP".into());
    // Chains that take the bulk of the rules: one per LAN, and on the edge one per way in.
    let mut bulk_chains: Vec<(usize, String, Vec<Ipv4Addr>)> = Vec::new();
    if edge {
        f.add(forward, "-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT".into());
        for k in 0..g.blocked.len().min(4) {
            let (bn, bl) = g.blocked[k];
            f.add(forward, format!("-A FORWARD -s {bn}/{bl} -i eth0 -j DROP"));
        }
        let inet = f.declare("inet_in");
        let vendor = f.declare("vendor_in");
        f.add(forward, "-A FORWARD -i eth0 -j inet_in".into());
        f.add(forward, "-A FORWARD -i eth1 -s 198.51.100.0/24 -j vendor_in".into());
        f.add(forward, "-A FORWARD ! -i eth0 -o eth0 -s 10.0.0.0/8 -j ACCEPT".into());
        // Published services in the DMZ.
        for h in d.lans.iter().flat_map(|l| l.hosts.iter()).take(4) {
            f.add(inet, format!("-A inet_in -d {h}/32 -p tcp -m multiport --dports 80,443 -j ACCEPT"));
        }
        bulk_chains.push((inet, "inet_in".into(), all_hosts.to_vec()));
        bulk_chains.push((vendor, "vendor_in".into(), all_hosts.to_vec()));
        let nfwd = (share / 100).clamp(1, 50);
        for k in 0..nfwd {
            let h = g.rng.pick(all_hosts).copied().unwrap_or(UPLINK_GW);
            let svc = *g.rng.pick(TCP_SERVICES).unwrap_or(&443);
            nat.add(
                nat_pre,
                format!("-A PREROUTING -d {UPLINK_ADDR}/32 -i eth0 -p tcp -m tcp --dport {} -j DNAT --to-destination {h}:{svc}", 10_000 + k),
            );
        }
        nat.add(nat_post, "-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE".into());
    } else {
        // Transit towards the routers below: their own firewalls decide.
        for k in 0..d.children.len() {
            f.add(forward, format!("-A FORWARD -o eth{} -j ACCEPT", k + 2));
        }
    }
    for l in &d.lans {
        let to = f.declare(&format!("to_{}", l.iface));
        let from = f.declare(&format!("from_{}", l.iface));
        f.add(forward, format!("-A FORWARD -o {} -j to_{}", l.iface, l.iface));
        f.add(forward, format!("-A FORWARD -i {} -j from_{}", l.iface, l.iface));
        f.add(from, format!("-A from_{} -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset", l.iface));
        f.add(from, format!("-A from_{} -s {} -j ACCEPT", l.iface, l.cidr()));
        bulk_chains.push((to, format!("to_{}", l.iface), l.hosts.clone()));
    }
    if !edge {
        f.add(forward, "-A FORWARD -i eth0 -o eth0 -j DROP".into());
    }
    let fixed = nat.count() + f.count() + bulk_chains.len();
    let bulk = share.saturating_sub(fixed);
    for _ in 0..bulk {
        let Some((c, name, targets)) = g.rng.pick(&bulk_chains).cloned() else { break };
        let dst = g.rng.pick(&targets).copied().unwrap_or(UPLINK_GW);
        let svc = *g.rng.pick(TCP_SERVICES).unwrap_or(&443);
        let src = match g.rng.below(10) {
            0..=2 => g.rng.pick(&g.partners).map_or_else(|| "0.0.0.0/0".into(), |(a, l)| format!("{a}/{l}")),
            3..=4 => g.rng.pick(all_lans).cloned().unwrap_or_else(|| "10.0.0.0/8".into()),
            5 => VENDOR_NET.to_string(),
            6 => employees.to_string(),
            _ => String::new(),
        };
        let s = if src.is_empty() { String::new() } else { format!(" -s {src}") };
        let rule = match g.rng.below(20) {
            0..=9 => format!("-A {name}{s} -d {dst}/32 -p tcp -m tcp --dport {svc} -j ACCEPT"),
            10..=11 => {
                let ports = g.rng.pick(WEB_PORTS).copied().unwrap_or("80,443");
                format!("-A {name}{s} -d {dst}/32 -p tcp -m multiport --dports {ports} -j ACCEPT")
            }
            12..=13 => {
                let udp = *g.rng.pick(UDP_SERVICES).unwrap_or(&53);
                format!("-A {name}{s} -d {dst}/32 -p udp -m udp --dport {udp} -j ACCEPT")
            }
            14 => format!("-A {name}{s} -d {dst}/32 -p icmp -m icmp --icmp-type 8 -j ACCEPT"),
            15 => {
                let (lo, hi) = *g.rng.pick(PORT_RANGES).unwrap_or(&(1024, 65535));
                format!("-A {name}{s} -d {dst}/32 -p tcp -m tcp --dport {lo}:{hi} -j ACCEPT")
            }
            16..=17 => format!("-A {name}{s} -d {dst}/32 -p tcp -m tcp --dport {svc} -j DROP"),
            18 => format!("-A {name}{s} -d {dst}/32 -p tcp -m tcp --dport {svc} -j REJECT --reject-with icmp-port-unreachable"),
            _ => format!("-A {name}{s} -d {dst}/32 -p tcp -m tcp --dport {svc} -m conntrack --ctstate NEW -j ACCEPT"),
        };
        f.add(c, rule);
    }
    for (c, name, _) in &bulk_chains {
        f.add(*c, format!("-A {name} -j RETURN"));
    }
    let mut ipt = String::new();
    let stamp = "Mon Jan  6 09:00:00 2025";
    let mut emit = |table: &str, chains: &Chains, builtin: &[(&str, &str)]| {
        let _ = writeln!(ipt, "# Generated by iptables-save v1.8.9 on {stamp}");
        let _ = writeln!(ipt, "*{table}");
        for name in &chains.order {
            let policy = builtin.iter().find(|(b, _)| b == name).map_or("-", |(_, p)| *p);
            let _ = writeln!(ipt, ":{name} {policy} [0:0]");
        }
        for rs in &chains.rules {
            for r in rs {
                ipt.push_str(r);
                ipt.push('\n');
            }
        }
        let _ = writeln!(ipt, "COMMIT");
        let _ = writeln!(ipt, "# Completed on {stamp}");
    };
    emit("nat", &nat, &[("PREROUTING", "ACCEPT"), ("INPUT", "ACCEPT"), ("OUTPUT", "ACCEPT"), ("POSTROUTING", "ACCEPT")]);
    emit("filter", &f, &[("INPUT", "DROP"), ("FORWARD", "DROP"), ("OUTPUT", "ACCEPT")]);
    (ipt, nat.count() + f.count())
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::reach::Analyzer;
    use crate::report::{ParseReport, Verdict};

    fn assert_clean(estate: &Estate) -> Workspace {
        let ws = Workspace::load(estate.input_files());
        let rep = ParseReport::build(&ws);
        for input in &rep.inputs {
            assert!(input.diagnostics.is_empty(), "{}: {:?}", input.path, &input.diagnostics[..input.diagnostics.len().min(5)]);
            assert_eq!(input.lines.unrecognized, 0, "{}", input.path);
        }
        assert_eq!(rep.devices.len(), 1);
        let dev = &rep.devices[0];
        assert_eq!(dev.rules, estate.rules);
        assert_eq!(dev.unknown_rules, 0);
        assert_eq!(dev.interfaces.len(), estate.vlans + 4);
        ws
    }

    #[test]
    fn estates_parse_without_diagnostics() {
        for (n, seed) in [(100, 1), (1_000, 2), (10_000, 3)] {
            let e = Estate::generate(n, seed);
            assert_eq!(e.rules, n, "rule count for {n}");
            assert_eq!(e.iptables_save.lines().filter(|l| l.starts_with("-A ")).count(), n);
            assert_clean(&e);
        }
    }

    #[test]
    fn estates_use_every_construct() {
        let e = Estate::generate(2_000, 11);
        for needle in [
            " -m multiport --dports ",
            " --ctstate RELATED,ESTABLISHED ",
            " --ctstate NEW ",
            " -j DNAT --to-destination ",
            " -j MASQUERADE",
            " -j LOG --log-prefix ",
            " -j REJECT --reject-with ",
            " -g from_vlan",
            " -m comment --comment ",
            " --dport 1",
            ":",
        ] {
            assert!(e.iptables_save.contains(needle), "missing {needle:?}");
        }
        assert!(e.ip_route.starts_with("default via "));
        assert!(e.ip_addr.contains("eth1.100@eth1"));
    }

    #[test]
    fn same_seed_same_output() {
        let a = Estate::generate(3_000, 42);
        let b = Estate::generate(3_000, 42);
        assert_eq!(a, b);
        let c = Estate::generate(3_000, 43);
        assert_ne!(a.iptables_save, c.iptables_save);
        let ws = Workspace::load(a.input_files());
        assert_eq!(flows_csv(&flows_for(&ws, 500, 9)), flows_csv(&flows_for(&ws, 500, 9)));
        assert_ne!(flows_for(&ws, 500, 9), flows_for(&ws, 500, 10));
    }

    #[test]
    fn flows_hit_rules_with_both_verdicts() {
        let e = Estate::generate(1_000, 5);
        let ws = assert_clean(&e);
        let flows = flows_for(&ws, 300, 5);
        assert_eq!(flows.len(), 300);
        let csv = flows_csv(&flows);
        assert_eq!(csv.lines().count(), 301);
        let an = Analyzer::new(&ws);
        let (mut allowed, mut denied, mut deciding_rule) = (0, 0, 0);
        for f in &flows {
            let r = an.flow(&f.src.to_string(), &f.dst.to_string(), &f.proto, &f.port, None).expect("flow evaluates");
            match r.verdict {
                Verdict::Allowed => allowed += 1,
                Verdict::Denied => denied += 1,
                Verdict::Possibly => {}
            }
            if r.hops.iter().any(|h| h.rule.as_ref().is_some_and(|x| x.line > 0)) {
                deciding_rule += 1;
            }
        }
        assert!(allowed >= 30, "allowed {allowed} of 300");
        assert!(denied >= 30, "denied {denied} of 300");
        assert!(deciding_rule >= 200, "{deciding_rule} of 300 decided by a written rule");
    }

    #[test]
    fn rng_is_uniform_enough_and_bounded() {
        let mut r = Rng::new(0);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let x = r.below(10) as usize;
            buckets[x] += 1;
        }
        assert!(buckets.iter().all(|&b| (800..1200).contains(&b)), "{buckets:?}");
        assert_eq!(r.between(5, 5), 5);
        assert_eq!(r.below(0), 0);
        assert!(r.pick::<u8>(&[]).is_none());
    }

    #[test]
    fn networks_parse_clean_and_repeat() {
        let net = Network::generate(12, 1_200, 300, 4);
        assert_eq!(net.devices.len(), 12);
        assert!(net.hosts >= 290, "{} hosts", net.hosts);
        let files = net.input_files();
        assert_eq!(files.len(), 36);
        assert!(files.iter().any(|f| f.path == "r0001/rules.v4"));
        let ws = Workspace::load(files);
        let rep = ParseReport::build(&ws);
        for input in &rep.inputs {
            assert!(input.diagnostics.is_empty(), "{}: {:?}", input.path, &input.diagnostics[..input.diagnostics.len().min(5)]);
            assert_eq!(input.lines.unrecognized, 0, "{}", input.path);
        }
        assert_eq!(rep.devices.len(), 12);
        assert_eq!(rep.devices.iter().map(|d| d.rules).sum::<usize>(), net.rules);
        assert!(rep.devices.iter().all(|d| d.unknown_rules == 0));
        assert!((1_100..=1_400).contains(&net.rules), "{} rules", net.rules);
        assert_eq!(net, Network::generate(12, 1_200, 300, 4));
        assert_ne!(net, Network::generate(12, 1_200, 300, 5));
    }

    #[test]
    fn network_exposure_finds_internet_exposures() {
        let net = Network::generate(6, 400, 60, 1);
        let ws = Workspace::load(net.input_files());
        let an = Analyzer::new(&ws);
        let rep = an.exposure(&net.origins());
        assert_eq!(rep.origins.len(), 3);
        for o in &rep.origins {
            assert!(o.error.is_none(), "{}: {:?}", o.name, o.error);
        }
        let inet = rep.exposures.iter().filter(|e| e.origin == "internet").count();
        assert!(inet >= 1, "no exposure from the internet");
        assert_eq!(rep.origins[0].exposures, inet);
        // The vendor enters at the edge and reaches more than the internet's published services.
        assert!(rep.exposures.iter().any(|e| e.origin == "vendor"), "no exposure from the vendor");
        assert!(rep.exposures.iter().any(|e| e.origin == "employees"), "no exposure from employees");
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    /// The generated policy reads without a diagnostic, names its zones and entries, and the
    /// check finds entries that hold and entries that are violated, each checked.
    #[test]
    fn policy_manifest_loads_and_checks() {
        let net = Network::generate(12, 1_200, 120, 1);
        let mut files = net.input_files();
        files.push(net.policy_manifest(4, 16));
        let ws = crate::Workspace::load(files);
        let m = ws.files.iter().find(|f| f.path == "portolan.yaml").unwrap();
        assert!(m.parsed.diags.is_empty(), "{:#?}", m.parsed.diags);
        let man = ws.manifest.as_ref().unwrap();
        assert_eq!(man.zones.len(), 5, "four zones and the DMZ");
        let an = crate::reach::Analyzer::new(&ws);
        let rep = crate::policy::check(&an);
        let ids: Vec<&str> = rep.entries.iter().map(|e| e.id.as_str()).filter(|id| !id.starts_with("matrix:")).collect();
        assert_eq!(ids.len(), 16, "{ids:?}");
        assert!(rep.entries.iter().all(|e| e.status != "not checked"), "{:#?}", rep.entries.iter().filter(|e| e.status == "not checked").collect::<Vec<_>>());
        assert!(rep.entries.iter().any(|e| e.status == "holds"));
        assert!(rep.entries.iter().any(|e| e.status.contains("violated")));
        assert!(rep.entries.iter().any(|e| e.id.starts_with("matrix:")));
        // Every kind of violation describes its whole violating set.
        for kind in ["matrix", "must-not-reach", "vendor-scope"] {
            assert!(rep.violations.iter().any(|v| v.kind == kind), "no {kind} violation");
        }
        assert!(rep.violations.iter().all(|v| !v.set.is_empty()), "{:#?}", rep.violations.iter().find(|v| v.set.is_empty()));
    }
}
