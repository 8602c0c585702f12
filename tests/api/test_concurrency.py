"""Concurrent writers against gunicorn, on SQLite and on PostgreSQL: no 5xx, every write lands
or gets its documented 4xx, and afterwards the search index matches the records."""

import http.client
import json
import os
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from types import SimpleNamespace

import pytest

from models import keys, resources, search
from models.db import database, open_database
from models.schema import create_schema, drop_schema
from service.seed import load_seed
from tests.conftest import BACKENDS, backend_url
from tests.helpers import GUNICORN, ROOT, free_port, wait_until_serving

# The service's own defaults: two workers of four threads, so that requests race both
# inside a process (threads) and across processes (workers).
WORKERS, THREADS = 2, 4
CLIENTS = 8  # threads sending requests at once
PAIRS = 16  # sources, each cited by one event and one statistic
ROUNDS = 3  # changes per record, or attempts per race


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """gunicorn with its default workers and threads on a new, seeded database: its `url`, a
    `key` with write scope, and the `database_url` it serves."""
    folder = tmp_path_factory.mktemp("concurrency")
    url = backend_url(request.param, folder)
    open_database(url)
    # Where PostgreSQL is shared between tests (a role that may not create databases), it
    # starts from nothing, as the `app` fixture's does.
    drop_schema()
    create_schema()
    load_seed()
    key = keys.create("tests (concurrency)", "write")[1]
    database.close_all()
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
        "RATE_LIMIT_KEY": "1000000 per minute",
        "LOG_LEVEL": "error",
    }
    log = folder / "gunicorn.log"
    with open(log, "w") as output:
        process = subprocess.Popen(GUNICORN, cwd=ROOT, env=env, stdout=output, stderr=output)
    address = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(address, process, log.read_text)
        yield SimpleNamespace(url=address, port=port, key=key, database_url=url, log=log)
    finally:
        process.terminate()
        process.wait(timeout=30)


IDLE = 2  # seconds a connection may rest before a request: gunicorn closes one at 5 (keepalive)


class Client:
    """One keep-alive connection to the server, with the write key on every request."""

    def __init__(self, server):
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {server.key}"}
        self.used = time.monotonic()

    def call(self, method: str, path: str, body=None, **headers) -> SimpleNamespace:
        if time.monotonic() - self.used > IDLE:
            # A request sent as the server closes the connection would be lost, unanswered.
            self.connection.close()
        headers = self.headers | {k.replace("_", "-"): v for k, v in headers.items()}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body), "application/json"
        self.connection.request(method, path, payload, headers)
        response = self.connection.getresponse()
        text = response.read()
        self.used = time.monotonic()
        data = json.loads(text) if text else None
        return SimpleNamespace(
            status=response.status,
            etag=response.getheader("ETag"),
            replayed=response.getheader("Idempotent-Replayed") == "true",
            json=data,
        )


def request(method: str, path: str, body=None, **headers):
    """A request to send later, with whichever client runs it."""
    return lambda client: client.call(method, path, body, **headers)


def at_once(server, calls: list) -> list:
    """Run each of `calls(client)` in a thread of its own, all released together; their
    responses, in order."""
    gate = threading.Barrier(len(calls))
    clients = [Client(server) for _ in calls]

    def run(client, call):
        gate.wait()
        return call(client)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, clients, calls))


def spread(server, calls: list) -> list:
    """Run `calls(client)` on CLIENTS threads, each with its own connection, as fast as they
    go; neighbours in the list run at the same time. Their responses, in order."""
    local = threading.local()

    def run(call):
        if not hasattr(local, "client"):
            local.client = Client(server)
        return call(local.client)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(run, calls))


_numbers = count()


def word() -> str:
    """A word no other record holds, that both backends' search keeps whole."""
    # Letters only, ending in a consonant no stemmer touches: digits would split the token.
    return "zq" + "".join("bcdfghjklm"[int(d)] for d in f"{next(_numbers):05d}") + "x"


def new_source(client) -> dict:
    response = client.call(
        "POST",
        "/v1/sources",
        {"publisher": "Tests", "title": f"Report {word()}", "url": f"https://x.test/{word()}"},
    )
    assert response.status == 201, response.json
    return response.json


def new_event(client, source: int) -> dict:
    body = {"title": f"Launch {word()}", "kind": "launch", "date": "2025-05-10"}
    response = client.call("POST", "/v1/events", body | {"source_id": source})
    assert response.status == 201, response.json
    return response.json


def statistic_body(source: int, period: str = "2024") -> dict:
    return {
        "indicator": "vehicle_exports",
        "region": "DE",
        "segment": "total",
        "period": period,
        "value": 1,
        "source_id": source,
        "quote": f"Quote {word()}",
    }


def new_statistic(client, source: int) -> dict:
    response = client.call("POST", "/v1/statistics", statistic_body(source))
    assert response.status == 201, response.json
    return response.json


def last_word(text: str) -> str:
    return text.split()[-1]


def found(client, collection: str, words: str) -> list[int]:
    """The ids a search of `collection` for `words` lists, repeats included."""
    response = client.call("GET", f"/v1/{collection}?q={words}&page_size=100")
    assert response.status == 200, response.json
    return [item["id"] for item in response.json]


def revised(client, path: str) -> list[int]:
    """The versions a record's revisions list, newest first."""
    response = client.call("GET", f"{path}/revisions?page_size=100")
    assert response.status == 200, response.json
    return [revision["version"] for revision in response.json]


def assert_index_matches_records(server) -> None:
    """Every searchable table has exactly one search document per record."""
    open_database(server.database_url)
    try:
        for model in (resource.model for resource in resources.searchable()):
            table = search.index_table(model).__name__
            (documents,) = database.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()
            assert documents == model.select().count(), table
    finally:
        database.close_all()


def assert_no_server_errors(responses: list) -> Counter:
    statuses = Counter(response.status for response in responses)
    assert not [status for status in statuses if status >= 500], statuses
    return statuses


def test_patching_sources_while_patching_the_facts_that_cite_them(server):
    client = Client(server)
    sources = [new_source(client)["id"] for _ in range(PAIRS)]
    events = {source: new_event(client, source)["id"] for source in sources}
    statistics = {source: new_statistic(client, source)["id"] for source in sources}

    calls = []
    for _ in range(ROUNDS):
        for source in sources:  # a source, then the facts citing it, at the same time
            for path, field, text in (
                (f"/v1/sources/{source}", "title", "Report"),
                (f"/v1/events/{events[source]}", "title", "Launch"),
                (f"/v1/statistics/{statistics[source]}", "quote", "Quote"),
            ):
                calls.append(request("PATCH", path, {field: f"{text} {word()}"}, If_Match="*"))
    statuses = assert_no_server_errors(spread(server, calls))
    assert statuses == {200: len(calls)}

    # Each document holds its record's text and its source's, both as they are now.
    for source in sources:
        title = last_word(client.call("GET", f"/v1/sources/{source}").json["title"])
        event = client.call("GET", f"/v1/events/{events[source]}").json
        statistic = client.call("GET", f"/v1/statistics/{statistics[source]}").json
        assert found(client, "sources", title) == [source]
        assert found(client, "events", title) == [event["id"]]
        assert found(client, "events", last_word(event["title"])) == [event["id"]]
        assert found(client, "statistics", title) == [statistic["id"]]
        assert found(client, "statistics", last_word(statistic["quote"])) == [statistic["id"]]
        for path in (f"/v1/sources/{source}", f"/v1/events/{event['id']}"):
            assert revised(client, path) == list(range(ROUNDS + 1, 0, -1))
    assert_index_matches_records(server)


def test_concurrent_creates_of_one_natural_key_store_one_record(server):
    client = Client(server)
    source = new_source(client)["id"]
    for round in range(ROUNDS):
        url = f"https://x.test/{word()}"
        same_url = {"publisher": "Tests", "title": f"Report {word()}", "url": url}
        statistic = statistic_body(source, period=f"{2001 + round}-Q1")
        for collection, body in (("sources", same_url), ("statistics", statistic)):
            responses = at_once(server, [request("POST", f"/v1/{collection}", body)] * CLIENTS)
            statuses = assert_no_server_errors(responses)
            assert statuses == {201: 1, 409: CLIENTS - 1}
            (created,) = [r.json for r in responses if r.status == 201]
            words = last_word(body.get("title") or body["quote"])
            assert found(client, collection, words) == [created["id"]]
    assert_index_matches_records(server)


def test_concurrent_updates_with_one_etag_land_once(server):
    client = Client(server)
    event = new_event(client, new_source(client)["id"])["id"]
    for round in range(ROUNDS):
        etag = client.call("GET", f"/v1/events/{event}").etag
        titles = [f"Launch {word()}" for _ in range(CLIENTS)]
        path = f"/v1/events/{event}"
        calls = [request("PATCH", path, {"title": title}, If_Match=etag) for title in titles]
        responses = at_once(server, calls)
        statuses = assert_no_server_errors(responses)
        assert statuses == {200: 1, 412: CLIENTS - 1}
        (landed,) = [r.json for r in responses if r.status == 200]
        current = client.call("GET", f"/v1/events/{event}").json
        assert current["version"] == round + 2
        assert current["title"] == landed["title"]
        assert found(client, "events", last_word(landed["title"])) == [event]
        assert revised(client, path) == list(range(round + 2, 0, -1))
        for title in titles:
            if title != landed["title"]:
                assert not found(client, "events", last_word(title))
    assert_index_matches_records(server)


def test_deletes_racing_updates_settle_one_way(server):
    client = Client(server)
    source = new_source(client)["id"]
    events = [new_event(client, source)["id"] for _ in range(PAIRS)]
    for event in events:
        etag = client.call("GET", f"/v1/events/{event}").etag
        title = f"Launch {word()}"
        path = f"/v1/events/{event}"
        delete, patch = at_once(
            server,
            [
                request("DELETE", path, If_Match=etag),
                request("PATCH", path, {"title": title}, If_Match=etag),
            ],
        )
        assert delete.status in (204, 412), delete.json
        assert patch.status in (200, 404, 412), patch.json
        assert (delete.status == 204) != (patch.status == 200)
        if delete.status == 204:
            assert client.call("GET", path).status == 404
            assert not found(client, "events", last_word(title))
        else:
            assert found(client, "events", last_word(title)) == [event]
    assert_index_matches_records(server)


def test_deleting_a_source_while_citing_it_keeps_no_fact_without_its_source(server):
    client = Client(server)
    for _ in range(PAIRS):
        source = new_source(client)
        path = f"/v1/sources/{source['id']}"
        etag = client.call("GET", path).etag
        body = {"title": f"Launch {word()}", "kind": "launch", "date": "2025-05-10"}
        delete, create = at_once(
            server,
            [
                request("DELETE", path, If_Match=etag),
                request("POST", "/v1/events", body | {"source_id": source["id"]}),
            ],
        )
        assert delete.status in (204, 409), delete.json
        assert create.status in (201, 409, 422), create.json
        assert (delete.status == 204) != (create.status == 201)
        assert (client.call("GET", path).status == 200) == (create.status == 201)
    assert_index_matches_records(server)


def test_concurrent_retries_with_one_idempotency_key_create_once_and_all_get_its_answer(server):
    client = Client(server)
    source = new_source(client)["id"]
    for _ in range(ROUNDS):
        body = {"title": f"Launch {word()}", "kind": "launch", "date": "2025-05-10"}
        body["source_id"] = source
        key = word()
        create = request("POST", "/v1/events", body, Idempotency_Key=key)
        responses = at_once(server, [create] * CLIENTS)
        statuses = assert_no_server_errors(responses)
        # Each retry waits for the first request and replays its answer.
        assert set(statuses) == {201}, statuses
        assert [r.replayed for r in responses].count(False) == 1
        (created,) = {r.json["id"] for r in responses}
        assert found(client, "events", last_word(body["title"])) == [created]
    assert_index_matches_records(server)
