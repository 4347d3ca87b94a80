"""The GPU lifecycle end to end: resizes into and out of GPU plans, a move, a race, a drain.

Real parts: gunicorn with 4 workers on PostgreSQL, the relay, and one host agent per queue
(both GPU hosts and every region's pool: `job_stack` of tests/compat/test_linode_api4_suite.py)
on an embedded broker of this test's own, the hypervisor simulated. Every step waits until
the instances run again, then checks what the agents hold (each domain's XML: its GPUs'
functions passed through, vCPUs pinned onto the reserved node's threads, memory bound
strictly to that node; and no domain left on a host an instance left), the inventory's
invariants, and the exact free GPUs per NUMA node that /admin/capacity reports.

Two hosts, gpu-1 and gpu-2.us-east, of 2 NUMA nodes x 4 GPUs. Placement is best fit (ties
to the fuller host, then the lower host and node): a host's first small instance goes to
gpu-1's node 0, and so on; each step states the layout it expects.
"""

import time
import xml.etree.ElementTree as ET

import pytest
import requests
from sqlalchemy import select

import tests.compat.test_linode_api4_suite as sdk_suite
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.db.jobs import Job
from cloudapi.domain.cpus import parse_cpulist
from cloudapi.jobs import broker
from tests.api.test_resize import gpu
from tests.integration.test_end_to_end import wait_status
from tests.integration.test_races import BODY, _burst, _env
from tests.integration.test_resize_races import _create, _resize
from tests.support.gunicorn import Gunicorn
from tests.support.inventory import check_invariants

# GPU placement races are decided by PostgreSQL's row and advisory locks: the production backend.
pytestmark = [pytest.mark.slow,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]  # fmt: skip

GPU1, GPU2, POOL = "gpu-1.us-east", "gpu-2.us-east", "pool.us-east"
BOOT_SECONDS = 0.2
FUNCTIONS_PER_GPU = 2  # each demo GPU's IOMMU group: its VGA and its audio function
RACERS = 7  # 1-GPU creates racing one resize for the last two GPUs


def wait_until(check, what, timeout=30):
    """Poll `check` until true; `what()` says, on a timeout, what was awaited and what is."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what()}"
        time.sleep(0.1)


def _pci(address):
    """`0000:3b:00.0` from a hostdev's <address domain="0x0000" bus="0x3b" .../>."""
    domain, bus, slot, function = (address.get(k)[2:] for k in ("domain", "bus", "slot",
                                                                "function"))  # fmt: skip
    return f"{domain}:{bus}:{slot}.{function}"


class Cloud:
    """The running stack, seen through its API and its agents' state folders."""

    def __init__(self, server, db, headers, admin_headers, agents):
        self.server, self.db, self.headers, self.agents = server, db, headers, agents
        self.url = f"{server.url}/v4/linode/instances"
        self.token = headers["Authorization"].removeprefix("Bearer ")
        self.admin = admin_headers["Authorization"].removeprefix("Bearer ")

    def create(self, plan):
        return _create(self.url, self.headers, plan)

    def resize(self, instance_id, plan):
        return _resize(self.url, self.headers, instance_id, plan)

    def running(self, *ids):
        for instance_id in ids:
            wait_status(self.server, self.token, instance_id, "running")

    def hosts(self):
        answer = self.server.get("/admin/capacity?region=us-east", self.admin)
        assert answer.status_code == 200, answer.text
        (region,) = answer.json()["regions"]
        return {h["hostname"]: h for h in region["hosts"]}

    def check(self, free):
        """Exactly `free` GPUs free per host and node, and the invariants behind the counters."""
        shown = {name: [n["gpus_free"] for n in sorted(h["numa_nodes"], key=lambda n: n["node"])]
                 for name, h in self.hosts().items()}  # fmt: skip
        assert shown == free
        assert check_invariants(self.db)["gpus_free"] == sum(map(sum, free.values()))

    def holds(self, instance_id):
        """{(hostname, node): (PCI addresses, node cpus)} of the GPUs the instance holds."""
        held = {}
        for name, host in self.hosts().items():
            for node in host["numa_nodes"]:
                mine = {g["pci_address"] for g in node["gpus"] if g["instance_id"] == instance_id}
                if mine:
                    held[(name, node["node"])] = (mine, node["cpus"])
        return held

    def driver(self, queue):
        return SimulatedDriver(self.agents / queue / "domains")

    def defined(self, queue):
        """The instances whose domain the agent of `queue` has defined."""
        driver, folder = self.driver(queue), self.agents / queue / "domains"
        ids = [int(p.name) for p in folder.iterdir()] if folder.exists() else []
        return {i for i in ids if driver.state(i) is not None}

    def settled(self, expected):
        """Wait until each agent holds exactly the domains of `expected` ({queue: ids}):
        a host an instance left has run its `undefine` (or the delete's job)."""

        def now():
            return {queue: self.defined(queue) for queue in expected}

        wait_until(lambda: now() == expected, lambda: f"domains {expected}, not {now()}")

    def check_domain(self, queue, instance_id, gpus):
        """The domain on `queue`'s agent runs with the `gpus` GPUs the instance holds, its
        vCPUs pinned onto that NUMA node's threads and its memory bound strictly to it."""
        assert self.driver(queue).state(instance_id) == "running", (queue, instance_id)
        domain = ET.fromstring(self.driver(queue).xml(instance_id))
        hostdevs = domain.findall("devices/hostdev")
        assert len(hostdevs) == FUNCTIONS_PER_GPU * gpus, (instance_id, len(hostdevs))
        pins = [int(p.get("cpuset")) for p in domain.findall("cputune/vcpupin")]
        if not gpus:
            assert pins == [] and domain.find("numatune") is None
            assert self.holds(instance_id) == {}
            return
        ((hostname, node), (pci, cpus)), *more = self.holds(instance_id).items()
        assert more == [] and hostname == queue, self.holds(instance_id)  # strict: one node
        functions = {_pci(a) for a in domain.iterfind("devices/hostdev/source/address")}
        assert {f for f in functions if f.endswith(".0")} == pci and len(pci) == gpus
        memory = domain.find("numatune/memory")
        assert (memory.get("mode"), memory.get("nodeset")) == ("strict", str(node))
        assert len(pins) == int(domain.findtext("vcpu")) == len(set(pins))
        assert set(pins) <= set(parse_cpulist(cpus))

    def events(self, instance_id, action):
        """(status, username) of the instance's events of `action`, oldest first."""
        answer = self.server.get("/v4/account/events", self.token, params={"page_size": 500})
        return [(e["status"], e["username"]) for e in reversed(answer.json()["data"])
                if e["action"] == action and e["entity"]["id"] == instance_id]  # fmt: skip

    def undefines(self, instance_id):
        """(queue, state) of the `undefine` jobs an instance's moves left behind."""
        mine = (Job.instance_id == instance_id, Job.action == "undefine")
        with self.db.reader() as session:
            jobs = session.scalars(select(Job).where(*mine).order_by(Job.created))
            return [(j.host, j.state) for j in jobs]

    def left(self, instance_id, *queues):
        """Wait until the instance's moves sent `undefine` to exactly `queues`, in order,
        and each has finished (the agent destroys the domain, then reports)."""
        done = [(queue, "done") for queue in queues]
        now = f"the undefine jobs of {instance_id}"
        wait_until(lambda: self.undefines(instance_id) == done,
                   lambda: f"{now}: {done}, not {self.undefines(instance_id)}")  # fmt: skip


@pytest.fixture
def cloud(app, db, add_host, make_account, admin_headers, tmp_path):
    add_host(GPU1)
    add_host(GPU2)
    _, headers = make_account(tags=("employee",))
    broker_url = broker.default_url(tmp_path)  # this test's own queues
    env = {**_env(app), "BROKER_URL": broker_url,
           "CLOUDAPI_INSTANCE_PATH": str(tmp_path / "instance")}  # fmt: skip
    with Gunicorn(env, workers=4, log_path=tmp_path / "gunicorn.log") as server:
        with sdk_suite.job_stack(db, server.url, broker_url, tmp_path / "agents", BOOT_SECONDS):
            yield Cloud(server, db, headers, admin_headers, tmp_path / "agents")
        server.check_alive()


def into_a_gpu_plan_and_out(cloud):
    """A standard instance resizes into a 1-GPU plan (pool -> gpu-1) and back."""
    small = cloud.create("g6-standard-2")
    cloud.running(small)
    cloud.check({GPU1: [4, 4], GPU2: [4, 4]})
    assert cloud.resize(small, gpu(1)).status_code == 200
    cloud.running(small)
    cloud.check({GPU1: [3, 4], GPU2: [4, 4]})
    cloud.check_domain(GPU1, small, 1)
    cloud.settled({POOL: set(), GPU1: {small}, GPU2: set()})  # the pool undefined it
    assert cloud.resize(small, "g6-standard-2").status_code == 200
    cloud.running(small)
    cloud.check({GPU1: [4, 4], GPU2: [4, 4]})
    cloud.check_domain(POOL, small, 0)
    cloud.settled({POOL: {small}, GPU1: set(), GPU2: set()})
    cloud.left(small, POOL, GPU1)
    # Each POST wrote its notice; each resize's own event came with the agent, and finished.
    assert [s for s, _ in cloud.events(small, "linode_resize_create")] == ["notification"] * 2
    assert [s for s, _ in cloud.events(small, "linode_resize")] == ["finished"] * 2
    return small


def growing_out_of_a_full_node(cloud, small):
    """1 -> 4 GPUs where the instance's node and host have no room: it moves to gpu-2."""
    one, two, four = (cloud.create(gpu(n)) for n in (1, 2, 4))
    cloud.running(one, two, four)
    # Best fit: the 1 and the 2 share gpu-1's node 0, the 4 fills its node 1. Without the
    # 1-GPU instance gpu-1 still has only 2 + 0 free: 4 GPUs on one node are on gpu-2 only.
    cloud.check({GPU1: [1, 0], GPU2: [4, 4]})
    assert {k[:2] for i in (one, two) for k in cloud.holds(i)} == {(GPU1, 0)}
    assert cloud.resize(one, gpu(4)).status_code == 200
    cloud.running(one)
    cloud.check({GPU1: [2, 0], GPU2: [0, 4]})
    cloud.check_domain(GPU2, one, 4)
    cloud.settled({POOL: {small}, GPU1: {two, four}, GPU2: {one}})
    cloud.left(one, GPU1)
    history = cloud.driver(GPU1).history(one)
    assert history[-1] == "destroyed" and cloud.driver(GPU1).xml(one) is None
    return one, two, four


def racing_for_the_last_gpus(cloud, grower, small, one, four):
    """`grower` (2 GPUs, its node's last 2 free) resizes to 4 while RACERS 1-GPU creates
    run: the resize and both creates that fit cannot all win; whoever is first decides.

    Liveness as in test_resize_races.py: the node ends full either way, so no request was
    refused while what it needed was free; every refusal is a clean capacity 400.
    """
    filler = cloud.create(gpu(4))  # gpu-2's node 1: now only `grower`'s node has room
    cloud.running(filler)
    cloud.check({GPU1: [2, 0], GPU2: [0, 0]})
    creates = [lambda: requests.post(cloud.url, json={**BODY, "type": gpu(1)},
                                     headers=cloud.headers, timeout=60)] * RACERS  # fmt: skip
    resized, *created = _burst([lambda: cloud.resize(grower, gpu(4)), *creates])
    refused = [r for r in (resized, *created) if r.status_code != 200]
    for answer in refused:
        assert answer.status_code == 400, answer.text
        assert answer.json()["errors"][0]["reason"].startswith("No capacity for "), answer.text
    made = [r.json()["id"] for r in created if r.status_code == 200]
    outcome = (resized.status_code, len(made))
    assert outcome in ((200, 0), (400, 2)), outcome
    cloud.check({GPU1: [0, 0], GPU2: [0, 0]})  # never oversold, never left room unsold
    cloud.running(grower, *made)
    cloud.check({GPU1: [0, 0], GPU2: [0, 0]})
    cloud.check_domain(GPU1, grower, 4 if resized.status_code == 200 else 2)
    for instance_id in made:
        cloud.check_domain(GPU1, instance_id, 1)
    cloud.settled({POOL: {small}, GPU1: {grower, four, *made}, GPU2: {one, filler}})
    return outcome, made, filler


def draining_gpu_1(cloud, small, on_gpu1, gpus, leaving):
    """gpu-2 is emptied; gpu-1 drains: everything on it migrates there and runs again."""
    for instance_id in leaving:
        assert requests.delete(f"{cloud.url}/{instance_id}", headers=cloud.headers,
                               timeout=60).status_code == 200  # fmt: skip
    cloud.check({GPU1: [0, 0], GPU2: [4, 4]})
    answer = cloud.server.post(f"/admin/hosts/{GPU1}/drain", cloud.admin, {})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"migrating": sorted(on_gpu1), "no_room": [], "busy": []}
    # In flight each holds both places: gpu-2 is full at once; gpu-1's share goes back as
    # each migration finishes (some may have by now), so only the end is exact there.
    assert cloud.hosts()[GPU2]["gpus_free"] == 0
    check_invariants(cloud.db)
    cloud.running(*on_gpu1)
    cloud.check({GPU1: [4, 4], GPU2: [0, 0]})
    drained = cloud.hosts()[GPU1]
    assert drained["status"] == "draining" and drained["gpus_allocated"] == 0
    assert all(g["instance_id"] is None for n in drained["numa_nodes"] for g in n["gpus"])
    cloud.settled({POOL: {small}, GPU1: set(), GPU2: set(on_gpu1)})
    for instance_id in on_gpu1:
        cloud.check_domain(GPU2, instance_id, gpus[instance_id])
        cloud.left(instance_id, GPU1)  # resizing in place (the race) sent none
        assert cloud.driver(GPU1).history(instance_id)[-1] == "destroyed"
        assert cloud.events(instance_id, "linode_migrate") == [("finished", "linode")]


def test_gpu_lifecycle_through_the_agents(cloud):
    took, start = {}, time.monotonic()

    def lap(name):
        nonlocal start
        took[name], start = time.monotonic() - start, time.monotonic()

    small = into_a_gpu_plan_and_out(cloud)
    lap("resize in+out")
    one, two, four = growing_out_of_a_full_node(cloud, small)
    lap("grow+move")
    outcome, made, filler = racing_for_the_last_gpus(cloud, two, small, one, four)
    lap("race")
    gpus = {two: 4 if outcome[0] == 200 else 2, four: 4, **dict.fromkeys(made, 1)}
    draining_gpu_1(cloud, small, sorted(gpus), gpus, leaving=(one, filler))
    lap("drain")
    laps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items())
    print(f"\n[gpu-lifecycle] {laps}; race outcome (resize, creates won) = {outcome}")
