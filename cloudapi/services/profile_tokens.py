"""Personal access tokens as /v4/profile/tokens manages them: create, list, rename, revoke.

Tokens are made by cloudapi/services/tokens.py (256 random bits, only the SHA-256 and the
first 16 characters stored); the plaintext exists once, in the create response. A new
token can never do more than the token that made it: its scopes are a subset of the
caller's, and `*` (or no scopes) means "the same as mine", as Linode documents.
"""

from sqlalchemy import delete, or_, select

from cloudapi import filters
from cloudapi.db.accounts import Token
from cloudapi.db.base import utcnow
from cloudapi.db.paging import order_of, page_of
from cloudapi.errors import Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.profile import TokenCreateSchema, TokenUpdateSchema
from cloudapi.services import tokens
from cloudapi.services.labels import relabel

FILTERABLE = {"label": "str", "created": "datetime"}
SQL_FIELDS = {"label": Token.label, "created": Token.created}
MAX_ID = 2**31 - 1
BEYOND_CALLER = "Scopes may not exceed those of the token making this request"


def _live(account_id):
    """The account's tokens that still authenticate (an expired token is gone)."""
    return (
        Token.account_id == account_id,
        or_(Token.expiry.is_(None), Token.expiry > utcnow()),
    )


def listing(session, account_id, flt, page_req):
    """Return (tokens, page, pages, results): the account's live tokens, oldest first."""
    where = (*_live(account_id), filters.to_sql(flt.where, SQL_FIELDS))
    return page_of(session, Token, where, order_of(flt, SQL_FIELDS, Token.id), page_req)


def get(session, account_id, token_id):
    """The account's live token `token_id`, or NotFound (another account's is NotFound)."""
    if not 0 < token_id <= MAX_ID:
        raise NotFound()
    found = session.scalar(select(Token).where(*_live(account_id), Token.id == token_id))
    if found is None:
        raise NotFound()
    return found


def granted_scopes(caller_scopes, requested):
    """The scopes a new token gets, or a 400 naming `scopes` when they exceed the caller's.

    `caller_scopes` is the acting token's set ({"*"} or {"area:level", ...}).
    """
    mine = "*" if "*" in caller_scopes else " ".join(sorted(caller_scopes))
    if requested is None or requested.strip() in ("", "*"):
        return mine
    wanted = tokens.parse_scopes(requested)
    if "*" in caller_scopes:
        return wanted
    if wanted == "*":
        raise Invalid.field("scopes", BEYOND_CALLER)
    for part in wanted.split():
        area, _, level = part.partition(":")
        covering = {f"{area}:read_write"}
        if level == "read_only":
            covering.add(f"{area}:read_only")
        if not caller_scopes & covering:
            raise Invalid.field("scopes", BEYOND_CALLER)
    return wanted


def create(database, principal, body):
    """Make a token for the caller's account; return (row, plaintext token)."""
    data = load(TokenCreateSchema(), body)
    scopes = granted_scopes(principal.scopes, data.get("scopes"))
    with database.transaction() as session:
        plaintext = tokens.create(
            session,
            account_id=principal.account_id,
            scopes=scopes,
            label=data.get("label", ""),
            expiry=data.get("expiry"),
        )
        session.flush()
        row = session.scalar(select(Token).where(Token.token_hash == tokens.digest(plaintext)))
    return row, plaintext


def rename(database, account_id, token_id, body):
    """Only the label changes (Linode: a token's scopes and expiry are fixed at creation)."""
    return relabel(database, lambda session: get(session, account_id, token_id),
                   load(TokenUpdateSchema(), body))  # fmt: skip


def revoke(database, account_id, token_id):
    """Delete the token at once; the caller's own token may be revoked too.

    The caller must also forget the account in the principal cache (the handler does),
    so the revoked token is a 401 on its very next request to this process.
    """
    with database.transaction() as session:
        found = get(session, account_id, token_id)
        session.execute(delete(Token).where(Token.id == found.id))
