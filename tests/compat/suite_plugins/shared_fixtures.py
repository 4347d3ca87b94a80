"""A pytest plugin for linode_api4's own suite: at collection, write down which shared
fixtures each test uses, so the harness can keep the tests that share one together.

The suite's tests assume its order where they share a session- or module-scoped fixture
that makes a Linode: `test_linode_boot` shuts down the shared `create_linode` at once,
which is refused ("Linode busy.") while that Linode still provisions; upstream it is
never the first of its tests to run. With CLOUDAPI_SUITE_FIXTURES set, this writes
{node id: [shared fixture names]} there as JSON; the fixtures nearly every test uses and
none changes (the client, the session firewall, a key pair, pytest's temporary folders)
are left out. It changes nothing of the suite.
"""

import json
import os

NOT_SHARING = {"test_linode_client", "e2e_test_firewall", "ssh_key_gen", "tmp_path_factory"}


def _shared_fixtures(item):
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs if info is not None else {}
    return sorted(name for name, found in defs.items()
                  if name not in NOT_SHARING and found
                  and found[-1].scope in ("session", "module"))  # fmt: skip


def pytest_collection_finish(session):
    path = os.environ.get("CLOUDAPI_SUITE_FIXTURES")
    if path:
        found = {item.nodeid: _shared_fixtures(item) for item in session.items}
        with open(path, "w") as out:
            json.dump(found, out)
