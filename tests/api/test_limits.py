"""Rate limits per key and per address, in memory or in Redis, answered as 429 problems."""

import os

import pytest

from api import create_app
from api.limits import limiter
from models import keys
from tests.conftest import make_key

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limited(request, app):
    """The app with small limits, counted in memory or in the local Redis."""
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("Redis run skipped: set TEST_REDIS_URL=redis://... to include it")
        storage = REDIS_URL
    else:
        storage = "memory://"
    app.config.update(
        RATE_LIMIT_ANONYMOUS="3 per minute",
        RATE_LIMIT_KEY="5 per minute",
        RATELIMIT_STORAGE_URI=storage,
    )
    limiter.init_app(app)
    limiter.reset()  # each test counts afresh, though Redis outlives it
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


def test_a_store_that_cannot_be_reached_lets_requests_through(app, caplog):
    app.config.update(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")  # nothing listens there
    limiter.init_app(app)
    response = app.test_client().get("/v1/sources")
    assert response.status_code == 200
    assert "Failed to rate limit" in caplog.text


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota(app):
    behind = create_app(app.config | {"TRUSTED_PROXIES": 1, "RATE_LIMIT_ANONYMOUS": "2 per minute"})
    limiter.init_app(behind)
    limiter.reset()
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
