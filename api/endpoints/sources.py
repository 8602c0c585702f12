"""Sources: the publications every fact is taken from."""

import re

from marshmallow import fields, validate

from api.fields import UTCDateTime
from api.resource import crud_blueprint
from api.schemas import QuerySchema, RecordSchema, any_of, search_field, sort_field
from models.tables import Source

# What a source's URL may be, as the spec says it and the server checks it: an RFC 3986 URI
# that marshmallow's URL validator also takes (http or https, a dotted host name, an optional
# port, then a path or query of unreserved, reserved or percent-encoded characters).
_CHARACTER = r"(%[0-9A-Fa-f]{2}|[A-Za-z0-9._~:/?@!$&'()*+,;=-])"
URL = re.compile(
    r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}"
    rf"(:[0-9]{{1,5}})?(/{_CHARACTER}*|\?{_CHARACTER}+)?$"
)


class SourceSchema(RecordSchema):
    id = fields.Integer(dump_only=True, metadata={"description": "Assigned by the service."})
    publisher = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Who published it.", "example": "NenPower"},
    )
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "The publication's title.",
            "example": "China's Automotive Industry Launches 2025 Vision for Global Expansion "
            "and Innovation",
        },
    )
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        validate=[
            validate.Length(max=2000),
            validate.Regexp(URL, error="Not an http(s) URL of ASCII characters."),
        ],
        metadata={
            "format": "uri",  # apispec says `url`, which JSON Schema does not know
            "pattern": URL.pattern,
            "description": "Where it can be read: an http or https URL, with characters "
            "outside ASCII percent-encoded; unique, so a source is stored once.",
            "example": "https://nenpower.com/blog/chinas-automotive-industry-launches-2025-"
            "vision-for-global-expansion-and-innovation/",
        },
    )
    published_on = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "Publication date.", "example": "2025-05-11"},
    )
    retrieved_at = UTCDateTime(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "When it was read for this service (RFC 3339, with its offset: "
            "Z for UTC, or such as +08:00)."
        },
    )
    credit = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "The credit line the publisher asks for when reusing it."},
    )


class SourceQuery(QuerySchema):
    publisher = any_of(
        fields.String(validate=validate.Length(min=1, max=200)),
        "Only sources from these publishers (as written, whole).",
        most=50,  # of up to 200 characters each: 100 would not fit in a request line
    )
    published_from = fields.Date(metadata={"description": "Only sources published on or after."})
    published_to = fields.Date(metadata={"description": "Only sources published on or before."})
    q = search_field()
    sort = sort_field(Source)


blp = crud_blueprint(
    Source,
    SourceSchema,
    SourceQuery,
    description="Publications the facts are taken from. Every fact cites one.",
)
