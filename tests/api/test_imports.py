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
    [([1, 2], ""), ({"planets": []}, "/planets"), ({"statistics": {}}, "/statistics")],
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
