"""Idempotency-Key: a retry replays the first response; a changed or early retry is refused."""

from datetime import timedelta

import pytest

from models import idempotency, records
from models.errors import Conflict
from models.tables import IdempotentRequest, Source, utc_now
from tests.conftest import make_key
from tests.helpers import count

SOURCE = {"publisher": "P", "title": "T", "url": "https://example.org/once"}


def post(client, body=SOURCE, key="k-1", **headers):
    return client.post("/v1/sources", json=body, headers={"Idempotency-Key": key, **headers})


def test_a_retried_create_replays_the_first_response_and_creates_once(client):
    first, again = post(client), post(client)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(client, "sources") == 2


def test_a_retried_patch_changes_the_record_once(client):
    headers = {"Idempotency-Key": "p-1", "If-Match": "*"}
    for _ in range(3):
        response = client.patch("/v1/statistics/1", json={"value": 1421000}, headers=headers)
        assert response.status_code == 200 and response.json["version"] == 2


def test_the_same_key_with_another_body_is_422(client):
    post(client)
    response = post(client, SOURCE | {"title": "Other"})
    assert response.status_code == 422
    assert response.json["errors"][0]["header"] == "Idempotency-Key"
    assert count(client, "sources") == 2


def test_a_retry_while_the_first_still_runs_is_409(app, client):
    owner = client.environ_base["HTTP_AUTHORIZATION"].split("_")[1]
    with app.app_context():
        IdempotentRequest.create(owner=owner, key="k-1", fingerprint="0" * 64)
    response = post(client)
    assert response.status_code == 409 and "still running" in response.json["detail"]
    assert count(client, "sources") == 1


def test_keys_expire(app, client):
    post(client)
    with app.app_context():
        IdempotentRequest.update(created_at=utc_now() - timedelta(hours=25)).execute()
    response = post(client, SOURCE | {"url": "https://example.org/later"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(client, "sources") == 3


def test_keys_belong_to_the_api_key_that_sent_them(app, client, anonymous):
    post(client)
    other = {"Authorization": f"Bearer {make_key(app, 'write')}"}
    response = post(anonymous, SOURCE | {"url": "https://example.org/other"}, **other)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


def test_a_request_that_failed_on_our_side_may_be_retried(app, client, monkeypatch):
    def broken(model, data):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(records, "create", broken)
    with pytest.raises(RuntimeError):
        post(client)
    monkeypatch.undo()
    assert post(client).status_code == 201
    with app.app_context():
        assert Source.select().count() == 2


# NUL was a 500 on PostgreSQL, whose text cannot hold it; the key is printable ASCII.
@pytest.mark.parametrize("key", ["", "x" * 256, "a\x00b", "a\x1bb", "caf\u00e9"])
def test_a_key_that_is_not_1_to_255_printable_characters_is_400(client, key):
    response = post(client, key=key)
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"header": "Idempotency-Key", "detail": response.json["detail"]}
    ]
    assert count(client, "sources") == 1


def test_a_claim_released_before_a_retry_reads_it_is_409(app, client, monkeypatch):
    # The first request failed and freed its key between the retry's insert and its read.
    with app.app_context():
        IdempotentRequest.create(owner="x", key="k", fingerprint="f", created_at=utc_now())
    monkeypatch.setattr(IdempotentRequest, "get_or_none", lambda *where: None)
    with app.app_context(), pytest.raises(Conflict):
        idempotency.claim("x", "k", "f", timedelta(hours=1))


def test_a_patch_without_if_match_is_428_and_leaves_the_key_unclaimed(client):
    headers = {"Idempotency-Key": "p-2"}
    response = client.patch("/v1/statistics/1", json={"value": 1}, headers=headers)
    assert response.status_code == 428
    response = client.patch(
        "/v1/statistics/1", json={"value": 2}, headers=headers | {"If-Match": "*"}
    )
    assert response.status_code == 200 and response.json["value"] == 2
