"""Each version is stored once, in its history table: revisions lose their copy (`record`)."""

import peewee as pw
from peewee_migrate import Migrator

BATCH = 500


def migrate(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Give history every version that only a revision held, then drop the revisions' copies."""
    migrator.run(_keep_lost_versions, database)
    migrator.remove_fields("revision", "record")


def _keep_lost_versions(database: pw.DatabaseProxy) -> None:
    # Versions changed since history began are in it already (each change wrote both); a
    # database whose records changed before history began holds their older versions only
    # in revisions. Those are copied into history, valid for no instant, so reads as of an
    # instant answer as they did.
    from models import history, resources

    assert resources.REGISTRY  # declaring the resources is what gives history its tables
    lost = history.lost_versions()
    for start in range(0, len(lost), BATCH):
        ids = lost[start : start + BATCH]
        marks = ", ".join([database.obj.param] * len(ids))
        rows = database.execute_sql(
            f'SELECT resource, "key", version, change, at, record FROM revision '
            f"WHERE id IN ({marks}) ORDER BY id",
            ids,
        )
        history.keep_versions(rows.fetchall())


def rollback(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Give each revision its copy of the record again, from history."""
    migrator.add_fields("revision", record=pw.TextField(null=True))
    migrator.run(_copy_records_back, database)


def _copy_records_back(database: pw.DatabaseProxy) -> None:
    import json

    from models import history, resources
    from models.tables import Revision, as_text

    for model in (resource.model for resource in resources.REGISTRY.values()):
        query = history.revised(
            model, Revision.select().where(Revision.resource == model._meta.table_name)
        )
        for revision in query:
            text = json.dumps(history.record_of(revision), default=as_text)
            mark = database.obj.param
            sql = f"UPDATE revision SET record = {mark} WHERE id = {mark}"
            database.execute_sql(sql, (text, revision.id))
