"""A Redis that refuses connections, or accepts them and never answers, under gunicorn: every
rate-limited request still answers within a second, each worker logs the failure once, and
/healthz answers throughout."""

import re
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import served_on
from tests.helpers import failing_redis

REQUESTS = 50
CLIENTS = 5
PAUSE = 0.3  # seconds between a client's requests
WORKERS = 2  # served_on's WEB_CONCURRENCY
FAILED = re.compile(r"\[(\d+)\] \[WARNING\] api\.limits: Rate limit storage failed \((.*?)\)")


def timed_get(url: str) -> tuple[int, float]:
    """The status of a GET and the seconds it took; the timeout is far above what may pass."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, time.perf_counter() - started


def send(url: str, count: int) -> list[tuple[int, float]]:
    """`count` GETs of `url`, PAUSE apart: the load outlasts api.limits' first tries of
    the store again, 1 and 3 s after its failure."""
    answers = []
    for _ in range(count):
        answers.append(timed_get(url))
        time.sleep(PAUSE)
    return answers


def probe_until(url: str, stop: threading.Event, answers: list) -> None:
    while not stop.is_set():
        answers.append(timed_get(f"{url}/healthz"))
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["refusing", "silent"])
def test_a_failing_redis_slows_no_request_and_is_logged_once(kind, tmp_path, record_property):
    # Limits counted (in Redis, or in memory once it fails), but out of reach of this load.
    settings = {"RATE_LIMIT_ANONYMOUS": "10000 per minute"}
    probes, stop = [], threading.Event()
    with failing_redis(kind) as url:
        database = f"sqlite:///{tmp_path / 'facts.sqlite3'}"
        with served_on(database, tmp_path, settings | {"RATELIMIT_STORAGE_URI": url}) as server:
            prober = threading.Thread(target=probe_until, args=(server.url, stop, probes))
            prober.start()
            try:
                with ThreadPoolExecutor(CLIENTS) as clients:
                    page, each = f"{server.url}/v1/sources", REQUESTS // CLIENTS
                    sent = clients.map(send, [page] * CLIENTS, [each] * CLIENTS)
                    answers = [answer for answers in sent for answer in answers]
            finally:
                stop.set()
                prober.join()
            log = server.log_path.read_text()

    failures = FAILED.findall(log)
    statuses = Counter(status for status, _ in answers)
    slowest = max(seconds for _, seconds in answers)
    record_property(
        f"fault_redis_{kind}",
        f"Redis {kind}: {REQUESTS} requests from {CLIENTS} clients: statuses {dict(statuses)}, "
        f"slowest {slowest:.3f} s; /healthz {len(probes)} probes, statuses "
        f"{dict(Counter(status for status, _ in probes))}, slowest "
        f"{max(seconds for _, seconds in probes):.3f} s; failure logged {len(failures)} times "
        f"by {len({pid for pid, _ in failures})} workers ({failures[0][1] if failures else '-'})",
    )
    assert statuses == {200: REQUESTS}
    assert slowest < 1
    assert probes and all(status == 200 and seconds < 1 for status, seconds in probes)
    workers = [pid for pid, _ in failures]
    assert 1 <= len(workers) <= WORKERS and len(set(workers)) == len(workers), log[-3000:]
