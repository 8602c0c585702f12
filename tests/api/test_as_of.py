"""Reading the past: `as_of` on every read, with every filter applied to the records of then."""

import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.helpers import read

ANY = {"If-Match": "*"}
NEW_STATISTIC = {
    "indicator": "vehicle_exports",
    "region": "DE",
    "segment": "total",
    "period": "2024",
    "value": 3100000,
    "source_id": 1,
    "quote": "Germany exported 3.1 million hydrogen-ready vehicles.",
}


def moment() -> str:
    """An instant strictly between the changes made before and after this call."""
    time.sleep(0.002)
    now = datetime.now(UTC)
    time.sleep(0.002)
    return now.isoformat()


def ids(response) -> list:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json]


def test_an_item_reads_as_it_was_before_a_revision(client):
    before = moment()
    old, old_tag = read(client, "/v1/statistics/2")
    assert client.patch("/v1/statistics/2", json={"value": 1179000}, headers=ANY).status_code == 200
    past = client.get("/v1/statistics/2", query_string={"as_of": before})
    assert past.json == old and past.headers["ETag"] == old_tag
    assert read(client, "/v1/statistics/2")[0]["value"] == 1179000


def test_filters_apply_to_the_values_of_then(client):
    before = moment()
    client.patch("/v1/statistics/2", json={"value": 2000000}, headers=ANY)
    query = {"value_min": 1500000}
    assert ids(client.get("/v1/statistics", query_string=query)) == [2]
    assert ids(client.get("/v1/statistics", query_string=query | {"as_of": before})) == []
    query = {"value_max": 1200000, "sort": "-value", "as_of": before}
    assert ids(client.get("/v1/statistics", query_string=query)) == [2, 4, 3]


def test_a_deleted_record_is_back_in_the_past_and_filtered_like_any(client):
    before = moment()
    assert client.delete("/v1/statistics/3", headers=ANY).status_code == 204
    assert client.get("/v1/statistics/3").status_code == 404
    assert client.get("/v1/statistics/3", query_string={"as_of": before}).json["value"] == 242000
    query = {"segment": "commercial_vehicles", "as_of": before}
    assert ids(client.get("/v1/statistics", query_string=query)) == [3]
    query["region"] = "JP"
    assert ids(client.get("/v1/statistics", query_string=query)) == []


def test_before_a_record_existed_it_does_not(client):
    before = moment()
    created = client.post("/v1/statistics", json=NEW_STATISTIC).json["id"]
    assert (
        client.get(f"/v1/statistics/{created}", query_string={"as_of": before}).status_code == 404
    )
    past = client.get("/v1/statistics", query_string={"as_of": before})
    assert created not in ids(past)
    assert json.loads(past.headers["X-Pagination"])["total"] == 4
    assert client.get("/v1/statistics", query_string={"as_of": "1999-12-31T23:59:59Z"}).json == []


def test_a_future_instant_answers_as_of_now(client):
    client.patch("/v1/statistics/2", json={"value": 1179000}, headers=ANY)
    future = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    assert read(client, f"/v1/statistics/2?as_of={future.replace('+', '%2B')}")[0]["value"] == (
        1179000
    )


def test_an_offset_is_converted_and_a_revision_instant_is_inclusive(client):
    client.patch("/v1/statistics/2", json={"value": 1179000}, headers=ANY)
    at = datetime.fromisoformat(client.get("/v1/statistics/2/revisions").json[0]["at"])
    for instant, value in (
        (at.isoformat(), 1179000),
        ((at - timedelta(microseconds=1)).isoformat(), 1178000),
        (at.astimezone(timezone(timedelta(hours=8))).isoformat(), 1179000),
        (
            (at - timedelta(microseconds=1)).astimezone(timezone(-timedelta(hours=5))).isoformat(),
            1178000,
        ),
    ):
        response = client.get("/v1/statistics/2", query_string={"as_of": instant})
        assert response.json["value"] == value, instant


def test_related_records_are_read_as_they_were_too(client):
    before = moment()
    client.patch("/v1/sources/1", json={"publisher": "Renamed"}, headers=ANY)
    client.patch("/v1/indicators/vehicle_exports", json={"name": "Exports"}, headers=ANY)
    past = client.get("/v1/statistics/1", query_string={"as_of": before}).json
    assert past["citation"].startswith("NenPower, ")
    assert client.get("/v1/statistics/1").json["citation"].startswith("Renamed, ")
    # The series names its indicator as it was, and so do the facts.
    series = {"indicator": "vehicle_exports", "region": "CN", "segment": "total"}
    assert client.get("/v1/series", query_string=series).json["indicator"]["name"] == "Exports"
    old = client.get("/v1/series", query_string=series | {"as_of": before}).json
    assert old["indicator"]["name"] == "Vehicle exports"


def test_series_and_facts_read_the_past(client):
    before = moment()
    client.patch("/v1/statistics/1", json={"value": 1500000}, headers=ANY)
    client.delete("/v1/statistics/4", headers=ANY)
    series = {"indicator": "vehicle_exports", "region": "CN", "segment": "total"}
    values = [p["value"] for p in client.get("/v1/series", query_string=series).json["points"]]
    assert values == [1500000]
    series["as_of"] = before
    values = [p["value"] for p in client.get("/v1/series", query_string=series).json["points"]]
    assert values == [1420000]
    facts = {"types": "statistic", "page_size": 100}
    now = {fact["id"] for fact in client.get("/v1/facts", query_string=facts).json}
    then = {
        fact["id"] for fact in client.get("/v1/facts", query_string=facts | {"as_of": before}).json
    }
    assert then - now == {4}


def test_checks_and_progress_read_the_past(client):
    before = moment()
    client.patch("/v1/statistics/3", json={"value": 300000}, headers=ANY)
    check = client.get("/v1/checks/reconciliation").json[0]
    assert check["status"] == "inconsistent"
    check = client.get("/v1/checks/reconciliation", query_string={"as_of": before}).json[0]
    assert check["status"] == "consistent"
    client.patch("/v1/statistics/4", json={"value": 100000}, headers=ANY)
    assert client.get("/v1/targets/2/progress").json["status"] != "met"
    past = client.get("/v1/targets/2/progress", query_string={"as_of": before}).json
    assert past["status"] == "met"
    listed = client.get("/v1/targets", query_string={"include": "progress", "as_of": before})
    assert listed.json[1]["progress"] == past


def test_search_matches_the_text_of_then(client):
    before = moment()
    client.patch("/v1/statistics/2", json={"quote": "Saloons abroad."}, headers=ANY)
    query = {"q": "million rise"}
    assert ids(client.get("/v1/statistics", query_string=query)) == []
    assert ids(client.get("/v1/statistics", query_string=query | {"as_of": before})) == [2]
    assert ids(client.get("/v1/statistics", query_string={"q": "saloon"})) == [2]
    assert ids(client.get("/v1/statistics", query_string={"q": "saloon", "as_of": before})) == []


@pytest.mark.parametrize("collection", ["statistics", "events", "targets", "sources"])
@pytest.mark.parametrize("words", ["vehicles", "exported", "energy vehicle", "launch", "2030"])
def test_searching_the_past_finds_what_searching_the_present_does(client, collection, words):
    # With nothing changed since, the two ways of matching must agree (order aside: the
    # index ranks with its statistics, the past by how often the words occur).
    client.post("/v1/statistics", json=NEW_STATISTIC)
    now = moment()
    query = {"q": words, "page_size": 100}
    present = sorted(ids(client.get(f"/v1/{collection}", query_string=query)))
    past = sorted(ids(client.get(f"/v1/{collection}", query_string=query | {"as_of": now})))
    assert past == present


def test_revisions_and_changes_as_of_stop_at_that_instant(client):
    before = moment()
    client.patch("/v1/statistics/2", json={"value": 1179000}, headers=ANY)
    versions = [r["version"] for r in client.get("/v1/statistics/2/revisions").json]
    assert versions == [2, 1]
    past = client.get("/v1/statistics/2/revisions", query_string={"as_of": before}).json
    assert [r["version"] for r in past] == [1]
    changes = client.get("/v1/changes", query_string={"as_of": before, "limit": 1000}).json
    assert len(changes) == 13 and all(c["change"] == "create" for c in changes)


def test_writes_ignore_as_of(client):
    client.patch("/v1/statistics/2", json={"value": 1179000}, headers=ANY)
    response = client.patch(
        "/v1/statistics/2?as_of=2000-01-01T00:00:00Z", json={"value": 1180000}, headers=ANY
    )
    assert response.status_code == 200 and response.json["version"] == 3


@pytest.mark.parametrize(
    "path",
    [
        "/v1/statistics",
        "/v1/statistics/1",
        "/v1/indicators/vehicle_exports",
        "/v1/statistics/1/revisions",
        "/v1/series?indicator=vehicle_exports&region=CN&segment=total",
        "/v1/facts",
        "/v1/checks/reconciliation",
        "/v1/checks/conflicts",
        "/v1/targets/1/progress",
        "/v1/changes",
    ],
)
@pytest.mark.parametrize(
    # No offset names no instant: RFC 3339 requires one, and so does the API.
    "value",
    ["yesterday", "2025-13-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "2025-06-01T00:00:00"],
)
def test_a_malformed_instant_is_a_422_naming_the_parameter(client, path, value):
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{path}{joiner}as_of={value}")
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert [error["parameter"] for error in response.json["errors"]] == ["as_of"]


# -- known_on: what the sources had published by a day ---------------------------------------


def add_source(client, published_on: str, name: str = "Customs") -> int:
    url = f"https://example.org/{name.replace(' ', '-')}"
    body = {"publisher": name, "title": f"{name} {published_on}", "url": url}
    response = client.post("/v1/sources", json=body | {"published_on": published_on})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_known_on_leaves_out_facts_published_after_the_day(client):
    # The seed's source was published on 2025-05-11.
    for path in ("/v1/statistics", "/v1/events", "/v1/targets", "/v1/sources"):
        assert ids(client.get(path, query_string={"known_on": "2025-05-10"})) == [], path
        assert ids(client.get(path, query_string={"known_on": "2025-05-11"})) != [], path
    assert (
        client.get("/v1/statistics/1", query_string={"known_on": "2025-05-10"}).status_code == 404
    )
    assert client.get("/v1/facts", query_string={"known_on": "2025-01-01"}).json == []


def test_a_backdated_source_changes_known_on_answers_but_not_as_of_answers(client):
    before = moment()
    source = add_source(client, "2024-03-01")
    body = NEW_STATISTIC | {"source_id": source, "region": "CN", "period": "2024-Q1"}
    body |= {"value": 1323000}
    created = client.post("/v1/statistics", json=body).json
    # Known on 2024-06-01, though stored today: only the 2024 release was published by then.
    query = {"region": "CN", "segment": "total", "known_on": "2024-06-01"}
    assert ids(client.get("/v1/statistics", query_string=query)) == [created["id"]]
    # As the database stood before it was stored, nobody knew it.
    query = {"region": "CN", "segment": "total", "as_of": before}
    assert ids(client.get("/v1/statistics", query_string=query)) == [1]
    both = {"known_on": "2024-06-01", "as_of": before}
    assert ids(client.get("/v1/statistics", query_string=both)) == []
    # Today, the 2025 release's stated change is checked against the 2024 figure; on a day
    # before the 2025 release, there is no 2025 figure to check.
    assert client.get("/v1/statistics/1").json["derived_change_pct"] == 7.33
    series = {"indicator": "vehicle_exports", "region": "CN", "segment": "total"}
    points = client.get("/v1/series", query_string=series | {"known_on": "2024-06-01"}).json
    assert [p["period"] for p in points["points"]] == ["2024-Q1"]
    points = client.get("/v1/series", query_string=series).json
    assert [p["period"] for p in points["points"]] == ["2024-Q1", "2025-Q1"]


def test_known_on_applies_to_the_checks_and_progress(client):
    source = add_source(client, "2024-03-01")
    body = NEW_STATISTIC | {"source_id": source, "region": "CN", "period": "2025-Q1"}
    body |= {"segment": "passenger_cars", "value": 1000000}
    assert client.post("/v1/statistics", json=body).status_code == 201
    [check] = client.get("/v1/checks/reconciliation", query_string={"source_id": source}).json
    assert check["status"] == "incomplete"
    today = client.get("/v1/checks/conflicts").json
    assert [c["segment"] for c in today] == ["passenger_cars"]
    assert client.get("/v1/checks/conflicts", query_string={"known_on": "2024-06-01"}).json == []
    # The target itself was announced in 2025: not known then.
    progress = client.get("/v1/targets/1/progress", query_string={"known_on": "2024-06-01"})
    assert progress.status_code == 404


def test_known_on_chooses_the_figures_progress_is_judged_on(client):
    later = add_source(client, "2026-01-20", "Statistics office")
    body = NEW_STATISTIC | {"source_id": later, "region": "CN", "period": "2025"}
    assert client.post("/v1/statistics", json=body | {"value": 6000000}).status_code == 201
    today = client.get("/v1/targets/1/progress").json
    assert (today["period"], today["basis"]) == ("2025", "annual")
    then = client.get("/v1/targets/1/progress", query_string={"known_on": "2025-12-31"}).json
    assert (then["period"], then["actual"]) == ("2025-Q1", 1420000)


@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "2025-06-01T00:00:00Z", "0"])
def test_a_malformed_known_on_is_refused(client, value):
    series = "/v1/series?indicator=vehicle_exports&region=CN&segment=total"
    for path in ("/v1/statistics?", "/v1/statistics/1?", f"{series}&"):
        response = client.get(f"{path}known_on={value}")
        assert response.status_code == 422, path
        assert "known_on" in [error.get("parameter") for error in response.json["errors"]]


def test_a_vintage_date_answers_as_known_on_that_day(client):
    customs = add_source(client, "2026-06-01")
    body = NEW_STATISTIC | {"source_id": customs, "region": "CN", "period": "2025-Q1"}
    assert client.post("/v1/statistics", json=body | {"value": 1421000}).status_code == 201
    series = "/v1/series?indicator=vehicle_exports&region=CN&segment=total"
    days = ("2025-05-10", "2025-05-11", "2026-05-31", "2026-06-01")
    (q1,) = client.get(f"{series}&vintage_dates={','.join(days)}").json["vintages"]
    for day, vintage in zip(days, q1["by_date"], strict=True):
        points = client.get(f"{series}&known_on={day}").json["points"]
        known = [(p["value"], p["statistic_id"]) for p in points]
        assert known == ([(vintage["value"], vintage["statistic_id"])] if vintage["value"] else [])
