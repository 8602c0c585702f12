"""Bad input, resource by resource: a 422 naming the field, and nothing stored."""

import base64
import json

import pytest

from tests.api import test_resource as crud
from tests.helpers import count

VALID = crud.NEW
MISSING = object()
LONG = "x" * 5001
SEED_URL = (
    "https://nenpower.com/blog/chinas-automotive-industry-launches-2025-vision-for-global-"
    "expansion-and-innovation/"
)

CASES = [
    # collection, field, bad value (MISSING: left out)
    ("sources", "url", MISSING),
    ("sources", "url", "not a url"),
    ("sources", "url", "ftp://example.org/file"),
    ("sources", "publisher", ""),
    ("sources", "title", LONG),
    ("sources", "published_on", "2025-02-30"),
    ("sources", "retrieved_at", "yesterday"),
    ("sources", "retrieved_at", "2025-05-13T08:00:00"),  # no offset: which instant?
    ("sources", "id", 7),
    ("sources", "version", 5),
    ("indicators", "code", "Vehicle Exports"),
    ("indicators", "measure", "kilograms"),
    ("indicators", "unit", MISSING),
    ("segments", "parent", "no_such_segment"),
    ("segments", "additive", "yes"),
    ("segments", "created_at", "2025-01-01T00:00:00Z"),
    ("events", "date", MISSING),
    ("events", "date", "10 May 2025"),
    ("events", "end_date", "2025-04-01"),
    ("events", "country", "WORLD"),
    ("events", "country", "XX"),
    ("events", "topics", "electric vehicles"),
    ("events", "topics", [""]),
    ("events", "source_id", MISSING),
    ("events", "source_id", 999),
    ("events", "source_id", "1"),
    ("events", "quote", LONG),
    ("statistics", "value", MISSING),
    ("statistics", "value", "1420000"),
    ("statistics", "value", -5),
    ("statistics", "value", 1.0000001),
    ("statistics", "value", 1e19),
    ("statistics", "value", 1234567890.1234567),
    ("statistics", "period", "2025-Q5"),
    ("statistics", "period", "2025-13"),
    ("statistics", "period", "2025-H3"),
    ("statistics", "period", "2025-02-30"),
    ("statistics", "period", "2025-03-01/2025-02-01"),
    ("statistics", "period", "Q1 2025"),
    ("statistics", "period", 2025),
    ("statistics", "indicator", "no_such_indicator"),
    ("statistics", "segment", "no_such_segment"),
    ("statistics", "region", "XX"),
    ("statistics", "region", "cn"),
    ("statistics", "source_id", 999),
    ("statistics", "source_id", 1.5),
    ("statistics", "event_id", 999),
    ("statistics", "change_basis", "mom"),
    ("targets", "target_value", MISSING),
    ("targets", "target_period", "2030-Q0"),
    ("targets", "share_of", "new_energy_vehicles"),
    ("targets", "direction", "upwards"),
    ("targets", "status", "done"),
    ("targets", "baseline_period", MISSING),
    ("targets", "indicator", "no_such_indicator"),
    # Periods are written in ASCII digits: Python's \d and int() would take these.
    ("statistics", "period", "\uff12\uff10\uff12\uff15"),  # ２０２５
    ("statistics", "period", "\u0662\u0660\u0662\u0665-Q1"),  # ٢٠٢٥-Q1
    ("targets", "target_period", "2030-\uff11\uff12"),
    # Text where a value is required must show something.
    ("sources", "publisher", "   "),
    ("sources", "publisher", "\u200b"),
    ("sources", "title", "\t\n \ufeff\u2060\u200d"),
    ("indicators", "name", "\u3000"),
    ("indicators", "unit", " "),
    ("segments", "name", "\u200c"),
    ("events", "title", "\u00a0"),
    ("events", "topics", ["electric vehicles", " "]),
    ("targets", "title", "\u2028"),
    # No control characters in any text but tab and newline.
    ("sources", "title", "Automobile exports\r\nApril"),
    ("sources", "credit", "\x1b[31mred"),
    ("events", "summary", "bell\x07"),
    ("events", "topics", ["ev", "ev\x1f"]),
    ("statistics", "quote", "a\x0bb"),
]


@pytest.mark.parametrize(("collection", "field", "value"), CASES)
def test_bad_field_is_422_naming_it_and_stores_nothing(client, collection, field, value):
    body = dict(VALID[collection])
    if value is MISSING:
        body.pop(field)
    else:
        body[field] = value
    if collection == "targets" and field == "share_of":
        body["segment"] = "new_energy_vehicles"  # a segment cannot be a share of itself
    before = count(client, collection)

    response = client.post(f"/v1/{collection}", json=body)

    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    pointers = [error["pointer"] for error in problem["errors"]]
    expected = "/baseline_value" if field == "baseline_period" else f"/{field}"
    assert any(p == expected or p.startswith(f"{expected}/") for p in pointers), problem
    assert count(client, collection) == before


def test_bad_patch_changes_nothing(client):
    before = client.get("/v1/statistics/1").get_json()
    response = client.patch(
        "/v1/statistics/1", json={"value": 5, "period": "2025-Q9"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert client.get("/v1/statistics/1").get_json() == before


@pytest.mark.parametrize(
    ("collection", "body", "detail"),
    [
        ("sources", crud.TestSources.new | {"url": SEED_URL}, "same url"),
        ("indicators", crud.TestIndicators.new | {"code": "vehicle_exports"}, "same code"),
        ("statistics", crud.TestStatistics.new | {"period": "2025-Q1"}, "already exists"),
    ],
)
def test_duplicate_natural_key_is_409(client, collection, body, detail):
    before = count(client, collection)
    response = client.post(f"/v1/{collection}", json=body)
    assert response.status_code == 409
    assert detail in response.get_json()["detail"]
    assert count(client, collection) == before


def test_changing_a_record_into_a_duplicate_is_409(client):
    response = client.patch(
        "/v1/statistics/2", json={"segment": "total"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("path", "referrers"),
    [
        ("/v1/sources/1", "1 event, 4 statistics, 2 targets"),
        ("/v1/events/1", "4 statistics, 2 targets"),
        ("/v1/indicators/vehicle_exports", "4 statistics, 2 targets"),
        ("/v1/segments/total", "3 segments, 1 statistic, 2 targets"),
    ],
)
def test_deleting_a_referenced_record_is_409_explaining_why(client, path, referrers):
    response = client.delete(path, headers={"If-Match": '"1"'})
    assert response.status_code == 409
    assert referrers in response.get_json()["detail"]
    assert client.get(path).status_code == 200


def test_primary_code_cannot_change(client):
    body = crud.TestIndicators.new | {"code": "renamed"}
    response = client.put("/v1/indicators/vehicle_exports", json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/code"


def test_unit_of_an_indicator_in_use_cannot_change(client):
    response = client.patch(
        "/v1/indicators/vehicle_exports", json={"unit": "kilovehicles"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/unit"


def test_segment_cycle_is_refused(client):
    response = client.patch(
        "/v1/segments/total", json={"parent": "passenger_cars"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"] == "/parent"


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("post", "/v1/sources", crud.TestSources.new | {"publisher": "Nen\x00Power"}, "pointer"),
        ("post", "/v1/events", crud.TestEvents.new | {"topics": ["ev\x00"]}, "pointer"),
        ("get", "/v1/statistics?segment=to%00tal", None, "parameter"),
    ],
)
def test_nul_characters_are_refused_on_every_backend(client, method, path, body, where):
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps the backends alike.
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 422
    assert where in response.get_json()["errors"][0]


def test_a_path_code_that_cannot_exist_is_404(client):
    assert client.get("/v1/indicators/vehicle%00exports").status_code == 404
    assert client.get("/v1/indicators/Vehicle_Exports").status_code == 404


@pytest.mark.parametrize(
    ("collection", "field", "value"),
    [
        ("events", "title", "\ud800 unpaired"),
        ("sources", "retrieved_at", "0001-01-01T00:00:00+01:00"),
        ("sources", "retrieved_at", "9999-12-31T23:59:59-01:00"),
        ("statistics", "period", "/".join(["2025"] * 1200)),
    ],
)
def test_values_no_backend_can_hold_are_422(client, collection, field, value):
    body = dict(VALID[collection]) | {field: value}
    response = client.post(f"/v1/{collection}", json=body)
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["pointer"] == f"/{field}"


def test_json_nested_too_deeply_is_400(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/v1/events", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query", ["value_min=1e-20000", "value_max=1E%2B999999", "value_min=sNaN", "value_max=inf"]
)
def test_numbers_no_column_can_hold_are_422(client, query):
    assert client.get(f"/v1/statistics?{query}").status_code == 422


def test_text_with_tabs_and_newlines_is_taken(client):
    body = crud.TestEvents.new | {"summary": "Two lines,\n\tthe second indented.", "city": " "}
    response = client.post("/v1/events", json=body)
    assert response.status_code == 201, response.json
    assert response.json["summary"] == body["summary"]


def raw_body(body: dict, **literals: str) -> str:
    """`body` as JSON, with each named field's value replaced by a literal JSON text."""
    text = json.dumps(body | {name: f"@{name}@" for name in literals})
    for name, literal in literals.items():
        text = text.replace(f'"@{name}@"', literal)
    return text


@pytest.mark.parametrize(
    "literal",
    [
        "1" * 4301,  # more digits than Python converts to an int
        "-" + "9" * 10_000,
        "NaN",  # Python's json reads these; JSON has no such values
        "Infinity",
        "-Infinity",
        "[" * 3000 + "]" * 3000,
    ],
)
@pytest.mark.parametrize("path", ["/v1/statistics", "/v1/import"])
def test_json_python_cannot_read_is_400_on_every_body(client, path, literal):
    # /v1/import reads its body with request.get_json(), the others through webargs: both
    # are read by the app's one JSON reader.
    statistic = crud.TestStatistics.new | {"period": "2019"}
    body = raw_body(statistic, value=literal)
    if path == "/v1/import":
        body = f'{{"statistics": [{body}]}}'
    before = count(client, "statistics")

    response = client.post(path, data=body, content_type="application/json")

    assert response.status_code == 400, response.get_json()
    assert response.content_type == "application/problem+json"
    assert response.json["detail"] == "Invalid JSON body."
    assert count(client, "statistics") == before


@pytest.mark.parametrize("path", ["/v1/sources", "/v1/import"])
def test_a_field_nested_deeper_than_python_recurses_is_422(client, path):
    # 600 levels: within what the JSON parser reads; checking its text must not recurse.
    source = {"publisher": "P", "title": "[" * 600 + '"x"' + "]" * 600, "url": "https://e.org/d"}
    body = raw_body(source, title=source["title"])
    if path == "/v1/import":
        body = f'{{"sources": [{body}]}}'
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 422, response.get_json()
    assert response.json["errors"][0]["pointer"].endswith("/title")
    assert count(client, "sources") == 1


def test_a_document_nested_too_deeply_is_400_on_import(client):
    response = client.post(
        "/v1/import", data="[" * 3000 + "]" * 3000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/sources", "/v1/import"])
def test_a_byte_order_mark_before_a_body_is_ignored(client, path):
    body = {"sources": [crud.TestSources.new]} if path == "/v1/import" else crud.TestSources.new
    data = b"\xef\xbb\xbf" + json.dumps(body).encode()
    response = client.post(path, data=data, content_type="application/json")
    assert response.status_code in (200, 201), response.json


def test_a_body_that_is_not_utf8_is_400(client):
    response = client.post(
        "/v1/import", data=b'{"sources": ["\xff"]}', content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("literal", ["1e1000000", "-1e1000000", "1e400"])
def test_json_numbers_beyond_the_columns_are_422(client, literal):
    body = raw_body(crud.TestStatistics.new | {"period": "2019"}, value=literal)
    response = client.post("/v1/statistics", data=body, content_type="application/json")
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["pointer"] == "/value"


def test_minus_zero_is_zero(client):
    body = raw_body(crud.TestStatistics.new | {"period": "2019"}, value="-0.0", change_pct="-0")
    response = client.post("/v1/statistics", data=body, content_type="application/json")
    assert response.status_code == 201, response.json
    assert (response.json["value"], response.json["change_pct"]) == (0, 0)
    assert "-" not in json.dumps(client.get(response.headers["Location"]).json["value"])


def cursor(state) -> str:
    """A cursor as the server writes them (base64 of JSON), of any state, text or bytes."""
    if isinstance(state, bytes):
        raw = state
    else:
        text = state if isinstance(state, str) else json.dumps(state)
        raw = text.encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


REGION = ["region", "id"]


@pytest.mark.parametrize(
    "tampered",
    [
        # The issue's: eyJrZXlzIjogWyJyZWdpb24iLCAiaWQiXSwgInZhbHVlcyI6IFsiXHVkODAwIiwgOV19
        cursor({"keys": REGION, "values": ["\ud800", 9]}),
        cursor({"keys": REGION, "values": ["C\udfffN", 9]}),
        cursor({"keys": REGION, "values": ["CN\u0000", 9]}),
        cursor({"keys": ["region\ud800", "id"], "values": ["CN", 9]}),
        cursor('{"keys": ["region", "id"], "values": ["\ud800", 9]}'),  # raw, not escaped
        cursor(b'{"keys": ["region", "id"], "values": ["\xed\xa0\x80", 9]}'),
        cursor(b'{"keys": ["region", "id"], "values": ["\xff", 9]}'),
        cursor({"keys": REGION, "values": ["CN", 2**63]}),
        cursor({"keys": REGION, "values": ["CN", -(2**70)]}),
        cursor('{"keys": ["region", "id"], "values": ["CN", ' + "9" * 5000 + "]}"),
        cursor('{"keys": ["region", "id"], "values": ["CN", 1e999]}'),
        cursor('{"keys": ["region", "id"], "values": ["CN", NaN]}'),
        cursor({"keys": REGION, "values": ["CN", 1.5e300]}),
        cursor({"keys": REGION, "values": ["CN", True]}),
        cursor({"keys": REGION, "values": ["CN", None]}),
        cursor({"keys": REGION, "values": [["CN"], 9]}),
        cursor({"keys": REGION, "values": [{"CN": 1}, 9]}),
        cursor({"keys": REGION, "values": {"CN": 1, "id": 2}}),
        cursor({"keys": REGION, "values": ["CN"]}),
        cursor({"keys": REGION, "values": ["CN", 9, 10]}),
        cursor({"keys": REGION}),
        cursor({"keys": [["region"], "id"], "values": ["CN", 9]}),
        cursor([REGION, ["CN", 9]]),
        cursor("9"),
        cursor("null"),
        cursor("[" * 1400 + "]" * 1400),
        cursor({"keys": REGION, "values": ["CN", 9]})[:-3],
        "!!!!",
        "\u0661\u0662",
    ],
)
def test_a_tampered_cursor_is_422(client, tampered):
    response = client.get("/v1/statistics", query_string={"sort": "region", "cursor": tampered})
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert [error["parameter"] for error in response.json["errors"]] == ["cursor"]


@pytest.mark.parametrize(
    ("sort", "state"),
    [
        ("-value", {"keys": ["-value", "-id"], "values": ["1e1000000", 9]}),
        ("-value", {"keys": ["-value", "-id"], "values": ["NaN", 9]}),
        ("-value", {"keys": ["-value", "-id"], "values": [[1], 9]}),
        ("period_start", {"keys": ["period_start", "id"], "values": ["9999-99-99", 9]}),
        (
            "period_start",
            {"keys": ["period_start", "id"], "values": ["\uff12\uff10\uff12\uff15-01-01", 9]},
        ),
        ("updated_at", {"keys": ["updated_at", "id"], "values": ["yesterday", 9]}),
    ],
)
def test_a_tampered_cursor_of_any_column_type_is_422(client, sort, state):
    response = client.get("/v1/statistics", query_string={"sort": sort, "cursor": cursor(state)})
    assert response.status_code == 422, response.json
    assert [error["parameter"] for error in response.json["errors"]] == ["cursor"]


def test_a_cursor_given_back_still_pages(client):
    first = client.get("/v1/statistics?sort=region&page_size=2&cursor=")
    following = json.loads(first.headers["X-Pagination"])["next_cursor"]
    response = client.get(f"/v1/statistics?sort=region&page_size=2&cursor={following}")
    assert response.status_code == 200
    assert len(response.json) == 2


@pytest.mark.parametrize(
    "query",
    [
        "value_min=1e1000000",
        "value_max=-1e1000000",
        "value_min=1e-1000000",
        "value_max=" + "9" * 100_000,
        "value_min=%D9%A1",  # ١: Decimal() takes it
        "value_min=%EF%BC%91",  # １
        "value_min=%201",
        "value_min=1_000",
        "value_max=Infinity",
        "value_max=-0x10",
    ],
)
def test_query_numbers_beyond_the_columns_or_not_ascii_are_422(client, query):
    response = client.get(f"/v1/statistics?{query}")
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["parameter"] == query.split("=")[0]


@pytest.mark.parametrize("query", ["value_min=-0", "value_min=1e3", "value_max=1420000.5"])
def test_query_numbers_as_json_writes_them_are_taken(client, query):
    assert client.get(f"/v1/statistics?{query}").status_code == 200


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/sources?q=a%00b", "q"),
        ("/v1/sources?publisher=Nen%00Power", "publisher"),
        ("/v1/events?topic=electric%00vehicles", "topic"),
        ("/v1/events?q=beijing%00", "q"),
        ("/v1/facts?q=%00", "q"),
        ("/v1/targets?q=export%00", "q"),
        ("/v1/statistics?q=a%00b", "q"),
        ("/v1/statistics?cursor=%00", "cursor"),
        ("/v1/statistics?period_from=2025%00", "period_from"),
        ("/v1/changes?since=%00", "since"),
        ("/v1/statistics/1?as_of=2025-06-01T00:00:00Z%00", "as_of"),
        ("/v1/sources?q=new%0D%0Aenergy", "q"),  # control characters, as in a body
        ("/v1/sources?q=%1B%5B31m", "q"),
        ("/v1/sources?q=%FF", "q"),  # percent-encoded bytes that are not UTF-8
        ("/v1/sources?publisher=%ED%A0%80", "publisher"),  # an encoded lone surrogate
        ("/v1/sources?q%FF=1", "q\ufffd"),
    ],
)
def test_query_text_no_backend_can_store_is_422_naming_it(client, path, parameter):
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps the backends alike.
    response = client.get(path)
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert [error["parameter"] for error in response.json["errors"]] == [parameter]


def test_raw_bytes_that_are_not_utf8_in_a_query_are_422(client):
    response = client.get("/v1/sources", environ_overrides={"QUERY_STRING": "q=\xff"})
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["parameter"] == "q"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/statistics/%D9%A1",  # ١: werkzeug's int converter took it for 1
        "/v1/statistics/%EF%BC%91",  # １
        "/v1/statistics/%D9%A1/revisions",
        "/v1/targets/%D9%A1/progress",
        "/v1/events/%F0%9D%9F%8F",  # 𝟏
        "/v1/sources/+1",
        "/v1/sources/-1",
        "/v1/sources/2147483648",
        "/v1/sources/" + "9" * 5000,
    ],
)
def test_a_path_id_that_is_not_ascii_digits_in_range_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_a_path_id_in_ascii_digits_is_read(client):
    assert client.get("/v1/statistics/1").status_code == 200
    assert client.get("/v1/targets/1/progress").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "page=%D9%A1",
        "page=%EF%BC%92",
        "page=%201",
        "page=1_0",
        "page=" + "9" * 5000,
        "page_size=1e3",
        "page_size=2.0",
        "source_id=%D9%A1",
        "event_id=1,%EF%BC%91",
        "period_from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95",
        "period_to=2025-Q%D9%A1",
    ],
)
def test_query_numbers_ids_and_periods_are_ascii(client, query):
    response = client.get(f"/v1/statistics?{query}")
    assert response.status_code == 422, response.json
    # A list's item is named by its position: event_id.1
    assert response.json["errors"][0]["parameter"].split(".")[0] == query.split("=")[0]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/targets?year_from=%D9%A1",
        "/v1/series?indicator=vehicle_exports&region=CN&segment=total&latest=%D9%A1",
        "/v1/changes?limit=%D9%A1",
        "/v1/checks/conflicts?page=%D9%A1",
    ],
)
def test_other_query_integers_are_ascii(client, path):
    assert client.get(path).status_code == 422


LONG_TEXT = "a" * 100_000


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/sources?q={LONG_TEXT}",
        f"/v1/sources?publisher={LONG_TEXT}",
        f"/v1/sources?publisher=a,{LONG_TEXT}",
        f"/v1/events?topic={LONG_TEXT}",
        f"/v1/events?kind={LONG_TEXT}",
        f"/v1/events?from={LONG_TEXT}",
        f"/v1/statistics?region={LONG_TEXT}",
        f"/v1/statistics?period_from={LONG_TEXT}",
        f"/v1/statistics?value_min={'1' * 100_000}",
        f"/v1/statistics?cursor={LONG_TEXT}",
        f"/v1/statistics?sort={LONG_TEXT}",
        f"/v1/statistics?format={LONG_TEXT}",
        f"/v1/statistics?as_of={LONG_TEXT}",
        f"/v1/facts?types={LONG_TEXT}",
        f"/v1/changes?since={LONG_TEXT}",
        f"/v1/series?indicator={LONG_TEXT}&region=CN&segment=total",
        "/v1/sources?published_from=9999-99-99",
        "/v1/events?from=2025-02-30",
        "/v1/events?to=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95-01-01",
        "/v1/statistics?page=x&page=1",
        "/v1/statistics?value_min=1e1000000&value_min=1",
        "/v1/sources?publisher=",
        "/v1/sources?publisher=a,,b",
        "/v1/sources?publisher=%20",
        "/v1/sources?q=%E2%80%8B",
        "/v1/events?topic=%20,a",
    ],
)
def test_any_query_value_is_a_4xx_never_a_500(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500, response.json
    assert response.content_type == "application/problem+json"


def test_a_repeated_parameter_is_read_once_the_first_time(client):
    # A list filter takes every occurrence (api.schemas.SeveralValues); another parameter, the
    # first, as werkzeug gives it: what follows cannot reach the database unchecked.
    assert client.get("/v1/statistics?page=1&page=x").status_code == 200
    assert client.get("/v1/statistics?value_min=1&value_min=1e1000000").status_code == 200
    assert len(client.get("/v1/statistics?segment=total&segment=passenger_cars").json) == 2


def test_query_booleans_take_true_or_false(client):
    response = client.post(
        "/v1/import?dry_run=maybe", json={"sources": []}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["parameter"] == "dry_run"


@pytest.mark.parametrize("q", ["\u5317\u4eac", "...", "_", "\u00e9lectrique", '"', "-", "or"])
def test_q_takes_any_text_that_shows_something(client, q):
    # The spec's pattern (\S, roughly) is what the server takes; text with no word finds nothing.
    response = client.get("/v1/sources", query_string={"q": q})
    assert response.status_code == 200, response.json
    if q in ("...", "_", '"', "-"):
        assert response.json == []


def test_q_finds_words_in_any_script(client):
    body = crud.TestSources.new | {"title": "\u6c7d\u8f66 \u51fa\u53e3 exports"}
    assert client.post("/v1/sources", json=body).status_code == 201
    assert [s["title"] for s in client.get("/v1/sources?q=exports").json] == [body["title"]]
