"""gunicorn configuration: `gunicorn -c gunicorn.conf.py "api:create_app()"`."""

from api.serving import gunicorn_settings

globals().update(gunicorn_settings())
