"""Policy checks against the Linux kernel, in the attack scenario's lab (attack.py).

`portolan check --manifest tests/golden/policy/policy.yaml` on the kernel's own configuration
(the routers' `iptables-save`, `ip addr` and `ip route`, as attack.py dumps them) says which
entries of management's policy hold and gives a witness connection for every violation. In the
same namespaces, after attack.py's own checks of the attack paths:

  1. The report equals the one on the committed fixture: every entry's kind, status and number of
     violations; every violation's id, kind, certainty, owner, witness (protocol, source,
     destination, ports) and set, and its hops with the rules by table, chain and position; the
     unused allowances, their witnesses and hops.
  2. Every violation's witness is connected in the kernel, from its own source address (added to
     the client namespace on its subnet, or to the Internet's loopback, when no namespace has it)
     and source port, to a listener on its final destination (after the destination NAT its hops
     name; an address no namespace has is added to the host on its subnet). must_not_reach,
     vendor scope and zone matrix violations: the kernel must establish the connection.
     must_reach violations: it must not (a timeout where the hops drop, a refusal where they
     reject; the listener is there, so only the firewall can stop it). Around each connection the
     routers' rule and interface counters are read: exactly the rules and policies the hops name
     counted it, on the routers the hops name (attack.py's check_hops; a dropping hop sends
     nothing out).
  3. Every entry is probed on a sample of its connections: from the lab's host addresses inside
     `from` (the Internet's client addresses for `internet`) to the lab's addresses inside `to`
     (routers included; for a vendor scope every estate address outside the origin's own
     network), over the TCP ports the rulesets, the scan and the manifest name plus one no one
     names, UDP 53 and ICMP echo, listeners on all of them. For an entry that holds, nothing
     forbidden connects; for a must_reach entry that holds, every required connection works. The
     zone pairs the matrix leaves out (nothing allowed) are probed likewise. Every sampled flow's
     kernel verdict must equal `portolan query --flows`.
  4. Zone matrix allowances: one the report calls unused (nothing implements it) must be blocked
     by the kernel on every sampled connection, its witness included (counters as in 2); every
     other allowance must connect somewhere in the sample.

Addresses and listeners added for these checks are removed afterwards, before attack.py goes on.
"""

import ipaddress
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = ROOT / "tests" / "golden" / "policy" / "policy.yaml"
AGENT = HERE / "agent.py"

sys.path.insert(0, str(HERE))
import netlab  # noqa: E402
from netlab import sh  # noqa: E402

# Probed besides the ports the rulesets, the scan and the manifest name: a TCP port nobody
# names, DNS over UDP and ICMP echo.
EXTRA_TCP = [7000]
SAMPLE_UDP = [53]
ICMP_ECHO = 8
PROTO_NUM = {"icmp": 1, "tcp": 6, "udp": 17}


# ---------------------------------------------------------------------------------------------
# The manifest: the flow-style YAML the fixture uses (block mappings and lists of flow
# collections), read without a YAML library.
# ---------------------------------------------------------------------------------------------

def _strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _depth(line):
    d, quote = 0, None
    for c in line:
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "[{":
            d += 1
        elif c in "]}":
            d -= 1
    return d


class _Flow:
    """A flow collection or scalar: `{a: b, c: [d, e]}`."""

    def __init__(self, text):
        self.s = text
        self.i = 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def value(self):
        self.ws()
        c = self.s[self.i:self.i + 1]
        if c == "{":
            self.i += 1
            out = {}
            while True:
                self.ws()
                if self.s[self.i:self.i + 1] == "}":
                    self.i += 1
                    return out
                key = self.scalar(key=True)
                self.ws()
                if self.s[self.i:self.i + 1] != ":":
                    raise ValueError("manifest: ':' expected in %r" % self.s)
                self.i += 1
                out[key] = self.value()
                self.ws()
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
        if c == "[":
            self.i += 1
            out = []
            while True:
                self.ws()
                if self.s[self.i:self.i + 1] == "]":
                    self.i += 1
                    return out
                out.append(self.value())
                self.ws()
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
        return self.scalar()

    def scalar(self, key=False):
        self.ws()
        c = self.s[self.i:self.i + 1]
        if c in ("'", '"'):
            end = self.s.index(c, self.i + 1)
            text = self.s[self.i + 1:end]
            self.i = end + 1
            return text
        start = self.i
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in ",]}":
                break
            if c == ":" and (self.i + 1 == len(self.s) or self.s[self.i + 1] in " \t,]}"):
                if key:
                    break
            self.i += 1
        return self.s[start:self.i].strip()


def _flow(text):
    f = _Flow(text)
    v = f.value()
    f.ws()
    if f.i != len(f.s):
        raise ValueError("manifest: trailing text in %r" % text)
    return v


def _split_key(text):
    m = re.match(r"^([^:{}\[\],\"']+):(?:\s+(.*))?$", text)
    if not m:
        return None
    return m.group(1).strip(), (m.group(2) or "").strip()


def _block(items, i, indent):
    if items[i][1].startswith("- ") or items[i][1] == "-":
        out = []
        while i < len(items) and items[i][0] == indent and \
                (items[i][1].startswith("- ") or items[i][1] == "-"):
            rest = items[i][1][1:].strip()
            if not rest:
                i += 1
                v, i = _block(items, i, items[i][0])
            elif rest[0] not in "[{\"'" and _split_key(rest):
                items[i] = (indent + 2, rest)  # "- key: value": a block mapping in the list
                v, i = _block(items, i, indent + 2)
            else:
                v, i = _flow(rest), i + 1
            out.append(v)
        return out, i
    out = {}
    while i < len(items) and items[i][0] == indent:
        kv = _split_key(items[i][1])
        if kv is None:
            raise ValueError("manifest: cannot read %r" % items[i][1])
        key, rest = kv
        i += 1
        if rest:
            out[key] = _flow(rest)
        elif i < len(items) and (items[i][0] > indent or
                                 (items[i][0] == indent and items[i][1].startswith("-"))):
            out[key], i = _block(items, i, items[i][0])
        else:
            out[key] = None
    return out, i


def read_manifest(text):
    items, buf, depth = [], None, 0
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if buf is None:
            if not line.strip():
                continue
            buf = (len(line) - len(line.lstrip()), line.strip())
        else:
            buf = (buf[0], buf[1] + " " + line.strip())
        depth += _depth(line)
        if depth <= 0:
            items.append(buf)
            buf, depth = None, 0
    if buf is not None:
        raise ValueError("manifest: unbalanced brackets at the end")
    if not items:
        return {}
    out, i = _block(items, 0, items[0][0])
    if i != len(items):
        raise ValueError("manifest: cannot read %r" % items[i][1])
    return out


def _nets(values):
    return [ipaddress.ip_network(str(v), strict=False) for v in values or []]


class Policy:
    """The manifest's names (origins, hosts, zones) as networks, and its entries."""

    def __init__(self, text):
        m = read_manifest(text)
        self.origins = {o["name"]: _nets(o.get("addresses")) for o in m.get("origins") or []}
        self.hosts = {}
        for h in m.get("hosts") or []:
            ips = h.get("ips") or ([h["ip"]] if h.get("ip") else [])
            self.hosts[h["name"]] = _nets(ips)
        self.zones = {z: _nets((v or {}).get("addresses")) for z, v in (m.get("zones") or {}).items()}
        p = m.get("policy") or {}
        self.must_not_reach = p.get("must_not_reach") or []
        self.must_reach = p.get("must_reach") or []
        self.vendor_scopes = p.get("vendor_scopes") or []
        self.matrix = p.get("matrix") or []

    def nets(self, name):
        """An endpoint as networks, "internet" for the Internet (as Portolan resolves it: zone:
        and host: prefixes, then an origin, a host or a zone of that name, then an address)."""
        name = str(name)
        if name == "internet":
            return "internet"
        if name.startswith("zone:"):
            return self.zones[name[5:]]
        if name.startswith("host:"):
            return self.hosts[name[5:]]
        for table in (self.origins, self.hosts, self.zones):
            if name in table:
                return table[name]
        return _nets([name])

    def canonical(self, name):
        """A zone matrix endpoint as Portolan names it in an entry id (`zone:NAME`)."""
        name = str(name)
        return "zone:%s" % name if name in self.zones else name


def parse_services(specs):
    """Service texts (`any`, `tcp`, `tcp/22`, `tcp/8000-8080`, `icmp/8`) as (protocol number or
    None for any, port range or None for all)."""
    out = []
    for s in specs or []:
        s = str(s).strip().lower()
        if s == "any":
            out.append((None, None))
            continue
        proto, _, ports = s.partition("/")
        num = PROTO_NUM.get(proto, int(proto) if proto.isdigit() else -1)
        if not ports:
            out.append((num, None))
        else:
            lo, _, hi = ports.partition("-")
            out.append((num, (int(lo), int(hi or lo))))
    return out


def service_in(svc, specs):
    """Whether a sampled service (proto, port; ICMP: its type) is among the specs."""
    proto, port = svc
    num = PROTO_NUM[proto]
    for p, ports in specs:
        if p is not None and p != num:
            continue
        if ports is None or ports[0] <= port <= ports[1]:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Portolan
# ---------------------------------------------------------------------------------------------

def run_check(binary, folder, manifest=MANIFEST):
    """`portolan check --format json --manifest`: (report or None, process). It exits 1 when
    an entry is violated; anything but 0 or 1 is an error."""
    proc = subprocess.run([str(binary), "check", "--format", "json", "--manifest", str(manifest),
                           str(folder)], capture_output=True, text=True, timeout=300)
    try:
        rep = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None, proc
    return (rep if proc.returncode in (0, 1) else None), proc


def query_rows(binary, folder, flows):
    """`portolan query --flows` for sampled flows (src, dst, proto, port): {flow: row}."""
    flows = sorted(set(flows))
    path = folder.parent / ("%s-policy-flows.csv" % folder.name)
    path.write_text(netlab.flows_csv([{"src": s, "dst": d, "proto": p, "port": n}
                                      for s, d, p, n in flows]))
    proc = subprocess.run([str(binary), "query", "--flows", str(path), str(folder)],
                          capture_output=True, text=True, timeout=300)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or len(rows) != len(flows):
        raise RuntimeError("portolan query exited %d with %d of %d rows: %s"
                           % (proc.returncode, len(rows), len(flows), proc.stderr[-1000:]))
    return dict(zip(flows, rows))


def witness_key(w):
    return (w.get("proto"), w.get("src"), w.get("dst"), w.get("port"), w.get("sport"))


def norm_violation(v, ids, norm_hop):
    return (v.get("id"), v.get("kind"), v.get("certainty"), v.get("owner"),
            witness_key(v.get("witness") or {}), v.get("set"), tuple(v.get("uncertain") or []),
            tuple(norm_hop(h, ids) for h in v.get("hops") or []))


def norm_unused(u, ids, norm_hop):
    return (u.get("id"), u.get("service"), u.get("owner"), witness_key(u.get("witness") or {}),
            tuple(norm_hop(h, ids) for h in u.get("hops") or []))


def final_destination(witness, hops):
    """Where the witness's first packet ends up: the last destination NAT of a forward hop
    (as Portolan reads its own hops), else the witness's destination."""
    addr, port = witness.get("dst"), witness.get("port")
    for h in hops:
        if h.get("direction") != "forward":
            continue
        for n in h.get("nat") or []:
            if n.get("kind") in ("dnat", "redirect") and n.get("to"):
                a, _, p = n["to"].rpartition(":")
                addr = a.strip("[]")
                port = int(p) if p.isdigit() else port
    return addr, port


# ---------------------------------------------------------------------------------------------
# The lab: extra addresses and listeners, flows
# ---------------------------------------------------------------------------------------------

class PolicyLab:
    """What the policy checks add to attack.py's lab, and take away again."""

    def __init__(self, sc, network):
        self.sc = sc
        self.lab = sc.lab
        self.topo = sc.topo
        self.network = network
        self.added = []  # (role, cidr, iface)
        self.procs = []
        routers = network["routers"]
        self.routers = set(routers)
        self.estate_hosts = {r for r, h in network["hosts"].items() if h.get("estate")}
        # The estate as Portolan sees it: the routers' subnets and routed prefixes.
        self.estate = [ipaddress.ip_network(c, strict=False) for r in routers
                       for cidrs in self.topo.ifaces[r].values() for c in cidrs]
        for r, spec in routers.items():
            for route in spec.get("routes", []):
                dst = route.split()[0]
                if dst != "default":
                    self.estate.append(ipaddress.ip_network(dst, strict=False))
        self.internet = list(network["origins"].get("internet", []))
        self.base_owner = dict(self.topo.owner)

    # --- addresses ---

    def subnet_home(self, addr, prefer_estate):
        """(role, iface, prefix length) of a host namespace with an interface on `addr`'s
        subnet; clients before estate hosts for a source, the other way round for a
        destination."""
        a = ipaddress.ip_address(addr)
        found = []
        for role in self.topo.hosts:
            for iface, cidrs in self.topo.ifaces[role].items():
                for c in cidrs:
                    n = ipaddress.ip_network(c, strict=False)
                    if a in n:
                        found.append(((role in self.estate_hosts) != prefer_estate, role, iface,
                                      n.prefixlen))
        found.sort()
        return found[0][1:] if found else None

    def place(self, addr, prefer_estate):
        """Make sure a namespace holds `addr`; returns its role."""
        if addr in self.topo.owner:
            return self.topo.owner[addr]
        home = self.subnet_home(addr, prefer_estate)
        if home is not None:
            role, iface, plen = home
            cidr = "%s/%d" % (addr, plen)
        elif self.internet and not any(ipaddress.ip_address(addr) in n
                                       for n in self.estate + netlab.NOT_INTERNET):
            role, iface, cidr = self.topo.owner[self.internet[0]], "lo", "%s/32" % addr
        else:
            raise RuntimeError("no namespace can hold %s (not on any host's subnet, not an "
                               "Internet address)" % addr)
        sh(["ip", "-n", self.lab.ns[role], "addr", "add", cidr, "dev", iface])
        self.added.append((role, cidr, iface))
        self.topo.owner[addr] = role
        return role

    # --- who is where ---

    def sources(self, name, pol):
        """Lab source addresses of an endpoint: the Internet's clients, or the host addresses
        inside it (not the routers': Portolan's policy asks about the origin's clients)."""
        nets = pol.nets(name)
        if nets == "internet":
            return list(self.internet)
        return sorted((a for a, role in self.base_owner.items()
                       if role not in self.routers and any(ipaddress.ip_address(a) in n
                                                           for n in nets)),
                      key=ipaddress.ip_address)

    def dests(self, name, pol):
        """Lab destination addresses of an endpoint, routers included."""
        nets = pol.nets(name)
        if nets == "internet":
            return list(self.internet)
        return sorted((a for a in self.base_owner
                       if any(ipaddress.ip_address(a) in n for n in nets)),
                      key=ipaddress.ip_address)

    def estate_dests(self, own):
        """Every lab address inside the estate, outside the networks `own`."""
        return sorted((a for a in self.base_owner
                       if any(ipaddress.ip_address(a) in n for n in self.estate)
                       and not any(ipaddress.ip_address(a) in n for n in own)),
                      key=ipaddress.ip_address)

    # --- listeners ---

    def listen(self, wanted, served):
        """Listeners for wanted {role: ({tcp ports}, {udp ports})}, beyond `served` (role,
        tcp port) pairs that attack.py's listeners already answer."""
        procs = []
        for role, (tcp, udp) in sorted(wanted.items()):
            tcp = sorted(p for p in tcp if (role, p) not in served)
            if not tcp and not udp:
                continue
            spec = {"tcp": tcp, "udp": sorted(udp),
                    "addrs": [a for a, r in self.topo.owner.items() if r == role], "poke": []}
            p = subprocess.Popen(["ip", "netns", "exec", self.lab.ns[role], sys.executable,
                                  str(AGENT), "serve"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.lab.lab._track(p)
            p.stdin.write(json.dumps(spec))
            p.stdin.close()
            procs.append((role, p))
            self.procs.append(p)
        for role, p in procs:
            line = p.stdout.readline()
            if line.strip() != "ready":
                err = p.stderr.read() if p.poll() is not None else ""
                raise RuntimeError("listener in %s did not start: %s %s" % (role, line, err))

    def probe(self, flows, expect=(), timeout=0.5):
        """Sampled flows (src, dst, proto, port) at once: {flow: (ok, why)}. A flow expected to
        connect that timed out is probed again with a longer timeout (this can only turn a
        spurious denial into a connection)."""
        flows = sorted(set(flows))
        out = self._probe(flows, timeout)
        again = [f for f in flows if f in expect and out[f][1] == "timeout"]
        if again:
            res = self._probe(again, 6 * timeout)
            for f in again:
                if res[f][0]:
                    out[f] = (True, "timeout, then %s" % res[f][1])
        return out

    def _probe(self, flows, timeout):
        spec = [{"id": i, "src": s, "dst": d, "proto": p, "port": n}
                for i, (s, d, p, n) in enumerate(flows)]
        res = self.lab.lab.probe(spec, timeout)
        return {f: res.get(i, (None, "no result")) for i, f in enumerate(flows)}

    def restore(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for role, cidr, iface in reversed(self.added):
            sh(["ip", "-n", self.lab.ns[role], "addr", "del", cidr, "dev", iface], check=False)
        self.topo.owner.clear()
        self.topo.owner.update(self.base_owner)
        # attack.py's connecting processes keep running; their sockets bind per connection.


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

def check_policy(t, sc, label, fixture, network, scan_ports, helpers):
    """Every check of this module on one backend's lab; `fixture` is the report of `portolan
    check` on the committed fixture, `helpers` attack.py's norm_hop, Ids and check_hops."""
    norm_hop, Ids, check_hops, fixture_dir = helpers
    label = "%s policy" % label
    t0 = time.monotonic()
    rep, proc = run_check(sc.binary, sc.folder)
    t_check = time.monotonic() - t0
    if not t.check(rep is not None, "%s: portolan check on the kernel's dump (exit %d)"
                   % (label, proc.returncode), [proc.stderr[-2000:]]):
        return
    pol = Policy(MANIFEST.read_text())
    compare_fixture(t, label, rep, fixture, sc.ids, Ids(fixture_dir), norm_hop)
    pl = PolicyLab(sc, network)
    try:
        check_kernel(t, sc, label, rep, pol, pl, scan_ports, check_hops)
    finally:
        pl.restore()
    t.say("  %s: %d entries, %d violations, %d unused allowances, %.1f s (portolan check %.1f s)"
          % (label, len(rep.get("entries") or []), len(rep.get("violations") or []),
             len(rep.get("unused") or []), time.monotonic() - t0, t_check))


def compare_fixture(t, label, rep, fixture, ids, fids, norm_hop):
    want = {e["id"]: (e.get("kind"), e.get("status"), e.get("violations"), e.get("error"))
            for e in fixture.get("entries") or []}
    got = {e["id"]: (e.get("kind"), e.get("status"), e.get("violations"), e.get("error"))
           for e in rep.get("entries") or []}
    for eid in sorted(set(want) | set(got)):
        t.check(want.get(eid) == got.get(eid), "%s: entry %s %s as on the fixture"
                % (label, eid, "/".join(str(x) for x in (want.get(eid) or ("missing",))[:3])),
                ["fixture: %s" % (want.get(eid),), "kernel:  %s" % (got.get(eid),)])
    for name, norm in (("violation", norm_violation), ("unused allowance", norm_unused)):
        key = "violations" if name == "violation" else "unused"
        a = sorted(norm(v, fids, norm_hop) for v in fixture.get(key) or [])
        b = sorted(norm(v, ids, norm_hop) for v in rep.get(key) or [])
        for x in a:
            t.check(x in b, "%s: %s %s %s -> %s %s/%s as on the fixture (witness, set, hops)"
                    % (label, name, x[0], x[4][1] if name == "violation" else x[3][1],
                       x[4][2] if name == "violation" else x[3][2],
                       x[4][0] if name == "violation" else x[3][0],
                       x[4][3] if name == "violation" else x[3][3]),
                    ["fixture: %s" % json.dumps(x, default=str)[:1500]]
                    + ["kernel:  %s" % json.dumps(y, default=str)[:1500]
                       for y in b if y[:2] == x[:2]])
        for y in b:
            if y not in a:
                t.check(False, "%s: %s %s from the kernel's dump is not the fixture's"
                        % (label, name, y[0]), ["kernel: %s" % json.dumps(y, default=str)[:1500]])


def flow_name(topo, f):
    s, d, proto, port = f
    return "%s -> %s %s" % (topo.name_of(s), topo.name_of(d),
                            "icmp echo" if proto == "icmp" else "%s/%s" % (proto, port))


def check_kernel(t, sc, label, rep, pol, pl, scan_ports, check_hops):
    topo = sc.topo
    violations = rep.get("violations") or []
    unused = rep.get("unused") or []
    entries = {e["id"]: e for e in rep.get("entries") or []}

    # The sample of services.
    named = netlab.service_ports(list(sc.lab.rules.values()), named_only=True)
    manifest_ports = set()
    for e in pol.must_not_reach + pol.must_reach + pol.matrix:
        for p, ports in parse_services(e.get("services") or e.get("allow")):
            if p == 6 and ports and ports[1] - ports[0] < 16:
                manifest_ports.update(range(ports[0], ports[1] + 1))
    for v in pol.vendor_scopes:
        for a in v.get("allow") or []:
            for p, ports in parse_services(a.get("services")):
                if p == 6 and ports and ports[1] - ports[0] < 16:
                    manifest_ports.update(range(ports[0], ports[1] + 1))
    tcp = sorted(set(named["tcp"]) | set(scan_ports) | manifest_ports | set(EXTRA_TCP))
    udp = sorted(set(SAMPLE_UDP) | set(named["udp"]))
    sample = [("tcp", p) for p in tcp] + [("udp", p) for p in udp] + [("icmp", ICMP_ECHO)]

    # Witnesses: their addresses in the lab.
    witnesses = [("violation", v) for v in violations] + [("unused", u) for u in unused]
    for _, w in witnesses:
        wit = w.get("witness") or {}
        pl.place(wit["src"], prefer_estate=False)
        dst, _ = final_destination(wit, w.get("hops") or [])
        pl.place(dst, prefer_estate=True)

    # The sampled flows of every entry: (what, flow, expectation) with expectation "blocked"
    # (forbidden in an entry that holds), "connects" (required in an entry that holds),
    # "allowance" (a matrix or vendor scope allowance) or "any" (forbidden in a violated entry:
    # only compared with portolan query).
    planned = []

    def add(what, srcs, dsts, services, expect):
        for s in srcs:
            for d in dsts:
                if s == d or pl.base_owner.get(s) == pl.base_owner.get(d):
                    continue
                for proto, port in services:
                    planned.append((what, (s, d, proto, port), expect))

    def status(eid):
        return (entries.get(eid) or {}).get("status")

    for e in pol.must_not_reach:
        specs = parse_services(e.get("services"))
        svc = [x for x in sample if service_in(x, specs)]
        add(e["id"], pl.sources(e["from"], pol), pl.dests(e["to"], pol), svc,
            "blocked" if status(e["id"]) == "holds" else "any")
    for e in pol.must_reach:
        specs = parse_services(e.get("services"))
        svc = [x for x in sample if service_in(x, specs)]
        add(e["id"], pl.sources(e["from"], pol), pl.dests(e["to"], pol), svc,
            "connects" if status(e["id"]) == "holds" else "any")
    for v in pol.vendor_scopes:
        own = pol.nets(v["origin"])
        own = [] if own == "internet" else own
        srcs = pl.sources(v["origin"], pol)
        allowed = [(pol.nets(a["to"]), parse_services(a.get("services")))
                   for a in v.get("allow") or []]
        for d in pl.estate_dests(own):
            a = ipaddress.ip_address(d)
            specs = [s for nets, ss in allowed if nets != "internet" and any(a in n for n in nets)
                     for s in ss]
            add(v["id"], srcs, [d], [x for x in sample if not service_in(x, specs)],
                "blocked" if status(v["id"]) == "holds" else "any")
            add(v["id"] + " allowance", srcs, [d], [x for x in sample if service_in(x, specs)],
                "allowance")
    # The zone matrix: every ordered pair of its endpoints (zones and what the entries name).
    names = sorted({"zone:%s" % z for z in pol.zones}
                   | {pol.canonical(e[k]) for e in pol.matrix for k in ("from", "to")})
    allowances = []  # (id, service text, flows)
    for f in names:
        for to in names:
            if f == to:
                continue
            listed = [e for e in pol.matrix
                      if pol.canonical(e["from"]) == f and pol.canonical(e["to"]) == to]
            specs = [s for e in listed for s in parse_services(e.get("allow"))]
            eid = "matrix:%s->%s" % (f, to)
            holds = status(eid) == "holds" or (eid not in entries and not listed)
            srcs, dsts = pl.sources(f, pol), pl.dests(to, pol)
            add(eid, srcs, dsts, [x for x in sample if not service_in(x, specs)],
                "blocked" if holds else "any")
            for e in listed:
                for text in e.get("allow") or []:
                    one = parse_services([text])
                    before = len(planned)
                    add(eid + " allowance", srcs, dsts, [x for x in sample if service_in(x, one)],
                        "allowance")
                    allowances.append((eid, str(text), [p[1] for p in planned[before:]]))

    # Listeners on every probed destination and witness destination.
    wanted = {}
    for _, (s, d, proto, port), _ in planned:
        if proto in ("tcp", "udp"):
            wanted.setdefault(topo.owner[d], (set(), set()))[0 if proto == "tcp" else 1].add(port)
    for _, w in witnesses:
        wit = w.get("witness") or {}
        dst, port = final_destination(wit, w.get("hops") or [])
        if wit.get("proto") in ("tcp", "udp") and port:
            wanted.setdefault(topo.owner[dst], (set(), set()))[
                0 if wit["proto"] == "tcp" else 1].add(port)
    served = {(role, p) for role in pl.estate_hosts for p in scan_ports}
    pl.listen(wanted, served)

    check_witnesses(t, sc, label, violations, unused, pl, check_hops)

    # The samples, probed at once, and portolan query on each.
    flows = sorted({f for _, f, _ in planned})
    rows = query_rows(sc.binary, sc.folder, flows)
    expect = {f for f in flows if rows[f].get("verdict") == "allowed"} | \
        {f for _, f, x in planned if x == "connects"}
    kernel = pl.probe(flows, expect)
    agree = 0
    for f in flows:
        k = "allowed" if kernel[f][0] else "denied"
        v = rows[f].get("verdict")
        if k == v:
            agree += 1
            continue
        t.check(False, "%s: %s: kernel %s (%s), portolan query %s"
                % (label, flow_name(topo, f), k, kernel[f][1], v),
                ["reason: %s" % rows[f].get("reason")]
                + ["hop: %s" % netlab.hop_str(h) for h in rows[f].get("hops") or []])
    t.passed += agree
    t.say("  %s: %d sampled flows of the entries (%d services), %d connect in the kernel, "
          "%d agree with portolan query" % (label, len(flows), len(sample),
                                           sum(1 for f in flows if kernel[f][0]), agree))

    by_entry = {}
    for what, f, x in planned:
        by_entry.setdefault((what, x), []).append(f)
    for (what, x), fl in sorted(by_entry.items()):
        fl = sorted(set(fl))
        if x == "blocked":
            bad = [f for f in fl if kernel[f][0] is not False]
            t.check(not bad, "%s: %s holds: the kernel connects none of %d forbidden flows"
                    % (label, what, len(fl)),
                    ["%s: %s" % (flow_name(topo, f), kernel[f][1]) for f in bad[:20]])
            bad = [f for f in fl if kernel[f][1] == "refused"
                   and not rejected(rows[f])]
            t.check(not bad, "%s: %s: forbidden flows stopped by the firewall, not by a "
                    "missing listener" % (label, what),
                    ["%s: refused" % flow_name(topo, f) for f in bad[:20]])
        elif x == "connects":
            bad = [f for f in fl if not kernel[f][0]]
            t.check(not bad, "%s: %s holds: the kernel connects all %d required flows (%s)"
                    % (label, what, len(fl), ", ".join(flow_name(topo, f) for f in fl[:4])),
                    ["%s: %s" % (flow_name(topo, f), kernel[f][1]) for f in bad[:20]])
        if x == "blocked" or x == "connects":
            t.say("  %s: %s (%s): %d flows, %d connect" % (
                label, what, "holds", len(fl), sum(1 for f in fl if kernel[f][0])))

    # Zone matrix allowances: unused ones blocked everywhere, others used somewhere.
    unused_services = {(u.get("id"), u.get("service")) for u in unused}
    for eid, text, fl in allowances:
        fl = sorted(set(fl))
        if (eid, text) in unused_services:
            bad = [f for f in fl if kernel[f][0] is not False]
            t.check(bool(fl) and not bad, "%s: unused allowance %s %s: the kernel blocks all %d "
                    "sampled flows" % (label, eid, text, len(fl)),
                    ["%s: %s" % (flow_name(topo, f), kernel[f][1]) for f in bad[:20]])
        else:
            ok = [f for f in fl if kernel[f][0]]
            t.check(bool(ok), "%s: allowance %s %s is used: the kernel connects %d of %d sampled "
                    "flows%s" % (label, eid, text, len(ok), len(fl),
                                 " (e.g. %s)" % flow_name(topo, ok[0]) if ok else ""))


def rejected(row):
    """Whether Portolan's hops end in a rejection (a refusal is then the firewall's)."""
    hops = row.get("hops") or []
    return any("reject" in str(h.get("outcome")) for h in hops)


def check_witnesses(t, sc, label, violations, unused, pl, check_hops):
    """Each witness connected on its own, with the routers' counters around it."""
    done = {}  # witness key -> (ok, why, before, after)
    items = [(v.get("kind"), v.get("id"), v) for v in violations] + \
        [("unused", u.get("id") + " " + str(u.get("service")), u) for u in unused]
    for kind, eid, v in items:
        w = v.get("witness") or {}
        hops = v.get("hops") or []
        blocked = kind in ("must-reach", "unused")
        key = witness_key(w)
        dst, port = final_destination(w, hops)
        what = "%s: %s %s witness %s %s:%s -> %s %s/%s%s" % (
            label, kind, eid, w.get("proto"), w.get("src"), w.get("sport"),
            sc.topo.name_of(w.get("dst")), w.get("proto"), w.get("port"),
            "" if (dst, port) == (w.get("dst"), w.get("port")) else " (to %s:%s after NAT)"
            % (sc.topo.name_of(dst), port))
        if v.get("certainty") == "possible":
            t.say("  %s: possible, not checked against the kernel (%s)"
                  % (what, "; ".join(v.get("uncertain") or [])))
            continue
        if key not in done and w.get("proto") != "tcp":  # UDP echo, ICMP echo: agent.py
            f = (w["src"], w["dst"], w["proto"], w.get("port") or ICMP_ECHO)
            before = sc.lab.snapshot()
            ok, why = pl.probe([f], () if blocked else [f])[f]
            after = sc.lab.snapshot()
            done[key] = (ok, why, before, after)
        elif key not in done:
            before = sc.lab.snapshot()
            ok, why = sc.lab.connect(w["src"], w["dst"], int(w["port"]),
                                     sport=int(w.get("sport") or 0))
            after = sc.lab.snapshot()
            if not ok and why == "timeout" and not blocked:  # slow machine: once more, longer
                before = sc.lab.snapshot()
                ok, why = sc.lab.connect(w["src"], w["dst"], int(w["port"]), 3.0,
                                         sport=int(w.get("sport") or 0))
                after = sc.lab.snapshot()
            done[key] = (ok, why, before, after)
        ok, why, before, after = done[key]
        if blocked:
            rejects = any("reject" in str(h.get("outcome")) for h in hops)
            stopped = not ok and (why == "timeout" if not rejects else why != "timeout")
            t.check(stopped, "%s: the kernel blocks it (%s; the hops %s)"
                    % (what, why, "reject" if rejects else "drop"),
                    ["hop: %s" % netlab.hop_str(h) for h in hops])
            # A dropped packet leaves through no interface.
            counted = [dict(h, out_iface=None) if h.get("outcome") in ("dropped", "rejected")
                       else h for h in hops]
            check_hops(t, sc, what, counted, before, after)
        else:
            t.check(bool(ok), "%s: the kernel connects (%s)" % (what, why),
                    ["Portolan: %s" % v.get("message")]
                    + ["hop: %s" % netlab.hop_str(h) for h in hops])
            if ok:
                check_hops(t, sc, what, hops, before, after)
            else:
                t.check(False, "%s: hops not checked (no connection)" % what)
