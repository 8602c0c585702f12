"""Hostile input, from the OpenAPI document: every slot of every operation meets the corpus.

A slot is a query parameter, path parameter, header or body field of one operation (and the
columns of a CSV import). Each slot meets one value of every class of the corpus
(tests/api/hostile_corpus.py), and every value of the classes that match its type (numbers
in numeric fields, dates in dates, text in text), so the count stays bounded. Each request
goes out with no key, a read key and a write key: in full with the key that reaches the
handler (none for reads, write for writes), one value per class with the other two.

For every request: no 5xx; a 4xx is a problem document, and a 422 names the slot (a JSON
pointer for a body field, `parameter` for a query parameter); a refused write changed
nothing (the changes feed has nothing new); and after the operation, the list counts have
moved by exactly what the feed recorded. Accepted writes are read back (the item, the
collection as CSV, the victim series as SVG and CSV): no 5xx, and no CSV cell a spreadsheet
would run as a formula.
"""

import base64
import csv
import io
import json
from collections import Counter
from datetime import date, timedelta
from urllib.parse import quote_from_bytes

import pytest

from models.db import database
from tests.api import test_resource as crud
from tests.api.hostile_corpus import (
    CORPUS,
    DEEP_ARRAY,
    DEEP_OBJECT,
    DIGITS,
    pairing,
    representatives,
    sample,
)
from tests.conftest import backend_url, make_key, seeded_app

WRITES = {"post", "put", "patch", "delete"}
COLLECTIONS = ("sources", "indicators", "segments", "events", "statistics", "targets")
PROBLEM = "application/problem+json"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Valid bodies to start from, one field replaced at a time: the CRUD tests' new records.
VALID = crud.NEW
# Operations whose query needs these to reach the handler.
BASE_QUERY = {
    "/v1/series": {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": "total",
        "frequency": "quarterly",  # the seed's series has several: one must be chosen
    }
}
CSV_COLUMNS = ("indicator", "region", "segment", "period", "value", "change_pct", "change_basis")
CSV_COLUMNS += ("source_id", "event_id", "quote")
CSV_ROW = ("vehicle_exports", "JP", "total", "2024", "4200000", "5.1", "yoy", "1", "", "q")

# Fields checked together: a 422 about the pair may name the other one.
# As of an instant before the seed, its codes did not exist yet.
RELATED = {
    "date": ("end_date",),
    "end_date": ("date",),
    "change_pct": ("change_basis",),
    # A precision, or bounds given together: a value of one may be refused for the other.
    "precision": ("lower", "upper"),
    "lower": ("upper", "precision"),
    "upper": ("lower", "precision"),
    "as_of": ("indicator", "segment", "share_of", "source_id"),
}
# What the matrix sent, per backend: printed and written out by the last test.
SENT: dict[str, Counter] = {}
# The matrix is one sequence per backend, in one process: its last test counts what the
# others sent. Under pytest-xdist's --dist loadgroup (make test) one worker runs each
# backend's sequence, beside the other's.
ON_ONE_WORKER = [
    pytest.param("sqlite", marks=pytest.mark.xdist_group("hostile-sqlite")),
    pytest.param(
        "postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("hostile-postgresql")]
    ),
]


@pytest.fixture(scope="module", params=ON_ONE_WORKER)
def backend(request, tmp_path_factory):
    """One seeded app per backend for the whole module: the matrix resets nothing between
    requests, it checks what each one changed."""
    app = seeded_app(backend_url(request.param, tmp_path_factory.mktemp("hostile")))
    keys = {"none": None, "read": make_key(app, "read"), "write": make_key(app, "write")}
    state = Matrix(app, keys, request.param)
    SENT[request.param] = state.sent
    yield state
    database.close_all()


class Matrix:
    """Sends requests, checks each, and remembers what failed, as reproducers."""

    def __init__(self, app, keys: dict, name: str):
        self.app, self.keys, self.name = app, keys, name
        self.client = app.test_client(use_cookies=False)
        self.sent = Counter()
        self.failures: dict[str, list[str]] = {}  # what went wrong, where -> reproducers
        self.serial = 0
        self.spec = self.client.get("/openapi.json").get_json()
        self.position, self.moved = "", Counter()
        self.catch_up()
        self.victims = {}
        for collection in COLLECTIONS:
            self.make_victim(collection)

    # -- requests ---------------------------------------------------------------------------

    def send(self, method, path: bytes, query: list, headers: dict, body, content_type, key):
        """One request as gunicorn would hand it over: path and query as raw bytes."""
        raw_path = path.decode("latin-1")
        query_string = "&".join(
            f"{quote_from_bytes(name)}={quote_from_bytes(value, safe='')}" for name, value in query
        )
        environ = {
            "PATH_INFO": raw_path,
            "RAW_URI": f"{quote_from_bytes(path, safe='/')}?{query_string}",
            "QUERY_STRING": query_string,
        }
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value.decode("latin-1")
        if self.keys[key] is not None:
            environ.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.keys[key]}")
        self.sent[method] += 1
        try:
            return self.client.open(
                "/",
                method=method.upper(),
                data=body,
                content_type=content_type,
                environ_overrides=environ,
            )
        except Exception as error:  # TESTING propagates what would have been a 500
            return Crash(error)

    def check(self, slot: "Slot", value, key, request: tuple, response) -> None:
        method = request[0]
        where = f"{self.name} {method.upper()} {slot} = {value!r}, key {key}"
        reproduce = f"{where}\n    {describe(request)}"
        if isinstance(response, Crash):
            self.fail(
                f"500 {type(response.error).__name__} at {slot}",
                f"{response.error!r:.300}: {reproduce}",
            )
            return
        status = response.status_code
        self.sent[status] += 1
        if status >= 500:
            self.fail(f"{status} at {slot}", f"{reproduce}\n    {response.get_data()[:300]!r}")
            return
        if status >= 400:
            if response.mimetype != PROBLEM:
                self.fail(f"{status} as {response.mimetype} at {slot}", reproduce)
            elif status == 422 and slot.names(value) is not None:
                errors = response.get_json().get("errors") or []
                if not any(slot.names(value)(error) for error in errors):
                    self.fail(f"422 not naming {slot}", f"{errors[:3]}: {reproduce}")
            if method in WRITES:
                self.unchanged(slot, reproduce)
        elif method in WRITES:
            self.accepted(slot, response, getattr(value, "raw", b"").decode("utf-8", "replace"))

    def fail(self, what: str, reproducer: str) -> None:
        self.failures.setdefault(what, []).append(reproducer)

    # -- state ------------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Follow the changes feed to its end, adding what it recorded to `moved`."""
        while True:
            response = self.client.get(f"/v1/changes?limit=1000&since={self.position}")
            assert response.status_code == 200, response.get_data()
            changes = response.get_json()
            for change in changes:
                step = {"create": 1, "delete": -1}.get(change["change"], 0)
                self.moved[change["resource"]] += step
            self.position = response.headers["X-Next-Cursor"]
            if len(changes) < 1000:
                return

    def unchanged(self, slot: "Slot", reproduce: str) -> None:
        response = self.client.get(f"/v1/changes?limit=1&since={self.position}")
        if response.get_json():
            self.fail(f"refused, yet changed, at {slot}", f"{response.get_json()}: {reproduce}")
            self.catch_up()

    def counts(self) -> Counter:
        totals = Counter()
        for collection in COLLECTIONS:
            response = self.client.get(f"/v1/{collection}?page_size=1")
            totals[collection] = json.loads(response.headers["X-Pagination"])["total"]
        return totals

    def accepted(self, slot: "Slot", response, text: str) -> None:
        """A hostile write that was accepted: what it stored must read back, in every form."""
        self.catch_up()
        collection = slot.collection
        if collection not in COLLECTIONS:
            return
        if slot.method == "delete":
            self.make_victim(collection)
            return
        by_id = collection in ("sources", "events", "statistics", "targets")
        reads = [f"/v1/{collection}?format=csv&sort=-id&page_size=3" if by_id else None]
        if slot.method == "post":
            reads.append(response.headers["Location"])
        else:
            reads.append(item_path(self, slot.path, slot.method))
            if collection in ("sources", "indicators", "segments") and slot.kind == "text":
                # The victims form one series: its chart and CSV show these names.
                series = "/v1/series?indicator=hostile&region=CN&segment=hostile&format="
                reads += [series + "svg", series + "csv"]
        for path in filter(None, reads):
            self.sent["get"] += 1
            try:
                response = self.client.get(path)
            except Exception as error:
                self.fail(
                    f"500 {type(error).__name__} reading back after {slot}",
                    f"{error!r:.300}: GET {path}",
                )
                continue
            if response.status_code >= 500:
                self.fail(f"{response.status_code} reading back after {slot}", f"GET {path}")
            elif response.mimetype == "text/csv" and text:
                # Only the value just written: the rows around it were checked when written.
                for cell in formula_cells(response.get_data(as_text=True)):
                    if text not in cell:
                        continue
                    self.fail(f"CSV formula after {slot}", f"{cell!r}: GET {path}")

    def make_victim(self, collection: str) -> None:
        """A record of each collection for the item operations to change, outside the seed:
        an indicator and a segment, a source, and facts citing them, forming one series."""
        self.serial += 1
        body = dict(VALID[collection])
        body |= {
            "sources": {"url": f"https://example.org/hostile/victim/{self.serial}"},
            "indicators": {"code": "hostile", "measure": "other", "unit": "units"},
            "segments": {"code": "hostile", "parent": "total", "additive": False},
            "events": {"title": "Hostile victim"},
            "statistics": {"indicator": "hostile", "segment": "hostile", "period": "2025-Q1"},
            "targets": {"indicator": "hostile", "segment": "hostile"},
        }[collection]
        if collection in ("events", "statistics", "targets"):
            body["source_id"] = self.victims["sources"]
        key = "code" if collection in ("indicators", "segments") else "id"
        existing = self.client.get(f"/v1/{collection}/hostile")
        if key == "code" and existing.status_code == 200:
            self.victims[collection] = "hostile"
            return
        response = self.client.post(
            f"/v1/{collection}",
            json=body,
            headers={"Authorization": f"Bearer {self.keys['write']}"},
        )
        assert response.status_code == 201, response.get_json()
        self.victims[collection] = response.get_json()[key]
        self.catch_up()

    def unique(self, collection: str, body: dict, field: str | None) -> dict:
        """A create's body made new, so that natural keys do not turn it into a 409."""
        self.serial += 1
        new = {
            "sources": ("url", f"https://example.org/hostile/{self.serial}"),
            "indicators": ("code", f"hostile_{self.serial}"),
            "segments": ("code", f"hostile_{self.serial}"),
            "statistics": ("period", (date(1900, 1, 1) + timedelta(self.serial)).isoformat()),
        }.get(collection)
        if new and new[0] != field:
            body = body | {new[0]: new[1]}
        return body


class Crash:
    """An exception the app let out: a 500 behind a real server."""

    def __init__(self, error: Exception):
        self.error = error


class Slot:
    """One place a value goes: (where, name) of one operation."""

    def __init__(self, path: str, method: str, where: str, name: str, kind: str):
        self.path, self.method, self.where, self.name, self.kind = path, method, where, name, kind
        parts = path.split("/")
        self.collection = parts[2] if len(parts) > 2 else ""

    def __str__(self) -> str:
        return f"{self.path} {self.where}:{self.name}"

    def names(self, value):
        """How a 422's errors item names this slot, or None where nothing need name it."""
        if self.where == "query":
            # A list parameter's item is named as webargs does: `region.0`.
            names = {self.name, *RELATED.get(self.name, ())}
            return lambda error: error.get("parameter", "").split(".")[0] in names
        if self.where == "header" and self.name == "Idempotency-Key":
            return lambda error: error.get("header") == self.name
        if self.where == "body":
            names = {self.name, *RELATED.get(self.name, ())}
            return lambda error: error.get("pointer", "/").split("/")[1] in names
        if self.where == "import":
            section, _, name = self.name.split("/")
            names = {f"/{section}/0/{n}" for n in (name, *RELATED.get(name, ()))}
            return lambda error: error.get("pointer") in names
        if self.where == "csv":
            # Bytes that are not UTF-8 are found before the line is split into cells: the
            # error names the line and, in its detail, the column.
            return lambda error: (
                "line" in error
                and (
                    error.get("pointer") == f"/{self.name}"
                    or error.get("pointer") == ""
                    and "not UTF-8" in error["detail"]
                )
            )
        return None


def formula_cells(text: str) -> list[str]:
    """Cells a spreadsheet would run: text that starts with = + - @ tab or CR (numbers aside)."""
    found = []
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell.startswith(FORMULA_START) and not _is_number(cell):
                found.append(cell[:60])
    return found


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return cell.strip() == cell


def describe(request: tuple) -> str:
    """A request, shortened, for the failure report."""
    method, path, query, headers, body, content_type, key = request
    shown = path.decode("latin-1") + ("?" if query else "")
    shown += "&".join(f"{n.decode()}={quote_from_bytes(v, safe='')[:80]}" for n, v in query)
    text = f"{method.upper()} {shown}"
    for name, value in headers.items():
        text += f" -H '{name}: {value[:60]!r}'"
    if body is not None:
        text += f" [{content_type}] {body[:160]!r}{'...' if len(body) > 160 else ''}"
    return text


# -- the operations, from the spec ---------------------------------------------------------


def operations() -> list[tuple[str, str]]:
    """Every (path, method) of the committed spec, which tests/api/test_openapi.py keeps equal
    to the app's."""
    with open(crud_spec_path()) as spec_file:
        spec = json.load(spec_file)
    return [
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def crud_spec_path():
    from tests.helpers import ROOT

    return ROOT / "openapi" / "openapi.json"


def kind_of(schema: dict, name: str) -> str:
    """Which corpus classes a slot meets in full, from its schema."""
    types = schema.get("type", "string")
    types = types if isinstance(types, list) else [types]
    item = schema.get("items", {})
    if name in ("cursor", "since"):
        return "cursor"
    if {"number", "integer"} & set(types) or item.get("type") in ("integer", "number"):
        return "number"
    if schema.get("format", "").startswith("date") or "\\d{4}" in schema.get("pattern", ""):
        return "date"
    if schema.get("format") in ("url", "uri"):
        return "url"
    if "boolean" in types:
        return "boolean"
    if "array" in types and item.get("type") != "string":
        return "array"
    if any(rule in part for part in (schema, item) for rule in ("pattern", "enum")):
        return "code"
    return "text"


def item_path(matrix: Matrix, path: str, method: str) -> str:
    """The path of an existing record: the seed's for reads, a victim's for writes."""
    if "{" not in path:
        return path
    collection = path.split("/")[2]
    if method in WRITES or path.endswith("/progress"):
        key = matrix.victims[collection]
    else:
        key = 1 if "{id}" in path else {"indicators": "vehicle_exports"}.get(collection, "total")
    return path.replace("{id}", str(key)).replace("{code}", str(key))


def base_body(matrix: Matrix, path: str, method: str) -> dict | None:
    collection = (path.split("/") + ["", ""])[2]  # /healthz has none
    if method == "post" and collection in VALID:
        return dict(VALID[collection])
    if method == "put":
        body = dict(VALID[collection])
        if collection in ("indicators", "segments"):
            body |= {"code": "hostile"}
        if collection == "indicators":
            body |= {"measure": "other", "unit": "units"}
        if collection == "sources":
            body["url"] = f"https://example.org/hostile/victim/put/{matrix.name}"
        if collection in ("statistics", "targets"):
            body |= {"indicator": "hostile", "segment": "hostile", "source_id": 1}
        if collection == "statistics":
            body["period"] = "2025-Q1"
        return body
    if method == "patch":
        return {}
    return None


def splice(body: dict, field: str, fragment: bytes) -> bytes:
    """The body as JSON, with `field` set to a raw JSON fragment."""
    marker = "\x00hostile\x00"
    text = json.dumps(body | {field: marker}).encode()
    return text.replace(json.dumps(marker).encode(), fragment)


def array_fragment(value) -> bytes:
    """A text value as the one item of a list of text (topics)."""
    return b"[" + value.fragment + b"]"


# -- running one operation -----------------------------------------------------------------


def slots_of(matrix: Matrix, path: str, method: str) -> list[Slot]:
    operation = matrix.spec["paths"][path][method]
    parameters = matrix.spec["paths"][path].get("parameters", []) + operation.get("parameters", [])
    slots = []
    for parameter in parameters:
        name, schema = parameter["name"], parameter.get("schema", {})
        kind = {"header": "header", "path": kind_of(schema, name)}.get(parameter["in"])
        if kind is None:  # a query parameter: free text there is matched, not stored
            kind = kind_of(schema, name).replace("text", "filter")
        slots.append(Slot(path, method, parameter["in"], name, kind))
    slots.append(Slot(path, method, "header", "Authorization", "header"))
    if method == "get":
        slots.append(Slot(path, method, "header", "Accept", "header"))
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema", {})
    if "$ref" in schema:
        schema = matrix.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if path != "/v1/import":
        for name, field in schema.get("properties", {}).items():
            if not field.get("readOnly"):
                slots.append(Slot(path, method, "body", name, kind_of(field, name)))
        return slots
    # Events load as statistics and sources do (one RowLoader each): those two stand for all.
    for section, model in (("statistics", "Statistic"), ("sources", "Source")):
        for name, field in matrix.spec["components"]["schemas"][model]["properties"].items():
            if not field.get("readOnly"):
                where = f"{section}/0/{name}"
                slots.append(Slot(path, method, "import", where, kind_of(field, name)))
    for name in CSV_COLUMNS:
        kind = "number" if name in ("value", "change_pct", "source_id", "event_id") else "text"
        slots.append(Slot(path, method, "csv", name, "date" if name == "period" else kind))
    return slots


def build(matrix: Matrix, slot: Slot, value, key: str) -> tuple:
    """The request that puts `value` in `slot`, everything else valid."""
    path, method = slot.path, slot.method
    target = item_path(matrix, path, method).encode()
    query = {name.encode(): text.encode() for name, text in BASE_QUERY.get(path, {}).items()}
    headers = {}
    if method in ("put", "patch", "delete"):
        headers["If-Match"] = b"*"  # `"*"` quoted is a tag, not the wildcard: it matches nothing
    body, content_type = None, None
    collection = slot.collection
    document = base_body(matrix, path, method)
    if slot.where == "path":
        target = b"/".join(
            quote_from_bytes(value.raw, safe="").encode()
            if part.startswith(b"{")
            else item_path(matrix, path, method).encode().split(b"/")[i]
            for i, part in enumerate(path.encode().split(b"/"))
        )
    elif slot.where == "query":
        query[slot.name.encode()] = value.raw
    elif slot.where == "header":
        if slot.name == "Authorization":
            headers[slot.name] = b"Bearer " + value.raw
        else:
            headers[slot.name] = value.raw
    if path == "/v1/import":
        return build_import(matrix, slot, value, key, query, headers)
    if document is not None:
        if method == "post":
            document = matrix.unique(
                collection, document, slot.name if slot.where == "body" else None
            )
        if slot.where == "body":
            fragment = value.fragment
            if slot.kind == "array" and value.cls not in ("nesting", "type"):
                fragment = array_fragment(value)
            body = splice(document, slot.name, fragment)
        else:
            body = json.dumps(document).encode()
        content_type = "application/json"
    return (method, target, list(query.items()), headers, body, content_type, key)


def import_document(matrix: Matrix) -> dict:
    matrix.serial += 1
    return {
        "sources": [
            {
                "ref": "s",
                "publisher": "P",
                "title": "T",
                "url": f"https://example.org/hostile/import/{matrix.serial}",
            }
        ],
        "events": [{"title": "E", "kind": "launch", "date": "2025-01-01", "source_id": "s"}],
        "statistics": [
            {
                "indicator": "vehicle_exports",
                "region": "DE",
                "segment": "total",
                "period": "2024",
                "value": 3100000,
                "change_pct": 5.1,
                "change_basis": "yoy",
                "source_id": "s",
            }
        ],
    }


def build_import(matrix, slot, value, key, query, headers) -> tuple:
    if slot.where == "csv":
        row = dict(zip(CSV_COLUMNS, CSV_ROW, strict=True))
        matrix.serial += 1
        row["period"] = (date(1900, 1, 1) + timedelta(matrix.serial)).isoformat()
        cells = [value.raw if name == slot.name else row[name].encode() for name in CSV_COLUMNS]
        lines = b",".join(CSV_COLUMNS_BYTES) + b"\n" + b",".join(csv_cell(c) for c in cells) + b"\n"
        return ("post", b"/v1/import", list(query.items()), headers, lines, "text/csv", key)
    document = import_document(matrix)
    if slot.where == "import":
        section, _, field = slot.name.split("/")
        record = document[section][0]
        marker = "\x00hostile\x00"
        record[field] = marker
        fragment = value.fragment
        if slot.kind == "array" and value.cls not in ("nesting", "type"):
            fragment = array_fragment(value)
        body = json.dumps(document).encode().replace(json.dumps(marker).encode(), fragment)
    else:
        body = json.dumps(document).encode()
    return ("post", b"/v1/import", list(query.items()), headers, body, "application/json", key)


CSV_COLUMNS_BYTES = [name.encode() for name in CSV_COLUMNS]


def csv_cell(raw: bytes) -> bytes:
    return b'"' + raw.replace(b'"', b'""') + b'"'


def full_key(method: str) -> str:
    """The key that takes a request furthest with the least power."""
    return "write" if method in WRITES else "none"


# Read by the same code for every operation: they meet their classes in full once per method.
SHARED = {"Authorization", "Accept", "If-None-Match", "If-Match", "page", "page_size", "format"}


def in_full(slot: Slot) -> bool:
    """Whether a slot meets every value of its own classes, or one value of each class."""
    if slot.method == "put" and slot.where == "body":
        return False  # PATCH meets every field's own classes in full, through the same update
    if slot.where == "import":
        return slot.kind in ("number", "date")  # the rest loads as POST loads it
    if slot.name in SHARED:
        first = next(
            p for p, m in OPERATIONS if m == slot.method and p.count("{") == slot.path.count("{")
        )
        return slot.path == first
    return True


def run_operation(matrix: Matrix, path: str, method: str) -> int:
    """Every slot of one operation against its values, with each key; requests sent."""
    before = matrix.counts()
    matrix.catch_up()
    matrix.moved = Counter()
    sent = 0
    for turn, slot in enumerate(slots_of(matrix, path, method)):
        for key in ("none", "read", "write"):
            if key != full_key(method):
                values = sample(turn)
            elif in_full(slot):
                values = pairing(slot.kind, turn, slot.where in ("body", "import"))
            else:
                values = representatives(turn)
            for value in values:
                request = build(matrix, slot, value, key)
                response = matrix.send(*request)
                matrix.check(slot, value, key, request, response)
                sent += 1
    sent += run_tampered_cursors(matrix, path, method)
    matrix.catch_up()
    moved, after = matrix.moved, matrix.counts()
    for collection in COLLECTIONS:
        if after[collection] != before[collection] + moved[collection]:
            matrix.fail(
                f"{collection} counts disagree with the feed",
                f"{method.upper()} {path}: {before[collection]} before, {after[collection]} "
                f"after, the feed says {moved[collection]:+}",
            )
    return sent


# What a forged cursor may hold in place of a real position, as JSON.
TAMPERED = [
    b'"\\ud800"',
    b'"a\\u0000b"',
    b"1e1000000",
    b'"1e1000000"',
    DIGITS.encode(),
    b"NaN",
    b"-1",
    b"[1]",
    b'{"a": 1}',
    b"null",
    b"true",
    b'"2025-02-30"',
    b'"\xd9\xa1"',
    b'"' + b"a" * 3000 + b'"',
]


def run_tampered_cursors(matrix: Matrix, path: str, method: str) -> int:
    """Real cursors of a list, in each of its orders, with a position replaced by something
    the service never issued: it must reach no SQL, and no encoder, as it is."""
    parameters = {p["name"]: p for p in matrix.spec["paths"][path][method].get("parameters", [])}
    if "cursor" not in parameters or "sort" not in parameters:
        return 0
    sent = 0
    slot = Slot(path, method, "query", "cursor", "cursor")
    for order in parameters["sort"]["schema"]["items"]["enum"]:
        page = matrix.client.get(f"{path}?sort={order}&page_size=1")
        cursor = json.loads(page.headers["X-Pagination"]).get("next_cursor")
        if not cursor:
            continue
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        for position in range(len(state["values"])):
            for turn, forged in enumerate(TAMPERED):
                values = [json.dumps(v).encode() for v in state["values"]]
                values[position] = forged
                text = b'{"keys": ' + json.dumps(state["keys"]).encode() + b', "values": ['
                text += b", ".join(values) + b"]}"
                raw = base64.urlsafe_b64encode(text).rstrip(b"=")
                query = [(b"sort", order.encode()), (b"cursor", raw)]
                key = ("none", "read", "write")[turn % 3]
                request = ("get", path.encode(), query, {}, None, None, key)
                matrix.check(slot, f"cursor {text[:80]!r}", key, request, matrix.send(*request))
                sent += 1
    return sent


WHOLE_BODIES = {
    "deep array": DEEP_ARRAY.encode(),
    "deep object": DEEP_OBJECT.encode(),
    "huge integer": DIGITS.encode(),
    "huge number": b"1e1000000",
    "NaN": b"NaN",
    "array": b"[]",
    "string": b'"x"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
    "empty": b"",
    "truncated": b'{"title": "a',
    "invalid UTF-8": b'{"title": "\xff\xfe"}',
    "raw surrogate": b'{"title": "\xed\xa0\x80"}',
    "BOM": b"\xef\xbb\xbf{}",
    "UTF-16": '{"title": "a"}'.encode("utf-16"),
    "duplicate keys": b'{"title": "a", "title": "b"}',
    "many keys": json.dumps({f"k{i}": i for i in range(10_000)}).encode(),
    "huge integer in a list": b'{"topics": [' + DIGITS.encode() + b"]}",
    "NUL": b"\x00",
    "deep field": b'{"title": ' + DEEP_ARRAY.encode() + b"}",
}
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "text/csv",
)
WHOLE_CSV = {
    "BOM": b"\xef\xbb\xbf" + b",".join(CSV_COLUMNS_BYTES) + b"\n",
    "header only": b",".join(CSV_COLUMNS_BYTES) + b"\n",
    "no header": b"",
    "field over 128 KiB": b",".join(CSV_COLUMNS_BYTES) + b'\n"' + b"a" * 140_000 + b'"\n',
    "unterminated quote": b",".join(CSV_COLUMNS_BYTES) + b'\n"vehicle_exports,JP\n',
    "NUL": b",".join(CSV_COLUMNS_BYTES) + b"\n\x00,\x00\n",
    "invalid UTF-8": b",".join(CSV_COLUMNS_BYTES) + b"\n\xff,\xfe\n",
    "CR line ends": b",".join(CSV_COLUMNS_BYTES) + b"\rvehicle_exports,JP,total,2024,1,,,1,,\r",
    "too many cells": b",".join(CSV_COLUMNS_BYTES) + b"\n" + b"a," * 10_000 + b"\n",
    "repeated header": b",".join(CSV_COLUMNS_BYTES * 2) + b"\n",
    "10,000 columns": b",".join(b"c%d" % i for i in range(10_000)) + b"\n",
    "UTF-16": ",".join(CSV_COLUMNS).encode("utf-16"),
}


def run_whole_bodies(matrix: Matrix, path: str, method: str) -> int:
    """Bodies that are hostile as a whole; in full with the write key, a few without."""
    target = item_path(matrix, path, method).encode()
    headers = {"If-Match": b"*"} if method != "post" else {}
    requests = []
    for turn, (name, body) in enumerate(WHOLE_BODIES.items()):
        types = CONTENT_TYPES if name in ("deep object", "UTF-16") else CONTENT_TYPES[:1]
        for content_type in types:
            requests.append((f"body {name}", body, content_type, "write"))
        requests.append((f"body {name}", body, "application/json", ("none", "read")[turn % 2]))
    if path == "/v1/import":
        for turn, (name, body) in enumerate(WHOLE_CSV.items()):
            requests.append((f"CSV {name}", body, "text/csv", "write"))
            requests.append((f"CSV {name}", body, "text/csv", ("none", "read")[turn % 2]))
    slot = Slot(path, method, "whole body", "", "text")
    for name, body, content_type, key in requests:
        request = (method, target, [], headers, body, content_type, key)
        matrix.check(slot, name, key, request, matrix.send(*request))
    return len(requests)


OPERATIONS = operations()


@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS]
)
def test_operation_survives_the_corpus(backend, path, method):
    backend.failures = {}
    sent = run_operation(backend, path, method)
    if "requestBody" in backend.spec["paths"][path][method]:
        sent += run_whole_bodies(backend, path, method)
    backend.sent["operations"] += 1
    assert sent
    failures = backend.failures
    shown = "\n".join(
        f"{what} ({len(reproducers)}x), e.g. {reproducers[0]}"
        for what, reproducers in failures.items()
    )
    total = sum(len(reproducers) for reproducers in failures.values())
    assert not failures, f"{total} failures of {sent} requests, {len(failures)} kinds:\n{shown}"


def test_matrix_size(backend, tmp_path_factory, record_property):
    """How big the matrix is, for the record (and for CI's log)."""
    sent = backend.sent
    total = sum(sent[m] for m in ("get", "post", "put", "patch", "delete"))
    slots = sum(len(slots_of(backend, p, m)) for p, m in OPERATIONS)
    values = sum(len(v) for v in CORPUS.values())
    line = (
        f"hostile matrix on {backend.name}: {len(OPERATIONS)} operations, {slots} slots, "
        f"{values} values in {len(CORPUS)} classes, 3 keys: {total} requests "
        f"({', '.join(f'{k} {v}' for k, v in sorted(sent.items(), key=str))})"
    )
    print(line)
    record_property("hostile_matrix", line)  # in CI's JUnit report
    report = tmp_path_factory.getbasetemp() / f"hostile-matrix-{backend.name}.txt"
    report.write_text(line + "\n")
    assert sent["operations"] == len(OPERATIONS)
    assert total > 10 * slots
