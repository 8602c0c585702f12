"""Small helpers the API tests share."""

import json


def read(client, path: str):
    """GET a record, returning its body and ETag."""
    response = client.get(path)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), response.headers["ETag"]


def count(client, collection: str) -> int:
    """How many records a list endpoint holds, from its pagination header."""
    response = client.get(f"/v1/{collection}")
    return json.loads(response.headers["X-Pagination"])["total"]
