"""The database handle: one proxy, bound at start-up from a URL, and the base model."""

import os

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()

# WAL lets readers proceed during a write; IMMEDIATE makes a writer take the
# lock when its transaction begins, so concurrent gunicorn workers queue on the
# busy timeout instead of failing with "database is locked" halfway through.
SQLITE_OPTIONS = {
    "pragmas": {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000},
    "lock_type": "IMMEDIATE",
    # A pooled connection may serve another thread later, though never two at once.
    "check_same_thread": False,
}


# Each request takes a connection from its worker's pool and gives it back at teardown, so
# connection set-up (and SQLite's page cache) is paid once per thread, not once per request.
POOL_OPTIONS = {"max_connections": 32, "stale_timeout": 300, "timeout": 10}


def open_database(url: str):
    """Bind the proxy to a connection pool for `url` (sqlite:///path or postgresql://...)."""
    scheme, _, rest = url.partition("://")
    options = POOL_OPTIONS
    if scheme.startswith("sqlite"):
        path = rest.removeprefix("/")
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        options = options | SQLITE_OPTIONS
    db = connect(f"{scheme.removesuffix('+pool')}+pool://{rest}", **options)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


class BaseModel(Model):
    class Meta:
        database = database
