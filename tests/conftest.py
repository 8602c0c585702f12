"""Fixtures: an app per test on a fresh, seeded database, on SQLite and on PostgreSQL."""

import os

import pytest

from api import create_app
from api.seed import load_seed
from models.db import database
from models.schema import create_schema, drop_schema

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
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
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


@pytest.fixture
def client(app):
    return app.test_client()
