"""gunicorn configuration: `gunicorn -c gunicorn.conf.py "api:create_app()"`."""

import sys

from service.config import ConfigError
from service.serving import gunicorn_settings

try:
    settings = gunicorn_settings()
except ConfigError as error:
    # gunicorn would print a traceback for any other exception raised here; SystemExit it
    # lets through, so a bad setting stops the master, before any fork, with this one line.
    sys.exit(f"Error: {error}")
globals().update(settings)
