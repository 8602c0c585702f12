"""gunicorn settings from the environment, for gunicorn.conf.py and `industry-facts serve`."""

import os


def gunicorn_settings(environ=os.environ) -> dict:
    """Bind, worker and timeout settings with sane defaults for a small host."""
    return {
        "bind": environ.get(
            "BIND", f"{environ.get('HOST', '127.0.0.1')}:{environ.get('PORT', '8000')}"
        ),
        "workers": int(environ.get("WEB_CONCURRENCY", "2")),
        "worker_class": "gthread",
        "threads": int(environ.get("GUNICORN_THREADS", "4")),
        # A request that takes longer than this is stuck; the worker is replaced.
        "timeout": int(environ.get("GUNICORN_TIMEOUT", "30")),
        "graceful_timeout": 20,
        "keepalive": 5,
        # One line per request on stdout; ACCESS_LOG= (empty) turns it off.
        "accesslog": environ.get("ACCESS_LOG", "-") or None,
        "errorlog": "-",
        "loglevel": environ.get("LOG_LEVEL", "info"),
        # Each worker builds its own app, and so its own database connection, after the fork.
        "preload_app": False,
    }
