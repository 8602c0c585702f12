"""`as_of`: a read of the past, for the whole request."""

from datetime import UTC, datetime

from flask import Flask, g, request
from marshmallow import ValidationError

from api.fields import UTCDateTime
from api.requests import READ_METHODS
from models import history


def init_app(app: Flask) -> None:
    """Read as of the instant a read's `as_of` names, until its end."""
    app.before_request(_read_as_of)
    app.teardown_request(_read_the_present_again)


def _read_as_of():
    # `as_of` applies to everything a read does (its record, embeds, checks, citations), so
    # it is set for the whole request rather than passed down. The endpoint's schema checks
    # and documents it: a malformed value is left for it to refuse with a 422.
    value = request.args.get("as_of")
    if request.method not in READ_METHODS or not value:
        return
    try:
        at = UTCDateTime().deserialize(value)
    except ValidationError:
        return
    if at < datetime.now(UTC).replace(tzinfo=None):  # a future instant answers as of now
        g.as_of = history.read_as_of(at)


def _read_the_present_again(exc):
    if "as_of" in g:
        history.stop_reading_as_of(g.as_of)
