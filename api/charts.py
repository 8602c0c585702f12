"""Series as pictures: a clean SVG chart drawn with matplotlib, for people who would rather look."""

import io
from typing import Any

from models.regions import region_name
from models.series import Series

# Names, units and titles come from clients: they are text, never markup. Without these,
# matplotlib reads "$...$" as mathtext ("from $4bn to $5bn" drawn as maths, "$\foo{$" a 500)
# and, where a matplotlibrc sets text.usetex, hands every label to LaTeX. Every text the chart
# draws is given them, the tick labels too.
PLAIN: dict[str, Any] = {"parse_math": False, "usetex": False}


def series_svg(series: Series) -> str:
    """A line chart (bars for fewer than three points) with title, units and period labels."""
    labels = [point.period.label for point in series.points]
    positions = range(len(labels))
    # A missing value is a gap in the line, not a zero.
    values = [float("nan") if p.value is None else float(p.value) for p in series.points]
    # Imported here, not with the app: matplotlib takes longer to import than the rest of
    # the app together, which every command (an import, say) and worker would pay for.
    # Figure, not pyplot: no global state, so gunicorn's threads can draw at once.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    if len(values) < 3:
        axes.bar(positions, values, color="#3b6ea8")
    else:
        axes.plot(positions, values, marker="o", color="#3b6ea8")
    # Periods placed by position and labelled here, so that their tick labels are plain too.
    axes.set_xticks(positions, labels, **PLAIN)
    title = f"{series.indicator.name}, {region_name(series.region)}, {series.segment.name}"
    if series.transform != "none":
        title += f" ({series.transform.replace('_', ' ')}"
        title += f" of {series.share_of})" if series.share_of else ")"
    axes.set_title(title, **PLAIN)
    axes.set_xlabel(f"Period ({series.frequency or 'no observations'})", **PLAIN)
    axes.set_ylabel(series.unit, **PLAIN)
    # The ticks matplotlib chose, labelled here (as 1,420,000) and plain like every label.
    low, high = axes.get_ylim()
    ticks = [tick for tick in axes.get_yticks() if low <= tick <= high]
    axes.set_yticks(ticks, [f"{tick:,.10g}" for tick in ticks], **PLAIN)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    if len(labels) > 12:
        axes.tick_params(axis="x", labelrotation=45)
    sources = "; ".join(f"{s.publisher}: {s.title}" for s in series.sources)
    # supxlabel, unlike free text, is given room by the constrained layout.
    figure.supxlabel(
        f"Source: {sources}"[:160], fontsize=7, color="#555555", x=0.01, ha="left", **PLAIN
    )
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
