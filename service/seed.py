"""The launch article's facts, loaded as any client's import, with what is stored left alone."""

import json
from collections import Counter
from importlib import resources

from api import importing


def load_seed(path=None) -> Counter:
    """Store the records of a seed file that are not stored yet; return how many per section."""
    text = (path or resources.files("service").joinpath("seed.json")).read_text()
    report = importing.run(importing.document_rows(json.loads(text)), on_conflict="skip")
    return Counter(report["created"])
