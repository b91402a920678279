"""The emulator's HTTP driver, bound to the test's running Firebreak."""

from __future__ import annotations

from app.runtime import Runtime
from emulator import SlackEmulator
from emulator.driver import HttpDriver


class SlackDriver(HttpDriver):
    """Signed requests to `runtime`'s server; each waits for the work after the ack."""

    def __init__(
        self, base_url: str, signing_secret: str, emulator: SlackEmulator, runtime: Runtime
    ) -> None:
        super().__init__(base_url, signing_secret, emulator, idle=runtime.wait_idle)
        self.runtime = runtime
