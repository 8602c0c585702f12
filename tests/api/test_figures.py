"""What a figure says about itself, over HTTP: its status, precision and rank."""

import csv
import io

import pytest

from models.figures import STATUSES
from tests.api.test_checks import add_statistic
from tests.helpers import read


@pytest.mark.parametrize("status", STATUSES)
def test_each_status_is_stored_filtered_and_written_to_csv(client, status):
    created = add_statistic(client, period="2024", value=5_000_000, status=status)
    assert created["status"] == status
    assert client.get("/v1/statistics/1").json["status"] == "reported"  # the default
    listed = client.get("/v1/statistics", query_string={"status": status}).json
    expected = [created["id"]] if status != "reported" else [1, 2, 3, 4, created["id"]]
    assert sorted(s["id"] for s in listed) == expected
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/statistics?format=csv").text)))
    assert {row["id"]: row["status"] for row in rows}[str(created["id"])] == status


def test_several_statuses_are_any_of_them(client):
    ids = {
        s: add_statistic(client, period=p, value=1, status=s)["id"]
        for s, p in (("forecast", "2026"), ("estimated", "2027"), ("break", "2028"))
    }
    listed = client.get("/v1/statistics?status=forecast,estimated").json
    assert sorted(s["id"] for s in listed) == sorted([ids["forecast"], ids["estimated"]])


def test_an_unknown_status_is_refused(client):
    response = client.post(
        "/v1/statistics",
        json={
            "indicator": "vehicle_exports",
            "region": "CN",
            "segment": "total",
            "period": "2024",
            "value": 1,
            "source_id": 1,
            "status": "guessed",
        },
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/status"
    assert client.get("/v1/statistics?status=guessed").status_code == 422


def test_precision_is_inferred_unless_stated(client):
    seed = client.get("/v1/statistics/1").json
    assert (seed["precision"], seed["precision_basis"]) == (None, "inferred")
    assert (seed["range_low"], seed["range_high"]) == (1415000, 1425000)
    stated = add_statistic(client, period="2024", value=1420000, precision=100)
    assert (stated["precision_basis"], stated["range_low"], stated["range_high"]) == (
        "stated",
        1419900,
        1420100,
    )
    bounded = add_statistic(client, period="2023", value=1420000, lower=1400000, upper=1450000)
    assert (bounded["precision_basis"], bounded["range_low"], bounded["range_high"]) == (
        "stated",
        1400000,
        1450000,
    )


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"precision": -1}, "/precision"),
        ({"precision": 5, "lower": 1, "upper": 9}, "/precision"),
        ({"lower": 1}, "/upper"),
        ({"upper": 9}, "/lower"),
        ({"lower": 6, "upper": 9}, "/lower"),  # the value, 5, is below
    ],
)
def test_precision_and_bounds_that_cannot_hold_are_refused(client, fields, pointer):
    before = client.get("/v1/statistics").json
    body = {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": "total",
        "period": "2024",
        "value": 5,
        "source_id": 1,
    } | fields
    response = client.post("/v1/statistics", json=body)
    assert response.status_code == 422, response.json
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert client.get("/v1/statistics").json == before


def test_a_rank_is_changed_like_any_field_with_a_revision(client):
    body, etag = read(client, "/v1/statistics/2")
    assert body["rank"] == "normal"
    assert client.patch("/v1/statistics/2", json={"rank": "deprecated"}).status_code == 428
    change = {"rank": "deprecated", "rank_reason": "Superseded by the customs figure."}
    patched = client.patch("/v1/statistics/2", json=change, headers={"If-Match": etag})
    assert patched.status_code == 200
    assert (patched.json["rank"], patched.json["rank_reason"]) == tuple(change.values())
    revisions = client.get("/v1/statistics/2/revisions").json
    assert [r["record"]["rank"] for r in revisions] == ["deprecated", "normal"]  # newest first
    assert [s["id"] for s in client.get("/v1/statistics?rank=deprecated").json] == [2]
    assert (
        client.patch(
            "/v1/statistics/2", json={"rank": "best"}, headers={"If-Match": patched.headers["ETag"]}
        ).status_code
        == 422
    )


def test_a_targets_value_has_a_status_and_the_target_a_rank(client):
    target, etag = read(client, "/v1/targets/1")
    assert (target["status"], target["value_status"], target["rank"]) == (
        "active",
        "reported",
        "normal",
    )
    change = {"value_status": "estimated", "rank": "preferred"}
    patched = client.patch("/v1/targets/1", json=change, headers={"If-Match": etag})
    assert patched.status_code == 200, patched.json
    assert [t["id"] for t in client.get("/v1/targets?value_status=estimated").json] == [1]
    assert [t["id"] for t in client.get("/v1/targets?rank=preferred").json] == [1]
    assert client.get("/v1/targets?value_status=active").status_code == 422
