"""The data the HTTP bench serves: one customer account, its token and 100 instances.

The instances make `GET /v4/linode/instances` list a full page of real rows, and are
created through cloudapi.services (not inserted raw) so that they are what the API makes.
"""

import json

from sqlalchemy import create_engine, text

SEED_INSTANCES = 100
# Labels default, so the same body works for every create, seeded or benchmarked.
CREATE_BODY = '{"type":"g6-standard-2","region":"us-east"}'


def seed(url, instances_wanted=SEED_INSTANCES):
    """Add one customer account with a token and `instances_wanted` instances; return the token."""
    from cloudapi.db import Database
    from cloudapi.features import FailClosed
    from cloudapi.principal import Principal
    from cloudapi.services import accounts, instances, tokens
    from cloudapi.services.catalog import Catalog

    database = Database(url)
    try:
        with database.transaction() as session:
            account = accounts.create(session, "bench@example.com")
            token = tokens.create(session, account_id=account.id, label="bench")
        principal = Principal(**tokens.lookup(database, token))
        snapshot = Catalog(database, ttl=3600).snapshot()
        features = FailClosed().features_for(principal)
        body = json.loads(CREATE_BODY)
        for _ in range(instances_wanted):
            instances.create(database, snapshot, principal, features, dict(body))
    finally:
        database.dispose()
    return token


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
