"""Scenarios of the kernel differential test for native nftables rulesets (rulesets-nft/).

They run on the same lab as the iptables scenarios (see scenarios.py for its addresses). The
ruleset is loaded into the firewall with `nft -f`; Portolan gets the kernel's own dump of it,
`nft list ruleset` in one run and `nft -j list ruleset` in the other.

Flows are aimed at rules as for iptables rulesets: `pseudo_rules` reads just enough of each nft
rule (chain, interfaces, addresses, protocol, ports, NAT targets) to write it as an iptables-like
line that run.py's flow generator understands. It is approximate on purpose: it only chooses
flows, the verdicts come from the kernel and from Portolan.

Mutations: ("delete", RULE) removes the rule whose line is exactly RULE.
"""

import re

NFT_SCENARIOS = [
    {
        "name": "nft-01-inet-sets-vmap",
        "focus": [
            ("10.0.0.10", "10.0.0.1", "tcp", 22),        # trusted set: allowed
            ("10.0.0.50", "10.0.0.1", "tcp", 22),        # outside the set: policy drop
            ("172.16.5.5", "10.0.1.1", "tcp", 22),       # trusted through the branch
            ("10.0.0.11", "10.0.0.1", "udp", 53),        # lan* wildcard
            ("198.51.100.10", "203.0.113.1", "icmp", 0), # negated source: dropped
            ("203.0.113.10", "203.0.113.1", "icmp", 0),
            ("203.0.113.10", "203.0.113.1", "tcp", 9000),  # tcp reset
            ("198.51.100.10", "192.168.10.10", "tcp", 443),  # named port set
            ("198.51.100.10", "192.168.10.10", "tcp", 8005),  # range in the set
            ("198.51.100.10", "192.168.10.11", "tcp", 8080),  # concatenation
            ("198.51.100.10", "192.168.10.11", "tcp", 22),
            ("198.51.100.20", "192.168.10.20", "tcp", 22),
            ("198.51.100.20", "192.168.10.20", "tcp", 443),  # reject
            ("10.0.0.10", "198.51.100.10", "tcp", 80),   # vmap jump from_lan
            ("10.0.0.10", "198.51.100.10", "tcp", 25),   # != set: returns, policy drop
            ("10.0.0.12", "198.51.100.20", "udp", 53),
            ("10.0.0.10", "192.168.10.10", "tcp", 80),   # goto to_dmz
            ("10.0.0.10", "192.168.10.10", "tcp", 443),
            ("10.0.0.50", "192.168.10.11", "icmp", 0),
            ("172.16.5.5", "198.51.100.10", "tcp", 443),  # from_branch accept
            ("172.16.9.9", "198.51.100.10", "tcp", 443),  # from_branch drop
        ],
        "mutations": [
            ("delete", "ip saddr @trusted tcp dport 22 accept"),
            ("delete", "iifname vmap @fwd_policy"),
            ("delete", "ip saddr 172.16.9.9 drop"),
        ],
    },
    {
        "name": "nft-02-nat-maps",
        "focus": [
            ("198.51.100.10", "203.0.113.2", "tcp", 80),    # dnat to 192.168.10.10:8080
            ("198.51.100.20", "203.0.113.2", "tcp", 2222),  # dnat by map
            ("203.0.113.10", "203.0.113.2", "tcp", 8081),   # dnat by map
            ("203.0.113.10", "203.0.113.2", "tcp", 443),    # not in the map
            ("198.51.100.10", "203.0.113.1", "tcp", 80),    # other address: no dnat
            ("10.0.0.10", "198.51.100.10", "tcp", 443),     # masquerade
            ("10.0.0.11", "198.51.100.20", "udp", 53),
            ("10.0.0.12", "10.0.0.1", "udp", 53),           # redirect to :9001
            ("10.0.1.10", "192.168.10.10", "tcp", 22),
            ("172.16.5.5", "192.168.10.11", "tcp", 22),     # snat to the dmz address
            ("172.16.5.5", "192.168.10.11", "tcp", 80),
            ("198.51.100.10", "203.0.113.1", "tcp", 22),    # input drop
            ("10.0.0.10", "203.0.113.1", "tcp", 22),
        ],
        "mutations": [
            ("delete", "ct status dnat accept"),
            ("delete", "iifname \"wan0\" ip daddr 203.0.113.2 dnat to tcp dport map @tcpfwd"),
        ],
    },
]

NFT_SCENARIOS.append({
    "name": "nft-03-inet-v6",
    "family": 6,
    "focus": [
        ("2001:db8:5100::10", "2001:db8:10::10", "tcp", 443),  # ip6 daddr + port set
        ("2001:db8:5100::10", "2001:db8:10::11", "tcp", 443),  # the IPv4 negation: no match
        ("2001:db8:ffff::10", "2001:db8:10::20", "udp", 53),
        ("2001:db8:5100::20", "2001:db8:ffff::2", "tcp", 8080),  # NAT66 port forward
        ("2001:db8:100::10", "2001:db8:5100::10", "tcp", 80),
        ("2001:db8:100::10", "2001:db8:5100::20", "tcp", 80),  # != address
        ("2001:db8:101::10", "2001:db8:5100::10", "udp", 53),  # lan* wildcard
        ("2001:db8:100::11", "2001:db8:10::20", "udp", 53),    # th dport
        ("2001:db8:100::11", "2001:db8:10::20", "tcp", 53),
        ("2001:db8:100::11", "2001:db8:10::20", "tcp", 80),
        ("2001:db8:100::10", "2001:db8:100::1", "tcp", 22),
        ("2001:db8:101::10", "2001:db8:101::1", "tcp", 22),    # nfproto ipv4 only
        ("2001:db8:ffff::10", "2001:db8:ffff::1", "icmp", 0),
        ("2001:db8:5100::10", "2001:db8:ffff::1", "icmp", 0),  # negated source
    ],
    "mutations": [
        ("delete", "ip6 saddr 2001:db8:100::/64 tcp dport 22 accept"),
        ("delete", "ct status dnat accept"),
    ],
})

_CHAIN_NAMES = {"input": "INPUT", "forward": "FORWARD", "output": "OUTPUT",
                "prerouting": "PREROUTING", "postrouting": "POSTROUTING"}


def _values(s):
    """'{ 22, 80-90 }' or '22' -> '22,80:90' (ports) / addresses joined by commas."""
    s = s.strip()
    if s.startswith("{"):
        s = s.strip("{} ")
    parts = [p.strip() for p in s.split(",") if p.strip()]
    return ",".join(p.replace("-", ":") if re.fullmatch(r"\d+-\d+", p) else p for p in parts)


_VALUE = r'(\{[^}]*\}|"[^"]*"|[^\s{}]+)'


def pseudo_rules(text, rule_class):
    """The ruleset's rules written as iptables-like lines, for aiming flows."""
    rules = []
    chain = None
    table = "filter"
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"table \S+ (\S+) \{", s)
        if m:
            table = "nat" if "nat" in m.group(1) else "filter"
            continue
        m = re.match(r"chain (\S+) \{", s)
        if m:
            chain = _CHAIN_NAMES.get(m.group(1), m.group(1))
            continue
        if (chain is None or s in ("}", "{") or s.startswith(("type ", "policy", "set ", "map ",
                                                            "elements", "flags"))):
            continue
        opts = ["-A", chain]
        for key, opt in (("ip6? saddr", "-s"), ("ip6? daddr", "-d")):
            m = re.search(key + r" (!= )?" + _VALUE, s)
            if m and re.fullmatch(r"[\d./:, {}a-f]+", m.group(2)) and re.search(r"\d", m.group(2)):
                opts += (["!"] if m.group(1) else []) + [opt, _values(m.group(2))]
        for key, opt in (("iifname", "-i"), ("oifname", "-o")):
            m = re.search(key + r' (!= )?"([^"]+)"', s)
            if m:
                opts += (["!"] if m.group(1) else []) + [opt, m.group(2).replace("*", "+")]
        m = re.search(r"\b(tcp|udp) dport (!= )?" + _VALUE, s)
        if m:
            opts += ["-p", m.group(1)]
            ports = _values(m.group(3))
            if re.fullmatch(r"[\d,:]+", ports):
                opts += (["!"] if m.group(2) else []) + ["--dport", ports]
        else:
            m = re.search(r"meta l4proto (tcp|udp)\b|\b(icmp) type", s)
            if m:
                opts += ["-p", m.group(1) or m.group(2)]
        m = re.search(r"dnat to (\d+\.\d+\.\d+\.\d+(?::\d+)?)", s)
        if m:
            opts += ["--to-destination", m.group(1)]
        m = re.search(r"redirect to :(\d+)", s)
        if m:
            opts += ["--to-ports", m.group(1)]
        rules.append(rule_class(table, " ".join(opts), lineno))
    return rules
