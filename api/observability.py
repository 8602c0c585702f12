"""What operators see of each request: its X-Request-ID, a structured access line, metrics."""

import hmac
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import Flask, current_app, g, has_request_context, request
from flask.logging import default_handler
from flask_smorest import abort

from models import keys

# prometheus_client is imported only where a metric is first made or read, never at import
# time: it chooses between per-process and multiprocess counting when it is first imported,
# from PROMETHEUS_MULTIPROC_DIR, which gunicorn's master sets only as it starts (serving.py),
# after it has imported this module but before it forks the workers that count.

HEADER = "X-Request-ID"
# The ids a caller may choose: UUIDs and the usual tracing ids fit; nothing that could forge
# a log line or a header does.
CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LOGGER = "api"  # Flask's app.logger, for `Flask("api")`; the access lines go to a child
UNMATCHED = "(unmatched)"  # the route label of a request no URL rule matched: a 404 or 405
# The method label: the standard methods by name, any other (a client may send any token,
# and each would add its own series to /metrics for good) as one.
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
OTHER_METHOD = "other"
# What could end a log line early and forge the next, or drive the terminal that shows it:
# C0 controls, DEL, C1 controls and Unicode's line and paragraph separators. A backslash is
# escaped too, so that an escape in the log always stands for the character it names.
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")
# Seconds; the default buckets, and 30 s for the long imports.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30)

access_log = logging.getLogger(f"{LOGGER}.access")


def init_app(app: Flask) -> None:
    """Set up logging and register the hooks. Call it before any other hook is registered:
    its before-request hook then runs first and its after-request hook last."""
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(_begin)
    app.after_request(_finish)
    if app.config["METRICS_ENABLED"]:
        app.add_url_rule("/metrics", "metrics", metrics)


def request_id() -> str:
    """The current request's id: its X-Request-ID when well-formed, a new UUID otherwise."""
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        g.request_id = given if CALLER_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def _begin():
    g.started = time.perf_counter()
    request_id()
    if request.endpoint == "metrics":
        # Answered here, ahead of authentication, rate limits and idempotency, which are the
        # API's: a scraper's token is not an API key, and it calls often from one address.
        return metrics()
    return None


def _finish(response):
    """Give the response its request id, count it, and log its access line."""
    response.headers[HEADER] = request_id()
    seconds = time.perf_counter() - g.started if "started" in g else 0.0
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    status = response.status_code
    measured = instruments()
    method = request.method if request.method in METHODS else OTHER_METHOD
    measured.requests.labels(method, route, str(status)).inc()
    measured.latency.labels(method, route).observe(seconds)
    if not access_log.isEnabledFor(logging.INFO):
        return response  # as access_log.info would, before its fields are gathered
    key = g.get("api_key")
    key_id = f"{keys.PREFIX}_{key.identifier}" if key is not None else None
    path = request.full_path if request.query_string else request.path
    access_log.info(
        "%s %s %d %.1fms key=%s",
        request.method,
        path,
        status,
        seconds * 1000,
        key_id or "-",
        extra={
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "bytes": response.content_length,
            "api_key": key_id,
            "remote_addr": request.remote_addr,
            "user_agent": request.user_agent.string or None,
        },
    )
    return response


# Logging: one line per record on stderr, as LOG_FORMAT says.


def printable(text: str) -> str:
    """`text` with control characters and line separators escaped (\\n, \\x1b, \\u2028), and
    backslashes doubled: what a client sent can then neither start a line nor hide one."""
    return UNPRINTABLE.sub(lambda found: found[0].encode("unicode_escape").decode(), text)


# The attributes every LogRecord has; any other was passed as `extra` and is logged as a field.
RECORD_ATTRIBUTES = {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, message, the record's extra
    fields (the request id among them) and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            # As the text format writes it; the fields below keep the exact values.
            "message": printable(record.getMessage()),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in RECORD_ATTRIBUTES}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii writes every control character and line separator as \uXXXX: each
        # entry stays on its one line, whatever its fields hold.
        return json.dumps(entry, default=str, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """A line a person reads, ending with the request id; a traceback follows it."""

    def __init__(self):
        # As gunicorn writes its own lines, which go to the same stream.
        super().__init__(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "%Y-%m-%d %H:%M:%S %z",
        )

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)  # a path with %0A in it is still one line
        line = super().formatMessage(record)
        given = getattr(record, "request_id", None)
        return f"{line} [request {given}]" if given else line

    def formatException(self, ei) -> str:
        # A traceback spans lines, and its message may carry what a client sent (a label, a
        # value): each of its lines is indented, so that none can pass for a record.
        lines = super().formatException(ei).splitlines()
        return "\n".join(f"    {printable(line)}" for line in lines)


class RequestContext(logging.Filter):
    """Gives each record logged while a request is handled that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id() if has_request_context() else None
        return True


class _Handler(logging.StreamHandler):
    """The handler configure_logging installs. Like logging's last resort, it writes to
    whatever sys.stderr is when a record comes, so it follows a capture (pytest's)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass  # StreamHandler's constructor sets it; sys.stderr is always the stream


def configure_logging(log_format: str, level: str) -> None:
    """Send the app's log records to stderr, formatted as `log_format` (text or json) says.

    Logging is the process's, not the app's: the last app built sets it, which under gunicorn
    is the worker's only app. Records still propagate, to whatever the root logger has (under
    gunicorn nothing; under pytest, its capture).
    """
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        if handler is default_handler or isinstance(handler, _Handler):
            logger.removeHandler(handler)
    handler = _Handler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContext())
    logger.addHandler(handler)
    logger.setLevel(level.upper())


# Metrics.

_making = threading.Lock()
_instruments: SimpleNamespace | None = None


def instruments() -> SimpleNamespace:
    """This process's metrics, made on first use (in a gunicorn worker, after the fork)."""
    global _instruments
    with _making:
        if _instruments is None:
            from prometheus_client import Counter, Histogram

            _instruments = SimpleNamespace(
                requests=Counter(
                    "industry_facts_http_requests",
                    "HTTP requests answered, by method, route (the URL rule) and status.",
                    ["method", "route", "status"],
                ),
                latency=Histogram(
                    "industry_facts_http_request_duration_seconds",
                    "Seconds from the first request hook to the response, by method and route.",
                    ["method", "route"],
                    buckets=LATENCY_BUCKETS,
                ),
                database_errors=Counter(
                    "industry_facts_database_errors",
                    "Database failures: answered 503 (an outage) or 500 (anything else).",
                    ["error"],
                ),
            )
        return _instruments


def count_database_error(error: BaseException) -> None:
    """Count a database failure, by its exception's class (OperationalError, ...)."""
    instruments().database_errors.labels(type(error).__name__).inc()


def metrics():
    """Prometheus' text format, summed over every gunicorn worker; with METRICS_TOKEN set,
    only for a request with `Authorization: Bearer <METRICS_TOKEN>`."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            abort(
                401,
                message="The metrics need Authorization: Bearer <METRICS_TOKEN>.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    instruments()  # so that a scrape before any request still lists them
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its counts to a file there; a fresh registry reads them all.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return current_app.response_class(
        generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
