"""Headless Chromium driven over the DevTools protocol, for tests that must act in a page (fill a form,
press a button, log in) rather than only render it (test_browser.py's --dump-dom)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from websockets.sync.client import connect

from paperplan_local.runner import free_port
from paperplan_sync_tests.e2e.test_browser import CHROMIUM_FLAGS
from paperplan_sync_tests.fixtures.dagster_dev import wait_until


class Page:
    """One tab: open a URL, run a line of script in it, wait for the next page."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def eval(self, expression: str):
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        wait_until(
            lambda: self.eval("document.readyState") == "complete" and self.eval("location.href").startswith(url),
            30,
            0.2,
            url,
        )

    def submit(self, script: str) -> None:
        """Runs ``script`` (which presses a button) and waits until the next page has loaded."""
        self.eval("window.previousPage = true")
        self.eval(script)
        wait_until(
            lambda: self.eval("!window.previousPage && document.readyState === 'complete'"), 30, 0.2, "the next page"
        )

    def text(self) -> str:
        return self.eval("document.body ? document.body.innerText : ''") or ""

    def screenshot(self, path: Path) -> Path:
        import base64

        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return path


@contextmanager
def browser(binary: Path, profile: Path, *flags: str) -> Iterator[Page]:
    port = free_port()
    base = [f for f in CHROMIUM_FLAGS if not f.startswith("--virtual-time-budget")]  # real time: we wait ourselves
    proc = subprocess.Popen(
        [str(binary), *base, *flags, f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def page_target():
        try:
            return next(
                (t for t in httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json() if t["type"] == "page"),
                None,
            )
        except httpx.HTTPError:
            return None

    try:
        target = wait_until(page_target, 30, 0.3, "chromium's DevTools endpoint")
        with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            yield Page(ws)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
