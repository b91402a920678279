"""The cadence rules: when the next stakeholder update is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.config import Settings
from app.incidents.ports import ReminderKind
from app.incidents.reminders import (
    cadence_minutes,
    due_after_reminder,
    due_after_severity_change,
    due_after_status_change,
    due_after_update,
    postmortem_nudge_at,
    reminder_kind,
    reminder_recipient,
    snoozed_until,
)
from app.incidents.rules import Status

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


@pytest.mark.parametrize(
    ("severity", "expected"), [("SEV1", 15), ("sev2", 30), ("SEV3", 60), ("SEV4", 0), ("X", 0)]
)
def test_default_cadence_per_severity(severity: str, expected: int) -> None:
    assert cadence_minutes(Settings(_env_file=None), severity) == expected


def test_configured_cadence_wins() -> None:
    settings = Settings(
        _env_file=None, severities=[{"name": "P1", "description": "Page", "update_minutes": 5}]
    )
    assert cadence_minutes(settings, "p1") == 5


def test_an_update_restarts_the_clock_from_when_it_was_posted() -> None:
    assert due_after_update(T0, 30) == T0 + minutes(30)
    assert due_after_update(T0, 0) is None


def test_a_repeat_counts_from_the_send_so_missed_periods_collapse() -> None:
    sent_late = T0 + timedelta(hours=5)
    assert due_after_reminder(sent_late, 60) == sent_late + minutes(60)
    assert due_after_reminder(sent_late, 0) is None


def test_severity_change_counts_from_the_last_update() -> None:
    assert due_after_severity_change(T0, 15, T0 + minutes(5)) == T0 + minutes(15)
    assert due_after_severity_change(T0, 15, T0 + minutes(40)) == T0 + minutes(40)
    assert due_after_severity_change(T0, 0, T0) is None


def test_snooze_and_nudge() -> None:
    assert snoozed_until(T0, 10) == T0 + minutes(10)
    assert postmortem_nudge_at(T0, 2) == T0 + timedelta(days=2)
    assert postmortem_nudge_at(T0, 0) is None


@pytest.mark.parametrize(
    ("status", "was_open", "expected"),
    [
        (Status.RESOLVED, True, T0 + timedelta(days=2)),
        (Status.CLOSED, False, None),
        (Status.CLOSED, True, None),
        (Status.INVESTIGATING, False, T0 + minutes(60)),
        (Status.MONITORING, True, T0 + minutes(7)),
    ],
)
def test_status_changes(status: Status, was_open: bool, expected: datetime | None) -> None:
    due = due_after_status_change(
        status, now=T0, cadence=60, nudge_days=2, was_open=was_open, current_due=T0 + minutes(7)
    )
    assert due == expected


def test_who_is_reminded() -> None:
    both = {"commander": "UCMD", "comms": "UCOM"}
    assert reminder_recipient(both, ReminderKind.UPDATE) == "UCOM"
    assert reminder_recipient({"commander": "UCMD"}, ReminderKind.UPDATE) == "UCMD"
    assert reminder_recipient(both, ReminderKind.POSTMORTEM) == "UCMD"
    assert reminder_recipient({}, ReminderKind.UPDATE) is None


def test_kind_follows_status() -> None:
    assert reminder_kind(Status.IDENTIFIED) is ReminderKind.UPDATE
    assert reminder_kind(Status.RESOLVED) is ReminderKind.POSTMORTEM
    assert reminder_kind(Status.CLOSED) is None
