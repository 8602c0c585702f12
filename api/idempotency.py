"""The Idempotency-Key header on POST and PATCH (IETF httpapi draft, as Stripe does it)."""

import hashlib
import json
import re
from datetime import timedelta

from flask import current_app, g, request
from flask_smorest import abort

from models import idempotency
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
    "is a 422; a retry while the first still runs is a 409. Keys last 24 hours, per API key.",
}


def begin():
    """Claim the request's key, or answer a retry with the stored response."""
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
    digest.update(request.get_data())
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    stored = idempotency.claim(owner, key, digest.hexdigest(), ttl)
    if stored is not None:
        headers = json.loads(stored.headers) | {"Idempotent-Replayed": "true"}
        return current_app.response_class(stored.body, status=stored.status, headers=headers)
    g.idempotency = (owner, key)
    return None


def finish(response):
    """Keep the response for retries; after a server failure, free the key for one."""
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        if response.status_code >= 500:
            idempotency.release(*claimed)
        else:
            headers = {
                name: response.headers[name] for name in KEPT_HEADERS if name in response.headers
            }
            idempotency.complete(
                *claimed, response.status_code, headers, response.get_data(as_text=True)
            )
    return response


def release_after_failure(exc):
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        idempotency.release(*claimed)
