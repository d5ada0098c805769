"""What a scheduler tick must do, as a pure function of (configuration, previous state, now).

The sensor around it (scheduler.py) only does I/O, so this reads and tests plainly with any clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from paperplan_sync import settings
from paperplan_sync.config.models import Automation, ReportType, SyncConfig
from paperplan_sync.config.timing import describe, fire_times
from paperplan_sync.reports.partitions import day_key, scheduled_days, target_day

# After downtime, missed fires this recent are run; older ones are recorded as missed days.
CATCH_UP = timedelta(days=settings.CATCH_UP_DAYS)


@dataclass(frozen=True)
class Launch:
    """One run: a report type and the contiguous days it pulls (empty for a real-time snapshot)."""

    report: str
    days: tuple[str, ...]
    reason: str
    fired_at: datetime

    @property
    def run_key(self) -> str:
        # The same report, days and tick never launch twice, even if two automations list the report.
        span = f"{self.days[0]}..{self.days[-1]}" if self.days else "snapshot"
        return f"{self.report}:{span}@{self.fired_at.isoformat()}"


@dataclass(frozen=True)
class Missed:
    """A due day that will not run: its fire is older than the catch-up bound (the runbook's scenario 1)."""

    report: str
    day: str
    fired_at: datetime


@dataclass
class TickPlan:
    launches: list[Launch] = field(default_factory=list)
    log_lines: list[tuple[str, str, str]] = field(default_factory=list)  # (level, event, summary)
    due: list[tuple[Automation, datetime]] = field(default_factory=list)
    missed: list[Missed] = field(default_factory=list)


def automation_summary(a: Automation) -> dict[str, str]:
    return {
        "Name": a.name,
        "When": describe(a),
        "Disable": "on" if a.disabled else "off",
        "Report Types": ", ".join(a.report_types) or "(none)",
    }


def config_changes(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Human sentences for the Logs table: what changed in Automations since the last tick."""
    lines = []
    for rid, now in after.items():
        old = before.get(rid)
        if old is None:
            lines.append(f"Automation '{now['Name']}' added: {now['When']}, runs {now['Report Types']}")
        elif old != now:
            diffs = [f"{k} {old.get(k)!s} -> {v}" for k, v in now.items() if old.get(k) != v]
            lines.append(f"Automation '{now['Name']}' changed: " + "; ".join(diffs))
    for rid, old in before.items():
        if rid not in after:
            lines.append(f"Automation '{old['Name']}' removed")
    return lines


def contiguous_runs(days: list[date]) -> list[list[date]]:
    runs: list[list[date]] = []
    for d in sorted(set(days)):
        if runs and d - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def plan_tick(
    config: SyncConfig,
    *,
    after: datetime,
    now: datetime,
    loaded: set[str],
    retry_days: dict[str, list[date]] | None = None,
    last_partition: dict[str, date] | None = None,
    catch_up: timedelta = CATCH_UP,
) -> TickPlan:
    """Launches for every automation due in (after, now].

    After downtime every fire missed within ``catch_up`` runs, merged per report type into the fewest runs
    (one per contiguous range of days); the target days of older fires become ``missed``.
    ``loaded``: report types that exist as assets in the running code location. ``retry_days``: per report
    type, days whose Airtable record asks for a re-run (Fail unchecked but incomplete). ``last_partition``:
    the newest partition that exists per report type (a run never targets a day that is not a partition).
    """
    plan = TickPlan()
    retry_days = retry_days or {}
    fires: dict[str, list[tuple[datetime, Automation]]] = {}
    for automation in config.automations:
        moments = fire_times(automation, after, now)
        if not moments:
            continue
        plan.due.append((automation, moments[-1]))
        for name in automation.report_types:
            try:
                rt = config.report_type(name)
            except KeyError:
                continue
            if not rt.active:
                plan.log_lines.append(("INFO", "skipped", f"'{automation.name}': {name} is Inactive, not run"))
                continue
            if name not in loaded:
                plan.log_lines.append(
                    (
                        "WARNING",
                        "skipped",
                        f"'{automation.name}': {name} is not loaded yet (code location reload pending)",
                    )
                )
                continue
            fires.setdefault(name, []).extend((m, automation) for m in moments)
    for name, moments in fires.items():
        rt = config.report_type(name)
        recent = [(m, a) for m, a in moments if m > now - catch_up]
        launches = (
            _launches_for(rt, recent, retry_days.get(name, []), (last_partition or {}).get(name)) if recent else []
        )
        plan.launches += launches
        if not rt.real_time:
            running = {d for launch in launches for d in launch.days}
            old = {day_key(target_day(rt, m)): m for m, _ in sorted(moments, key=lambda f: f[0]) if m <= now - catch_up}
            plan.missed += [
                Missed(name, day, fired)
                for day, fired in sorted(old.items())
                if day not in running and day >= day_key(rt.start_date)
            ]
    return plan


def _launches_for(
    rt: ReportType, fires: list[tuple[datetime, Automation]], retries: list[date], last: date | None
) -> list[Launch]:
    fired, automation = max(fires, key=lambda f: f[0])
    reason = f"automation '{automation.name}'" + (f" ({len(fires)} missed fires caught up)" if len(fires) > 1 else "")
    if rt.real_time:  # a snapshot is the current state: one run covers every missed fire
        return [Launch(rt.name, (), reason, fired)]
    window = sorted({d for moment, _ in fires for d in scheduled_days(rt, moment)})
    extra = [d for d in retries if d not in window and d >= rt.start_date]
    launches = []
    for days in contiguous_runs(window):
        days = [d for d in days if last is None or d <= last]
        if days:
            launches.append(Launch(rt.name, tuple(day_key(d) for d in days), reason, fired))
    for d in sorted(set(extra)):
        if last is None or d <= last:
            launches.append(Launch(rt.name, (day_key(d),), f"{reason} (re-run of failed report)", fired))
    return launches
