"""The broker topology for jobs, in one place (see docs/jobs.md).

- ``cloudapi.jobs``: a durable direct exchange; a job for host H is published with
  routing key ``host.H`` and lands in the durable queue ``host.H``.
- ``cloudapi.jobs.dead``: a durable fanout exchange, and the queue of the same name bound
  to it. Every host queue dead-letters there, so a message an agent rejects (a poison
  message: not JSON, missing fields, unknown action) is kept for a person to look at.

Broker URLs
-----------
``amqp://user:pass@host:5672//`` is RabbitMQ (production): publisher confirms are on
(``confirm_publish``), so the relay marks a job sent only once the broker has it.

The embedded default, :func:`default_url`, is ``sqla+sqlite:///<folder>/broker.sqlite``:
kombu's SQLAlchemy transport on a SQLite file of its own (not the API's database; kombu
creates its tables ``kombu_queue`` and ``kombu_message`` there itself). It needs no
server and works between processes on one machine: the relay in one process publishes,
the agent in another consumes. Limits of that transport, acceptable for one machine and
not for production:

- no dead-lettering (queue arguments are ignored; there is no fanout exchange), so a
  poison message an agent rejects is dropped, after the agent has logged it;
- no publisher confirms (a publish is a committed INSERT, which is as good);
- a message fetched by a consumer that is then killed is not redelivered (the row is
  flagged invisible when fetched), so delivery there is at most once for killed agents;
- consumers poll (every 0.25 s here); consumed rows are flagged, never deleted.

``memory://`` works within one process only (unit tests).
"""

import warnings
from pathlib import Path

from kombu import Connection, Exchange, Queue

EXCHANGE = Exchange("cloudapi.jobs", "direct", durable=True)
DEAD = Exchange("cloudapi.jobs.dead", "fanout", durable=True)
DEAD_QUEUE_NAME = "cloudapi.jobs.dead"
CONNECT_TIMEOUT = 5
PUBLISH_TIMEOUT = 10
VIRTUAL_POLL_SECONDS = 0.25


def routing_key(host):
    return f"host.{host}"


def host_queue(host):
    """The durable queue of one host, bound to ``cloudapi.jobs`` with ``host.<host>``."""
    return Queue(
        routing_key(host),
        EXCHANGE,
        routing_key=routing_key(host),
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD.name},
    )


def dead_queue():
    """The queue that keeps dead-lettered (rejected) messages, bound to ``cloudapi.jobs.dead``."""
    return Queue(DEAD_QUEUE_NAME, DEAD, durable=True)


def default_url(folder):
    """The embedded broker: kombu's SQLAlchemy transport on ``<folder>/broker.sqlite``."""
    return f"sqla+sqlite:///{Path(folder).resolve() / 'broker.sqlite'}"


def is_amqp(url):
    return url.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")


def supports_dead_letters(url):
    return is_amqp(url)


def connection(url):
    """A kombu Connection (not yet connected) for ``url``; confirms on for AMQP.

    Callers connect with ``conn.connect()`` (one attempt, raises at once when the broker
    is unreachable) rather than ``default_channel``, which retries for a while.
    """
    if is_amqp(url):
        return Connection(
            url, connect_timeout=CONNECT_TIMEOUT, transport_options={"confirm_publish": True}
        )
    conn = Connection(url, connect_timeout=CONNECT_TIMEOUT)
    # Virtual transports poll for messages (kombu's default: every second).
    conn.transport.polling_interval = VIRTUAL_POLL_SECONDS
    if url.startswith(("sqla+", "sqlalchemy+")):
        _configure_sqla_models(conn)
    return conn


def declare(channel, host, url):
    """Declare the host's queue (and, on AMQP, the dead-letter exchange and queue first)."""
    if supports_dead_letters(url):
        dead_queue().bind(channel).declare()
    host_queue(host).bind(channel).declare()


_sqla_configured = False


def _configure_sqla_models(conn):
    """Configure kombu's SQLAlchemy models now, quietly.

    kombu 5.7's models use the ``noload`` loader strategy, which SQLAlchemy 2.1 deprecates
    with a warning when the mappers are configured (our tests turn warnings into errors).
    It is harmless here, so configure once with that warning silenced. A channel's
    constructor creates the model classes; it does not touch the database.
    """
    global _sqla_configured
    if _sqla_configured:
        return
    from sqlalchemy.orm import configure_mappers

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*noload.*")
        conn.channel().close()
        configure_mappers()
    _sqla_configured = True
