"""Running a local stand-in: in the foreground (CLI) or in a background thread (tests, `local up`)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, host: str = LOOPBACK, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


def serve_forever(app, port: int, host: str = LOOPBACK) -> None:
    """Blocking; Ctrl-C / SIGTERM stop it cleanly (uvicorn's own signal handling)."""
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


class ServerThread:
    """An ASGI app on a real loopback port, in a daemon thread. ``url`` is its base address."""

    def __init__(self, app, port: int | None = None, host: str = LOOPBACK):
        self.host, self.port = host, port or free_port()
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # only the main thread may own signals
        self._thread = threading.Thread(target=self._server.run, name=f"stand-in:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        wait_for_port(self.port, self.host)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
