"""History tables: contiguous versions beside the revisions, backfilled when they are new."""

import sqlite3
from datetime import UTC, datetime

import pytest

from models import history, records
from models.db import database
from models.history import HISTORY
from models.schema import create_schema
from models.search import search_score
from models.tables import Event, EventTopic, Revision, Statistic


def versions(model, key) -> list[dict]:
    table = HISTORY[model]
    column = getattr(table, history.KEYS[model])
    return list(table.select().where(column == key).order_by(table.valid_from).dicts())


def test_each_change_closes_a_version_and_opens_the_next_at_its_revision_instant(app):
    with app.app_context():
        records.update(Statistic, 2, {"value": 1179000}, None)
        records.delete(Statistic, 2, None)
        kept = versions(Statistic, 2)
        revisions = [r.at for r in records.revisions(Statistic, 2)][::-1]
    assert [(v["version"], v["value"]) for v in kept] == [(1, 1178000), (2, 1179000)]
    assert [v["valid_from"] for v in kept] == revisions[:2]
    assert [v["valid_to"] for v in kept] == revisions[1:]


def test_an_events_topics_are_versioned_with_it(app):
    with app.app_context():
        before = datetime.now(UTC).replace(tzinfo=None)
        records.update(Event, 1, {"topics": ["hydrogen"]}, None)
        with history.as_of(before):
            old = sorted(t.topic for t in EventTopic.select())
        now = sorted(t.topic for t in EventTopic.select())
    assert old == ["electric vehicles", "innovative technologies", "smart transportation"]
    assert now == ["hydrogen"]


def test_history_tables_made_for_an_existing_database_start_with_its_rows(app):
    with app.app_context():
        database.drop_tables(history.tables())
        create_schema()
        kept = versions(Statistic, 1)
        updated = Statistic.get_by_id(1).updated_at
        topics = HISTORY[EventTopic].select().count()
    assert [(v["valid_from"], v["valid_to"]) for v in kept] == [(updated, None)]
    assert topics == 3


def test_a_read_of_the_past_leaves_the_present_alone_afterwards(app):
    with app.app_context():
        with history.as_of(datetime(2000, 1, 1)):
            assert Statistic.select().count() == 0
            assert Revision.select().count() == 13  # revisions are not a table's state
            assert records.revisions(Statistic, 1).count() == 0
        assert Statistic.select().count() == 4


DOCUMENTS = [
    "China exported 1.42 million vehicles",
    "New-energy vehicles: battery-electric, plug-in hybrid",
    "Les véhicules électriques de Renault",
    "e_mobility and running costs",
    "Policies announced on 2025-05-10 for 30,000,000 exports",
    "",
]
WORDS = [
    "vehicle",
    "export",
    "exports",
    "running",
    "run",
    "electriques",
    "VEHICULES",
    "e_mobility",
    "mobility e",
    "plug hybrid",
    "2025",
    "30",
    "announce",
    "energy new",
    "costs china",
]


@pytest.mark.parametrize("words", WORDS)
def test_search_score_matches_what_fts5_matches(words):
    # The function searching the past on SQLite must agree with FTS5's porter tokenizer.
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    connection.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(DOCUMENTS))
    terms = " ".join(f'"{word}"' for word in words.split())
    indexed = {row[0] for row in connection.execute("SELECT rowid FROM t WHERE t MATCH ?", [terms])}
    scored = {i for i, body in enumerate(DOCUMENTS) if search_score(body, words)}
    assert scored == indexed
