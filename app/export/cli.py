"""`firebreak export INC-<n>`: the operator's export, to stdout or a file."""

from __future__ import annotations

import re
import sys
from contextlib import ExitStack
from typing import TextIO

from sqlalchemy import select
from sqlmodel import col

from app.config import Settings
from app.export.delivery import slack_people, write_export
from app.export.people import People, ids_only
from app.incidents import repository as repo
from app.slack.outbound.gateway import SlackGateway, create_web_client
from app.store.database import Database
from app.store.models import Incident

_REFERENCE = re.compile(r"(?:INC-)?(\d+)", re.IGNORECASE)


def run_export(
    settings: Settings, reference: str, fmt: str, output: str | None, team: str | None
) -> int:
    match = _REFERENCE.fullmatch(reference.strip())
    if match is None:
        print(f"firebreak: {reference!r} is not an incident reference like INC-42", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        incident_id = _find(db, int(match.group(1)), team)
        if isinstance(incident_id, str):
            print(f"firebreak: {incident_id}", file=sys.stderr)
            return 1
        with ExitStack() as stack:
            out: TextIO = sys.stdout
            if output:
                out = stack.enter_context(open(output, "w", encoding="utf-8"))
            write_export(db, incident_id, fmt, out, _people(settings))
    finally:
        db.dispose()
    if output:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _find(db: Database, number: int, team: str | None) -> int | str:
    """The incident's id, or what is wrong."""
    with db.session() as session:
        if team is None:
            teams = session.execute(select(col(Incident.team_id)).distinct()).scalars().all()
            if len(teams) > 1:
                return f"several workspaces ({', '.join(sorted(teams))}): pass --team"
            if not teams:
                return "no incidents recorded yet"
            team = teams[0]
        incident = repo.incident_by_number(session, team, number)
        if incident is None or incident.id is None:
            return f"INC-{number} does not exist in {team}"
        return incident.id


def _people(settings: Settings) -> People:
    """Names from Slack when a token is configured; user ids otherwise."""
    if settings.slack_bot_token is None:
        return ids_only
    client = create_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    return slack_people(SlackGateway(client))
