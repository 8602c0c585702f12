"""What a figure says about itself: a statistic's status, precision and rank; a target's."""

import copy
from typing import Any

import peewee as pw
from peewee_migrate import Migrator

NEW: dict[str, dict[str, pw.Field]] = {
    "statistic": {
        "status": pw.CharField(max_length=16, default="reported", index=True),
        "precision": pw.DecimalField(max_digits=24, decimal_places=6, auto_round=False, null=True),
        "lower": pw.DecimalField(max_digits=24, decimal_places=6, auto_round=False, null=True),
        "upper": pw.DecimalField(max_digits=24, decimal_places=6, auto_round=False, null=True),
        "rank": pw.CharField(max_length=16, default="normal"),
        "rank_reason": pw.TextField(null=True),
    },
    "target": {
        "value_status": pw.CharField(max_length=16, default="reported", index=True),
        "rank": pw.CharField(max_length=16, default="normal"),
        "rank_reason": pw.TextField(null=True),
    },
}


def migrate(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Add the columns, each record taking the defaults: reported, normal, no stated
    precision; and give the history tables the same columns, before their own two."""
    sequences: dict[str, int] = {}
    migrator.run(_read_sequences, database, sequences)
    for table, fields in NEW.items():
        migrator.add_fields(table, **fields)  # type: ignore[arg-type]  # mypy: could a key be allow_not_null?
        migrator.run(_rebuild_history, database, table)
    migrator.run(_restore_sequences, database, sequences)


def _read_sequences(database: pw.DatabaseProxy, sequences: dict[str, int]) -> None:
    # On SQLite a NOT NULL column is added by making the table again, which forgets where its
    # ids had got to: a deleted newest record's id would be given again (see 002).
    if isinstance(database.obj, pw.SqliteDatabase):
        marks = ", ".join("?" * len(NEW))
        rows = database.execute_sql(
            f"SELECT name, seq FROM sqlite_sequence WHERE name IN ({marks})", list(NEW)
        )
        sequences.update(rows.fetchall())


def _restore_sequences(database: pw.DatabaseProxy, sequences: dict[str, int]) -> None:
    for name, seq in sequences.items():
        database.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
        database.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))


def _rebuild_history(database: pw.DatabaseProxy, table: str) -> None:
    # A history table keeps its own columns (valid_from, valid_to) after its record's, and a
    # column can only be added at the end: the table is made again in that order, its rows
    # copied. Its model is today's, cut to the columns it had and those added here, so that
    # a later migration's columns are left to that migration.
    from models import history
    from models.tables import Statistic, Target

    model = {"statistic": Statistic, "target": Target}[table]
    current = history.HISTORY[model]
    name = current._meta.table_name
    had = [column.name for column in database.get_columns(name)]
    if set(NEW[table]) <= set(had):
        return  # made with them, by an upgrade that adopted a database made before migrations
    by_column = {f.column_name: f for f in current._meta.sorted_fields}
    # Each new column goes where a table made today has it: after the column before it there.
    today = [f.column_name for f in current._meta.sorted_fields]
    order = list(had)
    for column in NEW[table]:
        order.insert(order.index(today[today.index(column) - 1]) + 1, column)
    fields = {by_column[column].name: copy.copy(by_column[column]) for column in order}
    for position, field in enumerate(fields.values()):  # in the order the table had them
        field._order, field._sort_key = position, (2, position)
    meta = type(
        "Meta",
        (),
        {
            "table_name": name,
            "primary_key": False,
            "indexes": [
                (columns, unique)
                for columns, unique in current._meta.indexes
                if set(columns) <= set(fields)
            ],
            "database": database,
        },
    )
    rebuilt: Any = type(current.__name__, (pw.Model,), {**fields, "Meta": meta})
    for index in database.get_indexes(name):
        database.execute_sql(f'DROP INDEX "{index.name}"')
    database.execute_sql(f'ALTER TABLE "{name}" RENAME TO "{name}__old"')
    rebuilt.create_table(safe=False)
    # Every version before this one was a reported, normal figure with no stated precision.
    added = {name: f.default for name, f in NEW[table].items() if f.default is not None}
    into = ", ".join(f'"{column}"' for column in [*had, *added])
    values = ", ".join([*(f'"{column}"' for column in had), *[database.obj.param] * len(added)])
    database.execute_sql(
        f'INSERT INTO "{name}" ({into}) SELECT {values} FROM "{name}__old"', list(added.values())
    )
    database.execute_sql(f'DROP TABLE "{name}__old"')


def rollback(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    for table, fields in NEW.items():
        migrator.remove_fields(table, *fields)
        migrator.remove_fields(f"{table}_history", *fields)
