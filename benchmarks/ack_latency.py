"""How fast Firebreak answers Slack's HTTP requests (the ack) under a steady load.

`python -m benchmarks.ack_latency` — N responders send signed requests at a fixed total
rate (open loop), by default 25 % each: `/incident` (opens the declare modal), declaration
modal submissions, `/incident list` and `/incident help`; card button presses on request
(`--mix`). The table gives the time to the HTTP 200 per kind. Slack's Web API latency
must not show here: the listeners ack before they call Slack. `--replicas N` runs N
server processes on one database behind a round-robin (PostgreSQL).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection

from sqlalchemy import func, select
from sqlmodel import col

from app.slack.outbound import blocks
from app.store.models import Incident
from benchmarks.harness import (
    Firebreak,
    Timed,
    common_arguments,
    firebreak,
    print_parameters,
    print_table,
    send,
    summary_ms,
)

KINDS = ("modal", "submission", "list", "help", "button")
DEFAULT_MIX = "modal=25,submission=25,list=25,help=25"
# Earlier runs called the modal-opening `/incident` "command".
ALIASES = {"command": "modal"}
# Slack gives up on an ack after 3 s.
ACK_DEADLINE = 3.0
SEED_INCIDENTS = 5


def _seed(app: Firebreak) -> list[tuple[int, str, str]]:
    """A few declared incidents for the buttons to press: (id, channel, commander)."""
    for number in range(SEED_INCIDENTS):
        app.post("seed", app.declare_body(f"Seed incident {number}", app.users[0]))
    app.wait_idle()
    with app.db.session() as session:
        rows = session.execute(
            select(col(Incident.id), col(Incident.channel_id), col(Incident.declared_by)).where(
                col(Incident.setup_complete)
            )
        ).all()
    return [(int(i), str(c), str(u)) for i, c, u in rows]


def parse_mix(text: str) -> list[str]:
    """'command=45,button=45,submission=10' -> a 100-slot schedule of request kinds."""
    weights = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        kind = ALIASES.get(kind.strip(), kind.strip())
        if kind not in KINDS:
            raise argparse.ArgumentTypeError(f"kinds are {', '.join(KINDS)}")
        weights[kind] = int(weight)
    slots = [kind for kind, weight in weights.items() for _ in range(weight)]
    random.Random(7).shuffle(slots)
    return slots


def _shares(mix: list[str]) -> list[tuple[str, float]]:
    return [(kind, 100 * mix.count(kind) / len(mix)) for kind in KINDS]


def _body_maker(
    app: Firebreak, incidents: list[tuple[int, str, str]], mix: list[str]
) -> Callable[[int, float], tuple[str, bytes]]:
    severities = itertools.cycle(["SEV3", "SEV2"])
    general = app.emu.channel_by_name("general").id

    def make(index: int, due: float) -> tuple[str, bytes]:
        """Request `index`, due to be sent at `due` (wall clock): its trigger starts then."""
        kind = mix[index % len(mix)]
        user = random.choice(app.users)
        if kind == "modal":
            return kind, app.command_body("", user, general, issued_at=due)
        if kind in ("list", "help"):
            return kind, app.command_body(kind, user, general, issued_at=due)
        if kind == "button":
            incident_id, channel, commander = random.choice(incidents)
            action = {
                "type": "static_select",
                "action_id": blocks.SEVERITY_ACTION,
                "block_id": f"controls:{incident_id}",
                "selected_option": {"value": next(severities)},
            }
            return kind, app.action_body(action, commander, channel)
        return kind, app.declare_body(f"Load test incident {index}", user)

    return make


def _responders(
    urls: list[str], responders: int, rate: float, total: int, conn: Connection
) -> None:
    """Load-generator process: request i is due at start + i / rate, sent by responder
    i % N (open loop) to replica i % len(urls). Bodies arrive from the parent a little
    ahead (their trigger ids expire 3 s after they are made); results and the worst
    lateness of a send go back at the end."""
    start = float(conn.recv())
    bodies: dict[int, tuple[str, bytes]] = {}
    arrived = threading.Condition()
    results: list[Timed] = []
    lateness: list[float] = []

    def receive() -> None:
        while True:
            batch = conn.recv()
            with arrived:
                bodies.update(batch)
                arrived.notify_all()
            if total - 1 in batch:
                return

    def responder(first: int) -> None:
        for index in range(first, total, responders):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with arrived:
                arrived.wait_for(lambda i=index: i in bodies)  # type: ignore[misc]
                kind, body = bodies.pop(index)
            late = time.monotonic() - due
            timed = send(urls[index % len(urls)], kind, body)
            with arrived:
                results.append(timed)
                lateness.append(late)

    threads = [threading.Thread(target=receive)]
    threads += [threading.Thread(target=responder, args=(n,)) for n in range(responders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn.send((results, lateness))


def run_load(
    urls: list[str],
    make: Callable[[int, float], tuple[str, bytes]],
    responders: int,
    rate: float,
    seconds: float,
) -> tuple[list[Timed], list[float]]:
    """Send the load from a process of its own, so it does not compete with the emulator
    for this interpreter's lock; build the bodies here, a tenth of a second's worth at a
    time, about 0.3 s before they are due (a trigger id starts ageing when it is made)."""
    total = int(rate * seconds)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_responders, args=(urls, responders, rate, total, child))
    process.start()
    start = time.monotonic() + 3.0
    parent.send(start)
    wall_start = time.time() - time.monotonic() + start
    per_batch = max(1, int(rate / 10))
    for first in range(0, total, per_batch):
        due = start + first / rate - 0.3
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        batch = range(first, min(total, first + per_batch))
        parent.send({i: make(i, wall_start + i / rate) for i in batch})
    results, lateness = parent.recv()
    process.join(timeout=30)
    return list(results), list(lateness)


def pool_settings(size: int | None) -> dict[str, int]:
    return {} if size is None else {"db_pool_size": size, "db_max_overflow": size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ack_latency", description=__doc__)
    parser.add_argument(
        "--responders",
        type=int,
        default=None,
        help="sending threads (default: 4 s worth of requests, so slow acks do not hold "
        "the next sends back)",
    )
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--http-threads", type=int, default=8)
    parser.add_argument("--replicas", type=int, default=1, help="server processes, one database")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="PostgreSQL pool per replica: FIREBREAK_DB_POOL_SIZE and _MAX_OVERFLOW "
        "(default: the settings' defaults)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="another server setting, e.g. --set listener_workers=8 (repeatable)",
    )
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default=DEFAULT_MIX,
        help=f"request kinds by weight ({DEFAULT_MIX}); kinds: {', '.join(KINDS)}",
    )
    common_arguments(parser)
    options = parser.parse_args(argv)
    options.responders = options.responders or max(1, int(options.rate * 4))

    with firebreak(
        options.latency_ms,
        options.database_url,
        http_threads=options.http_threads,
        replicas=options.replicas,
        settings={**pool_settings(options.pool_size), **dict(f.split("=", 1) for f in options.set)},
    ) as app:
        incidents = _seed(app)
        app.emu.reset_calls()
        app.served()
        before = app.usage()
        results, lateness = run_load(
            app.urls,
            _body_maker(app, incidents, options.mix),
            options.responders,
            options.rate,
            options.seconds,
        )
        served = app.served()
        idle_started = time.perf_counter()
        idle = app.wait_idle()
        drain = time.perf_counter() - idle_started
        used = app.usage() - before
        with app.db.session() as session:
            declared = session.execute(select(func.count()).select_from(Incident)).scalar_one()
            ready = session.execute(
                select(func.count()).select_from(Incident).where(col(Incident.setup_complete))
            ).scalar_one()
        api_calls = len(app.emu.calls)
        failed = Counter(f"{c.method} {c.error}" for c in app.emu.calls if not c.ok)
        opened = sum(1 for c in app.emu.calls if c.method == "views.open" and c.ok)

    print_parameters(
        "Ack latency: time from request sent to HTTP 200",
        {
            "command": "python -m benchmarks.ack_latency " + " ".join(argv or []),
            "responders": options.responders,
            "rate": f"{options.rate:g} requests/s for {options.seconds:g} s",
            "mix": ", ".join(f"{k} {share:g}%" for k, share in _shares(options.mix) if share),
            "Web API latency (emulator)": f"{options.latency_ms:g} ms per call",
            "database": options.database_url or "SQLite (temporary file)",
            "replicas": options.replicas,
            "pool per replica": f"{options.pool_size} + {options.pool_size} overflow"
            if options.pool_size
            else "default",
            "HTTP threads": options.http_threads,
            "other settings": ", ".join(options.set) or "none",
        },
    )
    rows: list[list[object]] = []
    for kind in (*KINDS, "all"):
        picked = [r for r in results if kind in ("all", r.kind)]
        if not picked:
            continue
        p50, p95, p99, worst, _ = summary_ms([r.seconds for r in picked if r.status == 200])
        late = sum(1 for r in picked if r.status == 200 and r.seconds > ACK_DEADLINE)
        errors = sum(1 for r in picked if r.status not in (0, 200))
        timeouts = sum(1 for r in picked if r.status == 0)
        rows.append([kind, len(picked), p50, p95, p99, worst, late, timeouts, errors])
    print_table(
        [
            "kind",
            "requests",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "over 3 s",
            "no answer",
            "errors",
        ],
        rows,
    )
    p50, p95, p99, worst, _ = summary_ms(served)
    modals = sum(1 for r in results if r.kind == "modal")
    expired = failed.get("views.open expired_trigger_id", 0)
    print(
        f"\nserver side ({len(served)} requests): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms, max {worst:.1f} ms"
    )
    print(f"modals opened: {opened} of {modals}; expired triggers: {expired}")
    per_request = max(1, len(results))
    print(
        f"server processes: {used.round_trips / per_request:.1f} database round trips and "
        f"{used.cpu_seconds * 1000 / per_request:.1f} ms CPU per request (work after the "
        "ack included)"
    )
    late50, _, late99, late_max, _ = summary_ms(lateness)
    # The load generator's own delay: trigger ids start at the planned time, so a late
    # send shows as a late (or expired) modal.
    print(f"send lateness: p50 {late50:.1f} ms, p99 {late99:.1f} ms, max {late_max:.1f} ms")
    print(
        f"after the load: work finished {'in' if idle else 'NOT within'} {drain:.1f} s; "
        f"{api_calls} Web API calls; incidents declared {declared - SEED_INCIDENTS}, "
        f"channels ready {ready - SEED_INCIDENTS}"
    )
    # Work that lags far behind its ack shows here, e.g. views.open after the trigger's 3 s.
    print(f"Web API calls refused: {dict(failed) or 'none'}")


if __name__ == "__main__":
    main()
