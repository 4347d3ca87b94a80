"""The HTTP bench's scenarios: what each sends, to which server, against which ceiling.

Every scenario is a pair measured back to back in each round, the real app and its own
ceiling, the pair's order flipping from one round to the next so that drift on the
machine hits both alike:

- a read's ceiling is the bare app (bench/bare_app.py) serving the exact bytes the real
  server answered that request with, fetched before the rounds;
- a create's ceiling is bench/create_ceiling.py writing the same rows with raw psycopg.

`--only` takes the keys of SPECS (comma-separated). The "cost flat" verdicts compare a
big-account or crowded-database list with the plain list, so selecting one of those
brings in "list" too.
"""

import json
from dataclasses import dataclass

from bench import seed
from bench.bulk import TAG
from bench.load import Scenario

TYPES = "/v4/linode/types"
INSTANCES = "/v4/linode/instances"


@dataclass(frozen=True)
class Spec:
    key: str  # for --only and --json
    name: str  # in the table
    method: str
    path: str  # "{instance_id}" is filled in
    role: str | None = None  # whose token; None: anonymous
    database: str = "main"  # "main" or "crowded": which real server
    body: str | None = None
    x_filter: dict | None = None
    ceiling: str = "bare"  # "bare" (same bytes) or "create" (raw psycopg)
    gpu: bool = False  # put the fleet back before each run (bench/fleet.py)


SPECS = (
    Spec("types", "types anonymous", "GET", TYPES),
    Spec("types-auth", "types authenticated", "GET", TYPES, "list"),
    Spec("list", "instances list", "GET", INSTANCES, "list"),
    Spec("list-10k", "list, 10,000 on account", "GET", INSTANCES, "big"),
    Spec("list-crowded", "list, 100x1,000 others", "GET", INSTANCES, "list", "crowded"),
    Spec("list-filter", "list X-Filter on a tag", "GET", INSTANCES, "list", x_filter={"tags": TAG}),
    Spec("get", "instance get", "GET", INSTANCES + "/{instance_id}", "list"),
    Spec("events", "events page", "GET", "/v4/account/events", "list"),
    Spec("create", "instances create", "POST", INSTANCES, "create", body=seed.CREATE_BODY,
         ceiling="create"),
    Spec("gpu-create", "gpu create, 1,000 hosts", "POST", INSTANCES, "gpu", body=seed.GPU_BODY,
         ceiling="create", gpu=True),
)  # fmt: skip
KEYS = tuple(s.key for s in SPECS)
BY_KEY = {s.key: s for s in SPECS}
# Cost-flat comparisons need the plain list as their baseline.
BASELINE = {"list-10k": "list", "list-crowded": "list"}


def select(only):
    """The specs named by `only` ("list,events"; None or "all": every one), in SPECS order.

    Raises ValueError naming unknown keys.
    """
    if not only or only == "all":
        return list(SPECS)
    wanted = {k.strip() for k in only.split(",") if k.strip()}
    unknown = sorted(wanted - set(KEYS))
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    wanted |= {BASELINE[k] for k in wanted if k in BASELINE}
    return [s for s in SPECS if s.key in wanted]


def needs(specs):
    """What the selection needs seeded and served beyond the main database and servers."""
    keys = {s.key for s in specs}
    made = set()
    if "list-10k" in keys:
        made.add("big")
    if "gpu-create" in keys:
        made.add("fleet")
    if "list-crowded" in keys:
        made.add("crowded")
    if any(s.ceiling == "create" for s in specs):
        made.add("create-ceiling")
    if any(s.ceiling == "bare" for s in specs):
        made.add("bare")
    return made


def real(spec, seeded):
    """The request to the real server."""
    headers = {}
    if spec.role is not None:
        headers["Authorization"] = f"Bearer {seeded.tokens[spec.role]}"
    if spec.x_filter is not None:
        headers["X-Filter"] = json.dumps(spec.x_filter, separators=(",", ":"))
    if spec.body is not None:
        headers["Content-Type"] = "application/json"
    path = spec.path.format(instance_id=seeded.instance_id)
    return Scenario(spec.name, spec.database, spec.method, path, headers, spec.body,
                    key=spec.key, side="real")  # fmt: skip


def bare_query(spec):
    return f"bench={spec.key}"


def ceiling(spec, seeded):
    """The same request (headers and body too) to the spec's ceiling server."""
    made = real(spec, seeded)
    path = made.path if spec.ceiling == "create" else f"{made.path}?{bare_query(spec)}"
    return Scenario(spec.name, spec.ceiling, made.method, path, made.headers, made.body,
                    key=spec.key, side="ceiling")  # fmt: skip


def round_order(specs, seeded, round_no):
    """One round's runs: each pair real then ceiling, the other way round every other round."""
    runs = []
    for spec in specs:
        pair = [real(spec, seeded), ceiling(spec, seeded)]
        runs.extend(pair if round_no % 2 == 1 else pair[::-1])
    return runs
