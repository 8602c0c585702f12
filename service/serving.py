"""gunicorn settings from the environment, for gunicorn.conf.py and `industry-facts serve`."""

import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping

from peewee import PeeweeException

from service.config import (
    LIMIT_REQUEST_FIELD_SIZE,
    LIMIT_REQUEST_LINE,
    Config,
    from_environment,
    parse_variable,
    port,
    positive_int,
    unusable_database,
)

# Environment variable -> (default, parser), for the server rather than the app.
SERVER_ENVIRONMENT = {
    "HOST": ("127.0.0.1", str),
    "PORT": (8000, port),
    "BIND": (None, str),  # None: HOST:PORT
    "WEB_CONCURRENCY": (2, positive_int),
    "GUNICORN_THREADS": (4, positive_int),
    "GUNICORN_TIMEOUT": (30, positive_int),
    "GUNICORN_GRACEFUL_TIMEOUT": (20, positive_int),
    "ACCESS_LOG": (None, str),  # None: off, since the app logs each request itself
    "PROMETHEUS_MULTIPROC_DIR": (None, str),  # None: a temporary directory
}


def server_environment(environ: Mapping[str, str] = os.environ) -> dict:
    """Every SERVER_ENVIRONMENT variable's value, checked: a bad one raises ConfigError."""
    return {
        name: parse_variable(name, environ[name], parse) if environ.get(name) else default
        for name, (default, parse) in SERVER_ENVIRONMENT.items()
    }


def gunicorn_settings(environ: Mapping[str, str] = os.environ) -> dict:
    """Bind, worker, timeout and logging settings with sane defaults for a small host.

    Every setting is checked here, the app's too, so that a bad value stops gunicorn's master
    with ConfigError before it forks workers that would each fail to start.
    """
    server = server_environment(environ)
    app = {"LOG_LEVEL": Config.LOG_LEVEL, "LOG_FORMAT": Config.LOG_FORMAT}
    app |= from_environment(environ)
    settings = {
        "bind": server["BIND"] or f"{server['HOST']}:{server['PORT']}",
        "workers": server["WEB_CONCURRENCY"],
        "worker_class": "gthread",
        "threads": server["GUNICORN_THREADS"],
        # A worker that has not checked in with the master for this long is stuck, and replaced.
        # A gthread worker checks in from its own loop while its threads run the requests, so
        # this does not cut a long request off.
        "timeout": server["GUNICORN_TIMEOUT"],
        # After SIGTERM, requests in flight get this long to finish before their worker is
        # killed: a redeploy must wait out the longest import it should not lose.
        "graceful_timeout": server["GUNICORN_GRACEFUL_TIMEOUT"],
        "keepalive": 5,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        # The app logs one line per request, with its duration, request id and API key
        # (observability.py); ACCESS_LOG=- (stdout) or a path turns gunicorn's own on as well.
        "accesslog": server["ACCESS_LOG"],
        "errorlog": "-",
        "loglevel": app["LOG_LEVEL"],
        # Each worker builds its own app, and so its own database connection, after the fork.
        "preload_app": False,
        "on_starting": starting,
        "child_exit": forget_dead_worker,
        "on_exit": remove_temporary_metrics_directory,
    }
    if app["LOG_FORMAT"] == "json":
        settings["logconfig_dict"] = json_logging(app["LOG_LEVEL"])
    return settings


def json_logging(level: str) -> dict:
    """gunicorn's own messages (starting, workers booting and dying) as JSON lines on stderr,
    like the app's; merged by gunicorn into its default logging configuration."""
    return {
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["json"], "propagate": False}
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {"json": {"()": "api.observability.JsonFormatter"}},
    }


def serve_with_gunicorn(settings: dict) -> None:
    """Run gunicorn from Python with `settings`, so `serve` works wherever the package is
    installed."""
    # Imported only now: gunicorn reads WEB_CONCURRENCY as it is imported, with a traceback
    # for a bad value, and gunicorn_settings has checked it by now.
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):
        def load_config(self):
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            from api import create_app

            return create_app()

    Gunicorn().run()


def starting(server) -> None:
    """gunicorn's on_starting hook, in the master before any fork."""
    allow_request_lines_up_to(server.cfg.limit_request_line)
    prepare_metrics_directory(server)
    check_database()


def allow_request_lines_up_to(limit: int) -> None:
    """Make gunicorn honour a limit_request_line above 8190 bytes, the most it takes (only 0,
    no limit at all, goes further): set in the master, so every worker forked from it has it."""
    from gunicorn.http import message

    message.MAX_REQUEST_LINE = max(message.MAX_REQUEST_LINE, limit)


def check_database() -> None:
    """Stop, with one line, unless the database's schema is the one this code was written for:
    better than workers that boot and then fail on the first request."""
    from api import create_app
    from models import schema
    from models.db import database

    app = create_app()
    with app.app_context():
        try:
            schema.check()
        except schema.SchemaMismatch as error:
            sys.exit("Error: " + " ".join(str(error).split()))
        except PeeweeException as error:
            sys.exit(f"Error: {unusable_database(app.config['DATABASE_URL'], error)}")
        finally:
            database.close_all()


# The metrics directory this master made, to remove when it exits.
_temporary_metrics_directory: str | None = None


def prepare_metrics_directory(server) -> None:
    """gunicorn's on_starting hook, in the master before any fork: the workers count their
    metrics in files in PROMETHEUS_MULTIPROC_DIR (a new temporary directory when unset),
    which /metrics adds up; it starts empty, or the last run's counts would be added too."""
    global _temporary_metrics_directory
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = _temporary_metrics_directory = tempfile.mkdtemp(prefix="industry-facts-metrics-")
        # Set in the master's environment, which the workers inherit when they are forked.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.makedirs(path, exist_ok=True)
    for name in glob.glob(os.path.join(path, "*.db")):  # only prometheus_client's files
        os.remove(name)


def forget_dead_worker(server, worker) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges are dropped (its counters and
    histograms stay in the totals, as Prometheus expects of counters)."""
    # Imported here, after on_starting set the directory: see observability.py.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def remove_temporary_metrics_directory(server) -> None:
    """gunicorn's on_exit hook: remove the metrics directory if this master made it."""
    if _temporary_metrics_directory is not None:
        shutil.rmtree(_temporary_metrics_directory, ignore_errors=True)
