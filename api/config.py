"""Settings: class defaults, then the environment, then the mapping the caller passes."""

import os

from api.auth import OPTIONAL
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
  Authorize button); reads are open.
* Every error is an RFC 9457 `application/problem+json` document.
"""


class Config:
    DATABASE_URL = None  # None: a SQLite file in the instance folder
    MAX_CONTENT_LENGTH = 1024 * 1024
    READ_REQUIRES_KEY = False
    # Requests per caller (flask-limiter's notation); counted in memory per worker unless
    # RATELIMIT_STORAGE_URI names a shared store (redis://...).
    RATE_LIMIT_ANONYMOUS = "600 per minute"
    RATE_LIMIT_KEY = "6000 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    IDEMPOTENCY_TTL_HOURS = 24
    IMPORT_MAX_BYTES = 64 * 1024 * 1024

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
        "security": OPTIONAL,
    }


TRUE = {"1", "true", "yes", "on"}

# Environment variable -> (config key, parser).
ENVIRONMENT = {
    "DATABASE_URL": ("DATABASE_URL", str),
    "MAX_BODY_BYTES": ("MAX_CONTENT_LENGTH", int),
    "READ_REQUIRES_KEY": ("READ_REQUIRES_KEY", lambda text: text.lower() in TRUE),
    "RATE_LIMIT_ANONYMOUS": ("RATE_LIMIT_ANONYMOUS", str),
    "RATE_LIMIT_KEY": ("RATE_LIMIT_KEY", str),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "RATELIMIT_ENABLED": ("RATELIMIT_ENABLED", lambda text: text.lower() in TRUE),
    "IDEMPOTENCY_TTL_HOURS": ("IDEMPOTENCY_TTL_HOURS", float),
    "IMPORT_MAX_BYTES": ("IMPORT_MAX_BYTES", int),
}


def from_environment(environ=os.environ) -> dict:
    """The settings the environment overrides."""
    return {
        key: parse(environ[name]) for name, (key, parse) in ENVIRONMENT.items() if environ.get(name)
    }
