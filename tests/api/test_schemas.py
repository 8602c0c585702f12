"""The shared schema parts: what InputSchema refuses and documents, and RowLoader, the import's
fast loader, giving what the resource schemas give, row for row."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from marshmallow import ValidationError

from api.endpoints.imports import SECTIONS
from api.fields import TEXT_PATTERN, VISIBLE_TEXT_PATTERN, acceptable_text, visible
from api.schemas import RowLoader

ROOT = Path(__file__).parents[2]
SEED = json.loads((ROOT / "service" / "seed.json").read_text())
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
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


TEXTS = [
    *("a", " a ", "\u5317\u4eac", "a\tb\nc", "\u00e9", "\U0001f697", "\u200ba", "..."),
    *("", " ", "\t\n", "\u00a0", "\u3000", "\u2028", "\x85", "\u200b\u200c\u200d\u2060\ufeff"),
    *("a\x00", "a\r", "\x1b", "a\x0b", "a\x0c", "\x1f", "a\x7f"),
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_spec_patterns_for_text_say_what_the_server_takes(text):
    # The server checks text with its own functions; the spec states the same rules as regular
    # expressions, written to mean the same in Python and in JSON Schema's (ECMA 262) dialect.
    assert bool(re.search(TEXT_PATTERN, text)) == acceptable_text(text)
    assert bool(re.search(VISIBLE_TEXT_PATTERN, text)) == (acceptable_text(text) and visible(text))


def schema(name: str) -> dict:
    return SPEC["components"]["schemas"][name]["properties"]


def parameters(path: str) -> dict:
    """A GET's query parameters: each one's schema, and its description."""
    found = SPEC["paths"][path]["get"].get("parameters", [])
    return {p["name"]: p["schema"] | {"description": p.get("description", "")} for p in found}


def test_the_spec_states_the_bounds_of_numbers():
    for number in (
        schema("Statistic")["value"],
        schema("Statistic")["change_pct"],
        schema("Target")["target_value"],
        parameters("/v1/statistics")["value_min"],
    ):
        assert (number["exclusiveMinimum"], number["exclusiveMaximum"]) == (-(10**18), 10**18)
        assert "15 significant digits and 6 decimal places" in number["description"]


def test_the_spec_says_which_text_must_show_something():
    assert schema("Source")["publisher"]["pattern"] == VISIBLE_TEXT_PATTERN
    assert schema("Event")["topics"]["items"]["pattern"] == VISIBLE_TEXT_PATTERN
    assert schema("Event")["summary"]["pattern"] == TEXT_PATTERN
    assert parameters("/v1/sources")["q"]["pattern"] == VISIBLE_TEXT_PATTERN


def test_source_urls_are_uris():
    assert schema("Source")["url"]["format"] == "uri"


@pytest.mark.parametrize("path", [path for path in SPEC["paths"] if "get" in SPEC["paths"][path]])
def test_no_list_filter_documents_an_empty_value_it_refuses(path):
    # `publisher=` is a list of one empty value: the server refuses it, so the spec must.
    for name, parameter in parameters(path).items():
        if parameter.get("type") == "array" and parameter["items"].get("type") == "string":
            items = parameter["items"]
            assert (
                items.get("minLength", 0) >= 1
                or "" not in items.get("enum", [""])
                or not re.search(items.get("pattern", ""), "")
            ), (path, name)


def test_as_of_and_timestamps_need_an_offset():
    assert "with its offset" in parameters("/v1/statistics")["as_of"]["description"]
    assert "with its offset" in schema("Source")["retrieved_at"]["description"]
