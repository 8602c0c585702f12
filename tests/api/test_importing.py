"""The import engine: RowLoader, its fast loader, gives what the schemas give, row for row."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from marshmallow import ValidationError

from api.importing import RowLoader, sections

SECTIONS = sections()

ROOT = Path(__file__).parents[2]
SEED = json.loads((ROOT / "service" / "seed.json").read_text())
ODD_VALUES = (
    *(None, [], {"a": 1}, 1.5, 2, True, "x", "a\x00b", "", Decimal("-1"), "2025-Q5"),
    *(" ", "\u200b\ufeff", "a\r\nb", "\x1b[1m", "a\tb\nc", "\uff12\uff10\uff12\uff15", ["\u2060"]),
    # Numbers as a CSV cell gives them, and periods: what the loader reads without the fields.
    *(Decimal("0.000"), Decimal("-0"), Decimal("1e-7"), Decimal("1E+17"), Decimal("1e18")),
    *(Decimal("NaN"), Decimal("-Infinity"), Decimal("1234567890123456"), Decimal("12.5000000")),
    *("2024-02-29", "2025-02-29", " 2025-Q1\t", "2025\x0b", "2025-01/2024-12", "2025-01/2025-03"),
)


def variants(item: dict):
    """The item, and each of its fields missing, odd, or one too many."""
    yield item
    yield item | {"unknown": 1}
    for name in item:
        yield {key: value for key, value in item.items() if key != name}
        for value in ODD_VALUES:
            yield item | {name: value}


def seed_items(section: str) -> list[dict]:
    """The seed's rows of a section, without refs, and with ids for the refs they give."""
    return [
        {
            key: 1 if key in ("source_id", "event_id") else value
            for key, value in item.items()
            if key != "ref"
        }
        for item in SEED[section]
    ]


def outcome(load, item: dict):
    try:
        return "loaded", load(dict(item))
    except ValidationError as error:
        return "refused", error.messages


@pytest.mark.parametrize("section", SECTIONS)
def test_the_loader_agrees_with_the_schema_on_every_variant(section):
    schema = SECTIONS[section][1]()
    loader = RowLoader(schema)
    for item in seed_items(section):
        for variant in variants(item):
            # Twice: the second load comes from what the loader remembers.
            for _ in range(2):
                assert outcome(loader.load, variant) == outcome(schema.load, variant), variant


def test_remembered_values_are_told_apart_by_type():
    schema = SECTIONS["statistics"][1]()
    loader = RowLoader(schema)
    row = {k: 1 if k.endswith("_id") else v for k, v in SEED["statistics"][0].items()}
    assert loader.load(dict(row))["source"] == 1
    # True == 1 in Python, but a boolean is not an id.
    assert outcome(loader.load, row | {"source_id": True})[0] == "refused"


@pytest.mark.parametrize("section", SECTIONS)
def test_a_chunk_loads_as_its_rows_do_one_by_one(section):
    # A field at a time over rows whose values differ in type, validity and presence.
    schema = SECTIONS[section][1]()
    chunk = [variant for item in seed_items(section) for variant in variants(item)]
    chunk += [[], "a row", None]
    loaded = RowLoader(schema).load_many(chunk)
    for data, item in zip(loaded, chunk, strict=True):
        if data is not None:  # else the schema loads it, or says why not
            assert outcome(schema.load, item) == ("loaded", data), item
    assert None in loaded and any(loaded)


@pytest.mark.parametrize("section", SECTIONS)
def test_a_chunk_of_like_rows_loads_as_its_rows_do_one_by_one(section):
    # Every row loads and gives the same fields: the loader builds the rows a column at a
    # time. Also with a field that no row gives (its default, if it has one, filled in).
    schema = SECTIONS[section][1]()
    loader = RowLoader(schema)
    for item in seed_items(section):
        for name in [None, *item]:
            like = {key: value for key, value in item.items() if key != name}
            if name in loader.required or outcome(schema.load, like)[0] == "refused":
                continue
            chunk = [dict(like) for _ in range(3)]
            assert loader.load_many(chunk) == [schema.load(row) for row in chunk], like


def test_a_chunk_of_values_never_met_is_loaded_with_few_of_them_remembered():
    # The periods of one long series: remembering them all would cost more than it saves,
    # until a chunk meets some of them again.
    schema = SECTIONS["statistics"][1]()
    loader = RowLoader(schema)
    row = {k: 1 if k.endswith("_id") else v for k, v in SEED["statistics"][0].items()}
    periods = [f"{year}-01" for year in range(1800, 1800 + 3 * RowLoader.FEW)] + ["2025-13"]
    chunk = [row | {"period": period} for period in periods]
    for remembered in (RowLoader.FEW, len(periods)):
        loaded = loader.load_many(chunk)
        assert loaded[:-1] == [schema.load(dict(item)) for item in chunk[:-1]]
        assert loaded[-1] is None  # refused: the schema says why
        assert len(loader.seen["period"]) == remembered
