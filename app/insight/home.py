"""The App Home's insight: the last 30 days' headline numbers and the person's overdue items.

The same figures and words as `/incident stats`, over the incidents the person may see.
Two reads: the incidents of the last 30 days (with their events and roles), and the
person's own open action items past their due date, from any incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import col

from app.insight.figures import OverdueAction, Period
from app.insight.slack import requester_numbers
from app.insight.words import LABELS, NOT_MEASURED, human
from app.services import Services
from app.store.database import Database
from app.store.models import ActionItem, Incident

HOME_DAYS = 30
HOME_FIGURES = ("mitigate", "resolve")


@dataclass(frozen=True)
class HomeInsight:
    lines: list[str]
    overdue: list[OverdueAction]


def home_insight(services: Services, team_id: str, user_id: str) -> HomeInsight:
    now = services.clock()
    period = Period(now - timedelta(days=HOME_DAYS), now)
    insight = requester_numbers(services, team_id, user_id, period)
    lines = [f"*{insight.incident_count}* incidents, {len(insight.open_now)} still open"]
    for figure in insight.durations:
        if figure.name not in HOME_FIGURES:
            continue
        s = figure.overall
        value = f"median *{human(s.median)}* (n={s.n})" if s.n else NOT_MEASURED
        lines.append(f"{LABELS[figure.name]}: {value}, {s.not_recorded} not recorded")
    overdue = own_overdue(services.db, team_id, user_id, now.date())
    return HomeInsight(lines, overdue)


def own_overdue(db: Database, team_id: str, user_id: str, today: date) -> list[OverdueAction]:
    """Open action items owned by `user_id` whose due date has passed, most overdue first."""
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(col(Incident.number), col(ActionItem.text), col(ActionItem.due_date))
            .join(Incident, col(Incident.id) == col(ActionItem.incident_id))
            .where(
                col(Incident.team_id) == team_id,
                col(ActionItem.owner_id) == user_id,
                col(ActionItem.state) == "open",
                col(ActionItem.due_date) < today,
            )
            .order_by(col(ActionItem.due_date), col(ActionItem.id))
            .limit(20)
        ).all()
    return [
        OverdueAction(f"INC-{number}", text, user_id, due, (today - due).days)
        for number, text, due in rows
        if due is not None
    ]
