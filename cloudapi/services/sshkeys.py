"""SSH keys on the caller's profile, and resolving `authorized_users` to their keys.

This cloud has one user per account (the account's username), so a username names an
account's key set; another account's keys are never reachable, not even by id.
"""

from sqlalchemy import select

from cloudapi.db.accounts import Account
from cloudapi.db.paging import page_of
from cloudapi.db.profile import SSHKey
from cloudapi.domain import sshkeys as keys
from cloudapi.errors import Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.profile import SSHKeyCreateSchema, SSHKeyUpdateSchema
from cloudapi.services.labels import relabel

MAX_ID = 2**31 - 1
MAX_USERS = 100  # an authorized_users list longer than this names unknown users anyway


def listing(session, account_id, page_req):
    """Return (keys, page, pages, results) for the account's keys, oldest first."""
    return page_of(session, SSHKey, (SSHKey.account_id == account_id,), [SSHKey.id], page_req)


def get(session, account_id, key_id):
    if not 0 < key_id <= MAX_ID:
        raise NotFound()
    query = select(SSHKey).where(SSHKey.account_id == account_id, SSHKey.id == key_id)
    found = session.scalar(query)
    if found is None:
        raise NotFound()
    return found


def labels(session, account_id):
    """The labels of the account's keys (GET /account/users shows these)."""
    query = select(SSHKey.label).where(SSHKey.account_id == account_id).order_by(SSHKey.id)
    return list(session.scalars(query))


def create(database, account_id, body):
    data = load(SSHKeyCreateSchema(), body)
    with database.transaction() as session:
        key = SSHKey(
            account_id=account_id,
            label=data.get("label", ""),
            ssh_key=keys.parse(data["ssh_key"]).text,
        )
        session.add(key)
        session.flush()
    return key


def update(database, account_id, key_id, body):
    """Only the label changes (Linode: "Only SSH key labels can be updated")."""
    return relabel(database, lambda session: get(session, account_id, key_id),
                   load(SSHKeyUpdateSchema(), body))  # fmt: skip


def delete(database, account_id, key_id):
    with database.transaction() as session:
        session.delete(get(session, account_id, key_id))


def unknown_user(username):
    shown = str(username)[:64]  # never echo a huge value back
    return Invalid.field("authorized_users", f"Username {shown} not found")


def keys_for_users(session, account_id, usernames):
    """The public keys that `authorized_users` deploys, in upload order, deduplicated.

    Each username must be a user of the account (here: the account's own username);
    any other name, including another account's user, is a 400 naming
    `authorized_users`. Runs in the caller's session, so an instance create can resolve
    the keys inside its own transaction.
    """
    names = list(dict.fromkeys(usernames or ()))
    if not names:
        return []
    if len(names) > MAX_USERS:
        raise Invalid.field("authorized_users", f"At most {MAX_USERS} users")
    username = session.scalar(select(Account.username).where(Account.id == account_id))
    for name in names:
        if not isinstance(name, str) or name != username:
            raise unknown_user(name)
    query = select(SSHKey.ssh_key).where(SSHKey.account_id == account_id).order_by(SSHKey.id)
    return list(dict.fromkeys(session.scalars(query)))
