"""What a hostile client on the open port costs: memory, log volume, and Slack's requests.

`python -m benchmarks.abuse` starts `firebreak serve --http` as a subprocess against the
emulator, then at once: floods it with unsigned requests naming random commands (each a
fresh metric label if labels came from bodies), sends unsigned 1 MB bodies, holds slow
connections open (a byte every few seconds), and meanwhile sends one legitimate signed
`/incident help` every 100 ms. The table gives the server's RSS growth, the bytes it
logged, the legitimate requests' latency, and how many of them were refused.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.harness import (
    FORM,
    SIGNING_SECRET,
    database,
    percentile,
    print_parameters,
    print_table,
)
from emulator import SlackEmulator, payloads
from emulator.signing import signed_headers

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextmanager
def _serve(emu: SlackEmulator, database_url: str, log_path: Path) -> Iterator[tuple[int, int]]:
    """`firebreak serve --http` on free ports; yields (its pid, its port)."""
    port, admin_port = _free_port(), _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emu.api_url,
        "DATABASE_URL": database_url,
        "FIREBREAK_LOG_FORMAT": "json",
        "FIREBREAK_ADMIN_PORT": str(admin_port),
    }
    command = [sys.executable, "-m", "app", "serve", "--http", "--host", "127.0.0.1"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=log, stderr=log, cwd=log_path.parent
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("firebreak serve did not start")
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=60)


# ---------------------------------------------------------------- the hostile load


def _flood(port: int, count: int, workers: int, conn: Connection) -> None:
    """`count` unsigned commands with random names, over keep-alive connections."""
    refused = 0
    lock = threading.Lock()

    def worker(share: int) -> None:
        nonlocal refused
        rng = random.Random()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(share):
            name = "".join(rng.choices(string.ascii_lowercase, k=12))
            body = urllib.parse.urlencode(
                {"command": f"/{name}", "text": "x\ny", "response_url": "https://x/y"}
            ).encode()
            try:
                connection.request("POST", "/slack/events", body, {"Content-Type": FORM})
                response = connection.getresponse()
                response.read()
                ok = response.status in (401, 403)
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                with lock:
                    refused += 1

    threads = [threading.Thread(target=worker, args=(count // workers,)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn.send(refused)


def _big_bodies(port: int, count: int, size: int) -> int:
    refused = 0
    body = b"command=%2Fincident&text=" + b"A" * (size - 40)
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/slack/events", body, {"Content-Type": FORM})
            response = connection.getresponse()
            response.read()
            refused += response.status in (401, 413)
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
    return refused


def _slow_connections(port: int, count: int, stop: threading.Event) -> int:
    """Open `count` connections that send a header byte every 5 s until `stop`."""
    held = []
    for _ in range(count):
        try:
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            held.append(connection)
        except OSError:
            break
    while not stop.wait(5):
        for connection in held:
            with suppress(OSError):
                connection.sendall(b"a")
    opened = len(held)
    for connection in held:
        connection.close()
    return opened


# ---------------------------------------------------------------- the legitimate load


def _legitimate(
    port: int, team_id: str, response_urls: list[str], done: Event, conn: Connection
) -> None:
    """A signed `/incident help` every 100 ms until `done`, in a process of its own."""
    results: list[tuple[int, float]] = []
    next_at = time.monotonic()
    for n, response_url in enumerate(response_urls):
        if done.is_set():
            break
        fields = payloads.slash_command(
            team_id=team_id,
            user_id="ULEGIT",
            channel_id="C0GENERAL",
            text="help",
            trigger_id=f"legit.{n}.{time.time()}",
            response_url=response_url,
        )
        body = payloads.form_body(fields)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(
                "POST", "/slack/events", body, signed_headers(SIGNING_SECRET, body, FORM)
            )
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
        finally:
            connection.close()
        results.append((status, time.perf_counter() - started))
        next_at += 0.1
        time.sleep(max(0.0, next_at - time.monotonic()))
    conn.send(results)


# ---------------------------------------------------------------- the run


def _warm_up(port: int, emu: SlackEmulator) -> None:
    """Every path once or more before the baseline: the growth measured is the flood's,
    not first-use set-up (imports, caches, the thread pools filling)."""
    done = multiprocessing.get_context("spawn").Event()
    urls = [emu.new_response_url(channel_id="C0GENERAL") for _ in range(30)]
    out, into = multiprocessing.Pipe(duplex=False)
    warm = threading.Thread(target=_legitimate, args=(port, emu.team_id, urls, done, into))
    warm.start()
    _big_bodies(port, 5, 1_000_000)
    flood_out, flood_in = multiprocessing.Pipe(duplex=False)
    _flood(port, 400, 8, flood_in)
    warm.join()
    out.recv(), flood_out.recv()
    time.sleep(2)


def run(args: argparse.Namespace) -> None:
    with (
        SlackEmulator() as emu,
        database(args.database_url) as url,
        TemporaryDirectory() as workdir,
    ):
        emu.latency = args.latency_ms / 1000
        # Enough for 10 minutes at 10 a second; the run stops when the hostile load ends.
        response_urls = [emu.new_response_url(channel_id="C0GENERAL") for _ in range(6000)]
        log_path = Path(workdir) / "serve.log"
        with _serve(emu, url, log_path) as (pid, port):
            _warm_up(port, emu)
            rss_before = _rss_kib(pid)
            log_before = log_path.stat().st_size
            context = multiprocessing.get_context("spawn")
            flood_out, flood_in = context.Pipe(duplex=False)
            legit_out, legit_in = context.Pipe(duplex=False)
            flood = context.Process(
                target=_flood, args=(port, args.unsigned, args.flood_workers, flood_in)
            )
            stop_slow = threading.Event()
            slow_opened: list[int] = []
            slow = threading.Thread(
                target=lambda: slow_opened.append(_slow_connections(port, args.slow, stop_slow))
            )
            slow.start()
            time.sleep(1)
            started = time.monotonic()
            done = context.Event()
            legit = context.Process(
                target=_legitimate, args=(port, emu.team_id, response_urls, done, legit_in)
            )
            legit.start()
            flood.start()
            big_refused = _big_bodies(port, args.big, args.big_bytes)
            peak = rss_before
            while flood.is_alive() or time.monotonic() - started < args.min_seconds:
                peak = max(peak, _rss_kib(pid))
                time.sleep(0.25)
            done.set()
            flood_refused = flood_out.recv()
            legit_results: list[tuple[int, float]] = legit_out.recv()
            legit.join()
            elapsed = time.monotonic() - started
            stop_slow.set()
            slow.join()
            rss_after = _rss_kib(pid)
            log_bytes = log_path.stat().st_size - log_before
    _report(args, elapsed, slow_opened, rss_before, peak, rss_after, log_bytes)
    _report_requests(args, flood_refused, big_refused, legit_results)


def _report(
    args: argparse.Namespace,
    elapsed: float,
    slow_opened: list[int],
    rss_before: int,
    peak: int,
    rss_after: int,
    log_bytes: int,
) -> None:
    print_parameters(
        "Abuse: unsigned flood, 1 MB bodies and slow connections against firebreak serve",
        {
            "unsigned requests (random command names)": args.unsigned,
            "unsigned 1 MB bodies": f"{args.big} x {args.big_bytes} bytes",
            "slow connections held": slow_opened[0] if slow_opened else 0,
            "legitimate signed /incident every": "100 ms",
            "Web API latency": f"{args.latency_ms:.0f} ms",
            "wall time": f"{elapsed:.1f} s",
        },
    )
    print_table(
        ["measure", "value", "target"],
        [
            ("RSS before, MiB", rss_before / 1024, ""),
            ("RSS peak, MiB", peak / 1024, ""),
            ("RSS growth (after - before), MiB", (rss_after - rss_before) / 1024, "< 10"),
            ("log bytes written", log_bytes, "< 1,000,000"),
        ],
    )
    print()


def _report_requests(
    args: argparse.Namespace,
    flood_refused: int,
    big_refused: int,
    legit: list[tuple[int, float]],
) -> None:
    ms = [seconds * 1000 for status, seconds in legit if status == 200]
    not_ok = sum(1 for status, _ in legit if status != 200)
    print_table(
        ["requests", "sent", "refused (401/413)", "p50 ms", "p99 ms", "max ms"],
        [
            ("unsigned flood", args.unsigned, flood_refused, "", "", ""),
            ("unsigned 1 MB bodies", args.big, big_refused, "", "", ""),
            (
                "legitimate, signed",
                len(legit),
                not_ok,
                percentile(ms, 0.5),
                percentile(ms, 0.99),
                max(ms, default=0.0),
            ),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unsigned", type=int, default=20_000)
    parser.add_argument("--flood-workers", type=int, default=8)
    parser.add_argument("--big", type=int, default=100, help="unsigned 1 MB bodies to send")
    parser.add_argument("--big-bytes", type=int, default=1_000_000)
    parser.add_argument("--slow", type=int, default=150, help="slow connections to hold")
    parser.add_argument(
        "--min-seconds", type=float, default=0, help="send legitimate requests at least this long"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--database-url", default=None)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
