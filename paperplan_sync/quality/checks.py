"""The quality checks as pure judgements: figures in, a ``Verdict`` out (status, one-line message, metadata).

    volume(rows, history)                  a day's rows against the same weekday of the last 4 weeks
    completeness(profile, rules, ...)      required columns present and filled; configured marketplaces there
    repull_shrink(old_rows, new_rows, ...) a re-pull that lost rows, with what vanished
    reconcile(orders, traffic, ...)        the order report against Sales & Traffic, revenue and units

Thresholds are the named constants of ``rules`` (the why is there and in docs/design/quality.md).
"""

from __future__ import annotations

import difflib
import statistics
from dataclasses import dataclass, field
from typing import Any

from paperplan_sync.quality import rules as r
from paperplan_sync.quality.profile import DayProfile

OK, WARN, ERROR, SKIPPED = "ok", "warn", "error", "skipped"
_RANK = {SKIPPED: 0, OK: 0, WARN: 1, ERROR: 2}
RENAME_LIKENESS = 0.75  # difflib ratio: item-price ~ item_price 0.9, but item-price ~ item-tax 0.67


@dataclass
class Verdict:
    check: str
    status: str
    message: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in (OK, SKIPPED)


def worst(verdicts: list[Verdict]) -> str:
    return max((v.status for v in verdicts), key=_RANK.__getitem__, default=OK)


def volume(rows: int, history: list[int | None], rule: r.TypeRules | None = None) -> Verdict:
    """``history``: the rows of the same weekday 1..4 weeks back (None: not stored). Skipped until all exist."""
    rule = rule or r.TypeRules()
    known = [h for h in history if h is not None]
    meta: dict[str, Any] = {"rows": rows, "history": known}
    if len(known) < r.VOLUME_WEEKS:
        return Verdict("volume", SKIPPED, f"{len(known)} of {r.VOLUME_WEEKS} weeks of history", meta)
    usual = statistics.median(known)
    meta.update(median=usual, ratio=round(rows / usual, 3) if usual else None)
    text = f"{rows} rows, usually {min(known)}–{max(known)}"
    if usual == 0:
        return Verdict("volume", OK if rows == 0 else WARN, text if rows else "", meta)
    ratio = rows / usual
    if ratio < rule.volume_error_below or ratio > rule.volume_error_above:
        return Verdict("volume", ERROR, text, meta)
    if ratio < rule.volume_warn_below:
        return Verdict("volume", WARN, text, meta)
    return Verdict("volume", OK, "", meta)


def completeness(
    day: DayProfile,
    rule: r.TypeRules,
    *,
    expected_markets: list[str] = (),  # type: ignore[assignment]
    market_history: dict[str, float] | None = None,
) -> Verdict:
    """Required columns present and filled on ``COMPLETE_SHARE`` of rows; every configured marketplace with
    enough recent rows (``market_history``: its average rows a day) appears."""
    problems: list[str] = []
    missing = [c for c in (*rule.required, *rule.present) if c not in day.columns]
    if missing and day.rows:
        new = _look_alikes(missing, day.columns - set(_known_columns(rule)))
        problems.append(f"column {', '.join(missing)} missing" + (f" (new: {', '.join(new)})" if new else ""))
    sparse = {
        c: round(day.filled.get(c, 0) / day.rows, 4)
        for c in rule.required
        if c not in missing and day.rows and day.filled.get(c, 0) / day.rows < r.COMPLETE_SHARE
    }
    problems += [f"{c} filled on {share:.0%} of rows" for c, share in sparse.items()]
    absent = _absent_markets(day, rule, expected_markets, market_history or {})
    if absent:
        problems.append(f"marketplace {', '.join(absent)} absent")
    meta = {"missing_columns": missing, "sparse_columns": sparse, "absent_marketplaces": absent, "rows": day.rows}
    return Verdict("completeness", ERROR if problems else OK, "; ".join(problems), meta)


def _look_alikes(missing: list[str], others: set[str]) -> list[str]:
    """Columns of the day named like a missing one (a rename: item-price -> item_price), to say so."""
    found = [difflib.get_close_matches(name, sorted(others), n=1, cutoff=RENAME_LIKENESS) for name in missing]
    return [match[0] for match in found if match]


def _known_columns(rule: r.TypeRules) -> tuple[str, ...]:
    return (*rule.required, *rule.present)


def _absent_markets(day: DayProfile, rule: r.TypeRules, expected: list[str], history: dict[str, float]) -> list[str]:
    if not rule.market_column or not day.rows:
        return []
    return [m for m in expected if m not in day.markets and history.get(m, 0.0) >= r.MARKET_MIN_EXPECTED_ROWS]


def repull_shrink(old_rows: int | None, new_rows: int, vanished: list[str], vanished_count: int) -> Verdict:
    """``old_rows``: the rows the day held before this load (None: a first load). ``vanished``: example keys
    of rows gone, ``vanished_count`` how many (0 when the type has no row key)."""
    meta: dict[str, Any] = {"before": old_rows, "after": new_rows, "vanished": vanished_count, "examples": vanished}
    if old_rows is None:
        return Verdict("repull_shrink", SKIPPED, "first load of the day", meta)
    lost = old_rows - new_rows
    if lost < r.SHRINK_MIN_ROWS or lost <= old_rows * r.SHRINK_TOLERANCE:
        return Verdict("repull_shrink", OK, "", meta)
    text = f"re-pull returned {new_rows} rows, {old_rows} before"
    if vanished_count:
        text += f"; {vanished_count} vanished, e.g. {', '.join(vanished[:3])}"
    return Verdict("repull_shrink", ERROR if lost > old_rows * r.SHRINK_ERROR_ABOVE else WARN, text, meta)


@dataclass(frozen=True)
class Figures:
    """One day's sales as a report tells them."""

    revenue: float
    units: float
    currency: str = ""
    unpriced_units: float = 0.0  # order report: pending items without a price yet


def reconcile(orders: Figures, traffic: Figures, *, label: str = "") -> Verdict:
    """The order report's non-cancelled items against Sales & Traffic's ordered product sales and units.

    The tolerance (docs/design/quality.md) is ``RECONCILE_TOLERANCE`` of the larger figure, at least
    ``RECONCILE_MIN_UNITS`` units (in revenue: that many units at the day's average price), plus the value of
    the order report's unpriced pending units at that price."""
    price = traffic.revenue / traffic.units if traffic.units else (orders.revenue / orders.units if orders.units else 0)
    unit_gap = max(r.RECONCILE_TOLERANCE * max(orders.units, traffic.units), r.RECONCILE_MIN_UNITS)
    revenue_gap = max(r.RECONCILE_TOLERANCE * max(orders.revenue, traffic.revenue), r.RECONCILE_MIN_UNITS * price)
    revenue_gap += orders.unpriced_units * price
    d_units, d_revenue = orders.units - traffic.units, orders.revenue - traffic.revenue
    meta = {
        "order_report_revenue": round(orders.revenue, 2),
        "sales_and_traffic_revenue": round(traffic.revenue, 2),
        "order_report_units": orders.units,
        "sales_and_traffic_units": traffic.units,
        "revenue_tolerance": round(revenue_gap, 2),
        "units_tolerance": round(unit_gap, 2),
        "currency": traffic.currency or orders.currency,
    }
    if abs(d_units) <= unit_gap and abs(d_revenue) <= revenue_gap:
        return Verdict("reconciliation", OK, "", meta)
    cur = f" {meta['currency']}" if meta["currency"] else ""
    text = (
        f"{label + ': ' if label else ''}order report {orders.revenue:,.2f}{cur} / {orders.units:g} units, "
        f"Sales & Traffic {traffic.revenue:,.2f}{cur} / {traffic.units:g} units "
        f"(tolerance {r.RECONCILE_TOLERANCE:.0%})"
    )
    return Verdict("reconciliation", ERROR, text, meta)
