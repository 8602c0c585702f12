"""A client generated from the committed spec by openapi-python-client works against gunicorn."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "openapi_python_client",
    reason="openapi-python-client is a dev dependency: pip install -e .[dev]",
)

SPEC = Path(__file__).parents[2] / "openapi" / "openapi.json"
PACKAGE = "industry_facts_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package, importable for the duration of the module."""
    root = tmp_path_factory.mktemp("generated")
    spec = json.loads(SPEC.read_text())
    # The generator sends JSON, forms and bytes but not text, so it would skip the CSV form of
    # an import (with a warning) and keep the JSON one. Without it, any warning is a part of
    # the spec that a generated client cannot use, and fails the generation.
    del spec["paths"]["/v1/import"]["post"]["requestBody"]["content"]["text/csv"]
    (root / "openapi.json").write_text(json.dumps(spec))
    # Formatting the generated code with ruff would only cost time.
    (root / "config.yaml").write_text("post_hooks: []\n")
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--fail-on-warning"]
    command += ["--path", str(root / "openapi.json"), "--config", str(root / "config.yaml")]
    command += ["--meta", "none", "--output-path", str(root / PACKAGE)]
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_generated_client_lists_creates_updates_and_reads_a_statistic(generated, live_server):
    from industry_facts_client import AuthenticatedClient, Client
    from industry_facts_client.api.statistics import (
        create_statistic,
        get_statistic,
        list_statistics,
        update_statistic,
    )
    from industry_facts_client.models import Problem, Statistic, StatisticFrequency, StatisticPatch

    anonymous = Client(base_url=live_server.url, raise_on_unexpected_status=True)
    writer = AuthenticatedClient(
        base_url=live_server.url, token=live_server.key, raise_on_unexpected_status=True
    )

    listed = list_statistics.sync_detailed(client=anonymous)
    assert listed.status_code == 200
    assert len(listed.parsed) == 4 and all(isinstance(row, Statistic) for row in listed.parsed)
    assert json.loads(listed.headers["X-Pagination"])["total"] == 4
    # The generator sends a list as a repeated parameter, not comma-separated as documented.
    parts = list_statistics.sync(client=anonymous, segment=["passenger_cars", "total"])
    assert sorted(row.segment for row in parts) == ["passenger_cars", "total"]

    new = Statistic(
        indicator="vehicle_exports",
        region="CN",
        segment="total",
        period="2024",
        value=5850000,
        source_id=1,
    )
    refused = create_statistic.sync_detailed(client=anonymous, body=new)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, Problem) and refused.parsed.status == 401

    created = create_statistic.sync_detailed(client=writer, body=new)
    assert created.status_code == 201, created.content
    statistic = created.parsed
    assert statistic.version == 1 and statistic.frequency is StatisticFrequency.ANNUAL
    assert created.headers["Location"].endswith(f"/v1/statistics/{statistic.id}")

    read = get_statistic.sync_detailed(statistic.id, client=anonymous)
    assert read.status_code == 200 and read.parsed.value == 5850000
    etag = read.headers["ETag"]

    changed = update_statistic.sync_detailed(
        statistic.id, client=writer, body=StatisticPatch(value=5860000), if_match=etag
    )
    assert changed.status_code == 200, changed.content
    stale = update_statistic.sync_detailed(
        statistic.id, client=writer, body=StatisticPatch(value=5870000), if_match=etag
    )
    assert stale.status_code == 412 and stale.parsed.status == 412

    again = get_statistic.sync_detailed(statistic.id, client=anonymous)
    assert again.status_code == 200
    assert again.parsed.value == 5860000 and again.parsed.version == 2
    assert again.headers["ETag"] != etag and again.headers["ETag"].startswith('"2-')
    assert again.parsed.period == "2024" and again.parsed.frequency is StatisticFrequency.ANNUAL
