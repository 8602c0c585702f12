"""Settings: each checked at start-up, a bad one stopping the process with one line that names
it, and the README's configuration table listing exactly the settings, with their defaults."""

import os
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from api import create_app
from models.db import POOL_OPTIONS, database
from service.config import ENVIRONMENT, Config, ConfigError, from_environment
from service.serving import SERVER_ENVIRONMENT, gunicorn_settings
from tests.conftest import POSTGRES_URL
from tests.helpers import CONSOLE_SCRIPT, ROOT, free_port, run_gunicorn

README = ROOT / "README.md"
# Read by the tests alone (tests/conftest.py, tests/api/test_limits.py), never by the service.
TESTS_ONLY = {"TEST_DATABASE_URL", "TEST_REDIS_URL"}
# Defaults that are not a value a variable could be set to.
COMPUTED = {"DATABASE_URL", "BIND"}


def documented() -> dict[str, str]:
    """The README's configuration table: variable -> its default as written, without backticks."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]*?) \| .* \|$", section, re.MULTILINE)
    return {name: default.replace("`", "") for name, default in rows}


def test_the_readme_documents_every_setting_and_nothing_else():
    assert documented().keys() - TESTS_ONLY == ENVIRONMENT.keys() | SERVER_ENVIRONMENT.keys()


def test_the_readme_gives_the_defaults_the_code_has():
    table = documented()
    defaults = {name: (getattr(Config, key), parse) for name, (key, parse) in ENVIRONMENT.items()}
    for name, (default, parse) in (defaults | SERVER_ENVIRONMENT).items():
        assert name in table, f"{name} is not in the README's configuration table"
        if name in COMPUTED:
            continue
        if default is None:
            assert table[name] == "unset", name
        else:
            assert parse(table[name]) == default, name


def test_the_readme_gives_the_computed_defaults(monkeypatch):
    table = documented()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    folder = os.path.relpath(app.instance_path, ROOT)
    assert f"sqlite:///{folder}/industry-facts.sqlite3" == table["DATABASE_URL"]
    bind = table["BIND"].replace("$HOST", "0.0.0.0").replace("$PORT", "8080")
    assert gunicorn_settings({"HOST": "0.0.0.0", "PORT": "8080"})["bind"] == bind


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://user@db/facts"),
        ("DATABASE_URL", "sqlite://facts.sqlite3"),
        ("DATABASE_URL", "postgresql://user@db:port/facts"),
        ("DATABASE_URL", "instance/facts.sqlite3"),
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_POOL_SIZE", "ten"),
        ("DATABASE_POOL_TIMEOUT", "-1"),
        ("DATABASE_STALE_TIMEOUT", "5m"),
        ("MAX_BODY_BYTES", "1MB"),
        ("READ_REQUIRES_KEY", "maybe"),
        ("READ_REQUIRES_KEY", "2"),
        ("RATELIMIT_ENABLED", "enabled"),
        ("RATE_LIMIT_ANONYMOUS", "lots"),
        ("RATE_LIMIT_ANONYMOUS", "600 per fortnight"),
        ("RATE_LIMIT_KEY", "0 per minute"),
        ("RATELIMIT_STORAGE_URI", "memcached://127.0.0.1:11211"),
        ("RATELIMIT_STORAGE_URI", "127.0.0.1:6379"),
        ("RATELIMIT_STORAGE_TIMEOUT", "0"),
        ("RATELIMIT_STORAGE_TIMEOUT", "200ms"),
        ("IDEMPOTENCY_TTL_HOURS", "0"),
        ("IDEMPOTENCY_TTL_HOURS", "nan"),
        ("IDEMPOTENCY_TTL_HOURS", "a day"),
        ("IMPORT_MAX_BYTES", "64MiB"),
        ("LOG_FORMAT", "yaml"),
        ("LOG_LEVEL", "verbose"),
        ("METRICS_ENABLED", "sometimes"),
        ("TRUSTED_PROXIES", "-1"),
        ("TRUSTED_PROXIES", "one"),
    ],
)
def test_a_bad_setting_is_refused_in_one_line_naming_it(name, value):
    with pytest.raises(ConfigError) as refused:
        from_environment({name: value})
    message = str(refused.value)
    assert message.startswith(f"{name}={value!r}: ") and len(message) > len(f"{name}={value!r}: ")
    assert "\n" not in message


def test_a_refusal_does_not_repeat_a_password():
    with pytest.raises(ConfigError) as refused:
        from_environment({"DATABASE_URL": "postgresql://facts:hunter2@db:port/facts"})
    assert str(refused.value).startswith("DATABASE_URL='postgresql://facts:***@db:port/facts': ")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "80a"),
        ("PORT", "70000"),
        ("WEB_CONCURRENCY", "0"),
        ("GUNICORN_THREADS", "-4"),
        ("GUNICORN_TIMEOUT", "30s"),
        ("LOG_FORMAT", "xml"),  # an app setting: gunicorn's master checks those too
    ],
)
def test_a_bad_server_setting_is_refused_in_one_line_naming_it(name, value):
    with pytest.raises(ConfigError, match=f"^{name}={value!r}: [^\n]+$"):
        gunicorn_settings({name: value})


@pytest.mark.parametrize(
    ("name", "value", "parsed"),
    [
        ("DATABASE_URL", "postgres://facts@db:5432/facts", "postgres://facts@db:5432/facts"),
        ("DATABASE_URL", "postgresql:///facts", "postgresql:///facts"),
        ("DATABASE_URL", "sqlite:////data/facts.sqlite3", "sqlite:////data/facts.sqlite3"),
        ("DATABASE_URL", "sqlite+pool:///facts.sqlite3", "sqlite+pool:///facts.sqlite3"),
        ("READ_REQUIRES_KEY", "Yes", True),
        ("READ_REQUIRES_KEY", "off", False),
        ("RATE_LIMIT_KEY", "10/second;1000/hour", "10/second;1000/hour"),
        ("RATELIMIT_STORAGE_URI", "rediss://cache:6380/1", "rediss://cache:6380/1"),
        ("RATELIMIT_STORAGE_TIMEOUT", "0.5", 0.5),
        ("IDEMPOTENCY_TTL_HOURS", "0.5", 0.5),
        ("LOG_FORMAT", "JSON", "json"),
        ("METRICS_TOKEN", "s3cret", "s3cret"),
    ],
)
def test_good_settings_are_taken(name, value, parsed):
    key = ENVIRONMENT[name][0]
    assert from_environment({name: value}) == {key: parsed}


def test_server_settings_default_and_are_read():
    settings = gunicorn_settings({})
    assert (settings["bind"], settings["workers"], settings["threads"], settings["timeout"]) == (
        "127.0.0.1:8000",
        2,
        4,
        30,
    )
    assert settings["accesslog"] is None  # the app logs each request itself
    assert "logconfig_dict" not in settings
    settings = gunicorn_settings({"WEB_CONCURRENCY": "3", "BIND": "unix:/run/facts.sock"})
    assert settings["workers"] == 3 and settings["bind"] == "unix:/run/facts.sock"


def test_json_logs_make_gunicorns_own_lines_json_too():
    config = gunicorn_settings({"LOG_FORMAT": "json", "LOG_LEVEL": "warning"})["logconfig_dict"]
    assert config["formatters"]["json"]["()"] == "api.observability.JsonFormatter"
    assert config["loggers"]["gunicorn.error"]["level"] == "WARNING"


def test_the_pool_is_sized_from_the_settings(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT", "7")
    monkeypatch.setenv("DATABASE_STALE_TIMEOUT", "60")
    create_app({"DATABASE_URL": database_url})
    pool = database.obj
    assert (pool._max_connections, pool._wait_timeout, pool._stale_timeout) == (3, 7, 60)


def test_the_pool_defaults_are_the_models_defaults(database_url):
    create_app({"DATABASE_URL": database_url})
    assert database.obj._max_connections == POOL_OPTIONS["max_connections"]


def _environment(**settings: str) -> dict:
    # The test process's environment, without any setting a developer may have exported.
    names = ENVIRONMENT.keys() | SERVER_ENVIRONMENT.keys()
    return {k: v for k, v in os.environ.items() if k not in names} | settings


def test_the_command_stops_with_one_line_naming_the_variable(tmp_path):
    env = _environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}", DATABASE_POOL_SIZE="none"
    )
    done = subprocess.run(
        [CONSOLE_SCRIPT, "keys", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["Error: DATABASE_POOL_SIZE='none': not a whole number"]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("RATE_LIMIT_KEY", "lots", "couldn't parse rate limit string 'lots'"),
        ("GUNICORN_TIMEOUT", "0", "must be at least 1"),
    ],
)
def test_gunicorn_stops_before_forking_with_one_line_naming_the_variable(
    tmp_path, name, value, reason
):
    env = _environment(  # were the setting taken, gunicorn would bind nothing in use
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        PORT=str(free_port()),
        **{name: value},
    )
    done = run_gunicorn(env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"Error: {name}={value!r}: {reason}"]


def _no_such_database() -> str:
    """A database that TEST_DATABASE_URL's server answers for, but does not have."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://... to include it")
    return urlsplit(POSTGRES_URL)._replace(path="/industry_facts_no_such_database").geturl()


@pytest.mark.postgres
@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["db", "status"], ["seed"]])
def test_a_database_that_does_not_exist_stops_the_command_in_one_line(command):
    url = _no_such_database()
    env = _environment(DATABASE_URL=url, PORT=str(free_port()))
    done = subprocess.run(
        [CONSOLE_SCRIPT, *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"Error: DATABASE_URL={url!r}: ")
    assert 'database "industry_facts_no_such_database" does not exist' in line
    assert done.stdout == ""


@pytest.mark.parametrize("command", [["serve"], ["db", "status"], ["seed"]])
def test_a_sqlite_file_whose_folder_cannot_be_made_stops_the_command_in_one_line(command):
    url = "sqlite:////proc/industry-facts/facts.sqlite3"  # no folder can be made in /proc
    env = _environment(DATABASE_URL=url, PORT=str(free_port()))
    done = subprocess.run(
        [CONSOLE_SCRIPT, *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: DATABASE_URL={url!r}: unable to open database file"
    ]


def test_a_database_server_that_does_not_answer_stops_the_command_in_one_line():
    url = f"postgresql://facts:hunter2@127.0.0.1:{free_port()}/facts"  # nothing listens there
    done = subprocess.run(
        [CONSOLE_SCRIPT, "keys", "list"],
        env=_environment(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    shown = url.replace("hunter2", "***")
    assert line.startswith(f"Error: DATABASE_URL={shown!r}: connection failed: ")


@pytest.mark.postgres
def test_gunicorn_stops_before_forking_when_the_database_does_not_exist():
    url = _no_such_database()
    done = run_gunicorn(_environment(DATABASE_URL=url, PORT=str(free_port())))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    (line,) = errors  # gunicorn's own "[...] [INFO] Starting gunicorn", then this alone
    assert line.startswith(f"Error: DATABASE_URL={url!r}: ")
    assert 'database "industry_facts_no_such_database" does not exist' in line
    assert "Booting worker" not in done.stderr
