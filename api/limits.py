"""Rate limits: per API key, or per client address without one, over every endpoint.

Counted in fixed windows by the limits library, in memory (one count per worker process)
unless RATELIMIT_STORAGE_URI names a shared store such as redis://127.0.0.1:6379, which every
worker and every machine then shares. While that store fails, each worker counts in memory,
tries the store again after 1, 2, 4 ... 32 s, and logs the outage as it begins and as it ends.
"""

import logging
import threading
import time
from collections.abc import Mapping

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from limits.util import WindowStats
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.exceptions import TooManyRequests

from api import auth
from api.endpoints import health

log = logging.getLogger(__name__)

POLICIES = ("anonymous", "key")  # RATE_LIMIT_ANONYMOUS, RATE_LIMIT_KEY
EXTENSION = "rate_limits"  # an app's Quotas in app.extensions; None with RATELIMIT_ENABLED off

# Seconds between two sweeps of the counts in memory (SweptMemoryStorage).
SWEEP_SECONDS = 1.0
# Seconds before a failing store is tried again: the first wait, doubled after each try, up to
# the last.
FIRST_RETRY = 1.0
LAST_RETRY = 32.0


class SweptMemoryStorage(MemoryStorage):
    """limits' store in memory (memory://), sweeping out expired counts at most once a second,
    as it counts.

    limits' own starts a thread to sweep 10 ms after a count when none is running: under
    steady traffic a thread every 10 ms, which cost a read more than the rest of its work
    when the read is cached (api/caching.py). A count expires on time whatever the sweep
    (reading it drops it once expired); the sweep frees the memory of callers gone quiet.
    """

    STORAGE_SCHEME = ["memory"]  # limits makes memory:// stores of the last class to claim it

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._swept = time.monotonic()
        self._sweeping = threading.Lock()

    # In place of limits' own, by its name: limits has no setting to keep its thread away.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._swept < SWEEP_SECONDS or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # limits' sweep
        finally:
            self._sweeping.release()


class FixedWindow(FixedWindowRateLimiter):
    """limits' fixed window (as flask-limiter counted), counting a request and telling where its
    caller then stands in one go: hit() keeps the count the store returns to itself, and
    get_window_stats() would ask the store for it again."""

    def count(self, item: RateLimitItem, caller: str) -> tuple[bool, WindowStats]:
        """Count a request of `caller` against `item`: whether it is within the limit, and
        when the window ends and how many requests it has left."""
        key = item.key_for(caller)
        counted = self.storage.incr(key, item.get_expiry())
        left = max(0, item.amount - counted)
        return counted <= item.amount, WindowStats(self.storage.get_expiry(key), left)


class Quotas:
    """An app's limits, parsed once, and the stores it counts them in."""

    def __init__(self, config: Mapping) -> None:
        # Shortest window first: that is the one a caller within all of them is told of.
        self.limits = {
            policy: sorted(parse_many(config[f"RATE_LIMIT_{policy.upper()}"]))
            for policy in POLICIES
        }
        uri, options = config["RATELIMIT_STORAGE_URI"], config["RATELIMIT_STORAGE_OPTIONS"]
        self.store = FixedWindow(storage_from_string(uri, **options))
        self.memory = FixedWindow(SweptMemoryStorage())  # while the store fails

    def count(self, policy: str, caller: str) -> tuple[RateLimitItem, bool, WindowStats]:
        """Count a request against each of the policy's limits until one is exceeded: the
        limit to tell the caller of (the exceeded one, or else the first), whether the
        request is within it, and where the caller stands."""
        if outage.due():
            try:
                stand = self._count(self.store, policy, caller)
            except StorageError as error:
                outage.failed(error)
            else:
                outage.ended()
                return stand
        outage.counted_in_memory()
        return self._count(self.memory, policy, caller)

    def _count(self, window: FixedWindow, policy: str, caller: str):
        told = None
        for item in self.limits[policy]:
            within, stats = window.count(item, caller)
            if not within:
                return item, within, stats
            told = told or (item, within, stats)
        return told

    def reset(self) -> None:
        self.store.storage.reset()
        self.memory.storage.reset()


def init_app(app: Flask) -> None:
    """Count the app's requests, reaching the shared store within RATELIMIT_STORAGE_TIMEOUT,
    then refuse those auth found wanting: a refused request counts too, else bad keys could
    be tried without end. Tell every client where it stands.

    Called again, it reads the app's settings afresh and counts from zero, adding no hook."""
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", storage_options(app.config["RATELIMIT_STORAGE_TIMEOUT"])
    )
    wired = EXTENSION in app.extensions
    app.extensions[EXTENSION] = Quotas(app.config) if app.config["RATELIMIT_ENABLED"] else None
    if not wired:
        app.before_request(count)
        app.before_request(auth.refuse)
        app.after_request(add_headers)


def reset(app: Flask) -> None:
    """Forget every count of the app's callers (in a shared store too)."""
    if quotas := app.extensions.get(EXTENSION):
        quotas.reset()


def storage_options(timeout: float) -> dict:
    """What the store's client is made with (the memory store ignores them)."""
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        # One attempt, whatever client limits makes: redis-py's Redis() defaults to 3 retries
        # backing off up to 10 s each, which would make a silent store cost each request
        # several timeouts and pauses.
        "retry": Retry(NoBackoff(), 0),
        # The store's failures arrive as limits' StorageError, which starts an outage.
        "wrap_exceptions": True,
    }


def count() -> None:
    """Count the request against its caller's quota, and refuse it once that is spent."""
    quotas = current_app.extensions[EXTENSION]
    # Probes come often, from one address, and must answer while the store hangs. A path or
    # method the API lacks (404, 405) has no endpoint, and costs next to nothing.
    if quotas is None or request.endpoint is None or request.blueprint == health.blp.name:
        return
    key = g.get("api_key")
    if key:
        policy, caller = "key", f"key:{key.identifier}"
    else:
        policy, caller = "anonymous", f"address:{request.remote_addr or '127.0.0.1'}"
    item, within, stats = quotas.count(policy, caller)
    g.rate_limit = (policy, item, stats)
    if not within:
        raise TooManyRequests(str(item))  # "3 per 1 minute", which api/errors.py words


def add_headers(response):
    """Tell the client where it stands: RateLimit and RateLimit-Policy (the IETF httpapi
    draft's structured fields), and Retry-After on a 429."""
    stand = g.get("rate_limit")
    if stand is None:
        return response
    policy, item, stats = stand
    wait = max(0, int(stats.reset_time + 1) - int(time.time()))
    response.headers["RateLimit-Policy"] = f'"{policy}";q={item.amount};w={item.get_expiry()}'
    response.headers["RateLimit"] = f'"{policy}";r={stats.remaining};t={wait}'
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(wait, 1))
    return response


class StorageOutage:
    """A worker's view of the shared store: while it fails, which requests try it again, and
    the log of the outage, twice whatever the traffic: its first failure with the cause, and
    its return with how many requests this worker counted in memory meanwhile.

    After the first failure one request tries the store again after 1 s, then 2, 4 ... 32 s
    and every 32 s, each waiting at most RATELIMIT_STORAGE_TIMEOUT on it; the others count
    in memory, and so do those that were waiting on the store as it failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a worker's threads fail together
        self._since: float | None = None  # when the current outage began
        self._next_try = 0.0
        self._wait = FIRST_RETRY
        self._in_memory = 0

    @property
    def failing(self) -> bool:
        """Whether the store failed and has not answered since."""
        return self._since is not None

    def due(self) -> bool:
        """Whether this request is to be counted in the store: always while it answers, and
        while it fails, once each retry is due (for one request)."""
        if self._since is None:
            return True
        now = time.monotonic()
        with self._lock:
            if self._since is None:
                return True
            if now < self._next_try:
                return False
            self._next_try = now + self._wait
            self._wait = min(2 * self._wait, LAST_RETRY)
            return True

    def failed(self, error: StorageError) -> None:
        with self._lock:
            first = self._since is None
            if first:
                self._since = time.monotonic()
                self._next_try = self._since + FIRST_RETRY
                self._wait = 2 * FIRST_RETRY
        if first:
            cause = f"{type(error.storage_error).__name__}: {error.storage_error}"
            log.warning(
                "Rate limit storage failed (%s): this worker counts in memory until it answers",
                cause,
                extra={"cause": cause},
            )

    def counted_in_memory(self) -> None:
        with self._lock:
            self._in_memory += 1

    def ended(self) -> None:
        """The store answered."""
        if self._since is None:
            return
        with self._lock:
            since, in_memory = self._since, self._in_memory
            self._since, self._in_memory = None, 0
        if since is None:
            return
        seconds = time.monotonic() - since
        # As loud as the failure: whoever saw that line sees this one.
        log.warning(
            "Rate limit storage answers again after %.1f s; this worker counted %d requests "
            "in memory meanwhile",
            seconds,
            in_memory,
            extra={"outage_seconds": round(seconds, 3), "counted_in_memory": in_memory},
        )


outage = StorageOutage()  # one per process: gunicorn runs one app per worker
