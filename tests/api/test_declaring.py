"""A kind of record declared in a test gets every resource's features from its declaration.

Widgets are a table, a schema and a query schema defined here, and one `Resource`. With no
other code they get CRUD with ETags, filters, sorts, search, revisions, the changes feed,
reads as of a past instant, the import and dump/restore, on each backend.
"""

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from marshmallow import fields, validate
from peewee import CharField, ForeignKeyField, IntegerField, TextField

from api import create_app
from api.resource import BLUEPRINTS, crud_blueprint
from api.schemas import QuerySchema, RecordSchema, any_of, search_field, sort_field
from models import dump, resources
from models.db import database
from models.schema import create_schema, drop_schema
from models.tables import IdField, Record
from tests.conftest import make_key
from tests.helpers import read


class Widget(Record):
    id = IdField()
    name = CharField(100, unique=True)
    colour = CharField(20, index=True)
    weight = IntegerField(index=True)
    notes = TextField(null=True)


class WidgetSchema(RecordSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    colour = fields.String(required=True, validate=validate.Length(min=1, max=20))
    weight = fields.Integer(required=True)
    notes = fields.String(load_default=None, allow_none=True)


def _light_enough(record: dict, key) -> dict:
    return {"weight": "A widget cannot weigh less than nothing."} if record["weight"] < 0 else {}


WIDGETS = resources.Resource(
    Widget,
    "widgets",
    filters={
        "colour": resources.any_of(Widget.colour),
        "weight_min": resources.since(Widget.weight),
    },
    sorts={"id": Widget.id, "name": Widget.name, "weight": Widget.weight},
    default_sort=("name",),
    natural_key=("name",),
    rules=_light_enough,
    document=lambda: Widget.select(Widget.id, resources.text(Widget.name, Widget.notes)),
)


@pytest.fixture
def widgets(database_url):
    """A seeded app with widgets declared, and a key to write with."""
    resources.register(WIDGETS)
    try:

        class WidgetQuery(QuerySchema):
            colour = any_of(fields.String(), "Only widgets of these colours.")
            weight_min = fields.Integer(metadata={"description": "Only widgets this heavy."})
            q = search_field()
            sort = sort_field(Widget)

        crud_blueprint(Widget, WidgetSchema, WidgetQuery, description="Widgets.")
        app = create_app({"TESTING": True, "DATABASE_URL": database_url})
        with app.app_context():
            drop_schema()
            create_schema()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_key(app, 'write')}"
        yield app, client
    finally:
        resources.unregister("widgets")
        BLUEPRINTS.pop("widgets", None)


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [widget["name"] for widget in response.get_json()]


def test_a_declared_resource_gets_crud_lists_search_and_history(widgets):
    app, client = widgets
    body = {"name": "sprocket", "colour": "red", "weight": 3, "notes": "a toothed wheel"}
    created = client.post("/v1/widgets", json=body)
    assert created.status_code == 201, created.get_json()
    location = created.headers["Location"]
    assert location == f"/v1/widgets/{created.get_json()['id']}"
    for name, colour, weight in (("gear", "blue", 7), ("cog", "red", 5)):
        made = client.post("/v1/widgets", json={"name": name, "colour": colour, "weight": weight})
        assert made.status_code == 201

    # The rules and the natural key.
    assert client.post("/v1/widgets", json=body | {"name": "x", "weight": -1}).status_code == 422
    assert client.post("/v1/widgets", json=body).status_code == 409

    # ETags: a read revalidates, a change needs the current one.
    fetched, etag = read(client, location)
    assert client.get(location, headers={"If-None-Match": etag}).status_code == 304
    assert client.patch(location, json={"weight": 4}).status_code == 428
    before_change = datetime.now(UTC).replace(tzinfo=None)
    changed = client.patch(location, json={"weight": 4}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2

    # Filters, sorts and search.
    assert names(client.get("/v1/widgets")) == ["cog", "gear", "sprocket"]
    assert names(client.get("/v1/widgets?colour=red&sort=-weight")) == ["cog", "sprocket"]
    assert names(client.get("/v1/widgets?weight_min=5")) == ["cog", "gear"]
    assert names(client.get("/v1/widgets?q=toothed")) == ["sprocket"]
    assert client.get("/v1/widgets?sort=colour").status_code == 422  # not a declared sort

    # Revisions, the changes feed and a read as of before the change.
    revisions = client.get(f"{location}/revisions").get_json()
    assert [(r["version"], r["change"], r["record"]["weight"]) for r in revisions] == [
        (2, "update", 4),
        (1, "create", 3),
    ]
    feed = client.get("/v1/changes?limit=1000").get_json()
    assert [c["resource"] for c in feed][-4:] == ["widgets"] * 4
    past = client.get(f"{location}?as_of={before_change.isoformat()}Z")
    assert past.status_code == 200 and past.get_json()["weight"] == 3
    assert names(client.get(f"/v1/widgets?weight_min=4&as_of={before_change.isoformat()}Z")) == [
        "cog",
        "gear",
    ]

    deleted = client.delete(location, headers={"If-Match": changed.headers["ETag"]})
    assert deleted.status_code == 204
    assert client.get(location).status_code == 404
    assert client.get(f"{location}/revisions").get_json()[0]["change"] == "delete"


def test_a_declared_resource_is_imported_dumped_and_restored(widgets):
    app, client = widgets
    document = {
        "widgets": [{"name": n, "colour": "green", "weight": w} for n, w in (("a", 1), ("b", 2))]
    }
    imported = client.post("/v1/import", json=document)
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json()["created"] == {"widgets": 2}
    again = client.post("/v1/import?on_conflict=error", json=document)
    assert again.status_code == 422  # the natural key, as for any resource
    bad = client.post("/v1/import", json={"widgets": [{"name": "c", "colour": "g", "weight": -1}]})
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["pointer"] == "/widgets/0/weight"

    spec = client.get("/openapi.json").get_json()
    assert "/v1/widgets/{id}/revisions" in spec["paths"]
    imports = spec["paths"]["/v1/import"]["post"]["requestBody"]["content"]["application/json"]
    assert "widgets" in imports["schema"]["properties"]

    listed = client.get("/v1/widgets").get_json()
    with app.app_context():
        lines = list(dump.export_rows())
        assert any(json.loads(line)["table"] == "widget_history" for line in lines)
        drop_schema()
        create_schema()
        counts = dump.import_rows(lines)
    database.close_all()
    assert counts["widget"] == 2
    # Keys run the service rather than being what it knows: a restore has none.
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_key(app, 'read')}"
    assert client.get("/v1/widgets").get_json() == listed
    assert names(client.get("/v1/widgets?q=b")) == ["b"]  # the search index is rebuilt
    revisions = client.get(f"/v1/widgets/{listed[0]['id']}/revisions").get_json()
    assert [r["change"] for r in revisions] == ["create"]


def test_a_declaration_that_does_not_fit_its_table_fails_when_registered():
    broken = {
        "natural key without a unique index": {"natural_key": ("colour",)},
        "a sort that is not a column of its own": {"sorts": {"id": Record.version}},
        "a default sort it does not declare": {"default_sort": ("colour",)},
        "no default sort": {"default_sort": ()},
    }
    for why, change in broken.items():
        declaration = dataclasses.replace(WIDGETS, **change)
        with pytest.raises(TypeError):
            resources.register(declaration)
        assert "widgets" not in resources.REGISTRY, why
    resources.register(WIDGETS)
    try:
        with pytest.raises(TypeError, match="declared twice"):
            resources.register(WIDGETS)
    finally:
        resources.unregister("widgets")


def test_a_resource_that_refers_to_an_undeclared_one_stops_the_app_from_starting(tmp_path):
    class Gadget(Record):
        id = IdField()
        widget = ForeignKeyField(Widget)

    declaration = dataclasses.replace(
        WIDGETS,
        model=Gadget,
        collection="gadgets",
        natural_key=(),
        document=None,
        filters={},
        sorts={"id": Gadget.id},
        default_sort=("id",),
    )
    resources.register(declaration)
    try:
        with pytest.raises(TypeError, match="widget refers to Widget, which is not declared"):
            create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    finally:
        resources.unregister("gadgets")
