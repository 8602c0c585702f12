"""A synthetic database of realistic shape, for the benchmarks: series of monthly, quarterly
and annual observations across many indicators, regions, segments and sources."""

import sqlite3
from datetime import date

from peewee_migrate.models import MIGRATE_TABLE

from api import create_app
from models import resources, search, stamp
from models.db import database
from models.periods import Period
from models.schema import MIGRATIONS, create_schema, drop_schema, known_tables
from models.tables import Indicator, Segment, Source, Statistic
from service.seed import load_seed

INDICATORS = [f"indicator_{n:02}" for n in range(20)]
REGIONS = [
    "CN",
    "DE",
    "US",
    "JP",
    "KR",
    "FR",
    "GB",
    "IT",
    "ES",
    "MX",
    "BR",
    "IN",
    "TH",
    "TR",
    "PL",
    "CZ",
    "SK",
    "HU",
    "RO",
    "CA",
    "AU",
    "ZA",
    "ID",
    "VN",
    "MY",
    "AR",
    "SE",
    "BE",
    "NL",
    "AT",
    "PT",
    "FI",
    "DK",
    "NO",
    "CH",
    "IE",
    "GR",
    "SI",
    "HR",
    "RS",
    "UA",
    "MA",
    "EG",
    "SA",
    "AE",
    "IL",
    "PH",
    "NZ",
    "CL",
    "CO",
]
SEGMENTS = ["seg_total"] + [f"seg_part_{n}" for n in range(9)]
YEARS = range(2000, 2026)
SOURCES = 5
# A fixed number of statistics quote a rare word, so a search matches as many rows at every size.
QUOTED = 200
RARE_WORD = "hydrogen"
# In the databases with history, each synthetic statistic has this many versions: it was
# created on the 1st of January 2025 and revised on the 1st of each month after.
REVISIONS = 3
SEED_STATISTICS = 4


def periods() -> list[Period]:
    """Every period of one series: annual, quarterly and monthly, 2000-2025 (442 in all)."""
    labels = []
    for year in YEARS:
        labels += [f"{year}"] + [f"{year}-Q{q}" for q in range(1, 5)]
        labels += [f"{year}-{m:02}" for m in range(1, 13)]
    return [Period.parse(label) for label in labels]


def series_keys():
    """(indicator, region, segment) in an order that fills one indicator and region first."""
    for indicator in INDICATORS:
        for region in REGIONS:
            for segment in SEGMENTS:
                yield indicator, region, segment


def rows(size: int):
    """`size` statistics as tuples for a raw INSERT, series after series."""
    all_periods = periods()
    made = 0
    for number, (indicator, region, segment) in enumerate(series_keys()):
        source = 2 + number % SOURCES
        level = 1000 + 37 * number
        for index, period in enumerate(all_periods):
            if made == size:
                return
            made += 1
            quote = f"exports of {RARE_WORD} vehicles" if made % (size // QUOTED) == 0 else None
            value = (
                level
                * (
                    12
                    if period.frequency == "annual"
                    else 3
                    if period.frequency == "quarterly"
                    else 1
                )
                + index % 97
            )
            yield (
                indicator,
                region,
                segment,
                period.start.isoformat(),
                period.end.isoformat(),
                period.frequency,
                value,
                None,
                None,
                source,
                None,
                quote,
                1,
                "2025-01-01 00:00:00",
                "2025-01-01 00:00:00",
            )


def build(path: str, size: int) -> None:
    """Create the database at `path` with the seed plus `size` synthetic statistics."""
    app = create_app({"DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        create_schema()
        load_seed()
        with database.atomic():
            Indicator.insert_many(
                [
                    (code, code.replace("_", " ").title(), "units", "count", "automotive")
                    for code in INDICATORS
                ],
                fields=[
                    Indicator.code,
                    Indicator.name,
                    Indicator.unit,
                    Indicator.measure,
                    Indicator.industry,
                ],
            ).execute()
            Segment.insert_many(
                [
                    (
                        code,
                        code.replace("_", " ").title(),
                        None if code == "seg_total" else "seg_total",
                    )
                    for code in SEGMENTS
                ],
                fields=[Segment.code, Segment.name, Segment.parent],
            ).execute()
            Source.insert_many(
                [
                    (
                        f"Agency {n}",
                        f"Trade bulletin {n}",
                        f"https://example.org/bulletin/{n}",
                        date(2025, 1, n + 1),
                    )
                    for n in range(SOURCES)
                ],
                fields=[Source.publisher, Source.title, Source.url, Source.published_on],
            ).execute()
        database.close()
    columns = (
        "indicator_id, region, segment_id, period_start, period_end, frequency, value, "
        "change_pct, change_basis, source_id, event_id, quote, version, created_at, "
        "updated_at, status, rank"
    )
    with sqlite3.connect(path) as connection:
        # Every synthetic figure is a reported one, of normal rank: the defaults.
        connection.executemany(
            f"INSERT INTO statistic ({columns}) VALUES ({', '.join('?' * 15)}, "
            "'reported', 'normal')",
            rows(size),
        )
    with app.app_context():
        with database.atomic():
            search.refresh(Statistic)
        database.execute_sql("ANALYZE")
        database.close()


def add_history(path: str) -> None:
    """Give each synthetic statistic REVISIONS versions, as if the API had made them: history
    rows valid a month each (the last still open) and a revision for each. The current rows
    stay as they are but for their version number, so the data read today is the same."""
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(statistic)")]
        for version in range(1, REVISIONS + 1):
            since = f"'2025-{version:02}-01 00:00:00'"
            then = {
                "version": str(version),
                "value": f"value - {REVISIONS - version}",
                "updated_at": since,
            }
            values = ", ".join(f"{then.get(column, column)} AS {column}" for column in columns)
            until = f"'2025-{version + 1:02}-01 00:00:00'" if version < REVISIONS else "NULL"
            synthetic = f"FROM statistic WHERE id > {SEED_STATISTICS}"
            connection.execute(
                f"INSERT INTO statistic_history ({', '.join(columns)}, valid_from, valid_to) "
                f"SELECT {values}, {since}, {until} {synthetic}"
            )
            change = "create" if version == 1 else "update"
            connection.execute(
                "INSERT INTO revision (resource, key, version, change, at, by) "
                f"SELECT 'statistic', id, {version}, '{change}', {since}, 'cli' {synthetic}"
            )
        connection.execute(
            f"UPDATE statistic SET version = {REVISIONS}, updated_at = {since} "
            f"WHERE id > {SEED_STATISTICS}"
        )
        # What the statistics refer to has been there, unchanged, since they were created.
        for table, key in (("indicator", "code"), ("segment", "code"), ("source", "id")):
            listed = ", ".join(row[1] for row in connection.execute(f"PRAGMA table_info({table})"))
            connection.execute(
                f"INSERT INTO {table}_history ({listed}, valid_from) "
                f"SELECT {listed}, '2025-01-01 00:00:00' FROM {table} "
                f"WHERE {key} NOT IN (SELECT {key} FROM {table}_history)"
            )
        connection.execute("ANALYZE")


def statistic_count(path: str) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM statistic").fetchone()[0]


def to_postgres(path: str, url: str) -> None:
    """Make the PostgreSQL database at `url` a copy of the SQLite one at `path`: the schema
    as the service makes it, every known table's rows by COPY, then the search index rebuilt
    (its tables differ between the backends). Seconds for a million statistics, where the
    service's own import would take many minutes."""
    import psycopg

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        drop_schema()
        create_schema()
        database.close_all()
    tables = [model._meta.table_name for model in known_tables()]
    with sqlite3.connect(path) as source, psycopg.connect(url) as target:
        listed = ", ".join(f'"{table}"' for table in tables)
        target.execute(f"TRUNCATE {listed} CASCADE")
        for table in tables:
            columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in columns)
            with target.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in source.execute(f'SELECT {names} FROM "{table}"'):
                    copy.write_row(row)
            if "id" in columns:  # new rows go after the copied ones
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
                )
    with app.app_context():
        with database.atomic():
            for resource in resources.searchable():
                search.refresh(resource.model)
            stamp.restamp()  # as any write gives it: the service keeps answers under it
        database.execute_sql("ANALYZE")
        database.close_all()


def postgres_count(url: str) -> int | None:
    """The statistics in the PostgreSQL database at `url`, or None where it is missing or
    has another schema than this code's migrations make."""
    import psycopg

    try:
        with psycopg.connect(url) as connection:
            applied = connection.execute(f'SELECT name FROM "{MIGRATE_TABLE}" ORDER BY id')
            if [name for (name,) in applied] != migration_names():
                return None
            return connection.execute("SELECT count(*) FROM statistic").fetchone()[0]
    except psycopg.Error:
        return None


def migration_names() -> list[str]:
    """The migrations this code has, by name, in order."""
    return sorted(file.stem for file in MIGRATIONS.glob("[0-9][0-9][0-9]_*.py"))
