"""Idempotency-Key: a retry replays the first response, or runs again if the first failed."""

import concurrent.futures
import threading
from datetime import timedelta

import psycopg
import pytest
from peewee import OperationalError

from models import idempotency, records
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


def test_a_retry_while_the_first_still_runs_waits_for_it_and_replays_its_answer(
    app, client, monkeypatch
):
    running, go_on = threading.Event(), threading.Event()
    create = records.create

    def slow(model, data):
        running.set()
        go_on.wait(timeout=30)
        return create(model, data)

    monkeypatch.setattr(records, "create", slow)
    first = concurrent.futures.ThreadPoolExecutor(1).submit(post, client)
    assert running.wait(timeout=30)
    retry = concurrent.futures.ThreadPoolExecutor(1).submit(post, client)
    with pytest.raises(concurrent.futures.TimeoutError):
        retry.result(timeout=0.5)  # held on the writers' lock, not answered 409
    go_on.set()
    first, retry = first.result(timeout=30), retry.result(timeout=30)
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"
    assert count(client, "sources") == 2


def test_a_claim_whose_request_never_finished_is_free_again(app, client):
    # What an older version, which committed claims at once, left when a worker died.
    owner = client.environ_base["HTTP_AUTHORIZATION"].split("_")[1]
    with app.app_context():
        IdempotentRequest.create(owner=owner, key="k-1", fingerprint="0" * 64)
    response = post(client)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(client, "sources") == 2


def test_a_database_lost_before_the_answer_is_kept_is_503_and_keeps_nothing(
    app, client, monkeypatch
):
    # The write and its claim commit together, with the answer, or not at all: a client told
    # to retry finds the key free and its record not stored.
    def lost(*args):
        try:
            raise psycopg.OperationalError("the connection is closed")
        except psycopg.OperationalError as error:
            raise OperationalError(*error.args) from error  # as peewee wraps it

    monkeypatch.setattr(idempotency, "complete", lost)
    response = post(client)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert count(client, "sources") == 1
    monkeypatch.undo()
    assert post(client).status_code == 201
    assert count(client, "sources") == 2


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


def test_a_patch_without_if_match_is_428_and_leaves_the_key_unclaimed(client):
    headers = {"Idempotency-Key": "p-2"}
    response = client.patch("/v1/statistics/1", json={"value": 1}, headers=headers)
    assert response.status_code == 428
    response = client.patch(
        "/v1/statistics/1", json={"value": 2}, headers=headers | {"If-Match": "*"}
    )
    assert response.status_code == 200 and response.json["value"] == 2
