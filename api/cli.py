"""The `industry-facts` command: serve, set up the database, seed it, write the spec."""

import click
from flask.cli import FlaskGroup, with_appcontext
from gunicorn.app.base import BaseApplication

from api import create_app
from api.seed import load_seed
from api.serving import gunicorn_settings
from models import dump
from models.db import database
from models.errors import Conflict
from models.schema import ALL_TABLES, create_schema
from models.tables import TABLES


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def main():
    """Industry Facts API: structured, sourced facts about industries."""


@main.command("init-db")
@with_appcontext
def init_db():
    """Create the database tables that do not exist yet."""
    create_schema()
    click.echo(f"Tables ready: {', '.join(t._meta.table_name for t in ALL_TABLES)}.")


@main.command("seed")
@with_appcontext
def seed():
    """Load the launch article's facts; records already stored are left alone."""
    create_schema()
    created = load_seed()
    summary = ", ".join(f"{n} {section}" for section, n in created.items()) or "nothing new"
    click.echo(f"Seeded: {summary}.")


@main.command("export")
@click.argument("path", type=click.File("w"))
@with_appcontext
def export(path):
    """Write everything stored, history included, to PATH as NDJSON (- for stdout)."""
    lines = 0
    for line in dump.export_rows():
        path.write(line)
        lines += 1
    click.echo(f"Exported {lines} rows.", err=True)


@main.command("import-dump")
@click.argument("path", type=click.File("r"))
@with_appcontext
def import_dump(path):
    """Restore an export into an empty database, exactly (ids, versions, history)."""
    create_schema()
    try:
        counts = dump.import_rows(path)
    except Conflict as error:
        raise click.ClickException(error.detail) from None
    click.echo("Restored: " + ", ".join(f"{n} {table}" for table, n in counts.items() if n))


@main.command("serve")
@with_appcontext
def serve():
    """Create and seed the database if needed, then serve with gunicorn (PORT, WEB_CONCURRENCY)."""
    create_schema()
    if not any(table.select().exists() for table in TABLES):
        load_seed()
        click.echo("Empty database: loaded the seed facts.")
    # Close every pooled connection before gunicorn forks: each worker opens its own.
    database.close_all()
    settings = gunicorn_settings()
    click.echo(f"Serving on http://{settings['bind']} (docs at /docs).")
    GunicornApp(settings).run()


class GunicornApp(BaseApplication):
    """gunicorn run from Python, so `serve` works wherever the package is installed."""

    def __init__(self, settings: dict):
        self.settings = settings
        super().__init__()

    def load_config(self):
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()
