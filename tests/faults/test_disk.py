"""A full disk under SQLite: writes are 507s and change nothing, reads go on, the CLI says so
in one line, and writes work again once space is freed, with no restart."""

import errno
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import served_on
from tests.helpers import CONSOLE_SCRIPT, ROOT, statistics_csv

SIZE = "16m"


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs, mounted for the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", mount], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", mount], check=True)


def fill(folder) -> None:
    """Take every free byte of the file system `folder` is on."""
    filler = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 1):  # then the last bytes a whole chunk did not fit in
            while True:
                try:
                    os.write(filler, b"\0" * chunk)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(filler)


def call(server, method: str, path: str, data: bytes | None = None, csv=False):
    headers = {"Authorization": f"Bearer {server.keys['write']}"}
    if data is not None:
        headers["Content-Type"] = "text/csv" if csv else "application/json"
    request = urllib.request.Request(server.url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def statistics(server) -> int:
    status, headers, _ = call(server, "GET", "/v1/statistics")
    assert status == 200
    return json.loads(headers["X-Pagination"])["total"]


def test_a_full_disk_is_507_then_works_again_once_space_is_freed(
    small_disk, tmp_path, record_property
):
    with served_on(f"sqlite:///{small_disk / 'facts.sqlite3'}", tmp_path) as server:
        before = statistics(server)
        fill(small_disk)
        imports = [call(server, "POST", "/v1/import", statistics_csv(5000).encode(), csv=True)]
        sources = [
            call(
                server,
                "POST",
                "/v1/sources",
                json.dumps({"publisher": "P", "title": "T", "url": f"https://e.org/{n}"}).encode(),
            )
            for n in range(20)
        ]
        answers = imports + sources
        statuses = [status for status, _, _ in answers]
        assert imports[0][0] == 507 and set(statuses) <= {201, 507}
        problem = json.loads(imports[0][2])
        assert imports[0][1]["Content-Type"] == "application/problem+json"
        assert "storage is full" in problem["detail"]
        assert statistics(server) == before  # reads go on; the import changed nothing
        assert "database storage full: database or disk is full" in server.log()

        path = tmp_path / "many.csv"
        path.write_text(statistics_csv(5000))
        cli = subprocess.run(
            [CONSOLE_SCRIPT, "import", str(path)],
            cwd=ROOT,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 1 and "Traceback" not in cli.stderr
        assert cli.stderr.splitlines() == [
            "Error: the database's storage is full (database or disk is full). "
            "Free some space, then run the command again."
        ]

        (small_disk / "filler").unlink()
        freed_at = time.monotonic()
        status, _, body = call(
            server, "POST", "/v1/import", statistics_csv(5000).encode(), csv=True
        )
        recovered = time.monotonic() - freed_at
        assert status == 200, body
        assert statistics(server) == before + 5000
    record_property(
        "fault_full_disk",
        f"SQLite on a full {SIZE} tmpfs: {len(answers)} writes, "
        f"{statuses.count(507)} x 507, {statuses.count(201)} x 201 (fitting in free pages), "
        f"no 500; reads 200; CLI import exit 1 in one line; nothing half-written; "
        f"a 5,000-row import succeeded {recovered:.2f} s after space was freed, no restart",
    )
