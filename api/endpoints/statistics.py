"""Statistics: one measured value of an indicator, for a region, segment and period."""

from marshmallow import fields, validate

from api.fields import Code, Id, Number, PeriodField, QueryId, QueryNumber, Region
from api.resource import crud_blueprint
from api.schemas import (
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
from models.periods import FREQUENCIES
from models.tables import Statistic

CHANGE_BASES = ("yoy", "previous_period")


class StatisticSchema(SourcedSchema):
    id = fields.Integer(dump_only=True, metadata={"description": "Assigned by the service."})
    indicator = Code(
        required=True,
        metadata={
            "description": "What is measured: an indicator code.",
            "example": "vehicle_exports",
        },
    )
    region = Region(
        required=True,
        metadata={"description": "ISO 3166-1 alpha-2 code, or WORLD or EU.", "example": "CN"},
    )
    segment = Code(
        required=True,
        metadata={"description": "Which part of the whole: a segment code.", "example": "total"},
    )
    period = PeriodField(
        required=True,
        metadata={
            "description": "2025, 2025-H1, 2025-Q1, 2025-03, 2025-03-14 or an ISO 8601 interval "
            "(2025-01-01/2025-04-30); returned in its canonical form.",
            "example": "2025-Q1",
        },
    )
    period_start = fields.Date(
        dump_only=True,
        metadata={"description": "First day of the period.", "example": "2025-01-01"},
    )
    period_end = fields.Date(
        dump_only=True, metadata={"description": "Last day of the period.", "example": "2025-03-31"}
    )
    frequency = fields.String(
        dump_only=True,
        metadata={
            "description": "The calendar unit the period is one of (irregular if none).",
            "enum": list(FREQUENCIES),
            "example": "quarterly",
        },
    )
    value = Number(
        required=True,
        metadata={"description": "The figure, exact, in the indicator's unit.", "example": 1420000},
    )
    unit = fields.String(
        dump_only=True, metadata={"description": "The indicator's unit.", "example": "vehicles"}
    )
    change_pct = Number(
        load_default=None,
        allow_none=True,
        metadata={"description": "The change the source states, in percent.", "example": 7.3},
    )
    change_basis = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(CHANGE_BASES),
        metadata={"description": "What change_pct compares with.", "example": "yoy"},
    )
    implied_prior_value = Number(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "The value a period earlier (change_basis) that change_pct implies, "
            "as precise as `value`.",
            "example": 1323392,
        },
    )
    derived_change_pct = Number(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "The change computed from the stored comparison observation, when "
            "there is one to use (2 decimals): among the figures for the compared period, the "
            "one the service uses (preferred, else the most recently published; never a "
            "deprecated one or a forecast).",
            "example": 7.33,
        },
    )
    change_consistent = fields.Boolean(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Whether change_pct agrees with derived_change_pct within the "
            "bounds of the value and of the compared one (each one's stated lower and upper, "
            "else its stated precision, else half a unit of its last significant digit) and "
            "the rounding of change_pct; null when not checked (see change_note).",
            "example": True,
        },
    )
    change_note = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Why change_pct was not checked, when it was not: a forecast is "
            "never judged, nor compared with; the compared figure is the one the service uses "
            "for that period (never a deprecated one); or none is stored.",
            "example": "Not checked: 2024-Q1 has only a forecast, which is not compared with.",
        },
    )
    status = status_field("What kind of number the value is:")
    precision = Number(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={
            "description": "Half the width of the value's rounding, as the source states it: "
            '5000 for "1.42 million". Give it or lower and upper, not both; without either, '
            "the precision is inferred from the value's last significant digit.",
            "example": 5000,
        },
    )
    lower = Number(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The lowest the figure may be, as stated; with upper.",
            "example": 1415000,
        },
    )
    upper = Number(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The highest the figure may be, as stated; with lower.",
            "example": 1425000,
        },
    )
    precision_basis = fields.String(
        dump_only=True,
        metadata={
            "description": "stated (precision or bounds were given) or inferred (from the "
            "value's digits): where range_low and range_high come from.",
            "enum": ["stated", "inferred"],
            "example": "inferred",
        },
    )
    range_low = Number(
        dump_only=True,
        metadata={
            "description": "The lowest the figure may be: what the checks compare with.",
            "example": 1415000,
        },
    )
    range_high = Number(
        dump_only=True,
        metadata={
            "description": "The highest the figure may be (excluded when inferred from "
            "rounding: 1425000 would be 1.43 million).",
            "example": 1425000,
        },
    )
    event_id = Id(
        attribute="event",
        load_default=None,
        allow_none=True,
        metadata={"description": "The event the figure was announced at, if any."},
    )
    rank = rank_field()
    rank_reason = rank_reason_field()


class StatisticQuery(QuerySchema):
    indicator = any_of(Code(), "Only these indicators (codes).")
    region = any_of(Region(), "Only these regions, e.g. `CN,DE`.")
    segment = any_of(Code(), "Only these segments (codes).")
    industry = any_of(Code(), "Only indicators of these industries.")
    source_id = any_of(QueryId(), "Only figures from these sources.")
    event_id = any_of(QueryId(), "Only figures announced at these events.")
    frequency = any_of(
        fields.String(validate=validate.OneOf(FREQUENCIES)), "Only periods of these frequencies."
    )
    period_from = PeriodField(
        metadata={
            "description": "Only periods that end on or after this period starts "
            "(any period syntax, e.g. 2024-Q1).",
            "example": "2024-Q1",
        }
    )
    period_to = PeriodField(
        metadata={
            "description": "Only periods that start on or before this period ends.",
            "example": "2025",
        }
    )
    period = PeriodField(
        metadata={
            "description": "Only this exact period (any period syntax: 2025-Q1 is also "
            "2025-01-01/2025-03-31). With indicator, region and segment: every stored figure "
            "answering one question, the one the series uses and its alternatives.",
            "example": "2025-Q1",
        }
    )
    status = status_filter("Only values of these statuses.")
    rank = rank_filter("Only figures of these ranks.")
    value_min = QueryNumber(metadata={"description": "Only values at least this."})
    value_max = QueryNumber(metadata={"description": "Only values at most this."})
    q = search_field()
    sort = sort_field(Statistic)


blp = crud_blueprint(
    Statistic,
    StatisticSchema,
    StatisticQuery,
    description="Measured values: an indicator for a region, segment and period, with its source.",
)
