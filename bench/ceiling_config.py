"""The create ceiling's configuration, taken from one real create of each kind.

Before the rounds, the bench sends one standard create and one GPU create to the real
server and reads back what they wrote: the response body, the job's payload, the
instance's alerts, the allocation's threads and memory. bench/create_ceiling.py writes
rows of exactly that shape (the payload and the response with the new instance's id,
label, addresses and placement), so that both sides write and send the same bytes.
"""

import json

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import bulk, scenarios

KINDS = {"create": "standard", "gpu-create": "gpu"}


def _template(conn, response, spec, seeded):
    instance_id = response["id"]
    payload = conn.execute(
        text("SELECT payload FROM jobs WHERE instance_id = :i AND action = 'create'"),
        {"i": instance_id},
    ).scalar_one()
    payload = json.loads(payload) if isinstance(payload, str) else payload
    alerts = conn.execute(
        text("SELECT alerts FROM instances WHERE id = :i"), {"i": instance_id}
    ).scalar_one()
    body = json.loads(spec.body)
    entry = {
        "account_id": seeded.accounts[spec.role], "username": seeded.usernames[spec.role],
        "type": body["type"], "region": body["region"], "tags": sorted(set(body["tags"])),
        "alerts": json.loads(alerts) if isinstance(alerts, str) else alerts,
        "payload": {**payload, "instance_id": "__ID__", "label": "__LABEL__"},
        "response": response,
    }  # fmt: skip
    if spec.gpu:
        vcpus, memory = conn.execute(
            text("SELECT json_array_length(threads), memory_mb FROM allocations "
                 "WHERE instance_id = :i"), {"i": instance_id},
        ).one()  # fmt: skip
        entry.update(vcpus=vcpus, memory_mb=memory)
    return entry


def build(url, seeded, specs, real, pool_size):
    """The ceiling's configuration (JSON-able) for the create specs among `specs`."""
    from bench.servers import http_request  # servers imports this module

    engine = create_engine(url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    config = {"dsn": dsn, "pool_size": pool_size, "slot_offset": bulk.SLOT_OFFSET}
    try:
        with engine.connect() as conn:
            pools = {}
            for name, _kind, network, _prefix, _gateway in bulk.CEILING_POOLS:
                pools[name] = conn.execute(
                    text("SELECT id FROM address_pools WHERE network = :n"), {"n": network}
                ).scalar_one()
            v4, v6 = (p for p in bulk.CEILING_POOLS)
            config["pools"] = {"v4": [pools[v4[0]], v4[2]], "v6": [pools[v6[0]], v6[2]]}
            for spec in specs:
                if spec.key not in KINDS:
                    continue
                status, _headers, body = http_request(real.port, scenarios.real(spec, seeded))
                if status != 200:
                    raise RuntimeError(f"the template {spec.key} answered {status}: {body[:300]!r}")
                config[KINDS[spec.key]] = _template(conn, json.loads(body), spec, seeded)
    finally:
        engine.dispose()
    return config
