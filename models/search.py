"""Full-text search: an index per searchable table; FTS5 on SQLite, tsvector + GIN on PostgreSQL."""

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import snowballstemmer
from peewee import SQL, Expression, Select, Table, fn

from models import history, resources
from models.db import SQLITE_FUNCTIONS, among, database, is_sqlite, key_list
from models.tables import Record

WORD = re.compile(r"\w+")
TOKEN = re.compile(r"[^\W_]+")  # a word to FTS5's unicode61 tokenizer


def index_table(model: type[Record]) -> Table:
    return Table(f"{model._meta.table_name}_search")


def create_indexes() -> None:
    """Create the search tables that do not exist yet."""
    for resource in resources.searchable():
        model = resource.model
        name = index_table(model).__name__
        if is_sqlite():
            database.execute_sql(
                f'CREATE VIRTUAL TABLE IF NOT EXISTS "{name}" '
                "USING fts5(body, tokenize='porter unicode61')"
            )
        else:
            database.execute_sql(
                f'CREATE TABLE IF NOT EXISTS "{name}" ('
                f'id integer PRIMARY KEY REFERENCES "{model._meta.table_name}" (id) '
                "ON DELETE CASCADE, body text NOT NULL, "
                "document tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)"
            )
            database.execute_sql(
                f'CREATE INDEX IF NOT EXISTS "{name}_document" ON "{name}" USING gin (document)'
            )


def drop_indexes() -> None:
    for resource in resources.searchable():
        database.execute_sql(f'DROP TABLE IF EXISTS "{index_table(resource.model).__name__}"')


def refresh(model: type[Record], *conditions: Any) -> None:
    """Rebuild the search documents of the `model` records matching `conditions` (all if none)."""
    table = index_table(model)
    if conditions:
        keys = model.select(model._meta.primary_key).where(*conditions)
        database.execute(table.delete().where(_key(model).in_(keys)))
    else:
        database.execute(table.delete())
    index(model, *conditions)


def index(model: type[Record], *conditions: Any) -> None:
    """Add the search documents of the `model` records matching `conditions`, which have none."""
    documents = _documents(model)
    if conditions:
        documents = documents.where(*conditions)
    table = index_table(model)
    database.execute(table.insert(documents, columns=[_key(model), table.c.body]))


def index_records(model: type[Record], keys: list[Any]) -> None:
    """`index` of the `model` records whose primary keys are `keys`, with SQL built once per
    backend: building it anew for each chunk of an import cost as much as running it."""
    backend: type = type(database.obj)
    sql, params = _indexing(model, resources.of(model).document, backend)
    database.execute_sql(sql, [*params, key_list(keys)])


@cache
def _indexing(model: type[Record], document: Any, backend: type) -> tuple[str, list[Any]]:
    """The SQL of `index_records` and its parameters but the last, the keys."""
    table = index_table(model).bind(database)
    documents = document().where(among(model._meta.primary_key, [0]))  # 0: a stand-in
    sql, params = table.insert(documents, columns=[_key(model), table.c.body]).sql()
    return sql, params[:-1]


def refresh_record(model: type[Record], key: int | str) -> None:
    """Keep the index in step with one record's change, and with the documents that quote it."""
    document = resources.of(model).document
    if document:
        backend: type = type(database.obj)
        forgetting, indexing, params = _refreshing(model, document, backend)
        database.execute_sql(forgetting, [key])
        database.execute_sql(indexing, [*params, key])
    for quoting in resources.searchable():
        if model in quoting.document_quotes:
            refresh(quoting.model, resources.reference(quoting.model, model) == key)


@cache
def _refreshing(model: type[Record], document: Any, backend: type) -> tuple[str, str, list[Any]]:
    """The SQL that deletes one record's search document, and the SQL that makes it again
    with its parameters but the last, the record's key. Every change of a record runs them;
    built anew with peewee each time, they cost more than running them."""
    table = index_table(model).bind(database)
    forgetting = table.delete().where(_key(model) == 0).sql()[0]  # 0: a stand-in for the key
    documents = document().where(model._meta.primary_key == 0)
    sql, params = table.insert(documents, columns=[_key(model), table.c.body]).sql()
    return forgetting, sql, params[:-1]


def forget(model: type[Record], key: int | str) -> None:
    if resources.of(model).document:
        database.execute(index_table(model).delete().where(_key(model) == key))


def matching(query: Any, model: type[Record], words: str) -> tuple[Any, Any]:
    """`query` narrowed to records matching every word of `words`, best match first."""
    if history.reading_the_past():
        return _matching_the_past(query, model, words)
    table = index_table(model)
    key = _key(model)
    query = query.join(table, on=(key == model._meta.primary_key))
    if is_sqlite():
        # Quoting each word keeps FTS5's query syntax out of the user's hands.
        terms = " ".join(f'"{word}"' for word in WORD.findall(words))
        return query.where(SQL(f'"{table.__name__}" MATCH ?', (terms or '""',))), table.c.rank
    tsquery = fn.websearch_to_tsquery("english", words)
    rank = fn.ts_rank(table.c.document, tsquery)
    return query.where(Expression(table.c.document, "@@", tsquery)), rank.desc()


def _matching_the_past(query: Any, model: type[Record], words: str) -> tuple[Any, Any]:
    """`matching` for a read as of a past instant.

    The indexes hold today's text, so the past's documents are built from the history and
    matched one by one: slower, but with each backend's own rules. PostgreSQL parses them as
    its index does; SQLite has no such function, so `search_score` tokenizes and stems as
    FTS5's porter tokenizer does, and ranks by how often the words occur.
    """
    documents = _documents(model).alias("document")
    query = query.join(documents, on=(documents.c.id == model._meta.primary_key))
    if is_sqlite():
        score = fn.search_score(documents.c.body, words)
        return query.where(score > 0), score.desc()
    tsquery = fn.websearch_to_tsquery("english", words)
    document = fn.to_tsvector("english", documents.c.body)
    return query.where(Expression(document, "@@", tsquery)), fn.ts_rank(document, tsquery).desc()


def search_score(body: str | None, words: str) -> int:
    """How often the words of `words` occur in `body`, or 0 unless every one of them does."""
    tokens = _tokens(body or "")
    total = 0
    for word in WORD.findall(words):
        phrase = _tokens(word)  # "e_mobility" is two tokens to FTS5, matched as a phrase
        size = len(phrase)
        found = sum(tokens[i : i + size] == phrase for i in range(len(tokens) - size + 1))
        if not found:
            return 0
        total += found
    return total


SQLITE_FUNCTIONS["search_score"] = (search_score, 2)


def _tokens(text: str) -> list[str]:
    # FTS5's unicode61 tokenizer: runs of letters and digits, case-folded, without diacritics.
    folded = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in folded if not unicodedata.combining(char))
    return [_stem(token) for token in TOKEN.findall(bare)]


@lru_cache(maxsize=65_536)
def _stem(token: str) -> str:
    # A stemmer keeps state while it works, so threads cannot share one; words recur.
    stem: str = snowballstemmer.stemmer("porter").stemWord(token)
    return stem


def _documents(model: type[Record]) -> Select:
    document = resources.of(model).document
    if document is None:
        raise TypeError(f"{model.__name__} is not searchable.")
    return document()


def _key(model: type[Record]) -> Any:
    table = index_table(model)
    return table.c.rowid if is_sqlite() else table.c.id
