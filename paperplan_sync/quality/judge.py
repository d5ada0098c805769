"""One stored day judged by every check, and its quality record kept for the next judgements.

``judge_day`` takes the day's profile (gathered while its rows streamed into storage, or read back from the
stored day when there is none), runs the checks of ``checks`` against the history, and saves the day's
record (figures, keys, verdicts). It never writes report rows: a check only reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import Binary
from pymongo.database import Database

from paperplan_sync.quality import checks, history
from paperplan_sync.quality import rules as r
from paperplan_sync.quality.profile import DayProfile, Sales, pack_keys, profile_rows, unpack_keys
from paperplan_sync.timezones import DEFAULT_ZONE, Zone


@dataclass(frozen=True)
class StoredDay:
    """What the checks need to know about a day the product just stored."""

    report_name: str
    report_type_id: str
    day: str  # YYYY-MM-DD (a snapshot: its local day)
    load_id: str
    columns: tuple[str, ...] = ()
    key_columns: tuple[str, ...] = ()
    snapshot: bool = False
    zone: Zone = DEFAULT_ZONE  # the type's days run midnight to midnight there
    marketplaces: tuple[str, ...] = ()  # configured marketplace ids
    kept_rows: int = 0  # an empty re-pull kept the day's earlier rows: nothing new to judge
    profile: DayProfile | None = None  # gathered while the rows streamed in; None: read the stored day back
    empty_is_ok: bool = False  # the type's Empty Is OK: a day without rows is not a volume problem


@dataclass
class Judgement:
    day: str
    verdicts: list[checks.Verdict]
    figures: dict[str, float] = field(default_factory=dict)  # rows, revenue, units (for the Plots)
    previous: dict[str, Any] | None = None  # the day's quality record before this load

    @property
    def status(self) -> str:
        return checks.worst(self.verdicts)


def check_names(report_type_id: str) -> list[str]:
    names = ["volume", "completeness", "repull_shrink"]
    return names + (["reconciliation"] if report_type_id in r.RECONCILED else [])


def judge_day(db: Database, day: StoredDay, now: datetime | None = None) -> Judgement:
    now = now or datetime.now(UTC)
    previous = history.get_record(db, day.report_name, day.day)
    if day.kept_rows:
        note = f"re-pull returned no data; kept {day.kept_rows} rows"
        skipped = [checks.Verdict(n, checks.SKIPPED, note) for n in check_names(day.report_type_id)]
        return Judgement(day.day, skipped, {"rows": day.kept_rows}, previous)
    rule = r.rules_for(day.report_type_id)
    profile = day.profile or profile_rows(
        history.stored_rows(db, day.report_name, day.day, _fields(rule, day.key_columns)),
        rule,
        day.key_columns,
        day.columns,
    )
    when = date.fromisoformat(day.day)
    quiet = day.empty_is_ok and not profile.rows
    verdicts = [
        checks.Verdict("volume", checks.OK, "", {"rows": 0})
        if quiet
        else checks.volume(profile.rows, history.weekday_history(db, day.report_name, when), rule),
        checks.completeness(
            profile,
            rule,
            expected_markets=r.channels(list(day.marketplaces)),
            market_history=history.market_history(db, day.report_name, when),
        ),
        _shrink(day, profile, previous),
    ]
    record = _record(day, profile, now)
    if day.report_type_id in r.RECONCILED:
        verdicts.append(_reconcile(db, day, record))
    history.save_record(db, day.report_name, day.day, record)
    return Judgement(day.day, verdicts, _figures(profile), previous)


def _fields(rule: r.TypeRules, key_columns: tuple[str, ...]) -> list[str]:
    money = rule.money
    extra = [money.revenue, money.units, money.currency, money.status, money.record_column] if money else []
    names = [*rule.required, *rule.present, *key_columns, rule.market_column, *extra]
    return list(dict.fromkeys(n for n in names if n))


def _shrink(day: StoredDay, profile: DayProfile, previous: dict[str, Any] | None) -> checks.Verdict:
    if day.snapshot:  # every snapshot is a new state: fewer rows is news, not loss
        return checks.Verdict("repull_shrink", checks.SKIPPED, "a snapshot is not re-pulled")
    before = previous if previous and previous.get("load_id") != day.load_id else None
    if before is None:
        return checks.repull_shrink(None, profile.rows, [], 0)
    vanished = sorted(set(unpack_keys(before.get("keys"))) - set(profile.keys))
    examples = [k.replace("\x1f", " / ") for k in vanished[: r.SHRINK_EXAMPLES]]
    return checks.repull_shrink(int(before.get("rows", 0)), profile.rows, examples, len(vanished))


def _record(day: StoredDay, profile: DayProfile, now: datetime) -> dict[str, Any]:
    day_end = day.zone.day_start(date.fromisoformat(day.day) + timedelta(days=1)).astimezone(UTC)
    return {
        "report_type_id": day.report_type_id,
        "load_id": day.load_id,
        "rows": profile.rows,
        "keys": Binary(pack_keys(profile.keys)) if profile.keys else None,
        "sales": profile.sales.to_doc() if profile.sales else None,
        "currency": profile.currency,
        "markets": [{"market": m, **s.to_doc()} for m, s in sorted(profile.markets.items())],
        "pulled_at": now,
        "filled_after": day_end + timedelta(hours=r.LATE_FILL_HOURS),  # Sales & Traffic: final from then
    }


def _figures(profile: DayProfile) -> dict[str, float]:
    figures: dict[str, float] = {"rows": profile.rows}
    if profile.sales:
        figures.update(revenue=round(profile.sales.revenue, 2), units=profile.sales.units)
    return figures


def _reconcile(db: Database, day: StoredDay, record: dict[str, Any]) -> checks.Verdict:
    other_id = r.SALES_AND_TRAFFIC if day.report_type_id == r.ORDERS_BY_DATE else r.ORDERS_BY_DATE
    other = history.latest_for_type(db, other_id, day.day)
    if not other or not other.get("sales") or not record.get("sales"):
        return checks.Verdict("reconciliation", checks.SKIPPED, f"no {other_id} day stored to compare")
    orders, traffic = (record, other) if day.report_type_id == r.ORDERS_BY_DATE else (other, record)
    if _naive(traffic["pulled_at"]) < _naive(traffic["filled_after"]):
        return checks.Verdict("reconciliation", checks.SKIPPED, "Sales & Traffic still fills in (72 h)")
    return checks.reconcile(_as_figures(orders), _as_figures(traffic), label=day.day)


def _naive(moment: datetime) -> datetime:
    """MongoDB hands datetimes back without a timezone (they are UTC)."""
    return moment.replace(tzinfo=None)


def _as_figures(record: dict[str, Any]) -> checks.Figures:
    sales = Sales(**record["sales"])
    return checks.Figures(sales.revenue, sales.units, record.get("currency") or "", sales.unpriced_units)
