"""The changes feed: complete, in commit order, and enough to rebuild the database."""

import random
import threading
import time

import pytest

from models import records
from models.db import database
from models.tables import Statistic

COLLECTIONS = ("sources", "indicators", "segments", "events", "statistics", "targets")


def follow(client, since="", limit=3) -> tuple[list, str]:
    """Every change after `since`, page by page, and the cursor to continue from."""
    seen = []
    while True:
        response = client.get(f"/v1/changes?since={since}&limit={limit}")
        assert response.status_code == 200, response.json
        seen += response.json
        if not response.json:
            return seen, since
        since = response.headers["X-Next-Cursor"]
        assert f"since={since}" in response.headers["Link"]


def test_following_the_feed_rebuilds_the_database(client):
    client.patch("/v1/statistics/2", json={"value": 1179000}, headers={"If-Match": "*"})
    client.delete("/v1/statistics/3", headers={"If-Match": "*"})
    client.post("/v1/sources", json={"publisher": "P", "title": "T", "url": "https://e.org/x"})
    copy = {}
    changes, _ = follow(client)
    for change in changes:
        key = (change["resource"], change["key"])
        if change["change"] == "delete":
            copy.pop(key)
        else:
            copy[key] = change["version"]
    live = {}
    for collection in COLLECTIONS:
        for item in client.get(f"/v1/{collection}?page_size=1000").json:
            live[(collection, str(item.get("id", item.get("code"))))] = item["version"]
    assert copy == live
    assert ("statistics", "3") not in copy and copy[("statistics", "2")] == 2


def test_a_reader_continues_where_it_stopped(client):
    _, cursor = follow(client)
    client.patch("/v1/events/1", json={"city": "Shanghai"}, headers={"If-Match": "*"})
    later, _ = follow(client, cursor)
    assert [(c["resource"], c["key"], c["change"]) for c in later] == [("events", "1", "update")]
    assert later[0]["record"]["city"] == "Shanghai"


def test_a_reader_misses_nothing_while_writers_commit_out_of_order(app, monkeypatch):
    # Each writer lingers after writing its revision and before committing, so that without
    # ordering a later id could commit first and a reader's cursor would skip an earlier one.
    revise = records._revise

    def slow_revise(*args):
        revise(*args)
        time.sleep(random.random() / 100)

    monkeypatch.setattr(records, "_revise", slow_revise)
    done = threading.Event()
    seen = []

    def write(n):
        with app.app_context():
            for i in range(10):
                records.update(Statistic, 1 + (n + i) % 4, {"quote": f"{n}-{i}"}, None)
            database.close()

    def read():
        after = 0
        with app.app_context():
            while True:
                finished = done.is_set()
                batch = records.changes(after, 50)
                seen.extend(r.id for r in batch)
                after = batch[-1].id if batch else after
                if finished and not batch:
                    break
                if not batch:
                    time.sleep(0.001)  # poll, as a consumer would, not spin on the GIL
            database.close()

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join(timeout=60)
    with app.app_context():
        every = [r.id for r in records.changes(0, 10_000)]
    assert seen == every and len(every) == 13 + 60  # the seed's 13 records, then 60 updates


# The last is "r" and an Arabic-Indic one: a position is ASCII digits.
@pytest.mark.parametrize("since", ["nonsense", "cjEyYQ", "eA", "ctmh"])
def test_a_bad_cursor_is_422(client, since):
    response = client.get(f"/v1/changes?since={since}")
    assert response.status_code == 422
    assert response.json["errors"][0]["parameter"] == "since"
