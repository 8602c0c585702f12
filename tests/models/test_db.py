"""The database: write transactions that take turns, and the helpers for bulk work."""

import threading
import time

from models.db import among, database, insert_rows, is_sqlite, one_of
from models.tables import Segment, Source, Statistic


def test_insert_rows_returns_the_keys_and_fills_in_defaults(app):
    fields = [Source.publisher, Source.title, Source.url]
    rows = [("P", f"T{n}", f"https://example.org/{n}") for n in range(3)]
    with app.app_context():
        keys = insert_rows(Source, fields, rows, returning=Source.id)
        stored = list(Source.select().where(Source.id.in_(keys)).order_by(Source.id))
        assert [s.title for s in stored] == ["T0", "T1", "T2"]
        # version and the two timestamps were not given: their defaults, one for all rows.
        assert {(s.version, s.created_at) for s in stored} == {(1, stored[0].created_at)}


def test_among_matches_any_number_of_keys(app):
    with app.app_context():
        assert Source.select().where(among(Source.id, [1, 99])).count() == 1
        assert Source.select().where(among(Source.id, [])).count() == 0
        codes = ["total", "passenger_cars", "nothing"]
        assert Segment.select().where(among(Segment.code, codes)).count() == 2


def test_one_of_finds_rows_by_several_columns_through_an_index(app):
    columns = [Statistic.indicator, Statistic.region, Statistic.segment]
    keys = [("vehicle_exports", "CN", "total"), ("vehicle_exports", "XX", "total")]
    with app.app_context():
        query = one_of(Statistic.select(Statistic.id), columns, keys)
        assert sorted(query.tuples()) == [(1,)]
        if is_sqlite():
            # A row-value IN list here would read the whole table: SCAN statistic.
            sql, params = query.sql()
            plan = " ".join(
                row[-1] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
            assert "SEARCH" in plan and "SCAN t1" not in plan and "SCAN statistic" not in plan


def test_write_transactions_take_turns(app):
    # Two writes that ran side by side would each miss what the other had not committed yet
    # (a search document rebuilt from stale text), or lock rows in opposite orders.
    order, first_began = [], threading.Event()

    def first():
        with database.atomic():
            Source.update(title="first").where(Source.id == 1).execute()
            order.append("first began")
            first_began.set()
            time.sleep(0.5)  # room for the second to begin, were it not made to wait
            order.append("first ended")
        database.close()

    def second():
        first_began.wait()
        with database.atomic():
            order.append("second began")
        database.close()

    with app.app_context():
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert order == ["first began", "first ended", "second began"]
