"""`cloudapi flags check`: what one account sees, and why."""

from cloudapi.flagging.context import context_for
from cloudapi.flagging.names import FEATURE_FLAGS
from cloudapi.principal import Principal
from cloudapi.services import accounts
from cloudapi.services.betas import enrolled


def principal_for(database, account_id):
    with database.reader() as session:
        account = accounts.get(session, account_id)
        betas = tuple(sorted(b.id for b, _ in enrolled(session, account_id)))
        return Principal(0, account.id, account.username, account.email,
                         tuple(account.tag_names), betas, frozenset({"*"}), False)  # fmt: skip


def explain(app, account_id):
    flags = app.extensions["cloudapi.flags"]
    flags.wait_started()
    principal = principal_for(app.extensions["cloudapi.db"], account_id)
    snapshot = app.extensions["cloudapi.catalog"].snapshot()
    lines = [
        f"account {account_id} <{principal.email}>",
        f"  tags:    {', '.join(principal.tags) or '(none)'}",
        f"  betas:   {', '.join(principal.betas) or '(none)'}",
        f"  context: {context_for(principal)}",
        f"  source:  {flags.server_url or 'embedded default (flags/ + database)'}",
    ]
    features = flags.features_for(principal)
    for feature, names in FEATURE_FLAGS.items():
        lines.append(f"  feature {feature}: {'ON' if feature in features else 'off'}")
        for name in names:
            lines.append(f"    flag {name}: {'on' if flags.is_enabled(name, principal) else 'off'}")
    hidden = sorted(t.id for t in snapshot.types.values() if t.required_feature)
    visible = {t.id for t in snapshot.visible_types(features)}
    for type_id in hidden:
        lines.append(f"  plan {type_id}: {'visible' if type_id in visible else 'hidden'}")
    return "\n".join(lines)
