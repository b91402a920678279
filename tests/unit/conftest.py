"""Real services for listener and error-translator tests: SQLite, and the Slack emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_bolt import Ack

from app.config import Settings
from app.incidents.service import Declaration
from app.incidents.snapshot import IncidentSnapshot
from app.runtime import open_database
from app.services import Services
from app.slack.outbound.gateway import SlackGateway, create_web_client
from emulator import SlackEmulator
from tests.support.story import People, add_announce_channel, seed_people


def new_ack() -> Ack:
    """Bolt's own ack: it keeps the response it was called with, so a test can read it."""
    return Ack()  # type: ignore[no-untyped-call]


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """What listeners share in a running app; Slack effects run on the caller's thread."""
    db = open_database(settings)
    db.migrate()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = create_web_client(token, settings.slack_api_url, timeout=5)
    yield Services(settings=settings, db=db, slack=SlackGateway(client))
    db.dispose()


@pytest.fixture
def people(emulator: SlackEmulator) -> People:
    people = seed_people(emulator)
    add_announce_channel(emulator, people)
    return people


def open_incident(
    services: Services, team_id: str, user: str, title: str, *, private: bool = False
) -> IncidentSnapshot:
    """An incident `user` declared, set up in Slack (channel, card, announcement)."""
    declaration = Declaration(team_id, user, title, "SEV3", private=private)
    declared = services.incidents.declare(declaration)
    assert declared is not None
    return services.provisioner.run(declared.id).incident


@pytest.fixture
def incident(services: Services, emulator: SlackEmulator, people: People) -> IncidentSnapshot:
    """An open public incident Alice declared and commands."""
    return open_incident(services, emulator.team_id, people.alice, "Checkout fails")
