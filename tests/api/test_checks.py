"""Checks on the numbers: stated against derived change, parts against whole, sources."""

import pytest


def add_statistic(client, **fields):
    body = {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": "total",
        "period": "2025-Q1",
        "source_id": 1,
    } | fields
    response = client.post("/v1/statistics", json=body)
    assert response.status_code == 201, response.json
    return response.json


def add_source(client, name="Customs"):
    response = client.post(
        "/v1/sources",
        json={"publisher": name, "title": f"{name} bulletin", "url": f"https://example.org/{name}"},
    )
    return response.json["id"]


def test_a_stated_change_implies_the_prior_value(client):
    total = client.get("/v1/statistics/1").json
    # 1420000 / 1.073, as precise as the value it comes from.
    assert total["implied_prior_value"] == 1323392
    assert total["derived_change_pct"] is None and total["change_consistent"] is None


@pytest.mark.parametrize(
    ("prior", "derived", "consistent"),
    # 1301000 claims precision to the thousand, and then 7.3% is too far from 9.15%.
    [(1323000, 7.33, True), (1324000, 7.25, True), (1301000, 9.15, False)],
)
def test_a_stated_change_is_checked_against_the_stored_prior(client, prior, derived, consistent):
    add_statistic(client, period="2024-Q1", value=prior)
    total = client.get("/v1/statistics/1").json
    assert total["derived_change_pct"] == derived
    assert total["change_consistent"] is consistent
    listed = next(s for s in client.get("/v1/statistics").json if s["id"] == 1)
    assert listed["change_consistent"] is consistent


def test_reconciliation_of_the_seed(client):
    [check] = client.get("/v1/checks/reconciliation").json
    assert check["segment"] == "total" and check["period"] == "2025-Q1"
    assert check["parts"] == [
        {"segment": "commercial_vehicles", "value": 242000},
        {"segment": "passenger_cars", "value": 1178000},
    ]
    assert (check["parts_sum"], check["difference"], check["status"]) == (1420000, 0, "consistent")
    # New-energy vehicles cut across passenger and commercial: reported, not summed.
    assert check["overlapping"] == [{"segment": "new_energy_vehicles", "value": 441000}]


def test_parts_that_do_not_add_up_are_inconsistent(client):
    client.patch("/v1/statistics/2", json={"value": 1100000}, headers={"If-Match": "*"})
    [check] = client.get("/v1/checks/reconciliation").json
    assert (check["difference"], check["status"]) == (-78000, "inconsistent")


def test_a_missing_part_makes_a_reconciliation_incomplete(client):
    add_statistic(client, region="DE", segment="passenger_cars", value=500000)
    checks = client.get("/v1/checks/reconciliation?region=DE").json
    assert [(c["status"], c["missing_parts"]) for c in checks] == [
        ("incomplete", ["commercial_vehicles"])
    ]


@pytest.mark.parametrize(
    ("value", "beyond"),
    # 1178000 and 1179000 may both round from 1178500; 1201000 is beyond any rounding.
    [(1179000, False), (1201000, True)],
)
def test_sources_that_disagree_are_listed(client, value, beyond):
    source = add_source(client)
    add_statistic(client, segment="passenger_cars", value=value, source_id=source)
    [conflict] = client.get("/v1/checks/conflicts").json
    assert conflict["segment"] == "passenger_cars"
    assert [(r["source_id"], r["value"]) for r in conflict["reports"]] == [
        (1, 1178000),
        (source, value),
    ]
    assert conflict["spread"] == value - 1178000 and conflict["beyond_rounding"] is beyond


def test_sources_that_agree_are_not_conflicts(client):
    source = add_source(client)
    add_statistic(client, segment="passenger_cars", value=1178000, source_id=source)
    assert client.get("/v1/checks/conflicts").json == []
    assert client.get("/v1/checks/conflicts?page_size=5").headers["X-Pagination"]
