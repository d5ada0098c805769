"""The login in front of the UI: Debian's nginx with deploy/proxy/paperplan-sync.conf in front of a real
`dagster dev` webserver and a real `paperplan-sync api` (both started by local.stack), spoken to over TLS as a
browser / Airtable would.

Needs Debian's `nginx` (`make test` installs it when missing). The shipped site file is used as is; only
its machine-specific values (ports, certificate and password-file paths) are swapped for the test's.
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from paperplan_local.runner import free_port
from paperplan_sync_tests.e2e.devtools import browser
from paperplan_sync_tests.e2e.test_browser import CHROMIUM
from paperplan_sync_tests.fixtures.dagster_dev import wait_until

pytestmark = pytest.mark.e2e

SITE = Path(__file__).resolve().parents[2] / "deploy" / "proxy" / "paperplan-sync.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USER, PASSWORD = "ops", "correct horse battery staple"


def _run(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True).stdout


def render_site(
    *, https_port: int, http_port: int, webserver_port: int, api_port: int, cert: Path, key: Path, htpasswd: Path
) -> str:
    """The shipped site file with this machine's values; each swapped value must be in it exactly as named."""
    text = SITE.read_text()
    swaps = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "/etc/paperplan/tls/fullchain.pem": str(cert),
        "/etc/paperplan/tls/privkey.pem": str(key),
        "/etc/paperplan/htpasswd": str(htpasswd),
        "127.0.0.1:3000": f"127.0.0.1:{webserver_port}",
        "127.0.0.1:8710": f"127.0.0.1:{api_port}",
    }
    for old, new in swaps.items():
        assert old in text, f"{SITE.name} no longer contains {old!r}: update this test's swaps"
        text = text.replace(old, new)
    return text


@dataclass
class Proxy:
    url: str
    http_url: str
    cert: Path

    def client(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls(), auth=auth, timeout=30, follow_redirects=False)

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))  # trusts the test's self-signed certificate only


@pytest.fixture(scope="module")
def nginx() -> str:
    if not os.path.exists(NGINX):
        message = "nginx is missing: install Debian's nginx (apt-get install -y nginx); `make test` does"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return NGINX


@pytest.fixture(scope="module")
def api_service(dagster_dev) -> str:
    """The product's `paperplan-sync api` (the public /api page and the webhook receiver) beside the webserver."""

    def answers() -> bool:
        try:
            return httpx.get(f"{dagster_dev.api_url}/api", timeout=5).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    wait_until(answers, 60, 0.5, "paperplan-sync api")
    return dagster_dev.api_url


@pytest.fixture(scope="module")
def proxy(nginx, dagster_dev, api_service, tmp_path_factory) -> Iterator[Proxy]:
    root = tmp_path_factory.mktemp("nginx")
    cert, key, htpasswd = root / "fullchain.pem", root / "privkey.pem", root / "htpasswd"
    # The same commands deploy/proxy/install.sh runs.
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    )
    htpasswd.write_text(f"{USER}:{_run('openssl', 'passwd', '-6', '-stdin', stdin=PASSWORD).strip()}\n")
    https_port, http_port = free_port(), free_port()
    site = root / "paperplan-sync.conf"
    site.write_text(
        render_site(
            https_port=https_port,
            http_port=http_port,
            webserver_port=int(dagster_dev.webserver_url.rsplit(":", 1)[1]),
            api_port=int(api_service.rsplit(":", 1)[1]),
            cert=cert,
            key=key,
            htpasswd=htpasswd,
        )
    )
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Running as root, nginx's workers would drop to `nobody`, who cannot read the test's files.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {root / 'nginx.pid'};\nerror_log stderr;\n"
        f"events {{}}\nhttp {{\n    access_log {root / 'access.log'};\n{temp}\n    include {site};\n}}\n"
    )
    _run(nginx, "-t", "-e", "stderr", "-p", str(root), "-c", str(root / "nginx.conf"))
    log = open(root / "nginx.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [nginx, "-e", "stderr", "-p", str(root), "-c", str(root / "nginx.conf")], stdout=log, stderr=subprocess.STDOUT
    )
    result = Proxy(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", cert)

    def up() -> bool:
        assert proc.poll() is None, (root / "nginx.log").read_text()
        try:
            httpx.get(result.url + "/api", verify=result.tls(), timeout=5)
            return True
        except httpx.ConnectError:
            return False

    try:
        wait_until(up, 20, 0.2, "nginx")
        yield result
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.mark.parametrize(
    "method,path", [("GET", "/"), ("GET", "/assets"), ("POST", "/graphql"), ("GET", "/server_info"), ("GET", "/api/")]
)
def test_without_credentials_the_ui_and_graphql_answer_401(proxy, method, path):
    with proxy.client() as client:
        response = client.request(method, path, json={"query": "{ version }"} if method == "POST" else None)
    assert response.status_code == 401, (path, response.status_code, response.text[:200])
    assert response.headers["www-authenticate"] == 'Basic realm="PaperPlan Sync"'
    assert "dagster" not in response.text.lower()


def test_a_wrong_password_answers_401(proxy):
    with proxy.client(auth=(USER, "wrong")) as client:
        assert client.post("/graphql", json={"query": "{ version }"}).status_code == 401


def test_with_credentials_the_ui_and_graphql_answer(proxy):
    with proxy.client(auth=(USER, PASSWORD)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<title" in page.text and "Dagster</title>" in page.text, page.text[:300]
        answer = client.post("/graphql", json={"query": "{ version }"})
        assert answer.status_code == 200 and answer.json()["data"]["version"], answer.text[:300]


def test_api_and_the_webhook_answer_without_credentials(proxy, api_service):
    with proxy.client() as client:
        health = client.get("/api")
        direct = httpx.get(f"{api_service}/api", timeout=10)
        assert (health.status_code, health.text) == (direct.status_code, direct.text)
        assert health.status_code in (200, 503) and health.headers["content-type"].startswith("text/plain")
        assert "www-authenticate" not in health.headers
        # The webhook path reaches the api service (which judges the ping's MAC), not the login.
        ping = client.post(
            "/airtable/webhook",
            json={"base": {"id": "app"}, "webhook": {"id": "ach"}, "timestamp": "2026-01-01T00:00:00.000Z"},
        )
        assert ping.headers.get("www-authenticate") is None and "nginx" not in ping.text, (
            ping.status_code,
            ping.text[:200],
        )
        # Only the methods those paths need; other verbs never reach a backend.
        assert client.post("/api").status_code == 403
        assert client.get("/airtable/webhook").status_code == 403


def test_api_reports_healthy_through_the_proxy(proxy):
    with proxy.client() as client:
        health = wait_until(lambda: (r := client.get("/api")).status_code == 200 and r, 60, 2, "/api to say healthy")
    assert health.text.strip() == "Hello world!"


def test_plain_http_redirects_to_https(proxy):
    response = httpx.get(proxy.http_url + "/", timeout=10, follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"].startswith("https://")


def test_the_ui_renders_in_a_browser_after_login(proxy, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with browser(CHROMIUM, tmp_path / "profile", "--ignore-certificate-errors") as page:
        # What a browser sends once the person has typed the login into its dialog.
        page.send("Network.enable")
        page.send("Network.setExtraHTTPHeaders", headers={"Authorization": f"Basic {token}"})
        page.open(proxy.url + "/assets")
        wait_until(lambda: "amazon_sp" in page.text() and "paperplan_sync" in page.text(), 60, 1, "the asset list")
        print(f"\nscreenshot: {page.screenshot(tmp_path / 'ui-behind-proxy.png')}")
