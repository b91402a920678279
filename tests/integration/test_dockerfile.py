"""The container image, checked without a container engine.

The Dockerfile is parsed for what operators rely on, and scripts/replay_dockerfile.py
replays its steps into a temporary directory and starts `firebreak serve --http` there.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.replay_dockerfile import Stage, exec_form, parse_dockerfile, stage_chain
from tests.conftest import ROOT

DIGEST = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())


def _everywhere(chain: list[Stage], keyword: str) -> list[str]:
    return [args for stage in chain for args in stage.all(keyword)]


def test_every_base_image_is_pinned_by_digest(stages: list[Stage]) -> None:
    names = {stage.name for stage in stages}
    external = [stage.base for stage in stages if stage.base not in names]
    assert external, "no base image"
    for base in external:
        assert DIGEST.match(base), f"{base} is not pinned by digest"


@pytest.mark.parametrize("target", ["runtime", "demo"])
def test_images_run_as_a_non_root_user_with_a_health_check(
    stages: list[Stage], target: str
) -> None:
    chain = stage_chain(stages, target)
    user = chain[-1].last("USER")
    assert user is not None and user.split(":")[0] not in ("root", "0")
    healthcheck = _everywhere(chain, "HEALTHCHECK")
    assert healthcheck, "no HEALTHCHECK"
    probe = exec_form(healthcheck[-1][healthcheck[-1].index("CMD") + 3 :].strip())
    assert "/healthz" in " ".join(probe)
    assert '["/data"]' in _everywhere(chain, "VOLUME")
    assert "sqlite:////data/" in " ".join(_everywhere(chain, "ENV"))


def test_the_runtime_image_is_the_default_and_leaves_tests_and_the_emulator_out(
    stages: list[Stage],
) -> None:
    assert stages[-1].name == "runtime"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tests", "benchmarks", ".venv", ".git"} <= set(ignored)
    copied = [_everywhere(stage_chain(stages, target), "COPY") for target in ("runtime", "demo")]
    assert not any("emulator" in copy for copy in copied[0]), copied[0]
    assert "emulator/ emulator/" in copied[1]
    assert stage_chain(stages, "demo")[-1].last("CMD") == '["demo"]'


def test_dependencies_install_from_the_lock_with_hashes(stages: list[Stage]) -> None:
    runs = _everywhere(stage_chain(stages, "runtime"), "RUN")
    locked = [run for run in runs if "requirements.lock" in run]
    assert locked, "nothing installs requirements.lock"
    assert all("--require-hashes" in run for run in locked)
    # Only the project itself is installed without the lock, and without its dependencies.
    for run in runs:
        for command in run.split("&&"):
            if "pip install" in command and "requirements.lock" not in command:
                assert "--no-deps" in command, command


def test_replaying_the_dockerfile_gives_a_server_that_answers_healthz(tmp_path: Path) -> None:
    replayed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "replay_dockerfile.py"), "--keep", tmp_path],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stdout[-3000:] + replayed.stderr[-3000:]
    assert "replay: GET /healthz -> 200" in replayed.stdout
    assert "replay: HEALTHCHECK exit status 0" in replayed.stdout

    [package] = (tmp_path / "venv").glob("lib/python*/site-packages/app")
    assert (package / "migrations" / "versions").is_dir()
    assert not (tmp_path / "fs" / "src").exists(), "the build directory was left behind"
    # The runtime image has no Slack emulator: it cannot be imported, and the demo says so.
    bin_dir, env = tmp_path / "venv" / "bin", {"DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    imported = subprocess.run(
        [bin_dir / "python", "-c", "import emulator"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "No module named 'emulator'" in imported.stderr, imported.stderr
    demo = subprocess.run(
        [bin_dir / "firebreak", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 2
    assert demo.stderr.startswith("firebreak: the demo needs the `emulator` package")
    assert "Traceback" not in demo.stderr
