"""The requester's insight: the figures `/incident stats` and the App Home show them.

Slack surfaces count only incidents the requester may see: every public incident, and a
private one when they declared it, held a role in it or are in its channel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from app.incidents.errors import InvalidInput
from app.incidents.ports import Workspace, WorkspaceError
from app.insight.figures import REPEAT_WINDOW, Insight, Period, build_insight
from app.insight.loader import IncidentRecord, load_incidents
from app.insight.words import LABELS, NOT_MEASURED, comparison_text, human, p90_text
from app.services import Services

SPANS = ("30d", "90d", "quarter")
USAGE = "Type `/incident stats`, `/incident stats 90d` or `/incident stats quarter`."


def period_named(text: str, now: datetime) -> tuple[str, Period]:
    """The span a person typed: 30d (the default), 90d, or this calendar quarter so far."""
    word = text.strip().lower() or "30d"
    if word == "30d":
        return "the last 30 days", Period(now - timedelta(days=30), now)
    if word == "90d":
        return "the last 90 days", Period(now - timedelta(days=90), now)
    if word == "quarter":
        month = (now.month - 1) // 3 * 3 + 1
        return "this quarter", Period(datetime(now.year, month, 1, tzinfo=UTC), now)
    raise InvalidInput(f"I don't know the span `{text.strip()}`. {USAGE}")


def visible_to(user_id: str, slack: Workspace) -> Callable[[IncidentRecord], bool]:
    """Channel members are asked once per private channel, only when needed."""
    members: dict[str, set[str]] = {}

    def visible(record: IncidentRecord) -> bool:
        facts = record.facts
        if not facts.is_private or user_id == facts.declared_by:
            return True
        if any(spell.user_id == user_id for spell in record.roles):
            return True
        if facts.channel_id is None:
            return False
        if facts.channel_id not in members:
            try:
                members[facts.channel_id] = set(slack.members(facts.channel_id))
            except WorkspaceError:
                members[facts.channel_id] = set()
        return user_id in members[facts.channel_id]

    return visible


def requester_insight(services: Services, team_id: str, user_id: str, period: Period) -> Insight:
    records = load_incidents(
        services.db,
        period.previous.since - REPEAT_WINDOW,
        period.until,
        team=team_id,
        details_since=period.since,
    )
    return _visible_insight(services, user_id, period, records)


def requester_numbers(services: Services, team_id: str, user_id: str, period: Period) -> Insight:
    """The period's own figures only (no comparison, no repeats): what the App Home shows."""
    records = load_incidents(services.db, period.since, period.until, team=team_id)
    return _visible_insight(services, user_id, period, records)


def _visible_insight(
    services: Services, user_id: str, period: Period, records: list[IncidentRecord]
) -> Insight:
    settings = services.settings
    visible = visible_to(user_id, services.workspace)
    return build_insight(
        [r for r in records if visible(r)],
        period,
        now=services.clock(),
        severities=settings.severity_names,
        cadences={level.name: level.update_minutes for level in settings.severities},
        timezone=settings.timezone,
    )


def headline(insight: Insight, span: str) -> str:
    """The few numbers that fit an ephemeral message; the same words as the report."""
    lines = [
        f"*Incidents in {span}: {insight.incident_count}* "
        f"({insight.previous_count} in the {_days(insight.period)} days before;"
        f" {len(insight.open_now)} still open)"
    ]
    for figure in reversed(insight.durations):
        s = figure.overall
        if s.n == 0:
            lines.append(f"• {LABELS[figure.name]}: {NOT_MEASURED} ({s.not_recorded} not recorded)")
            continue
        lines.append(
            f"• {LABELS[figure.name]}: median {human(s.median)}, p90 {p90_text(s)} "
            f"(n={s.n}, {s.not_recorded} not recorded); {comparison_text(figure.comparison)}"
        )
    a = insight.actions
    lines.append(
        f"• Action items: {a.done_on_time} done by the due date, {a.done_late} late, "
        f"{a.open_overdue} open and overdue"
    )
    share = insight.updates.on_time_share
    if share is not None:
        lines.append(f"• Stakeholder updates on time: {share:.0%}")
    lines.append("Charts are on their way to your DMs. Definitions: docs/insight.md")
    return "\n".join(lines)


def _days(period: Period) -> int:
    return round((period.until - period.since) / timedelta(days=1))
