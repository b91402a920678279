"""A scripted incident with fixed times, written straight to the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.incidents import repository as repo
from app.incidents.rules import Source
from app.store.database import Database
from app.store.models import ActionItem, Incident, StakeholderUpdate

T0 = datetime(2026, 3, 14, 9, 26, 0, tzinfo=UTC)
TEAM = "T0SCRIPTED"
NAMES = {"UALICE": "Alice Adams", "UBOB": "Bob Brown", "UCAROL": "Carol Chen"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def scripted_incident(db: Database) -> int:
    """INC-7: declared, escalated, pinned, noted, mitigated, resolved; returns its id."""
    with db.session() as session:
        incident = Incident(
            team_id=TEAM,
            number=7,
            title="Checkout fails for EU users",
            summary="Card payments from EU customers failed with a 502 | gateway timeout.",
            severity="SEV2",
            highest_severity="SEV1",
            status="resolved",
            declared_by="UALICE",
            declared_at=T0,
            mitigated_at=at(34),
            resolved_at=at(71),
            updated_at=at(71),
            channel_id="CINC7",
            channel_name="inc-7-checkout-fails-for-eu-users",
            setup_complete=True,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        iid = incident.id
        repo.assign_role(session, iid, "commander", "UALICE", "UALICE", T0)
        repo.assign_role(session, iid, "comms", "UBOB", "UALICE", at(3))
        session.flush()
        repo.assign_role(session, iid, "comms", "UCAROL", "UALICE", at(40))
        events = [
            (0, "declared", "modal", "UALICE", "Checkout fails for EU users", {}),
            (0, "role_assigned", "modal", "UALICE", "<@UALICE> is commander", {}),
            (3, "role_assigned", "button", "UALICE", "<@UALICE> made <@UBOB> comms", {}),
            (
                9,
                "severity_changed",
                "button",
                "UALICE",
                "<@UALICE> raised severity from SEV2 to SEV1",
                {"from": "SEV2", "to": "SEV1"},
            ),
            (17, "note", "command", "UBOB", "Rolled back payments-api to v812", {}),
            (
                34,
                "status_changed",
                "command",
                "UALICE",
                "<@UALICE> moved status from Investigating to Monitoring",
                {},
            ),
            (
                40,
                "role_assigned",
                "button",
                "UALICE",
                "<@UALICE> handed comms from <@UBOB> to <@UCAROL>",
                {},
            ),
            (
                52,
                "severity_changed",
                "button",
                "UALICE",
                "<@UALICE> lowered severity from SEV1 to SEV2",
                {"from": "SEV1", "to": "SEV2"},
            ),
            (
                71,
                "status_changed",
                "button",
                "UALICE",
                "<@UALICE> moved status from Monitoring to Resolved",
                {},
            ),
        ]
        for minutes, kind, source, actor, text, data in events:
            repo.record_event(
                session,
                iid,
                kind,
                source=Source(source),
                actor_id=actor,
                text=text,
                occurred_at=at(minutes),
                data=data,
            )
        pinned = repo.record_event(
            session,
            iid,
            "message_pinned",
            source=Source.PIN,
            actor_id="UBOB",
            text="502s from the EU gateway since 09:20 & rising",
            occurred_at=at(6),
            message_ts=f"{int(at(6).timestamp())}.000100",
            permalink="https://example.slack.com/archives/CINC7/p1773480360000100",
            data={"marked_by": "UALICE"},
        )
        pinned.original_text = "502s from the EU gateway"
        pinned.edited_at = at(8)
        unpinned = repo.record_event(
            session,
            iid,
            "message_pinned",
            source=Source.PIN,
            actor_id="UCAROL",
            text="Maybe DNS?",
            occurred_at=at(12),
            message_ts=f"{int(at(12).timestamp())}.000200",
            data={"marked_by": "UCAROL"},
        )
        unpinned.removed_at = at(14)
        session.add(
            StakeholderUpdate(
                incident_id=iid,
                status="investigating",
                severity="SEV1",
                what_we_know="EU card payments fail.",
                what_we_are_doing="Rolling back.",
                next_update_minutes=30,
                posted_by="UBOB",
                posted_at=at(15),
            )
        )
        session.add(
            StakeholderUpdate(
                incident_id=iid,
                status="resolved",
                severity="SEV2",
                what_we_know="Payments recovered after the rollback.",
                what_we_are_doing="Watching error rates; postmortem to follow.",
                posted_by="UCAROL",
                posted_at=at(72),
            )
        )
        first = ActionItem(
            incident_id=iid,
            text="Alert on EU gateway 5xx rate",
            owner_id="UBOB",
            due_date=date(2026, 3, 28),
            created_by="UALICE",
            created_at=at(60),
        )
        second = ActionItem(
            incident_id=iid,
            text="Canary payments-api deploys per region",
            owner_id=None,
            due_date=None,
            state="done",
            created_by="UALICE",
            created_at=at(61),
            done_by="UCAROL",
            done_at=at(70),
        )
        session.add_all([first, second])
        session.flush()
        repo.record_event(
            session,
            iid,
            "action_item_added",
            source=Source.COMMAND,
            actor_id="UALICE",
            text=first.text,
            occurred_at=at(60),
            data={"action_item_id": first.id, "owner": "UBOB", "due_date": "2026-03-28"},
        )
        return iid
