"""POST /v1/import: parses the request (JSON or CSV), runs the import engine, renders the answer."""

import io

from flask import request
from flask.views import MethodView
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api.errors import problem
from api.importing import (
    CONFLICTS,
    CSV_COLUMNS,
    MAX_REF,
    Rejected,
    csv_rows,
    document_rows,
    problems,
    run,
    sections,
    text_lines,
)
from api.resource import Blueprint, writes

blp = Blueprint(
    "imports",
    __name__,
    url_prefix="/v1/import",
    description="Many records in one request: all are stored, or none.",
)


class ImportQuery(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Check everything and report, but store nothing."},
    )
    on_conflict = fields.String(
        load_default="error",
        validate=validate.OneOf(CONFLICTS),
        metadata={
            "description": "When a record is already stored (same natural key): refuse the "
            "import (error), leave it as it is (skip), or change it to the import's (update). "
            "skip and update make importing the same file twice harmless."
        },
    )


class ImportReportSchema(Schema):
    dry_run = fields.Boolean(metadata={"description": "True: nothing was stored."})
    created = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "New records, per section.", "example": {"statistics": 12}},
    )
    updated = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "Stored records changed to the import's (on_conflict=update)."},
    )
    skipped = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "Stored records left as they were (on_conflict=skip)."},
    )


REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "description": "Arrays of records, each as its resource takes it, plus an "
                f"optional `ref` (1 to {MAX_REF} characters, once per section): later records "
                "may give a source's ref as their source_id, an event's as their event_id.",
            },
            "example": {
                "sources": [
                    {"ref": "s1", "publisher": "P", "title": "T", "url": "https://example.org/a"}
                ],
                "statistics": [
                    {
                        "indicator": "vehicle_exports",
                        "region": "CN",
                        "segment": "total",
                        "period": "2024",
                        "value": 5850000,
                        "source_id": "s1",
                    }
                ],
            },
        },
        "text/csv": {
            "schema": {"type": "string"},
            "example": ",".join(CSV_COLUMNS)
            + "\nvehicle_exports,CN,total,2024,5850000,19.3,yoy,1,,\n",
        },
    },
    "description": "A JSON document, or CSV of statistics in UTF-8 (a byte-order mark is "
    f"allowed) with the header `{','.join(CSV_COLUMNS)}` (source_id and event_id by id). At "
    "most IMPORT_MAX_BYTES (64 MiB by default).",
}


def _document_sections(doc: dict, doc_info: dict, *, method: str, **kwargs) -> dict:
    # A section for each resource declared when the app is made (models/resources.py).
    if method == "post":
        properties = {
            section: {"type": "array", "items": {"$ref": f"#/components/schemas/{model.__name__}"}}
            for section, (model, _) in sections().items()
        }
        doc["requestBody"] = {
            "content": {"application/json": {"schema": {"properties": properties}}}
        }
    return doc


blp._prepare_doc_cbks.append(_document_sections)


@blp.route("")
class Import(MethodView):
    @blp.arguments(ImportQuery, location="query", unknown=RAISE)
    @blp.response(200, ImportReportSchema)
    @writes(blp, 400, 409, 413, 422)
    @blp.doc(
        operationId="import_records",
        summary="Import many records at once",
        description="All or nothing: when any row is bad, nothing is stored and the 422 lists "
        "every bad row (a JSON pointer into the document, or a CSV line and column).",
        requestBody=REQUEST_BODY,
    )
    def post(self, args):
        try:
            if request.mimetype == "text/csv":
                rows = csv_rows(text_lines(io.BytesIO(request.get_data())))
            else:
                rows = document_rows(request.get_json())
            return run(rows, **args)
        except Rejected as error:
            return problem(422, str(error), error.errors)
        except ValidationError as error:  # the document's shape, or the CSV's header or syntax
            where = getattr(error, "where", {})
            return problem(
                422, "The import is not in a form it can take.", problems(error.messages, where)
            )
