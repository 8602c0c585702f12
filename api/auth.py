"""Who is calling: an API key on the Authorization header, and the scope each request needs."""

from flask import Flask, current_app, g, request
from flask_smorest import abort

from models import keys, records

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SCHEME = "bearer"  # the security scheme's name in the spec
REALM = 'Bearer realm="industry-facts"'
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key: `Authorization: Bearer ifk_...`. Writes need a key with "
    "`write` scope; reads are open unless the service sets READ_REQUIRES_KEY, and then need "
    "`read` scope or above. Make one with "
    "`industry-facts keys create --name NAME --scope write`.",
}
# An operation's security requirement in the spec, by what authenticate() asks of it: writes,
# and reads where READ_REQUIRES_KEY is set, need a key; other reads need nothing. Not
# `[{}, {bearer: []}]` (a key is optional) for those: Swagger UI draws it as a closed padlock.
REQUIRED: list[dict[str, list[str]]] = [{SCHEME: []}]
OPEN: list[dict] = []
# Probes and the API's own documentation answer without a key even where reads need one: a
# load balancer has none to send, and the docs are where a reader learns how to get one.
OPEN_BLUEPRINTS = {"health", "api-docs", "doc_assets"}
PROBES = {"health"}


def init_app(app: Flask) -> None:
    """Find each request's key first; its refusal is answered once the rate limiter has
    counted the request (api.limits.init_app)."""
    app.before_request(authenticate)
    app.teardown_request(forget_the_actor)


def security(method: str, read_requires_key: bool, blueprint: str) -> list[dict]:
    """The security requirement the spec gives an operation with this method."""
    return REQUIRED if _needed(method, read_requires_key, blueprint) else OPEN


def _needed(method: str, read_requires_key: bool, blueprint: str | None) -> str | None:
    """The scope a request needs: write for a write, read where reads need a key, or None."""
    if method.upper() in WRITE_METHODS:
        return "write"
    return "read" if read_requires_key and blueprint not in OPEN_BLUEPRINTS else None


def authenticate():
    """Find the request's key, and note the refusal if it needs a scope the key lacks.

    The refusal waits for `refuse`, which runs after the rate limiter's check: a refused
    request counts too, else bad keys could be tried without end. A rejected key counts as
    no key, against the address's anonymous quota; a key without the scope, against its own.
    """
    if request.routing_exception is not None:
        return  # an unknown path or method is a 404 or 405 first
    if request.blueprint in PROBES:
        return  # open to all, so no key is looked up: liveness must not need the database
    needed = _needed(request.method, current_app.config["READ_REQUIRES_KEY"], request.blueprint)
    header = request.headers.get("Authorization")
    key = None
    if header is not None:
        scheme, _, text = header.partition(" ")
        key = keys.find(text.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            g.refusal = (
                401,
                "The API key is unknown or revoked, or not sent as Authorization: Bearer <key>.",
                f'{REALM}, error="invalid_token"',
            )
            return
    g.api_key = key
    if needed and key is None:
        g.refusal = (
            401,
            f"This needs an API key with {needed} scope: send Authorization: Bearer <key>.",
            REALM,
        )
    elif needed and not keys.allows(key, needed):
        g.refusal = (
            403,
            f"Key {key.identifier} has {key.scope} scope; this needs {needed}.",
            f'{REALM}, error="insufficient_scope", scope="{needed}"',
        )
    elif key is not None:
        # Revisions say which key made each change.
        g.actor = records.actor.set(f"{keys.PREFIX}_{key.identifier}")


def refuse():
    """Answer the refusal `authenticate` noted, once the rate limiter has counted it."""
    if "refusal" in g:
        status, message, challenge = g.refusal
        abort(status, message=message, headers={"WWW-Authenticate": challenge})


def forget_the_actor(exc):
    if "actor" in g:
        records.actor.reset(g.actor)
