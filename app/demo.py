"""`firebreak demo`: a whole incident against the local Slack emulator."""

from __future__ import annotations


def run_demo(output: str | None) -> int:
    raise NotImplementedError(output)
