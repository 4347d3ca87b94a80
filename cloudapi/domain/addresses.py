"""An instance's addresses, derived from its id until the address pools exist.

Every instance gets one public IPv4 from the shared address space (100.64.0.0/10, RFC
6598, never routed on the internet) and one IPv6 from the documentation prefix
(2001:db8::/32, RFC 3849): unique per instance, stable, and never an address someone
else owns. Pure code.
"""

import ipaddress

_IPV4_BASE = ipaddress.IPv4Address("100.64.0.0")


def ipv4_of(instance_id):
    return [str(_IPV4_BASE + instance_id)]


def ipv6_of(instance_id):
    return f"2001:db8::{instance_id:x}/128"
