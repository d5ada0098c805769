"""The quality checks as Dagster asset checks, the Reports *Check* field and the Slack message.

    check_specs=[..., *quality.check_specs(report_type, key, partitions)]      on the asset
    checks, metadata = quality.evaluate(context, report_type, done)             after the days are stored

A one-day run returns each check's result (Dagster files it under the day's partition). A run of several
days logs one evaluation per day (``partition=day``) and returns a summary result per check. Each stored day
also gets numeric metadata for the asset's Plots (``day_rows``, ``day_revenue``, ``day_units``). The Reports
record's Check field is written when its text changes; a day newly Failed posts one Slack message when the
type has Notify On Fail. Nothing here fails the run or touches the stored rows.
"""

# No `from __future__ import annotations`: kept like factory.py, whose context annotations Dagster inspects.
import warnings
from datetime import UTC, datetime

import dagster as dg

from paperplan_sync.config.models import ReportType
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.quality import checks, history
from paperplan_sync.quality.judge import Judgement, StoredDay, check_names, judge_day
from paperplan_sync.reports.load import DayResult, kind_for
from paperplan_sync.reports.partitions import day_key, local_today
from paperplan_sync.storage.loads import get_load

# Partitioned asset checks are a "preview" in the pinned Dagster; one warning per asset would fill the log.
warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)

DESCRIPTIONS = {
    "volume": "Rows against the median of the same weekday over the last 4 weeks: warn below 50 %, "
    "error below 20 % or above 5x (skipped until 4 weeks are stored).",
    "completeness": "Required columns present and filled on at least 99 % of rows; every configured "
    "marketplace with recent rows appears.",
    "repull_shrink": "A re-pull that returns fewer rows than the day held (beyond 1 %) names what vanished.",
    "reconciliation": "Order report (non-cancelled items) against Sales & Traffic: ordered revenue and units "
    "within 8 % (docs/design/quality.md), once Sales & Traffic is 72 h old.",
}
SEVERITY = {checks.WARN: dg.AssetCheckSeverity.WARN, checks.ERROR: dg.AssetCheckSeverity.ERROR}
CHECK_LABEL = {checks.OK: "OK", checks.SKIPPED: "OK", checks.WARN: "Warning", checks.ERROR: "Failed"}


def check_specs(
    report_type: ReportType, key: dg.AssetKey, partitions: dg.PartitionsDefinition | None
) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=key, description=DESCRIPTIONS[name], partitions_def=partitions)
        for name in check_names(report_type.report_type_id)
    ]


def evaluate(
    context: dg.AssetExecutionContext, report_type: ReportType, done: list[DayResult]
) -> tuple[list[dg.AssetCheckResult], dict]:
    """Judge each stored day; returns the check results and metadata to put on the MaterializeResult.
    Never raises: a check that cannot run is a warning, the load stands (Dagster wants every check's result)."""
    try:
        return _evaluate(context, report_type, done)
    except Exception as exc:
        context.log.error(f"{report_type.name}: quality checks could not run: {type(exc).__name__}: {exc}")
        text = f"could not run: {type(exc).__name__}: {exc}"[:500]
        names = check_names(report_type.report_type_id)
        return [_result(checks.Verdict(name, checks.WARN, text)) for name in names], {}


def _evaluate(
    context: dg.AssetExecutionContext, report_type: ReportType, done: list[DayResult]
) -> tuple[list[dg.AssetCheckResult], dict]:
    db = context.resources.mongo.db()
    marketplaces = tuple(getattr(getattr(context.resources, report_type.source, None), "marketplaces", ()) or ())
    judged = [judge_day(db, _stored_day(db, report_type, result, marketplaces)) for result in done]
    _tell_ops(context, report_type, judged)
    if len(judged) == 1:
        return [_result(v) for v in judged[0].verdicts], _plot_metadata(judged[0])
    for judgement in judged:
        for verdict in judgement.verdicts:
            context.log_event(_evaluation(context.asset_key, verdict, judgement.day))
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key, partition=judgement.day, metadata=_plot_metadata(judgement)
            )
        )
    return _summaries(report_type, judged), {}


def _stored_day(db, report_type: ReportType, result: DayResult, marketplaces: tuple[str, ...]) -> StoredDay:
    day = result.report_date
    if day is None:  # a snapshot: its load is filed under the local day
        load = get_load(db, result.load_id)
        day = load["report_date"] if load else day_key(local_today(report_type, datetime.now(UTC)))
    return StoredDay(
        report_name=report_type.name,
        report_type_id=report_type.report_type_id,
        day=day,
        load_id=result.load_id,
        columns=tuple(result.columns),
        key_columns=kind_for(report_type).row_key,
        snapshot=report_type.real_time,
        zone=report_type.zone,
        marketplaces=marketplaces,
        kept_rows=result.kept_rows,
        profile=result.profile,
        empty_is_ok=report_type.empty_is_ok,
    )


def _result(verdict: checks.Verdict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=verdict.check,
        passed=verdict.passed,
        severity=SEVERITY.get(verdict.status, dg.AssetCheckSeverity.WARN),
        metadata=_metadata(verdict),
        description=verdict.message or None,
    )


def _evaluation(key: dg.AssetKey, verdict: checks.Verdict, day: str) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=key,
        check_name=verdict.check,
        passed=verdict.passed,
        partition=day,
        severity=SEVERITY.get(verdict.status, dg.AssetCheckSeverity.WARN),
        metadata=_metadata(verdict),
        description=verdict.message or None,
    )


def _metadata(verdict: checks.Verdict) -> dict:
    meta = {k: v for k, v in verdict.metadata.items() if v is not None}
    return {"status": verdict.status, **meta}


def _summaries(report_type: ReportType, judged: list[Judgement]) -> list[dg.AssetCheckResult]:
    """One result per check for a run of several days: failed if any day failed, naming those days."""
    out = []
    for name in check_names(report_type.report_type_id):
        verdicts = [(j.day, v) for j in judged for v in j.verdicts if v.check == name]
        bad = [(day, v) for day, v in verdicts if not v.passed]
        status = checks.worst([v for _, v in verdicts])
        out.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=not bad,
                severity=SEVERITY.get(status, dg.AssetCheckSeverity.WARN),
                metadata={"days": len(verdicts), "failed_days": [day for day, _ in bad]},
                description="; ".join(f"{day}: {v.message}" for day, v in bad)[:2000] or None,
            )
        )
    return out


def _plot_metadata(judgement: Judgement) -> dict:
    """Numbers only: the Plots tab graphs numeric metadata per partition."""
    return {f"day_{k}": dg.MetadataValue.float(float(v)) for k, v in judgement.figures.items()}


def check_text(judgement: Judgement) -> str:
    """The Reports record's Check field: OK, or Warning / Failed with the reasons."""
    label = CHECK_LABEL[judgement.status]
    reasons = [f"{v.check}: {v.message}" for v in judgement.verdicts if not v.passed]
    return label if not reasons else f"{label}: " + "; ".join(reasons)


def slack_text(report_type: ReportType, judgement: Judgement) -> str:
    """e.g. ``sales_report 2026-12-03: 12 rows, usually 300–340``."""
    failed = [v.message for v in judgement.verdicts if v.status == checks.ERROR]
    return f"{report_type.name} {judgement.day}: " + "; ".join(failed)


def _tell_ops(context: dg.AssetExecutionContext, report_type: ReportType, judged: list[Judgement]) -> None:
    """Reports' Check field (when it changed) and one Slack message per day newly failed."""
    db = context.resources.mongo.db()
    writer = AirtableWriter(db, context.resources.airtable)
    for judgement in judged:
        text = check_text(judgement)
        before = judgement.previous or {}
        marks: dict = {"check_text": text}
        if text != before.get("check_text"):
            writer.upsert(
                TABLE_REPORTS,
                records.report_check(report_name=report_type.name, report_date=judgement.day, check=text),
                records.REPORT_KEY_FIELDS,
                coalesce_key=f"check:{report_type.name}:{judgement.day}",
            )
        # One message when a day turns Failed; re-pulls that find it still failing stay quiet.
        newly_failed = judgement.status == checks.ERROR and before.get("check_status") != checks.ERROR
        if newly_failed and report_type.notify_on_fail:
            _post(context, slack_text(report_type, judgement))
        marks["check_status"] = judgement.status
        history.save_record(db, report_type.name, judgement.day, marks)
        if judgement.status != checks.OK:
            context.log.warning(f"{report_type.name} {judgement.day} check: {text}")
    flushed = writer.flush()
    if flushed.stopped_by:
        context.log.warning(f"Check field update kept in the outbox: {flushed.stopped_by}")


def _post(context: dg.AssetExecutionContext, text: str) -> None:
    slack = getattr(context.resources, "slack", None)
    if slack is None:
        context.log.warning(f"no Slack resource; not posted: {text}")
        return
    try:
        slack.post(text)
    except Exception as exc:  # a Slack outage must not fail a load that succeeded
        context.log.warning(f"Slack post failed ({exc}); check message: {text}")
