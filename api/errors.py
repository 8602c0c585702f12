"""One error path: every failure, ours or Flask's, becomes an RFC 9457 problem response."""

import http
from collections.abc import Iterator

import flask_smorest
from flask import Flask, current_app, has_request_context, json, request
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from peewee import PeeweeException
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from api.observability import count_database_error, request_id
from api.requests import READ_METHODS
from models.db import FULL, described, fault
from models.errors import Conflict, DomainError, Invalid, NotFound, PreconditionFailed
from models.idempotency import HEADER as IDEMPOTENCY_KEY
from service.config import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_LINE

PROBLEM_JSON = "application/problem+json"

STATUS = {NotFound: 404, Conflict: 409, PreconditionFailed: 412, Invalid: 422}

# Model fields the API spells differently: references to records with numeric ids end in _id.
API_NAMES = {"source": "source_id", "event": "event_id"}

# Where webargs found the bad input, and how a problem's `errors` item names it.
LOCATION_KEYS = {"json": "pointer", "query": "parameter", "headers": "header"}
# The request headers whose values a domain rule may refuse, by the name the rule gives them.
HEADER_FIELDS = {IDEMPOTENCY_KEY}

# The refusals gunicorn gives before the app sees the request, in its own short HTML page:
# status -> the name of the response every operation documents them with.
SERVER_REFUSALS = {414: "URI_TOO_LONG", 431: "REQUEST_HEADER_FIELDS_TOO_LARGE"}
# Python 3.13 renamed these statuses (CONTENT_TOO_LARGE, UNPROCESSABLE_CONTENT...); the
# document names its responses the same whatever Python builds it.
RENAMED = {
    413: "REQUEST_ENTITY_TOO_LARGE",
    414: "REQUEST_URI_TOO_LONG",
    416: "REQUESTED_RANGE_NOT_SATISFIABLE",
    422: "UNPROCESSABLE_ENTITY",
}


def response_name(status: int) -> str:
    """The name of the spec's shared response for `status` (`NOT_FOUND`)."""
    return SERVER_REFUSALS.get(status) or RENAMED.get(status) or http.HTTPStatus(status).name


SERVER_REFUSED = (
    " The HTTP server (gunicorn) answers it before the API sees the request, as a short HTML "
    "page rather than problem details."
)


class FieldErrorSchema(Schema):
    pointer = fields.String(
        metadata={"description": "JSON Pointer (RFC 6901) to the offending part of the body."}
    )
    parameter = fields.String(metadata={"description": "The offending query parameter."})
    header = fields.String(metadata={"description": "The offending request header."})
    line = fields.Integer(metadata={"description": "The offending line of an imported CSV."})
    detail = fields.String(required=True, metadata={"description": "What is wrong with it."})


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(
        metadata={"description": "A URI naming the kind of problem.", "example": "about:blank"}
    )
    title = fields.String(
        metadata={"description": "The HTTP status phrase.", "example": "Unprocessable Entity"}
    )
    status = fields.Integer(metadata={"description": "The HTTP status code.", "example": 422})
    detail = fields.String(metadata={"description": "What went wrong, for a person."})
    errors = fields.List(
        fields.Nested(FieldErrorSchema),
        metadata={"description": "One item per offending field, parameter or header."},
    )
    request_id = fields.String(
        metadata={
            "description": "The request's X-Request-ID, which the logs record: quote it when "
            "reporting a problem.",
            "example": "0f8e5b1c9d2a4e6b8c3f7a1d5e9b2c4f",
        }
    )


def init_app(app: Flask) -> None:
    """Answer the domain's refusals and the database's failures as problems; flask-smorest's
    Api (class Api below, built with the endpoints) answers Flask's and webargs' errors."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(PeeweeException, handle_database_error)
    app.register_error_handler(MaxConnectionsExceeded, handle_database_error)


class Api(flask_smorest.Api):
    """flask-smorest's Api, answering and documenting every error as problem details."""

    # flask-smorest documents any Schema here; its annotation names its own ErrorSchema.
    ERROR_SCHEMA = ProblemSchema  # type: ignore[assignment]

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def _register_responses(self):
        # As flask-smorest does, but with the problem media type, and with werkzeug's status
        # phrases, which do not change between Python versions as http.HTTPStatus's do.
        for status in http.HTTPStatus:
            if status in SERVER_REFUSALS:
                continue
            response = {"description": HTTP_STATUS_CODES.get(status, status.phrase)}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(response_name(status), response, lazy=True)
        refusals = {
            414: "URI Too Long: the request line (method, path and query) is longer than "
            f"{LIMIT_REQUEST_LINE:,} bytes.",
            431: "Request Header Fields Too Large: a header field is longer than "
            f"{LIMIT_REQUEST_FIELD_SIZE:,} bytes.",
        }
        for status, name in SERVER_REFUSALS.items():
            html = {"text/html": {"schema": {"type": "string"}}}
            response = {"description": refusals[status] + SERVER_REFUSED, "content": html}
            self.spec.components.response(name, response, lazy=True)
        response = {"description": "An unexpected error.", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def problem(status: int, detail: str | None = None, errors=None, headers=None):
    """A problem response: the only way this service reports an error."""
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES[status], "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if has_request_context():
        body["request_id"] = request_id()
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_JSON, headers=headers
    )
    return response


def handle_http_exception(error: HTTPException):
    """Flask's and webargs' errors (404, 405, 400, 413, 422 from schemas, 500) as problems."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    headers += list((data.get("headers") or {}).items())
    errors = _flatten(data.get("messages", {}))
    if isinstance(original := getattr(error, "original_exception", None), PeeweeException):
        count_database_error(original)  # Flask logged it, with its traceback
    if status >= 500:
        # Our own words (a probe saying what is down) stand; an unexpected error's are logged.
        detail = (
            data.get("message")
            or "The server failed to answer this request; the failure has been logged."
        )
    elif status == 422:
        detail = "The request is well-formed but some values are not acceptable."
    elif status == 429:  # api.limits describes the limit that was reached
        detail = f"Too many requests: at most {error.description}. Retry after Retry-After."
    else:
        detail = data.get("message") or error.description
    if status == 400 and errors:
        detail = errors[0]["detail"]
    return problem(status, detail, errors, headers)


def handle_domain_error(error: DomainError):
    """The domain layer's refusals, as 404, 409, 412 or 422."""
    errors = None
    if isinstance(error, Invalid):
        errors = [_located(name) | {"detail": message} for name, message in error.errors.items()]
    return problem(STATUS[type(error)], error.detail, errors)


def _located(name: str) -> dict:
    """Where the request held a field a domain rule names, as a problem's `errors` item says
    it: the domain knows only the field; which part of the request carried it is HTTP's."""
    if name in HEADER_FIELDS:
        return {"header": name}
    if request.method in READ_METHODS:  # no body: the field was a query parameter
        return {"parameter": name}
    return {"pointer": f"/{API_NAMES.get(name, name)}"}


def _flatten(messages: dict) -> list[dict]:
    """webargs' nested {location: {field: [message]}} as a flat list of problem `errors`."""
    flat = []
    for location, tree in messages.items():
        key = LOCATION_KEYS.get(location, location)
        for path, details in field_messages(tree):
            if key == "pointer":
                name = json_pointer(path)
            else:
                name = ".".join(path)
            flat += [{key: name, "detail": detail} for detail in details]
    return flat


def json_pointer(path: tuple[str, ...]) -> str:
    """The JSON pointer (RFC 6901) to `path`: each part after a slash, its ~ and / escaped."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def field_messages(
    node, path: tuple[str, ...] = (), whole: str = "_schema"
) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(path, messages) for every field marshmallow's nested messages name: dicts of fields
    (and of list indices) down to a field's list of messages. Messages under the key `whole`
    are about the level they are in, not about a field of it (marshmallow's "_schema")."""
    if isinstance(node, dict):
        for name, child in node.items():
            yield from field_messages(child, path if name == whole else (*path, str(name)), whole)
    elif isinstance(node, list) and all(isinstance(message, str) for message in node):
        yield path, node
    elif isinstance(node, list):
        for child in node:
            yield from field_messages(child, path, whole)
    else:
        yield path, [str(node)]


def handle_database_error(error: Exception):
    """A database whose storage is full is a 507; one that cannot be reached, or stays
    locked, a 503 to retry after a while. Either way the request changed nothing.

    Any other database error (SQLite reports a missing table as one) is a bug: re-raised,
    it becomes a logged 500.
    """
    kind = fault(error)
    if kind is None:
        raise error
    count_database_error(error)
    if kind == FULL:
        current_app.logger.error("database storage full: %s", described(error))
        return problem(
            507,
            "The database's storage is full, so this request changed nothing. "
            "Reads still work; writes will again once an operator frees space.",
        )
    current_app.logger.error("database unavailable: %s", described(error))
    return problem(
        503, "The database is unavailable; try again shortly.", headers={"Retry-After": "5"}
    )
