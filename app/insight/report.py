"""Loads a period's incidents, computes the figures and writes the report files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.config import Settings
from app.insight.charts import render_charts
from app.insight.document import insight_document
from app.insight.figures import REPEAT_WINDOW, Insight, Period, build_insight
from app.insight.loader import load_incidents
from app.insight.render import to_html, to_markdown
from app.store.database import Database

People = Callable[[str], str]
DEFAULT_DAYS = 90
_DAYS = re.compile(r"(\d{1,4})d")


def parse_moment(text: str, now: datetime) -> datetime:
    """`2026-03-01`, `2026-03-01T12:00`, or `30d` (that many days before now), as UTC."""
    text = text.strip()
    days = _DAYS.fullmatch(text)
    if days:
        return now - timedelta(days=int(days.group(1)))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2026-03-01 or a span like 30d") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def period_for(since: str | None, until: str | None, now: datetime) -> Period:
    end = parse_moment(until, now) if until else now
    start = parse_moment(since, now) if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ValueError("--since must be before --until")
    return Period(start, end)


def compute_insight(
    db: Database,
    settings: Settings,
    period: Period,
    now: datetime,
    *,
    service: str | None = None,
    team: str | None = None,
) -> Insight:
    # The previous period is compared with, and repeats look back 30 days before it.
    earliest = period.previous.since - REPEAT_WINDOW
    records = load_incidents(
        db, earliest, period.until, team=team, service=service, details_since=period.since
    )
    return build_insight(
        records,
        period,
        now=now,
        severities=settings.severity_names,
        cadences={level.name: level.update_minutes for level in settings.severities},
        timezone=settings.timezone,
    )


def write_report(insight: Insight, fmt: str, out_dir: Path, people: People) -> list[Path]:
    """Writes the report in `fmt` into `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path = out_dir / "insight.json"
        path.write_text(json.dumps(insight_document(insight), indent=2) + "\n", encoding="utf-8")
        return [path]
    charts = render_charts(insight, people)
    if fmt == "html":
        path = out_dir / "insight.html"
        path.write_text(to_html(insight, people, charts), encoding="utf-8")
        return [path]
    written = []
    for name, png in charts.items():
        (out_dir / name).write_bytes(png)
        written.append(out_dir / name)
    path = out_dir / "insight.md"
    path.write_text(to_markdown(insight, people), encoding="utf-8")
    return [path, *written]
