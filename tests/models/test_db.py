"""The database helpers for bulk work: inserts built once per shape, and IN as one parameter."""

from models.db import among, insert_rows
from models.tables import Segment, Source


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
