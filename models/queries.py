"""List queries: a filter for every dimension, sorting, full-text search and keyset pages."""

import operator
from functools import reduce
from typing import Any, cast

from peewee import Field, Tuple

from models import resources, search
from models.tables import Record


def listing(
    model: type[Record],
    filters: dict[str, Any],
    sort: list[str] | None = None,
    q: str | None = None,
) -> tuple[Any, list[tuple[Field, bool]] | None]:
    """The records matching every filter (and the words of `q`), with their order.

    Returns (query, order): `order` is a list of (column, descending) ending in the primary
    key, the complete order that keyset pages walk. With `q` and no `sort`, the best
    matches come first and `order` is None (a ranked list is paged by number only).
    """
    query, resource = model.full(), resources.of(model)
    for name, value in filters.items():
        query = query.where(resource.filters[name](value))
    if q:
        query, rank = search.matching(query, model, q)
        if not sort:
            return query.order_by(rank, model._meta.primary_key), None
    order = order_of(model, sort or list(resource.default_sort))
    return query.order_by(*(column.desc() if desc else column for column, desc in order)), order


def after(query: Any, order: list[tuple[Field, bool]], values: list[Any]) -> Any:
    """`query` narrowed to the rows that come after the row with these `order` values."""
    columns = [column for column, _ in order]
    directions = {desc for _, desc in order}
    if len(directions) == 1:
        # One direction: a row-value comparison, which an index on the columns can serve.
        compare = operator.lt if directions == {True} else operator.gt
        return query.where(compare(Tuple(*columns), Tuple(*values)))
    later = [
        reduce(
            operator.and_,
            [columns[j] == values[j] for j in range(i)]
            + [columns[i] < values[i] if desc else columns[i] > values[i]],
        )
        for i, (_, desc) in enumerate(order)
    ]
    return query.where(reduce(operator.or_, later))


def order_of(model: type[Record], sort: list[str]) -> list[tuple[Field, bool]]:
    """(column, descending) pairs for `-name` style sort keys, the primary key last."""
    sorts = resources.of(model).sorts
    order = [(sorts[key.lstrip("-")], key.startswith("-")) for key in sort]
    pk = cast(Field, model._meta.primary_key)  # False only in a table without one
    if all(column is not pk for column, _ in order):
        order.append((pk, order[-1][1]))
    return order
