"""What every resource shares: SQL pagination with Link headers, ETags, and the two CRUD views."""

import http
import re

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import Page, abort
from marshmallow import RAISE, Schema

from api.fields import MAX_ID
from models import records
from models.tables import Record

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag from your last read of this record (or `*`). "
    "Without it the answer is 428; with a stale one, 412.",
    "example": '"1"',
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "An ETag you hold: the answer is 304 with no body if it is still current.",
}
ETAG_HEADER = {
    "ETag": {
        "description": "The record's version, to send back in If-Match when changing it.",
        "schema": {"type": "string", "example": '"1"'},
    }
}
LINK_HEADER = {
    "description": "RFC 8288 links to the first, previous, next and last pages.",
    "schema": {"type": "string"},
    "example": '</v1/statistics?page=2&page_size=20>; rel="next"',
}
VERSION_TAG = re.compile(r"[0-9]{1,9}")
MAX_PAGE_SIZE = 1000
_PAGE_NUMBER = {"type": "integer", "minimum": 1}
PAGINATION_HEADER = {
    "description": "Where this page stands in the list, as a JSON object.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "description": "Items in the whole list."},
                    "total_pages": {"type": "integer", "description": "Pages in the list."},
                    "first_page": _PAGE_NUMBER,
                    "last_page": _PAGE_NUMBER,
                    "page": _PAGE_NUMBER,
                    "previous_page": _PAGE_NUMBER,
                    "next_page": _PAGE_NUMBER,
                },
                "required": ["total", "total_pages"],
            },
            "example": {"total": 4, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1},
        }
    },
}
PAGING_PARAMETERS = {
    "page": "The page to return, from 1.",
    "page_size": f"Items per page (default 20, at most {MAX_PAGE_SIZE}; more is a 422).",
}


class SQLPage(Page):
    """Pages a query in SQL with LIMIT/OFFSET (flask-smorest's own Page fetches all and slices)."""

    @property
    def items(self):
        # Past the last page there is nothing to fetch (and a huge OFFSET could overflow).
        if self.page_params.first_item >= self.page_params.item_count:
            return []
        return list(self.collection.paginate(self.page_params.page, self.page_params.page_size))

    @property
    def item_count(self):
        return self.collection.count()


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, with an RFC 8288 Link header beside X-Pagination."""

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": MAX_PAGE_SIZE}

    def _set_pagination_metadata(self, page_params, result, headers):
        result, headers = super()._set_pagination_metadata(page_params, result, headers)
        meta = self._make_pagination_metadata(
            page_params.page, page_params.page_size, page_params.item_count
        )
        links = [
            f'<{_page_url(meta[name])}>; rel="{rel}"'
            for name, rel in (
                ("first_page", "first"),
                ("previous_page", "prev"),
                ("next_page", "next"),
                ("last_page", "last"),
            )
            if name in meta
        ]
        if links:
            headers["Link"] = ", ".join(links)
        return result, headers

    def _prepare_pagination_doc(self, doc, doc_info, **kwargs):
        # flask-smorest's paging parameters carry no descriptions; give them ours.
        if pagination := doc_info.get("pagination"):
            for name, field in pagination["parameters"]["schema"]._declared_fields.items():
                field.metadata.setdefault("description", PAGING_PARAMETERS[name])
        return super()._prepare_pagination_doc(doc, doc_info, **kwargs)

    def _document_pagination_metadata(self, spec, resp_doc):
        # The header's value is a JSON document, which OpenAPI describes with `content`.
        resp_doc.setdefault("headers", {}).update(
            {self.PAGINATION_HEADER_NAME: PAGINATION_HEADER, "Link": LINK_HEADER}
        )


def _page_url(page: int) -> str:
    args = request.args.to_dict(flat=False) | {"page": page}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def etag(row: Record) -> str:
    return f'"{row.version}"'


def with_etag(row: Record):
    """The record with its ETag, or an empty 304 when the client's copy is current."""
    headers = {"ETag": etag(row)}
    if request.if_none_match.contains_weak(etag(row).strip('"')):
        return current_app.response_class(status=304, headers=headers)
    return row, headers


def expected_versions() -> set[int] | None:
    """The versions If-Match accepts (None for `*`); 428 when the header is missing."""
    if "If-Match" not in request.headers:
        abort(
            428,
            message="Send If-Match with the ETag from your last read, so that you cannot "
            "overwrite a change you have not seen.",
        )
    if request.if_match.star_tag:
        return None
    # Our ETags are small decimal numbers; anything else cannot match any version.
    return {int(tag) for tag in request.if_match.as_set() if tag and VERSION_TAG.fullmatch(tag)}


def crud_blueprint(
    name: str,
    model: type[Record],
    schema: type[Schema],
    query_schema: type[Schema],
    *,
    description: str,
) -> Blueprint:
    """A blueprint at /v1/<name> with list, create, read, replace, update and delete."""
    singular = model.__name__.lower()
    title = name.capitalize()
    pk = model._meta.primary_key
    key = f"<int(max={MAX_ID}):{pk.name}>" if pk.field_type == "AUTO" else f"<code:{pk.name}>"
    blp = Blueprint(name, __name__, url_prefix=f"/v1/{name}", description=description)

    class Collection(MethodView):
        @blp.arguments(query_schema, location="query", unknown=RAISE)
        @blp.response(200, schema(many=True))
        @blp.paginate(SQLPage)
        @blp.doc(
            summary=f"List {name}", description=f"{title}, a page at a time, in a stable order."
        )
        def get(self, filters):
            return records.listing(model, filters)

        @blp.arguments(schema)
        @blp.response(201, schema, headers=ETAG_HEADER)
        @_documents_errors(blp, 400, 409, 413)
        @blp.doc(summary=f"Create a {singular}")
        def post(self, data):
            row = records.create(model, data)
            location = url_for(f"{name}.{title}ById", **{pk.name: row._pk})
            return row, {"Location": location, "ETag": etag(row)}

    class Item(MethodView):
        @blp.response(200, schema, headers=ETAG_HEADER)
        @blp.alt_response(304, description="Not Modified: your copy is current.")
        @_documents_errors(blp, 404)
        @blp.doc(summary=f"Read a {singular}", parameters=[IF_NONE_MATCH])
        def get(self, **path):
            return with_etag(records.fetch(model, path[pk.name]))

        @blp.arguments(schema)
        @blp.response(200, schema, headers=ETAG_HEADER)
        @_documents_errors(blp, 400, 404, 409, 412, 413, 428)
        @blp.doc(summary=f"Replace a {singular}", parameters=[IF_MATCH])
        def put(self, data, **path):
            row = records.update(model, path[pk.name], data, expected_versions())
            return row, {"ETag": etag(row)}

        @blp.arguments(schema(partial=True))
        @blp.response(200, schema, headers=ETAG_HEADER)
        @_documents_errors(blp, 400, 404, 409, 412, 413, 428)
        @blp.doc(
            summary=f"Change some fields of a {singular}",
            description="Send only the fields to change (JSON merge patch semantics).",
            parameters=[IF_MATCH],
        )
        def patch(self, data, **path):
            row = records.update(model, path[pk.name], data, expected_versions())
            return row, {"ETag": etag(row)}

        @blp.response(204)
        @_documents_errors(blp, 404, 409, 412, 428)
        @blp.doc(summary=f"Delete a {singular}", parameters=[IF_MATCH])
        def delete(self, **path):
            records.delete(model, path[pk.name], expected_versions())

    Collection.__name__ = title
    Item.__name__ = f"{title}ById"
    blp.route("")(Collection)
    described = {"in": "path", "name": pk.name, "description": f"The {singular}'s {pk.name}."}
    blp.route(f"/{key}", parameters=[described])(Item)
    return blp


def _documents_errors(blp: Blueprint, *statuses: int):
    """Document the problem responses an operation can give besides validation errors."""

    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, response=http.HTTPStatus(status).name)(view)
        return view

    return decorate
