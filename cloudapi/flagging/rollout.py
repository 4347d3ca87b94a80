"""A launch flag's scope: in which regions, for what share of accounts; and readiness.

Both flag admins (the embedded default and an Unleash server) work out a flip the same
way here: `next_setting` turns the current Setting and the release manager's request
into the new one, `describe_change` says what changed for the audit, and `check_ready`
refuses to open a region where none of the launch's plans can be sold.
"""

from dataclasses import dataclass

from cloudapi.errors import Invalid
from cloudapi.flagging.definitions import Setting
from cloudapi.services import capacity


@dataclass(frozen=True)
class Scope:
    """What a flip asks for besides on/off (all optional)."""

    add_regions: tuple = ()
    remove_regions: tuple = ()
    everywhere: bool = False
    rollout: int | None = None
    force: bool = False

    @property
    def empty(self):
        return not (self.add_regions or self.remove_regions or self.everywhere
                    or self.rollout is not None)  # fmt: skip


def next_setting(name, current, enabled, scope):
    """The flag's Setting after the flip.

    - enable: on. `--region` opens more regions (a flag that was off starts from none);
      `--everywhere` lifts the region scope; neither keeps the scope it had.
    - disable: with `--region`, those regions close (the last one turns the flag off);
      without, the flag turns off everywhere and its region scope is dropped.
    - `--rollout P` sets the percentage of accounts (sticky per account: Unleash hashes
      the account id, so an account in at P stays in at any higher P).
    """
    regions, rollout = current.regions, current.rollout
    if scope.rollout is not None:
        rollout = scope.rollout
    if enabled:
        if scope.add_regions and current.enabled and regions is None:
            raise Invalid.field("regions", f"{name} is on everywhere: roll it back before "
                                "scoping it to regions")  # fmt: skip
        if scope.everywhere:
            regions = None
        elif scope.add_regions:
            base = set(regions or ()) if current.enabled else set()
            regions = tuple(sorted(base | set(scope.add_regions)))
        return Setting(True, regions, rollout)
    if scope.add_regions or scope.everywhere:
        raise Invalid.field("regions", "disable takes --region to close, nothing to open")
    if scope.remove_regions:
        if regions is None:
            raise Invalid.field(
                "regions", f"{name} is not scoped to regions: disable it everywhere, "
                "or enable it in the regions it should keep"
            )  # fmt: skip
        left = tuple(sorted(set(regions) - set(scope.remove_regions)))
        return Setting(bool(left) and current.enabled, left if left else None, rollout)
    return Setting(False, None, rollout)


def _regions_text(regions):
    return "everywhere" if regions is None else (",".join(regions) or "nowhere")


def describe_change(old, new):
    """`regions: everywhere -> us-east; rollout: 100 -> 25`, or None when only on/off moved."""
    parts = []
    if old.regions != new.regions:
        parts.append(f"regions: {_regions_text(old.regions)} -> {_regions_text(new.regions)}")
    if old.rollout != new.rollout:
        parts.append(f"rollout: {old.rollout if old.rollout is not None else 'as defined'}"
                     f" -> {new.rollout}%")  # fmt: skip
    return "; ".join(parts) or None


def newly_open(old, new, all_regions):
    """The regions `new` opens that `old` did not (all_regions stands for everywhere)."""
    if not new.enabled:
        return set()
    after = set(all_regions) if new.regions is None else set(new.regions)
    before = set() if not old.enabled else (
        set(all_regions) if old.regions is None else set(old.regions))  # fmt: skip
    return after - before


def sellable_by_region(session, snapshot, launch):
    """{region: {plan id: instances sellable now}} for the launch's plans, GPU regions only."""
    plans = [p for p in snapshot.types.values() if launch.gates_plan(p)]
    report = capacity.report(session, snapshot)
    return {
        r["region"]: {p.id: r["sellable"].get(p.id, 0) for p in plans} for r in report["regions"]
    }


def capacity_lines(sellable, regions):
    """The readiness table: one line per region, sellable instances per plan."""
    plans = sorted({p for row in sellable.values() for p in row})
    lines = [f"{'region':<12} " + " ".join(f"{p:>20}" for p in plans)]
    for region in sorted(regions):
        row = sellable.get(region, {})
        lines.append(f"{region:<12} " + " ".join(f"{row.get(p, 0):>20}" for p in plans))
    return lines


def check_ready(launch, opening, sellable, force):
    """Refuse to open regions where none of the launch's plans can be sold (unless forced)."""
    empty = sorted(r for r in opening if not any(sellable.get(r, {}).values()))
    if not empty or force:
        return
    table = "\n".join(capacity_lines(sellable, opening))
    raise Invalid.field(
        "regions",
        f"No sellable capacity for {launch.feature} in {', '.join(empty)} "
        f"(use force to launch anyway):\n{table}",
    )
