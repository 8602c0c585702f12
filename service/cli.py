"""The `industry-facts` command: serve, set up the database, seed it, write the spec."""

import gc
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from marshmallow import ValidationError
from peewee import PeeweeException

from api import create_app, importing
from models import dump, keys, schema
from models.db import FULL, database, described, fault
from models.errors import Conflict, NotFound
from models.tables import ApiKey
from service.config import ConfigError, unusable_database
from service.seed import load_seed
from service.serving import gunicorn_settings, serve_with_gunicorn


def _create_app():
    # A bad setting stops any command, --help included, with one line naming the variable;
    # the server's settings are checked too, though only `serve` uses them.
    try:
        gunicorn_settings()
        return create_app()
    except ConfigError as error:
        sys.exit(f"Error: {error}")


class Commands(FlaskGroup):
    """The commands, which stop with one line, not a traceback, as a bad setting stops them:
    when the database they name cannot be reached (it does not exist, no server answers),
    goes away while they run, or has no room left to write in."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PeeweeException as error:
            kind = fault(error)
            if kind == FULL:
                sys.exit(
                    f"Error: the database's storage is full ({described(error)}). "
                    "Free some space, then run the command again."
                )
            if kind is None:
                raise  # a bug, with its traceback
            if not database.is_closed():
                sys.exit(
                    f"Error: the database became unavailable ({described(error)}). "
                    "Run the command again once it is back."
                )
            url = ctx.ensure_object(ScriptInfo).load_app().config["DATABASE_URL"]
            sys.exit(f"Error: {unusable_database(url, error)}")


@click.group(cls=Commands, create_app=_create_app, add_default_commands=False)
def main():
    """Industry Facts API: structured, sourced facts about industries."""


@main.group("db")
def db_group():
    """Bring the database's schema up to date, or see where it stands."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply the migrations the database has not had, in order."""
    applied = schema.upgrade()
    click.echo(f"Applied {', '.join(applied)}." if applied else "Already up to date.")


@db_group.command("status")
@with_appcontext
def db_status():
    """List the migrations and whether the database has had each; exit 1 unless up to date."""
    for name, applied in schema.status():
        click.echo(f"{'applied' if applied else 'pending'}\t{name}")
    _ready()
    click.echo("Up to date.")


def _ready() -> None:
    """Stop unless the database is up to date: commands other than serve leave upgrades to
    `db upgrade`, run on purpose."""
    try:
        schema.check()
    except schema.SchemaMismatch as error:
        raise click.ClickException(str(error)) from None


@main.command("seed")
@with_appcontext
def seed():
    """Load the launch article's facts; records already stored are left alone."""
    _ready()
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
    schema.upgrade()
    try:
        counts = dump.import_rows(path)
    except Conflict as error:
        raise click.ClickException(error.detail) from None
    click.echo("Restored: " + ", ".join(f"{n} {table}" for table, n in counts.items() if n))


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
@click.option("--dry-run", is_flag=True, help="Check everything; store nothing.")
@click.option(
    "--on-conflict",
    type=click.Choice(importing.CONFLICTS),
    default="error",
    show_default=True,
    help="When a record is already stored: refuse, skip it, or update it.",
)
@with_appcontext
def import_file(path, dry_run, on_conflict):
    """Import a JSON document or a CSV of statistics (*.csv), all or nothing, as POST /v1/import.

    A CSV is read a line at a time, so memory stays flat however long the file is.
    """
    _ready()
    size = os.path.getsize(path)
    with (
        _startup_frozen(),
        open(path, "rb") as file,
        click.progressbar(length=size, label="Importing", file=_terminal()) as bar,
    ):
        try:
            if path.lower().endswith(".csv"):
                rows = importing.csv_rows(importing.text_lines(_reporting(file, bar)))
            else:
                rows = importing.document_rows(_json(path, file))
            report = importing.run(rows, on_conflict=on_conflict, dry_run=dry_run)
        except importing.Rejected as error:
            for item in error.errors[:20]:
                click.echo(f"  {_where(item)}: {item['detail']}", err=True)
            raise click.ClickException(f"{error} (rejected: {error.total})") from None
        except ValidationError as error:  # the document's shape, or the CSV's header or syntax
            problems = importing.problems(error.messages, getattr(error, "where", {}))
            said = "; ".join(f"{_where(item)}: {item['detail']}" for item in problems[:5])
            raise click.ClickException(f"Cannot import {path}: {said}") from None
    summary = ", ".join(
        f"{kind} {sum(report[kind].values())}" for kind in ("created", "updated", "skipped")
    )
    click.echo(f"{'Checked (dry run)' if dry_run else 'Imported'}: {summary}, rejected 0.")


@contextmanager
def _startup_frozen() -> Iterator[None]:
    """The objects alive now (the modules and the app, some 150,000) left out of garbage
    collection for the block: they stay alive anyway. An import allocates enough to set off
    a full collection every ten thousand rows or so, and walking them all each time cost up
    to a tenth of its time."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _json(path: str, file):
    # The parser every body goes through: what the API refuses, the command refuses too.
    try:
        return current_app.json.loads(file.read())
    except ValueError as error:
        raise click.ClickException(f"Cannot import {path}: it is not JSON ({error}).") from None


def _where(item: dict) -> str:
    """Where an import's problem is: a CSV line and column, or a pointer into the document."""
    line = f"line {item['line']} " if "line" in item else ""
    return f"{line}{item['pointer'] or '/'}"


def _terminal():
    # The bar is for a person watching; in a pipe or a log it would only be noise.
    return sys.stderr if sys.stderr.isatty() else io.StringIO()


def _reporting(lines, bar, step: int = 1 << 16):
    """`lines`, the bar moved on by their length every `step` bytes or so: moved on for each
    line, it took a hundredth of an import's time."""
    done = 0
    for line in lines:
        done += len(line)
        if done >= step:
            bar.update(done)
            done = 0
        yield line
    bar.update(done)


@main.group("keys")
def keys_group():
    """Create, list and revoke API keys."""


@keys_group.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scope", type=click.Choice(keys.SCOPES), default="write", show_default=True)
@with_appcontext
def create_key(name, scope):
    """Make a key and print it, once: only its digest is kept."""
    _ready()
    key, text = keys.create(name, scope)
    click.echo(f"Created {scope} key {key.identifier} for {name}. It is shown only now:", err=True)
    click.echo(text)


@keys_group.command("list")
@with_appcontext
def list_keys():
    """Every key: identifier, name, scope, when made, last used and revoked."""
    _ready()
    click.echo("identifier\tscope\tcreated\tlast used\trevoked\tname")
    for key in ApiKey.select().order_by(ApiKey.id):
        times = (key.created_at, key.last_used_at, key.revoked_at)
        shown = "\t".join(f"{t:%Y-%m-%d %H:%M}" if t else "-" for t in times)
        click.echo(f"{keys.PREFIX}_{key.identifier}\t{key.scope}\t{shown}\t{key.name}")


@keys_group.command("revoke")
@click.argument("identifier")
@with_appcontext
def revoke_key(identifier):
    """Revoke a key for good, by its identifier (the part after ifk_)."""
    try:
        key = keys.revoke(identifier.removeprefix(f"{keys.PREFIX}_").split("_")[0])
    except NotFound as error:
        raise click.ClickException(error.detail) from None
    click.echo(f"Revoked {key.identifier} ({key.name}).")


@main.command("serve")
@with_appcontext
def serve():
    """Bring the database up to date, seed it if empty, then serve with gunicorn (PORT, ...)."""
    applied = schema.upgrade()
    if applied:
        click.echo(f"Applied {', '.join(applied)}.")
    if not any(table.select().exists() for table in schema.known_tables()):
        load_seed()
        click.echo("Empty database: loaded the seed facts.")
    # Close every pooled connection before gunicorn forks: each worker opens its own.
    database.close_all()
    settings = gunicorn_settings()
    click.echo(f"Serving on http://{settings['bind']} (docs at /docs).")
    serve_with_gunicorn(settings)
