"""API keys: shown once, stored as a digest, checked in constant time, revoked for good."""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from models.errors import NotFound
from models.tables import ApiKey, utc_now

# Each scope allows what the ones before it do.
SCOPES = ("read", "write", "admin")
PREFIX = "ifk"  # "ifk_<identifier>_<secret>": recognisable in logs and by secret scanners
# Recording each use would make every read a write; once a minute says enough.
USE_RESOLUTION = timedelta(minutes=1)
IDENTIFIER = re.compile(r"[0-9a-f]{8}")


def create(name: str, scope: str) -> tuple[ApiKey, str]:
    """A new key and its text, which exists only in the caller's hands from now on."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    identifier = secrets.token_hex(4)
    text = f"{PREFIX}_{identifier}_{secrets.token_urlsafe(32)}"
    key = ApiKey.create(name=name, identifier=identifier, digest=_digest(text), scope=scope)
    return key, text


def find(text: str) -> ApiKey | None:
    """The unrevoked key whose text this is, or None."""
    prefix, _, rest = text.partition("_")
    identifier, _, secret = rest.partition("_")
    # The identifier is what create() made; anything else (NUL, other text) names no key and
    # must not reach the database, where PostgreSQL's text refuses NUL with an error.
    if prefix != PREFIX or not secret or not IDENTIFIER.fullmatch(identifier):
        return None
    key = ApiKey.get_or_none(ApiKey.identifier == identifier)
    # compare_digest takes as long whichever character differs, so timing reveals nothing.
    if key is None or not hmac.compare_digest(key.digest, _digest(text)) or key.revoked_at:
        return None
    now = utc_now()
    if key.last_used_at is None or now - key.last_used_at >= USE_RESOLUTION:
        ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
    return key


def allows(key: ApiKey, scope: str) -> bool:
    return SCOPES.index(key.scope) >= SCOPES.index(scope)


def revoke(identifier: str) -> ApiKey:
    key = (
        ApiKey.get_or_none(ApiKey.identifier == identifier)
        if IDENTIFIER.fullmatch(identifier)
        else None
    )
    if key is None:
        raise NotFound(f"There is no key {identifier}.")
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        key.save()
    return key


def _digest(text: str) -> str:
    # The secret carries 256 random bits: nobody can guess it, so a fast hash guards it as
    # well as a slow one would, and checking a key stays cheap on every request.
    return hashlib.sha256(text.encode()).hexdigest()
