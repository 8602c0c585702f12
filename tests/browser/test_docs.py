"""The docs pages in a real browser: Swagger UI and ReDoc render every tag and call the API."""

import json
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
BLOCKED_BY_CSP = "csp"  # how chromium reports a request the page's CSP stopped
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def browser():
    # Skip before live_server starts: a newcomer's machine has only Python and make.
    if sync_playwright is None:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: sudo apt-get install chromium")
    # A loaded 2-core CI machine can take longer than the 5 s default to render the spec.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    requests = []
    page.on("request", lambda request: requests.append(request))
    yield page
    page.close()
    # The docs work offline: nothing is asked of any other server (the page's CSP stops ReDoc
    # fetching its logo from a CDN before the request leaves the browser).
    own = (live_server.url, f"blob:{live_server.url}", "data:")
    elsewhere = [
        r.url for r in requests if not r.url.startswith(own) and r.failure != BLOCKED_BY_CSP
    ]
    assert not elsewhere


@pytest.fixture(scope="module")
def tags(live_server) -> list[str]:
    """The tags the live spec puts on its operations."""
    spec = get_json(f"{live_server.url}/openapi.json")
    used = {
        tag
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
        for tag in operation.get("tags", [])
    }
    assert used
    return sorted(used)


def test_swagger_ui_renders_every_tag_and_executes_a_request(page, live_server, tags, tmp_path):
    page.goto(f"{live_server.url}/docs")
    for tag in tags:
        expect(page.locator(f'.opblock-tag[data-tag="{tag}"]')).to_be_visible()

    operation = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/v1/statistics"]')
    )
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    response = operation.locator(".live-responses-table .response")
    expect(response.locator(".response-col_status")).to_have_text("200")
    shown = json.loads(response.locator(".highlight-code code").inner_text())
    requested = operation.locator(".request-url pre").inner_text()
    assert requested.startswith(f"{live_server.url}/v1/statistics?")
    assert shown, f"Swagger UI shows no statistics for {requested}"
    assert shown == get_json(requested)

    screenshot = tmp_path / "docs.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 0


def test_redoc_renders_every_tag(page, live_server, tags, tmp_path):
    page.goto(f"{live_server.url}/redoc")
    for tag in tags:
        expect(page.locator(f'li[data-item-id="tag/{tag}"]')).to_contain_text(tag)
        expect(page.locator(f'[id="tag/{tag}"] h2')).to_have_text(tag)

    screenshot = tmp_path / "redoc.png"
    page.screenshot(path=screenshot)
    assert screenshot.stat().st_size > 0
