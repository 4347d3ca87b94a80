"""Demo data: a customer, an employee-tagged account, their tokens and an admin token."""

from sqlalchemy import select

from cloudapi.db.accounts import Account
from cloudapi.services import accounts, tokens

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
    return out
