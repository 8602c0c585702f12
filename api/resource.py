"""What every resource shares: lists in any format and page, ETags, and the two CRUD views."""

import hashlib
import http
import re
from functools import partial
from importlib import import_module
from typing import cast
from urllib.parse import unquote_to_bytes

import flask_smorest
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import RAISE, Schema, fields, missing
from peewee import Field
from webargs.flaskparser import FlaskParser, is_json_request

from api import auth, formats, idempotency
from api.caching import cached
from api.errors import response_name
from api.fields import UTCDateTime, acceptable_text
from api.pagination import LIST_HEADERS, PagingSchema, paginate, take_paging
from api.schemas import AsOfQuery, RecordSchema
from models import history, queries, records, resources
from models.resources import collection
from models.tables import Record

# The most characters If-Match or If-None-Match may have: dozens of our ETags, and far below
# what gunicorn takes in a header.
MAX_ETAGS_LENGTH = 1000
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string", "maxLength": MAX_ETAGS_LENGTH},
    "description": "The ETag from your last read of this record (or `*`). "
    "Without it the answer is 428; with a stale one, 412.",
    "example": '"1"',
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_ETAGS_LENGTH},
    "description": "An ETag you hold: the answer is 304 with no body if it is still current.",
}
ETAG_HEADER = {
    "ETag": {
        "description": "The record's version, to send back in If-Match when changing it.",
        "schema": {"type": "string", "example": '"1"'},
    }
}
VERSION_TAG = re.compile(r"([0-9]{1,9})(?:-[0-9a-f]{8})?")


class Parser(FlaskParser):
    """webargs' parser, reading bodies with the app's JSON (which refuses what Python's parser
    cannot take: see api.requests.JSONProvider), and refusing query strings no backend can store."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        return current_app.json.loads(req.get_data(cache=True))

    def load_querystring(self, req, schema):
        # Checked on the raw bytes: werkzeug leaves bytes that are not UTF-8 percent-encoded
        # in the values it gives, where they would pass for text.
        errors = {
            name: [problem]
            for name, problem in (_unreadable(pair) for pair in req.query_string.split(b"&"))
            if problem
        }
        if errors:
            abort(422, messages={"query": errors})
        return super().load_querystring(req, schema)


def _unreadable(pair: bytes) -> tuple[str, str | None]:
    """A query parameter's name, and why it cannot be taken (None if it can)."""
    name, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
    try:
        text = name.decode() + value.decode()  # an encoded surrogate is not UTF-8 either
    except UnicodeDecodeError:
        return name.decode(errors="replace"), "Not UTF-8: percent-encode text as UTF-8 bytes."
    # As in a body (api.schemas.InputSchema); PostgreSQL's text could not even hold a NUL.
    if not acceptable_text(text):
        return name.decode(), "Text cannot contain control characters (but tab and newline)."
    return name.decode(), None


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with our parser; every blueprint of the API is one."""

    ARGUMENTS_PARSER = Parser()
    # A resource's blueprint (crud_blueprint) also keeps its record schema, and the endpoint
    # of one record, for url_for.
    schema: type[RecordSchema]
    item_endpoint: str

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(partial(_document_what_every_operation_shares, self.name))
        self._prepare_doc_cbks.append(_document_headers)

    @staticmethod
    def headers(*parameters: dict):
        """Document header parameters of an operation beside those its arguments document:
        `doc(parameters=...)` would replace them (flask-smorest merges a list by replacing
        it), and a read would lose its `as_of`."""

        def decorator(view):
            view._apidoc = {**getattr(view, "_apidoc", {}), "headers": list(parameters)}
            return view

        return decorator


def _document_headers(doc: dict, doc_info: dict, **kwargs):
    doc.setdefault("parameters", []).extend(doc_info.get("headers", []))
    return doc


def _document_what_every_operation_shares(
    blueprint: str, doc: dict, doc_info: dict, *, app, method, **kwargs
):
    # Whether a key is needed follows from the method, the configuration and the blueprint,
    # as in auth.authenticate; an unknown or revoked key is refused whatever it needs.
    doc["security"] = auth.security(method, app.config["READ_REQUIRES_KEY"], blueprint)
    statuses = [401, 403] if doc["security"] else [401]
    # gunicorn refuses a request line or a header field too long for it before the app sees
    # the request, whatever the operation: see service/config.py.
    statuses += [414, 431]
    if blueprint != "health":  # rate limits count every request but the probes (api/limits.py)
        statuses.append(429)
        # Every operation but the probes reads the database: a 503 while it cannot be reached,
        # and for a write, a 507 when its storage is full (api/errors.handle_database_error).
        statuses.append(503)
        if method.upper() in auth.WRITE_METHODS:
            statuses.append(507)
    responses = doc.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(status, response_name(status))
    for status, response in responses.items():  # as flask-smorest names them: by Python's names
        named = isinstance(response, str) and str(status).isdigit()
        if named and response == http.HTTPStatus(int(status)).name:
            responses[status] = response_name(int(status))
    return doc


def list_response(model: type[Record], schema: Schema, args: dict, embeds: dict):
    """One page of a filtered, sorted, searched list, in the format the client asked for."""
    name = formats.negotiate(args.pop("format", None))
    paging = take_paging(args)
    sort, words, include = args.pop("sort", None), args.pop("q", None), args.pop("include", ())
    query, order = queries.listing(model, args, sort, words)
    rows, headers = paginate(query, order, **paging)
    for row in resources.of(model).annotate(rows):
        for key in dict.fromkeys(include):
            setattr(row, key, embeds[key](row))
    return formats.render(rows, schema, name, headers)


def represent(row: Record, schema: Schema, status: int = 200, headers: dict | None = None):
    """A record as JSON with its ETag, or an empty 304 when the client's copy is current.

    The ETag is the record's version, then a digest of the body: a read also shows what the
    record does not own (its source's citation, a change derived from another statistic),
    so cached copies revalidate when any of it changes, while writes are checked against
    the version alone. The body is serialized once, for both the digest and the response.
    """
    if request.method == "GET":
        _refuse_too_long("If-None-Match")
    body = current_app.json.dumps(schema.dump(row))
    tag = f'"{row.version}-{hashlib.blake2s(body.encode(), digest_size=4).hexdigest()}"'
    headers = {"ETag": tag} | (headers or {})
    if request.method == "GET" and request.if_none_match.contains_weak(tag.strip('"')):
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(
        body, status=status, mimetype="application/json", headers=headers
    )


def expected_versions() -> set[int] | None:
    """The versions If-Match accepts (None for `*`); 428 when the header is missing."""
    _refuse_too_long("If-Match")
    if "If-Match" not in request.headers:
        abort(
            428,
            message="Send If-Match with the ETag from your last read, so that you cannot "
            "overwrite a change you have not seen.",
        )
    if request.if_match.star_tag:
        return None
    # Our ETags are a version and a digest; anything else cannot match any version.
    matches = (VERSION_TAG.fullmatch(tag) for tag in request.if_match.as_set() if tag)
    return {int(match[1]) for match in matches if match}


def _refuse_too_long(header: str) -> None:
    # As the spec says: a longer value is no list of ETags the client holds.
    if len(request.headers.get(header, "")) > MAX_ETAGS_LENGTH:
        message = f"{header} must have at most {MAX_ETAGS_LENGTH} characters."
        abort(400, messages={"headers": {header: [message]}})


def with_article(noun: str) -> str:
    """`noun` after "a" or "an", for the summaries built from a resource's name."""
    # By the first letter: right for every resource's name, none of which begins with a silent
    # h or the sound of "you" (an hour, a unit).
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# Collection name -> its blueprint, as crud_blueprint makes them: create_app registers those
# of the declared resources (models/resources.py), and the import engine takes their schemas.
BLUEPRINTS: dict[str, Blueprint] = {}


def resource_blueprints() -> list[Blueprint]:
    """Each declared resource's blueprint, in the registry's order: made in the module named
    after its collection (api/endpoints/statistics.py), unless made already."""
    resources.in_dependency_order()  # every reference declared, or no start
    for name in resources.REGISTRY:
        if name not in BLUEPRINTS:
            import_module(f"api.endpoints.{name}")
    return [BLUEPRINTS[name] for name in resources.REGISTRY]


def crud_blueprint(
    model: type[Record],
    schema: type[RecordSchema],
    query_schema: type[Schema],
    *,
    description: str,
    embeds: dict | None = None,
) -> Blueprint:
    """A blueprint at /v1/<collection> with list, create, read, replace, update and delete.

    `embeds` maps an `include=` name to what computes it for a listed record. The blueprint
    keeps `schema`, and `item_endpoint`, the endpoint of one record for url_for.
    """
    name = collection(model)
    singular = model.__name__.lower()
    one = with_article(singular)
    title = name.capitalize()
    pk = cast(Field, model._meta.primary_key)  # a record's table has one (else False)
    key = f"<id:{pk.name}>" if pk.field_type == "AUTO" else f"<code:{pk.name}>"
    blp = Blueprint(name, __name__, url_prefix=f"/v1/{name}", description=description)
    blp.schema, blp.item_endpoint = schema, f"{name}.{title}ById"

    # Built once: a marshmallow schema copies its fields when built, which costs more than
    # dumping a record with it.
    representation = schema()

    annotate = resources.of(model).annotate

    def checked(row: Record) -> Record:
        return annotate([row])[0]

    class Collection(MethodView):
        @cached
        @blp.arguments(query_schema, location="query", unknown=RAISE)
        @blp.response(200, schema(many=True), headers=LIST_HEADERS)
        @blp.alt_response(406, response="NOT_ACCEPTABLE")
        @blp.doc(
            operationId=f"list_{name}",
            summary=f"List {name}",
            description=f"{title} matching every filter, a page at a time, in a stable order; "
            "as JSON, CSV or NDJSON.",
            responses={200: {"content": formats.LIST_CONTENT}},
        )
        def get(self, args):
            return list_response(model, representation, args, embeds or {})

        @blp.arguments(schema)
        @blp.response(201, schema, headers=ETAG_HEADER)
        @writes(blp, 400, 409, 413)
        @blp.doc(
            operationId=f"create_{singular}",
            summary=f"Create {one}",
            parameters=[idempotency.PARAMETER],
        )
        def post(self, data):
            row = checked(records.create(model, data))
            location = url_for(blp.item_endpoint, **{pk.name: row._pk})
            return represent(row, representation, 201, {"Location": location})

    class Item(MethodView):
        @cached
        @blp.arguments(AsOfQuery, location="query", unknown=RAISE)
        @blp.response(200, schema, headers=ETAG_HEADER)
        @blp.alt_response(304, description="Not Modified: your copy is current.")
        @_documents_errors(blp, 400, 404)
        @blp.headers(IF_NONE_MATCH)
        @blp.doc(operationId=f"get_{singular}", summary=f"Read {one}")
        def get(self, args, **path):
            return represent(checked(records.fetch(model, path[pk.name])), representation)

        @blp.arguments(schema)
        @blp.response(200, schema, headers=ETAG_HEADER)
        @writes(blp, 400, 404, 409, 412, 413, 428)
        @blp.doc(operationId=f"replace_{singular}", summary=f"Replace {one}", parameters=[IF_MATCH])
        def put(self, data, **path):
            row = records.update(model, path[pk.name], data, expected_versions())
            return represent(checked(row), representation)

        @blp.arguments(schema(partial=True))
        @blp.response(200, schema, headers=ETAG_HEADER)
        @writes(blp, 400, 404, 409, 412, 413, 428)
        @blp.doc(
            operationId=f"update_{singular}",
            summary=f"Change some fields of {one}",
            description="Send only the fields to change. null clears a field that may be "
            "empty; a field with a default takes a value, not null.",
            parameters=[IF_MATCH, idempotency.PARAMETER],
        )
        def patch(self, data, **path):
            row = records.update(model, path[pk.name], data, expected_versions())
            return represent(checked(row), representation)

        @blp.response(204)
        @writes(blp, 400, 404, 409, 412, 428)
        @blp.doc(operationId=f"delete_{singular}", summary=f"Delete {one}", parameters=[IF_MATCH])
        def delete(self, **path):
            records.delete(model, path[pk.name], expected_versions())

    class Revisions(MethodView):
        @blp.arguments(RevisionQuery, location="query", unknown=RAISE)
        @blp.response(200, RevisionSchema(many=True), headers=LIST_HEADERS)
        @blp.doc(
            operationId=f"list_{singular}_revisions",
            summary=f"List the revisions of {one}, newest first",
            description="Every create, update and delete, with the stored record after it; "
            "a deleted record's revisions remain. Unknown keys give an empty list.",
        )
        def get(self, args, **path):
            return paginate(records.revisions(model, path[pk.name]), None, **take_paging(args))

    Collection.__name__ = title
    Item.__name__ = f"{title}ById"
    Revisions.__name__ = f"{title}Revisions"
    blp.route("")(Collection)
    described = {"in": "path", "name": pk.name, "description": f"The {singular}'s {pk.name}."}
    blp.route(f"/{key}", parameters=[described])(Item)
    blp.route(f"/{key}/revisions", parameters=[described])(Revisions)
    BLUEPRINTS[name] = blp
    return blp


class RevisionQuery(AsOfQuery, PagingSchema):
    class Meta:
        exclude = ("cursor",)


class RevisionSchema(Schema):
    version = fields.Integer(metadata={"description": "The record's version after the change."})
    change = fields.String(
        metadata={"description": "What happened.", "enum": ["create", "update", "delete"]}
    )
    at = UTCDateTime(metadata={"description": "When it was committed (server time, UTC)."})
    by = fields.String(
        metadata={
            "description": "Who made it: the API key (ifk_ and its identifier, as "
            "`industry-facts keys list` shows it), or cli for the command line.",
            "example": "ifk_3f9a1c2e",
        }
    )
    record = fields.Function(
        history.record_of,
        metadata={
            "type": "object",
            "description": "The stored fields after the change (for a delete, as they were), "
            "by column: references by id or code, periods as their two dates.",
        },
    )


def writes(blp: Blueprint, *statuses: int):
    """Document a write: it needs a key (401 without one, 403 with a read-only one)."""
    return _documents_errors(blp, 401, 403, *statuses)


def _documents_errors(blp: Blueprint, *statuses: int):
    """Document the problem responses an operation can give besides validation errors."""

    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, response=response_name(status))(view)
        return view

    return decorate
