"""Field types shared by the resource schemas: periods, exact numbers, regions and codes."""

import math
import re
from datetime import UTC
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as NoMatch

from models.periods import Period
from models.regions import AGGREGATES, region_name

# JSON numbers are read as binary doubles by most clients; 15 significant digits is what a double
# carries exactly, so every value we accept comes back to them exactly as it was sent.
MAX_SIGNIFICANT_DIGITS = 15
MAX_MAGNITUDE = Decimal("1e18")
# Ids are 32-bit on PostgreSQL; a larger one could never exist, and would overflow the column.
MAX_ID = 2**31 - 1


# [0-9], not \d: Python's \d and int() also take other scripts' digits (١, ２), and a period,
# an id or a page number is written in ASCII digits only.
_ONE_PERIOD = r"[0-9]{4}(-(H[12]|Q[1-4]|(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?))?"
PERIOD_PATTERN = rf"^{_ONE_PERIOD}(/{_ONE_PERIOD})?$"
# What the spec says of a number a client sends: JSON Schema states the magnitude, and the
# description the rest (a multipleOf 0.000001 would make validators stumble on binary floats).
NUMBER_BOUNDS = (
    f"Less than {MAX_MAGNITUDE:.0e} in magnitude, with at most {MAX_SIGNIFICANT_DIGITS} "
    "significant digits and 6 decimal places."
)
NUMBER_SCHEMA = {"exclusiveMinimum": -int(MAX_MAGNITUDE), "exclusiveMaximum": int(MAX_MAGNITUDE)}
# A number in text (a query string, a CSV cell), as JSON writes one, leading zeros aside
# (Decimal() would also take "١", " 1", "1_0", "Infinity").
NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_QUERY_INTEGER = re.compile(r"-?[0-9]+")


# Text a client sends is UTF-8 without C0 control characters but tab and newline: they show
# nothing, NUL cannot be stored by PostgreSQL, and \r or \x1b in a title only garbles output.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
# What shows nothing: white space (Python's and JSON Schema's \s differ only by \x85, here, and
# the controls, refused anyway) and the zero-width characters.
_BLANK = r"\s\x85\u200b-\u200d\u2060\ufeff"
_VISIBLE = re.compile(rf"[^{_BLANK}]")
# The same rules as JSON Schema patterns, for the spec: any text, and text that must say something.
TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f]*$"
VISIBLE_TEXT_PATTERN = rf"^[^\x00-\x08\x0b-\x1f]*[^{_BLANK}\x00-\x1f][^\x00-\x08\x0b-\x1f]*$"


def storable_text(text: str) -> bool:
    """Whether every backend can store `text`: no NUL (PostgreSQL's text cannot hold it) and no
    unpaired surrogate (not UTF-8 at all)."""
    return "\x00" not in text and (text.isascii() or _is_utf8(text))


def acceptable_text(text: str) -> bool:
    """Whether `text` is text a client may send: UTF-8, no C0 control but tab and newline."""
    return not _CONTROL.search(text) and (text.isascii() or _is_utf8(text))


def visible(text: str) -> bool:
    """Whether `text` shows something: not empty, white space or zero-width characters only."""
    return _VISIBLE.search(text) is not None


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def storable(number: Decimal) -> Decimal:
    """`number`, if the decimal columns can hold it exactly; else a ValidationError."""
    # Compared before anything computes with it: normalizing 1e1000000 overflows the context.
    if not number.is_finite() or number.copy_abs() >= MAX_MAGNITUDE:
        raise ValidationError(f"Must be smaller than {MAX_MAGNITUDE:.0e} in magnitude.")
    if number.is_zero():
        return Decimal(0)  # -0 is 0, and 0e-99999999 too (no column holds that exponent)
    # Counted from the digits, not with normalize(), which rounds to the context's 28 digits
    # and flushes an exponent below -999999 to zero.
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # not "n", "N" or "F": the number is finite
    text = "".join(map(str, digits))
    significant = text.strip("0")
    exponent += len(text) - len(text.rstrip("0"))  # of the last significant digit
    if len(significant) > MAX_SIGNIFICANT_DIGITS or exponent < -6:
        raise ValidationError(
            f"At most {MAX_SIGNIFICANT_DIGITS} significant digits and 6 decimal places."
        )
    return number


class PeriodField(fields.String):
    """A reporting period: loads a label or interval, dumps the canonical label."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("pattern", PERIOD_PATTERN)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.label

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid period: give a string such as 2025-Q1.")
        try:
            return Period.parse(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class Number(fields.Decimal):
    """An exact decimal, sent and returned as a JSON number (never a float with noise)."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValidationError("Not a valid number.")
        if isinstance(value, float) and math.isinf(value):  # how Python reads 1e1000000
            raise ValidationError(f"Must be smaller than {MAX_MAGNITUDE:.0e} in magnitude.")
        try:
            number = super()._deserialize(value, attr, data, **kwargs)
        except InvalidOperation:
            raise ValidationError("Not a valid number.") from None
        return storable(number)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        value = Decimal(value).normalize()
        return int(value) if value == value.to_integral_value() else float(value)


class Region(fields.String):
    """An ISO 3166-1 alpha-2 country code or one of the documented aggregates."""

    def __init__(self, *, countries_only: bool = False, **kwargs):
        self.countries_only = countries_only
        codes = "[A-Z]{2}" if countries_only else "|".join(["[A-Z]{2}", *sorted(AGGREGATES)])
        kwargs.setdefault("metadata", {}).setdefault("pattern", f"^({codes})$")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if region_name(code) is None or (self.countries_only and code in AGGREGATES):
            allowed = "an ISO 3166-1 alpha-2 code" + (
                "" if self.countries_only else f" or one of {', '.join(sorted(AGGREGATES))}"
            )
            raise ValidationError(f"Unknown region {code!r}: use {allowed}.")
        return code


CODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class CodeConverter(BaseConverter):
    """A vocabulary code in a URL; anything else cannot name a record, so it is a 404."""

    regex = r"[a-z][a-z0-9_]{0,63}"


class Code(fields.String):
    """A vocabulary code: lower case letters, digits and underscores (`vehicle_exports`)."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=[
                validate.Length(min=1, max=64),
                validate.Regexp(CODE_PATTERN, error="Use lower-case letters, digits, _."),
            ],
            **kwargs,
        )


class IdConverter(BaseConverter):
    """A record id in a URL: ASCII digits (werkzeug's int also takes ١ and １), at most MAX_ID;
    anything else cannot name a record, so it is a 404."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value) if len(value.lstrip("0")) <= 10 else MAX_ID + 1
        if number > MAX_ID:
            raise NoMatch()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


ID_PARAMETER = {"type": "integer", "maximum": MAX_ID, "minimum": 0}


class UTCDateTime(fields.AwareDateTime):
    """An RFC 3339 timestamp with its offset (Z or +08:00), stored in UTC.

    A timestamp without an offset names no instant (UTC? the client's zone? the server's?),
    so it is refused rather than guessed.
    """

    default_error_messages = {
        "invalid_awareness": "Give the time zone offset, such as Z or +08:00 (RFC 3339)."
    }

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValidationError("Out of range once converted to UTC.") from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


class Id(fields.Integer):
    """A record id in a JSON body.

    JSON Schema counts 2.0 as an integer, so it is accepted; marshmallow's lenient Integer
    would also truncate 2.5 to 2 and its strict one refuses 2.0, hence this field.
    """

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            raise ValidationError("Not a valid id: give a whole number.")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(fields.Boolean):
    """true or false, and nothing else (marshmallow's own also takes "yes", 1, "on"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: use true or false.")
        return value


class QueryInteger(fields.Integer):
    """A whole number in a query string, in ASCII digits (int() would take " 1", "1_0", "١")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _QUERY_INTEGER.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryId(QueryInteger):
    """A record id in a query string."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class QueryNumber(fields.Decimal):
    """A number in a query string, written as JSON writes one, within the range values can have."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not NUMBER_TEXT.fullmatch(value):
            raise ValidationError("Not a valid number: write it as JSON does, such as 7.3 or 1e6.")
        return storable(super()._deserialize(value, attr, data, **kwargs))
