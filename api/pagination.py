"""Pages of a list, in SQL: by number (page, page_size) or by an opaque keyset cursor."""

import base64
import binascii
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

from flask import request, url_for
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate

from api.fields import QueryInteger, storable, storable_text
from models.queries import after

MAX_PAGE_SIZE = 1000
# Beyond this a page number only asks the database to skip rows; cursors go further cheaply.
MAX_PAGE = 1_000_000

_NUMBER = {"type": "integer", "minimum": 1}
PAGINATION_HEADER = {
    "description": "Where this page stands in the list, as a JSON object.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "description": "Items in the whole list."},
                    "total_pages": {"type": "integer", "description": "Pages in the list."},
                    "first_page": _NUMBER,
                    "last_page": _NUMBER,
                    "page": _NUMBER,
                    "previous_page": _NUMBER,
                    "next_page": _NUMBER,
                    "page_size": _NUMBER,
                    "next_cursor": {
                        "type": "string",
                        "description": "Pass as `cursor` for the next page (keyset paging).",
                    },
                },
            },
            "example": {"total": 4, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1},
        }
    },
}
LINK_HEADER = {
    "description": "RFC 8288 links to the first, previous, next and last pages.",
    "schema": {"type": "string"},
    "example": '</v1/statistics?page=2&page_size=20>; rel="next"',
}
LIST_HEADERS = {"X-Pagination": PAGINATION_HEADER, "Link": LINK_HEADER}


class PagingSchema(Schema):
    page = QueryInteger(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "The page to return, from 1."},
    )
    page_size = QueryInteger(
        load_default=20,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Items per page: default 20, at most {MAX_PAGE_SIZE}."},
    )
    cursor = fields.String(
        validate=validate.Length(max=2000),
        metadata={
            "description": "Keyset paging: send it empty for the first page, then the "
            "`next_cursor` of the previous one (also in its Link rel=next). "
            "Deep pages cost no more than the first."
        },
    )


def take_paging(args: dict) -> dict:
    """Remove the PagingSchema parameters from a list's parsed query, for `paginate`."""
    return {key: args.pop(key) for key in PagingSchema._declared_fields if key in args}


def paginate(query, order: list | None, page: int, page_size: int, cursor: str | None = None):
    """The page's rows and its X-Pagination and Link headers."""
    if cursor is None:
        return _numbered_page(query, order, page, page_size)
    if order is None:
        _bad_cursor("This list (ranked search results, or the timeline) is paged by number.")
    if cursor:
        query = after(query, order, _decode(cursor, order))
    rows = list(query.limit(page_size + 1))
    meta: dict[str, Any] = {"page_size": page_size}
    links: dict[str, dict[str, Any]] = {"first": {"cursor": "", "page": None}}
    if len(rows) > page_size:
        rows = rows[:page_size]
        meta["next_cursor"] = encode_cursor(rows[-1], order)
        links["next"] = {"cursor": meta["next_cursor"], "page": None}
    return rows, _headers(meta, links)


def _numbered_page(query, order, page, page_size):
    total = query.count()
    pages = -(-total // page_size)
    rows = list(query.paginate(page, page_size)) if (page - 1) * page_size < total else []
    meta = {"total": total, "total_pages": pages}
    links = {}
    if total:
        meta |= {"first_page": 1, "last_page": pages}
        links = {"first": {"page": 1}, "last": {"page": pages}}
        if page <= pages:
            meta["page"] = page
        if 1 < page <= pages + 1:
            meta["previous_page"] = page - 1
            links["prev"] = {"page": page - 1}
        if page < pages:
            meta["next_page"] = page + 1
            links["next"] = {"page": page + 1}
            if order is not None:
                meta["next_cursor"] = encode_cursor(rows[-1], order)
    return rows, _headers(meta, links)


def _headers(meta: dict, links: dict) -> dict:
    headers = {"X-Pagination": json.dumps(meta)}
    if links:
        headers["Link"] = ", ".join(f'<{_url(args)}>; rel="{rel}"' for rel, args in links.items())
    return headers


def _url(changes: dict) -> str:
    args: dict[str, Any] = request.args.to_dict(flat=False)
    for name, value in changes.items():
        args.pop(name, None)
        if value is not None:
            args[name] = value
    assert request.endpoint is not None  # a request routed to a list
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def encode_cursor(row, order: list) -> str:
    """The position after `row`: its sort columns' names and values, opaque to clients."""
    values = [getattr(row, column.name) for column, _ in order]
    state: dict[str, Any] = {"keys": _keys(order)}
    state["values"] = [v if isinstance(v, int) else str(v) for v in values]
    return opaque(json.dumps(state).encode())


def opaque(state: bytes) -> str:
    """A cursor that carries `state`: URL-safe base64, without padding."""
    return base64.urlsafe_b64encode(state).decode().rstrip("=")


def unwrapped(cursor: str) -> bytes:
    """The state an `opaque` cursor carries; binascii.Error (a ValueError) if it is none."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _decode(cursor: str, order: list) -> list:
    try:
        state = json.loads(unwrapped(cursor))
        if state["keys"] != _keys(order):
            raise ValueError
        return [
            _typed(column, value) for (column, _), value in zip(order, state["values"], strict=True)
        ]
    except (
        ValueError,  # also what json says of bytes that are not UTF-8, and of huge integers
        TypeError,
        KeyError,
        ArithmeticError,
        RecursionError,
        ValidationError,
        binascii.Error,
    ):
        _bad_cursor("Not a cursor of this list in this order: pass a next_cursor back unchanged.")


def _keys(order: list) -> list[str]:
    return [f"-{column.name}" if desc else column.name for column, desc in order]


# The Python type each column's values must have; a forged cursor must not reach SQL otherwise.
_TYPES = {
    "AUTO": int,
    "INT": int,
    "DATE": date,
    "DATETIME": datetime,
    "DECIMAL": Decimal,
    "VARCHAR": str,
}


def _typed(column, raw):
    field = getattr(column, "rel_field", None) or column
    # As encode_cursor writes them: whole numbers as JSON numbers, everything else as text,
    # ASCII but for the text columns' own values.
    if _TYPES[field.field_type] is int:
        if type(raw) is not int or abs(raw) >= 2**63:
            raise ValueError
    elif not isinstance(raw, str) or not storable_text(raw):
        raise ValueError
    elif field.field_type != "VARCHAR" and not raw.isascii():
        raise ValueError
    value = field.python_value(raw)
    if not isinstance(value, _TYPES[field.field_type]):
        raise ValueError
    if isinstance(value, Decimal):
        storable(value)
    return value


def _bad_cursor(message: str) -> NoReturn:
    abort(422, messages={"query": {"cursor": [message]}})
