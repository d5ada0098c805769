"""The deployment's resources, built in one place from the environment (names in settings.py). Secrets only
through dagster.EnvVar (resolved at run time, shown by name in the UI); plain settings fall back to each
resource's own default. The code location and every CLI command build their resources here."""

from __future__ import annotations

from contextlib import suppress
from typing import Any, TypeVar

import dagster as dg

from paperplan_sync import settings as env
from paperplan_sync.alerting.slack import SlackResource
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.sources import registry
from paperplan_sync.storage.mongo import MongoResource

R = TypeVar("R", bound=dg.ConfigurableResource)


def _fields(**names: str) -> dict[str, Any]:
    """Field -> EnvVar for each variable that is set; an unset one leaves the resource's own default."""
    return {field: dg.EnvVar(name) for field, name in names.items() if env.is_set(name)}


def _numbers(cast: type, **names: str) -> dict[str, Any]:
    """Numeric tuning knobs, read when the code location loads (an EnvVar holds only strings)."""
    return {field: cast(env.value(name)) for field, name in names.items() if env.is_set(name)}


def _state() -> dict[str, Any]:
    """The shared state (limiters, month count, configuration snapshot) lives in MongoDB: every machine sees it.
    Without MONGODB_URI (e.g. the watchdog's machine) it falls back to this machine's state directory."""
    return _fields(state_mongodb_uri=env.MONGODB_URI, state_database=env.MONGODB_DATABASE)


def airtable_resource() -> AirtableResource:
    return AirtableResource(
        api_key=dg.EnvVar(env.AIRTABLE_API_KEY),
        base_id=dg.EnvVar(env.AIRTABLE_BASE_ID),
        **_fields(endpoint_url=env.AIRTABLE_ENDPOINT_URL),
        **_state(),
        **_numbers(int, monthly_quota=env.AIRTABLE_MONTHLY_QUOTA),
    )


def mongo_resource() -> MongoResource:
    return MongoResource(uri=dg.EnvVar(env.MONGODB_URI), **_fields(database=env.MONGODB_DATABASE))


def source_resource(name: str) -> dg.ConfigurableResource:
    """A registered API source's resource (sources/registry.py), wired from the variables it declares; its
    limits are shared by every process like Airtable's limiter."""
    return registry.get(name).resource_from_env(**_state())


def slack_resource() -> SlackResource:
    return SlackResource(
        token=dg.EnvVar(env.SLACK_BOT_TOKEN),
        **_fields(
            base_url=env.SLACK_BASE_URL,
            channel=env.SLACK_CHANNEL,
            webserver_url=env.DAGSTER_WEBSERVER_URL,
            ui_url=env.UI_URL,
        ),
    )


def production_resources() -> dict[str, dg.ConfigurableResource]:
    # Any of these may be unset while developing: the code location still loads, and only a run that
    # needs the missing secret fails, naming the variable.
    return {
        "airtable": airtable_resource(),
        "mongo": mongo_resource(),
        **{name: source_resource(name) for name in registry.names()},
        "slack": slack_resource(),
    }


def resolved(resource: R) -> R | None:
    """The resource with its EnvVars read now, for code that runs outside Dagster (the CLI, the code location's
    configuration read); None when a variable it needs is not set (`paperplan-sync doctor` names it). Dagster
    refuses this for a resource with teardown (the API sources): `doctor` resolves those as context managers."""
    with suppress(dg.DagsterInvalidConfigError):
        return resource.process_config_and_initialize()
    return None
