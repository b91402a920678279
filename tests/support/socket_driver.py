"""Drives Firebreak over Socket Mode: what Slack sends, as envelopes on the app's WebSocket.

`SocketModeDriver` mirrors `SlackDriver` (command, action, submit, event) but returns the
envelope with the app's ack; `ServeSocketMode` runs `firebreak serve` in Socket Mode as
a subprocess against the emulator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.emulator import Envelope, SlackEmulator
from tests.conftest import ROOT
from tests.reliability.serve import free_port
from tests.support import payloads
from tests.support.driver import http_request


class SocketModeDriver:
    """What Slack would send over the app's Socket Mode connection."""

    def __init__(self, emulator: SlackEmulator) -> None:
        self.emulator = emulator
        self.socket = emulator.socket_mode
        self.team_id = emulator.team_id

    def command(self, text: str = "", *, user: str, channel: str) -> Envelope:
        fields = payloads.slash_command(
            team_id=self.team_id,
            user_id=user,
            channel_id=channel,
            text=text,
            trigger_id=self.emulator.new_trigger_id(),
            response_url=self.emulator.new_response_url(),
        )
        return self.socket.slash_command(fields)

    def action(
        self,
        action: dict[str, Any],
        *,
        user: str,
        channel: str | None = None,
        message: dict[str, Any] | None = None,
    ) -> Envelope:
        payload = payloads.block_actions(
            team_id=self.team_id,
            user_id=user,
            actions=[action],
            trigger_id=self.emulator.new_trigger_id(),
            response_url=self.emulator.new_response_url(),
            channel_id=channel,
            message=message,
        )
        return self.socket.interactive(payload)

    def submit(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str
    ) -> Envelope:
        payload = payloads.view_submission(
            team_id=self.team_id,
            user_id=user,
            view=view,
            values=values,
            view_id=view.get("id"),
            view_hash=view.get("hash"),
        )
        return self.socket.interactive(payload)

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> Envelope:
        return self.socket.events_api(
            payloads.event_callback(event, team_id=self.team_id, event_id=event_id)
        )

    def eventually(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        """The app acks first and works after; wait until the work shows."""
        self.socket.wait_for(condition, timeout)


class ServeSocketMode:
    """`firebreak serve` with SLACK_APP_TOKEN set: Socket Mode, as most teams first run it."""

    def __init__(
        self,
        emulator: SlackEmulator,
        database_url: str,
        workdir: Path,
        *,
        app_token: str | None = None,
        wait: bool = True,
    ) -> None:
        self.port, self.admin_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_APP_TOKEN": app_token or emulator.app_token,
            "SLACK_API_URL": emulator.api_url,
            "DATABASE_URL": database_url,
            "FIREBREAK_LOG_FORMAT": "json",
            "FIREBREAK_ADMIN_PORT": str(self.admin_port),
            # A dropped connection is noticed and re-opened within this. slack_sdk also
            # drops a connection whose pongs lag four pings behind, so shorter than this
            # risks needless reconnects on a busy machine.
            "FIREBREAK_SOCKET_MODE_PING_SECONDS": "2",
        }
        command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if wait:
            self._wait_healthy()
            emulator.socket_mode.wait_connected(timeout=30)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.process.communicate()[1]}")
            try:
                if http_request(self.admin + "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("serve did not start")

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr

    def terminate(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(60)
