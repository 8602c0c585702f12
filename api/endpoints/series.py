"""One observation series, ordered by period, optionally transformed: the analyst's view."""

from typing import Any
from urllib.parse import quote, urlencode

from flask import current_app, url_for
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from api import formats
from api.caching import cached
from api.charts import series_svg
from api.fields import Code, Number, PeriodField, QueryId, QueryInteger, Region
from api.resource import Blueprint
from api.schemas import AsOfQuery, SeveralValues
from models import figures
from models import series as model
from models.errors import Invalid
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
            "description": "Only this source's figures. Without it, where several figures "
            "answer a period, the series uses one: the preferred one, else the most recently "
            "published normal one (by its source's published_on, then the source's id), never "
            "a deprecated one. Forecasts are chosen like any figure, and say so in `status`.",
            "example": 1,
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
            "whose comparison is missing has value null and a note saying why. A point whose "
            "status is break starts the series anew: no transform but share compares it, or a "
            "later point, with a period that starts before it (value null, with a note).",
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
    vintages = fields.Boolean(
        load_default=False,
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "true: add `vintages`, every stored figure of each period (one per "
            "source, deprecated ones too, marked by their rank), oldest publication first: "
            "the first release, each revision, the latest. With format=csv, one row per "
            "figure. Only with transform=none.",
            "example": True,
        },
    )
    vintage_dates = SeveralValues(
        # An empty date is refused, and the spec says so (tests/api/test_schemas.py).
        fields.Date(metadata={"minLength": 1}),
        validate=validate.Length(min=1, max=model.MOST_VINTAGE_DATES),
        metadata={
            "description": "Up to 20 dates, comma-separated: for each period, the figure the "
            "series would have used among those published on or before each date (by their "
            "source's published_on; a source without one counts as unpublished), null where "
            "none was. In `vintages`, under `by_date`; with format=csv, one row per period "
            "and one column per date, in date order. Only with transform=none.",
            "example": ["2025-06-01", "2026-06-01"],
        },
    )
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
    statistic_id = fields.Integer(
        metadata={"description": "The statistic observed: the figure chosen.", "example": 4}
    )
    status = fields.String(
        metadata={
            "description": "What kind of number the observed figure is (a forecast is shown "
            "as one); break: the series starts anew here, and is not compared across it.",
            "enum": list(figures.STATUSES),
            "example": "reported",
        }
    )
    rank = fields.String(
        metadata={
            "description": "The chosen figure's rank: preferred or normal (a deprecated one "
            "is never chosen).",
            "enum": ["preferred", "normal"],
            "example": "normal",
        }
    )
    alternatives = fields.Integer(
        metadata={
            "description": "How many other stored figures answer the same question "
            "(indicator, region, segment, period), deprecated ones included.",
            "example": 0,
        }
    )
    figures_href = fields.String(
        metadata={
            "description": "Every stored figure answering this point's question: the chosen "
            "one and its alternatives.",
            "example": "/v1/statistics?indicator=vehicle_exports&region=CN"
            "&segment=new_energy_vehicles&period=2025-Q1",
        }
    )


RELEASE_EXAMPLE = {
    "statistic_id": 1,
    "source_id": 1,
    "published_on": "2025-05-11",
    "value": 1420000,
    "status": "reported",
    "rank": "normal",
    "chosen": True,
}
AS_PUBLISHED_EXAMPLE = {"date": "2025-06-01", "value": 1420000, "statistic_id": 1}


class ReleaseSchema(Schema):
    statistic_id = fields.Integer(metadata={"description": "The statistic.", "example": 1})
    source_id = fields.Integer(metadata={"description": "Its source.", "example": 1})
    published_on = fields.Date(
        allow_none=True,
        metadata={"description": "Its source's publication date.", "example": "2025-05-11"},
    )
    value = Number(metadata={"description": "The figure as published.", "example": 1420000})
    status = fields.String(
        metadata={
            "description": "What kind of number it is.",
            "enum": list(figures.STATUSES),
            "example": "reported",
        }
    )
    rank = fields.String(
        metadata={
            "description": "Its rank; a deprecated figure is listed, never used.",
            "enum": list(figures.RANKS),
            "example": "normal",
        }
    )
    chosen = fields.Boolean(
        metadata={"description": "Whether the series uses it today.", "example": True}
    )


class AsPublishedSchema(Schema):
    date = fields.Date(
        metadata={"description": "A vintage date asked for.", "example": "2025-06-01"}
    )
    value = Number(
        allow_none=True,
        metadata={
            "description": "The figure chosen among those published by then; null if none was.",
            "example": 1420000,
        },
    )
    statistic_id = fields.Integer(
        allow_none=True, metadata={"description": "The statistic it is.", "example": 1}
    )


class VintageSchema(Schema):
    period = PeriodField(metadata={"description": "Canonical period label.", "example": "2025-Q1"})
    releases = fields.List(
        fields.Nested(ReleaseSchema),
        allow_none=True,
        metadata={
            "description": "With vintages=true: every stored figure, oldest first; else null.",
            "example": [RELEASE_EXAMPLE],
        },
    )
    by_date = fields.List(
        fields.Nested(AsPublishedSchema),
        allow_none=True,
        metadata={
            "description": "With vintage_dates: the figure as of each date, in order; else null.",
            "example": [AS_PUBLISHED_EXAMPLE],
        },
    )


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
    vintage_dates = fields.List(
        fields.Date(),
        allow_none=True,
        metadata={
            "description": "With vintage_dates: the dates asked for, in order, once each; "
            "else null.",
            "example": ["2025-06-01", "2026-06-01"],
        },
    )
    vintages = fields.List(
        fields.Nested(VintageSchema),
        allow_none=True,
        metadata={
            "description": "With vintages=true or vintage_dates: each period that has a "
            "stored figure (only deprecated ones, too), by period; else null.",
            "example": [
                {
                    "period": "2025-Q1",
                    "releases": [RELEASE_EXAMPLE],
                    "by_date": [AS_PUBLISHED_EXAMPLE],
                }
            ],
        },
    )


POINT = PointSchema()  # built once; see api.resource
RELEASE = ReleaseSchema()
AS_PUBLISHED = AsPublishedSchema()
RELEASE_COLUMNS = ["period", *RELEASE.dump_fields]


def figures_href(question: dict[str, Any]) -> str:
    """Where every stored figure answering `question` (indicator, region, segment, period)
    is listed."""
    return url_for("statistics.Statistics", **question)


def _with_figures_hrefs(found: model.Series) -> None:
    # One url_for for the series, not one per point: a series can be long.
    prefix = f"{url_for('statistics.Statistics')}?{urlencode(found.question)}&period="
    for point in found.points:
        point.figures_href = prefix + quote(point.period.label, safe="")  # type: ignore[attr-defined]


def _vintages_csv(found: model.Series) -> str:
    """One row per period and column per vintage date; else one row per stored figure."""
    vintages = found.vintages or []
    if found.vintage_dates:
        columns = ["period", *(day.isoformat() for day in found.vintage_dates)]
        rows = [
            {"period": v.period.label}
            | {p.date.isoformat(): AS_PUBLISHED.dump(p)["value"] for p in v.by_date or []}
            for v in vintages
        ]
        return formats.to_csv(rows, columns)
    rows = [
        {"period": v.period.label} | RELEASE.dump(release)
        for v in vintages
        for release in v.releases or []
    ]
    return formats.to_csv(rows, RELEASE_COLUMNS)


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
        vintages = args["vintages"] or "vintage_dates" in args
        if vintages and name == "svg":
            raise Invalid({"vintages": "Vintages are given as JSON or CSV, not as a chart."})
        if name == "csv" and args["vintages"] and "vintage_dates" in args:
            raise Invalid(
                {
                    "vintage_dates": "As CSV, ask for vintages=true (a row per figure) or "
                    "vintage_dates (a column per date), not both."
                }
            )
        found = model.series(args.pop("indicator"), args.pop("region"), args.pop("segment"), **args)
        vary = {"Vary": "Accept"}
        if name == "svg":
            return current_app.response_class(
                series_svg(found), mimetype="image/svg+xml", headers=vary
            )
        _with_figures_hrefs(found)
        if name == "csv":
            if vintages:
                body = _vintages_csv(found)
            else:
                points = POINT.dump(found.points, many=True)
                body = formats.to_csv(points, list(POINT.dump_fields))
            return current_app.response_class(body, mimetype="text/csv", headers=vary)
        return found, vary
