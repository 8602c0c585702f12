"""What the service holds, at a glance: counts, the latest facts, and progress on targets."""

from dataclasses import dataclass
from typing import Any

from peewee import SQL

from models import resources
from models.facts import describe, timeline
from models.progress import Progress, progress
from models.queries import listing
from models.tables import Target


@dataclass
class Overview:
    counts: dict[str, int]  # collection name -> number of records
    latest: list[dict[str, Any]]  # timeline rows, newest first, each with `citation` and `source`
    targets: list[tuple[Target, Progress]]  # the first targets in the API's default order


def overview(facts: int = 5, targets: int = 20) -> Overview:
    """Counts of every collection, the `facts` latest facts, and the first `targets` targets'
    progress."""
    counts = {name: r.model.select().count() for name, r in resources.REGISTRY.items()}
    return Overview(counts, latest_facts(facts), target_progress(targets))


def latest_facts(limit: int) -> list[dict[str, Any]]:
    """The last `limit` facts of the timeline (models.facts), newest first.

    Latest by the date a fact is about (an event's date, a statistic's period end, a
    target's announcement), not by when it was stored: an import of old figures should not
    push the news off the page, and the order is the one GET /v1/facts shows, reversed.
    Besides the one-line `citation`, each row keeps its source's parts as `source`, so that
    its address can be a link.
    """
    # Reversing every key, ties too, makes this exactly the end of /v1/facts, newest first.
    newest_first = (SQL("date").desc(), SQL("type").desc(), SQL("id").desc())
    rows = list(timeline().order_by(*newest_first).limit(limit))
    sources = [
        {part: row[f"source_{part}"] for part in ("publisher", "title", "published_on", "url")}
        for row in rows
    ]
    for row, source in zip(describe(rows), sources, strict=True):
        row["source"] = source
    return rows


def target_progress(limit: int) -> list[tuple[Target, Progress]]:
    """The first `limit` targets, soonest deadline first as GET /v1/targets lists them,
    each with its progress."""
    query, _ = listing(Target, {})
    return [(target, progress(target)) for target in query.limit(limit)]
