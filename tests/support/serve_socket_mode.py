"""`firebreak serve` in Socket Mode as a subprocess against the emulator.

Slack's side of the connection is `emulator.driver.SocketModeDriver`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from emulator import SlackEmulator
from emulator.driver import http_request
from tests.conftest import ROOT
from tests.reliability.serve import free_port


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
