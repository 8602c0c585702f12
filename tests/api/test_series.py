"""GET /v1/series: JSON with its metadata, CSV, SVG, and errors."""

import csv
import io

import pytest

SHARE = "/v1/series?indicator=vehicle_exports&region=CN&segment=new_energy_vehicles&transform=share"
CITATION = (
    "NenPower, \u201cChina\u2019s Automotive Industry Launches 2025 Vision for Global Expansion "
    "and Innovation\u201d, 11 May 2025, https://nenpower.com/blog/chinas-automotive-industry-"
    "launches-2025-vision-for-global-expansion-and-innovation/"
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
