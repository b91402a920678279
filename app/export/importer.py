"""`firebreak import`: incidents from the JSON export format, as history.

An incident is keyed by its workspace and number, so a file imported twice changes
nothing: an incident already imported with the same content is left alone, one that
differs (or one declared here) refuses the import. Every file is checked before anything
is written, and everything is written in one transaction: a bad file writes nothing.
Imported incidents are marked `imported_at`; no reminder, Slack effect or job is made
for them. Names in the file are not kept: Firebreak stores user ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col

from app.export.json import write_json
from app.export.loader import open_export
from app.export.people import ids_only, iso
from app.export.schema import first_problem
from app.store.database import Database
from app.store.models import ActionItem, Incident, RoleAssignment, StakeholderUpdate, TimelineEvent
from app.store.numbers import reserve_incident_numbers
from app.store.types import utcnow

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_USER_FIELDS = ("user", "posted_by", "owner", "created_by", "done_by", "actor", "curated_by")
_DERIVED = ("time_to_mitigate_seconds", "time_to_resolve_seconds")
_DERIVED_DETECTION = ("time_to_acknowledge_seconds", "time_to_declare_seconds")


class ImportRefused(Exception):
    """A file that cannot be imported, with the JSON path of the first problem."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}")
        self.file, self.path, self.problem = file, path, problem


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Document:
    file: str
    content: dict[str, Any]

    @property
    def number(self) -> int:
        return int(self.content["incident"]["number"])

    def refused(self, path: str, problem: str) -> ImportRefused:
        return ImportRefused(self.file, path, problem)


def import_files(
    db: Database, team_id: str, files: Sequence[Path], clock: Callable[[], datetime] = utcnow
) -> ImportReport:
    """Import every file or none; raises ImportRefused naming the first problem."""
    documents = _distinct([read_document(path) for path in files])
    report = ImportReport()
    new = []
    for document in documents:
        if _already_imported(db, team_id, document):
            report.unchanged.append(f"INC-{document.number}")
        else:
            new.append(document)
    try:
        with db.session() as session:
            now = clock()
            for document in new:
                _write(session, team_id, document, now)
                report.imported.append(f"INC-{document.number}")
            if new:
                reserve_incident_numbers(session, team_id, max(d.number for d in new))
                _advance_sequence(session)
    except (IntegrityError, DataError) as error:
        reason = str(error.orig).strip().splitlines()[0]
        names = ", ".join(d.file for d in new)
        raise ImportRefused(names, "$", f"the database refused it ({reason})") from None
    return report


def read_document(path: Path) -> _Document:
    name = str(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ImportRefused(name, "$", f"cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportRefused(name, "$", f"not JSON ({error})") from None
    problem = first_problem(content)
    if problem is not None:
        raise ImportRefused(name, *problem)
    document = _Document(name, content)
    _check_meaning(document)
    return document


def _check_meaning(document: _Document) -> None:
    """What the schema cannot say: times that exist, a reference matching the number."""
    incident = document.content["incident"]
    if incident["reference"] != f"INC-{incident['number']}":
        raise document.refused("$.incident.reference", f"must be INC-{incident['number']}")
    _walk_times(document, document.content, "$")
    for key in ("detected_at", "acknowledged_at"):
        if incident.get(key) is not None:
            _time(document, incident[key], f"$.incident.{key}")
    current: dict[str, int] = {}
    for index, spell in enumerate(document.content["roles"]):
        if spell["until"] is None and current.setdefault(spell["role"], index) != index:
            raise document.refused(
                f"$.roles[{index}].until", f"{spell['role']} already has a current holder"
            )
    for index, item in enumerate(document.content["action_items"]):
        if item["due_date"] is not None:
            try:
                date.fromisoformat(item["due_date"])
            except ValueError:
                raise document.refused(
                    f"$.action_items[{index}].due_date", "is not a date"
                ) from None


def _walk_times(document: _Document, value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "data":
                _walk_times(document, item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_times(document, item, f"{path}[{index}]")
    elif isinstance(value, str) and _TIME.match(value):
        _time(document, value, path)


def _time(document: _Document, value: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise document.refused(path, f"{value!r} is not a time") from None
    if moment.tzinfo is None:
        raise document.refused(path, f"{value!r} has no time zone (use Z)")
    return moment.astimezone(UTC)


def _distinct(documents: list[_Document]) -> list[_Document]:
    """One document per incident number; the same incident twice must say the same."""
    seen: dict[int, _Document] = {}
    for document in documents:
        earlier = seen.setdefault(document.number, document)
        if earlier is not document and canonical(earlier.content) != canonical(document.content):
            raise document.refused(
                "$.incident.number", f"INC-{document.number} is also in {earlier.file}, differently"
            )
    return list(seen.values())


def _already_imported(db: Database, team_id: str, document: _Document) -> bool:
    with db.session() as session:
        found = session.execute(
            select(col(Incident.id), col(Incident.imported_at)).where(
                col(Incident.team_id) == team_id, col(Incident.number) == document.number
            )
        ).one_or_none()
    if found is None:
        return False
    incident_id, imported_at = found
    if imported_at is None:
        raise document.refused(
            "$.incident.number", f"INC-{document.number} was declared in {team_id}, not imported"
        )
    if canonical(_export(db, incident_id)) != canonical(document.content):
        raise document.refused(
            "$.incident.number",
            f"INC-{document.number} was imported before with different content",
        )
    return True


def _export(db: Database, incident_id: int) -> dict[str, Any]:
    out = StringIO()
    with open_export(db, incident_id) as data:
        write_json(data, out, ids_only)
    loaded: dict[str, Any] = json.loads(out.getvalue())
    return loaded


def canonical(document: Any) -> Any:
    """A document as stored: users by id, times in one spelling, absent = null, derived
    durations and action item ids (which an import may renumber) left out."""
    if isinstance(document, dict):
        result = {}
        for key, value in document.items():
            if key in _USER_FIELDS and isinstance(value, dict):
                value = value.get("id")
            if value is None or key in _DERIVED or key in _DERIVED_DETECTION:
                continue
            if key == "id" and "state" in document:
                continue
            result[key] = value if key == "data" else canonical(value)
        return result
    if isinstance(document, list):
        return [canonical(item) for item in document]
    if isinstance(document, str) and _TIME.match(document):
        return iso(datetime.fromisoformat(document).astimezone(UTC))
    return document


def _write(session: Session, team_id: str, document: _Document, now: datetime) -> None:
    content = document.content
    facts = content["incident"]

    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(UTC)

    def must(value: str) -> datetime:
        return datetime.fromisoformat(value).astimezone(UTC)

    channel = facts["channel"]
    if (
        channel["id"] is not None
        and session.execute(
            select(col(Incident.id)).where(col(Incident.channel_id) == channel["id"])
        ).first()
    ):
        raise document.refused("$.incident.channel.id", f"{channel['id']} is another incident's")
    incident = Incident(
        team_id=team_id,
        number=facts["number"],
        title=facts["title"],
        summary=facts["summary"],
        severity=facts["severity"],
        highest_severity=facts["highest_severity"],
        status=facts["status"],
        is_private=facts["private"],
        declared_by=facts["declared_by"],
        declared_at=must(facts["declared_at"]),
        mitigated_at=when(facts["mitigated_at"]),
        resolved_at=when(facts["resolved_at"]),
        closed_at=when(facts["closed_at"]),
        updated_at=now,
        channel_id=channel["id"],
        channel_name=channel["name"],
        setup_complete=True,
        detected_at=when(facts.get("detected_at")),
        acknowledged_at=when(facts.get("acknowledged_at")),
        imported_at=now,
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    incident_id = incident.id
    session.add_all(
        RoleAssignment(
            incident_id=incident_id,
            role=spell["role"],
            user_id=spell["user"]["id"],
            assigned_by=spell["user"]["id"],
            assigned_at=must(spell["from"]),
            relieved_at=when(spell["until"]),
        )
        for spell in content["roles"]
    )
    session.add_all(
        StakeholderUpdate(
            incident_id=incident_id,
            status=update["status"],
            severity=update["severity"],
            what_we_know=update["what_we_know"],
            what_we_are_doing=update["what_we_are_doing"],
            next_update_minutes=update["next_update_minutes"],
            posted_by=update["posted_by"]["id"],
            posted_at=must(update["posted_at"]),
        )
        for update in content["stakeholder_updates"]
    )
    for item in content["action_items"]:
        # The same id when it is free (an import into an empty database), a new one if not.
        free = session.get(ActionItem, item["id"]) is None
        session.add(
            ActionItem(
                id=item["id"] if free and item["id"] > 0 else None,
                incident_id=incident_id,
                text=item["text"],
                owner_id=_id(item["owner"]),
                due_date=date.fromisoformat(item["due_date"]) if item["due_date"] else None,
                state=item["state"],
                created_by=item["created_by"]["id"],
                created_at=must(item["created_at"]),
                done_by=_id(item["done_by"]),
                done_at=when(item["done_at"]),
                jira_issue_key=item["jira_issue"],
            )
        )
        session.flush()
    session.add_all(
        TimelineEvent(
            incident_id=incident_id,
            occurred_at=must(event["occurred_at"]),
            recorded_at=now,
            kind=event["kind"],
            source=event["source"],
            actor_id=_id(event["actor"]),
            text=event["text"],
            original_text=event["original_text"],
            data=event["data"],
            message_ts=event["message_ts"],
            permalink=event["permalink"],
            edited_at=when(event["edited_at"]),
            removed_at=when(event["removed_at"]),
            curated_text=event.get("curated_text"),
            curated_by=_id(event.get("curated_by")),
            curated_at=when(event.get("curated_at")),
            struck_at=when(event.get("struck_at")),
        )
        for event in content["timeline"]
    )
    session.flush()


def _id(user: dict[str, str] | None) -> str | None:
    return None if user is None else user["id"]


def _advance_sequence(session: Session) -> None:
    """Action items imported with their ids: PostgreSQL's sequence must move past them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('action_item', 'id'), "
                "GREATEST((SELECT max(id) FROM action_item), 1))"
            )
        )


def default_team(db: Database) -> str | None:
    """The only workspace the database knows, if there is exactly one."""
    from app.store.models import IncidentCounter

    with db.session() as session:
        teams = session.execute(select(col(IncidentCounter.team_id))).scalars().all()
    return teams[0] if len(teams) == 1 else None
