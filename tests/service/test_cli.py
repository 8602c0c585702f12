"""The industry-facts command: db upgrade/status, seed, import, keys, openapi, serve end to end."""

import json
import os
import subprocess
import urllib.request

import pytest
from click.testing import CliRunner

from api import create_app
from models.schema import drop_schema
from models.tables import Statistic
from service.cli import _reporting, main
from tests.api.test_openapi import COMMITTED
from tests.helpers import CONSOLE_SCRIPT, free_port, statistics_csv, wait_until_serving


@pytest.fixture
def run(database_url):
    """Invoke the CLI as a user would, against the test database."""

    def invoke(*args):
        result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": database_url})
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_seed_twice_duplicates_nothing(app, run, client):
    assert "nothing new" in run("seed")
    statistics = client.get("/v1/statistics").get_json()
    assert len(statistics) == 4
    assert [
        len(client.get(f"/v1/{name}").get_json())
        for name in ("sources", "events", "targets", "indicators", "segments")
    ] == [1, 1, 2, 1, 4]


@pytest.fixture
def empty_database(database_url):
    """The test database with nothing in it, not even the migrations' table."""
    with create_app({"DATABASE_URL": database_url}).app_context():
        drop_schema()
    return database_url


def test_seed_fills_an_empty_database(run, empty_database):
    run("db", "upgrade")
    output = run("seed")
    assert "4 statistics" in output and "2 targets" in output


def test_db_upgrade_brings_a_new_database_up_to_date_and_status_says_so(run, empty_database):
    status = CliRunner().invoke(main, ["db", "status"], env={"DATABASE_URL": empty_database})
    assert status.exit_code == 1
    assert "pending\t001_initial" in status.output and "db upgrade" in status.output
    assert (
        "Applied 001_initial, 002_ids_given_once, 003_one_store_of_history, 004_data_stamp, "
        "005_figures." in run("db", "upgrade")
    )
    assert "Already up to date." in run("db", "upgrade")
    assert "applied\t005_figures" in run("db", "status")


def test_commands_other_than_serve_refuse_a_database_behind_the_code(empty_database):
    result = CliRunner().invoke(main, ["seed"], env={"DATABASE_URL": empty_database})
    assert result.exit_code == 1
    assert "behind this code" in result.output and "industry-facts db upgrade" in result.output


def test_openapi_write_produces_the_committed_document(run, tmp_path):
    target = tmp_path / "openapi.json"
    run("openapi", "write", "--format=json", str(target))
    assert json.loads(target.read_text()) == json.loads(COMMITTED.read_text())


def test_console_script_is_installed():
    assert CONSOLE_SCRIPT.exists(), "pip install -e . should install industry-facts"


def test_serve_creates_seeds_and_serves_with_gunicorn(tmp_path):
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    server = subprocess.Popen(
        [CONSOLE_SCRIPT, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server)
        with urllib.request.urlopen(f"{base}/v1/statistics") as response:
            values = sorted(s["value"] for s in json.load(response))
        assert values == [242000, 441000, 1178000, 1420000]
        with urllib.request.urlopen(f"{base}/docs") as response:
            assert b"swagger-ui" in response.read()
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert (
        "Applied 001_initial, 002_ids_given_once, 003_one_store_of_history, 004_data_stamp, "
        "005_figures." in output
    )
    assert "loaded the seed facts" in output
    assert "Booting worker" in output


def test_export_and_import_dump_from_the_command_line(app, run, tmp_path):
    target = tmp_path / "facts.ndjson"
    run("export", str(target))
    # Records, event topics, revisions, and the history of the records and topics.
    assert target.read_text().count("\n") == 13 + 3 + 13 + 13 + 3
    restored = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    result = CliRunner().invoke(main, ["import-dump", str(target)], env={"DATABASE_URL": restored})
    assert result.exit_code == 0, result.output
    assert "4 statistic" in result.output
    again = CliRunner().invoke(main, ["import-dump", str(target)], env={"DATABASE_URL": restored})
    assert again.exit_code == 1 and "not empty" in again.output


def test_import_from_the_command_line_streams_csv_and_sums_up(app, run, tmp_path, client):
    path = tmp_path / "statistics.csv"
    path.write_text(
        "indicator,region,segment,period,value,source_id\n"
        + "".join(f"vehicle_exports,JP,total,{1990 + n},{n + 1},1\n" for n in range(30))
    )
    assert "Imported: created 30, updated 0, skipped 0, rejected 0." in run("import", str(path))
    assert "created 0, updated 0, skipped 30" in run("import", "--on-conflict", "skip", str(path))
    assert len(client.get("/v1/statistics?region=JP&page_size=100").json) == 30
    revision = client.get("/v1/statistics?region=JP").json[0]["id"]
    assert client.get(f"/v1/statistics/{revision}/revisions").json[0]["by"] == "cli"


def test_a_refused_import_from_the_command_line_fails_and_says_why(app, database_url, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "indicator,region,segment,period,value,source_id\nvehicle_exports,CN,total,2024,x,1\n"
    )
    result = CliRunner().invoke(main, ["import", str(path)], env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "line 2 /value: Not a valid number." in result.output
    assert "1 row was refused; nothing was imported." in result.output


HEADER = "indicator,region,segment,period,value,change_pct,change_basis,source_id,event_id,quote\n"
GOOD_LINE = "vehicle_exports,JP,total,2024,1,,,1,,\n"
JP_STATISTIC = {
    "indicator": "vehicle_exports",
    "region": "JP",
    "segment": "total",
    "period": "2024",
    "value": 1,
    "source_id": 1,
}


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        (
            "long.csv",
            f"{HEADER}{GOOD_LINE}vehicle_exports,JP,total,2023,1,,,1,,{'x' * 140_000}\n",
            "line 3 /: It cannot be read as CSV: field larger than field limit (131072).",
        ),
        (
            "quotes.csv",
            f'{HEADER}{GOOD_LINE}vehicle_exports,JP,total,2023,1,,,1,,"a"b"\n',
            "line 3 /: It cannot be read as CSV",
        ),
        (
            "huge.csv",
            f"{HEADER}{GOOD_LINE}vehicle_exports,JP,total,2023,1e1000000,,,1,,\n",
            "line 3 /value: Must be smaller than 1e+18 in magnitude.",
        ),
        (
            "drop.csv",
            f"{HEADER}{GOOD_LINE}vehicle_exports,JP,total,2023,1,-1e1000000,yoy,1,,\n",
            "line 3 /change_pct: Must be smaller than 1e+18 in magnitude.",
        ),
        (
            "latin1.csv",
            f"{HEADER}{GOOD_LINE}".encode() + b"vehicle_exports,JP,total,2023,1,,,1,,caf\xe9\n",
            "line 3 /: It is not UTF-8 text: byte 0xe9 at column 41.",
        ),
        ("broken.json", "{", "it is not JSON (Expecting property name"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "it is not JSON (nested too deeply"),
        ("digits.json", '{"statistics": [' + "9" * 5000 + "]}", "(a number too long to read"),
        ("nan.json", '{"statistics": [{"value": NaN}]}', "(NaN is not a JSON value"),
        ("list.json", "[1]", "/: The document must be a JSON object of sections."),
    ],
    ids=[
        "field over 128 KiB",
        "stray quote",
        "huge value",
        "huge change_pct",
        "not UTF-8",
        "not JSON",
        "nested too deep",
        "5000-digit integer",
        "NaN, as the API refuses it",
        "not a document",
    ],
)
def test_an_import_that_cannot_be_read_fails_in_one_line(
    app, database_url, tmp_path, name, content, said
):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = CliRunner().invoke(main, ["import", str(path)], env={"DATABASE_URL": database_url})
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    # One line says what is wrong, or lists the refused row above the line that sums up.
    lines = result.stderr.splitlines()
    assert said in lines[0] and lines[-1].startswith("Error: ") and len(lines) <= 2
    with app.app_context():
        assert not Statistic.select().where(Statistic.region == "JP").exists()


def test_an_import_onto_a_full_disk_fails_in_one_line(full_sqlite, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text(statistics_csv(2000))
    result = CliRunner().invoke(main, ["import", str(path)], env={"DATABASE_URL": full_sqlite})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines() == [
        "Error: the database's storage is full (database or disk is full). "
        "Free some space, then run the command again."
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("excel.csv", f"\ufeff{HEADER}{GOOD_LINE}"),
        ("EXCEL.CSV", f"\ufeff{HEADER}{GOOD_LINE}"),
        ("bom.json", "\ufeff" + json.dumps({"statistics": [JP_STATISTIC]})),
    ],
    ids=["excel.csv", "EXCEL.CSV", "bom.json"],
)
def test_a_file_with_a_byte_order_mark_is_imported(run, client, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode())
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Imported: created 1, updated 0, skipped 0, rejected 0." in run("import", str(path))
    assert len(client.get("/v1/statistics?region=JP").json) == 1


def test_the_progress_of_an_import_reaches_the_file_s_length_in_few_steps():
    class Bar:
        def __init__(self):
            self.steps = []

        def update(self, n_steps):
            self.steps.append(n_steps)

    lines = [b"x" * 999 + b"\n"] * 200
    bar = Bar()
    assert list(_reporting(lines, bar, step=50_000)) == lines
    assert sum(bar.steps) == 200_000
    assert len(bar.steps) == 5  # every 50 lines, and the rest (none) at the end
