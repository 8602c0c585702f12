"""Field types shared by the resource schemas: periods, exact numbers, regions and codes."""

from datetime import UTC
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import BaseConverter

from models.periods import Period
from models.regions import AGGREGATES, region_name

# JSON numbers are read as binary doubles by most clients; 15 significant digits is what a double
# carries exactly, so every value we accept comes back to them exactly as it was sent.
MAX_SIGNIFICANT_DIGITS = 15
MAX_MAGNITUDE = Decimal("1e18")
# Ids are 32-bit on PostgreSQL; a larger one could never exist, and would overflow the column.
MAX_ID = 2**31 - 1


_ONE_PERIOD = r"\d{4}(-(H[12]|Q[1-4]|(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?))?"
PERIOD_PATTERN = rf"^{_ONE_PERIOD}(/{_ONE_PERIOD})?$"


def storable(number: Decimal) -> Decimal:
    """`number`, if the decimal columns can hold it exactly; else a ValidationError."""
    digits = number.normalize().as_tuple()
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
        raise ValidationError(f"Must be smaller than {MAX_MAGNITUDE:.0e} in magnitude.")
    if len(digits.digits) > MAX_SIGNIFICANT_DIGITS or digits.exponent < -6:
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


class UTCDateTime(fields.AwareDateTime):
    """An RFC 3339 timestamp, stored in UTC; a timestamp without an offset is taken as UTC."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

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


class QueryId(fields.Integer):
    """A record id in a query string."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class QueryNumber(fields.Decimal):
    """A number in a query string, within the range values can have."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return storable(super()._deserialize(value, attr, data, **kwargs))
