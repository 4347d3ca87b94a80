"""Demo data: a customer, an employee-tagged account, tokens, and GPU hosts in two regions."""

from sqlalchemy import select

from cloudapi.db.accounts import Account
from cloudapi.db.inventory import Host
from cloudapi.services import accounts, hosts, tokens
from cloudapi.services.demo_hosts import DEMO_HOSTS, describe

DEMO_ACCOUNTS = {
    "customer": ("customer@example.com", ()),
    "employee": ("employee@example.com", ("employee",)),
}


def seed(session):
    """Create (or reuse) the demo accounts and issue fresh tokens for them."""
    out = {"accounts": {}}
    for name, (email, tags) in DEMO_ACCOUNTS.items():
        account = session.scalar(select(Account).where(Account.email == email))
        if account is None:
            account = accounts.create(session, email, tags)
        token = tokens.create(session, account_id=account.id, label=f"demo {name}")
        out["accounts"][name] = {"id": account.id, "email": email, "token": token}
    out["admin_token"] = tokens.create(session, is_admin=True, label="demo admin")
    out["hosts"] = []
    for entry in DEMO_HOSTS:
        hostname = entry[0]
        if session.scalar(select(Host.id).where(Host.hostname == hostname)) is None:
            hosts.register(session, describe(*entry))
        out["hosts"].append(hostname)
    return out


def populate(database):
    """seed, committed in a transaction of its own; return what it issued."""
    with database.transaction() as session:
        return seed(session)
