"""Fixtures: a Slack emulator, a database, a running Firebreak and a signed-request driver."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.manifest_check import load_manifest
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from emulator import SlackEmulator
from tests.support.databases import scratch_postgres
from tests.support.driver import SlackDriver

SIGNING_SECRET = "test-signing-secret-0123456789"
LOCAL_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[1]


def granted_scopes() -> frozenset[str]:
    """The bot scopes an install of manifest.yml grants: a call needing more fails."""
    return frozenset(load_manifest()["oauth_config"]["scopes"]["bot"])


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(scopes=granted_scopes()) as emu:
        yield emu


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/firebreak.db"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server to create test databases on.

    FIREBREAK_TEST_POSTGRES_URL if set, else the server on 127.0.0.1:5432, else a private
    server started from the pgserver wheel (so a machine without PostgreSQL still runs
    every test).
    """
    configured = os.environ.get("FIREBREAK_TEST_POSTGRES_URL")
    if configured or _port_open("127.0.0.1", 5432):
        yield configured or LOCAL_POSTGRES_URL
        return
    from pgserver import get_server  # type: ignore[attr-defined]

    cache = ROOT / ".cache"
    cache.mkdir(exist_ok=True)
    server = get_server(cache / "pgdata", cleanup_mode="stop")
    socket_dir = server.get_uri().rsplit("host=", 1)[1]
    yield f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with scratch_postgres(postgres_server, prefix="firebreak_test") as url:
        yield url


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The database integration tests run on; override in a module to use PostgreSQL."""
    return sqlite_url


def make_settings(emulator: SlackEmulator, database_url: str, **overrides: object) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": emulator.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": emulator.api_url,
        "database_url": database_url,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return make_settings(emulator, database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = build_runtime(settings)
    yield built
    built.close()


@pytest.fixture
def server(runtime: Runtime) -> Iterator[HttpServer]:
    http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    http.start()
    yield http
    http.stop()


@pytest.fixture
def admin(runtime: Runtime) -> Iterator[HttpServer]:
    """The health, readiness and metrics listener (FIREBREAK_ADMIN_PORT)."""
    http = HttpServer(runtime.web.admin, host="127.0.0.1", port=0, threads=2, max_body_bytes=1024)
    http.start()
    yield http
    http.stop()


@pytest.fixture
def slack(server: HttpServer, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    return SlackDriver(server.url, SIGNING_SECRET, emulator, runtime)
