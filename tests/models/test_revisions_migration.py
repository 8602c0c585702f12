"""One store of history: a database made when revisions kept a copy of each version answers,
once migrated, every revision page, read as of an instant and page of the feed as before."""

import json
import re
from pathlib import Path

import pytest

from api import create_app
from models import dump, history, resources, schema, search
from models.db import database
from tests.conftest import UNLIMITED
from tests.models.revisions_fixture import build

FIXTURE = Path(__file__).with_name("revisions_fixture")
BEFORE = "002_ids_given_once"  # the schema the fixture was made with
ANSWERS = json.loads((FIXTURE / "answers.json").read_text())
# Fields records gained after the fixture was made (005_figures), with the values every
# version from before holds: the answers recorded then did not show them. (A target's own
# `status` is older, and never one of these values.)
LATER = re.compile(
    rb',\s?"(?:precision|lower|upper|rank_reason|precision_basis|range_low|range_high)":'
    rb'\s?(?:null|"(?:stated|inferred)"|[-0-9.]+)'
    rb'|,\s?"rank":\s?"normal"|,\s?"(?:value_)?status":\s?"reported"'
    # And why a stated change was not checked, a field the statistics gained with them.
    rb'|,\s?"change_note":\s?(?:null|"[^"]*")'
)


def _bytes_as_then(body: bytes) -> bytes:
    return LATER.sub(b"", body)


def answer(client, url: str) -> list:
    status, _ = build.answer(client, url)
    if status >= 400:
        return build.answer(client, url)
    return [status, build.digest(_bytes_as_then(client.get(url).data))]


def feed_digests(client) -> list[str]:
    return [build.digest(_bytes_as_then(page)) for page in build.feed(client)]


def load(lines: list[str], leave_out=lambda table, row: False) -> None:
    """Put the fixture's rows into a database at BEFORE's schema, as they were stored."""
    models = {model._meta.table_name: model for model in schema.known_tables()}
    columns: dict[str, set[str]] = {}
    with database.atomic():
        for line in lines:
            item = json.loads(line)
            table, row = item["table"], item["row"]
            if leave_out(table, row):
                continue
            if table == "revision":  # the model no longer has the copy (`record`)
                stored = row
            else:  # only what the table has: peewee would add the defaults of later fields
                stored = _stored(models[table], row, columns)
            names = ", ".join(f'"{column}"' for column in stored)
            marks = ", ".join([database.obj.param] * len(stored))
            database.execute_sql(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(stored.values())
            )
        dump._restart_sequences()
        for resource in resources.searchable():
            search.refresh(resource.model)


def _stored(model, row: dict, columns: dict[str, set[str]]) -> dict:
    """`row` without the fields its table has not had yet (a later migration adds them)."""
    name = model._meta.table_name
    if name not in columns:
        columns[name] = {column.name for column in database.get_columns(name)}
    fields = model._meta.fields
    stored = {fields[f].column_name: fields[f].db_value(value) for f, value in row.items()}
    return {column: value for column, value in stored.items() if column in columns[name]}


def migrated_app(database_url: str, **load_options):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "RATE_LIMIT_ANONYMOUS": UNLIMITED,
            "RATE_LIMIT_KEY": UNLIMITED,
        }
    )
    with app.app_context():
        schema.drop_schema()
        schema.upgrade(BEFORE)
        load((FIXTURE / "rows.ndjson").read_text().splitlines(), **load_options)
        assert schema.upgrade() == ["003_one_store_of_history", "004_data_stamp", "005_figures"]
        assert schema.status()[-1] == ("005_figures", True)
        schema.check()
    return app


def test_migrated_revisions_as_of_reads_and_feed_answer_as_before(database_url):
    app = migrated_app(database_url)
    client = app.test_client()
    with app.app_context():
        assert history.lost_versions() == []
    assert feed_digests(client) == ANSWERS["feed"]
    differ = [url for url in ANSWERS if url != "feed" and answer(client, url) != ANSWERS[url]]
    assert differ == []


def test_versions_kept_only_by_revisions_are_moved_to_history(database_url):
    # A database whose records changed before history began: history holds each record's
    # current version only. Its revisions must read the same records after the migration.
    def before_history(table, row):
        return table.endswith("_history") and row["valid_to"] is not None

    app = migrated_app(database_url, leave_out=before_history)
    client = app.test_client()
    with app.app_context():
        assert history.lost_versions() == []
    revisions = [url for url in ANSWERS if url.endswith("/revisions?page_size=1000")]
    assert len(revisions) > 10
    assert {url: answer(client, url) for url in revisions} == {
        url: ANSWERS[url] for url in revisions
    }


@pytest.mark.parametrize("made_before", [True, False])
def test_a_dump_restores_every_revision(database_url, made_before):
    # A dump of today's schema, or one made before the migration (revisions with copies).
    app = migrated_app(database_url)
    client = app.test_client()
    with app.app_context():
        lines = (FIXTURE / "rows.ndjson").read_text().splitlines() if made_before else None
        lines = lines or list(dump.export_rows())
        if made_before:  # as the oldest dumps: history only of what was current
            lines = [line for line in lines if '"valid_to": null' in line or "_history" not in line]
        schema.drop_schema()
        schema.create_schema()
        dump.import_rows(lines)
        assert history.lost_versions() == []
    revisions = [url for url in ANSWERS if url.endswith("/revisions?page_size=1000")]
    assert {url: answer(client, url) for url in revisions} == {
        url: ANSWERS[url] for url in revisions
    }
    assert feed_digests(client) == ANSWERS["feed"]
