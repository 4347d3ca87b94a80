"""linode_api4's own integration suite, from its PyPI sdist, unmodified, against our server.

Our own SDK tests (test_linode_api4.py) check what we thought to check; the SDK's
maintainers' suite checks the flows they rely on against the real Linode. It runs here
as published (tools/linode-api4-suite fetches it; nothing in it is edited) on the modules
about compute, regions, account, profile, tags, images, filters and the client, minus
the tests that need products this cloud does not offer (linode_api4_deselected.py, one
reason each). Every other test must pass: a failure is a compatibility defect of ours.

The server is the production stack on real parts: gunicorn with 2 workers on the test
database, the relay, and one host agent per regional pool (the suite creates
`g6-nanode-1` Linodes in any region with "Linodes" and "Cloud Firewall" and waits for
them to run). Jobs go through an embedded broker of this test's own, so no other run's
queues can take them. The agents' simulated boot takes BOOT_SECONDS: the SDK re-reads a
Linode's status only once its copy is 15 s old, and the suite polls for "rebooting" after
a reboot, which on Linode lasts that long too.
"""

import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import select

from cloudapi.agent.main import run_agent
from cloudapi.db.catalog import Region
from cloudapi.db.inventory import Host
from cloudapi.jobs import broker
from cloudapi.jobs.relay import Relay
from cloudapi.services import tokens
from tests.compat import linode_api4_deselected as deselected
from tests.support.databases import missing_service
from tests.support.gunicorn import Gunicorn

pytestmark = pytest.mark.slow

FETCH = Path(__file__).resolve().parents[2] / "tools" / "linode-api4-suite"
PLUGINS = Path(__file__).resolve().parent / "suite_plugins"
MODULES = ["models/linode", "models/region", "models/account", "models/profile",
           "models/tag", "models/image", "filters", "linode_client"]  # fmt: skip
BOOT_SECONDS = 24.0
# The suite's tests mostly wait (for boots, resizes, migrations: a resize is minutes), so
# they run in SHARDS pytest sessions side by side, each with an account of its own: the
# suite's session fixture labels its firewall by the second, and labels are unique per
# account. Tests sharing a fixture share a shard, in the suite's order (shards_of). Each
# shard has SUITE_TIMEOUT.
SHARDS = 6
SUITE_TIMEOUT = 900
SUITE_KNOBS = ("LINODE_", "SKIP_E2E_", "RUN_")  # environment variables the suite reads
# No Internet here: the suite's firewall fixture asks api.ipify.org for our address and,
# failing that, opens no inbound port. A dead proxy makes that failure immediate.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}  # fmt: skip


@pytest.fixture(scope="module")
def suite():
    """The unpacked sdist and the suite's extra dependencies (fetched once, then cached)."""
    done = subprocess.run([sys.executable, str(FETCH)], capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    if done.returncode != 0:
        missing_service(f"linode_api4 sdist not fetched from PyPI: {done.stderr[-500:]}")
    return json.loads(done.stdout)


@contextlib.contextmanager
def job_stack(db, api_url, broker_url, state_dir, boot_seconds=BOOT_SECONDS):
    """The relay and one agent per queue (regional pools and hosts), as threads; each
    simulated boot (and disk copy) takes `boot_seconds`."""
    stop = threading.Event()
    with db.reader() as session:
        names = [*session.scalars(select(Host.hostname)),
                 *(f"pool.{r}" for r in session.scalars(select(Region.id)))]  # fmt: skip
    with db.transaction() as session:
        agent_tokens = {name: tokens.create(session, host=name) for name in names}
    relay = Relay(db, broker_url)
    threads = [threading.Thread(target=relay.run_forever,
                                kwargs={"poll": 0.2, "stop_event": stop})]  # fmt: skip
    for name, token in agent_tokens.items():
        args = (name, api_url, token, broker_url, state_dir / name)
        kwargs = {"boot_seconds": boot_seconds, "stop_event": stop}
        threads.append(threading.Thread(target=run_agent, args=args, kwargs=kwargs))
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=boot_seconds + 15)


def suite_env(suite, api_url, token):
    """The suite's environment: our server and token, its deps, and none of its switches.

    LINODE_* and the suite's own knobs (SKIP_E2E_FIREWALL, RUN_LONG_TESTS, ...) from the
    caller's environment are dropped, so the suite always runs as published.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SUITE_KNOBS) and k.lower() not in ("http_proxy", "https_proxy")
    }
    env.update(OFFLINE)
    env.update(LINODE_API_URL=f"{api_url}/v4beta", LINODE_TOKEN=token,
               PYTHONPATH=suite["pythonpath"], PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
    return env


def run_suite(suite, env, *args, timeout=SUITE_TIMEOUT):
    """`python -m pytest ARGS` in the sdist's root (its config, its `test` package)."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=suite["suite"], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def collected_ids(suite, env, tmp_path):
    """Every test id of MODULES, in the suite's order, and {id: [shared fixtures]}
    (suite_plugins/shared_fixtures.py)."""
    paths = (f"test/integration/{m}" for m in MODULES)
    found = tmp_path / "shared-fixtures.json"
    env = {**env, "CLOUDAPI_SUITE_FIXTURES": str(found),
           "PYTHONPATH": os.pathsep.join([str(PLUGINS), env["PYTHONPATH"]])}  # fmt: skip
    done = run_suite(suite, env, "-p", "shared_fixtures", "--collect-only", "-q", *paths,
                     timeout=120)  # fmt: skip
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert done.returncode == 0 and ids, done.stdout[-3000:] + done.stderr[-3000:]
    return ids, json.loads(found.read_text())


def shards_of(ids, shared, count):
    """`ids` dealt into `count` shards, each in the suite's order. Tests that share a
    fixture (`shared`: {id: [fixture names]}) land in one shard, as upstream runs them;
    the largest such groups are placed first, each on the shard with the fewest tests."""
    parent = {}

    def root(name):
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for test_id in ids:
        for name in shared.get(test_id, []):
            parent[root(name)] = root(test_id)
    groups = {}
    for test_id in ids:
        groups.setdefault(root(test_id), []).append(test_id)
    shards = [[] for _ in range(count)]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(shards, key=len).extend(group)
    order = {test_id: index for index, test_id in enumerate(ids)}
    return [sorted(shard, key=order.get) for shard in shards if shard]


def module_of(classname):
    """`test.integration.models.linode.interfaces.test_x` -> `models/linode`."""
    parts = classname.split(".")[2:]
    return next(m for m in sorted(MODULES, key=len, reverse=True)
                if parts[: m.count("/") + 1] == m.split("/"))  # fmt: skip


def outcomes(junit_path):
    """{node id: (module, outcome, message)} from pytest's JUnit XML report."""
    results = {}
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        classname = case.get("classname", "")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = {"failure": "failed", "error": "error"}.get(tag, "skipped")
                message = (found.get("message") or found.text or "").strip()
                break
        results[f"{classname}::{case.get('name')}"] = (module_of(classname), outcome, message)
    return results


def report(results, seconds):
    """What the test prints: counts per module, what did not pass, what was left out."""
    lines = [f"\n[linode_api4 suite] {len(results)} run in {seconds:.0f} s, "
             f"{len(deselected.DESELECTED)} deselected"]  # fmt: skip
    for module in MODULES:
        mine = [o for m, o, _ in results.values() if m == module]
        counts = {k: mine.count(k) for k in ("passed", "failed", "error", "skipped")}
        lines.append(f"  {module:<16} " + " ".join(f"{k} {v}" for k, v in counts.items()))
    for test_id, (_, outcome, message) in sorted(results.items()):
        if outcome != "passed":
            first_line = message.partition("\n")[0]
            lines.append(f"  {outcome.upper()} {test_id}: {first_line}")
    lines.append("  deselected: " + "; ".join(f"{n} {reason}" for reason, n in
                                              deselected.by_reason().items()))  # fmt: skip
    print("\n".join(lines))


def run_shards(suite, make_account, url, shards, tmp_path):
    """Run each shard's tests in a concurrent session of its own; return their JUnit
    paths and the output of each."""

    def shard(index):
        _, headers = make_account(email=f"sdk-suite-{index}@example.com")
        env = suite_env(suite, url, headers["Authorization"].removeprefix("Bearer "))
        junit = tmp_path / f"suite-{index}.xml"
        done = run_suite(suite, env, "-q", "-rfE", f"--junitxml={junit}", *shards[index])
        return junit, done.stdout[-3000:] + done.stderr[-2000:]

    with concurrent.futures.ThreadPoolExecutor(len(shards)) as pool:
        return list(pool.map(shard, range(len(shards))))


def test_linode_api4_integration_suite(suite, app, db, make_account, tmp_path):
    _, headers = make_account(email="sdk-suite@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")
    broker_url = broker.default_url(tmp_path)
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "BROKER_URL": broker_url,
           "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off",
           "CLOUDAPI_INSTANCE_PATH": str(tmp_path / "instance")}  # fmt: skip
    with Gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        ids, shared = collected_ids(suite, suite_env(suite, server.url, token), tmp_path)
        assert not deselected.stale(ids), f"no such tests: {deselected.stale(ids)}"
        # The selected tests by exact id: --deselect matches prefixes (deselecting
        # test_get_linode would drop test_get_linode_types as well).
        selected = [i for i in ids if i not in deselected.DESELECTED]
        started = time.monotonic()
        with job_stack(db, server.url, broker_url, tmp_path / "agents"):
            dealt = shards_of(selected, shared, SHARDS)
            shards = run_shards(suite, make_account, server.url, dealt, tmp_path)
        server.check_alive()
    output = "\n".join(out for _, out in shards)
    assert all(junit.exists() for junit, _ in shards), output
    results = {k: v for junit, _ in shards for k, v in outcomes(junit).items()}
    report(results, time.monotonic() - started)
    bad = {i: r for i, r in results.items() if r[1] != "passed"}
    assert len(results) == len(selected), output
    assert not bad, f"{len(bad)} of the SDK's own tests did not pass:\n{output}"
