"""Build the container's file system without a container engine, and start it.

    python scripts/replay_dockerfile.py [--target runtime] [--keep DIR]

Reads the Dockerfile, follows the chosen stage back to its base, and replays its steps
into a temporary directory: COPY copies from the build context (minus .dockerignore),
RUN's `pip install` runs with a fresh virtual environment's pip (standing in for the
image's Python), `rm -rf` removes inside the replayed WORKDIR. Anything else a RUN does
(`useradd`) is listed as not replayed; an unknown command stops the replay, so a change
to the Dockerfile cannot slip past it. Then it starts `firebreak serve --http` from the
venv with the image's ENV, in the image's final WORKDIR, against a local Slack emulator,
runs the HEALTHCHECK command and expects `/healthz` to answer 200.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPLAYED_COMMANDS = ("pip", "rm")
SKIPPED_COMMANDS = ("useradd",)


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages in order; continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            logical += line[:-1].rstrip() + " "
            continue
        logical += line
        keyword, _, args = logical.partition(" ")
        logical = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif not stages:
            raise ValueError(f"{keyword} before the first FROM")
        else:
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
    return stages


def stage_chain(stages: list[Stage], target: str | None) -> list[Stage]:
    """The target stage (default: the last) and the stages it is built FROM, base first."""
    by_name = {stage.name: stage for stage in stages if stage.name}
    stage = by_name[target] if target else stages[-1]
    chain = [stage]
    while stage.base in by_name:
        stage = by_name[stage.base]
        chain.insert(0, stage)
    return chain


def exec_form(args: str) -> list[str]:
    """A JSON-array instruction argument (CMD, ENTRYPOINT, HEALTHCHECK ... CMD [...])."""
    value = json.loads(args)
    if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
        raise ValueError(f"not an exec-form array: {args}")
    return value


def env_pairs(args: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(args))


def ignored(relative: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative.split("/")[0], pattern)
        for pattern in patterns
    )


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().removeprefix("**/") for line in lines if line.strip()]


class Replay:
    def __init__(self, root: Path) -> None:
        self.root = root  # stands in for the image's /
        self.venv = root / "venv"
        venv.create(self.venv, with_pip=True, symlinks=True)
        self.python = self.venv / "bin" / "python"
        self.workdir = "/"
        self.env: dict[str, str] = {}
        self.not_replayed: list[str] = []
        self.ignore = dockerignore()

    def path(self, container_path: str) -> Path:
        absolute = Path(self.workdir, container_path)
        return self.root / "fs" / str(absolute).lstrip("/")

    def run_stage(self, stage: Stage) -> None:
        for instruction in stage.instructions:
            handler = getattr(self, f"do_{instruction.keyword.lower()}", None)
            if handler is not None:
                handler(instruction.args)

    def do_workdir(self, args: str) -> None:
        self.workdir = str(Path(self.workdir, args))
        self.path(".").mkdir(parents=True, exist_ok=True)

    def do_env(self, args: str) -> None:
        self.env.update(env_pairs(args))

    def do_copy(self, args: str) -> None:
        *sources, target = shlex.split(args)
        for source in sources:
            origin = ROOT / source.rstrip("/")
            destination = self.path(target)
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    destination,
                    symlinks=True,
                    dirs_exist_ok=True,
                    ignore=lambda _d, names: [n for n in names if ignored(n, self.ignore)],
                )
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, destination / origin.name)

    def do_run(self, args: str) -> None:
        for command in (part.strip() for part in args.split("&&")):
            words = shlex.split(command)
            if words[0] in SKIPPED_COMMANDS:
                self.not_replayed.append(command)
            elif words[0] == "pip":
                env = {**os.environ, **self.env}
                subprocess.run(  # noqa: S603 - our own Dockerfile's pip step
                    [str(self.python), "-m", *words],
                    cwd=self.path("."),
                    env=env,
                    check=True,
                )
            elif words[:2] == ["rm", "-rf"]:
                for target in words[2:]:
                    shutil.rmtree(self.path(target), ignore_errors=True)
                    self.path(target).unlink(missing_ok=True)
            else:
                raise SystemExit(f"replay_dockerfile: cannot replay RUN step: {command}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_and_check(replay: Replay, chain: list[Stage]) -> None:
    from emulator import SlackEmulator

    final = chain[-1]
    healthcheck = next(s.last("HEALTHCHECK") for s in reversed(chain) if s.last("HEALTHCHECK"))
    assert healthcheck is not None
    probe = exec_form(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    port, admin_port = str(free_port()), str(free_port())
    with SlackEmulator() as emulator:
        env = {
            "PATH": f"{replay.venv / 'bin'}:{os.environ.get('PATH', '')}",
            **replay.env,
            "DATABASE_URL": f"sqlite:///{replay.path('.')}/firebreak.db",
            "FIREBREAK_HTTP_PORT": port,
            "FIREBREAK_ADMIN_PORT": admin_port,
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_SIGNING_SECRET": "replay-signing-secret",
            "SLACK_API_URL": emulator.api_url,
        }
        command = [str(replay.venv / "bin" / "firebreak"), "serve", "--http"]
        print(f"replay: {' '.join(command)} (cwd {replay.workdir}, USER {final.last('USER')})")
        server = subprocess.Popen(command, cwd=replay.path("."), env=env)  # noqa: S603
        try:
            status = _wait_healthz(int(admin_port), server)
            print(f"replay: GET /healthz -> {status}")
            checked = subprocess.run(  # noqa: S603 - the Dockerfile's own HEALTHCHECK
                [str(replay.python) if probe[0] == "python" else probe[0], *probe[1:]],
                env=env,
                timeout=10,
                check=False,
            )
            print(f"replay: HEALTHCHECK exit status {checked.returncode}")
            if status != 200 or checked.returncode != 0:
                raise SystemExit(1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def _wait_healthz(port: int, server: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"replay: serve exited with {server.returncode}")
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as answer:
                return int(answer.status)
        except OSError:
            time.sleep(0.2)
    raise SystemExit("replay: serve did not answer /healthz within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="the stage to build (default: the last)")
    parser.add_argument("--keep", type=Path, help="replay into this directory and keep it")
    options = parser.parse_args(argv)
    chain = stage_chain(parse_dockerfile((ROOT / "Dockerfile").read_text()), options.target)
    root = options.keep or Path(tempfile.mkdtemp(prefix="firebreak-image-"))
    try:
        replay = Replay(root)
        for stage in chain:
            print(f"replay: stage {stage.name or '-'} FROM {stage.base}")
            replay.run_stage(stage)
        for command in replay.not_replayed:
            print(f"replay: not replayed (needs the image's root): {command}")
        serve_and_check(replay, chain)
    finally:
        if options.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print("replay: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
