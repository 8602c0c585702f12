"""Bad input, resource by resource: a 422 naming the field, and nothing stored."""

import pytest

from tests.api import test_resource as crud
from tests.helpers import count

VALID = {
    "sources": crud.TestSources.new,
    "indicators": crud.TestIndicators.new,
    "segments": crud.TestSegments.new,
    "events": crud.TestEvents.new,
    "statistics": crud.TestStatistics.new,
    "targets": crud.TestTargets.new,
}
MISSING = object()
LONG = "x" * 5001
SEED_URL = (
    "https://nenpower.com/blog/chinas-automotive-industry-launches-2025-vision-for-global-"
    "expansion-and-innovation/"
)

CASES = [
    # collection, field, bad value (MISSING: left out)
    ("sources", "url", MISSING),
    ("sources", "url", "not a url"),
    ("sources", "url", "ftp://example.org/file"),
    ("sources", "publisher", ""),
    ("sources", "title", LONG),
    ("sources", "published_on", "2025-02-30"),
    ("sources", "retrieved_at", "yesterday"),
    ("sources", "id", 7),
    ("sources", "version", 5),
    ("indicators", "code", "Vehicle Exports"),
    ("indicators", "measure", "kilograms"),
    ("indicators", "unit", MISSING),
    ("segments", "parent", "no_such_segment"),
    ("segments", "additive", "yes"),
    ("segments", "created_at", "2025-01-01T00:00:00Z"),
    ("events", "date", MISSING),
    ("events", "date", "10 May 2025"),
    ("events", "end_date", "2025-04-01"),
    ("events", "country", "WORLD"),
    ("events", "country", "XX"),
    ("events", "topics", "electric vehicles"),
    ("events", "topics", [""]),
    ("events", "source_id", MISSING),
    ("events", "source_id", 999),
    ("events", "source_id", "1"),
    ("events", "quote", LONG),
    ("statistics", "value", MISSING),
    ("statistics", "value", "1420000"),
    ("statistics", "value", -5),
    ("statistics", "value", 1.0000001),
    ("statistics", "value", 1e19),
    ("statistics", "value", 1234567890.1234567),
    ("statistics", "period", "2025-Q5"),
    ("statistics", "period", "2025-13"),
    ("statistics", "period", "2025-H3"),
    ("statistics", "period", "2025-02-30"),
    ("statistics", "period", "2025-03-01/2025-02-01"),
    ("statistics", "period", "Q1 2025"),
    ("statistics", "period", 2025),
    ("statistics", "indicator", "no_such_indicator"),
    ("statistics", "segment", "no_such_segment"),
    ("statistics", "region", "XX"),
    ("statistics", "region", "cn"),
    ("statistics", "source_id", 999),
    ("statistics", "source_id", 1.5),
    ("statistics", "event_id", 999),
    ("statistics", "change_basis", "mom"),
    ("targets", "target_value", MISSING),
    ("targets", "target_period", "2030-Q0"),
    ("targets", "share_of", "new_energy_vehicles"),
    ("targets", "direction", "upwards"),
    ("targets", "status", "done"),
    ("targets", "baseline_period", MISSING),
    ("targets", "indicator", "no_such_indicator"),
]


@pytest.mark.parametrize(("collection", "field", "value"), CASES)
def test_bad_field_is_422_naming_it_and_stores_nothing(client, collection, field, value):
    body = dict(VALID[collection])
    if value is MISSING:
        body.pop(field)
    else:
        body[field] = value
    if collection == "targets" and field == "share_of":
        body["segment"] = "new_energy_vehicles"  # a segment cannot be a share of itself
    before = count(client, collection)

    response = client.post(f"/v1/{collection}", json=body)

    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    pointers = [error["pointer"] for error in problem["errors"]]
    expected = "/baseline_value" if field == "baseline_period" else f"/{field}"
    assert any(p == expected or p.startswith(f"{expected}/") for p in pointers), problem
    assert count(client, collection) == before


def test_bad_patch_changes_nothing(client):
    before = client.get("/v1/statistics/1").get_json()
    response = client.patch(
        "/v1/statistics/1", json={"value": 5, "period": "2025-Q9"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert client.get("/v1/statistics/1").get_json() == before


@pytest.mark.parametrize(
    ("collection", "body", "detail"),
    [
        ("sources", crud.TestSources.new | {"url": SEED_URL}, "same url"),
        ("indicators", crud.TestIndicators.new | {"code": "vehicle_exports"}, "same code"),
        ("statistics", crud.TestStatistics.new | {"period": "2025-Q1"}, "already exists"),
    ],
)
def test_duplicate_natural_key_is_409(client, collection, body, detail):
    before = count(client, collection)
    response = client.post(f"/v1/{collection}", json=body)
    assert response.status_code == 409
    assert detail in response.get_json()["detail"]
    assert count(client, collection) == before


def test_changing_a_record_into_a_duplicate_is_409(client):
    response = client.patch(
        "/v1/statistics/2", json={"segment": "total"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("path", "referrers"),
    [
        ("/v1/sources/1", "1 event, 4 statistics, 2 targets"),
        ("/v1/events/1", "4 statistics, 2 targets"),
        ("/v1/indicators/vehicle_exports", "4 statistics, 2 targets"),
        ("/v1/segments/total", "3 segments, 1 statistic, 2 targets"),
    ],
)
def test_deleting_a_referenced_record_is_409_explaining_why(client, path, referrers):
    response = client.delete(path, headers={"If-Match": '"1"'})
    assert response.status_code == 409
    assert referrers in response.get_json()["detail"]
    assert client.get(path).status_code == 200


def test_primary_code_cannot_change(client):
    body = crud.TestIndicators.new | {"code": "renamed"}
    response = client.put("/v1/indicators/vehicle_exports", json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/code"


def test_unit_of_an_indicator_in_use_cannot_change(client):
    response = client.patch(
        "/v1/indicators/vehicle_exports", json={"unit": "kilovehicles"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/unit"


def test_segment_cycle_is_refused(client):
    response = client.patch(
        "/v1/segments/total", json={"parent": "passenger_cars"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/parent"


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("post", "/v1/sources", crud.TestSources.new | {"publisher": "Nen\x00Power"}, "pointer"),
        ("post", "/v1/events", crud.TestEvents.new | {"topics": ["ev\x00"]}, "pointer"),
        ("get", "/v1/statistics?segment=to%00tal", None, "parameter"),
    ],
)
def test_nul_characters_are_refused_on_every_backend(client, method, path, body, where):
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps the backends alike.
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 422
    assert where in response.get_json()["errors"][0]


def test_a_path_code_that_cannot_exist_is_404(client):
    assert client.get("/v1/indicators/vehicle%00exports").status_code == 404
    assert client.get("/v1/indicators/Vehicle_Exports").status_code == 404


@pytest.mark.parametrize(
    ("collection", "field", "value"),
    [
        ("events", "title", "\ud800 unpaired"),
        ("sources", "retrieved_at", "0001-01-01T00:00:00+01:00"),
        ("sources", "retrieved_at", "9999-12-31T23:59:59-01:00"),
        ("statistics", "period", "/".join(["2025"] * 1200)),
    ],
)
def test_values_no_backend_can_hold_are_422(client, collection, field, value):
    body = dict(VALID[collection]) | {field: value}
    response = client.post(f"/v1/{collection}", json=body)
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["pointer"] == f"/{field}"


def test_json_nested_too_deeply_is_400(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/v1/events", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query", ["value_min=1e-20000", "value_max=1E%2B999999", "value_min=sNaN", "value_max=inf"]
)
def test_numbers_no_column_can_hold_are_422(client, query):
    assert client.get(f"/v1/statistics?{query}").status_code == 422
