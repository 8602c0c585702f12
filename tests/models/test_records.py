"""The domain layer without HTTP: optimistic locking under real concurrency, and the seed's data."""

import json
import re
import threading
from datetime import date
from decimal import Decimal

import pytest
from peewee import fn
from playhouse.shortcuts import model_to_dict

from models import queries, records, resources, rules, search
from models.db import database
from models.errors import Conflict, Invalid, NotFound, PreconditionFailed
from models.history import HISTORY, record_of
from models.tables import Indicator, Revision, Segment, Statistic, Target, as_text
from tests.helpers import count, read

WRITERS = 8
WRITABLE_STATISTIC = (
    "indicator",
    "region",
    "segment",
    "period",
    "value",
    "change_basis",
    "source_id",
)


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
        # Its version is the stored record, as JSON holds it.
        for key in ids.values():
            (revision,) = records.revisions(Statistic, key)
            stored = model_to_dict(records.fetch(Statistic, key), recurse=False)
            assert record_of(revision) == json.loads(json.dumps(stored, default=as_text))


def test_create_many_checks_the_rules_of_a_chunk_whose_references_are_all_stored(app):
    # Such a chunk skips each row's own look for its references: its rules still hold.
    rows = [statistic("2024"), statistic("2023", value=Decimal(-1), change_pct=Decimal(5))]
    with app.app_context(), database.atomic() as transaction:
        ids, errors = records.create_many(Statistic, rows)
        assert list(ids) == [0]
        assert errors[1].errors == {
            "value": "A count cannot be negative.",
            "change_basis": "Say what change_pct compares with (for example yoy).",
        }
        transaction.rollback()


def stored_as(model, keys: list) -> list[dict]:
    """Everything a create leaves of the records `keys`, in their order: fields, revisions,
    history and search document; with what tells two stores apart (the key, the instants)
    left out."""
    history = HISTORY[model]
    pk = model._meta.primary_key.name
    index = search.index_table(model)
    found = []
    for key in keys:
        revised = list(Revision.select().where(Revision.key == str(key)).dicts())
        versions = list(history.select().where(getattr(history, pk) == key).dicts())
        assert [v["valid_from"] for v in versions] == [r["at"] for r in revised]
        body = None
        if resources.of(model).document:
            body = index.select(index.c.body).where(search._key(model) == key).scalar(database)
        found.append(
            {
                "record": model_to_dict(model.get_by_id(key), recurse=False),
                "revisions": [(r["resource"], r["change"], r["version"], r["by"]) for r in revised],
                "history": versions,
                "body": body,
            }
        )
    different = {pk, "created_at", "updated_at", "valid_from"}
    for stored in found:
        for fields in (stored["record"], *stored["history"]):
            for name in different & fields.keys():
                fields[name] = "differs"
    return found


@pytest.mark.parametrize(
    ("model", "rows"),
    [
        (Statistic, [statistic("2024"), statistic("2023", region="FR", quote=None)]),
        # Keyed by code, given out of order: revisions follow the rows, not the codes.
        (
            Indicator,
            [
                {"code": code, "name": code.title(), "unit": "units", "measure": "count"}
                for code in ("zebras", "apples")
            ],
        ),
    ],
)
def test_create_many_stores_each_row_as_create_stores_it(app, model, rows):
    pk = model._meta.primary_key.name
    with app.app_context(), database.atomic() as transaction:
        created = [getattr(records.create(model, row), pk) for row in rows]
        one_by_one = stored_as(model, created)
        transaction.rollback()
    with app.app_context(), database.atomic() as transaction:
        first = Revision.select(fn.MAX(Revision.id)).scalar() or 0
        ids, errors = records.create_many(model, rows)
        assert errors == {} and list(ids) == list(range(len(rows)))
        in_bulk = stored_as(model, list(ids.values()))
        revised = Revision.select(Revision.key).where(Revision.id > first).order_by(Revision.id)
        assert [r.key for r in revised] == [str(key) for key in ids.values()]
        transaction.rollback()
    assert in_bulk == one_by_one


@pytest.mark.parametrize(
    ("value", "change_pct", "refused"),
    [
        (Decimal(100), Decimal(-150), True),  # the value before would have been -200
        (Decimal(0), Decimal("-100.5"), True),
        (Decimal(100), Decimal(-100), True),  # a fall of 100% leaves 0, not 100
        (Decimal(0), Decimal(-100), False),  # exports that stopped altogether
        (Decimal(100), Decimal("-99.9"), False),
    ],
)
def test_a_count_cannot_fall_by_more_than_everything(app, value, change_pct, refused):
    row = statistic("2024", value=value, change_pct=change_pct, change_basis="yoy")
    with app.app_context():
        if refused:
            with pytest.raises(Invalid) as error:
                records.create(Statistic, row)
            assert list(error.value.errors) == ["change_pct"]
        else:
            assert records.create(Statistic, row).change_pct == change_pct


def test_a_measure_that_may_be_negative_may_fall_by_more_than_everything(app):
    # A trade balance of 100 that was -100 a year before "changed by -200%" in some sources.
    with app.app_context():
        records.create(
            Indicator,
            {"code": "trade_balance", "name": "Balance", "unit": "USD", "measure": "amount"},
        )
        row = statistic("2024", indicator="trade_balance", change_pct=Decimal(-200))
        assert records.create(Statistic, row | {"change_basis": "yoy"}).change_pct == -200


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/statistics"), ("put", "/v1/statistics/1"), ("patch", "/v1/statistics/1")],
)
def test_a_single_write_of_an_impossible_fall_is_422_naming_change_pct(client, method, path):
    body, etag = read(client, "/v1/statistics/1")
    body = {name: body[name] for name in WRITABLE_STATISTIC} | {"change_pct": -100.5}
    if method == "post":
        body["period"] = "2024"
    response = getattr(client, method)(path, json=body, headers={"If-Match": etag})
    assert response.status_code == 422, response.json
    assert [e["pointer"] for e in response.json["errors"]] == ["/change_pct"]
    assert read(client, "/v1/statistics/1")[0]["change_pct"] == 7.3
    assert count(client, "statistics") == 4


def target(**changes) -> dict:
    return {
        "title": "A share",
        "region": "CN",
        "indicator": "vehicle_exports",
        "segment": "passenger_cars",
        "share_of": "total",
        "target_value": Decimal(60),
        "target_period_start": date(2030, 1, 1),
        "target_period_end": date(2030, 12, 31),
        "source": 1,
    } | changes


def test_a_share_is_of_a_segment_that_contains_the_part_or_stands_beside_it(app):
    with app.app_context():
        records.create(Segment, {"code": "suvs", "name": "SUVs", "parent": "passenger_cars"})
        for share_of in ("total", "passenger_cars", "commercial_vehicles"):
            assert records.create(Target, target(segment="suvs", share_of=share_of))
        for share_of in ("passenger_cars", "suvs"):  # the part itself, or a part of it
            with pytest.raises(Invalid) as error:
                records.create(Target, target(share_of=share_of))
            assert list(error.value.errors) == ["share_of"]
        with pytest.raises(Invalid) as error:
            records.create(Target, target(segment="total", share_of="suvs"))  # two levels down
        assert "part of 'total'" in error.value.errors["share_of"]


def test_the_walk_up_the_segments_ends_even_where_they_loop(app):
    # A loop can only be stored behind the rules' back (by hand, or before they existed).
    with app.app_context():
        records.create(Segment, {"code": "suvs", "name": "SUVs", "parent": "passenger_cars"})
        Segment.update(parent="suvs").where(Segment.code == "total").execute()
        assert list(rules.lineage("suvs")) == ["suvs", "passenger_cars", "total"]
        with pytest.raises(Invalid) as error:
            records.create(Target, target(segment="total", share_of="commercial_vehicles"))
        assert list(error.value.errors) == ["share_of"]
        assert records.create(Target, target(segment="new_energy_vehicles", share_of="suvs"))


def test_a_segment_cannot_move_under_a_segment_that_takes_a_share_of_it(app):
    with app.app_context():
        records.create(Segment, {"code": "suvs", "name": "SUVs", "parent": "total"})
        records.create(Target, target(segment="commercial_vehicles", share_of="suvs"))
        with pytest.raises(Invalid) as error:
            records.update(Segment, "suvs", {"parent": "commercial_vehicles"}, None)
        assert list(error.value.errors) == ["parent"]
        # Under a segment beside it, or renamed where it is, it may go.
        records.update(Segment, "suvs", {"parent": "passenger_cars"}, None)
        records.update(Segment, "suvs", {"name": "Sport utility vehicles"}, None)
