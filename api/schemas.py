"""The parts every resource schema shares: record metadata, provenance, and list-query rules."""

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate
from webargs.fields import DelimitedList

from api import formats
from api.fields import (
    NUMBER_BOUNDS,
    NUMBER_SCHEMA,
    TEXT_PATTERN,
    VISIBLE_TEXT_PATTERN,
    Id,
    Number,
    PeriodField,
    QueryNumber,
    UTCDateTime,
    acceptable_text,
    visible,
)
from api.pagination import PagingSchema
from models import figures, resources


class InputSchema(Schema):
    """What a client sends. Its text is UTF-8 without control characters but tab and newline
    (a body's are refused here; a query string's, by api.resource.Parser), and text a value
    is required for (a required field, or one with a minimum length) must show something:
    not only white space or zero-width characters. Its numbers state their bounds."""

    BLANK = "Give some text: white space and zero-width characters alone say nothing."

    @pre_load
    def _refuse_unacceptable_text(self, data, **kwargs):
        if isinstance(data, dict):
            bad = [key for key, value in data.items() if unacceptable(value)]
            if bad:
                message = (
                    "Text cannot contain control characters (but tab and newline) or "
                    "unpaired surrogates."
                )
                raise ValidationError({key: [message] for key in bad})
        return data

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        # Fields are copied per schema instance (shallowly): what is set here is replaced,
        # never changed in place, so the declared field stays as it was.
        for field in (field_obj, getattr(field_obj, "inner", None)):
            if field is None or field.dump_only:
                continue
            if type(field) is fields.String and not _is_enum(field):
                required = field.required or _min_length(field) >= 1
                pattern = VISIBLE_TEXT_PATTERN if required else TEXT_PATTERN
                field.metadata = {"pattern": pattern} | dict(field.metadata)
                if required:
                    field.validators = [*field.validators, _shows_something]
            elif isinstance(field, Number | QueryNumber):
                described = field.metadata.get("description")
                metadata = NUMBER_SCHEMA | dict(field.metadata)
                metadata["description"] = (
                    f"{described} {NUMBER_BOUNDS}" if described else NUMBER_BOUNDS
                )
                field.metadata = metadata


def _shows_something(text) -> None:
    if isinstance(text, str) and not visible(text):
        raise ValidationError(InputSchema.BLANK)


def _is_enum(field: fields.Field) -> bool:
    # Its values are listed (in the spec at least): a pattern would say nothing more.
    return "enum" in field.metadata or any(isinstance(v, validate.OneOf) for v in field.validators)


def _min_length(field: fields.Field) -> int:
    rules = [rule for rule in field.validators if isinstance(rule, validate.Length)]
    return max((rule.min or 0 for rule in rules), default=0)


def unacceptable(value) -> bool:
    # Walked with a list, not recursion: JSON nested a few hundred deep is within what the
    # parser reads, yet past Python's stack at two frames a level.
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and not acceptable_text(value):
            return True
        if isinstance(value, list | dict):
            pending.extend(value.values() if isinstance(value, dict) else value)
    return False


class RecordSchema(InputSchema):
    """Read-only bookkeeping that every record carries."""

    # Inherited fields come first in marshmallow; a record reads better as what it is, then
    # where it comes from, then how it is kept.
    LAST = ("source_id", "event_id", "quote", "citation", "version", "created_at", "updated_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("fields", "dump_fields", "load_fields"):
            ordered = dict(getattr(self, name))
            tail = {key: ordered.pop(key) for key in self.LAST if key in ordered}
            setattr(self, name, ordered | tail)

    version = fields.Integer(
        dump_only=True,
        metadata={"description": "Incremented on every change; the ETag is this number."},
    )
    created_at = UTCDateTime(dump_only=True, metadata={"description": "When it was created (UTC)."})
    updated_at = UTCDateTime(
        dump_only=True, metadata={"description": "When it last changed (UTC)."}
    )

    @post_load
    def _split_periods(self, data, **kwargs):
        return split_periods(data, periods(self))


def periods(schema: Schema) -> list[str]:
    """The names of a schema's period fields."""
    return [name for name, field in schema.load_fields.items() if isinstance(field, PeriodField)]


def split_periods(data: dict, names: list[str]) -> dict:
    """A period is stored as its two bounds: `period` becomes period_start and period_end."""
    for name in names:
        if name in data:
            period = data.pop(name)
            data[f"{name}_start"] = period.start if period else None
            data[f"{name}_end"] = period.end if period else None
    return data


class SourcedSchema(RecordSchema):
    """A fact: where it comes from, and the words it was taken from."""

    source_id = Id(
        attribute="source",
        required=True,
        metadata={"description": "The source this fact is taken from.", "example": 1},
    )
    quote = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "The short verbatim passage of the source that states it."},
    )
    citation = fields.String(
        dump_only=True,
        metadata={
            "description": "The source, cited in one line: publisher, title, date, address.",
            "example": "NenPower, \u201cChina\u2019s Automotive Industry Launches 2025 Vision for "
            "Global Expansion and Innovation\u201d, 11 May 2025, https://nenpower.com/blog/",
        },
    )


class AsOfQuery(InputSchema):
    """The `as_of` and `known_on` parameters every read takes. The app applies them to the
    whole request (api/as_of.py), so they are checked and documented here but not passed on
    to the view."""

    as_of = UTCDateTime(
        metadata={
            "description": "Answer as the database stood at this instant (RFC 3339, with its "
            "offset: Z for UTC, or such as +08:00): records deleted since are back, values "
            "revised since are as they were, and every filter applies to them. A future "
            "instant answers as of now; one before a record existed answers as if it never "
            "had. Example: 2025-06-01T00:00:00Z.",
            # No `example`: Swagger UI's Try it out would send it, and a database filled since
            # would answer with nothing.
        }
    )

    known_on = fields.Date(
        metadata={
            "description": "Answer with only the facts their sources had published by this "
            "day (by the source's published_on; a source with none is left out), whenever "
            "they were stored: what was known on that day. Filters, transforms, checks and "
            "progress all work on them. With as_of, of what the database held then.",
            "example": "2025-06-01",
        }
    )

    @post_load
    def _applied_to_the_request(self, data, **kwargs):
        data.pop("as_of", None)
        data.pop("known_on", None)
        return data


class QuerySchema(AsOfQuery, PagingSchema):
    """A list's query: filters, sort, paging and format. Unknown parameters are an error."""

    format = formats.format_field()


RANKED = "; best matches first unless `sort` is given"


def search_field(order: str = RANKED) -> fields.Field:
    """The `q` parameter: full-text search over the list's texts and its sources' titles."""
    # Any text that shows something: a search with no word in it (`...`) finds nothing, which
    # is an answer; a word is letters and digits in any script, as the indexes split them.
    return fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Full-text search over titles, summaries, quotes and source titles: "
            f"every word must match (stemmed, so `vehicle` finds `vehicles`){order}. Words are "
            "runs of letters and digits in any script; text with none matches nothing.",
            "example": "new energy",
        },
    )


class SeveralValues(DelimitedList):
    """Values separated by commas, as documented, or the parameter repeated, as clients generated
    from the spec send a list whatever its `explode: false` says; both mean the same."""

    is_multiple = True  # so webargs hands over every occurrence, not only the first

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            value = self.delimiter.join(value)
        return super()._deserialize(value, attr, data, **kwargs)


def sort_field(model) -> fields.Field:
    """The `sort` parameter of a list: its allowed keys, each optionally prefixed with -."""
    resource = resources.of(model)
    names, default = list(resource.sorts), list(resource.default_sort)
    allowed = ", ".join(names)
    return SeveralValues(
        fields.String(
            validate=validate.OneOf(
                names + [f"-{n}" for n in names],
                error=f"Sort by {allowed}; prefix - for descending.",
            )
        ),
        validate=validate.Length(min=1, error=f"Sort by {allowed}; prefix - for descending."),
        metadata={
            "description": f"Comma-separated keys among {allowed}; `-` for descending. "
            f"Default: {', '.join(default)}, then the id.",
            "example": default,
        },
    )


def any_of(
    field: fields.Field, description: str, most: int = 100, example: str | None = None
) -> fields.Field:
    """A filter that takes one value or several (up to `most`), comma-separated, meaning any
    of them."""
    metadata = {"description": description} | ({"example": example} if example else {})
    return SeveralValues(field, validate=validate.Length(min=1, max=most), metadata=metadata)


def status_field(description: str) -> fields.Field:
    """What kind of number a value is (models/figures.py)."""
    return fields.String(
        load_default="reported",
        validate=validate.OneOf(figures.STATUSES),
        metadata={
            "description": f"{description} reported (the default), estimated, provisional, "
            "forecast (never judged as a fact by progress and the checks), revised, or break "
            "(the series changed before it: never compared with earlier periods).",
            "example": "reported",
        },
    )


def status_filter(description: str) -> fields.Field:
    """A filter on what kind of number a value is, any of several statuses."""
    field = fields.String(validate=validate.OneOf(figures.STATUSES))
    return any_of(field, description, example="reported,revised")


def rank_filter(description: str) -> fields.Field:
    """A filter on how figures rank, any of several ranks."""
    field = fields.String(validate=validate.OneOf(figures.RANKS))
    return any_of(field, description, example="preferred,normal")


def rank_field() -> fields.Field:
    """Which of several figures for the same question to use (models/figures.py)."""
    return fields.String(
        load_default="normal",
        validate=validate.OneOf(figures.RANKS),
        metadata={
            "description": "preferred, normal or deprecated. Where several figures answer the "
            "same question, the service uses the preferred one, else the most recently "
            "published normal one, never a deprecated one.",
            "example": "normal",
        },
    )


def rank_reason_field() -> fields.Field:
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={
            "description": "Why it is ranked so.",
            "example": "The customs figure, which the ministry's release rounds.",
        },
    )
