"""Deterministic demo advertising data: Sponsored Products campaigns and their daily metrics.

Everything is a pure function of (seed, campaign, day, today), so two servers with the same seed and
clock answer identically. Attributed conversions (purchases / sales / units) of a day keep growing
("restating") until 28 days after it; impressions, clicks and cost are final the day after.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

RESTATEMENT_DAYS = 28
CURRENCY = "USD"
SP_CAMPAIGNS = "spCampaigns"
ATTRIBUTION_WINDOWS = (1, 7, 14, 30)

# Columns the local server can produce for spCampaigns (a subset of Amazon's catalogue).
SP_CAMPAIGN_COLUMNS = frozenset(
    {
        "date",
        "startDate",
        "endDate",
        "campaignId",
        "campaignName",
        "campaignStatus",
        "campaignBudgetAmount",
        "campaignBudgetType",
        "campaignBudgetCurrencyCode",
        "impressions",
        "clicks",
        "cost",
        "costPerClick",
        "clickThroughRate",
    }
    | {f"{metric}{w}d" for metric in ("purchases", "sales", "unitsSoldClicks") for w in ATTRIBUTION_WINDOWS}
)
# Attributed metrics of longer windows are a bit larger: more time to convert after the click.
_WINDOW_FACTOR = {1: 0.72, 7: 1.0, 14: 1.07, 30: 1.11}
_WEEKDAY = (1.0, 1.02, 0.98, 1.0, 0.95, 1.12, 1.18)  # Monday..Sunday

_PRODUCTS = (
    "A5 Dotted Notebook",
    "Weekly Planner 2027",
    "Kraft Paper Roll",
    "Pastel Sticky Notes",
    "Washi Tape Set",
    "Fountain Pen Ink",
    "Letter Paper Pack",
    "Bullet Journal Kit",
    "Desk Calendar",
    "Greeting Card Set",
    "Recycled Envelopes",
    "Sketchbook A4",
)
_TARGETING = ("Auto", "Exact", "Broad", "Phrase", "Product Targeting")
_EPOCH = date(2025, 1, 1)


@dataclass(frozen=True)
class Campaign:
    campaign_id: int
    name: str
    status: str  # current status, as Amazon reports it on every row
    budget: float
    launched: date
    paused_since: date | None
    base_impressions: int
    ctr: float
    cpc: float
    cvr: float
    order_value: float


def campaigns(seed: int) -> list[Campaign]:
    rng = random.Random(f"ads-campaigns:{seed}")
    result = []
    for n in range(rng.randint(5, 20)):
        paused = rng.random() < 0.2
        result.append(
            Campaign(
                campaign_id=rng.randrange(10**14, 10**15),
                name=f"SP - {_PRODUCTS[n % len(_PRODUCTS)]} - {rng.choice(_TARGETING)}",
                status="PAUSED" if paused else "ENABLED",
                budget=float(rng.choice((10, 15, 20, 25, 30, 50, 75, 100))),
                launched=_EPOCH + timedelta(days=rng.randint(0, 300)),
                paused_since=_EPOCH + timedelta(days=rng.randint(400, 650)) if paused else None,
                base_impressions=rng.randint(300, 12000),
                ctr=rng.uniform(0.002, 0.012),
                cpc=rng.uniform(0.35, 1.6),
                cvr=rng.uniform(0.05, 0.16),
                order_value=rng.uniform(9.0, 38.0),
            )
        )
    return result


def maturity(age_days: int) -> float:
    """Share of a day's final attributed conversions reported ``age_days`` after it (grows to 1 at 28)."""
    if age_days < 0:
        return 0.0
    if age_days >= RESTATEMENT_DAYS:
        return 1.0
    return 0.55 + 0.45 * (1 - (1 - age_days / RESTATEMENT_DAYS) ** 2)


def day_metrics(seed: int, campaign: Campaign, day: date, today: date) -> dict[str, float] | None:
    """Metrics of one campaign-day as reported on ``today``; None when it had no activity (or is future)."""
    if day > today or day < campaign.launched or (campaign.paused_since and day >= campaign.paused_since):
        return None
    rng = random.Random(f"ads-day:{seed}:{campaign.campaign_id}:{day.isoformat()}")
    share_of_day = 0.45 if day == today else 1.0  # today's numbers are a partial day
    impressions = int(campaign.base_impressions * _WEEKDAY[day.weekday()] * rng.uniform(0.7, 1.3) * share_of_day)
    if impressions <= 0:
        return None
    clicks = int(round(impressions * campaign.ctr * rng.uniform(0.8, 1.2)))
    cost = round(clicks * campaign.cpc * rng.uniform(0.85, 1.15), 2)
    final_orders = clicks * campaign.cvr * rng.uniform(0.7, 1.3)
    share = maturity((today - day).days)
    metrics: dict[str, float] = {"impressions": impressions, "clicks": clicks, "cost": cost}
    for window in ATTRIBUTION_WINDOWS:
        orders = final_orders * _WINDOW_FACTOR[window] * share
        metrics[f"purchases{window}d"] = int(orders)
        metrics[f"unitsSoldClicks{window}d"] = int(orders * 1.15)
        metrics[f"sales{window}d"] = round(orders * campaign.order_value, 2)
    return metrics


def _row(
    campaign: Campaign, metrics: dict[str, float], columns: Iterable[str], dates: dict[str, str]
) -> dict[str, Any]:
    clicks, impressions = metrics["clicks"], metrics["impressions"]
    values: dict[str, Any] = {
        **dates,
        **metrics,
        "campaignId": campaign.campaign_id,
        "campaignName": campaign.name,
        "campaignStatus": campaign.status,
        "campaignBudgetAmount": campaign.budget,
        "campaignBudgetType": "DAILY_BUDGET",
        "campaignBudgetCurrencyCode": CURRENCY,
        "costPerClick": round(metrics["cost"] / clicks, 2) if clicks else 0.0,
        "clickThroughRate": round(clicks / impressions, 4) if impressions else 0.0,
    }
    return {c: values.get(c) for c in columns}


def _days(start: date, end: date) -> Iterable[date]:
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


def report_rows(
    seed: int,
    *,
    start: date,
    end: date,
    time_unit: str,
    columns: list[str],
    today: date,
    filters: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of an spCampaigns report (groupBy campaign), DAILY or SUMMARY, as Amazon would give on ``today``."""
    rows: list[dict[str, Any]] = []
    allowed = {f["field"]: {str(v) for v in f.get("values", [])} for f in filters or []}
    for campaign in campaigns(seed):
        if "campaignStatus" in allowed and campaign.status not in allowed["campaignStatus"]:
            continue
        if time_unit == "DAILY":
            for day in _days(start, end):
                metrics = day_metrics(seed, campaign, day, today)
                if metrics:
                    rows.append(_row(campaign, metrics, columns, {"date": day.isoformat()}))
            continue
        total: dict[str, float] = {}
        for day in _days(start, end):
            for key, value in (day_metrics(seed, campaign, day, today) or {}).items():
                total[key] = total.get(key, 0) + value
        if total:
            total = {k: round(v, 2) if isinstance(v, float) else v for k, v in total.items()}
            rows.append(_row(campaign, total, columns, {"startDate": start.isoformat(), "endDate": end.isoformat()}))
    if time_unit == "DAILY":
        rows.sort(key=lambda r: r.get("date") or "")  # stable: by day, then campaign order
    return rows
