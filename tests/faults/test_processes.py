"""Killed processes lose nothing and leave nothing half-done: a gunicorn worker or the import
command killed in the middle of an import stores none of it, and the same import succeeds
when sent again; SIGTERM lets an import in flight finish."""

import http.client
import os
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import psycopg
import pytest

from models.db import WRITERS_LOCK, database
from models.tables import Statistic
from tests.conftest import seeded_app, served_on
from tests.helpers import CONSOLE_SCRIPT, ROOT, statistics_csv

# Tens of seconds to import on a 2-core machine, more than 64 MiB of SQLite's write-ahead
# log (more than its page cache, so uncommitted pages reach the log), over 1 MiB of body.
ROWS = 60_000
# After its transaction has begun, how long an import runs before it is killed: well inside
# it, never at its end, which is checked just before the kill.
INTO_THE_IMPORT = 2.0


def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def stored(app) -> int:
    with app.app_context():
        count = Statistic.select().count()
        database.close()
        return count


def integrity(database_url: str) -> str:
    """SQLite's own check of the file ("ok"); PostgreSQL's are its own business."""
    if backend(database_url) != "sqlite":
        return "ok"
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        return ",".join(row for (row,) in connection.execute("PRAGMA integrity_check"))


def writing(database_url: str) -> bool:
    """Whether a write transaction is open: SQLite's write lock, or PostgreSQL's writers' lock
    (models/db.py), is held."""
    if backend(database_url) == "sqlite":
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
            return False
        except sqlite3.OperationalError:  # database is locked
            return True
        finally:
            connection.close()
    with psycopg.connect(database_url, autocommit=True) as connection:
        held = connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
            "AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            (WRITERS_LOCK,),
        ).fetchone()[0]
        return held > 0


def well_into_the_import(database_url: str, running) -> float | None:
    """Wait until an import's transaction has run INTO_THE_IMPORT seconds, and return the
    seconds it has run; None if `running()` turns false first, or the transaction ends."""
    deadline = time.monotonic() + 60
    while not writing(database_url):
        if not running():
            return None
        assert time.monotonic() < deadline, "the import's transaction did not begin"
        time.sleep(0.05)
    began = time.monotonic()
    time.sleep(INTO_THE_IMPORT)
    if not (running() and writing(database_url)):
        return None
    return time.monotonic() - began


class PostedImport(threading.Thread):
    """POST /v1/import sent from a thread; its connection's port is known as it starts."""

    def __init__(self, server, body: bytes, idempotency_key: str | None = None):
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=300)
        self.connection.connect()
        self.port = self.connection.sock.getsockname()[1]
        self.headers = import_headers(server, idempotency_key)
        self.body = body
        self.answer = None  # the status, or the exception's name
        self.start()

    def run(self):
        try:
            self.connection.request("POST", "/v1/import", self.body, self.headers)
            response = self.connection.getresponse()
            response.read()
            self.answer = response.status
        except (OSError, http.client.HTTPException) as error:
            self.answer = type(error).__name__
        finally:
            self.connection.close()

    def result(self):
        self.join(timeout=300)
        assert not self.is_alive(), "the import did not answer"
        return self.answer


def import_headers(server, idempotency_key: str | None) -> dict:
    headers = {"Authorization": f"Bearer {server.keys['write']}", "Content-Type": "text/csv"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def post_import(server, body: bytes, idempotency_key: str | None = None):
    """The status and headers of POST /v1/import, sent and answered."""
    request = urllib.request.Request(
        f"{server.url}/v1/import", data=body, headers=import_headers(server, idempotency_key)
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def process_serving(server_url: str, client_port: int) -> int:
    """The process (a gunicorn worker) holding the server's end of the connection from
    `client_port`, once one has accepted it: its socket's inode in /proc/net/tcp (0 until
    accepted), then the process with that socket open."""
    server_port = urlsplit(server_url).port
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for inode in connection_inodes(server_port, client_port):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    descriptors = os.listdir(f"/proc/{pid}/fd")
                    socket = f"socket:[{inode}]"
                    if any(os.readlink(f"/proc/{pid}/fd/{fd}") == socket for fd in descriptors):
                        return int(pid)
                except OSError:  # a process that ended meanwhile
                    continue
        time.sleep(0.05)
    raise AssertionError(f"no process accepted the connection from port {client_port}")


def connection_inodes(server_port: int, client_port: int) -> list[str]:
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in list(table)[1:]]
    return [
        fields[9]
        for fields in rows
        if [int(address.split(":")[1], 16) for address in fields[1:3]] == [server_port, client_port]
        and fields[9] != "0"
    ]


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rpartition(")")[2].split()[1])


def workers_of(master: int) -> set[int]:
    workers = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if parent_of(int(pid)) == master:
                workers.add(int(pid))
        except OSError:
            continue
    return workers


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def until(condition, seconds: float = 60) -> float:
    """Wait for `condition()`, failing after `seconds`; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "it did not happen in time"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.parametrize("idempotency_key", [None, "fault-killed-worker"], ids=["plain", "keyed"])
def test_a_worker_killed_mid_import_stores_nothing_and_the_import_succeeds_again(
    database_url, tmp_path, idempotency_key, record_property
):
    app = seeded_app(database_url)
    before = stored(app)
    body = statistics_csv(ROWS).encode()
    with served_on(database_url, tmp_path) as server:
        posted = PostedImport(server, body, idempotency_key)
        worker = process_serving(server.url, posted.port)
        master = parent_of(worker)
        into = well_into_the_import(database_url, posted.is_alive)
        assert into is not None, f"the import ended before it was killed: {posted.result()}"
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        first = posted.result()
        assert first in ("RemoteDisconnected", "ConnectionResetError", "BadStatusLine"), first
        assert stored(app) == before
        assert integrity(database_url) == "ok"
        # gunicorn's master replaces the dead worker.
        replaced = until(lambda: len(set(filter(alive, workers_of(master))) - {worker}) == 2)
        status, _ = post_import(server, body, idempotency_key)
        recovered = time.monotonic() - killed
        assert status == 200, server.log()
        assert stored(app) == before + ROWS
        statuses = [first, status]
        if idempotency_key is not None:  # once more: the stored answer, nothing stored again
            status, headers = post_import(server, body, idempotency_key)
            assert (status, headers["Idempotent-Replayed"]) == (200, "true")
            assert stored(app) == before + ROWS
            statuses.append(status)
    assert integrity(database_url) == "ok"
    name = f"fault_worker_killed_{'keyed_' if idempotency_key else ''}{backend(database_url)}"
    record_property(
        name,
        f"{len(statuses)} imports of {ROWS} rows (worker SIGKILLed {into:.1f} s in): "
        f"{', '.join(map(str, statuses))}; stored {stored(app) - before} rows "
        f"(0 of the killed one), lost 0, duplicated 0; integrity ok; worker replaced in "
        f"{replaced:.1f} s; re-sent import answered 200 {recovered:.1f} s after the kill",
    )


def test_the_import_command_killed_mid_import_stores_nothing_and_succeeds_again(
    database_url, tmp_path, record_property
):
    app = seeded_app(database_url)
    before = stored(app)
    path = tmp_path / "statistics.csv"
    path.write_text(statistics_csv(ROWS))
    env = os.environ | {"DATABASE_URL": database_url}
    command = [CONSOLE_SCRIPT, "import", str(path)]
    running = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        into = well_into_the_import(database_url, lambda: running.poll() is None)
    finally:
        running.kill()
        running.wait(timeout=30)
    assert into is not None, f"the import ended before it was killed: {running.returncode}"
    killed = time.monotonic()
    assert running.returncode == -signal.SIGKILL
    assert stored(app) == before
    assert integrity(database_url) == "ok"
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    recovered = time.monotonic() - killed
    assert again.returncode == 0, again.stderr
    assert f"created {ROWS}," in again.stdout
    assert stored(app) == before + ROWS
    assert integrity(database_url) == "ok"
    record_property(
        f"fault_cli_killed_{backend(database_url)}",
        f"2 runs of `industry-facts import` of {ROWS} rows (SIGKILLed {into:.1f} s in, then "
        f"exit 0); stored {stored(app) - before} rows (0 of the killed run), lost 0, "
        f"duplicated 0; integrity ok; re-run done {recovered:.1f} s after the kill",
    )


def test_sigterm_lets_an_import_in_flight_finish(
    database_url, tmp_path, monkeypatch, record_property
):
    # Far more than the import takes: the graceful timeout is what a redeploy allows.
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "120")
    app = seeded_app(database_url)
    before = stored(app)
    with served_on(database_url, tmp_path) as server:
        posted = PostedImport(server, statistics_csv(ROWS).encode())
        master = parent_of(process_serving(server.url, posted.port))
        into = well_into_the_import(database_url, posted.is_alive)
        assert into is not None, f"the import ended before the SIGTERM: {posted.result()}"
        os.kill(master, signal.SIGTERM)
        stopping = time.monotonic()
        assert posted.result() == 200, server.log()
        answered = time.monotonic() - stopping
        _, status = os.waitpid(master, 0)  # the master is this process's child
        stopped = time.monotonic() - stopping
        assert os.waitstatus_to_exitcode(status) == 0, server.log()
        assert "Traceback" not in server.log()
    assert stored(app) == before + ROWS
    assert integrity(database_url) == "ok"
    record_property(
        f"fault_sigterm_{backend(database_url)}",
        f"1 import of {ROWS} rows, SIGTERM to gunicorn {into:.1f} s in: answered 200 "
        f"{answered:.1f} s later; stored {stored(app) - before} rows, lost 0, duplicated 0; "
        f"gunicorn exited 0 {stopped:.1f} s after the SIGTERM",
    )
