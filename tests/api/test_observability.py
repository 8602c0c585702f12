"""Request ids on every response and problem, access and error log lines, and /metrics, in one
process and summed over gunicorn's workers."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api import create_app, limits
from api.observability import OTHER_METHOD, UNMATCHED, configure_logging
from tests.helpers import CONSOLE_SCRIPT, GUNICORN, ROOT, free_port, wait_until_serving

GENERATED = re.compile(r"[0-9a-f]{32}")
REQUESTS = "industry_facts_http_requests_total"
LATENCY = "industry_facts_http_request_duration_seconds"
STATISTIC = "/v1/statistics/<id:id>"  # the URL rule of one statistic


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` that have `labels`, in a /metrics answer."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@pytest.fixture
def json_logs():
    """The app's log lines as JSON objects, from stderr (capsys) while the test runs."""
    configure_logging("json", "info")
    yield
    configure_logging("text", "info")


def log_entries(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


# Request ids.


@pytest.mark.parametrize(
    "given", ["abc-123", "0b6e8a9c-3f1d-4b2a-9c8e-7d6f5e4a3b2c", "trace:1.2_3", "x" * 128]
)
def test_a_well_formed_request_id_is_returned_as_given(client, given):
    assert client.get("/v1/sources", headers={"X-Request-ID": given}).headers["X-Request-ID"] == (
        given
    )


@pytest.mark.parametrize("given", [None, "", "x" * 129, "has space", "semi;colon", "a/b"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client, given):
    headers = {"X-Request-ID": given} if given is not None else {}
    first = client.get("/v1/sources", headers=headers).headers["X-Request-ID"]
    second = client.get("/v1/sources", headers=headers).headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/v1/sources", None, 200),
        ("get", "/v1/nothing-here", None, 404),
        ("put", "/v1/statistics", {}, 405),
        ("post", "/v1/sources", {"title": 1}, 422),
        ("get", "/v1/statistics/999999", None, 404),
    ],
)
def test_every_response_carries_its_request_id_and_every_problem_repeats_it(
    client, method, path, body, status
):
    response = getattr(client, method)(path, json=body, headers={"X-Request-ID": "req-1"})
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "req-1"
    if status >= 400:
        assert response.content_type == "application/problem+json"
        assert response.get_json()["request_id"] == "req-1"


def test_a_refusal_before_the_view_carries_the_generated_id(anonymous):
    response = anonymous.post("/v1/sources", json={})
    assert response.status_code == 401
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]


# Logs.


def test_each_request_has_one_json_access_line(client, anonymous, json_logs, capsys):
    capsys.readouterr()
    client.get("/v1/statistics?page_size=1", headers={"X-Request-ID": "with-key"})
    anonymous.get("/v1/nothing-here", headers={"X-Request-ID": "without-key"})
    entries = [e for e in log_entries(capsys.readouterr().err) if e["logger"] == "api.access"]
    assert [e["request_id"] for e in entries] == ["with-key", "without-key"]
    keyed, anonymous_entry = entries
    identifier = client.environ_base["HTTP_AUTHORIZATION"].split("_")[1]
    assert keyed["api_key"] == f"ifk_{identifier}"
    assert (keyed["method"], keyed["path"], keyed["query"], keyed["status"]) == (
        "GET",
        "/v1/statistics",
        "page_size=1",
        200,
    )
    assert keyed["route"] == "/v1/statistics" and keyed["level"] == "INFO"
    assert isinstance(keyed["duration_ms"], float) and keyed["duration_ms"] >= 0
    assert anonymous_entry["api_key"] is None
    assert (anonymous_entry["status"], anonymous_entry["route"]) == (404, UNMATCHED)


def test_text_access_lines_are_for_people(anonymous, capsys):
    capsys.readouterr()
    anonymous.get("/v1/sources?page_size=1", headers={"X-Request-ID": "text-1"})
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "api.access" in line]
    assert "GET /v1/sources?page_size=1 200 " in line
    assert line.endswith("key=- [request text-1]")


# A path, a query and a User-Agent that would each forge a log line or drive a terminal.
FORGED_PATH = "/v1/sources/%0A[forged]%0D%1B[31m%7F%C2%85%E2%80%A8%E2%80%A9\\end"
FORGED = {
    "query_string": "q=\n[forged]\r\x1b",
    "environ_overrides": {"HTTP_USER_AGENT": "agent\n[forged]\r\x1b"},
}
# Both formats write these where the client sent a control character or separator.
ESCAPED_PATH = r"/v1/sources/\n[forged]\r\x1b[31m\x7f\x85\u2028\u2029\\end"
ESCAPED_QUERY = r"q=\n[forged]\r\x1b"
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def test_a_text_access_line_escapes_what_could_forge_another(anonymous, capsys):
    capsys.readouterr()
    assert anonymous.get(FORGED_PATH, **FORGED).status_code == 404
    captured = capsys.readouterr().err
    (line,) = [line for line in captured.split("\n") if "[forged]" in line]
    assert "api.access" in line and not UNPRINTABLE.search(line)
    assert f"GET {ESCAPED_PATH}?{ESCAPED_QUERY} 404 " in line


def test_a_json_access_line_stays_one_line_and_keeps_the_exact_values(anonymous, json_logs, capsys):
    capsys.readouterr()
    anonymous.get(FORGED_PATH, **FORGED)
    (line,) = [line for line in capsys.readouterr().err.split("\n") if "[forged]" in line]
    assert not UNPRINTABLE.search(line)  # \u2028 too: JavaScript and some viewers break there
    entry = json.loads(line)
    assert entry["path"] == "/v1/sources/\n[forged]\r\x1b[31m\x7f\x85\u2028\u2029\\end"
    assert (entry["query"], entry["user_agent"]) == ("q=\n[forged]\r\x1b", "agent\n[forged]\r\x1b")
    assert entry["message"].startswith(f"GET {ESCAPED_PATH}?{ESCAPED_QUERY} 404 ")


def test_a_server_error_is_logged_as_json_with_its_request_id_and_traceback(database_url, capsys):
    # LOG_FORMAT comes from the app's settings.
    app = create_app(
        {"DATABASE_URL": database_url, "PROPAGATE_EXCEPTIONS": False, "LOG_FORMAT": "json"}
    )

    @app.get("/boom")
    def boom():
        raise RuntimeError("the failure to find in the log")

    try:
        capsys.readouterr()
        response = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})
        entries = log_entries(capsys.readouterr().err)
    finally:
        configure_logging("text", "info")
    assert response.status_code == 500 and response.get_json()["request_id"] == "boom-1"
    (error,) = [e for e in entries if e["level"] == "ERROR"]
    assert error["request_id"] == "boom-1"
    assert "Traceback" in error["exception"]
    assert "RuntimeError: the failure to find in the log" in error["exception"]
    (access,) = [e for e in entries if e["logger"] == "api.access"]
    assert (access["status"], access["request_id"]) == (500, "boom-1")


def test_a_text_traceback_cannot_forge_a_line(database_url, capsys):
    app = create_app({"DATABASE_URL": database_url, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("sent\n[2026-01-01 00:00:00 +0000] [1] [INFO] api.access: forged\x1b")

    capsys.readouterr()
    assert app.test_client().get("/boom").status_code == 500
    lines = capsys.readouterr().err.splitlines()
    assert any("RuntimeError: sent" in line for line in lines)
    # Every line is a record, starting with its time, or part of a traceback, indented.
    assert all(re.match(r"\[\d{4}-|    ", line) for line in lines), lines
    assert not any(line.startswith("[2026-01-01") for line in lines)
    assert not UNPRINTABLE.search("".join(lines))


# Metrics, in one process.


def test_requests_are_counted_by_route_and_status_with_latency(client):
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/v1/statistics/1")
    client.get("/v1/statistics/1")
    client.get("/v1/statistics/999999")
    client.get("/v1/nothing-here")
    after = client.get("/metrics").get_data(as_text=True)

    def added(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert added(REQUESTS, method="GET", route=STATISTIC, status="200") == 2
    assert added(REQUESTS, method="GET", route=STATISTIC, status="404") == 1
    assert added(REQUESTS, method="GET", route=UNMATCHED, status="404") == 1
    assert added(f"{LATENCY}_count", method="GET", route=STATISTIC) == 3
    assert added(f"{LATENCY}_bucket", method="GET", route=STATISTIC, le="+Inf") == 3
    assert metric(after, REQUESTS, route="/v1/statistics/1") == 0  # routes, not paths


def label_values(text: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if label in sample.labels
    }


def test_made_up_methods_are_counted_as_one_other_method(client):
    client.get("/metrics")  # so that the scrapes themselves are no new labels
    before = client.get("/metrics").get_data(as_text=True)
    for n in range(20):
        assert client.open("/v1/sources", method=f"FOO{n}").status_code == 405
    after = client.get("/metrics").get_data(as_text=True)
    assert label_values(after, "method") - label_values(before, "method") <= {OTHER_METHOD}
    for label in ("route", "status"):
        assert label_values(after, label) - label_values(before, label) <= {UNMATCHED, "405"}
    assert (
        metric(after, REQUESTS, method=OTHER_METHOD) - metric(before, REQUESTS, method=OTHER_METHOD)
        == 20
    )


def test_database_failures_are_counted(tmp_path):
    def errors(client) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return metric(text, "industry_facts_database_errors_total", error="OperationalError")

    unreachable = create_app({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    client = unreachable.test_client()
    before = errors(client)
    assert client.get("/v1/statistics").status_code == 503
    # A database without its tables is no outage but a 500; a database error all the same.
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app({"DATABASE_URL": empty, "PROPAGATE_EXCEPTIONS": False})
    assert app.test_client().get("/v1/statistics").status_code == 500
    assert errors(client) - before == 2


def test_a_metrics_token_is_required_once_set_and_is_no_api_key(app, anonymous):
    app.config.update(METRICS_TOKEN="s3cret", READ_REQUIRES_KEY=True)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        refused = anonymous.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.content_type == "application/problem+json"
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    answered = anonymous.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert answered.status_code == 200 and REQUESTS in answered.get_data(as_text=True)


def test_metrics_are_open_without_a_token(anonymous):
    response = anonymous.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"


def test_metrics_can_be_turned_off(database_url):
    client = create_app({"DATABASE_URL": database_url, "METRICS_ENABLED": False}).test_client()
    response = client.get("/metrics")
    assert response.status_code == 404 and response.content_type == "application/problem+json"


def test_metrics_are_not_rate_limited(app, anonymous):
    app.config.update(RATE_LIMIT_ANONYMOUS="2 per minute", RATELIMIT_STORAGE_URI="memory://")
    limits.init_app(app)
    limits.reset(app)
    assert [anonymous.get("/v1/sources").status_code for _ in range(3)] == [200, 200, 429]
    assert {anonymous.get("/metrics").status_code for _ in range(5)} == {200}


def test_metrics_are_not_part_of_the_api_document(client):
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]


# Metrics under gunicorn, summed over its workers.


def _stale_counts(directory: Path) -> None:
    # What an earlier run leaves behind: 1000 requests that gunicorn must not add this time.
    code = (
        "from prometheus_client import Counter\n"
        "Counter('industry_facts_http_requests', '', ['method', 'route', 'status'])"
        ".labels('GET', '/healthz', '200').inc(1000)\n"
    )
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert list(directory.glob("counter_*.db"))


@pytest.fixture(params=["gunicorn", "industry-facts serve"])
def two_workers(request, tmp_path):
    """gunicorn with two workers and JSON logs, started either way the service is started:
    its `url` and its `log` file. The gunicorn one is given a metrics directory holding an
    earlier run's counts; `serve` makes a temporary one."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
    }
    if request.param == "gunicorn":
        directory = tmp_path / "metrics"
        directory.mkdir()
        _stale_counts(directory)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        # gunicorn serves only a database at the code's schema; `serve` brings it there.
        subprocess.run([CONSOLE_SCRIPT, "db", "upgrade"], env=env, check=True, timeout=60)
        command = GUNICORN
    else:
        command = [str(CONSOLE_SCRIPT), "serve"]
    log = tmp_path / "server.log"
    with open(log, "w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, log.read_text)
        yield url, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _access_entries(log: Path) -> list[dict]:
    entries = []
    for line in log.read_text().splitlines(keepends=True):
        if line.startswith("{") and line.endswith("\n"):  # the last line may be half written
            entry = json.loads(line)
            if entry["logger"] == "api.access" and entry["path"] == "/healthz":
                entries.append(entry)
    return entries


def test_metrics_add_up_over_the_workers(two_workers):
    url, log = two_workers

    def get(_):
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            return response.status

    # Until both workers have answered some (each accepts connections as it can), in batches.
    with ThreadPoolExecutor(4) as pool:
        for _ in range(20):
            assert set(pool.map(get, range(20))) == {200}
            entries = _access_entries(log)
            if len({e["process"] for e in entries}) == 2:
                break
            time.sleep(0.2)
    served = len(entries)
    assert len({e["process"] for e in entries}) == 2, "one worker answered every request"
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    # Every request so far, the readiness polls included, and not the earlier run's.
    assert metric(text, REQUESTS, route="/healthz", status="200") == served
    assert metric(text, f"{LATENCY}_count", route="/healthz") == served
