"""Indicators: the controlled vocabulary of what a statistic or target measures."""

from marshmallow import fields, validate

from api.fields import Code
from api.resource import crud_blueprint
from api.schemas import QuerySchema, RecordSchema, any_of, sort_field
from models.tables import Indicator

MEASURES = ("count", "amount", "percent", "index", "other")


class IndicatorSchema(RecordSchema):
    code = Code(
        required=True,
        metadata={
            "description": "Stable identifier, used by statistics and targets.",
            "example": "vehicle_exports",
        },
    )
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Human-readable name.", "example": "Vehicle exports"},
    )
    unit = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "The unit every value of this indicator is in; fixed once data uses it.",
            "example": "vehicles",
        },
    )
    measure = fields.String(
        required=True,
        validate=validate.OneOf(MEASURES),
        metadata={
            "description": "What kind of number it is; a `count` cannot be negative.",
            "example": "count",
        },
    )
    industry = Code(
        load_default=None,
        allow_none=True,
        metadata={"description": "The industry it belongs to.", "example": "automotive"},
    )
    description = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"description": "What exactly is counted, and how."},
    )


class IndicatorQuery(QuerySchema):
    industry = any_of(Code(), "Only indicators of these industries.")
    sort = sort_field(Indicator)


blp = crud_blueprint(
    Indicator,
    IndicatorSchema,
    IndicatorQuery,
    description="What is measured, in which unit. Statistics and targets must name one.",
)
