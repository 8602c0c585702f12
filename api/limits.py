"""Rate limits: per API key, or per client address without one, over every endpoint.

flask-limiter counts requests in memory (one count per worker process) unless
RATELIMIT_STORAGE_URI names a shared store such as redis://127.0.0.1:6379, which every
worker and every machine then shares. While that store fails, each worker counts in memory
(flask-limiter's fallback), and the log says so once per outage.
"""

import logging
import sys
import threading
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.errors import StorageError
from limits.storage import MemoryStorage
from redis.backoff import NoBackoff
from redis.retry import Retry

from api import auth
from api.endpoints import health

# flask-limiter's line when its fallback finds the store answering again.
RECOVERED = "Rate limit storage recovered"

log = logging.getLogger(__name__)


def _caller() -> str:
    key = g.get("api_key")
    return f"key:{key.identifier}" if key else f"address:{get_remote_address()}"


def _policy() -> str:
    return "key" if g.get("api_key") else "anonymous"


def _limit() -> str:
    return current_app.config[f"RATE_LIMIT_{_policy().upper()}"]


# Seconds between two sweeps of the counts in memory (SweptMemoryStorage).
SWEEP_SECONDS = 1.0


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

    def _MemoryStorage__schedule_expiry(self) -> None:  # in place of limits' own, by its name
        now = time.monotonic()
        if now - self._swept < SWEEP_SECONDS or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # limits' sweep
        finally:
            self._sweeping.release()


# One limiter for the process: gunicorn runs one app per worker.
limiter = Limiter(key_func=_caller, application_limits=[_limit], headers_enabled=False)


@limiter.request_filter
def _is_probe() -> bool:
    # Probes come often, from one address, and must answer while the store hangs: unlike
    # exempt(), a filter spares them even flask-limiter's tries of a store that failed.
    return request.blueprint == health.blp.name


def init_app(app: Flask) -> None:
    """Count the app's requests, reaching the shared store within RATELIMIT_STORAGE_TIMEOUT,
    then refuse those auth found wanting: a refused request counts too, else bad keys could
    be tried without end. Tell every client where it stands."""
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", storage_options(app.config["RATELIMIT_STORAGE_TIMEOUT"])
    )
    limiter.init_app(app)
    app.before_request(auth.refuse)
    app.after_request(add_headers)


def storage_options(timeout: float) -> dict:
    """What the store's client is made with (the memory store ignores them)."""
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        # One attempt, whatever client limits makes: redis-py's Redis() defaults to 3 retries
        # backing off up to 10 s each, which would make a silent store cost each request
        # several timeouts and pauses.
        "retry": Retry(NoBackoff(), 0),
        # The store's failures arrive as limits' StorageError: the outage log knows them so.
        "wrap_exceptions": True,
    }


def add_headers(response):
    """Tell the client where it stands: RateLimit and RateLimit-Policy (the IETF httpapi
    draft's structured fields), and Retry-After on a 429."""
    current = limiter.current_limit
    if current is None:
        return response
    try:
        reset_at, remaining = current.reset_at, current.remaining
    except StorageError:
        return response  # the store failed since it counted this request; the next one says so
    wait = max(0, reset_at - int(time.time()))
    name = _policy()
    quota = f'"{name}";q={current.limit.amount};w={current.limit.get_expiry()}'
    response.headers["RateLimit-Policy"] = quota
    response.headers["RateLimit"] = f'"{name}";r={remaining};t={wait}'
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(wait, 1))
    return response


class StorageOutage(logging.Filter):
    """Puts what flask-limiter logs into the service's log (under gunicorn its own logger
    reaches nothing), and a failing store there twice per outage rather than once per
    request: its first failure with the cause, and its return with how many requests passed
    uncounted meanwhile.

    At the first failure flask-limiter counts in memory instead, and tries the store again
    after 1, 2, 4 ... 32 s; the requests already waiting on the store then pass uncounted
    (its "Swallowing error", each with a traceback)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()  # a worker's threads fail together
        self._since: float | None = None  # when the current outage began
        self._uncounted = 0

    @property
    def failing(self) -> bool:
        """Whether the store failed and has not answered since."""
        return self._since is not None

    def filter(self, record: logging.LogRecord) -> bool:
        # Its warning that it falls back is logged while it handles the error, without it.
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if isinstance(error, StorageError):
            self._failed(error, uncounted=record.exc_info is not None)
        elif record.getMessage() == RECOVERED:
            self._recovered()
        elif record.levelno >= logging.WARNING and log.isEnabledFor(record.levelno):
            log.handle(record)  # anything else it could not do, as it said it
        else:
            return True  # its info lines (one per 429) stay out of the service's log
        return False

    def _failed(self, error: StorageError, uncounted: bool) -> None:
        with self._lock:
            first = self._since is None
            if first:
                self._since = time.monotonic()
            self._uncounted += uncounted
        if first:
            cause = f"{type(error.storage_error).__name__}: {error.storage_error}"
            log.warning(
                "Rate limit storage failed (%s): this worker counts in memory until it answers",
                cause,
                extra={"cause": cause},
            )

    def _recovered(self) -> None:
        with self._lock:
            since, uncounted = self._since, self._uncounted
            self._since, self._uncounted = None, 0
        if since is None:
            return
        seconds = time.monotonic() - since
        # As loud as the failure: whoever saw that line sees this one.
        log.warning(
            "Rate limit storage answers again after %.1f s; %d requests passed uncounted",
            seconds,
            uncounted,
            extra={"outage_seconds": round(seconds, 3), "uncounted": uncounted},
        )


outage = StorageOutage()
limiter.logger.addFilter(outage)
# Its records would stop at the root logger's level (warning) before the filter, and the
# store's return is logged as info.
limiter.logger.setLevel(logging.INFO)
