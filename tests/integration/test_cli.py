"""The `firebreak` command as an operator runs it: a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator import SlackEmulator
from emulator.driver import http_request
from tests.conftest import SIGNING_SECRET


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBREAK_"))}
    env.pop("DATABASE_URL", None)
    env.update(values)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_without_signing_secret_names_it_and_exits(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--http"],
        env=_env(SLACK_BOT_TOKEN="xoxb-1", DATABASE_URL=f"sqlite:///{tmp_path}/f.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_SIGNING_SECRET is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_setting_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        env=_env(FIREBREAK_HTTP_PORT="eighty"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "FIREBREAK_HTTP_PORT is invalid" in result.stderr


def test_export_from_an_unmigrated_database_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "export", "INC-1"],
        env=_env(DATABASE_URL=f"sqlite:///{tmp_path}/empty.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "no Firebreak tables yet" in result.stderr
    assert "run `firebreak migrate`" in result.stderr


def test_serve_http_answers_health_and_refuses_unsigned(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    port, admin_port = _free_port(), _free_port()
    env = _env(
        FIREBREAK_ADMIN_PORT=str(admin_port),
        SLACK_BOT_TOKEN=emulator.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/f.db",
        FIREBREAK_LOG_FORMAT="json",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = http_request(f"http://127.0.0.1:{admin_port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start")
        assert health.status == 200
        assert health.json()["database"] == "ok"
        unsigned = http_request(
            base + "/slack/events",
            b"command=%2Fincident",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status == 401
        # Health and metrics live on the admin listener only.
        assert http_request(base + "/healthz").status == 404
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert emulator.bot_token not in stderr
    assert SIGNING_SECRET not in stderr
    assert '"event": "stopped"' in stderr


@pytest.mark.parametrize(("flags", "transport"), [([], "HTTP"), (["--socket-mode"], "Socket Mode")])
def test_demo_runs_a_whole_incident_and_writes_the_postmortem(
    tmp_path: Path, flags: list[str], transport: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "-o", "pm.md", "--report", "rep", *flags],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Slack's requests arrive over {transport}\n")
    assert "#inc-1-checkout-fails-for-eu-users" in result.stdout
    assert "== INC-1: Checkout fails for EU users ==" in result.stdout
    assert "Bob Brown" in result.stdout and "(pinned)" in result.stdout
    postmortem = (tmp_path / "pm.md").read_text(encoding="utf-8")
    assert postmortem.startswith("# INC-1: Checkout fails for EU users\n")
    assert "Pinned message: 502s from the EU payment gateway" in postmortem
    assert "| 1 | Alert on EU gateway 5xx rate | @Bob Brown | 2026-12-15 | open |" in postmortem
    assert "| Status | Resolved |" in postmortem
    # The story clock moves the incident through an hour: updates, a reminder, durations.
    assert ":alarm_clock: @bob a stakeholder update for INC-1 is due" in result.stdout
    assert "\n#incidents\n" in result.stdout
    report = (tmp_path / "rep" / "insight.md").read_text(encoding="utf-8")
    assert "1 incidents declared in the period" in report
    assert "| Time to resolve | 1 | 59m |" in report
    assert all((tmp_path / "rep" / f"{chart}.png").stat().st_size for chart in ("weekly", "load"))
    assert "INC-1 is resolved (59 min after it was declared)" in result.stdout
    assert postmortem.count("— Identified, SEV2 (by @Bob Brown)") == 1
    assert "| Time to resolve | 59m |" in postmortem
    # It starts with an alert that Alice acknowledges and declares from.
    assert "[FIRING:1] CheckoutErrorsEU" in result.stdout
    assert "Acknowledged by @alice" in result.stdout
    assert "| Time to acknowledge | 5m |" in postmortem
    assert "| Time to declare | 7m |" in postmortem
    assert "Reminded @Bob Brown that a stakeholder update is due" in postmortem
    assert result.stderr == ""
