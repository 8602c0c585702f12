"""The packages' dependencies go one way: service/ on api/ and models/, api/ on models/."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# What each package may import of the others. api/ reads the settings (service/config.py,
# which imports neither api/ nor Flask) as create_app builds the app, and nothing else of
# service/; models/ knows nothing of HTTP.
ALLOWED = {
    "models": {"models"},
    "api": {"api", "models", "service.config"},
    "service": {"api", "models", "service"},
}
FORBIDDEN_LIBRARIES = {"models": {"flask", "flask_smorest", "werkzeug", "webargs"}}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def allowed(name: str, prefixes: set[str]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


@pytest.mark.parametrize("package", ALLOWED)
def test_a_package_imports_only_what_lies_below_it(package):
    ours = set(ALLOWED)
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported(path):
            top = name.split(".")[0]
            if top in ours:
                assert allowed(name, ALLOWED[package]), f"{path.relative_to(ROOT)} imports {name}"
            assert top not in FORBIDDEN_LIBRARIES.get(package, set()), path


def test_the_settings_import_nothing_of_the_app():
    assert not {name for name in imported(ROOT / "service" / "config.py") if name.startswith("api")}
