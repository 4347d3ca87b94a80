"""Browser fixtures: the system Chromium, headless, driven by Playwright, on a live server.

Chromium is Debian's (/usr/bin/chromium, from bin/system-packages); Playwright never
downloads a browser here. Each test gets a fresh profile (user-data-dir) and a 1280x800
window; `console.shoot(step)` saves screenshots under $CLOUDAPI_SCREENSHOTS (default
artifacts/screenshots).
"""

import os
import re
from pathlib import Path

import pytest

from cloudapi.services import tokens
from tests.support.databases import missing_service

CHROMIUM = os.environ.get("CLOUDAPI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


def screenshots_dir():
    folder = Path(os.environ.get("CLOUDAPI_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def playwright():
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing_service("playwright is not installed (pip install -e '.[test]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing_service(f"Chromium not found at {CHROMIUM} (bin/system-packages installs it)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def browser_context(playwright, tmp_path):
    """A headless Chromium with a fresh profile; closed after the test."""
    try:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
        )
    except Exception as exc:
        missing_service(f"Chromium did not start: {str(exc).splitlines()[0]}")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


class Console:
    """A page on the live server's console, with the steps the tests share."""

    def __init__(self, context, base_url, test_name):
        self.context = context
        self.base_url = base_url
        self.page = context.pages[0] if context.pages else context.new_page()
        self.errors = []  # uncaught JS errors on the page
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self._prefix = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
        self.shots = []

    @property
    def url(self):
        return f"{self.base_url}/console/"

    def open(self, tab=None):
        self.page.goto(self.url + (f"#{tab}" if tab else ""))
        return self.page

    def log_in(self, token):
        self.open()
        self.page.fill("#login-token", token)
        self.page.click("#login-submit")

    def log_in_as_admin(self, token):
        self.log_in(token)
        self.page.wait_for_selector("#tab-capacity:not([hidden])")

    def tab(self, name):
        self.page.click(f"#tabbtn-{name}")
        self.page.wait_for_selector(f"#tab-{name}:not([hidden])")

    def shoot(self, step, full_page=True):
        path = screenshots_dir() / f"{self._prefix}-{step}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        return path


@pytest.fixture
def app(make_app):
    """The console over plain http (the live server): its cookie must not be Secure here."""
    return make_app(SESSION_COOKIE_SECURE=False)


@pytest.fixture
def console(browser_context, live_server, request):
    made = Console(browser_context, live_server.url, request.node.name)
    yield made
    assert not made.errors, f"JavaScript errors on the page: {made.errors}"


@pytest.fixture
def admin_token(db):
    with db.transaction() as session:
        return tokens.create(session, is_admin=True, label="browser test")
