"""Events: things that happened on a date, such as a launch or a policy announcement."""

from marshmallow import fields, validate

from api.fields import Code, QueryId, Region
from api.resource import crud_blueprint
from api.schemas import QuerySchema, SourcedSchema, any_of, search_field, sort_field
from models.tables import Event


class EventSchema(SourcedSchema):
    id = fields.Integer(dump_only=True, metadata={"description": "Assigned by the service."})
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "What happened.", "example": "China Auto Brand Promotion"},
    )
    kind = Code(
        required=True,
        metadata={"description": "What sort of event (launch, policy, ...).", "example": "launch"},
    )
    date = fields.Date(
        required=True,
        metadata={"description": "When it happened (or began).", "example": "2025-05-10"},
    )
    end_date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "When it ended, if it lasted."}
    )
    city = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Where it happened.", "example": "Beijing"},
    )
    country = Region(
        countries_only=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "ISO 3166-1 alpha-2 code.", "example": "CN"},
    )
    industry = Code(
        load_default=None,
        allow_none=True,
        metadata={"description": "The industry concerned.", "example": "automotive"},
    )
    theme = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={
            "description": "The motto it was held under.",
            "example": "New Era of National Automotive Innovation",
        },
    )
    summary = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=5000),
        metadata={"description": "What happened, in a few sentences."},
    )
    topics = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={
            "description": "What it was about, as short phrases.",
            "example": ["electric vehicles", "smart transportation"],
        },
    )


class EventQuery(QuerySchema):
    date_from = fields.Date(
        data_key="from", metadata={"description": "Only events on or after this date."}
    )
    date_to = fields.Date(data_key="to", metadata={"description": "Only events on or before."})
    country = any_of(Region(countries_only=True), "Only events in these countries.")
    industry = any_of(Code(), "Only events of these industries.")
    kind = any_of(Code(), "Only events of these kinds.")
    topic = any_of(
        fields.String(validate=validate.Length(min=1, max=100)),
        "Only events with one of these topics.",
    )
    source_id = any_of(QueryId(), "Only events reported by these sources.")
    q = search_field()
    sort = sort_field(Event)


blp = crud_blueprint(
    Event,
    EventSchema,
    EventQuery,
    description="Dated happenings (launches, announcements), each citing its source.",
)
