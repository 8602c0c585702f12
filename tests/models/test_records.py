"""The domain layer without HTTP: optimistic locking under real concurrency, and the seed's data."""

import json
import re
import threading
from datetime import date
from decimal import Decimal

import pytest
from peewee import fn
from playhouse.shortcuts import model_to_dict

from models import queries, records
from models.db import database
from models.errors import Conflict, NotFound, PreconditionFailed
from models.history import HISTORY
from models.tables import Statistic, as_text

WRITERS = 8


def race(app, write) -> list:
    """Run `write(n)` in WRITERS threads released at once; return each one's outcome."""
    barrier = threading.Barrier(WRITERS)
    outcomes = [None] * WRITERS

    def run(n):
        with app.app_context():
            barrier.wait()
            try:
                write(n)
                outcomes[n] = "won"
            except PreconditionFailed:
                outcomes[n] = "stale"
            except NotFound:
                outcomes[n] = "gone"
            finally:
                database.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_writers_racing_with_one_version_cannot_both_win(app):
    outcomes = race(
        app, lambda n: records.update(Statistic, 1, {"value": Decimal(1000 + n)}, versions={1})
    )
    assert sorted(outcomes) == ["stale"] * (WRITERS - 1) + ["won"]
    winner = outcomes.index("won")
    with app.app_context():
        row = records.fetch(Statistic, 1)
    assert (row.version, row.value) == (2, Decimal(1000 + winner))


def test_deleters_racing_with_one_version_delete_once(app):
    with app.app_context():
        key = records.create(Statistic, _statistic(period_start="2024-01-01")).id
    outcomes = race(app, lambda n: records.delete(Statistic, key, versions={1}))
    assert outcomes.count("won") == 1
    assert set(outcomes) <= {"won", "stale", "gone"}
    with app.app_context(), pytest.raises(NotFound):
        records.fetch(Statistic, key)


def test_unconditional_writers_all_apply_in_turn(app):
    outcomes = race(app, lambda n: records.update(Statistic, 1, {"quote": f"w{n}"}, None))
    assert outcomes == ["won"] * WRITERS
    with app.app_context():
        assert records.fetch(Statistic, 1).version == 1 + WRITERS


def test_failed_write_leaves_no_trace(app):
    with app.app_context():
        before = Statistic.select().count()
        with pytest.raises(Conflict):
            records.create(Statistic, _statistic(period_start="2025-01-01"))  # the seed's key
        assert Statistic.select().count() == before


def test_an_id_is_never_given_twice(app):
    # SQLite without AUTOINCREMENT gives a deleted newest row's id to the next row, whose
    # first revision then collides with the deleted record's.
    with app.app_context():
        newest = Statistic.select(fn.MAX(Statistic.id)).scalar()
        records.delete(Statistic, newest, None)
        created = records.create(Statistic, _statistic(period_start="2019-01-01"))
        assert created.id == newest + 1
        assert [r.change for r in records.revisions(Statistic, created.id)] == ["create"]


def test_seed_values_round_trip_exactly(client):
    text = client.get("/v1/statistics?segment=passenger_cars").get_data(as_text=True)
    assert re.search(r'"value": ?1178000,', text) and re.search(r'"change_pct": ?6\.1,', text)
    values = {
        s["segment"]: (s["value"], s["change_pct"]) for s in client.get("/v1/statistics").json
    }
    assert values == {
        "total": (1420000, 7.3),
        "passenger_cars": (1178000, 6.1),
        "commercial_vehicles": (242000, 13.1),
        "new_energy_vehicles": (441000, 43.9),
    }


@pytest.mark.parametrize("value", [0.1, 0.000001, 123456789012345, 999999999.123456, 7.3, 1e-6])
def test_values_round_trip_exactly(client, value):
    body = {
        "indicator": "vehicle_exports",
        "region": "DE",
        "segment": "total",
        "period": "2024",
        "value": value,
        "source_id": 1,
    }
    created = client.post("/v1/statistics", json=body)
    assert created.status_code == 201, created.json
    assert client.get(created.headers["Location"]).json["value"] == value


def _statistic(period_start: str) -> dict:
    from datetime import date

    start = date.fromisoformat(period_start)
    return {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": "total",
        "period_start": start,
        "period_end": start.replace(month=3, day=31),
        "value": Decimal(1),
        "source": 1,
    }


def statistic(period: str, **changes) -> dict:
    start, end = {"2024": ("2024-01-01", "2024-12-31"), "2023": ("2023-01-01", "2023-12-31")}[
        period
    ]
    return {
        "indicator": "vehicle_exports",
        "region": "DE",
        "segment": "total",
        "period_start": date.fromisoformat(start),
        "period_end": date.fromisoformat(end),
        "value": Decimal(100),
        "source": 1,
        "quote": "bulk hydrogen",
    } | changes


def test_create_many_stores_the_good_rows_and_says_why_for_the_others(app):
    rows = [
        statistic("2024"),
        statistic("2023", source=99),  # no such source
        statistic("2023", value=Decimal(-1)),  # a count cannot be negative
        statistic("2024"),  # the same as the first row
        statistic(
            "2023",
            region="CN",
            segment="total",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
        ),  # the seed's first statistic
        statistic("2023"),
    ]
    with app.app_context(), database.atomic():
        ids, errors = records.create_many(Statistic, rows)
        assert sorted(ids) == [0, 5]
        assert {i: type(e).__name__ for i, e in errors.items()} == {
            1: "Invalid",
            2: "Invalid",
            3: "Conflict",
            4: "Conflict",
        }
        assert errors[1].errors == {"source": "There is no source 99."}
        # Stored as create would store them: revision, history and search document.
        for key in ids.values():
            assert [r.change for r in records.revisions(Statistic, key)] == ["create"]
        history = HISTORY[Statistic]
        assert history.select().where(history.id.in_(list(ids.values()))).count() == 2
        found, _ = queries.listing(Statistic, {}, q="hydrogen")
        assert sorted(s.id for s in found) == sorted(ids.values())
        # Recorded from what was inserted, not read back: the same as the stored record.
        for key in ids.values():
            (revision,) = records.revisions(Statistic, key)
            stored = model_to_dict(records.fetch(Statistic, key), recurse=False)
            assert json.loads(revision.record) == json.loads(json.dumps(stored, default=as_text))
