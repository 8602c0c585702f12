"""Representations of a list beyond JSON: CSV for spreadsheets and scripts, NDJSON for streams."""

import csv
import io
from decimal import Decimal

from flask import current_app, json, request
from flask_smorest import abort
from marshmallow import fields
from werkzeug.datastructures import MIMEAccept

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
    "svg": "image/svg+xml",
}
LIST_FORMATS = ("json", "csv", "ndjson")


def format_field(names=LIST_FORMATS) -> fields.Field:
    """The `format` parameter. Not validated here: an unknown format is a 406, not a 422."""
    return fields.String(
        metadata={
            "description": f"One of {', '.join(names)} (default json); overrides the Accept "
            "header. Anything else is a 406.",
            "enum": list(names),
        }
    )


CSV_DESCRIPTION = (
    "RFC 4180 CSV with a header row. A list (an event's topics) or an object is one cell "
    'holding its JSON: `["electric vehicles", "a; b"]`. Against formula injection, a text '
    "cell that begins with =, +, -, @, a tab, a carriage return or ' is written with one more "
    "' in front (`'=A1`): drop a cell's leading ' to read it back. Numbers are never prefixed."
)
# The extra media types of a list's 200 response, for the spec.
LIST_CONTENT = {
    "text/csv": {
        "schema": {"type": "string", "description": CSV_DESCRIPTION},
        "example": "id,region,value\r\n1,CN,1420000\r\n",
    },
    "application/x-ndjson": {"schema": {"type": "string"}},
}


def negotiate(name: str | None, names=LIST_FORMATS) -> str:
    """The format asked for, by ?format= or else by Accept; 406 when none can be given."""
    offered = {key: MEDIA_TYPES[key] for key in names}
    if name is not None:
        if name not in offered:
            _not_acceptable(f"Unknown format {name!r}", offered)
        return name
    if not request.headers.get("Accept"):
        return "json"
    # Media type parameters (charset=utf-8, header=present) do not change what we can send.
    accept = MIMEAccept((value.split(";")[0].strip(), q) for value, q in request.accept_mimetypes)
    best = accept.best_match(list(offered.values()))
    if best is None:
        _not_acceptable(f"Nothing here matches Accept: {request.headers['Accept']}", offered)
    return next(key for key, media_type in offered.items() if media_type == best)


def render(rows: list, schema, name: str, headers: dict):
    """The rows in the negotiated format (JSON is left to the view's response schema)."""
    # The representation depends on Accept: caches must keep one per Accept header.
    headers = headers | {"Vary": "Accept"}
    if name == "json":
        return rows, headers
    items = schema.dump(rows, many=True)
    if name == "csv":
        body = to_csv(items, list(schema.dump_fields))
    else:
        body = "".join(json.dumps(item) + "\n" for item in items)
    return current_app.response_class(body, mimetype=MEDIA_TYPES[name], headers=headers)


def to_csv(items: list[dict], columns: list[str]) -> str:
    """RFC 4180 CSV: a header row, CRLF line ends, quoting where needed.

    A list or object is one cell holding its JSON, so `["a; b", "c"]` reads back as it was.
    A text cell that a spreadsheet would take for a formula (it begins with =, +, -, @, a tab
    or a carriage return) gets a leading ' as OWASP recommends, and so does one that begins
    with ' itself, so that a reader may always drop a cell's leading '. Numbers are never
    prefixed: whether a cell is text is decided by its value's type, not by how it looks.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(item.get(column)) for column in columns])
    return out.getvalue()


# What begins a formula in Excel, LibreOffice or Google Sheets (OWASP's CSV injection list),
# and the quote that marks a cell as escaped.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)  # begins with [ or {: never a formula
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _not_acceptable(reason: str, offered: dict):
    abort(406, message=f"{reason}. This is available as {', '.join(offered.values())}.")
