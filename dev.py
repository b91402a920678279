#!/usr/bin/env python3
"""Set up a local environment from the lock file, then run Firebreak's demo or its checks.

    python3 dev.py demo     # the whole incident story against the local Slack emulator
    python3 dev.py test     # ruff, mypy and the full test suite (SQLite and PostgreSQL)

Needs only Python 3.11+. The virtual environment lives in .venv and is rebuilt when
requirements-dev.lock or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
LOCK = ROOT / "requirements-dev.lock"
STAMP = VENV / ".firebreak-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], cwd=ROOT, check=True)  # noqa: S603


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs before the version is known
        sys.exit("Firebreak needs Python 3.11 or newer")
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        venv.create(VENV, with_pip=True)
    print("dev.py: installing the locked dependencies", flush=True)
    pip = (BIN / "python", "-m", "pip", "--disable-pip-version-check", "-q")
    _run(*pip, "install", "--require-hashes", "-r", LOCK)
    _run(*pip, "install", "--no-deps", "--no-build-isolation", "-e", ".")
    STAMP.write_text(_fingerprint())


def checks() -> list[list[str]]:
    return [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["pytest", "-q", "-p", "no:cacheprovider"],
    ]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__.strip())
        return 2
    ensure_environment()
    if argv[0] == "demo":
        return subprocess.call([BIN / "firebreak", "demo", *argv[1:]], cwd=ROOT)  # noqa: S603
    for command in checks():
        print("dev.py: " + " ".join(command), flush=True)
        code = subprocess.call([BIN / command[0], *command[1:]], cwd=ROOT)  # noqa: S603
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
