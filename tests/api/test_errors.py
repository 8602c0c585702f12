"""Every error is an RFC 9457 problem: Flask's own, the parser's, and unexpected failures."""

import logging

import pytest

from api import create_app
from tests.conftest import make_key
from tests.helpers import count, statistics_csv

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


def test_unknown_route_is_404_problem(client):
    assert_problem(client.get("/v1/nothing-here"), 404)


def test_unsupported_method_is_405_problem_with_allow(client):
    response = client.put("/v1/statistics", json={})
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_malformed_json_is_400(client):
    response = client.post(
        "/v1/sources", data='{"title": ', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400)
    assert body["errors"] == [{"pointer": "", "detail": "Invalid JSON body."}]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_400(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/sources", data='{"title": "x"}', headers=headers)
    body = assert_problem(response, 400)
    assert "application/json" in body["detail"]


def test_merge_patch_media_type_is_accepted(client):
    response = client.patch(
        "/v1/sources/1",
        data='{"title": "Renamed"}',
        headers={"Content-Type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert response.status_code == 200


def test_body_over_the_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = client.post("/v1/sources", json={"title": "x" * 200})
    assert_problem(response, 413)


def test_body_limit_defaults_to_one_mebibyte(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_unexpected_exception_is_500_without_internals_and_logged(database_url, caplog):
    app = create_app({"DATABASE_URL": database_url, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret connection string postgres://user:pw@db")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    body = assert_problem(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["detail"].startswith("The server failed")
    assert "secret connection string" in caplog.text


def test_unreachable_database_is_503_problem_and_not_ready(caplog):
    app = create_app({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    client = app.test_client()
    response = client.get("/v1/statistics")
    assert_problem(response, 503)
    assert response.headers["Retry-After"]
    with caplog.at_level(logging.WARNING):
        body = assert_problem(client.get("/readyz"), 503)
    assert body["detail"] == "Not ready: the database cannot be reached."
    assert "not ready: the database cannot be reached: connection" in caplog.text
    assert client.get("/healthz").status_code == 200


def test_ready_when_database_answers(client):
    assert client.get("/readyz").get_json() == {"status": "ok"}


def test_a_database_without_its_tables_is_not_ready_and_errors_are_500(tmp_path):
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "PROPAGATE_EXCEPTIONS": False}
    )
    client = app.test_client()
    body = assert_problem(client.get("/readyz"), 503)
    assert "no schema (run `industry-facts db upgrade`)" in body["detail"]
    # Not a passing outage, so no Retry-After: a bug or a missing `industry-facts init-db`.
    response = client.get("/v1/statistics")
    assert_problem(response, 500)
    assert "Retry-After" not in response.headers


def test_a_full_disk_is_507_logged_as_such_and_reads_go_on(full_sqlite, caplog):
    app = create_app({"DATABASE_URL": full_sqlite, "PROPAGATE_EXCEPTIONS": False})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_key(app, 'write')}"
    headers = {"Content-Type": "text/csv"}
    with caplog.at_level(logging.ERROR):
        response = client.post("/v1/import", data=statistics_csv(2000), headers=headers)
    body = assert_problem(response, 507)
    assert "storage is full" in body["detail"]
    # The real cause, not the failed rollback SQLite's own rollback made of it.
    assert "database storage full: database or disk is full" in caplog.text
    assert "cannot rollback" not in caplog.text
    assert client.get("/v1/statistics").status_code == 200
    assert count(client, "statistics") == 4


def test_a_probe_with_a_key_does_not_look_it_up():
    # Liveness says the process is alive, whatever the database: no key is checked on it.
    app = create_app({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    client = app.test_client()
    for key in ("ifk_unknown", "ifk_0123abcd_" + "x" * 40):
        response = client.get("/healthz", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
