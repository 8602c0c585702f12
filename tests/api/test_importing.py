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
)


def variants(item: dict):
    """The item, and each of its fields missing, odd, or one too many."""
    yield item
    yield item | {"unknown": 1}
    for name in item:
        yield {key: value for key, value in item.items() if key != name}
        for value in ODD_VALUES:
            yield item | {name: value}


def outcome(load, item: dict):
    try:
        return "loaded", load(dict(item))
    except ValidationError as error:
        return "refused", error.messages


@pytest.mark.parametrize("section", SECTIONS)
def test_the_loader_agrees_with_the_schema_on_every_variant(section):
    schema = SECTIONS[section][1]()
    loader = RowLoader(schema)
    items = [
        {key: 1 if key in ("source_id", "event_id") else value for key, value in item.items()}
        for item in SEED[section]
    ]
    for item in items:
        item.pop("ref", None)
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
