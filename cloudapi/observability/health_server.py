"""The relay's and the agents' small HTTP port: /healthz, /readyz and /metrics.

Neither process serves HTTP otherwise, so each gets a stdlib server in a daemon thread
(`--health-port`): nothing to install, no framework in an agent, and the port lives and
dies with the process. It binds 127.0.0.1 unless told otherwise (`--health-host`), and
serves no credentials and nothing a customer sent: states and job counts only. Its
/metrics is this process's own counters (jobs sent by this relay, run by this agent);
the API's /metrics has the database's view (the outbox, GPUs, flags).
"""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloudapi.observability import checks as readiness
from cloudapi.observability import metrics

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server_version = "cloudapi-health"

    def do_GET(self):  # http.server's name for it
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/readyz":
            self._json(*readiness.report(readiness.run(self.server.checks)))
        elif path == "/metrics":
            self._send(200, metrics.exposition(aggregate=False), metrics.CONTENT_TYPE)
        else:
            self._json(404, {"errors": [{"reason": "Not found"}]})

    def _json(self, status, body):
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status, raw, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format, *args):  # http.server's signature
        log.debug("health port: " + format, *args)


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, checks):
        super().__init__(address, _Handler)
        self.checks = checks

    def handle_error(self, request, client_address):
        """A prober that gave up before the answer (a broken pipe) is no traceback."""
        log.debug("health port: answer to %s not sent", client_address, exc_info=True)

    @property
    def port(self):
        return self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


def start(host, port, checks):
    """Serve /healthz, /readyz (`checks`: {name: callable}, see checks.py) and /metrics on
    host:port (0: any free port) from a daemon thread; returns the server (`.port`)."""
    server = HealthServer((host, port), checks)
    threading.Thread(target=server.serve_forever, name="health-port", daemon=True).start()
    log.info("health port: http://%s:%d/readyz", host, server.port)
    return server


def relay_checks(relay):
    """A relay is ready when its database and its broker answer."""
    return {"database": readiness.database(relay.database),
            "broker": readiness.broker(relay.broker_url)}  # fmt: skip


def agent_checks(agent, api_url):
    """An agent is ready when it consumes its queue and the API it reports to answers."""

    def consuming():
        if not agent.connected.is_set():
            raise ConnectionError(f"not consuming host.{agent.host}")

    return {"broker": consuming, "api": readiness.http(f"{api_url.rstrip('/')}/healthz")}
