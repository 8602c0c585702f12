"""Build the revisions fixture: a database's rows and its answers, made by the code of the time.

Run once, with the code whose answers later code must keep (`python -m
tests.models.revisions_fixture.build`): it writes `rows.ndjson` (every row, as `db export`
wrote it then) and `answers.json` (every revision page, every read as of each revision's
instant and every page of the changes feed). tests/models/test_revisions_migration.py loads
the rows into a database at that schema, migrates it and asks the same questions.
"""

import hashlib
import json
import tempfile
import time
from pathlib import Path

from api import create_app
from models import keys
from models.dump import export_rows
from models.schema import create_schema
from service.seed import load_seed

HERE = Path(__file__).parent


def questions(revisions: dict[str, list[dict]]) -> list[str]:
    """Every URL whose answer must not change: each record's revisions (all, then in pages of
    two), the record, its collection and its revisions as of each revision's instant, and
    the changes feed in pages of three, today and as of each instant."""
    urls, instants = [], set()
    for path, found in revisions.items():
        urls += [f"{path}/revisions?page_size=1000", f"{path}/revisions?page_size=2&page=2"]
        instants.update(revision["at"] for revision in found)
    for at in sorted(instants):
        for path in revisions:
            urls += [f"{path}?as_of={at}", f"{path}/revisions?as_of={at}"]
        for collection in sorted({path.rsplit("/", 1)[0] for path in revisions}):
            urls.append(f"{collection}?as_of={at}&page_size=1000")
        urls.append(f"/v1/changes?limit=1000&as_of={at}")
    return urls


def feed(client, limit: int = 3, **extra) -> list[bytes]:
    """Every page of the changes feed, from the start, `limit` at a time, as it was sent."""
    pages, since = [], ""
    while True:
        answer = client.get("/v1/changes", query_string={"limit": limit, "since": since, **extra})
        pages.append(answer.data)
        if not answer.get_json():
            return pages
        since = answer.headers["X-Next-Cursor"]


def changes(client) -> None:
    """Creates, updates (PATCH and PUT), deletes, topics changed, a code given again, and
    imports of JSON and CSV (on_conflict=update), each a moment apart."""

    def write(method, url, body=None, etag=None, **kwargs):
        headers = {"If-Match": etag} if etag else {}
        answer = client.open(url, method=method, json=body, headers=headers, **kwargs)
        assert answer.status_code < 300, (method, url, answer.get_json())
        time.sleep(0.01)  # distinct instants, as_of can tell apart
        return answer

    source = write(
        "POST",
        "/v1/sources",
        {"publisher": "CAAM", "title": "Exports", "url": "https://example.org/caam"},
    )
    sid = source.get_json()["id"]
    event = write(
        "POST",
        "/v1/events",
        {
            "title": "Launch",
            "kind": "launch",
            "date": "2025-05-10",
            "topics": ["ev", "smart transport"],
            "source_id": sid,
        },
    )
    eid = event.get_json()["id"]
    event = write(
        "PATCH", f"/v1/events/{eid}", {"topics": ["ev", "batteries"]}, event.headers["ETag"]
    )
    event = write(
        "PUT",
        f"/v1/events/{eid}",
        {"title": "Launch, again", "kind": "launch", "date": "2025-05-11", "source_id": sid},
        event.headers["ETag"],
    )
    indicator = write(
        "POST",
        "/v1/indicators",
        {"code": "car_sales", "name": "Car sales", "unit": "vehicles", "measure": "count"},
    )
    indicator = write(
        "PATCH", "/v1/indicators/car_sales", {"name": "Sales of cars"}, indicator.headers["ETag"]
    )
    write("DELETE", "/v1/indicators/car_sales", etag=indicator.headers["ETag"])
    write(
        "POST",
        "/v1/indicators",
        {"code": "car_sales", "name": "Car sales", "unit": "cars", "measure": "count"},
    )
    statistic = write(
        "POST",
        "/v1/statistics",
        {
            "indicator": "vehicle_exports",
            "region": "DE",
            "segment": "total",
            "period": "2024-Q1",
            "value": 1178000.5,
            "change_pct": 7.3,
            "change_basis": "yoy",
            "source_id": sid,
            "event_id": eid,
        },
    )
    stid = statistic.get_json()["id"]
    statistic = write(
        "PATCH", f"/v1/statistics/{stid}", {"value": 1179000}, statistic.headers["ETag"]
    )
    statistic = write(
        "PATCH", f"/v1/statistics/{stid}", {"period": "2024-03"}, statistic.headers["ETag"]
    )
    write("DELETE", f"/v1/statistics/{stid}", etag=statistic.headers["ETag"])
    segment = write(
        "POST", "/v1/segments", {"code": "suvs", "name": "SUVs", "parent": "passenger_cars"}
    )
    write("PATCH", "/v1/segments/suvs", {"additive": False}, segment.headers["ETag"])
    write(
        "POST",
        "/v1/import",
        {
            "sources": [{"ref": "s", "publisher": "P", "title": "T", "url": "https://e.org/t"}],
            "statistics": [
                {
                    "indicator": "vehicle_exports",
                    "region": region,
                    "segment": "total",
                    "period": "2024",
                    "value": value,
                    "source_id": "s",
                }
                for region, value in (("FR", 100), ("JP", 4200000.25))
            ],
        },
    )
    csv = (
        "indicator,region,segment,period,value,source_id\n"
        f"vehicle_exports,FR,total,2024,101,{sid + 1}\n"
        f"vehicle_exports,KR,total,2024,2800000,{sid + 1}\n"
    )
    write(
        "POST",
        "/v1/import?on_conflict=update",
        data=csv,
        content_type="text/csv",
    )
    target = write(
        "POST",
        "/v1/targets",
        {
            "title": "Exports by 2030",
            "region": "DE",
            "indicator": "vehicle_exports",
            "target_value": 5000000,
            "target_period": "2030",
            "source_id": sid,
            "event_id": eid,
        },
    )
    tid = target.get_json()["id"]
    target = write("PATCH", f"/v1/targets/{tid}", {"status": "achieved"}, target.headers["ETag"])
    write("DELETE", f"/v1/targets/{tid}", etag=target.headers["ETag"])
    event = client.get(f"/v1/events/{eid}")
    write("PATCH", f"/v1/events/{eid}", {"topics": ["trade"]}, event.headers["ETag"])


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}"})
    with app.app_context():
        create_schema()
        load_seed()
        key = keys.create("fixture", "write")[1]
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    changes(client)
    with app.app_context():
        (HERE / "rows.ndjson").write_text("".join(export_rows()))
    everything = json.loads(feed(client, 1000)[0])
    paths = {}
    for change in everything:
        paths.setdefault(f"/v1/{change['resource']}/{change['key']}", [])
    for path in paths:
        paths[path] = client.get(f"{path}/revisions?page_size=1000").get_json()
    answers = {"feed": [digest(page) for page in feed(client)]}
    for url in questions(paths):
        answers[url] = answer(client, url)
    (HERE / "answers.json").write_text(json.dumps(answers, sort_keys=True) + "\n")


def answer(client, url: str) -> list:
    """What `url` answers: its status and a digest of its bytes (of a problem, without its
    request_id, which differs every time)."""
    response = client.get(url)
    if response.status_code >= 400:
        problem = response.get_json()
        del problem["request_id"]
        return [response.status_code, digest(json.dumps(problem, sort_keys=True).encode())]
    return [response.status_code, digest(response.data)]


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


if __name__ == "__main__":
    main()
