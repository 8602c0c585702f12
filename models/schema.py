"""The database schema: versioned migrations to bring a database up to date, and checks."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import Model
from peewee_migrate import Router
from peewee_migrate.models import MIGRATE_TABLE

from models import history, resources, search, stamp
from models.db import database, is_sqlite
from models.tables import OPERATIONAL, DataStamp, Revision, Source

MIGRATIONS = Path(__file__).with_name("migrations")
# A database made before migrations began (by `init-db` of release 0.1) is at this one.
ADOPTED = "001_initial"
UPGRADE_LOCK = 7_220_332  # any constant but the writers' lock (models/db.py)


class SchemaMismatch(Exception):
    """The database's schema is not the one this code was written for."""


def upgrade(target: str | None = None) -> list[str]:
    """Apply the migrations the database has not had, in order (up to `target`, if given);
    returns their names."""
    router = _router()
    with _foreign_keys_off(), _one_upgrade_at_a_time():
        if not router.done and database.table_exists(Source._meta.table_name):
            # Made before migrations: what it lacks of 0.1's tables is made (history tables
            # start from the current rows), and it is taken to be at 0.1's schema.
            _create_tables()
            router.run(ADOPTED, fake=True)
        applied = router.run(target)
        # A migration may change what reads answer; the table is made by one of them.
        if applied and database.table_exists(DataStamp._meta.table_name):
            stamp.restamp()
        return applied


def status() -> list[tuple[str, bool]]:
    """Every migration the code knows, in order, and whether the database has had it; then
    any the database has had that the code does not know."""
    known, applied = _router().todo, applied_migrations()
    return [(name, name in applied) for name in known] + [
        (name, True) for name in applied if name not in known
    ]


def applied_migrations() -> list[str]:
    """The migrations the database has had, without creating the table that lists them."""
    return _router().done if database.table_exists(MIGRATE_TABLE) else []


def check() -> None:
    """Raise SchemaMismatch unless the database has had exactly the code's migrations."""
    known, applied = _router().todo, applied_migrations()
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise SchemaMismatch(
            f"The database is ahead of this code: it has had migration {', '.join(unknown)}, "
            "which this version does not know. Run the version that made it, or a newer one."
        )
    pending = [name for name in known if name not in applied]
    if pending:
        raise SchemaMismatch(
            f"The database is behind this code: migration {', '.join(pending)} has not been "
            "applied. Run `industry-facts db upgrade` first."
        )


def known_tables() -> list[type[Model]]:
    """Everything the service knows, which an export holds, each table after those it refers
    to: the resources' tables, the revisions, the history."""
    return [*resources.tables(), Revision, *history.tables()]


def all_tables() -> list[type[Model]]:
    """The known tables, then what runs the service."""
    return [*known_tables(), *OPERATIONAL]


def create_schema() -> None:
    """Make a new database's tables straight from the models, recorded as having had every
    migration: quicker than running them, for tests and benchmarks, which make many
    databases. tests/models/test_schema.py proves that both give the same schema."""
    _create_tables()
    _router().run(fake=True)


def drop_schema() -> None:
    """Drop everything: for tests and for restoring into an empty database."""
    search.drop_indexes()
    with _foreign_keys_off():
        # SQLite empties a table row by row as it drops it; a segment may go before the
        # segments under it, which its own foreign key would refuse.
        database.drop_tables(all_tables(), safe=True)
        database.execute_sql(f'DROP TABLE IF EXISTS "{MIGRATE_TABLE}"')


def _create_tables() -> None:
    """Create the tables and search indexes that do not exist yet; history tables made now
    start with the current rows, valid from their last change."""
    missing = [table for table in all_tables() if not database.table_exists(table)]
    new_history = any(table in missing for table in history.tables())
    # Only the missing ones: an existing table's indexes are its migrations' business (an
    # index on a column still to be added would be taken by SQLite as one on a string).
    database.create_tables(missing)
    if new_history:
        history.backfill()
    search.create_indexes()


def _router() -> Router:
    return Router(database, migrate_dir=MIGRATIONS)


@contextmanager
def _one_upgrade_at_a_time() -> Iterator[None]:
    """Replicas starting together each run `db upgrade`: the second must wait, then find the
    work done. SQLite: one transaction, which takes the write lock at once (BEGIN IMMEDIATE);
    PostgreSQL: a session lock, since a transaction would only block on the first table."""
    if is_sqlite():
        with database.atomic():
            yield
        return
    database.execute_sql("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK,))
    try:
        yield
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK,))


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """On SQLite, foreign keys off, then checked: rebuilding a table (SQLite's only way to
    change most of one) drops the old one, which other tables' keys would refuse."""
    if not is_sqlite():
        yield
        return
    database.pragma("foreign_keys", 0)  # outside a transaction, or SQLite ignores it
    try:
        yield
        broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaMismatch(f"Rows refer to missing records after a migration: {broken[:5]}")
    finally:
        database.pragma("foreign_keys", 1)
