"""Record ids are given once: AUTOINCREMENT on SQLite, past every id a revision names."""

import peewee as pw
from peewee_migrate import Migrator

RECORDS = ("source", "event", "statistic", "target")
PLAIN = '"id" INTEGER NOT NULL PRIMARY KEY,'


def migrate(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """SQLite gave a deleted newest record's id to the next one; PostgreSQL never did."""
    if isinstance(database.obj, pw.SqliteDatabase):
        migrator.run(_autoincrement, database)


def _autoincrement(database: pw.DatabaseProxy) -> None:
    # SQLite cannot add AUTOINCREMENT to a table: each is rebuilt (its rows copied, the old
    # one dropped, the new one renamed, its indexes made again), as SQLite's documentation
    # describes. Foreign keys are off while migrations run on SQLite (models/schema.py).
    for table in RECORDS:
        (sql,) = database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if PLAIN not in sql:
            continue  # made with AUTOINCREMENT already
        indexes = database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        ).fetchall()
        new = sql.replace(f'"{table}"', f'"{table}__new"', 1)
        database.execute_sql(new.replace(PLAIN, PLAIN[:-1] + " AUTOINCREMENT,"))
        database.execute_sql(f'INSERT INTO "{table}__new" SELECT * FROM "{table}"')
        database.execute_sql(f'DROP TABLE "{table}"')
        database.execute_sql(f'ALTER TABLE "{table}__new" RENAME TO "{table}"')
        for (index,) in indexes:
            database.execute_sql(index)
        # The counter starts past the ids of deleted records too, which their revisions keep.
        database.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        database.execute_sql(
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?, max(coalesce((SELECT max(id) "
            f'FROM "{table}"), 0), coalesce((SELECT max(CAST(key AS INTEGER)) FROM revision '
            "WHERE resource = ?), 0))",
            (table, table),
        )


def rollback(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Nothing to undo that matters: an id given once may as well stay so."""
