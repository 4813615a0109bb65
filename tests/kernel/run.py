#!/usr/bin/env python3
"""Differential test of Portolan's verdicts against the Linux kernel.

For each ruleset in tests/kernel/rulesets/ (and mutated variants of some), this builds a small
network of namespaces around a firewall namespace, loads the ruleset there with
iptables-legacy-restore and, in a second run, iptables-nft-restore, opens real TCP/UDP/ICMP
flows through it, and compares what got through with what `portolan query --flows` says about
the same flows given the firewall's own `ip addr`/`ip route` dumps and the ruleset.

Usage (as root; Python 3.11 standard library only):
  python3 tests/kernel/run.py [--quick] [--keep] [--only NAME] [--kernel-only] [-v]

The last line printed is `N passed, N failed`; the exit status is non-zero on any failure.
"""

import argparse
import atexit
import csv
import functools
import io
import ipaddress
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AGENT = HERE / "agent.py"
RULESETS = HERE / "rulesets"

sys.path.insert(0, str(HERE))
from scenarios import SCENARIOS  # noqa: E402
from scenarios_nft import NFT_SCENARIOS, pseudo_rules  # noqa: E402

RULESETS_NFT = HERE / "rulesets-nft"

REQUIRED_TOOLS = ["ip", "iptables-legacy-restore", "iptables-legacy-save",
                  "iptables-nft-restore", "iptables-nft-save", "ip6tables-legacy-restore",
                  "ip6tables-legacy-save", "ip6tables-nft-restore", "ip6tables-nft-save", "nft"]

# ---------------------------------------------------------------------------------------------
# The lab. Every scenario runs on this topology; namespaces are created per run and deleted
# after it, so no conntrack entry or neighbour state leaks from one run into the next.
# ---------------------------------------------------------------------------------------------

FW = "fw"
# Firewall interfaces: name -> (peer namespace, addresses). The first IPv4 address is the
# primary one (the address REDIRECT and MASQUERADE use).
FW_IFACES = {
    "wan0": ("inet", ["203.0.113.1/24", "203.0.113.2/24",
                      "2001:db8:ffff::1/64", "2001:db8:ffff::2/64"]),
    "dmz0": ("dmz", ["192.168.10.1/24", "2001:db8:10::1/64"]),
    "lan0": ("lan", ["10.0.0.1/24", "2001:db8:100::1/64"]),
    "lan1": ("branch", ["10.0.1.1/24", "2001:db8:101::1/64"]),
}
FW_ROUTES = ["default via 203.0.113.254 dev wan0", "172.16.0.0/16 via 10.0.1.254 dev lan1",
             "default via 2001:db8:ffff::fe dev wan0",
             "2001:db8:1600::/48 via 2001:db8:101::fe dev lan1"]
# Host namespaces: addresses on their eth0 (facing the firewall), addresses on lo (networks
# behind them, reached through them), default routes.
HOSTS = {
    "inet": {"eth0": ["203.0.113.254/24", "203.0.113.10/24",
                      "2001:db8:ffff::fe/64", "2001:db8:ffff::10/64"],
             "lo": ["198.51.100.10/32", "198.51.100.20/32", "192.0.2.50/32",
                    "2001:db8:5100::10/128", "2001:db8:5100::20/128"],
             "gw": ["203.0.113.1", "2001:db8:ffff::1"]},
    "dmz": {"eth0": ["192.168.10.10/24", "192.168.10.11/24", "192.168.10.20/24",
                     "2001:db8:10::10/64", "2001:db8:10::11/64", "2001:db8:10::20/64"],
            "lo": [], "gw": ["192.168.10.1", "2001:db8:10::1"]},
    "lan": {"eth0": ["10.0.0.10/24", "10.0.0.11/24", "10.0.0.12/24", "10.0.0.50/24",
                     "2001:db8:100::10/64", "2001:db8:100::11/64", "2001:db8:100::50/64"],
            "lo": [], "gw": ["10.0.0.1", "2001:db8:100::1"]},
    "branch": {"eth0": ["10.0.1.254/24", "10.0.1.10/24",
                        "2001:db8:101::fe/64", "2001:db8:101::10/64"],
               "lo": ["172.16.5.5/32", "172.16.9.9/32", "2001:db8:1600:5::5/128"],
               "gw": ["10.0.1.1", "2001:db8:101::1"]},
}
ROLES = [FW] + list(HOSTS)
FW_IFACE_OF = {peer: name for name, (peer, _) in FW_IFACES.items()}


def _ip(cidr):
    return cidr.split("/")[0]


def family(addr):
    return 6 if ":" in addr else 4


def _nodad(cidr):
    # Duplicate address detection would hold IPv6 addresses "tentative" for a second or two.
    return " nodad" if family(cidr) == 6 else ""


# address -> namespace role owning it
OWNER = {}
for _name, (_peer, _addrs) in FW_IFACES.items():
    for _a in _addrs:
        OWNER[_ip(_a)] = FW
for _role, _h in HOSTS.items():
    for _a in _h["eth0"] + _h["lo"]:
        OWNER[_ip(_a)] = _role
ADDRESSES = sorted(OWNER, key=lambda a: (family(a), ipaddress.ip_address(a)))
CLIENT_ADDRESSES = [a for a in ADDRESSES if OWNER[a] != FW]


def ns_addrs(role):
    if role == FW:
        return [_ip(a) for _, (_, addrs) in FW_IFACES.items() for a in addrs]
    return [_ip(a) for a in HOSTS[role]["eth0"] + HOSTS[role]["lo"]]


# ---------------------------------------------------------------------------------------------
# Processes and cleanup
# ---------------------------------------------------------------------------------------------

_LABS = set()
_LABS_LOCK = threading.Lock()
KEEP = False
STOP = threading.Event()  # set on interrupt: no new lab, no new process

import netlab  # noqa: E402  (whole-network runs; they share the interrupt flag)
netlab.STOP = STOP


def sh(args, input_text=None, check=True, timeout=30):
    """Run a command; return stdout. Raises with stderr on failure when check."""
    proc = subprocess.run(args, input=input_text, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (
            proc.returncode, " ".join(shlex.quote(a) for a in args), proc.stderr.strip()))
    return proc.stdout


def cleanup_all():
    with _LABS_LOCK:
        labs = list(_LABS)
    for lab in labs:
        lab.teardown()
    netlab.cleanup_all()


def _on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


class Lab:
    """The namespaces of one run."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.ns = {role: prefix + role for role in ROLES}
        self.created = []
        self.servers = []
        self.lock = threading.Lock()
        self.torn_down = False
        if STOP.is_set():
            raise RuntimeError("interrupted")
        with _LABS_LOCK:
            _LABS.add(self)

    def _track(self, proc):
        """Remember a process for teardown; if the lab is already gone, end it at once."""
        with self.lock:
            if not self.torn_down:
                self.servers.append(proc)
                return
        proc.kill()
        raise RuntimeError("lab torn down (interrupted)")

    def build(self):
        for role in ROLES:
            sh(["ip", "netns", "add", self.ns[role]])
            with self.lock:
                if not self.torn_down:
                    self.created.append(self.ns[role])
                    continue
            sh(["ip", "netns", "del", self.ns[role]], check=False)
            raise RuntimeError("lab torn down (interrupted)")
        # Settings first, so interfaces created afterwards inherit the defaults.
        for role in ROLES:
            settings = ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                        "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_echo_ignore_all=0",
                        "net.ipv4.ip_forward=%d" % (1 if role == FW else 0),
                        "net.ipv6.conf.all.forwarding=%d" % (1 if role == FW else 0),
                        "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                        "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
                        "net.ipv6.icmp.ratelimit=0"]
            if role != FW:
                settings.append("net.ipv4.ip_local_port_range=50000 60999")
            self.sysctl(role, settings)
        batch = ["link set lo up"]
        for name, (peer, addrs) in FW_IFACES.items():
            batch.append("link add %s type veth peer name eth0 netns %s" % (name, self.ns[peer]))
            for a in addrs:
                batch.append("addr add %s dev %s%s" % (a, name, _nodad(a)))
            batch.append("link set %s up" % name)
        for r in FW_ROUTES:
            batch.append("route add %s" % r)
        sh(["ip", "-n", self.ns[FW], "-batch", "-"], "\n".join(batch) + "\n")
        for role, h in HOSTS.items():
            batch = ["link set lo up"]
            for a in h["eth0"]:
                batch.append("addr add %s dev eth0%s" % (a, _nodad(a)))
            for a in h["lo"]:
                batch.append("addr add %s dev lo%s" % (a, _nodad(a)))
            batch.append("link set eth0 up")
            for gw in h["gw"]:
                batch.append("route add default via %s dev eth0" % gw)
            sh(["ip", "-n", self.ns[role], "-batch", "-"], "\n".join(batch) + "\n")
        for role in ROLES:
            ifaces = ["lo"] + (list(FW_IFACES) if role == FW else ["eth0"])
            self.sysctl(role, ["net.ipv4.conf.%s.rp_filter=0" % i for i in ifaces])

    def sysctl(self, role, settings):
        """Write net.* settings inside a namespace (through /proc/sys, no procps needed)."""
        script = "set -e\n" + "".join(
            "echo %s > /proc/sys/%s\n" % (shlex.quote(v), k.replace(".", "/"))
            for k, v in (kv.split("=", 1) for kv in settings))
        sh(["ip", "netns", "exec", self.ns[role], "/bin/sh", "-c", script])

    def start_servers(self, tcp_ports, udp_ports):
        """Listeners in every namespace; each also pokes its neighbours (see agent.py)."""
        procs = []
        fw_addrs = ns_addrs(FW)
        pokes = {FW: [["", _ip(a)] for h in HOSTS.values() for a in h["eth0"]]}
        for role, h in HOSTS.items():
            pokes[role] = [["", a] for a in fw_addrs]
        for role in ROLES:
            spec = {"tcp": sorted(tcp_ports), "udp": sorted(udp_ports), "addrs": ns_addrs(role),
                    "poke": pokes[role]}
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

    def wait_neighbours(self):
        """Wait until the firewall has resolved every host (poked by start_servers)."""
        # Let the answers to the ARP requests arrive.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            out = sh(["ip", "-n", self.ns[FW], "neigh", "show"], check=False)
            known = {line.split()[0] for line in out.splitlines() if " lladdr " in line}
            if all(_ip(a) in known for h in HOSTS.values() for a in h["eth0"]):
                break
            time.sleep(0.05)

    def load(self, fam, backend, rules_text):
        tool = "%stables-%s-restore" % ("ip6" if fam == 6 else "ip", backend)
        sh(["ip", "netns", "exec", self.ns[FW], tool], rules_text)

    def save(self, fam, backend):
        tool = "%stables-%s-save" % ("ip6" if fam == 6 else "ip", backend)
        return sh(["ip", "netns", "exec", self.ns[FW], tool])

    def dump_ip(self, json_format):
        """The firewall's `ip addr`, `ip route` and `ip -6 route`, as text or JSON."""
        j = ["-j"] if json_format else []
        return (sh(["ip", "-n", self.ns[FW]] + j + ["addr"]),
                sh(["ip", "-n", self.ns[FW]] + j + ["route"]),
                sh(["ip", "-n", self.ns[FW], "-6"] + j + ["route"]))

    def probe(self, flows, timeout, workers=128):
        """Open every flow from its source namespace; return {id: (ok, why)}."""
        by_role = {}
        for f in flows:
            by_role.setdefault(OWNER[f["src"]], []).append(f)
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
        # Listeners first (deleting a namespace does not end its processes), then namespaces.
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
            pids = sh(["ip", "netns", "pids", ns], check=False).split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            sh(["ip", "netns", "del", ns], check=False)


# ---------------------------------------------------------------------------------------------
# Rulesets: parsing just enough to aim flows at rules, and mutating
# ---------------------------------------------------------------------------------------------

VALUE_OPTS = {
    "-s": "src", "--source": "src", "-d": "dst", "--destination": "dst",
    "-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out",
    "-p": "proto", "--protocol": "proto", "--dport": "dport", "--destination-port": "dport",
    "--dports": "dport", "--destination-ports": "dport", "--sport": "sport",
    "--source-port": "sport", "--sports": "sport", "--source-ports": "sport",
    "--ports": "ports",
    "--src-range": "srange", "--dst-range": "drange", "-j": "jump", "-g": "goto",
    "--to-destination": "to_dst", "--to-ports": "to_ports", "--to-source": "to_src",
    "-m": "module", "--ctstate": "ctstate", "--state": "state", "--comment": "comment",
    "--icmp-type": "icmp_type", "--reject-with": "reject_with", "-A": "chain",
}


class Rule:
    def __init__(self, table, text, lineno):
        self.table = table
        self.text = text
        self.lineno = lineno
        self.opts = {}
        toks = shlex.split(text)
        neg = False
        i = 0
        while i < len(toks):
            t = toks[i]
            if t == "!":
                neg = True
                i += 1
                continue
            key = VALUE_OPTS.get(t)
            if key and i + 1 < len(toks):
                if key != "module":
                    self.opts[key] = (neg, toks[i + 1])
                i += 2
            else:
                i += 1
            neg = False
        self.chain = self.opts.get("chain", (False, ""))[1]


def parse_rules(text):
    table = None
    rules = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s.startswith("*"):
            table = s[1:]
        elif s.startswith("-A "):
            rules.append(Rule(table, s, lineno))
    return rules


def port_items(spec):
    """'22,80:90' -> [(22, 22), (80, 90)]"""
    out = []
    for part in spec.split(","):
        if ":" in part:
            lo, hi = part.split(":", 1)
            out.append((int(lo or 0), int(hi or 65535)))
        elif part:
            out.append((int(part), int(part)))
    return out


def rule_ports(rules):
    """Ports worth probing and ports that need a listener, per protocol."""
    probe = {"tcp": {22, 80, 443, 8080, 9000}, "udp": {53, 9001}}
    listen = {"tcp": set(), "udp": set()}
    for r in rules:
        proto = r.opts.get("proto", (False, ""))[1]
        protos = [proto] if proto in probe else list(probe)
        for key in ("dport",):
            if key in r.opts:
                for lo, hi in port_items(r.opts[key][1]):
                    for p in {lo, hi, (lo + hi) // 2, hi + 1 if hi < lo + 50 else hi}:
                        if 0 < p < 40000:
                            for pr in protos:
                                probe[pr].add(p)
        if "to_dst" in r.opts:
            target = r.opts["to_dst"][1]
            if target.startswith("["):  # [2001:db8::1]:80
                ports = target.partition("]")[2].lstrip(":")
            elif target.count(":") == 1:  # 192.0.2.1:80
                ports = target.split(":", 1)[1]
            else:  # an address alone
                ports = ""
            if ports:
                for lo, hi in port_items(ports.replace("-", ":")):
                    for pr in protos:
                        listen[pr].update({lo, hi})
        if "to_ports" in r.opts:
            for lo, hi in port_items(r.opts["to_ports"][1].replace("-", ":")):
                for pr in protos:
                    listen[pr].update({lo, hi})
    for pr in listen:
        listen[pr] |= probe[pr]
    return probe, listen


PROTO_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp", "ipv6-icmp": "icmp",
               "icmpv6": "icmp", "icmp6": "icmp"}


def iface_match(pattern, name):
    if name is None:
        return False
    if pattern.endswith("+"):
        return name.startswith(pattern[:-1])
    return name == pattern


@functools.lru_cache(maxsize=None)
def addr_match(spec, addr):
    a = ipaddress.ip_address(addr)
    return any(a.version == n.version and a in n
               for n in (ipaddress.ip_network(p, strict=False) for p in spec.split(",")))


@functools.lru_cache(maxsize=None)
def range_match(spec, addr):
    lo, _, hi = spec.partition("-")
    a = ipaddress.ip_address(addr)
    lo, hi = ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo)
    return a.version == lo.version and lo <= a <= hi


@functools.lru_cache(maxsize=None)
def ports_match(spec, port):
    return any(lo <= port <= hi for lo, hi in port_items(spec))


def rule_matches(rule, flow):
    """Does this rule match the flow's first packet as the client sends it? Only used to aim
    flows at rules, so it may be approximate."""
    src, dst, proto, port = flow["src"], flow["dst"], flow["proto"], flow["port"]
    to_fw = OWNER[dst] == FW
    in_if = FW_IFACE_OF.get(OWNER[src])
    out_if = None if to_fw else FW_IFACE_OF.get(OWNER[dst])
    if rule.chain in ("INPUT",) and not to_fw:
        return False
    if rule.chain in ("FORWARD", "POSTROUTING") and to_fw:
        return False
    if rule.chain in ("OUTPUT",):
        return False
    o = rule.opts

    def check(key, fn):
        if key not in o:
            return True
        neg, val = o[key]
        return fn(val) != neg

    ok = (check("in", lambda v: iface_match(v, in_if))
          and check("out", lambda v: iface_match(v, out_if))
          and check("src", lambda v: addr_match(v, src))
          and check("dst", lambda v: addr_match(v, dst))
          and check("srange", lambda v: range_match(v, src))
          and check("drange", lambda v: range_match(v, dst))
          and check("proto", lambda v: PROTO_NAMES.get(v.lower(), v.lower()) == proto))
    if not ok:
        return False
    if "dport" in o:
        if proto == "icmp" or not check("dport", lambda v: ports_match(v, port)):
            return False
    return True


def mutate(text, kind, rule_text):
    lines = text.splitlines()
    idx = [i for i, l in enumerate(lines) if l.strip() == rule_text]
    if len(idx) != 1:
        raise ValueError("mutation target found %d times: %s" % (len(idx), rule_text))
    i = idx[0]
    if kind == "delete":
        del lines[i]
    elif kind == "swap":
        chain = rule_text.split()[1]
        if i + 1 >= len(lines) or not lines[i + 1].startswith("-A %s " % chain):
            raise ValueError("no next rule in chain %s after: %s" % (chain, rule_text))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif kind == "flip":
        if lines[i].endswith(" -j ACCEPT"):
            lines[i] = lines[i][: -len("ACCEPT")] + "DROP"
        elif lines[i].endswith(" -j DROP"):
            lines[i] = lines[i][: -len("DROP")] + "ACCEPT"
        else:
            raise ValueError("flip needs a rule ending in -j ACCEPT or -j DROP: %s" % rule_text)
    else:
        raise ValueError("unknown mutation %s" % kind)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Flows
# ---------------------------------------------------------------------------------------------

def make_flows(scenario, rules, quick):
    rng = random.Random(scenario["name"])
    probe_ports, _ = rule_ports(rules)
    uses_sport = any("sport" in r.opts or "ports" in r.opts for r in rules)
    services = ([("tcp", p) for p in sorted(probe_ports["tcp"])]
                + [("udp", p) for p in sorted(probe_ports["udp"])] + [("icmp", 0)])
    fam = scenario.get("family", 4)
    candidates = []
    for src in CLIENT_ADDRESSES:
        for dst in ADDRESSES:
            if OWNER[src] == OWNER[dst] or family(src) != fam or family(dst) != fam:
                continue
            for proto, port in services:
                candidates.append({"src": src, "dst": dst, "proto": proto, "port": port})
    chosen = []
    seen = set()

    def add(f):
        key = (f["src"], f["dst"], f["proto"], f["port"], f.get("sport"))
        if key in seen:
            return
        if (f["src"] not in OWNER or f["dst"] not in OWNER or OWNER[f["src"]] == FW
                or family(f["src"]) != fam or family(f["dst"]) != fam):
            raise ValueError("flow outside the lab or of the wrong family: %r" % (f,))
        seen.add(key)
        chosen.append(f)

    for item in scenario.get("focus", []):
        f = {"src": item[0], "dst": item[1], "proto": item[2], "port": item[3]}
        if len(item) > 4:
            f["sport"] = item[4]
        add(f)
    per_rule = 1 if quick else 3
    for r in rules:
        matching = [c for c in candidates if rule_matches(r, c)]
        for c in rng.sample(matching, min(per_rule, len(matching))):
            f = dict(c)
            if "sport" in r.opts and not r.opts["sport"][0] and f["proto"] != "icmp":
                f["sport"] = port_items(r.opts["sport"][1])[0][0]
            add(f)
    target = 45 if quick else 150
    for c in rng.sample(candidates, len(candidates)):
        if len(chosen) >= target:
            break
        add(dict(c))
    chosen = chosen[:400]  # hard bound per run
    for n, f in enumerate(chosen):
        f["id"] = n
        if uses_sport and f["proto"] != "icmp" and not f.get("sport"):
            f["sport"] = 40000 + n
    return chosen, uses_sport


ICMP_PORT = "echo-request"


def flows_csv(flows, with_sport):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["src", "dst", "proto", "port"] + (["sport"] if with_sport else []))
    for f in flows:
        proto, port = f["proto"], f["port"]
        if proto == "icmp":
            proto, port = ("icmpv6", "128") if family(f["dst"]) == 6 else ("icmp", ICMP_PORT)
        row = [f["src"], f["dst"], proto, port]
        if with_sport:
            row.append(f.get("sport") or "")
        w.writerow(row)
    return buf.getvalue()


def flow_str(f):
    s = "%s -> %s %s" % (f["src"], f["dst"], f["proto"])
    if f["proto"] != "icmp":
        s += "/%s" % f["port"]
    if f.get("sport"):
        s += " sport %s" % f["sport"]
    return s


# ---------------------------------------------------------------------------------------------
# Portolan
# ---------------------------------------------------------------------------------------------

def newest_source_mtime():
    newest = 0.0
    for p in [ROOT / "Cargo.toml", ROOT / "Cargo.lock"]:
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    for p in (ROOT / "src").rglob("*"):
        if p.is_file():
            newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_portolan(explicit):
    if explicit:
        return Path(explicit)
    binary = ROOT / "target" / "release" / "portolan"
    if not binary.exists() or binary.stat().st_mtime < newest_source_mtime():
        print("building portolan: cargo build --release --bin portolan", flush=True)
        cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
        proc = subprocess.run([cargo, "build", "--release", "--bin", "portolan"], cwd=ROOT)
        if proc.returncode != 0 or not binary.exists():
            sys.exit("kernel test: building portolan failed")
    return binary


def run_portolan(binary, workdir, flows, with_sport):
    csv_path = workdir / "flows.csv"
    csv_path.write_text(flows_csv(flows, with_sport))
    proc = subprocess.run([str(binary), "query", "--flows", str(csv_path), str(workdir / "fw")],
                          capture_output=True, text=True, timeout=120)
    rows = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            rows.append({"verdict": "unparsable", "raw": line})
    return proc.returncode, rows, proc.stderr


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------

class Run:
    def __init__(self, scenario, backend, rules_text, label, ip_json, rules_from_save,
                 mutation=None):
        self.scenario = scenario
        self.backend = backend
        self.rules_text = rules_text
        self.label = label
        self.ip_json = ip_json
        self.rules_from_save = rules_from_save
        self.mutation = mutation
        self.kernel = {}
        self.portolan = []
        self.error = None
        self.messages = []
        self.seconds = 0.0
        self.phases = (0.0, 0.0)
        self.rechecked = 0


def execute(run, flows, uses_sport, args, binary, workroot, counter):
    t0 = time.monotonic()
    lab = Lab("pk%dr%d-" % (os.getpid(), counter))
    try:
        native_nft = run.backend == "nftables"
        rules = pseudo_rules(run.rules_text, Rule) if native_nft else parse_rules(run.rules_text)
        _, listen = rule_ports(rules)
        tcp = set(listen["tcp"]) | {f["port"] for f in flows if f["proto"] == "tcp"}
        udp = set(listen["udp"]) | {f["port"] for f in flows if f["proto"] == "udp"}
        lab.build()
        lab.start_servers(tcp, udp)
        lab.wait_neighbours()
        fam = run.scenario.get("family", 4)
        if native_nft:
            sh(["ip", "netns", "exec", lab.ns[FW], "nft", "-f", "-"], run.rules_text)
        else:
            lab.load(fam, run.backend, run.rules_text)
        workdir = workroot / run.label.replace(" ", "_").replace("/", "_")
        (workdir / "fw").mkdir(parents=True)
        addr, route, route6 = lab.dump_ip(run.ip_json)
        suffix = ".json" if run.ip_json else ""
        (workdir / "fw" / ("ip-addr" + suffix)).write_text(addr)
        (workdir / "fw" / ("ip-route" + suffix)).write_text(route)
        if fam == 6:
            (workdir / "fw" / ("ip-6-route" + suffix)).write_text(route6)
        if native_nft:
            # the kernel's own dump, as text in one run and as JSON in the other
            j = ["-j"] if run.ip_json else []
            dump = sh(["ip", "netns", "exec", lab.ns[FW], "nft"] + j + ["list", "ruleset"])
            (workdir / "fw" / ("ruleset.json" if j else "ruleset.nft")).write_text(dump)
        else:
            rules_file = run.rules_text if not run.rules_from_save else lab.save(fam, run.backend)
            (workdir / "fw" / ("rules.v%d" % fam)).write_text(rules_file)
        if binary is not None:
            rc, rows, err = run_portolan(binary, workdir, flows, uses_sport)
            run.portolan = rows
            if rc != 0 or len(rows) != len(flows):
                run.messages.append("portolan exited %d with %d of %d lines: %s"
                                    % (rc, len(rows), len(flows), err.strip()[:2000]))
        t1 = time.monotonic()
        run.kernel = lab.probe(flows, args.timeout)
        # A timeout is weak evidence (a loaded machine can be slow to answer); an answer is
        # strong evidence. Where the kernel timed out and Portolan says allowed, probe again
        # with a longer timeout before calling it a disagreement. This can only turn a
        # spurious "denied" into "allowed", never make a real denial pass.
        suspects = [f for f in flows
                    if run.kernel.get(f["id"], (None, ""))[1] == "timeout"
                    and portolan_row(run, f).get("verdict") == "allowed"]
        if suspects:
            again = lab.probe(suspects, max(2.0, 4 * args.timeout))
            for f in suspects:
                ok, why = again.get(f["id"], (None, "no result"))
                if ok:
                    run.kernel[f["id"]] = (ok, "timeout, then %s on a second probe" % why)
                    run.rechecked += 1
        run.phases = (t1 - t0, time.monotonic() - t1)
        lab.teardown()
    except Exception as e:  # the run fails; the others go on
        run.error = "%s: %s" % (type(e).__name__, e)
    finally:
        lab.teardown()
        run.seconds = time.monotonic() - t0
    return run


def kernel_verdict(run, flow):
    r = run.kernel.get(flow["id"])
    if r is None or r[0] is None:
        return "probe-error"
    return "allowed" if r[0] else "denied"


def portolan_row(run, flow):
    if flow["id"] < len(run.portolan):
        return run.portolan[flow["id"]]
    return {"verdict": "missing"}


def fields_agree(row, flow):
    """The output row echoes the input fields: check it is the flow we think it is."""
    if row.get("verdict") in ("missing", "unparsable"):
        return True
    return (str(row.get("src")) == flow["src"] and str(row.get("dst")) == flow["dst"]
            and str(row.get("proto")).lower().startswith(flow["proto"]))


def main():
    global KEEP
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="fewer flows per ruleset, one mutation per ruleset")
    ap.add_argument("--keep", action="store_true", help="do not delete the namespaces")
    ap.add_argument("--only", metavar="NAME", help="only rulesets whose name contains NAME")
    ap.add_argument("--backend", choices=["legacy", "nft"], help="only this iptables backend")
    ap.add_argument("--no-mutations", action="store_true", help="skip the mutation runs")
    ap.add_argument("--ruleset", metavar="FILE",
                    help="run this iptables-save file on the lab instead of the scenarios")
    ap.add_argument("--kernel-only", action="store_true",
                    help="probe the kernel only and print its verdicts (no portolan)")
    ap.add_argument("--portolan", metavar="PATH", help="portolan binary to use (no build)")
    ap.add_argument("--timeout", type=float, default=0.5, help="probe timeout, seconds")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel")
    ap.add_argument("--max-seconds", type=float, default=900,
                    help="stop starting new runs after this long")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every flow")
    args = ap.parse_args()
    KEEP = args.keep
    netlab.KEEP = args.keep

    if os.geteuid() != 0:
        sys.exit("kernel test: must run as root (it creates network namespaces)")
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        sys.exit("kernel test: missing tools: %s (Debian packages: iproute2, iptables, nftables)"
                 % ", ".join(missing))
    if sys.version_info < (3, 11):
        sys.exit("kernel test: needs Python 3.11 or newer")

    atexit.register(cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _on_signal)

    started = time.monotonic()
    binary = None if args.kernel_only else ensure_portolan(args.portolan)
    workroot = Path(tempfile.mkdtemp(prefix="portolan-kernel-"))

    # Plan the runs.
    plan = []  # (run, flows, uses_sport, base_key)
    backends = [args.backend] if args.backend else ["legacy", "nft"]
    scenarios = SCENARIOS
    if args.ruleset:
        path = Path(args.ruleset).resolve()
        scenarios = [{"name": path.stem, "path": path, "focus": [], "mutations": [],
                      "family": 6 if path.suffix == ".v6" else 4}]
    for si, sc in enumerate(scenarios):
        if args.only and args.only not in sc["name"]:
            continue
        fam = sc.get("family", 4)
        text = Path(sc.get("path") or RULESETS / ("%s.v%d" % (sc["name"], fam))).read_text()
        flows, uses_sport = make_flows(sc, parse_rules(text), args.quick)
        for bi, backend in enumerate(backends):
            ip_json = (si + bi) % 2 == 1
            from_save = backend == "nft"
            label = "%s %s" % (sc["name"], backend)
            plan.append((Run(sc, backend, text, label, ip_json, from_save), flows, uses_sport))
        if args.no_mutations:
            continue
        mutations = sc.get("mutations", [])
        if args.quick:
            mutations = mutations[:1]
        for mi, (kind, rule) in enumerate(mutations):
            backend = backends[mi % len(backends)]
            mtext = mutate(text, kind, rule)
            label = "%s %s mutation %d (%s)" % (sc["name"], backend, mi + 1, kind)
            plan.append((Run(sc, backend, mtext, label, (si + mi) % 2 == 0, backend == "nft",
                             mutation=(kind, rule)), flows, uses_sport))

    # Native nftables rulesets (scenarios_nft.py): loaded with nft -f, given to Portolan as the
    # kernel's `nft list ruleset` (one run) and `nft -j list ruleset` (the other).
    for sc in [] if args.ruleset or args.backend == "legacy" else NFT_SCENARIOS:
        if args.only and args.only not in sc["name"]:
            continue
        text = (RULESETS_NFT / ("%s.nft" % sc["name"])).read_text()
        flows, uses_sport = make_flows(sc, pseudo_rules(text, Rule), args.quick)
        for as_json in (False, True):
            label = "%s nft%s" % (sc["name"], " -j" if as_json else "")
            plan.append((Run(sc, "nftables", text, label, as_json, True), flows, uses_sport))
        if args.no_mutations:
            continue
        for mi, (kind, rule) in enumerate(sc.get("mutations", [])[:1 if args.quick else None]):
            label = "%s nft mutation %d (%s)" % (sc["name"], mi + 1, kind)
            plan.append((Run(sc, "nftables", mutate(text, kind, rule), label, mi % 2 == 1, True,
                             mutation=(kind, rule)), flows, uses_sport))

    # Whole networks (networks.py): every router of a scenario in its own namespace.
    net_plan = netlab.plan(args, mutate)

    total_flows = sum(len(f) for _, f, _ in plan) + sum(len(r.flows) for r in net_plan)
    print("kernel differential test: %d runs (%d of them whole networks), %d flows (%s), "
          "work dir %s" % (len(plan) + len(net_plan), len(net_plan), total_flows,
                          "quick" if args.quick else "full", workroot), flush=True)

    passed = failed = 0
    done = []
    net_done = []
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        futures = []
        # Network runs first: they are the longest, so the pool ends evenly.
        for n, run in enumerate(net_plan):
            futures.append((pool.submit(
                lambda r=run, k=n:
                netlab.execute(r, args, binary, workroot, k)
                if time.monotonic() - started < args.max_seconds
                else _skipped(r)), None))
        for n, (run, flows, uses_sport) in enumerate(plan):
            futures.append((pool.submit(
                lambda r=run, f=flows, u=uses_sport, k=n:
                execute(r, f, u, args, binary, workroot, k)
                if time.monotonic() - started < args.max_seconds
                else _skipped(r)), flows))
        for fut, flows in futures:
            run = fut.result()
            if flows is None:
                net_done.append(run)
                p, f = netlab.report(run, args)
            else:
                done.append((run, flows))
                p, f = report_run(run, flows, args)
            passed += p
            failed += f
        pool.shutdown()
        p, f = netlab.check_mutations(net_done, args, binary is not None)
        passed += p
        failed += f
        # Mutations must be observable: some flow changes verdict on both sides.
        bases = {(r.scenario["name"], r.backend): (r, fl) for r, fl in done if not r.mutation}
        for run, flows in done:
            if not run.mutation or run.error:
                continue
            base = bases.get((run.scenario["name"], run.backend))
            if base is None or base[0].error:
                print("FAIL %s: no base run to compare with" % run.label)
                failed += 1
                continue
            changed_k = [f for f in flows
                         if {kernel_verdict(run, f), kernel_verdict(base[0], f)}
                         == {"allowed", "denied"}]
            if binary is None:
                both = changed_k
            else:
                both = [f for f in changed_k
                        if portolan_row(run, f).get("verdict")
                        != portolan_row(base[0], f).get("verdict")]
            what = "%s %s" % run.mutation
            if both:
                passed += 1
                if args.verbose:
                    print("ok   %s observable (%s): %d flows changed, e.g. %s"
                          % (run.label, what, len(both), flow_str(both[0])))
            else:
                failed += 1
                print("FAIL %s not observable (%s): kernel changed %d flows, none on both sides"
                      % (run.label, what, len(changed_k)))
        # Attack paths (attack.py): the kernel confirms each hop of the attack scenario's paths,
        # and the policy report's witnesses (policy.py, in the same lab).
        if binary is not None and not args.ruleset and \
                (not args.only or args.only in "attack" or args.only in "policy"):
            p, f = run_attack(binary, args)
            passed += p
            failed += f
    except KeyboardInterrupt:
        print("interrupted; cleaning up", flush=True)
        STOP.set()
        pool.shutdown(wait=False, cancel_futures=True)
        cleanup_all()
        print("%d passed, %d failed (interrupted)" % (passed, failed + 1))
        sys.exit(130)
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)

    elapsed = time.monotonic() - started
    compared = sum(len(f) for r, f in done if not r.error)
    net_compared = sum(len(r.flows) for r in net_done if not r.error)
    print("%d runs, %d flows compared, %d mutations, %.1f s"
          % (len(done) + len(net_done), compared + net_compared,
             sum(1 for r, _ in done if r.mutation) + sum(1 for r in net_done if r.mutation),
             elapsed))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def run_attack(binary, args):
    """Run attack.py with the same binary and options, print its lines, return its tally."""
    cmd = [sys.executable, str(HERE / "attack.py"), "--portolan", str(binary)]
    cmd += (["--backend", args.backend] if args.backend else []) + \
        (["--keep"] if args.keep else []) + (["-v"] if args.verbose else [])
    if args.only and args.only in "policy" and args.only not in "attack":
        cmd.append("--policy-only")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tally = None
    try:
        for line in proc.stdout:
            words = line.split()
            if len(words) == 4 and words[1:] == ["passed,", words[2], "failed"] \
                    and words[0].isdigit() and words[2].isdigit():
                tally = (int(words[0]), int(words[2]))
                continue
            print(line, end="", flush=True)
        proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: attack.py cleans up its namespaces on SIGTERM
            proc.terminate()
            proc.wait(timeout=60)
    if tally is None:
        print("FAIL attack paths: attack.py exited %d without a tally" % proc.returncode)
        return 0, 1
    return tally[0], tally[1] + (1 if proc.returncode != 0 and tally[1] == 0 else 0)


def _skipped(run):
    run.error = "not started: time budget (--max-seconds) exhausted"
    return run


def report_run(run, flows, args):
    """Print the run's outcome; return (passed, failed) counts."""
    if run.error:
        print("FAIL %s: %s" % (run.label, run.error), flush=True)
        return 0, len(flows)
    passed = failed = 0
    allowed = 0
    lines = []
    for f in flows:
        k = kernel_verdict(run, f)
        allowed += k == "allowed"
        why = run.kernel.get(f["id"], (None, "no result"))[1]
        if args.kernel_only:
            if k == "probe-error":
                failed += 1
                lines.append("FAIL %s %s: kernel probe error (%s)" % (run.label, flow_str(f), why))
            else:
                passed += 1
                if args.verbose:
                    lines.append("  %-8s %-50s (%s)" % (k, flow_str(f), why))
            continue
        row = portolan_row(run, f)
        v = row.get("verdict")
        if k == v and fields_agree(row, f):
            passed += 1
            if args.verbose:
                lines.append("  %-8s %-50s (%s)" % (k, flow_str(f), why))
        else:
            failed += 1
            lines.append("MISMATCH %s: %s  kernel=%s (%s)  portolan=%s%s"
                         % (run.label, flow_str(f), k, why, v,
                            "" if fields_agree(row, f) else "  (output row is for %s -> %s)"
                            % (row.get("src"), row.get("dst"))))
            for key in ("reason", "uncertain", "error"):
                if row.get(key):
                    lines.append("      %s: %s" % (key, json.dumps(row[key], sort_keys=True)))
            for hop in row.get("hops", []) or []:
                lines.append("      hop: %s" % json.dumps(hop, sort_keys=True))
    status = "ok  " if failed == 0 else "FAIL"
    print("%s %s: %d flows, %d allowed by the kernel, %d agree, %d differ [rules %s, ip %s] "
          "%.1fs (setup %.1f, probes %.1f)"
          % (status, run.label, len(flows), allowed, passed, failed,
             "save" if run.rules_from_save else "file", "json" if run.ip_json else "text",
             run.seconds, run.phases[0], run.phases[1]), flush=True)
    if run.rechecked:
        print("      %d flows timed out at first and connected on a second, longer probe"
              % run.rechecked)
    for m in run.messages:
        print("      %s" % m)
    for line in lines:
        print(line)
    return passed, failed


if __name__ == "__main__":
    main()
