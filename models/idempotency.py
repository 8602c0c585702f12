"""Idempotent retries: a write's key claims it once; a retry gets the first response back."""

import json
from datetime import timedelta

from models.errors import Invalid
from models.tables import IdempotentRequest, utc_now

HEADER = "Idempotency-Key"


def claim(owner: str, key: str, fingerprint: str, ttl: timedelta) -> IdempotentRequest | None:
    """Claim `key` for a new request (None), or return the finished request it names.

    Run inside the request's own write transaction, which holds the writers' lock: a claim
    other requests can see is always a finished one, committed with its response. One
    without a response was left by an older version of the service, which committed claims
    at once; its request is long gone, and the key is free again.
    """
    now = utc_now()
    IdempotentRequest.delete().where(
        (IdempotentRequest.created_at < now - ttl) | IdempotentRequest.status.is_null()
    ).execute()
    stored = IdempotentRequest.get_or_none(
        IdempotentRequest.owner == owner, IdempotentRequest.key == key
    )
    if stored is None:
        IdempotentRequest.create(owner=owner, key=key, fingerprint=fingerprint, created_at=now)
        return None
    if stored.fingerprint != fingerprint:
        raise Invalid({HEADER: "This key was used for a different request; use a new key for it."})
    return stored


def complete(owner: str, key: str, status: int, headers: dict[str, str], body: str) -> None:
    """Keep the response to a claimed request, for its retries."""
    IdempotentRequest.update(status=status, headers=json.dumps(headers), body=body).where(
        IdempotentRequest.owner == owner, IdempotentRequest.key == key
    ).execute()
