"""The data the HTTP bench serves: its accounts, their instances and events, the GPU fleet.

Each scenario reads or writes its own account, so that no scenario changes what another
one reads: the creates of one round never lengthen the list of the next.

- "list": 100 instances made through cloudapi.services (what the API makes; every other
  one tagged bench.bulk.TAG), so 100 create events, plus EXTRA_EVENTS boot events: the
  instance list, the X-Filter list, the single GET and the events page read it.
- "big": 10,000 bulk-inserted instances (bench/bulk.py): the first page of a big account.
- "create": the standard creates; "gpu" (tagged employee, so GPU plans are on for it by
  flags/features.json): the GPU creates, on a fleet of 1,000 hosts (bench/fleet.py)
  whose holders belong to "fleet".

`copy_of` makes the crowded database: this one, file-copied, before 100 other accounts of
1,000 instances each are added to it.
"""

import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bench import bulk, fleet

SEED_INSTANCES = 100
EXTRA_EVENTS = 50
BIG_ACCOUNT = 10_000
CROWD_ACCOUNTS, CROWD_INSTANCES = 100, 1_000
# Labels default (linode<id>), so the same body works for every create.
CREATE_BODY = '{"type":"g6-standard-2","region":"us-east","tags":["bench-create"]}'
GPU_BODY = '{"type":"g1-gpu-rtx6000-1","region":"us-east","tags":["bench-create"]}'
_ROLES = {"list": (), "create": (), "gpu": ("employee",), "big": (), "fleet": ()}


@dataclass
class Seeded:
    """What the scenarios need to know of the seeded database."""

    tokens: dict = field(default_factory=dict)  # role -> token
    accounts: dict = field(default_factory=dict)  # role -> account id
    usernames: dict = field(default_factory=dict)  # role -> username
    instance_id: int = 0  # the list account's first instance: the single GET
    fleet: dict = field(default_factory=dict)  # what fleet.fill inserted


def _accounts(database, seeded, roles):
    from cloudapi.services import accounts, tokens

    with database.transaction() as session:
        for role in roles:
            account = accounts.create(session, f"bench-{role}@example.com", _ROLES[role])
            seeded.accounts[role], seeded.usernames[role] = account.id, account.username
            if role != "fleet":
                seeded.tokens[role] = tokens.create(session, account_id=account.id, label=role)


def _list_account(database, seeded):
    """The list account's instances through create(), then its extra (boot) events."""
    from cloudapi.features import FailClosed
    from cloudapi.principal import Principal
    from cloudapi.services import instances, tokens
    from cloudapi.services.catalog import Catalog

    principal = Principal(**tokens.lookup(database, seeded.tokens["list"]))
    snapshot = Catalog(database, ttl=3600).snapshot()
    features = FailClosed().features_for(principal)
    made = []
    for n in range(SEED_INSTANCES):
        body = {"type": "g6-standard-2", "region": bulk.REGION}
        if n % 2 == 0:
            body["tags"] = [bulk.TAG]
        made.append(instances.create(database, snapshot, principal, features, body).id)
    seeded.instance_id = made[0]
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO events (account_id, action, created, entity_type, entity_id, "
                "entity_label, status, percent_complete, duration, username, seen, read) "
                "SELECT account_id, 'linode_boot', updated, 'linode', id, label, 'finished', "
                "100, 12.0, :username, true, true FROM instances WHERE id = ANY(:ids)"
            ),
            {"username": seeded.usernames["list"], "ids": made[:EXTRA_EVENTS]},
        )


def seed(url, needs):
    """Seed the main database for the scenarios in `needs` ({"big", "fleet"} or fewer)."""
    from cloudapi.db import Database

    roles = ["list", "create", "gpu", "big", "fleet"]
    roles = [r for r in roles if r in ("list", "create", "gpu") or r in needs]
    seeded = Seeded()
    database = Database(url, statement_timeout=0)  # bulk statements run for seconds
    try:
        _accounts(database, seeded, roles)
        with database.transaction() as session:
            bulk.add_pools(session, bulk.REAL_POOLS + bulk.BULK_POOLS + bulk.CEILING_POOLS)
        _list_account(database, seeded)
        if "big" in needs:
            bulk.add_instances(database, [seeded.accounts["big"]], BIG_ACCOUNT)
        if "fleet" in needs:
            seeded.fleet = fleet.fill(database, seeded.accounts["fleet"])
        bulk.analyze(database)
    finally:
        database.dispose()
    return seeded


def crowd(url):
    """Add CROWD_ACCOUNTS accounts of CROWD_INSTANCES instances each to the database."""
    from cloudapi.db import Database

    database = Database(url, statement_timeout=0)  # bulk statements run for seconds
    try:
        ids = bulk.add_accounts(database, CROWD_ACCOUNTS, "crowd")
        bulk.add_instances(database, ids, CROWD_INSTANCES)
    finally:
        database.dispose()


@contextlib.contextmanager
def copy_of(url, prefix="cloudapi_bench_crowd"):
    """A file copy of the database at `url` (CREATE DATABASE ... TEMPLATE); dropped after.

    Nothing may be connected to the source while it is copied: call it before any server
    starts. Autovacuum may still be finishing there after a bulk load, hence the retries.
    """
    source = make_url(url)
    engine = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        for attempt in range(10):
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
                break
            except OperationalError:
                if attempt == 9:
                    raise
                time.sleep(1)
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def count_instances(url):
    """(all rows, live rows) of the instances table: what the create runs added."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM instances")).scalar_one()
            live = conn.execute(
                text("SELECT count(*) FROM instances WHERE deleted_at IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    return total, live


def to_json(seeded):
    """Seeded as JSON-able (the --json document)."""
    return json.loads(json.dumps({"accounts": seeded.accounts, "fleet": seeded.fleet}))
