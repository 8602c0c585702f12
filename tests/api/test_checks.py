"""Checks on the numbers: stated against derived change, parts against whole, sources."""

import json

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


def add_source(client, name="Customs", published_on=None):
    body = {"publisher": name, "title": f"{name} bulletin", "url": f"https://example.org/{name}"}
    if published_on:
        body["published_on"] = published_on
    response = client.post("/v1/sources", json=body)
    return response.json["id"]


def change(client, statistic_id, **fields):
    response = client.patch(
        f"/v1/statistics/{statistic_id}", json=fields, headers={"If-Match": "*"}
    )
    assert response.status_code == 200, response.json
    return response.json


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
    # 1178400 is within 1178000's rounding. 1179000 is not: 1178500, where their roundings
    # meet, rounds (half up) to 1179000 only, as 1425000 is 1.43 million and not 1.42.
    [(1178400, False), (1179000, True), (1201000, True)],
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


@pytest.mark.parametrize(
    ("precision", "prior", "consistent"),
    [
        # 1420000 is 1.42 million: from 1415000 to below 1425000; 7.3% from 7.25 to 7.35.
        (None, 1318000, True),  # 1415000 / 1318500 is 7.32% up
        (None, 1317000, False),  # 1415000 / 1317500 is 7.40% up at the least
        (None, 1329000, True),  # 1425000 / 1328500 is 7.26% up
        (None, 1331000, False),  # 1425000 / 1330500 is 7.10% up at the most
        # Stated exact, the value allows 7.45% to 7.54% from 1321000 (7.07% to 7.91% rounded).
        (None, 1321000, True),
        (0, 1321000, False),
        # Stated within 30000, it allows 1301000 (6.80% to 11.50%), which rounded it does not.
        (30000, 1301000, True),
        (None, 1301000, False),
    ],
)
def test_a_stated_change_is_checked_within_the_figures_precision(
    client, precision, prior, consistent
):
    if precision is not None:
        change(client, 1, precision=precision)
    add_statistic(client, period="2024-Q1", value=prior)
    total = client.get("/v1/statistics/1").json
    assert total["change_consistent"] is consistent and total["change_note"] is None
    assert total["precision_basis"] == ("inferred" if precision is None else "stated")


def test_a_stated_change_is_not_compared_with_a_forecast(client):
    add_statistic(client, period="2024-Q1", value=1301000, status="forecast")
    total = client.get("/v1/statistics/1").json
    assert total["derived_change_pct"] is None and total["change_consistent"] is None
    assert total["change_note"] == (
        "Not checked: 2024-Q1 has only a forecast, which is not compared with."
    )
    # A reported figure beside the forecast is compared with, from any source.
    add_statistic(client, period="2024-Q1", value=1323000, source_id=add_source(client))
    total = client.get("/v1/statistics/1").json
    assert (total["derived_change_pct"], total["change_consistent"]) == (7.33, True)


def test_a_forecasts_stated_change_is_not_judged(client):
    add_statistic(client, period="2024-Q1", value=1301000)
    change(client, 1, status="forecast")
    total = client.get("/v1/statistics/1").json
    assert total["derived_change_pct"] is None and total["change_consistent"] is None
    assert total["change_note"] == "Not checked: this value is a forecast."
    assert total["implied_prior_value"] == 1323392  # what the forecast says, not a judgement


def test_a_stated_change_is_compared_with_the_figure_the_service_uses(client):
    add_statistic(client, period="2024-Q1", value=1323000)  # the seed's source, 2025-05-11
    other = add_statistic(
        client,
        period="2024-Q1",
        value=1301000,
        source_id=add_source(client, published_on="2025-01-01"),
    )
    assert client.get("/v1/statistics/1").json["change_consistent"] is True
    change(client, other["id"], rank="preferred")
    assert client.get("/v1/statistics/1").json["change_consistent"] is False
    change(client, other["id"], rank="deprecated")
    assert client.get("/v1/statistics/1").json["change_consistent"] is True


def test_a_stated_change_is_not_compared_with_a_deprecated_figure(client):
    prior = add_statistic(client, period="2024-Q1", value=1301000, rank="deprecated")
    total = client.get("/v1/statistics/1").json
    assert total["change_consistent"] is None
    assert total["change_note"] == "Not checked: every figure for 2024-Q1 is deprecated."
    assert prior["rank"] == "deprecated"


def test_without_a_compared_figure_the_note_says_so(client):
    total = client.get("/v1/statistics/1").json
    assert total["change_note"] == "Not checked: no figure for 2024-Q1 is stored."
    change(client, 2, change_pct=None)
    assert client.get("/v1/statistics/2").json["change_note"] is None  # nothing to check


@pytest.mark.parametrize(
    ("whole_precision", "commercial", "status", "tolerance"),
    [
        # Inferred: 1420000 within 5000, each part within 500; their sum within 1000.
        (None, 247000, "consistent", 6000),  # 1425000 +- 1000 meets 1.42 million below 1425000
        (None, 248000, "inconsistent", 6000),  # from 1425000: where 1.42 million ends
        (None, 249000, "inconsistent", 6000),
        # Stated within 1000, the whole allows less: 1421000 at most.
        (None, 245000, "consistent", 6000),
        (1000, 243000, "consistent", 2000),
        (1000, 244000, "inconsistent", 2000),  # the sum's from 1421000, where the whole's ends
        # Stated within 20000, it allows more.
        (20000, 255000, "consistent", 21000),
        (None, 255000, "inconsistent", 6000),
    ],
)
def test_parts_are_reconciled_within_their_precision(
    client, whole_precision, commercial, status, tolerance
):
    if whole_precision is not None:
        change(client, 1, precision=whole_precision)
    change(client, 3, value=commercial)
    [check] = client.get("/v1/checks/reconciliation").json
    assert (check["status"], check["tolerance"]) == (status, tolerance)
    assert check["difference"] == commercial - 242000
    assert check["precision_basis"] == ("inferred" if whole_precision is None else "stated")
    margin = whole_precision if whole_precision is not None else 5000
    assert (check["range_low"], check["range_high"]) == (1420000 - margin, 1420000 + margin)
    total = 1178000 + commercial
    assert (check["parts_sum_low"], check["parts_sum_high"]) == (total - 1000, total + 1000)


def test_stated_bounds_of_a_part_are_summed(client):
    change(client, 3, value=250000, lower=240000, upper=250000)
    [check] = client.get("/v1/checks/reconciliation").json
    assert (check["parts_sum_low"], check["parts_sum_high"]) == (1417500, 1428500)
    assert (check["status"], check["precision_basis"]) == ("consistent", "stated")


def test_a_forecast_part_leaves_a_reconciliation_incomplete(client):
    change(client, 3, status="forecast", value=300000)
    [check] = client.get("/v1/checks/reconciliation").json
    assert (check["status"], check["missing_parts"]) == ("incomplete", ["commercial_vehicles"])
    assert check["forecasts"] == [{"segment": "commercial_vehicles", "value": 300000}]
    assert check["note"] == "Forecasts are not checked: commercial_vehicles left out."
    assert check["parts"] == [{"segment": "passenger_cars", "value": 1178000}]


def test_a_forecast_overlapping_part_changes_nothing(client):
    change(client, 4, status="forecast")
    [check] = client.get("/v1/checks/reconciliation").json
    assert (check["status"], check["overlapping"]) == ("consistent", [])
    assert check["forecasts"] == [{"segment": "new_energy_vehicles", "value": 441000}]


def test_a_group_of_forecasts_only_is_listed_as_unjudged(client):
    for segment, value in (("total", 900000), ("passenger_cars", 700000)):
        add_statistic(client, region="DE", segment=segment, value=value, status="forecast")
    add_statistic(client, region="DE", segment="commercial_vehicles", value=1, status="forecast")
    [check] = client.get("/v1/checks/reconciliation?region=DE").json
    assert (check["status"], check["value"], check["parts"]) == ("incomplete", None, [])
    assert check["note"] == "Only forecasts, which are not checked: nothing to judge."
    assert [f["segment"] for f in check["forecasts"]] == [
        "total",
        "commercial_vehicles",
        "passenger_cars",
    ]
    assert check["parts_sum"] is None and check["tolerance"] is None


@pytest.mark.parametrize(
    ("seed_precision", "value", "precision", "beyond"),
    [
        # "1.42 million" (1415000 to below 1425000) and 1423000 agree; 1430000 does not.
        (None, 1423000, None, False),
        (None, 1430000, None, True),
        # A stated precision widens a range...
        (None, 1430000, 10000, False),
        # ... or narrows it: 1420000 within 1000 is no longer 1.42 million rounded.
        (1000, 1423000, None, True),
        (1000, 1420400, None, False),  # within 50 of 1420400, inside 1419000 to 1421000
    ],
)
def test_conflicts_are_beyond_rounding_outside_the_figures_precision(
    client, seed_precision, value, precision, beyond
):
    if seed_precision is not None:
        change(client, 1, precision=seed_precision)
    other = add_statistic(client, value=value, precision=precision, source_id=add_source(client))
    [conflict] = client.get("/v1/checks/conflicts").json
    assert conflict["beyond_rounding"] is beyond
    by_id = {r["statistic_id"]: r for r in conflict["reports"]}
    expected_basis = "inferred" if precision is None else "stated"
    assert by_id[other["id"]]["precision_basis"] == expected_basis
    assert by_id[1]["precision_basis"] == ("inferred" if seed_precision is None else "stated")


def test_a_forecast_is_no_conflict(client):
    add_statistic(client, value=1600000, status="forecast", source_id=add_source(client))
    assert client.get("/v1/checks/conflicts").json == []


def test_a_conflict_shows_the_figure_used_and_why(client):
    newer = add_source(client, published_on="2025-06-01")
    other = add_statistic(client, value=1430000, source_id=newer)["id"]
    [conflict] = client.get("/v1/checks/conflicts").json
    assert (conflict["chosen"], conflict["reason"], conflict["resolved"]) == (
        other,
        "the most recently published (2025-06-01)",
        False,
    )
    assert [(r["rank"], r["published_on"]) for r in conflict["reports"]] == [
        ("normal", "2025-05-11"),
        ("normal", "2025-06-01"),
    ]
    change(client, 1, rank="preferred")
    [conflict] = client.get("/v1/checks/conflicts").json
    assert (conflict["chosen"], conflict["reason"], conflict["resolved"]) == (
        1,
        "ranked preferred",
        False,
    )
    change(client, other, rank="deprecated")
    [conflict] = client.get("/v1/checks/conflicts").json
    assert (conflict["chosen"], conflict["reason"], conflict["resolved"]) == (
        1,
        "the only figure not deprecated",
        True,
    )
    change(client, 1, rank="deprecated")
    [conflict] = client.get("/v1/checks/conflicts").json
    assert (conflict["chosen"], conflict["reason"], conflict["resolved"]) == (
        None,
        "every figure is deprecated: none is used",
        True,
    )


def test_among_preferred_figures_the_latest_published_is_used(client):
    newer = add_source(client, published_on="2025-06-01")
    other = add_statistic(client, value=1430000, source_id=newer, rank="preferred")["id"]
    change(client, 1, rank="preferred")
    [conflict] = client.get("/v1/checks/conflicts").json
    assert (conflict["chosen"], conflict["reason"]) == (
        other,
        "ranked preferred, and the most recently published (2025-06-01)",
    )


def test_on_the_same_publication_date_the_newest_source_is_used(client):
    same_day = add_source(client, published_on="2025-05-11")
    other = add_statistic(client, value=1430000, source_id=same_day)["id"]
    [conflict] = client.get("/v1/checks/conflicts").json
    assert (conflict["chosen"], conflict["reason"]) == (
        other,
        "the most recently added source of those published on 2025-05-11",
    )


def test_figures_in_use_that_agree_leave_a_conflict_resolved(client):
    add_statistic(client, value=1420000, source_id=add_source(client, "Customs"))
    add_statistic(
        client, value=1500000, source_id=add_source(client, "Ministry"), rank="deprecated"
    )
    [conflict] = client.get("/v1/checks/conflicts").json
    assert conflict["resolved"] is True and conflict["beyond_rounding"] is True


def test_conflicts_are_filtered_by_resolution_before_paging(client):
    source = add_source(client)
    ids = [
        add_statistic(client, segment=segment, value=value, source_id=source)["id"]
        for segment, value in (
            ("total", 1500000),
            ("passenger_cars", 1200000),
            ("commercial_vehicles", 250000),
        )
    ]
    change(client, ids[1], rank="deprecated")
    pages = {}
    for resolved in ("true", "false"):
        response = client.get(f"/v1/checks/conflicts?resolved={resolved}&page_size=1")
        pages[resolved] = (json.loads(response.headers["X-Pagination"])["total"], response.json)
    assert pages["true"][0] == 1 and pages["false"][0] == 2
    assert [c["segment"] for c in pages["true"][1]] == ["passenger_cars"]
    assert all(not c["resolved"] for c in pages["false"][1])
    listed = client.get("/v1/checks/conflicts?resolved=false&page=2&page_size=1").json
    assert [c["segment"] for c in listed] == ["total"]
    assert len(client.get("/v1/checks/conflicts").json) == 3


@pytest.mark.parametrize("value", ["yes", "1", "True", "", "true,false"])
def test_resolved_is_true_or_false(client, value):
    response = client.get("/v1/checks/conflicts", query_string={"resolved": value})
    assert response.status_code == 422
    assert [error["parameter"] for error in response.json["errors"]] == ["resolved"]


def test_reconciliation_takes_no_resolved(client):
    assert client.get("/v1/checks/reconciliation?resolved=true").status_code == 422
