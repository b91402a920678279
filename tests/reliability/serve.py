"""`firebreak serve --http` as a real subprocess, for crash and shutdown tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator import SlackEmulator, payloads
from emulator.driver import FORM, HttpResult, http_request
from emulator.signing import signed_headers
from tests.conftest import ROOT, SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    def __init__(
        self,
        emulator: SlackEmulator,
        database_url: str,
        workdir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port, self.admin_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "DATABASE_URL": database_url,
            "FIREBREAK_LOG_FORMAT": "json",
            "FIREBREAK_ADMIN_PORT": str(self.admin_port),
            "FIREBREAK_RESUME_INTERVAL_SECONDS": "0.5",
            "FIREBREAK_SETUP_LEASE_SECONDS": "1",
            **(extra_env or {}),
        }
        command = [sys.executable, "-m", "app", "serve", "--http", "--host", "127.0.0.1"]
        # Logs go to a file, not a pipe: a pipe nobody reads fills up after some 64 KiB,
        # and then every thread that logs blocks (a long chaos run stalled that way).
        self.log_path = workdir / f"serve-{self.port}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=env,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
            )
        self._wait_healthy()

    def log(self) -> str:
        return self.log_path.read_text()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.log()}")
            try:
                if http_request(self.admin + "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("serve did not start")

    def submit(self, payload: dict[str, Any]) -> HttpResult:
        body = payloads.interactive_body(payload)
        return http_request(
            self.base + "/slack/events", body, signed_headers(SIGNING_SECRET, body, FORM)
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> tuple[int, str]:
        """Stop it as an orchestrator would; its exit code and what it logged."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return self.process.returncode, self.log()


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")
