"""The documentation pages' assets, served from an installed package so no CDN is needed."""

from flask import Blueprint, send_from_directory
from openapi_ui_bundles import redoc, swagger_ui

blp = Blueprint("doc_assets", __name__)


@blp.get("/docs/assets/<path:filename>")
def swagger_ui_asset(filename):
    return send_from_directory(swagger_ui.static_path, filename)


@blp.get("/redoc/assets/<path:filename>")
def redoc_asset(filename):
    return send_from_directory(redoc.static_path, filename)
