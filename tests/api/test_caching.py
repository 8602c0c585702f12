"""Cached reads: after a write by any path, every cached endpoint answers with the new state."""

import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from api import as_of
from api.caching import Answer, Answers
from models import records, resources, schema
from models.db import database
from service.cli import main
from tests.api.test_as_of import moment
from tests.api.test_imports import DOCUMENT
from tests.conftest import BACKENDS, backend_url, copy_seeded_sqlite, seeded_app, served_on

FUTURE = "2999-01-01T00:00:00Z"  # an instant still to come, which is read as now
SERIES = "/v1/series?indicator=vehicle_exports&region=CN&segment=total&transform=yoy_pct"
CHECKS = ["/v1/checks/reconciliation", "/v1/checks/conflicts"]
PROGRESS = "/v1/targets/1/progress"  # the seed's export target, judged on the yearly totals
NEW_STATISTIC = {  # the year before the seed's total, which its stated change compares with
    "indicator": "vehicle_exports",
    "region": "CN",
    "segment": "total",
    "period": "2024-Q1",
    "value": 1323000,
    "source_id": 1,
}


def cached_urls(client) -> list[str]:
    """Every cached endpoint: each collection's list and first record, the timeline, a
    series, the checks, a target's progress and the landing page. Reads need no key, which
    a restore would not keep."""
    urls = ["/", "/v1/facts", SERIES, "/v1/statistics?region=CN", *CHECKS, PROGRESS]
    for name, resource in resources.REGISTRY.items():
        first = client.get(f"/v1/{name}").get_json()[0]
        urls += [f"/v1/{name}", f"/v1/{name}/{first[resource.key.name]}"]
    return urls


def reads(client, urls: list[str]) -> dict[str, tuple]:
    answers = {}
    for url in urls:
        response = client.get(url)
        # A problem's body names its request: errors are told apart by status alone.
        body = response.data if response.status_code < 400 else None
        answers[url] = (response.status_code, response.headers.get("ETag"), body)
    return answers


def create(client, run, tmp_path):
    assert client.post("/v1/statistics", json=NEW_STATISTIC).status_code == 201


def update(client, run, tmp_path):
    tag = client.get("/v1/statistics/1").headers["ETag"]
    response = client.patch("/v1/statistics/1", json={"value": 1420001}, headers={"If-Match": tag})
    assert response.status_code == 200


def delete(client, run, tmp_path):
    tag = client.get("/v1/statistics/2").headers["ETag"]
    assert client.delete("/v1/statistics/2", headers={"If-Match": tag}).status_code == 204


def import_over_http(client, run, tmp_path):
    assert client.post("/v1/import", json=DOCUMENT).status_code == 200


def import_from_the_command_line(client, run, tmp_path):
    path = tmp_path / "document.json"
    path.write_text(json.dumps({"statistics": [NEW_STATISTIC]}))
    run("import", str(path))


def restore(client, run, tmp_path):
    # The dump holds a statistic the database did not when it was read last: empty, and
    # stamped by its migrations.
    assert client.post("/v1/statistics", json=NEW_STATISTIC).status_code == 201
    path = tmp_path / "dump.ndjson"
    run("export", str(path))
    with client.application.app_context():
        schema.drop_schema()
    run("db", "upgrade")
    return lambda: run("import-dump", str(path))


@pytest.mark.parametrize(
    "write",
    [create, update, delete, import_over_http, import_from_the_command_line, restore],
)
def test_every_cached_read_answers_with_what_a_write_left(
    app, client, anonymous, database_url, tmp_path, write
):
    def run(*args):
        result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": database_url})
        assert result.exit_code == 0, result.output

    urls = cached_urls(anonymous)
    before = reads(anonymous, urls)
    # Some writes are a setup and then the write whose effect the reads must show.
    last = write(client, run, tmp_path) or (lambda: None)
    app.extensions["answers"] = Answers()
    cached = reads(anonymous, urls)
    assert reads(anonymous, urls) == cached
    answered = [url for url, (status, _, _) in cached.items() if status == 200]
    assert len(app.extensions["answers"]) == len(answered)  # each one is kept
    last()
    after = reads(anonymous, urls)
    app.extensions["answers"] = Answers()  # nothing kept: every read made again
    assert after == reads(anonymous, urls)
    changed = {url for url in urls if after[url] != before[url]}
    assert {"/", "/v1/statistics", "/v1/facts"} <= changed
    if write in (create, restore):  # the stated change of the seed's total is now derived
        assert {"/v1/statistics/1", SERIES} <= changed
    if write is update:  # the total no longer matches its parts, nor the target's pace
        assert {CHECKS[0], PROGRESS} <= changed


class Clock:
    """In place of a module's `datetime`, whose now() it alone uses: a clock showing `at`."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self, tz=None) -> datetime:
        return self.at.astimezone(tz)


def value_as_of(client, instant: str) -> int:
    response = client.get("/v1/statistics/1", query_string={"as_of": instant})
    assert response.status_code == 200, response.json
    return response.json["value"]


def test_a_read_as_of_an_instant_still_to_come_is_kept_until_a_write(app, client, anonymous):
    # Read as of now: a write, today, changes what it reads.
    assert value_as_of(anonymous, FUTURE) == value_as_of(anonymous, FUTURE) == 1420000
    assert len(app.extensions["answers"]) == 1
    update(client, None, None)
    assert value_as_of(anonymous, FUTURE) == 1420001


def test_a_read_as_of_a_past_instant_is_kept_until_a_write_dated_by_then(
    app, client, anonymous, monkeypatch
):
    past = moment()
    assert value_as_of(anonymous, past) == value_as_of(anonymous, past) == 1420000
    assert len(app.extensions["answers"]) == 1
    # A write whose revision is dated by then: as a server whose clock is behind makes one.
    monkeypatch.setattr(records, "datetime", Clock(datetime.fromisoformat(past)))
    update(client, None, None)
    assert value_as_of(anonymous, past) == 1420001


def test_an_instant_still_to_come_is_read_again_once_it_has_passed(app, anonymous, monkeypatch):
    soon = datetime.now(UTC) + timedelta(hours=1)
    url = f"/v1/statistics?q=passenger&as_of={quote(soon.isoformat())}"
    now = anonymous.get(url)
    assert now.status_code == 200 and anonymous.get(url).data == now.data
    assert len(app.extensions["answers"]) == 1
    # Read from the history now, which searches and ranks otherwise: not the answer kept.
    monkeypatch.setattr(as_of, "datetime", Clock(soon + timedelta(seconds=1)))
    then = anonymous.get(url)
    assert sorted(item["id"] for item in then.json) == sorted(item["id"] for item in now.json)
    assert now.json and len(app.extensions["answers"]) == 2


def test_an_error_is_not_kept_and_a_304_is(app, client):
    assert client.get("/v1/statistics/999").status_code == 404
    assert client.get("/v1/statistics?region=XX").status_code == 422
    assert len(app.extensions["answers"]) == 0
    tag = client.get("/v1/statistics/1").headers["ETag"]
    for _ in range(2):
        response = client.get("/v1/statistics/1", headers={"If-None-Match": tag})
        assert response.status_code == 304 and response.headers["ETag"] == tag
    assert len(app.extensions["answers"]) == 2


def test_answers_past_the_budget_go_least_recently_read_first():
    answers = Answers(budget=3000)
    answer = Answer(200, [], b"x" * 100)
    answers.put(("a",), 1, answer)
    answers.put(("b",), 1, answer)
    assert answers.get(("a",), 1) == answer  # "a" is now the more recently read
    answers.put(("c",), 1, answer)
    assert answers.get(("b",), 1) is None and answers.get(("a",), 1) == answer
    assert answers.get(("a",), 2) is None  # another stamp: the data changed since


@pytest.fixture(params=BACKENDS)
def two_workers(request, tmp_path):
    """`industry-facts serve` with two gunicorn workers, each keeping answers of its own, and
    each request's line in its log (which names the worker's process)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
        copy_seeded_sqlite(Path(url.removeprefix("sqlite:///")))
    else:
        url = backend_url("postgresql", tmp_path)
        seeded_app(url)
        database.close_all()
    with served_on(url, tmp_path, {"LOG_LEVEL": "info"}) as server:
        yield server


def test_a_write_through_one_worker_ends_what_both_workers_kept(two_workers):
    url = f"{two_workers.url}/v1/statistics/1"
    # Today's, and as of an instant still to come: read as now, and kept alike.
    paths = ["/v1/statistics/1", f"/v1/statistics/1?as_of={FUTURE}"]

    def both_kept() -> bool:
        answered = [workers_that_answered(two_workers, f"GET {path} 200") for path in paths]
        return all(len(workers) == 2 for workers in answered)

    # A connection a request, until both workers have answered each, and so kept the answer.
    for _ in range(200):
        assert {http_get(two_workers.url + path)["value"] for path in paths} == {1420000}
        if both_kept():
            break
    assert both_kept()
    patched = urllib.request.Request(
        url,
        json.dumps({"value": 1420001}).encode(),
        {
            "Authorization": f"Bearer {two_workers.keys['write']}",
            "Content-Type": "application/json",
            "If-Match": "*",
        },
        method="PATCH",
    )
    with urllib.request.urlopen(patched, timeout=30) as response:
        assert response.status == 200
    assert {http_get(two_workers.url + path)["value"] for path in paths * 40} == {1420001}


def http_get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def workers_that_answered(server, line: str) -> set[str]:
    """The process ids of the workers whose log has `line` (gunicorn's "[pid]" field)."""
    logged = server.log_path.read_text().splitlines()
    return {re.search(r"\] \[(\d+)\]", entry)[1] for entry in logged if line in entry}
