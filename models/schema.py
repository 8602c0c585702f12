"""Creating and dropping everything the service stores: tables, then their search indexes."""

from models import search
from models.db import database, is_sqlite
from models.tables import TABLES


def create_schema() -> None:
    """Create whatever tables and search indexes do not exist yet."""
    database.create_tables(TABLES, safe=True)
    search.create_indexes()


def drop_schema() -> None:
    """Drop everything: for tests and for restoring into an empty database."""
    search.drop_indexes()
    if is_sqlite():
        # SQLite empties a table row by row as it drops it; a segment may go before the
        # segments under it, which its own foreign key would refuse.
        database.pragma("foreign_keys", 0)
    database.drop_tables(TABLES, safe=True)
    if is_sqlite():
        database.pragma("foreign_keys", 1)
