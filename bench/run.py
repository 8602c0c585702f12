"""`make bench`: serve 10k- and 1M-statistic databases with gunicorn, load them with wrk, and
print latencies, throughput, the 1M/10k ratios, the ratio to a bare Flask app, and query plans;
then what history costs: reads of the 1M database with several revisions per statistic against
the same data without them, reads as of a past instant against reads of today, and writes
with their revisions against the same writes without.

Absolute times depend on the machine and its neighbours; the ratios compare runs made
minutes apart on the same machine, which is what they are for.
"""

import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import SimpleNamespace

from peewee import SQL, fn
from peewee_migrate.models import MIGRATE_TABLE

from api import importing
from bench import data, inprocess, load
from models import history, keys, records, search
from models.db import bulk_writing, database, insert_rows, preamble
from models.queries import after, listing, order_of
from models.schema import MIGRATIONS, create_schema, drop_schema
from models.series import observation_query
from models.tables import Revision, Statistic

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".bench"
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,1000000").split(",")]
# Each measurement is ROUNDS short wrk runs, alternating between the things compared, so
# that a noisy neighbour slows both sides alike; the table shows the medians.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "2"))
ITEM = "GET /statistics/{id}"
# Where the databases with history stand: every synthetic statistic at its second version.
AS_OF = "2025-02-15T00:00:00Z"
HISTORY_SCENARIOS = ("filtered list of 20", "series yoy_pct", ITEM)
CONNECTIONS = 8
SERVER_ENV = {
    "WEB_CONCURRENCY": "2",
    "GUNICORN_THREADS": "4",
    "ACCESS_LOG": "",
    "LOG_LEVEL": "warning",
    # Limits stay on, as in production, but high enough that the load is never refused.
    "RATE_LIMIT_ANONYMOUS": "10000000 per minute",
    "RATE_LIMIT_KEY": "10000000 per minute",
}
# The PostgreSQL database the write benchmarks may empty and fill.
BENCH_POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
# PostgreSQL imports a tenth as fast as SQLite: a tenth of the rows keeps the run short.
POSTGRES_IMPORT_ROWS = int(os.environ.get("BENCH_POSTGRES_IMPORT_ROWS", "100000"))
POSTS_PER_WRITER = int(os.environ.get("BENCH_POSTS", "200"))  # POSTs, with and without history
MIXED_REQUESTS = int(os.environ.get("BENCH_MIXED_REQUESTS", "100000"))  # for the memory figure
POSTED_ROWS = int(os.environ.get("BENCH_POSTED_ROWS", "100000"))
# PATCHes per side in each round of the one-client PATCH measurement.
PATCHES = int(os.environ.get("BENCH_PATCHES", "200"))
# Which parts to run: reads at two sizes, history, PATCH with and without history, writes
# under load, and import.
PARTS = os.environ.get("BENCH_PARTS", "reads,inprocess,history,patch,writes,memory,import").split(
    ","
)
# Where the report is written: a run of every part is what bench/RESULTS.md records.
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "RESULTS.md"))


def scenarios(size: int) -> dict:
    """Scenario name -> (URL path, the SQL the app runs for it, for EXPLAIN): every hot read
    path. The paths are the same on both backends, which hold the same rows."""
    filters = {"indicator": ["indicator_00"], "region": ["CN"]}
    listed, _ = listing(Statistic, filters)
    searched, _ = listing(Statistic, {}, q=data.RARE_WORD)
    order = order_of(Statistic, ["period_start"])
    deep = (
        Statistic.select(Statistic.period_start, Statistic.id)
        .order_by(Statistic.period_start, Statistic.id)
        .offset(int(size * 0.9))
        .first()
    )
    cursor = _encode(deep, order)
    keyset = after(listing(Statistic, {})[0], order, [deep.period_start, deep.id])
    item = size // 2
    scoped = "indicator=indicator_00&region=CN"
    return {
        ITEM: (f"/v1/statistics/{item}", [Statistic.full().where(Statistic.id == item)]),
        "filtered list of 20": (
            f"/v1/statistics?{scoped}&page_size=20",
            [listed.paginate(1, 20), _count(listed)],
        ),
        "filtered list of 100": (
            f"/v1/statistics?{scoped}&page_size=100",
            [listed.paginate(1, 100), _count(listed)],
        ),
        "q= search": (
            f"/v1/statistics?q={data.RARE_WORD}&page_size=20",
            [searched.paginate(1, 20), _count(searched)],
        ),
        "series yoy_pct": (
            f"/v1/series?{scoped}&segment=seg_total&frequency=monthly&transform=yoy_pct",
            [observation_query("indicator_00", "CN", "seg_total", frequency="monthly")],
        ),
        "deep keyset page": (
            f"/v1/statistics?cursor={cursor}&page_size=20",
            [keyset.limit(21)],
        ),
        "/v1/facts": ("/v1/facts", []),
        "landing page": ("/", []),
        "reconciliation check": (f"/v1/checks/reconciliation?{scoped}", []),
        "conflicts check": (f"/v1/checks/conflicts?{scoped}", []),
        "target progress": ("/v1/targets/2/progress", []),
    }


def _count(query):
    """The COUNT the pagination header needs, as the app runs it."""
    return query.order_by().select_from(fn.COUNT(SQL("1")))


def _encode(row, order) -> str:
    from api.pagination import encode_cursor

    return encode_cursor(SimpleNamespace(period_start=row.period_start, id=row.id), order)


def plan(query) -> list[str]:
    sql, params = query.sql()
    if preamble.get():  # as the app runs it when reading the past
        sql, params = preamble.get()[0] + sql, preamble.get()[1] + params
    return [row[-1] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]


def wrk(url: str, script: str = "latency.lua", env: dict | None = None) -> dict:
    env = env or {}
    if isinstance(url, tuple):  # (base URL, the last id to PATCH, a write key): a write
        url, last, key = url
        script, env = "write.lua", {"BENCH_LAST_ID": str(last), "BENCH_KEY": key}
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
        env=os.environ | env,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


class Server(str):
    """A served app's base URL, which also knows its gunicorn master's process id."""

    pid: int


@contextmanager
def gunicorn(app: str, env: dict):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app],
        env=os.environ | SERVER_ENV | env | {"PORT": str(port)},
        cwd=ROOT,
    )
    base = Server(f"http://127.0.0.1:{port}")
    base.pid = process.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start ({env})") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def bare_flask():
    """The baseline, under the service's own gunicorn settings. Those check the service's
    database before they start anything, so it is given one, which it never opens."""
    return gunicorn("bench.bare_app:app", {"DATABASE_URL": f"sqlite:///{database_for(SIZES[0])}"})


def database_for(size: int, with_history: bool = False) -> Path:
    """The synthetic database of `size` statistics, built once and kept in .bench/; with
    history, a copy of it in which each statistic has several versions and revisions."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"statistics-{size}{'-history' if with_history else ''}.sqlite3"
    if (
        not path.exists()
        or not up_to_date(path)
        or data.statistic_count(str(path)) != size + data.SEED_STATISTICS
    ):
        for stale in DATA.glob(f"{path.name}*"):
            stale.unlink()
        started = time.perf_counter()
        print(f"building {path.name} ...", file=sys.stderr, flush=True)
        if with_history:
            shutil.copy(database_for(size), path)
            data.add_history(str(path))
        else:
            data.build(str(path), size)
        print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return path


def up_to_date(path: Path) -> bool:
    """Whether a cached database has had exactly the code's migrations: one built by an
    older version has another schema, which the service refuses, so it is built again."""
    known = sorted(file.stem for file in MIGRATIONS.glob("[0-9][0-9][0-9]_*.py"))
    try:
        with sqlite3.connect(path) as connection:
            applied = connection.execute(f'SELECT name FROM "{MIGRATE_TABLE}" ORDER BY id')
            return [name for (name,) in applied] == known
    except sqlite3.Error:
        return False


def served(path: Path, app: str = "api:create_app()"):
    return gunicorn(app, {"DATABASE_URL": f"sqlite:///{path}"})


def measure(urls: dict) -> dict:
    """Median wrk figures per URL, from ROUNDS interleaved runs after one warm-up each."""
    for url in urls.values():
        wrk(url)
    runs = {key: [] for key in urls}
    for _ in range(ROUNDS):
        for key, url in urls.items():
            runs[key].append(wrk(url))
    return {
        key: {
            metric: statistics.median(run[metric] for run in results)
            for metric in ("p50_ms", "p95_ms", "rps", "errors", "non2xx")
        }
        for key, results in runs.items()
    }


def main() -> int:
    if shutil.which("wrk") is None:
        print("make bench needs wrk: sudo apt-get install wrk", file=sys.stderr)
        return 1
    chosen, plans = {}, {}
    # Only the reads need every size's database; the PATCH part needs the smallest alone.
    if {"reads", "inprocess", "history", "memory"} & set(PARTS):
        for size in SIZES:
            with create_app_for(database_for(size)):
                chosen[size] = scenarios(size)
                plans[size] = {n: [plan(q) for q in qs] for n, (_, qs) in chosen[size].items()}
    sections = [header()]
    if "reads" in PARTS:
        sections.append(reads_report(chosen, plans))
    if "inprocess" in PARTS:
        print("measuring in process ...", file=sys.stderr, flush=True)
        paths = {name: path for name, (path, _) in chosen[SIZES[0]].items()}
        sections.append(inprocess.report(f"sqlite:///{database_for(SIZES[0])}", paths))
    if "history" in PARTS:
        sections.append(history_report(*measure_history(chosen[SIZES[-1]])))
    if "patch" in PARTS:
        sections.append(patch_report(measure_patch()))
    if "writes" in PARTS:
        sections.append(writes_report(measure_writes()))
    if "memory" in PARTS:
        sections.append(memory_report(measure_memory(chosen[SIZES[0]])))
    if "import" in PARTS:
        sections.append(import_report(measure_import()))
    written = "\n\n".join(sections) + "\n"
    RESULTS.write_text(written)
    print(written)
    print(f"written to {RESULTS}", file=sys.stderr)
    # A benchmark whose requests fail measures nothing: it is broken, whatever its timings.
    return 1 if "FAILED" in written else 0


def header() -> str:
    """Where and when these figures were measured, and with which settings."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `make bench` (bench/run.py); edit the benchmark, not this file.",
            "",
            f"- When: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- Commit: {commit or 'unknown (not a git checkout)'}",
            f"- Machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, "
            f"{memory:.0f} GiB, load {os.getloadavg()[0]:.1f} at the start; "
            f"{platform.system()} {platform.release()}",
            f"- Software: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"PostgreSQL {_postgres_version()}, {_wrk_version()}",
            f"- Settings: sizes {', '.join(f'{n:,}' for n in SIZES)}; parts {', '.join(PARTS)}; "
            f"{ROUNDS} rounds of {SECONDS} s; import of {IMPORT_ROWS:,} rows",
            "",
            "Absolute figures drift with the machine and its neighbours; each ratio compares "
            "things measured in the same minutes, interleaved, which is what it is for.",
        ]
    )


def _postgres_version() -> str:
    import psycopg

    try:
        with psycopg.connect(BENCH_POSTGRES.rsplit("/", 1)[0] + "/postgres") as connection:
            return connection.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "unreachable"


def _wrk_version() -> str:
    shown = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (shown.stdout + shown.stderr).split(" [")[0].strip() or "wrk"


def reads_report(chosen: dict, plans: dict) -> str:
    """Each read at every size on both backends, interleaved with a bare Flask app."""
    results = {}
    with ExitStack() as servers:
        bases = {
            (backend, size): servers.enter_context(
                gunicorn("api:create_app()", {"DATABASE_URL": url})
            )
            for size in SIZES
            for backend, url in databases(size).items()
        }
        bare = servers.enter_context(bare_flask())
        for name in chosen[SIZES[0]]:
            urls = {place: base + chosen[place[1]][name][0] for place, base in bases.items()}
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results[name] = measure(urls | {"bare": bare + "/v1/statistics/1"})
    return report(results, plans)


def databases(size: int) -> dict[str, str]:
    """Backend -> the URL of its synthetic database of `size` statistics."""
    return {"SQLite": f"sqlite:///{database_for(size)}", "PostgreSQL": postgres_for(size)}


def postgres_for(size: int) -> str:
    """A PostgreSQL copy of the SQLite database of `size` statistics, made once and kept."""
    url = f"{BENCH_POSTGRES.rsplit('/', 1)[0]}/bench_{size}"
    _create_postgres_database(url)
    if data.postgres_count(url) != size + data.SEED_STATISTICS:
        started = time.perf_counter()
        print(f"copying {size:,} statistics to PostgreSQL ...", file=sys.stderr, flush=True)
        data.to_postgres(str(database_for(size)), url)
        print(f"  copied in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return url


def fresh_database(url: str) -> str:
    """`url`'s database emptied, with the seed and a write key; returns the key."""
    from service.seed import load_seed

    if url.startswith("postgresql"):
        _create_postgres_database(url)
    with create_app_for_url(url):
        drop_schema()
        create_schema()
        load_seed()
        return keys.create("bench", "write")[1]


def _create_postgres_database(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def measure_writes() -> dict:
    """Concurrent writers and contended updates, on SQLite and on PostgreSQL, 4 workers; then
    POSTs by 8 writers with history against the same service without it, alternated."""
    results = {}
    for backend, url in (
        ("SQLite", f"sqlite:///{DATA}/load.sqlite3"),
        ("PostgreSQL", BENCH_POSTGRES),
    ):
        print(f"measuring writes under load on {backend} ...", file=sys.stderr, flush=True)
        key = fresh_database(url)
        env = {"DATABASE_URL": url, "WEB_CONCURRENCY": "4"}
        with gunicorn("api:create_app()", env) as base:
            results[backend] = (
                load.concurrent_writers(base, key),
                load.contended_updates(base, key),
            )
    print("measuring POSTs with and without history ...", file=sys.stderr, flush=True)
    posts: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(ROUNDS):
        for kind, app in (("without", "bench.without_history:app"), ("with", "api:create_app()")):
            url = f"sqlite:///{DATA}/posts.sqlite3"
            key = fresh_database(url)
            with gunicorn(app, {"DATABASE_URL": url}) as base:
                written = load.concurrent_writers(base, key, POSTS_PER_WRITER)
            posts[kind].append(written["per_second"])
    results["posts"] = {kind: statistics.median(runs) for kind, runs in posts.items()}
    return results


def measure_memory(chosen: dict) -> list[tuple[int, list[float], list[float]]]:
    """The workers' memory while MIXED_REQUESTS reads of every hot path go through one
    server: (requests so far, each worker's RSS in MB, each worker's peak RSS in MB) after
    each stretch of load."""
    paths = " ".join(path for path, _ in chosen.values())
    print(f"measuring memory over {MIXED_REQUESTS:,} requests ...", file=sys.stderr, flush=True)
    points, done = [], 0
    with gunicorn(
        "api:create_app()", {"DATABASE_URL": f"sqlite:///{database_for(SIZES[0])}"}
    ) as base:
        while done < MIXED_REQUESTS:
            done += wrk(base, "mixed.lua", {"BENCH_PATHS": paths})["requests"]
            workers = _children(base.pid)
            points.append(
                (
                    done,
                    [_memory(w, "VmRSS") for w in workers],
                    [_memory(w, "VmHWM") for w in workers],
                )
            )
    return points


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        return [int(child) for child in listed.read().split()]


def _memory(pid: int, field: str) -> float:
    """A field of /proc/<pid>/status, such as VmRSS (resident now) or VmHWM (its peak), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_report(points: list[tuple[int, list[float], list[float]]]) -> str:
    first, last = points[0], points[-1]
    peak = max(max(peaks) for _, _, peaks in points)
    lines = [
        "## Memory",
        "",
        f"One server (2 workers x 4 threads, SQLite at {SIZES[0]:,} statistics) "
        f"answering {last[0]:,} reads, every hot path in turn, {CONNECTIONS} connections.",
        "",
        "| requests so far | each worker's RSS, MB |",
        "|---:|---|",
    ]
    step = max(1, len(points) // 10)  # ten rows or so, and always the last
    shown = points[-1::-step][::-1]
    lines += [f"| {done:,} | {', '.join(f'{mb:.0f}' for mb in rss)} |" for done, rss, _ in shown]
    growth = max(b - a for a, b in zip(first[1], last[1], strict=False))
    lines += [
        "",
        f"Peak RSS of a worker: {peak:.0f} MB (goal < 150); the most a worker grew from the "
        f"first {first[0]:,} requests to the last: {growth:+.0f} MB.",
    ]
    return "\n".join(lines)


def measure_import() -> dict:
    """`industry-facts import` of IMPORT_ROWS CSV rows against sqlite3's executemany of the
    same rows, each into a fresh database, and the import's peak memory."""
    months = (
        ("vehicle_exports", region, "total", f"{year}-{month:02}", str(year + month), "1")
        for region in data.REGIONS
        for year in range(1000, 9999)
        for month in range(1, 13)
    )
    rows = list(islice(months, IMPORT_ROWS))
    csv_path = DATA / "import.csv"
    with open(csv_path, "w") as file:
        file.write("indicator,region,segment,period,value,source_id\n")
        file.writelines(",".join(row) + "\n" for row in rows)
    raw = DATA / "import-raw.sqlite3"
    fresh_database(f"sqlite:///{raw}")
    started = time.perf_counter()
    with sqlite3.connect(raw) as connection:
        connection.executemany(
            "INSERT INTO statistic (indicator_id, region, segment_id, period_start, period_end, "
            "frequency, value, source_id, version, created_at, updated_at, status, rank) "
            "VALUES (?, ?, ?, ?, ?, 'monthly', ?, ?, 1, '2025-01-01', '2025-01-01', "
            "'reported', 'normal')",
            [(i, r, s, f"{m}-01", f"{m}-28", v, src) for i, r, s, m, v, src in rows],
        )
    executemany = time.perf_counter() - started
    floor = DATA / "import-floor.sqlite3"
    fresh_database(f"sqlite:///{floor}")
    with create_app_for(floor):
        sql_only = import_floor(rows)
    imported = DATA / "import.sqlite3"
    fresh_database(f"sqlite:///{imported}")
    print(f"measuring an import of {len(rows):,} rows ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    # Run in a child of a child, so that the peak memory measured is the import's alone.
    measured = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
            str(Path(sys.executable).parent / "industry-facts"),
            "import",
            str(csv_path),
        ],
        env=os.environ | {"DATABASE_URL": f"sqlite:///{imported}"},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    posted = DATA / "posted.sqlite3"
    key = fresh_database(f"sqlite:///{posted}")
    body = "indicator,region,segment,period,value,source_id\n" + "".join(
        ",".join(row) + "\n" for row in rows[:POSTED_ROWS]
    )
    print(f"measuring a POST of {POSTED_ROWS:,} rows ...", file=sys.stderr, flush=True)
    # One request that takes longer than gunicorn's default 30-second timeout allows.
    env = {"DATABASE_URL": f"sqlite:///{posted}", "GUNICORN_TIMEOUT": "600"}
    with gunicorn("api:create_app()", env) as base:
        client = load.Client(base, key)
        client.headers["Content-Type"] = "text/csv"
        client.connection.timeout = 600
        started = time.perf_counter()
        client.connection.request("POST", "/v1/import", body.encode(), client.headers)
        response = client.connection.getresponse()
        response.read()
        post = {"status": response.status, "seconds": time.perf_counter() - started}
    postgres = measure_postgres_import(rows[:POSTGRES_IMPORT_ROWS])
    for path in (csv_path, raw, floor, imported, posted):
        for stale in DATA.glob(f"{path.name}*"):
            stale.unlink()
    return {
        "postgres": postgres,
        "rows": len(rows),
        "executemany": executemany,
        "floor": sql_only,
        "import": seconds,
        "peak_mb": int(measured.stdout.strip()) / 1024,
        "post": post,
    }


def measure_postgres_import(rows: list[tuple]) -> dict:
    """`industry-facts import` of `rows` on PostgreSQL against psycopg's executemany of the
    same rows into the statistic table, each into a fresh database."""
    import psycopg

    csv_path = DATA / "import-postgres.csv"
    with open(csv_path, "w") as file:
        file.write("indicator,region,segment,period,value,source_id\n")
        file.writelines(",".join(row) + "\n" for row in rows)
    fresh_database(BENCH_POSTGRES)
    values = [(i, r, s, f"{m}-01", f"{m}-28", v, src) for i, r, s, m, v, src in rows]
    with psycopg.connect(BENCH_POSTGRES) as connection:
        started = time.perf_counter()
        connection.cursor().executemany(
            "INSERT INTO statistic (indicator_id, region, segment_id, period_start, period_end, "
            "frequency, value, source_id, version, created_at, updated_at, status, rank) "
            "VALUES (%s, %s, %s, %s, %s, 'monthly', %s, %s, 1, now(), now(), 'reported', "
            "'normal')",
            values,
        )
        connection.commit()
        executemany = time.perf_counter() - started
    fresh_database(BENCH_POSTGRES)
    print(f"measuring an import of {len(rows):,} rows on PostgreSQL ...", file=sys.stderr)
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "industry-facts"), "import", str(csv_path)],
        env=os.environ | {"DATABASE_URL": BENCH_POSTGRES},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    seconds = time.perf_counter() - started
    csv_path.unlink()
    return {"rows": len(rows), "executemany": executemany, "import": seconds}


def import_floor(rows: list[tuple]) -> float:
    """Seconds for the statements an import of `rows` runs, with as little Python as can be:
    the rows, their revisions, history and search documents, stored
    as the importer stores them, without reading, checking or converting anything. What no
    import of this design can beat."""
    stamp = "2025-01-01 00:00:00"
    values = [
        (i, r, s, f"{m}-01", f"{m}-28", "monthly", v, src, "reported", "normal")
        for i, r, s, m, v, src in rows
    ]
    fields = [Statistic.indicator, Statistic.region, Statistic.segment, Statistic.period_start]
    fields += [Statistic.period_end, Statistic.frequency, Statistic.value, Statistic.source]
    fields += [Statistic.status, Statistic.rank]
    started = time.perf_counter()
    with bulk_writing(), database.atomic():
        for start in range(0, len(values), importing.CHUNK):
            chunk = slice(start, start + importing.CHUNK)
            ids = insert_rows(Statistic, fields, values[chunk], returning=Statistic.id)
            revisions = [("statistic", str(key), 1, "create", stamp, "bench") for key in ids]
            insert_rows(Revision, records.REVISION_FIELDS, revisions)
            history.keep(Statistic, ids, datetime.fromisoformat(stamp), "create")
            search.index_records(Statistic, ids)
    return time.perf_counter() - started


def measure_history(chosen: dict) -> tuple[dict, dict, dict]:
    """Reads with history against reads without it, and reads as of AS_OF against today's,
    each pair measured interleaved; and the plans of the reads as of AS_OF."""
    large = SIZES[-1]
    path = database_for(large, with_history=True)
    with create_app_for(path):
        with history.as_of(datetime.fromisoformat(AS_OF)):
            plans = {name: [plan(q) for q in chosen[name][1]] for name in HISTORY_SCENARIOS}
    reads, past = {}, {}
    with served(database_for(large)) as plain, served(path) as kept:
        for name in HISTORY_SCENARIOS:
            print(f"measuring {name} with history ...", file=sys.stderr, flush=True)
            url = chosen[name][0]
            reads[name] = measure({"without": plain + url, "with": kept + url})
            joiner = "&" if "?" in url else "?"
            past[name] = measure(
                {"today": kept + url, "as of": f"{kept}{url}{joiner}as_of={AS_OF}"}
            )
    return reads, past, plans


def measure_patch() -> dict:
    """PATCH /v1/statistics/{id} with history against the same service with its revision and
    history writes switched off, each on a fresh copy of the smallest database with history:
    one client sending PATCHes one after another on both backends, then wrk's CONNECTIONS
    connections on SQLite."""
    small = SIZES[0]
    source = database_for(small, with_history=True)
    last = small + data.SEED_STATISTICS
    results = {}
    for backend in ("SQLite", "PostgreSQL"):
        print(f"measuring PATCH with and without history on {backend} ...", file=sys.stderr)
        urls, key = {}, {}
        for kind in ("without", "with"):
            urls[kind] = _patch_copy(source, backend, kind)
            with create_app_for_url(urls[kind]):
                create_schema()  # a database cached from an older version may lack a table
                key[kind] = keys.create("bench", "write")[1]
        with (
            gunicorn("bench.without_history:app", {"DATABASE_URL": urls["without"]}) as bare,
            gunicorn("api:create_app()", {"DATABASE_URL": urls["with"]}) as kept,
        ):
            bases = {"without": bare, "with": kept}
            results[backend] = one_client(bases, key, last)
            if backend == "SQLite":
                results["wrk"] = measure({k: (base, last, key[k]) for k, base in bases.items()})
        for copy in (DATA / f"patch-{kind}.sqlite3" for kind in urls):
            for stale in DATA.glob(f"{copy.name}*"):
                stale.unlink()
    return results


def _patch_copy(source: Path, backend: str, kind: str) -> str:
    """The URL of a fresh copy of the SQLite database at `source` on `backend`."""
    if backend == "SQLite":
        copy = DATA / f"patch-{kind}.sqlite3"
        for stale in DATA.glob(f"{copy.name}*"):
            stale.unlink()
        # SQLite's backup, not a copy of the file: a copy would miss what the write-ahead
        # log still holds.
        with sqlite3.connect(source) as original, sqlite3.connect(copy) as target:
            original.backup(target)
        return f"sqlite:///{copy}"
    url = f"{BENCH_POSTGRES.rsplit('/', 1)[0]}/bench_patch_{kind}"
    _create_postgres_database(url)
    data.to_postgres(str(source), url)
    return url


def one_client(bases: dict[str, Server], key: dict[str, str], last: int) -> dict:
    """One client, one keep-alive connection per server, sending PATCHes one after another,
    so that none waits behind another: ROUNDS rounds of PATCHES pairs, a pair being the same
    PATCH sent to each server in turn, the first of each pair alternating, so that both meet
    the same load from neighbours. Each server's median over the rounds of a round's p50 and
    mean latency and of the CPU time its processes spent per PATCH, and its failed requests."""
    clients = {kind: load.Client(base, key[kind]) for kind, base in bases.items()}
    chooser = random.Random(0)  # the same statistics in every run
    kinds = list(clients)
    failures = dict.fromkeys(kinds, 0)

    def pairs(count: int) -> dict[str, list[float]]:
        seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
        for n in range(count):
            path = f"/v1/statistics/{chooser.randint(data.SEED_STATISTICS + 1, last)}"
            body = {"quote": f"revised {chooser.randrange(1_000_000)}"}  # its search text too
            for kind in kinds[:: 1 if n % 2 == 0 else -1]:
                started = time.perf_counter()
                status, _, _ = clients[kind].call("PATCH", path, body, **{"If-Match": "*"})
                seconds[kind].append(time.perf_counter() - started)
                failures[kind] += status != 200
        return seconds

    pairs(max(1, PATCHES // 10))  # warm-up: connections, caches, prepared statements
    p50s, means, cpus = ({kind: [] for kind in kinds} for _ in range(3))
    for _ in range(ROUNDS):
        spent = {kind: _cpu_seconds(bases[kind].pid) for kind in kinds}
        for kind, seconds in pairs(PATCHES).items():
            p50s[kind].append(statistics.median(seconds) * 1000)
            means[kind].append(statistics.fmean(seconds) * 1000)
            cpus[kind].append((_cpu_seconds(bases[kind].pid) - spent[kind]) / PATCHES * 1000)
    return {
        kind: {
            "p50_ms": statistics.median(p50s[kind]),
            "mean_ms": statistics.median(means[kind]),
            "cpu_ms": statistics.median(cpus[kind]),
            "failed": failures[kind],
        }
        for kind in kinds
    }


def _cpu_seconds(pid: int) -> float:
    """The CPU time, user and system, spent so far by a gunicorn master and its workers."""
    ticks = 0
    for process in (pid, *_children(pid)):
        with open(f"/proc/{process}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # after the command's name
        ticks += int(fields[11]) + int(fields[12])  # utime and stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def create_app_for(path: Path):
    return create_app_for_url(f"sqlite:///{path}")


@contextmanager
def create_app_for_url(url: str):
    from api import create_app

    with create_app({"DATABASE_URL": url}).app_context():
        yield
        database.close_all()


def _ratio(numerator: float, denominator: float) -> str:
    """numerator ÷ denominator to two places; a dash where the denominator is a read that
    answered no request within wrk's timeout, which the table must show rather than end on."""
    return f"{numerator / denominator:.2f}" if denominator else "–"


def report(results: dict, plans: dict) -> str:
    small, large = SIZES[0], SIZES[-1]
    lines = [
        "## Reads",
        "",
        f"gunicorn 2 workers x 4 threads per server; wrk {CONNECTIONS} connections; "
        f"medians of {ROUNDS} interleaved {SECONDS}-second runs of each read on both backends "
        f"at {small:,} and {large:,} statistics and of a bare Flask app returning a small JSON "
        "object under the same settings.",
        "",
        f"| read | ÷ bare, SQLite | ÷ bare, PostgreSQL | p50 {large:,} ÷ {small:,}, SQLite "
        f"| p50 {large:,} ÷ {small:,}, PostgreSQL | PostgreSQL ÷ SQLite |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, by_place in results.items():
        rps = {place: figures["rps"] for place, figures in by_place.items()}
        lite, pg = (by_place[(backend, large)] for backend in ("SQLite", "PostgreSQL"))
        growth = [
            _ratio(by_place[(backend, large)]["p50_ms"], by_place[(backend, small)]["p50_ms"])
            for backend in ("SQLite", "PostgreSQL")
        ]
        lines.append(
            f"| {_label(name, *by_place.values())} | {_ratio(lite['rps'], rps['bare'])} "
            f"| {_ratio(pg['rps'], rps['bare'])} | {growth[0]} | {growth[1]} "
            f"| {_ratio(pg['rps'], lite['rps'])} |"
        )
    lines += [
        "",
        f"÷ bare = requests per second at {large:,} statistics ÷ the bare app's in the same "
        "rounds (goals: item >= 0.5, list of 20 >= 0.35, series >= 0.3, facts and landing "
        f"page >= 0.25); p50 {large:,} ÷ {small:,} (goal <= 1.5); PostgreSQL ÷ SQLite = "
        f"requests per second at {large:,} (goal >= 0.7).",
        "",
        "| read | backend | statistics | p50 ms | p95 ms | req/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, by_place in results.items():
        for place, figures in by_place.items():
            where = "bare Flask | " if place == "bare" else f"{place[0]} | {place[1]:,}"
            lines.append(
                f"| {name} | {where} | {figures['p50_ms']:.2f} | {figures['p95_ms']:.2f} "
                f"| {figures['rps']:.0f} |"
            )
    lines += [
        "",
        f"Query plans on SQLite at {large:,} statistics (EXPLAIN QUERY PLAN; a list runs its "
        "page, then its count):",
        "",
    ]
    for name, queries in plans[large].items():
        if queries:
            lines.append(f"- {name}:")
        for steps in queries:
            lines += [f"    - {step}" for step in steps]
    return "\n".join(lines)


def history_report(reads: dict, past: dict, plans: dict) -> str:
    large = SIZES[-1]
    lines = [
        "## History",
        "",
        f"History at {large:,} statistics: the same data without history, and with "
        f"{data.REVISIONS} versions and revisions of every statistic.",
        "",
        "| scenario | p50 ms without | p50 ms with | req/s without | req/s with | p50 ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += _pairs(reads, "without", "with")
    lines += [
        "",
        "p50 ratio = p50 with history / p50 without (goal <= 1.10).",
        "",
        f"Reads as of {AS_OF} (each statistic's second version) against today's, both on "
        "the database with history:",
        "",
        "| scenario | p50 ms today | p50 ms as of | req/s today | req/s as of | p50 ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += _pairs(past, "today", "as of")
    lines += ["", f"Query plans as of {AS_OF} at {large:,} statistics:", ""]
    for name, queries in plans.items():
        lines.append(f"- {name}:")
        for steps in queries:
            lines += [f"    - {step}" for step in steps]
    return "\n".join(lines)


def patch_report(patched: dict) -> str:
    small = SIZES[0]
    lines = [
        "## PATCH with and without history",
        "",
        f"`PATCH /v1/statistics/{{id}}` giving a random synthetic statistic a new quote (so its "
        f"search document changes too), with `If-Match: *`. Each server writes to its own fresh "
        f"copy of the {small:,}-statistic database with history, served by gunicorn (2 workers "
        "x 4 threads); without = the same service with its revision and history writes "
        "switched off (bench/without_history.py).",
        "",
        "One client: a single keep-alive connection to each server, sending each PATCH when "
        "the one before is answered, so that no PATCH waits for another and the figures are "
        "the cost of one PATCH. Latency as the client sees it, from sending the request to "
        f"reading the whole answer. {ROUNDS} rounds of {PATCHES} pairs after a warm-up; a "
        "pair is the same PATCH sent to one server, then to the other, which goes first "
        "alternating from pair to pair, so that both meet the same load from neighbours. The "
        "figures are the medians over the rounds of each round's p50 and mean, and of the CPU "
        "time, user and system, that the server's processes spent per PATCH (the service's "
        "own work, with SQLite's; not PostgreSQL's): the steadiest figure on a busy machine, "
        "where latency also holds waits for the disk and for other processes.",
        "",
        "| backend | p50 ms without | p50 ms with | mean ms without | mean ms with "
        "| p50 ratio | mean ratio | CPU ms without | CPU ms with | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in ("SQLite", "PostgreSQL"):
        a, b = patched[backend]["without"], patched[backend]["with"]
        failed = a["failed"] + b["failed"]
        label = f"{backend} (FAILED REQUESTS: {failed})" if failed else backend
        lines.append(
            f"| {label} | {a['p50_ms']:.2f} | {b['p50_ms']:.2f} | {a['mean_ms']:.2f} "
            f"| {b['mean_ms']:.2f} | {b['p50_ms'] / a['p50_ms']:.2f} "
            f"| {b['mean_ms'] / a['mean_ms']:.2f} | {a['cpu_ms']:.2f} | {b['cpu_ms']:.2f} "
            f"| {b['cpu_ms'] / a['cpu_ms']:.2f} |"
        )
    lines += [
        "",
        "ratio = with history / without (goal: PATCH with history <= 1.3 x the same PATCH "
        "without).",
        "",
        f"For the record, under load: wrk with {CONNECTIONS} connections, PATCHes as above to "
        f"both servers on SQLite, medians of {ROUNDS} alternated {SECONDS}-second runs. Writes "
        "take turns for their whole transaction, so most of this p50 is time spent waiting "
        "behind the other connections' writes, which multiplies any difference in the cost "
        "of one write:",
        "",
        "| scenario | p50 ms without | p50 ms with | req/s without | req/s with | p50 ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += _pairs(
        {f"PATCH /statistics/{{id}}, {CONNECTIONS} connections": patched["wrk"]}, "without", "with"
    )
    return "\n".join(lines)


def writes_report(writes: dict) -> str:
    posts = writes.pop("posts")
    lines = [
        "## Writes",
        "",
        f"Writes under load: gunicorn with 4 workers x 4 threads; {load.WRITERS} writers each "
        f"POSTing {load.WRITES} new statistics over keep-alive connections; then "
        f"{load.WRITERS} clients each reading statistic 1 and PATCHing it with its ETag, "
        f"{load.UPDATES} times.",
        "",
        "| backend | writes/s | statuses | stored | distinct | update statuses | no update lost |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for backend, (written, updated) in writes.items():
        lines.append(
            f"| {backend} | {written['per_second']:.0f} | {written['statuses']} "
            f"| {written['stored']} | {written['distinct']} | {updated['statuses']} "
            f"| {updated['no_update_lost']} (version {updated['version']}) |"
        )
    lines += [
        "",
        f"POST /v1/statistics by {load.WRITERS} writers, {POSTS_PER_WRITER} each, on SQLite "
        f"(2 workers x 4 threads), medians of {ROUNDS} alternated runs on fresh databases: "
        f"{posts['with']:.0f} writes/s with history, {posts['without']:.0f} without "
        f"(bench/without_history.py); ratio {posts['with'] / posts['without']:.2f} (goal >= 0.6).",
    ]
    return "\n".join(lines)


def import_report(imported: dict) -> str:
    ratio = imported["executemany"] / imported["import"]
    floor = imported["executemany"] / imported["floor"]
    pg = imported["postgres"]
    lines = [
        "## Import",
        "",
        f"Import of {imported['rows']:,} CSV rows with `industry-facts import` on SQLite: "
        f"{imported['import']:.1f} s ({imported['rows'] / imported['import']:.0f} rows/s), "
        f"peak memory {imported['peak_mb']:.0f} MB; sqlite3 executemany of the same rows: "
        f"{imported['executemany']:.2f} s; ratio {ratio:.3f} (goal >= 0.25).",
        "",
        f"The import's statements alone (rows, revisions, history, search; no parsing or "
        f"checks): {imported['floor']:.1f} s; ratio to executemany {floor:.3f}, the most this "
        "design could reach.",
        "",
        f"POST /v1/import of {POSTED_ROWS:,} CSV rows in one request (gunicorn, SQLite): "
        f"{imported['post']['status']} in {imported['post']['seconds']:.1f} s "
        f"({POSTED_ROWS / imported['post']['seconds']:.0f} rows/s).",
        "",
        f"Import of {pg['rows']:,} CSV rows with `industry-facts import` on PostgreSQL: "
        f"{pg['import']:.1f} s ({pg['rows'] / pg['import']:.0f} rows/s); psycopg executemany "
        f"of the same rows into the statistic table: {pg['executemany']:.2f} s; ratio "
        f"{pg['executemany'] / pg['import']:.3f} (goal >= 0.25).",
    ]
    return "\n".join(lines)


def _label(name: str, *measured: dict) -> str:
    """A scenario's name, flagged when any of its requests failed."""
    failed = sum(m["errors"] + m["non2xx"] for m in measured)
    return f"{name} (FAILED REQUESTS: {failed:.0f})" if failed else name


def _pairs(results: dict, before: str, after: str) -> list[str]:
    lines = []
    for name, by_side in results.items():
        a, b = by_side[before], by_side[after]
        lines.append(
            f"| {_label(name, a, b)} | {a['p50_ms']:.2f} | {b['p50_ms']:.2f} | {a['rps']:.0f} "
            f"| {b['rps']:.0f} | {b['p50_ms'] / a['p50_ms']:.2f} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
