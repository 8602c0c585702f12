"""Migrations: they make the models' schema, keep data across upgrades, and are checked."""

import json
import re
import threading

import pytest
from peewee import SqliteDatabase

from models import dump, history, records, schema
from models.db import database
from models.history import record_of
from models.schema import SchemaMismatch
from models.tables import Revision, Statistic
from tests.models.test_revisions_migration import load

FIRST = schema.ADOPTED


def test_the_migrations_make_the_schema_the_models_define(app):
    with app.app_context():
        schema.drop_schema()
        assert schema.upgrade() == [name for name, _ in schema.status()]
        migrated = shape(database.obj)
        schema.drop_schema()
        schema.create_schema()
        assert shape(database.obj) == migrated
        schema.check()


def test_an_upgrade_from_the_first_migration_keeps_every_row(app):
    with app.app_context():
        newest = Statistic.select().order_by(Statistic.id.desc()).get().id
        records.delete(Statistic, newest, None)  # the case the second migration is for
        before = _at_the_first_schema()
        with pytest.raises(SchemaMismatch, match="behind"):
            schema.check()

        assert schema.upgrade() == [name for name, _ in schema.status()][1:]
        assert list(dump.export_rows()) == before
        schema.check()
        period = {"period_start": "2019-01-01", "period_end": "2019-12-31"}
        created = records.create(Statistic, _statistic(**period))
        assert created.id == newest + 1


def _at_the_first_schema() -> list[str]:
    """Store today's rows again at the first migration's schema; returns them as exported."""
    before = list(dump.export_rows())
    # At the first migration's schema, each revision held a copy of its version.
    copies = {r.id: record_of(r) for r in history.with_records(list(Revision.select()))}
    schema.drop_schema()
    assert schema.upgrade(FIRST) == [FIRST]
    load([_with_copy(line, copies) for line in before])
    return before


def _with_copy(line: str, copies: dict) -> str:
    item = json.loads(line)
    if item["table"] == "revision":
        item["row"]["record"] = json.dumps(copies[item["row"]["id"]])
    return json.dumps(item)


def test_upgrades_started_together_apply_each_migration_once(app):
    with app.app_context():
        schema.drop_schema()
    barrier, outcomes = threading.Barrier(2), []

    def upgrade():
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(schema.upgrade())
            finally:
                database.close()

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [name for name, _ in schema.status()]
    assert sorted(outcomes) == [[], names]


def test_a_database_made_before_migrations_is_adopted(app):
    with app.app_context():
        before = _at_the_first_schema()
        database.execute_sql("DROP TABLE migratehistory")  # as release 0.1's init-db left it
        assert schema.upgrade() == [name for name, _ in schema.status()][1:]
        assert [applied for _, applied in schema.status()] == [True] * len(schema.status())
        assert list(dump.export_rows()) == before


def test_a_database_ahead_of_the_code_is_refused(app):
    with app.app_context():
        schema.check()
        database.execute_sql(
            "INSERT INTO migratehistory (name, migrated_at) VALUES ('999_from_the_future', "
            "CURRENT_TIMESTAMP)"
        )
        with pytest.raises(SchemaMismatch, match="ahead.*999_from_the_future"):
            schema.check()
        assert schema.status()[-1] == ("999_from_the_future", True)


def _statistic(**fields) -> dict:
    from datetime import date
    from decimal import Decimal

    return {
        "indicator": "vehicle_exports",
        "region": "DE",
        "segment": "total",
        "value": Decimal(1),
        "source": 1,
    } | {name: date.fromisoformat(value) for name, value in fields.items()}


def shape(db) -> dict:
    """Everything a schema is made of, as the database itself describes it."""
    if isinstance(db, SqliteDatabase):
        rows = db.execute_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "AND tbl_name != 'migratehistory'"
        )
        # A table made by a rebuild and renamed keeps its first name's quoting; say it alike.
        return {(kind, name): re.sub(r"\s+", " ", sql or "") for kind, name, sql in rows}
    columns = db.execute_sql(
        "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
        "numeric_precision, numeric_scale, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name != 'migratehistory'"
    )
    indexes = db.execute_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename != 'migratehistory'"
    )
    constraints = db.execute_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace "
        "AND conrelid::regclass::text != 'migratehistory'"
    )
    return (
        {("column", *row[:2]): row[2:] for row in columns}
        | {("index", name): sql for name, sql in indexes}
        | {("constraint", *row[:2]): row[2] for row in constraints}
    )
