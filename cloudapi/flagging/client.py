"""Feature flags in the app: a small Flask extension over UnleashClient.

Evaluation is local (no network call per request). Without UNLEASH_URL the flags come
from flags/ and the database (the embedded default); with it, the SDK starts from flags/
and then polls the server, in a background thread so that a refused, hanging or
401-answering server never holds up start-up. A flag the SDK does not know is off.
"""

import logging
import os
import socket
import threading
import time

from UnleashClient import UnleashClient
from UnleashClient.utils import InstanceAllowType

from cloudapi.flagging import definitions
from cloudapi.flagging.caches import BootstrapCache, LocalStateCache
from cloudapi.flagging.context import context_for
from cloudapi.flagging.names import FEATURE_FLAGS

log = logging.getLogger(__name__)

MEMO_SECONDS = 0.5
MEMO_LIMIT = 50_000


class FeatureFlags:
    """Answers "which features does this caller have?" from Unleash flags."""

    def __init__(self, config, database):
        self.config = config
        self.environment = config["UNLEASH_ENVIRONMENT"]
        self.server_url = config["UNLEASH_URL"]
        doc = definitions.load(config["FLAGS_FILE"])
        cache = BootstrapCache(doc) if self.server_url else LocalStateCache(doc, database)
        headers = {}
        if config["UNLEASH_API_TOKEN"]:
            headers["Authorization"] = config["UNLEASH_API_TOKEN"]
        self.client = UnleashClient(
            url=self.server_url or "http://unleash.invalid/api",
            app_name=config["UNLEASH_APP_NAME"],
            environment=self.environment,
            instance_id=f"{socket.gethostname()}-{os.getpid()}-{id(self):x}",
            refresh_interval=int(config["UNLEASH_REFRESH_INTERVAL"]),
            request_timeout=int(config["UNLEASH_REQUEST_TIMEOUT"]),
            request_retries=0,
            custom_headers=headers,
            cache=cache,
            disable_metrics=bool(config["UNLEASH_DISABLE_METRICS"]) or not self.server_url,
            disable_registration=not self.server_url,
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )
        self._memo = {}
        self._starter = threading.Thread(target=self._start, name="unleash-start", daemon=True)
        self._starter.start()

    def _start(self):
        try:
            self.client.initialize_client(fetch_toggles=bool(self.server_url))
        except Exception:
            log.warning("Unleash client did not start; serving flags from flags/", exc_info=True)

    def wait_started(self, timeout=5):
        """Wait for the first fetch from the server (or its failure); for one-shot tools."""
        self._starter.join(timeout=timeout)

    def is_enabled(self, flag, principal):
        return self.client.is_enabled(str(flag), context_for(principal))

    def features_for(self, principal):
        """The caller's features, remembered for MEMO_SECONDS per distinct context.

        One SDK evaluation costs tens of microseconds (context copy, JSON, FFI); an
        account making many requests would pay it on each. The memo key is everything the
        context holds (account, tags, betas), so a new tag or enrollment is a new key and
        takes effect on the next request; a flip reaches a remembered context at most
        MEMO_SECONDS later than the SDK sees it.
        """
        key = None
        if principal is not None:
            key = (principal.account_id, principal.tags, principal.betas)
        now = time.monotonic()
        hit = self._memo.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        found = self.evaluate(principal)
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = (found, now + MEMO_SECONDS)
        return found

    def evaluate(self, principal):
        """The caller's features, evaluated now by the SDK (no memo)."""
        context = context_for(principal)
        return frozenset(
            feature
            for feature, flags in FEATURE_FLAGS.items()
            if any(self.client.is_enabled(str(f), context) for f in flags)
        )

    def shutdown(self):
        self.wait_started()
        self.client.destroy()


def init_app(app):
    """Configure flags for `app`; FLAGS_ENABLED=False leaves every gated feature off."""
    if not app.config["FLAGS_ENABLED"]:
        return None
    flags = FeatureFlags(app.config, app.extensions["cloudapi.db"])
    app.extensions["cloudapi.flags"] = flags
    app.extensions["cloudapi.features"] = flags
    return flags
