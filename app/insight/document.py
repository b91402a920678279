"""The report as a JSON document: every number, described by docs/insight.schema.json."""

from __future__ import annotations

from typing import Any

from app.export.people import iso
from app.insight.figures import DurationFigure, Insight
from app.insight.stats import MIN_FOR_COMPARISON, MIN_FOR_P90, Comparison, Summary

SCHEMA_VERSION = "1.0"


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "n": summary.n,
        "not_recorded": summary.not_recorded,
        "median_seconds": summary.median,
        "p90_seconds": summary.p90,
        "mean_seconds": summary.mean,
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "previous_n": comparison.previous_n,
        "current_n": comparison.current_n,
        "previous_median_seconds": comparison.previous_median,
        "current_median_seconds": comparison.current_median,
        "change_seconds": comparison.change,
        "interval_95_seconds": (
            None if comparison.low is None else [comparison.low, comparison.high]
        ),
        "verdict": comparison.verdict,
    }


def _duration_json(figure: DurationFigure) -> dict[str, Any]:
    return {
        **summary_json(figure.overall),
        "previous_period": comparison_json(figure.comparison),
        "by_severity": {k: summary_json(v) for k, v in figure.by_severity.items()},
        "by_service": {k: summary_json(v) for k, v in figure.by_service.items()},
    }


def insight_document(insight: Insight) -> dict[str, Any]:
    a = insight.actions
    u = insight.updates
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(insight.generated_at),
        "period": {"since": iso(insight.period.since), "until": iso(insight.period.until)},
        "timezone": insight.timezone,
        "thresholds": {"p90_min_n": MIN_FOR_P90, "comparison_min_n": MIN_FOR_COMPARISON},
        "incidents": {
            "count": insight.incident_count,
            "previous_period_count": insight.previous_count,
            "by_severity": insight.count_by_severity,
            "by_service": insight.count_by_service,
            "open_now": insight.open_now,
            "weekly": [
                {"week_starting": week.isoformat(), "by_severity": counts}
                for week, counts in insight.weekly
            ],
        },
        "durations": {f.name: _duration_json(f) for f in insight.durations},
        "repeats": {
            "services_recorded": insight.services_recorded,
            "incidents": [
                {
                    "service": r.service,
                    "incident": r.reference,
                    "after": r.previous_reference,
                    "days_after_resolved": round(r.days_after_resolved, 2),
                }
                for r in insight.repeats
            ],
        },
        "action_items": {
            "total": a.total,
            "done_on_time": a.done_on_time,
            "done_late": a.done_late,
            "done_without_due_date": a.done_without_due_date,
            "open_overdue": a.open_overdue,
            "open_not_due": a.open_not_due,
            "open_without_due_date": a.open_without_due_date,
            "overdue": [
                {
                    "incident": o.reference,
                    "text": o.text,
                    "owner": o.owner_id,
                    "due_date": o.due_date.isoformat(),
                    "days_overdue": o.days_overdue,
                }
                for o in a.overdue
            ],
        },
        "stakeholder_updates": {
            "counted": u.expected_cadence_updates,
            "on_time": u.on_time,
            "late": u.late,
            "on_time_share": u.on_time_share,
            "reminders_sent": u.reminders_sent,
            "reminders_unanswered": u.reminders_unanswered,
        },
        "responder_load": [
            {
                "user": load.user_id,
                "hours": round(load.hours, 2),
                "out_of_hours": round(load.out_of_hours, 2),
                "hours_by_role": {k: round(v, 2) for k, v in load.hours_by_role.items()},
            }
            for load in insight.load
        ],
    }
