"""The data's stamp: a value that every write replaces, which caches of reads are keyed by."""

import secrets
from functools import cache

from peewee import EXCLUDED

from models.db import database, read_integer
from models.tables import DataStamp

# Raw SQL, alike on both backends: it runs once per cached read, where peewee would cost more
# than the query. Run with read_integer, it is never put under a read's preamble (models/db.py):
# a read as of an instant reads the stamp of today, which says whether anything changed since.
CURRENT = f'SELECT "value" FROM "{DataStamp._meta.table_name}"'


def restamp() -> None:
    """Give the data a new stamp. Call it inside the write's transaction: whoever sees the
    write then sees the new stamp, and whoever sees the old stamp saw none of the write."""
    # Random rather than counted: a count starts again when a database is made anew or
    # restored from a backup, and would meet numbers already cached for other data.
    backend: type = type(database.obj)
    database.execute_sql(_restamping(backend), [1, secrets.randbits(63)])


@cache
def _restamping(backend: type) -> str:
    """The SQL that gives the stamp's row a value (its parameters: the id, the value), for
    `backend`: every write runs it, and peewee building it each time cost more than that."""
    query = DataStamp.insert(id=1, value=0).on_conflict(
        conflict_target=[DataStamp.id], update={DataStamp.value: EXCLUDED.value}
    )
    return query.sql()[0]


def current() -> int | None:
    """The data's stamp; None while no write has given it one."""
    return read_integer(CURRENT)
