"""PostgreSQL restarted under write load: 503s while it is down, no 500, nothing lost or
doubled, and every request sent with an Idempotency-Key retryable once it is back."""

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from api import create_app
from models.db import database
from tests.conftest import served_on
from tests.helpers import free_port

WRITERS = 4  # half of them send an Idempotency-Key
DOWN_SECONDS = 3


class Cluster:
    """A PostgreSQL cluster of the test's own (Debian's postgresql-common, as root), on a free
    port, removed afterwards: stopping it stops no other test's server, so the rest of the
    suite runs beside this test."""

    def __init__(self):
        listed = subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True, text=True)
        self.version = listed.stdout.split()[0]  # the version the machine's own cluster runs
        self.name = f"faults{os.getpid()}"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        self.remove()  # one left by a run that was killed
        self._run("pg_createcluster", self.version, self.name, "--port", str(self.port))
        # Trust on loopback, as the machine's own cluster has it for the tests.
        hba = f"/etc/postgresql/{self.version}/{self.name}/pg_hba.conf"
        with open(hba, "w") as rules:
            rules.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self.ctl("start")

    def ctl(self, *action: str) -> None:
        self._run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *action)

    def remove(self) -> None:
        listed = subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True, text=True)
        if any(line.split()[1] == self.name for line in listed.stdout.splitlines()):
            self._run("pg_dropcluster", "--stop", self.version, self.name)

    @staticmethod
    def _run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=600)


def send(url: str, body: dict, headers: dict) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), headers | {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


class Writer(threading.Thread):
    """Creates sources until told to stop; with `keyed`, retries each one with its key
    until it is stored, as a client that was told 503 and Retry-After should."""

    def __init__(self, server, number: int, keyed: bool, stop: threading.Event):
        super().__init__()
        self.server, self.number, self.keyed, self.stop = server, number, keyed, stop
        self.statuses: list[int] = []
        self.created: dict[str, int] = {}  # url -> id of every source a 201 reported
        self.unanswered: list[str] = []  # keyed requests still not stored at the end
        self.created_at: list[float] = []

    def run(self):
        auth = {"Authorization": f"Bearer {self.server.keys['write']}"}
        sent = 0
        while not self.stop.is_set():
            sent += 1
            url = f"https://example.org/w{self.number}/{sent}"
            headers = auth | ({"Idempotency-Key": url} if self.keyed else {})
            body = {"publisher": "Fault", "title": f"Writer {self.number}", "url": url}
            while True:
                status, response_headers, answer = send(
                    f"{self.server.url}/v1/sources", body, headers
                )
                self.statuses.append(status)
                if status == 201:
                    self.created[url] = answer["id"]
                    self.created_at.append(time.monotonic())
                    break
                assert status == 503, (status, answer)
                assert response_headers["Content-Type"] == "application/problem+json"
                retry_after = int(response_headers["Retry-After"])
                if not self.keyed:
                    break
                if self.stop.wait(min(retry_after, 0.5)):
                    self.unanswered.append(url)
                    return


@pytest.fixture
def cluster():
    cluster = Cluster()
    cluster.create()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def server(cluster, tmp_path):
    with served_on(cluster.url, tmp_path) as server:
        yield server


def test_a_restart_under_write_load_loses_nothing_and_needs_no_restart_of_the_service(
    cluster, server, record_property
):
    stop = threading.Event()
    writers = [Writer(server, n, keyed=n % 2 == 0, stop=stop) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    time.sleep(2)
    cluster.ctl("stop", "-m", "fast")
    down_at = time.monotonic()
    try:
        time.sleep(DOWN_SECONDS)
    finally:
        cluster.ctl("start")
    up_at = time.monotonic()
    time.sleep(5)
    stop.set()
    for writer in writers:
        writer.join(timeout=120)

    statuses = [status for writer in writers for status in writer.statuses]
    assert set(statuses) == {201, 503}  # and no 409: no key was left locked
    assert not [url for writer in writers for url in writer.unanswered]
    created = {url: id for writer in writers for url, id in writer.created.items()}
    # Every 201 is stored, once; nothing a 503 answered is.
    stored = stored_sources(server)
    assert stored == created
    recovered = min(t for w in writers for t in w.created_at if t > up_at) - up_at
    assert recovered < 10
    record_property(
        "fault_postgres_restart",
        f"PostgreSQL restart under {WRITERS} writers ({WRITERS // 2} with Idempotency-Keys), "
        f"down {up_at - down_at:.1f} s: {len(statuses)} requests, "
        f"{statuses.count(201)} x 201, {statuses.count(503)} x 503, no other status; "
        f"{len(created)} records stored, 0 lost, 0 duplicated; "
        f"first 201 {recovered:.2f} s after PostgreSQL was back",
    )
    # The keys of requests that were stored replay; none is locked.
    keyed = next(w for w in writers if w.keyed)
    url = next(iter(keyed.created))
    body = {"publisher": "Fault", "title": f"Writer {keyed.number}", "url": url}
    auth = {"Authorization": f"Bearer {server.keys['write']}", "Idempotency-Key": url}
    status, headers, answer = send(f"{server.url}/v1/sources", body, auth)
    assert status == 201 and headers["Idempotent-Replayed"] == "true"
    assert answer["id"] == keyed.created[url]


def stored_sources(server) -> dict[str, int]:
    """url -> id of every source the writers' runs stored."""
    app = create_app({"DATABASE_URL": server.database_url})
    with app.app_context():
        rows = database.execute_sql("SELECT url, id FROM source WHERE publisher = 'Fault'")
        stored = {url: id for url, id in rows}
        (count,) = database.execute_sql(
            "SELECT count(*) FROM source WHERE publisher = 'Fault'"
        ).fetchone()
    database.close_all()
    assert count == len(stored)  # no url twice
    return stored
