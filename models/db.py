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
}


def open_database(url: str):
    """Bind the proxy to the database at `url` (sqlite:///path or postgresql://...)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        db = connect(url, **SQLITE_OPTIONS)
    else:
        db = connect(url)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


class BaseModel(Model):
    class Meta:
        database = database
