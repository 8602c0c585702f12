"""Fixtures: an app per test on a fresh, seeded database, on SQLite and on PostgreSQL."""

import contextlib
import os
import sqlite3
import subprocess
from types import SimpleNamespace

import pytest

from api import create_app
from models import keys
from models.db import SQLITE_OPTIONS, database
from models.schema import create_schema, drop_schema
from service.seed import load_seed
from tests.helpers import CONSOLE_SCRIPT, GUNICORN, ROOT, free_port, wait_until_serving

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
# What a fixture is parametrised with to run once per backend.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def backend_url(backend: str, folder) -> str:
    """A database of `backend`: a new SQLite file in `folder`, or the shared PostgreSQL one
    (skipping the test where TEST_DATABASE_URL is not set)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'test.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://... to include it")
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """Every test that touches the database runs once per backend."""
    return backend_url(request.param, tmp_path)


def seeded_app(database_url: str):
    """A testing app on a database emptied and seeded anew."""
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
    return app


@pytest.fixture
def app(database_url):
    return seeded_app(database_url)


@pytest.fixture
def full_sqlite(tmp_path, monkeypatch) -> str:
    """The URL of a seeded SQLite database that cannot grow by a page: SQLite answers a write
    that needs one as on a full disk ("database or disk is full"). tests/faults/ fills a
    real disk."""
    path = tmp_path / "full.sqlite3"
    seeded_app(f"sqlite:///{path}")
    database.close_all()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
    pragmas = SQLITE_OPTIONS["pragmas"] | {"max_page_count": pages}
    monkeypatch.setitem(SQLITE_OPTIONS, "pragmas", pragmas)
    return f"sqlite:///{path}"


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


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """`industry-facts serve` (what `make serve` runs) on a fresh database of each backend,
    with keys made by the CLI: its `url`, `database_url`, `env` and a key of each scope."""
    database_url = backend_url(request.param, tmp_path_factory.mktemp("served"))
    if request.param == "postgresql":
        empty = create_app({"DATABASE_URL": database_url})
        with empty.app_context():
            drop_schema()  # served from nothing, as a fresh `make serve` is
        database.close_all()
    with served_on(database_url, tmp_path_factory.mktemp("served-log")) as server:
        yield server


@contextlib.contextmanager
def served_on(database_url: str, log_dir, settings: dict | None = None):
    """`industry-facts serve` on `database_url`, with `settings` added to its environment:
    its `url`, `env`, a key of each scope, and its log (the `log()` tail, the `log_path`)."""
    port = free_port()
    unlimited = "1000000 per minute"  # the clients of these servers send thousands of requests
    env = os.environ | {
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "RATE_LIMIT_ANONYMOUS": unlimited,
        "RATE_LIMIT_KEY": unlimited,
        "LOG_LEVEL": "warning",
    }
    env |= settings or {}
    log_path = log_dir / "server.log"
    log = open(log_path, "w+")  # noqa: SIM115 (closed below, after the server)
    server = subprocess.Popen(
        [CONSOLE_SCRIPT, "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"

    def output() -> str:
        log.seek(0)
        return log.read()[-3000:]

    try:
        wait_until_serving(url, server, output)
        keys = {scope: cli_key(env, scope) for scope in ("read", "write")}
        yield SimpleNamespace(
            url=url, database_url=database_url, env=env, keys=keys, log=output, log_path=log_path
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def cli_key(env: dict, scope: str) -> str:
    """A key made as the README says: `industry-facts keys create`."""
    made = subprocess.run(
        [CONSOLE_SCRIPT, "keys", "create", "--name", f"tests ({scope})", "--scope", scope],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()
