"""RabbitMQ for tests: a per-test namespace of host queues, and a proxy to cut it off.

The ``rabbit`` fixture checks RabbitMQ at ``CLOUDAPI_TEST_RABBIT_URL`` (default
``amqp://guest:guest@127.0.0.1:5672//``), else skips through ``missing_service``. Each test
gets unique host names (so queues ``host.<name>`` never collide across tests or runs);
the queues are deleted afterwards, and dead letters of those queues are taken out of
``cloudapi.jobs.dead`` (other messages there are left alone).

``TcpProxy`` forwards a local port to RabbitMQ; ``stop()`` closes the listener and every
open connection (the broker is "unreachable"), ``start()`` listens again on the same port.
"""

import os
import socket
import threading
import uuid
from contextlib import contextmanager, suppress

import pytest
from kombu import Connection

from cloudapi.jobs import broker
from tests.support.databases import missing_service

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"


def rabbit_url():
    return os.environ.get("CLOUDAPI_TEST_RABBIT_URL", DEFAULT_URL)


_checked = {}


def check_rabbit(url):
    """Skip (or fail, when services are required) unless RabbitMQ answers; asked once per URL."""
    if url not in _checked:
        conn = Connection(url, connect_timeout=3)
        try:
            conn.connect()
            _checked[url] = None
        except Exception as exc:  # noqa: BLE001 (any failure to connect means "absent")
            _checked[url] = f"RabbitMQ not reachable at {conn.host}: {type(exc).__name__}"
        finally:
            conn.release()
    if _checked[url] is not None:
        missing_service(_checked[url])


class RabbitNamespace:
    """Unique host names for one test, and helpers to look at their queues."""

    def __init__(self, url):
        self.url = url
        self.tag = uuid.uuid4().hex[:10]
        self.hosts = []
        self.conn = Connection(url, connect_timeout=5)
        self.conn.connect()
        self.channel = self.conn.channel()

    def host(self, name="gpu"):
        """A host name unique to this test; its queue is declared now and deleted after."""
        host = f"test-{name}-{self.tag}.{len(self.hosts)}"
        self.hosts.append(host)
        broker.declare(self.channel, host, self.url)
        return host

    def adopt(self, host):
        """Track a host named elsewhere (its queue is deleted after the test)."""
        self.hosts.append(host)
        broker.declare(self.channel, host, self.url)
        return host

    def queue_names(self):
        return [broker.routing_key(h) for h in self.hosts]

    def message_count(self, host):
        """Messages ready in ``host.<host>`` (not counting unacked ones)."""
        declared = broker.host_queue(host).bind(self.channel).queue_declare(passive=True)
        return declared.message_count

    def take(self, host, limit=1000):
        """Get and ack every ready message of the host's queue; return them."""
        queue = broker.host_queue(host).bind(self.channel)
        taken = []
        while len(taken) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            message.ack()
            taken.append(message)
        return taken

    def publish_raw(self, host, body, content_type="application/json", **properties):
        """Publish ``body`` as is to the host's queue (through ``cloudapi.jobs``)."""
        producer = self.conn.Producer(self.channel)
        producer.publish(
            body,
            exchange=broker.EXCHANGE,
            routing_key=broker.routing_key(host),
            content_type=content_type,
            content_encoding="utf-8" if isinstance(body, str) else "binary",
            delivery_mode=2,
            **properties,
        )

    def take_dead(self):
        """Take (ack) the dead letters of this test's queues out of ``cloudapi.jobs.dead``.

        Others' dead letters are put back untouched.
        """
        mine = set(self.queue_names())
        queue = broker.dead_queue().bind(self.channel)
        ours, others = [], []
        while True:
            message = queue.get(no_ack=False)
            if message is None:
                break
            deaths = message.headers.get("x-death") or [{}]
            (ours if deaths[0].get("queue") in mine else others).append(message)
        for message in ours:
            message.ack()
        for message in others:
            message.requeue()
        return ours

    def cleanup(self):
        try:
            self.take_dead()
            for name in self.queue_names():
                self.channel.queue_delete(name)
        finally:
            self.conn.release()


@contextmanager
def rabbit_namespace():
    """A namespace on the test RabbitMQ (see the module docstring), cleaned up after."""
    url = rabbit_url()
    check_rabbit(url)
    namespace = RabbitNamespace(url)
    try:
        yield namespace
    finally:
        namespace.cleanup()


@pytest.fixture
def rabbit():
    """The fixture form of :func:`rabbit_namespace` (for a conftest to import)."""
    with rabbit_namespace() as namespace:
        yield namespace


class TcpProxy:
    """A TCP forwarder from 127.0.0.1:<port> to ``target`` that can be cut off and restored."""

    def __init__(self, target_host="127.0.0.1", target_port=5672):
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener = None
        self._accepting = None
        self._sockets = set()
        self._threads = []
        self._lock = threading.Lock()

    def url(self, user="guest", password="guest", vhost="/"):
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{vhost.lstrip('/') or '/'}"

    @property
    def running(self):
        return self._listener is not None

    def start(self):
        if self._listener is not None:
            return self
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()
        return self

    def stop(self):
        """Refuse new connections and cut every open one."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        self._accepting.join(timeout=5)
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
                for src, dst in ((client, upstream), (upstream, client)):
                    thread = threading.Thread(target=self._pipe, args=(src, dst), daemon=True)
                    self._threads.append(thread)
                    thread.start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end both (the other pipe sees EOF or an error and exits).
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _close(src)
            _close(dst)


def _close(sock):
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
