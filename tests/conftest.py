"""Fixtures: an app per test on its own copy of a seeded database, on SQLite and PostgreSQL."""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from api import caching, connections, create_app, limits, observability
from models import keys
from models.db import SQLITE_OPTIONS, database
from models.schema import create_schema, drop_schema
from service.config import from_environment
from service.seed import load_seed
from tests.helpers import CONSOLE_SCRIPT, GUNICORN, ROOT, free_port, wait_until_serving

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
# What a fixture is parametrised with to run once per backend.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# Limits stay on, but out of reach: tests/api/test_limits.py lowers them to test them.
UNLIMITED = "1000000 per minute"


# The suites `make test-fast` leaves out (marked slow): they serve with gunicorn, drive a
# browser, stop services or send thousands of requests, and take most of the suite's time.
SLOW = (
    "tests/api/test_hostile.py",
    "tests/api/test_fuzz_live.py",
    "tests/api/test_concurrency.py",
    "tests/browser/",
    "tests/faults/",
)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


def backend_url(backend: str, folder) -> str:
    """A database of `backend` of its own: a new SQLite file in `folder`, or a PostgreSQL
    copy of the seeded database, dropped when the run ends. Where the role may not create
    databases, the shared PostgreSQL one; the test is skipped where TEST_DATABASE_URL is
    not set. Its own, because pytest-xdist runs other tests at the same time."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'test.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://... to include it")
    return POSTGRES.copy() if POSTGRES.copies() else POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """Every test that touches the database runs once per backend: on a new SQLite file, or
    on a PostgreSQL database of its own, a copy of the seeded one, dropped afterwards."""
    url = backend_url(request.param, tmp_path)
    if url == POSTGRES_URL or url.startswith("sqlite"):
        yield url
        return
    try:
        yield url
    finally:
        # The pool closes its own connections; the drop ends the rest (other apps, servers).
        if database.obj is not None:
            database.close_all()
        POSTGRES.recycle(url)


def testing_config(database_url: str) -> dict:
    """What a testing app is built with on `database_url`."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "RATE_LIMIT_ANONYMOUS": UNLIMITED,
        "RATE_LIMIT_KEY": UNLIMITED,
    }


def seeded_app(database_url: str):
    """A new testing app on a database that holds the seed and nothing else."""
    app = create_app(testing_config(database_url))
    reseed(app, database_url)
    return app


def reseed(app, database_url: str) -> None:
    """Make the database at `database_url` hold the seed and nothing else: a copy of the one
    the run seeded, or, where it cannot copy, the database emptied and seeded anew."""
    if database_url.startswith("sqlite"):
        copy_seeded_sqlite(Path(database_url.removeprefix("sqlite:///")))
    elif not POSTGRES.take_fresh(database_url):
        # The shared database (a module's fixture), or one a test has used: seed it anew.
        with app.app_context():
            drop_schema()
            create_schema()
            load_seed()
        database.close()


# -- one testing app per process -------------------------------------------------------------
# Building an app took most of a short test's time (flask-smorest documents every view as it
# registers it), and the tests share nearly all of it: each gets the one this process built,
# given back what create_app would have given a new one.


class SharedApp:
    """The process's testing app, handed to each test with the configuration, database,
    rate-limit counts, logging and cached answers of a new one; built anew when a test changed what
    create_app wires (hooks, handlers, routes) or the environment it reads settings from."""

    def __init__(self):
        self.app = None
        self.config: dict = {}
        self.environment: dict = {}
        self.wiring: tuple = ()

    def on(self, database_url: str):
        environment = from_environment()
        if self.app is None or environment != self.environment or wiring(self.app) != self.wiring:
            self.app = create_app(testing_config(database_url))
            self.config = dict(self.app.config)
            self.environment = environment
            self.wiring = wiring(self.app)
        else:
            self._renew(database_url)
        return self.app

    def _renew(self, database_url: str) -> None:
        app = self.app
        app.config.clear()
        app.config.update(self.config, DATABASE_URL=database_url)
        # Flask refuses new hooks and routes once an app has served a request; a new app
        # would take them.
        app._got_first_request = False
        connections.open_pool(app)
        # A new store, as create_app makes: no counts from earlier tests. api.limits adds
        # its hooks to an app once, so this adds none.
        limits.init_app(app)
        observability.configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
        caching.init_app(app)  # no answers kept from another test's database


def wiring(app) -> tuple:
    """What create_app wired into `app` beyond its configuration."""
    hooks = (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.url_value_preprocessors,
        app.url_default_functions,
        app.template_context_processors,
    )
    handlers = app.error_handler_spec
    # Flask's lookups leave empty entries in these defaultdicts: only what is there counts.
    return (
        tuple((key, tuple(funcs)) for hook in hooks for key, funcs in hook.items() if funcs),
        tuple(app.teardown_appcontext_funcs),
        tuple(
            (scope, code, tuple(by_class.items()))
            for scope, by_code in handlers.items()
            for code, by_class in by_code.items()
            if by_class
        ),
        tuple(app.view_functions.items()),
        tuple(str(rule) for rule in app.url_map.iter_rules()),
        tuple(app.url_map.converters.items()),
        tuple(app.blueprints.items()),
        tuple(app.extensions),
        app.wsgi_app,
        app.request_class,
        app.response_class,
        app.json,
    )


SHARED_APP = SharedApp()


# -- the seeded database, built once per run and backend ------------------------------------
# Creating the tables and importing the seed took a quarter of a second a test on SQLite and
# half a second on PostgreSQL, most of the suite's time; a copy takes a few milliseconds.


def seed(url: str) -> None:
    """Create the tables in the empty database at `url` and load the seed, as a fresh
    database would be seeded; close every connection to it, which a copy needs."""
    with create_app({"TESTING": True, "DATABASE_URL": url}).app_context():
        create_schema()
        load_seed()
    database.close_all()


class SeededSqlite:
    """One seeded SQLite file per run, copied whole for each test that needs one."""

    def __init__(self):
        self.folder: Path | None = None

    def path(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="industry-facts-seeded-"))
            path = self.folder / "seeded.sqlite3"
            seed(f"sqlite:///{path}")
            # Everything into the main file, so that it alone is the database.
            with contextlib.closing(sqlite3.connect(path)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return self.folder / "seeded.sqlite3"

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


SEEDED_SQLITE = SeededSqlite()


def copy_seeded_sqlite(path: Path) -> None:
    """Make the SQLite database at `path` a copy of the seeded one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SEEDED_SQLITE.path(), path)
        return
    # A database in use: SQLite's backup replaces its pages under its own locks, so that the
    # connections already open on it see the copy, as they would a schema dropped and seeded.
    with (
        contextlib.closing(sqlite3.connect(SEEDED_SQLITE.path())) as source,
        contextlib.closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)


class PostgresCopies:
    """Databases made from a seeded template on TEST_DATABASE_URL's server: one per test
    (or per module, for a module's server), named after the test database and this process
    (test_pytest_<pid>_<n>), and dropped after the test (or at the end of the run).

    CREATE DATABASE ... TEMPLATE copies the template's files, sequences included, so ids are
    those of a fresh seed. Where the role may not create databases, every test falls back
    to the shared database, emptied and seeded anew.

    A copy a test has finished with is given back its seeded rows and sequences and handed
    to a later test (`recycle`): PostgreSQL 15 checkpoints on every DROP DATABASE, and making
    and dropping a copy took half a second a test, rewriting a dozen tables' rows a tenth of
    that. A test that changed more than rows (tables, types, functions: an event trigger
    notes any DDL) or left a lock behind gets its copy dropped, as before.
    """

    def __init__(self, url: str | None):
        self.url = url
        self.admin: psycopg.Connection | None = None
        self.template: str | None = None
        self.unavailable = not url
        self.fresh: set[str] = set()  # copies made and not yet handed to seeded_app
        self.live: set[str] = set()  # copies made and not yet dropped
        self.spare: list[str] = []  # copies recycled and not yet handed out again
        self.seeded: SeededRows | None = None  # what recycling puts back (superusers only)
        self.made = 0

    def copies(self) -> bool:
        """Whether tests get a database of their own (building the template on first use)."""
        if self.template is None and not self.unavailable:
            self._build_template()
        return not self.unavailable

    def copy(self) -> str:
        if self.spare:
            url = self.spare.pop()
            self.fresh.add(url)
            return url
        self.made += 1
        name = f"{self._base()}_pytest_{os.getpid()}_{self.made}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self.template)
            )
        )
        url = self._url(name)
        self.fresh.add(url)
        self.live.add(url)
        return url

    def take_fresh(self, url: str) -> bool:
        """Whether `url` is a copy no one has used yet, which from now on someone has."""
        if url in self.fresh:
            self.fresh.discard(url)
            return True
        return False

    def recycle(self, url: str) -> None:
        """Done with the copy at `url`: put its seeded rows back for a later test, or drop it
        where that cannot be done."""
        self.fresh.discard(url)
        if self.seeded is not None and self.seeded.restore(url):
            self.spare.append(url)
        else:
            self.drop(url)

    def drop(self, url: str) -> None:
        self.fresh.discard(url)
        with contextlib.suppress(ValueError):
            self.spare.remove(url)
        self.live.discard(url)
        name = urlsplit(url).path.lstrip("/")
        # FORCE: a test's other apps, servers and subprocesses may still hold connections.
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def close(self) -> None:
        for url in list(self.live):  # those of module-scoped fixtures (backend_url)
            self.drop(url)
        if self.template is not None:
            self.drop(self._url(self.template))
            self.template = None
        if self.admin is not None:
            self.admin.close()

    def _build_template(self) -> None:
        self._drop_abandoned()
        name = f"{self._base()}_pytest_{os.getpid()}_seed"
        try:
            self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            self.unavailable = True
            return
        self.template = name
        seed(self._url(name))
        self.seeded = SeededRows.take(self._url(name))
        # CREATE DATABASE ... TEMPLATE fails while anyone is connected to it: keep even
        # autovacuum out.
        self._execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )

    def _drop_abandoned(self) -> None:
        """Drop the copies and templates of runs that ended without dropping them (killed)."""
        pattern = rf"^{re.escape(self._base())}_pytest_(\d+)_(seed|\d+)$"
        names = self._execute(sql.SQL("SELECT datname FROM pg_database")).fetchall()
        for (name,) in names:
            match = re.match(pattern, name)
            # This process's own names too: a container may give a new run an old run's pid.
            if match and (int(match[1]) == os.getpid() or not _alive(int(match[1]))):
                self.drop(self._url(name))

    def _execute(self, statement):
        # Reconnect once: tests/faults restarts the server under this connection.
        for attempt in (1, 2):
            try:
                if self.admin is None or self.admin.closed:
                    self.admin = psycopg.connect(self._url(self._base()), autocommit=True)
                return self.admin.execute(statement)
            except psycopg.OperationalError:
                if self.admin is not None:
                    self.admin.close()
                self.admin = None
                if attempt == 2:
                    raise

    def _base(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    def _url(self, name: str) -> str:
        parts = urlsplit(self.url)
        return parts._replace(scheme="postgresql", path=f"/{name}").geturl()


class SeededRows:
    """The rows and sequences of the seeded template, to put back into a copy of it that a
    test has written to (`restore`), and the event trigger that says whether a test did more
    than write rows."""

    # Any DDL in a copy (the app's own create_schema, a migration, a temporary table) notes
    # itself here: such a copy is dropped rather than recycled.
    WATCH = """
        CREATE SCHEMA pytest_watch;
        CREATE TABLE pytest_watch.ddl (at timestamptz DEFAULT now());
        CREATE FUNCTION pytest_watch.noted() RETURNS event_trigger LANGUAGE plpgsql
            AS $$ BEGIN INSERT INTO pytest_watch.ddl DEFAULT VALUES; END $$;
        CREATE EVENT TRIGGER pytest_watch_ddl ON ddl_command_end
            EXECUTE FUNCTION pytest_watch.noted();
        CREATE EVENT TRIGGER pytest_watch_drop ON sql_drop EXECUTE FUNCTION pytest_watch.noted();
        DELETE FROM pytest_watch.ddl;
    """

    def __init__(self, rows: dict[str, bytes], sequences: list[tuple[str, int, bool]]):
        self.rows = rows
        self.sequences = sequences

    @classmethod
    def take(cls, url: str) -> "SeededRows | None":
        """The seeded rows of the database at `url`, watched from now on for DDL; None where
        the role may not create event triggers or turn off foreign keys (not a superuser)."""
        with psycopg.connect(url, autocommit=True) as connection:
            (superuser,) = connection.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if not superuser:
                return None
            tables = connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
            rows = {}
            for (table,) in tables:
                statement = sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
                with connection.cursor().copy(statement) as copy:
                    rows[table] = b"".join(bytes(block) for block in copy)
            sequences = connection.execute(
                "SELECT sequencename, coalesce(last_value, start_value), last_value IS NOT NULL "
                "FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall()
            connection.execute(cls.WATCH)
        return cls(rows, sequences)

    def restore(self, url: str) -> bool:
        """Put the seeded rows and sequences back into the copy at `url`, with no one else
        connected; False where it cannot be recycled (DDL, a lock held, the server gone)."""
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                # What a test left connected (a server, a subprocess) would see rows vanish.
                connection.execute(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if connection.execute("SELECT 1 FROM pytest_watch.ddl LIMIT 1").fetchone():
                    return False
                with connection.transaction():
                    # Rows go back in any order, as a restore does; the template's were whole.
                    connection.execute("SET LOCAL session_replication_role = replica")
                    connection.execute("SET LOCAL lock_timeout = '5s'")
                    for table, rows in self.rows.items():
                        name = sql.Identifier(table)
                        connection.execute(sql.SQL("DELETE FROM {}").format(name))
                        if rows:
                            statement = sql.SQL("COPY {} FROM STDIN").format(name)
                            with connection.cursor().copy(statement) as copy:
                                copy.write(rows)
                    for name, value, called in self.sequences:
                        connection.execute("SELECT setval(%s, %s, %s)", [name, value, called])
            return True
        except psycopg.Error:
            return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


POSTGRES = PostgresCopies(POSTGRES_URL)


@pytest.fixture(scope="session", autouse=True)
def _seeded_databases():
    # Built before any test's fixtures run, so that no test's monkeypatching shapes them.
    SEEDED_SQLITE.path()
    POSTGRES.copies()
    yield
    POSTGRES.close()
    SEEDED_SQLITE.remove()


@pytest.fixture
def app(database_url):
    """A testing app on a seeded database of its own (the process's shared app)."""
    app = SHARED_APP.on(database_url)
    reseed(app, database_url)
    return app


@pytest.fixture
def full_sqlite(tmp_path, monkeypatch) -> str:
    """The URL of a seeded SQLite database that cannot grow by a page: SQLite answers a write
    that needs one as on a full disk ("database or disk is full"). tests/faults/ fills a
    real disk."""
    path = tmp_path / "full.sqlite3"
    seeded_app(f"sqlite:///{path}")
    database.close_all()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
    pragmas = SQLITE_OPTIONS["pragmas"] | {"max_page_count": pages}
    monkeypatch.setitem(SQLITE_OPTIONS, "pragmas", pragmas)
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def _close_pooled_connections():
    # Each app has its own pool; left open, a PostgreSQL run would exhaust the server's slots.
    yield
    if database.obj is not None:
        database.close_all()


def make_key(app, scope: str) -> str:
    with app.app_context():
        return keys.create(f"tests ({scope})", scope)[1]


@pytest.fixture
def client(app):
    """A client whose every request carries a key with write scope."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_key(app, 'write')}"
    return client


@pytest.fixture
def anonymous(app):
    """A client without a key."""
    return app.test_client()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """gunicorn serving a seeded SQLite database on a free port, for clients from outside the
    process (a browser, a generated client): its `url`, and a `key` with write scope."""
    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    copy_seeded_sqlite(path)
    key = make_key(create_app({"DATABASE_URL": f"sqlite:///{path}"}), "write")
    database.close_all()
    port = free_port()
    env = os.environ | {"DATABASE_URL": f"sqlite:///{path}", "PORT": str(port)}
    server = subprocess.Popen(GUNICORN, cwd=ROOT, env=env | {"WEB_CONCURRENCY": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server)
        yield SimpleNamespace(url=url, key=key)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """`industry-facts serve` (what `make serve` runs) on a fresh database of each backend,
    with keys made by the CLI: its `url`, `database_url`, `env` and a key of each scope."""
    database_url = backend_url(request.param, tmp_path_factory.mktemp("served"))
    if request.param == "postgresql":
        empty = create_app({"DATABASE_URL": database_url})
        with empty.app_context():
            drop_schema()  # served from nothing, as a fresh `make serve` is
        database.close_all()
    with served_on(database_url, tmp_path_factory.mktemp("served-log")) as server:
        yield server


@contextlib.contextmanager
def served_on(database_url: str, log_dir, settings: dict | None = None):
    """`industry-facts serve` on `database_url`, with `settings` added to its environment:
    its `url`, `env`, a key of each scope, and its log (the `log()` tail, the `log_path`)."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        # The clients of these servers send thousands of requests.
        "RATE_LIMIT_ANONYMOUS": UNLIMITED,
        "RATE_LIMIT_KEY": UNLIMITED,
        "LOG_LEVEL": "warning",
    }
    env |= settings or {}
    log_path = log_dir / "server.log"
    log = open(log_path, "w+")  # noqa: SIM115 (closed below, after the server)
    server = subprocess.Popen(
        [CONSOLE_SCRIPT, "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"

    def output() -> str:
        log.seek(0)
        return log.read()[-3000:]

    try:
        wait_until_serving(url, server, output)
        keys = cli_keys(env, ("read", "write"))
        yield SimpleNamespace(
            url=url, database_url=database_url, env=env, keys=keys, log=output, log_path=log_path
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def cli_keys(env: dict, scopes) -> dict[str, str]:
    """A key of each scope, made as the README says: `industry-facts keys create`. The
    commands run side by side: each spends a second importing the app before it writes."""
    running = {
        scope: subprocess.Popen(
            [CONSOLE_SCRIPT, "keys", "create", "--name", f"tests ({scope})", "--scope", scope],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for scope in scopes
    }
    keys = {}
    for scope, command in running.items():
        made, error = command.communicate(timeout=60)
        assert command.returncode == 0, f"keys create --scope {scope}: {error}"
        keys[scope] = made.strip()
    return keys
