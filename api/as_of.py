"""`as_of` and `known_on`: a read of the past, for the whole request."""

from datetime import UTC, datetime

from flask import Flask, g, request
from marshmallow import ValidationError, fields

from api.fields import UTCDateTime
from api.requests import READ_METHODS
from models import history


def init_app(app: Flask) -> None:
    """Read as of the instant a read's `as_of` names, and as its `known_on` day knew the
    facts, until its end."""
    app.before_request(_read_as_of)
    app.teardown_request(_read_the_present_again)


def _read_as_of():
    # They apply to everything a read does (its record, embeds, checks, citations), so they
    # are set for the whole request rather than passed down. The endpoint's schema checks
    # and documents them: a malformed value is left for it to refuse with a 422.
    if request.method not in READ_METHODS:
        return
    at = _parsed(UTCDateTime(), request.args.get("as_of"))
    if at is not None and at >= datetime.now(UTC).replace(tzinfo=None):
        at = None  # a future instant answers as of now
    known_on = _parsed(fields.Date(), request.args.get("known_on"))
    if at is not None or known_on is not None:
        g.as_of = history.read_as_of(at, known_on)


def _parsed(field: fields.Field, value: str | None):
    try:
        return field.deserialize(value) if value else None
    except ValidationError:
        return None


def _read_the_present_again(exc):
    if "as_of" in g:
        history.stop_reading_as_of(g.as_of)
