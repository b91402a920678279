"""Chaos on PostgreSQL: three replicas, Slack failing one call in ten (5xx, `internal_error`,
429, answers lost after the fact), a replica killed with SIGKILL every few incidents.
Nothing acknowledged is lost, nothing is shown twice, nothing stays stale.
`benchmarks/chaos.py` runs the same with more incidents."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import SlackEmulator
from tests.reliability.chaos import run_chaos


@pytest.mark.postgres
def test_chaos_loses_duplicates_and_leaves_stale_nothing(
    emulator: SlackEmulator, postgres_url: str, announce_channel: str, tmp_path: Path
) -> None:
    report = run_chaos(emulator, postgres_url, tmp_path, incidents=6, kill_every=3)
    assert report.kills == 2
    assert report.refused == 0
    assert report.clean, (report.lost, report.duplicated, report.stale)
