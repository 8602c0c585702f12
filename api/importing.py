"""The import engine: records from a JSON document, or statistics from CSV; all or nothing.

Not HTTP: POST /v1/import (api/endpoints/imports.py) and `industry-facts import` both run it,
and it opens its own transaction. It lives in api/ because it checks rows with the API's
schemas, and reports problems as the API's problem `errors` items.

Rows are checked by the same schemas and domain rules as single writes, and stored a chunk
at a time (`records.create_many`: a few statements per chunk, not a dozen per row), all in
one transaction. A bad row is noted and the import goes on, so the answer lists every bad
row; the transaction commits only if none was bad and this is not a dry run. Records in
one document refer to each other by a client-chosen `ref`.
"""

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import groupby, islice
from operator import itemgetter, methodcaller
from typing import Any, cast

from marshmallow import ValidationError, missing

from api.errors import API_NAMES, field_messages, json_pointer
from api.fields import MAX_ID, NUMBER_TEXT, Number, PeriodField, acceptable_text, storable
from api.resource import resource_blueprints
from api.schemas import RecordSchema, periods, split_periods, unacceptable
from models import records, resources
from models.db import bulk_writing, database
from models.errors import DomainError
from models.periods import Period
from models.resources import collection
from models.tables import Event, Record, Source, Statistic

# The fields that may give a ref instead of an id, and the section whose refs they name.
REFERENCES = {"source_id": collection(Source), "event_id": collection(Event)}
MAX_REF = 200  # characters: a name for a record, not a record
CONFLICTS = ("error", "skip", "update")
CSV_COLUMNS = (
    "indicator",
    "region",
    "segment",
    "period",
    "value",
    "change_pct",
    "change_basis",
    "source_id",
    "event_id",
    "quote",
)
NUMBERS = ("value", "change_pct")
MAX_ERRORS = 1000  # enough to fix a file by; the count says how many there were
CHUNK = 2000  # rows checked and stored together: fewer statements, memory still flat


def sections() -> dict[str, tuple[type[Record], type[RecordSchema]]]:
    """Each collection's records and the schema its endpoints take them with, in dependency
    order: a record may refer to those of the sections before it by their ref."""
    schemas = {blp.name: blp.schema for blp in resource_blueprints()}
    return {r.collection: (r.model, schemas[r.collection]) for r in resources.in_dependency_order()}


class Unreadable(ValidationError):
    """The file breaks UTF-8 or CSV at `line`; what follows it cannot be read reliably."""

    def __init__(self, detail: str, line: int):
        super().__init__({"": [detail]})
        self.where = {"line": line}


class Rejected(Exception):
    """The import wrote nothing: every bad row, as problem `errors` items."""

    def __init__(self, errors: list[dict], total: int):
        rows = "1 row was" if total == 1 else f"{total} rows were"
        super().__init__(f"{rows} refused; nothing was imported.")
        self.errors = errors
        self.total = total


def run(rows: Iterable[tuple[str, dict, dict]], on_conflict="error", dry_run=False) -> dict:
    """Import (section, item, where) rows; `where` says how a row's errors name it.

    Returns how many records were created, updated and skipped, per section; raises
    Rejected, having written nothing, when any row is bad.
    """
    importer = Importer(on_conflict)
    with bulk_writing(), database.atomic() as transaction:
        for section, chunk in _chunks(rows):
            importer.load(section, chunk)
        if importer.refused or dry_run:
            transaction.rollback()
    if importer.refused:
        raise Rejected(importer.errors, importer.refused)
    return {"dry_run": dry_run} | {kind: dict(counter) for kind, counter in importer.counts.items()}


def _chunks(rows: Iterable[tuple]) -> Iterator[tuple[str, list]]:
    """Consecutive rows of one section, up to CHUNK at a time: memory stays flat."""
    for section, group in groupby(rows, key=itemgetter(0)):
        while chunk := list(islice(group, CHUNK)):
            yield section, chunk


class Importer:
    """What an import has done so far: counts, refusals, and the ids its refs stand for."""

    def __init__(self, on_conflict: str):
        self.on_conflict = on_conflict
        self.counts: dict[str, Counter[str]] = {
            "created": Counter(),
            "updated": Counter(),
            "skipped": Counter(),
        }
        self.errors: list[dict[str, Any]] = []
        self.refused = 0
        # Refs given so far, and the ids of those stored, per section: a source_id names a
        # source's ref, never an event's that happens to be spelt the same.
        self.sections = sections()
        self.refs: dict[str, set[str]] = {section: set() for section in self.sections}
        self.ids: dict[str, dict[str, Any]] = {section: {} for section in self.sections}
        self.loaders = {name: RowLoader(schema()) for name, (_, schema) in self.sections.items()}

    def load(self, section: str, chunk: list) -> None:
        """Check a chunk of one section's rows and store the good ones, a few statements for
        all of them (records.create_many); rows already stored follow `on_conflict`."""
        model = self.sections[section][0]
        resource = resources.of(model)
        identity = resource.identity
        loaded = dict(self._loaded(section, chunk))
        key_of = records.identity(identity)
        keys = {position: key_of(data) for position, (data, _) in loaded.items()}
        twins = records.find_twins(model, list(keys.values()), identity)
        new, pending = {}, set()
        for position, (data, ref) in loaded.items():
            same = keys[position]
            where = chunk[position][2]
            if same in pending:
                self._refuse({"": "It repeats an earlier row of this import."}, where)
            elif same not in twins:
                new[position] = (data, ref)
                pending.add(same)
            else:
                self._settle(section, model, twins[same], data, ref, where)
        positions = list(new)
        rows = [data for data, _ in new.values()]
        known = twins if identity == resource.natural_key else None
        created, refused = records.create_many(model, rows, known)
        if created:  # a section with none created has no count, as with none updated
            self.counts["created"][section] += len(created)
        for index, key in created.items():
            self._remember(section, new[positions[index]][1], key)
        for index, refusal in refused.items():
            self._refuse_for(refusal, chunk[positions[index]][2])

    def _loaded(self, section: str, chunk: list) -> Iterator[tuple[int, tuple[dict, str | None]]]:
        """Each row of the chunk the schema takes, by its position: its data and its ref.
        The others are refused."""
        resolved = [self._resolved(section, item) for _, item, _ in chunk]
        loader = self.loaders[section]
        quickly = loader.load_many([item for item, _, _ in resolved])
        for position, ((item, ref, unknown), data) in enumerate(
            zip(resolved, quickly, strict=True)
        ):
            try:
                if item is None:
                    raise ValidationError({"": ["A record is a JSON object of its fields."]})
                try:
                    if data is None:
                        data = loader.schema.load(item)  # raises, naming the fields
                except ValidationError as error:
                    # A schema's load reports by field: a dict.
                    raise ValidationError(cast(dict[str, Any], error.messages) | unknown) from None
                if unknown:
                    raise ValidationError(unknown)
            except ValidationError as error:
                self._refuse(error.messages, chunk[position][2])
                continue
            yield position, (data, ref)

    def _resolved(self, section: str, item) -> tuple[dict | None, str | None, dict]:
        """A row as its schema takes it, with ids for the refs it gives (a stand-in for those
        unknown), its own ref, and what is wrong with its refs; None for a row that is not a
        JSON object."""
        if not isinstance(item, dict):
            return None, None, {}
        item = dict(item)
        ref = item.pop("ref", None)
        unknown = self._claim(section, ref)
        for name, named in REFERENCES.items():
            if isinstance(item.get(name), str):
                ids = self.ids[named]
                if item[name] not in ids:
                    unknown[name] = [f"No earlier record of {named} has ref {item[name]!r}."]
                item[name] = ids.get(item[name], 1)  # a stand-in, to check the rest
        return item, ref, unknown

    def _claim(self, section: str, ref) -> dict:
        """What is wrong with a row's ref, if anything: each names one record of its section."""
        if ref is None:
            return {}
        if not isinstance(ref, str) or not 1 <= len(ref) <= MAX_REF:
            return {"ref": [f"A ref is a string of 1 to {MAX_REF} characters."]}
        if ref in self.refs[section]:
            return {"ref": [f"An earlier row of {section} has ref {ref!r} too."]}
        self.refs[section].add(ref)
        return {}

    def _settle(self, section: str, model, key, data: dict, ref, where: dict) -> None:
        """A row whose record is already stored: skip it, update it, or refuse it."""
        if self.on_conflict == "skip":
            self.counts["skipped"][section] += 1
        elif self.on_conflict == "update":
            try:
                with database.atomic():  # a savepoint: a refused update leaves nothing
                    records.update(model, key, data, None)
            except DomainError as error:
                self._refuse_for(error, where)
                return
            self.counts["updated"][section] += 1
        else:
            message = (
                f"It is already stored as {model.__name__.lower()} {key}; "
                "import with on_conflict=skip or update to accept that."
            )
            self._refuse({"": message}, where)
            return
        self._remember(section, ref, key)

    def _remember(self, section: str, ref, key) -> None:
        if ref is not None:
            self.ids[section][ref] = key

    def _refuse_for(self, error: DomainError, where: dict) -> None:
        named = {API_NAMES.get(k, k): v for k, v in getattr(error, "errors", {}).items()}
        self._refuse(named or {"": error.detail}, where)

    def _refuse(self, messages, where: dict) -> None:
        self.refused += 1
        self.errors += problems(messages, where)[: MAX_ERRORS - len(self.errors)]


def problems(messages, where: dict) -> list[dict]:
    """Marshmallow's or a rule's messages about one row, as problem `errors` items: one per
    field, its messages joined. The key "" holds what is said of the row as a whole."""
    return [
        where
        | {
            "pointer": where.get("pointer", "") + json_pointer(path),
            "detail": " ".join(details),
        }
        for path, details in field_messages(messages, whole="")
    ]


def document_rows(document) -> Iterator[tuple[str, dict, dict]]:
    """The rows of a JSON document, sections in dependency order, whatever order it has."""
    if not isinstance(document, dict):
        raise ValidationError({"": ["The document must be a JSON object of sections."]})
    names = list(sections())
    unknown = set(document) - set(names)
    if unknown:
        raise ValidationError({name: ["Unknown section."] for name in sorted(unknown)})
    for section in names:
        items = document.get(section, [])
        if not isinstance(items, list):
            raise ValidationError({section: ["A section is a list of records."]})
        for index, item in enumerate(items):
            yield section, item, {"pointer": f"/{section}/{index}"}


def text_lines(lines: Iterable[bytes]) -> Iterator[str]:
    """The lines of a UTF-8 file, decoded one at a time so that a bad byte names its line.

    A byte-order mark is not part of the first line: Excel's "CSV UTF-8" starts with one.
    """
    for number, line in enumerate(lines, start=1):
        codec = "utf-8-sig" if number == 1 else "utf-8"
        try:
            text = line.decode(codec)
        except UnicodeDecodeError as error:
            column = len(line[: error.start].decode(codec, errors="replace")) + 1
            raise Unreadable(
                f"It is not UTF-8 text: byte {line[error.start]:#04x} at column {column}.", number
            ) from None
        # Lines that end in a carriage return alone (old Mac files) arrive as one; the csv
        # module wants them one at a time.
        if "\r" in text.rstrip("\r\n"):
            yield from io.StringIO(text, newline="")
        else:
            yield text


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[str, dict, dict]]:
    """The statistics of a CSV file with the documented header, one per line after it."""
    # Strict: a stray quote is an error naming its line, not a field silently run together.
    reader = csv.reader(lines, strict=True)
    records = _records(reader)
    header = next(records, [])
    missing = {"indicator", "region", "segment", "period", "value", "source_id"} - set(header)
    if missing or set(header) - set(CSV_COLUMNS) or len(set(header)) < len(header):
        raise ValidationError(
            {
                "header": [
                    f"Columns are {', '.join(CSV_COLUMNS)}; each once, the first six required."
                ]
            }
        )
    section = collection(Statistic)
    for row in records:
        if not row:
            continue  # a blank line
        item: dict[str, Any]
        if len(row) == len(header) and "" not in row:
            item = dict(zip(header, row, strict=True))  # as most rows are: no empty cell to drop
        else:
            item = {name: text for name, text in zip(header, row, strict=False) if text}
            if len(row) > len(header):
                item[""] = row[len(header) :]  # more cells than the header names
        for name in NUMBERS:
            item[name] = _number(item[name]) if name in item else None
        for name in REFERENCES:
            text = item.get(name, "")
            if text.isascii() and text.isdigit():
                # No id has more than 10 digits; reading a longer one would only cost time
                # (int() refuses more than 4,300 digits, and takes seconds for fewer).
                item[name] = int(text) if len(text) <= 10 else MAX_ID + 1
        yield section, item, {"line": reader.line_num}


def _records(reader) -> Iterator[list[str]]:
    """The records of a CSV reader; text that breaks CSV (a stray quote, a field longer
    than the csv module's limit of 128 KiB) ends the file with an error naming its line."""
    try:
        yield from reader
    except csv.Error as error:
        raise Unreadable(f"It cannot be read as CSV: {error}.", reader.line_num) from None


def _number(text: str):
    # Written as JSON writes a number, as in a query string; anything else is left for the
    # schema to refuse as not a number (Decimal() would also take "١", "1_0", " 1", "NaN").
    return Decimal(text) if NUMBER_TEXT.fullmatch(text) else text


class RowLoader:
    """Loads rows as `schema.load` does, several times faster: a field at a time over a
    chunk of rows, remembering what each field made of the values it met (an import's
    columns repeat themselves: one indicator, a few regions and sources), and reading the
    plain values of periods and numbers without marshmallow's machinery around each one.

    It repeats what a record schema adds to its fields (InputSchema's check of text,
    RecordSchema's periods); a row it cannot take as it is (an error, a missing or unknown
    field) is left to the schema itself, so every error is the schema's own. A test holds
    the two to the same results.
    """

    MEMORY = 10_000  # values remembered per field: enough for the columns that repeat
    FEW = 100  # values remembered of a chunk that repeats none

    def __init__(self, schema: RecordSchema):
        self.schema = schema
        fields = schema.load_fields.items()
        self.fields = {
            field.data_key or name: (field.attribute or name, field) for name, field in fields
        }
        self.attributes = [attribute for attribute, _ in self.fields.values()]
        self.required = {key for key, (_, field) in self.fields.items() if field.required}
        # Each field's loaded values, by the value's type and the value: True == 1, but a
        # boolean is not an id.
        self.seen: dict[str, dict[tuple[type, Any], Any]] = {key: {} for key in self.fields}
        self.refused: dict[str, set[tuple[type, Any]]] = {key: set() for key in self.fields}
        self.quick = {key: _quick_loader(field) for key, (_, field) in self.fields.items()}
        self.periods = periods(schema)

    def load(self, item: dict) -> dict:
        loaded = self.load_many([item])[0]
        return self.schema.load(item) if loaded is None else loaded  # raises, naming the fields

    def load_many(self, items: list) -> list[dict | None]:
        """What `load` gives for each of `items`; None for one that only the schema can load
        or refuse: not a dict, a field missing or unknown, a value refused."""
        whole = [
            isinstance(item, dict) and self.required <= item.keys() <= self.fields.keys()
            for item in items
        ]
        given = [item if ok else {} for item, ok in zip(items, whole, strict=True)]
        named = set().union(*given)
        # As a chunk almost always is: every row gives every field that any row gives.
        complete = set(map(len, given)) == {len(named)}
        refused: set[int] = set()
        attributes, columns = [], []
        for key, attribute in zip(self.fields, self.attributes, strict=True):
            if key not in named and self._column(key, [missing])[0][0] is missing:
                continue  # given by no row, and without a default: no row has it
            if complete and key in named:
                cells = list(map(itemgetter(key), given))  # each row has it: no default to give
            else:
                cells = list(map(methodcaller("get", key, missing), given))
            column, refusals = self._column(key, cells)
            attributes.append(attribute)
            columns.append(column)
            refused.update(refusals)
        if all(whole) and not refused and complete:
            # As a chunk almost always is: every row loads, and gives every field any gives.
            return self._rows(attributes, columns)
        loaded: list[dict | None] = []
        for position, values in enumerate(zip(*columns, strict=True)):
            if not whole[position] or position in refused:
                loaded.append(None)
                continue
            data = {name: v for name, v in zip(attributes, values, strict=True) if v is not missing}
            loaded.append(split_periods(data, self.periods))
        return loaded

    def _rows(self, attributes: list[str], columns: list[list]) -> list[dict | None]:
        """The rows of `columns` (the loaded values of `attributes`) when no value is missing
        or refused, each period split into its bounds as `split_periods` splits it: a
        column at a time, rather than a row at a time."""
        names, split = [], []
        for attribute, column in zip(attributes, columns, strict=True):
            if attribute not in self.periods:
                names.append(attribute)
                split.append(column)
        for name in self.periods:
            if name in attributes:
                column = columns[attributes.index(name)]
                names += [f"{name}_start", f"{name}_end"]
                split.append([period.start if period else None for period in column])
                split.append([period.end if period else None for period in column])
        return [dict(zip(names, values, strict=True)) for values in zip(*split, strict=True)]

    def _column(self, key: str, values: list) -> tuple[list, list[int]]:
        """What the field `key` makes of each of `values`, and the positions of those it
        refuses: a value it remembers is looked up; each other one is loaded once."""
        seen, refused = self.seen[key], self.refused[key]
        try:
            typed = list(zip(map(type, values), values, strict=True))
            met = set(typed)
        except TypeError:  # a list or dict: not remembered
            loaded = [self._value(key, value) for value in values]
            return loaded, [i for i, value in enumerate(loaded) if value is REFUSED]
        new = met.difference(seen)
        if len(seen) + len(new) > self.MEMORY:
            seen.clear()
            refused.clear()
            new = met
        made = {kind_value: self._value(key, kind_value[1]) for kind_value in new}
        refusals = {kind_value for kind_value, value in made.items() if value is REFUSED}
        kept = made
        if len(new) == len(met) == len(values):
            # None of the chunk's values was met before or repeats in it (the periods of
            # one long series): remembering them all cost more than it saved. A few are,
            # so that a chunk that repeats them is seen to.
            kept = dict(islice(made.items(), self.FEW))
        seen.update(kept)
        refused.update(refusals.intersection(kept))
        loaded = list(map(made.get, typed, map(seen.get, typed)))
        bad = met & refused | refusals
        return loaded, [i for i, t in enumerate(typed) if t in bad] if bad else []

    def _value(self, key: str, value):
        """What the field `key` makes of `value`, or REFUSED."""
        field = self.fields[key][1]
        quick = self.quick[key]
        try:
            if quick is not None and type(value) is quick[0]:
                return quick[1](value)
            if unacceptable(value):
                return REFUSED
            return field.deserialize(value, key, None)
        except (ValidationError, ValueError):
            return REFUSED


REFUSED = object()  # what a field makes of a value it refuses: the schema words why


def _quick_period(text: str) -> Period:
    """A PeriodField's load of text: the period, or ValueError (as `unacceptable` refuses
    control characters)."""
    if not acceptable_text(text):
        raise ValueError(text)
    return Period.parse(text)


def _quick_number(number: Decimal) -> Decimal:
    """A Number field's load of a Decimal (a number read from CSV): the same Decimal, zero
    made 0; an error where the field refuses it. (The field reads str(number) back, which
    gives the same Decimal.)"""
    if not number.is_finite():
        raise ValueError(number)
    return storable(number)


def _quick_loader(field) -> tuple[type, Any] | None:
    """The type of value `field` loads most often, and a quicker equivalent of its
    deserialize for that type; None where there is none (or the field has hooks of its own)."""
    if field.validators or field.pre_load or field.post_load:
        return None
    return {PeriodField: (str, _quick_period), Number: (Decimal, _quick_number)}.get(type(field))
