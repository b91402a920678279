"""The report as sections of text and tables, written as Markdown or self-contained HTML."""

from __future__ import annotations

import base64
import html
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.export.people import utc
from app.insight.figures import NO_SERVICE, Insight
from app.insight.stats import MIN_FOR_COMPARISON
from app.insight.words import (
    LABELS,
    comparison_text,
    human,
    skew_note,
    summary_cells,
)

People = Callable[[str], str]
MAX_ROWS = 30
SUMMARY_HEADERS = ["", "n", "median", "p90", "mean", "not recorded"]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    """A heading, an optional chart, then paragraphs and tables in reading order."""

    title: str
    blocks: list[str | Table] = field(default_factory=list)
    chart: str | None = None


def sections(insight: Insight, people: People) -> list[Section]:
    return [
        _overview(insight),
        _durations(insight),
        _breakdowns(insight),
        _repeats(insight),
        _actions(insight, people),
        _updates(insight),
        _load(insight, people),
    ]


def _overview(insight: Insight) -> Section:
    section = Section("Incidents", chart="weekly.png")
    section.blocks.append(
        f"{insight.incident_count} incidents declared in the period "
        f"({insight.previous_count} in the previous period of the same length); "
        f"{len(insight.open_now)} still open"
        + (f": {', '.join(insight.open_now[:20])}." if insight.open_now else ".")
    )
    section.blocks.append(
        Table(
            ["severity (highest reached)", "incidents"],
            [[name, str(count)] for name, count in insight.count_by_severity.items()],
        )
    )
    return section


def _durations(insight: Insight) -> Section:
    section = Section("Response times", chart="durations.png")
    section.blocks.append(
        "Medians and 90th percentiles, not means: durations are skewed and one long "
        "incident moves a mean. An incident whose times were not recorded is left out "
        "of that figure and counted, never estimated."
    )
    rows = []
    for figure in insight.durations:
        rows.append([LABELS[figure.name], *summary_cells(figure.overall)])
    section.blocks.append(Table(SUMMARY_HEADERS, rows))
    skewed = [
        f"{LABELS[f.name].lower()} ({skew_note(f.overall)})"
        for f in insight.durations
        if skew_note(f.overall)
    ]
    if skewed:
        section.blocks.append(
            "A few long incidents pull the mean well above the median for "
            + "; ".join(skewed)
            + "."
        )
    section.blocks.append(
        Table(
            ["compared with the previous period", "median before", "median now", "verdict"],
            [
                [
                    LABELS[f.name],
                    human(f.comparison.previous_median),
                    human(f.comparison.current_median),
                    comparison_text(f.comparison),
                ]
                for f in insight.durations
            ],
        )
    )
    section.blocks.append(
        f"A change is called faster or slower only when its bootstrap 95% interval excludes "
        f"no change and each period has at least {MIN_FOR_COMPARISON} measured incidents."
    )
    return section


def _breakdowns(insight: Insight) -> Section:
    section = Section("By severity and service")
    for figure in insight.durations:
        if figure.overall.n == 0:
            section.blocks.append(f"{LABELS[figure.name]}: not measured in this period.")
            continue
        for kind, groups in (("severity", figure.by_severity), ("service", figure.by_service)):
            rows = [[name, *summary_cells(s)] for name, s in groups.items()]
            headers = [f"{LABELS[figure.name]} by {kind}", *SUMMARY_HEADERS[1:]]
            section.blocks.append(Table(headers, rows))
    return section


def _repeats(insight: Insight) -> Section:
    section = Section("Repeat incidents")
    section.blocks.append(
        "An incident is a repeat when its service had another incident resolved in the "
        "30 days before it was declared."
    )
    missing = insight.incident_count - insight.services_recorded
    if missing:
        section.blocks.append(f"{missing} incidents have no service recorded and are not counted.")
    per_service = Counter(r.service for r in insight.repeats)
    services = {k: v for k, v in insight.count_by_service.items() if k != NO_SERVICE}
    if services:
        section.blocks.append(
            Table(
                ["service", "incidents", "repeats"],
                [[k, str(v), str(per_service.get(k, 0))] for k, v in list(services.items())[:20]],
            )
        )
    if insight.repeats:
        shown = insight.repeats[:MAX_ROWS]
        section.blocks.append(
            Table(
                ["service", "incident", "after", "days after it was resolved"],
                [
                    [r.service, r.reference, r.previous_reference, f"{r.days_after_resolved:.1f}"]
                    for r in shown
                ],
            )
        )
        if len(insight.repeats) > len(shown):
            section.blocks.append(
                f"... and {len(insight.repeats) - len(shown)} more (JSON has all)."
            )
    else:
        section.blocks.append("No repeat incidents.")
    return section


def _actions(insight: Insight, people: People) -> Section:
    a = insight.actions
    section = Section("Action items")
    section.blocks.append(
        Table(
            ["action items of the period's incidents", "count"],
            [
                ["done by the due date", str(a.done_on_time)],
                ["done late", str(a.done_late)],
                ["done (no due date)", str(a.done_without_due_date)],
                ["open and overdue", str(a.open_overdue)],
                ["open, not yet due", str(a.open_not_due)],
                ["open, no due date", str(a.open_without_due_date)],
                ["total", str(a.total)],
            ],
        )
    )
    if a.overdue:
        section.blocks.append(
            Table(
                ["overdue", "incident", "owner", "due", "days overdue"],
                [
                    [
                        o.text,
                        o.reference,
                        f"@{people(o.owner_id)}" if o.owner_id else "no owner",
                        o.due_date.isoformat(),
                        str(o.days_overdue),
                    ]
                    for o in a.overdue[:MAX_ROWS]
                ],
            )
        )
    return section


def _updates(insight: Insight) -> Section:
    u = insight.updates
    section = Section("Stakeholder updates")
    share = "-" if u.on_time_share is None else f"{u.on_time_share:.0%}"
    section.blocks.append(
        f"{u.on_time} of {u.expected_cadence_updates} updates ({share}) followed the "
        f"declaration or the previous update within the cadence of their severity; "
        f"{u.reminders_unanswered} of {u.reminders_sent} reminders got no update before "
        f"the next reminder or the resolution."
    )
    return section


def _load(insight: Insight, people: People) -> Section:
    section = Section("Responder load", chart="load.png")
    section.blocks.append(
        f"Hours each person held a role in the period; outside hours means outside "
        f"08:00-20:00 in {insight.timezone}."
    )
    roles = sorted({role for load in insight.load for role in load.hours_by_role})
    section.blocks.append(
        Table(
            ["person", *roles, "total hours", "outside hours"],
            [
                [
                    f"@{people(load.user_id)}",
                    *(f"{load.hours_by_role.get(role, 0):.1f}" for role in roles),
                    f"{load.hours:.1f}",
                    f"{load.out_of_hours:.1f}",
                ]
                for load in insight.load[:30]
            ],
        )
    )
    return section


def _heading(insight: Insight) -> tuple[str, str]:
    period = f"{utc(insight.period.since)} to {utc(insight.period.until)}"
    return "Incident response insight", f"{period} · generated {utc(insight.generated_at)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(insight: Insight, people: People) -> str:
    title, subtitle = _heading(insight)
    out = [f"# {title}", "", f"_{subtitle}_", ""]
    for section in sections(insight, people):
        out += [f"## {section.title}", ""]
        if section.chart:
            out += [f"![{section.title}]({section.chart})", ""]
        for block in section.blocks:
            if isinstance(block, str):
                out += [block, ""]
                continue
            out.append("| " + " | ".join(_cell(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            out.append("")
    out.append("Definitions: docs/insight.md")
    return "\n".join(out) + "\n"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:left}th{background:#f3f3f3}img{max-width:100%}"
)


def to_html(insight: Insight, people: People, charts: Mapping[str, bytes]) -> str:
    """One file with the charts embedded, to mail or attach."""
    title, subtitle = _heading(insight)
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1><p><em>{esc(subtitle)}</em></p>",
    ]
    for section in sections(insight, people):
        out.append(f"<h2>{esc(section.title)}</h2>")
        if section.chart and section.chart in charts:
            data = base64.b64encode(charts[section.chart]).decode("ascii")
            out.append(f'<img alt="{esc(section.title)}" src="data:image/png;base64,{data}">')
        for block in section.blocks:
            if isinstance(block, str):
                out.append(f"<p>{esc(block)}</p>")
                continue
            out.append(
                "<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in block.headers) + "</tr>"
            )
            for row in block.rows:
                out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
            out.append("</table>")
    out.append("<p>Definitions: docs/insight.md</p></body></html>")
    return "\n".join(out) + "\n"
