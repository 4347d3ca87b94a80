"""The GPU create scenario's fleet: 1,000 hosts bulk-inserted, and put back after each run.

The hosts are what services.hosts.register() writes for demo_hosts.describe() (2 NUMA
nodes x 4 RTX 6000), inserted by bench/placement_fill.py (shared with the placement
bench): every third host has part of node 0 held by running instances, one in twenty is
in maintenance.

placement_fill keys hosts by a SHA-1 digest of the hostname; fill() then gives them the
UUID register() gives (uuid5 of the hostname), and the holders that UUID too.

Every GPU create takes a GPU, and the raw-SQL ceiling takes them faster than the app, so
without a reset the fleet would fill up during a run and each run would start from a
fuller fleet than the one before. `reset` gives back everything the "gpu" account holds,
as deleting its instances would (allocations released, GPUs freed, node counters and
generation moved, addresses freed), before every GPU run, then VACUUMs the fleet's tables,
so that each run starts from the seeded fleet, without the dead index entries of the
runs before it.
"""

import time
import uuid

from sqlalchemy import bindparam, text, update

from bench.placement_fill import INVARIANTS, check_counters
from bench.placement_fill import fill as fill_hosts
from cloudapi.db.base import utcnow
from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Host
from cloudapi.services.hosts import HOST_NAMESPACE

HOSTS = 1_000
PLAN = "g1-gpu-rtx6000-1"

_HELD = "SELECT id FROM instances WHERE account_id = :account AND deleted_at IS NULL"
RESET = (
    # Creates still in flight wait for this (and it for them): counters are recomputed from
    # a snapshot no create can change until the reset commits.
    "LOCK TABLE numa_nodes, gpus, allocations IN SHARE ROW EXCLUSIVE MODE",
    f"UPDATE gpus SET instance_id = NULL WHERE instance_id IN ({_HELD})",
    "UPDATE allocations SET released_at = :now "
    f"WHERE released_at IS NULL AND instance_id IN ({_HELD})",
    # Counters from what is still held, on the nodes where they differ.
    """UPDATE numa_nodes n SET gpus_free = n.gpus_total - h.gpus,
           threads_free = n.threads_total - h.threads,
           memory_free_mb = n.memory_mb - h.memory, generation = n.generation + 1
       FROM (SELECT nn.id, coalesce(sum(a.gpu_count), 0) AS gpus,
                    coalesce(sum(json_array_length(a.threads)), 0) AS threads,
                    coalesce(sum(a.memory_mb), 0) AS memory
             FROM numa_nodes nn LEFT JOIN allocations a
               ON a.numa_node_id = nn.id AND a.released_at IS NULL
             GROUP BY nn.id) h
       WHERE h.id = n.id AND (n.gpus_free <> n.gpus_total - h.gpus
             OR n.threads_free <> n.threads_total - h.threads
             OR n.memory_free_mb <> n.memory_mb - h.memory)""",
    f"DELETE FROM addresses WHERE instance_id IN ({_HELD})",
    f"UPDATE instances SET status = 'deleting', deleted_at = :now WHERE id IN ({_HELD})",
)
VACUUM = "VACUUM (ANALYZE) numa_nodes, gpus, allocations"
# Sessions of the database, other than the asker's, that are running or in a transaction.
BUSY = """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
          AND backend_type = 'client backend' AND pid <> pg_backend_pid()
          AND state IS DISTINCT FROM 'idle'"""
FREE = """SELECT count(*) FROM gpus g JOIN hosts h ON h.id = g.host_id
          WHERE g.instance_id IS NULL AND h.status = 'active'"""


def fill(database, account_id, hosts=HOSTS):
    """Insert the fleet (holders on `account_id`); return what was inserted."""
    from cloudapi.services.catalog import Catalog

    plan = Catalog(database, ttl=3600).snapshot().types[PLAN]
    made = fill_hosts(database, account_id, hosts, plan)
    _register_uuids(database)
    bad = check_counters(database)
    if bad:
        raise RuntimeError(f"the bulk-inserted fleet has {bad} NUMA nodes with wrong counters")
    return made


def _register_uuids(database):
    """Each host's UUID as register() derives it, and its holders' host_uuid to match."""
    with database.transaction() as session:
        hosts = session.execute(text("SELECT id, hostname, uuid FROM hosts")).all()
        rows = [{"h": h.id, "old": h.uuid, "new": str(uuid.uuid5(HOST_NAMESPACE, h.hostname))}
                for h in hosts]  # fmt: skip
        conn = session.connection()
        conn.execute(update(Host).where(Host.id == bindparam("h")).values(uuid=bindparam("new")),
                     rows)  # fmt: skip
        conn.execute(update(Instance).where(Instance.host_uuid == bindparam("old"))
                     .values(host_uuid=bindparam("new")), rows)  # fmt: skip


def wait_quiet(engine, timeout=15.0):
    """Wait until no other session of the database is busy: a GPU run's last creates (some
    take seconds under load) have ended. False if they had not within `timeout`."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while conn.execute(text(BUSY)).scalar_one():
            conn.rollback()
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
    return True


def out_of_step(engine):
    """NUMA nodes whose counters disagree with their GPUs and live allocations (want 0)."""
    with engine.connect() as conn:
        return conn.execute(text(INVARIANTS)).scalar_one()


def reset(engine, account_id):
    """Give back all that `account_id` holds; return the free GPUs on active hosts."""
    with engine.begin() as conn:
        for statement in RESET:
            conn.execute(text(statement), {"account": account_id, "now": utcnow()})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(VACUUM))
        return conn.execute(text(FREE)).scalar_one()
