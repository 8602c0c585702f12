"""GET /v1/facts: one timeline of events, statistics and targets."""

import pytest


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
