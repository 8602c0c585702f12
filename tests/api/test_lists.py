"""Asking lists questions: every filter, sort, search, keyset cursors, CSV and NDJSON."""

import csv
import io
import json

import pytest

from tests.helpers import count

# Beside the seed's four 2025-Q1 China figures (ids 1-4), a small series to ask about.
EXTRA = [
    ("CN", "total", "2024-Q1", 1323000),
    ("CN", "total", "2024", 5000000),
    ("CN", "total", "2025-01", 410000),
    ("DE", "total", "2025-Q1", 780000),
    ("JP", "passenger_cars", "2025-Q1", 1050000),
]


@pytest.fixture
def data(client):
    client.post(
        "/v1/sources",
        json={
            "publisher": "Zeitung",
            "title": "Autoexporte im ersten Quartal",
            "url": "https://example.org/de",
        },
    )
    for region, segment, period, value in EXTRA:
        response = client.post(
            "/v1/statistics",
            json={
                "indicator": "vehicle_exports",
                "region": region,
                "segment": segment,
                "period": period,
                "value": value,
                "source_id": 2 if region == "DE" else 1,
            },
        )
        assert response.status_code == 201, response.json
    return client


def values(client, query: str) -> list:
    response = client.get(f"/v1/statistics?{query}")
    assert response.status_code == 200, response.json
    return [item["value"] for item in response.json]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("region=DE", [780000]),
        ("region=DE,JP", [780000, 1050000]),
        # As clients generated from the spec send a list, whatever its `explode: false` says.
        ("region=DE&region=JP", [780000, 1050000]),
        ("segment=passenger_cars&region=CN,JP", [1178000, 1050000]),
        ("frequency=annual", [5000000]),
        ("frequency=monthly,annual", [5000000, 410000]),
        ("source_id=2", [780000]),
        ("event_id=1&segment=total", [1420000]),
        ("industry=automotive&region=DE", [780000]),
        ("industry=shipbuilding", []),
        ("period_from=2025-Q1&region=CN&segment=total", [1420000, 410000]),
        ("period_to=2024-Q4&region=CN", [5000000, 1323000]),
        ("period_from=2024-Q2&period_to=2024-Q3", [5000000]),
        ("value_min=1000000&value_max=1400000", [1178000, 1050000, 1323000]),
        ("value_min=5000000", [5000000]),
    ],
)
def test_statistic_filters(data, query, expected):
    assert sorted(values(data, query)) == sorted(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=-value&region=CN&segment=total", [5000000, 1420000, 1323000, 410000]),
        ("sort=value&segment=total", [410000, 780000, 1323000, 1420000, 5000000]),
        ("sort=region,-value&segment=total", [5000000, 1420000, 1323000, 410000, 780000]),
        ("sort=region&sort=-value&segment=total", [5000000, 1420000, 1323000, 410000, 780000]),
        # 2025-01 and 2025-Q1 start on the same day, as do 2024-Q1 and 2024: then by id.
        ("sort=-period_start,id&region=CN&segment=total", [1420000, 410000, 1323000, 5000000]),
    ],
)
def test_sort(data, query, expected):
    assert values(data, query) == expected


@pytest.mark.parametrize("sort", ["-price", ""])
def test_unknown_or_empty_sort_names_the_allowed_keys(client, sort):
    response = client.get(f"/v1/statistics?sort={sort}")
    assert response.status_code == 422
    assert "period_start, period_end, value" in response.json["errors"][0]["detail"]


@pytest.mark.parametrize("sort", ["period_start", "-value", "region,-value", "-id"])
def test_keyset_pages_walk_the_whole_list_once(data, sort):
    expected = [item["id"] for item in data.get(f"/v1/statistics?sort={sort}&page_size=100").json]
    seen, cursor = [], ""
    for _ in range(10):
        response = data.get(f"/v1/statistics?sort={sort}&page_size=2&cursor={cursor}")
        assert response.status_code == 200, response.json
        seen += [item["id"] for item in response.json]
        meta = json.loads(response.headers["X-Pagination"])
        if "next_cursor" not in meta:
            assert 'rel="next"' not in response.headers["Link"]
            break
        cursor = meta["next_cursor"]
        assert f"cursor={cursor}" in response.headers["Link"]
    assert seen == expected and len(seen) == 9


def test_numbered_pages_offer_a_cursor_to_continue_from(data):
    first = data.get("/v1/statistics?page_size=4")
    cursor = json.loads(first.headers["X-Pagination"])["next_cursor"]
    rest = data.get(f"/v1/statistics?page_size=100&cursor={cursor}").json
    assert [i["id"] for i in first.json + rest] == [
        i["id"] for i in data.get("/v1/statistics?page_size=100").json
    ]


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!", "e30", "eyJrZXlzIjogWyJ2YWx1ZSIsICJpZCJdLCAidmFsdWVzIjogWyJ4IiwgMV19"],
)
def test_a_forged_or_foreign_cursor_is_422(client, cursor):
    response = client.get(f"/v1/statistics?cursor={cursor}")
    assert response.status_code == 422
    assert response.json["errors"][0]["parameter"] == "cursor"


def test_a_cursor_from_another_sort_is_422(data):
    page = data.get("/v1/statistics?sort=-value&page_size=2")
    cursor = json.loads(page.headers["X-Pagination"])["next_cursor"]
    assert data.get(f"/v1/statistics?sort=value&cursor={cursor}").status_code == 422


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/statistics?q=energy", [441000]),
        ("/v1/statistics?q=passenger", [1178000, 1050000]),
        # A source's title is searchable from the facts that cite it.
        ("/v1/statistics?q=Autoexporte", [780000]),
        ("/v1/statistics?q=vehicle%20exports%20nothing", []),
        ("/v1/events?q=innovation", ["China Auto Brand Promotion"]),
        ("/v1/targets?q=energy", ["New-energy vehicles at 30% of exports by 2030"]),
        ("/v1/sources?q=nenpower", [1]),
        # Search syntax is not the client's: quotes, operators and brackets are just text.
        ("/v1/statistics?q=%22energy%22", [441000]),
        ("/v1/statistics?q=energy*%20NEAR(%20%22)", []),
    ],
)
def test_full_text_search(data, path, expected):
    response = data.get(path)
    assert response.status_code == 200, response.json
    found = [
        item.get("value", item.get("title")) if "sources" not in path else item["id"]
        for item in response.json
    ]
    assert sorted(found, key=str) == sorted(expected, key=str)


def test_search_follows_changes(client):
    assert client.get("/v1/statistics?q=hydrogen").json == []
    client.patch("/v1/statistics/4", json={"quote": "hydrogen trucks"}, headers={"If-Match": "*"})
    assert [s["id"] for s in client.get("/v1/statistics?q=hydrogen").json] == [4]
    client.patch("/v1/sources/1", json={"title": "Zephyr report"}, headers={"If-Match": "*"})
    assert count(client, "statistics?q=zephyr") == 4
    assert count(client, "events?q=zephyr") == 1


def test_search_forgets_the_words_a_change_removes(client):
    for quote in ("hydrogen trucks", "fuel cells"):
        client.patch("/v1/statistics/4", json={"quote": quote}, headers={"If-Match": "*"})
    assert client.get("/v1/statistics?q=hydrogen").json == []
    assert [s["id"] for s in client.get("/v1/statistics?q=fuel").json] == [4]


def test_search_follows_vocabulary_names(client):
    client.patch(
        "/v1/segments/new_energy_vehicles",
        json={"name": "Electrified vehicles"},
        headers={"If-Match": "*"},
    )
    assert [s["id"] for s in client.get("/v1/statistics?q=electrified").json] == [4]


def test_search_results_are_ranked(client):
    client.post(
        "/v1/events",
        json={
            "title": "Energy energy energy summit",
            "kind": "summit",
            "date": "2025-06-01",
            "source_id": 1,
            "summary": "energy",
        },
    )
    titles = [e["title"] for e in client.get("/v1/events?q=energy").json]
    assert titles[0] == "Energy energy energy summit"


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("topic=smart%20transportation", ["China Auto Brand Promotion"]),
        ("topic=batteries,electric%20vehicles", ["China Auto Brand Promotion"]),
        ("topic=batteries", []),
        ("kind=launch&country=CN", ["China Auto Brand Promotion"]),
        ("kind=policy", []),
        ("from=2025-05-10&to=2025-05-10", ["China Auto Brand Promotion"]),
        ("from=2025-05-11", []),
    ],
)
def test_event_filters(client, query, titles):
    assert [e["title"] for e in client.get(f"/v1/events?{query}").json] == titles


def test_event_topics_follow_changes(client):
    client.patch("/v1/events/1", json={"topics": ["batteries"]}, headers={"If-Match": "*"})
    assert count(client, "events?topic=batteries") == 1
    assert count(client, "events?topic=electric%20vehicles") == 0


@pytest.mark.parametrize(
    ("query", "n"),
    [
        ("year_from=2030", 2),
        ("year_to=2029", 0),
        ("segment=new_energy_vehicles", 1),
        ("status=active,withdrawn&region=CN,DE", 2),
        ("indicator=vehicle_exports", 2),
    ],
)
def test_target_filters(client, query, n):
    assert count(client, f"targets?{query}") == n


def test_csv_by_parameter_and_by_accept(data):
    by_parameter = data.get("/v1/statistics?format=csv&region=CN&segment=total")
    by_accept = data.get("/v1/statistics?region=CN&segment=total", headers={"Accept": "text/csv"})
    assert by_parameter.data == by_accept.data
    assert by_parameter.mimetype == "text/csv"
    assert by_parameter.headers["X-Pagination"]
    rows = list(csv.DictReader(io.StringIO(by_parameter.get_data(as_text=True))))
    assert [r["value"] for r in rows] == ["1323000", "5000000", "1420000", "410000"]
    assert rows[2]["period_start"] == "2025-01-01" and rows[2]["quote"].startswith("a reported")
    assert by_parameter.get_data(as_text=True).startswith("id,indicator,region,")
    assert "\r\n" in by_parameter.get_data(as_text=True)


def csv_rows(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_quotes_and_writes_lists_as_json(client):
    text = client.get("/v1/events?format=csv").get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["topics"] == (
        '["electric vehicles", "smart transportation", "innovative technologies"]'
    )
    assert '"On May 10, 2025, a specialized' in text  # a comma inside: quoted


def test_a_csv_list_reads_back_exactly_whatever_its_items_hold(client):
    topics = ["a; b", "c", "=d", 'say "e", f']
    created = client.post(
        "/v1/events",
        json={
            "title": "Topics",
            "kind": "launch",
            "date": "2025-06-01",
            "source_id": 1,
            "topics": topics,
        },
    )
    assert created.status_code == 201, created.json
    (row,) = [r for r in csv_rows(client, "/v1/events?format=csv") if r["title"] == "Topics"]
    assert json.loads(row["topics"]) == topics


# Each begins a formula in some spreadsheet; ' is escaped too, so a reader always drops one.
FORMULAS = ["=cmd|'/C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "'quoted"]


def test_csv_text_that_could_be_a_formula_gets_a_leading_quote(client):
    for n, title in enumerate(FORMULAS):
        source = {"publisher": "Mallory", "title": title, "url": f"https://example.org/{n}"}
        assert client.post("/v1/sources", json=source).status_code == 201
    rows = csv_rows(client, "/v1/sources?format=csv")
    assert [row["title"] for row in rows if row["publisher"] == "Mallory"] == [
        f"'{title}" for title in FORMULAS
    ]


def test_csv_numbers_are_never_prefixed_however_they_begin(client):
    indicator = {
        "code": "trade_balance",
        "name": "Trade balance",
        "unit": "USD bn",
        "measure": "amount",
    }
    assert client.post("/v1/indicators", json=indicator).status_code == 201
    statistic = {
        "indicator": "trade_balance",
        "region": "CN",
        "segment": "total",
        "period": "2025",
        "value": -5,
        "change_pct": -5.5,
        "change_basis": "yoy",
        "source_id": 1,
        "quote": "-5 bn, down 5.5%",
    }
    assert client.post("/v1/statistics", json=statistic).status_code == 201
    (row,) = csv_rows(client, "/v1/statistics?format=csv&indicator=trade_balance")
    assert (row["value"], row["change_pct"]) == ("-5", "-5.5")
    assert row["quote"] == "'-5 bn, down 5.5%"  # text: by its type, not by how it looks


@pytest.mark.parametrize(
    "collection", ["sources", "events", "statistics", "targets", "indicators", "segments"]
)
def test_every_list_speaks_every_format(client, collection):
    ndjson = client.get(f"/v1/{collection}", headers={"Accept": "application/x-ndjson"})
    assert ndjson.mimetype == "application/x-ndjson"
    lines = ndjson.get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == client.get(f"/v1/{collection}").json
    assert client.get(f"/v1/{collection}?format=csv").mimetype == "text/csv"


@pytest.mark.parametrize(
    ("query", "headers"),
    [("format=xml", {}), ("", {"Accept": "application/xml"}), ("format=", {})],
)
def test_unsupported_format_is_406(client, query, headers):
    response = client.get(f"/v1/statistics?{query}", headers=headers)
    assert response.status_code == 406
    assert response.mimetype == "application/problem+json"


def test_browser_accept_header_gets_json(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/v1/statistics", headers={"Accept": accept}).mimetype == "application/json"


@pytest.mark.parametrize(
    "query",
    [
        "region=",
        "region=CN,XX",
        "period_from=2025-Q5",
        "value_min=abc",
        "value_max=1e30",
        "year_from=0",
        "q=%20%E2%80%8B",  # shows nothing (q=%20%21 has no word: it finds nothing, a 200)
        "frequency=weekly",
        "source_id=0",
        "page=0",
    ],
)
def test_bad_filter_values_are_422(client, query):
    collection = "targets" if query.startswith("year") else "statistics"
    assert client.get(f"/v1/{collection}?{query}").status_code == 422


@pytest.mark.parametrize(
    ("path", "n"),
    [
        ("/v1/sources?publisher=NenPower,Zeitung", 1),
        ("/v1/sources?published_from=2025-05-11&published_to=2025-05-11", 1),
        ("/v1/sources?published_from=2025-05-12", 0),
        ("/v1/indicators?industry=automotive", 1),
        ("/v1/indicators?industry=steel", 0),
        ("/v1/segments?parent=total", 3),
        ("/v1/segments?parent=total&sort=-name", 3),
    ],
)
def test_source_and_vocabulary_filters(client, path, n):
    response = client.get(path)
    assert response.status_code == 200, response.json
    assert len(response.json) == n


def test_vocabulary_sort(client):
    names = [s["name"] for s in client.get("/v1/segments?sort=-name").json]
    assert names == sorted(names, reverse=True)


def test_forged_cursor_numbers_are_422(client):
    import base64

    state = json.dumps({"keys": ["value", "id"], "values": ["1E+999999", 1]})
    cursor = base64.urlsafe_b64encode(state.encode()).decode().rstrip("=")
    assert client.get(f"/v1/statistics?sort=value&cursor={cursor}").status_code == 422


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/json; charset=utf-8", "application/json"),
        ("text/csv; header=present", "text/csv"),
    ],
)
def test_accept_parameters_do_not_matter(client, accept, media_type):
    response = client.get("/v1/statistics", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media_type


@pytest.mark.parametrize(
    "path",
    [
        "/v1/statistics",
        "/v1/statistics?format=csv",
        "/v1/series?indicator=vehicle_exports&region=CN&segment=total",
    ],
)
def test_responses_that_depend_on_accept_say_so(client, path):
    assert client.get(path).headers["Vary"] == "Accept"


@pytest.mark.parametrize(
    ("path", "n"),
    [
        ("/v1/events?source_id=1", 1),
        ("/v1/events?source_id=2", 0),
        ("/v1/targets?industry=automotive", 2),
        ("/v1/targets?source_id=1&event_id=1", 2),
        ("/v1/targets?event_id=2", 0),
    ],
)
def test_more_fact_filters(client, path, n):
    assert len(client.get(path).json) == n
