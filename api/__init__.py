"""The HTTP layer: the app factory that wires configuration, database, resources and errors."""

import os

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask

from api import (
    as_of,
    auth,
    caching,
    connections,
    errors,
    idempotency,
    limits,
    observability,
    requests,
)
from api.endpoints import changes, checks, docs, facts, health, imports, landing, series
from api.errors import Api
from api.fields import CODE_PATTERN, ID_PARAMETER, CodeConverter, IdConverter
from api.resource import resource_blueprints
from service.config import Config, from_environment

CODE_PARAMETER = {"type": "string", "pattern": CODE_PATTERN, "maxLength": 64}


def create_app(config: dict | None = None) -> Flask:
    """Build the application; `config` overrides the class defaults and the environment."""
    app = Flask(__name__)
    app.config.from_object(Config)
    app.config.update(from_environment())
    app.config.update(config or {})
    if not app.config["DATABASE_URL"]:
        path = os.path.join(app.instance_path, "industry-facts.sqlite3")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    # Each concern adds its own hooks. Flask runs before_request hooks in the order they were
    # added (after_request and teardown hooks in reverse), so this order is the order a request
    # is judged in: its id and clock, first and last (observability); who is calling (auth);
    # their quota, which counts callers before refusing those auth found wanting, or bad keys
    # could be tried without end (limits); whether its body is one we take (requests); only
    # then a claim on its Idempotency-Key; the instant it reads as of; and at its end, its
    # database connection given back first (connections). The answers kept for repeated reads
    # (caching) add no hook: a cached view looks them up once every hook has judged its request.
    for concern in (
        observability,
        auth,
        limits,
        requests,
        idempotency,
        as_of,
        connections,
        caching,
    ):
        concern.init_app(app)
    _register_endpoints(app)
    errors.init_app(app)
    return app


def _register_endpoints(app: Flask) -> None:
    """Route and document every endpoint; the docs and the landing page are outside the spec."""
    app.url_map.converters["code"] = CodeConverter
    app.url_map.converters["id"] = IdConverter
    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name)})
    api.register_converter(CodeConverter, lambda converter: CODE_PARAMETER)
    api.register_converter(IdConverter, lambda converter: ID_PARAMETER)
    api.spec.components.security_scheme(auth.SCHEME, auth.SECURITY_SCHEME)
    others = (imports, series, facts, checks, changes, health)
    for blp in (*resource_blueprints(), *(module.blp for module in others)):
        api.register_blueprint(blp)
    app.register_blueprint(docs.blp)
    app.register_blueprint(landing.blp)


def schema_name(schema) -> str:
    """Component names: `Statistic` for StatisticSchema, `StatisticPatch` for its partial form."""
    # apispec's annotation allows a list of classes, which only marshmallow's registry lookup
    # with all=True returns; apispec never asks for that.
    name = resolve_schema_cls(schema).__name__.removesuffix("Schema")  # type: ignore[union-attr]
    return f"{name}Patch" if getattr(schema, "partial", False) else name
