"""`python -m emulator --port 8089`: run the Slack emulator on its own."""

from __future__ import annotations

import argparse
import threading

from emulator.server import SlackEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Run the local Slack Web API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    options = parser.parse_args(argv)
    emulator = SlackEmulator(host=options.host, port=options.port)
    emulator.start()
    print(f"SLACK_API_URL={emulator.api_url}")
    print(f"SLACK_BOT_TOKEN={emulator.bot_token}")
    print(f"SLACK_APP_TOKEN={emulator.app_token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
