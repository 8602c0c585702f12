"""The OpenAPI document is the contract: committed, current, complete, and served with its docs."""

import json
import re
from pathlib import Path

import pytest

from api import create_app
from api.auth import SCHEME

COMMITTED = Path(__file__).parents[2] / "openapi" / "openapi.json"
WRITES = {"post", "put", "patch", "delete"}
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    """(method, path, operation) for every operation of the document."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, operation


def spec_of(tmp_path, **config) -> dict:
    """The document a service with this configuration serves."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"} | config)
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def needs_a_key(spec: dict, operation: dict) -> bool:
    """Whether the operation's security requirement leaves no way in without the API key."""
    alternatives = operation.get("security", spec.get("security", []))
    return bool(alternatives) and all(SCHEME in alternative for alternative in alternatives)


def test_committed_spec_is_current(spec):
    committed = json.loads(COMMITTED.read_text())
    assert spec == committed, "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_response_names_do_not_depend_on_the_python_that_builds_the_spec(spec):
    # Python 3.13 renamed HTTPStatus 413, 414, 416 and 422: a document built there must still
    # be the committed one, so no name of either Python's own choosing may reach it.
    names = set(spec["components"]["responses"])
    newer = {"CONTENT_TOO_LARGE", "UNPROCESSABLE_CONTENT", "RANGE_NOT_SATISFIABLE"}
    assert not names & newer
    assert {"REQUEST_ENTITY_TOO_LARGE", "UNPROCESSABLE_ENTITY"} <= names
    refs = set(re.findall(r'"#/components/responses/([A-Z_]+)"', json.dumps(spec)))
    assert refs <= names


def test_spec_is_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"


def test_every_operation_has_a_summary_and_documents_its_errors(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert "default" in operation["responses"]
            if method in ("put", "patch", "delete"):
                assert {"412", "428", "404"} <= operation["responses"].keys()


def test_every_field_and_parameter_is_described(spec):
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("description") or prop.get("$ref"), f"{name}.{field} undescribed"
    for path, item in spec["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                assert parameter.get("description"), f"{path} {parameter['name']} undescribed"


# What says how sure a figure is (issue 15): each field and parameter shown with an example.
FIGURE_FIELDS = {
    "Statistic": ("status", "precision", "lower", "upper", "rank", "rank_reason"),
    "Target": ("value_status", "rank", "rank_reason"),
}
FIGURE_PARAMETERS = {
    ("/v1/statistics", "get"): ("status", "rank", "known_on"),
    ("/v1/targets", "get"): ("value_status", "rank", "known_on"),
    ("/v1/statistics/{id}", "get"): ("known_on",),
}


def test_what_says_how_sure_a_figure_is_has_examples(spec):
    schemas = spec["components"]["schemas"]
    for name, names in FIGURE_FIELDS.items():
        for field in names:
            assert "example" in schemas[name]["properties"][field], f"{name}.{field}"
    for (path, method), names in FIGURE_PARAMETERS.items():
        parameters = {p["name"]: p for p in spec["paths"][path][method]["parameters"]}
        for name in names:
            assert "example" in parameters[name] or "example" in parameters[name].get(
                "schema", {}
            ), f"{method} {path} {name}"


def test_errors_are_documented_as_problem_details(spec):
    not_found = spec["components"]["responses"]["NOT_FOUND"]
    assert list(not_found["content"]) == ["application/problem+json"]


@pytest.mark.parametrize(
    ("path", "marker"),
    [("/docs", b"swagger-ui-bundle.js"), ("/redoc", b"redoc.standalone.js")],
)
def test_docs_pages_use_local_assets(client, path, marker):
    page = client.get(path)
    assert page.status_code == 200
    assert marker in page.data
    assert b"cdn" not in page.data.lower() and b"https://" not in page.data


@pytest.mark.parametrize(
    "asset",
    [
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/redoc/assets/redoc.standalone.js",
    ],
)
def test_docs_assets_are_served(client, asset):
    response = client.get(asset)
    assert response.status_code == 200 and len(response.data) > 10_000


def test_every_operation_has_a_unique_snake_case_operation_id(spec):
    # Generated clients name their functions after it: list_statistics, not get_v1_statistics.
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]
    assert all(SNAKE_CASE.fullmatch(name or "") for name in ids), ids
    assert len(set(ids)) == len(ids)
    statistics = {name for name in ids if "statistic" in name}
    assert statistics == {
        "list_statistics",
        "get_statistic",
        "create_statistic",
        "replace_statistic",
        "update_statistic",
        "delete_statistic",
        "list_statistic_revisions",
    }


def test_summaries_built_from_a_name_take_the_right_article(spec):
    texts = [
        text
        for _, _, operation in operations(spec)
        for text in (operation.get("summary", ""), operation.get("description", ""))
    ]
    assert "Create an indicator" in texts and "Read an event" in texts
    assert "Delete a statistic" in texts
    assert not [text for text in texts if re.search(r"\ba [aeio]", text, re.IGNORECASE)]


def test_writes_need_a_key_and_reads_do_not_by_default(spec):
    for method, path, operation in operations(spec):
        if method in WRITES:
            assert needs_a_key(spec, operation), f"{method} {path}"
            assert {"401", "403"} <= operation["responses"].keys()
        else:
            # Nothing to show: Swagger UI draws no padlock on an operation with none.
            assert operation["security"] == [], f"{method} {path}"


def test_reads_need_a_key_where_the_service_says_so(tmp_path):
    spec = spec_of(tmp_path, READ_REQUIRES_KEY=True)
    for method, path, operation in operations(spec):
        if path in ("/healthz", "/readyz"):  # probes: a load balancer has no key
            assert operation["security"] == [], path
            continue
        assert needs_a_key(spec, operation), f"{method} {path}"
        assert {"401", "403"} <= operation["responses"].keys()


def test_every_rate_limited_operation_documents_429(spec):
    for method, path, operation in operations(spec):
        limited = path not in ("/healthz", "/readyz")  # the probes are exempt
        assert ("429" in operation["responses"]) == limited, f"{method} {path}"


def test_refusals_of_the_http_server_are_documented_as_what_they_are(spec):
    for method, path, operation in operations(spec):
        assert {"414", "431"} <= operation["responses"].keys(), f"{method} {path}"
    too_long = spec["components"]["responses"]["URI_TOO_LONG"]
    assert list(too_long["content"]) == ["text/html"]
    assert "262,144 bytes" in too_long["description"]
