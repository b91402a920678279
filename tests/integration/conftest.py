"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from emulator import SlackEmulator
from tests.support.story import People, add_announce_channel, seed_people


@pytest.fixture
def people(emulator: SlackEmulator) -> People:
    """The seeded people, with the announcement channel in place."""
    people = seed_people(emulator)
    add_announce_channel(emulator, people)
    return people
