"""Everything stored, history included, as NDJSON: one line a row, tables in dependency order."""

import json
from collections.abc import Iterator

from peewee import AutoField, fn

from models import history, search
from models.db import database, is_sqlite
from models.errors import Conflict
from models.schema import KNOWN_TABLES
from models.tables import Revision, Segment, as_text

BATCH = 500


def export_rows() -> Iterator[str]:
    """Each stored row as a JSON line: {"table": ..., "row": {column: value}}."""
    for model in KNOWN_TABLES:
        rows = model.select().order_by(*_order(model)).dicts().iterator()
        if model is Segment:
            rows = _parents_first(list(rows))
        for row in rows:
            yield json.dumps({"table": model._meta.table_name, "row": row}, default=as_text) + "\n"


def import_rows(lines) -> dict[str, int]:
    """Restore an export into an empty database, exactly: ids, versions and times included."""
    models = {model._meta.table_name: model for model in KNOWN_TABLES}
    counts = dict.fromkeys(models, 0)
    copies = {}  # revision id -> the record it held, in a dump made before migration 003
    with database.atomic():
        if any(model.select().exists() for model in KNOWN_TABLES):
            raise Conflict("The database is not empty: restore into an empty one.")
        batch, current = [], None
        for line in lines:
            if not line.strip():
                continue
            item = json.loads(line)
            model = models[item["table"]]
            if model is not current and batch:
                _insert(current, batch)
                batch = []
            current = model
            row = item["row"]
            if model is Revision and "record" in row:
                copies[row["id"]] = row.pop("record")
            batch.append(row)
            counts[item["table"]] += 1
            if len(batch) == BATCH:
                _insert(current, batch)
                batch = []
        if batch:
            _insert(current, batch)
        _restart_sequences()
        _keep_versions_only_revisions_held(copies)
        history.backfill()  # a dump from before history kept none
        for model in search.SEARCHABLE:
            search.refresh(model)
    return counts


def _keep_versions_only_revisions_held(copies: dict) -> None:
    """A dump made before each version was stored once holds some versions only in its
    revisions' copies (those made before history began): they go to history, as migration
    003 moves them."""
    if not copies:
        return
    for start in range(0, len(lost := history.lost_versions()), BATCH):
        ids = lost[start : start + BATCH]
        found = Revision.select().where(Revision.id.in_(ids)).order_by(Revision.id)
        history.keep_versions(
            (r.resource, r.key, r.version, r.change, r.at, copies[r.id]) for r in found
        )


def _parents_first(segments: list[dict]) -> list[dict]:
    """Segments ordered so that each comes after its parent, as its foreign key requires."""
    parent = {row["code"]: row["parent"] for row in segments}

    def depth(code):
        return 0 if parent.get(code) is None else 1 + depth(parent[code])

    return sorted(segments, key=lambda row: (depth(row["code"]), row["code"]))


def _insert(model, rows: list[dict]) -> None:
    model.insert_many(rows).execute()


def _restart_sequences() -> None:
    """Start each table's ids past every id it has used, the deleted records' included (their
    revisions remain): an id names one record for good, in links, ETags and revisions."""
    for model in KNOWN_TABLES:
        pk = model._meta.primary_key
        if not isinstance(pk, AutoField):
            continue
        table = model._meta.table_name
        revised = Revision.select(fn.MAX(Revision.key.cast("INTEGER"))).where(
            Revision.resource == table
        )
        used = max(model.select(fn.MAX(pk)).scalar() or 0, int(revised.scalar() or 0))
        if is_sqlite():
            # AUTOINCREMENT's counter; restored rows have moved it only as far as they go.
            database.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
            database.execute_sql("INSERT INTO sqlite_sequence VALUES (?, ?)", (table, used))
        else:
            database.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{pk.column_name}'), "
                "%s, false)",
                (used + 1,),
            )


def _order(model) -> list:
    pk = model._meta.primary_key
    return [pk] if pk else [getattr(model, name) for name in model._meta.sorted_field_names]
