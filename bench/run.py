"""`make bench`: serve 10k- and 1M-statistic databases with gunicorn, load them with wrk, and
print latencies, throughput, the 1M/10k ratios, the ratio to a bare Flask app, and query plans.

Absolute times depend on the machine and its neighbours; the ratios compare runs made
minutes apart on the same machine, which is what they are for.
"""

import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace

from peewee import SQL, fn

from bench import data
from models.db import database
from models.queries import after, listing, order_of
from models.series import observation_query
from models.tables import Statistic

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".bench"
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,1000000").split(",")]
# Each measurement is ROUNDS short wrk runs, alternating between the things compared, so
# that a noisy neighbour slows both sides alike; the table shows the medians.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "2"))
ITEM = "GET /statistics/{id}"
CONNECTIONS = 8
SERVER_ENV = {
    "WEB_CONCURRENCY": "2",
    "GUNICORN_THREADS": "4",
    "ACCESS_LOG": "",
    "LOG_LEVEL": "warning",
}


def scenarios(size: int) -> dict:
    """Scenario name -> (URL path, the SQL the app runs for it, for EXPLAIN)."""
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
    return {
        "filtered list": (
            "/v1/statistics?indicator=indicator_00&region=CN&page_size=20",
            [listed.paginate(1, 20), _count(listed)],
        ),
        "q= search": (
            f"/v1/statistics?q={data.RARE_WORD}&page_size=20",
            [searched.paginate(1, 20), _count(searched)],
        ),
        "series yoy_pct": (
            "/v1/series?indicator=indicator_00&region=CN&segment=seg_total"
            "&frequency=monthly&transform=yoy_pct",
            [observation_query("indicator_00", "CN", "seg_total", frequency="monthly")],
        ),
        "deep keyset page": (
            f"/v1/statistics?cursor={cursor}&page_size=20",
            [keyset.limit(21)],
        ),
        ITEM: (
            f"/v1/statistics/{item}",
            [Statistic.full().where(Statistic.id == item)],
        ),
    }


def _count(query):
    """The COUNT the pagination header needs, as the app runs it."""
    return query.order_by().select_from(fn.COUNT(SQL("1")))


def _encode(row, order) -> str:
    from api.pagination import encode_cursor

    return encode_cursor(SimpleNamespace(period_start=row.period_start, id=row.id), order)


def plan(query) -> list[str]:
    sql, params = query.sql()
    return [row[-1] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]


def wrk(url: str) -> dict:
    script = Path(__file__).with_name("latency.lua")
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


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
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/v1/statistics/1", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def database_for(size: int) -> Path:
    """The synthetic database of `size` statistics, built once and kept in .bench/."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"statistics-{size}.sqlite3"
    if not path.exists() or data.statistic_count(str(path)) != size + 4:
        for stale in DATA.glob(f"{path.name}*"):
            stale.unlink()
        started = time.perf_counter()
        print(f"building {path.name} ...", file=sys.stderr, flush=True)
        data.build(str(path), size)
        print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return path


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
    from api import create_app

    chosen, plans = {}, {}
    for size in SIZES:
        url = f"sqlite:///{database_for(size)}"
        with create_app({"DATABASE_URL": url}).app_context():
            chosen[size] = scenarios(size)
            plans[size] = {name: [plan(q) for q in qs] for name, (_, qs) in chosen[size].items()}
            database.close_all()
    results = {}
    with ExitStack() as servers:
        bases = {
            size: servers.enter_context(
                gunicorn(
                    "api:create_app()",
                    {"DATABASE_URL": f"sqlite:///{DATA}/statistics-{size}.sqlite3"},
                )
            )
            for size in SIZES
        }
        bare = servers.enter_context(gunicorn("bench.bare_app:app", {}))
        for name in chosen[SIZES[0]]:
            urls = {size: bases[size] + chosen[size][name][0] for size in SIZES}
            if name == ITEM:
                urls["bare"] = bare + "/v1/statistics/1"
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results[name] = measure(urls)
    print(report(results, plans))
    return 0


def report(results: dict, plans: dict) -> str:
    small, large = SIZES[0], SIZES[-1]
    lines = [
        f"Machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}; gunicorn 2 workers x 4 threads; wrk {CONNECTIONS} "
        f"connections; medians of {ROUNDS} interleaved {SECONDS}-second runs.",
        "",
        f"| scenario | p50 ms {small:,} | p95 ms {small:,} | req/s {small:,} "
        f"| p50 ms {large:,} | p95 ms {large:,} | req/s {large:,} | p50 ratio | req/s ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by_target in results.items():
        a, b = by_target[small], by_target[large]
        failed = a["errors"] + a["non2xx"] + b["errors"] + b["non2xx"]
        label = f"{name} (FAILED REQUESTS: {failed:.0f})" if failed else name
        lines.append(
            f"| {label} | {a['p50_ms']:.2f} | {a['p95_ms']:.2f} | {a['rps']:.0f} "
            f"| {b['p50_ms']:.2f} | {b['p95_ms']:.2f} | {b['rps']:.0f} "
            f"| {b['p50_ms'] / a['p50_ms']:.2f} | {a['rps'] / b['rps']:.2f} |"
        )
    item, bare = results[ITEM][large], results[ITEM]["bare"]
    lines += [
        "",
        f"p50 ratio = p50 at {large:,} / p50 at {small:,} (goal <= 2); "
        f"req/s ratio = req/s at {small:,} / req/s at {large:,}.",
        "",
        f"GET /v1/statistics/{{id}} at {large:,}: {item['rps']:.0f} req/s; bare Flask returning "
        f"a small JSON object, same gunicorn settings: {bare['rps']:.0f} req/s; "
        f"ratio {item['rps'] / bare['rps']:.2f} (goal >= 0.5).",
        "",
        f"Query plans at {large:,} statistics (EXPLAIN QUERY PLAN; a list runs its page, then "
        "its count):",
        "",
    ]
    for name, queries in plans[large].items():
        lines.append(f"- {name}:")
        for steps in queries:
            lines += [f"    - {step}" for step in steps]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
