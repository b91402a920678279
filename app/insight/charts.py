"""The report's charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot)."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, NullLocator

from app.insight.figures import DurationFigure, Insight
from app.insight.words import LABELS, human

People = Callable[[str], str]

_SEVERITY_COLOURS = ["#b2182b", "#ef8a62", "#f2c14e", "#67a9cf", "#2166ac", "#999999"]
_TIME_TICKS = [
    (1, "1s"),
    (10, "10s"),
    (60, "1m"),
    (600, "10m"),
    (3600, "1h"),
    (6 * 3600, "6h"),
    (86400, "1d"),
    (7 * 86400, "1w"),
    (30 * 86400, "30d"),
]
_DOT = "#2b6c9e"
_MEDIAN = "#111111"
_P90 = "#c0392b"
MAX_RESPONDERS = 15


def render_charts(insight: Insight, people: People) -> dict[str, bytes]:
    return {
        "weekly.png": weekly_chart(insight),
        "durations.png": durations_chart(insight.durations),
        "load.png": load_chart(insight, people),
    }


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=100, bbox_inches="tight")
    return out.getvalue()


def weekly_chart(insight: Insight) -> bytes:
    figure = Figure(figsize=(9, 3.6))
    axes = figure.add_subplot()
    weeks = insight.weekly
    positions = list(range(len(weeks)))
    bottom = [0] * len(weeks)
    for index, severity in enumerate(insight.severities):
        heights = [counts.get(severity, 0) for _, counts in weeks]
        if not any(heights):
            continue
        colour = _SEVERITY_COLOURS[index % len(_SEVERITY_COLOURS)]
        axes.bar(positions, heights, bottom=bottom, color=colour, label=severity, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    step = max(1, math.ceil(len(weeks) / 10))
    axes.set_xticks(positions[::step])
    axes.set_xticklabels(
        [week.strftime("%d %b %y") for week, _ in weeks][::step], rotation=30, ha="right"
    )
    axes.set_xlabel("week starting (Monday, UTC)")
    axes.set_ylabel("incidents")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"Incidents per week by severity ({insight.incident_count} in the period)")
    if any(bottom):
        axes.legend(loc="upper left", frameon=False, ncols=len(insight.severities))
        axes.set_ylim(0, max(bottom) * 1.25)
    else:
        axes.text(0.5, 0.5, "no incidents", ha="center", transform=axes.transAxes)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def durations_chart(figures: Sequence[DurationFigure]) -> bytes:
    """One dot per incident on a log time axis, median and 90th percentile marked."""
    figure = Figure(figsize=(9, 1.1 + 1.05 * len(figures)))
    axes = figure.add_subplot()
    jitter = random.Random(7)
    recorded = [v for f in figures for v in f.overall.values if v > 0]
    low = min([*recorded, 60.0]) / 2
    high = max([*recorded, 3600.0]) * 2
    rows = list(reversed(figures))
    for row, item in enumerate(rows):
        summary = item.overall
        values = [max(v, low) for v in summary.values]
        size = 14 if len(values) < 200 else 4
        alpha = 0.75 if len(values) < 200 else 0.25
        ys = [row + jitter.uniform(-0.28, 0.28) for _ in values]
        axes.scatter(values, ys, s=size, alpha=alpha, color=_DOT, linewidths=0)
        if summary.median is not None:
            axes.plot([max(summary.median, low)] * 2, [row - 0.38, row + 0.38], color=_MEDIAN, lw=2)
        if summary.p90 is not None:
            axes.plot([summary.p90] * 2, [row - 0.38, row + 0.38], color=_P90, lw=1.5, ls="--")
        if not values:
            axes.text(
                math.sqrt(low * high),
                row,
                f"not measured ({summary.not_recorded} not recorded)",
                ha="center",
                va="center",
                color="#666666",
            )
    axes.set_xscale("log")
    axes.set_xlim(low, high)
    ticks = [(s, t) for s, t in _TIME_TICKS if low <= s <= high]
    axes.xaxis.set_major_locator(FixedLocator([s for s, _ in ticks]))
    axes.set_xticklabels([t for _, t in ticks])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([_row_label(item) for item in rows])
    axes.set_ylim(-0.6, len(rows) - 0.4)
    axes.grid(axis="x", color="#dddddd")
    axes.set_axisbelow(True)
    axes.set_title("Time to … (one dot per incident; black: median, red dashed: 90th percentile)")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _row_label(item: DurationFigure) -> str:
    s = item.overall
    lines = [LABELS[item.name], f"n={s.n}"]
    if s.median is not None:
        lines[1] += f"  median {human(s.median)}"
    if s.p90 is not None:
        lines.append(f"p90 {human(s.p90)}")
    return "\n".join(lines)


def load_chart(insight: Insight, people: People) -> bytes:
    loads = insight.load[:MAX_RESPONDERS]
    figure = Figure(figsize=(9, 1.2 + 0.4 * max(1, len(loads))))
    axes = figure.add_subplot()
    names = [people(load.user_id) for load in reversed(loads)]
    inside = [load.hours - load.out_of_hours for load in reversed(loads)]
    outside = [load.out_of_hours for load in reversed(loads)]
    axes.barh(names, inside, color="#4393c3", label="08:00-20:00")
    axes.barh(names, outside, left=inside, color="#b2182b", label="outside 08:00-20:00")
    for index, load in enumerate(reversed(loads)):
        axes.text(load.hours, index, f"  {load.hours:.1f} h", va="center", fontsize=9)
    shown = "" if len(insight.load) <= MAX_RESPONDERS else f", top {MAX_RESPONDERS}"
    axes.set_title(f"Hours holding a role ({insight.timezone}{shown})", pad=26)
    axes.set_xlabel("hours")
    if loads:
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, frameon=False)
        axes.set_xlim(0, max(load.hours for load in loads) * 1.18)
    else:
        axes.text(0.5, 0.5, "no roles held", ha="center", transform=axes.transAxes)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)
