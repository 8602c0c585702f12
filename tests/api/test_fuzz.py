"""Property-based tests from the OpenAPI document: no 5xx, and every response as documented.

schemathesis generates requests for every operation, both valid (positive) and invalid
(negative), and checks each response against the spec: status, media type, headers, body.
This module runs it in process on each backend; test_fuzz_live.py runs it against gunicorn
with every phase.

Its budget: every operation gets the spec's examples and the whole coverage phase (each
parameter and body field at its bounds and with each kind of invalid value: some 7,200
deterministic cases), then MAX_EXAMPLES random ones, valid and invalid. The random phase
took 40 an operation, half of the module's time, for a quarter of its cases.

A schema-valid request is answered 2xx, except where ACCEPTED names the operation, the
status and why the spec cannot rule the request out.
"""

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.conftest import make_key
from tests.helpers import ROOT

MAX_EXAMPLES = 10  # random cases per operation (schemathesis's fuzzing phase)
SPEC = ROOT / "openapi" / "openapi.json"

ITEM = r"/v1/\w+/\{(id|code)\}"
FACTS = "events|statistics|targets"
# (methods, path pattern, status): why a request the schema allows may still get that status.
# Everything else a schema-valid request gets is 2xx (or 304 to If-None-Match).
ACCEPTED = [
    ("GET PUT PATCH DELETE", ITEM, 404, "the id or code names no record"),
    ("GET", r"/v1/targets/\{id\}/progress", 404, "the id names no target"),
    ("PUT PATCH DELETE", ITEM, 412, "a made-up If-Match names no version of the record"),
    (
        "POST PUT PATCH",
        r"/v1/(sources|indicators|segments|statistics)(/\{(id|code)\})?",
        409,
        "the natural key (a source's url, a vocabulary code; a statistic's indicator, region, "
        "segment, period and source) is already stored",
    ),
    ("DELETE", r"/v1/(sources|indicators|segments|events)/\{(id|code)\}", 409, "records cite it"),
    (
        "POST PUT PATCH",
        rf"/v1/({FACTS})(/\{{id\}})?",
        422,
        "source_id or event_id names no record, or indicator, segment or share_of no code; "
        "region or country is no ISO 3166-1 code pycountry knows (the pattern allows XX)",
    ),
    (
        "POST PUT PATCH",
        r"/v1/(indicators|segments)(/\{code\})?",
        422,
        "parent names no segment or makes a cycle; a unit changes while data uses it",
    ),
    (
        "POST",
        r"/v1/import",
        422,
        "rows that name records that do not exist, or are already stored (on_conflict=error)",
    ),
    (
        "GET",
        r"/v1/(sources|events|statistics|targets|indicators|segments)",
        422,
        "a cursor the service did not issue; a region no ISO 3166-1 code pycountry knows",
    ),
    (
        "GET",
        r"/v1/(series|facts|checks/\w+|targets/\{id\}/progress)",
        422,
        "an indicator or segment code that is not stored; a share without a parent; a region "
        "pycountry does not know",
    ),
    ("GET", r"/v1/changes", 422, "a since cursor the service did not issue"),
    (
        "POST PATCH",
        r"/v1/(sources|indicators|segments|events|statistics|targets)(/\{(id|code)\})?",
        422,
        "an Idempotency-Key already used with another body",
    ),
]


def allowed(method: str, path: str) -> list[str]:
    """The statuses a schema-valid request to this operation may get."""
    statuses = ["2XX", "304"]
    for methods, pattern, status, _ in ACCEPTED:
        if method.upper() in methods.split() and re.fullmatch(pattern, path):
            statuses.append(str(status))
    return statuses


def group_of(path: str) -> str:
    """The group an operation runs in: its collection (`/v1/statistics/{id}` is in
    statistics), or `probes` for /healthz and /readyz."""
    parts = path.strip("/").split("/")
    return parts[1] if parts[0] == "v1" and len(parts) > 1 else "probes"


def config_toml(writes_answer: int | None = None, group: str | None = None) -> str:
    """schemathesis.toml for these checks: per operation, the statuses ACCEPTED allows; with
    `writes_answer`, every write must get that status instead (401 or 403); with `group`,
    only that group's operations are tested."""
    spec = json.loads(SPEC.read_text())
    lines = [
        "[checks.positive_data_acceptance]",
        'expected-statuses = ["2XX", "304"]',
        # RFC 6585: a write without the If-Match it requires is 428 Precondition Required.
        "[checks.missing_required_header]",
        f'expected-statuses = ["{writes_answer or 428}"]',
    ]
    for path, item in spec["paths"].items():
        for method in item:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses = allowed(method, path)
            if writes_answer and method != "get":
                statuses = [str(writes_answer)]
            lines += [
                "[[operations]]",
                # One filter: include-path and include-method would match either.
                f'include-name = "{method.upper()} {path}"',
                f"checks.positive_data_acceptance.expected-statuses = {json.dumps(statuses)}",
            ]
            if group is not None and group_of(path) != group:
                lines.append("enabled = false")
    return "\n".join(lines) + "\n"


def test_every_accepted_status_applies_to_an_operation():
    spec = json.loads(SPEC.read_text())
    operations = [(m, p) for p, item in spec["paths"].items() for m in item]
    for methods, pattern, status, reason in ACCEPTED:
        matched = [
            (m, p)
            for m, p in operations
            if m.upper() in methods.split() and re.fullmatch(pattern, p)
        ]
        assert matched, f"{status} {pattern}: {reason}"


# -- in process, on each backend -------------------------------------------------------------


@pytest.fixture
def authorization(app) -> dict:
    return {"Authorization": f"Bearer {make_key(app, 'write')}"}


# The operations run in groups, a test each, so that pytest-xdist spreads them over its
# workers: every operation is in one group, and each group runs on a database of its own.
GROUPS = sorted({group_of(path) for path in json.loads(SPEC.read_text())["paths"]})


@pytest.fixture
def api_schema(app, group):
    # In the configuration: schemathesis replaces the filters of a schema a fixture returns.
    config = SchemathesisConfig.from_str(config_toml(group=group))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
    )
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.parametrize("group", GROUPS)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_spec(case, authorization, group):
    # In a query string every value is text, so schemathesis's type mutations of a query
    # parameter are often valid requests: `false` is a fine code, and an object it makes for
    # `page` is sent as nothing at all (schemathesis#2312, #4600). Such cases are still held
    # to no 5xx and documented responses; tests/api/test_bad_input.py checks that bad query
    # values are refused.
    negative = {where for where, part in case.meta.components.items() if part.mode.is_negative}
    query_only = negative == {ParameterLocation.QUERY}
    excluded = [negative_data_rejection] if query_only else None
    case.call_and_validate(headers=authorization, excluded_checks=excluded)
