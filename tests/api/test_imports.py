"""Bulk import: JSON with refs or CSV of statistics; every bad row listed, or all stored."""

import pytest

from tests.helpers import count

HEADER = "indicator,region,segment,period,value,change_pct,change_basis,source_id,event_id,quote"
DOCUMENT = {
    "statistics": [
        {
            "indicator": "vehicle_exports",
            "region": "DE",
            "segment": "total",
            "period": "2024",
            "value": 3100000,
            "source_id": "kba",
        }
    ],
    "sources": [
        {"ref": "kba", "publisher": "KBA", "title": "Exports", "url": "https://example.org/kba"}
    ],
    "events": [
        {"title": "Fair", "kind": "fair", "date": "2024-09-01", "source_id": "kba", "ref": "fair"}
    ],
    "targets": [
        {
            "title": "4 million by 2030",
            "region": "DE",
            "indicator": "vehicle_exports",
            "segment": "total",
            "target_value": 4000000,
            "target_period": "2030",
            "source_id": "kba",
            "event_id": "fair",
        }
    ],
}
STATISTIC = DOCUMENT["statistics"][0]


def post(client, body, query="", csv=False):
    if csv:
        return client.post(f"/v1/import{query}", data=body, headers={"Content-Type": "text/csv"})
    return client.post(f"/v1/import{query}", json=body)


def test_a_document_with_refs_is_stored_whole_with_revisions(client):
    response = post(client, DOCUMENT)
    assert response.status_code == 200, response.json
    assert response.json["created"] == {"sources": 1, "events": 1, "statistics": 1, "targets": 1}
    stored = client.get("/v1/statistics?region=DE").json[0]
    source = client.get(f"/v1/sources/{stored['source_id']}").json
    assert source["publisher"] == "KBA"
    target = client.get("/v1/targets?region=DE").json[0]
    assert client.get(f"/v1/events/{target['event_id']}").json["title"] == "Fair"
    revision = client.get(f"/v1/statistics/{stored['id']}/revisions").json[0]
    assert revision["change"] == "create" and revision["by"].startswith("ifk_")


def test_every_bad_row_is_listed_and_nothing_is_stored(client):
    document = {
        "sources": DOCUMENT["sources"],
        "statistics": [
            DOCUMENT["statistics"][0],
            {**DOCUMENT["statistics"][0], "period": "2024-Q5", "source_id": "nobody"},
            {**DOCUMENT["statistics"][0], "period": "2023", "value": -5},
            {**DOCUMENT["statistics"][0]},  # the first one again
        ],
    }
    response = post(client, document)
    assert response.status_code == 422
    assert response.json["detail"] == "3 rows were refused; nothing was imported."
    where = {(e["pointer"], e["detail"].split(" ")[0]) for e in response.json["errors"]}
    assert where == {
        ("/statistics/1/period", "Not"),
        ("/statistics/1/source_id", "No"),
        ("/statistics/2/value", "A"),
        ("/statistics/3", "It"),  # the same as row 0, stored just before
    }
    assert count(client, "sources") == 1 and count(client, "statistics") == 4


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ([1, 2], ""),
        ({"planets": []}, "/planets"),
        ({"statistics": {}}, "/statistics"),
        ({"moons/of~mars": []}, "/moons~1of~0mars"),  # RFC 6901 escapes / and ~
        ({"statistics": [{**DOCUMENT["statistics"][0], "a/b~c": 1}]}, "/statistics/0/a~1b~0c"),
    ],
)
def test_a_document_of_the_wrong_shape_is_422(client, body, pointer):
    response = post(client, body)
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == pointer


def test_a_dry_run_checks_and_stores_nothing(client):
    response = post(client, DOCUMENT, "?dry_run=true")
    assert response.status_code == 200 and response.json["dry_run"] is True
    assert response.json["created"]["statistics"] == 1
    assert count(client, "sources") == 1


@pytest.mark.parametrize(
    ("mode", "status", "outcome", "value"),
    [
        ("error", 422, None, 3100000),
        ("skip", 200, "skipped", 3100000),
        ("update", 200, "updated", 3200000),
    ],
)
def test_importing_again_follows_on_conflict(client, mode, status, outcome, value):
    assert post(client, DOCUMENT).status_code == 200
    again = {
        "sources": DOCUMENT["sources"],
        "statistics": [{**DOCUMENT["statistics"][0], "value": 3200000}],
    }
    response = post(client, again, f"?on_conflict={mode}")
    assert response.status_code == status, response.json
    if outcome:
        assert response.json[outcome] == {"sources": 1, "statistics": 1}
    assert client.get("/v1/statistics?region=DE").json[0]["value"] == value
    assert count(client, "statistics") == 5


def test_csv_of_statistics(client):
    body = f"{HEADER}\nvehicle_exports,CN,total,2024,5850000,19.3,yoy,1,,Exports rose\n"
    response = post(client, body, csv=True)
    assert response.status_code == 200, response.json
    stored = client.get("/v1/statistics?period_from=2024&period_to=2024").json[0]
    assert (stored["value"], stored["change_pct"], stored["quote"]) == (
        5850000,
        19.3,
        "Exports rose",
    )


def test_csv_errors_name_their_line_and_column(client):
    body = (
        f"{HEADER}\n"
        "vehicle_exports,CN,total,2024,5850000,,,1,,\n"
        "vehicle_exports,CN,total,2023,lots,,,1,,\n"
        "vehicle_exports,ZZ,total,2022,1,,,1,,\n"
    )
    response = post(client, body, csv=True)
    assert response.status_code == 422
    assert [(e["line"], e["pointer"]) for e in response.json["errors"]] == [
        (3, "/value"),
        (4, "/region"),
    ]
    assert count(client, "statistics") == 4


@pytest.mark.parametrize(
    "header",
    ["country,amount", "", "indicator,region,segment,period,value,source_id,value"],
    ids=["unknown columns", "empty", "a column twice"],
)
def test_a_csv_without_the_documented_header_is_422(client, header):
    response = post(client, f"{header}\nCN,1\n", csv=True)
    assert response.status_code == 422 and "Columns are" in response.json["errors"][0]["detail"]
    assert count(client, "statistics") == 4


def test_imports_may_be_larger_than_other_bodies(app, client):
    body = f"{HEADER}\n" + "".join(
        f"vehicle_exports,CN,total,{1900 + n},{n + 1},,,1,,\n" for n in range(100)
    )
    app.config.update(MAX_CONTENT_LENGTH=1000, IMPORT_MAX_BYTES=len(body) + 1)
    assert post(client, body, csv=True).status_code == 200
    app.config["IMPORT_MAX_BYTES"] = 1000
    assert post(client, body, csv=True).status_code == 413


def test_an_import_with_an_idempotency_key_may_be_as_large(app, client):
    # The key's digest reads the body before the view: under the import's limit too.
    body = f"{HEADER}\n" + "".join(
        f"vehicle_exports,CN,total,{1900 + n},{n + 1},,,1,,\n" for n in range(100)
    )
    app.config.update(MAX_CONTENT_LENGTH=1000, IMPORT_MAX_BYTES=len(body) + 1)
    headers = {"Content-Type": "text/csv", "Idempotency-Key": "big-1"}
    first = client.post("/v1/import", data=body, headers=headers)
    again = client.post("/v1/import", data=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(client, "statistics") == 104


GOOD_LINE = "vehicle_exports,CN,total,2024,5850000,19.3,yoy,1,,\n"


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("vehicle_exports,CN,total,2023,1,,,1,," + "x" * (128 * 1024 + 1), "field larger"),
        ('vehicle_exports,CN,total,2023,1,,,1,,"a"b"', "expected after"),
        ('vehicle_exports,CN,total,2023,1,,,1,,"never closed', "unexpected end of data"),
    ],
    ids=["a field over 128 KiB", "a stray quote", "a quote never closed"],
)
def test_csv_that_breaks_csv_is_422_naming_its_line(client, line, detail):
    response = post(client, f"{HEADER}\n{GOOD_LINE}{line}\n", csv=True)
    assert response.status_code == 422
    (error,) = response.json["errors"]
    assert error["line"] == 3 and detail in error["detail"]
    assert count(client, "statistics") == 4


@pytest.mark.parametrize("column", ["value", "change_pct"])
@pytest.mark.parametrize(
    "number",
    ["1e1000000", "-1e1000000", "NaN", "-Infinity", "sNaN", "1e-1000000", "1e-1000027", "9" * 5000]
    + ["\u0661", "\uff12\uff10", "1_000", " 1"],
    ids=["huge", "huge and negative", "NaN", "-Infinity", "sNaN", "tiny", "tinier", "5000 digits"]
    + ["arabic-indic digit", "full-width digits", "underscore", "leading space"],
)
def test_csv_numbers_no_column_can_hold_are_row_errors(client, column, number):
    cells = {"value": "1", "change_pct": "1"} | {column: number}
    line = f"vehicle_exports,CN,total,2023,{cells['value']},{cells['change_pct']},yoy,1,,\n"
    response = post(client, f"{HEADER}\n{GOOD_LINE}{line}", csv=True)
    assert response.status_code == 422
    assert [(e["line"], e["pointer"]) for e in response.json["errors"]] == [(3, f"/{column}")]
    assert count(client, "statistics") == 4


@pytest.mark.parametrize("zero", ["0e-99999999", "-0e999999999"])
def test_csv_zero_is_zero_whatever_its_exponent(client, zero):
    line = f"vehicle_exports,CN,total,2023,{zero},,,1,,\n"
    response = post(client, f"{HEADER}\n{line}", csv=True)
    assert response.status_code == 200, response.json
    assert client.get("/v1/statistics?period_from=2023&period_to=2023").json[0]["value"] == 0


@pytest.mark.parametrize("ids", ["9" * 5000, "\u00b2"], ids=["5000 digits", "a superscript two"])
def test_csv_ids_that_are_not_ids_are_row_errors(client, ids):
    line = f"vehicle_exports,CN,total,2023,1,,,{ids},,\n"
    response = post(client, f"{HEADER}\n{line}", csv=True)
    assert response.status_code == 422
    assert [(e["line"], e["pointer"]) for e in response.json["errors"]] == [(2, "/source_id")]


def test_csv_saved_by_excel_with_a_byte_order_mark_is_read(client):
    body = f"\ufeff{HEADER}\r\n{GOOD_LINE}".encode()
    assert body.startswith(b"\xef\xbb\xbf")
    response = post(client, body, csv=True)
    assert response.status_code == 200, response.json
    assert count(client, "statistics") == 5


def test_csv_that_is_not_utf8_is_422_naming_its_line(client):
    body = f"{HEADER}\n{GOOD_LINE}".encode() + b"vehicle_exports,CN,total,2023,1,,,1,,caf\xe9\n"
    response = post(client, body, csv=True)
    assert response.status_code == 422
    (error,) = response.json["errors"]
    assert error["line"] == 3 and "not UTF-8" in error["detail"]
    assert count(client, "statistics") == 4


def test_csv_lines_end_as_any_system_ends_them_and_only_there(client):
    # A line separator (U+2028) is text inside a field, not the end of a line.
    quoted = "vehicle_exports,CN,total,2023,1,,,1,,One\u2028two\r"
    response = post(client, f"{HEADER}\r{GOOD_LINE.rstrip()}\r{quoted}", csv=True)
    assert response.status_code == 200, response.json
    stored = client.get("/v1/statistics?period_from=2023&period_to=2023").json
    assert [s["quote"] for s in stored] == ["One\u2028two"]


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"statistics": [5]}, "/statistics/0"),
        ({"statistics": [[DOCUMENT["statistics"][0]]]}, "/statistics/0"),
        ({"sources": [{**DOCUMENT["sources"][0], "ref": {"a": 1}}]}, "/sources/0/ref"),
        ({"sources": [{**DOCUMENT["sources"][0], "ref": 7}]}, "/sources/0/ref"),
        ({"sources": [{**DOCUMENT["sources"][0], "ref": "k" * 100_000}]}, "/sources/0/ref"),
        (
            {
                "sources": [
                    DOCUMENT["sources"][0],
                    {**DOCUMENT["sources"][0], "url": "https://example.org/other"},
                ]
            },
            "/sources/1/ref",
        ),
        (  # a ref names a record of its own section only: here source 2, not event 2
            {
                "sources": DOCUMENT["sources"],
                "events": DOCUMENT["events"],
                "statistics": [{**STATISTIC, "event_id": "kba"}],
            },
            "/statistics/0/event_id",
        ),
        ({"sources": [{**DOCUMENT["sources"][0], "title": "t" * 100_000}]}, "/sources/0/title"),
    ],
    ids=[
        "a number for a record",
        "a list for a record",
        "an object for a ref",
        "a number for a ref",
        "a ref of 100000 characters",
        "a ref given twice",
        "a source's ref as an event_id",
        "a title of 100000 characters",
    ],
)
def test_rows_of_the_wrong_shape_are_listed_and_nothing_is_stored(client, document, pointer):
    response = post(client, document)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
    assert count(client, "sources") == 1 and count(client, "statistics") == 4


def test_refs_of_different_sections_may_be_spelt_alike(client):
    document = {
        "sources": DOCUMENT["sources"],
        "events": [{**DOCUMENT["events"][0], "ref": "kba"}],
        "statistics": [{**STATISTIC, "event_id": "kba"}],
    }
    response = post(client, document)
    assert response.status_code == 200, response.json
    stored = client.get("/v1/statistics?region=DE").json[0]
    assert client.get(f"/v1/events/{stored['event_id']}").json["title"] == "Fair"
    assert client.get(f"/v1/sources/{stored['source_id']}").json["publisher"] == "KBA"


def test_imported_rows_keep_the_rules_of_single_writes(client):
    document = {
        "sources": DOCUMENT["sources"],
        "statistics": [{**STATISTIC, "change_pct": -120, "change_basis": "yoy"}],
        "targets": [{**DOCUMENT["targets"][0], "event_id": None, "share_of": "passenger_cars"}],
    }
    response = post(client, document)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json["errors"]] == [
        "/statistics/0/change_pct",
        "/targets/0/share_of",
    ]
    assert count(client, "statistics") == 4 and count(client, "targets") == 2
