"""Export and restore: everything stored, history included, comes back exactly."""

from datetime import UTC, datetime

import pytest

from models import dump
from models.errors import Conflict
from models.schema import create_schema, drop_schema
from tests.conftest import make_key

COLLECTIONS = ("sources", "indicators", "segments", "events", "statistics", "targets")


def everything(client, before: str) -> dict:
    reads = {c: client.get(f"/v1/{c}?page_size=1000").json for c in COLLECTIONS}
    reads["changes"] = client.get("/v1/changes?limit=1000").json
    reads["revisions of a deleted statistic"] = client.get("/v1/statistics/3/revisions").json
    reads["the past"] = client.get("/v1/statistics", query_string={"as_of": before}).json
    return reads


def test_export_then_import_restores_everything_exactly(app, client, anonymous):
    before = datetime.now(UTC).isoformat()
    client.patch("/v1/statistics/2", json={"value": 1179000}, headers={"If-Match": "*"})
    client.delete("/v1/statistics/3", headers={"If-Match": "*"})
    client.patch("/v1/segments/total", json={"name": "Everything"}, headers={"If-Match": "*"})
    then = everything(anonymous, before)
    with app.app_context():
        exported = "".join(dump.export_rows())
        drop_schema()
        create_schema()
        counts = dump.import_rows(exported.splitlines(keepends=True))
        assert "".join(dump.export_rows()) == exported
    assert counts["statistic"] == 3 and counts["revision"] == 13 + 3
    assert everything(anonymous, before) == then
    assert len(then["the past"]) == 4 and then["the past"] != then["statistics"]
    # Search indexes are rebuilt, and new records get new ids. (API keys are not exported:
    # they run the service rather than belong to its facts.)
    assert [s["id"] for s in anonymous.get("/v1/statistics?q=energy").json] == [4]
    created = anonymous.post(
        "/v1/sources",
        json={"publisher": "P", "title": "T", "url": "https://example.org/new"},
        headers={"Authorization": f"Bearer {make_key(app, 'write')}"},
    )
    assert created.status_code == 201 and created.json["id"] == 2


def test_restoring_into_a_database_with_data_is_refused(app):
    with app.app_context():
        exported = list(dump.export_rows())
        with pytest.raises(Conflict):
            dump.import_rows(exported)


def test_a_dump_from_before_history_is_given_one(app, anonymous):
    with app.app_context():
        exported = [line for line in dump.export_rows() if '_history"' not in line]
        drop_schema()
        create_schema()
        dump.import_rows(exported)
    now = datetime.now(UTC).isoformat()
    past = anonymous.get("/v1/statistics", query_string={"as_of": now}).json
    assert past == anonymous.get("/v1/statistics").json and len(past) == 4


def test_a_restore_does_not_give_a_deleted_records_id_again(app, client, anonymous):
    newest = client.get("/v1/statistics?sort=-id&page_size=1").json[0]
    client.delete(f"/v1/statistics/{newest['id']}", headers={"If-Match": "*"})
    with app.app_context():
        exported = list(dump.export_rows())
        drop_schema()
        create_schema()
        dump.import_rows(exported)
    created = anonymous.post(
        "/v1/statistics",
        json=_without_bookkeeping(newest),
        headers={"Authorization": f"Bearer {make_key(app, 'write')}"},  # keys are not exported
    )
    assert created.status_code == 201, created.json
    assert created.json["id"] == newest["id"] + 1
    revisions = anonymous.get(f"/v1/statistics/{newest['id']}/revisions").json
    assert [r["change"] for r in revisions] == ["delete", "create"]


def _without_bookkeeping(statistic: dict) -> dict:
    writable = ("indicator", "region", "segment", "period", "value", "source_id", "quote")
    return {name: statistic[name] for name in writable}
