"""`cloudapi flags` for a region-scoped, gradual launch: plan, readiness, flips, audit."""

import re

from cloudapi.services.demo_hosts import RTX4000_ADA

LAUNCH = "gpu-rtx4000-ada-launch"


def test_plan_then_launch_region_by_region(cli, make_account, add_host, client):
    add_host("ada-1.us-ord", "us-ord", gpu=RTX4000_ADA)
    customers = [make_account()[0] for _ in range(3)]
    make_account(tags=("employee",))

    plan = cli("flags", "plan", "gpu-rtx4000-ada", "--region", "us-ord").stdout
    assert "now:   off" in plan and "after: on in us-ord" in plan
    assert re.search(r"accounts: 4; with the feature now: 1; gaining: 3; losing: 0", plan)
    for account_id in customers:
        assert f"account {account_id} " in plan and "none -> us-ord" in plan
    # Sellable per plan in us-ord: one 8-GPU Ada host, 2 nodes x 4 GPUs.
    row = next(line for line in plan.splitlines() if line.strip().startswith("us-ord"))
    assert row.split()[1:] == ["6", "8", "8", "2", "4", "4", "4", "2", "2"]
    assert cli("flags", "list").stdout.count("off") >= 2  # the plan changed nothing

    refused = cli("flags", "enable", LAUNCH, "--region", "us-sea", ok=False)
    assert refused.returncode == 1
    assert "No sellable capacity for gpu-rtx4000-ada in us-sea" in refused.stderr
    assert "NOT READY" in cli("flags", "plan", LAUNCH, "--region", "us-sea").stdout

    out = cli("flags", "enable", LAUNCH, "--region", "us-ord", "--actor", "rm@example.com")
    assert out.stdout.startswith(f"{LAUNCH}: off -> on (us-ord)")
    assert "regions: everywhere -> us-ord" in out.stdout
    assert re.search(rf"^{LAUNCH}\s+on .* in us-ord$", cli("flags", "list").stdout, re.M)
    check = cli("flags", "check", "--account", str(customers[0])).stdout
    assert "feature gpu-rtx4000-ada: ON in us-ord" in check

    forced = cli("flags", "enable", LAUNCH, "--region", "us-sea", "--force").stdout
    assert "regions: us-ord -> us-ord,us-sea" in forced
    cli("flags", "enable", LAUNCH, "--rollout", "40")
    closed = cli("flags", "disable", LAUNCH, "--region", "us-ord").stdout
    assert closed.startswith(f"{LAUNCH}: on -> on (us-sea, 40%)")
    rolled_back = cli("flags", "disable", LAUNCH).stdout
    assert rolled_back.startswith(f"{LAUNCH}: on -> off")
    audit = cli("flags", "audit").stdout.splitlines()
    assert "on -> off" in audit[0] and "(regions: us-sea -> everywhere)" in audit[0]
    assert "(regions: us-ord,us-sea -> us-sea)" in audit[1]
    assert "(rollout: 100 -> 40%)" in audit[2]
    assert "by rm@example.com" in audit[4] and "(regions: everywhere -> us-ord)" in audit[4]
