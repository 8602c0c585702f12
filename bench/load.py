"""Writes under load: concurrent writers, and concurrent updates of one record with If-Match.

Run by `make bench` against gunicorn with 4 workers, on SQLite and on PostgreSQL. After each
run it checks what was stored: every record there once, no 5xx, no update lost.
"""

import http.client
import json
import os
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

WRITERS = 8
WRITES = int(os.environ.get("BENCH_WRITES", "500"))  # per writer
UPDATES = int(os.environ.get("BENCH_UPDATES", "50"))  # attempts per client on one record


class Client:
    """One keep-alive HTTP connection with the key on every request."""

    def __init__(self, base: str, key: str):
        address = urlsplit(base)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None, **headers):
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, payload, self.headers | headers)
        response = self.connection.getresponse()
        return response.status, response.getheader("ETag"), response.read()


def together(base: str, key: str, work) -> tuple[Counter, float]:
    """Run `work(writer, client)` in WRITERS threads at once: their statuses, and the time."""
    statuses, lock = Counter(), threading.Lock()

    def run(writer: int):
        seen = work(writer, Client(base, key))
        with lock:
            statuses.update(seen)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.perf_counter() - started


def concurrent_writers(base: str, key: str, writes: int = WRITES) -> dict:
    """WRITERS threads each POST `writes` new statistics; then count what was stored."""

    def write(writer: int, client: Client) -> Counter:
        seen = Counter()
        for n in range(writes):
            body = {
                "indicator": "vehicle_exports",
                "region": "DE",
                "segment": "total",
                "period": f"{1000 + writer * writes + n}",
                "value": n,
                "source_id": 1,
                "quote": f"load {writer}-{n}",
            }
            seen[client.call("POST", "/v1/statistics", body)[0]] += 1
        return seen

    statuses, elapsed = together(base, key, write)
    periods = _stored_periods(Client(base, key))
    return {
        "writes": WRITERS * writes,
        "per_second": WRITERS * writes / elapsed,
        "statuses": dict(statuses),
        "stored": len(periods),
        "distinct": len(set(periods)),
    }


def _stored_periods(client: Client) -> list[str]:
    """The period of every statistic the writers stored, walking keyset pages."""
    periods, cursor = [], ""
    while True:
        path = f"/v1/statistics?region=DE&page_size=1000&cursor={cursor}"
        client.connection.request("GET", path, headers=client.headers)
        response = client.connection.getresponse()
        periods += [item["period"] for item in json.loads(response.read())]
        cursor = json.loads(response.getheader("X-Pagination")).get("next_cursor")
        if not cursor:
            return periods


def contended_updates(base: str, key: str) -> dict:
    """WRITERS clients read one record and PATCH it with its ETag, UPDATES times each."""

    def update(writer: int, client: Client) -> Counter:
        seen = Counter()
        for n in range(UPDATES):
            _, tag, _ = client.call("GET", "/v1/statistics/1")
            body = {"quote": f"writer {writer}, attempt {n}"}
            seen[client.call("PATCH", "/v1/statistics/1", body, **{"If-Match": tag})[0]] += 1
        return seen

    statuses, _ = together(base, key, update)
    client = Client(base, key)
    _, _, body = client.call("GET", "/v1/statistics/1")
    version = json.loads(body)["version"]
    revisions, page = [], 1
    while True:
        _, _, body = client.call("GET", f"/v1/statistics/1/revisions?page_size=1000&page={page}")
        found = json.loads(body)
        if not found:
            break
        revisions += found
        page += 1
    versions = sorted(r["version"] for r in revisions)
    return {
        "attempts": WRITERS * UPDATES,
        "statuses": dict(statuses),
        "version": version,
        # No update lost: each success made exactly one version, and versions have no gaps.
        "no_update_lost": version == 1 + statuses[200] and versions == list(range(1, version + 1)),
    }
