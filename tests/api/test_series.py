"""GET /v1/series: JSON with its metadata, CSV, SVG, and errors."""

import csv
import io

import pytest

from tests.helpers import read

SHARE = "/v1/series?indicator=vehicle_exports&region=CN&segment=new_energy_vehicles&transform=share"
CITATION = (
    "NenPower, \u201cChina\u2019s Automotive Industry Launches 2025 Vision for Global Expansion "
    "and Innovation\u201d, 11 May 2025, https://nenpower.com/blog/chinas-automotive-industry-"
    "launches-2025-vision-for-global-expansion-and-innovation/"
)
FIGURES = (
    "/v1/statistics?indicator=vehicle_exports&region=CN&segment=new_energy_vehicles&period=2025-Q1"
)


def test_series_with_metadata(client):
    body = client.get(SHARE).json
    assert body["indicator"] == {
        "code": "vehicle_exports",
        "name": "Vehicle exports",
        "unit": "vehicles",
    }
    assert (body["region"], body["region_name"], body["frequency"]) == ("CN", "China", "quarterly")
    assert body["segment"]["code"] == "new_energy_vehicles" and body["unit"] == "percent"
    assert [s["publisher"] for s in body["sources"]] == ["NenPower"]
    assert body["points"] == [
        {
            "period": "2025-Q1",
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "value": 31.06,
            "observed": 441000,
            "basis": 1420000,
            "basis_statistic_id": 1,
            "note": None,
            "source_id": 1,
            "citation": CITATION,
            "statistic_id": 4,
            "status": "reported",
            "rank": "normal",
            "alternatives": 0,
            "figures_href": FIGURES,
        }
    ]


def test_series_as_csv(client):
    response = client.get(f"{SHARE}&format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        {
            "period": "2025-Q1",
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "value": "31.06",
            "observed": "441000",
            "basis": "1420000",
            "basis_statistic_id": "1",
            "note": "",
            "source_id": "1",
            "citation": CITATION,
            "statistic_id": "4",
            "status": "reported",
            "rank": "normal",
            "alternatives": "0",
            "figures_href": FIGURES,
        }
    ]


def test_series_as_svg_chart(client):
    response = client.get(SHARE, headers={"Accept": "image/svg+xml"})
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # Title, y-axis unit and period labels are text in the drawing (matplotlib keeps them
    # as glyph paths with the text in comments and ids).
    for words in ("Vehicle exports", "percent", "2025-Q1"):
        assert words in svg


@pytest.mark.parametrize(
    ("query", "status", "name"),
    [
        ("region=CN&segment=total", 422, "indicator"),
        ("indicator=vehicle_exports&region=CN&segment=total&transform=log", 422, "transform"),
        ("indicator=vehicle_exports&region=CN&segment=total&transform=share", 422, "share_of"),
        ("indicator=nothing&region=CN&segment=total", 422, "indicator"),
        ("indicator=vehicle_exports&region=CN&segment=total&latest=0", 422, "latest"),
        ("indicator=vehicle_exports&region=CN&segment=total&format=ndjson", 406, None),
    ],
)
def test_bad_series_requests(client, query, status, name):
    response = client.get(f"/v1/series?{query}")
    assert response.status_code == status
    if name:
        assert response.json["errors"][0]["parameter"] == name


@pytest.mark.parametrize(
    "query",
    [
        "indicator=vehicle_exports&region=CN&segment=new_energy_vehicles&transform=share&share_of=nope",
        "indicator=vehicle_exports&region=CN&segment=new_energy_vehicles&share_of=total",
        # The part itself, or a part of it: shares of 100% or more.
        "indicator=vehicle_exports&region=CN&segment=total&transform=share&share_of=total",
        "indicator=vehicle_exports&region=CN&segment=total&transform=share&share_of=passenger_cars",
    ],
)
def test_share_of_must_name_a_segment_and_a_share(client, query):
    response = client.get(f"/v1/series?{query}")
    assert response.status_code == 422
    assert response.json["errors"][0]["parameter"] == "share_of"


def test_an_irregular_period_says_why_it_has_no_change(client):
    client.post(
        "/v1/statistics",
        json={
            "indicator": "vehicle_exports",
            "region": "DE",
            "segment": "total",
            "period": "2025-01-01/2025-04-30",
            "value": 5,
            "source_id": 1,
        },
    )
    point = client.get(
        "/v1/series?indicator=vehicle_exports&region=DE&segment=total&transform=change"
    ).json["points"][0]
    assert point["value"] is None and point["note"].startswith("No comparable period")


def test_a_source_without_a_publication_date_is_listed_with_null(client):
    client.patch("/v1/sources/1", json={"published_on": None}, headers={"If-Match": "*"})
    query = "indicator=vehicle_exports&region=CN&segment=total"
    assert client.get(f"/v1/series?{query}").json["sources"][0]["published_on"] is None
    schema = client.get("/openapi.json").json["components"]["schemas"]["SourceReference"]
    assert "null" in schema["properties"]["published_on"]["type"]


def named_series(client, name: str, periods=("2025-Q1",), value=5) -> str:
    """A series whose indicator, unit, segment and source all carry `name`, made through the
    API; its query string."""
    indicator = {"code": "named", "name": name, "unit": name[:64], "measure": "amount"}
    segment = {"code": "named_part", "name": name, "parent": "total", "additive": False}
    source = {"publisher": name[:200], "title": name, "url": "https://example.org/named"}
    for path, body in [("indicators", indicator), ("segments", segment), ("sources", source)]:
        response = client.post(f"/v1/{path}", json=body)
        assert response.status_code == 201, response.json
    source_id = response.json["id"]
    for period in periods:
        statistic = {"indicator": "named", "region": "CN", "segment": "named_part"}
        statistic |= {"period": period, "value": value, "source_id": source_id}
        assert client.post("/v1/statistics", json=statistic).status_code == 201
    return "indicator=named&region=CN&segment=named_part"


@pytest.mark.parametrize("periods", [("2025-Q1",), ("2025-Q1", "2025-Q2", "2025-Q3")])
@pytest.mark.parametrize("name", ["$\\foo{$", "from $4bn to $5bn", "\\ _^ {} % # <x> -- $$"])
def test_chart_labels_are_text_never_markup(client, name, periods):
    # As mathtext, the first is a 500 for every reader and the second is drawn as maths.
    response = client.get(f"/v1/series?{named_series(client, name, periods)}&format=svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    literal = name.replace("<", "&lt;").replace(">", "&gt;").replace("--", "- -")  # as XML
    # Title, unit (y label) and source line each hold the name, literally.
    assert svg.count(literal) >= 3
    assert f"<!-- {literal} -->" in svg  # the y label alone
    assert "Oblique" not in svg  # no glyph of maths' italic font: all drawn as written


def test_charts_do_not_use_tex_even_where_matplotlib_is_set_to(client, monkeypatch):
    import matplotlib

    # Set so by a matplotlibrc, TeX would be run on every label (and here, without TeX, fail).
    monkeypatch.setitem(matplotlib.rcParams, "text.usetex", True)
    response = client.get(f"/v1/series?{named_series(client, '50% of $5bn')}&format=svg")
    assert response.status_code == 200
    assert "50% of $5bn" in response.get_data(as_text=True)


def test_series_csv_neutralises_formulas_but_not_negative_numbers(client):
    query = named_series(client, '=HYPERLINK("https://example.org")', value=-5)
    (row,) = csv.DictReader(io.StringIO(client.get(f"/v1/series?{query}&format=csv").text))
    assert (row["value"], row["observed"]) == ("-5", "-5")
    assert row["citation"].startswith("'=HYPERLINK(")


def test_statistics_of_one_exact_period_in_any_syntax(client):
    # What a point's figures_href lists: one question's figures, period_from/to overlap.
    annual = {"indicator": "vehicle_exports", "region": "CN", "segment": "total"}
    annual |= {"period": "2025", "value": 5, "source_id": 1}
    assert client.post("/v1/statistics", json=annual).status_code == 201
    by_label = client.get("/v1/statistics?segment=total&period=2025-Q1").json
    by_interval = client.get("/v1/statistics?segment=total&period=2025-01-01/2025-03-31").json
    assert [s["id"] for s in by_label] == [s["id"] for s in by_interval] == [1]
    assert [s["value"] for s in client.get("/v1/statistics?period=2025").json] == [5]
    assert client.get("/v1/statistics?period=2025-01").json == []
    for bad in ("2025-Q9", "2025-02-30", "Q1", "2025%00"):
        response = client.get(f"/v1/statistics?period={bad}")
        assert response.status_code == 422 and response.json["errors"][0]["parameter"] == "period"


# -- which figure a series uses, its status, breaks, vintages --------------------------------

TOTAL = "/v1/series?indicator=vehicle_exports&region=CN&segment=total"


def add_source(client, published_on: str | None, name: str = "Customs") -> int:
    """A source published on `published_on`; its id."""
    response = client.post(
        "/v1/sources",
        json={
            "publisher": name,
            "title": f"{name} bulletin",
            "url": f"https://example.org/{name}",
            "published_on": published_on,
        },
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def add_figure(client, **fields) -> int:
    """A statistic of China's total vehicle exports (2025-Q1 from the seed's source unless
    `fields` say otherwise); its id."""
    body = {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": "total",
        "period": "2025-Q1",
        "value": 1,
        "source_id": 1,
    } | fields
    response = client.post("/v1/statistics", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def rerank(client, statistic_id: int, rank: str) -> None:
    """Change a statistic's rank as a client does: with If-Match, leaving a revision."""
    _, etag = read(client, f"/v1/statistics/{statistic_id}")
    change = {"rank": rank, "rank_reason": f"Made {rank} by a test."}
    response = client.patch(
        f"/v1/statistics/{statistic_id}", json=change, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.json


def test_a_series_uses_the_preferred_figure_else_the_latest_published_never_a_deprecated(client):
    customs = add_source(client, "2025-06-01")
    later = add_figure(client, value=1421000, source_id=customs)
    (point,) = client.get(TOTAL).json["points"]
    assert (point["statistic_id"], point["observed"], point["rank"]) == (later, 1421000, "normal")
    assert point["alternatives"] == 1
    listed = client.get(point["figures_href"]).json
    assert sorted(s["id"] for s in listed) == [1, later]

    rerank(client, 1, "preferred")  # the earlier publication, preferred: it wins
    (point,) = client.get(TOTAL).json["points"]
    assert (point["statistic_id"], point["rank"], point["alternatives"]) == (1, "preferred", 1)
    revisions = client.get("/v1/statistics/1/revisions").json
    assert [r["record"]["rank"] for r in revisions][:2] == ["preferred", "normal"]

    rerank(client, 1, "deprecated")  # never used, even where it is all there is
    assert client.get(TOTAL).json["points"][0]["statistic_id"] == later
    rerank(client, later, "deprecated")
    assert client.get(TOTAL).json["points"] == []


def test_a_source_of_its_own_is_asked_for_with_source_id(client):
    later = add_figure(client, value=1421000, source_id=add_source(client, "2025-06-01"))
    (point,) = client.get(f"{TOTAL}&source_id=1").json["points"]
    assert (point["statistic_id"], point["alternatives"]) == (1, 1)
    assert client.get(TOTAL).json["points"][0]["statistic_id"] == later


def test_each_point_says_its_status_in_json_and_csv(client):
    add_figure(client, period="2025-Q2", value=1500000, status="forecast")
    add_figure(client, period="2024-Q4", value=1400000, status="provisional")
    points = client.get(TOTAL).json["points"]
    assert [(p["period"], p["status"]) for p in points] == [
        ("2024-Q4", "provisional"),
        ("2025-Q1", "reported"),
        ("2025-Q2", "forecast"),  # a forecast is shown, and says it is one
    ]
    rows = csv.DictReader(io.StringIO(client.get(f"{TOTAL}&format=csv").text))
    assert [(row["period"], row["status"], row["rank"]) for row in rows] == [
        ("2024-Q4", "provisional", "normal"),
        ("2025-Q1", "reported", "normal"),
        ("2025-Q2", "forecast", "normal"),
    ]


def test_a_break_is_not_compared_across(client):
    for period, value, status in [
        ("2024-Q3", 1000, "reported"),
        ("2024-Q4", 1100, "reported"),
        ("2025-Q2", 1500000, "reported"),
    ]:
        add_figure(client, period=period, value=value, status=status)
    rerank_status = client.patch(
        "/v1/statistics/1", json={"status": "break"}, headers={"If-Match": "*"}
    )
    assert rerank_status.status_code == 200
    points = client.get(f"{TOTAL}&transform=change").json["points"]
    assert [(p["period"], p["value"], p["note"]) for p in points] == [
        ("2024-Q3", None, "No observation for the previous period."),
        ("2024-Q4", 100, None),
        ("2025-Q1", None, "Series break at 2025-Q1: not compared across it."),
        ("2025-Q2", 80000, None),
    ]
    assert points[2]["status"] == "break"


def revised_history(client) -> tuple[int, int]:
    """2025-Q1 as first released by the seed (11 May 2025), revised by customs (1 June 2026),
    and forecast by an undated source; 2024-Q4 only in a deprecated figure. The two ids."""
    customs = add_source(client, "2026-06-01")
    revised = add_figure(client, value=1421000, source_id=customs, status="revised")
    undated = add_source(client, None, name="Undated")
    add_figure(client, value=1300000, source_id=undated, status="forecast")
    old = add_figure(client, period="2024-Q4", value=9, rank="deprecated")
    return revised, old


def test_vintages_list_every_figure_of_a_period_oldest_publication_first(client):
    revised, old = revised_history(client)
    body = client.get(f"{TOTAL}&vintages=true").json
    assert body["vintage_dates"] is None
    q4, q1 = body["vintages"]
    assert q4["period"] == "2024-Q4" and q4["by_date"] is None
    assert [(r["statistic_id"], r["rank"], r["chosen"]) for r in q4["releases"]] == [
        (old, "deprecated", False)
    ]
    assert [(r["published_on"], r["value"], r["status"], r["chosen"]) for r in q1["releases"]] == [
        (None, 1300000, "forecast", False),
        ("2025-05-11", 1420000, "reported", False),
        ("2026-06-01", 1421000, "revised", True),
    ]
    assert q1["releases"][2] | {"source_id": None} == {
        "statistic_id": revised,
        "source_id": None,
        "published_on": "2026-06-01",
        "value": 1421000,
        "status": "revised",
        "rank": "normal",
        "chosen": True,
    }
    # The series itself is unchanged: the figure used, by period.
    assert [p["statistic_id"] for p in body["points"]] == [revised]
    rows = list(csv.DictReader(io.StringIO(client.get(f"{TOTAL}&vintages=true&format=csv").text)))
    assert [(row["period"], row["published_on"], row["value"], row["chosen"]) for row in rows] == [
        ("2024-Q4", "2025-05-11", "9", "false"),
        ("2025-Q1", "", "1300000", "false"),
        ("2025-Q1", "2025-05-11", "1420000", "false"),
        ("2025-Q1", "2026-06-01", "1421000", "true"),
    ]


def test_vintage_dates_give_the_figure_chosen_among_those_published_by_each_date(client):
    revised, _ = revised_history(client)
    query = f"{TOTAL}&vintage_dates=2026-06-01,2025-01-01,2025-06-01,2025-06-01"
    body = client.get(query).json
    assert body["vintage_dates"] == ["2025-01-01", "2025-06-01", "2026-06-01"]  # in order, once
    q4, q1 = body["vintages"]
    assert [d["value"] for d in q4["by_date"]] == [None, None, None]  # deprecated: never used
    assert q1["by_date"] == [
        {"date": "2025-01-01", "value": None, "statistic_id": None},
        {"date": "2025-06-01", "value": 1420000, "statistic_id": 1},
        {"date": "2026-06-01", "value": 1421000, "statistic_id": revised},
    ]
    assert q1["releases"] is None
    text = client.get(f"{query}&format=csv").text
    assert text.splitlines() == [
        "period,2025-01-01,2025-06-01,2026-06-01",
        "2024-Q4,,,",
        "2025-Q1,,1420000,1421000",
    ]


def test_vintages_take_the_range_and_a_preference(client):
    revised_history(client)
    rerank(client, 1, "preferred")
    body = client.get(f"{TOTAL}&vintage_dates=2026-12-31&vintages=true&latest=1").json
    (q1,) = body["vintages"]
    assert q1["by_date"][0]["statistic_id"] == 1  # preferred, though published earlier
    assert [r["chosen"] for r in q1["releases"]] == [False, True, False]
    assert client.get(f"{TOTAL}&vintages=true&period_to=2024-Q3").json["vintages"] == []


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("vintages=maybe", "vintages"),
        ("vintages=1", "vintages"),
        ("vintage_dates=2025-13-01", "vintage_dates"),
        ("vintage_dates=yesterday", "vintage_dates"),
        ("vintage_dates=", "vintage_dates"),
        ("vintage_dates=2025-06-01T00:00:00Z", "vintage_dates"),
        ("vintage_dates=" + ",".join(f"2025-01-{day:02}" for day in range(1, 22)), "vintage_dates"),
        ("vintages=true&transform=yoy", "transform"),
        ("vintage_dates=2025-06-01&transform=yoy_pct", "transform"),
        ("vintages=true&vintage_dates=2025-06-01&format=csv", "vintage_dates"),
        ("vintages=true&format=svg", "vintages"),
    ],
)
def test_bad_vintage_requests_are_problems(client, query, name):
    response = client.get(f"{TOTAL}&{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    # A list's bad item is named by its position: vintage_dates.0.
    assert response.json["errors"][0]["parameter"].split(".")[0] == name
