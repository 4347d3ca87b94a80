"""linode-cli creates a standard plan; one libvirt agent (``qemu:///system``) boots it.

gunicorn, the relay and the agent of ``pool.us-east`` share the embedded broker. The
agent's driver boots a host kernel directly on a tiny base image for ``linode/debian12``
(as tests/integration/test_libvirt_qemu.py does). Printed (``pytest -s``): the seconds
from starting ``linode-cli linodes create`` to libvirt reporting the domain running, and
``virsh list --all``; the Linode is then deleted with linode-cli and its domain and files
must be gone.
"""

import threading
import time

import pytest

from cloudapi.agent.domain_xml import domain_name
from cloudapi.agent.main import run_agent
from cloudapi.jobs import broker
from cloudapi.jobs.relay import Relay
from cloudapi.services import tokens
from tests.compat.conftest import STRONG_PASSWORD, cli, cli_json, token_of  # noqa: F401
from tests.integration.test_libvirt_qemu import (  # noqa: F401 (fixtures)
    BOOT_TIMEOUT,
    conn,
    kernel,
    make_driver,
    store,
    virsh,
    workdir,
)
from tests.support.gunicorn import Gunicorn
from tests.support.libvirt import libvirt_uri

pytestmark = [pytest.mark.slow,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]  # fmt: skip

HOST = "pool.us-east"
CREATE = ("linodes", "create", "--type", "g6-nanode-1", "--region", "us-east",
          "--image", "linode/debian12", "--root_pass", STRONG_PASSWORD)  # fmt: skip


@pytest.fixture
def driver(conn, store, workdir):  # noqa: F811
    return make_driver(conn, store, workdir, boot=kernel(), shutdown_timeout=5, cpu_mode=None)


@pytest.fixture
def live_server(app, db, driver, tmp_path):
    """gunicorn, the relay and the libvirt agent of pool.us-east, on the embedded broker."""
    url = broker.default_url(tmp_path)
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "BROKER_URL": url,
           "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}  # fmt: skip
    with db.transaction() as session:
        agent_token = tokens.create(session, host=HOST)
    stop = threading.Event()
    with Gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        relay = Relay(db, url)
        parts = [
            threading.Thread(target=relay.run_forever, kwargs={"poll": 0.2, "stop_event": stop}),
            threading.Thread(target=run_agent, args=(HOST, server.url, agent_token, url,
                             tmp_path / "agent"), kwargs={"stop_event": stop, "driver": driver}),
        ]  # fmt: skip
        for part in parts:
            part.start()
        try:
            yield server
        finally:
            stop.set()
            for part in parts:
                part.join(timeout=30)


def test_linode_cli_create_to_running_under_qemu(cli, make_account, conn, driver):  # noqa: F811
    _, headers = make_account()
    token = token_of(headers)
    started = time.monotonic()
    created = cli_json(cli(token, *CREATE))
    instance_id = created[0]["id"]
    name = domain_name(instance_id)
    try:
        while time.monotonic() < started + BOOT_TIMEOUT:
            try:
                if conn.lookupByName(name).state()[0] == 1:  # VIR_DOMAIN_RUNNING
                    break
            except Exception:  # libvirtError: not defined yet
                pass
            time.sleep(0.05)
        seconds = time.monotonic() - started
        domain = conn.lookupByName(name)
        assert domain.isActive() == 1 and domain.state()[0] == 1, f"{name} not running"
        print(f"\n[create-to-running under QEMU] {seconds:.2f} s")
        print(f"$ virsh -c {libvirt_uri()} list --all\n{virsh('list', '--all')}")
    finally:
        deleted = cli(token, "linodes", "delete", str(instance_id))
        assert deleted.returncode == 0, deleted.stderr
        deadline = time.monotonic() + BOOT_TIMEOUT
        while name in [d.name() for d in conn.listAllDomains()]:
            assert time.monotonic() < deadline, f"{name} still defined after delete"
            time.sleep(0.1)
    while driver.disks.files(instance_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert driver.disks.files(instance_id) == []
    print(f"after delete:\n$ virsh -c {libvirt_uri()} list --all\n{virsh('list', '--all')}")
