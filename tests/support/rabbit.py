"""RabbitMQ for tests: a per-test namespace of host queues, and a proxy to cut it off.

The ``rabbit`` fixture checks RabbitMQ at ``CLOUDAPI_TEST_RABBIT_URL`` (default
``amqp://guest:guest@127.0.0.1:5672//``), else skips through ``missing_service``. Each test
gets unique host names (so queues ``host.<name>`` never collide across tests or runs);
the queues are deleted afterwards, and dead letters of those queues are taken out of
``cloudapi.jobs.dead`` (other messages there are left alone).

``TcpProxy`` (tests/support/tcpproxy.py) forwards a local port to RabbitMQ; ``stop()``
closes the listener and every open connection (the broker is "unreachable"), ``start()``
listens again on the same port.
"""

import os
import uuid
from contextlib import contextmanager

import pytest
from kombu import Connection

from cloudapi.jobs import broker
from tests.support import tcpproxy
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
        except Exception as exc:
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


class TcpProxy(tcpproxy.TcpProxy):
    """The generic proxy (tests/support/tcpproxy.py), aimed at RabbitMQ by default."""

    def __init__(self, target_host="127.0.0.1", target_port=5672):
        super().__init__(target_host, target_port)

    def url(self, user="guest", password="guest", vhost="/"):
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{vhost.lstrip('/') or '/'}"
