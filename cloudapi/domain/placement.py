"""NUMA-affine GPU placement: a pure function over plain objects (no Flask, no database).

`place(request, hosts)` returns where one GPU instance goes: the host, and per NUMA node the
GPUs, CPU threads and memory to take. `strict` puts everything on one node or fails;
`preferred` does the same when any host can, else uses the fewest nodes of one host.

Best fit: among the nodes that can take the request, prefer the one the request fills most
exactly (fewest GPUs left over, then threads, then memory), so part-used nodes fill up and
whole nodes stay free for 3- and 4-GPU plans. Ties go to the fuller host, then the lower
host and node ids, so the same input always gives the same answer.
"""

from dataclasses import dataclass, field

STRICT, PREFERRED = "strict", "preferred"


@dataclass(frozen=True)
class GpuView:
    id: int
    pci_address: str


@dataclass(frozen=True)
class NodeView:
    id: int
    index: int
    free_gpus: tuple  # GpuView, in the order they should be taken
    free_threads: tuple  # host CPU thread numbers, ascending
    free_memory_mb: int


@dataclass(frozen=True)
class HostView:
    id: int
    hostname: str
    status: str
    nodes: tuple  # NodeView
    # Free GPUs on the host's nodes not offered in `nodes` (held by another reservation in
    # flight): they still count towards "the fuller host" in a tie.
    unoffered_free_gpus: int = 0

    @property
    def free_gpus(self):
        return sum(len(n.free_gpus) for n in self.nodes) + self.unoffered_free_gpus


@dataclass(frozen=True)
class Request:
    gpus: int
    vcpus: int
    memory_mb: int
    affinity: str = STRICT


@dataclass(frozen=True)
class Part:
    """What one instance takes from one NUMA node."""

    node_id: int
    gpu_ids: tuple
    threads: tuple
    memory_mb: int


@dataclass(frozen=True)
class Placement:
    host_id: int
    parts: tuple = field(default_factory=tuple)

    @property
    def gpu_ids(self):
        return tuple(g for p in self.parts for g in p.gpu_ids)


class NoCapacity(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _fits(node, req):
    return (
        len(node.free_gpus) >= req.gpus
        and len(node.free_threads) >= req.vcpus
        and node.free_memory_mb >= req.memory_mb
    )


def _take(node, gpus, vcpus, memory_mb):
    gpu_ids = tuple(g.id for g in node.free_gpus[:gpus])
    return Part(node.id, gpu_ids, tuple(node.free_threads[:vcpus]), memory_mb)


def _single_node(req, hosts):
    candidates = [
        (
            len(node.free_gpus) - req.gpus,
            len(node.free_threads) - req.vcpus,
            node.free_memory_mb - req.memory_mb,
            host.free_gpus,
            host.id,
            node.index,
            host,
            node,
        )
        for host in hosts
        for node in host.nodes
        if _fits(node, req)
    ]
    if not candidates:
        return None
    *_, host, node = min(candidates, key=lambda c: c[:6])
    return Placement(host.id, (_take(node, req.gpus, req.vcpus, req.memory_mb),))


def _split_on(host, req):
    """The fewest nodes of `host` that together hold the request, or None.

    GPUs come from the nodes with the most free GPUs; each node gives vCPUs and memory in
    proportion to the GPUs it gives, and the nodes with room to spare make up the rest.
    """
    nodes = sorted(host.nodes, key=lambda n: (-len(n.free_gpus), n.index))
    chosen, gpus = [], []
    for node in nodes:
        wanted = req.gpus - sum(gpus)
        if wanted <= 0 or not node.free_gpus:
            break
        chosen.append(node)
        gpus.append(min(len(node.free_gpus), wanted))
    if sum(gpus) < req.gpus:
        return None
    threads = _shares(req.vcpus, gpus, [len(n.free_threads) for n in chosen])
    memory = _shares(req.memory_mb, gpus, [n.free_memory_mb for n in chosen])
    if threads is None or memory is None:
        return None
    parts = tuple(
        _take(node, g, v, m) for node, g, v, m in zip(chosen, gpus, threads, memory, strict=True)
    )
    return Placement(host.id, parts)


def _shares(total, weights, caps):
    """Split `total` in proportion to `weights`, within `caps`; None if it cannot fit."""
    if sum(caps) < total:
        return None
    whole = sum(weights)
    out = [min(cap, total * w // whole) for w, cap in zip(weights, caps, strict=True)]
    for i, cap in enumerate(caps):
        out[i] += min(cap - out[i], total - sum(out))
    return out


def place(req, hosts):
    """Choose where an instance of `req` goes among `hosts`, or raise NoCapacity."""
    active = [h for h in hosts if h.status == "active"]
    found = _single_node(req, active)
    if found is not None:
        return found
    if req.affinity == PREFERRED:
        splits = []
        for host in active:
            split = _split_on(host, req)
            if split is not None:
                leftover = host.free_gpus - req.gpus
                splits.append((len(split.parts), leftover, host.id, split))
        if splits:
            return min(splits, key=lambda s: s[:3])[3]
        raise NoCapacity("Not enough free GPUs, CPUs or memory on any host in this region")
    raise NoCapacity("Not enough free GPUs, CPUs or memory on a single NUMA node in this region")


def fit_count(req, free_gpus, free_threads, free_memory_mb):
    """How many instances of `req` one NUMA node with these free amounts can still take."""
    limits = [
        free_gpus // req.gpus if req.gpus else None,
        free_threads // req.vcpus if req.vcpus else None,
        free_memory_mb // req.memory_mb if req.memory_mb else None,
    ]
    known = [n for n in limits if n is not None]
    return min(known) if known else 0
