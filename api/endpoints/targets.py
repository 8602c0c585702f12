"""Targets: what someone has committed to reach, by when."""

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from api.caching import cached
from api.endpoints.series import figures_href
from api.fields import Code, Id, Number, PeriodField, QueryId, QueryInteger, Region
from api.resource import crud_blueprint
from api.schemas import (
    AsOfQuery,
    QuerySchema,
    SourcedSchema,
    any_of,
    rank_field,
    rank_filter,
    rank_reason_field,
    search_field,
    sort_field,
    status_field,
    status_filter,
)
from models import progress as target_progress
from models import records
from models.tables import Target

DIRECTIONS = ("at_least", "at_most", "exactly")
STATUSES = ("active", "achieved", "missed", "withdrawn")


class ProgressSchema(Schema):
    status = fields.String(
        metadata={
            "description": "met, on_track, off_track or insufficient_data: see the operation's "
            "description for the rules.",
            "enum": ["met", "on_track", "off_track", "insufficient_data"],
            "example": "met",
        }
    )
    basis = fields.String(
        allow_none=True,
        metadata={
            "description": "annual when a full-year figure exists; else the frequency of the "
            "latest (partial) period.",
            "example": "quarterly",
        },
    )
    # marshmallow takes declared fields out of the class: this one leaves Schema.partial be.
    partial = fields.Boolean(  # type: ignore[assignment]
        allow_none=True,
        metadata={
            "description": "True when the figure covers less than a year: reported as "
            "it is, never annualized.",
            "example": True,
        },
    )
    period = PeriodField(
        allow_none=True, metadata={"description": "The period of `actual`.", "example": "2025-Q1"}
    )
    actual = Number(
        allow_none=True, metadata={"description": "The latest figure, in `unit`.", "example": 31.06}
    )
    unit = fields.String(metadata={"description": "The target's unit.", "example": "percent"})
    percent_reached = Number(
        allow_none=True, metadata={"description": "actual / target_value, in percent."}
    )
    gap = Number(allow_none=True, metadata={"description": "target_value minus actual."})
    years_left = fields.Integer(
        allow_none=True, metadata={"description": "From the actual's year to the target's."}
    )
    required_annual_growth_pct = Number(
        allow_none=True,
        metadata={
            "description": "Compound annual growth needed from the latest annual "
            "figure to reach the target in time."
        },
    )
    achieved_annual_growth_pct = Number(
        allow_none=True,
        metadata={
            "description": "Compound annual growth between the first and the latest annual figures."
        },
    )
    note = fields.String(allow_none=True, metadata={"description": "Why a figure is missing."})
    statistic_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The statistic `actual` is (of a share, the part's): of several "
            "figures for its period, the preferred one, else the most recently published "
            "normal one; never a deprecated one, never a forecast.",
            "example": 4,
        },
    )
    alternatives = fields.Integer(
        allow_none=True,
        metadata={
            "description": "How many other stored figures answer the same question as that "
            "statistic (forecasts and deprecated ones included).",
            "example": 0,
        },
    )
    figures_href = fields.Function(
        lambda progress: figures_href(progress.question) if progress.question else None,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "Every stored figure answering that question.",
            "example": "/v1/statistics?indicator=vehicle_exports&region=CN"
            "&segment=new_energy_vehicles&period=2025-Q1",
        },
    )


class TargetSchema(SourcedSchema):
    id = fields.Integer(dump_only=True, metadata={"description": "Assigned by the service."})
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "The commitment, in words.",
            "example": "Export 30 million vehicles by 2030",
        },
    )
    issuer = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Who set the target."},
    )
    region = Region(
        required=True,
        metadata={"description": "ISO 3166-1 alpha-2 code, or WORLD or EU.", "example": "CN"},
    )
    industry = Code(
        load_default=None,
        allow_none=True,
        metadata={"description": "The industry concerned.", "example": "automotive"},
    )
    indicator = Code(
        required=True,
        metadata={
            "description": "What is measured: an indicator code.",
            "example": "vehicle_exports",
        },
    )
    segment = Code(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The segment targeted (all of it when absent).",
            "example": "total",
        },
    )
    share_of = Code(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Makes this a share target: segment as a percentage of this segment.",
            "example": None,
        },
    )
    target_value = Number(
        required=True,
        metadata={"description": "The value to reach, in `unit`.", "example": 30000000},
    )
    unit = fields.String(
        dump_only=True,
        metadata={"description": "The indicator's unit, or `percent` for a share target."},
    )
    target_period = PeriodField(
        required=True,
        metadata={"description": "The period by which to reach it.", "example": "2030"},
    )
    target_period_start = fields.Date(
        dump_only=True, metadata={"description": "First day of the target period."}
    )
    target_period_end = fields.Date(
        dump_only=True, metadata={"description": "Last day of the target period: the deadline."}
    )
    direction = fields.String(
        load_default="at_least",
        validate=validate.OneOf(DIRECTIONS),
        metadata={"description": "Whether the value is a floor, a ceiling or exact."},
    )
    baseline_value = Number(
        load_default=None,
        allow_none=True,
        metadata={"description": "The value the target starts from, in `unit`."},
    )
    baseline_period = PeriodField(
        load_default=None,
        allow_none=True,
        metadata={"description": "The period of baseline_value; give both or neither."},
    )
    status = fields.String(
        load_default="active",
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Where the commitment stands.", "example": "active"},
    )
    value_status = status_field(
        "What kind of number target_value is (`status` is the commitment's own):"
    )
    announced_on = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "When it was announced.", "example": "2025-05-10"},
    )
    progress = fields.Nested(
        ProgressSchema,
        dump_only=True,
        metadata={"description": "Present with include=progress."},
    )
    event_id = Id(
        attribute="event",
        load_default=None,
        allow_none=True,
        metadata={"description": "The event it was announced at, if any.", "example": 1},
    )
    rank = rank_field()
    rank_reason = rank_reason_field()


class TargetQuery(QuerySchema):
    region = any_of(Region(), "Only targets for these regions.")
    indicator = any_of(Code(), "Only targets on these indicators.")
    segment = any_of(Code(), "Only targets on these segments.")
    status = any_of(
        fields.String(validate=validate.OneOf(STATUSES)), "Only targets in these statuses."
    )
    value_status = status_filter("Only targets whose value is of these statuses.")
    rank = rank_filter("Only targets of these ranks.")
    industry = any_of(Code(), "Only targets of these industries.")
    source_id = any_of(QueryId(), "Only targets reported by these sources.")
    event_id = any_of(QueryId(), "Only targets announced at these events.")
    year_from = QueryInteger(
        validate=validate.Range(min=1, max=9999),
        metadata={"description": "Only targets due in this year or later."},
    )
    year_to = QueryInteger(
        validate=validate.Range(min=1, max=9999),
        metadata={"description": "Only targets due in this year or earlier."},
    )
    include = any_of(
        fields.String(validate=validate.OneOf(["progress"])),
        "progress: embed each target's progress (as GET /v1/targets/{id}/progress).",
    )
    q = search_field()
    sort = sort_field(Target)


blp = crud_blueprint(
    Target,
    TargetSchema,
    TargetQuery,
    description="Commitments (30 million vehicle exports by 2030), each citing its source.",
    embeds={"progress": target_progress.progress},
)


@blp.route(
    "/<id:id>/progress",
    parameters=[{"in": "path", "name": "id", "description": "The target's id."}],
)
class TargetProgress(MethodView):
    @cached
    @blp.arguments(AsOfQuery, location="query", unknown=RAISE)
    @blp.response(200, ProgressSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(
        operationId="get_target_progress",
        description=target_progress.__doc__.split("\n", 1)[1].strip(),
    )
    def get(self, args, id):
        """Measure a target against the latest statistics"""
        return target_progress.progress(records.fetch(Target, id))
