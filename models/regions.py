"""Regions: ISO 3166-1 alpha-2 country codes, plus a few documented aggregates."""

import pycountry

AGGREGATES = {
    "WORLD": "The whole world",
    "EU": "European Union (member states at the period's time)",
}


def region_name(code: str) -> str | None:
    """The name of a region code, or None when the code is not one."""
    if code in AGGREGATES:
        return AGGREGATES[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 and code.isupper() else None
    return country.name if country else None
