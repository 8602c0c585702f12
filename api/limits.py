"""Rate limits: per API key, or per client address without one, over every endpoint.

flask-limiter counts requests in memory (one count per worker process) unless
RATELIMIT_STORAGE_URI names a shared store such as redis://127.0.0.1:6379, which every
worker and every machine then shares.
"""

import time

from flask import current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _caller() -> str:
    key = g.get("api_key")
    return f"key:{key.identifier}" if key else f"address:{get_remote_address()}"


def _policy() -> str:
    return "key" if g.get("api_key") else "anonymous"


def _limit() -> str:
    return current_app.config[f"RATE_LIMIT_{_policy().upper()}"]


# One limiter for the process: gunicorn runs one app per worker.
limiter = Limiter(key_func=_caller, application_limits=[_limit], headers_enabled=False)


def add_headers(response):
    """Tell the client where it stands: RateLimit and RateLimit-Policy (the IETF httpapi
    draft's structured fields), and Retry-After on a 429."""
    current = limiter.current_limit
    if current is None:
        return response
    wait = max(0, current.reset_at - int(time.time()))
    name = _policy()
    quota = f'"{name}";q={current.limit.amount};w={current.limit.get_expiry()}'
    response.headers["RateLimit-Policy"] = quota
    response.headers["RateLimit"] = f'"{name}";r={current.remaining};t={wait}'
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(wait, 1))
    return response
