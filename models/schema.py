"""Creating and dropping everything the service stores: tables, then their search indexes."""

from models import search
from models.db import database
from models.tables import TABLES


def create_schema() -> None:
    """Create whatever tables and search indexes do not exist yet."""
    database.create_tables(TABLES, safe=True)
    search.create_indexes()


def drop_schema() -> None:
    """Drop everything: for tests and for restoring into an empty database."""
    search.drop_indexes()
    database.drop_tables(TABLES, safe=True)
