"""The service with revisions and history switched off: the baseline for the cost of writes."""

from api import create_app
from models import records

# Every change's revision and history rows are written by this one function.
records._revise = lambda model, rows, change: None

app = create_app()
