"""The launch article's facts, loaded as any client's import, with what is stored left alone."""

import json
from collections import Counter
from importlib import resources

from api.endpoints import imports


def load_seed(path=None) -> Counter:
    """Store the records of a seed file that are not stored yet; return how many per section."""
    text = (path or resources.files("service").joinpath("seed.json")).read_text()
    report = imports.run(imports.document_rows(json.loads(text)), on_conflict="skip")
    return Counter(report["created"])
