"""Series and their transforms, computed in the domain layer: exact, and never a guess."""

from decimal import Decimal

import pytest

from models import records
from models.errors import Invalid
from models.periods import Period
from models.series import series
from models.tables import Segment, Statistic


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
