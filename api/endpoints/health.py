"""Liveness and readiness probes for load balancers and orchestrators."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields
from peewee import PeeweeException

from api.resource import Blueprint
from models.db import fault
from models.tables import Source

blp = Blueprint("health", __name__, description="Probes for load balancers.")


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "`ok` when healthy.", "example": "ok"})


@blp.route("/healthz")
class Liveness(MethodView):
    @blp.response(200, HealthSchema)
    @blp.doc(operationId="check_liveness")
    def get(self):
        """Tell whether the process is alive"""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @blp.doc(operationId="check_readiness")
    def get(self):
        """Tell whether the service can reach its database"""
        try:
            # A real table, so that a database the schema was never created in is not ready.
            Source.select().exists()
        except PeeweeException as error:
            if fault(error):
                why = "the database cannot be reached"
            else:
                why = "the database has no schema (run `industry-facts db upgrade`)"
            current_app.logger.warning("not ready: %s: %s", why, " ".join(str(error).split()))
            abort(503, message=f"Not ready: {why}.")
        return {"status": "ok"}
