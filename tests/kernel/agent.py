"""Runs inside one network namespace of the kernel differential test.

Two modes, both driven by JSON on standard input:

  agent.py serve   {"tcp": [ports], "udp": [ports], "addrs": [local addresses],
                    "poke": [[src, dst], ...]}
      Listens on every TCP port (all addresses) and echoes UDP datagrams on every
      (address, port) pair (bound per address so that a reply leaves from the address the
      request was sent to, which is what conntrack needs to reverse NAT). Then sends one UDP
      datagram to port 9 of each poke target, so that the neighbour (ARP) entries exist
      before the ruleset is loaded and timed probes start. Prints "ready", then serves until
      killed.

  agent.py probe   {"timeout": s, "workers": n, "flows": [{"id", "src", "dst", "proto",
                                                          "port", "sport"}]}
      Opens each flow (IPv4 or IPv6) from its source address and prints one JSON line per flow:
      {"id": ..., "ok": true|false, "why": "..."}. TCP: allowed when connect() completes.
      UDP: allowed when the echo comes back from the destination. ICMP (ICMPv6 for IPv6
      destinations): allowed when an echo reply carrying the probe's token comes back from the destination.

Standard library only (Python 3.11).
"""

import ipaddress
import json
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def af(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(spec):
    sel = selectors.DefaultSelector()
    socks = []
    for port in sorted(set(spec.get("tcp", []))):
        for fam, anyaddr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # SO_REUSEPORT lets a probe from this namespace use the same port as its source.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((anyaddr, port))
            s.listen(1024)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, "tcp")
            socks.append(s)
    for addr in spec.get("addrs", []):
        for port in sorted(set(spec.get("udp", []))):
            s = socket.socket(af(addr), socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, "udp")
            socks.append(s)
    poke(spec.get("poke", []))
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            try:
                if key.data == "tcp":
                    conn, _ = s.accept()
                    conn.close()
                else:
                    data, peer = s.recvfrom(2048)
                    s.sendto(data, peer)
            except OSError:
                pass


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return (~total) & 0xFFFF


def probe_tcp(flow, timeout):
    s = socket.socket(af(flow["dst"]), socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if flow.get("sport"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((flow["src"], int(flow.get("sport") or 0)))
        s.settimeout(timeout)
        try:
            s.connect((flow["dst"], int(flow["port"])))
            return True, "connected"
        except socket.timeout:
            return False, "timeout"
        except ConnectionRefusedError:
            return False, "refused"
        except OSError as e:
            return False, "error:%s" % (e.strerror or e)
    finally:
        # Abort (RST) instead of a FIN handshake: no TIME_WAIT left behind.
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()


def probe_udp(flow, timeout):
    token = os.urandom(12)
    s = socket.socket(af(flow["dst"]), socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((flow["src"], int(flow.get("sport") or 0)))
        s.connect((flow["dst"], int(flow["port"])))
        s.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            s.send(token)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, "timeout"
                s.settimeout(left)
                data = s.recv(2048)
                if data == token:
                    return True, "echoed"
        except socket.timeout:
            return False, "timeout"
        except ConnectionRefusedError:
            return False, "refused"
        except OSError as e:
            return False, "error:%s" % (e.strerror or e)
    finally:
        s.close()


def probe_icmp(flow, timeout):
    if ":" in flow["dst"]:
        return probe_icmp6(flow, timeout)
    token = os.urandom(16)
    ident = random.randrange(1, 0xFFFF)
    seq = random.randrange(1, 0xFFFF)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    packet = struct.pack("!BBHHH", 8, 0, icmp_checksum(header + token), ident, seq) + token
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        s.bind((flow["src"], 0))
        deadline = time.monotonic() + timeout
        s.sendto(packet, (flow["dst"], 0))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, "timeout"
            s.settimeout(left)
            try:
                data, peer = s.recvfrom(4096)
            except socket.timeout:
                return False, "timeout"
            ihl = (data[0] & 0x0F) * 4
            icmp = data[ihl:]
            if len(icmp) < 8 + len(token):
                continue
            if icmp[0] == 0 and icmp[8:8 + len(token)] == token:
                if peer[0] == flow["dst"]:
                    return True, "echo-reply"
                return False, "reply-from:%s" % peer[0]
            if icmp[0] in (3, 11) and token in icmp:
                return False, "icmp-error:%d/%d" % (icmp[0], icmp[1])
    except OSError as e:
        return False, "error:%s" % (e.strerror or e)
    finally:
        s.close()


def probe_icmp6(flow, timeout):
    token = os.urandom(16)
    ident = random.randrange(1, 0xFFFF)
    seq = random.randrange(1, 0xFFFF)
    # The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets (RFC 3542).
    packet = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + token
    dst = ipaddress.ip_address(flow["dst"])
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.bind((flow["src"], 0))
        deadline = time.monotonic() + timeout
        s.sendto(packet, (flow["dst"], 0))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, "timeout"
            s.settimeout(left)
            try:
                icmp, peer = s.recvfrom(4096)
            except socket.timeout:
                return False, "timeout"
            if len(icmp) < 8 + len(token):
                continue
            if icmp[0] == 129 and icmp[8:8 + len(token)] == token:
                if ipaddress.ip_address(peer[0].split("%")[0]) == dst:
                    return True, "echo-reply"
                return False, "reply-from:%s" % peer[0]
            if icmp[0] in (1, 3) and token in icmp:
                return False, "icmp-error:%d/%d" % (icmp[0], icmp[1])
    except OSError as e:
        return False, "error:%s" % (e.strerror or e)
    finally:
        s.close()


PROBES = {"tcp": probe_tcp, "udp": probe_udp, "icmp": probe_icmp}


def probe(spec):
    timeout = float(spec.get("timeout", 0.5))
    flows = spec["flows"]
    # Flows that pin the same local (address, port) run one after the other in one worker:
    # two sockets bound to the same pair at once could steal each other's replies.
    groups = {}
    for flow in flows:
        if flow.get("sport"):
            key = (flow["src"], flow["proto"], int(flow["sport"]))
        else:
            key = ("", flow["id"])
        groups.setdefault(key, []).append(flow)
    out_lock = threading.Lock()

    def run(group):
        for flow in group:
            try:
                ok, why = PROBES[flow["proto"]](flow, timeout)
            except Exception as e:  # reported as a probe failure, never as "denied"
                ok, why = None, "crash:%r" % (e,)
            with out_lock:
                sys.stdout.write(json.dumps({"id": flow["id"], "ok": ok, "why": why}) + "\n")

    workers = max(1, min(int(spec.get("workers", 128)), len(groups)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, groups.values()))
    sys.stdout.flush()


def poke(targets):
    for src, dst in targets:
        s = socket.socket(af(dst), socket.SOCK_DGRAM)
        try:
            if src:
                s.bind((src, 0))
            s.sendto(b"arp", (dst, 9))
        except OSError:
            pass
        finally:
            s.close()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    spec = json.load(sys.stdin)
    if mode == "serve":
        serve(spec)
    elif mode == "probe":
        probe(spec)
    else:
        sys.exit("usage: agent.py serve|probe < spec.json")


if __name__ == "__main__":
    main()
