"""Answers to repeated reads, kept for as long as the data they were read from is unchanged."""

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any, NamedTuple

from flask import Flask, current_app, request

from models import history, stamp

# The most bytes of answers a process keeps, the least recently read going first; a larger
# answer (a page of a thousand records) is built each time rather than crowd out many.
BUDGET = 32 * 1024 * 1024
LARGEST = 1024 * 1024
# What an answer costs besides its body (its key, its headers), roughly, in bytes.
OVERHEAD = 1024


class Answer(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Answers:
    """Answers by request, each with the data stamp it was read under: it is given again only
    under that stamp, which no later write leaves in place (models/stamp.py)."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._lock = threading.Lock()  # a worker's threads share it
        self._kept: OrderedDict[tuple[Any, ...], tuple[int, Answer]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: tuple[Any, ...], stamp: int) -> Answer | None:
        with self._lock:
            found = self._kept.get(key)
            if found is None or found[0] != stamp:
                return None
            self._kept.move_to_end(key)
            return found[1]

    def put(self, key: tuple[Any, ...], stamp: int, answer: Answer) -> None:
        if len(answer.body) > LARGEST:
            return
        with self._lock:
            replaced = self._kept.pop(key, None)
            if replaced is not None:
                self._size -= _size(replaced[1])
            self._kept[key] = (stamp, answer)
            self._size += _size(answer)
            while self._size > self.budget:
                _, (_, dropped) = self._kept.popitem(last=False)
                self._size -= _size(dropped)


def _size(answer: Answer) -> int:
    return len(answer.body) + OVERHEAD


def init_app(app: Flask) -> None:
    """Give the app its own answers: apps in one process (tests) may read other databases."""
    app.extensions["answers"] = Answers()


def cached(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer a read as before while the data is unchanged; the outermost decorator of a view
    whose answer depends only on the data and on what `_request_key` holds.

    The stamp is read before the view reads anything: an answer kept under it was read from
    the data as it then stood, or later, and a write ends it. A read as of an instant is
    kept alike: the data and the instant say what it reads, and the data changes only by a
    write, which restamps it (a restore and a migration too).
    """

    @wraps(view)
    def answer(*args: Any, **kwargs: Any) -> Any:
        now = stamp.current()
        if now is None:  # no write has stamped the data yet
            return view(*args, **kwargs)
        answers: Answers = current_app.extensions["answers"]
        key = _request_key()
        kept = answers.get(key, now)
        if kept is not None:
            return current_app.response_class(kept.body, kept.status, kept.headers)
        response = current_app.make_response(view(*args, **kwargs))
        if not response.is_streamed:
            answers.put(
                key, now, Answer(response.status_code, list(response.headers), response.get_data())
            )
        return response

    return answer


def _request_key() -> tuple[Any, ...]:
    # Everything a cached view's answer depends on besides the data: its address (links are
    # built from it, the landing page's from the host too), its query (as_of included), the
    # format Accept asks for, and the ETags If-None-Match holds (a 304 is kept as a 200 is).
    # And whether it reads the past: an instant still to come is read as now (api/as_of.py),
    # and once it has passed, from the history, which searches and ranks otherwise.
    headers = request.headers
    return (
        history.reading_the_past(),
        request.scheme,
        request.host,
        request.script_root,
        request.path,
        request.query_string,
        headers.get("Accept"),
        headers.get("If-None-Match"),
    )
