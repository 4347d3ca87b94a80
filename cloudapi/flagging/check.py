"""`cloudapi flags check`: what one account sees, and why, launch by launch."""

from sqlalchemy import select

from cloudapi.db.betas import Beta
from cloudapi.flagging.context import context_for
from cloudapi.flagging.launches import catalog_problems
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
    with app.extensions["cloudapi.db"].reader() as session:
        beta_ids = set(session.scalars(select(Beta.id)))
    problems = catalog_problems(flags.launches, snapshot, beta_ids)
    names = ", ".join(launch.feature for launch in flags.launches)
    lines.append(f"  launches: {names} ({'; '.join(problems) or 'valid'})")
    features = flags.evaluate(principal)
    for launch in flags.launches:
        feature = launch.feature
        where = ""
        if feature in features and feature not in features.everywhere:
            where = " in " + ", ".join(sorted(features.regional[feature]))
        lines.append(f"  feature {feature}: {'ON' if feature in features else 'off'}{where}")
        for name in launch.flags:
            lines.append(f"    flag {name}: {'on' if flags.is_enabled(name, principal) else 'off'}")
    hidden = sorted(t.id for t in snapshot.types.values() if t.required_feature)
    visible = {t.id for t in snapshot.visible_types(features)}
    for type_id in hidden:
        lines.append(f"  plan {type_id}: {'visible' if type_id in visible else 'hidden'}")
    return "\n".join(lines)
