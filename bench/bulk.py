"""Instances bulk-inserted for the "cost flat" scenarios: 10,000 on one account, 1,000 each
on 100 other accounts.

A create through the API writes, per instance, the instance row, its tags, a public IPv4
and a SLAAC IPv6 address, a job and an event (services/instances.py). Making 110,000 of
them through create() would take many minutes, so the same rows are inserted here by SQL
the server computes (INSERT ... SELECT over generate_series). Their addresses come from two
pools of the bench's own (BULK_POOLS, slot = instance id + SLOT_OFFSET), so that the
allocator of the creates being measured, which walks the region's pools oldest first,
never meets these rows.
"""

import json
import uuid

from sqlalchemy import insert, select, text

from cloudapi.db.accounts import Account
from cloudapi.db.addresses import AddressPool
from cloudapi.db.base import utcnow
from cloudapi.domain import lifecycle

REGION = "us-east"
TYPE = "g6-standard-2"
VCPUS = 2  # TYPE's, for its default alerts
SLOT_OFFSET = 10  # keeps clear of a pool's network address and gateway
TAG = "bench-tagged"  # every other instance carries it: the X-Filter scenario's tag
# (name, type, network, prefix, gateway). REAL_POOLS is the real creates' headroom: us-east's
# four seeded /24s hold about 1,000 public IPv4 addresses, fewer than the creates of one
# run (the allocator takes from the seeded ones first, then this /17). The others hold the
# bulk rows' and the raw-SQL ceiling's addresses; being newer, they come after it.
REAL_POOLS = (("real-v4", "ipv4", "100.64.128.0/17", 24, "100.64.128.1"),)
BULK_POOLS = (
    ("bulk-v4", "ipv4", "10.0.0.0/9", 24, "10.0.0.1"),
    ("bulk-v6", "ipv6", "2001:db8:1fe::/64", 64, "fe80::1"),
)
CEILING_POOLS = (
    ("ceiling-v4", "ipv4", "10.128.0.0/9", 24, "10.128.0.1"),
    ("ceiling-v6", "ipv6", "2001:db8:1ff::/64", 64, "fe80::1"),
)


def add_pools(session, pools):
    """Insert address pools in us-east; return {name: (pool id, network)}."""
    made = {}
    for name, kind, network, prefix, gateway in pools:
        pool_id = session.scalar(
            insert(AddressPool)
            .values(
                region_id=REGION,
                type=kind,
                public=True,
                network=network,
                prefix=prefix,
                gateway=gateway,
            )
            .returning(AddressPool.id)
        )
        made[name] = (pool_id, network)
    return made


def pool_ids(session, pools):
    """{name: (pool id, network)} of pools that add_pools inserted earlier."""
    found = {}
    for name, _kind, network, _prefix, _gateway in pools:
        pool_id = session.scalar(select(AddressPool.id).where(AddressPool.network == network))
        found[name] = (pool_id, network)
    return found


_LIVE_BULK = "FROM instances WHERE account_id = ANY(:accounts) AND label LIKE 'bulk-%'"
# The rows create() writes with each instance, computed by the server from the instances
# just inserted: one statement per table however many instances there are.
_OWNED = (
    f"INSERT INTO instance_tags (instance_id, tag) SELECT id, :tag {_LIVE_BULK} AND id % 2 = 0",
    "INSERT INTO addresses (pool_id, slot, address, instance_id, created) "
    f"SELECT :v4, id + :off, host(CAST(:v4net AS inet) + (id + :off)), id, :now {_LIVE_BULK}",
    "INSERT INTO addresses (pool_id, slot, address, instance_id, created) "
    f"SELECT :v6, id + :off, host(CAST(:v6net AS inet) + (id + :off)), id, :now {_LIVE_BULK}",
    "INSERT INTO jobs (id, instance_id, action, payload, host, state, created, sent_at, "
    "attempts) SELECT '00000000-0000-4000-8000-' || lpad(id::text, 12, '0'), id, 'create', "
    "json_build_object('instance_id', id, 'type', type_id), 'pool.' || region_id, 'done', "
    f":now, :now, 1 {_LIVE_BULK}",
    "INSERT INTO events (account_id, job_id, action, created, entity_type, entity_id, "
    "entity_label, status, percent_complete, username, seen, read) "
    "SELECT i.account_id, '00000000-0000-4000-8000-' || lpad(i.id::text, 12, '0'), "
    "'linode_create', :now, 'linode', i.id, i.label, 'finished', 100, a.username, true, true "
    "FROM instances i JOIN accounts a ON a.id = i.account_id "
    "WHERE i.account_id = ANY(:accounts) AND i.label LIKE 'bulk-%'",
)
_INSTANCES = """
INSERT INTO instances (account_id, label, group_name, type_id, region_id, image_id, status,
    created, updated, deleted_at, host_uuid, has_user_data, watchdog_enabled,
    backups_enabled, private_ip, swap_size, disk_encryption, maintenance_policy, alerts,
    numa_affinity, host_id)
SELECT a.id, 'bulk-' || lpad(n::text, 5, '0'), '', :type, :region, NULL, 'running', :now,
    :now, NULL, NULL, false, true, false, false, 512, 'disabled', 'linode/migrate',
    CAST(:alerts AS json), NULL, NULL
FROM unnest(CAST(:accounts AS integer[])) AS a(id), generate_series(1, :per_account) AS n
ORDER BY a.id, n
"""


def add_instances(database, account_ids, per_account):
    """Bulk-insert `per_account` instances on each account, and what a create writes with
    each (tags on every other one, two addresses, a job, an event); labels bulk-00001 up.

    INSERT ... SELECT over generate_series: 110,000 instances take seconds, not the minutes
    that rows sent from Python take.
    """
    params = {"accounts": list(account_ids), "per_account": per_account, "type": TYPE,
              "region": REGION, "now": utcnow(), "tag": TAG, "off": SLOT_OFFSET,
              "alerts": json.dumps(lifecycle.default_alerts(VCPUS))}  # fmt: skip
    with database.transaction() as session:
        pools = pool_ids(session, BULK_POOLS)
        (params["v4"], params["v4net"]), (params["v6"], params["v6net"]) = pools.values()
        session.execute(text(_INSTANCES), params)
        for statement in _OWNED:
            session.execute(text(statement), params)
    analyze(database)


def add_accounts(database, count, prefix):
    """`count` accounts (no token: nobody calls the API as them); return their ids."""
    rows = [{"email": f"{prefix}-{i:04d}@example.com", "username": f"{prefix}{i:04d}",
             "euuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{prefix}-{i}.bench.invalid")),
             "company": "", "created": utcnow()}
            for i in range(1, count + 1)]  # fmt: skip
    stmt = insert(Account).returning(Account.id, sort_by_parameter_order=True)
    with database.transaction() as session:
        return list(session.scalars(stmt, rows))


def analyze(database):
    """Planner statistics, as autovacuum would leave them after a bulk load."""
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
