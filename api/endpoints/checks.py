"""Checks on the numbers: parts that should add up to their whole, and sources that disagree."""

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields

from api.caching import cached
from api.fields import Code, Number, PeriodField, QueryId, Region
from api.pagination import LIST_HEADERS, PagingSchema, paginate, take_paging
from api.resource import Blueprint
from api.schemas import AsOfQuery, any_of
from models import checks

blp = Blueprint(
    "checks",
    __name__,
    url_prefix="/v1/checks",
    description="Consistency checks over the stored statistics, within the rounding the "
    "figures allow (half a unit of each one's last significant digit).",
)


class ChecksQuery(AsOfQuery, PagingSchema):
    class Meta:
        exclude = ("cursor",)  # pages of a grouped query, by number

    indicator = any_of(Code(), "Only these indicators.")
    region = any_of(Region(), "Only these regions.")
    source_id = any_of(QueryId(), "Only figures from these sources.")
    period_from = PeriodField(metadata={"description": "Only periods ending on or after this."})
    period_to = PeriodField(metadata={"description": "Only periods starting on or before this."})


class PartSchema(Schema):
    segment = fields.String(metadata={"description": "Segment code."})
    value = Number(metadata={"description": "Its value."})


class CheckedPointSchema(Schema):
    indicator = fields.String(metadata={"description": "Indicator code."})
    region = fields.String(metadata={"description": "Region code."})
    segment = fields.String(
        metadata={"description": "Segment code (for a reconciliation, the whole)."}
    )
    period = PeriodField(metadata={"description": "Canonical period label."})
    period_start = fields.Date(attribute="period.start", metadata={"description": "First day."})
    period_end = fields.Date(attribute="period.end", metadata={"description": "Last day."})


class ReconciliationSchema(CheckedPointSchema):
    source_id = fields.Integer(metadata={"description": "The source all these figures are from."})
    value = Number(
        allow_none=True, metadata={"description": "The whole, if stored.", "example": 1420000}
    )
    parts = fields.List(fields.Nested(PartSchema), metadata={"description": "Additive parts."})
    parts_sum = Number(allow_none=True, metadata={"description": "Their sum.", "example": 1420000})
    difference = Number(allow_none=True, metadata={"description": "parts_sum minus value."})
    tolerance = Number(allow_none=True, metadata={"description": "What rounding allows."})
    overlapping = fields.List(
        fields.Nested(PartSchema),
        metadata={
            "description": "Non-additive parts (they cut across the others): reported, not summed."
        },
    )
    missing_parts = fields.List(
        fields.String(), metadata={"description": "Additive parts with no figure here."}
    )
    status = fields.String(
        metadata={
            "description": "consistent or inconsistent within tolerance; incomplete when the "
            "whole or an additive part is missing.",
            "enum": ["consistent", "inconsistent", "incomplete"],
        }
    )


class ReportSchema(Schema):
    statistic_id = fields.Integer(metadata={"description": "The statistic."})
    source_id = fields.Integer(metadata={"description": "Its source."})
    value = Number(metadata={"description": "The value that source gives."})


class ConflictSchema(CheckedPointSchema):
    reports = fields.List(fields.Nested(ReportSchema), metadata={"description": "Each source's."})
    spread = Number(metadata={"description": "Largest minus smallest value."})
    beyond_rounding = fields.Boolean(
        metadata={"description": "True when no single value is within every report's rounding."}
    )


@blp.route("/reconciliation")
class Reconciliation(MethodView):
    @cached
    @blp.arguments(ChecksQuery, location="query", unknown=RAISE)
    @blp.response(200, ReconciliationSchema(many=True), headers=LIST_HEADERS)
    @blp.doc(operationId="check_reconciliation")
    def get(self, args):
        """Check that additive parts sum to their whole, per indicator, region, period, source"""
        rows, headers = paginate(checks.reconciliation_groups(args), None, **take_paging(args))
        return checks.reconcile(rows), headers


@blp.route("/conflicts")
class Conflicts(MethodView):
    @cached
    @blp.arguments(ChecksQuery, location="query", unknown=RAISE)
    @blp.response(200, ConflictSchema(many=True), headers=LIST_HEADERS)
    @blp.doc(operationId="list_conflicts")
    def get(self, args):
        """List series points that two or more sources report with different values"""
        rows, headers = paginate(checks.conflict_groups(args), None, **take_paging(args))
        return checks.conflicts(rows), headers
