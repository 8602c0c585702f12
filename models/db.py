"""The database handle: one proxy, bound at start-up from a URL, and the base model."""

import os
from collections.abc import Callable
from contextvars import ContextVar

from peewee import DatabaseProxy, Model, RawQuery, SelectBase, SqliteDatabase
from playhouse.db_url import connect

# A WITH clause, as SQL and its parameters, that every read of the current context runs
# under: how a read as of a past instant puts the history tables in place of the current
# ones (history.py).
preamble: ContextVar[tuple[str, list] | None] = ContextVar("preamble", default=None)

# SQL functions SQLite lacks, added to each of its connections: name -> (function, arity).
SQLITE_FUNCTIONS: dict[str, tuple[Callable, int]] = {}


class Database(DatabaseProxy):
    """The proxy models are bound to; it runs each read under the context's `preamble`."""

    def execute(self, query, **options):
        clause = preamble.get()
        if clause is None or not isinstance(query, SelectBase | RawQuery):
            return self.obj.execute(query, **options)
        # The service's queries have no WITH clause of their own for this one to meet.
        sql, params = self.obj.get_sql_context(**options).sql(query).query()
        return self.obj.execute_sql(clause[0] + sql, [*clause[1], *params])


database = Database()

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
    if isinstance(db, SqliteDatabase):
        for name, (function, arity) in SQLITE_FUNCTIONS.items():
            db.register_function(function, name, arity)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


class BaseModel(Model):
    class Meta:
        database = database
