"""Whole-network runs of the kernel differential test (scenarios in networks.py).

For each scenario this builds one namespace per router and per host namespace, wires them with
veth pairs, loads every router's ruleset (iptables-legacy-restore in one run, iptables-nft-restore
in another), opens real flows from the origins' source addresses to every router and estate host
address (and to the broadcast address of every router subnet), and compares with Portolan given
every router's ruleset plus its `ip addr` and `ip route` dumps, one folder per router:

  1. `portolan query --flows`: the verdict of every probed flow must equal the kernel's.
  2. `portolan analyze --format json --from ORIGIN...`: on the probed set, the exposure list must
     equal the kernel's. Every flow the kernel allows from an origin is covered by a definite
     exposure of that origin (same address or a range holding it, same protocol, the port in its
     ports, the source in its `from`); every exposure covering a probed address, protocol and port
     is definite and the kernel allows that service from at least one probed source of the origin
     inside the exposure's `from`.

For an origin whose traffic may enter at several routers (a scenario's entry_ambiguity), a
`possibly` answer naming those routers ("may enter at A or B") is accepted for its flows and
counted apart; possible exposures may cover what the kernel allows, and are accepted when they
name the ambiguity. Definite answers must still equal the kernel's.

run.py drives these runs next to the single-firewall ones and adds them to its tally. This module
keeps its own registry of labs for cleanup; run.py shares its STOP event and KEEP flag.
"""

import csv
import io
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT = HERE / "agent.py"
RULESETS = HERE / "rulesets"

sys.path.insert(0, str(HERE))
from networks import NETWORKS  # noqa: E402

KEEP = False
STOP = threading.Event()  # run.py replaces it with its own
_LABS = set()
_LABS_LOCK = threading.Lock()

# Ports probed besides those the rulesets name: services no rule mentions.
EXTRA_PORTS = {"tcp": {21, 3389, 9000}, "udp": {9001}}
ICMP_ECHO = 8
# What the `internet` origin leaves out besides the estate (as Portolan does: RFC 6890).
NOT_INTERNET = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4")]


def sh(args, input_text=None, check=True, timeout=30):
    """Run a command; return stdout. Raises with stderr on failure when check."""
    proc = subprocess.run(args, input=input_text, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (
            proc.returncode, " ".join(shlex.quote(a) for a in args), proc.stderr.strip()))
    return proc.stdout


def _ip(cidr):
    return cidr.split("/")[0]


def cleanup_all():
    with _LABS_LOCK:
        labs = list(_LABS)
    for lab in labs:
        lab.teardown()


# ---------------------------------------------------------------------------------------------
# Topology
# ---------------------------------------------------------------------------------------------

class Topology:
    """Addresses and interfaces of one scenario, derived from its description."""

    def __init__(self, sc):
        self.sc = sc
        self.routers = list(sc["routers"])
        self.hosts = list(sc["hosts"])
        self.roles = self.routers + self.hosts
        self.ifaces = {r: {} for r in self.roles}  # role -> iface -> [cidrs]
        for a, b in sc["links"]:
            for ns, iface, addrs in (a, b):
                if ns not in self.ifaces:
                    raise ValueError("%s: link end in unknown namespace %s" % (sc["name"], ns))
                self.ifaces[ns][iface] = list(addrs)
        self.lo = {r: list(sc["hosts"].get(r, {}).get("lo", [])) for r in self.roles}
        self.owner = {}
        for role in self.roles:
            for a in self.addrs(role):
                if a in self.owner:
                    raise ValueError("%s: address %s twice" % (sc["name"], a))
                self.owner[a] = role
        self.sources = []
        for srcs in sc["origins"].values():
            for s in srcs:
                if s not in self.owner:
                    raise ValueError("%s: origin source %s is in no namespace" % (sc["name"], s))
                if s not in self.sources:
                    self.sources.append(s)
        self.check_origins()
        self.targets = [a for role in self.roles
                        if role in sc["routers"] or sc["hosts"][role].get("estate")
                        for a in self.addrs(role)]
        # Broadcast addresses of the routers' IPv4 subnets (/30 or shorter): the router that
        # owns the subnet delivers packets to them to itself instead of forwarding them.
        self.broadcasts = {}  # address -> (router, interface, network)
        for r in self.routers:
            for iface, cidrs in self.ifaces[r].items():
                for c in cidrs:
                    n = ipaddress.ip_network(c, strict=False)
                    if n.version == 4 and n.prefixlen <= 30:
                        self.broadcasts.setdefault(str(n.broadcast_address), (r, iface, n))
        for origin, routers in sc.get("entry_ambiguity", {}).items():
            if origin not in sc["origins"] or not set(routers) <= set(self.routers):
                raise ValueError("%s: entry_ambiguity %s: %s" % (sc["name"], origin, routers))

    def check_origins(self):
        """Each origin's probe sources must be what Portolan takes the origin to be: `internet`
        is every address outside the estate (router subnets and routed prefixes) and outside
        the private and special-purpose ranges; any other origin is an address or a CIDR."""
        estate = [ipaddress.ip_network(c, strict=False)
                  for r in self.routers for cidrs in self.ifaces[r].values() for c in cidrs]
        for r in self.routers:
            for route in self.sc["routers"][r].get("routes", []):
                dst = route.split()[0]
                if dst != "default":
                    estate.append(ipaddress.ip_network(dst, strict=False))
        for origin, sources in self.sc["origins"].items():
            for s in sources:
                a = ipaddress.ip_address(s)
                if origin == "internet":
                    bad = [n for n in estate + NOT_INTERNET if a in n]
                    if bad:
                        raise ValueError("%s: internet source %s is inside %s"
                                         % (self.sc["name"], s, bad[0]))
                elif a not in ipaddress.ip_network(origin, strict=False):
                    raise ValueError("%s: source %s is outside origin %s"
                                     % (self.sc["name"], s, origin))

    def addrs(self, role):
        return [_ip(a) for cidrs in self.ifaces[role].values() for a in cidrs] + \
            [_ip(a) for a in self.lo[role]]

    def name_of(self, addr):
        n = self.sc.get("names", {}).get(addr)
        if not n and addr in self.broadcasts:
            r, iface, _ = self.broadcasts[addr]
            n = "broadcast of %s %s" % (r, iface)
        return "%s (%s)" % (addr, n) if n else addr

    def on_subnet(self, role, net):
        """True if the namespace has an interface address inside `net` (it would send to that
        subnet's broadcast address as a broadcast of its own link)."""
        return any(ipaddress.ip_address(_ip(c)) in net
                   for cidrs in self.ifaces[role].values() for c in cidrs)


# ---------------------------------------------------------------------------------------------
# Namespaces
# ---------------------------------------------------------------------------------------------

class NetLab:
    """The namespaces of one network run."""

    def __init__(self, prefix, topo):
        self.topo = topo
        self.ns = {role: prefix + role for role in topo.roles}
        self.created = []
        self.servers = []
        self.lock = threading.Lock()
        self.torn_down = False
        if STOP.is_set():
            raise RuntimeError("interrupted")
        with _LABS_LOCK:
            _LABS.add(self)

    def _track(self, proc):
        with self.lock:
            if not self.torn_down:
                self.servers.append(proc)
                return
        proc.kill()
        raise RuntimeError("lab torn down (interrupted)")

    def sysctl(self, role, settings):
        script = "set -e\n" + "".join(
            "echo %s > /proc/sys/%s\n" % (shlex.quote(v), k.replace(".", "/"))
            for k, v in (kv.split("=", 1) for kv in settings))
        sh(["ip", "netns", "exec", self.ns[role], "/bin/sh", "-c", script])

    def build(self):
        topo = self.topo
        for role in topo.roles:
            sh(["ip", "netns", "add", self.ns[role]])
            with self.lock:
                if not self.torn_down:
                    self.created.append(self.ns[role])
                    continue
            sh(["ip", "netns", "del", self.ns[role]], check=False)
            raise RuntimeError("lab torn down (interrupted)")
        for role in topo.roles:
            router = role in topo.sc["routers"]
            settings = ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                        "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_echo_ignore_all=0",
                        "net.ipv4.icmp_echo_ignore_broadcasts=1",
                        "net.ipv4.ip_forward=%d" % (1 if router else 0),
                        "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0"]
            if not router:
                settings.append("net.ipv4.ip_local_port_range=50000 60999")
            self.sysctl(role, settings)
        # Links: created from their first end, the peer moved into the other namespace.
        for (na, ia, _), (nb, ib, _) in topo.sc["links"]:
            sh(["ip", "-n", self.ns[na], "link", "add", ia, "type", "veth", "peer", "name", ib,
                "netns", self.ns[nb]])
        for role in topo.roles:
            batch = ["link set lo up"]
            for iface, addrs in topo.ifaces[role].items():
                for a in addrs:
                    batch.append("addr add %s dev %s" % (a, iface))
                batch.append("link set %s up" % iface)
            for a in topo.lo[role]:
                batch.append("addr add %s dev lo" % a)
            sh(["ip", "-n", self.ns[role], "-batch", "-"], "\n".join(batch) + "\n")
        for role in topo.roles:
            spec = topo.sc["routers"].get(role) or topo.sc["hosts"].get(role)
            batch = ["route add %s" % r for r in spec.get("routes", [])]
            if batch:
                sh(["ip", "-n", self.ns[role], "-batch", "-"], "\n".join(batch) + "\n")
            self.sysctl(role, ["net.ipv4.conf.%s.rp_filter=0" % i
                               for i in ["lo"] + list(topo.ifaces[role])])

    def start_servers(self, tcp_ports, udp_ports):
        """Listeners in every namespace; each pokes its link peers so ARP is resolved."""
        topo = self.topo
        pokes = {role: [] for role in topo.roles}
        for (na, ia, _), (nb, ib, _) in topo.sc["links"]:
            for me, peer, peer_if in ((na, nb, ib), (nb, na, ia)):
                pokes[me] += [["", _ip(a)] for a in topo.ifaces[peer][peer_if]]
        procs = []
        for role in topo.roles:
            spec = {"tcp": sorted(tcp_ports), "udp": sorted(udp_ports),
                    "addrs": topo.addrs(role), "poke": pokes[role]}
            p = subprocess.Popen(["ip", "netns", "exec", self.ns[role], sys.executable,
                                  str(AGENT), "serve"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            self._track(p)
            p.stdin.write(json.dumps(spec))
            p.stdin.close()
            procs.append((role, p))
        for role, p in procs:
            line = p.stdout.readline()
            if line.strip() != "ready":
                err = p.stderr.read() if p.poll() is not None else ""
                raise RuntimeError("listeners in %s did not start: %s %s" % (role, line, err))
        self.pokes = pokes

    def wait_neighbours(self):
        deadline = time.monotonic() + 2.0
        pending = {r for r in self.topo.roles if self.pokes[r]}
        while pending and time.monotonic() < deadline:
            for role in list(pending):
                out = sh(["ip", "-n", self.ns[role], "neigh", "show"], check=False)
                known = {line.split()[0] for line in out.splitlines() if " lladdr " in line}
                if all(dst in known for _, dst in self.pokes[role]):
                    pending.discard(role)
            time.sleep(0.05)

    def load(self, router, backend, text):
        sh(["ip", "netns", "exec", self.ns[router], "iptables-%s-restore" % backend], text)

    def save(self, router, backend):
        return sh(["ip", "netns", "exec", self.ns[router], "iptables-%s-save" % backend])

    def dump_ip(self, router, json_format):
        j = ["-j"] if json_format else []
        return (sh(["ip", "-n", self.ns[router]] + j + ["addr"]),
                sh(["ip", "-n", self.ns[router]] + j + ["route"]))

    def probe(self, flows, timeout, workers=128):
        by_role = {}
        for f in flows:
            by_role.setdefault(self.topo.owner[f["src"]], []).append(f)
        procs = []
        for role, fl in by_role.items():
            p = subprocess.Popen(["ip", "netns", "exec", self.ns[role], sys.executable,
                                  str(AGENT), "probe"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            self._track(p)
            p.stdin.write(json.dumps({"timeout": timeout, "workers": workers, "flows": fl}))
            p.stdin.close()
            procs.append(p)
        results = {}
        limit = 30 + timeout * len(flows)
        for p in procs:
            out = p.stdout.read()
            p.wait(timeout=limit)
            if p.returncode != 0:
                raise RuntimeError("probe failed: %s" % p.stderr.read())
            for line in out.splitlines():
                r = json.loads(line)
                results[r["id"]] = (r["ok"], r["why"])
        return results

    def teardown(self):
        with self.lock:
            if self.torn_down:
                return
            self.torn_down = True
            servers = list(self.servers)
        with _LABS_LOCK:
            _LABS.discard(self)
        if KEEP:
            print("  kept namespaces %s (listener pids %s); remove with: "
                  "for n in %s; do ip netns pids $n | xargs -r kill; ip netns del $n; done"
                  % (" ".join(self.created), " ".join(str(p.pid) for p in servers),
                     " ".join(self.created)), flush=True)
            return
        for p in servers:
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
        for p in servers:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for ns in self.created:
            for pid in sh(["ip", "netns", "pids", ns], check=False).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            sh(["ip", "netns", "del", ns], check=False)


# ---------------------------------------------------------------------------------------------
# Flows
# ---------------------------------------------------------------------------------------------

PORT_OPTS = re.compile(r"--(?:dport|dports|destination-port|destination-ports)\s+(\S+)")
TO_DST = re.compile(r"--to-destination\s+(\S+)")
PROTO = re.compile(r"(?:^|\s)(?:-p|--protocol)\s+(\S+)")
DST = re.compile(r"(?:^|\s)(!\s+)?(?:-d|--destination|--dst)\s+(\S+)")
JUMP = re.compile(r"(?:^|\s)(?:-j|--jump)\s+(\S+)")


def _port_items(spec):
    out = []
    for part in spec.replace("-", ":").split(","):
        if ":" in part:
            lo, hi = part.split(":", 1)
            out.append((int(lo or 0), int(hi or 65535)))
        elif part:
            out.append((int(part), int(part)))
    return out


def service_ports(rule_texts, named_only=False):
    """Ports worth probing per protocol: every port the rules name (destination ports and port
    forward targets), and unless named_only the port after each (one no rule names) and
    EXTRA_PORTS."""
    ports = {"tcp": set(), "udp": set()} if named_only else \
        {"tcp": set(EXTRA_PORTS["tcp"]), "udp": set(EXTRA_PORTS["udp"])}
    for text in rule_texts:
        for line in text.splitlines():
            line = line.strip()
            if not line.startswith("-A "):
                continue
            m = PROTO.search(line)
            proto = m.group(1).lower() if m else ""
            protos = [proto] if proto in ports else ([] if proto else list(ports))
            values = []
            for m in PORT_OPTS.finditer(line):
                for lo, hi in _port_items(m.group(1)):
                    values += [lo, hi] + ([] if named_only else [hi + 1])
            m = TO_DST.search(line)
            if m and ":" in m.group(1):
                for lo, hi in _port_items(m.group(1).split(":", 1)[1]):
                    values += [lo, hi]
            for pr in protos:
                ports[pr].update(v for v in values if 0 < v < 40000)
    return ports


def tcp_ports_towards(rule_texts, net):
    """The TCP ports of the ACCEPT and DNAT rules whose destination may lie in `net`: rules
    without a destination address, rules whose destination overlaps it, port forwards into it
    (the translated port where the forward names one)."""
    ports = set()
    for text in rule_texts:
        for line in text.splitlines():
            line = line.strip()
            m = PROTO.search(line)
            j = JUMP.search(line)
            if not line.startswith("-A ") or not m or m.group(1).lower() != "tcp" or not j \
                    or j.group(1) not in ("ACCEPT", "DNAT"):
                continue
            values = [v for spec in PORT_OPTS.findall(line)
                      for item in _port_items(spec) for v in item]
            to = TO_DST.search(line)
            if to:
                addr, _, port = to.group(1).partition(":")
                lo, _, hi = addr.partition("-")
                if not any(ipaddress.ip_address(a) in net for a in (lo, hi or lo)):
                    continue
                if port:
                    values = [v for item in _port_items(port) for v in item]
            else:
                d = DST.search(line)
                if d and not d.group(1) and \
                        not ipaddress.ip_network(d.group(2), strict=False).overlaps(net):
                    continue
            ports.update(v for v in values if 0 < v < 65536)
    return ports


def make_flows(topo, ports, rule_texts=()):
    """Inbound flows (every origin source to every target, every service), flows to the
    routers' subnet broadcast addresses (ICMP echo and the TCP ports of the rules towards the
    subnet, from every source not on it) and the scenario's outbound flows."""
    services = ([("tcp", p) for p in sorted(ports["tcp"])]
                + [("udp", p) for p in sorted(ports["udp"])] + [("icmp", 0)])
    flows = []
    for src in topo.sources:
        for dst in topo.targets:
            for proto, port in services:
                flows.append({"src": src, "dst": dst, "proto": proto, "port": port,
                              "kind": "inbound"})
    for dst, (_, _, net) in sorted(topo.broadcasts.items()):
        towards = [("tcp", p) for p in sorted(tcp_ports_towards(rule_texts, net))] + \
            [("icmp", 0)]
        for src in topo.sources:
            if topo.on_subnet(topo.owner[src], net):
                continue
            for proto, port in towards:
                flows.append({"src": src, "dst": dst, "proto": proto, "port": port,
                              "kind": "inbound", "broadcast": True})
    out = topo.sc.get("outbound")
    if out:
        for src in out["from"]:
            for dst in out["to"]:
                for proto, port in out["services"]:
                    flows.append({"src": src, "dst": dst, "proto": proto, "port": port,
                                  "kind": "outbound"})
    for f in flows:
        for a in (f["src"], f["dst"]):
            if a not in topo.owner and not (a == f["dst"] and a in topo.broadcasts):
                raise ValueError("%s: flow address %s is in no namespace" % (topo.sc["name"], a))
    for n, f in enumerate(flows):
        f["id"] = n
    return flows


def flows_csv(flows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["src", "dst", "proto", "port"])
    for f in flows:
        w.writerow([f["src"], f["dst"], f["proto"],
                    "echo-request" if f["proto"] == "icmp" else f["port"]])
    return buf.getvalue()


def flow_str(topo, f):
    s = "%s -> %s %s" % (topo.name_of(f["src"]), topo.name_of(f["dst"]), f["proto"])
    if f["proto"] != "icmp":
        s += "/%s" % f["port"]
    return s


# ---------------------------------------------------------------------------------------------
# Exposures
# ---------------------------------------------------------------------------------------------

def parse_addr_set(text):
    """An exposure's `ip` or `from` as a list of (lo, hi) integer ranges; None when the text
    does not name the whole set (an origin name, or "... and N more ranges")."""
    if not text or "more ranges" in text:
        return None
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            if part == "any":
                out.append((0, 2 ** 32 - 1))
            elif "-" in part:
                lo, hi = part.split("-", 1)
                out.append((int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi))))
            elif "/" in part:
                n = ipaddress.ip_network(part, strict=False)
                out.append((int(n.network_address), int(n.broadcast_address)))
            else:
                a = int(ipaddress.ip_address(part))
                out.append((a, a))
        except ValueError:
            return None
    return out


def in_set(ranges, addr):
    a = int(ipaddress.ip_address(addr))
    return any(lo <= a <= hi for lo, hi in ranges)


def ports_cover(ports, port):
    if ports == "any":
        return True
    for part in str(ports).split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = part.split("-", 1)
                if int(lo) <= port <= int(hi):
                    return True
            elif part and int(part) == port:
                return True
        except ValueError:
            return False
    return False


def exposure_covers(e, dst, proto, port):
    """Does the exposure name this destination address, protocol and port (ICMP: echo)?"""
    ips = parse_addr_set(e.get("ip", ""))
    if ips is None or not in_set(ips, dst):
        return False
    if e.get("proto") != proto:
        return False
    return ports_cover(e.get("ports", ""), ICMP_ECHO if proto == "icmp" else port)


def exposure_sources(e, origin_sources):
    """The probed sources of the origin that the exposure's `from` holds."""
    frm = e.get("from", "")
    if frm == e.get("origin"):
        return list(origin_sources)
    ranges = parse_addr_set(frm)
    if ranges is None:
        return list(origin_sources)
    return [s for s in origin_sources if in_set(ranges, s)]


def exposure_str(e):
    return "%s -> %s %s/%s from %s, %s%s" % (
        e.get("origin"), e.get("ip"), e.get("proto"), e.get("ports"), e.get("from"),
        e.get("certainty"), " (%s)" % e["host"] if e.get("host") else "")


def hop_str(h):
    rule = h.get("rule") or {}
    nat = ", ".join("%s %s -> %s" % (n.get("kind"), n.get("from", ""), n.get("to", ""))
                    for n in h.get("nat") or [])
    return "%s %s %s->%s %s: %s %s:%s %s%s" % (
        h.get("device"), h.get("direction"), h.get("in_iface") or "-",
        h.get("out_iface") or "-", h.get("outcome"), rule.get("action", ""),
        "/".join(Path(rule.get("file", "")).parts[-2:]), rule.get("line", ""), rule.get("text", ""),
        " [nat %s]" % nat if nat else "")


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------

class NetRun:
    def __init__(self, sc, backend, ip_json, mutation=None):
        self.scenario = sc
        self.topo = Topology(sc)
        self.backend = backend
        self.ip_json = ip_json
        self.mutation = mutation  # (router, kind, rule)
        what = "" if not mutation else " mutation %s (%s %s)" % (
            sc["mutations"].index(mutation) + 1, mutation[0], mutation[1])
        self.label = "%s %s%s" % (sc["name"], backend, what)
        self.rules = {}
        self.flows = []
        self.kernel = {}
        self.query = []
        self.analyze = None
        self.error = None
        self.messages = []
        self.seconds = 0.0
        self.rechecked = 0


def plan(args, mutate):
    """The network runs selected by the command line: each scenario with both backends (rules
    from the committed files for legacy, from iptables-nft-save for nft; ip dumps as text or
    JSON, alternating), then its mutations."""
    if args.ruleset:
        return []
    backends = [args.backend] if args.backend else ["legacy", "nft"]
    runs = []
    for si, sc in enumerate(NETWORKS):
        if args.only and args.only not in sc["name"]:
            continue
        rules = {r: (RULESETS / sc["name"] / ("%s.v4" % r)).read_text() for r in sc["routers"]}
        # --quick: only the ports the rules name.
        flows = make_flows(Topology(sc), service_ports(rules.values(), named_only=args.quick),
                           rules.values())
        for bi, backend in enumerate(backends):
            run = NetRun(sc, backend, (si + bi) % 2 == 1)
            run.rules = dict(rules)
            run.flows = flows
            runs.append(run)
        if args.no_mutations:
            continue
        mutations = sc.get("mutations", [])
        if args.quick:
            mutations = mutations[:1]
        for mi, m in enumerate(mutations):
            router, kind, rule = m
            backend = backends[mi % len(backends)]
            run = NetRun(sc, backend, (si + mi) % 2 == 0, mutation=m)
            run.rules = dict(rules)
            run.rules[router] = mutate(rules[router], kind, rule)
            run.flows = flows
            runs.append(run)
    return runs


def run_portolan(binary, run, workdir, netdir):
    csv_path = workdir / "flows.csv"
    csv_path.write_text(flows_csv(run.flows))
    proc = subprocess.run([str(binary), "query", "--flows", str(csv_path), str(netdir)],
                          capture_output=True, text=True, timeout=300)
    rows = []
    for line in proc.stdout.splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                rows.append({"verdict": "unparsable", "raw": line})
    run.query = rows
    if proc.returncode != 0 or len(rows) != len(run.flows):
        run.messages.append("portolan query exited %d with %d of %d lines: %s"
                            % (proc.returncode, len(rows), len(run.flows),
                               proc.stderr.strip()[:2000]))
    cmd = [str(binary), "analyze", "--format", "json"]
    for origin in run.scenario["origins"]:
        cmd += ["--from", origin]
    proc = subprocess.run(cmd + [str(netdir)], capture_output=True, text=True, timeout=300)
    try:
        run.analyze = json.loads(proc.stdout)
    except json.JSONDecodeError:
        run.analyze = None
    if proc.returncode != 0 or run.analyze is None:
        run.messages.append("portolan analyze exited %d: %s"
                            % (proc.returncode, proc.stderr.strip()[:2000]))
        return
    for o in run.analyze.get("origins", []):
        if o.get("error"):
            run.messages.append("portolan analyze: origin %s: %s" % (o.get("name"), o["error"]))
    for i in run.analyze.get("inputs", []):
        if i.get("status") != "ok":
            run.messages.append("portolan input %s: %s %s" % (
                i.get("path"), i.get("status"),
                "; ".join("line %s: %s" % (d.get("line"), d.get("text"))
                          for d in (i.get("diagnostics") or [])[:5])))


def query_row(run, f):
    if f["id"] < len(run.query):
        return run.query[f["id"]]
    return {"verdict": "missing"}


def kernel_verdict(run, f):
    r = run.kernel.get(f["id"])
    if r is None or r[0] is None:
        return "probe-error"
    return "allowed" if r[0] else "denied"


def exposures_of(run, origin):
    if not run.analyze:
        return []
    return [e for e in run.analyze.get("exposures", []) if e.get("origin") == origin]


ENTERS = re.compile(r"may enter at (.+?):")


def ambiguous_routers(run, src):
    """The routers the scenario says `src`'s traffic may enter at (entry_ambiguity), or None."""
    for origin, routers in run.scenario.get("entry_ambiguity", {}).items():
        if src in run.scenario["origins"].get(origin, []):
            return set(routers)
    return None


def entry_note(uncertain, routers):
    """The note of `uncertain` that names exactly these routers as possible entry points."""
    for u in uncertain or []:
        m = ENTERS.search(str(u))
        if m and set(m.group(1).split(" or ")) == routers:
            return u
    return None


def ambiguity_accepted(run, f, row):
    """A `possibly` answer for a flow whose source may enter at several routers, naming them:
    the comparison rule of scenarios with entry_ambiguity accepts it whatever the kernel did."""
    routers = ambiguous_routers(run, f["src"])
    if routers is None or row.get("verdict") != "possibly":
        return None
    return entry_note(row.get("uncertain"), routers)


def exposure_claims(run, f):
    """True if some definite exposure of an origin holding the flow's source covers it."""
    if f["kind"] != "inbound":
        return False
    for origin, sources in run.scenario["origins"].items():
        if f["src"] not in sources:
            continue
        for e in exposures_of(run, origin):
            if (e.get("certainty") == "definite"
                    and exposure_covers(e, f["dst"], f["proto"], f["port"])
                    and f["src"] in exposure_sources(e, sources)):
                return True
    return False


def execute(run, args, binary, workroot, counter):
    t0 = time.monotonic()
    topo = run.topo
    lab = NetLab("pk%dn%d-" % (os.getpid(), counter), topo)
    try:
        # Listeners on every probed port (and every port the rules name).
        ports = service_ports(run.rules.values())
        for f in run.flows:
            if f["proto"] in ports:
                ports[f["proto"]].add(f["port"])
        lab.build()
        lab.start_servers(ports["tcp"], ports["udp"])
        lab.wait_neighbours()
        for router in topo.routers:
            lab.load(router, run.backend, run.rules[router])
        workdir = workroot / run.label.replace(" ", "_").replace("(", "").replace(")", "")
        netdir = workdir / "net"
        suffix = ".json" if run.ip_json else ""
        for router in topo.routers:
            d = netdir / router
            d.mkdir(parents=True)
            addr, route = lab.dump_ip(router, run.ip_json)
            (d / ("ip-addr" + suffix)).write_text(addr)
            (d / ("ip-route" + suffix)).write_text(route)
            text = run.rules[router] if run.backend == "legacy" else lab.save(router, run.backend)
            (d / "rules.v4").write_text(text)
        if binary is not None:
            run_portolan(binary, run, workdir, netdir)
        run.kernel = lab.probe(run.flows, args.timeout)
        # A timeout is weak evidence on a loaded machine: where Portolan says allowed (by query
        # or by an exposure), probe again with a longer timeout. This can only turn a spurious
        # denial into "allowed", never make a real denial pass.
        suspects = [f for f in run.flows
                    if run.kernel.get(f["id"], (None, ""))[1] == "timeout"
                    and (query_row(run, f).get("verdict") == "allowed"
                         or exposure_claims(run, f))]
        if suspects:
            again = lab.probe(suspects, max(2.0, 4 * args.timeout))
            for f in suspects:
                ok, why = again.get(f["id"], (None, "no result"))
                if ok:
                    run.kernel[f["id"]] = (ok, "timeout, then %s on a second probe" % why)
                    run.rechecked += 1
    except Exception as e:  # the run fails; the others go on
        run.error = "%s: %s" % (type(e).__name__, e)
    finally:
        lab.teardown()
        run.seconds = time.monotonic() - t0
    return run


def exposure_checks(run):
    """Both directions of the exposure comparison; returns (passed, failed, possible, lines),
    possible being the possible exposures accepted for origins with entry ambiguity.

    For an origin that may enter at several routers (entry_ambiguity), a possible exposure may
    cover what the kernel allows, and a possible exposure on a probed service is accepted when
    its uncertain list names the entry ambiguity; definite exposures are checked as elsewhere."""
    checks = 0
    failed = 0
    possible = 0
    failures = []
    topo = run.topo
    inbound = [f for f in run.flows if f["kind"] == "inbound"]
    for origin, sources in run.scenario["origins"].items():
        exps = exposures_of(run, origin)
        routers = run.scenario.get("entry_ambiguity", {}).get(origin)
        covers_ok = ("definite", "possible") if routers else ("definite",)
        # 1. Every flow the kernel allows from the origin is some definite exposure's (or
        #    possible one's, under entry ambiguity).
        for f in inbound:
            if f["src"] not in sources or kernel_verdict(run, f) != "allowed":
                continue
            checks += 1
            covering = [e for e in exps if exposure_covers(e, f["dst"], f["proto"], f["port"])]
            good = [e for e in covering if e.get("certainty") in covers_ok
                    and f["src"] in exposure_sources(e, sources)]
            if not good:
                failed += 1
                failures.append("MISSING EXPOSURE %s: origin %s: the kernel allows %s (%s) but "
                                "no %s exposure covers it%s"
                                % (run.label, origin, flow_str(topo, f),
                                   run.kernel[f["id"]][1], " or ".join(covers_ok),
                                   "; covering: " + "; ".join(exposure_str(e) for e in covering)
                                   if covering else ""))
        # 2. Every exposure on a probed service is one the kernel allows from some probed
        #    source of the origin inside the exposure's `from`.
        for e in exps:
            probed = {}
            srcs = exposure_sources(e, sources)
            for f in inbound:
                if f["src"] in srcs and exposure_covers(e, f["dst"], f["proto"], f["port"]):
                    probed.setdefault((f["dst"], f["proto"], f["port"]), []).append(f)
            for (dst, proto, port), fl in sorted(probed.items()):
                checks += 1
                allowed = [f for f in fl if kernel_verdict(run, f) == "allowed"]
                if e.get("certainty") == "definite" and allowed:
                    continue
                if routers and e.get("certainty") == "possible" \
                        and entry_note(e.get("uncertain"), set(routers)):
                    possible += 1
                    continue
                failed += 1
                failures.append("WRONG EXPOSURE %s: %s; on %s %s%s the kernel: %s"
                                % (run.label, exposure_str(e), topo.name_of(dst), proto,
                                   "" if proto == "icmp" else "/%s" % port,
                                   ", ".join("%s %s (%s)" % (f["src"], kernel_verdict(run, f),
                                                             run.kernel.get(f["id"], (0, "?"))[1])
                                             for f in fl)))
                failures.append("      reason: %s" % e.get("reason"))
                if e.get("uncertain"):
                    failures.append("      uncertain: %s" % json.dumps(e["uncertain"]))
                for h in e.get("hops") or []:
                    failures.append("      hop: %s" % hop_str(h))
    return checks - failed, failed, possible, failures


def report(run, args):
    """Print the run's outcome; return (passed, failed) counts."""
    if run.error:
        print("FAIL %s: %s" % (run.label, run.error), flush=True)
        return 0, len(run.flows) + 1
    topo = run.topo
    passed = failed = 0
    allowed = 0
    lines = []
    ambiguous = []  # (flow, kernel verdict, note): accepted `possibly` answers
    bcast = [0, 0]  # broadcast flows: agree, differ
    for f in run.flows:
        k = kernel_verdict(run, f)
        allowed += k == "allowed"
        why = run.kernel.get(f["id"], (None, "no result"))[1]
        if args.kernel_only:
            if k == "probe-error":
                failed += 1
                lines.append("FAIL %s %s: kernel probe error (%s)"
                             % (run.label, flow_str(topo, f), why))
            else:
                passed += 1
                if args.verbose:
                    lines.append("  %-8s %-8s %-60s (%s)" % (k, f["kind"], flow_str(topo, f), why))
            continue
        row = query_row(run, f)
        v = row.get("verdict")
        same_flow = row.get("verdict") in ("missing", "unparsable") or (
            str(row.get("src")) == f["src"] and str(row.get("dst")) == f["dst"])
        if f.get("broadcast"):
            bcast[0 if k == v and same_flow else 1] += 1
        if k == v and same_flow:
            passed += 1
            if args.verbose:
                lines.append("  %-8s %-8s %-60s (%s)" % (k, f["kind"], flow_str(topo, f), why))
            continue
        # Broadcast probes are compared exactly, entry ambiguity or not: every entry point
        # leads to a router that owns the subnet or drops the packet before.
        note = ambiguity_accepted(run, f, row) \
            if same_flow and k != "probe-error" and not f.get("broadcast") else None
        if note:
            passed += 1
            ambiguous.append((f, k, note))
            continue
        failed += 1
        lines.append("MISMATCH %s: %s  kernel=%s (%s)  portolan=%s%s"
                     % (run.label, flow_str(topo, f), k, why, v,
                        "" if same_flow else "  (output row is for %s -> %s)"
                        % (row.get("src"), row.get("dst"))))
        for key in ("reason", "uncertain", "error"):
            if row.get(key):
                lines.append("      %s: %s" % (key, json.dumps(row[key])))
        for hop in row.get("hops", []) or []:
            lines.append("      hop: %s" % hop_str(hop))
    exp_passed = exp_failed = exp_possible = 0
    if not args.kernel_only:
        if run.analyze is None:
            exp_failed = 1
            lines.append("FAIL %s: no exposure report" % run.label)
        else:
            exp_passed, exp_failed, exp_possible, failures = exposure_checks(run)
            lines += failures
            if exp_passed + exp_failed == 0:
                exp_failed += 1
                lines.append("FAIL %s: no exposure check was possible" % run.label)
    if run.messages:
        failed += 1
    ok = failed == 0 and exp_failed == 0
    amb = run.scenario.get("entry_ambiguity")
    print("%s %s: %d flows, %d allowed by the kernel, %d agree, %s%d differ; %d exposure checks, "
          "%d failed%s [ip %s, rules %s] %.1fs"
          % ("ok  " if ok else "FAIL", run.label, len(run.flows), allowed,
             passed - len(ambiguous),
             "%d possibly (entry ambiguity), " % len(ambiguous) if amb else "",
             failed - (1 if run.messages else 0), exp_passed + exp_failed, exp_failed,
             " (%d of them possible exposures under entry ambiguity)" % exp_possible
             if amb else "",
             "json" if run.ip_json else "text", "file" if run.backend == "legacy" else "save",
             run.seconds), flush=True)
    if bcast[0] + bcast[1] and not args.kernel_only:
        print("      subnet broadcast addresses: %d flows, %d agree, %d differ"
              % (bcast[0] + bcast[1], bcast[0], bcast[1]))
    if run.rechecked:
        print("      %d flows timed out at first and connected on a second, longer probe"
              % run.rechecked)
    if ambiguous:
        print("      entry ambiguity: %d flows answered possibly (the kernel allowed %d, denied "
              "%d), e.g. %s"
              % (len(ambiguous), sum(1 for _, k, _ in ambiguous if k == "allowed"),
                 sum(1 for _, k, _ in ambiguous if k == "denied"), json.dumps(ambiguous[0][2])))
        groups = {}
        for f, k, _ in ambiguous:
            groups.setdefault((f["dst"], f["proto"], f["port"], k), []).append(f["src"])
        for (dst, proto, port, k), srcs in sorted(
                groups.items(), key=lambda g: (ipaddress.ip_address(g[0][0]), g[0][1:])):
            print("        possibly: %s -> %s %s%s; kernel %s"
                  % (", ".join(srcs), topo.name_of(dst), proto,
                     "" if proto == "icmp" else "/%s" % port, k))
    for m in run.messages:
        print("      %s" % m)
    for line in lines:
        print(line)
    return passed + exp_passed, failed + exp_failed


def check_mutations(runs, args, with_portolan):
    """Each mutation must change some flow's verdict on the kernel and in Portolan alike."""
    passed = failed = 0
    bases = {(r.scenario["name"], r.backend): r for r in runs if not r.mutation}
    for run in runs:
        if not run.mutation or run.error:
            continue
        base = bases.get((run.scenario["name"], run.backend))
        if base is None or base.error:
            print("FAIL %s: no base run to compare with" % run.label)
            failed += 1
            continue
        changed = [f for f in run.flows
                   if {kernel_verdict(run, f), kernel_verdict(base, f)} == {"allowed", "denied"}]
        both = changed if not with_portolan else [
            f for f in changed
            if query_row(run, f).get("verdict") != query_row(base, f).get("verdict")]
        if both:
            passed += 1
            if args.verbose:
                print("ok   %s observable: %d flows changed, e.g. %s"
                      % (run.label, len(both), flow_str(run.topo, both[0])))
        else:
            failed += 1
            print("FAIL %s not observable: kernel changed %d flows, none on both sides"
                  % (run.label, len(changed)))
    return passed, failed
