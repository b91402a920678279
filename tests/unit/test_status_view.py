"""The status page's pure rules: impact, what text the public sees, the board's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.statuspage.read import IncidentRow, Published, UpdateRow
from app.statuspage.view import Impact, board_json, build_board, impact_of, public_text

NAMES = ["SEV1", "SEV2", "SEV3", "SEV4"]
T0 = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


def _incident(
    number: int, severity: str, status: str = "investigating", **extra: object
) -> IncidentRow:
    values: dict[str, object] = {
        "id": number,
        "number": number,
        "title": f"Incident {number}",
        "severity": severity,
        "status": status,
        "declared_at": T0 + timedelta(minutes=number),
        "resolved_at": T0 + timedelta(hours=1) if status == "resolved" else None,
        **extra,
    }
    return IncidentRow(**values)  # type: ignore[arg-type]


def _update(incident_id: int, minutes: int, status: str = "investigating") -> UpdateRow:
    return UpdateRow(
        id=incident_id * 100 + minutes,
        incident_id=incident_id,
        posted_at=T0 + timedelta(minutes=minutes),
        status=status,
        what_we_know=f"known at {minutes}",
        what_we_are_doing="",
        next_update_minutes=30,
    )


def test_impact_follows_severity_and_mitigation() -> None:
    assert impact_of("SEV1", "investigating", NAMES) is Impact.MAJOR_OUTAGE
    assert impact_of("sev2", "identified", NAMES) is Impact.PARTIAL_OUTAGE
    assert impact_of("SEV3", "investigating", NAMES) is Impact.DEGRADED
    assert impact_of("SEV4", "investigating", NAMES) is Impact.DEGRADED
    assert impact_of("SEV1", "monitoring", NAMES) is Impact.DEGRADED
    assert impact_of("SEV1", "resolved", NAMES) is Impact.OPERATIONAL


def test_slack_markup_becomes_neutral_words() -> None:
    assert public_text("<@U123> restarted it") == "a responder restarted it"
    assert public_text("see <#C42|inc-1-db>") == "see an internal channel"
    assert public_text("<!here> rollback done") == "rollback done"
    assert public_text("<https://example.com|the docs>") == "the docs"
    assert public_text("a < b and c > d") == "a < b and c > d"


def test_the_board_puts_the_worst_first_and_promises_only_the_latest_next_update() -> None:
    published = Published(
        incidents=(
            _incident(1, "SEV3"),
            _incident(2, "SEV1"),
            _incident(3, "SEV2", "resolved"),
        ),
        updates=(_update(2, 20), _update(2, 10), _update(1, 5), _update(3, 50, "resolved")),
    )

    board = build_board("Acme", published, NAMES, 14)

    assert [i.reference for i in board.open] == ["INC-2", "INC-1"]
    assert board.overall is Impact.MAJOR_OUTAGE
    assert [(s.name, s.impact) for s in board.services] == [("All systems", Impact.MAJOR_OUTAGE)]
    latest, older = board.open[0].updates
    assert latest.what_we_know == "known at 20" and latest.next_update_at is not None
    assert older.next_update_at is not None  # history keeps what was promised then
    [resolved] = board.resolved
    assert resolved.latest is not None and resolved.latest.next_update_at is None
    assert [u.id for _, u in board.updates] == [350, 220, 210, 105]
    assert board_json(board)["updated_at"] == "2026-12-04T14:50:00Z"


def test_with_a_catalog_an_incident_without_a_service_counts_everywhere() -> None:
    published = Published(
        incidents=(_incident(1, "SEV1", service="payments"), _incident(2, "SEV3")),
        updates=(),
    )
    board = build_board("Acme", published, NAMES, 14, catalog=["payments", "search"])
    assert [(s.name, s.impact) for s in board.services] == [
        ("payments", Impact.MAJOR_OUTAGE),
        ("search", Impact.DEGRADED),
    ]
