"""Every reliability test runs with the announcement channel Firebreak posts to."""

from __future__ import annotations

import pytest

from emulator import SlackEmulator


@pytest.fixture
def announce_channel(emulator: SlackEmulator) -> str:
    return emulator.add_channel("incidents", members=[emulator.bot_user_id])


@pytest.fixture
def people(emulator: SlackEmulator) -> dict[str, str]:
    return {name: emulator.user_by_name(name).id for name in ("alice", "bob", "carol")}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Every reliability guarantee is proven on both stores."""
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url
