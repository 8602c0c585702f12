"""One generic CRUD test (list, create, read, replace, update, delete) for every resource."""

import json

import pytest

from api.resource import with_article
from tests.helpers import count, read


def version_of(etag: str) -> int:
    """The record version an ETag carries (before a digest of the representation)."""
    return int(etag.strip('"').split("-")[0])


class CRUDTest:
    """Subclasses say where a resource lives and give a valid record and a change to it."""

    collection: str
    key: str = "id"
    seeded: int  # how many records the seed holds
    new: dict  # a valid record to create
    canonical: dict = {}  # fields the service returns differently from how they were sent
    change: dict  # a partial update

    def test_list_is_paginated(self, client):
        response = client.get(f"/v1/{self.collection}?page_size=1")
        assert response.status_code == 200
        assert len(response.get_json()) == min(1, self.seeded)
        meta = json.loads(response.headers["X-Pagination"])
        assert meta["total"] == self.seeded
        if self.seeded > 1:
            assert (
                f'/v1/{self.collection}?page_size=1&page=2>; rel="next"' in response.headers["Link"]
            )

    def test_lifecycle(self, client):
        created = client.post(f"/v1/{self.collection}", json=self.new)
        assert created.status_code == 201, created.get_json()
        body = created.get_json()
        assert body.items() >= (self.new | self.canonical).items()
        assert body["version"] == 1
        location = created.headers["Location"]
        assert location == f"/v1/{self.collection}/{body[self.key]}"
        assert version_of(created.headers["ETag"]) == 1

        fetched, etag = read(client, location)
        assert fetched == body
        assert client.get(location, headers={"If-None-Match": etag}).status_code == 304
        assert count(client, self.collection) == self.seeded + 1

        # Changing needs the current ETag: none is 428, a stale one 412, the right one succeeds.
        assert client.patch(location, json=self.change).status_code == 428
        stale = client.patch(location, json=self.change, headers={"If-Match": '"9"'})
        assert stale.status_code == 412
        patched = client.patch(location, json=self.change, headers={"If-Match": etag})
        assert patched.status_code == 200, patched.get_json()
        assert patched.get_json().items() >= self.change.items()
        assert patched.get_json()["version"] == 2
        assert version_of(patched.headers["ETag"]) == 2
        assert client.get(location, headers={"If-None-Match": etag}).status_code == 200

        # PUT replaces the whole record: fields left out go back to their defaults.
        replaced = client.put(location, json=self.new, headers={"If-Match": '"2"'})
        assert replaced.status_code == 200, replaced.get_json()
        assert replaced.get_json().items() >= (self.new | self.canonical).items()
        assert replaced.get_json()["version"] == 3

        assert client.delete(location, headers={"If-Match": '"2"'}).status_code == 412
        assert client.delete(location).status_code == 428
        deleted = client.delete(location, headers={"If-Match": '"3"'})
        assert deleted.status_code == 204
        assert deleted.data == b""
        assert client.get(location).status_code == 404
        assert client.delete(location, headers={"If-Match": "*"}).status_code == 404
        assert count(client, self.collection) == self.seeded

    def test_a_deleted_record_can_be_created_again(self, client):
        # A code comes back continuing its versions (its revisions stay one sequence); an id
        # is never given again, so a record made again gets a new one.
        location = client.post(f"/v1/{self.collection}", json=self.new).headers["Location"]
        assert client.delete(location, headers={"If-Match": "*"}).status_code == 204
        again = client.post(f"/v1/{self.collection}", json=self.new)
        assert again.status_code == 201, again.get_json()
        if self.key == "id":
            assert again.headers["Location"] != location and again.json["version"] == 1
        else:
            assert again.headers["Location"] == location and again.json["version"] == 3
            changes = [r["change"] for r in client.get(f"{location}/revisions").json]
            assert changes == ["create", "delete", "create"]

    def test_if_match_star_accepts_any_version(self, client):
        location = client.post(f"/v1/{self.collection}", json=self.new).headers["Location"]
        response = client.patch(location, json=self.change, headers={"If-Match": "*"})
        assert response.status_code == 200

    def test_missing_record_is_404_problem(self, client):
        missing = "999999" if self.key == "id" else "no_such_code"
        response = client.get(f"/v1/{self.collection}/{missing}")
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"
        assert response.get_json()["status"] == 404


class TestSources(CRUDTest):
    collection = "sources"
    seeded = 1
    new = {
        "publisher": "China Association of Automobile Manufacturers",
        "title": "Automobile exports in April 2025",
        "url": "https://example.org/caam/2025-04",
        "published_on": "2025-05-12",
        "retrieved_at": "2025-05-13T08:00:00Z",
        "credit": None,
    }
    change = {"title": "Automobile exports, April 2025 (revised)"}


class TestIndicators(CRUDTest):
    collection = "indicators"
    key = "code"
    seeded = 1
    new = {
        "code": "vehicle_production",
        "name": "Vehicle production",
        "unit": "vehicles",
        "measure": "count",
        "industry": "automotive",
        "description": None,
    }
    change = {"name": "Vehicles produced"}


class TestSegments(CRUDTest):
    collection = "segments"
    key = "code"
    seeded = 4
    new = {
        "code": "trucks",
        "name": "Trucks",
        "parent": "commercial_vehicles",
        "additive": True,
        "description": None,
    }
    change = {"additive": False}


class TestEvents(CRUDTest):
    collection = "events"
    seeded = 1
    new = {
        "title": "Shanghai Auto Show",
        "kind": "trade_fair",
        "date": "2025-04-23",
        "end_date": "2025-05-02",
        "city": "Shanghai",
        "country": "CN",
        "industry": "automotive",
        "theme": None,
        "summary": None,
        "topics": ["electric vehicles"],
        "source_id": 1,
        "quote": None,
    }
    change = {"topics": ["electric vehicles", "autonomous driving"]}


class TestStatistics(CRUDTest):
    collection = "statistics"
    seeded = 4
    new = {
        "indicator": "vehicle_exports",
        "region": "CN",
        "segment": "total",
        "period": "2025-01-01/2025-06-30",
        "value": 3083000,
        "change_pct": 10.4,
        "change_basis": "yoy",
        "source_id": 1,
        "event_id": None,
        "quote": None,
    }
    canonical = {
        "period": "2025-H1",
        "period_start": "2025-01-01",
        "period_end": "2025-06-30",
        "frequency": "semiannual",
        "unit": "vehicles",
    }
    change = {"value": 3083500, "change_pct": 10.5}


class TestTargets(CRUDTest):
    collection = "targets"
    seeded = 2
    new = {
        "title": "Export 5 million vehicles in 2026",
        "issuer": None,
        "region": "CN",
        "industry": "automotive",
        "indicator": "vehicle_exports",
        "segment": "total",
        "share_of": None,
        "target_value": 5000000,
        "target_period": "2026",
        "direction": "at_least",
        "baseline_value": 4000000,
        "baseline_period": "2024",
        "status": "active",
        "announced_on": None,
        "source_id": 1,
        "event_id": 1,
        "quote": None,
    }
    canonical = {"unit": "vehicles", "target_period_end": "2026-12-31"}
    change = {"status": "withdrawn"}


# A valid new record of each collection, for tests that start from one.
NEW = {test.collection: test.new for test in CRUDTest.__subclasses__()}


@pytest.mark.parametrize(
    ("collection", "filters", "expected"),
    [
        ("statistics", "segment=passenger_cars", [1178000]),
        ("statistics", "region=CN&indicator=vehicle_exports", [1420000, 1178000, 242000, 441000]),
        ("statistics", "region=DE", []),
        ("statistics", "source_id=1&segment=total", [1420000]),
        ("statistics", "source_id=2", []),
    ],
)
def test_statistics_filters(client, collection, filters, expected):
    response = client.get(f"/v1/{collection}?{filters}")
    assert response.status_code == 200
    assert sorted(s["value"] for s in response.get_json()) == sorted(expected)


@pytest.mark.parametrize(
    ("path", "titles"),
    [
        ("/v1/events?country=CN", ["China Auto Brand Promotion"]),
        ("/v1/events?country=DE", []),
        ("/v1/events?industry=automotive", ["China Auto Brand Promotion"]),
        (
            "/v1/targets?status=active&region=CN",
            ["Export 30 million vehicles by 2030", "New-energy vehicles at 30% of exports by 2030"],
        ),
        ("/v1/targets?status=withdrawn", []),
        ("/v1/targets?indicator=vehicle_exports&region=WORLD", []),
    ],
)
def test_event_and_target_filters(client, path, titles):
    assert [item["title"] for item in client.get(path).get_json()] == titles


def test_list_order_is_stable_with_id_last(client):
    # The four seed statistics share one period: the order falls through to their ids.
    ids = [s["id"] for s in client.get("/v1/statistics").get_json()]
    assert ids == [1, 2, 3, 4]


def test_pages_partition_the_list(client):
    pages = [client.get(f"/v1/statistics?page_size=3&page={n}").get_json() for n in (1, 2, 3)]
    ids = [s["id"] for page in pages for s in page]
    assert sorted(ids) == [1, 2, 3, 4] and len(pages[2]) == 0
    link = client.get("/v1/statistics?page_size=3&page=2").headers["Link"]
    assert '</v1/statistics?page_size=3&page=1>; rel="prev"' in link
    assert 'rel="next"' not in link


@pytest.mark.parametrize("query", ["page_size=1001", "page_size=0", "page=0", "page=x"])
def test_bad_paging_is_422_not_capped(client, query):
    response = client.get(f"/v1/statistics?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["parameter"] == query.split("=")[0]


def test_page_size_1000_is_allowed(client):
    assert client.get("/v1/statistics?page_size=1000").status_code == 200


@pytest.mark.parametrize("collection", ["events", "statistics", "targets"])
def test_every_fact_cites_its_source(client, collection):
    for fact in client.get(f"/v1/{collection}").json:
        assert fact["citation"] == (
            "NenPower, \u201cChina\u2019s Automotive Industry Launches 2025 Vision for Global "
            "Expansion and Innovation\u201d, 11 May 2025, https://nenpower.com/blog/chinas-"
            "automotive-industry-launches-2025-vision-for-global-expansion-and-innovation/"
        )


def test_a_citation_without_a_publication_date_leaves_it_out(client):
    client.post(
        "/v1/sources",
        json={"publisher": "Undated", "title": "Notes", "url": "https://example.org/notes"},
    )
    client.patch("/v1/statistics/1", json={"source_id": 2}, headers={"If-Match": "*"})
    assert client.get("/v1/statistics/1").json["citation"] == (
        "Undated, \u201cNotes\u201d, https://example.org/notes"
    )


def test_a_statistic_is_revalidated_when_its_derived_change_changes(client):
    etag = client.get("/v1/statistics/1").headers["ETag"]
    client.post(
        "/v1/statistics",
        json={
            "indicator": "vehicle_exports",
            "region": "CN",
            "segment": "total",
            "period": "2024-Q1",
            "value": 1323000,
            "source_id": 1,
        },
    )
    fresh = client.get("/v1/statistics/1", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.json["change_consistent"] is True


def test_a_fact_is_revalidated_when_its_source_changes(client):
    etag = client.get("/v1/statistics/1").headers["ETag"]
    assert client.get("/v1/statistics/1", headers={"If-None-Match": etag}).status_code == 304
    client.patch("/v1/sources/1", json={"title": "Renamed"}, headers={"If-Match": "*"})
    fresh = client.get("/v1/statistics/1", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "Renamed" in fresh.json["citation"]
    # Writes are checked against the statistic's own version, which has not changed.
    assert (
        client.patch(
            "/v1/statistics/1", json={"quote": "x"}, headers={"If-Match": etag}
        ).status_code
        == 200
    )


def test_patch_null_clears_an_optional_field_and_is_refused_elsewhere(client):
    cleared = client.patch("/v1/events/1", json={"theme": None}, headers={"If-Match": "*"})
    assert cleared.status_code == 200 and cleared.json["theme"] is None
    for field in ("title", "topics"):
        response = client.patch("/v1/events/1", json={field: None}, headers={"If-Match": "*"})
        assert response.status_code == 422


def test_every_change_is_kept_as_a_revision_newest_first(client):
    client.patch("/v1/statistics/1", json={"value": 1421000}, headers={"If-Match": "*"})
    client.delete("/v1/statistics/1", headers={"If-Match": "*"})
    assert client.get("/v1/statistics/1").status_code == 404
    revisions = client.get("/v1/statistics/1/revisions")
    assert revisions.status_code == 200
    # Changes say which key made them; the seed was loaded from the command line.
    key = client.environ_base["HTTP_AUTHORIZATION"].removeprefix("Bearer ")[:12]
    assert [(r["version"], r["change"], r["by"]) for r in revisions.json] == [
        (3, "delete", key),
        (2, "update", key),
        (1, "create", "cli"),
    ]
    assert [r["record"]["value"] for r in revisions.json] == ["1421000", "1421000", "1420000"]
    assert revisions.json[0]["at"].endswith("Z")
    assert json.loads(revisions.headers["X-Pagination"])["total"] == 3


def test_a_failed_change_leaves_no_revision(client):
    client.patch("/v1/statistics/1", json={"value": -1}, headers={"If-Match": "*"})
    client.patch("/v1/statistics/1", json={"value": 1}, headers={"If-Match": '"7"'})
    assert len(client.get("/v1/statistics/1/revisions").json) == 1


def test_vocabularies_keep_revisions_by_code(client):
    client.patch("/v1/segments/total", json={"name": "Everything"}, headers={"If-Match": "*"})
    names = [r["record"]["name"] for r in client.get("/v1/segments/total/revisions").json]
    assert names == ["Everything", "All vehicles"]


@pytest.mark.parametrize(
    ("noun", "expected"),
    [("event", "an event"), ("indicator", "an indicator"), ("statistic", "a statistic")],
)
def test_summaries_name_one_record_with_the_right_article(noun, expected):
    assert with_article(noun) == expected


def test_an_if_match_or_if_none_match_longer_than_the_spec_allows_is_refused(client):
    location = "/v1/statistics/1"
    _, tag = read(client, location)
    fits = ",".join([tag] * (1000 // (len(tag) + 1)))  # the spec allows 1000 characters
    assert client.get(location, headers={"If-None-Match": fits}).status_code == 304
    too_long = '"0",' * 250 + tag
    refused = client.get(location, headers={"If-None-Match": too_long})
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["header"] == "If-None-Match"
    refused = client.patch(location, json={"value": 1}, headers={"If-Match": too_long})
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["header"] == "If-Match"
    assert client.get(location).get_json()["value"] != 1
