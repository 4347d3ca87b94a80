"""The create ceiling: a bare Flask app whose POST /v4/linode/instances writes a create's
rows with raw psycopg (bench/ceiling_sql.py) from a connection pool, and answers with the
real create's response for that instance.

gunicorn serves it with the real server's --workers and --threads, on the same database,
so that real create / this is HTTP against HTTP, the same rows, the same commit per
request. No auth, no validation, no ORM, no allocator search: what is left is Flask,
JSON, psycopg and PostgreSQL's own work for those rows. bench/servers.py writes its
configuration (BENCH_CEILING_CONFIG: the database, the accounts, the real create's
response and job payload as templates) from one real create of each kind.

The pool is psycopg_pool's when it is installed, else SmallPool: one connection per
gunicorn thread, made after the fork (gunicorn loads the app in each worker).
"""

import ipaddress
import json
import os
import queue
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from flask import Flask, request

from bench import ceiling_sql


class SmallPool:
    """At most `size` connections, reused last-in first-out; one that failed is dropped."""

    def __init__(self, dsn, size):
        self.dsn, self._idle, self._slots = dsn, queue.LifoQueue(), threading.Semaphore(size)

    @contextmanager
    def connection(self):
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = psycopg.connect(self.dsn)
            try:
                yield conn
            except BaseException:
                conn.close()
                raise
            self._idle.put(conn)


def make_pool(dsn, size):
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        return SmallPool(dsn, size)
    return ConnectionPool(dsn, min_size=size, max_size=size, open=True)


def _free_threads(cpus, reserved, held, vcpus):
    """The node's first `vcpus` threads that are neither reserved nor held (as placement)."""
    from cloudapi.domain.cpus import parse_cpulist

    taken = set(parse_cpulist(reserved)).union(*map(set, held))
    return [t for t in parse_cpulist(cpus) if t not in taken][:vcpus]


class Ceiling:
    """One worker's creates: the templates, the pool and the two kinds of create."""

    def __init__(self, config):
        self.config = config
        self.pool = make_pool(config["dsn"], config["pool_size"])
        self.v4 = ipaddress.ip_network(config["pools"]["v4"][1])
        self.v6 = ipaddress.ip_network(config["pools"]["v6"][1])

    def _params(self, kind, now):
        c, k = self.config, self.config[kind]
        (v4_pool, v4_net), (v6_pool, v6_net) = c["pools"]["v4"], c["pools"]["v6"]
        return {
            "account_id": k["account_id"], "username": k["username"], "type": k["type"],
            "region": k["region"], "alerts": json.dumps(k["alerts"]), "tags": k["tags"],
            "numa_affinity": None, "host_id": None, "host_uuid": None,
            "offset": c["slot_offset"], "v4_pool": v4_pool, "v4_net": v4_net,
            "v6_pool": v6_pool, "v6_net": v6_net, "job_id": str(uuid.uuid4()),
            "queue": f"pool.{k['region']}", "now": now.replace(microsecond=0), "now_us": now,
        }  # fmt: skip

    def _place(self, conn, kind, params):
        """Lock the best-fit node and fill in the GPU half of `params`; the payload's
        placement; None when no node has room."""
        k = self.config[kind]
        row = conn.execute(ceiling_sql.PLACE_GPU, {"region": k["region"], "vcpus": k["vcpus"],
                           "memory_mb": k["memory_mb"]}).fetchone()  # fmt: skip
        if row is None:
            return None
        node_id, node, host_id, cpus, huge_1g, hostname, host_uuid, reserved = row
        found = conn.execute(ceiling_sql.NODE_GPU, {"node_id": node_id}).fetchone()
        if found is None:  # counters said a GPU was free: they are out of step
            raise RuntimeError(f"NUMA node {node_id} has gpus_free >= 1 but no free GPU")
        gpu_id, pci, functions, held = found
        threads = _free_threads(cpus, reserved, held, k["vcpus"])
        params.update(node_id=node_id, host_id=host_id, host_uuid=host_uuid, gpu_id=gpu_id,
                      threads=json.dumps(threads), vcpus=k["vcpus"], memory_mb=k["memory_mb"],
                      numa_affinity="strict", queue=hostname)  # fmt: skip
        gpus = [{"pci_address": pci, "iommu_functions": functions}]
        part = {"node": node, "threads": threads, "memory_mb": k["memory_mb"], "gpus": gpus}
        return {"host": hostname, "hugepages_1g": huge_1g * 1024 >= k["memory_mb"],
                "nodes": [part]}  # fmt: skip

    def create(self, kind):
        """Write one create's rows in one transaction; the response dict, or None (full)."""
        k = self.config[kind]
        params = self._params(kind, datetime.now(UTC).replace(tzinfo=None))
        payload = dict(k["payload"])
        with self.pool.connection() as conn, conn.transaction():
            if kind == "gpu":
                placement = self._place(conn, kind, params)
                if placement is None:
                    return None
                payload["placement"] = placement
            params["payload"] = json.dumps(payload)
            sql = ceiling_sql.WRITE_GPU if kind == "gpu" else ceiling_sql.WRITE_STANDARD
            instance_id = conn.execute(sql, params).fetchone()[0]
        return self._response(kind, instance_id, params)

    def _response(self, kind, instance_id, params):
        slot = instance_id + self.config["slot_offset"]
        created = params["now"].isoformat()
        template = self.config[kind]["response"]
        return {**template, "id": instance_id, "label": f"linode{instance_id}",
                "created": created, "updated": created,
                "ipv4": [str(self.v4.network_address + slot)],
                "ipv6": f"{self.v6.network_address + slot}/128",
                "host_uuid": params["host_uuid"] or template["host_uuid"]}  # fmt: skip


def create_app(config_path=None):
    """The app; its pool opens in the worker that loads it."""
    with open(config_path or os.environ["BENCH_CEILING_CONFIG"]) as fh:
        config = json.load(fh)
    ceiling = Ceiling(config)
    gpu_type = config["gpu"]["type"] if config.get("gpu") else None
    app = Flask(__name__, static_folder=None)

    @app.post("/v4/linode/instances")
    def create_instance():
        body = request.get_json()
        kind = "gpu" if body.get("type") == gpu_type else "standard"
        made = ceiling.create(kind)
        if made is None:
            return {"errors": [{"field": "type", "reason": "No capacity"}]}, 400
        return made

    @app.get("/ready")
    def ready():
        return "ok"

    return app
