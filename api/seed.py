"""The launch article's facts, loaded through the same schemas and rules as any client's."""

import json
from collections import Counter
from importlib import resources

from api.events import EventSchema
from api.indicators import IndicatorSchema
from api.segments import SegmentSchema
from api.sources import SourceSchema
from api.statistics import StatisticSchema
from api.targets import TargetSchema
from models import records
from models.db import database
from models.tables import Event, Indicator, Segment, Source, Statistic, Target

# In dependency order: a record may refer to those of the sections before it by their "ref".
SECTIONS = (
    ("indicators", Indicator, IndicatorSchema),
    ("segments", Segment, SegmentSchema),
    ("sources", Source, SourceSchema),
    ("events", Event, EventSchema),
    ("statistics", Statistic, StatisticSchema),
    ("targets", Target, TargetSchema),
)
REFERENCES = ("source_id", "event_id")
# Events and targets have no natural key; within the seed, these fields tell them apart.
IDENTITY = {Event: ("title", "date", "source"), Target: ("title", "source")}


def load_seed(path=None) -> Counter:
    """Store the records of a seed file that are not stored yet; return how many per section."""
    text = path.read_text() if path else resources.files("api").joinpath("seed.json").read_text()
    document = json.loads(text)
    ids, created = {}, Counter()
    with database.atomic():
        for section, model, schema in SECTIONS:
            for item in document.get(section, []):
                item = dict(item)
                ref = item.pop("ref", None)
                for name in REFERENCES:
                    if isinstance(item.get(name), str):
                        item[name] = ids[item[name]]
                data = schema().load(item)
                identity = IDENTITY.get(model, model.natural_key)
                row = model.get_or_none(*(getattr(model, f) == data[f] for f in identity))
                if row is None:
                    row = records.create(model, data)
                    created[section] += 1
                if ref:
                    ids[ref] = row._pk
    return created
