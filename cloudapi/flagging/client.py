"""Feature flags in the app: a small Flask extension over UnleashClient.

Evaluation is local (no network call per request). Without UNLEASH_URL the flags come
from flags/ and the database (the embedded default); with it, the SDK starts from flags/
and then polls the server, in a background thread so that a refused, hanging or
401-answering server never holds up start-up. A flag the SDK does not know is off.

A change made by another process (a flip, an account's tags or betas) is learnt by the
process's flag watcher (watch.py) in well under a second: it reloads the embedded state
into the SDK and forgets the memo below, so no request reads flag state from the database.
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
from cloudapi.flagging.evaluation import LaunchEvaluator
from cloudapi.flagging.watch import FlagWatcher, listen_args

log = logging.getLogger(__name__)

MEMO_SECONDS = 0.5
MEMO_LIMIT = 50_000


class FeatureFlags:
    """Answers "which features does this caller have?" from Unleash flags."""

    def __init__(self, config, database, launches, region_ids=lambda: ()):
        self.config = config
        self.launches = launches
        self.environment = config["UNLEASH_ENVIRONMENT"]
        self.server_url = config["UNLEASH_URL"]
        # The version is read before the state it guards (watch.py): no change falls between.
        timeouts = (config.get("DATABASE_CONNECT_TIMEOUT", 3.0),
                    config.get("DATABASE_STATEMENT_TIMEOUT", 5.0))  # fmt: skip
        self.watcher = FlagWatcher(database, listen_args(database, *timeouts))
        self.watcher.prime()
        doc = definitions.load(config["FLAGS_FILE"])
        cache = BootstrapCache(doc) if self.server_url else LocalStateCache(doc, database)
        self.cache = cache
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
        self.evaluator = LaunchEvaluator(self.client, cache.current, launches, region_ids)
        self._memo = {}
        self._starter = threading.Thread(target=self._start, name="unleash-start", daemon=True)
        self._starter.start()
        if not self.server_url:  # a server's flips come with the SDK's next poll
            self.watcher.subscribe(self._reload)
        self.watcher.subscribe(self.forget)
        self.watcher.start()

    def _start(self):
        try:
            self.client.initialize_client(fetch_toggles=bool(self.server_url))
        except Exception:
            log.warning("Unleash client did not start; serving flags from flags/", exc_info=True)

    def wait_started(self, timeout=5):
        """Wait for the first fetch from the server (or its failure); for one-shot tools."""
        self._starter.join(timeout=timeout)

    def is_enabled(self, flag, principal, region=None):
        return self.client.is_enabled(str(flag), context_for(principal, region))

    def features_for(self, principal):
        """The caller's features, remembered for MEMO_SECONDS per distinct context.

        One SDK evaluation costs tens of microseconds (context copy, JSON, FFI); an
        account making many requests would pay it on each. The memo key is everything the
        context holds (account, tags, betas), so a new tag or enrollment is a new key and
        takes effect on the next request. A flip empties the memo (`forget`, called by the
        watcher once the SDK has the new state); MEMO_SECONDS only bounds what no flip
        announces (the catalog's regions, for a flag scoped to every region).
        """
        key = None
        if principal is not None:
            key = (principal.account_id, principal.tags, principal.betas)
        now = time.monotonic()
        memo = self._memo  # taken first: an answer found while `forget` runs is dropped
        hit = memo.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        found = self.evaluate(principal)
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = (found, now + MEMO_SECONDS)
        return found

    def forget(self):
        """Forget every remembered answer: the next request of each context evaluates anew.

        A new dict rather than clear(): a request evaluating against the old SDK state
        while this runs stores its answer in the dict it started with, which nobody reads.
        """
        self._memo = {}

    def _reload(self):
        """The watcher saw a change: re-read the stored state and make the SDK take it now.

        The SDK would take it by itself on its next reload (each refresh interval, from the
        same cache); `_store.load_from_cache` is what that reload runs (UnleashClient 6.9).
        """
        self.cache.refresh()
        self.client._store.load_from_cache()

    def evaluate(self, principal):
        """The caller's features, evaluated now by the SDK (no memo)."""
        return self.evaluator.evaluate(principal)

    def shutdown(self):
        self.watcher.stop()
        self.wait_started()
        self.client.destroy()


def init_app(app):
    """Configure flags for `app`; FLAGS_ENABLED=False leaves every gated feature off."""
    if not app.config["FLAGS_ENABLED"]:
        return None
    catalog = app.extensions["cloudapi.catalog"]
    flags = FeatureFlags(
        app.config, app.extensions["cloudapi.db"], app.extensions["cloudapi.launches"],
        region_ids=lambda: tuple(catalog.snapshot().regions),
    )  # fmt: skip
    app.extensions["cloudapi.flags"] = flags
    app.extensions["cloudapi.features"] = flags
    app.extensions["cloudapi.flag_watcher"] = flags.watcher  # principals.py subscribes
    return flags
