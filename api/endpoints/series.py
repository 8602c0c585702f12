"""One observation series, ordered by period, optionally transformed: the analyst's view."""

from flask import current_app
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from api import formats
from api.caching import cached
from api.charts import series_svg
from api.fields import Code, Number, PeriodField, QueryId, QueryInteger, Region
from api.resource import Blueprint
from api.schemas import AsOfQuery
from models import series as model
from models.periods import FREQUENCIES
from models.regions import region_name

SERIES_FORMATS = ("json", "csv", "svg")

blp = Blueprint(
    "series",
    __name__,
    url_prefix="/v1/series",
    description="A time series of one indicator for one region and segment, with transforms.",
)


class SeriesQuery(AsOfQuery):
    indicator = Code(
        required=True, metadata={"description": "Indicator code.", "example": "vehicle_exports"}
    )
    region = Region(required=True, metadata={"description": "Region code.", "example": "CN"})
    segment = Code(
        required=True, metadata={"description": "Segment code.", "example": "new_energy_vehicles"}
    )
    source_id = QueryId(
        attribute="source",
        metadata={
            "description": "Only this source's figures. Without it, where sources "
            "disagree on a period, the most recently published one is used."
        },
    )
    frequency = fields.String(
        validate=validate.OneOf(FREQUENCIES),
        metadata={"description": "Required when the series mixes frequencies."},
    )
    transform = fields.String(
        load_default="none",
        validate=validate.OneOf(model.TRANSFORMS),
        metadata={
            "description": "none; change or change_pct against the previous period; yoy or "
            "yoy_pct against the same period a year earlier; share: percent of the parent "
            "segment (or of share_of) in the same period. Percentages have 2 decimals. A point "
            "whose comparison is missing has value null and a note saying why.",
            "example": "share",
        },
    )
    share_of = Code(metadata={"description": "The whole for transform=share (default: parent)."})
    latest = QueryInteger(
        validate=validate.Range(min=1, max=10_000),
        metadata={
            "description": "Only the N most recent points (transforms still compare "
            "with earlier periods)."
        },
    )
    period_from = PeriodField(metadata={"description": "Only periods ending on or after this."})
    period_to = PeriodField(metadata={"description": "Only periods starting on or before this."})
    format = formats.format_field(SERIES_FORMATS)


class ReferenceSchema(Schema):
    code = fields.String(metadata={"description": "Vocabulary code."})
    name = fields.String(metadata={"description": "Human-readable name."})


class IndicatorReferenceSchema(ReferenceSchema):
    unit = fields.String(metadata={"description": "Unit of the observed values."})


class SourceReferenceSchema(Schema):
    id = fields.Integer(metadata={"description": "Source id."})
    publisher = fields.String(metadata={"description": "Who published it."})
    title = fields.String(metadata={"description": "The publication's title."})
    url = fields.String(metadata={"description": "Where it can be read."})
    published_on = fields.Date(
        allow_none=True, metadata={"description": "Publication date, when known."}
    )


class PointSchema(Schema):
    period = PeriodField(metadata={"description": "Canonical period label.", "example": "2025-Q1"})
    period_start = fields.Date(attribute="period.start", metadata={"description": "First day."})
    period_end = fields.Date(attribute="period.end", metadata={"description": "Last day."})
    value = Number(
        allow_none=True,
        metadata={
            "description": "The (transformed) value, in the series unit; null with a "
            "note when it cannot be computed.",
            "example": 31.06,
        },
    )
    observed = Number(metadata={"description": "The stored value before any transform."})
    basis = Number(
        allow_none=True, metadata={"description": "The value it was compared with, if any."}
    )
    basis_statistic_id = fields.Integer(
        allow_none=True, metadata={"description": "The statistic `basis` comes from."}
    )
    note = fields.String(allow_none=True, metadata={"description": "Why value is null."})
    source_id = fields.Integer(metadata={"description": "The source of the observed value."})
    citation = fields.String(metadata={"description": "That source, cited in one line."})
    statistic_id = fields.Integer(metadata={"description": "The statistic observed."})


class SeriesSchema(Schema):
    indicator = fields.Nested(
        IndicatorReferenceSchema, metadata={"description": "What is measured."}
    )
    region = fields.String(metadata={"description": "Region code.", "example": "CN"})
    region_name = fields.Function(
        lambda series: region_name(series.region), metadata={"description": "Region name."}
    )
    segment = fields.Nested(ReferenceSchema, metadata={"description": "Which part of the whole."})
    frequency = fields.String(
        allow_none=True, metadata={"description": "The frequency of every point."}
    )
    transform = fields.String(metadata={"description": "The transform applied."})
    unit = fields.String(metadata={"description": "Unit of `value`: the indicator's, or percent."})
    share_of = fields.String(
        allow_none=True, metadata={"description": "The whole, for transform=share."}
    )
    sources = fields.List(
        fields.Nested(SourceReferenceSchema), metadata={"description": "Every source used."}
    )
    points = fields.List(fields.Nested(PointSchema), metadata={"description": "By period."})


POINT = PointSchema()  # built once; see api.resource


@blp.route("")
class Series(MethodView):
    @cached
    @blp.arguments(SeriesQuery, location="query", unknown=RAISE)
    @blp.response(200, SeriesSchema)
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @blp.doc(
        operationId="get_series",
        responses={
            200: {
                "content": {
                    "text/csv": formats.LIST_CONTENT["text/csv"],
                    "image/svg+xml": {"schema": {"type": "string"}},
                }
            }
        },
    )
    def get(self, args):
        """Read a series, ordered by period, optionally transformed"""
        name = formats.negotiate(args.pop("format", None), SERIES_FORMATS)
        found = model.series(args.pop("indicator"), args.pop("region"), args.pop("segment"), **args)
        vary = {"Vary": "Accept"}
        if name == "svg":
            return current_app.response_class(
                series_svg(found), mimetype="image/svg+xml", headers=vary
            )
        if name == "csv":
            points = POINT.dump(found.points, many=True)
            body = formats.to_csv(points, list(POINT.dump_fields))
            return current_app.response_class(body, mimetype="text/csv", headers=vary)
        return found, vary
