"""The data stamp: every write gives it a new value in its own transaction; nothing else does."""

import pytest

from models import dump, records, schema, stamp
from models.db import database
from models.errors import Conflict
from models.tables import Statistic


def test_each_write_gives_a_new_stamp_and_a_read_none(app):
    with app.app_context():
        seeded = stamp.current()
        assert seeded is not None  # the seed was written
        list(Statistic.select())
        assert stamp.current() == seeded
        created = records.create(Statistic, _statistic())
        after_create = stamp.current()
        records.update(Statistic, created.id, {"value": 2}, None)
        after_update = stamp.current()
        records.delete(Statistic, created.id, None)
        stamps = [seeded, after_create, after_update, stamp.current()]
        assert len(set(stamps)) == 4


def test_a_refused_write_leaves_the_stamp_as_it_was(app):
    with app.app_context():
        before = stamp.current()
        first = _first()
        with pytest.raises(Conflict):  # the first statistic again
            records.create(
                Statistic, _statistic(period_start=first.period_start, period_end=first.period_end)
            )
        with pytest.raises(RuntimeError), database.atomic():
            records.create(Statistic, _statistic())
            raise RuntimeError("rolled back")
        assert stamp.current() == before


def test_a_restore_and_an_upgrade_give_a_new_stamp(app):
    with app.app_context():
        rows = list(dump.export_rows())
        schema.drop_schema()
        schema.create_schema()
        assert stamp.current() is None  # a new database: no write has stamped it
        dump.import_rows(rows)
        restored = stamp.current()
        assert restored is not None
        schema.drop_schema()
        schema.upgrade()
        assert stamp.current() is not None


def _first() -> Statistic:
    return Statistic.select().order_by(Statistic.id).get()


def _statistic(**changes):
    first = _first()
    return {
        "indicator": first.indicator_id,
        "region": first.region,
        "segment": first.segment_id,
        "period_start": first.period_start.replace(year=2019),
        "period_end": first.period_end.replace(year=2019),
        "frequency": first.frequency,
        "value": 1,
        "source": first.source_id,
    } | changes
