"""Cloud Firewall rulesets as libvirt nwfilter definitions, one filter per instance.

The libvirt driver defines `render_filter(id, rules)` under `filter_name(id)` and puts
`interface_filterref(id)` in the domain's `<interface>`; libvirt turns the filter into
iptables/ip6tables rules on the instance's tap device and rebuilds them live whenever the
filter is defined again. The XML passes `virt-xml-validate FILE nwfilter`.

How libvirt reads a filter, and what follows here (nwfilter_ebiptables_driver.c):

- direction="in" is traffic to the VM, "out" traffic from it. Inbound rules match the
  remote end with `srcipaddr`/`srcipmask`, outbound ones with `dstipaddr`/`dstipmask`;
  ports are always `dstportstart`/`dstportend`, the port the connection is made to.
- Rules run by ascending `priority`, so Linode's first-match order becomes ascending
  priorities; the policies are the catch-alls that run last (the highest numbers).
- libvirt puts each rule in both chains (to and from the VM) unless it has an explicit
  `state`: an accept then also admits the replies (ESTABLISHED), but a drop drops the
  mirrored flow too. IPv4 rules therefore carry state="NEW,INVALID" (one direction only)
  under a first rule accepting ESTABLISHED,RELATED traffic. The installed schema does
  not allow `state` on IPv6 elements (libvirt itself does), so IPv6 keeps libvirt's
  default: accepts bring their replies, a DROP rule also drops its mirror (the VM's
  packets to that address from those ports), and accepting catch-alls run before
  dropping ones so that one direction's DROP policy does not swallow the other's.
- IPENCAP is IP protocol 4. The elements with a `protocol` attribute (`ip`, `ipv6`) are
  ebtables matches, stateless and unable to overrule an iptables drop; the iptables
  layer has no element for protocol 4. So when a ruleset has IPENCAP rules, the
  policies are applied first to every protocol nwfilter names (tcp, udp, icmp, ...),
  and the IPENCAP rules follow as protocol-less `all`/`all-ipv6` rules: only protocols
  without a name reach them, which besides IPENCAP are rarities such as GRE (47).
- Before any Linode rule, traffic an instance needs whatever its policies is accepted:
  DHCP and DHCPv6 to and from the client ports, and the ICMPv6 of neighbour discovery,
  multicast listeners and errors (packet too big, ...) with no state match (NDP is not
  tracked).
- No `clean-traffic` (anti-spoofing): it is not part of a Cloud Firewall and needs the
  instance's addresses as parameters; it would belong in the interface's own filter.
"""

import ipaddress
import uuid
import xml.etree.ElementTree as ET

from cloudapi.domain import firewall_rules

PREFIX = "cloudapi-fw-linode"
UUIDS = uuid.UUID("5f0c8e52-3d4b-4a8e-9b0e-6c1f2a7d9e31")  # namespace of filter_uuid
VERSIONS = (4, 6)
STATEFUL = {4: True, 6: False}  # the schema allows `state` on IPv4 elements only
NEW = "NEW,INVALID"  # what is not part of a known connection
REPLIES = "ESTABLISHED,RELATED"
# Linode's side -> (nwfilter direction, prefix of the remote end's address attributes,
# first priority of its rules, first priority of its IPENCAP rules)
SIDES = {"inbound": ("in", "src", 100, 700), "outbound": ("out", "dst", 200, 800)}
ELEMENTS = {
    "TCP": {4: "tcp", 6: "tcp-ipv6"},
    "UDP": {4: "udp", 6: "udp-ipv6"},
    "ICMP": {4: "icmp", 6: "icmpv6"},
    "IPENCAP": {4: "all", 6: "all-ipv6"},
}
NAMED = {  # the iptables-layer protocols nwfilter has an element for
    4: ("tcp", "udp", "udplite", "sctp", "icmp", "igmp", "esp", "ah"),
    6: ("tcp-ipv6", "udp-ipv6", "udplite-ipv6", "sctp-ipv6", "icmpv6", "esp-ipv6", "ah-ipv6"),
}
# ICMPv6 errors (1-4), multicast listener queries and reports (130-132, 143), neighbour
# discovery (133-136): IPv6 does not work without them.
ICMPV6_NEEDED = (1, 2, 3, 4, 130, 131, 132, 133, 134, 135, 136, 143)
DHCP = {4: ("udp", 68, 67), 6: ("udp-ipv6", 546, 547)}  # element, client port, server port
# Priorities (ascending = earlier): replies, needed traffic, inbound then outbound rules,
# the policies for named protocols (accepting first), IPENCAP rules, the last catch-alls.
REPLIES_PRIORITY, NEEDED_PRIORITY = -1000, -900
NAMED_PRIORITY = {"accept": 600, "drop": 650}
POLICY_PRIORITY = {"accept": 900, "drop": 1000}


def filter_name(instance_id) -> str:
    """The nwfilter of one instance: one per instance, so a change rebuilds only it."""
    return f"{PREFIX}{int(instance_id)}"


def filter_uuid(instance_id) -> str:
    """A UUID fixed by the name: libvirt refuses to redefine a filter under another UUID
    ("filter ... already exists with UUID"), and one left out is generated afresh."""
    return str(uuid.uuid5(UUIDS, filter_name(instance_id)))


def interface_filterref(instance_id) -> ET.Element:
    """The `<filterref>` for the domain's `<interface>`. The filter must be defined
    before the domain starts (libvirt refuses an unknown one) and cannot be undefined
    while an interface refers to it: keep it defined, empty (`render_filter(id, None)`)
    while no firewall applies, and undefine it with the domain."""
    return ET.Element("filterref", filter=filter_name(instance_id))


def render_filter(instance_id, rules: dict | None) -> str:
    """The `<filter>` enforcing a whole Cloud Firewall ruleset (as `firewall_apply` jobs
    carry it: `fingerprint` and `version` are ignored); None gives an empty filter, one
    that lets everything through. Same arguments, same text."""
    root = ET.Element("filter", name=filter_name(instance_id), chain="root")
    ET.SubElement(root, "uuid").text = filter_uuid(instance_id)
    if rules is not None:
        root.extend(sorted(_rules(firewall_rules.canonical(rules)), key=_priority))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _priority(rule):
    return int(rule.get("priority"))


def _rules(rules):
    """Every `<rule>` of a ruleset, in no particular order (libvirt sorts by priority)."""
    found = [*_replies(), *_needed()]
    encap = any(r["protocol"] == "IPENCAP" for side in SIDES for r in rules[side])
    for side in SIDES:
        for index, rule in enumerate(rules[side]):
            found.extend(_linode_rule(side, index, rule))
        found.extend(_policy(side, rules[f"{side}_policy"].lower(), encap))
    return found


def _rule(action, direction, priority, element, attrs, **options):
    rule = ET.Element("rule", action=action, direction=direction, priority=str(priority),
                      **options)  # fmt: skip
    ET.SubElement(rule, element, attrs)
    return rule


def _replies():
    """Packets of connections already accepted (and their ICMP errors) pass: IPv4 only,
    IPv6 accepts bring their replies by themselves."""
    return [_rule("accept", "inout", REPLIES_PRIORITY, "all",
                  {"state": REPLIES, "comment": "replies"})]  # fmt: skip


def _needed():
    """DHCP(v6) client traffic and the ICMPv6 IPv6 needs, both ways, whatever the rules."""
    found = []
    for version, (element, client, server) in DHCP.items():
        for direction, ports in (("out", (client, server)), ("in", (server, client))):
            attrs = {"srcportstart": str(ports[0]), "dstportstart": str(ports[1])}
            if STATEFUL[version]:
                attrs["state"] = NEW
            attrs["comment"] = f"dhcp v{version}"
            found.append(_rule("accept", direction, NEEDED_PRIORITY, element, attrs))
    for icmp_type in ICMPV6_NEEDED:
        for direction in ("in", "out"):
            found.append(_rule("accept", direction, NEEDED_PRIORITY, "icmpv6",
                               {"type": str(icmp_type), "comment": "icmpv6 needed"},
                               statematch="false"))  # fmt: skip
    return found


def _linode_rule(side, index, rule):
    """The `<rule>`s of one Linode rule: one per IP version, address and port piece."""
    direction, remote, first, first_encap = SIDES[side]
    protocol = rule["protocol"]
    priority = (first_encap if protocol == "IPENCAP" else first) + index
    pieces = [None]
    if rule.get("ports") and protocol not in firewall_rules.PORTLESS:
        pieces = port_ranges(rule["ports"])
    found = []
    for version in VERSIONS:
        for network in networks(rule["addresses"], version):
            for piece in pieces:
                attrs = {**_address(remote, network), **_ports(piece)}
                if STATEFUL[version]:
                    attrs["state"] = NEW
                attrs["comment"] = f"{side} rule {index + 1}"
                element = ELEMENTS[protocol][version]
                found.append(_rule(rule["action"].lower(), direction, priority, element, attrs))
    return found


def _policy(side, action, encap):
    """The catch-alls of one side: for each named protocol first when IPENCAP rules
    must come after them, then for everything."""
    direction = SIDES[side][0]
    found = []
    for version in VERSIONS:
        attrs = {"state": NEW} if STATEFUL[version] else {}
        attrs["comment"] = f"{side} policy"
        for element in NAMED[version] if encap else ():
            found.append(_rule(action, direction, NAMED_PRIORITY[action], element, attrs))
        all_ = ELEMENTS["IPENCAP"][version]
        found.append(_rule(action, direction, POLICY_PRIORITY[action], all_, attrs))
    return found


def _address(remote, network):
    if network is None:
        return {}
    return {f"{remote}ipaddr": str(network.network_address),
            f"{remote}ipmask": str(network.prefixlen)}  # fmt: skip


def _ports(piece):
    if piece is None:
        return {}
    low, high = piece
    attrs = {"dstportstart": str(low)}
    if high is not None:
        attrs["dstportend"] = str(high)
    return attrs


def networks(addresses: dict, version: int) -> list:
    """A rule's networks of one IP version, host bits cleared and repeats dropped, in
    their order; [None] (any address) when one is a /0; [] when none is of that version,
    the rule then not applying to it."""
    found = []
    for text in addresses.get(f"ipv{version}") or []:
        network = ipaddress.ip_network(text, strict=False)
        if network.prefixlen == 0:
            return [None]
        if network not in found:
            found.append(network)
    return found


def port_ranges(ports: str) -> list:
    """Linode's `ports` ("22, 80-90", already validated) as [(low, high or None)], in
    their order, repeats dropped."""
    found = []
    for item in ports.split(","):
        low, _, high = item.strip().partition("-")
        piece = (int(low), int(high) if high else None)
        if piece not in found:
            found.append(piece)
    return found
