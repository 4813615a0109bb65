#!/usr/bin/env python3
"""Attack paths against the Linux kernel: the kernel confirms each hop of the expected paths.

The attack scenario (tests/golden/scenarios/attack: an edge firewall with a DMZ web shop and a
vendor VPN, a core firewall in front of the application, database and office LAN) is built in
network namespaces, its two iptables rulesets (filter and nat tables) loaded into the two router
namespaces, and what Portolan says about attack paths is checked against real connections:

  1. Portolan gets the configuration as the kernel has it: each router's `iptables-save`,
     `ip addr` and `ip route`, laid out like the fixture, plus the fixture's scans and manifest.
     Its attack paths, hops (rules mapped to table/chain/position) and choke points must equal
     those computed on the committed fixture.
  2. Every step of every path is connected, one at a time, from the step's source (an origin's
     client addresses for a first step, else the foothold's own address), and the kernel must
     establish the TCP connection. Around each connection the routers' rule and policy counters
     (`iptables-save -c`) and interface counters are read: the routers the hops name, and only
     they, saw the packets; on each, exactly the rules and policies the hops name (the deciding
     rule and the other decisions, first packet and replies) counted them; the hops' in and out
     interfaces received and sent them. The port forward from the Internet is checked the same
     way with `portolan query`'s hops.
  3. The attack graph (`attack_edges`): from every foothold (each origin, through its client
     addresses, and each host an edge reaches) to every service some edge enters (a known way
     in), Portolan has an edge exactly where the kernel connects, and the kernel's
     connections join exactly the (origin, crown jewel) pairs Portolan has paths for; the
     steps the scenario forbids (internet to app tcp/22 and db tcp/5432, vendor to db
     tcp/5432) have no edge, are denied by `portolan query` and refused by the kernel. A
     matrix of flows (a client of each origin and every host, to every scanned port of every
     host and to the port forward) is compared with `portolan query --flows` flow by flow.
  4. Each choke point change is applied alone: a rule deletion to the kernel's ruleset (the rule
     at the dumped file's line), a patch or a closed port by stopping the listener. The steps the
     change claims to cut must fail (a host-side change: refused by the host itself, the network
     unchanged), and the pairs the kernel's connections no longer join must be its `cuts`;
     after a rule deletion Portolan is run again on the kernel's new dump, its pairs
     must be the old ones less the change's `cuts`, and its verdicts on every step flow must be
     the kernel's. The manifest's must_reach connections must still work. With all changes
     applied, no origin reaches a crown jewel over the connections the kernel still makes
     (from any foothold to any known way in), every reported path is broken, and must_reach
     still works.

In the same lab, after 3 and before 4, policy.py checks `portolan check --manifest
tests/golden/policy/policy.yaml` against the kernel: every violation's witness connection (or,
for must_reach, its blockage) with the routers' counters, and a sample of every entry's flows.

The backends (iptables-legacy and iptables-nft, `ip` dumps as text in one run and JSON in the
other) run side by side, each in its own namespaces (`pk<pid>a<n>-<role>`), deleted afterwards,
also on failure, Ctrl-C or SIGTERM. run.py runs this script after its own runs.

Usage (as root; Python 3.11 standard library only):
  python3 tests/kernel/attack.py [--portolan PATH] [--backend legacy|nft] [--policy-only] [--keep]
                                 [-v]

The last line printed is `N passed, N failed`; the exit status is non-zero on any failure.
"""

import argparse
import atexit
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURE = ROOT / "tests" / "golden" / "scenarios" / "attack"
AGENT = HERE / "agent.py"

sys.path.insert(0, str(HERE))
import netlab  # noqa: E402
import policy  # noqa: E402
from netlab import NetLab, Topology, parse_addr_set, in_set, sh  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The network: the fixture's routers with their interfaces and routes, one namespace per host,
# the office LAN a bridge (the phished clients reach the workstation without crossing a router).
# ---------------------------------------------------------------------------------------------

NETWORK = {
    "name": "attack",
    "routers": {
        "edge": {"routes": ["default via 203.0.113.1 dev eth0 proto static",
                            "10.20.0.0/16 via 10.0.0.2 dev eth2 proto static"]},
        "core": {"routes": ["default via 10.0.0.1 dev eth0 proto static"]},
    },
    "hosts": {
        "inet": {"lo": ["198.51.100.10/32", "198.51.100.20/32"],
                 "routes": ["default via 203.0.113.2"]},
        "vendor": {"routes": ["default via 172.16.30.1"]},
        "lan": {"routes": ["default via 10.20.3.1"]},
        "web": {"routes": ["default via 192.168.10.1"], "estate": True},
        "app": {"routes": ["default via 10.20.1.1"], "estate": True},
        "db": {"routes": ["default via 10.20.2.1"], "estate": True},
        "ws50": {"routes": ["default via 10.20.3.1"], "estate": True},
        "sw3": {},
    },
    "links": [
        (("edge", "eth0", ["203.0.113.2/24"]), ("inet", "eth0", ["203.0.113.1/24"])),
        (("edge", "eth1", ["192.168.10.1/24"]), ("web", "eth0", ["192.168.10.20/24"])),
        (("edge", "eth2", ["10.0.0.1/30"]), ("core", "eth0", ["10.0.0.2/30"])),
        (("edge", "eth3", ["172.16.30.1/24"]),
         ("vendor", "eth0", ["172.16.30.10/24", "172.16.30.11/24"])),
        (("core", "eth1", ["10.20.1.1/24"]), ("app", "eth0", ["10.20.1.10/24"])),
        (("core", "eth2", ["10.20.2.1/24"]), ("db", "eth0", ["10.20.2.5/24"])),
        (("core", "eth3", ["10.20.3.1/24"]), ("sw3", "p0", [])),
        (("sw3", "p1", []), ("ws50", "eth0", ["10.20.3.50/24"])),
        (("sw3", "p2", []), ("lan", "eth0", ["10.20.3.10/24", "10.20.3.11/24"])),
    ],
    "bridges": {"sw3": ["p0", "p1", "p2"]},
    "names": {"192.168.10.20": "web", "10.20.1.10": "app", "10.20.2.5": "db",
              "10.20.3.50": "ws50", "203.0.113.2": "edge"},
    # Probe sources of each origin (Portolan's origins: internet, and the manifest's vendor
    # 172.16.30.0/24 and phished 10.20.3.0/24).
    "origins": {"internet": ["198.51.100.10", "198.51.100.20"],
                "172.16.30.0/24": ["172.16.30.10", "172.16.30.11"],
                "10.20.3.0/24": ["10.20.3.10", "10.20.3.11"]},
}
ROUTER_FILES = {"iptables": "%s.iptables", "addr": "%s.ip-addr", "route": "%s.ip-route"}
SIDE_FILES = ["scan.xml", "vulns.nessus", "portolan.yaml"]
# A port forward of the edge, probed like a step (with `portolan query`'s hops).
PORT_FORWARDS = [("203.0.113.2", 443)]
# Steps the scenario is built to forbid: origin, host address, port.
NAMED_NEGATIVES = [("internet", "10.20.1.10", 22), ("internet", "10.20.2.5", 5432),
                   ("vendor", "10.20.2.5", 5432)]
TIMEOUT = 0.5


class Tally:
    """Checks passed and failed, and the lines to print (a run's lines are printed together
    when it ends: the backends run side by side)."""

    def __init__(self, verbose):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose
        self.lines = []

    def say(self, line):
        self.lines.append(line)

    def check(self, ok, what, detail=()):
        if ok:
            self.passed += 1
            if self.verbose:
                self.say("  ok   %s" % what)
        else:
            self.failed += 1
            self.say("  FAIL %s" % what)
            for line in detail:
                self.say("       %s" % line)
        return ok


# ---------------------------------------------------------------------------------------------
# iptables-save: rules by file line, counters
# ---------------------------------------------------------------------------------------------

COUNTER = re.compile(r"^\[(\d+):(\d+)\]\s+")


def rule_ids(text):
    """{line number: (table, chain, n)} for every rule (n counts from 1 in its chain) and
    {line: (table, chain, "policy")} for every built-in chain's policy line."""
    ids = {}
    table = None
    seen = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        s = COUNTER.sub("", line.strip())
        if s.startswith("*"):
            table = s[1:]
        elif s.startswith(":"):
            parts = s[1:].split()
            if len(parts) >= 2 and parts[1] != "-":
                ids[lineno] = (table, parts[0], "policy")
        elif s.startswith("-A "):
            chain = s.split()[1]
            seen[(table, chain)] = seen.get((table, chain), 0) + 1
            ids[lineno] = (table, chain, seen[(table, chain)])
    return ids


def counters(text):
    """{(table, chain, n or "policy"): packets} from `iptables-save -c`."""
    out = {}
    table = None
    seen = {}
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("*"):
            table = s[1:]
        elif s.startswith(":"):
            m = re.match(r":(\S+)\s+(\S+)\s+\[(\d+):(\d+)\]", s)
            if m and m.group(2) != "-":
                out[(table, m.group(1), "policy")] = int(m.group(3))
        else:
            m = COUNTER.match(s)
            if m and s[m.end():].startswith("-A "):
                chain = s[m.end():].split()[1]
                seen[(table, chain)] = seen.get((table, chain), 0) + 1
                out[(table, chain, seen[(table, chain)])] = int(m.group(1))
    return out


def ident_str(ident):
    if len(ident) != 3 or not isinstance(ident[2], (int, str)) or not isinstance(ident[0], str):
        return str(ident)  # a rule of another device, or a line that is no rule
    table, chain, n = ident
    return "%s/%s %s" % (table, chain, "policy" if n == "policy" else "rule %s" % n)


# ---------------------------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------------------------

class AttackLab:
    def __init__(self, prefix, backend):
        self.topo = Topology(NETWORK)
        self.lab = NetLab(prefix, self.topo)
        self.backend = backend
        self.listeners = {}  # (role, port) -> process
        self.rules = {}  # router -> ruleset text as loaded
        self.connectors = {}  # role -> connecting process (connect())

    @property
    def ns(self):
        return self.lab.ns

    def build(self):
        self.lab.build()
        for sw, ports in NETWORK["bridges"].items():
            batch = ["link add br0 type bridge", "link set br0 up"] + \
                ["link set %s master br0" % p for p in ports]
            sh(["ip", "-n", self.ns[sw], "-batch", "-"], "\n".join(batch) + "\n")
        for router in self.topo.routers:
            text = (FIXTURE / router / (ROUTER_FILES["iptables"] % router)).read_text()
            self.load(router, text)

    def load(self, router, text):
        sh(["ip", "netns", "exec", self.ns[router], "iptables-%s-restore" % self.backend], text)

    def save(self, router, with_counters=False):
        return sh(["ip", "netns", "exec", self.ns[router], "iptables-%s-save" % self.backend]
                  + (["-c"] if with_counters else []))

    def iptables(self, router, args):
        sh(["ip", "netns", "exec", self.ns[router], "iptables-%s" % self.backend] + args)

    def gateway(self, role):
        routes = NETWORK["hosts"][role].get("routes", [])
        return routes[0].split()[2] if routes else None

    def listen(self, role, ports):
        """A listener process for these ports of a host; a port some change stops gets a
        process of its own (listen(role, [port])), so that it can be stopped alone."""
        gw = self.gateway(role)
        spec = {"tcp": sorted(ports), "udp": [], "addrs": self.topo.addrs(role),
                "poke": [["", gw]] if gw else []}
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[role], sys.executable, str(AGENT),
                              "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.lab._track(p)
        p.stdin.write(json.dumps(spec))
        p.stdin.close()
        if len(ports) == 1:
            self.listeners[(role, ports[0])] = p
        return p

    def wait_ready(self, procs):
        for (role, ports), p in procs:
            line = p.stdout.readline()
            if line.strip() != "ready":
                err = p.stderr.read() if p.poll() is not None else ""
                raise RuntimeError("listener %s tcp/%s did not start: %s %s"
                                   % (role, ports, line, err))

    def stop(self, role, port):
        p = self.listeners.pop((role, port))
        p.kill()
        p.wait(timeout=5)
        # The listening socket goes with the process; wait until the port is free.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            out = sh(["ip", "netns", "exec", self.ns[role], "ss", "-Hltn",
                      "sport = :%d" % port], check=False)
            if not out.strip():
                return
            time.sleep(0.02)

    def start(self, role, port):
        p = self.listen(role, [port])
        self.wait_ready([((role, [port]), p)])

    def dump(self, folder, ip_json):
        """The routers' iptables-save, ip addr and ip route, laid out like the fixture, plus
        the fixture's scans and manifest."""
        folder.mkdir(parents=True)
        j = ["-j"] if ip_json else []
        suffix = ".json" if ip_json else ""
        for router in self.topo.routers:
            d = folder / router
            d.mkdir()
            text = self.save(router)
            self.rules[router] = text
            (d / (ROUTER_FILES["iptables"] % router)).write_text(text)
            (d / (ROUTER_FILES["addr"] % router + suffix)).write_text(
                sh(["ip", "-n", self.ns[router]] + j + ["addr"]))
            (d / (ROUTER_FILES["route"] % router + suffix)).write_text(
                sh(["ip", "-n", self.ns[router]] + j + ["route"]))
        for name in SIDE_FILES:
            shutil.copy(FIXTURE / name, folder / name)

    def snapshot(self):
        snap = {}
        for router in self.topo.routers:
            links = json.loads(sh(["ip", "-n", self.ns[router], "-s", "-j", "link", "show"]))
            snap[router] = (counters(self.save(router, with_counters=True)),
                            {l["ifname"]: (l["stats64"]["rx"]["packets"],
                                           l["stats64"]["tx"]["packets"]) for l in links})
        return snap

    def connect(self, src, dst, port, timeout=TIMEOUT, sport=0):
        """One TCP connection from `src`'s namespace (from source port `sport` if given), closed
        gracefully (no RST that conntrack could see after the state is gone); returns (ok, why).
        One connecting process per namespace serves every call."""
        role = self.topo.owner[src]
        p = self.connectors.get(role)
        if p is None:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns[role], sys.executable, "-c",
                                  CONNECT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            self.lab._track(p)
            self.connectors[role] = p
        p.stdin.write(json.dumps([src, dst, port, timeout, sport]) + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            err = p.stderr.read() if p.poll() is not None else ""
            return None, "connecting process failed: %s" % err.strip()[-300:]
        return r["ok"], r["why"]

    def probe(self, flows, expect=(), timeout=TIMEOUT):
        """Many TCP flows at once (agent.py); flows are (src, dst, port). Returns {flow: (ok, why)}.
        A flow in `expect` (expected to connect) that timed out is probed again with a longer
        timeout: a loaded machine can be slow, and this can only turn a spurious denial into a
        connection, never make a real denial pass."""
        flows = sorted(set(flows))
        out = self._probe(flows, timeout)
        again = [f for f in flows if f in set(expect) and out[f][1] == "timeout"]
        if again:
            res = self._probe(again, 6 * timeout)
            for f in again:
                if res[f][0]:
                    out[f] = (True, "timeout, then %s" % res[f][1])
        return out

    def _probe(self, flows, timeout):
        spec = [{"id": i, "src": s, "dst": d, "proto": "tcp", "port": p}
                for i, (s, d, p) in enumerate(flows)]
        res = self.lab.probe(spec, timeout)
        return {f: res.get(i, (None, "no result")) for i, f in enumerate(flows)}

    def teardown(self):
        self.lab.teardown()


CONNECT = r"""
import json, socket, sys, time
def connect(src, dst, port, timeout, sport=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if sport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        s.settimeout(timeout)
        try:
            s.connect((dst, port))
        except socket.timeout:
            return False, "timeout"
        except ConnectionRefusedError:
            return False, "refused"
        except OSError as e:
            return False, "error:%s" % (e.strerror or e)
        why = "connected"
        try:
            while s.recv(4096):  # the listener closes at once: its FIN, then ours
                pass
        except OSError as e:
            why = "connected (then %s)" % (e.strerror or e)
        return True, why
    finally:
        s.close()
        time.sleep(0.05)  # the last packets cross the routers before the counters are read
for line in sys.stdin:
    ok, why = connect(*json.loads(line))
    sys.stdout.write(json.dumps({"ok": ok, "why": why}) + "\n")
    sys.stdout.flush()
"""


# ---------------------------------------------------------------------------------------------
# Portolan
# ---------------------------------------------------------------------------------------------

def analyze(binary, folder):
    proc = subprocess.run([str(binary), "analyze", "--format", "json", str(folder)],
                          capture_output=True, text=True, timeout=300)
    try:
        return json.loads(proc.stdout), proc
    except json.JSONDecodeError:
        return None, proc


def query_flows(binary, folder, flows):
    """`portolan query --flows` for (src, dst, port) TCP flows: {flow: row}."""
    flows = sorted(set(flows))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["src", "dst", "proto", "port"])
    for s, d, p in flows:
        w.writerow([s, d, "tcp", p])
    path = folder.parent / ("%s-flows.csv" % folder.name)
    path.write_text(buf.getvalue())
    proc = subprocess.run([str(binary), "query", "--flows", str(path), str(folder)],
                          capture_output=True, text=True, timeout=300)
    rows = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or len(rows) != len(flows):
        raise RuntimeError("portolan query exited %d with %d of %d rows: %s"
                           % (proc.returncode, len(rows), len(flows), proc.stderr[-1000:]))
    return dict(zip(flows, rows))


def query_one(binary, folder, src, dst, port):
    proc = subprocess.run([str(binary), "query", "--from", src, "--to", dst, "--proto", "tcp",
                           "--port", str(port), "--json", str(folder)],
                          capture_output=True, text=True, timeout=300)
    return json.loads(proc.stdout)


class Ids:
    """Rule identities of one input folder: (device folder, file line) -> (table, chain, n)."""

    def __init__(self, folder):
        self.by_file = {}
        for router in NETWORK["routers"]:
            path = folder / router / (ROUTER_FILES["iptables"] % router)
            self.by_file[path.resolve()] = (router, rule_ids(path.read_text()))

    def of(self, ref):
        """A rule reference {file, line} as (device, (table, chain, n)), or its own text."""
        if not ref or not ref.get("file"):
            return None
        entry = self.by_file.get(Path(ref["file"]).resolve())
        if entry is None:
            return ("?", ref.get("file"), ref.get("line"))
        router, ids = entry
        ident = ids.get(ref.get("line"))
        if ident is None:
            return (router, "line %s is no rule" % ref.get("line"))
        return (router, ident)


def norm_hop(h, ids):
    nat = tuple(sorted((n.get("kind"), n.get("from"), n.get("to"), ids.of(n.get("rule")))
                       for n in h.get("nat") or []))
    return (h.get("device"), h.get("direction"), h.get("in_iface"), h.get("out_iface"),
            h.get("outcome"), ids.of(h.get("rule")),
            tuple(ids.of(d) for d in h.get("decisions") or []), nat)


def step_key(s):
    return (s["from"], s["to"], s["proto"], s["port"])


def path_key(p):
    return (p["origin"], p["target"], p["rank"], tuple(step_key(s) for s in p["steps"]))


def norm_path(p, ids):
    return (p["origin"], p["target"], p["rank"], p.get("shortest"), p.get("certainty"),
            round(p.get("likelihood", 0), 6),
            tuple((step_key(s), (s.get("way") or {}).get("type"), (s.get("way") or {}).get("id"),
                   s.get("certainty"), s.get("confirmed"), round(s.get("likelihood", 0), 6),
                   tuple(norm_hop(h, ids) for h in s.get("hops") or []))
                  for s in p["steps"]))


def norm_edit(e, ids):
    if e.get("edit") in ("delete-rule", "set-action"):
        return (e["edit"], ids.of(e), e.get("action"))
    return tuple(sorted((k, str(v)) for k, v in e.items()))


def norm_choke(c, ids):
    if not c:
        return None
    return (tuple((norm_edit(ch["edit"], ids), tuple(ch.get("cuts") or []), ch.get("paths_cut"),
                   tuple(ch.get("breaks") or [])) for ch in c.get("changes") or []),
            c.get("pairs_before"), c.get("pairs_after"), c.get("proven"))


def pairs(report):
    return {(p["origin"], p["target"]) for p in report.get("attack_paths") or []}


def pair_label(report, origin, target):
    names = {j[0]: j[1] for j in report.get("crown_jewels") or [] if len(j) > 1}
    return "%s \u2192 %s (%s)" % (origin, names.get(target, target), target) \
        if target in names else "%s \u2192 %s" % (origin, target)


def must_reach(manifest_text):
    """The manifest's must_reach connections as (from address, to address, port) for TCP
    services; host names resolved through its hosts list (flow-style YAML of the fixture)."""
    hosts = dict(re.findall(r"\{\s*name:\s*([\w.-]+),\s*ip:\s*([0-9.]+)", manifest_text))
    out = []
    for m in re.finditer(r"\{[^{}]*\bfrom:\s*([\w./-]+),\s*to:\s*([\w./-]+),\s*services:\s*"
                         r"\[([^\]]*)\]", manifest_text):
        src, dst = hosts.get(m.group(1), m.group(1)), hosts.get(m.group(2), m.group(2))
        for svc in m.group(3).split(","):
            proto, _, port = svc.strip().partition("/")
            if proto == "tcp" and port.isdigit():
                out.append((src, dst, int(port)))
    return out


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

class Scenario:
    """What one run works with: the lab, Portolan's reports, the step flows."""

    def __init__(self, lab, binary, folder, report, fixture):
        self.lab = lab
        self.binary = binary
        self.folder = folder
        self.report = report
        self.fixture = fixture
        self.baseline = {}  # flow -> (ok, why): the kernel before any change
        self.ids = Ids(folder)
        self.topo = lab.topo
        self.clients = {}  # origin name -> probe sources
        estate = {r for r, h in NETWORK["hosts"].items() if h.get("estate")}
        lab_clients = [a for a, role in self.topo.owner.items()
                       if role in NETWORK["hosts"] and role not in estate]
        for o in report.get("origins") or []:
            ranges = parse_addr_set(o.get("addresses") or "")
            if ranges is None:  # internet: described, not listed
                self.clients[o["name"]] = list(NETWORK["origins"].get(o["name"], []))
            else:
                self.clients[o["name"]] = sorted(a for a in lab_clients if in_set(ranges, a))

    def sources(self, step):
        if step["from"] in self.clients:
            return self.clients[step["from"]]
        return [step["from"]]

    def step_flows(self, report=None):
        """{(src, to, port): [steps]} over every step of every path (TCP steps)."""
        out = {}
        for p in (report or self.report).get("attack_paths") or []:
            for s in p["steps"]:
                if s["proto"] != "tcp":
                    continue
                for src in self.sources(s):
                    out.setdefault((src, s["to"], s["port"]), []).append(s)
        return out


def check_against_fixture(t, sc, label):
    rep, fix = sc.report, sc.fixture
    fids = Ids(FIXTURE)
    got = {path_key(p): p for p in rep.get("attack_paths") or []}
    want = {path_key(p): p for p in fix.get("attack_paths") or []}
    for key, p in want.items():
        t.check(key in got, "%s: fixture path %s" % (label, path_str(p)),
                ["not among the paths computed from the kernel's dump:"]
                + [path_str(q) for q in rep.get("attack_paths") or []
                   if (q["origin"], q["target"]) == (p["origin"], p["target"])])
        if key in got:
            a, b = norm_path(got[key], sc.ids), norm_path(p, fids)
            t.check(a == b, "%s: same likelihood, ways and hops (rules by table, chain and "
                    "position) for %s" % (label, path_str(p)), diff_lines(b, a))
    for key, p in got.items():
        if key not in want:
            t.check(False, "%s: path %s from the kernel's dump is not the fixture's"
                    % (label, path_str(p)))
    a, b = norm_choke(rep.get("choke_points"), sc.ids), norm_choke(fix.get("choke_points"), fids)
    t.check(a == b, "%s: same choke points as the fixture (%d changes, proven %s)"
            % (label, len((rep.get("choke_points") or {}).get("changes") or []),
               (rep.get("choke_points") or {}).get("proven")), diff_lines(b, a))


def diff_lines(want, got):
    return ["fixture: %s" % json.dumps(want, default=str)[:1500],
            "kernel:  %s" % json.dumps(got, default=str)[:1500]]


def path_str(p):
    return "%s #%d: %s" % (p["origin"], p["rank"], " \u2192 ".join(
        [p["steps"][0]["from"]] + ["%s %s/%s" % (s["to"], s["proto"], s["port"])
                                   for s in p["steps"]]) if p["steps"] else "(no step)")


def expected_counts(hops, ids):
    """What the hops say the routers counted: {device: set of rule identities}, and the
    interfaces that received and sent: {device: {("rx"|"tx", iface)}}."""
    rules = {}
    ifaces = {}
    for h in hops:
        dev = h.get("device")
        rules.setdefault(dev, set())
        ifaces.setdefault(dev, set())
        for ref in [h.get("rule")] + list(h.get("decisions") or []) + \
                [n.get("rule") for n in h.get("nat") or []]:
            r = ids.of(ref)
            if r is not None:
                rules[dev].add(r[1] if r[0] == dev else r)
        if h.get("in_iface"):
            ifaces[dev].add(("rx", h["in_iface"]))
        if h.get("out_iface"):
            ifaces[dev].add(("tx", h["out_iface"]))
    return rules, ifaces


def check_hops(t, sc, what, hops, before, after):
    """The routers the hops name counted the connection on exactly the named rules and
    policies; the others counted nothing; the named interfaces received and sent."""
    rules, ifaces = expected_counts(hops, sc.ids)
    problems = []
    for router in sc.topo.routers:
        cb, lb = before[router]
        ca, la = after[router]
        counted = {k for k, v in ca.items() if v > cb.get(k, 0)}
        want = rules.get(router, set())
        if counted != want:
            problems.append("%s counted %s; the hops name %s" % (
                router, ", ".join(sorted(ident_str(k) for k in counted)) or "nothing",
                ", ".join(sorted(ident_str(k) for k in want)) or "nothing"))
        for kind, iface in sorted(ifaces.get(router, ())):
            i = 0 if kind == "rx" else 1
            if iface not in la or la[iface][i] <= lb.get(iface, (0, 0))[i]:
                problems.append("%s %s %s no packet" % (
                    router, iface, "received" if kind == "rx" else "sent"))
    devices = sorted({h.get("device") for h in hops})
    return t.check(not problems, "%s: packets took the hops' path (%s)"
                   % (what, ", ".join(devices) or "no router"),
                   problems + ["hop: %s" % netlab.hop_str(h) for h in hops])


def check_steps(t, sc, label):
    """Every step from each of its sources, one connection at a time, with counters."""
    flows = sc.step_flows()
    for (src, dst, port), steps in sorted(flows.items()):
        s = steps[0]
        what = "%s: step %s -> %s tcp/%d (%d path%s)" % (
            label, s["from"] if src == s["from"] else "%s %s" % (s["from"], src),
            sc.topo.name_of(dst), port, len(steps), "" if len(steps) == 1 else "s")
        before = sc.lab.snapshot()
        ok, why = sc.lab.connect(src, dst, port)
        after = sc.lab.snapshot()
        if not ok and why == "timeout":  # slow machine: once more, longer
            before = sc.lab.snapshot()
            ok, why = sc.lab.connect(src, dst, port, 6 * TIMEOUT)
            after = sc.lab.snapshot()
        t.check(bool(ok), "%s: the kernel connects (%s)" % (what, why),
                ["Portolan: %s (%s)" % (s.get("why"), s.get("certainty"))])
        if ok:
            check_hops(t, sc, what, s.get("hops") or [], before, after)
        else:
            t.check(False, "%s: hops not checked (no connection)" % what)
    # The port forward the Internet uses in practice, with `portolan query`'s hops.
    for dst, port in PORT_FORWARDS:
        for src in sc.clients.get("internet", []):
            q = query_one(sc.binary, sc.folder, src, dst, port)
            res = (q.get("results") or [{}])[0]
            what = "%s: port forward %s -> %s tcp/%d" % (label, src, sc.topo.name_of(dst), port)
            before = sc.lab.snapshot()
            ok, why = sc.lab.connect(src, dst, port)
            after = sc.lab.snapshot()
            t.check(bool(ok) == (res.get("verdict") == "allowed"),
                    "%s: kernel %s (%s), Portolan %s" % (what, "connects" if ok else "refuses",
                                                         why, res.get("verdict")))
            if ok:
                check_hops(t, sc, what, res.get("hops") or [], before, after)


def matrix_flows(sc):
    """A client of each origin and every host, to every scanned port of every host, and to
    the port forwards."""
    hosts = [a for a, role in sc.topo.owner.items() if NETWORK["hosts"].get(role, {}).get("estate")]
    srcs = [c[0] for c in sc.clients.values() if c] + hosts
    flows = set()
    for src in srcs:
        for dst in hosts:
            if sc.topo.owner[src] == sc.topo.owner[dst]:
                continue
            for port in sorted(scan_ports()):
                flows.add((src, dst, port))
        for dst, port in PORT_FORWARDS:
            flows.add((src, dst, port))
    return sorted(flows)


def scan_ports():
    text = (FIXTURE / "scan.xml").read_text()
    m = re.search(r'<scaninfo [^>]*services="([0-9,]+)"', text)
    return {int(p) for p in m.group(1).split(",")} if m else set()


def graph_pairs(sc):
    """The attack graph as Portolan reports it (attack_edges), and every (foothold, service)
    pair it could have had an edge for: footholds are the origins and every host an edge
    reaches, services every (host, port) some edge enters (so a way in is known to exist)."""
    edges = {(e["from"], e["to"], e["port"]) for e in sc.report.get("attack_edges") or []
             if e.get("proto") == "tcp"}
    footholds = sorted(sc.clients) + sorted({e[1] for e in edges})
    services = sorted({(e[1], e[2]) for e in edges})
    return edges, [(f, h, p) for f in footholds for h, p in services if h != f]


def pivots(sc):
    """(foothold, flow) for every (foothold, service) pair of the graph and every step: the
    connections that let an attacker in wherever the kernel makes them."""
    _, candidates = graph_pairs(sc)
    out = {(f, (src, h, p)) for f, h, p in candidates for src in sc.sources({"from": f})}
    out.update((s["from"], f) for f, steps in sc.step_flows().items() for s in steps)
    return out


def kernel_pairs(sc, kernel, piv):
    """The (origin, crown jewel) pairs connected over the pivots the kernel makes."""
    edges = {}
    for foothold, flow in piv:
        if kernel[flow][0]:
            edges.setdefault(foothold, set()).add(flow[1])
    jewels = {j[0] for j in sc.report.get("crown_jewels") or [] if j}
    out = set()
    for origin in sc.clients:
        reached, todo = set(), [origin]
        while todo:
            for m in edges.get(todo.pop(), ()):
                if m not in reached:
                    reached.add(m)
                    todo.append(m)
        out.update((origin, j) for j in reached & jewels)
    return out


def check_reach(t, sc, label):
    """The attack graph, a flow matrix and the named impossible steps, probed at once."""
    edges, candidates = graph_pairs(sc)
    t.check("attack_edges" in sc.report and bool(edges),
            "%s: the report lists the attack graph's edges (%d)" % (label, len(edges)))
    flows = set(matrix_flows(sc))
    for foothold, host, port in candidates:
        flows.update((src, host, port) for src in sc.sources({"from": foothold}))
    for origin, dst, port in NAMED_NEGATIVES:
        flows.update((src, dst, port) for src in sc.clients.get(origin, []))
    piv = pivots(sc)
    flows.update(f for _, f in piv)
    flows = sorted(flows)
    rows = query_flows(sc.binary, sc.folder, flows)
    expect = {f for f in flows if rows[f].get("verdict") == "allowed"}
    for foothold, host, port in edges:
        expect.update((src, host, port) for src in sc.sources({"from": foothold}))
    kernel = sc.lab.probe(flows, expect)
    sc.baseline = kernel

    # 1. portolan query, flow by flow.
    agree = 0
    for f in flows:
        v = rows[f].get("verdict")
        k = "allowed" if kernel[f][0] else "denied"
        if k == v:
            agree += 1
            continue
        t.check(False, "%s: %s -> %s tcp/%d: kernel %s (%s), portolan query %s" % (
            label, sc.topo.name_of(f[0]), sc.topo.name_of(f[1]), f[2], k, kernel[f][1], v),
            ["reason: %s" % rows[f].get("reason")]
            + ["hop: %s" % netlab.hop_str(h) for h in rows[f].get("hops") or []])
    t.passed += agree
    t.say("  %s: %d flows (a client of each origin and every host to every scanned port and the "
          "port forward; the attack graph's footholds to its services): %d allowed by the "
          "kernel, %d agree with portolan query" % (
              label, len(flows), sum(1 for f in flows if kernel[f][0]), agree))
    if t.verbose:
        for f in flows:
            t.say("       %-8s %s -> %s tcp/%d (%s)" % (rows[f].get("verdict"), f[0], f[1], f[2],
                                                       kernel[f][1]))

    # 2. The attack graph: an edge exactly where the kernel connects from the foothold.
    right = 0
    for foothold, host, port in candidates:
        srcs = sc.sources({"from": foothold})
        ok = {src: kernel[(src, host, port)] for src in srcs}
        connects = any(r[0] for r in ok.values())
        if ((foothold, host, port) in edges) == connects:
            right += 1
            continue
        t.check(False, "%s: attack graph %s -> %s tcp/%d: Portolan %s, the kernel %s"
                % (label, foothold, sc.topo.name_of(host), port,
                   "has the edge" if (foothold, host, port) in edges else "has no edge",
                   ", ".join("%s %s" % (src, r[1]) for src, r in sorted(ok.items()))))
    t.passed += right
    t.say("  %s: attack graph: %d edges; %d (foothold, service) pairs, %d as the kernel connects"
          % (label, len(edges), len(candidates), right))

    # The pairs with attack paths are those the kernel's connections join.
    got, want = kernel_pairs(sc, kernel, piv), pairs(sc.report)
    t.check(got == want, "%s: the kernel's connections join exactly the (origin, crown jewel) "
            "pairs Portolan has paths for (%d)" % (label, len(want)),
            ["kernel: %s" % sorted(got), "Portolan: %s" % sorted(want)])

    # 3. The named impossible steps: no edge, portolan query denies, the kernel refuses.
    for origin, dst, port in NAMED_NEGATIVES:
        for src in sc.clients.get(origin, []):
            f = (src, dst, port)
            t.check((origin, dst, port) not in edges and rows[f].get("verdict") == "denied"
                    and not kernel[f][0],
                    "%s: negative control %s %s -> %s tcp/%d: %s, Portolan %s, kernel %s"
                    % (label, origin, src, sc.topo.name_of(dst), port,
                       "an edge" if (origin, dst, port) in edges else "no edge",
                       rows[f].get("verdict"), kernel[f][1]))


def change_steps(sc, change, flows):
    """The step flows a change claims to cut: for a rule deletion, those whose hops name the
    rule (deciding rule, decision or translation); for a patch, those exploiting that
    vulnerability on that host; for a closed port, those entering that service."""
    e = change["edit"]
    out = []
    for f, steps in flows.items():
        for s in steps:
            if e["edit"] == "delete-rule":
                target = sc.ids.of(e)
                refs = [r for h in s.get("hops") or [] for r in
                        [h.get("rule")] + list(h.get("decisions") or [])
                        + [n.get("rule") for n in h.get("nat") or []]]
                hit = any(sc.ids.of(r) == target for r in refs if r)
            elif e["edit"] == "patch":
                way = s.get("way") or {}
                hit = s["to"] == e["addr"] and way.get("type") == "vulnerability" \
                    and str(way.get("id")) == str(e["id"])
            elif e["edit"] == "close-port":
                hit = s["to"] == e["addr"] and s["port"] == int(e["port"]) \
                    and s["proto"] in ("tcp", str(e.get("proto")), "6")
            else:
                hit = False
            if hit:
                out.append(f)
                break
    return out


def host_side(sc, change, flows):
    """(role, port) of the listeners a patch or closed port stops."""
    e = change["edit"]
    ports = {f[2] for f in change_steps(sc, change, flows)}
    if e["edit"] == "close-port":
        ports.add(int(e["port"]))
    return [(sc.topo.owner[e["addr"]], p) for p in sorted(ports)]


def apply_change(sc, change, flows):
    """Make the change in the lab; return a function that undoes it."""
    e = change["edit"]
    if e["edit"] == "delete-rule":
        router, ident = sc.ids.of(e)
        table, chain, n = ident
        if n == "policy":
            raise RuntimeError("%s names a policy, not a rule" % change["what"])
        sc.lab.iptables(router, ["-t", table, "-D", chain, str(n)])
        original = sc.lab.rules[router]
        return lambda: sc.lab.load(router, original)
    stopped = [k for k in host_side(sc, change, flows) if k in sc.lab.listeners]
    for role, port in stopped:
        sc.lab.stop(role, port)

    def undo():
        for role, port in stopped:
            sc.lab.start(role, port)
    return undo


def check_chokes(t, sc, label, workdir):
    chokes = sc.report.get("choke_points") or {}
    changes = chokes.get("changes") or []
    flows = sc.step_flows()
    required = must_reach((FIXTURE / "portolan.yaml").read_text())
    before = pairs(sc.report)
    piv = pivots(sc)
    t.check(bool(changes), "%s: Portolan proposes choke points (%d)" % (label, len(changes)))
    for ci, change in enumerate(changes):
        what = "%s: change %d (%s)" % (label, ci + 1,
                                       change["what"].replace(str(sc.folder) + "/", ""))
        claimed = change_steps(sc, change, flows)
        undo = apply_change(sc, change, flows)
        try:
            e = change["edit"]
            after_report = rows = None
            check = list(flows) + required + [f for _, f in piv]
            if e["edit"] == "delete-rule":
                # Portolan again, on the kernel's ruleset after the deletion.
                folder = workdir / ("change-%d" % (ci + 1))
                shutil.copytree(sc.folder, folder)
                router = sc.ids.of(e)[0]
                (folder / router / (ROUTER_FILES["iptables"] % router)).write_text(
                    sc.lab.save(router))
                after_report, proc = analyze(sc.binary, folder)
                if after_report is None:
                    t.check(False, "%s: portolan analyze after the change" % what,
                            [proc.stderr[-1000:]])
                else:
                    check += list(sc.step_flows(after_report))
                rows = query_flows(sc.binary, folder, check)
                expect = {f for f in check if rows[f].get("verdict") == "allowed"}
            else:
                stopped = {(sc.topo.addrs(r)[0], p) for r, p in host_side(sc, change, flows)}
                expect = {f for f in check if sc.baseline.get(f, (False,))[0]
                          and (f[1], f[2]) not in stopped}
            kernel = sc.lab.probe(check, expect)
            # The pairs the change cuts are those the kernel's connections no longer join. A
            # patch is modelled by stopping the service: only where the vulnerability is the
            # service's only known way in.
            other_ways = e["edit"] == "patch" and any(
                s["to"] == e["addr"] and (s.get("way") or {}).get("id") != e.get("id")
                and (s["to"], s["port"]) in {(f[1], f[2]) for f in claimed}
                for steps in flows.values() for s in steps)
            if not other_ways:
                lost = {pair_label(sc.report, o, tg)
                        for o, tg in before - kernel_pairs(sc, kernel, piv)}
                want = set(change.get("cuts") or [])
                t.check(lost == want, "%s: in the kernel the change cuts exactly %s"
                        % (what, ", ".join(sorted(want)) or "no pair"),
                        ["the kernel's connections no longer join: %s"
                         % (", ".join(sorted(lost)) or "none")])
            t.check(bool(claimed), "%s: cuts %d step flow%s" % (
                what, len(claimed), "" if len(claimed) == 1 else "s"))
            for f in claimed:
                ok, why = kernel[f]
                if e["edit"] == "delete-rule":
                    t.check(not ok, "%s: %s -> %s tcp/%d no longer connects (%s)"
                            % (what, f[0], sc.topo.name_of(f[1]), f[2], why))
                else:  # host-side: the network still delivers, the host refuses
                    t.check(not ok and why == "refused",
                            "%s: %s -> %s tcp/%d refused by the host, the network unchanged "
                            "(%s)" % (what, f[0], sc.topo.name_of(f[1]), f[2], why))
            for f in required:
                t.check(bool(kernel[f][0]) or bool(change.get("breaks")),
                        "%s: must_reach %s -> %s tcp/%d still connects (%s)"
                        % (what, sc.topo.name_of(f[0]), sc.topo.name_of(f[1]), f[2],
                           kernel[f][1]))
            if after_report is not None:
                gone = before - pairs(after_report)
                want = set(change.get("cuts") or [])
                got = {pair_label(sc.report, o, tg) for o, tg in gone}
                t.check(got == want, "%s: Portolan on the kernel's new dump loses the pairs the "
                        "change cuts (%s)" % (what, ", ".join(sorted(want)) or "none"),
                        ["pairs lost: %s" % (", ".join(sorted(got)) or "none")])
                wrong = [f for f in sorted(set(check))
                         if rows[f].get("verdict") != ("allowed" if kernel[f][0] else "denied")]
                t.check(not wrong, "%s: portolan query on the new dump agrees with the kernel on "
                        "%d step flows" % (what, len(set(check))),
                        ["%s -> %s tcp/%d: kernel %s, Portolan %s"
                         % (f[0], f[1], f[2], kernel[f][1], rows[f].get("verdict"))
                         for f in wrong])
        finally:
            undo()
    # Everything at once: no origin reaches a crown jewel over the connections the kernel
    # still makes, from any foothold to any service known to offer a way in.
    undos = []
    try:
        cut = set()
        for change in changes:
            cut.update(change_steps(sc, change, flows))
            undos.append(apply_change(sc, change, flows))
        check = sorted({f for _, f in piv} | set(flows) | set(required))
        kernel = sc.lab.probe(check, (set(flows) - cut) | set(required))
        joined = kernel_pairs(sc, kernel, piv)
        for origin, target in sorted(before):
            t.check((origin, target) not in joined,
                    "%s: all %d changes applied: %s is cut in the kernel"
                    % (label, len(changes), pair_label(sc.report, origin, target)))
        for p in sc.report.get("attack_paths") or []:
            broken = [s for s in p["steps"] if s["proto"] == "tcp" and not any(
                kernel[(src, s["to"], s["port"])][0] for src in sc.sources(s))]
            t.check(bool(broken), "%s: all changes applied: path %s is broken%s" % (
                label, path_str(p), " at %s %s/%s" % (broken[0]["to"], broken[0]["proto"],
                                                     broken[0]["port"]) if broken else ""))
        for f in required:
            t.check(bool(kernel[f][0]), "%s: all changes applied: must_reach %s -> %s tcp/%d "
                    "still connects (%s)" % (label, sc.topo.name_of(f[0]),
                                              sc.topo.name_of(f[1]), f[2], kernel[f][1]))
        still = sorted({f for _, f in piv if kernel[f][0]})
        t.say("  %s: all changes applied, pivots the kernel still connects: %s"
              % (label, ", ".join("%s -> %s tcp/%d" % f for f in still) or "none"))
    finally:
        for undo in reversed(undos):
            undo()


def run_backend(binary, fixture, backend, ip_json, workroot, n, verbose, policy_future=None,
                parts=("attack", "policy")):
    """One run: the lab with this iptables backend, every check; returns its tally.
    `policy_future` gives `portolan check`'s report on the committed fixture and its process
    (policy.py)."""
    t = Tally(verbose)
    label = "attack %s" % backend
    t0 = time.monotonic()
    lab = AttackLab("pk%da%d-" % (os.getpid(), n), backend)
    try:
        lab.build()
        folder = workroot / backend / "net"
        lab.dump(folder, ip_json)
        report, proc = analyze(binary, folder)
        if not t.check(report is not None and proc.returncode == 0,
                       "%s: portolan analyze on the kernel's dump" % label,
                       [proc.stderr[-2000:]]):
            return t
        sc = Scenario(lab, binary, folder, report, fixture)
        # Listeners on every scanned port of every host; those a change stops on their own.
        alone = {k for c in (report.get("choke_points") or {}).get("changes") or []
                 if c["edit"]["edit"] != "delete-rule"
                 for k in host_side(sc, c, sc.step_flows())}
        procs = []
        for role, h in NETWORK["hosts"].items():
            if h.get("estate"):
                shared = [p for p in sorted(scan_ports()) if (role, p) not in alone]
                groups = ([shared] if shared else []) + [[p] for r, p in sorted(alone) if r == role]
                procs += [((role, g), lab.listen(role, g)) for g in groups]
        lab.wait_ready(procs)
        bad = [i for i in report.get("inputs") or [] if i.get("status") != "ok"]
        t.check(not bad, "%s: every input read (%d files)"
                % (label, len(report.get("inputs") or [])),
                ["%s: %s %s" % (i.get("path"), i.get("status"), i.get("diagnostics"))
                 for i in bad])
        for name, c in sorted(sc.clients.items()):
            t.check(bool(c), "%s: origin %s has probe sources in the lab (%s)"
                    % (label, name, ", ".join(c)))
        if "attack" in parts:
            check_against_fixture(t, sc, label)
            t.say("  %s: %d attack paths, %d step flows" % (
                label, len(report.get("attack_paths") or []), len(sc.step_flows())))
            for p in report.get("attack_paths") or []:
                t.say("    %s (%.3f, %s)" % (path_str(p), p.get("likelihood", 0),
                                             p.get("certainty")))
            check_steps(t, sc, label)
            check_reach(t, sc, label)
        policy_fixture = policy_future.result()[0] if policy_future is not None else None
        if "policy" in parts and policy_fixture is not None:
            # The manifest's policy (policy.py), on the same lab before any choke point change.
            policy.check_policy(t, sc, label, policy_fixture, NETWORK, scan_ports(),
                                (norm_hop, Ids, check_hops, FIXTURE))
        if "attack" in parts:
            check_chokes(t, sc, label, workroot / backend)
    except Exception as e:  # noqa: BLE001  the run fails, the tally says so
        t.check(False, "%s: %s: %s" % (label, type(e).__name__, e))
    finally:
        lab.teardown()
        t.say("%s %s: %d checks, %d failed [ip %s, rules from iptables-%s-save] %.1f s"
              % ("ok  " if not t.failed else "FAIL", label, t.passed + t.failed, t.failed,
                 "json" if ip_json else "text", backend, time.monotonic() - t0))
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--portolan", metavar="PATH", help="portolan binary to use (no build)")
    ap.add_argument("--backend", choices=["legacy", "nft"], help="only this iptables backend")
    ap.add_argument("--keep", action="store_true", help="do not delete the namespaces")
    ap.add_argument("--policy-only", action="store_true",
                    help="only the policy checks (policy.py), not the attack paths")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("attack paths kernel test: skipped, must run as root (it creates network "
              "namespaces)")
        sys.exit(0)
    backends = [args.backend] if args.backend else ["legacy", "nft"]
    tools = ["ip", "ss"] + ["iptables-%s%s" % (b, s) for b in backends
                            for s in ("", "-save", "-restore")]
    missing = [x for x in tools if shutil.which(x) is None]
    if missing:
        sys.exit("attack paths kernel test: missing tools: %s (Debian packages: iproute2, "
                 "iptables)" % ", ".join(missing))
    netlab.KEEP = args.keep
    import run as kernel_run  # the kernel tests' portolan build (release, rebuilt when stale)
    atexit.register(netlab.cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, kernel_run._on_signal)

    started = time.monotonic()
    binary = kernel_run.ensure_portolan(args.portolan)
    t = Tally(args.verbose)
    workroot = Path(tempfile.mkdtemp(prefix="portolan-attack-"))
    pool = ThreadPoolExecutor(max_workers=len(backends))
    parts = ("policy",) if args.policy_only else ("attack", "policy")
    # The policy report on the fixture, computed while the labs are built.
    side = ThreadPoolExecutor(max_workers=1)
    policy_future = side.submit(policy.run_check, binary, FIXTURE)
    try:
        fixture, proc = analyze(binary, FIXTURE)
        if fixture is None:
            t.check(False, "portolan analyze on the fixture", [proc.stderr[-2000:]])
        else:
            origins = [o["name"] for o in fixture.get("origins") or []]
            have = {p["origin"] for p in fixture.get("attack_paths") or []}
            t.check(bool(origins) and set(origins) <= have,
                    "fixture: attack paths from every origin (%s)" % ", ".join(origins),
                    ["paths only from: %s" % ", ".join(sorted(have)),
                     "notes: %s" % fixture.get("attack_notes")])
            print("attack paths kernel test: %d paths on the fixture, backends %s, work dir %s"
                  % (len(fixture.get("attack_paths") or []), ", ".join(backends), workroot),
                  flush=True)
            for line in t.lines:
                print(line)
            t.lines = []
            # The backends side by side, each in its own namespaces.
            futures = [pool.submit(run_backend, binary, fixture, backend, n % 2 == 1,
                                   workroot, n, args.verbose, policy_future, parts)
                       for n, backend in enumerate(backends)]
            for fut in futures:
                r = fut.result()
                for line in r.lines:
                    print(line)
                sys.stdout.flush()
                t.passed += r.passed
                t.failed += r.failed
        policy_fixture, pproc = policy_future.result()
        t.check(policy_fixture is not None, "policy: portolan check --manifest %s on the fixture "
                "(exit %d): %s" % (policy.MANIFEST.relative_to(ROOT), pproc.returncode,
                                   "%d entries, %d violations, %d unused allowances" % (
                                       len(policy_fixture.get("entries") or []),
                                       len(policy_fixture.get("violations") or []),
                                       len(policy_fixture.get("unused") or []))
                                   if policy_fixture else "no report"),
                [pproc.stderr[-2000:]])
        for line in t.lines:
            print(line)
        t.lines = []
        pool.shutdown()
        side.shutdown()
    except KeyboardInterrupt:
        print("interrupted; cleaning up", flush=True)
        netlab.STOP.set()
        pool.shutdown(wait=False, cancel_futures=True)
        side.shutdown(wait=False, cancel_futures=True)
        netlab.cleanup_all()
        print("%d passed, %d failed (interrupted)" % (t.passed, t.failed + 1))
        sys.exit(130)
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    print("attack paths: %.1f s" % (time.monotonic() - started))
    print("%d passed, %d failed" % (t.passed, t.failed))
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    main()
