"""A local HTTP server standing in for an outside service, with fault injection.

Each service's emulator checks requests the way the service documents them (paths,
auth headers, body shapes) and records every request. Faults: `fail_next` answers with
an error status (429 with Retry-After, 5xx) before or after doing the work, `slow_next`
answers too late for the client's timeout, `hold` keeps a request until released (a
process can be killed meanwhile), and `down` answers 503 to everything.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Headers = dict[str, str]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Headers
    body: Any
    status: int
    at: float


@dataclass
class Fault:
    status: int
    times: int = 1
    retry_after: float | None = None
    after_work: bool = False
    delay: float = 0.0


@dataclass
class Hold:
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class ServiceError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class VendorEmulator:
    name = "vendor"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.down = False
        self._faults: list[Fault] = []
        self._holds: list[Hold] = []
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                emulator._serve(self)

            do_POST = do_GET  # noqa: N815
            do_PATCH = do_GET  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for hold in self._holds:
            hold.release()
        self._server.shutdown()
        self._server.server_close()

    # --- faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        after_work: bool = False,
    ) -> None:
        """Answer the next `times` requests with `status`; `after_work`: do the work first
        (the answer is lost, as when a connection drops)."""
        with self.lock:
            self._faults.append(Fault(status, times, retry_after, after_work))

    def slow_next(self, seconds: float) -> None:
        with self.lock:
            self._faults.append(Fault(200, 1, None, True, seconds))

    def hold(self) -> Hold:
        held = Hold()
        with self.lock:
            self._holds.append(held)
        return held

    def requests_to(self, method: str, path_prefix: str) -> list[Request]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    # --- serving ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Headers, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in http.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self.lock:
            hold = self._holds.pop(0) if self._holds else None
            fault = self._faults[0] if self._faults else None
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.pop(0)
        if hold is not None:
            hold.arrived.set()
            hold.released.wait(120)
        status, answer, extra = self._answer(http.command, http.path, headers, body, fault)
        with self.lock:
            self.requests.append(Request(http.command, http.path, headers, body, status, started))
        payload = json.dumps(answer).encode() if answer is not None else b""
        try:
            http.send_response(status)
            for key, value in extra.items():
                http.send_header(key, value)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(payload)))
            http.end_headers()
            http.wfile.write(payload)
        except OSError:
            pass  # the client gave up (a timeout test)

    def _answer(
        self, method: str, path: str, headers: Headers, body: Any, fault: Fault | None
    ) -> tuple[int, Any, Headers]:
        if self.down:
            return 503, {"message": "Service Unavailable"}, {}
        if fault is not None and not fault.after_work:
            return self._fault_answer(fault)
        try:
            status, answer = self.handle(method, path, headers, body)
        except ServiceError as error:
            status, answer = error.status, error.body
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
                return status, answer, {}
            return self._fault_answer(fault)
        return status, answer, {}

    @staticmethod
    def _fault_answer(fault: Fault) -> tuple[int, Any, Headers]:
        extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return fault.status, {"message": f"injected {fault.status}"}, extra
