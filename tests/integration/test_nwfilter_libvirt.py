"""Rendered Cloud Firewall filters defined in a real libvirt, read back, redefined, removed.

nwfilters live in the system daemon's nwfilter driver (libvirt's test:///default driver
has none), so this needs libvirt-python and `qemu:///system`, started by
tests/support/libvirt.py when no daemon answers; without them the tests skip, or fail
under CLOUDAPI_REQUIRE_SERVICES=1.
"""

import contextlib
import xml.etree.ElementTree as ET

import pytest

from cloudapi.agent import nwfilter
from tests.support.libvirt import libvirt_module, system_libvirt

INSTANCES = (2_000_000_101, 2_000_000_102, 2_000_000_103)  # far from any real Linode id
RULES = {
    "inbound": [
        {"action": "ACCEPT", "protocol": "TCP", "ports": "22, 8000-8080",
         "addresses": {"ipv4": ["192.0.2.0/24"], "ipv6": ["2001:db8::/32"]}},
        {"action": "DROP", "protocol": "IPENCAP", "addresses": {"ipv4": ["198.51.100.7/32"]}},
        {"action": "ACCEPT", "protocol": "ICMP", "addresses": {"ipv4": ["0.0.0.0/0"],
                                                               "ipv6": ["::/0"]}},
    ],
    "inbound_policy": "DROP",
    "outbound": [{"action": "DROP", "protocol": "UDP", "ports": "25",
                  "addresses": {"ipv4": ["203.0.113.0/24"]}}],
    "outbound_policy": "ACCEPT",
    "fingerprint": "0123abcd",
    "version": 3,
}  # fmt: skip


@pytest.fixture(scope="module")
def conn():
    libvirt = libvirt_module()
    with system_libvirt() as connection:
        yield connection
        for instance_id in INSTANCES:  # whatever a failed test left behind
            with contextlib.suppress(libvirt.libvirtError):
                connection.nwfilterLookupByName(nwfilter.filter_name(instance_id)).undefine()


def rules_of(xml):
    """The filter's rules as comparable tuples: libvirt writes attributes its own way
    (order, quotes), so the text differs while the rules are the same."""
    found = []
    for rule in ET.fromstring(xml).iter("rule"):
        (match,) = rule
        head = (rule.get("action"), rule.get("direction"), int(rule.get("priority")))
        found.append((*head, rule.get("statematch", ""), match.tag, sorted(match.attrib.items())))
    return sorted(found)


def test_a_rendered_filter_is_defined_and_read_back(conn):
    instance_id = INSTANCES[0]
    xml = nwfilter.render_filter(instance_id, RULES)
    defined = conn.nwfilterDefineXML(xml)
    assert defined.name() == nwfilter.filter_name(instance_id)
    assert defined.UUIDString() == nwfilter.filter_uuid(instance_id)
    back = conn.nwfilterLookupByName(nwfilter.filter_name(instance_id)).XMLDesc(0)
    assert rules_of(back) == rules_of(xml)
    assert ET.fromstring(back).get("chain") == "root"
    defined.undefine()


def test_changed_rules_redefine_the_same_filter(conn):
    """libvirt refuses a filter of the same name under another UUID: the fixed UUID lets
    a changed ruleset replace the old one in place."""
    instance_id = INSTANCES[1]
    name = nwfilter.filter_name(instance_id)
    conn.nwfilterDefineXML(nwfilter.render_filter(instance_id, RULES))
    changed = {**RULES, "inbound_policy": "ACCEPT", "inbound": RULES["inbound"][:1]}
    conn.nwfilterDefineXML(nwfilter.render_filter(instance_id, changed))
    assert [f.name() for f in conn.listAllNWFilters() if f.name() == name] == [name]
    back = conn.nwfilterLookupByName(name).XMLDesc(0)
    assert rules_of(back) == rules_of(nwfilter.render_filter(instance_id, changed))
    policy = [("comment", "inbound policy"), ("state", "NEW,INVALID")]
    assert ("accept", "in", 900, "", "all", policy) in rules_of(back)

    conn.nwfilterDefineXML(nwfilter.render_filter(instance_id, None))  # firewall removed
    assert rules_of(conn.nwfilterLookupByName(name).XMLDesc(0)) == []
    conn.nwfilterLookupByName(name).undefine()


def test_an_undefined_filter_is_gone(conn):
    libvirt = libvirt_module()
    instance_id = INSTANCES[2]
    name = nwfilter.filter_name(instance_id)
    conn.nwfilterDefineXML(nwfilter.render_filter(instance_id, RULES)).undefine()
    with pytest.raises(libvirt.libvirtError) as raised:
        conn.nwfilterLookupByName(name)
    assert raised.value.get_error_code() == libvirt.VIR_ERR_NO_NWFILTER
    assert name not in [f.name() for f in conn.listAllNWFilters()]
