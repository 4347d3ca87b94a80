"""Run a host agent: the consumer, the simulated driver and the HTTP reporter together."""

import logging
import signal
import threading
from pathlib import Path

from cloudapi.agent.consumer import Agent
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.agent.reporter import Reporter

log = logging.getLogger(__name__)


def build_agent(host, api_url, token, broker_url, state_dir, boot_seconds=0.5):
    """The agent for ``host``: domains under ``<state_dir>/domains``, finished jobs in
    ``<state_dir>/done-jobs``, reports to ``api_url`` with the host token ``token``."""
    state = Path(state_dir)
    driver = SimulatedDriver(state / "domains", boot_seconds=boot_seconds)
    return Agent(host, broker_url, Reporter(api_url, token), driver, state)


def run_agent(host, api_url, token, broker_url, state_dir, boot_seconds=0.5, stop_event=None):
    """Run the agent of ``host`` until SIGTERM/SIGINT (or ``stop_event``); blocks.

    - ``host``: the host's name; the agent consumes the queue ``host.<host>``.
    - ``api_url``: the API's base URL, e.g. ``http://127.0.0.1:8000``.
    - ``token``: the host's credential (``cloudapi tokens create --host HOSTNAME``).
    - ``broker_url``: the relay's BROKER_URL (``amqp://...`` or the embedded default).
    - ``state_dir``: where the agent keeps its state (created if missing).
    - ``boot_seconds``: how long the simulated driver takes to boot a domain.

    A running job is finished before the agent exits.
    """
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    agent = build_agent(host, api_url, token, broker_url, state_dir, boot_seconds)
    log.info("agent %s: state in %s, reporting to %s", host, state_dir, api_url)
    try:
        agent.run(stop)
    finally:
        agent.reporter.close()
