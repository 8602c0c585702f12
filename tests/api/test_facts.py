"""GET /v1/facts: one timeline of events, statistics and targets."""

import csv
import io
import json

import pytest

from tests.api.test_series import add_figure, add_source, rerank


def timeline(client, query=""):
    response = client.get(f"/v1/facts?{query}")
    assert response.status_code == 200, response.json
    return [(item["type"], item["id"], item["date"]) for item in response.json]


def test_everything_in_date_order(client):
    assert timeline(client) == [
        ("statistic", 1, "2025-03-31"),
        ("statistic", 2, "2025-03-31"),
        ("statistic", 3, "2025-03-31"),
        ("statistic", 4, "2025-03-31"),
        ("event", 1, "2025-05-10"),
        ("target", 1, "2025-05-10"),
        ("target", 2, "2025-05-10"),
    ]


def test_items_say_what_they_are_and_where_to_find_them(client):
    first = client.get("/v1/facts").json[0]
    assert first["title"] == "Vehicle exports, CN, All vehicles, 2025-Q1: 1420000 vehicles"
    assert first["href"] == "/v1/statistics/1"
    assert client.get(first["href"]).status_code == 200
    assert first["source_id"] == 1 and first["quote"].startswith("a reported export")
    assert first["citation"].startswith("NenPower, \u201cChina\u2019s Automotive")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("types=event,target", [("event", 1), ("target", 1), ("target", 2)]),
        ("from=2025-04-01&types=statistic", []),
        ("to=2025-03-31", [("statistic", n) for n in (1, 2, 3, 4)]),
        ("region=DE", []),
        ("industry=automotive&types=target", [("target", 1), ("target", 2)]),
        ("q=energy", [("statistic", 4), ("target", 2)]),
    ],
)
def test_filters(client, query, expected):
    assert [(t, i) for t, i, _ in timeline(client, query)] == expected


def test_targets_without_an_announcement_date_stay_off_the_timeline(client):
    client.patch("/v1/targets/1", json={"announced_on": None}, headers={"If-Match": "*"})
    assert ("target", 1) not in [(t, i) for t, i, _ in timeline(client)]


def test_timeline_pages_and_formats(client):
    response = client.get("/v1/facts?page_size=3&page=3&format=csv")
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).count("\r\n") == 2  # header and one row
    assert client.get("/v1/facts?types=rumour").status_code == 422


def test_a_type_named_twice_is_listed_once(client):
    assert len(timeline(client, "types=event,event")) == 1


def test_of_several_figures_for_a_question_the_timeline_holds_the_one_used(client):
    later = add_figure(client, value=1421000, source_id=add_source(client, "2025-06-01"))
    facts = client.get("/v1/facts?types=statistic").json
    assert [f["id"] for f in facts] == [2, 3, 4, later]  # the later figure, in place of 1
    chosen = facts[-1]
    assert chosen["alternatives"] == 1
    assert sorted(s["id"] for s in client.get(chosen["figures_href"]).json) == [1, later]
    assert (facts[0]["alternatives"], facts[0]["figures_href"]) == (
        0,
        "/v1/statistics?indicator=vehicle_exports&region=CN&segment=passenger_cars&period=2025-Q1",
    )
    event = client.get("/v1/facts?types=event").json[0]
    assert (event["alternatives"], event["figures_href"]) == (None, None)

    rerank(client, 1, "preferred")
    assert [f["id"] for f in client.get("/v1/facts?types=statistic").json] == [1, 2, 3, 4]
    rerank(client, 1, "deprecated")
    rerank(client, later, "deprecated")
    assert [f["id"] for f in client.get("/v1/facts?types=statistic").json] == [2, 3, 4]


def test_pages_count_only_the_figures_used(client):
    for name, day in (("A", "2025-06-01"), ("B", "2025-07-01"), ("C", "2024-01-01")):
        add_figure(client, value=1, source_id=add_source(client, day, name))
    response = client.get("/v1/facts?page_size=3&page=3&format=csv")
    assert json.loads(response.headers["X-Pagination"])["total"] == 7
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["type"], row["alternatives"]) for row in rows] == [("target", "")]
    page = client.get("/v1/facts?page_size=2&page=2&types=statistic").json
    assert [(f["id"], f["alternatives"]) for f in page] == [(4, 0), (6, 3)]  # B's figure
