"""The timeline: events, statistics and targets in one date-ordered list."""

from flask import url_for
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from api import formats
from api.caching import cached
from api.endpoints.series import figures_href
from api.fields import Code, Region
from api.pagination import LIST_HEADERS, paginate, take_paging
from api.resource import BLUEPRINTS, Blueprint
from api.schemas import QuerySchema, any_of, search_field
from models.facts import TYPES, describe, timeline
from models.resources import collection

blp = Blueprint(
    "facts",
    __name__,
    url_prefix="/v1/facts",
    description="Every fact in one timeline: events by date, statistics by the end of their "
    "period, targets by the day they were announced.",
)


class FactsQuery(QuerySchema):
    class Meta:
        exclude = ("cursor",)  # a union of three tables is paged by number

    types = any_of(
        fields.String(validate=validate.OneOf(TYPES)),
        "Only these kinds of fact: event, statistic, target (default: all).",
    )
    region = any_of(Region(), "Only facts about these regions (an event's country).")
    industry = any_of(Code(), "Only facts of these industries.")
    date_from = fields.Date(
        data_key="from", metadata={"description": "Only facts dated on or after."}
    )
    date_to = fields.Date(data_key="to", metadata={"description": "Only facts dated on or before."})
    q = search_field(order="; the timeline stays in date order")


class FactSchema(Schema):
    type = fields.String(
        metadata={"description": "event, statistic or target.", "enum": list(TYPES)}
    )
    id = fields.Integer(metadata={"description": "The id within its type."})
    date = fields.Date(metadata={"description": "Where it falls on the timeline."})
    title = fields.String(metadata={"description": "What it says, in one line."})
    region = fields.String(allow_none=True, metadata={"description": "Region or country code."})
    industry = fields.String(allow_none=True, metadata={"description": "Industry code."})
    source_id = fields.Integer(metadata={"description": "The source it is taken from."})
    quote = fields.String(allow_none=True, metadata={"description": "The source's words."})
    citation = fields.String(metadata={"description": "The source, cited in one line."})
    href = fields.String(metadata={"description": "The full record.", "example": "/v1/events/1"})
    alternatives = fields.Integer(
        allow_none=True,
        metadata={
            "description": "A statistic: how many other stored figures answer its question "
            "(indicator, region, segment, period), deprecated ones included. The timeline "
            "holds only the figure used: the preferred one, else the most recently published "
            "normal one, never a deprecated one. Null for events and targets.",
            "example": 0,
        },
    )
    figures_href = fields.String(
        allow_none=True,
        metadata={
            "description": "A statistic: every stored figure answering its question, this "
            "one included. Null for events and targets.",
            "example": "/v1/statistics?indicator=vehicle_exports&region=CN&segment=total"
            "&period=2025-Q1",
        },
    )


FACT = FactSchema()  # built once; see api.resource


@blp.route("")
class Facts(MethodView):
    @cached
    @blp.arguments(FactsQuery, location="query", unknown=RAISE)
    @blp.response(200, FactSchema(many=True), headers=LIST_HEADERS)
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    @blp.doc(operationId="list_facts", responses={200: {"content": formats.LIST_CONTENT}})
    def get(self, args):
        """List events, statistics and targets in one timeline, oldest first"""
        name = formats.negotiate(args.pop("format", None))
        paging = take_paging(args)
        rows, headers = paginate(timeline(**args), None, **paging)
        for row in describe(rows):
            row["href"] = url_for(BLUEPRINTS[collection(row["type"])].item_endpoint, id=row["id"])
            question = row.pop("question")
            row["figures_href"] = figures_href(question) if question else None
        return formats.render(rows, FACT, name, headers)
