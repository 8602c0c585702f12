"""The tables: sources, the two vocabularies, and the three kinds of fact."""

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    ModelSelect,
    NodeList,
    TextField,
)

from models.db import BaseModel, is_sqlite
from models.periods import Period


def utc_now() -> datetime:
    # Naive UTC: SQLite has no time zones, and one convention for both backends is simpler.
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def as_text(value: object) -> str:
    """A stored value as JSON text, alike on both backends: 7.3, not 7.300000; dates in ISO."""
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def _amount(**kwargs: Any) -> DecimalField:
    # Exact decimals; 18 integer and 6 fractional digits cover every figure we expect.
    return DecimalField(max_digits=24, decimal_places=6, auto_round=False, **kwargs)


class IdField(AutoField):
    """An id given once only. SQLite would give the newest row's id to the next row once that
    row is deleted, mixing two records' revisions and ETags; AUTOINCREMENT stops it there.
    PostgreSQL's sequences never go back."""

    def ddl(self, ctx: Any) -> Any:
        node = super().ddl(ctx)
        return NodeList((node, SQL("AUTOINCREMENT"))) if is_sqlite() else node


class ListField(TextField):
    """A list of strings, stored as JSON text so that both backends hold it the same way."""

    def db_value(self, value: Iterable[str] | None) -> str:
        return json.dumps(list(value or []))

    def python_value(self, value: str | None) -> list[str]:
        return json.loads(value) if value else []


class Record(BaseModel):
    """Columns every stored resource has: an optimistic-concurrency version and timestamps."""

    version = IntegerField(default=1)
    created_at = DateTimeField(default=utc_now)
    updated_at = DateTimeField(default=utc_now)

    @classmethod
    def full(cls) -> Any:
        """The select that reads records with whatever their representation needs."""
        return cls.select()


def citation(publisher: str, title: str, published_on: date | str | None, url: str) -> str:
    """A one-line reference to a source: publisher, title, date of publication, address."""
    if isinstance(published_on, str):  # raw SQLite rows carry dates as ISO text
        published_on = date.fromisoformat(published_on)
    when = f"{published_on.day} {published_on:%B %Y}, " if published_on else ""
    return f"{publisher}, \u201c{title}\u201d, {when}{url}"


class Cited:
    """A fact whose `full` select brings its source's details, to cite it without a query."""

    source_publisher: str
    source_title: str
    source_published_on: date | str | None  # text in raw SQLite rows
    source_url: str

    @classmethod
    def cited(cls, query: Any) -> Any:
        return (
            query.switch(cls)
            .join(Source)
            .select_extend(
                Source.publisher.alias("source_publisher"),
                Source.title.alias("source_title"),
                Source.published_on.alias("source_published_on"),
                Source.url.alias("source_url"),
            )
        )

    @property
    def citation(self) -> str:
        return citation(
            self.source_publisher, self.source_title, self.source_published_on, self.source_url
        )


class Source(Record):
    id = IdField()
    publisher = CharField(200, index=True)
    title = CharField(500)
    url = CharField(2000, unique=True)
    published_on = DateField(null=True, index=True)
    retrieved_at = DateTimeField(null=True)
    credit = TextField(null=True)


class Indicator(Record):
    code = CharField(64, primary_key=True)
    name = CharField(200)
    unit = CharField(64)
    measure = CharField(16)
    industry = CharField(64, null=True, index=True)
    description = TextField(null=True)
    # The backrefs of Statistic.indicator and Target.indicator, declared for mypy.
    statistics: "ModelSelect[Statistic]"
    targets: "ModelSelect[Target]"


class Segment(Record):
    code = CharField(64, primary_key=True)
    name = CharField(200)
    parent = ForeignKeyField(
        "self", null=True, backref="children", on_delete="RESTRICT", lazy_load=False
    )
    # Each foreign key's `<name>_id`, peewee's accessor of the raw key, declared for mypy.
    parent_id: str | None
    additive = BooleanField(default=True)
    description = TextField(null=True)


class Event(Cited, Record):
    id = IdField()
    title = CharField(500)
    kind = CharField(64, index=True)
    date = DateField(index=True)
    end_date = DateField(null=True)
    city = CharField(200, null=True)
    country = CharField(8, null=True, index=True)
    industry = CharField(64, null=True, index=True)
    theme = CharField(500, null=True)
    summary = TextField(null=True)
    topics = ListField(default=list)
    source = ForeignKeyField(
        Source, backref="events", on_delete="RESTRICT", lazy_load=False, index=True
    )
    source_id: int
    quote = TextField(null=True)

    @classmethod
    def full(cls) -> Any:
        return cls.cited(cls.select()).objects()


class EventTopic(BaseModel):
    """One topic of one event: the index behind filtering events by topic."""

    event = ForeignKeyField(Event, backref="topic_rows", on_delete="CASCADE", lazy_load=False)
    event_id: int
    topic = CharField(100)

    class Meta:
        primary_key = False
        indexes = ((("topic", "event"), True),)


class Statistic(Cited, Record):
    id = IdField()
    # No index of its own: the natural key's index starts with it.
    indicator = ForeignKeyField(
        Indicator, backref="statistics", on_delete="RESTRICT", lazy_load=False, index=False
    )
    indicator_id: str
    region = CharField(8)
    segment = ForeignKeyField(
        Segment, backref="statistics", on_delete="RESTRICT", lazy_load=False, index=True
    )
    segment_id: str
    period_start = DateField()
    period_end = DateField()
    frequency = CharField(16, index=True)
    value = _amount(index=True)
    change_pct = _amount(null=True)
    change_basis = CharField(32, null=True)
    source = ForeignKeyField(
        Source, backref="statistics", on_delete="RESTRICT", lazy_load=False, index=True
    )
    source_id: int
    event = ForeignKeyField(
        Event, null=True, backref="statistics", on_delete="RESTRICT", lazy_load=False
    )
    event_id: int | None
    quote = TextField(null=True)
    # Added after the rest, as a migration adds them (models/migrations/005_figures.py).
    # What kind of number it is, how precise (a half-width, or bounds), and how it ranks
    # among figures for the same question: models/figures.py.
    status = CharField(16, default="reported", index=True)
    precision = _amount(null=True)
    lower = _amount(null=True)
    upper = _amount(null=True)
    rank = CharField(16, default="normal")
    rank_reason = TextField(null=True)

    class Meta:
        indexes = (
            # The natural key, which also serves filters on indicator (its prefix).
            (("indicator", "region", "segment", "period_start", "period_end", "source"), True),
            (("period_start", "id"), False),
            (("period_end", "id"), False),
            # Filters on a region, or an indicator and region, in the default order: the first
            # page is read straight off the index, with no sort of every match.
            (("region", "period_start", "id"), False),
            (("indicator", "region", "period_start", "id"), False),
        )

    @classmethod
    def full(cls) -> Any:
        return cls.cited(cls.select(cls, Indicator.unit).join(Indicator)).objects()

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end)


class Target(Cited, Record):
    id = IdField()
    title = CharField(500)
    issuer = CharField(200, null=True)
    region = CharField(8, index=True)
    industry = CharField(64, null=True, index=True)
    indicator = ForeignKeyField(
        Indicator, backref="targets", on_delete="RESTRICT", lazy_load=False, index=True
    )
    indicator_id: str
    segment = ForeignKeyField(
        Segment, null=True, backref="targets", on_delete="RESTRICT", lazy_load=False
    )
    segment_id: str | None
    share_of = ForeignKeyField(
        Segment,
        null=True,
        backref="share_targets",
        on_delete="RESTRICT",
        lazy_load=False,
        column_name="share_of",
    )
    share_of_id: str | None
    target_value = _amount()
    target_period_start = DateField()
    target_period_end = DateField(index=True)
    direction = CharField(16, default="at_least")
    baseline_value = _amount(null=True)
    baseline_period_start = DateField(null=True)
    baseline_period_end = DateField(null=True)
    status = CharField(16, default="active", index=True)
    announced_on = DateField(null=True, index=True)
    source = ForeignKeyField(
        Source, backref="targets", on_delete="RESTRICT", lazy_load=False, index=True
    )
    source_id: int
    event = ForeignKeyField(
        Event, null=True, backref="targets", on_delete="RESTRICT", lazy_load=False
    )
    event_id: int | None
    quote = TextField(null=True)
    # Added after the rest, as a migration adds them (models/migrations/005_figures.py).
    # The status of target_value as a number (models/figures.py): `status` is the target's own.
    value_status = CharField(16, default="reported", index=True)
    rank = CharField(16, default="normal")
    rank_reason = TextField(null=True)

    @classmethod
    def full(cls) -> Any:
        # A share target is a percentage of another segment, whatever the indicator counts.
        unit = Case(None, [(cls.share_of.is_null(False), "percent")], Indicator.unit)
        return cls.cited(cls.select(cls, unit.alias("unit")).join(Indicator)).objects()

    @property
    def target_period(self) -> Period:
        return Period(self.target_period_start, self.target_period_end)

    @property
    def baseline_period(self) -> Period | None:
        if self.baseline_period_start is None or self.baseline_period_end is None:
            return None
        return Period(self.baseline_period_start, self.baseline_period_end)


class Revision(BaseModel):
    """One change to one record, kept for good: its kind, when, by whom, and its place in
    commit order (the id). The record after it is its version in the record's history table
    (for a delete, the version it closed): each version is stored once."""

    id = AutoField()
    resource = CharField(32)  # the table's name
    key = CharField(64)  # the record's primary key, as text
    version = IntegerField()
    change = CharField(8)  # create, update or delete
    at = DateTimeField(default=lambda: datetime.now(UTC).replace(tzinfo=None))
    by = CharField(64)

    class Meta:
        indexes = ((("resource", "key", "version"), True),)


class ApiKey(BaseModel):
    """A key to the API. Its secret is never stored: only a digest of the whole key."""

    id = AutoField()
    name = CharField(200)
    identifier = CharField(16, unique=True)  # the public part of the key, to find it by
    digest = CharField(64)
    scope = CharField(8)
    created_at = DateTimeField(default=utc_now)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class IdempotentRequest(BaseModel):
    """A write sent with an Idempotency-Key, and once it is done, the response to replay."""

    id = AutoField()
    owner = CharField(16)  # the identifier of the API key that sent it
    key = CharField(255)
    fingerprint = CharField(64)  # of the method, path and body
    created_at = DateTimeField(default=utc_now, index=True)
    status = IntegerField(null=True)  # None only in claims an older version left (idempotency.py)
    headers = TextField(null=True)
    body = TextField(null=True)

    class Meta:
        indexes = ((("owner", "key"), True),)


class DataStamp(BaseModel):
    """One row, whose value every write replaces in its own transaction (models/stamp.py)."""

    id = IntegerField(primary_key=True)
    value = BigIntegerField()


# What runs the service rather than what it knows: not exported, not versioned.
OPERATIONAL = (ApiKey, IdempotentRequest, DataStamp)
