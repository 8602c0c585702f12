"""The database: write transactions that take turns, and the helpers for bulk work."""

import io
import logging
import sqlite3
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import peewee
import psycopg
import pytest
from peewee import OperationalError, PeeweeException

from api import importing
from models import db, records, stamp
from models.db import (
    FULL,
    SQLITE_OPTIONS,
    UNAVAILABLE,
    among,
    database,
    db_values,
    described,
    fault,
    insert_rows,
    is_sqlite,
    one_of,
)
from models.stamp import CURRENT
from models.tables import Event, Revision, Segment, Source, Statistic, Target
from tests.conftest import BACKENDS, backend_url, seeded_app
from tests.helpers import statistics_csv


def test_insert_rows_returns_the_keys_and_fills_in_defaults(app):
    fields = [Source.publisher, Source.title, Source.url]
    rows = [("P", f"T{n}", f"https://example.org/{n}") for n in range(3)]
    with app.app_context():
        keys = insert_rows(Source, fields, rows, returning=Source.id)
        stored = list(Source.select().where(Source.id.in_(keys)).order_by(Source.id))
        assert [s.title for s in stored] == ["T0", "T1", "T2"]
        # version and the two timestamps were not given: their defaults, one for all rows.
        assert {(s.version, s.created_at) for s in stored} == {(1, stored[0].created_at)}


SAMPLES = (None, "x", "", 7, True, 1.5, Decimal("0.000"), Decimal("2.50"), ["a"], ("b",))
SAMPLES += (date(2025, 1, 2), datetime(2025, 1, 2, 3, 4, 5), datetime(2025, 1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize("model", [Source, Event, Statistic, Target, Segment, Revision])
def test_db_values_bind_what_each_fields_db_value_would(app, model):
    # Columns of plain values are passed on as they are; the others value by value.
    with app.app_context():
        for field in model._meta.sorted_fields:
            values = []
            for value in SAMPLES:
                try:
                    values.append((value, field.db_value(value)))
                except (TypeError, ValueError):
                    continue  # a value this field cannot take at all
            # Each value alone, all of them in one column, and in two.
            for column in [*([value] for value in values), values, values[:2], values[2:]]:
                converted = list(map(bound, db_values([field], [(value,) for value, _ in column])))
                expected = [bound(db_value) for _, db_value in column]
                assert list(map(type, converted)) == list(map(type, expected)), field
                assert converted == expected, field


def bound(value):
    """A parameter as the driver hands it to the database: on SQLite, through its adapter."""
    adapter = sqlite3.adapters.get((type(value), sqlite3.PrepareProtocol))
    return adapter(value) if adapter and is_sqlite() else value


def test_among_matches_any_number_of_keys(app):
    with app.app_context():
        assert Source.select().where(among(Source.id, [1, 99])).count() == 1
        assert Source.select().where(among(Source.id, [])).count() == 0
        codes = ["total", "passenger_cars", "nothing"]
        assert Segment.select().where(among(Segment.code, codes)).count() == 2


def test_one_of_finds_rows_by_several_columns_through_an_index(app):
    columns = [Statistic.indicator, Statistic.region, Statistic.segment]
    keys = [("vehicle_exports", "CN", "total"), ("vehicle_exports", "XX", "total")]
    with app.app_context():
        query = one_of(Statistic.select(Statistic.id), columns, keys)
        assert sorted(query.tuples()) == [(1,)]
        if is_sqlite():
            # A row-value IN list here would read the whole table: SCAN statistic.
            sql, params = query.sql()
            plan = " ".join(
                row[-1] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
            assert "SEARCH" in plan and "SCAN t1" not in plan and "SCAN statistic" not in plan


def test_write_transactions_take_turns(app):
    # Two writes that ran side by side would each miss what the other had not committed yet
    # (a search document rebuilt from stale text), or lock rows in opposite orders.
    order, first_began = [], threading.Event()

    def first():
        with database.atomic():
            Source.update(title="first").where(Source.id == 1).execute()
            order.append("first began")
            first_began.set()
            time.sleep(0.5)  # room for the second to begin, were it not made to wait
            order.append("first ended")
        database.close()

    def second():
        first_began.wait()
        with database.atomic():
            order.append("second began")
        database.close()

    with app.app_context():
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert order == ["first began", "first ended", "second began"]


def _raised(*chain: BaseException) -> BaseException:
    """The last of `chain`, raised while handling the one before it, as a driver's error is."""
    error = None
    for step in chain:
        try:
            try:
                if error is not None:
                    raise error
            finally:
                raise step
        except BaseException as caught:  # noqa: BLE001 (building the chain)
            error = caught
    return error


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        # SQLite rolled back on its own; peewee's rollback then failed and hid the cause.
        (
            [
                sqlite3.OperationalError("database or disk is full"),
                OperationalError("database or disk is full"),
                sqlite3.OperationalError("cannot rollback - no transaction is active"),
                OperationalError("cannot rollback - no transaction is active"),
            ],
            FULL,
        ),
        ([sqlite3.OperationalError("database is locked"), OperationalError("locked")], UNAVAILABLE),
        ([psycopg.errors.DiskFull("could not extend file"), OperationalError("x")], FULL),
        (
            [psycopg.OperationalError("the connection is closed"), OperationalError("x")],
            UNAVAILABLE,
        ),
        ([psycopg.errors.TooManyConnections("too many clients")], UNAVAILABLE),
        # Bugs, not faults: they stay 500s.
        ([sqlite3.OperationalError("no such table: source"), OperationalError("x")], None),
        ([psycopg.errors.UndefinedTable("relation does not exist")], None),
        ([OperationalError("Attempting to close database while transaction is open.")], None),
    ],
    ids=[
        "sqlite full",
        "sqlite locked",
        "pg disk full",
        "pg lost",
        "pg slots",
        "sqlite bug",
        "pg bug",
        "peewee bug",
    ],
)
def test_fault_tells_a_full_or_unreachable_database_from_a_bug(chain, expected):
    assert fault(_raised(*chain)) == expected


def test_described_gives_the_first_error_of_the_chain():
    error = _raised(
        sqlite3.OperationalError("database or disk\nis full"),
        OperationalError("cannot rollback - no transaction is active"),
    )
    assert described(error) == "database or disk is full"


# A bulk write grows SQLite's write-ahead log to hold all of it: 20,000 rows take some 30 MB.
IMPORTED_ROWS = 20_000


def write_ahead_log(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///") + "-wal")


@pytest.fixture
def sqlite_app(tmp_path):
    return seeded_app(backend_url("sqlite", tmp_path))


def test_a_bulk_write_leaves_the_write_ahead_log_empty(sqlite_app):
    with sqlite_app.app_context():
        report = importing.run(importing.csv_rows(io.StringIO(statistics_csv(IMPORTED_ROWS))))
        assert report["created"] == {"statistics": IMPORTED_ROWS}
        assert write_ahead_log(sqlite_app.config["DATABASE_URL"]).stat().st_size == 0


def test_a_bulk_write_in_a_longer_transaction_leaves_the_log_bounded_after_it(sqlite_app):
    # As a request with an Idempotency-Key runs its import: the log cannot be emptied while
    # the transaction is open, and is cut back to the limit after the next write.
    limit = SQLITE_OPTIONS["pragmas"]["journal_size_limit"]
    log = write_ahead_log(sqlite_app.config["DATABASE_URL"])
    with sqlite_app.app_context():
        with database.atomic():
            importing.run(importing.csv_rows(io.StringIO(statistics_csv(IMPORTED_ROWS))))
        assert log.stat().st_size > limit  # what there is to bound
        with database.atomic():
            Source.update(title="after").where(Source.id == 1).execute()
        assert log.stat().st_size <= limit


# -- a COMMIT whose connection breaks (PostgreSQL) -----------------------------------------
ON_POSTGRESQL = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)
LOST = "server closed the connection unexpectedly"


def _commit_then_lose_the_answer(self):
    ORIGINAL_COMMIT(self)
    raise OperationalError(LOST)


def _lose_the_connection_then_commit(self):
    self.connection().close()
    ORIGINAL_COMMIT(self)


ORIGINAL_COMMIT = peewee.Database.commit


def _create_source(url: str):
    return records.create(Source, {"publisher": "P", "title": "T", "url": url})


@ON_POSTGRESQL
def test_a_commit_that_took_but_lost_its_answer_is_a_success(app, monkeypatch):
    with app.app_context():
        monkeypatch.setattr(peewee.Database, "commit", _commit_then_lose_the_answer)
        created = _create_source("https://example.org/took")
        monkeypatch.undo()
        database.close_all()
        assert Source.get(Source.url == "https://example.org/took").id == created.id


@ON_POSTGRESQL
def test_a_commit_that_never_reached_the_server_fails_and_stores_nothing(app, monkeypatch):
    with app.app_context():
        monkeypatch.setattr(peewee.Database, "commit", _lose_the_connection_then_commit)
        with pytest.raises(PeeweeException) as raised:
            _create_source("https://example.org/lost")
        monkeypatch.undo()
        database.close_all()
        assert fault(raised.value) == UNAVAILABLE  # a 503, as the service answers it
        assert not Source.select().where(Source.url == "https://example.org/lost").exists()


@ON_POSTGRESQL
def test_a_commit_whose_server_stays_away_fails_once_the_wait_is_over(app, monkeypatch):
    with app.app_context():
        monkeypatch.setattr(peewee.Database, "commit", _commit_then_lose_the_answer)
        monkeypatch.setattr(db, "COMMIT_OUTCOME_SECONDS", 0.3)
        database.connection()  # the request's own connection, before the server goes away
        monkeypatch.setattr(peewee.PostgresqlDatabase, "_connect", _refused, raising=True)
        started = time.monotonic()
        with pytest.raises(OperationalError, match=LOST):
            _create_source("https://example.org/unknown")
        assert time.monotonic() - started < 5


def _refused(self):
    raise psycopg.OperationalError("connection refused")


# -- a pooled connection lost while it waited (PostgreSQL) ---------------------------------


def _read(url: str):
    return stamp.current()


def _write(url: str):
    return _create_source(url)


def _other_statement(url: str):
    # Neither a read nor a BEGIN: sending it twice might not be harmless.
    return database.execute_sql("UPDATE source SET url = url WHERE id = 0")


@ON_POSTGRESQL
@pytest.mark.parametrize("first", [_read, _write, _other_statement])
def test_a_pooled_connection_lost_while_it_waited_is_replaced_at_its_first_statement(
    app, database_url, first
):
    with app.app_context():
        lost = database.connection().info.backend_pid
        database.close()  # back to the pool, as at the end of a request
        with psycopg.connect(database_url, autocommit=True) as other:
            # What a restart of the server does to every connection.
            other.execute("SELECT pg_terminate_backend(%s)", [lost])
        first("https://example.org/replaced")
        assert database.connection().info.backend_pid != lost


@ON_POSTGRESQL
def test_a_read_takes_a_pooled_connection_without_asking_the_server_first(app, tmp_path):
    with app.app_context():
        database.execute_sql("SELECT 1")
        connection = database.connection()
        database.close()
        sent = _sent(connection, tmp_path, stamp.current)
        assert "SELECT 1" not in sent  # the read alone, prepared and run
        assert [message.split("\t")[2] for message in sent] == READ_PREPARED


# What libpq sends, by message type, to run a prepared statement (PQexecPrepared), and to
# prepare one (PQprepare); and for a read on a connection where it is not prepared yet: the
# run, refused, the statement prepared, and the run again.
READ = ["Bind", "Describe", "Execute", "Sync"]
PREPARE = ["Parse", "Sync"]
READ_PREPARED = READ + PREPARE + READ


def _sent(connection, tmp_path: Path, run) -> list[str]:
    """The messages that `run()` sends on `connection`, from libpq's trace: one a line, each
    "F", its length, its type and what it holds, apart by tabs."""
    path = tmp_path / "trace"
    with path.open("w") as trace:
        connection.pgconn.trace(trace.fileno())
        connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            run()
        finally:
            connection.pgconn.untrace()
    return [line for line in path.read_text().splitlines() if line.startswith("F\t")]


# -- read_integer: the data stamp's read, before every cached answer ------------------------


def test_read_integer_reads_the_first_value_or_none(app):
    with app.app_context():
        assert db.read_integer("SELECT 7 UNION ALL SELECT 8") == 7
        assert db.read_integer(f"{CURRENT} WHERE 1 = 0") is None
        assert db.read_integer(CURRENT) == stamp.current() is not None


def test_read_integer_logs_its_statement_as_every_other_is(app, caplog):
    with app.app_context(), caplog.at_level(logging.DEBUG, logger="peewee"):
        stamp.current()
    assert (CURRENT, None) in [record.msg for record in caplog.records]


@ON_POSTGRESQL
def test_read_integer_prepares_its_statement_once_a_connection(app, database_url, tmp_path):
    with app.app_context():
        connection = database.connection()
        first = _sent(connection, tmp_path, stamp.current)
        again = _sent(connection, tmp_path, stamp.current)
        assert [m.split("\t")[2] for m in first] == READ_PREPARED
        assert [m.split("\t")[2] for m in again] == READ
        # A connection that replaces it, lost while it waited in the pool, prepares it anew.
        database.close()
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [connection.info.backend_pid])
        assert stamp.current() is not None
        assert database.connection() is not connection


@ON_POSTGRESQL
def test_read_integer_prepares_its_statement_again_once_psycopg_dropped_them_all(app, tmp_path):
    with app.app_context():
        stamp.current()
        for _ in range(6):  # psycopg prepares a statement run this often, and so keeps some
            database.execute_sql("SELECT 1")
        with pytest.raises(RuntimeError), database.atomic():
            raise RuntimeError("rolled back")
        database.execute_sql("SELECT 1")  # psycopg's DEALLOCATE ALL goes first
        connection = database.connection()
        assert [m.split("\t")[2] for m in _sent(connection, tmp_path, stamp.current)] == (
            READ_PREPARED
        )


@ON_POSTGRESQL
def test_read_integer_within_a_transaction_leaves_it_going(app, tmp_path):
    # Not prepared on this connection: a refused run would end the transaction.
    with app.app_context(), database.atomic():
        connection = database.connection()
        sent = _sent(connection, tmp_path, stamp.current)
        assert CURRENT in "".join(sent)  # its SQL, through psycopg: no run of a name refused
        assert Source.select().count() > 0


@ON_POSTGRESQL
def test_read_integer_sees_each_write_of_another_connection(app, database_url):
    # Prepared is not kept: each run reads the row as the last commit left it.
    with app.app_context(), psycopg.connect(database_url, autocommit=True) as other:
        for value in (11, 12, 13):
            other.execute('UPDATE "datastamp" SET "value" = %s', [value])
            assert stamp.current() == value


def test_read_integer_raises_the_database_error_and_the_connection_goes_on(app):
    with app.app_context():
        for _ in range(2):  # not prepared the first time: tried again, and refused again
            with pytest.raises(peewee.DatabaseError, match="no_such_table") as raised:
                db.read_integer('SELECT "value" FROM "no_such_table"')
            assert fault(raised.value) is None  # a bug, not the database out of reach
        assert stamp.current() is not None


@ON_POSTGRESQL
def test_read_integer_on_a_connection_lost_in_use_is_unavailable(app, database_url):
    with app.app_context():
        stamp.current()  # the connection is now in use, past its first statement
        in_use = database.connection().info.backend_pid
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [in_use])
        with pytest.raises(OperationalError) as raised:
            stamp.current()
        assert fault(raised.value) == UNAVAILABLE
        assert database.connection().broken
