"""A production WSGI server (waitress) that can also run inside tests and benchmarks."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server


class HttpServer:
    """waitress in a background thread, with a clean stop.

    waitress has no thread-safe shutdown, so the event loop runs here in short polls and
    closes its own sockets when asked to stop.
    """

    def __init__(
        self,
        wsgi_app: Any,
        *,
        host: str,
        port: int,
        threads: int,
        max_body_bytes: int,
        connection_limit: int = 1000,
        channel_timeout: float = 30,
    ) -> None:
        # waitress reads a whole request before a thread sees it, so a slow client holds a
        # connection, not a thread: `connection_limit` (waitress: 100) is what a slowloris
        # exhausts, and `channel_timeout` closes a connection that sends nothing. A client
        # trickling a byte at a time still holds one; the buffering reverse proxy HTTP mode
        # expects (docs/install.md) absorbs those.
        self._server: Any = create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            # The app answers 413 above max_body_bytes; waitress reads up to twice that so
            # the client finishes sending and gets the answer instead of a broken pipe.
            max_request_body_size=max_body_bytes * 2,
            connection_limit=connection_limit,
            channel_timeout=channel_timeout,
            cleanup_interval=max(1, min(30, int(channel_timeout / 3))),
            ident="firebreak",
            clear_untrusted_proxy_headers=True,
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        host = self._server.effective_host
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"  # noqa: S104

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        socket_map = self._server._map
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=0.05, map=socket_map, count=1)
        finally:
            wasyncore.close_all(socket_map)
            self._server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
