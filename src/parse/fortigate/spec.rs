//! Which FortiOS blocks and settings are read, which are known and deliberately ignored (they
//! do not decide which packets pass), and which open services on the device itself.

/// What Portolan knows of one block path.
pub struct Spec {
    /// Block path (`firewall address`; nested blocks as `system interface/secondaryip`).
    pub path: &'static str,
    /// Entries (`edit`) rather than direct settings.
    pub table: bool,
    /// Known settings: read, or ignored because they do not affect which packets pass.
    pub keys: &'static [&'static str],
    /// Every setting is accepted (documented per block in `docs/formats/fortigate.md`).
    pub any_key: bool,
    /// The whole block is known and ignored.
    pub ignore_all: bool,
}

const fn table(path: &'static str, keys: &'static [&'static str]) -> Spec {
    Spec { path, table: true, keys, any_key: false, ignore_all: false }
}

const fn single(path: &'static str, keys: &'static [&'static str]) -> Spec {
    Spec { path, table: false, keys, any_key: false, ignore_all: false }
}

/// Settings of `config firewall policy` / `policy6` that are read.
pub const POLICY_READ: &[&str] = &[
    "srcintf", "dstintf", "srcaddr", "dstaddr", "srcaddr6", "dstaddr6", "srcaddr-negate", "dstaddr-negate",
    "srcaddr6-negate", "dstaddr6-negate", "service", "service-negate", "action", "status", "schedule", "nat", "ippool",
    "poolname", "poolname6", "match-vip", "send-deny-packet", "name", "users", "groups", "fsso-groups",
    "internet-service", "internet-service-src", "internet-service-name", "internet-service-id",
    "internet-service-src-name", "internet-service-src-id", "internet-service-group", "internet-service-custom",
    "internet-service-src-group", "internet-service-src-custom", "internet-service6", "internet-service6-src",
    "vpntunnel", "nat64", "nat46", "ztna-status", "device", "devices", "tos", "tos-mask", "tos-negate",
    "internet-service-negate", "internet-service-src-negate", "application", "app-category", "app-group", "url-category",
];

/// Settings of firewall policies that do not decide whether a connection passes: names,
/// logging, security profiles (content inspection of accepted sessions), traffic shaping,
/// session timers and offloading.
pub const POLICY_IGNORED: &[&str] = &[
    "uuid", "comments", "comment", "logtraffic", "logtraffic-start", "log-http-transaction", "auto-asic-offload",
    "utm-status", "inspection-mode", "profile-type", "profile-group", "profile-protocol-options", "ssl-ssh-profile",
    "av-profile", "webfilter-profile", "dnsfilter-profile", "emailfilter-profile", "spamfilter-profile", "dlp-sensor",
    "dlp-profile", "file-filter-profile", "ips-sensor", "application-list", "voip-profile", "sip-profile", "icap-profile",
    "cifs-profile", "waf-profile", "ssh-filter-profile", "videofilter-profile", "sctp-filter-profile", "casb-profile",
    "virtual-patch-profile", "ips-voip-filter", "diameter-filter-profile", "global-label", "label", "tags",
    "capture-packet", "traffic-shaper", "traffic-shaper-reverse", "per-ip-shaper", "wccp", "np-acceleration",
    "anti-replay", "tcp-mss-sender", "tcp-mss-receiver", "session-ttl", "timeout-send-rst", "vlan-cos-fwd",
    "vlan-cos-rev", "diffserv-forward", "diffserv-reverse", "diffservcode-forward", "diffservcode-rev", "fixedport",
    "permit-any-host", "permit-stun-host", "natinbound", "natoutbound", "natip", "inbound", "outbound", "dsri",
    "delay-tcp-npu-session", "block-notification", "replacemsg-override-group", "webproxy-profile",
    "webproxy-forward-server", "email-collect", "custom-log-fields", "disclaimer", "schedule-timeout",
    "policy-expiry", "policy-expiry-date", "policy-expiry-date-utc", "rtp-nat", "rtp-addr", "learning-mode", "sgt-check",
    "sgt", "vlan-filter", "match-vip-only", "geoip-anycast", "geoip-match", "dynamic-shaping", "decrypted-traffic-mirror",
    "ssl-mirror", "ssl-mirror-intf", "firewall-session-dirty", "tcp-session-without-syn", "reputation-direction",
    "reputation-direction6", "passive-wan-health-measurement", "identity-based-route", "auth-path",
    "auth-redirect-addr", "auth-cert", "radius-mac-auth-bypass", "ntlm", "ntlm-guest", "ntlm-enabled-browsers",
    "fsso-agent-for-ntlm", "pcp-outbound", "pcp-inbound", "pcp-poolname", "policyid", "cgn-session-quota",
    "cgn-resource-quota", "cgn-log-server-grp", "cgn-eif", "cgn-eim", "port-preserve", "srcaddr6-negate-disabled",
    "uuid-idx", "poolname-ipv6", "redirect-url", "wanopt", "wanopt-detection", "wanopt-passive-opt", "wanopt-profile",
    "wanopt-peer", "webcache", "webcache-https", "http-policy-redirect", "ssh-policy-redirect", "ztna-policy-redirect",
    "webproxy-forward-server", "nat64", "ippool6", "scan-botnet-connections", "vlan-cos", "fec", "eif-check",
    "eif-learn", "policy-behaviour-type", "reputation-minimum",
];

/// Every known top-level block: read, or known and ignored.
const SPECS: &[Spec] = &[
    // `config system global`: system-wide settings (time zone, GUI, admin session options). Only
    // the host name and the administrative ports are read; no other global setting decides
    // which packets pass.
    Spec { path: "system global", table: false, keys: &[], any_key: true, ignore_all: false },
    // `config system settings`: per-VDOM settings; `opmode`, `central-nat` and `asymroute` are
    // read and reported when they change forwarding; the rest tune features (GUI, helpers, ECMP).
    Spec { path: "system settings", table: false, keys: &[], any_key: true, ignore_all: false },
    table(
        "system interface",
        &[
            "ip", "allowaccess", "status", "vdom", "type", "secondary-IP", "mode", "interface", "alias", "description",
            "snmp-index", "mtu", "mtu-override", "speed", "vlanid", "role", "device-identification",
            "device-user-identification", "lldp-transmission", "lldp-reception", "lldp-network-policy",
            "estimated-upstream-bandwidth", "estimated-downstream-bandwidth", "macaddr", "member", "lacp-mode",
            "lacp-speed", "min-links", "fortiheartbeat", "dedicated-to", "trust-ip-1", "trust-ip-2", "trust-ip-3",
            "trust-ip6-1", "trust-ip6-2", "trust-ip6-3", "icmp-send-redirect", "icmp-accept-redirect", "src-check",
            "defaultgw", "distance", "priority", "dhcp-relay-service", "dhcp-relay-ip", "dhcp-relay-type",
            "dns-server-override", "external", "fortilink", "switch-controller-access-vlan", "switch-controller-feature",
            "color", "tagging", "remote-ip", "ips-sniffer-mode", "ident-accept", "ipmac", "subst", "substitute-dst-mac",
            "netbios-forward", "wins-ip", "vrrp-virtual-mac", "auth-type", "username", "password", "idle-timeout",
            "pppoe-unnumbered-negotiate", "detected-peer-mtu", "inbandwidth", "outbandwidth", "egress-shaping-profile",
            "ingress-shaping-profile", "weight", "spillover-threshold", "disc-retry-timeout", "padt-retry-timeout",
            "stp", "stpforward", "broadcast-forward", "l2forward", "forward-domain", "sflow-sampler", "polling-interval",
            "drop-overlapped-fragment", "drop-fragment", "monitor-bandwidth", "vindex", "autogenerated",
            "preserve-session-route", "vrf", "eap-supplicant", "ip-managed-by-fortiipam", "managed-subnetwork-size",
            "security-mode", "captive-portal", "security-exempt-list", "security-groups", "scan-botnet-connections",
            "explicit-web-proxy", "explicit-ftp-proxy", "proxy-captive-portal", "dhcp-client-identifier",
            "dhcp-renew-time", "dhcp-relay-interface-select-method", "dhcp-relay-agent-option", "dhcp-relay-request-all-server",
            "dhcp-broadcast-flag", "dhcp-smart-relay", "gwdetect", "ping-serv-status", "detectserver", "detectprotocol",
            "ha-priority", "fail-detect", "fail-detect-option", "fail-alert-method", "fail-action-on-extender",
            "mediatype", "interconnect-profile", "forward-error-correction", "fec", "swc-vlan", "swc-first-create",
            "switch", "system-id-type", "system-id", "status-led", "ring-rx", "ring-tx", "mtu6", "endpoint-compliance",
            "tcp-mss", "gi-gk", "sample-rate", "sample-direction", "netflow-sampler", "sflow-sampler", "outbandwidth",
            "bfd", "bfd-desired-min-tx", "bfd-detect-mult", "bfd-required-min-rx", "measured-upstream-bandwidth",
            "measured-downstream-bandwidth", "bandwidth-measure-time", "secondary-ip", "vlan-protocol", "dhcp-relay-link-selection",
            "pptp-client", "pptp-user", "pptp-password", "pptp-server-ip", "pptp-auth-type", "pptp-timeout",
            "arpforward", "reachable-time", "virtual-wan-link", "lacp-ha-slave", "lacp-ha-secondary", "algorithm",
            "link-up-delay", "aggregate-type", "priority-override", "replacemsg-override-group", "switch-controller-mgmt-vlan",
            "cli-conn-status", "dns-server-protocol", "device-access-list", "device-netscan", "ip6-send-adv",
        ],
    ),
    table("system interface/secondaryip", &["ip", "allowaccess", "detectserver", "gwdetect", "ha-priority", "ping-serv-status", "detectprotocol", "secip-relay-ip"]),
    single(
        "system interface/ipv6",
        &[
            "ip6-address", "ip6-allowaccess", "ip6-mode", "ip6-send-adv", "ip6-manage-flag", "ip6-other-flag",
            "ip6-max-interval", "ip6-min-interval", "ip6-link-mtu", "ip6-reachable-time", "ip6-retrans-time",
            "ip6-default-life", "ip6-hop-limit", "ip6-adv-rio", "ip6-route-pref", "ip6-dns-server-override",
            "ip6-upstream-interface", "ip6-subnet", "ip6-delegated-prefix-iaid", "ip6-prefix-mode", "dhcp6-relay-service",
            "dhcp6-relay-type", "dhcp6-relay-ip", "dhcp6-client-options", "dhcp6-prefix-delegation",
            "dhcp6-information-request", "dhcp6-prefix-hint", "dhcp6-prefix-hint-plt", "dhcp6-prefix-hint-vlt",
            "autoconf", "unique-autoconf-addr", "interface-identifier", "nd-mode", "nd-cert", "nd-security-level",
            "nd-timestamp-delta", "nd-timestamp-fuzz", "nd-cga-modifier", "cli-conn6-status", "vrrp-virtual-mac6",
            "vrip6_link_local", "ra-send-mtu", "icmp6-send-redirect", "ip6-dnssl-list", "ip6-rdnss-list",
        ],
    ),
    table("system interface/ipv6/ip6-extra-addr", &["prefix"]),
    table("system zone", &["interface", "intrazone", "description"]),
    // `config system vdom-link` (in `config global`): each entry NAME makes the interfaces NAME0
    // and NAME1, configured (VDOM, addresses) under `config system interface`.
    table("system vdom-link", &["vcluster", "type"]),
    table(
        "firewall address",
        &[
            "type", "subnet", "start-ip", "end-ip", "fqdn", "country", "wildcard", "interface", "associated-interface",
            "uuid", "comment", "color", "allow-routing", "fabric-object", "visibility", "cache-ttl", "sub-type", "sdn",
            "start-mac", "end-mac", "macaddr", "wildcard-fqdn", "tags", "clearpass-spt", "route-tag", "node-ip-only",
            "filter", "sdn-addr-type", "epg-name", "tenant", "organization", "policy-group", "obj-id", "dirty",
            "hw-vendor", "hw-model", "os", "sw-version", "obj-type", "sdn-tag", "passive-fqdn-learning",
        ],
    ),
    table(
        "firewall address6",
        &[
            "type", "ip6", "start-ip", "end-ip", "fqdn", "country", "uuid", "comment", "color", "visibility", "cache-ttl",
            "fabric-object", "host", "host-type", "template", "sdn", "obj-id", "tags", "macaddr", "sdn-tag", "route-tag",
            "end-mac", "start-mac", "epg-name", "tenant",
        ],
    ),
    table("firewall addrgrp", &["member", "exclude", "exclude-member", "uuid", "comment", "color", "visibility", "allow-routing", "fabric-object", "category", "type", "tags"]),
    table("firewall addrgrp6", &["member", "exclude", "exclude-member", "uuid", "comment", "color", "visibility", "fabric-object", "tags"]),
    table(
        "firewall service custom",
        &[
            "protocol", "tcp-portrange", "udp-portrange", "sctp-portrange", "udplite-portrange", "icmptype", "icmpcode",
            "protocol-number", "iprange", "fqdn", "proxy", "category", "comment", "color", "visibility", "uuid",
            "session-ttl", "check-reset-range", "tcp-halfclose-timer", "tcp-halfopen-timer", "tcp-timewait-timer",
            "tcp-rst-timer", "udp-idle-timer", "app-service-type", "app-category", "application", "fabric-object", "helper",
        ],
    ),
    table("firewall service group", &["member", "proxy", "comment", "color", "uuid", "fabric-object"]),
    table("firewall policy", &[]),
    table("firewall policy6", &[]),
    table(
        "firewall vip",
        &[
            "extip", "mappedip", "extintf", "portforward", "protocol", "extport", "mappedport", "src-filter", "type",
            "status", "uuid", "comment", "color", "id", "arp-reply", "nat-source-vip", "portmapping-type",
            "gratuitous-arp-interval", "ldb-method", "http-redirect", "service", "srcintf-filter", "nat44", "nat46",
            "dns-mapping-ttl", "max-embryonic-connections", "persistence", "outlook-web-access", "writebounce",
            "http-ip-header", "http-ip-header-name", "http-cookie-domain-from-host", "http-cookie-domain",
            "http-cookie-path", "http-cookie-generation", "http-cookie-age", "http-cookie-share", "https-cookie-secure",
            "http-multiplex", "http-supported-max-version", "weblogic-server", "websphere-server", "monitor",
            "mapped-addr", "extaddr", "h2-support", "h3-support", "add-nat46-route", "ipv6-mappedip", "ipv6-mappedport",
            "server-type", "ssl-certificate", "ssl-mode", "user-agent-detect", "client-cert", "empty-cert-action",
        ],
    ),
    table("firewall vipgrp", &["member", "interface", "comments", "comment", "color", "uuid"]),
    table(
        "firewall ippool",
        &[
            "startip", "endip", "type", "arp-reply", "comments", "comment", "associated-interface", "source-startip",
            "source-endip", "block-size", "num-blocks-per-user", "permit-any-host", "pba-timeout", "port-per-user",
            "startport", "endport", "nat64", "add-nat64-route", "arp-intf", "subnet-broadcast-in-ippool", "utilization-alarm-raise",
            "utilization-alarm-clear", "cgn-spa", "cgn-overload", "cgn-fixedalloc", "cgn-block-size", "cgn-client-startip",
            "cgn-client-endip", "cgn-port-start", "cgn-port-end", "exclude-ip", "privileged-port-use-pba", "pba-interim-log",
        ],
    ),
    table(
        "router static",
        &[
            "dst", "gateway", "device", "distance", "blackhole", "status", "sdwan", "sdwan-zone", "virtual-wan-link",
            "dynamic-gateway", "dstaddr", "internet-service", "internet-service-custom", "comment", "priority", "weight",
            "bfd", "link-monitor-exempt", "vrf", "tag", "seq-num", "src", "preferred-source",
        ],
    ),
    table(
        "router static6",
        &[
            "dst", "gateway", "device", "distance", "blackhole", "status", "sdwan", "sdwan-zone", "virtual-wan-link",
            "dynamic-gateway", "dstaddr", "comment", "priority", "weight", "bfd", "link-monitor-exempt", "vrf", "devindex",
        ],
    ),
];

/// The spec of a block path (top-level or nested with `/`).
pub fn of(path: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.path == path)
}

type KeySets = std::collections::HashMap<&'static str, std::collections::HashSet<&'static str>>;

/// Known settings per block path, as sets (the lists are long and every setting is checked).
fn key_sets() -> &'static KeySets {
    static SETS: std::sync::OnceLock<KeySets> = std::sync::OnceLock::new();
    SETS.get_or_init(|| {
        let mut m: KeySets = SPECS.iter().map(|s| (s.path, s.keys.iter().copied().collect())).collect();
        let policy: std::collections::HashSet<&'static str> = POLICY_READ.iter().chain(POLICY_IGNORED).copied().collect();
        m.insert("firewall policy", policy.clone());
        m.insert("firewall policy6", policy);
        m
    })
}

/// True if `key` is a known setting of the block `path`.
pub fn known_key(path: &str, key: &str) -> bool {
    of(path).is_some_and(|s| s.any_key) || key_sets().get(path).is_some_and(|k| k.contains(key))
}


/// Top-level blocks that do not decide which packets the device forwards or accepts: device
/// administration (accounts, profiles, GUI, storage), logging and reporting, monitoring (SNMP,
/// NTP, DNS client, e-mail alerts), content-inspection profiles applied to already accepted
/// sessions, user databases (policies naming users or groups are marked unknown themselves),
/// certificates, replacement messages and wireless/switch controller management.
const IGNORED_PREFIXES: &[&str] = &[
    "system replacemsg", "log ", "webfilter ", "antivirus ", "ips ", "application ", "dlp ", "spamfilter ",
    "emailfilter ", "dnsfilter ", "file-filter ", "videofilter ", "waf ", "icap ", "wireless-controller ",
    "switch-controller ", "report ", "wanopt ", "web-proxy ", "endpoint-control ", "user ", "certificate ",
    "vpn certificate ", "system automation-", "system snmp ", "firewall ssl-ssh-profile", "firewall profile-protocol-options",
    "firewall service category", "firewall schedule ", "firewall multicast-address", "firewall wildcard-fqdn ",
    "firewall internet-service", "firewall shaper ", "firewall shaping-profile", "firewall profile-group",
    "firewall identity-based-route", "system fortiguard", "system object-tagging", "system accprofile", "system admin",
    "system api-user", "system dns", "system ntp", "system email-server", "system storage", "system np6",
    "system console", "system password-policy", "system sms-server", "system custom-language", "system session-helper",
    "system replacemsg-image", "system auto-update", "system central-management", "system csf", "system ftm-push",
    "system fortisandbox", "system alarm", "system external-resource", "system ips-urlfilter-dns", "system tos-based-priority",
    "system mac-address-table", "system sflow", "system netflow", "system resource-limits", "system vdom-property",
    "system ddns", "system fips-cc", "system fortiai", "system ptp", "system sdn-connector", "system saml",
    "system geoip-override", "system probe-response", "system link-monitor", "system dedicated-mgmt",
    "system cluster-sync", "system standalone-cluster", "system federated-upgrade", "system global-", "system affinity-",
    "system auto-script", "system autoupdate", "system mobile-tunnel", "system ipam", "system speed-test",
    "system lte-modem", "system modem", "system 3g-modem", "system fsso-polling", "system device-upgrade",
    "system pcp-server", "system nd-proxy", "system physical-switch", "system virtual-switch", "system switch-interface",
    "system ssh-config", "system ike", "system acme", "system timezone", "system ipsec-aggregate",
    "system network-visibility", "system fabric-vpn", "system sov-sase", "system ngfw-settings", "system dscp-based-priority",
    "system stp", "system arp-table", "system ipip-tunnel", "system gre-tunnel", "system vxlan", "system geneve",
    "alertemail ", "gui ", "extender-controller ", "extension-controller ", "ftp-proxy ", "authentication ",
    "vpn ssl web ", "vpn ocvpn", "firewall ldb-monitor", "firewall auth-portal", "firewall address6-template",
    "firewall traffic-class", "firewall decrypted-traffic-mirror", "firewall sniffer", "firewall ipmacbinding ",
    "firewall ipv6-eh-filter", "firewall access-proxy", "firewall city", "firewall country", "firewall region",
    "firewall vendor-mac", "firewall global", "system sit-tunnel", "system virtual-wire-pair", "system fortindr",
    "system fortisandbox", "cifs ", "ssh-filter ", "voip ", "sctp-filter ", "casb ", "diameter-filter ", "virtual-patch ",
    "emailfilter", "credential-store ", "automation ", "firewall on-demand-sniffer", "system ha-monitor",
    // Route filters used only by dynamic routing protocols (not read: the protocols themselves
    // are reported as unknown blocks).
    "router access-list", "router access-list6", "router prefix-list", "router prefix-list6", "router route-map",
    "router aspath-list", "router community-list", "router key-chain", "router auth-path", "router setting",
];

/// True for a top-level block known to be irrelevant to which packets pass.
pub fn ignored_block(path: &str) -> bool {
    let p = format!("{path} ");
    IGNORED_PREFIXES.iter().any(|x| p.starts_with(x) || path == x.trim_end())
}

/// Nested blocks ignored wherever they appear (object tags, GUI dashboards).
pub fn ignored_nested(path: &str) -> bool {
    matches!(path, "tagging" | "gui-dashboard" | "ip6-prefix-list" | "ip6-delegated-prefix-list" | "dhcp6-iapd-list" | "ip6-dnssl-list" | "ip6-rdnss-list" | "l2tp-client-settings")
}

/// Blocks that make the device offer services to the network (IPsec IKE, SSL VPN, routing
/// protocols, DHCP/DNS servers, HA): they are not read, so traffic to the device is possibly
/// accepted because of them.
pub fn opens_local_services(path: &str) -> bool {
    matches!(
        path,
        "vpn ipsec phase1-interface"
            | "vpn ipsec phase1"
            | "vpn ssl settings"
            | "vpn l2tp"
            | "vpn pptp"
            | "router bgp"
            | "router ospf"
            | "router ospf6"
            | "router rip"
            | "router ripng"
            | "router isis"
            | "router multicast"
            | "system dhcp server"
            | "system dhcp6 server"
            | "system dns-server"
            | "system ha"
            | "system vrrp"
            | "firewall local-in-policy"
            | "firewall local-in-policy6"
    )
}
