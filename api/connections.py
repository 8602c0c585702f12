"""The database: one pool per worker, and a connection per request, given back at its end."""

from flask import Flask

from models.db import abandon_transaction, database, open_database


def init_app(app: Flask) -> None:
    """Bind the database to the configured pool, and give each request's connection back
    when it ends."""
    open_pool(app)
    app.teardown_request(_close_connection)


def open_pool(app: Flask) -> None:
    """Bind the database to the pool the app's configuration describes; no connection opens
    until a query."""
    open_database(
        app.config["DATABASE_URL"],
        {
            "max_connections": app.config["DATABASE_POOL_SIZE"],
            "timeout": app.config["DATABASE_POOL_TIMEOUT"],
            "stale_timeout": app.config["DATABASE_STALE_TIMEOUT"],
        },
    )


def _close_connection(exc):
    # A request's connection is taken from the worker's pool on its first query and given
    # back here. Building the app opens none, so none exists before gunicorn forks. It goes
    # back with no transaction open: one a failed request left (idempotency.begin opens one
    # for the whole request) is rolled back.
    abandon_transaction()
    if not database.is_closed():
        database.close()
