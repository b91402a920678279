"""The insight figures on small, hand-checked data sets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.export.loader import ActionFacts, IncidentFacts, RoleSpell, UpdateFacts
from app.incidents.errors import InvalidInput
from app.insight.figures import (
    Insight,
    Period,
    action_figures,
    build_insight,
    out_of_hours,
    repeat_incidents,
    responder_load,
    update_figures,
    weekly_counts,
)
from app.insight.loader import IncidentRecord
from app.insight.slack import period_named
from app.insight.stats import NOT_ENOUGH, compare_medians, percentile, summarize
from app.insight.words import comparison_text, human, skew_note, summary_cells

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
PERIOD = Period(T0, T0 + timedelta(days=28))
NOW = PERIOD.until
CADENCES = {"SEV1": 15, "SEV2": 30, "SEV3": 60, "SEV4": 0}


def incident(
    number: int,
    declared: datetime,
    *,
    severity: str = "SEV2",
    resolve_minutes: float | None = 60,
    mitigate_minutes: float | None = None,
    service: str | None = None,
    **extra: object,
) -> IncidentRecord:
    resolved = None if resolve_minutes is None else declared + timedelta(minutes=resolve_minutes)
    mitigated = None if mitigate_minutes is None else declared + timedelta(minutes=mitigate_minutes)
    facts = IncidentFacts(
        reference=f"INC-{number}",
        number=number,
        title="t",
        summary="",
        severity=severity,
        highest_severity=severity,
        status="resolved" if resolved else "investigating",
        is_private=False,
        declared_by="UA",
        declared_at=declared,
        mitigated_at=mitigated,
        resolved_at=resolved,
        closed_at=None,
        channel_id=None,
        channel_name=None,
    )
    return IncidentRecord(facts=facts, service=service, **extra)  # type: ignore[arg-type]


def insight_of(records: list[IncidentRecord]) -> Insight:
    return build_insight(
        records, PERIOD, now=NOW, severities=["SEV1", "SEV2", "SEV3", "SEV4"], cadences=CADENCES
    )


# --- statistics --------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == pytest.approx(91)
    assert percentile([7], 90) == 7


def test_skewed_durations_mean_far_above_median() -> None:
    # Nine incidents of 10 minutes and one of 2 days: the mean says 5 hours, the median 10m.
    minutes = [10.0] * 9 + [2 * 24 * 60.0]
    summary = summarize([m * 60 for m in minutes])

    assert summary.median == 600
    assert summary.mean == pytest.approx((9 * 10 + 2880) * 60 / 10)
    assert summary.p90 == pytest.approx(600 + (172800 - 600) * 0.1)
    assert human(summary.median) == "10m"
    assert human(summary.mean) == "4h 57m"
    assert skew_note(summary) == "mean 29.7x the median"


def test_one_outlier_moves_the_mean_not_the_median() -> None:
    base = [600.0, 900.0, 1200.0, 1500.0, 1800.0]
    with_outlier = [*base[:-1], 1800.0 * 100]

    assert summarize(base).median == summarize(with_outlier).median == 1200
    assert summarize(with_outlier).mean > 10 * summarize(base).mean  # type: ignore[operator]


def test_small_sample_withholds_the_90th_percentile() -> None:
    summary = summarize([60.0, 120.0, 180.0], not_recorded=2)

    assert summary.p90 is None
    assert summary_cells(summary) == ["3", "2m", "(n<10)", "2m", "2"]


def test_no_measurement_says_not_measured() -> None:
    summary = summarize([], not_recorded=4)

    assert summary.median is None and summary.mean is None
    assert summary_cells(summary)[1] == "not measured"


def test_small_samples_cannot_tell_an_improvement() -> None:
    comparison = compare_medians([3600.0, 4000.0, 5000.0], [600.0, 700.0, 800.0])

    assert comparison.verdict == NOT_ENOUGH
    assert comparison.low is None
    assert comparison_text(comparison).startswith("not enough incidents to tell (n=3 before")


def test_overlapping_samples_cannot_tell_either() -> None:
    before = [600.0, 3600.0, 1200.0, 7200.0, 900.0, 5400.0]
    after = [700.0, 3000.0, 1500.0, 6000.0, 1000.0, 4800.0]

    comparison = compare_medians(before, after)

    assert comparison.verdict == NOT_ENOUGH
    assert comparison.low is not None and comparison.high is not None
    assert comparison.low < 0 < comparison.high


def test_a_clear_improvement_is_called_faster_with_its_interval() -> None:
    before = [3600.0 + 60 * i for i in range(20)]
    after = [600.0 + 60 * i for i in range(20)]

    comparison = compare_medians(before, after)

    assert comparison.verdict == "faster"
    assert comparison.change == pytest.approx(-3000)
    assert comparison.high is not None and comparison.high < 0
    assert compare_medians(after, before).verdict == "slower"


# --- incidents ---------------------------------------------------------------------------


def test_weekly_counts_include_empty_weeks_by_highest_severity() -> None:
    records = [
        incident(1, T0 + timedelta(hours=1), severity="SEV1"),
        incident(2, T0 + timedelta(days=2), severity="SEV3"),
        incident(3, T0 + timedelta(days=15), severity="SEV3"),
    ]
    weeks = weekly_counts(records, PERIOD, ["SEV1", "SEV2", "SEV3"])

    assert [w.isoformat() for w, _ in weeks] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",  # the period ends Monday 30 March at 09:00
    ]
    assert weeks[0][1] == {"SEV1": 1, "SEV2": 0, "SEV3": 1}
    assert weeks[1][1] == {"SEV1": 0, "SEV2": 0, "SEV3": 0}
    assert weeks[2][1]["SEV3"] == 1


def test_missing_times_are_not_recorded_never_guessed() -> None:
    detected = T0 + timedelta(hours=1)
    records = [
        incident(1, T0 + timedelta(hours=1, minutes=5), detected_at=detected),
        incident(
            2,
            T0 + timedelta(days=1),
            detected_at=T0 + timedelta(days=1) - timedelta(minutes=10),
            acknowledged_at=T0 + timedelta(days=1) - timedelta(minutes=6),
            impact_started_at=T0 + timedelta(days=1) - timedelta(minutes=30),
        ),
        incident(3, T0 + timedelta(days=2), resolve_minutes=None),
    ]
    insight = insight_of(records)
    figures = {f.name: f.overall for f in insight.durations}

    assert (figures["detect"].n, figures["detect"].not_recorded) == (1, 2)
    assert figures["detect"].median == 20 * 60
    assert (figures["acknowledge"].n, figures["acknowledge"].not_recorded) == (1, 2)
    assert figures["acknowledge"].median == 4 * 60
    assert (figures["resolve"].n, figures["resolve"].not_recorded) == (2, 1)
    assert (figures["mitigate"].n, figures["mitigate"].not_recorded) == (0, 3)
    assert insight.open_now == ["INC-3"]


def test_time_to_detect_without_an_alert_ends_at_the_declaration() -> None:
    record = incident(1, T0, impact_started_at=T0 - timedelta(minutes=45))
    insight = insight_of([record])
    detect = next(f for f in insight.durations if f.name == "detect")

    assert detect.overall.median == 45 * 60


def test_repeat_needs_the_same_service_within_30_days_of_resolution() -> None:
    earlier = incident(1, T0 - timedelta(days=20), service="search", resolve_minutes=60)
    repeat = incident(2, T0 + timedelta(days=5), service="search")
    other = incident(3, T0 + timedelta(days=6), service="auth")
    late = incident(4, T0 + timedelta(days=27), service="auth", resolve_minutes=30)
    unknown = incident(5, T0 + timedelta(days=7))

    repeats = repeat_incidents([earlier, repeat, other, late, unknown], PERIOD)

    assert [(r.service, r.reference, r.previous_reference) for r in repeats] == [
        ("auth", "INC-4", "INC-3"),
        ("search", "INC-2", "INC-1"),
    ]
    assert repeats[1].days_after_resolved == pytest.approx(25 - 1 / 24)
    far = incident(6, T0 - timedelta(days=40), service="cdn")
    assert repeat_incidents([far, incident(7, T0 + timedelta(days=1), service="cdn")], PERIOD) == []


def test_action_items_on_time_late_and_overdue_with_owner() -> None:
    def item(due: date | None, done: datetime | None, owner: str = "UO") -> ActionFacts:
        return ActionFacts(
            1, "fix it", owner, due, "done" if done else "open", "UA", T0, None, done
        )

    record = incident(
        1,
        T0,
        actions=[
            item(date(2026, 3, 10), datetime(2026, 3, 10, 23, 0, tzinfo=UTC)),
            item(date(2026, 3, 10), datetime(2026, 3, 11, 1, 0, tzinfo=UTC)),
            item(date(2026, 3, 20), None, owner="UBOB"),
            item(date(2026, 4, 20), None),
            item(None, None),
        ],
    )
    figures = action_figures([record], NOW)

    assert (figures.done_on_time, figures.done_late, figures.open_overdue) == (1, 1, 1)
    assert (figures.open_not_due, figures.open_without_due_date, figures.total) == (1, 1, 5)
    [overdue] = figures.overdue
    assert (overdue.owner_id, overdue.days_overdue, overdue.reference) == ("UBOB", 10, "INC-1")


def test_update_cadence_and_unanswered_reminders() -> None:
    def update(minutes: int, severity: str = "SEV2") -> UpdateFacts:
        return UpdateFacts(
            T0 + timedelta(minutes=minutes), "UC", "investigating", severity, "", "", 30
        )

    record = incident(
        1,
        T0,
        resolve_minutes=200,
        updates=[update(20), update(50), update(95), update(110, "SEV4")],
        reminders=[T0 + timedelta(minutes=80), T0 + timedelta(minutes=150)],
    )
    figures = update_figures([record], CADENCES, NOW)

    # 20 and 30 minutes after the previous: on time; 45 minutes: late; SEV4 has no cadence.
    assert (figures.expected_cadence_updates, figures.on_time, figures.late) == (3, 2, 1)
    assert figures.on_time_share == pytest.approx(2 / 3)
    # The reminder at 80m got the update at 95m; the one at 150m got nothing before resolution.
    assert (figures.reminders_sent, figures.reminders_unanswered) == (2, 1)


def test_responder_load_counts_hours_outside_working_time() -> None:
    evening = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
    record = incident(
        1,
        evening,
        resolve_minutes=5 * 60,
        roles=[
            RoleSpell("commander", "UA", evening, None),
            RoleSpell("comms", "UB", evening, evening + timedelta(hours=1)),
        ],
    )
    [a, b] = responder_load([record], PERIOD, NOW, ZoneInfo("UTC"))

    assert (a.user_id, a.hours, a.out_of_hours) == ("UA", 5, 3)
    assert (b.user_id, b.hours, b.out_of_hours, b.hours_by_role) == ("UB", 1, 0, {"comms": 1})


def test_out_of_hours_follows_the_configured_time_zone() -> None:
    start = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)  # 19:00 in Paris, winter time
    stop = start + timedelta(hours=3)

    assert out_of_hours(start, stop, ZoneInfo("UTC")) == timedelta(hours=1)
    assert out_of_hours(start, stop, ZoneInfo("Europe/Paris")) == timedelta(hours=2)
    overnight = out_of_hours(start, start + timedelta(hours=24), ZoneInfo("UTC"))
    assert overnight == timedelta(hours=12)


def test_stats_spans_are_30_days_90_days_or_the_quarter_so_far() -> None:
    now = datetime(2026, 5, 17, 12, 0, tzinfo=UTC)

    assert period_named("", now) == ("the last 30 days", Period(now - timedelta(days=30), now))
    assert period_named("90D", now)[1].since == now - timedelta(days=90)
    assert period_named("quarter", now) == (
        "this quarter",
        Period(datetime(2026, 4, 1, tzinfo=UTC), now),
    )
    with pytest.raises(InvalidInput, match="I don't know the span `week`"):
        period_named("week", now)
