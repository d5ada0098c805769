"""What a scheduler tick must do, as a pure function of (configuration, previous state, now).

The sensor around it (scheduler.py) only does I/O, so this reads and tests plainly with any clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from paperplan_sync.automation.timing import describe, latest_fire_time
from paperplan_sync.config.models import Automation, ReportType, SyncConfig
from paperplan_sync.reports.partitions import day_key, scheduled_days


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


@dataclass
class TickPlan:
    launches: list[Launch] = field(default_factory=list)
    log_lines: list[tuple[str, str, str]] = field(default_factory=list)  # (level, event, summary)
    due: list[tuple[Automation, datetime]] = field(default_factory=list)


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
) -> TickPlan:
    """Launches for every automation due in (after, now].

    ``loaded``: report types that exist as assets in the running code location. ``retry_days``: per report
    type, days whose Airtable record asks for a re-run (Fail unchecked but incomplete). ``last_partition``:
    the newest partition that exists per report type (a run never targets a day that is not a partition).
    """
    plan = TickPlan()
    retry_days = retry_days or {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for automation in config.automations:
        fired = latest_fire_time(automation, after, now)
        if fired is None:
            continue
        plan.due.append((automation, fired))
        for name in automation.report_types:
            try:
                rt = config.report_type(name)
            except KeyError:
                continue
            if not rt.active:
                plan.log_lines.append(("INFO", "skipped", f"'{automation.name}': {name} is Inactive, not run"))
                continue
            if name not in loaded:
                plan.log_lines.append(("WARNING", "skipped", f"'{automation.name}': {name} is not loaded yet (code location reload pending)"))
                continue
            for launch in _launches_for(rt, automation, fired, retry_days.get(name, []), (last_partition or {}).get(name)):
                if (launch.report, launch.days) not in seen:
                    seen.add((launch.report, launch.days))
                    plan.launches.append(launch)
    return plan


def _launches_for(rt: ReportType, automation: Automation, fired: datetime, retries: list[date], last: date | None) -> list[Launch]:
    reason = f"automation '{automation.name}'"
    if rt.real_time:
        return [Launch(rt.name, (), reason, fired)]
    window = scheduled_days(rt, fired)
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
