"""The baseline: bare Flask answering a small JSON object, served by the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/v1/statistics/1")
def small_json():
    return {"id": 1, "indicator": "vehicle_exports", "region": "CN", "value": 1420000}


@app.get("/healthz")
def healthz():  # what the benchmark waits on before it sends load
    return {"status": "ok"}
