"""The shared schema parts: what InputSchema refuses and documents."""

import json
import re
from pathlib import Path

import pytest

from api.fields import TEXT_PATTERN, VISIBLE_TEXT_PATTERN, acceptable_text, visible

ROOT = Path(__file__).parents[2]
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
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
