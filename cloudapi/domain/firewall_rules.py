"""Linode's rules for Cloud Firewall rulesets: pure functions, no Flask, no database.

The limits and wording follow Linode's spec (docs/reference/linode-openapi.yaml,
`/networking/firewalls/{firewallId}/rules`) and Cloud Manager's validation texts.
"""

import ipaddress
import json
import zlib

ACTIONS = ("ACCEPT", "DROP")
PROTOCOLS = ("TCP", "UDP", "ICMP", "IPENCAP")
PORTLESS = ("ICMP", "IPENCAP")
POLICIES = ACTIONS
MAX_RULES = 25  # across inbound and outbound
MAX_ADDRESSES = 255  # across one rule's ipv4 and ipv6 lists
MAX_PORT_PIECES = 15  # a single port is one piece, a range two
MAX_PORT = 65535
RULE_LABEL = (3, 32)
RULE_DESCRIPTION = (1, 100)

PORTS_SYNTAX = "Ports must be an integer, range of integers, or a comma-separated list of integers."
PORTS_NOT_ALLOWED = "Ports are not allowed for ICMP and IPENCAP protocols."
TOO_MANY_RULES = f"A Firewall may have at most {MAX_RULES} rules across inbound and outbound"
TOO_MANY_ADDRESSES = f"A rule may have at most {MAX_ADDRESSES} addresses across ipv4 and ipv6"
NO_ADDRESSES = "Must contain ipv4, ipv6, or both"
EMPTY_LIST = "Must not be an empty list"
CONTROL_CHARACTERS = "Must not contain control characters"


def _port(text):
    """The port number in `text`, or raise ValueError with the reason."""
    if not text.isascii() or not text.isdigit():
        raise ValueError(PORTS_SYNTAX)
    if len(text) > 1 and text[0] == "0":
        raise ValueError("Ports may not have leading zeroes")
    number = int(text) if len(text) <= 5 else MAX_PORT + 1
    if not 1 <= number <= MAX_PORT:
        raise ValueError(f"Ports must be between 1 and {MAX_PORT}")
    return number


def ports_problem(ports: str) -> str | None:
    """Why a `ports` string is not Linode's syntax ("22, 80, 443, 8000-8080"), or None.

    A space is allowed after each comma and nowhere else; ranges are inclusive and must
    go up; at most 15 pieces, a range counting as two.
    """
    pieces = 0
    for i, item in enumerate(ports.split(",")):
        if i and item.startswith(" "):
            item = item[1:]
        start, dash, end = item.partition("-")
        try:
            low = _port(start)
            if dash and _port(end) <= low:
                return "The end of a port range must be greater than its start"
        except ValueError as why:
            return str(why)
        pieces += 2 if dash else 1
    if pieces > MAX_PORT_PIECES:
        return f"Ports may have at most {MAX_PORT_PIECES} pieces (a range counts as two)"
    return None


def address_problem(address: str, version: int) -> str | None:
    """Why `address` is not an IPv4 (or IPv6) address or network in IP/mask form, or None.

    The mask is required (the spec: "Addresses must be in IP/mask format"); host bits
    may be set, as in 192.0.2.1/24; IPv6 zone ids (RFC 4007) are refused.
    """
    wanted = f"Must be an IPv{version} address or network in IP/mask format"
    if "/" not in address or "%" in address or not address.isascii() or len(address) > 64:
        return wanted
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return wanted
    return None if network.version == version else wanted


def text_problem(value: str, bounds) -> str | None:
    """Why a rule's label or description is unacceptable, or None."""
    low, high = bounds
    if not low <= len(value) <= high:
        return f"Length must be {low}-{high} characters"
    if not value.isprintable():
        return CONTROL_CHARACTERS
    return None


def canonical(rules: dict) -> dict:
    """The ruleset as stored and sent to host agents: lists always present."""
    return {
        "inbound": list(rules.get("inbound") or []),
        "inbound_policy": rules["inbound_policy"],
        "outbound": list(rules.get("outbound") or []),
        "outbound_policy": rules["outbound_policy"],
    }


def fingerprint(rules: dict) -> str:
    """Linode's `fingerprint`: a 32-bit hash of the ruleset as 8 hex characters.

    Computed over a canonical JSON form (sorted keys), so equal rulesets share one
    fingerprint whatever the key order they were sent in.
    """
    text = json.dumps(canonical(rules), sort_keys=True, separators=(",", ":"))
    return f"{zlib.crc32(text.encode()):08x}"
