"""Rate limits per key and per address, in memory or in Redis, answered as 429 problems."""

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from types import SimpleNamespace

import pytest
from limits.errors import StorageError

from api import create_app, limits
from api.limits import SweptMemoryStorage, outage
from api.observability import configure_logging
from models import keys
from tests.conftest import make_key
from tests.helpers import failing_redis, free_port, silent_server

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limited(request, app):
    """The app with small limits, counted in memory or in the local Redis."""
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("Redis run skipped: set TEST_REDIS_URL=redis://... to include it")
        storage = REDIS_URL
        # Keys of this process's own: other pytest-xdist workers, and CI's other lane, count
        # in the same Redis at the same time, and reset() below clears only this prefix.
        options = app.config["RATELIMIT_STORAGE_OPTIONS"] | {"key_prefix": f"tests{os.getpid()}"}
        app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    else:
        storage = "memory://"
    app.config.update(
        RATE_LIMIT_ANONYMOUS="3 per minute",
        RATE_LIMIT_KEY="5 per minute",
        RATELIMIT_STORAGE_URI=storage,
    )
    limits.init_app(app)
    limits.reset(app)  # each test counts afresh, though Redis outlives it
    return app


def test_anonymous_callers_are_limited_by_address_with_a_429_problem(limited):
    client = limited.test_client()
    answers = [client.get("/v1/sources") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"anonymous";q=3;w=60'
    assert answers[1].headers["RateLimit"].startswith('"anonymous";r=1;t=')
    refused = answers[-1]
    assert refused.content_type == "application/problem+json"
    assert refused.json["detail"].startswith("Too many requests: at most 3 per 1 minute.")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


def test_each_key_has_its_own_quota(limited):
    client = limited.test_client()
    first, second = ({"Authorization": f"Bearer {make_key(limited, 'read')}"} for _ in range(2))
    assert [client.get("/v1/sources", headers=first).status_code for _ in range(6)] == [
        200,
        200,
        200,
        200,
        200,
        429,
    ]
    assert client.get("/v1/sources", headers=second).status_code == 200
    assert client.get("/v1/sources").status_code == 200  # the address's quota is apart


def revoked_key(app) -> str:
    text = make_key(app, "write")
    with app.app_context():
        keys.revoke(text.split("_")[1])
    return text


@pytest.mark.parametrize(
    "authorization",
    [
        lambda app: "Bearer ifk_0badc0de_not-a-secret",  # unknown
        lambda app: f"Bearer {revoked_key(app)}",
        lambda app: "Bearer",  # malformed: no key
        lambda app: "ifk_0badc0de_no-scheme",
        lambda app: f"Basic {make_key(app, 'write')}",
    ],
    ids=["unknown", "revoked", "empty", "no-scheme", "basic"],
)
def test_a_rejected_key_counts_against_the_address_as_no_key_would(limited, authorization):
    client = limited.test_client()
    headers = {"Authorization": authorization(limited)}
    answers = [client.get("/v1/sources", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].content_type == "application/problem+json"
    assert answers[0].headers["RateLimit"].startswith('"anonymous";r=2;')
    assert client.get("/v1/sources").status_code == 429  # the address's quota is spent


def test_a_write_without_a_key_counts_against_the_address(limited):
    client = limited.test_client()
    statuses = [client.post("/v1/sources", json={}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_a_key_without_the_scope_counts_against_its_own_quota(limited):
    client = limited.test_client()
    reader = {"Authorization": f"Bearer {make_key(limited, 'read')}"}
    statuses = [client.post("/v1/sources", json={}, headers=reader).status_code for _ in range(6)]
    assert statuses == [403, 403, 403, 403, 403, 429]
    assert client.get("/v1/sources").status_code == 200  # the address's quota is apart


def test_health_probes_are_not_limited(limited):
    client = limited.test_client()
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}
    assert "RateLimit" not in client.get("/healthz").headers
    assert client.get("/v1/sources").headers["RateLimit"].startswith('"anonymous";r=2;')


def test_paths_the_api_lacks_are_not_counted(limited):
    client = limited.test_client()
    assert {client.get("/v1/nothing-here").status_code for _ in range(4)} == {404}
    assert client.get("/v1/sources").headers["RateLimit"].startswith('"anonymous";r=2;')


def test_limits_can_be_turned_off(app):
    app.config.update(RATELIMIT_ENABLED=False, RATE_LIMIT_ANONYMOUS="1 per minute")
    limits.init_app(app)
    client = app.test_client()
    answers = [client.get("/v1/sources") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "RateLimit" not in answers[-1].headers


def test_a_request_asks_the_store_for_its_count_once(limited, monkeypatch):
    """The count the store returns to the hit tells the caller where it stands: no second
    trip to the store for it (a Redis has only the window's end left to tell)."""
    storage = limited.extensions[limits.EXTENSION].store.storage
    asked, inside = [], []  # what the app asked the store; the calls under way

    def spy(name: str):
        method = getattr(storage, name)

        def called(*args):
            if not inside:  # the memory store's incr reads its count with its own get
                asked.append(name)
            inside.append(name)
            try:
                return method(*args)
            finally:
                inside.pop()

        return called

    for name in ("incr", "get", "get_expiry", "get_moving_window", "get_sliding_window"):
        monkeypatch.setattr(storage, name, spy(name))
    assert limited.test_client().get("/v1/sources").status_code == 200
    assert asked == ["incr", "get_expiry"]


@pytest.fixture
def unreliable(app, capsys):
    """`count_in(url)`: the app counting its requests in the store at `url`, which fails.
    Afterwards it counts in memory again, once api.limits has found that out: it keeps
    its outage across apps (a gunicorn worker has only one)."""

    def count_in(url: str, limit: str = "1000 per minute"):  # counted, never reached
        app.config.update(RATELIMIT_STORAGE_URI=url, RATE_LIMIT_ANONYMOUS=limit)
        limits.init_app(app)
        return app.test_client()

    yield count_in
    logged = service_log_after(count_in("memory://"), capsys, lambda: not outage.failing)
    assert not outage.failing, logged


def get_many(client, count: int = 40, threads: int = 4) -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: client.get("/v1/sources").status_code, range(count)))


def service_log_after(client, capsys, done, seconds: float = 40) -> str:
    """What the service logged (its handler writes to stderr) while `client` asked for a
    page every 0.1 s until `done()`: api.limits tries a failed store again after 1, 2,
    4 ... 32 s, on a request."""
    logged = capsys.readouterr().err
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        assert client.get("/v1/sources").status_code == 200
        logged += capsys.readouterr().err
        time.sleep(0.1)
    return logged


def outage_lines(logged: str) -> list[str]:
    return [line for line in logged.splitlines() if " api.limits: " in line]


@pytest.mark.parametrize(
    ("kind", "cause"),
    [("refusing", "ConnectionError: Error 111"), ("silent", "TimeoutError: Timeout reading")],
)
def test_a_failing_store_lets_requests_through_and_is_logged_once(unreliable, capsys, kind, cause):
    started = time.monotonic()
    with failing_redis(kind) as url:
        statuses = get_many(unreliable(url))
    assert statuses == [200] * 40
    assert time.monotonic() - started < 5  # a silent store held each request for ever
    [line] = outage_lines(capsys.readouterr().err)
    assert f"[WARNING] api.limits: Rate limit storage failed ({cause}" in line
    assert "): this worker counts in memory until it answers [request " in line


def test_the_log_says_when_the_store_answers_again(unreliable, capsys):
    with failing_redis("silent") as url:
        get_many(unreliable(url))
    back = unreliable("memory://")  # answers from now on
    logged = service_log_after(back, capsys, lambda: not outage.failing)
    failed, recovered = outage_lines(logged)
    assert "Rate limit storage failed (TimeoutError" in failed
    back_again = r"answers again after \d+\.\d s; this worker counted (\d+) requests in memory"
    counted = re.search(back_again + r" meanwhile \[request ", recovered)
    assert counted and int(counted[1]) >= 40, recovered  # each of get_many's, none let through


def test_probes_never_wait_on_the_store(unreliable):
    with silent_server() as (port, accepted):
        client = unreliable(f"redis://127.0.0.1:{port}")
        assert client.get("/v1/sources").status_code == 200  # the store fails, and is retried
        tried = len(accepted)
        deadline = time.monotonic() + 2.5  # past the store's next try, at 1 s
        while time.monotonic() < deadline:
            assert client.get("/healthz").status_code == 200
            time.sleep(0.1)
        assert len(accepted) == tried


def test_while_the_store_fails_each_worker_counts_in_memory(unreliable):
    client = unreliable(f"redis://127.0.0.1:{free_port()}", limit="3 per minute")
    statuses = [client.get("/v1/sources").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_failing_store_is_tried_again_after_1_2_4_to_32_s_then_every_32(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(limits, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    failing = limits.StorageOutage()
    assert failing.due()
    failing.failed(StorageError(ConnectionError("refused")))
    tries = []
    for tenth in range(1, 1300):  # a request every 0.1 s for 130 s
        clock[0] = tenth / 10
        if failing.due():
            tries.append(clock[0])
    assert [b - a for a, b in pairwise([0.0, *tries])] == [1, 2, 4, 8, 16, 32, 32, 32]
    failing.ended()
    assert not failing.failing and failing.due()


def test_the_outage_log_follows_log_format(unreliable, capsys):
    configure_logging("json", "info")
    try:
        get_many(unreliable(f"redis://127.0.0.1:{free_port()}"), count=4)
        [entry] = [
            json.loads(line)
            for line in capsys.readouterr().err.splitlines()
            if '"api.limits"' in line
        ]
    finally:
        configure_logging("text", "info")
    assert entry["level"] == "WARNING"
    assert entry["cause"].startswith("ConnectionError: Error 111")


def test_the_store_is_given_short_timeouts_and_no_retries(app):
    options = app.config["RATELIMIT_STORAGE_OPTIONS"]
    assert options["socket_connect_timeout"] == options["socket_timeout"] == 0.2
    assert options["retry"].get_retries() == 0


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota(app):
    behind = create_app(app.config | {"TRUSTED_PROXIES": 1, "RATE_LIMIT_ANONYMOUS": "2 per minute"})
    limits.init_app(behind)
    limits.reset(behind)
    client = behind.test_client()
    first, second = ({"X-Forwarded-For": address} for address in ("203.0.113.7", "203.0.113.8"))
    assert [client.get("/v1/sources", headers=first).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert client.get("/v1/sources", headers=second).status_code == 200


def test_forwarded_addresses_are_ignored_without_a_trusted_proxy(limited):
    client = limited.test_client()
    forged = ({"X-Forwarded-For": f"203.0.113.{n}"} for n in range(4))
    assert [client.get("/v1/sources", headers=h).status_code for h in forged][-1] == 429


def test_counts_in_memory_expire_on_time_and_are_swept_without_a_thread(monkeypatch):
    storage = SweptMemoryStorage()
    threads = threading.active_count()
    storage.incr("quiet", expiry=0.05)
    for _ in range(100):
        storage.incr("busy", expiry=60)
    assert threading.active_count() <= threads  # limits' own started one per quiet 10 ms
    time.sleep(0.06)
    assert storage.get("quiet") == 0 and storage.get("busy") == 100
    storage.incr("quiet again", expiry=0.01)
    time.sleep(0.02)
    assert "quiet again" in storage.storage  # expired, but not swept yet
    monkeypatch.setattr(limits, "SWEEP_SECONDS", 0)
    storage.incr("busy", expiry=60)
    assert "quiet again" not in storage.storage and storage.get("busy") == 101
