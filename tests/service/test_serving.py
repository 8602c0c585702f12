"""Starting gunicorn: it refuses a database whose schema is not the code's, in one line; it
takes its timeouts from the environment; and it takes every request the spec allows."""

import json
import math
import re
import re._constants as re_constants
import re._parser as re_parser
import string
import subprocess
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from api import create_app
from models import schema
from models.db import database
from service.serving import gunicorn_settings
from tests.conftest import backend_url, served_on
from tests.helpers import (
    CONSOLE_SCRIPT,
    GUNICORN,
    ROOT,
    free_port,
    run_gunicorn,
    statistics_csv,
)
from tests.service.test_config import _environment


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


def test_gunicorn_takes_both_timeouts_from_the_environment(tmp_path):
    env = _environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        GUNICORN_TIMEOUT="45",
        GUNICORN_GRACEFUL_TIMEOUT="90",
    )
    done = subprocess.run(
        [*GUNICORN, "--print-config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    config = dict(re.findall(r"^(\w+) += (.*)$", done.stdout, re.MULTILINE))
    assert (config["timeout"], config["graceful_timeout"]) == ("45", "90")
    defaults = gunicorn_settings({})
    assert (defaults["timeout"], defaults["graceful_timeout"]) == (30, 20)


def test_a_bad_graceful_timeout_stops_gunicorn_in_one_line(tmp_path):
    env = _environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        PORT=str(free_port()),
        GUNICORN_GRACEFUL_TIMEOUT="20s",
    )
    done = run_gunicorn(env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Error: GUNICORN_GRACEFUL_TIMEOUT='20s': not a whole number"
    ]


def test_a_request_outlasting_the_worker_timeout_is_answered(tmp_path, monkeypatch):
    # GUNICORN_TIMEOUT bounds how long a worker may go without checking in with the master,
    # which a gthread worker does while its threads run requests: it does not cut them off.
    # An import of 100,000 rows takes several seconds, more than twice this timeout. (At 1 s a
    # loaded machine could starve the worker's own heartbeat of the GIL that long.)
    monkeypatch.setenv("GUNICORN_TIMEOUT", "3")
    with served_on(backend_url("sqlite", tmp_path), tmp_path) as server:
        body = statistics_csv(100_000).encode()
        request = urllib.request.Request(
            f"{server.url}/v1/import",
            data=body,
            headers={
                "Authorization": f"Bearer {server.keys['write']}",
                "Content-Type": "text/csv",
            },
        )
        # The client waits as long as a loaded machine may need (over 2 minutes has been seen):
        # the test is whether the answer comes, not how soon.
        with urllib.request.urlopen(request, timeout=900) as response:
            assert json.loads(response.read())["created"] == {"statistics": 100_000}
        assert "WORKER TIMEOUT" not in server.log()


# What a request the spec allows can take, in bytes, computed from the committed spec.
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
# A character a schema does not restrict to ASCII may be a 4-byte UTF-8 one, 12 bytes encoded.
WIDEST_CHARACTER = 12
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# The longest value of the types whose value, not text, the spec bounds, written in its shortest
# form: any number in a double's 24 characters at most (the service keeps 15 digits), any
# instant the service tells apart (to the microsecond) in RFC 3339's 32.
WIDEST_VALUE = {"number": "-2.2250738585072014e-308", "date": "9999-12-31"}
WIDEST_VALUE["date-time"] = "9999-12-31T23:59:59.999999+23:59"


def pattern_bounds(pattern: str) -> tuple[float, int]:
    """The most characters a value matching `pattern` can have, and the most bytes each takes
    in a query string: 1 if the pattern allows unreserved ASCII only, else the widest."""
    parsed = re_parser.parse(pattern)
    most = parsed.getwidth()[1]
    characters = set()
    for what, value in _atoms(parsed):
        if what is re_constants.LITERAL:
            characters.add(chr(value))
        elif what is re_constants.RANGE:
            characters.update(map(chr, range(value[0], value[1] + 1)))
        elif what is re_constants.CATEGORY and value is re_constants.CATEGORY_DIGIT:
            characters.update(string.digits)  # \d is ASCII in JSON Schema's regular expressions
        else:  # any other class, a negated one or `.`
            return (math.inf if most >= re_constants.MAXREPEAT else most), WIDEST_CHARACTER
    width = 1 if characters <= UNRESERVED else WIDEST_CHARACTER
    return (math.inf if most >= re_constants.MAXREPEAT else most), width


def _atoms(parsed):
    for what, value in parsed:
        if what is re_constants.AT:  # ^ and $ match no character
            continue
        if what is re_constants.IN:
            yield from value
        elif what is re_constants.SUBPATTERN:
            yield from _atoms(value[-1])
        elif what is re_constants.BRANCH:
            for branch in value[1]:
                yield from _atoms(branch)
        elif what in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT):
            yield from _atoms(value[2])
        else:
            yield what, value


def longest_value(schema: dict) -> float:
    """The most bytes a value `schema` allows takes in a query string, percent-encoded."""
    if "enum" in schema:
        return max(len(quote(str(value), safe="")) for value in schema["enum"])
    kind, form = schema.get("type"), schema.get("format")
    if kind == "array":
        items = schema["items"]
        # Repeating a value the items enumerate changes nothing: each at most once.
        count = schema.get("maxItems", len(items.get("enum", ())) or math.inf)
        return count * (longest_value(items) + 1) - 1  # comma-separated
    if kind == "integer":
        bounds = (schema.get("minimum", -math.inf), schema.get("maximum", math.inf))
        return max(len(str(bound)) if math.isfinite(bound) else math.inf for bound in bounds)
    if kind == "boolean":
        return len("false")
    if kind == "number" or form in WIDEST_VALUE:
        return len(quote(WIDEST_VALUE[form or kind], safe=""))
    characters, width = schema.get("maxLength", math.inf), WIDEST_CHARACTER
    if "pattern" in schema:
        most, width = pattern_bounds(schema["pattern"])
        characters = min(characters, most)
    return characters * width


def longest_request_lines():
    """(method, path, the longest request line the spec allows for it, unbounded parameters)."""
    for path, item in SPEC["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            target, query, unbounded = path, [], set()
            for parameter in shared + operation.get("parameters", []):
                length = longest_value(parameter["schema"])
                if parameter["in"] == "path":
                    target = target.replace(f"{{{parameter['name']}}}", "x" * int(length))
                elif parameter["in"] == "query":
                    if math.isinf(length):
                        unbounded.add(parameter["name"])
                    else:
                        query.append(len(parameter["name"]) + 1 + int(length))
            line = len(f"{method.upper()} {target}?") + sum(query) + len(query) - 1
            yield method, path, line + len(" HTTP/1.1"), unbounded


def test_every_request_line_the_spec_allows_fits_gunicorns_limit():
    limit = gunicorn_settings({})["limit_request_line"]
    unbounded = set()
    for method, path, line, parameters in longest_request_lines():
        assert line <= limit, f"{method.upper()} {path} allows a {line}-byte request line"
        unbounded |= {(path, name) for name in parameters}
    assert not unbounded, f"no bound, so no limit holds every value: {unbounded}"


def test_every_header_the_spec_allows_fits_gunicorns_limit():
    limit = gunicorn_settings({})["limit_request_field_size"]
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if method != "parameters" else []:
                if parameter["in"] == "header":
                    # A header's value goes as it is: up to 4 bytes a character in UTF-8.
                    size = len(f"{parameter['name']}: ") + 4 * parameter["schema"]["maxLength"]
                    assert size <= limit, f"{method.upper()} {path} {parameter['name']}"


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def codes(count: int, letter: str) -> str:
    return ",".join(f"{letter}{n:03}".ljust(64, "x") for n in range(count))


def test_gunicorn_takes_a_filter_of_100_codes_of_64_characters(live_server):
    status, kind, body = get(f"{live_server.url}/v1/statistics?indicator={codes(100, 'a')}")
    assert (status, kind, json.loads(body)) == (200, "application/json", [])


def test_gunicorn_takes_request_lines_past_its_own_ceiling_up_to_the_limit(live_server):
    # gunicorn takes no limit above 8190 bytes unless told to: three such filters are ~20 KB.
    query = "&".join(f"{name}={codes(100, 'b')}" for name in ("indicator", "segment", "industry"))
    status, _, body = get(f"{live_server.url}/v1/statistics?{query}")
    assert (status, json.loads(body)) == (200, [])
    limit = gunicorn_settings({})["limit_request_line"]
    status, kind, _ = get(f"{live_server.url}/v1/statistics?q={'w' * limit}")
    assert (status, kind) == (414, "text/html")
