"""Starting gunicorn: it refuses a database whose schema is not the code's, in one line."""

import subprocess

import pytest

from api import create_app
from models import schema
from models.db import database
from tests.api.test_config import _environment
from tests.helpers import CONSOLE_SCRIPT, free_port, run_gunicorn


@pytest.mark.parametrize(
    ("state", "message"),
    [("empty", "is behind this code"), ("ahead", "is ahead of this code")],
)
def test_gunicorn_stops_before_forking_when_the_schema_is_not_the_codes(tmp_path, state, message):
    url = f"sqlite:///{tmp_path / 'facts.sqlite3'}"
    if state == "ahead":
        with create_app({"DATABASE_URL": url}).app_context():
            schema.upgrade()
            database.execute_sql(
                "INSERT INTO migratehistory (name, migrated_at) VALUES ('999_later', '2030-01-01')"
            )
            database.close_all()
    done = run_gunicorn(_environment(DATABASE_URL=url, PORT=str(free_port())))
    assert done.returncode == 1
    (last,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert message in last
    assert "Booting worker" not in done.stderr


def test_a_bad_worker_count_stops_the_command_in_one_line(tmp_path):
    # gunicorn reads WEB_CONCURRENCY itself as it is imported, with a traceback for "two".
    env = _environment(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", WEB_CONCURRENCY="two")
    done = subprocess.run(
        [CONSOLE_SCRIPT, "db", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["Error: WEB_CONCURRENCY='two': not a whole number"]
