"""Creating and dropping everything the service stores: tables, then their search indexes."""

from models import history, search
from models.db import database, is_sqlite
from models.tables import OPERATIONAL, TABLES

# Everything the service knows, which an export holds; then what runs it.
KNOWN_TABLES = TABLES + history.TABLES
ALL_TABLES = KNOWN_TABLES + OPERATIONAL


def create_schema() -> None:
    """Create whatever tables and search indexes do not exist yet.

    History tables created now start with the current rows, valid from their last change.
    """
    new_history = not all(database.table_exists(table) for table in history.TABLES)
    database.create_tables(ALL_TABLES, safe=True)
    if new_history:
        history.backfill()
    search.create_indexes()


def drop_schema() -> None:
    """Drop everything: for tests and for restoring into an empty database."""
    search.drop_indexes()
    if is_sqlite():
        # SQLite empties a table row by row as it drops it; a segment may go before the
        # segments under it, which its own foreign key would refuse.
        database.pragma("foreign_keys", 0)
    database.drop_tables(ALL_TABLES, safe=True)
    if is_sqlite():
        database.pragma("foreign_keys", 1)
