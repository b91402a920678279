"""Headless Chromium, driven through its command line: the DOM after scripts ran, a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        "headless Chromium is needed: apt-get install -y chromium (.ci/run installs it)"
    )


def _run(profile: Path, url: str, *options: str, timezone: str) -> str:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        *options,
        url,
    ]
    env = {**os.environ, "TZ": timezone}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def dump_dom(profile: Path, url: str, *, timezone: str = "Europe/Berlin") -> str:
    """The page's DOM as the browser built it, after its scripts ran."""
    return _run(profile, url, "--dump-dom", timezone=timezone)


def screenshot(
    profile: Path, url: str, path: Path, *, width: int, height: int, timezone: str = "Europe/Berlin"
) -> Path:
    _run(
        profile,
        url,
        f"--screenshot={path}",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        timezone=timezone,
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "no screenshot was written"
    return path
