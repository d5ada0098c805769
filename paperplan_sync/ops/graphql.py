"""The one client of the Dagster webserver's GraphQL API: backfills, health, code location reloads.

Every caller goes through ``query``: one POST to ``<webserver>/graphql`` with one timeout (``TIMEOUT_S``
unless the caller has a tighter deadline, such as a sensor tick or a health probe) and one error policy:
whatever keeps an answer from arriving (no connection, a timeout, an HTTP error status, a body that is not
GraphQL's JSON) or a GraphQL error list raises ``GraphQLError``. Its message names the kind of failure or
the server's errors, never the webserver's address (it may carry the login proxy's credentials).

Dagster's own ``DagsterGraphQLClient`` (dagster-graphql) is not used: its public methods cover launching and
terminating job runs, a run's status and reloading a location, while what we send is mostly custom queries
(partition backfills and their progress, partition statuses, daemon health) that it runs only through its
private ``_execute``. It also takes a host, port and path prefix rather than the URL we are configured with.
One small module over ``requests`` keeps the reload and the custom queries under the same policy.
"""

from __future__ import annotations

import requests

TIMEOUT_S = 60.0  # an operator command waits for a busy webserver
TICK_TIMEOUT_S = 30.0  # inside a sensor tick, which Dagster gives 60 s in all

RELOAD = """
mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) { __typename
  ... on WorkspaceLocationEntry { loadStatus } ... on PythonError { message }
  ... on ReloadNotSupported { message } ... on RepositoryLocationNotFound { message } } }
"""


class GraphQLError(Exception):
    """The webserver gave no usable answer, or answered with GraphQL errors."""


def query(webserver_url: str, document: str, variables: dict | None = None, *, timeout: float = TIMEOUT_S) -> dict:
    """The ``data`` of one GraphQL request; GraphQLError for anything else."""
    try:
        response = requests.post(
            f"{webserver_url.rstrip('/')}/graphql",
            json={"query": document, "variables": variables or {}},
            timeout=timeout,
        )
        response.raise_for_status()
        payload = response.json()
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        raise GraphQLError(f"the webserver answered HTTP {status}") from exc
    except requests.JSONDecodeError as exc:  # a proxy's login or error page, say
        raise GraphQLError("the webserver's answer is not JSON") from exc
    except requests.RequestException as exc:
        raise GraphQLError(f"the webserver did not answer ({type(exc).__name__})") from exc
    if not isinstance(payload, dict):
        raise GraphQLError("the webserver's answer is not a GraphQL response")
    if payload.get("errors"):
        raise GraphQLError("; ".join(str(e.get("message", "?")) for e in payload["errors"]))
    if not isinstance(payload.get("data"), dict):
        raise GraphQLError("the webserver's answer holds no data")
    return payload["data"]


def expect(result: dict, typename: str) -> dict:
    """A union result (``... OrError``) of the type a caller needs; GraphQLError naming what came instead."""
    if result.get("__typename") != typename:
        raise GraphQLError(f"{result.get('__typename')}: {result.get('message') or result}")
    return result


def reload_location(webserver_url: str, name: str, *, timeout: float = TICK_TIMEOUT_S) -> str:
    """Ask the webserver to reload a code location: the answer's type (``WorkspaceLocationEntry`` when it
    reloaded; ``ReloadNotSupported``, ``RepositoryLocationNotFound``, ``PythonError`` when not)."""
    return query(webserver_url, RELOAD, {"name": name}, timeout=timeout)["reloadRepositoryLocation"]["__typename"]
