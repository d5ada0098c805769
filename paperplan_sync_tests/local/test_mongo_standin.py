"""The SecantusDB stand-in as a separate process: start, stop, persistence, errors, foreground CLI mode."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from pymongo import MongoClient

from paperplan_local.mongo import MongoStandIn, StandInError, free_port

pytestmark = pytest.mark.slow  # starts and stops MongoDB stand-in servers


def client(uri: str) -> MongoClient:
    return MongoClient(uri, serverSelectionTimeoutMS=3000)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_start_and_stop_with_a_temp_dir():
    server = MongoStandIn().start()
    try:
        assert server.uri == f"mongodb://127.0.0.1:{server.port}/"
        assert client(server.uri).admin.command("ping")["ok"] == 1.0
        state = server.state_dir
        assert state.exists()
        pgid = os.getpgid(server.pid)
        assert pgid == server.pid != os.getpgid(0)  # its own process group
    finally:
        code = server.stop()
    assert code is not None and not server.running
    assert not port_open(server.port)
    assert not state.exists()  # the temp state goes with the server
    assert server.stop() is None  # idempotent


def test_state_persists_across_restart(tmp_path):
    state = tmp_path / "mongo"
    with MongoStandIn().start(state_dir=state) as server:
        client(server.uri)["keep"]["docs"].insert_one({"_id": 1, "v": "kept"})
    assert state.exists()
    with MongoStandIn().start(state_dir=state) as server:
        assert client(server.uri)["keep"]["docs"].find_one({"_id": 1}) == {"_id": 1, "v": "kept"}


def test_second_server_on_the_same_state_dir_fails_with_its_output(tmp_path):
    with MongoStandIn().start(state_dir=tmp_path) as first:
        with pytest.raises(StandInError, match="exited with code") as err:
            MongoStandIn().start(state_dir=tmp_path)
        assert len(str(err.value).splitlines()) > 1  # the server's own output follows
        assert client(first.uri).admin.command("ping")["ok"] == 1.0


def test_busy_port_is_reported(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StandInError):
            MongoStandIn().start(port=port)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_foreground_mode_stops_cleanly_on_signals(tmp_path, sig):
    port = free_port()
    code = (
        "import sys; from paperplan_local.mongo import run_foreground; "
        "sys.exit(run_foreground(int(sys.argv[1]), sys.argv[2]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(port), str(tmp_path / "state")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first_line = proc.stdout.readline()  # printed once the server answers
        assert f"on mongodb://127.0.0.1:{port}/" in first_line, first_line + proc.stdout.read()
        client(f"mongodb://127.0.0.1:{port}")["fg"]["docs"].insert_one({"x": 1})
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stand-in stopped" in out
    assert not port_open(port)
