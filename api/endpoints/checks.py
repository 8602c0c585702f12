"""Checks on the numbers: parts that should add up to their whole, and sources that disagree."""

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields

from api.caching import cached
from api.fields import Code, Number, PeriodField, QueryId, Region
from api.pagination import LIST_HEADERS, PagingSchema, paginate, take_paging
from api.resource import Blueprint
from api.schemas import AsOfQuery, any_of
from models import checks, figures

blp = Blueprint(
    "checks",
    __name__,
    url_prefix="/v1/checks",
    description="Consistency checks over the stored statistics, within the bounds each figure "
    "allows: its stated lower and upper, else its stated precision, else half a unit of its "
    "last significant digit (a rounded figure's upper end excluded: 1.42 million is at least "
    "1415000 and less than 1425000). Forecasts are never judged: they are left out of every "
    "check.",
)


class ChecksQuery(AsOfQuery, PagingSchema):
    class Meta:
        exclude = ("cursor",)  # pages of a grouped query, by number

    indicator = any_of(Code(), "Only these indicators.")
    region = any_of(Region(), "Only these regions.")
    source_id = any_of(QueryId(), "Only figures from these sources.")
    period_from = PeriodField(metadata={"description": "Only periods ending on or after this."})
    period_to = PeriodField(metadata={"description": "Only periods starting on or before this."})


class ConflictsQuery(ChecksQuery):
    resolved = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "true: only resolved conflicts (the figures not deprecated all "
            "agree); false: only open ones. All by default.",
            "example": False,
        },
    )


RANGE_LOW = "The lowest the figure may be: its stated lower, else value minus its precision."
RANGE_HIGH = (
    "The highest the figure may be: its stated upper, else value plus its precision "
    "(excluded when inferred from rounding: 1425000 would be 1.43 million)."
)
PRECISION_BASIS = {
    "description": "stated when a precision or bounds were given (for a sum, by any of its "
    "figures), inferred when the range comes from the digits alone.",
    "enum": ["stated", "inferred"],
    "example": "inferred",
}


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
    difference = Number(
        allow_none=True, metadata={"description": "parts_sum minus value.", "example": 0}
    )
    tolerance = Number(
        allow_none=True,
        metadata={
            "description": "Half the width of the whole's range plus half that of the parts' "
            "sum: the largest difference their bounds allow when both are symmetric about "
            "the figures. status compares the ranges themselves.",
            "example": 6000,
        },
    )
    precision_basis = fields.String(
        allow_none=True,
        metadata=PRECISION_BASIS | {"enum": ["stated", "inferred", None]},  # null if not summed
    )
    range_low = Number(
        allow_none=True,
        metadata={"description": "The whole's lowest: " + RANGE_LOW, "example": 1415000},
    )
    range_high = Number(
        allow_none=True,
        metadata={"description": "The whole's highest: " + RANGE_HIGH, "example": 1425000},
    )
    parts_sum_low = Number(
        allow_none=True,
        metadata={"description": "The sum of the parts' lowest values.", "example": 1419000},
    )
    parts_sum_high = Number(
        allow_none=True,
        metadata={"description": "The sum of the parts' highest values.", "example": 1421000},
    )
    overlapping = fields.List(
        fields.Nested(PartSchema),
        metadata={
            "description": "Non-additive parts (they cut across the others): reported, not summed."
        },
    )
    missing_parts = fields.List(
        fields.String(),
        metadata={
            "description": "Additive parts with no figure here (a forecast is none).",
            "example": ["commercial_vehicles"],
        },
    )
    forecasts = fields.List(
        fields.Nested(PartSchema),
        metadata={
            "description": "Figures of this group that are forecasts (the whole's among them, "
            "if it is one): left out of the check, which never judges a forecast.",
            "example": [{"segment": "passenger_cars", "value": 1300000}],
        },
    )
    note = fields.String(
        allow_none=True,
        metadata={
            "description": "What was left out, and why, when forecasts were.",
            "example": "Only forecasts, which are not checked: nothing to judge.",
        },
    )
    status = fields.String(
        metadata={
            "description": "consistent when some single value lies within both the whole's "
            "range and the parts' sum's, else inconsistent; incomplete when the whole or an "
            "additive part is missing or only a forecast (see note), including a group of "
            "forecasts only.",
            "enum": ["consistent", "inconsistent", "incomplete"],
            "example": "consistent",
        }
    )


class ReportSchema(Schema):
    statistic_id = fields.Integer(metadata={"description": "The statistic."})
    source_id = fields.Integer(metadata={"description": "Its source."})
    value = Number(metadata={"description": "The value that source gives."})
    rank = fields.String(
        metadata={
            "description": "How the figure ranks among those for the same point: a deprecated "
            "one is never used.",
            "enum": list(figures.RANKS),
            "example": "normal",
        }
    )
    published_on = fields.Date(
        allow_none=True,
        metadata={"description": "When its source was published.", "example": "2025-05-11"},
    )
    precision_basis = fields.String(metadata=PRECISION_BASIS)
    range_low = Number(metadata={"description": RANGE_LOW, "example": 1415000})
    range_high = Number(metadata={"description": RANGE_HIGH, "example": 1425000})


class ConflictSchema(CheckedPointSchema):
    reports = fields.List(fields.Nested(ReportSchema), metadata={"description": "Each source's."})
    spread = Number(metadata={"description": "Largest minus smallest value."})
    beyond_rounding = fields.Boolean(
        metadata={
            "description": "True when no single value lies within every report's range "
            "(range_low to range_high): they disagree beyond what their precision allows. "
            "False when they differ only within it (1420000 as 1.42 million and 1423000).",
            "example": True,
        }
    )
    chosen = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The statistic the service uses for this point (in series, facts, "
            "progress and the landing page): among the figures not deprecated, the preferred "
            "one, else the most recently published; null when every one is deprecated.",
            "example": 1,
        },
    )
    reason = fields.String(
        metadata={
            "description": "Why that one, in words.",
            "example": "the most recently published (2025-05-11)",
        }
    )
    resolved = fields.Boolean(
        metadata={
            "description": "True when the figures not deprecated all give the same value "
            "(one figure, or none, left in use included): nothing the service says is "
            "contradicted.",
            "example": False,
        }
    )


@blp.route("/reconciliation")
class Reconciliation(MethodView):
    @cached
    @blp.arguments(ChecksQuery, location="query", unknown=RAISE)
    @blp.response(200, ReconciliationSchema(many=True), headers=LIST_HEADERS)
    @blp.doc(operationId="check_reconciliation")
    def get(self, args):
        """Check that additive parts sum to their whole, per indicator, region, period, source

        Forecasts are left out: a group whose whole or an additive part is only a forecast
        is incomplete, with a note; a group of forecasts only is listed so, not dropped.
        """
        rows, headers = paginate(checks.reconciliation_groups(args), None, **take_paging(args))
        return checks.reconcile(rows), headers


@blp.route("/conflicts")
class Conflicts(MethodView):
    @cached
    @blp.arguments(ConflictsQuery, location="query", unknown=RAISE)
    @blp.response(200, ConflictSchema(many=True), headers=LIST_HEADERS)
    @blp.doc(operationId="list_conflicts")
    def get(self, args):
        """List series points that two or more sources report with different values

        Forecasts are left out: a forecast that differs from a reported figure is no
        conflict. A point whose figures differ only within their precision is listed with
        beyond_rounding false.
        """
        resolved = args.pop("resolved", None)
        groups = checks.conflict_groups(args, resolved)
        rows, headers = paginate(groups, None, **take_paging(args))
        return checks.conflicts(rows), headers
