"""The README's curl examples, run as printed, in order, against `make serve` on a fresh database.

They build on each other (create statistic 5, read it, change it with If-Match "1", ...), so
they run in one bash session, as a reader pasting them would. Each curl reports its status on
stderr; every one must be 2xx (or 304), and no as_of example may come back empty.
"""

import re
import shlex
import subprocess

import pytest

from tests.helpers import CONSOLE_SCRIPT, ROOT

README = ROOT / "README.md"
# The key the README makes is kept in these; commands that set them run too.
ASSIGNMENT = re.compile(r"^[A-Z]+=")
# Written by curl itself after each transfer, so output redirected to a file changes nothing.
STATUS = "'%{stderr}@status %{http_code}\\n'"


def examples(text: str) -> list[str]:
    """Every command of the README's ```sh blocks that runs curl or sets a variable, with its
    continued lines (after a trailing backslash or pipe, or inside a quote still open)."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        command = ""
        for line in block.splitlines():
            if not command and (line.startswith("#") or not line.strip()):
                continue
            command += line + "\n"
            if line.endswith(("\\", "|")) or not _complete(command):
                continue
            if "curl " in command or ASSIGNMENT.match(command):
                found.append(command.strip())
            command = ""
    return found


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:  # "No closing quotation"
        return False
    return True


def test_the_readme_shows_every_kind_of_request():
    commands = " ".join(examples(README.read_text()))
    for part in ("-X PATCH", "-X PUT", "-X DELETE", "-d", "as_of=", "format=csv", "cursor="):
        assert part in commands


def test_readme_examples_work_as_printed(served, tmp_path):
    listed = examples(README.read_text())
    script = ["set -u"]
    for number, command in enumerate(listed):
        command = command.replace("localhost:8000", served.url.removeprefix("http://"))
        command = command.replace(".venv/bin/industry-facts", str(CONSOLE_SCRIPT))
        command = re.sub(r"\bcurl ", f"curl -w {STATUS} ", command)
        marker = f"echo '@example {number}'"
        script += [f"{marker}; {marker} >&2", command, "echo; echo '@exit' $? >&2"]
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,  # chart.svg lands here
        env=served.env | {"USER": "readme"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    statuses: dict[int, list[str]] = {}
    exits: dict[int, str] = {}
    for line in run.stderr.splitlines():
        word, _, rest = line.partition(" ")
        if word == "@example":
            current = int(rest)
            statuses[current] = []
        elif word == "@status":
            statuses[current].append(rest)
        elif word == "@exit":
            exits[current] = rest
    # An as_of example must show the past: a fixed instant from before the seed was loaded
    # once gave [].
    outputs = re.findall(r"^@example (\d+)\n(.*?)(?=^@example |\Z)", run.stdout, re.M | re.S)
    wrong = [
        f"nothing found: {listed[int(number)]}"
        for number, body in outputs
        if body.strip() == "[]" and "as_of" in listed[int(number)]
    ]
    for number, command in enumerate(listed):
        if exits.get(number) != "0":
            wrong.append(f"exit {exits.get(number)}: {command}")
        for status in statuses.get(number, []):
            if status[0] != "2" and status != "304":
                wrong.append(f"{status}: {command}")
        if "curl " in command and not statuses.get(number):
            wrong.append(f"no status: {command}")
    assert not wrong, "\n".join(wrong) + f"\n--- stderr\n{run.stderr[-2000:]}"


@pytest.mark.parametrize(
    ("block", "commands"),
    [
        ("```sh\ncurl -s 'localhost:8000/v1/x'\n```", ["curl -s 'localhost:8000/v1/x'"]),
        (
            "```sh\n# Change it\ncurl -si -X PATCH localhost:8000/v1/statistics/5 \\\n"
            "  -H 'If-Match: \"1\"' -d '{\n  \"value\": 1}'\nmake serve\n```",
            [
                "curl -si -X PATCH localhost:8000/v1/statistics/5 \\\n  -H 'If-Match: \"1\"' "
                "-d '{\n  \"value\": 1}'"
            ],
        ),
        (
            "```sh\nprintf 'a,b\\n' |\n  curl -s localhost:8000/v1/import --data-binary @-\n```",
            ["printf 'a,b\\n' |\n  curl -s localhost:8000/v1/import --data-binary @-"],
        ),
        (
            '```sh\nKEY=$(make-key)\nAUTH="x $KEY"\nmake test\n```',
            ["KEY=$(make-key)", 'AUTH="x $KEY"'],
        ),
    ],
)
def test_examples_are_whole_commands(block, commands):
    assert examples(block) == commands
