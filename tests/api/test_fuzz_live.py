"""schemathesis against gunicorn (`industry-facts serve`) on each backend, with every phase.

Three runs per backend: with a write key; with a read key, where every write must be a 403;
and with no key, where every write must be a 401 (these two skip the stateful phase, whose
chains need writes). A schema-valid request gets 2xx except
where test_fuzz.ACCEPTED says why not. (Apart from test_fuzz.py: its in-process tests empty
the PostgreSQL database, which must not happen while a server here uses it.)
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.test_fuzz import config_toml

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
# Examples per operation, and a cap in seconds per run (the phases share it, in order).
# Every run reaches its cap; the caps keep the whole of CI within 15 minutes on two cores.
# test_fuzz runs every operation's examples and coverage phase in process, on both backends.
EXAMPLES = {"write": 20, "read": 5, "none": 5}
SECONDS = {"write": 120, "read": 50, "none": 50}


@pytest.mark.parametrize("key", ["write", "read", "none"])
def test_live_server_matches_its_spec(served, key, tmp_path):
    writes_answer = {"write": None, "read": 403, "none": 401}[key]
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(writes_answer))
    command = [SCHEMATHESIS, "--config-file", str(config), "run", f"{served.url}/openapi.json"]
    # Stateful chains only with the write key: without it every write is a 401 or 403, and a
    # link the chain cannot resolve becomes the path `/v1/events/None`, a 404 before the key
    # is looked at (schemathesis 4.32 calls that a rejected valid request).
    phases = "examples,coverage,fuzzing" + (",stateful" if key == "write" else "")
    command += ["--checks", "all", "--phases", phases]
    command += ["--max-examples", str(EXAMPLES[key]), "--max-time", str(SECONDS[key])]
    # One worker: with two, schemathesis 4.32 can fail importing its own transports.
    command += ["--workers", "1"]
    command += ["--seed", "11", "--generation-database", "none", "--no-color"]
    command += ["--request-timeout", "30", "--suppress-health-check", "all"]
    if key != "none":
        command += ["-H", f"Authorization: Bearer {served.keys[key]}"]
    run = subprocess.run(
        command,
        cwd=tmp_path,
        env=os.environ | {"SCHEMATHESIS_HOOKS": str(HOOKS)},
        capture_output=True,
        text=True,
        timeout=SECONDS[key] * 4 + 120,
    )
    assert run.returncode == 0, f"{run.stdout[-12000:]}\n{run.stderr[-2000:]}\n{served.log()}"
    if key == "write":
        stateful = run.stdout.split("Stateful (in")[1].split("===")[0]
        assert "No tests were run" not in stateful, run.stdout[-6000:]
