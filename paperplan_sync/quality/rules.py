"""Per report type facts the quality checks need, keyed by Report Type Id, and their thresholds.

These facts (required columns, money columns, marketplace column) belong in each type's catalog entry
(``reports/catalog.py``); they live here until the catalog's restructuring settles, so the lead can move them.
A type not listed gets the volume and re-pull checks only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDERS_BY_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
FBA_INVENTORY = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
ADS_SP_CAMPAIGNS = "spCampaigns"

# -- volume: a day's rows against the median of the same weekday over the last 4 weeks ------------------------
# Same weekday, because sales follow the week (weekends differ from weekdays); a median of 4, because one odd
# day (a holiday, an outage) in the history must not move the yardstick; 4 weeks, because seasons move slower.
VOLUME_WEEKS = 4
VOLUME_WARN_BELOW = 0.50  # half the usual rows: worth a look (a sale ended, a listing went down)
VOLUME_ERROR_BELOW = 0.20  # a fifth: almost always a partial answer from Amazon, not a slow day
VOLUME_ERROR_ABOVE = 5.0  # five times the usual: duplicated days or a window that covered several days

# -- completeness ---------------------------------------------------------------------------------------------
# 1 % of rows may lack a required value: Amazon leaves a few cells empty on odd rows (a gift order without a
# ship state); a renamed or dropped column empties far more than that.
COMPLETE_SHARE = 0.99
# A configured marketplace is missed only when its recent days averaged at least this many rows: with about
# 5 expected rows, a day with none by chance has a probability below 1 % (Poisson), so a quiet small
# marketplace does not raise false alarms; one never seen yet is not judged.
MARKET_MIN_EXPECTED_ROWS = 5.0
MARKET_HISTORY_DAYS = 7

# -- re-pull shrink -------------------------------------------------------------------------------------------
# A re-pull of an order day keeps every order (statuses change, orders stay); Amazon does drop a few lines
# (e.g. an order merged into another), hence 1 % and 2 rows before it counts; more than half gone is an error.
SHRINK_TOLERANCE = 0.01
SHRINK_MIN_ROWS = 2
SHRINK_ERROR_ABOVE = 0.50
SHRINK_EXAMPLES = 10

# -- reconciliation (docs/design/quality.md derives these) ----------------------------------------------------
LATE_FILL_HOURS = 72  # Sales & Traffic fills in up to 72 h after the day: compared only after that
TIMEZONE_SHARE = 0.06  # a day cut one hour apart moves at most about one evening hour's sales (peak ~6 %)
RESTATEMENT_SHARE = 0.02  # cancellations and late fills after 72 h, rounding of per-item amounts
RECONCILE_TOLERANCE = TIMEZONE_SHARE + RESTATEMENT_SHARE
RECONCILE_MIN_UNITS = 3  # a small day: one order moved across the day boundary is already several percent


@dataclass(frozen=True)
class Money:
    """Where a type's sales figures are: revenue and units columns, which rows count."""

    revenue: str
    units: str
    currency: str
    status: str | None = None  # rows whose status is in ``skip`` do not count
    skip: frozenset[str] = frozenset()
    pending: str | None = None  # a status value whose rows may carry no price yet
    record_column: str | None = None  # only rows whose ``record_column`` equals ``record_value`` count
    record_value: str | None = None


@dataclass(frozen=True)
class TypeRules:
    required: tuple[str, ...] = ()  # present and non-empty on COMPLETE_SHARE of rows
    present: tuple[str, ...] = ()  # present (may be empty: e.g. the price of a pending order)
    market_column: str | None = None  # the type reports per marketplace in this column
    money: Money | None = None
    volume_warn_below: float = VOLUME_WARN_BELOW
    volume_error_below: float = VOLUME_ERROR_BELOW
    volume_error_above: float = VOLUME_ERROR_ABOVE


_ORDER_MONEY = Money(
    revenue="item-price",
    units="quantity",
    currency="currency",
    status="order-status",
    skip=frozenset({"Cancelled"}),
    pending="Pending",
)
_ORDERS = TypeRules(
    required=("amazon-order-id", "order-status", "sku", "quantity"),
    present=("item-price", "currency", "sales-channel"),
    market_column="sales-channel",
    money=_ORDER_MONEY,
)

RULES: dict[str, TypeRules] = {
    ORDERS_BY_DATE: replace(_ORDERS, required=(*_ORDERS.required, "purchase-date")),
    ORDERS_BY_UPDATE: replace(_ORDERS, required=(*_ORDERS.required, "last-updated-date")),
    FBA_INVENTORY: TypeRules(required=("sku", "asin", "afn-fulfillable-quantity", "afn-total-quantity")),
    MERCHANT_LISTINGS: TypeRules(required=("seller-sku", "status"), present=("price", "asin1")),
    SALES_AND_TRAFFIC: TypeRules(
        required=("record_type",),
        present=("salesByDate_orderedProductSales_amount", "salesByDate_unitsOrdered"),
        money=Money(
            revenue="salesByDate_orderedProductSales_amount",
            units="salesByDate_unitsOrdered",
            currency="salesByDate_orderedProductSales_currencyCode",
            record_column="record_type",
            record_value="by_date",
        ),
    ),
    # Only the preset's fixed columns: Report Options may choose the metric columns.
    ADS_SP_CAMPAIGNS: TypeRules(required=("date", "campaignId")),
}

# The pairs reconciled: the order report's non-cancelled items against Sales & Traffic's ordered sales.
RECONCILED = (ORDERS_BY_DATE, SALES_AND_TRAFFIC)

# Marketplace id -> the sales-channel an order report names it by (Amazon's marketplace id table).
SALES_CHANNELS = {
    "ATVPDKIKX0DER": "Amazon.com",
    "A2EUQ1WTGCTBG2": "Amazon.ca",
    "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A2Q3Y263D00KWC": "Amazon.com.br",
    "A1F83G8C2ARO7P": "Amazon.co.uk",
    "A1PA6795UKMFR9": "Amazon.de",
    "A13V1IB3VIYZZH": "Amazon.fr",
    "APJ6JRA9NG5V4": "Amazon.it",
    "A1RKKUPIHCS9HS": "Amazon.es",
    "A1805IZSGTT6HS": "Amazon.nl",
    "A1VC38T7YXB528": "Amazon.co.jp",
    "A39IBJ37TRP1C6": "Amazon.com.au",
    "A21TJRUUN4KGV": "Amazon.in",
}


def rules_for(report_type_id: str) -> TypeRules:
    return RULES.get(report_type_id, TypeRules())


def channels(marketplace_ids: list[str]) -> list[str]:
    """The sales channels of the configured marketplaces the table knows (an unknown id is not judged)."""
    return [SALES_CHANNELS[m] for m in marketplace_ids if m in SALES_CHANNELS]
