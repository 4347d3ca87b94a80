"""Checks on a domain XML that libvirt's RelaxNG schema cannot make.

The schema accepts every one of these problems; libvirt's parser refuses some of them only
when the domain is defined, on the host, long after the API answered. The tests run them on
every XML `domain_xml.render` makes, and on hand-broken ones.
"""

import math
import xml.etree.ElementTree as ET

from cloudapi.domain.cpus import parse_cpulist

UNIT_BYTES = {
    "b": 1, "bytes": 1,
    "kb": 10**3, "k": 2**10, "kib": 2**10,
    "mb": 10**6, "m": 2**20, "mib": 2**20,
    "gb": 10**9, "g": 2**30, "gib": 2**30,
    "tb": 10**12, "t": 2**40, "tib": 2**40,
    "pb": 10**15, "p": 2**50, "pib": 2**50,
    "eb": 10**18, "e": 2**60, "eib": 2**60,
}  # fmt: skip


def validate_semantics(xml: str) -> list[str]:
    """Problems in a domain XML that RelaxNG validation passes; [] when none are found."""
    try:
        domain = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    vcpu = _int(domain.findtext("vcpu"))
    cells = domain.findall("cpu/numa/cell")
    problems = [] if vcpu is not None else ["no <vcpu> count"]
    problems += _cells(cells, vcpu)
    problems += _memory(domain, cells)
    problems += _pins(domain, vcpu)
    problems += _topology(domain, vcpu)
    cell_ids = {cell.get("id") for cell in cells}
    for memnode in domain.findall("numatune/memnode"):
        if memnode.get("cellid") not in cell_ids:
            problems.append(f"numatune memnode for cell {memnode.get('cellid')}, no such cell")
    return problems + _host_functions(domain)


def _cells(cells, vcpu):
    """Each guest NUMA cell's vCPUs: a CPU list, within <vcpu>, each vCPU in one cell."""
    problems, seen_vcpus = [], {}
    for cell in cells:
        cell_id = cell.get("id")
        try:
            cpus = parse_cpuset(cell.get("cpus", ""))
        except ValueError:
            problems.append(f"numa cell {cell_id}: cpus {cell.get('cpus')!r} is not a CPU list")
            continue
        if vcpu is not None and cpus and max(cpus) >= vcpu:
            problems.append(
                f"numa cell {cell_id}: cpus {cell.get('cpus')} go beyond the {vcpu} vCPUs"
            )
        for c in sorted(cpus):
            if c in seen_vcpus:
                problems.append(f"vCPU {c} is in numa cells {seen_vcpus[c]} and {cell_id}")
            seen_vcpus.setdefault(c, cell_id)
    if cells and vcpu is not None and len(seen_vcpus) != vcpu:
        problems.append(f"numa cells hold {len(seen_vcpus)} vCPUs, <vcpu> is {vcpu}")
    return problems


def _memory(domain, cells):
    """The cells' memory sums to <memory>, and <currentMemory> is not larger."""
    problems = []
    memory = _bytes(domain.find("memory"))
    current = _bytes(domain.find("currentMemory"))
    if cells:
        cell_bytes = [_bytes(cell, attribute="memory") for cell in cells]
        if None in cell_bytes:
            problems.append("a numa cell has no readable memory size")
        elif memory is not None and sum(cell_bytes) != memory:
            problems.append(
                f"<memory> is {memory // 2**20} MiB but the numa cells sum to "
                f"{sum(cell_bytes) // 2**20} MiB"
            )
    if memory is not None and current is not None and current > memory:
        problems.append("<currentMemory> is larger than <memory>")
    return problems


def _pins(domain, vcpu):
    """One vcpupin per vCPU, none twice, none beyond <vcpu>."""
    problems = []
    pins = domain.findall("cputune/vcpupin")
    if pins and vcpu is not None and len(pins) != vcpu:
        problems.append(f"{len(pins)} vcpupin elements for {vcpu} vCPUs")
    pinned = [_int(p.get("vcpu")) for p in pins]
    if len(set(pinned)) != len(pinned):
        problems.append("a vCPU is pinned twice")
    if vcpu is not None and any(p is not None and p >= vcpu for p in pinned):
        problems.append(f"vcpupin names a vCPU beyond the {vcpu} vCPUs")
    return problems


def _topology(domain, vcpu):
    topology = domain.find("cpu/topology")
    if topology is None or vcpu is None:
        return []
    parts = [_int(topology.get(k, "1")) for k in ("sockets", "dies", "cores", "threads")]
    if None not in parts and math.prod(parts) != vcpu:
        return [f"cpu topology gives {math.prod(parts)} vCPUs, <vcpu> is {vcpu}"]
    return []


def _host_functions(domain):
    """No host PCI function passed through twice."""
    problems, seen = [], set()
    for address in domain.findall("devices/hostdev[@type='pci']/source/address"):
        key = tuple(_int(address.get(k), 0) for k in ("domain", "bus", "slot", "function"))
        if key in seen:
            problems.append(
                "host PCI function {:04x}:{:02x}:{:02x}.{:x} is listed twice".format(*key)
            )
        seen.add(key)
    return problems


def parse_cpuset(text):
    """'0-3,8,10-11' -> {0, 1, 2, 3, 8, 10, 11}; ValueError when malformed or empty."""
    if not text.strip():
        raise ValueError("empty CPU list")
    return set(parse_cpulist(text))


def _int(text, base=10):
    if text is None:
        return None
    try:
        return int(text.strip(), base)
    except ValueError:
        return None


def _bytes(element, attribute=None):
    if element is None:
        return None
    value = _int(element.get(attribute) if attribute else element.text)
    factor = UNIT_BYTES.get(element.get("unit", "KiB").lower())
    if value is None or factor is None:
        return None
    return value * factor
