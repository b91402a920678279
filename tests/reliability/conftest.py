"""Every reliability test runs with the announcement channel Firebreak posts to."""

from __future__ import annotations

import pytest

from app.emulator import SlackEmulator


@pytest.fixture
def announce_channel(emulator: SlackEmulator) -> str:
    return emulator.add_channel("incidents", members=[emulator.bot_user_id])


@pytest.fixture
def people(emulator: SlackEmulator) -> dict[str, str]:
    return {name: emulator.user_by_name(name).id for name in ("alice", "bob", "carol")}
