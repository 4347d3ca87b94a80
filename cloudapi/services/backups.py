"""The Backup service of an instance: enable, cancel, and what there is to restore.

Enabling or cancelling is a state change of the instance with its job (the host agent
schedules, or stops, the nightly snapshot in the chosen day and window) and its event
(`backups_enable`, `backups_cancel`), in one transaction. The agent keeps no snapshots
yet, so the list of backups is honestly empty and a manual snapshot is refused.
"""

from cloudapi.db.base import utcnow
from cloudapi.errors import Invalid
from cloudapi.services import outbox
from cloudapi.services.instances import get

NO_SNAPSHOTS = "Manual snapshots are not available yet: the host agents keep no backups"
NOT_ENABLED = "Backups are not enabled for this Linode"


def set_enabled(database, principal, instance_id, enabled):
    """Enable or cancel backups; doing what is already done changes nothing and writes no job."""
    action = "backups_enable" if enabled else "backups_cancel"
    with database.transaction() as session:
        instance = get(session, principal.account_id, instance_id, lock=True)
        if instance.backups_enabled == enabled:
            return instance
        instance.backups_enabled = enabled
        instance.updated = utcnow()
        schedule = {"day": instance.backup_day, "window": instance.backup_window}
        outbox.record(session, instance, action, principal, {"schedule": schedule}, event=action)
        return instance


def available(session, account_id, instance_id):
    """Linode's backups listing: automatic ones and the manual snapshot slots (none yet)."""
    get(session, account_id, instance_id)
    return {"automatic": [], "snapshot": {"current": None, "in_progress": None}}


def snapshot(database, principal, instance_id):
    """A manual snapshot: refused with why (no backups enabled, or none kept yet)."""
    with database.reader() as session:
        instance = get(session, principal.account_id, instance_id)
    raise Invalid.reason(NO_SNAPSHOTS if instance.backups_enabled else NOT_ENABLED)
