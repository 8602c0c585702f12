"""The landing page at `/`: what the service holds and where its docs are, as plain HTML."""

from datetime import date
from decimal import Decimal

from flask import Blueprint, render_template

from api.caching import cached
from models.overview import overview

# A plain Flask blueprint: the page is for people, not part of the JSON API or its spec.
blp = Blueprint("landing", __name__, template_folder="templates")

LATEST_FACTS = 5
TARGETS_SHOWN = 20

# The page runs no script and loads nothing from elsewhere; the browser is told to hold it
# to that, so that a stored value that slipped past escaping still could not run.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


@blp.get("/")
@cached
def landing() -> tuple[str, dict]:
    """Show what the service holds, the latest facts, progress on targets, and the docs."""
    return render_template(
        "landing.html",
        overview=overview(facts=LATEST_FACTS, targets=TARGETS_SHOWN),
        latest_facts=LATEST_FACTS,
    ), HEADERS


@blp.app_template_filter("figure")
def figure(value: Decimal | int | float | None) -> str:
    """A number for reading: thousands separated, no trailing zeros (1,420,000; 31.06)."""
    if value is None:
        return "\u2013"
    if isinstance(value, Decimal):
        return f"{value.normalize():,f}"
    return f"{value:,}"


@blp.app_template_filter("long_date")
def long_date(value: date | str | None) -> str:
    """A date as a citation writes it: 11 May 2025."""
    if isinstance(value, str):  # raw SQLite rows carry dates as ISO text
        value = date.fromisoformat(value)
    return f"{value.day} {value:%B %Y}" if value else ""
