"""Small helpers the tests share: reading the API, and starting servers outside the process."""

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).parent / "industry-facts"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "api:create_app()"]


def read(client, path: str):
    """GET a record, returning its body and ETag."""
    response = client.get(path)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), response.headers["ETag"]


def count(client, collection: str) -> int:
    """How many records a list endpoint holds, from its pagination header."""
    response = client.get(f"/v1/{collection}")
    return json.loads(response.headers["X-Pagination"])["total"]


def statistics_csv(rows: int, region: str = "DE") -> str:
    """A CSV import of `rows` new statistics, one a month from the year 1000, for the seed's
    indicator, segment and source."""
    months = (f"{year}-{month:02}" for year in range(1000, 9999) for month in range(1, 13))
    lines = [f"vehicle_exports,{region},total,{next(months)},{n},1\n" for n in range(rows)]
    return "indicator,region,segment,period,value,source_id\n" + "".join(lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, server: subprocess.Popen, output=lambda: "") -> None:
    """Return once the server at `url` answers its liveness probe; fail if it exits first,
    with what `output()` says it wrote."""
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return
        except OSError:
            assert server.poll() is None, f"the server exited: {output()}"
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in 30 s: {output()}")


def run_gunicorn(env: dict) -> subprocess.CompletedProcess:
    """gunicorn started as the container starts it, for a start that must fail."""
    return subprocess.run(GUNICORN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def silent_server():
    """A port that accepts connections and never answers on them, as a hung Redis does; and
    the connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # to see `closing` soon: a blocked accept() would not
    closing = threading.Event()
    accepted = []

    def accept():
        while not closing.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        closing.set()
        thread.join()
        listener.close()
        for connection in accepted:
            connection.close()


@contextlib.contextmanager
def failing_redis(kind: str):
    """The URL of a Redis that is `refusing` connections, or `silent`: accepting them and
    never answering."""
    if kind == "refusing":
        yield f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    else:
        with silent_server() as (port, _):
            yield f"redis://127.0.0.1:{port}"
