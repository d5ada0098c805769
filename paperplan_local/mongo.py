"""The local MongoDB stand-in (SecantusDB) as a separate server process.

Production talks to a real MongoDB through ``MONGODB_URI``; tests and local development run
``secantusd-py`` (a development dependency, GPL-2.0, kept out of our process) on a loopback port:

    with MongoStandIn().start() as server:      # temp state, free port
        client = MongoClient(server.uri)

The server runs in its own process group (so a Ctrl-C meant for a test runner does not kill it half-way,
and ``stop()`` can signal everything it spawned) and is stopped with SIGTERM, then SIGKILL if it does not
exit in time (a busy server can sit in native code and not run its Python signal handler for a while).
On Linux the server is also SIGKILLed if the thread that started it dies, so a killed test session leaves
no orphan: start it from a long-lived thread (normally the main thread).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

from pymongo import MongoClient
from pymongo.errors import PyMongoError

LOOPBACK = "127.0.0.1"
EXECUTABLE = "secantusd-py"
START_TIMEOUT_S = 30.0  # first ping usually after ~1 s; generous for a loaded CI machine
STOP_TIMEOUT_S = 10.0
PING_INTERVAL_S = 0.05
STDERR_TAIL_CHARS = 2000
PORT_ATTEMPTS = 3
# SecantusDB's default is 1G. Committing a transaction bigger than ~3% of the cache stalls it for good
# (measured: 256M hangs at 15k rows of 20 fields, 1G at 60k; 4G commits 100k). 4G keeps that point well
# above what the product lets one transaction hold (loads.TXN_MAX_BYTES). Memory is used only as needed.
CACHE_SIZE = "4G"
PR_SET_PDEATHSIG = 1  # a free port picked by us can be taken by someone else before the server binds it


class StandInError(RuntimeError):
    """The stand-in could not be started (missing executable, died at start-up, never answered)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec (Linux): SIGKILL it when the process that started it dies, even by
    SIGKILL, so a crashed test session never leaves an orphan server. --sync-on-commit makes that safe."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass  # not Linux: atexit in the parent still covers normal exits


def executable() -> str:
    """``secantusd-py`` from the running interpreter's environment (the venv), else from PATH."""
    beside = Path(sys.executable).parent / EXECUTABLE
    if beside.exists():
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if not found:
        raise StandInError(
            f"{EXECUTABLE} not found next to {sys.executable} nor on PATH; install the dev extra (SecantusDB==0.7.0b3)"
        )
    return found


class MongoStandIn:
    """One SecantusDB server process. ``uri`` is valid between ``start()`` and ``stop()``."""

    def __init__(self, *, standalone: bool = False, cache_size: str = CACHE_SIZE):
        # standalone=True advertises a standalone topology (no transactions): tests the product's fallback.
        self.standalone = standalone
        self.cache_size = cache_size
        self.port: int | None = None
        self.state_dir: Path | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._log = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise StandInError("the stand-in is not started")
        return f"mongodb://{LOOPBACK}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, port: int | None = None, state_dir: str | os.PathLike | None = None) -> MongoStandIn:
        if self.running:
            raise StandInError(f"already running on port {self.port}")
        self._tmp = tempfile.TemporaryDirectory(prefix="paperplan-mongo-")
        self.state_dir = Path(state_dir) if state_dir else Path(self._tmp.name) / "data"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = Path(self._tmp.name) / "secantusd.log"
        attempts = 1 if port else PORT_ATTEMPTS
        for attempt in range(attempts):
            self.port = port or free_port()
            try:
                self._spawn_and_wait()
                break
            except StandInError:
                self._kill()
                if attempt == attempts - 1 or "address already in use" not in self.log_tail().lower():
                    self._cleanup_tmp()
                    raise
        atexit.register(self.stop)  # never leave an orphan server behind a crashed test session
        return self

    def _spawn_and_wait(self) -> None:
        cmd = [
            executable(),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.state_dir),
            "--sync-on-commit",
            "--cache-size",
            self.cache_size,
        ]
        if self.standalone:
            cmd.append("--standalone")
        # A file, not a pipe (a full pipe would block the server); open for the server's whole life.
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self._tmp.name,
            start_new_session=True,
            # only calls prctl, which is safe between fork and exec
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )  # noqa: PLW1509
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise StandInError(
                    f"{EXECUTABLE} exited with code {self._proc.returncode} at start-up "
                    f"(port {self.port}, state {self.state_dir}):\n{self.log_tail()}"
                )
            if self._ping():
                return
            time.sleep(PING_INTERVAL_S)
        raise StandInError(f"{EXECUTABLE} did not answer a ping within {START_TIMEOUT_S:.0f}s:\n{self.log_tail()}")

    def _ping(self) -> bool:
        client = MongoClient(self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500, appname="standin-ping")
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def log_tail(self, chars: int = STDERR_TAIL_CHARS) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:] if self.log_path else ""
        except FileNotFoundError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM the process group, wait, SIGKILL if needed. Returns the exit code (None if not running)."""
        atexit.unregister(self.stop)
        if self._proc is None:
            return None
        code = self._proc.poll()
        if code is None:
            self._signal_group(signal.SIGTERM)
            try:
                code = self._proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
                code = self._proc.returncode
        self._proc = None
        self._close_log()
        self._cleanup_tmp()
        return code

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self._proc.wait(STOP_TIMEOUT_S)
        self._close_log()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self._proc.pid, sig)  # pgid == pid: started with start_new_session
        except ProcessLookupError:
            pass

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _cleanup_tmp(self) -> None:
        # The temp dir holds the log and, when no state_dir was given, the data: both go with the server.
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def wait(self) -> int:
        """Block until the server exits on its own; returns its exit code."""
        if self._proc is None:
            raise StandInError("the stand-in is not started")
        return self._proc.wait()

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_foreground(port: int = 27017, state_dir: str | os.PathLike | None = None) -> int:
    """``paperplan-sync local mongo``: run the stand-in until Ctrl-C / SIGTERM, then stop it cleanly."""
    server = MongoStandIn()
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start(port=port, state_dir=state_dir)
        where = state_dir or "a temporary directory (deleted on exit)"
        print(f"MongoDB stand-in (SecantusDB) on {server.uri} with state in {where}; Ctrl-C to stop", flush=True)
        print(f"  export MONGODB_URI={server.uri}", flush=True)
        code = server.wait()
        print(f"stand-in exited with code {code}:\n{server.log_tail()}", file=sys.stderr, flush=True)
        return code or 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if stopping:
            print("stand-in stopped", flush=True)
