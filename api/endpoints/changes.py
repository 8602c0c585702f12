"""The changes feed: every create, update and delete, in commit order, for keeping a copy."""

import binascii

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import RAISE, fields, validate

from api.fields import QueryInteger
from api.pagination import opaque, unwrapped
from api.resource import Blueprint, RevisionSchema
from api.schemas import AsOfQuery
from models import records
from models.resources import collection

blp = Blueprint(
    "changes",
    __name__,
    url_prefix="/v1/changes",
    description="Every change to every resource in commit order, with the record after it: "
    "follow it from the start and you hold a copy of the database, deletes included.",
)


class ChangesQuery(AsOfQuery):
    since = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "The next_cursor of your last call; empty for the start."},
    )
    limit = QueryInteger(
        load_default=100,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "At most this many changes (up to 1000)."},
    )


class ChangeSchema(RevisionSchema):
    resource = fields.Function(
        lambda revision: collection(revision.resource),
        metadata={"description": "The collection: sources, events, statistics, ..."},
    )
    key = fields.String(metadata={"description": "The record's id or code."})


NEXT = {
    "X-Next-Cursor": {
        "description": "Pass as `since` to continue; also in Link rel=next.",
        "schema": {"type": "string"},
    }
}


@blp.route("")
class Changes(MethodView):
    @blp.arguments(ChangesQuery, location="query", unknown=RAISE)
    @blp.response(200, ChangeSchema(many=True), headers=NEXT)
    @blp.doc(operationId="list_changes")
    def get(self, args):
        """List changes after a cursor, oldest first"""
        found = records.changes(_position(args["since"]), args["limit"])
        cursor = _cursor(found[-1].id) if found else args["since"]
        args = request.args.to_dict() | {"since": cursor}
        link = f'<{url_for("changes.Changes", **args)}>; rel="next"'
        return found, {"X-Next-Cursor": cursor, "Link": link}


def _cursor(revision_id: int) -> str:
    return opaque(f"r{revision_id}".encode())


def _position(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = unwrapped(cursor).decode()
        if text[:1] == "r" and text[1:].isascii() and text[1:].isdigit() and len(text) < 20:
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    abort(422, messages={"query": {"since": ["Not a cursor of this feed: pass next_cursor back."]}})
