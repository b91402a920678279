"""The `firebreak` command: serve, demo, export, import, insight, migrate."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from app.config import ConfigError, Settings, load_settings
from app.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from app.runtime import Runtime

log = get_logger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level, settings.secrets())
        return int(args.run(settings, args))
    except ConfigError as error:
        print(f"firebreak: configuration error: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"firebreak: {database_problem(error)}", file=sys.stderr)
        return 1


def database_problem(error: SQLAlchemyError) -> str:
    """One line an operator can act on, instead of a driver traceback."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if "no such table" in reason or ("does not exist" in reason and "relation" in reason):
        return f"the database has no Firebreak tables yet ({reason}); run `firebreak migrate`"
    return f"cannot use the database ({reason}); check DATABASE_URL"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="firebreak", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot (Socket Mode if SLACK_APP_TOKEN is set)")
    serve.add_argument("--http", action="store_true", help="serve HTTP even with SLACK_APP_TOKEN")
    serve.add_argument("--host", help="HTTP listen address (default FIREBREAK_HTTP_HOST)")
    serve.add_argument("--port", type=int, help="HTTP port (default FIREBREAK_HTTP_PORT)")
    serve.add_argument(
        "--admin-port",
        type=int,
        help="port of /healthz, /readyz, /metrics (default FIREBREAK_ADMIN_PORT)",
    )
    serve.set_defaults(run=_serve)

    export = commands.add_parser("export", help="print an incident's postmortem")
    export.add_argument("incident", help="the incident reference, e.g. INC-42")
    export.add_argument("--format", choices=("markdown", "json"), default="markdown")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.add_argument("--team", help="the workspace (team id); needed when there are several")
    export.set_defaults(run=_export)

    demo = commands.add_parser("demo", help="run a whole incident against a local Slack emulator")
    demo.add_argument(
        "-o", "--output", help="postmortem file to write (default ./postmortem-INC-1.md)"
    )
    demo.add_argument(
        "--socket-mode",
        action="store_true",
        help="send Slack's requests over Socket Mode instead of HTTP (needs websockets)",
    )
    demo.add_argument("--report", metavar="DIR", help="also write the insight report into DIR")
    demo.set_defaults(run=_demo)

    insight = commands.add_parser(
        "insight", aliases=["report"], help="write the incident-response report and its charts"
    )
    from app.insight.cli import add_arguments

    add_arguments(insight)
    insight.set_defaults(run=_insight)

    load = commands.add_parser("import", help="load incidents from JSON exports, as history")
    load.add_argument("files", nargs="+", metavar="FILE", help="JSON exports (firebreak export)")
    load.add_argument("--team", help="the workspace (team id); needed unless there is just one")
    load.set_defaults(run=_import)

    migrate = commands.add_parser("migrate", help="upgrade the database schema to the latest")
    migrate.set_defaults(run=_migrate)
    return parser


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.store.database import Database

    db = Database(settings.database_url)
    db.migrate()
    log.info("database_migrated", database=db.engine.url.render_as_string(hide_password=True))
    db.dispose()
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from app.export.cli import run_export

    return run_export(settings, args.incident, args.format, args.output, args.team)


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.export.importer import ImportRefused, default_team, import_files
    from app.store.database import Database

    db = Database(settings.database_url)
    try:
        team = args.team or default_team(db)
        if team is None:
            print("firebreak: pass --team: the workspace the incidents belong to", file=sys.stderr)
            return 2
        report = import_files(db, team, [Path(name) for name in args.files])
    except ImportRefused as refused:
        print(f"firebreak: {refused}; nothing was imported", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    log.info("incidents_imported", imported=len(report.imported), unchanged=len(report.unchanged))
    print(
        f"imported {len(report.imported)} incidents into {team}: "
        f"{', '.join(report.imported) or 'none'}",
        file=sys.stderr,
    )
    if report.unchanged:
        print(f"already imported, unchanged: {', '.join(report.unchanged)}", file=sys.stderr)
    return 0


def _insight(settings: Settings, args: argparse.Namespace) -> int:
    from app.insight.cli import run_insight

    return run_insight(settings, args)


def _demo(_settings: Settings, args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return run_demo(args.output, socket_mode=args.socket_mode, report=args.report)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from app.runtime import build_runtime

    http = args.http or not settings.socket_mode
    settings.require("slack_bot_token")
    if http:
        settings.require("slack_signing_secret")
    runtime = build_runtime(settings)
    runtime.start_scheduler()
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("shutdown_requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    from app.server import HttpServer

    # Health, readiness and metrics have their own listener in both modes (the container's
    # health check); the public port exists in HTTP mode, and in Socket Mode when it serves
    # pages for people outside Slack (the status page).
    public = http or runtime.web.has_public_pages
    servers = [
        HttpServer(
            runtime.web.admin,
            host=settings.admin_host,
            port=args.admin_port or settings.admin_port,
            threads=2,
            max_body_bytes=1024,
            connection_limit=100,
            channel_timeout=settings.http_channel_timeout,
        )
    ]
    if public:
        servers.append(
            HttpServer(
                runtime.web,
                host=args.host or settings.http_host,
                port=args.port or settings.http_port,
                threads=settings.http_threads,
                max_body_bytes=settings.max_body_bytes,
                connection_limit=settings.http_connection_limit,
                channel_timeout=settings.http_channel_timeout,
            )
        )
    for server in servers:
        server.start()
    log.info("serving_admin", url=servers[0].url)
    if public:
        log.info("serving_http", url=servers[1].url)
    runtime.start_maintenance()
    if http:
        stop.wait()
        status = 0
    else:
        status = _serve_socket_mode(settings, runtime, stop)
    for server in servers:
        server.stop()
    runtime.close()
    log.info("stopped")
    return status


SOCKET_CLOSE_SECONDS = 5.0


def _serve_socket_mode(settings: Settings, runtime: Runtime, stop: threading.Event) -> int:
    """Slack's requests over a WebSocket; the handler re-opens it when Slack asks or it drops."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    assert settings.slack_app_token is not None
    handler = SocketModeHandler(
        runtime.bolt,
        settings.slack_app_token.get_secret_value(),
        ping_interval=settings.socket_mode_ping_seconds,
    )
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except SlackApiError as error:
        handler.close()  # type: ignore[no-untyped-call]
        reason = error.response.get("error", "unknown error")
        print(
            f"firebreak: Slack refused SLACK_APP_TOKEN for Socket Mode ({reason}); use an "
            "app-level token (xapp-) with the connections:write scope",
            file=sys.stderr,
        )
        return 1
    log.info("serving_socket_mode")
    stop.wait()
    # Closing can wait on a reconnect in progress; never let it hold up the shutdown of
    # the work already accepted.
    closing = threading.Thread(target=handler.close, name="socket-mode-close", daemon=True)
    closing.start()
    closing.join(SOCKET_CLOSE_SECONDS)
    if closing.is_alive():
        log.warning("socket_mode_close_timed_out", seconds=SOCKET_CLOSE_SECONDS)
    return 0
