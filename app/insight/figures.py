"""Every number of the insight report, as pure functions of loaded incidents.

Definitions (docs/insight.md says the same, one line each):
- time to detect: impact started -> detected (first alert), or -> declared when no alert;
- time to acknowledge: detected -> acknowledged;
- time to mitigate: declared -> mitigated (first moved to monitoring or later);
- time to resolve: declared -> resolved.
A duration whose two ends are not both recorded is left out and counted "not recorded".
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.insight.loader import IncidentRecord
from app.insight.stats import Comparison, Summary, compare_medians, summarize

REPEAT_WINDOW = timedelta(days=30)
WORK_STARTS = time(8, 0)
WORK_ENDS = time(20, 0)
NO_SERVICE = "(service not recorded)"

Measure = Callable[[IncidentRecord], float | None]


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def time_to_detect(r: IncidentRecord) -> float | None:
    return _seconds(r.impact_started_at, r.detected_at or r.declared_at)


def time_to_acknowledge(r: IncidentRecord) -> float | None:
    return _seconds(r.detected_at, r.acknowledged_at)


def time_to_mitigate(r: IncidentRecord) -> float | None:
    return _seconds(r.declared_at, r.facts.mitigated_at)


def time_to_resolve(r: IncidentRecord) -> float | None:
    return _seconds(r.declared_at, r.facts.resolved_at)


MEASURES: dict[str, Measure] = {
    "detect": time_to_detect,
    "acknowledge": time_to_acknowledge,
    "mitigate": time_to_mitigate,
    "resolve": time_to_resolve,
}


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def previous(self) -> Period:
        return Period(self.since - (self.until - self.since), self.since)

    def holds(self, moment: datetime) -> bool:
        return self.since <= moment < self.until


@dataclass(frozen=True)
class DurationFigure:
    name: str
    overall: Summary
    comparison: Comparison
    by_severity: dict[str, Summary]
    by_service: dict[str, Summary]


@dataclass(frozen=True)
class Repeat:
    service: str
    reference: str
    previous_reference: str
    days_after_resolved: float


@dataclass(frozen=True)
class OverdueAction:
    reference: str
    text: str
    owner_id: str | None
    due_date: date
    days_overdue: int


@dataclass(frozen=True)
class ActionFigures:
    total: int
    done_on_time: int
    done_late: int
    done_without_due_date: int
    open_overdue: int
    open_not_due: int
    open_without_due_date: int
    overdue: list[OverdueAction]


@dataclass(frozen=True)
class UpdateFigures:
    expected_cadence_updates: int
    on_time: int
    late: int
    reminders_sent: int
    reminders_unanswered: int

    @property
    def on_time_share(self) -> float | None:
        return (
            self.on_time / self.expected_cadence_updates if self.expected_cadence_updates else None
        )


@dataclass(frozen=True)
class ResponderLoad:
    user_id: str
    hours_by_role: dict[str, float]
    hours: float
    out_of_hours: float


@dataclass(frozen=True)
class Insight:
    period: Period
    generated_at: datetime
    timezone: str
    severities: list[str]
    incident_count: int
    previous_count: int
    count_by_severity: dict[str, int]
    count_by_service: dict[str, int]
    open_now: list[str]
    weekly: list[tuple[date, dict[str, int]]]
    durations: list[DurationFigure]
    repeats: list[Repeat]
    services_recorded: int
    actions: ActionFigures
    updates: UpdateFigures
    load: list[ResponderLoad]


def build_insight(
    records: Sequence[IncidentRecord],
    period: Period,
    *,
    now: datetime,
    severities: Sequence[str],
    cadences: Mapping[str, int],
    timezone: str = "UTC",
) -> Insight:
    """`records` may reach back before the period: the previous period and repeats use them."""
    current = [r for r in records if period.holds(r.declared_at)]
    previous = [r for r in records if period.previous.holds(r.declared_at)]
    order = _severity_order(severities, current)
    end = min(now, period.until)
    return Insight(
        period=period,
        generated_at=now,
        timezone=timezone,
        severities=order,
        incident_count=len(current),
        previous_count=len(previous),
        count_by_severity=_count(order, (r.severity for r in current)),
        count_by_service=dict(Counter(r.service or NO_SERVICE for r in current).most_common()),
        open_now=[r.facts.reference for r in current if r.is_open],
        weekly=weekly_counts(current, period, order),
        durations=[duration_figure(name, current, previous) for name in MEASURES],
        repeats=repeat_incidents(records, period),
        services_recorded=sum(1 for r in current if r.service),
        actions=action_figures(current, now),
        updates=update_figures(current, cadences, end),
        load=responder_load(current, period, end, ZoneInfo(timezone)),
    )


def _severity_order(configured: Sequence[str], records: Iterable[IncidentRecord]) -> list[str]:
    extra = sorted({r.severity for r in records} - set(configured))
    return [*configured, *extra]


def _count(order: Sequence[str], values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return {name: counts.get(name, 0) for name in order}


def week_start(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def weekly_counts(
    records: Iterable[IncidentRecord], period: Period, order: Sequence[str]
) -> list[tuple[date, dict[str, int]]]:
    """Incidents per week (Monday, UTC) by severity, empty weeks included."""
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for r in records:
        counts[week_start(r.declared_at)][r.severity] += 1
    weeks = []
    week = week_start(period.since)
    last = week_start(period.until - timedelta(microseconds=1))
    while week <= last:
        weeks.append((week, {name: counts[week].get(name, 0) for name in order}))
        week += timedelta(days=7)
    return weeks


def measured(records: Iterable[IncidentRecord], measure: Measure) -> tuple[list[float], int]:
    """The durations that were recorded, and how many were not."""
    values: list[float] = []
    missing = 0
    for r in records:
        value = measure(r)
        if value is None:
            missing += 1
        else:
            values.append(value)
    return values, missing


def duration_figure(
    name: str, current: Sequence[IncidentRecord], previous: Sequence[IncidentRecord]
) -> DurationFigure:
    measure = MEASURES[name]
    values, missing = measured(current, measure)
    before, _ = measured(previous, measure)
    return DurationFigure(
        name=name,
        overall=summarize(values, missing),
        comparison=compare_medians(before, values),
        by_severity=_grouped(current, measure, lambda r: r.severity),
        by_service=_grouped(current, measure, lambda r: r.service or NO_SERVICE),
    )


def _grouped(
    records: Iterable[IncidentRecord], measure: Measure, key: Callable[[IncidentRecord], str]
) -> dict[str, Summary]:
    groups: dict[str, list[IncidentRecord]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return {name: summarize(*measured(group, measure)) for name, group in sorted(groups.items())}


def repeat_incidents(records: Sequence[IncidentRecord], period: Period) -> list[Repeat]:
    """Incidents of the period declared within 30 days of the same service's last resolution."""
    by_service: dict[str, list[IncidentRecord]] = defaultdict(list)
    for r in records:
        if r.service:
            by_service[r.service].append(r)
    repeats = []
    for service, group in sorted(by_service.items()):
        resolved = sorted(
            ((r.facts.resolved_at, r.facts.number, r) for r in group if r.facts.resolved_at),
            key=lambda item: (item[0], item[1]),
        )
        moments = [moment for moment, _, _ in resolved]
        for r in sorted(group, key=lambda r: (r.declared_at, r.facts.number)):
            if not period.holds(r.declared_at):
                continue
            index = bisect_right(moments, r.declared_at) - 1
            while index >= 0 and resolved[index][2] is r:
                index -= 1
            if index < 0:
                continue
            moment, _, last = resolved[index]
            gap = r.declared_at - moment
            if gap <= REPEAT_WINDOW:
                days = gap / timedelta(days=1)
                repeats.append(Repeat(service, r.facts.reference, last.facts.reference, days))
    return repeats


def action_figures(records: Iterable[IncidentRecord], now: datetime) -> ActionFigures:
    """Done by the due date (UTC day), done late, and what is still open."""
    today = now.date()
    tally: Counter[str] = Counter()
    overdue: list[OverdueAction] = []
    for r in records:
        for item in r.actions:
            tally["total"] += 1
            if item.state == "done" and item.done_at is not None:
                if item.due_date is None:
                    tally["done_without_due_date"] += 1
                elif item.done_at.date() <= item.due_date:
                    tally["done_on_time"] += 1
                else:
                    tally["done_late"] += 1
            elif item.due_date is None:
                tally["open_without_due_date"] += 1
            elif item.due_date < today:
                tally["open_overdue"] += 1
                overdue.append(
                    OverdueAction(
                        r.facts.reference,
                        item.text,
                        item.owner_id,
                        item.due_date,
                        (today - item.due_date).days,
                    )
                )
            else:
                tally["open_not_due"] += 1
    overdue.sort(key=lambda o: (-o.days_overdue, o.reference))
    return ActionFigures(
        total=tally["total"],
        done_on_time=tally["done_on_time"],
        done_late=tally["done_late"],
        done_without_due_date=tally["done_without_due_date"],
        open_overdue=tally["open_overdue"],
        open_not_due=tally["open_not_due"],
        open_without_due_date=tally["open_without_due_date"],
        overdue=overdue,
    )


def update_figures(
    records: Iterable[IncidentRecord], cadences: Mapping[str, int], end: datetime
) -> UpdateFigures:
    """An update is on time when it follows the declaration or the previous update within the
    cadence of the severity it was posted at; severities without a cadence are not counted."""
    expected = on_time = sent = unanswered = 0
    for r in records:
        previous = r.declared_at
        for update in r.updates:
            cadence = cadences.get(update.severity, 0)
            if cadence > 0:
                expected += 1
                if update.posted_at - previous <= timedelta(minutes=cadence):
                    on_time += 1
            previous = update.posted_at
        posted = sorted(u.posted_at for u in r.updates)
        closes = r.facts.resolved_at or end
        for index, reminder in enumerate(r.reminders):
            sent += 1
            until = r.reminders[index + 1] if index + 1 < len(r.reminders) else closes
            after = bisect_right(posted, reminder)
            if after == len(posted) or posted[after] > until:
                unanswered += 1
    return UpdateFigures(expected, on_time, expected - on_time, sent, unanswered)


def responder_load(
    records: Iterable[IncidentRecord], period: Period, end: datetime, zone: ZoneInfo
) -> list[ResponderLoad]:
    """Hours each person held a role inside the period; a role ends when relieved or resolved."""
    by_role: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    outside: dict[str, float] = defaultdict(float)
    for r in records:
        for spell in r.roles:
            stop = spell.relieved_at or r.facts.resolved_at or end
            start, stop = max(spell.assigned_at, period.since), min(stop, end)
            if stop <= start:
                continue
            hours = (stop - start) / timedelta(hours=1)
            by_role[spell.user_id][spell.role] += hours
            outside[spell.user_id] += out_of_hours(start, stop, zone) / timedelta(hours=1)
    loads = [
        ResponderLoad(
            user,
            dict(sorted(roles.items())),
            sum(roles.values()),
            outside[user],
        )
        for user, roles in by_role.items()
    ]
    loads.sort(key=lambda load: (-load.hours, load.user_id))
    return loads


def out_of_hours(start: datetime, stop: datetime, zone: ZoneInfo) -> timedelta:
    """The part of [start, stop) outside 08:00-20:00 local time in `zone`."""
    inside = timedelta()
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = stop.astimezone(zone).date()
    while day <= last:
        opens = datetime.combine(day, WORK_STARTS, zone)
        closes = datetime.combine(day, WORK_ENDS, zone)
        overlap = min(stop, closes) - max(start, opens)
        if overlap > timedelta():
            inside += overlap
        day += timedelta(days=1)
    return (stop - start) - inside
