"""The admin console in a real browser (headless system Chromium) against a live server."""

import json
import time

import pytest
import requests

from cloudapi.services import hosts, tokens
from tests.browser.fake_agent import FakeAgent

try:
    from playwright.sync_api import expect
except ImportError:  # the `playwright` fixture skips (or fails under REQUIRE_SERVICES)
    expect = None

pytestmark = pytest.mark.slow

GPU_BOX = "#capacity .gpu"
LAUNCH_FLAG = "gpu-linodes-launch"


def wait_until(check, timeout=10.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def gpu_plan_ids(base_url, headers):
    response = requests.get(f"{base_url}/v4/linode/types", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return sorted(t["id"] for t in response.json()["data"] if t["id"].startswith("g1-gpu"))


def test_admin_logs_in_and_sees_the_capacity_picture(
    console, live_server, db, add_host, admin_token
):
    add_host("gpu-1.us-east")
    add_host("gpu-2.us-east")
    add_host("gpu-1.eu-central", region="eu-central", nodes=2, gpus_per_node=2)
    with db.transaction() as session:
        hosts.set_status(session, "gpu-2.us-east", "maintenance")
    page = console.open()
    assert page.is_visible("#login-form") and not page.query_selector("#capacity")
    console.shoot("login")

    console.log_in_as_admin(admin_token)
    expect(page.locator(GPU_BOX)).to_have_count(20)
    assert page.locator("#capacity .region").count() == 2
    assert page.locator("#capacity .host").count() == 3
    us_east = page.locator('#capacity .region[data-region="us-east"]')
    assert us_east.locator(".gpu").count() == 16
    assert "16 GPUs · 0 allocated · 16 free" in us_east.locator(".region-head").inner_text()
    assert us_east.locator('.region-sellable dd[data-plan="g1-gpu-rtx6000-1"]').inner_text() == "8"
    drained = page.locator('#capacity .host[data-host="gpu-2.us-east"]')
    assert drained.get_attribute("data-status") == "maintenance"
    assert "inactive" in drained.get_attribute("class")
    assert drained.locator('.gpu[data-state="unavailable"]').count() == 8
    assert page.locator('#capacity .gpu[data-state="free"]').count() == 12
    assert page.locator('#capacity .host[data-host="gpu-1.us-east"] .numa').count() == 2
    console.shoot("capacity")

    # The token went into a JSON body once: not in the URL, not in page storage; the
    # session is an HttpOnly, SameSite=Strict cookie.
    assert admin_token not in page.url
    stored = page.evaluate("JSON.stringify([localStorage, sessionStorage])")
    assert admin_token not in stored
    (cookie,) = console.context.cookies(live_server.url)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert admin_token not in cookie["value"]

    # It polls: a host registered now shows up without a reload.
    add_host("gpu-3.us-east")
    expect(page.locator(GPU_BOX)).to_have_count(28, timeout=8000)
    console.shoot("capacity-after-new-host")


def test_tagging_an_account_employee_grants_it_the_gpu_plans(
    console, live_server, make_account, admin_token
):
    account_id, headers = make_account(email="gpu-tester@example.com")
    make_account(email="someone-else@example.com")
    assert gpu_plan_ids(live_server.url, headers) == []

    console.log_in_as_admin(admin_token)
    page = console.page
    console.tab("accounts")
    page.fill("#account-query", "gpu-tester")
    page.press("#account-query", "Enter")
    row = page.locator(f'#accounts-table tr[data-account="{account_id}"]')
    row.wait_for()
    expect(page.locator("#accounts-table tbody tr")).to_have_count(1)
    assert "gpu-tester@example.com" in row.inner_text()
    console.shoot("search")

    row.locator('button[data-action="tag-employee"]').click()
    row.locator('.chip[data-tag="employee"]').wait_for()
    console.shoot("tagged")
    expected = ["g1-gpu-rtx6000-1", "g1-gpu-rtx6000-2", "g1-gpu-rtx6000-3", "g1-gpu-rtx6000-4"]
    wait_until(lambda: gpu_plan_ids(live_server.url, headers) == expected, what="GPU plans")

    # Searching by id finds it too; removing the tag takes the plans away again.
    page.evaluate("document.querySelectorAll('#accounts-table tbody tr')"
                  ".forEach((tr) => { tr.dataset.stale = '1'; })")  # fmt: skip
    page.fill("#account-query", str(account_id))
    page.press("#account-query", "Enter")
    page.locator(f'#accounts-table tr[data-account="{account_id}"]:not([data-stale])').wait_for()
    row.locator('button[data-action="untag-employee"]').click()
    row.locator('button[data-action="tag-employee"]').wait_for()
    assert row.locator('.chip[data-tag="employee"]').count() == 0
    wait_until(lambda: gpu_plan_ids(live_server.url, headers) == [], what="GPU plans gone")
    console.shoot("untagged")


def test_one_button_brings_a_gpu_instance_up_to_running(
    console, live_server, db, gpu_hosts, make_account, admin_token
):
    account_id, _ = make_account(email="one-button@example.com")
    with FakeAgent(db, live_server.url) as agent:
        console.log_in_as_admin(admin_token)
        page = console.page
        console.tab("accounts")
        page.fill("#account-query", "one-button")
        page.press("#account-query", "Enter")
        row = page.locator(f'#accounts-table tr[data-account="{account_id}"]')
        row.locator('button[data-action="bring-up"]').click()
        page.wait_for_selector("#tab-bringup:not([hidden])")
        expect(page.locator("#bringup-plan")).to_have_value("g1-gpu-rtx6000-1")
        expect(page.locator("#bringup-region")).to_have_value("us-east")
        assert page.input_value("#bringup-account") == str(account_id)
        console.shoot("form")

        page.click("#bringup-submit")
        page.locator("#bringup-result:not([hidden])").wait_for()
        root_pass = page.inner_text("#root-pass").strip()
        assert len(root_pass) >= 16
        instance_id = int(page.get_attribute("#bringup-result", "data-instance"))
        page.locator('#instance-outcome[data-outcome="running"]').wait_for(timeout=20_000)
        assert page.inner_text("#instance-status") == "running"
        assert page.inner_text("#instance-host") in gpu_hosts
        console.shoot("running")
        assert agent.errors == []
        assert [action for _, action, _ in agent.done] == ["create"]

    view = requests.get(
        f"{live_server.url}/admin/instances/{instance_id}",
        headers={"Authorization": f"Bearer {admin_token}"}, timeout=10,
    ).json()  # fmt: skip
    assert view["status"] == "running" and view["account_id"] == account_id
    assert root_pass not in json.dumps(view)  # shown once, on the page only

    console.tab("capacity")
    mine = page.locator(f'#capacity .gpu[data-instance="{instance_id}"]')
    mine.first.wait_for()
    assert mine.count() == 1
    assert mine.get_attribute("data-state") == "allocated"
    assert mine.get_attribute("data-account") == str(account_id)
    assert f"#{instance_id}" in mine.inner_text() and f"acct {account_id}" in mine.inner_text()
    assert page.locator('#capacity .gpu[data-state="allocated"]').count() == 1
    console.shoot("capacity-allocated")


def test_flipping_the_launch_flag_from_the_page_is_audited(console, admin_token):
    console.log_in_as_admin(admin_token)
    page = console.page
    whoami = page.inner_text("#whoami")
    console.tab("flags")
    row = page.locator(f'#flags-table tr[data-flag="{LAUNCH_FLAG}"]')
    row.wait_for()
    assert row.get_attribute("data-enabled") == "false"
    environment = page.inner_text("#flags-environment")
    assert environment
    console.shoot("before")

    dialogs = []

    def answer(accept):
        def handle(dialog):
            dialogs.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    # Cancelled: nothing changes.
    page.once("dialog", answer(False))
    row.locator('button[data-action="enable"]').click()
    assert dialogs and row.get_attribute("data-enabled") == "false"
    assert page.locator(f'#audit-table tr[data-flag="{LAUNCH_FLAG}"]').count() == 0

    # Confirmed: the flag is on and the audit shows who did it.
    page.once("dialog", answer(True))
    row.locator('button[data-action="enable"]').click()
    page.locator(f'#flags-table tr[data-flag="{LAUNCH_FLAG}"][data-enabled="true"]').wait_for()
    assert LAUNCH_FLAG in dialogs[-1] and environment in dialogs[-1]
    entry = page.locator(f'#audit-table tr[data-flag="{LAUNCH_FLAG}"]')
    entry.wait_for()
    assert entry.count() == 1
    assert entry.locator(".actor").inner_text() == whoami
    assert "off → on" in entry.inner_text() and environment in entry.inner_text()
    console.shoot("launched")

    # Roll back: a second audit entry, newest first.
    page.once("dialog", answer(True))
    row.locator('button[data-action="disable"]').click()
    page.locator(f'#flags-table tr[data-flag="{LAUNCH_FLAG}"][data-enabled="false"]').wait_for()
    expect(page.locator(f'#audit-table tr[data-flag="{LAUNCH_FLAG}"]')).to_have_count(2)
    assert "on → off" in entry.first.inner_text()
    assert "Roll back" in dialogs[-1] and LAUNCH_FLAG in dialogs[-1]
    console.shoot("rolled-back")


def test_a_customer_token_cannot_open_the_console(
    console, live_server, db, gpu_hosts, make_account
):
    _, headers = make_account()
    customer_token = headers["Authorization"].split()[1]
    with db.transaction() as session:
        host_token = tokens.create(session, host="gpu-1.us-east")

    for token in (customer_token, host_token, "not-a-token"):
        console.log_in(token)
        error = console.page.locator("#login-error")
        error.wait_for()
        assert "not an admin token" in error.inner_text()
        assert console.page.query_selector("#capacity") is None
        assert console.context.cookies(live_server.url) == []
    console.shoot("refused")

    # Reloaded, or sent straight to a tab: still only the login form.
    console.open("capacity")
    assert console.page.is_visible("#login-form")
    assert console.page.query_selector("#tab-capacity") is None
    status = console.page.evaluate("fetch('/admin/capacity').then(r => r.status)")
    assert status == 401
    console.shoot("no-session")

    base = live_server.url
    refused = requests.post(f"{base}/admin/session", json={"token": customer_token}, timeout=10)
    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers
    for path in ("/admin/capacity", "/admin/flags", "/admin/flags/audit", "/admin/accounts",
                 "/admin/hosts", "/admin/session"):  # fmt: skip
        for auth in (headers, {}):
            answer = requests.get(base + path, headers=auth, timeout=10)
            if path == "/admin/session":  # says "not signed in", with no data
                assert answer.json() == {"authenticated": False, "csrf_token": None}
            else:
                assert answer.status_code == 401, (path, auth, answer.status_code)
    body = {"type": "g1-gpu-rtx6000-1", "region": "us-east"}
    made = requests.post(
        f"{base}/admin/accounts/1/gpu-instances", headers=headers, json=body, timeout=10
    )
    assert made.status_code == 401


def test_console_fits_a_narrow_window(console, add_host, admin_token):
    add_host("gpu-1.us-east")
    console.page.set_viewport_size({"width": 390, "height": 844})
    console.log_in_as_admin(admin_token)
    page = console.page
    expect(page.locator(GPU_BOX)).to_have_count(8)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    console.shoot("capacity")
    for tab in ("flags", "accounts", "bringup"):
        console.tab(tab)
        assert page.evaluate(overflow) <= 0, tab
        console.shoot(tab)
