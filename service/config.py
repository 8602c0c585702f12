"""Settings: class defaults, then the environment, then the mapping the caller passes."""

import math
import os
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from limits import parse_many

from models.db import POOL_OPTIONS
from models.regions import AGGREGATES

DESCRIPTION = f"""\
Structured, sourced facts about industries: **events** (a launch, a policy announcement),
**statistics** (a measured value of an indicator for a region, segment and period) and
**targets** (what someone committed to reach, by when). Every fact cites a **source** and
may quote it verbatim. **Indicators** and **segments** are controlled vocabularies that
keep figures comparable.

* Periods are written `2025`, `2025-H1`, `2025-Q1`, `2025-03`, `2025-03-14` or as an ISO 8601
  interval, and returned in canonical form with their bounds and frequency.
* Regions are ISO 3166-1 alpha-2 codes or one of: {", ".join(sorted(AGGREGATES))}.
* Lists filter on every dimension (several values, comma-separated, mean any of them),
  sort with `sort=-period_start,value`, search with `q=`, and answer JSON, CSV or NDJSON
  (`format=` or `Accept`).
* Lists are paged with `page` and `page_size` (at most 1000), or with an opaque keyset
  `cursor` that keeps deep pages fast; see the `X-Pagination` and `Link` headers.
* `/v1/series` gives one series with transforms (change, yoy, share), also as CSV or SVG;
  `/v1/facts` puts events, statistics and targets on one timeline.
* Reads carry an `ETag`. Changing or deleting a record requires `If-Match` with it.
* Writes need an API key with `write` scope (`Authorization: Bearer ifk_...`; use the
  Authorize button). Reads are open, unless the service requires a key for them too: the
  operations that need a key show a padlock.
* Every error is an RFC 9457 `application/problem+json` document.
* Every response carries `X-Request-ID`: the caller's own (1 to 128 letters, digits and
  `._:-`) or a new one. Problem documents repeat it as `request_id`; quote it when asking
  about a failure.
"""


class Config:
    DATABASE_URL = None  # None: a SQLite file in the instance folder
    # Each gunicorn worker keeps its own pool: see README (Configuration) for sizing it.
    DATABASE_POOL_SIZE = POOL_OPTIONS["max_connections"]
    DATABASE_POOL_TIMEOUT = POOL_OPTIONS["timeout"]
    DATABASE_STALE_TIMEOUT = POOL_OPTIONS["stale_timeout"]
    MAX_CONTENT_LENGTH = 1024 * 1024
    READ_REQUIRES_KEY = False
    # Requests per caller (the limits library's notation); counted in memory per worker unless
    # RATELIMIT_STORAGE_URI names a shared store (redis://...).
    RATE_LIMIT_ANONYMOUS = "600 per minute"
    RATE_LIMIT_KEY = "6000 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    # Seconds to connect to the shared store, and to wait for each of its answers (without
    # retrying). Limits protect the service, and must not take it down: a request that finds
    # the store failing or silent waits this once, then counts in memory, as every request of
    # the worker does until the store answers again (api/limits.py), and the log says so.
    RATELIMIT_STORAGE_TIMEOUT = 0.2
    RATELIMIT_ENABLED = True
    IDEMPOTENCY_TTL_HOURS = 24
    IMPORT_MAX_BYTES = 64 * 1024 * 1024
    LOG_FORMAT = "text"
    LOG_LEVEL = "info"
    METRICS_ENABLED = True
    METRICS_TOKEN = None  # None: /metrics is open to whoever reaches it
    # How many proxies in front set X-Forwarded-For, -Proto, -Host and -Port. Trusted only
    # that far back: with none, a client could forge its address and escape its rate limit.
    TRUSTED_PROXIES = 0

    API_TITLE = "Industry Facts API"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"
    OPENAPI_SWAGGER_UI_CONFIG = {"deepLinking": True, "displayRequestDuration": True}
    OPENAPI_REDOC_PATH = "/redoc"
    OPENAPI_REDOC_URL = "/redoc/assets/redoc.standalone.js"
    API_SPEC_OPTIONS = {
        "info": {"description": DESCRIPTION, "license": {"name": "MIT", "identifier": "MIT"}},
    }


# The longest request line (method, path and query) and header field gunicorn takes; it answers
# a longer one itself with 414 or 431. Every request the spec allows fits
# (tests/service/test_serving.py computes the longest one from the committed spec): its list
# filters take 100 values each, and a list's query can run to some 160 kB. Bounded all the
# same, since gunicorn's Python parser reads a request line in time that grows with its square.
# Here, not in service/serving.py, because the spec documents them (api/errors.py).
LIMIT_REQUEST_LINE = 256 * 1024
LIMIT_REQUEST_FIELD_SIZE = 8190  # gunicorn's default: If-Match and the like are far shorter


class ConfigError(ValueError):
    """A setting the service cannot start with; the message names the variable and why."""


BOOLEANS = {"1": True, "true": True, "yes": True, "on": True}
BOOLEANS |= {"0": False, "false": False, "no": False, "off": False}
DATABASE_SCHEMES = {"sqlite", "postgresql", "postgres"}  # each also with +pool
# The stores the limits[redis] dependency can count in.
RATELIMIT_SCHEMES = {"memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"}
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


def boolean(text: str) -> bool:
    try:
        return BOOLEANS[text.strip().lower()]
    except KeyError:
        raise ValueError("not a boolean: use true or false (or 1/0, yes/no, on/off)") from None


def positive_int(text: str) -> int:
    return _whole_number(text, least=1)


def whole_number(text: str) -> int:
    return _whole_number(text, least=0)


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if value < least:
        raise ValueError(f"must be at least {least}")
    return value


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not 0 < value < math.inf:
        raise ValueError("must be a positive, finite number")
    return value


def port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise ValueError("not a port: use 1 to 65535")
    return value


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip().lower() not in choices:
            raise ValueError(f"use one of: {', '.join(choices)}")
        return text.strip().lower()

    return parse


def database_url(text: str) -> str:
    scheme, separator, rest = text.partition("://")
    if not separator or scheme.removesuffix("+pool") not in DATABASE_SCHEMES:
        raise ValueError("use sqlite:///path or postgresql://user@host:5432/database")
    if scheme.startswith("sqlite") and (not rest.startswith("/") or rest == "/"):
        # sqlite://name would make `name` a host, which SQLite has no use for.
        raise ValueError("a SQLite URL is sqlite:/// then a path (four slashes if absolute)")
    try:
        _ = urlsplit(text).port  # raises on a port that is not a number
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    return text


def rate_limit(text: str) -> str:
    # Refused here, naming the variable, rather than by api.limits as the app is made.
    limits = parse_many(text)  # its ValueError says what it could not parse
    if any(limit.amount < 1 for limit in limits):
        raise ValueError("a limit of 0 refuses every request (RATELIMIT_ENABLED=false lifts them)")
    return text


def ratelimit_storage(text: str) -> str:
    if urlsplit(text).scheme not in RATELIMIT_SCHEMES:
        raise ValueError("use memory:// or redis://host:6379 (also rediss, redis+sentinel, ...)")
    return text


# Environment variable -> (config key, parser). A parser raises ValueError saying what is wrong.
ENVIRONMENT: dict[str, tuple[str, Callable[[str], object]]] = {
    "DATABASE_URL": ("DATABASE_URL", database_url),
    "DATABASE_POOL_SIZE": ("DATABASE_POOL_SIZE", positive_int),
    "DATABASE_POOL_TIMEOUT": ("DATABASE_POOL_TIMEOUT", positive_int),
    "DATABASE_STALE_TIMEOUT": ("DATABASE_STALE_TIMEOUT", positive_int),
    "MAX_BODY_BYTES": ("MAX_CONTENT_LENGTH", positive_int),
    "READ_REQUIRES_KEY": ("READ_REQUIRES_KEY", boolean),
    "RATE_LIMIT_ANONYMOUS": ("RATE_LIMIT_ANONYMOUS", rate_limit),
    "RATE_LIMIT_KEY": ("RATE_LIMIT_KEY", rate_limit),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", ratelimit_storage),
    "RATELIMIT_STORAGE_TIMEOUT": ("RATELIMIT_STORAGE_TIMEOUT", positive_number),
    "RATELIMIT_ENABLED": ("RATELIMIT_ENABLED", boolean),
    "IDEMPOTENCY_TTL_HOURS": ("IDEMPOTENCY_TTL_HOURS", positive_number),
    "IMPORT_MAX_BYTES": ("IMPORT_MAX_BYTES", positive_int),
    "LOG_FORMAT": ("LOG_FORMAT", one_of(LOG_FORMATS)),
    "LOG_LEVEL": ("LOG_LEVEL", one_of(LOG_LEVELS)),
    "METRICS_ENABLED": ("METRICS_ENABLED", boolean),
    "METRICS_TOKEN": ("METRICS_TOKEN", str),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", whole_number),
}


def parse_variable(name: str, text: str, parse: Callable[[str], object]) -> object:
    """`parse(text)`, or a ConfigError naming the variable and saying what is wrong."""
    try:
        return parse(text)
    except ValueError as error:
        raise ConfigError(f"{name}={_shown(text)!r}: {error}") from None


def unusable_database(url: str, error: Exception) -> ConfigError:
    """The refusal of a DATABASE_URL whose database cannot be reached (no such database or
    role, no server there, a wrong password), in the one line of any other bad setting."""
    return ConfigError(f"DATABASE_URL={_shown(url)!r}: {' '.join(str(error).split())}")


def _shown(text: str) -> str:
    # The message goes to logs: a URL's password (DATABASE_URL, redis://) stays out of it.
    return URL_PASSWORD.sub(r"\1***@", text)


def from_environment(environ: Mapping[str, str] = os.environ) -> dict:
    """The settings the environment overrides, checked: a bad value raises ConfigError."""
    return {
        key: parse_variable(name, environ[name], parse)
        for name, (key, parse) in ENVIRONMENT.items()
        if environ.get(name)
    }
