"""What a request may be: from behind which proxies, with which query string and body."""

import json
import re

import flask
from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import abort
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

BODY_METHODS = {"POST", "PUT", "PATCH"}
READ_METHODS = {"GET", "HEAD"}  # without a body
CSV_BODIES = {"imports.Import"}  # the endpoints that also take text/csv
LARGE_BODIES = {"imports.Import"}  # the endpoints that take up to IMPORT_MAX_BYTES


def init_app(app: Flask) -> None:
    """Read requests as below, and refuse the bodies the endpoints do not take."""
    app.request_class = Request
    app.json = JSONProvider(app)
    # Keep fields in the order the schemas declare them, which is the order the docs show.
    app.json.sort_keys = False
    if proxies := app.config["TRUSTED_PROXIES"]:
        # The client's address (for rate limits and logs), scheme and host as the proxies saw
        # them, so that limits apply per client and links point where the client called.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # as Flask documents it
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.before_request(_allow_large_bodies)
    app.before_request(_require_json_body)


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
