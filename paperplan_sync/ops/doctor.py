"""`paperplan-sync doctor`: every setting and connection, each with a fix. Never shows a secret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from paperplan_sync import settings
from paperplan_sync.control_plane.schema import load_base_schema
from paperplan_sync.sources import registry


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _safe(name: str, fix: str, check: Callable[[], str]) -> Finding:
    try:
        return Finding(name, True, check())
    except Exception as exc:  # every failure becomes a row; the message is ours or the server's, no secrets
        return Finding(name, False, f"{type(exc).__name__}: {str(exc)[:200]}", fix)


def check_environment() -> list[Finding]:
    findings = []
    for system, names in {**settings.REQUIRED, **registry.required_env()}.items():
        missing = [n for n in names if not settings.is_set(n)]
        findings.append(
            Finding(
                f"settings: {system}",
                not missing,
                "all set" if not missing else f"missing {', '.join(missing)}",
                f"set {', '.join(missing)} in the environment (see README: Environment variables)" if missing else "",
            )
        )
    return findings


def schema_differences(airtable) -> list[str]:
    existing = {t.name: {f.name: f.type for f in t.fields} for t in airtable.api.base(airtable.base_id).schema().tables}
    problems = []
    for table in load_base_schema()["tables"]:
        have = existing.get(table["name"])
        if have is None:
            problems.append(f"table {table['name']} missing")
            continue
        for field in table["fields"]:
            if field["name"] not in have:
                problems.append(f"{table['name']}.{field['name']} missing")
            elif have[field["name"]] != field["type"]:
                problems.append(f"{table['name']}.{field['name']} is {have[field['name']]}, expected {field['type']}")
    return problems


def _airtable_check(airtable) -> str:
    problems = schema_differences(airtable)
    if problems:
        raise ValueError("; ".join(problems[:6]) + (" …" if len(problems) > 6 else ""))
    return f"base {airtable.base_id}: every SYNC table and field present"


def _config_check(airtable) -> str:
    from paperplan_sync.config.loader import load_config

    config = load_config(airtable)
    if config.problems:
        raise ValueError(f"{len(config.problems)} row(s) skipped, first: {config.problems[0]}")
    return f"{len(config.active_report_types)} active report type(s), {len(config.automations)} automation(s)"


def _mongo_check(mongo) -> str:
    db = mongo.db()
    db.command("ping")
    inserted = db["_doctor"].insert_one({"check": "write"}).inserted_id
    db["_doctor"].delete_one({"_id": inserted})
    return f"database {db.name}: reachable and writable"


def _dead_letters_check(mongo) -> str:
    from paperplan_sync.control_plane.writer import refused_fields
    from paperplan_sync.storage import outbox

    dead = outbox.dead_letters(mongo.db())
    if dead:
        listed = [f"{e['payload']['table']} ({refused_fields(e)}): {str(e.get('last_error'))[:120]}" for e in dead[:5]]
        raise ValueError(f"{len(dead)} Airtable write(s) set aside: " + "; ".join(listed))
    return "no Airtable write set aside"


def _slack_check(slack) -> str:
    who = slack.auth_test()
    return f"token valid for team {who.get('team')} as {who.get('user')}"


def _slack_channel_check(slack) -> str:
    channel = slack.channel_access()
    return f"alerts go to #{channel['name']} ({channel['id']}); the app is a member and may post"


def _dagster_check() -> str:
    import dagster as dg

    instance = dg.DagsterInstance.get()
    return f"instance at {instance.root_directory}, run storage {type(instance.run_storage).__name__}"


# (resource key, finding, fix, check) for each connection, in the order `doctor` prints them.
_CHECKS: tuple[tuple[str, str, str, Callable[[Any], str]], ...] = (
    (
        "airtable",
        "Airtable base",
        "run `paperplan-sync init-airtable`, or check AIRTABLE_BASE_ID / the key's scopes",
        _airtable_check,
    ),
    ("airtable", "configuration", "fix the named row in Airtable (see `paperplan-sync config show`)", _config_check),
    ("mongo", "MongoDB", "check MONGODB_URI (user, password, network access) and that the server runs", _mongo_check),
    (
        "mongo",
        "Airtable dead letters",
        "fix the named table/field in Airtable; the set-aside writes are in the MongoDB "
        'outbox collection (status "dead")',
        _dead_letters_check,
    ),
    ("slack", "Slack", "check SLACK_BOT_TOKEN and that the app is installed in the workspace", _slack_check),
    (
        "slack",
        "Slack channel",
        "check SLACK_CHANNEL (a channel name or ID) and invite the app to it",
        _slack_channel_check,
    ),
)


def _source_findings(resources: dict[str, Any]) -> list[Finding]:
    """Each registered API source's credentials, checked by the source itself (a token exchange)."""
    findings = []
    for name, registered in registry.sources().items():
        source = resources.get(name)
        if source is not None:
            label = registered.label
            fix = f"check the {label} LWA client id/secret and refresh token"
            findings.append(_safe(f"{label} credentials", fix, source.check_access))
    return findings


def run_doctor(resources: dict[str, object]) -> list[Finding]:
    """``resources``: plain (resolved) resource objects keyed like the deployment's."""
    findings = check_environment()
    if resources.get("airtable") is not None:
        findings += airtable_usage(resources["airtable"])
    for key, name, fix, check in _CHECKS:
        resource = resources.get(key)
        if resource is not None:
            findings.append(_safe(name, fix, partial(check, resource)))
    findings += _source_findings(resources)
    findings.append(
        _safe(
            "Dagster instance",
            "set DAGSTER_HOME to a directory with dagster.yaml (deploy/dagster.yaml in production)",
            _dagster_check,
        )
    )
    return findings


def airtable_usage(airtable) -> list[Finding]:
    """The change-detection mode in force, what it costs, and the month's calls against the plan's quota."""
    from paperplan_sync.control_plane.changes import change_settings
    from paperplan_sync.control_plane.usage import mode_line, month_line

    mode = _safe(
        "Airtable change detection",
        "set PAPERPLAN_CHANGE_DETECTION to webhook or poll",
        lambda: mode_line(change_settings(), airtable.monthly_quota),
    )
    try:
        ok, text = month_line(airtable)
    except Exception as exc:  # the shared state (MongoDB) unreachable: the MongoDB row says why
        ok, text = False, f"month's usage unknown ({type(exc).__name__})"
    return [
        mode,
        Finding(
            "Airtable quota", ok, text, "" if ok else "fewer automations, webhook mode, or a plan with a larger quota"
        ),
    ]
