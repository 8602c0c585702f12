"""The shared field types: what each takes, in ASCII, within the bounds the columns hold."""

from datetime import datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from werkzeug.routing import ValidationError as NoMatch

from api.fields import (
    MAX_ID,
    IdConverter,
    Number,
    QueryId,
    QueryInteger,
    QueryNumber,
    UTCDateTime,
    storable,
)


@pytest.mark.parametrize(
    "number",
    ["1e1000000", "-1e1000000", "1e999999999", "1E+18", "-1e18", "Infinity", "NaN", "sNaN"],
)
def test_numbers_the_columns_cannot_hold_are_refused_not_crashed_on(number):
    with pytest.raises(ValidationError, match="magnitude"):
        storable(Decimal(number))


@pytest.mark.parametrize(
    "number",
    # normalize() rounds to 28 digits and flushes exponents below -999999 to zero: counted
    # with it, the last three would pass as storable.
    ["1e-1000000", "0.0000001", "1234567890123456", "1e-1000030", "1." + "0" * 30 + "1"],
)
def test_numbers_too_precise_are_refused(number):
    with pytest.raises(ValidationError, match="significant digits"):
        storable(Decimal(number))


@pytest.mark.parametrize("zero", ["-0", "0e-99999999", "-0.000"])
def test_zero_is_stored_as_zero_whatever_its_sign_and_exponent(zero):
    assert str(storable(Decimal(zero))) == "0"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "1", True, None])
def test_a_body_number_is_a_finite_json_number(value):
    with pytest.raises(ValidationError):
        Number(allow_none=False).deserialize(value)


@pytest.mark.parametrize(
    "text", ["\u0661", "\uff11", " 1", "1 ", "1_0", "+1", "1.", ".5", "0x1", "inf", "NaN", "1e"]
)
def test_a_query_number_is_written_as_json_writes_one(text):
    with pytest.raises(ValidationError):
        QueryNumber().deserialize(text)


@pytest.mark.parametrize(("text", "number"), [("-0", "0"), ("7.3", "7.3"), ("1e6", "1E+6")])
def test_a_query_number_as_json_writes_it_is_taken(text, number):
    assert str(QueryNumber().deserialize(text)) == number


@pytest.mark.parametrize("text", ["\u0661", "\uff11", "\U0001d7cf", " 1", "1_0", "1.0", ""])
def test_query_integers_are_ascii_digits(text):
    for field in (QueryInteger(), QueryId()):
        with pytest.raises(ValidationError):
            field.deserialize(text)


@pytest.mark.parametrize(("text", "number"), [("1", 1), ("01", 1), (str(MAX_ID), MAX_ID)])
def test_an_id_in_a_path_is_ascii_digits_up_to_max_id(text, number):
    assert IdConverter(None).to_python(text) == number


@pytest.mark.parametrize("text", [str(MAX_ID + 1), "9" * 5000])
def test_a_larger_id_in_a_path_names_nothing(text):
    with pytest.raises(NoMatch):
        IdConverter(None).to_python(text)


@pytest.mark.parametrize("text", ["2025-06-01T00:00:00", "2025-06-01T08:00", "2025-06-01"])
def test_a_timestamp_needs_its_offset(text):
    with pytest.raises(ValidationError, match="offset"):
        UTCDateTime().deserialize(text)


@pytest.mark.parametrize(
    "text", ["2025-06-01T08:00:00+08:00", "2025-06-01T00:00:00Z", "2025-05-31T19:00:00-05:00"]
)
def test_a_timestamp_with_an_offset_is_stored_in_utc(text):
    assert UTCDateTime().deserialize(text) == datetime(2025, 6, 1)
