"""The app factory: configuration layering, and no database work before gunicorn forks."""

from api import create_app
from models.db import database
from service.config import from_environment


def test_creating_the_app_opens_no_connection(database_url):
    # A connection opened while the app is built would be shared by every forked worker.
    create_app({"DATABASE_URL": database_url})
    assert database.is_closed()


def test_environment_overrides_defaults_and_the_mapping_overrides_both(monkeypatch, tmp_path):
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    assert create_app().config["MAX_CONTENT_LENGTH"] == 2048
    assert create_app({"MAX_CONTENT_LENGTH": 10}).config["MAX_CONTENT_LENGTH"] == 10


def test_default_database_is_a_file_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{app.instance_path}/industry-facts.sqlite3"


def test_unset_variables_are_not_overrides():
    assert from_environment({"DATABASE_URL": "", "OTHER": "x"}) == {}
