"""The one GraphQL client: every query the product sends is valid for the pinned Dagster's schema, and any
answer that is not data (no server, a timeout, an HTTP error, not JSON, GraphQL errors) is one GraphQLError
that never names the webserver's address. Over real HTTP, against a small webserver stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from graphql import parse, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from paperplan_local.runner import ServerThread, free_port
from paperplan_sync.ops import backfill, graphql, health
from paperplan_sync.ops.graphql import GraphQLError
from paperplan_sync.scheduling.scheduler import request_reload

DAEMONS = {
    "allDaemonStatuses": [
        {"daemonType": "SENSOR", "healthy": True, "required": True, "lastHeartbeatTime": 1.0},
        {"daemonType": "SCHEDULER", "healthy": False, "required": True, "lastHeartbeatTime": 2.0},
        {"daemonType": "MONITORING", "healthy": False, "required": False, "lastHeartbeatTime": None},
    ]
}
LOCATIONS = [
    {"name": "paperplan_sync", "loadStatus": "LOADED", "locationOrLoadError": {"__typename": "RepositoryLocation"}},
    {
        "name": "broken",
        "loadStatus": "LOADED",
        "locationOrLoadError": {"__typename": "PythonError", "message": "boom\nx"},
    },
]


async def answer(request: Request):
    """The answer the query's first comment asks for (``# ok``, ``# errors``, ``# 500``...), else Dagster-like data."""
    body = await request.json()
    document = body["query"]
    if "# errors" in document:
        return JSONResponse({"errors": [{"message": "Cannot query field 'x'"}, {"message": "second"}], "data": None})
    if "# 500" in document:
        return PlainTextResponse("upstream down", status_code=502)
    if "# html" in document:
        return PlainTextResponse("<html>login</html>")
    if "# slow" in document:
        await asyncio.sleep(2)
    if "reloadRepositoryLocation" in document:
        kind = (
            "WorkspaceLocationEntry" if body["variables"]["name"] == "paperplan_sync" else "RepositoryLocationNotFound"
        )
        return JSONResponse({"data": {"reloadRepositoryLocation": {"__typename": kind}}})
    if "daemonHealth" in document:
        workspace = {"__typename": "Workspace", "locationEntries": LOCATIONS}
        return JSONResponse({"data": {"instance": {"daemonHealth": DAEMONS}, "workspaceOrError": workspace}})
    return JSONResponse({"data": {"echo": body["variables"]}})


def server_info(request: Request):
    return JSONResponse({"dagster_version": "1.13.27"})


@pytest.fixture(scope="module")
def webserver() -> Iterator[str]:
    app = Starlette(routes=[Route("/graphql", answer, methods=["POST"]), Route("/server_info", server_info)])
    server = ServerThread(app).start()
    try:
        # Credentials in the address (a login proxy): no error message may repeat them.
        yield server.url.replace("http://", "http://ops:s3cret@")
    finally:
        server.stop()


@pytest.mark.parametrize(
    "document",
    [
        backfill.ASSETS_QUERY,
        backfill.LAUNCH,
        backfill.STATUS,
        health.DAEMON_QUERY,
        graphql.RELOAD,
    ],
)
def test_every_query_the_product_sends_is_valid_for_the_pinned_dagster(document):
    from dagster_graphql.schema import create_schema

    assert validate(create_schema().graphql_schema, parse(document)) == []


def test_an_answer_with_data_is_its_data(webserver):
    assert graphql.query(webserver, "query($a: Int) { echo }", {"a": 1}) == {"echo": {"a": 1}}


@pytest.mark.parametrize(
    "document,message",
    [
        ("# errors\n{ x }", "Cannot query field 'x'; second"),
        ("# 500\n{ x }", "the webserver answered HTTP 502"),
        ("# html\n{ x }", "the webserver's answer is not JSON"),
        ("# slow\n{ x }", "the webserver did not answer (ReadTimeout)"),
    ],
)
def test_every_other_answer_is_one_graphql_error(webserver, document, message):
    with pytest.raises(GraphQLError) as raised:
        graphql.query(webserver, document, timeout=0.5)
    assert str(raised.value) == message


def test_no_webserver_is_a_graphql_error_that_does_not_name_the_address():
    with pytest.raises(GraphQLError) as raised:
        graphql.query(f"http://ops:s3cret@127.0.0.1:{free_port()}", "{ x }")
    assert str(raised.value) == "the webserver did not answer (ConnectionError)"
    assert "s3cret" not in str(raised.value)


def test_a_reload_request_says_whether_the_location_reloaded(webserver):
    assert request_reload(webserver) is None  # settings.CODE_LOCATION_NAME: paperplan_sync
    assert graphql.reload_location(webserver, "elsewhere") == "RepositoryLocationNotFound"
    assert request_reload(f"http://127.0.0.1:{free_port()}") == (
        "reload request failed: the webserver did not answer (ConnectionError)"
    )


def test_health_reads_daemons_and_code_locations_through_the_client(webserver):
    checks = {c.name: (c.ok, c.detail) for c in health.check_dagster(webserver).checks}
    assert checks["daemon SENSOR"] == (True, "heartbeat ok")
    assert checks["daemon SCHEDULER"] == (False, "no recent heartbeat (last: 2.0)")
    assert "daemon MONITORING" not in checks  # not required by this instance
    assert checks["code location paperplan_sync"] == (True, "loaded")
    assert checks["code location broken"] == (False, "boom")
