"""Fixtures: an app per test on a fresh, seeded database, on SQLite and on PostgreSQL."""

import os
import subprocess
from types import SimpleNamespace

import pytest

from api import create_app
from api.seed import load_seed
from models import keys
from models.db import database
from models.schema import create_schema, drop_schema
from tests.helpers import GUNICORN, ROOT, free_port, wait_until_serving

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Every test that touches the database runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://... to include it")
    return POSTGRES_URL


@pytest.fixture
def app(database_url):
    # Limits stay on, but out of reach: tests/api/test_limits.py lowers them to test them.
    unlimited = "1000000 per minute"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "RATE_LIMIT_ANONYMOUS": unlimited,
            "RATE_LIMIT_KEY": unlimited,
        }
    )
    with app.app_context():
        # SQLite gets a new file per test; PostgreSQL is shared, so start it from nothing.
        drop_schema()
        create_schema()
        load_seed()
    database.close()
    yield app


@pytest.fixture(autouse=True)
def _close_pooled_connections():
    # Each app has its own pool; left open, a PostgreSQL run would exhaust the server's slots.
    yield
    if database.obj is not None:
        database.close_all()


def make_key(app, scope: str) -> str:
    with app.app_context():
        return keys.create(f"tests ({scope})", scope)[1]


@pytest.fixture
def client(app):
    """A client whose every request carries a key with write scope."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_key(app, 'write')}"
    return client


@pytest.fixture
def anonymous(app):
    """A client without a key."""
    return app.test_client()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """gunicorn serving a seeded SQLite database on a free port, for clients from outside the
    process (a browser, a generated client): its `url`, and a `key` with write scope."""
    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        create_schema()
        load_seed()
    key = make_key(app, "write")
    database.close_all()
    port = free_port()
    env = os.environ | {"DATABASE_URL": f"sqlite:///{path}", "PORT": str(port)}
    server = subprocess.Popen(GUNICORN, cwd=ROOT, env=env | {"WEB_CONCURRENCY": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server)
        yield SimpleNamespace(url=url, key=key)
    finally:
        server.terminate()
        server.wait(timeout=30)
