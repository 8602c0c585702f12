"""Series as pictures: a clean SVG chart drawn with matplotlib, for people who would rather look."""

import io

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from models.regions import region_name
from models.series import Series


def series_svg(series: Series) -> str:
    """A line chart (bars for fewer than three points) with title, units and period labels."""
    labels = [point.period.label for point in series.points]
    # A missing value is a gap in the line, not a zero.
    values = [float("nan") if p.value is None else float(p.value) for p in series.points]
    # Figure, not pyplot: no global state, so gunicorn's threads can draw at once.
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    if len(values) < 3:
        axes.bar(labels, values, color="#3b6ea8")
    else:
        axes.plot(labels, values, marker="o", color="#3b6ea8")
    title = f"{series.indicator.name}, {region_name(series.region)}, {series.segment.name}"
    if series.transform != "none":
        title += f" ({series.transform.replace('_', ' ')}"
        title += f" of {series.share_of})" if series.share_of else ")"
    axes.set_title(title)
    axes.set_xlabel(f"Period ({series.frequency or 'no observations'})")
    axes.set_ylabel(series.unit)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    if len(labels) > 12:
        axes.tick_params(axis="x", labelrotation=45)
    sources = "; ".join(f"{s.publisher}: {s.title}" for s in series.sources)
    # supxlabel, unlike free text, is given room by the constrained layout.
    figure.supxlabel(f"Source: {sources}"[:160], fontsize=7, color="#555555", x=0.01, ha="left")
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
