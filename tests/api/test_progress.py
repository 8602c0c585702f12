"""Target progress: the seed's two targets, and the rules that decide a status."""

import pytest

from tests.api.test_series import TOTAL, add_figure, add_source, rerank


def add_annual(client, year: str, value: int, segment="total"):
    response = client.post(
        "/v1/statistics",
        json={
            "indicator": "vehicle_exports",
            "region": "CN",
            "segment": segment,
            "period": year,
            "value": value,
            "source_id": 1,
        },
    )
    assert response.status_code == 201, response.json


def test_the_share_target_is_met_on_a_quarterly_basis(client):
    progress = client.get("/v1/targets/2/progress").json
    # 441000 / 1420000 = 31.06% of exports against a 30% target.
    assert progress["status"] == "met"
    assert (progress["basis"], progress["partial"], progress["period"]) == (
        "quarterly",
        True,
        "2025-Q1",
    )
    assert (progress["actual"], progress["unit"], progress["percent_reached"]) == (
        31.06,
        "percent",
        103.53,
    )


def test_a_level_is_not_judged_on_a_quarter(client):
    progress = client.get("/v1/targets/1/progress").json
    assert progress["status"] == "insufficient_data" and progress["partial"] is True
    assert progress["actual"] == 1420000 and progress["required_annual_growth_pct"] is None


def test_an_annual_figure_gives_percent_reached_and_required_growth(client):
    add_annual(client, "2024", 5_000_000)
    progress = client.get("/v1/targets/1/progress").json
    assert (progress["basis"], progress["partial"], progress["actual"]) == (
        "annual",
        False,
        5000000,
    )
    assert progress["percent_reached"] == 16.67  # 5 of 30 million
    assert progress["years_left"] == 6
    assert progress["required_annual_growth_pct"] == 34.8  # (30/5)^(1/6) - 1
    assert progress["gap"] == 25000000


@pytest.mark.parametrize(
    ("first", "status", "achieved"),
    [(2_000_000, "on_track", 58.11), (4_500_000, "off_track", 5.41)],
)
def test_the_trend_decides_on_or_off_track(client, first, status, achieved):
    add_annual(client, "2022", first)
    add_annual(client, "2024", 5_000_000)
    progress = client.get("/v1/targets/1/progress").json
    assert progress["status"] == status
    assert progress["achieved_annual_growth_pct"] == achieved


def test_a_target_whose_period_is_over_and_unmet_is_off_track(client):
    client.patch("/v1/targets/1", json={"target_period": "2024"}, headers={"If-Match": "*"})
    add_annual(client, "2024", 5_000_000)
    assert client.get("/v1/targets/1/progress").json["status"] == "off_track"


def test_no_observation_is_insufficient_data(client):
    client.patch("/v1/targets/1", json={"region": "DE"}, headers={"If-Match": "*"})
    progress = client.get("/v1/targets/1/progress").json
    assert progress["status"] == "insufficient_data" and progress["actual"] is None


def test_progress_can_be_embedded_in_the_list(client):
    targets = client.get("/v1/targets?include=progress").json
    assert [t["progress"]["status"] for t in targets] == ["insufficient_data", "met"]
    assert "progress" not in client.get("/v1/targets").json[0]


def test_progress_of_a_missing_target_is_404(client):
    assert client.get("/v1/targets/99/progress").status_code == 404


def test_actual_names_the_statistic_used_and_its_alternatives(client):
    share = client.get("/v1/targets/2/progress").json
    assert (share["statistic_id"], share["alternatives"]) == (4, 0)
    assert share["figures_href"] == (
        "/v1/statistics?indicator=vehicle_exports&region=CN&segment=new_energy_vehicles"
        "&period=2025-Q1"
    )
    later = add_figure(client, value=1500000, source_id=add_source(client, "2025-06-01"))
    level = client.get("/v1/targets/1/progress").json
    assert (level["actual"], level["statistic_id"], level["alternatives"]) == (1500000, later, 1)
    assert sorted(s["id"] for s in client.get(level["figures_href"]).json) == [1, later]
    # The share's whole is the later figure too: 441000 / 1500000.
    assert client.get("/v1/targets/2/progress").json["actual"] == 29.4

    rerank(client, 1, "preferred")
    level = client.get("/v1/targets/1/progress").json
    assert (level["actual"], level["statistic_id"]) == (1420000, 1)
    assert client.get("/v1/targets/2/progress").json["actual"] == 31.06
    rerank(client, 1, "deprecated")
    rerank(client, later, "deprecated")
    level = client.get("/v1/targets/1/progress").json
    assert (level["actual"], level["statistic_id"]) == (None, None)
    assert level["note"] == "No observation of this series."


def test_progress_never_judges_on_a_forecast(client):
    # A forecast of 2024 that would meet the target, published after the seed's figures.
    forecast = add_figure(
        client,
        period="2024",
        value=40_000_000,
        status="forecast",
        source_id=add_source(client, "2025-06-01"),
    )
    level = client.get("/v1/targets/1/progress").json
    assert (level["status"], level["actual"], level["statistic_id"]) == (
        "insufficient_data",
        1420000,
        1,
    )
    # A forecast of the figure the target is judged on is left out before choosing.
    add_figure(
        client,
        value=2_000_000,
        status="forecast",
        source_id=add_source(client, "2025-07-01", "Fore"),
    )
    assert client.get("/v1/targets/1/progress").json["statistic_id"] == 1
    # The series shows the forecasts, as what they are.
    series = client.get(f"{TOTAL}&frequency=annual").json["points"]
    assert [(p["statistic_id"], p["status"]) for p in series] == [(forecast, "forecast")]


def test_only_forecasts_leave_nothing_to_judge_and_say_so(client):
    client.patch("/v1/targets/1", json={"region": "DE"}, headers={"If-Match": "*"})
    add_figure(client, region="DE", period="2026", value=40_000_000, status="forecast")
    progress = client.get("/v1/targets/1/progress").json
    assert (progress["status"], progress["actual"]) == ("insufficient_data", None)
    assert progress["note"] == "Only forecasts of this series: progress is judged on facts."
    # Of a share, a part or a whole known only from forecasts says so too.
    client.patch("/v1/statistics/1", json={"status": "forecast"}, headers={"If-Match": "*"})
    share = client.get("/v1/targets/2/progress").json
    assert share["note"] == "Only forecasts of this series: progress is judged on facts."
