"""Running Firebreak as separate `firebreak serve` processes against one database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from emulator import SlackEmulator
from emulator.driver import HttpDriver, HttpResult, http_request

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    admin_port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            return http_request(f"http://127.0.0.1:{self.admin_port}/healthz").status == 200
        except OSError:
            return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_replica(
    name: str, emulator: SlackEmulator, database_url: str, signing_secret: str, log_dir: Path
) -> Replica:
    port, admin_port = free_port(), free_port()
    separator = "&" if "?" in database_url else "?"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emulator.bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": emulator.api_url,
        # The name shows in pg_stat_activity, so a test can see which replica leads.
        "DATABASE_URL": f"{database_url}{separator}application_name={name}",
        "FIREBREAK_LOG_FORMAT": "json",
        "FIREBREAK_ADMIN_PORT": str(admin_port),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("SLACK_APP_TOKEN", None)
    command = [sys.executable, "-m", "app", "serve", "--http"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with (log_dir / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=log_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Replica(name, port, admin_port, process)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def leader_name(engine: Engine) -> str | None:
    """The application_name of the session holding the scheduler's advisory lock.

    Only this database's locks: other databases on the same server (other test runs)
    hold advisory locks of their own.
    """
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).first()
    return str(row[0]) if row else None


def send_command(
    replica: Replica, emulator: SlackEmulator, secret: str, text_: str, user: str, channel: str
) -> HttpResult:
    driver = HttpDriver(replica.url, secret, emulator)
    return driver.command(text_, user=user, channel=channel, wait=False)
