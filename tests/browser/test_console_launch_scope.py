"""A launch, region by region, from the console's flags tab (headless Chromium, live server).

The API's semantics are in tests/api/test_launch_regions.py; here a release manager opens
regions, is refused a region with nothing to sell and forces it, sets a rollout and closes
regions, each asked for and each audited with what it changed.
"""

import pytest
import requests

from cloudapi.services.demo_hosts import RTX4000_ADA

try:
    from playwright.sync_api import expect
except ImportError:  # the `playwright` fixture skips (or fails under REQUIRE_SERVICES)
    expect = None

pytestmark = pytest.mark.slow

LAUNCH = "gpu-rtx4000-ada-launch"
EARLY_ACCESS = "gpu-rtx4000-ada-early-access"


class Dialogs:
    """Answers the page's next confirm() and keeps what it asked."""

    def __init__(self, page):
        self.page = page
        self.asked = []

    def answer(self, accept=True):
        def handle(dialog):
            self.asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        self.page.once("dialog", handle)

    @property
    def last(self):
        return self.asked[-1]


def flag_row(page, name, **state):
    """The flag's row; with `state` (enabled, regions, rollout), only once it shows that."""
    wanted = "".join(f'[data-{key}="{value}"]' for key, value in state.items())
    row = page.locator(f'#flags-table tr[data-flag="{name}"]{wanted}')
    row.wait_for()
    return row


def audit_changes(page):
    return page.locator(f'#audit-table tr[data-flag="{LAUNCH}"] .change').all_inner_texts()


@pytest.fixture
def ada_hosts(add_host):
    """RTX 4000 Ada hosts in Chicago only; Newark has RTX 6000s, nothing the launch sells."""
    return [add_host("ada-1.us-ord", "us-ord", gpu=RTX4000_ADA), add_host("gpu-1.us-east")]


@pytest.fixture
def flags_tab(console, admin_token):
    console.log_in_as_admin(admin_token)
    console.tab("flags")
    return console.page


def test_a_launch_region_by_region_from_the_console(
    console, flags_tab, live_server, ada_hosts, admin_token
):
    page = flags_tab
    dialogs = Dialogs(page)
    environment = page.inner_text("#flags-environment")
    row = flag_row(page, LAUNCH, enabled="false", regions="everywhere")
    assert row.locator(".scope-summary").inner_text() == "off"
    row.locator(".scope-controls summary").click()

    # Open Chicago: the flag, off until now, is on there only.
    row.locator(".region-select").select_option("us-ord")
    dialogs.answer(accept=False)
    row.locator('button[data-action="open-region"]').click()
    assert "us-ord" in dialogs.last and LAUNCH in dialogs.last and environment in dialogs.last
    assert "goes ON in us-ord only" in dialogs.last
    dialogs.answer()
    row.locator('button[data-action="open-region"]').click()
    row = flag_row(page, LAUNCH, enabled="true", regions="us-ord")
    assert row.locator(".scope-summary").inner_text() == "on in us-ord"
    expect(page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]')).to_have_count(1)
    entry = page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]').first
    assert entry.locator(".change").inner_text() == "regions: everywhere -> us-ord"
    assert "off → on" in entry.inner_text()
    assert "regions: everywhere -> us-ord" in page.inner_text("#notice")
    console.shoot("us-ord-open")

    # Newark has no RTX 4000 Ada hosts: refused, with the capacity table; nothing flipped.
    assert row.locator(".region-select option[value='us-ord']").count() == 0  # open already
    row.locator(".region-select").select_option("us-east")
    dialogs.answer()
    row.locator('button[data-action="open-region"]').click()
    refusal = page.locator("#flag-refusal")
    expect(refusal).to_be_visible()
    reason = page.inner_text("#flag-refusal-reason")
    assert "No sellable capacity for gpu-rtx4000-ada in us-east" in reason
    table = page.inner_text("#flag-refusal-table").splitlines()
    assert table[0].split()[0] == "region" and "g2-gpu-rtx4000a1-s" in table[0]
    assert table[1].split() == ["us-east"] + ["0"] * (len(table[0].split()) - 1)
    assert page.get_attribute("#notice", "data-kind") == "error"
    flag_row(page, LAUNCH, enabled="true", regions="us-ord")
    assert audit_changes(page) == ["regions: everywhere -> us-ord"]
    console.shoot("us-east-refused")

    # Force it: asked once more (cancelling changes nothing), then opened and audited.
    dialogs.answer(accept=False)
    page.click("#flag-refusal-force")
    assert dialogs.last.startswith("FORCE") and "us-east" in dialogs.last
    expect(refusal).to_be_visible()
    dialogs.answer()
    page.click("#flag-refusal-force")
    row = flag_row(page, LAUNCH, regions="us-east,us-ord")
    expect(refusal).to_be_hidden()
    assert row.locator(".scope-summary").inner_text() == "on in us-east, us-ord"
    expect(page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]')).to_have_count(2)
    assert audit_changes(page)[0] == "regions: us-ord -> us-east,us-ord"

    # 30% of accounts, in the regions it is open in.
    row.locator(".rollout-input").fill("30")
    dialogs.answer()
    row.locator('button[data-action="set-rollout"]').click()
    assert "30%" in dialogs.last and LAUNCH in dialogs.last
    row = flag_row(page, LAUNCH, regions="us-east,us-ord", rollout="30")
    assert row.locator(".scope-summary").inner_text() == "on in us-east, us-ord · rollout 30%"
    expect(page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]')).to_have_count(3)
    assert audit_changes(page)[0] == "rollout: 100 -> 30%"
    console.shoot("rollout-30")

    # Close Newark, then Chicago: the last region closed turns the flag off.
    dialogs.answer()
    row.locator('button[data-action="close-region"][data-region="us-east"]').click()
    assert "Close region us-east" in dialogs.last and "last region" not in dialogs.last
    row = flag_row(page, LAUNCH, enabled="true", regions="us-ord")
    assert row.locator(".scope-summary").inner_text() == "on in us-ord · rollout 30%"
    expect(page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]')).to_have_count(4)
    assert audit_changes(page)[0] == "regions: us-east,us-ord -> us-ord"

    dialogs.answer()
    row.locator('button[data-action="close-region"][data-region="us-ord"]').click()
    assert "last region" in dialogs.last
    row = flag_row(page, LAUNCH, enabled="false", regions="everywhere")
    expect(page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]')).to_have_count(5)
    assert audit_changes(page)[0] == "regions: us-ord -> everywhere"
    assert "on → off" in page.locator(f'#audit-table tr[data-flag="{LAUNCH}"]').first.inner_text()
    console.shoot("closed")

    # The API agrees with the page.
    listed = requests.get(f"{live_server.url}/admin/flags", timeout=10,
                          headers={"Authorization": f"Bearer {admin_token}"}).json()  # fmt: skip
    (flag,) = [f for f in listed["data"] if f["name"] == LAUNCH]
    assert (flag["enabled"], flag["regions"], flag["rollout"]) == (False, None, 30)


def test_a_flag_that_is_not_a_launch_takes_no_scope(console, flags_tab):
    page = flags_tab
    dialogs = Dialogs(page)
    row = flag_row(page, EARLY_ACCESS, enabled="true")
    assert row.locator(".scope-summary").inner_text() == "on everywhere"
    row.locator(".scope-controls summary").click()
    row.locator(".rollout-input").fill("10")
    dialogs.answer()
    row.locator('button[data-action="set-rollout"]').click()
    expect(page.locator('#notice[data-kind="error"]')).to_contain_text("is not a launch flag")
    expect(page.locator("#flag-refusal")).to_be_hidden()
    flag_row(page, EARLY_ACCESS, enabled="true", rollout="")
    expect(page.locator("#audit-table tbody tr")).to_have_count(1)  # "No flips yet."
    assert page.inner_text("#audit-table tbody") == "No flips yet."
