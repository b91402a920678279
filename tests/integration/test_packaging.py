"""A plain (non-editable) install works from any directory: the wheel carries migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, inspect

ROOT = Path(__file__).resolve().parents[2]
PIP_WHEEL = (sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation")


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [*PIP_WHEEL, "-w", str(out), str(ROOT)],
        check=True,
    )
    [wheel] = out.glob("firebreak-*.whl")
    return wheel


def _fresh_venv(folder: Path, wheel: Path) -> Path:
    """A new venv with only the wheel installed; dependencies come from this interpreter's
    site-packages by a path entry (which, unlike a site dir, runs none of its .pth hooks,
    so the checkout's editable install stays out)."""
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "firebreak-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin"


def test_a_wheel_installed_in_a_new_venv_migrates_and_runs_the_demo(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert top_level == {"app", "emulator", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert any("app/migrations/versions/" in n for n in zipfile.ZipFile(wheel).namelist())
    bin_dir = _fresh_venv(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "operator"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBREAK_", "SLACK_"))}
    env.pop("PYTHONPATH", None)
    database = elsewhere / "firebreak.db"
    env["DATABASE_URL"] = f"sqlite:///{database}"

    where = subprocess.run(
        [bin_dir / "python", "-c", "import app; print(app.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(tmp_path / "venv"))
    subprocess.run([bin_dir / "firebreak", "migrate"], cwd=elsewhere, env=env, check=True)
    assert "incident" in inspect(create_engine(f"sqlite:///{database}")).get_table_names()
    demo = subprocess.run(
        [bin_dir / "firebreak", "demo"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "# INC-1: Checkout fails for EU users" in (elsewhere / "postmortem-INC-1.md").read_text()
