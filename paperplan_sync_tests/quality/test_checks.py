"""The quality judgements on plain figures: each threshold on both sides of its edge."""

from __future__ import annotations

from paperplan_sync.quality import checks
from paperplan_sync.quality import rules as r
from paperplan_sync.quality.profile import pack_keys, profile_rows, unpack_keys

ORDERS = r.rules_for(r.ORDERS_BY_DATE)
HISTORY = [300, 320, 340, 310]  # median 315


def order_row(n: int, **overrides) -> dict:
    row = {
        "amazon-order-id": f"111-{n:07d}",
        "purchase-date": "2026-11-15T10:00:00+00:00",
        "order-status": "Shipped",
        "sku": f"SKU-{n % 7}",
        "quantity": "2",
        "item-price": "10.00",
        "currency": "USD",
        "sales-channel": "Amazon.com",
    }
    return {**row, **overrides}


def test_volume_is_skipped_until_four_weeks_of_history_exist():
    verdict = checks.volume(12, [300, None, 320, 340])
    assert verdict.status == checks.SKIPPED and verdict.passed


def test_volume_warns_below_half_and_fails_below_a_fifth_or_above_five_times():
    assert checks.volume(160, HISTORY).status == checks.OK  # 51 %
    warned = checks.volume(150, HISTORY)  # 48 %
    assert warned.status == checks.WARN and warned.message == "150 rows, usually 300–340"
    assert checks.volume(64, HISTORY).status == checks.WARN  # 20.3 %
    failed = checks.volume(12, HISTORY)
    assert failed.status == checks.ERROR and failed.message == "12 rows, usually 300–340"
    assert checks.volume(1575, HISTORY).status == checks.OK  # exactly 5x
    assert checks.volume(1600, HISTORY).status == checks.ERROR


def test_volume_uses_the_median_so_one_odd_week_does_not_move_it():
    assert checks.volume(150, [300, 310, 320, 20]).status == checks.WARN  # median 305, not the mean 237


def test_completeness_names_a_renamed_column_and_the_new_name():
    rows = [{("item_price" if k == "item-price" else k): v for k, v in order_row(n).items()} for n in range(50)]
    verdict = checks.completeness(profile_rows(rows, ORDERS), ORDERS)
    assert verdict.status == checks.ERROR
    assert verdict.message == "column item-price missing (new: item_price)"


def test_completeness_allows_one_percent_of_empty_cells_not_more():
    rows = [order_row(n, sku="" if n < 1 else f"S{n}") for n in range(100)]
    assert checks.completeness(profile_rows(rows, ORDERS), ORDERS).status == checks.OK
    rows = [order_row(n, sku="" if n < 2 else f"S{n}") for n in range(100)]
    verdict = checks.completeness(profile_rows(rows, ORDERS), ORDERS)
    assert verdict.status == checks.ERROR and verdict.message == "sku filled on 98% of rows"


def test_a_pending_order_without_a_price_is_not_incomplete():
    rows = [order_row(n, **({"order-status": "Pending", "item-price": ""} if n < 30 else {})) for n in range(100)]
    day = profile_rows(rows, ORDERS)
    assert checks.completeness(day, ORDERS).status == checks.OK
    assert day.sales.unpriced_units == 60 and day.sales.revenue == 700.0


def test_a_configured_marketplace_is_missed_only_when_it_usually_has_rows():
    rows = [order_row(n) for n in range(100)]
    day = profile_rows(rows, ORDERS)
    expected = ["Amazon.com", "Amazon.ca"]
    missed = checks.completeness(day, ORDERS, expected_markets=expected, market_history={"Amazon.ca": 20.0})
    assert missed.status == checks.ERROR and missed.message == "marketplace Amazon.ca absent"
    quiet = checks.completeness(day, ORDERS, expected_markets=expected, market_history={"Amazon.ca": 2.0})
    assert quiet.status == checks.OK  # a day without orders is likely for a marketplace of ~2 a day
    assert checks.completeness(day, ORDERS, expected_markets=expected).status == checks.OK  # never seen: not judged


def test_cancelled_items_do_not_count_as_sales_and_markets_are_summed_apart():
    rows = [order_row(1), order_row(2, **{"order-status": "Cancelled"}), order_row(3, **{"sales-channel": "Amazon.ca"})]
    day = profile_rows(rows, ORDERS)
    assert (day.sales.revenue, day.sales.units) == (20.0, 4.0)
    assert {m: s.rows for m, s in day.markets.items()} == {"Amazon.com": 1, "Amazon.ca": 1}


def test_repull_shrink_tolerates_one_percent_and_names_what_vanished():
    assert checks.repull_shrink(None, 10, [], 0).status == checks.SKIPPED
    assert checks.repull_shrink(300, 298, [], 0).status == checks.OK  # 2 rows, under 1 %
    verdict = checks.repull_shrink(300, 200, ["111-0000001 / SKU-1"], 100)
    assert verdict.status == checks.WARN
    assert verdict.message == "re-pull returned 200 rows, 300 before; 100 vanished, e.g. 111-0000001 / SKU-1"
    assert verdict.metadata["vanished"] == 100 and verdict.metadata["examples"] == ["111-0000001 / SKU-1"]
    assert checks.repull_shrink(300, 100, [], 0).status == checks.ERROR  # more than half gone


def test_row_keys_survive_packing():
    keys = [f"111-{n}\x1fSKU" for n in range(1000)]
    assert unpack_keys(pack_keys(keys)) == keys and unpack_keys(None) == []


def test_reconciliation_tolerates_eight_percent_and_names_both_figures():
    traffic = checks.Figures(1000.0, 100, "USD")
    assert checks.reconcile(checks.Figures(930.0, 93, "USD"), traffic).status == checks.OK
    verdict = checks.reconcile(checks.Figures(700.0, 70, "USD"), traffic, label="2026-12-03")
    assert verdict.status == checks.ERROR
    assert verdict.message == (
        "2026-12-03: order report 700.00 USD / 70 units, Sales & Traffic 1,000.00 USD / 100 units (tolerance 8%)"
    )


def test_reconciliation_allows_for_unpriced_pending_items_and_small_days():
    traffic = checks.Figures(1000.0, 100, "USD")
    assert checks.reconcile(checks.Figures(800.0, 100, "USD", unpriced_units=15), traffic).status == checks.OK
    assert checks.reconcile(checks.Figures(20.0, 2, "USD"), checks.Figures(50.0, 5, "USD")).status == checks.OK
