"""Regenerate docs/capacity.png: the console's capacity page at 1280x800.

    .venv/bin/python -m tests.browser.capacity_png [OUT]

Builds a throwaway SQLite database with the demo's three GPU hosts, a few GPU instances
(brought up with the console's one button, then reported running) and one host draining,
serves the app on a loopback port and screenshots the page with the system Chromium.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from cloudapi import create_app
from cloudapi.services import accounts, console, hosts, jobs, tokens
from cloudapi.services.demo_hosts import DEMO_HOSTS, describe
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, ROOT, VIEWPORT
from tests.support.databases import migrate
from tests.support.live import LiveServer

PLANS = [  # (account email, plan, region)
    ("ada@example.com", "g1-gpu-rtx6000-2", "us-east"),
    ("grace@example.com", "g1-gpu-rtx6000-1", "us-east"),
    ("grace@example.com", "g1-gpu-rtx6000-4", "us-east"),
    ("linus@example.com", "g1-gpu-rtx6000-1", "eu-central"),
]


def seed(app):
    database = app.extensions["cloudapi.db"]
    with database.transaction() as session:
        for entry in DEMO_HOSTS:
            hosts.register(session, describe(*entry))
        ids = {}
        for email, _, _ in PLANS:
            if email not in ids:
                ids[email] = accounts.create(session, email, ()).id
        admin = tokens.create(session, is_admin=True, label="docs")
    catalog = app.extensions["cloudapi.catalog"]
    catalog.invalidate()
    for email, plan, region in PLANS:
        instance, _ = console.bring_up(
            database, catalog.snapshot(), ids[email], {"type": plan, "region": region}
        )
        _run_to_completion(database, instance.id)
    with database.transaction() as session:
        hosts.set_status(session, "gpu-2.us-east", "draining")
    return admin


def _run_to_completion(database, instance_id):
    from sqlalchemy import select

    from cloudapi.db.jobs import Job

    with database.reader() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance_id)).one()
        job_id, host = job.id, job.host
    jobs.progress(database, host, job_id, {"status": "started", "instance_status": "booting"})
    jobs.progress(database, host, job_id, {"status": "finished"})


def main(out):
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/docs.sqlite"
        migrate(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "docs", "RATE_LIMIT": "off",
                          "SESSION_COOKIE_SECURE": False})  # plain http  # fmt: skip
        admin = seed(app)
        with LiveServer(app) as server, sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                f"{tmp}/profile", executable_path=CHROMIUM, headless=True,
                args=CHROMIUM_FLAGS, viewport=VIEWPORT,
            )  # fmt: skip
            page = context.new_page()
            page.goto(f"{server.url}/console/")
            page.fill("#login-token", admin)
            page.click("#login-submit")
            expect(page.locator("#capacity .gpu")).to_have_count(24)
            page.screenshot(path=str(out))
            context.close()
        app.extensions["cloudapi.flags"].shutdown()
        app.extensions["cloudapi.db"].dispose()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "capacity.png")
