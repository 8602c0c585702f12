"""The Idempotency-Key header on POST and PATCH (IETF httpapi draft, as Stripe does it)."""

import hashlib
import json
import re
from datetime import timedelta

from flask import Flask, current_app, g, request
from flask_smorest import abort
from peewee import PeeweeException

from api.errors import handle_database_error
from models import idempotency
from models.db import abandon_transaction, database
from models.idempotency import HEADER

METHODS = {"POST", "PATCH"}
# Printable ASCII, as a structured-field string is: a key is stored and compared as text, and
# PostgreSQL's text cannot hold NUL.
KEY = re.compile(r"[ -~]{1,255}")
# What a replay repeats besides the status and body.
KEPT_HEADERS = ("Content-Type", "Location", "ETag")
PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": f"^{KEY.pattern}$"},
    "description": "Any unique string (a UUID). A retry with the same key and body gets the "
    "first response again (with Idempotent-Replayed: true); the same key with another body "
    "is a 422. A retry while the first still runs waits for it, as writes wait their turn, "
    "and then gets its answer. A request that failed on the server's side (5xx), or never "
    "finished, kept nothing: its retry runs again. Keys last 24 hours, per API key.",
}


def init_app(app: Flask) -> None:
    """Claim each write's key before its view runs; keep its answer for retries after."""
    app.before_request(begin)
    app.after_request(finish)


def begin():
    """Claim the request's key, or answer a retry with the stored response.

    The claim is made in a transaction that the whole request then runs in, and that
    `finish` commits together with the response. It holds the writers' lock (models/db.py):
    a retry waits for the first request and replays its answer, and a first request that
    fails, or whose process dies, takes its claim with it when it rolls back, so that its
    retry runs again rather than finding a key locked by a request that no longer exists.
    """
    key = request.headers.get(HEADER)
    if key is None or request.method not in METHODS or request.routing_exception is not None:
        return None
    if request.method == "PATCH" and "If-Match" not in request.headers:
        return None  # the 428 comes first, and claims nothing
    if not KEY.fullmatch(key):
        message = f"{HEADER} must be 1 to 255 printable ASCII characters."
        abort(400, messages={"headers": {HEADER: [message]}})
    owner = g.api_key.identifier  # writes always carry a key (see auth.py)
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data())  # read before the lock is taken
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    database.session_start()
    g.idempotency = None  # the transaction is open; the claim is not made yet
    stored = idempotency.claim(owner, key, digest.hexdigest(), ttl)
    if stored is not None:
        headers = json.loads(stored.headers) | {"Idempotent-Replayed": "true"}
        return current_app.response_class(stored.body, status=stored.status, headers=headers)
    g.idempotency = (owner, key)
    return None


def finish(response):
    """Keep the response for retries and commit the request with it; after a server failure
    roll everything back, the claim with it, so that a retry runs again."""
    if "idempotency" not in g:
        return response
    claimed = g.pop("idempotency")
    if response.status_code >= 500:
        abandon_transaction()
        return response
    try:
        if claimed is not None:
            headers = {
                name: response.headers[name] for name in KEPT_HEADERS if name in response.headers
            }
            idempotency.complete(
                *claimed, response.status_code, headers, response.get_data(as_text=True)
            )
        database.session_commit()
    except PeeweeException as error:
        abandon_transaction()
        return handle_database_error(error)
    return response
