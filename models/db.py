"""The database handle: one proxy, bound at start-up from a URL, and the base model."""

import json
import os
import re
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache, reduce
from itertools import chain
from operator import and_
from typing import Any

import psycopg
from peewee import (
    SQL,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    Field,
    ForeignKeyField,
    IntegerField,
    InterfaceError,
    Model,
    OperationalError,
    PeeweeException,
    RawQuery,
    SelectBase,
    SqliteDatabase,
    ValuesList,
)
from peewee import __exception_wrapper__ as driver_errors  # type: ignore[attr-defined]  # no stub
from playhouse.db_url import connect, register_database
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase, PooledPostgresqlDatabase

# A WITH clause, as SQL and its parameters, that every read of the current context runs
# under: how a read as of a past instant puts the history tables in place of the current
# ones (history.py).
preamble: ContextVar[tuple[str, list[Any]] | None] = ContextVar("preamble", default=None)

# SQL functions SQLite lacks, added to each of its connections: name -> (function, arity).
SQLITE_FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {}


class Database(DatabaseProxy):
    """The proxy models are bound to; it runs each read under the context's `preamble`."""

    def execute(self, query: Any, **options: Any) -> Any:
        clause = preamble.get()
        if clause is None or not isinstance(query, SelectBase | RawQuery):
            return self.obj.execute(query, **options)
        # The service's queries have no WITH clause of their own for this one to meet.
        sql, params = self.obj.get_sql_context(**options).sql(query).query()
        return self.obj.execute_sql(clause[0] + sql, [*clause[1], *params])


database = Database()

# WAL lets readers proceed during a write; IMMEDIATE makes a writer take the
# lock when its transaction begins, so concurrent gunicorn workers queue on the
# busy timeout instead of failing with "database is locked" halfway through.
# The write-ahead log holds a whole transaction until it commits, and SQLite reuses the
# file afterwards without shrinking it: 500 MB after a 200,000-row import. With a size
# limit it is cut back to that after the next checkpoint that empties it; the limit is
# above the ~4 MB the automatic checkpoints let it reach, so ordinary writes never pay
# for shrinking and growing it again.
SQLITE_OPTIONS = {
    "pragmas": {
        "journal_mode": "wal",
        "journal_size_limit": 16 * 1024 * 1024,  # bytes
        "foreign_keys": 1,
        "busy_timeout": 10_000,
    },
    "lock_type": "IMMEDIATE",
    # A pooled connection may serve another thread later, though never two at once.
    "check_same_thread": False,
}

# sqlite3 writes a datetime as text with a Python function of its own (deprecated since Python
# 3.12); str writes the same text, isoformat with a space, in C. A bulk write passes two or
# three of them a row.
sqlite3.register_adapter(datetime, str)


# Statements that may be sent twice: a read changes nothing. (A WITH clause may write, so a
# read under one, as of an instant, is checked first; a transaction's reads follow its BEGIN.)
READS = re.compile(r"\s*SELECT\b", re.IGNORECASE)
# Any constant: the transaction-level advisory lock PostgreSQL's writers take turns on.
WRITERS_LOCK = 7_220_331
# How long a write whose COMMIT lost its connection waits for the server to say whether it
# took (PostgresqlDatabase.commit); past it, the request answers 503 not knowing.
COMMIT_OUTCOME_SECONDS = 15


class PostgresqlDatabase(PooledPostgresqlDatabase):  # type: ignore[misc]  # playhouse: no stubs
    """PostgreSQL whose transactions take turns, as SQLite's do (BEGIN IMMEDIATE): each one
    waits at BEGIN until the one before it has committed or rolled back.

    Every transaction here writes. Left to run side by side under READ COMMITTED, two writes
    that touch one search document (a source's title and an event citing it) each rebuild
    it from what the other has not committed yet, so the last to commit keeps a stale one,
    or, with the index's rows deleted and inserted again, fails on its primary key; a
    delete and an update of one record take their row locks in opposite orders and
    deadlock. Taking turns from BEGIN makes every statement of a write see every earlier
    write whole; the lock is the first one a transaction takes, so waiting on it cannot be
    part of a deadlock. Revision ids follow commit order for the same reason (the changes
    feed). Reads take no part in it: they run outside transactions.
    """

    # A connection handed out by the pool is not asked whether it still works (playhouse's
    # check sends SELECT 1 each time, a round trip as long as a cached read's own query):
    # its first statement finds out. A connection that proves lost then, as every pooled one
    # is after the server restarted, is dropped and the statement sent once on a new one,
    # where running it twice is harmless: BEGIN, or a read. Any other first statement is
    # preceded by the check, as before.

    def _is_closed(self, conn: Any) -> bool:
        return bool(conn.closed)  # what the driver knows without asking the server

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        run = super().execute_sql
        if not self.is_closed():
            return run(sql, params)
        return self._first_statement(lambda: run(sql, params), again=READS.match(sql) is not None)

    def read_integer(self, sql: str) -> int | None:
        """`read_integer` (below) on PostgreSQL: `sql` prepared on the connection, and run
        through libpq itself. psycopg's cursor and peewee around it cost twice the time of the
        round trip's own work on the client, on a read that runs before every cached answer."""
        if not self.is_closed():
            return self._read_integer(sql)
        value: int | None = self._first_statement(lambda: self._read_integer(sql), again=True)
        return value

    def _read_integer(self, sql: str) -> int | None:
        connection = self._state.conn
        if connection.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            # Within a transaction, a statement that fails ends it: run where none may fail.
            row = super().execute_sql(sql).fetchone()
            return row[0] if row else None
        self._log_query(sql, None)  # at DEBUG, as execute_sql logs each statement
        name = f"read_{zlib.crc32(sql.encode()):08x}".encode()
        with driver_errors:  # raised as peewee's, as execute_sql raises them
            result = connection.pgconn.exec_prepared(name, [])
            # Not prepared on this connection yet, or no longer: psycopg deallocates every
            # statement of a connection after a ROLLBACK, a DROP or an ALTER through it.
            if result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == UNKNOWN_STATEMENT:
                _result(connection, connection.pgconn.prepare(name, sql.encode()))
                result = connection.pgconn.exec_prepared(name, [])
            _result(connection, result)
        value = result.get_value(0, 0) if result.ntuples else None
        return None if value is None else int(value)  # text, as PostgreSQL sends it

    def begin(self, *args: Any, **kwargs: Any) -> None:
        started = super().begin
        if self.is_closed():
            self._first_statement(lambda: started(*args, **kwargs), again=True)
        else:
            started(*args, **kwargs)
        turn = "SELECT pg_advisory_xact_lock(%s), pg_current_xact_id()::text"
        self._state.transaction_id = self.execute_sql(turn, (WRITERS_LOCK,)).fetchone()[1]

    def commit(self) -> None:
        """COMMIT, and where the connection breaks on it, find out whether it took.

        A server shut down during a COMMIT may write the commit and end the connection
        before its answer arrives: the driver reports a failure, yet the write is stored,
        and a client told 503 would send it again. The transaction's id, asked about on a
        new connection once the server is back, says which it was.
        """
        try:
            super().commit()
        except (OperationalError, InterfaceError):
            if self._outcome(self._state.transaction_id) != "committed":
                raise

    def _first_statement(self, run: Callable[[], Any], again: bool) -> Any:
        """`run()`, the first statement on a connection taken from the pool unchecked; sent
        once more on a new connection where that one proves lost and `again` allows."""
        self.connect()
        if not again and self._adapter.is_connection_closed(self._state.conn):
            self._replace_connection()
        try:
            return run()
        except (OperationalError, InterfaceError):
            if not again or not self._state.conn.broken:
                raise
        self._replace_connection()
        return run()

    def _replace_connection(self) -> None:
        self.close()  # the pool drops a connection it cannot reuse (its status is unknown)
        self.connect()

    def _outcome(self, transaction_id: str) -> str | None:
        """'committed' or 'aborted' for a transaction of this server, or None where the
        server stays out of reach for COMMIT_OUTCOME_SECONDS."""
        deadline = time.monotonic() + COMMIT_OUTCOME_SECONDS
        while True:
            try:
                # Past the pool: its connections may all have broken with the server.
                connection = super(PooledDatabase, self)._connect()
                try:
                    status = connection.execute(
                        "SELECT pg_xact_status(%s::xid8)", (transaction_id,)
                    ).fetchone()[0]
                finally:
                    connection.close()
                if status in ("committed", "aborted"):
                    return str(status)
            except psycopg.OperationalError:
                pass
            # Still down, or the broken transaction's backend has not yet recorded its end.
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)


register_database(PostgresqlDatabase, "postgres+pool", "postgresql+pool")

# PostgreSQL's SQLSTATE for a prepared statement that does not exist (invalid_sql_statement_name).
UNKNOWN_STATEMENT = b"26000"


def _result(connection: psycopg.Connection, result: Any) -> Any:
    """libpq's `result` of a statement sent on `connection`, or the error psycopg would raise
    for it: OperationalError where the connection was lost, which is then broken."""
    if result.status in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK):
        return result
    if connection.pgconn.status == psycopg.pq.ConnStatus.BAD:
        raise psycopg.OperationalError(psycopg.pq.error_message(connection.pgconn))
    raise psycopg.errors.error_from_result(result, encoding=connection.info.encoding)


def read_integer(sql: str) -> int | None:
    """The integer in the first column of the first row `sql` reads, a read without
    parameters; None where it reads no row. Sent as it is, outside any read's preamble."""
    if is_sqlite():
        row = database.execute_sql(sql).fetchone()
        return row[0] if row else None
    value: int | None = database.obj.read_integer(sql)
    return value


# Each request takes a connection from its worker's pool and gives it back at teardown, so
# connection set-up (and SQLite's page cache) is paid once per thread, not once per request.
# The most connections a process opens (a ceiling: each is opened when a thread first needs
# one), the age in seconds at which one is closed and replaced, and the seconds a request
# waits for a free one. The service's DATABASE_POOL_SIZE, DATABASE_STALE_TIMEOUT and
# DATABASE_POOL_TIMEOUT settings override them.
POOL_OPTIONS = {"max_connections": 32, "stale_timeout": 300, "timeout": 10}

BULK_CACHE_KIB = 64 * 1024  # SQLite's page cache while a bulk write runs (bulk_writing)


def open_database(url: str, pool: dict[str, Any] | None = None) -> Any:
    """Bind the proxy to a connection pool for `url` (sqlite:///path or postgresql://...);
    `pool` overrides some of POOL_OPTIONS."""
    scheme, _, rest = url.partition("://")
    options = POOL_OPTIONS | (pool or {})
    if scheme.startswith("sqlite"):
        path = rest.removeprefix("/")
        if path and path != ":memory:":
            # A folder that cannot be made is left for the first connection to report, in
            # the words SQLite has for any file it cannot open.
            with suppress(OSError):
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        options = options | SQLITE_OPTIONS
    db = connect(f"{scheme.removesuffix('+pool')}+pool://{rest}", **options)
    if isinstance(db, SqliteDatabase):
        for name, (function, arity) in SQLITE_FUNCTIONS.items():
            db.register_function(function, name, arity)
    database.initialize(db)
    return db


# The most parameters a statement of SQLite may have (SQLITE_MAX_VARIABLE_NUMBER, since 3.32).
SQLITE_PARAMETERS = 32_766


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


def insert_rows(
    model: type[Model],
    fields: list[Field],
    rows: list[tuple[Any, ...]],
    returning: Field | None = None,
) -> list[Any]:
    """INSERT `rows`, each a tuple of values for `fields`, with one statement; returns the
    `returning` field's values, one per row in order, when a field is given."""
    given = {field.name for field in fields}  # by name: a field's == builds an expression
    missing = {field: value for field, value in defaults(model).items() if field.name not in given}
    if missing:  # as insert_many would, but with one default for the whole statement
        extra = tuple(missing.values())
        fields, rows = [*fields, *missing], [(*row, *extra) for row in rows]
    if not is_sqlite():
        # One array a column: the statement stays short, so psycopg parses it once and keeps
        # it, where a VALUES list of a thousand rows took longer to parse than to run.
        sql = rendered(_insert_arrays, model, tuple(fields), returning)
        cursor = database.execute_sql(sql, [list(column) for column in db_columns(fields, rows)])
        return [value for (value,) in cursor] if returning is not None else []
    keys: list[Any] = []
    # A VALUES list, in as few statements as SQLite's limit on parameters allows.
    size = max(1, SQLITE_PARAMETERS // len(fields))
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        sql = rendered(_insert, model, tuple(fields), len(batch), returning)
        cursor = database.execute_sql(sql, db_values(fields, batch))
        keys += [value for (value,) in cursor] if returning is not None else []
    return keys


def defaults(model: type[Model]) -> dict[Field, Any]:
    """Each field's default, by field; a callable's called once, so that the rows of one bulk
    write share one instant."""
    return {f: value() if callable(value) else value for f, value in model._meta.defaults.items()}


def _insert(
    model: type[Model], fields: tuple[Field, ...], count: int, returning: Field | None
) -> Any:
    query = model.insert_many([[None] * len(fields)] * count, fields=list(fields))
    # With no field, returning() asks for nothing back (PostgreSQL would send the keys).
    return query.returning(*([returning] if returning is not None else []))


def _insert_arrays(model: type[Model], fields: tuple[Field, ...], returning: Field | None) -> Any:
    # %b: an array sent in binary; psycopg writes its text form escaping value by value, which
    # took a sixth of a PostgreSQL import's time.
    arrays = ", ".join(f"%b::{column_type(field)}[]" for field in fields)
    query = model.insert_from(SQL(f"SELECT * FROM unnest({arrays})"), list(fields))
    return query.returning(*([returning] if returning is not None else []))


def column_type(field: Field) -> str:
    """The PostgreSQL type of `field`'s column, as a cast names it (SERIAL is no type)."""
    target = field.rel_field if isinstance(field, ForeignKeyField) else field
    named = database.obj.get_context_options()["field_types"].get(target.field_type)
    return {"SERIAL": "INTEGER", "BIGSERIAL": "BIGINT"}.get(named, named or target.field_type)


def rendered(build: Callable[..., Any], *shape: Any) -> str:
    """The SQL of the query `build(*shape)`, whose values are all placeholders.

    peewee builds every value of a query into its SQL anew; for bulk reads and writes that
    cost more than running them. This SQL is built once per shape and backend, and reused
    with other values (`db_values`).
    """
    backend: type = type(database.obj)
    return _rendered(build, shape, backend)


@lru_cache(maxsize=256)  # bulk statements come in a few sizes: full batches and their tails
def _rendered(build: Callable[..., Any], shape: tuple[Any, ...], backend: type) -> str:
    sql: str = build(*shape).sql()[0]
    return sql


def among(column: Any, keys: list[Any]) -> Any:
    """`column IN keys` with one parameter, however many keys (ids or codes).

    peewee builds an IN list value by value, which for bulk writes cost more than running them.
    """
    if is_sqlite():
        return column.in_(SQL("(SELECT value FROM json_each(?))", (key_list(keys),)))
    return column == SQL("ANY(%s)", (key_list(keys),))


def key_list(keys: list[Any]) -> Any:
    """The parameter by which `among` passes `keys`: JSON text on SQLite, an array on
    PostgreSQL. For running SQL rendered once with `among` (`rendered`) with other keys."""
    return json.dumps(keys) if is_sqlite() else keys


def one_of(query: Any, columns: Sequence[Any], keys: Sequence[Sequence[Any]]) -> Any:
    """`query` narrowed to the rows whose `columns` hold one of `keys` (tuples of values), by
    a join with the keys as a VALUES list: SQLite scans a whole table or index for a
    row-value IN list, where a join looks each key up in an index."""
    wanted = ValuesList(keys).alias("wanted")
    # VALUES names its columns column1, column2, ... on both backends.
    match = [column == getattr(wanted.c, f"column{n}") for n, column in enumerate(columns, 1)]
    return query.join(wanted, on=reduce(and_, match))


def in_arrays(query: Any, model: type[Model], columns: Sequence[Field]) -> Any:
    """`one_of` for PostgreSQL, its keys given as one array a column (each a parameter, in
    the order of `columns`): the statement stays short whatever the number of keys."""
    arrays = ", ".join(f"%b::{column_type(column)}[]" for column in columns)
    names = [f"column{n}" for n in range(1, len(columns) + 1)]
    wanted = SQL(f"unnest({arrays}) AS wanted ({', '.join(names)})")
    match = [column == SQL(f"wanted.{name}") for column, name in zip(columns, names, strict=True)]
    return query.from_(model, wanted).where(reduce(and_, match))


def db_values(fields: list[Field], rows: list[tuple[Any, ...]]) -> list[Any]:
    """The parameters for `rows` of values of `fields`, one row after another."""
    return list(chain.from_iterable(zip(*db_columns(fields, rows), strict=True)))


def db_columns(fields: list[Field], rows: list[tuple[Any, ...]]) -> list[Sequence[Any]]:
    """The values of `rows` for the database, a column (a field) at a time."""
    if not rows:
        return [[] for _ in fields]
    return [
        _db_column(f, column) for f, column in zip(fields, zip(*rows, strict=True), strict=True)
    ]


# The type of value that each of peewee's `adapt` methods returns unchanged, in a field whose
# db_value is peewee's own (None, or adapt(value)). A bulk write's columns are mostly such
# values: a column of them is passed on as it is, without a Python call per value.
_PLAIN = {
    CharField.adapt: str,  # TextField's too
    IntegerField.adapt: int,  # AutoField's too
    DateField.adapt: date,
    DateTimeField.adapt: datetime,
}


def _db_column(field: Field, values: tuple[Any, ...]) -> Sequence[Any]:
    """`field.db_value` of each of `values`."""
    target = field.rel_field if isinstance(field, ForeignKeyField) else field
    plain = _PLAIN.get(type(target).adapt) if type(target).db_value is Field.db_value else None
    # By exact type: a bool is an int, and a datetime a date, that adapt would change.
    if plain is not None and set(map(type, values)) <= {plain, type(None)}:
        return values
    return list(map(field.db_value, values))


@contextmanager
def bulk_writing() -> Iterator[None]:
    """Room for a bulk write: SQLite's default 2 MiB page cache holds little of a large
    table's indexes, and re-reading the pages it evicted took a third of an import's time.

    Afterwards SQLite's write-ahead log, grown to hold the whole write, is emptied and cut
    to nothing, unless an enclosing transaction is still open: journal_size_limit then cuts
    it back after a later checkpoint.
    """
    if not is_sqlite():
        yield
        return
    (size,) = database.execute_sql("PRAGMA cache_size").fetchone()
    database.execute_sql(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size = {size}")
        # SQLite's own flag: it knows of a transaction begun by any means, peewee's or not.
        if not database.connection().in_transaction:
            _truncate_write_ahead_log()


def _truncate_write_ahead_log() -> None:
    try:
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError:
        # The write is committed, or rolled back, whatever becomes of the log: a full disk
        # here must not turn a stored import into an error. journal_size_limit still cuts
        # the log back at a later checkpoint.
        pass


class BaseModel(Model):
    class Meta:
        database = database


# Why a database error happened, as the caller should treat it: the database's storage is
# full (SQLite's SQLITE_FULL, PostgreSQL's class 53 "insufficient resources"), or it cannot be
# reached or stays locked for now. Both pass with time or an operator's fix, not new code.
FULL = "full"
UNAVAILABLE = "unavailable"
# SQLite says which by its message alone.
SQLITE_FULL = ("database or disk is full",)
SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O", "readonly")


def fault(error: BaseException | None) -> str | None:
    """FULL, UNAVAILABLE, or None for an error that is a bug (a missing table, bad SQL).

    Looks through the errors `error` was raised while handling: when SQLite fills the disk it
    rolls the transaction back itself, and peewee's attempt to roll back then fails with
    "cannot rollback - no transaction is active", which hides the real cause.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlite3.Error):
            if any(sign in str(error) for sign in SQLITE_FULL):
                return FULL
            if any(sign in str(error) for sign in SQLITE_UNAVAILABLE):
                return UNAVAILABLE
        elif isinstance(error, psycopg.Error):
            if (error.sqlstate or "").startswith("53"):  # disk full, out of memory, too many
                return FULL if error.sqlstate == "53100" else UNAVAILABLE
            if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
                return UNAVAILABLE
        elif isinstance(error, MaxConnectionsExceeded):
            return UNAVAILABLE
        error = error.__cause__ or error.__context__
    return None


def described(error: BaseException) -> str:
    """The first error of `error`'s chain, on one line in the driver's words: not peewee's
    retelling of it, nor the failed rollback that followed it."""
    while (cause := error.__cause__ or error.__context__) is not None:
        error = cause
    return " ".join(str(error).split())


def abandon_transaction() -> None:
    """Roll back whatever transaction the thread still has open, where its connection may
    have failed already: SQLite ends a transaction itself when the disk is full, and a lost
    connection has none left. Either way nothing of it was kept."""
    while database.in_transaction():
        try:
            database.session_rollback()
        except PeeweeException:
            pass  # popped all the same: the next turn of the loop sees the rest
