"""What a scheduler tick must do, as a pure function of (configuration, previous state, now).

The sensor around it (scheduler.py) only does I/O, so this reads and tests plainly with any clock.
A fire is due in (previous tick, now]; and when an edit made an automation due at a moment the product
learned of only later (the edit reached it after that moment), that fire is launched late, once: the run
key of a fire is its report, days and due moment, so a fire never launches twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

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


def changed_schedules(before: dict[str, dict], after: dict[str, dict]) -> set[str]:
    """Automations (record ids) added, or whose time, Disable or report list changed, since the last tick."""
    keys = ("When", "Disable", "Report Types")
    return {rid for rid, now in after.items() if rid not in before or any(before[rid].get(k) != now[k] for k in keys)}


def late_fires(
    automation: Automation, *, edited_at: datetime, after: datetime, now: datetime, catch_up: timedelta = CATCH_UP
) -> list[datetime]:
    """Moments the automation, as edited at ``edited_at``, was due before the product knew of the edit (at or
    before the previous tick ``after``): those the regular window (after, now] no longer sees. Never a moment
    still to come (``after`` past ``now``: the clock was set back), never one before the catch-up bound."""
    return fire_times(automation, max(edited_at, now - catch_up), min(after, now))


def late_line(
    automation: Automation, fired: list[datetime], edited_at: datetime, now: datetime
) -> tuple[str, str, str]:
    """One Logs line for an automation's late fires (usually one)."""
    when = fired[-1].isoformat(timespec="minutes") + (f" (and {len(fired) - 1} earlier)" if len(fired) > 1 else "")
    return (
        "WARNING",
        "late fire",
        f"Automation '{automation.name}' due at {when} launched late, at {now.astimezone(UTC):%H:%M:%S} UTC: its "
        f"change, made at {edited_at.astimezone(UTC):%H:%M:%S} UTC, reached the product only after that time",
    )


def _instant(fire: tuple[datetime, Automation]) -> float:
    # Fires of automations in one IANA zone share its tzinfo, and such datetimes compare by their clock
    # readings: 01:30 of the second (standard time) pass on a fall-back day would sort before 01:45 daylight.
    return fire[0].timestamp()


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
    last_partition: dict[str, date | None] | None = None,
    catch_up: timedelta = CATCH_UP,
    edited_at: dict[str, datetime] | None = None,
) -> TickPlan:
    """Launches for every automation due in (after, now].

    After downtime every fire missed within ``catch_up`` runs, merged per report type into the fewest runs
    (one per contiguous range of days); the target days of older fires become ``missed``.
    ``loaded``: report types that exist as assets in the running code location. ``retry_days``: per report
    type, days whose Airtable record asks for a re-run (Fail unchecked but incomplete). ``last_partition``:
    the newest partition that exists per report type (a run never targets a day that is not a partition).
    ``edited_at``: automations (record ids) whose schedule changed since the last tick, with the moment of
    the edit: their fires between the edit and ``after`` are launched late (``late_fires``).
    """
    plan = TickPlan()
    fires: dict[str, list[tuple[datetime, Automation]]] = {}
    for automation in config.automations:
        moments = _due_moments(automation, plan, after=after, now=now, catch_up=catch_up, edited_at=edited_at or {})
        if moments:
            for name in _runnable(config, automation, loaded, plan):
                fires.setdefault(name, []).extend((m, automation) for m in moments)
    for name, fired in fires.items():
        _plan_report(plan, config.report_type(name), fired, now, catch_up, retry_days or {}, last_partition or {})
    return plan


def anything_due(config: SyncConfig, *, after: datetime, now: datetime, edited_at: dict[str, datetime]) -> bool:
    """Whether a tick launches anything (the scheduler queries Reports for retries only then)."""
    return any(
        fire_times(a, after, now)
        or (a.record_id in edited_at and late_fires(a, edited_at=edited_at[a.record_id], after=after, now=now))
        for a in config.automations
    )


def _due_moments(
    automation: Automation,
    plan: TickPlan,
    *,
    after: datetime,
    now: datetime,
    catch_up: timedelta,
    edited_at: dict[str, datetime],
) -> list[datetime]:
    moments = fire_times(automation, after, now)
    edit = edited_at.get(automation.record_id)
    late = late_fires(automation, edited_at=edit, after=after, now=now, catch_up=catch_up) if edit else []
    if late:
        plan.log_lines.append(late_line(automation, late, edit, now))  # type: ignore[arg-type]
    moments = late + moments
    if moments:
        plan.due.append((automation, moments[-1]))
    return moments


def _runnable(config: SyncConfig, automation: Automation, loaded: set[str], plan: TickPlan) -> list[str]:
    """The automation's report types that can run now; the others get a Logs line saying why not."""
    names = []
    for name in automation.report_types:
        try:
            rt = config.report_type(name)
        except KeyError:
            continue
        if not rt.active:
            plan.log_lines.append(("INFO", "skipped", f"'{automation.name}': {name} is Inactive, not run"))
        elif name not in loaded:
            plan.log_lines.append(
                ("WARNING", "skipped", f"'{automation.name}': {name} is not loaded yet (code location reload pending)")
            )
        else:
            names.append(name)
    return names


def _plan_report(
    plan: TickPlan,
    rt: ReportType,
    moments: list[tuple[datetime, Automation]],
    now: datetime,
    catch_up: timedelta,
    retry_days: dict[str, list[date]],
    last_partition: dict[str, date | None],
) -> None:
    """One report type's launches for its fires; fires older than ``catch_up`` become missed days."""
    recent = [(m, a) for m, a in moments if m > now - catch_up]
    launches = _launches_for(rt, recent, retry_days.get(rt.name, []), last_partition.get(rt.name)) if recent else []
    plan.launches += launches
    if rt.real_time:
        return
    running = {d for launch in launches for d in launch.days}
    old = {day_key(target_day(rt, m)): m for m, _ in sorted(moments, key=_instant) if m <= now - catch_up}
    plan.missed += [
        Missed(rt.name, day, fired)
        for day, fired in sorted(old.items())
        if day not in running and day >= day_key(rt.start_date)
    ]


def _launches_for(
    rt: ReportType, fires: list[tuple[datetime, Automation]], retries: list[date], last: date | None
) -> list[Launch]:
    fired, automation = max(fires, key=_instant)
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
