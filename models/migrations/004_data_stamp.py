"""The data stamp: one row whose value every write replaces, for caches of reads."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Make the table; it stays empty until the first write (models/stamp.py)."""

    @migrator.create_model
    class DataStamp(pw.Model):
        id = pw.IntegerField(primary_key=True)
        value = pw.BigIntegerField()

        class Meta:
            table_name = "datastamp"


def rollback(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    migrator.remove_model("datastamp")
