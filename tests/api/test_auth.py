"""API keys: every write needs one with write scope; reads are open unless configured not to be."""

import json

import pytest
from click.testing import CliRunner

from models.tables import ApiKey
from service.cli import main
from tests.api.test_openapi import COMMITTED
from tests.conftest import make_key

SPEC = json.loads(COMMITTED.read_text())
METHODS = {"get", "post", "put", "patch", "delete"}
EXAMPLE = {
    "/v1/sources": {"publisher": "P", "title": "T", "url": "https://example.org/auth"},
    "/v1/sources/{id}": {"publisher": "Renamed"},
}


def secured_operations() -> list[tuple[str, str]]:
    """Every operation the spec says needs a key, with a concrete path."""
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in METHODS and operation.get("security") == [{"bearer": []}]:
                concrete = path.replace("{id}", "1").replace("{code}", "total")
                found.append((method.upper(), concrete))
    return found


SECURED = secured_operations()


def test_every_write_and_only_writes_need_a_key():
    methods = {method for method, _ in SECURED}
    assert methods == {"POST", "PUT", "PATCH", "DELETE"}
    writes = [
        (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in METHODS - {"get"}
    ]
    assert len(SECURED) == len(writes) >= 6 * 4


def call(client, method: str, path: str, authorization: str | None):
    headers = {"If-Match": "*"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.open(path, method=method, json={}, headers=headers)


@pytest.mark.parametrize(("method", "path"), SECURED)
def test_without_a_key_a_write_is_401_and_changes_nothing(app, anonymous, method, path):
    before = anonymous.get("/v1/changes?limit=1000").json
    response = call(anonymous, method, path, None)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="industry-facts"'
    assert anonymous.get("/v1/changes?limit=1000").json == before


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ifk_00000000_nope",
        "Bearer ifk_0000\x000000_nope",  # PostgreSQL's text cannot even be asked for NUL
        "Bearer ifk_\u0661\u0662_nope",
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer",
    ],
)
@pytest.mark.parametrize(("method", "path"), SECURED[:4])
def test_an_unknown_key_is_401_invalid_token(anonymous, method, path, authorization):
    response = call(anonymous, method, path, authorization)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_key_that_differs_only_in_its_secret_is_refused(app, anonymous):
    text = make_key(app, "write")
    forged = text[:-4] + ("aaaa" if not text.endswith("aaaa") else "bbbb")
    assert call(anonymous, "POST", "/v1/sources", f"Bearer {forged}").status_code == 401


@pytest.mark.parametrize(("method", "path"), SECURED)
def test_a_read_only_key_is_403(app, anonymous, method, path):
    response = call(anonymous, method, path, f"Bearer {make_key(app, 'read')}")
    assert response.status_code == 403
    assert 'error="insufficient_scope", scope="write"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scope", ["write", "admin"])
def test_a_write_or_admin_key_writes_and_its_revision_names_it(app, anonymous, scope):
    text = make_key(app, scope)
    response = anonymous.post(
        "/v1/sources", json=EXAMPLE["/v1/sources"], headers={"Authorization": f"Bearer {text}"}
    )
    assert response.status_code == 201, response.json
    revision = anonymous.get(f"/v1/sources/{response.json['id']}/revisions").json[0]
    assert revision["by"] == text[:12]


def test_a_revoked_key_is_refused(app, anonymous, database_url):
    text = make_key(app, "write")
    identifier = text.split("_")[1]
    result = CliRunner().invoke(
        main, ["keys", "revoke", identifier], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    response = call(anonymous, "POST", "/v1/sources", f"Bearer {text}")
    assert response.status_code == 401


def test_reads_are_open_unless_configured_closed(app, anonymous):
    assert anonymous.get("/v1/statistics").status_code == 200
    app.config["READ_REQUIRES_KEY"] = True
    response = anonymous.get("/v1/statistics")
    assert response.status_code == 401 and "read scope" in response.json["detail"]
    headers = {"Authorization": f"Bearer {make_key(app, 'read')}"}
    assert anonymous.get("/v1/statistics", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"])
def test_probes_and_docs_need_no_key_even_where_reads_do(app, anonymous, path):
    # A load balancer has no key to send, and the docs are where a reader learns of keys.
    app.config["READ_REQUIRES_KEY"] = True
    assert anonymous.get(path).status_code == 200
    assert anonymous.get("/v1/sources").status_code == 401


def test_keys_from_the_command_line(app, database_url):
    env = {"DATABASE_URL": database_url}
    created = CliRunner().invoke(
        main, ["keys", "create", "--name", "curator", "--scope", "write"], env=env
    )
    assert created.exit_code == 0, created.output
    text = created.stdout.strip()
    assert text.startswith("ifk_") and len(text) > 50
    with app.app_context():
        stored = ApiKey.get(ApiKey.name == "curator")
        # Only a digest is kept: the secret appears nowhere in the row.
        assert text.split("_", 2)[2] not in json.dumps(stored.__data__, default=str)
    listed = CliRunner().invoke(main, ["keys", "list"], env=env).output
    assert f"ifk_{stored.identifier}\twrite\t" in listed and listed.rstrip().endswith("curator")
    assert "ifk_" in listed and text not in listed


@pytest.mark.parametrize("identifier", ["0000\x000000", "nothing"])
def test_revoking_a_key_that_cannot_exist_says_so(app, database_url, identifier):
    revoked = CliRunner().invoke(
        main, ["keys", "revoke", identifier], env={"DATABASE_URL": database_url}
    )
    assert revoked.exit_code != 0 and "no key" in revoked.output


def test_a_key_records_when_it_was_last_used(app, anonymous):
    text = make_key(app, "read")
    anonymous.get("/v1/sources", headers={"Authorization": f"Bearer {text}"})
    with app.app_context():
        assert ApiKey.get(ApiKey.identifier == text.split("_")[1]).last_used_at is not None
