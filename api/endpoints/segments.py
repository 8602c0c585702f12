"""Segments: the controlled vocabulary of which part of a whole a figure covers."""

from marshmallow import fields, validate

from api.fields import Boolean, Code
from api.resource import crud_blueprint
from api.schemas import QuerySchema, RecordSchema, any_of, sort_field
from models.tables import Segment


class SegmentSchema(RecordSchema):
    code = Code(
        required=True,
        metadata={
            "description": "Stable identifier, used by statistics and targets.",
            "example": "passenger_cars",
        },
    )
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Human-readable name.", "example": "Passenger cars"},
    )
    parent = Code(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The segment this one is part of (`total` has none).",
            "example": "total",
        },
    )
    additive = Boolean(
        load_default=True,
        metadata={
            "description": "Whether it sums with its additive siblings into the parent "
            "(passenger + commercial = total; new-energy cuts across both, so false).",
            "example": True,
        },
    )
    description = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"description": "What it includes."},
    )


class SegmentQuery(QuerySchema):
    parent = any_of(Code(), "Only the direct parts of these segments.")
    sort = sort_field(Segment)


blp = crud_blueprint(
    Segment,
    SegmentSchema,
    SegmentQuery,
    description="Parts of a whole (total, passenger cars, new-energy vehicles), as a hierarchy.",
)
