"""/account/settings: Linode's account-wide switches; the writable ones are stored.

`managed`, `longview_subscription`, `object_storage` and `tfa_enforced` are fixed here
(no Managed service, no Longview, no Object Storage, no enforced 2FA); the rest are kept
per account, with Linode's defaults until first written.
"""

from cloudapi.db.profile import AccountSettings
from cloudapi.schemas import load
from cloudapi.schemas.profile import READ_ONLY_SETTINGS, AccountSettingsUpdateSchema
from cloudapi.services import retrying

WRITABLE = ("backups_enabled", "network_helper", "interfaces_for_new_linodes",
            "maintenance_policy")  # fmt: skip
DEFAULTS = {
    "backups_enabled": False,
    "network_helper": True,
    "interfaces_for_new_linodes": "legacy_config_only",
    "maintenance_policy": "linode/migrate",
}


def get(session, account_id):
    """The account's settings as a dict in Linode's shape."""
    row = session.get(AccountSettings, account_id)
    stored = DEFAULTS if row is None else {name: getattr(row, name) for name in WRITABLE}
    return {**READ_ONLY_SETTINGS, **stored}


def update(database, account_id, body):
    """Store the writable fields given; the read-only ones must keep their values."""
    data = load(AccountSettingsUpdateSchema(), body)
    changes = {name: data[name] for name in WRITABLE if name in data}

    def work(session):
        row = session.get(AccountSettings, account_id)
        if row is None:
            row = AccountSettings(account_id=account_id, **{**DEFAULTS, **changes})
            session.add(row)
        else:
            for name, value in changes.items():
                setattr(row, name, value)
        session.flush()
        return get(session, account_id)

    return retrying.write(database, work)
