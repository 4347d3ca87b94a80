"""Run a host agent: the consumer, a driver (simulated, or libvirt) and the HTTP reporter."""

import json
import logging
import signal
import threading
from pathlib import Path

from cloudapi.agent import keys
from cloudapi.agent.consumer import ACTIONS, Agent, PoisonMessage, parse
from cloudapi.agent.domain_xml import DISK_DIR
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.agent.reporter import Reporter
from cloudapi.observability import metrics

log = logging.getLogger(__name__)


class MeteredAgent(Agent):
    """The agent, counting its jobs for its health port's /metrics: run and failed by
    action, and the messages it rejects (dead-lettered on RabbitMQ). Counted around the
    consumer's own steps, which stay as they are."""

    def handle(self, message):
        try:
            parse(message.body)
        except PoisonMessage:
            action = _action_of(message.body)
            metrics.JOBS_DEAD_LETTERED.labels(action if action in ACTIONS else "unknown").inc()
        return super().handle(message)

    def execute(self, job):
        outcome = super().execute(job)
        metrics.count_run(job["action"], outcome[0])
        return outcome


def _action_of(body):
    try:
        return json.loads(body).get("action")
    except Exception:
        return None


def make_driver(kind, state_dir, boot_seconds=0.5, libvirt_uri="qemu:///system",
                image_store=None, disk_dir=None):  # fmt: skip
    """``simulated``: domains as folders under ``<state_dir>/domains``. ``libvirt``: the
    hypervisor at ``libvirt_uri``, base images in ``image_store``, instance disks in
    ``disk_dir`` (default /var/lib/cloudapi/{images,disks}); libvirt-python is imported
    only here."""
    state = Path(state_dir)
    if kind == "simulated":
        return SimulatedDriver(state / "domains", boot_seconds=boot_seconds)
    if kind != "libvirt":
        raise ValueError(f"unknown driver {kind!r} (simulated, libvirt)")
    from cloudapi.agent.libvirt_driver import LibvirtDriver

    return LibvirtDriver(libvirt_uri, image_store, disk_dir or DISK_DIR)


def build_agent(host, api_url, token, broker_url, state_dir, boot_seconds=0.5, driver=None):
    """The agent for ``host``: finished jobs in ``<state_dir>/done-jobs``, reports to
    ``api_url`` with the host token ``token``; ``driver`` (default: simulated, domains under
    ``<state_dir>/domains``) runs the jobs, rendering domains its way if it has one."""
    state = Path(state_dir)
    driver = driver or make_driver("simulated", state, boot_seconds)
    render = getattr(driver, "render_xml", None)
    return MeteredAgent(host, broker_url, Reporter(api_url, token), driver, state,
                        render_xml=render, keyring=keys.KeyRing(state / "keys"))  # fmt: skip


def run_agent(host, api_url, token, broker_url, state_dir, boot_seconds=0.5, stop_event=None,
              driver=None, health=None):  # fmt: skip
    """Run the agent of ``host`` until SIGTERM/SIGINT (or ``stop_event``); blocks.

    - ``host``: the host's name; the agent consumes the queue ``host.<host>``.
    - ``api_url``: the API's base URL, e.g. ``http://127.0.0.1:8000``.
    - ``token``: the host's credential (``cloudapi tokens create --host HOSTNAME``).
    - ``broker_url``: the relay's BROKER_URL (``amqp://...`` or the embedded default).
    - ``state_dir``: where the agent keeps its state (created if missing).
    - ``boot_seconds``: how long the simulated driver takes to boot a domain.
    - ``driver``: the driver (`make_driver`); default the simulated one.
    - ``health``: ``(host, port)`` to serve /healthz, /readyz and /metrics on (None: none).

    A running job is finished before the agent exits.
    """
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    agent = build_agent(host, api_url, token, broker_url, state_dir, boot_seconds, driver)
    log.info("agent %s: state in %s, reporting to %s", host, state_dir, api_url)
    keys.register(agent)  # its jobs' secrets are sealed to this key from now on
    port = None
    if health is not None:
        from cloudapi.observability import health_server

        port = health_server.start(*health, health_server.agent_checks(agent, api_url))
    try:
        agent.run(stop)
    finally:
        if port is not None:
            port.stop()
        agent.reporter.close()
