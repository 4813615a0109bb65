"""Whole-network scenarios of the kernel differential test (see netlab.py).

Each scenario is a small estate of routers/firewalls in series, each one a network namespace
running its own iptables ruleset (rulesets/NAME/ROUTER.v4), plus namespaces Portolan is not told
about: an "internet" client (several public source addresses on lo, routed via the edge), the
estate's hosts (one namespace per segment, one address per host) and, in the second and third
scenarios, a vendor's router with the vendor's access network on lo.

Keys:
  routers   name -> {"routes": [...]}: namespaces that forward; Portolan gets their ruleset and
            `ip addr` / `ip route` dumps, one folder per router named after it.
  hosts     name -> {"lo": [addresses on lo], "routes": [...], "estate": bool}: namespaces that
            only send and answer; "estate" hosts' addresses are probe targets.
  links     ((namespace, interface, [addresses]), (namespace, interface, [addresses])): one veth
            pair each.
  names     address -> host name, for messages.
  origins   origin as given to `portolan analyze --from` -> the probed source addresses that
            belong to it. Inbound flows go from every origin source to every router address and
            every estate host address, over the services the rulesets name (and a few more).
  outbound  flows from estate hosts to outside addresses (source NAT, routes back), compared
            with `portolan query` only.
  mutations (router, kind, rule text) as in scenarios.py: each must change at least one flow's
            verdict, on the kernel and in Portolan alike.
  entry_ambiguity  origin -> [routers]: the origin's traffic may enter the estate at any of
            these routers (each routes towards it out of the estate), and Portolan cannot know
            which one the far end uses. Where their paths disagree Portolan answers `possibly`
            and names them ("may enter at A or B"): accepted for the origin's flows, whatever
            the kernel did. Definite answers must still be the kernel's.

Besides the addresses above, every run probes the broadcast address of each router subnet
(prefix /30 or shorter) with ICMP echo and the TCP ports of the rules that may accept traffic
towards that subnet, from every origin source not itself on that subnet: the router that owns
the subnet delivers such packets to itself, and neither TCP nor ICMP echo answers a broadcast.

Portolan's routing model is followed: the outside enters where a router's route towards the
source leaves the modelled network (the edge's default route via the provider's 192.0.2.254,
the vendor route via the vendor's router), routers hand packets to each other by next-hop
addresses on the transit link, and replies return through the same routers. The third scenario
leaves that model on purpose for its vendor, which two routers route towards (see
entry_ambiguity).
"""

NETWORKS = [
    {
        # Internet -> edge (port forwards to the DMZ and to an internal host, SNAT/MASQUERADE
        # out, services on the edge itself) -> core (its own FORWARD policy, a user chain,
        # REJECTs) -> LAN.
        "name": "net-01-edge-core",
        "routers": {
            "edge": {"routes": ["default via 192.0.2.254", "10.30.0.0/16 via 10.255.0.2"]},
            "core": {"routes": ["default via 10.255.0.1"]},
        },
        "hosts": {
            "inet": {"lo": ["198.51.100.10/32", "198.51.100.20/32", "203.0.113.99/32"],
                     "routes": ["default via 192.0.2.1"]},
            "dmz": {"routes": ["default via 172.20.0.1"], "estate": True},
            "lan": {"routes": ["default via 10.30.1.1"], "estate": True},
        },
        "links": [
            (("edge", "wan0", ["192.0.2.1/24", "192.0.2.2/24"]),
             ("inet", "eth0", ["192.0.2.254/24"])),
            (("edge", "dmz0", ["172.20.0.1/24"]),
             ("dmz", "eth0", ["172.20.0.10/24", "172.20.0.25/24"])),
            (("edge", "tr0", ["10.255.0.1/30"]), ("core", "up0", ["10.255.0.2/30"])),
            (("core", "lan0", ["10.30.1.1/24"]),
             ("lan", "eth0", ["10.30.1.10/24", "10.30.1.20/24"])),
        ],
        "names": {"172.20.0.10": "web", "172.20.0.25": "mail", "10.30.1.10": "app",
                  "10.30.1.20": "db"},
        "origins": {
            "internet": ["198.51.100.10", "198.51.100.20", "203.0.113.99"],
            "198.51.100.10": ["198.51.100.10"],
        },
        "outbound": {
            "from": ["172.20.0.10", "172.20.0.25", "10.30.1.10", "10.30.1.20"],
            "to": ["198.51.100.10", "203.0.113.99"],
            "services": [("tcp", 443), ("tcp", 22), ("udp", 53), ("icmp", 0)],
        },
        "mutations": [
            ("core", "delete",
             "-A from_edge -s 198.51.100.0/24 -d 10.30.1.10/32 -p tcp -m tcp --dport 8080 -j ACCEPT"),
            ("edge", "flip", "-A FORWARD -i wan0 -o tr0 -p icmp -m icmp --icmp-type 8 -j ACCEPT"),
        ],
    },
    {
        # A vendor's access network entering at the edge; a core without a default route, so
        # that replies to the Internet only find their way when the edge translated the source;
        # replies towards the vendor accepted for TCP only.
        "name": "net-02-vendor-return",
        "routers": {
            "edge": {"routes": ["default via 192.0.2.254", "10.30.0.0/16 via 10.255.0.2",
                                "172.31.50.0/24 via 172.31.255.2"]},
            "core": {"routes": ["172.20.0.0/24 via 10.255.0.1", "192.0.2.0/24 via 10.255.0.1",
                                "172.31.50.0/24 via 10.255.0.1"]},
        },
        "hosts": {
            "inet": {"lo": ["198.51.100.10/32", "203.0.113.99/32"],
                     "routes": ["default via 192.0.2.1"]},
            "vendor": {"lo": ["172.31.50.10/32", "172.31.50.20/32"],
                       "routes": ["default via 172.31.255.1"]},
            "dmz": {"routes": ["default via 172.20.0.1"], "estate": True},
            "lan": {"routes": ["default via 10.30.1.1"], "estate": True},
        },
        "links": [
            (("edge", "wan0", ["192.0.2.1/24"]), ("inet", "eth0", ["192.0.2.254/24"])),
            (("edge", "vnd0", ["172.31.255.1/30"]), ("vendor", "eth0", ["172.31.255.2/30"])),
            (("edge", "dmz0", ["172.20.0.1/24"]),
             ("dmz", "eth0", ["172.20.0.10/24", "172.20.0.25/24"])),
            (("edge", "tr0", ["10.255.0.1/30"]), ("core", "up0", ["10.255.0.2/30"])),
            (("core", "lan0", ["10.30.1.1/24"]),
             ("lan", "eth0", ["10.30.1.10/24", "10.30.1.20/24"])),
        ],
        "names": {"172.20.0.10": "web", "172.20.0.25": "mail", "10.30.1.10": "app",
                  "10.30.1.20": "db"},
        "origins": {
            "internet": ["198.51.100.10", "203.0.113.99"],
            "172.31.50.0/24": ["172.31.50.10", "172.31.50.20"],
        },
        "outbound": {
            "from": ["172.20.0.10", "10.30.1.10"],
            "to": ["198.51.100.10", "172.31.50.10"],
            "services": [("tcp", 443), ("tcp", 22), ("udp", 53), ("icmp", 0)],
        },
        "mutations": [
            ("edge", "delete",
             "-A POSTROUTING -o tr0 -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT "
             "-j SNAT --to-source 10.255.0.1"),
            ("core", "delete", "-A vendor_in -d 10.30.1.10/32 -p tcp -m tcp --dport 22 -j ACCEPT"),
        ],
    },
    {
        # A vendor connected twice: to the edge (the link its router actually sends through,
        # its default route) and to the core by a line of its own, which the core routes the
        # vendor's network to. Portolan only sees the two routes towards the vendor: its
        # traffic may enter at either router. Replies to the vendor leave the core by the
        # core's own line (asymmetric, as the core routes); the edge accepts replies
        # whatever their state.
        "name": "net-03-vendor-two-ways",
        "routers": {
            "edge": {"routes": ["default via 192.0.2.254", "10.30.0.0/16 via 10.255.0.2",
                                "172.31.50.0/24 via 172.31.255.2"]},
            "core": {"routes": ["default via 10.255.0.1", "172.31.50.0/24 via 172.31.254.2"]},
        },
        "hosts": {
            "inet": {"lo": ["198.51.100.10/32", "203.0.113.99/32"],
                     "routes": ["default via 192.0.2.1"]},
            "vendor": {"lo": ["172.31.50.10/32", "172.31.50.20/32"],
                       "routes": ["default via 172.31.255.1"]},
            "dmz": {"routes": ["default via 172.20.0.1"], "estate": True},
            "lan": {"routes": ["default via 10.30.1.1"], "estate": True},
        },
        "links": [
            (("edge", "wan0", ["192.0.2.1/24"]), ("inet", "eth0", ["192.0.2.254/24"])),
            (("edge", "vnd0", ["172.31.255.1/30"]), ("vendor", "eth0", ["172.31.255.2/30"])),
            (("core", "vnd1", ["172.31.254.1/30"]), ("vendor", "eth1", ["172.31.254.2/30"])),
            (("edge", "dmz0", ["172.20.0.1/24"]),
             ("dmz", "eth0", ["172.20.0.10/24", "172.20.0.25/24"])),
            (("edge", "tr0", ["10.255.0.1/30"]), ("core", "up0", ["10.255.0.2/30"])),
            (("core", "lan0", ["10.30.1.1/24"]),
             ("lan", "eth0", ["10.30.1.10/24", "10.30.1.20/24"])),
        ],
        "names": {"172.20.0.10": "web", "172.20.0.25": "mail", "10.30.1.10": "app",
                  "10.30.1.20": "db"},
        "origins": {
            "internet": ["198.51.100.10", "203.0.113.99"],
            "172.31.50.0/24": ["172.31.50.10", "172.31.50.20"],
        },
        "entry_ambiguity": {"172.31.50.0/24": ["edge", "core"]},
        "outbound": {
            "from": ["172.20.0.10", "172.20.0.25", "10.30.1.10", "10.30.1.20"],
            "to": ["198.51.100.10", "203.0.113.99"],
            "services": [("tcp", 443), ("tcp", 22), ("udp", 53), ("icmp", 0)],
        },
        "mutations": [
            ("edge", "delete", "-A vendor -o tr0 -p tcp -m multiport --dports 22,5432 -j ACCEPT"),
            ("core", "delete", "-A from_edge -p icmp -m icmp --icmp-type 8 -j ACCEPT"),
        ],
    },
]
