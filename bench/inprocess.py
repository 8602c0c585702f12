"""In process: what each hot read costs through Flask's test client, beside a bare Flask app,
and where its time goes, so that the next regression names its cause."""

import cProfile
import os
import pstats
import time
from collections import Counter

from flask import Flask

from api import caching, create_app
from models.db import database

REQUESTS = int(os.environ.get("BENCH_INPROCESS_REQUESTS", "300"))
# Where a function's own time is counted, by the first of these its file's path contains.
AREAS = [
    ("driver", ("sqlite3", "psycopg")),
    ("peewee", ("peewee", "playhouse")),
    ("marshmallow", ("marshmallow",)),
    ("flask-smorest, webargs", ("flask_smorest", "webargs", "apispec")),
    ("flask, werkzeug, jinja", ("flask", "werkzeug", "jinja2", "markupsafe")),
    ("the service: api/", ("/api/",)),
    ("the service: models/", ("/models/",)),
]


def report(url: str, paths: dict[str, str]) -> str:
    """Milliseconds a request of each of `paths` costs on the database at `url`, answered
    again from the cache and read afresh, its ratio to bare Flask's, and the share of each
    area in the time of a fresh read."""
    bare = _bare().test_client()
    base = _per_request(bare, "/v1/statistics/1")
    # As the benchmark serves: no limits in the way, no line logged per request.
    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "warning"})
    client = app.test_client()
    lines = [
        "## Reads in process",
        "",
        f"Flask's test client, {REQUESTS} requests each on SQLite at the smallest size, rate "
        f"limits and request logging off; bare Flask {base:.3f} ms a request. Cached: the "
        "same read again, answered from the cache; fresh: read as after a write, which ends "
        "every cached answer. Own time of a fresh read by area, from cProfile (which slows "
        "everything alike).",
        "",
        "| read | ms cached | bare ÷ cached | ms fresh | bare ÷ fresh | "
        + " | ".join(a for a, _ in AREAS)
        + " | other | the three slowest functions (own time) |",
        "|---|---:|---:|---:|---:|" + "---:|" * (len(AREAS) + 1) + "---|",
    ]
    for name, path in paths.items():
        status = client.get(path).status_code
        cached = _per_request(client, path)
        app.extensions["answers"] = caching.Answers(budget=0)  # none kept: each read afresh
        fresh = _per_request(client, path)
        shares, slowest = _profile(client, path)
        caching.init_app(app)
        label = name if status == 200 else f"{name} (FAILED REQUESTS: status {status})"
        lines.append(
            f"| {label} | {cached:.2f} | {base / cached:.2f} | {fresh:.2f} | {base / fresh:.2f} | "
            + " | ".join(f"{shares[a]:.0%}" for a, _ in AREAS)
            + f" | {shares['other']:.0%} | {slowest} |"
        )
    database.close_all()
    return "\n".join(lines)


def _bare() -> Flask:
    bare = Flask("bare")
    bare.get("/v1/statistics/1")(lambda: {"id": 1, "indicator": "vehicle_exports", "value": 1})
    return bare


def _per_request(client, path: str) -> float:
    client.get(path)
    started = time.perf_counter()
    for _ in range(REQUESTS):
        client.get(path)
    return (time.perf_counter() - started) / REQUESTS * 1000


def _profile(client, path: str) -> tuple[Counter, str]:
    """Each area's share of the requests' own time, and the three slowest functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(REQUESTS):
        client.get(path)
    profiler.disable()
    own: Counter = Counter()
    by_function: Counter = Counter()
    for (file, line, function), (_, _, tottime, _, _) in pstats.Stats(profiler).stats.items():
        own[_area(file, function)] += tottime
        by_function[f"{os.path.basename(file)}:{function}" if line else function] += tottime
    total = sum(own.values()) or 1
    shares = Counter({area: seconds / total for area, seconds in own.items()})
    slowest = ", ".join(
        f"`{name}` {seconds / total:.0%}" for name, seconds in by_function.most_common(3)
    )
    return shares, slowest


def _area(file: str, function: str) -> str:
    # C functions have no file; cProfile names them after their type ("of 'sqlite3.Cursor'").
    where = file if file != "~" else function
    for area, signs in AREAS:
        if any(sign in where for sign in signs):
            return area
    return "other"
