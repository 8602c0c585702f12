"""Series and their transforms, computed in the domain layer: exact, and never a guess."""

from datetime import date
from decimal import Decimal

import pytest

from models import records
from models.errors import Invalid
from models.periods import Period
from models.series import series
from models.tables import Segment, Source, Statistic


def add(period: str, value, segment="total", region="CN", source=1):
    bounds = Period.parse(period)
    records.create(
        Statistic,
        {
            "indicator": "vehicle_exports",
            "region": region,
            "segment": segment,
            "period_start": bounds.start,
            "period_end": bounds.end,
            "value": Decimal(value),
            "source": source,
        },
    )


@pytest.fixture
def db(app):
    with app.app_context():
        yield


def points(result) -> list:
    return [(p.period.label, p.value, p.note) for p in result.points]


def test_share_of_the_parent_segment(db):
    result = series("vehicle_exports", "CN", "new_energy_vehicles", transform="share")
    # The seed's example: 441000 / 1420000 = 31.06% of China's vehicle exports in 2025-Q1.
    assert points(result) == [("2025-Q1", Decimal("31.06"), None)]
    assert result.unit == "percent" and result.share_of == "total"
    assert result.points[0].basis == 1420000 and result.points[0].basis_statistic_id == 1


def test_share_of_a_named_segment(db):
    result = series(
        "vehicle_exports", "CN", "new_energy_vehicles", transform="share", share_of="passenger_cars"
    )
    assert points(result) == [("2025-Q1", Decimal("37.44"), None)]


@pytest.mark.parametrize("share_of", ["total", "suvs"])
def test_a_share_of_the_part_itself_or_of_a_part_of_it_is_refused(db, share_of):
    # Either would be 100% or more of the whole it is said to be a share of.
    records.create(Segment, {"code": "suvs", "name": "SUVs", "parent": "total"})
    with pytest.raises(Invalid) as refused:
        series("vehicle_exports", "CN", "total", transform="share", share_of=share_of)
    assert list(refused.value.errors) == ["share_of"]


def test_yoy_compares_with_the_same_period_a_year_earlier(db):
    add("2024-Q1", 1323000)
    add("2024-Q4", 1600000)
    result = series("vehicle_exports", "CN", "total", transform="yoy_pct")
    assert points(result) == [
        ("2024-Q1", None, "No observation a year earlier."),
        ("2024-Q4", None, "No observation a year earlier."),
        ("2025-Q1", Decimal("7.33"), None),
    ]
    absolute = series("vehicle_exports", "CN", "total", transform="yoy")
    assert absolute.points[-1].value == 97000 and absolute.unit == "vehicles"


def test_change_compares_with_the_previous_period(db):
    add("2024-Q4", 1600000)
    add("2024-Q2", 1500000)
    result = series("vehicle_exports", "CN", "total", transform="change_pct")
    assert points(result) == [
        ("2024-Q2", None, "No observation for the previous period."),
        ("2024-Q4", None, "No observation for the previous period."),  # 2024-Q3 is missing
        ("2025-Q1", Decimal("-11.25"), None),
    ]
    assert series("vehicle_exports", "CN", "total", transform="change").points[-1].value == -180000


def test_a_zero_comparison_gives_null_with_a_reason(db):
    add("2024-Q4", 0)
    result = series("vehicle_exports", "CN", "total", transform="change_pct")
    assert result.points[-1].value is None
    assert result.points[-1].note == "The comparison value is zero."


def test_latest_and_range_keep_their_comparisons(db):
    for quarter, value in (("2024-Q2", 1), ("2024-Q3", 2), ("2024-Q4", 4)):
        add(quarter, value)
    latest = series("vehicle_exports", "CN", "total", transform="change", latest=2)
    assert points(latest) == [("2024-Q4", 2, None), ("2025-Q1", 1419996, None)]
    ranged = series(
        "vehicle_exports",
        "CN",
        "total",
        period_from=Period.parse("2024-Q3"),
        period_to=Period.parse("2024-Q4"),
    )
    assert [p.period.label for p in ranged.points] == ["2024-Q3", "2024-Q4"]


def test_mixed_frequencies_must_be_chosen_between(db):
    add("2024", 5000000)
    with pytest.raises(Invalid) as refused:
        series("vehicle_exports", "CN", "total")
    assert "annual, quarterly" in refused.value.errors["frequency"]
    annual = series("vehicle_exports", "CN", "total", frequency="annual")
    assert points(annual) == [("2024", 5000000, None)]


def test_where_sources_disagree_the_latest_published_wins(db, client):
    client.post(
        "/v1/sources",
        json={
            "publisher": "Later",
            "title": "Revised",
            "published_on": "2025-06-01",
            "url": "https://example.org/revised",
        },
    )
    add("2025-Q1", 1421000, source=2)
    assert series("vehicle_exports", "CN", "total").points[0].observed == 1421000
    assert series("vehicle_exports", "CN", "total", source=1).points[0].observed == 1420000


def test_unknown_vocabulary_is_refused(db):
    with pytest.raises(Invalid) as refused:
        series("nothing", "CN", "nowhere")
    assert set(refused.value.errors) == {"indicator", "segment"}


def test_an_empty_series_is_empty(db):
    result = series("vehicle_exports", "DE", "total")
    assert result.points == [] and result.sources == []


def add_figure(period: str, value, *, source=1, segment="total", **fields) -> int:
    """A statistic of China's vehicle exports with `fields` (status, rank); its id."""
    bounds = Period.parse(period)
    record = {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": segment,
        "period_start": bounds.start,
        "period_end": bounds.end,
        "value": Decimal(value),
        "source": source,
    }
    return records.create(Statistic, record | fields).id


def add_source(published_on: date | None, name: str) -> int:
    source = {"publisher": name, "title": name, "url": f"https://example.org/{name}"}
    return records.create(Source, source | {"published_on": published_on}).id


def test_of_several_figures_the_preferred_else_the_latest_published_else_the_newest_source(db):
    same_day = add_source(date(2025, 5, 11), "Same day")  # as the seed's source, a later id
    earlier = add_source(date(2025, 1, 1), "Earlier")
    undated = add_source(None, "Undated")
    tie = add_figure("2025-Q1", 2, source=same_day)
    add_figure("2025-Q1", 3, source=earlier)
    add_figure("2025-Q1", 4, source=undated)
    (point,) = series("vehicle_exports", "CN", "total").points
    assert (point.statistic_id, point.alternatives) == (tie, 3)
    preferred = add_figure("2025-Q1", 5, source=add_source(None, "Preferred"), rank="preferred")
    assert series("vehicle_exports", "CN", "total").points[0].statistic_id == preferred


def test_a_deprecated_figure_is_never_used_and_a_forecast_is_used_as_any(db):
    later = add_source(date(2026, 1, 1), "Later")
    add_figure("2025-Q1", 2, source=later, rank="deprecated")
    add_figure("2024-Q4", 3, rank="deprecated")
    forecast = add_figure("2025-Q2", 4, status="forecast")
    result = series("vehicle_exports", "CN", "total")
    assert [(p.period.label, p.statistic_id, p.status, p.alternatives) for p in result.points] == [
        ("2025-Q1", 1, "reported", 1),
        ("2025-Q2", forecast, "forecast", 0),
    ]


def test_a_break_starts_the_series_anew_for_every_transform_but_share(db):
    add_figure("2023-Q1", 100)
    add_figure("2023-Q4", 110)
    add_figure("2024-Q1", 200, status="break")
    add_figure("2024-Q2", 210)
    note = "Series break at 2024-Q1: not compared across it."
    yoy = series("vehicle_exports", "CN", "total", transform="yoy")
    assert points(yoy) == [
        ("2023-Q1", None, "No observation a year earlier."),
        ("2023-Q4", None, "No observation a year earlier."),
        ("2024-Q1", None, note),
        ("2024-Q2", None, note),  # 2023-Q2 is before the break, stored or not
        ("2025-Q1", 1420000 - 200, None),  # both at or after it
    ]
    change = series("vehicle_exports", "CN", "total", transform="change_pct")
    assert points(change)[2:4] == [("2024-Q1", None, note), ("2024-Q2", Decimal("5.00"), None)]
    # A share compares parts of one period: a break in either is no matter.
    add_figure("2024-Q1", 50, segment="new_energy_vehicles", status="break")
    share = series("vehicle_exports", "CN", "new_energy_vehicles", transform="share")
    assert points(share)[0] == ("2024-Q1", Decimal("25.00"), None)


def test_a_later_break_is_the_one_named(db):
    add_figure("2023", 1, status="break")
    add_figure("2024", 2, status="break")
    add_figure("2025", 3)
    change = series("vehicle_exports", "CN", "total", transform="change", frequency="annual")
    assert points(change) == [
        ("2023", None, "Series break at 2023: not compared across it."),
        ("2024", None, "Series break at 2024: not compared across it."),
        ("2025", 1, None),
    ]


def test_vintages_of_a_period_and_as_published_by_dates(db):
    revision = add_figure("2025-Q1", 1421000, source=add_source(date(2026, 6, 1), "Customs"))
    result = series(
        "vehicle_exports",
        "CN",
        "total",
        vintages=True,
        vintage_dates=[date(2026, 6, 1), date(2025, 5, 10), date(2025, 5, 11)],
    )
    (vintage,) = result.vintages
    assert [(r.statistic_id, r.published_on, r.chosen) for r in vintage.releases] == [
        (1, date(2025, 5, 11), False),
        (revision, date(2026, 6, 1), True),
    ]
    assert result.vintage_dates == [date(2025, 5, 10), date(2025, 5, 11), date(2026, 6, 1)]
    assert [(d.value, d.statistic_id) for d in vintage.by_date] == [
        (None, None),
        (1420000, 1),  # published that very day
        (1421000, revision),
    ]


@pytest.mark.parametrize("transform", ["change", "yoy_pct", "share"])
def test_vintages_take_no_transform(db, transform):
    with pytest.raises(Invalid) as refused:
        series("vehicle_exports", "CN", "new_energy_vehicles", transform=transform, vintages=True)
    assert list(refused.value.errors) == ["transform"]
