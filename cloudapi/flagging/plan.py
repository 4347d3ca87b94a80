"""`cloudapi flags plan`: what a flip would change, before it is made.

The flip is worked out exactly as `flags enable/disable` would (ScopedFlips.next_setting),
then every account is evaluated by the Unleash SDK, offline, against the flags as they
are and as they would be: who gains (or loses) the launch's feature, and where, beside
the capacity the launch could sell in the regions it would open.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from UnleashClient import UnleashClient
from UnleashClient.utils import InstanceAllowType

from cloudapi.db.accounts import Account
from cloudapi.db.betas import AccountBeta
from cloudapi.errors import NotFound
from cloudapi.flagging import definitions, rollout
from cloudapi.flagging.caches import BootstrapCache
from cloudapi.flagging.definitions import Setting
from cloudapi.flagging.evaluation import LaunchEvaluator
from cloudapi.principal import Principal


def _sdk(doc):
    cache = BootstrapCache(doc)
    client = UnleashClient(
        url="http://unleash.invalid/api", app_name="cloudapi-plan", cache=cache,
        disable_metrics=True, disable_registration=True,
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )  # fmt: skip
    client.initialize_client(fetch_toggles=False)
    return client, cache


def _principals(session):
    betas = {}
    for row in session.scalars(select(AccountBeta)):
        betas.setdefault(row.account_id, []).append(row.beta_id)
    accounts = session.scalars(select(Account).options(selectinload(Account.tags)))
    for a in accounts:
        yield Principal(0, a.id, a.username, a.email, tuple(sorted(a.tag_names)),
                        tuple(sorted(betas.get(a.id, ()))), frozenset({"*"}), False)  # fmt: skip


def _where(features, feature):
    if feature not in features:
        return None
    if feature in features.everywhere:
        return "everywhere"
    return ",".join(sorted(features.regional[feature]))


def plan(admin, launch_name, enabled, scope):
    """The report, as lines of text."""
    launch = admin.launches.by_feature.get(launch_name) or admin.launches.by_flag.get(launch_name)
    if launch is None:
        raise NotFound.reason(f"no launch named {launch_name!r}")
    flag = launch.launch_flag
    states = {
        f.name: Setting(f.enabled, tuple(f.regions) if f.regions is not None else None, f.rollout)
        for f in admin.flags()
    }
    current = states.get(flag, Setting(False))
    new, change = admin.next_setting(flag, current, enabled, scope, check=False)
    snapshot = admin.catalog.snapshot()
    regions = tuple(snapshot.regions)
    docs = (definitions.with_states(admin.doc, states),
            definitions.with_states(admin.doc, {**states, flag: new}))  # fmt: skip
    clients = [_sdk(doc) for doc in docs]
    try:
        before, after = (
            LaunchEvaluator(sdk, cache.current, admin.launches, lambda: regions)
            for sdk, cache in clients
        )
        with admin.database.reader() as session:
            people = list(_principals(session))
            sellable = rollout.sellable_by_region(session, snapshot, launch)
        gaining, losing, having = [], [], 0
        for who in people:
            was = _where(before.evaluate(who), launch.feature)
            will = _where(after.evaluate(who), launch.feature)
            having += was is not None
            if will != was:
                (gaining if will is not None else losing).append((who, was, will))
    finally:
        for sdk, _ in clients:
            sdk.destroy()
    opening = rollout.newly_open(current, new, list(sellable))
    lines = [
        f"launch {launch.feature} ({launch.label}): flag {flag}",
        f"  now:   {_state_text(current)}",
        f"  after: {_state_text(new)}" + (f"  ({change})" if change else ""),
        f"  accounts: {len(people)}; with the feature now: {having}; "
        f"gaining: {len(gaining)}; losing: {len(losing)}",
    ]
    for who, was, will in (gaining + losing)[:50]:
        lines.append(f"    account {who.account_id} <{who.email}>: "
                     f"{was or 'none'} -> {will or 'none'}")  # fmt: skip
    if len(gaining) + len(losing) > 50:
        lines.append(f"    ... and {len(gaining) + len(losing) - 50} more")
    shown = sorted(opening) if opening else sorted(sellable)
    lines.append("  sellable now (instances per plan) in " +
                 ("the regions it opens:" if opening else "its regions:"))  # fmt: skip
    lines += ["    " + line for line in rollout.capacity_lines(sellable, shown)]
    empty = [r for r in shown if not any(sellable.get(r, {}).values())]
    if empty:
        lines.append(f"  NOT READY: nothing sellable in {', '.join(empty)}")
    return lines


def _state_text(setting):
    if not setting.enabled:
        return "off"
    where = "everywhere" if setting.regions is None else "in " + ",".join(setting.regions)
    share = "" if setting.rollout is None else f" for {setting.rollout}% of accounts"
    return f"on {where}{share}"
