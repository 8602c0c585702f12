"""GET /: the landing page, plain HTML that says what the service holds and cites it."""

import html
import re

import pytest

from api.endpoints import landing
from models.db import database
from models.schema import create_schema, drop_schema
from tests.api.test_series import add_figure, add_source, rerank
from tests.helpers import count

COLLECTIONS = ("sources", "events", "statistics", "targets", "indicators", "segments")
PROBLEM = "application/problem+json"


def page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    return response.get_data(as_text=True)


def text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags dropped, entities decoded, spaces joined."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def article(body: str, label: str) -> str:
    match = re.search(rf'<article aria-labelledby="{label}">(.*?)</article>', body, re.S)
    assert match, f"no article {label}"
    return match[1]


def shown_counts(body: str) -> dict[str, int]:
    found = re.findall(r'<dd id="count-(\w+)">([\d,]+)</dd>', body)
    return {name: int(number.replace(",", "")) for name, number in found}


def test_the_page_is_html_with_no_script_and_no_outside_asset(anonymous):
    response = anonymous.get("/")
    body = page(anonymous)
    assert "<script" not in body.lower()
    # Nothing is fetched from elsewhere: no stylesheet, image or font link, no src at all.
    assert not re.search(r"<link|\ssrc=|@import|url\(", body, re.I)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert '<html lang="en">' in body and "<h1>Industry Facts API</h1>" in body


def test_head_answers_like_get_without_a_body(anonymous):
    response = anonymous.head("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.get_data() == b""


def test_the_counts_are_the_apis_and_link_to_the_lists(client, anonymous):
    client.post(
        "/v1/sources",
        json={"publisher": "CAAM", "title": "Monthly exports", "url": "https://example.org/m"},
    )
    body = page(anonymous)
    assert shown_counts(body) == {name: count(anonymous, name) for name in COLLECTIONS}
    assert shown_counts(body)["sources"] == 2
    for name in COLLECTIONS:
        assert f'<a href="/v1/{name}">{name.capitalize()}</a>' in body


def test_the_latest_facts_are_the_end_of_the_timeline_newest_first(anonymous):
    body = page(anonymous)
    shown = re.findall(r'<article aria-labelledby="fact-(\w+)-(\d+)">', body)
    timeline = [(fact["type"], str(fact["id"])) for fact in anonymous.get("/v1/facts").json]
    assert shown == timeline[::-1][: landing.LATEST_FACTS]
    assert shown[0] == ("target", "2") and shown[-1] == ("statistic", "3")


def test_a_statistic_is_cited_as_the_api_cites_it_with_its_quote(anonymous):
    statistic = anonymous.get("/v1/statistics/4").json
    fact = article(page(anonymous), "fact-statistic-4")
    citation = re.search(r'<p class="citation">(.*?)</p>', fact, re.S)[1]
    assert text(citation) == f"Source: {statistic['citation']}"
    url = anonymous.get(f"/v1/sources/{statistic['source_id']}").json["url"]
    assert f'<a href="{url}">{url}</a>' in citation
    assert "<cite>" in citation  # the title, marked up as the work cited
    assert text(statistic["quote"]) in text(fact)
    assert '<a href="/v1/statistics/4">' in fact
    assert '<time datetime="2025-03-31">31 March 2025</time>' in fact


def test_targets_show_their_progress_in_a_bar_and_in_words(anonymous):
    body = page(anonymous)
    share = anonymous.get("/v1/targets/2/progress").json
    assert share["percent_reached"] == 103.53
    met = article(body, "progress-2")
    # The bar stops at full; the words give the figure beyond it.
    assert '<progress max="100" value="100"' in met
    assert "103.53% of the target: 31.06% against 30% in 2025-Q1" in text(met)
    assert '<p class="status status-met">Met</p>' in met
    level = text(article(body, "progress-1"))
    assert "4.73% of the target: 1,420,000 of 30,000,000 vehicles in 2025-Q1" in level
    assert "Not enough data to judge" in level and "judged on a full year" in level


def test_a_target_with_no_figure_has_no_bar(client, anonymous):
    client.patch("/v1/targets/1", json={"region": "DE"}, headers={"If-Match": "*"})
    target = article(page(anonymous), "progress-1")
    assert "<progress" not in target
    assert "No observation of this series." in target


def test_only_the_first_targets_are_shown_with_a_link_to_all(anonymous, monkeypatch):
    monkeypatch.setattr(landing, "TARGETS_SHOWN", 1)
    body = page(anonymous)
    assert 'aria-labelledby="progress-1"' in body and 'aria-labelledby="progress-2"' not in body
    assert "The first 1 of 2 targets" in text(body)
    assert '<a href="/v1/targets?include=progress">' in body


def test_the_docs_are_linked(anonymous):
    body = page(anonymous)
    for path in ("/docs", "/redoc", "/openapi.json", "/v1/facts"):
        assert f'href="{path}"' in body
    # Examples to copy, with this server's address.
    assert "curl -s 'http://localhost/v1/statistics?region=CN&amp;segment=total'" in body


def test_stored_text_is_escaped(client, anonymous):
    evil = "<script>alert(1)</script>"
    source = client.post(
        "/v1/sources",
        json={"publisher": f"P {evil}", "title": f"T {evil}", "url": "https://example.org/x"},
    ).json
    response = client.post(
        "/v1/events",
        json={
            "title": f"Launch {evil}",
            "kind": "launch",
            "date": "2026-01-01",
            "country": "DE",
            "source_id": source["id"],
            "quote": f'He said "{evil}" & left',
        },
    )
    assert response.status_code == 201, response.json
    body = page(anonymous)
    assert "<script" not in body.lower()
    fact = article(body, f"fact-event-{response.json['id']}")
    assert "Launch &lt;script&gt;alert(1)&lt;/script&gt;" in fact
    assert "&#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; &amp; left" in fact
    assert text(fact).count(evil) == 4  # title, quote, and the source's publisher and title


def test_an_empty_database_gives_an_empty_page(app, anonymous):
    with app.app_context():
        drop_schema()
        create_schema()
    database.close()
    body = page(anonymous)
    assert shown_counts(body) == dict.fromkeys(COLLECTIONS, 0)
    assert "No facts yet." in body and "No targets yet." in body
    assert "<article" not in body


@pytest.mark.parametrize(
    ("method", "path", "status"), [("get", "/nothing-here", 404), ("post", "/", 405)]
)
def test_other_requests_are_still_problems(anonymous, method, path, status):
    response = getattr(anonymous, method)(path)
    assert response.status_code == status and response.mimetype == PROBLEM
    assert response.get_json()["status"] == status


def test_the_page_shows_the_figures_used_and_how_many_there_are(client, anonymous):
    later = add_figure(
        client,
        segment="new_energy_vehicles",
        value=450000,
        source_id=add_source(client, "2025-06-01"),
    )
    body = page(anonymous)
    shown = re.findall(r'<article aria-labelledby="fact-(\w+)-(\d+)">', body)
    assert ("statistic", str(later)) in shown and ("statistic", "4") not in shown
    fact = article(body, f"fact-statistic-{later}")
    figures = (
        "/v1/statistics?indicator=vehicle_exports&amp;region=CN"
        "&amp;segment=new_energy_vehicles&amp;period=2025-Q1"
    )
    assert f'<a href="{figures}">2 figures</a>' in fact
    assert "this is the one used" in text(fact)
    assert "figures</a>" not in article(body, "fact-statistic-3")  # the only one of its question
    # Progress on the share target uses the later figure: 450000 / 1420000.
    assert "31.69% against 30%" in text(article(body, "progress-2"))

    rerank(client, 4, "preferred")
    body = page(anonymous)
    assert 'aria-labelledby="fact-statistic-4"' in body
    assert f'aria-labelledby="fact-statistic-{later}"' not in body
    assert "31.06% against 30%" in text(article(body, "progress-2"))
