"""Idempotent retries: a write's key claims it once; a retry gets the first response back."""

import json
from datetime import timedelta

from peewee import IntegrityError

from models.db import database
from models.errors import Conflict, Invalid
from models.tables import IdempotentRequest, utc_now

HEADER = "Idempotency-Key"


def claim(owner: str, key: str, fingerprint: str, ttl: timedelta) -> IdempotentRequest | None:
    """Claim `key` for a new request (None), or return the finished request it names.

    Committed at once, outside the write's own transaction, so that a retry arriving
    while the first request runs finds the claim (409) rather than running twice.
    """
    now = utc_now()
    with database.atomic():
        IdempotentRequest.delete().where(IdempotentRequest.created_at < now - ttl).execute()
        try:
            with database.atomic():  # a savepoint: PostgreSQL aborts a failed transaction
                IdempotentRequest.create(
                    owner=owner, key=key, fingerprint=fingerprint, created_at=now
                )
                return None
        except IntegrityError:
            # The claim may be gone again already: a first request that failed released it.
            stored = IdempotentRequest.get_or_none(
                IdempotentRequest.owner == owner, IdempotentRequest.key == key
            )
    if stored is None or stored.status is None:
        raise Conflict(f"The request with this {HEADER} is still running; retry shortly.")
    if stored.fingerprint != fingerprint:
        raise Invalid(
            {HEADER: "This key was used for a different request; use a new key for it."},
            location="headers",
        )
    return stored


def complete(owner: str, key: str, status: int, headers: dict, body: str) -> None:
    """Keep the response to a claimed request, for its retries."""
    IdempotentRequest.update(status=status, headers=json.dumps(headers), body=body).where(
        IdempotentRequest.owner == owner, IdempotentRequest.key == key
    ).execute()


def release(owner: str, key: str) -> None:
    """Give up a claim whose request failed on our side: a retry may run it again."""
    IdempotentRequest.delete().where(
        IdempotentRequest.owner == owner, IdempotentRequest.key == key
    ).execute()
