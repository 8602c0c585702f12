"""The schema as it stood when migrations began (release 0.1): tables, history, search."""

import peewee as pw
from peewee_migrate import Migrator

SEARCHABLE = ("source", "event", "statistic", "target")


def _search_tables(database: pw.DatabaseProxy, drop: bool = False) -> list[str]:
    """The full-text search tables, which are no models: FTS5 on SQLite, tsvector on PostgreSQL."""
    if drop:
        return [f'DROP TABLE IF EXISTS "{table}_search"' for table in SEARCHABLE]
    if isinstance(database.obj, pw.SqliteDatabase):
        return [
            f"CREATE VIRTUAL TABLE \"{table}_search\" USING fts5(body, tokenize='porter unicode61')"
            for table in SEARCHABLE
        ]
    return [
        statement
        for table in SEARCHABLE
        for statement in (
            f'CREATE TABLE "{table}_search" (id integer PRIMARY KEY REFERENCES "{table}" (id) '
            "ON DELETE CASCADE, body text NOT NULL, document tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', body)) STORED)",
            f'CREATE INDEX "{table}_search_document" ON "{table}_search" USING gin (document)',
        )
    ]


def migrate(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Create every table, as the models defined them then."""

    @migrator.create_model
    class ApiKey(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=200)
        identifier = pw.CharField(max_length=16, unique=True)
        digest = pw.CharField(max_length=64)
        scope = pw.CharField(max_length=8)
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "apikey"

    @migrator.create_model
    class Source(pw.Model):
        id = pw.AutoField()
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        publisher = pw.CharField(index=True, max_length=200)
        title = pw.CharField(max_length=500)
        url = pw.CharField(max_length=2000, unique=True)
        published_on = pw.DateField(index=True, null=True)
        retrieved_at = pw.DateTimeField(null=True)
        credit = pw.TextField(null=True)

        class Meta:
            table_name = "source"

    @migrator.create_model
    class Event(pw.Model):
        id = pw.AutoField()
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        title = pw.CharField(max_length=500)
        kind = pw.CharField(index=True, max_length=64)
        date = pw.DateField(index=True)
        end_date = pw.DateField(null=True)
        city = pw.CharField(max_length=200, null=True)
        country = pw.CharField(index=True, max_length=8, null=True)
        industry = pw.CharField(index=True, max_length=64, null=True)
        theme = pw.CharField(max_length=500, null=True)
        summary = pw.TextField(null=True)
        topics = pw.TextField()
        source = pw.ForeignKeyField(
            column_name="source_id", field="id", model=migrator.orm["source"], on_delete="RESTRICT"
        )
        quote = pw.TextField(null=True)

        class Meta:
            table_name = "event"

    @migrator.create_model
    class EventHistory(pw.Model):
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        title = pw.CharField(max_length=500)
        kind = pw.CharField(index=True, max_length=64)
        date = pw.DateField(index=True)
        end_date = pw.DateField(null=True)
        city = pw.CharField(max_length=200, null=True)
        country = pw.CharField(index=True, max_length=8, null=True)
        industry = pw.CharField(index=True, max_length=64, null=True)
        theme = pw.CharField(max_length=500, null=True)
        summary = pw.TextField(null=True)
        topics = pw.TextField()
        quote = pw.TextField(null=True)
        id = pw.IntegerField()
        source = pw.IntegerField(column_name="source_id", index=True)
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "event_history"
            primary_key = False
            indexes = [(("id", "valid_from"), False)]

    @migrator.create_model
    class EventTopic(pw.Model):
        event = pw.ForeignKeyField(
            column_name="event_id", field="id", model=migrator.orm["event"], on_delete="CASCADE"
        )
        topic = pw.CharField(max_length=100)

        class Meta:
            table_name = "eventtopic"
            primary_key = False
            indexes = [(("topic", "event"), True)]

    @migrator.create_model
    class EventTopicHistory(pw.Model):
        topic = pw.CharField(max_length=100)
        event = pw.IntegerField(column_name="event_id", index=True)
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "eventtopic_history"
            primary_key = False
            indexes = [(("event", "valid_from"), False), (("topic", "event"), False)]

    @migrator.create_model
    class IdempotentRequest(pw.Model):
        id = pw.AutoField()
        owner = pw.CharField(max_length=16)
        key = pw.CharField(max_length=255)
        fingerprint = pw.CharField(max_length=64)
        created_at = pw.DateTimeField(index=True)
        status = pw.IntegerField(null=True)
        headers = pw.TextField(null=True)
        body = pw.TextField(null=True)

        class Meta:
            table_name = "idempotentrequest"
            indexes = [(("owner", "key"), True)]

    @migrator.create_model
    class Indicator(pw.Model):
        code = pw.CharField(max_length=64, primary_key=True)
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=200)
        unit = pw.CharField(max_length=64)
        measure = pw.CharField(max_length=16)
        industry = pw.CharField(index=True, max_length=64, null=True)
        description = pw.TextField(null=True)

        class Meta:
            table_name = "indicator"

    @migrator.create_model
    class IndicatorHistory(pw.Model):
        code = pw.CharField(max_length=64)
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=200)
        unit = pw.CharField(max_length=64)
        measure = pw.CharField(max_length=16)
        industry = pw.CharField(index=True, max_length=64, null=True)
        description = pw.TextField(null=True)
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "indicator_history"
            primary_key = False
            indexes = [(("code", "valid_from"), False)]

    @migrator.create_model
    class Revision(pw.Model):
        id = pw.AutoField()
        resource = pw.CharField(max_length=32)
        key = pw.CharField(max_length=64)
        version = pw.IntegerField()
        change = pw.CharField(max_length=8)
        at = pw.DateTimeField()
        by = pw.CharField(max_length=64)
        record = pw.TextField()

        class Meta:
            table_name = "revision"
            indexes = [(("resource", "key", "version"), True)]

    @migrator.create_model
    class Segment(pw.Model):
        code = pw.CharField(max_length=64, primary_key=True)
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=200)
        parent = pw.ForeignKeyField(
            column_name="parent_id", field="code", model="self", null=True, on_delete="RESTRICT"
        )
        additive = pw.BooleanField(default=True)
        description = pw.TextField(null=True)

        class Meta:
            table_name = "segment"

    @migrator.create_model
    class SegmentHistory(pw.Model):
        parent = pw.CharField(column_name="parent_id", index=True, max_length=64, null=True)
        code = pw.CharField(max_length=64)
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=200)
        additive = pw.BooleanField(default=True)
        description = pw.TextField(null=True)
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "segment_history"
            primary_key = False
            indexes = [(("code", "valid_from"), False)]

    @migrator.create_model
    class SourceHistory(pw.Model):
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        publisher = pw.CharField(index=True, max_length=200)
        title = pw.CharField(max_length=500)
        url = pw.CharField(max_length=2000)
        published_on = pw.DateField(index=True, null=True)
        retrieved_at = pw.DateTimeField(null=True)
        credit = pw.TextField(null=True)
        id = pw.IntegerField()
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "source_history"
            primary_key = False
            indexes = [(("id", "valid_from"), False)]

    @migrator.create_model
    class Statistic(pw.Model):
        id = pw.AutoField()
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        indicator = pw.ForeignKeyField(
            column_name="indicator_id",
            field="code",
            model=migrator.orm["indicator"],
            on_delete="RESTRICT",
            index=False,  # the natural key's index starts with it
        )
        region = pw.CharField(max_length=8)
        segment = pw.ForeignKeyField(
            column_name="segment_id",
            field="code",
            model=migrator.orm["segment"],
            on_delete="RESTRICT",
        )
        period_start = pw.DateField()
        period_end = pw.DateField()
        frequency = pw.CharField(index=True, max_length=16)
        value = pw.DecimalField(auto_round=False, decimal_places=6, index=True, max_digits=24)
        change_pct = pw.DecimalField(auto_round=False, decimal_places=6, max_digits=24, null=True)
        change_basis = pw.CharField(max_length=32, null=True)
        source = pw.ForeignKeyField(
            column_name="source_id", field="id", model=migrator.orm["source"], on_delete="RESTRICT"
        )
        event = pw.ForeignKeyField(
            column_name="event_id",
            field="id",
            model=migrator.orm["event"],
            null=True,
            on_delete="RESTRICT",
        )
        quote = pw.TextField(null=True)

        class Meta:
            table_name = "statistic"
            indexes = [
                (("indicator", "region", "segment", "period_start", "period_end", "source"), True),
                (("period_start", "id"), False),
                (("period_end", "id"), False),
                (("region", "period_start", "id"), False),
                (("indicator", "region", "period_start", "id"), False),
            ]

    @migrator.create_model
    class StatisticHistory(pw.Model):
        indicator = pw.CharField(column_name="indicator_id", max_length=64)
        segment = pw.CharField(column_name="segment_id", index=True, max_length=64)
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        region = pw.CharField(max_length=8)
        period_start = pw.DateField()
        period_end = pw.DateField()
        frequency = pw.CharField(index=True, max_length=16)
        value = pw.DecimalField(auto_round=False, decimal_places=6, index=True, max_digits=24)
        change_pct = pw.DecimalField(auto_round=False, decimal_places=6, max_digits=24, null=True)
        change_basis = pw.CharField(max_length=32, null=True)
        quote = pw.TextField(null=True)
        id = pw.IntegerField()
        source = pw.IntegerField(column_name="source_id", index=True)
        event = pw.IntegerField(column_name="event_id", index=True, null=True)
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "statistic_history"
            primary_key = False
            indexes = [
                (("id", "valid_from"), False),
                (("indicator", "region", "segment", "period_start", "period_end", "source"), False),
                (("period_start", "id"), False),
                (("period_end", "id"), False),
                (("region", "period_start", "id"), False),
                (("indicator", "region", "period_start", "id"), False),
            ]

    @migrator.create_model
    class Target(pw.Model):
        id = pw.AutoField()
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        title = pw.CharField(max_length=500)
        issuer = pw.CharField(max_length=200, null=True)
        region = pw.CharField(index=True, max_length=8)
        industry = pw.CharField(index=True, max_length=64, null=True)
        indicator = pw.ForeignKeyField(
            column_name="indicator_id",
            field="code",
            model=migrator.orm["indicator"],
            on_delete="RESTRICT",
        )
        segment = pw.ForeignKeyField(
            column_name="segment_id",
            field="code",
            model=migrator.orm["segment"],
            null=True,
            on_delete="RESTRICT",
        )
        share_of = pw.ForeignKeyField(
            column_name="share_of",
            field="code",
            model=migrator.orm["segment"],
            null=True,
            on_delete="RESTRICT",
        )
        target_value = pw.DecimalField(auto_round=False, decimal_places=6, max_digits=24)
        target_period_start = pw.DateField()
        target_period_end = pw.DateField(index=True)
        direction = pw.CharField(default="at_least", max_length=16)
        baseline_value = pw.DecimalField(
            auto_round=False, decimal_places=6, max_digits=24, null=True
        )
        baseline_period_start = pw.DateField(null=True)
        baseline_period_end = pw.DateField(null=True)
        status = pw.CharField(default="active", index=True, max_length=16)
        announced_on = pw.DateField(index=True, null=True)
        source = pw.ForeignKeyField(
            column_name="source_id", field="id", model=migrator.orm["source"], on_delete="RESTRICT"
        )
        event = pw.ForeignKeyField(
            column_name="event_id",
            field="id",
            model=migrator.orm["event"],
            null=True,
            on_delete="RESTRICT",
        )
        quote = pw.TextField(null=True)

        class Meta:
            table_name = "target"

    @migrator.create_model
    class TargetHistory(pw.Model):
        indicator = pw.CharField(column_name="indicator_id", index=True, max_length=64)
        share_of = pw.CharField(index=True, max_length=64, null=True)
        segment = pw.CharField(column_name="segment_id", index=True, max_length=64, null=True)
        version = pw.IntegerField(default=1)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        title = pw.CharField(max_length=500)
        issuer = pw.CharField(max_length=200, null=True)
        region = pw.CharField(index=True, max_length=8)
        industry = pw.CharField(index=True, max_length=64, null=True)
        target_value = pw.DecimalField(auto_round=False, decimal_places=6, max_digits=24)
        target_period_start = pw.DateField()
        target_period_end = pw.DateField(index=True)
        direction = pw.CharField(default="at_least", max_length=16)
        baseline_value = pw.DecimalField(
            auto_round=False, decimal_places=6, max_digits=24, null=True
        )
        baseline_period_start = pw.DateField(null=True)
        baseline_period_end = pw.DateField(null=True)
        status = pw.CharField(default="active", index=True, max_length=16)
        announced_on = pw.DateField(index=True, null=True)
        quote = pw.TextField(null=True)
        id = pw.IntegerField()
        source = pw.IntegerField(column_name="source_id", index=True)
        event = pw.IntegerField(column_name="event_id", index=True, null=True)
        valid_from = pw.DateTimeField()
        valid_to = pw.DateTimeField(null=True)

        class Meta:
            table_name = "target_history"
            primary_key = False
            indexes = [(("id", "valid_from"), False)]

    for statement in _search_tables(database):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.DatabaseProxy, *, fake: bool = False) -> None:
    """Drop every table."""
    for statement in _search_tables(database, drop=True):
        migrator.sql(statement)

    migrator.remove_model("target_history")

    migrator.remove_model("target")

    migrator.remove_model("statistic_history")

    migrator.remove_model("statistic")

    migrator.remove_model("source_history")

    migrator.remove_model("segment_history")

    migrator.remove_model("segment")

    migrator.remove_model("revision")

    migrator.remove_model("indicator_history")

    migrator.remove_model("indicator")

    migrator.remove_model("idempotentrequest")

    migrator.remove_model("eventtopic_history")

    migrator.remove_model("eventtopic")

    migrator.remove_model("event_history")

    migrator.remove_model("event")

    migrator.remove_model("source")

    migrator.remove_model("apikey")
