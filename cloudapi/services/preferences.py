"""The profile's preferences: any JSON object the client (Cloud Manager) wants kept."""

import json

from sqlalchemy import select

from cloudapi.db.base import utcnow
from cloudapi.db.profile import Preferences
from cloudapi.schemas import load
from cloudapi.schemas.profile import PreferencesSchema, serialize
from cloudapi.services import retrying


def get(session, account_id):
    """The stored object, or {} before the first PUT."""
    query = select(Preferences.document).where(Preferences.account_id == account_id)
    document = session.scalar(query)
    return json.loads(document) if document else {}


def replace(database, account_id, body):
    """Store `body` in place of the old object (Linode: PUT overwrites); return it."""
    doc = load(PreferencesSchema(), body)
    text = serialize(doc)

    def work(session):
        row = session.get(Preferences, account_id)
        if row is None:
            session.add(Preferences(account_id=account_id, document=text))
        else:
            row.document, row.updated = text, utcnow()
        session.flush()
        return json.loads(text)

    return retrying.write(database, work)
