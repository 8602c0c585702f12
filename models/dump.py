"""Everything stored, history included, as NDJSON: one line a row, tables in dependency order."""

import json
from collections.abc import Iterable, Iterator
from typing import Any, cast

from peewee import AutoField, Field, Model, fn

from models import history, resources, search, stamp
from models.db import database, is_sqlite
from models.errors import Conflict
from models.schema import known_tables
from models.tables import Revision, as_text

BATCH = 500


def export_rows() -> Iterator[str]:
    """Each stored row as a JSON line: {"table": ..., "row": {column: value}}."""
    for model in known_tables():
        rows: Iterable[dict[str, Any]] = model.select().order_by(*_order(model)).dicts().iterator()
        above = [fk.name for fk in model._meta.refs if fk.rel_model is model]
        if above:
            key = cast(Field, model._meta.primary_key).name
            rows = _parents_first(list(rows), key, above[0])
        for row in rows:
            yield json.dumps({"table": model._meta.table_name, "row": row}, default=as_text) + "\n"


def import_rows(lines: Iterable[str]) -> dict[str, int]:
    """Restore an export into an empty database, exactly: ids, versions and times included."""
    models = {model._meta.table_name: model for model in known_tables()}
    counts = dict.fromkeys(models, 0)
    copies: dict[
        int, str
    ] = {}  # revision id -> the record it held, in a dump made before migration 003
    with database.atomic():
        if any(model.select().exists() for model in models.values()):
            raise Conflict("The database is not empty: restore into an empty one.")
        batch: list[dict[str, Any]] = []
        current: Any = None  # the model of the rows in `batch`
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
        for resource in resources.searchable():
            search.refresh(resource.model)
        stamp.restamp()
    return counts


def _keep_versions_only_revisions_held(copies: dict[int, str]) -> None:
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


def _parents_first(rows: list[dict[str, Any]], key: str, above: str) -> list[dict[str, Any]]:
    """Rows of a table whose records hang under each other (segments under their parent),
    each after the one it hangs under, as its foreign key requires."""
    parent = {row[key]: row[above] for row in rows}

    def depth(code: str) -> int:
        return 0 if parent.get(code) is None else 1 + depth(parent[code])

    return sorted(rows, key=lambda row: (depth(row[key]), row[key]))


def _insert(model: type[Model], rows: list[dict[str, Any]]) -> None:
    model.insert_many(rows).execute()


def _restart_sequences() -> None:
    """Start each table's ids past every id it has used, the deleted records' included (their
    revisions remain): an id names one record for good, in links, ETags and revisions."""
    for model in known_tables():
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


def _order(model: type[Model]) -> list[Field]:
    pk = model._meta.primary_key
    return [pk] if pk else [getattr(model, name) for name in model._meta.sorted_field_names]
