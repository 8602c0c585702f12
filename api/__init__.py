"""The HTTP layer: the app factory that wires configuration, database, resources and errors."""

import json
import os
import re
from datetime import UTC, datetime

import flask
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import abort
from marshmallow import ValidationError
from peewee import PeeweeException
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from api import auth, idempotency, limits, observability
from api.endpoints import (
    changes,
    checks,
    docs,
    events,
    facts,
    health,
    imports,
    indicators,
    landing,
    segments,
    series,
    sources,
    statistics,
    targets,
)
from api.errors import Api, handle_database_error, handle_domain_error
from api.fields import CODE_PATTERN, ID_PARAMETER, CodeConverter, IdConverter, UTCDateTime
from models import history
from models.db import abandon_transaction, database, open_database
from models.errors import DomainError
from service.config import Config, from_environment

RESOURCES = (sources, events, statistics, targets, indicators, segments)
BODY_METHODS = {"POST", "PUT", "PATCH"}
READ_METHODS = {"GET", "HEAD"}
CSV_BODIES = {"imports.Import"}  # the endpoints that also take text/csv
LARGE_BODIES = {"imports.Import"}  # the endpoints that take up to IMPORT_MAX_BYTES
CODE_PARAMETER = {"type": "string", "pattern": CODE_PATTERN, "maxLength": 64}


def create_app(config: dict | None = None) -> Flask:
    """Build the application; `config` overrides the class defaults and the environment."""
    app = Flask(__name__)
    app.request_class = Request
    app.json = JSONProvider(app)
    app.config.from_object(Config)
    app.config.update(from_environment())
    app.config.update(config or {})
    if not app.config["DATABASE_URL"]:
        path = os.path.join(app.instance_path, "industry-facts.sqlite3")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    # Keep fields in the order the schemas declare them, which is the order the docs show.
    app.json.sort_keys = False
    if proxies := app.config["TRUSTED_PROXIES"]:
        # The client's address (for rate limits and logs), scheme and host as the proxies saw
        # them, so that limits apply per client and links point where the client called.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )

    open_database(
        app.config["DATABASE_URL"],
        {
            "max_connections": app.config["DATABASE_POOL_SIZE"],
            "timeout": app.config["DATABASE_POOL_TIMEOUT"],
            "stale_timeout": app.config["DATABASE_STALE_TIMEOUT"],
        },
    )
    # First before and last after every other hook: the request id, the clock, the access line.
    observability.init_app(app)
    # Before each request, in this order: who is calling; whether their quota allows it
    # (refused callers count too); whether they may do what they ask; whether its body is
    # one we take; only then a claim on its Idempotency-Key.
    app.before_request(auth.authenticate)
    app.teardown_request(auth.forget_the_actor)
    limits.init_app(app)
    app.before_request(auth.refuse)
    app.after_request(limits.add_headers)
    app.before_request(_allow_large_bodies)
    app.before_request(_require_json_body)
    app.before_request(idempotency.begin)
    app.after_request(idempotency.finish)
    app.before_request(_read_as_of)
    app.teardown_request(_read_the_present_again)
    app.teardown_request(_close_connection)

    app.url_map.converters["code"] = CodeConverter
    app.url_map.converters["id"] = IdConverter
    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name)})
    api.register_converter(CodeConverter, lambda converter: CODE_PARAMETER)
    api.register_converter(IdConverter, lambda converter: ID_PARAMETER)
    api.spec.components.security_scheme(auth.SCHEME, auth.SECURITY_SCHEME)
    for resource in (*RESOURCES, imports, series, facts, checks, changes, health):
        api.register_blueprint(resource.blp)
    app.register_blueprint(docs.blp)
    app.register_blueprint(landing.blp)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(PeeweeException, handle_database_error)
    app.register_error_handler(MaxConnectionsExceeded, handle_database_error)
    return app


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading only what RFC 8259 calls JSON, wherever a body is read (webargs'
    parser and request.get_json alike): UTF-8 text (a leading byte order mark is ignored, as
    the RFC allows), without NaN or Infinity. What Python's parser cannot take (nesting deeper
    than its recursion limit, an integer of more than 4,300 digits) is malformed too, rather
    than an exception no handler expects."""

    def loads(self, s, **kwargs):
        try:
            text = s.decode("utf-8-sig") if isinstance(s, bytes | bytearray) else s
            return json.loads(text, parse_constant=_not_json, **kwargs)
        except json.JSONDecodeError:
            raise
        except UnicodeDecodeError:
            raise _malformed("not UTF-8") from None
        except RecursionError:
            raise _malformed("nested too deeply") from None
        except ValueError:  # the integer digit limit
            raise _malformed("a number too long to read") from None


def _not_json(constant: str):
    raise _malformed(f"{constant} is not a JSON value")


def _malformed(reason: str) -> json.JSONDecodeError:
    # A document of its own: webargs takes an error on an empty document for an empty body.
    return json.JSONDecodeError(reason, "(the body)", 0)


class Request(flask.Request):
    """Flask's request; a query string that is not UTF-8 is kept percent-encoded, so that
    reading it (for the arguments, the access log, the Idempotency-Key) never fails, and the
    parser refuses it (api.resource.Parser)."""

    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        try:
            self.query_string.decode()
        except UnicodeDecodeError:
            self.query_string = re.sub(
                rb"[\x80-\xff]", lambda byte: b"%%%02X" % byte[0][0], self.query_string
            )

    def on_json_loading_failed(self, e):
        if e is None:  # not JSON at all: Flask's own answer
            return super().on_json_loading_failed(e)
        abort(400, exc=e, messages={"json": ["Invalid JSON body."]})  # as webargs says it


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


def _close_connection(exc):
    # A request's connection is taken from the worker's pool on its first query and given
    # back here. Building the app opens none, so none exists before gunicorn forks. It goes
    # back with no transaction open: one a failed request left (idempotency.begin opens one
    # for the whole request) is rolled back.
    abandon_transaction()
    if not database.is_closed():
        database.close()


def _allow_large_bodies():
    # Before anything reads the body: the Idempotency-Key's digest does, before the view.
    if request.endpoint in LARGE_BODIES:
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


def _require_json_body():
    # Only for requests that reached a route: an unknown path or method is a 404 or 405 first.
    routed = request.routing_exception is None
    csv = request.endpoint in CSV_BODIES and request.mimetype == "text/csv"
    if routed and request.method in BODY_METHODS and not request.is_json and not csv:
        raise BadRequest(
            f"The body must be JSON, sent with Content-Type: application/json "
            f"(got {request.content_type or 'no Content-Type'})."
        )


def schema_name(schema) -> str:
    """Component names: `Statistic` for StatisticSchema, `StatisticPatch` for its partial form."""
    name = resolve_schema_cls(schema).__name__.removesuffix("Schema")
    return f"{name}Patch" if getattr(schema, "partial", False) else name
