"""CSV cells: formula injection neutralised by the value's type, lists and objects as JSON."""

import csv
import io
import json
from decimal import Decimal

import pytest

from api.formats import to_csv


def cell(value) -> str:
    """The one cell `value` is written as, read back by a CSV reader."""
    (row,) = csv.DictReader(io.StringIO(to_csv([{"x": value}], ["x"])))
    return row["x"]


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@A1", "\tx", "\r=1", "'x", "-5", "=cmd|'/C calc'!A0"]
)
def test_text_a_spreadsheet_would_evaluate_gets_one_leading_quote(text):
    assert cell(text) == f"'{text}"


@pytest.mark.parametrize("text", ["plain", "1=1", " =1", "a-b", "[not a list]", ""])
def test_other_text_is_written_as_it_is(text):
    assert cell(text) == text


@pytest.mark.parametrize(
    ("value", "written"),
    [(-5, "-5"), (-5.5, "-5.5"), (Decimal("-0.25"), "-0.25"), (0, "0"), (True, "true")],
)
def test_numbers_and_booleans_are_never_prefixed(value, written):
    assert cell(value) == written


@pytest.mark.parametrize("value", [["a; b", "c", "=d", "\"e\", 'f'"], [], {"k": ["=v"]}])
def test_lists_and_objects_are_json_that_reads_back_exactly(value):
    assert json.loads(cell(value)) == value


def test_none_is_an_empty_cell():
    assert cell(None) == ""
