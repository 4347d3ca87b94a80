"""Cloud Manager's SDK (npm @linode/api-v4) running its Linode create flow, for tests.

bin/cloud-manager-sdk installs the pinned SDK (tools/cloud-manager) and builds its browser
bundle; tools/cloud-manager/flow.mjs is the flow, the same steps in Node and in a browser.
A missing node or npm, or a failed install, goes through `databases.missing_service`: the
test skips, or fails under CLOUDAPI_REQUIRE_SERVICES=1.

`check_record` asserts what Cloud Manager would get from every call of one run.
"""

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

from werkzeug.exceptions import NotFound

from tests.support import databases

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "cloud-manager-sdk"
FLOW = ROOT / "tools" / "cloud-manager" / "create_flow.mjs"
MISSING = 3  # bin/cloud-manager-sdk's exit status when node or npm is missing
INSTALL_TIMEOUT = 600  # seconds: a cold `npm ci` is included (about 10 s here)
FLOW_TIMEOUT = 120
GPU_TYPE = "g1-gpu-rtx6000-1"
PASSWORD = "Gpu-Demo-2026!x"
USER_DATA = "#cloud-config\npackages: [nvtop]\n"
# What the server does not serve yet, by SDK call and path; flow.mjs skips these calls,
# saying so (none are left: the Linode page's configs, disks and addresses are served).
SKIPPED = {}
# Cloud Manager's calls in order; the GPU run adds the plan's page and the firewall drawer.
START_UP = ["getProfile", "getAccountInfo", "getAccountSettings", "getRegions",
            "getLinodeTypes", "getImages", "getLinodes", "getAccountAvailabilities",
            "getRegionAvailabilities", "getRegionAvailability", "getFirewalls", "getSSHKeys",
            "getUsers", "getUserPreferences", "updateUserPreferences"]  # fmt: skip
CREATE = ["createLinode (invalid)", "createLinode (unknown type)", "createLinode",
          "getLinode", "getLinodeConfigs", "getLinodeDisks", "getLinodeIPs", "getEvents",
          "getEvents (poll)", "markEventSeen", "deleteLinode",
          "getLinode (deleted)", "getLinode (unknown)"]  # fmt: skip
NOT_FOUND = [{"reason": "Not found"}]
NETWORK_FAILURE = "network failure (no HTTP response)"  # flow.mjs, for a CORS refusal


def sdk_script(command):
    """`bin/cloud-manager-sdk COMMAND` (install or bundle); its last line of output."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            databases.missing_service(f"Cloud Manager's SDK: `{tool}` not found on PATH")
    done = subprocess.run([str(SCRIPT), command], capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT, check=False)  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        databases.missing_service(f"bin/cloud-manager-sdk {command} failed: {last}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def flow_options(kind, root):
    """The create form as a customer (a standard plan, the classic networking form) or an
    employee (a GPU plan, the new networking form with a firewall and user data) fills it."""
    options = {"root": root, "region": "us-east", "image": "linode/ubuntu24.04",
               "label": "ubuntu-us-east", "rootPass": PASSWORD}  # fmt: skip
    if kind == "customer":
        return {**options, "type": "g6-standard-2", "networking": "classic"}
    return {**options, "type": GPU_TYPE, "networking": "legacy-interfaces",
            "userData": USER_DATA, "checkType": GPU_TYPE}  # fmt: skip


def run_in_node(token, options):
    """Run flow.mjs in Node; return its record ({steps, skipped})."""
    done = subprocess.run(["node", str(FLOW), json.dumps(options)], capture_output=True,
                          text=True, timeout=FLOW_TIMEOUT, check=False,
                          env={**os.environ, "CLOUDAPI_TOKEN": token})  # fmt: skip
    assert done.returncode == 0, f"create_flow.mjs failed: {done.stderr[-2000:]}"
    return json.loads(done.stdout)


def _by_name(record):
    steps = {step["name"]: step for step in record["steps"]}
    assert len(steps) == len(record["steps"]), "a call was recorded twice"
    return steps


def expected_calls(kind):
    if kind == "customer":
        return START_UP + CREATE
    start = START_UP[:5] + ["getType"] + START_UP[5:]
    return start + ["createFirewall"] + CREATE + ["deleteFirewall"]


def check_record(record, kind, app, account_id):
    """Every call of one run, as Cloud Manager would see it, and what it left behind."""
    assert [s["name"] for s in record["steps"]] == expected_calls(kind)
    steps = _by_name(record)
    refused = {"createLinode (invalid)", "createLinode (unknown type)",
               "getLinode (deleted)", "getLinode (unknown)"}  # fmt: skip
    for name, step in steps.items():
        assert step["ok"] is (name not in refused), (name, step)
    _check_start_up(steps, kind)
    _check_create(steps, kind, app, account_id)
    assert set(record["skipped"]) == set(SKIPPED)
    adapter = app.url_map.bind("localhost")
    for name, path in SKIPPED.items():  # served now? then flow.mjs must call it
        for prefix in ("/v4", "/v4beta"):
            try:
                adapter.match(path.replace("/v4", prefix, 1), method="GET")
            except NotFound:
                continue
            raise AssertionError(f"{path} is served now: call {name} in flow.mjs")


def _check_start_up(steps, kind):
    gpu = kind == "employee"
    data = {name: step.get("data") for name, step in steps.items()}
    assert data["getProfile"]["restricted"] is False and data["getProfile"]["username"]
    assert ("GPU Linodes" in data["getAccountInfo"]["capabilities"]) is gpu
    assert data["getAccountSettings"]["interfaces_for_new_linodes"] == "legacy_config_only"
    assert "us-east" in {r["id"] for r in data["getRegions"]["data"]}
    plans = {t["id"] for t in data["getLinodeTypes"]["data"]}
    assert "g6-standard-2" in plans and (GPU_TYPE in plans) is gpu
    if gpu:
        assert (data["getType"]["id"], data["getType"]["gpus"]) == (GPU_TYPE, 1)
    images = [i["id"] for i in data["getImages"]["data"]]
    assert "linode/ubuntu24.04" in images and all(i["is_public"] for i in data["getImages"]["data"])
    assert data["getLinodes"]["data"] == [] and data["getFirewalls"]["data"] == []
    east = next(a for a in data["getAccountAvailabilities"]["data"] if a["region"] == "us-east")
    assert "Linodes" in east["available"]
    assert all(a["region"] == "us-east" for a in data["getRegionAvailability"])
    assert data["getSSHKeys"]["data"] == [] and len(data["getUsers"]["data"]) == 1
    assert data["updateUserPreferences"] == {**data["getUserPreferences"],
                                             "linodes_view_style": "list"}  # fmt: skip


def _check_create(steps, kind, app, account_id):
    invalid = steps["createLinode (invalid)"]  # @linode/validation refused it: no request
    assert invalid["status"] is None and invalid["errors"][0]["field"] == "region"
    unknown = steps["createLinode (unknown type)"]
    assert unknown["status"] == 400 and unknown["errors"][0]["field"] == "type"
    created, payload = steps["createLinode"]["data"], steps["createLinode"]["payload"]
    wanted = {k: payload[k] for k in ("label", "type", "region", "image")}
    assert {k: created[k] for k in wanted} == wanted
    assert created["status"] in ("provisioning", "booting")
    assert steps["getLinode"]["data"]["id"] == created["id"]
    disks = steps["getLinodeDisks"]["data"]["data"]
    assert [d["filesystem"] for d in disks] == ["ext4", "swap"]
    (config,) = steps["getLinodeConfigs"]["data"]["data"]
    assert config["devices"]["sda"]["disk_id"] == disks[0]["id"]
    ips = steps["getLinodeIPs"]["data"]
    assert [a["address"] for a in ips["ipv4"]["public"]] == created["ipv4"][:1]
    if kind == "employee":
        assert payload["interfaces"] == [{"purpose": "public"}]
        assert payload["firewall_id"] == steps["createFirewall"]["data"]["id"]
        assert base64.b64decode(payload["metadata"]["user_data"]).decode() == USER_DATA
        attached = [e for e in steps["getEvents"]["data"]["data"]
                    if e["action"] == "firewall_device_add"]  # fmt: skip
        assert [e["secondary_entity"]["id"] for e in attached] == [str(created["id"])]
    else:
        assert "interfaces" not in payload and "firewall_id" not in payload
    events = steps["getEvents"]["data"]["data"]
    made = [e for e in events if e["action"] == "linode_create"]
    assert [e["entity"]["id"] for e in made] == [created["id"]]
    assert steps["getEvents (poll)"]["data"]["data"] == events
    assert steps["markEventSeen"]["data"] == {} and steps["deleteLinode"]["data"] == {}
    for name in ("getLinode (deleted)", "getLinode (unknown)"):
        assert (steps[name]["status"], steps[name]["errors"]) == (404, NOT_FOUND), name
    client = app.test_client()
    headers = {"Authorization": f"Bearer {_token_for(app, account_id)}"}
    seen = client.get(f"/v4/account/events/{events[0]['id']}", headers=headers).get_json()
    assert seen["seen"] is True
    assert client.get("/v4/linode/instances", headers=headers).get_json()["data"] == []


def _token_for(app, account_id):
    from cloudapi.services import tokens

    with app.extensions["cloudapi.db"].transaction() as session:
        return tokens.create(session, account_id=account_id, scopes="*")
