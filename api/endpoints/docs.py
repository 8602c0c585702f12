"""The documentation pages' assets, served from an installed package so no CDN is needed."""

from flask import Blueprint, current_app, request, send_from_directory
from openapi_ui_bundles import redoc, swagger_ui

blp = Blueprint("doc_assets", __name__)


@blp.get("/docs/assets/<path:filename>")
def swagger_ui_asset(filename):
    return send_from_directory(swagger_ui.static_path, filename)


@blp.get("/redoc/assets/<path:filename>")
def redoc_asset(filename):
    return send_from_directory(redoc.static_path, filename)


@blp.after_app_request
def _nothing_from_elsewhere(response):
    # ReDoc's bundle fetches its footer logo from a CDN; the pages need nothing from outside.
    pages = {current_app.config[key] for key in ("OPENAPI_SWAGGER_UI_PATH", "OPENAPI_REDOC_PATH")}
    if request.path in pages:
        response.headers["Content-Security-Policy"] = "img-src 'self' data:"
    return response
