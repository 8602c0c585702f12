"""The fault suite runs only where it may stop PostgreSQL, mount file systems and kill
processes: CI (.ci/run sets FAULT_INJECTION=1 and refuses a run that skipped any of it)."""

import os

import pytest

ENABLED = os.environ.get("FAULT_INJECTION") == "1"


def pytest_collection_modifyitems(config, items):
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="fault injection: set FAULT_INJECTION=1 (as root; .ci/run does)")
    for item in items:
        if item.nodeid.startswith("tests/faults/"):
            item.add_marker(skip)
