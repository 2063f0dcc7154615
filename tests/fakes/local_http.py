"""A fake API on a free loopback port: a handler class bound to its state, served in a thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalHTTPServer:
    """``with Fake(...) as fake:`` serves ``handler`` with ``handler.state = state``.

    ``url`` is the base URL the client under test gets as its api_url.
    """

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], state: object, path: str = ""
    ) -> None:
        bound = type("Handler", (handler,), {"state": state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
