"""Liveness and readiness probes for load balancers and orchestrators."""

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields
from peewee import PeeweeException

from api.resource import Blueprint
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
        except PeeweeException:
            abort(503, message="The database cannot be reached.")
        return {"status": "ok"}
